/* t/unit/test_tokenize.c: token formats, data ids, searchable hash blocks, certificate client
 * ids (lib/tokenize.h) and the token store file (lib/tokenstore.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "lib/certid.h"
#include "lib/crypto/sym.h"
#include "lib/tokenize.h"
#include "lib/tokenstore.h"
#include "t/unit/suites.h"

START_TEST(test_str_token_format)
{
	const uint8_t val[] = "some secret value";
	size_t n = sizeof(val) - 1;
	uint8_t tok[64];

	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(token_generate(TOKEN_STR, val, n, tok, sizeof(tok)), ACRA_OK);
		for (size_t j = 0; j < n; j++)
			ck_assert(isalnum(tok[j]));
		ck_assert(memcmp(tok, val, n) != 0);
	}
	ck_assert_int_eq(token_generate(TOKEN_STR, val, 0, tok, sizeof(tok)), ACRA_EINVAL);
	ck_assert_int_eq(token_generate(TOKEN_STR, val, n, tok, 3), ACRA_ERANGE);
}
END_TEST

static bool ends_with_tld(const uint8_t *p, size_t n, bool short_only)
{
	static const char *const all[] = { ".com", ".net", ".org", ".edu", ".info", ".au",
					   ".br", ".de", ".jp", ".et", ".us" };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		size_t tl = strlen(all[i]);

		if (short_only && tl != 3)
			continue;
		if (n > tl && memcmp(p + n - tl, all[i], tl) == 0)
			return true;
	}
	return false;
}

START_TEST(test_email_token_format)
{
	const char *vals[] = { "john@example.com", "a@b.de", "x@yy.org", "abcde" };
	uint8_t tok[64];

	for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
		size_t n = strlen(vals[v]);

		for (int i = 0; i < 50; i++) {
			size_t tl, at = 0, n_at = 0;

			ck_assert_int_eq(token_generate(TOKEN_EMAIL, (const uint8_t *)vals[v], n,
							tok, sizeof(tok)),
					 ACRA_OK);
			ck_assert(ends_with_tld(tok, n, n < 8));
			tl = (size_t)((const uint8_t *)memchr(tok + 1, '.', n - 1) != NULL ?
					      n - (size_t)((uint8_t *)memrchr(tok, '.', n) - tok) :
					      0);
			for (size_t j = 0; j < n; j++)
				if (tok[j] == '@') {
					at = j;
					n_at++;
				}
			ck_assert_uint_eq(n_at, 1);
			ck_assert_uint_eq(at, (n - tl) / 2);
		}
	}
	ck_assert_int_eq(token_generate(TOKEN_EMAIL, (const uint8_t *)"a@b", 3, tok, sizeof(tok)),
			 ACRA_EINVAL);
}
END_TEST

START_TEST(test_int_token_lengths)
{
	uint8_t v4[4] = { 1, 2, 3, 4 }, v8[8] = { 0 }, tok[8];

	ck_assert_int_eq(token_generate(TOKEN_INT32, v4, 4, tok, 8), ACRA_OK);
	ck_assert_int_eq(token_generate(TOKEN_INT64, v8, 8, tok, 8), ACRA_OK);
	ck_assert_int_eq(token_generate(TOKEN_INT32, v8, 8, tok, 8), ACRA_EINVAL);
	ck_assert_int_eq(token_generate(TOKEN_INT64, v4, 4, tok, 8), ACRA_EINVAL);
	ck_assert_int_eq(token_generate(TOKEN_BYTES, v4, 4, tok, 8), ACRA_OK);
	ck_assert_int_eq(token_generate((enum token_type)9, v4, 4, tok, 8), ACRA_EINVAL);
	ck_assert(!token_type_is_valid(0) && !token_type_is_valid(6) && token_type_is_valid(5));
	ck_assert_str_eq(token_type_name(TOKEN_EMAIL), "email");
}
END_TEST

START_TEST(test_data_id_layout)
{
	/* SHA-256(D || value || "client" || cid || D || "3"), computed here independently */
	const char *d = "tokenizator hash delimiter";
	char msg[256];
	uint8_t want[32], got[32], other[32];
	int n = snprintf(msg, sizeof(msg), "%s%s%s%s%s%s", d, "value", "client", "client1", d, "3");

	crypto_hash_sha256(want, (const uint8_t *)msg, (size_t)n);
	token_data_id((const uint8_t *)"value", 5, false, (const uint8_t *)"client1", 7, TOKEN_STR,
		      got);
	ck_assert_int_eq(memcmp(want, got, 32), 0);
	token_data_id((const uint8_t *)"value", 5, true, (const uint8_t *)"client1", 7, TOKEN_STR,
		      other);
	ck_assert_int_ne(memcmp(got, other, 32), 0);
	token_data_id((const uint8_t *)"value", 5, false, (const uint8_t *)"client1", 7,
		      TOKEN_EMAIL, other);
	ck_assert_int_ne(memcmp(got, other, 32), 0);
}
END_TEST

START_TEST(test_search_hash_layout)
{
	uint8_t key[32], h[SEARCH_HASH_LEN], mac[32], stored[SEARCH_HASH_LEN + 5];
	const uint8_t *hp, *rest;
	size_t rest_len;

	randombytes_buf(key, sizeof(key));
	ck_assert_int_eq(search_hash(key, 32, (const uint8_t *)"abc", 3, h), ACRA_OK);
	crypto_auth_hmacsha256(mac, (const uint8_t *)"abc", 3, key);
	ck_assert_uint_eq(h[0], 0x7F);
	ck_assert_int_eq(memcmp(h + 1, mac, 32), 0);
	memcpy(stored, h, SEARCH_HASH_LEN);
	memcpy(stored + SEARCH_HASH_LEN, "xxxxx", 5);
	ck_assert_int_eq(search_split(stored, sizeof(stored), &hp, &rest, &rest_len), ACRA_OK);
	ck_assert_ptr_eq(hp, stored);
	ck_assert_uint_eq(rest_len, 5);
	ck_assert_int_eq(search_split(stored, SEARCH_HASH_LEN, &hp, &rest, &rest_len), ACRA_EPROTO);
	stored[0] = 0x7E;
	ck_assert_int_eq(search_split(stored, sizeof(stored), &hp, &rest, &rest_len), ACRA_EPROTO);
}
END_TEST

START_TEST(test_cert_client_id)
{
	char id[CERT_CLIENT_ID_LEN + 1];
	uint8_t h[64];
	char want[129];

	crypto_hash_sha512(h, (const uint8_t *)"CN=client,O=Org,C=GB", 20);
	sodium_bin2hex(want, sizeof(want), h, sizeof(h));
	cert_client_id((const uint8_t *)"CN=client,O=Org,C=GB", 20, id);
	ck_assert_uint_eq(strlen(id), 128);
	ck_assert_str_eq(id, want);
	for (size_t i = 0; i < 128; i++)
		ck_assert(isdigit((unsigned char)id[i]) || (id[i] >= 'a' && id[i] <= 'f'));
}
END_TEST

START_TEST(test_tokenstore_file)
{
	char path[] = "/tmp/acra-tokens-XXXXXX";
	int fd = mkstemp(path);
	struct tokenstore *ts;
	uint8_t id1[32], id2[32];
	struct bytes v;
	char err[256];
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	memset(id1, 1, 32);
	memset(id2, 2, 32);
	ck_assert_int_eq(tokenstore_open(&ts, path, err, sizeof(err)), ACRA_OK);
	ck_assert_int_eq(tokenstore_put(ts, 't', NULL, id1, (const uint8_t *)"one", 3), ACRA_OK);
	ck_assert_int_eq(tokenstore_put(ts, 'h', NULL, id1, (const uint8_t *)"two", 3), ACRA_OK);
	ck_assert_int_eq(tokenstore_put(ts, 't', NULL, id1, (const uint8_t *)"three", 5), ACRA_OK);
	ck_assert_int_eq(tokenstore_get(ts, 't', NULL, id2, &v), ACRA_ENOKEY);
	tokenstore_free(ts);
	/* a torn record at the end is cut off */
	f = fopen(path, "ab");
	ck_assert_ptr_nonnull(f);
	fwrite("t\x02\x02", 1, 3, f);
	fclose(f);
	ck_assert_int_eq(tokenstore_open(&ts, path, err, sizeof(err)), ACRA_OK);
	ck_assert_uint_eq(tokenstore_count(ts), 2);
	ck_assert_int_eq(tokenstore_get(ts, 't', NULL, id1, &v), ACRA_OK);
	ck_assert_uint_eq(v.len, 5);
	ck_assert_int_eq(memcmp(v.p, "three", 5), 0);
	ck_assert_int_eq(tokenstore_get(ts, 'h', NULL, id1, &v), ACRA_OK);
	ck_assert_int_eq(memcmp(v.p, "two", 3), 0);
	ck_assert_int_eq(tokenstore_put(ts, 'h', NULL, id2, (const uint8_t *)"four", 4), ACRA_OK);
	tokenstore_free(ts);
	ck_assert_int_eq(tokenstore_open(&ts, path, err, sizeof(err)), ACRA_OK);
	ck_assert_uint_eq(tokenstore_count(ts), 3);
	ck_assert_int_eq(tokenstore_get(ts, 'h', NULL, id2, &v), ACRA_OK);
	ck_assert_int_eq(memcmp(v.p, "four", 4), 0);
	tokenstore_free(ts);
	/* not a token file */
	f = fopen(path, "wb");
	fputs("something else entirely\n", f);
	fclose(f);
	ck_assert_int_eq(tokenstore_open(&ts, path, err, sizeof(err)), ACRA_EPROTO);
	unlink(path);
}
END_TEST

START_TEST(test_tokenstore_many)
{
	struct tokenstore *ts;
	char err[64];
	uint8_t id[32];
	struct bytes v;

	ck_assert_int_eq(tokenstore_open(&ts, NULL, err, sizeof(err)), ACRA_OK);
	for (uint32_t i = 0; i < 5000; i++) {
		crypto_hash_sha256(id, (const uint8_t *)&i, sizeof(i));
		ck_assert_int_eq(tokenstore_put(ts, 't', NULL, id, (const uint8_t *)&i, sizeof(i)),
				 ACRA_OK);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t got;

		crypto_hash_sha256(id, (const uint8_t *)&i, sizeof(i));
		ck_assert_int_eq(tokenstore_get(ts, 't', NULL, id, &v), ACRA_OK);
		memcpy(&got, v.p, 4);
		ck_assert_uint_eq(got, i);
		ck_assert_int_eq(tokenstore_get(ts, 'h', NULL, id, &v), ACRA_ENOKEY);
	}
	tokenstore_free(ts);
}
END_TEST

static void add(X509_NAME *n, const char *field, const char *val)
{
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
						    (const unsigned char *)val, -1, -1, 0),
			 1);
}

START_TEST(test_dn_render_go_order)
{
	X509_NAME *n = X509_NAME_new();
	char out[512];

	/* certificate order C, O, OU, OU, CN, CN, emailAddress: Go prints the named types
	 * most specific first, several OUs joined with '+', only the last CN, and other types
	 * last as OID=#DER (an '@' makes Go marshal a UTF8String, tag 0x0c) */
	add(n, "C", "GB");
	add(n, "O", " Org");
	add(n, "OU", "a");
	add(n, "OU", "b+c");
	add(n, "CN", "first");
	add(n, "CN", "client");
	add(n, "emailAddress", "x@y.z");
	ck_assert_int_eq(certid_render_dn(n, out, sizeof(out)), ACRA_OK);
	ck_assert_str_eq(out, "CN=client,OU=a+OU=b\\+c,O=\\ Org,C=GB,"
			      "1.2.840.113549.1.9.1=#0c057840792e7a");
	ck_assert_int_eq(certid_render_dn(n, out, 10), ACRA_ERANGE);
	X509_NAME_free(n);
	n = X509_NAME_new();
	add(n, "CN", "#hash;semi");
	add(n, "L", "Town ");
	add(n, "ST", "State");
	add(n, "street", "Main St");
	add(n, "postalCode", "12345");
	add(n, "serialNumber", "SN1");
	add(n, "DC", "example");
	ck_assert_int_eq(certid_render_dn(n, out, sizeof(out)), ACRA_OK);
	ck_assert_str_eq(out, "SERIALNUMBER=SN1,CN=\\#hash\\;semi,POSTALCODE=12345,"
			      "STREET=Main St,L=Town\\ ,ST=State,"
			      "0.9.2342.19200300.100.1.25=#13076578616d706c65");
	X509_NAME_free(n);
}
END_TEST

START_TEST(test_cert_client_id_from_x509)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();
	const uint8_t serial[] = { 0x01, 0x02 };
	char id[CERT_CLIENT_ID_LEN + 1], want[CERT_CLIENT_ID_LEN + 1];

	ck_assert_ptr_nonnull(x);
	add(n, "CN", "client");
	add(n, "O", "Org");
	add(n, "C", "GB");
	ck_assert_int_eq(X509_set_subject_name(x, n), 1);
	ck_assert_ptr_nonnull(BN_bin2bn(serial, 2, bn));
	ck_assert_ptr_nonnull(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	ck_assert(certid_cert_usable(x));
	ck_assert_int_eq(certid_client_id(x, CERTID_DISTINGUISHED_NAME, id), ACRA_OK);
	cert_client_id((const uint8_t *)"CN=client,O=Org,C=GB", 20, want);
	ck_assert_str_eq(id, want);
	ck_assert_int_eq(certid_client_id(x, CERTID_SERIAL_NUMBER, id), ACRA_OK);
	cert_client_id(serial, 2, want);
	ck_assert_str_eq(id, want);
	BN_free(bn);
	X509_NAME_free(n);
	X509_free(x);
}
END_TEST

/* Acra's protobuf records: bytes checked by hand against the protobuf wire format. */
START_TEST(test_token_records)
{
	static const uint8_t want_rec[] = { 0x0a, 0x03, 'a', 'b', 'c', 0x10, 0x96, 0x01, 0x18,
					    0x96, 0x01 };
	static const uint8_t disabled[] = { 0x0a, 0x01, 'x', 0x20, 0x01 };
	static const uint8_t want_val[] = { 0x0a, 0x02, 'x', 'y', 0x10, 0x03 };
	uint8_t *out = NULL;
	size_t n = 0;
	const uint8_t *d;
	size_t dl;
	enum token_type t;

	ck_assert_int_eq(token_record_wrap((const uint8_t *)"abc", 3, 150, &out, &n), ACRA_OK);
	ck_assert_uint_eq(n, sizeof(want_rec));
	ck_assert_mem_eq(out, want_rec, n);
	ck_assert_int_eq(token_record_unwrap(out, n, &d, &dl), ACRA_OK);
	ck_assert_uint_eq(dl, 3);
	ck_assert_mem_eq(d, "abc", 3);
	for (size_t cut = 0; cut < n; cut++)
		if (cut != 5 && cut != 8) /* cuts after whole fields stay valid */
			ck_assert_int_eq(token_record_unwrap(out, cut, &d, &dl), ACRA_EPROTO);
	free(out);
	ck_assert_int_eq(token_record_unwrap(disabled, sizeof(disabled), &d, &dl), ACRA_EPERM);
	ck_assert_int_eq(token_value_encode(TOKEN_STR, (const uint8_t *)"xy", 2, &out, &n),
			 ACRA_OK);
	ck_assert_uint_eq(n, sizeof(want_val));
	ck_assert_mem_eq(out, want_val, n);
	ck_assert_int_eq(token_value_decode(out, n, &t, &d, &dl), ACRA_OK);
	ck_assert_int_eq(t, TOKEN_STR);
	ck_assert_uint_eq(dl, 2);
	ck_assert_mem_eq(d, "xy", 2);
	free(out);
	/* a length running past the end, a field number 0, a fixed64 field */
	ck_assert_int_eq(token_value_decode((const uint8_t *)"\x0a\x05xy", 4, &t, &d, &dl),
			 ACRA_EPROTO);
	ck_assert_int_eq(token_value_decode((const uint8_t *)"\x02\x00", 2, &t, &d, &dl),
			 ACRA_EPROTO);
	ck_assert_int_eq(token_value_decode((const uint8_t *)"\x11\x00\x00\x00\x00\x00\x00\x00\x00",
					    9, &t, &d, &dl),
			 ACRA_EPROTO);
}
END_TEST

START_TEST(test_tokenstore_put_new)
{
	struct tokenstore *ts;
	uint8_t id[TOKENSTORE_ID_LEN] = { 7 };
	struct bytes v;
	char err[128];

	ck_assert_int_eq(tokenstore_open(&ts, NULL, err, sizeof(err)), ACRA_OK);
	ck_assert(!tokenstore_is_shared(ts));
	ck_assert_int_eq(tokenstore_put_new(ts, 'h', NULL, id, (const uint8_t *)"one", 3), ACRA_OK);
	ck_assert_int_eq(tokenstore_put_new(ts, 'h', NULL, id, (const uint8_t *)"two", 3),
			 ACRA_EEXIST);
	ck_assert_int_eq(tokenstore_get(ts, 'h', NULL, id, &v), ACRA_OK);
	ck_assert_mem_eq(v.p, "one", 3);
	ck_assert_int_eq(tokenstore_put_new(ts, 't', NULL, id, (const uint8_t *)"t", 1), ACRA_OK);
	tokenstore_free(ts);
}
END_TEST

Suite *tokenize_suite(void)
{
	Suite *s = suite_create("tokenize");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_str_token_format);
	tcase_add_test(tc, test_email_token_format);
	tcase_add_test(tc, test_int_token_lengths);
	tcase_add_test(tc, test_data_id_layout);
	tcase_add_test(tc, test_search_hash_layout);
	tcase_add_test(tc, test_cert_client_id);
	tcase_add_test(tc, test_tokenstore_file);
	tcase_add_test(tc, test_tokenstore_many);
	tcase_add_test(tc, test_token_records);
	tcase_add_test(tc, test_tokenstore_put_new);
	tcase_add_test(tc, test_dn_render_go_order);
	tcase_add_test(tc, test_cert_client_id_from_x509);
	suite_add_tcase(s, tc);
	return s;
}
