/* lib/net.c: connection strings (spec/acra-runtime.md §2.1) and socket helpers. */
#include "lib/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err_len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return ACRA_EINVAL;
}

static const struct {
	const char *prefix;
	enum net_scheme scheme;
} schemes[] = {
	{ "tcp://", NET_TCP },
	{ "unix://", NET_UNIX },
	{ "http://", NET_HTTP },
	{ "grpc://", NET_GRPC },
};

static const char *scheme_name(enum net_scheme s)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (schemes[i].scheme == s)
			return schemes[i].prefix;
	return "tcp://";
}

/* Host names: letters, digits, '-', '.', '_' (Docker service names); IPv4 fits too. */
static bool host_chars_ok(const char *h, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

static int parse_port(const char *p, size_t n, unsigned *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return ACRA_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return ACRA_EINVAL;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return ACRA_EINVAL;
	*port = v;
	return ACRA_OK;
}

int net_parse(const char *s, struct net_addr *out, char *err, size_t err_len)
{
	const char *rest = NULL, *host, *colon, *end;
	size_t host_len, n;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return fail(err, err_len, "empty connection string");
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i].prefix);
		if (strncmp(s, schemes[i].prefix, n) == 0) {
			out->scheme = schemes[i].scheme;
			rest = s + n;
			break;
		}
	}
	if (rest == NULL)
		return fail(err, err_len,
			    "connection string \"%.128s\": unsupported scheme (expected tcp://host:port/"
			    " or unix:///path)", s);
	if (out->scheme == NET_UNIX) {
		n = strlen(rest);
		if (n < 2 || rest[0] != '/')
			return fail(err, err_len,
				    "connection string \"%.128s\": unix socket path must be absolute "
				    "(unix:///path)", s);
		if (n >= sizeof(out->path))
			return fail(err, err_len,
				    "connection string \"%.128s\": unix socket path longer than %zu "
				    "bytes", s, sizeof(out->path) - 1);
		memcpy(out->path, rest, n + 1);
		return ACRA_OK;
	}
	end = rest + strlen(rest);
	if (end > rest && end[-1] == '/')
		end--; /* trailing slash is optional */
	if (rest[0] == '[') {
		const char *rb = memchr(rest, ']', (size_t)(end - rest));
		struct in6_addr a6;

		if (rb == NULL || rb + 1 >= end || rb[1] != ':')
			return fail(err, err_len,
				    "connection string \"%.128s\": expected [ipv6]:port", s);
		host = rest + 1;
		host_len = (size_t)(rb - host);
		colon = rb + 1;
		if (host_len == 0 || host_len >= sizeof(out->host))
			return fail(err, err_len, "connection string \"%.128s\": bad IPv6 address",
				    s);
		memcpy(out->host, host, host_len);
		out->host[host_len] = '\0';
		if (inet_pton(AF_INET6, out->host, &a6) != 1)
			return fail(err, err_len, "connection string \"%.128s\": bad IPv6 address",
				    s);
	} else {
		colon = NULL;
		for (const char *c = rest; c < end; c++)
			if (*c == ':')
				colon = c;
		if (colon == NULL)
			return fail(err, err_len,
				    "connection string \"%.128s\": expected host:port", s);
		host = rest;
		host_len = (size_t)(colon - rest);
		if (host_len >= sizeof(out->host) || !host_chars_ok(host, host_len))
			return fail(err, err_len,
				    "connection string \"%.128s\": bad host name (IPv6 needs "
				    "brackets: [::1]:port)", s);
		memcpy(out->host, host, host_len);
		out->host[host_len] = '\0';
	}
	if (parse_port(colon + 1, (size_t)(end - colon - 1), &out->port) != ACRA_OK)
		return fail(err, err_len,
			    "connection string \"%.128s\": port must be a number from 1 to 65535", s);
	return ACRA_OK;
}

bool net_is_tcp(const struct net_addr *a)
{
	return a->scheme != NET_UNIX;
}

void net_format(const struct net_addr *a, char *buf, size_t len)
{
	if (a->scheme == NET_UNIX)
		snprintf(buf, len, "unix://%s", a->path);
	else if (strchr(a->host, ':') != NULL)
		snprintf(buf, len, "%s[%s]:%u/", scheme_name(a->scheme), a->host, a->port);
	else
		snprintf(buf, len, "%s%s:%u/", scheme_name(a->scheme), a->host, a->port);
}

bool net_numeric_host(const char *host, unsigned port, struct sockaddr_storage *ss,
		      socklen_t *ss_len)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		if (ss != NULL) {
			memset(ss, 0, sizeof(*ss));
			memcpy(ss, &sin, sizeof(sin));
			*ss_len = sizeof(sin);
		}
		return true;
	}
	if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		if (ss != NULL) {
			memset(ss, 0, sizeof(*ss));
			memcpy(ss, &sin6, sizeof(sin6));
			*ss_len = sizeof(sin6);
		}
		return true;
	}
	return false;
}

int net_resolve(const struct net_addr *a, struct sockaddr_storage *ss, socklen_t *ss_len,
		char *err, size_t err_len)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int r;

	memset(ss, 0, sizeof(*ss));
	if (a->scheme == NET_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;

		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, a->path, strlen(a->path) + 1);
		*ss_len = (socklen_t)sizeof(*sun);
		return ACRA_OK;
	}
	if (net_numeric_host(a->host, a->port, ss, ss_len))
		return ACRA_OK;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%u", a->port);
	r = getaddrinfo(a->host, port, &hints, &res);
	if (r != 0 || res == NULL)
		return fail(err, err_len, "cannot resolve host \"%s\": %s", a->host,
			    r != 0 ? gai_strerror(r) : "no address");
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*ss_len = res->ai_addrlen;
	freeaddrinfo(res);
	return ACRA_OK;
}

/* Remove a unix socket file left by a previous run: only a socket that refuses connections. */
static int unlink_stale(const char *path, char *err, size_t err_len)
{
	struct stat st;
	struct sockaddr_un sun;
	int fd, r;

	if (lstat(path, &st) != 0)
		return ACRA_OK;
	if (!S_ISSOCK(st.st_mode))
		return fail(err, err_len, "cannot listen on unix://%s: file exists and is not a socket",
			    path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, err_len, "socket: %s", strerror(errno));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0)
		return fail(err, err_len, "cannot listen on unix://%s: another process listens there",
			    path);
	if (unlink(path) != 0 && errno != ENOENT)
		return fail(err, err_len, "cannot remove stale socket %s: %s", path, strerror(errno));
	return ACRA_OK;
}

int net_listen(const struct net_addr *a, bool reuseport, int backlog, int *fd, char *err,
	       size_t err_len)
{
	struct sockaddr_storage ss;
	socklen_t ss_len = 0;
	char name[NET_HOST_MAX + 80];
	int s, one = 1, rc;

	*fd = -1;
	net_format(a, name, sizeof(name));
	rc = net_resolve(a, &ss, &ss_len, err, err_len);
	if (rc != ACRA_OK)
		return rc;
	if (a->scheme == NET_UNIX) {
		rc = unlink_stale(a->path, err, err_len);
		if (rc != ACRA_OK)
			return rc;
	}
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fail(err, err_len, "cannot listen on %s: socket: %s", name, strerror(errno));
		return ACRA_EIO;
	}
	if (ss.ss_family != AF_UNIX) {
		if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    (reuseport && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)) {
			fail(err, err_len, "cannot listen on %s: setsockopt: %s", name,
			     strerror(errno));
			close(s);
			return ACRA_EIO;
		}
	}
	if (bind(s, (struct sockaddr *)&ss, ss_len) != 0 || listen(s, backlog) != 0) {
		fail(err, err_len, "cannot listen on %s: %s", name, strerror(errno));
		close(s);
		return ACRA_EIO;
	}
	*fd = s;
	return ACRA_OK;
}

int net_check_free(const struct net_addr *a, char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	socklen_t ss_len = 0;
	char name[NET_HOST_MAX + 80];
	int s, one = 1, rc;

	if (a->scheme == NET_UNIX)
		return ACRA_OK;
	rc = net_resolve(a, &ss, &ss_len, err, err_len);
	if (rc != ACRA_OK)
		return rc;
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fail(err, err_len, "socket: %s", strerror(errno));
		return ACRA_EIO;
	}
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, ss_len) != 0) {
		net_format(a, name, sizeof(name));
		fail(err, err_len, "cannot listen on %s: %s", name, strerror(errno));
		close(s);
		return ACRA_EIO;
	}
	close(s);
	return ACRA_OK;
}

void net_set_nodelay(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int net_connect_start(const struct sockaddr *sa, socklen_t sa_len, int *fd)
{
	int s, one = 1;

	*fd = -1;
	s = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ACRA_EIO;
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, sa, sa_len) != 0 && errno != EINPROGRESS) {
		int e = errno;

		close(s);
		errno = e;
		return ACRA_EIO;
	}
	*fd = s;
	return ACRA_OK;
}

void net_peer_text(const struct sockaddr *sa, socklen_t sa_len, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (sa == NULL || sa_len == 0)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(buf, len, "unix");
	}
}
