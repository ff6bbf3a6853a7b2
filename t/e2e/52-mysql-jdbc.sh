#!/bin/sh
# 52-mysql-jdbc.sh: MariaDB Connector/J (Debian libmariadb-java) through the decrypting
# acra server --mysql_enable: Statement and server-side PreparedStatement.
# Exit 77 when javac or the driver jar is missing.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
command -v javac >/dev/null 2>&1 || svc_skip "javac not installed (default-jdk-headless)"
JAR=/usr/share/java/mariadb-java-client.jar
[ -f "$JAR" ] || svc_skip "no $JAR (libmariadb-java)"
svc_need od base64 java
. "$ACRA_TOP/t/e2e/mydec-setup.sh"
mkdir -p "$T/java"
run 0 javac -d "$T/java" -cp "$JAR" "$ACRA_TOP/t/e2e/java/MyDecrypt.java"
run 0 java -cp "$JAR:$T/java" MyDecrypt "jdbc:mariadb://127.0.0.1:$P/$MYSQL_DB" \
	"jdbc:mariadb://127.0.0.1:$D/$MYSQL_DB" "$MYSQL_USER" "$MYSQL_PASSWORD"
cat "$OUT"
ok "Connector/J checks passed"
acra_stop
assert_eq "$ACRA_RC" 0 "acra server exits 0"
