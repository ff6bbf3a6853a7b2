# t/lib/services.sh: throwaway PostgreSQL, MariaDB, Redis and acra server instances for
# tests, benchmarks and the demo. POSIX sh; source it, then call the start functions.
#
# Every instance lives in its own directory under $SVC_ROOT (mktemp -d), listens on
# 127.0.0.1 on a free port and is stopped by PID on exit (trap set by svc_init). Nothing
# here touches system services. A start function whose program is not installed ends the
# calling script with exit 77 (skipped).
#
# After pg_start:     PG_PORT PG_SOCKDIR PG_DIR PG_PID PG_USER PG_PASSWORD PG_DB PG_DSN
# After mysql_start:  MYSQL_PORT MYSQL_SOCKET MYSQL_DIR MYSQL_PID MYSQL_USER MYSQL_PASSWORD MYSQL_DB
# After redis_start:  REDIS_PORT REDIS_DIR REDIS_PID
# After acra_start:   ACRA_PORT ACRA_PID ACRA_LOG
#
# Environment: ACRA_TOP (source tree, default the current directory), ACRA_BUILD (directory holding the acra binary, default build/),
# ACRA_E2E_LOGDIR (set by t/e2e/run.sh: acra logs are kept there so the run can check them
# for secrets), ACRA_E2E_SECRETS (file listing secrets the logs must not contain),
# SVC_KEEP=1 (leave $SVC_ROOT in place for debugging).

ACRA_TOP=${ACRA_TOP:-$(pwd)}
SVC_LIB_DIR=$ACRA_TOP/t/lib
SVC_PY=/usr/bin/python3
SVC_NET="$SVC_PY $SVC_LIB_DIR/netutil.py"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SVC_ROOT=
SVC_PIDS=
SVC_SEQ=0
SVC_NAME=${SVC_NAME:-$(basename "$0" .sh)}

svc_log() { printf '%s: %s\n' "$SVC_NAME" "$*" >&2; }
svc_die() {
	svc_log "$*"
	exit 1
}
svc_skip() {
	svc_log "SKIP: $*"
	exit 77
}
svc_need() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || [ -x "$_c" ] || svc_skip "$_c is not installed"
	done
}

# svc_init: create $SVC_ROOT and install the cleanup trap. Called by every start function.
svc_init() {
	[ -z "$SVC_ROOT" ] || return 0
	svc_need "$SVC_PY"
	SVC_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/acra-svc.XXXXXX")
	# Services running as another user (postgres) must be able to reach their directory.
	chmod 711 "$SVC_ROOT"
	if [ -n "${ACRA_E2E_LOGDIR:-}" ]; then
		SVC_LOGDIR=$ACRA_E2E_LOGDIR/$SVC_NAME
	else
		SVC_LOGDIR=$SVC_ROOT/logs
	fi
	mkdir -p "$SVC_LOGDIR"
	trap 'svc_cleanup' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
}

# svc_register PID: stop PID on exit.
svc_register() { SVC_PIDS="$1 $SVC_PIDS"; }
svc_unregister() {
	_new=
	for _p in $SVC_PIDS; do [ "$_p" = "$1" ] || _new="$_new $_p"; done
	SVC_PIDS=$_new
}

# svc_kill PID [SIGNAL] [TIMEOUT_S]: signal PID, wait for it to go, SIGKILL after the timeout.
svc_kill() {
	_pid=$1
	_sig=${2:-TERM}
	_t=${3:-15}
	kill -0 "$_pid" 2>/dev/null || return 0
	kill "-$_sig" "$_pid" 2>/dev/null || return 0
	_i=0
	while kill -0 "$_pid" 2>/dev/null; do
		# Reap it if it is our child (otherwise it stays a zombie and kill -0 succeeds).
		if [ -z "$(ps -o pid= -p "$_pid" 2>/dev/null)" ] ||
			[ "$(ps -o stat= -p "$_pid" 2>/dev/null | cut -c1)" = Z ]; then
			wait "$_pid" 2>/dev/null || true
			break
		fi
		_i=$((_i + 1))
		if [ "$_i" -ge $((_t * 10)) ]; then
			kill -KILL "$_pid" 2>/dev/null || true
			wait "$_pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
	return 0
}

svc_cleanup() {
	_rc=$?
	trap - EXIT
	for _p in $SVC_PIDS; do svc_kill "$_p" TERM 20; done
	SVC_PIDS=
	if [ -n "$SVC_ROOT" ] && [ -d "$SVC_ROOT" ]; then
		if [ "${SVC_KEEP:-0}" = 1 ]; then
			svc_log "kept $SVC_ROOT"
		else
			rm -rf "$SVC_ROOT"
		fi
	fi
	exit "$_rc"
}

# svc_freeport: print a port on 127.0.0.1 that nothing listens on right now.
svc_freeport() { $SVC_NET freeport; }

# svc_waitport PORT [TIMEOUT_S]
svc_waitport() { $SVC_NET waitport "$1" "${2:-20}"; }

# svc_dir NAME: make and print a fresh directory for one instance.
svc_dir() {
	SVC_SEQ=$((SVC_SEQ + 1))
	_d=$SVC_ROOT/$1.$SVC_SEQ
	mkdir -p "$_d"
	printf '%s\n' "$_d"
}

# svc_secret VALUE...: add values that no log of the run may contain.
svc_secret() {
	[ -n "${ACRA_E2E_SECRETS:-}" ] || return 0
	for _s in "$@"; do printf '%s\n' "$_s" >>"$ACRA_E2E_SECRETS"; done
}

svc_randhex() { od -An -N"${1:-8}" -tx1 /dev/urandom | tr -d ' \n'; }

# svc_as_user USER CMD...: run CMD as USER when we are root, else as ourselves.
svc_as() {
	_u=$1
	shift
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$_u" -- "$@"
	else
		"$@"
	fi
}

# ---------------------------------------------------------------- PostgreSQL 15

# pg_start [--ssl]: initdb + start a cluster. Creates superuser postgres (trust over the
# unix socket only) and $PG_USER with a SCRAM-SHA-256 password owning database $PG_DB.
pg_start() {
	svc_need "$PG_BIN/initdb" "$PG_BIN/postgres" "$PG_BIN/pg_isready" "$PG_BIN/psql"
	svc_init
	_ssl=0
	[ "${1:-}" = --ssl ] && _ssl=1
	if [ "$(id -u)" -eq 0 ]; then
		PG_OS_USER=postgres
		id postgres >/dev/null 2>&1 || svc_skip "no postgres user to run PostgreSQL as"
	else
		PG_OS_USER=$(id -un)
	fi
	PG_DIR=$(svc_dir pg)
	PG_SOCKDIR=$PG_DIR/sock
	mkdir -p "$PG_SOCKDIR"
	chown "$PG_OS_USER" "$PG_DIR" "$PG_SOCKDIR"
	chmod 700 "$PG_DIR"
	svc_as "$PG_OS_USER" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -E UTF8 --locale=C \
		--auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
		{
			cat "$PG_DIR/initdb.log" >&2
			svc_die "initdb failed"
		}
	cat >"$PG_DIR/data/pg_hba.conf" <<-EOF
		local all postgres trust
		local all all scram-sha-256
		host all all 127.0.0.1/32 scram-sha-256
	EOF
	cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$PG_SOCKDIR'
		password_encryption = 'scram-sha-256'
		max_connections = ${PG_MAX_CONNECTIONS:-200}
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		log_min_messages = warning
	EOF
	if [ "$_ssl" = 1 ]; then
		svc_need openssl
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj /CN=localhost -keyout "$PG_DIR/data/server.key" \
			-out "$PG_DIR/data/server.crt" >/dev/null 2>&1 || svc_die "openssl req failed"
		chown "$PG_OS_USER" "$PG_DIR/data/server.key" "$PG_DIR/data/server.crt"
		chmod 600 "$PG_DIR/data/server.key"
		cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
			ssl = on
			ssl_cert_file = 'server.crt'
			ssl_key_file = 'server.key'
		EOF
	fi
	PG_SSL=$_ssl
	PG_USER=acratest
	PG_DB=acratest
	PG_PASSWORD=acra-test-pw-$(svc_randhex 8)
	svc_secret "$PG_PASSWORD"
	_try=0
	while :; do
		PG_PORT=$(svc_freeport)
		if pg_start_existing; then break; fi
		_try=$((_try + 1))
		[ "$_try" -lt 3 ] || {
			cat "$PG_DIR/postgres.log" >&2
			svc_die "PostgreSQL did not start"
		}
	done
	pg_super -q -c "CREATE ROLE $PG_USER LOGIN PASSWORD '$PG_PASSWORD'" \
		-c "CREATE DATABASE $PG_DB OWNER $PG_USER" >/dev/null ||
		svc_die "cannot create test user"
	PG_DSN="host=127.0.0.1 port=$PG_PORT user=$PG_USER password=$PG_PASSWORD dbname=$PG_DB"
	export PG_PORT PG_SOCKDIR PG_DIR PG_USER PG_PASSWORD PG_DB PG_DSN
}

# pg_start_existing: (re)start the cluster in $PG_DIR on $PG_PORT; sets PG_PID.
pg_start_existing() {
	# The postmaster is started as our child (not daemonised by pg_ctl) so that stopping it
	# by PID also reaps it.
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups -- \
			"$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" \
			>>"$PG_DIR/postgres.log" 2>&1 </dev/null &
	else
		"$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" >>"$PG_DIR/postgres.log" 2>&1 \
			</dev/null &
	fi
	PG_PID=$!
	svc_register "$PG_PID"
	export PG_PID
	_i=0
	until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; do
		_i=$((_i + 1))
		if [ "$_i" -ge 300 ] || ! kill -0 "$PG_PID" 2>/dev/null; then
			svc_kill "$PG_PID" INT
			svc_unregister "$PG_PID"
			return 1
		fi
		sleep 0.1
	done
}

# pg_stop: fast shutdown of the cluster (SIGINT to the postmaster), wait until gone.
pg_stop() {
	[ -n "${PG_PID:-}" ] || return 0
	svc_kill "$PG_PID" INT 30
	svc_unregister "$PG_PID"
	PG_PID=
}

# pg_super ARGS...: psql as superuser over the unix socket, database $PG_DB if it exists.
pg_super() {
	svc_as "$PG_OS_USER" "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" \
		-U postgres -d postgres "$@"
}

# pg_psql PORT ARGS...: psql as the test user over TCP to 127.0.0.1:PORT (the database or a
# proxy in front of it), no SSL, tuples only, unaligned.
pg_psql() {
	_port=$1
	shift
	PGPASSWORD=$PG_PASSWORD PGSSLMODE=${PGSSLMODE:-disable} PGCONNECT_TIMEOUT=10 \
		"$PG_BIN/psql" -X -q -A -t -P pager=off -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$_port" -U "$PG_USER" \
		-d "$PG_DB" "$@"
}

# ---------------------------------------------------------------- MariaDB

# mysql_start [--ssl]: mariadb-install-db + mariadbd. Creates $MYSQL_USER with a password
# and database $MYSQL_DB; root has no password and is reachable over $MYSQL_SOCKET only.
# --ssl [CA]: TLS with a self-signed certificate for localhost ($MYSQL_DIR/server.crt);
# client certificates are verified against CA when given.
mysql_start() {
	svc_need mariadb-install-db mariadbd mariadb mariadb-admin
	svc_init
	MYSQL_DIR=$(svc_dir mysql)
	MYSQL_SOCKET=$MYSQL_DIR/mysql.sock
	_myssl=
	if [ "${1:-}" = --ssl ]; then
		svc_need openssl
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
			-keyout "$MYSQL_DIR/server.key" -out "$MYSQL_DIR/server.crt" >/dev/null 2>&1 ||
			svc_die "openssl req failed"
		_myssl="--ssl-cert=$MYSQL_DIR/server.crt --ssl-key=$MYSQL_DIR/server.key"
		[ -z "${2:-}" ] || _myssl="$_myssl --ssl-ca=$2"
	fi
	_ua=
	[ "$(id -u)" -eq 0 ] && _ua=--user=root
	mariadb-install-db --no-defaults --datadir="$MYSQL_DIR/data" $_ua --skip-test-db \
		--auth-root-authentication-method=normal >"$MYSQL_DIR/install.log" 2>&1 ||
		{
			cat "$MYSQL_DIR/install.log" >&2
			svc_die "mariadb-install-db failed"
		}
	_try=0
	while :; do
		MYSQL_PORT=$(svc_freeport)
		mariadbd --no-defaults --datadir="$MYSQL_DIR/data" --port="$MYSQL_PORT" \
			--socket="$MYSQL_SOCKET" --bind-address=127.0.0.1 --skip-name-resolve $_ua \
			--pid-file="$MYSQL_DIR/mysqld.pid" --log-error="$MYSQL_DIR/error.log" \
			--innodb-buffer-pool-size=32M --innodb-flush-log-at-trx-commit=0 \
			--max-connections=200 --max-allowed-packet=64M $_myssl >/dev/null 2>&1 &
		MYSQL_PID=$!
		svc_register "$MYSQL_PID"
		_i=0
		while kill -0 "$MYSQL_PID" 2>/dev/null &&
			! mariadb-admin --no-defaults -S "$MYSQL_SOCKET" -u root ping >/dev/null 2>&1; do
			_i=$((_i + 1))
			[ "$_i" -lt 600 ] || break
			sleep 0.1
		done
		if mariadb-admin --no-defaults -S "$MYSQL_SOCKET" -u root ping >/dev/null 2>&1; then
			break
		fi
		svc_kill "$MYSQL_PID"
		svc_unregister "$MYSQL_PID"
		_try=$((_try + 1))
		[ "$_try" -lt 3 ] || {
			cat "$MYSQL_DIR/error.log" >&2
			svc_die "mariadbd did not start"
		}
	done
	MYSQL_USER=acratest
	MYSQL_DB=acratest
	MYSQL_PASSWORD=acra-test-pw-$(svc_randhex 8)
	svc_secret "$MYSQL_PASSWORD"
	mariadb --no-defaults -S "$MYSQL_SOCKET" -u root -e "
		CREATE DATABASE $MYSQL_DB;
		CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$MYSQL_PASSWORD';
		GRANT ALL ON $MYSQL_DB.* TO '$MYSQL_USER'@'%';" || svc_die "cannot create test user"
	export MYSQL_PORT MYSQL_SOCKET MYSQL_DIR MYSQL_PID MYSQL_USER MYSQL_PASSWORD MYSQL_DB
}

mysql_stop() {
	[ -n "${MYSQL_PID:-}" ] || return 0
	svc_kill "$MYSQL_PID" TERM 30
	svc_unregister "$MYSQL_PID"
	MYSQL_PID=
}

# mysql_cli PORT ARGS...: mariadb client as the test user over TCP to 127.0.0.1:PORT.
mysql_cli() {
	_port=$1
	shift
	MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$_port" \
		-u "$MYSQL_USER" -D "$MYSQL_DB" -N -B "$@"
}

# ---------------------------------------------------------------- Redis

# redis_start [--tls]: a throwaway redis-server on $REDIS_PORT. --tls: TLS only, with a
# self-signed certificate for localhost/127.0.0.1 ($REDIS_DIR/redis.crt); redis-cli then
# needs $REDIS_CLI_TLS.
redis_start() {
	svc_need redis-server redis-cli
	svc_init
	REDIS_DIR=$(svc_dir redis)
	REDIS_CLI_TLS=
	_rtls=
	if [ "${1:-}" = --tls ]; then
		svc_need openssl
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
			-keyout "$REDIS_DIR/redis.key" -out "$REDIS_DIR/redis.crt" >/dev/null 2>&1 ||
			svc_die "openssl req failed"
		REDIS_CLI_TLS="--tls --cacert $REDIS_DIR/redis.crt"
	fi
	_try=0
	while :; do
		REDIS_PORT=$(svc_freeport)
		[ -z "$REDIS_CLI_TLS" ] || _rtls="--port 0 --tls-port $REDIS_PORT --tls-cert-file $REDIS_DIR/redis.crt --tls-key-file $REDIS_DIR/redis.key --tls-ca-cert-file $REDIS_DIR/redis.crt --tls-auth-clients no"
		# shellcheck disable=SC2086
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save '' \
			--appendonly no --daemonize no --logfile "$REDIS_DIR/redis.log" $_rtls \
			>/dev/null 2>&1 &
		REDIS_PID=$!
		svc_register "$REDIS_PID"
		_i=0
		# shellcheck disable=SC2086
		while kill -0 "$REDIS_PID" 2>/dev/null &&
			[ "$(redis-cli $REDIS_CLI_TLS -p "$REDIS_PORT" ping 2>/dev/null)" != PONG ]; do
			_i=$((_i + 1))
			[ "$_i" -lt 100 ] || break
			sleep 0.1
		done
		# shellcheck disable=SC2086
		[ "$(redis-cli $REDIS_CLI_TLS -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
		svc_kill "$REDIS_PID"
		svc_unregister "$REDIS_PID"
		_try=$((_try + 1))
		[ "$_try" -lt 3 ] || svc_die "redis-server did not start"
	done
	export REDIS_PORT REDIS_DIR REDIS_PID REDIS_CLI_TLS
}

redis_stop() {
	[ -n "${REDIS_PID:-}" ] || return 0
	svc_kill "$REDIS_PID"
	svc_unregister "$REDIS_PID"
	REDIS_PID=
}

# ---------------------------------------------------------------- acra

acra_bin() {
	_b=${ACRA_BUILD:-$ACRA_TOP/build}
	printf '%s\n' "$_b/acra"
}

# acra_start [FLAGS...]: start `acra server FLAGS` listening on a free port ($ACRA_PORT)
# unless FLAGS name the listener, with stdout+stderr in $ACRA_LOG; wait until it accepts.
# Returns 1 (with the log on stderr) if the server exits or never listens.
acra_start() {
	svc_init
	ACRA=$(acra_bin)
	[ -x "$ACRA" ] || svc_die "no acra binary at $ACRA (set ACRA_BUILD)"
	# The server loads a master key at start; tests without keys get a random one.
	if [ -z "${ACRA_MASTER_KEY:-}" ]; then
		ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
		export ACRA_MASTER_KEY
	fi
	_own_listener=1
	_direct=--client_id=e2e_direct_client
	[ "${ACRA_EXPECT_CONNECTOR:-0}" = 0 ] || _direct=
	for _a in "$@"; do
		case $_a in
		*incoming_connection_string* | *incoming_connection_port*) _own_listener=0 ;;
		*client_id* | *transport* | *tls_cert* | *config_file*) _direct= ;;
		esac
	done
	# Without a client id source acra server expects acra connector's Secure Session; tests
	# that talk to it directly get a static client id unless they choose a transport or set
	# ACRA_EXPECT_CONNECTOR=1.
	[ -z "$_direct" ] || set -- "$@" "$_direct"
	_try=0
	while :; do
		SVC_SEQ=$((SVC_SEQ + 1))
		ACRA_LOG=$SVC_LOGDIR/acra-server.$SVC_SEQ.log
		if [ "$_own_listener" = 1 ]; then
			ACRA_PORT=$(svc_freeport)
			"$ACRA" server --incoming_connection_string="tcp://127.0.0.1:$ACRA_PORT/" "$@" \
				>"$ACRA_LOG" 2>&1 </dev/null &
		else
			"$ACRA" server "$@" >"$ACRA_LOG" 2>&1 </dev/null &
		fi
		ACRA_PID=$!
		svc_register "$ACRA_PID"
		if acra_wait_listen "$ACRA_PORT" "$ACRA_PID"; then
			export ACRA_PORT ACRA_PID ACRA_LOG
			return 0
		fi
		svc_kill "$ACRA_PID"
		svc_unregister "$ACRA_PID"
		# Retry only when another process took the port we picked.
		if [ "$_own_listener" = 1 ] && grep -qi 'in use' "$ACRA_LOG" && [ "$_try" -lt 2 ]; then
			_try=$((_try + 1))
			continue
		fi
		svc_log "acra server did not start; its log:"
		sed 's/^/  | /' "$ACRA_LOG" >&2
		return 1
	done
}

# acra_wait_listen PORT PID: wait until PORT accepts while PID is alive (20 s).
acra_wait_listen() {
	_i=0
	while kill -0 "$2" 2>/dev/null; do
		if $SVC_NET waitport "$1" 0.2; then return 0; fi
		_i=$((_i + 1))
		[ "$_i" -lt 100 ] || return 1
	done
	return 1
}

# acra_stop [SIGNAL]: stop the last started acra server; sets ACRA_RC to its exit status.
acra_stop() {
	[ -n "${ACRA_PID:-}" ] || return 0
	kill "-${1:-TERM}" "$ACRA_PID" 2>/dev/null || true
	ACRA_RC=0
	wait "$ACRA_PID" || ACRA_RC=$?
	svc_unregister "$ACRA_PID"
	ACRA_PID=
}

# acra_log: print the log of the last started acra server.
acra_log() { cat "$ACRA_LOG"; }

# acra_alive: true while the last started acra server runs.
acra_alive() { [ -n "${ACRA_PID:-}" ] && kill -0 "$ACRA_PID" 2>/dev/null; }
