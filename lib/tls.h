/* lib/tls.h: OpenSSL 3 contexts built from Acra's tls_* flags (spec/acra-runtime.md §1.4,
 * §2.9) and the client id Acra derives from a peer certificate (§2.6).
 *
 * Server contexts (toward applications or connectors) present tls_cert/tls_key and ask for
 * client certificates as Go's tls.ClientAuthType does (tls_auth 0..4):
 *   0 NoClientCert                 no certificate requested
 *   1 RequestClientCert            requested, not required, not verified
 *   2 RequireAnyClientCert         required, not verified
 *   3 VerifyClientCertIfGiven      requested; verified if given
 *   4 RequireAndVerifyClientCert   required and verified (Acra's default)
 * Verification trusts the system roots plus tls_ca. Client contexts (toward the database or
 * acra server) verify the peer against the same pool and check its name (SNI): a
 * certificate that does not match is refused.
 *
 * Contexts are created once and shared read-only by every worker thread. */
#ifndef ACRA_LIB_TLS_H
#define ACRA_LIB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/err.h"

#define TLS_CLIENT_ID_LEN 128 /* lowercase hex of SHA-512 */

enum tls_auth {
	TLS_AUTH_NONE = 0,
	TLS_AUTH_REQUEST = 1,
	TLS_AUTH_REQUIRE_ANY = 2,
	TLS_AUTH_VERIFY_IF_GIVEN = 3,
	TLS_AUTH_REQUIRE_AND_VERIFY = 4,
};

/* How a client id is derived from a certificate (--tls_identifier_extractor_type). */
enum tls_id_extractor {
	TLS_ID_DISTINGUISHED_NAME = 0,
	TLS_ID_SERIAL_NUMBER = 1,
};

/* Paths for one side; NULL or "" = not set. */
struct tls_files {
	const char *key, *cert, *ca;
	int auth; /* enum tls_auth (server contexts) */
};

/* New server context. cert and key are required. Returns 0, or ACRA_EINVAL / ACRA_EIO with
 * a message naming the file in err. *out returns owned (SSL_CTX_free). */
int tls_server_ctx_new(SSL_CTX **out, const struct tls_files *f, char *err,
		       size_t err_len) ACRA_MUSTCHECK;
/* New client context: presents cert/key if both set; verifies the server. */
int tls_client_ctx_new(SSL_CTX **out, const struct tls_files *f, char *err,
		       size_t err_len) ACRA_MUSTCHECK;

/* New connection object for a client context that checks the server's name: a host name is
 * sent as SNI and matched against the certificate's DNS names, an IP address against its IP
 * names (no SNI, as Go does). *out returns owned (SSL_free). */
int tls_client_ssl_new(SSL_CTX *ctx, const char *server_name, SSL **out) ACRA_MUSTCHECK;

/* Render a subject as Go's pkix.Name.String() does (RFC 2253 style, most specific first,
 * e.g. "CN=client,O=Org,C=GB"). Returns 0, ACRA_ERANGE (buf too small) or ACRA_EPROTO. */
int tls_dn_string(const X509_NAME *name, char *buf, size_t len) ACRA_MUSTCHECK;

/* Client id of a peer certificate (§2.6): lowercase hex SHA-512 of the subject DN string or
 * of the serial number's minimal big-endian bytes; out gets TLS_CLIENT_ID_LEN + 1 bytes.
 * CA certificates, and certificates whose key usage lacks digitalSignature or whose extended
 * key usage lacks clientAuth, are refused with ACRA_EPERM (absent extensions are accepted).
 * why (may be NULL) gets a static reason on failure. */
int tls_cert_client_id(X509 *cert, enum tls_id_extractor ex, char out[TLS_CLIENT_ID_LEN + 1],
		       const char **why) ACRA_MUSTCHECK;

/* Text of the last OpenSSL error on this thread (and clears the queue), for logs. */
const char *tls_last_error(char *buf, size_t len);

#endif
