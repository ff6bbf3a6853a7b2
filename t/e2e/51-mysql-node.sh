#!/bin/sh
# 51-mysql-node.sh: node mysql2 (npm mysql2 3, installed into .cache/npm-mysql2) through the
# decrypting acra server --mysql_enable: execute() (server-side prepared statements, binary
# rows with the NULL bitmap) and query() (text rows), every common column type as direct.
# Exit 77 when node/npm or the npm registry is unavailable.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
command -v node >/dev/null 2>&1 || svc_skip "node not installed"
npm_dir=$ACRA_TOP/.cache/npm-mysql2
if [ ! -f "$npm_dir/node_modules/mysql2/package.json" ]; then
	command -v npm >/dev/null 2>&1 || svc_skip "npm not installed"
	mkdir -p "$npm_dir"
	npm install --prefix "$npm_dir" --no-save --no-package-lock --fetch-retries=1 \
		--fetch-retry-maxtimeout=15000 mysql2@3 >"$npm_dir/install.log" 2>&1 ||
		svc_skip "cannot install npm mysql2 (registry unreachable?)"
fi
svc_need od base64
. "$ACRA_TOP/t/e2e/mydec-setup.sh"
mc "$D" -e "CREATE TABLE types (id INT PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED,
		bi BIGINT, de DECIMAL(12,4), fl FLOAT, db DOUBLE, d DATE, dt DATETIME(3),
		ts TIMESTAMP NULL, tm TIME, y YEAR, vc VARCHAR(40), tx TEXT, bl BLOB, js JSON,
		en ENUM('a','b'), st SET('x','y'), bt BIT(10));
	INSERT INTO types VALUES
		(1, -5, 65535, -9007199254740993, 12345678.1234, 1.5, -2.25e100, '2024-02-29',
		 '2024-02-29 13:14:15.678', '2001-01-01 00:00:01', '-838:59:59', 2024, 'vc',
		 'text', X'00ff10', '{\"k\": [1, 2]}', 'b', 'x,y', b'1010101010'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		 NULL, NULL, NULL, NULL, NULL)"
run 0 env NODE_PATH="$npm_dir/node_modules" node "$ACRA_TOP/t/e2e/js/mysql_decrypt.js" "$P" \
	"$D" "$MYSQL_USER" "$MYSQL_DB"
cat "$OUT"
ok "node mysql2 checks passed"
acra_stop
assert_eq "$ACRA_RC" 0 "acra server exits 0"
