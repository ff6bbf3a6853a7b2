#!/bin/sh
# 05-metrics-logs.sh: what monitoring sees. Prometheus /metrics counts connections, the HTTP
# API answers /health, and the plaintext, json and CEF log formats give one well-formed
# record per line, on the console and in --log_to_file.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql
pg_start
T=$(svc_dir t)

# --- Prometheus metrics and the HTTP API.
MP=$(svc_freeport)
AP=$(svc_freeport)
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -v \
	--incoming_connection_prometheus_metrics_string="tcp://127.0.0.1:$MP/" \
	--http_api_enable --incoming_connection_api_string="tcp://127.0.0.1:$AP/" ||
	fail "acra server starts with metrics and API listeners"
P=$ACRA_PORT
svc_waitport "$MP" 10 || fail "metrics listener accepts on $MP"
svc_waitport "$AP" 10 || fail "API listener accepts on $AP"

db_connections() {
	$SVC_NET http "http://127.0.0.1:$MP/metrics" >"$T/metrics"
	[ "$(head -n 1 "$T/metrics")" = 200 ] || fail "GET /metrics answers 200"
	awk '/^acraserver_connections_total\{/ && /connection_type="db"/ { v = $NF }
		END { print v == "" ? 0 : v + 0 }' "$T/metrics"
}
m0=$(db_connections)
assert_grep "$T/metrics" '^# TYPE acraserver_connections_total counter' \
	"/metrics declares acraserver_connections_total as a counter"
for i in 1 2 3; do
	assert_eq "$(pg_psql "$P" -c "SELECT $i")" "$i" "query $i through the proxy"
done
m1=$(db_connections)
[ "$m1" -ge $((m0 + 3)) ] || fail "acraserver_connections_total went from $m0 to $m1 after 3 connections"
ok "acraserver_connections_total{connection_type=\"db\"} went from $m0 to $m1 after 3 connections"
assert_grep "$T/metrics" '^acraserver_connections_total{.*connection_type="db"' \
	"db connection counter is labelled"

$SVC_NET http "http://127.0.0.1:$AP/health" >"$T/health"
assert_eq "$(head -n 1 "$T/health")" 200 "GET /health on the API listener answers 200"
$SVC_NET http "http://127.0.0.1:$AP/no-such-path" >"$T/404"
assert_eq "$(head -n 1 "$T/404")" 404 "unknown API path answers 404"
acra_stop

# --- Log formats: every line of console and file output is one well-formed record.
for fmt in plaintext json CEF; do
	lf=$SVC_LOGDIR/acra-$fmt.log
	acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -d --logging_format="$fmt" \
		--log_to_file="$lf" || fail "acra server starts with --logging_format=$fmt"
	assert_eq "$(pg_psql "$ACRA_PORT" -c 'SELECT 1')" 1 "query with $fmt logging"
	run nonzero pg_psql "$ACRA_PORT" -c 'SELECT 1/0'
	acra_stop
	[ -s "$lf" ] || fail "--log_to_file=$lf is written"
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/logcheck.py" "$fmt" acra-server "$lf"
	n=$(cat "$OUT")
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/logcheck.py" "$fmt" acra-server "$ACRA_LOG"
	ok "$fmt: $n records in the log file and $(cat "$OUT") on the console, all well-formed"
done
