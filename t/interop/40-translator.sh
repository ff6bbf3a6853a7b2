#!/bin/sh
# t/interop/40-translator.sh: AcraStructs made by an implementation of Acra's layout over the
# real Themis (npm wasm-themis 0.15.0, t/interop/acrastruct.js) for keys made by acra
# keymaker / acra addzone decrypt through acra translator's /v1/decrypt and /v2/decrypt
# (client keys, zones, %%% containers); a wrong zone or client still gets 422.
# Exit 77 (skip) when node/npm, curl or the npm registry is unavailable.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ACRA_BUILD:-$root/build}
ACRA=$build/acra
PY=/usr/bin/python3
npm_dir=$root/.cache/npm

command -v node >/dev/null 2>&1 || { echo "node not installed: skip"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not installed: skip"; exit 77; }
[ -x "$PY" ] || { echo "no $PY: skip"; exit 77; }
[ -x "$ACRA" ] || { echo "no acra binary at $ACRA: skip"; exit 77; }
if ! grep -q '"version": "0.15.0"' "$npm_dir/node_modules/wasm-themis/package.json" 2>/dev/null; then
	command -v npm >/dev/null 2>&1 || { echo "npm not installed: skip"; exit 77; }
	mkdir -p "$npm_dir"
	if ! npm install --prefix "$npm_dir" --no-save --no-package-lock --fetch-retries=1 \
		--fetch-retry-maxtimeout=15000 wasm-themis@0.15.0 >"$npm_dir/install.log" 2>&1; then
		echo "cannot install wasm-themis (registry unreachable?): skip"
		exit 77
	fi
fi
export NODE_PATH="$npm_dir/node_modules"
J() { node "$root/t/interop/acrastruct.js" "$@"; }

T=$(mktemp -d "${TMPDIR:-/tmp}/acra-interop-tr.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
cd "$T" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
hexfile() { od -An -v -tx1 "$1" | tr -d ' \n'; }
unhex() { $PY -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$1"; }
hexof() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

"$ACRA" keymaker --generate_master_key=master.key >/dev/null 2>&1 || exit 1
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY
for c in client1 client2; do
	"$ACRA" keymaker --client_id=$c --keys_output_dir=keys --keys_public_output_dir=keys \
		--generate_acrawriter_keys >/dev/null 2>&1 || exit 1
done
"$ACRA" addzone --keys_output_dir=keys >zone.json 2>/dev/null || exit 1
ZONE=$($PY -c 'import json; print(json.load(open("zone.json"))["id"])')
ZPUB=$($PY -c 'import json,base64; print(base64.b64decode(json.load(open("zone.json"))["public_key"]).hex())')
"$ACRA" addzone --keys_output_dir=keys >zone2.json 2>/dev/null || exit 1
ZONE2=$($PY -c 'import json; print(json.load(open("zone2.json"))["id"])')

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
U=http://127.0.0.1:$PORT
"$ACRA" translator --incoming_connection_http_string=$U --keys_dir=keys --client_id=client1 \
	--worker_threads=1 >translator.log 2>&1 &
PID=$!
i=0
while [ $i -lt 100 ] && ! curl -sf $U/health >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done

v1() { curl -s -o out.bin -w '%{http_code}' --data-binary @"$2" "$U/v1/decrypt$1"; }
v2() { # v2 FILE [ZONE]: POST {"data":b64(FILE)[,"zone_id":ZONE]} to /v2/decrypt; prints status
	$PY - "$U" "$1" "${2:-}" <<'PYEOF'
import base64, json, sys, urllib.request, urllib.error
u, f, z = sys.argv[1:4]
body = {"data": base64.b64encode(open(f, "rb").read()).decode()}
if z:
    body["zone_id"] = z
req = urllib.request.Request(u + "/v2/decrypt", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
try:
    r = urllib.request.urlopen(req)
    open("out.bin", "wb").write(base64.b64decode(json.loads(r.read())["data"]))
    print(r.status)
except urllib.error.HTTPError as e:
    open("out.bin", "wb").write(e.read())
    print(e.code)
PYEOF
}

PUB1=$(hexfile keys/client1_storage.pub)
for len in 1 100 5000; do
	head -c $len /dev/urandom >pt.bin
	PT=$(hexfile pt.bin)
	unhex "$(J as-enc "$PUB1" - "$PT")" >as.bin
	check "wasm-themis AcraStruct ($len B) -> /v1/decrypt: 200" [ "$(v1 "" as.bin)" = 200 ]
	check "wasm-themis AcraStruct ($len B) -> /v1/decrypt: plaintext" cmp -s out.bin pt.bin
	check "wasm-themis AcraStruct ($len B) -> /v2/decrypt: 200" [ "$(v2 as.bin)" = 200 ]
	check "wasm-themis AcraStruct ($len B) -> /v2/decrypt: plaintext" cmp -s out.bin pt.bin
	unhex "$(J wrap f1 "$(hexfile as.bin)")" >wrapped.bin
	[ "$(v2 wrapped.bin)" = 200 ] && cmp -s out.bin pt.bin && ok "container plaintext ($len B)" || bad "container plaintext ($len B)"
	unhex "$(J as-enc "$ZPUB" "$(hexof "$ZONE")" "$PT")" >zas.bin
	check "wasm-themis zone AcraStruct ($len B) -> /v1/decrypt?zone_id: 200" [ "$(v1 "?zone_id=$ZONE" zas.bin)" = 200 ]
	check "wasm-themis zone AcraStruct ($len B) -> /v1/decrypt?zone_id: plaintext" cmp -s out.bin pt.bin
	check "wasm-themis zone AcraStruct ($len B) -> /v2/decrypt zone_id: 200" [ "$(v2 zas.bin "$ZONE")" = 200 ]
	check "wasm-themis zone AcraStruct ($len B) -> /v2/decrypt zone_id: plaintext" cmp -s out.bin pt.bin
	check "wasm-themis zone AcraStruct ($len B), wrong zone: 422" [ "$(v1 "?zone_id=$ZONE2" zas.bin)" = 422 ]
	check "wasm-themis zone AcraStruct ($len B), wrong zone: no data" sh -c '! cmp -s out.bin pt.bin && [ "$(cat out.bin)" = "Can'"'"'t decrypt AcraStruct" ]'
done
unhex "$(J as-enc "$(hexfile keys/client2_storage.pub)" - "$(hexof 'for client2')")" >c2.bin
check "wasm-themis AcraStruct for client2 via client1's translator: 422" [ "$(v1 "" c2.bin)" = 422 ]
check "wasm-themis AcraStruct for client2 via /v2: 422" [ "$(v2 c2.bin)" = 422 ]
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
