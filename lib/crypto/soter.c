/* lib/crypto/soter.c: CRC-32C, Soter container header and the ZRTP-style KDF
 * (spec/themis.md §1.1, §1.2, §2.1). */
#include "lib/crypto/soter.h"

#include <string.h>

#include "lib/bytes.h"
#include "lib/crypto/sym.h"
#include "lib/secmem.h"

/* Byte-wise table for the reflected Castagnoli polynomial, filled once at load time and
 * read-only afterwards. */
#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[256];

__attribute__((constructor)) static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
		crc_table[i] = c;
	}
}

uint32_t soter_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--)
		c = (c >> 8) ^ crc_table[(c ^ *p++) & 0xFF];
	return ~c;
}

/* CRC of a container with its crc field read as zero. */
static uint32_t container_crc(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	uint32_t c = 0xFFFFFFFFu;
	const uint8_t *parts[3] = { buf, zero, buf + SOTER_HDR_LEN };
	size_t lens[3] = { 8, 4, len - SOTER_HDR_LEN };

	for (int i = 0; i < 3; i++)
		for (size_t j = 0; j < lens[i]; j++)
			c = (c >> 8) ^ crc_table[(c ^ parts[i][j]) & 0xFF];
	return ~c;
}

void soter_container_seal(uint8_t *buf, const char tag[4], size_t len)
{
	memcpy(buf, tag, 4);
	wr_be32(buf + 4, (uint32_t)len);
	/* the standard CRC-32C value stored least significant byte first (§1.2) */
	wr_le32(buf + 8, container_crc(buf, len));
}

int soter_container_check(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len < SOTER_HDR_LEN || len > UINT32_MAX)
		return ACRA_EPROTO;
	if (rd_be32(buf + 4) != len)
		return ACRA_EPROTO;
	if (rd_le32(buf + 8) != container_crc(buf, len))
		return ACRA_EPROTO;
	return ACRA_OK;
}

#define KDF_MAX_CTX 16

int soter_kdf(const uint8_t *key, size_t key_len, const char *label,
	      const struct soter_ctx *ctx, size_t n_ctx, uint8_t *out, size_t out_len)
{
	static const uint8_t counter[4] = { 0, 0, 0, 1 };
	static const uint8_t sep[1] = { 0 };
	struct bytes parts[3 + KDF_MAX_CTX];
	uint8_t implicit[32], t[SYM_HMAC_LEN];
	size_t label_len, n = 0;
	int rc;

	if (label == NULL || out == NULL || out_len < 1 || out_len > SYM_HMAC_LEN ||
	    n_ctx > KDF_MAX_CTX || (ctx == NULL && n_ctx > 0))
		return ACRA_EINVAL;
	label_len = strlen(label);
	if (key == NULL) {
		/* implicit key (Secure Session): label XOR every context, each cut to 32 bytes */
		memset(implicit, 0, sizeof(implicit));
		memcpy(implicit, label, label_len < 32 ? label_len : 32);
		for (size_t i = 0; i < n_ctx; i++) {
			if (ctx[i].p == NULL)
				continue;
			for (size_t j = 0; j < ctx[i].len && j < 32; j++)
				implicit[j] ^= ctx[i].p[j];
		}
		key = implicit;
		key_len = sizeof(implicit);
	} else if (key_len == 0) {
		return ACRA_EINVAL;
	}
	parts[n++] = (struct bytes){ counter, 4 };
	parts[n++] = (struct bytes){ (const uint8_t *)label, label_len };
	parts[n++] = (struct bytes){ sep, 1 };
	for (size_t i = 0; i < n_ctx; i++)
		parts[n++] = (struct bytes){ ctx[i].p, ctx[i].p ? ctx[i].len : 0 };
	rc = sym_hmac_sha256(key, key_len, parts, n, t);
	if (rc == ACRA_OK)
		memcpy(out, t, out_len);
	secmem_wipe(t, sizeof(t));
	secmem_wipe(implicit, sizeof(implicit));
	return rc;
}
