/* lib/reactor.c: worker threads, per-worker SO_REUSEPORT listeners, signals, drain. */
#include "lib/reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "lib/log.h"

#define REACTOR_MAX_LISTENERS 8
#define REACTOR_BACKLOG 1024
#define REACTOR_MAX_WORKERS 256

enum msg_type { MSG_ACCEPT = 1, MSG_STOP_LISTEN, MSG_EXIT, MSG_CUT };

/* Message from the main thread to a worker: fits in PIPE_BUF, so pipe writes are atomic. */
struct msg {
	int32_t type;
	int32_t fd;
	uint32_t listener; /* MSG_ACCEPT: index into r->ls */
};

struct listener {
	struct reactor *r;
	struct net_addr addr;
	reactor_accept_fn fn;
	void *arg;
	struct evconnlistener *main_l; /* unix: on the main base */
	struct event *main_pause;      /* unix: re-enables main_l after an accept error */
	unsigned next_worker;          /* unix: round-robin cursor (main thread only) */
};

struct reactor_worker {
	struct reactor *r;
	unsigned index;
	pthread_t thread;
	bool started;
	struct event_base *base;
	int pipe_rd, pipe_wr;
	struct event *pipe_ev;
	struct evconnlistener *ls[REACTOR_MAX_LISTENERS]; /* tcp listeners of this worker */
	struct event *pause[REACTOR_MAX_LISTENERS];        /* re-enable ls[i] after an error */
	struct reactor_item head;                          /* tracked sessions, circular */
	_Atomic size_t active;
	void *data;
	int init_rc;
};

struct reactor {
	struct event_base *base;
	struct reactor_worker *w;
	unsigned n_workers;
	struct listener ls[REACTOR_MAX_LISTENERS];
	unsigned n_ls;
	struct event *sig_term, *sig_int, *sig_hup, *stop_ev, *drain_timer;
	reactor_reload_fn reload;
	void *reload_arg;
	reactor_worker_init_fn w_init;
	reactor_worker_fini_fn w_fini;
	void *w_arg;
	_Atomic bool serving;
	bool draining;
	struct timeval deadline;
	long close_timeout;
	int result;
};

static void worker_msg(struct reactor_worker *w, int type, int fd, unsigned listener)
{
	struct msg m = { type, fd, listener };
	ssize_t n;

	do
		n = write(w->pipe_wr, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(m)) {
		log_error("cannot notify worker %u: %s", w->index, strerror(errno));
		if (type == MSG_ACCEPT)
			close(fd);
	}
}

static void tcp_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			  int sa_len, void *arg)
{
	struct reactor_worker *w = arg;
	struct listener *li = NULL;

	for (unsigned i = 0; i < w->r->n_ls; i++)
		if (w->ls[i] == l)
			li = &w->r->ls[i];
	if (li == NULL) {
		close(fd);
		return;
	}
	li->fn(w, fd, sa, (socklen_t)sa_len, li->arg);
}

#define ACCEPT_PAUSE_MS 200

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/* EMFILE/ENFILE/ENOBUFS: the pending connection stays in the backlog, so accepting again
 * at once would spin. Pause this listener briefly (one log line per pause) and retry. */
static void pause_listener(struct evconnlistener *l, struct event **pause)
{
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };
	int e = EVUTIL_SOCKET_ERROR();

	log_code(LOG_ERROR, LOG_CODE_ACCEPT, "cannot accept connection: %s; pausing accept for %d ms",
		 evutil_socket_error_to_string(e), ACCEPT_PAUSE_MS);
	if (*pause == NULL)
		*pause = evtimer_new(evconnlistener_get_base(l), resume_cb, l);
	if (*pause != NULL && evconnlistener_disable(l) == 0)
		evtimer_add(*pause, &tv);
}

static void tcp_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct reactor_worker *w = arg;

	for (unsigned i = 0; i < REACTOR_MAX_LISTENERS; i++)
		if (w->ls[i] == l) {
			pause_listener(l, &w->pause[i]);
			return;
		}
}

static void unix_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct listener *li = arg;

	pause_listener(l, &li->main_pause);
}

static void unix_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			   int sa_len, void *arg)
{
	struct listener *li = arg;
	struct reactor *r = li->r;
	unsigned wi = li->next_worker++ % r->n_workers;

	(void)l;
	(void)sa;
	(void)sa_len;
	worker_msg(&r->w[wi], MSG_ACCEPT, fd, (unsigned)(li - r->ls));
}

static void worker_close_listeners(struct reactor_worker *w)
{
	for (unsigned i = 0; i < REACTOR_MAX_LISTENERS; i++) {
		if (w->pause[i] != NULL) {
			event_free(w->pause[i]);
			w->pause[i] = NULL;
		}
		if (w->ls[i] != NULL) {
			evconnlistener_free(w->ls[i]);
			w->ls[i] = NULL;
		}
	}
}

static void worker_cut_all(struct reactor_worker *w)
{
	while (w->head.next != &w->head) {
		struct reactor_item *it = w->head.next;

		it->cut(it);
		if (w->head.next == it) /* cut() forgot to untrack: do it so we terminate */
			reactor_untrack(w, it);
	}
}

static void pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reactor_worker *w = arg;
	struct msg m;
	ssize_t n;

	(void)what;
	for (;;) {
		n = read(fd, &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			return; /* EAGAIN: drained */
		switch (m.type) {
		case MSG_ACCEPT:
			if (m.listener < w->r->n_ls)
				w->r->ls[m.listener].fn(w, m.fd, NULL, 0, w->r->ls[m.listener].arg);
			else
				close(m.fd);
			break;
		case MSG_STOP_LISTEN:
			worker_close_listeners(w);
			break;
		case MSG_CUT:
			worker_close_listeners(w);
			worker_cut_all(w);
			event_base_loopbreak(w->base);
			break;
		case MSG_EXIT:
			event_base_loopbreak(w->base);
			break;
		}
	}
}

static void *worker_main(void *arg)
{
	struct reactor_worker *w = arg;
	sigset_t all;

	/* Signals go to the main thread only. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	worker_close_listeners(w);
	worker_cut_all(w);
	if (w->r->w_fini != NULL)
		w->r->w_fini(w, w->r->w_arg);
	return NULL;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg);
static void stop_cb(evutil_socket_t fd, short what, void *arg);

int reactor_new(struct reactor **out, unsigned n_workers)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct reactor *r;
	struct event_config *ec = NULL;
	int rc = ACRA_ENOMEM;

	*out = NULL;
	pthread_once(&once, (void (*)(void))evthread_use_pthreads);
	if (n_workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		n_workers = n > 0 ? (unsigned)n : 1;
	}
	if (n_workers > REACTOR_MAX_WORKERS)
		n_workers = REACTOR_MAX_WORKERS;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ACRA_ENOMEM;
	r->n_workers = n_workers;
	r->w = calloc(n_workers, sizeof(r->w[0]));
	r->base = event_base_new();
	ec = event_config_new();
	if (r->w == NULL || r->base == NULL || ec == NULL)
		goto fail;
	/* Worker bases are touched only by their own thread (messages come through a pipe), so
	 * they need no internal lock. */
	event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
	for (unsigned i = 0; i < n_workers; i++) {
		struct reactor_worker *w = &r->w[i];
		int p[2];

		w->r = r;
		w->index = i;
		w->pipe_rd = w->pipe_wr = -1;
		w->head.next = w->head.prev = &w->head;
		w->base = event_base_new_with_config(ec);
		if (w->base == NULL)
			goto fail;
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
			rc = ACRA_EIO;
			goto fail;
		}
		w->pipe_rd = p[0];
		w->pipe_wr = p[1];
		w->pipe_ev = event_new(w->base, w->pipe_rd, EV_READ | EV_PERSIST, pipe_cb, w);
		if (w->pipe_ev == NULL || event_add(w->pipe_ev, NULL) != 0)
			goto fail;
	}
	event_config_free(ec);
	ec = NULL;
	/* Signals are caught from now on (and handled once the loop runs), so a SIGTERM sent
	 * as soon as the listeners are up is never fatal. */
	signal(SIGPIPE, SIG_IGN);
	r->sig_term = evsignal_new(r->base, SIGTERM, signal_cb, r);
	r->sig_int = evsignal_new(r->base, SIGINT, signal_cb, r);
	r->sig_hup = evsignal_new(r->base, SIGHUP, signal_cb, r);
	r->stop_ev = event_new(r->base, -1, 0, stop_cb, r);
	if (r->sig_term == NULL || r->sig_int == NULL || r->sig_hup == NULL || r->stop_ev == NULL ||
	    event_add(r->sig_term, NULL) != 0 || event_add(r->sig_int, NULL) != 0 ||
	    event_add(r->sig_hup, NULL) != 0)
		goto fail;
	*out = r;
	return ACRA_OK;
fail:
	event_config_free(ec);
	reactor_free(r);
	return rc;
}

void reactor_free(struct reactor *r)
{
	if (r == NULL)
		return;
	for (unsigned i = 0; i < r->n_ls; i++) {
		if (r->ls[i].main_pause != NULL)
			event_free(r->ls[i].main_pause);
		if (r->ls[i].main_l != NULL)
			evconnlistener_free(r->ls[i].main_l);
		if (r->ls[i].addr.scheme == NET_UNIX)
			unlink(r->ls[i].addr.path);
	}
	for (unsigned i = 0; r->w != NULL && i < r->n_workers; i++) {
		struct reactor_worker *w = &r->w[i];

		worker_close_listeners(w);
		if (w->pipe_ev != NULL)
			event_free(w->pipe_ev);
		if (w->pipe_rd >= 0)
			close(w->pipe_rd);
		if (w->pipe_wr >= 0)
			close(w->pipe_wr);
		if (w->base != NULL)
			event_base_free(w->base);
	}
	free(r->w);
	if (r->sig_term != NULL)
		event_free(r->sig_term);
	if (r->sig_int != NULL)
		event_free(r->sig_int);
	if (r->sig_hup != NULL)
		event_free(r->sig_hup);
	if (r->stop_ev != NULL)
		event_free(r->stop_ev);
	if (r->drain_timer != NULL)
		event_free(r->drain_timer);
	if (r->base != NULL)
		event_base_free(r->base);
	free(r);
}

int reactor_listen(struct reactor *r, const struct net_addr *a, reactor_accept_fn fn, void *arg,
		   char *err, size_t err_len)
{
	struct listener *li;
	int fd, rc;

	if (r->n_ls >= REACTOR_MAX_LISTENERS) {
		snprintf(err, err_len, "too many listeners");
		return ACRA_EINVAL;
	}
	li = &r->ls[r->n_ls];
	memset(li, 0, sizeof(*li));
	li->r = r;
	li->addr = *a;
	li->fn = fn;
	li->arg = arg;
	if (!net_is_tcp(a)) {
		rc = net_listen(a, false, REACTOR_BACKLOG, &fd, err, err_len);
		if (rc != ACRA_OK)
			return rc;
		li->main_l = evconnlistener_new(r->base, unix_accept_cb, li,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
						fd);
		if (li->main_l == NULL) {
			close(fd);
			unlink(a->path);
			snprintf(err, err_len, "cannot set up listener");
			return ACRA_ENOMEM;
		}
		evconnlistener_set_error_cb(li->main_l, unix_accept_error_cb);
		r->n_ls++;
		atomic_store(&r->serving, true);
		return ACRA_OK;
	}
	/* SO_REUSEPORT would let us join another process's group on the same port silently:
	 * make sure nobody holds it first. */
	rc = net_check_free(a, err, err_len);
	if (rc != ACRA_OK)
		return rc;
	for (unsigned i = 0; i < r->n_workers; i++) {
		struct reactor_worker *w = &r->w[i];

		rc = net_listen(a, true, REACTOR_BACKLOG, &fd, err, err_len);
		if (rc == ACRA_OK) {
			w->ls[r->n_ls] = evconnlistener_new(w->base, tcp_accept_cb, w,
							    LEV_OPT_CLOSE_ON_FREE |
								    LEV_OPT_CLOSE_ON_EXEC,
							    0, fd);
			if (w->ls[r->n_ls] == NULL) {
				close(fd);
				snprintf(err, err_len, "cannot set up listener");
				rc = ACRA_ENOMEM;
			}
		}
		if (rc != ACRA_OK) {
			for (unsigned j = 0; j <= i; j++)
				if (r->w[j].ls[r->n_ls] != NULL) {
					evconnlistener_free(r->w[j].ls[r->n_ls]);
					r->w[j].ls[r->n_ls] = NULL;
				}
			return rc;
		}
		evconnlistener_set_error_cb(w->ls[r->n_ls], tcp_accept_error_cb);
	}
	r->n_ls++;
	atomic_store(&r->serving, true);
	return ACRA_OK;
}

void reactor_on_reload(struct reactor *r, reactor_reload_fn fn, void *arg)
{
	r->reload = fn;
	r->reload_arg = arg;
}

void reactor_on_worker(struct reactor *r, reactor_worker_init_fn init, reactor_worker_fini_fn fini,
		       void *arg)
{
	r->w_init = init;
	r->w_fini = fini;
	r->w_arg = arg;
}

size_t reactor_active(const struct reactor *r)
{
	size_t n = 0;

	for (unsigned i = 0; i < r->n_workers; i++)
		n += atomic_load_explicit(&r->w[i].active, memory_order_relaxed);
	return n;
}

static void broadcast(struct reactor *r, int type)
{
	for (unsigned i = 0; i < r->n_workers; i++)
		if (r->w[i].started)
			worker_msg(&r->w[i], type, -1, 0);
}

static void finish(struct reactor *r, int result)
{
	r->result = result;
	broadcast(r, result == 0 ? MSG_EXIT : MSG_CUT);
	event_base_loopbreak(r->base);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reactor *r = arg;
	struct timeval now;
	size_t n = reactor_active(r);

	(void)fd;
	(void)what;
	if (n == 0) {
		log_info("Server graceful shutdown completed, bye PID: %ld", (long)getpid());
		finish(r, 0);
		return;
	}
	evutil_gettimeofday(&now, NULL);
	if (evutil_timercmp(&now, &r->deadline, >=)) {
		log_warn("Server shutdown Timeout: %zu active connections will be cut", n);
		finish(r, 1);
	}
}

static void begin_shutdown(struct reactor *r, const char *why)
{
	struct timeval tick = { 0, 50000 }, now, span;

	if (r->draining) {
		size_t n = reactor_active(r);

		log_warn("%s during shutdown: %zu active connections will be cut", why, n);
		finish(r, n == 0 ? 0 : 1);
		return;
	}
	r->draining = true;
	atomic_store(&r->serving, false);
	log_info("%s: stop accepting connections, waiting up to %lds for %zu active connections",
		 why, r->close_timeout, reactor_active(r));
	for (unsigned i = 0; i < r->n_ls; i++) {
		if (r->ls[i].main_pause != NULL) {
			event_free(r->ls[i].main_pause);
			r->ls[i].main_pause = NULL;
		}
		if (r->ls[i].main_l != NULL) {
			evconnlistener_free(r->ls[i].main_l);
			r->ls[i].main_l = NULL;
		}
	}
	broadcast(r, MSG_STOP_LISTEN);
	evutil_gettimeofday(&now, NULL);
	span.tv_sec = r->close_timeout;
	span.tv_usec = 0;
	evutil_timeradd(&now, &span, &r->deadline);
	r->drain_timer = event_new(r->base, -1, EV_PERSIST, drain_cb, r);
	if (r->drain_timer == NULL || event_add(r->drain_timer, &tick) != 0) {
		finish(r, 1);
		return;
	}
	drain_cb(-1, 0, r);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct reactor *r = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_info("Received SIGHUP: reloading configuration");
		if (r->reload != NULL)
			r->reload(r->reload_arg);
		return;
	}
	begin_shutdown(r, sig == SIGINT ? "Received SIGINT" : "Received SIGTERM");
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	begin_shutdown(arg, "Shutdown requested");
}

void reactor_shutdown(struct reactor *r)
{
	if (r->stop_ev != NULL)
		event_active(r->stop_ev, EV_TIMEOUT, 0);
}

int reactor_run(struct reactor *r, long close_timeout_s)
{
	int rc = ACRA_OK;

	r->close_timeout = close_timeout_s;
	for (unsigned i = 0; i < r->n_workers; i++) {
		struct reactor_worker *w = &r->w[i];

		if (r->w_init != NULL) {
			rc = r->w_init(w, r->w_arg);
			if (rc != ACRA_OK)
				break;
		}
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			if (r->w_fini != NULL)
				r->w_fini(w, r->w_arg);
			rc = ACRA_ENOMEM;
			break;
		}
		w->started = true;
	}
	if (rc == ACRA_OK)
		event_base_dispatch(r->base);
	else
		broadcast(r, MSG_EXIT);
	for (unsigned i = 0; i < r->n_workers; i++)
		if (r->w[i].started) {
			pthread_join(r->w[i].thread, NULL);
			r->w[i].started = false;
		}
	return rc != ACRA_OK ? rc : r->result;
}

struct event_base *reactor_main_base(struct reactor *r)
{
	return r->base;
}

unsigned reactor_n_workers(const struct reactor *r)
{
	return r->n_workers;
}

bool reactor_serving(const struct reactor *r)
{
	return atomic_load(&((struct reactor *)r)->serving);
}

struct event_base *reactor_worker_base(struct reactor_worker *w)
{
	return w->base;
}

unsigned reactor_worker_index(const struct reactor_worker *w)
{
	return w->index;
}

void reactor_worker_set_data(struct reactor_worker *w, void *data)
{
	w->data = data;
}

void *reactor_worker_data(const struct reactor_worker *w)
{
	return w->data;
}

void reactor_track(struct reactor_worker *w, struct reactor_item *it)
{
	it->next = w->head.next;
	it->prev = &w->head;
	w->head.next->prev = it;
	w->head.next = it;
	atomic_store_explicit(&w->active, atomic_load_explicit(&w->active, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void reactor_untrack(struct reactor_worker *w, struct reactor_item *it)
{
	if (it->next == NULL)
		return;
	it->prev->next = it->next;
	it->next->prev = it->prev;
	it->next = it->prev = NULL;
	atomic_store_explicit(&w->active, atomic_load_explicit(&w->active, memory_order_relaxed) - 1,
			      memory_order_relaxed);
}
