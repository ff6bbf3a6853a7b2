#!/bin/sh
# contrib/bench/crypto.sh BUILD_DIR: AcraStruct and AcraBlock ops/s on one core next to
# `openssl speed` measured in the same run, as ratios. Targets: AcraStruct decrypt of small
# values >= 0.8 of the ECDH P-256 ceiling (one ECDH per value); AcraBlock of 64 KiB values
# >= 0.5 of raw AES-256-GCM (two Secure Cells, the big one dominates).
# BENCH_SECONDS (default 3) sets the time per figure.
set -eu
build=${1:-build}
secs=${BENCH_SECONDS:-3}
tool=$build/crypto-bench
[ -x "$tool" ] || { echo "missing $tool"; exit 1; }

ossl_ecdh=$(openssl speed -elapsed -seconds "$secs" ecdhp256 2>/dev/null |
	awk '/ecdh \(nistp256\)/ { print $NF }')
# AES-256-GCM columns: 16 64 256 1024 8192 16384 bytes, in 1000s of bytes per second
ossl_gcm=$(openssl speed -elapsed -seconds "$secs" -evp aes-256-gcm 2>/dev/null |
	awk '/^AES-256-GCM/ { print $2, $3, $4, $5, $6, $7 }' | tr -d k)
ours=$(taskset -c 0 "$tool" "$secs" 2>/dev/null || "$tool" "$secs")

echo "$ours" | awk -v ecdh="$ossl_ecdh" -v gcm="$ossl_gcm" '
BEGIN {
	split(gcm, g, " ")
	gcm16k = g[6] / 1000  # MB/s, 16 KiB blocks: the largest openssl speed measures
	printf "openssl speed: ecdh p256 %.0f op/s, aes-256-gcm 16KiB %.1f MB/s\n", ecdh, gcm16k
	printf "%-26s %12s %12s %14s\n", "figure", "op/s", "MB/s", "ratio"
}
{
	name = $1; ops = $2; mbs = $4
	n = name; sub(/.*_/, "", n)
	if (name ~ /^acrastruct/) {
		printf "%-26s %12.0f %12.1f %8.2f ecdh\n", name, ops, mbs, ops / ecdh
	} else {
		printf "%-26s %12.0f %12.1f %8.2f gcm\n", name, ops, mbs, mbs / gcm16k
	}
}'
