/* modes/reader.c: acra reader: reads one envelope on stdin (a bare AcraStruct or AcraBlock,
 * told apart by their tags, or either in the 0.90+ %%% container) and writes its plaintext
 * on stdout with the keys of --client_id (<id>_storage, <id>_storage_sym) or, with
 * --zone_id, of that zone (<zone>_zone, <zone>_zone_sym; context = the zone id). Current
 * keys are tried first, then rotated ones, newest first.
 *
 * On any failure nothing is written to stdout, one line naming the reason (never data or
 * key bytes) goes to stderr, and the exit status is 1. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "lib/cli.h"
#include "lib/conf.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/envelope.h"
#include "lib/crypto/zone.h"
#include "lib/fdio.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/log.h"
#include "modes/modes.h"

/* the writer's 64 MiB plaintext limit plus any envelope overhead */
#define READER_MAX_INPUT ((64u << 20) + 4096u)

struct reader_cfg {
	struct conf_base base;
	char *keys_dir;
	struct keystore_redis_opts redis;
	struct keystore_master_flags master;
	char *client_id;
	char *zone_id;
};

static const struct conf_opt reader_opts[] = {
	CONF_STR("keys_dir", struct reader_cfg, keys_dir, KEYSTORE_DEFAULT_DIR,
		 "Folder from which the keys will be loaded"),
	CONF_STR("client_id", struct reader_cfg, client_id, NULL,
		 "Client ID whose keys decrypt (required)"),
	CONF_STR("zone_id", struct reader_cfg, zone_id, NULL,
		 "Zone ID: decrypt with the zone's keys and the zone id as context"),
	KEYSTORE_REDIS_CONF(struct reader_cfg, redis, "0"),
	KEYSTORE_MASTER_CONF(struct reader_cfg, master),
	CONF_END
};

static const struct conf_spec reader_spec = {
	"reader", "acra-reader", "decrypt an AcraStruct or AcraBlock on stdin to stdout",
	reader_opts
};

#define fail(...) cli_fail("acra-reader", __VA_ARGS__)
#define given cli_given

static int reader_check(const struct reader_cfg *c)
{
	if (!given(c->client_id)) {
		fail("--client_id is required");
		return 2;
	}
	if (!keystore_id_is_valid((const uint8_t *)c->client_id, strlen(c->client_id))) {
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

/* What the input is: the envelope itself (a view into the input) and its type. */
static int detect(const struct secret *in, struct bytes *env, bool *is_block)
{
	if (envelope_has_tag(in->p, in->len)) {
		enum envelope_id id;
		size_t total = 0;

		if (envelope_measure(in->p, in->len, &id, env, &total) != ACRA_OK ||
		    total != in->len)
			return ACRA_EPROTO;
		*is_block = id == ENVELOPE_ACRABLOCK;
		if (*is_block && acrablock_check(env->p, env->len) != ACRA_OK)
			return ACRA_EPROTO;
		return ACRA_OK;
	}
	env->p = in->p;
	env->len = in->len;
	if (acrastruct_check(in->p, in->len) == ACRA_OK) {
		*is_block = false;
		return ACRA_OK;
	}
	if (acrablock_check(in->p, in->len) == ACRA_OK) {
		*is_block = true;
		return ACRA_OK;
	}
	return ACRA_EPROTO;
}

static int reader_run(const struct reader_cfg *c)
{
	struct keystore_opts o = { 0 };
	struct keystore *ks = NULL;
	struct secret *master = NULL, *in = NULL, *out = NULL;
	struct keystore_keys keys = { 0 };
	struct bytes env;
	bool zone = given(c->zone_id), is_block = false;
	const char *id = zone ? c->zone_id : c->client_id;
	const uint8_t *ctx = zone ? (const uint8_t *)c->zone_id : NULL;
	size_t ctx_len = zone ? ZONE_ID_LEN : 0, pt_len = 0;
	enum keystore_kind kind;
	int rc;

	rc = fd_read_all(0, READER_MAX_INPUT, &in);
	if (rc != ACRA_OK) {
		fail(rc == ACRA_ERANGE ? "input is too large" : "cannot read stdin");
		goto out;
	}
	rc = detect(in, &env, &is_block);
	if (rc != ACRA_OK) {
		fail("input is not one AcraStruct or AcraBlock");
		goto out;
	}
	rc = keystore_master_key_from_flags(&c->master, &master);
	if (rc != ACRA_OK) {
		fail("can't load master key: %s", keystore_last_error());
		goto out;
	}
	o.dir = c->keys_dir;
	o.cache_size = KEYSTORE_CACHE_OFF;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, false, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&ks, &o);
	if (rc != ACRA_OK) {
		fail("cannot open keystore: %s", keystore_last_error());
		goto out;
	}
	if (is_block)
		kind = zone ? KEYSTORE_ZONE_SYM : KEYSTORE_STORAGE_SYM;
	else
		kind = zone ? KEYSTORE_ZONE : KEYSTORE_STORAGE;
	rc = keystore_get(ks, kind, KEYSTORE_PRIVATE, (const uint8_t *)id, strlen(id), &keys);
	if (rc != ACRA_OK) {
		fail("cannot load the %s of %s \"%s\": %s", keystore_kind_name(kind),
		     zone ? "zone" : "client id", id, keystore_last_error());
		goto out;
	}
	rc = secret_new(&out, env.len);
	if (rc != ACRA_OK) {
		fail("out of memory");
		goto out;
	}
	if (is_block) {
		rc = ACRA_ECRYPTO;
		for (size_t i = 0; i < keys.n && rc != ACRA_OK; i++)
			rc = acrablock_decrypt(keys.sym[i]->p, keys.sym[i]->len, ctx, ctx_len, env.p,
					       env.len, out->p, out->len, &pt_len);
	} else {
		rc = acrastruct_decrypt_any(keys.priv, keys.n, ctx, ctx_len, env.p, env.len, out->p,
					    out->len, &pt_len, NULL);
	}
	if (rc != ACRA_OK) {
		fail("cannot decrypt the %s: wrong %s or damaged data",
		     is_block ? "AcraBlock" : "AcraStruct",
		     zone ? "zone or key" : "client id or key");
		goto out;
	}
	rc = fd_write_all(1, out->p, pt_len);
	if (rc != ACRA_OK)
		fail("cannot write stdout");
out:
	if (ks != NULL)
		keystore_put(ks, &keys);
	keystore_free(ks);
	secret_free(out);
	secret_free(in);
	secret_free(master);
	return rc;
}

int reader_main(int argc, char **argv)
{
	struct reader_cfg cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = conf_parse(&reader_spec, &cfg, argc, argv);
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return conf_exit_code(rc);
	}
	proc_harden();
	rc = reader_check(&cfg);
	if (rc == 0)
		rc = reader_run(&cfg) == ACRA_OK ? 0 : 1;
	conf_free(&cfg);
	return rc;
}
