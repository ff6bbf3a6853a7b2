/* t/unit/test_soter.c: CRC-32C, Soter containers and the Soter KDF against spec/themis.md
 * vectors (real wasm-themis keys and Secure Session key-schedule values). */
#include <string.h>

#include "lib/bytes.h"
#include "lib/crypto/soter.h"
#include "t/unit/crypto_vectors.h"
#include "t/unit/suites.h"

START_TEST(test_crc32c_check_value)
{
	ck_assert_uint_eq(soter_crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(soter_crc32c(NULL, 0), 0);
}
END_TEST

/* The CRC of a wasm-themis key, computed with the crc field zeroed, is stored LE. */
START_TEST(test_container_crc_of_real_keys)
{
	const char *keys[] = { VEC_PRIV_A, VEC_PUB_A, VEC_PRIV_B, VEC_PUB_B, VEC_SS_EC, VEC_SS_ES };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n;
		uint8_t *k = unhex(keys[i], &n), copy[64];
		char tag[4];

		ck_assert_int_eq(soter_container_check(k, n), 0);
		memcpy(copy, k, n);
		memcpy(tag, k, 4);
		memset(copy + 4, 0xAA, 8);
		soter_container_seal(copy, tag, n);
		ck_assert_int_eq(memcmp(copy, k, n), 0);
		free(k);
	}
}
END_TEST

START_TEST(test_container_rejects)
{
	size_t n;
	uint8_t *k = unhex(VEC_PUB_A, &n);

	ck_assert_int_eq(soter_container_check(k, n - 1), ACRA_EPROTO); /* size != length */
	ck_assert_int_eq(soter_container_check(k, 11), ACRA_EPROTO);
	ck_assert_int_eq(soter_container_check(NULL, 0), ACRA_EPROTO);
	/* every bit of the container is covered by the size check or the CRC */
	for (size_t bit = 0; bit < n * 8; bit++) {
		k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (bit / 8 >= 4) /* the tag itself is checked by the key loaders */
			ck_assert_int_eq(soter_container_check(k, n), ACRA_EPROTO);
		k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_int_eq(soter_container_check(k, n), 0);
	free(k);
}
END_TEST

static void check_kdf(const char *key_hex, const char *label, const struct soter_ctx *c,
		      size_t n_c, const char *want_hex)
{
	size_t kn = 0, wn;
	uint8_t *key = key_hex ? unhex(key_hex, &kn) : NULL, *want = unhex(want_hex, &wn);
	uint8_t out[32];

	ck_assert_int_eq(soter_kdf(key, kn, label, c, n_c, out, wn), 0);
	ck_assert_int_eq(memcmp(out, want, wn), 0);
	free(key);
	free(want);
}

START_TEST(test_kdf_cell_keys)
{
	uint8_t len12[4] = { 12, 0, 0, 0 }, len32[4] = { 32, 0, 0, 0 };
	struct soter_ctx a[2] = { { len12, 4 }, { (const uint8_t *)"ctx-1", 5 } };
	struct soter_ctx b[2] = { { len12, 4 }, { NULL, 0 } };
	struct soter_ctx c[1] = { { len32, 4 } };
	check_kdf(VEC_KEY32, "Themis secure cell message key", a, 2, VEC_SEAL_A_DK);
	check_kdf(VEC_KEY32, "Themis secure cell message key", b, 2, VEC_SEAL_B_DK); /* NULL skipped */
	check_kdf(VEC_KEY32, "Themis secure cell message key", b, 1, VEC_SEAL_B_DK);
	check_kdf(VEC_ECDH_AB, "Themis secure cell message key", c, 1, VEC_SM_CELL_KEY);
	/* truncation: a shorter output is a prefix */
	check_kdf(VEC_KEY32, "Themis secure cell message key", a, 2, "346e3616");
}
END_TEST

START_TEST(test_kdf_session_schedule)
{
	size_t ecn, esn, sidn;
	uint8_t *ec = unhex(VEC_SS_EC, &ecn), *es = unhex(VEC_SS_ES, &esn);
	uint8_t *sid = unhex(VEC_SS_SID, &sidn);
	struct soter_ctx ids[4] = { { ec, ecn }, { es, esn },
				    { (const uint8_t *)"client-id", 9 },
				    { (const uint8_t *)"server-id-0001", 14 } };
	struct soter_ctx sc[1] = { { sid, sidn } };

	/* implicit key: label XOR contexts, each cut to 32 bytes */
	check_kdf(NULL, "Themis secure session unique identifier", ids, 4, VEC_SS_SID);
	check_kdf(VEC_SS_Z, "Themis secure session master key", sc, 1, VEC_SS_MK);
	check_kdf(VEC_SS_MK, "Themis secure session client key", sc, 1, VEC_SS_KC);
	check_kdf(VEC_SS_MK, "Themis secure session client initial sequence number", sc, 1,
		  "43b1eca4");
	check_kdf(VEC_SS_MK, "Themis secure session server initial sequence number", sc, 1,
		  "b9329441");
	free(ec);
	free(es);
	free(sid);
}
END_TEST

START_TEST(test_kdf_rejects)
{
	uint8_t out[33], key[1] = { 1 };

	ck_assert_int_eq(soter_kdf(key, 1, "l", NULL, 0, out, 0), ACRA_EINVAL);
	ck_assert_int_eq(soter_kdf(key, 1, "l", NULL, 0, out, 33), ACRA_EINVAL);
	ck_assert_int_eq(soter_kdf(key, 0, "l", NULL, 0, out, 32), ACRA_EINVAL); /* empty key */
	ck_assert_int_eq(soter_kdf(key, 1, NULL, NULL, 0, out, 32), ACRA_EINVAL);
	ck_assert_int_eq(soter_kdf(key, 1, "l", NULL, 1, out, 32), ACRA_EINVAL);
	ck_assert_int_eq(soter_kdf(key, 1, "l", NULL, 0, out, 32), 0);
}
END_TEST

Suite *soter_suite(void)
{
	Suite *s = suite_create("soter");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_crc32c_check_value);
	tcase_add_test(tc, test_container_crc_of_real_keys);
	tcase_add_test(tc, test_container_rejects);
	tcase_add_test(tc, test_kdf_cell_keys);
	tcase_add_test(tc, test_kdf_session_schedule);
	tcase_add_test(tc, test_kdf_rejects);
	suite_add_tcase(s, tc);
	return s;
}
