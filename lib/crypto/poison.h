/* lib/crypto/poison.h: poison records (spec/acra-formats.md §4): making one, and deciding
 * whether an envelope is one. Pure: the poison keys are passed in.
 *
 * A poison record is an ordinary AcraStruct or AcraBlock of random bytes made with the
 * poison key pair / poison symmetric key; whoever can decrypt it with a poison key has
 * found one. */
#ifndef ACRA_LIB_CRYPTO_POISON_H
#define ACRA_LIB_CRYPTO_POISON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto/ec.h"
#include "lib/err.h"
#include "lib/secmem.h"

#define POISON_DEFAULT_DATA_LEN (-1) /* random length 1..99, as Acra's --data_length=-1 */
#define POISON_MAX_DATA_LEN 100

enum poison_type {
	POISON_ACRASTRUCT, /* 0.82 and 0.96 --type=acrastruct (default) */
	POISON_ACRABLOCK,  /* 0.96 --type=acrablock */
};

/* Length of the random data of a new record: data_len if >= 1, else (POISON_DEFAULT_DATA_LEN
 * or any value < 1) 1 + uniform 0..98 from the CSPRNG, as Acra. */
size_t poison_data_len(long data_len);

/* Make a poison record of data_len random bytes (see poison_data_len).
 * POISON_ACRASTRUCT: AcraStruct for poison_pub, no context; POISON_ACRABLOCK: AcraBlock with
 * the poison symmetric key sym_key (sym_key_len bytes), no context. serialize: wrap in the
 * %%% container (0.96; always what 0.96 writes) or not (0.82 writes bare AcraStructs).
 * The unused key argument may be NULL. *out (returns owned, free()) and *out_len. */
int poison_make(enum poison_type type, const struct ec_pub *poison_pub, const uint8_t *sym_key,
		size_t sym_key_len, long data_len, bool serialize, uint8_t **out,
		size_t *out_len) ACRA_MUSTCHECK;

/* Is the whole AcraStruct as (acrastruct_check'ed by the callee) a poison record, i.e. does
 * it fully decrypt, context empty, with one of keys[0..n_keys) (current and rotated poison
 * private keys)? scratch (borrowed) holds at least as_len - ACRASTRUCT_OVERHEAD bytes and is
 * wiped. Returns 1 (poison), 0 (not), ACRA_EPROTO if as is not an AcraStruct, ACRA_ERANGE
 * if scratch is too small. */
int poison_check_acrastruct(const struct ec_priv *const *keys, size_t n_keys, const uint8_t *as,
			    size_t as_len, uint8_t *scratch, size_t scratch_cap) ACRA_MUSTCHECK;

/* Same for a whole AcraBlock and the poison symmetric keys keys[0..n_keys). scratch holds at
 * least blk_len - ACRABLOCK_OVERHEAD bytes. Returns 1, 0, ACRA_EPROTO or ACRA_ERANGE. */
int poison_check_acrablock(const struct secret *const *keys, size_t n_keys, const uint8_t *blk,
			   size_t blk_len, uint8_t *scratch, size_t scratch_cap) ACRA_MUSTCHECK;

#endif
