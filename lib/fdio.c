/* lib/fdio.c: whole-stream I/O for the command-line modes. */
#include "lib/fdio.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

int fd_read_all(int fd, size_t max, struct secret **out)
{
	struct secret *buf = NULL, *bigger = NULL;
	size_t len = 0, cap = 65536;
	int rc;

	*out = NULL;
	if (cap > max + 1)
		cap = max + 1;
	rc = secret_new(&buf, cap);
	if (rc != ACRA_OK)
		return rc;
	for (;;) {
		ssize_t n;

		if (len == buf->len) {
			size_t ncap = buf->len * 2;

			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= buf->len) { /* already max + 1 bytes: too long */
				rc = ACRA_ERANGE;
				goto out;
			}
			rc = secret_new(&bigger, ncap);
			if (rc != ACRA_OK)
				goto out;
			memcpy(bigger->p, buf->p, len);
			secret_free(buf);
			buf = bigger;
			bigger = NULL;
		}
		n = read(fd, buf->p + len, buf->len - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ACRA_EIO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			rc = ACRA_ERANGE;
			goto out;
		}
	}
	buf->len = len; /* sodium_free needs no size: shrinking the visible length is safe */
	*out = buf;
	buf = NULL;
	rc = ACRA_OK;
out:
	if (buf != NULL)
		sodium_memzero(buf->p, buf->len);
	secret_free(buf);
	return rc;
}

int fd_write_all(int fd, const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ACRA_EIO;
		c += n;
		len -= (size_t)n;
	}
	return ACRA_OK;
}

void proc_harden(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
