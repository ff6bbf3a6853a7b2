/* t/unit/test_ec.c: REC2/UEC2 containers, ECDH and ECDSA against wasm-themis key pairs
 * (spec/themis.md §1.3-§1.5, §3.2, §3.3, §4.6b). */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/soter.h"
#include "t/unit/crypto_vectors.h"
#include "t/unit/suites.h"

static struct ec_priv *load_priv(const char *hex)
{
	size_t n;
	uint8_t *b = unhex(hex, &n);
	struct ec_priv *k = NULL;

	ck_assert_int_eq(ec_priv_load(&k, b, n), 0);
	free(b);
	return k;
}

static struct ec_pub *load_pub(const char *hex)
{
	size_t n;
	uint8_t *b = unhex(hex, &n);
	struct ec_pub *k = NULL;

	ck_assert_int_eq(ec_pub_load(&k, b, n), 0);
	free(b);
	return k;
}

static void ck_hex_eq(const uint8_t *got, const char *want_hex)
{
	size_t n;
	uint8_t *w = unhex(want_hex, &n);

	ck_assert_int_eq(memcmp(got, w, n), 0);
	free(w);
}

/* Public half of private key A is public key A; ECDH(A, B) == ECDH(B, A) == the spec's S. */
START_TEST(test_pair_a_and_ecdh)
{
	struct ec_priv *a = load_priv(VEC_PRIV_A), *b = load_priv(VEC_PRIV_B);
	struct ec_pub *pa = load_pub(VEC_PUB_A), *pb = load_pub(VEC_PUB_B);
	uint8_t pub[EC_PUB_LEN], s1[32], s2[32];

	ck_assert_int_eq(ec_priv_public(a, pub), 0);
	ck_hex_eq(pub, VEC_PUB_A);
	ck_assert_int_eq(ec_pub_export(pb, pub), 0);
	ck_hex_eq(pub, VEC_PUB_B);
	ck_assert_int_eq(ec_derive(a, pb, s1), 0);
	ck_assert_int_eq(ec_derive(b, pa, s2), 0);
	ck_hex_eq(s1, VEC_ECDH_AB);
	ck_hex_eq(s2, VEC_ECDH_AB);
	ec_priv_free(a);
	ec_priv_free(b);
	ec_pub_free(pa);
	ec_pub_free(pb);
}
END_TEST

/* §4.6b: scalar 0x11..11 gives E_C, and ECDH with E_S gives Z. Built as a 32-byte payload
 * ("NG" format) to cover that import path too. */
START_TEST(test_session_vector_32_byte_payload)
{
	uint8_t c[44], pub[EC_PUB_LEN], z[32];
	struct ec_priv *k = NULL;
	struct ec_pub *es = load_pub(VEC_SS_ES);

	memset(c + 12, 0x11, 32);
	soter_container_seal(c, "REC2", sizeof(c));
	ck_assert_int_eq(ec_priv_load(&k, c, sizeof(c)), 0);
	ck_assert_int_eq(ec_priv_public(k, pub), 0);
	ck_hex_eq(pub, VEC_SS_EC);
	ck_assert_int_eq(ec_derive(k, es, z), 0);
	ck_hex_eq(z, VEC_SS_Z);
	ec_priv_free(k);
	ec_pub_free(es);
}
END_TEST

START_TEST(test_uncompressed_public_import)
{
	size_t n;
	uint8_t *a = unhex(VEC_PUB_A, &n), c[77], pub[EC_PUB_LEN];
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *p = EC_POINT_new(g);
	struct ec_pub *k = NULL;
	struct ec_priv *b = load_priv(VEC_PRIV_B);
	uint8_t s[32];

	ck_assert_int_eq(EC_POINT_oct2point(g, p, a + 12, 33, NULL), 1);
	ck_assert_uint_eq(EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, c + 12, 65, NULL),
			  65);
	soter_container_seal(c, "UEC2", sizeof(c));
	ck_assert_int_eq(ec_pub_load(&k, c, sizeof(c)), 0);
	ck_assert_int_eq(ec_pub_export(k, pub), 0);
	ck_assert_int_eq(memcmp(pub, a, EC_PUB_LEN), 0); /* exported compressed */
	ck_assert_int_eq(ec_derive(b, k, s), 0);
	ck_hex_eq(s, VEC_ECDH_AB);
	/* the same point in hybrid form (06/07) is not accepted */
	c[12] = 6 | (c[12 + 64] & 1);
	soter_container_seal(c, "UEC2", sizeof(c));
	ck_assert_int_eq(ec_pub_load(&k, c, sizeof(c)), ACRA_EPROTO);
	/* off-curve: change y */
	c[12] = 4;
	c[76] ^= 1;
	soter_container_seal(c, "UEC2", sizeof(c));
	ck_assert_int_eq(ec_pub_load(&k, c, sizeof(c)), ACRA_EPROTO);
	ck_assert_ptr_null(k);
	EC_POINT_free(p);
	EC_GROUP_free(g);
	ec_priv_free(b);
	free(a);
}
END_TEST

/* Compressed points are decompressed by our own field code: it must agree with OpenSSL on
 * random points (same ECDH result as the uncompressed form) and on random x values (accept
 * exactly when OpenSSL can decode the point). */
START_TEST(test_decompression_matches_openssl)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *pt = EC_POINT_new(g);
	struct ec_priv *own = NULL;
	int accepted = 0;

	ck_assert_int_eq(ec_priv_generate(&own), 0);
	for (int i = 0; i < 300; i++) {
		struct ec_priv *k = NULL;
		struct ec_pub *pc = NULL, *pu = NULL;
		uint8_t c[45], u[77], s1[32], s2[32], e[45];

		ck_assert_int_eq(ec_priv_generate(&k), 0);
		ck_assert_int_eq(ec_priv_public(k, c), 0);
		ck_assert_int_eq(EC_POINT_oct2point(g, pt, c + 12, 33, NULL), 1);
		ck_assert_uint_eq(EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, u + 12, 65,
						     NULL), 65);
		soter_container_seal(u, "UEC2", sizeof(u));
		ck_assert_int_eq(ec_pub_load(&pc, c, sizeof(c)), 0);
		ck_assert_int_eq(ec_pub_load(&pu, u, sizeof(u)), 0);
		ck_assert_int_eq(ec_derive(own, pc, s1), 0);
		ck_assert_int_eq(ec_derive(own, pu, s2), 0);
		ck_assert_int_eq(memcmp(s1, s2, 32), 0);
		ck_assert_int_eq(ec_pub_export(pu, e), 0);
		ck_assert_int_eq(memcmp(e, c, 45), 0);
		ec_pub_free(pc);
		ec_pub_free(pu);
		ec_priv_free(k);

		/* random x, either parity; x >= p included by the 0xff prefix cases */
		c[12] = (uint8_t)(2 + (i & 1));
		randombytes_buf(c + 13, 32);
		if (i % 50 == 0)
			memset(c + 13, 0xff, 32 - (size_t)(i % 7));
		soter_container_seal(c, "UEC2", sizeof(c));
		{
			int want = EC_POINT_oct2point(g, pt, c + 12, 33, NULL) == 1;
			int got = ec_pub_load(&pc, c, sizeof(c)) == 0;

			ck_assert_int_eq(got, want);
			accepted += got;
			if (got) {
				ck_assert_int_eq(ec_pub_export(pc, e), 0);
				ck_assert_int_eq(memcmp(e, c, 45), 0);
			}
			ec_pub_free(pc);
		}
	}
	/* about half of all x values are on the curve */
	ck_assert(accepted > 90 && accepted < 210);
	ec_priv_free(own);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
}
END_TEST

/* Private scalars 0 and >= n are rejected; n-1 is accepted. */
START_TEST(test_scalar_range)
{
	static const char n_hex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
	uint8_t c[45];
	size_t len;
	uint8_t *n = unhex(n_hex, &len);
	struct ec_priv *k = NULL;
	bool priv;

	c[12] = 0;
	memset(c + 13, 0, 32);
	soter_container_seal(c, "REC2", 45);
	ck_assert_int_eq(ec_priv_load(&k, c, 45), ACRA_EPROTO);
	memcpy(c + 13, n, 32);
	soter_container_seal(c, "REC2", 45);
	ck_assert_int_eq(ec_priv_load(&k, c, 45), ACRA_EPROTO);
	ck_assert_int_eq(ec_key_check(c, 45, &priv), ACRA_EPROTO);
	c[12] = 1; /* 33-byte payload with a non-zero first byte: far above n */
	c[13 + 31] -= 1;
	soter_container_seal(c, "REC2", 45);
	ck_assert_int_eq(ec_priv_load(&k, c, 45), ACRA_EPROTO);
	c[12] = 0; /* n - 1 */
	soter_container_seal(c, "REC2", 45);
	ck_assert_int_eq(ec_priv_load(&k, c, 45), 0);
	ec_priv_free(k);
	free(n);
}
END_TEST

/* §1.4 validation: each malformed variant fails, the kinds are not interchangeable. */
START_TEST(test_container_rejects)
{
	size_t n;
	uint8_t *a = unhex(VEC_PRIV_A, &n), *pa, c[80];
	size_t pn;
	struct ec_priv *k = NULL;
	struct ec_pub *p = NULL;
	bool priv = false;

	pa = unhex(VEC_PUB_A, &pn);
	ck_assert_int_eq(ec_key_check(a, n, &priv), 0);
	ck_assert(priv);
	ck_assert_int_eq(ec_key_check(pa, pn, &priv), 0);
	ck_assert(!priv);
	ck_assert_int_eq(ec_pub_load(&p, a, n), ACRA_EPROTO);   /* private as public */
	ck_assert_int_eq(ec_priv_load(&k, pa, pn), ACRA_EPROTO); /* public as private */
	ck_assert_int_eq(ec_priv_load(&k, a, n - 1), ACRA_EPROTO);
	ck_assert_int_eq(ec_priv_load(&k, a, 11), ACRA_EPROTO);
	ck_assert_int_eq(ec_key_check(a, 0, &priv), ACRA_EPROTO);
	/* every single-bit flip of both real keys is rejected */
	for (size_t bit = 0; bit < n * 8; bit++) {
		a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		pa[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(ec_priv_load(&k, a, n), ACRA_EPROTO);
		ck_assert_int_eq(ec_pub_load(&p, pa, pn), ACRA_EPROTO);
		ck_assert_int_ne(ec_key_check(a, n, &priv), 0);
		a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		pa[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* valid CRC but other curve digit, unknown prefix, or a wrong payload length */
	memcpy(c, a, n);
	soter_container_seal(c, "REC3", n);
	ck_assert_int_eq(ec_priv_load(&k, c, n), ACRA_EPROTO);
	soter_container_seal(c, "XEC2", n);
	ck_assert_int_eq(ec_key_check(c, n, &priv), ACRA_EPROTO);
	memcpy(c, pa, pn);
	c[pn] = 0;
	soter_container_seal(c, "UEC2", pn + 1);
	ck_assert_int_eq(ec_pub_load(&p, c, pn + 1), ACRA_EPROTO);
	memcpy(c, a, n);
	c[n] = 0;
	soter_container_seal(c, "REC2", n + 1);
	ck_assert_int_eq(ec_priv_load(&k, c, n + 1), ACRA_EPROTO);
	/* compressed x that is not on the curve: x = 0 has no square root mod p? try several */
	memcpy(c, pa, pn);
	for (int i = 0, rejected = 0; i < 64 && !rejected; i++) {
		c[pn - 1] = (uint8_t)i;
		soter_container_seal(c, "UEC2", pn);
		if (ec_pub_load(&p, c, pn) == ACRA_EPROTO)
			rejected = 1;
		else
			ec_pub_free(p);
		if (i == 63)
			ck_assert(rejected);
	}
	ck_assert_ptr_null(k);
	free(a);
	free(pa);
}
END_TEST

START_TEST(test_generate_and_export)
{
	struct secret *priv = NULL, *again = NULL;
	uint8_t pub[EC_PUB_LEN], pub2[EC_PUB_LEN], s1[32], s2[32];
	struct ec_priv *k = NULL, *e = NULL;
	struct ec_pub *p = NULL, *pe = NULL;
	bool is_priv;

	ck_assert_int_eq(ec_keypair_generate(&priv, pub), 0);
	ck_assert_uint_eq(priv->len, EC_PRIV_LEN);
	ck_assert_int_eq(memcmp(priv->p, "REC2\0\0\0\x2d", 8), 0);
	ck_assert_uint_eq(priv->p[12], 0); /* 00 || d */
	ck_assert_int_eq(memcmp(pub, "UEC2\0\0\0\x2d", 8), 0);
	ck_assert(pub[12] == 2 || pub[12] == 3);
	ck_assert_int_eq(ec_key_check(priv->p, priv->len, &is_priv), 0);
	ck_assert(is_priv);
	ck_assert_int_eq(ec_priv_load(&k, priv->p, priv->len), 0);
	ck_assert_int_eq(ec_priv_public(k, pub2), 0);
	ck_assert_int_eq(memcmp(pub, pub2, EC_PUB_LEN), 0);
	ck_assert_int_eq(ec_priv_export(k, &again), 0);
	ck_assert_int_eq(memcmp(again->p, priv->p, EC_PRIV_LEN), 0);
	ck_assert_int_eq(ec_priv_generate(&e), 0);
	ck_assert_int_eq(ec_priv_public(e, pub2), 0);
	ck_assert_int_ne(memcmp(pub, pub2, EC_PUB_LEN), 0);
	ck_assert_int_eq(ec_pub_load(&p, pub, EC_PUB_LEN), 0);
	ck_assert_int_eq(ec_pub_load(&pe, pub2, EC_PUB_LEN), 0);
	ck_assert_int_eq(ec_derive(k, pe, s1), 0);
	ck_assert_int_eq(ec_derive(e, p, s2), 0);
	ck_assert_int_eq(memcmp(s1, s2, 32), 0);
	secret_free(priv);
	secret_free(again);
	ec_priv_free(k);
	ec_priv_free(e);
	ec_pub_free(p);
	ec_pub_free(pe);
}
END_TEST

/* The wasm-themis signature of "Hello, Acra!" by key A verifies; ours verify too; any change
 * to message or signature fails. */
START_TEST(test_sign_verify)
{
	size_t n;
	uint8_t *sm = unhex(VEC_SM_SIGNED, &n), sig[EC_SIG_MAX];
	struct ec_priv *a = load_priv(VEC_PRIV_A);
	struct ec_pub *pa = load_pub(VEC_PUB_A), *pb = load_pub(VEC_PUB_B);
	const uint8_t *msg = (const uint8_t *)"Hello, Acra!";
	size_t sig_len;

	ck_assert_int_eq(ec_verify(pa, msg, 12, sm + 24, 0), ACRA_ECRYPTO);
	ck_assert_int_eq(ec_verify(pa, msg, 12, sm + 24, 70), 0);
	ck_assert_int_eq(ec_verify(pb, msg, 12, sm + 24, 70), ACRA_ECRYPTO);
	ck_assert_int_eq(ec_verify(pa, msg, 11, sm + 24, 70), ACRA_ECRYPTO);
	ck_assert_int_eq(ec_sign(a, msg, 12, sig, &sig_len), 0);
	ck_assert(sig_len >= 68 && sig_len <= EC_SIG_MAX);
	ck_assert_uint_eq(sig[0], 0x30); /* DER SEQUENCE */
	ck_assert_uint_eq(sig[1], sig_len - 2);
	ck_assert_int_eq(ec_verify(pa, msg, 12, sig, sig_len), 0);
	for (size_t bit = 0; bit < sig_len * 8; bit++) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(ec_verify(pa, msg, 12, sig, sig_len), ACRA_ECRYPTO);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ec_priv_free(a);
	ec_pub_free(pa);
	ec_pub_free(pb);
	free(sm);
}
END_TEST

Suite *ec_suite(void)
{
	Suite *s = suite_create("ec");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pair_a_and_ecdh);
	tcase_add_test(tc, test_session_vector_32_byte_payload);
	tcase_add_test(tc, test_uncompressed_public_import);
	tcase_add_test(tc, test_decompression_matches_openssl);
	tcase_add_test(tc, test_scalar_range);
	tcase_add_test(tc, test_container_rejects);
	tcase_add_test(tc, test_generate_and_export);
	tcase_add_test(tc, test_sign_verify);
	suite_add_tcase(s, tc);
	return s;
}
