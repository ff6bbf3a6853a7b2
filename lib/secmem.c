/* lib/secmem.c: secrets in libsodium secure memory. */
#include "lib/secmem.h"

#include <string.h>

#include <sodium.h>

int secret_new(struct secret **out, size_t len)
{
	struct secret *s;

	*out = NULL;
	s = sodium_malloc(sizeof(*s));
	if (s == NULL)
		return ACRA_ENOMEM;
	/* sodium_malloc(0) is valid but we keep one byte so p is never NULL */
	s->p = sodium_malloc(len ? len : 1);
	if (s->p == NULL) {
		sodium_free(s);
		return ACRA_ENOMEM;
	}
	sodium_memzero(s->p, len ? len : 1);
	s->len = len;
	*out = s;
	return ACRA_OK;
}

int secret_from(struct secret **out, const void *src, size_t len)
{
	int rc = secret_new(out, len);

	if (rc == ACRA_OK && len > 0)
		memcpy((*out)->p, src, len);
	return rc;
}

int secret_new_random(struct secret **out, size_t len)
{
	int rc = secret_new(out, len);

	if (rc == ACRA_OK && len > 0)
		randombytes_buf((*out)->p, len);
	return rc;
}

void secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	sodium_free(s->p); /* wipes before unmapping */
	sodium_free(s);
}

void secmem_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		sodium_memzero(p, len);
}
