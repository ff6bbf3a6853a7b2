#!/bin/sh
# 40-translator.sh: acra translator as a user runs it: keys from acra keymaker/addzone, every
# HTTP endpoint (v1 raw, v2 JSON) with curl and with Python's urllib, zones, wrong zone and
# wrong client (422 with no data in the body), 413/400/405/404 answers, 200 parallel
# clients, tokenization consistency across requests and across a restart with --token_db,
# poison records (422, script, shutdown), SIGHUP, SIGTERM and metrics.
# Self-contained: ACRA_BUILD=$PWD/build sh t/e2e/40-translator.sh. Exit 0 pass, 1 fail, 77 skip.
set -u
ACRA_BUILD=${ACRA_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
ACRA=$ACRA_BUILD/acra
PY=/usr/bin/python3
[ -x "$ACRA" ] || { echo "SKIP: no acra binary at $ACRA"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }
[ -x "$PY" ] || { echo "SKIP: no $PY"; exit 77; }
command -v base64 >/dev/null 2>&1 || { echo "SKIP: no base64"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/acra-translator.XXXXXX") || exit 1
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
cd "$T" || exit 1
failures=0
passes=0

ok() { echo "ok   - $1"; passes=$((passes + 1)); }
bad() { echo "FAIL - $1"; failures=$((failures + 1)); }
check() { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
MPORT=$(free_port)
U=http://127.0.0.1:$PORT

# start [FLAGS...]: run the translator in the background, wait until /health answers
start() {
	"$ACRA" translator --incoming_connection_http_string="http://127.0.0.1:$PORT" \
		--keys_dir=keys --client_id=client1 --worker_threads=2 \
		--incoming_connection_prometheus_metrics_string="tcp://127.0.0.1:$MPORT" \
		--http_body_max_bytes=65536 -v "$@" >>translator.log 2>&1 &
	PID=$!
	i=0
	while [ $i -lt 100 ]; do
		curl -sf ${HEALTH_ARGS:-} "${HEALTH_URL:-$U}/health" >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || { PID=; return 1; }
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
stop() { # stop: SIGTERM and wait; returns the exit status
	[ -n "$PID" ] || return 0
	kill -TERM "$PID"
	wait "$PID"
	st=$?
	PID=
	return $st
}
code() { # code METHOD URL [curl args...]: print the HTTP status, body to body.out
	m=$1
	u=$2
	shift 2
	curl -s -o body.out -w '%{http_code}' -X "$m" "$@" "$u"
}

# --- keys ------------------------------------------------------------------------------------
"$ACRA" keymaker --generate_master_key=master.key >/dev/null 2>&1 || { bad "master key"; exit 1; }
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY
for c in client1 client2; do
	"$ACRA" keymaker --client_id=$c --keys_output_dir=keys --keys_public_output_dir=keys \
		--generate_acrawriter_keys >/dev/null 2>&1 &&
		"$ACRA" keymaker --client_id=$c --keys_output_dir=keys --keys_public_output_dir=keys \
			--generate_symmetric_storage_key --generate_hmac_key \
			--generate_poisonrecord_keys >/dev/null 2>&1 || { bad "keymaker $c"; exit 1; }
done
"$ACRA" addzone --keys_output_dir=keys >zone.json 2>/dev/null || { bad "addzone"; exit 1; }
ZONE=$($PY -c 'import json; print(json.load(open("zone.json"))["id"])')
"$ACRA" addzone --keys_output_dir=keys >zone2.json 2>/dev/null || { bad "addzone 2"; exit 1; }
ZONE2=$($PY -c 'import json; print(json.load(open("zone2.json"))["id"])')
# a poison record: an AcraStruct for the poison public key, made by acra writer
mkdir -p poisonpub && cp keys/.poison_key/poison_key.pub poisonpub/poison_storage.pub
head -c 40 /dev/urandom >poison.data
"$ACRA" writer --keys_dir=keys --keys_dir_public=poisonpub --client_id=poison \
	<poison.data >poison.bin 2>/dev/null || { bad "poison record"; exit 1; }

# --- start-up refusals -----------------------------------------------------------------------
"$ACRA" translator --keys_dir=keys --incoming_connection_grpc_string=grpc://127.0.0.1:9696 >grpc.out 2>&1
check "only a gRPC listener: exit 2" [ $? -eq 2 ]
check "only a gRPC listener: says gRPC is not supported" grep -q 'gRPC is not supported' grpc.out
check "only a gRPC listener: names --incoming_connection_http_string" grep -q 'incoming_connection_http_string' grpc.out
"$ACRA" translator --keys_dir=keys --incoming_connection_http_string=http://127.0.0.1:$PORT --client_id=bad >/dev/null 2>&1
check "invalid --client_id: exit 2" [ $? -eq 2 ]

check "translator starts" start --token_db="$T/tokens.db"

# --- v1 with curl ----------------------------------------------------------------------------
printf 'secret data 1' >plain.txt
check "v1 encrypt: 200" [ "$(code POST "$U/v1/encrypt" --data-binary @plain.txt)" = 200 ]
cp body.out as.bin
check "v1 encrypt: the body is an AcraStruct (begin tag)" [ "$(head -c 8 as.bin | od -An -c | tr -d ' \n')" = '""""""""' ]
check "v1 encrypt: plaintext is not in the AcraStruct" sh -c '! grep -q "secret data 1" as.bin'
check "v1 decrypt: 200" [ "$(code POST "$U/v1/decrypt" --data-binary @as.bin)" = 200 ]
check "v1 decrypt: plaintext back" cmp -s body.out plain.txt
check "v1 encrypt of an AcraStruct wraps it again" [ "$(code POST "$U/v1/encrypt" --data-binary @as.bin)" = 200 ] 
cp body.out as2.bin
check "v1 encrypt of an AcraStruct: a new, longer AcraStruct" [ "$(wc -c <as2.bin)" -eq $(($(wc -c <as.bin) + 189)) ]
code POST "$U/v1/decrypt" --data-binary @as2.bin >/dev/null
check "v1 decrypt of the double AcraStruct gives the inner one" cmp -s body.out as.bin
check "v1 decrypt: octet-stream" sh -c "curl -s -D - -o /dev/null --data-binary @as.bin $U/v1/decrypt | grep -qi '^content-type: application/octet-stream'"
"$ACRA" writer --keys_dir=keys --client_id=client1 <plain.txt >writer.bin 2>/dev/null
check "v1 decrypt of an acra writer AcraStruct" [ "$(code POST "$U/v1/decrypt" --data-binary @writer.bin)" = 200 ] 
check "v1 decrypt of an acra writer AcraStruct: plaintext" cmp -s body.out plain.txt
"$ACRA" writer --keys_dir=keys --client_id=client2 <plain.txt >client2.bin 2>/dev/null
check "v1 wrong client: 422" [ "$(code POST "$U/v1/decrypt" --data-binary @client2.bin)" = 422 ]
check "v1 wrong client: Acra's text, no data" [ "$(cat body.out)" = "Can't decrypt AcraStruct" ]
check "v1 decrypt garbage: 422" [ "$(code POST "$U/v1/decrypt" --data-binary @plain.txt)" = 422 ]
check "v1 decrypt, empty body: 400" [ "$(code POST "$U/v1/decrypt" --data-binary '')" = 400 ]
check "v1 GET: 405" [ "$(code GET "$U/v1/decrypt")" = 405 ]
check "v1 GET: Acra's text" grep -q 'HTTP method is not allowed, expected POST, got GET' body.out
check "unknown path: 404" [ "$(code POST "$U/v3/decrypt" --data-binary @as.bin)" = 404 ]
head -c 70000 /dev/zero >big.bin
check "body over --http_body_max_bytes: 413" [ "$(code POST "$U/v1/decrypt" --data-binary @big.bin)" = 413 ]
check "v1 zone encrypt: 200" [ "$(code POST "$U/v1/encrypt?zone_id=$ZONE" --data-binary @plain.txt)" = 200 ]
cp body.out zas.bin
check "v1 zone decrypt: plaintext back" [ "$(code POST "$U/v1/decrypt?zone_id=$ZONE" --data-binary @zas.bin)" = 200 ] 
check "v1 zone decrypt: same bytes" cmp -s body.out plain.txt
check "v1 zone AcraStruct without the zone: 422" [ "$(code POST "$U/v1/decrypt" --data-binary @zas.bin)" = 422 ]
check "v1 wrong zone: 422" [ "$(code POST "$U/v1/decrypt?zone_id=$ZONE2" --data-binary @zas.bin)" = 422 ]
check "v1 wrong zone: no data in the body" sh -c '! grep -q "secret" body.out'
check "v1 malformed zone id: 400" [ "$(code POST "$U/v1/decrypt?zone_id=nonsense" --data-binary @zas.bin)" = 400 ]

# --- v2 with curl ----------------------------------------------------------------------------
J='Content-Type: application/json'
check "v2 encrypt (curl): 200" [ "$(code POST "$U/v2/encrypt" -H "$J" -d '{"data":"c2VjcmV0"}')" = 200 ]
cp body.out enc.json
check "v2 decrypt (curl): plaintext back" [ "$(code POST "$U/v2/decrypt" -H "$J" -d @enc.json)" = 200 ] 
check "v2 decrypt (curl): JSON body" [ "$(cat body.out)" = '{"data":"c2VjcmV0"}' ]
check "v2 form content type: 400 Invalid request data" [ "$(code POST "$U/v2/encrypt" -d '{"data":"c2VjcmV0"}')" = 400 ]
check "v2 form content type: Acra's error body" [ "$(cat body.out)" = '{"code":400,"message":"Invalid request data"}' ]

# --- everything else from Python -------------------------------------------------------------
cat >t.py <<'EOF'
import base64, json, os, sys, threading, urllib.request, urllib.error
U, ZONE, ZONE2 = sys.argv[1], sys.argv[2], sys.argv[3]
fails = 0
passes = 0
def ok(cond, what):
    global fails, passes
    if cond:
        passes += 1; print("ok   - " + what)
    else:
        fails += 1; print("FAIL - " + what)
def post(path, body, ctype="application/json", method="POST"):
    if isinstance(body, (dict, list)) or body is None and False:
        body = json.dumps(body).encode()
    req = urllib.request.Request(U + path, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def j(path, obj):
    st, b = post(path, obj)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, None
b64 = lambda b: base64.b64encode(b).decode()
unb64 = lambda s: base64.b64decode(s)
pt = os.urandom(100) + b"plaintext-marker"

# round trips of every pair of endpoints
for enc, dec in (("encrypt", "decrypt"), ("encryptSym", "decryptSym"),
                 ("encryptSearchable", "decryptSearchable"),
                 ("encryptSymSearchable", "decryptSymSearchable")):
    st, r = j("/v2/" + enc, {"data": b64(pt)})
    ok(st == 200 and r and set(r) == {"data"}, enc + ": 200 with {data}")
    ct = unb64(r["data"])
    ok(pt not in ct, enc + ": plaintext not in the result")
    if "Searchable" in enc:
        ok(ct[0] == 0x7F, enc + ": starts with the hash id 0x7F")
        st2, h = j("/v2/generateQueryHash", {"data": b64(pt)})
        ok(st2 == 200 and unb64(h["data"]) == ct[:33], enc + ": first 33 bytes == generateQueryHash")
        body = ct[33:]
    else:
        body = ct
    if "Sym" in enc:
        ok(body[:4] == b'"' * 4 and body[4:8] != b'"' * 4, enc + ": an AcraBlock")
    else:
        ok(body[:8] == b'"' * 8, enc + ": an AcraStruct")
    st, r = j("/v2/" + dec, {"data": b64(ct)})
    ok(st == 200 and unb64(r["data"]) == pt, dec + ": plaintext back")
    # wrong kind of envelope for the endpoint
    other = {"decrypt": "decryptSym", "decryptSym": "decrypt"}.get(dec)
    if other:
        st, r = j("/v2/" + other, {"data": b64(ct)})
        ok(st == 422 and r == {"code": 422, "message": "Can't decrypt data"}, other + " of a " + enc + " result: 422")
    # tampered
    bad = bytearray(ct); bad[-3] ^= 1
    st, r = j("/v2/" + dec, {"data": b64(bytes(bad))})
    ok(st == 422 and b"plaintext-marker" not in json.dumps(r).encode(), dec + " tampered: 422, no data")
# searchable: wrong stored hash
st, r = j("/v2/encryptSearchable", {"data": b64(pt)})
ct = bytearray(unb64(r["data"])); ct[5] ^= 1
st, r = j("/v2/decryptSearchable", {"data": b64(bytes(ct))})
ok(st == 422, "decryptSearchable with a wrong hash: 422")
st, h1 = j("/v2/generateQueryHash", {"data": b64(b"abc")})
st, h2 = j("/v2/generateQueryHash", {"data": b64(b"abc")})
st, h3 = j("/v2/generateQueryHash", {"data": b64(b"abd")})
ok(h1 == h2 and h1 != h3 and len(unb64(h1["data"])) == 33, "generateQueryHash: deterministic, 33 bytes")

# zones in v2
for enc, dec in (("encrypt", "decrypt"), ("encryptSym", "decryptSym")):
    st, r = j("/v2/" + enc, {"data": b64(pt), "zone_id": ZONE})
    ok(st == 200, enc + " with zone_id: 200")
    z = r["data"]
    st, r = j("/v2/" + dec, {"data": z, "zone_id": ZONE})
    ok(st == 200 and unb64(r["data"]) == pt, dec + " with zone_id: plaintext back")
    st, r = j("/v2/" + dec, {"data": z, "zone_id": ZONE2})
    ok(st == 422 and r["message"] == "Can't decrypt data", dec + " with the wrong zone: 422")
    st, r = j("/v2/" + dec, {"data": z})
    ok(st == 422, dec + " of a zone envelope without zone_id: 422")
    st, r = j("/v2/" + enc, {"data": b64(pt), "zone_id": "DDDDDDDD1"})
    ok(st == 400, enc + " with a malformed zone_id: 400")

# bad input
for what, body, want in (
        ("malformed JSON", b'{"data":', (400, "invalid request body")),
        ("empty body", b"", (400, "invalid request body")),
        ("JSON array", b"[1,2]", (400, "invalid request body")),
        ("data is a number", b'{"data":5}', (400, "Invalid request data")),
        ("no data", b'{"x":"aGk="}', (400, "Invalid request data")),
        ("invalid base64", b'{"data":"***not base64***"}', (400, "Invalid request data")),
        ("unpadded base64", b'{"data":"aGk"}', (400, "Invalid request data")),
        ("empty data", b'{"data":""}', (400, "Invalid request data, empty data"))):
    for ep in ("encrypt", "decrypt", "decryptSymSearchable", "generateQueryHash"):
        st, r = post("/v2/" + ep, body)
        try:
            r = json.loads(r)
        except ValueError:
            r = None
        ok(st == want[0] and r == {"code": want[0], "message": want[1]}, "%s on %s: %d %s" % (what, ep, want[0], want[1]))
# the same request in other JSON spellings gives the same answer
for what, body in (("whitespace everywhere", b' \n{ "data" :\t"c2VjcmV0" }\r\n'),
                   ("an escaped character", b'{"data":"c2Vj\\u0063mV0"}'),
                   ("an extra key", b'{"data":"c2VjcmV0","other":1}'),
                   ("null zone_id", b'{"zone_id":null,"data":"c2VjcmV0"}')):
    st, r = post("/v2/encrypt", body)
    st2, r2 = j("/v2/decrypt", json.loads(r)) if st == 200 else (st, None)
    ok(st == 200 and st2 == 200 and unb64(r2["data"]) == b"secret", "v2 body with %s: round trip" % what)
st, r = post("/v2/encrypt", b'{"data":"aGl="}')
st2, r2 = j("/v2/decrypt", json.loads(r)) if st == 200 else (st, None)
ok(st == 200 and unb64(r2["data"]) == b"hi", "base64 with non-zero trailing bits is accepted as Go does")
for bad in ("=aGk", "a=Gk", "aGk=aGk=", "aG==="):
    st, r = post("/v2/encrypt", json.dumps({"data": bad}).encode())
    ok(st == 400, "misplaced padding %r: 400" % bad)
st, r = post("/v2/encrypt", b'{"data":"c2VjcmV0","data":"c2VjcmV0"}')
ok(st == 400 and json.loads(r)["message"] == "invalid request body", "duplicate data key: 400 invalid request body")
st, r = post("/v2/encrypt", b'{"data":"c2VjcmV0"} x')
ok(st == 400 and json.loads(r)["message"] == "invalid request body", "trailing garbage: 400 invalid request body")
st, r = post("/v2/encrypt", b'{"data":null}')
ok(st == 400 and json.loads(r)["message"] == "Invalid request data", "null data: 400 Invalid request data")
st, r = post("/v2/encrypt", b'{"data":"c2VjcmV0","zone_id":5}')
ok(st == 400 and json.loads(r)["message"] == "Invalid zone id", "zone_id as a number: 400 Invalid zone id")
st, r = post("/v2/decrypt", b'{"data":"c2VjcmV0", "zone_id":"' + ZONE.encode() + b'"}')
ok(st == 422, "fast path with zone_id: decrypt of junk is 422")
st, r = post("/v2/encrypt", b'<data>aGk=</data>', ctype="application/xml")
ok(st == 400, "XML body: 400")
st, r = post("/v2/decrypt", None, method="DELETE")
ok(st == 405, "v2 DELETE: 405")
st, r = post("/v2/decrypt", None, method="PUT")
ok(st == 405, "v2 PUT: 405")

# tokenization
vals = {1: [0, 42, -2147483648, 2147483647], 2: [-9000000000, 1 << 62], 3: ["hello world", "x"],
        4: [b64(b"\x00\x01\x02binary")], 5: ["john@example.com", "a@b.de"]}
first = {}
for t, vs in vals.items():
    for v in vs:
        st, r = j("/v2/tokenize", {"type": t, "data": v})
        ok(st == 200 and set(r) == {"data"}, "tokenize type %d %r: 200" % (t, v))
        tok = r["data"]
        first[(t, json.dumps(v))] = tok
        if t in (1, 2):
            ok(isinstance(tok, int), "type %d token is a JSON integer" % t)
            if t == 1:
                ok(-2**31 <= tok < 2**31, "int32 token is in int32 range")
        else:
            ok(isinstance(tok, str) and tok != v, "type %d token is a different string" % t)
        if t == 3:
            ok(len(tok) == len(v) and tok.isalnum(), "str token: same length, alphanumeric")
        if t == 4:
            ok(len(unb64(tok)) == len(unb64(v)), "bytes token: same length")
        if t == 5:
            ok(len(tok) == len(v) and tok.count("@") == 1 and "." in tok, "email token: same length, one @, a TLD")
        st, r2 = j("/v2/tokenize", {"type": t, "data": v})
        ok(st == 200 and r2["data"] == tok, "tokenize type %d again: same token" % t)
        st, r3 = j("/v2/detokenize", {"type": t, "data": tok})
        ok(st == 200 and r3["data"] == v, "detokenize type %d: original value" % t)
st, r = j("/v2/detokenize", {"type": 3, "data": "neverissuedtoken"})
ok(st == 200 and r["data"] == "neverissuedtoken", "detokenize of an unknown token returns it unchanged")
for what, obj in (("type 0", {"type": 0, "data": "x"}), ("type 9", {"type": 9, "data": "x"}),
                  ("type as string", {"type": "3", "data": "x"}),
                  ("int32 out of range", {"type": 1, "data": 2**31}),
                  ("int32 as string", {"type": 1, "data": "12"}),
                  ("str as number", {"type": 3, "data": 12}),
                  ("bytes not base64", {"type": 4, "data": "**"})):
    st, r = j("/v2/tokenize", obj)
    ok(st == 400 and r["code"] == 400, "tokenize with %s: 400" % what)
st, r = j("/v2/tokenize", {"type": 5, "data": "a@b"})
ok(st == 422 and r == {"code": 422, "message": "Can't tokenize data"}, "email too short to tokenize: 422")
json.dump({3: [json.dumps("hello world"), first[(3, json.dumps("hello world"))]]}, open("tokens.json", "w"))
json.dump([[k[0], k[1], v] for k, v in first.items()], open("alltokens.json", "w"))

# keep-alive: several requests on one connection
import http.client
conn = http.client.HTTPConnection(U[len("http://"):], timeout=10)
kept = []
for i in range(5):
    conn.request("POST", "/v2/encrypt", body=json.dumps({"data": b64(b"ka %d" % i)}),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    kept.append(resp.status == 200 and resp.getheader("Connection", "").lower() != "close")
conn.close()
ok(all(kept), "keep-alive: 5 requests on one connection")
# GET with a JSON body is accepted (deprecated in Acra 0.91)
st, r = post("/v2/encrypt", json.dumps({"data": b64(b"via GET")}).encode(), method="GET")
ok(st == 200, "v2 GET with a body: 200 (deprecated form)")

# 200 parallel clients
res = [None] * 200
def worker(i):
    data = ("client %d " % i).encode() * (i % 7 + 1)
    try:
        st, r = j("/v2/encrypt", {"data": b64(data)})
        st2, r2 = j("/v2/decrypt", r)
        st3, r3 = post("/v1/decrypt", unb64(r["data"]), ctype=None)
        res[i] = st == 200 and st2 == 200 and unb64(r2["data"]) == data and st3 == 200 and r3 == data
    except Exception as e:
        res[i] = False
ts = [threading.Thread(target=worker, args=(i,)) for i in range(200)]
[t.start() for t in ts]
[t.join() for t in ts]
ok(all(res), "200 parallel clients: all %d round trips correct" % sum(1 for x in res if x))

# 1500 idle connections (a request half sent) cost no thread: a new client is still served
import resource, socket
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = min(hard, 4096)
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
host, port = U[len("http://"):].split(":")
idle = []
try:
    for i in range(min(1500, want - 100)):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /v1/decrypt HTTP/1.1\r\nHost: x\r\n")
        idle.append(s)
except OSError as e:
    print("  opened %d idle connections: %s" % (len(idle), e))
st, r = j("/v2/encrypt", {"data": b64(b"while busy")})
st2, r2 = j("/v2/decrypt", r) if st == 200 else (st, None)
ok(len(idle) >= 900 and st2 == 200 and unb64(r2["data"]) == b"while busy",
   "with %d idle connections open a new client is served" % len(idle))
for s in idle:
    s.close()
print("PY passes=%d fails=%d" % (passes, fails))
sys.exit(1 if fails else 0)
EOF
$PY t.py "$U" "$ZONE" "$ZONE2" >py.out 2>&1
pyst=$?
cat py.out | grep -v '^PY '
np=$(sed -n 's/^PY passes=\([0-9]*\) fails=\([0-9]*\)$/\1/p' py.out)
nf=$(sed -n 's/^PY passes=\([0-9]*\) fails=\([0-9]*\)$/\2/p' py.out)
passes=$((passes + ${np:-0}))
failures=$((failures + ${nf:-0}))
[ "$pyst" -eq 0 ] || [ "${nf:-0}" -gt 0 ] || bad "python checks ran (status $pyst)"

# --- metrics ---------------------------------------------------------------------------------
curl -s "http://127.0.0.1:$MPORT/metrics" >metrics.txt
check "metrics: connections counted" grep -Eq '^acratranslator_connections_total\{connection_type="http"\} [1-9]' metrics.txt
check "metrics: decryptions counted" grep -Eq '^acra_decryptions_total\{status="success",type="acrastruct"\} [1-9]' metrics.txt
check "metrics: failed decryptions counted" grep -Eq '^acra_decryptions_total\{status="fail",type="acrastruct"\} [1-9]' metrics.txt
check "metrics: encryptions counted" grep -Eq '^acra_encryptions_total\{status="success",type="acrablock"\} [1-9]' metrics.txt
check "metrics: tokenizations counted" grep -Eq '^acra_tokenizations_total\{status="success",token_type="email"\} [1-9]' metrics.txt
check "metrics: request latency histogram" grep -q '^acratranslator_request_processing_seconds_count{request_type="http",operation="tokenize",version="v2"}' metrics.txt

# --- SIGHUP, restart, tokens from the file ---------------------------------------------------
kill -HUP "$PID"
sleep 0.3
check "SIGHUP: still running" kill -0 "$PID"
check "SIGHUP: still serving" [ "$(code POST "$U/v1/decrypt" --data-binary @as.bin)" = 200 ]
check "SIGHUP: logged" grep -q 'Cached keys dropped' translator.log
stop
check "SIGTERM: exit 0" [ $? -eq 0 ]
check "SIGTERM: graceful shutdown logged" grep -q 'Server graceful shutdown completed' translator.log
check "token file exists with mode 600" [ "$(stat -c %a tokens.db)" = 600 ]
check "token file holds no plaintext value" sh -c '! grep -q "hello world" tokens.db && ! grep -q "john@example.com" tokens.db'
check "translator restarts with the token file" start --token_db="$T/tokens.db"
cat >t2.py <<'EOF'
import json, sys, urllib.request
U = sys.argv[1]
bad = 0
for t, v, tok in json.load(open("alltokens.json")):
    v = json.loads(v)
    for ep, data, want in (("tokenize", v, tok), ("detokenize", tok, v)):
        req = urllib.request.Request(U + "/v2/" + ep, data=json.dumps({"type": t, "data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
        got = json.loads(urllib.request.urlopen(req).read())["data"]
        if got != want:
            bad += 1
            print("  after restart %s type %d: got %r want %r" % (ep, t, got, want))
sys.exit(1 if bad else 0)
EOF
check "after restart: same tokens and detokenization for every value" $PY t2.py "$U"
stop
# SIGTERM under load: every answer a client gets is complete and correct
check "translator starts for the SIGTERM-under-load check" start
cat >t5.py <<'EOF'
import base64, json, sys, threading, urllib.request
U = sys.argv[1]
bad = []
def worker(i):
    data = b"load %d" % i
    for k in range(200):
        try:
            req = urllib.request.Request(U + "/v2/encrypt", data=json.dumps({"data": base64.b64encode(data).decode()}).encode(),
                                         headers={"Content-Type": "application/json"})
            body = urllib.request.urlopen(req, timeout=10).read()
            as_ = base64.b64decode(json.loads(body)["data"])
            if as_[:8] != b'"' * 8 or len(as_) != len(data) + 189:
                bad.append(i)
        except Exception:
            return  # refused or closed once the shutdown began: fine
ts = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
[t.start() for t in ts]
[t.join() for t in ts]
sys.exit(1 if bad else 0)
EOF
$PY t5.py "$U" &
LOAD=$!
sleep 0.5
stop
check "SIGTERM under load: exit 0" [ $? -eq 0 ]
wait $LOAD
check "SIGTERM under load: every answer received was complete" [ $? -eq 0 ]
check "no token file: tokens live in memory only" start --http_timeout=1
cat >t3.py <<'EOF'
import json, sys, urllib.request
U = sys.argv[1]
t, (v, tok) = next(iter(json.load(open("tokens.json")).items()))
req = urllib.request.Request(U + "/v2/tokenize", data=json.dumps({"type": int(t), "data": json.loads(v)}).encode(),
                             headers={"Content-Type": "application/json"})
sys.exit(0 if json.loads(urllib.request.urlopen(req).read())["data"] != tok else 1)
EOF
check "without --token_db a fresh start makes new tokens" $PY t3.py "$U"
cat >t4.py <<'EOF'
import socket, sys, time
host, port = sys.argv[1][len("http://"):].split(":")
s = socket.create_connection((host, int(port)))
s.sendall(b"POST /v1/decrypt HTTP/1.1\r\nHost: x\r\n")
s.settimeout(5)
t0 = time.time()
try:
    data = s.recv(100)
except socket.timeout:
    sys.exit(1)
sys.exit(0 if time.time() - t0 < 4 else 1)
EOF
check "--http_timeout=1: a connection that stops sending headers is closed" $PY t4.py "$U"
stop

# --- poison records --------------------------------------------------------------------------
cat >poison.sh <<EOF
#!/bin/sh
touch "$T/poison.ran"
EOF
chmod +x poison.sh
check "translator starts with poison detection" start --poison_detect_enable --poison_run_script_file="$T/poison.sh"
check "poison record: 422" [ "$(code POST "$U/v1/decrypt" --data-binary @poison.bin)" = 422 ]
check "poison record: no data in the body" [ "$(cat body.out)" = "Can't decrypt AcraStruct" ]
check "poison record: v2 422" [ "$(code POST "$U/v2/decrypt" -H "$J" -d "{\"data\":\"$(base64 <poison.bin | tr -d '\n')\"}")" = 422 ]
sleep 0.3
check "poison record: logged" grep -q 'Recognized poison record' translator.log
check "poison record: script ran" [ -f poison.ran ]
check "poison record: still serving without poison_shutdown_enable" [ "$(code POST "$U/v1/decrypt" --data-binary @as.bin)" = 200 ]
stop
check "translator starts with poison shutdown" start --poison_detect_enable --poison_shutdown_enable
code POST "$U/v1/decrypt" --data-binary @poison.bin >/dev/null
sleep 0.3
kill -0 "$PID" 2>/dev/null
alive=$?
check "poison record with poison_shutdown_enable: process exits" [ $alive -ne 0 ]
wait "$PID" 2>/dev/null
check "poison record with poison_shutdown_enable: exit status 1" [ $? -eq 1 ]
PID=
check "no poison detection: a poison record is just undecryptable (422)" start
check "no poison detection: 422" [ "$(code POST "$U/v1/decrypt" --data-binary @poison.bin)" = 422 ]
stop

# --- TLS: client id from the client certificate ----------------------------------------------
if command -v openssl >/dev/null 2>&1; then
	mk_cert() { # mk_cert NAME SUBJECT [EXT]: a certificate signed by ca
		openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -subj "$2" -out "$1.csr" >/dev/null 2>&1 &&
			printf '%s\n' "${3:-extendedKeyUsage=clientAuth,serverAuth}" >"$1.ext" &&
			printf 'subjectAltName=IP:127.0.0.1\n' >>"$1.ext" &&
			openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
				-extfile "$1.ext" -out "$1.crt" >/dev/null 2>&1
	}
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj "/CN=Test CA" -days 2 -out ca.crt >/dev/null 2>&1
	mk_cert server "/CN=127.0.0.1"
	mk_cert tlsclient "/C=GB/O=Acra Test/OU=dev/CN=tlsclient"
	mk_cert other "/C=GB/O=Acra Test/CN=other"
	mk_cert serveronly "/C=GB/CN=serveronly" "extendedKeyUsage=serverAuth"
	# Acra's id: hex SHA-512 of Go's rendering of the subject, most specific RDN first
	TLSID=$($PY -c 'import hashlib; print(hashlib.sha512(b"CN=tlsclient,OU=dev,O=Acra Test,C=GB").hexdigest())')
	"$ACRA" keymaker --client_id="$TLSID" --keys_output_dir=keys --keys_public_output_dir=keys \
		--generate_acrawriter_keys >/dev/null 2>&1
	HEALTH_URL=https://127.0.0.1:$PORT
	HEALTH_ARGS="--cacert ca.crt --cert tlsclient.crt --key tlsclient.key"
	check "TLS translator starts" start --tls_cert=server.crt --tls_key=server.key --tls_ca=ca.crt --tls_auth=4
	H=https://127.0.0.1:$PORT
	tc() { code POST "$1" --cacert ca.crt --cert tlsclient.crt --key tlsclient.key --data-binary @"$2"; }
	check "TLS: encrypt with the certificate's client id: 200" [ "$(tc "$H/v1/encrypt" plain.txt)" = 200 ]
	cp body.out tls.bin
	check "TLS: acra reader opens it with the derived client id" sh -c "'$ACRA' reader --keys_dir=keys --client_id='$TLSID' <tls.bin 2>/dev/null | cmp -s - plain.txt"
	check "TLS: decrypt round trip" [ "$(tc "$H/v1/decrypt" tls.bin)" = 200 ]
	check "TLS: plaintext back" cmp -s body.out plain.txt
	check "TLS: the certificate's id wins over --client_id (client1's AcraStruct: 422)" [ "$(tc "$H/v1/decrypt" as.bin)" = 422 ]
	check "TLS: another certificate (no keys for its id): 422" [ "$(code POST "$H/v1/decrypt" --cacert ca.crt --cert other.crt --key other.key --data-binary @tls.bin)" = 422 ]
	check "TLS: no client certificate with tls_auth=4: refused" [ "$(code POST "$H/v1/decrypt" --cacert ca.crt --data-binary @tls.bin)" = 000 ]
	check "TLS: a certificate without clientAuth usage gets no data" [ "$(code POST "$H/v1/decrypt" --cacert ca.crt --cert serveronly.crt --key serveronly.key --data-binary @tls.bin)" != 200 ]
	check "TLS: plain HTTP on the TLS port fails" [ "$(code POST "$U/v1/decrypt" --data-binary @tls.bin)" != 200 ]
	stop
	check "TLS tls_auth=2 (not verified) starts" start --tls_cert=server.crt --tls_key=server.key --tls_ca=ca.crt --tls_auth=2
	check "TLS: a certificate without clientAuth usage gets no client id (not the static one): 400" [ "$(code POST "$H/v1/decrypt" --cacert ca.crt --cert serveronly.crt --key serveronly.key --data-binary @as.bin)" = 400 ]
	check "TLS tls_auth=2: a usable certificate works" [ "$(tc "$H/v1/decrypt" tls.bin)" = 200 ]
	stop
	SERIAL=$(openssl x509 -in tlsclient.crt -noout -serial | sed 's/^serial=//')
	SERID=$($PY -c 'import hashlib,sys; n=int(sys.argv[1],16); print(hashlib.sha512(n.to_bytes((n.bit_length()+7)//8,"big")).hexdigest())' "$SERIAL")
	"$ACRA" keymaker --client_id="$SERID" --keys_output_dir=keys --keys_public_output_dir=keys \
		--generate_acrawriter_keys >/dev/null 2>&1
	check "TLS serial_number extractor starts" start --tls_cert=server.crt --tls_key=server.key --tls_ca=ca.crt --tls_identifier_extractor_type=serial_number
	check "TLS serial_number: encrypt 200" [ "$(tc "$H/v1/encrypt" plain.txt)" = 200 ]
	check "TLS serial_number: acra reader opens it with the serial-derived id" sh -c "'$ACRA' reader --keys_dir=keys --client_id='$SERID' <body.out 2>/dev/null | cmp -s - plain.txt"
	stop
	HEALTH_URL=
	HEALTH_ARGS=
	"$ACRA" translator --incoming_connection_http_string=http://127.0.0.1:$PORT --keys_dir=keys --tls_cert=server.crt >tlsbad.out 2>&1
	check "TLS without --tls_key: exit 2" [ $? -eq 2 ]
else
	echo "skip - TLS checks: no openssl"
fi

# --- unix socket listener --------------------------------------------------------------------
"$ACRA" translator --incoming_connection_http_string="unix://$T/tr.sock" --keys_dir=keys \
	--client_id=client1 --worker_threads=1 >>translator.log 2>&1 &
PID=$!
i=0
while [ $i -lt 100 ] && ! curl -sf --unix-socket "$T/tr.sock" http://x/health >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done
check "unix:// listener: decrypt works" [ "$(curl -s --unix-socket "$T/tr.sock" --data-binary @as.bin http://x/v1/decrypt)" = "secret data 1" ]
stop

check "no sanitizer reports in the translator log" sh -c '! grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" translator.log'
echo "# translator e2e: $passes passed, $failures failed"
[ $failures -eq 0 ]
