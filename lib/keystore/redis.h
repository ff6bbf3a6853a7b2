/* lib/keystore/redis.h: Redis as the keystore v1 file store (spec/acra-formats.md §5.8, §7.1;
 * spec/acra-runtime.md §6.2), as Acra 0.90+ keeps keys there.
 *
 * Every key file becomes one Redis string: the Redis key is the path the file would have
 * ("<keys_dir>/<file name>", e.g. ".acrakeys/client_storage", rotated versions
 * ".acrakeys/client_storage.old/2023-01-02T03:04:05.123"), the value the standard padded
 * base64 of the file content. Directories are implicit (a SCAN of "<dir>/" + "*" lists them).
 * Keystores written by Acra's Redis backend are read here and the other way round.
 *
 * Connection: one hiredis context per keystore, guarded by its own mutex. Keys are read only
 * on keystore cache misses (and when keys are written), so a blocking command with a short
 * timeout is acceptable: a miss costs one Redis round trip (or two, for the rotation
 * history listing) while the calling worker thread waits; concurrent misses queue on the
 * mutex. Connect and command timeouts (default 2 s) bound every call. After an error the
 * context is dropped; the next command reconnects once at once, then with a backoff
 * doubling from 100 ms to 2 s, failing fast (ACRA_EIO, keystore_last_error() says Redis is
 * unavailable) inside the backoff window, so requests that need a key not in the cache fail
 * clearly while Redis is down and everything recovers by itself once it is back. */
#ifndef ACRA_LIB_KEYSTORE_REDIS_H
#define ACRA_LIB_KEYSTORE_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/conf.h"
#include "lib/keystore/keystore.h"

#define KEYSTORE_REDIS_DB_UNSET (-1L)   /* redis_db_keys / redis_db_tokens "not used" */
#define KEYSTORE_REDIS_TIMEOUT_MS 2000L /* default connect and command timeout */
#define KEYSTORE_REDIS_BACKOFF_MIN_MS 100L
#define KEYSTORE_REDIS_BACKOFF_MAX_MS 2000L

/* Acra's Redis flags. Embed in a mode's config struct and register the flags with
 * KEYSTORE_REDIS_CONF (and KEYSTORE_REDIS_CONF_TOKENS where the mode also stores tokens). */
struct keystore_redis_opts {
	char *host_port;  /* redis_host_port: "host:port" or "[v6]:port"; empty = no Redis */
	char *password;   /* redis_password: AUTH */
	long db_keys;     /* redis_db_keys: SELECT; KEYSTORE_REDIS_DB_UNSET = keys not in Redis */
	long db_tokens;   /* redis_db_tokens (server, translator) */
	bool tls_enable;  /* redis_tls_enable: through lib/tlstunnel */
	char *tls_client_ca, *tls_client_cert, *tls_client_key, *tls_client_sni;
	long timeout_ms;  /* connect and command timeout; 0 = KEYSTORE_REDIS_TIMEOUT_MS */
};

/* Flag rows for a mode whose config struct T has a struct keystore_redis_opts member m.
 * db_keys_def: "0" in tools that only keep keys, "-1" in server/translator (Acra's
 * defaults). */
#define KEYSTORE_REDIS_CONF(T, m, db_keys_def)                                          \
	CONF_STR("redis_host_port", T, m.host_port, "",                                 \
		 "<host>:<port> used to connect to Redis"),                             \
	CONF_STR("redis_password", T, m.password, "", "Password to Redis database"),   \
	CONF_INT("redis_db_keys", T, m.db_keys, db_keys_def, -1, 65535,                 \
		 "Number of Redis database for keys"),                                  \
	CONF_BOOL("redis_tls_enable", T, m.tls_enable, "false",                         \
		  "Use TLS to encrypt transport with Redis"),                            \
	CONF_STR("redis_tls_client_ca", T, m.tls_client_ca, "",                         \
		 "Path to root certificate for Redis TLS"),                             \
	CONF_STR("redis_tls_client_cert", T, m.tls_client_cert, "",                     \
		 "Path to client TLS certificate for Redis"),                           \
	CONF_STR("redis_tls_client_key", T, m.tls_client_key, "",                       \
		 "Path to private key of the Redis TLS certificate"),                   \
	CONF_STR("redis_tls_client_sni", T, m.tls_client_sni, "",                       \
		 "Expected Server Name (SNI) of the Redis server")
#define KEYSTORE_REDIS_CONF_TOKENS(T, m)                                                \
	CONF_INT("redis_db_tokens", T, m.db_tokens, "-1", -1, 65535,                    \
		 "Number of Redis database for tokens")

/* Acra's rule: keys are in Redis iff host_port is non-empty and db_keys != -1. */
bool keystore_redis_keys_enabled(const struct keystore_redis_opts *o);

/* Checks the flags as Acra does before anything is opened. has_tokens_db: the mode
 * registers redis_db_tokens (otherwise o->db_tokens is not looked at). Returns 0 or
 * ACRA_EINVAL with keystore_last_error() set: equal DB numbers give Acra's text
 * "Identical Redis DB parameters, one of redis_db_tokens or redis_db_keys should be
 * provided"; a malformed redis_host_port is named. With tls_enable the connection goes
 * through lib/tlstunnel (hiredis 0.14 has no TLS of its own). */
int keystore_redis_check(const struct keystore_redis_opts *o, bool has_tokens_db)
	ACRA_MUSTCHECK;

/* Split "host:port" / "[v6]:port" into host (NUL-terminated, at most host_len - 1 bytes)
 * and port 1..65535. Returns 0 or ACRA_EINVAL. */
int keystore_redis_parse_addr(const char *host_port, char *host, size_t host_len, int *port)
	ACRA_MUSTCHECK;

/* The SCAN MATCH pattern listing directory dir: "<dir>/" followed by "*", with the glob characters of dir
 * (* ? [ ] \) escaped, so a directory name is matched literally. Written to buf. Returns 0
 * or ACRA_ERANGE. */
int keystore_redis_scan_pattern(const char *dir, char *buf, size_t buf_len) ACRA_MUSTCHECK;

/* Connect (AUTH, SELECT db_keys, PING) and return the Redis storage backend in *out (its
 * ctx is owned: hand it to keystore_open, or free it with out->ops->free). Returns 0,
 * ACRA_EINVAL (flags, see keystore_redis_check), ACRA_EIO (cannot connect, AUTH refused,
 * no PONG: keystore_last_error() names the address and Redis' answer, never the password)
 * or ACRA_ENOMEM. */
int keystore_redis_storage(struct keystore_storage *out, const struct keystore_redis_opts *o)
	ACRA_MUSTCHECK;

/* For modes: check the Redis flags (keystore_redis_check) and, when keys are in Redis
 * (keystore_redis_keys_enabled), point o->redis at flags (borrowed: must live until
 * keystore_open() returns), so keystore_open() connects to Redis instead of using the
 * filesystem. Returns 0 or ACRA_EINVAL (keystore_last_error() has the message). */
int keystore_redis_opts_from_flags(const struct keystore_redis_opts *flags, bool has_tokens_db,
				   struct keystore_opts *o) ACRA_MUSTCHECK;

/* ---- one connection with the same reconnect, backoff and timeout rules, for other data in
 * Redis (token storage). Thread-safe: commands are serialised on the connection. ---- */

struct keystore_redis_conn;
struct redisReply;

/* Connect (AUTH, SELECT db, PING) to o's Redis. *out owned (keystore_redis_conn_free).
 * Returns 0, ACRA_EINVAL (bad address), ACRA_EIO (keystore_last_error() says why),
 * ACRA_ENOMEM. */
int keystore_redis_conn_open(struct keystore_redis_conn **out, const struct keystore_redis_opts *o,
			     long db) ACRA_MUSTCHECK;
/* Run one command with binary-safe arguments: 0 with *reply (owned, freeReplyObject; an
 * error reply is ACRA_EIO) or ACRA_EIO while Redis is unavailable. */
int keystore_redis_conn_cmd(struct keystore_redis_conn *c, int argc, const char **argv,
			    const size_t *lens, struct redisReply **reply) ACRA_MUSTCHECK;
void keystore_redis_conn_free(struct keystore_redis_conn *c);

#endif
