/* t/unit/test_codec.c: the envelope codec over raw, bytea hex and escape values, whole-cell
 * and inline, zones, poison records, key rotation and the encrypt side. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/codec.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/envelope.h"
#include "lib/crypto/poison.h"
#include "t/unit/envelope_helpers.h"
#include "t/unit/suites.h"

#define ZONE "DDDDDDDDqMvNkZtHsPQwLaXc"

/* A small in-memory key provider: client "alice" (two storage key generations), zone ZONE,
 * poison keys. Counts gets and releases. */
struct tks {
	struct test_pair cur, old, zone, poison, stranger;
	struct secret *sym_cur, *sym_old, *psym, *stranger_sym;
	const struct ec_priv *privs[2];
	const struct secret *syms[2];
	const struct ec_priv *ppriv[1];
	const struct secret *psyms[1];
	const struct ec_priv *zpriv[1];
	int gets, releases;
	int fail; /* return this from get (EIO test) */
};

static struct tks ks;
static struct codec *cd;

static int tks_get(void *ctx, enum codec_key_kind kind, const struct codec_key_owner *who,
		   struct codec_keyset *set)
{
	struct tks *t = ctx;
	bool zone = who->zone_id.len > 0;

	if (t->fail)
		return t->fail;
	if (zone && (who->zone_id.len != 24 || memcmp(who->zone_id.p, ZONE, 24) != 0))
		return ACRA_ENOKEY;
	if (!zone && kind != CODEC_KEY_POISON_PRIV && kind != CODEC_KEY_POISON_SYM &&
	    (who->client_id.len != 5 || memcmp(who->client_id.p, "alice", 5) != 0))
		return ACRA_ENOKEY;
	switch (kind) {
	case CODEC_KEY_STRUCT_PRIV:
		set->priv = zone ? t->zpriv : t->privs;
		set->n = zone ? 1 : 2;
		break;
	case CODEC_KEY_STRUCT_PUB:
		set->pub = zone ? t->zone.pub : t->cur.pub;
		set->n = 1;
		break;
	case CODEC_KEY_BLOCK_SYM:
		if (zone)
			return ACRA_ENOKEY;
		set->sym = t->syms;
		set->n = 2;
		break;
	case CODEC_KEY_POISON_PRIV:
		set->priv = t->ppriv;
		set->n = 1;
		break;
	case CODEC_KEY_POISON_SYM:
		set->sym = t->psyms;
		set->n = 1;
		break;
	}
	set->handle = t;
	t->gets++;
	return 0;
}

static void tks_release(void *ctx, struct codec_keyset *set)
{
	struct tks *t = ctx;

	ck_assert_ptr_eq(set->handle, t);
	t->releases++;
}

static const struct codec_keys keys = { tks_get, tks_release, &ks };

static void setup(void)
{
	memset(&ks, 0, sizeof(ks));
	test_pair_new(&ks.cur);
	test_pair_new(&ks.old);
	test_pair_new(&ks.zone);
	test_pair_new(&ks.poison);
	test_pair_new(&ks.stranger);
	ck_assert_int_eq(secret_new_random(&ks.sym_cur, 32), 0);
	ck_assert_int_eq(secret_new_random(&ks.sym_old, 32), 0);
	ck_assert_int_eq(secret_new_random(&ks.psym, 32), 0);
	ck_assert_int_eq(secret_new_random(&ks.stranger_sym, 32), 0);
	ks.privs[0] = ks.cur.priv;
	ks.privs[1] = ks.old.priv;
	ks.syms[0] = ks.sym_cur;
	ks.syms[1] = ks.sym_old;
	ks.ppriv[0] = ks.poison.priv;
	ks.psyms[0] = ks.psym;
	ks.zpriv[0] = ks.zone.priv;
	cd = codec_new();
	ck_assert_ptr_nonnull(cd);
}

static void teardown(void)
{
	ck_assert_int_eq(ks.gets, ks.releases);
	codec_free(cd);
	test_pair_free(&ks.cur);
	test_pair_free(&ks.old);
	test_pair_free(&ks.zone);
	test_pair_free(&ks.poison);
	test_pair_free(&ks.stranger);
	secret_free(ks.sym_cur);
	secret_free(ks.sym_old);
	secret_free(ks.psym);
	secret_free(ks.stranger_sym);
}

static struct codec_params params(enum codec_encoding enc, enum codec_scan scan)
{
	struct codec_params p = { .enc = enc, .scan = scan, .keys = &keys, .detect_poison = true };

	p.owner.client_id = (struct bytes){ (const uint8_t *)"alice", 5 };
	return p;
}

/* A growable byte string for building test values. */
struct buf {
	uint8_t *p;
	size_t len;
};

static void put(struct buf *b, const void *src, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	ck_assert_ptr_nonnull(b->p);
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_struct(struct buf *b, const struct ec_pub *pub, const char *pt, const char *ctx,
		       bool container)
{
	size_t n = strlen(pt), cap = acrastruct_size(n), got;
	uint8_t *as = malloc(cap), hdr[ENVELOPE_HDR_LEN];

	ck_assert_int_eq(acrastruct_encrypt(pub, (const uint8_t *)ctx, ctx ? strlen(ctx) : 0,
					    (const uint8_t *)pt, n, as, cap, &got),
			 0);
	if (container) {
		envelope_put_header(hdr, ENVELOPE_ACRASTRUCT, got);
		put(b, hdr, sizeof(hdr));
	}
	put(b, as, got);
	free(as);
}

static void put_block(struct buf *b, const struct secret *k, const char *pt, bool container)
{
	size_t n = strlen(pt), cap = acrablock_size(n), got;
	uint8_t *blk = malloc(cap), hdr[ENVELOPE_HDR_LEN];

	ck_assert_int_eq(acrablock_encrypt(k->p, k->len, NULL, 0, (const uint8_t *)pt, n, blk, cap,
					   &got),
			 0);
	if (container) {
		envelope_put_header(hdr, ENVELOPE_ACRABLOCK, got);
		put(b, hdr, sizeof(hdr));
	}
	put(b, blk, got);
	free(blk);
}

static void to_hex(const struct buf *in, struct buf *out)
{
	char two[3];

	puts_(out, "\\x");
	for (size_t i = 0; i < in->len; i++) {
		snprintf(two, sizeof(two), "%02x", in->p[i]);
		put(out, two, 2);
	}
}

static void to_escape(const struct buf *in, struct buf *out)
{
	char o[5];

	for (size_t i = 0; i < in->len; i++) {
		uint8_t ch = in->p[i];

		if (ch == '\\')
			puts_(out, "\\\\");
		else if (ch < 0x20 || ch > 0x7e) {
			snprintf(o, sizeof(o), "\\%03o", ch);
			puts_(out, o);
		} else
			put(out, &ch, 1);
	}
}

static void ck_out(const struct codec_result *r, const void *want, size_t n)
{
	ck_assert_uint_eq(r->out.len, n);
	ck_assert_int_eq(memcmp(r->out.p, want, n), 0);
}

static void ck_out_str(const struct codec_result *r, const char *want)
{
	ck_out(r, want, strlen(want));
}

START_TEST(test_whole_raw_each_kind)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_WHOLE);
	struct codec_result r;

	for (int kind = 0; kind < 4; kind++) {
		struct buf v = { 0 };

		if (kind < 2)
			put_struct(&v, ks.cur.pub, "secret value", NULL, kind == 1);
		else
			put_block(&v, ks.sym_cur, "secret value", kind == 3);
		ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
		ck_assert_int_eq(r.status, CODEC_DONE);
		ck_assert_uint_eq(r.n_found, 1);
		ck_assert_uint_eq(r.n_decrypted, 1);
		ck_out_str(&r, "secret value");
		free(v.p);
	}
}
END_TEST

START_TEST(test_not_envelope_unchanged)
{
	static const char *vals[] = { "hello", "\"\"\"\"\"\"\"\"", "%%%%%%%%%%%%%%%%%", "",
				      "\"\"\"\"\"\"\"\"UEC2 and a lot of other text that is long "
				      "enough to be looked at by every recogniser in the codec, "
				      "well beyond one hundred and forty-five bytes in total, "
				      "yes really" };
	struct codec_result r;

	for (int mode = 0; mode < 2; mode++) {
		struct codec_params p = params(CODEC_ENC_RAW, mode ? CODEC_SCAN_INLINE : CODEC_SCAN_WHOLE);

		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			const uint8_t *v = (const uint8_t *)vals[i];

			ck_assert_int_eq(codec_decrypt(cd, &p, v, strlen(vals[i]), &r), 0);
			ck_assert_int_eq(r.status, CODEC_NONE);
			ck_assert_ptr_eq(r.out.p, v);
			ck_assert_uint_eq(r.out.len, strlen(vals[i]));
		}
	}
	/* values without envelopes never reach the keystore */
	ck_assert_int_eq(ks.gets, 0);
}
END_TEST

START_TEST(test_rotated_and_failures)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_WHOLE);
	struct codec_result r;
	struct buf v = { 0 }, w = { 0 }, x = { 0 }, y = { 0 };

	/* made with the older key generation: the second candidate opens it */
	put_struct(&v, ks.old.pub, "old data", NULL, false);
	ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_DONE);
	ck_out_str(&r, "old data");
	put_block(&y, ks.sym_old, "old block", true);
	ck_assert_int_eq(codec_decrypt(cd, &p, y.p, y.len, &r), 0);
	ck_out_str(&r, "old block");

	/* nobody's key: unchanged, FAILED */
	put_struct(&w, ks.stranger.pub, "not yours", NULL, false);
	ck_assert_int_eq(codec_decrypt(cd, &p, w.p, w.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	ck_assert_ptr_eq(r.out.p, w.p);
	ck_assert_uint_eq(r.n_failed, 1);
	/* tampered */
	v.p[v.len - 1] ^= 0x80;
	ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	/* unknown client: the provider has no keys */
	p.owner.client_id = (struct bytes){ (const uint8_t *)"bob", 3 };
	put_block(&x, ks.sym_cur, "alice's", false);
	ck_assert_int_eq(codec_decrypt(cd, &p, x.p, x.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	ck_assert_int_eq(r.key_error, 0);
	/* a failing keystore is reported, the value stays */
	ks.fail = ACRA_EIO;
	ck_assert_int_eq(codec_decrypt(cd, &p, x.p, x.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	ck_assert_int_eq(r.key_error, ACRA_EIO);
	ks.fail = 0;
	/* whole-cell: bytes before or after the envelope make it not one */
	p = params(CODEC_ENC_RAW, CODEC_SCAN_WHOLE);
	put(&x, "!", 1);
	ck_assert_int_eq(codec_decrypt(cd, &p, x.p, x.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_NONE);
	free(v.p);
	free(w.p);
	free(x.p);
	free(y.p);
}
END_TEST

START_TEST(test_poison)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_WHOLE);
	struct codec_result r;
	uint8_t *rec;
	size_t n;

	ck_assert_int_eq(poison_make(POISON_ACRASTRUCT, ks.poison.pub, NULL, 0, -1, true, &rec, &n),
			 0);
	ck_assert_int_eq(codec_decrypt(cd, &p, rec, n, &r), 0);
	ck_assert_int_eq(r.status, CODEC_POISON);
	ck_assert_uint_eq(r.n_poison, 1);
	ck_assert_ptr_eq(r.out.p, rec);
	p.detect_poison = false;
	ck_assert_int_eq(codec_decrypt(cd, &p, rec, n, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	free(rec);
	p.detect_poison = true;
	ck_assert_int_eq(poison_make(POISON_ACRABLOCK, NULL, ks.psym->p, 32, 20, false, &rec, &n), 0);
	ck_assert_int_eq(codec_decrypt(cd, &p, rec, n, &r), 0);
	ck_assert_int_eq(r.status, CODEC_POISON);
	free(rec);
}
END_TEST

START_TEST(test_textual_forms)
{
	static const enum codec_encoding hex_encs[] = { CODEC_ENC_PG_HEX, CODEC_ENC_PG_TEXT };
	static const enum codec_encoding esc_encs[] = { CODEC_ENC_PG_ESCAPE, CODEC_ENC_PG_TEXT };
	const char *pt = "a\\b\x01\xff plain";
	struct buf raw = { 0 }, hex = { 0 }, esc = { 0 }, pt_raw = { 0 }, want_hex = { 0 },
		   want_esc = { 0 };
	struct codec_result r;

	put_struct(&raw, ks.cur.pub, pt, NULL, true);
	to_hex(&raw, &hex);
	to_escape(&raw, &esc);
	puts_(&pt_raw, pt);
	to_hex(&pt_raw, &want_hex);
	to_escape(&pt_raw, &want_esc);
	for (int s = 0; s < 2; s++) {
		for (int i = 0; i < 2; i++) {
			struct codec_params p = params(hex_encs[i], s ? CODEC_SCAN_INLINE : CODEC_SCAN_WHOLE);

			ck_assert_int_eq(codec_decrypt(cd, &p, hex.p, hex.len, &r), 0);
			ck_assert_int_eq(r.status, CODEC_DONE);
			ck_out(&r, want_hex.p, want_hex.len);
			p = params(esc_encs[i], s ? CODEC_SCAN_INLINE : CODEC_SCAN_WHOLE);
			ck_assert_int_eq(codec_decrypt(cd, &p, esc.p, esc.len, &r), 0);
			ck_assert_int_eq(r.status, CODEC_DONE);
			ck_out(&r, want_esc.p, want_esc.len);
		}
	}
	/* malformed textual forms are not envelopes */
	{
		struct codec_params p = params(CODEC_ENC_PG_HEX, CODEC_SCAN_WHOLE);

		hex.p[5] = 'g';
		ck_assert_int_eq(codec_decrypt(cd, &p, hex.p, hex.len, &r), 0);
		ck_assert_int_eq(r.status, CODEC_NONE);
		ck_assert_int_eq(codec_decrypt(cd, &p, hex.p, hex.len - 1, &r), 0);
		ck_assert_int_eq(r.status, CODEC_NONE);
		p.enc = CODEC_ENC_PG_ESCAPE;
		ck_assert_int_eq(codec_decrypt(cd, &p, (const uint8_t *)"\\9", 2, &r), 0);
		ck_assert_int_eq(r.status, CODEC_NONE);
	}
	free(raw.p);
	free(hex.p);
	free(esc.p);
	free(pt_raw.p);
	free(want_hex.p);
	free(want_esc.p);
}
END_TEST

START_TEST(test_inline_bare)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_INLINE);
	struct codec_result r;
	struct buf v = { 0 }, hex = { 0 }, want_hex = { 0 }, want = { 0 };
	const char *expect = "<\"\"\"\"%one|\"\"\"\"\"\"\"\"two|three>";

	puts_(&v, "<\"\"\"\"%"); /* junk that looks like the start of tags */
	put_struct(&v, ks.cur.pub, "one", NULL, false);
	puts_(&v, "|\"\"\"\"\"\"\"\"");
	put_block(&v, ks.sym_cur, "two", false);
	puts_(&v, "|");
	put_struct(&v, ks.old.pub, "three", NULL, false);
	puts_(&v, ">");
	ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_DONE);
	ck_assert_uint_eq(r.n_decrypted, 3);
	ck_out_str(&r, expect);
	/* the same in bytea hex */
	p.enc = CODEC_ENC_PG_HEX;
	to_hex(&v, &hex);
	puts_(&want, expect);
	to_hex(&want, &want_hex);
	ck_assert_int_eq(codec_decrypt(cd, &p, hex.p, hex.len, &r), 0);
	ck_out(&r, want_hex.p, want_hex.len);
	/* whole-cell does not look inside */
	p.scan = CODEC_SCAN_WHOLE;
	ck_assert_int_eq(codec_decrypt(cd, &p, hex.p, hex.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_NONE);
	free(v.p);
	free(hex.p);
	free(want.p);
	free(want_hex.p);
}
END_TEST

START_TEST(test_inline_containers_and_failures)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_INLINE);
	struct codec_result r;
	struct buf v = { 0 }, bad = { 0 }, want = { 0 };

	puts_(&v, "%%");
	put_struct(&v, ks.cur.pub, "A", NULL, true);
	puts_(&v, " - ");
	put_struct(&bad, ks.stranger.pub, "B", NULL, true); /* nobody's: stays as is */
	put(&v, bad.p, bad.len);
	puts_(&v, " - ");
	put_block(&v, ks.sym_cur, "C", true);
	puts_(&v, "%");
	ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_DONE);
	ck_assert_uint_eq(r.n_found, 3);
	ck_assert_uint_eq(r.n_decrypted, 2);
	ck_assert_uint_eq(r.n_failed, 1);
	puts_(&want, "%%A - ");
	put(&want, bad.p, bad.len);
	puts_(&want, " - C%");
	ck_out(&r, want.p, want.len);

	/* 0.96 order: when a container is in the value, bare envelopes are left alone */
	free(v.p);
	v = (struct buf){ 0 };
	put_block(&v, ks.sym_cur, "X", true);
	put_struct(&v, ks.cur.pub, "Y", NULL, false);
	ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
	ck_assert_uint_eq(r.n_decrypted, 1);
	ck_assert_uint_eq(r.out.len, 1 + acrastruct_size(1));
	ck_assert_int_eq(r.out.p[0], 'X');
	free(v.p);
	free(bad.p);
	free(want.p);
}
END_TEST

/* A tag-like run whose length field spans a real AcraStruct must not hide it: after a
 * failed candidate the scan moves on by one byte (spec §1.3). */
START_TEST(test_inline_fake_prefix)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_INLINE);
	struct codec_result r;
	struct buf real = { 0 }, v = { 0 }, want = { 0 };
	uint8_t fake[145], le[8];

	put_struct(&real, ks.cur.pub, "found", NULL, false);
	memset(fake, 0x22, 8);
	memset(fake + 8, 'j', 129);
	wr_le64(le, real.len + 2);
	memcpy(fake + 137, le, 8);
	put(&v, fake, sizeof(fake));
	put(&v, real.p, real.len);
	puts_(&v, "!!");
	ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_DONE);
	ck_assert_uint_eq(r.n_decrypted, 1);
	put(&want, fake, sizeof(fake));
	puts_(&want, "found!!");
	ck_out(&r, want.p, want.len);
	free(real.p);
	free(v.p);
	free(want.p);
}
END_TEST

START_TEST(test_zone_mode)
{
	struct codec_params p = params(CODEC_ENC_PG_HEX, CODEC_SCAN_WHOLE);
	struct codec_result r;
	struct zone_matcher m;
	struct buf zraw = { 0 }, zhex = { 0 }, s = { 0 }, shex = { 0 }, other = { 0 };

	puts_(&zraw, ZONE);
	to_hex(&zraw, &zhex);
	put_struct(&s, ks.zone.pub, "zoned", ZONE, false);
	to_hex(&s, &shex);

	zone_matcher_reset(&m);
	/* a column before the zone id: not a zone, nothing decrypted */
	ck_assert(!codec_match_zone(cd, &p, shex.p, shex.len, &m, &r));
	ck_assert_ptr_eq(r.out.p, shex.p);
	ck_assert_int_eq(r.status, CODEC_NONE);
	/* the zone id column (bytea hex) selects the zone and is passed on as it is */
	ck_assert(codec_match_zone(cd, &p, zhex.p, zhex.len, &m, &r));
	ck_assert_ptr_eq(r.out.p, zhex.p);
	ck_assert_int_eq(memcmp(m.id, ZONE, 24), 0);
	p.owner.zone_id = (struct bytes){ m.id, ZONE_ID_LEN };
	ck_assert_int_eq(codec_decrypt(cd, &p, shex.p, shex.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_DONE);
	ck_out_str(&r, "\\x7a6f6e6564"); /* "zoned" */

	/* without the zone, or with another zone, it does not open */
	p.owner.zone_id = (struct bytes){ NULL, 0 };
	ck_assert_int_eq(codec_decrypt(cd, &p, shex.p, shex.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	p.owner.zone_id = (struct bytes){ (const uint8_t *)"DDDDDDDDaaaaaaaaaaaaaaaa", 24 };
	ck_assert_int_eq(codec_decrypt(cd, &p, shex.p, shex.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	/* a zone id whose keys do not exist is not matched */
	zone_matcher_reset(&m);
	puts_(&other, "DDDDDDDDaaaaaaaaaaaaaaaa");
	p.enc = CODEC_ENC_RAW;
	ck_assert(!codec_match_zone(cd, &p, other.p, other.len, &m, &r));
	/* a struct made for the zone key but without the zone context fails */
	free(s.p);
	s = (struct buf){ 0 };
	put_struct(&s, ks.zone.pub, "zoned", NULL, false);
	p.owner.zone_id = (struct bytes){ (const uint8_t *)ZONE, 24 };
	ck_assert_int_eq(codec_decrypt(cd, &p, s.p, s.len, &r), 0);
	ck_assert_int_eq(r.status, CODEC_FAILED);
	free(zraw.p);
	free(zhex.p);
	free(s.p);
	free(shex.p);
	free(other.p);
}
END_TEST

START_TEST(test_zone_column_poison)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_WHOLE);
	struct codec_result r;
	struct zone_matcher m;
	uint8_t *rec;
	size_t n;

	ck_assert_int_eq(poison_make(POISON_ACRASTRUCT, ks.poison.pub, NULL, 0, 10, false, &rec, &n),
			 0);
	zone_matcher_reset(&m);
	ck_assert(!codec_match_zone(cd, &p, rec, n, &m, &r));
	ck_assert_int_eq(r.status, CODEC_POISON);
	ck_assert_ptr_eq(r.out.p, rec);
	free(rec);
}
END_TEST

START_TEST(test_encrypt)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_WHOLE);
	struct codec_result r, d;
	const char *pt = "transparent";
	uint8_t *copy;
	size_t n;

	for (int type = 0; type < 2; type++) {
		for (int ser = 0; ser < 2; ser++) {
			ck_assert_int_eq(codec_encrypt(cd, &p, type ? CODEC_ACRABLOCK : CODEC_ACRASTRUCT,
						       ser, (const uint8_t *)pt, strlen(pt), &r),
					 0);
			ck_assert_int_eq(r.status, CODEC_DONE);
			n = r.out.len;
			ck_assert_uint_eq(n, strlen(pt) + (type ? 138 : 189) + (ser ? 12 : 0));
			copy = malloc(n);
			memcpy(copy, r.out.p, n);
			/* already an envelope: returned as it is */
			ck_assert_int_eq(codec_encrypt(cd, &p, CODEC_ACRASTRUCT, true, copy, n, &d), 0);
			ck_assert_int_eq(d.status, CODEC_ALREADY);
			ck_assert_ptr_eq(d.out.p, copy);
			ck_assert_int_eq(codec_decrypt(cd, &p, copy, n, &d), 0);
			ck_assert_int_eq(d.status, CODEC_DONE);
			ck_out_str(&d, pt);
			free(copy);
		}
	}
	/* hex in, hex out */
	p.enc = CODEC_ENC_PG_HEX;
	ck_assert_int_eq(codec_encrypt(cd, &p, CODEC_ACRABLOCK, true, (const uint8_t *)"\\x414243", 8,
				       &r),
			 0);
	ck_assert_uint_eq(r.out.len, 2 + 2 * (3 + 150));
	ck_assert_int_eq(memcmp(r.out.p, "\\x252525", 8), 0);
	copy = malloc(r.out.len);
	n = r.out.len;
	memcpy(copy, r.out.p, n);
	ck_assert_int_eq(codec_decrypt(cd, &p, copy, n, &d), 0);
	ck_out_str(&d, "\\x414243");
	free(copy);
	/* zone: the zone key and context */
	p.enc = CODEC_ENC_RAW;
	p.owner.zone_id = (struct bytes){ (const uint8_t *)ZONE, 24 };
	ck_assert_int_eq(codec_encrypt(cd, &p, CODEC_ACRASTRUCT, false, (const uint8_t *)"z", 1, &r),
			 0);
	n = r.out.len;
	copy = malloc(n);
	memcpy(copy, r.out.p, n);
	ck_assert_int_eq(codec_decrypt(cd, &p, copy, n, &d), 0);
	ck_out_str(&d, "z");
	free(copy);
	/* no key: an error, never plaintext */
	p.owner.zone_id = (struct bytes){ NULL, 0 };
	p.owner.client_id = (struct bytes){ (const uint8_t *)"bob", 3 };
	ck_assert_int_eq(codec_encrypt(cd, &p, CODEC_ACRABLOCK, true, (const uint8_t *)"x", 1, &r),
			 ACRA_ENOKEY);
	ks.fail = ACRA_EIO;
	ck_assert_int_eq(codec_encrypt(cd, &p, CODEC_ACRABLOCK, true, (const uint8_t *)"x", 1, &r),
			 ACRA_EIO);
	ks.fail = 0;
	/* empty values stay empty */
	ck_assert_int_eq(codec_encrypt(cd, &p, CODEC_ACRABLOCK, true, (const uint8_t *)"", 0, &r), 0);
	ck_assert_int_eq(r.status, CODEC_NONE);
}
END_TEST

START_TEST(test_large_and_reuse)
{
	struct codec_params p = params(CODEC_ENC_RAW, CODEC_SCAN_INLINE);
	struct codec_result r;
	size_t big = 1 << 20;
	char *pt = malloc(big + 1);
	struct buf v = { 0 };

	memset(pt, 'q', big);
	pt[big] = 0;
	puts_(&v, "head");
	put_block(&v, ks.sym_cur, pt, true);
	puts_(&v, "tail");
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(codec_decrypt(cd, &p, v.p, v.len, &r), 0);
		ck_assert_int_eq(r.status, CODEC_DONE);
		ck_assert_uint_eq(r.out.len, big + 8);
		ck_assert_int_eq(memcmp(r.out.p, "head", 4), 0);
		ck_assert_int_eq(memcmp(r.out.p + 4 + big, "tail", 4), 0);
		/* a small value after a big one reuses the buffers */
		ck_assert_int_eq(codec_decrypt(cd, &p, (const uint8_t *)"x", 1, &r), 0);
	}
	free(pt);
	free(v.p);
}
END_TEST

Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_whole_raw_each_kind);
	tcase_add_test(tc, test_not_envelope_unchanged);
	tcase_add_test(tc, test_rotated_and_failures);
	tcase_add_test(tc, test_poison);
	tcase_add_test(tc, test_textual_forms);
	tcase_add_test(tc, test_inline_bare);
	tcase_add_test(tc, test_inline_containers_and_failures);
	tcase_add_test(tc, test_inline_fake_prefix);
	tcase_add_test(tc, test_zone_mode);
	tcase_add_test(tc, test_zone_column_poison);
	tcase_add_test(tc, test_encrypt);
	tcase_add_test(tc, test_large_and_reuse);
	suite_add_tcase(s, tc);
	return s;
}
