#!/bin/sh
# contrib/bench/crypto_prims.sh BUILD_DIR: lib/crypto throughput next to `openssl speed` on the
# same machine, as ratios (ECDH P-256 and AES-256-GCM are the ceilings for our primitives).
set -eu
build=${1:-build}
secs=${BENCH_SECONDS:-3}
tool=$build/crypto-prims
[ -x "$tool" ] || { echo "missing $tool"; exit 1; }

ossl_ecdh=$(openssl speed -elapsed -seconds "$secs" ecdhp256 2>/dev/null |
	awk '/ecdh \(nistp256\)/ { print $NF }')
# AES-256-GCM columns: 16 64 256 1024 8192 16384 bytes, in 1000s of bytes per second
ossl_gcm=$(openssl speed -elapsed -seconds "$secs" -evp aes-256-gcm 2>/dev/null |
	awk '/^AES-256-GCM/ { print $2, $3, $4, $5, $6, $7 }' | tr -d k)
ours=$("$tool" "$secs")

echo "$ours" | awk -v ecdh="$ossl_ecdh" -v gcm="$ossl_gcm" '
BEGIN {
	split(gcm, g, " ")   # g[4] = 1024-byte blocks, g[6] = 16384-byte blocks (kB/s)
	printf "%-34s %14s %14s %7s\n", "figure", "lib/crypto", "openssl speed", "ratio"
}
/^ec_/ {
	printf "%-34s %10.0f op/s %10.0f op/s %7.2f\n", $1, $2, ecdh, $2 / ecdh
	next
}
/^cell_seal/ {
	n = $1; sub(/.*_/, "", n)
	ref = n >= 16384 ? g[6] : (n >= 1024 ? g[4] : g[3])
	refname = n >= 16384 ? "16KiB" : (n >= 1024 ? "1KiB" : "256B")
	printf "%-34s %9.1f MB/s %9.1f MB/s %7.2f  (gcm %s blocks)\n", $1, $2, ref / 1000, $2 / (ref / 1000), refname
}'
