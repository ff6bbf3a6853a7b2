#!/bin/sh
# 16-tls.sh: acra server with TLS on both legs: psql connects with sslmode=verify-full and a
# client certificate from a test CA; the server answers the SSLRequest, terminates TLS, takes
# the client id from the certificate (SHA-512 of the Go-rendered subject), and talks TLS to
# a PostgreSQL 15 with ssl = on. A certificate from another CA, or none, is refused.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_need psql openssl
pg_start --ssl
T=$(svc_dir t)
cd "$T"

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
leaf test-server /CN=localhost "subjectAltName=DNS:localhost,IP:127.0.0.1" 31
leaf test-app "/C=GB/O=Example Org/OU=Payments/CN=app one" \
	"keyUsage=digitalSignature
extendedKeyUsage=clientAuth" 32
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=test-other-ca -keyout other.key -out other.crt >/dev/null 2>&1
leaf test-rogue "/CN=app one" "extendedKeyUsage=clientAuth" 33 other

acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -d \
	--tls_cert=test-server.crt --tls_key=test-server.key --tls_ca=ca.crt --tls_auth=4 \
	--tls_database_ca="$PG_DIR/data/server.crt" --tls_database_sni=localhost ||
	fail "acra server with TLS starts"
assert_grep "$ACRA_LOG" 'Client id: from the application.s TLS client certificate' \
	"server logs the client id source"
assert_grep "$ACRA_LOG" "PostgreSQL with TLS" "server logs TLS toward applications"

# SCRAM channel binding (SCRAM-SHA-256-PLUS) binds to the TLS certificate of the endpoint:
# the client sees acra server's, PostgreSQL its own, so it cannot work through a TLS-
# terminating proxy; clients turn it off (libpq: channel_binding=disable).
PGCHANNELBINDING=disable
export PGCHANNELBINDING
tls_psql() { # CERT PSQL-ARGS...
	_c=$1
	shift
	PGSSLMODE=verify-full PGSSLROOTCERT=ca.crt PGSSLCERT=$_c.crt PGSSLKEY=$_c.key \
		pg_psql "$ACRA_PORT" "$@"
}

assert_eq "$(tls_psql test-app -c 'SELECT 40 + 2')" 42 "psql verify-full through acra server"
assert_eq "$(tls_psql test-app -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')" t \
	"the server's leg to PostgreSQL is TLS too"
want=$(printf 'CN=app one,OU=Payments,O=Example Org,C=GB' | openssl dgst -sha512 -r | cut -c1-128)
assert_grep "$ACRA_LOG" "client id taken from the TLS certificate.*client_id=$want" \
	"client id = SHA-512 of the certificate subject in Go's format"
PLAIN=acra-e2e-tls-plain-8d2c41
PROXY_DSN="host=127.0.0.1 port=$ACRA_PORT user=$PG_USER password=$PG_PASSWORD dbname=$PG_DB sslmode=verify-full sslrootcert=ca.crt sslcert=test-app.crt sslkey=test-app.key channel_binding=disable"
run 0 $SVC_PY "$ACRA_TOP/t/e2e/py/pg_dbapi.py" psycopg2 "$PG_DSN sslmode=require" "$PROXY_DSN" "$PLAIN"
ok "psycopg2 with verify-full through acra server: $(cat "$OUT")"

run nonzero tls_psql test-rogue -c 'SELECT 1'
assert_grep "$ACRA_LOG" 'transport with client refused: TLS handshake failed' \
	"certificate from another CA refused"
run nonzero env PGSSLMODE=verify-full PGSSLROOTCERT=ca.crt PGSSLCERT=/nonexistent \
	PGSSLKEY=/nonexistent pg_psql "$ACRA_PORT" -c 'SELECT 1'
ok "no client certificate refused"
# the server's name is checked by the client: a wrong CA on the client side fails
run nonzero env PGSSLMODE=verify-full PGSSLROOTCERT=other.crt PGSSLCERT=test-app.crt \
	PGSSLKEY=test-app.key pg_psql "$ACRA_PORT" -c 'SELECT 1'
ok "client refuses the server when it does not trust its CA"
acra_stop

# serial_number extractor
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -d --tls_identifier_extractor_type=serial_number \
	--tls_cert=test-server.crt --tls_key=test-server.key --tls_ca=ca.crt \
	--tls_database_ca="$PG_DIR/data/server.crt" --tls_database_sni=localhost ||
	fail "acra server (serial number ids) starts"
assert_eq "$(tls_psql test-app -c 'SELECT 5')" 5 "psql with serial_number extractor"
want=$(printf '\040' | openssl dgst -sha512 -r | cut -c1-128) # serial 32 = 0x20
assert_grep "$ACRA_LOG" "client id taken from the TLS certificate.*client_id=$want" \
	"client id = SHA-512 of the serial number bytes"
acra_stop

# database with a certificate the server does not trust: the client gets no data
acra_start --db_host=127.0.0.1 --db_port="$PG_PORT" -d \
	--tls_cert=test-server.crt --tls_key=test-server.key --tls_ca=ca.crt ||
	fail "acra server (untrusted database certificate) starts"
run nonzero tls_psql test-app -c 'SELECT 1'
assert_grep "$ACRA_LOG" "Can't connect to db.*certificate verify failed" \
	"database certificate verified against the CA pool"
acra_stop
