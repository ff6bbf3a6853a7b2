/* t/unit/test_ssession.c: Themis Secure Session state machine with Acra framing
 * (proto/ssession.c; spec/themis.md §4, spec/acra-runtime.md §4.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/soter.h"
#include "lib/crypto/sym.h"
#include "lib/secmem.h"
#include "proto/ssession.h"
#include "t/unit/suites.h"

#define BUF 16384

/* ---- fixtures -------------------------------------------------------------------------- */

struct party {
	const char *id;
	struct secret *priv_c;
	struct ec_priv *key;
	uint8_t pub[EC_PUB_LEN];
};

static void party_init(struct party *p, const char *id)
{
	p->id = id;
	ck_assert_int_eq(ec_keypair_generate(&p->priv_c, p->pub), 0);
	ck_assert_int_eq(ec_priv_load(&p->key, p->priv_c->p, p->priv_c->len), 0);
}

static void party_clear(struct party *p)
{
	ec_priv_free(p->key);
	secret_free(p->priv_c);
}

/* Known peers for the key callback. */
struct directory {
	const char *id[4];
	const uint8_t *pub[4];
	size_t n;
	int calls;
};

static int lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub, size_t *pub_len)
{
	struct directory *d = arg;

	d->calls++;
	for (size_t i = 0; i < d->n; i++) {
		if (strlen(d->id[i]) == id_len && memcmp(d->id[i], id, id_len) == 0) {
			memcpy(pub, d->pub[i], EC_PUB_LEN);
			*pub_len = EC_PUB_LEN;
			return 0;
		}
	}
	return ACRA_ENOKEY;
}

struct hooks {
	int64_t now;
	bool fixed_iv;
};

static int64_t hook_clock(void *arg)
{
	return ((struct hooks *)arg)->now;
}

static int hook_rand(void *arg, uint8_t *p, size_t len)
{
	struct hooks *h = arg;

	for (size_t i = 0; i < len; i++)
		p[i] = h->fixed_iv ? (uint8_t)i : (uint8_t)rand();
	return 0;
}

/* One side of a connection as the libevent glue would run it: bytes arrive into `pend`,
 * the session consumes whole frames, events are recorded. */
struct run {
	struct ssession *s;
	const char *hello_id;          /* identity to set on HELLO */
	const struct ec_priv *hello_key;
	uint8_t pend[BUF];
	size_t pend_len;
	int types[256];
	size_t n_types;
	uint8_t data[BUF];
	size_t data_len;
	uint8_t sent[BUF];
	size_t sent_len, delivered;
	uint8_t peer_id[64];
	size_t peer_id_len;
	int err;
};

static void run_push(struct run *r, const uint8_t *p, size_t n)
{
	ck_assert_uint_le(r->pend_len + n, sizeof(r->pend));
	memcpy(r->pend + r->pend_len, p, n);
	r->pend_len += n;
	while (r->err == 0) {
		struct ssession_event ev;
		size_t used = 99;
		int rc = ssession_feed(r->s, r->pend, r->pend_len, &used, &ev);

		if (rc < 0) {
			ck_assert_uint_eq(used, 0);
			r->err = rc;
			break;
		}
		if (ev.send.len > 0)
			memcpy(r->sent + r->sent_len, ev.send.p, ev.send.len);
		r->sent_len += ev.send.len;
		if (rc == SSESSION_EV_NEED_MORE) {
			ck_assert_uint_eq(used, 0);
			ck_assert_uint_gt(ev.need, r->pend_len);
			break;
		}
		ck_assert_uint_gt(used, 0);
		ck_assert_uint_lt(r->n_types, 256);
		r->types[r->n_types++] = rc;
		if (rc == SSESSION_EV_DATA) {
			memcpy(r->data + r->data_len, ev.data.p, ev.data.len);
			r->data_len += ev.data.len;
		}
		if (rc == SSESSION_EV_HELLO || rc == SSESSION_EV_ESTABLISHED) {
			memcpy(r->peer_id, ev.peer_id.p, ev.peer_id.len);
			r->peer_id_len = ev.peer_id.len;
		}
		if (rc == SSESSION_EV_HELLO)
			ck_assert_int_eq(ssession_set_identity(r->s, (const uint8_t *)r->hello_id,
							       strlen(r->hello_id), r->hello_key),
					 0);
		memmove(r->pend, r->pend + used, r->pend_len - used);
		r->pend_len -= used;
	}
}

/* Deliver everything each side has sent to the other until both are quiet. */
static void exchange(struct run *a, struct run *b)
{
	for (int round = 0; round < 16; round++) {
		bool moved = false;

		if (a->delivered < a->sent_len) {
			size_t n = a->sent_len - a->delivered;
			a->delivered = a->sent_len;
			run_push(b, a->sent + a->sent_len - n, n);
			moved = true;
		}
		if (b->delivered < b->sent_len) {
			size_t n = b->sent_len - b->delivered;
			b->delivered = b->sent_len;
			run_push(a, b->sent + b->sent_len - n, n);
			moved = true;
		}
		if (!moved)
			return;
	}
}

static void client_start(struct run *c)
{
	struct ssession_event ev;

	ck_assert_int_eq(ssession_start(c->s, &ev), SSESSION_EV_HANDSHAKE);
	memcpy(c->sent + c->sent_len, ev.send.p, ev.send.len);
	c->sent_len += ev.send.len;
}

static void wrap_to(struct run *from, const char *msg)
{
	struct wbuf w;
	size_t n = strlen(msg);

	wbuf_init(&w, from->sent + from->sent_len, sizeof(from->sent) - from->sent_len);
	ck_assert_int_eq(ssession_wrap(from->s, (const uint8_t *)msg, n, &w), 0);
	ck_assert_uint_eq(w.len, ssession_wrap_len(n));
	from->sent_len += w.len;
}

static void hex(const char *h, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(h), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* REC2 container for the private scalar 32 x b (spec §4.6b ephemeral keys). */
static void fixed_eph(uint8_t out[EC_PRIV_LEN], uint8_t b)
{
	out[SOTER_HDR_LEN] = 0;
	memset(out + SOTER_HDR_LEN + 1, b, 32);
	soter_container_seal(out, "REC2", EC_PRIV_LEN);
}

/* A client/server pair: `ctx` holds the parties, directories and runs. */
struct pair {
	struct party c, s;
	struct directory dc, ds; /* what the client / the server knows */
	struct hooks hc, hs;
	uint8_t eph_c[EC_PRIV_LEN], eph_s[EC_PRIV_LEN];
	struct run *rc, *rs;
	bool borrowed; /* parties belong to another pair */
};

/* New sessions; with `keys` non-NULL its long-term keys are reused (replayed streams must
 * verify), else fresh key pairs are made. */
static void pair_init_keys(struct pair *p, bool acra, bool fixed, const struct pair *keys)
{
	struct ssession_cfg cc = { 0 }, cs = { 0 };

	memset(p, 0, sizeof(*p));
	if (keys != NULL) {
		p->c = keys->c;
		p->s = keys->s;
		p->borrowed = true;
	} else {
		party_init(&p->c, acra ? "client-acra-1" : "client-id");
		party_init(&p->s, acra ? "client-acra-1" : "server-id-0001");
	}
	p->dc.id[0] = p->s.id, p->dc.pub[0] = p->s.pub, p->dc.n = 1;
	p->ds.id[0] = p->c.id, p->ds.pub[0] = p->c.pub, p->ds.n = 1;
	p->hc.now = p->hs.now = 1700000000;
	p->hc.fixed_iv = p->hs.fixed_iv = fixed;
	p->rc = calloc(1, sizeof(struct run));
	p->rs = calloc(1, sizeof(struct run));
	ck_assert_ptr_nonnull(p->rc);
	ck_assert_ptr_nonnull(p->rs);

	cc.role = SSESSION_CLIENT;
	cc.acra_hello = acra;
	cc.id = (const uint8_t *)p->c.id, cc.id_len = strlen(p->c.id);
	cc.key = p->c.key;
	cc.peer_key = lookup, cc.peer_key_arg = &p->dc;
	cc.clock = hook_clock, cc.rand = hook_rand, cc.hook_arg = &p->hc;
	cs.role = SSESSION_SERVER;
	cs.acra_hello = acra;
	if (!acra) {
		cs.id = (const uint8_t *)p->s.id, cs.id_len = strlen(p->s.id);
		cs.key = p->s.key;
	}
	cs.peer_key = lookup, cs.peer_key_arg = &p->ds;
	cs.clock = hook_clock, cs.rand = hook_rand, cs.hook_arg = &p->hs;
	if (fixed) {
		fixed_eph(p->eph_c, 0x11);
		fixed_eph(p->eph_s, 0x22);
		cc.eph_priv = p->eph_c, cc.eph_priv_len = EC_PRIV_LEN;
		cs.eph_priv = p->eph_s, cs.eph_priv_len = EC_PRIV_LEN;
	}
	ck_assert_int_eq(ssession_new(&p->rc->s, &cc), 0);
	ck_assert_int_eq(ssession_new(&p->rs->s, &cs), 0);
	p->rs->hello_id = p->s.id;
	p->rs->hello_key = p->s.key;
}

static void pair_init(struct pair *p, bool acra, bool fixed)
{
	pair_init_keys(p, acra, fixed, NULL);
}

static void pair_clear(struct pair *p)
{
	ssession_free(p->rc->s);
	ssession_free(p->rs->s);
	free(p->rc);
	free(p->rs);
	if (!p->borrowed) {
		party_clear(&p->c);
		party_clear(&p->s);
	}
}

static void handshake(struct pair *p)
{
	client_start(p->rc);
	exchange(p->rc, p->rs);
	ck_assert_int_eq(p->rc->err, 0);
	ck_assert_int_eq(p->rs->err, 0);
	ck_assert(ssession_is_established(p->rc->s));
	ck_assert(ssession_is_established(p->rs->s));
}

/* ---- tests ----------------------------------------------------------------------------- */

/* spec/themis.md §4.6b: fixed ephemeral keys give known E_C, E_S, mac3, mac4, keys and the
 * exact first client data message. */
START_TEST(test_key_schedule_vector)
{
	struct pair p;
	uint8_t e_c[45], e_s[45], mac3[32], mac4[32], wire[57], k_s[32], pt[64];
	const uint8_t *m;
	size_t off;

	pair_init(&p, false, true);
	hex("554543320000002d0cf9b89f020217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b8"
	    "0282d4ed", e_c, 45);
	hex("554543320000002de9dbab3703d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a"
	    "48589cf3", e_s, 45);
	hex("b4d7c101f846d5adbe173fa40818fe71bd16d8879128230ff4d670f903bb8af7", mac3, 32);
	hex("a3409521835359b8c384f6896bda84f031d89dba50c98572ae896520337f1f17", mac4, 32);
	hex("95a0a633000102030405060708090a0b0c0d0e0f23c761a4692fc15476581cb4335a628d40cf4b73a5"
	    "e0c7c27257fec3519d9806ff4dcb8f3f", wire, 57);
	hex("24c0cb14d307f52a46dfab496d138e3319a8b489857c5da5810515bf4bf5c07f", k_s, 32);

	handshake(&p);
	/* client stream: frame(msg1) frame(msg3); msg1 = TSPM hdr, TSID{"client-id"} (21), E_C */
	m = p.rc->sent;
	ck_assert_uint_eq(rd_le32(m), rd_be32(m + 8)); /* frame length == TSPM size */
	ck_assert_int_eq(memcmp(m + 4, "TSPM", 4), 0);
	ck_assert_int_eq(memcmp(m + 4 + 12, "TSID", 4), 0);
	ck_assert_int_eq(memcmp(m + 4 + 12 + 21, e_c, 45), 0);
	off = 4 + rd_le32(m);
	ck_assert_int_eq(memcmp(p.rc->sent + off + rd_le32(p.rc->sent + off) + 4 - 32, mac3, 32), 0);
	/* server stream: frame(msg2) frame(msg4) */
	m = p.rs->sent;
	ck_assert_int_eq(memcmp(m + 4 + 12 + 26, e_s, 45), 0);
	off = 4 + rd_le32(m);
	ck_assert_uint_eq(rd_le32(p.rs->sent + off), 44);
	ck_assert_int_eq(memcmp(p.rs->sent + off + 4 + 12, mac4, 32), 0);
	ck_assert_uint_eq(p.rs->peer_id_len, 9);
	ck_assert_int_eq(memcmp(p.rs->peer_id, "client-id", 9), 0);
	ck_assert_int_eq(memcmp(p.rc->peer_id, "server-id-0001", 14), 0);

	/* first client data message, IV 00..0f, time 1700000000 */
	off = p.rc->sent_len;
	wrap_to(p.rc, "hello");
	ck_assert_uint_eq(rd_le32(p.rc->sent + off), 57);
	ck_assert_int_eq(memcmp(p.rc->sent + off + 4, wire, 57), 0);
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rs->err, 0);
	ck_assert_uint_eq(p.rs->data_len, 5);
	ck_assert_int_eq(memcmp(p.rs->data, "hello", 5), 0);

	/* first server message: decrypt independently with K_S, seq must be Q_S = 0x419432b9 */
	off = p.rs->sent_len;
	wrap_to(p.rs, "pong!");
	m = p.rs->sent + off + 4;
	ck_assert_int_eq(memcmp(m, "\x95\xa0\xa6\x33", 4), 0);
	ck_assert_int_eq(sym_gcm_open(k_s, m + 4, NULL, 0, m + 20, 21, pt, m + 41), 0);
	ck_assert_uint_eq(rd_be32(pt), 17);
	ck_assert_uint_eq(rd_be32(pt + 4), 0x419432b9u);
	ck_assert_uint_eq(rd_be32(pt + 12), 1700000000u);
	ck_assert_int_eq(memcmp(pt + 16, "pong!", 5), 0);
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rc->err, 0);
	ck_assert_int_eq(memcmp(p.rc->data, "pong!", 5), 0);
	pair_clear(&p);
}
END_TEST

START_TEST(test_handshake_and_data_both_ways)
{
	struct pair p;
	char big[3000];

	pair_init(&p, _i == 1, false);
	handshake(&p);
	ck_assert_uint_eq(p.rs->peer_id_len, strlen(p.c.id));
	ck_assert_int_eq(memcmp(p.rs->peer_id, p.c.id, p.rs->peer_id_len), 0);
	if (_i == 1) { /* Acra: HELLO first, then established */
		ck_assert_int_eq(p.rs->types[0], SSESSION_EV_HELLO);
		ck_assert_int_eq(p.rs->types[2], SSESSION_EV_ESTABLISHED);
	}
	for (int i = 0; i < 5; i++) {
		wrap_to(p.rc, "select 1;");
		wrap_to(p.rs, "row");
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	wrap_to(p.rc, big);
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rc->err, 0);
	ck_assert_int_eq(p.rs->err, 0);
	ck_assert_uint_eq(p.rs->data_len, 45 + sizeof(big) - 1);
	ck_assert_int_eq(memcmp(p.rs->data, "select 1;select 1;", 18), 0);
	ck_assert_int_eq(memcmp(p.rs->data + 45, big, sizeof(big) - 1), 0);
	ck_assert_uint_eq(p.rc->data_len, 15);
	ck_assert_int_eq(memcmp(p.rc->data, "rowrowrowrowrow", 15), 0);
	pair_clear(&p);
}
END_TEST

/* Record what one side sends (fixed ephemeral keys make the peer's replies reproducible),
 * then replay it into fresh sessions split at every offset and byte by byte. */
struct outcome {
	int types[32];
	size_t n_types;
	uint8_t data[BUF];
	size_t data_len;
	uint8_t sent[BUF];
	size_t sent_len;
	int err;
};

static void record(struct outcome *o, const struct run *r)
{
	memcpy(o->types, r->types, r->n_types * sizeof(int));
	o->n_types = r->n_types;
	memcpy(o->data, r->data, r->data_len);
	o->data_len = r->data_len;
	o->err = r->err;
}

static void same(const struct outcome *o, const struct run *r)
{
	ck_assert_int_eq(r->err, o->err);
	ck_assert_uint_eq(r->n_types, o->n_types);
	ck_assert_int_eq(memcmp(r->types, o->types, o->n_types * sizeof(int)), 0);
	ck_assert_uint_eq(r->data_len, o->data_len);
	ck_assert_int_eq(memcmp(r->data, o->data, o->data_len), 0);
}

START_TEST(test_split_offsets)
{
	static struct outcome to_server, to_client;
	static uint8_t cstream[BUF], sstream[BUF];
	size_t clen, slen;
	struct pair p, k;
	bool acra = _i == 1;

	pair_init(&k, acra, true);
	handshake(&k);
	wrap_to(k.rc, "first query");
	wrap_to(k.rc, "second");
	wrap_to(k.rs, "answer");
	exchange(k.rc, k.rs);
	clen = k.rc->sent_len, slen = k.rs->sent_len;
	memcpy(cstream, k.rc->sent, clen);
	memcpy(sstream, k.rs->sent, slen);
	record(&to_server, k.rs);
	record(&to_client, k.rc);
	ck_assert_uint_eq(to_server.data_len, 17);
	ck_assert_int_eq(to_server.types[to_server.n_types - 1], SSESSION_EV_DATA);

	for (size_t split = 0; split <= clen; split++) {
		/* server side: whole stream split in two at `split`, plus byte-at-a-time once */
		pair_init_keys(&p, acra, true, &k);
		if (split == clen) {
			for (size_t i = 0; i < clen; i++)
				run_push(p.rs, cstream + i, 1);
		} else {
			run_push(p.rs, cstream, split);
			run_push(p.rs, cstream + split, clen - split);
		}
		same(&to_server, p.rs);
		pair_clear(&p);
	}
	for (size_t split = 0; split <= slen; split++) {
		pair_init_keys(&p, acra, true, &k);
		client_start(p.rc);
		if (split == slen) {
			for (size_t i = 0; i < slen; i++)
				run_push(p.rc, sstream + i, 1);
		} else {
			run_push(p.rc, sstream, split);
			run_push(p.rc, sstream + split, slen - split);
		}
		same(&to_client, p.rc);
		pair_clear(&p);
	}
	pair_clear(&k);
}
END_TEST

START_TEST(test_unknown_peer_and_wrong_key)
{
	struct pair p;
	struct party other;

	/* unknown client id */
	pair_init(&p, false, false);
	p.ds.id[0] = "somebody-else";
	client_start(p.rc);
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rs->err, ACRA_ENOKEY);
	ck_assert(!ssession_is_established(p.rs->s));
	ck_assert(!ssession_is_established(p.rc->s));
	pair_clear(&p);

	/* the server knows another key for the client id */
	party_init(&other, "x");
	pair_init(&p, true, false);
	p.ds.pub[0] = other.pub;
	client_start(p.rc);
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rs->err, ACRA_ECRYPTO);
	ck_assert_str_eq(ssession_reason(p.rs->s), "connect request signature is invalid");
	pair_clear(&p);

	/* the client expects another server key */
	pair_init(&p, true, false);
	p.dc.pub[0] = other.pub;
	client_start(p.rc);
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rc->err, ACRA_ECRYPTO);
	ck_assert(!ssession_is_established(p.rs->s));
	/* failed sessions stay failed and refuse to wrap */
	{
		struct ssession_event ev;
		size_t used;
		uint8_t b[128];
		struct wbuf w;

		ck_assert_int_eq(ssession_feed(p.rc->s, p.rs->sent, p.rs->sent_len, &used, &ev),
				 ACRA_ECRYPTO);
		wbuf_init(&w, b, sizeof(b));
		ck_assert_int_eq(ssession_wrap(p.rc->s, (const uint8_t *)"x", 1, &w), ACRA_EINVAL);
	}
	pair_clear(&p);
	party_clear(&other);
}
END_TEST

START_TEST(test_hello_id_must_match_handshake_id)
{
	struct pair p;
	struct ssession_event ev;
	uint8_t fake[64];

	pair_init(&p, true, false);
	ck_assert_int_eq(ssession_start(p.rc->s, &ev), SSESSION_EV_HANDSHAKE);
	/* replace the announced client id by another one of the same length */
	memcpy(fake, ev.send.p, 4 + 13);
	memcpy(fake + 4, "client-acra-2", 13);
	run_push(p.rs, fake, 17);
	ck_assert_int_eq(p.rs->types[0], SSESSION_EV_HELLO);
	run_push(p.rs, ev.send.p + 17, ev.send.len - 17);
	ck_assert_int_eq(p.rs->err, ACRA_EPERM);
	pair_clear(&p);
}
END_TEST

/* Every single-byte change of every handshake frame is refused. */
START_TEST(test_tampered_handshake)
{
	static uint8_t cstream[BUF], sstream[BUF];
	size_t clen, slen, hello;
	struct pair p, k;

	pair_init(&k, true, true);
	handshake(&k);
	clen = k.rc->sent_len, slen = k.rs->sent_len;
	memcpy(cstream, k.rc->sent, clen);
	memcpy(sstream, k.rs->sent, slen);
	hello = 4 + rd_le32(cstream);
	/* unchanged streams are accepted by fresh sessions with the same keys */
	pair_init_keys(&p, true, true, &k);
	run_push(p.rs, cstream, clen);
	ck_assert(ssession_is_established(p.rs->s));
	pair_clear(&p);

	for (size_t i = hello; i < clen; i++) {
		pair_init_keys(&p, true, true, &k);
		cstream[i] ^= 0x01;
		run_push(p.rs, cstream, clen);
		cstream[i] ^= 0x01;
		/* a changed frame length may leave the session waiting for bytes instead */
		ck_assert_msg(p.rs->err < 0 || !ssession_is_established(p.rs->s),
			      "flip at %zu accepted", i);
		pair_clear(&p);
	}
	for (size_t i = 0; i < slen; i++) {
		pair_init_keys(&p, true, true, &k);
		client_start(p.rc);
		sstream[i] ^= 0x80;
		run_push(p.rc, sstream, slen);
		sstream[i] ^= 0x80;
		ck_assert_msg(p.rc->err < 0 || !ssession_is_established(p.rc->s),
			      "flip at %zu accepted", i);
		pair_clear(&p);
	}
	pair_clear(&k);
}
END_TEST

START_TEST(test_data_tamper_truncate_replay)
{
	struct pair p;
	uint8_t frame[128], bad[128];
	size_t n;

	pair_init(&p, true, false);
	handshake(&p);
	n = p.rc->sent_len;
	wrap_to(p.rc, "payload");
	n = p.rc->sent_len - n;
	memcpy(frame, p.rc->sent + p.rc->sent_len - n, n);
	ck_assert_uint_eq(n, 4 + 52 + 7);
	pair_clear(&p);

	/* every bit flip after the frame length is refused, except in IV bytes 12..15: Themis
	 * transmits 16 IV bytes but the GCM nonce is the first 12 (spec §4.5), so those four
	 * bytes are not authenticated and a change there goes unnoticed, as with Themis */
	for (size_t i = 4; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			if (i >= 4 + 4 + 12 && i < 4 + 4 + 16) {
				pair_init(&p, true, false);
				handshake(&p);
				wrap_to(p.rc, "payload");
				memcpy(bad, p.rc->sent + p.rc->sent_len - n, n);
				bad[i] ^= 0xff;
				run_push(p.rs, bad, n);
				ck_assert_int_eq(p.rs->err, 0);
				ck_assert_int_eq(memcmp(p.rs->data, "payload", 7), 0);
				pair_clear(&p);
				break;
			}
			pair_init(&p, true, false);
			handshake(&p);
			wrap_to(p.rc, "payload");
			memcpy(bad, p.rc->sent + p.rc->sent_len - n, n);
			bad[i] ^= (uint8_t)(1u << bit);
			run_push(p.rs, bad, n);
			ck_assert_msg(p.rs->err == ACRA_ECRYPTO || p.rs->err == ACRA_EPROTO,
				      "flip %zu/%d gave %d", i, bit, p.rs->err);
			ck_assert_uint_eq(p.rs->data_len, 0);
			pair_clear(&p);
			if (i > 24)
				break; /* one bit per byte is enough inside the ciphertext */
		}
	}

	/* truncated: a shorter frame (length fixed up) and a frame cut off mid-way */
	pair_init(&p, true, false);
	handshake(&p);
	wrap_to(p.rc, "payload");
	memcpy(bad, p.rc->sent + p.rc->sent_len - n, n);
	wr_le32(bad, (uint32_t)(n - 5));
	run_push(p.rs, bad, n - 1);
	ck_assert_int_eq(p.rs->err, ACRA_ECRYPTO);
	pair_clear(&p);

	pair_init(&p, true, false);
	handshake(&p);
	wrap_to(p.rc, "payload");
	run_push(p.rs, p.rc->sent + p.rc->sent_len - n, n - 1);
	ck_assert_int_eq(p.rs->err, 0);
	ck_assert_uint_eq(p.rs->data_len, 0); /* still waiting for the last byte */
	pair_clear(&p);

	/* a frame shorter than the data overhead */
	pair_init(&p, true, false);
	handshake(&p);
	memcpy(bad, "\x10\x00\x00\x00", 4);
	memset(bad + 4, 0, 16);
	run_push(p.rs, bad, 20);
	ck_assert_int_eq(p.rs->err, ACRA_EPROTO);
	pair_clear(&p);

	/* replay of the same frame, and reordering */
	pair_init(&p, true, false);
	handshake(&p);
	wrap_to(p.rc, "one");
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rs->err, 0);
	run_push(p.rs, p.rc->sent + p.rc->sent_len - (4 + 52 + 3), 4 + 52 + 3);
	ck_assert_int_eq(p.rs->err, ACRA_ERANGE);
	ck_assert_str_eq(ssession_reason(p.rs->s), "data message sequence number out of window");
	pair_clear(&p);

	pair_init(&p, true, false);
	handshake(&p);
	wrap_to(p.rc, "one");
	wrap_to(p.rc, "two");
	{
		size_t end = p.rc->sent_len, f = 4 + 52 + 3;
		run_push(p.rs, p.rc->sent + end - f, f);     /* "two" first: seq + 1 is fine */
		ck_assert_int_eq(p.rs->err, 0);
		run_push(p.rs, p.rc->sent + end - 2 * f, f); /* then "one": went backwards */
		ck_assert_int_eq(p.rs->err, ACRA_ERANGE);
	}
	pair_clear(&p);
}
END_TEST

START_TEST(test_time_window_and_limits)
{
	struct pair p;
	uint8_t b[16];

	/* peer clock two days ahead */
	pair_init(&p, false, false);
	handshake(&p);
	p.hc.now += 2 * 86400;
	wrap_to(p.rc, "late");
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rs->err, ACRA_ERANGE);
	ck_assert_str_eq(ssession_reason(p.rs->s), "data message timestamp out of window");
	pair_clear(&p);

	/* one day is still accepted */
	pair_init(&p, false, false);
	handshake(&p);
	p.hc.now -= 86400;
	wrap_to(p.rc, "ok");
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rs->err, 0);
	pair_clear(&p);

	/* frame above the limit: refused from its length alone */
	pair_init(&p, false, false);
	handshake(&p);
	wr_le32(b, SSESSION_MAX_FRAME_DEFAULT + 1);
	run_push(p.rs, b, 4);
	ck_assert_int_eq(p.rs->err, ACRA_ERANGE);
	pair_clear(&p);

	/* wrap: before the handshake, empty, too long */
	pair_init(&p, false, false);
	{
		struct wbuf w;
		uint8_t out[128];

		wbuf_init(&w, out, sizeof(out));
		ck_assert_int_eq(ssession_wrap(p.rc->s, (const uint8_t *)"x", 1, &w), ACRA_EINVAL);
		handshake(&p);
		ck_assert_int_eq(ssession_wrap(p.rc->s, (const uint8_t *)"x", 0, &w), ACRA_EINVAL);
		ck_assert_int_eq(ssession_wrap(p.rc->s, out, ssession_max_plain(p.rc->s) + 1, &w),
				 ACRA_EINVAL);
		ck_assert_int_eq(ssession_wrap(p.rc->s, out, 100, &w), ACRA_ERANGE); /* no room */
		ck_assert_uint_eq(ssession_max_plain(p.rc->s), SSESSION_MAX_FRAME_DEFAULT - 52);
	}
	pair_clear(&p);
}
END_TEST

START_TEST(test_garbage_before_handshake)
{
	struct pair p;
	static const char *junk[] = {
		"GET / HTTP/1.1\r\n\r\n",               /* length field far too large */
		"\x08\x00\x00\x00TSPM\x00\x00\x00\x08", /* container shorter than its header */
		"\x0c\x00\x00\x00TSPM\x00\x00\x00\x0c\x00\x00\x00\x00", /* bad CRC */
		"\x00\x00\x00\x00",                      /* empty frame */
	};
	static const size_t jlen[] = { 18, 12, 16, 4 };

	for (size_t i = 0; i < 4; i++) {
		pair_init(&p, false, false);
		run_push(p.rs, (const uint8_t *)junk[i], jlen[i]);
		ck_assert_msg(p.rs->err < 0, "junk %zu accepted", i);
		ck_assert_uint_eq(p.rs->sent_len, 0);
		pair_clear(&p);
	}
	/* random frames of every small size, to both roles */
	for (size_t len = 1; len < 300; len += 7) {
		uint8_t b[310];

		wr_le32(b, (uint32_t)len);
		for (size_t k = 0; k < len; k++)
			b[4 + k] = (uint8_t)rand();
		pair_init(&p, false, false);
		client_start(p.rc);
		run_push(p.rs, b, 4 + len);
		run_push(p.rc, b, 4 + len);
		ck_assert(p.rs->err < 0 && p.rc->err < 0);
		pair_clear(&p);
	}
	/* a client id frame longer than SSESSION_ID_MAX is refused from its length */
	pair_init(&p, true, false);
	{
		uint8_t b[4];

		wr_le32(b, SSESSION_ID_MAX + 1);
		run_push(p.rs, b, 4);
		ck_assert_int_eq(p.rs->err, ACRA_ERANGE);
	}
	pair_clear(&p);
	/* handshake frames above SSESSION_HS_MAX likewise */
	pair_init(&p, false, false);
	{
		uint8_t b[4];

		wr_le32(b, SSESSION_HS_MAX + 1);
		run_push(p.rs, b, 4);
		ck_assert_int_eq(p.rs->err, ACRA_ERANGE);
	}
	pair_clear(&p);
	/* an empty client id frame */
	pair_init(&p, true, false);
	run_push(p.rs, (const uint8_t *)"\x00\x00\x00\x00", 4);
	ck_assert_int_eq(p.rs->err, ACRA_EPROTO);
	ck_assert_str_eq(ssession_reason(p.rs->s), "empty client id");
	pair_clear(&p);
}
END_TEST

/* ev.data stays valid across ssession_wrap(), so a glue can pass it straight on */
START_TEST(test_wrap_received_plaintext)
{
	struct pair p;
	struct ssession_event ev;
	struct wbuf w;
	size_t used;
	size_t start;

	pair_init(&p, true, false);
	handshake(&p);
	start = p.rc->sent_len;
	wrap_to(p.rc, "echo-me");
	ck_assert_int_eq(ssession_feed(p.rs->s, p.rc->sent + start, p.rc->sent_len - start, &used,
				       &ev),
			 SSESSION_EV_DATA);
	wbuf_init(&w, p.rs->sent + p.rs->sent_len, sizeof(p.rs->sent) - p.rs->sent_len);
	ck_assert_int_eq(ssession_wrap(p.rs->s, ev.data.p, ev.data.len, &w), 0);
	p.rs->sent_len += w.len;
	p.rc->delivered = p.rc->sent_len; /* the client frame was fed above */
	exchange(p.rc, p.rs);
	ck_assert_int_eq(p.rc->err, 0);
	ck_assert_int_eq(p.rs->err, 0);
	ck_assert_uint_eq(p.rc->data_len, 7);
	ck_assert_int_eq(memcmp(p.rc->data, "echo-me", 7), 0);
	pair_clear(&p);
}
END_TEST

START_TEST(test_bad_config)
{
	struct ssession *s = NULL;
	struct ssession_cfg c = { 0 };
	struct party a;

	party_init(&a, "a");
	c.role = SSESSION_CLIENT;
	c.peer_key = lookup;
	c.key = a.key;
	ck_assert_int_eq(ssession_new(&s, &c), ACRA_EINVAL); /* no id */
	c.id = (const uint8_t *)"a", c.id_len = 1;
	c.acra_hello = true;
	ck_assert_int_eq(ssession_new(&s, &c), 0);
	ssession_free(s);
	c.key = NULL; /* a client needs its key up front */
	ck_assert_int_eq(ssession_new(&s, &c), ACRA_EINVAL);
	c.role = SSESSION_SERVER, c.id = NULL, c.id_len = 0;
	ck_assert_int_eq(ssession_new(&s, &c), 0); /* Acra server: identity later */
	{
		struct ssession_event ev;
		size_t used;

		ck_assert_int_eq(ssession_start(s, &ev), ACRA_EINVAL);
		ck_assert_int_eq(ssession_feed(s, (const uint8_t *)"\x01\x00\x00\x00x", 5, &used,
					       &ev),
				 SSESSION_EV_HELLO);
		ck_assert_uint_eq(used, 5);
		/* feeding before the identity is set is a caller error, not a session failure */
		ck_assert_int_eq(ssession_feed(s, (const uint8_t *)"", 0, &used, &ev), ACRA_EINVAL);
		ck_assert_int_eq(ssession_set_identity(s, (const uint8_t *)"x", 1, a.key), 0);
		ck_assert_int_eq(ssession_feed(s, (const uint8_t *)"", 0, &used, &ev),
				 SSESSION_EV_NEED_MORE);
	}
	ssession_free(s);
	ssession_free(NULL);
	party_clear(&a);
}
END_TEST

Suite *ssession_suite(void)
{
	Suite *s = suite_create("ssession");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_key_schedule_vector);
	tcase_add_loop_test(tc, test_handshake_and_data_both_ways, 0, 2);
	tcase_add_loop_test(tc, test_split_offsets, 0, 2);
	tcase_add_test(tc, test_unknown_peer_and_wrong_key);
	tcase_add_test(tc, test_hello_id_must_match_handshake_id);
	tcase_add_test(tc, test_tampered_handshake);
	tcase_add_test(tc, test_data_tamper_truncate_replay);
	tcase_add_test(tc, test_time_window_and_limits);
	tcase_add_test(tc, test_garbage_before_handshake);
	tcase_add_test(tc, test_wrap_received_plaintext);
	tcase_add_test(tc, test_bad_config);
	suite_add_tcase(s, tc);
	return s;
}
