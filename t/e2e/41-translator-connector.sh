#!/bin/sh
# 41-translator-connector.sh: curl -> acra connector --mode=AcraTranslator -> acra translator
# over Themis Secure Session (the translator's default when no --client_id and no TLS is
# set). The translator learns the client id from the connector's handshake: a value written
# for conn_alpha decrypts through conn_alpha's connector and not through conn_beta's; v2
# encrypt/decrypt round trip; a connector with the wrong transport key is refused with a
# log line and no data; plain HTTP straight to the translator gets no answer.
# Runnable alone: ACRA_BUILD=$PWD/build sh t/e2e/41-translator-connector.sh (77 = skipped).
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need curl base64
svc_init
T=$(svc_dir t)
ACRA=$(acra_bin)
cd "$T"

run 0 "$ACRA" keymaker --generate_master_key=master.key
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
for id in conn_alpha conn_beta; do
	run 0 "$ACRA" keymaker --client_id=$id --keys_output_dir=keys --keys_public_output_dir=keys \
		--generate_acraconnector_keys --generate_acratranslator_keys --generate_acrawriter_keys
done
# a rogue connector: its own key pair for conn_alpha, trusting the real translator
run 0 "$ACRA" keymaker --client_id=conn_alpha --keys_output_dir=rogue \
	--keys_public_output_dir=rogue --generate_acraconnector_keys --generate_acratranslator_keys
cp keys/conn_alpha_translator.pub rogue/conn_alpha_translator.pub

PLAIN="alpha card 4111 $(svc_randhex 6)"
PLAIN2="v2 secret $(svc_randhex 6)"
svc_secret "$PLAIN" "$PLAIN2"
printf '%s' "$PLAIN" >plain.txt
"$ACRA" writer --keys_dir=keys --client_id=conn_alpha <plain.txt >alpha.acrastruct ||
	fail "acra writer makes an AcraStruct for conn_alpha"

TR_PORT=$(svc_freeport)
TR_LOG=$SVC_LOGDIR/acra-translator.log
"$ACRA" translator --incoming_connection_http_string="http://127.0.0.1:$TR_PORT" \
	--keys_dir=keys --worker_threads=2 -d >"$TR_LOG" 2>&1 </dev/null &
TR_PID=$!
svc_register "$TR_PID"
acra_wait_listen "$TR_PORT" "$TR_PID" || {
	sed 's/^/  | /' "$TR_LOG" >&2
	fail "acra translator starts"
}
assert_grep "$TR_LOG" 'Transport from clients: Secure Session from acra connector' \
	"translator logs that it expects Secure Session"

# connector_start NAME ARGS...: start acra connector toward the translator; sets C_PORT, C_LOG.
connector_start() {
	_n=$1
	shift
	C_PORT=$(svc_freeport)
	C_LOG=$SVC_LOGDIR/acra-connector.$_n.log
	"$ACRA" connector --mode=AcraTranslator --user_check_disable -d \
		--acratranslator_connection_string="tcp://127.0.0.1:$TR_PORT/" \
		--incoming_connection_string="tcp://127.0.0.1:$C_PORT/" "$@" \
		>"$C_LOG" 2>&1 </dev/null &
	_pid=$!
	svc_register "$_pid"
	acra_wait_listen "$C_PORT" "$_pid" || {
		sed 's/^/  | /' "$C_LOG" >&2
		fail "acra connector $_n starts"
	}
}
# code URL [curl args...]: POST, print the HTTP status (000: no answer), body to body.out
code() {
	_u=$1
	shift
	curl -s -m 5 -o body.out -w '%{http_code}' -X POST "$@" "$_u" || true
}

connector_start alpha --client_id=conn_alpha --keys_dir=keys
A=http://127.0.0.1:$C_PORT
connector_start beta --client_id=conn_beta --keys_dir=keys
B=http://127.0.0.1:$C_PORT

assert_eq "$(code "$A/v1/decrypt" --data-binary @alpha.acrastruct)" 200 \
	"v1 decrypt through conn_alpha's connector: 200"
assert_eq "$(cat body.out)" "$PLAIN" "v1 decrypt gives the plaintext"
assert_eq "$(code "$B/v1/decrypt" --data-binary @alpha.acrastruct)" 422 \
	"conn_alpha's value through conn_beta's connector: 422"
assert_nogrep body.out "$PLAIN" "the 422 body holds no plaintext"

# keep-alive: two requests on one connection keep their client id
curl -s -m 5 -o ka1.out --data-binary @alpha.acrastruct "$A/v1/decrypt" \
	--next -m 5 -o ka2.out --data-binary @alpha.acrastruct "$A/v1/decrypt" || true
assert_eq "$(cat ka1.out)$(cat ka2.out)" "$PLAIN$PLAIN" "two requests on one connection"

B64=$(printf '%s' "$PLAIN2" | base64 | tr -d '\n')
assert_eq "$(code "$A/v2/encrypt" -H 'Content-Type: application/json' -d "{\"data\":\"$B64\"}")" \
	200 "v2 encrypt through the connector"
ENC=$(/usr/bin/python3 -c 'import json; print(json.load(open("body.out"))["data"])')
assert_eq "$(code "$A/v2/decrypt" -H 'Content-Type: application/json' -d "{\"data\":\"$ENC\"}")" \
	200 "v2 decrypt through the connector"
assert_eq "$(/usr/bin/python3 -c 'import json,base64; print(base64.b64decode(json.load(open("body.out"))["data"]).decode())')" \
	"$PLAIN2" "v2 round trip gives the plaintext"
assert_eq "$(code "$B/v2/decrypt" -H 'Content-Type: application/json' -d "{\"data\":\"$ENC\"}")" \
	422 "v2 value of conn_alpha through conn_beta: 422"

# a connector with the wrong transport key: refused, no data
connector_start rogue --client_id=conn_alpha --keys_dir=rogue
R=http://127.0.0.1:$C_PORT
assert_eq "$(code "$R/v1/decrypt" --data-binary @alpha.acrastruct)" 000 \
	"connector with the wrong transport key gets no answer"
assert_nogrep body.out "$PLAIN" "no plaintext for the rogue connector"
sleep 0.3
assert_grep "$TR_LOG" 'transport with client refused: Secure Session.*client_id=conn_alpha' \
	"translator logs the refused handshake with the client id"

# plain HTTP straight to the translator: no Secure Session, no answer
assert_eq "$(code "http://127.0.0.1:$TR_PORT/v1/decrypt" --data-binary @alpha.acrastruct)" 000 \
	"plain HTTP to the translator gets no answer"
assert_nogrep body.out "$PLAIN" "no plaintext over plain HTTP"

# still serving after the refusals
assert_eq "$(code "$A/v1/decrypt" --data-binary @alpha.acrastruct)" 200 \
	"conn_alpha still served after the refusals"
kill -0 "$TR_PID" || fail "translator alive"
ok "translator alive"

# SIGTERM with an idle keep-alive connection from a connector: closed, graceful exit 0
/usr/bin/python3 -c '
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/v1/decrypt", open("alpha.acrastruct", "rb").read())
r = c.getresponse(); r.read(); print(r.status, flush=True)
time.sleep(4)' "${A##*:}" >idle.out 2>&1 &
IDLE_PID=$!
sleep 1
assert_eq "$(cat idle.out)" 200 "keep-alive request before the shutdown"
t0=$(now_ms)
kill -TERM "$TR_PID"
TR_RC=0
wait "$TR_PID" || TR_RC=$?
svc_unregister "$TR_PID"
assert_eq "$TR_RC" 0 "SIGTERM with an idle connector connection: exit 0"
[ $(($(now_ms) - t0)) -lt 5000 ] || fail "shutdown does not wait for idle connector connections"
ok "shutdown does not wait for idle connector connections"
wait "$IDLE_PID" || true
