#!/bin/sh
# t/interop/30-acrawriter.sh: the application API. Builds docs/examples/acrawriter_example.c
# against libacrawriter.a exactly as docs/acrawriter.md says, encrypts with keys made by the
# real Themis (wasm-themis) and checks that the JS implementation of Acra's layout
# (t/interop/acrastruct.js) and the codec open the results. Exit 77 without node/npm.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ACRA_BUILD:-$root/build}
npm_dir=$root/.cache/npm
tool=$build/acrastruct-tool

command -v node >/dev/null 2>&1 || { echo "node not installed: skip"; exit 77; }
have_themis() { grep -q '"version": "0.15.0"' "$npm_dir/node_modules/wasm-themis/package.json" 2>/dev/null; }
# 20-acrastruct.sh installs wasm-themis when it is missing
have_themis || sh "$root/t/interop/20-acrastruct.sh" >/dev/null 2>&1
have_themis || { echo "no wasm-themis 0.15.0: skip"; exit 77; }
[ -f "$build/libacrawriter.a" ] && [ -x "$tool" ] || { echo "missing libacrawriter.a or acrastruct-tool"; exit 1; }
export NODE_PATH="$npm_dir/node_modules"
J() { node "$root/t/interop/acrastruct.js" "$@"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
same() { if [ "$2" = "$3" ] && [ -n "$2" ]; then ok "$1"; else bad "$1 (got '$2' want '$3')"; fi; }
tohex() { od -An -v -tx1 | tr -d ' \n'; }

# the command line of docs/acrawriter.md
# A library from a sanitizer build (build-asan/) needs the sanitizer runtimes at link time.
san=
case $build in *-asan*) san="-fsanitize=address,undefined" ;; esac
if cc -O2 -Wall -Wextra -Werror $san -I"$root" -o "$tmp/example" \
	"$root/docs/examples/acrawriter_example.c" "$build/libacrawriter.a" \
	$(pkg-config --libs libcrypto libsodium) -lpthread; then
	ok "example builds against libacrawriter.a"
else
	bad "example builds against libacrawriter.a"
	exit 1
fi

set -- $(J keygen); priv=$1 pub=$2
printf '%s' "$pub" | xxd -r -p >"$tmp/client_storage.pub"
zone=DDDDDDDDexampleZoneIdAbc
zhex=$(printf '%s' "$zone" | tohex)
head -c 32 /dev/urandom >"$tmp/client_storage_sym"
kek=$(tohex <"$tmp/client_storage_sym")
head -c 3000 /dev/urandom >"$tmp/data"
want=$(tohex <"$tmp/data")

ACRAWRITER_BARE=1 "$tmp/example" struct "$tmp/client_storage.pub" <"$tmp/data" >"$tmp/as"
same "bare AcraStruct is 189 bytes longer" "$(wc -c <"$tmp/as" | tr -d ' ')" 3189
same "wasm-themis opens the bare AcraStruct" "$(J as-dec "$priv" - "$(tohex <"$tmp/as")")" "$want"
ACRAWRITER_BARE=1 "$tmp/example" struct "$tmp/client_storage.pub" "$zone" <"$tmp/data" >"$tmp/asz"
same "wasm-themis opens the zone AcraStruct with the zone context" \
	"$(J as-dec "$priv" "$zhex" "$(tohex <"$tmp/asz")")" "$want"
"$tmp/example" struct "$tmp/client_storage.pub" <"$tmp/data" >"$tmp/cas"
same "serialized AcraStruct starts with %%% and id f1" \
	"$(head -c 12 "$tmp/cas" | tohex | cut -c1-6,23-24)" 252525f1
same "the codec opens the serialized AcraStruct" \
	"$("$tool" codec "$priv" - - "$(tohex <"$tmp/cas")")" "$want"
"$tmp/example" block "$tmp/client_storage_sym" <"$tmp/data" >"$tmp/cab"
same "serialized AcraBlock is 150 bytes longer" "$(wc -c <"$tmp/cab" | tr -d ' ')" 3150
same "wasm-themis opens the AcraBlock" \
	"$(J ab-dec "$kek" - "$(tail -c +13 "$tmp/cab" | tohex)")" "$want"
if "$tmp/example" struct "$tmp/client_storage.pub" "DDDDDDDDnot-a-zone-id!!!" <"$tmp/data" >/dev/null 2>&1; then
	bad "a malformed zone id is refused"
else
	ok "a malformed zone id is refused"
fi
if "$tmp/example" struct "$tmp/client_storage_sym" <"$tmp/data" >/dev/null 2>&1; then
	bad "a symmetric key is refused as a public key"
else
	ok "a symmetric key is refused as a public key"
fi

echo "acrawriter interop: $pass ok, $fail failed"
[ "$fail" -eq 0 ]
