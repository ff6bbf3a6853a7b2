/* lib/crypto/sym.c: AES-GCM/CTR and HMAC-SHA256 on OpenSSL 3 EVP.
 * The EVP_CIPHER/EVP_MD objects are fetched once (an implicit fetch on every init costs a lock
 * and a hash lookup, a visible share of a 100-byte Secure Cell). */
#include "lib/crypto/sym.h"

#include <limits.h>
#include <string.h>
#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "lib/secmem.h"

static EVP_CIPHER *gcm128, *gcm192, *gcm256, *ctr256;
static EVP_MD *sha256;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_ciphers(void)
{
	gcm128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	gcm192 = EVP_CIPHER_fetch(NULL, "AES-192-GCM", NULL);
	gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	ctr256 = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_CIPHER *gcm_cipher(size_t key_len)
{
	pthread_once(&fetch_once, fetch_ciphers);
	switch (key_len) {
	case 16:
		return gcm128;
	case 24:
		return gcm192;
	case 32:
		return gcm256;
	default:
		return NULL;
	}
}

/* EVP update lengths are int: feed long segments in chunks. */
#define SYM_CHUNK ((size_t)1 << 30)

static int gcm_update(EVP_CIPHER_CTX *c, const struct sym_seg *seg, size_t n_seg, int enc)
{
	for (size_t i = 0; i < n_seg; i++) {
		size_t off = 0;

		while (off < seg[i].len) {
			size_t n = seg[i].len - off;
			int outl;

			if (n > SYM_CHUNK)
				n = SYM_CHUNK;
			if (enc ? EVP_EncryptUpdate(c, seg[i].out + off, &outl, seg[i].in + off, (int)n) != 1
				: EVP_DecryptUpdate(c, seg[i].out + off, &outl, seg[i].in + off, (int)n) != 1)
				return ACRA_ECRYPTO;
			if ((size_t)outl != n)
				return ACRA_ECRYPTO;
			off += n;
		}
	}
	return ACRA_OK;
}

static int gcm_run(const uint8_t *key, size_t key_len, const uint8_t *iv, const uint8_t *aad,
		   size_t aad_len, const struct sym_seg *seg, size_t n_seg, uint8_t *tag, int enc)
{
	const EVP_CIPHER *cipher = gcm_cipher(key_len);
	EVP_CIPHER_CTX *c = NULL;
	uint8_t fin[16];
	int outl, rc = ACRA_ECRYPTO;

	if (cipher == NULL)
		return key_len == 16 || key_len == 24 || key_len == 32 ? ACRA_ECRYPTO : ACRA_EINVAL;
	if (aad_len > INT_MAX)
		return ACRA_EINVAL;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return ACRA_ENOMEM;
	/* the default GCM nonce length is 12, which is what Themis uses */
	if (EVP_CipherInit_ex(c, cipher, NULL, key, iv, enc) != 1)
		goto out;
	if (aad_len > 0 && EVP_CipherUpdate(c, NULL, &outl, aad, (int)aad_len) != 1)
		goto out;
	if (gcm_update(c, seg, n_seg, enc) != ACRA_OK)
		goto out;
	if (enc) {
		if (EVP_EncryptFinal_ex(c, fin, &outl) != 1 ||
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SYM_GCM_TAG_LEN, tag) != 1)
			goto out;
	} else {
		if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SYM_GCM_TAG_LEN, tag) != 1 ||
		    EVP_DecryptFinal_ex(c, fin, &outl) != 1)
			goto out;
	}
	rc = ACRA_OK;
out:
	EVP_CIPHER_CTX_free(c); /* clears the key schedule */
	if (rc != ACRA_OK && !enc)
		for (size_t i = 0; i < n_seg; i++)
			secmem_wipe(seg[i].out, seg[i].len);
	return rc;
}

int sym_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[SYM_GCM_IV_LEN],
		    const uint8_t *aad, size_t aad_len, const struct sym_seg *seg, size_t n_seg,
		    uint8_t tag[SYM_GCM_TAG_LEN])
{
	return gcm_run(key, key_len, iv, aad, aad_len, seg, n_seg, tag, 1);
}

int sym_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t iv[SYM_GCM_IV_LEN],
		    const uint8_t *aad, size_t aad_len, const struct sym_seg *seg, size_t n_seg,
		    const uint8_t tag[SYM_GCM_TAG_LEN])
{
	return gcm_run(key, key_len, iv, aad, aad_len, seg, n_seg, (uint8_t *)tag, 0);
}

int sym_gcm_seal(const uint8_t key[SYM_KEY_LEN], const uint8_t iv[SYM_GCM_IV_LEN],
		 const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct,
		 uint8_t tag[SYM_GCM_TAG_LEN])
{
	struct sym_seg s = { pt, ct, len };

	return gcm_run(key, SYM_KEY_LEN, iv, aad, aad_len, &s, 1, tag, 1);
}

int sym_gcm_open(const uint8_t key[SYM_KEY_LEN], const uint8_t iv[SYM_GCM_IV_LEN],
		 const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len, uint8_t *pt,
		 const uint8_t tag[SYM_GCM_TAG_LEN])
{
	struct sym_seg s = { ct, pt, len };

	return gcm_run(key, SYM_KEY_LEN, iv, aad, aad_len, &s, 1, (uint8_t *)tag, 0);
}

int sym_aes256_ctr(const uint8_t key[SYM_KEY_LEN], const uint8_t iv[SYM_CTR_IV_LEN],
		   const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c;
	struct sym_seg s = { in, out, len };
	int rc = ACRA_ECRYPTO;

	pthread_once(&fetch_once, fetch_ciphers);
	if (ctr256 == NULL)
		return ACRA_ECRYPTO;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return ACRA_ENOMEM;
	if (EVP_EncryptInit_ex(c, ctr256, NULL, key, iv) == 1 &&
	    gcm_update(c, &s, 1, 1) == ACRA_OK)
		rc = ACRA_OK;
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/* HMAC (RFC 2104) over OpenSSL's SHA-256, which uses the CPU's SHA extensions: about a third
 * faster than a one-shot EVP_MAC or libsodium's portable code, and every Secure Cell runs one
 * (the Soter KDF), which matters for small AcraBlocks. */
#define SHA256_BLOCK 64

int sym_hmac_sha256(const uint8_t *key, size_t key_len, const struct bytes *parts,
		    size_t n_parts, uint8_t out[SYM_HMAC_LEN])
{
	uint8_t pad[SHA256_BLOCK], inner[SYM_HMAC_LEN];
	EVP_MD_CTX *c;
	unsigned int n;
	int rc = ACRA_ECRYPTO;

	if (key == NULL && key_len > 0)
		return ACRA_EINVAL;
	pthread_once(&fetch_once, fetch_ciphers);
	if (sha256 == NULL)
		return ACRA_ECRYPTO;
	c = EVP_MD_CTX_new();
	if (c == NULL)
		return ACRA_ENOMEM;
	memset(pad, 0, sizeof(pad));
	if (key_len > SHA256_BLOCK) {
		/* long keys are replaced by their hash */
		if (EVP_DigestInit_ex2(c, sha256, NULL) != 1 || EVP_DigestUpdate(c, key, key_len) != 1 ||
		    EVP_DigestFinal_ex(c, pad, &n) != 1)
			goto out;
	} else if (key_len > 0) {
		memcpy(pad, key, key_len);
	}
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	if (EVP_DigestInit_ex2(c, sha256, NULL) != 1 || EVP_DigestUpdate(c, pad, sizeof(pad)) != 1)
		goto out;
	for (size_t i = 0; i < n_parts; i++)
		if (parts[i].p != NULL && parts[i].len > 0 &&
		    EVP_DigestUpdate(c, parts[i].p, parts[i].len) != 1)
			goto out;
	if (EVP_DigestFinal_ex(c, inner, &n) != 1)
		goto out;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	if (EVP_DigestInit_ex2(c, sha256, NULL) != 1 || EVP_DigestUpdate(c, pad, sizeof(pad)) != 1 ||
	    EVP_DigestUpdate(c, inner, sizeof(inner)) != 1 || EVP_DigestFinal_ex(c, out, &n) != 1)
		goto out;
	rc = ACRA_OK;
out:
	EVP_MD_CTX_free(c); /* cleanses the hash state */
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	return rc;
}

int sym_pbkdf2_sha256(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
		      uint32_t iter, uint8_t *out, size_t out_len)
{
	if (iter == 0 || iter > INT_MAX || pass_len > INT_MAX || salt_len > INT_MAX ||
	    out_len == 0 || out_len > INT_MAX)
		return ACRA_EINVAL;
	/* an empty passphrase is hashed as the empty string */
	if (PKCS5_PBKDF2_HMAC(pass_len ? (const char *)pass : "", (int)pass_len,
			      salt_len ? salt : (const uint8_t *)"", (int)salt_len, (int)iter,
			      EVP_sha256(), (int)out_len, out) != 1)
		return ACRA_ECRYPTO;
	return ACRA_OK;
}

bool sym_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
