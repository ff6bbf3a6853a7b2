#!/bin/sh
# 15-connector.sh: psql and psycopg2 through acra connector -> acra server -> PostgreSQL 15
# over Themis Secure Session (default), TLS and raw transports. The server learns the
# connector's client id from the Secure Session; a connector with the wrong transport key is
# refused with nothing passing; killing the server mid-query gives the client an error, not
# a hang; an unreachable server fails one connection and the connector serves again once it
# is back; the same-OS-user check; the connector's local HTTP API proxy.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql openssl curl
pg_start
T=$(svc_dir t)
ACRA=$(acra_bin)
cd "$T"

# Keys: master key, transport keys for two connectors; a rogue copy of conn_one's keys.
run 0 "$ACRA" keymaker --generate_master_key=master.key
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
for id in conn_one conn_two; do
	run 0 "$ACRA" keymaker --client_id=$id --keys_output_dir=keys --keys_public_output_dir=keys \
		--generate_acraconnector_keys --generate_acraserver_keys
done
run 0 "$ACRA" keymaker --client_id=conn_one --keys_output_dir=rogue --keys_public_output_dir=rogue \
	--generate_acraconnector_keys --generate_acraserver_keys
cp keys/conn_one_server.pub rogue/conn_one_server.pub # it trusts the real server

# Start-up refusals: exit 1 with a line naming the problem.
run 1 "$ACRA" connector --keys_dir=keys --acraserver_connection_host=127.0.0.1
assert_grep "$ERR" 'client_id is required' "connector without --client_id: exit 1"
run 1 "$ACRA" connector --client_id=conn_one --keys_dir=keys --mode=Proxy \
	--acraserver_connection_host=127.0.0.1
assert_grep "$ERR" 'invalid --mode' "connector with an unknown --mode: exit 1"
run 1 "$ACRA" connector --client_id=conn_one --keys_dir=keys
assert_grep "$ERR" 'need --acraserver_connection_host' "connector without a server: exit 1"
run 1 "$ACRA" connector --client_id=conn_three --keys_dir=keys --acraserver_connection_host=127.0.0.1
assert_grep "$ERR" 'cannot read transport keys.*conn_three' "connector without its keys: exit 1"

# connector_start NAME ARGS...: start acra connector; sets C_PORT, C_PID, C_LOG.
connector_start() {
	_n=$1
	shift
	C_PORT=$(svc_freeport)
	C_LOG=$SVC_LOGDIR/acra-connector.$_n.log
	"$ACRA" connector --incoming_connection_string="tcp://127.0.0.1:$C_PORT/" "$@" \
		>"$C_LOG" 2>&1 </dev/null &
	C_PID=$!
	svc_register "$C_PID"
	acra_wait_listen "$C_PORT" "$C_PID" || {
		sed 's/^/  | /' "$C_LOG" >&2
		fail "acra connector $_n starts"
	}
}

S_PORT=$(svc_freeport)
ACRA_PORT=$S_PORT
ACRA_EXPECT_CONNECTOR=1
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --keys_dir=keys -d \
	--incoming_connection_string="tcp://127.0.0.1:$S_PORT/" || fail "acra server starts"
assert_grep "$ACRA_LOG" 'Transport from clients: Secure Session' \
	"server logs that it expects Secure Session"

# ---- Secure Session
connector_start one --client_id=conn_one --keys_dir=keys --user_check_disable -d \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$S_PORT"
C1=$C_PORT
C1_LOG=$C_LOG
C1_PID=$C_PID
assert_eq "$(pg_psql "$C1" -c 'SELECT 40 + 2')" 42 "psql through connector (Secure Session)"
assert_eq "$(pg_psql "$C1" -c 'SELECT current_user')" "$PG_USER" "SCRAM login through Secure Session"
assert_grep "$ACRA_LOG" 'Secure Session with client established.*client_id=conn_one' \
	"server took client id conn_one from the connector"
assert_grep "$C1_LOG" 'Secure Session with database established' "connector side established"
PLAIN=acra-e2e-connector-plain-5b7e1d
PROXY_DSN="host=127.0.0.1 port=$C1 user=$PG_USER password=$PG_PASSWORD dbname=$PG_DB sslmode=disable"
DIRECT_DSN="$PG_DSN sslmode=disable"
run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_dbapi.py" psycopg2 "$DIRECT_DSN" "$PROXY_DSN" "$PLAIN"
ok "psycopg2 through Secure Session: $(cat "$OUT")"
# bulk both ways
pg_psql "$C1" -c "CREATE TABLE big AS SELECT g, md5(g::text) || repeat('y', 200) v FROM generate_series(1, 50000) g"
pg_psql "$C1" -c 'SELECT * FROM big ORDER BY g' >via.txt
pg_psql "$PG_PORT" -c 'SELECT * FROM big ORDER BY g' >direct.txt
cmp -s via.txt direct.txt || fail "50000-row result through Secure Session equals direct"
ok "50000-row result through Secure Session equals direct ($(wc -c <via.txt) bytes)"

connector_start two --client_id=conn_two --keys_dir=keys --user_check_disable -d \
	--acraserver_connection_string="tcp://127.0.0.1:$S_PORT/"
C2=$C_PORT
assert_eq "$(pg_psql "$C2" -c 'SELECT 7')" 7 "second connector with its own client id"
assert_grep "$ACRA_LOG" 'Secure Session with client established.*client_id=conn_two' \
	"server took client id conn_two from the second connector"

# ---- wrong transport key: refused, nothing reaches the database
connector_start rogue --client_id=conn_one --keys_dir=rogue --user_check_disable \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$S_PORT"
CR=$C_PORT
run nonzero pg_psql "$CR" -c 'SELECT 1'
assert_grep "$ACRA_LOG" 'transport with client refused: Secure Session failed.*client_id=conn_one' \
	"server logs the refused Secure Session with the client id"
assert_grep "$C_LOG" "Can't connect to acra server" "rogue connector logs the refusal"
sid=$(grep 'transport with client refused' "$ACRA_LOG" | tail -1 | sed 's/.*session_id=\([0-9]*\).*/\1/')
[ -n "$sid" ] || fail "refused session has an id in the log"
assert_nogrep "$ACRA_LOG" "connected to database.*session_id=$sid\$" \
	"refused session $sid never reached the database"
kill "$C_PID"
ok "connector with the wrong transport key is refused"

# ---- user check: same OS user refused by default
connector_start usercheck --client_id=conn_one --keys_dir=keys \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$S_PORT"
run nonzero pg_psql "$C_PORT" -c 'SELECT 1'
assert_grep "$C_LOG" 'need to be start from different users' \
	"same-OS-user application refused without --user_check_disable"
kill "$C_PID"

# ---- server killed mid-query: error, not a hang
t0=$(now_ms)
(
	rc=0
	pg_psql "$C1" -c 'SELECT pg_sleep(20)' >sleep.out 2>sleep.err || rc=$?
	echo "$rc" >sleep.rc
) &
bg=$!
sleep 1
acra_stop KILL
wait "$bg" || true
el=$(($(now_ms) - t0))
[ "$(cat sleep.rc)" -ne 0 ] || fail "query through a killed server fails"
[ "$el" -lt 10000 ] || fail "client told within 10 s ($el ms)"
ok "server killed mid-query: client gets an error in $el ms ($(head -c 80 sleep.err))"

# ---- server unreachable, then back
run nonzero pg_psql "$C1" -c 'SELECT 1'
assert_grep "$C1_LOG" "Can't connect to acra server 127.0.0.1:$S_PORT" \
	"connector logs the unreachable server"
kill -0 "$C1_PID" || fail "connector keeps running while the server is down"
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --keys_dir=keys -d \
	--incoming_connection_string="tcp://127.0.0.1:$S_PORT/" || fail "acra server restarts"
assert_eq "$(pg_psql "$C1" -c 'SELECT 43')" 43 "connector serves again once the server is back"
acra_stop

# ---- TLS transport between connector and server
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=test-ca -keyout ca.key -out ca.crt >/dev/null 2>&1
leaf() {
	printf '%s\n' "$3" >"$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
		-keyout "$1.key" -out "$1.csr" >/dev/null 2>&1
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "$4" -days 2 \
		-extfile "$1.ext" -out "$1.crt" >/dev/null 2>&1
}
leaf test-server /CN=localhost "subjectAltName=DNS:localhost,IP:127.0.0.1" 11
leaf test-connector /CN=connector "extendedKeyUsage=clientAuth" 12
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -d --acraconnector_tls_transport_enable \
	--client_id=tls_conn --tls_cert=test-server.crt --tls_key=test-server.key --tls_ca=ca.crt \
	--incoming_connection_string="tcp://127.0.0.1:$S_PORT/" || fail "acra server (TLS) starts"
assert_grep "$ACRA_LOG" 'Transport from clients: TLS from acra connector' "server logs TLS transport"
connector_start tls --client_id=conn_one --keys_dir=keys --user_check_disable -d \
	--acraserver_tls_transport_enable --tls_cert=test-connector.crt --tls_key=test-connector.key \
	--tls_ca=ca.crt --tls_acraserver_sni=localhost \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$S_PORT"
assert_eq "$(pg_psql "$C_PORT" -c 'SELECT 40 + 3')" 43 "psql through connector (TLS)"
PROXY_DSN="host=127.0.0.1 port=$C_PORT user=$PG_USER password=$PG_PASSWORD dbname=$PG_DB sslmode=disable"
run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_dbapi.py" psycopg2 "$DIRECT_DSN" "$PROXY_DSN" "$PLAIN"
ok "psycopg2 through TLS transport: $(cat "$OUT")"
assert_grep "$ACRA_LOG" 'TLS with client established.*client_id=tls_conn' \
	"server uses its static client id over TLS"
kill "$C_PID"
acra_stop
# 0.90 style: the connector's certificate names the client when asked for
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -d --acraconnector_tls_transport_enable \
	--client_id=tls_conn --tls_client_id_from_cert=true --tls_cert=test-server.crt \
	--tls_key=test-server.key --tls_ca=ca.crt \
	--incoming_connection_string="tcp://127.0.0.1:$S_PORT/" || fail "acra server (TLS, cert ids) starts"
connector_start tlscert --client_id=conn_one --keys_dir=keys --user_check_disable \
	--acraserver_tls_transport_enable --tls_cert=test-connector.crt --tls_key=test-connector.key \
	--tls_ca=ca.crt --tls_acraserver_sni=localhost \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$S_PORT"
assert_eq "$(pg_psql "$C_PORT" -c 'SELECT 46')" 46 "psql through connector (TLS, id from certificate)"
want=$(printf 'CN=connector' | openssl dgst -sha512 -r | cut -c1-128)
assert_grep "$ACRA_LOG" "client id taken from the TLS certificate.*client_id=$want" \
	"--tls_client_id_from_cert: the connector's certificate names the client"
kill "$C_PID"
# a connector without a client certificate is refused (tls_auth 4)
connector_start tlsnocert --client_id=conn_one --keys_dir=keys --user_check_disable \
	--acraserver_tls_transport_enable --tls_ca=ca.crt --tls_acraserver_sni=localhost \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$S_PORT"
run nonzero pg_psql "$C_PORT" -c 'SELECT 1'
assert_grep "$ACRA_LOG" 'transport with client refused: TLS handshake failed' \
	"TLS connector without a client certificate refused"
kill "$C_PID"
acra_stop

# ---- raw transport, and the local HTTP API proxy
API=$(svc_freeport)
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --acraconnector_transport_encryption_disable \
	--client_id=raw_conn --http_api_enable --incoming_connection_api_string="tcp://127.0.0.1:$API/" \
	--incoming_connection_string="tcp://127.0.0.1:$S_PORT/" || fail "acra server (raw) starts"
CAPI=$(svc_freeport)
connector_start raw --client_id=conn_one --keys_dir=keys --user_check_disable \
	--acraserver_transport_encryption_disable --http_api_enable \
	--incoming_connection_api_string="tcp://127.0.0.1:$CAPI/" \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$S_PORT" \
	--acraserver_api_connection_port="$API"
assert_eq "$(pg_psql "$C_PORT" -c 'SELECT 40 + 4')" 44 "psql through connector (raw)"
svc_waitport "$CAPI" 5 || fail "connector API port listens"
assert_eq "$(curl -s "http://127.0.0.1:$CAPI/health")" '{"status":"ok"}' \
	"connector's API port proxies to acra server's HTTP API"
kill "$C_PID"
acra_stop

# ---- a reload that would change the transport is refused; the running one stays
echo "client_id: conn_one" >reload.yaml
acra_start --config_file=reload.yaml --db_host=127.0.0.1 --db_port="$PG_PORT" ||
	fail "acra server (config file) starts"
: >reload.yaml
kill -HUP "$ACRA_PID"
sleep 1
assert_grep "$ACRA_LOG" 'client transport changed.*restart acra server' \
	"SIGHUP switching to Secure Session is refused with a clear line"
assert_eq "$(pg_psql "$ACRA_PORT" -c 'SELECT 45')" 45 "server keeps its running transport"
acra_stop
kill "$C1_PID"
ok "done"
