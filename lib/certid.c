/* lib/certid.c: client ids from certificates (see certid.h). */
#include "lib/certid.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

/* The attribute types Go names, in the order pkix.Name.ToRDNSequence() emits them. */
static const struct {
	int nid;
	const char *name;
	bool single; /* Go keeps only the last value */
} named[] = {
	{ NID_countryName, "C", false },
	{ NID_stateOrProvinceName, "ST", false },
	{ NID_localityName, "L", false },
	{ NID_streetAddress, "STREET", false },
	{ NID_postalCode, "POSTALCODE", false },
	{ NID_organizationName, "O", false },
	{ NID_organizationalUnitName, "OU", false },
	{ NID_commonName, "CN", true },
	{ NID_serialNumber, "SERIALNUMBER", true },
};
#define N_NAMED (sizeof(named) / sizeof(named[0]))

struct out {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_escaped(struct out *o, const unsigned char *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char c = (char)v[k];
		bool esc = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' ||
			   c == ';' || (c == ' ' && (k == 0 || k == n - 1)) || (c == '#' && k == 0);

		if (esc)
			put(o, "\\", 1);
		put(o, &c, 1);
	}
}

static int named_index(int nid)
{
	for (size_t i = 0; i < N_NAMED; i++)
		if (named[i].nid == nid)
			return (int)i;
	return -1;
}

/* Go's asn1.Marshal of a string: PrintableString when every byte is in its set, else
 * UTF8String. */
static bool go_printable(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(" '()+,-./:=?", c) != NULL) || c == '\0')
			return false;
	}
	return true;
}

static void put_hex(struct out *o, const unsigned char *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		char two[2] = { hx[p[i] >> 4], hx[p[i] & 15] };

		put(o, two, 2);
	}
}

static void put_der_string(struct out *o, const unsigned char *s, size_t n)
{
	unsigned char hdr[6];
	size_t h = 0;

	hdr[h++] = go_printable(s, n) ? 0x13 : 0x0C;
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
	put_hex(o, hdr, h);
	put_hex(o, s, n);
}

int certid_render_dn(const X509_NAME *name, char *out, size_t out_len)
{
	int n = X509_NAME_entry_count(name);
	struct out o = { out, 0, out_len, false };
	unsigned char **vals;
	size_t *lens;
	int *kinds; /* index into named, or -1 */
	bool first = true;
	int rc = ACRA_OK;

	if (out_len == 0)
		return ACRA_ERANGE;
	out[0] = '\0';
	if (n <= 0)
		return ACRA_OK;
	vals = calloc((size_t)n, sizeof(*vals));
	lens = calloc((size_t)n, sizeof(*lens));
	kinds = calloc((size_t)n, sizeof(*kinds));
	if (vals == NULL || lens == NULL || kinds == NULL) {
		rc = ACRA_ENOMEM;
		goto done;
	}
	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int len = ASN1_STRING_to_UTF8(&vals[i], X509_NAME_ENTRY_get_data(e));

		if (len < 0) {
			vals[i] = NULL;
			rc = ACRA_EPROTO;
			goto done;
		}
		lens[i] = (size_t)len;
		kinds[i] = named_index(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)));
	}
	/* named attributes, most specific first (the reverse of Go's sequence order) */
	for (int k = (int)N_NAMED - 1; k >= 0; k--) {
		bool any = false;
		int last = -1;

		for (int i = 0; i < n; i++)
			if (kinds[i] == k)
				last = i;
		if (last < 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (kinds[i] != k || (named[k].single && i != last))
				continue;
			if (!first)
				puts_(&o, any ? "+" : ",");
			first = false;
			any = true;
			puts_(&o, named[k].name);
			puts_(&o, "=");
			put_escaped(&o, vals[i], lens[i]);
		}
	}
	/* the others, in reverse certificate order, as OID=#hex(DER) */
	for (int i = n - 1; i >= 0; i--) {
		char oid[128];

		if (kinds[i] >= 0)
			continue;
		if (OBJ_obj2txt(oid, sizeof(oid),
				X509_NAME_ENTRY_get_object(X509_NAME_get_entry(name, i)), 1) <= 0) {
			rc = ACRA_EPROTO;
			goto done;
		}
		if (!first)
			puts_(&o, ",");
		first = false;
		puts_(&o, oid);
		puts_(&o, "=#");
		put_der_string(&o, vals[i], lens[i]);
	}
	if (o.overflow)
		rc = ACRA_ERANGE;
done:
	if (vals != NULL)
		for (int i = 0; i < n; i++)
			OPENSSL_free(vals[i]);
	free(vals);
	free(lens);
	free(kinds);
	return rc;
}

bool certid_cert_usable(X509 *cert)
{
	uint32_t flags = X509_get_extension_flags(cert);

	if (X509_check_ca(cert) > 0)
		return false;
	if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE))
		return false;
	if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT))
		return false;
	return true;
}

int certid_client_id(X509 *cert, enum certid_kind kind, char out[CERT_CLIENT_ID_LEN + 1])
{
	if (!certid_cert_usable(cert))
		return ACRA_EPERM;
	if (kind == CERTID_SERIAL_NUMBER) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
		unsigned char buf[64];
		int len;

		if (bn == NULL)
			return ACRA_EPROTO;
		if (BN_num_bytes(bn) > (int)sizeof(buf)) {
			BN_free(bn);
			return ACRA_EPROTO;
		}
		len = BN_bn2bin(bn, buf);
		BN_free(bn);
		cert_client_id(buf, (size_t)len, out);
		return ACRA_OK;
	}
	char dn[4096];
	int rc = certid_render_dn(X509_get_subject_name(cert), dn, sizeof(dn));

	if (rc != ACRA_OK)
		return rc;
	cert_client_id((const uint8_t *)dn, strlen(dn), out);
	return ACRA_OK;
}
