# t/lib/assert.sh: assertions for the shell tests. Source after services.sh.
# Each check prints `ok - WHAT` or `not ok - WHAT` with details and exits 1.

fail() {
	printf 'not ok - %s\n' "$*" >&2
	exit 1
}
ok() { printf 'ok - %s\n' "$*"; }

# run WANT_RC CMD...: run CMD with stdout in $OUT and stderr in $ERR (files under $T),
# fail unless it exits WANT_RC ("nonzero" accepts any failure). $RC holds the status.
run() {
	_want=$1
	shift
	OUT=$T/run.out
	ERR=$T/run.err
	RC=0
	"$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
	case $_want in
	nonzero) [ "$RC" -ne 0 ] && return 0 ;;
	*) [ "$RC" -eq "$_want" ] && return 0 ;;
	esac
	printf 'command: %s\nexit status %s, wanted %s\nstdout:\n' "$*" "$RC" "$_want" >&2
	head -c 2000 "$OUT" | sed 's/^/  | /' >&2
	printf 'stderr:\n' >&2
	head -c 2000 "$ERR" | sed 's/^/  | /' >&2
	fail "exit status of: $(printf '%s' "$*" | head -c 200)"
}

# assert_eq GOT WANT WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$(printf '%s' "$1" | head -c 300)', want '$(printf '%s' "$2" | head -c 300)'"
	ok "$3"
}

# assert_grep FILE PATTERN WHAT (basic regular expression, case-sensitive)
assert_grep() {
	grep -q -e "$2" "$1" || {
		head -c 2000 "$1" | sed 's/^/  | /' >&2
		fail "$3: no line matches '$2'"
	}
	ok "$3"
}

# assert_nogrep FILE PATTERN WHAT
assert_nogrep() {
	! grep -q -e "$2" "$1" || fail "$3: '$2' found in $1"
	ok "$3"
}

# now_ms: wall clock in milliseconds.
now_ms() { $SVC_PY -c 'import time; print(int(time.time() * 1000))'; }

# http_get URL: the status code on the first line, then the body
http_get() { $SVC_PY -c 'import sys, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=10); b = r.read(); c = r.status
except urllib.error.HTTPError as e:
    b = e.read(); c = e.code
sys.stdout.write("%d\n" % c); sys.stdout.buffer.write(b)' "$1"; }
