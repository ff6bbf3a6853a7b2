/* lib/crypto/sym.h: symmetric primitives under Secure Cell and Secure Session: AES-GCM with a
 * 12-byte nonce and a 16-byte tag, AES-256-CTR, HMAC-SHA256 and PBKDF2-HMAC-SHA256.
 * Callers never see EVP_* types. All functions are safe to call from several threads. */
#ifndef ACRA_LIB_CRYPTO_SYM_H
#define ACRA_LIB_CRYPTO_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

#define SYM_KEY_LEN 32     /* AES-256 */
#define SYM_GCM_IV_LEN 12  /* GCM nonce */
#define SYM_GCM_TAG_LEN 16 /* GCM tag */
#define SYM_CTR_IV_LEN 16  /* AES-CTR initial counter block */
#define SYM_HMAC_LEN 32    /* HMAC-SHA256 output */

/* One piece of a GCM plaintext/ciphertext: len bytes from in are written to out (out may equal
 * in). Several segments form one message, so a header and a body can live in different
 * buffers (Secure Session data messages). */
struct sym_seg {
	const uint8_t *in;
	uint8_t *out;
	size_t len;
};

/* AES-GCM encrypt. key_len 16, 24 or 32 selects AES-128/192/256. aad may be NULL/0.
 * Writes every segment's out and tag[SYM_GCM_TAG_LEN]. Returns 0, ACRA_EINVAL or
 * ACRA_ECRYPTO (library failure). */
int sym_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[SYM_GCM_IV_LEN],
		    const uint8_t *aad, size_t aad_len, const struct sym_seg *seg, size_t n_seg,
		    uint8_t tag[SYM_GCM_TAG_LEN]) ACRA_MUSTCHECK;
/* AES-GCM decrypt and verify tag (checked by the cipher, not memcmp). On any failure every
 * segment's out is wiped and ACRA_ECRYPTO is returned (ACRA_EINVAL for a bad key_len). */
int sym_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t iv[SYM_GCM_IV_LEN],
		    const uint8_t *aad, size_t aad_len, const struct sym_seg *seg, size_t n_seg,
		    const uint8_t tag[SYM_GCM_TAG_LEN]) ACRA_MUSTCHECK;

/* Single-buffer shorthands of the two above. */
int sym_gcm_seal(const uint8_t key[SYM_KEY_LEN], const uint8_t iv[SYM_GCM_IV_LEN],
		 const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct,
		 uint8_t tag[SYM_GCM_TAG_LEN]) ACRA_MUSTCHECK;
int sym_gcm_open(const uint8_t key[SYM_KEY_LEN], const uint8_t iv[SYM_GCM_IV_LEN],
		 const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len, uint8_t *pt,
		 const uint8_t tag[SYM_GCM_TAG_LEN]) ACRA_MUSTCHECK;

/* AES-256-CTR with a 128-bit big-endian counter block (Context Imprint, spec §2.5). */
int sym_aes256_ctr(const uint8_t key[SYM_KEY_LEN], const uint8_t iv[SYM_CTR_IV_LEN],
		   const uint8_t *in, size_t len, uint8_t *out) ACRA_MUSTCHECK;

/* HMAC-SHA256 over the concatenation of parts (NULL/empty parts are skipped).
 * key may have any length, including 0. */
int sym_hmac_sha256(const uint8_t *key, size_t key_len, const struct bytes *parts,
		    size_t n_parts, uint8_t out[SYM_HMAC_LEN]) ACRA_MUSTCHECK;

/* PBKDF2-HMAC-SHA256 (Secure Cell passphrase mode). iter >= 1. */
int sym_pbkdf2_sha256(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
		      uint32_t iter, uint8_t *out, size_t out_len) ACRA_MUSTCHECK;

/* Constant-time equality of two n-byte buffers (MACs, tags). */
bool sym_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
