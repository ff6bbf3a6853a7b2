/* modes/translator.c: `acra translator` (acra-translator): encryption as a service over HTTP.
 * Flags follow spec/acra-runtime.md §1.6; the API is §5.2 (v1, raw bytes) and §5.3 (v2,
 * JSON with base64); tokenization and searchable layouts are spec/acra-formats.md §6.
 *
 * Threads: lib/reactor runs the signals on the main thread and N workers. The HTTP listener
 * is one socket; every worker has its own evhttp on a dup() of it, so the kernel hands
 * each new connection to one worker and a connection stays on that worker. Handlers run
 * the crypto inline (it is short and CPU-bound); each worker has its own codec. The
 * keystore and the token store are shared (both thread-safe / locked).
 *
 * Client id: one place decides it for a request, conn_client_id(): with Secure Session from
 * acra connector (the default without --client_id and TLS, as Acra 0.82) the id of the
 * connector's handshake (ss_attach / ss_bind), over TLS the id derived from the client
 * certificate (spec/acra-runtime.md §2.6), else the static --client_id. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "lib/certid.h"
#include "lib/codec.h"
#include "lib/conf.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/envelope.h"
#include "lib/crypto/sym.h"
#include "lib/crypto/zone.h"
#include "lib/http.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/net.h"
#include "lib/reactor.h"
#include "lib/session.h"
#include "lib/ssaccept.h"
#include "lib/tokenize.h"
#include "lib/tokenstore.h"
#include "lib/version.h"
#include "modes/modes.h"

#define BODY_MAX_DEFAULT "4194304"
#define TOKEN_RETRIES 16

extern char **environ;

struct tr_cfg {
	struct conf_base base;
	char *http_string, *grpc_string;
	long close_timeout;
	char *keys_dir;
	struct keystore_master_flags master;
	struct keystore_redis_opts redis;
	long keystore_cache_size;
	char *client_id;
	bool poison_detect_enable, poison_shutdown_enable;
	char *poison_run_script_file;
	char *prometheus_string;
	long worker_threads;
	long http_body_max_bytes, http_timeout;
	char *token_db;
	char *tls_key, *tls_cert, *tls_ca;
	long tls_auth;
	int tls_identifier_extractor_type;
	bool tls_transport_enable, client_id_from_connection;
	bool connector_raw;

	struct net_addr listen_addr, metrics_addr;
	bool metrics_enabled, tls;
	bool ssession; /* Secure Session from acra connector on the HTTP listener */
};

static const char *const id_extractors[] = { "distinguished_name", "serial_number", NULL };

#define T struct tr_cfg
static const struct conf_opt tr_opts[] = {
	CONF_STR("incoming_connection_http_string", T, http_string, NULL,
		 "Connection string for HTTP transport like http://x.x.x.x:yyyy (also tcp:// and "
		 "unix:///path)"),
	CONF_STR("incoming_connection_grpc_string", T, grpc_string, NULL,
		 "Connection string for gRPC transport like grpc://x.x.x.x:yyyy (gRPC is not "
		 "served by this implementation)"),
	CONF_INT("incoming_connection_close_timeout", T, close_timeout, "10", 0, 86400,
		 "Time that AcraTranslator will wait (in seconds) on stop signal before closing all "
		 "connections"),
	CONF_STR("keys_dir", T, keys_dir, ".acrakeys", "Folder from which will be loaded keys"),
	CONF_INT("keystore_cache_size", T, keystore_cache_size, "1000", -1, 1000000000,
		 "Maximum number of keys stored in in-memory LRU cache in encrypted form. 0 - no "
		 "limits, -1 - turn off cache. Default is 1000"),
	CONF_STR("client_id", T, client_id, NULL,
		 "Static ClientID used for every plain HTTP request (use on trusted networks only)"),
	CONF_BOOL("poison_detect_enable", T, poison_detect_enable, "false",
		  "Turn on poison record detection"),
	CONF_BOOL("poison_shutdown_enable", T, poison_shutdown_enable, "false",
		  "On detecting poison record: log about poison record detection, stop and shutdown"),
	CONF_STR("poison_run_script_file", T, poison_run_script_file, NULL,
		 "On detecting poison record: log about poison record detection, execute script"),
	CONF_STR("incoming_connection_prometheus_metrics_string", T, prometheus_string, NULL,
		 "URL (tcp://host:port) which will be used to expose Prometheus metrics "
		 "(<URL>/metrics address to pull metrics)"),
	CONF_INT("worker_threads", T, worker_threads, "0", 0, 256,
		 "Number of worker threads serving connections (0: one per CPU core)"),
	CONF_INT("http_body_max_bytes", T, http_body_max_bytes, BODY_MAX_DEFAULT, 1, 1L << 30,
		 "Largest accepted request body in bytes (larger: 413)"),
	CONF_INT("http_timeout", T, http_timeout, "30", 1, 86400,
		 "Seconds a connection may take to send a request or stay idle between requests"),
	CONF_STR("token_db", T, token_db, NULL,
		 "File to keep tokens in (append-only); empty: tokens are kept in memory only"),
	CONF_STR("tls_key", T, tls_key, NULL,
		 "Path to private key that will be used for TLS connections"),
	CONF_STR("tls_cert", T, tls_cert, NULL, "Path to certificate"),
	CONF_STR("tls_ca", T, tls_ca, NULL,
		 "Path to root certificate which will be used with system root certificates to "
		 "validate peer's certificate"),
	CONF_INT("tls_auth", T, tls_auth, "4", 0, 4,
		 "Set authentication mode that will be used in TLS connection. Values in range 0-4"),
	CONF_ENUM("tls_identifier_extractor_type", T, tls_identifier_extractor_type,
		  "distinguished_name", id_extractors,
		  "Decide which field of TLS certificate to use as ClientID (distinguished_name|"
		  "serial_number)"),
	CONF_BOOL("acratranslator_tls_transport_enable", T, tls_transport_enable, "false",
		  "Use tls to encrypt transport between AcraTranslator and client"),
	CONF_BOOL("acratranslator_client_id_from_connection_enable", T,
		  client_id_from_connection, "false",
		  "Use clientID from TLS certificates or secure session handshake instead clientID "
		  "from requests"),
	CONF_IGNORED("securesession_id", CONF_T_STR, "acra_translator",
		     "Id that will be sent in secure session"),
	CONF_BOOL("acraconnector_transport_encryption_disable", T, connector_raw, "false",
		  "Enable this flag to omit AcraConnector and connect client app to "
		  "AcraTranslator directly"),
	CONF_IGNORED("keystore_cache_on_start_enable", CONF_T_BOOL, "true",
		     "Load all keys to cache on start"),
	KEYSTORE_MASTER_CONF(struct tr_cfg, master),
	KEYSTORE_REDIS_CONF(struct tr_cfg, redis, "-1"),
	KEYSTORE_REDIS_CONF_TOKENS(struct tr_cfg, redis),
	CONF_IGNORED("audit_log_enable", CONF_T_BOOL, "false", "Enable audit log functionality"),
	CONF_IGNORED("tracing_log_enable", CONF_T_BOOL, "false", "Enable tracing logs"),
	CONF_IGNORED("tracing_jaeger_enable", CONF_T_BOOL, "false", "Export trace data to jaeger"),
	CONF_IGNORED("jaeger_agent_endpoint", CONF_T_STR, NULL, "Jaeger agent endpoint"),
	CONF_IGNORED("jaeger_collector_endpoint", CONF_T_STR, NULL, "Jaeger collector endpoint"),
	CONF_IGNORED("jaeger_basic_auth_username", CONF_T_STR, NULL, "Jaeger username"),
	CONF_IGNORED("jaeger_basic_auth_password", CONF_T_STR, NULL, "Jaeger password"),
	CONF_IGNORED("tls_crl_url", CONF_T_STR, NULL, "URL of the Certificate Revocation List"),
	CONF_IGNORED("tls_ocsp_url", CONF_T_STR, NULL, "OCSP service URL"),
	CONF_END,
};
#undef T

static const struct conf_spec tr_spec = {
	.mode = "translator",
	.service = "acra-translator",
	.summary = "encryption as a service over HTTP (API v1 and v2)",
	.opts = tr_opts,
};

/* ---- state ---- */

enum tr_op {
	OP_DECRYPT,
	OP_ENCRYPT,
	OP_DECRYPT_SYM,
	OP_ENCRYPT_SYM,
	OP_DECRYPT_SEARCH,
	OP_ENCRYPT_SEARCH,
	OP_DECRYPT_SYM_SEARCH,
	OP_ENCRYPT_SYM_SEARCH,
	OP_QUERY_HASH,
	OP_TOKENIZE,
	OP_DETOKENIZE,
	OP_N
};

static const char *const op_names[OP_N] = {
	"decrypt", "encrypt", "decryptSym", "encryptSym", "decryptSearchable",
	"encryptSearchable", "decryptSymSearchable", "encryptSymSearchable", "generateQueryHash",
	"tokenize", "detokenize",
};

struct tr {
	struct tr_cfg *cfg;
	struct keystore *ks;
	struct codec_keys keys;
	struct tokenstore *tokens;
	struct reactor *reactor;
	struct metrics *metrics;
	struct http_server *metrics_http;
	int listen_fd;
	SSL_CTX *ssl_ctx;
	/* Secure Session from acra connector: the listener runs lib/session's handshake and
	 * attaches each authenticated connection to the worker's evhttp (ss_attach). */
	struct ssaccept_keys ss_keys;
	struct session_env ss_env;
	struct session_listener ss_listener;
	struct event *sig_term, *sig_int;
	_Atomic bool stopping; /* SIGTERM/SIGINT seen: workers stop accepting */
	struct metric *connections;
	struct metric *latency[2][OP_N]; /* [v1, v2][op] */
	struct metric *dec_ok[2], *dec_fail[2], *enc_ok[2], *enc_fail[2]; /* [struct, block] */
	struct metric *tok_ok[6], *tok_fail[6], *detok_ok[6], *detok_fail[6];
};

struct tr_worker {
	struct tr *tr;
	struct reactor_worker *rw;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *watch; /* notices the start of a shutdown */
	struct codec *codec;
	/* Secure Session mode: lib/session's per-worker state, the private listener the
	 * decrypted connections reach this evhttp through, and the connector ids bound to
	 * them. */
	void *session_worker;
	struct sockaddr_un ss_addr;
	socklen_t ss_addr_len;
	struct ss_peer *peers;
};

/* A connection from acra connector after its Secure Session handshake: the local end of
 * the decrypted stream is a unix socket with a kernel-assigned abstract name, connected to
 * the worker's private listener. The evhttp connection that accepted it is found by that
 * name (and by the peer being this process) on its first request. */
struct ss_peer {
	struct ss_peer *next;
	struct sockaddr_un name;
	socklen_t name_len;
	struct evhttp_connection *evcon; /* bound on the first request; NULL before */
	bool busy;                        /* a reply is being produced or written */
	double created;
	char client_id[257];
};

/* A connection whose reply is being sent: tracked by the reactor so that a shutdown waits
 * (up to --incoming_connection_close_timeout) until the reply has left. */
struct tr_conn {
	struct reactor_item item; /* first: cut() casts back */
	struct tr_worker *w;
	struct evhttp_connection *evcon;
};

/* ---- helpers ---- */

static bool is_set(const char *s)
{
	return s != NULL && *s != '\0';
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The client id of the connection a request came on: the single place a transport's
 * identity enters the handlers. Plain HTTP: the static --client_id (may be empty). */
static int ssl_id_index = -1;

static void ssl_id_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

/* The client id a TLS connection's certificate proves, computed once per connection and
 * kept with the SSL object: returns it, "" if the certificate is not usable as a client
 * certificate (the connection gets no client id), or NULL if the peer sent none. */
static const char *tls_client_id(struct tr_worker *w, SSL *ssl)
{
	char *id = SSL_get_ex_data(ssl, ssl_id_index);
	X509 *cert;
	int rc;

	if (id != NULL)
		return id;
	cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL)
		return NULL;
	id = calloc(1, CERT_CLIENT_ID_LEN + 1);
	if (id == NULL)
		return "";
	rc = certid_client_id(cert, (enum certid_kind)w->tr->cfg->tls_identifier_extractor_type,
			      id);
	if (rc != ACRA_OK) {
		log_warn("TLS client certificate gives no client id: %s",
			 rc == ACRA_EPERM ? "not a client certificate (CA, or key usage without "
					    "digitalSignature/clientAuth)" :
					    acra_strerror(rc));
		id[0] = '\0';
	} else {
		log_debug("client id from TLS certificate: %s", id);
	}
	if (SSL_set_ex_data(ssl, ssl_id_index, id) != 1) {
		free(id);
		return "";
	}
	return id;
}

/* ---- Secure Session from acra connector ---- */

/* The worker whose thread runs: set by ss_accept, read by ss_attach (a session stays on
 * the worker that accepted it). */
static _Thread_local struct tr_worker *tl_worker;

static void ss_peer_drop(struct tr_worker *w, struct ss_peer **pp)
{
	struct ss_peer *p = *pp;

	(void)w;
	*pp = p->next;
	sodium_memzero(p, sizeof(*p));
	free(p);
}

static void ss_forget(struct tr_worker *w, struct evhttp_connection *evcon)
{
	for (struct ss_peer **pp = &w->peers; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->evcon == evcon) {
			ss_peer_drop(w, pp);
			return;
		}
}

static void ss_closed(struct evhttp_connection *evcon, void *arg)
{
	ss_forget(arg, evcon);
}

/* db_attach of the Secure Session listener: connect a new socket to the worker's private
 * listener and remember the authenticated connector id under its name. Entries never
 * bound to a request (the connection closed before sending one) expire after the HTTP
 * timeout, and an entry whose name the kernel hands out again is replaced. */
static int ss_attach(void *arg, struct session *s, int *fd)
{
	struct tr_worker *w = tl_worker;
	const char *cid = session_client_id(s);
	struct ss_peer *p;
	double now = now_s(), ttl;
	int sk;

	(void)arg;
	if (w == NULL || cid == NULL || *cid == '\0')
		return ACRA_EINVAL;
	ttl = (double)w->tr->cfg->http_timeout + 10.0;
	for (struct ss_peer **pp = &w->peers; *pp != NULL;) {
		if ((*pp)->evcon == NULL && now - (*pp)->created > ttl)
			ss_peer_drop(w, pp);
		else
			pp = &(*pp)->next;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return ACRA_ENOMEM;
	p->name.sun_family = AF_UNIX;
	p->name_len = sizeof(p->name);
	sk = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sk < 0 || bind(sk, (struct sockaddr *)&p->name, sizeof(sa_family_t)) != 0 ||
	    getsockname(sk, (struct sockaddr *)&p->name, &p->name_len) != 0 ||
	    connect(sk, (struct sockaddr *)&w->ss_addr, w->ss_addr_len) != 0) {
		clog_warn(session_log_ctx(s), "cannot hand the connection to the HTTP server: %s",
			  strerror(errno));
		if (sk >= 0)
			close(sk);
		free(p);
		return ACRA_EIO;
	}
	for (struct ss_peer **pp = &w->peers; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->name_len == p->name_len &&
		    memcmp(&(*pp)->name, &p->name, p->name_len) == 0) {
			ss_peer_drop(w, pp);
			break;
		}
	snprintf(p->client_id, sizeof(p->client_id), "%s", cid);
	p->created = now;
	p->next = w->peers;
	w->peers = p;
	clog_debug(session_log_ctx(s), "Secure Session from acra connector, client id %s", cid);
	*fd = sk;
	return ACRA_OK;
}

/* First request of a connection in Secure Session mode: bind it to its ss_peer. A peer
 * that is not this process, or whose name is unknown, stays without a client id. */
static void ss_bind(struct tr_worker *w, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct sockaddr_un peer;
	socklen_t peer_len = sizeof(peer);
	struct ucred cr;
	socklen_t cr_len = sizeof(cr);
	int fd;

	if (bev == NULL)
		return;
	for (struct ss_peer *p = w->peers; p != NULL; p = p->next)
		if (p->evcon == evcon)
			return;
	fd = bufferevent_getfd(bev);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cr_len) != 0 || cr.pid != getpid())
		return;
	for (struct ss_peer *p = w->peers; p != NULL; p = p->next)
		if (p->evcon == NULL && p->name_len == peer_len &&
		    memcmp(&p->name, &peer, peer_len) == 0) {
			p->evcon = evcon;
			evhttp_connection_set_closecb(evcon, ss_closed, w);
			return;
		}
}

static struct ss_peer *ss_find(struct tr_worker *w, struct evhttp_connection *evcon)
{
	for (struct ss_peer *p = w->peers; p != NULL && evcon != NULL; p = p->next)
		if (p->evcon == evcon)
			return p;
	return NULL;
}

/* Shutdown: close the connector connections that wait for their next request (as evhttp
 * does with idle connections on the public listener); busy ones close after their reply
 * (Connection: close). */
static void ss_close_idle(struct tr_worker *w)
{
	for (struct ss_peer *p = w->peers; p != NULL;) {
		if (p->evcon != NULL && !p->busy) {
			evhttp_connection_free(p->evcon); /* ss_closed drops p */
			p = w->peers;
		} else {
			p = p->next;
		}
	}
}

static const char *ss_client_id(struct tr_worker *w, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	for (struct ss_peer *p = w->peers; p != NULL && evcon != NULL; p = p->next)
		if (p->evcon == evcon)
			return p->client_id;
	return NULL;
}

/* reactor_accept_fn of the Secure Session listener: lib/session keeps its per-worker state
 * in the worker slot, the translator its own; the slot holds lib/session's during the
 * call. */
static void ss_accept(struct reactor_worker *rw, int fd, const struct sockaddr *peer,
		      socklen_t peer_len, void *arg)
{
	struct tr *tr = arg;
	struct tr_worker *w = reactor_worker_data(rw);

	tl_worker = w;
	reactor_worker_set_data(rw, w->session_worker);
	session_accept(rw, fd, peer, peer_len, &tr->ss_listener);
	reactor_worker_set_data(rw, w);
}

static struct bytes conn_client_id(struct tr_worker *w, struct evhttp_request *req)
{
	const char *cid = w->tr->cfg->client_id;

	if (w->tr->cfg->ssession) {
		cid = ss_client_id(w, req);
		return (struct bytes){ (const uint8_t *)cid, cid != NULL ? strlen(cid) : 0 };
	}
	if (w->tr->ssl_ctx != NULL) {
		struct evhttp_connection *ec = evhttp_request_get_connection(req);
		struct bufferevent *bev = ec != NULL ? evhttp_connection_get_bufferevent(ec) : NULL;
		SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
		const char *tid = ssl != NULL ? tls_client_id(w, ssl) : NULL;

		if (ssl == NULL) /* not TLS although TLS is configured: no identity at all */
			return (struct bytes){ NULL, 0 };
		if (tid != NULL) /* a certificate was sent: its id or none, never the static one */
			return (struct bytes){ *tid ? (const uint8_t *)tid : NULL, strlen(tid) };
	}
	if (!is_set(cid))
		return (struct bytes){ NULL, 0 };
	return (struct bytes){ (const uint8_t *)cid, strlen(cid) };
}

static void body_of(struct evhttp_request *req, const uint8_t **p, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	*len = evbuffer_get_length(in);
	*p = *len > 0 ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
	if (*p == NULL)
		*len = 0;
}

/* Wipe the request body (it may hold plaintext) once it was handled. */
static void body_wipe(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	if (n > 0) {
		uint8_t *p = evbuffer_pullup(in, -1);

		if (p != NULL)
			sodium_memzero(p, n);
		evbuffer_drain(in, n);
	}
}

static void free_wiped(uint8_t *p, size_t len);

static void reply_v2_error(struct evhttp_request *req, int code, const char *msg)
{
	http_reply_json(req, code, json_pack("{s:i,s:s}", "code", code, "message", msg));
}

/* Standard base64, padded, no whitespace (Go's base64.StdEncoding without its CR/LF
 * skipping). */
static int8_t b64_tab[256]; /* filled once by b64_init() before the workers start */

static void b64_init(void)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(b64_tab, -1, sizeof(b64_tab));
	for (int i = 0; i < 64; i++)
		b64_tab[(unsigned char)alpha[i]] = (int8_t)i;
}

static int b64_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len)
{
	const int8_t *tab = b64_tab;
	const unsigned char *u = (const unsigned char *)s;
	size_t pad = 0, n, o = 0;
	uint8_t *p;
	if (slen % 4 != 0)
		return ACRA_EINVAL;
	if (slen > 0 && s[slen - 1] == '=')
		pad = slen > 1 && s[slen - 2] == '=' ? 2 : 1;
	n = slen / 4 * 3 - pad;
	p = malloc(n > 0 ? n : 1);
	if (p == NULL)
		return ACRA_ENOMEM;
	for (size_t i = 0; i < slen; i += 4) {
		bool last = i + 4 == slen;
		int a = tab[u[i]], b = tab[u[i + 1]];
		int c = last && pad == 2 ? 0 : tab[u[i + 2]];
		int d = last && pad >= 1 ? 0 : tab[u[i + 3]];
		uint32_t v;

		if ((a | b | c | d) < 0)
			goto bad;
		/* non-zero trailing bits before the padding are accepted, as Go's
		 * base64.StdEncoding (what Acra's JSON decoding uses) does */
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		p[o++] = (uint8_t)(v >> 16);
		if (!(last && pad == 2))
			p[o++] = (uint8_t)(v >> 8);
		if (!(last && pad >= 1))
			p[o++] = (uint8_t)v;
	}
	*out = p;
	*out_len = n;
	return ACRA_OK;
bad:
	free_wiped(p, n);
	return ACRA_EINVAL;
}

static json_t *b64_json(const uint8_t *p, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	json_t *j;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	j = json_stringn(s, n - 1);
	free(s);
	return j;
}

/* {"data":"<b64>"} written straight into the reply buffer. */
static void reply_v2_data(struct evhttp_request *req, const uint8_t *p, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	struct evbuffer *b = evbuffer_new();
	struct evbuffer_iovec v;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (b == NULL || evbuffer_reserve_space(b, n + 12, &v, 1) < 1) {
		if (b != NULL)
			evbuffer_free(b);
		reply_v2_error(req, 500, "internal error");
		return;
	}
	memcpy(v.iov_base, "{\"data\":\"", 9);
	sodium_bin2base64((char *)v.iov_base + 9, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	memcpy((char *)v.iov_base + 9 + n - 1, "\"}", 2);
	v.iov_len = 9 + n - 1 + 2;
	evbuffer_commit_space(b, &v, 1);
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void free_wiped(uint8_t *p, size_t len)
{
	if (p != NULL) {
		sodium_memzero(p, len);
		free(p);
	}
}

/* ---- poison records ---- */

static void poison_react(struct tr *tr)
{
	const struct tr_cfg *c = tr->cfg;

	log_warn("Recognized poison record");
	if (is_set(c->poison_run_script_file)) {
		pid_t pid;
		char *argv[] = { c->poison_run_script_file, NULL };
		int rc = posix_spawn(&pid, c->poison_run_script_file, NULL, NULL, argv, environ);

		if (rc != 0)
			log_error("can't run poison script %s: %s", c->poison_run_script_file,
				  strerror(rc));
	}
	if (c->poison_shutdown_enable) {
		log_warn("Detected poison record, exit");
		fflush(NULL);
		_exit(1); /* at once, as Acra's os.Exit(1); other threads are mid-request */
	}
}

/* ---- crypto operations (shared by v1 and v2) ---- */

struct who {
	struct bytes cid, zone;
};

static struct codec_params params_for(struct tr_worker *w, const struct who *who)
{
	struct codec_params p = { 0 };

	p.enc = CODEC_ENC_RAW;
	p.scan = CODEC_SCAN_WHOLE;
	p.owner.client_id = who->cid;
	p.owner.zone_id = who->zone;
	p.detect_poison = w->tr->cfg->poison_detect_enable;
	p.keys = &w->tr->keys;
	return p;
}

/* Is val an envelope of the wanted kind (bare or in a %%% container)? */
static bool envelope_is(const uint8_t *val, size_t len, enum codec_envelope type)
{
	enum envelope_id id;
	struct bytes inner;
	size_t total;

	if (envelope_measure(val, len, &id, &inner, &total) == ACRA_OK && total == len)
		return id == (type == CODEC_ACRASTRUCT ? ENVELOPE_ACRASTRUCT : ENVELOPE_ACRABLOCK);
	if (type == CODEC_ACRASTRUCT)
		return acrastruct_check(val, len) == ACRA_OK;
	return acrablock_check(val, len) == ACRA_OK;
}

/* Decrypt one whole envelope of `type`. 0 with the plaintext in *out (codec buffer),
 * ACRA_ECRYPTO (not decryptable), ACRA_EPERM (poison record; reaction already run),
 * ACRA_ENOMEM. */
static int do_decrypt(struct tr_worker *w, const struct who *who, enum codec_envelope type,
		      const uint8_t *val, size_t len, struct bytes *out)
{
	struct codec_params p = params_for(w, who);
	struct codec_result res;
	int ti = type == CODEC_ACRABLOCK;
	int rc;

	if (!envelope_is(val, len, type)) {
		metric_add(w->tr->dec_fail[ti], 1);
		return ACRA_ECRYPTO;
	}
	rc = codec_decrypt(w->codec, &p, val, len, &res);
	if (rc != ACRA_OK)
		return rc;
	if (res.status == CODEC_POISON) {
		metric_add(w->tr->dec_fail[ti], 1);
		poison_react(w->tr);
		return ACRA_EPERM;
	}
	if (res.status != CODEC_DONE) {
		metric_add(w->tr->dec_fail[ti], 1);
		return ACRA_ECRYPTO;
	}
	metric_add(w->tr->dec_ok[ti], 1);
	*out = res.out;
	return ACRA_OK;
}

/* Encrypt val into a new AcraStruct (the owner's public key) or AcraBlock (the owner's
 * symmetric key), context = the zone id or none. Always encrypts, also a value that already
 * is an envelope (AcraTranslator's encrypt is not idempotent). *out is owned (free()). */
static int do_encrypt(struct tr_worker *w, const struct who *who, enum codec_envelope type,
		      const uint8_t *val, size_t len, uint8_t **out, size_t *out_len)
{
	const struct codec_keys *keys = &w->tr->keys;
	struct codec_key_owner owner = { who->cid, who->zone };
	struct codec_keyset set = { 0 };
	int ti = type == CODEC_ACRABLOCK;
	size_t cap = ti ? acrablock_size(len) : acrastruct_size(len);
	int rc;

	*out = NULL;
	if (len == 0 || cap == 0) {
		metric_add(w->tr->enc_fail[ti], 1);
		return ACRA_EINVAL;
	}
	rc = keys->get(keys->ctx, ti ? CODEC_KEY_BLOCK_SYM : CODEC_KEY_STRUCT_PUB, &owner, &set);
	if (rc != ACRA_OK) {
		metric_add(w->tr->enc_fail[ti], 1);
		return rc;
	}
	*out = malloc(cap);
	if (*out == NULL)
		rc = ACRA_ENOMEM;
	else if (ti)
		rc = acrablock_encrypt(set.sym[0]->p, set.sym[0]->len, who->zone.p, who->zone.len,
				       val, len, *out, cap, out_len);
	else
		rc = acrastruct_encrypt(set.pub, who->zone.p, who->zone.len, val, len, *out, cap,
					out_len);
	keys->release(keys->ctx, &set);
	if (rc != ACRA_OK) {
		free(*out);
		*out = NULL;
		metric_add(w->tr->enc_fail[ti], 1);
		return rc;
	}
	metric_add(w->tr->enc_ok[ti], 1);
	return ACRA_OK;
}

/* 0x7F || HMAC-SHA256(<cid>_hmac, pt) */
static int do_hash(struct tr_worker *w, const struct who *who, const uint8_t *pt, size_t len,
		   uint8_t hash[SEARCH_HASH_LEN])
{
	struct keystore_keys k;
	int rc;

	if (who->cid.len == 0)
		return ACRA_ENOKEY;
	rc = keystore_get(w->tr->ks, KEYSTORE_HMAC, KEYSTORE_PRIVATE, who->cid.p, who->cid.len,
			  &k);
	if (rc != ACRA_OK)
		return rc;
	rc = search_hash(k.sym[0]->p, k.sym[0]->len, pt, len, hash);
	keystore_put(w->tr->ks, &k);
	return rc;
}

/* ---- tokenization ---- */

/* AcraBlock-encrypt a token record with the owner's symmetric storage key. */
static int record_seal(struct tr *tr, const struct who *who, const uint8_t *pt, size_t len,
		       uint8_t **out, size_t *out_len)
{
	struct keystore_keys k;
	bool zone = who->zone.len > 0;
	struct bytes id = zone ? who->zone : who->cid;
	size_t cap = acrablock_size(len);
	int rc;

	rc = keystore_get(tr->ks, zone ? KEYSTORE_ZONE_SYM : KEYSTORE_STORAGE_SYM,
			  KEYSTORE_PRIVATE, id.p, id.len, &k);
	if (rc != ACRA_OK)
		return rc;
	*out = malloc(cap);
	if (*out == NULL) {
		keystore_put(tr->ks, &k);
		return ACRA_ENOMEM;
	}
	rc = acrablock_encrypt(k.sym[0]->p, k.sym[0]->len, id.p, id.len, pt, len, *out, cap,
			       out_len);
	keystore_put(tr->ks, &k);
	if (rc != ACRA_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

static int record_open(struct tr *tr, const struct who *who, struct bytes rec, uint8_t **out,
		       size_t *out_len)
{
	struct keystore_keys k;
	bool zone = who->zone.len > 0;
	struct bytes id = zone ? who->zone : who->cid;
	size_t cap;
	int rc = ACRA_ECRYPTO;

	if (acrablock_check(rec.p, rec.len) != ACRA_OK ||
	    acrablock_plain_len(rec.p, rec.len, &cap) != ACRA_OK)
		return ACRA_EPROTO;
	if (keystore_get(tr->ks, zone ? KEYSTORE_ZONE_SYM : KEYSTORE_STORAGE_SYM,
			 KEYSTORE_PRIVATE, id.p, id.len, &k) != ACRA_OK)
		return ACRA_ENOKEY;
	*out = malloc(cap > 0 ? cap : 1);
	if (*out == NULL) {
		keystore_put(tr->ks, &k);
		return ACRA_ENOMEM;
	}
	for (size_t i = 0; i < k.n && rc != ACRA_OK; i++)
		rc = acrablock_decrypt(k.sym[i]->p, k.sym[i]->len, id.p, id.len, rec.p, rec.len,
				       *out, cap, out_len);
	keystore_put(tr->ks, &k);
	if (rc != ACRA_OK) {
		free_wiped(*out, cap);
		*out = NULL;
	}
	return rc;
}

static void who_ctx(const struct who *who, bool *zone, struct bytes *ctx)
{
	*zone = who->zone.len > 0;
	*ctx = *zone ? who->zone : who->cid;
}

/* SHA-256("client" || client id) or SHA-256("zone" || zone id): the context digest records
 * are grouped under in shared storage (Acra's Redis layout). */
static void ctx_digest(bool zone, struct bytes ctx, uint8_t out[TOKENSTORE_ID_LEN])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)(zone ? "zone" : "client"), zone ? 4 : 6);
	crypto_hash_sha256_update(&st, ctx.p, ctx.len);
	crypto_hash_sha256_final(&st, out);
}

/* Seal pt for the caller and wrap it as a stored record (owned in *out). */
static int record_make(struct tr *tr, const struct who *who, const uint8_t *pt, size_t len,
		       uint8_t **out, size_t *out_len)
{
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int rc = record_seal(tr, who, pt, len, &sealed, &sealed_len);

	if (rc == ACRA_OK)
		rc = token_record_wrap(sealed, sealed_len, (int64_t)time(NULL), out, out_len);
	free(sealed);
	return rc;
}

/* Unwrap and open a stored record: the plaintext in *out (owned, wipe it). */
static int record_read(struct tr *tr, const struct who *who, struct bytes rec, uint8_t **out,
		       size_t *out_len)
{
	const uint8_t *data;
	size_t data_len;
	int rc = token_record_unwrap(rec.p, rec.len, &data, &data_len);

	if (rc != ACRA_OK)
		return rc;
	return record_open(tr, who, (struct bytes){ data, data_len }, out, out_len);
}

/* Consistent tokenization of val (canonical encoding): the token in *tok (owned). The token
 * record goes in first with insert-if-absent (a clash with an existing token: try another),
 * then the value's record; if another instance stored the value's record first, its token
 * is the answer, so every instance gives the same token for the same value. */
static int tokenize(struct tr *tr, const struct who *who, enum token_type t, const uint8_t *val,
		    size_t len, uint8_t **tok, size_t *tok_len)
{
	uint8_t hid[TOKEN_ID_LEN], tid[TOKEN_ID_LEN], cd[TOKENSTORE_ID_LEN];
	struct bytes ctx, rec;
	bool zone;
	uint8_t *tk = NULL, *tv = NULL, *stored = NULL;
	size_t tv_len = 0, stored_len;
	int rc;

	who_ctx(who, &zone, &ctx);
	ctx_digest(zone, ctx, cd);
	token_data_id(val, len, zone, ctx.p, ctx.len, t, hid);
	tokenstore_lock(tr->tokens);
	rc = tokenstore_get(tr->tokens, 'h', cd, hid, &rec);
	if (rc != ACRA_ENOKEY) {
		if (rc == ACRA_OK)
			rc = record_read(tr, who, rec, tok, tok_len);
		tokenstore_unlock(tr->tokens);
		return rc;
	}
	tk = malloc(len > 0 ? len : 1);
	rc = tk == NULL ? ACRA_ENOMEM : token_value_encode(t, val, len, &tv, &tv_len);
	if (rc == ACRA_OK)
		rc = record_make(tr, who, tv, tv_len, &stored, &stored_len);
	if (rc == ACRA_OK)
		rc = ACRA_EEXIST;
	for (int i = 0; i < TOKEN_RETRIES && rc == ACRA_EEXIST; i++) {
		rc = token_generate(t, val, len, tk, len);
		if (rc != ACRA_OK)
			break;
		if (len == 0 || sodium_memcmp(tk, val, len) == 0) {
			rc = ACRA_EEXIST;
			continue;
		}
		token_data_id(tk, len, zone, ctx.p, ctx.len, t, tid);
		rc = tokenstore_put_new(tr->tokens, 't', cd, tid, stored, stored_len);
	}
	free(stored);
	stored = NULL;
	if (rc == ACRA_OK)
		rc = record_make(tr, who, tk, len, &stored, &stored_len);
	if (rc == ACRA_OK) {
		rc = tokenstore_put_new(tr->tokens, 'h', cd, hid, stored, stored_len);
		if (rc == ACRA_EEXIST) { /* another instance was first: use its token */
			free_wiped(tk, len);
			tk = NULL;
			rc = tokenstore_get(tr->tokens, 'h', cd, hid, &rec);
			if (rc == ACRA_OK)
				rc = record_read(tr, who, rec, tok, tok_len);
		}
	}
	tokenstore_unlock(tr->tokens);
	free(stored);
	if (tv != NULL)
		free_wiped(tv, tv_len);
	if (rc != ACRA_OK || tk == NULL) {
		free(tk);
		return rc;
	}
	*tok = tk;
	*tok_len = len;
	return ACRA_OK;
}

/* The original value of a token; a token that is not known is returned as it is. */
static int detokenize(struct tr *tr, const struct who *who, enum token_type t,
		      const uint8_t *tok, size_t len, uint8_t **val, size_t *val_len)
{
	uint8_t tid[TOKEN_ID_LEN], cd[TOKENSTORE_ID_LEN];
	struct bytes ctx, rec;
	bool zone;
	uint8_t *plain = NULL;
	size_t plain_len = 0, vl;
	const uint8_t *v;
	enum token_type vt;
	int rc;

	who_ctx(who, &zone, &ctx);
	ctx_digest(zone, ctx, cd);
	token_data_id(tok, len, zone, ctx.p, ctx.len, t, tid);
	tokenstore_lock(tr->tokens);
	rc = tokenstore_get(tr->tokens, 't', cd, tid, &rec);
	if (rc == ACRA_ENOKEY) {
		tokenstore_unlock(tr->tokens);
		*val = malloc(len > 0 ? len : 1);
		if (*val == NULL)
			return ACRA_ENOMEM;
		memcpy(*val, tok, len);
		*val_len = len;
		return ACRA_OK;
	}
	if (rc == ACRA_OK)
		rc = record_read(tr, who, rec, &plain, &plain_len);
	tokenstore_unlock(tr->tokens);
	if (rc != ACRA_OK)
		return rc;
	if (token_value_decode(plain, plain_len, &vt, &v, &vl) != ACRA_OK || vt != t) {
		free_wiped(plain, plain_len);
		return ACRA_EPROTO;
	}
	memmove(plain, v, vl);
	*val = plain;
	*val_len = vl;
	return ACRA_OK;
}

/* JSON value of type t -> canonical bytes (owned). */
static int token_from_json(json_t *d, enum token_type t, uint8_t **out, size_t *len)
{
	if (t == TOKEN_INT32 || t == TOKEN_INT64) {
		json_int_t v;

		if (!json_is_integer(d))
			return ACRA_EINVAL;
		v = json_integer_value(d);
		if (t == TOKEN_INT32 && (v < INT32_MIN || v > INT32_MAX))
			return ACRA_EINVAL;
		*len = t == TOKEN_INT32 ? 4 : 8;
		*out = malloc(8);
		if (*out == NULL)
			return ACRA_ENOMEM;
		if (t == TOKEN_INT32)
			wr_le32(*out, (uint32_t)(int32_t)v);
		else
			wr_le64(*out, (uint64_t)(int64_t)v);
		return ACRA_OK;
	}
	if (!json_is_string(d))
		return ACRA_EINVAL;
	if (t == TOKEN_BYTES)
		return b64_decode(json_string_value(d), json_string_length(d), out, len);
	*len = json_string_length(d);
	*out = malloc(*len > 0 ? *len : 1);
	if (*out == NULL)
		return ACRA_ENOMEM;
	memcpy(*out, json_string_value(d), *len);
	return ACRA_OK;
}

static json_t *token_to_json(enum token_type t, const uint8_t *p, size_t len)
{
	switch (t) {
	case TOKEN_INT32:
		return len == 4 ? json_integer((int32_t)rd_le32(p)) : NULL;
	case TOKEN_INT64:
		return len == 8 ? json_integer((json_int_t)(int64_t)rd_le64(p)) : NULL;
	case TOKEN_BYTES:
		return b64_json(p, len);
	case TOKEN_STR:
	case TOKEN_EMAIL:
		return json_stringn((const char *)p, len);
	}
	return NULL;
}

/* ---- HTTP API v1 ---- */

/* ?zone_id=: 0 (none or valid, *zone set), else 400 was sent. */
static int query_zone(struct evhttp_request *req, struct bytes *zone, char *buf, size_t buf_len,
		      bool v2)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *q = u != NULL ? evhttp_uri_get_query(u) : NULL;
	struct evkeyvalq params;
	const char *z;

	zone->p = NULL;
	zone->len = 0;
	if (q == NULL || *q == '\0')
		return 0;
	if (evhttp_parse_query_str(q, &params) != 0) {
		if (v2)
			reply_v2_error(req, 400, "Invalid request data");
		else
			http_reply_text(req, 400, "Malformed URL query");
		return -1;
	}
	z = evhttp_find_header(&params, "zone_id");
	if (z != NULL && *z != '\0') {
		if (!zone_id_is_valid((const uint8_t *)z, strlen(z)) || strlen(z) >= buf_len) {
			evhttp_clear_headers(&params);
			if (v2)
				reply_v2_error(req, 400, "Invalid zone id");
			else
				http_reply_text(req, 400, "Invalid zone id");
			return -1;
		}
		memcpy(buf, z, strlen(z) + 1);
		zone->p = (const uint8_t *)buf;
		zone->len = strlen(z);
	}
	evhttp_clear_headers(&params);
	return 0;
}

static void v1_handle(struct tr_worker *w, struct evhttp_request *req, enum tr_op op)
{
	const uint8_t *body;
	size_t len;
	char zbuf[ZONE_ID_LEN + 1];
	struct who who = { conn_client_id(w, req), { NULL, 0 } };
	struct bytes out;
	uint8_t *enc;
	size_t enc_len;
	int rc;

	if (query_zone(req, &who.zone, zbuf, sizeof(zbuf), false) != 0)
		return;
	body_of(req, &body, &len);
	if (len == 0) {
		http_reply_text(req, 400, "Can't read request body: body is empty");
		return;
	}
	if (who.cid.len == 0 && who.zone.len == 0) {
		http_reply_text(req, 400, "Can't determine client id: set --client_id or use TLS "
					  "client certificates, or pass ?zone_id=");
		return;
	}
	if (op == OP_DECRYPT) {
		rc = do_decrypt(w, &who, CODEC_ACRASTRUCT, body, len, &out);
		if (rc != ACRA_OK) {
			http_reply_text(req, 422, "Can't decrypt AcraStruct");
			return;
		}
		http_reply(req, 200, "application/octet-stream", out.p, out.len);
		return;
	}
	rc = do_encrypt(w, &who, CODEC_ACRASTRUCT, body, len, &enc, &enc_len);
	if (rc != ACRA_OK) {
		http_reply_text(req, 422, "Can't encrypt data");
		return;
	}
	http_reply(req, 200, "application/octet-stream", enc, enc_len);
	free(enc);
}

/* ---- HTTP API v2 ---- */

static bool content_type_ok(struct evhttp_request *req)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	size_t n = strlen("application/json");

	if (ct == NULL)
		return true;
	return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

/* A v2 request's fields: views into the body (fast path) or into root (jansson). */
struct v2_req {
	json_t *root;
	const char *data, *zone;
	size_t data_len, zone_len;
	bool has_data;
};

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Fast path for the common body {"data":"<base64>"[,"zone_id":"<letters>"]}: keys "data" and
 * "zone_id" at most once, string values of [A-Za-z0-9+/=] only (no escapes), JSON
 * whitespace between tokens. Anything else returns false and is left to jansson, which
 * gives the same result for what this accepts. */
static bool v2_fast_parse(const char *p, size_t n, struct v2_req *r)
{
	size_t i = 0;
	bool first = true;

	while (i < n && ws(p[i]))
		i++;
	if (i >= n || p[i++] != '{')
		return false;
	for (;;) {
		const char *key, *val;
		size_t klen, vlen;

		while (i < n && ws(p[i]))
			i++;
		if (i < n && p[i] == '}' && first)
			return false; /* {}: let jansson and the usual checks answer */
		if (i >= n || p[i++] != '"')
			return false;
		key = p + i;
		while (i < n && p[i] != '"' && p[i] != '\\')
			i++;
		if (i >= n || p[i] != '"')
			return false;
		klen = (size_t)(p + i - key);
		i++;
		while (i < n && ws(p[i]))
			i++;
		if (i >= n || p[i++] != ':')
			return false;
		while (i < n && ws(p[i]))
			i++;
		if (i >= n || p[i++] != '"')
			return false;
		val = p + i;
		while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '+' || p[i] == '/' ||
				 p[i] == '='))
			i++;
		if (i >= n || p[i] != '"')
			return false;
		vlen = (size_t)(p + i - val);
		i++;
		if (klen == 4 && memcmp(key, "data", 4) == 0 && !r->has_data) {
			r->data = val;
			r->data_len = vlen;
			r->has_data = true;
		} else if (klen == 7 && memcmp(key, "zone_id", 7) == 0 && r->zone == NULL) {
			r->zone = val;
			r->zone_len = vlen;
		} else {
			return false;
		}
		first = false;
		while (i < n && ws(p[i]))
			i++;
		if (i < n && p[i] == ',') {
			i++;
			continue;
		}
		if (i >= n || p[i++] != '}')
			return false;
		while (i < n && ws(p[i]))
			i++;
		return i == n && r->has_data;
	}
}

/* Parse the body: 0 with *r filled (r->root to be freed), or a 400 was sent. For the data
 * endpoints (want_string_data) "data" must be a non-empty string; for tokenization only
 * present. */
static int v2_parse(struct evhttp_request *req, struct v2_req *r, bool want_string_data)
{
	const uint8_t *body;
	size_t len;
	json_error_t jerr;
	json_t *d, *z;

	memset(r, 0, sizeof(*r));
	if (!content_type_ok(req)) {
		reply_v2_error(req, 400, "Invalid request data");
		return -1;
	}
	body_of(req, &body, &len);
	if (!(want_string_data && v2_fast_parse((const char *)body, len, r))) {
		memset(r, 0, sizeof(*r));
		r->root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
		if (r->root == NULL || !json_is_object(r->root)) {
			json_decref(r->root);
			r->root = NULL;
			reply_v2_error(req, 400, "invalid request body");
			return -1;
		}
		d = json_object_get(r->root, "data");
		if (d == NULL || (want_string_data && !json_is_string(d))) {
			json_decref(r->root);
			r->root = NULL;
			reply_v2_error(req, 400, "Invalid request data");
			return -1;
		}
		if (json_is_string(d)) {
			r->data = json_string_value(d);
			r->data_len = json_string_length(d);
		}
		r->has_data = true;
		z = json_object_get(r->root, "zone_id");
		if (z != NULL && !json_is_null(z)) {
			if (!json_is_string(z)) {
				json_decref(r->root);
				r->root = NULL;
				reply_v2_error(req, 400, "Invalid zone id");
				return -1;
			}
			r->zone = json_string_value(z);
			r->zone_len = json_string_length(z);
		}
	}
	if (want_string_data && r->data_len == 0) {
		json_decref(r->root);
		r->root = NULL;
		reply_v2_error(req, 400, "Invalid request data, empty data");
		return -1;
	}
	return 0;
}

static int v2_zone(struct evhttp_request *req, const struct v2_req *r, struct bytes *zone)
{
	zone->p = NULL;
	zone->len = 0;
	if (r->zone == NULL || r->zone_len == 0)
		return 0;
	if (!zone_id_is_valid((const uint8_t *)r->zone, r->zone_len)) {
		reply_v2_error(req, 400, "Invalid zone id");
		return -1;
	}
	zone->p = (const uint8_t *)r->zone;
	zone->len = r->zone_len;
	return 0;
}

static void v2_tokenize(struct tr_worker *w, struct evhttp_request *req, json_t *root,
			const struct who *who, bool detok)
{
	json_t *jt = json_object_get(root, "type"), *res;
	uint8_t *val = NULL, *out = NULL;
	size_t len = 0, out_len = 0;
	int t, rc;

	if (!json_is_integer(jt) || !token_type_is_valid((int)json_integer_value(jt))) {
		reply_v2_error(req, 400, "Invalid request data");
		return;
	}
	t = (int)json_integer_value(jt);
	rc = token_from_json(json_object_get(root, "data"), (enum token_type)t, &val, &len);
	if (rc != ACRA_OK) {
		reply_v2_error(req, 400, "Invalid request data");
		return;
	}
	if (detok)
		rc = detokenize(w->tr, who, (enum token_type)t, val, len, &out, &out_len);
	else
		rc = tokenize(w->tr, who, (enum token_type)t, val, len, &out, &out_len);
	free_wiped(val, len);
	if (rc != ACRA_OK) {
		metric_add(detok ? w->tr->detok_fail[t] : w->tr->tok_fail[t], 1);
		if (rc == ACRA_EIO) /* the token storage (Redis) is unavailable: try again later */
			reply_v2_error(req, 503, "Token storage is unavailable");
		else
			reply_v2_error(req, 422,
				       detok ? "Can't detokenize data" : "Can't tokenize data");
		return;
	}
	res = token_to_json((enum token_type)t, out, out_len);
	free_wiped(out, out_len);
	if (res == NULL) {
		metric_add(detok ? w->tr->detok_fail[t] : w->tr->tok_fail[t], 1);
		reply_v2_error(req, 422, detok ? "Can't detokenize data" : "Can't tokenize data");
		return;
	}
	metric_add(detok ? w->tr->detok_ok[t] : w->tr->tok_ok[t], 1);
	http_reply_json(req, 200, json_pack("{s:o}", "data", res));
}

static void v2_handle(struct tr_worker *w, struct evhttp_request *req, enum tr_op op)
{
	struct v2_req r;
	struct who who = { conn_client_id(w, req), { NULL, 0 } };
	uint8_t *data = NULL, *buf = NULL;
	size_t len = 0, buf_len = 0;
	struct bytes out;
	uint8_t hash[SEARCH_HASH_LEN];
	bool tok = op == OP_TOKENIZE || op == OP_DETOKENIZE;
	bool zoned = op <= OP_ENCRYPT_SYM || tok;
	enum codec_envelope type = (op == OP_DECRYPT || op == OP_ENCRYPT ||
				    op == OP_DECRYPT_SEARCH || op == OP_ENCRYPT_SEARCH) ?
					   CODEC_ACRASTRUCT :
					   CODEC_ACRABLOCK;
	int rc;

	if (v2_parse(req, &r, !tok) != 0)
		return;
	if (zoned && v2_zone(req, &r, &who.zone) != 0)
		goto done;
	if (who.cid.len == 0 && who.zone.len == 0) {
		reply_v2_error(req, 422, "clientID is empty");
		goto done;
	}
	if (tok) {
		v2_tokenize(w, req, r.root, &who, op == OP_DETOKENIZE);
		goto done;
	}
	if (b64_decode(r.data, r.data_len, &data, &len) != ACRA_OK ||
	    len == 0) {
		reply_v2_error(req, 400, len == 0 && data != NULL ? "Invalid request data, empty data" :
								 "Invalid request data");
		goto done;
	}
	switch (op) {
	case OP_DECRYPT:
	case OP_DECRYPT_SYM:
		if (do_decrypt(w, &who, type, data, len, &out) != ACRA_OK) {
			reply_v2_error(req, 422, "Can't decrypt data");
			break;
		}
		reply_v2_data(req, out.p, out.len);
		break;
	case OP_ENCRYPT:
	case OP_ENCRYPT_SYM:
		if (do_encrypt(w, &who, type, data, len, &buf, &buf_len) != ACRA_OK) {
			reply_v2_error(req, 422, "Can't encrypt data");
			break;
		}
		reply_v2_data(req, buf, buf_len);
		break;
	case OP_ENCRYPT_SEARCH:
	case OP_ENCRYPT_SYM_SEARCH: {
		uint8_t *both;

		if (do_hash(w, &who, data, len, hash) != ACRA_OK ||
		    do_encrypt(w, &who, type, data, len, &buf, &buf_len) != ACRA_OK) {
			reply_v2_error(req, 422, "Can't encrypt data");
			break;
		}
		both = malloc(SEARCH_HASH_LEN + buf_len);
		if (both == NULL) {
			reply_v2_error(req, 500, "internal error");
			break;
		}
		memcpy(both, hash, SEARCH_HASH_LEN);
		memcpy(both + SEARCH_HASH_LEN, buf, buf_len);
		reply_v2_data(req, both, SEARCH_HASH_LEN + buf_len);
		free(both);
		break;
	}
	case OP_DECRYPT_SEARCH:
	case OP_DECRYPT_SYM_SEARCH: {
		const uint8_t *stored, *env;
		size_t env_len;

		if (search_split(data, len, &stored, &env, &env_len) != ACRA_OK ||
		    do_decrypt(w, &who, type, env, env_len, &out) != ACRA_OK ||
		    do_hash(w, &who, out.p, out.len, hash) != ACRA_OK ||
		    !sym_equal(hash, stored, SEARCH_HASH_LEN)) {
			reply_v2_error(req, 422, "Can't decrypt data");
			break;
		}
		reply_v2_data(req, out.p, out.len);
		break;
	}
	case OP_QUERY_HASH:
		rc = do_hash(w, &who, data, len, hash);
		if (rc != ACRA_OK) {
			reply_v2_error(req, 422, "Can't generate hash");
			break;
		}
		reply_v2_data(req, hash, SEARCH_HASH_LEN);
		break;
	default:
		reply_v2_error(req, 404, "incorrect request");
	}
done:
	free(buf);
	free_wiped(data, len);
	json_decref(r.root);
}

/* ---- routing ---- */

static const struct {
	const char *path;
	enum tr_op op;
	bool v2;
} routes[] = {
	{ "/v1/decrypt", OP_DECRYPT, false },
	{ "/v1/encrypt", OP_ENCRYPT, false },
	{ "/v2/decrypt", OP_DECRYPT, true },
	{ "/v2/encrypt", OP_ENCRYPT, true },
	{ "/v2/decryptSym", OP_DECRYPT_SYM, true },
	{ "/v2/encryptSym", OP_ENCRYPT_SYM, true },
	{ "/v2/decryptSearchable", OP_DECRYPT_SEARCH, true },
	{ "/v2/encryptSearchable", OP_ENCRYPT_SEARCH, true },
	{ "/v2/decryptSymSearchable", OP_DECRYPT_SYM_SEARCH, true },
	{ "/v2/encryptSymSearchable", OP_ENCRYPT_SYM_SEARCH, true },
	{ "/v2/generateQueryHash", OP_QUERY_HASH, true },
	{ "/v2/tokenize", OP_TOKENIZE, true },
	{ "/v2/detokenize", OP_DETOKENIZE, true },
};

static const char *method_text(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "OTHER";
	}
}

/* One request per connection is answered at a time, so the record lives from dispatch until
 * its reply is written (reply_sent) or the connection goes away (conn_closed) or is cut. */
static void conn_done(struct tr_conn *c)
{
	struct tr_worker *w = c->w;

	reactor_untrack(w->rw, &c->item);
	if (w->tr->cfg->ssession) { /* the connector id goes when the connection does */
		struct ss_peer *p = ss_find(w, c->evcon);

		if (p != NULL)
			p->busy = false;
		evhttp_connection_set_closecb(c->evcon, ss_closed, w);
	} else
		evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	free(c);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct tr_worker *w = ((struct tr_conn *)arg)->w;

	conn_done(arg);
	if (w->tr->cfg->ssession)
		ss_forget(w, evcon);
}

static void conn_cut(struct reactor_item *it)
{
	struct tr_conn *c = (struct tr_conn *)it;
	struct evhttp_connection *evcon = c->evcon;

	conn_done(c);
	evhttp_connection_free(evcon);
}

static void reply_sent(struct evhttp_request *req, void *arg)
{
	(void)req;
	conn_done(arg);
}

/* Track the request's connection until its reply is written. */
static void conn_busy(struct tr_worker *w, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct tr_conn *c;

	if (evcon == NULL)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->w = w;
	c->evcon = evcon;
	c->item.cut = conn_cut;
	if (w->tr->cfg->ssession) {
		struct ss_peer *p = ss_find(w, evcon);

		if (p != NULL)
			p->busy = true;
	}
	reactor_track(w->rw, &c->item);
	evhttp_connection_set_closecb(evcon, conn_closed, c);
	evhttp_request_set_on_complete_cb(req, reply_sent, c);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	struct tr_worker *w = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	double t0;

	if (path == NULL)
		path = "";
	if (w->tr->cfg->ssession)
		ss_bind(w, req);
	conn_busy(w, req);
	if (atomic_load(&w->tr->stopping)) /* shutting down: no more requests on it */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	if (strcmp(path, "/health") == 0) {
		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
			http_reply_text(req, 405, "405 method not allowed");
		else
			http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		if (m != EVHTTP_REQ_POST && !(routes[i].v2 && m == EVHTTP_REQ_GET)) {
			char msg[96];

			snprintf(msg, sizeof(msg),
				 "HTTP method is not allowed, expected POST, got %s", method_text(m));
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
			if (routes[i].v2)
				reply_v2_error(req, 405, msg);
			else
				http_reply_text(req, 405, msg);
			body_wipe(req);
			return;
		}
		if (m == EVHTTP_REQ_GET)
			log_warn("Deprecated HTTP GET method was used. Please use HTTP POST method "
				 "instead.");
		t0 = now_s();
		if (routes[i].v2)
			v2_handle(w, req, routes[i].op);
		else
			v1_handle(w, req, routes[i].op);
		body_wipe(req);
		metric_observe(w->tr->latency[routes[i].v2][routes[i].op], now_s() - t0);
		return;
	}
	body_wipe(req);
	http_reply_text(req, 404, "404 page not found");
}

/* A new connection: count it; the bufferevent is where a transport would be layered. */
static struct bufferevent *conn_bev(struct event_base *base, void *arg)
{
	struct tr_worker *w = arg;
	SSL *ssl;
	struct bufferevent *bev;

	metric_add(w->tr->connections, 1);
	if (w->tr->ssl_ctx == NULL)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(w->tr->ssl_ctx);
	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	return bev;
}

/* Once a shutdown begins, stop accepting; the reactor then waits for replies in flight. */
static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tr_worker *w = arg;

	(void)fd;
	(void)what;
	if (w->tr->cfg->ssession && atomic_load(&w->tr->stopping)) {
		ss_close_idle(w);
		event_del(w->watch);
		return;
	}
	if (w->bound != NULL && atomic_load(&w->tr->stopping)) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
		event_del(w->watch);
	}
}

static void worker_fini(struct reactor_worker *rw, void *arg);

/* Secure Session mode: the worker's evhttp listens on a private abstract unix socket that
 * only this process's connections are served on (ss_bind checks the peer). */
static int ss_private_listener(struct tr_worker *w, struct reactor_worker *rw)
{
	uint8_t rnd[8];
	char name[96];
	int fd, n;

	randombytes_buf(rnd, sizeof(rnd));
	n = snprintf(name, sizeof(name), "acra-translator-%ld-%u-%02x%02x%02x%02x%02x%02x%02x%02x",
		     (long)getpid(), reactor_worker_index(rw), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		     rnd[5], rnd[6], rnd[7]);
	memset(&w->ss_addr, 0, sizeof(w->ss_addr));
	w->ss_addr.sun_family = AF_UNIX;
	memcpy(w->ss_addr.sun_path + 1, name, (size_t)n); /* sun_path[0] = 0: abstract */
	w->ss_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&w->ss_addr, w->ss_addr_len) != 0 ||
	    listen(fd, 1024) != 0) {
		log_error("cannot listen for Secure Session connections: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int worker_init(struct reactor_worker *rw, void *arg)
{
	struct tr *tr = arg;
	struct tr_worker *w = calloc(1, sizeof(*w));
	int fd;

	if (w == NULL)
		return ACRA_ENOMEM;
	w->tr = tr;
	w->rw = rw;
	w->codec = codec_new();
	w->http = evhttp_new(reactor_worker_base(rw));
	fd = tr->cfg->ssession ? ss_private_listener(w, rw) : dup(tr->listen_fd);
	w->watch = event_new(reactor_worker_base(rw), -1, EV_PERSIST, watch_cb, w);
	if (w->codec == NULL || w->http == NULL || fd < 0 || w->watch == NULL ||
	    (w->bound = evhttp_accept_socket_with_handle(w->http, fd)) == NULL) {
		if (fd >= 0 && w->bound == NULL)
			close(fd);
		if (w->watch != NULL)
			event_free(w->watch);
		if (w->http != NULL)
			evhttp_free(w->http);
		codec_free(w->codec);
		free(w);
		return ACRA_ENOMEM;
	}
	{
		struct timeval every = { 0, 100 * 1000 };

		event_add(w->watch, &every);
	}
	evhttp_set_max_body_size(w->http, (ev_ssize_t)tr->cfg->http_body_max_bytes);
	evhttp_set_max_headers_size(w->http, 16 * 1024);
	evhttp_set_timeout(w->http, (int)tr->cfg->http_timeout);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_bevcb(w->http, conn_bev, w);
	evhttp_set_gencb(w->http, dispatch, w);
	if (tr->cfg->ssession) {
		if (session_worker_init(rw, tr->reactor) != ACRA_OK) {
			reactor_worker_set_data(rw, w);
			worker_fini(rw, NULL);
			return ACRA_ENOMEM;
		}
		w->session_worker = reactor_worker_data(rw);
	}
	reactor_worker_set_data(rw, w);
	return ACRA_OK;
}

static void worker_fini(struct reactor_worker *rw, void *arg)
{
	struct tr_worker *w = reactor_worker_data(rw);

	(void)arg;
	if (w == NULL)
		return;
	event_free(w->watch);
	evhttp_free(w->http);
	codec_free(w->codec);
	while (w->peers != NULL)
		ss_peer_drop(w, &w->peers);
	if (w->session_worker != NULL) {
		reactor_worker_set_data(rw, w->session_worker);
		session_worker_fini(rw, NULL);
	}
	free(w);
	reactor_worker_set_data(rw, NULL);
}

/* ---- metrics ---- */

static int metrics_setup(struct tr *tr)
{
	static const double req_buckets[] = { 1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
					      5e-3, 1e-2, 5e-2, 0.1, 1 };
	static const char *const http_label[] = { "connection_type", "http", NULL };
	static const char *const types[2] = { "acrastruct", "acrablock" };
	struct metrics *m = metrics_new();
	const char *const tok_help = "number of tokenizations by status and token type";
	const char *const detok_help = "number of detokenizations by status and token type";

	if (m == NULL)
		return ACRA_ENOMEM;
	tr->metrics = m;
	tr->connections = metrics_counter(m, "acratranslator_connections_total",
					  "number of connections to AcraTranslator", http_label);
	if (tr->connections == NULL)
		return ACRA_ENOMEM;
	for (int v = 0; v < 2; v++)
		for (int op = 0; op < OP_N; op++) {
			const char *lab[] = { "request_type", "http", "operation", op_names[op],
					      "version", v ? "v2" : "v1", NULL };

			if (!v && op != OP_DECRYPT && op != OP_ENCRYPT)
				continue;
			tr->latency[v][op] = metrics_histogram(
				m, "acratranslator_request_processing_seconds",
				"Time of request processing", lab, req_buckets,
				sizeof(req_buckets) / sizeof(req_buckets[0]));
			if (tr->latency[v][op] == NULL)
				return ACRA_ENOMEM;
		}
	for (int i = 0; i < 2; i++) {
		const char *ok[] = { "status", "success", "type", types[i], NULL };
		const char *fail[] = { "status", "fail", "type", types[i], NULL };

		tr->dec_ok[i] = metrics_counter(m, "acra_decryptions_total",
						"number of decryptions", ok);
		tr->dec_fail[i] = metrics_counter(m, "acra_decryptions_total",
						  "number of decryptions", fail);
		tr->enc_ok[i] = metrics_counter(m, "acra_encryptions_total",
						"number of encryptions", ok);
		tr->enc_fail[i] = metrics_counter(m, "acra_encryptions_total",
						  "number of encryptions", fail);
		if (!tr->dec_ok[i] || !tr->dec_fail[i] || !tr->enc_ok[i] || !tr->enc_fail[i])
			return ACRA_ENOMEM;
	}
	for (int t = TOKEN_INT32; t <= TOKEN_EMAIL; t++) {
		const char *ok[] = { "status", "success", "token_type", token_type_name(t), NULL };
		const char *fail[] = { "status", "fail", "token_type", token_type_name(t), NULL };

		tr->tok_ok[t] = metrics_counter(m, "acra_tokenizations_total", tok_help, ok);
		tr->tok_fail[t] = metrics_counter(m, "acra_tokenizations_total", tok_help, fail);
		tr->detok_ok[t] = metrics_counter(m, "acra_detokenizations_total", detok_help, ok);
		tr->detok_fail[t] = metrics_counter(m, "acra_detokenizations_total", detok_help,
						    fail);
		if (!tr->tok_ok[t] || !tr->tok_fail[t] || !tr->detok_ok[t] || !tr->detok_fail[t])
			return ACRA_ENOMEM;
	}
	return ACRA_OK;
}

/* ---- configuration ---- */

static int cfg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int cfg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "acra-translator: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return ACRA_EINVAL;
}

static int tr_cfg_check(struct tr_cfg *c)
{
	char err[256];

	if (!is_set(c->http_string)) {
		if (is_set(c->grpc_string))
			return cfg_error("gRPC is not supported (--incoming_connection_grpc_string); "
					 "configure HTTP with --incoming_connection_http_string, "
					 "e.g. http://0.0.0.0:9595");
		return cfg_error("no listener: gRPC (Acra's default grpc://0.0.0.0:9696) is not "
				 "supported; configure HTTP with "
				 "--incoming_connection_http_string, e.g. http://0.0.0.0:9595");
	}
	if (is_set(c->grpc_string))
		log_warn("gRPC is not supported: --incoming_connection_grpc_string=%s is not "
			 "served, only HTTP", c->grpc_string);
	if (net_parse(c->http_string, &c->listen_addr, err, sizeof(err)) != ACRA_OK ||
	    c->listen_addr.scheme == NET_GRPC)
		return cfg_error("invalid --incoming_connection_http_string: %s",
				 c->listen_addr.scheme == NET_GRPC ? "gRPC is not supported" : err);
	if (is_set(c->prometheus_string)) {
		if (net_parse(c->prometheus_string, &c->metrics_addr, err, sizeof(err)) != ACRA_OK)
			return cfg_error("invalid --incoming_connection_prometheus_metrics_string: %s",
					 err);
		c->metrics_enabled = true;
	}
	if (is_set(c->client_id) &&
	    !keystore_id_is_valid((const uint8_t *)c->client_id, strlen(c->client_id)))
		return cfg_error("invalid --client_id: 5..256 characters of letters, digits, '_', "
				 "'-' and space");
	c->tls = c->tls_transport_enable || is_set(c->tls_cert) || is_set(c->tls_key);
	if (c->tls && (!is_set(c->tls_cert) || !is_set(c->tls_key)))
		return cfg_error("TLS needs both --tls_cert and --tls_key");
	if (c->tls && c->tls_auth >= 3 && !is_set(c->tls_ca))
		return cfg_error("--tls_auth=%ld verifies client certificates: set --tls_ca",
				 c->tls_auth);
	/* Acra 0.82: Secure Session from acra connector unless a direct client id source
	 * (static --client_id, TLS) or the raw transport is configured. */
	c->ssession = !is_set(c->client_id) && !c->tls && !c->connector_raw;
	return ACRA_OK;
}

static void harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		log_warn("cannot disable core dumps: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot mark the process non-dumpable: %s", strerror(errno));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open files limit: %s", strerror(errno));
	}
}

static int accept_any_cert(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static void log_ssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	log_code(LOG_ERROR, LOG_CODE_CANT_START, "%s: %s", what, buf);
	ERR_clear_error();
}

/* Server TLS context. tls_auth follows Go's tls.ClientAuthType: 0 no client certificate,
 * 1 request one, 2 require one (not verified), 3 verify one if given, 4 require and verify. */
static int tls_setup(struct tr *tr)
{
	struct tr_cfg *c = tr->cfg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int mode = SSL_VERIFY_NONE;

	if (ctx == NULL) {
		log_ssl_error("cannot create TLS context");
		return ACRA_ENOMEM;
	}
	tr->ssl_ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		log_ssl_error("cannot load --tls_cert");
		return ACRA_EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_error("cannot load --tls_key");
		return ACRA_EINVAL;
	}
	if (is_set(c->tls_ca) && SSL_CTX_load_verify_locations(ctx, c->tls_ca, NULL) != 1) {
		log_ssl_error("cannot load --tls_ca");
		return ACRA_EINVAL;
	}
	switch (c->tls_auth) {
	case 1:
		mode = SSL_VERIFY_PEER;
		SSL_CTX_set_verify(ctx, mode, accept_any_cert);
		break;
	case 2:
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, accept_any_cert);
		break;
	case 3:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		break;
	case 4:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		break;
	default:
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	ssl_id_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_id_free);
	if (ssl_id_index < 0)
		return ACRA_ENOMEM;
	log_info("TLS on the HTTP listener (tls_auth=%ld); client id from client certificates "
		 "(%s), else %s", c->tls_auth, id_extractors[c->tls_identifier_extractor_type],
		 is_set(c->client_id) ? "the static client_id" : "none");
	return ACRA_OK;
}

/* Runs next to the reactor's own SIGTERM/SIGINT handling, which starts the drain. */
static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct tr *tr = arg;

	(void)sig;
	(void)what;
	atomic_store(&tr->stopping, true);
}

static void on_reload(void *arg)
{
	struct tr *tr = arg;

	keystore_reset(tr->ks);
	log_info("Cached keys dropped; keys are read again from %s", tr->cfg->keys_dir);
}

static int tr_open_stores(struct tr *tr)
{
	struct tr_cfg *c = tr->cfg;
	struct secret *master = NULL;
	struct keystore_opts o = { 0 };
	char err[512];
	int rc;

	rc = keystore_master_key_from_flags(&c->master, &master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "can't load master key: %s",
			 keystore_last_error());
		return rc;
	}
	o.dir = c->keys_dir;
	o.cache_size = c->keystore_cache_size;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, true, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&tr->ks, &o);
	secret_free(master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "can't open keystore %s: %s", c->keys_dir,
			 keystore_last_error()[0] ? keystore_last_error() : acra_strerror(rc));
		return rc;
	}
	keystore_codec_keys(tr->ks, &tr->keys);
	if (is_set(c->redis.host_port) && c->redis.db_tokens != KEYSTORE_REDIS_DB_UNSET) {
		if (is_set(c->token_db)) {
			log_code(LOG_ERROR, LOG_CODE_WRONG_CONFIG, "--token_db and --redis_db_tokens "
				 "both choose where tokens live: give one of them");
			return ACRA_EINVAL;
		}
		rc = tokenstore_open_redis(&tr->tokens, &c->redis, err, sizeof(err));
		if (rc == ACRA_OK)
			log_info("Tokens are kept in Redis at %s, database %ld (shared with every "
				 "instance using it)", c->redis.host_port, c->redis.db_tokens);
	} else {
		rc = tokenstore_open(&tr->tokens, c->token_db, err, sizeof(err));
	}
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "%s", err);
		return rc;
	}
	if (is_set(c->token_db))
		log_info("Tokens are kept in %s (%zu records loaded)", c->token_db,
			 tokenstore_count(tr->tokens));
	return ACRA_OK;
}

static int tr_run(struct tr *tr)
{
	struct tr_cfg *c = tr->cfg;
	char err[512], addr[NET_HOST_MAX + 80];
	int rc;

	if (!c->ssession) {
		rc = net_listen(&c->listen_addr, false, 1024, &tr->listen_fd, err, sizeof(err));
		if (rc != ACRA_OK) {
			log_code(LOG_ERROR, LOG_CODE_LISTEN, "%s", err);
			return 1;
		}
	}
	rc = reactor_new(&tr->reactor, (unsigned)c->worker_threads);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "cannot start workers: %s",
			 acra_strerror(rc));
		return 1;
	}
	reactor_on_worker(tr->reactor, worker_init, worker_fini, tr);
	if (c->ssession) {
		ssaccept_server_keys(&tr->ss_keys, tr->ks, KEYSTORE_TRANSLATOR);
		tr->ss_env.client_tr.kind = SESSION_TRANSPORT_SSESSION;
		tr->ss_env.client_tr.ss = &tr->ss_keys.ops;
		tr->ss_env.db_attach = ss_attach;
		tr->ss_env.db_attach_arg = tr;
		tr->ss_env.db_what = "HTTP server";
		session_listener_publish(&tr->ss_listener, &tr->ss_env);
		if (reactor_listen(tr->reactor, &c->listen_addr, ss_accept, tr, err, sizeof(err)) !=
		    ACRA_OK) {
			log_code(LOG_ERROR, LOG_CODE_LISTEN, "%s", err);
			return 1;
		}
	}
	tr->sig_term = evsignal_new(reactor_main_base(tr->reactor), SIGTERM, on_stop_signal, tr);
	tr->sig_int = evsignal_new(reactor_main_base(tr->reactor), SIGINT, on_stop_signal, tr);
	if (tr->sig_term == NULL || tr->sig_int == NULL || event_add(tr->sig_term, NULL) != 0 ||
	    event_add(tr->sig_int, NULL) != 0) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "cannot watch signals");
		return 1;
	}
	reactor_on_reload(tr->reactor, on_reload, tr);
	net_format(&c->listen_addr, addr, sizeof(addr));
	log_info("Start listening to HTTP connections on %s (%u workers). Current PID: %ld", addr,
		 reactor_n_workers(tr->reactor), (long)getpid());
	if (c->metrics_enabled) {
		if (http_metrics_server_new(&tr->metrics_http, reactor_main_base(tr->reactor),
					    &c->metrics_addr, tr->metrics) != ACRA_OK)
			return 1;
	}
	log_startup_done();
	rc = reactor_run(tr->reactor, c->close_timeout);
	if (rc < 0) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "cannot start workers: %s",
			 acra_strerror(rc));
		return 1;
	}
	return rc;
}

int translator_main(int argc, char **argv)
{
	struct tr tr;
	struct tr_cfg *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return 1;
	memset(&tr, 0, sizeof(tr));
	tr.listen_fd = -1;
	rc = conf_parse(&tr_spec, c, argc, argv);
	if (rc == ACRA_OK)
		rc = tr_cfg_check(c);
	if (rc != ACRA_OK) {
		conf_free(c);
		free(c);
		return conf_exit_code(rc);
	}
	tr.cfg = c;
	b64_init();
	harden_process();
	signal(SIGCHLD, SIG_IGN); /* poison scripts run without being waited for */
	log_info("Starting service acra-translator [pid=%ld], compatible with Acra %s",
		 (long)getpid(), ACRA_COMPAT_VERSION);
	if (c->ssession)
		log_info("Transport from clients: Secure Session from acra connector (keys "
			 "<client_id>_translator, peer <client_id>.pub in %s); client id from its "
			 "handshake", c->keys_dir);
	else if (c->tls)
		log_info("Transport from clients: TLS");
	else if (c->connector_raw)
		log_info("Transport from clients: raw (acraconnector_transport_encryption_disable)");
	else
		log_info("Transport from clients: plain HTTP");
	if (is_set(c->client_id))
		log_info("Client id: static client_id \"%s\" for every request", c->client_id);
	else if (!c->ssession)
		log_warn("No --client_id: requests must name a zone, others fail with "
			 "\"clientID is empty\"");
	rc = metrics_setup(&tr);
	if (rc == ACRA_OK && c->tls)
		rc = tls_setup(&tr);
	if (rc == ACRA_OK)
		rc = tr_open_stores(&tr);
	rc = rc == ACRA_OK ? tr_run(&tr) : 1;
	http_server_free(tr.metrics_http);
	if (tr.sig_term != NULL)
		event_free(tr.sig_term);
	if (tr.sig_int != NULL)
		event_free(tr.sig_int);
	reactor_free(tr.reactor);
	if (tr.listen_fd >= 0)
		close(tr.listen_fd);
	if (c->listen_addr.scheme == NET_UNIX && rc != 1)
		unlink(c->listen_addr.path);
	tokenstore_free(tr.tokens);
	keystore_free(tr.ks);
	metrics_free(tr.metrics);
	SSL_CTX_free(tr.ssl_ctx);
	conf_free(c);
	free(c);
	log_close();
	return rc;
}
