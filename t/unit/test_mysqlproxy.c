/* t/unit/test_mysqlproxy.c: the MySQL hooks of acra server (lib/mysqlproxy) in a real
 * session over loopback sockets, between a raw client and a scripted in-process MySQL
 * server: text rows (with EOF packets and with CLIENT_DEPRECATE_EOF), binary rows of a
 * prepared statement with the NULL bitmap, a query with MySQL 8 query attributes, rows
 * without envelopes passed byte for byte, capabilities the proxy cannot follow removed from
 * the greeting, a malformed row from the server turned into an ERR packet for the client,
 * and a client packet out of sequence answered with an ERR packet. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/crypto/acrablock.h"
#include "lib/mysqlproxy.h"
#include "lib/secmem.h"
#include "lib/session.h"
#include "proto/mysql.h"
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

/* ---- packet builders ---- */

struct buf {
	uint8_t p[16384];
	size_t len;
};

static void put(struct buf *b, const void *src, size_t n)
{
	ck_assert_uint_le(b->len + n, sizeof(b->p));
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_u8(struct buf *b, uint8_t v) { put(b, &v, 1); }

static void put_le(struct buf *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put_u8(b, (uint8_t)(v >> (8 * i)));
}

static void put_lenenc_str(struct buf *b, const void *s, size_t n)
{
	if (n < 251) {
		put_u8(b, (uint8_t)n);
	} else {
		put_u8(b, 0xfc);
		put_le(b, n, 2);
	}
	put(b, s, n);
}

/* Append one packet with payload pl to b. */
static void packet(struct buf *b, uint8_t seq, const struct buf *pl)
{
	put_le(b, pl->len, 3);
	put_u8(b, seq);
	put(b, pl->p, pl->len);
}

static void packet_raw(struct buf *b, uint8_t seq, const void *pl, size_t n)
{
	put_le(b, n, 3);
	put_u8(b, seq);
	put(b, pl, n);
}

/* AcraBlock of pt under key. */
static size_t block(uint8_t *out, size_t cap, const uint8_t *key, const char *pt)
{
	size_t n = 0;

	ck_assert_int_eq(acrablock_encrypt(key, 32, NULL, 0, (const uint8_t *)pt, strlen(pt), out,
					   cap, &n),
			 ACRA_OK);
	return n;
}

static void coldef(struct buf *b, uint8_t seq, const char *name, uint8_t type, uint16_t charset)
{
	struct buf pl = { .len = 0 };

	put_lenenc_str(&pl, "def", 3);
	put_lenenc_str(&pl, "db", 2);
	put_lenenc_str(&pl, "t", 1);
	put_lenenc_str(&pl, "t", 1);
	put_lenenc_str(&pl, name, strlen(name));
	put_lenenc_str(&pl, name, strlen(name));
	put_u8(&pl, 0x0c);
	put_le(&pl, charset, 2);
	put_le(&pl, 1 << 20, 4);
	put_u8(&pl, type);
	put_le(&pl, charset == 63 ? 0x90 : 0, 2);
	put_u8(&pl, 0);
	put_le(&pl, 0, 2);
	packet(b, seq, &pl);
}

/* EOF (or, with deprecate_eof, OK with the 0xFE header) ending a result set. */
static void terminator(struct buf *b, uint8_t seq, bool deprecate_eof)
{
	static const uint8_t eof[] = { 0xfe, 0, 0, 0x02, 0 };
	static const uint8_t ok[] = { 0xfe, 0, 0, 0x02, 0, 0, 0 };

	if (deprecate_eof)
		packet_raw(b, seq, ok, sizeof(ok));
	else
		packet_raw(b, seq, eof, sizeof(eof));
}

/* ---- scripted server: greeting with caps, OK to the handshake response, then for each
 * command packet the canned answer for its command byte ---- */

#define CAPS_BASE                                                                              \
	(MYSQL_CLIENT_LONG_PASSWORD | MYSQL_CLIENT_PROTOCOL_41 | MYSQL_CLIENT_SECURE_CONNECTION |  \
	 MYSQL_CLIENT_PLUGIN_AUTH | MYSQL_CLIENT_TRANSACTIONS | MYSQL_CLIENT_MULTI_RESULTS)

struct fake_my {
	int lfd;
	unsigned port;
	pthread_t th;
	uint32_t caps;
	struct buf resp[32]; /* by command byte */
	uint32_t seen_caps;  /* capabilities in the handshake response that arrived */
};

static bool read_packet(int fd, uint8_t *p, size_t cap, size_t *n)
{
	uint8_t h[4];

	if (!fx_read_full(fd, h, 4))
		return false;
	*n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
	return *n <= cap && fx_read_full(fd, p, *n);
}

static void greeting(struct buf *b, uint32_t caps)
{
	struct buf pl = { .len = 0 };

	put_u8(&pl, 10);
	put(&pl, "8.0.36-fake", 12);
	put_le(&pl, 42, 4);
	put(&pl, "abcdefgh", 9);
	put_le(&pl, caps & 0xffff, 2);
	put_u8(&pl, 33);
	put_le(&pl, 2, 2);
	put_le(&pl, caps >> 16, 2);
	put_u8(&pl, 21);
	put(&pl, "\0\0\0\0\0\0\0\0\0\0", 10);
	put(&pl, "ijklmnopqrst", 13);
	put(&pl, "mysql_native_password", 22);
	packet(b, 0, &pl);
}

static void *my_main(void *arg)
{
	static const uint8_t ok[] = { 0, 0, 0, 2, 0, 0, 0 };
	struct fake_my *db = arg;
	uint8_t in[8192];
	struct buf out = { .len = 0 };
	size_t n;
	int fd = accept(db->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	greeting(&out, db->caps);
	if (write(fd, out.p, out.len) != (ssize_t)out.len)
		goto done;
	if (!read_packet(fd, in, sizeof(in), &n) || n < 4)
		goto done;
	db->seen_caps = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
			(uint32_t)in[3] << 24;
	out.len = 0;
	packet_raw(&out, 2, ok, sizeof(ok));
	if (write(fd, out.p, out.len) != (ssize_t)out.len)
		goto done;
	while (read_packet(fd, in, sizeof(in), &n) && n > 0 && in[0] != MYSQL_COM_QUIT) {
		const struct buf *r = in[0] < 32 ? &db->resp[in[0]] : NULL;

		if (r != NULL && r->len > 0 && write(fd, r->p, r->len) != (ssize_t)r->len)
			break;
	}
done:
	close(fd);
	return NULL;
}

static void my_start(struct fake_my *db)
{
	db->lfd = fx_listen(&db->port);
	ck_assert_int_eq(pthread_create(&db->th, NULL, my_main, db), 0);
}

static void my_stop(struct fake_my *db)
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
	p->cfg.keys = (struct codec_keys){ keys_get, keys_release, NULL };
	fx_proxy_start(&p->fx, db_port, &mysqlproxy_hooks, &p->cfg, "clientA");
	p->port = p->fx.port;
}

static void proxy_stop(struct proxy *p)
{
	fx_proxy_stop(&p->fx);
}

/* Connect, read the greeting (its capabilities in *caps), send a handshake response with
 * client_caps, read the OK. */
static int client_login(unsigned port, uint32_t client_caps, uint32_t *caps)
{
	uint8_t in[1024];
	struct buf hs = { .len = 0 }, out = { .len = 0 };
	size_t n;
	int fd = fx_connect(port);

	ck_assert(read_packet(fd, in, sizeof(in), &n));
	ck_assert_int_eq(in[0], 10);
	{
		size_t v = strlen((const char *)in + 1) + 2; /* after the version string */
		*caps = (uint32_t)in[v + 13] | (uint32_t)in[v + 14] << 8 |
			(uint32_t)in[v + 18] << 16 | (uint32_t)in[v + 19] << 24;
	}
	put_le(&hs, client_caps, 4);
	put_le(&hs, 1 << 24, 4);
	put_u8(&hs, 33);
	put(&hs, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 23);
	put(&hs, "user", 5);
	put_u8(&hs, 0); /* empty auth response */
	put(&hs, "mysql_native_password", 22);
	packet(&out, 1, &hs);
	ck_assert_int_eq(write(fd, out.p, out.len), (ssize_t)out.len);
	ck_assert(read_packet(fd, in, sizeof(in), &n));
	ck_assert_int_eq(in[0], 0);
	return fd;
}

/* Send bytes; read until the reply is `want_len` bytes long or the connection ends. */
static size_t exchange(int fd, const struct buf *send, uint8_t *out, size_t want_len)
{
	size_t got = 0;

	ck_assert_int_eq(write(fd, send->p, send->len), (ssize_t)send->len);
	while (got < want_len) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, 3000) != 1)
			break;
		r = read(fd, out + got, want_len - got);
		if (r <= 0)
			break;
		got += (size_t)r;
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

/* A text result of one row: [clientA's AcraBlock, key_b's AcraBlock, NULL, "short"],
 * with values v0 and v1 as given. */
static void text_result(struct buf *b, const uint8_t *v0, size_t n0, const uint8_t *v1,
			size_t n1, bool deprecate_eof)
{
	struct buf row = { .len = 0 };
	uint8_t seq = 1;

	packet_raw(b, seq++, "\x04", 1);
	coldef(b, seq++, "a", MYSQL_TYPE_BLOB, 63);
	coldef(b, seq++, "b", MYSQL_TYPE_BLOB, 63);
	coldef(b, seq++, "c", MYSQL_TYPE_BLOB, 63);
	coldef(b, seq++, "d", MYSQL_TYPE_VAR_STRING, 33);
	if (!deprecate_eof)
		terminator(b, seq++, false);
	put_lenenc_str(&row, v0, n0);
	put_lenenc_str(&row, v1, n1);
	put_u8(&row, 0xfb);
	put_lenenc_str(&row, "short", 5);
	packet(b, seq++, &row);
	terminator(b, seq, deprecate_eof);
}

static void text_case(bool deprecate_eof, bool attrs)
{
	static struct fake_my db;
	struct proxy p;
	uint8_t mine[512], other[512], got[16384];
	struct buf q = { .len = 0 }, qp = { .len = 0 }, want = { .len = 0 };
	size_t nm, no, n;
	uint32_t caps = 0, client_caps = (uint32_t)CAPS_BASE;
	int fd;

	memset(&db, 0, sizeof(db));
	db.caps = (uint32_t)(CAPS_BASE | MYSQL_CLIENT_COMPRESS | MYSQL_CLIENT_SSL);
	if (deprecate_eof) {
		db.caps |= (uint32_t)MYSQL_CLIENT_DEPRECATE_EOF;
		client_caps |= (uint32_t)MYSQL_CLIENT_DEPRECATE_EOF;
	}
	if (attrs) {
		db.caps |= (uint32_t)MYSQL_CLIENT_QUERY_ATTRIBUTES;
		client_caps |= (uint32_t)MYSQL_CLIENT_QUERY_ATTRIBUTES;
	}
	nm = block(mine, sizeof(mine), key_a, "plaintext of A");
	no = block(other, sizeof(other), key_b, "plaintext of B");
	text_result(&db.resp[MYSQL_COM_QUERY], mine, nm, other, no, deprecate_eof);
	my_start(&db);
	proxy_start(&p, db.port);

	fd = client_login(p.port, client_caps, &caps);
	ck_assert_msg((caps & (MYSQL_CLIENT_COMPRESS | MYSQL_CLIENT_SSL)) == 0,
		      "compression and TLS offers are removed from the greeting");
	ck_assert_msg((caps & MYSQL_CLIENT_PLUGIN_AUTH) != 0, "other capabilities stay");
	put_u8(&qp, MYSQL_COM_QUERY);
	if (attrs) { /* one attribute: name "trace" = "x" (string type) */
		put_u8(&qp, 1);       /* parameter count */
		put_u8(&qp, 1);       /* parameter set count */
		put_u8(&qp, 0);       /* NULL bitmap */
		put_u8(&qp, 1);       /* new params bound */
		put_u8(&qp, MYSQL_TYPE_VAR_STRING);
		put_u8(&qp, 0);
		put_lenenc_str(&qp, "trace", 5);
		put_lenenc_str(&qp, "x", 1);
	}
	put(&qp, "SELECT a, b, c, d FROM t", 24);
	packet(&q, 0, &qp);
	text_result(&want, (const uint8_t *)"plaintext of A", 14, other, no, deprecate_eof);
	n = exchange(fd, &q, got, want.len);
	ck_assert_uint_eq(n, want.len);
	ck_assert_mem_eq(got, want.p, want.len);
	close(fd);
	proxy_stop(&p);
	my_stop(&db);
}

START_TEST(test_text_row_decrypted)
{
	text_case(false, false);
}
END_TEST

START_TEST(test_text_row_deprecate_eof)
{
	text_case(true, false);
}
END_TEST

START_TEST(test_text_row_query_attributes)
{
	text_case(true, true);
}
END_TEST

/* Binary result of statement 1: columns [BLOB clientA AcraBlock, LONG 7, BLOB NULL,
 * BLOB key_b AcraBlock]. */
static void binary_result(struct buf *b, const uint8_t *v0, size_t n0, const uint8_t *v3,
			  size_t n3)
{
	struct buf row = { .len = 0 };

	packet_raw(b, 1, "\x04", 1);
	coldef(b, 2, "a", MYSQL_TYPE_BLOB, 63);
	coldef(b, 3, "n", MYSQL_TYPE_LONG, 63);
	coldef(b, 4, "c", MYSQL_TYPE_BLOB, 63);
	coldef(b, 5, "d", MYSQL_TYPE_BLOB, 63);
	terminator(b, 6, false);
	put_u8(&row, 0);
	put_u8(&row, 1u << (2 + 2)); /* NULL bitmap, offset 2: column 2 is NULL */
	put_lenenc_str(&row, v0, n0);
	put_le(&row, 7, 4);
	put_lenenc_str(&row, v3, n3);
	packet(b, 7, &row);
	terminator(b, 8, false);
}

START_TEST(test_binary_row_decrypted)
{
	static struct fake_my db;
	struct proxy p;
	uint8_t mine[512], other[512], got[16384];
	struct buf prep = { .len = 0 }, ex = { .len = 0 }, pl = { .len = 0 };
	struct buf want = { .len = 0 }, pok = { .len = 0 };
	size_t nm, no, n;
	uint32_t caps;
	int fd;

	memset(&db, 0, sizeof(db));
	db.caps = (uint32_t)CAPS_BASE;
	nm = block(mine, sizeof(mine), key_a, "binary plaintext");
	no = block(other, sizeof(other), key_b, "other binary");
	/* COM_STMT_PREPARE answer: statement 1, 4 columns, no parameters */
	put_u8(&pok, 0);
	put_le(&pok, 1, 4);
	put_le(&pok, 4, 2);
	put_le(&pok, 0, 2);
	put_u8(&pok, 0);
	put_le(&pok, 0, 2);
	packet(&db.resp[MYSQL_COM_STMT_PREPARE], 1, &pok);
	coldef(&db.resp[MYSQL_COM_STMT_PREPARE], 2, "a", MYSQL_TYPE_BLOB, 63);
	coldef(&db.resp[MYSQL_COM_STMT_PREPARE], 3, "n", MYSQL_TYPE_LONG, 63);
	coldef(&db.resp[MYSQL_COM_STMT_PREPARE], 4, "c", MYSQL_TYPE_BLOB, 63);
	coldef(&db.resp[MYSQL_COM_STMT_PREPARE], 5, "d", MYSQL_TYPE_BLOB, 63);
	terminator(&db.resp[MYSQL_COM_STMT_PREPARE], 6, false);
	binary_result(&db.resp[MYSQL_COM_STMT_EXECUTE], mine, nm, other, no);
	my_start(&db);
	proxy_start(&p, db.port);

	fd = client_login(p.port, (uint32_t)CAPS_BASE, &caps);
	put_u8(&pl, MYSQL_COM_STMT_PREPARE);
	put(&pl, "SELECT a, n, c, d FROM t", 24);
	packet(&prep, 0, &pl);
	n = exchange(fd, &prep, got, db.resp[MYSQL_COM_STMT_PREPARE].len);
	ck_assert_uint_eq(n, db.resp[MYSQL_COM_STMT_PREPARE].len);
	ck_assert_mem_eq(got, db.resp[MYSQL_COM_STMT_PREPARE].p, n);
	pl.len = 0;
	put_u8(&pl, MYSQL_COM_STMT_EXECUTE);
	put_le(&pl, 1, 4); /* statement */
	put_u8(&pl, 0);    /* no cursor */
	put_le(&pl, 1, 4); /* iteration count */
	packet(&ex, 0, &pl);
	binary_result(&want, (const uint8_t *)"binary plaintext", 16, other, no);
	n = exchange(fd, &ex, got, want.len);
	ck_assert_uint_eq(n, want.len);
	ck_assert_mem_eq(got, want.p, want.len);
	close(fd);
	proxy_stop(&p);
	my_stop(&db);
}
END_TEST

START_TEST(test_plain_rows_pass)
{
	static struct fake_my db;
	struct proxy p;
	uint8_t got[16384];
	struct buf q = { .len = 0 };
	size_t n;
	uint32_t caps;
	int fd;

	memset(&db, 0, sizeof(db));
	db.caps = (uint32_t)CAPS_BASE;
	text_result(&db.resp[MYSQL_COM_QUERY], (const uint8_t *)"%%%%%%%% not an envelope", 24,
		    (const uint8_t *)"", 0, false);
	my_start(&db);
	proxy_start(&p, db.port);
	fd = client_login(p.port, (uint32_t)CAPS_BASE, &caps);
	packet_raw(&q, 0, "\x03SELECT 1", 9);
	n = exchange(fd, &q, got, db.resp[MYSQL_COM_QUERY].len);
	ck_assert_uint_eq(n, db.resp[MYSQL_COM_QUERY].len);
	ck_assert_mem_eq(got, db.resp[MYSQL_COM_QUERY].p, n);
	close(fd);
	proxy_stop(&p);
	my_stop(&db);
}
END_TEST

/* After a result of n bytes, the client reads an ERR packet and the end of the stream. */
static void expect_err_then_close(int fd, const struct buf *send, size_t skip)
{
	uint8_t got[16384];
	size_t n = exchange(fd, send, got, sizeof(got));

	ck_assert_uint_gt(n, skip + 5);
	ck_assert_int_eq(got[skip + 4], 0xff);
}

START_TEST(test_malformed_row_from_server)
{
	static struct fake_my db;
	struct proxy p;
	struct buf q = { .len = 0 }, *r;
	uint32_t caps;
	int fd;

	memset(&db, 0, sizeof(db));
	db.caps = (uint32_t)CAPS_BASE;
	r = &db.resp[MYSQL_COM_QUERY];
	packet_raw(r, 1, "\x01", 1);
	coldef(r, 2, "a", MYSQL_TYPE_BLOB, 63);
	terminator(r, 3, false);
	packet_raw(r, 4, "\xfc\xff\x00" "abc", 6); /* a value of 255 bytes with 3 present */
	terminator(r, 5, false);
	my_start(&db);
	proxy_start(&p, db.port);
	fd = client_login(p.port, (uint32_t)CAPS_BASE, &caps);
	packet_raw(&q, 0, "\x03SELECT 1", 9);
	/* column count, definition and EOF pass; then the ERR */
	expect_err_then_close(fd, &q, 4 + 1 + (size_t)(r->p[5] | r->p[6] << 8 | r->p[7] << 16) + 4 +
					      4 + 5);
	close(fd);
	proxy_stop(&p);
	my_stop(&db);
}
END_TEST

START_TEST(test_client_out_of_sequence)
{
	static struct fake_my db;
	struct proxy p;
	struct buf q = { .len = 0 };
	uint32_t caps;
	int fd;

	memset(&db, 0, sizeof(db));
	db.caps = (uint32_t)CAPS_BASE;
	my_start(&db);
	proxy_start(&p, db.port);
	fd = client_login(p.port, (uint32_t)CAPS_BASE, &caps);
	packet_raw(&q, 5, "\x03SELECT 1", 9); /* a command must start at sequence id 0 */
	expect_err_then_close(fd, &q, 0);
	close(fd);
	proxy_stop(&p);
	my_stop(&db);
}
END_TEST

Suite *mysqlproxy_suite(void)
{
	Suite *s = suite_create("mysqlproxy");
	TCase *tc = tcase_create("hooks");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_text_row_decrypted);
	tcase_add_test(tc, test_text_row_deprecate_eof);
	tcase_add_test(tc, test_text_row_query_attributes);
	tcase_add_test(tc, test_binary_row_decrypted);
	tcase_add_test(tc, test_plain_rows_pass);
	tcase_add_test(tc, test_malformed_row_from_server);
	tcase_add_test(tc, test_client_out_of_sequence);
	suite_add_tcase(s, tc);
	return s;
}
