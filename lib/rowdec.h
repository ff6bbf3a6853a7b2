/* lib/rowdec.h: what the SQL proxies (lib/pgproxy.c, lib/mysqlproxy.c) share when they
 * decrypt the values of one result row: the per-session codec, the per-row zone matcher,
 * metrics, poison-record reactions, and a growing buffer for plaintext that is wiped when
 * it is reused or freed. The protocol code only walks its rows and frames its messages.
 *
 * Row loop:
 *     rowdec_row_begin(&d, &r);
 *     for each non-NULL column value v: rowdec_col(&d, &r, enc, &v, &changed)
 *                                       (v now points at the value to send on)
 *     if (rowdec_row_end(&d, &r)) the session must end (poison record, shutdown set) */
#ifndef ACRA_LIB_ROWDEC_H
#define ACRA_LIB_ROWDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/codec.h"
#include "lib/crypto/zone.h"
#include "lib/pgproxy.h"
#include "lib/session.h"

/* A growing output buffer that holds plaintext: wiped when regrown, reused and freed. */
struct rowdec_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

/* Make room for more bytes; false (and failed set) on overflow or ENOMEM. */
bool rowdec_buf_reserve(struct rowdec_buf *b, size_t more);
void rowdec_buf_put(struct rowdec_buf *b, const void *src, size_t n);
void rowdec_buf_put_be32(struct rowdec_buf *b, uint32_t v);
/* Start a new message: wipe what the previous one left. */
void rowdec_buf_restart(struct rowdec_buf *b);
void rowdec_buf_free(struct rowdec_buf *b);

/* Per session. cfg (shared, read-only) and s are borrowed; codec is created on first use. */
struct rowdec {
	const struct pgproxy_config *cfg;
	struct session *s;
	struct codec *codec;
};

/* Per row. */
struct rowdec_row {
	struct codec_params p;
	struct zone_matcher zm;
	unsigned poison;
	double t0;
};

/* Could a value hold an envelope in raw, PostgreSQL hex or escape form? (AcraStruct tag
 * eight '%', container "%%%", AcraBlock four '"'; shorter than PGPROXY_MIN_ENVELOPE: no.) */
bool rowdec_may_hold(const uint8_t *v, size_t len);

/* Start a row. Returns 0 or ACRA_ENOMEM. */
int rowdec_row_begin(struct rowdec *d, struct rowdec_row *r) ACRA_MUSTCHECK;

/* One non-NULL column value, in encoding enc. In zone mode a value may name the zone of
 * the columns after it. *v is replaced by the value to send on (borrowed from the codec
 * until the next rowdec_col call, or the input itself) and *changed tells which. Returns 0
 * or ACRA_ENOMEM. */
int rowdec_col(struct rowdec *d, struct rowdec_row *r, enum codec_encoding enc, uint32_t col,
	       struct bytes *v, bool *changed) ACRA_MUSTCHECK;

/* End a row: metrics; poison records found are logged, counted and reported to the
 * server. Returns true if the session must end (the poison shutdown action). */
bool rowdec_row_end(struct rowdec *d, struct rowdec_row *r);

/* Count one decrypt outcome (also used by callers that decrypt outside rows). */
void rowdec_count(struct rowdec *d, const struct codec_result *res);

void rowdec_free(struct rowdec *d);

#endif
