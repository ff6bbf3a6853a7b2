#!/bin/sh
# t/interop/run.sh: run the interoperability tests t/interop/*.sh in order.
# One line per test (PASS/FAIL/SKIP and seconds), then `N passed, N failed, N skipped`.
# A test exits 0 (pass), 77 (skipped) or anything else (fail). Exit 1 if any failed.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
ACRA_BUILD=${ACRA_BUILD:-$TOP/build}
export ACRA_BUILD ACRA_TOP="$TOP"
timeout_s=${ACRA_INTEROP_TIMEOUT:-300}

out=$(mktemp "${TMPDIR:-/tmp}/acra-interop.XXXXXX")
trap 'rm -f "$out"' EXIT
pass=0
fail=0
skip=0
for t in t/interop/*.sh; do
	[ -e "$t" ] || continue
	[ "$t" = t/interop/run.sh ] && continue
	name=$(basename "$t" .sh)
	start=$(date +%s)
	timeout -k 10 "$timeout_s" sh "$t" >"$out" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) pass=$((pass + 1)) status=PASS ;;
	77) skip=$((skip + 1)) status=SKIP ;;
	*) fail=$((fail + 1)) status=FAIL ;;
	esac
	printf '%-4s %-28s %4ss\n' "$status" "$name" "$secs"
	[ "$status" = FAIL ] && sed 's/^/    | /' "$out"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
