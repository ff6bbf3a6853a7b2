/* proto/mysql.h: MySQL/MariaDB client/server protocol as a pure, incremental packet-level
 * state machine for the acra server proxy.
 *
 * One struct mysql_session per proxied connection sees both directions. The session glue
 * feeds contiguous bytes of one direction at a time; mysql_feed() answers with one logical
 * message (one or more physical packets: a payload of 0xFFFFFF bytes continues in the next
 * packet) and says what it is, so the proxy inspects only the packets it cares about (rows)
 * and passes everything else on unchanged. No I/O, no logging, no clocks; memory is taken
 * only when a result set is wider than any before it and for the prepared-statement
 * registry (bounded by struct mysql_limits), never per row.
 *
 * Driving it from a hook (per direction, bytes pulled contiguous from the input buffer):
 *
 *   rc = mysql_feed(s, dir, buf, len, &used, &m);
 *   rc == MYSQL_NEED_MORE: wait until at least m.wire_len bytes are buffered, call again.
 *   rc <  0:               malformed input, close the session (mysql_build_err for the client).
 *   rc == MYSQL_MSG:       the first `used` bytes of buf are message m:
 *     - pass on:  if m.caps_edit, mysql_caps_clear(s, &m, buf) first; if m.seq_out != m.seq,
 *                 mysql_fix_seq(&m, buf); then forward buf[0..used) as it is.
 *     - replace (rows): mysql_msg_payload() (or mysql_msg_flatten() when m.n_seg > 1),
 *                 iterate values with mysql_row_init/mysql_row_next, build the new payload
 *                 with mysql_row_rebuild into a caller wbuf, then mysql_emit() frames it
 *                 into packets with the right sequence ids; forward those instead of buf.
 *   Then discard `used` bytes of input. Views in m point into buf and die with it.
 */
#ifndef ACRA_PROTO_MYSQL_H
#define ACRA_PROTO_MYSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

/* Positive results of mysql_feed (errors are negative ACRA_E*). */
#define MYSQL_NEED_MORE 0
#define MYSQL_MSG 1

#define MYSQL_HDR_LEN 4
#define MYSQL_MAX_PAYLOAD 0xFFFFFFu /* a packet this long continues in the next one */
/* Physical packets per logical message: 64 x (16 MiB - 1) covers MySQL's 1 GiB limit. */
#define MYSQL_MAX_SEGS 64

/* Capability flags (lower 32 bits on the wire; MariaDB's extended ones above bit 32). */
#define MYSQL_CLIENT_LONG_PASSWORD 0x00000001ull /* MariaDB: CLIENT_MYSQL */
#define MYSQL_CLIENT_FOUND_ROWS 0x00000002ull
#define MYSQL_CLIENT_LONG_FLAG 0x00000004ull
#define MYSQL_CLIENT_CONNECT_WITH_DB 0x00000008ull
#define MYSQL_CLIENT_COMPRESS 0x00000020ull
#define MYSQL_CLIENT_LOCAL_FILES 0x00000080ull
#define MYSQL_CLIENT_PROTOCOL_41 0x00000200ull
#define MYSQL_CLIENT_SSL 0x00000800ull
#define MYSQL_CLIENT_TRANSACTIONS 0x00002000ull
#define MYSQL_CLIENT_SECURE_CONNECTION 0x00008000ull
#define MYSQL_CLIENT_MULTI_STATEMENTS 0x00010000ull
#define MYSQL_CLIENT_MULTI_RESULTS 0x00020000ull
#define MYSQL_CLIENT_PS_MULTI_RESULTS 0x00040000ull
#define MYSQL_CLIENT_PLUGIN_AUTH 0x00080000ull
#define MYSQL_CLIENT_CONNECT_ATTRS 0x00100000ull
#define MYSQL_CLIENT_PLUGIN_AUTH_LENENC_DATA 0x00200000ull
#define MYSQL_CLIENT_SESSION_TRACK 0x00800000ull
#define MYSQL_CLIENT_DEPRECATE_EOF 0x01000000ull
#define MYSQL_CLIENT_OPTIONAL_RESULTSET_METADATA 0x02000000ull
#define MYSQL_CLIENT_ZSTD_COMPRESSION 0x04000000ull
#define MYSQL_CLIENT_QUERY_ATTRIBUTES 0x08000000ull
#define MYSQL_CLIENT_MULTI_FACTOR_AUTH 0x10000000ull
#define MARIADB_CLIENT_PROGRESS (1ull << 32)
#define MARIADB_CLIENT_COM_MULTI (1ull << 33)
#define MARIADB_CLIENT_STMT_BULK_OPERATIONS (1ull << 34)
#define MARIADB_CLIENT_EXTENDED_METADATA (1ull << 35)
#define MARIADB_CLIENT_CACHE_METADATA (1ull << 36)
#define MARIADB_CLIENT_BULK_UNIT_RESULTS (1ull << 37)

/* Capabilities the tracker does not follow; the default mysql_limits.clear_caps. Compression
 * changes the framing; the others change result-set or command layouts. */
#define MYSQL_CAPS_UNSUPPORTED                                                                   \
	(MYSQL_CLIENT_COMPRESS | MYSQL_CLIENT_ZSTD_COMPRESSION |                                 \
	 MYSQL_CLIENT_OPTIONAL_RESULTSET_METADATA | MARIADB_CLIENT_PROGRESS |                    \
	 MARIADB_CLIENT_COM_MULTI | MARIADB_CLIENT_STMT_BULK_OPERATIONS |                        \
	 MARIADB_CLIENT_CACHE_METADATA | MARIADB_CLIENT_BULK_UNIT_RESULTS)

/* Server status flags (OK/EOF packets). */
#define MYSQL_STATUS_MORE_RESULTS 0x0008
#define MYSQL_STATUS_CURSOR_EXISTS 0x0040
#define MYSQL_STATUS_LAST_ROW_SENT 0x0080

/* Column definition flags. */
#define MYSQL_FLAG_NOT_NULL 0x0001
#define MYSQL_FLAG_BINARY 0x0080
#define MYSQL_FLAG_UNSIGNED 0x0020

enum mysql_cmd {
	MYSQL_COM_SLEEP = 0x00,
	MYSQL_COM_QUIT = 0x01,
	MYSQL_COM_INIT_DB = 0x02,
	MYSQL_COM_QUERY = 0x03,
	MYSQL_COM_FIELD_LIST = 0x04,
	MYSQL_COM_STATISTICS = 0x09,
	MYSQL_COM_PROCESS_INFO = 0x0a,
	MYSQL_COM_PROCESS_KILL = 0x0c,
	MYSQL_COM_PING = 0x0e,
	MYSQL_COM_CHANGE_USER = 0x11,
	MYSQL_COM_BINLOG_DUMP = 0x12,
	MYSQL_COM_TABLE_DUMP = 0x13,
	MYSQL_COM_CONNECT_OUT = 0x14,
	MYSQL_COM_REGISTER_SLAVE = 0x15,
	MYSQL_COM_STMT_PREPARE = 0x16,
	MYSQL_COM_STMT_EXECUTE = 0x17,
	MYSQL_COM_STMT_SEND_LONG_DATA = 0x18,
	MYSQL_COM_STMT_CLOSE = 0x19,
	MYSQL_COM_STMT_RESET = 0x1a,
	MYSQL_COM_SET_OPTION = 0x1b,
	MYSQL_COM_STMT_FETCH = 0x1c,
	MYSQL_COM_DAEMON = 0x1d,
	MYSQL_COM_BINLOG_DUMP_GTID = 0x1e,
	MYSQL_COM_RESET_CONNECTION = 0x1f,
	MARIADB_COM_STMT_BULK_EXECUTE = 0xfa,
};

enum mysql_type {
	MYSQL_TYPE_DECIMAL = 0,
	MYSQL_TYPE_TINY = 1,
	MYSQL_TYPE_SHORT = 2,
	MYSQL_TYPE_LONG = 3,
	MYSQL_TYPE_FLOAT = 4,
	MYSQL_TYPE_DOUBLE = 5,
	MYSQL_TYPE_NULL = 6,
	MYSQL_TYPE_TIMESTAMP = 7,
	MYSQL_TYPE_LONGLONG = 8,
	MYSQL_TYPE_INT24 = 9,
	MYSQL_TYPE_DATE = 10,
	MYSQL_TYPE_TIME = 11,
	MYSQL_TYPE_DATETIME = 12,
	MYSQL_TYPE_YEAR = 13,
	MYSQL_TYPE_NEWDATE = 14,
	MYSQL_TYPE_VARCHAR = 15,
	MYSQL_TYPE_BIT = 16,
	MYSQL_TYPE_TIMESTAMP2 = 17,
	MYSQL_TYPE_DATETIME2 = 18,
	MYSQL_TYPE_TIME2 = 19,
	MYSQL_TYPE_VECTOR = 242,
	MYSQL_TYPE_JSON = 245,
	MYSQL_TYPE_NEWDECIMAL = 246,
	MYSQL_TYPE_ENUM = 247,
	MYSQL_TYPE_SET = 248,
	MYSQL_TYPE_TINY_BLOB = 249,
	MYSQL_TYPE_MEDIUM_BLOB = 250,
	MYSQL_TYPE_LONG_BLOB = 251,
	MYSQL_TYPE_BLOB = 252,
	MYSQL_TYPE_VAR_STRING = 253,
	MYSQL_TYPE_STRING = 254,
	MYSQL_TYPE_GEOMETRY = 255,
};

enum mysql_dir { MYSQL_FROM_CLIENT = 0, MYSQL_FROM_SERVER = 1 };

/* What a message is. Server kinds unless marked. */
enum mysql_kind {
	MYSQL_K_GREETING,           /* Protocol::HandshakeV10 */
	MYSQL_K_SSL_REQUEST,        /* client: short HandshakeResponse with CLIENT_SSL; TLS next */
	MYSQL_K_HANDSHAKE_RESPONSE, /* client: HandshakeResponse41 */
	MYSQL_K_AUTH_SWITCH,        /* 0xFE AuthSwitchRequest */
	MYSQL_K_AUTH_MORE_DATA,     /* 0x01 AuthMoreData (caching_sha2 fast/full, RSA key) */
	MYSQL_K_AUTH_NEXT_FACTOR,   /* 0x02 AuthNextFactor (MySQL multi-factor) */
	MYSQL_K_AUTH_DATA,          /* client auth data, or MariaDB plugin data from the server */
	MYSQL_K_OK,
	MYSQL_K_ERR,
	MYSQL_K_EOF,      /* 0xFE terminator: EOF_Packet, or OK with 0xFE header (DEPRECATE_EOF) */
	MYSQL_K_PROGRESS, /* MariaDB progress report (ERR with code 0xFFFF); response goes on */
	MYSQL_K_COMMAND,  /* client: a command, m.cmd says which */
	MYSQL_K_COLUMN_COUNT,
	MYSQL_K_COLUMN_DEF,
	MYSQL_K_PARAM_DEF, /* parameter definition after COM_STMT_PREPARE_OK */
	MYSQL_K_TEXT_ROW,
	MYSQL_K_BINARY_ROW,
	MYSQL_K_PREPARE_OK,
	MYSQL_K_INFILE_REQUEST, /* 0xFB: server asks for a local file */
	MYSQL_K_INFILE_DATA,    /* client: file contents */
	MYSQL_K_INFILE_END,     /* client: empty packet ending the file */
	MYSQL_K_STRING,         /* COM_STATISTICS answer (plain text) */
};

/* What the proxy needs of one result column. */
struct mysql_col {
	uint16_t charset;
	uint16_t flags;
	uint8_t type;
	uint8_t decimals;
};

struct mysql_msg {
	enum mysql_dir dir;
	enum mysql_kind kind;
	uint8_t cmd;       /* COMMAND: command byte; server messages: the command answered */
	uint8_t seq;       /* sequence id of the first packet as received */
	uint8_t seq_out;   /* sequence id it must carry when forwarded (see mysql_fix_seq) */
	uint8_t n_seg;     /* physical packets */
	size_t wire_len;   /* bytes of all packets with headers (== *used); after NEED_MORE:
			    * the least number of bytes to buffer before calling again */
	size_t payload_len;                /* logical payload: sum of seg[].len */
	struct bytes seg[MYSQL_MAX_SEGS]; /* each packet's payload, pointing into buf */
	uint16_t status;    /* OK, EOF: server status flags */
	uint16_t err_code;  /* ERR */
	uint32_t stmt_id;   /* PREPARE_OK, statement commands, rows of a statement */
	uint32_t n_cols;    /* COLUMN_COUNT, rows: columns; PREPARE_OK: columns */
	uint32_t n_params;  /* PREPARE_OK */
	uint32_t index;     /* COLUMN_DEF/PARAM_DEF: position */
	/* rows: the result's columns, borrowed from the session until the next feed; NULL when
	 * unknown (a statement the registry had no room for, whose definitions were skipped) */
	const struct mysql_col *cols;
	bool caps_edit; /* GREETING, SSL_REQUEST, HANDSHAKE_RESPONSE: call mysql_caps_clear */
	bool last;      /* the last message of the answer to a command */
};

/* Bounds for one session; mysql_limits_default() gives sane values. */
struct mysql_limits {
	uint32_t max_msg;         /* largest logical payload accepted (default 64 MiB) */
	uint32_t max_cols;        /* widest result set (default 4096) */
	uint32_t max_stmts;       /* prepared statements remembered (default 1024) */
	size_t max_stmt_bytes;    /* memory for the registry (default 1 MiB) */
	uint64_t clear_caps;      /* capabilities removed by mysql_caps_clear (default
				   * MYSQL_CAPS_UNSUPPORTED) */
};

#define MYSQL_MAX_PENDING 32 /* pipelined commands awaiting an answer */

struct mysql_stmt;

struct mysql_pending { /* private */
	uint32_t stmt_id;
	uint8_t cmd;
	uint8_t seq; /* sequence id the answer starts with */
	int delta;   /* seq_out - seq for the answer (the command was re-framed) */
};

/* Embed one per connection; fields private to proto/mysql.c. */
struct mysql_session {
	struct mysql_limits lim;
	int phase, rstate, err;
	bool change_user, mariadb, cols_known;
	uint64_t srv_caps, caps; /* caps: what both sides use, after clear_caps */
	uint32_t conn_id;
	uint8_t seq;             /* next sequence id in the running exchange */
	int seq_delta;           /* packets emitted minus packets received in this answer */
	struct mysql_pending pend[MYSQL_MAX_PENDING];
	unsigned pend_head, pend_n;
	uint32_t n_cols, col_i, n_params;
	struct mysql_col *cols; /* owned; cols_cap entries */
	uint32_t cols_cap;
	struct mysql_stmt *stmts; /* owned list */
	uint32_t n_stmts;
	size_t stmt_bytes;
	uint32_t last_stmt_id;
	struct mysql_stmt *cur_stmt; /* statement whose answer is being read */
};

/* Fill l with the defaults. */
void mysql_limits_default(struct mysql_limits *l);
/* Start a session (lim NULL = defaults; max_msg is capped at MYSQL_MAX_SEGS packets).
 * Returns 0 or ACRA_EINVAL. Release with mysql_session_clear. */
ACRA_MUSTCHECK int mysql_session_init(struct mysql_session *s, const struct mysql_limits *lim);
/* Free the session's memory (result columns, statement registry); a second call is a no-op. */
void mysql_session_clear(struct mysql_session *s);

/* Consume one logical message of direction dir from buf. Returns MYSQL_NEED_MORE (then *used
 * is 0 and m->wire_len the bytes to wait for), MYSQL_MSG (m filled, *used = m->wire_len), or
 * ACRA_EPROTO (broken protocol, sequence ids out of order, unsupported command),
 * ACRA_ERANGE (a length, count or pipeline above the limits), ACRA_ENOMEM. An error is sticky:
 * every later call returns it. m's views point into buf (borrowed). */
ACRA_MUSTCHECK int mysql_feed(struct mysql_session *s, enum mysql_dir dir, const uint8_t *buf,
			      size_t len, size_t *used, struct mysql_msg *m);

/* The proxy does not forward the command m (it answers the client itself): forget it. */
void mysql_drop_command(struct mysql_session *s, const struct mysql_msg *m);

/* Capabilities both sides use (valid once the HandshakeResponse was fed). */
uint64_t mysql_session_caps(const struct mysql_session *s);
/* Prepared statements remembered now. */
uint32_t mysql_stmt_count(const struct mysql_session *s);
/* Column definitions last known for statement id (borrowed until the next feed), or NULL. */
const struct mysql_col *mysql_stmt_cols(const struct mysql_session *s, uint32_t id,
					uint32_t *n_cols);

/* Remove s's clear_caps from the capability fields of GREETING, SSL_REQUEST or
 * HANDSHAKE_RESPONSE message m, in place; wire is the writable copy of the message's bytes
 * (the buf given to mysql_feed). Returns 0, or ACRA_EINVAL for another kind. */
ACRA_MUSTCHECK int mysql_caps_clear(const struct mysql_session *s, const struct mysql_msg *m,
				    uint8_t *wire);
/* Rewrite the sequence ids of the packets of m in wire (its bytes) to start at m->seq_out. */
void mysql_fix_seq(const struct mysql_msg *m, uint8_t *wire);

/* Contiguous payload of m: a view when m has one packet, else ACRA_ERANGE (use flatten). */
ACRA_MUSTCHECK int mysql_msg_payload(const struct mysql_msg *m, struct bytes *out);
/* Append m's logical payload to out (caller-owned) without packet headers. */
ACRA_MUSTCHECK int mysql_msg_flatten(const struct mysql_msg *m, struct wbuf *out);

/* Frame payload into packets of at most MYSQL_MAX_PAYLOAD bytes (an exact multiple ends with
 * an empty packet) with sequence ids from seq on, appended to out. *n_pkts (may be NULL) gets
 * the packet count. Returns 0, ACRA_ERANGE if out is too small. */
ACRA_MUSTCHECK int mysql_packetize(struct wbuf *out, const uint8_t *payload, size_t len,
				   uint8_t seq, unsigned *n_pkts);
/* Frame a replacement payload for message m (as mysql_packetize from m->seq_out) and record
 * how many packets it took, so later messages of the same answer get the right seq_out. */
ACRA_MUSTCHECK int mysql_emit(struct mysql_session *s, const struct mysql_msg *m,
			      const uint8_t *payload, size_t len, struct wbuf *out);

/* ---- decoders: all check every length against the bytes given ---- */

/* Length-encoded integer at p. Returns 0 with *v and *n (bytes used), 1 for the NULL marker
 * 0xFB (*n = 1), ACRA_EPROTO for 0xFF or bytes missing. */
ACRA_MUSTCHECK int mysql_lenenc_int(const uint8_t *p, size_t len, uint64_t *v, size_t *n);
/* Length-encoded string: 0 with *s (view into p) and *n, 1 for NULL, ACRA_EPROTO. */
ACRA_MUSTCHECK int mysql_lenenc_str(const uint8_t *p, size_t len, struct bytes *s, size_t *n);
/* Bytes mysql_put_lenenc writes for v. */
size_t mysql_lenenc_size(uint64_t v);
void mysql_put_lenenc(struct wbuf *w, uint64_t v);

struct mysql_greeting {
	struct bytes version;   /* without NUL */
	uint32_t conn_id;
	uint64_t caps;          /* with MariaDB's extended capabilities */
	uint8_t charset;
	uint16_t status;
	struct bytes plugin;    /* auth plugin name, may be empty */
	bool mariadb;
};
ACRA_MUSTCHECK int mysql_greeting_parse(const uint8_t *p, size_t len, struct mysql_greeting *g);

struct mysql_handshake {
	uint64_t caps;
	uint32_t max_packet;
	uint8_t charset;
	bool ssl_request;       /* the 32-byte SSLRequest: nothing below is set */
	struct bytes user, auth, db, plugin, attrs;
};
ACRA_MUSTCHECK int mysql_handshake_parse(const uint8_t *p, size_t len, struct mysql_handshake *h);

struct mysql_ok {
	uint64_t affected_rows, last_insert_id;
	uint16_t status, warnings;
};
/* OK packet (0x00 or 0xFE header) or, when len < 9 and p[0] == 0xFE, EOF_Packet. */
ACRA_MUSTCHECK int mysql_ok_parse(const uint8_t *p, size_t len, uint64_t caps, struct mysql_ok *ok);

struct mysql_errpkt {
	uint16_t code;
	char sqlstate[6]; /* NUL-terminated, empty when absent */
	struct bytes message;
};
ACRA_MUSTCHECK int mysql_err_parse(const uint8_t *p, size_t len, uint64_t caps,
				   struct mysql_errpkt *e);

struct mysql_coldef {
	struct bytes catalog, schema, table, org_table, name, org_name, ext;
	uint32_t length;
	struct mysql_col col;
};
/* Column Definition 41; ext_meta = MARIADB_CLIENT_EXTENDED_METADATA negotiated. A trailing
 * default value (COM_FIELD_LIST) is allowed. */
ACRA_MUSTCHECK int mysql_coldef_parse(const uint8_t *p, size_t len, bool ext_meta,
				      struct mysql_coldef *cd);

/* SQL text of a COM_QUERY payload (command byte included), skipping the query attributes
 * block when caps has CLIENT_QUERY_ATTRIBUTES. */
ACRA_MUSTCHECK int mysql_query_text(const uint8_t *p, size_t len, uint64_t caps,
				    struct bytes *sql);

/* True for the types whose values are byte strings (what acra may decrypt). */
bool mysql_type_is_string(uint8_t type);
/* Encoded size of one binary-protocol value of type at p: *hdr (length prefix bytes) and
 * *body. ACRA_EPROTO for unknown types or a bad length. */
ACRA_MUSTCHECK int mysql_bin_value_len(uint8_t type, const uint8_t *p, size_t len, size_t *hdr,
				       size_t *body);

struct mysql_val {
	struct bytes v;   /* value bytes (without length prefix); empty for NULL */
	bool is_null;
	size_t off;       /* where the encoded value starts in the payload */
	size_t wire_len;  /* encoded size (0 for a binary NULL) */
};

struct mysql_row_it { /* fields private */
	const uint8_t *p;
	size_t len, off;
	uint32_t n_cols, i;
	const struct mysql_col *cols;
	bool binary;
};
/* Iterate over a row payload. Text rows: n_cols length-encoded strings (0xFB NULL). Binary
 * rows: 0x00, NULL bitmap (offset 2), values by cols[i].type (cols required). */
ACRA_MUSTCHECK int mysql_row_init(struct mysql_row_it *it, const uint8_t *p, size_t len,
				  bool binary, uint32_t n_cols, const struct mysql_col *cols);
/* 1 with *v for the next column, 0 at the end when the payload was used exactly, or
 * ACRA_EPROTO (too few/many bytes for the column count, bad lengths). */
ACRA_MUSTCHECK int mysql_row_next(struct mysql_row_it *it, struct mysql_val *v);

/* A COM_STMT_EXECUTE payload (command byte included) and its parameter values. */
struct mysql_exec {
	uint32_t stmt_id;
	uint8_t flags;      /* cursor type; 0x08 PARAMETER_COUNT_AVAILABLE */
	uint32_t n_params;  /* values sent: the statement's parameters, then attributes */
	bool types_sent;    /* new-params-bound flag */
	/* private */
	const uint8_t *p, *bitmap, *types;
	size_t len, t_off, v_off;
	uint32_t i;
	bool named;
	const uint8_t *saved_all;
};
/* Parse an execute for session s (which supplies the parameter count from COM_STMT_PREPARE
 * and the types bound by an earlier execute). e borrows p and the session's registry until
 * the next mysql_feed. Returns 0, ACRA_ENOKEY for a statement the registry does not know
 * (or whose types were never sent), ACRA_EPROTO. */
ACRA_MUSTCHECK int mysql_exec_parse(const struct mysql_session *s, const uint8_t *p, size_t len,
				    struct mysql_exec *e);
struct mysql_param {
	uint8_t type;
	bool is_unsigned, is_null;
	struct bytes name;  /* query attribute name, empty otherwise */
	struct bytes v;     /* value bytes without length prefix */
	size_t off, wire_len;
};
/* 1 with the next parameter, 0 after the last (all bytes used), ACRA_EPROTO. */
ACRA_MUSTCHECK int mysql_exec_next(struct mysql_exec *e, struct mysql_param *prm);

/* One replaced column value. */
struct mysql_repl {
	uint32_t col;
	struct bytes v; /* borrowed */
	bool is_null;
};
/* Append to out a copy of row payload p with the values of repl[] (sorted by col, each col
 * once) put in place, length prefixes and NULL bitmap recomputed. In binary rows a
 * replaced fixed-size value must keep its size. Returns 0, ACRA_EPROTO (bad row),
 * ACRA_EINVAL (bad repl), ACRA_ERANGE (out full). */
ACRA_MUSTCHECK int mysql_row_rebuild(struct wbuf *out, const uint8_t *p, size_t len, bool binary,
				     uint32_t n_cols, const struct mysql_col *cols,
				     const struct mysql_repl *repl, size_t n_repl);

/* ---- builders ---- */

/* A whole ERR packet (header included) with sequence id seq: code, SQLSTATE (5 chars, used
 * when caps has CLIENT_PROTOCOL_41) and message. Returns 0 or ACRA_ERANGE/ACRA_EINVAL. */
ACRA_MUSTCHECK int mysql_build_err(struct wbuf *out, uint8_t seq, uint64_t caps, uint16_t code,
				   const char *sqlstate, const char *message);

/* Short name of a kind, for logs. */
const char *mysql_kind_name(enum mysql_kind k);

#endif
