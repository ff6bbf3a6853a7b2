/* modes/server.c: `acra server` (acra-server): the SQL proxy between applications and the
 * database. Flags follow spec/acra-runtime.md §1.4 with Acra 0.96's defaults where the flag
 * exists in 0.96 and 0.82's otherwise (DESIGN.md "Decisions"). Wiring only: listeners,
 * sessions, HTTP API and metrics live in lib/. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <jansson.h>
#include <sodium.h>

#include "lib/conf.h"
#include "lib/http.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/mysqlproxy.h"
#include "lib/pgproxy.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/net.h"
#include "lib/reactor.h"
#include "lib/session.h"
#include "lib/ssaccept.h"
#include "lib/tls.h"
#include "lib/version.h"
#include "modes/modes.h"

#define DEFAULT_LISTEN_HOST "0.0.0.0"
#define DEFAULT_LISTEN_PORT 9393
#define DEFAULT_API_PORT 9090
#define DB_PROBE_INTERVAL_S 5
#define DB_PROBE_TIMEOUT_S 2

/* Where the client id of a connection comes from (spec/acra-runtime.md §2.2, §2.6). */
enum client_id_source {
	CID_SECURE_SESSION,  /* first message of the acra connector's Secure Session (0.82) */
	CID_STATIC,          /* --client_id for every connection */
	CID_TLS_CERT,        /* the application's TLS client certificate (0.90+) */
	CID_CONNECTOR_TLS,   /* TLS from acra connector, static --client_id (0.82) */
	CID_CONNECTOR_RAW,   /* plain transport from acra connector, static --client_id (0.82) */
};

static const char *const id_extractors[] = { "distinguished_name", "serial_number", NULL };

struct server_cfg {
	struct conf_base base;
	char *db_host;
	long db_port;
	bool postgresql_enable, mysql_enable;
	char *incoming_connection_string, *incoming_connection_host;
	long incoming_connection_port;
	char *incoming_connection_api_string;
	long incoming_connection_api_port;
	long incoming_connection_close_timeout;
	char *prometheus_string, *prometheus_metrics_address;
	bool http_api_enable, http_api_tls_transport_enable;
	long worker_threads;
	/* keystore */
	char *keys_dir;
	long keystore_cache_size;
	bool keystore_cache_on_start_enable;
	struct keystore_master_flags master;
	struct keystore_redis_opts redis;
	/* client identity and transports */
	bool zonemode_enable;
	char *securesession_id;
	bool acraconnector_transport_encryption_disable, acraconnector_tls_transport_enable;
	char *client_id;
	char *tls_key, *tls_cert, *tls_ca, *tls_db_sni;
	long tls_auth;
	bool tls_client_id_from_cert;
	int tls_identifier_extractor_type;
	long tls_client_auth, tls_database_auth;
	char *tls_client_ca, *tls_client_cert, *tls_client_key;
	char *tls_database_ca, *tls_database_cert, *tls_database_key, *tls_database_sni;
	/* decryption and protection */
	bool acrastruct_wholecell_enable, acrastruct_injectedcell_enable;
	bool pgsql_hex_bytea, pgsql_escape_bytea;
	bool poison_detect_enable, poison_shutdown_enable;
	char *poison_run_script_file;
	char *acracensor_config_file, *encryptor_config_file;
	bool sql_parse_on_error_exit_enable;

	/* derived by server_cfg_check() */
	struct net_addr listen_addr, api_addr, metrics_addr;
	bool metrics_enabled;
	enum client_id_source cid_source;
};

#define S struct server_cfg
#define TLS_AUTH_HELP                                                                       \
	"Set authentication mode that will be used in TLS connection. Values in range 0-4 that " \
	"set auth type (https://golang.org/pkg/crypto/tls/#ClientAuthType). Default is "     \
	"tls.RequireAndVerifyClientCert"
#define TLS_SIDE_AUTH_HELP                                                                  \
	"Set authentication mode that will be used in TLS connection. Values in range 0-4 that " \
	"set auth type (https://golang.org/pkg/crypto/tls/#ClientAuthType). Default is -1 "  \
	"which means NotSpecified and will be used value from tls_auth."

static const struct conf_opt server_opts[] = {
	CONF_STR("db_host", S, db_host, NULL, "Host to db"),
	CONF_INT("db_port", S, db_port, "5432", 1, 65535, "Port to db"),
	CONF_BOOL("postgresql_enable", S, postgresql_enable, "false",
		  "Handle Postgresql connections (default true)"),
	CONF_BOOL("mysql_enable", S, mysql_enable, "false", "Handle MySQL connections"),
	CONF_STR("incoming_connection_string", S, incoming_connection_string,
		 "tcp://0.0.0.0:9393/",
		 "Connection string like tcp://x.x.x.x:yyyy or unix:///path/to/socket"),
	CONF_STR("incoming_connection_host", S, incoming_connection_host, DEFAULT_LISTEN_HOST,
		 "Host for AcraServer"),
	CONF_INT("incoming_connection_port", S, incoming_connection_port, "9393", 1, 65535,
		 "Port for AcraServer"),
	CONF_STR("incoming_connection_api_string", S, incoming_connection_api_string,
		 "tcp://0.0.0.0:9090/",
		 "Connection string for api like tcp://x.x.x.x:yyyy or unix:///path/to/socket"),
	CONF_INT("incoming_connection_api_port", S, incoming_connection_api_port, "9090", 1, 65535,
		 "Port for AcraServer for HTTP API"),
	CONF_INT("incoming_connection_close_timeout", S, incoming_connection_close_timeout, "10",
		 0, 86400,
		 "Time that AcraServer will wait (in seconds) on shutdown before closing all "
		 "connections"),
	CONF_STR("incoming_connection_prometheus_metrics_string", S, prometheus_string, NULL,
		 "URL (tcp://host:port) which will be used to expose Prometheus metrics "
		 "(<URL>/metrics address to pull metrics)"),
	CONF_STR("prometheus_metrics_address", S, prometheus_metrics_address, NULL,
		 "Acra 0.82 name of incoming_connection_prometheus_metrics_string"),
	CONF_BOOL("http_api_enable", S, http_api_enable, "false", "Enable HTTP API"),
	CONF_BOOL("http_api_tls_transport_enable", S, http_api_tls_transport_enable, "false",
		  "Enable HTTPS support for the API. Use together with the --http_api_enable"),
	CONF_INT("worker_threads", S, worker_threads, "0", 0, 256,
		 "Number of worker threads serving connections (0: one per CPU core)"),

	CONF_STR("keys_dir", S, keys_dir, ".acrakeys", "Folder from which will be loaded keys"),
	CONF_INT("keystore_cache_size", S, keystore_cache_size, "1000", -1, 1000000000,
		 "Maximum number of keys stored in in-memory LRU cache in encrypted form. 0 - no "
		 "limits, -1 - turn off cache. Default is 1000"),
	CONF_BOOL("keystore_cache_on_start_enable", S, keystore_cache_on_start_enable, "true",
		  "Load all keys to cache on start"),
	KEYSTORE_MASTER_CONF(S, master),
	KEYSTORE_REDIS_CONF(S, redis, "-1"),
	KEYSTORE_REDIS_CONF_TOKENS(S, redis),

	CONF_BOOL("zonemode_enable", S, zonemode_enable, "false", "Turn on zone mode"),
	CONF_STR("securesession_id", S, securesession_id, "acra_server",
		 "Id that will be sent in secure session"),
	CONF_BOOL("acraconnector_transport_encryption_disable", S,
		  acraconnector_transport_encryption_disable, "false",
		  "Use raw transport (tcp/unix socket) between AcraServer and "
		  "AcraConnector/client (don't use this flag if you not connect to database "
		  "with SSL/TLS)"),
	CONF_BOOL("acraconnector_tls_transport_enable", S, acraconnector_tls_transport_enable,
		  "false", "Use tls to encrypt transport between AcraServer and AcraConnector/client"),
	CONF_STR("client_id", S, client_id, NULL,
		 "Static ClientID used by AcraServer for data protection operations"),
	CONF_STR("tls_key", S, tls_key, NULL,
		 "Path to private key that will be used for TLS connections"),
	CONF_STR("tls_cert", S, tls_cert, NULL, "Path to certificate"),
	CONF_STR("tls_ca", S, tls_ca, NULL,
		 "Path to root certificate which will be used with system root certificates to "
		 "validate peer's certificate"),
	CONF_INT("tls_auth", S, tls_auth, "4", 0, 4, TLS_AUTH_HELP),
	CONF_STR("tls_db_sni", S, tls_db_sni, NULL,
		 "Expected Server Name (SNI) from database (Acra 0.82 name of tls_database_sni)"),
	CONF_BOOL("tls_client_id_from_cert", S, tls_client_id_from_cert, "true",
		  "Extract clientID from TLS certificate from application connection. Can't be "
		  "used with --tls_client_auth=0 or --tls_auth=0"),
	CONF_ENUM("tls_identifier_extractor_type", S, tls_identifier_extractor_type,
		  "distinguished_name", id_extractors,
		  "Decide which field of TLS certificate to use as ClientID "
		  "(distinguished_name|serial_number). Default is distinguished_name."),
	CONF_INT("tls_client_auth", S, tls_client_auth, "-1", -1, 4, TLS_SIDE_AUTH_HELP),
	CONF_STR("tls_client_ca", S, tls_client_ca, NULL,
		 "Path to root certificate which will be used with system root certificates to "
		 "validate peer's certificate. Uses --tls_ca value if not specified."),
	CONF_STR("tls_client_cert", S, tls_client_cert, NULL,
		 "Path to certificate. Uses --tls_cert value if not specified."),
	CONF_STR("tls_client_key", S, tls_client_key, NULL,
		 "Path to private key that will be used for TLS connections. Uses --tls_key value "
		 "if not specified."),
	CONF_INT("tls_database_auth", S, tls_database_auth, "-1", -1, 4, TLS_SIDE_AUTH_HELP),
	CONF_STR("tls_database_ca", S, tls_database_ca, NULL,
		 "Path to root certificate which will be used with system root certificates to "
		 "validate peer's certificate. Uses --tls_ca value if not specified."),
	CONF_STR("tls_database_cert", S, tls_database_cert, NULL,
		 "Path to certificate. Uses --tls_cert value if not specified."),
	CONF_STR("tls_database_key", S, tls_database_key, NULL,
		 "Path to private key that will be used for TLS connections. Uses --tls_key value "
		 "if not specified."),
	CONF_STR("tls_database_sni", S, tls_database_sni, NULL,
		 "Expected Server Name (SNI) from the service's side."),

	CONF_BOOL("acrastruct_wholecell_enable", S, acrastruct_wholecell_enable, "false",
		  "Acrastruct will stored in whole data cell (whole-cell decryption is used "
		  "unless acrastruct_injectedcell_enable is set)"),
	CONF_BOOL("acrastruct_injectedcell_enable", S, acrastruct_injectedcell_enable, "false",
		  "Acrastruct may be injected into any place of data cell"),
	CONF_BOOL("pgsql_hex_bytea", S, pgsql_hex_bytea, "false",
		  "Hex format for Postgresql bytea data (default)"),
	CONF_BOOL("pgsql_escape_bytea", S, pgsql_escape_bytea, "false",
		  "Escape format for Postgresql bytea data"),
	CONF_BOOL("poison_detect_enable", S, poison_detect_enable, "false",
		  "Turn on poison record detection, if server shutdown is disabled, AcraServer logs "
		  "the poison record detection and returns decrypted data"),
	CONF_BOOL("poison_shutdown_enable", S, poison_shutdown_enable, "false",
		  "On detecting poison record: log about poison record detection, stop and shutdown"),
	CONF_STR("poison_run_script_file", S, poison_run_script_file, NULL,
		 "On detecting poison record: log about poison record detection, execute script, "
		 "return decrypted data"),
	CONF_STR("acracensor_config_file", S, acracensor_config_file, NULL,
		 "Path to AcraCensor configuration file"),
	CONF_STR("encryptor_config_file", S, encryptor_config_file, NULL,
		 "Path to Encryptor configuration file"),
	CONF_BOOL("sql_parse_on_error_exit_enable", S, sql_parse_on_error_exit_enable, "false",
		  "Stop AcraServer execution in case of SQL query parse error. Default is false"),

	/* Accepted for compatibility with Acra; no effect (spec/acra-runtime.md §1.4 "A"). */
	CONF_IGNORED("ds", CONF_T_BOOL, "false", "Turn on HTTP debug server"),
	CONF_IGNORED("auth_keys", CONF_T_STR, "configs/auth.keys",
		     "Path to basic auth credentials for acra-webconfig (Acra 0.82)"),
	CONF_IGNORED("audit_log_enable", CONF_T_BOOL, "false", "Enable audit log functionality"),
	CONF_IGNORED("token_db", CONF_T_STR, NULL, "Path to BoltDB database file to store tokens"),
	CONF_IGNORED("tracing_log_enable", CONF_T_BOOL, "false", "Export trace data to log"),
	CONF_IGNORED("tracing_jaeger_enable", CONF_T_BOOL, "false", "Export trace data to jaeger"),
	CONF_IGNORED("jaeger_agent_endpoint", CONF_T_STR, NULL,
		     "Jaeger agent endpoint (for example, localhost:6831) that will be used to "
		     "export trace data"),
	CONF_IGNORED("jaeger_collector_endpoint", CONF_T_STR, NULL,
		     "Jaeger endpoint (for example, http://localhost:14268/api/traces) that will be "
		     "used to export trace data"),
	CONF_IGNORED("jaeger_basic_auth_username", CONF_T_STR, NULL,
		     "Username used for basic auth (optional) to jaeger"),
	CONF_IGNORED("jaeger_basic_auth_password", CONF_T_STR, NULL,
		     "Password used for basic auth (optional) to jaeger"),
	CONF_IGNORED("encryptor_config_storage_type", CONF_T_STR, "filesystem",
		     "Encryptor configuration file storage type: <filesystem, consul>"),
	CONF_IGNORED("consul_connection_api_string", CONF_T_STR, NULL,
		     "Connection string (http://x.x.x.x:yyyy) for loading encryptor config from "
		     "HashiCorp Consul"),
	CONF_IGNORED("consul_kv_config_path", CONF_T_STR, "acra/encryptor_config",
		     "KV Encryptor Config Path (acra/encryptor_config) for loading encryptor "
		     "config from HashiCorp Consul"),
	CONF_IGNORED("consul_tls_enable", CONF_T_BOOL, "false",
		     "Use TLS to encrypt transport with HashiCorp Consul"),
	CONF_IGNORED("consul_tls_client_auth", CONF_T_INT, "-1",
		     "Authentication mode for the TLS connection with HashiCorp Consul"),
	CONF_IGNORED("consul_tls_client_ca", CONF_T_STR, NULL,
		     "Path to CA certificate for HashiCorp Consul certificate validation"),
	CONF_IGNORED("consul_tls_client_cert", CONF_T_STR, NULL,
		     "Path to client TLS certificate for HashiCorp Consul"),
	CONF_IGNORED("consul_tls_client_key", CONF_T_STR, NULL,
		     "Path to private key of the client TLS certificate for HashiCorp Consul"),
	CONF_IGNORED("consul_tls_client_sni", CONF_T_STR, NULL,
		     "Expected Server Name (SNI) of HashiCorp Consul"),
	CONF_IGNORED("tls_crl_url", CONF_T_STR, NULL,
		     "URL of the Certificate Revocation List (CRL) to use"),
	CONF_IGNORED("tls_crl_from_cert", CONF_T_STR, "prefer",
		     "How to treat CRL URL described in certificate itself: "
		     "<use|trust|prefer|ignore>"),
	CONF_IGNORED("tls_crl_check_only_leaf_certificate", CONF_T_BOOL, "false",
		     "Put 'true' to check only final/last certificate, or 'false' to check the "
		     "whole certificate chain using CRL"),
	CONF_IGNORED("tls_crl_cache_size", CONF_T_INT, "16",
		     "How many CRLs to cache in memory (use 0 to disable caching)"),
	CONF_IGNORED("tls_crl_cache_time", CONF_T_INT, "0",
		     "How long to keep CRLs cached, in seconds (use 0 to disable caching, maximum: "
		     "300 s)"),
	CONF_IGNORED("tls_crl_client_url", CONF_T_STR, NULL,
		     "URL of the Certificate Revocation List (CRL) to use"),
	CONF_IGNORED("tls_crl_client_from_cert", CONF_T_STR, "prefer",
		     "How to treat CRL URL described in certificate itself: "
		     "<use|trust|prefer|ignore>"),
	CONF_IGNORED("tls_crl_client_check_only_leaf_certificate", CONF_T_BOOL, "false",
		     "Put 'true' to check only final/last certificate, or 'false' to check the "
		     "whole certificate chain using CRL"),
	CONF_IGNORED("tls_crl_client_cache_size", CONF_T_INT, "16",
		     "How many CRLs to cache in memory (use 0 to disable caching)"),
	CONF_IGNORED("tls_crl_client_cache_time", CONF_T_INT, "0",
		     "How long to keep CRLs cached, in seconds (use 0 to disable caching, maximum: "
		     "300 s)"),
	CONF_IGNORED("tls_crl_database_url", CONF_T_STR, NULL,
		     "URL of the Certificate Revocation List (CRL) to use"),
	CONF_IGNORED("tls_crl_database_from_cert", CONF_T_STR, "prefer",
		     "How to treat CRL URL described in certificate itself: "
		     "<use|trust|prefer|ignore>"),
	CONF_IGNORED("tls_crl_database_check_only_leaf_certificate", CONF_T_BOOL, "false",
		     "Put 'true' to check only final/last certificate, or 'false' to check the "
		     "whole certificate chain using CRL"),
	CONF_IGNORED("tls_crl_database_cache_size", CONF_T_INT, "16",
		     "How many CRLs to cache in memory (use 0 to disable caching)"),
	CONF_IGNORED("tls_crl_database_cache_time", CONF_T_INT, "0",
		     "How long to keep CRLs cached, in seconds (use 0 to disable caching, maximum: "
		     "300 s)"),
	CONF_IGNORED("tls_ocsp_url", CONF_T_STR, NULL, "OCSP service URL"),
	CONF_IGNORED("tls_ocsp_required", CONF_T_STR, "denyUnknown",
		     "How to treat certificates unknown to OCSP: "
		     "<denyUnknown|allowUnknown|requireGood>"),
	CONF_IGNORED("tls_ocsp_from_cert", CONF_T_STR, "prefer",
		     "How to treat OCSP server described in certificate itself: "
		     "<use|trust|prefer|ignore>"),
	CONF_IGNORED("tls_ocsp_check_only_leaf_certificate", CONF_T_BOOL, "false",
		     "Put 'true' to check only final/last certificate, or 'false' to check the "
		     "whole certificate chain using OCSP"),
	CONF_IGNORED("tls_ocsp_client_url", CONF_T_STR, NULL, "OCSP service URL"),
	CONF_IGNORED("tls_ocsp_client_required", CONF_T_STR, "denyUnknown",
		     "How to treat certificates unknown to OCSP: "
		     "<denyUnknown|allowUnknown|requireGood>"),
	CONF_IGNORED("tls_ocsp_client_from_cert", CONF_T_STR, "prefer",
		     "How to treat OCSP server described in certificate itself: "
		     "<use|trust|prefer|ignore>"),
	CONF_IGNORED("tls_ocsp_client_check_only_leaf_certificate", CONF_T_BOOL, "false",
		     "Put 'true' to check only final/last certificate, or 'false' to check the "
		     "whole certificate chain using OCSP"),
	CONF_IGNORED("tls_ocsp_database_url", CONF_T_STR, NULL, "OCSP service URL"),
	CONF_IGNORED("tls_ocsp_database_required", CONF_T_STR, "denyUnknown",
		     "How to treat certificates unknown to OCSP: "
		     "<denyUnknown|allowUnknown|requireGood>"),
	CONF_IGNORED("tls_ocsp_database_from_cert", CONF_T_STR, "prefer",
		     "How to treat OCSP server described in certificate itself: "
		     "<use|trust|prefer|ignore>"),
	CONF_IGNORED("tls_ocsp_database_check_only_leaf_certificate", CONF_T_BOOL, "false",
		     "Put 'true' to check only final/last certificate, or 'false' to check the "
		     "whole certificate chain using OCSP"),
	CONF_END
};

#undef S

static const struct conf_spec server_spec = {
	"server", "acra-server", "SQL proxy: decrypts results for the right client", server_opts
};

/* A mode-level hook run after SIGHUP once the new configuration is in place. */
struct server_reload_hook {
	void (*fn)(void *arg, const struct server_cfg *cfg);
	void *arg;
};

#define SERVER_MAX_RELOAD_HOOKS 8
#define SERVER_MAX_GENERATIONS 64

/* Runtime state of the server process. */
struct server {
	struct server_cfg *cfg; /* current configuration */
	int argc;
	char **argv;
	struct reactor *reactor;
	struct metrics *metrics;
	struct session_metrics sm;
	struct metric *api_requests;
	struct session_listener listener;
	/* Every configuration and session env ever published: sessions keep pointers into
	 * them, so they live until exit. SIGHUP adds one generation. */
	struct server_cfg *cfgs[SERVER_MAX_GENERATIONS];
	struct session_env *envs[SERVER_MAX_GENERATIONS];
	unsigned n_gen;
	struct http_server *api, *metrics_http;
	struct server_reload_hook reload_hooks[SERVER_MAX_RELOAD_HOOKS];
	unsigned n_reload_hooks;
	/* database reachability for /ready */
	struct event *probe_timer, *probe_ev;
	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *probe_dns;
	int probe_fd;
	_Atomic int db_reachable; /* -1 unknown, 0 no, 1 yes */
	/* decryption (PostgreSQL): keystore, one hooks config per generation, poison */
	struct keystore *ks;
	struct pgproxy_config pgcfgs[SERVER_MAX_GENERATIONS];
	struct pgproxy_metrics pgm;
	_Atomic int poison_exit; /* a poison record asked for shutdown */
	/* transports (set up once at start-up; see "transports" below); keys from ks */
	bool ss_prepared; /* transport_keys filled (Secure Session from connectors) */
	struct ssaccept_keys transport_keys;
	SSL_CTX *tls_app, *tls_db;
};

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n < 5 || n > 256)
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == ' '))
			return false;
	return true;
}

static bool is_set(const char *s)
{
	return s != NULL && *s != '\0';
}

static int cfg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int cfg_error(const char *fmt, ...)
{
	va_list ap;

	fputs("acra-server: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return ACRA_EINVAL;
}

static int parse_addr(const char *flag, const char *value, struct net_addr *out)
{
	char err[256];

	if (net_parse(value, out, err, sizeof(err)) != ACRA_OK)
		return cfg_error("invalid --%s: %s", flag, err);
	if (out->scheme != NET_TCP && out->scheme != NET_UNIX)
		return cfg_error("invalid --%s \"%s\": expected tcp://host:port/ or "
				 "unix:///path", flag, value);
	return ACRA_OK;
}

static int replace_str(char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return ACRA_ENOMEM;
	free(*field);
	*field = copy;
	return ACRA_OK;
}

/* Validate the options once all sources are applied, and derive the listener addresses
 * (spec/acra-runtime.md §1.4 "Validation at startup"). Messages go to stderr. */
static int server_cfg_check(struct server_cfg *c)
{
	char buf[NET_HOST_MAX + 32];
	int rc;

	if (!is_set(c->db_host))
		return cfg_error("--db_host is required: the address of the PostgreSQL or MySQL "
				 "server to protect (run 'acra-server --help' for all flags)");
	if (strlen(c->db_host) >= NET_HOST_MAX)
		return cfg_error("--db_host is too long (at most %d bytes)", NET_HOST_MAX - 1);
	if (c->postgresql_enable && c->mysql_enable)
		return cfg_error("--postgresql_enable and --mysql_enable are mutually exclusive: "
				 "choose the database protocol");
	/* MySQL's port, not PostgreSQL's flag default, unless --db_port says otherwise */
	if (c->mysql_enable && !conf_given(c, "db_port"))
		c->db_port = 3306;
	if (is_set(c->securesession_id) && !valid_id(c->securesession_id))
		return cfg_error("invalid --securesession_id: 5 to 256 characters from "
				 "[A-Za-z0-9_- ]");
	if (is_set(c->client_id) && !valid_id(c->client_id))
		return cfg_error("invalid --client_id \"%.64s\": 5 to 256 characters from "
				 "[A-Za-z0-9_- ]", c->client_id);
	/* Legacy host/port flags override the listener string when they differ from their
	 * defaults; the API port override rebuilds the API string (not the data listener, as
	 * Acra 0.82 did by mistake). */
	if (strcmp(c->incoming_connection_host, DEFAULT_LISTEN_HOST) != 0 ||
	    c->incoming_connection_port != DEFAULT_LISTEN_PORT) {
		if (strchr(c->incoming_connection_host, ':') != NULL)
			snprintf(buf, sizeof(buf), "tcp://[%s]:%ld/", c->incoming_connection_host,
				 c->incoming_connection_port);
		else
			snprintf(buf, sizeof(buf), "tcp://%s:%ld/", c->incoming_connection_host,
				 c->incoming_connection_port);
		rc = replace_str(&c->incoming_connection_string, buf);
		if (rc != ACRA_OK)
			return rc;
	}
	if (c->incoming_connection_api_port != DEFAULT_API_PORT) {
		if (strchr(c->incoming_connection_host, ':') != NULL)
			snprintf(buf, sizeof(buf), "tcp://[%s]:%ld/", c->incoming_connection_host,
				 c->incoming_connection_api_port);
		else
			snprintf(buf, sizeof(buf), "tcp://%s:%ld/", c->incoming_connection_host,
				 c->incoming_connection_api_port);
		rc = replace_str(&c->incoming_connection_api_string, buf);
		if (rc != ACRA_OK)
			return rc;
	}
	rc = parse_addr("incoming_connection_string", c->incoming_connection_string,
			&c->listen_addr);
	if (rc == ACRA_OK)
		rc = parse_addr("incoming_connection_api_string",
				c->incoming_connection_api_string, &c->api_addr);
	if (rc != ACRA_OK)
		return rc;
	c->metrics_enabled = false;
	if (is_set(c->prometheus_string) || is_set(c->prometheus_metrics_address)) {
		const char *m = is_set(c->prometheus_string) ? c->prometheus_string :
							     c->prometheus_metrics_address;
		const char *flag = is_set(c->prometheus_string) ?
					   "incoming_connection_prometheus_metrics_string" :
					   "prometheus_metrics_address";

		rc = parse_addr(flag, m, &c->metrics_addr);
		if (rc != ACRA_OK)
			return rc;
		c->metrics_enabled = true;
	}
	if (c->http_api_tls_transport_enable && !c->http_api_enable)
		return cfg_error("--http_api_tls_transport_enable needs --http_api_enable");
	if (c->keystore_cache_on_start_enable && c->keystore_cache_size == -1 &&
	    conf_given(c, "keystore_cache_on_start_enable"))
		return cfg_error("Can't cache on start with disabled cache "
				 "(--keystore_cache_on_start_enable with --keystore_cache_size=-1)");
	if (c->pgsql_hex_bytea && c->pgsql_escape_bytea)
		log_warn("both pgsql_hex_bytea and pgsql_escape_bytea are set: hex is used");
	/* Client id source, in Acra 0.82's transport precedence, then 0.96's direct modes. */
	if (c->acraconnector_tls_transport_enable) {
		if (c->acraconnector_transport_encryption_disable)
			log_warn("acraconnector_tls_transport_enable wins over "
				 "acraconnector_transport_encryption_disable");
		if (!is_set(c->client_id) && !c->zonemode_enable)
			return cfg_error("--acraconnector_tls_transport_enable needs --client_id "
					 "(the client id of every connection)");
		c->cid_source = CID_CONNECTOR_TLS;
	} else if (c->acraconnector_transport_encryption_disable) {
		if (!is_set(c->client_id) && !c->zonemode_enable)
			return cfg_error("--acraconnector_transport_encryption_disable needs "
					 "--client_id unless --zonemode_enable is set");
		c->cid_source = CID_CONNECTOR_RAW;
	} else if (is_set(c->client_id)) {
		c->cid_source = CID_STATIC;
	} else if (c->tls_client_id_from_cert &&
		   (is_set(c->tls_cert) || is_set(c->tls_client_cert))) {
		long auth = c->tls_client_auth >= 0 ? c->tls_client_auth : c->tls_auth;

		if (auth == 0)
			return cfg_error("--tls_client_id_from_cert needs a client certificate: "
					 "tls_client_auth/tls_auth must not be 0");
		c->cid_source = CID_TLS_CERT;
	} else {
		c->cid_source = CID_SECURE_SESSION;
	}
	return ACRA_OK;
}

static void log_client_id_source(const struct server_cfg *c)
{
	switch (c->cid_source) {
	case CID_SECURE_SESSION:
		log_info("Client id: taken from the acra connector's Secure Session (default; "
			 "set --client_id or TLS with --tls_client_id_from_cert for direct "
			 "connections)");
		break;
	case CID_STATIC:
		if (c->tls_client_id_from_cert && (is_set(c->tls_cert) || is_set(c->tls_client_cert)))
			log_info("Client id: from the application's TLS certificate, else static "
				 "client_id \"%s\"", c->client_id);
		else
			log_info("Client id: static client_id \"%s\" for every connection",
				 c->client_id);
		break;
	case CID_TLS_CERT:
		log_info("Client id: from the application's TLS client certificate (%s)",
			 id_extractors[c->tls_identifier_extractor_type]);
		break;
	case CID_CONNECTOR_TLS:
		if (conf_given(c, "tls_client_id_from_cert") && c->tls_client_id_from_cert)
			log_info("Client id: from acra connector's TLS certificate (%s)",
				 id_extractors[c->tls_identifier_extractor_type]);
		else
			log_info("Client id: static client_id \"%s\" over TLS from acra connector",
				 is_set(c->client_id) ? c->client_id : "");
		break;
	case CID_CONNECTOR_RAW:
		log_info("Client id: static client_id \"%s\" over raw transport from acra "
			 "connector", is_set(c->client_id) ? c->client_id : "");
		break;
	}
}

/* Parse argv (and the config file) into a new configuration. Returns ACRA_OK, CONF_DONE
 * (help or dump printed) or ACRA_EINVAL; *out is owned by the caller on ACRA_OK. */
static int server_cfg_load(int argc, char **argv, struct server_cfg **out)
{
	struct server_cfg *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return ACRA_ENOMEM;
	rc = conf_parse(&server_spec, c, argc, argv);
	if (rc == ACRA_OK)
		rc = server_cfg_check(c);
	if (rc != ACRA_OK) {
		conf_free(c);
		free(c);
		return rc;
	}
	*out = c;
	return ACRA_OK;
}

static void server_cfg_free(struct server_cfg *c)
{
	if (c == NULL)
		return;
	conf_free(c);
	free(c);
}

/* ---- decryption (PostgreSQL): keystore, hooks configuration, poison records ---- */

/* Open the keystore of --keys_dir with the master key from ACRA_MASTER_KEY. Errors are
 * logged with event code 512 (master key) or 510 (keystore). */
/* keystore_cache_on_start_enable: every key in the cache before clients come, so that no
 * request waits for the keystore (with keys in Redis: for a Redis round trip). */
static int preload_keys(struct server *srv, const struct server_cfg *c)
{
	size_t n = 0;
	int rc;

	if (!c->keystore_cache_on_start_enable || c->keystore_cache_size == -1)
		return ACRA_OK;
	rc = keystore_preload(srv->ks, &n);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_KEYSTORE_INIT, "cannot load the keys into the cache: %s",
			 keystore_last_error());
		return rc;
	}
	log_info("%zu keys loaded into the cache", n);
	return ACRA_OK;
}

static int keystore_setup(struct server *srv, const struct server_cfg *c)
{
	struct keystore_opts o;
	struct secret *master = NULL;
	int rc;

	rc = keystore_master_key_from_flags(&c->master, &master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "can't load master key: %s",
			 keystore_last_error());
		return rc;
	}
	memset(&o, 0, sizeof(o));
	o.dir = c->keys_dir;
	o.cache_size = c->keystore_cache_size;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, true, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&srv->ks, &o);
	secret_free(master);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_KEYSTORE_INIT, "cannot open keystore %s: %s",
			 c->keys_dir, keystore_last_error());
		return rc;
	}
	return preload_keys(srv, c);
}

/* SIGHUP: forget cached keys (files may have changed), then load them again when asked to. */
static void keystore_reload(void *arg, const struct server_cfg *c)
{
	struct server *srv = arg;

	keystore_reset(srv->ks);
	log_info("Key cache cleared");
	if (preload_keys(srv, c) != ACRA_OK)
		log_warn("keys are read again when they are needed");
}

/* Run the poison script without waiting for it: a child forks the script and exits at
 * once, so no zombie is left and the worker is not held up. */
static void run_poison_script(const char *path)
{
	char *const argv[] = { (char *)path, NULL };
	pid_t pid = fork();

	if (pid < 0) {
		log_error("cannot run poison_run_script_file: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		if (fork() == 0) {
			execv(path, argv);
			_exit(127);
		}
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
}

static void on_poison(void *arg, const char *script, bool shutdown)
{
	struct server *srv = arg;

	if (script != NULL)
		run_poison_script(script);
	if (shutdown) {
		atomic_store(&srv->poison_exit, 1);
		log_code(LOG_WARN, LOG_CODE_POISON, "poison record: shutting down");
		reactor_shutdown(srv->reactor);
	}
}

static void pgproxy_setup(struct server *srv, const struct server_cfg *c,
			  struct pgproxy_config *pc)
{
	memset(pc, 0, sizeof(*pc));
	/* Injected cell wins when both mode flags are given (Acra 0.82). */
	pc->scan = c->acrastruct_injectedcell_enable ? CODEC_SCAN_INLINE : CODEC_SCAN_WHOLE;
	pc->text_enc = c->pgsql_hex_bytea      ? CODEC_ENC_PG_HEX :
		       c->pgsql_escape_bytea   ? CODEC_ENC_PG_ESCAPE :
						 CODEC_ENC_PG_TEXT;
	pc->zonemode = c->zonemode_enable;
	pc->detect_poison = c->poison_detect_enable;
	pc->poison_shutdown = c->poison_shutdown_enable;
	pc->poison_script = is_set(c->poison_run_script_file) ? c->poison_run_script_file : NULL;
	keystore_codec_keys(srv->ks, &pc->keys);
	pc->metrics = &srv->pgm;
	pc->on_poison = on_poison;
	pc->poison_arg = srv;
}

/* ---- transports ------------------------------------------------------------------------
 * Which transport the client listener expects (DESIGN.md "Decisions", spec §2.2, §2.6):
 *   Secure Session from acra connector    default (no client id source for direct clients)
 *   TLS from acra connector               --acraconnector_tls_transport_enable
 *   raw from acra connector               --acraconnector_transport_encryption_disable
 *   direct clients                        --client_id and/or TLS with --tls_client_id_from_cert
 * Direct PostgreSQL clients with TLS configured (tls_cert or tls_client_cert): the client's
 * SSLRequest is answered 'S' and TLS terminated here (lib/session PG_TLS); toward the
 * database the server sends its own SSLRequest and uses TLS if the database agrees. TLS
 * files are read once at start-up. */

static const char *pick(const char *side, const char *common)
{
	return is_set(side) ? side : common;
}

static int transports_setup(struct server *srv, const struct server_cfg *c)
{
	char err[512];
	int rc;

	if (c->cid_source == CID_SECURE_SESSION) {
		/* the one keystore of the server (keystore_setup) holds the transport keys */
		ssaccept_server_keys(&srv->transport_keys, srv->ks, KEYSTORE_SERVER);
		srv->ss_prepared = true;
		log_info("Transport from clients: Secure Session from acra connector (keys "
			 "<client_id>_server, peer <client_id>.pub in %s)", c->keys_dir);
		return ACRA_OK;
	}
	if (c->cid_source == CID_CONNECTOR_RAW) {
		log_info("Transport from clients: raw from acra connector");
		return ACRA_OK;
	}
	if (c->cid_source == CID_CONNECTOR_TLS ||
	    is_set(pick(c->tls_client_cert, c->tls_cert))) {
		struct tls_files app = {
			pick(c->tls_client_key, c->tls_key), pick(c->tls_client_cert, c->tls_cert),
			pick(c->tls_client_ca, c->tls_ca),
			(int)(c->tls_client_auth >= 0 ? c->tls_client_auth : c->tls_auth)
		};
		struct tls_files db = {
			pick(c->tls_database_key, c->tls_key), pick(c->tls_database_cert, c->tls_cert),
			pick(c->tls_database_ca, c->tls_ca),
			(int)(c->tls_database_auth >= 0 ? c->tls_database_auth : c->tls_auth)
		};

		rc = tls_server_ctx_new(&srv->tls_app, &app, err, sizeof(err));
		if (rc != ACRA_OK) {
			log_code(LOG_ERROR, LOG_CODE_WRONG_CONFIG, "TLS toward clients: %s", err);
			return rc;
		}
		if (c->cid_source == CID_CONNECTOR_TLS) {
			log_info("Transport from clients: TLS from acra connector");
			return ACRA_OK;
		}
		rc = tls_client_ctx_new(&srv->tls_db, &db, err, sizeof(err));
		if (rc != ACRA_OK) {
			log_code(LOG_ERROR, LOG_CODE_WRONG_CONFIG, "TLS toward the database: %s", err);
			return rc;
		}
		if (c->mysql_enable) {
			log_info("Transport from clients: MySQL with TLS when the client asks for it "
				 "(SSLRequest), then TLS to the database too (name %s)",
				 pick(c->tls_database_sni, pick(c->tls_db_sni, c->db_host)));
			return ACRA_OK;
		}
		log_info("Transport from clients: PostgreSQL with TLS (SSLRequest answered 'S'); "
			 "to the database: TLS when it accepts SSLRequest (name %s)",
			 pick(c->tls_database_sni, pick(c->tls_db_sni, c->db_host)));
		return ACRA_OK;
	}
	log_info("Transport from clients: plain, direct connections");
	return ACRA_OK;
}

/* Fill env's transports from c with what transports_setup() prepared at start-up. A
 * reload (SIGHUP) that needs a transport not prepared then is refused (ACRA_EINVAL). */
static int transports_env(struct server *srv, const struct server_cfg *c,
			  struct session_env *env)
{
	bool want_tls = is_set(pick(c->tls_client_cert, c->tls_cert));

	if ((c->cid_source == CID_SECURE_SESSION && !srv->ss_prepared) ||
	    (c->cid_source == CID_CONNECTOR_TLS && srv->tls_app == NULL) ||
	    ((c->cid_source == CID_STATIC || c->cid_source == CID_TLS_CERT) && want_tls &&
	     srv->tls_db == NULL)) {
		log_error("the client transport changed (client id source or TLS flags): restart "
			  "acra server for it");
		return ACRA_EINVAL;
	}
	switch (c->cid_source) {
	case CID_SECURE_SESSION:
		env->client_tr.kind = SESSION_TRANSPORT_SSESSION;
		env->client_tr.ss = &srv->transport_keys.ops;
		return ACRA_OK;
	case CID_CONNECTOR_RAW:
		return ACRA_OK;
	case CID_CONNECTOR_TLS:
		env->client_tr.kind = SESSION_TRANSPORT_TLS;
		env->client_tr.tls = srv->tls_app;
		/* 0.90-0.91: the connector's certificate names the client when asked for
		 * explicitly; otherwise the static client id (0.82) */
		env->client_tr.id_from_cert = conf_given(c, "tls_client_id_from_cert") &&
					      c->tls_client_id_from_cert;
		env->client_tr.id_extractor = c->tls_identifier_extractor_type;
		return ACRA_OK;
	default:
		if (!want_tls || srv->tls_app == NULL || srv->tls_db == NULL)
			return ACRA_OK;
		env->client_tr.kind = c->mysql_enable ? SESSION_TRANSPORT_MYSQL_TLS :
							SESSION_TRANSPORT_PG_TLS;
		env->client_tr.tls = srv->tls_app;
		env->client_tr.id_from_cert = c->tls_client_id_from_cert;
		env->client_tr.id_extractor = c->tls_identifier_extractor_type;
		env->db_tr.kind = env->client_tr.kind;
		env->db_tr.tls = srv->tls_db;
		env->db_tr.server_name = pick(c->tls_database_sni, pick(c->tls_db_sni, c->db_host));
		return ACRA_OK;
	}
}

static struct session_env *make_env(struct server *srv, const struct server_cfg *c)
{
	struct session_env *env = calloc(1, sizeof(*env));

	if (env == NULL)
		return NULL;
	if (session_env_set_db(env, c->db_host, (unsigned)c->db_port) != ACRA_OK) {
		free(env);
		return NULL;
	}
	env->connect_timeout_s = 10;
	env->client_id = is_set(c->client_id) ? c->client_id : NULL;
	env->metrics = &srv->sm;
	/* the protocol is all that differs between the two kinds of database */
	pgproxy_setup(srv, c, &srv->pgcfgs[srv->n_gen]);
	env->hooks = c->mysql_enable ? &mysqlproxy_hooks : &pgproxy_hooks;
	env->hooks_arg = &srv->pgcfgs[srv->n_gen];
	if (transports_env(srv, c, env) != ACRA_OK) {
		free(env);
		return NULL;
	}
	return env;
}

static int add_generation(struct server *srv, struct server_cfg *c)
{
	struct session_env *env;

	if (srv->n_gen >= SERVER_MAX_GENERATIONS) {
		log_error("too many configuration reloads (%d): restart the server",
			  SERVER_MAX_GENERATIONS);
		return ACRA_ERANGE;
	}
	env = make_env(srv, c);
	if (env == NULL)
		return ACRA_EINVAL;
	srv->cfgs[srv->n_gen] = c;
	srv->envs[srv->n_gen] = env;
	srv->n_gen++;
	srv->cfg = c;
	session_listener_publish(&srv->listener, env);
	return ACRA_OK;
}

/* ---- database reachability probe (for GET /ready) ---- */

static void probe_done(struct server *srv, int reachable)
{
	if (srv->probe_ev != NULL) {
		event_free(srv->probe_ev);
		srv->probe_ev = NULL;
	}
	if (srv->probe_fd >= 0) {
		close(srv->probe_fd);
		srv->probe_fd = -1;
	}
	if (atomic_exchange(&srv->db_reachable, reachable) != reachable && reachable == 0)
		log_code(LOG_WARN, LOG_CODE_CONNECT_DB, "database %s is not reachable",
			 srv->envs[srv->n_gen - 1]->db_label);
}

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT) {
		probe_done(srv, 0);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	probe_done(srv, err == 0);
}

static void probe_connect(struct server *srv, const struct sockaddr *sa, socklen_t len)
{
	struct timeval tv = { DB_PROBE_TIMEOUT_S, 0 };

	if (net_connect_start(sa, len, &srv->probe_fd) != ACRA_OK) {
		probe_done(srv, 0);
		return;
	}
	srv->probe_ev = event_new(reactor_main_base(srv->reactor), srv->probe_fd, EV_WRITE,
				  probe_cb, srv);
	if (srv->probe_ev == NULL || event_add(srv->probe_ev, &tv) != 0)
		probe_done(srv, 0);
}

static void probe_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct server *srv = arg;

	if (result == EVUTIL_EAI_CANCEL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	srv->probe_dns = NULL;
	if (result != 0 || res == NULL)
		probe_done(srv, 0);
	else
		probe_connect(srv, res->ai_addr, (socklen_t)res->ai_addrlen);
	if (res != NULL)
		evutil_freeaddrinfo(res);
}

static void probe_start(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	const struct session_env *env = srv->envs[srv->n_gen - 1];
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	char port[8];

	(void)fd;
	(void)what;
	if (srv->probe_ev != NULL || srv->probe_dns != NULL)
		return; /* previous probe still running */
	if (env->db_numeric) {
		probe_connect(srv, (const struct sockaddr *)&env->db_addr, env->db_addr_len);
		return;
	}
	if (srv->dns == NULL)
		srv->dns = evdns_base_new(reactor_main_base(srv->reactor),
					  EVDNS_BASE_INITIALIZE_NAMESERVERS |
						  EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (srv->dns == NULL) {
		probe_done(srv, 0);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", env->db_port);
	req = evdns_getaddrinfo(srv->dns, env->db_host, port, &hints, probe_dns_cb, srv);
	if (req != NULL) /* NULL: the callback already ran (numeric or /etc/hosts) */
		srv->probe_dns = req;
}

static void probe_stop(struct server *srv)
{
	if (srv->probe_dns != NULL) {
		struct evdns_getaddrinfo_request *r = srv->probe_dns;

		srv->probe_dns = NULL;
		evdns_getaddrinfo_cancel(r);
	}
	if (srv->probe_ev != NULL) {
		event_free(srv->probe_ev);
		srv->probe_ev = NULL;
	}
	if (srv->probe_fd >= 0) {
		close(srv->probe_fd);
		srv->probe_fd = -1;
	}
	if (srv->probe_timer != NULL) {
		event_free(srv->probe_timer);
		srv->probe_timer = NULL;
	}
	if (srv->dns != NULL) {
		evdns_base_free(srv->dns, 0);
		srv->dns = NULL;
	}
}

/* ---- HTTP API and metrics ---- */

static void api_health(struct evhttp_request *req, void *arg)
{
	(void)arg;
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void api_ready(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	int db = atomic_load(&srv->db_reachable);

	if (!reactor_serving(srv->reactor)) {
		http_reply_json(req, 503, json_pack("{s:s,s:s}", "status", "unavailable", "reason",
						    "listeners are closed"));
		return;
	}
	if (db != 1) {
		http_reply_json(req, 503, json_pack("{s:s,s:s}", "status", "unavailable", "reason",
						    db == 0 ? "database is not reachable" :
							      "database not checked yet"));
		return;
	}
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* Acra's /getNewZone: a new zone (id, key pair, symmetric key) in the keystore. */
static void api_new_zone(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	char id[ZONE_ID_LEN + 1], b64[sodium_base64_ENCODED_LEN(EC_PUB_LEN,
							       sodium_base64_VARIANT_ORIGINAL)];
	uint8_t pub[EC_PUB_LEN];
	int rc = keystore_generate_zone(srv->ks, id, pub);

	if (rc != ACRA_OK) {
		log_error("/getNewZone: cannot make a zone: %s", keystore_last_error());
		http_reply_text(req, 404, "incorrect request");
		return;
	}
	sodium_bin2base64(b64, sizeof(b64), pub, sizeof(pub), sodium_base64_VARIANT_ORIGINAL);
	log_info("/getNewZone: new zone %s", id);
	http_reply_json(req, 200, json_pack("{s:s,s:s}", "id", id, "public_key", b64));
}

/* Acra's /resetKeyStorage: forget cached keys; 200 with an empty body. */
static void api_reset_keys(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;

	keystore_reset(srv->ks);
	log_info("/resetKeyStorage: key cache cleared");
	http_reply_text(req, 200, "");
}

static const struct http_route api_routes[] = {
	{ "GET", "/health", api_health },
	{ "GET", "/ready", api_ready },
	{ "GET", "/getNewZone", api_new_zone },
	{ "POST", "/getNewZone", api_new_zone },
	{ "GET", "/resetKeyStorage", api_reset_keys },
	{ "POST", "/resetKeyStorage", api_reset_keys },
	HTTP_ROUTE_END
};

static int version_part(int i)
{
	int parts[3] = { 0, 0, 0 };

	if (sscanf(ACRA_COMPAT_VERSION, "%d.%d.%d", &parts[0], &parts[1], &parts[2]) < 1)
		return 0;
	return parts[i];
}

static int decrypt_metrics_setup(struct server *srv, struct metrics *m)
{
	static const double resp_buckets[] = { 1e-6, 1e-5, 2e-5, 3e-5, 4e-5, 5e-5, 6e-5, 7e-5,
					       8e-5, 9e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 1 };
	static const char *const lbl[2][2][5] = {
		{ { "status", "success", "type", "acrastruct", NULL },
		  { "status", "fail", "type", "acrastruct", NULL } },
		{ { "status", "success", "type", "acrablock", NULL },
		  { "status", "fail", "type", "acrablock", NULL } },
	};
	static const char *const st_ok[] = { "status", "success", NULL };
	static const char *const st_fail[] = { "status", "fail", NULL };
	static const char *const mode_whole[] = { "db", "postgresql", "mode", "wholecell", NULL };
	static const char *const mode_inline[] = { "db", "postgresql", "mode", "inlinecell", NULL };
	struct pgproxy_metrics *pm = &srv->pgm;
	const char *dh = "number of decryptions AcraStruct/AcraBlock";

	for (int t = 0; t < 2; t++) {
		pm->dec_ok[t] = metrics_counter(m, "acra_decryptions_total", dh, lbl[t][0]);
		pm->dec_fail[t] = metrics_counter(m, "acra_decryptions_total", dh, lbl[t][1]);
		if (pm->dec_ok[t] == NULL || pm->dec_fail[t] == NULL)
			return ACRA_ENOMEM;
	}
	pm->struct_ok = metrics_counter(m, "acra_acrastruct_decryptions_total",
					"number of AcraStruct decryptions", st_ok);
	pm->struct_fail = metrics_counter(m, "acra_acrastruct_decryptions_total",
					  "number of AcraStruct decryptions", st_fail);
	pm->poison = metrics_counter(m, "acraserver_poison_records_total",
				     "Poison records recognized in database responses", NULL);
	pm->response_time = metrics_histogram(
		m, "acraserver_response_processing_seconds", "Time of response processing",
		srv->cfg->acrastruct_injectedcell_enable ? mode_inline : mode_whole, resp_buckets,
		sizeof(resp_buckets) / sizeof(resp_buckets[0]));
	if (pm->struct_ok == NULL || pm->struct_fail == NULL || pm->poison == NULL ||
	    pm->response_time == NULL)
		return ACRA_ENOMEM;
	return ACRA_OK;
}

static int metrics_setup(struct server *srv)
{
	static const double conn_buckets[] = { 0.1, 0.2, 0.5, 1, 10, 60, 3600, 86400 };
	static const char *const db_label[] = { "connection_type", "db", NULL };
	static const char *const api_label[] = { "connection_type", "api", NULL };
	static const char *const to_db[] = { "direction", "client_to_db", NULL };
	static const char *const to_client[] = { "direction", "db_to_client", NULL };
	static const char *const build[] = { "version", ACRA_COMPAT_VERSION, "edition",
					     "community", NULL };
	struct metrics *m = metrics_new();
	struct metric *g;

	if (m == NULL)
		return ACRA_ENOMEM;
	srv->metrics = m;
	srv->sm.connections = metrics_counter(m, "acraserver_connections_total",
					      "number of connections to database", db_label);
	srv->api_requests = metrics_counter(m, "acraserver_connections_total",
					    "number of connections to database", api_label);
	srv->sm.processing = metrics_histogram(m, "acraserver_connections_processing_seconds",
					       "Time of connection processing", db_label,
					       conn_buckets,
					       sizeof(conn_buckets) / sizeof(conn_buckets[0]));
	srv->sm.bytes_to_db = metrics_counter(m, "acraserver_bytes_total",
					      "Bytes relayed between clients and the database",
					      to_db);
	srv->sm.bytes_to_client = metrics_counter(m, "acraserver_bytes_total",
						  "Bytes relayed between clients and the database",
						  to_client);
	srv->sm.db_errors = metrics_counter(m, "acraserver_db_connection_errors_total",
					    "Failed connections to the database", NULL);
	g = metrics_gauge(m, "acraserver_version_major", "Major number of AcraServer version",
			  NULL);
	metric_set(g, version_part(0));
	g = metrics_gauge(m, "acraserver_version_minor", "Minor number of AcraServer version",
			  NULL);
	metric_set(g, version_part(1));
	g = metrics_gauge(m, "acraserver_version_patch", "Patch number of AcraServer version",
			  NULL);
	metric_set(g, version_part(2));
	g = metrics_gauge(m, "acraserver_build_info", "Information about AcraServer build", build);
	metric_set(g, 1);
	if (decrypt_metrics_setup(srv, m) != ACRA_OK)
		return ACRA_ENOMEM;
	if (srv->sm.connections == NULL || srv->sm.processing == NULL ||
	    srv->sm.bytes_to_db == NULL || srv->sm.bytes_to_client == NULL || g == NULL)
		return ACRA_ENOMEM;
	return ACRA_OK;
}

/* ---- SIGHUP ---- */

static bool str_changed(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

static void server_reload(void *arg)
{
	struct server *srv = arg;
	struct server_cfg *old = srv->cfg, *c = NULL;
	int rc;

	rc = server_cfg_load(srv->argc, srv->argv, &c);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_WRONG_CONFIG,
			 "configuration reload failed (see the message above); keeping the "
			 "running configuration");
		return;
	}
	if (str_changed(old->incoming_connection_string, c->incoming_connection_string) ||
	    str_changed(old->incoming_connection_api_string, c->incoming_connection_api_string) ||
	    old->http_api_enable != c->http_api_enable ||
	    old->zonemode_enable != c->zonemode_enable ||
	    old->metrics_enabled != c->metrics_enabled || old->worker_threads != c->worker_threads)
		log_warn("listener, API, metrics and worker settings take effect after a restart; "
			 "the running ones are kept");
	if (add_generation(srv, c) != ACRA_OK) {
		server_cfg_free(c);
		return;
	}
	for (unsigned i = 0; i < srv->n_reload_hooks; i++)
		srv->reload_hooks[i].fn(srv->reload_hooks[i].arg, c);
	log_info("Configuration reloaded: new connections use database %s",
		 srv->envs[srv->n_gen - 1]->db_label);
	log_startup_done();
}

/* Keys will live in this process: no core dumps, no ptrace by other users. Also take the
 * hard descriptor limit as the soft one, as Go programs (Acra) do: one fd per socket. */
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

static int server_run(struct server *srv)
{
	struct server_cfg *c = srv->cfg;
	char err[512], addr[NET_HOST_MAX + 80];
	struct timeval probe_every = { DB_PROBE_INTERVAL_S, 0 };
	int rc;

	rc = reactor_new(&srv->reactor, (unsigned)c->worker_threads);
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "cannot start workers: %s",
			 acra_strerror(rc));
		return 1;
	}
	reactor_on_worker(srv->reactor, session_worker_init, session_worker_fini, srv->reactor);
	reactor_on_reload(srv->reactor, server_reload, srv);
	rc = reactor_listen(srv->reactor, &c->listen_addr, session_accept, &srv->listener, err,
			    sizeof(err));
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_LISTEN, "%s", err);
		return 1;
	}
	net_format(&c->listen_addr, addr, sizeof(addr));
	log_info("Start listening to connections on %s (%u workers). Current PID: %ld", addr,
		 reactor_n_workers(srv->reactor), (long)getpid());
	/* Acra 0.82 starts the API in zone mode even without http_api_enable (/getNewZone). */
	if (c->http_api_enable || c->zonemode_enable) {
		rc = http_server_new(&srv->api, reactor_main_base(srv->reactor), &c->api_addr,
				     api_routes, srv, HTTP_BODY_MAX_DEFAULT, err, sizeof(err));
		if (rc != ACRA_OK) {
			log_code(LOG_ERROR, LOG_CODE_LISTEN, "HTTP API: %s", err);
			return 1;
		}
		http_server_count_requests(srv->api, srv->api_requests);
		net_format(&c->api_addr, addr, sizeof(addr));
		log_info("Start listening to HTTP API on %s", addr);
		srv->probe_timer = event_new(reactor_main_base(srv->reactor), -1, EV_PERSIST,
					     probe_start, srv);
		if (srv->probe_timer == NULL || event_add(srv->probe_timer, &probe_every) != 0)
			return 1;
		probe_start(-1, 0, srv);
	}
	if (c->metrics_enabled) {
		if (http_metrics_server_new(&srv->metrics_http, reactor_main_base(srv->reactor),
					    &c->metrics_addr, srv->metrics) != ACRA_OK)
			return 1;
	}
	log_startup_done();
	rc = reactor_run(srv->reactor, c->incoming_connection_close_timeout);
	if (rc < 0) {
		log_code(LOG_ERROR, LOG_CODE_CANT_START, "cannot start workers: %s",
			 acra_strerror(rc));
		return 1;
	}
	return rc;
}

static void server_free(struct server *srv)
{
	probe_stop(srv);
	http_server_free(srv->api);
	http_server_free(srv->metrics_http);
	reactor_free(srv->reactor);
	metrics_free(srv->metrics);
	keystore_free(srv->ks);
	SSL_CTX_free(srv->tls_app);
	SSL_CTX_free(srv->tls_db);
	for (unsigned i = 0; i < srv->n_gen; i++) {
		free(srv->envs[i]);
		server_cfg_free(srv->cfgs[i]);
	}
}

int server_main(int argc, char **argv)
{
	struct server srv;
	struct server_cfg *c = NULL;
	int rc;

	memset(&srv, 0, sizeof(srv));
	srv.probe_fd = -1;
	atomic_store(&srv.db_reachable, -1);
	srv.argc = argc;
	srv.argv = argv;
	rc = server_cfg_load(argc, argv, &c);
	if (rc != ACRA_OK)
		return conf_exit_code(rc);
	harden_process();
	log_info("Starting service acra-server [pid=%ld], compatible with Acra %s", (long)getpid(),
		 ACRA_COMPAT_VERSION);
	log_client_id_source(c);
	if (keystore_setup(&srv, c) != ACRA_OK) {
		server_cfg_free(c);
		log_close();
		return 1;
	}
	if (!c->poison_detect_enable &&
	    (c->poison_shutdown_enable || is_set(c->poison_run_script_file)))
		log_warn("poison_shutdown_enable and poison_run_script_file act only with "
			 "--poison_detect_enable");
	srv.reload_hooks[srv.n_reload_hooks++] = (struct server_reload_hook){ keystore_reload,
									      &srv };
	srv.cfg = c;
	if (transports_setup(&srv, c) != ACRA_OK) {
		server_cfg_free(c);
		server_free(&srv);
		return 1;
	}
	if (metrics_setup(&srv) != ACRA_OK || add_generation(&srv, c) != ACRA_OK) {
		log_error("cannot start: out of memory");
		if (srv.n_gen == 0)
			server_cfg_free(c);
		server_free(&srv);
		return 1;
	}
	log_info("Database: %s %s", c->mysql_enable ? "MySQL" : "PostgreSQL",
		 srv.envs[0]->db_label);
	if (c->mysql_enable && !conf_given(c, "db_port"))
		log_info("--db_port not given: using MySQL's port 3306");
	rc = server_run(&srv);
	if (atomic_load(&srv.poison_exit)) {
		log_code(LOG_ERROR, LOG_CODE_POISON, "stopped after a poison record was recognized");
		rc = 1;
	}
	server_free(&srv);
	log_close();
	return rc;
}
