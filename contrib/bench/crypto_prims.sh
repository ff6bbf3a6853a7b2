#!/bin/sh
# contrib/bench/crypto_prims.sh BUILD_DIR: lib/crypto throughput next to `openssl speed` on the
# same machine, as ratios (ECDH P-256 and AES-256-GCM are the ceilings for our primitives).
# Each side runs BENCH_ROUNDS times, alternating, and the best figure of each is kept, which
# evens out load from other processes on a shared machine.
set -eu
build=${1:-build}
secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-2}
tool=$build/crypto-prims
[ -x "$tool" ] || { echo "missing $tool"; exit 1; }

all=""
i=0
while [ "$i" -lt "$rounds" ]; do
	# ecdh line: "... ecdh (nistp256) 0.0000s OPS"
	e=$(openssl speed -elapsed -seconds "$secs" ecdhp256 2>/dev/null |
		awk '/ecdh \(nistp256\)/ { print "ossl_ecdh", $NF }')
	# AES-256-GCM columns: 16 64 256 1024 8192 16384 bytes, in 1000s of bytes per second
	g=$(openssl speed -elapsed -seconds "$secs" -evp aes-256-gcm 2>/dev/null |
		awk '/^AES-256-GCM/ { gsub(/k/, ""); print "ossl_gcm_256", $4 / 1000;
			print "ossl_gcm_1024", $5 / 1000; print "ossl_gcm_16384", $7 / 1000 }')
	o=$("$tool" "$secs" | awk '{ print $1, $2 }')
	all="$all
$e
$g
$o"
	i=$((i + 1))
done

printf '%s\n' "$all" | awk '
NF == 2 { if (!($1 in best) || $2 > best[$1]) best[$1] = $2; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
END {
	printf "%-34s %14s %16s %7s\n", "figure (best of rounds)", "lib/crypto", "openssl speed", "ratio"
	for (i = 0; i < n; i++) {
		f = order[i]
		if (f ~ /^ossl_/) continue
		if (f ~ /^ec_/) {
			printf "%-34s %9.0f op/s %11.0f op/s %7.2f\n", f, best[f], best["ossl_ecdh"], best[f] / best["ossl_ecdh"]
		} else {
			sz = f; sub(/.*_/, "", sz)
			ref = sz >= 16384 ? "ossl_gcm_16384" : (sz >= 1024 ? "ossl_gcm_1024" : "ossl_gcm_256")
			printf "%-34s %9.1f MB/s %11.1f MB/s %7.2f  (%s)\n", f, best[f], best[ref], best[f] / best[ref], ref
		}
	}
}'
