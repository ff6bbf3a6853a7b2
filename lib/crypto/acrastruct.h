/* lib/crypto/acrastruct.h: AcraStruct, Acra's asymmetric data envelope
 * (spec/acra-formats.md §1). Pure: bytes and imported keys in, bytes out; no key lookup.
 *
 *   0   8   begin tag, eight 0x22 bytes
 *   8   45  ephemeral public key (UEC2 container)
 *   53  84  Secure Message: the 32-byte data key K encrypted (ephemeral priv -> recipient pub)
 *   137 8   LE64 length N of the next field
 *   145 N   Secure Cell Seal(K, plaintext, context), N = plaintext length + 44
 *
 * The context is the zone id (Acra 0.82 zones) or empty. Lengths read from data are never
 * trusted: every length is checked against the bytes present, overflow-safe. */
#ifndef ACRA_LIB_CRYPTO_ACRASTRUCT_H
#define ACRA_LIB_CRYPTO_ACRASTRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto/ec.h"
#include "lib/err.h"

#define ACRASTRUCT_TAG_BYTE 0x22
#define ACRASTRUCT_TAG_LEN 8
#define ACRASTRUCT_PUBKEY_LEN 45
#define ACRASTRUCT_WRAPPED_KEY_LEN 84
#define ACRASTRUCT_KEYBLOCK_LEN 129 /* public key + wrapped key */
#define ACRASTRUCT_DATA_LEN_SIZE 8
#define ACRASTRUCT_MIN_LEN 145      /* everything but the encrypted data */
#define ACRASTRUCT_OVERHEAD 189     /* MIN_LEN + Secure Cell overhead (44) */
#define ACRASTRUCT_SYMKEY_LEN 32

/* Size of the AcraStruct of a pt_len-byte plaintext: pt_len + ACRASTRUCT_OVERHEAD, or 0 if
 * that overflows size_t. */
size_t acrastruct_size(size_t pt_len);

/* True if buf starts with the 8-byte begin tag (len >= 8). */
bool acrastruct_has_tag(const uint8_t *buf, size_t len);

/* Make an AcraStruct of pt for the recipient public key (imported once by the caller and
 * reused). ctx may be NULL/0 (no context) or the zone id. pt_len >= 1: an empty plaintext
 * is refused with ACRA_EINVAL, as Themis (and so Acra) refuses to seal it.
 * out (borrowed) must hold acrastruct_size(pt_len) bytes (ACRA_ERANGE otherwise);
 * *out_len is set to that size. The ephemeral private key and the data key are wiped. */
int acrastruct_encrypt(const struct ec_pub *recipient, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
		       size_t *out_len) ACRA_MUSTCHECK;

/* Validate a whole value as one AcraStruct (§1.4): len >= 145, begin tag, LE64 length ==
 * len - 145 (no trailing bytes). Returns 0 or ACRA_EPROTO. */
int acrastruct_check(const uint8_t *buf, size_t len) ACRA_MUSTCHECK;

/* Measure the AcraStruct at the start of buf (inline scanning, 0.96 ExtractAcraStruct):
 * begin tag, >= 145 bytes, 145 + LE64 length fits in len. *as_len is its total length
 * (bytes after it are not looked at). Returns 0 or ACRA_EPROTO. */
int acrastruct_measure(const uint8_t *buf, size_t len, size_t *as_len) ACRA_MUSTCHECK;

/* Plaintext length of a checked AcraStruct (from the Secure Cell header). 0 or ACRA_EPROTO. */
int acrastruct_plain_len(const uint8_t *as, size_t as_len, size_t *pt_len) ACRA_MUSTCHECK;

/* Open the 84-byte wrapped key of an AcraStruct (first acrastruct_check'ed by the callee)
 * with the recipient private key: one ECDH. key (borrowed, ACRASTRUCT_SYMKEY_LEN bytes) is
 * wiped on failure; the caller wipes it after use. ACRA_ECRYPTO if the key does not open it,
 * ACRA_EPROTO if as is malformed. */
int acrastruct_unwrap_key(const struct ec_priv *priv, const uint8_t *as, size_t as_len,
			  uint8_t key[ACRASTRUCT_SYMKEY_LEN]) ACRA_MUSTCHECK;

/* Decrypt a whole AcraStruct (exactly as_len bytes, see acrastruct_check) with the
 * recipient private key (imported once, cached by the caller) and the context used when it
 * was made (NULL/0 = none). Costs one ECDH: only the 45-byte ephemeral public key is
 * imported per call. out (borrowed) holds out_cap bytes; at least acrastruct_plain_len,
 * which is always as_len - 189 (ACRA_ERANGE otherwise). *pt_len set on success.
 * ACRA_ECRYPTO: wrong key, wrong context or tampered data (out wiped); ACRA_EPROTO:
 * malformed. */
int acrastruct_decrypt(const struct ec_priv *priv, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *as, size_t as_len, uint8_t *out, size_t out_cap,
		       size_t *pt_len) ACRA_MUSTCHECK;

/* acrastruct_decrypt with several candidate private keys (current and rotated, newest
 * first): the ephemeral key is imported once and each candidate costs one ECDH until one
 * opens the wrapped key. *which (may be NULL) is the index of that key. Same returns as
 * acrastruct_decrypt; ACRA_ECRYPTO if no key (or n_keys 0) opens it. */
int acrastruct_decrypt_any(const struct ec_priv *const *keys, size_t n_keys, const uint8_t *ctx,
			   size_t ctx_len, const uint8_t *as, size_t as_len, uint8_t *out,
			   size_t out_cap, size_t *pt_len, size_t *which) ACRA_MUSTCHECK;

#endif
