/* lib/keystore/redis.c: keystore v1 files in Redis (see redis.h; spec/acra-formats.md §7.1).
 *
 * Operations, as Acra's redisStorage:
 *   read    GET path, base64-decode           (nil = no such file)
 *   write   SETNX <path><random digits> "", SET it to base64(data), RENAME it to path
 *   exists  EXISTS path
 *   list    SCAN 0.. MATCH "<dir>/" + "*"; direct children only, sorted, duplicates dropped
 *   backup  GET path, SETNX copy_path         (an existing copy is ACRA_EEXIST)
 * Redis has no file modes: private files are not permission-checked. */
#include "lib/keystore/redis.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "lib/keystore/private.h"
#include "lib/tls.h"
#include "lib/tlstunnel.h"

#define HOST_MAX 256
#define SCAN_COUNT "100"
/* base64 text of the largest accepted key file */
#define VALUE_MAX (((KEYSTORE_FILE_MAX + 2) / 3) * 4)

struct redis_store {
	pthread_mutex_t lock;
	redisContext *c;       /* NULL while disconnected */
	char host[HOST_MAX];
	int port;
	char *password;        /* sodium_malloc'ed copy, or NULL */
	long db;
	long timeout_ms;
	long backoff_ms;       /* 0 after a success */
	struct timespec next_try; /* no connect before this while backing off */
	char last_err[160];    /* why the last connect or command failed */
	bool timed_out;        /* the last failure was a timeout: do not retry at once */
	struct tls_tunnel *tunnel; /* redis_tls_enable: hiredis talks to it, it talks TLS */
	SSL_CTX *tls;
};

/* ---- pure helpers --------------------------------------------------------------------- */

bool keystore_redis_keys_enabled(const struct keystore_redis_opts *o)
{
	return o != NULL && o->host_port != NULL && o->host_port[0] != '\0' &&
	       o->db_keys != KEYSTORE_REDIS_DB_UNSET;
}

int keystore_redis_parse_addr(const char *host_port, char *host, size_t host_len, int *port)
{
	const char *colon, *hs = host_port, *he;
	char *end;
	long p;

	if (host_port == NULL || host_port[0] == '\0')
		return ACRA_EINVAL;
	if (host_port[0] == '[') {
		he = strchr(host_port, ']');
		if (he == NULL || he[1] != ':')
			return ACRA_EINVAL;
		hs = host_port + 1;
		colon = he + 1;
	} else {
		colon = strrchr(host_port, ':');
		if (colon == NULL || memchr(host_port, ':', (size_t)(colon - host_port)) != NULL)
			return ACRA_EINVAL;
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= host_len)
		return ACRA_EINVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return ACRA_EINVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p < 1 || p > 65535)
		return ACRA_EINVAL;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*port = (int)p;
	return ACRA_OK;
}

int keystore_redis_scan_pattern(const char *dir, char *buf, size_t buf_len)
{
	size_t n = 0;

	for (const char *p = dir; *p != '\0'; p++) {
		bool special = strchr("*?[]\\", *p) != NULL;

		if (n + (special ? 2 : 1) >= buf_len)
			return ACRA_ERANGE;
		if (special)
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	if (n + 3 > buf_len)
		return ACRA_ERANGE;
	memcpy(buf + n, "/*", 3);
	return ACRA_OK;
}

int keystore_redis_check(const struct keystore_redis_opts *o, bool has_tokens_db)
{
	char host[HOST_MAX];
	int port;

	keystore_clear_error();
	if (o->host_port == NULL || o->host_port[0] == '\0')
		return ACRA_OK;
	if (has_tokens_db && o->db_keys == o->db_tokens) {
		keystore_set_error("Identical Redis DB parameters, one of redis_db_tokens or "
				   "redis_db_keys should be provided");
		return ACRA_EINVAL;
	}
	if (keystore_redis_parse_addr(o->host_port, host, sizeof(host), &port) != ACRA_OK) {
		keystore_set_error("invalid redis_host_port \"%.80s\": expected host:port",
				   o->host_port);
		return ACRA_EINVAL;
	}
	return ACRA_OK;
}

int keystore_redis_opts_from_flags(const struct keystore_redis_opts *flags, bool has_tokens_db,
				   struct keystore_opts *o)
{
	int rc = keystore_redis_check(flags, has_tokens_db);

	if (rc != ACRA_OK)
		return rc;
	o->redis = keystore_redis_keys_enabled(flags) ? flags : NULL;
	return ACRA_OK;
}

/* ---- locking ---------------------------------------------------------------------------- */

/* hiredis writes with write(2), which raises SIGPIPE when Redis has gone away; SIGPIPE is
 * blocked in the calling thread while the store is used, and one it raised is consumed. */
struct held {
	sigset_t old;
	bool was_pending;
};

static void enter(struct redis_store *r, struct held *h)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	h->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &h->old);
	pthread_mutex_lock(&r->lock);
}

static void leave(struct redis_store *r, struct held *h)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };

	pthread_mutex_unlock(&r->lock);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!h->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &h->old, NULL);
}

/* ---- connection ----------------------------------------------------------------------- */

static void now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long ms_until(const struct timespec *t)
{
	struct timespec n;

	now_mono(&n);
	return (long)(t->tv_sec - n.tv_sec) * 1000L + (t->tv_nsec - n.tv_nsec) / 1000000L;
}

static void fail_later(struct redis_store *r)
{
	struct timespec n;

	r->backoff_ms = r->backoff_ms == 0 ? KEYSTORE_REDIS_BACKOFF_MIN_MS : r->backoff_ms * 2;
	if (r->backoff_ms > KEYSTORE_REDIS_BACKOFF_MAX_MS)
		r->backoff_ms = KEYSTORE_REDIS_BACKOFF_MAX_MS;
	now_mono(&n);
	n.tv_sec += r->backoff_ms / 1000;
	n.tv_nsec += (r->backoff_ms % 1000) * 1000000L;
	if (n.tv_nsec >= 1000000000L) {
		n.tv_sec++;
		n.tv_nsec -= 1000000000L;
	}
	r->next_try = n;
}

static void drop(struct redis_store *r)
{
	if (r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
}

/* Run one command on a live context; reply errors are copied to r->last_err. Returns the
 * reply (owned) or NULL with r->c broken (I/O) or an error reply freed and *is_err set. */
static redisReply *run(struct redis_store *r, int argc, const char **argv, const size_t *lens,
		       bool *is_err)
{
	redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);

	*is_err = false;
	r->timed_out = false;
	if (rep == NULL) {
		snprintf(r->last_err, sizeof(r->last_err), "%s",
			 r->c->errstr[0] ? r->c->errstr : "connection lost");
		if (r->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			r->timed_out = true;
			snprintf(r->last_err, sizeof(r->last_err),
				 "no answer within %ld ms", r->timeout_ms);
		}
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->last_err, sizeof(r->last_err), "%.*s", (int)(rep->len > 120 ? 120 : rep->len),
			 rep->str != NULL ? rep->str : "");
		freeReplyObject(rep);
		*is_err = true;
		return NULL;
	}
	return rep;
}

/* Connect, AUTH, SELECT, PING. Returns 0 or ACRA_EIO (r->last_err says why). */
static int connect_now(struct redis_store *r)
{
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	char dbs[24];
	redisReply *rep;
	bool is_err;

	drop(r);
	if (r->tunnel != NULL)
		r->c = redisConnectUnixWithTimeout(tls_tunnel_path(r->tunnel), tv);
	else
		r->c = redisConnectWithTimeout(r->host, r->port, tv);
	if (r->c == NULL) {
		snprintf(r->last_err, sizeof(r->last_err), "out of memory");
		return ACRA_EIO;
	}
	if (r->c->err) {
		snprintf(r->last_err, sizeof(r->last_err), "%s", r->c->errstr);
		drop(r);
		return ACRA_EIO;
	}
	if (redisSetTimeout(r->c, tv) != REDIS_OK) {
		snprintf(r->last_err, sizeof(r->last_err), "cannot set the command timeout");
		drop(r);
		return ACRA_EIO;
	}
	if (r->password != NULL) {
		const char *argv[2] = { "AUTH", r->password };
		size_t lens[2] = { 4, strlen(r->password) };

		rep = run(r, 2, argv, lens, &is_err);
		if (rep == NULL) {
			char why[sizeof(r->last_err)];

			memcpy(why, r->last_err, sizeof(why));
			snprintf(r->last_err, sizeof(r->last_err), "AUTH refused: %.140s", why);
			drop(r);
			return ACRA_EIO;
		}
		freeReplyObject(rep);
	}
	if (r->db != 0) {
		const char *argv[2] = { "SELECT", dbs };
		size_t lens[2];

		snprintf(dbs, sizeof(dbs), "%ld", r->db);
		lens[0] = 6;
		lens[1] = strlen(dbs);
		rep = run(r, 2, argv, lens, &is_err);
		if (rep == NULL) {
			char why[sizeof(r->last_err)];

			memcpy(why, r->last_err, sizeof(why));
			snprintf(r->last_err, sizeof(r->last_err), "SELECT %ld failed: %.120s", r->db,
				 why);
			drop(r);
			return ACRA_EIO;
		}
		freeReplyObject(rep);
	}
	{
		const char *argv[1] = { "PING" };
		size_t lens[1] = { 4 };
		bool pong;

		rep = run(r, 1, argv, lens, &is_err);
		if (rep == NULL) {
			drop(r);
			return ACRA_EIO;
		}
		pong = rep->type == REDIS_REPLY_STATUS && rep->str != NULL &&
		       strcmp(rep->str, "PONG") == 0;
		freeReplyObject(rep);
		if (!pong) {
			snprintf(r->last_err, sizeof(r->last_err), "PING was not answered with PONG");
			drop(r);
			return ACRA_EIO;
		}
	}
	r->backoff_ms = 0;
	return ACRA_OK;
}

static void set_unavailable(struct redis_store *r)
{
	keystore_set_error("Redis at %s:%d is unavailable: %s", r->host, r->port, r->last_err);
}

/* Run a command with reconnection: one immediate reconnect after an I/O error (a restarted
 * server), otherwise connects only outside the backoff window. Returns 0 with *out (owned)
 * or ACRA_EIO with keystore_last_error() set. Caller holds r->lock. */
static int command(struct redis_store *r, int argc, const char **argv, const size_t *lens,
		   redisReply **out)
{
	*out = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *rep;
		bool is_err;

		if (r->c == NULL) {
			if (attempt == 0 && r->backoff_ms != 0 && ms_until(&r->next_try) > 0) {
				set_unavailable(r);
				return ACRA_EIO;
			}
			if (connect_now(r) != ACRA_OK) {
				fail_later(r);
				set_unavailable(r);
				return ACRA_EIO;
			}
		}
		rep = run(r, argc, argv, lens, &is_err);
		if (rep != NULL) {
			*out = rep;
			return ACRA_OK;
		}
		if (is_err) {
			keystore_set_error("Redis at %s:%d refused %s: %s", r->host, r->port, argv[0],
					   r->last_err);
			return ACRA_EIO;
		}
		drop(r);
		if (r->timed_out)
			break;
	}
	fail_later(r);
	set_unavailable(r);
	return ACRA_EIO;
}

/* ---- storage ops ---------------------------------------------------------------------- */

static int rs_read(void *ctx, const char *path, bool private_file, struct secret **out)
{
	struct held h;
	struct redis_store *r = ctx;
	const char *argv[2] = { "GET", path };
	size_t lens[2] = { 3, strlen(path) };
	redisReply *rep = NULL;
	struct secret *s = NULL;
	size_t bin_len = 0;
	int rc;

	(void)private_file;
	*out = NULL;
	enter(r, &h);
	rc = command(r, 2, argv, lens, &rep);
	leave(r, &h);
	if (rc != ACRA_OK)
		return rc;
	if (rep->type == REDIS_REPLY_NIL) {
		keystore_set_error("key %s does not exist in Redis", path);
		rc = ACRA_ENOKEY;
		goto out;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		keystore_set_error("Redis key %s does not hold a string", path);
		rc = ACRA_EPROTO;
		goto out;
	}
	if (rep->len > VALUE_MAX) {
		keystore_set_error("Redis key %s is too large (%zu bytes)", path, rep->len);
		rc = ACRA_ERANGE;
		goto out;
	}
	rc = secret_new(&s, rep->len / 4 * 3 + 3);
	if (rc != ACRA_OK)
		goto out;
	if (sodium_base642bin(s->p, s->len, rep->str, rep->len, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		keystore_set_error("Redis key %s does not hold base64 key data", path);
		rc = ACRA_EPROTO;
		goto out;
	}
	rc = secret_from(out, s->p, bin_len);
out:
	secret_free(s);
	if (rep != NULL) {
		if (rep->str != NULL)
			sodium_memzero(rep->str, rep->len);
		freeReplyObject(rep);
	}
	return rc;
}

/* A simple reply check: integer or status, else EPROTO. */
static int expect(redisReply *rep, int type, const char *what, const char *path)
{
	if (rep->type != type) {
		keystore_set_error("unexpected Redis answer to %s %s", what, path);
		return ACRA_EPROTO;
	}
	return ACRA_OK;
}

static int rs_write(void *ctx, const char *path, const uint8_t *data, size_t len,
		    bool private_file)
{
	struct held h;
	struct redis_store *r = ctx;
	size_t b64_cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 24), *b64 = malloc(b64_cap);
	redisReply *rep = NULL;
	int rc = ACRA_OK;

	(void)private_file;
	if (tmp == NULL || b64 == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	sodium_bin2base64(b64, b64_cap, data, len, sodium_base64_VARIANT_ORIGINAL);
	enter(r, &h);
	for (int tries = 0;; tries++) {
		uint64_t rnd = ((uint64_t)randombytes_random() << 31) ^ randombytes_random();
		const char *argv[3] = { "SETNX", tmp, "" };
		size_t lens[3] = { 5, 0, 0 };

		snprintf(tmp, pl + 24, "%s%06llu", path, (unsigned long long)rnd);
		lens[1] = strlen(tmp);
		rc = command(r, 3, argv, lens, &rep);
		if (rc != ACRA_OK)
			break;
		rc = expect(rep, REDIS_REPLY_INTEGER, "SETNX", tmp);
		if (rc == ACRA_OK && rep->integer != 1)
			rc = ACRA_EEXIST;
		freeReplyObject(rep);
		rep = NULL;
		if (rc != ACRA_EEXIST || tries >= 8)
			break;
	}
	if (rc == ACRA_EEXIST)
		keystore_set_error("cannot create a temporary key next to %s in Redis", path);
	if (rc == ACRA_OK) {
		const char *argv[3] = { "SET", tmp, b64 };
		size_t lens[3] = { 3, strlen(tmp), strlen(b64) };

		rc = command(r, 3, argv, lens, &rep);
		if (rc == ACRA_OK)
			rc = expect(rep, REDIS_REPLY_STATUS, "SET", tmp);
		freeReplyObject(rep);
		rep = NULL;
	}
	if (rc == ACRA_OK) {
		const char *argv[3] = { "RENAME", tmp, path };
		size_t lens[3] = { 6, strlen(tmp), pl };

		rc = command(r, 3, argv, lens, &rep);
		if (rc == ACRA_OK)
			rc = expect(rep, REDIS_REPLY_STATUS, "RENAME", tmp);
		freeReplyObject(rep);
		rep = NULL;
	}
	leave(r, &h);
out:
	if (b64 != NULL)
		sodium_memzero(b64, b64_cap);
	free(b64);
	free(tmp);
	return rc;
}

static int rs_exists(void *ctx, const char *path, bool *yes)
{
	struct held h;
	struct redis_store *r = ctx;
	const char *argv[2] = { "EXISTS", path };
	size_t lens[2] = { 6, strlen(path) };
	redisReply *rep = NULL;
	int rc;

	*yes = false;
	enter(r, &h);
	rc = command(r, 2, argv, lens, &rep);
	leave(r, &h);
	if (rc != ACRA_OK)
		return rc;
	rc = expect(rep, REDIS_REPLY_INTEGER, "EXISTS", path);
	if (rc == ACRA_OK)
		*yes = rep->integer > 0;
	freeReplyObject(rep);
	return rc;
}

static int rs_remove(void *ctx, const char *path)
{
	struct held h;
	struct redis_store *r = ctx;
	const char *argv[2] = { "DEL", path };
	size_t lens[2] = { 3, strlen(path) };
	redisReply *rep = NULL;
	int rc;

	enter(r, &h);
	rc = command(r, 2, argv, lens, &rep);
	leave(r, &h);
	if (rc != ACRA_OK)
		return rc;
	rc = expect(rep, REDIS_REPLY_INTEGER, "DEL", path);
	if (rc == ACRA_OK && rep->integer == 0)
		rc = ACRA_ENOKEY;
	freeReplyObject(rep);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rs_list(void *ctx, const char *dir, char ***names, size_t *n_names)
{
	struct held h;
	struct redis_store *r = ctx;
	size_t dl = strlen(dir), pat_cap = 2 * dl + 3, n = 0, cap = 0;
	char *pat = malloc(pat_cap), cursor[32] = "0";
	char **v = NULL;
	int rc = ACRA_OK;

	*names = NULL;
	*n_names = 0;
	if (pat == NULL)
		return ACRA_ENOMEM;
	if (keystore_redis_scan_pattern(dir, pat, pat_cap) != ACRA_OK) {
		free(pat);
		return ACRA_ERANGE;
	}
	enter(r, &h);
	do {
		const char *argv[6] = { "SCAN", cursor, "MATCH", pat, "COUNT", SCAN_COUNT };
		size_t lens[6] = { 4, strlen(cursor), 5, strlen(pat), 5, strlen(SCAN_COUNT) };
		redisReply *rep = NULL, *keys;

		rc = command(r, 6, argv, lens, &rep);
		if (rc != ACRA_OK)
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof(cursor) ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			keystore_set_error("unexpected Redis answer to SCAN %s", pat);
			freeReplyObject(rep);
			rc = ACRA_EPROTO;
			break;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
		cursor[rep->element[0]->len] = '\0';
		keys = rep->element[1];
		for (size_t i = 0; i < keys->elements && rc == ACRA_OK; i++) {
			redisReply *k = keys->element[i];
			const char *name;
			size_t name_len;

			if (k->type != REDIS_REPLY_STRING || k->len <= dl + 1 ||
			    memcmp(k->str, dir, dl) != 0 || k->str[dl] != '/')
				continue;
			name = k->str + dl + 1;
			name_len = k->len - dl - 1;
			/* files directly in dir only, as the filesystem backend */
			if (memchr(name, '/', name_len) != NULL || memchr(name, '\0', name_len) != NULL)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				char **nv = realloc(v, ncap * sizeof(*nv));

				if (nv == NULL) {
					rc = ACRA_ENOMEM;
					break;
				}
				v = nv;
				cap = ncap;
			}
			v[n] = strndup(name, name_len);
			if (v[n] == NULL)
				rc = ACRA_ENOMEM;
			else
				n++;
		}
		freeReplyObject(rep);
	} while (rc == ACRA_OK && strcmp(cursor, "0") != 0);
	leave(r, &h);
	free(pat);
	if (rc != ACRA_OK) {
		keystore_names_free(v, n);
		return rc;
	}
	if (n > 1) {
		size_t w = 1;

		qsort(v, n, sizeof(*v), cmp_names);
		/* SCAN may return a key more than once */
		for (size_t i = 1; i < n; i++) {
			if (strcmp(v[i], v[w - 1]) == 0)
				free(v[i]);
			else
				v[w++] = v[i];
		}
		n = w;
	}
	*names = v;
	*n_names = n;
	return ACRA_OK;
}

static int rs_backup(void *ctx, const char *path, const char *copy_path)
{
	struct held h;
	struct redis_store *r = ctx;
	const char *gargv[2] = { "GET", path };
	size_t glens[2] = { 3, strlen(path) };
	redisReply *val = NULL, *rep = NULL;
	int rc;

	enter(r, &h);
	rc = command(r, 2, gargv, glens, &val);
	if (rc == ACRA_OK && val->type == REDIS_REPLY_NIL) {
		keystore_set_error("key %s does not exist in Redis", path);
		rc = ACRA_ENOKEY;
	} else if (rc == ACRA_OK) {
		rc = expect(val, REDIS_REPLY_STRING, "GET", path);
	}
	if (rc == ACRA_OK) {
		const char *argv[3] = { "SETNX", copy_path, val->str };
		size_t lens[3] = { 5, strlen(copy_path), val->len };

		rc = command(r, 3, argv, lens, &rep);
		if (rc == ACRA_OK)
			rc = expect(rep, REDIS_REPLY_INTEGER, "SETNX", copy_path);
		if (rc == ACRA_OK && rep->integer != 1) {
			keystore_set_error("history key %s already exists in Redis", copy_path);
			rc = ACRA_EEXIST;
		}
		freeReplyObject(rep);
	}
	leave(r, &h);
	if (val != NULL) {
		if (val->str != NULL)
			sodium_memzero(val->str, val->len);
		freeReplyObject(val);
	}
	return rc;
}

static void rs_free(void *ctx)
{
	struct redis_store *r = ctx;

	if (r == NULL)
		return;
	drop(r);
	tls_tunnel_stop(r->tunnel);
	if (r->tls != NULL)
		SSL_CTX_free(r->tls);
	if (r->password != NULL) {
		sodium_memzero(r->password, strlen(r->password));
		sodium_free(r->password);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct keystore_storage_ops redis_ops = {
	.read = rs_read,
	.write = rs_write,
	.exists = rs_exists,
	.list = rs_list,
	.backup = rs_backup,
	.remove = rs_remove,
	.check_dir = NULL,
	.free = rs_free,
};

/* A connection (not yet connected) for o at database db. */
static int store_new(struct redis_store **out, const struct keystore_redis_opts *o, long db)
{
	struct redis_store *r;

	*out = NULL;
	if (o->host_port == NULL || o->host_port[0] == '\0') {
		keystore_set_error("redis_host_port is empty");
		return ACRA_EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ACRA_ENOMEM;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return ACRA_ENOMEM;
	}
	if (keystore_redis_parse_addr(o->host_port, r->host, sizeof(r->host), &r->port) !=
	    ACRA_OK) {
		keystore_set_error("redis_host_port \"%.64s\" is not host:port", o->host_port);
		rs_free(r);
		return ACRA_EINVAL;
	}
	r->db = db < 0 ? 0 : db;
	r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : KEYSTORE_REDIS_TIMEOUT_MS;
	if (o->password != NULL && o->password[0] != '\0') {
		size_t pl = strlen(o->password);

		r->password = sodium_malloc(pl + 1);
		if (r->password == NULL) {
			rs_free(r);
			return ACRA_ENOMEM;
		}
		memcpy(r->password, o->password, pl + 1);
	}
	if (o->tls_enable) {
		const char *ca = o->tls_client_ca, *cert = o->tls_client_cert, *key = o->tls_client_key;
		struct tls_files f = { key != NULL && *key ? key : NULL, cert != NULL && *cert ? cert : NULL,
				       ca != NULL && *ca ? ca : NULL, 0 };
		char err[400];

		if (tls_client_ctx_new(&r->tls, &f, err, sizeof(err)) != ACRA_OK ||
		    tls_tunnel_start(&r->tunnel, r->tls, r->host, r->port, o->tls_client_sni,
				     r->timeout_ms, err, sizeof(err)) != ACRA_OK) {
			keystore_set_error("Redis TLS: %s", err);
			rs_free(r);
			return ACRA_EIO;
		}
	}
	*out = r;
	return ACRA_OK;
}

int keystore_redis_storage(struct keystore_storage *out, const struct keystore_redis_opts *o)
{
	struct redis_store *r;
	int rc;

	out->ops = NULL;
	out->ctx = NULL;
	rc = keystore_redis_check(o, false);
	if (rc == ACRA_OK)
		rc = store_new(&r, o, o->db_keys);
	if (rc != ACRA_OK)
		return rc;
	if (connect_now(r) != ACRA_OK) {
		keystore_set_error("cannot use Redis at %s:%d (db %ld) for keys: %s", r->host,
				   r->port, r->db, r->last_err);
		rs_free(r);
		return ACRA_EIO;
	}
	out->ops = &redis_ops;
	out->ctx = r;
	return ACRA_OK;
}

/* ---- a connection for other users (token storage) --------------------------------------- */

int keystore_redis_conn_open(struct keystore_redis_conn **out, const struct keystore_redis_opts *o,
			     long db)
{
	struct redis_store *r;
	int rc;

	*out = NULL;
	rc = store_new(&r, o, db);
	if (rc != ACRA_OK)
		return rc;
	if (connect_now(r) != ACRA_OK) {
		keystore_set_error("cannot use Redis at %s:%d (db %ld): %s", r->host, r->port,
				   r->db, r->last_err);
		rs_free(r);
		return ACRA_EIO;
	}
	*out = (struct keystore_redis_conn *)r;
	return ACRA_OK;
}

int keystore_redis_conn_cmd(struct keystore_redis_conn *c, int argc, const char **argv,
			    const size_t *lens, struct redisReply **reply)
{
	struct redis_store *r = (struct redis_store *)c;
	struct held h;
	int rc;

	enter(r, &h);
	rc = command(r, argc, argv, lens, reply);
	leave(r, &h);
	return rc;
}

void keystore_redis_conn_free(struct keystore_redis_conn *c)
{
	rs_free(c);
}
