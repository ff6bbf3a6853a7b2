/* proto/pg.h: PostgreSQL frontend/backend protocol v3 — incremental parser, body decoders,
 * message builders and a per-session protocol state tracker.
 *
 * Pure: no sockets, no event loop, no logging, no clocks. The parser never allocates; the
 * tracker allocates only when a prepared statement or portal is created (and when a result
 * is wider than any earlier one), never per DataRow.
 *
 * Driving it from a session hook that sees contiguous bytes of one direction:
 *
 *	rc = pg_session_feed(&s, PG_FRONTEND, buf, len, &used, &m);
 *	PROTO_NEED_MORE  wait until m.need bytes are contiguous, then call again
 *	PROTO_MSG        m is one whole message (m.raw == the first `used` bytes of buf):
 *	                 pass `used` bytes on, or replace them with bytes built by pg_build_*
 *	PROTO_PART       a large pass-through message streamed in pieces: pass `used` bytes on
 *	< 0              ACRA_EPROTO/ACRA_ERANGE: the peer broke the protocol, close the session
 *
 * With lib/session.h hooks: PROTO_NEED_MORE -> SESSION_NEED_MORE n = m.need;
 * PROTO_MSG -> SESSION_PASS n = used, or SESSION_REPLACE n = used with built bytes;
 * PROTO_PART -> SESSION_PASS n = used; < 0 -> SESSION_CLOSE. A message longer than the
 * glue's contiguous limit needs pg_parser_set_stream() (DataRow/CopyData) or closes.
 *
 * A proxy that swallows or answers a message itself uses pg_parser_feed() on
 * pg_session_parser() and calls pg_session_track() only for messages it forwards.
 */
#ifndef ACRA_PROTO_PG_H
#define ACRA_PROTO_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

#ifndef PROTO_NEED_MORE
#define PROTO_NEED_MORE 0 /* not enough bytes for the next event */
#define PROTO_MSG 1       /* one whole message */
#define PROTO_PART 2      /* a piece of a message passed through in pieces */
#endif

#define PG_DEFAULT_MAX_MSG (1u << 30)  /* largest length field accepted by default */
#define PG_MAX_STARTUP 10000u          /* PostgreSQL's MAX_STARTUP_PACKET_LENGTH */
#define PG_NAME_MAX 63                 /* NAMEDATALEN - 1: the server truncates names */
#define PG_PROTOCOL_3_0 196608u        /* 3 << 16 */
#define PG_SSL_REQUEST_CODE 80877103u
#define PG_GSSENC_REQUEST_CODE 80877104u
#define PG_CANCEL_REQUEST_CODE 80877102u

enum pg_side { PG_FRONTEND = 0, PG_BACKEND = 1 };

/* Every message the parser can return; the type byte alone is ambiguous across sides
 * ('D' is Describe from the client and DataRow from the server). */
enum pg_msg_id {
	PG_M_UNKNOWN = 0,
	/* untyped, startup phase */
	PG_M_STARTUP,        /* frontend: StartupMessage, protocol 3.x */
	PG_M_SSL_REQUEST,    /* frontend: SSLRequest */
	PG_M_GSSENC_REQUEST, /* frontend: GSSENCRequest */
	PG_M_CANCEL_REQUEST, /* frontend: CancelRequest */
	PG_M_ENC_ANSWER,     /* backend: one byte 'S', 'G' or 'N' (msg.type) */
	/* frontend */
	PG_M_QUERY,         /* Q */
	PG_M_PARSE,         /* P */
	PG_M_BIND,          /* B */
	PG_M_DESCRIBE,      /* D */
	PG_M_EXECUTE,       /* E */
	PG_M_SYNC,          /* S */
	PG_M_FLUSH,         /* H */
	PG_M_CLOSE,         /* C */
	PG_M_COPY_FAIL,     /* f */
	PG_M_FUNCTION_CALL, /* F */
	PG_M_PASSWORD,      /* p: PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse */
	PG_M_TERMINATE,     /* X */
	/* both directions */
	PG_M_COPY_DATA, /* d */
	PG_M_COPY_DONE, /* c */
	/* backend */
	PG_M_AUTH,               /* R */
	PG_M_BACKEND_KEY,        /* K */
	PG_M_PARAM_STATUS,       /* S */
	PG_M_READY,              /* Z */
	PG_M_ROW_DESC,           /* T */
	PG_M_DATA_ROW,           /* D */
	PG_M_COMMAND_COMPLETE,   /* C */
	PG_M_EMPTY_QUERY,        /* I */
	PG_M_ERROR,              /* E */
	PG_M_NOTICE,             /* N */
	PG_M_NOTIFICATION,       /* A */
	PG_M_PARSE_COMPLETE,     /* 1 */
	PG_M_BIND_COMPLETE,      /* 2 */
	PG_M_CLOSE_COMPLETE,     /* 3 */
	PG_M_NO_DATA,            /* n */
	PG_M_PARAM_DESC,         /* t */
	PG_M_PORTAL_SUSPENDED,   /* s */
	PG_M_COPY_IN_RESPONSE,   /* G */
	PG_M_COPY_OUT_RESPONSE,  /* H */
	PG_M_COPY_BOTH_RESPONSE, /* W */
	PG_M_NEGOTIATE_VERSION,  /* v */
	PG_M_FUNCTION_RESULT,    /* V */
	PG_M__COUNT
};

/* One event from pg_parser_feed. Views point into the fed buffer. */
struct pg_msg {
	enum pg_msg_id id;
	uint8_t type;     /* type byte; 0 for untyped startup messages; the answer byte for
			   * PG_M_ENC_ANSWER */
	uint32_t len;     /* the length field (includes itself); 0 for PG_M_ENC_ANSWER */
	struct bytes raw; /* the whole message as on the wire (PROTO_MSG) or this piece */
	struct bytes body; /* after type and length (PROTO_MSG) or the body bytes of this piece */
	size_t need;      /* PROTO_NEED_MORE: contiguous bytes needed for the next event */
	bool first, last; /* PROTO_PART: first / final piece of the message */
};

enum pg_pstate {
	PG_PSTATE_STARTUP,    /* frontend: untyped messages */
	PG_PSTATE_WAIT_ANSWER, /* frontend: SSL/GSSENC request sent, no bytes allowed */
	PG_PSTATE_TYPED,      /* typed messages */
	PG_PSTATE_ANSWER,     /* backend: next byte answers SSLRequest/GSSENCRequest */
	PG_PSTATE_STREAM,     /* inside a message passed through in pieces */
	PG_PSTATE_DONE,       /* frontend after CancelRequest: no more bytes allowed */
};

/* One direction of one connection. Embed it; fields are private to proto/pg.c. */
struct pg_parser {
	enum pg_side side;
	enum pg_pstate state;
	enum pg_pstate after_stream; /* state to return to after PG_PSTATE_STREAM */
	uint8_t answer_for;          /* 'S' or 'G': which request the backend answers */
	uint32_t max_msg;            /* refuse length fields above this */
	uint32_t stream_min;         /* 0, or stream DataRow/CopyData of at least this length */
	uint32_t remain;             /* PG_PSTATE_STREAM: body bytes still to pass */
	enum pg_msg_id stream_id;
	uint8_t stream_type;
	uint32_t stream_len;
};

/* Prepare a parser for one direction. max_msg 0 means PG_DEFAULT_MAX_MSG. The frontend
 * starts in the untyped startup phase, the backend with typed messages. */
void pg_parser_init(struct pg_parser *p, enum pg_side side, uint32_t max_msg);

/* Change the largest accepted length field (0: PG_DEFAULT_MAX_MSG); untyped startup
 * messages are also capped at PG_MAX_STARTUP. */
void pg_parser_set_max_msg(struct pg_parser *p, uint32_t max_msg);

/* Let DataRow and CopyData messages whose length field is >= min_len be returned as
 * PROTO_PART pieces as bytes arrive instead of waiting for the whole message (0: never).
 * Such messages cannot be rewritten; use it only for pass-through. */
void pg_parser_set_stream(struct pg_parser *p, uint32_t min_len);

/* Consume bytes from buf. Returns PROTO_NEED_MORE (nothing consumed, msg->need says how
 * many contiguous bytes the next event needs), PROTO_MSG with *msg filled and *used ==
 * msg->raw.len, PROTO_PART (streamed piece, see pg_parser_set_stream), ACRA_EPROTO on
 * malformed input or ACRA_ERANGE for a length above max_msg. *used is always set. The views
 * in *msg are valid only until the caller discards those bytes. */
ACRA_MUSTCHECK int pg_parser_feed(struct pg_parser *p, const uint8_t *buf, size_t len,
				  size_t *used, struct pg_msg *msg);

/* Backend parser: the next byte is the one-byte answer to an SSLRequest (kind 'S') or a
 * GSSENCRequest (kind 'G'). The tracker calls this itself. */
void pg_parser_expect_answer(struct pg_parser *p, uint8_t kind);

/* Frontend parser: the backend answered the encryption request; the client may now send
 * its next untyped startup message (inside TLS if the answer was 'S'). */
void pg_parser_answered(struct pg_parser *p);

/* Short English name of a message id ("DataRow"); never NULL. */
const char *pg_msg_name(enum pg_msg_id id);

/* ---- Body decoders: views into the message; ACRA_EPROTO on any inconsistent length,
 * missing terminator or trailing byte. ---- */

struct pg_startup {
	uint32_t version;       /* 3 << 16 | minor */
	struct bytes user, database, options, application_name; /* empty if absent */
	struct bytes params;    /* raw name\0value\0 list, for pg_startup_next_param */
};
ACRA_MUSTCHECK int pg_decode_startup(const struct pg_msg *m, struct pg_startup *out);
/* Take the next name/value pair off *cur (views without the NUL). Returns 1 with a pair,
 * 0 at the end, ACRA_EPROTO if malformed. */
ACRA_MUSTCHECK int pg_startup_next_param(struct bytes *cur, struct bytes *name,
					 struct bytes *value);

/* CancelRequest and BackendKeyData: process id and secret key (4 bytes in protocol 3.0,
 * up to 256 in 3.2). */
struct pg_cancel_key {
	uint32_t pid;
	struct bytes key;
};
ACRA_MUSTCHECK int pg_decode_cancel(const struct pg_msg *m, struct pg_cancel_key *out);
ACRA_MUSTCHECK int pg_decode_backend_key(const struct pg_msg *m, struct pg_cancel_key *out);

/* Iterator over RowDescription fields, DataRow columns and Bind parameter values. */
struct pg_iter {
	const uint8_t *p;
	size_t len;
	uint16_t n, i; /* total and consumed items */
};

struct pg_field {
	struct bytes name;
	uint32_t table_oid;
	int16_t attnum;
	uint32_t type_oid;
	int16_t typlen;
	int32_t typmod;
	int16_t format; /* 0 text, 1 binary */
};
/* Start iterating a RowDescription; it->n is the field count. */
ACRA_MUSTCHECK int pg_rowdesc_begin(const struct pg_msg *m, struct pg_iter *it);
/* 1 with the next field, 0 after the last one (trailing bytes: ACRA_EPROTO). */
ACRA_MUSTCHECK int pg_rowdesc_next(struct pg_iter *it, struct pg_field *f);

struct pg_col {
	bool is_null; /* length -1 */
	struct bytes v;
};
/* Start iterating a DataRow; it->n is the column count. */
ACRA_MUSTCHECK int pg_datarow_begin(const struct pg_msg *m, struct pg_iter *it);
/* 1 with the next value, 0 after the last one, ACRA_EPROTO on a bad length. Also iterates
 * the parameter values of a Bind (pg_bind.params). */
ACRA_MUSTCHECK int pg_values_next(struct pg_iter *it, struct pg_col *c);

struct pg_bind {
	struct bytes portal, stmt;
	uint16_t n_param_fmts;
	struct bytes param_fmts;  /* n_param_fmts Int16, each 0 or 1 */
	uint16_t n_params;
	struct pg_iter params;    /* for pg_values_next */
	uint16_t n_result_fmts;
	struct bytes result_fmts; /* n_result_fmts Int16, each 0 or 1 */
};
/* Validates every length, the format codes and n_param_fmts in {0, 1, n_params}. */
ACRA_MUSTCHECK int pg_decode_bind(const struct pg_msg *m, struct pg_bind *out);
/* Format of item i under the protocol's rule: none = text, one = all, else per item. */
int16_t pg_fmt_at(struct bytes fmts, uint16_t n_fmts, uint16_t i);

struct pg_parse {
	struct bytes name, query;
	uint16_t n_types;
	struct bytes types; /* n_types Int32 OIDs, read with pg_oid_at */
};
ACRA_MUSTCHECK int pg_decode_parse(const struct pg_msg *m, struct pg_parse *out);
/* The i-th Int32 of an array view (caller checks i against its count). */
static inline uint32_t pg_oid_at(struct bytes arr, uint16_t i)
{
	return rd_be32(arr.p + 4u * i);
}

/* Describe and Close: kind 'S' (statement) or 'P' (portal) and the name. */
struct pg_target {
	uint8_t kind;
	struct bytes name;
};
ACRA_MUSTCHECK int pg_decode_target(const struct pg_msg *m, struct pg_target *out);

struct pg_execute {
	struct bytes portal;
	uint32_t max_rows;
};
ACRA_MUSTCHECK int pg_decode_execute(const struct pg_msg *m, struct pg_execute *out);

/* Query text, CommandComplete tag: one NUL-terminated string filling the body. */
ACRA_MUSTCHECK int pg_decode_string(const struct pg_msg *m, struct bytes *out);

/* ErrorResponse and NoticeResponse. */
struct pg_error {
	struct bytes severity; /* 'V' (not localized) if present, else 'S' */
	struct bytes code;     /* 'C' SQLSTATE */
	struct bytes message;  /* 'M' */
	struct bytes detail, hint;
};
ACRA_MUSTCHECK int pg_decode_error(const struct pg_msg *m, struct pg_error *out);
/* Walk the fields of an ErrorResponse body: 1 with *code and *value, 0 at the terminator. */
ACRA_MUSTCHECK int pg_error_next_field(struct bytes *cur, uint8_t *code, struct bytes *value);

/* ReadyForQuery status: 'I' idle, 'T' in transaction, 'E' failed transaction. */
ACRA_MUSTCHECK int pg_decode_ready(const struct pg_msg *m, uint8_t *status);

/* CopyInResponse, CopyOutResponse, CopyBothResponse. */
struct pg_copy_resp {
	uint8_t format; /* overall: 0 text, 1 binary */
	uint16_t n_cols;
	struct bytes fmts; /* n_cols Int16 */
};
ACRA_MUSTCHECK int pg_decode_copy_resp(const struct pg_msg *m, struct pg_copy_resp *out);

/* ParameterDescription: n Int32 type OIDs. */
ACRA_MUSTCHECK int pg_decode_param_desc(const struct pg_msg *m, uint16_t *n, struct bytes *oids);

/* Authentication request: code (0 ok, 3 cleartext, 5 md5, 10 SASL, 11 SASLContinue,
 * 12 SASLFinal ...) and the rest of the body. */
ACRA_MUSTCHECK int pg_decode_auth(const struct pg_msg *m, uint32_t *code, struct bytes *data);

/* ParameterStatus: name and value. */
ACRA_MUSTCHECK int pg_decode_param_status(const struct pg_msg *m, struct bytes *name,
					  struct bytes *value);

/* ---- Builders: append one message to w; overflow sets w->failed (check once). ---- */

/* Generic typed message: type, Int32 length, body. */
void pg_build_msg(struct wbuf *w, uint8_t type, const void *body, size_t body_len);
/* ErrorResponse with fields S severity, C sqlstate (5 characters), M message, as Acra
 * sends (acra-runtime.md §2.3). A sqlstate that is not 5 characters sets w->failed. */
void pg_build_error(struct wbuf *w, const char *severity, const char *sqlstate,
		    const char *message);
/* ReadyForQuery with status 'I', 'T' or 'E'. */
void pg_build_ready(struct wbuf *w, uint8_t status);
/* DataRow from n column values (is_null ones get length -1). */
void pg_build_datarow(struct wbuf *w, const struct pg_col *cols, uint16_t n);

/* DataRow built column by column (no array needed): begin, col..., end. The length and
 * column count are patched in at end; more than 65535 columns or 2^31 bytes fail w. */
struct pg_rowbuild {
	size_t start;
	uint32_t n;
};
void pg_datarow_build_begin(struct wbuf *w, struct pg_rowbuild *rb);
void pg_datarow_build_col(struct wbuf *w, struct pg_rowbuild *rb, const struct pg_col *c);
void pg_datarow_build_end(struct wbuf *w, struct pg_rowbuild *rb);

/* ---- Session tracker ---- */

enum pg_phase {
	PG_PHASE_STARTUP,  /* waiting for StartupMessage / SSLRequest / GSSENCRequest */
	PG_PHASE_SSL,      /* encryption request sent, waiting for the one-byte answer */
	PG_PHASE_AUTH,     /* StartupMessage sent, until the first ReadyForQuery */
	PG_PHASE_READY,    /* idle: no request waiting for a response */
	PG_PHASE_QUERY,    /* requests in flight */
	PG_PHASE_COPY_IN,  /* CopyInResponse seen */
	PG_PHASE_COPY_OUT, /* CopyOutResponse seen */
	PG_PHASE_COPY_BOTH,
	PG_PHASE_CANCEL,   /* CancelRequest sent: the connection only closes */
	PG_PHASE_CLOSED,   /* Terminate sent, or the server failed the startup */
};

/* Memory bounds of one session's registries; 0 fields take the defaults. */
struct pg_limits {
	uint32_t max_stmts;   /* prepared statements (default 10000) */
	uint32_t max_portals; /* portals (default 1000) */
	uint32_t max_pending; /* requests in flight (default 65536) */
	size_t max_bytes;     /* bytes held by statements, portals and queue (default 64 MiB) */
};

/* A prepared statement known to exist on the server (ParseComplete seen). Read-only. */
struct pg_stmt {
	struct pg_stmt *next; /* private */
	uint32_t refs;        /* private: registry + portals */
	bool in_registry;     /* private */
	uint8_t name_len;
	char name[PG_NAME_MAX + 1]; /* NUL-terminated */
	char *query;                /* NUL-terminated copy of the Parse query text */
	size_t query_len;
	uint16_t n_param_types;
	uint32_t *param_types;      /* from Parse, replaced by ParameterDescription */
	uint16_t n_cols;            /* from RowDescription after Describe statement */
	uint32_t *col_types;
	size_t mem; /* private */
};

/* A portal known to exist on the server (BindComplete seen). Read-only. */
struct pg_portal {
	struct pg_portal *next; /* private */
	uint8_t name_len;
	char name[PG_NAME_MAX + 1];
	struct pg_stmt *stmt;       /* its statement (kept alive), NULL if not tracked */
	uint16_t n_param_fmts;
	uint8_t *param_fmts;        /* 0 text / 1 binary */
	uint16_t n_result_fmts;
	uint8_t *result_fmts;
	uint16_t n_cols;            /* from RowDescription after Describe portal */
	uint32_t *col_types;
	size_t mem; /* private */
};

struct pg_colinfo {
	uint32_t type_oid; /* 0 if unknown */
	uint8_t format;    /* 0 text, 1 binary */
};

struct pg_pend;
/* Both directions of one session. Embed it; fields are private except through the
 * accessors below. */
struct pg_session {
	struct pg_parser fe, be;
	struct pg_limits lim;
	enum pg_phase phase;
	uint8_t tx_status;   /* last ReadyForQuery status, 0 before the first */
	uint8_t enc_answer;  /* last answer to an encryption request, 0 if none */
	bool skip_to_sync;   /* server discards extended messages until Sync */
	bool in_copy;
	enum pg_phase copy_phase;
	uint32_t backend_pid;
	char user[PG_NAME_MAX + 1], database[PG_NAME_MAX + 1];
	/* registries: hash tables with chaining */
	struct pg_stmt **stmts;
	uint32_t n_stmt_buckets, n_stmts;
	struct pg_portal **portals;
	uint32_t n_portal_buckets, n_portals;
	size_t mem;
	/* requests in flight, in order: a ring */
	struct pg_pend *q;
	uint32_t q_cap, q_head, q_len;
	/* columns of the current result */
	struct pg_colinfo *cols;
	uint32_t n_cols, cols_cap;
	uint8_t all_fmt; /* format of columns past n_cols */
};

/* Initialise both parsers (max_msg as in pg_parser_init) and an empty tracker. lim may be
 * NULL for defaults. */
void pg_session_init(struct pg_session *s, const struct pg_limits *lim, uint32_t max_msg);
/* Free every statement, portal and queued request; a second call is a no-op. */
void pg_session_clear(struct pg_session *s);

/* The parser of one direction (borrowed). */
struct pg_parser *pg_session_parser(struct pg_session *s, enum pg_side side);

/* pg_parser_feed on that side's parser, then pg_session_track on a returned message
 * (PROTO_MSG, or the first PROTO_PART piece). Returns as pg_parser_feed, or the tracker's
 * error. */
ACRA_MUSTCHECK int pg_session_feed(struct pg_session *s, enum pg_side side, const uint8_t *buf,
				   size_t len, size_t *used, struct pg_msg *msg);

/* Account for one message that was (or will be) forwarded. Returns 0, ACRA_EPROTO when the
 * message contradicts the tracked state or has a malformed body, ACRA_ERANGE when a limit
 * would be exceeded, ACRA_ENOMEM. After an error the session should be closed; the tracker
 * stays safe to call and to clear (nothing leaks). */
ACRA_MUSTCHECK int pg_session_track(struct pg_session *s, enum pg_side side,
				    const struct pg_msg *msg);

enum pg_phase pg_session_phase(const struct pg_session *s);
const char *pg_phase_name(enum pg_phase ph);
/* Last ReadyForQuery status ('I', 'T', 'E'), 0 before the first. */
uint8_t pg_session_tx_status(const struct pg_session *s);
/* The server's last answer to SSLRequest/GSSENCRequest ('S', 'G', 'N'), 0 if none. 'S' or
 * 'G' means the glue must now start TLS (GSS encryption is not supported by Acra). */
uint8_t pg_session_enc_answer(const struct pg_session *s);
/* User and database names from the StartupMessage (truncated to 63 bytes; database
 * defaults to the user), "" before it. For logs only. */
const char *pg_session_user(const struct pg_session *s);
const char *pg_session_database(const struct pg_session *s);
/* Process id from BackendKeyData, 0 before it. */
uint32_t pg_session_backend_pid(const struct pg_session *s);

/* Format (0 text, 1 binary) and type OID (0 if unknown) of column i of the DataRows now
 * arriving, from the RowDescription of the current result or the Bind result formats of
 * the portal being executed. O(1). */
uint8_t pg_session_col_format(const struct pg_session *s, uint32_t i);
uint32_t pg_session_col_type(const struct pg_session *s, uint32_t i);

/* Registry lookups by name (views; the server truncates names to 63 bytes). NULL if the
 * object is not known to exist. Valid until the next pg_session_track or clear. */
const struct pg_stmt *pg_session_stmt(const struct pg_session *s, const char *name, size_t len);
const struct pg_portal *pg_session_portal(const struct pg_session *s, const char *name,
					  size_t len);
uint32_t pg_session_n_stmts(const struct pg_session *s);
uint32_t pg_session_n_portals(const struct pg_session *s);
/* Requests sent and not yet answered. */
uint32_t pg_session_n_pending(const struct pg_session *s);
/* Bytes held by the registries and the queue. */
size_t pg_session_mem(const struct pg_session *s);

#endif
