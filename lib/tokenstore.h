/* lib/tokenstore.h: storage of token records for acra translator: an in-memory hash table,
 * optionally backed by an append-only file that is replayed at start, or Redis (shared by
 * every instance that uses the same Redis database: Acra's layout, spec/acra-formats.md
 * §7.2: key "tokens/" hex(context digest) "/" hex(kind '.' id), value hex(record)).
 *
 * A record is (kind, 32-byte data id) -> value bytes. The translator uses kind 't' (token ->
 * encrypted original value) and 'h' (value -> encrypted token), spec/acra-formats.md §6.2;
 * values are stored as the caller gives them (the translator stores AcraBlocks only).
 *
 * File format (docs/translator.md "Token file"): the 16-byte header "ACRA-TOKENS v1\n\0",
 * then records: kind (1 byte), id (32 bytes), value length (4 bytes big-endian, at most
 * TOKENSTORE_VALUE_MAX), value. A later record with the same (kind, id) replaces an
 * earlier one. A torn record at the end (a crash while writing) is cut off when the file is
 * opened. Every put is one write(2) on an O_APPEND descriptor.
 *
 * Threads: not locked inside; the caller serialises access with tokenstore_lock(). */
#ifndef ACRA_LIB_TOKENSTORE_H
#define ACRA_LIB_TOKENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

#define TOKENSTORE_ID_LEN 32
#define TOKENSTORE_VALUE_MAX (1u << 24)
#define TOKENSTORE_MAGIC "ACRA-TOKENS v1\n"
#define TOKENSTORE_HDR_LEN 16

struct tokenstore;
struct keystore_redis_opts;

/* Open a store: path NULL = memory only; else the file is created (0600) or replayed.
 * Returns 0, ACRA_EIO (cannot open/read/write, message in err), ACRA_EPROTO (not a token
 * file), ACRA_ENOMEM. *out owned (tokenstore_free). */
int tokenstore_open(struct tokenstore **out, const char *path, char *err,
		    size_t err_len) ACRA_MUSTCHECK;
/* Open a store in Redis (o->host_port, o->password, database o->db_tokens). Returns 0,
 * ACRA_EIO (cannot connect: message in err), ACRA_EINVAL, ACRA_ENOMEM. */
int tokenstore_open_redis(struct tokenstore **out, const struct keystore_redis_opts *o, char *err,
			  size_t err_len) ACRA_MUSTCHECK;
void tokenstore_free(struct tokenstore *ts);
/* Are the records shared with other processes (Redis)? */
bool tokenstore_is_shared(const struct tokenstore *ts);

void tokenstore_lock(struct tokenstore *ts);
void tokenstore_unlock(struct tokenstore *ts);

/* Look up (kind, id) in the context whose SHA-256 digest is ctx (TOKENSTORE_ID_LEN bytes;
 * only Redis uses it, the others may get NULL): 0 with *val pointing to the stored bytes
 * (valid until the next call, under the lock), ACRA_ENOKEY, or with Redis ACRA_EIO
 * (unavailable, logged) / ACRA_EPROTO (not a record). */
int tokenstore_get(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx,
		   const uint8_t id[TOKENSTORE_ID_LEN], struct bytes *val) ACRA_MUSTCHECK;
/* Insert or replace (kind, id) -> val[0..len), appending it to the file first if any.
 * Returns 0, ACRA_EIO, ACRA_ERANGE (value too long), ACRA_ENOMEM. */
int tokenstore_put(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx,
		   const uint8_t id[TOKENSTORE_ID_LEN], const uint8_t *val, size_t len) ACRA_MUSTCHECK;
/* Insert only if (kind, id) is not there yet (Redis: SET NX, atomic across instances):
 * ACRA_EEXIST if it is. */
int tokenstore_put_new(struct tokenstore *ts, uint8_t kind, const uint8_t *ctx,
		       const uint8_t id[TOKENSTORE_ID_LEN], const uint8_t *val,
		       size_t len) ACRA_MUSTCHECK;
/* Number of records in memory. */
size_t tokenstore_count(struct tokenstore *ts);

#endif
