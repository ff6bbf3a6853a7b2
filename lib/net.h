/* lib/net.h: Acra connection strings and socket helpers.
 *
 * Connection strings (spec/acra-runtime.md §2.1): `tcp://host:port[/]`, `unix:///abs/path`,
 * and `http://host:port[/]`, `grpc://host:port[/]` (the scheme is recorded; the socket is TCP).
 * IPv6 hosts are written in brackets: `tcp://[::1]:9393/`. Parsing does no I/O and no name
 * resolution; net_resolve() resolves a host name (blocking, start-up or off-loop only). */
#ifndef ACRA_LIB_NET_H
#define ACRA_LIB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lib/err.h"

enum net_scheme { NET_TCP, NET_UNIX, NET_HTTP, NET_GRPC };

#define NET_HOST_MAX 256

/* A parsed connection string. Plain value, no owned memory. */
struct net_addr {
	enum net_scheme scheme;
	char host[NET_HOST_MAX]; /* TCP-like schemes: host without brackets */
	unsigned port;           /* TCP-like schemes: 1..65535 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* NET_UNIX: absolute path */
};

/* Parse connection string s into *out. On error returns ACRA_EINVAL and writes a message
 * naming the problem into err (err_len bytes, may be 0). Never does I/O. */
int net_parse(const char *s, struct net_addr *out, char *err, size_t err_len) ACRA_MUSTCHECK;

/* Whether the scheme uses a TCP socket (everything but unix://). */
bool net_is_tcp(const struct net_addr *a);

/* Format a as a connection string ("tcp://[::1]:9393/", "unix:///run/acra.sock") into buf. */
void net_format(const struct net_addr *a, char *buf, size_t len);

/* Resolve a TCP-like address to the first usable sockaddr (getaddrinfo, may block: call at
 * start-up or off the event loop). Numeric hosts never touch DNS. For NET_UNIX fills a
 * sockaddr_un. Returns 0, ACRA_EINVAL (name does not resolve; message in err). */
int net_resolve(const struct net_addr *a, struct sockaddr_storage *ss, socklen_t *ss_len,
		char *err, size_t err_len) ACRA_MUSTCHECK;

/* Whether host is a numeric IPv4/IPv6 address; if so and ss is not NULL, fills ss/ss_len
 * with host:port. Pure. */
bool net_numeric_host(const char *host, unsigned port, struct sockaddr_storage *ss,
		      socklen_t *ss_len);

/* Bind and listen on a (resolving its host). TCP: SO_REUSEADDR, and SO_REUSEPORT when
 * reuseport is true (one listener per worker). Unix: a stale socket file left by a previous
 * run is unlinked first (only if it is a socket nobody listens on). The socket is
 * non-blocking and close-on-exec. *fd returns the listening socket (owned by the caller).
 * Returns 0 or ACRA_EINVAL/ACRA_EIO with a message in err ("address already in use"...). */
int net_listen(const struct net_addr *a, bool reuseport, int backlog, int *fd, char *err,
	       size_t err_len) ACRA_MUSTCHECK;

/* Whether a TCP-like address can be bound by a socket without SO_REUSEPORT: a port held by
 * any other listener, including another process's SO_REUSEPORT group, is refused with
 * "address already in use" in err. Binds and closes at once; never listens. */
int net_check_free(const struct net_addr *a, char *err, size_t err_len) ACRA_MUSTCHECK;

/* Start a non-blocking connect to sa. *fd returns the socket (owned by the caller), connected
 * or connecting (wait for writability, then check SO_ERROR). TCP sockets get TCP_NODELAY.
 * Returns 0 or ACRA_EIO (errno set). */
int net_connect_start(const struct sockaddr *sa, socklen_t sa_len, int *fd) ACRA_MUSTCHECK;

/* Set TCP_NODELAY on a TCP socket; no-op for other families. */
void net_set_nodelay(int fd);

/* Text "host:port" (or the unix path) of a peer address, for logs. */
void net_peer_text(const struct sockaddr *sa, socklen_t sa_len, char *buf, size_t len);

#endif
