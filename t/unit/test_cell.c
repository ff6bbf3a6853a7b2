/* t/unit/test_cell.c: Secure Cell Seal / Token Protect / Context Imprint / passphrase against
 * wasm-themis outputs (spec/themis.md §2), round trips and every decrypt-side rejection. */
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/cell.h"
#include "t/unit/crypto_vectors.h"
#include "t/unit/suites.h"

static const uint8_t hello[] = "Hello, Acra!";
#define HELLO_LEN 12
#define CTX1 (const uint8_t *)"ctx-1", 5

struct kat {
	const char *key, *ct;
	const uint8_t *ctx;
	size_t ctx_len;
};

static const struct kat seal_kats[] = {
	{ VEC_KEY32, VEC_SEAL_A, (const uint8_t *)"ctx-1", 5 },
	{ VEC_KEY32, VEC_SEAL_B, NULL, 0 },
	{ VEC_KEY16, VEC_SEAL_K16, NULL, 0 },
};

START_TEST(test_seal_known_answers)
{
	const struct kat *t = &seal_kats[_i];
	size_t kn, cn, pt_len;
	uint8_t *key = unhex(t->key, &kn), *ct = unhex(t->ct, &cn), out[64];

	ck_assert_int_eq(cell_seal_plain_len(ct, cn, &pt_len), 0);
	ck_assert_uint_eq(pt_len, HELLO_LEN);
	ck_assert_int_eq(cell_seal_decrypt(key, kn, t->ctx, t->ctx_len, ct, cn, out, &pt_len), 0);
	ck_assert_uint_eq(pt_len, HELLO_LEN);
	ck_assert_int_eq(memcmp(out, hello, HELLO_LEN), 0);
	/* an empty context is the same as no context */
	if (t->ctx == NULL) {
		ck_assert_int_eq(cell_seal_decrypt(key, kn, (const uint8_t *)"", 0, ct, cn, out,
						   &pt_len), 0);
		ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, ct, cn, out, &pt_len), ACRA_ECRYPTO);
	} else {
		ck_assert_int_eq(cell_seal_decrypt(key, kn, NULL, 0, ct, cn, out, &pt_len),
				 ACRA_ECRYPTO);
	}
	ck_assert_uint_eq(pt_len, 0);
	free(key);
	free(ct);
}
END_TEST

/* Every single-bit flip of a real sealed cell fails to open and leaves no plaintext. */
START_TEST(test_seal_every_bit_flip_fails)
{
	size_t kn, cn, pt_len;
	uint8_t *key = unhex(VEC_KEY32, &kn), *ct = unhex(VEC_SEAL_A, &cn), out[64];

	for (size_t bit = 0; bit < cn * 8; bit++) {
		int rc;

		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(out, 0x5a, sizeof(out));
		rc = cell_seal_decrypt(key, kn, CTX1, ct, cn, out, &pt_len);
		ck_assert_msg(rc == ACRA_ECRYPTO || rc == ACRA_EPROTO, "bit %zu: rc %d", bit, rc);
		/* header bits are caught by the parser, IV/tag/body bits by GCM */
		if (bit / 8 >= 16)
			ck_assert_int_eq(rc, ACRA_ECRYPTO);
		ck_assert_uint_eq(pt_len, 0);
		for (size_t i = 0; i < HELLO_LEN; i++)
			ck_assert(out[i] == 0x5a || out[i] == 0);
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, ct, cn, out, &pt_len), 0);
	free(key);
	free(ct);
}
END_TEST

START_TEST(test_seal_malformed)
{
	size_t kn, cn, pt_len;
	uint8_t *key = unhex(VEC_KEY32, &kn), *ct = unhex(VEC_SEAL_A, &cn), out[64], c[64];

	/* short buffers, including every truncation */
	for (size_t n = 0; n < cn; n++)
		ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, ct, n, out, &pt_len), ACRA_EPROTO);
	ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, NULL, 0, out, &pt_len), ACRA_EPROTO);
	/* length field larger than the whole buffer, and the largest value */
	memcpy(c, ct, cn);
	wr_le32(c + 12, (uint32_t)cn + 1);
	ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, c, cn, out, &pt_len), ACRA_EPROTO);
	wr_le32(c + 12, UINT32_MAX);
	ck_assert_int_eq(cell_seal_plain_len(c, cn, &pt_len), ACRA_EPROTO);
	/* size field mismatch: a trailing byte makes mlen disagree with the ciphertext */
	memcpy(c, ct, cn);
	c[cn] = 0;
	ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, c, cn + 1, out, &pt_len), ACRA_EPROTO);
	/* ivlen/taglen so large that 16 + ivlen + taglen would wrap in 32 bits */
	memcpy(c, ct, cn);
	wr_le32(c + 4, 0xFFFFFFF0u);
	wr_le32(c + 8, 0x20u);
	ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, c, cn, out, &pt_len), ACRA_EPROTO);
	/* alg ids: passphrase KDF, CTR, reserved bit, 512-bit key */
	{
		static const uint32_t bad_alg[] = { 0x41010100u, 0x20010100u, 0x40011100u,
						    0x40010200u, 0x40000100u, 0x40810100u };
		for (size_t i = 0; i < sizeof(bad_alg) / sizeof(bad_alg[0]); i++) {
			memcpy(c, ct, cn);
			wr_le32(c, bad_alg[i]);
			ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, c, cn, out, &pt_len),
					 ACRA_EPROTO);
		}
	}
	/* empty key */
	ck_assert_int_eq(cell_seal_decrypt(key, 0, CTX1, ct, cn, out, &pt_len), ACRA_EINVAL);
	/* wrong key */
	key[0] ^= 1;
	ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, ct, cn, out, &pt_len), ACRA_ECRYPTO);
	free(key);
	free(ct);
}
END_TEST

/* Themis accepts a longer IV (first 12 bytes used) and AES-128 with the first 16 KDF bytes;
 * build such cells from a genuine one and check they open. */
START_TEST(test_seal_reference_variants)
{
	uint8_t key[32], pt[20], ct[20 + CELL_SEAL_OVERHEAD], v[20 + CELL_SEAL_OVERHEAD + 4];
	uint8_t out[20];
	size_t pt_len;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, sizeof(pt));
	ck_assert_int_eq(cell_seal_encrypt(key, 32, CTX1, pt, 20, ct), 0);
	/* ivlen 16: insert 4 ignored bytes after the 12 real ones */
	memcpy(v, ct, 28);
	memset(v + 28, 0xEE, 4);
	memcpy(v + 32, ct + 28, sizeof(ct) - 28);
	wr_le32(v + 4, 16);
	ck_assert_int_eq(cell_seal_decrypt(key, 32, CTX1, v, sizeof(v), out, &pt_len), 0);
	ck_assert_int_eq(memcmp(out, pt, 20), 0);
}
END_TEST

static void round_trip(size_t len, const uint8_t *ctx, size_t ctx_len)
{
	uint8_t key[32], *pt = malloc(len), *ct = malloc(len + CELL_SEAL_OVERHEAD),
			 *out = malloc(len);
	size_t pt_len;

	ck_assert(pt && ct && out);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, len);
	ck_assert_int_eq(cell_seal_encrypt(key, 32, ctx, ctx_len, pt, len, ct), 0);
	ck_assert_int_eq(memcmp(ct, "\x00\x01\x01\x40\x0c\0\0\0\x10\0\0\0", 12), 0);
	ck_assert_uint_eq(rd_le32(ct + 12), len);
	ck_assert_int_eq(cell_seal_plain_len(ct, len + CELL_SEAL_OVERHEAD, &pt_len), 0);
	ck_assert_uint_eq(pt_len, len);
	ck_assert_int_eq(cell_seal_decrypt(key, 32, ctx, ctx_len, ct, len + CELL_SEAL_OVERHEAD, out,
					   &pt_len), 0);
	ck_assert_uint_eq(pt_len, len);
	ck_assert_int_eq(memcmp(out, pt, len), 0);
	ct[len + CELL_SEAL_OVERHEAD - 1] ^= 0x80;
	ck_assert_int_eq(cell_seal_decrypt(key, 32, ctx, ctx_len, ct, len + CELL_SEAL_OVERHEAD, out,
					   &pt_len), ACRA_ECRYPTO);
	free(pt);
	free(ct);
	free(out);
}

START_TEST(test_seal_round_trips)
{
	static const size_t lens[] = { 1, 1024, 1024 * 1024 };

	for (size_t i = 0; i < 3; i++) {
		round_trip(lens[i], NULL, 0);
		round_trip(lens[i], CTX1);
	}
	for (int i = 0; i < 20; i++)
		round_trip(1 + randombytes_uniform(70000), CTX1);
}
END_TEST

START_TEST(test_seal_encrypt_rejects)
{
	uint8_t key[32] = { 1 }, out[64];

	ck_assert_int_eq(cell_seal_encrypt(key, 32, NULL, 0, hello, 0, out), ACRA_EINVAL);
	ck_assert_int_eq(cell_seal_encrypt(key, 0, NULL, 0, hello, 1, out), ACRA_EINVAL);
	ck_assert_int_eq(cell_seal_encrypt(NULL, 32, NULL, 0, hello, 1, out), ACRA_EINVAL);
}
END_TEST

START_TEST(test_token_protect)
{
	size_t kn, tn, dn;
	uint8_t *key = unhex(VEC_KEY32, &kn), *tok = unhex(VEC_TOKEN, &tn);
	uint8_t *data = unhex(VEC_TOKEN_DATA, &dn), out[64], d2[64], t2[CELL_TOKEN_LEN];

	ck_assert_int_eq(cell_token_decrypt(key, kn, CTX1, data, dn, tok, tn, out), 0);
	ck_assert_int_eq(memcmp(out, hello, HELLO_LEN), 0);
	ck_assert_int_eq(cell_token_decrypt(key, kn, NULL, 0, data, dn, tok, tn, out), ACRA_ECRYPTO);
	ck_assert_int_eq(cell_token_decrypt(key, kn, CTX1, data, dn - 1, tok, tn, out), ACRA_EPROTO);
	ck_assert_int_eq(cell_token_decrypt(key, kn, CTX1, data, dn, tok, tn - 1, out), ACRA_EPROTO);
	for (size_t bit = 0; bit < (tn + dn) * 8; bit++) {
		uint8_t *p = bit / 8 < tn ? tok + bit / 8 : data + bit / 8 - tn;

		*p ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_ne(cell_token_decrypt(key, kn, CTX1, data, dn, tok, tn, out), 0);
		*p ^= (uint8_t)(1u << (bit % 8));
	}
	/* ours: token || data is a Seal cell */
	ck_assert_int_eq(cell_token_encrypt(key, kn, CTX1, hello, HELLO_LEN, d2, t2), 0);
	ck_assert_int_eq(cell_token_decrypt(key, kn, CTX1, d2, HELLO_LEN, t2, sizeof(t2), out), 0);
	ck_assert_int_eq(memcmp(out, hello, HELLO_LEN), 0);
	{
		uint8_t sealed[CELL_TOKEN_LEN + HELLO_LEN];
		size_t pt_len;

		memcpy(sealed, t2, CELL_TOKEN_LEN);
		memcpy(sealed + CELL_TOKEN_LEN, d2, HELLO_LEN);
		ck_assert_int_eq(cell_seal_decrypt(key, kn, CTX1, sealed, sizeof(sealed), out, &pt_len),
				 0);
	}
	ck_assert_int_eq(cell_token_encrypt(key, kn, CTX1, hello, 0, d2, t2), ACRA_EINVAL);
	free(key);
	free(tok);
	free(data);
}
END_TEST

START_TEST(test_context_imprint)
{
	size_t kn, wn;
	uint8_t *key = unhex(VEC_KEY32, &kn), *want = unhex(VEC_IMPRINT, &wn), out[64], back[64];

	ck_assert_int_eq(cell_imprint(key, kn, CTX1, hello, HELLO_LEN, out), 0);
	ck_assert_int_eq(memcmp(out, want, wn), 0);
	ck_assert_int_eq(cell_imprint(key, kn, CTX1, out, HELLO_LEN, back), 0);
	ck_assert_int_eq(memcmp(back, hello, HELLO_LEN), 0);
	ck_assert_int_eq(cell_imprint(key, kn, NULL, 0, hello, HELLO_LEN, out), ACRA_EINVAL);
	ck_assert_int_eq(cell_imprint(key, kn, CTX1, hello, 0, out), ACRA_EINVAL);
	ck_assert_int_eq(cell_imprint(key, 0, CTX1, hello, HELLO_LEN, out), ACRA_EINVAL);
	/* another context gives another output */
	ck_assert_int_eq(cell_imprint(key, kn, (const uint8_t *)"ctx-2", 5, hello, HELLO_LEN, out), 0);
	ck_assert_int_ne(memcmp(out, want, wn), 0);
	free(key);
	free(want);
}
END_TEST

START_TEST(test_passphrase)
{
	size_t cn, pt_len, out_len;
	uint8_t *ct = unhex(VEC_PASS, &cn), out[128], enc[128];

	ck_assert_uint_eq(cell_pass_overhead(), 70);
	ck_assert_int_eq(cell_pass_decrypt("secret", 6, CTX1, ct, cn, out, &pt_len), 0);
	ck_assert_uint_eq(pt_len, HELLO_LEN);
	ck_assert_int_eq(memcmp(out, hello, HELLO_LEN), 0);
	ck_assert_int_eq(cell_pass_decrypt("secreT", 6, CTX1, ct, cn, out, &pt_len), ACRA_ECRYPTO);
	ck_assert_int_eq(cell_pass_decrypt("secret", 6, NULL, 0, ct, cn, out, &pt_len), ACRA_ECRYPTO);
	/* a key-mode decrypt of a passphrase cell is refused by its alg id */
	ck_assert_int_eq(cell_seal_decrypt((const uint8_t *)"secret", 6, CTX1, ct, cn, out, &pt_len),
			 ACRA_EPROTO);
	/* salt length beyond the KDF context */
	ct[52] = 17;
	ck_assert_int_eq(cell_pass_decrypt("secret", 6, CTX1, ct, cn, out, &pt_len), ACRA_EPROTO);
	ct[52] = 16;
	ck_assert_int_eq(cell_pass_encrypt("pw", 2, CTX1, hello, HELLO_LEN, enc, &out_len), 0);
	ck_assert_uint_eq(out_len, HELLO_LEN + 70);
	ck_assert_int_eq(memcmp(enc, "\x00\x01\x01\x41\x0c\0\0\0\x10\0\0\0\x0c\0\0\0\x16\0\0\0", 20),
			 0);
	ck_assert_int_eq(memcmp(enc + 48, "\xfe\xca\x04\x00\x10\x00", 6), 0);
	ck_assert_int_eq(cell_pass_decrypt("pw", 2, CTX1, enc, out_len, out, &pt_len), 0);
	ck_assert_int_eq(memcmp(out, hello, HELLO_LEN), 0);
	free(ct);
}
END_TEST

Suite *cell_suite(void)
{
	Suite *s = suite_create("cell");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_seal_known_answers, 0,
			    (int)(sizeof(seal_kats) / sizeof(seal_kats[0])));
	tcase_add_test(tc, test_seal_every_bit_flip_fails);
	tcase_add_test(tc, test_seal_malformed);
	tcase_add_test(tc, test_seal_reference_variants);
	tcase_add_test(tc, test_seal_round_trips);
	tcase_add_test(tc, test_seal_encrypt_rejects);
	tcase_add_test(tc, test_token_protect);
	tcase_add_test(tc, test_context_imprint);
	tcase_add_test(tc, test_passphrase);
	suite_add_tcase(s, tc);
	return s;
}
