/* t/unit/test_sigv4.c: SigV4 against known answers published by AWS: the IAM ListUsers
 * walk-through of the General Reference ("Create a canonical request" ... "Calculate the
 * signature", 2015-08-30), the signing-key derivation example (20120215/us-east-1/iam) and
 * the get-vanilla / post-vanilla cases of the aws-sig-v4-test-suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lib/sigv4.h"

#define EX_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static void hexs(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static const struct sigv4_header iam_headers[] = {
	{ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
	{ "Host", "iam.amazonaws.com" },
	{ "X-Amz-Date", "20150830T123600Z" },
};
static const struct sigv4_request iam_req = {
	"GET", "/", "Action=ListUsers&Version=2010-05-08", iam_headers, 3, NULL, 0,
};
static const struct sigv4_scope iam_scope = { "20150830T123600Z", "us-east-1", "iam" };

START_TEST(iam_canonical_request)
{
	char *c = NULL, *sh = NULL, h[65];

	ck_assert_int_eq(sigv4_canonical_request(&iam_req, &c, &sh), 0);
	ck_assert_str_eq(c, "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
			    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
			    "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
			    "content-type;host;x-amz-date\n"
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_str_eq(sh, "content-type;host;x-amz-date");
	sigv4_sha256_hex(c, strlen(c), h);
	ck_assert_str_eq(h, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	free(c);
	free(sh);
}
END_TEST

START_TEST(iam_string_to_sign)
{
	char *c = NULL, *sts = NULL;

	ck_assert_int_eq(sigv4_canonical_request(&iam_req, &c, NULL), 0);
	ck_assert_int_eq(sigv4_string_to_sign(c, &iam_scope, &sts), 0);
	ck_assert_str_eq(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n"
			      "20150830/us-east-1/iam/aws4_request\n"
			      "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	free(c);
	free(sts);
}
END_TEST

START_TEST(signing_keys)
{
	uint8_t k[SIGV4_KEY_LEN];
	char h[65];

	ck_assert_int_eq(sigv4_signing_key((const uint8_t *)EX_SECRET, strlen(EX_SECRET),
					   "20150830", "us-east-1", "iam", k), 0);
	hexs(k, sizeof(k), h);
	ck_assert_str_eq(h, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
	ck_assert_int_eq(sigv4_signing_key((const uint8_t *)EX_SECRET, strlen(EX_SECRET),
					   "20120215", "us-east-1", "iam", k), 0);
	hexs(k, sizeof(k), h);
	ck_assert_str_eq(h, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}
END_TEST

START_TEST(iam_authorization)
{
	char *auth = NULL;

	ck_assert_int_eq(sigv4_authorization(&iam_req, &iam_scope, "AKIDEXAMPLE",
					     (const uint8_t *)EX_SECRET, strlen(EX_SECRET), &auth),
			 0);
	ck_assert_str_eq(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
			       "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
			       "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
	free(auth);
}
END_TEST

/* aws-sig-v4-test-suite get-vanilla and post-vanilla (header order given unsorted). */
START_TEST(suite_vanilla)
{
	static const struct sigv4_header hs[] = {
		{ "X-Amz-Date", "20150830T123600Z" },
		{ "Host", "example.amazonaws.com" },
	};
	static const struct sigv4_scope sc = { "20150830T123600Z", "us-east-1", "service" };
	struct sigv4_request r = { "GET", "/", "", hs, 2, NULL, 0 };
	const char *want_get = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
	const char *want_post = "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b";
	char *auth = NULL;

	ck_assert_int_eq(sigv4_authorization(&r, &sc, "AKIDEXAMPLE", (const uint8_t *)EX_SECRET,
					     strlen(EX_SECRET), &auth), 0);
	ck_assert_ptr_nonnull(strstr(auth, "SignedHeaders=host;x-amz-date, Signature="));
	ck_assert_str_eq(strstr(auth, "Signature=") + 10, want_get);
	free(auth);
	r.method = "POST";
	ck_assert_int_eq(sigv4_authorization(&r, &sc, "AKIDEXAMPLE", (const uint8_t *)EX_SECRET,
					     strlen(EX_SECRET), &auth), 0);
	ck_assert_str_eq(strstr(auth, "Signature=") + 10, want_post);
	free(auth);
}
END_TEST

START_TEST(header_values_trimmed)
{
	static const struct sigv4_header hs[] = {
		{ "My-Header1", "  a   b   c  " },
		{ "host", "h" },
	};
	struct sigv4_request r = { "POST", "/", NULL, hs, 2, (const uint8_t *)"x", 1 };
	char *c = NULL;

	ck_assert_int_eq(sigv4_canonical_request(&r, &c, NULL), 0);
	ck_assert_ptr_nonnull(strstr(c, "\nhost:h\nmy-header1:a b c\n\nhost;my-header1\n"));
	free(c);
}
END_TEST

START_TEST(bad_input_refused)
{
	static const struct sigv4_header dup[] = { { "Host", "a" }, { "host", "b" } };
	static const struct sigv4_header crlf[] = { { "Host", "a\r\nx: y" } };
	struct sigv4_request r = { "GET", "/", "", dup, 2, NULL, 0 };
	struct sigv4_scope bad_date = { "2015-08-30", "us-east-1", "kms" };
	char *c = NULL;

	ck_assert_int_eq(sigv4_canonical_request(&r, &c, NULL), ACRA_EINVAL);
	ck_assert_ptr_null(c);
	r.headers = crlf;
	r.n_headers = 1;
	ck_assert_int_eq(sigv4_canonical_request(&r, &c, NULL), ACRA_EINVAL);
	r.n_headers = 0;
	ck_assert_int_eq(sigv4_canonical_request(&r, &c, NULL), ACRA_EINVAL);
	ck_assert_int_eq(sigv4_string_to_sign("x", &bad_date, &c), ACRA_EINVAL);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(amz_date_format)
{
	char d[SIGV4_DATE_LEN + 1];

	sigv4_amz_date(1440938160, d); /* 2015-08-30T12:36:00Z */
	ck_assert_str_eq(d, "20150830T123600Z");
}
END_TEST

Suite *sigv4_suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc = tcase_create("aws-known-answers");

	tcase_add_test(tc, iam_canonical_request);
	tcase_add_test(tc, iam_string_to_sign);
	tcase_add_test(tc, signing_keys);
	tcase_add_test(tc, iam_authorization);
	tcase_add_test(tc, suite_vanilla);
	tcase_add_test(tc, header_values_trimmed);
	tcase_add_test(tc, bad_input_refused);
	tcase_add_test(tc, amz_date_format);
	suite_add_tcase(s, tc);
	return s;
}
