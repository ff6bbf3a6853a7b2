#!/bin/sh
# 25-redis-keys.sh: keystore v1 in Redis, as Acra keeps it: acra keymaker writes the same
# key names as on the filesystem (Redis key = <keys_dir>/<file>, value = base64 of the file,
# rotation history as <file>.old/<time>) into the --redis_db_keys database with AUTH; acra
# writer / acra reader work from Redis; a wrong password, a server that is down and
# --redis_tls_enable are clear errors with exit 1; acra server decrypts an AcraStruct from
# PostgreSQL with keys from Redis; and a long-running keystore
# (build/keystore-tool, cache off, also shared by 4 threads) fails only while Redis is down, never waits longer than
# its timeout, and recovers by itself after a restart. Throwaway redis-server (t/lib).
# Run alone: ACRA_BUILD=$PWD/build sh t/e2e/25-redis-keys.sh. Exit 0 pass, 1 fail, 77 skip.
set -u
ACRA_TOP=${ACRA_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ACRA_BUILD=${ACRA_BUILD:-$ACRA_TOP/build}
ACRA=$ACRA_BUILD/acra
TOOL=$ACRA_BUILD/keystore-tool
[ -x "$ACRA" ] && [ -x "$TOOL" ] || { echo "SKIP: no $ACRA or $TOOL (run make)"; exit 77; }
SVC_NAME=25-redis-keys
. "$ACRA_TOP/t/lib/services.sh"
redis_start

PW=redis-pw-$(svc_randhex 8)
svc_secret "$PW"
DB=3
RCLI() { redis-cli -p "$REDIS_PORT" -a "$PW" --no-auth-warning -n "$DB" "$@"; }
redis-cli -p "$REDIS_PORT" CONFIG SET requirepass "$PW" >/dev/null
R="--redis_host_port=127.0.0.1:$REDIS_PORT --redis_password=$PW --redis_db_keys=$DB"

T=$SVC_ROOT/work
mkdir -p "$T/fs" "$T/rd" && cd "$T" || exit 1
failures=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; failures=$((failures + 1)); }
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
# run EXPECTED_STATUS CMD...: stdin from $IN (default /dev/null), stdout to out, stderr to err
run() {
	want=$1
	shift
	"$@" <"${IN:-/dev/null}" >out 2>err
	got=$?
	[ "$got" -eq "$want" ] || { echo "  status $got, expected $want: $*"; sed 's/^/  stderr: /' err; return 1; }
}
has() { grep -q -e "$1" "${2:-err}" || { sed 's/^/  stderr: /' "${2:-err}"; return 1; }; }
hasnt() { ! grep -q -e "$1" "${2:-err}"; }

"$ACRA" keymaker --generate_master_key=master.key 2>/dev/null
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY

# --- keymaker: same names and sizes as the filesystem layout ------------------------------
GEN="--client_id=client1 --generate_acrawriter_keys --generate_symmetric_storage_key --generate_hmac_key --generate_log_key --generate_poisonrecord_keys"
# shellcheck disable=SC2086
check "keymaker writes to the filesystem" sh -c "cd fs && '$ACRA' keymaker $GEN --keys_output_dir=keys --keys_public_output_dir=keys >/dev/null 2>&1 && '$ACRA' keymaker --client_id=client1 --generate_acrawriter_keys --keys_output_dir=keys --keys_public_output_dir=keys >/dev/null 2>&1"
# shellcheck disable=SC2086
check "keymaker writes to Redis" run 0 "$ACRA" keymaker $GEN --keys_output_dir=keys --keys_public_output_dir=keys $R
# shellcheck disable=SC2086
check "keymaker rotates in Redis" run 0 "$ACRA" keymaker --client_id=client1 --generate_acrawriter_keys --keys_output_dir=keys --keys_public_output_dir=keys $R
check "nothing was written to the local filesystem by the Redis run" [ ! -e keys ]
check "nothing was written to Redis DB 0" [ "$(redis-cli -p "$REDIS_PORT" -a "$PW" --no-auth-warning -n 0 DBSIZE)" = 0 ]

# names: history entries compared without their timestamps
(cd fs && find keys -type f | sed 's#\.old/.*#.old/TIME#' | sort) >names.fs
RCLI --scan --pattern 'keys/*' | sed 's#\.old/.*#.old/TIME#' | sort >names.rd
check "Redis key names equal the filesystem paths ($(wc -l <names.fs) files)" cmp -s names.fs names.rd
[ -s names.fs ] || bad "the filesystem layout is empty"
grep -q '^keys/client1_storage.old/TIME$' names.rd || bad "rotated storage key kept as keys/client1_storage.old/<time>"
RCLI --scan --pattern 'keys/client1_storage.old/*' | grep -Eq '^keys/client1_storage\.old/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?$' &&
	ok "history name is <file>.old/<UTC time>" || bad "history name is <file>.old/<UTC time>"
sizes_ok=1
for k in $(RCLI --scan --pattern 'keys/*'); do
	f=fs/$(printf '%s' "$k" | sed 's#\.old/.*##')
	[ -f "$f" ] || f=$(ls -d "fs/$(printf '%s' "$k" | sed 's#\.old/.*#.old#')"/* | head -1)
	rlen=$(RCLI GET "$k" | base64 -d | wc -c | tr -d ' ')
	flen=$(wc -c <"$f" | tr -d ' ')
	[ "$rlen" = "$flen" ] || { echo "  $k: $rlen bytes in Redis, $flen on disk"; sizes_ok=0; }
done
check "every Redis value is base64 of a file of the filesystem size" [ "$sizes_ok" = 1 ]
check "public key in Redis is a UEC2 container" [ "$(RCLI GET keys/client1_storage.pub | base64 -d | head -c 4)" = UEC2 ]

# --- writer / reader from Redis --------------------------------------------------------------
printf 'secret row 1' >plain
# shellcheck disable=SC2086
IN=plain check "writer makes an AcraStruct with the key from Redis" run 0 "$ACRA" writer --keys_dir=keys --client_id=client1 $R
cp out as
# shellcheck disable=SC2086
IN=as check "reader decrypts it with the private key from Redis" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1 $R
check "AcraStruct round trip gives the plaintext" cmp -s out plain
# shellcheck disable=SC2086
IN=plain check "writer makes an AcraBlock with the symmetric key from Redis" run 0 "$ACRA" writer --keys_dir=keys --client_id=client1 --acrablock $R
cp out ab
# shellcheck disable=SC2086
IN=ab check "reader decrypts the AcraBlock from Redis" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1 $R
check "AcraBlock round trip gives the plaintext" cmp -s out plain
IN=as check "the filesystem keystore does not hold these keys" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1

# --- acra server decrypts with keys from Redis (PostgreSQL) -----------------------------------
if [ -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/postgres" ]; then
	pg_start
	hex() { od -An -v -tx1 <"$1" | tr -d ' \n'; }
	pg_psql "$PG_PORT" -c "CREATE TABLE enc (id int PRIMARY KEY, b bytea)" &&
		pg_psql "$PG_PORT" -c "INSERT INTO enc VALUES (1, decode('$(hex as)', 'hex'))" ||
		bad "AcraStruct inserted into PostgreSQL"
	# shellcheck disable=SC2086
	if acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --client_id=client1 --keys_dir=keys $R; then
		ok "acra server starts with --redis_host_port and --redis_db_keys=$DB"
		check "acra server loaded the keys into its cache at start" \
			grep -q 'keys loaded into the cache' "$ACRA_LOG"
		# Redis frozen before the first query: the keys loaded at start decrypt at once
		kill -STOP "$REDIS_PID"
		t0=$(date +%s%N)
		got=$(pg_psql "$ACRA_PORT" -c 'SELECT b FROM enc WHERE id = 1' 2>&1 || true)
		t1=$(date +%s%N)
		kill -CONT "$REDIS_PID"
		check "with Redis frozen, the first query decrypts from the cache in under 1 s" \
			[ "$got" = "\\x$(hex plain)" ] && [ $(((t1 - t0) / 1000000)) -lt 1000 ]
		check "acra server decrypts the AcraStruct with the private key from Redis" \
			[ "$(pg_psql "$ACRA_PORT" -c 'SELECT b FROM enc WHERE id = 1')" = "\\x$(hex plain)" ]
		acra_stop
		# the same without loading at start: the first query needs Redis
		# shellcheck disable=SC2086
		acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --client_id=client1 --keys_dir=keys $R \
			--keystore_cache_on_start_enable=false || bad "server starts without the preload"
		kill -STOP "$REDIS_PID"
		got=$(pg_psql "$ACRA_PORT" -c 'SELECT b FROM enc WHERE id = 1' 2>&1 || true)
		kill -CONT "$REDIS_PID"
		check "without keystore_cache_on_start_enable a frozen Redis leaves the value encrypted" \
			[ "$got" != "\\x$(hex plain)" ]
		acra_stop
	else
		bad "acra server starts with --redis_host_port and --redis_db_keys=$DB"
	fi
	check "the server's keys were not on the filesystem" [ ! -e keys ]
fi

# --- one keystore shared by threads, cache off: every decryption reads Redis -----------------
# shellcheck disable=SC2086
check "4 threads decrypt 200 AcraStructs each with keys read from Redis" run 0 "$TOOL" bench --keys_dir=keys --client_id=client1 --cache_size=-1 --iterations=200 --threads=4 $R
check "every one of the 800 decryptions read the key (cache off)" [ "$(cut -d' ' -f2 out)" -ge 800 ]

# --- errors ----------------------------------------------------------------------------------
IN=as check "wrong Redis password: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1 --redis_host_port=127.0.0.1:$REDIS_PORT --redis_password=wrong-pw-xyz --redis_db_keys=$DB
check "wrong password: the error says AUTH was refused" has "AUTH refused"
check "wrong password: the password is not echoed" hasnt "wrong-pw-xyz"
check "wrong password: one line on stderr" [ "$(wc -l <err)" -eq 1 ]
DOWN=$(svc_freeport)
IN=as check "Redis down at start: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1 --redis_host_port=127.0.0.1:$DOWN
check "Redis down at start: the error names the address" has "cannot use Redis at 127.0.0.1:$DOWN"
check "keymaker with Redis down: exit 1" run 1 "$ACRA" keymaker --client_id=client1 --redis_host_port=127.0.0.1:$DOWN
IN=as check "redis_tls_enable against a plain Redis: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1 $R --redis_tls_enable
check "redis_tls_enable against a plain Redis: the error says why" has "Redis TLS: TLS handshake with 127.0.0.1:.* failed: the server did not answer with TLS"
check "malformed redis_host_port: exit 1" run 1 "$ACRA" keymaker --redis_host_port=nohostport
check "malformed redis_host_port: named" has "redis_host_port"
# shellcheck disable=SC2086
IN=as check "unknown client id: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client2 $R
check "unknown client id: the Redis key is named" has "keys/client2_storage"

# --- restart while a keystore is in use ------------------------------------------------------
RCLI SAVE >/dev/null
# shellcheck disable=SC2086
"$TOOL" loop --keys_dir=keys --client_id=client1 --cache_size=-1 --timeout_ms=1000 \
	--iterations=40 --pause_ms=100 $R >loop.out 2>loop.err &
TPID=$!
sleep 1
redis_stop
sleep 0.3
IN=as run 1 "$ACRA" reader --keys_dir=keys --client_id=client1 $R
check "reader while Redis is down: exit 1 naming Redis" has "cannot use Redis at 127.0.0.1:$REDIS_PORT"
sleep 1
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --requirepass "$PW" --save '' \
	--appendonly no --daemonize no --logfile "$REDIS_DIR/redis2.log" >/dev/null 2>&1 &
REDIS_PID=$!
svc_register "$REDIS_PID"
i=0
while [ "$(redis-cli -p "$REDIS_PORT" -a "$PW" --no-auth-warning ping 2>/dev/null)" != PONG ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
# shellcheck disable=SC2086
IN=as check "reader after the restart decrypts again" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1 $R
wait "$TPID"
check "keystore-tool ran all 40 iterations" [ "$(wc -l <loop.out)" -eq 40 ]
check "iterations before the stop succeeded" [ "$(head -3 loop.out | grep -c ' ok ')" -eq 3 ]
check "iterations while Redis was down failed" grep -q ' error .*Redis at 127.0.0.1:'"$REDIS_PORT"' is unavailable' loop.out
check "the last iterations succeeded again (recovered)" [ "$(tail -5 loop.out | grep -c ' ok ')" -eq 5 ]
# errors form one run: ok... error... ok...
check "errors only while Redis was down" [ "$(awk '{print $2}' loop.out | uniq | tr '\n' ' ')" = "ok error ok " ]
check "no iteration waited longer than the 1 s timeout" [ "$(awk '$3 > 1200' loop.out | wc -l)" -eq 0 ]

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed"
exit 0
