/* lib/codec.h: the common envelope codec, the one place every mode calls for crypto on
 * data. Given one value (a column value, an HTTP body) it finds AcraStructs, AcraBlocks and
 * %%% containers in it, decrypts them with the keys a provider hands out, and returns the
 * value to send on, re-encoded in the value's textual form. The encrypt side makes the
 * envelope for a value (transparent encryption, translator, writer).
 *
 * Pure: no I/O and no key lookup of its own; keys come through struct codec_keys.
 * Scanning follows spec/acra-formats.md §1.3 (0.82 whole-cell / inline), §3.4 (0.96:
 * containers first, then bare AcraStructs and AcraBlocks), §2.4 (zones), §4 (poison).
 *
 * One struct codec per thread/session: it owns the scratch and output buffers, which grow
 * to the largest value seen (amortised, never per byte) and are wiped when regrown and on
 * codec_free (they hold plaintext). */
#ifndef ACRA_LIB_CODEC_H
#define ACRA_LIB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/zone.h"
#include "lib/err.h"
#include "lib/secmem.h"

/* How the value's bytes are written. */
enum codec_encoding {
	CODEC_ENC_RAW,       /* the bytes themselves (binary results, MySQL, HTTP bodies, plain text) */
	CODEC_ENC_PG_HEX,    /* PostgreSQL bytea hex output: "\x" + 2 hex digits per byte */
	CODEC_ENC_PG_ESCAPE, /* PostgreSQL bytea escape output: printable bytes, "\\", "\ooo" */
	CODEC_ENC_PG_TEXT,   /* PostgreSQL text-format value of unknown form: hex if it starts
			      * with "\x" and is valid hex, else escape if it decodes as escape,
			      * else raw; the output keeps the detected form */
};

/* Where envelopes are looked for in a value. */
enum codec_scan {
	CODEC_SCAN_WHOLE,  /* the whole value is one envelope: a container, an AcraStruct or an
			    * AcraBlock, with no bytes before or after (0.82 whole-cell) */
	CODEC_SCAN_INLINE, /* envelopes anywhere, several per value, junk between them kept
			    * (0.82 injected cell, 0.96 envelope detector) */
};

/* Key kinds a provider is asked for. */
enum codec_key_kind {
	CODEC_KEY_STRUCT_PRIV, /* AcraStruct private keys of the owner, newest first (ec_priv) */
	CODEC_KEY_STRUCT_PUB,  /* AcraStruct public key of the owner, for encryption (ec_pub) */
	CODEC_KEY_BLOCK_SYM,   /* AcraBlock symmetric keys, newest first; [0] encrypts (secret) */
	CODEC_KEY_POISON_PRIV, /* poison private keys, newest first (ec_priv) */
	CODEC_KEY_POISON_SYM,  /* poison symmetric keys, newest first (secret) */
};

/* Whose keys: a zone when zone_id.len != 0 (the zone's keys), else the client id. */
struct codec_key_owner {
	struct bytes client_id;
	struct bytes zone_id;
};

/* Keys handed out by a provider, borrowed until the codec calls release(ctx, set).
 * Exactly one of the arrays is used, by kind. handle is the provider's own. */
struct codec_keyset {
	size_t n;
	const struct ec_priv *const *priv; /* STRUCT_PRIV, POISON_PRIV */
	const struct ec_pub *pub;          /* STRUCT_PUB (n = 1) */
	const struct secret *const *sym;   /* BLOCK_SYM, POISON_SYM */
	void *handle;
};

/* Fill *set with the keys of `kind` for `who`. Return 0 with set->n >= 1, ACRA_ENOKEY when
 * the owner has no such key (not an error for the codec: the envelope stays as it is), or
 * another ACRA_E* when the keystore failed. release is called once for every successful get. */
typedef int (*codec_get_keys_fn)(void *ctx, enum codec_key_kind kind,
				 const struct codec_key_owner *who, struct codec_keyset *set);
typedef void (*codec_release_keys_fn)(void *ctx, struct codec_keyset *set);

struct codec_keys {
	codec_get_keys_fn get;
	codec_release_keys_fn release;
	void *ctx;
};

/* What to do with one value. All pointers borrowed for the call. */
struct codec_params {
	enum codec_encoding enc;
	enum codec_scan scan;
	struct codec_key_owner owner; /* client id, and the zone id in zone mode: the zone's
				       * keys are used and the zone id is the context */
	bool detect_poison;           /* check envelopes that fail to decrypt with the
				       * poison keys (0.82 default on, 0.96 default off) */
	const struct codec_keys *keys;
};

enum codec_status {
	CODEC_NONE = 0,  /* no envelope found: out is the input */
	CODEC_DONE,      /* decrypt: at least one envelope decrypted (inline: failed ones
			  * are kept as they are); encrypt: the value was encrypted */
	CODEC_FAILED,    /* envelope(s) found, none decrypted (no key, wrong key, tampered):
			  * out is the input */
	CODEC_POISON,    /* a poison record was found (out is the input unless other envelopes
			  * in it were decrypted); the caller reacts (log, script, shutdown) */
	CODEC_ALREADY,   /* encrypt: the value already is an envelope; out is the input */
};

struct codec_result {
	enum codec_status status;
	struct bytes out;    /* the value to send on: the input itself, or the codec's output
			      * buffer (valid until the next call on this codec or codec_free) */
	unsigned n_found;    /* envelopes recognised */
	unsigned n_decrypted;
	unsigned n_failed;   /* recognised but not decrypted (poison ones included) */
	unsigned n_poison;
	int key_error;       /* 0, or the first ACRA_E* other than ENOKEY from the provider */
	unsigned n_block_decrypted; /* of n_decrypted and n_failed: AcraBlocks (the rest are */
	unsigned n_block_failed;    /* AcraStructs), for per-type metrics */
};

struct codec;

/* New codec (returns owned; codec_free). NULL on ENOMEM. */
struct codec *codec_new(void);
/* Wipes and frees the buffers; NULL is a no-op. */
void codec_free(struct codec *c);

/* Decrypt the envelopes in val[0..len) (borrowed) per p. Always fills *res (status and out)
 * unless it returns ACRA_ENOMEM; a malformed or undecryptable value is not an error (status
 * tells). Returns 0 or ACRA_ENOMEM. Keys are fetched only when an envelope is found. */
int codec_decrypt(struct codec *c, const struct codec_params *p, const uint8_t *val, size_t len,
		  struct codec_result *res) ACRA_MUSTCHECK;

/* Zone mode, a column while no zone is matched in the row (§2.4): decode val per p->enc and
 * offer it to m; the zone exists when the provider has CODEC_KEY_STRUCT_PRIV keys for it.
 * The value is never changed (res->out = input); if p->detect_poison, its envelopes are
 * checked against the poison keys (res->status CODEC_POISON). Returns true if a zone is
 * (now) matched. Typical row loop:
 *     zone_matcher_reset(&m);
 *     for each column: if (!m.matched) codec_match_zone(...);
 *                      else { p.owner.zone_id = (struct bytes){ m.id, ZONE_ID_LEN };
 *                             codec_decrypt(...); inline and DONE -> zone_matcher_reset }
 */
bool codec_match_zone(struct codec *c, const struct codec_params *p, const uint8_t *val,
		      size_t len, struct zone_matcher *m, struct codec_result *res);

enum codec_envelope {
	CODEC_ACRASTRUCT,
	CODEC_ACRABLOCK,
};

/* Encrypt val[0..len) (borrowed, decoded per p->enc) into an AcraStruct (owner's
 * CODEC_KEY_STRUCT_PUB) or an AcraBlock (owner's CODEC_KEY_BLOCK_SYM[0]), context = the zone
 * id if given, else none; serialize wraps it in the %%% container (0.96 writes that).
 * The result is re-encoded per p->enc. A value that already is an envelope is returned as
 * it is (status CODEC_ALREADY, 0.96 §3.5). An empty value is returned as it is
 * (CODEC_NONE): Themis cannot seal empty data. Returns 0, ACRA_ENOKEY (no key: the value
 * must not be stored as plaintext), ACRA_ENOMEM, or another ACRA_E* from the provider. */
int codec_encrypt(struct codec *c, const struct codec_params *p, enum codec_envelope type,
		  bool serialize, const uint8_t *val, size_t len,
		  struct codec_result *res) ACRA_MUSTCHECK;

/* Text for a status, for logs. */
const char *codec_status_str(enum codec_status s);

#endif
