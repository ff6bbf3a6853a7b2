/* lib/keystore/master.c: the master key that seals keystore v1 files (spec/acra-formats.md
 * §5.1, §7.3). Loaders are a table so that other sources (HashiCorp Vault, AWS KMS) can be
 * added next to the environment one. The value is never printed, logged or kept in the
 * environment after it was read. */
#include "lib/keystore/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/keystore/private.h"

int keystore_master_key_parse(const char *b64, struct secret **out)
{
	uint8_t *raw = NULL;
	size_t b64_len, raw_len = 0;
	int rc;

	*out = NULL;
	if (b64 == NULL || b64[0] == '\0') {
		keystore_set_error("master key is empty");
		return ACRA_EINVAL;
	}
	b64_len = strlen(b64);
	if (b64_len > 2 * KEYSTORE_MASTER_KEY_MAX) {
		keystore_set_error("master key is longer than %d bytes", KEYSTORE_MASTER_KEY_MAX);
		return ACRA_ERANGE;
	}
	raw = sodium_malloc(b64_len);
	if (raw == NULL)
		return ACRA_ENOMEM;
	/* Standard padded alphabet, line breaks ignored, as Go's base64.StdEncoding */
	if (sodium_base642bin(raw, b64_len, b64, b64_len, "\r\n", &raw_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		keystore_set_error("master key is not valid standard base64");
		rc = ACRA_EINVAL;
		goto out;
	}
	if (raw_len < KEYSTORE_MASTER_KEY_LEN) {
		keystore_set_error("master key must have %d length in bytes, got %zu",
				   KEYSTORE_MASTER_KEY_LEN, raw_len);
		rc = ACRA_ERANGE;
		goto out;
	}
	if (raw_len > KEYSTORE_MASTER_KEY_MAX) {
		keystore_set_error("master key is longer than %d bytes", KEYSTORE_MASTER_KEY_MAX);
		rc = ACRA_ERANGE;
		goto out;
	}
	rc = secret_from(out, raw, raw_len);
out:
	sodium_free(raw); /* wipes */
	return rc;
}

static int env_load(const struct keystore_master_loader *l, struct secret **out)
{
	const char *v = getenv(KEYSTORE_MASTER_KEY_ENV);
	int rc;

	(void)l;
	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		keystore_set_error("%s is not set: export %s=$(base64 MASTER_KEY_FILE) "
				   "(make one with acra keymaker --generate_master_key=FILE)",
				   KEYSTORE_MASTER_KEY_ENV, KEYSTORE_MASTER_KEY_ENV);
		return ACRA_EINVAL;
	}
	rc = keystore_master_key_parse(v, out);
	if (rc != ACRA_OK) {
		char why[200];

		snprintf(why, sizeof(why), "%s", keystore_last_error());
		keystore_set_error("%s is invalid: %s (it must hold the base64 of a %d-byte key)",
				   KEYSTORE_MASTER_KEY_ENV, why, KEYSTORE_MASTER_KEY_LEN);
	}
	/* Not left behind for child processes (poison scripts) or /proc/PID/environ readers;
	 * getenv's storage belongs to the environment, so this is the one copy we drop. */
	unsetenv(KEYSTORE_MASTER_KEY_ENV);
	return rc;
}

const struct keystore_master_loader keystore_master_env = { "env_master_key", env_load };

static const struct keystore_master_loader *const loaders[] = {
	&keystore_master_env,
};

const struct keystore_master_loader *keystore_master_loader_find(const char *name)
{
	for (size_t i = 0; i < sizeof(loaders) / sizeof(loaders[0]); i++)
		if (strcmp(loaders[i]->name, name) == 0)
			return loaders[i];
	return NULL;
}

int keystore_master_key_load(const struct keystore_master_loader *l, struct secret **out)
{
	keystore_clear_error();
	if (l == NULL)
		l = &keystore_master_env;
	return l->load(l, out);
}

int keystore_master_key_generate(const char *path)
{
	uint8_t key[KEYSTORE_MASTER_KEY_LEN];
	char tmp[4200];
	ssize_t n;
	int fd = -1, rc = ACRA_EIO;

	keystore_clear_error();
	if (snprintf(tmp, sizeof(tmp), "%s.tmp%08x", path, randombytes_random()) >=
	    (int)sizeof(tmp)) {
		keystore_set_error("path too long: %.64s...", path);
		return ACRA_ERANGE;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		keystore_set_error("cannot create %s: %s", tmp, strerror(errno));
		return ACRA_EIO;
	}
	randombytes_buf(key, sizeof(key));
	do
		n = write(fd, key, sizeof(key));
	while (n < 0 && errno == EINTR);
	sodium_memzero(key, sizeof(key));
	if (n != (ssize_t)sizeof(key) || fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
		keystore_set_error("cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		keystore_set_error("cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		keystore_set_error("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return ACRA_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}
