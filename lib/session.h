/* lib/session.h: one proxied connection: the client side and the database side (each a
 * socket with read/write events and an input and output evbuffer), and the protocol hooks
 * between them (DESIGN.md "How data flows").
 *
 * The sides do their own I/O on evbuffers instead of using socket bufferevents: libevent
 * 2.1's evbuffer_read() reads at most 4 KiB per call whatever the max_single_read, while a
 * session reads up to SESSION_READ_MAX bytes per readv(2) straight into evbuffer chains
 * (evbuffer_reserve_space), and writes at once when data arrives instead of waiting for
 * the next loop iteration.
 *
 * Bytes read from one side are offered to the protocol hook of that direction as one
 * contiguous view; the hook answers per call (struct session_answer): pass n bytes on
 * unchanged (moved between evbuffers without copying, n may run past the bytes present so
 * a large message streams through), replace n bytes with bytes it built, wait until n bytes
 * are present, or close the session. Without hooks the session is a pure relay that parses
 * nothing.
 *
 * Backpressure: when the side being written to holds more than SESSION_HIGH_WATER bytes
 * unsent, reading from the other side stops until it drains below SESSION_LOW_WATER, so a
 * slow reader never makes the proxy buffer without bound.
 *
 * Transports (struct session_transport, below) sit between the sockets and the hooks: TLS
 * (OpenSSL on the non-blocking fd), PostgreSQL's SSLRequest then TLS, or Themis Secure
 * Session (proto/ssession); hooks always see plaintext protocol bytes.
 *
 * A session lives on one reactor worker and is touched only by that worker's thread. It is
 * freed in one place, which logs the reason once. */
#ifndef ACRA_LIB_SESSION_H
#define ACRA_LIB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/reactor.h"

#define SESSION_READ_MAX (64 * 1024)    /* bytes per read(2) */
#define SESSION_HIGH_WATER (256 * 1024) /* stop reading the other side above this */
#define SESSION_LOW_WATER (64 * 1024)   /* resume below this */
#define SESSION_NEED_MAX (64 * 1024 * 1024) /* largest contiguous view a hook may ask for */

struct session;
struct metric;
struct ec_priv;
struct ssl_ctx_st;

enum session_dir { SESSION_FROM_CLIENT = 0, SESSION_FROM_DB = 1 };

enum session_verdict {
	SESSION_PASS,      /* forward n bytes unchanged; n may exceed len */
	SESSION_REPLACE,   /* drop n bytes (n <= len); send out[0..out_len) instead */
	SESSION_NEED_MORE, /* call again when at least n bytes are buffered (n > len) */
	SESSION_CLOSE,     /* close the session; reason names why (static string). out goes
			    * back to the sender; from the database side with no out, bytes
			    * already queued for the client are delivered first */
};

/* A hook's answer. out is borrowed until the hook returns (the glue copies it). With
 * to_sender set, REPLACE sends out back to the side the bytes came from (an error reply)
 * instead of onward. */
struct session_answer {
	enum session_verdict verdict;
	size_t n;
	const uint8_t *out;
	size_t out_len;
	bool to_sender;
	const char *reason;
};

/* Protocol hooks for a session. Every pointer may be NULL (NULL on_*_bytes = pass all). */
struct session_hooks {
	/* false: the database is dialled at accept and the client is read once it is
	 * connected. true: the client is read at once (a transport handshake such as Secure
	 * Session comes first) and the database is dialled when a hook calls
	 * session_connect_db(); bytes for it wait in its buffer until then. */
	bool connect_db_later;
	/* Called once the database is connected (or at accept with connect_db_later);
	 * returns owned protocol state in *state. */
	int (*open)(struct session *s, void *arg, void **state);
	/* Bytes from the client (p, len borrowed: valid during the call only). */
	void (*on_client_bytes)(void *state, struct session *s, const uint8_t *p, size_t len,
				struct session_answer *ans);
	/* Bytes from the database. */
	void (*on_db_bytes)(void *state, struct session *s, const uint8_t *p, size_t len,
			    struct session_answer *ans);
	/* Frees the state; called exactly once if open() succeeded. */
	void (*close)(void *state);
	/* The database could not be reached: lets the protocol answer the client in its own
	 * terms (PostgreSQL: 'N' to SSLRequest, then an ErrorResponse to the StartupMessage)
	 * instead of a bare disconnect. Called with the client's bytes and the hooks' arg (the
	 * state may not exist). REPLACE with to_sender replies and reads on; NEED_MORE waits;
	 * CLOSE (or anything else) sends out to the client and closes. The client gets
	 * SESSION_REFUSE_TIMEOUT_S seconds to finish. NULL: the client is closed at once. */
	void (*on_db_unreachable)(void *arg, const uint8_t *p, size_t len,
				  struct session_answer *ans);
};

#define SESSION_REFUSE_TIMEOUT_S 5

/* Metric series the sessions update; any may be NULL. */
struct session_metrics {
	struct metric *connections;   /* counter, each accepted connection */
	struct metric *processing;    /* histogram, session lifetime in seconds */
	struct metric *bytes_to_db;   /* counter */
	struct metric *bytes_to_client;
	struct metric *db_errors;     /* counter, failed database connects */
};

/* ---- transports ------------------------------------------------------------------------
 * Under the hooks each side has a transport; hooks always see the plaintext protocol bytes.
 * The client side is accepted (server role), the database side is dialled (client role).
 * A client-side handshake (TLS, Secure Session) completes before the database is dialled,
 * so the client id it yields is set before the hooks' open(); a database-side handshake
 * completes before the database counts as connected. A failed handshake closes the session
 * with one log line; no bytes pass either way. */
enum session_transport_kind {
	SESSION_TRANSPORT_PLAIN = 0, /* bytes as they are */
	SESSION_TRANSPORT_TLS,       /* TLS from the first byte */
	/* PostgreSQL: client side: an SSLRequest is answered 'S' and TLS follows (a client
	 * that sends a StartupMessage instead stays plain; a GSSENCRequest is answered 'N');
	 * database side: an SSLRequest goes to the database first, TLS follows its 'S', and
	 * its 'N' (a server without SSL) leaves the connection plain. */
	SESSION_TRANSPORT_PG_TLS,
	SESSION_TRANSPORT_SSESSION, /* Themis Secure Session with Acra 0.82's framing */
	/* MySQL: both sides start plain; when the client sends an SSLRequest the hooks call
	 * session_starttls(): the request goes on to the database and TLS starts on both
	 * sides (client side with tls, database side with the database side's tls). Set it
	 * on both sides. */
	SESSION_TRANSPORT_MYSQL_TLS,
};

/* Secure Session keys. Server role (client side): own_key is called when the connector
 * names its client id; it returns the key to answer with (borrowed until release(handle))
 * and peer_key maps the connector's presented id to its public key. Client role (database
 * side, acra connector): id is announced before the handshake, own_key is called with it,
 * and peer_key gives the server's public key whatever id the server presents. */
struct session_ss_keys {
	const char *id; /* client role: own client id */
	int (*own_key)(void *arg, const char *client_id, const struct ec_priv **key,
		       void **handle);
	void (*release)(void *arg, void *handle);
	int (*peer_key)(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub,
			size_t *pub_len);
	void *arg;
};

struct session_transport {
	enum session_transport_kind kind;
	struct ssl_ctx_st *tls;   /* TLS, PG_TLS: borrowed SSL_CTX (lib/tls.h) */
	const char *server_name;  /* client role TLS: name the certificate must carry */
	bool id_from_cert;        /* server role TLS: client id from the peer certificate */
	int id_extractor;         /* enum tls_id_extractor */
	const struct session_ss_keys *ss; /* SSESSION */
	long handshake_timeout_s; /* 0: 10 s */
};

/* Everything a new session needs; immutable once published (see session_listener). Owned
 * by the mode, must outlive every session created with it. */
struct session_env {
	char db_host[256];
	unsigned db_port;
	char db_label[272]; /* "host:port" or "[v6]:port", for logs */
	struct sockaddr_storage db_addr; /* valid when db_numeric */
	socklen_t db_addr_len;
	bool db_numeric;
	long connect_timeout_s;
	const char *client_id; /* static client id, or NULL */
	const struct session_hooks *hooks;
	void *hooks_arg;
	const struct session_metrics *metrics;
	/* Transports (zeroed: plain on both sides). */
	struct session_transport client_tr, db_tr;
	const char *db_what; /* "acra server" etc. in connect errors; NULL = "db" */
	/* Instead of dialling db_host: called once the client side is ready (its transport
	 * handshake done, client id known) to get an already connected socket for the
	 * "database" side, e.g. one end of a socketpair whose other end an in-process server
	 * (acra translator's HTTP API) serves for session_client_id(s). Returns 0 and *fd
	 * (owned by the session from then on), or an ACRA_E* code (the client is closed).
	 * db_tr applies to it as to a dialled socket. */
	int (*db_attach)(void *arg, struct session *s, int *fd);
	void *db_attach_arg;
};

/* Fill env's database target from host and port (numeric addresses are pre-parsed so
 * connects skip DNS). Pure. Returns 0 or ACRA_EINVAL for an over-long host. */
int session_env_set_db(struct session_env *env, const char *host, unsigned port) ACRA_MUSTCHECK;

/* Pass as the arg of reactor_listen() with session_accept; env may be swapped (SIGHUP) with
 * session_listener_publish() while workers accept: new sessions take the new env, running
 * ones keep theirs. */
struct session_listener {
	const struct session_env *_Atomic env;
};

void session_listener_publish(struct session_listener *l, const struct session_env *env);

/* reactor_accept_fn: start a session for fd (arg is a struct session_listener *). */
void session_accept(struct reactor_worker *w, int fd, const struct sockaddr *peer,
		    socklen_t peer_len, void *arg);

/* reactor worker hooks: per-worker DNS resolver state. Pass to reactor_on_worker. */
int session_worker_init(struct reactor_worker *w, void *arg);
void session_worker_fini(struct reactor_worker *w, void *arg);

/* Start connecting to the database (sessions with connect_db_later); no-op if begun. May
 * end the session at once (the database refuses): a hook calling it must return right
 * after, and the glue then drops its answer. */
void session_connect_db(struct session *s);

/* From a client hook answering the client's request for TLS (MySQL SSLRequest) with PASS or
 * REPLACE of exactly that request: once the answer is applied, the request is written to
 * the database and TLS starts on both sides (SESSION_TRANSPORT_MYSQL_TLS). Bytes behind the
 * request are the client's TLS handshake; the hooks see the next plaintext bytes. */
void session_starttls(struct session *s);
/* Can this session upgrade to TLS (a MySQL TLS transport with contexts on both sides)? */
bool session_tls_offered(const struct session *s);

/* Did the client side negotiate TLS (directly or after a PostgreSQL SSLRequest)? */
bool session_client_tls(const struct session *s);

/* Accessors for hooks. */
const struct log_ctx *session_log_ctx(const struct session *s);
uint64_t session_id(const struct session *s);
const char *session_client_id(const struct session *s);
/* Set the client id (e.g. taken from a TLS certificate); copied. Returns 0 or ACRA_EINVAL. */
int session_set_client_id(struct session *s, const char *id) ACRA_MUSTCHECK;

#endif
