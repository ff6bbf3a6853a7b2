#!/bin/sh
# contrib/bench/keystore.sh BUILD_DIR: AcraStruct decryption throughput (one thread) when
# every decryption asks the keystore for the private key, with the keys in Redis (throwaway
# redis-server on 127.0.0.1) or on the filesystem, cache off (--keystore_cache_size=-1: each
# decryption reads, unseals and imports the key, and lists its rotation history) or warm
# (the key is read once). Prints a Markdown table with ratios against the filesystem with a
# warm cache. BENCH_ROUNDS (default 2) runs per figure, the best is kept; BENCH_COLD_N and
# BENCH_WARM_N set the decryptions per run (default 3000 and 30000).
set -eu
build=$(cd "${1:-build}" && pwd)
rounds=${BENCH_ROUNDS:-2}
cold_n=${BENCH_COLD_N:-3000}
warm_n=${BENCH_WARM_N:-30000}
tool=$build/keystore-tool
[ -x "$tool" ] || { echo "missing $tool (run make)"; exit 1; }
ACRA_TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ACRA_BUILD=$build
SVC_NAME=bench-keystore
. "$ACRA_TOP/t/lib/services.sh"
redis_start
W=$SVC_ROOT/work
mkdir -p "$W"
cd "$W"
"$build/acra" keymaker --generate_master_key=master.key 2>/dev/null
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY
R="--redis_host_port=127.0.0.1:$REDIS_PORT --redis_db_keys=0"
"$build/acra" keymaker --client_id=client1 --generate_acrawriter_keys --keys_output_dir=keys \
	--keys_public_output_dir=keys 2>/dev/null
# shellcheck disable=SC2086
"$build/acra" keymaker --client_id=client1 --generate_acrawriter_keys --keys_output_dir=keys \
	--keys_public_output_dir=keys $R 2>/dev/null

# best NAME CACHE N [REDIS FLAGS...]: best decrypts/s of $rounds runs
best() {
	_name=$1 _cache=$2 _n=$3
	shift 3
	_b=0
	_i=0
	while [ "$_i" -lt "$rounds" ]; do
		_v=$("$tool" bench --keys_dir=keys --client_id=client1 --cache_size="$_cache" \
			--iterations="$_n" "$@" | cut -d' ' -f1)
		[ "$_v" -gt "$_b" ] && _b=$_v
		_i=$((_i + 1))
	done
	echo "$_name $_b"
}

# shellcheck disable=SC2086
{
	best fs_warm 0 "$warm_n"
	best fs_cold -1 "$cold_n"
	best redis_warm 0 "$warm_n" $R
	best redis_cold -1 "$cold_n" $R
} >results

awk '
{ v[$1] = $2 }
END {
	ref = v["fs_warm"]
	print "### Keystore: AcraStruct decrypts/s with the key from the keystore (1 thread)"
	print ""
	print "| keys | cache | decrypts/s | vs filesystem, warm |"
	print "|---|---|---:|---:|"
	printf "| filesystem | warm | %d | 1.00 |\n", v["fs_warm"]
	printf "| filesystem | off (-1) | %d | %.2f |\n", v["fs_cold"], v["fs_cold"] / ref
	printf "| Redis (127.0.0.1) | warm | %d | %.2f |\n", v["redis_warm"], v["redis_warm"] / ref
	printf "| Redis (127.0.0.1) | off (-1) | %d | %.2f |\n", v["redis_cold"], v["redis_cold"] / ref
	print ""
	print "Cache off: every decryption reads the key (Redis: GET plus a SCAN of the rotation"
	print "history; filesystem: open/read plus a directory listing), unseals it with the master"
	print "key and imports it. Warm: one read, then only the ECDH of each AcraStruct."
}' results
