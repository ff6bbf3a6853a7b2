/* proto/mysql.c: MySQL/MariaDB client/server protocol tracker, decoders and builders.
 * References: MySQL "Client/Server Protocol" (dev.mysql.com, page_protocol_*) and MariaDB's
 * "Client/Server Protocol" knowledge base; behaviour checked against MariaDB 10.11 traffic. */
#include "proto/mysql.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum {
	P_GREETING, /* waiting for the server's first packet */
	P_HANDSHAKE, /* waiting for the client's HandshakeResponse (or SSLRequest) */
	P_AUTH,     /* authentication exchange, both directions share one sequence */
	P_COMMAND,
	P_CLOSED,   /* COM_QUIT sent or the connection was refused */
};

/* What the server sends next for the command at the head of the pending queue. */
enum {
	R_START,      /* first packet of an answer */
	R_SIMPLE,     /* one OK/ERR/EOF packet */
	R_STRING,     /* one packet of text (COM_STATISTICS) */
	R_RESULT,     /* OK, ERR, LOCAL INFILE request or a result set's column count */
	R_COLDEFS,
	R_COLS_EOF,
	R_ROWS,
	R_PREPARE,
	R_PARAMS,
	R_PARAMS_EOF,
	R_PCOLS,
	R_PCOLS_EOF,
	R_FIELDS,        /* COM_FIELD_LIST column definitions until EOF */
	R_INFILE_DATA,   /* the client sends the file */
	R_INFILE_RESULT, /* OK/ERR after the file */
	R_FETCH,         /* binary rows of a cursor */
};

struct mysql_stmt {
	struct mysql_stmt *next;
	uint32_t id;
	uint16_t n_params;
	bool types_bound;
	uint32_t n_cols;
	size_t size;
	uint8_t *ptypes;        /* 2 bytes per parameter: last bound types */
	struct mysql_col *cols; /* n_cols */
};

static uint32_t rd_le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint16_t rd_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void mysql_limits_default(struct mysql_limits *l)
{
	l->max_msg = 64u << 20;
	l->max_cols = 4096;
	l->max_stmts = 1024;
	l->max_stmt_bytes = 1u << 20;
	l->clear_caps = MYSQL_CAPS_UNSUPPORTED;
}

int mysql_session_init(struct mysql_session *s, const struct mysql_limits *lim)
{
	memset(s, 0, sizeof(*s));
	if (lim != NULL)
		s->lim = *lim;
	else
		mysql_limits_default(&s->lim);
	if (s->lim.max_cols == 0 || s->lim.max_cols > 65535)
		return ACRA_EINVAL;
	if ((uint64_t)s->lim.max_msg > (uint64_t)MYSQL_MAX_SEGS * MYSQL_MAX_PAYLOAD - 1)
		s->lim.max_msg = MYSQL_MAX_SEGS * MYSQL_MAX_PAYLOAD - 1;
	s->phase = P_GREETING;
	return ACRA_OK;
}

static void stmts_free(struct mysql_session *s)
{
	struct mysql_stmt *st = s->stmts, *next;

	while (st != NULL) {
		next = st->next;
		free(st);
		st = next;
	}
	s->stmts = NULL;
	s->n_stmts = 0;
	s->stmt_bytes = 0;
	s->cur_stmt = NULL;
}

void mysql_session_clear(struct mysql_session *s)
{
	stmts_free(s);
	free(s->cols);
	s->cols = NULL;
	s->cols_cap = 0;
}

uint64_t mysql_session_caps(const struct mysql_session *s)
{
	return s->caps;
}

uint32_t mysql_stmt_count(const struct mysql_session *s)
{
	return s->n_stmts;
}

static struct mysql_stmt *stmt_find(const struct mysql_session *s, uint32_t id)
{
	struct mysql_stmt *st;

	for (st = s->stmts; st != NULL; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

const struct mysql_col *mysql_stmt_cols(const struct mysql_session *s, uint32_t id,
					uint32_t *n_cols)
{
	const struct mysql_stmt *st = stmt_find(s, id);

	if (st == NULL)
		return NULL;
	*n_cols = st->n_cols;
	return st->cols;
}

static void stmt_remove(struct mysql_session *s, uint32_t id)
{
	struct mysql_stmt **pp, *st;

	for (pp = &s->stmts; *pp != NULL; pp = &(*pp)->next) {
		st = *pp;
		if (st->id != id)
			continue;
		*pp = st->next;
		if (s->cur_stmt == st)
			s->cur_stmt = NULL;
		s->n_stmts--;
		s->stmt_bytes -= st->size;
		free(st);
		return;
	}
}

/* New registry entry; NULL when the limits leave no room (the statement then goes on
 * untyped: its rows still frame, but carry no column types). */
static struct mysql_stmt *stmt_add(struct mysql_session *s, uint32_t id, uint16_t n_params,
				   uint32_t n_cols)
{
	struct mysql_stmt *st;
	size_t size;

	stmt_remove(s, id);
	size = sizeof(*st) + (size_t)n_params * 2 + (size_t)n_cols * sizeof(struct mysql_col);
	if (s->n_stmts >= s->lim.max_stmts || size > s->lim.max_stmt_bytes - s->stmt_bytes ||
	    s->stmt_bytes > s->lim.max_stmt_bytes)
		return NULL;
	st = calloc(1, size);
	if (st == NULL)
		return NULL;
	st->id = id;
	st->n_params = n_params;
	st->n_cols = n_cols;
	st->size = size;
	st->cols = (struct mysql_col *)(st + 1);
	st->ptypes = (uint8_t *)(st->cols + n_cols);
	st->next = s->stmts;
	s->stmts = st;
	s->n_stmts++;
	s->stmt_bytes += size;
	return st;
}

static int cols_reserve(struct mysql_session *s, uint32_t n)
{
	struct mysql_col *c;
	uint32_t cap = s->cols_cap ? s->cols_cap : 16;

	if (n <= s->cols_cap)
		return ACRA_OK;
	while (cap < n)
		cap *= 2;
	if (cap > s->lim.max_cols)
		cap = s->lim.max_cols;
	c = realloc(s->cols, (size_t)cap * sizeof(*c));
	if (c == NULL)
		return ACRA_ENOMEM;
	s->cols = c;
	s->cols_cap = cap;
	return ACRA_OK;
}

/* ---- decoders ---- */

int mysql_lenenc_int(const uint8_t *p, size_t len, uint64_t *v, size_t *n)
{
	size_t w;

	if (len < 1)
		return ACRA_EPROTO;
	switch (p[0]) {
	case 0xfb:
		*v = 0;
		*n = 1;
		return 1;
	case 0xfc:
		w = 2;
		break;
	case 0xfd:
		w = 3;
		break;
	case 0xfe:
		w = 8;
		break;
	case 0xff:
		return ACRA_EPROTO;
	default:
		*v = p[0];
		*n = 1;
		return ACRA_OK;
	}
	if (len - 1 < w)
		return ACRA_EPROTO;
	*v = w == 2 ? rd_le16(p + 1) : w == 3 ? rd_le24(p + 1) : rd_le64(p + 1);
	*n = 1 + w;
	return ACRA_OK;
}

int mysql_lenenc_str(const uint8_t *p, size_t len, struct bytes *s, size_t *n)
{
	uint64_t v = 0;
	size_t h = 0;
	int rc = mysql_lenenc_int(p, len, &v, &h);

	if (rc != ACRA_OK) {
		s->p = p;
		s->len = 0;
		*n = h;
		return rc;
	}
	if (v > len - h)
		return ACRA_EPROTO;
	s->p = p + h;
	s->len = (size_t)v;
	*n = h + (size_t)v;
	return ACRA_OK;
}

size_t mysql_lenenc_size(uint64_t v)
{
	return v < 0xfb ? 1 : v <= 0xffff ? 3 : v <= 0xffffff ? 4 : 9;
}

void mysql_put_lenenc(struct wbuf *w, uint64_t v)
{
	uint8_t b[9];

	if (v < 0xfb) {
		wbuf_put_u8(w, (uint8_t)v);
		return;
	}
	if (v <= 0xffff) {
		b[0] = 0xfc;
		b[1] = (uint8_t)v;
		b[2] = (uint8_t)(v >> 8);
		wbuf_put(w, b, 3);
	} else if (v <= 0xffffff) {
		b[0] = 0xfd;
		b[1] = (uint8_t)v;
		b[2] = (uint8_t)(v >> 8);
		b[3] = (uint8_t)(v >> 16);
		wbuf_put(w, b, 4);
	} else {
		b[0] = 0xfe;
		wr_le64(b + 1, v);
		wbuf_put(w, b, 9);
	}
}

/* Skip a NUL-terminated string; *s excludes the NUL. */
static int get_cstr(const uint8_t *p, size_t len, size_t *off, struct bytes *s)
{
	const uint8_t *z;

	if (*off > len)
		return ACRA_EPROTO;
	z = memchr(p + *off, 0, len - *off);
	if (z == NULL)
		return ACRA_EPROTO;
	s->p = p + *off;
	s->len = (size_t)(z - s->p);
	*off += s->len + 1;
	return ACRA_OK;
}

int mysql_greeting_parse(const uint8_t *p, size_t len, struct mysql_greeting *g)
{
	size_t off = 1, n2;
	uint8_t alen = 0;
	const uint8_t *z;

	memset(g, 0, sizeof(*g));
	if (len < 1 || p[0] != 0x0a)
		return ACRA_EPROTO;
	if (get_cstr(p, len, &off, &g->version) != ACRA_OK)
		return ACRA_EPROTO;
	/* conn id 4, scramble 8, filler 1, caps 2 */
	if (len - off < 15)
		return ACRA_EPROTO;
	g->conn_id = rd_le32(p + off);
	off += 12;
	if (p[off] != 0)
		return ACRA_EPROTO;
	off++;
	g->caps = rd_le16(p + off);
	off += 2;
	g->mariadb = g->version.len >= 6 && memcmp(g->version.p, "5.5.5-", 6) == 0;
	if (off == len)
		return ACRA_OK; /* pre-4.1 servers stop here */
	/* charset 1, status 2, caps upper 2, auth data len 1, reserved 10 */
	if (len - off < 16)
		return ACRA_EPROTO;
	g->charset = p[off];
	g->status = rd_le16(p + off + 1);
	g->caps |= (uint64_t)rd_le16(p + off + 3) << 16;
	alen = p[off + 5];
	/* MariaDB keeps its extended capabilities in the last 4 reserved bytes when it does
	 * not claim CLIENT_MYSQL. */
	if (!(g->caps & MYSQL_CLIENT_LONG_PASSWORD)) {
		g->caps |= (uint64_t)rd_le32(p + off + 12) << 32;
		g->mariadb = true;
	}
	off += 16;
	if (g->caps & MYSQL_CLIENT_SECURE_CONNECTION) {
		n2 = alen > 21 ? (size_t)alen - 8 : 13;
		if (len - off < n2)
			return ACRA_EPROTO;
		off += n2;
	}
	if ((g->caps & MYSQL_CLIENT_PLUGIN_AUTH) && off < len) {
		/* Some 5.5 servers omit the final NUL. */
		z = memchr(p + off, 0, len - off);
		g->plugin.p = p + off;
		g->plugin.len = z != NULL ? (size_t)(z - (p + off)) : len - off;
	}
	return ACRA_OK;
}

int mysql_handshake_parse(const uint8_t *p, size_t len, struct mysql_handshake *h)
{
	size_t off = 32, n;
	uint64_t v;
	int rc;

	memset(h, 0, sizeof(*h));
	if (len < 4)
		return ACRA_EPROTO;
	h->caps = rd_le32(p);
	if (!(h->caps & MYSQL_CLIENT_PROTOCOL_41) || len < 32)
		return ACRA_EPROTO; /* HandshakeResponse320 is not supported */
	h->max_packet = rd_le32(p + 4);
	h->charset = p[8];
	if (!(h->caps & MYSQL_CLIENT_LONG_PASSWORD))
		h->caps |= (uint64_t)rd_le32(p + 28) << 32;
	if (len == 32) {
		if (!(h->caps & MYSQL_CLIENT_SSL))
			return ACRA_EPROTO;
		h->ssl_request = true;
		return ACRA_OK;
	}
	if (get_cstr(p, len, &off, &h->user) != ACRA_OK)
		return ACRA_EPROTO;
	if (h->caps & MYSQL_CLIENT_PLUGIN_AUTH_LENENC_DATA) {
		if (mysql_lenenc_str(p + off, len - off, &h->auth, &n) != ACRA_OK)
			return ACRA_EPROTO;
		off += n;
	} else if (h->caps & MYSQL_CLIENT_SECURE_CONNECTION) {
		if (off >= len || p[off] > len - off - 1)
			return ACRA_EPROTO;
		h->auth.p = p + off + 1;
		h->auth.len = p[off];
		off += 1 + h->auth.len;
	} else if (get_cstr(p, len, &off, &h->auth) != ACRA_OK) {
		return ACRA_EPROTO;
	}
	/* The remaining fields are optional in practice: clients stop after what they have. */
	if ((h->caps & MYSQL_CLIENT_CONNECT_WITH_DB) && off < len &&
	    get_cstr(p, len, &off, &h->db) != ACRA_OK)
		return ACRA_EPROTO;
	if ((h->caps & MYSQL_CLIENT_PLUGIN_AUTH) && off < len &&
	    get_cstr(p, len, &off, &h->plugin) != ACRA_OK)
		return ACRA_EPROTO;
	if ((h->caps & MYSQL_CLIENT_CONNECT_ATTRS) && off < len) {
		rc = mysql_lenenc_int(p + off, len - off, &v, &n);
		if (rc != ACRA_OK || v > len - off - n)
			return ACRA_EPROTO;
		h->attrs.p = p + off + n;
		h->attrs.len = (size_t)v;
	}
	return ACRA_OK;
}

int mysql_ok_parse(const uint8_t *p, size_t len, uint64_t caps, struct mysql_ok *ok)
{
	size_t off = 1, n;

	memset(ok, 0, sizeof(*ok));
	if (len < 1 || (p[0] != 0x00 && p[0] != 0xfe))
		return ACRA_EPROTO;
	/* EOF_Packet: 0xFE alone (pre-4.1) or with warnings and status, 5 bytes; an OK packet
	 * with a 0xFE header has at least 7. Servers send either to DEPRECATE_EOF clients for
	 * some commands (COM_SET_OPTION, COM_DEBUG), so the length decides. */
	if (p[0] == 0xfe && (len == 1 || len == 5)) {
		if (len == 5) {
			ok->warnings = rd_le16(p + 1);
			ok->status = rd_le16(p + 3);
		}
		return ACRA_OK;
	}
	if (mysql_lenenc_int(p + off, len - off, &ok->affected_rows, &n) != ACRA_OK)
		return ACRA_EPROTO;
	off += n;
	if (mysql_lenenc_int(p + off, len - off, &ok->last_insert_id, &n) != ACRA_OK)
		return ACRA_EPROTO;
	off += n;
	if (caps & (MYSQL_CLIENT_PROTOCOL_41 | MYSQL_CLIENT_TRANSACTIONS)) {
		if (len - off < 2)
			return ACRA_EPROTO;
		ok->status = rd_le16(p + off);
		off += 2;
		if (caps & MYSQL_CLIENT_PROTOCOL_41) {
			if (len - off < 2)
				return ACRA_EPROTO;
			ok->warnings = rd_le16(p + off);
		}
	}
	return ACRA_OK;
}

int mysql_err_parse(const uint8_t *p, size_t len, uint64_t caps, struct mysql_errpkt *e)
{
	size_t off = 3;

	memset(e, 0, sizeof(*e));
	if (len < 3 || p[0] != 0xff)
		return ACRA_EPROTO;
	e->code = rd_le16(p + 1);
	/* The SQL state marker is there from 4.1 on, also before capabilities are agreed;
	 * (void)caps: its absence is accepted either way. */
	(void)caps;
	if (len - off >= 6 && p[off] == '#') {
		memcpy(e->sqlstate, p + off + 1, 5);
		off += 6;
	}
	e->message.p = p + off;
	e->message.len = len - off;
	return ACRA_OK;
}

int mysql_coldef_parse(const uint8_t *p, size_t len, bool ext_meta, struct mysql_coldef *cd)
{
	struct bytes *f[] = { &cd->catalog, &cd->schema, &cd->table, &cd->org_table, &cd->name,
			      &cd->org_name };
	size_t off = 0, n;
	uint64_t flen;

	memset(cd, 0, sizeof(*cd));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (mysql_lenenc_str(p + off, len - off, f[i], &n) != ACRA_OK)
			return ACRA_EPROTO;
		off += n;
	}
	if (ext_meta) {
		if (mysql_lenenc_str(p + off, len - off, &cd->ext, &n) != ACRA_OK)
			return ACRA_EPROTO;
		off += n;
	}
	/* length of fixed fields (0x0c), charset 2, length 4, type 1, flags 2, decimals 1,
	 * filler 2 */
	if (mysql_lenenc_int(p + off, len - off, &flen, &n) != ACRA_OK || flen < 10)
		return ACRA_EPROTO;
	off += n;
	if (len - off < flen)
		return ACRA_EPROTO;
	cd->col.charset = rd_le16(p + off);
	cd->length = rd_le32(p + off + 2);
	cd->col.type = p[off + 6];
	cd->col.flags = rd_le16(p + off + 7);
	cd->col.decimals = p[off + 9];
	off += (size_t)flen;
	if (off < len) {
		/* COM_FIELD_LIST adds the default value */
		struct bytes d;

		if (mysql_lenenc_str(p + off, len - off, &d, &n) < 0 || n != len - off)
			return ACRA_EPROTO;
	}
	return ACRA_OK;
}

/* Walk a parameter block as in COM_STMT_EXECUTE and query attributes: NULL bitmap of count
 * bits, new-params-bound flag, then (flag 1) a 2-byte type per parameter, followed by a
 * length-encoded name when named, then the values of the non-NULL parameters. Without
 * types in the block, saved (2 bytes per parameter) gives them; NULL saved means they are
 * unknown and the values cannot be walked (*end is then 0). *types gets where the types
 * start (NULL when not sent). Returns 0 or ACRA_EPROTO. */
static int param_block(const uint8_t *p, size_t len, size_t off, uint64_t count, bool named,
		       const uint8_t *saved, size_t *end, const uint8_t **types)
{
	size_t nb, t, n, hdr, body;
	const uint8_t *bitmap;
	struct bytes name;
	bool bound;

	*end = 0;
	*types = NULL;
	if (count > 65535)
		return ACRA_EPROTO;
	nb = ((size_t)count + 7) / 8;
	if (off > len || len - off < nb + 1)
		return ACRA_EPROTO;
	bitmap = p + off;
	off += nb;
	if (p[off] > 1)
		return ACRA_EPROTO;
	bound = p[off++] == 1;
	t = off;
	if (bound) {
		*types = p + off;
		for (uint64_t i = 0; i < count; i++) {
			if (len - off < 2)
				return ACRA_EPROTO;
			off += 2;
			if (named) {
				if (mysql_lenenc_str(p + off, len - off, &name, &n) != ACRA_OK)
					return ACRA_EPROTO;
				off += n;
			}
		}
	} else if (saved == NULL) {
		return ACRA_OK;
	}
	for (uint64_t i = 0; i < count; i++) {
		uint8_t type = bound ? p[t] : saved[2 * i];

		if (bound) {
			t += 2;
			if (named) {
				if (mysql_lenenc_str(p + t, len - t, &name, &n) != ACRA_OK)
					return ACRA_EPROTO;
				t += n;
			}
		}
		if (bitmap[i / 8] & (1u << (i % 8)))
			continue;
		if (mysql_bin_value_len(type, p + off, len - off, &hdr, &body) != ACRA_OK)
			return ACRA_EPROTO;
		off += hdr + body;
	}
	*end = off;
	return ACRA_OK;
}

int mysql_query_text(const uint8_t *p, size_t len, uint64_t caps, struct bytes *sql)
{
	size_t off = 1, n, end;
	uint64_t count, sets;
	const uint8_t *types;

	if (len < 1 || p[0] != MYSQL_COM_QUERY)
		return ACRA_EPROTO;
	if (caps & MYSQL_CLIENT_QUERY_ATTRIBUTES) {
		if (mysql_lenenc_int(p + off, len - off, &count, &n) != ACRA_OK)
			return ACRA_EPROTO;
		off += n;
		if (mysql_lenenc_int(p + off, len - off, &sets, &n) != ACRA_OK || sets != 1)
			return ACRA_EPROTO;
		off += n;
		if (count > 0) {
			if (param_block(p, len, off, count, true, NULL, &end, &types) != ACRA_OK ||
			    types == NULL)
				return ACRA_EPROTO;
			off = end;
		}
	}
	sql->p = p + off;
	sql->len = len - off;
	return ACRA_OK;
}

bool mysql_type_is_string(uint8_t type)
{
	switch (type) {
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_VAR_STRING:
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB:
		return true;
	default:
		return false;
	}
}

/* Binary-protocol size class of a type: >= 0 fixed size, TL_TEMPORAL (length byte + 0/4/7/11
 * or 0/8/12 bytes), TL_LENENC (length-encoded string), TL_UNKNOWN. */
enum { TL_TEMPORAL = -1, TL_LENENC = -2, TL_UNKNOWN = -3 };

static int type_layout(uint8_t type)
{
	switch (type) {
	case MYSQL_TYPE_NULL:
		return 0;
	case MYSQL_TYPE_TINY:
		return 1;
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_YEAR:
		return 2;
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_FLOAT:
		return 4;
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_DOUBLE:
		return 8;
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
	case MYSQL_TYPE_NEWDATE:
	case MYSQL_TYPE_DATETIME2:
	case MYSQL_TYPE_TIMESTAMP2:
	case MYSQL_TYPE_TIME:
	case MYSQL_TYPE_TIME2:
		return TL_TEMPORAL;
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_BIT:
	case MYSQL_TYPE_VECTOR:
	case MYSQL_TYPE_JSON:
	case MYSQL_TYPE_ENUM:
	case MYSQL_TYPE_SET:
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB:
	case MYSQL_TYPE_VAR_STRING:
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_GEOMETRY:
		return TL_LENENC;
	default:
		return TL_UNKNOWN;
	}
}

static bool is_time(uint8_t type)
{
	return type == MYSQL_TYPE_TIME || type == MYSQL_TYPE_TIME2;
}

/* Allowed length bytes of temporal values: dates 0/4/7/11, times 0/8/12. */
static bool temporal_len_ok(uint8_t type, size_t l)
{
	if (is_time(type))
		return l == 0 || l == 8 || l == 12;
	return l == 0 || l == 4 || l == 7 || l == 11;
}

int mysql_bin_value_len(uint8_t type, const uint8_t *p, size_t len, size_t *hdr, size_t *body)
{
	int t = type_layout(type);
	uint64_t v;
	size_t n;

	*hdr = 0;
	*body = 0;
	switch (t) {
	case TL_UNKNOWN:
		return ACRA_EPROTO;
	case TL_TEMPORAL:
		if (len < 1 || !temporal_len_ok(type, p[0]) || p[0] > len - 1)
			return ACRA_EPROTO;
		*hdr = 1;
		*body = p[0];
		return ACRA_OK;
	case TL_LENENC:
		if (mysql_lenenc_int(p, len, &v, &n) != ACRA_OK || v > len - n)
			return ACRA_EPROTO;
		*hdr = n;
		*body = (size_t)v;
		return ACRA_OK;
	default:
		if ((size_t)t > len)
			return ACRA_EPROTO;
		*body = (size_t)t;
		return ACRA_OK;
	}
}

static size_t bin_bitmap_len(uint32_t n_cols)
{
	return ((size_t)n_cols + 7 + 2) / 8;
}

int mysql_row_init(struct mysql_row_it *it, const uint8_t *p, size_t len, bool binary,
		   uint32_t n_cols, const struct mysql_col *cols)
{
	memset(it, 0, sizeof(*it));
	it->p = p;
	it->len = len;
	it->n_cols = n_cols;
	it->cols = cols;
	it->binary = binary;
	if (binary) {
		if (cols == NULL && n_cols > 0)
			return ACRA_EINVAL;
		if (len < 1 || p[0] != 0x00 || len - 1 < bin_bitmap_len(n_cols))
			return ACRA_EPROTO;
		it->off = 1 + bin_bitmap_len(n_cols);
	}
	return ACRA_OK;
}

int mysql_row_next(struct mysql_row_it *it, struct mysql_val *v)
{
	size_t n, hdr, body;
	int rc;

	memset(v, 0, sizeof(*v));
	if (it->i == it->n_cols)
		return it->off == it->len ? 0 : ACRA_EPROTO;
	v->off = it->off;
	if (!it->binary) {
		rc = mysql_lenenc_str(it->p + it->off, it->len - it->off, &v->v, &n);
		if (rc < 0)
			return ACRA_EPROTO;
		v->is_null = rc == 1;
		v->wire_len = n;
		it->off += n;
		it->i++;
		return 1;
	}
	/* NULL bitmap of binary rows starts at bit 2 */
	if (it->p[1 + (it->i + 2) / 8] & (1u << ((it->i + 2) % 8))) {
		v->is_null = true;
		v->v.p = it->p + it->off;
		it->i++;
		return 1;
	}
	if (mysql_bin_value_len(it->cols[it->i].type, it->p + it->off, it->len - it->off, &hdr,
				&body) != ACRA_OK)
		return ACRA_EPROTO;
	v->v.p = it->p + it->off + hdr;
	v->v.len = body;
	v->wire_len = hdr + body;
	it->off += hdr + body;
	it->i++;
	return 1;
}

int mysql_row_rebuild(struct wbuf *out, const uint8_t *p, size_t len, bool binary,
		      uint32_t n_cols, const struct mysql_col *cols, const struct mysql_repl *repl,
		      size_t n_repl)
{
	struct mysql_row_it it;
	struct mysql_val v;
	size_t r = 0, start = out->len, bm = 0;
	int rc;

	for (size_t i = 0; i < n_repl; i++)
		if (repl[i].col >= n_cols || (i > 0 && repl[i].col <= repl[i - 1].col))
			return ACRA_EINVAL;
	rc = mysql_row_init(&it, p, len, binary, n_cols, cols);
	if (rc != ACRA_OK)
		return rc;
	if (binary) {
		bm = start + 1;
		wbuf_put(out, p, 1 + bin_bitmap_len(n_cols));
	}
	while ((rc = mysql_row_next(&it, &v)) == 1) {
		uint32_t c = it.i - 1;
		const struct mysql_repl *x = r < n_repl && repl[r].col == c ? &repl[r++] : NULL;
		uint8_t bit = (uint8_t)(1u << ((c + 2) % 8));

		if (x == NULL) {
			wbuf_put(out, p + v.off, v.wire_len);
			continue;
		}
		if (!binary) {
			if (x->is_null) {
				wbuf_put_u8(out, 0xfb);
			} else {
				mysql_put_lenenc(out, x->v.len);
				wbuf_put(out, x->v.p, x->v.len);
			}
			continue;
		}
		if (out->failed)
			continue;
		if (x->is_null) {
			out->p[bm + (c + 2) / 8] |= bit;
			continue;
		}
		out->p[bm + (c + 2) / 8] &= (uint8_t)~bit;
		switch (type_layout(cols[c].type)) {
		case TL_UNKNOWN:
			return ACRA_EPROTO;
		case TL_TEMPORAL:
			if (!temporal_len_ok(cols[c].type, x->v.len))
				return ACRA_EINVAL;
			wbuf_put_u8(out, (uint8_t)x->v.len);
			wbuf_put(out, x->v.p, x->v.len);
			break;
		case TL_LENENC:
			mysql_put_lenenc(out, x->v.len);
			wbuf_put(out, x->v.p, x->v.len);
			break;
		default:
			if ((size_t)type_layout(cols[c].type) != x->v.len)
				return ACRA_EINVAL;
			wbuf_put(out, x->v.p, x->v.len);
			break;
		}
	}
	if (rc < 0)
		return rc;
	return out->failed ? ACRA_ERANGE : ACRA_OK;
}

static bool cmd_unanswered(uint8_t cmd);

/* ---- framing ---- */

/* Frame one logical message from buf; expect < 0 accepts any first sequence id. */
static int frame(const struct mysql_session *s, const uint8_t *buf, size_t len, int expect,
		 struct mysql_msg *m)
{
	size_t off = 0, total = 0;
	uint32_t plen;
	uint8_t seq;

	m->n_seg = 0;
	for (;;) {
		if (len - off < MYSQL_HDR_LEN) {
			m->wire_len = off + MYSQL_HDR_LEN;
			return MYSQL_NEED_MORE;
		}
		plen = rd_le24(buf + off);
		seq = buf[off + 3];
		if (m->n_seg == 0) {
			if (expect >= 0 && seq != (uint8_t)expect)
				return ACRA_EPROTO;
			m->seq = seq;
		} else if (seq != (uint8_t)(m->seq + m->n_seg)) {
			return ACRA_EPROTO;
		}
		if (plen > s->lim.max_msg - total || m->n_seg == MYSQL_MAX_SEGS)
			return ACRA_ERANGE;
		if (len - off - MYSQL_HDR_LEN < plen) {
			m->wire_len = off + MYSQL_HDR_LEN + plen;
			return MYSQL_NEED_MORE;
		}
		m->seg[m->n_seg].p = buf + off + MYSQL_HDR_LEN;
		m->seg[m->n_seg].len = plen;
		m->n_seg++;
		total += plen;
		off += MYSQL_HDR_LEN + plen;
		if (plen < MYSQL_MAX_PAYLOAD)
			break;
	}
	m->payload_len = total;
	m->wire_len = off;
	return MYSQL_MSG;
}

int mysql_msg_payload(const struct mysql_msg *m, struct bytes *out)
{
	if (m->n_seg != 1) {
		out->p = NULL;
		out->len = 0;
		return ACRA_ERANGE;
	}
	*out = m->seg[0];
	return ACRA_OK;
}

int mysql_msg_flatten(const struct mysql_msg *m, struct wbuf *out)
{
	for (unsigned i = 0; i < m->n_seg; i++)
		wbuf_put(out, m->seg[i].p, m->seg[i].len);
	return out->failed ? ACRA_ERANGE : ACRA_OK;
}

int mysql_packetize(struct wbuf *out, const uint8_t *payload, size_t len, uint8_t seq,
		    unsigned *n_pkts)
{
	size_t off = 0, n;
	unsigned k = 0;
	uint8_t h[4];

	for (;;) {
		n = len - off < MYSQL_MAX_PAYLOAD ? len - off : MYSQL_MAX_PAYLOAD;
		h[0] = (uint8_t)n;
		h[1] = (uint8_t)(n >> 8);
		h[2] = (uint8_t)(n >> 16);
		h[3] = (uint8_t)(seq + k);
		wbuf_put(out, h, 4);
		wbuf_put(out, payload + off, n);
		off += n;
		k++;
		if (n < MYSQL_MAX_PAYLOAD)
			break;
	}
	if (n_pkts != NULL)
		*n_pkts = k;
	return out->failed ? ACRA_ERANGE : ACRA_OK;
}

int mysql_emit(struct mysql_session *s, const struct mysql_msg *m, const uint8_t *payload,
	       size_t len, struct wbuf *out)
{
	unsigned k;
	int d, rc = mysql_packetize(out, payload, len, m->seq_out, &k);
	struct mysql_pending *pe;

	if (rc != ACRA_OK)
		return rc;
	d = (int)k - (int)m->n_seg;
	if (m->dir == MYSQL_FROM_CLIENT && m->kind == MYSQL_K_COMMAND) {
		/* the server answers after k packets, the client expects n_seg */
		if (s->pend_n == 0 || cmd_unanswered(m->cmd))
			return ACRA_OK;
		pe = &s->pend[(s->pend_head + s->pend_n - 1) % MYSQL_MAX_PENDING];
		pe->seq = (uint8_t)(pe->seq + d);
		pe->delta = -d;
		return ACRA_OK;
	}
	if (m->last)
		return ACRA_OK; /* the answer is over: nothing follows to renumber */
	s->seq_delta += m->dir == MYSQL_FROM_SERVER ? d : -d;
	return ACRA_OK;
}

void mysql_fix_seq(const struct mysql_msg *m, uint8_t *wire)
{
	size_t off = 0;

	for (unsigned i = 0; i < m->n_seg; i++) {
		wire[off + 3] = (uint8_t)(m->seq_out + i);
		off += MYSQL_HDR_LEN + m->seg[i].len;
	}
}

int mysql_caps_clear(const struct mysql_session *s, const struct mysql_msg *m, uint8_t *wire)
{
	uint8_t *p = wire + MYSQL_HDR_LEN;
	size_t len = m->seg[0].len, off;
	uint64_t clr = s->lim.clear_caps;
	const uint8_t *z;
	uint32_t lo, orig;

	if (m->kind == MYSQL_K_GREETING) {
		if (len < 2)
			return ACRA_EINVAL;
		z = memchr(p + 1, 0, len - 1);
		if (z == NULL)
			return ACRA_EINVAL;
		off = (size_t)(z - p) + 1 + 13;
		if (len < off + 2)
			return ACRA_EINVAL;
		orig = rd_le16(p + off);
		lo = orig & ((uint32_t)~clr & 0xffff);
		p[off] = (uint8_t)lo;
		p[off + 1] = (uint8_t)(lo >> 8);
		if (len < off + 2 + 16)
			return ACRA_OK;
		off += 2 + 3;
		lo = rd_le16(p + off);
		lo &= (uint32_t)(~clr >> 16) & 0xffff;
		p[off] = (uint8_t)lo;
		p[off + 1] = (uint8_t)(lo >> 8);
		if (!(orig & MYSQL_CLIENT_LONG_PASSWORD)) {
			off += 2 + 1 + 6;
			wr_le32(p + off, rd_le32(p + off) & (uint32_t)(~clr >> 32));
		}
		return ACRA_OK;
	}
	if (m->kind != MYSQL_K_SSL_REQUEST && m->kind != MYSQL_K_HANDSHAKE_RESPONSE)
		return ACRA_EINVAL;
	if (len < 32)
		return ACRA_EINVAL;
	lo = rd_le32(p);
	wr_le32(p, lo & (uint32_t)~clr);
	if (!(lo & MYSQL_CLIENT_LONG_PASSWORD))
		wr_le32(p + 28, rd_le32(p + 28) & (uint32_t)(~clr >> 32));
	return ACRA_OK;
}

/* ---- tracker ---- */

static struct mysql_pending *pend_head(struct mysql_session *s)
{
	return s->pend_n ? &s->pend[s->pend_head] : NULL;
}

static void pend_pop(struct mysql_session *s)
{
	s->pend_head = (s->pend_head + 1) % MYSQL_MAX_PENDING;
	s->pend_n--;
	s->rstate = R_START;
	s->seq_delta = 0;
	s->cur_stmt = NULL;
}

/* Commands the server never answers: they are not queued. */
static bool cmd_unanswered(uint8_t cmd)
{
	return cmd == MYSQL_COM_QUIT || cmd == MYSQL_COM_STMT_CLOSE ||
	       cmd == MYSQL_COM_STMT_SEND_LONG_DATA;
}

void mysql_drop_command(struct mysql_session *s, const struct mysql_msg *m)
{
	if (m->dir != MYSQL_FROM_CLIENT || m->kind != MYSQL_K_COMMAND || s->pend_n == 0 ||
	    cmd_unanswered(m->cmd))
		return;
	if (s->phase == P_AUTH && s->change_user) {
		s->phase = P_COMMAND;
		s->change_user = false;
	}
	s->pend_n--;
	if (s->pend_n == 0)
		s->rstate = R_START;
}

/* Remember the parameter types a COM_STMT_EXECUTE binds: a later execute may omit them. */
static int exec_types(struct mysql_session *s, struct mysql_stmt *st, const uint8_t *p,
		      size_t len)
{
	uint64_t count = st->n_params;
	size_t off = 10, n, end;
	const uint8_t *types;
	bool named = (s->caps & MYSQL_CLIENT_QUERY_ATTRIBUTES) != 0;

	if (named && (st->n_params > 0 || (p[5] & 0x08))) {
		/* PARAMETER_COUNT_AVAILABLE: statement parameters plus attributes */
		if (mysql_lenenc_int(p + off, len - off, &count, &n) != ACRA_OK ||
		    count < st->n_params)
			return ACRA_EPROTO;
		off += n;
	}
	if (count == 0)
		return ACRA_OK;
	if (param_block(p, len, off, count, named, NULL, &end, &types) != ACRA_OK)
		return ACRA_EPROTO;
	if (types == NULL)
		return ACRA_OK;
	for (uint32_t i = 0; i < st->n_params; i++) {
		st->ptypes[2 * i] = types[0];
		st->ptypes[2 * i + 1] = types[1];
		types += 2;
		if (named) {
			struct bytes name;

			if (mysql_lenenc_str(types, (size_t)(p + len - types), &name, &n) !=
			    ACRA_OK)
				return ACRA_EPROTO;
			types += n;
		}
	}
	st->types_bound = true;
	return ACRA_OK;
}

int mysql_exec_parse(const struct mysql_session *s, const uint8_t *p, size_t len,
		     struct mysql_exec *e)
{
	const struct mysql_stmt *st;
	uint64_t count;
	size_t off = 10, n, end, nb;
	const uint8_t *types;

	memset(e, 0, sizeof(*e));
	if (len < 10 || p[0] != MYSQL_COM_STMT_EXECUTE)
		return ACRA_EPROTO;
	e->stmt_id = rd_le32(p + 1);
	e->flags = p[5];
	e->p = p;
	e->len = len;
	e->named = (s->caps & MYSQL_CLIENT_QUERY_ATTRIBUTES) != 0;
	st = stmt_find(s, e->stmt_id == 0xffffffffu ? s->last_stmt_id : e->stmt_id);
	if (st == NULL)
		return ACRA_ENOKEY;
	count = st->n_params;
	if (e->named && (st->n_params > 0 || (e->flags & 0x08))) {
		if (mysql_lenenc_int(p + off, len - off, &count, &n) != ACRA_OK ||
		    count < st->n_params)
			return ACRA_EPROTO;
		off += n;
	}
	e->n_params = (uint32_t)count;
	e->v_off = off;
	if (count == 0)
		return off == len ? ACRA_OK : ACRA_EPROTO;
	if (param_block(p, len, off, count, e->named, st->types_bound ? st->ptypes : NULL, &end,
			&types) != ACRA_OK)
		return ACRA_EPROTO;
	if (types == NULL && (!st->types_bound || count > st->n_params))
		return ACRA_ENOKEY;
	nb = ((size_t)count + 7) / 8;
	e->bitmap = p + off;
	e->types_sent = types != NULL;
	e->types = types;
	e->saved_all = st->ptypes;
	e->t_off = types != NULL ? (size_t)(types - p) : 0;
	/* values start after the types (and names) */
	e->v_off = off + nb + 1;
	if (types != NULL) {
		size_t t = e->v_off;

		for (uint64_t i = 0; i < count; i++) {
			struct bytes name;

			t += 2;
			if (e->named) {
				if (mysql_lenenc_str(p + t, len - t, &name, &n) != ACRA_OK)
					return ACRA_EPROTO;
				t += n;
			}
		}
		e->v_off = t;
	}
	return ACRA_OK;
}

int mysql_exec_next(struct mysql_exec *e, struct mysql_param *prm)
{
	size_t n, hdr, body;

	memset(prm, 0, sizeof(*prm));
	if (e->i == e->n_params)
		return e->v_off == e->len ? 0 : ACRA_EPROTO;
	if (e->types != NULL) {
		prm->type = e->p[e->t_off];
		prm->is_unsigned = (e->p[e->t_off + 1] & 0x80) != 0;
		e->t_off += 2;
		if (e->named) {
			if (mysql_lenenc_str(e->p + e->t_off, e->len - e->t_off, &prm->name, &n) !=
			    ACRA_OK)
				return ACRA_EPROTO;
			e->t_off += n;
		}
	} else {
		prm->type = e->saved_all[2 * e->i];
		prm->is_unsigned = (e->saved_all[2 * e->i + 1] & 0x80) != 0;
	}
	prm->off = e->v_off;
	if (e->bitmap[e->i / 8] & (1u << (e->i % 8))) {
		prm->is_null = true;
		e->i++;
		return 1;
	}
	if (mysql_bin_value_len(prm->type, e->p + e->v_off, e->len - e->v_off, &hdr, &body) !=
	    ACRA_OK)
		return ACRA_EPROTO;
	prm->v.p = e->p + e->v_off + hdr;
	prm->v.len = body;
	prm->wire_len = hdr + body;
	e->v_off += hdr + body;
	e->i++;
	return 1;
}

static int client_queue(struct mysql_session *s, struct mysql_msg *m)
{
	struct mysql_pending *pe;

	if (s->pend_n == MYSQL_MAX_PENDING)
		return ACRA_ERANGE;
	pe = &s->pend[(s->pend_head + s->pend_n) % MYSQL_MAX_PENDING];
	pe->cmd = m->cmd;
	pe->stmt_id = m->stmt_id;
	pe->seq = (uint8_t)(m->seq + m->n_seg);
	pe->delta = 0;
	s->pend_n++;
	return MYSQL_MSG;
}

static int client_command(struct mysql_session *s, struct mysql_msg *m)
{
	const uint8_t *p = m->seg[0].p;
	size_t len = m->seg[0].len;
	struct mysql_stmt *st;
	bool queue = true;

	if (m->payload_len == 0)
		return ACRA_EPROTO;
	m->kind = MYSQL_K_COMMAND;
	m->cmd = p[0];
	switch (p[0]) {
	case MYSQL_COM_QUIT:
		s->phase = P_CLOSED;
		queue = false;
		break;
	case MYSQL_COM_STMT_CLOSE:
	case MYSQL_COM_STMT_SEND_LONG_DATA:
		if (len < (p[0] == MYSQL_COM_STMT_CLOSE ? 5u : 7u))
			return ACRA_EPROTO;
		m->stmt_id = rd_le32(p + 1);
		if (p[0] == MYSQL_COM_STMT_CLOSE)
			stmt_remove(s, m->stmt_id);
		queue = false;
		break;
	case MYSQL_COM_STMT_RESET:
	case MYSQL_COM_STMT_FETCH:
	case MYSQL_COM_STMT_EXECUTE:
	case MARIADB_COM_STMT_BULK_EXECUTE:
		if (len < 5 || (p[0] == MYSQL_COM_STMT_FETCH && len < 9) ||
		    (p[0] == MYSQL_COM_STMT_EXECUTE && len < 10))
			return ACRA_EPROTO;
		/* MariaDB: id -1 is the last statement prepared, known when the answer comes
		 * (PREPARE and EXECUTE may be pipelined) */
		m->stmt_id = rd_le32(p + 1);
		st = m->stmt_id == 0xffffffffu ? NULL : stmt_find(s, m->stmt_id);
		if (p[0] == MYSQL_COM_STMT_EXECUTE && st != NULL)
			return exec_types(s, st, p, len) < 0 ? ACRA_EPROTO : client_queue(s, m);
		break;
	case MYSQL_COM_CHANGE_USER:
		if (s->pend_n != 0)
			return ACRA_EPROTO; /* no pipelining across a user change */
		stmts_free(s);
		s->change_user = true;
		s->phase = P_AUTH;
		s->seq = (uint8_t)(m->seq + m->n_seg);
		break;
	case MYSQL_COM_RESET_CONNECTION:
		stmts_free(s);
		break;
	case MYSQL_COM_BINLOG_DUMP:
	case MYSQL_COM_TABLE_DUMP:
	case MYSQL_COM_CONNECT_OUT:
	case MYSQL_COM_REGISTER_SLAVE:
	case MYSQL_COM_BINLOG_DUMP_GTID:
	case MYSQL_COM_DAEMON:
		return ACRA_EPROTO; /* replication streams are not proxied */
	default:
		break;
	}
	if (!queue)
		return MYSQL_MSG;
	return client_queue(s, m);
}

static bool is_term(const struct mysql_session *s, const struct mysql_msg *m)
{
	/* A row may start with 0xFE only as an 8-byte length prefix, so it is >= 16 MiB. */
	if (m->seg[0].len == 0 || m->seg[0].p[0] != 0xfe)
		return false;
	if (s->caps & MYSQL_CLIENT_DEPRECATE_EOF)
		return m->n_seg == 1;
	return m->payload_len < 9;
}

static int read_term(struct mysql_session *s, struct mysql_msg *m)
{
	struct mysql_ok ok;

	if (mysql_ok_parse(m->seg[0].p, m->seg[0].len, s->caps, &ok) != ACRA_OK)
		return ACRA_EPROTO;
	m->status = ok.status;
	return ACRA_OK;
}

/* An answer ends here unless the server announced more results. */
static void end_or_more(struct mysql_session *s, struct mysql_msg *m)
{
	if (m->status & MYSQL_STATUS_MORE_RESULTS) {
		s->rstate = R_RESULT;
		return;
	}
	m->last = true;
}

static int read_err(struct mysql_session *s, struct mysql_msg *m)
{
	struct mysql_errpkt e;

	if (m->n_seg != 1 || mysql_err_parse(m->seg[0].p, m->seg[0].len, s->caps, &e) != ACRA_OK)
		return ACRA_EPROTO;
	m->err_code = e.code;
	m->kind = e.code == 0xffff && s->mariadb ? MYSQL_K_PROGRESS : MYSQL_K_ERR;
	if (m->kind == MYSQL_K_ERR)
		m->last = true;
	return ACRA_OK;
}

static int coldef(struct mysql_session *s, struct mysql_msg *m, struct mysql_col *out)
{
	struct mysql_coldef cd;

	if (m->n_seg != 1 || mysql_coldef_parse(m->seg[0].p, m->seg[0].len,
						 (s->caps & MARIADB_CLIENT_EXTENDED_METADATA) != 0,
						 &cd) != ACRA_OK)
		return ACRA_EPROTO;
	if (out != NULL)
		*out = cd.col;
	return ACRA_OK;
}

/* Keep the column definitions of an execute answer for COM_STMT_FETCH; the width may differ
 * from PREPARE's when the table changed in between. */
static void save_stmt_cols(struct mysql_session *s, uint32_t id)
{
	struct mysql_stmt *st = stmt_find(s, id), *nst;
	uint8_t *ptypes = NULL;
	bool bound;
	uint16_t np;

	if (st == NULL)
		return;
	if (st->n_cols != s->n_cols) {
		np = st->n_params;
		bound = st->types_bound;
		if (bound && np > 0) {
			ptypes = malloc((size_t)np * 2);
			if (ptypes == NULL) {
				stmt_remove(s, id);
				return;
			}
			memcpy(ptypes, st->ptypes, (size_t)np * 2);
		}
		nst = stmt_add(s, id, np, s->n_cols);
		if (nst != NULL && ptypes != NULL)
			memcpy(nst->ptypes, ptypes, (size_t)np * 2);
		if (nst != NULL)
			nst->types_bound = bound;
		free(ptypes);
		st = nst;
		if (st == NULL)
			return;
	}
	if (s->n_cols > 0)
		memcpy(st->cols, s->cols, (size_t)s->n_cols * sizeof(*st->cols));
}

static int server_result(struct mysql_session *s, struct mysql_pending *pe, struct mysql_msg *m)
{
	const uint8_t *p = m->seg[0].p;
	size_t plen = m->seg[0].len, n;
	uint64_t count, meta;
	bool binary = pe->cmd == MYSQL_COM_STMT_EXECUTE || pe->cmd == MARIADB_COM_STMT_BULK_EXECUTE ||
		      pe->cmd == MYSQL_COM_STMT_FETCH;
	int rc;

	if (plen == 0)
		return ACRA_EPROTO;
	switch (s->rstate) {
	case R_SIMPLE:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (m->n_seg != 1 || (p[0] != 0x00 && p[0] != 0xfe))
			return ACRA_EPROTO;
		m->kind = p[0] == 0x00 || !is_term(s, m) ? MYSQL_K_OK : MYSQL_K_EOF;
		if (read_term(s, m) != ACRA_OK)
			return ACRA_EPROTO;
		m->last = true;
		return ACRA_OK;
	case R_STRING:
		if (p[0] == 0xff)
			return read_err(s, m);
		m->kind = MYSQL_K_STRING;
		m->last = true;
		return ACRA_OK;
	case R_RESULT:
	case R_INFILE_RESULT:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (p[0] == 0x00) {
			if (m->n_seg != 1)
				return ACRA_EPROTO;
			m->kind = MYSQL_K_OK;
			if (read_term(s, m) != ACRA_OK)
				return ACRA_EPROTO;
			s->rstate = R_RESULT;
			end_or_more(s, m);
			return ACRA_OK;
		}
		if (s->rstate == R_INFILE_RESULT)
			return ACRA_EPROTO;
		if (p[0] == 0xfb) {
			if (pe->cmd != MYSQL_COM_QUERY || m->n_seg != 1)
				return ACRA_EPROTO;
			m->kind = MYSQL_K_INFILE_REQUEST;
			s->rstate = R_INFILE_DATA;
			return ACRA_OK;
		}
		if (pe->cmd == MYSQL_COM_STMT_FETCH)
			return ACRA_EPROTO;
		rc = mysql_lenenc_int(p, plen, &count, &n);
		/* MariaDB metadata cache: one more byte says whether definitions follow */
		meta = s->caps & MARIADB_CLIENT_CACHE_METADATA;
		if (rc != ACRA_OK || n + (meta ? 1 : 0) != plen || m->n_seg != 1 || count == 0 ||
		    (meta && p[n] > 1))
			return ACRA_EPROTO;
		if (count > s->lim.max_cols)
			return ACRA_ERANGE;
		if (cols_reserve(s, (uint32_t)count) != ACRA_OK)
			return ACRA_ENOMEM;
		s->n_cols = (uint32_t)count;
		s->col_i = 0;
		s->cols_known = true;
		m->kind = MYSQL_K_COLUMN_COUNT;
		m->n_cols = s->n_cols;
		s->rstate = R_COLDEFS;
		if (meta && p[n] == 0) {
			/* definitions skipped: the client reuses the statement's */
			uint32_t nc = 0;
			const struct mysql_col *c = mysql_stmt_cols(s, pe->stmt_id, &nc);

			s->cols_known = c != NULL && nc == s->n_cols;
			if (s->cols_known)
				memcpy(s->cols, c, (size_t)nc * sizeof(*c));
			s->rstate = (s->caps & MYSQL_CLIENT_DEPRECATE_EOF) ? R_ROWS : R_COLS_EOF;
		}
		return ACRA_OK;
	case R_COLDEFS:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (coldef(s, m, &s->cols[s->col_i]) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_COLUMN_DEF;
		m->index = s->col_i++;
		if (s->col_i == s->n_cols) {
			if (binary)
				save_stmt_cols(s, pe->stmt_id);
			s->rstate = (s->caps & MYSQL_CLIENT_DEPRECATE_EOF) ? R_ROWS : R_COLS_EOF;
		}
		return ACRA_OK;
	case R_COLS_EOF:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (!is_term(s, m) || read_term(s, m) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_EOF;
		if (binary && (m->status & MYSQL_STATUS_CURSOR_EXISTS)) {
			m->last = true; /* rows come with COM_STMT_FETCH */
			return ACRA_OK;
		}
		s->rstate = R_ROWS;
		return ACRA_OK;
	case R_ROWS:
	case R_FETCH:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (is_term(s, m)) {
			if (read_term(s, m) != ACRA_OK)
				return ACRA_EPROTO;
			m->kind = MYSQL_K_EOF;
			if (s->rstate == R_FETCH)
				m->last = true;
			else
				end_or_more(s, m);
			return ACRA_OK;
		}
		m->stmt_id = pe->stmt_id;
		if (s->rstate == R_FETCH) {
			struct mysql_stmt *st = stmt_find(s, pe->stmt_id);

			if (p[0] != 0x00)
				return ACRA_EPROTO;
			m->kind = MYSQL_K_BINARY_ROW;
			m->n_cols = st != NULL ? st->n_cols : 0;
			m->cols = st != NULL ? st->cols : NULL;
			return ACRA_OK;
		}
		if (binary && p[0] != 0x00)
			return ACRA_EPROTO;
		m->kind = binary ? MYSQL_K_BINARY_ROW : MYSQL_K_TEXT_ROW;
		m->n_cols = s->n_cols;
		m->cols = s->cols_known ? s->cols : NULL;
		return ACRA_OK;
	case R_PREPARE: {
		struct mysql_stmt *st;

		if (p[0] == 0xff)
			return read_err(s, m);
		if (p[0] != 0x00 || plen < 9 || m->n_seg != 1)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_PREPARE_OK;
		m->stmt_id = rd_le32(p + 1);
		m->n_cols = rd_le16(p + 5);
		m->n_params = rd_le16(p + 7);
		if (m->n_cols > s->lim.max_cols)
			return ACRA_ERANGE;
		if (cols_reserve(s, m->n_cols) != ACRA_OK)
			return ACRA_ENOMEM;
		s->last_stmt_id = m->stmt_id;
		st = stmt_add(s, m->stmt_id, (uint16_t)m->n_params, m->n_cols);
		s->cur_stmt = st;
		pe->stmt_id = m->stmt_id;
		s->n_cols = m->n_cols;
		s->n_params = m->n_params;
		s->col_i = 0;
		if (m->n_params > 0)
			s->rstate = R_PARAMS;
		else if (m->n_cols > 0)
			s->rstate = R_PCOLS;
		else
			m->last = true;
		return ACRA_OK;
	}
	case R_PARAMS:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (coldef(s, m, NULL) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_PARAM_DEF;
		m->index = s->col_i++;
		if (s->col_i == s->n_params) {
			s->col_i = 0;
			if (!(s->caps & MYSQL_CLIENT_DEPRECATE_EOF))
				s->rstate = R_PARAMS_EOF;
			else if (s->n_cols > 0)
				s->rstate = R_PCOLS;
			else
				m->last = true;
		}
		return ACRA_OK;
	case R_PARAMS_EOF:
	case R_PCOLS_EOF:
		if (!is_term(s, m) || read_term(s, m) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_EOF;
		if (s->rstate == R_PARAMS_EOF && s->n_cols > 0)
			s->rstate = R_PCOLS;
		else
			m->last = true;
		return ACRA_OK;
	case R_PCOLS:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (coldef(s, m, &s->cols[s->col_i]) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_COLUMN_DEF;
		m->index = s->col_i++;
		if (s->col_i == s->n_cols) {
			if (s->cur_stmt != NULL)
				memcpy(s->cur_stmt->cols, s->cols,
				       (size_t)s->n_cols * sizeof(*s->cols));
			if (!(s->caps & MYSQL_CLIENT_DEPRECATE_EOF))
				s->rstate = R_PCOLS_EOF;
			else
				m->last = true;
		}
		return ACRA_OK;
	case R_FIELDS:
		if (p[0] == 0xff)
			return read_err(s, m);
		if (is_term(s, m)) {
			if (read_term(s, m) != ACRA_OK)
				return ACRA_EPROTO;
			m->kind = MYSQL_K_EOF;
			m->last = true;
			return ACRA_OK;
		}
		if (coldef(s, m, NULL) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_COLUMN_DEF;
		return ACRA_OK;
	default:
		/* R_INFILE_DATA: the server must wait for the file */
		return ACRA_EPROTO;
	}
}

static int start_answer(struct mysql_session *s, struct mysql_pending *pe)
{
	if (pe->stmt_id == 0xffffffffu)
		pe->stmt_id = s->last_stmt_id;
	switch (pe->cmd) {
	case MYSQL_COM_QUERY:
	case MYSQL_COM_PROCESS_INFO:
	case MYSQL_COM_STMT_EXECUTE:
	case MARIADB_COM_STMT_BULK_EXECUTE:
		s->rstate = R_RESULT;
		break;
	case MYSQL_COM_STMT_FETCH: {
		struct mysql_stmt *st = stmt_find(s, pe->stmt_id);

		s->rstate = R_FETCH;
		s->n_cols = st != NULL ? st->n_cols : 0;
		break;
	}
	case MYSQL_COM_STMT_PREPARE:
		s->rstate = R_PREPARE;
		break;
	case MYSQL_COM_FIELD_LIST:
		s->rstate = R_FIELDS;
		break;
	case MYSQL_COM_STATISTICS:
		s->rstate = R_STRING;
		break;
	default:
		s->rstate = R_SIMPLE;
		break;
	}
	s->seq = pe->seq;
	s->seq_delta = pe->delta;
	return ACRA_OK;
}

static int feed_greeting(struct mysql_session *s, struct mysql_msg *m)
{
	struct mysql_greeting g;
	const uint8_t *p = m->seg[0].p;

	if (m->n_seg != 1 || m->payload_len == 0)
		return ACRA_EPROTO;
	if (p[0] == 0xff) {
		s->phase = P_CLOSED;
		return read_err(s, m);
	}
	if (mysql_greeting_parse(p, m->payload_len, &g) != ACRA_OK)
		return ACRA_EPROTO;
	if (!(g.caps & MYSQL_CLIENT_PROTOCOL_41))
		return ACRA_EPROTO;
	m->kind = MYSQL_K_GREETING;
	m->caps_edit = true;
	s->srv_caps = g.caps & ~s->lim.clear_caps;
	s->mariadb = g.mariadb;
	s->conn_id = g.conn_id;
	s->phase = P_HANDSHAKE;
	s->seq = 1;
	return ACRA_OK;
}

static int feed_handshake(struct mysql_session *s, struct mysql_msg *m)
{
	struct mysql_handshake h;

	if (m->n_seg != 1 || mysql_handshake_parse(m->seg[0].p, m->payload_len, &h) != ACRA_OK)
		return ACRA_EPROTO;
	m->caps_edit = true;
	s->caps = h.caps & s->srv_caps & ~s->lim.clear_caps;
	/* MariaDB's extended capabilities count only when both sides use them */
	if ((h.caps & MYSQL_CLIENT_LONG_PASSWORD) || (s->srv_caps & MYSQL_CLIENT_LONG_PASSWORD))
		s->caps &= 0xffffffffull;
	s->seq = (uint8_t)(m->seq + 1);
	if (h.ssl_request) {
		m->kind = MYSQL_K_SSL_REQUEST;
		return ACRA_OK;
	}
	m->kind = MYSQL_K_HANDSHAKE_RESPONSE;
	s->phase = P_AUTH;
	return ACRA_OK;
}

static int feed_auth_server(struct mysql_session *s, struct mysql_msg *m)
{
	const uint8_t *p = m->seg[0].p;

	if (m->payload_len == 0)
		return ACRA_EPROTO;
	switch (p[0]) {
	case 0x00:
		if (m->n_seg != 1 || read_term(s, m) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_OK;
		s->phase = P_COMMAND;
		break;
	case 0xff:
		if (read_err(s, m) != ACRA_OK)
			return ACRA_EPROTO;
		m->kind = MYSQL_K_ERR;
		s->phase = s->change_user ? P_COMMAND : P_CLOSED;
		break;
	case 0xfe:
		m->kind = MYSQL_K_AUTH_SWITCH;
		return ACRA_OK;
	case 0x01:
		m->kind = MYSQL_K_AUTH_MORE_DATA;
		return ACRA_OK;
	case 0x02:
		if (s->caps & MYSQL_CLIENT_MULTI_FACTOR_AUTH) {
			m->kind = MYSQL_K_AUTH_NEXT_FACTOR;
			return ACRA_OK;
		}
		m->kind = MYSQL_K_AUTH_DATA;
		return ACRA_OK;
	default:
		m->kind = MYSQL_K_AUTH_DATA;
		return ACRA_OK;
	}
	/* authentication finished */
	m->last = true;
	if (s->change_user) {
		s->change_user = false;
		if (s->pend_n)
			pend_pop(s);
	}
	return ACRA_OK;
}

int mysql_feed(struct mysql_session *s, enum mysql_dir dir, const uint8_t *buf, size_t len,
	       size_t *used, struct mysql_msg *m)
{
	struct mysql_pending *pe = NULL;
	int expect = -1, rc;

	*used = 0;
	memset(m, 0, offsetof(struct mysql_msg, seg));
	m->dir = dir;
	m->n_seg = 0;
	m->status = 0;
	m->err_code = 0;
	m->stmt_id = 0;
	m->n_cols = m->n_params = m->index = 0;
	m->cols = NULL;
	m->caps_edit = m->last = false;
	if (s->err)
		return s->err;
	if (len == 0) {
		m->wire_len = MYSQL_HDR_LEN;
		return MYSQL_NEED_MORE;
	}
	/* Which sequence id comes next. */
	switch (s->phase) {
	case P_GREETING:
		if (dir != MYSQL_FROM_SERVER) {
			rc = ACRA_EPROTO;
			goto fail;
		}
		expect = 0;
		break;
	case P_HANDSHAKE:
		expect = s->seq;
		break;
	case P_AUTH:
		expect = s->seq;
		break;
	case P_COMMAND:
		if (dir == MYSQL_FROM_CLIENT)
			expect = s->pend_n && s->rstate == R_INFILE_DATA ? s->seq : 0;
		else if ((pe = pend_head(s)) != NULL)
			expect = s->rstate == R_START ? pe->seq : s->seq;
		break;
	default:
		rc = ACRA_EPROTO;
		goto fail;
	}
	rc = frame(s, buf, len, expect, m);
	if (rc != MYSQL_MSG) {
		if (rc < 0)
			goto fail;
		return rc;
	}
	m->seq_out = m->seq;
	switch (s->phase) {
	case P_GREETING:
		rc = feed_greeting(s, m);
		break;
	case P_HANDSHAKE:
		if (dir == MYSQL_FROM_SERVER) {
			/* the server may refuse with ERR before reading the response */
			if (m->payload_len == 0 || m->seg[0].p[0] != 0xff) {
				rc = ACRA_EPROTO;
				break;
			}
			s->phase = P_CLOSED;
			rc = read_err(s, m);
			break;
		}
		rc = feed_handshake(s, m);
		break;
	case P_AUTH:
		s->seq = (uint8_t)(m->seq + m->n_seg);
		if (dir == MYSQL_FROM_CLIENT) {
			m->kind = MYSQL_K_AUTH_DATA;
			rc = ACRA_OK;
			break;
		}
		rc = feed_auth_server(s, m);
		break;
	default: /* P_COMMAND */
		if (dir == MYSQL_FROM_CLIENT) {
			if (s->pend_n && s->rstate == R_INFILE_DATA) {
				m->kind = m->payload_len == 0 ? MYSQL_K_INFILE_END
							      : MYSQL_K_INFILE_DATA;
				m->cmd = MYSQL_COM_QUERY;
				m->seq_out = (uint8_t)(m->seq - s->seq_delta);
				s->seq = (uint8_t)(m->seq + m->n_seg);
				if (m->payload_len == 0)
					s->rstate = R_INFILE_RESULT;
				rc = ACRA_OK;
				break;
			}
			rc = client_command(s, m);
			rc = rc < 0 ? rc : ACRA_OK;
			break;
		}
		if (pe == NULL) {
			/* unsolicited ERR: the server is closing the connection */
			if (m->payload_len == 0 || m->seg[0].p[0] != 0xff) {
				rc = ACRA_EPROTO;
				break;
			}
			rc = read_err(s, m);
			s->phase = P_CLOSED;
			break;
		}
		if (s->rstate == R_START)
			(void)start_answer(s, pe);
		m->cmd = pe->cmd;
		m->seq_out = (uint8_t)(m->seq + s->seq_delta);
		s->seq = (uint8_t)(m->seq + m->n_seg);
		rc = server_result(s, pe, m);
		if (rc == ACRA_OK && m->last)
			pend_pop(s);
		break;
	}
	if (rc < 0)
		goto fail;
	*used = m->wire_len;
	return MYSQL_MSG;
fail:
	s->err = rc;
	return rc;
}

/* ---- builders ---- */

int mysql_build_err(struct wbuf *out, uint8_t seq, uint64_t caps, uint16_t code,
		    const char *sqlstate, const char *message)
{
	size_t start = out->len, mlen = strlen(message), plen;
	uint8_t *h = wbuf_reserve(out, MYSQL_HDR_LEN);

	if (caps & MYSQL_CLIENT_PROTOCOL_41 && (sqlstate == NULL || strlen(sqlstate) != 5))
		return ACRA_EINVAL;
	if (mlen > 512)
		mlen = 512; /* MySQL's own limit for error text */
	wbuf_put_u8(out, 0xff);
	wbuf_put_u8(out, (uint8_t)code);
	wbuf_put_u8(out, (uint8_t)(code >> 8));
	if (caps & MYSQL_CLIENT_PROTOCOL_41) {
		wbuf_put_u8(out, '#');
		wbuf_put(out, sqlstate, 5);
	}
	wbuf_put(out, message, mlen);
	if (out->failed || h == NULL)
		return ACRA_ERANGE;
	plen = out->len - start - MYSQL_HDR_LEN;
	h[0] = (uint8_t)plen;
	h[1] = (uint8_t)(plen >> 8);
	h[2] = (uint8_t)(plen >> 16);
	h[3] = seq;
	return ACRA_OK;
}

const char *mysql_kind_name(enum mysql_kind k)
{
	static const char *const names[] = {
		[MYSQL_K_GREETING] = "greeting",
		[MYSQL_K_SSL_REQUEST] = "ssl_request",
		[MYSQL_K_HANDSHAKE_RESPONSE] = "handshake_response",
		[MYSQL_K_AUTH_SWITCH] = "auth_switch",
		[MYSQL_K_AUTH_MORE_DATA] = "auth_more_data",
		[MYSQL_K_AUTH_NEXT_FACTOR] = "auth_next_factor",
		[MYSQL_K_AUTH_DATA] = "auth_data",
		[MYSQL_K_OK] = "ok",
		[MYSQL_K_ERR] = "err",
		[MYSQL_K_EOF] = "eof",
		[MYSQL_K_PROGRESS] = "progress",
		[MYSQL_K_COMMAND] = "command",
		[MYSQL_K_COLUMN_COUNT] = "column_count",
		[MYSQL_K_COLUMN_DEF] = "column_def",
		[MYSQL_K_PARAM_DEF] = "param_def",
		[MYSQL_K_TEXT_ROW] = "text_row",
		[MYSQL_K_BINARY_ROW] = "binary_row",
		[MYSQL_K_PREPARE_OK] = "prepare_ok",
		[MYSQL_K_INFILE_REQUEST] = "infile_request",
		[MYSQL_K_INFILE_DATA] = "infile_data",
		[MYSQL_K_INFILE_END] = "infile_end",
		[MYSQL_K_STRING] = "string",
	};

	if ((unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] != NULL)
		return names[k];
	return "unknown";
}
