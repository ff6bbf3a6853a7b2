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

#include "lib/metrics.h"
#include "lib/net.h"

#define CLOSE_FLUSH_TIMEOUT_S 5

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
};

/* S_REFUSING: the database is unreachable; the protocol answers the client itself. */
enum sstate { S_CONNECTING, S_OPEN, S_REFUSING, S_FLUSHING, S_CLOSED };

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
	void *proto;
	bool proto_open;
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

/* Write what is queued for side d. Returns 0, or -1 after closing the session. */
static int side_flush(struct session *s, int d)
{
	struct side *sd = &s->side[d];
	int n;

	if (d == SESSION_FROM_DB && !s->db_up)
		return 0; /* queued until the database is connected */
	while (evbuffer_get_length(sd->out) > 0) {
		n = evbuffer_write(sd->out, sd->fd);
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

static int process(struct session *s, int d);

/* Called when side d's output shrank: resume the other side if it was throttled; finish a
 * flushing close. Returns 0 or -1 if the session was closed. */
static int after_write(struct session *s, int d)
{
	struct side *other = &s->side[1 - d];

	if (s->state == S_FLUSHING) {
		if (d == s->flush_side && evbuffer_get_length(s->side[d].out) == 0) {
			session_close(s, LOG_INFO, 0, "%s", s->close_reason);
			return -1;
		}
		return 0;
	}
	if (other->throttled && evbuffer_get_length(s->side[d].out) <= SESSION_LOW_WATER) {
		other->throttled = false;
		if (!other->eof)
			event_add(other->rev, NULL);
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
	if (evbuffer_get_length(s->side[d].out) == 0 || (d == SESSION_FROM_DB && !s->db_up)) {
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
	if (side_flush(s, d) == 0 && evbuffer_get_length(s->side[d].out) == 0)
		session_close(s, LOG_INFO, 0, "%s", reason);
}

/* S_REFUSING: the client's bytes go to on_db_unreachable, answers go back to the client. */
static int process_refusing(struct session *s)
{
	struct side *c = &s->side[SESSION_FROM_CLIENT];
	size_t len;

	while ((len = evbuffer_get_length(c->in)) > 0 && len >= c->need) {
		struct session_answer ans;
		const uint8_t *p;
		size_t view = len < SESSION_READ_MAX ? len : SESSION_READ_MAX;

		if (c->need > view)
			view = c->need;
		p = evbuffer_pullup(c->in, (ev_ssize_t)view);
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
static int process(struct session *s, int d)
{
	struct side *src = &s->side[d], *dst = &s->side[1 - d];
	const struct session_hooks *h = s->env->hooks;
	void (*hook)(void *, struct session *, const uint8_t *, size_t, struct session_answer *) =
		NULL;
	size_t len;

	if (s->state == S_REFUSING && d == SESSION_FROM_CLIENT)
		return process_refusing(s);
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
	}
	if (evbuffer_get_length(dst->out) > 0) {
		if (send_to(s, 1 - d) < 0)
			return -1;
		if (evbuffer_get_length(dst->out) > SESSION_HIGH_WATER && !src->throttled) {
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

/* Which side an event belongs to: the fd tells. */
static int side_of(struct session *s, evutil_socket_t fd)
{
	return s->side[SESSION_FROM_DB].fd == fd ? SESSION_FROM_DB : SESSION_FROM_CLIENT;
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int d = side_of(s, fd);
	struct side *sd = &s->side[d];
	struct evbuffer_iovec v[2];
	int nv;
	ssize_t n;

	(void)what;
	/* Chains are allocated at 64 KiB minus libevent's chain header, so one malloc bucket. */
	nv = evbuffer_reserve_space(sd->in, SESSION_READ_MAX - 128, v, 2);
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
		evbuffer_commit_space(sd->in, v, nv);
		account(s, d, (size_t)n);
		s->refs++;
		process(s, d);
		session_unref(s);
		return;
	}
	evbuffer_commit_space(sd->in, v, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	sd->eof = true;
	if (n == 0) {
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
	session_close(s, LOG_INFO, 0, "%s connection error: %s", side_name[d], strerror(errno));
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
	if (side_flush(s, d) == 0)
		after_write(s, d);
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
		event_add(s->side[SESSION_FROM_CLIENT].rev, NULL);
	event_add(s->side[SESSION_FROM_DB].rev, NULL);
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
		session_close(s, LOG_ERROR, LOG_CODE_CONNECT_DB, "Can't connect to db %s: %s",
			      s->env->db_label, why);
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
	process_refusing(s);
	session_unref(s);
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
	db_connected(s);
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

void session_connect_db(struct session *s)
{
	s->refs++;
	start_db_connect(s);
	session_unref(s);
}
