#!/bin/sh
# contrib/bench/run.sh BUILD_DIR: run every contrib/bench/*.sh benchmark except this one.
build=${1:-build}
dir=$(cd "$(dirname "$0")" && pwd)
rc=0
for b in "$dir"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b")"
	sh "$b" "$build" || rc=1
done
exit $rc
