/* lib/crypto/ec.h: Themis EC P-256 keys (Soter REC2/UEC2 containers, spec/themis.md §1),
 * ECDH and ECDSA. Key objects are opaque and imported once: callers cache them and reuse
 * them for many operations (the import is the expensive part, DESIGN.md "Performance"). */
#ifndef ACRA_LIB_CRYPTO_EC_H
#define ACRA_LIB_CRYPTO_EC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/secmem.h"

#define EC_PRIV_LEN 45     /* REC2 container: 12-byte header, 00 || d */
#define EC_PUB_LEN 45      /* UEC2 container: 12-byte header, compressed point */
#define EC_SHARED_LEN 32   /* ECDH X coordinate */
#define EC_SIG_MAX 72      /* DER ECDSA signature */

struct ec_priv; /* imported private key (and its public key); opaque */
struct ec_pub;  /* imported public key; opaque */

/* Check a key container as themis_is_valid_asym_key does (§1.4): tag, size, CRC, length,
 * point on the curve, private scalar in [1, n-1]. Only P-256 (tag digit '2') is supported.
 * *is_private tells the kind. Returns 0, ACRA_EPROTO (malformed/bad CRC). */
int ec_key_check(const uint8_t *buf, size_t len, bool *is_private) ACRA_MUSTCHECK;

/* New key pair from the CSPRNG. *priv (returns owned, REC2 container in secure memory) and
 * pub[EC_PUB_LEN] (UEC2, compressed). */
int ec_keypair_generate(struct secret **priv, uint8_t pub[EC_PUB_LEN]) ACRA_MUSTCHECK;

/* New private key straight into an imported object (ephemeral keys: no container round trip).
 * *out is owned: ec_priv_free(). */
int ec_priv_generate(struct ec_priv **out) ACRA_MUSTCHECK;
/* REC2 container (45 bytes, 00 || d) of an imported private key, in secure memory.
 * *out is owned: secret_free(). */
int ec_priv_export(const struct ec_priv *k, struct secret **out) ACRA_MUSTCHECK;

/* Import a REC2 (32- or 33-byte payload) or UEC2 (compressed or uncompressed) container.
 * *out is owned: ec_priv_free()/ec_pub_free(). ACRA_EPROTO on malformed input. */
int ec_priv_load(struct ec_priv **out, const uint8_t *buf, size_t len) ACRA_MUSTCHECK;
int ec_pub_load(struct ec_pub **out, const uint8_t *buf, size_t len) ACRA_MUSTCHECK;
void ec_priv_free(struct ec_priv *k);
void ec_pub_free(struct ec_pub *k);

/* UEC2 container (compressed) of the public half of a private key. */
int ec_priv_public(const struct ec_priv *k, uint8_t pub[EC_PUB_LEN]) ACRA_MUSTCHECK;
/* UEC2 container (compressed) of an imported public key. */
int ec_pub_export(const struct ec_pub *k, uint8_t pub[EC_PUB_LEN]) ACRA_MUSTCHECK;

/* ECDH: X coordinate of priv * pub into out[EC_SHARED_LEN] (caller wipes it). */
int ec_derive(const struct ec_priv *priv, const struct ec_pub *pub,
	      uint8_t out[EC_SHARED_LEN]) ACRA_MUSTCHECK;

/* ECDSA-SHA256, DER signature (as Themis writes it) into sig[EC_SIG_MAX]. */
int ec_sign(const struct ec_priv *k, const uint8_t *msg, size_t msg_len, uint8_t *sig,
	    size_t *sig_len) ACRA_MUSTCHECK;
/* Returns 0 if valid, ACRA_ECRYPTO if not. */
int ec_verify(const struct ec_pub *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
	      size_t sig_len) ACRA_MUSTCHECK;

#endif
