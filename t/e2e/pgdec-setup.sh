# t/e2e/pgdec-setup.sh: shared set-up of the PostgreSQL decryption tests (sourced after
# t/lib/services.sh and t/lib/assert.sh): a database, keys for clientA and clientB, table
# enc with clientA's AcraStruct (row 1, $PA_S) and AcraBlock (row 2, $PA_B) and clientB's
# AcraStruct (row 3, hex in $B_HEX), and acra server --client_id=clientA on $P.
pg_start
T=$(svc_dir t)
ACRA=$(acra_bin)
D=$PG_PORT
K=$T/keys
PA_S=pgdec-A-struct-plain-7d1e0c
PA_B=pgdec-A-block-plain-91c2aa
PB_S=pgdec-B-struct-plain-3a4f19
svc_secret "$PA_S" "$PA_B" "$PB_S"
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
for c in clientA clientB; do
	run 0 "$ACRA" keymaker --client_id=$c --keys_output_dir="$K" --keys_public_output_dir="$K" \
		--generate_acrawriter_keys --generate_symmetric_storage_key
done
pgdec_enc() {
	_c=$1
	_p=$2
	shift 2
	printf %s "$_p" | "$ACRA" writer --keys_dir="$K" --client_id="$_c" "$@" | od -An -v -tx1 | tr -d ' \n'
}
A_HEX=$(pgdec_enc clientA "$PA_S")
AB_HEX=$(pgdec_enc clientA "$PA_B" --acrablock)
B_HEX=$(pgdec_enc clientB "$PB_S")
pg_psql "$D" -c "CREATE TABLE enc (id int PRIMARY KEY, b bytea, t text)"
pg_psql "$D" -c "INSERT INTO enc VALUES (1, decode('$A_HEX', 'hex'), NULL),
	(2, decode('$AB_HEX', 'hex'), NULL), (3, decode('$B_HEX', 'hex'), NULL)"
acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" ||
	fail "acra server starts"
P=$ACRA_PORT
export PA_S PA_B B_HEX
