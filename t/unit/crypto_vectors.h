/* t/unit/crypto_vectors.h: known-answer data from spec/themis.md, produced by wasm-themis
 * 0.15.0, and a hex decoder for the crypto suites. */
#ifndef ACRA_T_UNIT_CRYPTO_VECTORS_H
#define ACRA_T_UNIT_CRYPTO_VECTORS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decode hex (spaces ignored) into a malloc'd buffer; *len is its length. */
static inline uint8_t *unhex(const char *h, size_t *len)
{
	size_t n = 0, cap = strlen(h) / 2 + 1;
	uint8_t *out = malloc(cap);
	int hi = -1;

	for (; out != NULL && *h; h++) {
		int v;

		if (*h >= '0' && *h <= '9')
			v = *h - '0';
		else if (*h >= 'a' && *h <= 'f')
			v = *h - 'a' + 10;
		else if (*h >= 'A' && *h <= 'F')
			v = *h - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*len = n;
	return out;
}

#define VEC_KEY32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/* §2.3 example A: Seal, context "ctx-1", plaintext "Hello, Acra!" */
#define VEC_SEAL_A                                                                              \
	"000101400c000000100000000c000000982e724c22cff6709f4bda112b7d6602dfee6b5a76f51e131ed2df9d" \
	"a4958f6e66bb095aa36f0631"
#define VEC_SEAL_A_DK "346e361693b2f683e22e08d1be904760cf0dfe8cc8757aefea46bfc13a7f04c5"
/* §2.3 example B: no context */
#define VEC_SEAL_B                                                                              \
	"000101400c000000100000000c0000001352ce5ece32434a36bdfaf381832260dbc743dc210d192c0c3e0f6f" \
	"6b7e98d2b13b58d7930996b6"
#define VEC_SEAL_B_DK "f7844db7142d18527d1313939c417f17745a212825222c6915eebcfa07249845"
/* 16-byte master key 00112233445566778899aabbccddeeff, no context */
#define VEC_KEY16 "00112233445566778899aabbccddeeff"
#define VEC_SEAL_K16                                                                            \
	"000101400c000000100000000c0000004a42784526027fb824731fcea5a269a65935535b950242d23a6e5bb4" \
	"227f641e733db173dc68b5a3"
/* §2.4 Token Protect */
#define VEC_TOKEN "000101400c000000100000000c000000729e062ad510dc135cac097ed1c221682be31bf85a0339de63910b32"
#define VEC_TOKEN_DATA "5439edc3b3268f8aa6cae9c0"
/* §2.5 Context Imprint */
#define VEC_IMPRINT "44707eb2899765a9bcaaf792"
/* §2.6 passphrase "secret" */
#define VEC_PASS                                                                                \
	"000101410c000000100000000c000000160000000bf0eb5e38c92870187a745ee46a36e42a5faf17059cc564" \
	"71dacb56feca04001000b01f1105ffa2f693c72dfba62c7ac50ad652eeba6233bcc098a9ce47"

/* §1.3 / §3.2 key pairs A and B */
#define VEC_PRIV_A "524543320000002d90d0292400d1e738b5ef8ebadc43f213f7df1611198d3d05abd75681ee81c99363dc3dad13"
#define VEC_PUB_A "554543320000002de9d3b0ad031c5c9e5ed0d5f02fa315320ec1bb44c47f1842a59b3bdb28eda04afbc1969e1c"
#define VEC_PRIV_B "524543320000002d30a37bbb00876fe937629ff50dcc5ade5f2dd0afd8c8bbd711a318ce6cf1170706d65b3b41"
#define VEC_PUB_B "554543320000002d253f10a20398090ab82aeeabd430d29be0ebf7e66f544513fe3da27c549e0df2140a2f77c2"
#define VEC_ECDH_AB "31adf75a711d85bff7074d87dc663003e3b3594317c7b8c4639850837b3eb739"
/* §3.2 example C: Secure Message (A private, B public), 32-byte payload */
#define VEC_SM_PAYLOAD "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define VEC_SM_ENC                                                                              \
	"20270426 54000000 00010140 0c000000 10000000 20000000 ea4ae25776f83244f4147c9c"             \
	"177c3c60113739ec1b6b16a217645483"                                                         \
	"5039dc5aa8624f8bdc3e6a3a7f0dba49ba61ac5f46769a47a3207d9c2201d8d0"
#define VEC_SM_CELL_KEY "7f02ddfbb807bf1b4988eec04ec50e22c52ff95aeb9ebb66b3d7d92eaa832a7c"
/* §3.3 signed "Hello, Acra!" with private key A */
#define VEC_SM_SIGNED                                                                           \
	"202604260c0000004600000048656c6c6f2c204163726121304402200dd1af9a3c51d9ed8c620ae9981ef7" \
	"18f0a02c5e23c251fd7e44c4edcbebe2f2022006bffd94ac5cc1aa186c73bcc4201af731db3b39192b9c4c" \
	"ff6bfd2677a3e2cb"

/* §4.6b Secure Session key schedule (implicit-key KDF) */
#define VEC_SS_EC "554543320000002d0cf9b89f020217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed"
#define VEC_SS_ES "554543320000002de9dbab3703d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf3"
#define VEC_SS_Z "ccfc261f58193c98ca4ad4a53bbac6f0ee29bc4d48438090446908622ca79af6"
#define VEC_SS_SID "33a6a095"
#define VEC_SS_MK "57d9aafc2c19d9bb6bc2c414fdb1445119f090b38bf3f83f15ac6c692fae2844"
#define VEC_SS_KC "7c530508f2be9ca8ba02c362b3c21e92440e4b30d385390b04b0c1c0fe6d5d94"

#endif
