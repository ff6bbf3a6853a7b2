#!/bin/sh
# 20-keys.sh: keys as a user makes and uses them: acra keymaker (master key, key pairs,
# file names and modes), acra addzone (JSON line), acra writer -> acra reader round trips
# for AcraStruct, AcraBlock and zones, and the refusals: wrong client id, zone or master
# key, a private key file others may read. Self-contained: ACRA_BUILD=$PWD/build sh
# t/e2e/20-keys.sh. Exit 0 pass, 1 fail, 77 skipped.
set -u
ACRA_BUILD=${ACRA_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
ACRA=$ACRA_BUILD/acra
[ -x "$ACRA" ] || { echo "SKIP: no acra binary at $ACRA"; exit 77; }
command -v base64 >/dev/null 2>&1 || { echo "SKIP: no base64"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/acra-keys.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
cd "$T" || exit 1
failures=0

ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
mode_of() { stat -c %a "$1" 2>/dev/null; }
size_of() { wc -c <"$1" | tr -d ' '; }
# run EXPECTED_STATUS CMD...: stdin from $IN (default /dev/null), stdout to out, stderr to err
run() {
	want=$1
	shift
	"$@" <"${IN:-/dev/null}" >out 2>err
	got=$?
	[ "$got" -eq "$want" ] || { echo "  status $got, expected $want: $*"; sed 's/^/  stderr: /' err; return 1; }
}

# --- master key --------------------------------------------------------------------------
check "keymaker --generate_master_key exits 0" run 0 "$ACRA" keymaker --generate_master_key=master.key
check "master key file has mode 600" [ "$(mode_of master.key)" = 600 ]
check "master key file holds 32 bytes" [ "$(size_of master.key)" = 32 ]
ACRA_MASTER_KEY=$(base64 <master.key | tr -d '\n')
export ACRA_MASTER_KEY

# --- keymaker ----------------------------------------------------------------------------
check "keymaker default set exits 0" run 0 "$ACRA" keymaker --client_id=client1 --keys_output_dir=keys --keys_public_output_dir=keys
check "keys directory has mode 700" [ "$(mode_of keys)" = 700 ]
for f in client1 client1_server client1_translator client1_storage; do
	check "$f is 0600 and 89 bytes (sealed REC2)" [ "$(mode_of keys/$f)" = 600 -a "$(size_of keys/$f)" = 89 ]
	check "$f.pub is 0644 and 45 bytes" [ "$(mode_of keys/$f.pub)" = 644 -a "$(size_of keys/$f.pub)" = 45 ]
	check "$f.pub is a UEC2 key" [ "$(head -c 4 keys/$f.pub)" = UEC2 ]
done
check "default set makes no symmetric key" [ ! -e keys/client1_storage_sym ]

check "keymaker symmetric + poison + hmac keys, all flags honoured" \
	run 0 "$ACRA" keymaker --client_id=client1 --keys_output_dir=keys --keys_public_output_dir=keys \
	--generate_symmetric_storage_key --generate_poisonrecord_keys --generate_hmac_key
check "client1_storage_sym is 0600 and 76 bytes" [ "$(mode_of keys/client1_storage_sym)" = 600 -a "$(size_of keys/client1_storage_sym)" = 76 ]
check "client1_hmac is 76 bytes" [ "$(size_of keys/client1_hmac)" = 76 ]
check "poison key pair and symmetric key exist" [ -f keys/.poison_key/poison_key -a -f keys/.poison_key/poison_key.pub -a -f keys/.poison_key/poison_key_sym ]

check "separate public directory" run 0 "$ACRA" keymaker --client_id=client2 --keys_output_dir=keys --keys_public_output_dir=pub --generate_acrawriter_keys
check "private key in keys dir, public in public dir" [ -f keys/client2_storage -a -f pub/client2_storage.pub -a ! -e keys/client2_storage.pub ]

check "invalid client id is a usage error (2)" run 2 "$ACRA" keymaker --client_id=abc --keys_output_dir=keys
check "  ... naming client_id" grep -q client_id err
check "--keystore=v2 is refused (1)" run 1 "$ACRA" keymaker --keystore=v2 --keys_output_dir=keys
check "  ... saying it is not supported" grep -q 'not supported' err
check "keymaker without ACRA_MASTER_KEY exits 1" run 1 env -u ACRA_MASTER_KEY "$ACRA" keymaker --keys_output_dir=k2
check "  ... naming the variable" grep -q ACRA_MASTER_KEY err
check "short master key is refused" run 1 env ACRA_MASTER_KEY=c2hvcnQ= "$ACRA" keymaker --keys_output_dir=k2
check "  ... without echoing it" sh -c '! grep -q c2hvcnQ= err'

# --- addzone -----------------------------------------------------------------------------
check "addzone exits 0" run 0 "$ACRA" addzone --keys_output_dir=keys
check "addzone prints exactly one line" [ "$(wc -l <out | tr -d ' ')" = 1 ]
check "addzone prints Acra's JSON shape" grep -Eq '^\{"id":"DDDDDDDD[A-Za-z]{16}","public_key":"VUVDMgAAAC[A-Za-z0-9+/]{50}"\}$' out
ZONE=$(sed 's/^{"id":"\([^"]*\)".*/\1/' out)
ZPUB=$(sed 's/.*"public_key":"\([^"]*\)".*/\1/' out)
check "zone key files exist (private 89 bytes 0600)" [ "$(size_of keys/${ZONE}_zone)" = 89 -a "$(mode_of keys/${ZONE}_zone)" = 600 ]
check "printed public key is the .pub file" [ "$(base64 <keys/${ZONE}_zone.pub | tr -d '\n')" = "$ZPUB" ]
if [ -x /usr/bin/python3 ]; then
	check "addzone output is valid JSON" /usr/bin/python3 -c 'import json,sys; d=json.load(open("out")); assert sorted(d)==["id","public_key"]'
fi

# --- writer -> reader --------------------------------------------------------------------
printf 'the plaintext\n' >plain
IN=plain check "writer makes an AcraStruct" run 0 "$ACRA" writer --keys_dir=keys --client_id=client1
cp out as.bin
check "AcraStruct is plaintext + 189 bytes" [ "$(size_of as.bin)" = $(($(size_of plain) + 189)) ]
IN=as.bin check "reader opens the AcraStruct" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... giving back the plaintext" cmp -s out plain
IN=as.bin check "wrong client id: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client2
check "  ... empty stdout and one line on stderr" [ ! -s out -a "$(wc -l <err | tr -d ' ')" = 1 ]

IN=plain check "writer needs no master key for an AcraStruct" run 0 env -u ACRA_MASTER_KEY "$ACRA" writer --keys_dir=keys --client_id=client1

IN=plain check "writer makes an AcraBlock" run 0 "$ACRA" writer --keys_dir=keys --client_id=client1 --acrablock
cp out ab.bin
check "AcraBlock is plaintext + 138 bytes" [ "$(size_of ab.bin)" = $(($(size_of plain) + 138)) ]
IN=ab.bin check "reader opens the AcraBlock" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... giving back the plaintext" cmp -s out plain
IN=plain check "AcraBlock needs the master key" run 1 env -u ACRA_MASTER_KEY "$ACRA" writer --keys_dir=keys --client_id=client1 --acrablock
check "  ... naming ACRA_MASTER_KEY, stdout empty" sh -c 'grep -q ACRA_MASTER_KEY err && [ ! -s out ]'

IN=plain check "writer makes a zone AcraStruct" run 0 "$ACRA" writer --keys_dir=keys --zone_id="$ZONE"
cp out zs.bin
IN=zs.bin check "reader opens it with the zone" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1 --zone_id="$ZONE"
check "  ... giving back the plaintext" cmp -s out plain
IN=zs.bin check "zone AcraStruct without the zone: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... empty stdout" [ ! -s out ]
OTHER=DDDDDDDDaaaaaaaaaaaaaaaa
IN=zs.bin check "unknown zone: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1 --zone_id=$OTHER
check "  ... empty stdout" [ ! -s out ]
IN=plain check "writer makes a zone AcraBlock" run 0 "$ACRA" writer --keys_dir=keys --zone_id="$ZONE" --acrablock
cp out zb.bin
IN=zb.bin check "reader opens the zone AcraBlock" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1 --zone_id="$ZONE"
check "  ... giving back the plaintext" cmp -s out plain

head -c 32 /dev/urandom >other.key
IN=as.bin check "wrong master key: exit 1" run 1 env ACRA_MASTER_KEY="$(base64 <other.key | tr -d '\n')" "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... empty stdout, one line on stderr" [ ! -s out -a "$(wc -l <err | tr -d ' ')" = 1 ]
head -c 100 as.bin >trunc.bin
IN=trunc.bin check "truncated AcraStruct: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... empty stdout" [ ! -s out ]
IN=plain check "plaintext is not an envelope: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... empty stdout" [ ! -s out ]

# rotation: the old key still opens old data
check "regenerate client1 storage keys" run 0 "$ACRA" keymaker --client_id=client1 --keys_output_dir=keys --keys_public_output_dir=keys --generate_acrawriter_keys
check "the old key is kept in client1_storage.old/" [ "$(ls keys/client1_storage.old | wc -l | tr -d ' ')" = 1 ]
IN=as.bin check "reader opens data made with the rotated key" run 0 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... giving back the plaintext" cmp -s out plain

# --- permissions -------------------------------------------------------------------------
chmod 640 keys/client1_storage
IN=as.bin check "group-readable private key: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... with the chmod 600 hint" grep -q "chmod 600 keys/client1_storage" err
check "  ... and empty stdout" [ ! -s out ]
chmod 600 keys/client1_storage
chmod 755 keys
IN=as.bin check "keys directory others may read: exit 1" run 1 "$ACRA" reader --keys_dir=keys --client_id=client1
check "  ... with the chmod 700 hint" grep -q "chmod 700 keys" err
chmod 700 keys

# --- symlinks ----------------------------------------------------------------------------
for m in keymaker addzone writer reader; do
	check "acra-$m symlink exists" [ -x "$ACRA_BUILD/acra-$m" ]
done
IN=as.bin check "acra-reader symlink runs the reader" run 0 "$ACRA_BUILD/acra-reader" --keys_dir=keys --client_id=client1

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
exit 0
