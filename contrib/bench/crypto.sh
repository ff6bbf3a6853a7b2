#!/bin/sh
# contrib/bench/crypto.sh BUILD_DIR: AcraStruct and AcraBlock ops/s on one core next to
# `openssl speed` measured in the same run, as ratios. Targets: AcraStruct decrypt of small
# values >= 0.8 of the ECDH P-256 ceiling (one ECDH per value); AcraBlock of 64 KiB values
# >= 0.5 of raw AES-256-GCM (two Secure Cells, the big one dominates).
# Each side runs BENCH_ROUNDS times (default 2), alternating, and the best figure of each
# is kept, which evens out load from other processes on a shared machine.
# BENCH_SECONDS (default 3) sets the time per figure.
set -eu
build=${1:-build}
secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-2}
tool=$build/crypto-bench
[ -x "$tool" ] || { echo "missing $tool"; exit 1; }
pin=
command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"

all=""
i=0
while [ "$i" -lt "$rounds" ]; do
	e=$($pin openssl speed -elapsed -seconds "$secs" ecdhp256 2>/dev/null |
		awk '/ecdh \(nistp256\)/ { print "ossl_ecdh", $NF }')
	# AES-256-GCM columns: 16 64 256 1024 8192 16384 bytes, in 1000s of bytes per second
	g=$($pin openssl speed -elapsed -seconds "$secs" -evp aes-256-gcm 2>/dev/null |
		awk '/^AES-256-GCM/ { gsub(/k/, ""); print "ossl_gcm_16384", $7 / 1000 }')
	# our lines: NAME OPS ops/s MB MB/s -> keep ops for AcraStruct, MB/s for AcraBlock
	o=$($pin "$tool" "$secs" | awk '/^acrastruct/ { print $1, $2 } /^acrablock/ { print $1, $4 }')
	all="$all
$e
$g
$o"
	i=$((i + 1))
done

printf '%s\n' "$all" | awk '
NF == 2 { if (!($1 in best) || $2 > best[$1]) best[$1] = $2; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
END {
	printf "openssl speed (best of rounds): ecdh p256 %.0f op/s, aes-256-gcm 16 KiB %.1f MB/s\n",
		best["ossl_ecdh"], best["ossl_gcm_16384"]
	printf "%-26s %16s %8s\n", "figure (best of rounds)", "value", "ratio"
	for (i = 0; i < n; i++) {
		f = order[i]
		if (f ~ /^ossl_/) continue
		if (f ~ /^acrastruct/)
			printf "%-26s %11.0f op/s %8.2f of ecdh\n", f, best[f], best[f] / best["ossl_ecdh"]
		else
			printf "%-26s %11.1f MB/s %8.2f of gcm\n", f, best[f], best[f] / best["ossl_gcm_16384"]
	}
}'
