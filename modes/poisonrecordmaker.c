/* modes/poisonrecordmaker.c: acra poisonrecordmaker (acra-poisonrecordmaker): prints a new
 * poison record as padded standard base64 and a newline, as Acra's tool
 * (spec/acra-formats.md §4.1). An AcraStruct for the poison public key (default) or, with
 * --type=acrablock, an AcraBlock with the poison symmetric key (which needs
 * ACRA_MASTER_KEY); the keys come from acra keymaker --generate_poisonrecord_keys. Records
 * are written bare (no %%% container), which every Acra version detects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/conf.h"
#include "lib/crypto/poison.h"
#include "lib/fdio.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/log.h"
#include "modes/modes.h"

static const char *const poison_types[] = { "acrastruct", "acrablock", NULL };

struct prm_cfg {
	struct conf_base base;
	char *keys_dir;
	char *keys_dir_public;
	long data_length;
	int type;
	struct keystore_master_flags master;
};

static const struct conf_opt prm_opts[] = {
	CONF_STR("keys_dir", struct prm_cfg, keys_dir, KEYSTORE_DEFAULT_DIR,
		 "Folder from which will be loaded keys"),
	CONF_STR("keys_dir_public", struct prm_cfg, keys_dir_public, NULL,
		 "Folder from which will be loaded public keys"),
	CONF_INT("data_length", struct prm_cfg, data_length, "-1", -1, POISON_MAX_DATA_LEN,
		 "Length of random data for data block in acrastruct. -1 is random in range "
		 "1..100"),
	CONF_ENUM("type", struct prm_cfg, type, "acrastruct", poison_types,
		  "Type of poison record: \"acrastruct\" | \"acrablock\""),
	KEYSTORE_MASTER_CONF(struct prm_cfg, master),
	CONF_END
};

static const struct conf_spec prm_spec = {
	"poisonrecordmaker", "acra-poisonrecordmaker",
	"print a new poison record (base64) made with the keystore's poison keys", prm_opts
};

static int prm_run(const struct prm_cfg *c)
{
	struct keystore_opts o = { 0 };
	struct keystore *ks = NULL;
	struct secret *master = NULL;
	struct keystore_keys keys = { 0 };
	bool block = c->type == POISON_ACRABLOCK;
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	char *b64 = NULL;
	int rc;

	if (block) {
		rc = keystore_master_key_from_flags(&c->master, &master);
		if (rc != ACRA_OK) {
			fprintf(stderr, "acra-poisonrecordmaker: can't load master key: %s\n",
				keystore_last_error());
			return rc;
		}
	}
	o.dir = c->keys_dir;
	o.public_dir = c->keys_dir_public;
	o.cache_size = KEYSTORE_CACHE_OFF;
	o.master_key = master;
	rc = keystore_open(&ks, &o);
	if (rc == ACRA_OK)
		rc = keystore_get(ks, block ? KEYSTORE_POISON_SYM : KEYSTORE_POISON,
				  block ? KEYSTORE_PRIVATE : KEYSTORE_PUBLIC, NULL, 0, &keys);
	if (rc != ACRA_OK) {
		fprintf(stderr, "acra-poisonrecordmaker: cannot load the poison key: %s (make it "
			"with acra keymaker --generate_poisonrecord_keys)\n", keystore_last_error());
		goto out;
	}
	rc = poison_make(block ? POISON_ACRABLOCK : POISON_ACRASTRUCT, keys.pub,
			 block ? keys.sym[0]->p : NULL, block ? keys.sym[0]->len : 0,
			 c->data_length, false, &rec, &rec_len);
	if (rc != ACRA_OK) {
		fprintf(stderr, "acra-poisonrecordmaker: cannot make a record: %s\n",
			acra_strerror(rc));
		goto out;
	}
	b64 = malloc(sodium_base64_ENCODED_LEN(rec_len, sodium_base64_VARIANT_ORIGINAL) + 1);
	if (b64 == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(rec_len, sodium_base64_VARIANT_ORIGINAL),
			  rec, rec_len, sodium_base64_VARIANT_ORIGINAL);
	strcat(b64, "\n");
	rc = fd_write_all(1, (const uint8_t *)b64, strlen(b64));
out:
	free(b64);
	free(rec);
	if (ks != NULL)
		keystore_put(ks, &keys);
	keystore_free(ks);
	secret_free(master);
	return rc;
}

int poisonrecordmaker_main(int argc, char **argv)
{
	struct prm_cfg cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = conf_parse(&prm_spec, &cfg, argc, argv);
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return conf_exit_code(rc);
	}
	proc_harden();
	rc = prm_run(&cfg) == ACRA_OK ? 0 : 1;
	conf_free(&cfg);
	return rc;
}
