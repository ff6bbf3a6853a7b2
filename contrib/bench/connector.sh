#!/bin/sh
# contrib/bench/connector.sh: cost of the acra connector -> acra server transports.
#
# One throwaway PostgreSQL 15 (pgbench scale BENCH_SCALE) reached four ways in the same run:
# directly, through acra server alone (direct clients), and through acra connector + acra
# server over Themis Secure Session and over the raw transport. pgbench -S runs at
# BENCH_CLIENTS clients for BENCH_SECONDS each, the targets alternating; then a bulk
# COPY ... TO STDOUT of about BENCH_COPY_MB MB is timed through each path.
#
#   BENCH_SECONDS (10)   BENCH_SCALE (10)   BENCH_CLIENTS ("8")   BENCH_COPY_MB (100)
set -eu
ACRA_TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SVC_NAME=bench-connector
. "$ACRA_TOP/t/lib/services.sh"
SECS=${BENCH_SECONDS:-10}
SCALE=${BENCH_SCALE:-10}
CLIENTS=${BENCH_CLIENTS:-8}
COPY_MB=${BENCH_COPY_MB:-100}

svc_need pgbench psql
pg_start
W=$(svc_dir bench)
ACRA=$(acra_bin)
cd "$W"

pgb() {
	PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable pgbench -h 127.0.0.1 -U "$PG_USER" "$@" "$PG_DB"
}
echo "initialising pgbench scale $SCALE..." >&2
pgb -p "$PG_PORT" -i -q -s "$SCALE" >init.log 2>&1 || {
	cat init.log >&2
	exit 1
}
rows=$((COPY_MB * 1024 * 1024 / 256))
pg_psql "$PG_PORT" -c "CREATE TABLE bulk AS SELECT g, repeat(md5(g::text), 7) v FROM generate_series(1, $rows) g"

"$ACRA" keymaker --generate_master_key=master.key >/dev/null 2>&1
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY
"$ACRA" keymaker --client_id=bench_conn --keys_output_dir=keys --keys_public_output_dir=keys \
	--generate_acraconnector_keys --generate_acraserver_keys >/dev/null 2>&1

acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --client_id=bench_direct ||
	svc_die "acra server (direct) did not start"
DIRECT_ACRA=$ACRA_PORT
ACRA_EXPECT_CONNECTOR=1
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --keys_dir=keys ||
	svc_die "acra server (Secure Session) did not start"
SS_ACRA=$ACRA_PORT
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --client_id=bench_raw \
	--acraconnector_transport_encryption_disable || svc_die "acra server (raw) did not start"
RAW_ACRA=$ACRA_PORT

connector() { # SERVER_PORT ARGS...: start a connector, print its port
	_sp=$1
	shift
	_p=$(svc_freeport)
	"$ACRA" connector --client_id=bench_conn --keys_dir=keys --user_check_disable \
		--incoming_connection_string="tcp://127.0.0.1:$_p/" \
		--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$_sp" "$@" \
		>"connector.$_p.log" 2>&1 </dev/null &
	svc_register $!
	acra_wait_listen "$_p" $! || svc_die "acra connector did not start"
	echo "$_p"
}
SS=$(connector "$SS_ACRA")
RAW=$(connector "$RAW_ACRA" --acraserver_transport_encryption_disable)

tps() { # PORT CLIENTS
	_j=2
	[ "$2" -ge 2 ] || _j=1
	pgb -p "$1" -n -S -T "$SECS" -c "$2" -j "$_j" >run.log 2>&1 || {
		cat run.log >&2
		echo 0
		return 0
	}
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' run.log |
		awk '{ printf "%.0f\n", $1 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "## acra connector -> acra server: pgbench -S TPS (scale $SCALE, ${SECS} s per run, -j 2)"
echo
echo "| clients | direct | acra server | connector+server Secure Session | connector+server raw | SS/raw | SS/server |"
echo "|--:|--:|--:|--:|--:|--:|--:|"
for c in $CLIENTS; do
	echo "running pgbench -S with $c clients..." >&2
	d=$(tps "$PG_PORT" "$c")
	a=$(tps "$DIRECT_ACRA" "$c")
	s=$(tps "$SS" "$c")
	r=$(tps "$RAW" "$c")
	echo "| $c | $d | $a | $s | $r | $(ratio "$s" "$r") | $(ratio "$s" "$a") |"
done
echo

copy_mbs() { # PORT: MB/s of COPY bulk TO STDOUT
	_t0=$(date +%s.%N)
	pg_psql "$1" -c "\\copy bulk TO STDOUT" | wc -c >bytes.txt
	_t1=$(date +%s.%N)
	awk -v b="$(cat bytes.txt)" -v t0="$_t0" -v t1="$_t1" \
		'BEGIN { printf "%.0f", b / 1048576 / (t1 - t0) }'
}
echo "## Bulk COPY TO STDOUT (~$COPY_MB MB), MB/s"
echo
echo "| path | MB/s |"
echo "|---|--:|"
for path in "direct:$PG_PORT" "acra server:$DIRECT_ACRA" "connector+server Secure Session:$SS" \
	"connector+server raw:$RAW"; do
	echo "| ${path%%:*} | $(copy_mbs "${path##*:}") |"
done
echo
