/* contrib/fuzz/fuzz_cell.c: libFuzzer entry for the Secure Cell and Secure Message parsers.
 * The first input byte picks the function, the rest is the untrusted message. Keys are fixed,
 * so fuzzing exercises the header checks; the seeds (contrib/fuzz/seeds/cell) are genuine
 * messages for these keys so mutations start from valid headers. `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/cell.h"
#include "lib/crypto/smessage.h"
#include "lib/crypto/soter.h"

static const uint8_t key[32] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
				 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
static const uint8_t ctx[] = "ctx-1";

static struct ec_priv *priv;
static struct ec_pub *pub;

/* Key pair A of spec/themis.md §1.3 (messages to oneself). */
static void keys_init(void)
{
	static const char *priv_hex =
		"524543320000002d90d0292400d1e738b5ef8ebadc43f213f7df1611198d3d05abd75681ee81c99363dc3dad13";
	static const char *pub_hex =
		"554543320000002de9d3b0ad031c5c9e5ed0d5f02fa315320ec1bb44c47f1842a59b3bdb28eda04afbc1969e1c";
	uint8_t b[45];

	if (sodium_init() < 0)
		abort();
	if (sodium_hex2bin(b, sizeof(b), priv_hex, 90, NULL, NULL, NULL) != 0 ||
	    ec_priv_load(&priv, b, sizeof(b)) != 0)
		abort();
	if (sodium_hex2bin(b, sizeof(b), pub_hex, 90, NULL, NULL, NULL) != 0 ||
	    ec_pub_load(&pub, b, sizeof(b)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out;
	size_t out_len, n;
	const uint8_t *msg;
	int rc;

	if (priv == NULL)
		keys_init();
	if (size < 1)
		return 0;
	n = size - 1;
	out = malloc(n + 1);
	if (out == NULL)
		return 0;
	switch (data[0] % 6) {
	case 0:
		rc = cell_seal_decrypt(key, sizeof(key), ctx, 5, data + 1, n, out, &out_len);
		if (rc == 0 && out_len > n)
			abort();
		if (cell_seal_plain_len(data + 1, n, &out_len) == 0 && out_len > n)
			abort();
		break;
	case 1:
		/* the PBKDF2 round count is read from the message (as Themis does); keep fuzzing
		 * fast by skipping inputs whose count, at the offset the header gives, is large */
		if (n >= 20) {
			uint64_t off = 20 + (uint64_t)rd_le32(data + 5) + rd_le32(data + 9);

			if (off + 4 <= n && rd_le32(data + 1 + off) <= 16)
				rc = cell_pass_decrypt("secret", 6, ctx, 5, data + 1, n, out, &out_len);
		}
		break;
	case 2:
		if (n >= 1) {
			size_t t = data[1] % (n > 64 ? 64 : n);

			rc = cell_token_decrypt(key, sizeof(key), ctx, 5, data + 2 + t, n - 1 - t,
						data + 2, t, out);
		}
		break;
	case 3:
		rc = smessage_decrypt(priv, pub, data + 1, n, out, &out_len);
		if (rc == 0 && out_len > n)
			abort();
		break;
	case 4:
		rc = smessage_verify(pub, data + 1, n, &msg, &out_len);
		if (rc == 0 && (msg < data + 1 || msg + out_len > data + size))
			abort();
		break;
	default:
		if (n > 0)
			rc = cell_imprint(key, sizeof(key), ctx, 5, data + 1, n, out);
		break;
	}
	(void)rc;
	free(out);
	return 0;
}
