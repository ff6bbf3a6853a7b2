/* modes/connector.c: `acra connector` (acra-connector): a sidecar next to the application.
 * Each application connection gets its own connection to acra server (or acra translator),
 * wrapped in Themis Secure Session (default, Acra 0.82's framing), TLS, or nothing; bytes
 * are pumped both ways unparsed (spec/acra-runtime.md §4). Flags follow §1.5. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "lib/conf.h"
#include "lib/fdio.h"
#include "lib/http.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/net.h"
#include "lib/reactor.h"
#include "lib/session.h"
#include "lib/ssaccept.h"
#include "lib/tls.h"
#include "lib/version.h"
#include "modes/modes.h"

#define DEFAULT_LISTEN "tcp://127.0.0.1:9494/"
#define DEFAULT_API_LISTEN "tcp://127.0.0.1:9191/"

struct connector_cfg {
	struct conf_base base;
	char *client_id, *keys_dir, *mode;
	char *incoming_connection_string, *incoming_connection_api_string;
	long incoming_connection_port, incoming_connection_api_port;
	char *acraserver_connection_string, *acraserver_connection_host;
	long acraserver_connection_port;
	char *acraserver_securesession_id;
	char *acraserver_api_connection_string;
	long acraserver_api_connection_port;
	bool acraserver_transport_encryption_disable, acraserver_tls_transport_enable;
	char *tls_acraserver_sni;
	char *tls_key, *tls_cert, *tls_ca;
	long tls_auth;
	char *acratranslator_connection_string, *acratranslator_connection_host;
	long acratranslator_connection_port;
	char *acratranslator_securesession_id;
	bool http_api_enable, user_check_disable;
	char *metrics_string, *prometheus_metrics_address;
	long worker_threads;
	struct keystore_master_flags master;
};

#define S struct connector_cfg
static const struct conf_opt connector_opts[] = {
	CONF_STR("client_id", S, client_id, NULL, "Client ID"),
	CONF_STR("keys_dir", S, keys_dir, ".acrakeys",
		 "Folder from which will be loaded keys"),
	CONF_STR("mode", S, mode, "AcraServer",
		 "Expected mode of connection. Possible values are: AcraServer or AcraTranslator. "
		 "Corresponded connection host/port/string/session_id will be used."),
	CONF_STR("incoming_connection_string", S, incoming_connection_string, DEFAULT_LISTEN,
		 "Connection string like tcp://x.x.x.x:yyyy or unix:///path/to/socket"),
	CONF_INT("incoming_connection_port", S, incoming_connection_port, "9494", 1, 65535,
		 "Port to AcraConnector"),
	CONF_STR("incoming_connection_api_string", S, incoming_connection_api_string,
		 DEFAULT_API_LISTEN, "Connection string like tcp://x.x.x.x:yyyy or "
		 "unix:///path/to/socket"),
	CONF_INT("incoming_connection_api_port", S, incoming_connection_api_port, "9191", 1,
		 65535, "Port for AcraConnector HTTP API"),
	CONF_STR("acraserver_connection_string", S, acraserver_connection_string, NULL,
		 "Connection string to AcraServer like tcp://x.x.x.x:yyyy or "
		 "unix:///path/to/socket"),
	CONF_STR("acraserver_connection_host", S, acraserver_connection_host, NULL,
		 "IP or domain to AcraServer daemon"),
	CONF_INT("acraserver_connection_port", S, acraserver_connection_port, "9393", 1, 65535,
		 "Port of AcraServer daemon"),
	CONF_STR("acraserver_securesession_id", S, acraserver_securesession_id, "acra_server",
		 "Expected id from AcraServer for Secure Session"),
	CONF_STR("acraserver_api_connection_string", S, acraserver_api_connection_string, NULL,
		 "Connection string to Acra's API like tcp://x.x.x.x:yyyy or "
		 "unix:///path/to/socket"),
	CONF_INT("acraserver_api_connection_port", S, acraserver_api_connection_port, "9090", 1,
		 65535, "Port of Acra HTTP API"),
	CONF_BOOL("acraserver_transport_encryption_disable", S,
		  acraserver_transport_encryption_disable, "false",
		  "Use raw transport (tcp/unix socket) between acraserver and acraproxy/client "
		  "(don't use this flag if you not connect to database with ssl/tls"),
	CONF_BOOL("acraserver_tls_transport_enable", S, acraserver_tls_transport_enable, "false",
		  "Use tls to encrypt transport between AcraServer and AcraConnector/client"),
	CONF_STR("tls_acraserver_sni", S, tls_acraserver_sni, NULL,
		 "Expected Server Name (SNI) from AcraServer"),
	CONF_STR("tls_key", S, tls_key, NULL,
		 "Path to private key that will be used in TLS handshake with AcraServer"),
	CONF_STR("tls_cert", S, tls_cert, NULL, "Path to certificate"),
	CONF_STR("tls_ca", S, tls_ca, NULL,
		 "Path to root certificate which will be used with system root certificates to "
		 "validate AcraServer's certificate"),
	CONF_INT("tls_auth", S, tls_auth, "4", 0, 4,
		 "Set authentication mode that will be used in TLS connection with AcraServer/"
		 "AcraTranslator. Values in range 0-4 that set auth type "
		 "(https://golang.org/pkg/crypto/tls/#ClientAuthType). Default is "
		 "tls.RequireAndVerifyClientCert"),
	CONF_STR("acratranslator_connection_string", S, acratranslator_connection_string, NULL,
		 "Connection string to AcraTranslator like grpc://0.0.0.0:9696 or "
		 "http://0.0.0.0:9595"),
	CONF_STR("acratranslator_connection_host", S, acratranslator_connection_host, "0.0.0.0",
		 "IP or domain to AcraTranslator daemon"),
	CONF_INT("acratranslator_connection_port", S, acratranslator_connection_port, "9696", 1,
		 65535, "Port of AcraTranslator daemon"),
	CONF_STR("acratranslator_securesession_id", S, acratranslator_securesession_id,
		 "acra_translator", "Expected id from AcraTranslator for Secure Session"),
	CONF_BOOL("http_api_enable", S, http_api_enable, "false", "Enable HTTP API"),
	CONF_BOOL("user_check_disable", S, user_check_disable, "false",
		  "Disable checking that connections from app running from another user"),
	CONF_STR("incoming_connection_prometheus_metrics_string", S, metrics_string, NULL,
		 "URL which will be used to expose Prometheus metrics (use <URL>/metrics address "
		 "to pull metrics)"),
	CONF_STR("prometheus_metrics_address", S, prometheus_metrics_address, NULL,
		 "Acra 0.82 name of incoming_connection_prometheus_metrics_string"),
	CONF_INT("worker_threads", S, worker_threads, "0", 0, 1024,
		 "Worker threads with their own event loop; 0 = one per CPU core"),
	CONF_IGNORED("redis_host_port", CONF_T_STR, NULL, "<host>:<port> used to connect to "
		     "redis (not supported by acra connector here)"),
	CONF_IGNORED("redis_db_keys", CONF_T_INT, "-1", "Number of redis database for keys"),
	CONF_IGNORED("redis_password", CONF_T_STR, NULL, "Password to Redis database"),
	CONF_IGNORED("audit_log_enable", CONF_T_BOOL, "false", "Enable audit mode"),
	CONF_IGNORED("tracing_log_enable", CONF_T_BOOL, "false", "Enable tracing logs"),
	CONF_IGNORED("tracing_jaeger_enable", CONF_T_BOOL, "false", "Enable Jaeger tracing"),
	KEYSTORE_MASTER_CONF(S, master),
	CONF_END
};
#undef S

static const struct conf_spec connector_spec = {
	"connector", "acra-connector", "sidecar: wraps application connections to acra server",
	connector_opts
};

struct connector {
	struct connector_cfg *cfg;
	bool translator;
	uid_t uid;
	struct reactor *reactor;
	struct keystore *ks;
	struct ssaccept_keys keys;
	SSL_CTX *tls;
	struct net_addr listen, api_listen, target, api_target;
	struct session_env env, api_env;
	struct session_listener listener, api_listener;
	struct metrics *metrics;
	struct session_metrics sm, api_sm;
	struct http_server *metrics_http;
	struct net_addr metrics_addr;
};

static bool is_set(const char *s)
{
	return s != NULL && *s != '\0';
}

static int cfg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int cfg_error(const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_code(LOG_ERROR, LOG_CODE_WRONG_CONFIG, "%s", msg);
	return ACRA_EINVAL;
}

static int parse(const char *flag, const char *value, struct net_addr *out)
{
	char err[300];

	if (net_parse(value, out, err, sizeof(err)) != ACRA_OK)
		return cfg_error("invalid --%s: %s", flag, err);
	return ACRA_OK;
}

/* Targets and listeners from the flags (§4.2). */
static int connector_check(struct connector *cn)
{
	struct connector_cfg *c = cn->cfg;
	char buf[NET_HOST_MAX + 40];
	int rc;

	if (!is_set(c->client_id))
		return cfg_error("--client_id is required");
	if (!keystore_id_is_valid((const uint8_t *)c->client_id, strlen(c->client_id)))
		return cfg_error("invalid --client_id \"%.64s\": 5 to 256 characters from "
				 "[A-Za-z0-9_- ]", c->client_id);
	if (strcasecmp(c->mode, "AcraServer") == 0)
		cn->translator = false;
	else if (strcasecmp(c->mode, "AcraTranslator") == 0)
		cn->translator = true;
	else
		return cfg_error("invalid --mode \"%.64s\": AcraServer or AcraTranslator", c->mode);
	for (int i = 0; i < 2; i++) {
		const char *sid = i == 0 ? c->acraserver_securesession_id :
					   c->acratranslator_securesession_id;

		if (!keystore_id_is_valid((const uint8_t *)sid, strlen(sid)))
			return cfg_error("invalid Secure Session id \"%.64s\"", sid);
	}
	if (c->incoming_connection_port != 9494) {
		snprintf(buf, sizeof(buf), "tcp://127.0.0.1:%ld/", c->incoming_connection_port);
		rc = parse("incoming_connection_port", buf, &cn->listen);
	} else {
		rc = parse("incoming_connection_string", c->incoming_connection_string, &cn->listen);
	}
	if (rc != ACRA_OK)
		return rc;
	if (c->incoming_connection_api_port != 9191) {
		snprintf(buf, sizeof(buf), "tcp://127.0.0.1:%ld/", c->incoming_connection_api_port);
		rc = parse("incoming_connection_api_port", buf, &cn->api_listen);
	} else {
		rc = parse("incoming_connection_api_string", c->incoming_connection_api_string,
			   &cn->api_listen);
	}
	if (rc != ACRA_OK)
		return rc;
	if (cn->translator) {
		if (is_set(c->acratranslator_connection_string)) {
			rc = parse("acratranslator_connection_string",
				   c->acratranslator_connection_string, &cn->target);
		} else {
			snprintf(buf, sizeof(buf), strchr(c->acratranslator_connection_host, ':') ?
							   "tcp://[%s]:%ld/" : "tcp://%s:%ld/",
				 c->acratranslator_connection_host, c->acratranslator_connection_port);
			rc = parse("acratranslator_connection_host", buf, &cn->target);
		}
		return rc;
	}
	if (is_set(c->acraserver_connection_host)) {
		snprintf(buf, sizeof(buf), strchr(c->acraserver_connection_host, ':') ?
						   "tcp://[%s]:%ld/" : "tcp://%s:%ld/",
			 c->acraserver_connection_host, c->acraserver_connection_port);
		rc = parse("acraserver_connection_host", buf, &cn->target);
	} else if (is_set(c->acraserver_connection_string)) {
		rc = parse("acraserver_connection_string", c->acraserver_connection_string,
			   &cn->target);
	} else {
		return cfg_error("need --acraserver_connection_host or "
				 "--acraserver_connection_string");
	}
	if (rc != ACRA_OK || !c->http_api_enable)
		return rc;
	if (is_set(c->acraserver_api_connection_string)) {
		rc = parse("acraserver_api_connection_string", c->acraserver_api_connection_string,
			   &cn->api_target);
	} else {
		const char *host = is_set(c->acraserver_connection_host) ?
					   c->acraserver_connection_host : cn->target.host;

		if (cn->target.scheme == NET_UNIX && !is_set(c->acraserver_connection_host))
			return cfg_error("--http_api_enable with a unix acra server needs "
					 "--acraserver_api_connection_string");
		snprintf(buf, sizeof(buf), strchr(host, ':') ? "tcp://[%s]:%ld/" : "tcp://%s:%ld/",
			 host, c->acraserver_api_connection_port);
		rc = parse("acraserver_api_connection_port", buf, &cn->api_target);
	}
	return rc;
}

/* Point env at a target: TCP host:port (resolved per connection) or a unix socket. */
static int env_target(struct session_env *env, const struct net_addr *a)
{
	char err[300];

	if (a->scheme != NET_UNIX)
		return session_env_set_db(env, a->host, a->port);
	snprintf(env->db_host, sizeof(env->db_host), "localhost");
	env->db_port = 1;
	snprintf(env->db_label, sizeof(env->db_label), "unix:%s", a->path);
	if (net_resolve(a, &env->db_addr, &env->db_addr_len, err, sizeof(err)) != ACRA_OK)
		return ACRA_EINVAL;
	env->db_numeric = true;
	return ACRA_OK;
}

/* ---- same-OS-user check (§4.5) ---------------------------------------------------------- */

/* Owner uid of the local TCP socket ip:port (the application's end of the connection),
 * from /proc/net/tcp. Returns 0 and *uid, or ACRA_ENOKEY if not found. */
static int tcp_socket_owner(const struct sockaddr_in *peer, uid_t *uid)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	unsigned want_ip = peer->sin_addr.s_addr, want_port = ntohs(peer->sin_port);
	int rc = ACRA_ENOKEY;

	if (f == NULL)
		return ACRA_EIO;
	if (fgets(line, sizeof(line), f) == NULL) { /* header */
		fclose(f);
		return ACRA_EIO;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned ip, port, rip, rport, st;
		unsigned long u;

		/* sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid */
		if (sscanf(line, " %*d: %8X:%4X %8X:%4X %2X %*X:%*X %*X:%*X %*X %lu", &ip, &port,
			   &rip, &rport, &st, &u) != 6)
			continue;
		if (ip == want_ip && port == want_port) {
			*uid = (uid_t)u;
			rc = ACRA_OK;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void connector_accept(struct reactor_worker *w, int fd, const struct sockaddr *peer,
			     socklen_t peer_len, void *arg)
{
	struct connector *cn = arg;

	if (!cn->cfg->user_check_disable && peer->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
		uid_t uid;

		if (in->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
		    tcp_socket_owner(in, &uid) == ACRA_OK && uid == cn->uid) {
			log_code(LOG_WARN, LOG_CODE_ACCEPT,
				 "Client application and ssproxy need to be start from different "
				 "users (set --user_check_disable to allow it)");
			close(fd);
			return;
		}
	}
	session_accept(w, fd, peer, peer_len, &cn->listener);
}

/* ---- start-up -------------------------------------------------------------------------- */

static int open_keys(struct connector *cn)
{
	struct keystore_opts o = { 0 };
	struct secret *master = NULL;
	int rc;

	rc = keystore_master_key_from_flags(&cn->cfg->master, &master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "can't load master key: %s",
			 keystore_last_error());
		return rc;
	}
	o.dir = cn->cfg->keys_dir;
	o.cache_size = KEYSTORE_CACHE_UNLIMITED;
	o.master_key = master;
	rc = keystore_open(&cn->ks, &o);
	secret_free(master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_KEYSTORE_INIT, "cannot open keystore: %s",
			 keystore_last_error());
		return rc;
	}
	ssaccept_client_keys(&cn->keys, cn->ks, cn->cfg->client_id,
			     cn->translator ? KEYSTORE_TRANSLATOR : KEYSTORE_SERVER);
	rc = ssaccept_check(&cn->keys);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_READ_KEYS,
			 "cannot read transport keys for client id \"%s\" (%s, %s): %s",
			 cn->cfg->client_id, cn->cfg->client_id,
			 cn->translator ? "<id>_translator.pub" : "<id>_server.pub",
			 keystore_last_error()[0] != '\0' ? keystore_last_error() :
							     acra_strerror(rc));
		return rc;
	}
	return ACRA_OK;
}

static int metrics_setup(struct connector *cn)
{
	static const double buckets[] = { 0.1, 0.2, 0.5, 1, 10, 60, 3600, 86400 };
	static const char *const db[] = { "connection_type", "db", NULL };
	static const char *const api[] = { "connection_type", "api", NULL };
	struct metrics *m = metrics_new();

	if (m == NULL)
		return ACRA_ENOMEM;
	cn->metrics = m;
	cn->sm.connections = metrics_counter(m, "acraconnector_connections_total",
					     "number of connections to AcraConnector", db);
	cn->sm.processing = metrics_histogram(m, "acraconnector_connections_processing_seconds",
					      "Time of connection processing", db, buckets, 8);
	cn->api_sm.connections = metrics_counter(m, "acraconnector_connections_total",
						 "number of connections to AcraConnector", api);
	cn->api_sm.processing = metrics_histogram(m,
						  "acraconnector_connections_processing_seconds",
						  "Time of connection processing", api, buckets, 8);
	cn->sm.db_errors = cn->api_sm.db_errors =
		metrics_counter(m, "acraconnector_server_connection_errors_total",
				"Failed connections to acra server / acra translator", NULL);
	return ACRA_OK;
}

static int connector_setup(struct connector *cn)
{
	struct connector_cfg *c = cn->cfg;
	struct session_transport tr;
	char err[512];
	int rc;

	memset(&tr, 0, sizeof(tr));
	if (c->acraserver_tls_transport_enable) {
		struct tls_files f = { c->tls_key, c->tls_cert, c->tls_ca, (int)c->tls_auth };

		rc = tls_client_ctx_new(&cn->tls, &f, err, sizeof(err));
		if (rc != ACRA_OK)
			return cfg_error("TLS to acra server: %s", err);
		tr.kind = SESSION_TRANSPORT_TLS;
		tr.tls = cn->tls;
		tr.server_name = is_set(c->tls_acraserver_sni) ? c->tls_acraserver_sni : NULL;
		log_info("Transport to %s: TLS", cn->translator ? "acra translator" : "acra server");
	} else if (c->acraserver_transport_encryption_disable) {
		tr.kind = SESSION_TRANSPORT_PLAIN;
		log_info("Transport to %s: raw (no encryption)",
			 cn->translator ? "acra translator" : "acra server");
	} else {
		tr.kind = SESSION_TRANSPORT_SSESSION;
		tr.ss = &cn->keys.ops;
		tr.handshake_timeout_s = 10;
		log_info("Transport to %s: Secure Session as client id \"%s\"",
			 cn->translator ? "acra translator" : "acra server", c->client_id);
	}
	/* Keys are needed for Secure Session; Acra 0.82 requires them in every mode. */
	rc = open_keys(cn);
	if (rc != ACRA_OK)
		return rc;
	if (env_target(&cn->env, &cn->target) != ACRA_OK)
		return cfg_error("cannot use the %s address", cn->translator ? "acra translator" :
									    "acra server");
	cn->env.connect_timeout_s = 10;
	cn->env.client_id = c->client_id;
	cn->env.db_tr = tr;
	cn->env.db_what = cn->translator ? "acra translator" : "acra server";
	cn->env.metrics = &cn->sm;
	session_listener_publish(&cn->listener, &cn->env);
	if (c->http_api_enable && !cn->translator) {
		if (env_target(&cn->api_env, &cn->api_target) != ACRA_OK)
			return cfg_error("cannot use the acra server API address");
		cn->api_env.connect_timeout_s = 10;
		cn->api_env.client_id = c->client_id;
		/* acra server's HTTP API speaks plain HTTP here (TLS with
		 * --acraserver_tls_transport_enable), not Secure Session. */
		if (tr.kind == SESSION_TRANSPORT_TLS)
			cn->api_env.db_tr = tr;
		cn->api_env.db_what = "acra server API";
		cn->api_env.metrics = &cn->api_sm;
		session_listener_publish(&cn->api_listener, &cn->api_env);
	}
	return ACRA_OK;
}

static int connector_run(struct connector *cn)
{
	struct connector_cfg *c = cn->cfg;
	char err[512], addr[NET_HOST_MAX + 80];
	int rc;

	rc = reactor_new(&cn->reactor, (unsigned)c->worker_threads);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "cannot start workers: %s",
			 acra_strerror(rc));
		return 1;
	}
	reactor_on_worker(cn->reactor, session_worker_init, session_worker_fini, cn->reactor);
	rc = reactor_listen(cn->reactor, &cn->listen, connector_accept, cn, err, sizeof(err));
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_LISTEN, "%s", err);
		return 1;
	}
	net_format(&cn->listen, addr, sizeof(addr));
	log_info("Start listening to connections on %s; forwarding to %s", addr,
		 cn->env.db_label);
	if (c->http_api_enable && !cn->translator) {
		rc = reactor_listen(cn->reactor, &cn->api_listen, session_accept, &cn->api_listener,
				    err, sizeof(err));
		if (rc != ACRA_OK) {
			log_code(LOG_ERROR, LOG_CODE_LISTEN, "HTTP API: %s", err);
			return 1;
		}
		net_format(&cn->api_listen, addr, sizeof(addr));
		log_info("Start listening to HTTP API on %s; forwarding to %s", addr,
			 cn->api_env.db_label);
	}
	if (is_set(c->metrics_string) || is_set(c->prometheus_metrics_address)) {
		const char *m = is_set(c->metrics_string) ? c->metrics_string :
							    c->prometheus_metrics_address;

		if (parse("incoming_connection_prometheus_metrics_string", m, &cn->metrics_addr) !=
		    ACRA_OK)
			return 1;
		if (http_metrics_server_new(&cn->metrics_http, reactor_main_base(cn->reactor),
					    &cn->metrics_addr, cn->metrics) != ACRA_OK)
			return 1;
	}
	log_startup_done();
	rc = reactor_run(cn->reactor, 0);
	return rc < 0 ? 1 : rc;
}

int connector_main(int argc, char **argv)
{
	struct connector cn;
	struct connector_cfg *c = calloc(1, sizeof(*c));
	int rc;

	memset(&cn, 0, sizeof(cn));
	if (c == NULL)
		return 1;
	rc = conf_parse(&connector_spec, c, argc, argv);
	if (rc != ACRA_OK) {
		conf_free(c);
		free(c);
		return conf_exit_code(rc);
	}
	cn.cfg = c;
	cn.uid = geteuid();
	proc_harden();
	log_info("Starting service acra-connector [pid=%ld], compatible with Acra %s",
		 (long)getpid(), ACRA_COMPAT_VERSION);
	rc = connector_check(&cn);
	if (rc == ACRA_OK)
		rc = metrics_setup(&cn);
	if (rc == ACRA_OK)
		rc = connector_setup(&cn);
	rc = rc == ACRA_OK ? connector_run(&cn) : 1;
	http_server_free(cn.metrics_http);
	reactor_free(cn.reactor);
	metrics_free(cn.metrics);
	keystore_free(cn.ks);
	SSL_CTX_free(cn.tls);
	conf_free(c);
	free(c);
	log_close();
	return rc;
}
