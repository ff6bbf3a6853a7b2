#!/bin/sh
# 50-mysql-decrypt.sh: acra server --mysql_enable in front of a real MariaDB decrypts
# AcraStructs and AcraBlocks in result rows for the right client. Keys for two clients
# (acra keymaker), values encrypted with acra writer and inserted straight into MariaDB
# (BLOB and latin1 TEXT columns); then, through `acra server --client_id=clientA`: the
# mariadb CLI and PyMySQL get clientA's plaintexts and clientB's envelopes unchanged; every
# common column type equals the direct result; multi-statements; transactions with errors;
# KILL QUERY of a SLEEP from another connection; LOAD DATA LOCAL INFILE; mysqlclient;
# 1 MiB and 20 MiB values; AcraStructs over 16 MiB; 50 concurrent connections; zone mode;
# poison records; start-up rules; a database that is down; malformed packets.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need od base64
$SVC_PY -c 'import pymysql' 2>/dev/null || svc_skip "python3-pymysql not installed"
. "$ACRA_TOP/t/e2e/mydec-setup.sh"
mc "$D" -e "CREATE TABLE big (id INT PRIMARY KEY, v LONGBLOB);
	CREATE TABLE types (id INT PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED, bi BIGINT,
		de DECIMAL(12,4), fl FLOAT, db DOUBLE, d DATE, dt DATETIME(3), ts TIMESTAMP NULL,
		tm TIME, y YEAR, vc VARCHAR(40), tx TEXT, bl BLOB, js JSON, en ENUM('a','b'),
		st SET('x','y'), bt BIT(10));
	INSERT INTO types VALUES
		(1, -5, 65535, -9007199254740993, 12345678.1234, 1.5, -2.25e100, '2024-02-29',
		 '2024-02-29 13:14:15.678', '2001-01-01 00:00:01', '-838:59:59', 2024, 'vc ümlaut',
		 'text', X'00ff10', '{\"k\": [1, 2]}', 'b', 'x,y', b'1010101010'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		 NULL, NULL, NULL, NULL, NULL)"
ok "envelopes and typed rows inserted directly into MariaDB"

# --- start-up rules ---
run 2 "$ACRA" server --db_host=127.0.0.1 --mysql_enable --postgresql_enable --client_id=clientA \
	--keys_dir="$K"
assert_grep "$ERR" 'mutually exclusive' "--mysql_enable with --postgresql_enable is refused"

assert_grep "$ACRA_LOG" 'Database: MySQL' "the log names the MySQL protocol"

# --- the mariadb CLI (text protocol) ---
assert_eq "$(mc "$P" -e 'SELECT b, t FROM enc WHERE id = 1')" "$PA_S	$PA_S" \
	"mariadb CLI: clientA's AcraStruct in BLOB and TEXT decrypted"
assert_eq "$(mc "$P" -e 'SELECT b, t FROM enc WHERE id = 2')" "$PA_B	$PA_B" \
	"mariadb CLI: clientA's AcraBlock in BLOB and TEXT decrypted"
assert_eq "$(mc "$P" -e 'SELECT b, t FROM enc WHERE id IN (3, 4) ORDER BY id' | od -An -tx1)" \
	"$(mc "$D" -e 'SELECT b, t FROM enc WHERE id IN (3, 4) ORDER BY id' | od -An -tx1)" \
	"mariadb CLI: clientB's envelopes come back unchanged"
assert_eq "$(mc "$P" -e 'SELECT id, b, t FROM enc WHERE id = 5')" "5	plain value	NULL" \
	"mariadb CLI: plain values and NULL pass"
assert_eq "$(mc "$P" -e 'SELECT * FROM types ORDER BY id')" \
	"$(mc "$D" -e 'SELECT * FROM types ORDER BY id')" "mariadb CLI: every column type as direct"
assert_eq "$(mc "$P" -e "PREPARE s FROM 'SELECT b FROM enc WHERE id = ?'; SET @i = 2; EXECUTE s USING @i")" \
	"$PA_B" "mariadb CLI: SQL PREPARE/EXECUTE result decrypted"

# --- authentication: MariaDB's client_ed25519 after an AuthSwitchRequest ---
EDPW=acra-ed-pw-$(svc_randhex 6)
svc_secret "$EDPW"
env -u MYSQL_PWD mariadb --no-defaults -S "$MYSQL_SOCKET" -u root -e "INSTALL SONAME 'auth_ed25519';
	CREATE USER ed@'%' IDENTIFIED VIA ed25519 USING PASSWORD('$EDPW');
	GRANT SELECT ON $MYSQL_DB.* TO ed@'%'" || fail "ed25519 user created"
assert_eq "$(MYSQL_PWD=$EDPW mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$P" -u ed \
	-D "$MYSQL_DB" -N -B -e 'SELECT b FROM enc WHERE id = 1')" "$PA_S" \
	"client_ed25519 login (AuthSwitchRequest) through acra, then decryption"
run nonzero env MYSQL_PWD=wrong-password mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
	-P "$P" -u ed -D "$MYSQL_DB" -e 'SELECT 1'
assert_grep "$ERR" 'Access denied' "a wrong password gets the server's own ERR through acra"

# --- PyMySQL ---
for chk in decrypt types multi txn concurrent kill; do
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/mysql_decrypt.py" $chk 127.0.0.1 "$P" "$D" \
		"$MYSQL_USER" "$MYSQL_DB"
	ok "PyMySQL check $chk"
done
run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/mysql_decrypt.py" infile 127.0.0.1 "$P" "$D" \
	"$MYSQL_USER" "$MYSQL_DB" "$T/infile.tsv"
ok "PyMySQL: LOAD DATA LOCAL INFILE through acra"
if $SVC_PY -c 'import MySQLdb' 2>/dev/null; then
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/mysql_decrypt.py" mysqldb 127.0.0.1 "$P" "$D" \
		"$MYSQL_USER" "$MYSQL_DB"
	ok "mysqlclient (MySQLdb) checks"
else
	fail "python3-mysqldb is not installed (contrib/deps.sh installs it)"
fi
for size in 1048576 20971520; do
	run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/mysql_decrypt.py" big 127.0.0.1 "$P" "$D" \
		"$MYSQL_USER" "$MYSQL_DB" $size
	ok "PyMySQL: a $size-byte value round-trips through acra"
done
# a row of two packets (AcraStruct over 16 MiB) that fits one once decrypted, and one that
# stays over 16 MiB
for size in 16777115 20971000; do
head -c $size /dev/urandom >"$T/big.plain"
"$ACRA" writer --keys_dir="$K" --client_id=clientA <"$T/big.plain" >"$T/big.env" ||
	fail "acra writer encrypts $size bytes"
run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/mysql_decrypt.py" bigenc 127.0.0.1 "$P" "$D" \
	"$MYSQL_USER" "$MYSQL_DB" "$T/big.env" "$T/big.plain"
ok "an AcraStruct of $size bytes of plaintext (a row over 16 MiB) comes back decrypted"
done
rm -f "$T/big.plain" "$T/big.env"
acra_alive || fail "acra server still running"

# --- another client id: nothing decrypts ---
acra_start --db_host=127.0.0.1 --db_port="$D" --mysql_enable --client_id=clientB \
	--keys_dir="$K" || fail "acra server starts for clientB"
assert_eq "$(mc "$ACRA_PORT" -e 'SELECT b FROM enc WHERE id = 3')" "$PB_S" \
	"clientB's server decrypts clientB's AcraStruct"
assert_eq "$(mc "$ACRA_PORT" -e 'SELECT b FROM enc WHERE id = 1' | od -An -tx1)" \
	"$(mc "$D" -e 'SELECT b FROM enc WHERE id = 1' | od -An -tx1)" \
	"clientB's server returns clientA's AcraStruct unchanged"
acra_stop
ACRA_PORT=$P

# --- malformed packets end that session only ---
cat >"$T/badpkt.py" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), 5)
g = s.recv(4)
n = g[0] | g[1] << 8 | g[2] << 16
s.recv(n)
# a handshake response whose length says 100 bytes, then sequence id 9 and junk
s.sendall(struct.pack("<I", 5)[:3] + b"\x09" + b"\x00\x00\x00\x00\x00")
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
except socket.timeout:
    print("no close", file=sys.stderr)
    sys.exit(1)
if len(data) < 5 or data[4] != 0xFF:
    print("expected an ERR packet, got %r" % data[:40], file=sys.stderr)
    sys.exit(1)
PY
run 0 $SVC_PY "$T/badpkt.py" "$P"
ok "a packet with a sequence id out of order gets an ERR packet and a close"
assert_eq "$(mc "$P" -e 'SELECT b FROM enc WHERE id = 1')" "$PA_S" \
	"other sessions keep working after a malformed one"
acra_stop

# --- zone mode ---
APORT=$(svc_freeport)
acra_start --db_host=127.0.0.1 --db_port="$D" --mysql_enable --keys_dir="$K" --zonemode_enable \
	--http_api_enable --incoming_connection_api_string="tcp://127.0.0.1:$APORT/" ||
	fail "acra server starts (MySQL, zone mode)"
P=$ACRA_PORT
http_get "http://127.0.0.1:$APORT/getNewZone" >"$T/zone"
tail -n +2 "$T/zone" >"$T/zone.json"
ZID=$($SVC_PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/zone.json") ||
	fail "/getNewZone made a zone"
ZS=$(printf %s "$PZ" | "$ACRA" writer --keys_dir="$K" --zone_id="$ZID" | od -An -v -tx1 | tr -d ' \n')
mc "$D" -e "INSERT INTO enc VALUES (10, X'$ZS', NULL)"
assert_eq "$(mc "$P" -e "SELECT '$ZID', b FROM enc WHERE id = 10")" "$ZID	$PZ" \
	"zone mode: the column after the zone id is decrypted"
assert_eq "$(mc "$P" -e 'SELECT b FROM enc WHERE id = 10' | od -An -tx1)" \
	"$(mc "$D" -e 'SELECT b FROM enc WHERE id = 10' | od -An -tx1)" \
	"zone mode: without the zone id nothing is decrypted"
acra_stop

# --- poison records ---
run 0 "$ACRA" poisonrecordmaker --keys_dir="$K"
POISON=$(cat "$OUT")
PHEX=$(printf %s "$POISON" | base64 -d | od -An -v -tx1 | tr -d ' \n')
mc "$D" -e "INSERT INTO enc VALUES (20, X'$PHEX', NULL)"
cat >"$T/poison.sh" <<SH
#!/bin/sh
touch "$T/poison.marker"
SH
chmod 755 "$T/poison.sh"
acra_start --db_host=127.0.0.1 --db_port="$D" --mysql_enable --client_id=clientA --keys_dir="$K" \
	--poison_detect_enable --poison_run_script_file="$T/poison.sh" ||
	fail "acra server starts (MySQL, poison detection)"
P=$ACRA_PORT
assert_eq "$(mc "$P" -e 'SELECT b FROM enc WHERE id = 1')" "$PA_S" \
	"poison detection on: ordinary values still decrypt"
mc "$P" -e 'SELECT b FROM enc WHERE id = 20' >/dev/null
i=0
while [ ! -e "$T/poison.marker" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$T/poison.marker" ] || fail "poison script ran (marker file)"
ok "poison record ran the script"
assert_grep "$ACRA_LOG" 'Recognized poison record.*code=101' "poison event logged with code 101"
acra_stop
acra_start --db_host=127.0.0.1 --db_port="$D" --mysql_enable --client_id=clientA --keys_dir="$K" \
	--poison_detect_enable --poison_shutdown_enable || fail "acra server starts (poison shutdown)"
run nonzero mc "$ACRA_PORT" -e 'SELECT b FROM enc WHERE id = 20'
assert_grep "$ERR" 'poison record' "client gets an ERR packet for the poison record"
i=0
while acra_alive && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
acra_alive && fail "server exits after a poison record with poison_shutdown_enable"
acra_stop
ok "server exited after the poison record"

# --- the database is down: the client gets an ERR packet instead of a greeting ---
DOWN=$(svc_freeport)
acra_start --db_host=127.0.0.1 --db_port="$DOWN" --mysql_enable --client_id=clientA \
	--keys_dir="$K" || fail "acra server starts with the database down"
run nonzero mc "$ACRA_PORT" -e 'SELECT 1'
assert_grep "$ERR" 'cannot connect to the database' "database down: client gets an ERR packet"
acra_stop

# --- MySQL mode without --db_port: 3306, with a log line ---
acra_start --db_host=127.0.0.1 --mysql_enable --client_id=clientA --keys_dir="$K" ||
	fail "acra server starts without --db_port"
assert_grep "$ACRA_LOG" "using MySQL's port 3306" "no --db_port in MySQL mode: 3306, logged"
assert_grep "$ACRA_LOG" 'Database: MySQL 127.0.0.1:3306' "the database address is port 3306"
acra_stop
