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

acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" -d \
	--incoming_connection_prometheus_metrics_string="tcp://127.0.0.1:$(svc_freeport)/" ||
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
for chk in psycopg2 psycopg3 asyncpg copy notify cancel txn big concurrent malformed; do
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_decrypt.py" $chk 127.0.0.1 "$P" "$D" "$PG_USER" \
		"$PG_PASSWORD" "$PG_DB" "$ACRA_PID"
	sed 's/^/  /' "$OUT"
	ok "driver check $chk"
done
