#!/bin/sh
# 03-bad-input.sh: acra server survives what the network and the database throw at it:
# garbage bytes, clients vanishing mid-message, the database going away and coming back,
# its own port already taken at start-up, and 50 simultaneous sessions.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql
pg_start
T=$(svc_dir t)
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -v || fail "acra server starts"
P=$ACRA_PORT

serves() {
	acra_alive || fail "acra server is still running after $1"
	assert_eq "$(pg_psql "$P" -c 'SELECT 6 * 7')" 42 "next psql is served after $1"
}

run 0 $SVC_NET garbage "$P" 4096
ok "server closes a connection that sent 4 KiB of garbage"
serves "garbage bytes"

# A first message claiming a huge length, then nothing more.
run 0 $SVC_PY -c "
import socket, struct, sys
s = socket.create_connection(('127.0.0.1', $P), timeout=5)
s.sendall(struct.pack('!II', 0x7fffffff, 196608))
s.settimeout(15)
try:
    while s.recv(4096):
        pass
except socket.timeout:
    sys.exit('still open 15 s after an oversized startup length')
except ConnectionResetError:
    pass
"
ok "server closes a connection announcing a 2 GiB startup message"
serves "an oversized length"

run 0 $SVC_NET partial "$P"
serves "a client disconnecting mid-startup"

run 0 $SVC_NET midquery "$P" "$PG_USER" "$PG_PASSWORD" "$PG_DB"
serves "a client disconnecting mid-query"

# Many simultaneous sessions.
run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_concurrent.py" \
	"host=127.0.0.1 port=$P user=$PG_USER password=$PG_PASSWORD dbname=$PG_DB sslmode=disable" 50
ok "$(cat "$OUT")"
serves "50 concurrent sessions"

# The database goes down: clients get an error quickly, the server stays up.
pg_stop
t0=$(now_ms)
run nonzero timeout 20 sh -c ". '$ACRA_TOP/t/lib/services.sh'; pg_psql $P -c 'SELECT 1'"
el=$(($(now_ms) - t0))
[ "$RC" -ne 124 ] || fail "client hangs when the database is down"
[ "$el" -lt 12000 ] || fail "client waited ${el} ms for an error with the database down"
ok "client gets an error in ${el} ms while the database is down (psql exit $RC)"
acra_alive || fail "acra server keeps running while the database is down"
ok "acra server keeps running while the database is down"
pg_start_existing || fail "PostgreSQL restarts on port $PG_PORT"
serves "the database came back"

# Port already in use at start-up: exit non-zero with a message naming the address.
run nonzero timeout 15 "$(acra_bin)" server --db_host=127.0.0.1 --db_port="$PG_PORT" --client_id=e2e_direct_client \
	--incoming_connection_string="tcp://127.0.0.1:$P/"
[ "$RC" -ne 124 ] || fail "second server on a taken port does not exit"
cat "$OUT" >>"$ERR"
assert_grep "$ERR" "127.0.0.1:$P" "port in use: exits $RC naming 127.0.0.1:$P"
serves "a second server tried its port"

acra_stop
assert_eq "$ACRA_RC" 0 "acra server exits 0 on SIGTERM"
