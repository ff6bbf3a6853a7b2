/* lib/mysqlproxy.c: MySQL/MariaDB session hooks of `acra server` (see lib/mysqlproxy.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/mysqlproxy.h"
#include "lib/rowdec.h"
#include "proto/mysql.h"

/* ER_NET_PACKETS_OUT_OF_ORDER-like codes the client sees when the proxy ends a session. */
#define MYP_ERR_PROTO 1158     /* ER_NET_READ_ERROR */
#define MYP_ERR_TOO_LONG 1153  /* ER_NET_PACKET_TOO_LARGE */
#define MYP_ERR_NOMEM 1037     /* ER_OUTOFMEMORY */
#define MYP_ERR_POISON 1105    /* ER_UNKNOWN_ERROR */
#define MYP_ERR_NO_DB 1105     /* ER_UNKNOWN_ERROR: client-side codes (2xxx) are refused */

/* One replaced value: where its plaintext lies in the value buffer. */
struct myp_val {
	uint32_t col;
	size_t off, len;
};

struct myp {
	const struct pgproxy_config *cfg;
	struct session *s;
	struct mysql_session my;
	struct rowdec dec;
	struct rowdec_buf flat;  /* a row payload spread over several packets */
	struct rowdec_buf vals;  /* decrypted values of the current row */
	struct rowdec_buf row;   /* the rebuilt row payload */
	struct rowdec_buf out;   /* bytes sent instead of a message */
	struct myp_val *rv;      /* replaced values of the current row */
	struct mysql_repl *repl;
	uint32_t rv_cap;
	uint8_t err[512];        /* an ERR packet built for the client */
	uint8_t client_seq;      /* sequence id the client expects next from the server */
	const char *closing;     /* an error went to the client; close with this reason */
};

/* ---- answers ---- */

static void answer_pass(struct session_answer *a, size_t n)
{
	a->verdict = SESSION_PASS;
	a->n = n;
}

static size_t build_err(struct myp *x, uint8_t seq, uint16_t code, const char *sqlstate,
			const char *msg)
{
	struct wbuf w;

	wbuf_init(&w, x->err, sizeof(x->err));
	if (mysql_build_err(&w, seq, mysql_session_caps(&x->my), code, sqlstate, msg) != ACRA_OK)
		return 0;
	return w.len;
}

/* The client broke the protocol: an ERR packet answers its packet, then close. */
static void client_fail(struct myp *x, const uint8_t *p, size_t len, struct session_answer *a,
			int rc)
{
	uint8_t seq = len >= MYSQL_HDR_LEN ? (uint8_t)(p[3] + 1u) : 0;
	const char *msg = rc == ACRA_ERANGE ? "acra server: packet from the client is too long" :
			  rc == ACRA_ENOMEM ? "acra server: out of memory" :
					      "acra server: invalid packet from the client";

	a->verdict = SESSION_CLOSE;
	a->out = x->err;
	a->out_len = build_err(x, seq,
			       rc == ACRA_ERANGE ? MYP_ERR_TOO_LONG :
			       rc == ACRA_ENOMEM ? MYP_ERR_NOMEM : MYP_ERR_PROTO,
			       rc == ACRA_ERANGE ? "08S01" : rc == ACRA_ENOMEM ? "HY001" : "08S01",
			       msg);
	a->reason = rc == ACRA_ERANGE ? "client packet over the length limit" :
					"client broke the MySQL protocol";
}

/* The database side failed (or a poison record stops the session): the client gets an ERR
 * packet now (a REPLACE of nothing towards the client); the next call closes. */
static void db_fail(struct myp *x, struct session_answer *a, uint16_t code, const char *msg,
		    const char *reason)
{
	a->verdict = SESSION_REPLACE;
	a->n = 0;
	a->out = x->err;
	a->out_len = build_err(x, x->client_seq, code, "08S01", msg);
	x->closing = reason;
}

/* Copy the message's bytes to edit them: capabilities and/or sequence ids. */
static int edit_msg(struct myp *x, const struct mysql_msg *m, const uint8_t *p, size_t used,
		    struct session_answer *a)
{
	rowdec_buf_restart(&x->out);
	rowdec_buf_put(&x->out, p, used);
	if (x->out.failed)
		return ACRA_ENOMEM;
	if (m->caps_edit && mysql_caps_clear(&x->my, m, x->out.p) != ACRA_OK)
		return ACRA_EPROTO;
	if (m->seq_out != m->seq)
		mysql_fix_seq(m, x->out.p);
	a->verdict = SESSION_REPLACE;
	a->n = used;
	a->out = x->out.p;
	a->out_len = x->out.len;
	return ACRA_OK;
}

/* Forward message m as it is, or with its capabilities or sequence ids edited. */
static int pass_msg(struct myp *x, const struct mysql_msg *m, const uint8_t *p, size_t used,
		    struct session_answer *a)
{
	if (m->dir == MYSQL_FROM_SERVER)
		x->client_seq = (uint8_t)(m->seq_out + m->n_seg);
	if (m->caps_edit || m->seq_out != m->seq)
		return edit_msg(x, m, p, used, a);
	answer_pass(a, used);
	return ACRA_OK;
}

/* ---- rows ---- */

static bool grow_vals(struct myp *x, uint32_t n)
{
	struct myp_val *rv;
	struct mysql_repl *repl;

	if (n <= x->rv_cap)
		return true;
	rv = realloc(x->rv, n * sizeof(*rv));
	if (rv == NULL)
		return false;
	x->rv = rv;
	repl = realloc(x->repl, n * sizeof(*repl));
	if (repl == NULL)
		return false;
	x->repl = repl;
	x->rv_cap = n;
	return true;
}

/* Is column i of this row one that may hold an envelope? */
static bool col_may_decrypt(const struct mysql_msg *m, uint32_t i)
{
	return m->cols == NULL || mysql_type_is_string(m->cols[i].type);
}

/* Decrypt the values of row m (payload pl) and send the rebuilt row, or pass it. */
static void rewrite_row(struct myp *x, const struct mysql_msg *m, const uint8_t *p, size_t used,
			struct session_answer *a)
{
	const struct pgproxy_config *cfg = x->cfg;
	bool binary = m->kind == MYSQL_K_BINARY_ROW;
	struct mysql_row_it it;
	struct mysql_val v;
	struct rowdec_row r;
	struct bytes pl;
	uint32_t n_rv = 0;
	size_t grow = 0;
	struct wbuf w;
	int rc;

	if (binary && m->cols == NULL) /* a statement the registry had no room for */
		goto pass;
	if (m->n_seg == 1) {
		if (mysql_msg_payload(m, &pl) != ACRA_OK)
			goto bad;
	} else {
		rowdec_buf_restart(&x->flat);
		if (!rowdec_buf_reserve(&x->flat, m->payload_len))
			goto nomem;
		wbuf_init(&w, x->flat.p, x->flat.cap);
		if (mysql_msg_flatten(m, &w) != ACRA_OK)
			goto nomem;
		x->flat.len = w.len;
		pl = (struct bytes){ x->flat.p, x->flat.len };
	}
	if (!cfg->zonemode) { /* fast path: nothing that could be an envelope */
		bool any = false;

		if (mysql_row_init(&it, pl.p, pl.len, binary, m->n_cols, m->cols) != ACRA_OK)
			goto bad;
		while ((rc = mysql_row_next(&it, &v)) == 1)
			if (!v.is_null && col_may_decrypt(m, it.i - 1u) &&
			    rowdec_may_hold(v.v.p, v.v.len)) {
				any = true;
				break;
			}
		if (rc < 0)
			goto bad;
		if (!any)
			goto pass;
	}
	if (mysql_row_init(&it, pl.p, pl.len, binary, m->n_cols, m->cols) != ACRA_OK)
		goto bad;
	if (!grow_vals(x, m->n_cols) || rowdec_row_begin(&x->dec, &r) != ACRA_OK)
		goto nomem;
	rowdec_buf_restart(&x->vals);
	while ((rc = mysql_row_next(&it, &v)) == 1) {
		uint32_t i = it.i - 1u;
		struct bytes b = v.v;
		bool ch;

		if (v.is_null || !col_may_decrypt(m, i))
			continue;
		if (rowdec_col(&x->dec, &r, CODEC_ENC_RAW, i, &b, &ch) != ACRA_OK)
			goto nomem;
		if (!ch)
			continue;
		x->rv[n_rv] = (struct myp_val){ i, x->vals.len, b.len };
		rowdec_buf_put(&x->vals, b.p, b.len);
		if (b.len > v.v.len)
			grow += b.len - v.v.len + 8;
		n_rv++;
	}
	if (rc < 0)
		goto bad;
	if (rowdec_row_end(&x->dec, &r)) {
		db_fail(x, a, MYP_ERR_POISON, "acra server: poison record detected; shutting down",
			"poison record detected");
		return;
	}
	if (x->vals.failed)
		goto nomem;
	if (n_rv == 0)
		goto pass;
	for (uint32_t k = 0; k < n_rv; k++)
		x->repl[k] = (struct mysql_repl){ x->rv[k].col,
						  { x->vals.p + x->rv[k].off, x->rv[k].len },
						  false };
	/* the new payload */
	rowdec_buf_restart(&x->row);
	if (!rowdec_buf_reserve(&x->row, pl.len + grow + 16))
		goto nomem;
	wbuf_init(&w, x->row.p, x->row.cap);
	rc = mysql_row_rebuild(&w, pl.p, pl.len, binary, m->n_cols, m->cols, x->repl, n_rv);
	if (rc == ACRA_EPROTO)
		goto bad;
	if (rc != ACRA_OK)
		goto nomem;
	x->row.len = w.len;
	/* framed into packets */
	rowdec_buf_restart(&x->out);
	if (!rowdec_buf_reserve(&x->out, x->row.len + MYSQL_HDR_LEN *
				(x->row.len / MYSQL_MAX_PAYLOAD + 2)))
		goto nomem;
	wbuf_init(&w, x->out.p, x->out.cap);
	if (mysql_emit(&x->my, m, x->row.p, x->row.len, &w) != ACRA_OK)
		goto nomem;
	x->out.len = w.len;
	x->client_seq = (uint8_t)(m->seq_out + x->row.len / MYSQL_MAX_PAYLOAD + 1u);
	a->verdict = SESSION_REPLACE;
	a->n = used;
	a->out = x->out.p;
	a->out_len = x->out.len;
	return;
pass:
	if (pass_msg(x, m, p, used, a) != ACRA_OK)
		goto nomem;
	return;
bad:
	db_fail(x, a, MYP_ERR_PROTO, "acra server: invalid result row from the database",
		"database sent an invalid result row");
	return;
nomem:
	db_fail(x, a, MYP_ERR_NOMEM, "acra server: out of memory", "out of memory");
}

/* ---- hooks ---- */

static int myp_open(struct session *s, void *arg, void **state)
{
	struct myp *x = calloc(1, sizeof(*x));
	struct mysql_limits lim;

	if (x == NULL)
		return ACRA_ENOMEM;
	x->cfg = arg;
	x->s = s;
	x->dec.cfg = arg;
	x->dec.s = s;
	mysql_limits_default(&lim);
	/* without TLS configured for both legs the database's TLS offer is not passed on */
	if (!session_tls_offered(s))
		lim.clear_caps |= MYSQL_CLIENT_SSL;
	if (lim.max_msg > SESSION_NEED_MAX - 1024)
		lim.max_msg = SESSION_NEED_MAX - 1024;
	if (mysql_session_init(&x->my, &lim) != ACRA_OK) {
		free(x);
		return ACRA_ENOMEM;
	}
	*state = x;
	return ACRA_OK;
}

static void myp_close(void *state)
{
	struct myp *x = state;

	if (x == NULL)
		return;
	mysql_session_clear(&x->my);
	rowdec_free(&x->dec);
	rowdec_buf_free(&x->flat);
	rowdec_buf_free(&x->vals);
	rowdec_buf_free(&x->row);
	rowdec_buf_free(&x->out);
	free(x->rv);
	free(x->repl);
	sodium_memzero(x->err, sizeof(x->err));
	free(x);
}

static void on_client(void *state, struct session *s, const uint8_t *p, size_t len,
		      struct session_answer *a)
{
	struct myp *x = state;
	struct mysql_msg m;
	size_t used = 0;
	int rc;

	rc = mysql_feed(&x->my, MYSQL_FROM_CLIENT, p, len, &used, &m);
	if (rc == MYSQL_NEED_MORE) {
		if (m.wire_len > SESSION_NEED_MAX) {
			client_fail(x, p, len, a, ACRA_ERANGE);
			return;
		}
		a->verdict = SESSION_NEED_MORE;
		a->n = m.wire_len;
		return;
	}
	if (rc < 0) {
		client_fail(x, p, len, a, rc);
		return;
	}
	if (m.kind == MYSQL_K_SSL_REQUEST) {
		/* TLS on both legs: the request goes on, then the session upgrades */
		if (!session_tls_offered(s)) {
			client_fail(x, p, len, a, ACRA_EPROTO);
			return;
		}
		if (pass_msg(x, &m, p, used, a) != ACRA_OK) {
			client_fail(x, p, len, a, ACRA_ENOMEM);
			return;
		}
		session_starttls(s);
		return;
	}
	if (m.kind == MYSQL_K_COMMAND || m.kind == MYSQL_K_HANDSHAKE_RESPONSE ||
	    m.kind == MYSQL_K_AUTH_DATA || m.kind == MYSQL_K_INFILE_END)
		x->client_seq = (uint8_t)(m.seq_out + m.n_seg);
	if (pass_msg(x, &m, p, used, a) != ACRA_OK)
		client_fail(x, p, len, a, ACRA_ENOMEM);
}

static void on_db(void *state, struct session *s, const uint8_t *p, size_t len,
		  struct session_answer *a)
{
	struct myp *x = state;
	struct mysql_msg m;
	size_t used = 0;
	int rc;

	(void)s;
	if (x->closing != NULL) {
		a->verdict = SESSION_CLOSE;
		a->reason = x->closing;
		return;
	}
	rc = mysql_feed(&x->my, MYSQL_FROM_SERVER, p, len, &used, &m);
	if (rc == MYSQL_NEED_MORE) {
		if (m.wire_len > SESSION_NEED_MAX) {
			db_fail(x, a, MYP_ERR_TOO_LONG,
				"acra server: packet from the database is too long",
				"database packet over the length limit");
			return;
		}
		a->verdict = SESSION_NEED_MORE;
		a->n = m.wire_len;
		return;
	}
	if (rc < 0) {
		db_fail(x, a, rc == ACRA_ERANGE ? MYP_ERR_TOO_LONG : MYP_ERR_PROTO,
			"acra server: invalid packet from the database",
			"database broke the MySQL protocol");
		return;
	}
	if (m.kind == MYSQL_K_TEXT_ROW || m.kind == MYSQL_K_BINARY_ROW) {
		rewrite_row(x, &m, p, used, a);
		return;
	}
	if (pass_msg(x, &m, p, used, a) != ACRA_OK)
		db_fail(x, a, MYP_ERR_NOMEM, "acra server: out of memory", "out of memory");
}

/* The database is down: the client, waiting for a greeting, gets an ERR packet instead (a
 * server may send one as its first packet). */
static void on_db_unreachable(void *arg, const uint8_t *p, size_t len, struct session_answer *a)
{
	static _Thread_local uint8_t buf[160];
	struct wbuf w;

	(void)arg;
	(void)p;
	(void)len;
	wbuf_init(&w, buf, sizeof(buf));
	a->verdict = SESSION_CLOSE;
	a->reason = "database unreachable";
	if (mysql_build_err(&w, 0, 0, MYP_ERR_NO_DB, "HY000",
			    "acra server cannot connect to the database") == ACRA_OK) {
		a->out = buf;
		a->out_len = w.len;
	}
}

const struct session_hooks mysqlproxy_hooks = {
	.connect_db_later = false,
	.open = myp_open,
	.on_client_bytes = on_client,
	.on_db_bytes = on_db,
	.close = myp_close,
	.on_db_unreachable = on_db_unreachable,
};
