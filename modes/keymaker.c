/* modes/keymaker.c: acra keymaker, Acra's acra-keymaker (spec/acra-runtime.md §1.7,
 * spec/acra-formats.md §5.5): master keys and key pairs in a keystore v1 directory.
 *
 * Difference from Acra 0.82, on purpose: 0.82 honours only the first generate flag of an
 * else-if chain (connector > server > translator > acrawriter > webconfig). Here every
 * generate flag given is honoured, as in Acra 0.96, and none of them gives 0.82's default
 * set: connector, server, translator and storage key pairs of --client_id. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/fdio.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/kms.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/log.h"
#include "modes/modes.h"

struct keymaker_cfg {
	struct conf_base base;
	char *client_id;
	char *out_dir;
	char *pub_dir;
	char *master_file;
	bool gen_connector, gen_server, gen_translator, gen_writer;
	bool gen_sym, gen_hmac, gen_log, gen_poison;
	char *keystore;
	char *tls_cert, *tls_client_id_cert;
	struct keystore_redis_opts redis;
	struct keystore_master_flags master;
	char *kms_key_policy;
};

static const struct conf_opt keymaker_opts[] = {
	CONF_STR("client_id", struct keymaker_cfg, client_id, "client", "Client ID"),
	CONF_STR("keys_output_dir", struct keymaker_cfg, out_dir, KEYSTORE_DEFAULT_DIR,
		 "Folder where will be saved keys"),
	CONF_STR("keys_public_output_dir", struct keymaker_cfg, pub_dir, KEYSTORE_DEFAULT_DIR,
		 "Folder where will be saved public key"),
	CONF_STR("generate_master_key", struct keymaker_cfg, master_file, NULL,
		 "Generate new random master key and save to file"),
	CONF_BOOL("generate_acraconnector_keys", struct keymaker_cfg, gen_connector, "false",
		  "Create keypair for AcraConnector"),
	CONF_BOOL("generate_acraserver_keys", struct keymaker_cfg, gen_server, "false",
		  "Create keypair for AcraServer"),
	CONF_BOOL("generate_acratranslator_keys", struct keymaker_cfg, gen_translator, "false",
		  "Create keypair for AcraTranslator"),
	CONF_BOOL("generate_acrawriter_keys", struct keymaker_cfg, gen_writer, "false",
		  "Create keypair for data encryption/decryption"),
	CONF_BOOL("generate_symmetric_storage_key", struct keymaker_cfg, gen_sym, "false",
		  "Generate symmetric key for data encryption/decryption with AcraBlock"),
	CONF_BOOL("generate_hmac_key", struct keymaker_cfg, gen_hmac, "false",
		  "Create key for HMAC calculation (searchable encryption)"),
	CONF_BOOL("generate_log_key", struct keymaker_cfg, gen_log, "false",
		  "Create key for log integrity checks"),
	CONF_BOOL("generate_poisonrecord_keys", struct keymaker_cfg, gen_poison, "false",
		  "Generate keypair and symmetric key for poison records"),
	CONF_STR("keystore", struct keymaker_cfg, keystore, NULL,
		 "Keystore format: v1 (v2 is not supported)"),
	KEYSTORE_MASTER_CONF(struct keymaker_cfg, master),
	CONF_STR("kms_key_policy", struct keymaker_cfg, kms_key_policy, "create",
		 "KMS key policy: create (make alias/acra_master_key)"),
	CONF_STR("tls_cert", struct keymaker_cfg, tls_cert, NULL,
		 "Client id from a certificate (not supported: use --client_id)"),
	CONF_STR("tls_client_id_cert", struct keymaker_cfg, tls_client_id_cert, NULL,
		 "Client id from a certificate (not supported: use --client_id)"),
	KEYSTORE_REDIS_CONF(struct keymaker_cfg, redis, "0"),
	CONF_IGNORED("generate_acrawebconfig_keys", CONF_T_BOOL, "false",
		     "AcraWebconfig basic auth key (AcraWebconfig is not part of acra)"),
	CONF_IGNORED("tls_identifier_extractor_type", CONF_T_STR, "distinguished_name",
		     "How the client id is taken from a certificate"),
	CONF_END
};

static const struct conf_spec keymaker_spec = {
	"keymaker", "acra-keymaker", "make master keys and key pairs", keymaker_opts
};

/* One key set the tool can make; order = order of generation. */
struct keyset {
	enum keystore_kind kind;
	size_t flag_off; /* its bool in struct keymaker_cfg */
	bool in_default; /* 0.82's set when no generate flag is given */
};

static const struct keyset keysets[] = {
	{ KEYSTORE_CONNECTOR, offsetof(struct keymaker_cfg, gen_connector), true },
	{ KEYSTORE_SERVER, offsetof(struct keymaker_cfg, gen_server), true },
	{ KEYSTORE_TRANSLATOR, offsetof(struct keymaker_cfg, gen_translator), true },
	{ KEYSTORE_STORAGE, offsetof(struct keymaker_cfg, gen_writer), true },
	{ KEYSTORE_STORAGE_SYM, offsetof(struct keymaker_cfg, gen_sym), false },
	{ KEYSTORE_HMAC, offsetof(struct keymaker_cfg, gen_hmac), false },
	{ KEYSTORE_LOG, offsetof(struct keymaker_cfg, gen_log), false },
	{ KEYSTORE_POISON_SYM, offsetof(struct keymaker_cfg, gen_poison), false },
	{ KEYSTORE_POISON, offsetof(struct keymaker_cfg, gen_poison), false },
};

#define N_KEYSETS (sizeof(keysets) / sizeof(keysets[0]))

static bool flag_set(const struct keymaker_cfg *c, size_t off)
{
	return *(const bool *)((const char *)c + off);
}

static bool nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Usage checks; prints the reason. Returns 0 or 2 (usage) or 1 (unsupported). */
static int keymaker_check(const struct keymaker_cfg *c)
{
	static const struct {
		size_t off;
		const char *flag;
	} unsupported[] = {
		{ offsetof(struct keymaker_cfg, tls_cert), "tls_cert" },
		{ offsetof(struct keymaker_cfg, tls_client_id_cert), "tls_client_id_cert" },
	};
	const char *id = c->client_id != NULL ? c->client_id : "";

	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (nonempty(*(char *const *)((const char *)c + unsupported[i].off))) {
			fprintf(stderr, "acra-keymaker: --%s is not supported\n",
				unsupported[i].flag);
			return 1;
		}
	if (nonempty(c->kms_key_policy) && strcmp(c->kms_key_policy, "create") != 0) {
		fprintf(stderr, "acra-keymaker: --kms_key_policy=%.64s is not supported "
				"(supported: create)\n",
			c->kms_key_policy);
		return 1;
	}
	if (nonempty(c->keystore) && strcmp(c->keystore, "v1") != 0) {
		if (strcmp(c->keystore, "v2") == 0) {
			fprintf(stderr, "acra-keymaker: keystore v2 is not supported; use "
					"--keystore=v1\n");
			return 1;
		}
		fprintf(stderr, "acra-keymaker: invalid value \"%.64s\" for keystore; "
				"accepted: v1\n",
			c->keystore);
		return 2;
	}
	/* 0.82 validates the id even for --generate_master_key */
	if (!keystore_id_is_valid((const uint8_t *)id, strlen(id))) {
		fprintf(stderr, "acra-keymaker: invalid client_id \"%.64s\": 5..256 characters of "
				"A-Z a-z 0-9 _ - and space\n",
			id);
		return 2;
	}
	return 0;
}

/* --generate_master_key=FILE with kms_encrypted_master_key: a new KMS key under
 * alias/acra_master_key encrypts 32 random bytes; FILE receives the KMS blob. */
static int generate_kms_master_key(const struct keymaker_cfg *c)
{
	struct kms_opts ko = { 0 };
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	int rc;

	rc = kms_check_type(c->master.kms_type != NULL ? c->master.kms_type : "");
	if (rc == ACRA_OK)
		rc = kms_load_credentials(c->master.kms_credentials_path != NULL
						  ? c->master.kms_credentials_path
						  : "",
					  &ko);
	if (rc == ACRA_OK)
		rc = kms_create_master_key(&ko, NULL, &blob, &blob_len);
	if (rc == ACRA_OK)
		rc = kms_write_blob_file(c->master_file, blob, blob_len);
	if (rc == ACRA_OK)
		log_info("wrote a new KMS-encrypted master key to %s; use it with: export "
			 "ACRA_MASTER_KEY=$(base64 -w0 %s)",
			 c->master_file, c->master_file);
	free(blob);
	kms_opts_clear(&ko);
	return rc;
}

static int keymaker_run(const struct keymaker_cfg *c)
{
	struct keystore_opts o = { 0 };
	struct keystore *ks = NULL;
	struct secret *master = NULL;
	const uint8_t *id = (const uint8_t *)c->client_id;
	size_t id_len = strlen(c->client_id);
	bool any = false;
	int rc;

	if (nonempty(c->master_file) && c->master.encryption_type == KS_ENC_KMS_MASTER)
		return generate_kms_master_key(c);
	if (nonempty(c->master_file)) {
		rc = keystore_master_key_generate(c->master_file);
		if (rc != ACRA_OK)
			log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "cannot write master key: %s",
				 keystore_last_error());
		else
			log_info("wrote a new master key to %s; use it with: export "
				 "ACRA_MASTER_KEY=$(base64 %s)",
				 c->master_file, c->master_file);
		return rc;
	}
	rc = keystore_master_key_from_flags(&c->master, &master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "can't load master key: %s",
			 keystore_last_error());
		return rc;
	}
	o.dir = c->out_dir;
	o.public_dir = c->pub_dir;
	o.cache_size = KEYSTORE_CACHE_OFF;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, false, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&ks, &o);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_KEYSTORE_INIT, "cannot open keystore: %s",
			 keystore_last_error());
		goto out;
	}
	for (size_t i = 0; i < N_KEYSETS; i++)
		any = any || flag_set(c, keysets[i].flag_off);
	for (size_t i = 0; i < N_KEYSETS; i++) {
		const struct keyset *k = &keysets[i];
		bool global = keystore_kind_is_global(k->kind);

		if (any ? !flag_set(c, k->flag_off) : !k->in_default)
			continue;
		rc = keystore_generate(ks, k->kind, global ? NULL : id, global ? 0 : id_len, NULL);
		if (rc != ACRA_OK) {
			log_error("cannot generate the %s: %s", keystore_kind_name(k->kind),
				  keystore_last_error()[0] ? keystore_last_error()
							   : acra_strerror(rc));
			goto out;
		}
		if (global)
			log_info("generated the %s", keystore_kind_name(k->kind));
		else
			log_info("generated the %s for client id \"%s\"",
				 keystore_kind_name(k->kind), c->client_id);
	}
out:
	keystore_free(ks);
	secret_free(master);
	return rc;
}

int keymaker_main(int argc, char **argv)
{
	struct keymaker_cfg cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = conf_parse(&keymaker_spec, &cfg, argc, argv);
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return conf_exit_code(rc);
	}
	proc_harden();
	rc = keymaker_check(&cfg);
	if (rc == 0)
		rc = keymaker_run(&cfg) == ACRA_OK ? 0 : 1;
	conf_free(&cfg);
	return rc;
}
