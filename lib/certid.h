/* lib/certid.h: Acra's client id from a TLS client certificate (spec/acra-runtime.md §2.6,
 * acra network/tls_authentication.go): the identifier is the subject distinguished name as
 * Go's pkix.Name.String() renders it, or the serial number's minimal big-endian bytes; the
 * client id is the lowercase hex of SHA-512(identifier). Pure: no I/O. */
#ifndef ACRA_LIB_CERTID_H
#define ACRA_LIB_CERTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "lib/err.h"
#include "lib/tokenize.h"

enum certid_kind {
	CERTID_DISTINGUISHED_NAME, /* --tls_identifier_extractor_type=distinguished_name */
	CERTID_SERIAL_NUMBER,      /* --tls_identifier_extractor_type=serial_number */
};

/* Render name as Go's pkix.Name.String(): attributes other than the nine Go names
 * (C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER) at the end as OID=#hex(DER),
 * then the named ones most specific first (SERIALNUMBER, CN, OU, O, POSTALCODE, STREET, L,
 * ST, C; several values of one type joined with '+', only the last CN and SERIALNUMBER);
 * RFC 2253 escaping. Writes a NUL-terminated string to out. Returns 0, ACRA_ERANGE (out too
 * small), ACRA_EPROTO (undecodable value) or ACRA_ENOMEM. */
int certid_render_dn(const X509_NAME *name, char *out, size_t out_len) ACRA_MUSTCHECK;

/* Whether Acra accepts cert as a client certificate: not a CA; if it has key usage, then
 * digitalSignature; if it has extended key usage, then clientAuth. */
bool certid_cert_usable(X509 *cert);

/* Client id of cert (CERT_CLIENT_ID_LEN hex chars + NUL). 0, ACRA_EPERM (not usable as a
 * client certificate), or an error of certid_render_dn. */
int certid_client_id(X509 *cert, enum certid_kind kind,
		     char out[CERT_CLIENT_ID_LEN + 1]) ACRA_MUSTCHECK;

#endif
