/* t/unit/test_sym.c: AES-GCM, AES-CTR, HMAC-SHA256 and PBKDF2 against published vectors
 * (GCM specification test cases 13-15, RFC 4231, RFC 7914 §11 PBKDF2-SHA256). */
#include <string.h>

#include "lib/crypto/sym.h"
#include "t/unit/crypto_vectors.h"
#include "t/unit/suites.h"

static void ck_hex(const uint8_t *got, const char *want_hex)
{
	size_t n;
	uint8_t *w = unhex(want_hex, &n);

	ck_assert_int_eq(memcmp(got, w, n), 0);
	free(w);
}

/* GCM spec test case 15 (AES-256, 64-byte plaintext), split into segments of every size. */
START_TEST(test_gcm_vector_segments)
{
	size_t kn, pn, ivn;
	uint8_t *key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
			     &kn);
	uint8_t *iv = unhex("cafebabefacedbaddecaf888", &ivn);
	uint8_t *pt = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
			    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
			    &pn);
	static const char ct_hex[] =
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
	uint8_t ct[64], back[64], tag[16];

	for (size_t cut = 0; cut <= pn; cut += 7) {
		struct sym_seg seg[2] = { { pt, ct, cut }, { pt + cut, ct + cut, pn - cut } };
		struct sym_seg dseg[2] = { { ct, back, cut }, { ct + cut, back + cut, pn - cut } };

		ck_assert_int_eq(sym_gcm_encrypt(key, kn, iv, NULL, 0, seg, 2, tag), 0);
		ck_hex(ct, ct_hex);
		ck_hex(tag, "b094dac5d93471bdec1a502270e3cc6c");
		ck_assert_int_eq(sym_gcm_decrypt(key, kn, iv, NULL, 0, dseg, 2, tag), 0);
		ck_assert_int_eq(memcmp(back, pt, pn), 0);
		tag[15] ^= 1;
		ck_assert_int_eq(sym_gcm_decrypt(key, kn, iv, NULL, 0, dseg, 2, tag), ACRA_ECRYPTO);
		for (size_t i = 0; i < pn; i++) /* no plaintext left behind */
			ck_assert_uint_eq(back[i], 0);
	}
	ck_assert_int_eq(sym_gcm_encrypt(key, 31, iv, NULL, 0, NULL, 0, tag), ACRA_EINVAL);
	free(key);
	free(iv);
	free(pt);
}
END_TEST

/* GCM spec test cases 13 and 14 (zero key and IV), through the single-buffer helpers. */
START_TEST(test_gcm_zero_vectors)
{
	uint8_t key[32] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 }, ct[16], tag[16];

	ck_assert_int_eq(sym_gcm_seal(key, iv, NULL, 0, pt, 0, ct, tag), 0);
	ck_hex(tag, "530f8afbc74536b9a963b4f1c4cb738b");
	ck_assert_int_eq(sym_gcm_seal(key, iv, NULL, 0, pt, 16, ct, tag), 0);
	ck_hex(ct, "cea7403d4d606b6e074ec5d3baf39d18");
	ck_hex(tag, "d0d1c8a799996bf0265b98b5d48ab919");
	ck_assert_int_eq(sym_gcm_open(key, iv, NULL, 0, ct, 16, pt, tag), 0);
	/* the AAD is authenticated */
	ck_assert_int_eq(sym_gcm_open(key, iv, (const uint8_t *)"a", 1, ct, 16, pt, tag),
			 ACRA_ECRYPTO);
}
END_TEST

START_TEST(test_hmac_rfc4231)
{
	uint8_t key[131], out[32];
	const uint8_t *msg6 = (const uint8_t *)"Test Using Larger Than Block-Size Key - Hash Key First";
	struct bytes p2[2] = { { (const uint8_t *)"what do ya want ", 16 },
			       { (const uint8_t *)"for nothing?", 12 } };
	struct bytes p6 = { msg6, strlen((const char *)msg6) };

	/* test case 2, message in two parts */
	ck_assert_int_eq(sym_hmac_sha256((const uint8_t *)"Jefe", 4, p2, 2, out), 0);
	ck_hex(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* test case 6: a 131-byte key is hashed first */
	memset(key, 0xaa, sizeof(key));
	ck_assert_int_eq(sym_hmac_sha256(key, sizeof(key), &p6, 1, out), 0);
	ck_hex(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* an empty key is valid HMAC input */
	ck_assert_int_eq(sym_hmac_sha256(NULL, 0, NULL, 0, out), 0);
	ck_hex(out, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}
END_TEST

START_TEST(test_pbkdf2_and_ctr)
{
	uint8_t out[64], key[32], iv[16], ct[20], back[20];

	/* RFC 7914 §11 */
	ck_assert_int_eq(sym_pbkdf2_sha256((const uint8_t *)"passwd", 6, (const uint8_t *)"salt", 4,
					   1, out, 64), 0);
	ck_hex(out, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
		    "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
	ck_assert_int_eq(sym_pbkdf2_sha256((const uint8_t *)"p", 1, NULL, 0, 0, out, 32),
			 ACRA_EINVAL);
	/* CTR is its own inverse and uses the whole 16-byte counter block */
	memset(key, 7, sizeof(key));
	memset(iv, 0xff, sizeof(iv));
	ck_assert_int_eq(sym_aes256_ctr(key, iv, (const uint8_t *)"twenty bytes of text", 20, ct), 0);
	ck_assert_int_eq(sym_aes256_ctr(key, iv, ct, 20, back), 0);
	ck_assert_int_eq(memcmp(back, "twenty bytes of text", 20), 0);
	ck_assert(sym_equal(back, (const uint8_t *)"twenty", 6));
	ck_assert(!sym_equal(back, (const uint8_t *)"twentY", 6));
}
END_TEST

Suite *sym_suite(void)
{
	Suite *s = suite_create("sym");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_gcm_vector_segments);
	tcase_add_test(tc, test_gcm_zero_vectors);
	tcase_add_test(tc, test_hmac_rfc4231);
	tcase_add_test(tc, test_pbkdf2_and_ctr);
	suite_add_tcase(s, tc);
	return s;
}
