#!/bin/sh
# t/interop/20-acrastruct.sh: AcraStructs and AcraBlocks (plain and in %%% containers, with
# and without a zone context) made by lib/crypto open with an implementation of Acra's layout
# over the real Themis (npm wasm-themis 0.15.0), and the other way round; the codec reads
# what the JS side wrote. C side: build/acrastruct-tool; JS side: t/interop/acrastruct.js.
# Exit 77 (skip) when node/npm or the npm registry is unavailable.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ACRA_BUILD:-$root/build}
tool=$build/acrastruct-tool
npm_dir=$root/.cache/npm

command -v node >/dev/null 2>&1 || { echo "node not installed: skip"; exit 77; }
if [ ! -f "$npm_dir/node_modules/wasm-themis/package.json" ]; then
	command -v npm >/dev/null 2>&1 || { echo "npm not installed: skip"; exit 77; }
	mkdir -p "$npm_dir"
	if ! npm install --prefix "$npm_dir" --no-save --no-package-lock wasm-themis@0.15.0 \
		>"$npm_dir/install.log" 2>&1; then
		echo "cannot install wasm-themis (registry unreachable?): skip"
		exit 77
	fi
fi
[ -x "$tool" ] || { echo "missing $tool (make $tool)"; exit 1; }
export NODE_PATH="$npm_dir/node_modules"

C() { "$tool" "$@"; }
J() { node "$root/t/interop/acrastruct.js" "$@"; }
other() { [ "$1" = C ] && echo J || echo C; }

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
same() { if [ "$2" = "$3" ] && [ -n "$2" ]; then ok "$1"; else bad "$1 (got '$2' want '$3')"; fi; }
refuses() {
	name=$1; shift
	if "$@" >/dev/null 2>&1; then bad "$name (accepted)"; else ok "$name"; fi
}
hexof() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
rand() { od -An -v -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }
flip() {
	h=$1; i=$(($2 * 2))
	pre=""
	[ "$i" -gt 0 ] && pre=$(printf '%s' "$h" | cut -c1-$i)
	byte=$(printf '%s' "$h" | cut -c$((i + 1))-$((i + 2)))
	post=$(printf '%s' "$h" | cut -c$((i + 3))-)
	printf '%s%02x%s' "$pre" $((0x$byte ^ 1)) "$post"
}

# recipient keys from both sides
set -- $(C keygen); priv_C=$1 pub_C=$2
set -- $(J keygen); priv_J=$1 pub_J=$2
zone=$(hexof "$(C zone-id)")
zone2=$(hexof "DDDDDDDDaaaaaaaaaaaaaaaa")
kek=$(rand 32)
kek2=$(rand 32)

for side in C J; do
	o=$(other $side)
	for keys in C J; do
		eval "priv=\$priv_$keys pub=\$pub_$keys"
		for len in 1 100 5000; do
			pt=$(rand $len)
			for ctx in - "$zone"; do
				as=$($side as-enc "$pub" "$ctx" "$pt")
				same "AcraStruct $side->$o keys=$keys len=$len ctx=$ctx size" \
					"${#as}" $(((len + 189) * 2))
				same "AcraStruct $side->$o keys=$keys len=$len ctx=$ctx" \
					"$($o as-dec "$priv" "$ctx" "$as")" "$pt"
			done
		done
	done
	pt=$(rand 64)
	as=$($side as-enc "$pub_J" "$zone" "$pt")
	same "AcraStruct $side: tag, UEC2 key, Secure Message prefix" \
		"$(printf '%s' "$as" | cut -c1-32,107-122)" \
		"2222222222222222554543320000002d2027042654000000"
	refuses "AcraStruct $side->$o wrong zone" $o as-dec "$priv_J" "$zone2" "$as"
	refuses "AcraStruct $side->$o no zone context" $o as-dec "$priv_J" - "$as"
	refuses "AcraStruct $side->$o wrong key" $o as-dec "$priv_C" "$zone" "$as"
	for byte in 0 8 20 53 60 137 145 160 200; do
		refuses "AcraStruct $side->$o byte $byte flipped" $o as-dec "$priv_J" "$zone" "$(flip "$as" $byte)"
	done
	refuses "AcraStruct $side->$o trailing byte" $o as-dec "$priv_J" "$zone" "${as}00"

	for len in 1 100 5000; do
		pt=$(rand $len)
		for ctx in - "$zone"; do
			ab=$($side ab-enc "$kek" "$ctx" "$pt")
			same "AcraBlock $side->$o len=$len ctx=$ctx size" "${#ab}" $(((len + 138) * 2))
			same "AcraBlock $side->$o len=$len ctx=$ctx" "$($o ab-dec "$kek" "$ctx" "$ab")" "$pt"
		done
	done
	refuses "AcraBlock $side->$o wrong key" $o ab-dec "$kek2" - "$ab"
	refuses "AcraBlock $side->$o wrong context" $o ab-dec "$kek" "$zone2" "$ab"
	refuses "AcraBlock $side->$o byte 150 flipped" $o ab-dec "$kek" "$zone" "$(flip "$ab" 150)"
done

# %%% containers made by JS, read by the codec (whole-cell), with and without a zone
pt=$(rand 300)
same "codec reads a JS container with an AcraStruct" \
	"$(C codec "$priv_C" - - "$(J wrap f1 "$(J as-enc "$pub_C" - "$pt")")")" "$pt"
same "codec reads a JS container with an AcraBlock" \
	"$(C codec - "$kek" - "$(J wrap f0 "$(J ab-enc "$kek" - "$pt")")")" "$pt"
same "codec reads a bare JS AcraStruct bound to a zone" \
	"$(C codec "$priv_C" - "$zone" "$(J as-enc "$pub_C" "$zone" "$pt")")" "$pt"
refuses "codec: a zone AcraStruct without the zone" C codec "$priv_C" - - "$(J as-enc "$pub_C" "$zone" "$pt")"
same "C and JS containers are the same bytes" "$(C wrap f1 "abcd")" "$(J wrap f1 "abcd")"

echo "acrastruct interop: $pass ok, $fail failed"
[ "$fail" -eq 0 ]
