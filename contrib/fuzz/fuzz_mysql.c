/* contrib/fuzz/fuzz_mysql.c: libFuzzer target for proto/mysql.
 *
 * Input: byte 0 selects a prelude (bit 7: start in the command phase after a valid
 * handshake; bit 6: with CLIENT_DEPRECATE_EOF; bit 5: with MariaDB metadata caching and
 * query attributes), then chunks of [dir:1 | len_hi:7][len_lo] + bytes for the client
 * (dir 0) or the server (dir 1). Every message is decoded the way the proxy would: rows are
 * iterated and rebuilt with a replaced value, re-framed, capability fields cleared in a copy;
 * the decoders also run directly over each chunk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "proto/mysql.h"

#define ACC_CAP (1u << 20)

struct side {
	uint8_t *p;
	size_t len;
};

static uint8_t scratch[3 * ACC_CAP];

static void on_row(struct mysql_session *s, const struct mysql_msg *m)
{
	struct wbuf flat, out, fr;
	struct mysql_row_it it;
	struct mysql_val v;
	struct mysql_repl r[2];
	size_t n_r = 0;
	bool bin = m->kind == MYSQL_K_BINARY_ROW;
	int rc;

	wbuf_init(&flat, scratch, ACC_CAP);
	if (mysql_msg_flatten(m, &flat) != ACRA_OK)
		return;
	if (bin && m->cols == NULL)
		return;
	if (mysql_row_init(&it, flat.p, flat.len, bin, m->n_cols, m->cols) != ACRA_OK)
		return;
	while ((rc = mysql_row_next(&it, &v)) == 1) {
		if (n_r < 2 && !v.is_null && (!bin || mysql_type_is_string(m->cols[it.i - 1].type)))
			r[n_r++] = (struct mysql_repl){ it.i - 1, { v.v.p, v.v.len / 2 }, false };
		else if (n_r < 2 && v.is_null)
			r[n_r++] = (struct mysql_repl){ it.i - 1, { (const uint8_t *)"x", 1 },
							!bin };
	}
	if (rc < 0)
		return;
	wbuf_init(&out, scratch + ACC_CAP, ACC_CAP);
	if (mysql_row_rebuild(&out, flat.p, flat.len, bin, m->n_cols, m->cols, r, n_r) !=
	    ACRA_OK)
		return;
	if (mysql_row_init(&it, out.p, out.len, bin, m->n_cols, m->cols) != ACRA_OK)
		abort(); /* a rebuilt row must parse */
	while ((rc = mysql_row_next(&it, &v)) == 1)
		;
	if (rc != 0)
		abort();
	wbuf_init(&fr, scratch + 2 * ACC_CAP, ACC_CAP);
	(void)mysql_emit(s, m, out.p, out.len, &fr);
}

static int push(struct mysql_session *s, struct side *sd, enum mysql_dir dir, const uint8_t *b,
		size_t len)
{
	struct mysql_msg m;
	size_t used;
	int rc;

	if (len > ACC_CAP - sd->len)
		return -1;
	memcpy(sd->p + sd->len, b, len);
	sd->len += len;
	for (;;) {
		rc = mysql_feed(s, dir, sd->p, sd->len, &used, &m);
		if (rc <= 0)
			return rc;
		if (used != m.wire_len || used > sd->len)
			abort();
		if (m.caps_edit && mysql_caps_clear(s, &m, sd->p) != ACRA_OK)
			abort();
		if (m.seq_out != m.seq)
			mysql_fix_seq(&m, sd->p);
		if (m.kind == MYSQL_K_TEXT_ROW || m.kind == MYSQL_K_BINARY_ROW)
			on_row(s, &m);
		if (m.kind == MYSQL_K_COMMAND && m.cmd == MYSQL_COM_QUERY && m.n_seg == 1) {
			struct bytes sql;

			if (mysql_query_text(m.seg[0].p, m.seg[0].len, mysql_session_caps(s), &sql) ==
				    ACRA_OK &&
			    sql.len > 0 && sql.p[0] == '!') {
				/* the proxy refuses this query and answers it itself */
				uint8_t eb[128];
				struct wbuf w;

				mysql_drop_command(s, &m);
				wbuf_init(&w, eb, sizeof(eb));
				if (mysql_build_err(&w, 1, mysql_session_caps(s), 1317, "70100",
						    "Query execution was interrupted") != ACRA_OK)
					abort();
			}
		}
		if (m.kind == MYSQL_K_COMMAND && m.cmd == MYSQL_COM_STMT_EXECUTE && m.n_seg == 1) {
			struct mysql_exec e;
			struct mysql_param prm;

			if (mysql_exec_parse(s, m.seg[0].p, m.seg[0].len, &e) == ACRA_OK)
				while (mysql_exec_next(&e, &prm) == 1)
					;
		}
		(void)mysql_kind_name(m.kind);
		memmove(sd->p, sd->p + used, sd->len - used);
		sd->len -= used;
	}
}

static void decoders(const uint8_t *b, size_t len)
{
	struct mysql_greeting g;
	struct mysql_handshake h;
	struct mysql_ok ok;
	struct mysql_errpkt e;
	struct mysql_coldef cd;
	struct mysql_row_it it;
	struct mysql_val v;
	struct mysql_col cols[8];
	struct bytes s;
	uint64_t x;
	size_t n;

	(void)mysql_greeting_parse(b, len, &g);
	(void)mysql_handshake_parse(b, len, &h);
	(void)mysql_ok_parse(b, len, MYSQL_CLIENT_PROTOCOL_41, &ok);
	(void)mysql_ok_parse(b, len, MYSQL_CLIENT_PROTOCOL_41 | MYSQL_CLIENT_DEPRECATE_EOF, &ok);
	(void)mysql_err_parse(b, len, MYSQL_CLIENT_PROTOCOL_41, &e);
	(void)mysql_coldef_parse(b, len, false, &cd);
	(void)mysql_coldef_parse(b, len, true, &cd);
	(void)mysql_lenenc_int(b, len, &x, &n);
	(void)mysql_lenenc_str(b, len, &s, &n);
	(void)mysql_query_text(b, len, MYSQL_CLIENT_QUERY_ATTRIBUTES, &s);
	if (mysql_row_init(&it, b, len, false, 4, NULL) == ACRA_OK)
		while (mysql_row_next(&it, &v) == 1)
			;
	/* binary row typed by its own first bytes */
	if (len > 9) {
		for (int i = 0; i < 8; i++)
			cols[i] = (struct mysql_col){ 63, 0, b[i + 1], 0 };
		if (mysql_row_init(&it, b + 9, len - 9, true, b[0] % 9, cols) == ACRA_OK)
			while (mysql_row_next(&it, &v) == 1)
				;
	}
}

static const uint8_t greeting[] =
	"\x0a"
	"8.0.36\0"
	"\x2a\x00\x00\x00"
	"\x11\x22\x33\x44\x55\x66\x77\x01"
	"\x00"
	"\xfe\xf7"
	"\xff"
	"\x02\x00"
	"\xff\xdf"
	"\x15"
	"\x00\x00\x00\x00\x00\x00\x3f\x00\x00\x00"
	"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x00"
	"caching_sha2_password";

static void prelude(struct mysql_session *s, struct side sd[2], uint8_t mode)
{
	uint8_t pkt[160], resp[96];
	uint32_t caps = (uint32_t)(MYSQL_CLIENT_PROTOCOL_41 | MYSQL_CLIENT_SECURE_CONNECTION |
				   MYSQL_CLIENT_PLUGIN_AUTH | MYSQL_CLIENT_MULTI_RESULTS |
				   MYSQL_CLIENT_MULTI_STATEMENTS | MYSQL_CLIENT_LOCAL_FILES |
				   MYSQL_CLIENT_TRANSACTIONS | MYSQL_CLIENT_PS_MULTI_RESULTS);
	size_t n = sizeof(greeting) - 1;

	if (mode & 0x40)
		caps |= (uint32_t)MYSQL_CLIENT_DEPRECATE_EOF;
	if (mode & 0x20)
		caps |= (uint32_t)MYSQL_CLIENT_QUERY_ATTRIBUTES;
	pkt[0] = (uint8_t)n;
	pkt[1] = pkt[2] = pkt[3] = 0;
	memcpy(pkt + 4, greeting, n);
	(void)push(s, &sd[1], MYSQL_FROM_SERVER, pkt, n + 4);
	memset(resp, 0, sizeof(resp));
	wr_le32(resp, caps);
	wr_le32(resp + 4, 1u << 24);
	resp[8] = 0x21;
	if (mode & 0x20)
		wr_le32(resp + 28, (uint32_t)((MARIADB_CLIENT_CACHE_METADATA |
					       MARIADB_CLIENT_EXTENDED_METADATA) >>
					      32));
	memcpy(resp + 32, "u\0\x00", 3);
	n = 35;
	pkt[0] = (uint8_t)n;
	pkt[3] = 1;
	memcpy(pkt + 4, resp, n);
	(void)push(s, &sd[0], MYSQL_FROM_CLIENT, pkt, n + 4);
	(void)push(s, &sd[1], MYSQL_FROM_SERVER,
		   (const uint8_t *)"\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00", 11);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t acc[2][ACC_CAP];
	struct side sd[2] = { { acc[0], 0 }, { acc[1], 0 } };
	struct mysql_session s;
	struct mysql_limits lim;
	size_t off = 1;

	if (size < 1)
		return 0;
	mysql_limits_default(&lim);
	lim.max_msg = ACC_CAP / 2;
	lim.max_stmts = 8;
	lim.max_stmt_bytes = 4096;
	if (data[0] & 0x20)
		lim.clear_caps &= ~(MARIADB_CLIENT_CACHE_METADATA | MARIADB_CLIENT_PROGRESS);
	if (mysql_session_init(&s, &lim) != ACRA_OK)
		return 0;
	if (data[0] & 0x80)
		prelude(&s, sd, data[0]);
	while (off + 2 <= size) {
		int dir = data[off] >> 7;
		size_t len = (size_t)(data[off] & 0x7f) << 8 | data[off + 1];

		off += 2;
		if (len > size - off)
			len = size - off;
		decoders(data + off, len);
		if (push(&s, &sd[dir], dir ? MYSQL_FROM_SERVER : MYSQL_FROM_CLIENT, data + off,
			 len) < 0)
			break;
		off += len;
	}
	mysql_session_clear(&s);
	return 0;
}
