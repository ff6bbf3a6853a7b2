/* modes/writer.c: acra writer, what Acra's AcraWriter libraries do, as a command: reads a
 * plaintext on stdin and writes its envelope on stdout.
 *
 *   acra writer --keys_dir=DIR --client_id=ID            AcraStruct to <ID>_storage.pub
 *   acra writer --keys_dir=DIR --zone_id=ZID             AcraStruct to <ZID>_zone.pub,
 *                                                         context = the zone id (0.82 zones)
 *   acra writer --keys_dir=DIR --client_id=ID --acrablock AcraBlock with <ID>_storage_sym
 *   acra writer --keys_dir=DIR --zone_id=ZID --acrablock  AcraBlock with <ZID>_zone_sym,
 *                                                         context = the zone id (0.90-0.94)
 *
 * AcraStructs need only the public key; AcraBlocks need ACRA_MASTER_KEY. The envelope is
 * written bare (no %%% container), which every Acra version reads. Input is limited to
 * WRITER_MAX_INPUT bytes and must not be empty (Themis cannot seal empty data). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/cli.h"
#include "lib/conf.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/zone.h"
#include "lib/fdio.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/log.h"
#include "modes/modes.h"

#define WRITER_MAX_INPUT (64u << 20) /* 64 MiB */

struct writer_cfg {
	struct conf_base base;
	char *keys_dir;
	struct keystore_redis_opts redis;
	struct keystore_master_flags master;
	char *keys_dir_public;
	char *client_id;
	char *zone_id;
	bool acrablock;
};

static const struct conf_opt writer_opts[] = {
	CONF_STR("keys_dir", struct writer_cfg, keys_dir, KEYSTORE_DEFAULT_DIR,
		 "Folder from which the keys will be loaded"),
	CONF_STR("keys_dir_public", struct writer_cfg, keys_dir_public, NULL,
		 "Folder with public keys (default: keys_dir)"),
	CONF_STR("client_id", struct writer_cfg, client_id, NULL,
		 "Client ID whose keys encrypt (<id>_storage.pub, or <id>_storage_sym)"),
	CONF_STR("zone_id", struct writer_cfg, zone_id, NULL,
		 "Zone ID whose keys encrypt (<zone>_zone.pub, or <zone>_zone_sym)"),
	CONF_BOOL("acrablock", struct writer_cfg, acrablock, "false",
		  "Make an AcraBlock with the symmetric key instead of an AcraStruct"),
	KEYSTORE_REDIS_CONF(struct writer_cfg, redis, "0"),
	KEYSTORE_MASTER_CONF(struct writer_cfg, master),
	CONF_END
};

static const struct conf_spec writer_spec = {
	"writer", "acra-writer", "encrypt stdin into an AcraStruct or AcraBlock on stdout",
	writer_opts
};

#define fail(...) cli_fail("acra-writer", __VA_ARGS__)
#define given cli_given

static int writer_check(const struct writer_cfg *c)
{
	if (given(c->client_id) == given(c->zone_id)) {
		fail("give exactly one of --client_id and --zone_id");
		return 2;
	}
	if (given(c->client_id) &&
	    !keystore_id_is_valid((const uint8_t *)c->client_id, strlen(c->client_id))) {
		fail("invalid client_id: 5..256 characters of A-Z a-z 0-9 _ - and space");
		return 2;
	}
	if (given(c->zone_id) && !zone_id_is_valid((const uint8_t *)c->zone_id,
						   strlen(c->zone_id))) {
		fail("invalid zone_id: \"DDDDDDDD\" followed by 16 letters");
		return 2;
	}
	return 0;
}

static int writer_run(const struct writer_cfg *c)
{
	struct keystore_opts o = { 0 };
	struct keystore *ks = NULL;
	struct secret *master = NULL, *in = NULL;
	struct keystore_keys keys = { 0 };
	bool zone = given(c->zone_id);
	const char *id = zone ? c->zone_id : c->client_id;
	const uint8_t *ctx = zone ? (const uint8_t *)c->zone_id : NULL;
	size_t ctx_len = zone ? ZONE_ID_LEN : 0;
	uint8_t *out = NULL;
	size_t out_cap, out_len = 0;
	enum keystore_kind kind;
	int rc;

	rc = fd_read_all(0, WRITER_MAX_INPUT, &in);
	if (rc != ACRA_OK) {
		fail(rc == ACRA_ERANGE ? "input is larger than 64 MiB" : "cannot read stdin");
		goto out;
	}
	if (in->len == 0) {
		fail("input is empty: there is nothing to encrypt");
		rc = ACRA_EINVAL;
		goto out;
	}
	if (c->acrablock) {
		rc = keystore_master_key_from_flags(&c->master, &master);
		if (rc != ACRA_OK) {
			fail("can't load master key: %s", keystore_last_error());
			goto out;
		}
	}
	o.dir = c->keys_dir;
	o.public_dir = c->keys_dir_public;
	o.cache_size = KEYSTORE_CACHE_OFF;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, false, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&ks, &o);
	if (rc != ACRA_OK) {
		fail("cannot open keystore: %s", keystore_last_error());
		goto out;
	}
	if (c->acrablock) {
		kind = zone ? KEYSTORE_ZONE_SYM : KEYSTORE_STORAGE_SYM;
		rc = keystore_get(ks, kind, KEYSTORE_PRIVATE, (const uint8_t *)id, strlen(id),
				  &keys);
		out_cap = acrablock_size(in->len);
	} else {
		kind = zone ? KEYSTORE_ZONE : KEYSTORE_STORAGE;
		rc = keystore_get(ks, kind, KEYSTORE_PUBLIC, (const uint8_t *)id, strlen(id),
				  &keys);
		out_cap = acrastruct_size(in->len);
	}
	if (rc != ACRA_OK) {
		fail("cannot load the %s of %s \"%s\": %s", keystore_kind_name(kind),
		     zone ? "zone" : "client id", id, keystore_last_error());
		goto out;
	}
	out = malloc(out_cap);
	if (out == NULL) {
		fail("out of memory");
		rc = ACRA_ENOMEM;
		goto out;
	}
	if (c->acrablock)
		rc = acrablock_encrypt(keys.sym[0]->p, keys.sym[0]->len, ctx, ctx_len, in->p,
				       in->len, out, out_cap, &out_len);
	else
		rc = acrastruct_encrypt(keys.pub, ctx, ctx_len, in->p, in->len, out, out_cap,
					&out_len);
	if (rc != ACRA_OK) {
		fail("cannot encrypt: %s", acra_strerror(rc));
		goto out;
	}
	rc = fd_write_all(1, out, out_len);
	if (rc != ACRA_OK)
		fail("cannot write stdout");
out:
	free(out);
	if (ks != NULL)
		keystore_put(ks, &keys);
	keystore_free(ks);
	secret_free(in);
	secret_free(master);
	return rc;
}

int writer_main(int argc, char **argv)
{
	struct writer_cfg cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = conf_parse(&writer_spec, &cfg, argc, argv);
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return conf_exit_code(rc);
	}
	proc_harden();
	rc = writer_check(&cfg);
	if (rc == 0)
		rc = writer_run(&cfg) == ACRA_OK ? 0 : 1;
	conf_free(&cfg);
	return rc;
}
