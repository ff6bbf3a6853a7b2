#!/bin/sh
# 11-pg-decrypt-node.sh: node-postgres (npm pg 8, installed into .cache/npm-pg) through the
# decrypting acra server: text and binary result formats, a named prepared statement.
# Exit 77 when node/npm or the npm registry is unavailable.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
command -v node >/dev/null 2>&1 || svc_skip "node not installed"
npm_dir=$ACRA_TOP/.cache/npm-pg
if [ ! -f "$npm_dir/node_modules/pg/package.json" ]; then
	command -v npm >/dev/null 2>&1 || svc_skip "npm not installed"
	mkdir -p "$npm_dir"
	npm install --prefix "$npm_dir" --no-save --no-package-lock --fetch-retries=1 \
		--fetch-retry-maxtimeout=15000 pg@8 >"$npm_dir/install.log" 2>&1 ||
		svc_skip "cannot install npm pg (registry unreachable?)"
fi
svc_need psql od base64
. "$ACRA_TOP/t/e2e/pgdec-setup.sh"
run 0 env NODE_PATH="$npm_dir/node_modules" node "$ACRA_TOP/t/e2e/js/pg_decrypt.js" "$P" \
	"$PG_USER" "$PG_PASSWORD" "$PG_DB"
cat "$OUT"
ok "node-postgres checks passed"
acra_stop
assert_eq "$ACRA_RC" 0 "acra server exits 0"
