/* lib/keystore/keystore.h: Acra keystore v1 (spec/acra-formats.md §5): key files by name,
 * private and symmetric keys Secure-Cell-sealed with the master key, public keys plain,
 * rotated versions in <name>.old/<time>, and a cache of imported keys shared by threads.
 *
 * The file layout is Acra's, so keystores made by acra-keymaker / acra-addzone 0.82 ... 0.96
 * (v1) load here and the other way round. Where the bytes live is a backend (struct
 * keystore_storage): the filesystem (lib/keystore/fs.c) or anything that can read, write and
 * list files by path, as Acra's Redis backend does.
 *
 * Threads: one struct keystore is shared by every worker thread; all functions are
 * thread-safe. Keys handed out by keystore_get() stay valid until keystore_put(), even if
 * the cache evicts them or keystore_reset() runs meanwhile (reference counts). */
#ifndef ACRA_LIB_KEYSTORE_KEYSTORE_H
#define ACRA_LIB_KEYSTORE_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/codec.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/zone.h"
#include "lib/err.h"
#include "lib/secmem.h"

#define KEYSTORE_DEFAULT_DIR ".acrakeys"
#define KEYSTORE_ID_MIN 5   /* Acra keystore.ValidateID */
#define KEYSTORE_ID_MAX 256
#define KEYSTORE_SYM_KEY_LEN 32
#define KEYSTORE_CACHE_UNLIMITED 0L /* --keystore_cache_size=0 */
#define KEYSTORE_CACHE_OFF (-1L)    /* --keystore_cache_size=-1 */
#define KEYSTORE_FILE_MAX 65536     /* longest key file accepted */
#define KEYSTORE_HISTORY_SUFFIX ".old"

/* Kinds of keys, with their Acra file names (id = client id or zone id):
 *   STORAGE     <id>_storage, <id>_storage.pub     AcraStruct key pair      ctx id
 *   STORAGE_SYM <id>_storage_sym                   AcraBlock key (0.90+)    ctx id
 *   HMAC        <id>_hmac                          searchable hash (0.90+)  ctx id
 *   ZONE        <zid>_zone, <zid>_zone.pub         zone key pair (<=0.94)   ctx zone id
 *   ZONE_SYM    <zid>_zone_sym                     zone AcraBlock key       ctx zone id
 *   CONNECTOR   <id>, <id>.pub                     connector transport      ctx id
 *   SERVER      <id>_server, <id>_server.pub       server transport         ctx id
 *   TRANSLATOR  <id>_translator(.pub)              translator transport     ctx id
 *   POISON      .poison_key/poison_key(.pub)       poison key pair   ctx ".poison_key/poison_key"
 *   POISON_SYM  .poison_key/poison_key_sym         poison AcraBlock  ctx ".poison_key/poison_key_sym"
 *   LOG         secure_log_key                     audit log key     ctx "secure_log_key"
 * POISON, POISON_SYM and LOG take no id (pass NULL/0). */
enum keystore_kind {
	KEYSTORE_STORAGE,
	KEYSTORE_STORAGE_SYM,
	KEYSTORE_HMAC,
	KEYSTORE_ZONE,
	KEYSTORE_ZONE_SYM,
	KEYSTORE_CONNECTOR,
	KEYSTORE_SERVER,
	KEYSTORE_TRANSLATOR,
	KEYSTORE_POISON,
	KEYSTORE_POISON_SYM,
	KEYSTORE_LOG,
	KEYSTORE_N_KINDS
};

/* Which half of a kind: the private key of a pair or the symmetric key (sealed with the
 * master key at rest), or the public key of a pair (plain). */
enum keystore_part {
	KEYSTORE_PRIVATE,
	KEYSTORE_PUBLIC,
};

/* True for key-pair kinds (EC, .pub file), false for symmetric kinds. */
bool keystore_kind_is_pair(enum keystore_kind kind);
/* True for the kinds that take no id (poison keys, log key). */
bool keystore_kind_is_global(enum keystore_kind kind);
/* Short English name of a kind for messages ("storage key pair"). */
const char *keystore_kind_name(enum keystore_kind kind);

/* Acra's id rule (keystore.ValidateID): 5..256 bytes of [A-Za-z0-9_- ]. Client ids, zone ids
 * and Secure Session ids follow it. */
bool keystore_id_is_valid(const uint8_t *id, size_t len);

/* File name of a key relative to its directory, e.g. "client_storage.pub", written to
 * buf (NUL-terminated). Returns 0, ACRA_EINVAL (invalid id) or ACRA_ERANGE (buf too small). */
int keystore_file_name(enum keystore_kind kind, enum keystore_part part, const uint8_t *id,
		       size_t id_len, char *buf, size_t buf_len) ACRA_MUSTCHECK;

/* The Secure Cell context that seals this kind's private/symmetric key at rest (§5.2):
 * the id, or the fixed string of a global kind. *ctx points into id or static storage. */
void keystore_key_context(enum keystore_kind kind, const uint8_t *id, size_t id_len,
			  const uint8_t **ctx, size_t *ctx_len);

/* The detail of the last failure of a keystore function in this thread (names the file and
 * what to do, e.g. "run chmod 600 PATH"); never key bytes. Empty if none. */
const char *keystore_last_error(void);

/* ---- storage backends ------------------------------------------------------------------ */

/* Where key files live. Paths are "<dir>/<file name>" exactly as Acra builds them (the
 * Redis backend uses them as keys). Every function returns 0 or an ACRA_E* code and may set
 * the thread's keystore_last_error() detail. Buffers returned are owned by the caller. */
struct keystore_storage_ops {
	/* Read a whole file (at most KEYSTORE_FILE_MAX bytes) into *out (returns owned: for
	 * private files a secret, freed with secret_free). private_file: refuse a file that
	 * group or others may read (ACRA_EPERM). ACRA_ENOKEY if it does not exist. */
	int (*read)(void *ctx, const char *path, bool private_file, struct secret **out);
	/* Write a whole file atomically (temporary name, then rename), creating directories
	 * (0700). Mode 0600 for private files, 0644 for public ones. */
	int (*write)(void *ctx, const char *path, const uint8_t *data, size_t len,
		     bool private_file);
	/* Does a file exist? */
	int (*exists)(void *ctx, const char *path, bool *yes);
	/* Names of the regular files in dir, sorted ascending (strcmp); a missing dir is an
	 * empty list. *names (returns owned) is freed with keystore_names_free(). */
	int (*list)(void *ctx, const char *dir, char ***names, size_t *n_names);
	/* Keep a copy of an existing file under a new name (hard link, else copy). */
	int (*backup)(void *ctx, const char *path, const char *copy_path);
	/* Remove a file; a missing one is ACRA_ENOKEY. */
	int (*remove)(void *ctx, const char *path);
	/* Checks made when a keystore is opened on dir (private keys): the filesystem refuses a
	 * directory that group or others may access. May be NULL. */
	int (*check_dir)(void *ctx, const char *dir);
	/* Frees ctx. May be NULL. */
	void (*free)(void *ctx);
};

struct keystore_storage {
	const struct keystore_storage_ops *ops;
	void *ctx;
};

/* The filesystem backend (lib/keystore/fs.c); it has no state. */
void keystore_fs_storage(struct keystore_storage *out);
/* Frees a list returned by ops->list. */
void keystore_names_free(char **names, size_t n_names);

/* ---- the keystore ---------------------------------------------------------------------- */

struct keystore;
struct keystore_redis_opts;

struct keystore_opts {
	const char *dir;        /* private keys; NULL = KEYSTORE_DEFAULT_DIR */
	const char *public_dir; /* public keys; NULL = dir */
	long cache_size;        /* entries; KEYSTORE_CACHE_UNLIMITED (0), KEYSTORE_CACHE_OFF (-1) */
	const struct secret *master_key; /* borrowed, copied; NULL = public keys only */
	const struct keystore_storage *storage; /* copied; NULL = filesystem. The keystore
						 * takes the backend ctx and frees it. */
	/* Redis flags (lib/keystore/redis.h), borrowed; used when storage is NULL and they
	 * enable keys in Redis: keystore_open() then connects (PING) and fails with ACRA_EIO
	 * or ACRA_EINVAL if it cannot. NULL = filesystem. */
	const struct keystore_redis_opts *redis;
};

/* Open a keystore (*out returns owned, keystore_free). With a master key, refuses a
 * private directory that group or others may access (ACRA_EPERM, keystore_last_error()
 * tells how to fix it); without one only public keys can be read and nothing is checked.
 * A missing directory is fine: keys are then reported missing. A keystore v2 directory
 * (a "version" file) is refused with ACRA_EINVAL. */
int keystore_open(struct keystore **out, const struct keystore_opts *o) ACRA_MUSTCHECK;
/* Wipes every cached key and frees; NULL is a no-op. Keys still held by users are freed
 * when they are put back (keystore_put must still be called before this). */
void keystore_free(struct keystore *ks);

/* Keys handed out by keystore_get; borrowed until keystore_put. Exactly one array is set:
 *   PRIVATE of a pair kind: priv[0..n), current first, then rotated ones newest first
 *   PRIVATE of a symmetric kind: sym[0..n), same order ([0] is the one to encrypt with)
 *   PUBLIC: pub (n = 1) and pub_raw, its 45-byte UEC2 container */
struct keystore_keys {
	size_t n;
	const struct ec_priv *const *priv;
	const struct secret *const *sym;
	const struct ec_pub *pub;
	const uint8_t *pub_raw;
	struct keystore_entry *entry; /* private */
};

/* Get the keys of (kind, part, id) from the cache, else from storage (reading, unsealing
 * and importing each file once). Returns 0, ACRA_ENOKEY (no such key), ACRA_EINVAL
 * (invalid id, or a private key asked for without a master key), ACRA_EPERM (file
 * permissions), ACRA_ECRYPTO (cannot unseal: wrong master key or context), ACRA_EPROTO
 * (not a key), ACRA_EIO, ACRA_ENOMEM. On error *out is zeroed. */
int keystore_get(struct keystore *ks, enum keystore_kind kind, enum keystore_part part,
		 const uint8_t *id, size_t id_len, struct keystore_keys *out) ACRA_MUSTCHECK;
/* Give keys back; zeroes *keys. A zeroed struct is a no-op. */
void keystore_put(struct keystore *ks, struct keystore_keys *keys);

/* Does the private/symmetric key of (kind, id) exist (cache, then storage)? */
bool keystore_has(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		  size_t id_len);

/* Make a new key (pair) for (kind, id) from the CSPRNG and write it; files it replaces
 * are kept as <name>.old/<UTC time> (Acra 0.90+ rotation history). pub (may be NULL)
 * receives the public key of a pair. Needs the master key. */
int keystore_generate(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		      size_t id_len, uint8_t pub[EC_PUB_LEN]) ACRA_MUSTCHECK;

/* Store given key material for (kind, id): key (borrowed) is the REC2 private container of
 * a pair or the symmetric key; pub (EC_PUB_LEN bytes, pairs only) the public one. */
int keystore_save(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		  size_t id_len, const struct secret *key, const uint8_t *pub) ACRA_MUSTCHECK;

/* New zone (acra-addzone, 0.91's GenerateZoneKey): a zone id from the CSPRNG that has no
 * key yet, its key pair and its symmetric key. id receives 24 chars + NUL, pub the public
 * key. */
int keystore_generate_zone(struct keystore *ks, char id[ZONE_ID_LEN + 1],
			   uint8_t pub[EC_PUB_LEN]) ACRA_MUSTCHECK;

/* Names of the regular files in the keystore's private directory (public_dir: its public
 * one) or in its subdirectory sub (NULL: none), sorted; free with keystore_names_free(). */
int keystore_list_files(struct keystore *ks, bool public_dir, const char *sub, char ***names,
			size_t *n_names) ACRA_MUSTCHECK;

/* Which key a file name of the keystore's top directory holds: kind, part and the length of
 * the id at the start of name. Returns 0 or ACRA_EINVAL (not a key file name). */
int keystore_classify_file(const char *name, enum keystore_kind *kind, enum keystore_part *part,
			   size_t *id_len) ACRA_MUSTCHECK;

/* Load every storage, zone and HMAC key (and the poison keys) into the cache, as Acra's
 * keystore_cache_on_start_enable does, so that requests do not wait for storage (Redis) to
 * read them. Returns 0, or the first error of a key that does not load (a wrong master key
 * or a damaged file: keystore_last_error() names it). *n_loaded: keys cached. */
int keystore_preload(struct keystore *ks, size_t *n_loaded) ACRA_MUSTCHECK;

/* Rotated versions of (kind, part, id): the names in <file>.old/, oldest first. */
int keystore_history(struct keystore *ks, enum keystore_kind kind, enum keystore_part part,
		     const uint8_t *id, size_t id_len, char ***names, size_t *n_names) ACRA_MUSTCHECK;

/* Remove the current files of (kind, id) (private and public halves of a pair; rotated
 * versions stay). Returns 0, ACRA_ENOKEY (nothing to remove), ACRA_EINVAL, ACRA_EIO. */
int keystore_destroy(struct keystore *ks, enum keystore_kind kind, const uint8_t *id,
		     size_t id_len) ACRA_MUSTCHECK;

/* Forget every cached key (SIGHUP, /resetKeyStorage); keys in use stay valid until put. */
void keystore_reset(struct keystore *ks);

/* Cache statistics (tests, metrics). */
struct keystore_stats {
	size_t entries;
	unsigned long hits, misses, evictions;
};
void keystore_stats(struct keystore *ks, struct keystore_stats *st);

/* The codec's key provider over this keystore (lib/codec.h): STRUCT_PRIV -> STORAGE (or
 * ZONE when a zone id is given) PRIVATE, STRUCT_PUB -> their PUBLIC, BLOCK_SYM ->
 * STORAGE_SYM (or ZONE_SYM), POISON_PRIV -> POISON, POISON_SYM -> POISON_SYM. ks is
 * borrowed and must outlive the provider. */
void keystore_codec_keys(struct keystore *ks, struct codec_keys *out);
/* zone_exists_fn for zone_matcher_feed(); ctx is the struct keystore. */
bool keystore_zone_exists(void *ctx, const uint8_t id[ZONE_ID_LEN]);

/* ---- master key (lib/keystore/master.c) ------------------------------------------------ */

#define KEYSTORE_MASTER_KEY_ENV "ACRA_MASTER_KEY"
#define KEYSTORE_MASTER_KEY_LEN 32  /* Acra SymmetricKeyLength: the minimum accepted */
#define KEYSTORE_MASTER_KEY_MAX 1024

/* A source of the master key: reads it into *out (returns owned secret). */
struct keystore_master_loader {
	const char *name; /* "env_master_key" */
	int (*load)(const struct keystore_master_loader *l, struct secret **out);
};

/* Decode a base64 master key value (standard alphabet, padded, as Acra): it must decode to
 * at least KEYSTORE_MASTER_KEY_LEN bytes (Acra accepts longer keys). Returns 0, ACRA_EINVAL
 * (empty, not base64) or ACRA_ERANGE (too short / too long). The value is never echoed in
 * keystore_last_error(). */
int keystore_master_key_parse(const char *b64, struct secret **out) ACRA_MUSTCHECK;

/* The ACRA_MASTER_KEY loader: reads the variable, parses it, then unsetenv()s it. */
extern const struct keystore_master_loader keystore_master_env;

/* Look up a loader by its --keystore_encryption_type name; NULL if unsupported. */
const struct keystore_master_loader *keystore_master_loader_find(const char *name);

/* Load the master key with loader l (NULL = env). On failure a message naming the variable
 * (never its value) is in keystore_last_error(). */
int keystore_master_key_load(const struct keystore_master_loader *l,
			     struct secret **out) ACRA_MUSTCHECK;

/* Write a new random master key (KEYSTORE_MASTER_KEY_LEN raw bytes, as
 * acra-keymaker --generate_master_key) to path: mode 0600, O_EXCL|O_NOFOLLOW on a temporary
 * name, then rename. */
int keystore_master_key_generate(const char *path) ACRA_MUSTCHECK;

#endif
