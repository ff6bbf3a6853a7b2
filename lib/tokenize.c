/* lib/tokenize.c: token formats, data ids, searchable hash blocks (see tokenize.h). */
#include "lib/tokenize.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/sym.h"

static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char *const tlds_long[] = { ".com", ".net", ".org", ".edu", ".info" };
static const char *const tlds_short[] = { ".au", ".br", ".de", ".jp", ".et", ".us" };
static const char delim[] = "tokenizator hash delimiter";

static const char *const type_names[] = { "unknown", "int32", "int64", "str", "bytes", "email" };

bool token_type_is_valid(int t)
{
	return t >= TOKEN_INT32 && t <= TOKEN_EMAIL;
}

const char *token_type_name(int t)
{
	return token_type_is_valid(t) ? type_names[t] : type_names[0];
}

static void random_alnum(uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)alnum[randombytes_uniform(sizeof(alnum) - 1)];
}

int token_generate(enum token_type t, const uint8_t *val, size_t len, uint8_t *out,
		   size_t out_cap)
{
	(void)val;
	if (out_cap < len)
		return ACRA_ERANGE;
	switch (t) {
	case TOKEN_INT32:
	case TOKEN_INT64:
		if (len != (t == TOKEN_INT32 ? 4u : 8u))
			return ACRA_EINVAL;
		randombytes_buf(out, len);
		return ACRA_OK;
	case TOKEN_BYTES:
		if (len == 0)
			return ACRA_EINVAL;
		randombytes_buf(out, len);
		return ACRA_OK;
	case TOKEN_STR:
		if (len == 0)
			return ACRA_EINVAL;
		random_alnum(out, len);
		return ACRA_OK;
	case TOKEN_EMAIL: {
		const char *tld;
		size_t tl, at;

		if (len < TOKEN_EMAIL_MIN)
			return ACRA_EINVAL;
		if (len < 8) {
			tld = tlds_short[randombytes_uniform(sizeof(tlds_short) /
							     sizeof(tlds_short[0]))];
		} else {
			uint32_t n = sizeof(tlds_long) / sizeof(tlds_long[0]) +
				     sizeof(tlds_short) / sizeof(tlds_short[0]);
			uint32_t k = randombytes_uniform(n);

			tld = k < 5 ? tlds_long[k] : tlds_short[k - 5];
		}
		tl = strlen(tld);
		if (len < tl + 2) /* a local part and '@' must fit before the TLD */
			tld = ".us", tl = 3;
		random_alnum(out, len - tl);
		memcpy(out + len - tl, tld, tl);
		at = (len - tl) / 2;
		out[at] = '@';
		return ACRA_OK;
	}
	}
	return ACRA_EINVAL;
}

void token_data_id(const uint8_t *val, size_t len, bool zone, const uint8_t *ctx,
		   size_t ctx_len, enum token_type t, uint8_t id[TOKEN_ID_LEN])
{
	crypto_hash_sha256_state st;
	char num[16];
	const char *kind = zone ? "zone" : "client";

	snprintf(num, sizeof(num), "%d", (int)t);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)delim, sizeof(delim) - 1);
	if (len > 0)
		crypto_hash_sha256_update(&st, val, len);
	crypto_hash_sha256_update(&st, (const uint8_t *)kind, strlen(kind));
	if (ctx_len > 0)
		crypto_hash_sha256_update(&st, ctx, ctx_len);
	crypto_hash_sha256_update(&st, (const uint8_t *)delim, sizeof(delim) - 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)num, strlen(num));
	crypto_hash_sha256_final(&st, id);
}

int search_hash(const uint8_t *key, size_t key_len, const uint8_t *pt, size_t pt_len,
		uint8_t out[SEARCH_HASH_LEN])
{
	struct bytes part = { pt, pt_len };

	out[0] = SEARCH_HASH_ID;
	return sym_hmac_sha256(key, key_len, &part, 1, out + 1);
}

int search_split(const uint8_t *val, size_t len, const uint8_t **hash, const uint8_t **rest,
		 size_t *rest_len)
{
	if (len <= SEARCH_HASH_LEN || val[0] != SEARCH_HASH_ID)
		return ACRA_EPROTO;
	*hash = val;
	*rest = val + SEARCH_HASH_LEN;
	*rest_len = len - SEARCH_HASH_LEN;
	return ACRA_OK;
}

void cert_client_id(const uint8_t *ident, size_t len, char out[CERT_CLIENT_ID_LEN + 1])
{
	uint8_t h[crypto_hash_sha512_BYTES];

	crypto_hash_sha512(h, ident, len);
	sodium_bin2hex(out, CERT_CLIENT_ID_LEN + 1, h, sizeof(h));
}
