#!/bin/sh
# 26-redis-tls.sh: keys and tokens in a Redis that only speaks TLS (redis-server --tls-port):
# acra keymaker writes keys over TLS, writer/reader use them, acra translator keeps tokens
# there and decrypts with keys from there; a CA that does not sign Redis' certificate, a
# wrong server name and a plain connection each stop the mode at start-up with a clear error.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need curl openssl
redis_start --tls
T=$(svc_dir t)
ACRA=$(acra_bin)
cd "$T"
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
PT=redis-tls-plain-5c2e11
svc_secret "$PT"
R="--redis_host_port=127.0.0.1:$REDIS_PORT --redis_tls_enable --redis_tls_client_ca=$REDIS_DIR/redis.crt"

run 0 "$ACRA" keymaker --client_id=client1 --generate_acrawriter_keys --generate_symmetric_storage_key \
	--redis_db_keys=0 $R
# shellcheck disable=SC2086
[ "$(redis-cli $REDIS_CLI_TLS -p "$REDIS_PORT" exists .acrakeys/client1_storage_sym)" = 1 ] ||
	fail "key written to Redis over TLS"
ok "acra keymaker wrote keys to Redis over TLS"
printf %s "$PT" | "$ACRA" writer --client_id=client1 --redis_db_keys=0 $R >"$T/v.struct"
assert_eq "$("$ACRA" reader --client_id=client1 --redis_db_keys=0 $R <"$T/v.struct")" "$PT" \
	"writer and reader with keys from Redis over TLS"
run 0 "$ACRA" keys list --redis_db_keys=0 $R
assert_grep "$OUT" 'client/client1/symmetric' "acra keys lists the keys in Redis over TLS"

rd() { "$ACRA" reader "$@" <"$T/v.struct"; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=other \
	-keyout other.key -out other.crt >/dev/null 2>&1
run 1 rd --client_id=client1 --redis_db_keys=0 --redis_host_port="127.0.0.1:$REDIS_PORT" \
	--redis_tls_enable --redis_tls_client_ca=other.crt
assert_grep "$ERR" 'Redis TLS: TLS handshake with 127.0.0.1:.* failed: certificate verify failed' \
	"a CA that did not sign Redis' certificate: clear error"
run 1 rd --client_id=client1 --redis_db_keys=0 $R --redis_tls_client_sni=redis.example
assert_grep "$ERR" 'certificate verify failed' "a server name the certificate does not carry: clear error"
run 1 rd --client_id=client1 --redis_db_keys=0 --redis_host_port="127.0.0.1:$REDIS_PORT"
assert_grep "$ERR" 'Redis' "plain TCP to a TLS-only Redis: an error naming Redis"

# acra translator: keys (db 0) and tokens (db 1) in Redis over TLS
P=$(svc_freeport)
"$ACRA" translator --incoming_connection_http_string="http://127.0.0.1:$P" --client_id=client1 \
	--redis_db_keys=0 --redis_db_tokens=1 $R >"$T/tr.log" 2>&1 </dev/null &
TPID=$!
svc_register "$TPID"
i=0
until curl -sf "http://127.0.0.1:$P/health" >/dev/null 2>&1; do
	kill -0 "$TPID" 2>/dev/null || { cat "$T/tr.log" >&2; fail "translator starts with Redis over TLS"; }
	i=$((i + 1)); [ $i -lt 100 ] || fail "translator answers"; sleep 0.1
done
tok=$(curl -s -H 'Content-Type: application/json' -d '{"type":3,"data":"tls token value"}' \
	"http://127.0.0.1:$P/v2/tokenize")
t=$(printf %s "$tok" | $SVC_PY -c 'import json,sys; print(json.load(sys.stdin)["data"])')
back=$(curl -s -H 'Content-Type: application/json' -d "{\"type\":3,\"data\":\"$t\"}" \
	"http://127.0.0.1:$P/v2/detokenize")
assert_eq "$back" '{"data":"tls token value"}' "translator tokenizes with tokens in Redis over TLS"
# shellcheck disable=SC2086
[ "$(redis-cli $REDIS_CLI_TLS -p "$REDIS_PORT" -n 1 dbsize)" -ge 2 ] || fail "token records in Redis db 1"
ok "token records are in Redis database 1"
dec=$(curl -s --data-binary @"$T/v.struct" "http://127.0.0.1:$P/v1/decrypt")
assert_eq "$dec" "$PT" "translator decrypts with keys from Redis over TLS"
