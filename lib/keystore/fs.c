/* lib/keystore/fs.c: keystore v1 files on the local filesystem (spec/acra-formats.md §5.3,
 * §5.4). Private files are written 0600 and public ones 0644 through a temporary name
 * created with O_EXCL|O_NOFOLLOW and renamed over the target; directories are made 0700. A
 * private file that group or others may read is refused when loaded (Acra refuses those on
 * Linux too; we accept 0400 and 0600 alike and name the fix). */
#include "lib/keystore/keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/keystore/private.h"

static int errno_rc(int e)
{
	if (e == ENOENT || e == ENOTDIR)
		return ACRA_ENOKEY;
	if (e == ENOMEM)
		return ACRA_ENOMEM;
	if (e == EACCES || e == EPERM)
		return ACRA_EPERM;
	return ACRA_EIO;
}

/* mkdir -p of every parent of path (not path itself), mode 0700 for new ones. */
static int make_parents(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		keystore_set_error("path too long: %.64s...", path);
		return ACRA_ERANGE;
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			int e = errno;

			keystore_set_error("cannot create directory %s: %s", buf, strerror(e));
			return errno_rc(e);
		}
		buf[i] = '/';
	}
	return ACRA_OK;
}

static int fs_read(void *ctx, const char *path, bool private_file, struct secret **out)
{
	struct stat st;
	struct secret *s = NULL;
	size_t got = 0;
	int fd, rc;

	(void)ctx;
	*out = NULL;
	/* Symlinks are followed on read: secret volumes (Kubernetes, Docker) are links. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		rc = errno_rc(e);
		if (rc == ACRA_ENOKEY)
			keystore_set_error("key file %s does not exist", path);
		else
			keystore_set_error("cannot open key file %s: %s", path, strerror(e));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		keystore_set_error("cannot stat key file %s: %s", path, strerror(errno));
		rc = ACRA_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		keystore_set_error("key file %s is not a regular file", path);
		rc = ACRA_EINVAL;
		goto out;
	}
	if (private_file && (st.st_mode & 077) != 0) {
		keystore_set_error("private key file %s has permissions %04o and may be read by "
				   "others; fix with: chmod 600 %s",
				   path, (unsigned)(st.st_mode & 07777), path);
		rc = ACRA_EPERM;
		goto out;
	}
	if (st.st_size > KEYSTORE_FILE_MAX) {
		keystore_set_error("key file %s is too large (%lld bytes)", path,
				   (long long)st.st_size);
		rc = ACRA_ERANGE;
		goto out;
	}
	rc = secret_new(&s, (size_t)st.st_size);
	if (rc != ACRA_OK)
		goto out;
	while (got < s->len) {
		ssize_t n = read(fd, s->p + got, s->len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			keystore_set_error("cannot read key file %s: %s", path,
					   n < 0 ? strerror(errno) : "file shrank while read");
			rc = ACRA_EIO;
			goto out;
		}
		got += (size_t)n;
	}
	*out = s;
	s = NULL;
	rc = ACRA_OK;
out:
	secret_free(s);
	close(fd);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fs_write(void *ctx, const char *path, const uint8_t *data, size_t len,
		    bool private_file)
{
	char tmp[4200];
	mode_t mode = private_file ? 0600 : 0644;
	int fd = -1, rc;

	(void)ctx;
	rc = make_parents(path);
	if (rc != ACRA_OK)
		return rc;
	for (int tries = 0;; tries++) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp%08x", path, randombytes_random()) >=
		    (int)sizeof(tmp)) {
			keystore_set_error("path too long: %.64s...", path);
			return ACRA_ERANGE;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST || tries >= 8)
			break;
	}
	if (fd < 0) {
		int e = errno;

		keystore_set_error("cannot create %s: %s", tmp, strerror(e));
		return errno_rc(e);
	}
	/* the umask may have narrowed the mode; public keys must stay readable */
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		keystore_set_error("cannot write %s: %s", tmp, strerror(errno));
		rc = ACRA_EIO;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		keystore_set_error("cannot write %s: %s", tmp, strerror(errno));
		rc = ACRA_EIO;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		int e = errno;

		keystore_set_error("cannot rename %s to %s: %s", tmp, path, strerror(e));
		rc = errno_rc(e) == ACRA_ENOKEY ? ACRA_EIO : errno_rc(e);
		goto fail;
	}
	return ACRA_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

static int fs_exists(void *ctx, const char *path, bool *yes)
{
	struct stat st;

	(void)ctx;
	*yes = false;
	if (stat(path, &st) == 0) {
		*yes = true;
		return ACRA_OK;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return ACRA_OK;
	keystore_set_error("cannot stat %s: %s", path, strerror(errno));
	return ACRA_EIO;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void keystore_names_free(char **names, size_t n_names)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
}

static int fs_list(void *ctx, const char *dir, char ***names, size_t *n_names)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = ACRA_OK;

	(void)ctx;
	*names = NULL;
	*n_names = 0;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ACRA_OK;
		keystore_set_error("cannot list %s: %s", dir, strerror(errno));
		return errno_rc(errno);
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* regular files only, as Acra's history reader (links are not followed) */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **nv = realloc(v, ncap * sizeof(*nv));

			if (nv == NULL) {
				rc = ACRA_ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n] = strdup(de->d_name);
		if (v[n] == NULL) {
			rc = ACRA_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc != ACRA_OK) {
		keystore_names_free(v, n);
		return rc;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*n_names = n;
	return ACRA_OK;
}

static int copy_file(const char *src, const char *dst)
{
	struct stat st;
	uint8_t buf[4096];
	int in, out = -1, rc = ACRA_EIO;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno_rc(errno);
	if (fstat(in, &st) != 0)
		goto done;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0)
		goto done;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		if (write_all(out, buf, (size_t)n) != 0)
			goto done;
	}
	rc = fsync(out) == 0 ? ACRA_OK : ACRA_EIO;
done:
	sodium_memzero(buf, sizeof(buf));
	if (out >= 0 && close(out) != 0)
		rc = ACRA_EIO;
	if (out >= 0 && rc != ACRA_OK)
		unlink(dst);
	close(in);
	return rc;
}

static int fs_backup(void *ctx, const char *path, const char *copy_path)
{
	int rc;

	(void)ctx;
	rc = make_parents(copy_path);
	if (rc != ACRA_OK)
		return rc;
	if (link(path, copy_path) == 0)
		return ACRA_OK;
	if (errno == EEXIST) {
		keystore_set_error("history file %s already exists", copy_path);
		return ACRA_EEXIST;
	}
	rc = copy_file(path, copy_path);
	if (rc != ACRA_OK)
		keystore_set_error("cannot keep %s as %s: %s", path, copy_path, strerror(errno));
	return rc;
}

static int fs_check_dir(void *ctx, const char *dir)
{
	struct stat st;

	(void)ctx;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return ACRA_OK;
		keystore_set_error("cannot stat keys directory %s: %s", dir, strerror(errno));
		return errno_rc(errno);
	}
	if (!S_ISDIR(st.st_mode)) {
		keystore_set_error("keys directory %s is not a directory", dir);
		return ACRA_EINVAL;
	}
	if ((st.st_mode & 077) != 0) {
		keystore_set_error("keys directory %s has permissions %04o and may be read by "
				   "others; fix with: chmod 700 %s",
				   dir, (unsigned)(st.st_mode & 07777), dir);
		return ACRA_EPERM;
	}
	return ACRA_OK;
}

static int fs_remove(void *ctx, const char *path)
{
	(void)ctx;
	if (unlink(path) == 0)
		return ACRA_OK;
	if (errno == ENOENT)
		return ACRA_ENOKEY;
	keystore_set_error("cannot remove %s: %s", path, strerror(errno));
	return ACRA_EIO;
}

static const struct keystore_storage_ops fs_ops = {
	.read = fs_read,
	.write = fs_write,
	.exists = fs_exists,
	.list = fs_list,
	.backup = fs_backup,
	.remove = fs_remove,
	.check_dir = fs_check_dir,
	.free = NULL,
};

void keystore_fs_storage(struct keystore_storage *out)
{
	out->ops = &fs_ops;
	out->ctx = NULL;
}
