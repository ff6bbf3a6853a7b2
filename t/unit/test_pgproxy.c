/* t/unit/test_pgproxy.c: the PostgreSQL hooks of acra server (lib/pgproxy) in a real
 * session over loopback sockets, between a raw client and a scripted in-process backend:
 * DataRow rewriting (AcraBlock for the session's client id decrypted, another key's left
 * alone, NULL and short columns kept, lengths recomputed), rows without envelopes passed
 * byte for byte, SSLRequest answered 'N', a malformed DataRow from the database turned
 * into an ErrorResponse for the client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/crypto/acrablock.h"
#include "lib/metrics.h"
#include "lib/net.h"
#include "lib/pgproxy.h"
#include "lib/reactor.h"
#include "lib/secmem.h"
#include "lib/session.h"
#include "t/unit/proxy_fixture.h"
#include "t/unit/suites.h"

static const uint8_t key_a[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t key_b[32] = "fedcba9876543210fedcba9876543210";

/* ---- key provider: clientA has key_a as its AcraBlock key, nothing else exists ---- */

static struct secret *sym_a;

static int keys_get(void *ctx, enum codec_key_kind kind, const struct codec_key_owner *who,
		    struct codec_keyset *set)
{
	static const struct secret *arr[1];

	(void)ctx;
	memset(set, 0, sizeof(*set));
	if (kind != CODEC_KEY_BLOCK_SYM || who->zone_id.len != 0 || who->client_id.len != 7 ||
	    memcmp(who->client_id.p, "clientA", 7) != 0)
		return ACRA_ENOKEY;
	arr[0] = sym_a;
	set->n = 1;
	set->sym = arr;
	return ACRA_OK;
}

static void keys_release(void *ctx, struct codec_keyset *set)
{
	(void)ctx;
	memset(set, 0, sizeof(*set));
}

/* ---- byte helpers ---- */

static size_t put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

static size_t hex_of(char *out, const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		out[2 + 2 * i] = d[p[i] >> 4];
		out[3 + 2 * i] = d[p[i] & 15];
	}
	return 2 + 2 * n;
}

/* AcraBlock of pt under key, in bytea hex output form. */
static size_t block_hex(char *out, const uint8_t *key, const char *pt)
{
	uint8_t blk[512];
	size_t n = 0;

	ck_assert_int_eq(acrablock_encrypt(key, 32, NULL, 0, (const uint8_t *)pt, strlen(pt), blk,
					   sizeof(blk), &n),
			 ACRA_OK);
	return hex_of(out, blk, n);
}

struct col {
	const char *v; /* NULL: SQL NULL */
	size_t len;
};

static size_t datarow(uint8_t *out, const struct col *c, unsigned n)
{
	size_t o = 7;

	out[0] = 'D';
	out[5] = (uint8_t)(n >> 8);
	out[6] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		if (c[i].v == NULL) {
			o += put_be32(out + o, 0xFFFFFFFFu);
			continue;
		}
		o += put_be32(out + o, (uint32_t)c[i].len);
		memcpy(out + o, c[i].v, c[i].len);
		o += c[i].len;
	}
	put_be32(out + 1, (uint32_t)(o - 1));
	return o;
}

static size_t rowdesc(uint8_t *out, unsigned n)
{
	size_t o = 7;

	out[0] = 'T';
	out[5] = 0;
	out[6] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		out[o++] = 'c';
		out[o++] = (uint8_t)('0' + i);
		out[o++] = 0;
		o += put_be32(out + o, 0);          /* table */
		out[o++] = 0, out[o++] = 0;         /* attnum */
		o += put_be32(out + o, 17);         /* bytea */
		out[o++] = 0xFF, out[o++] = 0xFF;   /* typlen -1 */
		o += put_be32(out + o, 0xFFFFFFFFu); /* typmod */
		out[o++] = 0, out[o++] = 0;         /* text */
	}
	put_be32(out + 1, (uint32_t)(o - 1));
	return o;
}

static size_t tail(uint8_t *out)
{
	static const uint8_t t[] = { 'C', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0,
				     'Z', 0, 0, 0, 5, 'I' };

	memcpy(out, t, sizeof(t));
	return sizeof(t);
}

/* ---- scripted backend: AuthenticationOk + ReadyForQuery after the startup packet, then
 * `resp` for every Query ---- */

struct fake_pg {
	int lfd;
	unsigned port;
	pthread_t th;
	uint8_t resp[65536];
	size_t resp_len;
};

static void *pg_main(void *arg)
{
	struct fake_pg *db = arg;
	static const uint8_t hello[] = { 'R', 0, 0, 0, 8, 0, 0, 0, 0, 'Z', 0, 0, 0, 5, 'I' };
	uint8_t buf[8192];
	int fd = accept(db->lfd, NULL, NULL);
	uint32_t len;

	if (fd < 0)
		return NULL;
	if (!fx_read_full(fd, buf, 4))
		goto out;
	len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (len < 8 || len > sizeof(buf) || !fx_read_full(fd, buf, len - 4))
		goto out;
	if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello))
		goto out;
	for (;;) {
		if (!fx_read_full(fd, buf, 5))
			break;
		len = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
		if (len < 4 || len - 4 > sizeof(buf) || !fx_read_full(fd, buf + 5, len - 4))
			break;
		if (buf[0] == 'X')
			break;
		if (buf[0] == 'Q' &&
		    write(fd, db->resp, db->resp_len) != (ssize_t)db->resp_len)
			break;
	}
out:
	close(fd);
	return NULL;
}

static void pg_start_fake(struct fake_pg *db)
{
	db->lfd = fx_listen(&db->port);
	ck_assert_int_eq(pthread_create(&db->th, NULL, pg_main, db), 0);
}

static void pg_stop_fake(struct fake_pg *db)
{
	shutdown(db->lfd, SHUT_RDWR);
	close(db->lfd);
	pthread_join(db->th, NULL);
}

/* ---- the proxy ---- */

struct proxy {
	struct fx_proxy fx;
	struct pgproxy_config cfg;
	unsigned port;
};

static void proxy_start(struct proxy *p, unsigned db_port)
{
	memset(p, 0, sizeof(*p));
	p->cfg.scan = CODEC_SCAN_WHOLE;
	p->cfg.text_enc = CODEC_ENC_PG_TEXT;
	p->cfg.keys = (struct codec_keys){ keys_get, keys_release, NULL };
	fx_proxy_start(&p->fx, db_port, &pgproxy_hooks, &p->cfg, "clientA");
	p->port = p->fx.port;
}

static void proxy_stop(struct proxy *p)
{
	fx_proxy_stop(&p->fx);
}

static int client_connect(unsigned port)
{
	return fx_connect(port);
}

/* StartupMessage on fd, then AuthenticationOk + ReadyForQuery back. */
static void login_on(int fd)
{
	static const uint8_t startup[] = { 0, 0, 0, 21, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0,
					   't', 'e', 's', 't', 'e', 'r', 0, 0 };
	uint8_t buf[15];

	ck_assert_int_eq(write(fd, startup, sizeof(startup)), (ssize_t)sizeof(startup));
	ck_assert(fx_read_full(fd, buf, sizeof(buf)));
	ck_assert_int_eq(buf[0], 'R');
	ck_assert_int_eq(buf[9], 'Z');
}

static int client_login(unsigned port)
{
	int fd = client_connect(port);

	login_on(fd);
	return fd;
}

/* Send a Query; read the answer up to and including ReadyForQuery (or EOF). */
static size_t client_query(int fd, uint8_t *out, size_t cap)
{
	static const uint8_t q[] = { 'Q', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0 };
	size_t got = 0;

	ck_assert_int_eq(write(fd, q, sizeof(q)), (ssize_t)sizeof(q));
	for (;;) {
		uint32_t len;

		if (!fx_read_full(fd, out + got, 5))
			break;
		len = (uint32_t)out[got + 1] << 24 | (uint32_t)out[got + 2] << 16 |
		      (uint32_t)out[got + 3] << 8 | out[got + 4];
		ck_assert_uint_le(got + 1 + len, cap);
		if (!fx_read_full(fd, out + got + 5, len - 4))
			break;
		got += 1 + len;
		if (out[got - 1 - len] == 'Z')
			break;
	}
	return got;
}

static void setup(void)
{
	ck_assert_int_eq(secret_new(&sym_a, 32), ACRA_OK);
	memcpy(sym_a->p, key_a, 32);
}

static void teardown(void)
{
	secret_free(sym_a);
	sym_a = NULL;
}

START_TEST(test_datarow_decrypted)
{
	static struct fake_pg db;
	struct proxy p;
	char mine[1024], other[1024], want_hex[256];
	uint8_t got[8192], want[8192];
	size_t o, wo, n;
	const char *short_val = "short";
	int fd;

	struct col cols[4] = {
		{ mine, block_hex(mine, key_a, "plaintext of A") },
		{ other, block_hex(other, key_b, "plaintext of B") },
		{ NULL, 0 },
		{ short_val, 5 },
	};
	memset(&db, 0, sizeof(db));
	o = rowdesc(db.resp, 4);
	o += datarow(db.resp + o, cols, 4);
	o += tail(db.resp + o);
	db.resp_len = o;
	pg_start_fake(&db);
	proxy_start(&p, db.port);

	fd = client_login(p.port);
	n = client_query(fd, got, sizeof(got));
	/* what the client must see: the same messages with column 0 decrypted */
	cols[0].v = want_hex;
	cols[0].len = hex_of(want_hex, (const uint8_t *)"plaintext of A", 14);
	wo = rowdesc(want, 4);
	wo += datarow(want + wo, cols, 4);
	wo += tail(want + wo);
	ck_assert_uint_eq(n, wo);
	ck_assert_mem_eq(got, want, wo);
	close(fd);
	proxy_stop(&p);
	pg_stop_fake(&db);
}
END_TEST

START_TEST(test_rows_without_envelopes_pass)
{
	static struct fake_pg db;
	struct proxy p;
	static char big[4000];
	uint8_t got[16384];
	size_t o, n;
	int fd;
	struct col cols[2] = { { "abc", 3 }, { big, sizeof(big) } };

	memset(big, 'x', sizeof(big));
	memcpy(big + 100, "%%", 2); /* a tag byte pair that is no envelope */
	memset(&db, 0, sizeof(db));
	o = rowdesc(db.resp, 2);
	o += datarow(db.resp + o, cols, 2);
	o += tail(db.resp + o);
	db.resp_len = o;
	pg_start_fake(&db);
	proxy_start(&p, db.port);
	fd = client_login(p.port);
	n = client_query(fd, got, sizeof(got));
	ck_assert_uint_eq(n, db.resp_len);
	ck_assert_mem_eq(got, db.resp, n);
	close(fd);
	proxy_stop(&p);
	pg_stop_fake(&db);
}
END_TEST

START_TEST(test_ssl_request_answered_n)
{
	static struct fake_pg db;
	struct proxy p;
	static const uint8_t sslreq[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	uint8_t c = 0;
	int fd;

	memset(&db, 0, sizeof(db));
	db.resp_len = tail(db.resp);
	pg_start_fake(&db);
	proxy_start(&p, db.port);
	fd = client_connect(p.port);
	ck_assert_int_eq(write(fd, sslreq, sizeof(sslreq)), (ssize_t)sizeof(sslreq));
	ck_assert(fx_read_full(fd, &c, 1));
	ck_assert_int_eq(c, 'N');
	/* after the 'N' the same connection logs in in clear text; the database never saw
	 * the SSLRequest (it would have taken it for a startup packet) */
	login_on(fd);
	close(fd);
	proxy_stop(&p);
	pg_stop_fake(&db);
}
END_TEST

START_TEST(test_bad_datarow_from_db)
{
	static struct fake_pg db;
	struct proxy p;
	uint8_t got[4096];
	size_t o, n;
	int fd;
	struct col cols[1] = { { "abcdef", 6 } };

	memset(&db, 0, sizeof(db));
	o = rowdesc(db.resp, 1);
	o += datarow(db.resp + o, cols, 1);
	db.resp[o - 7] = 0x7F; /* the column's length now runs past the message */
	o += tail(db.resp + o);
	db.resp_len = o;
	pg_start_fake(&db);
	proxy_start(&p, db.port);
	fd = client_login(p.port);
	n = client_query(fd, got, sizeof(got));
	/* RowDescription passes, then an ErrorResponse instead of the row, then EOF */
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(got[0], 'T');
	o = 1 + ((size_t)got[1] << 24 | (size_t)got[2] << 16 | (size_t)got[3] << 8 | got[4]);
	ck_assert_uint_lt(o, n);
	ck_assert_int_eq(got[o], 'E');
	ck_assert(memmem(got + o, n - o, "08P01", 5) != NULL);
	ck_assert(!fx_read_full(fd, got, 1)); /* closed */
	close(fd);
	proxy_stop(&p);
	pg_stop_fake(&db);
}
END_TEST

Suite *pgproxy_suite(void)
{
	Suite *s = suite_create("pgproxy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_datarow_decrypted);
	tcase_add_test(tc, test_rows_without_envelopes_pass);
	tcase_add_test(tc, test_ssl_request_answered_n);
	tcase_add_test(tc, test_bad_datarow_from_db);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
