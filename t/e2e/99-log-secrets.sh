#!/bin/sh
# 99-log-secrets.sh: runs last. No log that acra wrote during this e2e run (console output
# and --log_to_file files, kept by t/e2e/run.sh) contains any plaintext, password or key
# the tests used: t/e2e/secrets.txt plus the values tests registered with svc_secret.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
[ -n "${ACRA_E2E_LOGDIR:-}" ] && [ -d "$ACRA_E2E_LOGDIR" ] ||
	svc_skip "not run by t/e2e/run.sh (no ACRA_E2E_LOGDIR)"
svc_init
T=$(svc_dir t)
grep -v -e '^#' -e '^[[:space:]]*$' "${ACRA_E2E_SECRETS:-$ACRA_TOP/t/e2e/secrets.txt}" |
	sort -u >"$T/secrets"
nsec=$(wc -l <"$T/secrets" | tr -d ' ')
find "$ACRA_E2E_LOGDIR" -type f -size +0 >"$T/logs"
nlog=$(wc -l <"$T/logs" | tr -d ' ')
[ "$nlog" -gt 0 ] || svc_skip "no acra logs were written in this run"

# The check itself must be able to fail: a planted log line with a secret is found.
head -n 1 "$T/secrets" | sed 's/^/level=info msg="planted" value=/' >"$T/planted.log"
grep -q -F -f "$T/secrets" "$T/planted.log" || fail "secret grep finds a planted secret"

found=0
while IFS= read -r f; do
	if grep -q -F -f "$T/secrets" "$f"; then
		found=1
		printf '%s contains:\n' "$f" >&2
		grep -o -F -f "$T/secrets" "$f" | sort -u | sed 's/^/    /' >&2
	fi
done <"$T/logs"
[ "$found" = 0 ] || fail "acra logs contain secrets used by the tests"
ok "none of $nsec secrets appears in the $nlog acra log files of this run"
