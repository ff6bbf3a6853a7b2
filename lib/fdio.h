/* lib/fdio.h: whole-stream reads and writes on file descriptors for the command-line
 * modes, and process hardening for modes that hold private keys. */
#ifndef ACRA_LIB_FDIO_H
#define ACRA_LIB_FDIO_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/secmem.h"

/* Read fd to its end into *out (returns owned secret: the bytes may be plaintext; wiped
 * on free). More than max bytes: ACRA_ERANGE (nothing returned). Read errors: ACRA_EIO. */
int fd_read_all(int fd, size_t max, struct secret **out) ACRA_MUSTCHECK;

/* Write all len bytes, retrying short writes and EINTR. 0 or ACRA_EIO. */
int fd_write_all(int fd, const void *p, size_t len) ACRA_MUSTCHECK;

/* No core dumps and no ptrace by other users' processes (RLIMIT_CORE 0,
 * PR_SET_DUMPABLE 0): for modes that hold private keys or plaintext. */
void proc_harden(void);

#endif
