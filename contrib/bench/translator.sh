#!/bin/sh
# contrib/bench/translator.sh BUILD_DIR: acra translator throughput with wrk: POSTs of
# 100 B and 1 KiB AcraStructs to /v1/decrypt (raw) and /v2/decrypt (base64 JSON), as
# requests/s and p99 latency, next to the single-core AcraStruct decrypt rate of
# BUILD_DIR/crypto-bench measured in the same run. The ratio is
# requests/s / (single-core decrypts/s x worker threads); target >= 0.7. wrk shares the
# machine with the translator, so on a small or busy machine the figures are indicative.
# BENCH_SECONDS (default 5) per figure, BENCH_ROUNDS (default 2) crypto-bench runs, BENCH_WORKERS (default 2) translator threads,
# BENCH_CONNECTIONS (default 64) wrk connections, BENCH_WRK_THREADS (default 2).
set -eu
build=$(cd "${1:-build}" && pwd)
secs=${BENCH_SECONDS:-5}
workers=${BENCH_WORKERS:-2}
conns=${BENCH_CONNECTIONS:-64}
wthreads=${BENCH_WRK_THREADS:-2}
ACRA=$build/acra
PY=/usr/bin/python3
command -v wrk >/dev/null 2>&1 || { echo "wrk not installed (apt-get install wrk): skip"; exit 0; }
[ -x "$ACRA" ] || { echo "missing $ACRA"; exit 1; }
[ -x "$build/crypto-bench" ] || { echo "missing $build/crypto-bench (make $build/crypto-bench)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/acra-bench-tr.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
cd "$T"
"$ACRA" keymaker --generate_master_key=master.key >/dev/null 2>&1
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY
"$ACRA" keymaker --client_id=bench --keys_output_dir=keys --keys_public_output_dir=keys \
	--generate_acrawriter_keys >/dev/null 2>&1
for n in 100 1024; do
	head -c $n /dev/urandom >pt$n
	"$ACRA" writer --keys_dir=keys --client_id=bench <pt$n >as$n.bin 2>/dev/null
	printf '{"data":"%s"}' "$(base64 <as$n.bin | tr -d '\n')" >as$n.json
done
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ACRA" translator --incoming_connection_http_string=http://127.0.0.1:$PORT --keys_dir=keys \
	--client_id=bench --worker_threads="$workers" >translator.log 2>&1 &
PID=$!
i=0
while [ $i -lt 100 ] && ! curl -sf http://127.0.0.1:$PORT/health >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done
[ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @as100.bin http://127.0.0.1:$PORT/v1/decrypt)" = 200 ] ||
	{ echo "translator does not decrypt"; exit 1; }

cat >post.lua <<'LUA'
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_CTYPE")
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("BENCH rps=%.0f p99_ms=%.3f non200=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000,
    bad + summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
LUA

# the best of BENCH_ROUNDS (default 2) crypto-bench runs, pinned to one core when possible
pin=
command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"
single=$(i=0; while [ $i -lt "${BENCH_ROUNDS:-2}" ]; do $pin "$build/crypto-bench" 2; i=$((i + 1)); done |
	awk '/^acrastruct_decrypt_(100|1024) / { if ($2 > best[$1]) best[$1] = $2 }
	     END { for (k in best) print k, best[k] }')
echo "single-core AcraStruct decrypt (crypto-bench, best of ${BENCH_ROUNDS:-2}): $(echo "$single" | sort | tr '\n' ' ')"
printf '%-22s %10s %9s %8s %s\n' "request" "req/s" "p99 ms" "ratio" "(ratio = req/s / (single-core decrypts/s x $workers workers))"
for n in 100 1024; do
	base=$(echo "$single" | awk -v n="acrastruct_decrypt_$n" '$1 == n { print $2 }')
	for api in v1 v2; do
		if [ $api = v1 ]; then body=as$n.bin ctype=application/octet-stream; else body=as$n.json ctype=application/json; fi
		line=$(BENCH_BODY=$T/$body BENCH_CTYPE=$ctype wrk -t"$wthreads" -c"$conns" -d"${secs}s" \
			-s post.lua http://127.0.0.1:$PORT/$api/decrypt 2>&1 | grep '^BENCH ')
		rps=$(echo "$line" | sed 's/.*rps=\([0-9.]*\).*/\1/')
		p99=$(echo "$line" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')
		errs=$(echo "$line" | sed 's/.*non200=\([0-9]*\) errors=\([0-9]*\).*/\1+\2/')
		ratio=$(awk -v r="$rps" -v b="$base" -v w="$workers" 'BEGIN { printf "%.2f", r / (b * w) }')
		printf '%-22s %10s %9s %8s  non-200+errors=%s\n' "/$api/decrypt $n B" "$rps" "$p99" "$ratio" "$errs"
	done
done
