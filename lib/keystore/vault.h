/* lib/keystore/vault.h: the master key from HashiCorp Vault, as Acra 0.96 loads it for
 * --keystore_encryption_type=vault_master_key (keystore/keyloader/hashicorp).
 *
 * The token comes from env VAULT_API_TOKEN = base64(token), surrounding newlines trimmed.
 * GET /v1/sys/internal/ui/mounts finds the mount named by the first component of
 * vault_secrets_path; it must be of type "kv". KV v1 reads the path as given and takes
 * data.acra_master_key; KV v2 (options.version "2") reads <mount>/data/<rest> and takes
 * data.data.acra_master_key. The field is base64 of the master key (>= 32 bytes). */
#ifndef ACRA_LIB_KEYSTORE_VAULT_H
#define ACRA_LIB_KEYSTORE_VAULT_H

#include <stdbool.h>

#include "lib/err.h"
#include "lib/secmem.h"

#define VAULT_TOKEN_ENV "VAULT_API_TOKEN"
#define VAULT_DEFAULT_SECRETS_PATH "secret/"
#define VAULT_MASTER_KEY_FIELD "acra_master_key"
#define VAULT_MASTER_KEY_MIN_LEN 32

/* Options; every string borrowed. Names in comments are Acra's flags. */
struct vault_opts {
	const char *connection_api_string; /* vault_connection_api_string: http(s)://host:port */
	const char *secrets_path;          /* vault_secrets_path; NULL = "secret/" */
	bool tls_enable;                   /* vault_tls_transport_enable */
	const char *tls_ca;                /* vault_tls_client_ca (old: vault_tls_ca_path) */
	const char *tls_cert;              /* vault_tls_client_cert */
	const char *tls_key;               /* vault_tls_client_key */
	const char *tls_sni;               /* vault_tls_client_sni */
	const char *token_b64; /* base64 token; NULL = getenv(VAULT_API_TOKEN) (not unset) */
	int timeout_ms;        /* per request, connect to last byte; <= 0: 5000 */
};

/* Load the master key. *out is returned owned (secret_free). On failure logs exactly one
 * error line (event code 512) naming what failed, never the token or the key, and returns
 * ACRA_EINVAL (bad option or env), ACRA_EIO (Vault unreachable, timeout, TLS),
 * ACRA_EPERM (token refused), ACRA_ENOKEY (no engine, secret or field), ACRA_EPROTO
 * (reply not understood), ACRA_ERANGE (key shorter than 32 bytes) or ACRA_ENOMEM. */
int vault_load_master_key(const struct vault_opts *o, struct secret **out) ACRA_MUSTCHECK;

#endif
