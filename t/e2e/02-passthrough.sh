#!/bin/sh
# 02-passthrough.sh: acra server in front of a real PostgreSQL 15 passes every client through
# unchanged: psql (simple queries, errors, \copy both ways), pgbench, psycopg2, psycopg 3 and
# asyncpg (SCRAM-SHA-256 login, prepared statements, rollback, 100,000-row results), each
# compared with the same work done on a direct connection.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql pgbench
pg_start
T=$(svc_dir t)
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -d || fail "acra server starts"
P=$ACRA_PORT
D=$PG_PORT
PLAIN=acra-e2e-plaintext-4f1c9b
COPYPLAIN=acra-e2e-copy-plaintext-a83e07

assert_eq "$(pg_psql "$P" -c 'SELECT 40 + 2')" 42 "simple query through the proxy"
assert_eq "$(pg_psql "$P" -c 'SELECT current_user')" "$PG_USER" "SCRAM login as the test user"

pg_psql "$P" -c "CREATE TABLE pt (id int PRIMARY KEY, v text, b bytea)"
pg_psql "$P" -c "INSERT INTO pt SELECT g, 'value ' || g || repeat('x', g % 50), \
	decode(md5(g::text), 'hex') FROM generate_series(1, 2000) g"
pg_psql "$P" -c "INSERT INTO pt VALUES (5000, '$PLAIN', '\\x00ff')"
pg_psql "$P" -c 'SELECT * FROM pt ORDER BY id' >"$T/via"
pg_psql "$D" -c 'SELECT * FROM pt ORDER BY id' >"$T/direct"
assert_eq "$(wc -l <"$T/direct" | tr -d ' ')" 2001 "rows inserted through the proxy"
cmp -s "$T/via" "$T/direct" || fail "SELECT through the proxy equals the direct SELECT"
ok "SELECT through the proxy equals the direct SELECT"

# Errors reach the client and the session goes on.
run nonzero pg_psql "$P" -c 'SELECT 1/0'
assert_grep "$ERR" 'division by zero' "SQL error reaches the client"
out=$(printf 'SELECT 1/0;\nSELECT 7;\n' | PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable \
	psql -X -q -A -t -h 127.0.0.1 -p "$P" -U "$PG_USER" -d "$PG_DB" 2>/dev/null)
assert_eq "$out" 7 "session keeps working after an error"

# \copy both ways.
pg_psql "$P" -c "\\copy pt TO '$T/via.csv' WITH (FORMAT csv)"
pg_psql "$D" -c "\\copy pt TO '$T/direct.csv' WITH (FORMAT csv)"
cmp -s "$T/via.csv" "$T/direct.csv" || fail "\\copy TO through the proxy equals direct"
ok "\\copy TO through the proxy equals direct ($(wc -l <"$T/via.csv" | tr -d ' ') lines)"
pg_psql "$P" -c "CREATE TABLE pt2 (LIKE pt)"
printf '9001,%s,\\x0102\n' "$COPYPLAIN" >>"$T/via.csv"
pg_psql "$P" -c "\\copy pt2 FROM '$T/via.csv' WITH (FORMAT csv)"
assert_eq "$(pg_psql "$D" -c 'SELECT count(*) FROM pt2')" 2002 "\\copy FROM through the proxy"
assert_eq "$(pg_psql "$D" -c "SELECT count(*) FROM (SELECT * FROM pt EXCEPT SELECT * FROM pt2) x")" \
	0 "rows copied in through the proxy equal the originals"
assert_eq "$(pg_psql "$D" -c 'SELECT v FROM pt2 WHERE id = 9001')" "$COPYPLAIN" \
	"extra \\copy row arrived intact"

# pgbench: initialise and run a short TPC-B-like load through the proxy.
PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable pgbench -i -q -s 1 -h 127.0.0.1 -p "$P" \
	-U "$PG_USER" "$PG_DB" >"$T/pgbench-i.out" 2>&1 ||
	{
		cat "$T/pgbench-i.out" >&2
		fail "pgbench -i through the proxy"
	}
assert_eq "$(pg_psql "$D" -c 'SELECT count(*) FROM pgbench_accounts')" 100000 \
	"pgbench -i through the proxy loaded 100000 accounts"
PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable pgbench -T 3 -c 4 -j 2 -h 127.0.0.1 -p "$P" \
	-U "$PG_USER" "$PG_DB" >"$T/pgbench.out" 2>&1 ||
	{
		cat "$T/pgbench.out" >&2
		fail "pgbench run through the proxy"
	}
n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$T/pgbench.out")
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "pgbench processed transactions ($n)"
assert_grep "$T/pgbench.out" '^number of failed transactions: 0 ' "pgbench: no failed transactions"
hist=$(pg_psql "$D" -c 'SELECT count(*) FROM pgbench_history')
assert_eq "$hist" "$n" "every pgbench transaction reached the database ($n)"

# Drivers: same workload directly and through the proxy.
PROXY_DSN="host=127.0.0.1 port=$P user=$PG_USER password=$PG_PASSWORD dbname=$PG_DB sslmode=disable"
DIRECT_DSN="$PG_DSN sslmode=disable"
for drv in psycopg2 psycopg; do
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_dbapi.py" "$drv" "$DIRECT_DSN" "$PROXY_DSN" "$PLAIN"
	ok "$(cat "$OUT")"
done
run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_asyncpg.py" 127.0.0.1 "$D" "$P" "$PG_USER" "$PG_PASSWORD" \
	"$PG_DB" "$PLAIN"
ok "$(cat "$OUT")"

acra_alive || fail "acra server still running after the workload"
acra_stop
assert_eq "$ACRA_RC" 0 "acra server exits 0 on SIGTERM after the clients left"
