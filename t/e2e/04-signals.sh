#!/bin/sh
# 04-signals.sh: what the operator's signals do. SIGHUP keeps open sessions and the listener
# working; SIGTERM with no sessions exits 0 at once; SIGTERM with an idle open session exits
# no later than --incoming_connection_close_timeout.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql
pg_start
T=$(svc_dir t)
CLOSE_TIMEOUT=3
DSN_OF() { printf 'host=127.0.0.1 port=%s user=%s password=%s dbname=%s sslmode=disable' \
	"$1" "$PG_USER" "$PG_PASSWORD" "$PG_DB"; }

wait_file() {
	_i=0
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ "$_i" -lt 300 ] || fail "$2"
		sleep 0.1
	done
}

# --- SIGHUP with an open session.
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" \
	--incoming_connection_close_timeout="$CLOSE_TIMEOUT" -v || fail "acra server starts"
P=$ACRA_PORT
$SVC_PY "$ACRA_TOP/t/e2e/py/session.py" "$(DSN_OF "$P")" "$T/ready" "$T/go" >"$T/session.out" \
	2>&1 &
sess=$!
svc_register "$sess"
wait_file "$T/ready" "session through the proxy opened"
kill -HUP "$ACRA_PID"
sleep 1
assert_eq "$(pg_psql "$P" -c 'SELECT 1')" 1 "new sessions are served after SIGHUP"
touch "$T/go"
src=0
wait "$sess" || src=$?
svc_unregister "$sess"
cat "$T/session.out"
assert_eq "$src" 0 "session opened before SIGHUP finishes cleanly"
assert_eq "$(cat "$T/session.out")" "still here same-backend=True" \
	"session opened before SIGHUP keeps working on the same backend"
assert_eq "$(pg_psql "$P" -c 'SELECT 2')" 2 "server still serving after SIGHUP"
acra_alive || fail "acra server process survives SIGHUP"

# --- SIGTERM without sessions: prompt, exit 0.
t0=$(now_ms)
acra_stop TERM
el=$(($(now_ms) - t0))
assert_eq "$ACRA_RC" 0 "SIGTERM with no sessions exits 0"
[ "$el" -lt 2000 ] || fail "SIGTERM with no sessions took ${el} ms"
ok "SIGTERM with no sessions exits in ${el} ms"

# --- SIGTERM with an idle open session: gone within the close timeout.
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" \
	--incoming_connection_close_timeout="$CLOSE_TIMEOUT" -v || fail "acra server restarts"
P=$ACRA_PORT
$SVC_NET hold "$(DSN_OF "$P")" 1 "$T/held" >/dev/null 2>&1 &
holder=$!
svc_register "$holder"
wait_file "$T/held" "idle session through the proxy opened"
t0=$(now_ms)
acra_stop TERM
el=$(($(now_ms) - t0))
limit=$(((CLOSE_TIMEOUT + 2) * 1000))
[ "$el" -lt "$limit" ] ||
	fail "SIGTERM with an idle session took ${el} ms (close timeout ${CLOSE_TIMEOUT} s)"
ok "SIGTERM with an idle session exits in ${el} ms (close timeout ${CLOSE_TIMEOUT} s, status $ACRA_RC)"
run nonzero $SVC_NET waitport "$P" 1
ok "listener is closed after SIGTERM"
