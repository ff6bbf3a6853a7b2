/* contrib/fuzz/fuzz_ec.c: libFuzzer entry for the REC2/UEC2 key loaders (spec/themis.md §1.4).
 * A loaded key must behave: a public key re-exports to a container that loads again and
 * agrees in ECDH, a private key exports to the same 45-byte container form. The first input
 * byte is a selector: when it is odd, the key that follows gets a correct size field and CRC
 * so that mutations reach the point and scalar decoders instead of stopping at the checksum.
 * `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/ec.h"
#include "lib/crypto/soter.h"

static struct ec_priv *fixed;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_key(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	char tag[4];

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0 || size < 1 + SOTER_HDR_LEN) {
		check_key(data + 1, size - 1);
		return 0;
	}
	copy = malloc(size - 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	memcpy(tag, copy, 4);
	soter_container_seal(copy, tag, size - 1);
	check_key(copy, size - 1);
	free(copy);
	return 0;
}

static void check_key(const uint8_t *data, size_t size)
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
}
