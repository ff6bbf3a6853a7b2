/* t/unit/test_smessage.c: Secure Message encrypt/decrypt and sign/verify against wasm-themis
 * outputs (spec/themis.md §3), round trips and header checks. */
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/smessage.h"
#include "t/unit/crypto_vectors.h"
#include "t/unit/suites.h"

struct keys {
	struct ec_priv *a, *b;
	struct ec_pub *pa, *pb;
};

static void keys_load(struct keys *k)
{
	const char *hex[4] = { VEC_PRIV_A, VEC_PRIV_B, VEC_PUB_A, VEC_PUB_B };
	uint8_t *b[4];
	size_t n[4];

	for (int i = 0; i < 4; i++)
		b[i] = unhex(hex[i], &n[i]);
	ck_assert_int_eq(ec_priv_load(&k->a, b[0], n[0]), 0);
	ck_assert_int_eq(ec_priv_load(&k->b, b[1], n[1]), 0);
	ck_assert_int_eq(ec_pub_load(&k->pa, b[2], n[2]), 0);
	ck_assert_int_eq(ec_pub_load(&k->pb, b[3], n[3]), 0);
	for (int i = 0; i < 4; i++)
		free(b[i]);
}

static void keys_free(struct keys *k)
{
	ec_priv_free(k->a);
	ec_priv_free(k->b);
	ec_pub_free(k->pa);
	ec_pub_free(k->pb);
}

/* Example C: wasm-themis encrypted with (A private, B public); B opens with (B, A public). */
START_TEST(test_decrypt_wasm_example)
{
	struct keys k;
	size_t n, pn, out_len;
	uint8_t *in = unhex(VEC_SM_ENC, &n), *pay = unhex(VEC_SM_PAYLOAD, &pn), out[128];

	keys_load(&k);
	ck_assert_uint_eq(n, 84);
	ck_assert_int_eq(smessage_decrypt(k.b, k.pa, in, n, out, &out_len), 0);
	ck_assert_uint_eq(out_len, 32);
	ck_assert_int_eq(memcmp(out, pay, 32), 0);
	/* the sender can open it too (ECDH is symmetric) */
	ck_assert_int_eq(smessage_decrypt(k.a, k.pb, in, n, out, &out_len), 0);
	/* wrong pair: B with its own public key */
	ck_assert_int_eq(smessage_decrypt(k.b, k.pb, in, n, out, &out_len), ACRA_ECRYPTO);
	ck_assert_uint_eq(out_len, 0);
	/* every bit flip fails */
	for (size_t bit = 0; bit < n * 8; bit++) {
		in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_ne(smessage_decrypt(k.b, k.pa, in, n, out, &out_len), 0);
		in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* header checks: type, length field vs. total, short input */
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(smessage_decrypt(k.b, k.pa, in, len, out, &out_len), ACRA_EPROTO);
	wr_le32(in + 4, 85);
	ck_assert_int_eq(smessage_decrypt(k.b, k.pa, in, n, out, &out_len), ACRA_EPROTO);
	wr_le32(in + 4, 84);
	wr_le32(in, 0x26042710); /* RSA encrypted */
	ck_assert_int_eq(smessage_decrypt(k.b, k.pa, in, n, out, &out_len), ACRA_EPROTO);
	keys_free(&k);
	free(in);
	free(pay);
}
END_TEST

START_TEST(test_encrypt_round_trips)
{
	static const size_t lens[] = { 1, 32, 1024, 1024 * 1024 };
	struct keys k;

	keys_load(&k);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]) + 10; i++) {
		size_t len = i < 4 ? lens[i] : 1 + randombytes_uniform(5000), out_len;
		uint8_t *m = malloc(len), *e = malloc(len + SMESSAGE_ENC_OVERHEAD), *d = malloc(len);

		randombytes_buf(m, len);
		ck_assert_int_eq(smessage_encrypt(k.a, k.pb, m, len, e), 0);
		ck_assert_int_eq(memcmp(e, "\x20\x27\x04\x26", 4), 0);
		ck_assert_uint_eq(rd_le32(e + 4), len + SMESSAGE_ENC_OVERHEAD);
		ck_assert_int_eq(smessage_decrypt(k.b, k.pa, e, len + SMESSAGE_ENC_OVERHEAD, d,
						  &out_len), 0);
		ck_assert_uint_eq(out_len, len);
		ck_assert_int_eq(memcmp(d, m, len), 0);
		free(m);
		free(e);
		free(d);
	}
	{
		uint8_t e[64];

		ck_assert_int_eq(smessage_encrypt(k.a, k.pb, (const uint8_t *)"x", 0, e), ACRA_EINVAL);
	}
	keys_free(&k);
}
END_TEST

START_TEST(test_verify_wasm_signature)
{
	struct keys k;
	size_t n;
	uint8_t *in = unhex(VEC_SM_SIGNED, &n);
	const uint8_t *msg;
	size_t msg_len;

	keys_load(&k);
	ck_assert_int_eq(smessage_verify(k.pa, in, n, &msg, &msg_len), 0);
	ck_assert_uint_eq(msg_len, 12);
	ck_assert_int_eq(memcmp(msg, "Hello, Acra!", 12), 0);
	ck_assert_ptr_eq(msg, in + 12);
	ck_assert_int_eq(smessage_verify(k.pb, in, n, &msg, &msg_len), ACRA_ECRYPTO);
	ck_assert_ptr_null(msg);
	for (size_t bit = 0; bit < n * 8; bit++) {
		in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_ne(smessage_verify(k.pa, in, n, &msg, &msg_len), 0);
		in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t len = 0; len < n; len++)
		ck_assert_int_ne(smessage_verify(k.pa, in, len, &msg, &msg_len), 0);
	/* lengths pointing past the buffer, including values that wrap 32-bit sums */
	wr_le32(in + 4, 13);
	ck_assert_int_eq(smessage_verify(k.pa, in, n, &msg, &msg_len), ACRA_EPROTO);
	wr_le32(in + 4, 12);
	wr_le32(in + 8, 0xFFFFFFFFu);
	ck_assert_int_eq(smessage_verify(k.pa, in, n, &msg, &msg_len), ACRA_EPROTO);
	keys_free(&k);
	free(in);
}
END_TEST

START_TEST(test_sign_round_trip)
{
	struct keys k;
	uint8_t *s;
	size_t n, msg_len;
	const uint8_t *msg;

	keys_load(&k);
	ck_assert_int_eq(smessage_sign(k.a, (const uint8_t *)"Hello, Acra!", 12, &s, &n), 0);
	ck_assert_int_eq(memcmp(s, "\x20\x26\x04\x26\x0c\0\0\0", 8), 0);
	ck_assert_uint_eq(n, 12 + 12 + rd_le32(s + 8));
	ck_assert_int_eq(smessage_verify(k.pa, s, n, &msg, &msg_len), 0);
	ck_assert_uint_eq(msg_len, 12);
	ck_assert_int_eq(smessage_verify(k.pb, s, n, &msg, &msg_len), ACRA_ECRYPTO);
	free(s);
	ck_assert_int_eq(smessage_sign(k.a, (const uint8_t *)"x", 0, &s, &n), ACRA_EINVAL);
	ck_assert_ptr_null(s);
	keys_free(&k);
}
END_TEST

Suite *smessage_suite(void)
{
	Suite *s = suite_create("smessage");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_decrypt_wasm_example);
	tcase_add_test(tc, test_encrypt_round_trips);
	tcase_add_test(tc, test_verify_wasm_signature);
	tcase_add_test(tc, test_sign_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
