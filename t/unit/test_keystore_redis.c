/* t/unit/test_keystore_redis.c: the pure parts of the Redis keystore backend: Acra's rule
 * for when keys are in Redis, its identical-DB error, refused TLS, redis_host_port parsing,
 * the SCAN pattern of a directory, and the error of an unreachable server. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/keystore/keystore.h"
#include "lib/keystore/redis.h"
#include "t/unit/suites.h"

START_TEST(test_enabled_rule)
{
	struct keystore_redis_opts o = { 0 };

	o.db_keys = 0;
	ck_assert(!keystore_redis_keys_enabled(&o));
	o.host_port = "127.0.0.1:6379";
	ck_assert(keystore_redis_keys_enabled(&o));
	o.db_keys = KEYSTORE_REDIS_DB_UNSET;
	ck_assert(!keystore_redis_keys_enabled(&o));
	o.host_port = "";
	o.db_keys = 3;
	ck_assert(!keystore_redis_keys_enabled(&o));
	ck_assert(!keystore_redis_keys_enabled(NULL));
}
END_TEST

START_TEST(test_check)
{
	struct keystore_redis_opts o = { 0 };
	struct keystore_opts ko = { 0 };

	/* no host: nothing is checked, filesystem */
	o.db_keys = 1;
	o.db_tokens = 1;
	ck_assert_int_eq(keystore_redis_check(&o, true), ACRA_OK);
	ck_assert_int_eq(keystore_redis_opts_from_flags(&o, true, &ko), ACRA_OK);
	ck_assert_ptr_null(ko.redis);

	o.host_port = "localhost:6379";
	ck_assert_int_eq(keystore_redis_check(&o, true), ACRA_EINVAL);
	ck_assert_str_eq(keystore_last_error(),
			 "Identical Redis DB parameters, one of redis_db_tokens or redis_db_keys "
			 "should be provided");
	/* tools without redis_db_tokens do not compare */
	ck_assert_int_eq(keystore_redis_check(&o, false), ACRA_OK);
	/* server defaults: both -1 are identical too (Acra refuses that as well) */
	o.db_keys = -1;
	o.db_tokens = -1;
	ck_assert_int_eq(keystore_redis_check(&o, true), ACRA_EINVAL);
	o.db_tokens = 2;
	ck_assert_int_eq(keystore_redis_check(&o, true), ACRA_OK);
	ck_assert_int_eq(keystore_redis_opts_from_flags(&o, true, &ko), ACRA_OK);
	ck_assert_ptr_null(ko.redis); /* db_keys -1: tokens only */
	o.db_keys = 0;
	ck_assert_int_eq(keystore_redis_opts_from_flags(&o, true, &ko), ACRA_OK);
	ck_assert_ptr_eq(ko.redis, &o);

	o.tls_enable = true; /* accepted: the connection goes through lib/tlstunnel */
	ck_assert_int_eq(keystore_redis_check(&o, false), ACRA_OK);
	o.tls_enable = false;

	o.host_port = "localhost";
	ck_assert_int_eq(keystore_redis_check(&o, false), ACRA_EINVAL);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "redis_host_port"));
}
END_TEST

START_TEST(test_parse_addr)
{
	static const struct {
		const char *in;
		int rc;
		const char *host;
		int port;
	} cases[] = {
		{ "127.0.0.1:6379", ACRA_OK, "127.0.0.1", 6379 },
		{ "redis.example:1", ACRA_OK, "redis.example", 1 },
		{ "[::1]:65535", ACRA_OK, "::1", 65535 },
		{ "localhost:0", ACRA_EINVAL, NULL, 0 },
		{ "localhost:65536", ACRA_EINVAL, NULL, 0 },
		{ "localhost:-1", ACRA_EINVAL, NULL, 0 },
		{ "localhost:63x", ACRA_EINVAL, NULL, 0 },
		{ "localhost:", ACRA_EINVAL, NULL, 0 },
		{ ":6379", ACRA_EINVAL, NULL, 0 },
		{ "localhost", ACRA_EINVAL, NULL, 0 },
		{ "::1:6379", ACRA_EINVAL, NULL, 0 },
		{ "[::1]6379", ACRA_EINVAL, NULL, 0 },
		{ "[]:6379", ACRA_EINVAL, NULL, 0 },
		{ "", ACRA_EINVAL, NULL, 0 },
	};
	char host[16];
	int port;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		port = -5;
		ck_assert_msg(keystore_redis_parse_addr(cases[i].in, host, sizeof(host), &port) ==
				      cases[i].rc,
			      "%s", cases[i].in);
		if (cases[i].rc == ACRA_OK) {
			ck_assert_str_eq(host, cases[i].host);
			ck_assert_int_eq(port, cases[i].port);
		}
	}
	/* a host longer than the buffer */
	ck_assert_int_eq(keystore_redis_parse_addr("a-very-long-host-name:1", host, sizeof(host),
						   &port),
			 ACRA_EINVAL);
}
END_TEST

START_TEST(test_scan_pattern)
{
	char buf[64];

	ck_assert_int_eq(keystore_redis_scan_pattern(".acrakeys/client_storage.old", buf,
						     sizeof(buf)),
			 ACRA_OK);
	ck_assert_str_eq(buf, ".acrakeys/client_storage.old/*");
	ck_assert_int_eq(keystore_redis_scan_pattern("k*s/a?[b]\\c", buf, sizeof(buf)),
			 ACRA_OK);
	ck_assert_str_eq(buf, "k\\*s/a\\?\\[b\\]\\\\c/*");
	ck_assert_int_eq(keystore_redis_scan_pattern("abc", buf, 6), ACRA_OK);
	ck_assert_str_eq(buf, "abc/*");
	ck_assert_int_eq(keystore_redis_scan_pattern("abc", buf, 5), ACRA_ERANGE);
	ck_assert_int_eq(keystore_redis_scan_pattern("ab*", buf, 6), ACRA_ERANGE);
}
END_TEST

/* Nothing listens on port 1 of 127.0.0.1: the open fails at once with a message naming the
 * address, and keystore_open reports the same. */
START_TEST(test_unreachable)
{
	struct keystore_redis_opts o = { 0 };
	struct keystore_storage st = { 0 };
	struct keystore_opts ko = { 0 };
	struct keystore *ks = (struct keystore *)&ko;
	struct timespec t0, t1;

	o.host_port = "127.0.0.1:1";
	o.password = "not-in-messages";
	o.timeout_ms = 500;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(keystore_redis_storage(&st, &o), ACRA_EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_ptr_null(st.ctx);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "127.0.0.1:1"));
	ck_assert_ptr_null(strstr(keystore_last_error(), "not-in-messages"));
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);

	ko.redis = &o;
	ko.cache_size = KEYSTORE_CACHE_OFF;
	ck_assert_int_eq(keystore_open(&ks, &ko), ACRA_EIO);
	ck_assert_ptr_null(ks);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "cannot use Redis at 127.0.0.1:1"));

	o.tls_enable = true; /* TLS to nothing: a clear start-up error naming TLS */
	ck_assert_int_eq(keystore_redis_storage(&st, &o), ACRA_EIO);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "Redis TLS: cannot connect"));
}
END_TEST

Suite *keystore_redis_suite(void)
{
	Suite *s = suite_create("keystore_redis");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_enabled_rule);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_parse_addr);
	tcase_add_test(tc, test_scan_pattern);
	tcase_add_test(tc, test_unreachable);
	suite_add_tcase(s, tc);
	return s;
}
