/* lib/acrawriter.h: C API for applications that encrypt data themselves before storing it,
 * in the formats Acra decrypts (spec/acra-formats.md §1, §3). Link with libacrawriter.a
 * (`make acrawriter`) plus OpenSSL's libcrypto and libsodium; see docs/acrawriter.md.
 *
 * This header is self-contained (only <stddef.h>/<stdint.h>). Functions return 0 on success
 * or a negative code; acrawriter_strerror() names it. Output goes to caller buffers sized
 * with the *_size() functions; nothing is allocated that the caller must free. */
#ifndef ACRA_LIB_ACRAWRITER_H
#define ACRA_LIB_ACRAWRITER_H

#include <stddef.h>
#include <stdint.h>

#define ACRAWRITER_PUBLIC_KEY_LEN 45 /* Themis UEC2 container, as acra keymaker writes it */
#define ACRAWRITER_ZONE_ID_LEN 24
#define ACRAWRITER_SYM_KEY_LEN 32
#define ACRAWRITER_ACRASTRUCT_OVERHEAD 189
#define ACRAWRITER_ACRABLOCK_OVERHEAD 138
#define ACRAWRITER_CONTAINER_OVERHEAD 12 /* the %%% serialized container */

/* Initialise the libraries underneath (libsodium). Call once before anything else;
 * returns 0 or a negative code. Safe to call again. */
int acrawriter_init(void);

/* Bytes needed for the AcraStruct / AcraBlock of a data_len-byte value (0 on overflow).
 * With serialize = 1 the %%% container is included. */
size_t acrawriter_acrastruct_size(size_t data_len, int serialize);
size_t acrawriter_acrablock_size(size_t data_len, int serialize);

/* Make an AcraStruct of data (data_len >= 1) for the public key container public_key
 * (public_key_len bytes: the 45-byte <client_id>_storage.pub or <zone_id>_zone.pub).
 * zone_id (zone_id_len bytes, NULL/0 for none) binds it to a zone: it must then be the
 * 24-byte zone id, and the zone's public key must be given. serialize = 1 wraps the result
 * in the 0.96 %%% container, 0 writes a bare AcraStruct (what 0.82 reads).
 * out (out_cap bytes) receives the result, *out_len its length. */
int acrawriter_create_acrastruct(const uint8_t *public_key, size_t public_key_len,
				 const uint8_t *zone_id, size_t zone_id_len, const uint8_t *data,
				 size_t data_len, int serialize, uint8_t *out, size_t out_cap,
				 size_t *out_len);

/* Make an AcraBlock of data (data_len >= 1) with the 32-byte symmetric key sym_key (the
 * client's <client_id>_storage_sym key) and context (NULL/0: none, as AcraServer 0.96 uses).
 * serialize as above. */
int acrawriter_create_acrablock(const uint8_t *sym_key, size_t sym_key_len,
				const uint8_t *context, size_t context_len, const uint8_t *data,
				size_t data_len, int serialize, uint8_t *out, size_t out_cap,
				size_t *out_len);

/* Short English text for a return code; never NULL. */
const char *acrawriter_strerror(int rc);

#endif
