/* lib/crypto/smessage.c: Themis Secure Message with EC keys (spec/themis.md §3).
 * Encrypted: LE32 0x26042720 || LE32 total || Seal(ECDH-X, no context).
 * Signed:    LE32 0x26042620 || LE32 mlen || LE32 slen || msg || DER ECDSA-SHA256. */
#include "lib/crypto/smessage.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/cell.h"

#define SM_EC_ENCRYPTED 0x26042720u
#define SM_EC_SIGNED 0x26042620u
#define SM_ENC_HDR 8
#define SM_SIGN_HDR 12

int smessage_encrypt(const struct ec_priv *own, const struct ec_pub *peer, const uint8_t *msg,
		     size_t msg_len, uint8_t *out)
{
	uint8_t s[EC_SHARED_LEN];
	int rc;

	if (own == NULL || peer == NULL || msg == NULL || out == NULL || msg_len == 0 ||
	    msg_len > UINT32_MAX - SMESSAGE_ENC_OVERHEAD)
		return ACRA_EINVAL;
	rc = ec_derive(own, peer, s);
	if (rc == ACRA_OK)
		rc = cell_seal_encrypt(s, sizeof(s), NULL, 0, msg, msg_len, out + SM_ENC_HDR);
	sodium_memzero(s, sizeof(s));
	if (rc != ACRA_OK)
		return rc;
	wr_le32(out, SM_EC_ENCRYPTED);
	wr_le32(out + 4, (uint32_t)(msg_len + SMESSAGE_ENC_OVERHEAD));
	return ACRA_OK;
}

int smessage_decrypt(const struct ec_priv *own, const struct ec_pub *peer, const uint8_t *in,
		     size_t in_len, uint8_t *out, size_t *out_len)
{
	uint8_t s[EC_SHARED_LEN];
	int rc;

	*out_len = 0;
	if (own == NULL || peer == NULL || out == NULL)
		return ACRA_EINVAL;
	/* header checks in the reference order (§3.2) */
	if (in == NULL || in_len <= SMESSAGE_ENC_OVERHEAD || in_len > UINT32_MAX)
		return ACRA_EPROTO;
	if (rd_le32(in) != SM_EC_ENCRYPTED || rd_le32(in + 4) != in_len)
		return ACRA_EPROTO;
	rc = ec_derive(own, peer, s);
	if (rc == ACRA_OK)
		rc = cell_seal_decrypt(s, sizeof(s), NULL, 0, in + SM_ENC_HDR, in_len - SM_ENC_HDR,
				       out, out_len);
	sodium_memzero(s, sizeof(s));
	return rc;
}

int smessage_sign(const struct ec_priv *k, const uint8_t *msg, size_t msg_len, uint8_t **out,
		  size_t *out_len)
{
	uint8_t *buf;
	size_t sig_len;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (k == NULL || msg == NULL || msg_len == 0 ||
	    msg_len > UINT32_MAX - SM_SIGN_HDR - EC_SIG_MAX)
		return ACRA_EINVAL;
	buf = malloc(SM_SIGN_HDR + msg_len + EC_SIG_MAX);
	if (buf == NULL)
		return ACRA_ENOMEM;
	rc = ec_sign(k, msg, msg_len, buf + SM_SIGN_HDR + msg_len, &sig_len);
	if (rc != ACRA_OK) {
		free(buf);
		return rc;
	}
	wr_le32(buf, SM_EC_SIGNED);
	wr_le32(buf + 4, (uint32_t)msg_len);
	wr_le32(buf + 8, (uint32_t)sig_len);
	memcpy(buf + SM_SIGN_HDR, msg, msg_len);
	*out = buf;
	*out_len = SM_SIGN_HDR + msg_len + sig_len;
	return ACRA_OK;
}

int smessage_verify(const struct ec_pub *k, const uint8_t *in, size_t in_len,
		    const uint8_t **msg, size_t *msg_len)
{
	uint32_t mlen, slen;

	*msg = NULL;
	*msg_len = 0;
	if (k == NULL)
		return ACRA_EINVAL;
	if (in == NULL || in_len < SM_SIGN_HDR || rd_le32(in) != SM_EC_SIGNED)
		return ACRA_EPROTO;
	mlen = rd_le32(in + 4);
	slen = rd_le32(in + 8);
	/* Themis tolerates trailing bytes after the signature; no signer writes any, so the
	 * lengths must account for the whole message here */
	if (mlen == 0 || slen == 0 || (uint64_t)SM_SIGN_HDR + mlen + slen != in_len)
		return ACRA_EPROTO;
	if (ec_verify(k, in + SM_SIGN_HDR, mlen, in + SM_SIGN_HDR + mlen, slen) != ACRA_OK)
		return ACRA_ECRYPTO;
	*msg = in + SM_SIGN_HDR;
	*msg_len = mlen;
	return ACRA_OK;
}
