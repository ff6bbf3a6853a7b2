/* t/unit/envelope_helpers.h: fresh key pairs and random buffers for the envelope suites. */
#ifndef ACRA_T_UNIT_ENVELOPE_HELPERS_H
#define ACRA_T_UNIT_ENVELOPE_HELPERS_H

#include <stdint.h>
#include <stdlib.h>

#include <check.h>
#include <sodium.h>

#include "lib/crypto/ec.h"
#include "lib/secmem.h"

/* A generated P-256 pair, imported once (as the keystore cache holds them). */
struct test_pair {
	struct ec_priv *priv;
	struct ec_pub *pub;
	uint8_t pub_raw[EC_PUB_LEN];
};

static inline void test_pair_new(struct test_pair *t)
{
	struct secret *raw = NULL;

	ck_assert_int_eq(ec_keypair_generate(&raw, t->pub_raw), 0);
	ck_assert_int_eq(ec_priv_load(&t->priv, raw->p, raw->len), 0);
	ck_assert_int_eq(ec_pub_load(&t->pub, t->pub_raw, EC_PUB_LEN), 0);
	secret_free(raw);
}

static inline void test_pair_free(struct test_pair *t)
{
	ec_priv_free(t->priv);
	ec_pub_free(t->pub);
	t->priv = NULL;
	t->pub = NULL;
}

static inline uint8_t *test_random(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	randombytes_buf(p, n);
	return p;
}

#endif
