/* lib/codec.c: find, decrypt and make envelopes inside one value (spec/acra-formats.md
 * §1.3, §2.4, §3.3-§3.5, §4). */
#include "lib/codec.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/envelope.h"
#include "lib/crypto/poison.h"

/* A growable buffer of the codec. Contents are plaintext: wiped before release. */
struct cbuf {
	uint8_t *p;
	size_t cap;
};

struct codec {
	struct cbuf dec; /* the value decoded from hex/escape */
	struct cbuf out; /* scan / encrypt output, binary */
	struct cbuf enc; /* output re-encoded as hex/escape */
};

#define N_KINDS 5

/* Per-call state: keys fetched lazily, once per kind, released at the end. */
struct call {
	struct codec *c;
	const struct codec_params *p;
	struct codec_keyset set[N_KINDS];
	signed char state[N_KINDS]; /* 0 not asked, 1 held, -1 none */
	bool poison_only;
	struct codec_result *res;
};

static int cbuf_need(struct cbuf *b, size_t need)
{
	uint8_t *n;
	size_t cap;

	if (need <= b->cap)
		return ACRA_OK;
	cap = b->cap > SIZE_MAX / 2 ? SIZE_MAX : b->cap * 2;
	if (cap < need)
		cap = need;
	if (cap < 256)
		cap = 256;
	n = malloc(cap);
	if (n == NULL)
		return ACRA_ENOMEM;
	/* the old contents are not needed: buffers grow before they are written */
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = n;
	b->cap = cap;
	return ACRA_OK;
}

static void cbuf_clear(struct cbuf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->cap = 0;
}

struct codec *codec_new(void)
{
	return calloc(1, sizeof(struct codec));
}

void codec_free(struct codec *c)
{
	if (c == NULL)
		return;
	cbuf_clear(&c->dec);
	cbuf_clear(&c->out);
	cbuf_clear(&c->enc);
	free(c);
}

const char *codec_status_str(enum codec_status s)
{
	switch (s) {
	case CODEC_NONE:
		return "no envelope";
	case CODEC_DONE:
		return "done";
	case CODEC_FAILED:
		return "decryption failed";
	case CODEC_POISON:
		return "poison record";
	case CODEC_ALREADY:
		return "already encrypted";
	}
	return "unknown";
}

/* ---- textual forms (PostgreSQL bytea output, hex and escape) ---- */

enum form { FORM_RAW, FORM_HEX, FORM_ESCAPE };

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool is_hex_form(const uint8_t *v, size_t len)
{
	return len >= 2 && (len & 1) == 0 && v[0] == '\\' && v[1] == 'x';
}

/* "\x" + hex pairs into out (cap >= (len - 2) / 2). False if not valid hex. */
static bool hex_decode(const uint8_t *v, size_t len, uint8_t *out, size_t *out_len)
{
	size_t n = 0;

	for (size_t i = 2; i + 1 < len; i += 2) {
		int hi = hexval(v[i]), lo = hexval(v[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = n;
	return true;
}

static bool is_oct(uint8_t ch)
{
	return ch >= '0' && ch <= '7';
}

/* PostgreSQL byteain escape rules: "\\" is a backslash, "\ooo" (first digit 0-3) a byte,
 * anything else after a backslash is invalid. Output is never longer than input. */
static bool escape_decode(const uint8_t *v, size_t len, uint8_t *out, size_t *out_len)
{
	size_t n = 0, i = 0;

	while (i < len) {
		if (v[i] != '\\') {
			out[n++] = v[i++];
			continue;
		}
		if (i + 1 < len && v[i + 1] == '\\') {
			out[n++] = '\\';
			i += 2;
		} else if (i + 3 < len && v[i + 1] >= '0' && v[i + 1] <= '3' && is_oct(v[i + 2]) &&
			   is_oct(v[i + 3])) {
			out[n++] = (uint8_t)((v[i + 1] - '0') << 6 | (v[i + 2] - '0') << 3 |
					     (v[i + 3] - '0'));
			i += 4;
		} else {
			return false;
		}
	}
	*out_len = n;
	return true;
}

static size_t escape_size(const uint8_t *b, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += b[i] == '\\' ? 2 : (b[i] < 0x20 || b[i] > 0x7e) ? 4 : 1;
	return n;
}

/* As PostgreSQL's byteaout with bytea_output = escape. */
static void escape_encode(const uint8_t *b, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = b[i];

		if (ch == '\\') {
			*out++ = '\\';
			*out++ = '\\';
		} else if (ch < 0x20 || ch > 0x7e) {
			*out++ = '\\';
			*out++ = (uint8_t)('0' + (ch >> 6));
			*out++ = (uint8_t)('0' + ((ch >> 3) & 7));
			*out++ = (uint8_t)('0' + (ch & 7));
		} else {
			*out++ = ch;
		}
	}
}

/* Decode val into a binary view per enc. *form tells how to write the result back.
 * Returns 0, ACRA_ENOMEM, or ACRA_EPROTO when val is not in the given form (then the
 * value cannot carry an envelope). */
static int decode(struct codec *c, enum codec_encoding enc, const uint8_t *val, size_t len,
		  struct bytes *bin, enum form *form)
{
	size_t n = 0;

	bin->p = val;
	bin->len = len;
	*form = FORM_RAW;
	if (enc == CODEC_ENC_RAW)
		return ACRA_OK;
	if (enc == CODEC_ENC_PG_HEX || (enc == CODEC_ENC_PG_TEXT && is_hex_form(val, len))) {
		if (!is_hex_form(val, len))
			return ACRA_EPROTO;
		if (cbuf_need(&c->dec, len / 2 + 1) < 0)
			return ACRA_ENOMEM;
		if (!hex_decode(val, len, c->dec.p, &n))
			return enc == CODEC_ENC_PG_TEXT ? ACRA_OK : ACRA_EPROTO;
		bin->p = c->dec.p;
		bin->len = n;
		*form = FORM_HEX;
		return ACRA_OK;
	}
	/* escape: a value without a backslash decodes to itself, so it is used in place
	 * (for PG_TEXT it is then taken as raw text: an escaped envelope always has
	 * backslashes, as the key containers hold zero bytes) */
	if (memchr(val, '\\', len) == NULL) {
		*form = enc == CODEC_ENC_PG_ESCAPE ? FORM_ESCAPE : FORM_RAW;
		return ACRA_OK;
	}
	if (cbuf_need(&c->dec, len + 1) < 0)
		return ACRA_ENOMEM;
	if (!escape_decode(val, len, c->dec.p, &n))
		return enc == CODEC_ENC_PG_TEXT ? ACRA_OK : ACRA_EPROTO;
	bin->p = c->dec.p;
	bin->len = n;
	*form = FORM_ESCAPE;
	return ACRA_OK;
}

/* Write bin back in form; *res_out is the value to send on. */
static int encode(struct codec *c, enum form form, const uint8_t *bin, size_t len,
		  struct bytes *res_out)
{
	size_t n;

	if (form == FORM_RAW) {
		res_out->p = bin;
		res_out->len = len;
		return ACRA_OK;
	}
	if (form == FORM_HEX) {
		static const char digits[] = "0123456789abcdef";

		if (len > (SIZE_MAX - 2) / 2)
			return ACRA_ENOMEM;
		n = 2 + 2 * len;
		if (cbuf_need(&c->enc, n) < 0)
			return ACRA_ENOMEM;
		c->enc.p[0] = '\\';
		c->enc.p[1] = 'x';
		for (size_t i = 0; i < len; i++) {
			c->enc.p[2 + 2 * i] = (uint8_t)digits[bin[i] >> 4];
			c->enc.p[3 + 2 * i] = (uint8_t)digits[bin[i] & 15];
		}
	} else {
		if (len > SIZE_MAX / 4)
			return ACRA_ENOMEM;
		n = escape_size(bin, len);
		if (cbuf_need(&c->enc, n ? n : 1) < 0)
			return ACRA_ENOMEM;
		escape_encode(bin, len, c->enc.p);
	}
	res_out->p = c->enc.p;
	res_out->len = n;
	return ACRA_OK;
}

/* ---- keys ---- */

/* The keys of one kind for the call's owner, fetched on first use; NULL set if none. */
static const struct codec_keyset *keys_get(struct call *k, enum codec_key_kind kind)
{
	const struct codec_keys *keys = k->p->keys;
	int rc;

	if (k->state[kind] == 0) {
		k->state[kind] = -1;
		if (keys == NULL || keys->get == NULL)
			return NULL;
		memset(&k->set[kind], 0, sizeof(k->set[kind]));
		rc = keys->get(keys->ctx, kind, &k->p->owner, &k->set[kind]);
		if (rc == ACRA_OK) {
			k->state[kind] = 1;
		} else if (rc != ACRA_ENOKEY && k->res->key_error == 0) {
			k->res->key_error = rc;
		}
	}
	if (k->state[kind] != 1 || k->set[kind].n == 0)
		return NULL;
	return &k->set[kind];
}

static void keys_release(struct call *k)
{
	const struct codec_keys *keys = k->p->keys;

	for (int i = 0; i < N_KINDS; i++) {
		if (k->state[i] == 1 && keys->release != NULL)
			keys->release(keys->ctx, &k->set[i]);
		k->state[i] = 0;
	}
}

static const uint8_t *owner_ctx(const struct codec_params *p, size_t *len)
{
	*len = p->owner.zone_id.len;
	return p->owner.zone_id.len > 0 ? p->owner.zone_id.p : NULL;
}

/* ---- one envelope ---- */

enum outcome { OUT_DECRYPTED, OUT_FAILED, OUT_POISON };

/* Decrypt the AcraStruct or AcraBlock env (exact bytes) into dst (cap bytes; plaintext is
 * always shorter than the envelope, so cap = env.len suffices). Poison check on failure. */
static enum outcome handle(struct call *k, enum envelope_id id, struct bytes env, uint8_t *dst,
			   size_t cap, size_t *pt_len)
{
	const struct codec_keyset *ks;
	size_t ctx_len;
	const uint8_t *ctx = owner_ctx(k->p, &ctx_len);
	int rc;

	*pt_len = 0;
	k->res->n_found++;
	if (!k->poison_only) {
		if (id == ENVELOPE_ACRASTRUCT) {
			ks = keys_get(k, CODEC_KEY_STRUCT_PRIV);
			if (ks != NULL && acrastruct_decrypt_any(ks->priv, ks->n, ctx, ctx_len, env.p,
								 env.len, dst, cap, pt_len,
								 NULL) == ACRA_OK)
				goto decrypted;
		} else {
			ks = keys_get(k, CODEC_KEY_BLOCK_SYM);
			for (size_t i = 0; ks != NULL && i < ks->n; i++) {
				rc = acrablock_decrypt(ks->sym[i]->p, ks->sym[i]->len, ctx, ctx_len,
						       env.p, env.len, dst, cap, pt_len);
				if (rc == ACRA_OK)
					goto decrypted;
				if (rc == ACRA_EPROTO)
					break;
			}
		}
	}
	k->res->n_failed++;
	if (id == ENVELOPE_ACRABLOCK)
		k->res->n_block_failed++;
	if (k->p->detect_poison) {
		if (id == ENVELOPE_ACRASTRUCT) {
			ks = keys_get(k, CODEC_KEY_POISON_PRIV);
			rc = ks == NULL ? 0
					: poison_check_acrastruct(ks->priv, ks->n, env.p, env.len, dst,
								  cap);
		} else {
			ks = keys_get(k, CODEC_KEY_POISON_SYM);
			rc = ks == NULL ? 0
					: poison_check_acrablock(ks->sym, ks->n, env.p, env.len, dst,
								 cap);
		}
		if (rc == 1) {
			k->res->n_poison++;
			return OUT_POISON;
		}
	}
	return OUT_FAILED;
decrypted:
	k->res->n_decrypted++;
	if (id == ENVELOPE_ACRABLOCK)
		k->res->n_block_decrypted++;
	return OUT_DECRYPTED;
}

/* Try the container/AcraStruct/AcraBlock at b[0..len). Returns true if one was recognised
 * and decrypted: *used is its length and the plaintext (*pt_len bytes) is at dst. */
static bool try_at(struct call *k, const uint8_t *b, size_t len, bool containers, uint8_t *dst,
		   size_t *used, size_t *pt_len)
{
	enum envelope_id id;
	struct bytes env;
	size_t total = 0;

	if (containers) {
		if (envelope_measure(b, len, &id, &env, &total) < 0)
			return false;
	} else if (acrastruct_measure(b, len, &total) == 0) {
		id = ENVELOPE_ACRASTRUCT;
		env = (struct bytes){ b, total };
	} else if (acrablock_measure(b, len, &total) == 0) {
		id = ENVELOPE_ACRABLOCK;
		env = (struct bytes){ b, total };
	} else {
		return false;
	}
	/* dst is in the codec's output buffer, never inside b; the output never runs ahead
	 * of the input, so total bytes fit at dst */
	if (handle(k, id, env, dst, total, pt_len) != OUT_DECRYPTED)
		return false;
	*used = total;
	return true;
}

/* Inline scan of bin for containers (pass 1) or bare envelopes (pass 2) into out; returns
 * the output length. Where an envelope does not decrypt, one byte is copied and the scan
 * goes on at the next byte (0.82 injected cell, 0.96 envelope detector), so a tag-like run
 * in front of a real envelope cannot hide it. */
static size_t scan(struct call *k, const uint8_t *bin, size_t len, uint8_t *out, bool containers)
{
	uint8_t tag = containers ? ENVELOPE_TAG_BYTE : ACRABLOCK_TAG_BYTE;
	size_t i = 0, o = 0, used, emit;
	const uint8_t *hit;

	while (i < len) {
		hit = memchr(bin + i, tag, len - i);
		if (hit == NULL) {
			memcpy(out + o, bin + i, len - i);
			o += len - i;
			break;
		}
		size_t at = (size_t)(hit - bin);

		memcpy(out + o, bin + i, at - i);
		o += at - i;
		i = at;
		if (try_at(k, bin + i, len - i, containers, out + o, &used, &emit)) {
			i += used;
			o += emit;
		} else {
			out[o++] = bin[i++];
		}
	}
	return o;
}

/* Whole-cell: bin must be exactly one envelope. Returns false if it is not one. */
static bool whole(struct call *k, const uint8_t *bin, size_t len, uint8_t *out, size_t *out_len)
{
	enum envelope_id id;
	struct bytes env;
	size_t total = 0;

	if (envelope_measure(bin, len, &id, &env, &total) == 0 && total == len) {
		/* container around the envelope */
	} else if (acrastruct_check(bin, len) == 0) {
		id = ENVELOPE_ACRASTRUCT;
		env = (struct bytes){ bin, len };
	} else if (acrablock_check(bin, len) == 0) {
		id = ENVELOPE_ACRABLOCK;
		env = (struct bytes){ bin, len };
	} else {
		return false;
	}
	if (handle(k, id, env, out, len, out_len) != OUT_DECRYPTED)
		*out_len = 0;
	return true;
}

static void finish(struct codec_result *res)
{
	if (res->n_poison > 0)
		res->status = CODEC_POISON;
	else if (res->n_decrypted > 0)
		res->status = CODEC_DONE;
	else if (res->n_found > 0)
		res->status = CODEC_FAILED;
	else
		res->status = CODEC_NONE;
}

/* Scan an already decoded value; on a change, res->out is set to the re-encoded output. */
static int run(struct call *k, struct bytes bin, enum form form)
{
	struct codec *c = k->c;
	struct codec_result *res = k->res;
	size_t n = 0;

	if (bin.len < ACRABLOCK_MIN_LEN)
		return ACRA_OK; /* too short for any envelope */
	if (cbuf_need(&c->out, bin.len) < 0)
		return ACRA_ENOMEM;
	if (k->p->scan == CODEC_SCAN_WHOLE) {
		whole(k, bin.p, bin.len, c->out.p, &n);
	} else {
		n = scan(k, bin.p, bin.len, c->out.p, true);
		if (res->n_found == 0) /* 0.96: bare envelopes only if no container matched */
			n = scan(k, bin.p, bin.len, c->out.p, false);
	}
	if (res->n_decrypted == 0 || k->poison_only)
		return ACRA_OK;
	return encode(c, form, c->out.p, n, &res->out);
}

static void result_init(struct codec_result *res, const uint8_t *val, size_t len)
{
	memset(res, 0, sizeof(*res));
	res->status = CODEC_NONE;
	res->out.p = val;
	res->out.len = len;
}

int codec_decrypt(struct codec *c, const struct codec_params *p, const uint8_t *val, size_t len,
		  struct codec_result *res)
{
	struct call k = { .c = c, .p = p, .res = res };
	struct bytes bin;
	enum form form;
	int rc;

	result_init(res, val, len);
	if (val == NULL || len == 0)
		return ACRA_OK;
	rc = decode(c, p->enc, val, len, &bin, &form);
	if (rc == ACRA_ENOMEM)
		return rc;
	if (rc < 0)
		return ACRA_OK; /* not in its stated form: nothing to decrypt */
	rc = run(&k, bin, form);
	keys_release(&k);
	if (rc < 0) {
		result_init(res, val, len);
		return rc;
	}
	finish(res);
	return ACRA_OK;
}

struct zone_probe {
	const struct codec_params *p;
	int key_error;
};

static bool zone_exists(void *ctx, const uint8_t id[ZONE_ID_LEN])
{
	struct zone_probe *z = ctx;
	const struct codec_keys *keys = z->p->keys;
	struct codec_key_owner who = { z->p->owner.client_id, { id, ZONE_ID_LEN } };
	struct codec_keyset set;
	size_t n;
	int rc;

	if (keys == NULL || keys->get == NULL)
		return false;
	memset(&set, 0, sizeof(set));
	rc = keys->get(keys->ctx, CODEC_KEY_STRUCT_PRIV, &who, &set);
	if (rc != ACRA_OK) {
		if (rc != ACRA_ENOKEY && z->key_error == 0)
			z->key_error = rc;
		return false;
	}
	n = set.n; /* release may clear the set */
	if (keys->release != NULL)
		keys->release(keys->ctx, &set);
	return n > 0;
}

bool codec_match_zone(struct codec *c, const struct codec_params *p, const uint8_t *val,
		      size_t len, struct zone_matcher *m, struct codec_result *res)
{
	struct zone_probe z = { p, 0 };
	struct call k = { .c = c, .p = p, .res = res, .poison_only = true };
	struct bytes bin;
	enum form form;
	bool matched;

	result_init(res, val, len);
	if (m->matched)
		return true;
	if (val == NULL || len == 0 || decode(c, p->enc, val, len, &bin, &form) < 0)
		return false;
	matched = zone_matcher_feed(m, bin.p, bin.len, zone_exists, &z);
	res->key_error = z.key_error;
	if (!matched && p->detect_poison) {
		/* 0.82 checks zone-id candidate columns for poison records too (§4.2) */
		if (run(&k, bin, form) == ACRA_OK)
			finish(res);
		keys_release(&k);
		/* the column is never changed here */
		res->out.p = val;
		res->out.len = len;
		if (res->status != CODEC_POISON)
			res->status = CODEC_NONE;
	}
	return matched;
}

static bool is_envelope(const uint8_t *b, size_t len)
{
	enum envelope_id id;
	struct bytes env;
	size_t total;

	if (envelope_measure(b, len, &id, &env, &total) == 0 && total == len)
		return true;
	return acrastruct_check(b, len) == 0 || acrablock_check(b, len) == 0;
}

int codec_encrypt(struct codec *c, const struct codec_params *p, enum codec_envelope type,
		  bool serialize, const uint8_t *val, size_t len, struct codec_result *res)
{
	struct call k = { .c = c, .p = p, .res = res };
	const struct codec_keyset *ks;
	struct bytes bin;
	enum form form;
	size_t inner_len, total, hdr = serialize ? ENVELOPE_HDR_LEN : 0, got = 0, ctx_len;
	const uint8_t *ctx = owner_ctx(p, &ctx_len);
	int rc;

	result_init(res, val, len);
	if (val == NULL || len == 0)
		return ACRA_OK;
	rc = decode(c, p->enc, val, len, &bin, &form);
	if (rc < 0)
		return rc == ACRA_ENOMEM ? rc : ACRA_EINVAL;
	if (bin.len == 0)
		return ACRA_OK;
	if (is_envelope(bin.p, bin.len)) {
		res->status = CODEC_ALREADY;
		return ACRA_OK;
	}
	inner_len = type == CODEC_ACRASTRUCT ? acrastruct_size(bin.len) : acrablock_size(bin.len);
	if (inner_len == 0 || envelope_size(inner_len) == 0)
		return ACRA_ERANGE;
	total = inner_len + hdr;
	if (cbuf_need(&c->out, total) < 0)
		return ACRA_ENOMEM;
	if (type == CODEC_ACRASTRUCT) {
		ks = keys_get(&k, CODEC_KEY_STRUCT_PUB);
		rc = ks == NULL || ks->pub == NULL
			     ? ACRA_ENOKEY
			     : acrastruct_encrypt(ks->pub, ctx, ctx_len, bin.p, bin.len,
						  c->out.p + hdr, inner_len, &got);
	} else {
		ks = keys_get(&k, CODEC_KEY_BLOCK_SYM);
		rc = ks == NULL || ks->sym[0] == NULL
			     ? ACRA_ENOKEY
			     : acrablock_encrypt(ks->sym[0]->p, ks->sym[0]->len, ctx, ctx_len, bin.p,
						 bin.len, c->out.p + hdr, inner_len, &got);
	}
	keys_release(&k);
	if (rc < 0) {
		if (rc == ACRA_ENOKEY && res->key_error != 0)
			rc = res->key_error;
		result_init(res, val, len);
		return rc;
	}
	if (serialize)
		envelope_put_header(c->out.p, type == CODEC_ACRASTRUCT ? ENVELOPE_ACRASTRUCT
								   : ENVELOPE_ACRABLOCK,
				    inner_len);
	rc = encode(c, form, c->out.p, total, &res->out);
	if (rc < 0) {
		result_init(res, val, len);
		return rc;
	}
	res->status = CODEC_DONE;
	return ACRA_OK;
}
