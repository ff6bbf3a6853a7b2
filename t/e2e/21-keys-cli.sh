#!/bin/sh
# 21-keys-cli.sh: acra keys (Acra's acra-keys) on a fresh keystore: generate and rotate
# (old values still decrypt, new ones use the new key), list (table, JSON, rotated keys),
# read (decrypted key bytes that really encrypt: a public key read from the keystore makes an
# AcraStruct acra reader opens), destroy, export and import into another keystore with
# another master key; and bad input: unknown command, missing or invalid ids, wrong master
# key, corrupted key file, wrong bundle secret - each a clear message, non-zero exit and
# nothing written or destroyed.
set -eu
ACRA_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$ACRA_TOP/t/lib/services.sh"
. "$ACRA_TOP/t/lib/assert.sh"
svc_init
T=$(svc_dir t)
ACRA=$(acra_bin)
cd "$T"
ACRA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export ACRA_MASTER_KEY
svc_secret "$ACRA_MASTER_KEY"
PT1=keys-cli-old-value-4e1d
PT2=keys-cli-new-value-9a0c
svc_secret "$PT1" "$PT2"
K="--keys_dir=$T/ks"
sums() { find "$1" -type f -exec sha256sum {} + 2>/dev/null | sort; }

run 0 "$ACRA" keys generate $K --client_id=client1 --client_storage_key --client_storage_symmetric_key
assert_grep "$OUT" 'Generated client storage key pair for client1' "generate prints what it made"
printf %s "$PT1" | "$ACRA" writer $K --client_id=client1 >"$T/v1.struct"
printf %s "$PT1" | "$ACRA" writer $K --client_id=client1 --acrablock >"$T/v1.block"
run 0 "$ACRA" keys read $K --public client/client1/storage
cp "$OUT" "$T/pub1"
# rotation: new keys, the old ones kept as history
run 0 "$ACRA" keys generate $K --client_id=client1 --client_storage_key --client_storage_symmetric_key
assert_grep "$OUT" 'Rotated client storage key pair for client1' "a second generate rotates"
run 0 "$ACRA" keys read $K --public client/client1/storage
cmp -s "$OUT" "$T/pub1" && fail "the rotated public key differs from the old one"
ok "the public key changed with the rotation"
for f in v1.struct v1.block; do
	assert_eq "$("$ACRA" reader $K --client_id=client1 <"$T/$f")" "$PT1" \
		"after rotation the old $f still decrypts (history key)"
done
printf %s "$PT2" | "$ACRA" writer $K --client_id=client1 >"$T/v2.struct"
# the new AcraStruct is under the new key: it opens with a keystore holding only the new key
mkdir -p "$T/only-new"
cp "$T/ks/client1_storage" "$T/ks/client1_storage.pub" "$T/only-new/"
chmod 700 "$T/only-new"
assert_eq "$("$ACRA" reader --keys_dir="$T/only-new" --client_id=client1 <"$T/v2.struct")" "$PT2" \
	"a value written after the rotation uses the new key"
"$ACRA" reader --keys_dir="$T/only-new" --client_id=client1 <"$T/v1.struct" >/dev/null 2>&1 &&
	fail "the old value opened without the history key"
ok "the old value needs the rotated key (it really was rotated)"

run 0 "$ACRA" keys generate $K --poison_record_keys
run 0 "$ACRA" keys list $K
assert_grep "$OUT" '^client storage key pair *| client1 *| client/client1/storage$' "list: table row of the storage key"
assert_grep "$OUT" '^poison record key pair *| *| poison-record$' "list: poison record key"
run 0 "$ACRA" keys list $K --json --rotated-keys
$SVC_PY -c 'import json,sys
d = json.load(open(sys.argv[1]))
ids = [k["ID"] for k in d if "Rotated" not in k]
rot = [k for k in d if "Rotated" in k]
assert ids == ["client/client1/storage", "client/client1/symmetric", "poison-record", "poison-record-symmetric"], ids
assert len(rot) == 2 and all(k["ClientID"] == "client1" for k in rot), rot' "$OUT" ||
	fail "list --json --rotated-keys"
ok "list --json --rotated-keys: current keys and the two rotated ones"

# read: the bytes are the keys themselves
run 0 "$ACRA" keys read $K client/client1/symmetric
assert_eq "$(wc -c <"$OUT")" 32 "read of a symmetric key: 32 raw bytes"
run 0 "$ACRA" keys read $K --private client/client1/storage
assert_eq "$(head -c 4 "$OUT")" REC2 "read --private: the private key container"
run 0 "$ACRA" keys read $K --keys_dir="$T/ks" storage-public --client_id=client1
cmp -s "$OUT" "$T/pub1" && fail "Acra 0.93 kind storage-public reads the current key"
ok "Acra 0.93 read kind storage-public with --client_id"

# bad input
sums "$T/ks" >"$T/before"
run 2 "$ACRA" keys frobnicate $K
assert_grep "$ERR" 'unknown command' "unknown command"
run 2 "$ACRA" keys $K
assert_grep "$ERR" 'no command' "no command"
run 2 "$ACRA" keys read $K client/client1/storage
assert_grep "$ERR" 'choose --public or --private' "read of a pair without a part"
run 2 "$ACRA" keys read $K client/x/storage
assert_grep "$ERR" 'invalid id' "an id shorter than 5 characters"
run 2 "$ACRA" keys read $K nothing/like/this
assert_grep "$ERR" 'unknown key id' "an unknown key id"
run 2 "$ACRA" keys generate $K --client_storage_key
assert_grep "$ERR" 'client_id is required' "generate without --client_id"
run 1 "$ACRA" keys read $K client/nobody1/symmetric
assert_grep "$ERR" 'cannot read' "a key that does not exist"
run 1 env ACRA_MASTER_KEY="$(head -c 32 /dev/urandom | base64 -w0)" "$ACRA" keys read $K \
	client/client1/symmetric
assert_grep "$ERR" 'cannot read' "a wrong master key"
run 1 env -u ACRA_MASTER_KEY "$ACRA" keys generate $K --client_id=client2 --client_storage_key
assert_grep "$ERR" "can't load master key" "no master key"
cp "$T/ks/client1_storage_sym" "$T/sym.bak"
printf 'garbage' >"$T/ks/client1_storage_sym"
run 1 "$ACRA" keys read $K client/client1/symmetric
assert_grep "$ERR" 'cannot read' "a corrupted key file"
cp "$T/sym.bak" "$T/ks/client1_storage_sym"
sums "$T/ks" >"$T/after"
cmp -s "$T/before" "$T/after" || fail "bad input changed the keystore"
ok "none of the bad commands changed a key file"

# export / import into a keystore with another master key
run 0 "$ACRA" keys export $K --key_bundle_file="$T/bundle" --key_bundle_secret="$T/bundle.key" \
	--private_keys client/client1/storage client/client1/symmetric
assert_grep "$OUT" 'Exported 2 keys' "export of two keys"
[ "$(stat -c %a "$T/bundle.key")" = 600 ] || fail "bundle key file is 0600"
grep -q "$PT1" "$T/bundle" && fail "the bundle holds plaintext"
run 1 "$ACRA" keys export $K --key_bundle_file="$T/bundle" --key_bundle_secret="$T/other.key" --all
assert_grep "$ERR" 'must not exist' "export never overwrites a bundle"
OTHER=$(head -c 32 /dev/urandom | base64 -w0)
svc_secret "$OTHER"
head -c 32 /dev/urandom | base64 -w0 >"$T/wrong.key"
run 1 env ACRA_MASTER_KEY="$OTHER" "$ACRA" keys import --keys_dir="$T/ks2" \
	--key_bundle_file="$T/bundle" --key_bundle_secret="$T/wrong.key"
assert_grep "$ERR" 'wrong key or damaged bundle' "import with a wrong bundle key"
[ ! -e "$T/ks2" ] || fail "a failed import wrote nothing"
run 0 env ACRA_MASTER_KEY="$OTHER" "$ACRA" keys import --keys_dir="$T/ks2" \
	--key_bundle_file="$T/bundle" --key_bundle_secret="$T/bundle.key"
assert_eq "$(ACRA_MASTER_KEY=$OTHER "$ACRA" reader --keys_dir="$T/ks2" --client_id=client1 <"$T/v2.struct")" \
	"$PT2" "after import into another keystore (other master key) the value decrypts"

# destroy
run 0 "$ACRA" keys destroy $K client/client1/symmetric
[ ! -e "$T/ks/client1_storage_sym" ] && [ -d "$T/ks/client1_storage_sym.old" ] ||
	fail "destroy removes the current key and keeps the rotated ones"
ok "destroy removes the current symmetric key, history kept"
run 1 "$ACRA" keys destroy $K client/client1/symmetric
assert_grep "$ERR" 'cannot destroy' "destroying it again fails clearly"
"$ACRA" keymaker --client_id=conn1 --generate_acraconnector_keys --keys_output_dir="$T/ks" \
	--keys_public_output_dir="$T/ks" >/dev/null 2>&1
run 0 "$ACRA" keys destroy $K transport-connector --client_id=conn1
[ ! -e "$T/ks/conn1" ] && [ ! -e "$T/ks/conn1.pub" ] || fail "transport-connector destroyed"
ok "Acra 0.93 destroy transport-connector --client_id"
