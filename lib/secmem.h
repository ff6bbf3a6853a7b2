/* lib/secmem.h: secrets in libsodium secure memory (guard pages, mlocked, wiped on free). */
#ifndef ACRA_LIB_SECMEM_H
#define ACRA_LIB_SECMEM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* A long-lived secret: key bytes in sodium_malloc'd memory. Fields are read-only for callers. */
struct secret {
	uint8_t *p;
	size_t len;
};

/* New zero-filled secret of len bytes (len may be 0). *out is owned by the caller:
 * release with secret_free(). Returns 0 or ACRA_ENOMEM. */
int secret_new(struct secret **out, size_t len) ACRA_MUSTCHECK;
/* New secret holding a copy of src[0..len). The caller still owns and should wipe src. */
int secret_from(struct secret **out, const void *src, size_t len) ACRA_MUSTCHECK;
/* New secret of len bytes from the CSPRNG. */
int secret_new_random(struct secret **out, size_t len) ACRA_MUSTCHECK;
/* Wipes and frees; NULL is a no-op. */
void secret_free(struct secret *s);
/* Wipes a short-lived buffer (derived keys, decrypted values). */
void secmem_wipe(void *p, size_t len);

#endif
