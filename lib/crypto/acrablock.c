/* lib/crypto/acrablock.c: AcraBlock (spec/acra-formats.md §3.1, §3.2). */
#include "lib/crypto/acrablock.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/cell.h"

#define OFF_REST_LEN ACRABLOCK_TAG_LEN
#define OFF_KEK_TYPE 12
#define OFF_KEK_ID 13
#define OFF_DATA_TYPE 15
#define OFF_DEK_LEN 16
#define OFF_DEK ACRABLOCK_MIN_LEN

_Static_assert(ACRABLOCK_ENC_DEK_LEN == ACRABLOCK_DEK_LEN + CELL_SEAL_OVERHEAD, "DEK cell");
_Static_assert(ACRABLOCK_OVERHEAD == ACRABLOCK_MIN_LEN + ACRABLOCK_ENC_DEK_LEN +
					     CELL_SEAL_OVERHEAD,
	       "overhead");

size_t acrablock_size(size_t pt_len)
{
	if (pt_len > SIZE_MAX - ACRABLOCK_OVERHEAD)
		return 0;
	return pt_len + ACRABLOCK_OVERHEAD;
}

bool acrablock_has_tag(const uint8_t *buf, size_t len)
{
	return len >= ACRABLOCK_TAG_LEN && buf[0] == ACRABLOCK_TAG_BYTE &&
	       buf[1] == ACRABLOCK_TAG_BYTE && buf[2] == ACRABLOCK_TAG_BYTE &&
	       buf[3] == ACRABLOCK_TAG_BYTE;
}

void acrablock_key_id(const uint8_t *kek, size_t kek_len, const uint8_t *ctx, size_t ctx_len,
		      uint8_t id[2])
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, kek, kek_len);
	if (ctx != NULL && ctx_len > 0)
		crypto_hash_sha256_update(&st, ctx, ctx_len);
	crypto_hash_sha256_final(&st, h);
	id[0] = h[0];
	id[1] = h[1];
	/* the hash state saw the key */
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(h, sizeof(h));
}

int acrablock_encrypt(const uint8_t *kek, size_t kek_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
		      size_t *out_len)
{
	uint8_t dek[ACRABLOCK_DEK_LEN];
	size_t total;
	int rc;

	*out_len = 0;
	if (kek == NULL || kek_len == 0 || pt == NULL || pt_len == 0 || out == NULL)
		return ACRA_EINVAL;
	total = acrablock_size(pt_len);
	if (total == 0 || out_cap < total)
		return ACRA_ERANGE;

	randombytes_buf(dek, sizeof(dek));
	rc = cell_seal_encrypt(kek, kek_len, ctx, ctx_len, dek, sizeof(dek), out + OFF_DEK);
	if (rc < 0)
		goto out;
	rc = cell_seal_encrypt(dek, sizeof(dek), ctx, ctx_len, pt, pt_len,
			       out + OFF_DEK + ACRABLOCK_ENC_DEK_LEN);
	if (rc < 0)
		goto out;
	memset(out, ACRABLOCK_TAG_BYTE, ACRABLOCK_TAG_LEN);
	wr_le64(out + OFF_REST_LEN, (uint64_t)(total - ACRABLOCK_TAG_LEN));
	out[OFF_KEK_TYPE] = ACRABLOCK_BACKEND_SCELL;
	acrablock_key_id(kek, kek_len, ctx, ctx_len, out + OFF_KEK_ID);
	out[OFF_DATA_TYPE] = ACRABLOCK_BACKEND_SCELL;
	out[OFF_DEK_LEN] = (uint8_t)ACRABLOCK_ENC_DEK_LEN;
	out[OFF_DEK_LEN + 1] = 0;
	*out_len = total;
out:
	sodium_memzero(dek, sizeof(dek));
	if (rc < 0)
		sodium_memzero(out, total);
	return rc;
}

int acrablock_measure(const uint8_t *buf, size_t len, size_t *blk_len)
{
	uint64_t rest;
	size_t dek_len;

	*blk_len = 0;
	if (buf == NULL || len < ACRABLOCK_MIN_LEN || !acrablock_has_tag(buf, len))
		return ACRA_EPROTO;
	rest = rd_le64(buf + OFF_REST_LEN);
	/* rest + 4 <= len, written so it cannot wrap (Acra's uint64 sum can) */
	if (rest > (uint64_t)(len - ACRABLOCK_TAG_LEN))
		return ACRA_EPROTO;
	if (buf[OFF_KEK_TYPE] != ACRABLOCK_BACKEND_SCELL ||
	    buf[OFF_DATA_TYPE] != ACRABLOCK_BACKEND_SCELL)
		return ACRA_EPROTO;
	/* Beyond Acra's recogniser: the header and the encrypted DEK must fit in the block,
	 * so nothing later reads past it. */
	if (rest < (uint64_t)(ACRABLOCK_MIN_LEN - ACRABLOCK_TAG_LEN))
		return ACRA_EPROTO;
	dek_len = (size_t)buf[OFF_DEK_LEN] | (size_t)buf[OFF_DEK_LEN + 1] << 8;
	if ((uint64_t)dek_len > rest - (ACRABLOCK_MIN_LEN - ACRABLOCK_TAG_LEN))
		return ACRA_EPROTO;
	*blk_len = ACRABLOCK_TAG_LEN + (size_t)rest;
	return ACRA_OK;
}

int acrablock_check(const uint8_t *buf, size_t len)
{
	size_t n;
	int rc = acrablock_measure(buf, len, &n);

	if (rc < 0)
		return rc;
	return n == len ? ACRA_OK : ACRA_EPROTO;
}

/* Split a checked block into its encrypted DEK and encrypted data. */
static int split(const uint8_t *blk, size_t blk_len, const uint8_t **edek, size_t *edek_len,
		 const uint8_t **edata, size_t *edata_len)
{
	size_t dek_len;

	if (acrablock_check(blk, blk_len) < 0)
		return ACRA_EPROTO;
	dek_len = (size_t)blk[OFF_DEK_LEN] | (size_t)blk[OFF_DEK_LEN + 1] << 8;
	*edek = blk + OFF_DEK;
	*edek_len = dek_len;
	*edata = blk + OFF_DEK + dek_len;
	*edata_len = blk_len - OFF_DEK - dek_len;
	return ACRA_OK;
}

int acrablock_plain_len(const uint8_t *blk, size_t blk_len, size_t *pt_len)
{
	const uint8_t *edek, *edata;
	size_t edek_len, edata_len, n;

	*pt_len = 0;
	if (split(blk, blk_len, &edek, &edek_len, &edata, &edata_len) < 0)
		return ACRA_EPROTO;
	if (cell_seal_plain_len(edata, edata_len, &n) < 0)
		return ACRA_EPROTO;
	*pt_len = n;
	return ACRA_OK;
}

int acrablock_decrypt(const uint8_t *kek, size_t kek_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *blk, size_t blk_len, uint8_t *out, size_t out_cap,
		      size_t *pt_len)
{
	const uint8_t *edek, *edata;
	size_t edek_len, edata_len, want = 0, n = 0;
	uint8_t dek[ACRABLOCK_DEK_LEN + CELL_SEAL_OVERHEAD];
	uint8_t id[2];
	int rc;

	*pt_len = 0;
	if (kek == NULL || kek_len == 0)
		return ACRA_EINVAL;
	rc = split(blk, blk_len, &edek, &edek_len, &edata, &edata_len);
	if (rc < 0)
		return rc;
	if (cell_seal_plain_len(edata, edata_len, &want) < 0)
		return ACRA_EPROTO;
	if (out == NULL || out_cap < want)
		return ACRA_ERANGE;
	/* the key id is a hint: skip keys that cannot be the one (§3.1) */
	acrablock_key_id(kek, kek_len, ctx, ctx_len, id);
	if (id[0] != blk[OFF_KEK_ID] || id[1] != blk[OFF_KEK_ID + 1])
		return ACRA_ECRYPTO;
	/* a DEK cell of another size cannot hold a 32-byte DEK */
	if (edek_len != ACRABLOCK_ENC_DEK_LEN)
		return ACRA_ECRYPTO;
	rc = cell_seal_decrypt(kek, kek_len, ctx, ctx_len, edek, edek_len, dek, &n);
	if (rc < 0 || n != ACRABLOCK_DEK_LEN) {
		rc = rc == ACRA_ENOMEM ? rc : ACRA_ECRYPTO;
		goto out;
	}
	rc = cell_seal_decrypt(dek, ACRABLOCK_DEK_LEN, ctx, ctx_len, edata, edata_len, out, &n);
	if (rc < 0) {
		rc = rc == ACRA_ENOMEM ? rc : ACRA_ECRYPTO;
		sodium_memzero(out, want);
		goto out;
	}
	*pt_len = n;
out:
	sodium_memzero(dek, sizeof(dek));
	return rc;
}
