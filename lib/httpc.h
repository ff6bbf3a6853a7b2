/* lib/httpc.h: a small blocking HTTP/1.1 client over TCP or TLS (OpenSSL), for start-up
 * requests to key services (HashiCorp Vault, AWS KMS). One request per connection
 * (Connection: close), one deadline for connect, send and receive together.
 * Request and response buffers are wiped before they are freed: they carry tokens, keys
 * and signatures. */
#ifndef ACRA_LIB_HTTPC_H
#define ACRA_LIB_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define HTTPC_MAX_RESPONSE (1024 * 1024) /* status line, headers and body together */
#define HTTPC_DEFAULT_TIMEOUT_MS 5000
#define HTTPC_NEED_MORE 1 /* httpc_parse_response(): incomplete, read more */

/* A parsed base URL: scheme://host[:port][/prefix]. */
struct httpc_url {
	bool https;
	char host[256]; /* without brackets for IPv6 literals */
	char port[8];
	char prefix[256]; /* path prefix without trailing '/', "" if none */
	char hostport[272]; /* Host header value: host, with :port unless the scheme default */
};

/* TLS settings; all strings borrowed. Used when the URL is https or `enable` is set. */
struct httpc_tls {
	bool enable;
	const char *ca_file;   /* PEM bundle of trusted CAs; NULL or "" = system store */
	const char *cert_file; /* client certificate (PEM), optional */
	const char *key_file;  /* its private key (PEM), optional */
	const char *sni;       /* SNI and name checked in the certificate; NULL = URL host */
};

/* One extra request header; Host, Content-Length and Connection are added by httpc. */
struct httpc_header {
	const char *name;
	const char *value;
};

struct httpc_request {
	const char *method; /* "GET", "POST" */
	const char *path;   /* absolute path after the URL prefix: "/v1/sys/..." */
	const struct httpc_header *headers;
	size_t n_headers;
	const uint8_t *body;
	size_t body_len;
};

/* A response. body is owned (NUL-terminated, body_len excludes the NUL); location is the
 * Location header (owned, NULL if absent). Release with httpc_response_clear(), which
 * wipes the body. */
struct httpc_response {
	int status;
	uint8_t *body;
	size_t body_len;
	char *location;
};

/* Parse "http://host:port/prefix" or "https://...". Returns 0 or ACRA_EINVAL. */
int httpc_url_parse(const char *url, struct httpc_url *out) ACRA_MUSTCHECK;

/* Send req to u and read the whole response within timeout_ms (<= 0: the default).
 * On failure err (if not NULL) receives a one-line reason without secrets, e.g.
 * "cannot connect to 127.0.0.1:8200: Connection refused" or "timed out after 5000 ms".
 * Returns 0 (any HTTP status), ACRA_EIO (network, TLS), ACRA_EPROTO (not HTTP),
 * ACRA_ERANGE (response too large), ACRA_EINVAL, ACRA_ENOMEM. */
int httpc_do(const struct httpc_url *u, const struct httpc_tls *tls, int timeout_ms,
	     const struct httpc_request *req, struct httpc_response *resp, char *err,
	     size_t err_len) ACRA_MUSTCHECK;

/* Pure parser of a whole response held in buf[0..len). eof says the peer closed the
 * connection (a body without length then ends there). Fills *out (body copied, owned) and
 * returns 0, HTTPC_NEED_MORE, ACRA_EPROTO, ACRA_ERANGE or ACRA_ENOMEM. */
int httpc_parse_response(const uint8_t *buf, size_t len, bool eof, struct httpc_response *out)
	ACRA_MUSTCHECK;

/* Wipes and frees the body; a second call is a no-op. */
void httpc_response_clear(struct httpc_response *r);

#endif
