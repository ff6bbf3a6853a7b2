/* t/unit/test_tls.c: lib/tls: Go pkix.Name.String() rendering (known answers written from
 * Go's documented rules), client id from certificates made by the openssl command line,
 * refusals (CA certificate, key usage), and Go ClientAuthType behaviour in real
 * handshakes over a socket pair. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "lib/tls.h"
#include "t/unit/suites.h"

/* ---- DN rendering ---- */

struct dn_case {
	const char *entries[10][2]; /* (type, value) in certificate order */
	const char *want;           /* Go's pkix.Name.String() */
};

static const struct dn_case dn_cases[] = {
	{ { { "C", "GB" }, { "O", "Org" }, { "CN", "client" } }, "CN=client,O=Org,C=GB" },
	/* Go orders by attribute, not by certificate order */
	{ { { "CN", "app" }, { "O", "Acme" }, { "C", "US" } }, "CN=app,O=Acme,C=US" },
	/* repeated attribute: one multi-valued RDN joined by '+' */
	{ { { "C", "US" }, { "ST", "CA" }, { "L", "SF" }, { "O", "Acme" }, { "OU", "Eng" },
	    { "OU", "Ops" }, { "CN", "app" } },
	  "CN=app,OU=Eng+OU=Ops,O=Acme,L=SF,ST=CA,C=US" },
	/* escaping: , + " \ < > ; anywhere; space at either end; # at the start */
	{ { { "CN", "a,b+c" }, { "O", " lead#" } }, "CN=a\\,b\\+c,O=\\ lead#" },
	{ { { "CN", "#hash trailing " } }, "CN=\\#hash trailing\\ " },
	{ { { "CN", "q\"<x>;\\" } }, "CN=q\\\"\\<x\\>\\;\\\\" },
	/* serialNumber attribute: named SERIALNUMBER, most specific */
	{ { { "CN", "x" }, { "serialNumber", "1234" } }, "SERIALNUMBER=1234,CN=x" },
	/* STREET and POSTALCODE between L and O */
	{ { { "street", "Main St 1" }, { "postalCode", "12345" }, { "O", "Org" } },
	  "O=Org,POSTALCODE=12345,STREET=Main St 1" },
	/* other attributes: dotted OID = # hex of asn1.Marshal(string); '@' is not printable
	 * so UTF8String (0x0c) */
	{ { { "CN", "x" }, { "emailAddress", "a@b.c" } },
	  "CN=x,1.2.840.113549.1.9.1=#0c056140622e63" },
	/* printable value marshals as PrintableString (0x13) */
	{ { { "CN", "x" }, { "DC", "example" } },
	  "CN=x,0.9.2342.19200300.100.1.25=#13076578616d706c65" },
};

START_TEST(test_dn_go_format)
{
	const struct dn_case *c = &dn_cases[_i];
	X509_NAME *n = X509_NAME_new();
	char buf[512];

	for (int i = 0; i < 10 && c->entries[i][0] != NULL; i++)
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, c->entries[i][0], MBSTRING_UTF8,
							    (const unsigned char *)c->entries[i][1],
							    -1, -1, 0),
				 1);
	ck_assert_int_eq(tls_dn_string(n, buf, sizeof(buf)), ACRA_OK);
	ck_assert_str_eq(buf, c->want);
	ck_assert_int_eq(tls_dn_string(n, buf, 5), ACRA_ERANGE);
	X509_NAME_free(n);
}
END_TEST

/* ---- certificates from the openssl command line ---- */

static char dir[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof(cmd));
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

/* CA, and leaf certificates signed by it: name, subject, serial, extension lines. */
static void make_ca(void)
{
	strcpy(dir, "/tmp/acra-tls-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	   "-days 2 -subj /CN=test-ca -keyout ca.key -out ca.crt >/dev/null 2>&1",
	   dir);
}

static void make_leaf(const char *name, const char *subj, const char *serial, const char *ext)
{
	sh("cd %s && printf '%%s\\n' '%s' > %s.ext && "
	   "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	   "-subj '%s' -keyout %s.key -out %s.csr >/dev/null 2>&1 && "
	   "openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -set_serial %s -days 2 "
	   "-extfile %s.ext -out %s.crt >/dev/null 2>&1",
	   dir, ext, name, subj, name, name, name, serial, name, name);
}

static X509 *load(const char *name)
{
	char path[128];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* SHA-512 hex by the openssl command line of the bytes printf(1) makes of fmt. */
static void sha512_cli(const char *printf_arg, char out[129])
{
	char cmd[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "printf '%s' | openssl dgst -sha512 -r | cut -c1-128",
		 printf_arg);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, 129, p));
	pclose(p);
	ck_assert_uint_eq(strlen(out), 128);
}

static void cleanup(void)
{
	sh("rm -rf %s", dir);
}

START_TEST(test_client_id_from_cert)
{
	char id[TLS_CLIENT_ID_LEN + 1], want[129];
	const char *why = NULL;
	X509 *x;

	make_ca();
	make_leaf("test-client", "/C=GB/O=Org/CN=client", "0x0102ff",
		  "keyUsage=digitalSignature\nextendedKeyUsage=clientAuth");
	make_leaf("test-plain", "/CN=plain app/O=Org", "7", "subjectKeyIdentifier=hash");
	make_leaf("test-server-only", "/CN=srv", "8", "extendedKeyUsage=serverAuth");
	make_leaf("test-no-sign", "/CN=nosign", "9", "keyUsage=keyEncipherment");
	make_leaf("test-ca-leaf", "/CN=subca", "10", "basicConstraints=critical,CA:TRUE");

	x = load("test-client");
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_DISTINGUISHED_NAME, id, &why), ACRA_OK);
	sha512_cli("CN=client,O=Org,C=GB", want);
	ck_assert_str_eq(id, want);
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_SERIAL_NUMBER, id, &why), ACRA_OK);
	sha512_cli("\\001\\002\\377", want);
	ck_assert_str_eq(id, want);
	X509_free(x);

	x = load("test-plain"); /* no key usage extensions: accepted */
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_DISTINGUISHED_NAME, id, &why), ACRA_OK);
	sha512_cli("CN=plain app,O=Org", want);
	ck_assert_str_eq(id, want);
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_SERIAL_NUMBER, id, &why), ACRA_OK);
	sha512_cli("\\007", want);
	ck_assert_str_eq(id, want);
	X509_free(x);

	x = load("test-server-only");
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_DISTINGUISHED_NAME, id, &why), ACRA_EPERM);
	ck_assert_ptr_nonnull(strstr(why, "clientAuth"));
	ck_assert_str_eq(id, "");
	X509_free(x);
	x = load("test-no-sign");
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_DISTINGUISHED_NAME, id, &why), ACRA_EPERM);
	ck_assert_ptr_nonnull(strstr(why, "digitalSignature"));
	X509_free(x);
	x = load("test-ca-leaf");
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_DISTINGUISHED_NAME, id, &why), ACRA_EPERM);
	ck_assert_ptr_nonnull(strstr(why, "CA"));
	X509_free(x);
	x = load("ca"); /* the self-signed CA made by openssl req -x509 */
	ck_assert_int_eq(tls_cert_client_id(x, TLS_ID_DISTINGUISHED_NAME, id, &why), ACRA_EPERM);
	X509_free(x);
	ck_assert_int_eq(tls_cert_client_id(NULL, TLS_ID_DISTINGUISHED_NAME, id, &why),
			 ACRA_EPERM);
	cleanup();
}
END_TEST

/* ---- contexts and handshakes ---- */

static SSL_CTX *server_ctx(int auth)
{
	char cert[128], key[128], ca[128], err[512];
	struct tls_files f = { key, cert, ca, auth };
	SSL_CTX *ctx = NULL;

	snprintf(cert, sizeof(cert), "%s/test-server.crt", dir);
	snprintf(key, sizeof(key), "%s/test-server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	ck_assert_msg(tls_server_ctx_new(&ctx, &f, err, sizeof(err)) == ACRA_OK, "%s", err);
	return ctx;
}

static SSL_CTX *client_ctx(const char *leaf, bool with_ca)
{
	char cert[128], key[128], ca[128], err[512];
	struct tls_files f = { leaf ? key : NULL, leaf ? cert : NULL, with_ca ? ca : NULL, 0 };
	SSL_CTX *ctx = NULL;

	snprintf(cert, sizeof(cert), "%s/%s.crt", dir, leaf ? leaf : "");
	snprintf(key, sizeof(key), "%s/%s.key", dir, leaf ? leaf : "");
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	ck_assert_msg(tls_client_ctx_new(&ctx, &f, err, sizeof(err)) == ACRA_OK, "%s", err);
	return ctx;
}

/* Handshake both ends over a non-blocking socket pair, then one byte each way (TLS 1.3
 * reports a refused client certificate on the client's first read). Returns true if the
 * connection works. *peer_cert: the server saw a client certificate. */
static bool handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *name, bool *peer_cert)
{
	int sv[2];
	SSL *s, *c;
	bool s_done = false, c_done = false, ok = false;
	char b = 'x';

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	s = SSL_new(sctx);
	ck_assert_int_eq(tls_client_ssl_new(cctx, name, &c), ACRA_OK);
	SSL_set_fd(s, sv[0]);
	SSL_set_fd(c, sv[1]);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (int i = 0; i < 100 && !(s_done && c_done); i++) {
		int r;

		if (!c_done) {
			r = SSL_do_handshake(c);
			if (r == 1)
				c_done = true;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				goto out;
		}
		if (!s_done) {
			r = SSL_do_handshake(s);
			if (r == 1)
				s_done = true;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				goto out;
		}
	}
	if (!(s_done && c_done) || SSL_write(s, &b, 1) != 1)
		goto out;
	for (int i = 0; i < 10; i++) {
		if (SSL_read(c, &b, 1) == 1) {
			ok = true;
			break;
		}
		if (SSL_get_error(c, -1) != SSL_ERROR_WANT_READ)
			break;
		SSL_read(s, &b, 1); /* lets the server send its alerts */
	}
	*peer_cert = SSL_get0_peer_certificate(s) != NULL;
out:
	ERR_clear_error();
	SSL_free(s);
	SSL_free(c);
	close(sv[0]);
	close(sv[1]);
	return ok;
}

START_TEST(test_client_auth_types)
{
	SSL_CTX *anon, *good, *rogue, *nocheck, *srv;
	bool pc;

	make_ca();
	make_leaf("test-server", "/CN=localhost", "20", "subjectAltName=DNS:localhost,IP:127.0.0.1");
	make_leaf("test-client", "/CN=client", "21", "extendedKeyUsage=clientAuth");
	/* a client certificate from another CA */
	sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	   "-days 2 -subj /CN=test-rogue -keyout test-rogue.key -out test-rogue.crt "
	   ">/dev/null 2>&1",
	   dir);
	anon = client_ctx(NULL, true);
	good = client_ctx("test-client", true);
	rogue = client_ctx("test-rogue", true);
	nocheck = client_ctx("test-client", false);

	/* 0 NoClientCert: nothing asked */
	srv = server_ctx(TLS_AUTH_NONE);
	ck_assert(handshake(srv, good, "localhost", &pc));
	ck_assert(!pc);
	SSL_CTX_free(srv);
	/* 1 RequestClientCert: optional, not verified */
	srv = server_ctx(TLS_AUTH_REQUEST);
	ck_assert(handshake(srv, anon, "localhost", &pc));
	ck_assert(handshake(srv, rogue, "localhost", &pc));
	ck_assert(pc);
	SSL_CTX_free(srv);
	/* 2 RequireAnyClientCert: required, not verified */
	srv = server_ctx(TLS_AUTH_REQUIRE_ANY);
	ck_assert(!handshake(srv, anon, "localhost", &pc));
	ck_assert(handshake(srv, rogue, "localhost", &pc));
	SSL_CTX_free(srv);
	/* 3 VerifyClientCertIfGiven */
	srv = server_ctx(TLS_AUTH_VERIFY_IF_GIVEN);
	ck_assert(handshake(srv, anon, "localhost", &pc));
	ck_assert(handshake(srv, good, "localhost", &pc));
	ck_assert(!handshake(srv, rogue, "localhost", &pc));
	SSL_CTX_free(srv);
	/* 4 RequireAndVerifyClientCert */
	srv = server_ctx(TLS_AUTH_REQUIRE_AND_VERIFY);
	ck_assert(!handshake(srv, anon, "localhost", &pc));
	ck_assert(!handshake(srv, rogue, "localhost", &pc));
	ck_assert(handshake(srv, good, "localhost", &pc));
	ck_assert(pc);
	/* the client checks the server: name and CA */
	ck_assert(handshake(srv, good, "127.0.0.1", &pc));
	ck_assert(!handshake(srv, good, "db.example", &pc));
	ck_assert(!handshake(srv, nocheck, "localhost", &pc));
	SSL_CTX_free(srv);
	SSL_CTX_free(anon);
	SSL_CTX_free(good);
	SSL_CTX_free(rogue);
	SSL_CTX_free(nocheck);
	cleanup();
}
END_TEST

START_TEST(test_ctx_errors)
{
	struct tls_files f = { "/nonexistent/test-key.pem", "/nonexistent/test-cert.pem", NULL,
			       4 };
	SSL_CTX *ctx = (SSL_CTX *)1;
	char err[512];

	ck_assert_int_eq(tls_server_ctx_new(&ctx, &f, err, sizeof(err)), ACRA_EIO);
	ck_assert_ptr_null(ctx);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/test-cert.pem"));
	f.cert = NULL;
	ck_assert_int_eq(tls_server_ctx_new(&ctx, &f, err, sizeof(err)), ACRA_EINVAL);
	f.cert = "/nonexistent/test-cert.pem";
	f.auth = 5;
	ck_assert_int_eq(tls_server_ctx_new(&ctx, &f, err, sizeof(err)), ACRA_EINVAL);
	f.cert = f.key = NULL;
	f.ca = "/nonexistent/test-ca.pem";
	ck_assert_int_eq(tls_client_ctx_new(&ctx, &f, err, sizeof(err)), ACRA_EIO);
	ck_assert_ptr_nonnull(strstr(err, "test-ca.pem"));
}
END_TEST

Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_dn_go_format, 0, sizeof(dn_cases) / sizeof(dn_cases[0]));
	tcase_add_test(tc, test_client_id_from_cert);
	tcase_add_test(tc, test_client_auth_types);
	tcase_add_test(tc, test_ctx_errors);
	suite_add_tcase(s, tc);
	return s;
}
