#!/bin/sh
# contrib/bench/mysql.sh BUILD_DIR: acra server --mysql_enable in front of MariaDB.
#
# One throwaway MariaDB. (1) sysbench oltp_point_select and oltp_read_only (BENCH_TABLES
# tables of BENCH_TABLE_SIZE rows) at 1 and 8 threads for BENCH_SECONDS each, directly and
# through acra server, alternating so that drift of a busy machine hits both alike; the
# ratio is acra/direct transactions per second. (2) As many clients as acra server has worker
# threads each SELECT a table of BENCH_ROWS (10,000) rows holding a 1 KiB AcraStruct (mariadb
# CLI, text protocol); rows/s against acra's own single-core AcraStruct decrypt rate for
# 1 KiB (build/crypto-bench) times the workers, as for PostgreSQL (target 0.8), and a
# plaintext table through acra against the same table read directly.
set -eu
ACRA_TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ACRA_BUILD=${1:-${ACRA_BUILD:-$ACRA_TOP/build}}
export ACRA_BUILD
SVC_NAME=bench-mysql
. "$ACRA_TOP/t/lib/services.sh"
SECS=${BENCH_SECONDS:-10}
TABLES=${BENCH_TABLES:-4}
TSIZE=${BENCH_TABLE_SIZE:-10000}
ROWS=${BENCH_ROWS:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=${BENCH_WORKERS:-$(nproc)}
svc_need sysbench od base64
[ -x "$ACRA_BUILD/crypto-bench" ] || svc_die "missing $ACRA_BUILD/crypto-bench (make bench)"

mysql_start
W=$(svc_dir bench)
K=$W/keys
ACRA=$ACRA_BUILD/acra
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export ACRA_MASTER_KEY
"$ACRA" keymaker --client_id=benchclient --keys_output_dir="$K" --keys_public_output_dir="$K" \
	--generate_acrawriter_keys >/dev/null 2>&1 || svc_die "keymaker failed"
acra_start --db_host=127.0.0.1 --db_port="$MYSQL_PORT" --mysql_enable --client_id=benchclient \
	--keys_dir="$K" --worker_threads="$WORKERS" || svc_die "acra server did not start"

sb() { # PORT TEST THREADS [command]
	sysbench "$2" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$1" \
		--mysql-user="$MYSQL_USER" --mysql-password="$MYSQL_PASSWORD" --mysql-db="$MYSQL_DB" \
		--tables="$TABLES" --table-size="$TSIZE" --threads="$3" --time="$SECS" \
		--report-interval=0 "${4:-run}"
}
echo "preparing sysbench tables ($TABLES x $TSIZE rows)..." >&2
sb "$MYSQL_PORT" oltp_read_only 2 prepare >"$W/prepare.log" 2>&1 || {
	cat "$W/prepare.log" >&2
	svc_die "sysbench prepare failed"
}
tps() { sed -n 's/.*transactions: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "## acra server in front of MariaDB: sysbench ($TABLES x $TSIZE rows, ${SECS} s each)"
echo
echo "| test | threads | direct tps | acra tps | acra/direct |"
echo "|---|--:|--:|--:|--:|"
for t in oltp_point_select oltp_read_only; do
	for th in 1 8; do
		sb "$MYSQL_PORT" $t $th >"$W/d.log" 2>&1 || svc_die "sysbench $t direct failed"
		sb "$ACRA_PORT" $t $th >"$W/a.log" 2>&1 || {
			tail -5 "$W/a.log" >&2
			svc_die "sysbench $t through acra failed"
		}
		d=$(tps "$W/d.log")
		a=$(tps "$W/a.log")
		echo "| $t | $th | $d | $a | $(ratio "$a" "$d") |"
	done
done
echo

head -c 1024 /dev/urandom >"$W/plain"
AS=$("$ACRA" writer --keys_dir="$K" --client_id=benchclient <"$W/plain" | od -An -v -tx1 | tr -d ' \n')
PL=$(od -An -v -tx1 <"$W/plain" | tr -d ' \n')
mysql_cli "$MYSQL_PORT" -e "CREATE TABLE enc_rows (id INT, b BLOB); CREATE TABLE plain_rows (id INT, b BLOB);
	INSERT INTO enc_rows SELECT seq, X'$AS' FROM seq_1_to_$ROWS;
	INSERT INTO plain_rows SELECT seq, X'$PL' FROM seq_1_to_$ROWS" || svc_die "cannot fill tables"

now_ns() { date +%s%N; }
rate() { # PORT TABLE: rows/s of WORKERS concurrent full-table SELECTs, best of ROUNDS
	_best=0
	_r=0
	while [ "$_r" -lt "$ROUNDS" ]; do
		_t0=$(now_ns)
		_i=0
		_pids=
		while [ "$_i" -lt "$WORKERS" ]; do
			mysql_cli "$1" --quick -e "SELECT HEX(id), b FROM $2" >"$W/out.$_i" 2>&1 &
			_pids="$_pids $!"
			_i=$((_i + 1))
		done
		for _p in $_pids; do wait "$_p" || svc_die "mariadb failed: $(cat "$W"/out.* | head -c 300)"; done
		_t1=$(now_ns)
		_n=$(cat "$W"/out.* | wc -l)
		[ "$_n" -ge $((ROWS * WORKERS)) ] || svc_die "got $_n lines, want $((ROWS * WORKERS))"
		_v=$(awk -v n="$((ROWS * WORKERS))" -v t="$((_t1 - _t0))" 'BEGIN { printf "%.0f", n / (t / 1e9) }')
		[ "$_v" -gt "$_best" ] && _best=$_v
		_r=$((_r + 1))
	done
	echo "$_best"
}
# the decrypted rows are the plaintext: compare through HEX() on a direct read
mysql_cli "$ACRA_PORT" -e "SELECT b FROM enc_rows WHERE id = 1" --raw >"$W/one" ||
	svc_die "cannot read through acra"
head -c 1024 "$W/one" | cmp -s - "$W/plain" || svc_die "rows through acra are not the plaintext"

single=$("$ACRA_BUILD/crypto-bench" 3 | awk '/^acrastruct_decrypt_1024/ { print $2 }')
enc_acra=$(rate "$ACRA_PORT" enc_rows)
plain_acra=$(rate "$ACRA_PORT" plain_rows)
plain_direct=$(rate "$MYSQL_PORT" plain_rows)
ceiling=$((single * WORKERS))
echo "## acra server decrypting MariaDB results ($ROWS rows x $WORKERS clients, 1 KiB values, best of $ROUNDS)"
echo
echo "| figure | rows/s | reference | reference rows/s | ratio |"
echo "|---|--:|---|--:|--:|"
echo "| AcraStruct rows through acra ($WORKERS workers) | $enc_acra | crypto-bench AcraStruct decrypt 1 KiB x $WORKERS | $ceiling | $(ratio "$enc_acra" "$ceiling") |"
echo "| plaintext rows through acra | $plain_acra | plaintext rows direct | $plain_direct | $(ratio "$plain_acra" "$plain_direct") |"
echo
acra_stop
