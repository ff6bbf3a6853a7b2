/* lib/pgproxy.c: PostgreSQL session hooks of `acra server` (see lib/pgproxy.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/pgproxy.h"
#include "lib/rowdec.h"
#include "proto/pg.h"

/* Streamed (never rewritten) DataRow/CopyData: as large as the glue can hold whole. */
#define STREAM_FROM_DB (SESSION_NEED_MAX - 16)
/* Client CopyData (COPY FROM) is never rewritten: stream it in pieces from this size. */
#define STREAM_FROM_CLIENT (256 * 1024)

struct pgp {
	const struct pgproxy_config *cfg;
	struct session *s;
	struct pg_session pg;
	struct rowdec dec;
	struct rowdec_buf out; /* rebuilt DataRow / CopyData */
	struct rowdec_buf tmp; /* a COPY field without its escapes */
	uint8_t err[512];  /* an ErrorResponse built for the client */
	uint8_t no;        /* the 'N' answer to SSLRequest / GSSENCRequest */
	const char *closing; /* an error went to the client; close with this reason */
	bool copy_text;    /* COPY TO in text format is running */
};

/* ---- answers ---- */

static void answer_pass(struct session_answer *a, size_t n)
{
	a->verdict = SESSION_PASS;
	a->n = n;
}

static size_t build_error(struct pgp *x, const char *severity, const char *sqlstate,
			  const char *msg)
{
	struct wbuf w;

	wbuf_init(&w, x->err, sizeof(x->err));
	pg_build_error(&w, severity, sqlstate, msg);
	return w.failed ? 0 : w.len;
}

/* The client broke the protocol: reply with an ErrorResponse and close. */
static void client_fail(struct pgp *x, struct session_answer *a, int rc)
{
	const char *msg = rc == ACRA_ERANGE ? "acra server: message from the client is too long" :
			  rc == ACRA_ENOMEM ? "acra server: out of memory" :
					      "acra server: invalid message from the client";

	a->verdict = SESSION_CLOSE;
	a->out = x->err;
	a->out_len = build_error(x, "FATAL", rc == ACRA_ERANGE ? "54000" : "08P01", msg);
	a->reason = rc == ACRA_ERANGE ? "client message over the length limit" :
					"client broke the PostgreSQL protocol";
}

/* The database side failed (or a poison record stops the session): the client gets an
 * ErrorResponse now (a REPLACE of nothing towards the client); the next call closes. */
static void db_fail(struct pgp *x, struct session_answer *a, const char *sqlstate,
		    const char *msg, const char *reason)
{
	a->verdict = SESSION_REPLACE;
	a->n = 0;
	a->out = x->err;
	a->out_len = build_error(x, "FATAL", sqlstate, msg);
	x->closing = reason;
}

/* ---- DataRow ---- */

static void rewrite_row(struct pgp *x, const struct pg_msg *m, size_t used,
			struct session_answer *a)
{
	const struct pgproxy_config *cfg = x->cfg;
	struct pg_iter it;
	struct pg_col c;
	struct rowdec_row r;
	bool changed = false;
	int rc;

	if (pg_datarow_begin(m, &it) != ACRA_OK)
		goto bad;
	if (!cfg->zonemode) { /* fast path: nothing that could be an envelope */
		bool any = false;

		while ((rc = pg_values_next(&it, &c)) == 1)
			if (!c.is_null && rowdec_may_hold(c.v.p, c.v.len)) {
				any = true;
				break;
			}
		if (rc < 0)
			goto bad;
		if (!any) {
			answer_pass(a, used);
			return;
		}
		if (pg_datarow_begin(m, &it) != ACRA_OK)
			goto bad;
	}
	if (rowdec_row_begin(&x->dec, &r) != ACRA_OK)
		goto nomem;
	rowdec_buf_restart(&x->out);
	rowdec_buf_put(&x->out, "D\0\0\0\0", 5);
	rowdec_buf_put(&x->out, m->body.p, 2); /* column count */
	while ((rc = pg_values_next(&it, &c)) == 1) {
		uint32_t i = it.i - 1u;
		struct bytes v = c.v;
		bool ch;

		if (c.is_null) {
			rowdec_buf_put_be32(&x->out, 0xFFFFFFFFu);
			continue;
		}
		if (rowdec_col(&x->dec, &r,
			       pg_session_col_format(&x->pg, i) == 1 ? CODEC_ENC_RAW : cfg->text_enc,
			       i, &v, &ch) != ACRA_OK)
			goto nomem;
		changed |= ch;
		rowdec_buf_put_be32(&x->out, (uint32_t)v.len);
		rowdec_buf_put(&x->out, v.p, v.len);
	}
	if (rc < 0)
		goto bad;
	if (rowdec_row_end(&x->dec, &r)) {
		db_fail(x, a, "XX000", "acra server: poison record detected; shutting down",
			"poison record detected");
		return;
	}
	if (x->out.failed || x->out.len - 1 > 0x7FFFFFFFu)
		goto nomem;
	if (!changed) {
		answer_pass(a, used);
		return;
	}
	x->out.p[1] = (uint8_t)((x->out.len - 1) >> 24);
	x->out.p[2] = (uint8_t)((x->out.len - 1) >> 16);
	x->out.p[3] = (uint8_t)((x->out.len - 1) >> 8);
	x->out.p[4] = (uint8_t)(x->out.len - 1);
	a->verdict = SESSION_REPLACE;
	a->n = used;
	a->out = x->out.p;
	a->out_len = x->out.len;
	return;
bad:
	db_fail(x, a, "08P01", "acra server: invalid DataRow from the database",
		"database sent an invalid DataRow");
	return;
nomem:
	db_fail(x, a, "53200", "acra server: out of memory", "out of memory");
}

/* ---- COPY TO, text format: one row per CopyData, fields split by tabs, backslash
 * escapes (\\, \t, \n, \r, \b, \f, \v, \ooo, \xhh); \N is NULL. ---- */

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void copy_unescape(struct rowdec_buf *o, const uint8_t *f, size_t n)
{
	rowdec_buf_restart(o);
	if (!rowdec_buf_reserve(o, n))
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = f[i];

		if (ch != '\\' || i + 1 == n) {
			o->p[o->len++] = ch;
			continue;
		}
		ch = f[++i];
		switch (ch) {
		case 'b': o->p[o->len++] = '\b'; break;
		case 'f': o->p[o->len++] = '\f'; break;
		case 'n': o->p[o->len++] = '\n'; break;
		case 'r': o->p[o->len++] = '\r'; break;
		case 't': o->p[o->len++] = '\t'; break;
		case 'v': o->p[o->len++] = '\v'; break;
		case 'x':
			if (i + 1 < n && hexval(f[i + 1]) >= 0) {
				int v = hexval(f[++i]);

				if (i + 1 < n && hexval(f[i + 1]) >= 0)
					v = v * 16 + hexval(f[++i]);
				o->p[o->len++] = (uint8_t)v;
			} else {
				o->p[o->len++] = 'x';
			}
			break;
		default:
			if (ch >= '0' && ch <= '7') {
				int v = ch - '0';

				for (int k = 0; k < 2 && i + 1 < n && f[i + 1] >= '0' && f[i + 1] <= '7'; k++)
					v = v * 8 + (f[++i] - '0');
				o->p[o->len++] = (uint8_t)v;
			} else {
				o->p[o->len++] = ch;
			}
		}
	}
}

static void copy_escape(struct rowdec_buf *o, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = v[i], e = 0;

		switch (ch) {
		case '\\': e = '\\'; break;
		case '\t': e = 't'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		case '\v': e = 'v'; break;
		default: break;
		}
		if (e != 0) {
			uint8_t two[2] = { '\\', e };

			rowdec_buf_put(o, two, 2);
		} else {
			rowdec_buf_put(o, &ch, 1);
		}
	}
}

static void rewrite_copy(struct pgp *x, const struct pg_msg *m, size_t used,
			 struct session_answer *a)
{
	const struct pgproxy_config *cfg = x->cfg;
	const uint8_t *b = m->body.p, *end = m->body.p + m->body.len;
	struct rowdec_row r;
	bool changed = false;

	if (cfg->zonemode || m->body.len < PGPROXY_MIN_ENVELOPE ||
	    (memmem(b, m->body.len, "22222222", 8) == NULL &&
	     memmem(b, m->body.len, "252525", 6) == NULL &&
	     memmem(b, m->body.len, "\"\"\"\"", 4) == NULL &&
	     memmem(b, m->body.len, "%%%", 3) == NULL)) {
		answer_pass(a, used);
		return;
	}
	if (rowdec_row_begin(&x->dec, &r) != ACRA_OK)
		goto nomem;
	rowdec_buf_restart(&x->out);
	rowdec_buf_put(&x->out, "d\0\0\0\0", 5);
	while (b < end) {
		const uint8_t *f = b;
		size_t n;

		while (b < end && *b != '\t' && *b != '\n')
			b++;
		n = (size_t)(b - f);
		if (rowdec_may_hold(f, n)) {
			struct bytes v;
			bool ch;

			copy_unescape(&x->tmp, f, n);
			if (x->tmp.failed)
				goto nomem;
			v = (struct bytes){ x->tmp.p, x->tmp.len };
			if (rowdec_col(&x->dec, &r, cfg->text_enc, 0, &v, &ch) != ACRA_OK)
				goto nomem;
			if (ch) {
				copy_escape(&x->out, v.p, v.len);
				changed = true;
			} else {
				rowdec_buf_put(&x->out, f, n);
			}
		} else {
			rowdec_buf_put(&x->out, f, n);
		}
		if (b < end)
			rowdec_buf_put(&x->out, b++, 1); /* the tab or the newline */
	}
	if (rowdec_row_end(&x->dec, &r)) {
		db_fail(x, a, "XX000", "acra server: poison record detected; shutting down",
			"poison record detected");
		return;
	}
	if (x->out.failed || x->out.len - 1 > 0x7FFFFFFFu)
		goto nomem;
	if (!changed) {
		answer_pass(a, used);
		return;
	}
	x->out.p[1] = (uint8_t)((x->out.len - 1) >> 24);
	x->out.p[2] = (uint8_t)((x->out.len - 1) >> 16);
	x->out.p[3] = (uint8_t)((x->out.len - 1) >> 8);
	x->out.p[4] = (uint8_t)(x->out.len - 1);
	a->verdict = SESSION_REPLACE;
	a->n = used;
	a->out = x->out.p;
	a->out_len = x->out.len;
	return;
nomem:
	db_fail(x, a, "53200", "acra server: out of memory", "out of memory");
}

/* ---- hooks ---- */

static int pgp_open(struct session *s, void *arg, void **state)
{
	struct pgp *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return ACRA_ENOMEM;
	x->cfg = arg;
	x->s = s;
	x->dec.cfg = arg;
	x->dec.s = s;
	x->no = 'N';
	pg_session_init(&x->pg, NULL, 0);
	pg_parser_set_stream(pg_session_parser(&x->pg, PG_BACKEND), STREAM_FROM_DB);
	pg_parser_set_stream(pg_session_parser(&x->pg, PG_FRONTEND), STREAM_FROM_CLIENT);
	*state = x;
	return ACRA_OK;
}

static void pgp_close(void *state)
{
	struct pgp *x = state;

	if (x == NULL)
		return;
	pg_session_clear(&x->pg);
	rowdec_free(&x->dec);
	rowdec_buf_free(&x->out);
	rowdec_buf_free(&x->tmp);
	sodium_memzero(x->err, sizeof(x->err));
	free(x);
}

static void on_client(void *state, struct session *s, const uint8_t *p, size_t len,
		      struct session_answer *a)
{
	struct pgp *x = state;
	struct pg_parser *fe = pg_session_parser(&x->pg, PG_FRONTEND);
	struct pg_msg m;
	size_t used = 0;
	int rc;

	(void)s;
	rc = pg_parser_feed(fe, p, len, &used, &m);
	if (rc == PROTO_NEED_MORE) {
		if (m.need > SESSION_NEED_MAX) {
			client_fail(x, a, ACRA_ERANGE);
			return;
		}
		a->verdict = SESSION_NEED_MORE;
		a->n = m.need;
		return;
	}
	if (rc < 0) {
		client_fail(x, a, rc);
		return;
	}
	if (rc == PROTO_MSG && (m.id == PG_M_SSL_REQUEST || m.id == PG_M_GSSENC_REQUEST)) {
		/* No TLS or GSS encryption towards the client: answer 'N' here; the request
		 * never reaches the database, so it cannot answer 'S' to a client that would
		 * then try TLS with a proxy that relays bytes. */
		pg_parser_answered(fe);
		a->verdict = SESSION_REPLACE;
		a->n = used;
		a->out = &x->no;
		a->out_len = 1;
		a->to_sender = true;
		return;
	}
	if (rc == PROTO_MSG || m.first) {
		rc = pg_session_track(&x->pg, PG_FRONTEND, &m);
		if (rc < 0) {
			client_fail(x, a, rc);
			return;
		}
	}
	answer_pass(a, used);
}

static void on_db(void *state, struct session *s, const uint8_t *p, size_t len,
		  struct session_answer *a)
{
	struct pgp *x = state;
	struct pg_parser *be = pg_session_parser(&x->pg, PG_BACKEND);
	struct pg_msg m;
	size_t used = 0;
	int rc;

	(void)s;
	if (x->closing != NULL) {
		a->verdict = SESSION_CLOSE;
		a->reason = x->closing;
		return;
	}
	rc = pg_parser_feed(be, p, len, &used, &m);
	if (rc == PROTO_NEED_MORE) {
		if (m.need > SESSION_NEED_MAX) {
			db_fail(x, a, "08P01", "acra server: message from the database is too long",
				"database message over the length limit");
			return;
		}
		a->verdict = SESSION_NEED_MORE;
		a->n = m.need;
		return;
	}
	if (rc >= 0 && (rc == PROTO_MSG || m.first) &&
	    pg_session_track(&x->pg, PG_BACKEND, &m) < 0)
		rc = ACRA_EPROTO;
	if (rc < 0) {
		db_fail(x, a, "08P01", "acra server: invalid message from the database",
			"database broke the PostgreSQL protocol");
		return;
	}
	if (rc == PROTO_MSG) {
		switch (m.id) {
		case PG_M_DATA_ROW:
			rewrite_row(x, &m, used, a);
			return;
		case PG_M_COPY_OUT_RESPONSE: {
			struct pg_copy_resp cr;

			x->copy_text = pg_decode_copy_resp(&m, &cr) == ACRA_OK && cr.format == 0;
			break;
		}
		case PG_M_COPY_DATA:
			if (x->copy_text && pg_session_phase(&x->pg) == PG_PHASE_COPY_OUT) {
				rewrite_copy(x, &m, used, a);
				return;
			}
			break;
		case PG_M_COPY_DONE:
		case PG_M_READY:
			x->copy_text = false;
			break;
		default:
			break;
		}
	}
	answer_pass(a, used);
}

/* The database is down: 'N' to encryption requests, then a FATAL ErrorResponse to the
 * StartupMessage, as PostgreSQL itself would fail a connection. */
static void on_db_unreachable(void *arg, const uint8_t *p, size_t len, struct session_answer *a)
{
	static const uint8_t no = 'N';
	static _Thread_local uint8_t buf[256];
	struct pg_parser fe;
	struct pg_msg m;
	struct wbuf w;
	size_t used = 0;
	int rc;

	(void)arg;
	pg_parser_init(&fe, PG_FRONTEND, 0);
	rc = pg_parser_feed(&fe, p, len, &used, &m);
	if (rc == PROTO_NEED_MORE && m.need <= PG_MAX_STARTUP + 1) {
		a->verdict = SESSION_NEED_MORE;
		a->n = m.need;
		return;
	}
	if (rc == PROTO_MSG && (m.id == PG_M_SSL_REQUEST || m.id == PG_M_GSSENC_REQUEST)) {
		a->verdict = SESSION_REPLACE;
		a->n = used;
		a->out = &no;
		a->out_len = 1;
		a->to_sender = true;
		return;
	}
	wbuf_init(&w, buf, sizeof(buf));
	if (rc == PROTO_MSG && m.id == PG_M_CANCEL_REQUEST) {
		a->verdict = SESSION_CLOSE;
		a->reason = "cancel request while the database is unreachable";
		return;
	}
	if (rc == PROTO_MSG)
		pg_build_error(&w, "FATAL", "08006",
			       "acra server cannot connect to the database");
	else
		pg_build_error(&w, "FATAL", "08P01", "acra server: invalid startup packet");
	a->verdict = SESSION_CLOSE;
	a->out = w.failed ? NULL : buf;
	a->out_len = w.failed ? 0 : w.len;
	a->reason = "database unreachable";
}

const struct session_hooks pgproxy_hooks = {
	.connect_db_later = false,
	.open = pgp_open,
	.on_client_bytes = on_client,
	.on_db_bytes = on_db,
	.close = pgp_close,
	.on_db_unreachable = on_db_unreachable,
};
