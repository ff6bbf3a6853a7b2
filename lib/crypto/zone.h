/* lib/crypto/zone.h: zone ids (Acra 0.82 ... 0.94, spec/acra-formats.md §2) and the per-row
 * zone matcher of zone mode (§2.4). Pure: key existence is asked through a callback.
 *
 * A zone id is 24 ASCII bytes: "DDDDDDDD" then 16 letters [a-zA-Z]. All 24 bytes are the
 * keystore name stem (<id>_zone, <id>_zone.pub) and the Secure Cell context of the
 * AcraStructs of that zone. */
#ifndef ACRA_LIB_CRYPTO_ZONE_H
#define ACRA_LIB_CRYPTO_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define ZONE_TAG_BYTE 'D'
#define ZONE_TAG_LEN 8
#define ZONE_RAND_LEN 16
#define ZONE_ID_LEN 24

/* New zone id from the CSPRNG (libsodium randombytes, uniform over the 52 letters), written
 * to id as 24 bytes plus a terminating NUL. Cannot fail. */
void zone_id_generate(char id[ZONE_ID_LEN + 1]);

/* True if p[0..len) is exactly a well-formed zone id: 24 bytes, "DDDDDDDD", 16 letters. */
bool zone_id_is_valid(const uint8_t *p, size_t len);

/* True if buf starts with something Acra's matcher would take as a zone id: at least 24
 * bytes and the "DDDDDDDD" prefix (the following 16 bytes are not checked, as in 0.82; the
 * keystore lookup decides). */
bool zone_id_is_candidate(const uint8_t *buf, size_t len);

/* Does a zone key pair exist for this 24-byte id? The keystore answers (through its cache);
 * ctx is the caller's. */
typedef bool (*zone_exists_fn)(void *ctx, const uint8_t id[ZONE_ID_LEN]);

/* Zone-mode state of one result row (§2.4). Embed it; fields are read-only for callers. */
struct zone_matcher {
	bool matched;
	uint8_t id[ZONE_ID_LEN]; /* valid while matched */
};

/* Start of a row (also: forget the matched zone). */
void zone_matcher_reset(struct zone_matcher *m);

/* Offer a decoded column value while no zone is matched: if it starts with a candidate
 * (zone_id_is_candidate) and exists(ctx, first 24 bytes) says yes, the zone is matched and
 * true is returned. The column itself is never modified. A call while matched returns true
 * without looking at the value. */
bool zone_matcher_feed(struct zone_matcher *m, const uint8_t *val, size_t len,
		       zone_exists_fn exists, void *ctx);

#endif
