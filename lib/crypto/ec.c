/* lib/crypto/ec.c: Themis EC P-256 keys, ECDH and ECDSA on OpenSSL 3 (spec/themis.md §1, §3).
 *
 * Speed: an AcraStruct decrypt is one ECDH with a fresh ephemeral point, so the per-call work
 * is only what cannot be cached: decode the peer point, one constant-time scalar
 * multiplication, read X. The curve group is built once per process; a private key is
 * imported once into struct ec_priv (scalar as a BIGNUM, public point, and lazily an
 * EVP_PKEY for ECDSA). The EC_GROUP/EC_POINT/BIGNUM calls used here are not deprecated in
 * OpenSSL 3 and on x86-64 run the constant-time nistz256 code, which is what EVP_PKEY_derive
 * ends up in too, minus the provider and parameter plumbing.
 *
 * Secret storage: the scalar d lives in a BN_secure_new BIGNUM (OpenSSL's secure heap when the
 * process has initialised it, else the ordinary heap; always cleared on free) with
 * BN_FLG_CONSTTIME set; the lazily built signing EVP_PKEY holds its own copy in OpenSSL
 * memory, also cleared on free. Byte copies of d only exist in secure memory (struct secret)
 * or in stack buffers that are wiped before returning. */
#include "lib/crypto/ec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/soter.h"

#define P256_LEN 32 /* field element / scalar bytes */

struct ec_priv {
	BIGNUM *d;
	EC_POINT *q;
	uint8_t pub[EC_PUB_LEN]; /* UEC2 container of q, compressed */
	pthread_mutex_t lock;    /* guards the lazy creation of pkey */
	EVP_PKEY *pkey;          /* for ECDSA; built on first ec_sign */
};

struct ec_pub {
	EC_POINT *q;
	uint8_t pt[1 + 2 * P256_LEN]; /* SEC1 uncompressed encoding */
	size_t pt_len;
	pthread_mutex_t lock;
	EVP_PKEY *pkey; /* for ECDSA verify; built on first ec_verify */
};

static EC_GROUP *p256;
static BIGNUM *p256_order;
static pthread_once_t group_once = PTHREAD_ONCE_INIT;

static void group_init(void)
{
	p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	if (p256 != NULL)
		p256_order = (BIGNUM *)EC_GROUP_get0_order(p256);
}

static const EC_GROUP *group(void)
{
	pthread_once(&group_once, group_init);
	return p256;
}

/* Container kind and curve (§1.3, §1.4): tag prefix and size code. Only P-256 ('2') is
 * supported; P-384/P-521 keys are never produced by Themis for Acra. */
enum key_kind { KIND_BAD, KIND_PRIV, KIND_PUB };

static enum key_kind key_kind(const uint8_t *buf)
{
	if (memcmp(buf, "REC", 3) == 0)
		return KIND_PRIV;
	if (memcmp(buf, "UEC", 3) == 0)
		return KIND_PUB;
	return KIND_BAD;
}

/* Checks §1.4 steps 1-5 for a P-256 container of the wanted kind. */
static int container_check(const uint8_t *buf, size_t len, enum key_kind want)
{
	size_t payload;

	if (buf == NULL || len < SOTER_HDR_LEN)
		return ACRA_EPROTO;
	if (key_kind(buf) == KIND_BAD || (want != KIND_BAD && key_kind(buf) != want))
		return ACRA_EPROTO;
	if (rd_be32(buf + 4) != len)
		return ACRA_EPROTO;
	if (soter_container_check(buf, len) != ACRA_OK)
		return ACRA_EPROTO;
	if (buf[3] != '2')
		return ACRA_EPROTO;
	payload = len - SOTER_HDR_LEN;
	if (key_kind(buf) == KIND_PUB)
		return payload == 1 + P256_LEN || payload == 1 + 2 * P256_LEN ? ACRA_OK : ACRA_EPROTO;
	return payload == 1 + P256_LEN || payload == P256_LEN ? ACRA_OK : ACRA_EPROTO;
}

/* Point decompression (SEC1 02/03 || X). OpenSSL's generic BN_mod_sqrt costs about a third of
 * an ECDH, and every AcraStruct carries a compressed ephemeral key, so the square root is done
 * here with 64-bit Montgomery arithmetic modulo p = 2^256 - 2^224 + 2^192 + 2^96 - 1.
 * Only public data is handled (no constant-time requirement); the resulting point is still
 * checked by OpenSSL (EC_POINT_oct2point of the uncompressed form rejects x or y >= p and
 * points off the curve), so an error here can only reject, never accept, a bad key. */
typedef unsigned __int128 u128;

static const uint64_t fe_p[4] = { 0xffffffffffffffffull, 0x00000000ffffffffull, 0,
				  0xffffffff00000001ull };
static const uint64_t fe_rr[4] = { 0x0000000000000003ull, 0xfffffffbffffffffull,
				   0xfffffffffffffffeull, 0x00000004fffffffdull }; /* R^2 mod p */
static const uint64_t fe_b_m[4] = { 0xd89cdf6229c4bddfull, 0xacf005cd78843090ull,
				    0xe5a220abf7212ed6ull, 0xdc30061d04874834ull }; /* b*R */

/* r = a - p if a >= p (a < 2p, with carry bit hi) */
static void fe_reduce_once(uint64_t r[4], const uint64_t a[4], uint64_t hi)
{
	uint64_t t[4], borrow = 0;

	for (int i = 0; i < 4; i++) {
		u128 d = (u128)a[i] - fe_p[i] - borrow;

		t[i] = (uint64_t)d;
		borrow = (uint64_t)(d >> 64) & 1;
	}
	/* keep t when a >= p: either the 2^256 carry is set or the subtraction did not borrow */
	if (hi || !borrow)
		memcpy(r, t, sizeof(t));
	else if (r != a)
		memcpy(r, a, sizeof(t));
}

/* Montgomery product a*b/R mod p (CIOS; -p^-1 mod 2^64 is 1 for this p). */
static void fe_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
	uint64_t t[6] = { 0 };

	for (int i = 0; i < 4; i++) {
		u128 c = 0;
		uint64_t m;

		for (int j = 0; j < 4; j++) {
			c += (u128)a[j] * b[i] + t[j];
			t[j] = (uint64_t)c;
			c >>= 64;
		}
		c += t[4];
		t[4] = (uint64_t)c;
		t[5] = (uint64_t)(c >> 64);
		m = t[0];
		c = ((u128)m * fe_p[0] + t[0]) >> 64;
		for (int j = 1; j < 4; j++) {
			c += (u128)m * fe_p[j] + t[j];
			t[j - 1] = (uint64_t)c;
			c >>= 64;
		}
		c += t[4];
		t[3] = (uint64_t)c;
		t[4] = t[5] + (uint64_t)(c >> 64);
	}
	fe_reduce_once(r, t, t[4]);
}

static void fe_sqr_n(uint64_t r[4], const uint64_t a[4], int n)
{
	memcpy(r, a, 4 * sizeof(uint64_t));
	while (n-- > 0)
		fe_mul(r, r, r);
}

static void fe_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
	uint64_t t[4];
	u128 c = 0;

	for (int i = 0; i < 4; i++) {
		c += (u128)a[i] + b[i];
		t[i] = (uint64_t)c;
		c >>= 64;
	}
	fe_reduce_once(r, t, (uint64_t)c);
}

static void fe_sub(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
	uint64_t t[4], borrow = 0;
	u128 c = 0;

	for (int i = 0; i < 4; i++) {
		u128 d = (u128)a[i] - b[i] - borrow;

		t[i] = (uint64_t)d;
		borrow = (uint64_t)(d >> 64) & 1;
	}
	if (borrow) /* add p back */
		for (int i = 0; i < 4; i++) {
			c += (u128)t[i] + fe_p[i];
			t[i] = (uint64_t)c;
			c >>= 64;
		}
	memcpy(r, t, sizeof(t));
}

static void fe_from_bytes(uint64_t r[4], const uint8_t b[32])
{
	for (int i = 0; i < 4; i++) {
		r[i] = 0;
		for (int j = 0; j < 8; j++)
			r[i] = r[i] << 8 | b[(3 - i) * 8 + j];
	}
}

static void fe_to_bytes(uint8_t b[32], const uint64_t a[4])
{
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 8; j++)
			b[(3 - i) * 8 + j] = (uint8_t)(a[i] >> (56 - 8 * j));
}

/* 02/03 || X (33 bytes) to 04 || X || Y (65 bytes). -1 if X is not the x of a curve point. */
static int p256_decompress(const uint8_t in[1 + P256_LEN], uint8_t out[1 + 2 * P256_LEN])
{
	static const uint64_t one[4] = { 1, 0, 0, 0 };
	uint64_t x[4], t[4], rhs[4], y[4], a2[4], a4[4], a8[4], a16[4], a32[4];

	fe_from_bytes(x, in + 1);
	fe_mul(x, x, fe_rr); /* to Montgomery form */
	/* rhs = x^3 - 3x + b */
	fe_mul(t, x, x);
	fe_mul(rhs, t, x);
	fe_sub(rhs, rhs, x);
	fe_sub(rhs, rhs, x);
	fe_sub(rhs, rhs, x);
	fe_add(rhs, rhs, fe_b_m);
	/* y = rhs^((p+1)/4), (p+1)/4 = (2^32-1)*2^222 + 2^190 + 2^94 */
	fe_sqr_n(t, rhs, 1);
	fe_mul(a2, t, rhs);
	fe_sqr_n(t, a2, 2);
	fe_mul(a4, t, a2);
	fe_sqr_n(t, a4, 4);
	fe_mul(a8, t, a4);
	fe_sqr_n(t, a8, 8);
	fe_mul(a16, t, a8);
	fe_sqr_n(t, a16, 16);
	fe_mul(a32, t, a16);
	fe_sqr_n(t, a32, 32);
	fe_mul(t, t, rhs);
	fe_sqr_n(t, t, 96);
	fe_mul(t, t, rhs);
	fe_sqr_n(y, t, 94);
	/* a square root exists only if y^2 == rhs */
	fe_mul(t, y, y);
	if (memcmp(t, rhs, sizeof(t)) != 0)
		return -1;
	fe_mul(y, y, one); /* out of Montgomery form */
	if ((y[0] & 1) != (uint64_t)(in[0] & 1)) {
		static const uint64_t zero[4];

		fe_sub(y, zero, y);
	}
	out[0] = 4;
	memcpy(out + 1, in + 1, P256_LEN);
	fe_to_bytes(out + 1 + P256_LEN, y);
	return 0;
}

static int pub_container(const EC_POINT *q, uint8_t out[EC_PUB_LEN])
{
	if (EC_POINT_point2oct(group(), q, POINT_CONVERSION_COMPRESSED, out + SOTER_HDR_LEN,
			       EC_PUB_LEN - SOTER_HDR_LEN, NULL) != EC_PUB_LEN - SOTER_HDR_LEN)
		return ACRA_ECRYPTO;
	soter_container_seal(out, "UEC2", EC_PUB_LEN);
	return ACRA_OK;
}

void ec_priv_free(struct ec_priv *k)
{
	if (k == NULL)
		return;
	BN_clear_free(k->d);
	EC_POINT_free(k->q);
	EVP_PKEY_free(k->pkey);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

void ec_pub_free(struct ec_pub *k)
{
	if (k == NULL)
		return;
	EC_POINT_free(k->q);
	EVP_PKEY_free(k->pkey);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* Takes d (a scalar already range-checked) and builds the key object around it. */
static int priv_from_scalar(struct ec_priv **out, BIGNUM *d)
{
	struct ec_priv *k;
	int rc = ACRA_ECRYPTO;

	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		BN_clear_free(d);
		return ACRA_ENOMEM;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->d = d;
	BN_set_flags(k->d, BN_FLG_CONSTTIME);
	k->q = EC_POINT_new(group());
	if (k->q == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	if (EC_POINT_mul(group(), k->q, k->d, NULL, NULL, NULL) != 1)
		goto out;
	rc = pub_container(k->q, k->pub);
out:
	if (rc != ACRA_OK) {
		ec_priv_free(k);
		k = NULL;
	}
	*out = k;
	return rc;
}

/* d from big-endian bytes, required to be in [1, n-1]. */
static int scalar_from_bytes(BIGNUM **out, const uint8_t *p, size_t n)
{
	BIGNUM *d = BN_secure_new();

	*out = NULL;
	if (d == NULL)
		return ACRA_ENOMEM;
	if (BN_bin2bn(p, (int)n, d) == NULL) {
		BN_clear_free(d);
		return ACRA_ENOMEM;
	}
	if (BN_is_zero(d) || BN_cmp(d, p256_order) >= 0) {
		BN_clear_free(d);
		return ACRA_EPROTO;
	}
	*out = d;
	return ACRA_OK;
}

int ec_priv_load(struct ec_priv **out, const uint8_t *buf, size_t len)
{
	BIGNUM *d;
	int rc;

	*out = NULL;
	if (group() == NULL)
		return ACRA_ECRYPTO;
	rc = container_check(buf, len, KIND_PRIV);
	if (rc != ACRA_OK)
		return rc;
	rc = scalar_from_bytes(&d, buf + SOTER_HDR_LEN, len - SOTER_HDR_LEN);
	if (rc != ACRA_OK)
		return rc;
	return priv_from_scalar(out, d);
}

int ec_priv_generate(struct ec_priv **out)
{
	uint8_t raw[P256_LEN];
	BIGNUM *d = NULL;
	int rc;

	*out = NULL;
	if (group() == NULL)
		return ACRA_ECRYPTO;
	/* rejection sampling: a draw is >= n with probability about 2^-32 */
	do {
		randombytes_buf(raw, sizeof(raw));
		rc = scalar_from_bytes(&d, raw, sizeof(raw));
	} while (rc == ACRA_EPROTO);
	sodium_memzero(raw, sizeof(raw));
	if (rc != ACRA_OK)
		return rc;
	return priv_from_scalar(out, d);
}

int ec_priv_export(const struct ec_priv *k, struct secret **out)
{
	int rc;

	rc = secret_new(out, EC_PRIV_LEN);
	if (rc != ACRA_OK)
		return rc;
	/* 00 || d: Themis pads the scalar to 33 bytes at the front (§1.3) */
	if (BN_bn2binpad(k->d, (*out)->p + SOTER_HDR_LEN, P256_LEN + 1) != P256_LEN + 1) {
		secret_free(*out);
		*out = NULL;
		return ACRA_ECRYPTO;
	}
	soter_container_seal((*out)->p, "REC2", EC_PRIV_LEN);
	return ACRA_OK;
}

int ec_keypair_generate(struct secret **priv, uint8_t pub[EC_PUB_LEN])
{
	struct ec_priv *k;
	int rc;

	*priv = NULL;
	rc = ec_priv_generate(&k);
	if (rc != ACRA_OK)
		return rc;
	rc = ec_priv_export(k, priv);
	if (rc == ACRA_OK)
		memcpy(pub, k->pub, EC_PUB_LEN);
	ec_priv_free(k);
	return rc;
}

int ec_pub_load(struct ec_pub **out, const uint8_t *buf, size_t len)
{
	struct ec_pub *k;
	size_t n;
	int rc;

	*out = NULL;
	if (group() == NULL)
		return ACRA_ECRYPTO;
	rc = container_check(buf, len, KIND_PUB);
	if (rc != ACRA_OK)
		return rc;
	n = len - SOTER_HDR_LEN;
	buf += SOTER_HDR_LEN;
	/* compressed 02/03 or uncompressed 04 only (no hybrid 06/07 form) */
	if (!((n == 1 + P256_LEN && (buf[0] == 2 || buf[0] == 3)) ||
	      (n == 1 + 2 * P256_LEN && buf[0] == 4)))
		return ACRA_EPROTO;
	k = malloc(sizeof(*k));
	if (k == NULL)
		return ACRA_ENOMEM;
	k->pkey = NULL;
	k->q = EC_POINT_new(group());
	if (k->q == NULL) {
		free(k);
		return ACRA_ENOMEM;
	}
	pthread_mutex_init(&k->lock, NULL);
	if (n == 1 + P256_LEN) {
		if (p256_decompress(buf, k->pt) != 0) {
			ec_pub_free(k);
			return ACRA_EPROTO;
		}
	} else {
		memcpy(k->pt, buf, n);
	}
	k->pt_len = 1 + 2 * P256_LEN;
	/* oct2point rejects points that are not on the curve and x or y >= p */
	if (EC_POINT_oct2point(group(), k->q, k->pt, k->pt_len, NULL) != 1 ||
	    EC_POINT_is_at_infinity(group(), k->q)) {
		ec_pub_free(k);
		return ACRA_EPROTO;
	}
	*out = k;
	return ACRA_OK;
}

int ec_key_check(const uint8_t *buf, size_t len, bool *is_private)
{
	int rc;

	if (buf == NULL || len < SOTER_HDR_LEN)
		return ACRA_EPROTO;
	if (key_kind(buf) == KIND_PRIV) {
		struct ec_priv *k;

		rc = ec_priv_load(&k, buf, len);
		ec_priv_free(k);
		*is_private = true;
	} else {
		struct ec_pub *k;

		rc = ec_pub_load(&k, buf, len);
		ec_pub_free(k);
		*is_private = false;
	}
	return rc;
}

int ec_priv_public(const struct ec_priv *k, uint8_t pub[EC_PUB_LEN])
{
	memcpy(pub, k->pub, EC_PUB_LEN);
	return ACRA_OK;
}

int ec_pub_export(const struct ec_pub *k, uint8_t pub[EC_PUB_LEN])
{
	return pub_container(k->q, pub);
}

int ec_derive(const struct ec_priv *priv, const struct ec_pub *pub, uint8_t out[EC_SHARED_LEN])
{
	const EC_GROUP *g = group();
	EC_POINT *r = NULL;
	BN_CTX *bctx = NULL;
	BIGNUM *x;
	int rc = ACRA_ECRYPTO;

	r = EC_POINT_new(g);
	bctx = BN_CTX_secure_new();
	if (r == NULL || bctx == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	BN_CTX_start(bctx);
	x = BN_CTX_get(bctx);
	if (x == NULL)
		goto end;
	/* cofactor 1 and d in [1, n-1]: the product of a valid point is never infinity */
	if (EC_POINT_mul(g, r, NULL, pub->q, priv->d, bctx) != 1 ||
	    EC_POINT_get_affine_coordinates(g, r, x, NULL, bctx) != 1 ||
	    BN_bn2binpad(x, out, EC_SHARED_LEN) != EC_SHARED_LEN)
		goto end;
	rc = ACRA_OK;
end:
	BN_CTX_end(bctx);
out:
	BN_CTX_free(bctx); /* secure BN_CTX: cleared on free */
	EC_POINT_clear_free(r);
	if (rc != ACRA_OK)
		sodium_memzero(out, EC_SHARED_LEN);
	return rc;
}

/* EVP_PKEY for the signature code, from the P-256 group name and the encoded public point,
 * plus the private scalar when d is given. */
static EVP_PKEY *evp_key(const BIGNUM *d, const uint8_t *pt, size_t pt_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pt_len) != 1 ||
	    (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params); /* OSSL_PARAM_BLD zeroises secure BN copies it made */
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *priv_pkey(struct ec_priv *k)
{
	EVP_PKEY *pkey;

	pthread_mutex_lock(&k->lock);
	if (k->pkey == NULL)
		k->pkey = evp_key(k->d, k->pub + SOTER_HDR_LEN, EC_PUB_LEN - SOTER_HDR_LEN);
	pkey = k->pkey;
	pthread_mutex_unlock(&k->lock);
	return pkey;
}

static EVP_PKEY *pub_pkey(struct ec_pub *k)
{
	EVP_PKEY *pkey;

	pthread_mutex_lock(&k->lock);
	if (k->pkey == NULL)
		k->pkey = evp_key(NULL, k->pt, k->pt_len);
	pkey = k->pkey;
	pthread_mutex_unlock(&k->lock);
	return pkey;
}

int ec_sign(const struct ec_priv *k, const uint8_t *msg, size_t msg_len, uint8_t *sig,
	    size_t *sig_len)
{
	/* the lazily built EVP_PKEY is a cache; the key itself stays logically const */
	EVP_PKEY *pkey = priv_pkey((struct ec_priv *)k);
	EVP_MD_CTX *md;
	size_t n = EC_SIG_MAX;
	int rc = ACRA_ECRYPTO;

	*sig_len = 0;
	if (pkey == NULL)
		return ACRA_ECRYPTO;
	md = EVP_MD_CTX_new();
	if (md == NULL)
		return ACRA_ENOMEM;
	/* Themis signs SHA-256(msg) with ECDSA and writes the DER SEQUENCE{r, s} (§3.3) */
	if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
	    EVP_DigestSign(md, sig, &n, msg, msg_len) == 1 && n <= EC_SIG_MAX) {
		*sig_len = n;
		rc = ACRA_OK;
	}
	EVP_MD_CTX_free(md);
	return rc;
}

int ec_verify(const struct ec_pub *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
	      size_t sig_len)
{
	EVP_PKEY *pkey = pub_pkey((struct ec_pub *)k);
	EVP_MD_CTX *md;
	int rc = ACRA_ECRYPTO;

	if (pkey == NULL || sig == NULL || sig_len == 0 || sig_len > EC_SIG_MAX)
		return ACRA_ECRYPTO;
	md = EVP_MD_CTX_new();
	if (md == NULL)
		return ACRA_ENOMEM;
	if (EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
	    EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1)
		rc = ACRA_OK;
	EVP_MD_CTX_free(md);
	return rc;
}
