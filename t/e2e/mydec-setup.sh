# t/e2e/mydec-setup.sh: shared set-up of the MySQL decryption tests (sourced after
# t/lib/services.sh and t/lib/assert.sh): MariaDB, keys for clientA and clientB (with poison
# keys), table enc with clientA's AcraStruct (row 1, $PA_S) and AcraBlock (row 2, $PA_B) and
# clientB's (rows 3, 4) in a BLOB and a latin1 TEXT column, row 5 plain; acra server
# --mysql_enable --client_id=clientA on $P. mc PORT ARGS: the mariadb CLI reading latin1.
mysql_start ${MYDEC_MYSQL_ARGS:-}
T=$(svc_dir t)
ACRA=$(acra_bin)
D=$MYSQL_PORT
K=$T/keys
export MYSQL_PWD="$MYSQL_PASSWORD"
# the TEXT column is latin1: read it as latin1 so its bytes arrive as stored
mc() {
	_mp=$1
	shift
	mysql_cli "$_mp" --default-character-set=latin1 "$@"
}

PA_S=mydec-A-struct-plain-5e0c1a
PA_B=mydec-A-block-plain-77b3d0
PB_S=mydec-B-struct-plain-c4e9f2
PB_B=mydec-B-block-plain-08aa6b
PZ=mydec-zone-plain-3c5d9e
svc_secret "$PA_S" "$PA_B" "$PB_S" "$PB_B" "$PZ"
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
for c in clientA clientB; do
	run 0 "$ACRA" keymaker --client_id=$c --keys_output_dir="$K" --keys_public_output_dir="$K" \
		--generate_acrawriter_keys --generate_symmetric_storage_key --generate_poisonrecord_keys
done
ok "keys for clientA and clientB"

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
[ -n "$AS_A" ] && [ -n "$AB_A" ] && [ -n "$AS_B" ] && [ -n "$AB_B" ] || fail "acra writer made envelopes"

mc "$D" -e "CREATE TABLE enc (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT CHARACTER SET latin1);
	INSERT INTO enc VALUES (1, X'$AS_A', X'$AS_A'), (2, X'$AB_A', X'$AB_A'),
		(3, X'$AS_B', X'$AS_B'), (4, X'$AB_B', X'$AB_B'), (5, 'plain value', NULL);"
acra_start --db_host=127.0.0.1 --db_port="$D" --mysql_enable --client_id=clientA \
	--keys_dir="$K" || fail "acra server starts in MySQL mode"
P=$ACRA_PORT
export PA_S PA_B PB_S PB_B
