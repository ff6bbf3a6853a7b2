/* lib/keystore/keystore.c: keystore v1 over a storage backend, and the cache of imported
 * keys (spec/acra-formats.md §5).
 *
 * The cache maps a file name ("client_storage", "client_storage.pub") to an entry holding
 * the imported keys: for a private name the current key and its rotated versions, newest
 * first. Entries are reference counted: the map holds one reference, every keystore_get()
 * one more, so eviction and reset never free a key someone is using; the last
 * keystore_put() frees (and wipes) it. One mutex guards the map, the LRU list and the
 * counts; files are read and keys unsealed outside it. Size as Acra's
 * --keystore_cache_size: 0 unlimited, -1 no cache (every get loads), N entries (LRU). */
#include "lib/keystore/keystore.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/crypto/cell.h"
#include "lib/keystore/private.h"
#include "lib/keystore/redis.h"

/* ---- errors ---------------------------------------------------------------------------- */

static _Thread_local char last_error[512];

void keystore_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

void keystore_clear_error(void)
{
	last_error[0] = '\0';
}

const char *keystore_last_error(void)
{
	return last_error;
}

/* ---- kinds and names (§5.2, §5.3) ----------------------------------------------------- */

struct kind_info {
	const char *suffix;   /* appended to the id; for global kinds the whole name */
	bool pair;            /* EC key pair (name.pub holds the public key) */
	bool global;          /* no id: the name is the suffix, the context is the name */
	bool history;         /* readers accept rotated versions (0.96 GetHistorical...) */
	const char *what;
};

static const struct kind_info kinds[KEYSTORE_N_KINDS] = {
	[KEYSTORE_STORAGE] = { "_storage", true, false, true, "storage key pair" },
	[KEYSTORE_STORAGE_SYM] = { "_storage_sym", false, false, true, "symmetric storage key" },
	[KEYSTORE_HMAC] = { "_hmac", false, false, false, "HMAC key" },
	[KEYSTORE_ZONE] = { "_zone", true, false, true, "zone key pair" },
	[KEYSTORE_ZONE_SYM] = { "_zone_sym", false, false, true, "zone symmetric key" },
	[KEYSTORE_CONNECTOR] = { "", true, false, false, "connector transport key pair" },
	[KEYSTORE_SERVER] = { "_server", true, false, false, "server transport key pair" },
	[KEYSTORE_TRANSLATOR] = { "_translator", true, false, false,
				  "translator transport key pair" },
	[KEYSTORE_POISON] = { ".poison_key/poison_key", true, true, true, "poison key pair" },
	[KEYSTORE_POISON_SYM] = { ".poison_key/poison_key_sym", false, true, true,
				  "poison symmetric key" },
	[KEYSTORE_LOG] = { "secure_log_key", false, true, false, "audit log key" },
};

static bool kind_ok(enum keystore_kind kind)
{
	return (unsigned)kind < KEYSTORE_N_KINDS;
}

bool keystore_kind_is_pair(enum keystore_kind kind)
{
	return kind_ok(kind) && kinds[kind].pair;
}

bool keystore_kind_is_global(enum keystore_kind kind)
{
	return kind_ok(kind) && kinds[kind].global;
}

const char *keystore_kind_name(enum keystore_kind kind)
{
	return kind_ok(kind) ? kinds[kind].what : "key";
}

bool keystore_id_is_valid(const uint8_t *id, size_t len)
{
	if (id == NULL || len < KEYSTORE_ID_MIN || len > KEYSTORE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == ' '))
			return false;
	}
	return true;
}

int keystore_file_name(enum keystore_kind kind, enum keystore_part part, const uint8_t *id,
		       size_t id_len, char *buf, size_t buf_len)
{
	const char *pub;
	int n;

	if (!kind_ok(kind) || (part == KEYSTORE_PUBLIC && !kinds[kind].pair)) {
		keystore_set_error("%s has no public part", keystore_kind_name(kind));
		return ACRA_EINVAL;
	}
	pub = part == KEYSTORE_PUBLIC ? ".pub" : "";
	if (kinds[kind].global) {
		n = snprintf(buf, buf_len, "%s%s", kinds[kind].suffix, pub);
	} else {
		if (!keystore_id_is_valid(id, id_len)) {
			keystore_set_error("invalid id for %s: ids are 5..256 characters of "
					   "A-Z a-z 0-9 _ - and space",
					   keystore_kind_name(kind));
			return ACRA_EINVAL;
		}
		n = snprintf(buf, buf_len, "%.*s%s%s", (int)id_len, (const char *)id,
			     kinds[kind].suffix, pub);
	}
	if (n < 0 || (size_t)n >= buf_len)
		return ACRA_ERANGE;
	return ACRA_OK;
}

void keystore_key_context(enum keystore_kind kind, const uint8_t *id, size_t id_len,
			  const uint8_t **ctx, size_t *ctx_len)
{
	if (kind_ok(kind) && kinds[kind].global) {
		*ctx = (const uint8_t *)kinds[kind].suffix;
		*ctx_len = strlen(kinds[kind].suffix);
	} else {
		*ctx = id;
		*ctx_len = id_len;
	}
}

/* ---- the keystore ---------------------------------------------------------------------- */

#define NAME_MAX_LEN (KEYSTORE_ID_MAX + 64)

struct keystore_entry {
	char name[NAME_MAX_LEN];
	uint64_t hash;
	unsigned refs;       /* the map's one (while in_map) plus one per user */
	bool in_map;
	struct keystore_entry *hnext;       /* hash chain */
	struct keystore_entry *prev, *next; /* LRU list, most recent first */
	size_t n;
	struct ec_priv **priv;
	struct secret **sym;
	struct ec_pub *pub;
	uint8_t pub_raw[EC_PUB_LEN];
};

struct keystore {
	char *dir, *public_dir;
	struct secret *master;
	struct keystore_storage st;
	pthread_mutex_t lock;
	long cache_size;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct keystore_entry **buckets;
	size_t n_buckets, n_entries;
	struct keystore_entry *lru_head, *lru_tail;
	unsigned long hits, misses, evictions;
};

static void entry_free(struct keystore_entry *e)
{
	if (e == NULL)
		return;
	if (e->priv != NULL)
		for (size_t i = 0; i < e->n; i++)
			ec_priv_free(e->priv[i]);
	if (e->sym != NULL)
		for (size_t i = 0; i < e->n; i++)
			secret_free(e->sym[i]);
	free(e->priv);
	free(e->sym);
	ec_pub_free(e->pub);
	free(e);
}

/* Caller holds ks->lock. */
static void entry_unref(struct keystore_entry *e)
{
	if (--e->refs == 0)
		entry_free(e);
}

static uint64_t name_hash(const struct keystore *ks, const char *name)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	/* keyed (SipHash): names come from peers' client ids */
	crypto_shorthash(h, (const uint8_t *)name, strlen(name), ks->hash_key);
	for (size_t i = 0; i < sizeof(v); i++)
		v = v << 8 | h[i];
	return v;
}

static struct keystore_entry *map_find(struct keystore *ks, const char *name, uint64_t hash)
{
	struct keystore_entry *e;

	if (ks->buckets == NULL)
		return NULL;
	for (e = ks->buckets[hash & (ks->n_buckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == hash && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void lru_unlink(struct keystore *ks, struct keystore_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ks->lru_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		ks->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct keystore *ks, struct keystore_entry *e)
{
	e->prev = NULL;
	e->next = ks->lru_head;
	if (ks->lru_head != NULL)
		ks->lru_head->prev = e;
	ks->lru_head = e;
	if (ks->lru_tail == NULL)
		ks->lru_tail = e;
}

/* Remove from the map and drop the map's reference. Caller holds the lock. */
static void map_remove(struct keystore *ks, struct keystore_entry *e)
{
	struct keystore_entry **pp = &ks->buckets[e->hash & (ks->n_buckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	e->hnext = NULL;
	lru_unlink(ks, e);
	e->in_map = false;
	ks->n_entries--;
	entry_unref(e);
}

static int map_grow(struct keystore *ks)
{
	size_t nb = ks->n_buckets ? ks->n_buckets * 2 : 64;
	struct keystore_entry **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return ACRA_ENOMEM;
	for (size_t i = 0; i < ks->n_buckets; i++) {
		struct keystore_entry *e = ks->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(ks->buckets);
	ks->buckets = b;
	ks->n_buckets = nb;
	return ACRA_OK;
}

/* Insert e (refs already counts the map's reference). Caller holds the lock. A failed
 * growth leaves e out of the map: the caller then owns that reference. */
static int map_insert(struct keystore *ks, struct keystore_entry *e)
{
	size_t b;

	if (ks->cache_size > 0)
		while (ks->n_entries >= (size_t)ks->cache_size && ks->lru_tail != NULL) {
			map_remove(ks, ks->lru_tail);
			ks->evictions++;
		}
	if (ks->n_entries >= ks->n_buckets && map_grow(ks) != ACRA_OK)
		return ACRA_ENOMEM;
	b = e->hash & (ks->n_buckets - 1);
	e->hnext = ks->buckets[b];
	ks->buckets[b] = e;
	e->in_map = true;
	lru_push(ks, e);
	ks->n_entries++;
	return ACRA_OK;
}

static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + 1 + nl + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

static bool is_v2_keystore(struct keystore *ks)
{
	static const char magic[] = "Acra Keystore";
	struct secret *s = NULL;
	char *path = path_join(ks->dir, "version");
	bool v2 = false;

	if (path == NULL)
		return false;
	if (ks->st.ops->read(ks->st.ctx, path, false, &s) == ACRA_OK)
		v2 = s->len >= sizeof(magic) - 1 && memcmp(s->p, magic, sizeof(magic) - 1) == 0;
	secret_free(s);
	free(path);
	keystore_clear_error();
	return v2;
}

int keystore_open(struct keystore **out, const struct keystore_opts *o)
{
	struct keystore *ks;
	int rc;

	*out = NULL;
	keystore_clear_error();
	ks = calloc(1, sizeof(*ks));
	if (ks == NULL)
		return ACRA_ENOMEM;
	if (o->storage != NULL) {
		ks->st = *o->storage;
	} else if (o->redis != NULL && keystore_redis_keys_enabled(o->redis)) {
		rc = keystore_redis_storage(&ks->st, o->redis);
		if (rc != ACRA_OK) {
			free(ks);
			return rc;
		}
	} else {
		keystore_fs_storage(&ks->st);
	}
	ks->dir = strdup(o->dir != NULL && o->dir[0] != '\0' ? o->dir : KEYSTORE_DEFAULT_DIR);
	ks->public_dir = strdup(o->public_dir != NULL && o->public_dir[0] != '\0' ? o->public_dir
										  : ks->dir);
	ks->cache_size = o->cache_size;
	randombytes_buf(ks->hash_key, sizeof(ks->hash_key));
	if (pthread_mutex_init(&ks->lock, NULL) != 0) {
		free(ks->dir);
		free(ks->public_dir);
		free(ks);
		return ACRA_ENOMEM;
	}
	if (ks->dir == NULL || ks->public_dir == NULL) {
		rc = ACRA_ENOMEM;
		goto fail;
	}
	if (o->master_key != NULL) {
		rc = secret_from(&ks->master, o->master_key->p, o->master_key->len);
		if (rc != ACRA_OK)
			goto fail;
	}
	/* without a master key no private file is read: a public keys dir may be shared */
	if (ks->master != NULL && ks->st.ops->check_dir != NULL) {
		rc = ks->st.ops->check_dir(ks->st.ctx, ks->dir);
		if (rc != ACRA_OK)
			goto fail;
	}
	if (is_v2_keystore(ks)) {
		keystore_set_error("%s is a keystore v2 directory; only keystore v1 is supported "
				   "(convert it with Acra's acra-keys migrate)",
				   ks->dir);
		rc = ACRA_EINVAL;
		goto fail;
	}
	*out = ks;
	return ACRA_OK;
fail:
	keystore_free(ks);
	return rc;
}

void keystore_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	keystore_reset(ks);
	free(ks->buckets);
	pthread_mutex_destroy(&ks->lock);
	secret_free(ks->master);
	if (ks->st.ops != NULL && ks->st.ops->free != NULL)
		ks->st.ops->free(ks->st.ctx);
	sodium_memzero(ks->hash_key, sizeof(ks->hash_key));
	free(ks->dir);
	free(ks->public_dir);
	free(ks);
}

void keystore_reset(struct keystore *ks)
{
	pthread_mutex_lock(&ks->lock);
	while (ks->lru_head != NULL)
		map_remove(ks, ks->lru_head);
	pthread_mutex_unlock(&ks->lock);
}

void keystore_stats(struct keystore *ks, struct keystore_stats *st)
{
	pthread_mutex_lock(&ks->lock);
	st->entries = ks->n_entries;
	st->hits = ks->hits;
	st->misses = ks->misses;
	st->evictions = ks->evictions;
	pthread_mutex_unlock(&ks->lock);
}

/* ---- loading --------------------------------------------------------------------------- */

/* Open one sealed file at path into *out (returns owned secret). */
static int unseal_file(struct keystore *ks, const char *path, const uint8_t *ctx,
		       size_t ctx_len, struct secret **out)
{
	struct secret *sealed = NULL, *plain = NULL;
	size_t pt_len = 0;
	int rc;

	*out = NULL;
	rc = ks->st.ops->read(ks->st.ctx, path, true, &sealed);
	if (rc != ACRA_OK)
		return rc;
	rc = cell_seal_plain_len(sealed->p, sealed->len, &pt_len);
	if (rc != ACRA_OK) {
		keystore_set_error("key file %s is not a key sealed with the master key", path);
		goto out;
	}
	rc = secret_new(&plain, pt_len);
	if (rc != ACRA_OK)
		goto out;
	rc = cell_seal_decrypt(ks->master->p, ks->master->len, ctx, ctx_len, sealed->p,
			       sealed->len, plain->p, &pt_len);
	if (rc != ACRA_OK) {
		keystore_set_error("cannot decrypt key file %s: wrong master key, or the file "
				   "does not belong to this name",
				   path);
		rc = rc == ACRA_EPROTO ? ACRA_EPROTO : ACRA_ECRYPTO;
		goto out;
	}
	plain->len = pt_len;
	*out = plain;
	plain = NULL;
out:
	secret_free(plain);
	secret_free(sealed);
	return rc;
}

/* Paths of the current file and its rotated versions, newest first (0.96
 * getHistoricalFilePaths: reverse lexical order of <name>.old/). */
static int history_paths(struct keystore *ks, const char *path, bool history, char ***paths,
			 size_t *n_paths)
{
	char **names = NULL, **v = NULL, *old_dir = NULL;
	size_t n_names = 0, n = 0;
	int rc;

	*paths = NULL;
	*n_paths = 0;
	if (history) {
		size_t pl = strlen(path);

		old_dir = malloc(pl + sizeof(KEYSTORE_HISTORY_SUFFIX));
		if (old_dir == NULL)
			return ACRA_ENOMEM;
		memcpy(old_dir, path, pl);
		memcpy(old_dir + pl, KEYSTORE_HISTORY_SUFFIX, sizeof(KEYSTORE_HISTORY_SUFFIX));
		rc = ks->st.ops->list(ks->st.ctx, old_dir, &names, &n_names);
		if (rc != ACRA_OK)
			goto out;
	}
	v = calloc(n_names + 1, sizeof(*v));
	if (v == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	v[n] = strdup(path);
	if (v[n++] == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	for (size_t i = n_names; i-- > 0;) {
		v[n] = path_join(old_dir, names[i]);
		if (v[n++] == NULL) {
			rc = ACRA_ENOMEM;
			goto out;
		}
	}
	*paths = v;
	*n_paths = n;
	v = NULL;
	rc = ACRA_OK;
out:
	keystore_names_free(v, n);
	keystore_names_free(names, n_names);
	free(old_dir);
	return rc;
}

static int load_public(struct keystore *ks, struct keystore_entry *e)
{
	struct secret *raw = NULL;
	char *path = path_join(ks->public_dir, e->name);
	int rc;

	if (path == NULL)
		return ACRA_ENOMEM;
	rc = ks->st.ops->read(ks->st.ctx, path, false, &raw);
	if (rc != ACRA_OK)
		goto out;
	rc = ec_pub_load(&e->pub, raw->p, raw->len);
	if (rc == ACRA_OK)
		rc = ec_pub_export(e->pub, e->pub_raw);
	if (rc != ACRA_OK) {
		keystore_set_error("public key file %s does not hold an EC public key", path);
		rc = ACRA_EPROTO;
		goto out;
	}
	e->n = 1;
out:
	secret_free(raw);
	free(path);
	return rc;
}

static int load_private(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
			size_t id_len, struct keystore_entry *e)
{
	char **paths = NULL, *path;
	size_t n_paths = 0;
	const uint8_t *ctx;
	size_t ctx_len;
	struct secret *plain = NULL;
	int rc;

	if (ks->master == NULL) {
		keystore_set_error("the %s needs the master key (%s)", keystore_kind_name(kind),
				   KEYSTORE_MASTER_KEY_ENV);
		return ACRA_EINVAL;
	}
	path = path_join(ks->dir, e->name);
	if (path == NULL)
		return ACRA_ENOMEM;
	rc = history_paths(ks, path, kinds[kind].history, &paths, &n_paths);
	free(path);
	if (rc != ACRA_OK)
		return rc;
	if (kinds[kind].pair)
		e->priv = calloc(n_paths, sizeof(*e->priv));
	else
		e->sym = calloc(n_paths, sizeof(*e->sym));
	if (e->priv == NULL && e->sym == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	keystore_key_context(kind, id, id_len, &ctx, &ctx_len);
	for (size_t i = 0; i < n_paths; i++) {
		rc = unseal_file(ks, paths[i], ctx, ctx_len, &plain);
		if (rc != ACRA_OK)
			goto out;
		if (kinds[kind].pair) {
			rc = ec_priv_load(&e->priv[i], plain->p, plain->len);
			secret_free(plain);
			plain = NULL;
			if (rc != ACRA_OK) {
				keystore_set_error("key file %s does not hold an EC private key",
						   paths[i]);
				rc = ACRA_EPROTO;
				goto out;
			}
		} else {
			if (plain->len == 0) {
				keystore_set_error("key file %s holds an empty key", paths[i]);
				rc = ACRA_EPROTO;
				goto out;
			}
			e->sym[i] = plain;
			plain = NULL;
		}
		e->n = i + 1;
	}
	rc = ACRA_OK;
out:
	secret_free(plain);
	keystore_names_free(paths, n_paths);
	return rc;
}

static void fill_keys(struct keystore_entry *e, enum keystore_part part,
		      struct keystore_keys *out)
{
	memset(out, 0, sizeof(*out));
	out->n = e->n;
	out->entry = e;
	if (part == KEYSTORE_PUBLIC) {
		out->pub = e->pub;
		out->pub_raw = e->pub_raw;
	} else if (e->priv != NULL) {
		out->priv = (const struct ec_priv *const *)e->priv;
	} else {
		out->sym = (const struct secret *const *)e->sym;
	}
}

int keystore_get(struct keystore *ks, enum keystore_kind kind, enum keystore_part part,
		 const uint8_t *id, size_t id_len, struct keystore_keys *out)
{
	struct keystore_entry *e = NULL, *found;
	char name[NAME_MAX_LEN];
	uint64_t hash;
	int rc;

	memset(out, 0, sizeof(*out));
	keystore_clear_error();
	rc = keystore_file_name(kind, part, id, id_len, name, sizeof(name));
	if (rc != ACRA_OK)
		return rc == ACRA_ERANGE ? ACRA_EINVAL : rc;
	hash = name_hash(ks, name);
	pthread_mutex_lock(&ks->lock);
	found = map_find(ks, name, hash);
	if (found != NULL) {
		found->refs++;
		lru_unlink(ks, found);
		lru_push(ks, found);
		ks->hits++;
		pthread_mutex_unlock(&ks->lock);
		fill_keys(found, part, out);
		return ACRA_OK;
	}
	ks->misses++;
	pthread_mutex_unlock(&ks->lock);

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return ACRA_ENOMEM;
	memcpy(e->name, name, strlen(name) + 1);
	e->hash = hash;
	if (part == KEYSTORE_PUBLIC)
		rc = load_public(ks, e);
	else
		rc = load_private(ks, kind, id, id_len, e);
	if (rc != ACRA_OK) {
		entry_free(e);
		return rc;
	}

	pthread_mutex_lock(&ks->lock);
	e->refs = 1; /* the caller's */
	found = ks->cache_size == KEYSTORE_CACHE_OFF ? NULL : map_find(ks, name, hash);
	if (found != NULL) {
		/* another thread loaded it meanwhile: use that one */
		found->refs++;
		entry_unref(e);
		e = found;
	} else if (ks->cache_size != KEYSTORE_CACHE_OFF) {
		e->refs++;
		if (map_insert(ks, e) != ACRA_OK)
			e->refs--; /* not cached; served once */
	}
	pthread_mutex_unlock(&ks->lock);
	fill_keys(e, part, out);
	return ACRA_OK;
}

void keystore_put(struct keystore *ks, struct keystore_keys *keys)
{
	if (keys == NULL || keys->entry == NULL)
		return;
	pthread_mutex_lock(&ks->lock);
	entry_unref(keys->entry);
	pthread_mutex_unlock(&ks->lock);
	memset(keys, 0, sizeof(*keys));
}

bool keystore_has(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		  size_t id_len)
{
	char name[NAME_MAX_LEN], *path;
	bool cached, yes = false;

	if (keystore_file_name(kind, KEYSTORE_PRIVATE, id, id_len, name, sizeof(name)) != ACRA_OK)
		return false;
	pthread_mutex_lock(&ks->lock);
	cached = map_find(ks, name, name_hash(ks, name)) != NULL;
	pthread_mutex_unlock(&ks->lock);
	if (cached)
		return true;
	path = path_join(ks->dir, name);
	if (path == NULL)
		return false;
	if (ks->st.ops->exists(ks->st.ctx, path, &yes) != ACRA_OK)
		yes = false;
	free(path);
	return yes;
}

/* ---- writing --------------------------------------------------------------------------- */

/* <path>.old/<UTC time, Go layout 2006-01-02T15:04:05.999999999> (§5.6). */
static int history_name(const char *path, char *buf, size_t buf_len)
{
	struct timespec ts;
	struct tm tm;
	char frac[16] = "";
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (ts.tv_nsec != 0) {
		size_t l;

		snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
		l = strlen(frac);
		while (frac[l - 1] == '0')
			frac[--l] = '\0';
	}
	n = snprintf(buf, buf_len, "%s%s/%04d-%02d-%02dT%02d:%02d:%02d%s", path,
		     KEYSTORE_HISTORY_SUFFIX, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return n < 0 || (size_t)n >= buf_len ? ACRA_ERANGE : ACRA_OK;
}

/* Write one file, keeping the one it replaces in the history directory. */
static int write_file(struct keystore *ks, const char *path, const uint8_t *data, size_t len,
		      bool private_file)
{
	char old[4300];
	bool exists = false;
	int rc;

	rc = ks->st.ops->exists(ks->st.ctx, path, &exists);
	if (rc != ACRA_OK)
		return rc;
	if (exists) {
		rc = history_name(path, old, sizeof(old));
		if (rc == ACRA_OK)
			rc = ks->st.ops->backup(ks->st.ctx, path, old);
		if (rc != ACRA_OK)
			return rc;
	}
	return ks->st.ops->write(ks->st.ctx, path, data, len, private_file);
}

static void forget(struct keystore *ks, const char *name)
{
	struct keystore_entry *e;

	pthread_mutex_lock(&ks->lock);
	e = map_find(ks, name, name_hash(ks, name));
	if (e != NULL)
		map_remove(ks, e);
	pthread_mutex_unlock(&ks->lock);
}

int keystore_save(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		  size_t id_len, const struct secret *key, const uint8_t *pub)
{
	char name[NAME_MAX_LEN], pub_name[NAME_MAX_LEN];
	char *path = NULL, *pub_path = NULL;
	uint8_t *sealed = NULL;
	const uint8_t *ctx;
	size_t ctx_len, sealed_len;
	int rc;

	keystore_clear_error();
	if (ks->master == NULL) {
		keystore_set_error("writing keys needs the master key (%s)",
				   KEYSTORE_MASTER_KEY_ENV);
		return ACRA_EINVAL;
	}
	if (key == NULL || key->len == 0 || (keystore_kind_is_pair(kind) && pub == NULL))
		return ACRA_EINVAL;
	rc = keystore_file_name(kind, KEYSTORE_PRIVATE, id, id_len, name, sizeof(name));
	if (rc == ACRA_OK && kinds[kind].pair)
		rc = keystore_file_name(kind, KEYSTORE_PUBLIC, id, id_len, pub_name,
					sizeof(pub_name));
	if (rc != ACRA_OK)
		return rc == ACRA_ERANGE ? ACRA_EINVAL : rc;
	sealed_len = key->len + CELL_SEAL_OVERHEAD;
	sealed = malloc(sealed_len);
	path = path_join(ks->dir, name);
	if (kinds[kind].pair)
		pub_path = path_join(ks->public_dir, pub_name);
	if (sealed == NULL || path == NULL || (kinds[kind].pair && pub_path == NULL)) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	keystore_key_context(kind, id, id_len, &ctx, &ctx_len);
	rc = cell_seal_encrypt(ks->master->p, ks->master->len, ctx, ctx_len, key->p, key->len,
			       sealed);
	if (rc != ACRA_OK) {
		keystore_set_error("cannot seal the %s", keystore_kind_name(kind));
		goto out;
	}
	rc = write_file(ks, path, sealed, sealed_len, true);
	if (rc == ACRA_OK && pub_path != NULL)
		rc = write_file(ks, pub_path, pub, EC_PUB_LEN, false);
	forget(ks, name);
	if (kinds[kind].pair)
		forget(ks, pub_name);
out:
	free(sealed);
	free(path);
	free(pub_path);
	return rc;
}

int keystore_generate(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		      size_t id_len, uint8_t pub[EC_PUB_LEN])
{
	struct secret *key = NULL;
	uint8_t pub_buf[EC_PUB_LEN];
	int rc;

	if (!kind_ok(kind))
		return ACRA_EINVAL;
	if (kinds[kind].pair)
		rc = ec_keypair_generate(&key, pub_buf);
	else
		rc = secret_new_random(&key, KEYSTORE_SYM_KEY_LEN);
	if (rc != ACRA_OK)
		return rc;
	rc = keystore_save(ks, kind, id, id_len, key, kinds[kind].pair ? pub_buf : NULL);
	if (rc == ACRA_OK && pub != NULL && kinds[kind].pair)
		memcpy(pub, pub_buf, EC_PUB_LEN);
	secret_free(key);
	return rc;
}

static bool ends_with(const char *s, size_t len, const char *suffix, size_t *stem)
{
	size_t sl = strlen(suffix);

	if (len < sl || memcmp(s + len - sl, suffix, sl) != 0)
		return false;
	*stem = len - sl;
	return true;
}

int keystore_classify_file(const char *name, enum keystore_kind *kind, enum keystore_part *part,
			   size_t *id_len)
{
	static const struct {
		const char *suffix;
		enum keystore_kind kind;
		enum keystore_part part;
	} sfx[] = {
		{ "_storage_sym", KEYSTORE_STORAGE_SYM, KEYSTORE_PRIVATE },
		{ "_zone_sym", KEYSTORE_ZONE_SYM, KEYSTORE_PRIVATE },
		{ "_storage.pub", KEYSTORE_STORAGE, KEYSTORE_PUBLIC },
		{ "_storage", KEYSTORE_STORAGE, KEYSTORE_PRIVATE },
		{ "_zone.pub", KEYSTORE_ZONE, KEYSTORE_PUBLIC },
		{ "_zone", KEYSTORE_ZONE, KEYSTORE_PRIVATE },
		{ "_hmac", KEYSTORE_HMAC, KEYSTORE_PRIVATE },
		{ "_server.pub", KEYSTORE_SERVER, KEYSTORE_PUBLIC },
		{ "_server", KEYSTORE_SERVER, KEYSTORE_PRIVATE },
		{ "_translator.pub", KEYSTORE_TRANSLATOR, KEYSTORE_PUBLIC },
		{ "_translator", KEYSTORE_TRANSLATOR, KEYSTORE_PRIVATE },
		{ ".pub", KEYSTORE_CONNECTOR, KEYSTORE_PUBLIC },
	};
	size_t len = strlen(name), stem;

	*id_len = 0;
	if (strcmp(name, "secure_log_key") == 0) {
		*kind = KEYSTORE_LOG;
		*part = KEYSTORE_PRIVATE;
		return ACRA_OK;
	}
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (ends_with(name, len, sfx[i].suffix, &stem)) {
			if (!keystore_id_is_valid((const uint8_t *)name, stem))
				return ACRA_EINVAL;
			*kind = sfx[i].kind;
			*part = sfx[i].part;
			*id_len = stem;
			return ACRA_OK;
		}
	if (!keystore_id_is_valid((const uint8_t *)name, len))
		return ACRA_EINVAL;
	*kind = KEYSTORE_CONNECTOR; /* a bare client id: connector transport key */
	*part = KEYSTORE_PRIVATE;
	*id_len = len;
	return ACRA_OK;
}

int keystore_preload(struct keystore *ks, size_t *n_loaded)
{
	static const enum keystore_kind wanted[] = { KEYSTORE_STORAGE, KEYSTORE_STORAGE_SYM,
						     KEYSTORE_ZONE, KEYSTORE_ZONE_SYM,
						     KEYSTORE_HMAC };
	char **names = NULL;
	size_t n = 0;
	int rc;

	*n_loaded = 0;
	rc = keystore_list_files(ks, false, NULL, &names, &n);
	for (size_t i = 0; i < n && rc == ACRA_OK; i++) {
		enum keystore_kind kind;
		enum keystore_part part;
		struct keystore_keys k;
		size_t id_len;
		bool want = false;

		if (keystore_classify_file(names[i], &kind, &part, &id_len) != ACRA_OK ||
		    part != KEYSTORE_PRIVATE)
			continue;
		for (size_t w = 0; w < sizeof(wanted) / sizeof(wanted[0]); w++)
			want = want || wanted[w] == kind;
		if (!want)
			continue;
		rc = keystore_get(ks, kind, KEYSTORE_PRIVATE, (const uint8_t *)names[i], id_len, &k);
		if (rc == ACRA_OK) {
			keystore_put(ks, &k);
			(*n_loaded)++;
		}
	}
	for (int pk = 0; pk < 2 && rc == ACRA_OK; pk++) { /* poison keys, if any */
		struct keystore_keys k;

		if (keystore_get(ks, pk ? KEYSTORE_POISON_SYM : KEYSTORE_POISON, KEYSTORE_PRIVATE,
				 NULL, 0, &k) == ACRA_OK) {
			keystore_put(ks, &k);
			(*n_loaded)++;
		}
		keystore_clear_error();
	}
	keystore_names_free(names, n);
	return rc;
}

int keystore_list_files(struct keystore *ks, bool public_dir, const char *sub, char ***names,
			size_t *n_names)
{
	const char *dir = public_dir ? ks->public_dir : ks->dir;
	char *path = sub != NULL ? path_join(dir, sub) : NULL;
	int rc;

	if (sub != NULL && path == NULL)
		return ACRA_ENOMEM;
	rc = ks->st.ops->list(ks->st.ctx, path != NULL ? path : dir, names, n_names);
	free(path);
	return rc;
}

int keystore_history(struct keystore *ks, enum keystore_kind kind, enum keystore_part part,
		     const uint8_t *id, size_t id_len, char ***names, size_t *n_names)
{
	char name[NAME_MAX_LEN + sizeof(KEYSTORE_HISTORY_SUFFIX)];
	char *path;
	int rc;

	*names = NULL;
	*n_names = 0;
	if (!kind_ok(kind))
		return ACRA_EINVAL;
	rc = keystore_file_name(kind, part, id, id_len, name, NAME_MAX_LEN);
	if (rc != ACRA_OK)
		return rc;
	strcat(name, KEYSTORE_HISTORY_SUFFIX);
	path = path_join(part == KEYSTORE_PUBLIC ? ks->public_dir : ks->dir, name);
	if (path == NULL)
		return ACRA_ENOMEM;
	rc = ks->st.ops->list(ks->st.ctx, path, names, n_names);
	free(path);
	return rc;
}

int keystore_destroy(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		     size_t id_len)
{
	char name[NAME_MAX_LEN];
	int rc, removed = 0;

	keystore_clear_error();
	if (!kind_ok(kind) || ks->st.ops->remove == NULL)
		return ACRA_EINVAL;
	for (int part = 0; part < (kinds[kind].pair ? 2 : 1); part++) {
		char *path;

		rc = keystore_file_name(kind, (enum keystore_part)part, id, id_len, name,
					sizeof(name));
		if (rc != ACRA_OK)
			return rc;
		path = path_join(part == KEYSTORE_PUBLIC ? ks->public_dir : ks->dir, name);
		if (path == NULL)
			return ACRA_ENOMEM;
		rc = ks->st.ops->remove(ks->st.ctx, path);
		free(path);
		if (rc == ACRA_OK)
			removed++;
		else if (rc != ACRA_ENOKEY)
			return rc;
		forget(ks, name);
	}
	if (removed == 0) {
		keystore_set_error("no %s for this id", keystore_kind_name(kind));
		return ACRA_ENOKEY;
	}
	return ACRA_OK;
}

int keystore_generate_zone(struct keystore *ks, char id[ZONE_ID_LEN + 1],
			   uint8_t pub[EC_PUB_LEN])
{
	int rc;

	/* 52^16 ids: a collision is practically impossible, but Acra checks, and so do we */
	for (int tries = 0;; tries++) {
		zone_id_generate(id);
		if (!keystore_has(ks, KEYSTORE_ZONE, (const uint8_t *)id, ZONE_ID_LEN))
			break;
		if (tries >= 16)
			return ACRA_EEXIST;
	}
	rc = keystore_generate(ks, KEYSTORE_ZONE, (const uint8_t *)id, ZONE_ID_LEN, pub);
	if (rc == ACRA_OK)
		rc = keystore_generate(ks, KEYSTORE_ZONE_SYM, (const uint8_t *)id, ZONE_ID_LEN,
				       NULL);
	return rc;
}

/* ---- the codec's key provider ---------------------------------------------------------- */

static int codec_get(void *ctx, enum codec_key_kind kind, const struct codec_key_owner *who,
		     struct codec_keyset *set)
{
	struct keystore *ks = ctx;
	struct keystore_keys keys;
	bool zone = who->zone_id.len != 0;
	const struct bytes *id = zone ? &who->zone_id : &who->client_id;
	enum keystore_kind kk;
	enum keystore_part part = KEYSTORE_PRIVATE;
	int rc;

	memset(set, 0, sizeof(*set));
	switch (kind) {
	case CODEC_KEY_STRUCT_PRIV:
		kk = zone ? KEYSTORE_ZONE : KEYSTORE_STORAGE;
		break;
	case CODEC_KEY_STRUCT_PUB:
		kk = zone ? KEYSTORE_ZONE : KEYSTORE_STORAGE;
		part = KEYSTORE_PUBLIC;
		break;
	case CODEC_KEY_BLOCK_SYM:
		kk = zone ? KEYSTORE_ZONE_SYM : KEYSTORE_STORAGE_SYM;
		break;
	case CODEC_KEY_POISON_PRIV:
		kk = KEYSTORE_POISON;
		break;
	case CODEC_KEY_POISON_SYM:
		kk = KEYSTORE_POISON_SYM;
		break;
	default:
		return ACRA_EINVAL;
	}
	rc = keystore_get(ks, kk, part, id->p, id->len, &keys);
	/* an id that cannot name a key has no key: not a keystore failure */
	if (rc == ACRA_EINVAL && !keystore_kind_is_global(kk) &&
	    !keystore_id_is_valid(id->p, id->len))
		rc = ACRA_ENOKEY;
	if (rc != ACRA_OK)
		return rc;
	set->n = keys.n;
	set->priv = keys.priv;
	set->sym = keys.sym;
	set->pub = keys.pub;
	set->handle = keys.entry;
	return ACRA_OK;
}

static void codec_release(void *ctx, struct codec_keyset *set)
{
	struct keystore_keys keys;

	memset(&keys, 0, sizeof(keys));
	keys.entry = set->handle;
	keystore_put(ctx, &keys);
	memset(set, 0, sizeof(*set));
}

void keystore_codec_keys(struct keystore *ks, struct codec_keys *out)
{
	out->get = codec_get;
	out->release = codec_release;
	out->ctx = ks;
}

bool keystore_zone_exists(void *ctx, const uint8_t id[ZONE_ID_LEN])
{
	return keystore_has(ctx, KEYSTORE_ZONE, id, ZONE_ID_LEN);
}
