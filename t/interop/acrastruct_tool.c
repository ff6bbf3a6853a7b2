/* t/interop/acrastruct_tool.c: command-line access to the envelope code for the wasm-themis
 * interop tests (t/interop/acrastruct.js takes the same commands). Arguments and output are
 * hex; "-" stands for an absent context. Exit 0 on success, 1 when the operation fails
 * (ACRA_E* text on stderr), 2 on usage errors.
 *
 *   keygen                        -> "<REC2 hex> <UEC2 hex>"
 *   as-enc PUB CTX PT             -> bare AcraStruct (CTX = zone id or "-")
 *   as-dec PRIV CTX AS            -> plaintext
 *   ab-enc KEY CTX PT             -> bare AcraBlock
 *   ab-dec KEY CTX AB             -> plaintext
 *   wrap ID INNER                 -> %%% container, ID "f0" (AcraBlock) or "f1" (AcraStruct)
 *   codec PRIV KEY ZONE VALUE     -> what the codec returns for VALUE (whole-cell, raw) with
 *                                    AcraStruct key PRIV, AcraBlock key KEY, zone ZONE or "-";
 *                                    exit 1 unless something was decrypted
 *   zone-id                       -> a new zone id (ASCII) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/codec.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/envelope.h"
#include "lib/crypto/zone.h"
#include "lib/err.h"

struct buf {
	uint8_t *p;
	size_t len;
};

static int from_hex(const char *h, struct buf *b)
{
	size_t n = strlen(h);

	b->p = NULL;
	b->len = 0;
	if (strcmp(h, "-") == 0)
		return 0;
	b->p = malloc(n / 2 + 1);
	if (b->p == NULL || sodium_hex2bin(b->p, n / 2 + 1, h, n, NULL, &b->len, NULL) != 0 ||
	    b->len * 2 != n) {
		fprintf(stderr, "acrastruct-tool: bad hex argument\n");
		return -1;
	}
	return 0;
}

static void put_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

/* Keys for the codec command: one of each kind, for any owner. */
struct one_key {
	const struct ec_priv *priv[1];
	struct secret *sym;
	const struct secret *syms[1];
};

static int one_get(void *ctx, enum codec_key_kind kind, const struct codec_key_owner *who,
		   struct codec_keyset *set)
{
	struct one_key *k = ctx;

	(void)who;
	if (kind == CODEC_KEY_STRUCT_PRIV && k->priv[0] != NULL) {
		set->priv = k->priv;
		set->n = 1;
		return 0;
	}
	if (kind == CODEC_KEY_BLOCK_SYM && k->sym != NULL) {
		set->sym = k->syms;
		set->n = 1;
		return 0;
	}
	return ACRA_ENOKEY;
}

static void one_release(void *ctx, struct codec_keyset *set)
{
	(void)ctx;
	(void)set;
}

static int run(int argc, char **argv)
{
	struct buf a[4] = { 0 };
	struct ec_priv *priv = NULL;
	struct ec_pub *pub = NULL;
	struct secret *raw = NULL;
	struct codec *cd = NULL;
	uint8_t *out = NULL, pubraw[EC_PUB_LEN];
	size_t n = 0;
	const char *cmd = argv[1];
	int rc = ACRA_EINVAL, nargs = argc - 2;

	for (int i = 0; i < nargs && i < 4; i++)
		if (from_hex(argv[2 + i], &a[i]) < 0)
			return 2;
	if (strcmp(cmd, "keygen") == 0) {
		rc = ec_keypair_generate(&raw, pubraw);
		if (rc == 0) {
			for (size_t i = 0; i < raw->len; i++)
				printf("%02x", raw->p[i]);
			printf(" ");
			put_hex(pubraw, sizeof(pubraw));
		}
	} else if (strcmp(cmd, "zone-id") == 0) {
		char id[ZONE_ID_LEN + 1];

		zone_id_generate(id);
		printf("%s\n", id);
		rc = 0;
	} else if (strcmp(cmd, "as-enc") == 0 && nargs == 3) {
		rc = ec_pub_load(&pub, a[0].p, a[0].len);
		if (rc == 0 && (out = malloc(acrastruct_size(a[2].len))) == NULL)
			rc = ACRA_ENOMEM;
		if (rc == 0)
			rc = acrastruct_encrypt(pub, a[1].p, a[1].len, a[2].p, a[2].len, out,
						acrastruct_size(a[2].len), &n);
	} else if (strcmp(cmd, "as-dec") == 0 && nargs == 3) {
		rc = ec_priv_load(&priv, a[0].p, a[0].len);
		if (rc == 0 && (out = malloc(a[2].len + 1)) == NULL)
			rc = ACRA_ENOMEM;
		if (rc == 0)
			rc = acrastruct_decrypt(priv, a[1].p, a[1].len, a[2].p, a[2].len, out,
						a[2].len, &n);
	} else if (strcmp(cmd, "ab-enc") == 0 && nargs == 3) {
		if ((out = malloc(acrablock_size(a[2].len))) == NULL)
			rc = ACRA_ENOMEM;
		else
			rc = acrablock_encrypt(a[0].p, a[0].len, a[1].p, a[1].len, a[2].p, a[2].len,
					       out, acrablock_size(a[2].len), &n);
	} else if (strcmp(cmd, "ab-dec") == 0 && nargs == 3) {
		if ((out = malloc(a[2].len + 1)) == NULL)
			rc = ACRA_ENOMEM;
		else
			rc = acrablock_decrypt(a[0].p, a[0].len, a[1].p, a[1].len, a[2].p, a[2].len,
					       out, a[2].len, &n);
	} else if (strcmp(cmd, "wrap") == 0 && nargs == 2 && a[0].len == 1) {
		struct wbuf w;

		n = envelope_size(a[1].len);
		if ((out = malloc(n)) == NULL) {
			rc = ACRA_ENOMEM;
		} else {
			wbuf_init(&w, out, n);
			rc = envelope_wrap((enum envelope_id)a[0].p[0], a[1].p, a[1].len, &w);
		}
	} else if (strcmp(cmd, "codec") == 0 && nargs == 4) {
		struct one_key k = { { NULL }, NULL, { NULL } };
		struct codec_keys keys = { one_get, one_release, &k };
		struct codec_params p = { .enc = CODEC_ENC_RAW, .scan = CODEC_SCAN_WHOLE,
					  .keys = &keys };
		struct codec_result res;

		rc = a[0].len ? ec_priv_load(&priv, a[0].p, a[0].len) : 0;
		k.priv[0] = priv;
		if (rc == 0 && a[1].len)
			rc = secret_from(&k.sym, a[1].p, a[1].len);
		k.syms[0] = k.sym;
		p.owner.zone_id = (struct bytes){ a[2].p, a[2].len };
		cd = codec_new();
		if (rc == 0 && cd == NULL)
			rc = ACRA_ENOMEM;
		if (rc == 0)
			rc = codec_decrypt(cd, &p, a[3].p, a[3].len, &res);
		if (rc == 0 && res.status != CODEC_DONE)
			rc = ACRA_ECRYPTO;
		if (rc == 0)
			put_hex(res.out.p, res.out.len);
		secret_free(k.sym);
	} else {
		fprintf(stderr, "acrastruct-tool: unknown command or wrong arguments\n");
		rc = 2;
		goto out;
	}
	if (rc == 0 && out != NULL)
		put_hex(out, n);
out:
	if (rc < 0)
		fprintf(stderr, "acrastruct-tool %s: %s\n", cmd, acra_strerror(rc));
	codec_free(cd);
	secret_free(raw);
	ec_priv_free(priv);
	ec_pub_free(pub);
	free(out);
	for (int i = 0; i < 4; i++)
		free(a[i].p);
	return rc == 0 ? 0 : rc == 2 ? 2 : 1;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc < 2) {
		fprintf(stderr, "usage: acrastruct-tool COMMAND ARGS (hex)\n");
		return 2;
	}
	return run(argc, argv);
}
