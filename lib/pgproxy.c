/* lib/pgproxy.c: PostgreSQL session hooks of `acra server` (see lib/pgproxy.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/pgproxy.h"
#include "proto/pg.h"

/* Streamed (never rewritten) DataRow/CopyData: as large as the glue can hold whole. */
#define STREAM_FROM_DB (SESSION_NEED_MAX - 16)
/* Client CopyData (COPY FROM) is never rewritten: stream it in pieces from this size. */
#define STREAM_FROM_CLIENT (256 * 1024)

/* A growing output buffer that holds plaintext: wiped when regrown, reused, and freed. */
struct obuf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

struct pgp {
	const struct pgproxy_config *cfg;
	struct session *s;
	struct pg_session pg;
	struct codec *codec;
	struct obuf out;   /* rebuilt DataRow / CopyData */
	struct obuf tmp;   /* a COPY field without its escapes */
	uint8_t err[512];  /* an ErrorResponse built for the client */
	uint8_t no;        /* the 'N' answer to SSLRequest / GSSENCRequest */
	const char *closing; /* an error went to the client; close with this reason */
	bool copy_text;    /* COPY TO in text format is running */
};

static void obuf_wipe_free(struct obuf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static bool obuf_reserve(struct obuf *b, size_t more)
{
	size_t want, cap;
	uint8_t *np;

	if (b->failed)
		return false;
	if (more > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return false;
	}
	want = b->len + more;
	if (want <= b->cap)
		return true;
	cap = b->cap < 4096 ? 4096 : b->cap;
	while (cap < want)
		cap *= 2;
	np = malloc(cap);
	if (np == NULL) {
		b->failed = true;
		return false;
	}
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = cap;
	return true;
}

static void obuf_put(struct obuf *b, const void *src, size_t n)
{
	if (!obuf_reserve(b, n))
		return;
	if (n > 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void obuf_put_be32(struct obuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	obuf_put(b, x, 4);
}

/* Start a new message: wipe what the previous one left. */
static void obuf_restart(struct obuf *b)
{
	if (b->p != NULL && b->len > 0)
		sodium_memzero(b->p, b->len);
	b->len = 0;
	b->failed = false;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* ---- values ---- */

/* Could the value hold an envelope in raw, hex or escape form? AcraStruct tag: eight '%';
 * container tag "%%%"; AcraBlock tag: four '"'. */
static bool may_hold_envelope(const uint8_t *v, size_t len)
{
	if (len < PGPROXY_MIN_ENVELOPE)
		return false;
	/* bytea hex output ("\x", or "\\x" inside COPY): the tags in hex first */
	if (v[0] == '\\' &&
	    (memmem(v, len, "22222222", 8) != NULL || memmem(v, len, "252525", 6) != NULL))
		return true;
	return memmem(v, len, "\"\"\"\"", 4) != NULL || memmem(v, len, "%%%", 3) != NULL;
}

static void count(struct pgp *x, const struct codec_result *r)
{
	const struct pgproxy_metrics *m = x->cfg->metrics;
	unsigned s_ok = r->n_decrypted - r->n_block_decrypted;
	unsigned s_fail = r->n_failed - r->n_block_failed;

	if (r->n_found > 0 && r->n_decrypted < r->n_found)
		clog_debug(session_log_ctx(x->s), "%u of %u envelopes in a value did not decrypt "
			   "(%s); returned unchanged", r->n_failed, r->n_found,
			   codec_status_str(r->status));
	if (m == NULL)
		return;
	if (s_ok > 0) {
		metric_add(m->dec_ok[0], s_ok);
		metric_add(m->struct_ok, s_ok);
	}
	if (s_fail > 0) {
		metric_add(m->dec_fail[0], s_fail);
		metric_add(m->struct_fail, s_fail);
	}
	if (r->n_block_decrypted > 0)
		metric_add(m->dec_ok[1], r->n_block_decrypted);
	if (r->n_block_failed > 0)
		metric_add(m->dec_fail[1], r->n_block_failed);
}

/* A poison record was in a result: log, count, let the server react. Returns true if the
 * session must end. */
static bool poison_hit(struct pgp *x, unsigned n)
{
	const struct pgproxy_config *cfg = x->cfg;

	log_emit(LOG_WARN, LOG_CODE_POISON, session_log_ctx(x->s), "Recognized poison record");
	if (cfg->metrics != NULL)
		metric_add(cfg->metrics->poison, n > 0 ? n : 1);
	if (cfg->on_poison != NULL)
		cfg->on_poison(cfg->poison_arg, cfg->poison_script, cfg->poison_shutdown);
	return cfg->poison_shutdown;
}

static void params_init(struct pgp *x, struct codec_params *p)
{
	const char *cid = session_client_id(x->s);

	memset(p, 0, sizeof(*p));
	p->scan = x->cfg->scan;
	p->detect_poison = x->cfg->detect_poison;
	p->keys = &x->cfg->keys;
	if (cid != NULL)
		p->owner.client_id = (struct bytes){ (const uint8_t *)cid, strlen(cid) };
}

static int ensure_codec(struct pgp *x)
{
	if (x->codec == NULL)
		x->codec = codec_new();
	return x->codec != NULL ? ACRA_OK : ACRA_ENOMEM;
}

/* ---- DataRow ---- */

static void rewrite_row(struct pgp *x, const struct pg_msg *m, size_t used,
			struct session_answer *a)
{
	const struct pgproxy_config *cfg = x->cfg;
	struct pg_iter it;
	struct pg_col c;
	struct codec_params p;
	struct codec_result r;
	struct zone_matcher zm;
	unsigned poison = 0;
	bool changed = false;
	double t0;
	int rc;

	if (pg_datarow_begin(m, &it) != ACRA_OK)
		goto bad;
	if (!cfg->zonemode) { /* fast path: nothing that could be an envelope */
		bool any = false;

		while ((rc = pg_values_next(&it, &c)) == 1)
			if (!c.is_null && may_hold_envelope(c.v.p, c.v.len)) {
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
	t0 = now_s();
	if (ensure_codec(x) != ACRA_OK)
		goto nomem;
	params_init(x, &p);
	zone_matcher_reset(&zm);
	obuf_restart(&x->out);
	obuf_put(&x->out, "D\0\0\0\0", 5);
	obuf_put(&x->out, m->body.p, 2); /* column count */
	while ((rc = pg_values_next(&it, &c)) == 1) {
		uint32_t i = it.i - 1u;
		struct bytes v = c.v;

		if (c.is_null) {
			obuf_put_be32(&x->out, 0xFFFFFFFFu);
			continue;
		}
		p.enc = pg_session_col_format(&x->pg, i) == 1 ? CODEC_ENC_RAW : cfg->text_enc;
		if (cfg->zonemode && !zm.matched) {
			if (v.len >= ZONE_ID_LEN &&
			    codec_match_zone(x->codec, &p, v.p, v.len, &zm, &r))
				clog_debug(session_log_ctx(x->s), "zone %.*s matched in column %u",
					   ZONE_ID_LEN, (const char *)zm.id, i);
			else if (v.len < ZONE_ID_LEN)
				r.status = CODEC_NONE;
			if (r.status == CODEC_POISON)
				poison += r.n_poison;
		} else if (v.len >= PGPROXY_MIN_ENVELOPE) {
			if (cfg->zonemode)
				p.owner.zone_id = (struct bytes){ zm.id, ZONE_ID_LEN };
			if (codec_decrypt(x->codec, &p, v.p, v.len, &r) != ACRA_OK)
				goto nomem;
			count(x, &r);
			if (r.n_poison > 0)
				poison += r.n_poison;
			if (r.out.p != v.p || r.out.len != v.len) {
				v = r.out;
				changed = true;
			}
			if (cfg->zonemode && cfg->scan == CODEC_SCAN_INLINE && r.status == CODEC_DONE)
				zone_matcher_reset(&zm);
		}
		obuf_put_be32(&x->out, (uint32_t)v.len);
		obuf_put(&x->out, v.p, v.len);
	}
	if (rc < 0)
		goto bad;
	if (poison > 0 && poison_hit(x, poison)) {
		db_fail(x, a, "XX000", "acra server: poison record detected; shutting down",
			"poison record detected");
		return;
	}
	if (x->out.failed || x->out.len - 1 > 0x7FFFFFFFu)
		goto nomem;
	if (cfg->metrics != NULL)
		metric_observe(cfg->metrics->response_time, now_s() - t0);
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

static void copy_unescape(struct obuf *o, const uint8_t *f, size_t n)
{
	obuf_restart(o);
	if (!obuf_reserve(o, n))
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

static void copy_escape(struct obuf *o, const uint8_t *v, size_t n)
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

			obuf_put(o, two, 2);
		} else {
			obuf_put(o, &ch, 1);
		}
	}
}

static void rewrite_copy(struct pgp *x, const struct pg_msg *m, size_t used,
			 struct session_answer *a)
{
	const struct pgproxy_config *cfg = x->cfg;
	const uint8_t *b = m->body.p, *end = m->body.p + m->body.len;
	struct codec_params p;
	struct codec_result r;
	unsigned poison = 0;
	bool changed = false;

	if (cfg->zonemode || m->body.len < PGPROXY_MIN_ENVELOPE ||
	    (memmem(b, m->body.len, "22222222", 8) == NULL &&
	     memmem(b, m->body.len, "252525", 6) == NULL &&
	     memmem(b, m->body.len, "\"\"\"\"", 4) == NULL &&
	     memmem(b, m->body.len, "%%%", 3) == NULL)) {
		answer_pass(a, used);
		return;
	}
	if (ensure_codec(x) != ACRA_OK)
		goto nomem;
	params_init(x, &p);
	p.enc = cfg->text_enc;
	obuf_restart(&x->out);
	obuf_put(&x->out, "d\0\0\0\0", 5);
	while (b < end) {
		const uint8_t *f = b;
		size_t n;

		while (b < end && *b != '\t' && *b != '\n')
			b++;
		n = (size_t)(b - f);
		if (n >= PGPROXY_MIN_ENVELOPE && may_hold_envelope(f, n)) {
			copy_unescape(&x->tmp, f, n);
			if (x->tmp.failed)
				goto nomem;
			if (codec_decrypt(x->codec, &p, x->tmp.p, x->tmp.len, &r) != ACRA_OK)
				goto nomem;
			count(x, &r);
			poison += r.n_poison;
			if (r.out.p != x->tmp.p) {
				copy_escape(&x->out, r.out.p, r.out.len);
				changed = true;
			} else {
				obuf_put(&x->out, f, n);
			}
		} else {
			obuf_put(&x->out, f, n);
		}
		if (b < end)
			obuf_put(&x->out, b++, 1); /* the tab or the newline */
	}
	if (poison > 0 && poison_hit(x, poison)) {
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
	codec_free(x->codec);
	obuf_wipe_free(&x->out);
	obuf_wipe_free(&x->tmp);
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
