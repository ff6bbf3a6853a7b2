/* proto/ssession.c: Themis Secure Session state machine with Acra's framing.
 * Message formats: spec/themis.md §4.2 (handshake), §4.3 (keys), §4.5 (data);
 * framing: spec/acra-runtime.md §4.3. */
#include "proto/ssession.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/crypto/soter.h"
#include "lib/crypto/sym.h"
#include "lib/secmem.h"

#define TAG_TSPM "TSPM"
#define TAG_TSID "TSID"
#define HDR SOTER_HDR_LEN
#define MAC_LEN 32
#define KEY_LEN 32
#define IV_FIELD 16 /* transmitted IV; only the first 12 bytes are the GCM nonce (§4.5) */
#define TAG_LEN 16
#define DATA_HDR 16 /* encrypted BE32 length, BE32 seq, BE64 time */
/* Largest transcript signed in messages 2 and 3: two ephemeral keys and two ids. */
#define TRANSCRIPT_MAX (2 * SSESSION_PUB_MAX + 2 * SSESSION_ID_MAX)
/* Output buffer for handshake frames: client id frame + connect request, with margin. */
#define HS_OUT_MAX (2 * SSESSION_FRAME_HDR + SSESSION_ID_MAX + SSESSION_HS_MAX)

enum st {
	ST_CLIENT_INIT,     /* client before ssession_start */
	ST_CLIENT_WAIT2,    /* client sent msg1, expects msg2 */
	ST_CLIENT_WAIT4,    /* client sent msg3, expects msg4 */
	ST_SERVER_HELLO,    /* server expects the client id frame (Acra framing) */
	ST_SERVER_IDENTITY, /* server reported HELLO, waits for ssession_set_identity */
	ST_SERVER_WAIT1,    /* server expects msg1 */
	ST_SERVER_WAIT3,    /* server sent msg2, expects msg3 */
	ST_ESTABLISHED,
	ST_FAILED,
};

/* Secrets, in one sodium_malloc'd block so a single free wipes them all. */
struct ss_keys {
	uint8_t mk[KEY_LEN];
	uint8_t k_out[KEY_LEN];
	uint8_t k_in[KEY_LEN];
};

struct ssession {
	enum ssession_role role;
	enum st st;
	bool acra_hello;
	uint32_t max_frame;
	int fail_rc;
	const char *reason;

	uint8_t own_id[SSESSION_ID_MAX];
	size_t own_id_len;
	uint8_t peer_id[SSESSION_ID_MAX];
	size_t peer_id_len;
	uint8_t hello_id[SSESSION_ID_MAX]; /* client id announced in the Acra hello frame */
	size_t hello_id_len;
	const struct ec_priv *key; /* borrowed */
	struct ec_pub *peer_key;   /* from the callback */
	ssession_peer_key_fn peer_key_fn;
	void *peer_key_arg;
	ssession_clock_fn clock;
	ssession_rand_fn rand;
	void *hook_arg;

	struct ec_priv *eph;          /* own ephemeral key, freed once keys are derived */
	uint8_t eph_pub[EC_PUB_LEN];  /* E_own as sent */
	uint8_t peer_eph[SSESSION_PUB_MAX]; /* E_peer as received */
	size_t peer_eph_len;

	uint8_t sid[4];  /* raw KDF bytes (§4.3) */
	struct secret *keys; /* struct ss_keys */
	uint32_t out_seq, in_seq;
	bool in_seen;    /* a data message has been received */

	uint8_t hs[HS_OUT_MAX]; /* handshake output frames */
	uint8_t *plain;         /* decrypted data, wiped at the next call */
	size_t plain_cap, plain_len;
};

static struct ss_keys *keys_of(struct ssession *s)
{
	return (struct ss_keys *)s->keys->p;
}

/* ---- helpers --------------------------------------------------------------------------- */

static int64_t now_of(struct ssession *s)
{
	if (s->clock != NULL)
		return s->clock(s->hook_arg);
	return (int64_t)time(NULL);
}

static int random_fill(struct ssession *s, uint8_t *p, size_t len)
{
	if (s->rand != NULL)
		return s->rand(s->hook_arg, p, len);
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ACRA_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return ACRA_OK;
}

static void wipe_plain(struct ssession *s)
{
	if (s->plain != NULL && s->plain_len > 0)
		secmem_wipe(s->plain, s->plain_len);
	s->plain_len = 0;
}

static void drop_secrets(struct ssession *s)
{
	wipe_plain(s);
	secret_free(s->keys);
	s->keys = NULL;
	ec_priv_free(s->eph);
	s->eph = NULL;
	secmem_wipe(s->hs, sizeof(s->hs));
}

/* Fail the session for good: every later call returns rc. */
static int fail(struct ssession *s, int rc, const char *reason)
{
	drop_secrets(s);
	s->st = ST_FAILED;
	s->fail_rc = rc;
	s->reason = reason;
	return rc;
}

static void ev_clear(struct ssession_event *ev)
{
	memset(ev, 0, sizeof(*ev));
}

static void put_frame_hdr(uint8_t *p, size_t len)
{
	wr_le32(p, (uint32_t)len);
}

/* Check a Soter container header at p within avail bytes: tag, size in [min, avail], CRC.
 * *size gets the container's total size. */
static bool container_ok(const uint8_t *p, size_t avail, const char *tag, size_t tag_len,
			 size_t min, size_t *size)
{
	uint32_t sz;

	if (avail < HDR || memcmp(p, tag, tag_len) != 0)
		return false;
	sz = rd_be32(p + 4);
	if (sz < min || sz > avail)
		return false;
	if (soter_container_check(p, sz) != ACRA_OK)
		return false;
	*size = sz;
	return true;
}

/* Concatenate parts into buf (TRANSCRIPT_MAX bytes); returns the length. */
static size_t transcript(uint8_t *buf, const struct bytes *parts, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		memcpy(buf + off, parts[i].p, parts[i].len);
		off += parts[i].len;
	}
	return off;
}

/* ---- key schedule (§4.3) --------------------------------------------------------------- */

static int derive_keys(struct ssession *s)
{
	const uint8_t *e_c, *e_s, *id_c, *id_s;
	size_t e_c_len, e_s_len, id_c_len, id_s_len;
	uint8_t z[EC_SHARED_LEN], q_c[4], q_s[4];
	struct ss_keys *k;
	int rc;

	if (s->role == SSESSION_CLIENT) {
		e_c = s->eph_pub, e_c_len = EC_PUB_LEN;
		e_s = s->peer_eph, e_s_len = s->peer_eph_len;
		id_c = s->own_id, id_c_len = s->own_id_len;
		id_s = s->peer_id, id_s_len = s->peer_id_len;
	} else {
		e_c = s->peer_eph, e_c_len = s->peer_eph_len;
		e_s = s->eph_pub, e_s_len = EC_PUB_LEN;
		id_c = s->peer_id, id_c_len = s->peer_id_len;
		id_s = s->own_id, id_s_len = s->own_id_len;
	}
	const struct soter_ctx sid_ctx[4] = {
		{ e_c, e_c_len }, { e_s, e_s_len }, { id_c, id_c_len }, { id_s, id_s_len }
	};
	const struct soter_ctx one[1] = { { s->sid, sizeof(s->sid) } };
	struct ec_pub *peer_eph = NULL;

	rc = secret_new(&s->keys, sizeof(struct ss_keys));
	if (rc < 0)
		return rc;
	k = keys_of(s);
	rc = soter_kdf(NULL, 0, "Themis secure session unique identifier", sid_ctx, 4, s->sid, 4);
	if (rc < 0)
		goto out;
	rc = ec_pub_load(&peer_eph, s->peer_eph, s->peer_eph_len);
	if (rc < 0)
		goto out;
	rc = ec_derive(s->eph, peer_eph, z);
	if (rc < 0)
		goto out;
	rc = soter_kdf(z, sizeof(z), "Themis secure session master key", one, 1, k->mk, KEY_LEN);
	if (rc < 0)
		goto out;
	rc = soter_kdf(k->mk, KEY_LEN, "Themis secure session client key", one, 1,
		       s->role == SSESSION_CLIENT ? k->k_out : k->k_in, KEY_LEN);
	if (rc < 0)
		goto out;
	rc = soter_kdf(k->mk, KEY_LEN, "Themis secure session server key", one, 1,
		       s->role == SSESSION_CLIENT ? k->k_in : k->k_out, KEY_LEN);
	if (rc < 0)
		goto out;
	rc = soter_kdf(k->mk, KEY_LEN, "Themis secure session client initial sequence number", one,
		       1, q_c, 4);
	if (rc < 0)
		goto out;
	rc = soter_kdf(k->mk, KEY_LEN, "Themis secure session server initial sequence number", one,
		       1, q_s, 4);
	if (rc < 0)
		goto out;
	/* Themis memcpy's the KDF bytes into a native uint32_t: little-endian on every target */
	if (s->role == SSESSION_CLIENT) {
		s->out_seq = rd_le32(q_c);
		s->in_seq = rd_le32(q_s);
	} else {
		s->out_seq = rd_le32(q_s);
		s->in_seq = rd_le32(q_c);
	}
	/* forward secrecy: the ephemeral private key is no longer needed */
	ec_priv_free(s->eph);
	s->eph = NULL;
out:
	ec_pub_free(peer_eph);
	secmem_wipe(z, sizeof(z));
	return rc;
}

/* HMAC(MK, E || SID) for messages 3 (E = E_S) and 4 (E = E_C). */
static int handshake_mac(struct ssession *s, const uint8_t *e, size_t e_len, uint8_t mac[MAC_LEN])
{
	const struct bytes parts[2] = { { e, e_len }, { s->sid, sizeof(s->sid) } };

	return sym_hmac_sha256(keys_of(s)->mk, KEY_LEN, parts, 2, mac);
}

/* ---- handshake messages (§4.2) --------------------------------------------------------- */

/* Builds TSPM{ TSID{own id} || E_own || Sign(signed) } as a frame at out; returns its total
 * length (frame header included) or a negative code. */
static int build_intro(struct ssession *s, uint8_t *out, size_t cap, const uint8_t *signed_p,
		       size_t signed_len, size_t *n)
{
	uint8_t *m = out + SSESSION_FRAME_HDR;
	size_t tsid = HDR + s->own_id_len, sig_len = 0, total;
	int rc;

	if (SSESSION_FRAME_HDR + HDR + tsid + EC_PUB_LEN + EC_SIG_MAX > cap)
		return ACRA_EINVAL;
	memcpy(m + HDR + HDR, s->own_id, s->own_id_len);
	soter_container_seal(m + HDR, TAG_TSID, tsid);
	memcpy(m + HDR + tsid, s->eph_pub, EC_PUB_LEN);
	rc = ec_sign(s->key, signed_p, signed_len, m + HDR + tsid + EC_PUB_LEN, &sig_len);
	if (rc < 0)
		return rc;
	total = HDR + tsid + EC_PUB_LEN + sig_len;
	soter_container_seal(m, TAG_TSPM, total);
	put_frame_hdr(out, total);
	*n = SSESSION_FRAME_HDR + total;
	return ACRA_OK;
}

/* Parses msg1/msg2: TSPM{ TSID{id} || E || sig }. Stores the peer id and E, looks up and
 * loads the peer's long-term key. Leaves the signature view in *sig. */
static int parse_intro(struct ssession *s, const uint8_t *m, size_t len, struct bytes *sig)
{
	const uint8_t *p = m + HDR;
	size_t plen = len - HDR, tsid, eph, id_len;
	uint8_t pub[SSESSION_PUB_MAX];
	size_t pub_len = 0;
	int rc;

	if (!container_ok(p, plen, TAG_TSID, 4, HDR + 1, &tsid))
		return fail(s, ACRA_EPROTO, "malformed peer id container");
	id_len = tsid - HDR;
	if (id_len > SSESSION_ID_MAX)
		return fail(s, ACRA_EPROTO, "peer id too long");
	p += tsid, plen -= tsid;
	if (!container_ok(p, plen, "UEC", 3, HDR + 1, &eph) || eph > SSESSION_PUB_MAX)
		return fail(s, ACRA_EPROTO, "malformed ephemeral key container");
	/* validate the ephemeral key up front (CRC, point on the curve) */
	{
		struct ec_pub *tmp = NULL;
		bool priv = true;

		if (ec_key_check(p, eph, &priv) != ACRA_OK || priv ||
		    ec_pub_load(&tmp, p, eph) != ACRA_OK)
			return fail(s, ACRA_EPROTO, "invalid ephemeral key");
		ec_pub_free(tmp);
	}
	memcpy(s->peer_eph, p, eph);
	s->peer_eph_len = eph;
	p += eph, plen -= eph;
	if (plen == 0 || plen > EC_SIG_MAX)
		return fail(s, ACRA_EPROTO, "bad signature length");
	sig->p = p;
	sig->len = plen;
	memcpy(s->peer_id, m + HDR + HDR, id_len);
	s->peer_id_len = id_len;
	if (s->acra_hello && s->role == SSESSION_SERVER &&
	    (id_len != s->hello_id_len || memcmp(s->peer_id, s->hello_id, id_len) != 0))
		return fail(s, ACRA_EPERM, "handshake id differs from the announced client id");
	rc = s->peer_key_fn(s->peer_key_arg, s->peer_id, id_len, pub, &pub_len);
	if (rc < 0)
		return fail(s, rc == ACRA_ENOKEY ? ACRA_ENOKEY : ACRA_EPERM,
			    rc == ACRA_ENOKEY ? "no public key for peer id" : "peer key lookup failed");
	if (pub_len > SSESSION_PUB_MAX || ec_pub_load(&s->peer_key, pub, pub_len) != ACRA_OK)
		return fail(s, ACRA_ENOKEY, "peer public key is invalid");
	return ACRA_OK;
}

/* Check a TSPM frame payload m[0..len) (tag, size == len, CRC). */
static bool tspm_ok(const uint8_t *m, size_t len)
{
	size_t size;

	return container_ok(m, len, TAG_TSPM, 4, HDR, &size) && size == len;
}

static int client_start(struct ssession *s, struct ssession_event *ev)
{
	size_t off = 0, n = 0;
	int rc;

	if (s->acra_hello) {
		put_frame_hdr(s->hs, s->own_id_len);
		memcpy(s->hs + SSESSION_FRAME_HDR, s->own_id, s->own_id_len);
		off = SSESSION_FRAME_HDR + s->own_id_len;
	}
	/* msg1: sig1 = Sign_C(E_C) */
	rc = build_intro(s, s->hs + off, sizeof(s->hs) - off, s->eph_pub, EC_PUB_LEN, &n);
	if (rc < 0)
		return fail(s, rc, "cannot build connect request");
	s->st = ST_CLIENT_WAIT2;
	ev->type = SSESSION_EV_HANDSHAKE;
	ev->send.p = s->hs;
	ev->send.len = off + n;
	return SSESSION_EV_HANDSHAKE;
}

/* Server: msg1 in, msg2 out. */
static int server_msg1(struct ssession *s, const uint8_t *m, size_t len, struct ssession_event *ev)
{
	uint8_t t[TRANSCRIPT_MAX];
	struct bytes sig;
	size_t n = 0, tl;
	int rc;

	rc = parse_intro(s, m, len, &sig);
	if (rc < 0)
		return rc;
	if (ec_verify(s->peer_key, s->peer_eph, s->peer_eph_len, sig.p, sig.len) != ACRA_OK)
		return fail(s, ACRA_ECRYPTO, "connect request signature is invalid");
	/* sig2 = Sign_S(E_S || E_C || id_S || id_C) */
	const struct bytes parts[4] = { { s->eph_pub, EC_PUB_LEN },
					{ s->peer_eph, s->peer_eph_len },
					{ s->own_id, s->own_id_len },
					{ s->peer_id, s->peer_id_len } };
	tl = transcript(t, parts, 4);
	rc = build_intro(s, s->hs, sizeof(s->hs), t, tl, &n);
	if (rc < 0)
		return fail(s, rc, "cannot build handshake reply");
	s->st = ST_SERVER_WAIT3;
	ev->type = SSESSION_EV_HANDSHAKE;
	ev->send.p = s->hs;
	ev->send.len = n;
	return SSESSION_EV_HANDSHAKE;
}

/* Client: msg2 in, msg3 out. */
static int client_msg2(struct ssession *s, const uint8_t *m, size_t len, struct ssession_event *ev)
{
	uint8_t t[TRANSCRIPT_MAX];
	uint8_t *out = s->hs + SSESSION_FRAME_HDR;
	struct bytes sig;
	size_t sig_len = 0, tl, total;
	int rc;

	rc = parse_intro(s, m, len, &sig);
	if (rc < 0)
		return rc;
	/* sig2 covers E_S || E_C || id_S || id_C */
	const struct bytes p2[4] = { { s->peer_eph, s->peer_eph_len },
				     { s->eph_pub, EC_PUB_LEN },
				     { s->peer_id, s->peer_id_len },
				     { s->own_id, s->own_id_len } };
	tl = transcript(t, p2, 4);
	if (ec_verify(s->peer_key, t, tl, sig.p, sig.len) != ACRA_OK)
		return fail(s, ACRA_ECRYPTO, "handshake reply signature is invalid");
	rc = derive_keys(s);
	if (rc < 0)
		return fail(s, rc, "key agreement failed");
	/* msg3: TSPM{ Sign_C(E_C || E_S || id_C || id_S) || HMAC(MK, E_S || SID) } */
	const struct bytes p3[4] = { { s->eph_pub, EC_PUB_LEN },
				     { s->peer_eph, s->peer_eph_len },
				     { s->own_id, s->own_id_len },
				     { s->peer_id, s->peer_id_len } };
	tl = transcript(t, p3, 4);
	rc = ec_sign(s->key, t, tl, out + HDR, &sig_len);
	if (rc < 0)
		return fail(s, rc, "cannot sign handshake");
	rc = handshake_mac(s, s->peer_eph, s->peer_eph_len, out + HDR + sig_len);
	if (rc < 0)
		return fail(s, rc, "cannot compute handshake MAC");
	total = HDR + sig_len + MAC_LEN;
	soter_container_seal(out, TAG_TSPM, total);
	put_frame_hdr(s->hs, total);
	s->st = ST_CLIENT_WAIT4;
	ev->type = SSESSION_EV_HANDSHAKE;
	ev->send.p = s->hs;
	ev->send.len = SSESSION_FRAME_HDR + total;
	return SSESSION_EV_HANDSHAKE;
}

/* Server: msg3 in, msg4 out, established. */
static int server_msg3(struct ssession *s, const uint8_t *m, size_t len, struct ssession_event *ev)
{
	uint8_t t[TRANSCRIPT_MAX], mac[MAC_LEN];
	uint8_t *out = s->hs + SSESSION_FRAME_HDR;
	size_t plen = len - HDR, sig_len, tl;
	bool ok;
	int rc;

	if (plen <= MAC_LEN || plen - MAC_LEN > EC_SIG_MAX)
		return fail(s, ACRA_EPROTO, "bad handshake confirmation length");
	sig_len = plen - MAC_LEN;
	const struct bytes p3[4] = { { s->peer_eph, s->peer_eph_len },
				     { s->eph_pub, EC_PUB_LEN },
				     { s->peer_id, s->peer_id_len },
				     { s->own_id, s->own_id_len } };
	tl = transcript(t, p3, 4);
	if (ec_verify(s->peer_key, t, tl, m + HDR, sig_len) != ACRA_OK)
		return fail(s, ACRA_ECRYPTO, "handshake confirmation signature is invalid");
	rc = derive_keys(s);
	if (rc < 0)
		return fail(s, rc, "key agreement failed");
	rc = handshake_mac(s, s->eph_pub, EC_PUB_LEN, mac);
	if (rc < 0)
		return fail(s, rc, "cannot compute handshake MAC");
	ok = sym_equal(mac, m + HDR + sig_len, MAC_LEN);
	secmem_wipe(mac, sizeof(mac));
	if (!ok)
		return fail(s, ACRA_ECRYPTO, "handshake confirmation MAC is invalid");
	/* msg4: TSPM{ HMAC(MK, E_C || SID) } */
	rc = handshake_mac(s, s->peer_eph, s->peer_eph_len, out + HDR);
	if (rc < 0)
		return fail(s, rc, "cannot compute handshake MAC");
	soter_container_seal(out, TAG_TSPM, HDR + MAC_LEN);
	put_frame_hdr(s->hs, HDR + MAC_LEN);
	s->st = ST_ESTABLISHED;
	ev->type = SSESSION_EV_ESTABLISHED;
	ev->send.p = s->hs;
	ev->send.len = SSESSION_FRAME_HDR + HDR + MAC_LEN;
	ev->peer_id.p = s->peer_id;
	ev->peer_id.len = s->peer_id_len;
	return SSESSION_EV_ESTABLISHED;
}

/* Client: msg4 in, established. */
static int client_msg4(struct ssession *s, const uint8_t *m, size_t len, struct ssession_event *ev)
{
	uint8_t mac[MAC_LEN];
	bool ok;
	int rc;

	/* Themis compares only the bytes present; require the full MAC */
	if (len != HDR + MAC_LEN)
		return fail(s, ACRA_EPROTO, "bad handshake finish length");
	rc = handshake_mac(s, s->eph_pub, EC_PUB_LEN, mac);
	if (rc < 0)
		return fail(s, rc, "cannot compute handshake MAC");
	ok = sym_equal(mac, m + HDR, MAC_LEN);
	secmem_wipe(mac, sizeof(mac));
	if (!ok)
		return fail(s, ACRA_ECRYPTO, "handshake finish MAC is invalid");
	s->st = ST_ESTABLISHED;
	ev->type = SSESSION_EV_ESTABLISHED;
	ev->peer_id.p = s->peer_id;
	ev->peer_id.len = s->peer_id_len;
	return SSESSION_EV_ESTABLISHED;
}

/* ---- data messages (§4.5) -------------------------------------------------------------- */

static int unwrap_data(struct ssession *s, const uint8_t *m, size_t len, struct ssession_event *ev)
{
	size_t body; /* encrypted header + message */
	uint32_t mlen, seq, lo;
	int64_t now, ts, d;
	int rc;

	if (len <= SSESSION_DATA_OVERHEAD)
		return fail(s, ACRA_EPROTO, "data message too short");
	body = len - 4 - IV_FIELD - TAG_LEN;
	/* session id: BE32 of the little-endian SID value = the KDF bytes reversed */
	if (m[0] != s->sid[3] || m[1] != s->sid[2] || m[2] != s->sid[1] || m[3] != s->sid[0])
		return fail(s, ACRA_EPROTO, "data message for another session");
	if (s->plain_cap < body) {
		uint8_t *p = malloc(body);

		if (p == NULL)
			return fail(s, ACRA_ENOMEM, "out of memory");
		if (s->plain != NULL) {
			secmem_wipe(s->plain, s->plain_cap);
			free(s->plain);
		}
		s->plain = p;
		s->plain_cap = body;
	}
	/* authenticate everything before acting on the decrypted header */
	rc = sym_gcm_open(keys_of(s)->k_in, m + 4, NULL, 0, m + 4 + IV_FIELD, body, s->plain,
			  m + len - TAG_LEN);
	if (rc < 0) {
		secmem_wipe(s->plain, body);
		return fail(s, ACRA_ECRYPTO, "data message authentication failed");
	}
	s->plain_len = body;
	mlen = rd_be32(s->plain);
	seq = rd_be32(s->plain + 4);
	ts = (int64_t)(((uint64_t)rd_be32(s->plain + 8) << 32 | rd_be32(s->plain + 12)) &
		       INT64_MAX);
	if ((size_t)mlen != body - 4)
		return fail(s, ACRA_EPROTO, "data message length field mismatch");
	/* Themis accepts seq within +-8 of the last one; over an ordered stream we also refuse
	 * replays and reordering: the first message may be up to 8 ahead of the peer's initial
	 * number, every later one must be 1..8 ahead of the previous one. */
	lo = s->in_seen ? 1 : 0;
	if ((uint32_t)(seq - s->in_seq) < lo || (uint32_t)(seq - s->in_seq) > SSESSION_SEQ_WINDOW)
		return fail(s, ACRA_ERANGE, "data message sequence number out of window");
	now = now_of(s);
	d = ts - now;
	if (d > SSESSION_TIME_WINDOW || d < -SSESSION_TIME_WINDOW)
		return fail(s, ACRA_ERANGE, "data message timestamp out of window");
	s->in_seq = seq;
	s->in_seen = true;
	ev->type = SSESSION_EV_DATA;
	ev->data.p = s->plain + DATA_HDR;
	ev->data.len = body - DATA_HDR;
	return SSESSION_EV_DATA;
}

int ssession_wrap(struct ssession *s, const uint8_t *pt, size_t pt_len, struct wbuf *out)
{
	uint8_t *f, *body;
	int64_t now;
	int rc;

	if (s == NULL || s->st != ST_ESTABLISHED || pt_len == 0 || pt_len > ssession_max_plain(s))
		return ACRA_EINVAL;
	f = wbuf_reserve(out, ssession_wrap_len(pt_len));
	if (f == NULL)
		return ACRA_ERANGE;
	put_frame_hdr(f, SSESSION_DATA_OVERHEAD + pt_len);
	f += SSESSION_FRAME_HDR;
	f[0] = s->sid[3], f[1] = s->sid[2], f[2] = s->sid[1], f[3] = s->sid[0];
	rc = random_fill(s, f + 4, IV_FIELD);
	if (rc < 0)
		goto bad;
	body = f + 4 + IV_FIELD;
	now = now_of(s);
	wr_be32(body, (uint32_t)(pt_len + 12));
	wr_be32(body + 4, s->out_seq);
	wr_be32(body + 8, (uint32_t)((uint64_t)now >> 32));
	wr_be32(body + 12, (uint32_t)now);
	memcpy(body + DATA_HDR, pt, pt_len);
	rc = sym_gcm_seal(keys_of(s)->k_out, f + 4, NULL, 0, body, DATA_HDR + pt_len, body,
			  body + DATA_HDR + pt_len);
	if (rc < 0)
		goto bad;
	s->out_seq++;
	return ACRA_OK;
bad:
	/* never leave plaintext in the output buffer */
	secmem_wipe(f - SSESSION_FRAME_HDR, ssession_wrap_len(pt_len));
	out->len -= ssession_wrap_len(pt_len);
	return rc;
}

/* ---- public entry points ----------------------------------------------------------------- */

static bool id_ok(const uint8_t *id, size_t len)
{
	return id != NULL && len > 0 && len <= SSESSION_ID_MAX;
}

int ssession_new(struct ssession **out, const struct ssession_cfg *cfg)
{
	struct ssession *s;
	int rc;

	*out = NULL;
	if (cfg == NULL || cfg->peer_key == NULL || cfg->max_frame > SSESSION_MAX_FRAME_LIMIT ||
	    (cfg->role != SSESSION_CLIENT && cfg->role != SSESSION_SERVER))
		return ACRA_EINVAL;
	/* the own identity may come later only for an Acra server (it depends on the client id) */
	if (!(cfg->role == SSESSION_SERVER && cfg->acra_hello && cfg->id == NULL &&
	      cfg->key == NULL) &&
	    (!id_ok(cfg->id, cfg->id_len) || cfg->key == NULL))
		return ACRA_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ACRA_ENOMEM;
	s->role = cfg->role;
	s->acra_hello = cfg->acra_hello;
	s->max_frame = cfg->max_frame ? cfg->max_frame : SSESSION_MAX_FRAME_DEFAULT;
	if (s->max_frame < SSESSION_HS_MAX)
		s->max_frame = SSESSION_HS_MAX;
	s->reason = "ok";
	s->key = cfg->key;
	if (cfg->id != NULL) {
		memcpy(s->own_id, cfg->id, cfg->id_len);
		s->own_id_len = cfg->id_len;
	}
	s->peer_key_fn = cfg->peer_key;
	s->peer_key_arg = cfg->peer_key_arg;
	s->clock = cfg->clock;
	s->rand = cfg->rand;
	s->hook_arg = cfg->hook_arg;
	if (s->role == SSESSION_CLIENT)
		s->st = ST_CLIENT_INIT;
	else
		s->st = s->acra_hello ? ST_SERVER_HELLO : ST_SERVER_WAIT1;

	/* the ephemeral pair is made with the session, as Themis does */
	if (cfg->eph_priv != NULL)
		rc = ec_priv_load(&s->eph, cfg->eph_priv, cfg->eph_priv_len);
	else
		rc = ec_priv_generate(&s->eph);
	if (rc == ACRA_OK)
		rc = ec_priv_public(s->eph, s->eph_pub);
	if (rc < 0) {
		ssession_free(s);
		return rc;
	}
	*out = s;
	return ACRA_OK;
}

void ssession_free(struct ssession *s)
{
	if (s == NULL)
		return;
	drop_secrets(s);
	ec_pub_free(s->peer_key);
	if (s->plain != NULL) {
		secmem_wipe(s->plain, s->plain_cap);
		free(s->plain);
	}
	secmem_wipe(s, sizeof(*s));
	free(s);
}

int ssession_start(struct ssession *s, struct ssession_event *ev)
{
	ev_clear(ev);
	if (s == NULL || s->role != SSESSION_CLIENT)
		return ACRA_EINVAL;
	if (s->st == ST_FAILED)
		return s->fail_rc;
	if (s->st != ST_CLIENT_INIT)
		return ACRA_EINVAL;
	return client_start(s, ev);
}

int ssession_set_identity(struct ssession *s, const uint8_t *id, size_t id_len,
			  const struct ec_priv *key)
{
	if (s == NULL || s->st != ST_SERVER_IDENTITY || !id_ok(id, id_len) || key == NULL)
		return ACRA_EINVAL;
	memcpy(s->own_id, id, id_len);
	s->own_id_len = id_len;
	s->key = key;
	s->st = ST_SERVER_WAIT1;
	return ACRA_OK;
}

/* Largest frame payload acceptable in the current state. */
static size_t frame_limit(const struct ssession *s)
{
	switch (s->st) {
	case ST_SERVER_HELLO:
		return SSESSION_ID_MAX;
	case ST_ESTABLISHED:
		return s->max_frame;
	default:
		return SSESSION_HS_MAX;
	}
}

static int feed_frame(struct ssession *s, const uint8_t *buf, size_t len, size_t *used,
		      struct ssession_event *ev)
{
	const uint8_t *m;
	uint32_t flen;

	*used = 0;
	ev_clear(ev);
	if (s == NULL)
		return ACRA_EINVAL;
	if (s->st == ST_FAILED)
		return s->fail_rc;
	if (s->st == ST_CLIENT_INIT || s->st == ST_SERVER_IDENTITY)
		return ACRA_EINVAL;
	wipe_plain(s);
	if (len < SSESSION_FRAME_HDR) {
		ev->need = SSESSION_FRAME_HDR;
		return SSESSION_EV_NEED_MORE;
	}
	flen = rd_le32(buf);
	if (flen > frame_limit(s))
		return fail(s, ACRA_ERANGE, "frame too large");
	if (len - SSESSION_FRAME_HDR < flen) {
		ev->need = SSESSION_FRAME_HDR + (size_t)flen;
		return SSESSION_EV_NEED_MORE;
	}
	*used = SSESSION_FRAME_HDR + (size_t)flen;
	m = buf + SSESSION_FRAME_HDR;

	if (s->st == ST_SERVER_HELLO) {
		if (flen == 0)
			return fail(s, ACRA_EPROTO, "empty client id");
		memcpy(s->hello_id, m, flen);
		s->hello_id_len = flen;
		s->st = ST_SERVER_IDENTITY;
		ev->type = SSESSION_EV_HELLO;
		ev->peer_id.p = s->hello_id;
		ev->peer_id.len = s->hello_id_len;
		return SSESSION_EV_HELLO;
	}
	if (s->st == ST_ESTABLISHED)
		return unwrap_data(s, m, flen, ev);
	/* handshake messages: Soter container TSPM with its CRC (§4.4) */
	if (!tspm_ok(m, flen))
		return fail(s, ACRA_EPROTO, "malformed handshake message");
	switch (s->st) {
	case ST_SERVER_WAIT1:
		return server_msg1(s, m, flen, ev);
	case ST_SERVER_WAIT3:
		return server_msg3(s, m, flen, ev);
	case ST_CLIENT_WAIT2:
		return client_msg2(s, m, flen, ev);
	case ST_CLIENT_WAIT4:
		return client_msg4(s, m, flen, ev);
	default:
		return fail(s, ACRA_EINVAL, "impossible state");
	}
}

int ssession_feed(struct ssession *s, const uint8_t *buf, size_t len, size_t *used,
		  struct ssession_event *ev)
{
	int rc = feed_frame(s, buf, len, used, ev);

	if (rc < 0) {
		*used = 0;
		ev_clear(ev);
	}
	return rc;
}

size_t ssession_max_plain(const struct ssession *s)
{
	return s->max_frame - SSESSION_DATA_OVERHEAD;
}

bool ssession_is_established(const struct ssession *s)
{
	return s != NULL && s->st == ST_ESTABLISHED;
}

const char *ssession_reason(const struct ssession *s)
{
	return s == NULL ? "no session" : s->reason;
}
