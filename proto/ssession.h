/* proto/ssession.h: Themis 0.15 Secure Session (spec/themis.md §4), client and server roles,
 * with Acra 0.82's transport framing (spec/acra-runtime.md §4.3): every message on the TCP
 * stream is LE32(length) || payload, and the connector announces its client id in one frame
 * before the handshake.
 *
 * A pure state machine: no sockets, no clocks except through the optional clock hook, no
 * logging. The caller owns the input buffer and keeps unconsumed bytes; ssession_feed()
 * consumes at most one frame per call and reports what to do with it. Splitting the input at
 * any offset gives the same events. Secrets (ephemeral key, master and session keys) are
 * held in secure memory and wiped when the session is freed or fails.
 *
 * Typical glue loop:
 *
 *	client: ssession_start() -> write ev.send
 *	loop:   rc = ssession_feed(s, buf, len, &used, &ev);
 *	        rc < 0: close the connection, log ssession_reason(s)
 *	        write ev.send if non-empty; act on rc (see enum ssession_ev); drain used;
 *	        repeat while rc > 0
 *	after SSESSION_EV_ESTABLISHED: ssession_wrap() each chunk of application bytes
 *	(at most ssession_max_plain() bytes per call).
 */
#ifndef ACRA_PROTO_SSESSION_H
#define ACRA_PROTO_SSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/crypto/ec.h"
#include "lib/err.h"

#define SSESSION_FRAME_HDR 4          /* LE32 length before every message */
#define SSESSION_DATA_OVERHEAD 52     /* sid 4, IV 16, length 4, seq 4, time 8, tag 16 */
#define SSESSION_ID_MAX 1024          /* longest own/peer id accepted */
#define SSESSION_PUB_MAX 77           /* largest UEC2 container (uncompressed P-256) */
#define SSESSION_HS_MAX 4096          /* largest handshake frame accepted */
#define SSESSION_MAX_FRAME_DEFAULT (1u << 20) /* largest data frame by default: 1 MiB */
#define SSESSION_MAX_FRAME_LIMIT (64u << 20)  /* upper bound for cfg.max_frame */
#define SSESSION_SEQ_WINDOW 8         /* Themis SEQ_MAX_DIFF */
#define SSESSION_TIME_WINDOW 86400    /* Themis TS_MAX_DIFF, seconds */

enum ssession_role {
	SSESSION_CLIENT, /* initiator: AcraConnector */
	SSESSION_SERVER, /* responder: AcraServer, AcraTranslator */
};

/* What ssession_feed() (return value >= 0) and ssession_start() report. */
enum ssession_ev {
	SSESSION_EV_NEED_MORE = 0,   /* no complete frame yet: ev.need is the total bytes wanted */
	SSESSION_EV_HELLO = 1,       /* server, Acra framing: ev.peer_id is the announced client
				      * id; call ssession_set_identity() before feeding more */
	SSESSION_EV_HANDSHAKE = 2,   /* handshake progressed: write ev.send */
	SSESSION_EV_ESTABLISHED = 3, /* keys agreed: ev.peer_id is the authenticated peer id;
				      * write ev.send (server: the last handshake message) */
	SSESSION_EV_DATA = 4,        /* ev.data is decrypted application bytes */
};

struct ssession_event {
	enum ssession_ev type;
	struct bytes send;    /* framed bytes to write to the peer (may be empty) */
	struct bytes data;    /* plaintext (SSESSION_EV_DATA) */
	struct bytes peer_id; /* SSESSION_EV_HELLO, SSESSION_EV_ESTABLISHED */
	size_t need;          /* SSESSION_EV_NEED_MORE: bytes needed from the start of buf */
};
/* All views in an event point into session-owned memory, valid until the next
 * ssession_feed() or ssession_free() on the same session (so ev.data may be passed straight
 * to ssession_wrap()). Plaintext is wiped at that next feed. */

/* Peer public key lookup: copy the UEC2 container for peer id[0..id_len) into
 * pub[SSESSION_PUB_MAX] and set *pub_len. Return 0, ACRA_ENOKEY for an unknown id, or
 * another ACRA_E* code. Called once per handshake with the id the peer presented. */
typedef int (*ssession_peer_key_fn)(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub,
				    size_t *pub_len);
/* Current UNIX time in seconds (tests pin it). */
typedef int64_t (*ssession_clock_fn)(void *arg);
/* Fill p[0..len) with unpredictable bytes (tests pin data-message IVs). Returns 0 or error. */
typedef int (*ssession_rand_fn)(void *arg, uint8_t *p, size_t len);

struct ssession_cfg {
	enum ssession_role role;
	bool acra_hello;             /* Acra 0.82: client id frame precedes the handshake */
	const uint8_t *id;           /* own Secure Session id (copied); a server with
				      * acra_hello may leave it NULL and set it on HELLO */
	size_t id_len;
	const struct ec_priv *key;   /* own long-term key, borrowed: must outlive the session */
	ssession_peer_key_fn peer_key;
	void *peer_key_arg;
	uint32_t max_frame;          /* largest frame payload accepted or sent; 0 = default */
	/* Optional hooks for tests; NULL means the system clock / the CSPRNG. */
	ssession_clock_fn clock;
	ssession_rand_fn rand;
	void *hook_arg;
	const uint8_t *eph_priv;     /* fixed ephemeral REC2 container (tests only) */
	size_t eph_priv_len;
};

struct ssession; /* opaque */

/* New session. *out is owned by the caller (ssession_free). Returns 0, ACRA_EINVAL for a bad
 * configuration, ACRA_ENOMEM, or a crypto error from ephemeral key generation. */
int ssession_new(struct ssession **out, const struct ssession_cfg *cfg) ACRA_MUSTCHECK;
/* Wipes every secret and frees; NULL is a no-op. */
void ssession_free(struct ssession *s);

/* Client only, once: fills ev with the first bytes to send (the client id frame when
 * acra_hello, then the connect request) and type SSESSION_EV_HANDSHAKE. */
int ssession_start(struct ssession *s, struct ssession_event *ev) ACRA_MUSTCHECK;

/* Server with acra_hello, after SSESSION_EV_HELLO: own id (copied) and own long-term key
 * (borrowed) to answer with. Acra 0.82 uses the client id itself as the server's id. */
int ssession_set_identity(struct ssession *s, const uint8_t *id, size_t id_len,
			  const struct ec_priv *key) ACRA_MUSTCHECK;

/* Consume at most one frame from buf[0..len). *used is always set (0 unless a frame was
 * consumed). Returns an enum ssession_ev value (>= 0) with *ev filled, or a negative ACRA_E*
 * code: ACRA_EPROTO (malformed frame or handshake message), ACRA_ECRYPTO (bad signature,
 * MAC or data tag), ACRA_ENOKEY / ACRA_EPERM (peer id refused), ACRA_ERANGE (frame too
 * large, sequence number or timestamp out of window). After any negative return except
 * ACRA_EINVAL (misuse, e.g. feeding before ssession_set_identity) the session is failed:
 * secrets are wiped and every later call returns the same code. */
int ssession_feed(struct ssession *s, const uint8_t *buf, size_t len, size_t *used,
		  struct ssession_event *ev) ACRA_MUSTCHECK;

/* Bytes ssession_wrap() appends for pt_len bytes of plaintext. */
static inline size_t ssession_wrap_len(size_t pt_len)
{
	return SSESSION_FRAME_HDR + SSESSION_DATA_OVERHEAD + pt_len;
}
/* Largest plaintext one ssession_wrap() call accepts. */
size_t ssession_max_plain(const struct ssession *s);

/* Append one framed data message carrying pt[0..pt_len) to out. 1 <= pt_len <=
 * ssession_max_plain(). Returns 0, ACRA_EINVAL (not established, bad length, failed session)
 * or ACRA_ERANGE if out has no room (out->failed is then set and nothing usable written). */
int ssession_wrap(struct ssession *s, const uint8_t *pt, size_t pt_len,
		  struct wbuf *out) ACRA_MUSTCHECK;

bool ssession_is_established(const struct ssession *s);
/* Short text on why the session failed (or "ok"); never contains secrets. */
const char *ssession_reason(const struct ssession *s);

#endif
