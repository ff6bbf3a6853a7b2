/* contrib/fuzz/fuzz_codec.c: libFuzzer target for the envelope codec. The first input byte
 * picks the encoding, scan mode, zone and poison settings; the rest is the value. Keys are
 * fixed test keys (spec/themis.md key pair B for AcraStructs, a constant AcraBlock key), so
 * seeds made with them (contrib/fuzz/seeds_codec.sh) reach the decryption paths.
 * Build: make fuzz; run: build-fuzz/fuzz_codec [corpus dir]. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "lib/codec.h"
#include "lib/crypto/ec.h"
#include "lib/secmem.h"

/* test-only key pair B of spec/themis.md §3.2 */
static const uint8_t test_priv_b[45] = {
	0x52, 0x45, 0x43, 0x32, 0x00, 0x00, 0x00, 0x2d, 0x30, 0xa3, 0x7b, 0xbb, 0x00, 0x87, 0x6f,
	0xe9, 0x37, 0x62, 0x9f, 0xf5, 0x0d, 0xcc, 0x5a, 0xde, 0x5f, 0x2d, 0xd0, 0xaf, 0xd8, 0xc8,
	0xbb, 0xd7, 0x11, 0xa3, 0x18, 0xce, 0x6c, 0xf1, 0x17, 0x07, 0x06, 0xd6, 0x5b, 0x3b, 0x41,
};
#define TEST_ZONE "DDDDDDDDtestzonetestzone"

static struct ec_priv *priv;
static struct secret *sym;
static const struct ec_priv *privs[1];
static const struct secret *syms[1];
static struct codec *cd;

static int get(void *ctx, enum codec_key_kind kind, const struct codec_key_owner *who,
	       struct codec_keyset *set)
{
	(void)ctx;
	if (who->zone_id.len > 0 &&
	    (who->zone_id.len != 24 || memcmp(who->zone_id.p, TEST_ZONE, 24) != 0))
		return ACRA_ENOKEY;
	switch (kind) {
	case CODEC_KEY_STRUCT_PRIV:
	case CODEC_KEY_POISON_PRIV:
		set->priv = privs;
		set->n = 1;
		return 0;
	case CODEC_KEY_BLOCK_SYM:
	case CODEC_KEY_POISON_SYM:
		set->sym = syms;
		set->n = 1;
		return 0;
	default:
		return ACRA_ENOKEY;
	}
}

static void release(void *ctx, struct codec_keyset *set)
{
	(void)ctx;
	(void)set;
}

static const struct codec_keys keys = { get, release, NULL };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t k[32];

	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || ec_priv_load(&priv, test_priv_b, sizeof(test_priv_b)) != 0)
		return 1;
	memset(k, 0x4b, sizeof(k)); /* test-only AcraBlock key: 32 x 'K' */
	if (secret_from(&sym, k, sizeof(k)) != 0)
		return 1;
	privs[0] = priv;
	syms[0] = sym;
	cd = codec_new();
	return cd == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum codec_encoding encs[] = { CODEC_ENC_RAW, CODEC_ENC_PG_HEX,
						     CODEC_ENC_PG_ESCAPE, CODEC_ENC_PG_TEXT };
	struct codec_params p = { .keys = &keys };
	struct codec_result res;
	struct zone_matcher m;
	uint8_t sel;

	if (size == 0)
		return 0;
	sel = data[0];
	p.enc = encs[sel & 3];
	p.scan = (sel & 4) ? CODEC_SCAN_INLINE : CODEC_SCAN_WHOLE;
	p.detect_poison = (sel & 8) != 0;
	p.owner.client_id = (struct bytes){ (const uint8_t *)"fuzz", 4 };
	if (sel & 16)
		p.owner.zone_id = (struct bytes){ (const uint8_t *)TEST_ZONE, 24 };
	data++;
	size--;
	if (sel & 32) {
		zone_matcher_reset(&m);
		(void)codec_match_zone(cd, &p, data, size, &m, &res);
		if (res.out.p != data || res.out.len != size)
			__builtin_trap(); /* the zone column is never changed */
		return 0;
	}
	if (codec_decrypt(cd, &p, data, size, &res) != 0)
		return 0;
	/* a value with nothing decrypted is passed on as it is */
	if (res.status != CODEC_DONE && res.status != CODEC_POISON &&
	    (res.out.p != data || res.out.len != size))
		__builtin_trap();
	if (res.n_decrypted + res.n_failed != res.n_found)
		__builtin_trap();
	return 0;
}
