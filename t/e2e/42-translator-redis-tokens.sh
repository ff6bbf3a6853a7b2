#!/bin/sh
# 42-translator-redis-tokens.sh: two acra translator instances keep their tokens in one Redis
# (--redis_host_port, --redis_db_tokens): a value tokenized on one detokenizes on the other,
# the same value gets the same token on both (every token type), a burst of first-time
# tokenizations of the same values from both instances at once still ends with one token
# per value, records sit under Acra's key names (tokens/<hex SHA-256("client" id)>/<hex of
# "t."/"h." and the data id>) as hex, and a Redis restart gives clear errors while it is down
# and full service after.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need curl
redis_start
T=$(svc_dir t)
ACRA=$(acra_bin)
cd "$T"
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
run 0 "$ACRA" keymaker --client_id=client1 --keys_output_dir=keys --keys_public_output_dir=keys \
	--generate_symmetric_storage_key

PIDS=
start_tr() { # NAME: a translator on a new port with tokens in Redis db 1
	_p=$(svc_freeport)
	"$ACRA" translator --incoming_connection_http_string="http://127.0.0.1:$_p" \
		--keys_dir=keys --client_id=client1 --redis_host_port="127.0.0.1:$REDIS_PORT" \
		--redis_db_tokens=1 -v >"$T/$1.log" 2>&1 </dev/null &
	_pid=$!
	svc_register "$_pid"
	_i=0
	until curl -sf "http://127.0.0.1:$_p/health" >/dev/null 2>&1; do
		kill -0 "$_pid" 2>/dev/null || { cat "$T/$1.log" >&2; fail "translator $1 starts"; }
		_i=$((_i + 1))
		[ "$_i" -lt 100 ] || fail "translator $1 answers /health"
		sleep 0.1
	done
	eval "PORT_$1=$_p PID_$1=$_pid"
}
start_tr A
start_tr B
assert_grep "$T/A.log" 'Tokens are kept in Redis' "translator logs that tokens are in Redis"

cat >"$T/share.py" <<'PY'
import json, sys, threading, urllib.request
a, b = ("http://127.0.0.1:%s" % p for p in sys.argv[1:3])
def j(base, path, obj):
    req = urllib.request.Request(base + path, data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def expect(cond, what):
    if not cond:
        sys.exit("not ok: " + what)
    print("ok - " + what)
values = {1: 123456, 2: 9007199254740993, 3: "some string", 4: "c29tZSBieXRlcw==",
          5: "user@example.org"}
for t, v in values.items():
    st, r = j(a, "/v2/tokenize", {"type": t, "data": v})
    expect(st == 200, "A tokenizes type %d" % t)
    st, r2 = j(b, "/v2/tokenize", {"type": t, "data": v})
    expect(st == 200 and r2["data"] == r["data"], "B gives the same token for type %d" % t)
    st, r3 = j(b, "/v2/detokenize", {"type": t, "data": r["data"]})
    expect(st == 200 and r3["data"] == v, "B detokenizes A's token of type %d" % t)
# first-time tokenization of the same values from both instances at once
results = {}
def worker(base, name):
    for i in range(40):
        st, r = j(base, "/v2/tokenize", {"type": 3, "data": "race value %d" % i})
        results[(name, i)] = r["data"] if st == 200 else None
ts = [threading.Thread(target=worker, args=(u, n)) for u, n in ((a, "a"), (b, "b"), (a, "a2"), (b, "b2"))]
for t in ts: t.start()
for t in ts: t.join()
for i in range(40):
    toks = {results[(n, i)] for n in ("a", "b", "a2", "b2")}
    expect(len(toks) == 1 and None not in toks, "race value %d: one token from 4 concurrent clients" % i) if i in (0, 39) else None
    if len(toks) != 1 or None in toks:
        sys.exit("not ok: race value %d got tokens %r" % (i, toks))
print("ok - 40 values tokenized concurrently by both instances: one token each")
PY
run 0 $SVC_PY "$T/share.py" "$PORT_A" "$PORT_B"
cat "$OUT"

# Acra's layout in Redis db 1
CD=$(printf 'clientclient1' | sha256sum | cut -c1-64)
n=$(redis-cli -p "$REDIS_PORT" -n 1 --scan --pattern "tokens/$CD/742e*" | wc -l)
[ "$n" -ge 45 ] || fail "token records under tokens/<digest>/742e...: found $n"
ok "token records (t.) under tokens/<hex SHA-256(client id)>/742e…: $n"
n=$(redis-cli -p "$REDIS_PORT" -n 1 --scan --pattern "tokens/$CD/682e*" | wc -l)
[ "$n" -eq 45 ] || fail "value records (h.): found $n, want 45"
ok "value records (h.) under tokens/<digest>/682e…: one per value ($n)"
k=$(redis-cli -p "$REDIS_PORT" -n 1 --scan --pattern "tokens/$CD/682e*" | head -n 1)
redis-cli -p "$REDIS_PORT" -n 1 get "$k" | grep -Eq '^0a[0-9a-f]+$' ||
	fail "record values are hex of a protobuf message with field 1 first"
ok "record values are hex of the metadata container"
assert_eq "$(redis-cli -p "$REDIS_PORT" -n 0 dbsize)" 0 "nothing written to the keys database"

# Redis down: clear errors within the timeout; back: service resumes
redis_stop
t0=$(date +%s)
code=$(curl -s -o "$T/down.json" -w '%{http_code}' -m 10 -H 'Content-Type: application/json' \
	-d '{"type": 3, "data": "while down"}' "http://127.0.0.1:$PORT_A/v2/tokenize" || true)
t1=$(date +%s)
[ "$code" -ge 500 ] || fail "tokenize while Redis is down: HTTP $code, want 5xx"
[ $((t1 - t0)) -le 5 ] || fail "tokenize while Redis is down took $((t1 - t0)) s"
ok "tokenize while Redis is down: HTTP $code in $((t1 - t0)) s"
assert_grep "$T/A.log" 'token storage: Redis at .* is unavailable' "the log says Redis is unavailable"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save '' --appendonly no \
	--daemonize no --logfile "$REDIS_DIR/redis2.log" >/dev/null 2>&1 &
REDIS_PID=$!
svc_register "$REDIS_PID"
i=0
until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "redis restarts"; sleep 0.1
done
sleep 2.2 # past the reconnect backoff
ok_after=0
for i in 1 2 3 4 5; do
	code=$(curl -s -o "$T/up.json" -w '%{http_code}' -m 10 -H 'Content-Type: application/json' \
		-d '{"type": 3, "data": "after restart"}' "http://127.0.0.1:$PORT_B/v2/tokenize" || true)
	[ "$code" = 200 ] && { ok_after=1; break; }
	sleep 1
done
[ "$ok_after" = 1 ] || fail "tokenize after Redis came back: HTTP $code"
ok "tokenize works again after Redis came back"
