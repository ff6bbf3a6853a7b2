#!/bin/sh
# contrib/fuzz/seeds_codec.sh BUILD_DIR CORPUS_DIR: seed inputs for fuzz_codec made with its fixed
# test keys: AcraStructs (bare, in %%% containers, zone-bound), AcraBlocks, in raw, bytea hex
# and escape forms, and inline with junk around. Needs BUILD_DIR/acrastruct-tool.
set -eu
build=$1
out=$2
tool=$build/acrastruct-tool
[ -x "$tool" ] || { echo "missing $tool"; exit 1; }
mkdir -p "$out"
pub_b=554543320000002d253f10a20398090ab82aeeabd430d29be0ebf7e66f544513fe3da27c549e0df2140a2f77c2
kek=4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b
zone=$(printf 'DDDDDDDDtestzonetestzone' | od -An -v -tx1 | tr -d ' \n')
pt=$(printf 'fuzz seed plaintext' | od -An -v -tx1 | tr -d ' \n')

as=$("$tool" as-enc "$pub_b" - "$pt")
asz=$("$tool" as-enc "$pub_b" "$zone" "$pt")
ab=$("$tool" ab-enc "$kek" - "$pt")
cas=$("$tool" wrap f1 "$as")
cab=$("$tool" wrap f0 "$ab")
# write SELECTOR HEXVALUE NAME
seed() { { printf "\\$(printf '%03o' "$1")"; printf '%s' "$2" | xxd -r -p; } >"$out/$3"; }
hexform() { printf '\\x%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
i=0
for v in "$as" "$ab" "$cas" "$cab"; do
	seed 0 "$v" "raw-whole-$i"
	seed 4 "2d2d${v}2d2d${cas}2d" "raw-inline-$i"
	seed 1 "$(hexform "$v")" "hex-whole-$i"
	seed 13 "$(hexform "2222${v}25")" "hex-inline-poison-$i"
	i=$((i + 1))
done
seed 16 "$asz" "zone-whole"
seed 32 "$zone" "zone-column"
echo "seeds in $out: $(ls "$out" | wc -l)"
