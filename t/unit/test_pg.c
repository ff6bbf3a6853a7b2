/* t/unit/test_pg.c: PostgreSQL v3 parser, decoders, builders and session tracker.
 * Vectors are byte arrays written out here; t/unit/vectors/pg-*.hex hold sessions of psql,
 * pgbench and psycopg2 against PostgreSQL 15 recorded by a relay ("F"/"B" + hex per read). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pg.h"
#include "t/unit/suites.h"

struct vec {
	enum pg_msg_id id;
	size_t len;
	const char *b;
};

#define U8(s) ((const uint8_t *)(s))

static const struct vec fe_vectors[] = {
	{ PG_M_QUERY, 14, "Q\x00\x00\x00\x0dSELECT 1\x00" },
	{ PG_M_PARSE, 29, "P\x00\x00\x00\x1cs1\x00SELECT $1::int\x00\x00\x01\x00\x00\x00\x17" },
	{ PG_M_BIND, 33, "B\x00\x00\x00 p1\x00s1\x00\x00\x01\x00\x01\x00\x02\x00\x00\x00\x04\x00\x00\x00\x01\xff\xff\xff\xff\x00\x01\x00\x01" },
	{ PG_M_DESCRIBE, 9, "D\x00\x00\x00\x08Pp1\x00" },
	{ PG_M_EXECUTE, 12, "E\x00\x00\x00\x0bp1\x00\x00\x00\x00\x00" },
	{ PG_M_SYNC, 5, "S\x00\x00\x00\x04" },
	{ PG_M_FLUSH, 5, "H\x00\x00\x00\x04" },
	{ PG_M_CLOSE, 9, "C\x00\x00\x00\x08Ss1\x00" },
	{ PG_M_COPY_DATA, 8, "d\x00\x00\x00\x07" "abc" },
	{ PG_M_COPY_DONE, 5, "c\x00\x00\x00\x04" },
	{ PG_M_COPY_FAIL, 10, "f\x00\x00\x00\x09oops\x00" },
	{ PG_M_FUNCTION_CALL, 20, "F\x00\x00\x00\x13\x00\x00\x06>\x00\x00\x00\x01\x00\x00\x00\x01x\x00\x00" },
	{ PG_M_PASSWORD, 8, "p\x00\x00\x00\x07pw\x00" },
	{ PG_M_TERMINATE, 5, "X\x00\x00\x00\x04" },
};

static const struct vec be_vectors[] = {
	{ PG_M_AUTH, 9, "R\x00\x00\x00\x08\x00\x00\x00\x00" },
	{ PG_M_AUTH, 24, "R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00" },
	{ PG_M_BACKEND_KEY, 13, "K\x00\x00\x00\x0c\x00\x00\x04\xd2\xde\xad\xbe\xef" },
	{ PG_M_PARAM_STATUS, 26, "S\x00\x00\x00\x19" "client_encoding\x00UTF8\x00" },
	{ PG_M_READY, 6, "Z\x00\x00\x00\x05I" },
	{ PG_M_ROW_DESC, 48, "T\x00\x00\x00/\x00\x02id\x00\x00\x00@\x00\x00\x01\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00" "b\x00\x00\x00@\x00\x00\x02\x00\x00\x00\x11\xff\xff\xff\xff\xff\xff\x00\x01" },
	{ PG_M_DATA_ROW, 20, "D\x00\x00\x00\x13\x00\x03\x00\x00\x00\x01" "1\xff\xff\xff\xff\x00\x00\x00\x00" },
	{ PG_M_COMMAND_COMPLETE, 14, "C\x00\x00\x00\x0dSELECT 1\x00" },
	{ PG_M_EMPTY_QUERY, 5, "I\x00\x00\x00\x04" },
	{ PG_M_ERROR, 45, "E\x00\x00\x00,SERROR\x00VERROR\x00" "C22012\x00Mdivision by zero\x00\x00" },
	{ PG_M_NOTICE, 25, "N\x00\x00\x00\x18SNOTICE\x00" "C00000\x00Mhi\x00\x00" },
	{ PG_M_NOTIFICATION, 15, "A\x00\x00\x00\x0e\x00\x00\x04\xd2" "ch\x00pl\x00" },
	{ PG_M_PARSE_COMPLETE, 5, "1\x00\x00\x00\x04" },
	{ PG_M_BIND_COMPLETE, 5, "2\x00\x00\x00\x04" },
	{ PG_M_CLOSE_COMPLETE, 5, "3\x00\x00\x00\x04" },
	{ PG_M_NO_DATA, 5, "n\x00\x00\x00\x04" },
	{ PG_M_PARAM_DESC, 15, "t\x00\x00\x00\x0e\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19" },
	{ PG_M_PORTAL_SUSPENDED, 5, "s\x00\x00\x00\x04" },
	{ PG_M_COPY_IN_RESPONSE, 12, "G\x00\x00\x00\x0b\x00\x00\x02\x00\x00\x00\x00" },
	{ PG_M_COPY_OUT_RESPONSE, 10, "H\x00\x00\x00\x09\x01\x00\x01\x00\x01" },
	{ PG_M_COPY_BOTH_RESPONSE, 8, "W\x00\x00\x00\x07\x00\x00\x00" },
	{ PG_M_COPY_DATA, 9, "d\x00\x00\x00\x08row\x0a" },
	{ PG_M_COPY_DONE, 5, "c\x00\x00\x00\x04" },
	{ PG_M_NEGOTIATE_VERSION, 20, "v\x00\x00\x00\x13\x00\x00\x00\x00\x00\x00\x00\x01_pq_.x\x00" },
	{ PG_M_FUNCTION_RESULT, 10, "V\x00\x00\x00\x09\x00\x00\x00\x01x" },
};

static const struct vec startup_vectors[] = {
	{ PG_M_STARTUP, 69, "\x00\x00\x00" "E\x00\x03\x00\x00user\x00" "alice\x00" "database\x00" "db1\x00options\x00-c x=1\x00" "application_name\x00" "app\x00\x00" },
	{ PG_M_SSL_REQUEST, 8, "\x00\x00\x00\x08\x04\xd2\x16/" },
	{ PG_M_GSSENC_REQUEST, 8, "\x00\x00\x00\x08\x04\xd2\x16" "0" },
	{ PG_M_CANCEL_REQUEST, 16, "\x00\x00\x00\x10\x04\xd2\x16.\x00\x00\x10\xe1\x01\x02\x03\x04" },
};

/* ---------------------------------------------------------------- driver */

/* One message as returned, copied out of the feed buffer. */
struct got {
	enum pg_msg_id id;
	uint8_t type;
	size_t len;
	uint8_t raw[512];
};

/* Feed buf like the session glue does: chunks arrive (first of `first` bytes, then `step`
 * bytes each), unconsumed bytes stay in front. Returns the last code: PROTO_NEED_MORE when
 * all input was consumed into messages or is waiting for more, or a negative error. */
static int feed_steps(struct pg_parser *p, const uint8_t *buf, size_t len, size_t first,
		      size_t step, struct got *out, size_t max_out, size_t *n_out)
{
	uint8_t *acc = malloc(len + 1);
	size_t alen = 0, pos = 0, chunk = first;
	int rc = PROTO_NEED_MORE;

	ck_assert_ptr_nonnull(acc);
	*n_out = 0;
	while (pos < len) {
		size_t n = chunk < len - pos ? chunk : len - pos;
		memcpy(acc + alen, buf + pos, n);
		alen += n;
		pos += n;
		chunk = step;
		for (;;) {
			struct pg_msg m;
			size_t used;
			rc = pg_parser_feed(p, acc, alen, &used, &m);
			if (rc < 0)
				goto out;
			if (rc == PROTO_NEED_MORE) {
				ck_assert_uint_eq(used, 0);
				ck_assert_uint_gt(m.need, alen);
				break;
			}
			ck_assert_int_eq(rc, PROTO_MSG);
			ck_assert_uint_eq(used, m.raw.len);
			ck_assert_ptr_eq(m.raw.p, acc);
			ck_assert_uint_lt(*n_out, max_out);
			out[*n_out].id = m.id;
			out[*n_out].type = m.type;
			out[*n_out].len = m.raw.len;
			ck_assert_uint_le(m.raw.len, sizeof(out[0].raw));
			memcpy(out[*n_out].raw, m.raw.p, m.raw.len);
			(*n_out)++;
			memmove(acc, acc + used, alen - used);
			alen -= used;
		}
	}
out:
	free(acc);
	return rc;
}

/* A parser positioned for typed messages: the frontend one has seen a StartupMessage. */
static void prep(struct pg_parser *p, enum pg_side side, uint32_t max_msg)
{
	pg_parser_init(p, side, 0);
	if (side == PG_FRONTEND) {
		struct pg_msg m;
		size_t used;
		ck_assert_int_eq(pg_parser_feed(p, U8(startup_vectors[0].b), startup_vectors[0].len,
						&used, &m),
				 PROTO_MSG);
	}
	pg_parser_set_max_msg(p, max_msg);
}

static void check_one(const struct vec *v, const struct got *g, size_t n, const char *how)
{
	ck_assert_msg(n == 1, "%s %s: %zu messages", pg_msg_name(v->id), how, n);
	ck_assert_msg(g[0].id == v->id, "%s %s: got %s", pg_msg_name(v->id), how,
		      pg_msg_name(g[0].id));
	ck_assert_uint_eq(g[0].len, v->len);
	ck_assert_int_eq(memcmp(g[0].raw, v->b, v->len), 0);
}

/* STYLE.md §11 list for one typed message. */
static void check_typed(enum pg_side side, const struct vec *v)
{
	struct pg_parser p;
	struct pg_msg m;
	struct got g[2];
	size_t used, n;
	uint8_t two[1024];
	const uint8_t *b = U8(v->b);
	uint32_t l = rd_be32(b + 1);

	ck_assert_msg(l + 1 == v->len, "vector %s inconsistent", pg_msg_name(v->id));
	/* whole buffer */
	prep(&p, side, 0);
	ck_assert_int_eq(pg_parser_feed(&p, b, v->len, &used, &m), PROTO_MSG);
	ck_assert_int_eq(m.id, v->id);
	ck_assert_uint_eq(m.type, b[0]);
	ck_assert_uint_eq(m.len, l);
	ck_assert_uint_eq(used, v->len);
	ck_assert_ptr_eq(m.body.p, b + 5);
	ck_assert_uint_eq(m.body.len, v->len - 5);
	/* byte at a time */
	prep(&p, side, 0);
	ck_assert_int_eq(feed_steps(&p, b, v->len, 1, 1, g, 2, &n), PROTO_NEED_MORE);
	check_one(v, g, n, "byte-at-a-time");
	/* every split offset */
	for (size_t k = 1; k < v->len; k++) {
		prep(&p, side, 0);
		ck_assert_int_eq(feed_steps(&p, b, v->len, k, v->len, g, 2, &n), PROTO_NEED_MORE);
		check_one(v, g, n, "split");
	}
	/* two back to back, whole and split in the middle of the second one */
	ck_assert_uint_le(2 * v->len, sizeof(two));
	memcpy(two, b, v->len);
	memcpy(two + v->len, b, v->len);
	for (size_t k = v->len; k <= 2 * v->len; k += v->len / 2 + 1) {
		prep(&p, side, 0);
		ck_assert_int_eq(feed_steps(&p, two, 2 * v->len, k, 2 * v->len, g, 2, &n),
				 PROTO_NEED_MORE);
		ck_assert_uint_eq(n, 2);
		check_one(v, g + 1, 1, "second");
	}
	/* truncated: asks for exactly the rest */
	prep(&p, side, 0);
	ck_assert_int_eq(pg_parser_feed(&p, b, v->len - 1, &used, &m), PROTO_NEED_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(m.need, v->len - 1 < 5 ? 5 : v->len);
	/* a length field above max_msg, refused from the header alone */
	prep(&p, side, l - 1);
	ck_assert_int_eq(pg_parser_feed(&p, b, 5, &used, &m), ACRA_ERANGE);
	prep(&p, side, l);
	ck_assert_int_eq(pg_parser_feed(&p, b, v->len, &used, &m), PROTO_MSG);
}

START_TEST(test_frontend_typed)
{
	for (size_t i = 0; i < sizeof(fe_vectors) / sizeof(fe_vectors[0]); i++)
		check_typed(PG_FRONTEND, &fe_vectors[i]);
}
END_TEST

START_TEST(test_backend_typed)
{
	for (size_t i = 0; i < sizeof(be_vectors) / sizeof(be_vectors[0]); i++)
		check_typed(PG_BACKEND, &be_vectors[i]);
}
END_TEST

START_TEST(test_untyped_startup)
{
	for (size_t i = 0; i < sizeof(startup_vectors) / sizeof(startup_vectors[0]); i++) {
		const struct vec *v = &startup_vectors[i];
		const uint8_t *b = U8(v->b);
		struct pg_parser p;
		struct pg_msg m;
		struct got g[2];
		size_t used, n;

		ck_assert_uint_eq(rd_be32(b), v->len);
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(pg_parser_feed(&p, b, v->len, &used, &m), PROTO_MSG);
		ck_assert_int_eq(m.id, v->id);
		ck_assert_uint_eq(m.type, 0);
		ck_assert_uint_eq(used, v->len);
		ck_assert_ptr_eq(m.body.p, b + 4);
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(feed_steps(&p, b, v->len, 1, 1, g, 2, &n), PROTO_NEED_MORE);
		check_one(v, g, n, "byte-at-a-time");
		for (size_t k = 1; k < v->len; k++) {
			pg_parser_init(&p, PG_FRONTEND, 0);
			ck_assert_int_eq(feed_steps(&p, b, v->len, k, v->len, g, 2, &n),
					 PROTO_NEED_MORE);
			check_one(v, g, n, "split");
		}
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(pg_parser_feed(&p, b, v->len - 1, &used, &m), PROTO_NEED_MORE);
		ck_assert_uint_eq(m.need, v->len - 1 < 4 ? 4 : v->len);
		pg_parser_init(&p, PG_FRONTEND, v->len - 1);
		ck_assert_int_eq(pg_parser_feed(&p, b, 4, &used, &m), ACRA_ERANGE);
	}
}
END_TEST

/* StartupMessage then Query in one read; SSLRequest then anything before the answer is
 * refused (bytes injected ahead of TLS, CVE-2021-23214); CancelRequest ends the stream. */
START_TEST(test_untyped_back_to_back)
{
	uint8_t buf[256];
	const struct vec *su = &startup_vectors[0], *ssl = &startup_vectors[1];
	const struct vec *can = &startup_vectors[3], *q = &fe_vectors[0];
	struct pg_parser p;
	struct pg_msg m;
	struct got g[3];
	size_t used, n;

	memcpy(buf, su->b, su->len);
	memcpy(buf + su->len, q->b, q->len);
	for (size_t k = 1; k <= su->len + q->len; k++) {
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(feed_steps(&p, buf, su->len + q->len, k, 1000, g, 3, &n),
				 PROTO_NEED_MORE);
		ck_assert_uint_eq(n, 2);
		ck_assert_int_eq(g[0].id, PG_M_STARTUP);
		ck_assert_int_eq(g[1].id, PG_M_QUERY);
	}
	memcpy(buf, ssl->b, ssl->len);
	memcpy(buf + ssl->len, su->b, su->len);
	pg_parser_init(&p, PG_FRONTEND, 0);
	ck_assert_int_eq(feed_steps(&p, buf, ssl->len + su->len, 1000, 1000, g, 3, &n),
			 ACRA_EPROTO);
	ck_assert_uint_eq(n, 1);
	/* after the answer the client may send its StartupMessage */
	pg_parser_answered(&p);
	ck_assert_int_eq(pg_parser_feed(&p, buf + ssl->len, su->len, &used, &m), PROTO_MSG);
	ck_assert_int_eq(m.id, PG_M_STARTUP);
	/* GSSENCRequest refused, then SSLRequest: both untyped */
	pg_parser_init(&p, PG_FRONTEND, 0);
	ck_assert_int_eq(pg_parser_feed(&p, U8(startup_vectors[2].b), 8, &used, &m), PROTO_MSG);
	pg_parser_answered(&p);
	ck_assert_int_eq(pg_parser_feed(&p, U8(ssl->b), 8, &used, &m), PROTO_MSG);
	ck_assert_int_eq(m.id, PG_M_SSL_REQUEST);
	/* nothing may follow a CancelRequest */
	memcpy(buf, can->b, can->len);
	memcpy(buf + can->len, q->b, q->len);
	pg_parser_init(&p, PG_FRONTEND, 0);
	ck_assert_int_eq(feed_steps(&p, buf, can->len + q->len, 1000, 1, g, 3, &n), ACRA_EPROTO);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_untyped_malformed)
{
	static const struct {
		size_t len;
		const char *b;
		int rc;
	} bad[] = {
		{ 8, "\x00\x00\x00\x07\x00\x03\x00\x00", ACRA_EPROTO },  /* length below 8 */
		{ 8, "\xff\xff\xff\xf0\x00\x03\x00\x00", ACRA_ERANGE },  /* negative */
		{ 8, "\x00\x00\x27\x11\x00\x03\x00\x00", ACRA_ERANGE },  /* above 10000 */
		{ 9, "\x00\x00\x00\x09\x00\x02\x00\x00\x00", ACRA_EPROTO }, /* protocol 2 */
		{ 9, "\x00\x00\x00\x09\x04\xd2\x16\x2f\x00", ACRA_EPROTO }, /* long SSLRequest */
		{ 12, "\x00\x00\x00\x0c\x04\xd2\x16\x2e\x00\x00\x00\x01", ACRA_EPROTO }, /* short cancel */
		{ 8, "\x00\x00\x00\x08\x12\x34\x56\x78", ACRA_EPROTO },  /* unknown code */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pg_parser p;
		struct pg_msg m;
		size_t used = 99;

		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_msg(pg_parser_feed(&p, U8(bad[i].b), bad[i].len, &used, &m) == bad[i].rc,
			      "case %zu", i);
		ck_assert_uint_eq(used, 0);
	}
}
END_TEST

START_TEST(test_unknown_type)
{
	for (int side = 0; side < 2; side++) {
		const struct vec *tab = side == PG_FRONTEND ? fe_vectors : be_vectors;
		size_t nt = side == PG_FRONTEND ? sizeof(fe_vectors) / sizeof(fe_vectors[0])
						: sizeof(be_vectors) / sizeof(be_vectors[0]);
		int known = 0;

		for (int t = 0; t < 256; t++) {
			uint8_t b[5] = { (uint8_t)t, 0, 0, 0, 4 };
			struct pg_parser p;
			struct pg_msg m;
			size_t used;
			bool listed = false;
			int rc;

			for (size_t i = 0; i < nt; i++)
				listed |= (uint8_t)tab[i].b[0] == t;
			prep(&p, (enum pg_side)side, 0);
			rc = pg_parser_feed(&p, b, 5, &used, &m);
			if (!listed)
				ck_assert_msg(rc == ACRA_EPROTO, "side %d type 0x%02x: %d", side, t, rc);
			else
				known++;
		}
		ck_assert_int_eq(known, side == PG_FRONTEND ? 14 : 24);
	}
}
END_TEST

START_TEST(test_bad_lengths)
{
	static const struct {
		int side;
		const char *b;
		int rc;
	} bad[] = {
		{ PG_FRONTEND, "Q\x00\x00\x00\x03", ACRA_EPROTO }, /* below 4 */
		{ PG_FRONTEND, "Q\xff\xff\xff\xff", ACRA_EPROTO }, /* -1 */
		{ PG_FRONTEND, "Q\x80\x00\x00\x00", ACRA_EPROTO }, /* INT32_MIN */
		{ PG_FRONTEND, "Q\x40\x00\x00\x01", ACRA_ERANGE }, /* 1 GiB + 1 */
		{ PG_FRONTEND, "Q\x00\x00\x00\x04", ACRA_EPROTO }, /* Query needs its NUL */
		{ PG_FRONTEND, "S\x00\x00\x00\x05", ACRA_EPROTO }, /* Sync has no body */
		{ PG_BACKEND, "Z\x00\x00\x00\x06", ACRA_EPROTO },  /* ReadyForQuery body is 1 */
		{ PG_BACKEND, "K\x00\x00\x00\x0b", ACRA_EPROTO },  /* BackendKeyData too short */
		{ PG_BACKEND, "K\x00\x00\x01\x09", ACRA_EPROTO },  /* key above 256 bytes */
		{ PG_BACKEND, "1\x00\x00\x00\x05", ACRA_EPROTO },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pg_parser p;
		struct pg_msg m;
		size_t used;

		prep(&p, (enum pg_side)bad[i].side, 0);
		ck_assert_msg(pg_parser_feed(&p, U8(bad[i].b), 5, &used, &m) == bad[i].rc, "case %zu",
			      i);
	}
}
END_TEST

START_TEST(test_encryption_answer)
{
	struct pg_parser p;
	struct pg_msg m;
	size_t used;
	const struct vec *err = &be_vectors[9];

	pg_parser_init(&p, PG_BACKEND, 0);
	pg_parser_expect_answer(&p, 'S');
	ck_assert_int_eq(pg_parser_feed(&p, NULL, 0, &used, &m), PROTO_NEED_MORE);
	ck_assert_uint_eq(m.need, 1);
	ck_assert_int_eq(pg_parser_feed(&p, U8("SR"), 2, &used, &m), PROTO_MSG);
	ck_assert_int_eq(m.id, PG_M_ENC_ANSWER);
	ck_assert_uint_eq(m.type, 'S');
	ck_assert_uint_eq(used, 1);
	/* 'G' answers only a GSSENCRequest */
	pg_parser_init(&p, PG_BACKEND, 0);
	pg_parser_expect_answer(&p, 'S');
	ck_assert_int_eq(pg_parser_feed(&p, U8("G"), 1, &used, &m), ACRA_EPROTO);
	pg_parser_init(&p, PG_BACKEND, 0);
	pg_parser_expect_answer(&p, 'G');
	ck_assert_int_eq(pg_parser_feed(&p, U8("N"), 1, &used, &m), PROTO_MSG);
	ck_assert_uint_eq(m.type, 'N');
	/* an old server may answer with an ErrorResponse */
	pg_parser_init(&p, PG_BACKEND, 0);
	pg_parser_expect_answer(&p, 'S');
	ck_assert_int_eq(pg_parser_feed(&p, U8(err->b), err->len, &used, &m), PROTO_MSG);
	ck_assert_int_eq(m.id, PG_M_ERROR);
}
END_TEST

START_TEST(test_stream_large_rows)
{
	/* DataRow with one 3000-byte column, passed through in pieces */
	size_t total = 1 + 4 + 2 + 4 + 3000;
	uint8_t *b = malloc(total + 5);
	struct pg_parser p;
	struct pg_msg m;
	size_t used, off = 0, pieces = 0;
	int rc;

	ck_assert_ptr_nonnull(b);
	b[0] = 'D';
	wr_be32(b + 1, (uint32_t)(total - 1));
	wr_be16(b + 5, 1);
	wr_be32(b + 7, 3000);
	memset(b + 11, 'x', 3000);
	memcpy(b + total, "I\x00\x00\x00\x04", 5);
	pg_parser_init(&p, PG_BACKEND, 0);
	pg_parser_set_stream(&p, 1024);
	ck_assert_int_eq(pg_parser_feed(&p, b, 3, &used, &m), PROTO_NEED_MORE);
	ck_assert_uint_eq(m.need, 5);
	while (off < total) {
		size_t n = total - off < 700 ? total - off : 700;
		rc = pg_parser_feed(&p, b + off, n, &used, &m);
		ck_assert_int_eq(rc, PROTO_PART);
		ck_assert_int_eq(m.id, PG_M_DATA_ROW);
		ck_assert(m.first == (off == 0));
		ck_assert_uint_eq(used, n);
		off += used;
		ck_assert(m.last == (off == total));
		pieces++;
	}
	ck_assert_uint_eq(pieces, 5);
	ck_assert_int_eq(pg_parser_feed(&p, b + total, 5, &used, &m), PROTO_MSG);
	ck_assert_int_eq(m.id, PG_M_EMPTY_QUERY);
	/* a whole message present is returned whole even if large */
	pg_parser_init(&p, PG_BACKEND, 0);
	pg_parser_set_stream(&p, 1024);
	ck_assert_int_eq(pg_parser_feed(&p, b, total, &used, &m), PROTO_MSG);
	free(b);
}
END_TEST

/* ---------------------------------------------------------------- decoders */

/* Parse a single whole message from bytes (the parser positioned by prep). */
static struct pg_msg one(enum pg_side side, const void *b, size_t len)
{
	struct pg_parser p;
	struct pg_msg m;
	size_t used;

	prep(&p, side, 0);
	ck_assert_int_eq(pg_parser_feed(&p, b, len, &used, &m), PROTO_MSG);
	ck_assert_uint_eq(used, len);
	return m;
}

static const struct vec *find(const struct vec *tab, size_t n, enum pg_msg_id id)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].id == id)
			return &tab[i];
	ck_abort_msg("no vector for %s", pg_msg_name(id));
	return NULL;
}

#define FE(id) find(fe_vectors, sizeof(fe_vectors) / sizeof(fe_vectors[0]), id)
#define BE(id) find(be_vectors, sizeof(be_vectors) / sizeof(be_vectors[0]), id)

static bool eq(struct bytes b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.p, s, b.len) == 0;
}

/* Message with a body given as bytes, framed by the generic builder. */
static struct pg_msg framed(enum pg_side side, uint8_t type, const void *body, size_t len,
			    uint8_t *mem, size_t cap)
{
	struct wbuf w;

	wbuf_init(&w, mem, cap);
	pg_build_msg(&w, type, body, len);
	ck_assert(!w.failed);
	return one(side, w.p, w.len);
}

START_TEST(test_decode_startup)
{
	const struct vec *v = &startup_vectors[0];
	struct pg_msg m;
	struct pg_startup su;
	struct pg_cancel_key ck;
	struct bytes it, k, val;
	int n = 0;
	uint8_t buf[64];

	{
		struct pg_parser p;
		size_t used;
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(pg_parser_feed(&p, U8(v->b), v->len, &used, &m), PROTO_MSG);
	}
	ck_assert_int_eq(pg_decode_startup(&m, &su), 0);
	ck_assert_uint_eq(su.version, PG_PROTOCOL_3_0);
	ck_assert(eq(su.user, "alice"));
	ck_assert(eq(su.database, "db1"));
	ck_assert(eq(su.options, "-c x=1"));
	ck_assert(eq(su.application_name, "app"));
	it = su.params;
	while (pg_startup_next_param(&it, &k, &val) == 1)
		n++;
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(it.len, 0);
	ck_assert_int_eq(pg_decode_cancel(&m, &ck), ACRA_EINVAL); /* wrong message */

	/* malformed: list without its final NUL; value without NUL; no user */
	memcpy(buf, "\x00\x00\x00\x11\x00\x03\x00\x00user\x00u\x00x\x00", 17);
	{
		struct pg_parser p;
		size_t used;
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(pg_parser_feed(&p, buf, 17, &used, &m), PROTO_MSG);
		ck_assert_int_eq(pg_decode_startup(&m, &su), ACRA_EPROTO);
		memcpy(buf, "\x00\x00\x00\x0f\x00\x03\x00\x00user\x00u\x00", 15);
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(pg_parser_feed(&p, buf, 15, &used, &m), PROTO_MSG);
		ck_assert_int_eq(pg_decode_startup(&m, &su), ACRA_EPROTO);
		memcpy(buf, "\x00\x00\x00\x0d\x00\x03\x00\x00" "a\x00" "b\x00\x00", 13);
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(pg_parser_feed(&p, buf, 13, &used, &m), PROTO_MSG);
		ck_assert_int_eq(pg_decode_startup(&m, &su), ACRA_EPROTO);
		/* CancelRequest */
		v = &startup_vectors[3];
		pg_parser_init(&p, PG_FRONTEND, 0);
		ck_assert_int_eq(pg_parser_feed(&p, U8(v->b), v->len, &used, &m), PROTO_MSG);
		ck_assert_int_eq(pg_decode_cancel(&m, &ck), 0);
		ck_assert_uint_eq(ck.pid, 4321);
		ck_assert_uint_eq(ck.key.len, 4);
		ck_assert_int_eq(memcmp(ck.key.p, "\x01\x02\x03\x04", 4), 0);
	}
}
END_TEST

START_TEST(test_decode_backend_simple)
{
	struct pg_msg m;
	struct pg_cancel_key ck;
	struct bytes a, b;
	uint32_t code;
	uint8_t st, mem[64];
	uint16_t n;
	struct pg_copy_resp cr;

	m = one(PG_BACKEND, BE(PG_M_BACKEND_KEY)->b, BE(PG_M_BACKEND_KEY)->len);
	ck_assert_int_eq(pg_decode_backend_key(&m, &ck), 0);
	ck_assert_uint_eq(ck.pid, 1234);
	ck_assert_uint_eq(ck.key.len, 4);
	m = one(PG_BACKEND, BE(PG_M_PARAM_STATUS)->b, BE(PG_M_PARAM_STATUS)->len);
	ck_assert_int_eq(pg_decode_param_status(&m, &a, &b), 0);
	ck_assert(eq(a, "client_encoding") && eq(b, "UTF8"));
	m = framed(PG_BACKEND, 'S', "a\0b", 3, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_param_status(&m, &a, &b), ACRA_EPROTO);
	m = framed(PG_BACKEND, 'S', "a\0b\0c", 5, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_param_status(&m, &a, &b), ACRA_EPROTO);

	m = one(PG_BACKEND, be_vectors[1].b, be_vectors[1].len);
	ck_assert_int_eq(pg_decode_auth(&m, &code, &a), 0);
	ck_assert_uint_eq(code, 10);
	ck_assert(a.len == 15 && memcmp(a.p, "SCRAM-SHA-256\0\0", 15) == 0);

	m = one(PG_BACKEND, BE(PG_M_READY)->b, BE(PG_M_READY)->len);
	ck_assert_int_eq(pg_decode_ready(&m, &st), 0);
	ck_assert_uint_eq(st, 'I');
	m = framed(PG_BACKEND, 'Z', "X", 1, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_ready(&m, &st), ACRA_EPROTO);

	m = one(PG_BACKEND, BE(PG_M_COMMAND_COMPLETE)->b, BE(PG_M_COMMAND_COMPLETE)->len);
	ck_assert_int_eq(pg_decode_string(&m, &a), 0);
	ck_assert(eq(a, "SELECT 1"));
	m = framed(PG_BACKEND, 'C', "SELECT 1", 8, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_string(&m, &a), ACRA_EPROTO);
	m = framed(PG_BACKEND, 'C', "A\0B\0", 4, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_string(&m, &a), ACRA_EPROTO);

	m = one(PG_BACKEND, BE(PG_M_PARAM_DESC)->b, BE(PG_M_PARAM_DESC)->len);
	ck_assert_int_eq(pg_decode_param_desc(&m, &n, &a), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(pg_oid_at(a, 1), 25);
	m = framed(PG_BACKEND, 't', "\x00\x02\x00\x00\x00\x17", 6, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_param_desc(&m, &n, &a), ACRA_EPROTO);

	m = one(PG_BACKEND, BE(PG_M_COPY_OUT_RESPONSE)->b, BE(PG_M_COPY_OUT_RESPONSE)->len);
	ck_assert_int_eq(pg_decode_copy_resp(&m, &cr), 0);
	ck_assert_uint_eq(cr.format, 1);
	ck_assert_uint_eq(cr.n_cols, 1);
	ck_assert_int_eq(pg_fmt_at(cr.fmts, cr.n_cols, 0), 1);
	m = framed(PG_BACKEND, 'H', "\x02\x00\x00", 3, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_copy_resp(&m, &cr), ACRA_EPROTO);
	m = framed(PG_BACKEND, 'G', "\x00\x00\x02\x00\x00", 5, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_copy_resp(&m, &cr), ACRA_EPROTO);
}
END_TEST

START_TEST(test_decode_rowdesc)
{
	struct pg_msg m;
	struct pg_iter it;
	struct pg_field f;
	uint8_t mem[128];
	const struct vec *v = BE(PG_M_ROW_DESC);

	m = one(PG_BACKEND, v->b, v->len);
	ck_assert_int_eq(pg_rowdesc_begin(&m, &it), 0);
	ck_assert_uint_eq(it.n, 2);
	ck_assert_int_eq(pg_rowdesc_next(&it, &f), 1);
	ck_assert(eq(f.name, "id"));
	ck_assert_uint_eq(f.table_oid, 16384);
	ck_assert_int_eq(f.attnum, 1);
	ck_assert_uint_eq(f.type_oid, 23);
	ck_assert_int_eq(f.typlen, 4);
	ck_assert_int_eq(f.typmod, -1);
	ck_assert_int_eq(f.format, 0);
	ck_assert_int_eq(pg_rowdesc_next(&it, &f), 1);
	ck_assert(eq(f.name, "b"));
	ck_assert_uint_eq(f.type_oid, 17);
	ck_assert_int_eq(f.typlen, -1);
	ck_assert_int_eq(f.format, 1);
	ck_assert_int_eq(pg_rowdesc_next(&it, &f), 0);
	/* every truncation of the body fails, never reads past it */
	for (size_t cut = 2; cut < v->len - 5; cut++) {
		int rc;
		m = framed(PG_BACKEND, 'T', v->b + 5, cut, mem, sizeof(mem));
		ck_assert_int_eq(pg_rowdesc_begin(&m, &it), 0);
		while ((rc = pg_rowdesc_next(&it, &f)) == 1)
			;
		ck_assert_int_eq(rc, ACRA_EPROTO);
	}
	/* trailing byte */
	memcpy(mem + 64, v->b + 5, v->len - 5);
	mem[64 + v->len - 5] = 0;
	m = framed(PG_BACKEND, 'T', mem + 64, v->len - 4, mem, 64);
	ck_assert_int_eq(pg_rowdesc_begin(&m, &it), 0);
	ck_assert_int_eq(pg_rowdesc_next(&it, &f), 1);
	ck_assert_int_eq(pg_rowdesc_next(&it, &f), 1);
	ck_assert_int_eq(pg_rowdesc_next(&it, &f), ACRA_EPROTO);
	ck_assert_int_eq(pg_datarow_begin(&m, &it), ACRA_EINVAL);
}
END_TEST

START_TEST(test_decode_datarow)
{
	struct pg_msg m;
	struct pg_iter it;
	struct pg_col c;
	uint8_t mem[64];
	const struct vec *v = BE(PG_M_DATA_ROW);
	static const struct {
		size_t len;
		const char *body;
	} bad[] = {
		{ 6, "\x00\x01\x00\x00\x00\x01" },             /* value missing */
		{ 6, "\x00\x01\xff\xff\xff\xfe" },             /* -2 */
		{ 6, "\x00\x01\x80\x00\x00\x00" },             /* INT32_MIN */
		{ 7, "\x00\x01\xff\xff\xff\xff\x00" },         /* trailing */
		{ 6, "\x00\x02\xff\xff\xff\xff" },             /* count above present */
		{ 4, "\x00\x01\x00\x00" },                     /* short length */
	};

	m = one(PG_BACKEND, v->b, v->len);
	ck_assert_int_eq(pg_datarow_begin(&m, &it), 0);
	ck_assert_uint_eq(it.n, 3);
	ck_assert_int_eq(pg_values_next(&it, &c), 1);
	ck_assert(!c.is_null && eq(c.v, "1"));
	ck_assert_int_eq(pg_values_next(&it, &c), 1);
	ck_assert(c.is_null);
	ck_assert_int_eq(pg_values_next(&it, &c), 1); /* empty last column (Acra 0.84.1 bug) */
	ck_assert(!c.is_null && c.v.len == 0);
	ck_assert_int_eq(pg_values_next(&it, &c), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;
		m = framed(PG_BACKEND, 'D', bad[i].body, bad[i].len, mem, sizeof(mem));
		ck_assert_int_eq(pg_datarow_begin(&m, &it), 0);
		while ((rc = pg_values_next(&it, &c)) == 1)
			;
		ck_assert_msg(rc == ACRA_EPROTO, "case %zu", i);
	}
	/* zero columns */
	m = framed(PG_BACKEND, 'D', "\x00\x00", 2, mem, sizeof(mem));
	ck_assert_int_eq(pg_datarow_begin(&m, &it), 0);
	ck_assert_int_eq(pg_values_next(&it, &c), 0);
}
END_TEST

START_TEST(test_decode_frontend)
{
	struct pg_msg m;
	struct pg_bind b;
	struct pg_parse pa;
	struct pg_target t;
	struct pg_execute ex;
	struct pg_iter it;
	struct pg_col c;
	struct bytes q;
	uint8_t mem[128];
	const struct vec *v = FE(PG_M_BIND);
	static const struct {
		size_t len;
		const char *body;
	} bad_bind[] = {
		{ 12, "\0\0\x00\x02\x00\x00\x00\x00\x00\x01\x00\x00" },   /* 2 formats, 1 param? */
		{ 12, "\0\0\x00\x01\x00\x02\x00\x01\xff\xff\xff\xff" },   /* format code 2 */
		{ 10, "\0\0\x00\x00\x00\x01\x00\x00\x00\x09" },           /* value overruns */
		{ 13, "\0\0\x00\x00\x00\x01\xff\xff\xff\xff\x00\x01\x00" }, /* result fmts short */
		{ 11, "\0\0\x00\x00\x00\x00\x00\x00\x00\x00\x00" },       /* trailing byte */
		{ 8, "p\0\0\0\0\0\0\0" },                                   /* result count cut short */
	};

	m = one(PG_FRONTEND, v->b, v->len);
	ck_assert_int_eq(pg_decode_bind(&m, &b), 0);
	ck_assert(eq(b.portal, "p1") && eq(b.stmt, "s1"));
	ck_assert_uint_eq(b.n_param_fmts, 1);
	ck_assert_int_eq(pg_fmt_at(b.param_fmts, b.n_param_fmts, 1), 1);
	ck_assert_uint_eq(b.n_params, 2);
	it = b.params;
	ck_assert_int_eq(pg_values_next(&it, &c), 1);
	ck_assert(c.v.len == 4 && memcmp(c.v.p, "\0\0\0\1", 4) == 0);
	ck_assert_int_eq(pg_values_next(&it, &c), 1);
	ck_assert(c.is_null);
	ck_assert_int_eq(pg_values_next(&it, &c), 0);
	ck_assert_uint_eq(b.n_result_fmts, 1);
	ck_assert_int_eq(pg_fmt_at(b.result_fmts, 1, 7), 1);
	ck_assert_int_eq(pg_fmt_at(b.result_fmts, 0, 0), 0);
	for (size_t i = 0; i < sizeof(bad_bind) / sizeof(bad_bind[0]); i++) {
		m = framed(PG_FRONTEND, 'B', bad_bind[i].body, bad_bind[i].len, mem, sizeof(mem));
		ck_assert_msg(pg_decode_bind(&m, &b) == ACRA_EPROTO, "bind case %zu", i);
	}
	/* per-column formats */
	m = framed(PG_FRONTEND, 'B', "\0\0\0\0\0\0\0\3\0\0\0\1\0\0", 14, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_bind(&m, &b), 0);
	ck_assert_int_eq(pg_fmt_at(b.result_fmts, 3, 0), 0);
	ck_assert_int_eq(pg_fmt_at(b.result_fmts, 3, 1), 1);
	ck_assert_int_eq(pg_fmt_at(b.result_fmts, 3, 3), 0);

	m = one(PG_FRONTEND, FE(PG_M_PARSE)->b, FE(PG_M_PARSE)->len);
	ck_assert_int_eq(pg_decode_parse(&m, &pa), 0);
	ck_assert(eq(pa.name, "s1") && eq(pa.query, "SELECT $1::int"));
	ck_assert_uint_eq(pa.n_types, 1);
	ck_assert_uint_eq(pg_oid_at(pa.types, 0), 23);
	m = framed(PG_FRONTEND, 'P', "\0q\0\x00\x02\x00\x00\x00\x17", 9, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_parse(&m, &pa), ACRA_EPROTO);
	m = framed(PG_FRONTEND, 'P', "\0q\0\x00", 4, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_parse(&m, &pa), ACRA_EPROTO);

	m = one(PG_FRONTEND, FE(PG_M_DESCRIBE)->b, FE(PG_M_DESCRIBE)->len);
	ck_assert_int_eq(pg_decode_target(&m, &t), 0);
	ck_assert(t.kind == 'P' && eq(t.name, "p1"));
	m = one(PG_FRONTEND, FE(PG_M_CLOSE)->b, FE(PG_M_CLOSE)->len);
	ck_assert_int_eq(pg_decode_target(&m, &t), 0);
	ck_assert(t.kind == 'S' && eq(t.name, "s1"));
	m = framed(PG_FRONTEND, 'D', "Xa\0", 3, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_target(&m, &t), ACRA_EPROTO);
	m = framed(PG_FRONTEND, 'C', "Sab", 3, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_target(&m, &t), ACRA_EPROTO);

	m = one(PG_FRONTEND, FE(PG_M_EXECUTE)->b, FE(PG_M_EXECUTE)->len);
	ck_assert_int_eq(pg_decode_execute(&m, &ex), 0);
	ck_assert(eq(ex.portal, "p1") && ex.max_rows == 0);
	m = framed(PG_FRONTEND, 'E', "p\0\0\0\0\0\0", 7, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_execute(&m, &ex), ACRA_EPROTO);

	m = one(PG_FRONTEND, FE(PG_M_QUERY)->b, FE(PG_M_QUERY)->len);
	ck_assert_int_eq(pg_decode_string(&m, &q), 0);
	ck_assert(eq(q, "SELECT 1"));
	ck_assert_int_eq(pg_decode_bind(&m, &b), ACRA_EINVAL);
}
END_TEST

START_TEST(test_decode_error)
{
	struct pg_msg m;
	struct pg_error e;
	uint8_t mem[64];

	m = one(PG_BACKEND, BE(PG_M_ERROR)->b, BE(PG_M_ERROR)->len);
	ck_assert_int_eq(pg_decode_error(&m, &e), 0);
	ck_assert(eq(e.severity, "ERROR"));
	ck_assert(eq(e.code, "22012"));
	ck_assert(eq(e.message, "division by zero"));
	m = one(PG_BACKEND, BE(PG_M_NOTICE)->b, BE(PG_M_NOTICE)->len);
	ck_assert_int_eq(pg_decode_error(&m, &e), 0);
	ck_assert(eq(e.severity, "NOTICE") && eq(e.message, "hi"));
	m = framed(PG_BACKEND, 'E', "SERROR\0", 7, mem, sizeof(mem)); /* no terminator */
	ck_assert_int_eq(pg_decode_error(&m, &e), ACRA_EPROTO);
	m = framed(PG_BACKEND, 'E', "SERROR", 6, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_error(&m, &e), ACRA_EPROTO);
	m = framed(PG_BACKEND, 'E', "\0\0", 2, mem, sizeof(mem));
	ck_assert_int_eq(pg_decode_error(&m, &e), ACRA_EPROTO);
}
END_TEST

/* ---------------------------------------------------------------- builders */

START_TEST(test_build_error)
{
	/* acra-runtime.md §2.3: the censor's reply */
	static const char want[] = "E\x00\x00\x00\x32SERROR\0C42000\0MAcraCensor blocked this query\0";
	uint8_t mem[128];
	struct wbuf w;
	struct pg_msg m;
	struct pg_error e;

	wbuf_init(&w, mem, sizeof(mem));
	pg_build_error(&w, "ERROR", "42000", "AcraCensor blocked this query");
	pg_build_ready(&w, 'I');
	ck_assert(!w.failed);
	ck_assert_uint_eq(w.len, sizeof(want) + 6); /* the literal's own NUL ends the fields */
	ck_assert_int_eq(memcmp(w.p, want, sizeof(want)), 0);
	ck_assert_int_eq(memcmp(w.p + sizeof(want), "Z\x00\x00\x00\x05I", 6), 0);
	m = one(PG_BACKEND, w.p, sizeof(want));
	ck_assert_int_eq(pg_decode_error(&m, &e), 0);
	ck_assert(eq(e.code, "42000") && eq(e.message, "AcraCensor blocked this query"));
	/* overflow and bad arguments fail the buffer */
	wbuf_init(&w, mem, 20);
	pg_build_error(&w, "ERROR", "42000", "AcraCensor blocked this query");
	ck_assert(w.failed);
	wbuf_init(&w, mem, sizeof(mem));
	pg_build_error(&w, "ERROR", "4200", "x");
	ck_assert(w.failed);
	wbuf_init(&w, mem, sizeof(mem));
	pg_build_ready(&w, 'x');
	ck_assert(w.failed);
}
END_TEST

START_TEST(test_build_datarow)
{
	const struct pg_col cols[] = {
		{ false, { U8("1"), 1 } },
		{ true, { NULL, 0 } },
		{ false, { U8(""), 0 } },
	};
	const struct vec *v = BE(PG_M_DATA_ROW);
	uint8_t mem[256];
	struct wbuf w;
	struct pg_rowbuild rb;
	struct pg_msg m;
	struct pg_iter it;
	struct pg_col c;

	wbuf_init(&w, mem, sizeof(mem));
	pg_build_datarow(&w, cols, 3);
	ck_assert(!w.failed);
	ck_assert_uint_eq(w.len, v->len);
	ck_assert_int_eq(memcmp(w.p, v->b, v->len), 0);
	/* replacing a value: lengths recomputed, round trip through the parser */
	wbuf_init(&w, mem, sizeof(mem));
	pg_datarow_build_begin(&w, &rb);
	m = one(PG_BACKEND, v->b, v->len);
	ck_assert_int_eq(pg_datarow_begin(&m, &it), 0);
	while (pg_values_next(&it, &c) == 1) {
		if (!c.is_null && c.v.len == 1) {
			c.v.p = U8("decrypted value");
			c.v.len = 15;
		}
		pg_datarow_build_col(&w, &rb, &c);
	}
	pg_datarow_build_end(&w, &rb);
	ck_assert(!w.failed);
	m = one(PG_BACKEND, w.p, w.len);
	ck_assert_uint_eq(m.len, v->len - 1 + 14);
	ck_assert_int_eq(pg_datarow_begin(&m, &it), 0);
	ck_assert_uint_eq(it.n, 3);
	ck_assert_int_eq(pg_values_next(&it, &c), 1);
	ck_assert(eq(c.v, "decrypted value"));
	ck_assert_int_eq(pg_values_next(&it, &c), 1);
	ck_assert(c.is_null);
	ck_assert_int_eq(pg_values_next(&it, &c), 1);
	ck_assert_int_eq(pg_values_next(&it, &c), 0);
	/* overflow is sticky and leaves no half message claimed as good */
	wbuf_init(&w, mem, 12);
	pg_build_datarow(&w, cols, 3);
	ck_assert(w.failed);
	/* generic builder */
	wbuf_init(&w, mem, sizeof(mem));
	pg_build_msg(&w, 'Q', "SELECT 1", 9);
	ck_assert_uint_eq(w.len, FE(PG_M_QUERY)->len);
	ck_assert_int_eq(memcmp(w.p, FE(PG_M_QUERY)->b, w.len), 0);
}
END_TEST

/* ----------------------------------------------------------------- tracker */

/* Feed whole messages in b to one side of the session; every one must be accepted. */
static void sfeed(struct pg_session *s, enum pg_side side, const void *b, size_t len)
{
	const uint8_t *p = b;

	while (len > 0) {
		struct pg_msg m;
		size_t used;
		int rc = pg_session_feed(s, side, p, len, &used, &m);
		ck_assert_msg(rc == PROTO_MSG, "%s side %d: rc %d", pg_msg_name(m.id), side, rc);
		p += used;
		len -= used;
	}
}

/* Frame one message into a static buffer and feed it. */
static void smsg(struct pg_session *s, enum pg_side side, uint8_t type, const void *body,
		 size_t len)
{
	uint8_t mem[512];
	struct wbuf w;

	wbuf_init(&w, mem, sizeof(mem));
	pg_build_msg(&w, type, body, len);
	ck_assert(!w.failed);
	sfeed(s, side, w.p, w.len);
}

/* Same, expecting the tracker to refuse it with rc. */
static void smsg_rc(struct pg_session *s, enum pg_side side, uint8_t type, const void *body,
		    size_t len, int want)
{
	uint8_t mem[512];
	struct wbuf w;
	struct pg_msg m;
	size_t used;

	wbuf_init(&w, mem, sizeof(mem));
	pg_build_msg(&w, type, body, len);
	ck_assert_int_eq(pg_session_feed(s, side, w.p, w.len, &used, &m), want);
}

#define FEM(s, t, lit) smsg(s, PG_FRONTEND, t, lit, sizeof(lit) - 1)
#define BEM(s, t, lit) smsg(s, PG_BACKEND, t, lit, sizeof(lit) - 1)

static void start_session(struct pg_session *s, const struct pg_limits *lim)
{
	const struct vec *su = &startup_vectors[0];

	pg_session_init(s, lim, 0);
	ck_assert_int_eq(pg_session_phase(s), PG_PHASE_STARTUP);
	sfeed(s, PG_FRONTEND, su->b, su->len);
	ck_assert_int_eq(pg_session_phase(s), PG_PHASE_AUTH);
	ck_assert_str_eq(pg_session_user(s), "alice");
	ck_assert_str_eq(pg_session_database(s), "db1");
	sfeed(s, PG_BACKEND, be_vectors[0].b, be_vectors[0].len);
	sfeed(s, PG_BACKEND, BE(PG_M_BACKEND_KEY)->b, BE(PG_M_BACKEND_KEY)->len);
	sfeed(s, PG_BACKEND, BE(PG_M_PARAM_STATUS)->b, BE(PG_M_PARAM_STATUS)->len);
	ck_assert_int_eq(pg_session_phase(s), PG_PHASE_AUTH);
	BEM(s, 'Z', "I");
	ck_assert_int_eq(pg_session_phase(s), PG_PHASE_READY);
	ck_assert_uint_eq(pg_session_tx_status(s), 'I');
	ck_assert_uint_eq(pg_session_backend_pid(s), 1234);
}

/* RowDescription: id int4 text, b bytea text. */
#define ROWDESC_2                                                                       \
	"\x00\x02id\0\x00\x00\x40\x00\x00\x01\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00" \
	"b\0\x00\x00\x40\x00\x00\x02\x00\x00\x00\x11\xff\xff\xff\xff\xff\xff\x00\x00"
#define ROW_2 "\x00\x02\x00\x00\x00\x01" "1\x00\x00\x00\x02\x01\x02"

START_TEST(test_track_simple_query)
{
	struct pg_session s;

	start_session(&s, NULL);
	FEM(&s, 'Q', "SELECT id, b FROM t\0");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_QUERY);
	ck_assert_uint_eq(pg_session_n_pending(&s), 1);
	BEM(&s, 'T', ROWDESC_2);
	ck_assert_uint_eq(pg_session_col_type(&s, 0), 23);
	ck_assert_uint_eq(pg_session_col_type(&s, 1), 17);
	ck_assert_uint_eq(pg_session_col_format(&s, 1), 0);
	BEM(&s, 'D', ROW_2);
	BEM(&s, 'D', ROW_2);
	ck_assert_uint_eq(pg_session_col_type(&s, 1), 17);
	BEM(&s, 'C', "SELECT 2\0");
	ck_assert_uint_eq(pg_session_col_type(&s, 1), 0); /* result over */
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_QUERY);
	BEM(&s, 'Z', "I");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_READY);
	ck_assert_uint_eq(pg_session_n_pending(&s), 0);
	/* empty query, then messages out of order are refused and leave the state usable */
	FEM(&s, 'Q', "\0");
	BEM(&s, 'I', "");
	BEM(&s, 'Z', "I");
	smsg_rc(&s, PG_BACKEND, 'D', ROW_2, sizeof(ROW_2) - 1, ACRA_EPROTO);
	smsg_rc(&s, PG_BACKEND, 'Z', "I", 1, ACRA_EPROTO);
	smsg_rc(&s, PG_BACKEND, '1', "", 0, ACRA_EPROTO);
	smsg_rc(&s, PG_BACKEND, 'C', "SELECT 1", 9, ACRA_EPROTO);
	BEM(&s, 'N', "SNOTICE\0Mhi\0\0"); /* asynchronous messages are fine any time */
	BEM(&s, 'A', "\0\0\0\1ch\0pl\0");
	BEM(&s, 'S', "TimeZone\0UTC\0");
	FEM(&s, 'X', "");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_CLOSED);
	pg_session_clear(&s);
	pg_session_clear(&s);
}
END_TEST

START_TEST(test_track_extended)
{
	struct pg_session s;
	const struct pg_stmt *st;
	const struct pg_portal *po;

	start_session(&s, NULL);
	/* prepare a named statement and describe it */
	FEM(&s, 'P', "s1\0SELECT id, b FROM t WHERE id = $1\0\x00\x01\x00\x00\x00\x00");
	FEM(&s, 'D', "Ss1\0");
	FEM(&s, 'S', "");
	ck_assert_uint_eq(pg_session_n_pending(&s), 3);
	ck_assert_ptr_null(pg_session_stmt(&s, "s1", 2)); /* not yet known to exist */
	BEM(&s, '1', "");
	st = pg_session_stmt(&s, "s1", 2);
	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(st->query, "SELECT id, b FROM t WHERE id = $1");
	ck_assert_uint_eq(st->n_param_types, 1);
	ck_assert_uint_eq(st->param_types[0], 0);
	BEM(&s, 't', "\x00\x01\x00\x00\x00\x17");
	ck_assert_uint_eq(st->param_types[0], 23);
	BEM(&s, 'T', ROWDESC_2);
	ck_assert_uint_eq(st->n_cols, 2);
	ck_assert_uint_eq(st->col_types[1], 17);
	BEM(&s, 'Z', "I");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_READY);

	/* bind a named portal with per-column result formats, execute, close it */
	FEM(&s, 'B', "p1\0s1\0\x00\x01\x00\x01\x00\x01\x00\x00\x00\x04\x00\x00\x00\x01"
		     "\x00\x02\x00\x00\x00\x01");
	FEM(&s, 'E', "p1\0\x00\x00\x00\x00");
	FEM(&s, 'C', "Pp1\0");
	FEM(&s, 'S', "");
	BEM(&s, '2', "");
	po = pg_session_portal(&s, "p1", 2);
	ck_assert_ptr_nonnull(po);
	ck_assert_ptr_eq(po->stmt, st);
	ck_assert_uint_eq(po->n_result_fmts, 2);
	ck_assert_uint_eq(pg_session_col_format(&s, 0), 0);
	ck_assert_uint_eq(pg_session_col_format(&s, 1), 1);
	ck_assert_uint_eq(pg_session_col_type(&s, 1), 17); /* from the described statement */
	BEM(&s, 'D', "\x00\x02\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x02\x01\x02");
	ck_assert_uint_eq(pg_session_col_format(&s, 1), 1);
	BEM(&s, 'C', "SELECT 1\0");
	ck_assert_ptr_nonnull(pg_session_portal(&s, "p1", 2));
	BEM(&s, '3', "");
	ck_assert_ptr_null(pg_session_portal(&s, "p1", 2));
	BEM(&s, 'Z', "T"); /* portal gone although the transaction goes on */
	ck_assert_uint_eq(pg_session_tx_status(&s), 'T');

	/* unnamed portal, one format for all columns, Describe portal, suspended */
	FEM(&s, 'B', "\0s1\0\x00\x00\x00\x01\xff\xff\xff\xff\x00\x01\x00\x01");
	FEM(&s, 'D', "P\0");
	FEM(&s, 'E', "\0\x00\x00\x00\x01");
	FEM(&s, 'H', "");
	BEM(&s, '2', "");
	BEM(&s, 'T', "\x00\x01" "b\0\x00\x00\x40\x00\x00\x02\x00\x00\x00\x11\xff\xff\xff\xff\xff\xff\x00\x01");
	ck_assert_uint_eq(pg_session_col_format(&s, 0), 1);
	ck_assert_uint_eq(pg_session_col_format(&s, 7), 1);
	BEM(&s, 'D', "\x00\x01\xff\xff\xff\xff");
	BEM(&s, 's', "");
	ck_assert_uint_eq(pg_session_n_pending(&s), 0);
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_READY);
	FEM(&s, 'S', "");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_portals(&s), 0); /* transaction over: portals gone */
	ck_assert_ptr_nonnull(pg_session_stmt(&s, "s1", 2));

	/* Close statement */
	FEM(&s, 'C', "Ss1\0");
	FEM(&s, 'S', "");
	BEM(&s, '3', "");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_stmts(&s), 0);
	pg_session_clear(&s);
}
END_TEST

START_TEST(test_track_extended_errors)
{
	struct pg_session s;

	start_session(&s, NULL);
	/* pipelined Parse/Bind/Execute/Sync where Parse fails: nothing is created */
	FEM(&s, 'P', "bad\0SELEC 1\0\x00\x00");
	FEM(&s, 'B', "\0bad\0\x00\x00\x00\x00\x00\x00");
	FEM(&s, 'E', "\0\x00\x00\x00\x00");
	FEM(&s, 'S', "");
	ck_assert_uint_eq(pg_session_n_pending(&s), 4);
	BEM(&s, 'E', "SERROR\0C42601\0Msyntax error\0\0");
	ck_assert_uint_eq(pg_session_n_pending(&s), 1);
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_stmts(&s), 0);
	ck_assert_uint_eq(pg_session_n_portals(&s), 0);

	/* Parse ok, Bind fails (pgbench -M extended with SELECT 1/0) */
	FEM(&s, 'P', "\0SELECT 1/0\0\x00\x00");
	FEM(&s, 'B', "\0\0\x00\x00\x00\x00\x00\x00");
	FEM(&s, 'D', "P\0");
	FEM(&s, 'E', "\0\x00\x00\x00\x00");
	FEM(&s, 'S', "");
	BEM(&s, '1', "");
	ck_assert_ptr_nonnull(pg_session_stmt(&s, "", 0));
	BEM(&s, 'E', "SERROR\0C22012\0Mdivision by zero\0\0");
	ck_assert_uint_eq(pg_session_n_pending(&s), 1);
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_portals(&s), 0);

	/* error before the Sync was sent: the server skips everything up to Sync */
	FEM(&s, 'P', "x\0bad\0\x00\x00");
	FEM(&s, 'H', "");
	BEM(&s, 'E', "SERROR\0C42601\0Msyntax error\0\0");
	ck_assert_uint_eq(pg_session_n_pending(&s), 0);
	FEM(&s, 'B', "\0x\0\x00\x00\x00\x00\x00\x00");
	FEM(&s, 'E', "\0\x00\x00\x00\x00");
	FEM(&s, 'Q', "SELECT 1\0");
	ck_assert_uint_eq(pg_session_n_pending(&s), 0);
	FEM(&s, 'S', "");
	ck_assert_uint_eq(pg_session_n_pending(&s), 1);
	BEM(&s, 'Z', "I");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_READY);

	/* errors in a transaction block with simple queries */
	FEM(&s, 'Q', "BEGIN\0");
	BEM(&s, 'C', "BEGIN\0");
	BEM(&s, 'Z', "T");
	ck_assert_uint_eq(pg_session_tx_status(&s), 'T');
	FEM(&s, 'Q', "SELECT 1/0\0");
	BEM(&s, 'E', "SERROR\0C22012\0Mdivision by zero\0\0");
	ck_assert_uint_eq(pg_session_n_pending(&s), 1); /* a Query is answered by Z anyway */
	BEM(&s, 'Z', "E");
	ck_assert_uint_eq(pg_session_tx_status(&s), 'E');
	FEM(&s, 'Q', "ROLLBACK\0");
	BEM(&s, 'C', "ROLLBACK\0");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_tx_status(&s), 'I');
	ck_assert_uint_eq(pg_session_n_pending(&s), 0);

	/* a malformed RowDescription answering a Describe is refused, and the tracker stays
	 * in step: the ReadyForQuery that follows still matches the Sync */
	FEM(&s, 'P', "q\0SELECT 1\0\0\0");
	FEM(&s, 'D', "Sq\0");
	FEM(&s, 'S', "");
	BEM(&s, '1', "");
	BEM(&s, 't', "\0\0");
	smsg_rc(&s, PG_BACKEND, 'T', "\x00\x01" "a\0", 4, ACRA_EPROTO);
	ck_assert_uint_eq(pg_session_n_pending(&s), 1);
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_pending(&s), 0);
	pg_session_clear(&s);
}
END_TEST

START_TEST(test_track_copy)
{
	struct pg_session s;

	start_session(&s, NULL);
	FEM(&s, 'Q', "COPY t FROM STDIN\0");
	BEM(&s, 'G', "\x00\x00\x02\x00\x00\x00\x00");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_COPY_IN);
	FEM(&s, 'd', "1\t\\\\x01\n");
	FEM(&s, 'c', "");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_COPY_IN);
	BEM(&s, 'C', "COPY 1\0");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_QUERY);
	BEM(&s, 'Z', "I");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_READY);
	FEM(&s, 'Q', "COPY t TO STDOUT\0");
	BEM(&s, 'H', "\x00\x00\x02\x00\x00\x00\x00");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_COPY_OUT);
	BEM(&s, 'd', "1\t\\\\x01\n");
	BEM(&s, 'c', "");
	BEM(&s, 'C', "COPY 1\0");
	BEM(&s, 'Z', "I");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_READY);
	/* failed COPY FROM */
	FEM(&s, 'Q', "COPY t FROM STDIN\0");
	BEM(&s, 'G', "\x00\x00\x00");
	FEM(&s, 'f', "client gave up\0");
	BEM(&s, 'E', "SERROR\0C57014\0MCOPY from stdin failed\0\0");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_QUERY);
	BEM(&s, 'Z', "I");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_READY);
	pg_session_clear(&s);
}
END_TEST

START_TEST(test_track_registry_lifetime)
{
	struct pg_session s;
	struct pg_limits lim = { .max_stmts = 3 };
	size_t base;

	start_session(&s, &lim);
	FEM(&s, 'Q', "SELECT 1\0"); /* warm the queue up */
	BEM(&s, 'Z', "I");
	base = pg_session_mem(&s);
	FEM(&s, 'P', "a\0SELECT 1\0\0\0");
	FEM(&s, 'P', "b\0SELECT 2\0\0\0");
	FEM(&s, 'P', "Mixed\0SELECT 3\0\0\0");
	FEM(&s, 'S', "");
	BEM(&s, '1', "");
	BEM(&s, '1', "");
	BEM(&s, '1', "");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_stmts(&s), 3);
	ck_assert_uint_gt(pg_session_mem(&s), base);
	/* a fourth named statement is over the limit; the unnamed one is not counted */
	smsg_rc(&s, PG_FRONTEND, 'P', "d\0SELECT 4\0\0\0", 13, ACRA_ERANGE);
	FEM(&s, 'P', "\0SELECT 4\0\0\0");
	FEM(&s, 'S', "");
	BEM(&s, '1', "");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_stmts(&s), 4);
	/* a simple query destroys the unnamed statement */
	FEM(&s, 'Q', "SELECT 1\0");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_stmts(&s), 3);
	/* DEALLOCATE by SQL: unquoted names fold to lower case, quoted ones do not */
	FEM(&s, 'Q', " deallocate  PREPARE A ;\n\0");
	BEM(&s, 'C', "DEALLOCATE\0");
	BEM(&s, 'Z', "I");
	ck_assert_ptr_null(pg_session_stmt(&s, "a", 1));
	FEM(&s, 'Q', "DEALLOCATE mixed\0");
	BEM(&s, 'C', "DEALLOCATE\0");
	BEM(&s, 'Z', "I");
	ck_assert_ptr_nonnull(pg_session_stmt(&s, "Mixed", 5));
	FEM(&s, 'Q', "DEALLOCATE \"Mixed\"\0");
	BEM(&s, 'C', "DEALLOCATE\0");
	BEM(&s, 'Z', "I");
	ck_assert_ptr_null(pg_session_stmt(&s, "Mixed", 5));
	ck_assert_uint_eq(pg_session_n_stmts(&s), 1);
	/* DISCARD ALL drops everything */
	FEM(&s, 'B', "p\0b\0\0\0\0\0\0\0");
	FEM(&s, 'Q', "DISCARD ALL\0");
	BEM(&s, '2', "");
	ck_assert_uint_eq(pg_session_n_portals(&s), 1);
	BEM(&s, 'C', "DISCARD ALL\0");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_stmts(&s), 0);
	ck_assert_uint_eq(pg_session_n_portals(&s), 0);
	ck_assert_uint_eq(pg_session_mem(&s), base);
	/* DEALLOCATE ALL */
	FEM(&s, 'P', "z\0SELECT 1\0\0\0");
	FEM(&s, 'S', "");
	BEM(&s, '1', "");
	BEM(&s, 'Z', "I");
	FEM(&s, 'Q', "DEALLOCATE ALL\0");
	BEM(&s, 'C', "DEALLOCATE ALL\0");
	BEM(&s, 'Z', "I");
	ck_assert_uint_eq(pg_session_n_stmts(&s), 0);
	/* session end frees what is left (statements, portals, queued requests) */
	FEM(&s, 'P', "y\0SELECT 1\0\0\0");
	FEM(&s, 'S', "");
	BEM(&s, '1', "");
	FEM(&s, 'P', "w\0SELECT 1\0\0\0");
	pg_session_clear(&s);
	ck_assert_uint_eq(pg_session_mem(&s), 0);
}
END_TEST

START_TEST(test_track_limits)
{
	struct pg_session s;
	struct pg_limits lim = { .max_pending = 8, .max_bytes = 4096 };
	char q[600];

	start_session(&s, &lim);
	for (int i = 0; i < 8; i++)
		FEM(&s, 'H', "");
	for (int i = 0; i < 8; i++)
		FEM(&s, 'S', "");
	smsg_rc(&s, PG_FRONTEND, 'S', "", 0, ACRA_ERANGE);
	for (int i = 0; i < 8; i++)
		BEM(&s, 'Z', "I");
	/* statements beyond max_bytes */
	memset(q, 'x', sizeof(q));
	q[0] = 0;
	q[sizeof(q) - 3] = 0;
	q[sizeof(q) - 2] = q[sizeof(q) - 1] = 0;
	for (int i = 0; i < 20; i++) {
		uint8_t mem[700];
		struct wbuf w;
		struct pg_msg m;
		size_t used;
		int rc;

		wbuf_init(&w, mem, sizeof(mem));
		pg_build_msg(&w, 'P', q, sizeof(q));
		rc = pg_session_feed(&s, PG_FRONTEND, w.p, w.len, &used, &m);
		if (rc == ACRA_ERANGE)
			break;
		ck_assert_int_eq(rc, PROTO_MSG);
		ck_assert_int_lt(i, 8);
	}
	ck_assert_uint_le(pg_session_mem(&s), 4096);
	pg_session_clear(&s);
}
END_TEST

START_TEST(test_track_ssl_and_cancel)
{
	struct pg_session s;
	const struct vec *ssl = &startup_vectors[1], *su = &startup_vectors[0];
	struct pg_msg m;
	size_t used;

	pg_session_init(&s, NULL, 0);
	sfeed(&s, PG_FRONTEND, ssl->b, ssl->len);
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_SSL);
	/* bytes before the answer are refused */
	ck_assert_int_eq(pg_session_feed(&s, PG_FRONTEND, U8(su->b), su->len, &used, &m),
			 ACRA_EPROTO);
	ck_assert_int_eq(pg_session_feed(&s, PG_BACKEND, U8("S"), 1, &used, &m), PROTO_MSG);
	ck_assert_int_eq(m.id, PG_M_ENC_ANSWER);
	ck_assert_uint_eq(pg_session_enc_answer(&s), 'S');
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_STARTUP);
	/* (TLS handshake by the glue) then the StartupMessage */
	sfeed(&s, PG_FRONTEND, su->b, su->len);
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_AUTH);
	/* failed authentication closes */
	BEM(&s, 'E', "SFATAL\0C28P01\0Mpassword authentication failed\0\0");
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_CLOSED);
	pg_session_clear(&s);

	pg_session_init(&s, NULL, 0);
	sfeed(&s, PG_FRONTEND, startup_vectors[3].b, startup_vectors[3].len);
	ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_CANCEL);
	pg_session_clear(&s);
}
END_TEST

/* ---------------------------------------------------------- recorded sessions */

struct rec_stats {
	unsigned count[2][PG_M__COUNT];
	unsigned phases;       /* bit per phase seen after a message */
	unsigned tx;           /* bits: 1 'I', 2 'T', 4 'E' */
	uint32_t types[8];     /* column type OIDs seen while DataRows arrived */
	size_t n_types;
	unsigned binary_cols;  /* DataRow columns in binary format */
	uint32_t max_stmts, max_portals;
	char sqlstates[64];
	unsigned sessions;
};

static void rec_note(struct pg_session *s, enum pg_side side, const struct pg_msg *m,
		     struct rec_stats *st)
{
	struct pg_iter it;
	struct pg_col c;
	struct pg_error e;
	int rc;

	st->count[side][m->id]++;
	st->phases |= 1u << pg_session_phase(s);
	if (m->id == PG_M_READY)
		st->tx |= pg_session_tx_status(s) == 'I' ? 1 : pg_session_tx_status(s) == 'T' ? 2 : 4;
	if (m->id == PG_M_DATA_ROW) {
		ck_assert_int_eq(pg_datarow_begin(m, &it), 0);
		while ((rc = pg_values_next(&it, &c)) == 1) {
			uint32_t t = pg_session_col_type(s, it.i - 1);
			bool seen = false;
			for (size_t i = 0; i < st->n_types; i++)
				seen |= st->types[i] == t;
			if (!seen && st->n_types < 8)
				st->types[st->n_types++] = t;
			st->binary_cols += pg_session_col_format(s, it.i - 1);
		}
		ck_assert_int_eq(rc, 0);
	}
	if (m->id == PG_M_ERROR) {
		ck_assert_int_eq(pg_decode_error(m, &e), 0);
		ck_assert_uint_eq(e.code.len, 5);
		strncat(st->sqlstates, (const char *)e.code.p, 5);
		strcat(st->sqlstates, " ");
	}
	if (pg_session_n_stmts(s) > st->max_stmts)
		st->max_stmts = pg_session_n_stmts(s);
	if (pg_session_n_portals(s) > st->max_portals)
		st->max_portals = pg_session_n_portals(s);
}

static bool has_type(const struct rec_stats *st, uint32_t t)
{
	for (size_t i = 0; i < st->n_types; i++)
		if (st->types[i] == t)
			return true;
	return false;
}

/* Replay a recording: every read goes to its side as it arrived, like the glue would see
 * it; "END" closes the session. Also replays it a byte at a time per read when `bytewise`. */
static void replay(const char *name, struct rec_stats *st, bool bytewise)
{
	char path[256], *line = NULL;
	size_t cap = 0;
	FILE *f;
	struct pg_session s;
	uint8_t *acc[2] = { NULL, NULL };
	size_t alen[2] = { 0, 0 }, acap[2] = { 0, 0 };
	ssize_t n;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "vectors/%s", name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	pg_session_init(&s, NULL, 0);
	while ((n = getline(&line, &cap, f)) > 0) {
		enum pg_side side;
		size_t hex, pos = 0;

		if (strncmp(line, "END", 3) == 0) {
			ck_assert_uint_eq(alen[0], 0);
			ck_assert_uint_eq(alen[1], 0);
			ck_assert_int_eq(pg_session_phase(&s), PG_PHASE_CLOSED);
			ck_assert_uint_eq(pg_session_n_pending(&s), 0);
			pg_session_clear(&s);
			pg_session_init(&s, NULL, 0);
			st->sessions++;
			continue;
		}
		side = line[0] == 'F' ? PG_FRONTEND : PG_BACKEND;
		hex = ((size_t)n - 3) / 2;
		if (alen[side] + hex > acap[side]) {
			acap[side] = alen[side] + hex;
			acc[side] = realloc(acc[side], acap[side]);
			ck_assert_ptr_nonnull(acc[side]);
		}
		while (pos < hex) {
			size_t take = bytewise ? 1 : hex - pos;
			for (size_t i = 0; i < take; i++, pos++) {
				unsigned v;
				ck_assert_int_eq(sscanf(line + 2 + 2 * pos, "%2x", &v), 1);
				acc[side][alen[side]++] = (uint8_t)v;
			}
			for (;;) {
				struct pg_msg m;
				size_t used;
				int rc = pg_session_feed(&s, side, acc[side], alen[side], &used, &m);
				ck_assert_msg(rc >= 0, "%s: %s on side %d: %d", name, pg_msg_name(m.id),
					      side, rc);
				if (rc == PROTO_NEED_MORE)
					break;
				rec_note(&s, side, &m, st);
				memmove(acc[side], acc[side] + used, alen[side] - used);
				alen[side] -= used;
			}
		}
	}
	pg_session_clear(&s);
	free(acc[0]);
	free(acc[1]);
	free(line);
	fclose(f);
}

START_TEST(test_recorded_psql)
{
	struct rec_stats st, st1;

	replay("pg-psql.hex", &st, false);
	replay("pg-psql.hex", &st1, true);
	ck_assert_int_eq(memcmp(st.count, st1.count, sizeof(st.count)), 0);
	ck_assert_uint_eq(st.sessions, 1);
	ck_assert_uint_eq(st.count[PG_FRONTEND][PG_M_SSL_REQUEST], 1);
	ck_assert_uint_eq(st.count[PG_BACKEND][PG_M_ENC_ANSWER], 1);
	ck_assert_uint_eq(st.count[PG_FRONTEND][PG_M_STARTUP], 1);
	ck_assert_uint_eq(st.count[PG_BACKEND][PG_M_BACKEND_KEY], 1);
	ck_assert(has_type(&st, 17) && has_type(&st, 23) && has_type(&st, 25));
	ck_assert_uint_eq(st.binary_cols, 0);
	ck_assert_uint_eq(st.tx, 1 | 2 | 4);
	ck_assert(st.phases & (1u << PG_PHASE_COPY_OUT));
	ck_assert(st.phases & (1u << PG_PHASE_COPY_IN));
	ck_assert_str_eq(st.sqlstates, "22012 ");
	ck_assert_uint_ge(st.count[PG_FRONTEND][PG_M_COPY_DATA], 1);
	ck_assert_uint_ge(st.count[PG_BACKEND][PG_M_COPY_DATA], 2);
	ck_assert_uint_eq(st.max_stmts, 1); /* \gdesc prepares the unnamed statement */
	ck_assert_uint_eq(st.count[PG_FRONTEND][PG_M_TERMINATE], 1);
}
END_TEST

START_TEST(test_recorded_pgbench)
{
	struct rec_stats st;

	replay("pg-pgbench.hex", &st, false);
	ck_assert_uint_eq(st.sessions, 2);
	ck_assert_uint_eq(st.count[PG_FRONTEND][PG_M_PARSE], 1);
	ck_assert_uint_eq(st.count[PG_FRONTEND][PG_M_BIND], 2);
	ck_assert_uint_eq(st.count[PG_BACKEND][PG_M_BIND_COMPLETE], 2);
	ck_assert_uint_eq(st.max_stmts, 1);
	ck_assert_uint_eq(st.max_portals, 1);
	ck_assert(has_type(&st, 23));
	ck_assert_str_eq(st.sqlstates, "");
	replay("pg-pgbench-err.hex", &st, true);
	ck_assert_uint_eq(st.sessions, 2);
	ck_assert_str_eq(st.sqlstates, "22012 ");
	ck_assert_uint_eq(st.tx, 1 | 2 | 4);
}
END_TEST

START_TEST(test_recorded_psycopg2)
{
	struct rec_stats st;

	replay("pg-psycopg2.hex", &st, false);
	ck_assert_uint_eq(st.sessions, 1);
	ck_assert_uint_eq(st.count[PG_BACKEND][PG_M_ENC_ANSWER], 1);
	ck_assert(has_type(&st, 17));
	ck_assert(st.phases & (1u << PG_PHASE_COPY_OUT));
	ck_assert(st.phases & (1u << PG_PHASE_COPY_IN));
	ck_assert_str_eq(st.sqlstates, "42P01 ");
	ck_assert_uint_eq(st.max_stmts, 0);
}
END_TEST

Suite *pg_suite(void)
{
	Suite *s = suite_create("pg");
	TCase *tc = tcase_create("parser");
	TCase *td = tcase_create("decoders");
	TCase *tt = tcase_create("tracker");

	tcase_add_test(tc, test_frontend_typed);
	tcase_add_test(tc, test_backend_typed);
	tcase_add_test(tc, test_untyped_startup);
	tcase_add_test(tc, test_untyped_back_to_back);
	tcase_add_test(tc, test_untyped_malformed);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_bad_lengths);
	tcase_add_test(tc, test_encryption_answer);
	tcase_add_test(tc, test_stream_large_rows);
	suite_add_tcase(s, tc);
	tcase_add_test(td, test_decode_startup);
	tcase_add_test(td, test_decode_backend_simple);
	tcase_add_test(td, test_decode_rowdesc);
	tcase_add_test(td, test_decode_datarow);
	tcase_add_test(td, test_decode_frontend);
	tcase_add_test(td, test_decode_error);
	tcase_add_test(td, test_build_error);
	tcase_add_test(td, test_build_datarow);
	suite_add_tcase(s, td);
	tcase_add_test(tt, test_track_simple_query);
	tcase_add_test(tt, test_track_extended);
	tcase_add_test(tt, test_track_extended_errors);
	tcase_add_test(tt, test_track_copy);
	tcase_add_test(tt, test_track_registry_lifetime);
	tcase_add_test(tt, test_track_limits);
	tcase_add_test(tt, test_track_ssl_and_cancel);
	tcase_add_test(tt, test_recorded_psql);
	tcase_add_test(tt, test_recorded_pgbench);
	tcase_add_test(tt, test_recorded_psycopg2);
	suite_add_tcase(s, tt);
	return s;
}
