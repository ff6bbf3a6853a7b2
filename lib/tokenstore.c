/* lib/tokenstore.c: token records in a chained hash table, replayed from and appended to a
 * file (format in tokenstore.h). */
#include "lib/tokenstore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "lib/keystore/redis.h"
#include "lib/log.h"

#define REC_HDR (1 + TOKENSTORE_ID_LEN + 4)

struct entry {
	struct entry *next;
	uint8_t kind;
	uint8_t id[TOKENSTORE_ID_LEN];
	size_t len;
	uint8_t *val;
};

struct tokenstore {
	pthread_mutex_t mu;
	struct entry **buckets;
	size_t n_buckets, n;
	int fd;
	struct keystore_redis_conn *redis; /* records in Redis instead of the table */
	uint8_t *rval;                     /* the last record read from Redis */
	size_t rval_len;
	char where[300];                   /* "Redis at host:port db N", for messages */
};

static size_t bucket_of(const struct tokenstore *ts, uint8_t kind, const uint8_t *id)
{
	uint64_t h = 0;

	memcpy(&h, id, sizeof(h)); /* ids are SHA-256 outputs: already uniform */
	return (size_t)(h ^ kind) & (ts->n_buckets - 1);
}

static struct entry *find(struct tokenstore *ts, uint8_t kind, const uint8_t *id)
{
	for (struct entry *e = ts->buckets[bucket_of(ts, kind, id)]; e != NULL; e = e->next)
		if (e->kind == kind && memcmp(e->id, id, TOKENSTORE_ID_LEN) == 0)
			return e;
	return NULL;
}

static int grow(struct tokenstore *ts)
{
	size_t nb = ts->n_buckets * 2;
	struct entry **b = calloc(nb, sizeof(*b));
	struct entry **old = ts->buckets;
	size_t old_n = ts->n_buckets;

	if (b == NULL)
		return ACRA_ENOMEM;
	ts->buckets = b;
	ts->n_buckets = nb;
	for (size_t i = 0; i < old_n; i++) {
		struct entry *e = old[i], *next;

		for (; e != NULL; e = next) {
			size_t k = bucket_of(ts, e->kind, e->id);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(old);
	return ACRA_OK;
}

static int mem_put(struct tokenstore *ts, uint8_t kind, const uint8_t *id, const uint8_t *val,
		   size_t len)
{
	struct entry *e = find(ts, kind, id);
	uint8_t *copy = malloc(len > 0 ? len : 1);

	if (copy == NULL)
		return ACRA_ENOMEM;
	if (len > 0)
		memcpy(copy, val, len);
	if (e != NULL) {
		free(e->val);
		e->val = copy;
		e->len = len;
		return ACRA_OK;
	}
	if (ts->n >= ts->n_buckets && grow(ts) != ACRA_OK) {
		free(copy);
		return ACRA_ENOMEM;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		free(copy);
		return ACRA_ENOMEM;
	}
	e->kind = kind;
	memcpy(e->id, id, TOKENSTORE_ID_LEN);
	e->val = copy;
	e->len = len;
	size_t k = bucket_of(ts, kind, id);
	e->next = ts->buckets[k];
	ts->buckets[k] = e;
	ts->n++;
	return ACRA_OK;
}

/* Replay the file: returns 0 and the offset after the last whole record in *good. */
static int replay(struct tokenstore *ts, const char *path, off_t *good, char *err,
		  size_t err_len)
{
	FILE *f = fdopen(dup(ts->fd), "rb");
	uint8_t hdr[TOKENSTORE_HDR_LEN], rh[REC_HDR];
	uint8_t *buf = NULL;
	off_t pos;
	int rc = ACRA_OK;

	*good = 0;
	if (f == NULL) {
		snprintf(err, err_len, "cannot read token file %s: %s", path, strerror(errno));
		return ACRA_EIO;
	}
	size_t got = fread(hdr, 1, sizeof(hdr), f);
	if (got == 0) { /* new file */
		fclose(f);
		return ACRA_OK;
	}
	if (got != sizeof(hdr) || memcmp(hdr, TOKENSTORE_MAGIC, sizeof(TOKENSTORE_MAGIC)) != 0) {
		snprintf(err, err_len, "%s is not an acra token file", path);
		fclose(f);
		return ACRA_EPROTO;
	}
	pos = TOKENSTORE_HDR_LEN;
	for (;;) {
		if (fread(rh, 1, REC_HDR, f) != REC_HDR)
			break;
		uint32_t len = rd_be32(rh + 1 + TOKENSTORE_ID_LEN);
		if (len > TOKENSTORE_VALUE_MAX)
			break;
		uint8_t *nb = realloc(buf, len > 0 ? len : 1);
		if (nb == NULL) {
			rc = ACRA_ENOMEM;
			break;
		}
		buf = nb;
		if (len > 0 && fread(buf, 1, len, f) != len)
			break;
		rc = mem_put(ts, rh[0], rh + 1, buf, len);
		if (rc != ACRA_OK)
			break;
		pos += REC_HDR + len;
	}
	free(buf);
	fclose(f);
	*good = pos;
	return rc;
}

int tokenstore_open(struct tokenstore **out, const char *path, char *err, size_t err_len)
{
	struct tokenstore *ts;
	int rc;

	*out = NULL;
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL)
		return ACRA_ENOMEM;
	ts->fd = -1;
	ts->n_buckets = 1024;
	ts->buckets = calloc(ts->n_buckets, sizeof(*ts->buckets));
	if (ts->buckets == NULL) {
		free(ts);
		return ACRA_ENOMEM;
	}
	pthread_mutex_init(&ts->mu, NULL);
	if (path != NULL && *path != '\0') {
		off_t good;
		struct stat st;

		ts->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (ts->fd < 0) {
			snprintf(err, err_len, "cannot open token file %s: %s", path,
				 strerror(errno));
			tokenstore_free(ts);
			return ACRA_EIO;
		}
		rc = replay(ts, path, &good, err, err_len);
		if (rc != ACRA_OK) {
			tokenstore_free(ts);
			return rc;
		}
		if (fstat(ts->fd, &st) != 0) {
			snprintf(err, err_len, "cannot stat %s: %s", path, strerror(errno));
			tokenstore_free(ts);
			return ACRA_EIO;
		}
		if (good == 0) {
			uint8_t hdr[TOKENSTORE_HDR_LEN] = { 0 };

			memcpy(hdr, TOKENSTORE_MAGIC, sizeof(TOKENSTORE_MAGIC));
			if (ftruncate(ts->fd, 0) != 0 ||
			    write(ts->fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
				snprintf(err, err_len, "cannot write %s: %s", path,
					 strerror(errno));
				tokenstore_free(ts);
				return ACRA_EIO;
			}
		} else if (st.st_size > good) {
			log_warn("token file %s: %lld bytes of an incomplete record at the end "
				 "are dropped", path, (long long)(st.st_size - good));
			if (ftruncate(ts->fd, good) != 0) {
				snprintf(err, err_len, "cannot truncate %s: %s", path,
					 strerror(errno));
				tokenstore_free(ts);
				return ACRA_EIO;
			}
		}
	}
	*out = ts;
	return ACRA_OK;
}

void tokenstore_free(struct tokenstore *ts)
{
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->n_buckets; i++) {
		struct entry *e = ts->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->val);
			free(e);
		}
	}
	free(ts->buckets);
	if (ts->fd >= 0)
		close(ts->fd);
	keystore_redis_conn_free(ts->redis);
	free(ts->rval);
	pthread_mutex_destroy(&ts->mu);
	free(ts);
}

void tokenstore_lock(struct tokenstore *ts)
{
	pthread_mutex_lock(&ts->mu);
}

void tokenstore_unlock(struct tokenstore *ts)
{
	pthread_mutex_unlock(&ts->mu);
}

/* Redis key of a record: "tokens/" hex(ctx) "/" hex(kind '.' id), as Acra names it. */
static void redis_key(char *key, const uint8_t ctx[TOKENSTORE_ID_LEN], uint8_t kind,
		      const uint8_t *id)
{
	uint8_t kid[2 + TOKENSTORE_ID_LEN];

	kid[0] = kind;
	kid[1] = '.';
	memcpy(kid + 2, id, TOKENSTORE_ID_LEN);
	memcpy(key, "tokens/", 7);
	sodium_bin2hex(key + 7, 2 * TOKENSTORE_ID_LEN + 1, ctx, TOKENSTORE_ID_LEN);
	key[7 + 2 * TOKENSTORE_ID_LEN] = '/';
	sodium_bin2hex(key + 8 + 2 * TOKENSTORE_ID_LEN, 2 * sizeof(kid) + 1, kid, sizeof(kid));
}

#define REDIS_KEY_LEN (8 + 2 * TOKENSTORE_ID_LEN + 2 * (2 + TOKENSTORE_ID_LEN))

static int redis_get(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx, const uint8_t *id,
		     struct bytes *val)
{
	char key[REDIS_KEY_LEN + 1];
	const char *argv[2] = { "GET", key };
	size_t lens[2] = { 3, REDIS_KEY_LEN };
	redisReply *rep = NULL;
	size_t n = 0;
	int rc;

	redis_key(key, ctx, kind, id);
	rc = keystore_redis_conn_cmd(ts->redis, 2, argv, lens, &rep);
	if (rc != ACRA_OK) {
		log_error("token storage: %s", keystore_last_error());
		return rc;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		rc = ACRA_ENOKEY;
	} else if (rep->type != REDIS_REPLY_STRING || rep->len / 2 > TOKENSTORE_VALUE_MAX) {
		log_error("token storage: %s holds something that is not a token record",
			  ts->where);
		rc = ACRA_EPROTO;
	} else {
		uint8_t *b = realloc(ts->rval, rep->len / 2 + 1);

		rc = ACRA_ENOMEM;
		if (b != NULL) {
			ts->rval = b;
			rc = sodium_hex2bin(b, rep->len / 2 + 1, rep->str, rep->len, NULL, &n, NULL) ==
					     0 && n * 2 == rep->len ?
				     ACRA_OK :
				     ACRA_EPROTO;
		}
		if (rc == ACRA_OK) {
			ts->rval_len = n;
			val->p = ts->rval;
			val->len = n;
		}
	}
	freeReplyObject(rep);
	return rc;
}

/* SET key hex(val) [NX]. Returns 0, ACRA_EEXIST (NX and the key exists), ACRA_EIO. */
static int redis_put(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx, const uint8_t *id,
		     const uint8_t *val, size_t len, bool nx)
{
	char key[REDIS_KEY_LEN + 1];
	char *hex = malloc(2 * len + 1);
	const char *argv[4] = { "SET", key, hex, "NX" };
	size_t lens[4] = { 3, REDIS_KEY_LEN, 2 * len, 2 };
	redisReply *rep = NULL;
	int rc;

	if (hex == NULL)
		return ACRA_ENOMEM;
	redis_key(key, ctx, kind, id);
	sodium_bin2hex(hex, 2 * len + 1, val, len);
	rc = keystore_redis_conn_cmd(ts->redis, nx ? 4 : 3, argv, lens, &rep);
	free(hex);
	if (rc != ACRA_OK) {
		log_error("token storage: %s", keystore_last_error());
		return rc;
	}
	rc = rep->type == REDIS_REPLY_NIL ? ACRA_EEXIST :
	     rep->type == REDIS_REPLY_STATUS ? ACRA_OK : ACRA_EIO;
	freeReplyObject(rep);
	return rc;
}

int tokenstore_get(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx,
		   const uint8_t id[TOKENSTORE_ID_LEN], struct bytes *val)
{
	struct entry *e;

	if (ts->redis != NULL)
		return redis_get(ts, kind, ctx, id, val);
	e = find(ts, kind, id);
	if (e == NULL)
		return ACRA_ENOKEY;
	val->p = e->val;
	val->len = e->len;
	return ACRA_OK;
}

static int put(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx,
	       const uint8_t id[TOKENSTORE_ID_LEN], const uint8_t *val, size_t len, bool nx)
{
	if (len > TOKENSTORE_VALUE_MAX)
		return ACRA_ERANGE;
	if (ts->redis != NULL)
		return redis_put(ts, kind, ctx, id, val, len, nx);
	if (nx && find(ts, kind, id) != NULL)
		return ACRA_EEXIST;
	if (ts->fd >= 0) {
		size_t n = REC_HDR + len;
		uint8_t *rec = malloc(n);
		ssize_t w;

		if (rec == NULL)
			return ACRA_ENOMEM;
		rec[0] = kind;
		memcpy(rec + 1, id, TOKENSTORE_ID_LEN);
		wr_be32(rec + 1 + TOKENSTORE_ID_LEN, (uint32_t)len);
		if (len > 0)
			memcpy(rec + REC_HDR, val, len);
		do
			w = write(ts->fd, rec, n);
		while (w < 0 && errno == EINTR);
		free(rec);
		if (w != (ssize_t)n) {
			log_error("cannot append to the token file: %s",
				  w < 0 ? strerror(errno) : "short write");
			return ACRA_EIO;
		}
	}
	return mem_put(ts, kind, id, val, len);
}

int tokenstore_put(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx,
		   const uint8_t id[TOKENSTORE_ID_LEN], const uint8_t *val, size_t len)
{
	return put(ts, kind, ctx, id, val, len, false);
}

int tokenstore_put_new(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx,
		       const uint8_t id[TOKENSTORE_ID_LEN], const uint8_t *val, size_t len)
{
	return put(ts, kind, ctx, id, val, len, true);
}

int tokenstore_open_redis(struct tokenstore **out, const struct keystore_redis_opts *o, char *err,
			  size_t err_len)
{
	struct tokenstore *ts;
	int rc;

	*out = NULL;
	rc = tokenstore_open(&ts, NULL, err, err_len);
	if (rc != ACRA_OK)
		return rc;
	rc = keystore_redis_conn_open(&ts->redis, o, o->db_tokens);
	if (rc != ACRA_OK) {
		snprintf(err, err_len, "token storage: %s", keystore_last_error());
		tokenstore_free(ts);
		return rc;
	}
	snprintf(ts->where, sizeof(ts->where), "Redis at %s db %ld", o->host_port, o->db_tokens);
	*out = ts;
	return ACRA_OK;
}

size_t tokenstore_count(struct tokenstore *ts)
{
	return ts->n;
}

bool tokenstore_is_shared(const struct tokenstore *ts)
{
	return ts->redis != NULL;
}
