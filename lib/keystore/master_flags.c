/* lib/keystore/master_flags.c: dispatch of keystore_encryption_type to the master-key
 * sources (environment, HashiCorp Vault, AWS KMS). */
#include "lib/keystore/master_flags.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/keystore/keystore.h"
#include "lib/keystore/kms.h"
#include "lib/keystore/private.h"
#include "lib/keystore/vault.h"
#include "lib/log.h"

const char *const keystore_master_enc_types[] = { "env_master_key", "vault_master_key",
						  "kms_encrypted_master_key", "master_key", NULL };

static const char *nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static int vault_load(const struct keystore_master_flags *f, struct secret **out)
{
	struct vault_opts vo;
	int rc;

	memset(&vo, 0, sizeof(vo));
	vo.connection_api_string = f->vault_api != NULL ? f->vault_api : "";
	vo.secrets_path = nz(f->vault_path);
	vo.tls_enable = f->vault_tls;
	vo.tls_ca = nz(f->vault_ca) != NULL ? f->vault_ca : nz(f->vault_ca_old);
	vo.tls_cert = nz(f->vault_cert);
	vo.tls_key = nz(f->vault_key);
	vo.tls_sni = nz(f->vault_sni);
	rc = vault_load_master_key(&vo, out);
	if (rc != ACRA_OK)
		keystore_set_error("cannot load the master key from HashiCorp Vault");
	return rc;
}

/* ACRA_MASTER_KEY = base64(KMS ciphertext blob), read once and unset. */
static int env_blob(uint8_t **blob, size_t *len)
{
	const char *v = getenv(KEYSTORE_MASTER_KEY_ENV);
	size_t vl;
	int rc = ACRA_OK;

	*blob = NULL;
	*len = 0;
	if (v == NULL || v[0] == '\0') {
		keystore_set_error("%s is not set: export %s=$(base64 -w0 KMS_BLOB_FILE)",
				   KEYSTORE_MASTER_KEY_ENV, KEYSTORE_MASTER_KEY_ENV);
		rc = ACRA_EINVAL;
		goto out;
	}
	vl = strlen(v);
	if (vl > 4 * KEYSTORE_MASTER_KEY_MAX) {
		keystore_set_error("%s is too long", KEYSTORE_MASTER_KEY_ENV);
		rc = ACRA_ERANGE;
		goto out;
	}
	*blob = malloc(vl + 1);
	if (*blob == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	if (sodium_base642bin(*blob, vl + 1, v, vl, "\r\n", len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		keystore_set_error("%s is not valid standard base64", KEYSTORE_MASTER_KEY_ENV);
		free(*blob);
		*blob = NULL;
		*len = 0;
		rc = ACRA_EINVAL;
	}
out:
	unsetenv(KEYSTORE_MASTER_KEY_ENV);
	return rc;
}

static int kms_load(const struct keystore_master_flags *f, struct secret **out)
{
	struct kms_opts ko;
	uint8_t *blob = NULL;
	size_t len = 0;
	int rc;

	memset(&ko, 0, sizeof(ko));
	rc = kms_check_type(f->kms_type != NULL ? f->kms_type : "");
	if (rc == ACRA_OK)
		rc = kms_load_credentials(f->kms_credentials_path != NULL ? f->kms_credentials_path
									  : "",
					  &ko);
	if (rc != ACRA_OK) {
		keystore_set_error("cannot use AWS KMS (see kms_type, kms_credentials_path)");
		unsetenv(KEYSTORE_MASTER_KEY_ENV);
		goto out;
	}
	rc = env_blob(&blob, &len);
	if (rc != ACRA_OK)
		goto out;
	rc = kms_decrypt_master_key(&ko, blob, len, out);
	if (rc != ACRA_OK)
		keystore_set_error("cannot decrypt the master key with AWS KMS");
out:
	free(blob);
	kms_opts_clear(&ko);
	return rc;
}

int keystore_master_key_from_flags(const struct keystore_master_flags *f, struct secret **out)
{
	*out = NULL;
	keystore_clear_error();
	switch (f->encryption_type) {
	case KS_ENC_ENV:
	case KS_ENC_ENV_OLD:
		if (nz(f->vault_api) == NULL)
			return keystore_master_key_load(NULL, out);
		/* before keystore_encryption_type existed, a Vault address alone chose Vault */
		log_info("--vault_connection_api_string given: the master key comes from "
			 "HashiCorp Vault");
		return vault_load(f, out);
	case KS_ENC_VAULT:
		return vault_load(f, out);
	case KS_ENC_KMS_MASTER:
		return kms_load(f, out);
	default:
		keystore_set_error("unknown keystore_encryption_type");
		return ACRA_EINVAL;
	}
}
