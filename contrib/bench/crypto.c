/* contrib/bench/crypto.c: AcraStruct and AcraBlock encrypt/decrypt on one core, for 100 B,
 * 1 KiB and 64 KiB values. The recipient private key is imported once (as the keystore cache
 * does), so an AcraStruct decrypt costs one ECDH plus the ephemeral point import.
 * Prints "acrastruct_decrypt_100 OPS ops/s MB MB/s" lines for contrib/bench/crypto.sh.
 * Usage: crypto [seconds per figure, default 2]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/ec.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "crypto bench: %s failed\n", what);
	return 1;
}

static void report(const char *what, size_t len, long n, double t)
{
	printf("%s_%zu %.0f ops/s %.1f MB/s\n", what, len, n / t, n * (double)len / t / 1e6);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, t0, t;
	struct secret *raw = NULL;
	struct ec_priv *priv = NULL;
	struct ec_pub *pub = NULL;
	uint8_t pubraw[EC_PUB_LEN], kek[ACRABLOCK_KEY_LEN];
	static const size_t sizes[] = { 100, 1024, 65536 };
	long n;

	if (sodium_init() < 0 || secs <= 0)
		return die("init");
	if (ec_keypair_generate(&raw, pubraw) || ec_priv_load(&priv, raw->p, raw->len) ||
	    ec_pub_load(&pub, pubraw, EC_PUB_LEN))
		return die("key setup");
	randombytes_buf(kek, sizeof(kek));

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i], got, pt_len;
		uint8_t *pt = malloc(len), *as = malloc(acrastruct_size(len));
		uint8_t *blk = malloc(acrablock_size(len)), *out = malloc(len);

		if (pt == NULL || as == NULL || blk == NULL || out == NULL)
			return die("malloc");
		randombytes_buf(pt, len);
		for (n = 0, t0 = now(); (t = now() - t0) < secs; n++)
			if (acrastruct_encrypt(pub, NULL, 0, pt, len, as, acrastruct_size(len), &got))
				return die("acrastruct_encrypt");
		report("acrastruct_encrypt", len, n, t);
		for (n = 0, t0 = now(); (t = now() - t0) < secs; n++)
			if (acrastruct_decrypt(priv, NULL, 0, as, got, out, len, &pt_len))
				return die("acrastruct_decrypt");
		report("acrastruct_decrypt", len, n, t);
		for (n = 0, t0 = now(); (t = now() - t0) < secs; n++)
			if (acrablock_encrypt(kek, sizeof(kek), NULL, 0, pt, len, blk,
					      acrablock_size(len), &got))
				return die("acrablock_encrypt");
		report("acrablock_encrypt", len, n, t);
		for (n = 0, t0 = now(); (t = now() - t0) < secs; n++)
			if (acrablock_decrypt(kek, sizeof(kek), NULL, 0, blk, got, out, len, &pt_len))
				return die("acrablock_decrypt");
		report("acrablock_decrypt", len, n, t);
		free(pt);
		free(as);
		free(blk);
		free(out);
	}
	ec_priv_free(priv);
	ec_pub_free(pub);
	secret_free(raw);
	return 0;
}
