/* t/unit/test_httpc.c: the HTTP/1.1 response parser and URL parser of lib/httpc (pure
 * code; the transport is exercised by t/e2e/30-master-key-sources.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lib/httpc.h"

static int parse_str(const char *s, bool eof, struct httpc_response *r)
{
	return httpc_parse_response((const uint8_t *)s, strlen(s), eof, r);
}

static const char *const whole[] = {
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
	"{\"a\":\"xyz\"}",
	"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n7;ext=1\r\n:\"xyz\"}"
	"\r\n0\r\nX-Trailer: 1\r\n\r\n",
};

START_TEST(whole_and_every_split)
{
	const char *msg = whole[_i];
	size_t len = strlen(msg);
	struct httpc_response r;

	ck_assert_int_eq(parse_str(msg, false, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 11);
	ck_assert_str_eq((const char *)r.body, "{\"a\":\"xyz\"}");
	httpc_response_clear(&r);
	httpc_response_clear(&r); /* second clear is a no-op */
	/* Every prefix is incomplete, and truncated at EOF it is an error. */
	for (size_t k = 0; k < len; k++) {
		ck_assert_int_eq(httpc_parse_response((const uint8_t *)msg, k, false, &r),
				 HTTPC_NEED_MORE);
		ck_assert_ptr_null(r.body);
		ck_assert_int_lt(httpc_parse_response((const uint8_t *)msg, k, true, &r), 0);
		ck_assert_ptr_null(r.body);
	}
}
END_TEST

START_TEST(body_until_close)
{
	struct httpc_response r;
	const char *m = "HTTP/1.0 403 Forbidden\r\nContent-Type: application/json\r\n\r\n"
			"{\"errors\":[\"permission denied\"]}";

	ck_assert_int_eq(parse_str(m, false, &r), HTTPC_NEED_MORE);
	ck_assert_int_eq(parse_str(m, true, &r), 0);
	ck_assert_int_eq(r.status, 403);
	ck_assert_str_eq((const char *)r.body, "{\"errors\":[\"permission denied\"]}");
	httpc_response_clear(&r);
}
END_TEST

START_TEST(location_kept)
{
	struct httpc_response r;

	ck_assert_int_eq(parse_str("HTTP/1.1 307 Temporary Redirect\r\nlocation: "
				   "https://10.0.0.2:8200/v1/secret/data/acra \r\n"
				   "Content-Length: 0\r\n\r\n",
				   false, &r),
			 0);
	ck_assert_int_eq(r.status, 307);
	ck_assert_str_eq(r.location, "https://10.0.0.2:8200/v1/secret/data/acra");
	httpc_response_clear(&r);
	ck_assert_ptr_null(r.location);
	ck_assert_int_eq(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, &r), 0);
	ck_assert_ptr_null(r.location);
	httpc_response_clear(&r);
}
END_TEST

START_TEST(no_body_statuses)
{
	struct httpc_response r;

	ck_assert_int_eq(parse_str("HTTP/1.1 204 No Content\r\n\r\n", false, &r), 0);
	ck_assert_int_eq(r.status, 204);
	ck_assert_uint_eq(r.body_len, 0);
	httpc_response_clear(&r);
	ck_assert_int_eq(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, &r), 0);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_str_eq((const char *)r.body, "");
	httpc_response_clear(&r);
}
END_TEST

START_TEST(malformed_refused)
{
	static const char *const bad[] = {
		"<html>hello</html>\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/2 200\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n",
	};
	struct httpc_response r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse_str(bad[i], true, &r) == ACRA_EPROTO, "case %zu", i);
		ck_assert_ptr_null(r.body);
	}
}
END_TEST

START_TEST(oversize_refused)
{
	struct httpc_response r;
	char head[128];
	size_t big = (size_t)HTTPC_MAX_RESPONSE + 10;
	uint8_t *buf;

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", big);
	ck_assert_int_eq(parse_str(head, false, &r), ACRA_ERANGE);
	ck_assert_int_eq(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n"
				   "\r\n",
				   false, &r),
			 ACRA_ERANGE);
	ck_assert_int_eq(parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "ffffffffff\r\n",
				   false, &r),
			 ACRA_ERANGE);
	/* A header section that never ends. */
	buf = malloc(70000);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "HTTP/1.1 200 OK\r\n", 17);
	memset(buf + 17, 'a', 70000 - 17);
	ck_assert_int_eq(httpc_parse_response(buf, 70000, false, &r), ACRA_ERANGE);
	free(buf);
}
END_TEST

START_TEST(urls)
{
	struct httpc_url u;

	ck_assert_int_eq(httpc_url_parse("http://127.0.0.1:8200", &u), 0);
	ck_assert(!u.https);
	ck_assert_str_eq(u.host, "127.0.0.1");
	ck_assert_str_eq(u.port, "8200");
	ck_assert_str_eq(u.prefix, "");
	ck_assert_str_eq(u.hostport, "127.0.0.1:8200");
	ck_assert_int_eq(httpc_url_parse("https://kms.eu-west-1.amazonaws.com/", &u), 0);
	ck_assert(u.https);
	ck_assert_str_eq(u.port, "443");
	ck_assert_str_eq(u.hostport, "kms.eu-west-1.amazonaws.com");
	ck_assert_int_eq(httpc_url_parse("HTTP://[::1]:80/base/", &u), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_str_eq(u.prefix, "/base");
	ck_assert_str_eq(u.hostport, "[::1]");
	static const char *const bad[] = {
		"", "vault:8200", "ftp://x", "http://", "http://:80", "http://h:0",
		"http://h:65536",
		"http://h:8x", "http://user@h", "http://h/?q", "http://[::1", "http://h h/",
		"http://h\r\nX: y/",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(httpc_url_parse(bad[i], &u) == ACRA_EINVAL, "%s", bad[i]);
	ck_assert_int_eq(httpc_url_parse(NULL, &u), ACRA_EINVAL);
}
END_TEST

Suite *httpc_suite(void)
{
	Suite *s = suite_create("httpc");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, whole_and_every_split, 0, (int)(sizeof(whole) / sizeof(whole[0])));
	tcase_add_test(tc, body_until_close);
	tcase_add_test(tc, location_kept);
	tcase_add_test(tc, no_body_statuses);
	tcase_add_test(tc, malformed_refused);
	tcase_add_test(tc, oversize_refused);
	tcase_add_test(tc, urls);
	suite_add_tcase(s, tc);
	return s;
}
