/* lib/crypto/poison.c: poison records (spec/acra-formats.md §4). */
#include "lib/crypto/poison.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/envelope.h"

size_t poison_data_len(long data_len)
{
	if (data_len >= 1)
		return (size_t)data_len;
	/* Acra: 1 + rand(MAX_DATA_LENGTH - 1), i.e. 1..99 */
	return 1 + (size_t)randombytes_uniform(POISON_MAX_DATA_LEN - 1);
}

int poison_make(enum poison_type type, const struct ec_pub *poison_pub, const uint8_t *sym_key,
		size_t sym_key_len, long data_len, bool serialize, uint8_t **out, size_t *out_len)
{
	size_t n = poison_data_len(data_len), inner_len, total, got = 0;
	size_t hdr = serialize ? ENVELOPE_HDR_LEN : 0;
	uint8_t *data = NULL, *buf = NULL;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (type == POISON_ACRASTRUCT && poison_pub == NULL)
		return ACRA_EINVAL;
	if (type == POISON_ACRABLOCK && (sym_key == NULL || sym_key_len == 0))
		return ACRA_EINVAL;
	if (type != POISON_ACRASTRUCT && type != POISON_ACRABLOCK)
		return ACRA_EINVAL;
	inner_len = type == POISON_ACRASTRUCT ? acrastruct_size(n) : acrablock_size(n);
	if (inner_len == 0 || envelope_size(inner_len) == 0)
		return ACRA_ERANGE;
	total = inner_len + hdr;
	data = malloc(n);
	buf = malloc(total);
	if (data == NULL || buf == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	randombytes_buf(data, n);
	if (type == POISON_ACRASTRUCT)
		rc = acrastruct_encrypt(poison_pub, NULL, 0, data, n, buf + hdr, inner_len, &got);
	else
		rc = acrablock_encrypt(sym_key, sym_key_len, NULL, 0, data, n, buf + hdr, inner_len,
				       &got);
	if (rc < 0)
		goto out;
	if (serialize)
		envelope_put_header(buf, type == POISON_ACRASTRUCT ? ENVELOPE_ACRASTRUCT
								   : ENVELOPE_ACRABLOCK,
				    inner_len);
	*out = buf;
	*out_len = total;
	buf = NULL;
out:
	if (data != NULL)
		sodium_memzero(data, n);
	free(data);
	free(buf);
	return rc;
}

int poison_check_acrastruct(const struct ec_priv *const *keys, size_t n_keys, const uint8_t *as,
			    size_t as_len, uint8_t *scratch, size_t scratch_cap)
{
	size_t n = 0;
	int rc;

	if (acrastruct_check(as, as_len) < 0)
		return ACRA_EPROTO;
	rc = acrastruct_decrypt_any(keys, n_keys, NULL, 0, as, as_len, scratch, scratch_cap, &n,
				    NULL);
	if (rc == ACRA_OK) {
		sodium_memzero(scratch, n);
		return 1;
	}
	/* malformed, scratch too small, out of memory; ECRYPTO: none of the keys */
	return rc == ACRA_ECRYPTO ? 0 : rc;
}

int poison_check_acrablock(const struct secret *const *keys, size_t n_keys, const uint8_t *blk,
			   size_t blk_len, uint8_t *scratch, size_t scratch_cap)
{
	size_t n;
	int rc;

	if (acrablock_check(blk, blk_len) < 0)
		return ACRA_EPROTO;
	for (size_t i = 0; i < n_keys; i++) {
		if (keys[i] == NULL)
			continue;
		rc = acrablock_decrypt(keys[i]->p, keys[i]->len, NULL, 0, blk, blk_len, scratch,
				       scratch_cap, &n);
		if (rc == ACRA_OK) {
			sodium_memzero(scratch, n);
			return 1;
		}
		if (rc != ACRA_ECRYPTO)
			return rc; /* malformed, scratch too small, out of memory */
	}
	return 0;
}
