#!/bin/sh
# contrib/bench/pg_decrypt.sh BUILD_DIR: acra server decrypting PostgreSQL results.
#
# One throwaway PostgreSQL 15 with two tables of BENCH_ROWS (10,000) rows: one holding a
# 1 KiB AcraStruct per row, one the same size of plaintext bytea. As many psql clients as
# acra server has worker threads (BENCH_WORKERS, default: CPUs) each SELECT a whole table at
# once (text format, hex bytea); rows/s is the total over the wall time, best of
# BENCH_ROUNDS (3). References measured in the same run: acra's own single-core AcraStruct
# decrypt rate for 1 KiB values (build/crypto-bench) times the worker threads (target 0.8),
# and the plaintext table read directly from PostgreSQL.
set -eu
ACRA_TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ACRA_BUILD=${1:-${ACRA_BUILD:-$ACRA_TOP/build}}
export ACRA_BUILD
SVC_NAME=bench-pg-decrypt
. "$ACRA_TOP/t/lib/services.sh"
ROWS=${BENCH_ROWS:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=${BENCH_WORKERS:-$(nproc)}
svc_need psql od base64
[ -x "$ACRA_BUILD/crypto-bench" ] || svc_die "missing $ACRA_BUILD/crypto-bench (make bench)"

pg_start
W=$(svc_dir bench)
K=$W/keys
ACRA=$ACRA_BUILD/acra
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export ACRA_MASTER_KEY
"$ACRA" keymaker --client_id=benchclient --keys_output_dir="$K" --keys_public_output_dir="$K" \
	--generate_acrawriter_keys >/dev/null 2>&1 || svc_die "keymaker failed"
head -c 1024 /dev/urandom >"$W/plain"
AS=$("$ACRA" writer --keys_dir="$K" --client_id=benchclient <"$W/plain" | od -An -v -tx1 | tr -d ' \n')
PL=$(od -An -v -tx1 <"$W/plain" | tr -d ' \n')
pg_psql "$PG_PORT" -c "CREATE TABLE enc_rows (id int, b bytea)" \
	-c "INSERT INTO enc_rows SELECT g, decode('$AS', 'hex') FROM generate_series(1, $ROWS) g" \
	-c "CREATE TABLE plain_rows (id int, b bytea)" \
	-c "INSERT INTO plain_rows SELECT g, decode('$PL', 'hex') FROM generate_series(1, $ROWS) g" \
	-c "VACUUM ANALYZE"
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --client_id=benchclient --keys_dir="$K" \
	--worker_threads="$WORKERS" || svc_die "acra server did not start"

now_ns() { date +%s%N; }
# rate PORT TABLE: rows/s of WORKERS concurrent full-table SELECTs, best of ROUNDS
rate() {
	_best=0
	_r=0
	while [ "$_r" -lt "$ROUNDS" ]; do
		_t0=$(now_ns)
		_i=0
		_pids=
		while [ "$_i" -lt "$WORKERS" ]; do
			pg_psql "$1" -c "SELECT b FROM $2" >"$W/out.$_i" 2>&1 &
			_pids="$_pids $!"
			_i=$((_i + 1))
		done
		for _p in $_pids; do wait "$_p" || svc_die "psql failed: $(cat "$W"/out.* | head -c 300)"; done
		_t1=$(now_ns)
		_n=$(cat "$W"/out.* | wc -l)
		[ "$_n" -eq $((ROWS * WORKERS)) ] || svc_die "got $_n rows, want $((ROWS * WORKERS))"
		_v=$(awk -v n="$_n" -v t="$((_t1 - _t0))" 'BEGIN { printf "%.0f", n / (t / 1e9) }')
		[ "$_v" -gt "$_best" ] && _best=$_v
		_r=$((_r + 1))
	done
	echo "$_best"
}
# every decrypted row is the plaintext in hex
rate "$ACRA_PORT" enc_rows >/dev/null
[ "$(sort -u "$W/out.0")" = "\\x$PL" ] || svc_die "rows through acra are not the plaintext"

single=$("$ACRA_BUILD/crypto-bench" 3 | awk '/^acrastruct_decrypt_1024/ { print $2 }')
enc_acra=$(rate "$ACRA_PORT" enc_rows)
plain_acra=$(rate "$ACRA_PORT" plain_rows)
plain_direct=$(rate "$PG_PORT" plain_rows)
ceiling=$((single * WORKERS))
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "## acra server decrypting PostgreSQL results ($ROWS rows x $WORKERS clients, 1 KiB values, best of $ROUNDS)"
echo
echo "| figure | rows/s | reference | reference rows/s | ratio |"
echo "|---|--:|---|--:|--:|"
echo "| AcraStruct rows through acra ($WORKERS workers) | $enc_acra | crypto-bench AcraStruct decrypt 1 KiB x $WORKERS | $ceiling | $(ratio "$enc_acra" "$ceiling") |"
echo "| plaintext rows through acra | $plain_acra | plaintext rows direct | $plain_direct | $(ratio "$plain_acra" "$plain_direct") |"
echo
acra_stop
