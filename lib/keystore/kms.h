/* lib/keystore/kms.h: master key encrypted by AWS KMS, as Acra 0.96 does for
 * --keystore_encryption_type=kms_encrypted_master_key with --kms_type=aws
 * (keystore/keyloader/kms, keystore/kms/aws).
 *
 * Requests use the KMS JSON 1.1 protocol: HTTPS POST / with X-Amz-Target
 * "TrentService.<Action>", Content-Type application/x-amz-json-1.1, signed with SigV4
 * (service "kms"). The endpoint is https://kms.<region>.amazonaws.com unless the
 * credentials file names one. The master key's KMS key has alias "alias/acra_master_key";
 * no encryption context is used. */
#ifndef ACRA_LIB_KEYSTORE_KMS_H
#define ACRA_LIB_KEYSTORE_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/secmem.h"

#define KMS_TYPE_AWS "aws"
#define KMS_MASTER_KEY_ALIAS "alias/acra_master_key"
#define KMS_MASTER_KEY_LEN 32     /* keymaker generates this many random bytes */
#define KMS_MASTER_KEY_MIN_LEN 32 /* and the loader accepts no fewer */

/* Connection settings, filled by kms_load_credentials(); release with kms_opts_clear().
 * Acra flags: kms_type (only "aws"), kms_credentials_path (the JSON file). */
struct kms_opts {
	char *access_key_id;              /* owned */
	struct secret *secret_access_key; /* owned, NUL-terminated */
	char *region;                     /* owned */
	char *endpoint;                   /* owned; NULL = https://kms.<region>.amazonaws.com */
	const char *ca_file;              /* borrowed; TLS trust for https, NULL = system */
	int timeout_ms;                   /* per request; <= 0: 5000 */
};

/* Check --kms_type: "aws" is the only type. Returns 0, or ACRA_EINVAL after logging
 * `kms: unsupported kms_type "X" (supported: aws)`. */
int kms_check_type(const char *kms_type) ACRA_MUSTCHECK;

/* Read Acra's credentials file {"access_key_id", "secret_access_key", "region",
 * "endpoint" (optional)} into *out (zeroed here). Logs one error line and returns
 * ACRA_EIO (unreadable), ACRA_EPROTO (not JSON), ACRA_EINVAL (field missing or not a
 * string, bad endpoint) or ACRA_ENOMEM. */
int kms_load_credentials(const char *path, struct kms_opts *out) ACRA_MUSTCHECK;

/* Frees everything kms_load_credentials() filled (the secret key is wiped). Idempotent. */
void kms_opts_clear(struct kms_opts *o);

/* KMS Decrypt(CiphertextBlob = blob, KeyId = alias/acra_master_key). blob is the
 * base64-decoded ACRA_MASTER_KEY (borrowed; at least 32 bytes). *out is the master key,
 * returned owned (secret_free), at least 32 bytes. On failure logs one error line
 * (event code 512) and returns ACRA_EINVAL, ACRA_EIO (unreachable, timeout), ACRA_EPERM
 * (AWS refused: signature, credentials, access), ACRA_ECRYPTO (KMS could not decrypt),
 * ACRA_EPROTO (reply not understood), ACRA_ERANGE (plaintext too short), ACRA_ENOMEM. */
int kms_decrypt_master_key(const struct kms_opts *o, const uint8_t *blob, size_t len,
			   struct secret **out) ACRA_MUSTCHECK;

/* What acra-keymaker --generate_master_key=FILE --keystore_encryption_type=
 * kms_encrypted_master_key does: refuse if alias/acra_master_key already exists in the
 * region (ListAliases, all pages), CreateKey, CreateAlias, poll ListAliases until the alias
 * shows (10 tries, 100 ms apart), then Encrypt 32 random bytes under the alias.
 * *blob is the raw ciphertext blob (owned: free()); *key, if key is not NULL, the new
 * master key (owned: secret_free). Errors as kms_decrypt_master_key(), plus ACRA_EEXIST. */
int kms_create_master_key(const struct kms_opts *o, struct secret **key, uint8_t **blob,
			  size_t *blob_len) ACRA_MUSTCHECK;

/* Write blob to path with mode 0600 (temporary file in the same directory, then rename).
 * Logs one error line on failure; returns 0 or ACRA_EIO. */
int kms_write_blob_file(const char *path, const uint8_t *blob, size_t len) ACRA_MUSTCHECK;

#endif
