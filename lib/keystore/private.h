/* lib/keystore/private.h: helpers shared by the keystore's own files; not for callers. */
#ifndef ACRA_LIB_KEYSTORE_PRIVATE_H
#define ACRA_LIB_KEYSTORE_PRIVATE_H

/* Set this thread's keystore_last_error() text (printf-style; never key bytes). */
void keystore_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Clear it. */
void keystore_clear_error(void);

#endif
