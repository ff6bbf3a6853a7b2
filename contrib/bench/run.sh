#!/bin/sh
# contrib/bench/run.sh [BUILD_DIR]: run every benchmark below (`make bench`). Each prints a
# Markdown table with ratios against a reference measured in the same run; copy the tables
# into docs/PERFORMANCE.md together with the machine description printed first.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ACRA_BUILD=$(cd "${1:-$TOP/build}" && pwd)
export ACRA_BUILD ACRA_TOP="$TOP"
cd "$TOP"

# One benchmark per line, in the order they run.
BENCHES="
crypto_prims
crypto
passthrough
keystore
pg_decrypt
mysql
connector
"

echo "## Machine"
echo
echo "- $(uname -srm), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
	"load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- $("$ACRA_BUILD/acra" version 2>/dev/null | head -n 1), $(date -u +%Y-%m-%d)"
echo
rc=0
for b in $BENCHES; do
	sh "contrib/bench/$b.sh" "$ACRA_BUILD" || {
		echo "benchmark $b failed" >&2
		rc=1
	}
done
exit "$rc"
