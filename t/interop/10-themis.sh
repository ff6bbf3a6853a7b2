#!/bin/sh
# t/interop/10-themis.sh: lib/crypto against the real Themis (npm wasm-themis 0.15.0), both
# directions for every primitive: keys, Secure Cell Seal (key and passphrase), Token Protect,
# Context Imprint, Secure Message encrypt and sign. C side: build/themis-tool; JS side:
# t/interop/themis.js. Exit 77 (skip) when node/npm or the npm registry is unavailable.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ACRA_BUILD:-$root/build}
tool=$build/themis-tool
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
J() { node "$root/t/interop/themis.js" "$@"; }
# run SIDE CMD ARGS: C or J
run() { "$@"; }
other() { [ "$1" = C ] && echo J || echo C; }

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# same NAME GOT WANT
same() { if [ "$2" = "$3" ] && [ -n "$2" ]; then ok "$1"; else bad "$1 (got '$2' want '$3')"; fi; }
# refuses NAME SIDE CMD ARGS: the command must fail
refuses() {
	name=$1; shift
	if run "$@" >/dev/null 2>&1; then bad "$name (accepted)"; else ok "$name"; fi
}

hexof() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
rand() { od -An -v -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }
flip() { # flip the lowest bit of byte $2 of hex $1
	h=$1; i=$(($2 * 2))
	pre=""
	[ "$i" -gt 0 ] && pre=$(printf '%s' "$h" | cut -c1-$i)
	byte=$(printf '%s' "$h" | cut -c$((i + 1))-$((i + 2)))
	post=$(printf '%s' "$h" | cut -c$((i + 3))-)
	printf '%s%02x%s' "$pre" $((0x$byte ^ 1)) "$post"
}

key=$(rand 32)
key16=$(rand 16)
ctx=$(hexof "acra-interop-ctx")
ctx2=$(hexof "acra-interop-ctX")

# Keys made on each side work on the other: containers validate, the public half matches.
for side in C J; do
	o=$(other $side)
	set -- $(run $side keygen)
	priv=$1 pub=$2
	same "$side keygen: private key accepted by $o" "$(run $o check-priv "$priv")" ok
	same "$side keygen: public key accepted by $o" "$(run $o check-pub "$pub")" ok
	eval "priv_$side=$priv pub_$side=$pub"
done
same "J keygen: C derives the same public key" "$(C pub "$priv_J")" "$pub_J"
same "C keygen: REC2, 45 bytes, payload 00 || d" "$(printf '%s' "$priv_C" | cut -c1-8,9-16,25-26)" \
	"524543320000002d00"
same "C keygen: UEC2, 45 bytes, compressed" "$(printf '%s' "$pub_C" | cut -c1-16)" "554543320000002d"
# a private key with a 32-byte payload (44-byte container) made by C works in wasm-themis
ng=$(C ng "$priv_C")
same "44-byte REC2 accepted by J" "$(J check-priv "$ng")" ok
m=$(rand 32)
same "44-byte REC2: J encrypts, C decrypts with the 45-byte form" \
	"$(C sm-dec "$priv_J" "$pub_C" "$(J sm-enc "$ng" "$pub_J" "$m")")" "$m"
for side in C J; do
	refuses "$side rejects a key with a bad CRC" $side check-pub "$(flip "$pub_C" 9)"
	refuses "$side rejects a private key as public" $side check-pub "$priv_C"
	refuses "$side rejects a public key as private" $side check-priv "$pub_C"
done

# Secure Cell Seal with key, both directions, with/without context, several lengths.
for side in C J; do
	o=$(other $side)
	for len in 1 100 4000; do
		pt=$(rand $len)
		for c in "$ctx" -; do
			ct=$(run $side seal-enc "$key" "$c" "$pt")
			same "seal $side->$o len=$len ctx=$c" "$(run $o seal-dec "$key" "$c" "$ct")" "$pt"
		done
	done
	ct=$(run $side seal-enc "$key16" "$ctx" "$pt")
	same "seal $side->$o 16-byte key" "$(run $o seal-dec "$key16" "$ctx" "$ct")" "$pt"
	ct=$(run $side seal-enc "$key" "$ctx" "$pt")
	refuses "seal $side->$o wrong context" $o seal-dec "$key" "$ctx2" "$ct"
	refuses "seal $side->$o no context" $o seal-dec "$key" - "$ct"
	refuses "seal $side->$o wrong key" $o seal-dec "$key16" "$ctx" "$ct"
	for byte in 0 12 16 28 44 60; do
		refuses "seal $side->$o byte $byte flipped" $o seal-dec "$key" "$ctx" "$(flip "$ct" $byte)"
	done
	refuses "seal $side: empty plaintext" $side seal-enc "$key" "$ctx" -
done

# Token Protect
for side in C J; do
	o=$(other $side)
	pt=$(rand 300)
	set -- $(run $side token-enc "$key" "$ctx" "$pt")
	same "token $side->$o" "$(run $o token-dec "$key" "$ctx" "$2" "$1")" "$pt"
	refuses "token $side->$o wrong context" $o token-dec "$key" "$ctx2" "$2" "$1"
	refuses "token $side->$o data flipped" $o token-dec "$key" "$ctx" "$(flip "$2" 5)" "$1"
done

# Context Imprint is deterministic: outputs must be identical, and each side inverts the other.
pt=$(rand 777)
ci=$(C imprint "$key" "$ctx" "$pt")
same "imprint C == J" "$ci" "$(J imprint "$key" "$ctx" "$pt")"
same "imprint J inverts C" "$(J imprint "$key" "$ctx" "$ci")" "$pt"
same "imprint C inverts J" "$(C imprint "$key" "$ctx" "$(J imprint "$key" "$ctx" "$pt")")" "$pt"
refuses "imprint C: empty context" C imprint "$key" - "$pt"

# Seal with a passphrase (PBKDF2, 314110 rounds: one run per direction)
pass_hex=$(hexof "correct horse")
for side in C J; do
	o=$(other $side)
	pt=$(rand 50)
	ct=$(run $side pass-enc "$pass_hex" "$ctx" "$pt")
	same "passphrase $side->$o" "$(run $o pass-dec "$pass_hex" "$ctx" "$ct")" "$pt"
	refuses "passphrase $side->$o wrong passphrase" $o pass-dec "$(hexof "correct horsE")" "$ctx" "$ct"
done

# Secure Message encrypt: sender keys from one side, receiver keys from the other.
for side in C J; do
	o=$(other $side)
	for keys in CJ JC CC JJ; do
		s=$(printf '%s' $keys | cut -c1) r=$(printf '%s' $keys | cut -c2)
		eval "sp=\$priv_$s spub=\$pub_$s rp=\$priv_$r rpub=\$pub_$r"
		m=$(rand 32)
		w=$(run $side sm-enc "$sp" "$rpub" "$m")
		same "smessage $side->$o keys $keys (84 bytes)" "${#w}" 168
		same "smessage $side->$o keys $keys" "$(run $o sm-dec "$rp" "$spub" "$w")" "$m"
	done
	w=$(run $side sm-enc "$priv_C" "$pub_J" "$(rand 1000)")
	refuses "smessage $side->$o wrong peer key" $o sm-dec "$priv_J" "$pub_J" "$w"
	refuses "smessage $side->$o length field changed" $o sm-dec "$priv_J" "$pub_C" "$(flip "$w" 4)"
	refuses "smessage $side->$o body flipped" $o sm-dec "$priv_J" "$pub_C" "$(flip "$w" 70)"
	refuses "smessage $side: public key as private" $side sm-enc "$pub_C" "$pub_J" 00
done

# Secure Message sign / verify
for side in C J; do
	o=$(other $side)
	for k in C J; do
		eval "sp=\$priv_$k spub=\$pub_$k"
		m=$(rand 200)
		sg=$(run $side sign "$sp" "$m")
		same "sign $side->verify $o, key from $k" "$(run $o verify "$spub" "$sg")" "$m"
	done
	sg=$(run $side sign "$priv_C" "$m")
	refuses "verify $o: wrong public key" $o verify "$pub_J" "$sg"
	refuses "verify $o: message byte flipped" $o verify "$pub_C" "$(flip "$sg" 20)"
done

echo "themis interop: $pass ok, $fail failed"
[ "$fail" -eq 0 ]
