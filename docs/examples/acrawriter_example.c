/* docs/examples/acrawriter_example.c: encrypt stdin for Acra with libacrawriter.
 *
 *   acrawriter_example struct PUBLIC_KEY_FILE [ZONE_ID] < data > acrastruct
 *   acrawriter_example block SYM_KEY_FILE < data > acrablock
 *
 * PUBLIC_KEY_FILE is a 45-byte Themis public key (<client_id>_storage.pub, or
 * <zone_id>_zone.pub with ZONE_ID); SYM_KEY_FILE the raw 32-byte symmetric key. Output is
 * the serialized (%%%) envelope, as AcraServer 0.96 writes it; set ACRAWRITER_BARE=1 for a
 * bare AcraStruct (what Acra 0.82 reads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/acrawriter.h"

static size_t slurp(FILE *f, uint8_t **out)
{
	size_t cap = 4096, len = 0, n;
	uint8_t *p = malloc(cap);

	while (p != NULL && (n = fread(p + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *q = realloc(p, cap *= 2);

			if (q == NULL)
				free(p);
			p = q;
		}
	}
	*out = p;
	return p == NULL ? 0 : len;
}

static size_t read_file(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	n = slurp(f, out);
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	uint8_t *key = NULL, *data = NULL, *out = NULL;
	size_t key_len, data_len, cap, out_len = 0;
	int serialize = getenv("ACRAWRITER_BARE") == NULL, rc;
	const char *zone = argc > 3 ? argv[3] : NULL;

	if (argc < 3 || (strcmp(argv[1], "struct") != 0 && strcmp(argv[1], "block") != 0)) {
		fprintf(stderr, "usage: %s struct PUBLIC_KEY_FILE [ZONE_ID] | block KEY_FILE\n",
			argv[0]);
		return 2;
	}
	if (acrawriter_init() != 0)
		return 1;
	key_len = read_file(argv[2], &key);
	data_len = slurp(stdin, &data);
	if (argv[1][0] == 's') {
		cap = acrawriter_acrastruct_size(data_len, serialize);
		out = malloc(cap);
		rc = acrawriter_create_acrastruct(key, key_len, (const uint8_t *)zone,
						  zone ? strlen(zone) : 0, data, data_len, serialize,
						  out, cap, &out_len);
	} else {
		cap = acrawriter_acrablock_size(data_len, serialize);
		out = malloc(cap);
		rc = acrawriter_create_acrablock(key, key_len, NULL, 0, data, data_len, serialize,
						 out, cap, &out_len);
	}
	if (rc != 0) {
		fprintf(stderr, "acrawriter: %s\n", acrawriter_strerror(rc));
		return 1;
	}
	fwrite(out, 1, out_len, stdout);
	free(key);
	free(data);
	free(out);
	return 0;
}
