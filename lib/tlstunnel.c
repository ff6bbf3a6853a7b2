/* lib/tlstunnel.c: plain unix socket in, TLS out (see lib/tlstunnel.h). */
#include "lib/tlstunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/tls.h"

struct tls_tunnel {
	SSL_CTX *ctx;
	char host[256], name[256];
	int port;
	long timeout_ms;
	int lfd, stop[2];
	char dir[64], path[96];
	pthread_t th;
	bool running;
};

struct conn {
	struct tls_tunnel *t;
	int cfd;
};

/* TCP connect with a deadline; returns the fd or -1 (why in err). */
static int dial(const struct tls_tunnel *t, char *err, size_t err_len)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char port[16];
	int fd = -1, rc;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", t->port);
	rc = getaddrinfo(t->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, err_len, "cannot resolve %s: %s", t->host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
		struct pollfd pf;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
			snprintf(err, err_len, "cannot connect to %s:%d: %s", t->host, t->port,
				 strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		pf = (struct pollfd){ fd, POLLOUT, 0 };
		if (poll(&pf, 1, (int)t->timeout_ms) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			snprintf(err, err_len, "cannot connect to %s:%d: %s", t->host, t->port,
				 soerr != 0 ? strerror(soerr) : "timed out");
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		struct timeval tv = { t->timeout_ms / 1000, (t->timeout_ms % 1000) * 1000 };

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* Connect and handshake: the SSL (owned) or NULL with err set. */
static SSL *tls_open(const struct tls_tunnel *t, int *fd_out, char *err, size_t err_len)
{
	SSL *ssl = NULL;
	int fd = dial(t, err, err_len);

	*fd_out = -1;
	if (fd < 0)
		return NULL;
	if (tls_client_ssl_new(t->ctx, t->name, &ssl) != ACRA_OK || SSL_set_fd(ssl, fd) != 1) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);
		char e[256];

		if (vr != X509_V_OK)
			snprintf(err, err_len, "TLS handshake with %s:%d failed: certificate verify "
				 "failed: %s", t->host, t->port, X509_verify_cert_error_string(vr));
		else if (ERR_peek_error() == 0)
			snprintf(err, err_len, "TLS handshake with %s:%d failed: the server did not "
				 "answer with TLS (a plain port?)", t->host, t->port);
		else
			snprintf(err, err_len, "TLS handshake with %s:%d failed: %s", t->host,
				 t->port, tls_last_error(e, sizeof(e)));
		goto fail;
	}
	*fd_out = fd;
	return ssl;
fail:
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	char err[300];
	uint8_t buf[16384];
	int fd;
	SSL *ssl = tls_open(c->t, &fd, err, sizeof(err));

	if (ssl == NULL)
		goto out;
	for (;;) {
		struct pollfd pf[2] = { { c->cfd, POLLIN, 0 }, { fd, POLLIN, 0 } };
		int n;

		if (SSL_pending(ssl) == 0 && poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(c->cfd, buf, sizeof(buf));

			if (r <= 0 || SSL_write(ssl, buf, (int)r) != (int)r)
				break;
		}
		if (SSL_pending(ssl) > 0 || (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = SSL_read(ssl, buf, sizeof(buf));
			if (n <= 0) {
				if (SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ)
					continue;
				break;
			}
			for (int off = 0; off < n;) {
				ssize_t w = write(c->cfd, buf + off, (size_t)(n - off));

				if (w <= 0)
					goto done;
				off += (int)w;
			}
		}
	}
done:
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
out:
	close(c->cfd);
	free(c);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct tls_tunnel *t = arg;

	for (;;) {
		struct pollfd pf[2] = { { t->lfd, POLLIN, 0 }, { t->stop[0], POLLIN, 0 } };
		struct conn *c;
		pthread_t th;
		int cfd;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents != 0)
			break;
		cfd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		c = malloc(sizeof(*c));
		if (c == NULL) {
			close(cfd);
			continue;
		}
		c->t = t;
		c->cfd = cfd;
		if (pthread_create(&th, NULL, conn_main, c) != 0) {
			close(cfd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

int tls_tunnel_start(struct tls_tunnel **out, struct ssl_ctx_st *ctx, const char *host, int port,
		     const char *server_name, long timeout_ms, char *err, size_t err_len)
{
	struct tls_tunnel *t = calloc(1, sizeof(*t));
	struct sockaddr_un sun = { 0 };
	SSL *probe;
	int pfd;

	*out = NULL;
	if (t == NULL)
		return ACRA_ENOMEM;
	t->ctx = ctx;
	t->port = port;
	t->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	t->lfd = t->stop[0] = t->stop[1] = -1;
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->name, sizeof(t->name), "%s", server_name != NULL && *server_name ? server_name :
										    host);
	/* one handshake now: a wrong CA or name is a start-up error */
	probe = tls_open(t, &pfd, err, err_len);
	if (probe == NULL) {
		free(t);
		return ACRA_EIO;
	}
	SSL_shutdown(probe);
	SSL_free(probe);
	close(pfd);
	snprintf(t->dir, sizeof(t->dir), "/tmp/acra-tls-tunnel.XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		snprintf(err, err_len, "cannot create a private directory: %s", strerror(errno));
		free(t);
		return ACRA_EIO;
	}
	snprintf(t->path, sizeof(t->path), "%s/s", t->dir);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t->path);
	t->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->lfd < 0 || bind(t->lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(t->lfd, 16) != 0 || pipe2(t->stop, O_CLOEXEC) != 0 ||
	    pthread_create(&t->th, NULL, accept_main, t) != 0) {
		snprintf(err, err_len, "cannot start the TLS tunnel: %s", strerror(errno));
		t->running = false;
		tls_tunnel_stop(t);
		return ACRA_EIO;
	}
	t->running = true;
	*out = t;
	return ACRA_OK;
}

const char *tls_tunnel_path(const struct tls_tunnel *t)
{
	return t->path;
}

void tls_tunnel_stop(struct tls_tunnel *t)
{
	if (t == NULL)
		return;
	if (t->running) {
		ssize_t w = write(t->stop[1], "x", 1);

		(void)w;
		pthread_join(t->th, NULL);
	}
	if (t->lfd >= 0)
		close(t->lfd);
	for (int i = 0; i < 2; i++)
		if (t->stop[i] >= 0)
			close(t->stop[i]);
	unlink(t->path);
	rmdir(t->dir);
	free(t);
}
