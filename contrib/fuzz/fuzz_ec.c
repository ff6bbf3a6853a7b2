/* contrib/fuzz/fuzz_ec.c: libFuzzer entry for the REC2/UEC2 key loaders (spec/themis.md §1.4).
 * A loaded key must behave: a public key re-exports to a container that loads again and
 * agrees in ECDH, a private key exports to the same 45-byte container form. `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/ec.h"

static struct ec_priv *fixed;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ec_priv *k = NULL;
	struct ec_pub *p = NULL, *p2 = NULL;
	uint8_t pub[EC_PUB_LEN], s1[EC_SHARED_LEN], s2[EC_SHARED_LEN];
	bool is_priv;
	int checked;

	if (fixed == NULL && (sodium_init() < 0 || ec_priv_generate(&fixed) != 0))
		abort();
	checked = ec_key_check(data, size, &is_priv);
	if (ec_priv_load(&k, data, size) == 0) {
		struct secret *s = NULL;

		if (checked != 0 || !is_priv || ec_priv_export(k, &s) != 0 || s->len != EC_PRIV_LEN ||
		    ec_priv_public(k, pub) != 0)
			abort();
		secret_free(s);
		ec_priv_free(k);
	}
	if (ec_pub_load(&p, data, size) == 0) {
		if (checked != 0 || is_priv || ec_pub_export(p, pub) != 0 ||
		    ec_pub_load(&p2, pub, sizeof(pub)) != 0 || ec_derive(fixed, p, s1) != 0 ||
		    ec_derive(fixed, p2, s2) != 0 || memcmp(s1, s2, sizeof(s1)) != 0)
			abort();
		ec_pub_free(p);
		ec_pub_free(p2);
	}
	return 0;
}
