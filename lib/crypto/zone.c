/* lib/crypto/zone.c: zone ids and the zone-mode matcher (spec/acra-formats.md §2). */
#include "lib/crypto/zone.h"

#include <string.h>

#include <sodium.h>

static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
#define N_LETTERS 52

void zone_id_generate(char id[ZONE_ID_LEN + 1])
{
	/* CSPRNG, uniform: Acra 0.82 seeds math/rand with the clock; any generator gives the
	 * same format, and ids must not be guessable from a creation time. */
	memset(id, ZONE_TAG_BYTE, ZONE_TAG_LEN);
	for (size_t i = ZONE_TAG_LEN; i < ZONE_ID_LEN; i++)
		id[i] = letters[randombytes_uniform(N_LETTERS)];
	id[ZONE_ID_LEN] = '\0';
}

static bool is_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool zone_id_is_candidate(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len < ZONE_ID_LEN)
		return false;
	for (size_t i = 0; i < ZONE_TAG_LEN; i++)
		if (buf[i] != ZONE_TAG_BYTE)
			return false;
	return true;
}

bool zone_id_is_valid(const uint8_t *p, size_t len)
{
	if (len != ZONE_ID_LEN || !zone_id_is_candidate(p, len))
		return false;
	for (size_t i = ZONE_TAG_LEN; i < ZONE_ID_LEN; i++)
		if (!is_letter(p[i]))
			return false;
	return true;
}

void zone_matcher_reset(struct zone_matcher *m)
{
	m->matched = false;
	memset(m->id, 0, sizeof(m->id));
}

bool zone_matcher_feed(struct zone_matcher *m, const uint8_t *val, size_t len,
		       zone_exists_fn exists, void *ctx)
{
	if (m->matched)
		return true;
	if (!zone_id_is_candidate(val, len) || exists == NULL)
		return false;
	if (!exists(ctx, val))
		return false;
	memcpy(m->id, val, ZONE_ID_LEN);
	m->matched = true;
	return true;
}
