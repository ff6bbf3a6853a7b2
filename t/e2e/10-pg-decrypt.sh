#!/bin/sh
# 10-pg-decrypt.sh: acra server in front of a real PostgreSQL 15 decrypts AcraStructs and
# AcraBlocks in results for the right client. Keys for two clients (acra keymaker), values
# encrypted with acra writer and inserted straight into PostgreSQL; then, through
# `acra server --client_id=clientA`: clientA's values come back as plaintext (bytea hex and
# escape output, text columns, binary format), clientB's unchanged; inline mode; zone mode
# with /getNewZone; drivers; COPY TO; protocol edge cases; poison records.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql od base64
pg_start
T=$(svc_dir t)
ACRA=$(acra_bin)
D=$PG_PORT
K=$T/keys

PA_S=pgdec-A-struct-plain-7d1e0c
PA_B=pgdec-A-block-plain-91c2aa
PB_S=pgdec-B-struct-plain-3a4f19
PB_B=pgdec-B-block-plain-c0ffee
PI=pgdec-inline-plain-5be210
PZ=pgdec-zone-plain-e4a1d7
svc_secret "$PA_S" "$PA_B" "$PB_S" "$PB_B" "$PI" "$PZ"

ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
for c in clientA clientB; do
	run 0 "$ACRA" keymaker --client_id=$c --keys_output_dir="$K" --keys_public_output_dir="$K" \
		--generate_acrawriter_keys --generate_symmetric_storage_key --generate_poisonrecord_keys
done
ok "keys for clientA and clientB"

hexof() { printf %s "$1" | od -An -v -tx1 | tr -d ' \n'; }
# enc CLIENT PLAINTEXT [writer flags]: hex of the envelope made by acra writer
enc() {
	_c=$1
	_p=$2
	shift 2
	printf %s "$_p" | "$ACRA" writer --keys_dir="$K" --client_id="$_c" "$@" | od -An -v -tx1 | tr -d ' \n'
}
AS_A=$(enc clientA "$PA_S")
AB_A=$(enc clientA "$PA_B" --acrablock)
AS_B=$(enc clientB "$PB_S")
AB_B=$(enc clientB "$PB_B" --acrablock)
AS_I=$(enc clientA "$PI")
[ -n "$AS_A" ] && [ -n "$AB_A" ] && [ -n "$AS_B" ] && [ -n "$AB_B" ] || fail "acra writer made envelopes"

pg_psql "$D" -c "CREATE TABLE enc (id int PRIMARY KEY, b bytea, t text)"
pg_psql "$D" -c "INSERT INTO enc VALUES
	(1, decode('$AS_A', 'hex'), '\\x$AS_A'),
	(2, decode('$AB_A', 'hex'), '\\x$AB_A'),
	(3, decode('$AS_B', 'hex'), '\\x$AS_B'),
	(4, decode('$AB_B', 'hex'), '\\x$AB_B'),
	(5, 'plain value', 'plain text'),
	(6, 'prefix ' || decode('$AS_I', 'hex') || ' suffix', NULL)"
ok "envelopes inserted directly into PostgreSQL"

MPORT=$(svc_freeport)
acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" -d \
	--incoming_connection_prometheus_metrics_string="tcp://127.0.0.1:$MPORT/" ||
	fail "acra server starts with the keystore"
P=$ACRA_PORT

# --- psql, text format, hex bytea output (PostgreSQL's default) ---
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 1')" "\\x$(hexof "$PA_S")" \
	"clientA's AcraStruct in bytea (hex) decrypts"
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 2')" "\\x$(hexof "$PA_B")" \
	"clientA's AcraBlock in bytea (hex) decrypts"
assert_eq "$(pg_psql "$P" -c 'SELECT t FROM enc WHERE id = 1')" "\\x$(hexof "$PA_S")" \
	"clientA's AcraStruct as \\x text decrypts"
assert_eq "$(pg_psql "$P" -c 'SELECT t FROM enc WHERE id = 2')" "\\x$(hexof "$PA_B")" \
	"clientA's AcraBlock as \\x text decrypts"
for id in 3 4 5 6; do
	assert_eq "$(pg_psql "$P" -c "SELECT b, t FROM enc WHERE id = $id")" \
		"$(pg_psql "$D" -c "SELECT b, t FROM enc WHERE id = $id")" \
		"row $id (clientB's or no envelope; inline off) comes back unchanged"
done
pg_psql "$P" -c 'SELECT id, b, t FROM enc ORDER BY id' >"$T/all.via"
assert_eq "$(sed -n 1p "$T/all.via")" "1|\\x$(hexof "$PA_S")|\\x$(hexof "$PA_S")" \
	"several rows and columns in one result"

# --- escape bytea output ---
assert_eq "$(pg_psql "$P" -c "SET bytea_output = escape" -c 'SELECT b FROM enc WHERE id = 1')" \
	"$PA_S" "AcraStruct in bytea (escape output) decrypts"
assert_eq "$(pg_psql "$P" -c "SET bytea_output = escape" -c 'SELECT b FROM enc WHERE id = 2')" \
	"$PA_B" "AcraBlock in bytea (escape output) decrypts"
assert_eq "$(pg_psql "$P" -c "SET bytea_output = escape" -c 'SELECT b FROM enc WHERE id = 3')" \
	"$(pg_psql "$D" -c "SET bytea_output = escape" -c 'SELECT b FROM enc WHERE id = 3')" \
	"clientB's AcraStruct (escape output) unchanged"

# --- drivers and protocol features ---
export PA_S PA_B
case $ACRA in *asan*) PGDEC_SANITIZED=1 && export PGDEC_SANITIZED ;; esac
for chk in psycopg2 psycopg3 asyncpg copy notify cancel txn big concurrent malformed; do
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_decrypt.py" $chk 127.0.0.1 "$P" "$D" "$PG_USER" \
		"$PG_PASSWORD" "$PG_DB" "$ACRA_PID"
	sed 's/^/  /' "$OUT"
	ok "driver check $chk"
done

# --- metrics ---
http_get "http://127.0.0.1:$MPORT/metrics" >"$T/metrics"
metric() { sed -n "s/^$1 \([0-9.e+]*\)$/\1/p" "$T/metrics"; }
n=$(metric 'acra_decryptions_total{status="success",type="acrastruct"}')
[ -n "$n" ] && [ "${n%.*}" -gt 5000 ] || fail "acra_decryptions_total acrastruct success counts ($n)"
ok "acra_decryptions_total{status=success,type=acrastruct} = $n"
n=$(metric 'acra_decryptions_total{status="success",type="acrablock"}')
[ -n "$n" ] && [ "${n%.*}" -ge 100000 ] || fail "acra_decryptions_total acrablock success ($n)"
ok "acra_decryptions_total{status=success,type=acrablock} = $n"
n=$(metric 'acra_decryptions_total{status="fail",type="acrastruct"}')
[ -n "$n" ] && [ "${n%.*}" -ge 1 ] || fail "failed AcraStruct decryptions counted ($n)"
ok "clientB's AcraStructs counted as failed decryptions ($n)"
n=$(metric 'acra_acrastruct_decryptions_total{status="success"}')
[ -n "$n" ] && [ "${n%.*}" -gt 5000 ] || fail "acra_acrastruct_decryptions_total ($n)"
ok "acra_acrastruct_decryptions_total{status=success} = $n"
assert_grep "$T/metrics" '^acraserver_response_processing_seconds_count{db="postgresql",mode="wholecell"} [1-9]' \
	"response processing histogram counts rewritten rows"

# SIGHUP drops cached keys; decryption goes on with keys read again.
kill -HUP "$ACRA_PID"
sleep 1
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 2')" "\\x$(hexof "$PA_B")" \
	"decryption works after SIGHUP (key cache cleared)"
assert_grep "$ACRA_LOG" 'Key cache cleared' "SIGHUP clears the key cache"
acra_stop
assert_eq "$ACRA_RC" 0 "acra server exits 0 on SIGTERM"

# --- a fixed text form: --pgsql_escape_bytea reads text values as escape output only ---
acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" \
	--pgsql_escape_bytea || fail "acra server starts (escape bytea)"
P=$ACRA_PORT
assert_eq "$(pg_psql "$P" -c "SET bytea_output = escape" -c 'SELECT b FROM enc WHERE id = 1')" \
	"$PA_S" "--pgsql_escape_bytea: escape output decrypted"
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 1')" \
	"$(pg_psql "$D" -c 'SELECT b FROM enc WHERE id = 1')" "--pgsql_escape_bytea: hex output left alone"
acra_stop

# --- inline (injected cell) mode ---
acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" \
	--acrastruct_injectedcell_enable --acrastruct_wholecell_enable || fail "acra server starts (inline)"
P=$ACRA_PORT
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 6')" \
	"\\x$(hexof "prefix $PI suffix")" "inline: AcraStruct inside a longer value decrypted in place"
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 1')" "\\x$(hexof "$PA_S")" \
	"inline: whole-cell AcraStruct decrypted too"
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 3')" \
	"$(pg_psql "$D" -c 'SELECT b FROM enc WHERE id = 3')" "inline: clientB's value unchanged"
acra_stop

# --- zone mode: /getNewZone, zone id in a preceding column ---
APORT=$(svc_freeport)
acra_start --db_host=127.0.0.1 --db_port="$D" --keys_dir="$K" --zonemode_enable -d \
	--http_api_enable --incoming_connection_api_string="tcp://127.0.0.1:$APORT/" ||
	fail "acra server starts (zone mode)"
P=$ACRA_PORT
http_get "http://127.0.0.1:$APORT/getNewZone" >"$T/zone"
assert_eq "$(head -n 1 "$T/zone")" 200 "/getNewZone answers 200"
tail -n +2 "$T/zone" >"$T/zone.json"
ZID=$($SVC_PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert sorted(d)==["id","public_key"]; print(d["id"])' "$T/zone.json") ||
	fail "/getNewZone returns Acra's JSON {id, public_key}"
ok "/getNewZone made zone $ZID"
[ -f "$K/${ZID}_zone" ] && [ -f "$K/${ZID}_zone.pub" ] || fail "zone keys written to the keystore"
ok "zone key files are in the keystore"
ZS=$(printf %s "$PZ" | "$ACRA" writer --keys_dir="$K" --zone_id="$ZID" | od -An -v -tx1 | tr -d ' \n')
[ -n "$ZS" ] || fail "acra writer makes a zone AcraStruct with the new zone's key"
pg_psql "$D" -c "INSERT INTO enc VALUES (10, decode('$ZS', 'hex'), NULL)"
ZB=$(printf %s "$PZ" | "$ACRA" writer --keys_dir="$K" --zone_id="$ZID" --acrablock | od -An -v -tx1 | tr -d ' \n')
[ -n "$ZB" ] || fail "acra writer makes a zone AcraBlock with the new zone's symmetric key"
pg_psql "$D" -c "INSERT INTO enc VALUES (11, decode('$ZB', 'hex'), NULL)"
assert_eq "$(pg_psql "$P" -c "SELECT '$ZID', b FROM enc WHERE id = 11")" \
	"$ZID|\\x$(hexof "$PZ")" "zone mode: a zone AcraBlock after the zone id is decrypted"
assert_eq "$(pg_psql "$P" -c "SELECT '$ZID', b FROM enc WHERE id = 10")" \
	"$ZID|\\x$(hexof "$PZ")" "zone mode: the column after the zone id is decrypted"
assert_eq "$(pg_psql "$P" -c "SELECT b FROM enc WHERE id = 10")" \
	"$(pg_psql "$D" -c "SELECT b FROM enc WHERE id = 10")" "zone mode: without the zone id nothing is decrypted"
assert_eq "$(pg_psql "$P" -c "SELECT 'DDDDDDDDaaaaaaaaaaaaaaaa', b FROM enc WHERE id = 10")" \
	"$(pg_psql "$D" -c "SELECT 'DDDDDDDDaaaaaaaaaaaaaaaa', b FROM enc WHERE id = 10")" \
	"zone mode: an unknown zone id decrypts nothing"
http_get "http://127.0.0.1:$APORT/resetKeyStorage" >"$T/reset"
assert_eq "$(cat "$T/reset")" 200 "/resetKeyStorage answers 200 with an empty body"
assert_eq "$(pg_psql "$P" -c "SELECT '$ZID', b FROM enc WHERE id = 10")" \
	"$ZID|\\x$(hexof "$PZ")" "zone mode works after /resetKeyStorage"
acra_stop

# --- poison records ---
run 0 "$ACRA" poisonrecordmaker --keys_dir="$K"
POISON=$(cat "$OUT")
printf %s "$POISON" | grep -Eq '^[A-Za-z0-9+/]+=*$' || fail "poisonrecordmaker prints base64"
ok "acra poisonrecordmaker prints a base64 record"
pg_psql "$D" -c "INSERT INTO enc VALUES (20, decode('$POISON', 'base64'), NULL)"
run 0 "$ACRA" poisonrecordmaker --keys_dir="$K" --type=acrablock --data_length=42
POISON_B=$(cat "$OUT")
[ "$(printf %s "$POISON_B" | base64 -d | wc -c)" -eq $((42 + 138)) ] ||
	fail "poisonrecordmaker --type=acrablock --data_length=42 makes a 180-byte AcraBlock"
ok "acra poisonrecordmaker --type=acrablock --data_length=42"
pg_psql "$D" -c "INSERT INTO enc VALUES (21, decode('$POISON_B', 'base64'), NULL)"
cat >"$T/poison.sh" <<SH
#!/bin/sh
touch "$T/poison.marker"
SH
chmod 755 "$T/poison.sh"
acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" \
	--poison_detect_enable --poison_run_script_file="$T/poison.sh" || fail "acra server starts (poison detection)"
P=$ACRA_PORT
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 1')" "\\x$(hexof "$PA_S")" \
	"poison detection on: ordinary values still decrypt"
[ ! -e "$T/poison.marker" ] || fail "no poison script run without a poison record"
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 20')" \
	"$(pg_psql "$D" -c 'SELECT b FROM enc WHERE id = 20')" "poison record returned as stored (no shutdown)"
i=0
while [ ! -e "$T/poison.marker" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$T/poison.marker" ] || fail "poison script ran (marker file)"
ok "poison record ran the script (marker file appeared)"
assert_grep "$ACRA_LOG" 'Recognized poison record.*code=101' "poison event logged with code 101"
assert_eq "$(pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 21')" \
	"$(pg_psql "$D" -c 'SELECT b FROM enc WHERE id = 21')" "AcraBlock poison record returned as stored"
assert_eq "$(grep -c 'Recognized poison record' "$ACRA_LOG")" 2 "AcraBlock poison record recognized too"
acra_alive || fail "server keeps running without poison_shutdown_enable"
ok "server keeps running without poison_shutdown_enable"
acra_stop

rm -f "$T/poison.marker"
acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" \
	--poison_detect_enable --poison_shutdown_enable --poison_run_script_file="$T/poison.sh" ||
	fail "acra server starts (poison shutdown)"
P=$ACRA_PORT
run nonzero pg_psql "$P" -c 'SELECT b FROM enc WHERE id = 20'
assert_grep "$ERR" 'poison record' "client gets an error for the poison record"
i=0
while acra_alive && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
acra_alive && fail "server exits after a poison record with poison_shutdown_enable"
acra_stop
[ "$ACRA_RC" -ne 0 ] || fail "server exit status is non-zero after poison shutdown"
ok "server exited with status $ACRA_RC after the poison record"
# the script is started (detached) before the shutdown; give it time to write its marker
i=0
while [ ! -e "$T/poison.marker" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$T/poison.marker" ] || fail "poison script was started before the shutdown"
ok "poison script was started before the shutdown"

# --- the database is down: clients get an ErrorResponse (08006) ---
DOWN=$(svc_freeport)
acra_start --db_host=127.0.0.1 --db_port="$DOWN" --client_id=clientA --keys_dir="$K" ||
	fail "acra server starts with the database down"
run nonzero pg_psql "$ACRA_PORT" -c 'SELECT 1'
assert_grep "$ERR" 'cannot connect to the database' "database down: client gets an ErrorResponse"
acra_stop
