#!/bin/sh
# 53-mysql-tls.sh: acra server --mysql_enable with TLS on both legs in front of MariaDB with
# TLS: a client's SSLRequest goes on to the database and both legs switch to TLS (the mariadb
# CLI verifying acra's certificate, PyMySQL with ssl); the client id comes from the client
# certificate; a plain client stays plain on both legs; a client that does not trust acra's
# CA fails; garbage after an SSLRequest ends that session only.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need openssl od base64
svc_init
C=$(svc_dir certs)
cd "$C"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=test-ca -keyout ca.key -out ca.crt >/dev/null 2>&1
leaf() { # NAME SUBJECT EXTENSIONS SERIAL [CA]
	printf '%s\n' "$3" >"$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
		-keyout "$1.key" -out "$1.csr" >/dev/null 2>&1
	openssl x509 -req -in "$1.csr" -CA "${5:-ca}.crt" -CAkey "${5:-ca}.key" -set_serial "$4" \
		-days 2 -extfile "$1.ext" -out "$1.crt" >/dev/null 2>&1
	chmod 600 "$1.key"
}
leaf test-server /CN=localhost "subjectAltName=DNS:localhost,IP:127.0.0.1" 41
leaf test-app "/O=Example Org/CN=mysql app" "extendedKeyUsage=clientAuth" 42
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=test-other-ca -keyout other.key -out other.crt >/dev/null 2>&1

# MariaDB trusts the test CA: acra server presents test-server.crt on its leg too
MYDEC_MYSQL_ARGS="--ssl $C/ca.crt"
. "$ACRA_TOP/t/e2e/mydec-setup.sh"
acra_stop
cd "$C"

# the client id acra server derives from test-app's certificate, with keys and a row of its own
CID=$(printf 'CN=mysql app,O=Example Org' | openssl dgst -sha512 -r | cut -c1-128)
run 0 "$ACRA" keymaker --client_id="$CID" --keys_output_dir="$K" --keys_public_output_dir="$K" \
	--generate_acrawriter_keys
PC=mytls-cert-client-plain-19ad0e
svc_secret "$PC"
mc "$D" -e "INSERT INTO enc VALUES (30, X'$(enc "$CID" "$PC")', NULL)"

acra_start --db_host=127.0.0.1 --db_port="$D" --mysql_enable --keys_dir="$K" -d \
	--tls_cert=test-server.crt --tls_key=test-server.key --tls_ca=ca.crt --tls_auth=4 \
	--tls_client_id_from_cert --tls_identifier_extractor_type=distinguished_name \
	--tls_database_ca="$MYSQL_DIR/server.crt" --tls_database_sni=localhost ||
	fail "acra server (MySQL, TLS) starts"
P=$ACRA_PORT
assert_grep "$ACRA_LOG" 'MySQL with TLS when the client asks' "server logs TLS toward MySQL clients"

tls_cli() { # mariadb CLI verifying acra's certificate, presenting test-app's
	mc "$P" --ssl --ssl-ca=ca.crt --ssl-verify-server-cert --ssl-cert=test-app.crt \
		--ssl-key=test-app.key "$@"
}
assert_eq "$(tls_cli -e 'SELECT 40 + 2')" 42 "mariadb CLI with --ssl-verify-server-cert through acra"
assert_eq "$(tls_cli -e "SHOW STATUS LIKE 'Ssl_version'" | cut -f2 | cut -c1-4)" "TLSv" \
	"the leg from acra server to MariaDB is TLS too"
assert_eq "$(tls_cli -e 'SELECT b FROM enc WHERE id = 30')" "$PC" \
	"client id from the client certificate: its AcraStruct decrypted over TLS"
assert_grep "$ACRA_LOG" "client id taken from the TLS certificate.*client_id=$CID" \
	"client id = SHA-512 of the certificate subject"
assert_eq "$(tls_cli -e 'SELECT b FROM enc WHERE id = 1' | od -An -tx1)" \
	"$(mc "$D" -e 'SELECT b FROM enc WHERE id = 1' | od -An -tx1)" \
	"another client's AcraStruct unchanged over TLS"

cat >"$T/tlspy.py" <<'PY'
import os, ssl, sys
import pymysql
port, user, db, t, pc = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=t + "/ca.crt")
ctx.load_cert_chain(t + "/test-app.crt", t + "/test-app.key")
c = pymysql.connect(host="127.0.0.1", port=int(port), user=user, database=db,
                    password=os.environ["MYSQL_PWD"], ssl=ctx, binary_prefix=True)
with c.cursor() as cur:
    cur.execute("SELECT b FROM enc WHERE id = 30")
    got = cur.fetchone()[0]
    assert got == pc.encode(), got
    big = os.urandom(3 * 1024 * 1024)
    cur.execute("SELECT %s", (big,))
    assert cur.fetchone()[0] == big
c.close()
PY
run 0 $SVC_PY "$T/tlspy.py" "$P" "$MYSQL_USER" "$MYSQL_DB" "$C" "$PC"
ok "PyMySQL over TLS (3 MiB value, certificate client id)"

# a client without TLS: plain on both legs (no certificate, so no client id: nothing decrypts)
assert_eq "$(mc "$P" --skip-ssl -e "SHOW STATUS LIKE 'Ssl_version'" | cut -f2)" "" \
	"a client without TLS stays plain on both legs"

run nonzero mc "$P" --ssl --ssl-ca=other.crt --ssl-verify-server-cert -e 'SELECT 1'
ok "a client that does not trust acra's CA refuses it"

cat >"$T/garbage.py" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
h = s.recv(4)
s.recv(h[0] | h[1] << 8 | h[2] << 16)
caps = 0x0200 | 0x8000 | 0x0800 | 0x80000
req = struct.pack("<IIB", caps, 1 << 24, 33) + b"\0" * 23
s.sendall(struct.pack("<I", len(req))[:3] + b"\x01" + req + b"this is not TLS at all" * 20)
s.settimeout(5)
try:
    while s.recv(4096):
        pass
except socket.timeout:
    sys.exit("the session stayed open after garbage in place of TLS")
PY
run 0 $SVC_PY "$T/garbage.py" "$P"
ok "garbage after an SSLRequest closes that session"
assert_eq "$(tls_cli -e 'SELECT 1')" 1 "the server keeps serving TLS clients"
acra_alive || fail "acra server still running"
acra_stop
