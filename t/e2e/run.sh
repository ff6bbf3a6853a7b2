#!/bin/sh
# t/e2e/run.sh: run the end-to-end tests t/e2e/NN-*.sh in order against $ACRA_BUILD/acra.
# One line per test (PASS/FAIL/SKIP and seconds), then `N passed, N failed, N skipped`.
# Exit 1 if any test failed. A test exits 0 (pass), 77 (skipped) or anything else (fail).
#
#   ACRA_E2E_TIMEOUT  seconds per test (default 300)
#   ACRA_E2E_ONLY     run only tests whose file name contains this string
#   ACRA_E2E_VERBOSE  1: print every test's output, not only that of failed tests
#
# Every acra log written during the run is kept under one directory so that the last test
# (99-log-secrets.sh) can check that none of them contains a secret listed in
# t/e2e/secrets.txt or registered by a test at run time (svc_secret).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
ACRA_BUILD=${ACRA_BUILD:-$TOP/build}
export ACRA_BUILD ACRA_TOP="$TOP"
timeout_s=${ACRA_E2E_TIMEOUT:-300}

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/acra-e2e.XXXXXX")
chmod 711 "$run_dir"
ACRA_E2E_LOGDIR=$run_dir/logs
ACRA_E2E_SECRETS=$run_dir/secrets
mkdir -p "$ACRA_E2E_LOGDIR" "$run_dir/out"
cp t/e2e/secrets.txt "$ACRA_E2E_SECRETS"
export ACRA_E2E_LOGDIR ACRA_E2E_SECRETS

pass=0
fail=0
skip=0
for t in t/e2e/[0-9][0-9]-*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	case $name in *"${ACRA_E2E_ONLY:-}"*) ;; *) continue ;; esac
	out=$run_dir/out/$name.out
	start=$(date +%s)
	SVC_NAME=$name timeout -k 10 "$timeout_s" sh "$t" >"$out" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		pass=$((pass + 1))
		status=PASS
		;;
	77)
		skip=$((skip + 1))
		status=SKIP
		;;
	*)
		fail=$((fail + 1))
		status=FAIL
		;;
	esac
	why=
	[ "$rc" = 124 ] && why=" (timed out after ${timeout_s}s)"
	[ "$status" = SKIP ] && why=" ($(grep -h 'SKIP:' "$out" | tail -n 1 | sed 's/.*SKIP: //'))"
	printf '%-4s %-28s %4ss%s\n' "$status" "$name" "$secs" "$why"
	if [ "$status" = FAIL ] || [ "${ACRA_E2E_VERBOSE:-0}" = 1 ]; then
		sed 's/^/    | /' "$out"
	fi
done

if [ "$fail" -eq 0 ]; then
	rm -rf "$run_dir"
else
	echo "test output and acra logs kept in $run_dir"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
