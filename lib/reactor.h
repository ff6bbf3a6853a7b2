/* lib/reactor.h: worker threads with their own libevent bases, listeners, signals.
 *
 * One main thread runs the main event_base: signals (SIGTERM/SIGINT drain and exit, SIGHUP
 * reload), unix-socket listeners, and whatever the mode adds (HTTP API, metrics). N worker
 * threads each run their own event_base; for tcp:// listeners every worker has its own
 * SO_REUSEPORT socket, so the kernel spreads connections and no lock is taken per
 * connection. A unix:// listener is one socket on the main base whose accepted fds are
 * handed round-robin to the workers through per-worker pipes. Connections never move
 * between workers: everything a session touches belongs to its worker's thread.
 *
 * Shutdown (spec/acra-runtime.md §2.10): listeners close, sessions have up to close_timeout
 * seconds to finish; then "Server graceful shutdown completed, bye PID: N" and reactor_run()
 * returns 0, or "Server shutdown Timeout: N active connections will be cut", the remaining
 * sessions are cut and reactor_run() returns 1 (Acra 0.82's exit code). A second
 * SIGTERM/SIGINT during the drain cuts at once. */
#ifndef ACRA_LIB_REACTOR_H
#define ACRA_LIB_REACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "lib/err.h"
#include "lib/net.h"

struct event_base;
struct reactor;
struct reactor_worker;

/* Something a worker must be able to cut at the shutdown deadline (a session). Embed it,
 * register with reactor_track(), and unregister with reactor_untrack() when it closes.
 * cut() must close the object and call reactor_untrack() on it. Fields private. */
struct reactor_item {
	struct reactor_item *prev, *next;
	void (*cut)(struct reactor_item *it);
};

/* Called on the worker's thread for every accepted connection. Takes fd (non-blocking,
 * close-on-exec). peer may be NULL for unix sockets. */
typedef void (*reactor_accept_fn)(struct reactor_worker *w, int fd, const struct sockaddr *peer,
				  socklen_t peer_len, void *arg);
/* Called on the main thread after SIGHUP. */
typedef void (*reactor_reload_fn)(void *arg);
/* init: called for each worker before its thread starts (the worker's base is idle, so
 * it may be set up from the main thread); fini: called on the worker's thread after its
 * loop ends. */
typedef int (*reactor_worker_init_fn)(struct reactor_worker *w, void *arg);
typedef void (*reactor_worker_fini_fn)(struct reactor_worker *w, void *arg);

/* New reactor with n_workers worker threads (0 = number of online CPUs). Threads start in
 * reactor_run(). Returns owned *out; free with reactor_free(). */
int reactor_new(struct reactor **out, unsigned n_workers) ACRA_MUSTCHECK;
void reactor_free(struct reactor *r);

/* Listen on a (tcp-like: one SO_REUSEPORT socket per worker; unix: one socket, fds passed
 * round-robin). fn(arg) gets the accepted connections. Returns 0 or ACRA_EIO/ACRA_EINVAL
 * with a message in err ("cannot listen on tcp://...: Address already in use"). */
int reactor_listen(struct reactor *r, const struct net_addr *a, reactor_accept_fn fn, void *arg,
		   char *err, size_t err_len) ACRA_MUSTCHECK;

void reactor_on_reload(struct reactor *r, reactor_reload_fn fn, void *arg);
void reactor_on_worker(struct reactor *r, reactor_worker_init_fn init,
		       reactor_worker_fini_fn fini, void *arg);

/* Start the workers and run the main loop until shutdown. Returns 0 after a graceful
 * drain, 1 when sessions were cut at the deadline, ACRA_E* if workers cannot start. */
int reactor_run(struct reactor *r, long close_timeout_s) ACRA_MUSTCHECK;

/* Begin the shutdown as SIGTERM would. Safe from any thread and from signal-free code
 * (poison record shutdown, tests). */
void reactor_shutdown(struct reactor *r);

struct event_base *reactor_main_base(struct reactor *r);
unsigned reactor_n_workers(const struct reactor *r);
/* Whether listeners are up and no shutdown has begun. */
bool reactor_serving(const struct reactor *r);
/* Sessions tracked by all workers (approximate while they change). */
size_t reactor_active(const struct reactor *r);

struct event_base *reactor_worker_base(struct reactor_worker *w);
unsigned reactor_worker_index(const struct reactor_worker *w);
/* Per-worker slot for the mode's own state (set in the init hook). */
void reactor_worker_set_data(struct reactor_worker *w, void *data);
void *reactor_worker_data(const struct reactor_worker *w);

/* Worker thread only. */
void reactor_track(struct reactor_worker *w, struct reactor_item *it);
void reactor_untrack(struct reactor_worker *w, struct reactor_item *it);

#endif
