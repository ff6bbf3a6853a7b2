#!/bin/sh
# t/interop/40-connector.sh: acra connector and acra server against the real Themis Secure
# Session (wasm-themis 0.15.0 in Node.js) with Acra 0.82's framing, keys in Acra's keystore
# layout: (1) acra connector -> a Themis server standing in for AcraServer 0.82, echoing;
# (2) a Themis client standing in for AcraConnector 0.82 -> acra server -> a MySQL
# "database" that returns each query's bytes; (3) that client with a key acra server does not know is refused.
# Exit 77 (skipped) when Node.js or the npm package is unavailable.
set -u
TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${ACRA_BUILD:-$TOP/build}
ACRA=$BUILD/acra
PEER=$TOP/t/interop/ssession_peer.js
CLIENT=$TOP/t/interop/acra_client.js
ID=client-interop-2
PY=/usr/bin/python3

command -v node >/dev/null 2>&1 || { echo "node not found"; exit 77; }
[ -x "$ACRA" ] || { echo "$ACRA missing: run make"; exit 1; }
if [ ! -d "$TOP/.cache/npm/node_modules/wasm-themis" ]; then
	npm install --prefix "$TOP/.cache/npm" wasm-themis@0.15.0 >/dev/null 2>&1 ||
		{ echo "cannot install wasm-themis@0.15.0"; exit 77; }
fi
export NODE_PATH="$TOP/.cache/npm/node_modules"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acra-conn-interop.XXXXXX")
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }
freeport() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() {
	i=0
	until $PY -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1
	done
}

cd "$tmp" || exit 1
node "$PEER" keygen "$tmp" || { echo "keygen failed"; exit 1; }
"$ACRA" keymaker --generate_master_key=master.key >/dev/null 2>&1 || exit 1
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY

# 1. acra connector -> Themis server (as AcraServer 0.82: own id = client id, peer X.pub)
"$ACRA" keymaker --client_id=$ID --keys_output_dir=ksB --keys_public_output_dir=ksB \
	--generate_acraconnector_keys >/dev/null 2>&1 || exit 1
mkdir -p peerB && cp server.priv peerB/ && cp "ksB/$ID.pub" peerB/client.pub
cp server.pub "ksB/${ID}_server.pub"
: >s1
node "$PEER" server "$tmp/peerB" "$ID" >s1 2>&1 &
pids="$pids $!"
node_pid=$!
i=0
while ! grep -q '^port ' s1; do i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1; done
sport=$(sed -n 's/^port \([0-9]*\)$/\1/p' s1)
cport=$(freeport)
"$ACRA" connector --client_id=$ID --keys_dir=ksB --user_check_disable \
	--incoming_connection_string="tcp://127.0.0.1:$cport/" \
	--acraserver_connection_host=127.0.0.1 --acraserver_connection_port="$sport" >c1.log 2>&1 &
pids="$pids $!"
# wait for the log line, not by connecting: the Themis server takes a single connection
i=0
until grep -q 'Start listening to connections' c1.log; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat c1.log; exit 1; }; sleep 0.1
done
$PY - "$cport" >a1 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = bytes((i * 11 + 3) & 0xff for i in range(3 * 1024 * 1024 + 7))
s.sendall(data)
got = b""
while len(got) < len(data):
    d = s.recv(1 << 16)
    if not d:
        break
    got += d
print("echo", "ok" if got == data else "differs", len(got))
PY
wait "$node_pid" 2>/dev/null
if grep -q '^echo ok' a1 && grep -q "^established peer=$ID" s1; then
	echo "ok: acra connector -> Themis server ($(cat a1))"
else
	fail "acra connector -> Themis server"; sed 's/^/  | /' a1 s1 c1.log
fi

# 2. Themis client (as AcraConnector 0.82) -> acra server -> MySQL "database"
"$ACRA" keymaker --client_id=$ID --keys_output_dir=ksA --keys_public_output_dir=ksA \
	--generate_acraserver_keys >/dev/null 2>&1 || exit 1
cp client.pub "ksA/$ID.pub"
mkdir -p peerA && cp client.priv rogue.priv peerA/ && cp "ksA/${ID}_server.pub" peerA/server.pub
dbport=$(freeport)
$PY - "$dbport" <<'PY' &
# A MySQL "database" that answers each COM_QUERY with a one-row result holding the query's
# bytes (a BLOB column, EOF packets: no CLIENT_DEPRECATE_EOF).
import socket, struct, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d: return None
        b += d
    return b
def pkt(seq, body): return struct.pack("<I", len(body))[:3] + bytes([seq]) + body
def lenenc(n):
    if n < 251: return bytes([n])
    if n < 1 << 16: return b"\xfc" + struct.pack("<H", n)
    return b"\xfd" + struct.pack("<I", n)[:3]
def lstr(b): return lenenc(len(b)) + b
def h(c):
    caps = 0x00000001 | 0x00000200 | 0x00008000 | 0x00080000
    g = (b"\x0a" + b"5.7.0-echo\0" + struct.pack("<I", 7) + b"abcdefgh\0" +
         struct.pack("<H", caps & 0xffff) + b"\x21" + struct.pack("<H", 2) +
         struct.pack("<H", caps >> 16) + b"\x15" + b"\0" * 10 + b"ijklmnopqrst\0" +
         b"mysql_native_password\0")
    c.sendall(pkt(0, g))
    hdr = recv_exact(c, 4)
    if hdr is None: return
    recv_exact(c, int.from_bytes(hdr[:3], "little"))
    c.sendall(pkt(2, b"\x00\x00\x00\x02\x00\x00\x00"))
    eof = b"\xfe\x00\x00\x02\x00"
    coldef = (lstr(b"def") + lstr(b"") + lstr(b"") + lstr(b"") + lstr(b"v") + lstr(b"") +
              b"\x0c" + struct.pack("<HIBHB", 63, 1 << 24, 0xfc, 0x90, 0) + b"\0\0")
    while True:
        hdr = recv_exact(c, 4)
        if hdr is None: break
        q = recv_exact(c, int.from_bytes(hdr[:3], "little"))
        if q is None or q[:1] != b"\x03": break
        c.sendall(pkt(1, b"\x01") + pkt(2, coldef) + pkt(3, eof) + pkt(4, lstr(q[1:])) +
                  pkt(5, eof))
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=h, args=(c,), daemon=True).start()
PY
pids="$pids $!"
aport=$(freeport)
"$ACRA" server --db_host=127.0.0.1 --db_port="$dbport" --keys_dir=ksA -d --mysql_enable \
	--incoming_connection_string="tcp://127.0.0.1:$aport/" >srv.log 2>&1 &
pids="$pids $!"
waitport "$aport" || { cat srv.log; exit 1; }
if node "$CLIENT" "$tmp/peerA" "$ID" "$aport" 2000000 >a2 2>&1 && grep -q '^ok 2000000' a2 &&
	grep -q "Secure Session with client established.*client_id=$ID" srv.log; then
	echo "ok: Themis client -> acra server ($(tail -1 a2))"
else
	fail "Themis client -> acra server"; sed 's/^/  | /' a2 srv.log
fi

# 3. Themis client with a key acra server does not know: refused, nothing reaches the echo
node "$CLIENT" "$tmp/peerA" "$ID" "$aport" 10 rogue >a3 2>&1; rc=$?
if [ "$rc" -eq 3 ] && grep -q "transport with client refused.*client_id=$ID" srv.log; then
	echo "ok: Themis client with a wrong key refused ($(head -1 a3))"
else
	fail "Themis client with a wrong key (exit $rc)"; sed 's/^/  | /' a3 srv.log
fi
exit $failed
