#!/bin/sh
# 12-pg-decrypt-jdbc.sh: the PostgreSQL JDBC driver (Debian libpostgresql-jdbc-java)
# through the decrypting acra server: Statement and server-prepared PreparedStatement.
# Exit 77 when javac or the driver jar is missing.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
command -v javac >/dev/null 2>&1 || svc_skip "javac not installed (default-jdk-headless)"
JAR=/usr/share/java/postgresql.jar
[ -f "$JAR" ] || svc_skip "no $JAR (libpostgresql-jdbc-java)"
svc_need psql od base64 java
. "$ACRA_TOP/t/e2e/pgdec-setup.sh"
mkdir -p "$T/java"
run 0 javac -d "$T/java" -cp "$JAR" "$ACRA_TOP/t/e2e/java/PgDecrypt.java"
run 0 java -cp "$JAR:$T/java" PgDecrypt "jdbc:postgresql://127.0.0.1:$P/$PG_DB" "$PG_USER" \
	"$PG_PASSWORD"
cat "$OUT"
ok "JDBC checks passed"
acra_stop
assert_eq "$ACRA_RC" 0 "acra server exits 0"
