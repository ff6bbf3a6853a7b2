/* contrib/bench/crypto_prims.c: throughput of the Themis primitives on this machine.
 * Prints "name value unit" lines: ec_derive (pre-imported keys), ec_pub_load+ec_derive (what one
 * AcraStruct decrypt costs: decode the ephemeral point, then ECDH), and Secure Cell seal/open
 * at 100 B, 1 KiB and 64 KiB. Usage: crypto_prims [seconds per figure, default 2]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/crypto/cell.h"
#include "lib/crypto/ec.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "crypto_prims: %s failed\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, t0, t;
	struct secret *priv = NULL;
	uint8_t pub[EC_PUB_LEN], peer_pub[EC_PUB_LEN], s[EC_SHARED_LEN], key[32];
	struct ec_priv *k = NULL, *peer = NULL;
	struct ec_pub *p = NULL;
	static const size_t sizes[] = { 100, 1024, 65536 };
	long n;

	if (sodium_init() < 0 || secs <= 0)
		return die("init");
	if (ec_keypair_generate(&priv, pub) || ec_priv_load(&k, priv->p, priv->len) ||
	    ec_priv_generate(&peer) || ec_priv_public(peer, peer_pub) ||
	    ec_pub_load(&p, peer_pub, EC_PUB_LEN))
		return die("key setup");

	for (n = 0, t0 = now(); (t = now() - t0) < secs; n++)
		if (ec_derive(k, p, s))
			return die("ec_derive");
	printf("ec_derive %.0f ops/s\n", n / t);

	for (n = 0, t0 = now(); (t = now() - t0) < secs; n++) {
		struct ec_pub *e;

		if (ec_pub_load(&e, peer_pub, EC_PUB_LEN) || ec_derive(k, e, s))
			return die("ec_pub_load+ec_derive");
		ec_pub_free(e);
	}
	printf("ec_pub_load+ec_derive %.0f ops/s\n", n / t);

	randombytes_buf(key, sizeof(key));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i], out_len;
		uint8_t *pt = malloc(len), *ct = malloc(len + CELL_SEAL_OVERHEAD), *out = malloc(len);

		if (pt == NULL || ct == NULL || out == NULL)
			return die("malloc");
		randombytes_buf(pt, len);
		for (n = 0, t0 = now(); (t = now() - t0) < secs; n++)
			if (cell_seal_encrypt(key, 32, NULL, 0, pt, len, ct))
				return die("cell_seal_encrypt");
		printf("cell_seal_encrypt_%zu %.1f MB/s %.0f ops/s\n", len, n * (double)len / t / 1e6,
		       n / t);
		for (n = 0, t0 = now(); (t = now() - t0) < secs; n++)
			if (cell_seal_decrypt(key, 32, NULL, 0, ct, len + CELL_SEAL_OVERHEAD, out,
					      &out_len))
				return die("cell_seal_decrypt");
		printf("cell_seal_decrypt_%zu %.1f MB/s %.0f ops/s\n", len, n * (double)len / t / 1e6,
		       n / t);
		free(pt);
		free(ct);
		free(out);
	}
	ec_pub_free(p);
	ec_priv_free(k);
	ec_priv_free(peer);
	secret_free(priv);
	return 0;
}
