/* lib/session.c: proxy sessions: two sockets, evbuffers, protocol hooks, backpressure. */
#include "lib/session.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/metrics.h"
#include "lib/net.h"
#include "lib/tls.h"
#include "proto/ssession.h"

#define CLOSE_FLUSH_TIMEOUT_S 5
#define HANDSHAKE_TIMEOUT_S 10
#define SESSION_CLIENT_ID_MAX 256
#define TLS_READ_BURST (1024 * 1024) /* plaintext read per callback before yielding */

/* How a side's bytes cross the wire once its transport is ready. */
enum wire { W_PLAIN, W_TLS, W_SS };
/* Transport handshake progress of a side. */
enum tstate {
	T_READY = 0,
	T_PG_PROBE,  /* client side: waiting for SSLRequest or StartupMessage */
	T_PG_ANSWER, /* database side: SSLRequest sent, waiting for 'S' or 'N' */
	T_TLS_HS,
	T_SS_HS,
};

/* Per-worker state (reactor_worker_data). */
struct session_worker {
	struct evdns_base *dns; /* created on first use: only host names need it */
	uint64_t next_id;
	unsigned index, n_workers;
};

struct side {
	int fd;
	struct event *rev, *wev;
	struct evbuffer *in, *out;
	bool throttled; /* reading stopped: the other side's output is above the high water */
	bool eof;
	size_t pass_left; /* bytes a hook said to pass that have not arrived yet */
	size_t need;      /* bytes a hook wants contiguous before it is called again */
	/* transport: in/out hold plaintext; raw_in/raw_out framed Secure Session bytes */
	enum wire wire;
	enum tstate tstate;
	SSL *ssl;
	bool tls_write_wants_read, tls_read_wants_write;
	bool got_bytes; /* anything read from the socket yet */
	bool tls_prefix; /* TLS reads first from a memory BIO holding bytes read before the
			  * upgrade (MySQL: the ClientHello right behind the SSLRequest) */
	struct ssession *ss;
	void *ss_key; /* handle from session_ss_keys.own_key */
	struct evbuffer *raw_in, *raw_out;
};

/* S_REFUSING: the database is unreachable; the protocol answers the client itself. */
/* S_HANDSHAKE: the client side's transport handshake runs; the database is not dialled. */
enum sstate { S_HANDSHAKE, S_CONNECTING, S_OPEN, S_REFUSING, S_FLUSHING, S_CLOSED };

struct session {
	struct reactor_item item; /* first: session_cut() casts back */
	struct reactor_worker *w;
	struct session_worker *sw;
	const struct session_env *env;
	struct side side[2]; /* [SESSION_FROM_CLIENT], [SESSION_FROM_DB] */
	enum sstate state;
	bool db_started, db_up; /* connect begun; connected (its events are live) */
	int refs; /* > 0 while a callback that may close the session is on the stack */
	struct evdns_getaddrinfo_request *dns_req;
	struct event *timer; /* S_REFUSING deadline */
	struct event *hs_timer; /* transport handshake deadline */
	void *proto;
	bool proto_open;
	bool starttls; /* a hook asked for TLS on both sides from here on (MySQL) */
	struct timespec start;
	const char *close_reason; /* S_FLUSHING: logged when the flush ends */
	int flush_side;           /* S_FLUSHING: the side whose queued bytes are going out */
	struct log_ctx ctx;
	char peer[64];
	char client_id[257];
	uint64_t id;
};

static const char *const side_name[2] = { "client", "database" };

int session_env_set_db(struct session_env *env, const char *host, unsigned port)
{
	size_t n = host != NULL ? strlen(host) : 0;

	if (n == 0 || n >= sizeof(env->db_host) || port == 0 || port > 65535)
		return ACRA_EINVAL;
	memcpy(env->db_host, host, n + 1);
	env->db_port = port;
	snprintf(env->db_label, sizeof(env->db_label), strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u",
		 host, port);
	env->db_numeric = net_numeric_host(host, port, &env->db_addr, &env->db_addr_len);
	return ACRA_OK;
}

void session_listener_publish(struct session_listener *l, const struct session_env *env)
{
	atomic_store_explicit(&l->env, env, memory_order_release);
}

int session_worker_init(struct reactor_worker *w, void *arg)
{
	struct session_worker *sw = calloc(1, sizeof(*sw));
	struct reactor *r = arg;

	if (sw == NULL)
		return ACRA_ENOMEM;
	sw->index = reactor_worker_index(w);
	sw->n_workers = r != NULL ? reactor_n_workers(r) : 1;
	reactor_worker_set_data(w, sw);
	return ACRA_OK;
}

void session_worker_fini(struct reactor_worker *w, void *arg)
{
	struct session_worker *sw = reactor_worker_data(w);

	(void)arg;
	if (sw == NULL)
		return;
	if (sw->dns != NULL)
		evdns_base_free(sw->dns, 1);
	free(sw);
	reactor_worker_set_data(w, NULL);
}

const struct log_ctx *session_log_ctx(const struct session *s)
{
	return &s->ctx;
}

uint64_t session_id(const struct session *s)
{
	return s->id;
}

const char *session_client_id(const struct session *s)
{
	return s->client_id[0] != '\0' ? s->client_id : NULL;
}

int session_set_client_id(struct session *s, const char *id)
{
	size_t n = strlen(id);

	if (n >= sizeof(s->client_id))
		return ACRA_EINVAL;
	memcpy(s->client_id, id, n + 1);
	s->ctx.client_id = s->client_id;
	return ACRA_OK;
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Release side d's transport state (TLS object, Secure Session, its key). */
static void transport_clear(struct session *s, int d)
{
	struct side *sd = &s->side[d];
	const struct session_transport *tr = d == SESSION_FROM_CLIENT ? &s->env->client_tr :
									 &s->env->db_tr;

	if (sd->ssl != NULL) {
		if (sd->tstate == T_READY && sd->fd >= 0)
			SSL_shutdown(sd->ssl); /* best effort close_notify; never waits */
		SSL_free(sd->ssl);
		ERR_clear_error();
		sd->ssl = NULL;
	}
	ssession_free(sd->ss);
	sd->ss = NULL;
	if (sd->ss_key != NULL && tr->ss != NULL && tr->ss->release != NULL)
		tr->ss->release(tr->ss->arg, sd->ss_key);
	sd->ss_key = NULL;
	if (sd->raw_in != NULL)
		evbuffer_free(sd->raw_in);
	if (sd->raw_out != NULL)
		evbuffer_free(sd->raw_out);
	sd->raw_in = sd->raw_out = NULL;
	sd->wire = W_PLAIN;
	sd->tstate = T_READY;
}

/* Bytes waiting to be written to side d (plaintext and framed). */
static size_t side_pending(const struct side *sd)
{
	return (sd->out != NULL ? evbuffer_get_length(sd->out) : 0) +
	       (sd->raw_out != NULL ? evbuffer_get_length(sd->raw_out) : 0);
}

static void side_clear(struct side *sd)
{
	if (sd->rev != NULL)
		event_free(sd->rev);
	if (sd->wev != NULL)
		event_free(sd->wev);
	if (sd->in != NULL)
		evbuffer_free(sd->in);
	if (sd->out != NULL)
		evbuffer_free(sd->out);
	if (sd->fd >= 0)
		close(sd->fd);
	memset(sd, 0, sizeof(*sd));
	sd->fd = -1;
}

static void session_unref(struct session *s)
{
	if (--s->refs == 0 && s->state == S_CLOSED)
		free(s);
}

/* The one place a session ends: log the reason once, release both sides, count it. */
static void session_close(struct session *s, enum log_level lvl, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void session_close(struct session *s, enum log_level lvl, int code, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (s->state == S_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (log_enabled(lvl))
		log_emit(lvl, code, &s->ctx, "%s", reason);
	s->state = S_CLOSED;
	if (s->dns_req != NULL) {
		struct evdns_getaddrinfo_request *req = s->dns_req;

		s->dns_req = NULL;
		evdns_getaddrinfo_cancel(req);
	}
	if (s->timer != NULL) {
		event_free(s->timer);
		s->timer = NULL;
	}
	if (s->hs_timer != NULL) {
		event_free(s->hs_timer);
		s->hs_timer = NULL;
	}
	transport_clear(s, SESSION_FROM_CLIENT);
	transport_clear(s, SESSION_FROM_DB);
	if (s->proto_open && s->env->hooks != NULL && s->env->hooks->close != NULL)
		s->env->hooks->close(s->proto);
	s->proto_open = false;
	side_clear(&s->side[0]);
	side_clear(&s->side[1]);
	if (s->env->metrics != NULL)
		metric_observe(s->env->metrics->processing, elapsed_s(&s->start));
	reactor_untrack(s->w, &s->item);
	s->refs++;
	session_unref(s);
}

static void session_cut(struct reactor_item *it)
{
	session_close((struct session *)it, LOG_WARN, LOG_CODE_GENERAL,
		      "connection cut at shutdown deadline");
}

static int tls_flush(struct session *s, int d);
static int ss_wrap_out(struct session *s, int d);

/* Write buf (side d's out or raw_out) to its socket. Returns 0, or -1 after closing. */
static int raw_flush(struct session *s, int d, struct evbuffer *buf)
{
	struct side *sd = &s->side[d];
	int n;

	while (evbuffer_get_length(buf) > 0) {
		n = evbuffer_write(buf, sd->fd);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (errno == EINTR)
				continue;
			if (!event_pending(sd->wev, EV_WRITE, NULL)) {
				struct timeval tv = { CLOSE_FLUSH_TIMEOUT_S, 0 };

				event_add(sd->wev, s->state == S_FLUSHING ? &tv : NULL);
			}
			return 0;
		}
		session_close(s, LOG_INFO, 0, "%s connection closed while sending to it: %s",
			      side_name[d], n < 0 ? strerror(errno) : "write returned 0");
		return -1;
	}
	if (event_pending(sd->wev, EV_WRITE, NULL))
		event_del(sd->wev);
	return 0;
}

/* Write what is queued for side d. Returns 0, or -1 after closing the session. */
static int side_flush(struct session *s, int d)
{
	struct side *sd = &s->side[d];

	if (d == SESSION_FROM_DB && !s->db_up)
		return 0; /* queued until the database is connected */
	if (sd->tstate != T_READY)
		return 0; /* plaintext waits for the transport handshake */
	switch (sd->wire) {
	case W_TLS:
		return tls_flush(s, d);
	case W_SS:
		if (ss_wrap_out(s, d) < 0)
			return -1;
		return raw_flush(s, d, sd->raw_out);
	default:
		return raw_flush(s, d, sd->out);
	}
}

/* Resume reading side d (its event, and bytes TLS already holds decrypted). */
static void side_resume(struct session *s, int d)
{
	struct side *sd = &s->side[d];

	if (sd->eof || sd->rev == NULL)
		return;
	event_add(sd->rev, NULL);
	if (sd->ssl != NULL && SSL_has_pending(sd->ssl))
		event_active(sd->rev, EV_READ, 1);
}

static int process(struct session *s, int d);

/* Called when side d's output shrank: resume the other side if it was throttled; finish a
 * flushing close. Returns 0 or -1 if the session was closed. */
static int after_write(struct session *s, int d)
{
	struct side *other = &s->side[1 - d];

	if (s->state == S_FLUSHING) {
		if (d == s->flush_side && side_pending(&s->side[d]) == 0) {
			session_close(s, LOG_INFO, 0, "%s", s->close_reason);
			return -1;
		}
		return 0;
	}
	if (other->throttled && side_pending(&s->side[d]) <= SESSION_LOW_WATER) {
		other->throttled = false;
		side_resume(s, 1 - d);
		return process(s, 1 - d);
	}
	return 0;
}

/* Queue bytes for side d and try to send them now (saves a loop iteration). */
static int send_to(struct session *s, int d)
{
	if (d == SESSION_FROM_DB && !s->db_up)
		return 0; /* queued until the database is connected */
	if (event_pending(s->side[d].wev, EV_WRITE, NULL))
		return 0; /* socket full: the write event sends it */
	if (side_flush(s, d) < 0)
		return -1;
	return 0;
}

/* Close once the bytes already queued for side d are written (the peer's last reply, an
 * error message); reading stops on both sides. */
static void close_after_flush(struct session *s, int d, const char *reason)
{
	if (s->state != S_OPEN && s->state != S_CONNECTING && s->state != S_REFUSING) {
		session_close(s, LOG_INFO, 0, "%s", reason);
		return;
	}
	if (side_pending(&s->side[d]) == 0 || (d == SESSION_FROM_DB && !s->db_up) ||
	    s->side[d].tstate != T_READY) {
		session_close(s, LOG_INFO, 0, "%s", reason);
		return;
	}
	s->state = S_FLUSHING;
	s->close_reason = reason;
	s->flush_side = d;
	for (int i = 0; i < 2; i++)
		if (s->side[i].rev != NULL)
			event_del(s->side[i].rev);
	event_del(s->side[d].wev);
	if (side_flush(s, d) == 0 && s->state == S_FLUSHING && side_pending(&s->side[d]) == 0)
		session_close(s, LOG_INFO, 0, "%s", reason);
}

/* S_REFUSING: the client's bytes go to on_db_unreachable, answers go back to the client.
 * first: the hook is also asked once with no bytes, for protocols whose server speaks
 * first (MySQL: an ERR packet instead of the greeting). */
static int process_refusing(struct session *s, bool first)
{
	struct side *c = &s->side[SESSION_FROM_CLIENT];
	size_t len;

	while (((len = evbuffer_get_length(c->in)) > 0 && len >= c->need) ||
	       (first && len == 0)) {
		struct session_answer ans;
		const uint8_t *p;
		size_t view = len < SESSION_READ_MAX ? len : SESSION_READ_MAX;

		first = false;
		if (c->need > view)
			view = c->need;
		p = view == 0 ? (const uint8_t *)"" : evbuffer_pullup(c->in, (ev_ssize_t)view);
		if (p == NULL) {
			session_close(s, LOG_ERROR, 0, "out of memory");
			return -1;
		}
		memset(&ans, 0, sizeof(ans));
		s->env->hooks->on_db_unreachable(s->env->hooks_arg, p, view, &ans);
		if (ans.verdict == SESSION_NEED_MORE && ans.n > view && ans.n <= SESSION_NEED_MAX) {
			c->need = ans.n;
			continue;
		}
		c->need = 0;
		if (ans.out_len > 0 && evbuffer_add(c->out, ans.out, ans.out_len) != 0) {
			session_close(s, LOG_ERROR, 0, "out of memory");
			return -1;
		}
		if (ans.verdict == SESSION_REPLACE && ans.to_sender && ans.n > 0 && ans.n <= view) {
			evbuffer_drain(c->in, ans.n);
			if (send_to(s, SESSION_FROM_CLIENT) < 0)
				return -1;
			continue;
		}
		if (send_to(s, SESSION_FROM_CLIENT) < 0)
			return -1;
		close_after_flush(s, SESSION_FROM_CLIENT, "database unreachable: client told");
		return -1;
	}
	return 0;
}

static void refuse_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_close(arg, LOG_INFO, 0, "database unreachable: client sent nothing to answer");
}

/* Feed side d's input to its hook (or move it all when there is none) and forward.
 * Returns 0, or -1 if the session was closed. */
static int tls_begin(struct session *s, int d);
static int hs_timer_start(struct session *s, int d);

/* A client hook answered a request for TLS (MySQL SSLRequest) with session_starttls():
 * the request goes to the database as it is, then both sides start TLS (the client's bytes
 * already read behind the request are the start of its TLS handshake). */
static int starttls_run(struct session *s, int d)
{
	struct side *c = &s->side[SESSION_FROM_CLIENT], *db = &s->side[SESSION_FROM_DB];
	size_t n;

	s->starttls = false;
	if (d != SESSION_FROM_CLIENT || s->env->client_tr.tls == NULL ||
	    s->env->db_tr.tls == NULL || c->wire != W_PLAIN || db->wire != W_PLAIN) {
		session_close(s, LOG_ERROR, LOG_CODE_PROTOCOL, "TLS upgrade not possible here");
		return -1;
	}
	n = c->pass_left < evbuffer_get_length(c->in) ? c->pass_left : evbuffer_get_length(c->in);
	if (n < c->pass_left) {
		session_close(s, LOG_ERROR, LOG_CODE_PROTOCOL, "TLS request not complete");
		return -1;
	}
	evbuffer_remove_buffer(c->in, db->out, n);
	c->pass_left = 0;
	if (raw_flush(s, SESSION_FROM_DB, db->out) < 0)
		return -1;
	if (evbuffer_get_length(db->out) > 0) {
		session_close(s, LOG_ERROR, 0, "cannot pass the TLS request to the database");
		return -1;
	}
	if (hs_timer_start(s, SESSION_FROM_CLIENT) != ACRA_OK) {
		session_close(s, LOG_ERROR, 0, "out of memory");
		return -1;
	}
	clog_debug(&s->ctx, "client asked for TLS: TLS on both sides");
	if (tls_begin(s, SESSION_FROM_DB) < 0 || s->state == S_CLOSED)
		return -1;
	if (tls_begin(s, SESSION_FROM_CLIENT) < 0 || s->state == S_CLOSED)
		return -1;
	return 0;
}

void session_starttls(struct session *s)
{
	s->starttls = true;
}

bool session_tls_offered(const struct session *s)
{
	return s->env->client_tr.kind == SESSION_TRANSPORT_MYSQL_TLS &&
	       s->env->client_tr.tls != NULL && s->env->db_tr.tls != NULL;
}

static int process(struct session *s, int d)
{
	struct side *src = &s->side[d], *dst = &s->side[1 - d];
	const struct session_hooks *h = s->env->hooks;
	void (*hook)(void *, struct session *, const uint8_t *, size_t, struct session_answer *) =
		NULL;
	size_t len;

	if (s->state == S_REFUSING && d == SESSION_FROM_CLIENT)
		return process_refusing(s, false);
	if (s->state != S_OPEN)
		return 0;
	if (h != NULL)
		hook = d == SESSION_FROM_CLIENT ? h->on_client_bytes : h->on_db_bytes;
	while ((len = evbuffer_get_length(src->in)) > 0) {
		struct session_answer ans;
		struct evbuffer_iovec v;
		const uint8_t *p;
		size_t view;

		if (src->pass_left > 0) {
			size_t n = len < src->pass_left ? len : src->pass_left;

			evbuffer_remove_buffer(src->in, dst->out, n);
			src->pass_left -= n;
			continue;
		}
		if (hook == NULL) {
			evbuffer_add_buffer(dst->out, src->in); /* moves the chains, no copy */
			break;
		}
		if (len < src->need)
			break;
		if (evbuffer_peek(src->in, -1, NULL, &v, 1) < 1)
			break;
		p = v.iov_base;
		view = v.iov_len;
		if (src->need > view) {
			p = evbuffer_pullup(src->in, (ev_ssize_t)src->need);
			view = src->need;
			if (p == NULL) {
				session_close(s, LOG_ERROR, 0, "out of memory");
				return -1;
			}
		}
		memset(&ans, 0, sizeof(ans));
		hook(s->proto, s, p, view, &ans);
		if (s->state != S_OPEN)
			return -1; /* the hook's own call (session_connect_db) ended the session */
		switch (ans.verdict) {
		case SESSION_PASS:
			if (ans.n == 0)
				goto bad_answer;
			src->need = 0;
			src->pass_left = ans.n;
			break;
		case SESSION_REPLACE:
			if (ans.n > view)
				goto bad_answer;
			src->need = 0;
			evbuffer_drain(src->in, ans.n);
			if (ans.out_len > 0 &&
			    evbuffer_add(ans.to_sender ? src->out : dst->out, ans.out,
					 ans.out_len) != 0) {
				session_close(s, LOG_ERROR, 0, "out of memory");
				return -1;
			}
			if (ans.to_sender && send_to(s, d) < 0)
				return -1;
			break;
		case SESSION_NEED_MORE:
			if (ans.n <= view || ans.n > SESSION_NEED_MAX)
				goto bad_answer;
			src->need = ans.n;
			break;
		case SESSION_CLOSE:
			if (ans.out_len > 0)
				evbuffer_add(src->out, ans.out, ans.out_len);
			/* closed from the database side with nothing for it: deliver what is
			 * queued for the client first (an error reply made by the hook) */
			if (d == SESSION_FROM_DB && ans.out_len == 0)
				d = SESSION_FROM_CLIENT;
			if (send_to(s, d) < 0)
				return -1;
			close_after_flush(s, d, ans.reason != NULL ? ans.reason :
								     "protocol error");
			return -1;
		default:
			goto bad_answer;
		}
		if (s->starttls)
			return starttls_run(s, d);
	}
	if (evbuffer_get_length(dst->out) > 0) {
		if (send_to(s, 1 - d) < 0)
			return -1;
		if (side_pending(dst) > SESSION_HIGH_WATER && !src->throttled) {
			src->throttled = true;
			event_del(src->rev);
		}
	}
	return 0;
bad_answer:
	session_close(s, LOG_ERROR, LOG_CODE_PROTOCOL,
		      "protocol handler gave an invalid answer for %s bytes", side_name[d]);
	return -1;
}

static void account(struct session *s, int d, size_t n)
{
	const struct session_metrics *m = s->env->metrics;

	if (m != NULL)
		metric_add(d == SESSION_FROM_CLIENT ? m->bytes_to_db : m->bytes_to_client, n);
}

static void read_cb(evutil_socket_t fd, short what, void *arg);
static void write_cb(evutil_socket_t fd, short what, void *arg);
static int side_of(struct session *s, evutil_socket_t fd);

/* Which side an event belongs to: the fd tells. */
static int side_of(struct session *s, evutil_socket_t fd)
{
	return s->side[SESSION_FROM_DB].fd == fd ? SESSION_FROM_DB : SESSION_FROM_CLIENT;
}

/* Side d reached end of stream (n == 0) or failed (n < 0, errno set). */
static void side_eof(struct session *s, int d, bool error, int err)
{
	struct side *sd = &s->side[d];

	sd->eof = true;
	if (!error) {
		if (evbuffer_get_length(sd->in) > 0 || sd->pass_left > 0)
			close_after_flush(s, 1 - d,
					  d == SESSION_FROM_CLIENT ?
						  "client disconnected in the middle of a message" :
						  "database disconnected in the middle of a message");
		else
			close_after_flush(s, 1 - d,
					  d == SESSION_FROM_CLIENT ? "client closed the connection" :
								     "database closed the connection");
		return;
	}
	session_close(s, LOG_INFO, 0, "%s connection error: %s", side_name[d], strerror(err));
}

/* ---- transport handshakes ---- */

static const struct session_transport *side_tr(const struct session *s, int d)
{
	return d == SESSION_FROM_CLIENT ? &s->env->client_tr : &s->env->db_tr;
}

static void db_connect_fail(struct session *s, const char *why);
static void db_connected(struct session *s);
static void client_ready(struct session *s);

/* A transport handshake of side d failed: log once, nothing passes. */
static void handshake_fail(struct session *s, int d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void handshake_fail(struct session *s, int d, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (d == SESSION_FROM_DB && !s->db_up) {
		db_connect_fail(s, why);
		return;
	}
	session_close(s, LOG_WARN, LOG_CODE_ACCEPT, "transport with %s refused: %s", side_name[d],
		      why);
}

static void hs_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	handshake_fail(s, s->state == S_HANDSHAKE ? SESSION_FROM_CLIENT : SESSION_FROM_DB,
		       "handshake did not finish in time");
}

static int hs_timer_start(struct session *s, int d)
{
	const struct session_transport *tr = side_tr(s, d);
	struct timeval tv = { tr->handshake_timeout_s > 0 ? tr->handshake_timeout_s :
							     HANDSHAKE_TIMEOUT_S, 0 };

	if (s->hs_timer == NULL)
		s->hs_timer = evtimer_new(reactor_worker_base(s->w), hs_timeout_cb, s);
	if (s->hs_timer == NULL || evtimer_add(s->hs_timer, &tv) != 0)
		return ACRA_ENOMEM;
	return ACRA_OK;
}

/* Side d's transport is up: the client may now reach the database; the database counts as
 * connected. */
static void handshake_done(struct session *s, int d)
{
	struct side *sd = &s->side[d];

	sd->tstate = T_READY;
	if (s->state == S_OPEN) { /* an upgrade of a running session (MySQL) */
		if (s->side[1 - d].tstate == T_READY && s->hs_timer != NULL)
			evtimer_del(s->hs_timer);
		if (side_flush(s, d) == 0)
			process(s, 1 - d); /* bytes that waited for this side */
		return;
	}
	if (s->hs_timer != NULL)
		evtimer_del(s->hs_timer);
	if (d == SESSION_FROM_CLIENT)
		client_ready(s);
	else
		db_connected(s);
}

/* Server-role TLS is up: take the client id from the certificate if asked to. */
static int tls_take_client_id(struct session *s, int d)
{
	const struct session_transport *tr = side_tr(s, d);
	char id[TLS_CLIENT_ID_LEN + 1];
	const char *why = NULL;
	X509 *peer;
	int rc;

	if (d != SESSION_FROM_CLIENT || !tr->id_from_cert)
		return ACRA_OK;
	peer = SSL_get0_peer_certificate(s->side[d].ssl);
	if (peer == NULL && session_client_id(s) != NULL)
		return ACRA_OK; /* no certificate: the static client id stays */
	rc = tls_cert_client_id(peer, (enum tls_id_extractor)tr->id_extractor, id, &why);
	if (rc != ACRA_OK) {
		handshake_fail(s, d, "cannot take the client id from the certificate: %s", why);
		return rc;
	}
	if (session_set_client_id(s, id) != ACRA_OK) {
		handshake_fail(s, d, "client id too long");
		return ACRA_EINVAL;
	}
	clog_debug(&s->ctx, "client id taken from the TLS certificate");
	return ACRA_OK;
}

/* Drive side d's TLS handshake. Returns 1 when done, 0 when waiting, -1 after closing. */
static int tls_step(struct session *s, int d)
{
	struct side *sd = &s->side[d];
	char e[256];
	int r, err;

	ERR_clear_error();
	r = SSL_do_handshake(sd->ssl);
	if (r == 1) {
		if (tls_take_client_id(s, d) != ACRA_OK)
			return -1;
		clog_debug(&s->ctx, "TLS with %s established (%s)", side_name[d],
			   SSL_get_version(sd->ssl));
		return 1;
	}
	err = SSL_get_error(sd->ssl, r);
	if (err == SSL_ERROR_WANT_READ && sd->tls_prefix) {
		/* the bytes read before the upgrade are used up: read the socket from now on */
		BIO *sock = BIO_new_socket(sd->fd, BIO_NOCLOSE);

		sd->tls_prefix = false;
		if (sock == NULL) {
			handshake_fail(s, d, "cannot start TLS: out of memory");
			return -1;
		}
		SSL_set0_rbio(sd->ssl, sock);
		return tls_step(s, d);
	}
	if (err == SSL_ERROR_WANT_READ) {
		if (sd->rev != NULL)
			event_add(sd->rev, NULL);
		return 0;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		event_add(sd->wev, NULL);
		return 0;
	}
	if (err == SSL_ERROR_SSL) {
		long vr = SSL_get_verify_result(sd->ssl);

		if (vr != X509_V_OK)
			handshake_fail(s, d, "TLS handshake failed: certificate verify failed: %s",
				       X509_verify_cert_error_string(vr));
		else
			handshake_fail(s, d, "TLS handshake failed: %s",
				       tls_last_error(e, sizeof(e)));
	} else if (d == SESSION_FROM_CLIENT && BIO_number_read(SSL_get_rbio(sd->ssl)) == 0) {
		session_close(s, LOG_INFO, 0,
			      "client closed the connection before the transport handshake");
	} else {
		handshake_fail(s, d, "TLS handshake failed: connection closed");
	}
	return -1;
}

static int tls_begin(struct session *s, int d)
{
	const struct session_transport *tr = side_tr(s, d);
	struct side *sd = &s->side[d];
	int rc;

	if (tr->tls == NULL) {
		handshake_fail(s, d, "no TLS configuration");
		return -1;
	}
	if (d == SESSION_FROM_CLIENT) {
		sd->ssl = SSL_new(tr->tls);
		rc = sd->ssl != NULL ? ACRA_OK : ACRA_ENOMEM;
		if (rc == ACRA_OK)
			SSL_set_accept_state(sd->ssl);
	} else {
		rc = tls_client_ssl_new(tr->tls,
					tr->server_name != NULL ? tr->server_name :
								  s->env->db_host,
					&sd->ssl);
		if (rc == ACRA_OK)
			SSL_set_connect_state(sd->ssl);
	}
	if (rc != ACRA_OK || SSL_set_fd(sd->ssl, sd->fd) != 1) {
		handshake_fail(s, d, "cannot start TLS: out of memory");
		return -1;
	}
	if (evbuffer_get_length(sd->in) > 0) { /* read before the upgrade: TLS bytes */
		BIO *mem = BIO_new(BIO_s_mem());
		size_t n = evbuffer_get_length(sd->in);
		const uint8_t *p = evbuffer_pullup(sd->in, (ev_ssize_t)n);

		if (mem == NULL || p == NULL || n > INT32_MAX || BIO_write(mem, p, (int)n) != (int)n) {
			BIO_free(mem);
			handshake_fail(s, d, "cannot start TLS: out of memory");
			return -1;
		}
		BIO_set_mem_eof_return(mem, -1);
		SSL_set0_rbio(sd->ssl, mem);
		evbuffer_drain(sd->in, n);
		sd->tls_prefix = true;
	}
	sd->wire = W_TLS;
	sd->tstate = T_TLS_HS;
	rc = tls_step(s, d);
	if (rc == 1)
		handshake_done(s, d);
	return rc < 0 ? -1 : 0;
}

static int ss_peer_key(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub,
		       size_t *pub_len)
{
	const struct session_ss_keys *k = arg;

	return k->peer_key(k->arg, id, id_len, pub, pub_len);
}

static int ss_begin(struct session *s, int d)
{
	const struct session_transport *tr = side_tr(s, d);
	struct side *sd = &s->side[d];
	struct ssession_cfg cfg;
	struct ssession_event ev;
	const struct ec_priv *key = NULL;
	int rc;

	if (tr->ss == NULL || tr->ss->peer_key == NULL || tr->ss->own_key == NULL) {
		handshake_fail(s, d, "no Secure Session keys configured");
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.acra_hello = true;
	cfg.peer_key = ss_peer_key;
	cfg.peer_key_arg = (void *)tr->ss;
	sd->raw_in = evbuffer_new();
	sd->raw_out = evbuffer_new();
	if (sd->raw_in == NULL || sd->raw_out == NULL) {
		handshake_fail(s, d, "out of memory");
		return -1;
	}
	sd->wire = W_SS;
	sd->tstate = T_SS_HS;
	if (d == SESSION_FROM_CLIENT) {
		cfg.role = SSESSION_SERVER;
		rc = ssession_new(&sd->ss, &cfg);
		if (rc != ACRA_OK) {
			handshake_fail(s, d, "cannot start Secure Session: %s", acra_strerror(rc));
			return -1;
		}
		return 0;
	}
	cfg.role = SSESSION_CLIENT;
	cfg.id = (const uint8_t *)tr->ss->id;
	cfg.id_len = tr->ss->id != NULL ? strlen(tr->ss->id) : 0;
	rc = tr->ss->own_key(tr->ss->arg, tr->ss->id, &key, &sd->ss_key);
	if (rc != ACRA_OK) {
		handshake_fail(s, d, "no transport key for client id: %s", acra_strerror(rc));
		return -1;
	}
	cfg.key = key;
	rc = ssession_new(&sd->ss, &cfg);
	if (rc == ACRA_OK) {
		rc = ssession_start(sd->ss, &ev);
		if (rc > 0)
			rc = ACRA_OK; /* SSESSION_EV_HANDSHAKE */
	}
	if (rc == ACRA_OK && evbuffer_add(sd->raw_out, ev.send.p, ev.send.len) != 0)
		rc = ACRA_ENOMEM;
	if (rc != ACRA_OK) {
		handshake_fail(s, d, "cannot start Secure Session: %s", acra_strerror(rc));
		return -1;
	}
	return raw_flush(s, d, sd->raw_out);
}

/* Feed side d's framed input to its Secure Session: handshake replies go out, data goes to
 * the side's plaintext input. Returns 0, or -1 after closing the session. */
static int ss_pump_in(struct session *s, int d)
{
	const struct session_transport *tr = side_tr(s, d);
	struct side *sd = &s->side[d];
	bool established = false;
	size_t len;

	while ((len = evbuffer_get_length(sd->raw_in)) >= SSESSION_FRAME_HDR) {
		struct ssession_event ev;
		uint8_t hdr[SSESSION_FRAME_HDR];
		size_t need, used = 0;
		const uint8_t *p;
		int rc;

		evbuffer_copyout(sd->raw_in, hdr, sizeof(hdr));
		need = SSESSION_FRAME_HDR + ((size_t)hdr[0] | (size_t)hdr[1] << 8 |
					     (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24);
		/* the state machine takes frames up to its default limit (cfg.max_frame 0):
		 * refuse a larger length before buffering that much */
		if (need > SSESSION_FRAME_HDR + SSESSION_MAX_FRAME_DEFAULT) {
			handshake_fail(s, d, "Secure Session frame of %zu bytes is too large", need);
			return -1;
		}
		if (len < need)
			break;
		p = evbuffer_pullup(sd->raw_in, (ev_ssize_t)need);
		if (p == NULL) {
			session_close(s, LOG_ERROR, 0, "out of memory");
			return -1;
		}
		rc = ssession_feed(sd->ss, p, need, &used, &ev);
		if (rc < 0) {
			handshake_fail(s, d, "Secure Session failed: %s", ssession_reason(sd->ss));
			return -1;
		}
		if (used == 0)
			break;
		evbuffer_drain(sd->raw_in, used);
		if (ev.send.len > 0 && evbuffer_add(sd->raw_out, ev.send.p, ev.send.len) != 0) {
			session_close(s, LOG_ERROR, 0, "out of memory");
			return -1;
		}
		if (rc == SSESSION_EV_HELLO) {
			char id[SESSION_CLIENT_ID_MAX + 1];
			const struct ec_priv *key = NULL;

			if (ev.peer_id.len == 0 || ev.peer_id.len > SESSION_CLIENT_ID_MAX ||
			    memchr(ev.peer_id.p, 0, ev.peer_id.len) != NULL) {
				handshake_fail(s, d, "connector sent an invalid client id");
				return -1;
			}
			memcpy(id, ev.peer_id.p, ev.peer_id.len);
			id[ev.peer_id.len] = '\0';
			if (session_set_client_id(s, id) != ACRA_OK) {
				handshake_fail(s, d, "connector sent an invalid client id");
				return -1;
			}
			rc = tr->ss->own_key(tr->ss->arg, id, &key, &sd->ss_key);
			if (rc != ACRA_OK) {
				handshake_fail(s, d, "no Secure Session key for this client id: %s",
					       acra_strerror(rc));
				return -1;
			}
			rc = ssession_set_identity(sd->ss, ev.peer_id.p, ev.peer_id.len, key);
			if (rc != ACRA_OK) {
				handshake_fail(s, d, "Secure Session: %s", acra_strerror(rc));
				return -1;
			}
		} else if (rc == SSESSION_EV_ESTABLISHED) {
			established = true;
		} else if (rc == SSESSION_EV_DATA && ev.data.len > 0) {
			if (evbuffer_add(sd->in, ev.data.p, ev.data.len) != 0) {
				session_close(s, LOG_ERROR, 0, "out of memory");
				return -1;
			}
		}
	}
	if (evbuffer_get_length(sd->raw_out) > 0 && raw_flush(s, d, sd->raw_out) < 0)
		return -1;
	if (established) {
		clog_debug(&s->ctx, "Secure Session with %s established", side_name[d]);
		handshake_done(s, d); /* the caller holds a reference */
		if (s->state == S_CLOSED)
			return -1;
	}
	return 0;
}

/* Wrap side d's queued plaintext into Secure Session frames. Returns 0 or -1 (closed). */
static int ss_wrap_out(struct session *s, int d)
{
	struct side *sd = &s->side[d];
	size_t max = ssession_max_plain(sd->ss), len;

	if (max > SESSION_READ_MAX)
		max = SESSION_READ_MAX;
	while ((len = evbuffer_get_length(sd->out)) > 0) {
		size_t n = len < max ? len : max;
		const uint8_t *p = evbuffer_pullup(sd->out, (ev_ssize_t)n);
		struct evbuffer_iovec v;
		struct wbuf w;

		if (p == NULL || evbuffer_reserve_space(sd->raw_out,
							(ev_ssize_t)ssession_wrap_len(n), &v,
							1) != 1) {
			session_close(s, LOG_ERROR, 0, "out of memory");
			return -1;
		}
		wbuf_init(&w, v.iov_base, v.iov_len);
		if (ssession_wrap(sd->ss, p, n, &w) != ACRA_OK || w.failed) {
			evbuffer_commit_space(sd->raw_out, &v, 0);
			session_close(s, LOG_ERROR, 0, "Secure Session cannot wrap data: %s",
				      ssession_reason(sd->ss));
			return -1;
		}
		v.iov_len = w.len;
		evbuffer_commit_space(sd->raw_out, &v, 1);
		evbuffer_drain(sd->out, n);
	}
	return 0;
}

/* Write queued plaintext through TLS. Returns 0, or -1 after closing. */
static int tls_flush(struct session *s, int d)
{
	struct side *sd = &s->side[d];

	while (evbuffer_get_length(sd->out) > 0) {
		struct evbuffer_iovec v;
		int r, err;

		if (evbuffer_peek(sd->out, -1, NULL, &v, 1) < 1)
			break;
		ERR_clear_error();
		r = SSL_write(sd->ssl, v.iov_base, v.iov_len > INT32_MAX ? INT32_MAX :
									(int)v.iov_len);
		if (r > 0) {
			evbuffer_drain(sd->out, (size_t)r);
			continue;
		}
		err = SSL_get_error(sd->ssl, r);
		if (err == SSL_ERROR_WANT_WRITE) {
			if (!event_pending(sd->wev, EV_WRITE, NULL)) {
				struct timeval tv = { CLOSE_FLUSH_TIMEOUT_S, 0 };

				event_add(sd->wev, s->state == S_FLUSHING ? &tv : NULL);
			}
			return 0;
		}
		if (err == SSL_ERROR_WANT_READ) {
			sd->tls_write_wants_read = true;
			if (sd->rev != NULL)
				event_add(sd->rev, NULL);
			return 0;
		}
		session_close(s, LOG_INFO, 0, "%s connection closed while sending to it (TLS)",
			      side_name[d]);
		return -1;
	}
	if (event_pending(sd->wev, EV_WRITE, NULL))
		event_del(sd->wev);
	return 0;
}

/* PostgreSQL SSLRequest / GSSENCRequest codes. */
#define PG_SSL_REQUEST 80877103u
#define PG_GSSENC_REQUEST 80877104u

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Write a one-byte answer straight to a fresh socket (nothing else is queued on it). */
static int write_byte(struct session *s, int d, char c)
{
	ssize_t n;

	do
		n = write(s->side[d].fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		handshake_fail(s, d, "cannot answer: %s", n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/* Client side, PostgreSQL: SSLRequest → 'S' and TLS; StartupMessage → plain. */
static int pg_probe(struct session *s)
{
	struct side *sd = &s->side[SESSION_FROM_CLIENT];

	while (evbuffer_get_length(sd->in) >= 8) {
		uint8_t h[8];
		uint32_t code;

		evbuffer_copyout(sd->in, h, 8);
		code = be32_at(h + 4);
		if (be32_at(h) != 8 || (code != PG_SSL_REQUEST && code != PG_GSSENC_REQUEST)) {
			sd->tstate = T_READY; /* a StartupMessage (or CancelRequest): plain */
			clog_debug(&s->ctx, "client did not ask for TLS");
			client_ready(s);
			return s->state == S_CLOSED ? -1 : 0;
		}
		evbuffer_drain(sd->in, 8);
		if (code == PG_GSSENC_REQUEST) {
			if (write_byte(s, SESSION_FROM_CLIENT, 'N') < 0)
				return -1;
			continue;
		}
		if (evbuffer_get_length(sd->in) > 0) {
			handshake_fail(s, SESSION_FROM_CLIENT, "bytes after SSLRequest");
			return -1;
		}
		if (write_byte(s, SESSION_FROM_CLIENT, 'S') < 0)
			return -1;
		return tls_begin(s, SESSION_FROM_CLIENT);
	}
	return 0;
}

/* Database side, PostgreSQL: the answer to our SSLRequest. */
static int pg_answer(struct session *s)
{
	struct side *sd = &s->side[SESSION_FROM_DB];
	uint8_t c;

	if (evbuffer_get_length(sd->in) < 1)
		return 0;
	evbuffer_remove(sd->in, &c, 1);
	if (c == 'S' && evbuffer_get_length(sd->in) == 0)
		return tls_begin(s, SESSION_FROM_DB);
	if (c == 'N') {
		clog_info(&s->ctx, "database %s does not support SSL: plain connection",
			  s->env->db_label);
		sd->wire = W_PLAIN;
		handshake_done(s, SESSION_FROM_DB); /* the caller holds a reference */
		return s->state == S_CLOSED ? -1 : 0;
	}
	handshake_fail(s, SESSION_FROM_DB, "unexpected answer to SSLRequest");
	return -1;
}

/* Before the database is up a client may send ahead (its transport is already up): stop
 * reading it above the high water; the first write to the database resumes it. */
static void early_throttle(struct session *s, int d)
{
	struct side *sd = &s->side[d];

	if ((s->state == S_HANDSHAKE || s->state == S_CONNECTING) && !sd->throttled &&
	    evbuffer_get_length(sd->in) > SESSION_HIGH_WATER) {
		sd->throttled = true;
		event_del(sd->rev);
	}
}

/* TLS side readable: handshake, then plaintext into the side's input. */
static void tls_read(struct session *s, int d)
{
	struct side *sd = &s->side[d];
	size_t total = 0;

	if (sd->tstate == T_TLS_HS) {
		int rc = tls_step(s, d);

		if (rc <= 0)
			return;
		handshake_done(s, d);
		if (s->state == S_CLOSED)
			return;
	}
	if (sd->tls_write_wants_read) {
		sd->tls_write_wants_read = false;
		if (side_flush(s, d) < 0)
			return;
	}
	while (total < TLS_READ_BURST) {
		struct evbuffer_iovec v;
		int r, err;

		if (evbuffer_reserve_space(sd->in, SESSION_READ_MAX - 128, &v, 1) < 1) {
			session_close(s, LOG_ERROR, 0, "out of memory");
			return;
		}
		ERR_clear_error();
		r = SSL_read(sd->ssl, v.iov_base, (int)v.iov_len);
		if (r > 0) {
			v.iov_len = (size_t)r;
			evbuffer_commit_space(sd->in, &v, 1);
			total += (size_t)r;
			continue;
		}
		evbuffer_commit_space(sd->in, &v, 0);
		err = SSL_get_error(sd->ssl, r);
		if (err == SSL_ERROR_WANT_READ)
			break;
		if (err == SSL_ERROR_WANT_WRITE) {
			sd->tls_read_wants_write = true;
			event_add(sd->wev, NULL);
			break;
		}
		if (total > 0) {
			account(s, d, total);
			s->refs++;
			process(s, d);
			session_unref(s);
			if (s->state == S_CLOSED)
				return;
		}
		if (err == SSL_ERROR_SSL) {
			char e[256];

			clog_info(&s->ctx, "TLS with %s failed: %s", side_name[d],
				  tls_last_error(e, sizeof(e)));
		}
		ERR_clear_error();
		side_eof(s, d, err == SSL_ERROR_SYSCALL && errno != 0, errno);
		return;
	}
	if (total == 0)
		return;
	account(s, d, total);
	s->refs++;
	process(s, d);
	if (s->state != S_CLOSED)
		early_throttle(s, d);
	if (s->state != S_CLOSED && !sd->throttled && SSL_has_pending(sd->ssl))
		event_active(sd->rev, EV_READ, 1);
	session_unref(s);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int d = side_of(s, fd);
	struct side *sd = &s->side[d];
	struct evbuffer *dst;
	struct evbuffer_iovec v[2];
	int nv;
	ssize_t n;

	(void)what;
	if (sd->wire == W_TLS) {
		tls_read(s, d);
		return;
	}
	dst = sd->wire == W_SS ? sd->raw_in : sd->in;
	/* Chains are allocated at 64 KiB minus libevent's chain header, so one malloc bucket. */
	nv = evbuffer_reserve_space(dst, SESSION_READ_MAX - 128, v, 2);
	if (nv < 1) {
		session_close(s, LOG_ERROR, 0, "out of memory");
		return;
	}
	do
		n = readv(fd, (struct iovec *)v, nv);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		size_t left = (size_t)n;

		for (int i = 0; i < nv; i++) {
			size_t take = left < v[i].iov_len ? left : v[i].iov_len;

			v[i].iov_len = take;
			left -= take;
		}
		evbuffer_commit_space(dst, v, nv);
		sd->got_bytes = true;
		account(s, d, (size_t)n);
		s->refs++;
		if (sd->wire == W_SS && ss_pump_in(s, d) < 0) {
			session_unref(s);
			return;
		}
		if (sd->tstate == T_PG_PROBE)
			pg_probe(s);
		else if (sd->tstate == T_PG_ANSWER)
			pg_answer(s);
		else if (sd->tstate == T_READY)
			process(s, d);
		if (s->state != S_CLOSED)
			early_throttle(s, d);
		session_unref(s);
		return;
	}
	evbuffer_commit_space(dst, v, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (sd->tstate != T_READY) {
		if (d == SESSION_FROM_CLIENT && n == 0 && !sd->got_bytes) {
			/* a port check or a client that gave up: not a refusal */
			session_close(s, LOG_INFO, 0, "client closed the connection before the "
				      "transport handshake");
			return;
		}
		handshake_fail(s, d, "connection closed during the transport handshake");
		return;
	}
	side_eof(s, d, n < 0, errno);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int d = side_of(s, fd);

	if (what & EV_TIMEOUT) {
		session_close(s, LOG_WARN, 0, "%s did not read its data in %ds; closing (%s)",
			      side_name[d], CLOSE_FLUSH_TIMEOUT_S,
			      s->close_reason != NULL ? s->close_reason : "flush");
		return;
	}
	s->refs++;
	if (s->side[d].tstate == T_TLS_HS) {
		if (tls_step(s, d) == 1)
			handshake_done(s, d);
	} else if (s->side[d].tstate == T_SS_HS) {
		raw_flush(s, d, s->side[d].raw_out);
	} else if (side_flush(s, d) == 0 && after_write(s, d) == 0 &&
		   s->side[d].tls_read_wants_write) {
		s->side[d].tls_read_wants_write = false;
		tls_read(s, d); /* SSL_read had to write first (TLS 1.3 key update) */
	}
	session_unref(s);
}

/* Buffers of side d; its socket and events come with side_attach(). */
static int side_buffers(struct session *s, int d)
{
	struct side *sd = &s->side[d];

	sd->in = evbuffer_new();
	sd->out = evbuffer_new();
	if (sd->in == NULL || sd->out == NULL)
		return ACRA_ENOMEM;
	return ACRA_OK;
}

/* Give side d its socket (owned from now on, even on failure) and events. */
static int side_attach(struct session *s, int d, int fd)
{
	struct side *sd = &s->side[d];
	struct event_base *base = reactor_worker_base(s->w);

	sd->fd = fd;
	sd->rev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, s);
	sd->wev = event_new(base, fd, EV_WRITE, write_cb, s);
	if (sd->rev == NULL || sd->wev == NULL)
		return ACRA_ENOMEM;
	return ACRA_OK;
}

static int hooks_open(struct session *s)
{
	const struct session_hooks *h = s->env->hooks;
	int rc;

	if (s->proto_open || h == NULL || h->open == NULL)
		return ACRA_OK;
	rc = h->open(s, s->env->hooks_arg, &s->proto);
	if (rc != ACRA_OK) {
		session_close(s, LOG_ERROR, 0, "cannot start protocol handler: %s",
			      acra_strerror(rc));
		return rc;
	}
	s->proto_open = true;
	return ACRA_OK;
}

static void db_connected(struct session *s)
{
	bool client_was_reading = s->state == S_OPEN;

	s->db_up = true;
	clog_debug(&s->ctx, "connected to database %s", s->env->db_label);
	if (s->state == S_FLUSHING)
		return; /* closing already: only the client's last bytes are still going out */
	if (hooks_open(s) != ACRA_OK)
		return;
	s->state = S_OPEN;
	if (!client_was_reading && !s->side[SESSION_FROM_CLIENT].throttled)
		side_resume(s, SESSION_FROM_CLIENT);
	side_resume(s, SESSION_FROM_DB);
	s->refs++;
	/* Bytes queued for the database while it was connecting go now; then whatever the
	 * client has sent meanwhile. */
	if (side_flush(s, SESSION_FROM_DB) == 0 && after_write(s, SESSION_FROM_DB) == 0 &&
	    process(s, SESSION_FROM_CLIENT) == 0)
		process(s, SESSION_FROM_DB);
	session_unref(s);
}

static void db_connect_fail(struct session *s, const char *why)
{
	const struct session_hooks *h = s->env->hooks;
	struct side *db = &s->side[SESSION_FROM_DB];
	struct timeval tv = { SESSION_REFUSE_TIMEOUT_S, 0 };

	if (s->env->metrics != NULL)
		metric_add(s->env->metrics->db_errors, 1);
	if (h == NULL || h->on_db_unreachable == NULL || s->state == S_FLUSHING) {
		session_close(s, LOG_ERROR, LOG_CODE_CONNECT_DB, "Can't connect to %s %s: %s",
			      s->env->db_what != NULL ? s->env->db_what : "db", s->env->db_label,
			      why);
		return;
	}
	/* Let the protocol tell the client why, then close. */
	clog_error(&s->ctx, "Can't connect to db %s: %s", s->env->db_label, why);
	if (db->rev != NULL)
		event_free(db->rev);
	if (db->wev != NULL)
		event_free(db->wev);
	if (db->fd >= 0)
		close(db->fd);
	transport_clear(s, SESSION_FROM_DB);
	db->rev = db->wev = NULL;
	db->fd = -1;
	s->db_up = false;
	if (s->proto_open && h->close != NULL)
		h->close(s->proto);
	s->proto_open = false;
	s->state = S_REFUSING;
	s->side[SESSION_FROM_CLIENT].pass_left = 0;
	s->side[SESSION_FROM_CLIENT].need = 0;
	s->timer = evtimer_new(reactor_worker_base(s->w), refuse_timeout_cb, s);
	if (s->timer == NULL || evtimer_add(s->timer, &tv) != 0) {
		session_close(s, LOG_ERROR, 0, "out of memory");
		return;
	}
	if (!s->side[SESSION_FROM_CLIENT].throttled)
		event_add(s->side[SESSION_FROM_CLIENT].rev, NULL);
	s->refs++;
	process_refusing(s, true);
	session_unref(s);
}

/* The database socket is connected: run its transport handshake, then it is up. */
static void db_transport_start(struct session *s)
{
	static const uint8_t ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	struct side *db = &s->side[SESSION_FROM_DB];
	enum session_transport_kind kind = s->env->db_tr.kind;
	ssize_t n;

	if (kind == SESSION_TRANSPORT_PLAIN || kind == SESSION_TRANSPORT_MYSQL_TLS) {
		db_connected(s); /* MySQL: TLS comes later, when the client asks (starttls) */
		return;
	}
	if (hs_timer_start(s, SESSION_FROM_DB) != ACRA_OK) {
		session_close(s, LOG_ERROR, 0, "out of memory");
		return;
	}
	event_add(db->rev, NULL);
	switch (kind) {
	case SESSION_TRANSPORT_TLS:
		tls_begin(s, SESSION_FROM_DB);
		return;
	case SESSION_TRANSPORT_SSESSION:
		ss_begin(s, SESSION_FROM_DB);
		return;
	default: /* PostgreSQL: SSLRequest first */
		do
			n = write(db->fd, ssl_request, sizeof(ssl_request));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(ssl_request)) {
			db_connect_fail(s, "cannot send SSLRequest");
			return;
		}
		db->tstate = T_PG_ANSWER;
		return;
	}
}

static void connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT) {
		db_connect_fail(s, "connection timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		db_connect_fail(s, strerror(err));
		return;
	}
	/* From now on the write event writes. */
	event_free(s->side[SESSION_FROM_DB].wev);
	s->side[SESSION_FROM_DB].wev =
		event_new(reactor_worker_base(s->w), fd, EV_WRITE, write_cb, s);
	if (s->side[SESSION_FROM_DB].wev == NULL) {
		session_close(s, LOG_ERROR, 0, "out of memory");
		return;
	}
	s->refs++;
	db_transport_start(s);
	session_unref(s);
}

static void connect_to(struct session *s, const struct sockaddr *sa, socklen_t sa_len)
{
	struct timeval tv = { s->env->connect_timeout_s > 0 ? s->env->connect_timeout_s : 10, 0 };
	struct side *db = &s->side[SESSION_FROM_DB];
	int fd;

	if (net_connect_start(sa, sa_len, &fd) != ACRA_OK) {
		db_connect_fail(s, strerror(errno));
		return;
	}
	if (side_attach(s, SESSION_FROM_DB, fd) != ACRA_OK) {
		session_close(s, LOG_ERROR, 0, "out of memory");
		return;
	}
	/* Until connected, the write event reports the outcome of connect(). */
	event_free(db->wev);
	db->wev = event_new(reactor_worker_base(s->w), fd, EV_WRITE, connect_cb, s);
	if (db->wev == NULL || event_add(db->wev, &tv) != 0) {
		session_close(s, LOG_ERROR, 0, "out of memory");
		return;
	}
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct session *s = arg;

	if (result == EVUTIL_EAI_CANCEL) {
		/* the session is closing (or gone): touch nothing */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	s->dns_req = NULL;
	if (result != 0 || res == NULL) {
		db_connect_fail(s, evutil_gai_strerror(result));
	} else {
		s->refs++;
		connect_to(s, res->ai_addr, (socklen_t)res->ai_addrlen);
		session_unref(s);
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
}

static void start_db_connect(struct session *s)
{
	const struct session_env *env = s->env;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	char port[8];

	if (s->db_started || s->state == S_CLOSED)
		return;
	s->db_started = true;
	if (env->db_attach != NULL) {
		int fd = -1, rc = env->db_attach(env->db_attach_arg, s, &fd);

		if (rc != ACRA_OK || fd < 0) {
			db_connect_fail(s, acra_strerror(rc != ACRA_OK ? rc : ACRA_EINVAL));
			return;
		}
		if (side_attach(s, SESSION_FROM_DB, fd) != ACRA_OK) {
			session_close(s, LOG_ERROR, 0, "out of memory");
			return;
		}
		db_transport_start(s);
		return;
	}
	if (env->db_numeric) {
		connect_to(s, (const struct sockaddr *)&env->db_addr, env->db_addr_len);
		return;
	}
	if (s->sw->dns == NULL) {
		s->sw->dns = evdns_base_new(reactor_worker_base(s->w),
					    EVDNS_BASE_INITIALIZE_NAMESERVERS |
						    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (s->sw->dns == NULL) {
			db_connect_fail(s, "cannot set up DNS resolver");
			return;
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%u", env->db_port);
	s->refs++;
	req = evdns_getaddrinfo(s->sw->dns, env->db_host, port, &hints, dns_cb, s);
	if (s->state != S_CLOSED && req != NULL)
		s->dns_req = req; /* NULL: the callback already ran */
	session_unref(s);
}

void session_accept(struct reactor_worker *w, int fd, const struct sockaddr *peer,
		    socklen_t peer_len, void *arg)
{
	struct session_listener *l = arg;
	const struct session_env *env = atomic_load_explicit(&l->env, memory_order_acquire);
	struct session_worker *sw = reactor_worker_data(w);
	struct session *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL || sw == NULL || env == NULL) {
		log_error("cannot start session: out of memory");
		free(s);
		close(fd);
		return;
	}
	s->w = w;
	s->sw = sw;
	s->env = env;
	s->side[0].fd = s->side[1].fd = -1;
	s->item.cut = session_cut;
	s->id = ++sw->next_id * sw->n_workers + sw->index;
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	net_peer_text(peer, peer_len, s->peer, sizeof(s->peer));
	s->ctx.session_id = s->id;
	s->ctx.peer = s->peer[0] != '\0' ? s->peer : NULL;
	if (env->client_id != NULL && *env->client_id != '\0' &&
	    session_set_client_id(s, env->client_id) != ACRA_OK)
		s->client_id[0] = '\0'; /* cannot happen: the config check limits ids to 256 */
	reactor_track(w, &s->item);
	if (env->metrics != NULL)
		metric_add(env->metrics->connections, 1);
	net_set_nodelay(fd);
	if (side_attach(s, SESSION_FROM_CLIENT, fd) != ACRA_OK ||
	    side_buffers(s, SESSION_FROM_CLIENT) != ACRA_OK ||
	    side_buffers(s, SESSION_FROM_DB) != ACRA_OK) {
		session_close(s, LOG_ERROR, 0, "cannot start session: out of memory");
		return;
	}
	clog_debug(&s->ctx, "new connection");
	if (env->client_tr.kind != SESSION_TRANSPORT_PLAIN &&
	    env->client_tr.kind != SESSION_TRANSPORT_MYSQL_TLS) {
		s->state = S_HANDSHAKE;
		if (hs_timer_start(s, SESSION_FROM_CLIENT) != ACRA_OK) {
			session_close(s, LOG_ERROR, 0, "cannot start session: out of memory");
			return;
		}
		event_add(s->side[SESSION_FROM_CLIENT].rev, NULL);
		s->refs++;
		if (env->client_tr.kind == SESSION_TRANSPORT_TLS)
			tls_begin(s, SESSION_FROM_CLIENT);
		else if (env->client_tr.kind == SESSION_TRANSPORT_SSESSION)
			ss_begin(s, SESSION_FROM_CLIENT);
		else
			s->side[SESSION_FROM_CLIENT].tstate = T_PG_PROBE;
		session_unref(s);
		return;
	}
	if (env->hooks != NULL && env->hooks->connect_db_later) {
		/* The protocol talks to the client first (transport handshake) and calls
		 * session_connect_db() when it is ready for the database. */
		if (hooks_open(s) != ACRA_OK)
			return;
		s->state = S_OPEN;
		event_add(s->side[SESSION_FROM_CLIENT].rev, NULL);
		return;
	}
	s->state = S_CONNECTING;
	start_db_connect(s);
}

/* The client side's transport is up (client id known): go on as a plain accept would. */
static void client_ready(struct session *s)
{
	const struct session_hooks *h = s->env->hooks;

	if (s->state != S_HANDSHAKE)
		return;
	if (h != NULL && h->connect_db_later) {
		if (hooks_open(s) != ACRA_OK)
			return;
		s->state = S_OPEN;
		s->refs++;
		process(s, SESSION_FROM_CLIENT);
		session_unref(s);
		return;
	}
	s->state = S_CONNECTING;
	start_db_connect(s);
}

bool session_client_tls(const struct session *s)
{
	return s->side[SESSION_FROM_CLIENT].ssl != NULL;
}

void session_connect_db(struct session *s)
{
	s->refs++;
	start_db_connect(s);
	session_unref(s);
}
