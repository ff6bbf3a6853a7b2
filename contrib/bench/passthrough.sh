#!/bin/sh
# contrib/bench/passthrough.sh: cost of acra server as a plain PostgreSQL proxy.
#
# One throwaway PostgreSQL 15 (pgbench scale 10), reached three ways in the same run:
# directly, through PgBouncer (session pooling) and through `acra server`. pgbench runs the
# select-only script (-S) and the default TPC-B-like script at 1, 8 and 32 clients (-j 2),
# each for BENCH_SECONDS (10); the three targets alternate within every configuration so
# that drift of a busy machine hits them alike. Then 100 idle sessions are opened through
# each proxy and its resident memory growth per session is reported.
#
#   BENCH_SECONDS (10)   BENCH_SCALE (10)   BENCH_CLIENTS ("1 8 32")   BENCH_IDLE (100)
set -eu
ACRA_TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SVC_NAME=bench-passthrough
. "$ACRA_TOP/t/lib/services.sh"
SECS=${BENCH_SECONDS:-10}
SCALE=${BENCH_SCALE:-10}
CLIENTS=${BENCH_CLIENTS:-1 8 32}
IDLE=${BENCH_IDLE:-100}

svc_need pgbench pgbouncer
PG_MAX_CONNECTIONS=$((IDLE * 2 + 100)) pg_start
W=$(svc_dir bench)

pgb() {
	PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable pgbench -h 127.0.0.1 -U "$PG_USER" "$@" "$PG_DB"
}
echo "initialising pgbench scale $SCALE..." >&2
pgb -p "$PG_PORT" -i -q -s "$SCALE" >"$W/init.log" 2>&1 || {
	cat "$W/init.log" >&2
	exit 1
}

# PgBouncer, session pooling, SCRAM to both sides. It refuses to run as root.
BOUNCER_DIR=$(svc_dir pgbouncer)
BOUNCER_PORT=$(svc_freeport)
cat >"$BOUNCER_DIR/pgbouncer.ini" <<-INI
	[databases]
	$PG_DB = host=127.0.0.1 port=$PG_PORT dbname=$PG_DB
	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = $BOUNCER_PORT
	unix_socket_dir =
	auth_type = scram-sha-256
	auth_file = $BOUNCER_DIR/userlist.txt
	pool_mode = session
	max_client_conn = $((IDLE * 2 + 100))
	default_pool_size = $((IDLE + 50))
	logfile = $BOUNCER_DIR/pgbouncer.log
	ignore_startup_parameters = extra_float_digits
INI
printf '"%s" "%s"\n' "$PG_USER" "$PG_PASSWORD" >"$BOUNCER_DIR/userlist.txt"
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres "$BOUNCER_DIR"
	setpriv --reuid=postgres --regid=postgres --init-groups -- \
		pgbouncer "$BOUNCER_DIR/pgbouncer.ini" >"$BOUNCER_DIR/stderr" 2>&1 </dev/null &
else
	pgbouncer "$BOUNCER_DIR/pgbouncer.ini" >"$BOUNCER_DIR/stderr" 2>&1 </dev/null &
fi
BOUNCER_PID=$!
svc_register "$BOUNCER_PID"
svc_waitport "$BOUNCER_PORT" 20 || {
	cat "$BOUNCER_DIR/stderr" "$BOUNCER_DIR/pgbouncer.log" >&2
	svc_die "pgbouncer did not start"
}

acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" || svc_die "acra server did not start"

tps() { # PORT CLIENTS ARGS...
	_port=$1
	_c=$2
	shift 2
	_j=2
	[ "$_c" -ge 2 ] || _j=1
	pgb -p "$_port" -n -T "$SECS" -c "$_c" -j "$_j" "$@" >"$W/run.log" 2>&1 || {
		cat "$W/run.log" >&2
		echo 0
		return 0
	}
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$W/run.log" |
		awk '{ printf "%.0f\n", $1 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "## acra server pass-through: pgbench TPS (scale $SCALE, ${SECS} s per run, -j 2)"
echo
echo "| script | clients | direct | pgbouncer | acra | acra/direct | acra/pgbouncer |"
echo "|---|--:|--:|--:|--:|--:|--:|"
for script in select-only tpcb; do
	case $script in
	select-only) sflag=-S ;;
	tpcb) sflag= ;;
	esac
	for c in $CLIENTS; do
		echo "running $script with $c clients..." >&2
		# shellcheck disable=SC2086
		d=$(tps "$PG_PORT" "$c" $sflag)
		# shellcheck disable=SC2086
		b=$(tps "$BOUNCER_PORT" "$c" $sflag)
		# shellcheck disable=SC2086
		a=$(tps "$ACRA_PORT" "$c" $sflag)
		echo "| $script | $c | $d | $b | $a | $(ratio "$a" "$d") | $(ratio "$a" "$b") |"
	done
done
echo

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
idle_cost() { # PID PORT: print KiB of RSS per idle session
	_before=$(rss_kib "$1")
	rm -f "$W/held"
	$SVC_NET hold "host=127.0.0.1 port=$2 user=$PG_USER password=$PG_PASSWORD dbname=$PG_DB sslmode=disable" \
		"$IDLE" "$W/held" >"$W/hold.log" 2>&1 &
	_h=$!
	svc_register "$_h"
	_i=0
	while [ ! -e "$W/held" ] && kill -0 "$_h" 2>/dev/null && [ "$_i" -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -e "$W/held" ] || {
		cat "$W/hold.log" >&2
		echo "-"
		return 0
	}
	sleep 1
	_after=$(rss_kib "$1")
	svc_kill "$_h"
	svc_unregister "$_h"
	awk -v a="$_after" -v b="$_before" -v n="$IDLE" 'BEGIN { printf "%.1f", (a - b) / n }'
}
echo "## Resident memory per idle session ($IDLE sessions held open, SCRAM login done)"
echo
echo "| proxy | RSS before (KiB) | KiB per idle session |"
echo "|---|--:|--:|"
b0=$(rss_kib "$BOUNCER_PID")
bk=$(idle_cost "$BOUNCER_PID" "$BOUNCER_PORT")
echo "| pgbouncer (session pooling) | $b0 | $bk |"
a0=$(rss_kib "$ACRA_PID")
ak=$(idle_cost "$ACRA_PID" "$ACRA_PORT")
echo "| acra server | $a0 | $ak |"
echo
