/* t/unit/test_mysql.c: MySQL/MariaDB protocol tracker, decoders and builders.
 * Synthetic sessions are built packet by packet below; recorded sessions from MariaDB 10.11
 * (PyMySQL and the mariadb CLI through a byte-recording relay) live in vectors/mysql-*.hex as
 * "C <hex>" / "S <hex>" lines, one line per read from the client or server socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "proto/mysql.h"
#include "t/unit/suites.h"

/* ---- a session script: chunks of bytes, each from one side ---- */

#define MAX_STEPS 256

struct step {
	enum mysql_dir dir;
	uint8_t *p;
	size_t len;
};

struct script {
	struct step st[MAX_STEPS];
	size_t n;
};

static void sc_free(struct script *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->st[i].p);
	sc->n = 0;
}

/* Append raw bytes; a new step starts when the direction changes or fresh is set. */
static void sc_raw(struct script *sc, enum mysql_dir dir, const void *b, size_t len, bool fresh)
{
	struct step *s;

	if (sc->n == 0 || fresh || sc->st[sc->n - 1].dir != dir) {
		ck_assert_uint_lt(sc->n, MAX_STEPS);
		s = &sc->st[sc->n++];
		s->dir = dir;
		s->p = NULL;
		s->len = 0;
	}
	s = &sc->st[sc->n - 1];
	s->p = realloc(s->p, s->len + len + 1);
	ck_assert_ptr_nonnull(s->p);
	if (len)
		memcpy(s->p + s->len, b, len);
	s->len += len;
}

static void sc_pkt(struct script *sc, enum mysql_dir dir, uint8_t seq, const void *payload,
		   size_t len)
{
	uint8_t h[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), seq };

	sc_raw(sc, dir, h, 4, false);
	sc_raw(sc, dir, payload, len, false);
}

#define C_PKT(sc, seq, lit) sc_pkt(sc, MYSQL_FROM_CLIENT, seq, lit, sizeof(lit) - 1)
#define S_PKT(sc, seq, lit) sc_pkt(sc, MYSQL_FROM_SERVER, seq, lit, sizeof(lit) - 1)

static int hexval(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void sc_load(struct script *sc, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	sc->n = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t hl = 0;
		uint8_t *b;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (n < 2)
			continue;
		hl = (size_t)(n - 2) / 2;
		b = malloc(hl + 1);
		for (size_t i = 0; i < hl; i++)
			b[i] = (uint8_t)(hexval(line[2 + 2 * i]) << 4 | hexval(line[3 + 2 * i]));
		sc_raw(sc, line[0] == 'C' ? MYSQL_FROM_CLIENT : MYSQL_FROM_SERVER, b, hl, true);
		free(b);
	}
	free(line);
	fclose(f);
}

/* ---- a test glue: buffers per direction, feeds, records what it saw ---- */

#define MAX_EV 512

struct ev {
	int dir, kind, cmd, last;
	size_t wire_len, payload_len;
	uint32_t n_cols, stmt_id, n_vals, n_nulls;
	uint16_t status, err_code;
	uint8_t seq, seq_out;
	uint32_t vhash;
};

struct drv {
	struct mysql_session s;
	uint8_t *acc[2];
	size_t acc_len[2];
	struct ev ev[MAX_EV];
	size_t n_ev;
	int err;
	/* row values seen, for assertions on recorded sessions */
	char vals[4096];
	size_t vals_len;
};

static void drv_init(struct drv *d, const struct mysql_limits *lim)
{
	memset(d, 0, sizeof(*d));
	ck_assert_int_eq(mysql_session_init(&d->s, lim), 0);
}

static void drv_clear(struct drv *d)
{
	mysql_session_clear(&d->s);
	free(d->acc[0]);
	free(d->acc[1]);
	d->acc[0] = d->acc[1] = NULL;
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Decode a row like a proxy would and note its values ("v1|v2|N|" for NULL). */
static void note_row(struct drv *d, const struct mysql_msg *m, struct ev *e)
{
	struct wbuf w;
	struct mysql_row_it it;
	struct mysql_val v;
	bool bin = m->kind == MYSQL_K_BINARY_ROW;
	int rc;

	ck_assert_int_eq(wbuf_init_alloc(&w, m->payload_len), 0);
	ck_assert_int_eq(mysql_msg_flatten(m, &w), 0);
	if (bin && m->cols == NULL) {
		wbuf_clear(&w);
		return;
	}
	ck_assert_int_eq(mysql_row_init(&it, w.p, w.len, bin, m->n_cols, m->cols), 0);
	e->vhash = 2166136261u;
	while ((rc = mysql_row_next(&it, &v)) == 1) {
		e->n_vals++;
		if (v.is_null) {
			e->n_nulls++;
			e->vhash = fnv(e->vhash, (const uint8_t *)"N", 1);
		} else {
			e->vhash = fnv(e->vhash, v.v.p, v.v.len);
		}
		if (d->vals_len + v.v.len + 3 < sizeof(d->vals)) {
			if (v.is_null) {
				d->vals[d->vals_len++] = 'N';
			} else {
				memcpy(d->vals + d->vals_len, v.v.p, v.v.len);
				d->vals_len += v.v.len;
			}
			d->vals[d->vals_len++] = '|';
			d->vals[d->vals_len] = 0;
		}
	}
	ck_assert_int_eq(rc, 0);
	wbuf_clear(&w);
}

static int drv_push(struct drv *d, enum mysql_dir dir, const uint8_t *b, size_t len)
{
	struct mysql_msg m;
	size_t used;
	int rc;
	int i = dir == MYSQL_FROM_SERVER;

	if (d->err)
		return d->err;
	d->acc[i] = realloc(d->acc[i], d->acc_len[i] + len + 1);
	memcpy(d->acc[i] + d->acc_len[i], b, len);
	d->acc_len[i] += len;
	for (;;) {
		rc = mysql_feed(&d->s, dir, d->acc[i], d->acc_len[i], &used, &m);
		if (rc < 0) {
			d->err = rc;
			return rc;
		}
		if (rc == MYSQL_NEED_MORE) {
			ck_assert_uint_eq(used, 0);
			ck_assert_uint_gt(m.wire_len, d->acc_len[i]);
			return 0;
		}
		ck_assert_uint_eq(used, m.wire_len);
		ck_assert_uint_lt(d->n_ev, MAX_EV);
		struct ev *e = &d->ev[d->n_ev++];

		memset(e, 0, sizeof(*e));
		e->dir = dir;
		e->kind = m.kind;
		e->cmd = m.cmd;
		e->last = m.last;
		e->wire_len = m.wire_len;
		e->payload_len = m.payload_len;
		e->n_cols = m.n_cols;
		e->stmt_id = m.stmt_id;
		e->status = m.status;
		e->err_code = m.err_code;
		e->seq = m.seq;
		e->seq_out = m.seq_out;
		if (m.kind == MYSQL_K_TEXT_ROW || m.kind == MYSQL_K_BINARY_ROW)
			note_row(d, &m, e);
		memmove(d->acc[i], d->acc[i] + used, d->acc_len[i] - used);
		d->acc_len[i] -= used;
	}
}

/* Run a script with each step cut into pieces of `chunk` bytes (0 = whole steps). */
static int run(struct drv *d, const struct script *sc, size_t chunk)
{
	int rc = 0;

	for (size_t i = 0; i < sc->n && rc == 0; i++) {
		const struct step *s = &sc->st[i];
		size_t c = chunk ? chunk : s->len ? s->len : 1;

		if (s->len == 0)
			continue;
		for (size_t off = 0; off < s->len && rc == 0; off += c)
			rc = drv_push(d, s->dir, s->p + off, s->len - off < c ? s->len - off : c);
	}
	return rc;
}

static void ev_equal(const struct drv *a, const struct drv *b)
{
	ck_assert_uint_eq(a->n_ev, b->n_ev);
	ck_assert_int_eq(a->err, b->err);
	for (size_t i = 0; i < a->n_ev; i++)
		ck_assert_msg(memcmp(&a->ev[i], &b->ev[i], sizeof(a->ev[i])) == 0,
			      "event %zu differs", i);
}

/* Whole steps, byte at a time, and a split at every offset of every step give the same
 * messages. */
static void check_splits(const struct script *sc, const struct mysql_limits *lim)
{
	struct drv whole, d;

	drv_init(&whole, lim);
	ck_assert_int_eq(run(&whole, sc, 0), 0);
	drv_init(&d, lim);
	(void)run(&d, sc, 1);
	ev_equal(&whole, &d);
	drv_clear(&d);
	for (size_t i = 0; i < sc->n; i++) {
		for (size_t k = 1; k < sc->st[i].len; k++) {
			drv_init(&d, lim);
			for (size_t j = 0; j < sc->n; j++) {
				const struct step *s = &sc->st[j];

				if (j != i) {
					ck_assert_int_eq(drv_push(&d, s->dir, s->p, s->len), 0);
					continue;
				}
				ck_assert_int_eq(drv_push(&d, s->dir, s->p, k), 0);
				ck_assert_int_eq(drv_push(&d, s->dir, s->p + k, s->len - k), 0);
			}
			ev_equal(&whole, &d);
			drv_clear(&d);
		}
	}
	drv_clear(&whole);
}

static bool has_vals(const struct drv *d, const void *needle, size_t n)
{
	return memmem(d->vals, d->vals_len, needle, n) != NULL;
}

#define HAS(d, lit) has_vals(d, lit, sizeof(lit) - 1)
#define VALS_EQ(d, lit)                                                                          \
	ck_assert((d)->vals_len == sizeof(lit) - 1 && memcmp((d)->vals, lit, sizeof(lit) - 1) == 0)

static size_t count_kind(const struct drv *d, int kind)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_ev; i++)
		n += d->ev[i].kind == kind;
	return n;
}

/* ---- synthetic packets ---- */

/* MySQL 8 greeting: PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH, DEPRECATE_EOF and more */
static const char greeting8[] =
	"\x0a"
	"8.0.36\0"
	"\x2a\x00\x00\x00"                 /* connection id 42 */
	"\x11\x22\x33\x44\x55\x66\x77\x01" /* scramble part 1 */
	"\x00"
	"\xff\xff" /* caps lower: includes CLIENT_COMPRESS (0x20) */
	"\xff"     /* charset */
	"\x02\x00" /* status */
	"\xff\xdf" /* caps upper */
	"\x15"     /* auth data length 21 */
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x00"
	"caching_sha2_password";

/* HandshakeResponse41 with caps given in the first 4 bytes (patched by tests) */
static void handshake_response(uint8_t *out, size_t *len, uint32_t caps)
{
	static const char rest[] = "root\0"
				   "\x14"
				   "abcdefghijklmnopqrst"
				   "db\0"
				   "caching_sha2_password";
	uint8_t *p = out;

	wr_le32(p, caps);
	wr_le32(p + 4, 16u << 20);
	p[8] = 0x21;
	memset(p + 9, 0, 23);
	memcpy(p + 32, rest, sizeof(rest)); /* keeps the final NUL */
	*len = 32 + sizeof(rest);
}

#define CLI_CAPS                                                                                 \
	(uint32_t)(MYSQL_CLIENT_LONG_PASSWORD | MYSQL_CLIENT_PROTOCOL_41 |                       \
		   MYSQL_CLIENT_SECURE_CONNECTION | MYSQL_CLIENT_PLUGIN_AUTH |                   \
		   MYSQL_CLIENT_CONNECT_WITH_DB | MYSQL_CLIENT_MULTI_RESULTS |                   \
		   MYSQL_CLIENT_TRANSACTIONS | MYSQL_CLIENT_LOCAL_FILES)

static size_t coldef(uint8_t *out, const char *name, uint8_t type)
{
	struct wbuf w;
	size_t nl = strlen(name);

	wbuf_init(&w, out, 256);
	wbuf_put(&w, "\x03"
		     "def\x02"
		     "db\x01t\x01t",
		 11);
	wbuf_put_u8(&w, (uint8_t)nl);
	wbuf_put(&w, name, nl);
	wbuf_put_u8(&w, (uint8_t)nl);
	wbuf_put(&w, name, nl);
	wbuf_put(&w, "\x0c\x21\x00\x00\x01\x00\x00", 7);
	wbuf_put_u8(&w, type);
	wbuf_put(&w, "\x00\x00\x00\x00\x00", 5);
	ck_assert(!w.failed);
	return w.len;
}

static void s_coldef(struct script *sc, uint8_t seq, const char *name, uint8_t type)
{
	uint8_t b[256];

	sc_pkt(sc, MYSQL_FROM_SERVER, seq, b, coldef(b, name, type));
}

static void connect_phase(struct script *sc, uint32_t caps)
{
	uint8_t hr[128];
	size_t hl;

	S_PKT(sc, 0, greeting8);
	handshake_response(hr, &hl, caps);
	sc_pkt(sc, MYSQL_FROM_CLIENT, 1, hr, hl);
	S_PKT(sc, 2, "\x01\x03");                 /* caching_sha2 fast auth success */
	S_PKT(sc, 3, "\x00\x00\x00\x02\x00\x00\x00"); /* OK */
}

/* A text query with two rows, then PING, an unknown command, and QUIT. */
static void text_session(struct script *sc, bool deprecate_eof)
{
	uint8_t seq;

	connect_phase(sc, CLI_CAPS | (deprecate_eof ? (uint32_t)MYSQL_CLIENT_DEPRECATE_EOF : 0));
	C_PKT(sc, 0, "\x03select a, b from t");
	S_PKT(sc, 1, "\x02");
	s_coldef(sc, 2, "a", MYSQL_TYPE_VAR_STRING);
	s_coldef(sc, 3, "b", MYSQL_TYPE_BLOB);
	seq = 4;
	if (!deprecate_eof)
		S_PKT(sc, seq++, "\xfe\x00\x00\x02\x00");
	S_PKT(sc, seq++, "\x03"
			 "abc\xfb");
	S_PKT(sc, seq++, "\x00\x02yz");
	if (deprecate_eof)
		S_PKT(sc, seq++, "\xfe\x00\x00\x02\x00\x00\x00");
	else
		S_PKT(sc, seq++, "\xfe\x00\x00\x02\x00");
	C_PKT(sc, 0, "\x0e");
	S_PKT(sc, 1, "\x00\x00\x00\x02\x00\x00\x00");
	C_PKT(sc, 0, "\x30unknown");
	S_PKT(sc, 1, "\xff\x17\x04#08S01Unknown command");
	C_PKT(sc, 0, "\x01");
}

START_TEST(test_text_session)
{
	struct script sc = { 0 };
	struct drv d;
	bool de = _i == 1;

	text_session(&sc, de);
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_int_eq(d.ev[0].kind, MYSQL_K_GREETING);
	ck_assert_int_eq(d.ev[1].kind, MYSQL_K_HANDSHAKE_RESPONSE);
	ck_assert_int_eq(d.ev[2].kind, MYSQL_K_AUTH_MORE_DATA);
	ck_assert_int_eq(d.ev[3].kind, MYSQL_K_OK);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_TEXT_ROW), 2);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_COLUMN_DEF), 2);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_EOF), de ? 1 : 2);
	VALS_EQ(&d, "abc|N||yz|");
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_ERR), 1);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_COMMAND);
	ck_assert_int_eq(d.ev[d.n_ev - 1].cmd, MYSQL_COM_QUIT);
	/* DEPRECATE_EOF is what both sides use; COMPRESS was offered but is never used */
	ck_assert(!!(mysql_session_caps(&d.s) & MYSQL_CLIENT_DEPRECATE_EOF) == de);
	drv_clear(&d);
	check_splits(&sc, NULL);
	sc_free(&sc);
}
END_TEST

START_TEST(test_truncated_and_need_hint)
{
	struct mysql_session s;
	struct mysql_msg m;
	size_t used = 99;
	uint8_t buf[256];
	size_t n = sizeof(greeting8) - 1;

	buf[0] = (uint8_t)n;
	buf[1] = 0;
	buf[2] = 0;
	buf[3] = 0;
	memcpy(buf + 4, greeting8, n);
	ck_assert_int_eq(mysql_session_init(&s, NULL), 0);
	for (size_t k = 0; k < n + 4; k++) {
		ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, buf, k, &used, &m),
				 MYSQL_NEED_MORE);
		ck_assert_uint_eq(used, 0);
		ck_assert_uint_eq(m.wire_len, k < 4 ? 4 : n + 4);
	}
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, buf, n + 4, &used, &m), MYSQL_MSG);
	ck_assert_uint_eq(used, n + 4);
	mysql_session_clear(&s);
	mysql_session_clear(&s); /* second clear is a no-op */
}
END_TEST

START_TEST(test_length_above_max)
{
	struct mysql_limits lim;
	struct mysql_session s;
	struct mysql_msg m;
	size_t used;
	const uint8_t hdr[4] = { 0x00, 0x10, 0x00, 0x00 }; /* 4096 bytes */

	mysql_limits_default(&lim);
	lim.max_msg = 1024;
	ck_assert_int_eq(mysql_session_init(&s, &lim), 0);
	/* refused from the header alone, before the payload arrives */
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, hdr, 4, &used, &m), ACRA_ERANGE);
	ck_assert_uint_eq(used, 0);
	/* sticky */
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, hdr, 4, &used, &m), ACRA_ERANGE);
	mysql_session_clear(&s);
}
END_TEST

/* Build a session up to the command phase; returns the driver ready for more. */
static void ready(struct drv *d, struct script *sc, uint32_t extra_caps)
{
	connect_phase(sc, CLI_CAPS | extra_caps);
	drv_init(d, NULL);
	ck_assert_int_eq(run(d, sc, 0), 0);
	sc_free(sc);
}

static int push_pkt(struct drv *d, enum mysql_dir dir, uint8_t seq, const void *p, size_t len)
{
	struct script sc = { 0 };
	int rc;

	sc_pkt(&sc, dir, seq, p, len);
	rc = run(d, &sc, 0);
	sc_free(&sc);
	return rc;
}

#define PUSH_C(d, seq, lit) push_pkt(d, MYSQL_FROM_CLIENT, seq, lit, sizeof(lit) - 1)
#define PUSH_S(d, seq, lit) push_pkt(d, MYSQL_FROM_SERVER, seq, lit, sizeof(lit) - 1)

START_TEST(test_unknown_and_refused_commands)
{
	struct script sc = { 0 };
	struct drv d;

	ready(&d, &sc, 0);
	/* an unknown command is forwarded; the server's one-packet answer ends it */
	ck_assert_int_eq(PUSH_C(&d, 0, "\x42"), 0);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_COMMAND);
	ck_assert_int_eq(d.ev[d.n_ev - 1].cmd, 0x42);
	ck_assert_int_eq(PUSH_S(&d, 1, "\xff\x17\x04#08S01Unknown command"), 0);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_ERR);
	ck_assert_int_eq(d.ev[d.n_ev - 1].err_code, 1047);
	ck_assert(d.ev[d.n_ev - 1].last);
	/* an empty command packet is malformed */
	ck_assert_int_eq(push_pkt(&d, MYSQL_FROM_CLIENT, 0, "", 0), ACRA_EPROTO);
	drv_clear(&d);
	/* replication streams are refused */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x12\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00"),
			 ACRA_EPROTO);
	drv_clear(&d);
}
END_TEST

START_TEST(test_sequence_out_of_order)
{
	struct script sc = { 0 };
	struct drv d;

	ready(&d, &sc, 0);
	/* a command must start at 0 */
	ck_assert_int_eq(PUSH_C(&d, 1, "\x0e"), ACRA_EPROTO);
	drv_clear(&d);
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x0e"), 0);
	/* the answer must be 1, not 2 */
	ck_assert_int_eq(PUSH_S(&d, 2, "\x00\x00\x00\x02\x00\x00\x00"), ACRA_EPROTO);
	drv_clear(&d);
	/* the greeting must be 0 */
	drv_init(&d, NULL);
	ck_assert_int_eq(push_pkt(&d, MYSQL_FROM_SERVER, 1, greeting8, sizeof(greeting8) - 1),
			 ACRA_EPROTO);
	drv_clear(&d);
	/* within a result set: column definition skipping a number */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x03select 1"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x01"), 0);
	{
		uint8_t b[256];
		size_t n = coldef(b, "x", MYSQL_TYPE_LONG);

		ck_assert_int_eq(push_pkt(&d, MYSQL_FROM_SERVER, 3, b, n), ACRA_EPROTO);
	}
	drv_clear(&d);
	/* client packets before the greeting */
	drv_init(&d, NULL);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x0e"), ACRA_EPROTO);
	drv_clear(&d);
}
END_TEST

START_TEST(test_column_count_lies)
{
	struct script sc = { 0 };
	struct drv d;
	uint8_t b[256];
	size_t n;

	/* says 3 columns, sends 2 definitions and an EOF */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x03select"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x03"), 0);
	n = coldef(b, "a", MYSQL_TYPE_VAR_STRING);
	ck_assert_int_eq(push_pkt(&d, MYSQL_FROM_SERVER, 2, b, n), 0);
	ck_assert_int_eq(push_pkt(&d, MYSQL_FROM_SERVER, 3, b, n), 0);
	ck_assert_int_eq(PUSH_S(&d, 4, "\xfe\x00\x00\x02\x00"), ACRA_EPROTO);
	drv_clear(&d);
	/* column count with a length prefix running past the packet */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x03select"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\xfc\x01"), ACRA_EPROTO);
	drv_clear(&d);
	/* column count above max_cols */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x03select"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\xfd\x00\x00\x01"), ACRA_ERANGE);
	drv_clear(&d);
	/* column count with trailing garbage */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x03select"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x01\x01"), ACRA_EPROTO);
	drv_clear(&d);
}
END_TEST

START_TEST(test_row_value_count_lies)
{
	static const struct {
		const char *row;
		size_t len;
		uint32_t n_cols;
		int rc;
	} cases[] = {
		{ "\x01" "a\x01" "b", 4, 2, 0 },
		{ "\x01" "a\x01" "b", 4, 3, ACRA_EPROTO },  /* fewer values than columns */
		{ "\x01" "a\x01" "b", 4, 1, ACRA_EPROTO },  /* more bytes than columns */
		{ "\x05" "a", 2, 1, ACRA_EPROTO },          /* value runs past the end */
		{ "\xfc\x10", 2, 1, ACRA_EPROTO },         /* prefix runs past the end */
		{ "\xfe\x01\x00", 3, 1, ACRA_EPROTO },     /* 8-byte prefix cut */
		{ "\xff", 1, 1, ACRA_EPROTO },             /* 0xFF is no length */
		{ "\xfb\xfb", 2, 2, 0 },                   /* two NULLs */
		{ "\xfc\x02\x00xy", 5, 1, 0 },             /* 2-byte prefix */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mysql_row_it it;
		struct mysql_val v;
		int rc;

		ck_assert_int_eq(mysql_row_init(&it, (const uint8_t *)cases[i].row, cases[i].len,
						false, cases[i].n_cols, NULL),
				 0);
		while ((rc = mysql_row_next(&it, &v)) == 1)
			;
		ck_assert_msg(rc == cases[i].rc, "case %zu: %d", i, rc);
	}
}
END_TEST

START_TEST(test_lenenc)
{
	static const struct {
		const char *b;
		size_t len;
		int rc;
		uint64_t v;
		size_t n;
	} cases[] = {
		{ "\x00", 1, 0, 0, 1 },
		{ "\xfa", 1, 0, 250, 1 },
		{ "\xfb", 1, 1, 0, 1 },
		{ "\xfc\xfb\x00", 3, 0, 251, 3 },
		{ "\xfc\xfb", 2, ACRA_EPROTO, 0, 0 },
		{ "\xfd\x01\x02\x03", 4, 0, 0x030201, 4 },
		{ "\xfd\x01\x02", 3, ACRA_EPROTO, 0, 0 },
		{ "\xfe\x01\x00\x00\x00\x00\x00\x00\x80", 9, 0, 0x8000000000000001ull, 9 },
		{ "\xfe\x01\x00\x00\x00\x00\x00\x00", 8, ACRA_EPROTO, 0, 0 },
		{ "\xff", 1, ACRA_EPROTO, 0, 0 },
		{ "", 0, ACRA_EPROTO, 0, 0 },
	};
	uint8_t mem[16];
	struct wbuf w;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 7;
		size_t n = 0;
		int rc = mysql_lenenc_int((const uint8_t *)cases[i].b, cases[i].len, &v, &n);

		ck_assert_msg(rc == cases[i].rc, "case %zu", i);
		if (rc >= 0) {
			ck_assert(v == cases[i].v);
			ck_assert_uint_eq(n, cases[i].n);
		}
	}
	/* writer and reader agree at every width boundary */
	static const uint64_t vals[] = { 0, 250, 251, 0xffff, 0x10000, 0xffffff, 0x1000000,
					 UINT64_MAX };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t v;
		size_t n;

		wbuf_init(&w, mem, sizeof(mem));
		mysql_put_lenenc(&w, vals[i]);
		ck_assert_uint_eq(w.len, mysql_lenenc_size(vals[i]));
		ck_assert_int_eq(mysql_lenenc_int(mem, w.len, &v, &n), 0);
		ck_assert(v == vals[i]);
		ck_assert_uint_eq(n, w.len);
	}
	/* a string whose length runs past the end */
	struct bytes s;
	size_t n;

	ck_assert_int_eq(mysql_lenenc_str((const uint8_t *)"\x03" "ab", 3, &s, &n), ACRA_EPROTO);
	ck_assert_int_eq(mysql_lenenc_str((const uint8_t *)"\x02" "ab", 3, &s, &n), 0);
	ck_assert_uint_eq(s.len, 2);
	ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(test_coldef_parse)
{
	uint8_t b[256];
	size_t n = coldef(b, "email", MYSQL_TYPE_VAR_STRING);
	struct mysql_coldef cd;

	ck_assert_int_eq(mysql_coldef_parse(b, n, false, &cd), 0);
	ck_assert_uint_eq(cd.name.len, 5);
	ck_assert_int_eq(memcmp(cd.name.p, "email", 5), 0);
	ck_assert_uint_eq(cd.col.type, MYSQL_TYPE_VAR_STRING);
	ck_assert_uint_eq(cd.col.charset, 0x21);
	ck_assert_uint_eq(cd.length, 256);
	for (size_t k = 0; k < n; k++)
		ck_assert_int_eq(mysql_coldef_parse(b, k, false, &cd), ACRA_EPROTO);
	/* with MariaDB's extended metadata the same bytes lack one field */
	ck_assert_int_eq(mysql_coldef_parse(b, n, true, &cd), ACRA_EPROTO);
	/* trailing garbage that is no default value */
	b[n] = 0x09;
	ck_assert_int_eq(mysql_coldef_parse(b, n + 1, false, &cd), ACRA_EPROTO);
}
END_TEST

/* Binary row with one column of each wire layout. */
static const struct mysql_col bin_cols[] = {
	{ 63, 0, MYSQL_TYPE_TINY, 0 },      { 63, 0, MYSQL_TYPE_SHORT, 0 },
	{ 63, 0, MYSQL_TYPE_LONG, 0 },      { 63, 0, MYSQL_TYPE_LONGLONG, 0 },
	{ 63, 0, MYSQL_TYPE_DOUBLE, 0 },    { 63, 0, MYSQL_TYPE_FLOAT, 0 },
	{ 63, 0, MYSQL_TYPE_DATETIME, 0 },  { 63, 0, MYSQL_TYPE_TIME, 0 },
	{ 63, 0, MYSQL_TYPE_DATE, 0 },      { 63, 0, MYSQL_TYPE_NEWDECIMAL, 0 },
	{ 33, 0, MYSQL_TYPE_VAR_STRING, 0 }, { 63, 0, MYSQL_TYPE_BLOB, 0 },
	{ 63, 0, MYSQL_TYPE_YEAR, 0 },      { 63, 0, MYSQL_TYPE_INT24, 0 },
	{ 63, 0, MYSQL_TYPE_JSON, 0 },      { 33, 0, MYSQL_TYPE_STRING, 0 },
};
#define N_BIN_COLS (sizeof(bin_cols) / sizeof(bin_cols[0]))
/* header, bitmap of (16+9)/8 = 3 bytes with column 15 NULL (bit 17), values */
static const char bin_row[] = "\x00"
			      "\x00\x00\x02"
			      "\x01"
			      "\x02\x00"
			      "\x03\x00\x00\x00"
			      "\x04\x00\x00\x00\x00\x00\x00\x00"
			      "\x00\x00\x00\x00\x00\x00\xf8\x3f"
			      "\x00\x00\xc0\x3f"
			      "\x07\xea\x07\x0b\x17\x15\x03\x1b"
			      "\x08\x00\x01\x00\x00\x00\x02\x03\x04"
			      "\x00"
			      "\x04"
			      "2.25"
			      "\x03"
			      "abc"
			      "\x02\x00\xff"
			      "\xea\x07"
			      "\x05\x00\x00\x00"
			      "\x02{}";

START_TEST(test_binary_row_all_types)
{
	static const size_t lens[N_BIN_COLS] = { 1, 2, 4, 8, 8, 4, 7, 8, 0, 4, 3, 2, 2, 4, 2, 0 };
	struct mysql_row_it it;
	struct mysql_val v;
	size_t i = 0;
	int rc;

	ck_assert_int_eq(mysql_row_init(&it, (const uint8_t *)bin_row, sizeof(bin_row) - 1, true,
					N_BIN_COLS, bin_cols),
			 0);
	while ((rc = mysql_row_next(&it, &v)) == 1) {
		ck_assert_uint_eq(v.v.len, lens[i]);
		ck_assert(v.is_null == (i == 15));
		i++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(i, N_BIN_COLS);
	/* every shorter payload fails cleanly */
	for (size_t k = 0; k < sizeof(bin_row) - 1; k++) {
		if (mysql_row_init(&it, (const uint8_t *)bin_row, k, true, N_BIN_COLS, bin_cols))
			continue;
		while ((rc = mysql_row_next(&it, &v)) == 1)
			;
		ck_assert_int_eq(rc, ACRA_EPROTO);
	}
	/* a bad temporal length byte */
	{
		static const struct mysql_col dc[] = { { 63, 0, MYSQL_TYPE_DATETIME, 0 } };
		static const uint8_t r[] = { 0x00, 0x00, 0x05, 1, 2, 3, 4, 5 };

		ck_assert_int_eq(mysql_row_init(&it, r, sizeof(r), true, 1, dc), 0);
		ck_assert_int_eq(mysql_row_next(&it, &v), ACRA_EPROTO);
	}
	/* an unknown type */
	{
		static const struct mysql_col uc[] = { { 63, 0, 100, 0 } };
		static const uint8_t r[] = { 0x00, 0x00, 0x01 };

		ck_assert_int_eq(mysql_row_init(&it, r, sizeof(r), true, 1, uc), 0);
		ck_assert_int_eq(mysql_row_next(&it, &v), ACRA_EPROTO);
	}
}
END_TEST

START_TEST(test_row_rebuild_round_trip)
{
	uint8_t mem[1024];
	struct wbuf w;
	struct mysql_row_it it;
	struct mysql_val v;
	char big[300];
	struct mysql_repl r[3];

	memset(big, 'x', sizeof(big));
	/* text: grow column 0 past the 1-byte prefix, NULL column 1, set column 2 */
	r[0] = (struct mysql_repl){ 0, { (const uint8_t *)big, sizeof(big) }, false };
	r[1] = (struct mysql_repl){ 1, { NULL, 0 }, true };
	r[2] = (struct mysql_repl){ 2, { (const uint8_t *)"q", 1 }, false };
	wbuf_init(&w, mem, sizeof(mem));
	ck_assert_int_eq(mysql_row_rebuild(&w, (const uint8_t *)"\x01" "a\x01" "b\xfb\x02" "cd", 8,
					   false, 4, NULL, r, 3),
			 0);
	ck_assert_int_eq(mysql_row_init(&it, w.p, w.len, false, 4, NULL), 0);
	ck_assert_int_eq(mysql_row_next(&it, &v), 1);
	ck_assert_uint_eq(v.v.len, sizeof(big));
	ck_assert_uint_eq(v.wire_len, 3 + sizeof(big));
	ck_assert_int_eq(mysql_row_next(&it, &v), 1);
	ck_assert(v.is_null);
	ck_assert_int_eq(mysql_row_next(&it, &v), 1);
	ck_assert_uint_eq(v.v.len, 1);
	ck_assert_int_eq(v.v.p[0], 'q');
	ck_assert_int_eq(mysql_row_next(&it, &v), 1);
	ck_assert_int_eq(memcmp(v.v.p, "cd", 2), 0);
	ck_assert_int_eq(mysql_row_next(&it, &v), 0);

	/* binary: replace the string (col 10), un-NULL col 15, NULL col 0 */
	r[0] = (struct mysql_repl){ 0, { NULL, 0 }, true };
	r[1] = (struct mysql_repl){ 10, { (const uint8_t *)big, sizeof(big) }, false };
	r[2] = (struct mysql_repl){ 15, { (const uint8_t *)"zz", 2 }, false };
	wbuf_init(&w, mem, sizeof(mem));
	ck_assert_int_eq(mysql_row_rebuild(&w, (const uint8_t *)bin_row, sizeof(bin_row) - 1, true,
					   N_BIN_COLS, bin_cols, r, 3),
			 0);
	ck_assert_int_eq(mysql_row_init(&it, w.p, w.len, true, N_BIN_COLS, bin_cols), 0);
	for (uint32_t c = 0; c < N_BIN_COLS; c++) {
		ck_assert_int_eq(mysql_row_next(&it, &v), 1);
		if (c == 0)
			ck_assert(v.is_null);
		else if (c == 10)
			ck_assert_uint_eq(v.v.len, sizeof(big));
		else if (c == 15)
			ck_assert_int_eq(memcmp(v.v.p, "zz", 2), 0);
		else
			ck_assert(!v.is_null);
	}
	ck_assert_int_eq(mysql_row_next(&it, &v), 0);
	/* wrong size for a fixed type, unsorted replacements, out of range column */
	r[0] = (struct mysql_repl){ 3, { (const uint8_t *)"abc", 3 }, false };
	wbuf_init(&w, mem, sizeof(mem));
	ck_assert_int_eq(mysql_row_rebuild(&w, (const uint8_t *)bin_row, sizeof(bin_row) - 1, true,
					   N_BIN_COLS, bin_cols, r, 1),
			 ACRA_EINVAL);
	r[0] = (struct mysql_repl){ 2, { (const uint8_t *)"a", 1 }, false };
	r[1] = (struct mysql_repl){ 1, { (const uint8_t *)"a", 1 }, false };
	ck_assert_int_eq(mysql_row_rebuild(&w, (const uint8_t *)"\x01" "a\x01" "b\x01" "c", 6, false,
					   3, NULL, r, 2),
			 ACRA_EINVAL);
	r[0] = (struct mysql_repl){ 9, { (const uint8_t *)"a", 1 }, false };
	ck_assert_int_eq(mysql_row_rebuild(&w, (const uint8_t *)"\x01" "a", 2, false, 1, NULL, r,
					   1),
			 ACRA_EINVAL);
	/* output too small */
	r[0] = (struct mysql_repl){ 0, { (const uint8_t *)big, sizeof(big) }, false };
	wbuf_init(&w, mem, 16);
	ck_assert_int_eq(mysql_row_rebuild(&w, (const uint8_t *)"\x01" "a", 2, false, 1, NULL, r,
					   1),
			 ACRA_ERANGE);
}
END_TEST

START_TEST(test_err_builder_round_trip)
{
	struct script sc = { 0 };
	struct drv d;
	uint8_t mem[256];
	struct wbuf w;
	struct mysql_errpkt e;

	wbuf_init(&w, mem, sizeof(mem));
	ck_assert_int_eq(mysql_build_err(&w, 1, MYSQL_CLIENT_PROTOCOL_41, 1317, "70100",
					 "Query execution was interrupted"),
			 0);
	ck_assert_uint_eq(w.len, 4 + 1 + 2 + 6 + 31);
	ck_assert_int_eq(mysql_err_parse(mem + 4, w.len - 4, MYSQL_CLIENT_PROTOCOL_41, &e), 0);
	ck_assert_uint_eq(e.code, 1317);
	ck_assert_str_eq(e.sqlstate, "70100");
	ck_assert_uint_eq(e.message.len, 31);
	/* the tracker accepts it as the answer to a query */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x03select 1"), 0);
	ck_assert_int_eq(drv_push(&d, MYSQL_FROM_SERVER, mem, w.len), 0);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_ERR);
	ck_assert_int_eq(d.ev[d.n_ev - 1].err_code, 1317);
	drv_clear(&d);
	/* bad SQL state, too small a buffer */
	wbuf_init(&w, mem, sizeof(mem));
	ck_assert_int_eq(mysql_build_err(&w, 1, MYSQL_CLIENT_PROTOCOL_41, 1, "123", "x"),
			 ACRA_EINVAL);
	wbuf_init(&w, mem, 8);
	ck_assert_int_eq(mysql_build_err(&w, 1, MYSQL_CLIENT_PROTOCOL_41, 1, "HY000", "too long"),
			 ACRA_ERANGE);
}
END_TEST

START_TEST(test_caps_clear)
{
	struct drv d;
	struct script sc = { 0 };
	uint8_t buf[256], hr[128];
	size_t hl, used;
	struct mysql_msg m;
	struct mysql_greeting g;
	struct mysql_handshake h;

	drv_init(&d, NULL);
	buf[0] = sizeof(greeting8) - 1;
	buf[1] = buf[2] = buf[3] = 0;
	memcpy(buf + 4, greeting8, sizeof(greeting8) - 1);
	ck_assert_int_eq(mysql_greeting_parse(buf + 4, sizeof(greeting8) - 1, &g), 0);
	ck_assert(g.caps & MYSQL_CLIENT_COMPRESS);
	ck_assert_uint_eq(g.conn_id, 42);
	ck_assert_uint_eq(g.plugin.len, strlen("caching_sha2_password"));
	ck_assert_int_eq(mysql_feed(&d.s, MYSQL_FROM_SERVER, buf, sizeof(greeting8) + 3, &used, &m),
			 MYSQL_MSG);
	ck_assert(m.caps_edit);
	ck_assert_int_eq(mysql_caps_clear(&d.s, &m, buf), 0);
	ck_assert_int_eq(mysql_greeting_parse(buf + 4, sizeof(greeting8) - 1, &g), 0);
	ck_assert(!(g.caps & MYSQL_CLIENT_COMPRESS));
	ck_assert(!(g.caps & MYSQL_CLIENT_ZSTD_COMPRESSION));
	ck_assert(g.caps & MYSQL_CLIENT_DEPRECATE_EOF); /* supported flags stay */
	ck_assert(g.caps & MYSQL_CLIENT_SSL);
	/* the client's response, MariaDB style (no CLIENT_MYSQL, extended caps at 28) */
	handshake_response(hr + 4, &hl,
			   (CLI_CAPS & ~(uint32_t)MYSQL_CLIENT_LONG_PASSWORD) | MYSQL_CLIENT_COMPRESS);
	wr_le32(hr + 4 + 28, (uint32_t)((MARIADB_CLIENT_PROGRESS | MARIADB_CLIENT_EXTENDED_METADATA |
					 MARIADB_CLIENT_CACHE_METADATA) >>
					32));
	hr[0] = (uint8_t)hl;
	hr[1] = hr[2] = 0;
	hr[3] = 1;
	ck_assert_int_eq(mysql_feed(&d.s, MYSQL_FROM_CLIENT, hr, hl + 4, &used, &m), MYSQL_MSG);
	ck_assert_int_eq(m.kind, MYSQL_K_HANDSHAKE_RESPONSE);
	ck_assert(!(mysql_session_caps(&d.s) & MYSQL_CLIENT_COMPRESS));
	ck_assert_int_eq(mysql_caps_clear(&d.s, &m, hr), 0);
	ck_assert_int_eq(mysql_handshake_parse(hr + 4, hl, &h), 0);
	ck_assert(!(h.caps & MYSQL_CLIENT_COMPRESS));
	ck_assert(!(h.caps & MARIADB_CLIENT_PROGRESS));
	ck_assert(!(h.caps & MARIADB_CLIENT_CACHE_METADATA));
	ck_assert(h.caps & MARIADB_CLIENT_EXTENDED_METADATA);
	ck_assert_uint_eq(h.user.len, 4);
	ck_assert_uint_eq(h.auth.len, 20);
	ck_assert_uint_eq(h.db.len, 2);
	/* other kinds are refused */
	m.kind = MYSQL_K_OK;
	ck_assert_int_eq(mysql_caps_clear(&d.s, &m, hr), ACRA_EINVAL);
	drv_clear(&d);
	sc_free(&sc);
}
END_TEST

START_TEST(test_ssl_and_auth_switch)
{
	struct script sc = { 0 };
	struct drv d;
	uint8_t hr[128];
	size_t hl;

	S_PKT(&sc, 0, greeting8);
	handshake_response(hr, &hl, CLI_CAPS | MYSQL_CLIENT_SSL);
	sc_pkt(&sc, MYSQL_FROM_CLIENT, 1, hr, 32); /* SSLRequest: first 32 bytes */
	sc_pkt(&sc, MYSQL_FROM_CLIENT, 2, hr, hl); /* after TLS */
	S_PKT(&sc, 3, "\xfe" "mysql_native_password\0" "0123456789abcdefghij\0");
	C_PKT(&sc, 4, "01234567890123456789");
	S_PKT(&sc, 5, "\x01\x04"); /* caching_sha2: perform full authentication */
	C_PKT(&sc, 6, "\x02");     /* request the RSA public key */
	S_PKT(&sc, 7, "\x01-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n");
	C_PKT(&sc, 8, "encrypted-password-bytes");
	S_PKT(&sc, 9, "\x00\x00\x00\x02\x00\x00\x00");
	C_PKT(&sc, 0, "\x02" "db");
	S_PKT(&sc, 1, "\x00\x00\x00\x02\x00\x00\x00");
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_int_eq(d.ev[1].kind, MYSQL_K_SSL_REQUEST);
	ck_assert_int_eq(d.ev[2].kind, MYSQL_K_HANDSHAKE_RESPONSE);
	ck_assert_int_eq(d.ev[3].kind, MYSQL_K_AUTH_SWITCH);
	ck_assert_int_eq(d.ev[4].kind, MYSQL_K_AUTH_DATA);
	ck_assert_int_eq(d.ev[5].kind, MYSQL_K_AUTH_MORE_DATA);
	ck_assert_int_eq(d.ev[7].kind, MYSQL_K_AUTH_MORE_DATA);
	ck_assert_int_eq(d.ev[9].kind, MYSQL_K_OK);
	ck_assert_int_eq(d.ev[10].cmd, MYSQL_COM_INIT_DB);
	ck_assert_int_eq(d.ev[11].kind, MYSQL_K_OK);
	ck_assert_uint_eq(d.n_ev, 12);
	drv_clear(&d);
	check_splits(&sc, NULL);
	sc_free(&sc);
	/* an SSLRequest without CLIENT_SSL is a truncated response */
	S_PKT(&sc, 0, greeting8);
	handshake_response(hr, &hl, CLI_CAPS);
	sc_pkt(&sc, MYSQL_FROM_CLIENT, 1, hr, 32);
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), ACRA_EPROTO);
	drv_clear(&d);
	sc_free(&sc);
}
END_TEST

START_TEST(test_prepared_statements)
{
	struct script sc = { 0 };
	struct drv d;
	struct mysql_limits lim;
	uint32_t n;
	const struct mysql_col *cols;

	connect_phase(&sc, CLI_CAPS);
	C_PKT(&sc, 0, "\x16select id, s from t where id > ?");
	S_PKT(&sc, 1, "\x00\x07\x00\x00\x00\x02\x00\x01\x00\x00\x00\x00");
	s_coldef(&sc, 2, "?", MYSQL_TYPE_VAR_STRING);
	S_PKT(&sc, 3, "\xfe\x00\x00\x02\x00");
	s_coldef(&sc, 4, "id", MYSQL_TYPE_LONG);
	s_coldef(&sc, 5, "s", MYSQL_TYPE_VAR_STRING);
	S_PKT(&sc, 6, "\xfe\x00\x00\x02\x00");
	/* execute with a LONGLONG parameter bound */
	C_PKT(&sc, 0, "\x17\x07\x00\x00\x00\x00\x01\x00\x00\x00\x00\x01\x08\x00"
		      "\x01\x00\x00\x00\x00\x00\x00\x00");
	S_PKT(&sc, 1, "\x02");
	s_coldef(&sc, 2, "id", MYSQL_TYPE_LONG);
	s_coldef(&sc, 3, "s", MYSQL_TYPE_VAR_STRING);
	S_PKT(&sc, 4, "\xfe\x00\x00\x02\x00");
	S_PKT(&sc, 5, "\x00\x00\x05\x00\x00\x00\x03" "abc");
	S_PKT(&sc, 6, "\x00\x08\x06\x00\x00\x00"); /* s NULL */
	S_PKT(&sc, 7, "\xfe\x00\x00\x02\x00");
	/* long data and reset */
	C_PKT(&sc, 0, "\x18\x07\x00\x00\x00\x00\x00" "chunk");
	C_PKT(&sc, 0, "\x1a\x07\x00\x00\x00");
	S_PKT(&sc, 1, "\x00\x00\x00\x02\x00\x00\x00");
	/* execute again without types, opening a cursor; fetch */
	C_PKT(&sc, 0, "\x17\x07\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00"
		      "\x02\x00\x00\x00\x00\x00\x00\x00");
	S_PKT(&sc, 1, "\x02");
	s_coldef(&sc, 2, "id", MYSQL_TYPE_LONG);
	s_coldef(&sc, 3, "s", MYSQL_TYPE_VAR_STRING);
	S_PKT(&sc, 4, "\xfe\x00\x00\x42\x00"); /* CURSOR_EXISTS */
	C_PKT(&sc, 0, "\x1c\x07\x00\x00\x00\x0a\x00\x00\x00");
	S_PKT(&sc, 1, "\x00\x00\x09\x00\x00\x00\x01z");
	S_PKT(&sc, 2, "\xfe\x00\x00\xc2\x00"); /* LAST_ROW_SENT */
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(mysql_stmt_count(&d.s), 1);
	cols = mysql_stmt_cols(&d.s, 7, &n);
	ck_assert_ptr_nonnull(cols);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(cols[0].type, MYSQL_TYPE_LONG);
	VALS_EQ(&d, "\x05\x00\x00\x00|abc|\x06\x00\x00\x00|N|\x09\x00\x00\x00|z|");
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_BINARY_ROW), 3);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_PREPARE_OK), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_PARAM_DEF), 1);
	/* close frees the statement; it has no answer */
	ck_assert_int_eq(PUSH_C(&d, 0, "\x19\x07\x00\x00\x00"), 0);
	ck_assert_uint_eq(mysql_stmt_count(&d.s), 0);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x0e"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x00\x00\x00\x02\x00\x00\x00"), 0);
	drv_clear(&d);
	check_splits(&sc, NULL);
	sc_free(&sc);

	/* the registry is bounded: only 2 statements are remembered */
	mysql_limits_default(&lim);
	lim.max_stmts = 2;
	connect_phase(&sc, CLI_CAPS | MYSQL_CLIENT_DEPRECATE_EOF);
	for (uint8_t i = 1; i <= 4; i++) {
		uint8_t ok[12] = { 0, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

		C_PKT(&sc, 0, "\x16select 1");
		sc_pkt(&sc, MYSQL_FROM_SERVER, 1, ok, sizeof(ok));
	}
	drv_init(&d, &lim);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(mysql_stmt_count(&d.s), 2);
	/* COM_RESET_CONNECTION forgets them all */
	ck_assert_int_eq(PUSH_C(&d, 0, "\x1f"), 0);
	ck_assert_uint_eq(mysql_stmt_count(&d.s), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x00\x00\x00\x02\x00\x00\x00"), 0);
	drv_clear(&d);
	sc_free(&sc);
}
END_TEST

START_TEST(test_change_user)
{
	struct script sc = { 0 };
	struct drv d;

	connect_phase(&sc, CLI_CAPS | MYSQL_CLIENT_DEPRECATE_EOF);
	C_PKT(&sc, 0, "\x16select 1");
	S_PKT(&sc, 1, "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00");
	C_PKT(&sc, 0, "\x11u2\0\x00db\0");
	S_PKT(&sc, 1, "\xfe" "mysql_native_password\0" "0123456789abcdefghij\0");
	C_PKT(&sc, 2, "01234567890123456789");
	S_PKT(&sc, 3, "\x00\x00\x00\x02\x00\x00\x00");
	C_PKT(&sc, 0, "\x0e");
	S_PKT(&sc, 1, "\x00\x00\x00\x02\x00\x00\x00");
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(mysql_stmt_count(&d.s), 0);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_OK);
	drv_clear(&d);
	check_splits(&sc, NULL);
	sc_free(&sc);
}
END_TEST

START_TEST(test_multi_results_infile_err)
{
	struct script sc = { 0 };
	struct drv d;
	bool de = _i == 1;
	uint8_t q = 1;

	connect_phase(&sc, CLI_CAPS | MYSQL_CLIENT_MULTI_STATEMENTS |
				   (de ? (uint32_t)MYSQL_CLIENT_DEPRECATE_EOF : 0));
	C_PKT(&sc, 0, "\x03select 1; update t set a=1; load data local infile 'f' into t; select 2");
	S_PKT(&sc, q++, "\x01");
	s_coldef(&sc, q++, "1", MYSQL_TYPE_LONGLONG);
	if (!de)
		S_PKT(&sc, q++, "\xfe\x00\x00\x0a\x00");
	S_PKT(&sc, q++, "\x01" "1");
	if (de)
		S_PKT(&sc, q++, "\xfe\x00\x00\x0a\x00\x00\x00"); /* MORE_RESULTS */
	else
		S_PKT(&sc, q++, "\xfe\x00\x00\x0a\x00");
	S_PKT(&sc, q++, "\x00\x01\x00\x0a\x00\x00\x00"); /* OK, 1 row, MORE_RESULTS */
	S_PKT(&sc, q++, "\xfb" "f");
	sc_pkt(&sc, MYSQL_FROM_CLIENT, q++, "1\tone\n", 6);
	sc_pkt(&sc, MYSQL_FROM_CLIENT, q++, "", 0);
	S_PKT(&sc, q++, "\x00\x01\x00\x0a\x00\x00\x00");
	S_PKT(&sc, q++, "\x01");
	s_coldef(&sc, q++, "2", MYSQL_TYPE_LONGLONG);
	if (!de)
		S_PKT(&sc, q++, "\xfe\x00\x00\x0a\x00");
	S_PKT(&sc, q++, "\x01" "2");
	S_PKT(&sc, q++, "\xff\xda\x04#21000Subquery returns more than 1 row"); /* mid-result */
	C_PKT(&sc, 0, "\x0e");
	S_PKT(&sc, 1, "\x00\x00\x00\x02\x00\x00\x00");
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	VALS_EQ(&d, "1|2|");
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_INFILE_REQUEST), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_INFILE_DATA), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_INFILE_END), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_COLUMN_COUNT), 2);
	ck_assert_int_eq(d.ev[d.n_ev - 3].kind, MYSQL_K_ERR);
	ck_assert(d.ev[d.n_ev - 3].last);
	drv_clear(&d);
	check_splits(&sc, NULL);
	sc_free(&sc);
}
END_TEST

START_TEST(test_pipelined_and_unsolicited)
{
	struct script sc = { 0 };
	struct drv d;

	connect_phase(&sc, CLI_CAPS);
	/* two pings back to back, two OKs back to back */
	C_PKT(&sc, 0, "\x0e");
	C_PKT(&sc, 0, "\x0e");
	S_PKT(&sc, 1, "\x00\x00\x00\x02\x00\x00\x00");
	S_PKT(&sc, 1, "\x00\x00\x00\x02\x00\x00\x00");
	/* statistics: a plain string */
	C_PKT(&sc, 0, "\x09");
	S_PKT(&sc, 1, "Uptime: 1  Threads: 1");
	/* the server hangs up with an ERR nobody asked for */
	S_PKT(&sc, 0, "\xff\xa7\x0f#HY000The client was disconnected");
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_OK), 3);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_STRING), 1);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_ERR);
	ck_assert_int_eq(d.ev[d.n_ev - 1].err_code, 4007);
	/* nothing more is accepted */
	ck_assert_int_eq(PUSH_C(&d, 0, "\x0e"), ACRA_EPROTO);
	drv_clear(&d);
	check_splits(&sc, NULL);
	sc_free(&sc);
	/* a server answer with nothing pending */
	ready(&d, &sc, 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x00\x00\x00\x02\x00\x00\x00"), ACRA_EPROTO);
	drv_clear(&d);
}
END_TEST

/* A logical message of 0xFFFFFF + extra bytes arrives as 2 packets; rewriting it to fewer
 * or more packets shifts the sequence ids of the rest of the answer. */
START_TEST(test_split_16mib)
{
	const size_t big = MYSQL_MAX_PAYLOAD + 100;
	struct mysql_session s;
	struct mysql_msg m;
	struct wbuf in, out, row;
	struct mysql_row_it it;
	struct mysql_val v;
	struct mysql_repl r;
	size_t used, off;
	uint8_t pl[64];
	unsigned k;
	uint8_t hr[128];
	size_t hl;

	ck_assert_int_eq(wbuf_init_alloc(&in, 2 * big + 1024), 0);
	ck_assert_int_eq(wbuf_init_alloc(&row, big + 16), 0);
	ck_assert_int_eq(wbuf_init_alloc(&out, 2 * big + 1024), 0);
	/* session to a text result with one column */
	ck_assert_int_eq(mysql_session_init(&s, NULL), 0);
	ck_assert_int_eq(mysql_packetize(&in, (const uint8_t *)greeting8, sizeof(greeting8) - 1, 0,
					 NULL),
			 0);
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p, in.len, &used, &m), MYSQL_MSG);
	in.len = 0;
	handshake_response(hr, &hl, CLI_CAPS | MYSQL_CLIENT_DEPRECATE_EOF);
	ck_assert_int_eq(mysql_packetize(&in, hr, hl, 1, NULL), 0);
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_CLIENT, in.p, in.len, &used, &m), MYSQL_MSG);
	in.len = 0;
	ck_assert_int_eq(mysql_packetize(&in, (const uint8_t *)"\x00\x00\x00\x02\x00\x00\x00", 7,
					 2, NULL),
			 0);
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p, in.len, &used, &m), MYSQL_MSG);
	in.len = 0;
	ck_assert_int_eq(mysql_packetize(&in, (const uint8_t *)"\x03select", 7, 0, NULL), 0);
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_CLIENT, in.p, in.len, &used, &m), MYSQL_MSG);
	in.len = 0;
	/* server: count, coldef, one big row, one small row, OK */
	ck_assert_int_eq(mysql_packetize(&in, (const uint8_t *)"\x01", 1, 1, NULL), 0);
	ck_assert_int_eq(mysql_packetize(&in, pl, coldef(pl, "c", MYSQL_TYPE_BLOB), 2, NULL), 0);
	/* row payload: 0xfe + 8-byte length + value: starts like an EOF but is a row */
	wbuf_put_u8(&row, 0xfe);
	wbuf_put_le64(&row, big - 9);
	memset(wbuf_reserve(&row, big - 9), 'v', big - 9);
	ck_assert(!row.failed);
	ck_assert_int_eq(mysql_packetize(&in, row.p, row.len, 3, &k), 0);
	ck_assert_uint_eq(k, 2);
	ck_assert_int_eq(mysql_packetize(&in, (const uint8_t *)"\x01x", 2, 5, NULL), 0);
	ck_assert_int_eq(mysql_packetize(&in, (const uint8_t *)"\xfe\x00\x00\x02\x00\x00\x00", 7,
					 6, NULL),
			 0);
	off = 0;
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p, in.len, &used, &m), MYSQL_MSG);
	off += used;
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p + off, in.len - off, &used, &m),
			 MYSQL_MSG);
	off += used;
	/* the big row: not there until every byte of both packets is */
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p + off, MYSQL_MAX_PAYLOAD + 8,
				    &used, &m),
			 MYSQL_NEED_MORE);
	ck_assert_uint_eq(m.wire_len, big + 8);
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p + off, in.len - off, &used, &m),
			 MYSQL_MSG);
	ck_assert_int_eq(m.kind, MYSQL_K_TEXT_ROW);
	ck_assert_uint_eq(m.n_seg, 2);
	ck_assert_uint_eq(m.payload_len, big);
	ck_assert_uint_eq(used, big + 8);
	{
		struct bytes pv;

		ck_assert_int_eq(mysql_msg_payload(&m, &pv), ACRA_ERANGE);
	}
	row.len = 0;
	ck_assert_int_eq(mysql_msg_flatten(&m, &row), 0);
	ck_assert_int_eq(mysql_row_init(&it, row.p, row.len, false, 1, m.cols), 0);
	ck_assert_int_eq(mysql_row_next(&it, &v), 1);
	ck_assert_uint_eq(v.v.len, big - 9);
	ck_assert_int_eq(mysql_row_next(&it, &v), 0);
	/* shrink it to one packet: later packets go out one sequence id lower */
	r = (struct mysql_repl){ 0, { (const uint8_t *)"small", 5 }, false };
	{
		struct wbuf nr;
		uint8_t nm[64];

		wbuf_init(&nr, nm, sizeof(nm));
		ck_assert_int_eq(mysql_row_rebuild(&nr, row.p, row.len, false, 1, m.cols, &r, 1),
				 0);
		ck_assert_int_eq(mysql_emit(&s, &m, nr.p, nr.len, &out), 0);
		ck_assert_uint_eq(out.len, 4 + 6);
		ck_assert_uint_eq(out.p[3], 3);
	}
	off += used;
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p + off, in.len - off, &used, &m),
			 MYSQL_MSG);
	ck_assert_uint_eq(m.seq, 5);
	ck_assert_uint_eq(m.seq_out, 4);
	/* and grow the small row past 16 MiB: two packets, later ids one higher again */
	r = (struct mysql_repl){ 0, { row.p + 9, big - 9 }, false };
	{
		struct wbuf nr;

		ck_assert_int_eq(wbuf_init_alloc(&nr, big + 16), 0);
		ck_assert_int_eq(mysql_row_rebuild(&nr, m.seg[0].p, m.seg[0].len, false, 1, m.cols,
						   &r, 1),
				 0);
		out.len = 0;
		ck_assert_int_eq(mysql_emit(&s, &m, nr.p, nr.len, &out), 0);
		ck_assert_uint_eq(out.len, nr.len + 8);
		ck_assert_uint_eq(out.p[3], 4);
		ck_assert_uint_eq(out.p[4 + MYSQL_MAX_PAYLOAD + 3], 5);
		wbuf_clear(&nr);
	}
	off += used;
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p + off, in.len - off, &used, &m),
			 MYSQL_MSG);
	ck_assert_int_eq(m.kind, MYSQL_K_EOF);
	ck_assert_uint_eq(m.seq, 6);
	ck_assert_uint_eq(m.seq_out, 6);
	ck_assert(m.last);
	{
		/* pass-through with rewritten ids */
		struct mysql_msg mm = m;
		uint8_t copy[16];

		memcpy(copy, in.p + off, used);
		mm.seq_out = 9;
		mysql_fix_seq(&mm, copy);
		ck_assert_uint_eq(copy[3], 9);
	}
	/* a payload of exactly 0xFFFFFF bytes is followed by an empty packet */
	out.len = 0;
	ck_assert_int_eq(mysql_packetize(&out, row.p, MYSQL_MAX_PAYLOAD, 0, &k), 0);
	ck_assert_uint_eq(k, 2);
	ck_assert_uint_eq(out.len, MYSQL_MAX_PAYLOAD + 8);
	ck_assert_uint_eq(out.p[out.len - 4], 0);
	ck_assert_uint_eq(out.p[out.len - 1], 1);
	/* and an empty payload is one empty packet */
	out.len = 0;
	ck_assert_int_eq(mysql_packetize(&out, NULL, 0, 7, &k), 0);
	ck_assert_uint_eq(k, 1);
	ck_assert_uint_eq(out.len, 4);
	mysql_session_clear(&s);
	wbuf_clear(&in);
	wbuf_clear(&out);
	wbuf_clear(&row);
}
END_TEST

START_TEST(test_split_seq_gap)
{
	/* second packet of a split message with a wrong sequence id */
	struct mysql_session s;
	struct mysql_msg m;
	size_t used;
	struct wbuf in;

	ck_assert_int_eq(wbuf_init_alloc(&in, MYSQL_MAX_PAYLOAD + 64), 0);
	ck_assert_int_eq(mysql_session_init(&s, NULL), 0);
	ck_assert_int_eq(mysql_packetize(&in, (const uint8_t *)greeting8, sizeof(greeting8) - 1, 0,
					 NULL),
			 0);
	in.len = 0;
	wbuf_put(&in, "\xff\xff\xff\x00", 4);
	memset(wbuf_reserve(&in, MYSQL_MAX_PAYLOAD), 0x0a, MYSQL_MAX_PAYLOAD);
	wbuf_put(&in, "\x01\x00\x00\x05" "x", 5);
	ck_assert(!in.failed);
	ck_assert_int_eq(mysql_feed(&s, MYSQL_FROM_SERVER, in.p, in.len, &used, &m), ACRA_EPROTO);
	mysql_session_clear(&s);
	wbuf_clear(&in);
}
END_TEST

START_TEST(test_query_text_attributes)
{
	/* one attribute "a" = VAR_STRING "x", then the SQL */
	static const char q[] = "\x03\x01\x01\x00\x01\xfd\x00\x01"
				"a"
				"\x01"
				"x"
				"select 1";
	static const char qnull[] = "\x03\x01\x01\x01\x01\xfd\x00\x01"
				    "a"
				    "select 2";
	struct bytes sql;

	ck_assert_int_eq(mysql_query_text((const uint8_t *)q, sizeof(q) - 1,
					  MYSQL_CLIENT_QUERY_ATTRIBUTES, &sql),
			 0);
	ck_assert_uint_eq(sql.len, 8);
	ck_assert_int_eq(memcmp(sql.p, "select 1", 8), 0);
	ck_assert_int_eq(mysql_query_text((const uint8_t *)qnull, sizeof(qnull) - 1,
					  MYSQL_CLIENT_QUERY_ATTRIBUTES, &sql),
			 0);
	ck_assert_int_eq(memcmp(sql.p, "select 2", 8), 0);
	/* without the capability the whole rest is SQL */
	ck_assert_int_eq(mysql_query_text((const uint8_t *)q, sizeof(q) - 1, 0, &sql), 0);
	ck_assert_uint_eq(sql.len, sizeof(q) - 2);
	/* every truncation of the attribute block fails */
	for (size_t k = 1; k < 11; k++)
		ck_assert_int_eq(mysql_query_text((const uint8_t *)q, k,
						  MYSQL_CLIENT_QUERY_ATTRIBUTES, &sql),
				 ACRA_EPROTO);
}
END_TEST

START_TEST(test_mariadb_progress)
{
	struct script sc = { 0 };
	struct drv d;
	static const char mgreet[] = "\x0a"
				     "5.5.5-10.11.19-MariaDB\0"
				     "\x09\x00\x00\x00"
				     "12345678\x00"
				     "\xfe\xf7\x08\x02\x00\xff\x81\x15"
				     "\x00\x00\x00\x00\x00\x00"
				     "\x1d\x00\x00\x00" /* extended caps */
				     "abcdefghijkl\x00"
				     "mysql_native_password";
	uint8_t hr[128];
	size_t hl;
	struct mysql_limits lim;

	mysql_limits_default(&lim);
	lim.clear_caps &= ~MARIADB_CLIENT_PROGRESS; /* let progress reports through */
	S_PKT(&sc, 0, mgreet);
	handshake_response(hr, &hl, CLI_CAPS & ~(uint32_t)MYSQL_CLIENT_LONG_PASSWORD);
	wr_le32(hr + 28, (uint32_t)(MARIADB_CLIENT_PROGRESS >> 32));
	sc_pkt(&sc, MYSQL_FROM_CLIENT, 1, hr, hl);
	S_PKT(&sc, 2, "\x00\x00\x00\x02\x00\x00\x00");
	C_PKT(&sc, 0, "\x03" "alter table t add c int");
	S_PKT(&sc, 1, "\xff\xff\xff\x01\x01\x01\x10\x27\x00\x00\x00");
	S_PKT(&sc, 2, "\x00\x00\x00\x02\x00\x00\x00");
	drv_init(&d, &lim);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert(mysql_session_caps(&d.s) & MARIADB_CLIENT_PROGRESS);
	ck_assert_int_eq(d.ev[d.n_ev - 2].kind, MYSQL_K_PROGRESS);
	ck_assert(!d.ev[d.n_ev - 2].last);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_OK);
	drv_clear(&d);
	sc_free(&sc);
}
END_TEST

START_TEST(test_drop_and_reframe_command)
{
	struct script sc = { 0 };
	struct drv d;
	struct mysql_msg m;
	struct wbuf big, out;
	size_t used;
	uint8_t pkt[16];

	/* the proxy answers a PREPARE itself: the server never sees it */
	ready(&d, &sc, 0);
	ck_assert_int_eq(drv_push(&d, MYSQL_FROM_CLIENT,
				  (const uint8_t *)"\x09\x00\x00\x00\x16select ?", 13),
			 0);
	ck_assert_uint_eq(d.n_ev, 5);
	{
		struct mysql_msg dm = { 0 };

		dm.dir = MYSQL_FROM_CLIENT;
		dm.kind = MYSQL_K_COMMAND;
		dm.cmd = MYSQL_COM_STMT_PREPARE;
		mysql_drop_command(&d.s, &dm);
	}
	ck_assert_int_eq(PUSH_C(&d, 0, "\x0e"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x00\x00\x00\x02\x00\x00\x00"), 0);
	ck_assert_int_eq(d.ev[d.n_ev - 1].kind, MYSQL_K_OK);
	drv_clear(&d);

	/* a query rewritten to a payload of 0xFFFFFF bytes takes 2 packets: the server answers
	 * with sequence id 2, the client must see 1 */
	ready(&d, &sc, 0);
	memcpy(pkt, "\x09\x00\x00\x00\x03select 1", 13);
	ck_assert_int_eq(mysql_feed(&d.s, MYSQL_FROM_CLIENT, pkt, 13, &used, &m), MYSQL_MSG);
	ck_assert_int_eq(wbuf_init_alloc(&big, MYSQL_MAX_PAYLOAD), 0);
	ck_assert_int_eq(wbuf_init_alloc(&out, MYSQL_MAX_PAYLOAD + 16), 0);
	memset(wbuf_reserve(&big, MYSQL_MAX_PAYLOAD), ' ', MYSQL_MAX_PAYLOAD);
	big.p[0] = MYSQL_COM_QUERY;
	ck_assert_int_eq(mysql_emit(&d.s, &m, big.p, big.len, &out), 0);
	ck_assert_uint_eq(out.len, MYSQL_MAX_PAYLOAD + 8);
	memcpy(pkt, "\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00", 11);
	ck_assert_int_eq(mysql_feed(&d.s, MYSQL_FROM_SERVER, pkt, 11, &used, &m), MYSQL_MSG);
	ck_assert_int_eq(m.kind, MYSQL_K_OK);
	ck_assert_uint_eq(m.seq, 2);
	ck_assert_uint_eq(m.seq_out, 1);
	mysql_fix_seq(&m, pkt);
	ck_assert_uint_eq(pkt[3], 1);
	wbuf_clear(&big);
	wbuf_clear(&out);
	drv_clear(&d);
}
END_TEST

START_TEST(test_field_list_set_option_direct_exec)
{
	struct script sc = { 0 };
	struct drv d;
	uint32_t n = 0;

	connect_phase(&sc, CLI_CAPS | MYSQL_CLIENT_DEPRECATE_EOF);
	/* COM_FIELD_LIST: definitions with default values, then a terminator */
	C_PKT(&sc, 0, "\x04t\0");
	{
		uint8_t b[256];
		size_t k = coldef(b, "a", MYSQL_TYPE_LONG);

		b[k++] = 0x01;
		b[k++] = '0'; /* default value "0" */
		sc_pkt(&sc, MYSQL_FROM_SERVER, 1, b, k);
	}
	s_coldef(&sc, 2, "b", MYSQL_TYPE_BLOB);
	S_PKT(&sc, 3, "\xfe\x00\x00\x02\x00\x00\x00");
	/* COM_SET_OPTION is answered with an EOF_Packet even with DEPRECATE_EOF */
	C_PKT(&sc, 0, "\x1b\x00\x00");
	S_PKT(&sc, 1, "\xfe\x00\x00\x02\x00");
	/* MariaDB: PREPARE and EXECUTE(-1) pipelined, answers after both */
	C_PKT(&sc, 0, "\x16select ?");
	C_PKT(&sc, 0, "\x17\xff\xff\xff\xff\x00\x01\x00\x00\x00\x00\x01\xfd\x00\x01x");
	S_PKT(&sc, 1, "\x00\x05\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00");
	s_coldef(&sc, 2, "?", MYSQL_TYPE_VAR_STRING);
	s_coldef(&sc, 3, "?", MYSQL_TYPE_VAR_STRING);
	S_PKT(&sc, 1, "\x01");
	s_coldef(&sc, 2, "?", MYSQL_TYPE_VAR_STRING);
	S_PKT(&sc, 3, "\x00\x00\x01x");
	S_PKT(&sc, 4, "\xfe\x00\x00\x02\x00\x00\x00");
	drv_init(&d, NULL);
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_EOF), 3);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_BINARY_ROW), 1);
	VALS_EQ(&d, "x|");
	ck_assert_ptr_nonnull(mysql_stmt_cols(&d.s, 5, &n));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(d.ev[d.n_ev - 2].stmt_id, 5);
	drv_clear(&d);
	check_splits(&sc, NULL);
	sc_free(&sc);
}
END_TEST

START_TEST(test_exec_params)
{
	struct script sc = { 0 };
	struct drv d;
	struct mysql_exec e;
	struct mysql_param prm;
	/* 3 parameters: LONGLONG 7, NULL, VAR_STRING "hi" */
	static const char ex1[] = "\x17\x07\x00\x00\x00\x00\x01\x00\x00\x00"
				  "\x02\x01"
				  "\x08\x80\x06\x00\xfd\x00"
				  "\x07\x00\x00\x00\x00\x00\x00\x00"
				  "\x02hi";
	/* the same statement again, types not re-sent */
	static const char ex2[] = "\x17\x07\x00\x00\x00\x00\x01\x00\x00\x00"
				  "\x02\x00"
				  "\x09\x00\x00\x00\x00\x00\x00\x00"
				  "\x03" "abc";

	ready(&d, &sc, MYSQL_CLIENT_DEPRECATE_EOF);
	ck_assert_int_eq(PUSH_C(&d, 0, "\x16insert into t values (?, ?, ?)"), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x00\x07\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00"), 0);
	for (uint8_t i = 0; i < 3; i++) {
		uint8_t b[256];

		ck_assert_int_eq(push_pkt(&d, MYSQL_FROM_SERVER, (uint8_t)(2 + i), b,
					  coldef(b, "?", MYSQL_TYPE_VAR_STRING)),
				 0);
	}
	/* before any execute bound types, an execute without types cannot be read */
	ck_assert_int_eq(mysql_exec_parse(&d.s, (const uint8_t *)ex2, sizeof(ex2) - 1, &e),
			 ACRA_ENOKEY);
	ck_assert_int_eq(PUSH_C(&d, 0, ex1), 0);
	ck_assert_int_eq(mysql_exec_parse(&d.s, (const uint8_t *)ex1, sizeof(ex1) - 1, &e), 0);
	ck_assert_uint_eq(e.n_params, 3);
	ck_assert(e.types_sent);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 1);
	ck_assert_uint_eq(prm.type, MYSQL_TYPE_LONGLONG);
	ck_assert(prm.is_unsigned);
	ck_assert_uint_eq(prm.v.len, 8);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 1);
	ck_assert(prm.is_null);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 1);
	ck_assert_uint_eq(prm.v.len, 2);
	ck_assert_int_eq(memcmp(prm.v.p, "hi", 2), 0);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 0);
	ck_assert_int_eq(PUSH_S(&d, 1, "\x00\x01\x00\x02\x00\x00\x00"), 0);
	/* the second execute reads with the remembered types */
	ck_assert_int_eq(mysql_exec_parse(&d.s, (const uint8_t *)ex2, sizeof(ex2) - 1, &e), 0);
	ck_assert(!e.types_sent);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 1);
	ck_assert_uint_eq(prm.type, MYSQL_TYPE_LONGLONG);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 1);
	ck_assert(prm.is_null);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 1);
	ck_assert_uint_eq(prm.type, MYSQL_TYPE_VAR_STRING);
	ck_assert_int_eq(memcmp(prm.v.p, "abc", 3), 0);
	ck_assert_int_eq(mysql_exec_next(&e, &prm), 0);
	/* truncated: every shorter payload fails at parse or while iterating */
	for (size_t k = 0; k < sizeof(ex1) - 1; k++) {
		int rc = mysql_exec_parse(&d.s, (const uint8_t *)ex1, k, &e);

		while (rc == 0 && (rc = mysql_exec_next(&e, &prm)) == 1)
			;
		ck_assert_int_eq(rc, ACRA_EPROTO);
	}
	/* an unknown statement */
	{
		char other[sizeof(ex1)];

		memcpy(other, ex1, sizeof(ex1));
		other[1] = 9;
		ck_assert_int_eq(mysql_exec_parse(&d.s, (const uint8_t *)other, sizeof(ex1) - 1,
						  &e),
				 ACRA_ENOKEY);
	}
	drv_clear(&d);
}
END_TEST

/* ---- recorded MariaDB sessions ---- */

/* No proxy edited the capabilities of these recordings: follow what the peers agreed. */
static const struct mysql_limits *raw_limits(void)
{
	static struct mysql_limits lim;

	mysql_limits_default(&lim);
	lim.clear_caps = 0;
	return &lim;
}

START_TEST(test_recorded_text_eof)
{
	struct script sc = { 0 };
	struct drv d;

	/* PyMySQL: SELECT of 2 rows, multi-statement, LOAD DATA LOCAL, ERR after metadata */
	sc_load(&sc, "vectors/mysql-text-eof.hex");
	drv_init(&d, raw_limits());
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert(!(mysql_session_caps(&d.s) & MYSQL_CLIENT_DEPRECATE_EOF));
	/* row 1: id, s, b (00 ff), d, f, n; row 2: id then 5 NULLs */
	ck_assert(HAS(&d, "1|abc|"));
	ck_assert(HAS(&d, "|1.5|2.25|2|N|N|N|N|N|"));
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_TEXT_ROW), 2 + 1 + 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_INFILE_REQUEST), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_INFILE_END), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_ERR), 1);
	for (size_t i = 0; i < d.n_ev; i++)
		if (d.ev[i].kind == MYSQL_K_ERR)
			ck_assert_uint_eq(d.ev[i].err_code, 1242);
	drv_clear(&d);
	check_splits(&sc, raw_limits());
	sc_free(&sc);
}
END_TEST

START_TEST(test_recorded_binary_cursor)
{
	struct script sc = { 0 };
	struct drv d;

	/* prepare, execute twice, execute with a cursor + 2 fetches, reset, close, ping */
	sc_load(&sc, "vectors/mysql-binary-cursor.hex");
	drv_init(&d, raw_limits());
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_PREPARE_OK), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_BINARY_ROW), 2 + 0 + 1 + 1);
	/* the string column of row 1 reads "abc", the blob 00 ff; row 2 has 5 NULLs */
	ck_assert(HAS(&d, "|abc|\x00\xff|"));
	ck_assert(HAS(&d, "|2.25|"));
	ck_assert(HAS(&d, "|N|N|N|N|N|"));
	ck_assert_uint_eq(mysql_stmt_count(&d.s), 0); /* closed at the end */
	drv_clear(&d);
	check_splits(&sc, raw_limits());
	sc_free(&sc);
}
END_TEST

START_TEST(test_recorded_deprecate_eof)
{
	struct script sc = { 0 };
	struct drv d;

	sc_load(&sc, "vectors/mysql-deprecate-eof.hex");
	drv_init(&d, raw_limits());
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert(mysql_session_caps(&d.s) & MYSQL_CLIENT_DEPRECATE_EOF);
	/* text rows: 2 + 1 + 1; binary rows: 2 */
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_TEXT_ROW), 4);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_BINARY_ROW), 2);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_PARAM_DEF), 1);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_ERR), 1);
	ck_assert_int_eq(d.ev[d.n_ev - 1].cmd, MYSQL_COM_QUIT);
	drv_clear(&d);
	check_splits(&sc, raw_limits());
	sc_free(&sc);
}
END_TEST

START_TEST(test_recorded_cli_and_authfail)
{
	struct script sc = { 0 };
	struct drv d;

	sc_load(&sc, "vectors/mysql-cli.hex");
	drv_init(&d, raw_limits());
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(count_kind(&d, MYSQL_K_ERR), 1);
	ck_assert(HAS(&d, "abc"));
	drv_clear(&d);
	check_splits(&sc, raw_limits());
	sc_free(&sc);
	/* wrong password: greeting, response, ERR 1045, then nothing */
	sc_load(&sc, "vectors/mysql-authfail.hex");
	drv_init(&d, raw_limits());
	ck_assert_int_eq(run(&d, &sc, 0), 0);
	ck_assert_uint_eq(d.n_ev, 3);
	ck_assert_int_eq(d.ev[2].kind, MYSQL_K_ERR);
	ck_assert_uint_eq(d.ev[2].err_code, 1045);
	ck_assert_int_eq(PUSH_C(&d, 2, "x"), ACRA_EPROTO);
	drv_clear(&d);
	sc_free(&sc);
}
END_TEST

Suite *mysql_suite(void)
{
	Suite *s = suite_create("mysql");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_text_session, 0, 2);
	tcase_add_test(tc, test_truncated_and_need_hint);
	tcase_add_test(tc, test_length_above_max);
	tcase_add_test(tc, test_unknown_and_refused_commands);
	tcase_add_test(tc, test_sequence_out_of_order);
	tcase_add_test(tc, test_column_count_lies);
	tcase_add_test(tc, test_row_value_count_lies);
	tcase_add_test(tc, test_lenenc);
	tcase_add_test(tc, test_coldef_parse);
	tcase_add_test(tc, test_binary_row_all_types);
	tcase_add_test(tc, test_row_rebuild_round_trip);
	tcase_add_test(tc, test_err_builder_round_trip);
	tcase_add_test(tc, test_caps_clear);
	tcase_add_test(tc, test_ssl_and_auth_switch);
	tcase_add_test(tc, test_prepared_statements);
	tcase_add_test(tc, test_change_user);
	tcase_add_loop_test(tc, test_multi_results_infile_err, 0, 2);
	tcase_add_test(tc, test_pipelined_and_unsolicited);
	tcase_add_test(tc, test_split_16mib);
	tcase_add_test(tc, test_split_seq_gap);
	tcase_add_test(tc, test_query_text_attributes);
	tcase_add_test(tc, test_mariadb_progress);
	tcase_add_test(tc, test_drop_and_reframe_command);
	tcase_add_test(tc, test_field_list_set_option_direct_exec);
	tcase_add_test(tc, test_exec_params);
	tcase_add_test(tc, test_recorded_text_eof);
	tcase_add_test(tc, test_recorded_binary_cursor);
	tcase_add_test(tc, test_recorded_deprecate_eof);
	tcase_add_test(tc, test_recorded_cli_and_authfail);
	suite_add_tcase(s, tc);
	return s;
}
