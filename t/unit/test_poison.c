/* t/unit/test_poison.c: making and detecting poison records (spec/acra-formats.md §4). */
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/envelope.h"
#include "lib/crypto/poison.h"
#include "t/unit/envelope_helpers.h"
#include "t/unit/suites.h"

static struct test_pair poison, client;
static struct secret *psym, *csym;

static void setup(void)
{
	test_pair_new(&poison);
	test_pair_new(&client);
	ck_assert_int_eq(secret_new_random(&psym, 32), 0);
	ck_assert_int_eq(secret_new_random(&csym, 32), 0);
}

static void teardown(void)
{
	test_pair_free(&poison);
	test_pair_free(&client);
	secret_free(psym);
	secret_free(csym);
}

START_TEST(test_data_len)
{
	unsigned lo = 1000, hi = 0;

	ck_assert_uint_eq(poison_data_len(5), 5);
	ck_assert_uint_eq(poison_data_len(1000), 1000);
	for (int i = 0; i < 2000; i++) {
		size_t n = poison_data_len(POISON_DEFAULT_DATA_LEN);

		ck_assert(n >= 1 && n <= 99);
		lo = n < lo ? (unsigned)n : lo;
		hi = n > hi ? (unsigned)n : hi;
	}
	/* 2000 draws of 99 values: both ends show up unless the range is wrong */
	ck_assert_uint_lt(lo, 10);
	ck_assert_uint_gt(hi, 90);
}
END_TEST

START_TEST(test_acrastruct_record)
{
	uint8_t *rec = NULL, scratch[128];
	size_t n = 0;
	const struct ec_priv *only_poison[] = { poison.priv };
	const struct ec_priv *client_only[] = { client.priv };
	const struct ec_priv *rotated[] = { client.priv, poison.priv };

	/* 0.82: a bare AcraStruct */
	ck_assert_int_eq(poison_make(POISON_ACRASTRUCT, poison.pub, NULL, 0, 5, false, &rec, &n), 0);
	ck_assert_uint_eq(n, 5 + 189);
	ck_assert_int_eq(acrastruct_check(rec, n), 0);
	ck_assert_int_eq(poison_check_acrastruct(only_poison, 1, rec, n, scratch, sizeof(scratch)), 1);
	ck_assert_int_eq(poison_check_acrastruct(client_only, 1, rec, n, scratch, sizeof(scratch)), 0);
	ck_assert_int_eq(poison_check_acrastruct(rotated, 2, rec, n, scratch, sizeof(scratch)), 1);
	ck_assert_int_eq(poison_check_acrastruct(only_poison, 1, rec, n, scratch, 4), ACRA_ERANGE);
	ck_assert_int_eq(poison_check_acrastruct(only_poison, 1, rec, n - 1, scratch,
						 sizeof(scratch)),
			 ACRA_EPROTO);
	rec[n - 1] ^= 1; /* tampered data is not a poison record */
	ck_assert_int_eq(poison_check_acrastruct(only_poison, 1, rec, n, scratch, sizeof(scratch)), 0);
	free(rec);

	/* 0.96 default: serialized, random length */
	ck_assert_int_eq(poison_make(POISON_ACRASTRUCT, poison.pub, NULL, 0, POISON_DEFAULT_DATA_LEN,
				     true, &rec, &n),
			 0);
	ck_assert(n >= 12 + 189 + 1 && n <= 12 + 189 + 99);
	ck_assert_int_eq(memcmp(rec, "%%%", 3), 0);
	ck_assert_uint_eq(rec[11], 0xF1);
	ck_assert(rd_le64(rec + 3) == n);
	ck_assert_int_eq(poison_check_acrastruct(only_poison, 1, rec + 12, n - 12, scratch,
						 sizeof(scratch)),
			 1);
	free(rec);
	ck_assert_int_eq(poison_make(POISON_ACRASTRUCT, NULL, NULL, 0, 5, false, &rec, &n),
			 ACRA_EINVAL);
	ck_assert_ptr_null(rec);
}
END_TEST

START_TEST(test_acrablock_record)
{
	uint8_t *rec = NULL, scratch[128];
	size_t n = 0;
	const struct secret *only_poison[] = { psym };
	const struct secret *client_only[] = { csym };
	const struct secret *rotated[] = { csym, psym };

	ck_assert_int_eq(poison_make(POISON_ACRABLOCK, NULL, psym->p, psym->len, 7, true, &rec, &n),
			 0);
	ck_assert_uint_eq(n, 12 + 138 + 7);
	ck_assert_uint_eq(rec[11], 0xF0);
	ck_assert_int_eq(acrablock_check(rec + 12, n - 12), 0);
	ck_assert_int_eq(poison_check_acrablock(only_poison, 1, rec + 12, n - 12, scratch,
						sizeof(scratch)),
			 1);
	ck_assert_int_eq(poison_check_acrablock(client_only, 1, rec + 12, n - 12, scratch,
						sizeof(scratch)),
			 0);
	ck_assert_int_eq(poison_check_acrablock(rotated, 2, rec + 12, n - 12, scratch,
						sizeof(scratch)),
			 1);
	ck_assert_int_eq(poison_check_acrablock(only_poison, 1, rec, n, scratch, sizeof(scratch)),
			 ACRA_EPROTO);
	free(rec);
	ck_assert_int_eq(poison_make(POISON_ACRABLOCK, NULL, NULL, 0, 5, false, &rec, &n),
			 ACRA_EINVAL);
}
END_TEST

Suite *poison_suite(void)
{
	Suite *s = suite_create("poison");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_data_len);
	tcase_add_test(tc, test_acrastruct_record);
	tcase_add_test(tc, test_acrablock_record);
	suite_add_tcase(s, tc);
	return s;
}
