/* lib/crypto/soter.h: Soter building blocks shared by keys, Secure Cell and Secure Session:
 * CRC-32C, the 12-byte container header, the ZRTP-style KDF (spec/themis.md §1.1, §1.2, §2.1). */
#ifndef ACRA_LIB_CRYPTO_SOTER_H
#define ACRA_LIB_CRYPTO_SOTER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SOTER_HDR_LEN 12

/* Standard CRC-32C (Castagnoli) of p[0..n). */
uint32_t soter_crc32c(const uint8_t *p, size_t n);
/* Fill the header of a container of total length len at buf (payload already in place). */
void soter_container_seal(uint8_t *buf, const char tag[4], size_t len);
/* Check header size field == len and the CRC. Returns 0 or ACRA_EPROTO. */
int soter_container_check(const uint8_t *buf, size_t len) ACRA_MUSTCHECK;

/* One context piece for soter_kdf; NULL p or len 0 is skipped. */
struct soter_ctx {
	const uint8_t *p;
	size_t len;
};

/* soter_kdf: key may be NULL (implicit key); out_len 1..32. */
int soter_kdf(const uint8_t *key, size_t key_len, const char *label,
	      const struct soter_ctx *ctx, size_t n_ctx, uint8_t *out, size_t out_len) ACRA_MUSTCHECK;

#endif
