/* lib/httpc.c: blocking HTTP/1.1 client with a deadline, over TCP or OpenSSL TLS.
 * Sockets are non-blocking and every wait goes through poll() with the time left, so a
 * silent or unreachable peer costs at most the timeout. */
#include "lib/httpc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/secmem.h"

#define HTTPC_MAX_HEADER_SECTION (64 * 1024)

static void set_err(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* ---- URL ---------------------------------------------------------------------------- */

int httpc_url_parse(const char *url, struct httpc_url *out)
{
	const char *p, *host, *host_end, *port = NULL, *path;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!url)
		return ACRA_EINVAL;
	if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		p = url + 8;
		out->https = true;
	} else {
		return ACRA_EINVAL;
	}
	path = p + strcspn(p, "/?#");
	if (strpbrk(path, "?#") || memchr(p, '@', (size_t)(path - p)))
		return ACRA_EINVAL; /* no user info, query or fragment in a base URL */
	if (*p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(path - host));
		if (!host_end)
			return ACRA_EINVAL;
		if (host_end[1] == ':')
			port = host_end + 2;
		else if (host_end + 1 != path)
			return ACRA_EINVAL;
	} else {
		host = p;
		host_end = memchr(p, ':', (size_t)(path - p));
		if (host_end)
			port = host_end + 1;
		else
			host_end = path;
	}
	n = (size_t)(host_end - host);
	if (n == 0 || n >= sizeof(out->host))
		return ACRA_EINVAL;
	memcpy(out->host, host, n);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)out->host[i]) && !strchr(".-_:%", out->host[i]))
			return ACRA_EINVAL;
	if (port) {
		long v = 0;

		n = (size_t)(path - port);
		if (n == 0 || n > 5)
			return ACRA_EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)port[i]))
				return ACRA_EINVAL;
			v = v * 10 + (port[i] - '0');
		}
		if (v < 1 || v > 65535)
			return ACRA_EINVAL;
		snprintf(out->port, sizeof(out->port), "%ld", v);
	} else {
		strcpy(out->port, out->https ? "443" : "80");
	}
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (n >= sizeof(out->prefix))
		return ACRA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)path[i]))
			return ACRA_EINVAL;
	memcpy(out->prefix, path, n);
	{
		bool v6 = strchr(out->host, ':') != NULL;
		bool dflt = strcmp(out->port, out->https ? "443" : "80") == 0;

		snprintf(out->hostport, sizeof(out->hostport), "%s%s%s%s%s", v6 ? "[" : "",
			 out->host, v6 ? "]" : "", dflt ? "" : ":", dflt ? "" : out->port);
	}
	return ACRA_OK;
}

/* ---- response parser (pure) ---------------------------------------------------------- */

void httpc_response_clear(struct httpc_response *r)
{
	if (r->body) {
		secmem_wipe(r->body, r->body_len);
		free(r->body);
	}
	free(r->location);
	r->body = NULL;
	r->body_len = 0;
	r->location = NULL;
}

static const uint8_t *find_crlf(const uint8_t *p, const uint8_t *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

/* Case-insensitive "Name:" match at the start of a header line; returns the value start. */
static const uint8_t *header_value(const uint8_t *line, const uint8_t *end, const char *name)
{
	size_t n = strlen(name);

	if ((size_t)(end - line) <= n || strncasecmp((const char *)line, name, n) != 0 ||
	    line[n] != ':')
		return NULL;
	line += n + 1;
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	return line;
}

static int parse_size(const uint8_t *p, const uint8_t *end, int base, size_t *out)
{
	size_t v = 0;
	bool any = false;

	for (; p < end; p++) {
		int d;

		if (isdigit(*p))
			d = *p - '0';
		else if (base == 16 && isxdigit(*p))
			d = tolower(*p) - 'a' + 10;
		else
			break;
		if (v > (SIZE_MAX - (size_t)d) / (size_t)base)
			return ACRA_ERANGE;
		v = v * (size_t)base + (size_t)d;
		any = true;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	/* Chunk extensions (";...") are allowed after a chunk size and ignored. */
	if (!any || (p < end && !(base == 16 && *p == ';')))
		return ACRA_EPROTO;
	*out = v;
	return ACRA_OK;
}

/* Last step of a successful parse: on failure the whole response is released. */
static int copy_location(struct httpc_response *out, const uint8_t *loc, size_t loc_len)
{
	if (!loc)
		return ACRA_OK;
	out->location = strndup((const char *)loc, loc_len);
	if (!out->location) {
		httpc_response_clear(out);
		out->status = 0;
		return ACRA_ENOMEM;
	}
	return ACRA_OK;
}

int httpc_parse_response(const uint8_t *buf, size_t len, bool eof, struct httpc_response *out)
{
	const uint8_t *end = buf + len, *line, *eol, *body, *loc = NULL;
	size_t clen = 0, blen, loc_len = 0;
	bool have_clen = false, chunked = false;
	int status, rc;

	out->status = 0;
	out->body = NULL;
	out->body_len = 0;
	out->location = NULL;
	if (len > HTTPC_MAX_RESPONSE)
		return ACRA_ERANGE;
	eol = find_crlf(buf, end);
	if (!eol) {
		if (len > HTTPC_MAX_HEADER_SECTION)
			return ACRA_ERANGE;
		if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
			return ACRA_EPROTO;
		return eof ? ACRA_EPROTO : HTTPC_NEED_MORE;
	}
	/* Status line: HTTP/1.x SP 3DIGIT [SP reason] */
	if (eol - buf < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    !isdigit(buf[9]) || !isdigit(buf[10]) || !isdigit(buf[11]) ||
	    (eol - buf > 12 && buf[12] != ' '))
		return ACRA_EPROTO;
	status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (status < 100)
		return ACRA_EPROTO;
	for (line = eol + 2;; line = eol + 2) {
		const uint8_t *v;

		eol = find_crlf(line, end);
		if (!eol) {
			if (len > HTTPC_MAX_HEADER_SECTION)
				return ACRA_ERANGE;
			return eof ? ACRA_EPROTO : HTTPC_NEED_MORE;
		}
		if (eol == line)
			break;
		if ((v = header_value(line, eol, "Content-Length"))) {
			size_t c;

			rc = parse_size(v, eol, 10, &c);
			if (rc < 0)
				return rc;
			if (have_clen && c != clen)
				return ACRA_EPROTO;
			clen = c;
			have_clen = true;
		} else if ((v = header_value(line, eol, "Transfer-Encoding"))) {
			/* Only "chunked" (possibly the last of a list) is understood. */
			size_t n = (size_t)(eol - v);
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n < 7 || strncasecmp((const char *)v + n - 7, "chunked", 7) != 0)
				return ACRA_EPROTO;
			chunked = true;
		} else if ((v = header_value(line, eol, "Location"))) {
			loc = v;
			loc_len = (size_t)(eol - v);
			while (loc_len > 0 && (loc[loc_len - 1] == ' ' || loc[loc_len - 1] == '\t'))
				loc_len--;
		}
	}
	body = eol + 2;
	if (body - buf > HTTPC_MAX_HEADER_SECTION)
		return ACRA_ERANGE;
	if (status == 204 || status == 304 || status / 100 == 1) {
		clen = 0;
		have_clen = true;
		chunked = false;
	}
	if (chunked) {
		/* First pass finds the end and the decoded size; second copies. */
		const uint8_t *p = body;
		size_t total = 0;

		for (;;) {
			size_t n;

			eol = find_crlf(p, end);
			if (!eol)
				return eof ? ACRA_EPROTO : HTTPC_NEED_MORE;
			rc = parse_size(p, eol, 16, &n);
			if (rc < 0)
				return rc;
			p = eol + 2;
			if (n == 0)
				break;
			if (n > HTTPC_MAX_RESPONSE)
				return ACRA_ERANGE;
			if ((size_t)(end - p) < n + 2)
				return eof ? ACRA_EPROTO : HTTPC_NEED_MORE;
			if (p[n] != '\r' || p[n + 1] != '\n')
				return ACRA_EPROTO;
			total += n;
			p += n + 2;
		}
		/* Trailer section up to the empty line. */
		for (;;) {
			eol = find_crlf(p, end);
			if (!eol)
				return eof ? ACRA_EPROTO : HTTPC_NEED_MORE;
			if (eol == p)
				break;
			p = eol + 2;
		}
		out->body = malloc(total + 1);
		if (!out->body)
			return ACRA_ENOMEM;
		p = body;
		for (;;) {
			size_t n;

			eol = find_crlf(p, end);
			(void)parse_size(p, eol, 16, &n);
			p = eol + 2;
			if (n == 0)
				break;
			memcpy(out->body + out->body_len, p, n);
			out->body_len += n;
			p += n + 2;
		}
		out->body[out->body_len] = '\0';
		out->status = status;
		return copy_location(out, loc, loc_len);
	}
	blen = (size_t)(end - body);
	if (have_clen) {
		if (clen > HTTPC_MAX_RESPONSE)
			return ACRA_ERANGE;
		if (blen < clen)
			return eof ? ACRA_EPROTO : HTTPC_NEED_MORE;
		blen = clen;
	} else if (!eof) {
		return HTTPC_NEED_MORE; /* body ends when the server closes */
	}
	out->body = malloc(blen + 1);
	if (!out->body)
		return ACRA_ENOMEM;
	memcpy(out->body, body, blen);
	out->body[blen] = '\0';
	out->body_len = blen;
	out->status = status;
	return copy_location(out, loc, loc_len);
}

/* ---- transport ------------------------------------------------------------------------ */

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	long long deadline; /* CLOCK_MONOTONIC ms */
	int timeout_ms;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline. Returns 0, or ACRA_EIO with err set. */
static int wait_fd(struct conn *c, short events, char *err, size_t err_len)
{
	for (;;) {
		struct pollfd pfd = { c->fd, events, 0 };
		long long left = c->deadline - now_ms();
		int n;

		if (left <= 0) {
			set_err(err, err_len, "timed out after %d ms", c->timeout_ms);
			return ACRA_EIO;
		}
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return ACRA_OK;
		if (n < 0 && errno != EINTR) {
			set_err(err, err_len, "poll: %s", strerror(errno));
			return ACRA_EIO;
		}
	}
}

static int tcp_connect(struct conn *c, const struct httpc_url *u, char *err, size_t err_len)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, gai, last_errno = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(u->host, u->port, &hints, &res);
	if (gai != 0) {
		set_err(err, err_len, "cannot resolve %s: %s", u->host, gai_strerror(gai));
		return ACRA_EIO;
	}
	rc = ACRA_EIO;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			c->fd = fd;
			rc = ACRA_OK;
			break;
		}
		if (errno != EINPROGRESS) {
			last_errno = errno;
			close(fd);
			continue;
		}
		c->fd = fd;
		if (wait_fd(c, POLLOUT, err, err_len) < 0) {
			close(fd);
			c->fd = -1;
			freeaddrinfo(res);
			set_err(err, err_len, "cannot connect to %s:%s: timed out after %d ms",
				u->host, u->port, c->timeout_ms);
			return ACRA_EIO;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
			rc = ACRA_OK;
			break;
		}
		last_errno = soerr ? soerr : errno;
		close(fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (rc < 0)
		set_err(err, err_len, "cannot connect to %s:%s: %s", u->host, u->port,
			strerror(last_errno ? last_errno : ECONNREFUSED));
	return rc;
}

static void ssl_err(char *err, size_t err_len, const char *what, const struct conn *c)
{
	unsigned long e = ERR_get_error();
	char buf[200];
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;

	if (vr != X509_V_OK) {
		set_err(err, err_len, "%s: certificate verification failed: %s", what,
			X509_verify_cert_error_string(vr));
	} else if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		set_err(err, err_len, "%s: %s", what, buf);
	} else {
		set_err(err, err_len, "%s: connection closed by peer", what);
	}
	ERR_clear_error();
}

static int tls_start(struct conn *c, const struct httpc_url *u, const struct httpc_tls *t,
		     char *err, size_t err_len)
{
	const char *name = (t && t->sni && *t->sni) ? t->sni : u->host;
	unsigned char ipbuf[16];
	bool is_ip = inet_pton(AF_INET, name, ipbuf) == 1 || inet_pton(AF_INET6, name, ipbuf) == 1;

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		ssl_err(err, err_len, "TLS setup", c);
		return ACRA_ENOMEM;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (t && t->ca_file && *t->ca_file) {
		if (SSL_CTX_load_verify_locations(c->ctx, t->ca_file, NULL) != 1) {
			ssl_err(err, err_len, "cannot load CA file", c);
			return ACRA_EINVAL;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		ssl_err(err, err_len, "cannot load system CA store", c);
		return ACRA_EINVAL;
	}
	if (t && t->cert_file && *t->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(c->ctx, t->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c->ctx, t->key_file && *t->key_file ? t->key_file
										: t->cert_file,
						SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c->ctx) != 1) {
			ssl_err(err, err_len, "cannot load client certificate or key", c);
			return ACRA_EINVAL;
		}
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		ssl_err(err, err_len, "TLS setup", c);
		return ACRA_ENOMEM;
	}
	/* SNI carries host names only; the certificate is checked against the name or IP. */
	if (!is_ip)
		SSL_set_tlsext_host_name(c->ssl, name);
	if (is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1) {
			ssl_err(err, err_len, "TLS setup", c);
			return ACRA_EINVAL;
		}
	} else if (SSL_set1_host(c->ssl, name) != 1) {
		ssl_err(err, err_len, "TLS setup", c);
		return ACRA_EINVAL;
	}
	for (;;) {
		int r = SSL_connect(c->ssl), e;

		if (r == 1)
			return ACRA_OK;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			short ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;

			if (wait_fd(c, ev, err, err_len) < 0)
				return ACRA_EIO;
			continue;
		}
		ssl_err(err, err_len, "TLS handshake failed", c);
		return ACRA_EIO;
	}
}

static int conn_write(struct conn *c, const uint8_t *p, size_t n, char *err, size_t err_len)
{
	while (n > 0) {
		ssize_t w;

		if (c->ssl) {
			size_t done = 0;
			int r = SSL_write_ex(c->ssl, p, n, &done), e;

			if (r == 1) {
				p += done;
				n -= done;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, err,
					    err_len) < 0)
					return ACRA_EIO;
				continue;
			}
			ssl_err(err, err_len, "TLS write failed", c);
			return ACRA_EIO;
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (wait_fd(c, POLLOUT, err, err_len) < 0)
				return ACRA_EIO;
		} else {
			set_err(err, err_len, "send failed: %s", strerror(errno));
			return ACRA_EIO;
		}
	}
	return ACRA_OK;
}

/* Reads some bytes; *got = 0 means EOF. */
static int conn_read(struct conn *c, uint8_t *p, size_t n, size_t *got, char *err,
		     size_t err_len)
{
	for (;;) {
		ssize_t r;

		if (c->ssl) {
			int k = SSL_read_ex(c->ssl, p, n, got), e;

			if (k == 1)
				return ACRA_OK;
			e = SSL_get_error(c->ssl, k);
			if (e == SSL_ERROR_ZERO_RETURN) {
				*got = 0;
				return ACRA_OK;
			}
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, err,
					    err_len) < 0)
					return ACRA_EIO;
				continue;
			}
			/* A peer closing without close_notify after a complete, length-delimited
			 * reply is common; the parser decides whether the reply is whole. */
			if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) {
				unsigned long le = ERR_peek_error();
				if (e == SSL_ERROR_SYSCALL && le == 0) {
					*got = 0;
					return ACRA_OK;
				}
				if (ERR_GET_REASON(le) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
					ERR_clear_error();
					*got = 0;
					return ACRA_OK;
				}
			}
			ssl_err(err, err_len, "TLS read failed", c);
			return ACRA_EIO;
		}
		r = recv(c->fd, p, n, 0);
		if (r >= 0) {
			*got = (size_t)r;
			return ACRA_OK;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			if (wait_fd(c, POLLIN, err, err_len) < 0)
				return ACRA_EIO;
			continue;
		}
		set_err(err, err_len, "receive failed: %s", strerror(errno));
		return ACRA_EIO;
	}
}

static bool safe_header_text(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

static int httpc_exchange(const struct httpc_url *u, const struct httpc_tls *tls,
			  int timeout_ms, const struct httpc_request *req,
			  struct httpc_response *resp, char *err, size_t err_len)
{
	struct conn c = { -1, NULL, NULL, 0, 0 };
	uint8_t *out = NULL, *in = NULL;
	size_t out_len = 0, out_cap, in_len = 0, in_cap = 0;
	char clen[32];
	int rc;

	resp->status = 0;
	resp->body = NULL;
	resp->body_len = 0;
	resp->location = NULL;
	if (err && err_len)
		err[0] = '\0';
	if (timeout_ms <= 0)
		timeout_ms = HTTPC_DEFAULT_TIMEOUT_MS;
	c.timeout_ms = timeout_ms;
	c.deadline = now_ms() + timeout_ms;
	if (!safe_header_text(req->method) || !safe_header_text(req->path) || req->path[0] != '/' ||
	    strchr(req->path, ' ') || (req->body_len && !req->body)) {
		set_err(err, err_len, "invalid request");
		return ACRA_EINVAL;
	}
	/* Request head: its size is bounded by the inputs, computed first. */
	out_cap = strlen(req->method) + strlen(u->prefix) + strlen(req->path) +
		  strlen(u->hostport) + 128 + req->body_len;
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!safe_header_text(req->headers[i].name) ||
		    !safe_header_text(req->headers[i].value) || strchr(req->headers[i].name, ':')) {
			set_err(err, err_len, "invalid request header");
			return ACRA_EINVAL;
		}
		out_cap += strlen(req->headers[i].name) + strlen(req->headers[i].value) + 4;
	}
	out = malloc(out_cap);
	if (!out) {
		rc = ACRA_ENOMEM;
		set_err(err, err_len, "out of memory");
		goto out;
	}
#define PUT(s)                                                                          \
	do {                                                                            \
		size_t n_ = strlen(s);                                                  \
		memcpy(out + out_len, (s), n_);                                         \
		out_len += n_;                                                          \
	} while (0)
	PUT(req->method);
	PUT(" ");
	PUT(u->prefix);
	PUT(req->path);
	PUT(" HTTP/1.1\r\nHost: ");
	PUT(u->hostport);
	PUT("\r\nConnection: close\r\n");
	for (size_t i = 0; i < req->n_headers; i++) {
		PUT(req->headers[i].name);
		PUT(": ");
		PUT(req->headers[i].value);
		PUT("\r\n");
	}
	if (req->body_len || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", req->body_len);
		PUT(clen);
	}
	PUT("\r\n");
#undef PUT
	if (req->body_len) {
		memcpy(out + out_len, req->body, req->body_len);
		out_len += req->body_len;
	}

	rc = tcp_connect(&c, u, err, err_len);
	if (rc < 0)
		goto out;
	if (u->https || (tls && tls->enable)) {
		rc = tls_start(&c, u, tls, err, err_len);
		if (rc < 0)
			goto out;
	}
	rc = conn_write(&c, out, out_len, err, err_len);
	if (rc < 0)
		goto out;
	for (;;) {
		size_t got = 0;

		if (in_cap - in_len < 4096) {
			size_t ncap = in_cap ? in_cap * 2 : 16384;
			uint8_t *n;

			if (ncap > HTTPC_MAX_RESPONSE + 4096)
				ncap = HTTPC_MAX_RESPONSE + 4096;
			if (ncap <= in_len) {
				rc = ACRA_ERANGE;
				set_err(err, err_len, "response larger than %d bytes",
					HTTPC_MAX_RESPONSE);
				goto out;
			}
			/* Grow by copy so that the old buffer can be wiped. */
			n = malloc(ncap);
			if (!n) {
				rc = ACRA_ENOMEM;
				set_err(err, err_len, "out of memory");
				goto out;
			}
			if (in) {
				memcpy(n, in, in_len);
				secmem_wipe(in, in_cap);
				free(in);
			}
			in = n;
			in_cap = ncap;
		}
		rc = conn_read(&c, in + in_len, in_cap - in_len, &got, err, err_len);
		if (rc < 0)
			goto out;
		in_len += got;
		rc = httpc_parse_response(in, in_len, got == 0, resp);
		if (rc == ACRA_OK)
			break;
		if (rc == HTTPC_NEED_MORE && got > 0)
			continue;
		if (rc == ACRA_ERANGE)
			set_err(err, err_len, "response larger than %d bytes", HTTPC_MAX_RESPONSE);
		else if (rc == ACRA_ENOMEM)
			set_err(err, err_len, "out of memory");
		else if (in_len == 0)
			set_err(err, err_len, "connection closed without a response");
		else
			set_err(err, err_len, "malformed HTTP response");
		if (rc == HTTPC_NEED_MORE)
			rc = ACRA_EPROTO;
		goto out;
	}
out:
	if (c.ssl) {
		SSL_free(c.ssl);
	}
	if (c.ctx)
		SSL_CTX_free(c.ctx);
	if (c.fd >= 0)
		close(c.fd);
	if (out) {
		secmem_wipe(out, out_cap);
		free(out);
	}
	if (in) {
		secmem_wipe(in, in_cap);
		free(in);
	}
	if (rc < 0)
		httpc_response_clear(resp);
	return rc;
}

/* OpenSSL writes to the socket with write(2), which raises SIGPIPE when the peer has
 * gone; a library must not kill its caller for that. SIGPIPE is blocked in this thread for
 * the duration of the request and any instance it raised is consumed before unblocking. */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

int httpc_do(const struct httpc_url *u, const struct httpc_tls *tls, int timeout_ms,
	     const struct httpc_request *req, struct httpc_response *resp, char *err,
	     size_t err_len)
{
	struct sigpipe_guard guard;
	int rc;

	sigpipe_block(&guard);
	rc = httpc_exchange(u, tls, timeout_ms, req, resp, err, err_len);
	sigpipe_restore(&guard);
	return rc;
}
