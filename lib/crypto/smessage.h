/* lib/crypto/smessage.h: Themis Secure Message (spec/themis.md §3): encrypt/decrypt between
 * two EC key pairs, sign/verify. Output sizes come from the format. */
#ifndef ACRA_LIB_CRYPTO_SMESSAGE_H
#define ACRA_LIB_CRYPTO_SMESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/crypto/ec.h"
#include "lib/err.h"

#define SMESSAGE_ENC_OVERHEAD 52 /* 8-byte header + Secure Cell seal */

/* out holds msg_len + SMESSAGE_ENC_OVERHEAD bytes. */
int smessage_encrypt(const struct ec_priv *own, const struct ec_pub *peer, const uint8_t *msg,
		     size_t msg_len, uint8_t *out) ACRA_MUSTCHECK;
/* out holds at least in_len - SMESSAGE_ENC_OVERHEAD bytes; *out_len set. ACRA_EPROTO on a
 * malformed header (type, length field != in_len), ACRA_ECRYPTO on a wrong key or tampering. */
int smessage_decrypt(const struct ec_priv *own, const struct ec_pub *peer, const uint8_t *in,
		     size_t in_len, uint8_t *out, size_t *out_len) ACRA_MUSTCHECK;

/* Signed message: returns owned buffer in *out (free()), length *out_len. */
int smessage_sign(const struct ec_priv *k, const uint8_t *msg, size_t msg_len, uint8_t **out,
		  size_t *out_len) ACRA_MUSTCHECK;
/* On success *msg points into in (borrowed). ACRA_ECRYPTO on a bad signature, ACRA_EPROTO
 * on a malformed header. Bytes after the signature are ignored, as Themis does. */
int smessage_verify(const struct ec_pub *k, const uint8_t *in, size_t in_len,
		    const uint8_t **msg, size_t *msg_len) ACRA_MUSTCHECK;

#endif
