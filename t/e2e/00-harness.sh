#!/bin/sh
# 00-harness.sh: the throwaway services every later test relies on start on free ports of
# 127.0.0.1, answer as the test users, and are gone (processes and files) after cleanup.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_init
T=$(mktemp -d)
trap 'rm -rf "$T"; svc_cleanup' EXIT

# Start everything in a child shell, record what it started, let its trap clean up.
cat >"$T/inner.sh" <<'INNER'
set -eu
ACRA_TOP=$1
OUTD=$2
. "$ACRA_TOP/t/lib/services.sh"
pg_start --ssl
mysql_start
redis_start
PGSSLMODE=require pg_psql "$PG_PORT" \
	-c "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" \
	>"$OUTD/pg"
PGSSLMODE=disable pg_psql "$PG_PORT" -c "SELECT 1" >>"$OUTD/pg"
pg_super -tA -c "SELECT rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid
	WHERE rolname = '$PG_USER'" >>"$OUTD/pg"
mysql_cli "$MYSQL_PORT" -e "SELECT CONCAT(CURRENT_USER(), ' ', 6*7)" >"$OUTD/mysql"
redis-cli -p "$REDIS_PORT" set k v >"$OUTD/redis"
redis-cli -p "$REDIS_PORT" get k >>"$OUTD/redis"
echo "$PG_PID $MYSQL_PID $REDIS_PID" >"$OUTD/pids"
echo "$SVC_ROOT" >"$OUTD/root"
echo "$PG_PORT $MYSQL_PORT $REDIS_PORT" >"$OUTD/ports"
INNER
rc=0
SVC_NAME=00-harness-inner sh "$T/inner.sh" "$ACRA_TOP" "$T" || rc=$?
[ "$rc" != 77 ] || svc_skip "a service package is missing"
[ "$rc" = 0 ] || fail "services start"

assert_eq "$(cat "$T/pg")" "acratest true
1
t" "PostgreSQL: SSL and plain logins as the SCRAM-SHA-256 test user"
assert_eq "$(cat "$T/mysql")" "acratest@% 42" "MariaDB: login as the test user"
assert_eq "$(cat "$T/redis")" "OK
v" "Redis answers"
for p in $(cat "$T/ports"); do
	[ "$p" -gt 1024 ] || fail "port $p"
done
ok "services chose ports $(cat "$T/ports")"
for pid in $(cat "$T/pids"); do
	! kill -0 "$pid" 2>/dev/null || fail "process $pid still running after cleanup"
done
ok "no service process survives cleanup"
[ ! -e "$(cat "$T/root")" ] || fail "$(cat "$T/root") left behind"
ok "temporary directory removed"
for p in $(cat "$T/ports"); do
	run nonzero $SVC_NET waitport "$p" 0.2
done
ok "nothing listens on the chosen ports any more"
