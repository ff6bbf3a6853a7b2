/* lib/tokenize.h: the pure pieces of tokenization and searchable encryption
 * (spec/acra-formats.md §6.1, §6.2): token types and formats, the data id a token record is
 * stored under, the searchable hash block, and a client id derived from a TLS certificate
 * identifier (spec/acra-runtime.md §2.6). No I/O, no key lookup; randomness from libsodium. */
#ifndef ACRA_LIB_TOKENIZE_H
#define ACRA_LIB_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Acra's protobuf TokenType numbers (what /v2/tokenize takes as "type"). */
enum token_type {
	TOKEN_INT32 = 1,
	TOKEN_INT64 = 2,
	TOKEN_STR = 3,
	TOKEN_BYTES = 4,
	TOKEN_EMAIL = 5,
};

#define TOKEN_ID_LEN 32      /* SHA-256 data id */
#define TOKEN_EMAIL_MIN 5    /* shortest value an email token can be made for */
#define SEARCH_HASH_ID 0x7F  /* hash function id byte: HMAC-SHA256 */
#define SEARCH_HASH_LEN 33   /* id byte + 32-byte HMAC */
#define CERT_CLIENT_ID_LEN 128 /* lowercase hex of SHA-512 */

/* Whether t is one of the five public token types. */
bool token_type_is_valid(int t);
/* "int32", "int64", "str", "bytes", "email" (metrics label), "unknown" otherwise. */
const char *token_type_name(int t);

/* New random token for a value of type t whose canonical encoding is val[0..len)
 * (int32: 4 bytes LE, int64: 8 bytes LE, others the raw bytes). Writes len bytes to out
 * (out_cap >= len): int32/int64/bytes random bytes, str [A-Za-z0-9], email random
 * [A-Za-z0-9] with '@' at (len - len(tld)) / 2 and a TLD at the end (two-letter TLDs only
 * when len < 8). Returns 0, ACRA_EINVAL (wrong length for the type, email shorter than
 * TOKEN_EMAIL_MIN, empty str/bytes) or ACRA_ERANGE (out too small). */
int token_generate(enum token_type t, const uint8_t *val, size_t len, uint8_t *out,
		   size_t out_cap) ACRA_MUSTCHECK;

/* Data id of a value in a context: SHA-256(D || val || kind || ctx || D || decimal(t)) with
 * D = "tokenizator hash delimiter", kind "client" or "zone" (zone = true). */
void token_data_id(const uint8_t *val, size_t len, bool zone, const uint8_t *ctx,
		   size_t ctx_len, enum token_type t, uint8_t id[TOKEN_ID_LEN]);

/* The 33-byte searchable hash block of pt: 0x7F || HMAC-SHA256(key, pt). */
int search_hash(const uint8_t *key, size_t key_len, const uint8_t *pt, size_t pt_len,
		uint8_t out[SEARCH_HASH_LEN]) ACRA_MUSTCHECK;
/* Split a stored searchable value into its hash block and the envelope after it. Returns 0
 * or ACRA_EPROTO (shorter than 34 bytes or a wrong id byte). Views point into val. */
int search_split(const uint8_t *val, size_t len, const uint8_t **hash, const uint8_t **rest,
		 size_t *rest_len) ACRA_MUSTCHECK;

/* ---- stored token records (Acra's protobuf messages, spec/acra-formats.md §6.2) ----
 * A record is MetadataContainer{1: bytes data, 2: int64 created, 3: int64 accessed,
 * 4: bool disabled} whose data is the AcraBlock of: for "t." records TokenValue{1: bytes
 * value, 2: enum type}, for "h." records the token itself. */

/* MetadataContainer for data with created = accessed = now (unix seconds). *out owned. */
int token_record_wrap(const uint8_t *data, size_t len, int64_t now, uint8_t **out,
		      size_t *out_len) ACRA_MUSTCHECK;
/* The data of a MetadataContainer (a view into p). ACRA_EPROTO for a malformed message,
 * ACRA_EPERM for a record marked disabled. */
int token_record_unwrap(const uint8_t *p, size_t len, const uint8_t **data,
			size_t *data_len) ACRA_MUSTCHECK;
/* TokenValue{value, type}. *out owned (wipe: it holds the original value). */
int token_value_encode(enum token_type t, const uint8_t *val, size_t len, uint8_t **out,
		       size_t *out_len) ACRA_MUSTCHECK;
/* Fields of a TokenValue (value a view into p). ACRA_EPROTO when malformed. */
int token_value_decode(const uint8_t *p, size_t len, enum token_type *t, const uint8_t **val,
		       size_t *val_len) ACRA_MUSTCHECK;

/* Client id from a certificate identifier (rendered subject DN or serial number bytes):
 * lowercase hex of SHA-512(ident), NUL-terminated. */
void cert_client_id(const uint8_t *ident, size_t len, char out[CERT_CLIENT_ID_LEN + 1]);

#endif
