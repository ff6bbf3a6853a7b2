/* contrib/fuzz/fuzz_ssession.c: libFuzzer target for proto/ssession (`make fuzz`).
 *
 * The first input byte picks what the rest does:
 *   0: raw bytes to a server session (Acra framing: client id frame first)
 *   1: raw bytes to a client session after its connect request
 *   2: a genuine client stream (client id, connect request, confirmation, two data
 *      messages) with the input XORed over it, to a fresh server: reaches every handshake
 *      check and data-message parsing with nearly valid input
 *   3: raw bytes as data frames to an established server session
 * The second byte sets a chunk size so frames also arrive split at varying offsets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/soter.h"
#include "proto/ssession.h"

#define ID "fuzz-client-01"
#define STREAM_MAX 4096

static struct ec_priv *key_c, *key_s;
static uint8_t pub_c[EC_PUB_LEN], pub_s[EC_PUB_LEN];
static uint8_t eph_c[EC_PRIV_LEN], eph_s[EC_PRIV_LEN];
static uint8_t stream[STREAM_MAX]; /* genuine client stream */
static size_t stream_len, hs_len;   /* total, handshake part */

static int lookup_c(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub, size_t *pub_len)
{
	(void)arg, (void)id, (void)id_len;
	memcpy(pub, pub_s, EC_PUB_LEN);
	*pub_len = EC_PUB_LEN;
	return 0;
}

static int lookup_s(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub, size_t *pub_len)
{
	(void)arg;
	if (id_len != strlen(ID) || memcmp(id, ID, id_len) != 0)
		return ACRA_ENOKEY;
	memcpy(pub, pub_c, EC_PUB_LEN);
	*pub_len = EC_PUB_LEN;
	return 0;
}

static int64_t fixed_clock(void *arg)
{
	(void)arg;
	return 1700000000;
}

static int fixed_rand(void *arg, uint8_t *p, size_t len)
{
	(void)arg;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 37 + 1);
	return 0;
}

static struct ssession *make(enum ssession_role role)
{
	struct ssession_cfg c = { 0 };
	struct ssession *s = NULL;

	c.role = role;
	c.acra_hello = true;
	if (role == SSESSION_CLIENT) {
		c.id = (const uint8_t *)ID, c.id_len = strlen(ID), c.key = key_c;
		c.peer_key = lookup_c;
		c.eph_priv = eph_c, c.eph_priv_len = EC_PRIV_LEN;
	} else {
		c.peer_key = lookup_s;
		c.eph_priv = eph_s, c.eph_priv_len = EC_PRIV_LEN;
	}
	c.clock = fixed_clock, c.rand = fixed_rand;
	c.max_frame = 1 << 16;
	if (ssession_new(&s, &c) != 0)
		abort();
	return s;
}

/* The glue's loop: keep unconsumed bytes, feed whole frames. Returns bytes the session
 * asked to send (appended to out when non-NULL) and stops at the first error. */
struct feeder {
	uint8_t buf[1 << 17];
	size_t len;
	int err;
	uint8_t *out;
	size_t out_len;
};

static volatile uint8_t sink;

static void push(struct ssession *s, struct feeder *f, const uint8_t *p, size_t n)
{
	if (f->err != 0)
		return;
	if (n > sizeof(f->buf) - f->len)
		n = sizeof(f->buf) - f->len;
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	for (;;) {
		struct ssession_event ev;
		size_t used = 0;
		int rc = ssession_feed(s, f->buf, f->len, &used, &ev);

		if (rc < 0) {
			if (used != 0 || rc != ssession_feed(s, f->buf, f->len, &used, &ev))
				abort(); /* failures must be final and consume nothing */
			f->err = rc;
			return;
		}
		if (f->out != NULL && ev.send.len > 0) {
			memcpy(f->out + f->out_len, ev.send.p, ev.send.len);
			f->out_len += ev.send.len;
		}
		if (rc == SSESSION_EV_NEED_MORE) {
			if (used != 0 || ev.need <= f->len)
				abort();
			return;
		}
		if (used == 0 || used > f->len)
			abort();
		if (rc == SSESSION_EV_HELLO &&
		    ssession_set_identity(s, ev.peer_id.p, ev.peer_id.len, key_s) != 0)
			abort();
		if (rc == SSESSION_EV_DATA) /* read the plaintext view so ASan checks it */
			sink ^= ev.data.p[0] ^ ev.data.p[ev.data.len - 1];
		memmove(f->buf, f->buf + used, f->len - used);
		f->len -= used;
	}
}

static void push_chunks(struct ssession *s, struct feeder *f, const uint8_t *p, size_t n,
			size_t chunk)
{
	while (n > 0 && f->err == 0) {
		size_t k = n < chunk ? n : chunk;
		push(s, f, p, k);
		p += k, n -= k;
	}
}

static void init(void)
{
	struct secret *k = NULL;
	static struct feeder fc, fs;
	static uint8_t sout[STREAM_MAX];
	struct ssession *c, *s;
	struct ssession_event ev;
	struct wbuf w;
	size_t msg2_len;

	if (sodium_init() < 0 || ec_keypair_generate(&k, pub_c) != 0 ||
	    ec_priv_load(&key_c, k->p, k->len) != 0)
		abort();
	secret_free(k);
	if (ec_keypair_generate(&k, pub_s) != 0 || ec_priv_load(&key_s, k->p, k->len) != 0)
		abort();
	secret_free(k);
	memset(eph_c + SOTER_HDR_LEN, 0x11, 33);
	memset(eph_s + SOTER_HDR_LEN, 0x22, 33);
	eph_c[SOTER_HDR_LEN] = eph_s[SOTER_HDR_LEN] = 0;
	soter_container_seal(eph_c, "REC2", EC_PRIV_LEN);
	soter_container_seal(eph_s, "REC2", EC_PRIV_LEN);

	/* record a genuine client stream */
	c = make(SSESSION_CLIENT);
	s = make(SSESSION_SERVER);
	if (ssession_start(c, &ev) != SSESSION_EV_HANDSHAKE)
		abort();
	memcpy(stream, ev.send.p, ev.send.len);
	stream_len = ev.send.len;
	fs.out = sout;
	fc.out = stream;
	fc.out_len = stream_len;
	push(s, &fs, stream, stream_len); /* hello, msg1 -> msg2 */
	msg2_len = fs.out_len;
	push(c, &fc, sout, msg2_len);     /* msg2 -> msg3 */
	push(s, &fs, stream + stream_len, fc.out_len - stream_len); /* msg3 -> msg4 */
	push(c, &fc, sout + msg2_len, fs.out_len - msg2_len);     /* msg4 */
	if (!ssession_is_established(s) || !ssession_is_established(c))
		abort();
	stream_len = hs_len = fc.out_len;
	for (int i = 0; i < 2; i++) {
		wbuf_init(&w, stream + stream_len, STREAM_MAX - stream_len);
		if (ssession_wrap(c, (const uint8_t *)"select 1", 8, &w) != 0)
			abort();
		stream_len += w.len;
	}
	ssession_free(c);
	ssession_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static struct feeder f;
	static uint8_t mixed[STREAM_MAX];
	struct ssession *s;
	struct ssession_event ev;
	size_t chunk;

	if (!ready) {
		init();
		ready = true;
	}
	if (size < 2)
		return 0;
	chunk = data[1] ? data[1] : 4096;
	f.len = 0, f.err = 0, f.out = NULL, f.out_len = 0;
	switch (data[0] & 3) {
	case 0:
		s = make(SSESSION_SERVER);
		push_chunks(s, &f, data + 2, size - 2, chunk);
		break;
	case 1:
		s = make(SSESSION_CLIENT);
		if (ssession_start(s, &ev) != SSESSION_EV_HANDSHAKE)
			abort();
		push_chunks(s, &f, data + 2, size - 2, chunk);
		break;
	case 2:
		s = make(SSESSION_SERVER);
		memcpy(mixed, stream, stream_len);
		for (size_t i = 2; i < size && i - 2 < stream_len; i++)
			mixed[i - 2] ^= data[i];
		push_chunks(s, &f, mixed, stream_len, chunk);
		break;
	default:
		s = make(SSESSION_SERVER);
		push(s, &f, stream, hs_len);
		if (!ssession_is_established(s))
			abort();
		push_chunks(s, &f, data + 2, size - 2, chunk);
		break;
	}
	ssession_free(s);
	return 0;
}
