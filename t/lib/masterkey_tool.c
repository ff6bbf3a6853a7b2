/* t/lib/masterkey_tool.c: test driver for the Vault and AWS KMS master-key sources
 * (build/masterkey-tool). Takes Acra's flag names; prints the SHA-256 and length of the
 * key it obtained, never the key. Exit 0 ok, 1 failure, 2 usage.
 *
 *   masterkey-tool vault --vault_connection_api_string=URL [--vault_secrets_path=P]
 *       [--vault_tls_transport_enable] [--vault_tls_client_ca=F] [--vault_tls_client_cert=F]
 *       [--vault_tls_client_key=F] [--vault_tls_client_sni=N] [--timeout_ms=N]
 *   masterkey-tool kms-decrypt --kms_type=aws --kms_credentials_path=F [--timeout_ms=N]
 *       (ACRA_MASTER_KEY = base64 of the KMS ciphertext)
 *   masterkey-tool kms-create --kms_type=aws --kms_credentials_path=F
 *       --generate_master_key=FILE [--timeout_ms=N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/keystore/kms.h"
#include "lib/keystore/vault.h"
#include "lib/log.h"
#include "lib/secmem.h"

struct tool_args {
	const char *vault_url, *vault_path, *ca, *cert, *key, *sni;
	const char *kms_type, *kms_creds, *out_file;
	int tls, timeout_ms;
};

static const char *flag_value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, "--", 2) == 0)
		arg += 2;
	else if (arg[0] == '-')
		arg += 1;
	else
		return NULL;
	if (strncmp(arg, name, n) != 0)
		return NULL;
	if (arg[n] == '=')
		return arg + n + 1;
	if (arg[n] == '\0')
		return "";
	return NULL;
}

static int parse(int argc, char **argv, struct tool_args *a)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
		{ "vault_connection_api_string", offsetof(struct tool_args, vault_url) },
		{ "vault_secrets_path", offsetof(struct tool_args, vault_path) },
		{ "vault_tls_client_ca", offsetof(struct tool_args, ca) },
		{ "vault_tls_ca_path", offsetof(struct tool_args, ca) },
		{ "vault_tls_client_cert", offsetof(struct tool_args, cert) },
		{ "vault_tls_client_key", offsetof(struct tool_args, key) },
		{ "vault_tls_client_sni", offsetof(struct tool_args, sni) },
		{ "kms_type", offsetof(struct tool_args, kms_type) },
		{ "kms_credentials_path", offsetof(struct tool_args, kms_creds) },
		{ "generate_master_key", offsetof(struct tool_args, out_file) },
	};

	for (int i = 2; i < argc; i++) {
		const char *v;
		bool done = false;

		for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]) && !done; k++) {
			v = flag_value(argv[i], strs[k].name);
			if (v) {
				*(const char **)((char *)a + strs[k].off) = v;
				done = true;
			}
		}
		if (done)
			continue;
		if ((v = flag_value(argv[i], "vault_tls_transport_enable"))) {
			a->tls = *v == '\0' || strcmp(v, "true") == 0;
		} else if ((v = flag_value(argv[i], "timeout_ms"))) {
			a->timeout_ms = atoi(v);
		} else {
			fprintf(stderr, "masterkey-tool: unknown flag %s\n", argv[i]);
			return 2;
		}
	}
	return 0;
}

static void print_key(const struct secret *k)
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, k->p, k->len);
	printf("sha256=");
	for (size_t i = 0; i < sizeof(h); i++)
		printf("%02x", h[i]);
	printf(" len=%zu\n", k->len);
}

int main(int argc, char **argv)
{
	struct tool_args a = { 0 };
	struct kms_opts ko = { 0 };
	struct secret *key = NULL, *blob = NULL;
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	int rc;

	if (sodium_init() < 0)
		return 1;
	if (argc < 2 || parse(argc, argv, &a) != 0) {
		fprintf(stderr, "usage: masterkey-tool vault|kms-decrypt|kms-create [flags]\n");
		return 2;
	}
	if (strcmp(argv[1], "vault") == 0) {
		struct vault_opts vo = {
			.connection_api_string = a.vault_url, .secrets_path = a.vault_path,
			.tls_enable = a.tls, .tls_ca = a.ca, .tls_cert = a.cert, .tls_key = a.key,
			.tls_sni = a.sni, .timeout_ms = a.timeout_ms,
		};
		rc = vault_load_master_key(&vo, &key);
	} else if (strcmp(argv[1], "kms-decrypt") == 0 || strcmp(argv[1], "kms-create") == 0) {
		rc = kms_check_type(a.kms_type);
		if (rc == 0)
			rc = kms_load_credentials(a.kms_creds, &ko);
		ko.timeout_ms = a.timeout_ms;
		if (rc == 0 && argv[1][4] == 'd') {
			const char *b64 = getenv("ACRA_MASTER_KEY");
			size_t n = 0, len = b64 ? strlen(b64) : 0;

			rc = secret_new(&blob, len / 4 * 3 + 3);
			if (rc == 0 && (!b64 || !*b64 ||
					sodium_base642bin(blob->p, blob->len, b64, len, "\r\n",
							  &n, NULL,
							  sodium_base64_VARIANT_ORIGINAL) != 0)) {
				log_error("ACRA_MASTER_KEY is missing or not valid base64");
				rc = ACRA_EINVAL;
			}
			if (rc == 0)
				rc = kms_decrypt_master_key(&ko, blob->p, n, &key);
		} else if (rc == 0) {
			if (!a.out_file || !*a.out_file) {
				fprintf(stderr, "masterkey-tool: --generate_master_key=FILE needed\n");
				kms_opts_clear(&ko);
				return 2;
			}
			rc = kms_create_master_key(&ko, &key, &ct, &ct_len);
			if (rc == 0)
				rc = kms_write_blob_file(a.out_file, ct, ct_len);
		}
	} else {
		fprintf(stderr, "masterkey-tool: unknown command %s\n", argv[1]);
		return 2;
	}
	if (rc == 0)
		print_key(key);
	secret_free(key);
	secret_free(blob);
	free(ct);
	kms_opts_clear(&ko);
	return rc == 0 ? 0 : 1;
}
