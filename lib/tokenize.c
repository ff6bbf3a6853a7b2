/* lib/tokenize.c: token formats, data ids, searchable hash blocks (see tokenize.h). */
#include "lib/tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/sym.h"

static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char *const tlds_long[] = { ".com", ".net", ".org", ".edu", ".info" };
static const char *const tlds_short[] = { ".au", ".br", ".de", ".jp", ".et", ".us" };
static const char delim[] = "tokenizator hash delimiter";

static const char *const type_names[] = { "unknown", "int32", "int64", "str", "bytes", "email" };

bool token_type_is_valid(int t)
{
	return t >= TOKEN_INT32 && t <= TOKEN_EMAIL;
}

const char *token_type_name(int t)
{
	return token_type_is_valid(t) ? type_names[t] : type_names[0];
}

static void random_alnum(uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)alnum[randombytes_uniform(sizeof(alnum) - 1)];
}

int token_generate(enum token_type t, const uint8_t *val, size_t len, uint8_t *out,
		   size_t out_cap)
{
	(void)val;
	if (out_cap < len)
		return ACRA_ERANGE;
	switch (t) {
	case TOKEN_INT32:
	case TOKEN_INT64:
		if (len != (t == TOKEN_INT32 ? 4u : 8u))
			return ACRA_EINVAL;
		randombytes_buf(out, len);
		return ACRA_OK;
	case TOKEN_BYTES:
		if (len == 0)
			return ACRA_EINVAL;
		randombytes_buf(out, len);
		return ACRA_OK;
	case TOKEN_STR:
		if (len == 0)
			return ACRA_EINVAL;
		random_alnum(out, len);
		return ACRA_OK;
	case TOKEN_EMAIL: {
		const char *tld;
		size_t tl, at;

		if (len < TOKEN_EMAIL_MIN)
			return ACRA_EINVAL;
		if (len < 8) {
			tld = tlds_short[randombytes_uniform(sizeof(tlds_short) /
							     sizeof(tlds_short[0]))];
		} else {
			uint32_t n = sizeof(tlds_long) / sizeof(tlds_long[0]) +
				     sizeof(tlds_short) / sizeof(tlds_short[0]);
			uint32_t k = randombytes_uniform(n);

			tld = k < 5 ? tlds_long[k] : tlds_short[k - 5];
		}
		tl = strlen(tld);
		if (len < tl + 2) /* a local part and '@' must fit before the TLD */
			tld = ".us", tl = 3;
		random_alnum(out, len - tl);
		memcpy(out + len - tl, tld, tl);
		at = (len - tl) / 2;
		out[at] = '@';
		return ACRA_OK;
	}
	}
	return ACRA_EINVAL;
}

void token_data_id(const uint8_t *val, size_t len, bool zone, const uint8_t *ctx,
		   size_t ctx_len, enum token_type t, uint8_t id[TOKEN_ID_LEN])
{
	crypto_hash_sha256_state st;
	char num[16];
	const char *kind = zone ? "zone" : "client";

	snprintf(num, sizeof(num), "%d", (int)t);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)delim, sizeof(delim) - 1);
	if (len > 0)
		crypto_hash_sha256_update(&st, val, len);
	crypto_hash_sha256_update(&st, (const uint8_t *)kind, strlen(kind));
	if (ctx_len > 0)
		crypto_hash_sha256_update(&st, ctx, ctx_len);
	crypto_hash_sha256_update(&st, (const uint8_t *)delim, sizeof(delim) - 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)num, strlen(num));
	crypto_hash_sha256_final(&st, id);
}

int search_hash(const uint8_t *key, size_t key_len, const uint8_t *pt, size_t pt_len,
		uint8_t out[SEARCH_HASH_LEN])
{
	struct bytes part = { pt, pt_len };

	out[0] = SEARCH_HASH_ID;
	return sym_hmac_sha256(key, key_len, &part, 1, out + 1);
}

int search_split(const uint8_t *val, size_t len, const uint8_t **hash, const uint8_t **rest,
		 size_t *rest_len)
{
	if (len <= SEARCH_HASH_LEN || val[0] != SEARCH_HASH_ID)
		return ACRA_EPROTO;
	*hash = val;
	*rest = val + SEARCH_HASH_LEN;
	*rest_len = len - SEARCH_HASH_LEN;
	return ACRA_OK;
}

void cert_client_id(const uint8_t *ident, size_t len, char out[CERT_CLIENT_ID_LEN + 1])
{
	uint8_t h[crypto_hash_sha512_BYTES];

	crypto_hash_sha512(h, ident, len);
	sodium_bin2hex(out, CERT_CLIENT_ID_LEN + 1, h, sizeof(h));
}

/* ---- protobuf, the few wire types the records use ---- */

static size_t pb_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	return n;
}

static int pb_read_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (*off >= len)
			return ACRA_EPROTO;
		b = p[(*off)++];
		*v |= (uint64_t)(b & 0x7F) << shift;
		if ((b & 0x80) == 0)
			return ACRA_OK;
	}
	return ACRA_EPROTO;
}

/* Walk the fields of a message: calls f for each (number, wire type, varint value or bytes
 * view). Unknown fields are skipped; groups and fixed-width types are refused. */
typedef int (*pb_field_fn)(void *arg, unsigned num, unsigned wt, uint64_t v, const uint8_t *b,
			   size_t blen);

static int pb_walk(const uint8_t *p, size_t len, pb_field_fn f, void *arg)
{
	size_t off = 0;

	while (off < len) {
		uint64_t key, v = 0;
		const uint8_t *b = NULL;
		int rc = pb_read_varint(p, len, &off, &key);

		if (rc != ACRA_OK || key >> 3 == 0 || key >> 3 > 0xFFFF)
			return ACRA_EPROTO;
		switch (key & 7) {
		case 0:
			rc = pb_read_varint(p, len, &off, &v);
			break;
		case 2:
			rc = pb_read_varint(p, len, &off, &v);
			if (rc == ACRA_OK && v > len - off)
				rc = ACRA_EPROTO;
			if (rc == ACRA_OK) {
				b = p + off;
				off += (size_t)v;
			}
			break;
		default:
			rc = ACRA_EPROTO;
		}
		if (rc == ACRA_OK)
			rc = f(arg, (unsigned)(key >> 3), (unsigned)(key & 7), v, b, (size_t)v);
		if (rc != ACRA_OK)
			return rc;
	}
	return ACRA_OK;
}

/* field (number, bytes) then optional varint fields appended to a buffer of known size */
static size_t pb_put_bytes(uint8_t *p, unsigned num, const uint8_t *b, size_t len)
{
	size_t n = pb_varint(p, (uint64_t)num << 3 | 2);

	n += pb_varint(p + n, len);
	if (len > 0)
		memcpy(p + n, b, len);
	return n + len;
}

static size_t pb_put_varint(uint8_t *p, unsigned num, uint64_t v)
{
	size_t n = pb_varint(p, (uint64_t)num << 3);

	return n + pb_varint(p + n, v);
}

int token_record_wrap(const uint8_t *data, size_t len, int64_t now, uint8_t **out,
		      size_t *out_len)
{
	uint8_t *b = malloc(len + 40);
	size_t n;

	*out = NULL;
	if (b == NULL)
		return ACRA_ENOMEM;
	n = pb_put_bytes(b, 1, data, len);
	n += pb_put_varint(b + n, 2, (uint64_t)now);
	n += pb_put_varint(b + n, 3, (uint64_t)now);
	*out = b;
	*out_len = n;
	return ACRA_OK;
}

struct unwrap {
	const uint8_t *data;
	size_t len;
	bool have, disabled;
};

static int unwrap_field(void *arg, unsigned num, unsigned wt, uint64_t v, const uint8_t *b,
			size_t blen)
{
	struct unwrap *u = arg;

	if (num == 1 && wt == 2) {
		u->data = b;
		u->len = blen;
		u->have = true;
	} else if (num == 4 && wt == 0) {
		u->disabled = v != 0;
	} else if (num <= 4 && wt != 0) {
		return ACRA_EPROTO;
	}
	return ACRA_OK;
}

int token_record_unwrap(const uint8_t *p, size_t len, const uint8_t **data, size_t *data_len)
{
	struct unwrap u = { 0 };
	int rc = pb_walk(p, len, unwrap_field, &u);

	if (rc != ACRA_OK || !u.have)
		return ACRA_EPROTO;
	if (u.disabled)
		return ACRA_EPERM;
	*data = u.data;
	*data_len = u.len;
	return ACRA_OK;
}

int token_value_encode(enum token_type t, const uint8_t *val, size_t len, uint8_t **out,
		       size_t *out_len)
{
	uint8_t *b = malloc(len + 24);
	size_t n;

	*out = NULL;
	if (b == NULL)
		return ACRA_ENOMEM;
	n = pb_put_bytes(b, 1, val, len);
	if (t != 0)
		n += pb_put_varint(b + n, 2, (uint64_t)t);
	*out = b;
	*out_len = n;
	return ACRA_OK;
}

struct tval {
	const uint8_t *val;
	size_t len;
	uint64_t type;
};

static int tval_field(void *arg, unsigned num, unsigned wt, uint64_t v, const uint8_t *b,
		      size_t blen)
{
	struct tval *t = arg;

	if (num == 1 && wt == 2) {
		t->val = b;
		t->len = blen;
	} else if (num == 2 && wt == 0) {
		t->type = v;
	} else if (num <= 2) {
		return ACRA_EPROTO;
	}
	return ACRA_OK;
}

int token_value_decode(const uint8_t *p, size_t len, enum token_type *t, const uint8_t **val,
		       size_t *val_len)
{
	struct tval tv = { (const uint8_t *)"", 0, 0 };
	int rc = pb_walk(p, len, tval_field, &tv);

	if (rc != ACRA_OK || tv.type > 0xFF)
		return ACRA_EPROTO;
	*t = (enum token_type)tv.type;
	*val = tv.val;
	*val_len = tv.len;
	return ACRA_OK;
}
