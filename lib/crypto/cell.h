/* lib/crypto/cell.h: Themis Secure Cell (spec/themis.md §2): Seal with a key or a
 * passphrase, Token Protect, Context Imprint. Byte-compatible with Themis 0.15.
 * Outputs go to caller buffers; sizes are computed from the format, never by a trial call.
 * A context may be NULL/0. Failures leave no partial plaintext in out (it is wiped). */
#ifndef ACRA_LIB_CRYPTO_CELL_H
#define ACRA_LIB_CRYPTO_CELL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define CELL_SEAL_OVERHEAD 44  /* header, IV, tag */
#define CELL_TOKEN_LEN 44      /* Token Protect token */

/* Seal: out must hold pt_len + CELL_SEAL_OVERHEAD bytes. pt_len >= 1. */
int cell_seal_encrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *pt, size_t pt_len, uint8_t *out) ACRA_MUSTCHECK;
/* Plaintext length of a sealed cell, from its header; ACRA_EPROTO if ct cannot be one. */
int cell_seal_plain_len(const uint8_t *ct, size_t ct_len, size_t *pt_len) ACRA_MUSTCHECK;
/* Open a sealed cell into out (cell_seal_plain_len bytes). ACRA_ECRYPTO on a wrong key,
 * context or tampered data; ACRA_EPROTO on malformed headers. Accepts what Themis 0.15 writes
 * plus the variants its decoder reads (AES-128/192-GCM ids, IV fields longer than 12 bytes);
 * unlike Themis it refuses unused bytes between the tag and the ciphertext. */
int cell_seal_decrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *ct, size_t ct_len, uint8_t *out, size_t *pt_len) ACRA_MUSTCHECK;

/* Seal with a passphrase (PBKDF2-SHA256, Themis defaults). out holds
 * pt_len + cell_pass_overhead() bytes. */
size_t cell_pass_overhead(void);
int cell_pass_encrypt(const char *pass, size_t pass_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *pt, size_t pt_len, uint8_t *out, size_t *out_len) ACRA_MUSTCHECK;
int cell_pass_decrypt(const char *pass, size_t pass_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *ct, size_t ct_len, uint8_t *out, size_t *pt_len) ACRA_MUSTCHECK;

/* Token Protect: data (pt_len bytes) and token[CELL_TOKEN_LEN]. */
int cell_token_encrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *pt, size_t pt_len, uint8_t *data,
		       uint8_t token[CELL_TOKEN_LEN]) ACRA_MUSTCHECK;
int cell_token_decrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *data, size_t data_len, const uint8_t *token,
		       size_t token_len, uint8_t *out) ACRA_MUSTCHECK;

/* Context Imprint: deterministic, length-preserving, no integrity; ctx required.
 * The same call decrypts. */
int cell_imprint(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		 const uint8_t *in, size_t len, uint8_t *out) ACRA_MUSTCHECK;

#endif
