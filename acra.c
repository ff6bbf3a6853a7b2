/* acra.c: main(). Finds the mode from the program name (acra-MODE symlinks) or argv[1]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/version.h"
#include "modes/modes.h"

struct mode {
	const char *name;
	mode_main_fn main;
	const char *summary;
};

/* One row per mode, alphabetical. */
static const struct mode modes[] = {
	{ "addzone", addzone_main, "make a zone: zone id and key pair, printed as JSON" },
	{ "connector", connector_main, "sidecar: wraps application connections to acra server" },
	{ "keymaker", keymaker_main, "make master keys and key pairs in a keystore" },
	{ "keys", keys_main, "key administration: generate (rotate), list, read, destroy, export, import" },
	{ "poisonrecordmaker", poisonrecordmaker_main, "print a new poison record (base64)" },
	{ "reader", reader_main, "decrypt an AcraStruct or AcraBlock from stdin to stdout" },
	{ "rotate", rotate_main, "rotate keys and re-encrypt the values a query selects" },
	{ "server", server_main, "SQL proxy: decrypts results for the right client" },
	{ "translator", translator_main, "encryption as a service over HTTP (API v1 and v2)" },
	{ "writer", writer_main, "encrypt stdin into an AcraStruct or AcraBlock on stdout" },
};

#define N_MODES (sizeof(modes) / sizeof(modes[0]))

static const struct mode *mode_find(const char *name)
{
	for (size_t i = 0; i < N_MODES; i++)
		if (strcmp(modes[i].name, name) == 0)
			return &modes[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "acra %s: application-level encryption for SQL databases\n\n"
		   "usage: acra MODE [flags]     (or acra-MODE [flags])\n"
		   "       acra help [MODE]\n"
		   "       acra version\n\nmodes:\n",
		ACRA_VERSION);
	for (size_t i = 0; i < N_MODES; i++)
		fprintf(f, "  %-18s %s\n", modes[i].name, modes[i].summary);
}

/* Runs mode m with argv[0] replaced by its service name, as Acra's separate tools had. */
static int run_mode(const struct mode *m, int argc, char **argv)
{
	char service[64];

	snprintf(service, sizeof(service), "acra-%s", m->name);
	argv[0] = service;
	return m->main(argc, argv);
}

int main(int argc, char **argv)
{
	const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "acra";
	const char *base = strrchr(prog, '/');
	const struct mode *m;

	base = base != NULL ? base + 1 : prog;
	if (sodium_init() < 0) {
		fprintf(stderr, "acra: cannot initialise libsodium\n");
		return 1;
	}
	if (strncmp(base, "acra-", 5) == 0) {
		m = mode_find(base + 5);
		if (m == NULL) {
			fprintf(stderr, "acra: unknown mode \"%s\"\n\n", base + 5);
			usage(stderr);
			return 2;
		}
		return run_mode(m, argc, argv);
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("acra %s (compatible with Acra %s data and configuration)\n", ACRA_VERSION,
		       ACRA_COMPAT_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		char help_flag[] = "--help";
		char *hargv[3];

		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		m = mode_find(argv[2]);
		if (m == NULL) {
			fprintf(stderr, "acra: unknown mode \"%.64s\"\n\n", argv[2]);
			usage(stderr);
			return 2;
		}
		hargv[0] = argv[0];
		hargv[1] = help_flag;
		hargv[2] = NULL;
		return run_mode(m, 2, hargv);
	}
	m = mode_find(argv[1]);
	if (m == NULL) {
		fprintf(stderr, "acra: unknown mode \"%.64s\"\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	return run_mode(m, argc - 1, argv + 1);
}
