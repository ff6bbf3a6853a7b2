/* lib/crypto/acrastruct.c: AcraStruct (spec/acra-formats.md §1). */
#include "lib/crypto/acrastruct.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/cell.h"
#include "lib/crypto/smessage.h"
#include "lib/secmem.h"

#define OFF_PUBKEY ACRASTRUCT_TAG_LEN
#define OFF_WRAPPED (OFF_PUBKEY + ACRASTRUCT_PUBKEY_LEN)
#define OFF_DATALEN (OFF_WRAPPED + ACRASTRUCT_WRAPPED_KEY_LEN)
#define OFF_DATA ACRASTRUCT_MIN_LEN

_Static_assert(OFF_DATALEN == 137, "AcraStruct length field at 137");
_Static_assert(ACRASTRUCT_WRAPPED_KEY_LEN == ACRASTRUCT_SYMKEY_LEN + SMESSAGE_ENC_OVERHEAD,
	       "wrapped key is a Secure Message of the 32-byte key");
_Static_assert(ACRASTRUCT_OVERHEAD == ACRASTRUCT_MIN_LEN + CELL_SEAL_OVERHEAD, "overhead");

size_t acrastruct_size(size_t pt_len)
{
	if (pt_len > SIZE_MAX - ACRASTRUCT_OVERHEAD)
		return 0;
	return pt_len + ACRASTRUCT_OVERHEAD;
}

bool acrastruct_has_tag(const uint8_t *buf, size_t len)
{
	if (len < ACRASTRUCT_TAG_LEN)
		return false;
	for (size_t i = 0; i < ACRASTRUCT_TAG_LEN; i++)
		if (buf[i] != ACRASTRUCT_TAG_BYTE)
			return false;
	return true;
}

int acrastruct_encrypt(const struct ec_pub *recipient, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
		       size_t *out_len)
{
	struct ec_priv *eph = NULL;
	uint8_t key[ACRASTRUCT_SYMKEY_LEN];
	size_t total;
	int rc;

	*out_len = 0;
	if (recipient == NULL || pt == NULL || pt_len == 0 || out == NULL)
		return ACRA_EINVAL;
	total = acrastruct_size(pt_len);
	if (total == 0 || out_cap < total)
		return ACRA_ERANGE;

	/* §1.1 creation steps: fresh ephemeral pair, random K, wrap K, seal the data. */
	rc = ec_priv_generate(&eph);
	if (rc < 0)
		goto out;
	rc = ec_priv_public(eph, out + OFF_PUBKEY);
	if (rc < 0)
		goto out;
	randombytes_buf(key, sizeof(key));
	rc = smessage_encrypt(eph, recipient, key, sizeof(key), out + OFF_WRAPPED);
	if (rc < 0)
		goto out;
	rc = cell_seal_encrypt(key, sizeof(key), ctx, ctx_len, pt, pt_len, out + OFF_DATA);
	if (rc < 0)
		goto out;
	memset(out, ACRASTRUCT_TAG_BYTE, ACRASTRUCT_TAG_LEN);
	wr_le64(out + OFF_DATALEN, (uint64_t)(pt_len + CELL_SEAL_OVERHEAD));
	*out_len = total;
out:
	sodium_memzero(key, sizeof(key));
	ec_priv_free(eph); /* wipes the ephemeral scalar */
	if (rc < 0)
		sodium_memzero(out, total);
	return rc;
}

int acrastruct_check(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len < ACRASTRUCT_MIN_LEN)
		return ACRA_EPROTO;
	if (!acrastruct_has_tag(buf, len))
		return ACRA_EPROTO;
	/* compare in uint64: a field larger than the buffer can never match */
	if (rd_le64(buf + OFF_DATALEN) != (uint64_t)(len - ACRASTRUCT_MIN_LEN))
		return ACRA_EPROTO;
	return ACRA_OK;
}

int acrastruct_measure(const uint8_t *buf, size_t len, size_t *as_len)
{
	uint64_t n;

	*as_len = 0;
	if (buf == NULL || len < ACRASTRUCT_MIN_LEN || !acrastruct_has_tag(buf, len))
		return ACRA_EPROTO;
	n = rd_le64(buf + OFF_DATALEN);
	if (n > (uint64_t)(len - ACRASTRUCT_MIN_LEN))
		return ACRA_EPROTO;
	*as_len = ACRASTRUCT_MIN_LEN + (size_t)n;
	return ACRA_OK;
}

int acrastruct_plain_len(const uint8_t *as, size_t as_len, size_t *pt_len)
{
	size_t n;

	*pt_len = 0;
	if (acrastruct_check(as, as_len) < 0)
		return ACRA_EPROTO;
	if (cell_seal_plain_len(as + OFF_DATA, as_len - OFF_DATA, &n) < 0)
		return ACRA_EPROTO;
	*pt_len = n;
	return ACRA_OK;
}

/* Open the wrapped key with the first of keys[] that can; eph is the imported ephemeral key. */
static int unwrap_any(const struct ec_priv *const *keys, size_t n_keys, const struct ec_pub *eph,
		      const uint8_t *as, uint8_t key[ACRASTRUCT_SYMKEY_LEN], size_t *which)
{
	uint8_t tmp[ACRASTRUCT_WRAPPED_KEY_LEN];
	size_t n = 0;
	int rc = ACRA_ECRYPTO;

	for (size_t i = 0; i < n_keys; i++) {
		if (keys[i] == NULL)
			continue;
		rc = smessage_decrypt(keys[i], eph, as + OFF_WRAPPED, ACRASTRUCT_WRAPPED_KEY_LEN,
				      tmp, &n);
		if (rc == ACRA_OK && n == ACRASTRUCT_SYMKEY_LEN) {
			memcpy(key, tmp, ACRASTRUCT_SYMKEY_LEN);
			*which = i;
			break;
		}
		rc = rc == ACRA_ENOMEM ? rc : ACRA_ECRYPTO;
		if (rc == ACRA_ENOMEM)
			break;
	}
	sodium_memzero(tmp, sizeof(tmp));
	if (rc < 0)
		sodium_memzero(key, ACRASTRUCT_SYMKEY_LEN);
	return rc;
}

/* The ephemeral public key of a checked AcraStruct. */
static int load_eph(const uint8_t *as, struct ec_pub **eph)
{
	int rc = ec_pub_load(eph, as + OFF_PUBKEY, ACRASTRUCT_PUBKEY_LEN);

	return rc == ACRA_OK || rc == ACRA_ENOMEM ? rc : ACRA_EPROTO;
}

int acrastruct_unwrap_key(const struct ec_priv *priv, const uint8_t *as, size_t as_len,
			  uint8_t key[ACRASTRUCT_SYMKEY_LEN])
{
	struct ec_pub *eph = NULL;
	size_t which;
	int rc;

	if (priv == NULL)
		return ACRA_EINVAL;
	rc = acrastruct_check(as, as_len);
	if (rc == ACRA_OK)
		rc = load_eph(as, &eph);
	if (rc == ACRA_OK)
		rc = unwrap_any(&priv, 1, eph, as, key, &which);
	else
		sodium_memzero(key, ACRASTRUCT_SYMKEY_LEN);
	ec_pub_free(eph);
	return rc;
}

int acrastruct_decrypt_any(const struct ec_priv *const *keys, size_t n_keys, const uint8_t *ctx,
			   size_t ctx_len, const uint8_t *as, size_t as_len, uint8_t *out,
			   size_t out_cap, size_t *pt_len, size_t *which)
{
	struct ec_pub *eph = NULL;
	uint8_t key[ACRASTRUCT_SYMKEY_LEN];
	size_t want = 0, n = 0, idx = 0;
	int rc;

	*pt_len = 0;
	if (keys == NULL && n_keys > 0)
		return ACRA_EINVAL;
	rc = acrastruct_plain_len(as, as_len, &want);
	if (rc < 0)
		return rc;
	if (out == NULL || out_cap < want)
		return ACRA_ERANGE;
	/* only the 45-byte ephemeral point is imported per value; keys were imported once */
	rc = load_eph(as, &eph);
	if (rc < 0)
		return rc;
	rc = unwrap_any(keys, n_keys, eph, as, key, &idx);
	ec_pub_free(eph);
	if (rc < 0)
		return rc;
	rc = cell_seal_decrypt(key, sizeof(key), ctx, ctx_len, as + OFF_DATA, as_len - OFF_DATA,
			       out, &n);
	sodium_memzero(key, sizeof(key));
	if (rc < 0) {
		sodium_memzero(out, want);
		return rc == ACRA_ENOMEM ? rc : rc == ACRA_EPROTO ? ACRA_EPROTO : ACRA_ECRYPTO;
	}
	*pt_len = n;
	if (which != NULL)
		*which = idx;
	return ACRA_OK;
}

int acrastruct_decrypt(const struct ec_priv *priv, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *as, size_t as_len, uint8_t *out, size_t out_cap,
		       size_t *pt_len)
{
	*pt_len = 0;
	if (priv == NULL)
		return ACRA_EINVAL;
	return acrastruct_decrypt_any(&priv, 1, ctx, ctx_len, as, as_len, out, out_cap, pt_len,
				      NULL);
}
