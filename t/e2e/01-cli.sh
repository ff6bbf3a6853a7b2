#!/bin/sh
# 01-cli.sh: the acra command line as a user first meets it: version, help, mode dispatch,
# flag and config-file errors, --dump_config round trip and precedence CLI > file > default.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_init
T=$(svc_dir cli)
ACRA=$(acra_bin)
[ -x "$ACRA" ] || fail "no acra binary at $ACRA"
cd "$T" # no configs/acra-server.yaml here

run 0 "$ACRA" version
assert_grep "$OUT" '^acra [0-9]' "acra version prints the version"

run 0 "$ACRA" help
assert_grep "$OUT" 'server' "acra help lists the server mode"

run 0 "$ACRA" help server
assert_grep "$OUT" '--db_host' "acra help server lists --db_host"

run 0 "$ACRA" server --help
assert_grep "$OUT" '--db_host' "acra server --help lists --db_host"
assert_grep "$OUT" '--incoming_connection_string' "acra server --help lists the listener flag"

run 2 "$ACRA" no-such-mode
assert_grep "$ERR" 'no-such-mode' "unknown mode is named on stderr"
assert_grep "$ERR" 'usage' "unknown mode prints usage on stderr"
[ ! -s "$OUT" ] || fail "unknown mode writes nothing to stdout"

ln -s "$ACRA" "$T/acra-server"
run 0 "$T/acra-server" --help
assert_grep "$OUT" '--db_host' "acra-server symlink runs the server mode"

run 2 "$ACRA" server --db_host=127.0.0.1 --no_such_flag=1
assert_grep "$ERR" 'no_such_flag' "unknown flag exits 2 naming it"

run 2 "$ACRA" server --db_host=127.0.0.1 --db_port=abc
assert_grep "$ERR" 'db_port' "--db_port=abc exits 2 naming db_port"

mkdir "$T/confdir"
run 2 "$ACRA" server --db_host=127.0.0.1 --config_file="$T/confdir"
assert_grep "$ERR" 'confdir' "--config_file naming a directory exits 2 naming it"

# A value far above any sane length: refused with a short message, not echoed back.
big=$(head -c 100000 /dev/zero | tr '\0' 'x')
run 2 "$ACRA" server --db_host="$big"
size=$(wc -c <"$ERR")
[ "$size" -gt 0 ] && [ "$size" -lt 1024 ] || fail "100 KB flag value: stderr is $size bytes"
ok "100 KB flag value exits 2 with a short message ($size bytes)"
{
	printf 'db_host: '
	head -c 1048576 /dev/zero | tr '\0' 'y'
	printf '\n'
} >"$T/big.yaml"
run 2 "$ACRA" server --config_file="$T/big.yaml"
size=$(wc -c <"$ERR")
[ "$size" -gt 0 ] && [ "$size" -lt 1024 ] || fail "1 MB config value: stderr is $size bytes"
ok "1 MB value in a config file exits 2 with a short message ($size bytes)"

printf 'db_host: 127.0.0.1\nno_such_key: 1\n' >"$T/unknown.yaml"
run 2 "$ACRA" server --config_file="$T/unknown.yaml"
assert_grep "$ERR" 'no_such_key' "unknown config key exits 2 naming it"

# --dump_config prints the effective configuration; fed back it is accepted unchanged.
run 0 "$ACRA" server --db_host=192.0.2.7 --db_port=6543 --dump_config
cp "$OUT" "$T/dump1.yaml"
assert_grep "$T/dump1.yaml" '^db_host: "\{0,1\}192.0.2.7"\{0,1\}$' "dump shows db_host"
assert_grep "$T/dump1.yaml" '^db_port: 6543$' "dump shows db_port"
run 0 "$ACRA" server --config_file="$T/dump1.yaml" --dump_config
grep -v '^config_file:' "$T/dump1.yaml" >"$T/a"
grep -v '^config_file:' "$OUT" >"$T/b"
cmp -s "$T/a" "$T/b" || {
	diff "$T/a" "$T/b" >&2 || true
	fail "dumped config fed back gives the same configuration"
}
ok "dumped config fed back as --config_file gives the same configuration"

# Both line styles; command line beats the file; the file beats the default.
printf '# comment\ndb_host: 198.51.100.1\ndb_port = 7001\nincoming_connection_close_timeout: 3\n' \
	>"$T/mixed.conf"
run 0 "$ACRA" server --config_file="$T/mixed.conf" --db_port=7002 --dump_config
assert_grep "$OUT" '^db_host: "\{0,1\}198.51.100.1"\{0,1\}$' "key: value line read from file"
assert_grep "$OUT" '^incoming_connection_close_timeout: 3$' "file value beats the default"
assert_grep "$OUT" '^db_port: 7002$' "command line beats config file"
run 0 "$ACRA" server --config_file="$T/mixed.conf" --dump_config
assert_grep "$OUT" '^db_port: 7001$' "key = value line read from file"

# Without --db_host the server refuses to start.
port=$(svc_freeport)
run 2 timeout 10 "$ACRA" server --incoming_connection_string="tcp://127.0.0.1:$port/"
assert_grep "$ERR" 'db_host' "missing db_host exits 2 naming it"
