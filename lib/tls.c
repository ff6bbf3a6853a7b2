/* lib/tls.c: OpenSSL contexts from Acra's TLS flags; client id from a certificate. */
#include "lib/tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

static bool set(const char *s)
{
	return s != NULL && *s != '\0';
}

const char *tls_last_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int fail(char *err, size_t err_len, int rc, const char *what, const char *path)
{
	char e[256];

	snprintf(err, err_len, "%s %s: %s", what, path != NULL ? path : "",
		 tls_last_error(e, sizeof(e)));
	return rc;
}

/* System roots plus the CA file. */
static int load_roots(SSL_CTX *ctx, const char *ca, char *err, size_t err_len)
{
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		ERR_clear_error(); /* no system store: tls_ca alone */
	if (set(ca) && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return fail(err, err_len, ACRA_EIO, "cannot load CA certificates from", ca);
	return ACRA_OK;
}

static int load_pair(SSL_CTX *ctx, const struct tls_files *f, char *err, size_t err_len)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1)
		return fail(err, err_len, ACRA_EIO, "cannot load certificate", f->cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1)
		return fail(err, err_len, ACRA_EIO, "cannot load private key", f->key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return fail(err, err_len, ACRA_EINVAL, "private key does not match certificate",
			    f->cert);
	return ACRA_OK;
}

/* Go's RequestClientCert / RequireAnyClientCert: take whatever certificate comes. */
static int accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

static SSL_CTX *ctx_base(const SSL_METHOD *m)
{
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	return ctx;
}

int tls_server_ctx_new(SSL_CTX **out, const struct tls_files *f, char *err, size_t err_len)
{
	SSL_CTX *ctx;
	int rc;

	*out = NULL;
	if (!set(f->cert) || !set(f->key)) {
		snprintf(err, err_len, "TLS needs a certificate and a key (tls_cert, tls_key)");
		return ACRA_EINVAL;
	}
	if (f->auth < TLS_AUTH_NONE || f->auth > TLS_AUTH_REQUIRE_AND_VERIFY) {
		snprintf(err, err_len, "tls_auth %d is not 0..4", f->auth);
		return ACRA_EINVAL;
	}
	ctx = ctx_base(TLS_server_method());
	if (ctx == NULL)
		return fail(err, err_len, ACRA_ENOMEM, "cannot create TLS context", NULL);
	rc = load_pair(ctx, f, err, err_len);
	if (rc == ACRA_OK)
		rc = load_roots(ctx, f->ca, err, err_len);
	if (rc != ACRA_OK) {
		SSL_CTX_free(ctx);
		return rc;
	}
	switch (f->auth) {
	case TLS_AUTH_NONE:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		break;
	case TLS_AUTH_REQUEST:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
		break;
	case TLS_AUTH_REQUIRE_ANY:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   accept_any);
		break;
	case TLS_AUTH_VERIFY_IF_GIVEN:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		break;
	default:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		break;
	}
	if (set(f->ca)) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(f->ca);

		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		ERR_clear_error();
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	*out = ctx;
	return ACRA_OK;
}

int tls_client_ctx_new(SSL_CTX **out, const struct tls_files *f, char *err, size_t err_len)
{
	SSL_CTX *ctx;
	int rc = ACRA_OK;

	*out = NULL;
	ctx = ctx_base(TLS_client_method());
	if (ctx == NULL)
		return fail(err, err_len, ACRA_ENOMEM, "cannot create TLS context", NULL);
	if (set(f->cert) && set(f->key))
		rc = load_pair(ctx, f, err, err_len);
	if (rc == ACRA_OK)
		rc = load_roots(ctx, f->ca, err, err_len);
	if (rc != ACRA_OK) {
		SSL_CTX_free(ctx);
		return rc;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*out = ctx;
	return ACRA_OK;
}

int tls_client_ssl_new(SSL_CTX *ctx, const char *server_name, SSL **out)
{
	unsigned char addr[16];
	SSL *ssl = SSL_new(ctx);
	bool is_ip;

	*out = NULL;
	if (ssl == NULL)
		return ACRA_ENOMEM;
	if (set(server_name)) {
		is_ip = inet_pton(AF_INET, server_name, addr) == 1 ||
			inet_pton(AF_INET6, server_name, addr) == 1;
		if (is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name) != 1)
				goto bad;
		} else {
			if (SSL_set_tlsext_host_name(ssl, server_name) != 1 ||
			    SSL_set1_host(ssl, server_name) != 1)
				goto bad;
		}
	}
	*out = ssl;
	return ACRA_OK;
bad:
	SSL_free(ssl);
	ERR_clear_error();
	return ACRA_EINVAL;
}

/* ---- Go's pkix.Name.String() ---------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool over;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->over || n >= b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* The attributes pkix.Name parses into named fields, in ToRDNSequence() order, with the
 * short names of Go's attributeTypeNames. */
static const struct {
	int nid;
	const char *name;
} go_fields[] = {
	{ NID_countryName, "C" },
	{ NID_stateOrProvinceName, "ST" },
	{ NID_localityName, "L" },
	{ NID_streetAddress, "STREET" },
	{ NID_postalCode, "POSTALCODE" },
	{ NID_organizationName, "O" },
	{ NID_organizationalUnitName, "OU" },
	{ NID_commonName, "CN" },
	{ NID_serialNumber, "SERIALNUMBER" },
};
#define N_GO_FIELDS (sizeof(go_fields) / sizeof(go_fields[0]))

static int go_field(int nid)
{
	for (size_t i = 0; i < N_GO_FIELDS; i++)
		if (go_fields[i].nid == nid)
			return (int)i;
	return -1;
}

/* Value text as Go's RDNSequence.String() escapes it. */
static void put_escaped(struct sbuf *b, const unsigned char *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char c = (char)v[k];
		bool esc = false;

		switch (c) {
		case ',': case '+': case '"': case '\\': case '<': case '>': case ';':
			esc = true;
			break;
		case ' ':
			esc = k == 0 || k == n - 1;
			break;
		case '#':
			esc = k == 0;
			break;
		default:
			break;
		}
		if (esc)
			sb_put(b, "\\", 1);
		sb_put(b, &c, 1);
	}
}

/* Go parses these ASN.1 string types into a Go string (others are not strings). */
static bool is_string_type(int t)
{
	return t == V_ASN1_PRINTABLESTRING || t == V_ASN1_UTF8STRING || t == V_ASN1_IA5STRING ||
	       t == V_ASN1_T61STRING || t == V_ASN1_BMPSTRING || t == V_ASN1_NUMERICSTRING;
}

/* Value as UTF-8 (Go decodes BMPString and T61 into Go strings). Returns length or -1. */
static int value_utf8(const ASN1_STRING *s, unsigned char **out)
{
	int t = ASN1_STRING_type(s);

	if (t == V_ASN1_PRINTABLESTRING || t == V_ASN1_UTF8STRING || t == V_ASN1_IA5STRING ||
	    t == V_ASN1_NUMERICSTRING) {
		int n = ASN1_STRING_length(s);

		*out = OPENSSL_malloc((size_t)n + 1);
		if (*out == NULL)
			return -1;
		memcpy(*out, ASN1_STRING_get0_data(s), (size_t)n);
		return n;
	}
	return ASN1_STRING_to_UTF8(out, s);
}

/* Go's asn1.Marshal(string): PrintableString when every byte is printable (asterisk
 * allowed, ampersand not), else UTF8String; rendered "#" + hex of the DER. */
static void put_der_hex(struct sbuf *b, const unsigned char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char hdr[6];
	size_t h = 0;
	bool printable = true;
	char two[2];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(" '()+,-./:=?*", c) != NULL) || c == '\0')
			printable = false;
	}
	hdr[h++] = printable ? 0x13 : 0x0c;
	if (n < 128) {
		hdr[h++] = (unsigned char)n;
	} else if (n < 256) {
		hdr[h++] = 0x81;
		hdr[h++] = (unsigned char)n;
	} else {
		hdr[h++] = 0x82;
		hdr[h++] = (unsigned char)(n >> 8);
		hdr[h++] = (unsigned char)n;
	}
	sb_put(b, "#", 1);
	for (size_t i = 0; i < h + n; i++) {
		unsigned char c = i < h ? hdr[i] : v[i - h];

		two[0] = hex[c >> 4];
		two[1] = hex[c & 15];
		sb_put(b, two, 2);
	}
}

int tls_dn_string(const X509_NAME *name, char *buf, size_t len)
{
	struct sbuf b = { buf, 0, len, false };
	int count = X509_NAME_entry_count(name);
	bool first = true;

	if (len == 0)
		return ACRA_ERANGE;
	buf[0] = '\0';
	/* Standard fields, most specific first: SERIALNUMBER, CN, OU, O, ... C. Values of one
	 * field form one multi-valued RDN in certificate order, joined by '+'. */
	for (int f = (int)N_GO_FIELDS - 1; f >= 0; f--) {
		bool in_rdn = false;

		for (int i = 0; i < count; i++) {
			const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
			const ASN1_STRING *d = X509_NAME_ENTRY_get_data(e);
			unsigned char *u = NULL;
			int n;

			if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != go_fields[f].nid ||
			    !is_string_type(ASN1_STRING_type(d)))
				continue;
			n = value_utf8(d, &u);
			if (n < 0)
				return ACRA_EPROTO;
			if (!first || in_rdn)
				sb_put(&b, in_rdn ? "+" : ",", 1);
			first = false;
			in_rdn = true;
			sb_str(&b, go_fields[f].name);
			sb_put(&b, "=", 1);
			put_escaped(&b, u, (size_t)n);
			OPENSSL_free(u);
		}
	}
	/* Other attributes come last, in reverse certificate order, as OID=#DER. */
	for (int i = count - 1; i >= 0; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
		const ASN1_STRING *d = X509_NAME_ENTRY_get_data(e);
		char oid[128];
		unsigned char *u = NULL;
		int n;

		if (go_field(OBJ_obj2nid(o)) >= 0)
			continue;
		if (OBJ_obj2txt(oid, sizeof(oid), o, 1) <= 0)
			return ACRA_EPROTO;
		if (!first)
			sb_put(&b, ",", 1);
		first = false;
		sb_str(&b, oid);
		sb_put(&b, "=", 1);
		if (!is_string_type(ASN1_STRING_type(d))) {
			return ACRA_EPROTO;
		}
		n = value_utf8(d, &u);
		if (n < 0)
			return ACRA_EPROTO;
		put_der_hex(&b, u, (size_t)n);
		OPENSSL_free(u);
	}
	return b.over ? ACRA_ERANGE : ACRA_OK;
}

static int sha512_hex(const unsigned char *p, size_t n, char out[TLS_CLIENT_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[64];
	unsigned int md_len = 0;

	if (EVP_Digest(p, n, md, &md_len, EVP_sha512(), NULL) != 1 || md_len != 64)
		return ACRA_ECRYPTO;
	for (unsigned i = 0; i < 64; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[TLS_CLIENT_ID_LEN] = '\0';
	return ACRA_OK;
}

int tls_cert_client_id(X509 *cert, enum tls_id_extractor ex, char out[TLS_CLIENT_ID_LEN + 1],
		       const char **why)
{
	uint32_t ku, xku;
	const char *dummy;
	int rc;

	if (why == NULL)
		why = &dummy;
	out[0] = '\0';
	if (cert == NULL) {
		*why = "no client certificate";
		return ACRA_EPERM;
	}
	if ((X509_get_extension_flags(cert) & EXFLAG_BCONS) &&
	    (X509_get_extension_flags(cert) & EXFLAG_CA)) { /* basicConstraints cA */
		*why = "client certificate is a CA certificate";
		return ACRA_EPERM;
	}
	ku = X509_get_key_usage(cert);
	if (ku != UINT32_MAX && !(ku & KU_DIGITAL_SIGNATURE)) {
		*why = "client certificate key usage lacks digitalSignature";
		return ACRA_EPERM;
	}
	xku = X509_get_extended_key_usage(cert);
	if (xku != UINT32_MAX && !(xku & (XKU_SSL_CLIENT | XKU_ANYEKU))) {
		*why = "client certificate extended key usage lacks clientAuth";
		return ACRA_EPERM;
	}
	if (ex == TLS_ID_SERIAL_NUMBER) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
		unsigned char sn[64];
		int n;

		if (bn == NULL || BN_num_bytes(bn) > (int)sizeof(sn)) {
			BN_free(bn);
			*why = "bad serial number";
			return ACRA_EPROTO;
		}
		n = BN_bn2bin(bn, sn);
		BN_free(bn);
		rc = sha512_hex(sn, (size_t)n, out);
	} else {
		char dn[4096];

		rc = tls_dn_string(X509_get_subject_name(cert), dn, sizeof(dn));
		if (rc != ACRA_OK) {
			*why = "cannot render the certificate subject";
			return rc;
		}
		rc = sha512_hex((const unsigned char *)dn, strlen(dn), out);
	}
	if (rc != ACRA_OK)
		*why = "cannot hash the certificate identifier";
	return rc;
}
