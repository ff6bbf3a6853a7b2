#!/bin/sh
# t/e2e/30-master-key-sources.sh: master keys from HashiCorp Vault (KV v1, v2, TLS) and
# AWS KMS (create, decrypt), against local servers speaking the documented APIs
# (t/lib/fake_vault.py, t/lib/fake_kms.py; the latter checks every SigV4 signature with
# botocore). Failures must be one clear error line, exit 1, no secret in the output, and
# never hang. Run alone: ACRA_BUILD=$PWD/build sh t/e2e/30-master-key-sources.sh
set -u
B=${ACRA_BUILD:-$PWD/build}
TOOL=$B/masterkey-tool
PY=/usr/bin/python3
LIB=$(cd "$(dirname "$0")/../lib" && pwd)

[ -x "$TOOL" ] || { echo "30-master-key-sources: $TOOL missing (run make)"; exit 1; }
if ! $PY -c 'import botocore.auth, cryptography' 2>/dev/null; then
	echo "30-master-key-sources: skipped, python3-botocore or python3-cryptography missing"
	exit 77
fi

T=$(mktemp -d)
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	sed 's/^/#   /' "$T/err" "$T/out" 2>/dev/null
}

# start_server NAME SCRIPT ARGS...: run a fake server, wait for its port in $PORT.
start_server() {
	name=$1
	shift
	rm -f "$T/$name.port"
	$PY "$@" --port-file "$T/$name.port" 2>>"$T/$name.stderr" &
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/$name.port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "30-master-key-sources: $name did not start"
			cat "$T/$name.stderr"
			exit 1
		fi
		sleep 0.1
	done
	PORT=$(cat "$T/$name.port")
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Secrets that must never show up in any output.
SECRETS_FILE=$T/secrets
no_secret_in() {
	while IFS= read -r s; do
		[ -n "$s" ] && grep -qF -- "$s" "$@" && return 1
	done <"$SECRETS_FILE"
	return 0
}

# expect_key NAME WANT_SHA256 CMD...: exit 0 and the key's SHA-256 printed, with length
# $KEYLEN (default 32).
KEYLEN=32
expect_key() {
	name=$1
	want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(cat "$T/out")" = "sha256=$want len=$KEYLEN" ] &&
		! grep -q 'level=error' "$T/err" && no_secret_in "$T/out" "$T/err"; then
		ok "$name"
	else
		not_ok "$name (exit $rc)"
	fi
}

# expect_fail NAME PATTERN CMD...: exit 1, exactly one error line, matching PATTERN
# (fixed string), no key printed, no secret in the output, done within 4 s.
expect_fail() {
	name=$1
	pat=$2
	shift 2
	t0=$(date +%s)
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	t1=$(date +%s)
	n=$(grep -c 'level=error' "$T/err")
	if [ $rc -eq 1 ] && [ "$n" -eq 1 ] && grep 'level=error' "$T/err" | grep -qF -- "$pat" &&
		[ ! -s "$T/out" ] && no_secret_in "$T/out" "$T/err" && [ $((t1 - t0)) -le 4 ]; then
		ok "$name"
	else
		not_ok "$name (exit $rc, $n error lines, $((t1 - t0)) s, want: $pat)"
	fi
}

sha_of_b64() { printf '%s' "$1" | base64 -d | sha256sum | cut -d' ' -f1; }

# ---- HashiCorp Vault ------------------------------------------------------------------
TOKEN="test-vault-token-$$-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY1=$(head -c 32 /dev/urandom | base64 -w0)
KEY2=$(head -c 48 /dev/urandom | base64 -w0)
KEY3=$(head -c 32 /dev/urandom | base64 -w0)
SHORT=$(head -c 16 /dev/urandom | base64 -w0)
printf '%s\n%s\n%s\n%s\n%s\n' "$TOKEN" "$KEY1" "$KEY2" "$KEY3" "$SHORT" >"$SECRETS_FILE"
cat >"$T/vault.json" <<JSON
{"token": "$TOKEN",
 "mounts": {
  "secret/": {"type": "kv", "description": "key/value secret storage", "options": {"version": "2"}},
  "kv1/": {"type": "kv", "description": "", "options": null},
  "kvold/": {"type": "kv", "description": "", "options": {"version": "1"}},
  "pki/": {"type": "pki", "description": "", "options": null},
  "noopts/": {"type": "kv", "description": ""},
  "numver/": {"type": "kv", "description": "", "options": {"version": 2}},
  "cubbyhole/": {"type": "cubbyhole", "description": "per-token private secret storage", "options": null}},
 "secrets": {
  "secret/data/acra": {"data": {"acra_master_key": "$KEY1"}, "metadata": {"version": 1, "destroyed": false}},
  "kv1/acra": {"acra_master_key": "$KEY2"},
  "secret/data/team/app/acra": {"data": {"acra_master_key": "$KEY3"}, "metadata": {"version": 3}},
  "kvold/team/acra": {"acra_master_key": "$KEY3", "other": "x"},
  "secret/data/nofield": {"data": {"master_key": "$KEY1"}, "metadata": {"version": 1}},
  "secret/data/badb64": {"data": {"acra_master_key": "not*base64!"}, "metadata": {"version": 1}},
  "secret/data/short": {"data": {"acra_master_key": "$SHORT"}, "metadata": {"version": 1}},
  "secret/data/number": {"data": {"acra_master_key": 42}, "metadata": {"version": 1}}}}
JSON
start_server vault "$LIB/fake_vault.py" --config "$T/vault.json"
VURL=http://127.0.0.1:$PORT
# Acra reads the token base64-encoded and trims newlines around it.
VAULT_API_TOKEN=$(printf '%s\n' "$TOKEN" | base64 -w0)
export VAULT_API_TOKEN

expect_key "vault KV v2: secret/acra -> secret/data/acra" "$(sha_of_b64 "$KEY1")" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret/acra
KEYLEN=48 expect_key "vault KV v1 (options null): kv1/acra, 48-byte key" "$(sha_of_b64 "$KEY2")" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=kv1/acra
KEYLEN=32
expect_key "vault KV v1 (version 1), nested path" "$(sha_of_b64 "$KEY3")" \
	"$TOOL" vault --vault_connection_api_string="$VURL/" --vault_secrets_path=kvold/team/acra
expect_key "vault KV v2: nested path, empty components dropped" "$(sha_of_b64 "$KEY3")" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret//team/app/acra/
expect_fail "vault: engine without options" 'vault: mount \"noopts/\": engine options missing' \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=noopts/acra
expect_fail "vault: engine version not a string" 'vault: mount \"numver/\": engine version missing' \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=numver/acra
expect_fail "vault KV v2: path without a secret name" 'vault: vault_secrets_path \"secret\" has no secret name after the mount' \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret
expect_fail "vault: wrong token" "token refused (HTTP 403): permission denied" \
	env VAULT_API_TOKEN="$(printf 'test-wrong-token' | base64 -w0)" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret/acra
expect_fail "vault: token not set" "vault: VAULT_API_TOKEN is not set" \
	env -u VAULT_API_TOKEN "$TOOL" vault --vault_connection_api_string="$VURL"
expect_fail "vault: token not base64" "vault: VAULT_API_TOKEN is not valid base64" \
	env VAULT_API_TOKEN='%%%' "$TOOL" vault --vault_connection_api_string="$VURL"
expect_fail "vault: missing secret" "vault: GET /v1/secret/data/nothere: secret not found (HTTP 404)" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret/nothere
expect_fail "vault: default path secret/ reads secret/data" "GET /v1/secret/data: secret not found" \
	"$TOOL" vault --vault_connection_api_string="$VURL"
expect_fail "vault: missing field" "vault: secret /v1/secret/data/nofield has no field acra_master_key" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret/nofield
expect_fail "vault: field not a string" "field acra_master_key of secret /v1/secret/data/number is not a string" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret/number
expect_fail "vault: bad base64" "field acra_master_key of secret /v1/secret/data/badb64 is not valid base64" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret/badb64
expect_fail "vault: wrong length" "master key from /v1/secret/data/short is 16 bytes, need at least 32" \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=secret/short
expect_fail "vault: not a kv engine" 'vault: mount \"pki/\" is a \"pki\" engine, need kv' \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=pki/acra
expect_fail "vault: no such mount" 'vault: no secret engine mounted at \"nomount/\"' \
	"$TOOL" vault --vault_connection_api_string="$VURL" --vault_secrets_path=nomount/acra
expect_fail "vault: empty address" "vault: vault_connection_api_string is empty" \
	"$TOOL" vault
expect_fail "vault: bad address" "is not an http:// or https:// URL" \
	"$TOOL" vault --vault_connection_api_string=vault:8200
start_server vault-standby "$LIB/fake_vault.py" --config "$T/vault.json" --redirect-to "$VURL"
expect_key "vault: standby node redirects (307) to the active node" "$(sha_of_b64 "$KEY1")" \
	"$TOOL" vault --vault_connection_api_string="http://127.0.0.1:$PORT" --vault_secrets_path=secret/acra
start_server vault-loop "$LIB/fake_vault.py" --config "$T/vault.json" --redirect-to self
expect_fail "vault: redirect loop" "vault: GET /v1/sys/internal/ui/mounts: more than 3 redirects" \
	"$TOOL" vault --vault_connection_api_string="http://127.0.0.1:$PORT" --vault_secrets_path=secret/acra
DEAD=$(free_port)
expect_fail "vault: unreachable" "vault: GET /v1/sys/internal/ui/mounts: cannot connect to 127.0.0.1:$DEAD: Connection refused" \
	"$TOOL" vault --vault_connection_api_string="http://127.0.0.1:$DEAD"
start_server vault-bad "$LIB/fake_vault.py" --config "$T/vault.json" --mode malformed
expect_fail "vault: malformed JSON reply" "vault: GET /v1/sys/internal/ui/mounts: reply is not a JSON object" \
	"$TOOL" vault --vault_connection_api_string="http://127.0.0.1:$PORT" --vault_secrets_path=secret/acra
start_server vault-silent "$LIB/fake_vault.py" --config "$T/vault.json" --mode silent
expect_fail "vault: silent server times out" "timed out after 1000 ms" \
	"$TOOL" vault --vault_connection_api_string="http://127.0.0.1:$PORT" --timeout_ms=1000

# Vault over TLS: a throwaway CA and a server certificate for 127.0.0.1 and localhost.
if command -v openssl >/dev/null 2>&1; then
	(
		cd "$T" &&
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
				-subj /CN=test-ca -keyout ca.key -out ca.pem &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj /CN=localhost -keyout srv.key -out srv.csr &&
			printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >srv.ext &&
			openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-days 2 -extfile srv.ext -out srv.pem
	) >"$T/openssl.log" 2>&1 || { echo "openssl failed"; cat "$T/openssl.log"; exit 1; }
	start_server vault-tls "$LIB/fake_vault.py" --config "$T/vault.json" \
		--tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
	TPORT=$PORT
	expect_key "vault TLS: https URL, vault_tls_client_ca" "$(sha_of_b64 "$KEY1")" \
		"$TOOL" vault --vault_connection_api_string="https://127.0.0.1:$TPORT" \
		--vault_secrets_path=secret/acra --vault_tls_client_ca="$T/ca.pem"
	expect_key "vault TLS: vault_tls_transport_enable with http URL, SNI localhost" \
		"$(sha_of_b64 "$KEY1")" \
		"$TOOL" vault --vault_connection_api_string="http://127.0.0.1:$TPORT" \
		--vault_secrets_path=secret/acra --vault_tls_transport_enable \
		--vault_tls_client_ca="$T/ca.pem" --vault_tls_client_sni=localhost
	expect_fail "vault TLS: untrusted server certificate" "certificate verification failed" \
		"$TOOL" vault --vault_connection_api_string="https://127.0.0.1:$TPORT" \
		--vault_secrets_path=secret/acra
	expect_fail "vault TLS: name mismatch" "certificate verification failed: hostname mismatch" \
		"$TOOL" vault --vault_connection_api_string="https://127.0.0.1:$TPORT" \
		--vault_secrets_path=secret/acra --vault_tls_client_ca="$T/ca.pem" \
		--vault_tls_client_sni=vault.example.com
	start_server vault-tls-redirect "$LIB/fake_vault.py" --config "$T/vault.json" \
		--tls-cert "$T/srv.pem" --tls-key "$T/srv.key" --redirect-to "$VURL"
	expect_fail "vault TLS: no redirect from https to http (token would leak)" \
		"vault: GET /v1/sys/internal/ui/mounts: refusing redirect from https to \\\"$VURL/v1/sys/internal/ui/mounts\\\"" \
		"$TOOL" vault --vault_connection_api_string="https://127.0.0.1:$PORT" \
		--vault_secrets_path=secret/acra --vault_tls_client_ca="$T/ca.pem"
	expect_fail "vault TLS: plain HTTP to a TLS port" "vault: GET /v1/sys/internal/ui/mounts:" \
		"$TOOL" vault --vault_connection_api_string="http://127.0.0.1:$TPORT" \
		--vault_secrets_path=secret/acra --timeout_ms=1000
fi

# ---- AWS KMS --------------------------------------------------------------------------
AK=AKIATESTEXAMPLE0001
SK="test-secret/$(head -c 18 /dev/urandom | base64 -w0)"
printf '%s\n' "$SK" >>"$SECRETS_FILE"
cat >"$T/kms-creds.json" <<JSON
{"$AK": {"secret": "$SK"}, "AKIATESTDENIED00001": {"secret": "test-denied-secret", "deny": true}}
JSON
start_server kms "$LIB/fake_kms.py" --region eu-west-1 --credentials "$(cat "$T/kms-creds.json")" \
	--page-size 2 --alias-delay 2 --log "$T/kms.log"
KPORT=$PORT
creds() { # FILE ACCESS_KEY SECRET [ENDPOINT]
	printf '{"access_key_id": "%s", "secret_access_key": "%s", "region": "eu-west-1", "endpoint": "%s"}\n' \
		"$2" "$3" "${4:-http://127.0.0.1:$KPORT}" >"$1"
}
creds "$T/aws.json" "$AK" "$SK"
KMS="--kms_type=aws --kms_credentials_path=$T/aws.json"

# shellcheck disable=SC2086
"$TOOL" kms-create $KMS --generate_master_key="$T/master.kms" >"$T/out" 2>"$T/err"
rc=$?
CREATED=$(sed -n 's/^sha256=\([0-9a-f]*\) len=32$/\1/p' "$T/out")
if [ $rc -eq 0 ] && [ -n "$CREATED" ] && [ "$(stat -c %a "$T/master.kms")" = 600 ] &&
	[ "$(stat -c %s "$T/master.kms")" -gt 32 ] && no_secret_in "$T/out" "$T/err"; then
	ok "kms create: blob written with mode 0600"
else
	not_ok "kms create (exit $rc)"
fi
[ "$(sha256sum <"$T/master.kms" | cut -d' ' -f1)" != "$CREATED" ] &&
	ok "kms create: the file holds ciphertext, not the key" ||
	not_ok "kms create: the file holds the key"
for a in ListAliases CreateKey CreateAlias Encrypt; do
	grep -q "^ok $a" "$T/kms.log" || not_ok "kms create: no successful $a"
done
ACRA_MASTER_KEY=$(base64 -w0 "$T/master.kms")
export ACRA_MASTER_KEY
# shellcheck disable=SC2086
expect_key "kms decrypt gives back the created key" "$CREATED" "$TOOL" kms-decrypt $KMS
n_ok=$(grep -c '^ok ' "$T/kms.log")
n_ver=$(grep -c '^botocore-verified ' "$T/kms.log")
[ "$n_ok" -ge 6 ] && [ "$n_ok" -eq "$n_ver" ] &&
	ok "kms: all $n_ok requests passed botocore's signature check" ||
	not_ok "kms: $n_ok requests answered, $n_ver verified"
# shellcheck disable=SC2086
expect_fail "kms create: alias already exists" "kms: alias/acra_master_key already exists in region eu-west-1" \
	"$TOOL" kms-create $KMS --generate_master_key="$T/again.kms"
[ ! -e "$T/again.kms" ] && ok "kms create: nothing written on failure" || not_ok "kms: file written on failure"

creds "$T/wrongsk.json" "$AK" "test-wrong-secret-key"
expect_fail "kms: wrong secret key rejected by botocore check" \
	"kms: Decrypt: InvalidSignatureException: The request signature we calculated does not match" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/wrongsk.json"
creds "$T/unknown.json" AKIATESTUNKNOWN0001 "$SK"
expect_fail "kms: unknown access key" "kms: Decrypt: UnrecognizedClientException" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/unknown.json"
creds "$T/denied.json" AKIATESTDENIED00001 test-denied-secret
expect_fail "kms: access denied" "kms: Decrypt: AccessDeniedException: User: arn:aws:iam::111122223333:user/AKIATESTDENIED00001 is not authorized to perform: kms:Decrypt" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/denied.json"
TAMPERED=$($PY -c 'import base64,sys; b=bytearray(base64.b64decode(sys.argv[1])); b[-1]^=1; print(base64.b64encode(b).decode())' "$ACRA_MASTER_KEY")
# shellcheck disable=SC2086
expect_fail "kms: tampered ciphertext" "kms: Decrypt: InvalidCiphertextException" \
	env ACRA_MASTER_KEY="$TAMPERED" "$TOOL" kms-decrypt $KMS
# shellcheck disable=SC2086
expect_fail "kms: ciphertext too short" "kms: encrypted master key is 16 bytes, need at least 32" \
	env ACRA_MASTER_KEY="$SHORT" "$TOOL" kms-decrypt $KMS
DEAD=$(free_port)
creds "$T/dead.json" "$AK" "$SK" "http://127.0.0.1:$DEAD"
expect_fail "kms: unreachable" "kms: Decrypt: cannot connect to 127.0.0.1:$DEAD: Connection refused" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/dead.json"
start_server kms-bad "$LIB/fake_kms.py" --region eu-west-1 --credentials "$(cat "$T/kms-creds.json")" \
	--mode malformed
creds "$T/bad.json" "$AK" "$SK" "http://127.0.0.1:$PORT"
expect_fail "kms: malformed reply" "kms: Decrypt: reply is not a JSON object" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/bad.json"
expect_fail "kms create: malformed reply" "kms: ListAliases: reply is not a JSON object" \
	"$TOOL" kms-create --kms_type=aws --kms_credentials_path="$T/bad.json" \
	--generate_master_key="$T/bad.kms"
start_server kms-silent "$LIB/fake_kms.py" --region eu-west-1 --credentials "$(cat "$T/kms-creds.json")" \
	--mode silent
creds "$T/silent.json" "$AK" "$SK" "http://127.0.0.1:$PORT"
expect_fail "kms: silent server times out" "kms: Decrypt: timed out after 1000 ms" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/silent.json" --timeout_ms=1000
expect_fail "kms: unsupported kms_type" 'kms: unsupported kms_type \"gcp\" (supported: aws)' \
	"$TOOL" kms-decrypt --kms_type=gcp --kms_credentials_path="$T/aws.json"
expect_fail "kms: credentials file missing" "kms: cannot read credentials file \\\"$T/none.json\\\": No such file or directory" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/none.json"
printf '{"access_key_id": "%s", "secret_access_key": "%s"' "$AK" "$SK" >"$T/trunc.json"
expect_fail "kms: credentials file not JSON" "is not a JSON object" \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/trunc.json"
printf '{"access_key_id": "%s", "secret_access_key": "%s"}' "$AK" "$SK" >"$T/noregion.json"
expect_fail "kms: credentials without region" 'field \"region\" is missing' \
	"$TOOL" kms-decrypt --kms_type=aws --kms_credentials_path="$T/noregion.json"

# ---- the modes: keymaker, writer, reader, server with these sources ---------------------
ACRA=$B/acra
PT="master key sources round trip $$"
MK="--keys_output_dir=$T/vk --keys_public_output_dir=$T/vk"
VFLAGS="--keystore_encryption_type=vault_master_key --vault_connection_api_string=$VURL --vault_secrets_path=secret/acra"
# shellcheck disable=SC2086
if env -u ACRA_MASTER_KEY "$ACRA" keymaker --client_id=vaultclient --generate_acrawriter_keys \
	--generate_symmetric_storage_key $MK $VFLAGS >"$T/out" 2>"$T/err" &&
	[ -s "$T/vk/vaultclient_storage" ] && no_secret_in "$T/out" "$T/err"; then
	ok "keymaker: keys sealed with the master key from Vault (KV v2)"
else
	not_ok "keymaker with vault_master_key"
fi
for kind in acrastruct acrablock; do
	wflag=
	[ $kind = acrablock ] && wflag=--acrablock
	# shellcheck disable=SC2086
	printf '%s' "$PT" | env ACRA_MASTER_KEY="$KEY1" "$ACRA" writer --keys_dir="$T/vk" \
		--client_id=vaultclient $wflag >"$T/ct" 2>"$T/err"
	got=$(env ACRA_MASTER_KEY="$KEY1" "$ACRA" reader --keys_dir="$T/vk" --client_id=vaultclient \
		<"$T/ct" 2>"$T/err")
	[ "$got" = "$PT" ] && ok "reader with ACRA_MASTER_KEY reads the $kind of Vault-made keys" ||
		not_ok "reader with ACRA_MASTER_KEY: $kind of Vault-made keys"
	# shellcheck disable=SC2086
	got=$(env -u ACRA_MASTER_KEY "$ACRA" reader --keys_dir="$T/vk" --client_id=vaultclient \
		$VFLAGS <"$T/ct" 2>"$T/err")
	[ "$got" = "$PT" ] && ok "reader with vault_master_key reads the $kind" ||
		not_ok "reader with vault_master_key: $kind"
done
# the names older Acra versions accepted: master_key for env_master_key, and a Vault address
# alone (no keystore_encryption_type) choosing Vault
got=$(env ACRA_MASTER_KEY="$KEY1" "$ACRA" reader --keys_dir="$T/vk" --client_id=vaultclient \
	--keystore_encryption_type=master_key <"$T/ct" 2>"$T/err")
[ "$got" = "$PT" ] && ok "keystore_encryption_type=master_key is env_master_key" ||
	not_ok "keystore_encryption_type=master_key"
got=$(env -u ACRA_MASTER_KEY "$ACRA" reader --keys_dir="$T/vk" --client_id=vaultclient -v \
	--vault_connection_api_string="$VURL" --vault_secrets_path=secret/acra <"$T/ct" 2>"$T/err")
[ "$got" = "$PT" ] && grep -q 'the master key comes from HashiCorp Vault' "$T/err" &&
	ok "a Vault address alone selects Vault, and says so" ||
	not_ok "a Vault address alone does not select Vault"
# acra addzone with Vault and with KMS: the zone key is sealed with that master key
# shellcheck disable=SC2086
if env -u ACRA_MASTER_KEY "$ACRA" addzone --keys_output_dir="$T/vz" $VFLAGS >"$T/zone" \
	2>"$T/err" && ZID=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/zone") &&
	printf '%s' "$PT" | env ACRA_MASTER_KEY="$KEY1" "$ACRA" writer --keys_dir="$T/vz" \
		--zone_id="$ZID" >"$T/zct" 2>>"$T/err" &&
	[ "$(env ACRA_MASTER_KEY="$KEY1" "$ACRA" reader --keys_dir="$T/vz" --client_id=vaultclient \
		--zone_id="$ZID" <"$T/zct" 2>>"$T/err")" = "$PT" ]; then
	ok "addzone with vault_master_key: the zone decrypts with the Vault master key"
else
	not_ok "addzone with vault_master_key"
fi
env -u ACRA_MASTER_KEY VAULT_API_TOKEN="$(printf 'test-wrong-token' | base64 -w0)" \
	"$ACRA" addzone --keys_output_dir="$T/vz2" $VFLAGS >"$T/out" 2>"$T/err" &&
	not_ok "addzone with a wrong Vault token succeeded" ||
	{ grep -qF 'token refused (HTTP 403)' "$T/err" && [ ! -d "$T/vz2" ] &&
		ok "addzone with a wrong Vault token: clear error, nothing written" ||
		not_ok "addzone with a wrong Vault token: message or files"; }
# acra connector loads its transport keys with the Vault master key
env -u ACRA_MASTER_KEY "$ACRA" keymaker --client_id=vaultconn --generate_acraconnector_keys \
	--keys_output_dir="$T/vc" --keys_public_output_dir="$T/vc" $VFLAGS >"$T/out" 2>"$T/err" ||
	not_ok "keymaker makes connector keys with Vault"
cp "$T/vc/vaultconn.pub" "$T/vc/vaultconn_server.pub"
: >"$T/cerr"
CP=$(free_port)
env -u ACRA_MASTER_KEY "$ACRA" connector --client_id=vaultconn --keys_dir="$T/vc" \
	--user_check_disable --incoming_connection_string="tcp://127.0.0.1:$CP/" \
	--acraserver_connection_string="tcp://127.0.0.1:$(free_port)/" $VFLAGS \
	>"$T/cout" 2>"$T/cerr" &
CPID=$!
PIDS="$PIDS $CPID"
i=0
while [ $i -lt 50 ] && ! grep -q 'Start listening' "$T/cerr"; do
	kill -0 "$CPID" 2>/dev/null || break
	i=$((i + 1))
	sleep 0.1
done
grep -q 'Start listening' "$T/cerr" && ok "connector with vault_master_key starts" ||
	{ cp "$T/cerr" "$T/err"; not_ok "connector with vault_master_key does not start"; }
kill "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null
env -u ACRA_MASTER_KEY "$ACRA" connector --client_id=vaultconn --keys_dir="$T/vc" \
	--user_check_disable --incoming_connection_string="tcp://127.0.0.1:$(free_port)/" \
	--acraserver_connection_string="tcp://127.0.0.1:$(free_port)/" \
	--keystore_encryption_type=kms_encrypted_master_key --kms_type=aws \
	--kms_credentials_path="$T/nonexistent.json" >"$T/out" 2>"$T/err" &&
	not_ok "connector with a missing KMS credentials file started" ||
	ok "connector with a missing KMS credentials file: error exit"
WRONG=$(head -c 32 /dev/urandom | base64 -w0)
env ACRA_MASTER_KEY="$WRONG" "$ACRA" reader --keys_dir="$T/vk" --client_id=vaultclient \
	<"$T/ct" >"$T/out" 2>"$T/err" && not_ok "reader with a different master key succeeded" ||
	ok "reader with a different master key fails"

# KMS: keymaker creates alias/acra_master_key on a fresh fake KMS
start_server kms2 "$LIB/fake_kms.py" --region eu-west-1 --credentials "$(cat "$T/kms-creds.json")" \
	--log "$T/kms2.log"
creds "$T/aws2.json" "$AK" "$SK" "http://127.0.0.1:$PORT"
KFLAGS="--keystore_encryption_type=kms_encrypted_master_key --kms_type=aws --kms_credentials_path=$T/aws2.json"
# shellcheck disable=SC2086
if env -u ACRA_MASTER_KEY "$ACRA" keymaker --generate_master_key="$T/mk.kms" $KFLAGS \
	>"$T/out" 2>"$T/err" && [ "$(stat -c %a "$T/mk.kms")" = 600 ] &&
	grep -q '^ok Encrypt' "$T/kms2.log"; then
	ok "keymaker --generate_master_key with kms_encrypted_master_key writes the KMS blob"
else
	not_ok "keymaker --generate_master_key with kms_encrypted_master_key"
fi
BLOB=$(base64 -w0 "$T/mk.kms")
MK="--keys_output_dir=$T/kk --keys_public_output_dir=$T/kk"
# shellcheck disable=SC2086
env ACRA_MASTER_KEY="$BLOB" "$ACRA" keymaker --client_id=kmsclient --generate_acrawriter_keys \
	--generate_symmetric_storage_key $MK $KFLAGS >"$T/out" 2>"$T/err" ||
	not_ok "keymaker with kms_encrypted_master_key"
# shellcheck disable=SC2086
printf '%s' "$PT" | env ACRA_MASTER_KEY="$BLOB" "$ACRA" writer --keys_dir="$T/kk" \
	--client_id=kmsclient --acrablock $KFLAGS >"$T/ct" 2>"$T/err"
# shellcheck disable=SC2086
got=$(env ACRA_MASTER_KEY="$BLOB" "$ACRA" reader --keys_dir="$T/kk" --client_id=kmsclient \
	$KFLAGS <"$T/ct" 2>"$T/err")
[ "$got" = "$PT" ] && ok "writer/reader with kms_encrypted_master_key: AcraBlock round trip" ||
	not_ok "writer/reader with kms_encrypted_master_key"
# the blob itself is not the master key
env ACRA_MASTER_KEY="$BLOB" "$ACRA" reader --keys_dir="$T/kk" --client_id=kmsclient \
	<"$T/ct" >"$T/out" 2>"$T/err" && not_ok "reader took the KMS blob as the master key" ||
	ok "reader with env_master_key refuses the KMS blob"

# acra server with vault_master_key
SP=$(free_port)
env -u ACRA_MASTER_KEY "$ACRA" server --keys_dir="$T/vk" --client_id=vaultclient \
	--db_host=127.0.0.1 --db_port="$(free_port)" --incoming_connection_string="tcp://127.0.0.1:$SP" \
	--incoming_connection_api_string="tcp://127.0.0.1:$(free_port)" \
	$VFLAGS >"$T/srv.out" 2>"$T/srv.err" &
SPID=$!
PIDS="$PIDS $SPID"
up=0
i=0
while [ $i -lt 50 ]; do
	if $PY -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$SP" 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$SPID" 2>/dev/null || break
	i=$((i + 1))
	sleep 0.1
done
[ $up -eq 1 ] && ok "server with vault_master_key listens" ||
	{ cp "$T/srv.err" "$T/err"; not_ok "server with vault_master_key does not listen"; }
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
env -u ACRA_MASTER_KEY VAULT_API_TOKEN="$(printf 'test-wrong-token' | base64 -w0)" \
	"$ACRA" server --keys_dir="$T/vk" --client_id=vaultclient --db_host=127.0.0.1 \
	--db_port="$(free_port)" --incoming_connection_string="tcp://127.0.0.1:$(free_port)" \
	$VFLAGS >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 1 ] && grep 'level=error' "$T/err" | grep -qF 'token refused (HTTP 403)' &&
	no_secret_in "$T/out" "$T/err"; then
	ok "server with a wrong Vault token: one clear line, exit 1"
else
	not_ok "server with a wrong Vault token (exit $rc)"
fi

echo "30-master-key-sources: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
