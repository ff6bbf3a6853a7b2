/* contrib/fuzz/fuzz_pg.c: libFuzzer target for proto/pg (both parsers, the session tracker,
 * every body decoder and the DataRow builder).
 *
 * Input: byte 0 picks options (streaming threshold, small limits); then records of
 * [side byte][length: 2 bytes little-endian][bytes], each delivered to that side the way
 * the session glue delivers reads: appended to what is left over, then fed until the
 * parser wants more. A side that returns an error stops (the session would close).
 * The same bytes are also fed to lone parsers in one piece and a byte at a time, which
 * must agree. Invariants are checked with abort(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pg.h"

#define CHECK(c)                                                                    \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                    \
		}                                                                   \
	} while (0)

static uint8_t rebuilt[1 << 17];

/* Run every decoder that applies; results only need to be safe, and a decoded DataRow
 * rebuilt from its columns must reproduce the original bytes. */
static void decode_all(const struct pg_msg *m)
{
	struct pg_startup su;
	struct pg_cancel_key ck;
	struct pg_iter it;
	struct pg_field f;
	struct pg_col c;
	struct pg_bind b;
	struct pg_parse pa;
	struct pg_target t;
	struct pg_execute ex;
	struct pg_error er;
	struct pg_copy_resp cr;
	struct bytes x, y, cur;
	uint32_t code;
	uint16_t n;
	uint8_t st;
	int rc;

	if (pg_decode_startup(m, &su) == 0) {
		cur = su.params;
		while (pg_startup_next_param(&cur, &x, &y) == 1)
			CHECK(x.len > 0);
	}
	(void)pg_decode_cancel(m, &ck);
	(void)pg_decode_backend_key(m, &ck);
	if (pg_rowdesc_begin(m, &it) == 0)
		while (pg_rowdesc_next(&it, &f) == 1)
			;
	if (pg_datarow_begin(m, &it) == 0) {
		struct wbuf w;
		struct pg_rowbuild rb;

		wbuf_init(&w, rebuilt, sizeof(rebuilt));
		pg_datarow_build_begin(&w, &rb);
		while ((rc = pg_values_next(&it, &c)) == 1)
			pg_datarow_build_col(&w, &rb, &c);
		pg_datarow_build_end(&w, &rb);
		if (rc == 0 && !w.failed)
			CHECK(w.len == m->raw.len && memcmp(w.p, m->raw.p, w.len) == 0);
	}
	if (pg_decode_bind(m, &b) == 0) {
		it = b.params;
		while ((rc = pg_values_next(&it, &c)) == 1)
			;
		CHECK(rc == 0 && it.i == b.n_params);
		for (uint16_t i = 0; i < b.n_result_fmts; i++)
			CHECK(pg_fmt_at(b.result_fmts, b.n_result_fmts, i) <= 1);
	}
	if (pg_decode_parse(m, &pa) == 0)
		for (uint16_t i = 0; i < pa.n_types; i++)
			(void)pg_oid_at(pa.types, i);
	(void)pg_decode_target(m, &t);
	(void)pg_decode_execute(m, &ex);
	(void)pg_decode_string(m, &x);
	(void)pg_decode_error(m, &er);
	if (pg_decode_ready(m, &st) == 0)
		CHECK(st == 'I' || st == 'T' || st == 'E');
	(void)pg_decode_copy_resp(m, &cr);
	(void)pg_decode_param_desc(m, &n, &x);
	(void)pg_decode_auth(m, &code, &x);
	(void)pg_decode_param_status(m, &x, &y);
}

struct side_buf {
	uint8_t *p;
	size_t len, cap;
	bool dead;
};

static void deliver(struct pg_session *s, enum pg_side side, struct side_buf *sb,
		    const uint8_t *data, size_t len, size_t max_bytes)
{
	if (sb->dead || len == 0)
		return;
	if (sb->len + len > sb->cap) {
		size_t cap = sb->len + len + 64;
		uint8_t *np = realloc(sb->p, cap);
		if (np == NULL)
			abort();
		sb->p = np;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, data, len);
	sb->len += len;
	for (;;) {
		struct pg_msg m;
		size_t used = 7777;
		int rc = pg_session_feed(s, side, sb->p, sb->len, &used, &m);

		CHECK(used <= sb->len);
		CHECK(pg_session_mem(s) <= max_bytes);
		if (rc < 0) {
			CHECK(rc == ACRA_EPROTO || rc == ACRA_ERANGE || rc == ACRA_ENOMEM);
			sb->dead = true;
			return;
		}
		if (rc == PROTO_NEED_MORE) {
			CHECK(used == 0 && m.need > sb->len);
			return;
		}
		if (rc == PROTO_MSG) {
			CHECK(m.raw.p == sb->p && m.raw.len == used);
			decode_all(&m);
			(void)pg_session_col_format(s, 0);
			(void)pg_session_col_type(s, 3);
		} else {
			CHECK(rc == PROTO_PART && used > 0);
		}
		memmove(sb->p, sb->p + used, sb->len - used);
		sb->len -= used;
	}
}

/* A lone parser over the whole input at once vs. a byte at a time: same messages. */
static void lone(enum pg_side side, const uint8_t *data, size_t size)
{
	struct pg_parser a, b;
	size_t off = 0, have = 0;
	int rca = 0, rcb = 0;

	pg_parser_init(&a, side, 4096);
	pg_parser_init(&b, side, 4096);
	for (;;) {
		struct pg_msg ma, mb;
		size_t ua, ub;

		rca = pg_parser_feed(&a, data + off, size - off, &ua, &ma);
		if (rca != PROTO_MSG)
			break;
		/* b grows its window one byte at a time until it returns something */
		for (;;) {
			rcb = pg_parser_feed(&b, data + off, have - off, &ub, &mb);
			if (rcb != PROTO_NEED_MORE || have == size)
				break;
			have++;
		}
		CHECK(rcb == PROTO_MSG && ub == ua && mb.id == ma.id && mb.len == ma.len);
		if (ma.id == PG_M_SSL_REQUEST || ma.id == PG_M_GSSENC_REQUEST) {
			pg_parser_answered(&a);
			pg_parser_answered(&b);
		}
		off += ua;
		if (have < off)
			have = off;
	}
	if (rca < 0) {
		/* b must fail the same way once it has seen as much as a did */
		size_t ub;
		struct pg_msg mb;
		rcb = pg_parser_feed(&b, data + off, size - off, &ub, &mb);
		CHECK(rcb == rca);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_session s;
	struct pg_limits lim = { 0 };
	struct side_buf sb[2] = { { 0 }, { 0 } };
	size_t off = 1, max_bytes;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		lim.max_stmts = 4;
		lim.max_portals = 2;
		lim.max_pending = 16;
		lim.max_bytes = 8192;
	}
	max_bytes = lim.max_bytes ? lim.max_bytes : 64u << 20;
	pg_session_init(&s, &lim, (data[0] & 2) ? 2048 : 0);
	if (data[0] & 4)
		pg_parser_set_stream(pg_session_parser(&s, PG_BACKEND), 64);
	if (data[0] & 8)
		pg_parser_set_stream(pg_session_parser(&s, PG_FRONTEND), 64);
	while (off + 3 <= size) {
		enum pg_side side = (data[off] & 1) ? PG_BACKEND : PG_FRONTEND;
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;

		off += 3;
		if (len > size - off)
			len = size - off;
		deliver(&s, side, &sb[side], data + off, len, max_bytes);
		off += len;
	}
	pg_session_clear(&s);
	pg_session_clear(&s);
	free(sb[0].p);
	free(sb[1].p);
	lone(PG_FRONTEND, data + 1, size - 1);
	lone(PG_BACKEND, data + 1, size - 1);
	return 0;
}
