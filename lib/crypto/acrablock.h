/* lib/crypto/acrablock.h: AcraBlock, Acra's symmetric data envelope
 * (spec/acra-formats.md §3.1, §3.2). Pure: bytes and keys in, bytes out.
 *
 *   0    4  begin tag, four 0x22 bytes
 *   4    8  LE64 rest length = total length - 4
 *   12   1  KEK backend type, 0 = Secure Cell
 *   13   2  KEK id = SHA-256(KEK || context)[0..2]
 *   15   1  data backend type, 0 = Secure Cell
 *   16   2  LE16 length L of the encrypted DEK (76)
 *   18   L  Secure Cell Seal(KEK, DEK, context), DEK = 32 random bytes
 *   18+L M  Secure Cell Seal(DEK, plaintext, context), M = plaintext length + 44
 *
 * KEK = the client's 32-byte symmetric storage key (any non-empty length is accepted);
 * context = empty (0.96), the zone id (0.90-0.94 zones) or the client id (token storage). */
#ifndef ACRA_LIB_CRYPTO_ACRABLOCK_H
#define ACRA_LIB_CRYPTO_ACRABLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define ACRABLOCK_TAG_BYTE 0x22
#define ACRABLOCK_TAG_LEN 4
#define ACRABLOCK_MIN_LEN 18        /* header before the encrypted DEK */
#define ACRABLOCK_DEK_LEN 32
#define ACRABLOCK_ENC_DEK_LEN 76    /* Secure Cell of the DEK */
#define ACRABLOCK_OVERHEAD 138      /* 18 + 76 + 44 */
#define ACRABLOCK_KEY_LEN 32        /* Acra's symmetric storage keys */
#define ACRABLOCK_BACKEND_SCELL 0x00

/* Size of the AcraBlock of a pt_len-byte plaintext, or 0 on size_t overflow. */
size_t acrablock_size(size_t pt_len);

/* True if buf starts with the 4-byte begin tag (len >= 4). */
bool acrablock_has_tag(const uint8_t *buf, size_t len);

/* The 2-byte KEK id: SHA-256(kek || ctx)[0..2]. */
void acrablock_key_id(const uint8_t *kek, size_t kek_len, const uint8_t *ctx, size_t ctx_len,
		      uint8_t id[2]);

/* Make an AcraBlock of pt with the key-encryption key kek (borrowed, kek_len >= 1) and
 * context ctx (NULL/0 = none). pt_len >= 1 (ACRA_EINVAL for empty plaintext, as Themis).
 * out (borrowed) must hold acrablock_size(pt_len) bytes (ACRA_ERANGE otherwise); *out_len
 * set. The DEK is wiped. */
int acrablock_encrypt(const uint8_t *kek, size_t kek_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
		      size_t *out_len) ACRA_MUSTCHECK;

/* Recognise an AcraBlock at the start of buf (§3.2, ExtractAcraBlockFromData): len >= 18,
 * begin tag, 4 + rest length <= len (overflow-safe), known KEK and data backend types, and
 * additionally an encrypted-DEK length that fits. *blk_len = its total length; bytes after
 * it are not looked at. Returns 0 or ACRA_EPROTO. */
int acrablock_measure(const uint8_t *buf, size_t len, size_t *blk_len) ACRA_MUSTCHECK;

/* Validate a whole value as exactly one AcraBlock (acrablock_measure == len). */
int acrablock_check(const uint8_t *buf, size_t len) ACRA_MUSTCHECK;

/* Plaintext length of a checked AcraBlock (from the data cell header). 0 or ACRA_EPROTO. */
int acrablock_plain_len(const uint8_t *blk, size_t blk_len, size_t *pt_len) ACRA_MUSTCHECK;

/* Decrypt a whole AcraBlock (exactly blk_len bytes) with one candidate KEK. If the stored
 * KEK id differs from this key's id nothing is decrypted (ACRA_ECRYPTO at the cost of one
 * SHA-256). out (borrowed) holds out_cap >= acrablock_plain_len bytes (ACRA_ERANGE
 * otherwise); *pt_len set. ACRA_ECRYPTO: wrong key/context or tampered data (out wiped);
 * ACRA_EPROTO: malformed. */
int acrablock_decrypt(const uint8_t *kek, size_t kek_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *blk, size_t blk_len, uint8_t *out, size_t out_cap,
		      size_t *pt_len) ACRA_MUSTCHECK;

#endif
