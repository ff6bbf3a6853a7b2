/* t/unit/test_acrastruct.c: AcraStruct layout, round trips and every rejection
 * (spec/acra-formats.md §1.1, §1.4). */
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/cell.h"
#include "t/unit/crypto_vectors.h"
#include "t/unit/envelope_helpers.h"
#include "t/unit/suites.h"

static struct test_pair kp, other;

static void setup(void)
{
	test_pair_new(&kp);
	test_pair_new(&other);
}

static void teardown(void)
{
	test_pair_free(&kp);
	test_pair_free(&other);
}

/* Encrypt pt, decrypt it back with ctx, compare. Returns the AcraStruct (owned). */
static uint8_t *round_trip(const uint8_t *pt, size_t n, const uint8_t *ctx, size_t ctx_len,
			   size_t *as_len)
{
	size_t cap = acrastruct_size(n), got = 0, pt_len = 0;
	uint8_t *as = malloc(cap), *back = malloc(n);

	ck_assert_int_eq(acrastruct_encrypt(kp.pub, ctx, ctx_len, pt, n, as, cap, &got), 0);
	ck_assert_uint_eq(got, n + 189);
	ck_assert_int_eq(acrastruct_check(as, got), 0);
	ck_assert_int_eq(acrastruct_plain_len(as, got, &pt_len), 0);
	ck_assert_uint_eq(pt_len, n);
	pt_len = 0;
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, ctx, ctx_len, as, got, back, n, &pt_len), 0);
	ck_assert_uint_eq(pt_len, n);
	ck_assert_int_eq(memcmp(back, pt, n), 0);
	free(back);
	*as_len = got;
	return as;
}

START_TEST(test_layout_known_bytes)
{
	const uint8_t pt[10] = "0123456789";
	size_t n;
	uint8_t *as = round_trip(pt, sizeof(pt), NULL, 0, &n);
	static const uint8_t head[16] = { 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
					  'U',  'E',  'C',  '2',  0x00, 0x00, 0x00, 0x2d };
	static const uint8_t wrapped[8] = { 0x20, 0x27, 0x04, 0x26, 0x54, 0x00, 0x00, 0x00 };
	static const uint8_t cell_alg[4] = { 0x00, 0x01, 0x01, 0x40 };

	ck_assert_uint_eq(ACRASTRUCT_OVERHEAD, 189);
	ck_assert_uint_eq(ACRASTRUCT_MIN_LEN, 145);
	ck_assert_uint_eq(acrastruct_size(10), 199);
	ck_assert_uint_eq(acrastruct_size(SIZE_MAX - 10), 0);
	ck_assert_uint_eq(n, 199);
	ck_assert_int_eq(memcmp(as, head, sizeof(head)), 0);
	ck_assert_int_eq(memcmp(as + 53, wrapped, sizeof(wrapped)), 0);
	ck_assert(rd_le64(as + 137) == 54); /* 10 + 44 */
	ck_assert_int_eq(memcmp(as + 145, cell_alg, sizeof(cell_alg)), 0);
	ck_assert_uint_eq(rd_le32(as + 145 + 12), 10); /* Secure Cell message length */
	free(as);
}
END_TEST

/* Key block from real wasm-themis bytes (spec/themis.md example C): ephemeral key A,
 * Secure Message A -> B carrying K = a0..bf. The B private key must unwrap exactly K and
 * open data sealed with K. */
START_TEST(test_known_key_block)
{
	size_t n_pubA, n_sm, n_k, n_privB, got = 0;
	uint8_t *pubA = unhex(VEC_PUB_A, &n_pubA), *sm = unhex(VEC_SM_ENC, &n_sm);
	uint8_t *k = unhex(VEC_SM_PAYLOAD, &n_k), *privB_raw = unhex(VEC_PRIV_B, &n_privB);
	struct ec_priv *privB = NULL;
	const uint8_t pt[] = "known-answer payload";
	uint8_t as[145 + sizeof(pt) + 44], key[32], back[sizeof(pt)];

	ck_assert_uint_eq(n_sm, 84);
	memset(as, 0x22, 8);
	memcpy(as + 8, pubA, 45);
	memcpy(as + 53, sm, 84);
	wr_le64(as + 137, sizeof(pt) + 44);
	ck_assert_int_eq(cell_seal_encrypt(k, 32, NULL, 0, pt, sizeof(pt), as + 145), 0);
	ck_assert_int_eq(ec_priv_load(&privB, privB_raw, n_privB), 0);

	ck_assert_int_eq(acrastruct_unwrap_key(privB, as, sizeof(as), key), 0);
	ck_assert_int_eq(memcmp(key, k, 32), 0);
	ck_assert_int_eq(acrastruct_decrypt(privB, NULL, 0, as, sizeof(as), back, sizeof(back), &got),
			 0);
	ck_assert_uint_eq(got, sizeof(pt));
	ck_assert_int_eq(memcmp(back, pt, sizeof(pt)), 0);
	/* a different private key cannot unwrap it */
	ck_assert_int_eq(acrastruct_unwrap_key(kp.priv, as, sizeof(as), key), ACRA_ECRYPTO);
	ec_priv_free(privB);
	free(pubA);
	free(sm);
	free(k);
	free(privB_raw);
}
END_TEST

START_TEST(test_round_trip_sizes)
{
	static const size_t sizes[] = { 1, 2, 44, 1024, 1 << 20 };
	static const uint8_t zone[] = "DDDDDDDDqMvNkZtHsPQwLaXc";

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *pt = test_random(sizes[i]);
		size_t n;

		free(round_trip(pt, sizes[i], NULL, 0, &n));
		free(round_trip(pt, sizes[i], zone, 24, &n));
		free(pt);
	}
	for (int i = 0; i < 20; i++) {
		size_t len = 1 + randombytes_uniform(5000);
		uint8_t *pt = test_random(len);
		size_t n;

		free(round_trip(pt, len, NULL, 0, &n));
		free(pt);
	}
}
END_TEST

START_TEST(test_empty_and_small_buffer)
{
	uint8_t out[300];
	size_t got = 1;

	/* Themis (and so Acra) cannot seal empty data */
	ck_assert_int_eq(acrastruct_encrypt(kp.pub, NULL, 0, (const uint8_t *)"", 0, out,
					    sizeof(out), &got),
			 ACRA_EINVAL);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(acrastruct_encrypt(kp.pub, NULL, 0, (const uint8_t *)"abc", 3, out, 191,
					    &got),
			 ACRA_ERANGE);
	ck_assert_int_eq(acrastruct_encrypt(kp.pub, NULL, 0, (const uint8_t *)"abc", 3, out, 192,
					    &got),
			 0);
	ck_assert_uint_eq(got, 192);
	/* decrypt output buffer one byte short */
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, NULL, 0, out, 192, out + 200, 2, &got),
			 ACRA_ERANGE);
}
END_TEST

START_TEST(test_reject_structure)
{
	const uint8_t pt[] = "some plaintext";
	size_t n, m;
	uint8_t *as = round_trip(pt, sizeof(pt), NULL, 0, &n);
	uint8_t *big = malloc(n + 10), back[64];

	/* short */
	ck_assert_int_eq(acrastruct_check(as, 144), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_measure(as, 144, &m), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_check(as, 0), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_check(NULL, 0), ACRA_EPROTO);
	/* a truncated struct: the length field is larger than the buffer */
	ck_assert_int_eq(acrastruct_check(as, n - 1), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_measure(as, n - 1, &m), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, NULL, 0, as, n - 1, back, sizeof(back), &m),
			 ACRA_EPROTO);
	/* wrong tag: each of the 8 tag bytes */
	for (int i = 0; i < 8; i++) {
		as[i] ^= 0x01;
		ck_assert_int_eq(acrastruct_check(as, n), ACRA_EPROTO);
		ck_assert(!acrastruct_has_tag(as, n));
		ck_assert_int_eq(acrastruct_measure(as, n, &m), ACRA_EPROTO);
		as[i] ^= 0x01;
	}
	/* trailing bytes: not a whole AcraStruct, but measurable as a prefix */
	memcpy(big, as, n);
	memset(big + n, 'x', 10);
	ck_assert_int_eq(acrastruct_check(big, n + 10), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, NULL, 0, big, n + 10, back, sizeof(back), &m),
			 ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_measure(big, n + 10, &m), 0);
	ck_assert_uint_eq(m, n);
	/* length field larger than the data / smaller than the data */
	wr_le64(big + 137, rd_le64(as + 137) + 1);
	ck_assert_int_eq(acrastruct_check(big, n), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_measure(big, n, &m), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_measure(big, n + 10, &m), 0); /* fits with the trailer */
	ck_assert_uint_eq(m, n + 1);
	wr_le64(big + 137, rd_le64(as + 137) - 1);
	ck_assert_int_eq(acrastruct_check(big, n), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, NULL, 0, big, n, back, sizeof(back), &m),
			 ACRA_EPROTO);
	/* absurd lengths must not wrap around */
	wr_le64(big + 137, UINT64_MAX);
	ck_assert_int_eq(acrastruct_measure(big, n + 10, &m), ACRA_EPROTO);
	wr_le64(big + 137, UINT64_MAX - 144);
	ck_assert_int_eq(acrastruct_measure(big, n + 10, &m), ACRA_EPROTO);
	ck_assert_int_eq(acrastruct_check(big, n), ACRA_EPROTO);
	free(big);
	free(as);
}
END_TEST

START_TEST(test_reject_key_and_context)
{
	const uint8_t pt[] = "context bound";
	static const uint8_t zone[] = "DDDDDDDDqMvNkZtHsPQwLaXc";
	static const uint8_t zone2[] = "DDDDDDDDqMvNkZtHsPQwLaXd";
	uint8_t back[64];
	size_t n, m = 7;
	uint8_t *as = round_trip(pt, sizeof(pt), zone, 24, &n);

	ck_assert_int_eq(acrastruct_decrypt(other.priv, zone, 24, as, n, back, sizeof(back), &m),
			 ACRA_ECRYPTO);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, zone2, 24, as, n, back, sizeof(back), &m),
			 ACRA_ECRYPTO);
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, NULL, 0, as, n, back, sizeof(back), &m),
			 ACRA_ECRYPTO);
	/* the plaintext buffer holds nothing after a failure */
	for (size_t i = 0; i < sizeof(pt); i++)
		ck_assert_uint_eq(back[i], 0);
	free(as);
	as = round_trip(pt, sizeof(pt), NULL, 0, &n);
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, zone, 24, as, n, back, sizeof(back), &m),
			 ACRA_ECRYPTO);
	free(as);
}
END_TEST

START_TEST(test_decrypt_any_rotated)
{
	const uint8_t pt[] = "rotated keys";
	uint8_t back[64];
	size_t n, m = 0, which = 9;
	uint8_t *as = round_trip(pt, sizeof(pt), NULL, 0, &n);
	const struct ec_priv *newest_first[] = { other.priv, NULL, kp.priv };
	const struct ec_priv *wrong[] = { other.priv };

	ck_assert_int_eq(acrastruct_decrypt_any(newest_first, 3, NULL, 0, as, n, back, sizeof(back),
						&m, &which),
			 0);
	ck_assert_uint_eq(which, 2);
	ck_assert_uint_eq(m, sizeof(pt));
	ck_assert_int_eq(memcmp(back, pt, m), 0);
	ck_assert_int_eq(acrastruct_decrypt_any(wrong, 1, NULL, 0, as, n, back, sizeof(back), &m,
						NULL),
			 ACRA_ECRYPTO);
	ck_assert_int_eq(acrastruct_decrypt_any(wrong, 0, NULL, 0, as, n, back, sizeof(back), &m,
						NULL),
			 ACRA_ECRYPTO);
	free(as);
}
END_TEST

/* Every single-bit change of a sample must make decryption fail. */
START_TEST(test_every_bit_flip)
{
	const uint8_t pt[] = "bit flips";
	uint8_t back[64];
	size_t n, m;
	uint8_t *as = round_trip(pt, sizeof(pt), NULL, 0, &n);

	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b++) {
			as[i] ^= (uint8_t)(1u << b);
			ck_assert_int_ne(acrastruct_decrypt(kp.priv, NULL, 0, as, n, back,
							    sizeof(back), &m),
					 0);
			as[i] ^= (uint8_t)(1u << b);
		}
	}
	ck_assert_int_eq(acrastruct_decrypt(kp.priv, NULL, 0, as, n, back, sizeof(back), &m), 0);
	free(as);
}
END_TEST

Suite *acrastruct_suite(void)
{
	Suite *s = suite_create("acrastruct");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_layout_known_bytes);
	tcase_add_test(tc, test_known_key_block);
	tcase_add_test(tc, test_round_trip_sizes);
	tcase_add_test(tc, test_empty_and_small_buffer);
	tcase_add_test(tc, test_reject_structure);
	tcase_add_test(tc, test_reject_key_and_context);
	tcase_add_test(tc, test_decrypt_any_rotated);
	tcase_add_test(tc, test_every_bit_flip);
	suite_add_tcase(s, tc);
	return s;
}
