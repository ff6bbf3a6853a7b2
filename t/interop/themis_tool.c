/* t/interop/themis_tool.c: command-line access to lib/crypto for interoperability tests with
 * wasm-themis (t/interop/themis.js takes the same commands). Every argument and every output
 * is hex; "-" stands for an absent context. Exit 0 on success, 1 on a failed operation
 * (the ACRA_E* text goes to stderr), 2 on usage errors.
 *
 *   keygen                      -> "<REC2 hex> <UEC2 hex>"
 *   pub PRIV                    -> UEC2 of a private key
 *   check-priv KEY / check-pub KEY -> "ok" if the container is a valid key of that kind
 *   ng PRIV                     -> the same key as a 44-byte REC2 (32-byte scalar payload)
 *   seal-enc KEY CTX PT         -> sealed cell
 *   seal-dec KEY CTX CT         -> plaintext
 *   token-enc KEY CTX PT        -> "<token> <data>"
 *   token-dec KEY CTX DATA TOKEN -> plaintext
 *   imprint KEY CTX IN          -> output (same call both ways)
 *   pass-enc PASS CTX PT / pass-dec PASS CTX CT
 *   sm-enc PRIV PEERPUB MSG / sm-dec PRIV PEERPUB MSG
 *   sign PRIV MSG               -> signed message
 *   verify PUB SIGNED           -> message */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/cell.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/soter.h"
#include "lib/crypto/smessage.h"
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
		fprintf(stderr, "themis-tool: bad hex argument\n");
		return -1;
	}
	return 0;
}

static void put_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int fail(const char *cmd, int rc)
{
	fprintf(stderr, "themis-tool %s: %s (%d)\n", cmd, acra_strerror(rc), rc);
	return 1;
}

static int run(const char *cmd, struct buf *a, int na)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct ec_priv *k = NULL;
	struct ec_pub *p = NULL;
	int rc = ACRA_EINVAL;

	if (strcmp(cmd, "keygen") == 0 && na == 0) {
		struct secret *priv;
		uint8_t pub[EC_PUB_LEN];

		rc = ec_keypair_generate(&priv, pub);
		if (rc != 0)
			return fail(cmd, rc);
		put_hex(priv->p, priv->len);
		printf(" ");
		put_hex(pub, EC_PUB_LEN);
		printf("\n");
		secret_free(priv);
		return 0;
	}
	if (strcmp(cmd, "pub") == 0 && na == 1) {
		uint8_t pub[EC_PUB_LEN];

		rc = ec_priv_load(&k, a[0].p, a[0].len);
		if (rc == 0)
			rc = ec_priv_public(k, pub);
		if (rc == 0) {
			put_hex(pub, EC_PUB_LEN);
			printf("\n");
		}
		ec_priv_free(k);
		return rc ? fail(cmd, rc) : 0;
	}
	if (na == 1 && (strcmp(cmd, "check-priv") == 0 || strcmp(cmd, "check-pub") == 0)) {
		bool is_priv = false;

		rc = ec_key_check(a[0].p, a[0].len, &is_priv);
		if (rc == 0 && is_priv != (cmd[6] == 'p' && cmd[7] == 'r'))
			rc = ACRA_EINVAL;
		if (rc == 0)
			printf("ok\n");
		return rc ? fail(cmd, rc) : 0;
	}
	if (na == 1 && strcmp(cmd, "ng") == 0) {
		uint8_t ng[EC_PRIV_LEN - 1];

		rc = ec_priv_load(&k, a[0].p, a[0].len);
		ec_priv_free(k);
		if (rc != 0 || a[0].len != EC_PRIV_LEN)
			return fail(cmd, rc ? rc : ACRA_EINVAL);
		memcpy(ng + SOTER_HDR_LEN, a[0].p + SOTER_HDR_LEN + 1, sizeof(ng) - SOTER_HDR_LEN);
		soter_container_seal(ng, "REC2", sizeof(ng));
		put_hex(ng, sizeof(ng));
		printf("\n");
		return 0;
	}
	if (na == 3 && strcmp(cmd, "seal-enc") == 0) {
		out_len = a[2].len + CELL_SEAL_OVERHEAD;
		out = malloc(out_len);
		rc = out ? cell_seal_encrypt(a[0].p, a[0].len, a[1].p, a[1].len, a[2].p, a[2].len, out)
			 : ACRA_ENOMEM;
	} else if (na == 3 && strcmp(cmd, "seal-dec") == 0) {
		out = malloc(a[2].len + 1);
		rc = out ? cell_seal_decrypt(a[0].p, a[0].len, a[1].p, a[1].len, a[2].p, a[2].len, out,
					     &out_len)
			 : ACRA_ENOMEM;
	} else if (na == 3 && strcmp(cmd, "token-enc") == 0) {
		uint8_t token[CELL_TOKEN_LEN];

		out = malloc(a[2].len + 1);
		rc = out ? cell_token_encrypt(a[0].p, a[0].len, a[1].p, a[1].len, a[2].p, a[2].len, out,
					      token)
			 : ACRA_ENOMEM;
		if (rc == 0) {
			put_hex(token, sizeof(token));
			printf(" ");
			out_len = a[2].len;
		}
	} else if (na == 4 && strcmp(cmd, "token-dec") == 0) {
		out = malloc(a[2].len + 1);
		rc = out ? cell_token_decrypt(a[0].p, a[0].len, a[1].p, a[1].len, a[2].p, a[2].len,
					      a[3].p, a[3].len, out)
			 : ACRA_ENOMEM;
		out_len = a[2].len;
	} else if (na == 3 && strcmp(cmd, "imprint") == 0) {
		out = malloc(a[2].len + 1);
		rc = out ? cell_imprint(a[0].p, a[0].len, a[1].p, a[1].len, a[2].p, a[2].len, out)
			 : ACRA_ENOMEM;
		out_len = a[2].len;
	} else if (na == 3 && strcmp(cmd, "pass-enc") == 0) {
		out = malloc(a[2].len + cell_pass_overhead());
		rc = out ? cell_pass_encrypt((const char *)a[0].p, a[0].len, a[1].p, a[1].len, a[2].p,
					     a[2].len, out, &out_len)
			 : ACRA_ENOMEM;
	} else if (na == 3 && strcmp(cmd, "pass-dec") == 0) {
		out = malloc(a[2].len + 1);
		rc = out ? cell_pass_decrypt((const char *)a[0].p, a[0].len, a[1].p, a[1].len, a[2].p,
					     a[2].len, out, &out_len)
			 : ACRA_ENOMEM;
	} else if (na == 3 && (strcmp(cmd, "sm-enc") == 0 || strcmp(cmd, "sm-dec") == 0)) {
		rc = ec_priv_load(&k, a[0].p, a[0].len);
		if (rc == 0)
			rc = ec_pub_load(&p, a[1].p, a[1].len);
		out = malloc(a[2].len + SMESSAGE_ENC_OVERHEAD);
		if (rc == 0 && out == NULL)
			rc = ACRA_ENOMEM;
		if (rc == 0 && cmd[3] == 'e') {
			rc = smessage_encrypt(k, p, a[2].p, a[2].len, out);
			out_len = a[2].len + SMESSAGE_ENC_OVERHEAD;
		} else if (rc == 0) {
			rc = smessage_decrypt(k, p, a[2].p, a[2].len, out, &out_len);
		}
	} else if (na == 2 && strcmp(cmd, "sign") == 0) {
		rc = ec_priv_load(&k, a[0].p, a[0].len);
		if (rc == 0)
			rc = smessage_sign(k, a[1].p, a[1].len, &out, &out_len);
	} else if (na == 2 && strcmp(cmd, "verify") == 0) {
		const uint8_t *msg;

		rc = ec_pub_load(&p, a[0].p, a[0].len);
		if (rc == 0)
			rc = smessage_verify(p, a[1].p, a[1].len, &msg, &out_len);
		if (rc == 0) {
			out = malloc(out_len + 1);
			if (out == NULL)
				rc = ACRA_ENOMEM;
			else
				memcpy(out, msg, out_len);
		}
	} else {
		fprintf(stderr, "themis-tool: unknown command or wrong argument count: %s\n", cmd);
		return 2;
	}
	if (rc == 0) {
		put_hex(out, out_len);
		printf("\n");
	}
	free(out);
	ec_priv_free(k);
	ec_pub_free(p);
	return rc ? fail(cmd, rc) : 0;
}

int main(int argc, char **argv)
{
	struct buf a[4] = { { NULL, 0 } };
	int na = argc - 2, rc = 2;

	if (sodium_init() < 0)
		return 1;
	if (argc < 2 || na > 4) {
		fprintf(stderr, "usage: themis-tool COMMAND HEX... (see t/interop/themis_tool.c)\n");
		return 2;
	}
	for (int i = 0; i < na; i++)
		if (from_hex(argv[i + 2], &a[i]) != 0)
			goto out;
	rc = run(argv[1], a, na);
out:
	for (int i = 0; i < 4; i++)
		free(a[i].p);
	return rc;
}
