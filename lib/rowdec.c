/* lib/rowdec.c: row decryption shared by the SQL proxies (see lib/rowdec.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/rowdec.h"

bool rowdec_buf_reserve(struct rowdec_buf *b, size_t more)
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

void rowdec_buf_put(struct rowdec_buf *b, const void *src, size_t n)
{
	if (!rowdec_buf_reserve(b, n))
		return;
	if (n > 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

void rowdec_buf_put_be32(struct rowdec_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	rowdec_buf_put(b, x, 4);
}

void rowdec_buf_restart(struct rowdec_buf *b)
{
	if (b->p != NULL && b->len > 0)
		sodium_memzero(b->p, b->len);
	b->len = 0;
	b->failed = false;
}

void rowdec_buf_free(struct rowdec_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool rowdec_may_hold(const uint8_t *v, size_t len)
{
	if (len < PGPROXY_MIN_ENVELOPE)
		return false;
	/* PostgreSQL bytea hex output ("\x", or "\\x" inside COPY): the tags in hex first */
	if (v[0] == '\\' &&
	    (memmem(v, len, "22222222", 8) != NULL || memmem(v, len, "252525", 6) != NULL))
		return true;
	return memmem(v, len, "\"\"\"\"", 4) != NULL || memmem(v, len, "%%%", 3) != NULL;
}

void rowdec_count(struct rowdec *d, const struct codec_result *r)
{
	const struct pgproxy_metrics *m = d->cfg->metrics;
	unsigned s_ok = r->n_decrypted - r->n_block_decrypted;
	unsigned s_fail = r->n_failed - r->n_block_failed;

	if (r->n_found > 0 && r->n_decrypted < r->n_found)
		clog_debug(session_log_ctx(d->s), "%u of %u envelopes in a value did not decrypt "
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

int rowdec_row_begin(struct rowdec *d, struct rowdec_row *r)
{
	const char *cid = session_client_id(d->s);

	if (d->codec == NULL)
		d->codec = codec_new();
	if (d->codec == NULL)
		return ACRA_ENOMEM;
	memset(r, 0, sizeof(*r));
	r->p.scan = d->cfg->scan;
	r->p.detect_poison = d->cfg->detect_poison;
	r->p.keys = &d->cfg->keys;
	if (cid != NULL)
		r->p.owner.client_id = (struct bytes){ (const uint8_t *)cid, strlen(cid) };
	zone_matcher_reset(&r->zm);
	r->t0 = now_s();
	return ACRA_OK;
}

int rowdec_col(struct rowdec *d, struct rowdec_row *r, enum codec_encoding enc, uint32_t col,
	       struct bytes *v, bool *changed)
{
	const struct pgproxy_config *cfg = d->cfg;
	struct codec_result res;

	*changed = false;
	r->p.enc = enc;
	if (cfg->zonemode && !r->zm.matched) {
		if (v->len < ZONE_ID_LEN)
			return ACRA_OK;
		if (codec_match_zone(d->codec, &r->p, v->p, v->len, &r->zm, &res))
			clog_debug(session_log_ctx(d->s), "zone %.*s matched in column %u",
				   ZONE_ID_LEN, (const char *)r->zm.id, col);
		if (res.status == CODEC_POISON)
			r->poison += res.n_poison;
		return ACRA_OK;
	}
	if (v->len < PGPROXY_MIN_ENVELOPE)
		return ACRA_OK;
	if (cfg->zonemode)
		r->p.owner.zone_id = (struct bytes){ r->zm.id, ZONE_ID_LEN };
	if (codec_decrypt(d->codec, &r->p, v->p, v->len, &res) != ACRA_OK)
		return ACRA_ENOMEM;
	rowdec_count(d, &res);
	r->poison += res.n_poison;
	if (res.out.p != v->p || res.out.len != v->len) {
		*v = res.out;
		*changed = true;
	}
	if (cfg->zonemode && cfg->scan == CODEC_SCAN_INLINE && res.status == CODEC_DONE)
		zone_matcher_reset(&r->zm);
	return ACRA_OK;
}

bool rowdec_row_end(struct rowdec *d, struct rowdec_row *r)
{
	const struct pgproxy_config *cfg = d->cfg;

	if (cfg->metrics != NULL)
		metric_observe(cfg->metrics->response_time, now_s() - r->t0);
	if (r->poison == 0)
		return false;
	log_emit(LOG_WARN, LOG_CODE_POISON, session_log_ctx(d->s), "Recognized poison record");
	if (cfg->metrics != NULL)
		metric_add(cfg->metrics->poison, r->poison);
	if (cfg->on_poison != NULL)
		cfg->on_poison(cfg->poison_arg, cfg->poison_script, cfg->poison_shutdown);
	return cfg->poison_shutdown;
}

void rowdec_free(struct rowdec *d)
{
	codec_free(d->codec);
	d->codec = NULL;
}
