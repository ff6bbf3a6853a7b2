#!/bin/sh
# t/interop/30-ssession.sh: proto/ssession against the real Themis Secure Session
# (wasm-themis 0.15.0 in Node.js) over TCP on 127.0.0.1 with Acra 0.82 framing: handshake
# and echo in both role assignments, and refusal of peers holding the wrong key.
# Exit 77 (skipped) when Node.js or the npm package is unavailable.
set -u
TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${ACRA_BUILD:-$TOP/build}
TOOL=$BUILD/ssession-tool
PEER=$TOP/t/interop/ssession_peer.js
ID=client-interop-1

command -v node >/dev/null 2>&1 || { echo "node not found"; exit 77; }
[ -x "$TOOL" ] || { echo "$TOOL missing: run make interop"; exit 1; }
if [ ! -d "$TOP/.cache/npm/node_modules/wasm-themis" ]; then
	npm install --prefix "$TOP/.cache/npm" wasm-themis@0.15.0 >/dev/null 2>&1 ||
		{ echo "cannot install wasm-themis@0.15.0"; exit 77; }
fi
export NODE_PATH="$TOP/.cache/npm/node_modules"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acra-ss.XXXXXX")
bg=
cleanup() { [ -z "$bg" ] || kill "$bg" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

node "$PEER" keygen "$tmp" || { echo "keygen failed"; exit 1; }

# start_bg OUT CMD...: run CMD in the background, wait for its "port N" line, set $port
start_bg() {
	out=$1; shift
	: >"$out"
	"$@" >"$out" 2>&1 &
	bg=$!
	port=
	i=0
	while [ $i -lt 100 ]; do
		port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$out")
		[ -n "$port" ] && return 0
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "server did not start:"; cat "$out"; return 1
}
wait_bg() { wait "$bg"; rc=$?; bg=; return $rc; }

# case NAME: expected client exit, expected server exit, client output, server output
check() {
	name=$1 want_c=$2 got_c=$3 want_s=$4 got_s=$5 cout=$6 sout=$7 cgrep=$8 sgrep=$9
	if [ "$got_c" -ne "$want_c" ] || [ "$got_s" -ne "$want_s" ] ||
		! grep -q "$cgrep" "$cout" || ! grep -q "$sgrep" "$sout"; then
		fail "$name: client exit $got_c (want $want_c), server exit $got_s (want $want_s)"
		sed 's/^/  client| /' "$cout"; sed 's/^/  server| /' "$sout"
	else
		echo "ok: $name"
	fi
}

# 1. C client -> wasm-themis server
start_bg "$tmp/s1" node "$PEER" server "$tmp" "$ID" || exit 1
"$TOOL" client "$tmp" "$ID" "$port" >"$tmp/c1" 2>&1; c=$?
wait_bg; s=$?
check "C client, Themis server" 0 $c 0 $s "$tmp/c1" "$tmp/s1" '^ok 6$' '^echoed 6$'

# 2. wasm-themis client -> C server
start_bg "$tmp/s2" "$TOOL" server "$tmp" "$ID" || exit 1
node "$PEER" client "$tmp" "$ID" "$port" >"$tmp/c2" 2>&1; c=$?
wait_bg; s=$?
check "Themis client, C server" 0 $c 0 $s "$tmp/c2" "$tmp/s2" '^ok 6$' '^echoed 6$'
grep -q "^established peer=$ID\$" "$tmp/s2" || fail "C server did not report the peer id"

# 3. wasm-themis client signing with a key the C server does not know -> refused
start_bg "$tmp/s3" "$TOOL" server "$tmp" "$ID" || exit 1
node "$PEER" client "$tmp" "$ID" "$port" rogue >"$tmp/c3" 2>&1; c=$?
wait_bg; s=$?
check "Themis client with wrong key" 3 $c 3 $s "$tmp/c3" "$tmp/s3" '^refused' \
	'^refused: connect request signature is invalid'

# 4. C client signing with a wrong key -> the Themis server refuses
start_bg "$tmp/s4" node "$PEER" server "$tmp" "$ID" || exit 1
"$TOOL" client "$tmp" "$ID" "$port" rogue >"$tmp/c4" 2>&1; c=$?
wait_bg; s=$?
check "C client with wrong key" 3 $c 3 $s "$tmp/c4" "$tmp/s4" '^refused' '^refused'

# 5. Themis server answering with a wrong server key -> the C client refuses
start_bg "$tmp/s5" node "$PEER" server "$tmp" "$ID" rogue || exit 1
"$TOOL" client "$tmp" "$ID" "$port" >"$tmp/c5" 2>&1; c=$?
wait_bg; s=$?
check "Themis server with wrong key" 3 $c 3 $s "$tmp/c5" "$tmp/s5" \
	'^refused: handshake reply signature is invalid' '^refused'

exit $failed
