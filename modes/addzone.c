/* modes/addzone.c: acra addzone, Acra's acra-addzone (spec/acra-runtime.md §1.8,
 * spec/acra-formats.md §2): a new zone id (CSPRNG) and its key pair, the private key sealed
 * with the master key and the zone id as context, and, as Acra 0.90-0.94 do, the zone's
 * symmetric key <zone>_zone_sym. Prints one line of compact JSON, keys sorted as Go's
 * encoding/json writes a map: {"id":"<zone id>","public_key":"<base64 of the .pub file>"} */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "lib/conf.h"
#include "lib/fdio.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/log.h"
#include "modes/modes.h"

struct addzone_cfg {
	struct conf_base base;
	char *out_dir;
	bool fs_keystore;
	struct keystore_redis_opts redis;
	struct keystore_master_flags master;
};

static const struct conf_opt addzone_opts[] = {
	CONF_STR("keys_output_dir", struct addzone_cfg, out_dir, KEYSTORE_DEFAULT_DIR,
		 "Folder where will be saved generated zone keys"),
	CONF_BOOL("fs_keystore_enable", struct addzone_cfg, fs_keystore, "true",
		  "Use filesystem key store"),
	KEYSTORE_REDIS_CONF(struct addzone_cfg, redis, "0"),
	KEYSTORE_MASTER_CONF(struct addzone_cfg, master),
	CONF_END
};

static const struct conf_spec addzone_spec = {
	"addzone", "acra-addzone", "make a zone: id and key pair", addzone_opts
};

static int addzone_run(const struct addzone_cfg *c)
{
	struct keystore_opts o = { 0 };
	struct keystore *ks = NULL;
	struct secret *master = NULL;
	char id[ZONE_ID_LEN + 1];
	uint8_t pub[EC_PUB_LEN];
	char b64[sodium_base64_ENCODED_LEN(EC_PUB_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char line[160];
	int rc, n;

	if (!c->fs_keystore) {
		log_error("only the filesystem keystore is supported (--fs_keystore_enable=true)");
		return ACRA_EINVAL;
	}
	rc = keystore_master_key_from_flags(&c->master, &master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "can't load master key: %s",
			 keystore_last_error());
		return rc;
	}
	o.dir = c->out_dir;
	o.cache_size = KEYSTORE_CACHE_OFF;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, false, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&ks, &o);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_KEYSTORE_INIT, "can't create key store: %s",
			 keystore_last_error());
		goto out;
	}
	rc = keystore_generate_zone(ks, id, pub);
	if (rc != ACRA_OK) {
		log_error("can't add zone: %s", keystore_last_error()[0] ? keystore_last_error()
									 : acra_strerror(rc));
		goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), pub, sizeof(pub), sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(line, sizeof(line), "{\"id\":\"%s\",\"public_key\":\"%s\"}\n", id, b64);
	if (n < 0 || (size_t)n >= sizeof(line) || fd_write_all(1, line, (size_t)n) != ACRA_OK) {
		log_error("cannot write the zone to stdout");
		rc = ACRA_EIO;
	}
out:
	keystore_free(ks);
	secret_free(master);
	return rc;
}

int addzone_main(int argc, char **argv)
{
	struct addzone_cfg cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = conf_parse(&addzone_spec, &cfg, argc, argv);
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return conf_exit_code(rc);
	}
	proc_harden();
	rc = addzone_run(&cfg) == ACRA_OK ? 0 : 1;
	conf_free(&cfg);
	return rc;
}
