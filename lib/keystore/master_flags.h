/* lib/keystore/master_flags.h: Acra's master-key source flags (keystore_encryption_type,
 * vault_*, kms_*) shared by every mode that opens a keystore, and the one function that
 * loads the master key they select (docs/master-key.md). */
#ifndef ACRA_LIB_KEYSTORE_MASTER_FLAGS_H
#define ACRA_LIB_KEYSTORE_MASTER_FLAGS_H

#include <stdbool.h>

#include "lib/conf.h"
#include "lib/err.h"
#include "lib/secmem.h"

/* Index into keystore_master_enc_types (the CONF_ENUM choices). */
enum keystore_master_enc {
	KS_ENC_ENV = 0,        /* env_master_key: ACRA_MASTER_KEY */
	KS_ENC_VAULT = 1,      /* vault_master_key: HashiCorp Vault */
	KS_ENC_KMS_MASTER = 2, /* kms_encrypted_master_key: ACRA_MASTER_KEY decrypted by KMS */
	KS_ENC_ENV_OLD = 3,    /* master_key: the name some pre-0.95 builds used for env */
};

extern const char *const keystore_master_enc_types[];

/* Filled by the flag parser; every string borrowed from the mode's config. */
struct keystore_master_flags {
	int encryption_type; /* enum keystore_master_enc */
	char *vault_api;     /* vault_connection_api_string */
	char *vault_path;    /* vault_secrets_path */
	bool vault_tls;      /* vault_tls_transport_enable */
	char *vault_ca;      /* vault_tls_client_ca */
	char *vault_ca_old;  /* vault_tls_ca_path (older name; vault_tls_client_ca wins) */
	char *vault_cert, *vault_key, *vault_sni;
	char *kms_type, *kms_credentials_path;
};

/* Flag rows for a mode whose config struct T has a struct keystore_master_flags member m. */
#define KEYSTORE_MASTER_CONF(T, m)                                                       \
	CONF_ENUM("keystore_encryption_type", T, m.encryption_type, "env_master_key",    \
		  keystore_master_enc_types,                                             \
		  "Keystore encryptor strategy: env_master_key, vault_master_key or "    \
		  "kms_encrypted_master_key"),                                           \
	CONF_STR("vault_connection_api_string", T, m.vault_api, "",                      \
		 "Connection string (http://x.x.x.x:yyyy) for loading ACRA_MASTER_KEY "  \
		 "from HashiCorp Vault"),                                                \
	CONF_STR("vault_secrets_path", T, m.vault_path, "secret/",                       \
		 "KV Secret Path (secret/) for reading ACRA_MASTER_KEY from HashiCorp "  \
		 "Vault"),                                                               \
	CONF_BOOL("vault_tls_transport_enable", T, m.vault_tls, "false",                 \
		  "Use TLS to encrypt transport with HashiCorp Vault"),                  \
	CONF_STR("vault_tls_client_ca", T, m.vault_ca, "",                               \
		 "Path to root certificate of HashiCorp Vault"),                         \
	CONF_STR("vault_tls_ca_path", T, m.vault_ca_old, "",                             \
		 "Older name of vault_tls_client_ca"),                                   \
	CONF_STR("vault_tls_client_cert", T, m.vault_cert, "",                           \
		 "Path to client TLS certificate for HashiCorp Vault"),                  \
	CONF_STR("vault_tls_client_key", T, m.vault_key, "",                             \
		 "Path to private key of the client TLS certificate for HashiCorp "      \
		 "Vault"),                                                               \
	CONF_STR("vault_tls_client_sni", T, m.vault_sni, "",                             \
		 "Expected Server Name (SNI) of HashiCorp Vault"),                       \
	CONF_STR("kms_type", T, m.kms_type, "", "KMS type for using: <aws>"),            \
	CONF_STR("kms_credentials_path", T, m.kms_credentials_path, "",                  \
		 "KMS credentials JSON file path")

/* Load the master key the flags select: env_master_key (or its older name master_key) reads
 * ACRA_MASTER_KEY unless --vault_connection_api_string is given, which selects Vault as it
 * did before keystore_encryption_type existed (logged). *out returned owned (secret_free). On failure
 * returns the source's ACRA_E* code with keystore_last_error() set; Vault and KMS also log
 * their own error line first. For kms_encrypted_master_key ACRA_MASTER_KEY holds
 * base64(KMS blob) and is unset once read, as for env_master_key. */
int keystore_master_key_from_flags(const struct keystore_master_flags *f, struct secret **out)
	ACRA_MUSTCHECK;

#endif
