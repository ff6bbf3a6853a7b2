/* proto/pg.c: PostgreSQL protocol v3 parser, decoders, builders and session tracker.
 * Message formats: PostgreSQL documentation, "Frontend/Backend Protocol", chapter
 * "Message Formats"; Acra's proxy behaviour: acra-runtime.md §2.3. */
#include "proto/pg.h"

#include <stdlib.h>
#include <string.h>

#define NOMAX UINT32_MAX

/* What the parser accepts per type byte and direction: id and body length bounds
 * (length field minus 4). Zero id = not a message of that direction. */
struct pg_mdef {
	enum pg_msg_id id;
	uint32_t min_body, max_body;
};

static const struct pg_mdef fe_defs[256] = {
	['Q'] = { PG_M_QUERY, 1, NOMAX },
	['P'] = { PG_M_PARSE, 4, NOMAX },
	['B'] = { PG_M_BIND, 8, NOMAX },
	['D'] = { PG_M_DESCRIBE, 2, NOMAX },
	['E'] = { PG_M_EXECUTE, 5, NOMAX },
	['S'] = { PG_M_SYNC, 0, 0 },
	['H'] = { PG_M_FLUSH, 0, 0 },
	['C'] = { PG_M_CLOSE, 2, NOMAX },
	['d'] = { PG_M_COPY_DATA, 0, NOMAX },
	['c'] = { PG_M_COPY_DONE, 0, 0 },
	['f'] = { PG_M_COPY_FAIL, 1, NOMAX },
	['F'] = { PG_M_FUNCTION_CALL, 10, NOMAX },
	['p'] = { PG_M_PASSWORD, 0, NOMAX },
	['X'] = { PG_M_TERMINATE, 0, 0 },
};

static const struct pg_mdef be_defs[256] = {
	['R'] = { PG_M_AUTH, 4, NOMAX },
	['K'] = { PG_M_BACKEND_KEY, 8, 4 + 256 }, /* 3.2 allows secret keys up to 256 bytes */
	['S'] = { PG_M_PARAM_STATUS, 2, NOMAX },
	['Z'] = { PG_M_READY, 1, 1 },
	['T'] = { PG_M_ROW_DESC, 2, NOMAX },
	['D'] = { PG_M_DATA_ROW, 2, NOMAX },
	['C'] = { PG_M_COMMAND_COMPLETE, 1, NOMAX },
	['I'] = { PG_M_EMPTY_QUERY, 0, 0 },
	['E'] = { PG_M_ERROR, 1, NOMAX },
	['N'] = { PG_M_NOTICE, 1, NOMAX },
	['A'] = { PG_M_NOTIFICATION, 6, NOMAX },
	['1'] = { PG_M_PARSE_COMPLETE, 0, 0 },
	['2'] = { PG_M_BIND_COMPLETE, 0, 0 },
	['3'] = { PG_M_CLOSE_COMPLETE, 0, 0 },
	['n'] = { PG_M_NO_DATA, 0, 0 },
	['t'] = { PG_M_PARAM_DESC, 2, NOMAX },
	['s'] = { PG_M_PORTAL_SUSPENDED, 0, 0 },
	['G'] = { PG_M_COPY_IN_RESPONSE, 3, NOMAX },
	['H'] = { PG_M_COPY_OUT_RESPONSE, 3, NOMAX },
	['W'] = { PG_M_COPY_BOTH_RESPONSE, 3, NOMAX },
	['d'] = { PG_M_COPY_DATA, 0, NOMAX },
	['c'] = { PG_M_COPY_DONE, 0, 0 },
	['v'] = { PG_M_NEGOTIATE_VERSION, 8, NOMAX },
	['V'] = { PG_M_FUNCTION_RESULT, 4, NOMAX },
};

static const char *const msg_names[PG_M__COUNT] = {
	[PG_M_UNKNOWN] = "unknown",
	[PG_M_STARTUP] = "StartupMessage",
	[PG_M_SSL_REQUEST] = "SSLRequest",
	[PG_M_GSSENC_REQUEST] = "GSSENCRequest",
	[PG_M_CANCEL_REQUEST] = "CancelRequest",
	[PG_M_ENC_ANSWER] = "EncryptionAnswer",
	[PG_M_QUERY] = "Query",
	[PG_M_PARSE] = "Parse",
	[PG_M_BIND] = "Bind",
	[PG_M_DESCRIBE] = "Describe",
	[PG_M_EXECUTE] = "Execute",
	[PG_M_SYNC] = "Sync",
	[PG_M_FLUSH] = "Flush",
	[PG_M_CLOSE] = "Close",
	[PG_M_COPY_FAIL] = "CopyFail",
	[PG_M_FUNCTION_CALL] = "FunctionCall",
	[PG_M_PASSWORD] = "PasswordMessage",
	[PG_M_TERMINATE] = "Terminate",
	[PG_M_COPY_DATA] = "CopyData",
	[PG_M_COPY_DONE] = "CopyDone",
	[PG_M_AUTH] = "Authentication",
	[PG_M_BACKEND_KEY] = "BackendKeyData",
	[PG_M_PARAM_STATUS] = "ParameterStatus",
	[PG_M_READY] = "ReadyForQuery",
	[PG_M_ROW_DESC] = "RowDescription",
	[PG_M_DATA_ROW] = "DataRow",
	[PG_M_COMMAND_COMPLETE] = "CommandComplete",
	[PG_M_EMPTY_QUERY] = "EmptyQueryResponse",
	[PG_M_ERROR] = "ErrorResponse",
	[PG_M_NOTICE] = "NoticeResponse",
	[PG_M_NOTIFICATION] = "NotificationResponse",
	[PG_M_PARSE_COMPLETE] = "ParseComplete",
	[PG_M_BIND_COMPLETE] = "BindComplete",
	[PG_M_CLOSE_COMPLETE] = "CloseComplete",
	[PG_M_NO_DATA] = "NoData",
	[PG_M_PARAM_DESC] = "ParameterDescription",
	[PG_M_PORTAL_SUSPENDED] = "PortalSuspended",
	[PG_M_COPY_IN_RESPONSE] = "CopyInResponse",
	[PG_M_COPY_OUT_RESPONSE] = "CopyOutResponse",
	[PG_M_COPY_BOTH_RESPONSE] = "CopyBothResponse",
	[PG_M_NEGOTIATE_VERSION] = "NegotiateProtocolVersion",
	[PG_M_FUNCTION_RESULT] = "FunctionCallResponse",
};

const char *pg_msg_name(enum pg_msg_id id)
{
	if ((unsigned)id >= PG_M__COUNT || msg_names[id] == NULL)
		return "unknown";
	return msg_names[id];
}

/* ------------------------------------------------------------------ parser */

void pg_parser_set_max_msg(struct pg_parser *p, uint32_t max_msg)
{
	p->max_msg = max_msg ? max_msg : PG_DEFAULT_MAX_MSG;
	if (p->max_msg > INT32_MAX)
		p->max_msg = INT32_MAX; /* the length field is a signed Int32 */
}

void pg_parser_init(struct pg_parser *p, enum pg_side side, uint32_t max_msg)
{
	memset(p, 0, sizeof(*p));
	p->side = side;
	p->state = side == PG_FRONTEND ? PG_PSTATE_STARTUP : PG_PSTATE_TYPED;
	pg_parser_set_max_msg(p, max_msg);
}

void pg_parser_set_stream(struct pg_parser *p, uint32_t min_len)
{
	p->stream_min = min_len;
}

void pg_parser_expect_answer(struct pg_parser *p, uint8_t kind)
{
	if (p->side == PG_BACKEND && p->state == PG_PSTATE_TYPED) {
		p->state = PG_PSTATE_ANSWER;
		p->answer_for = kind;
	}
}

void pg_parser_answered(struct pg_parser *p)
{
	if (p->side == PG_FRONTEND && p->state == PG_PSTATE_WAIT_ANSWER)
		p->state = PG_PSTATE_STARTUP;
}

static int need_more(struct pg_msg *msg, size_t need)
{
	msg->need = need;
	return PROTO_NEED_MORE;
}

static int whole(struct pg_msg *msg, const uint8_t *buf, size_t total, size_t hdr, size_t *used)
{
	msg->raw.p = buf;
	msg->raw.len = total;
	msg->body.p = buf + hdr;
	msg->body.len = total - hdr;
	msg->first = msg->last = true;
	*used = total;
	return PROTO_MSG;
}

/* Untyped messages: Int32 length, Int32 code (protocol version or request code). */
static int feed_startup(struct pg_parser *p, const uint8_t *buf, size_t len, size_t *used,
			struct pg_msg *msg)
{
	uint32_t l, code, lim;

	if (len < 4)
		return need_more(msg, 4);
	l = rd_be32(buf);
	lim = p->max_msg < PG_MAX_STARTUP ? p->max_msg : PG_MAX_STARTUP;
	if (l < 8)
		return ACRA_EPROTO;
	if (l > lim)
		return ACRA_ERANGE;
	msg->len = l;
	if (len < l)
		return need_more(msg, l);
	code = rd_be32(buf + 4);
	switch (code) {
	case PG_SSL_REQUEST_CODE:
	case PG_GSSENC_REQUEST_CODE:
		if (l != 8)
			return ACRA_EPROTO;
		msg->id = code == PG_SSL_REQUEST_CODE ? PG_M_SSL_REQUEST : PG_M_GSSENC_REQUEST;
		/* The client must wait for the answer: bytes sent before it would be read
		 * as if they came over TLS (CVE-2021-23214). */
		p->state = PG_PSTATE_WAIT_ANSWER;
		break;
	case PG_CANCEL_REQUEST_CODE:
		if (l < 16 || l > 12 + 256)
			return ACRA_EPROTO;
		msg->id = PG_M_CANCEL_REQUEST;
		p->state = PG_PSTATE_DONE;
		break;
	default:
		if (code >> 16 != 3)
			return ACRA_EPROTO; /* protocol 2 and unknown request codes */
		msg->id = PG_M_STARTUP;
		p->state = PG_PSTATE_TYPED;
		break;
	}
	return whole(msg, buf, l, 4, used);
}

static int feed_typed(struct pg_parser *p, const uint8_t *buf, size_t len, size_t *used,
		      struct pg_msg *msg)
{
	const struct pg_mdef *def;
	uint32_t l, body;
	size_t total;

	if (len < 5)
		return need_more(msg, 5);
	def = &(p->side == PG_FRONTEND ? fe_defs : be_defs)[buf[0]];
	if (def->id == PG_M_UNKNOWN)
		return ACRA_EPROTO;
	l = rd_be32(buf + 1);
	if (l < 4 || l > INT32_MAX)
		return ACRA_EPROTO;
	if (l > p->max_msg)
		return ACRA_ERANGE;
	body = l - 4;
	if (body < def->min_body || body > def->max_body)
		return ACRA_EPROTO;
	msg->id = def->id;
	msg->type = buf[0];
	msg->len = l;
	total = (size_t)l + 1;
	if (len >= total)
		return whole(msg, buf, total, 5, used);
	if (p->stream_min != 0 && l >= p->stream_min &&
	    (def->id == PG_M_DATA_ROW || def->id == PG_M_COPY_DATA)) {
		p->stream_id = def->id;
		p->stream_type = buf[0];
		p->stream_len = l;
		p->remain = (uint32_t)(total - len);
		p->after_stream = p->state;
		p->state = PG_PSTATE_STREAM;
		msg->raw.p = buf;
		msg->raw.len = len;
		msg->body.p = buf + 5;
		msg->body.len = len - 5;
		msg->first = true;
		*used = len;
		return PROTO_PART;
	}
	return need_more(msg, total);
}

static int feed_stream(struct pg_parser *p, const uint8_t *buf, size_t len, size_t *used,
		       struct pg_msg *msg)
{
	size_t n = len < p->remain ? len : p->remain;

	msg->id = p->stream_id;
	msg->type = p->stream_type;
	msg->len = p->stream_len;
	if (n == 0)
		return need_more(msg, 1);
	p->remain -= (uint32_t)n;
	msg->raw.p = msg->body.p = buf;
	msg->raw.len = msg->body.len = n;
	msg->last = p->remain == 0;
	if (msg->last)
		p->state = p->after_stream;
	*used = n;
	return PROTO_PART;
}

int pg_parser_feed(struct pg_parser *p, const uint8_t *buf, size_t len, size_t *used,
		   struct pg_msg *msg)
{
	*used = 0;
	memset(msg, 0, sizeof(*msg));
	if (buf == NULL)
		len = 0;
	switch (p->state) {
	case PG_PSTATE_STARTUP:
		return feed_startup(p, buf, len, used, msg);
	case PG_PSTATE_TYPED:
		return feed_typed(p, buf, len, used, msg);
	case PG_PSTATE_STREAM:
		return feed_stream(p, buf, len, used, msg);
	case PG_PSTATE_ANSWER:
		if (len < 1)
			return need_more(msg, 1);
		if (buf[0] == 'E') {
			/* a server without SSL support may answer with an ErrorResponse */
			p->state = PG_PSTATE_TYPED;
			return feed_typed(p, buf, len, used, msg);
		}
		if (buf[0] != 'N' && buf[0] != p->answer_for)
			return ACRA_EPROTO;
		msg->id = PG_M_ENC_ANSWER;
		msg->type = buf[0];
		msg->raw.p = buf;
		msg->raw.len = 1;
		msg->body.p = buf + 1;
		msg->first = msg->last = true;
		p->state = PG_PSTATE_TYPED;
		*used = 1;
		return PROTO_MSG;
	case PG_PSTATE_WAIT_ANSWER:
	case PG_PSTATE_DONE:
		if (len > 0)
			return ACRA_EPROTO;
		return need_more(msg, 1);
	}
	return ACRA_EPROTO;
}

/* ---------------------------------------------------------------- decoders */

/* A read cursor over a body: every read checks the bytes left; a short read sets bad. */
struct cur {
	const uint8_t *p;
	size_t len;
	bool bad;
};

static struct cur cur_of(struct bytes b)
{
	struct cur c = { b.p, b.len, false };
	return c;
}

static bool cur_take(struct cur *c, size_t n, const uint8_t **at)
{
	if (c->bad || n > c->len) {
		c->bad = true;
		return false;
	}
	*at = c->p;
	c->p += n;
	c->len -= n;
	return true;
}

static uint8_t cur_u8(struct cur *c)
{
	const uint8_t *at;
	return cur_take(c, 1, &at) ? at[0] : 0;
}

static uint16_t cur_u16(struct cur *c)
{
	const uint8_t *at;
	return cur_take(c, 2, &at) ? rd_be16(at) : 0;
}

static uint32_t cur_u32(struct cur *c)
{
	const uint8_t *at;
	return cur_take(c, 4, &at) ? rd_be32(at) : 0;
}

/* A NUL-terminated string; the view excludes the NUL. */
static struct bytes cur_str(struct cur *c)
{
	struct bytes s = { NULL, 0 };
	const uint8_t *nul;
	const uint8_t *at;

	if (c->bad)
		return s;
	nul = c->len ? memchr(c->p, 0, c->len) : NULL;
	if (nul == NULL) {
		c->bad = true;
		return s;
	}
	s.p = c->p;
	s.len = (size_t)(nul - c->p);
	(void)cur_take(c, s.len + 1, &at);
	return s;
}

static struct bytes cur_bytes(struct cur *c, size_t n)
{
	struct bytes s = { NULL, 0 };
	const uint8_t *at;

	if (cur_take(c, n, &at)) {
		s.p = at;
		s.len = n;
	}
	return s;
}

/* Fully consumed and no short read. */
static int cur_end(const struct cur *c)
{
	return c->bad || c->len != 0 ? ACRA_EPROTO : ACRA_OK;
}

static bool is(const struct pg_msg *m, enum pg_msg_id id)
{
	return m != NULL && m->id == id && (m->body.p != NULL || m->body.len == 0);
}

static bool bytes_eq(struct bytes b, const char *s)
{
	size_t n = strlen(s);
	return b.len == n && memcmp(b.p, s, n) == 0;
}

int pg_startup_next_param(struct bytes *cur, struct bytes *name, struct bytes *value)
{
	struct cur c = cur_of(*cur);

	if (c.len == 0)
		return ACRA_EPROTO; /* the list ends with a NUL */
	if (c.p[0] == 0) {
		if (c.len != 1)
			return ACRA_EPROTO;
		cur->p += 1;
		cur->len = 0;
		return 0;
	}
	*name = cur_str(&c);
	*value = cur_str(&c);
	if (c.bad)
		return ACRA_EPROTO;
	cur->p = c.p;
	cur->len = c.len;
	return 1;
}

int pg_decode_startup(const struct pg_msg *m, struct pg_startup *out)
{
	struct cur c;
	struct bytes it, k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_STARTUP))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	out->version = cur_u32(&c);
	if (c.bad || out->version >> 16 != 3)
		return ACRA_EPROTO;
	out->params.p = c.p;
	out->params.len = c.len;
	it = out->params;
	while ((rc = pg_startup_next_param(&it, &k, &v)) == 1) {
		if (bytes_eq(k, "user"))
			out->user = v;
		else if (bytes_eq(k, "database"))
			out->database = v;
		else if (bytes_eq(k, "options"))
			out->options = v;
		else if (bytes_eq(k, "application_name"))
			out->application_name = v;
	}
	if (rc < 0)
		return rc;
	/* the server refuses a startup packet without a user name */
	return out->user.len == 0 ? ACRA_EPROTO : ACRA_OK;
}

static int decode_key(struct cur *c, struct pg_cancel_key *out)
{
	out->pid = cur_u32(c);
	out->key = cur_bytes(c, c->len);
	if (c->bad || out->key.len < 4 || out->key.len > 256)
		return ACRA_EPROTO;
	return ACRA_OK;
}

int pg_decode_cancel(const struct pg_msg *m, struct pg_cancel_key *out)
{
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_CANCEL_REQUEST))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	if (cur_u32(&c) != PG_CANCEL_REQUEST_CODE)
		return ACRA_EPROTO;
	return decode_key(&c, out);
}

int pg_decode_backend_key(const struct pg_msg *m, struct pg_cancel_key *out)
{
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_BACKEND_KEY))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	return decode_key(&c, out);
}

static int iter_begin(const struct pg_msg *m, enum pg_msg_id id, struct pg_iter *it)
{
	memset(it, 0, sizeof(*it));
	if (!is(m, id))
		return ACRA_EINVAL;
	if (m->body.len < 2)
		return ACRA_EPROTO;
	it->n = rd_be16(m->body.p);
	it->p = m->body.p + 2;
	it->len = m->body.len - 2;
	return ACRA_OK;
}

int pg_rowdesc_begin(const struct pg_msg *m, struct pg_iter *it)
{
	return iter_begin(m, PG_M_ROW_DESC, it);
}

int pg_datarow_begin(const struct pg_msg *m, struct pg_iter *it)
{
	return iter_begin(m, PG_M_DATA_ROW, it);
}

int pg_rowdesc_next(struct pg_iter *it, struct pg_field *f)
{
	struct cur c = { it->p, it->len, false };

	if (it->i >= it->n)
		return it->len == 0 ? 0 : ACRA_EPROTO;
	f->name = cur_str(&c);
	f->table_oid = cur_u32(&c);
	f->attnum = (int16_t)cur_u16(&c);
	f->type_oid = cur_u32(&c);
	f->typlen = (int16_t)cur_u16(&c);
	f->typmod = (int32_t)cur_u32(&c);
	f->format = (int16_t)cur_u16(&c);
	if (c.bad)
		return ACRA_EPROTO;
	it->p = c.p;
	it->len = c.len;
	it->i++;
	return 1;
}

int pg_values_next(struct pg_iter *it, struct pg_col *col)
{
	struct cur c = { it->p, it->len, false };
	uint32_t l;

	if (it->i >= it->n)
		return it->len == 0 ? 0 : ACRA_EPROTO;
	l = cur_u32(&c);
	if (c.bad)
		return ACRA_EPROTO;
	memset(col, 0, sizeof(*col));
	if (l == UINT32_MAX) {
		col->is_null = true;
	} else {
		if (l > INT32_MAX)
			return ACRA_EPROTO; /* only -1 is a valid negative length */
		col->v = cur_bytes(&c, l);
		if (c.bad)
			return ACRA_EPROTO;
	}
	it->p = c.p;
	it->len = c.len;
	it->i++;
	return 1;
}

/* n Int16 format codes, each 0 (text) or 1 (binary). */
static struct bytes cur_fmts(struct cur *c, uint16_t n)
{
	struct bytes f = cur_bytes(c, 2u * n);

	for (size_t i = 0; !c->bad && i < n; i++)
		if (rd_be16(f.p + 2 * i) > 1)
			c->bad = true;
	return f;
}

int pg_decode_bind(const struct pg_msg *m, struct pg_bind *out)
{
	struct cur c;
	struct pg_iter it;
	struct pg_col col;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_BIND))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	out->portal = cur_str(&c);
	out->stmt = cur_str(&c);
	out->n_param_fmts = cur_u16(&c);
	out->param_fmts = cur_fmts(&c, out->n_param_fmts);
	out->n_params = cur_u16(&c);
	if (c.bad)
		return ACRA_EPROTO;
	if (out->n_param_fmts > 1 && out->n_param_fmts != out->n_params)
		return ACRA_EPROTO;
	it.p = c.p;
	it.len = c.len;
	it.n = out->n_params;
	it.i = 0;
	out->params = it;
	while (it.i < it.n) {
		rc = pg_values_next(&it, &col);
		if (rc < 0)
			return rc;
	}
	/* values ended: the rest is the result formats */
	out->params.len = (size_t)(it.p - out->params.p);
	c.p = it.p;
	c.len = it.len;
	out->n_result_fmts = cur_u16(&c);
	out->result_fmts = cur_fmts(&c, out->n_result_fmts);
	return cur_end(&c);
}

int16_t pg_fmt_at(struct bytes fmts, uint16_t n_fmts, uint16_t i)
{
	if (n_fmts == 0 || fmts.len < 2)
		return 0;
	if (n_fmts == 1)
		return (int16_t)rd_be16(fmts.p);
	if (i >= n_fmts || (size_t)i * 2 + 2 > fmts.len)
		return 0;
	return (int16_t)rd_be16(fmts.p + 2u * i);
}

int pg_decode_parse(const struct pg_msg *m, struct pg_parse *out)
{
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_PARSE))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	out->name = cur_str(&c);
	out->query = cur_str(&c);
	out->n_types = cur_u16(&c);
	out->types = cur_bytes(&c, 4u * out->n_types);
	return cur_end(&c);
}

int pg_decode_target(const struct pg_msg *m, struct pg_target *out)
{
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_DESCRIBE) && !is(m, PG_M_CLOSE))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	out->kind = cur_u8(&c);
	out->name = cur_str(&c);
	if (out->kind != 'S' && out->kind != 'P')
		return ACRA_EPROTO;
	return cur_end(&c);
}

int pg_decode_execute(const struct pg_msg *m, struct pg_execute *out)
{
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_EXECUTE))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	out->portal = cur_str(&c);
	out->max_rows = cur_u32(&c);
	return cur_end(&c);
}

int pg_decode_string(const struct pg_msg *m, struct bytes *out)
{
	struct cur c;

	out->p = NULL;
	out->len = 0;
	if (m == NULL || m->body.p == NULL)
		return ACRA_EINVAL;
	c = cur_of(m->body);
	*out = cur_str(&c);
	return cur_end(&c);
}

int pg_error_next_field(struct bytes *cur, uint8_t *code, struct bytes *value)
{
	struct cur c = cur_of(*cur);

	*code = cur_u8(&c);
	if (c.bad)
		return ACRA_EPROTO;
	if (*code == 0) {
		if (c.len != 0)
			return ACRA_EPROTO;
		cur->p = c.p;
		cur->len = 0;
		return 0;
	}
	*value = cur_str(&c);
	if (c.bad)
		return ACRA_EPROTO;
	cur->p = c.p;
	cur->len = c.len;
	return 1;
}

int pg_decode_error(const struct pg_msg *m, struct pg_error *out)
{
	struct bytes it, v, sev_s = { NULL, 0 }, sev_v = { NULL, 0 };
	uint8_t code;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_ERROR) && !is(m, PG_M_NOTICE))
		return ACRA_EINVAL;
	it = m->body;
	while ((rc = pg_error_next_field(&it, &code, &v)) == 1) {
		switch (code) {
		case 'S': sev_s = v; break;
		case 'V': sev_v = v; break;
		case 'C': out->code = v; break;
		case 'M': out->message = v; break;
		case 'D': out->detail = v; break;
		case 'H': out->hint = v; break;
		default: break; /* other fields are informational; new ones may appear */
		}
	}
	if (rc < 0)
		return rc;
	out->severity = sev_v.p != NULL ? sev_v : sev_s;
	return ACRA_OK;
}

int pg_decode_ready(const struct pg_msg *m, uint8_t *status)
{
	*status = 0;
	if (!is(m, PG_M_READY))
		return ACRA_EINVAL;
	if (m->body.len != 1)
		return ACRA_EPROTO;
	switch (m->body.p[0]) {
	case 'I':
	case 'T':
	case 'E':
		*status = m->body.p[0];
		return ACRA_OK;
	default:
		return ACRA_EPROTO;
	}
}

int pg_decode_copy_resp(const struct pg_msg *m, struct pg_copy_resp *out)
{
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (!is(m, PG_M_COPY_IN_RESPONSE) && !is(m, PG_M_COPY_OUT_RESPONSE) &&
	    !is(m, PG_M_COPY_BOTH_RESPONSE))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	out->format = cur_u8(&c);
	out->n_cols = cur_u16(&c);
	out->fmts = cur_fmts(&c, out->n_cols);
	if (out->format > 1)
		return ACRA_EPROTO;
	return cur_end(&c);
}

int pg_decode_param_desc(const struct pg_msg *m, uint16_t *n, struct bytes *oids)
{
	struct cur c;

	*n = 0;
	oids->p = NULL;
	oids->len = 0;
	if (!is(m, PG_M_PARAM_DESC))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	*n = cur_u16(&c);
	*oids = cur_bytes(&c, 4u * *n);
	return cur_end(&c);
}

int pg_decode_auth(const struct pg_msg *m, uint32_t *code, struct bytes *data)
{
	struct cur c;

	*code = 0;
	if (!is(m, PG_M_AUTH))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	*code = cur_u32(&c);
	*data = cur_bytes(&c, c.len);
	return cur_end(&c);
}

int pg_decode_param_status(const struct pg_msg *m, struct bytes *name, struct bytes *value)
{
	struct cur c;

	if (!is(m, PG_M_PARAM_STATUS))
		return ACRA_EINVAL;
	c = cur_of(m->body);
	*name = cur_str(&c);
	*value = cur_str(&c);
	return cur_end(&c);
}

/* ---------------------------------------------------------------- builders */

void pg_build_msg(struct wbuf *w, uint8_t type, const void *body, size_t body_len)
{
	if (body_len > (size_t)INT32_MAX - 4) {
		w->failed = true;
		return;
	}
	wbuf_put_u8(w, type);
	wbuf_put_be32(w, (uint32_t)(body_len + 4));
	if (body_len > 0)
		wbuf_put(w, body, body_len);
}

static void put_field(struct wbuf *w, uint8_t code, const char *s)
{
	wbuf_put_u8(w, code);
	wbuf_put(w, s, strlen(s) + 1);
}

void pg_build_error(struct wbuf *w, const char *severity, const char *sqlstate,
		    const char *message)
{
	size_t start = w->len;
	uint8_t *hdr;

	if (severity == NULL || sqlstate == NULL || message == NULL || strlen(sqlstate) != 5) {
		w->failed = true;
		return;
	}
	hdr = wbuf_reserve(w, 5);
	put_field(w, 'S', severity);
	put_field(w, 'C', sqlstate);
	put_field(w, 'M', message);
	wbuf_put_u8(w, 0);
	if (hdr == NULL || w->failed || w->len - start - 1 > INT32_MAX) {
		w->failed = true;
		return;
	}
	hdr = w->p + start; /* reserve returned a pointer into the same buffer */
	hdr[0] = 'E';
	wr_be32(hdr + 1, (uint32_t)(w->len - start - 1));
}

void pg_build_ready(struct wbuf *w, uint8_t status)
{
	if (status != 'I' && status != 'T' && status != 'E') {
		w->failed = true;
		return;
	}
	pg_build_msg(w, 'Z', &status, 1);
}

void pg_datarow_build_begin(struct wbuf *w, struct pg_rowbuild *rb)
{
	rb->start = w->len;
	rb->n = 0;
	(void)wbuf_reserve(w, 7); /* type, length, column count: patched at end */
}

void pg_datarow_build_col(struct wbuf *w, struct pg_rowbuild *rb, const struct pg_col *c)
{
	rb->n++;
	if (c->is_null) {
		wbuf_put_be32(w, UINT32_MAX);
		return;
	}
	if (c->v.len > INT32_MAX) {
		w->failed = true;
		return;
	}
	wbuf_put_be32(w, (uint32_t)c->v.len);
	if (c->v.len > 0)
		wbuf_put(w, c->v.p, c->v.len);
}

void pg_datarow_build_end(struct wbuf *w, struct pg_rowbuild *rb)
{
	size_t l;

	if (w->failed)
		return;
	l = w->len - rb->start - 1;
	if (rb->n > UINT16_MAX || l > INT32_MAX) {
		w->failed = true;
		return;
	}
	w->p[rb->start] = 'D';
	wr_be32(w->p + rb->start + 1, (uint32_t)l);
	wr_be16(w->p + rb->start + 5, (uint16_t)rb->n);
}

void pg_build_datarow(struct wbuf *w, const struct pg_col *cols, uint16_t n)
{
	struct pg_rowbuild rb;

	pg_datarow_build_begin(w, &rb);
	for (uint16_t i = 0; i < n; i++)
		pg_datarow_build_col(w, &rb, &cols[i]);
	pg_datarow_build_end(w, &rb);
}

/* ----------------------------------------------------------------- tracker */

/* A request in flight, answered in order by the server. */
enum pend_kind {
	PEND_QUERY,
	PEND_PARSE,
	PEND_BIND,
	PEND_DESC_S,
	PEND_DESC_P,
	PEND_EXECUTE,
	PEND_CLOSE_S,
	PEND_CLOSE_P,
	PEND_SYNC,
	PEND_FCALL,
};

struct pg_pend {
	uint8_t kind;
	uint8_t name_len;
	bool dealloc; /* PEND_QUERY: the query is one "DEALLOCATE name" */
	char name[PG_NAME_MAX + 1];
	void *rec; /* PEND_PARSE: struct pg_stmt, PEND_BIND: struct pg_portal (owned) */
};

static const struct pg_limits default_limits = {
	.max_stmts = 10000,
	.max_portals = 1000,
	.max_pending = 65536,
	.max_bytes = 64u << 20,
};

static const char *const phase_names[] = {
	[PG_PHASE_STARTUP] = "startup",
	[PG_PHASE_SSL] = "ssl-negotiation",
	[PG_PHASE_AUTH] = "auth",
	[PG_PHASE_READY] = "ready",
	[PG_PHASE_QUERY] = "in-query",
	[PG_PHASE_COPY_IN] = "copy-in",
	[PG_PHASE_COPY_OUT] = "copy-out",
	[PG_PHASE_COPY_BOTH] = "copy-both",
	[PG_PHASE_CANCEL] = "cancel",
	[PG_PHASE_CLOSED] = "closed",
};

const char *pg_phase_name(enum pg_phase ph)
{
	if ((unsigned)ph >= sizeof(phase_names) / sizeof(phase_names[0]))
		return "unknown";
	return phase_names[ph];
}

void pg_session_init(struct pg_session *s, const struct pg_limits *lim, uint32_t max_msg)
{
	memset(s, 0, sizeof(*s));
	pg_parser_init(&s->fe, PG_FRONTEND, max_msg);
	pg_parser_init(&s->be, PG_BACKEND, max_msg);
	s->lim = default_limits;
	if (lim != NULL) {
		if (lim->max_stmts)
			s->lim.max_stmts = lim->max_stmts;
		if (lim->max_portals)
			s->lim.max_portals = lim->max_portals;
		if (lim->max_pending)
			s->lim.max_pending = lim->max_pending;
		if (lim->max_bytes)
			s->lim.max_bytes = lim->max_bytes;
	}
	s->phase = PG_PHASE_STARTUP;
}

struct pg_parser *pg_session_parser(struct pg_session *s, enum pg_side side)
{
	return side == PG_FRONTEND ? &s->fe : &s->be;
}

enum pg_phase pg_session_phase(const struct pg_session *s)
{
	return s->phase;
}

uint8_t pg_session_tx_status(const struct pg_session *s)
{
	return s->tx_status;
}

uint8_t pg_session_enc_answer(const struct pg_session *s)
{
	return s->enc_answer;
}

const char *pg_session_user(const struct pg_session *s)
{
	return s->user;
}

const char *pg_session_database(const struct pg_session *s)
{
	return s->database;
}

uint32_t pg_session_backend_pid(const struct pg_session *s)
{
	return s->backend_pid;
}

uint32_t pg_session_n_stmts(const struct pg_session *s)
{
	return s->n_stmts;
}

uint32_t pg_session_n_portals(const struct pg_session *s)
{
	return s->n_portals;
}

uint32_t pg_session_n_pending(const struct pg_session *s)
{
	return s->q_len;
}

size_t pg_session_mem(const struct pg_session *s)
{
	return s->mem;
}

uint8_t pg_session_col_format(const struct pg_session *s, uint32_t i)
{
	return i < s->n_cols ? s->cols[i].format : s->all_fmt;
}

uint32_t pg_session_col_type(const struct pg_session *s, uint32_t i)
{
	return i < s->n_cols ? s->cols[i].type_oid : 0;
}

/* Names as the server keys them: at most NAMEDATALEN-1 bytes. */
static uint8_t name_copy(char *dst, struct bytes src)
{
	size_t n = src.len > PG_NAME_MAX ? PG_NAME_MAX : src.len;

	if (n > 0)
		memcpy(dst, src.p, n);
	dst[n] = 0;
	return (uint8_t)n;
}

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static bool mem_take(struct pg_session *s, size_t n)
{
	if (n > s->lim.max_bytes || s->mem > s->lim.max_bytes - n)
		return false;
	s->mem += n;
	return true;
}

static void mem_give(struct pg_session *s, size_t n)
{
	s->mem = n > s->mem ? 0 : s->mem - n;
}

/* Grow a bucket array to keep chains short; on allocation failure keep the old one. */
static void **rehash(void **old, uint32_t n_old, uint32_t n_new, size_t next_off,
		     const char *(*name_of)(void *, uint8_t *))
{
	void **b = calloc(n_new, sizeof(*b));

	if (b == NULL)
		return NULL;
	for (uint32_t i = 0; i < n_old; i++) {
		void *e = old[i];
		while (e != NULL) {
			void *next = *(void **)((char *)e + next_off);
			uint8_t len;
			const char *nm = name_of(e, &len);
			uint32_t h = name_hash(nm, len) & (n_new - 1);
			*(void **)((char *)e + next_off) = b[h];
			b[h] = e;
			e = next;
		}
	}
	return b;
}

static const char *stmt_name_of(void *e, uint8_t *len)
{
	struct pg_stmt *st = e;
	*len = st->name_len;
	return st->name;
}

static const char *portal_name_of(void *e, uint8_t *len)
{
	struct pg_portal *po = e;
	*len = po->name_len;
	return po->name;
}

static void stmt_unref(struct pg_session *s, struct pg_stmt *st)
{
	if (st == NULL || --st->refs > 0)
		return;
	mem_give(s, st->mem);
	free(st->query);
	free(st->param_types);
	free(st->col_types);
	free(st);
}

static void portal_free(struct pg_session *s, struct pg_portal *po)
{
	if (po == NULL)
		return;
	stmt_unref(s, po->stmt);
	mem_give(s, po->mem);
	free(po->param_fmts);
	free(po->result_fmts);
	free(po->col_types);
	free(po);
}

static struct pg_stmt **stmt_slot(const struct pg_session *s, const char *name, size_t len)
{
	struct pg_stmt **pp;

	if (s->n_stmt_buckets == 0)
		return NULL;
	if (len > PG_NAME_MAX)
		len = PG_NAME_MAX;
	pp = &s->stmts[name_hash(name, len) & (s->n_stmt_buckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->name_len == len && memcmp((*pp)->name, name, len) == 0)
			return pp;
	return NULL;
}

static struct pg_portal **portal_slot(const struct pg_session *s, const char *name, size_t len)
{
	struct pg_portal **pp;

	if (s->n_portal_buckets == 0)
		return NULL;
	if (len > PG_NAME_MAX)
		len = PG_NAME_MAX;
	pp = &s->portals[name_hash(name, len) & (s->n_portal_buckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->name_len == len && memcmp((*pp)->name, name, len) == 0)
			return pp;
	return NULL;
}

const struct pg_stmt *pg_session_stmt(const struct pg_session *s, const char *name, size_t len)
{
	struct pg_stmt **pp = stmt_slot(s, name, len);
	return pp != NULL ? *pp : NULL;
}

const struct pg_portal *pg_session_portal(const struct pg_session *s, const char *name,
					  size_t len)
{
	struct pg_portal **pp = portal_slot(s, name, len);
	return pp != NULL ? *pp : NULL;
}

static void stmt_remove(struct pg_session *s, const char *name, size_t len)
{
	struct pg_stmt **pp = stmt_slot(s, name, len);
	struct pg_stmt *st;

	if (pp == NULL)
		return;
	st = *pp;
	*pp = st->next;
	st->next = NULL;
	st->in_registry = false;
	s->n_stmts--;
	stmt_unref(s, st);
}

static void portal_remove(struct pg_session *s, const char *name, size_t len)
{
	struct pg_portal **pp = portal_slot(s, name, len);
	struct pg_portal *po;

	if (pp == NULL)
		return;
	po = *pp;
	*pp = po->next;
	s->n_portals--;
	portal_free(s, po);
}

static void stmts_drop_all(struct pg_session *s)
{
	for (uint32_t i = 0; i < s->n_stmt_buckets; i++) {
		while (s->stmts[i] != NULL) {
			struct pg_stmt *st = s->stmts[i];
			s->stmts[i] = st->next;
			st->in_registry = false;
			stmt_unref(s, st);
		}
	}
	s->n_stmts = 0;
}

static void portals_drop_all(struct pg_session *s)
{
	for (uint32_t i = 0; i < s->n_portal_buckets; i++) {
		while (s->portals[i] != NULL) {
			struct pg_portal *po = s->portals[i];
			s->portals[i] = po->next;
			portal_free(s, po);
		}
	}
	s->n_portals = 0;
}

/* Insert, replacing an object of the same name (the unnamed one is replaced by design;
 * a named duplicate would have failed on the server, so this only heals stale entries). */
static int stmt_insert(struct pg_session *s, struct pg_stmt *st)
{
	uint32_t h;

	stmt_remove(s, st->name, st->name_len);
	if (s->n_stmt_buckets == 0 || s->n_stmts >= 2 * s->n_stmt_buckets) {
		uint32_t nb = s->n_stmt_buckets ? 2 * s->n_stmt_buckets : 16;
		void **b = rehash((void **)s->stmts, s->n_stmt_buckets, nb,
				  offsetof(struct pg_stmt, next), stmt_name_of);
		if (b != NULL) {
			free(s->stmts);
			s->stmts = (struct pg_stmt **)b;
			s->n_stmt_buckets = nb;
		} else if (s->n_stmt_buckets == 0) {
			return ACRA_ENOMEM;
		}
	}
	h = name_hash(st->name, st->name_len) & (s->n_stmt_buckets - 1);
	st->next = s->stmts[h];
	s->stmts[h] = st;
	st->in_registry = true;
	s->n_stmts++;
	return ACRA_OK;
}

static int portal_insert(struct pg_session *s, struct pg_portal *po)
{
	uint32_t h;

	portal_remove(s, po->name, po->name_len);
	if (s->n_portal_buckets == 0 || s->n_portals >= 2 * s->n_portal_buckets) {
		uint32_t nb = s->n_portal_buckets ? 2 * s->n_portal_buckets : 8;
		void **b = rehash((void **)s->portals, s->n_portal_buckets, nb,
				  offsetof(struct pg_portal, next), portal_name_of);
		if (b != NULL) {
			free(s->portals);
			s->portals = (struct pg_portal **)b;
			s->n_portal_buckets = nb;
		} else if (s->n_portal_buckets == 0) {
			return ACRA_ENOMEM;
		}
	}
	h = name_hash(po->name, po->name_len) & (s->n_portal_buckets - 1);
	po->next = s->portals[h];
	s->portals[h] = po;
	s->n_portals++;
	return ACRA_OK;
}

static void pend_free(struct pg_session *s, struct pg_pend *pe)
{
	if (pe->kind == PEND_PARSE)
		stmt_unref(s, pe->rec);
	else if (pe->kind == PEND_BIND)
		portal_free(s, pe->rec);
	pe->rec = NULL;
}

void pg_session_clear(struct pg_session *s)
{
	while (s->q_len > 0) {
		pend_free(s, &s->q[s->q_head]);
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
	}
	portals_drop_all(s);
	stmts_drop_all(s);
	free(s->q);
	free(s->stmts);
	free(s->portals);
	free(s->cols);
	s->q = NULL;
	s->stmts = NULL;
	s->portals = NULL;
	s->cols = NULL;
	s->q_cap = s->q_head = 0;
	s->n_stmt_buckets = s->n_portal_buckets = 0;
	s->n_cols = s->cols_cap = 0;
	s->mem = 0;
}

static struct pg_pend *head(struct pg_session *s)
{
	return s->q_len > 0 ? &s->q[s->q_head] : NULL;
}

static bool head_is(struct pg_session *s, enum pend_kind k)
{
	return s->q_len > 0 && s->q[s->q_head].kind == k;
}

static int cols_reserve(struct pg_session *s, uint32_t n)
{
	struct pg_colinfo *c;

	if (n <= s->cols_cap)
		return ACRA_OK;
	if (!mem_take(s, (size_t)(n - s->cols_cap) * sizeof(*c)))
		return ACRA_ERANGE;
	c = realloc(s->cols, (size_t)n * sizeof(*c));
	if (c == NULL) {
		mem_give(s, (size_t)(n - s->cols_cap) * sizeof(*c));
		return ACRA_ENOMEM;
	}
	s->cols = c;
	s->cols_cap = n;
	return ACRA_OK;
}

static void cols_reset(struct pg_session *s)
{
	s->n_cols = 0;
	s->all_fmt = 0;
}

/* The request at the head now gets its responses: an Execute's rows are typed by its
 * portal (Bind result formats; types if a Describe told them). */
static int activate_head(struct pg_session *s)
{
	struct pg_pend *pe = head(s);
	const struct pg_portal *po;
	uint16_t n_types = 0;
	const uint32_t *types = NULL;
	uint32_t n;
	int rc;

	cols_reset(s);
	if (pe == NULL || pe->kind != PEND_EXECUTE)
		return ACRA_OK;
	po = pg_session_portal(s, pe->name, pe->name_len);
	if (po == NULL)
		return ACRA_OK;
	if (po->col_types != NULL) {
		n_types = po->n_cols;
		types = po->col_types;
	} else if (po->stmt != NULL && po->stmt->col_types != NULL) {
		n_types = po->stmt->n_cols;
		types = po->stmt->col_types;
	}
	n = n_types;
	if (po->n_result_fmts > 1 && po->n_result_fmts > n)
		n = po->n_result_fmts;
	rc = cols_reserve(s, n);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		s->cols[i].type_oid = i < n_types ? types[i] : 0;
		if (po->n_result_fmts == 1)
			s->cols[i].format = po->result_fmts[0];
		else if (po->n_result_fmts > 1 && i < po->n_result_fmts)
			s->cols[i].format = po->result_fmts[i];
		else
			s->cols[i].format = 0;
	}
	s->n_cols = n;
	s->all_fmt = po->n_result_fmts == 1 ? po->result_fmts[0] : 0;
	return ACRA_OK;
}

static int pop(struct pg_session *s, bool free_rec)
{
	struct pg_pend *pe = head(s);

	if (pe == NULL)
		return ACRA_OK;
	if (free_rec)
		pend_free(s, pe);
	pe->rec = NULL;
	s->q_head = (s->q_head + 1) % s->q_cap;
	s->q_len--;
	return activate_head(s);
}

static int push(struct pg_session *s, uint8_t kind, struct bytes name, void *rec)
{
	struct pg_pend *pe;

	if (s->q_len == s->q_cap) {
		uint32_t cap = s->q_cap ? 2 * s->q_cap : 8;
		struct pg_pend *q;

		if (s->q_cap >= s->lim.max_pending)
			return ACRA_ERANGE;
		if (cap > s->lim.max_pending)
			cap = s->lim.max_pending;
		if (!mem_take(s, (size_t)(cap - s->q_cap) * sizeof(*q)))
			return ACRA_ERANGE;
		q = malloc((size_t)cap * sizeof(*q));
		if (q == NULL) {
			mem_give(s, (size_t)(cap - s->q_cap) * sizeof(*q));
			return ACRA_ENOMEM;
		}
		for (uint32_t i = 0; i < s->q_len; i++)
			q[i] = s->q[(s->q_head + i) % s->q_cap];
		free(s->q);
		s->q = q;
		s->q_cap = cap;
		s->q_head = 0;
	}
	pe = &s->q[(s->q_head + s->q_len) % s->q_cap];
	memset(pe, 0, sizeof(*pe));
	pe->kind = kind;
	pe->name_len = name_copy(pe->name, name);
	pe->rec = rec;
	s->q_len++;
	return s->q_len == 1 ? activate_head(s) : ACRA_OK;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_ident_start(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_char(uint8_t c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* One SQL identifier at *i: unquoted (folded to lower case) or "quoted" ("" escapes).
 * Returns its length in out (truncated to PG_NAME_MAX), or -1. */
static int sql_ident(struct bytes q, size_t *i, char *out, bool *quoted)
{
	size_t n = 0;

	*quoted = false;
	if (*i < q.len && q.p[*i] == '"') {
		*quoted = true;
		for ((*i)++; *i < q.len; (*i)++) {
			uint8_t c = q.p[*i];
			if (c == '"') {
				if (*i + 1 < q.len && q.p[*i + 1] == '"')
					(*i)++;
				else
					break;
			}
			if (n < PG_NAME_MAX)
				out[n++] = (char)c;
		}
		if (*i >= q.len || n == 0)
			return -1;
		(*i)++;
	} else {
		if (*i >= q.len || !is_ident_start(q.p[*i]))
			return -1;
		for (; *i < q.len && is_ident_char(q.p[*i]); (*i)++) {
			uint8_t c = q.p[*i];
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (n < PG_NAME_MAX)
				out[n++] = (char)c;
		}
	}
	out[n] = 0;
	return (int)n;
}

static void skip_space(struct bytes q, size_t *i)
{
	while (*i < q.len && is_space(q.p[*i]))
		(*i)++;
}

/* Recognise a query that is exactly "DEALLOCATE [PREPARE] name [;]" so the CommandComplete
 * tag "DEALLOCATE" can drop the right statement (the tag does not carry the name). */
static bool sql_dealloc_name(struct bytes q, char *name, uint8_t *name_len)
{
	char w[PG_NAME_MAX + 1];
	size_t i = 0;
	bool quoted;
	int n;

	skip_space(q, &i);
	n = sql_ident(q, &i, w, &quoted);
	if (n < 0 || quoted || strcmp(w, "deallocate") != 0)
		return false;
	skip_space(q, &i);
	n = sql_ident(q, &i, name, &quoted);
	if (n < 0)
		return false;
	if (!quoted && strcmp(name, "prepare") == 0) {
		size_t j = i;
		skip_space(q, &j);
		if (j < q.len && q.p[j] != ';') {
			i = j;
			n = sql_ident(q, &i, name, &quoted);
			if (n < 0)
				return false;
		}
	}
	if (!quoted && strcmp(name, "all") == 0)
		return false;
	skip_space(q, &i);
	if (i < q.len && q.p[i] == ';')
		i++;
	skip_space(q, &i);
	if (i != q.len)
		return false;
	*name_len = (uint8_t)n;
	return true;
}

static int new_stmt(struct pg_session *s, const struct pg_parse *pa, struct pg_stmt **out)
{
	struct pg_stmt *st;
	size_t mem;

	*out = NULL;
	if (pa->name.len > 0 && s->n_stmts >= s->lim.max_stmts)
		return ACRA_ERANGE;
	mem = sizeof(*st) + pa->query.len + 1 + 4u * pa->n_types;
	if (!mem_take(s, mem))
		return ACRA_ERANGE;
	st = calloc(1, sizeof(*st));
	if (st != NULL)
		st->query = malloc(pa->query.len + 1);
	if (st != NULL && pa->n_types > 0)
		st->param_types = malloc(4u * pa->n_types);
	if (st == NULL || st->query == NULL || (pa->n_types > 0 && st->param_types == NULL)) {
		if (st != NULL) {
			free(st->query);
			free(st->param_types);
		}
		free(st);
		mem_give(s, mem);
		return ACRA_ENOMEM;
	}
	st->refs = 1;
	st->mem = mem;
	st->name_len = name_copy(st->name, pa->name);
	if (pa->query.len > 0)
		memcpy(st->query, pa->query.p, pa->query.len);
	st->query[pa->query.len] = 0;
	st->query_len = pa->query.len;
	st->n_param_types = pa->n_types;
	for (uint16_t i = 0; i < pa->n_types; i++)
		st->param_types[i] = pg_oid_at(pa->types, i);
	*out = st;
	return ACRA_OK;
}

static uint8_t *fmt_copy(struct bytes f, uint16_t n)
{
	uint8_t *a = malloc(n ? n : 1);

	if (a != NULL)
		for (uint16_t i = 0; i < n; i++)
			a[i] = (uint8_t)rd_be16(f.p + 2u * i);
	return a;
}

static int new_portal(struct pg_session *s, const struct pg_bind *b, struct pg_portal **out)
{
	struct pg_portal *po;
	size_t mem;

	*out = NULL;
	if (b->portal.len > 0 && s->n_portals >= s->lim.max_portals)
		return ACRA_ERANGE;
	mem = sizeof(*po) + b->n_param_fmts + b->n_result_fmts;
	if (!mem_take(s, mem))
		return ACRA_ERANGE;
	po = calloc(1, sizeof(*po));
	if (po != NULL && b->n_param_fmts > 0)
		po->param_fmts = fmt_copy(b->param_fmts, b->n_param_fmts);
	if (po != NULL && b->n_result_fmts > 0)
		po->result_fmts = fmt_copy(b->result_fmts, b->n_result_fmts);
	if (po == NULL || (b->n_param_fmts > 0 && po->param_fmts == NULL) ||
	    (b->n_result_fmts > 0 && po->result_fmts == NULL)) {
		if (po != NULL) {
			free(po->param_fmts);
			free(po->result_fmts);
		}
		free(po);
		mem_give(s, mem);
		return ACRA_ENOMEM;
	}
	po->mem = mem;
	po->name_len = name_copy(po->name, b->portal);
	po->n_param_fmts = b->n_param_fmts;
	po->n_result_fmts = b->n_result_fmts;
	/* the statement is resolved at BindComplete, when the server has it; keep its name
	 * in the pending entry's record meanwhile */
	*out = po;
	return ACRA_OK;
}

static void update_phase(struct pg_session *s)
{
	switch (s->phase) {
	case PG_PHASE_READY:
	case PG_PHASE_QUERY:
	case PG_PHASE_COPY_IN:
	case PG_PHASE_COPY_OUT:
	case PG_PHASE_COPY_BOTH:
		s->phase = s->in_copy ? s->copy_phase : s->q_len > 0 ? PG_PHASE_QUERY
								       : PG_PHASE_READY;
		break;
	default:
		break;
	}
}

static int track_fe(struct pg_session *s, const struct pg_msg *m)
{
	struct pg_startup su;
	struct pg_parse pa;
	struct pg_bind bi;
	struct pg_target ta;
	struct pg_execute ex;
	struct bytes q, none = { NULL, 0 };
	struct pg_stmt *st;
	struct pg_portal *po;
	int rc;

	/* After an error in the extended protocol the server ignores everything up to Sync */
	if (s->skip_to_sync && m->id != PG_M_SYNC && m->id != PG_M_TERMINATE)
		return ACRA_OK;
	switch (m->id) {
	case PG_M_STARTUP:
		rc = pg_decode_startup(m, &su);
		if (rc < 0)
			return rc;
		name_copy(s->user, su.user);
		name_copy(s->database, su.database.len ? su.database : su.user);
		s->phase = PG_PHASE_AUTH;
		return ACRA_OK;
	case PG_M_SSL_REQUEST:
	case PG_M_GSSENC_REQUEST:
		s->phase = PG_PHASE_SSL;
		pg_parser_expect_answer(&s->be, m->id == PG_M_SSL_REQUEST ? 'S' : 'G');
		return ACRA_OK;
	case PG_M_CANCEL_REQUEST:
		s->phase = PG_PHASE_CANCEL;
		return ACRA_OK;
	case PG_M_TERMINATE:
		s->phase = PG_PHASE_CLOSED;
		return ACRA_OK;
	case PG_M_QUERY: {
		struct pg_pend *pe;
		rc = pg_decode_string(m, &q);
		if (rc < 0)
			return rc;
		rc = push(s, PEND_QUERY, none, NULL);
		if (rc < 0)
			return rc;
		pe = &s->q[(s->q_head + s->q_len - 1) % s->q_cap];
		pe->dealloc = sql_dealloc_name(q, pe->name, &pe->name_len);
		break;
	}
	case PG_M_PARSE:
		rc = pg_decode_parse(m, &pa);
		if (rc < 0)
			return rc;
		rc = new_stmt(s, &pa, &st);
		if (rc < 0)
			return rc;
		rc = push(s, PEND_PARSE, pa.name, st);
		if (rc < 0)
			stmt_unref(s, st);
		break;
	case PG_M_BIND:
		rc = pg_decode_bind(m, &bi);
		if (rc < 0)
			return rc;
		rc = new_portal(s, &bi, &po);
		if (rc < 0)
			return rc;
		/* the pending entry names the statement; the portal takes its own name */
		rc = push(s, PEND_BIND, bi.stmt, po);
		if (rc < 0)
			portal_free(s, po);
		break;
	case PG_M_DESCRIBE:
	case PG_M_CLOSE:
		rc = pg_decode_target(m, &ta);
		if (rc < 0)
			return rc;
		if (m->id == PG_M_DESCRIBE)
			rc = push(s, ta.kind == 'S' ? PEND_DESC_S : PEND_DESC_P, ta.name, NULL);
		else
			rc = push(s, ta.kind == 'S' ? PEND_CLOSE_S : PEND_CLOSE_P, ta.name, NULL);
		break;
	case PG_M_EXECUTE:
		rc = pg_decode_execute(m, &ex);
		if (rc < 0)
			return rc;
		rc = push(s, PEND_EXECUTE, ex.portal, NULL);
		break;
	case PG_M_SYNC:
		s->skip_to_sync = false;
		rc = push(s, PEND_SYNC, none, NULL);
		break;
	case PG_M_FUNCTION_CALL:
		rc = push(s, PEND_FCALL, none, NULL);
		break;
	default:
		return ACRA_OK; /* Flush, CopyData/Done/Fail, PasswordMessage: no response state */
	}
	update_phase(s);
	return rc;
}

static int rowdesc_to_cols(struct pg_session *s, const struct pg_msg *m)
{
	struct pg_iter it;
	struct pg_field f;
	int rc;

	cols_reset(s);
	rc = pg_rowdesc_begin(m, &it);
	if (rc < 0)
		return rc;
	rc = cols_reserve(s, it.n);
	if (rc < 0)
		return rc;
	while ((rc = pg_rowdesc_next(&it, &f)) == 1) {
		if (f.format != 0 && f.format != 1)
			return ACRA_EPROTO;
		s->cols[it.i - 1].type_oid = f.type_oid;
		s->cols[it.i - 1].format = (uint8_t)f.format;
	}
	if (rc < 0)
		return rc;
	s->n_cols = it.n;
	return ACRA_OK;
}

/* Keep the column types of a described statement or portal (replacing earlier ones). */
static int save_types(struct pg_session *s, uint16_t *n_cols, uint32_t **col_types, size_t *mem)
{
	uint32_t *t = NULL;

	if (s->n_cols > 0) {
		if (!mem_take(s, 4u * s->n_cols))
			return ACRA_ERANGE;
		t = malloc(4u * s->n_cols);
		if (t == NULL) {
			mem_give(s, 4u * s->n_cols);
			return ACRA_ENOMEM;
		}
		for (uint32_t i = 0; i < s->n_cols; i++)
			t[i] = s->cols[i].type_oid;
	}
	mem_give(s, 4u * *n_cols);
	*mem -= 4u * *n_cols;
	free(*col_types);
	*col_types = t;
	*n_cols = (uint16_t)s->n_cols;
	*mem += 4u * *n_cols;
	return ACRA_OK;
}

static int describe_done(struct pg_session *s, bool has_rows)
{
	struct pg_pend *pe = head(s);
	struct pg_stmt **sp;
	struct pg_portal **pp;
	int rc = ACRA_OK;

	if (!has_rows)
		cols_reset(s);
	if (pe->kind == PEND_DESC_S) {
		sp = stmt_slot(s, pe->name, pe->name_len);
		if (sp != NULL)
			rc = save_types(s, &(*sp)->n_cols, &(*sp)->col_types, &(*sp)->mem);
	} else {
		pp = portal_slot(s, pe->name, pe->name_len);
		if (pp != NULL)
			rc = save_types(s, &(*pp)->n_cols, &(*pp)->col_types, &(*pp)->mem);
	}
	/* pop even if saving failed, to stay in step with the server; skip pop()'s column
	 * reset so the described columns stay current unless an Execute takes over */
	s->q_head = (s->q_head + 1) % s->q_cap;
	s->q_len--;
	if (head_is(s, PEND_EXECUTE)) {
		int arc = activate_head(s);
		if (rc == ACRA_OK)
			rc = arc;
	}
	return rc;
}

static void command_tag(struct pg_session *s, struct bytes tag)
{
	struct pg_pend *pe = head(s);

	if (bytes_eq(tag, "DISCARD ALL")) {
		portals_drop_all(s);
		stmts_drop_all(s);
	} else if (bytes_eq(tag, "DEALLOCATE ALL")) {
		stmts_drop_all(s);
	} else if (bytes_eq(tag, "DEALLOCATE")) {
		if (pe != NULL && pe->kind == PEND_QUERY && pe->dealloc)
			stmt_remove(s, pe->name, pe->name_len);
	} else if (bytes_eq(tag, "CLOSE CURSOR ALL")) {
		portals_drop_all(s);
	}
}

static bool head_extended(struct pg_session *s)
{
	struct pg_pend *pe = head(s);

	return pe != NULL && pe->kind != PEND_QUERY && pe->kind != PEND_SYNC &&
	       pe->kind != PEND_FCALL;
}

static int track_be(struct pg_session *s, const struct pg_msg *m)
{
	struct pg_pend *pe = head(s);
	struct pg_cancel_key key;
	struct pg_copy_resp cr;
	struct pg_error er;
	struct bytes tag;
	uint8_t st;
	int rc = ACRA_OK;

	switch (m->id) {
	case PG_M_ENC_ANSWER:
		s->enc_answer = m->type;
		pg_parser_answered(&s->fe);
		s->phase = PG_PHASE_STARTUP;
		return ACRA_OK;
	case PG_M_AUTH:
	case PG_M_PARAM_STATUS:
	case PG_M_NOTICE:
	case PG_M_NOTIFICATION:
	case PG_M_NEGOTIATE_VERSION:
	case PG_M_COPY_DATA:
	case PG_M_COPY_DONE:
		return ACRA_OK; /* asynchronous or stateless for the tracker */
	case PG_M_BACKEND_KEY:
		rc = pg_decode_backend_key(m, &key);
		if (rc == ACRA_OK)
			s->backend_pid = key.pid;
		return rc;
	case PG_M_ERROR:
		rc = pg_decode_error(m, &er);
		if (rc < 0)
			return rc;
		if (s->phase == PG_PHASE_STARTUP || s->phase == PG_PHASE_SSL ||
		    s->phase == PG_PHASE_AUTH) {
			s->phase = PG_PHASE_CLOSED; /* startup errors are FATAL */
			return ACRA_OK;
		}
		s->in_copy = false;
		if (head_extended(s)) {
			/* the server discards extended messages until Sync: so do we */
			while (s->q_len > 0 && !head_is(s, PEND_SYNC)) {
				pend_free(s, head(s));
				s->q_head = (s->q_head + 1) % s->q_cap;
				s->q_len--;
			}
			if (s->q_len == 0)
				s->skip_to_sync = true;
			rc = activate_head(s);
		}
		break;
	case PG_M_READY:
		rc = pg_decode_ready(m, &st);
		if (rc < 0)
			return rc;
		s->tx_status = st;
		s->in_copy = false;
		if (s->phase == PG_PHASE_AUTH) {
			s->phase = PG_PHASE_READY; /* end of startup; requests may be queued */
		} else {
			if (pe == NULL || (pe->kind != PEND_QUERY && pe->kind != PEND_SYNC &&
					   pe->kind != PEND_FCALL))
				return ACRA_EPROTO;
			if (pe->kind == PEND_QUERY) {
				/* a simple Query destroys the unnamed statement and portal */
				stmt_remove(s, "", 0);
				portal_remove(s, "", 0);
			}
			rc = pop(s, true);
		}
		/* portals do not outlive their transaction */
		if (st == 'I')
			portals_drop_all(s);
		break;
	case PG_M_PARSE_COMPLETE:
		if (pe == NULL || pe->kind != PEND_PARSE)
			return ACRA_EPROTO;
		rc = stmt_insert(s, pe->rec);
		if (rc < 0) {
			(void)pop(s, true);
			return rc;
		}
		pe->rec = NULL; /* the registry holds it now */
		rc = pop(s, false);
		break;
	case PG_M_BIND_COMPLETE: {
		struct pg_portal *po;
		struct pg_stmt **sp;
		if (pe == NULL || pe->kind != PEND_BIND)
			return ACRA_EPROTO;
		po = pe->rec;
		sp = stmt_slot(s, pe->name, pe->name_len);
		if (sp != NULL) {
			po->stmt = *sp;
			(*sp)->refs++;
		}
		rc = portal_insert(s, po);
		if (rc < 0) {
			(void)pop(s, true);
			return rc;
		}
		pe->rec = NULL;
		rc = pop(s, false);
		break;
	}
	case PG_M_CLOSE_COMPLETE:
		if (pe == NULL || (pe->kind != PEND_CLOSE_S && pe->kind != PEND_CLOSE_P))
			return ACRA_EPROTO;
		if (pe->kind == PEND_CLOSE_S)
			stmt_remove(s, pe->name, pe->name_len);
		else
			portal_remove(s, pe->name, pe->name_len);
		rc = pop(s, true);
		break;
	case PG_M_PARAM_DESC: {
		uint16_t n;
		struct bytes oids;
		struct pg_stmt **sp;
		if (pe == NULL || pe->kind != PEND_DESC_S)
			return ACRA_EPROTO;
		rc = pg_decode_param_desc(m, &n, &oids);
		if (rc < 0)
			return rc;
		sp = stmt_slot(s, pe->name, pe->name_len);
		if (sp != NULL && (*sp)->n_param_types == n)
			for (uint16_t i = 0; i < n; i++)
				(*sp)->param_types[i] = pg_oid_at(oids, i);
		return ACRA_OK;
	}
	case PG_M_ROW_DESC:
		if (pe == NULL || (pe->kind != PEND_QUERY && pe->kind != PEND_DESC_S &&
				   pe->kind != PEND_DESC_P))
			return ACRA_EPROTO;
		rc = rowdesc_to_cols(s, m);
		if (pe->kind != PEND_QUERY) {
			int drc = describe_done(s, rc == ACRA_OK);
			if (rc == ACRA_OK)
				rc = drc;
		}
		break;
	case PG_M_NO_DATA:
		if (pe == NULL || (pe->kind != PEND_DESC_S && pe->kind != PEND_DESC_P))
			return ACRA_EPROTO;
		rc = describe_done(s, false);
		break;
	case PG_M_DATA_ROW:
		if (pe == NULL || (pe->kind != PEND_QUERY && pe->kind != PEND_EXECUTE))
			return ACRA_EPROTO;
		return ACRA_OK;
	case PG_M_COMMAND_COMPLETE:
		if (pe == NULL || (pe->kind != PEND_QUERY && pe->kind != PEND_EXECUTE))
			return ACRA_EPROTO;
		rc = pg_decode_string(m, &tag);
		if (rc < 0)
			return rc;
		command_tag(s, tag);
		s->in_copy = false;
		if (pe->kind == PEND_EXECUTE)
			rc = pop(s, true);
		else
			cols_reset(s);
		break;
	case PG_M_EMPTY_QUERY:
	case PG_M_PORTAL_SUSPENDED:
		if (pe != NULL && pe->kind == PEND_EXECUTE)
			rc = pop(s, true);
		else if (pe == NULL || pe->kind != PEND_QUERY || m->id != PG_M_EMPTY_QUERY)
			return ACRA_EPROTO;
		break;
	case PG_M_COPY_IN_RESPONSE:
	case PG_M_COPY_OUT_RESPONSE:
	case PG_M_COPY_BOTH_RESPONSE:
		if (pe == NULL || (pe->kind != PEND_QUERY && pe->kind != PEND_EXECUTE))
			return ACRA_EPROTO;
		rc = pg_decode_copy_resp(m, &cr);
		if (rc < 0)
			return rc;
		s->in_copy = true;
		s->copy_phase = m->id == PG_M_COPY_IN_RESPONSE    ? PG_PHASE_COPY_IN
				: m->id == PG_M_COPY_OUT_RESPONSE ? PG_PHASE_COPY_OUT
								  : PG_PHASE_COPY_BOTH;
		break;
	case PG_M_FUNCTION_RESULT:
		if (pe == NULL || pe->kind != PEND_FCALL)
			return ACRA_EPROTO;
		return ACRA_OK;
	default:
		return ACRA_EPROTO;
	}
	update_phase(s);
	return rc;
}

int pg_session_track(struct pg_session *s, enum pg_side side, const struct pg_msg *msg)
{
	if (msg == NULL || msg->id == PG_M_UNKNOWN)
		return ACRA_EINVAL;
	return side == PG_FRONTEND ? track_fe(s, msg) : track_be(s, msg);
}

int pg_session_feed(struct pg_session *s, enum pg_side side, const uint8_t *buf, size_t len,
		    size_t *used, struct pg_msg *msg)
{
	int rc = pg_parser_feed(pg_session_parser(s, side), buf, len, used, msg);

	if (rc == PROTO_MSG || (rc == PROTO_PART && msg->first)) {
		int trc = pg_session_track(s, side, msg);
		if (trc < 0)
			return trc;
	}
	return rc;
}
