/* modes/keys.c: acra keys (Acra 0.96's acra-keys): key administration of a keystore v1 on
 * the filesystem or in Redis.
 *
 *   acra keys [options] generate --client_id=ID [--client_storage_key ...]   (rotates)
 *   acra keys [options] list [--json] [--rotated-keys]
 *   acra keys [options] read [--public|--private] KEY-ID       (decrypted bytes on stdout)
 *   acra keys [options] destroy KEY-ID | transport-KIND --client_id=ID
 *   acra keys [options] export --key_bundle_file=F --key_bundle_secret=S [--private_keys]
 *                              (--all | KEY-ID...)
 *   acra keys [options] import --key_bundle_file=F --key_bundle_secret=S
 *
 * Key ids are Acra's: client/<id>/storage, client/<id>/symmetric, client/<id>/searchable,
 * zone/<id>/storage, zone/<id>/symmetric, poison-record, poison-record-symmetric, and
 * audit-log; Acra 0.93's read kinds (storage-public ...) and destroy kinds
 * (transport-connector ...) with --client_id/--zone_id work too. Options may come before or
 * after the command. The bundle format is described in docs/keys.md. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "lib/cli.h"
#include "lib/conf.h"
#include "lib/crypto/cell.h"
#include "lib/crypto/ec.h"
#include "lib/fdio.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/log.h"
#include "modes/modes.h"

#define BUNDLE_MAGIC "ACRA-KEYS-BUNDLE v1\n"
#define BUNDLE_CONTEXT "acra keys bundle"
#define BUNDLE_MAX (16u << 20)
#define MAX_ARGS 64

struct keys_cfg {
	struct conf_base base;
	char *keys_dir, *keys_dir_public, *keystore;
	struct keystore_redis_opts redis;
	struct keystore_master_flags master;
	char *client_id, *zone_id;
	bool client_storage_key, client_storage_symmetric_key, search_hmac_symmetric_key;
	bool poison_record_keys, audit_log_symmetric_key;
	bool json, rotated_keys, public_part, private_part;
	char *key_bundle_file, *key_bundle_secret;
	bool private_keys, all;
};

#define K struct keys_cfg
static const struct conf_opt keys_opts[] = {
	CONF_STR("keys_dir", K, keys_dir, KEYSTORE_DEFAULT_DIR, "path to key directory"),
	CONF_STR("keys_dir_public", K, keys_dir_public, "",
		 "path to key directory for public keys"),
	CONF_STR("keystore", K, keystore, "", "force key store format: v1 (v2 is not supported)"),
	CONF_STR("client_id", K, client_id, "", "client ID"),
	CONF_STR("zone_id", K, zone_id, "", "zone ID"),
	CONF_BOOL("client_storage_key", K, client_storage_key, "false",
		  "generate: client storage key pair (AcraStruct)"),
	CONF_BOOL("client_storage_symmetric_key", K, client_storage_symmetric_key, "false",
		  "generate: client symmetric storage key (AcraBlock)"),
	CONF_BOOL("search_hmac_symmetric_key", K, search_hmac_symmetric_key, "false",
		  "generate: searchable encryption HMAC key"),
	CONF_BOOL("poison_record_keys", K, poison_record_keys, "false",
		  "generate: poison record key pair and symmetric key"),
	CONF_BOOL("audit_log_symmetric_key", K, audit_log_symmetric_key, "false",
		  "generate: audit log key"),
	CONF_BOOL("json", K, json, "false", "list: use machine-readable JSON output"),
	CONF_BOOL("rotated-keys", K, rotated_keys, "false", "list: show rotated keys too"),
	CONF_BOOL("public", K, public_part, "false", "read: the public key of a pair"),
	CONF_BOOL("private", K, private_part, "false", "read: the private key of a pair"),
	CONF_STR("key_bundle_file", K, key_bundle_file, "", "export/import: key bundle file"),
	CONF_STR("key_bundle_secret", K, key_bundle_secret, "",
		 "export/import: file with the key that encrypts the bundle"),
	CONF_BOOL("private_keys", K, private_keys, "false",
		  "export: private and symmetric keys too (public keys only otherwise)"),
	CONF_BOOL("all", K, all, "false", "export: every key in the keystore"),
	KEYSTORE_REDIS_CONF(K, redis, "0"),
	KEYSTORE_MASTER_CONF(K, master),
	CONF_END
};
#undef K

static const struct conf_spec keys_spec = {
	"keys", "acra-keys",
	"key administration: generate (rotate), list, read, destroy, export, import", keys_opts
};

#define fail(...) cli_fail("acra-keys", __VA_ARGS__)
#define given cli_given

/* ---- key ids ------------------------------------------------------------------------ */

struct key_ref {
	enum keystore_kind kind;
	char id[KEYSTORE_ID_MAX + 1]; /* empty for global kinds */
};

static const struct {
	const char *name; /* the last part of client/<id>/NAME or zone/<id>/NAME */
	enum keystore_kind kind;
	bool zone;
	const char *purpose;
} id_kinds[] = {
	{ "storage", KEYSTORE_STORAGE, false, "client storage key pair" },
	{ "symmetric", KEYSTORE_STORAGE_SYM, false, "client symmetric storage key" },
	{ "searchable", KEYSTORE_HMAC, false, "searchable encryption HMAC key" },
	{ "storage", KEYSTORE_ZONE, true, "zone storage key pair" },
	{ "symmetric", KEYSTORE_ZONE_SYM, true, "zone symmetric storage key" },
};

static const struct {
	const char *name;
	enum keystore_kind kind;
	const char *purpose;
} global_ids[] = {
	{ "poison-record", KEYSTORE_POISON, "poison record key pair" },
	{ "poison-record-symmetric", KEYSTORE_POISON_SYM, "poison record symmetric key" },
	{ "audit-log", KEYSTORE_LOG, "audit log key" },
};

static const struct {
	const char *name; /* Acra 0.93 destroy kinds */
	enum keystore_kind kind;
	const char *purpose;
} transport_kinds[] = {
	{ "transport-connector", KEYSTORE_CONNECTOR, "AcraConnector transport key pair" },
	{ "transport-server", KEYSTORE_SERVER, "AcraServer transport key pair" },
	{ "transport-translator", KEYSTORE_TRANSLATOR, "AcraTranslator transport key pair" },
};

static const char *purpose_of(enum keystore_kind kind)
{
	for (size_t i = 0; i < sizeof(id_kinds) / sizeof(id_kinds[0]); i++)
		if (id_kinds[i].kind == kind)
			return id_kinds[i].purpose;
	for (size_t i = 0; i < sizeof(global_ids) / sizeof(global_ids[0]); i++)
		if (global_ids[i].kind == kind)
			return global_ids[i].purpose;
	for (size_t i = 0; i < sizeof(transport_kinds) / sizeof(transport_kinds[0]); i++)
		if (transport_kinds[i].kind == kind)
			return transport_kinds[i].purpose;
	return "key";
}

/* The id string of a key (what read/export take). */
static void ref_name(const struct key_ref *r, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(global_ids) / sizeof(global_ids[0]); i++)
		if (global_ids[i].kind == r->kind) {
			snprintf(buf, len, "%s", global_ids[i].name);
			return;
		}
	for (size_t i = 0; i < sizeof(id_kinds) / sizeof(id_kinds[0]); i++)
		if (id_kinds[i].kind == r->kind) {
			snprintf(buf, len, "%s/%s/%s", id_kinds[i].zone ? "zone" : "client", r->id,
				 id_kinds[i].name);
			return;
		}
	for (size_t i = 0; i < sizeof(transport_kinds) / sizeof(transport_kinds[0]); i++)
		if (transport_kinds[i].kind == r->kind) {
			snprintf(buf, len, "client/%s/%s", r->id, transport_kinds[i].name);
			return;
		}
	snprintf(buf, len, "?");
}

static bool set_id(struct key_ref *r, const char *id, size_t len)
{
	if (!keystore_id_is_valid((const uint8_t *)id, len))
		return false;
	memcpy(r->id, id, len);
	r->id[len] = '\0';
	return true;
}

/* Parse a key id (or an Acra 0.93 kind with --client_id/--zone_id). *part_hint gets the part
 * an old-style kind names (or -1). Returns 0 or ACRA_EINVAL (message printed). */
static int parse_ref(const struct keys_cfg *c, const char *s, struct key_ref *r, int *part_hint)
{
	static const struct {
		const char *name;
		enum keystore_kind kind;
		int part;
		int id_from; /* 0 none, 1 client, 2 zone */
	} old[] = {
		{ "poison-public", KEYSTORE_POISON, KEYSTORE_PUBLIC, 0 },
		{ "poison-private", KEYSTORE_POISON, KEYSTORE_PRIVATE, 0 },
		{ "storage-public", KEYSTORE_STORAGE, KEYSTORE_PUBLIC, 1 },
		{ "storage-private", KEYSTORE_STORAGE, KEYSTORE_PRIVATE, 1 },
		{ "zone-public", KEYSTORE_ZONE, KEYSTORE_PUBLIC, 2 },
		{ "zone-private", KEYSTORE_ZONE, KEYSTORE_PRIVATE, 2 },
		{ "transport-connector", KEYSTORE_CONNECTOR, -1, 1 },
		{ "transport-server", KEYSTORE_SERVER, -1, 1 },
		{ "transport-translator", KEYSTORE_TRANSLATOR, -1, 1 },
	};
	const char *slash, *rest;

	memset(r, 0, sizeof(*r));
	*part_hint = -1;
	for (size_t i = 0; i < sizeof(global_ids) / sizeof(global_ids[0]); i++)
		if (strcmp(s, global_ids[i].name) == 0) {
			r->kind = global_ids[i].kind;
			return ACRA_OK;
		}
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		const char *id;

		if (strcmp(s, old[i].name) != 0)
			continue;
		r->kind = old[i].kind;
		*part_hint = old[i].part;
		if (old[i].id_from == 0)
			return ACRA_OK;
		id = old[i].id_from == 1 ? c->client_id : c->zone_id;
		if (!given(id)) {
			fail("\"%s\" needs --%s", s, old[i].id_from == 1 ? "client_id" : "zone_id");
			return ACRA_EINVAL;
		}
		if (!set_id(r, id, strlen(id))) {
			fail("invalid id \"%.64s\": 5 to 256 characters from [A-Za-z0-9_- ]", id);
			return ACRA_EINVAL;
		}
		return ACRA_OK;
	}
	if (strncmp(s, "client/", 7) == 0 || strncmp(s, "zone/", 5) == 0) {
		bool zone = s[0] == 'z';

		rest = s + (zone ? 5 : 7);
		slash = strrchr(rest, '/');
		if (slash != NULL) {
			for (size_t i = 0; i < sizeof(id_kinds) / sizeof(id_kinds[0]); i++)
				if (id_kinds[i].zone == zone && strcmp(slash + 1, id_kinds[i].name) == 0) {
					r->kind = id_kinds[i].kind;
					if (!set_id(r, rest, (size_t)(slash - rest))) {
						fail("invalid id in \"%.80s\": 5 to 256 characters from "
						     "[A-Za-z0-9_- ]", s);
						return ACRA_EINVAL;
					}
					return ACRA_OK;
				}
		}
	}
	if (strncmp(s, "client/", 7) == 0 && (slash = strrchr(s + 7, '/')) != NULL) {
		for (size_t i = 0; i < sizeof(transport_kinds) / sizeof(transport_kinds[0]); i++)
			if (strcmp(slash + 1, transport_kinds[i].name) == 0) {
				r->kind = transport_kinds[i].kind;
				if (set_id(r, s + 7, (size_t)(slash - s - 7)))
					return ACRA_OK;
			}
	}
	fail("unknown key id \"%.80s\": use client/<id>/storage, client/<id>/symmetric, "
	     "client/<id>/searchable, zone/<id>/storage, zone/<id>/symmetric, poison-record, "
	     "poison-record-symmetric or audit-log", s);
	return ACRA_EINVAL;
}

/* ---- keystore ------------------------------------------------------------------------ */

static int open_ks(const struct keys_cfg *c, bool need_master, struct keystore **ks)
{
	struct keystore_opts o = { 0 };
	struct secret *master = NULL;
	int rc;

	*ks = NULL;
	if (given(c->keystore) && strcmp(c->keystore, "v1") != 0) {
		fail("--keystore=%s is not supported: only keystore v1", c->keystore);
		return ACRA_EINVAL;
	}
	if (need_master) {
		rc = keystore_master_key_from_flags(&c->master, &master);
		if (rc != ACRA_OK) {
			fail("can't load master key: %s", keystore_last_error());
			return ACRA_EIO; /* a run-time failure (exit 1), not a usage error */
		}
	}
	o.dir = c->keys_dir;
	o.public_dir = given(c->keys_dir_public) ? c->keys_dir_public : NULL;
	o.cache_size = KEYSTORE_CACHE_OFF;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, false, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(ks, &o);
	secret_free(master);
	if (rc != ACRA_OK)
		fail("cannot open keystore: %s", keystore_last_error());
	return rc;
}

/* ---- generate ------------------------------------------------------------------------ */

static int cmd_generate(const struct keys_cfg *c)
{
	const struct {
		bool on;
		enum keystore_kind kind;
	} want[] = {
		{ c->client_storage_key, KEYSTORE_STORAGE },
		{ c->client_storage_symmetric_key, KEYSTORE_STORAGE_SYM },
		{ c->search_hmac_symmetric_key, KEYSTORE_HMAC },
		{ c->poison_record_keys, KEYSTORE_POISON },
		{ c->poison_record_keys, KEYSTORE_POISON_SYM },
		{ c->audit_log_symmetric_key, KEYSTORE_LOG },
	};
	bool any = false, per_client = false;
	struct keystore *ks;
	int rc = ACRA_OK;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		any = any || want[i].on;
		per_client = per_client || (want[i].on && !keystore_kind_is_global(want[i].kind));
	}
	if (!any) {
		fail("generate: choose keys: --client_storage_key, --client_storage_symmetric_key, "
		     "--search_hmac_symmetric_key, --poison_record_keys, --audit_log_symmetric_key");
		return ACRA_EINVAL;
	}
	if (per_client && !keystore_id_is_valid((const uint8_t *)c->client_id,
						 given(c->client_id) ? strlen(c->client_id) : 0)) {
		fail("generate: --client_id is required (5 to 256 characters from [A-Za-z0-9_- ])");
		return ACRA_EINVAL;
	}
	rc = open_ks(c, true, &ks);
	if (rc != ACRA_OK)
		return rc;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]) && rc == ACRA_OK; i++) {
		bool global = keystore_kind_is_global(want[i].kind), had;
		const uint8_t *id = global ? NULL : (const uint8_t *)c->client_id;
		size_t id_len = global ? 0 : strlen(c->client_id);

		if (!want[i].on)
			continue;
		had = keystore_has(ks, want[i].kind, id, id_len);
		rc = keystore_generate(ks, want[i].kind, id, id_len, NULL);
		if (rc != ACRA_OK) {
			fail("cannot generate the %s: %s", keystore_kind_name(want[i].kind),
			     keystore_last_error());
			break;
		}
		printf("%s %s%s%s\n", had ? "Rotated" : "Generated", purpose_of(want[i].kind),
		       global ? "" : " for ", global ? "" : c->client_id);
	}
	keystore_free(ks);
	return rc;
}

/* ---- list ---------------------------------------------------------------------------- */

struct listed {
	struct key_ref ref;
	char version[64]; /* rotated version time, or empty for the current key */
};

/* Which key a file of the keystore's top directory belongs to. */
static bool classify(const char *name, struct key_ref *r)
{
	size_t id_len = 0;
	enum keystore_part part;

	memset(r, 0, sizeof(*r));
	if (keystore_classify_file(name, &r->kind, &part, &id_len) != ACRA_OK)
		return false;
	memcpy(r->id, name, id_len);
	r->id[id_len] = '\0';
	return true;
}

static int add_listed(struct listed **v, size_t *n, size_t *cap, const struct key_ref *r,
		      const char *version)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].ref.kind == r->kind && strcmp((*v)[i].ref.id, r->id) == 0 &&
		    strcmp((*v)[i].version, version) == 0)
			return ACRA_OK; /* the other half of a pair */
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		struct listed *nv = realloc(*v, nc * sizeof(*nv));

		if (nv == NULL)
			return ACRA_ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[*n].ref = *r;
	snprintf((*v)[*n].version, sizeof((*v)[*n].version), "%s", version);
	(*n)++;
	return ACRA_OK;
}

static int cmp_listed(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	char nx[300], ny[300];
	int c;

	ref_name(&x->ref, nx, sizeof(nx));
	ref_name(&y->ref, ny, sizeof(ny));
	c = strcmp(nx, ny);
	return c != 0 ? c : strcmp(x->version, y->version);
}

static int collect(struct keystore *ks, bool rotated, struct listed **out, size_t *n_out)
{
	struct listed *v = NULL;
	size_t n = 0, cap = 0;
	int rc = ACRA_OK;

	for (int pub = 0; pub < 2 && rc == ACRA_OK; pub++) {
		for (int poison = 0; poison < 2 && rc == ACRA_OK; poison++) {
			char **names = NULL;
			size_t nn = 0;

			rc = keystore_list_files(ks, pub == 1, poison ? ".poison_key" : NULL, &names,
						 &nn);
			for (size_t i = 0; i < nn && rc == ACRA_OK; i++) {
				struct key_ref r;

				if (poison) {
					memset(&r, 0, sizeof(r));
					if (strcmp(names[i], "poison_key_sym") == 0)
						r.kind = KEYSTORE_POISON_SYM;
					else if (strcmp(names[i], "poison_key") == 0 ||
						 strcmp(names[i], "poison_key.pub") == 0)
						r.kind = KEYSTORE_POISON;
					else
						continue;
				} else if (!classify(names[i], &r)) {
					continue;
				}
				rc = add_listed(&v, &n, &cap, &r, "");
			}
			keystore_names_free(names, nn);
		}
	}
	for (size_t i = 0, base = n; rotated && rc == ACRA_OK && i < base; i++) {
		struct key_ref r = v[i].ref;
		char **hist = NULL;
		size_t nh = 0;
		bool global = keystore_kind_is_global(r.kind);

		rc = keystore_history(ks, r.kind, KEYSTORE_PRIVATE, global ? NULL : (uint8_t *)r.id,
				      global ? 0 : strlen(r.id), &hist, &nh);
		for (size_t k = 0; k < nh && rc == ACRA_OK; k++)
			rc = add_listed(&v, &n, &cap, &r, hist[k]);
		keystore_names_free(hist, nh);
	}
	if (rc != ACRA_OK) {
		free(v);
		return rc;
	}
	qsort(v, n, sizeof(*v), cmp_listed);
	*out = v;
	*n_out = n;
	return ACRA_OK;
}

static int cmd_list(const struct keys_cfg *c)
{
	struct keystore *ks;
	struct listed *v = NULL;
	size_t n = 0, w_p = strlen("Key purpose"), w_i = strlen("Client/Zone ID"), w_k = 6;
	int rc = open_ks(c, false, &ks);

	if (rc != ACRA_OK)
		return rc;
	rc = collect(ks, c->rotated_keys, &v, &n);
	keystore_free(ks);
	if (rc != ACRA_OK) {
		fail("cannot list the keystore: %s", keystore_last_error());
		return rc;
	}
	if (c->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++) {
			char name[300];
			bool zone = v[i].ref.kind == KEYSTORE_ZONE || v[i].ref.kind == KEYSTORE_ZONE_SYM;
			json_t *o;

			ref_name(&v[i].ref, name, sizeof(name));
			o = json_pack("{s:s,s:s}", "ID", name, "Purpose", purpose_of(v[i].ref.kind));
			json_object_set_new(o, "ClientID", v[i].ref.id[0] && !zone ?
						   json_string(v[i].ref.id) : json_null());
			json_object_set_new(o, "ZoneID", v[i].ref.id[0] && zone ?
						   json_string(v[i].ref.id) : json_null());
			if (v[i].version[0] != '\0')
				json_object_set_new(o, "Rotated", json_string(v[i].version));
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(arr);
		free(v);
		return ACRA_OK;
	}
	for (size_t i = 0; i < n; i++) {
		size_t p = strlen(purpose_of(v[i].ref.kind)) + (v[i].version[0] ? 10 : 0);
		char name[300];

		ref_name(&v[i].ref, name, sizeof(name));
		w_p = p > w_p ? p : w_p;
		w_i = strlen(v[i].ref.id) > w_i ? strlen(v[i].ref.id) : w_i;
		p = strlen(name) + (v[i].version[0] ? 3 + strlen(v[i].version) : 0);
		w_k = p > w_k ? p : w_k;
	}
	printf("%-*s | %-*s | %s\n", (int)w_p, "Key purpose", (int)w_i, "Client/Zone ID", "Key ID");
	for (size_t i = 0; i < w_p + w_i + w_k + 6; i++)
		putchar(i == w_p + 1 || i == w_p + w_i + 4 ? '+' : '-');
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		char name[300], purpose[128];

		ref_name(&v[i].ref, name, sizeof(name));
		snprintf(purpose, sizeof(purpose), "%s%s", purpose_of(v[i].ref.kind),
			 v[i].version[0] ? " (rotated)" : "");
		printf("%-*s | %-*s | %s%s%s\n", (int)w_p, purpose, (int)w_i, v[i].ref.id, name,
		       v[i].version[0] ? " @ " : "", v[i].version);
	}
	free(v);
	return ACRA_OK;
}

/* ---- read ---------------------------------------------------------------------------- */

/* The current key bytes of one part: REC2/UEC2 containers for pairs, raw symmetric keys. */
static int key_bytes(struct keystore *ks, const struct key_ref *r, enum keystore_part part,
		     struct secret **out)
{
	bool global = keystore_kind_is_global(r->kind);
	struct keystore_keys k;
	int rc;

	*out = NULL;
	rc = keystore_get(ks, r->kind, part, global ? NULL : (const uint8_t *)r->id,
			  global ? 0 : strlen(r->id), &k);
	if (rc != ACRA_OK)
		return rc;
	if (part == KEYSTORE_PUBLIC)
		rc = secret_from(out, k.pub_raw, EC_PUB_LEN);
	else if (k.priv != NULL)
		rc = ec_priv_export(k.priv[0], out);
	else
		rc = secret_from(out, k.sym[0]->p, k.sym[0]->len);
	keystore_put(ks, &k);
	return rc;
}

static int cmd_read(const struct keys_cfg *c, char **args, int n_args)
{
	struct keystore *ks;
	struct key_ref r;
	struct secret *b = NULL;
	enum keystore_part part;
	int hint, rc;

	if (n_args != 1) {
		fail("read: give one key id");
		return ACRA_EINVAL;
	}
	if (parse_ref(c, args[0], &r, &hint) != ACRA_OK)
		return ACRA_EINVAL;
	if (c->public_part && c->private_part) {
		fail("read: --public and --private are exclusive");
		return ACRA_EINVAL;
	}
	part = hint >= 0 ? (enum keystore_part)hint :
	       c->public_part ? KEYSTORE_PUBLIC : KEYSTORE_PRIVATE;
	if (part == KEYSTORE_PUBLIC && !keystore_kind_is_pair(r.kind)) {
		fail("read: %s is a symmetric key: it has no public part", args[0]);
		return ACRA_EINVAL;
	}
	if (keystore_kind_is_pair(r.kind) && hint < 0 && !c->public_part && !c->private_part) {
		fail("read: %s is a key pair: choose --public or --private", args[0]);
		return ACRA_EINVAL;
	}
	rc = open_ks(c, part == KEYSTORE_PRIVATE, &ks);
	if (rc != ACRA_OK)
		return rc;
	rc = key_bytes(ks, &r, part, &b);
	keystore_free(ks);
	if (rc != ACRA_OK) {
		fail("cannot read %s: %s", args[0], keystore_last_error()[0] ? keystore_last_error() :
								      acra_strerror(rc));
		return rc;
	}
	rc = fd_write_all(STDOUT_FILENO, b->p, b->len);
	secret_free(b);
	return rc;
}

/* ---- destroy ------------------------------------------------------------------------- */

static int cmd_destroy(const struct keys_cfg *c, char **args, int n_args)
{
	struct keystore *ks;
	struct key_ref r;
	int hint, rc;
	bool global;

	if (n_args != 1) {
		fail(n_args == 0 ? "destroy: give the key to destroy" :
				   "destroy: one key at a time");
		return ACRA_EINVAL;
	}
	if (parse_ref(c, args[0], &r, &hint) != ACRA_OK)
		return ACRA_EINVAL;
	rc = open_ks(c, false, &ks);
	if (rc != ACRA_OK)
		return rc;
	global = keystore_kind_is_global(r.kind);
	rc = keystore_destroy(ks, r.kind, global ? NULL : (const uint8_t *)r.id,
			      global ? 0 : strlen(r.id));
	keystore_free(ks);
	if (rc != ACRA_OK) {
		fail("cannot destroy %s: %s", args[0], keystore_last_error());
		return rc;
	}
	printf("Destroyed %s%s%s (rotated versions are kept)\n", purpose_of(r.kind),
	       global ? "" : " of ", global ? "" : r.id);
	return ACRA_OK;
}

/* ---- export / import ----------------------------------------------------------------- */

static int read_secret_file(const char *path, struct secret **key)
{
	struct secret *raw = NULL;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*key = NULL;
	if (fd < 0) {
		fail("cannot open %s", path);
		return ACRA_EIO;
	}
	rc = fd_read_all(fd, 1024, &raw);
	close(fd);
	if (rc == ACRA_OK)
		rc = secret_new(key, crypto_secretbox_KEYBYTES);
	if (rc == ACRA_OK &&
	    (sodium_base642bin((*key)->p, (*key)->len, (const char *)raw->p, raw->len, "\n", &n,
			       NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	     n != crypto_secretbox_KEYBYTES)) {
		fail("%s does not hold a bundle key (base64 of 32 bytes)", path);
		rc = ACRA_EINVAL;
	}
	secret_free(raw);
	if (rc != ACRA_OK) {
		secret_free(*key);
		*key = NULL;
	}
	return rc;
}

static int write_new_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc;

	if (fd < 0) {
		fail("cannot create %s (it must not exist yet)", path);
		return ACRA_EIO;
	}
	rc = fd_write_all(fd, p, len);
	if (close(fd) != 0)
		rc = ACRA_EIO;
	if (rc != ACRA_OK) {
		unlink(path);
		fail("cannot write %s", path);
	}
	return rc;
}

static char *b64(const uint8_t *p, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = sodium_malloc(n);

	if (s != NULL)
		sodium_bin2base64(s, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

static int add_bundle_key(json_t *arr, struct keystore *ks, const struct key_ref *r, bool priv)
{
	struct secret *pk = NULL, *pub = NULL;
	char name[300];
	json_t *o;
	int rc = ACRA_OK;

	ref_name(r, name, sizeof(name));
	if (keystore_kind_is_pair(r->kind))
		rc = key_bytes(ks, r, KEYSTORE_PUBLIC, &pub);
	if (rc == ACRA_OK && priv)
		rc = key_bytes(ks, r, KEYSTORE_PRIVATE, &pk);
	if (rc != ACRA_OK) {
		fail("cannot export %s: %s", name, keystore_last_error());
		goto out;
	}
	if (pub == NULL && pk == NULL)
		goto out; /* a symmetric key without --private_keys */
	o = json_pack("{s:s}", "id", name);
	if (pub != NULL) {
		char *s = b64(pub->p, pub->len);

		json_object_set_new(o, "public", s != NULL ? json_string(s) : json_null());
		sodium_free(s);
	}
	if (pk != NULL) {
		char *s = b64(pk->p, pk->len);

		json_object_set_new(o, "private", s != NULL ? json_string(s) : json_null());
		sodium_free(s);
	}
	json_array_append_new(arr, o);
out:
	secret_free(pk);
	secret_free(pub);
	return rc;
}

static int cmd_export(const struct keys_cfg *c, char **args, int n_args)
{
	struct keystore *ks = NULL;
	struct listed *v = NULL;
	size_t n = 0;
	json_t *arr = json_array(), *doc;
	char *text = NULL;
	uint8_t *sealed = NULL;
	struct secret *key = NULL;
	char *key_b64 = NULL;
	size_t text_len = 0, total = 0;
	int rc;

	if (!given(c->key_bundle_file) || !given(c->key_bundle_secret)) {
		fail("export: --key_bundle_file and --key_bundle_secret are required");
		json_decref(arr);
		return ACRA_EINVAL;
	}
	if (strcmp(c->key_bundle_file, c->key_bundle_secret) == 0) {
		fail("export: the bundle and its secret must be different files");
		json_decref(arr);
		return ACRA_EINVAL;
	}
	if (!c->all && n_args == 0) {
		fail("export: give key ids or --all");
		json_decref(arr);
		return ACRA_EINVAL;
	}
	rc = open_ks(c, true, &ks);
	if (rc != ACRA_OK)
		goto out;
	if (c->all) {
		rc = collect(ks, false, &v, &n);
		for (size_t i = 0; i < n && rc == ACRA_OK; i++)
			rc = add_bundle_key(arr, ks, &v[i].ref, c->private_keys);
	}
	for (int i = 0; i < n_args && rc == ACRA_OK; i++) {
		struct key_ref r;
		int hint;

		rc = parse_ref(c, args[i], &r, &hint);
		if (rc == ACRA_OK)
			rc = add_bundle_key(arr, ks, &r, c->private_keys);
	}
	if (rc != ACRA_OK)
		goto out;
	total = json_array_size(arr);
	doc = json_pack("{s:s,s:O}", "format", "acra-keys-bundle-v1", "keys", arr);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	text_len = strlen(text);
	rc = secret_new_random(&key, crypto_secretbox_KEYBYTES);
	if (rc != ACRA_OK)
		goto out;
	sealed = malloc(sizeof(BUNDLE_MAGIC) - 1 + text_len + CELL_SEAL_OVERHEAD);
	if (sealed == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	memcpy(sealed, BUNDLE_MAGIC, sizeof(BUNDLE_MAGIC) - 1);
	rc = cell_seal_encrypt(key->p, key->len, (const uint8_t *)BUNDLE_CONTEXT,
			       sizeof(BUNDLE_CONTEXT) - 1, (const uint8_t *)text, text_len,
			       sealed + sizeof(BUNDLE_MAGIC) - 1);
	if (rc != ACRA_OK)
		goto out;
	key_b64 = b64(key->p, key->len);
	if (key_b64 == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	rc = write_new_file(c->key_bundle_secret, key_b64, strlen(key_b64));
	if (rc == ACRA_OK) {
		rc = write_new_file(c->key_bundle_file, sealed,
				    sizeof(BUNDLE_MAGIC) - 1 + text_len + CELL_SEAL_OVERHEAD);
		if (rc != ACRA_OK)
			unlink(c->key_bundle_secret);
	}
	if (rc == ACRA_OK)
		printf("Exported %zu keys to %s (its key: %s)\n", total, c->key_bundle_file,
		       c->key_bundle_secret);
out:
	if (text != NULL) {
		sodium_memzero(text, text_len);
		free(text);
	}
	if (key_b64 != NULL)
		sodium_free(key_b64);
	secret_free(key);
	free(sealed);
	free(v);
	json_decref(arr);
	keystore_free(ks);
	return rc;
}

static int decode_b64(const char *s, struct secret **out)
{
	size_t n = 0, sl = strlen(s);
	int rc = secret_new(out, sl / 4 * 3 + 3);

	if (rc != ACRA_OK)
		return rc;
	if (sodium_base642bin((*out)->p, (*out)->len, s, sl, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		secret_free(*out);
		*out = NULL;
		return ACRA_EPROTO;
	}
	(*out)->len = n;
	return ACRA_OK;
}

static int import_one(const struct keys_cfg *c, struct keystore *ks, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *pub_s = json_string_value(json_object_get(o, "public"));
	const char *priv_s = json_string_value(json_object_get(o, "private"));
	struct secret *pub = NULL, *priv = NULL;
	struct key_ref r;
	bool global;
	int hint, rc;

	if (id == NULL || parse_ref(c, id, &r, &hint) != ACRA_OK) {
		fail("import: a bundle entry has no valid key id");
		return ACRA_EPROTO;
	}
	if (priv_s == NULL) {
		fail("import: %s has no private part (export it with --private_keys)", id);
		return ACRA_EINVAL;
	}
	global = keystore_kind_is_global(r.kind);
	rc = decode_b64(priv_s, &priv);
	if (rc == ACRA_OK && keystore_kind_is_pair(r.kind))
		rc = pub_s == NULL ? ACRA_EPROTO : decode_b64(pub_s, &pub);
	if (rc == ACRA_OK && pub != NULL && pub->len != EC_PUB_LEN)
		rc = ACRA_EPROTO;
	if (rc == ACRA_OK)
		rc = keystore_save(ks, r.kind, global ? NULL : (const uint8_t *)r.id,
				   global ? 0 : strlen(r.id), priv, pub != NULL ? pub->p : NULL);
	if (rc != ACRA_OK)
		fail("import: cannot store %s: %s", id, keystore_last_error()[0] ?
							   keystore_last_error() :
							   acra_strerror(rc));
	secret_free(pub);
	secret_free(priv);
	return rc;
}

static int cmd_import(const struct keys_cfg *c)
{
	struct secret *key = NULL, *file = NULL, *text = NULL;
	struct keystore *ks = NULL;
	json_t *doc = NULL, *arr;
	size_t pt_len = 0, ml = sizeof(BUNDLE_MAGIC) - 1;
	int fd, rc;

	if (!given(c->key_bundle_file) || !given(c->key_bundle_secret)) {
		fail("import: --key_bundle_file and --key_bundle_secret are required");
		return ACRA_EINVAL;
	}
	rc = read_secret_file(c->key_bundle_secret, &key);
	if (rc != ACRA_OK)
		return rc;
	fd = open(c->key_bundle_file, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? ACRA_EIO : fd_read_all(fd, BUNDLE_MAX, &file);
	if (fd >= 0)
		close(fd);
	if (rc != ACRA_OK) {
		fail("cannot read %s", c->key_bundle_file);
		goto out;
	}
	if (file->len <= ml || memcmp(file->p, BUNDLE_MAGIC, ml) != 0 ||
	    cell_seal_plain_len(file->p + ml, file->len - ml, &pt_len) != ACRA_OK ||
	    pt_len > BUNDLE_MAX) {
		fail("%s is not a key bundle", c->key_bundle_file);
		rc = ACRA_EPROTO;
		goto out;
	}
	rc = secret_new(&text, pt_len + 1);
	if (rc == ACRA_OK)
		rc = cell_seal_decrypt(key->p, key->len, (const uint8_t *)BUNDLE_CONTEXT,
				       sizeof(BUNDLE_CONTEXT) - 1, file->p + ml, file->len - ml,
				       text->p, &pt_len);
	if (rc != ACRA_OK) {
		fail("cannot open %s with the key in %s (wrong key or damaged bundle)",
		     c->key_bundle_file, c->key_bundle_secret);
		goto out;
	}
	doc = json_loadb((const char *)text->p, pt_len, 0, NULL);
	arr = json_object_get(doc, "keys");
	if (!json_is_array(arr)) {
		fail("%s holds no key list", c->key_bundle_file);
		rc = ACRA_EPROTO;
		goto out;
	}
	rc = open_ks(c, true, &ks);
	for (size_t i = 0; i < json_array_size(arr) && rc == ACRA_OK; i++)
		rc = import_one(c, ks, json_array_get(arr, i));
	if (rc == ACRA_OK)
		printf("Imported %zu keys into %s\n", json_array_size(arr), c->keys_dir);
out:
	json_decref(doc);
	keystore_free(ks);
	secret_free(text);
	secret_free(file);
	secret_free(key);
	return rc;
}

/* ---- command line ---------------------------------------------------------------------- */

/* Does flag token t (without leading dashes, no '=') take the next argument as its value? */
static bool takes_value(const char *t)
{
	static const char *const base_str[] = { "config_file", "logging_format", "log_to_file" };

	for (size_t i = 0; i < sizeof(base_str) / sizeof(base_str[0]); i++)
		if (strcmp(t, base_str[i]) == 0)
			return true;
	for (const struct conf_opt *o = keys_opts; o->name != NULL; o++)
		if (strcmp(o->name, t) == 0)
			return o->type != CONF_T_BOOL;
	return false;
}

int keys_main(int argc, char **argv)
{
	char *flags[MAX_ARGS + 1], *args[MAX_ARGS];
	int n_flags = 0, n_args = 0, rc;
	const char *cmd = NULL;
	struct keys_cfg cfg;

	if (argc > MAX_ARGS) {
		fail("too many arguments");
		return 2;
	}
	flags[n_flags++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *t = argv[i];

		if (t[0] == '-' && t[1] != '\0') {
			const char *name = t + (t[1] == '-' ? 2 : 1);

			flags[n_flags++] = argv[i];
			if (strchr(name, '=') == NULL && takes_value(name) && i + 1 < argc)
				flags[n_flags++] = argv[++i];
		} else if (cmd == NULL) {
			cmd = t;
		} else {
			args[n_args++] = argv[i];
		}
	}
	flags[n_flags] = NULL;
	memset(&cfg, 0, sizeof(cfg));
	rc = conf_parse(&keys_spec, &cfg, n_flags, flags);
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return conf_exit_code(rc);
	}
	proc_harden();
	if (cmd == NULL) {
		fail("no command: use generate, list, read, destroy, export or import");
		rc = ACRA_EINVAL;
	} else if (strcmp(cmd, "generate") == 0 && n_args == 0) {
		rc = cmd_generate(&cfg);
	} else if (strcmp(cmd, "list") == 0 && n_args == 0) {
		rc = cmd_list(&cfg);
	} else if (strcmp(cmd, "read") == 0) {
		rc = cmd_read(&cfg, args, n_args);
	} else if (strcmp(cmd, "destroy") == 0) {
		rc = cmd_destroy(&cfg, args, n_args);
	} else if (strcmp(cmd, "export") == 0) {
		rc = cmd_export(&cfg, args, n_args);
	} else if (strcmp(cmd, "import") == 0 && n_args == 0) {
		rc = cmd_import(&cfg);
	} else if (strcmp(cmd, "generate") == 0 || strcmp(cmd, "list") == 0 ||
		   strcmp(cmd, "import") == 0) {
		fail("%s takes no arguments besides options (got \"%.64s\")", cmd, args[0]);
		rc = ACRA_EINVAL;
	} else {
		fail("unknown command \"%.64s\": use generate, list, read, destroy, export or import",
		     cmd);
		rc = ACRA_EINVAL;
	}
	conf_free(&cfg);
	return rc == ACRA_OK ? 0 : rc == ACRA_EINVAL ? 2 : 1;
}
