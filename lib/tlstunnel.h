/* lib/tlstunnel.h: TLS for clients of libraries that speak only plain TCP (hiredis 0.14, the
 * Redis client Debian ships, has no TLS). The tunnel listens on a private unix socket (in a
 * fresh 0700 directory) and carries every connection made to it to host:port over TLS with
 * OpenSSL, verifying the server as lib/tls.h client contexts do. One thread accepts; each
 * connection gets a thread that pumps bytes both ways until either side closes.
 *
 * tls_tunnel_start() makes one TLS handshake with the server before it returns, so a wrong
 * CA, a name mismatch or an unreachable server is a clear start-up error instead of a
 * connection closed later. */
#ifndef ACRA_LIB_TLSTUNNEL_H
#define ACRA_LIB_TLSTUNNEL_H

#include <stddef.h>

#include "lib/err.h"

struct tls_tunnel;
struct ssl_ctx_st;

/* Start a tunnel to host:port. ctx (borrowed, must outlive the tunnel) is a client context
 * (tls_client_ctx_new); server_name is checked against the certificate (NULL: host).
 * timeout_ms bounds connects and handshakes. Returns 0, ACRA_EIO (message in err: cannot
 * connect, handshake failed and why), ACRA_ENOMEM. */
int tls_tunnel_start(struct tls_tunnel **out, struct ssl_ctx_st *ctx, const char *host, int port,
		     const char *server_name, long timeout_ms, char *err,
		     size_t err_len) ACRA_MUSTCHECK;
/* The unix socket path clients connect to. */
const char *tls_tunnel_path(const struct tls_tunnel *t);
/* Stop accepting, remove the socket; running connections end when their peers close. */
void tls_tunnel_stop(struct tls_tunnel *t);

#endif
