/* t/unit/test_zone.c: zone ids and the zone-mode matcher (spec/acra-formats.md §2.1, §2.4). */
#include <string.h>

#include "lib/crypto/zone.h"
#include "t/unit/suites.h"

START_TEST(test_generate_format)
{
	char id[ZONE_ID_LEN + 1], prev[ZONE_ID_LEN + 1] = "";
	unsigned seen_upper = 0, seen_lower = 0;

	for (int i = 0; i < 200; i++) {
		zone_id_generate(id);
		ck_assert_uint_eq(strlen(id), 24);
		ck_assert_int_eq(memcmp(id, "DDDDDDDD", 8), 0);
		ck_assert(zone_id_is_valid((const uint8_t *)id, 24));
		for (int j = 8; j < 24; j++) {
			seen_upper += id[j] >= 'A' && id[j] <= 'Z';
			seen_lower += id[j] >= 'a' && id[j] <= 'z';
		}
		ck_assert_str_ne(id, prev); /* 52^16 ids: a repeat means a broken generator */
		memcpy(prev, id, sizeof(id));
	}
	ck_assert_uint_gt(seen_upper, 0);
	ck_assert_uint_gt(seen_lower, 0);
}
END_TEST

START_TEST(test_validate)
{
	static const struct {
		const char *id;
		bool valid, candidate;
	} cases[] = {
		{ "DDDDDDDDqMvNkZtHsPQwLaXc", true, true },
		{ "DDDDDDDDqMvNkZtHsPQwLaX1", false, true }, /* digit */
		{ "DDDDDDDDqMvNkZtHsPQwLaX", false, false }, /* 23 bytes */
		{ "DDDDDDDDqMvNkZtHsPQwLaXcY", false, true }, /* 25: a candidate prefix */
		{ "DDDDDDDdqMvNkZtHsPQwLaXc", false, false }, /* tag */
		{ "EDDDDDDDqMvNkZtHsPQwLaXc", false, false },
		{ "DDDDDDDDqMvNkZtH PQwLaXc", false, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *p = (const uint8_t *)cases[i].id;
		size_t n = strlen(cases[i].id);

		ck_assert_msg(zone_id_is_valid(p, n) == cases[i].valid, "%s", cases[i].id);
		ck_assert_msg(zone_id_is_candidate(p, n) == cases[i].candidate, "%s", cases[i].id);
	}
	ck_assert(!zone_id_is_candidate(NULL, 0));
}
END_TEST

struct known {
	const char *id;
	int asked;
};

static bool exists(void *ctx, const uint8_t id[ZONE_ID_LEN])
{
	struct known *k = ctx;

	k->asked++;
	return memcmp(id, k->id, ZONE_ID_LEN) == 0;
}

START_TEST(test_matcher)
{
	struct known k = { "DDDDDDDDqMvNkZtHsPQwLaXc", 0 };
	struct zone_matcher m;
	const char *other = "DDDDDDDDaaaaaaaaaaaaaaaa";
	const char *col = "DDDDDDDDqMvNkZtHsPQwLaXc and more";

	zone_matcher_reset(&m);
	ck_assert(!m.matched);
	/* not a candidate: the keystore is not asked */
	ck_assert(!zone_matcher_feed(&m, (const uint8_t *)"plain value", 11, exists, &k));
	ck_assert_int_eq(k.asked, 0);
	/* candidate without a key */
	ck_assert(!zone_matcher_feed(&m, (const uint8_t *)other, 24, exists, &k));
	ck_assert_int_eq(k.asked, 1);
	/* a column starting with a known zone id (bytes after it are allowed) */
	ck_assert(zone_matcher_feed(&m, (const uint8_t *)col, strlen(col), exists, &k));
	ck_assert(m.matched);
	ck_assert_int_eq(memcmp(m.id, k.id, 24), 0);
	/* stays matched until the row ends */
	ck_assert(zone_matcher_feed(&m, (const uint8_t *)"x", 1, exists, &k));
	ck_assert_int_eq(k.asked, 2);
	zone_matcher_reset(&m);
	ck_assert(!m.matched);
}
END_TEST

Suite *zone_suite(void)
{
	Suite *s = suite_create("zone");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_generate_format);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_matcher);
	suite_add_tcase(s, tc);
	return s;
}
