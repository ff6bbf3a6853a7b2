#!/bin/sh
# contrib/demo.sh [BUILD_DIR]: `make demo`. Starts a throwaway PostgreSQL 15 and `acra server`
# in front of it, shows a few psql commands going through acra, makes keys for two clients,
# stores one AcraStruct for each and reads them back through acra (only the value of the
# client acra serves is decrypted), and prints how to connect.
# On a terminal it then waits for Ctrl-C; otherwise it stops everything and exits at once.
# Everything lives in a temporary directory that is removed on exit.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/.." && pwd)
ACRA_BUILD=$(cd "${1:-$ACRA_TOP/build}" && pwd)
SVC_NAME=demo
export ACRA_BUILD
. "$ACRA_TOP/t/lib/services.sh"

say() { printf '\n== %s\n' "$*"; }
show() { # CMD...: print a psql command line, then run it
	printf '$ psql -h 127.0.0.1 -p %s -U %s %s' "$ACRA_PORT" "$PG_USER" "$PG_DB"
	for _a in "$@"; do
		case $_a in
		*' '*) printf " \"%s\"" "$_a" ;;
		*) printf ' %s' "$_a" ;;
		esac
	done
	printf '\n'
	PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable "$PG_BIN/psql" -X -P pager=off -h 127.0.0.1 -p "$ACRA_PORT" \
		-U "$PG_USER" -d "$PG_DB" "$@"
}

say "Starting a throwaway PostgreSQL 15"
pg_start
echo "PostgreSQL listens on 127.0.0.1:$PG_PORT (data in $PG_DIR)"

say "Making a master key and keys for two clients, demo_alice and demo_bob"
KEYS=$SVC_ROOT/keys
run() { echo "\$ $*" | sed "s|$ACRA_BUILD/||g; s|$SVC_ROOT/||g" >&2; "$@"; }
run "$ACRA_BUILD/acra" keymaker --generate_master_key="$SVC_ROOT/master.key"
ACRA_MASTER_KEY=$(base64 -w0 "$SVC_ROOT/master.key")
export ACRA_MASTER_KEY
echo "\$ export ACRA_MASTER_KEY=\$(base64 -w0 master.key)"
for c in demo_alice demo_bob; do
	run "$ACRA_BUILD/acra" keymaker --client_id=$c --keys_output_dir="$KEYS" \
		--keys_public_output_dir="$KEYS" --generate_acrawriter_keys
done
ls -l "$KEYS" | sed 's/^/  /'

say "Starting acra server in front of it, decrypting for client demo_alice"
echo "\$ $ACRA_BUILD/acra server --db_host=127.0.0.1 --db_port=$PG_PORT --keys_dir=keys" \
	"--client_id=demo_alice --incoming_connection_string=tcp://127.0.0.1:<free port>/ -v"
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" --keys_dir="$KEYS" --client_id=demo_alice -v ||
	svc_die "acra server did not start"
echo "acra server (PID $ACRA_PID) listens on 127.0.0.1:$ACRA_PORT; its log: $ACRA_LOG"

say "Talking to PostgreSQL through acra (port $ACRA_PORT, not $PG_PORT)"
show -c "SELECT current_user, inet_server_port() AS database_port, version()"
show -c "CREATE TABLE demo (id serial PRIMARY KEY, note text)"
show -c "INSERT INTO demo (note) VALUES ('hello through acra'), ('second row')"
show -c "SELECT * FROM demo ORDER BY id"

say "Encrypting on the application side: one AcraStruct for each client"
printf 'alice: card 4111-1111-1111-1111' | run "$ACRA_BUILD/acra" writer --keys_dir="$KEYS" \
	--client_id=demo_alice >"$SVC_ROOT/alice.bin"
printf 'bob: card 5500-0000-0000-0004' | run "$ACRA_BUILD/acra" writer --keys_dir="$KEYS" \
	--client_id=demo_bob >"$SVC_ROOT/bob.bin"
alice_hex=$(od -An -v -tx1 "$SVC_ROOT/alice.bin" | tr -d ' \n')
bob_hex=$(od -An -v -tx1 "$SVC_ROOT/bob.bin" | tr -d ' \n')
show -c "CREATE TABLE secrets (owner text, value bytea)"
echo "(the ciphertexts are stored straight into PostgreSQL, port $PG_PORT, bypassing acra)"
PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
	-c "INSERT INTO secrets VALUES ('alice', '\\x$alice_hex'), ('bob', '\\x$bob_hex')"

say "What the database holds (read directly from PostgreSQL)"
PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -X -P pager=off -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" \
	-d "$PG_DB" -c "SELECT owner, length(value) AS bytes, substr(encode(value, 'hex'), 1, 40) AS starts_with FROM secrets"

say "The same rows through acra server (client demo_alice): alice's value is decrypted, bob's is not"
show -c "SELECT owner, length(value) AS stored_bytes, value FROM secrets ORDER BY owner"
echo "Decoding the bytea values psql printed above (alice's is plaintext, bob's is still an AcraStruct):"
for o in alice bob; do
	v=$(PGPASSWORD=$PG_PASSWORD PGSSLMODE=disable "$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$ACRA_PORT" \
		-U "$PG_USER" -d "$PG_DB" -c "SELECT value FROM secrets WHERE owner = '$o'")
	printf '  %s: ' "$o"
	printf '%s' "$v" | $SVC_PY -c 'import sys; b = bytes.fromhex(sys.stdin.read()[2:]); print(b.decode() if b[:1] != b"\x22" else "%d bytes starting with %s (not decrypted: not demo_alice\x27s key)" % (len(b), b[:8]))'
done

say "acra server log so far"
sed 's/^/  /' "$ACRA_LOG"

say "Connect yourself"
echo "  PGPASSWORD=$PG_PASSWORD psql \"host=127.0.0.1 port=$ACRA_PORT user=$PG_USER dbname=$PG_DB sslmode=disable\""
echo "The password was generated for this demo; the database is deleted when the demo ends."
if [ -t 0 ] && [ -t 1 ]; then
	echo
	echo "Press Ctrl-C to stop acra server and PostgreSQL and remove their files."
	while acra_alive; do sleep 1; done
	echo "acra server exited; its log:"
	cat "$ACRA_LOG"
	exit 1
fi
echo
echo "Not on a terminal: stopping acra server and PostgreSQL now."
