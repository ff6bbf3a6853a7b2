#!/bin/sh
# 22-rotate.sh: acra rotate against real PostgreSQL and MariaDB: keys rotated once (the old
# version kept as history, so un-rotated copies still decrypt), every selected AcraStruct and
# AcraBlock re-encrypted with the new key (new ciphertext, same plaintext through acra
# server), Acra's JSON output; --dry-run changes nothing; killed with SIGKILL at several
# points and run again, it finishes with every row readable and exactly one new key version;
# SIGTERM stops it cleanly; bad input (SQL error, unreachable database, wrong master key, a
# row that is not an envelope) gives a clear error and loses nothing.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql od base64 sha256sum
pg_start
T=$(svc_dir t)
ACRA=$(acra_bin)
cd "$T"
D=$PG_PORT
K=$T/keys
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
run 0 "$ACRA" keymaker --client_id=clientA --keys_output_dir="$K" --keys_public_output_dir="$K" \
	--generate_acrawriter_keys --generate_symmetric_storage_key
GROUPS=40
PER=25
hexenc() { printf %s "$1" | "$ACRA" writer --keys_dir="$K" --client_id=clientA $2 | od -An -v -tx1 | tr -d ' \n'; }
: >"$T/ins.sql"
g=0
while [ $g -lt $GROUPS ]; do
	flag=
	[ $((g % 2)) -eq 1 ] && flag=--acrablock
	h=$(hexenc "rotate-plain-$g" "$flag")
	echo "INSERT INTO t SELECT $g * $PER + s, 'clientA', decode('$h', 'hex') FROM generate_series(0, $PER - 1) s;" >>"$T/ins.sql"
	g=$((g + 1))
done
pg_psql "$D" -c "CREATE TABLE t (id int PRIMARY KEY, cid text, data bytea)" >/dev/null
pg_psql "$D" -f "$T/ins.sql" >/dev/null
pg_psql "$D" -c "CREATE TABLE keep AS SELECT * FROM t WHERE id < 2" >/dev/null
N=$((GROUPS * PER))
ok "$N rows of AcraStructs and AcraBlocks for clientA"

DSN="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$D/$PG_DB?sslmode=disable"
svc_secret "$PG_PASSWORD"
SEL='SELECT id, cid, data FROM t ORDER BY id'
UPD='UPDATE t SET data=$1 WHERE id=$2'
rot() { "$ACRA" rotate --keys_dir="$K" --db_connection_string="$DSN" --postgresql_enable \
	--zonemode_enable=false --sql_select="$SEL" --sql_update="$UPD" "$@"; }
# in the background: exec, so that $! is acra rotate itself (signals must reach it)
rotbg() { exec "$ACRA" rotate --keys_dir="$K" --db_connection_string="$DSN" --postgresql_enable \
	--zonemode_enable=false --sql_select="$SEL" --sql_update="$UPD"; }
table_sum() { pg_psql "$D" -c "SELECT md5(string_agg(encode(data, 'hex'), ',' ORDER BY id)) FROM t"; }
keys_sum() { find "$K" -type f -exec sha256sum {} + | sort | sha256sum; }
hist() { ls "$K/$1.old" 2>/dev/null | wc -l; }

# decryption check through acra server: every row must come back as its plaintext
acra_start --db_host=127.0.0.1 --db_port="$D" --client_id=clientA --keys_dir="$K" \
	--keystore_cache_size=-1 || fail "acra server starts"
# (acra server decrypts in the results: the bytea comes back as the plaintext's hex)
check_all() {
	pg_psql "$ACRA_PORT" -c "SELECT id, data FROM t WHERE id < 100000 ORDER BY id" >"$T/all" 2>&1 ||
		{ head -5 "$T/all"; fail "$1: select through acra server"; }
	bad=$($SVC_PY -c 'import sys
per = int(sys.argv[2]); n = 0; rows = 0
for line in open(sys.argv[1]):
    i, h = line.rstrip("\n").split("|")
    rows += 1
    if not h.startswith("\\x") or bytes.fromhex(h[2:]) != b"rotate-plain-%d" % (int(i) // per):
        n += 1
print(n if rows == int(sys.argv[3]) else -1)' "$T/all" $PER $N)
	[ "$bad" = 0 ] || fail "$1: $bad rows do not decrypt"
	ok "$1: all $N rows decrypt through acra server"
}
check_all "before rotation"

# --- dry run: nothing changes ---
tb=$(table_sum)
kb=$(keys_sum)
run 0 rot --dry-run
assert_grep "$ERR" 'dry run: nothing written' "dry run says so"
assert_eq "$(table_sum)" "$tb" "dry run leaves the table as it was"
assert_eq "$(keys_sum)" "$kb" "dry run leaves the keys as they were"

# --- killed at several points, then finished ---
h0=$(hist clientA_storage)
s0=$(hist clientA_storage_sym)
rotbg >"$T/k1.out" 2>"$T/k1.err" &
p=$!
i=0
while [ ! -e "$K/.acra-rotate.state" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.01; done
kill -9 $p 2>/dev/null || true
wait $p 2>/dev/null || true
ok "killed (SIGKILL) as soon as the run recorded its first key"
rotbg >"$T/k2.out" 2>"$T/k2.err" &
p=$!
sleep 0.3
kill -9 $p 2>/dev/null || true
wait $p 2>/dev/null || true
ok "killed (SIGKILL) again in the middle"
rotbg >"$T/k3.out" 2>"$T/k3.err" &
p=$!
sleep 0.2
kill -TERM $p 2>/dev/null || true
rc=0
wait $p || rc=$?
if [ $rc -ne 0 ]; then
	assert_grep "$T/k3.err" 'run the same command again' "SIGTERM: stops after a row and says how to resume"
else
	ok "SIGTERM came after the run had finished"
fi
run 0 rot
assert_grep "$ERR" "$N rows:" "the final run reports every row"
cp "$OUT" "$T/result.json"
$SVC_PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "new_public_key" in d["clientA"], d' \
	"$T/result.json" || fail "JSON output with the new public key (Acra's format)"
ok "JSON output {\"clientA\": {\"new_public_key\": ...}}"
assert_eq "$(hist clientA_storage)" "$((h0 + 1))" "exactly one new AcraStruct key version across the runs"
assert_eq "$(hist clientA_storage_sym)" "$((s0 + 1))" "exactly one new AcraBlock key version across the runs"
[ ! -e "$K/.acra-rotate.state" ] || fail "the state file is removed when the run completes"
ok "state file removed after the complete run"
[ "$(table_sum)" != "$tb" ] || fail "the values were re-encrypted"
ok "every ciphertext changed"
check_all "after rotation (killed twice, interrupted once)"
# the untouched copies still decrypt with the rotated (history) keys
pg_psql "$ACRA_PORT" -c "SELECT data FROM keep ORDER BY id" >"$T/keep"
want=$(printf 'rotate-plain-0' | od -An -v -tx1 | tr -d ' \n')
assert_eq "$(tr '\n' ' ' <"$T/keep")" "\\x$want \\x$want " "values not rotated still decrypt with the old key"
run 0 rot
assert_grep "$ERR" "$N rows: $N re-encrypted" "a new run (no interrupted one to resume) rotates again"
assert_eq "$(hist clientA_storage)" "$((h0 + 2))" "... with one more key version"
check_all "after the second rotation"

# --- bad input ---
tb=$(table_sum)
kb=$(keys_sum)
run 1 "$ACRA" rotate --keys_dir="$K" --db_connection_string="$DSN" --zonemode_enable=false \
	--sql_select="SELEKT nonsense" --sql_update="$UPD"
assert_grep "$ERR" 'sql_select failed' "an SQL error is reported"
run 1 "$ACRA" rotate --keys_dir="$K" --zonemode_enable=false --sql_select="$SEL" --sql_update="$UPD" \
	--db_connection_string="postgresql://u:p@127.0.0.1:$(svc_freeport)/x?connect_timeout=2"
assert_grep "$ERR" 'cannot connect to PostgreSQL' "an unreachable database is reported"
run 1 env ACRA_MASTER_KEY="$(head -c 32 /dev/urandom | base64 -w0)" "$ACRA" rotate --keys_dir="$K" \
	--db_connection_string="$DSN" --zonemode_enable=false --sql_select="$SEL" --sql_update="$UPD"
assert_grep "$ERR" 'nothing rotated' "a wrong master key: the key does not open, nothing rotated"
assert_eq "$(table_sum)" "$tb" "failed runs changed no row"
assert_eq "$(keys_sum)" "$kb" "failed runs changed no key (a wrong master key rotates nothing)"
pg_psql "$D" -c "INSERT INTO t VALUES (100000, 'clientA', 'not an envelope')" >/dev/null
run 0 rot
assert_grep "$ERR" '1 not an AcraStruct/AcraBlock (left unchanged)' "a plain row is counted and left alone"
assert_eq "$(pg_psql "$D" -c "SELECT convert_from(data, 'UTF8') FROM t WHERE id = 100000")" \
	"not an envelope" "the plain row is unchanged"
pg_psql "$D" -c "DELETE FROM t WHERE id = 100000" >/dev/null
run 2 "$ACRA" rotate --keys_dir="$K" --sql_select="$SEL"
assert_grep "$ERR" 'sql_select and sql_update must be set both' "Acra's message for a missing query"
acra_stop

# --- MariaDB: AcraBlocks in zone-less client mode through the Go-style DSN ---
mysql_start
MDSN="$MYSQL_USER:$MYSQL_PASSWORD@tcp(127.0.0.1:$MYSQL_PORT)/$MYSQL_DB"
BH=$(hexenc "mysql-rotate-plain" --acrablock)
mysql_cli "$MYSQL_PORT" -e "CREATE TABLE m (id INT PRIMARY KEY, cid VARCHAR(64), data BLOB);
	INSERT INTO m SELECT seq, 'clientA', X'$BH' FROM seq_1_to_50"
before=$(mysql_cli "$MYSQL_PORT" -e "SELECT MD5(GROUP_CONCAT(HEX(data) ORDER BY id)) FROM m")
run 0 "$ACRA" rotate --keys_dir="$K" --db_connection_string="$MDSN" --mysql_enable \
	--zonemode_enable=false --sql_select="SELECT id, cid, data FROM m" \
	--sql_update="UPDATE m SET data=? WHERE id=?"
assert_grep "$ERR" '50 rows: 50 re-encrypted' "MariaDB: 50 AcraBlocks re-encrypted"
[ "$(mysql_cli "$MYSQL_PORT" -e "SELECT MD5(GROUP_CONCAT(HEX(data) ORDER BY id)) FROM m")" != "$before" ] ||
	fail "MariaDB values changed"
mysql_cli "$MYSQL_PORT" -e "SELECT HEX(data) FROM m WHERE id = 7" >"$T/m7.hex"
$SVC_PY -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(open(sys.argv[1]).read().strip()))' \
	"$T/m7.hex" >"$T/m7"
assert_eq "$("$ACRA" reader --keys_dir="$K" --client_id=clientA <"$T/m7")" "mysql-rotate-plain" \
	"MariaDB: a rotated AcraBlock decrypts with acra reader"
