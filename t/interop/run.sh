#!/bin/sh
# t/interop/run.sh: run every t/interop/NN-*.sh; exit 77 from a script counts as skipped.
# Prints "N passed, N failed, N skipped" and exits 1 if any failed.
dir=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0
for t in "$dir"/[0-9][0-9]-*.sh; do
	[ -e "$t" ] || continue
	echo "== $(basename "$t")"
	sh "$t"
	rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)); echo "-- skipped $(basename "$t")" ;;
	*) failed=$((failed + 1)); echo "-- FAILED $(basename "$t") (exit $rc)" ;;
	esac
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
