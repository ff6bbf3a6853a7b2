/* lib/crypto/cell.c: Themis Secure Cell (spec/themis.md §2.3-§2.6).
 *
 * Seal layout: LE32 alg || LE32 ivlen || LE32 taglen || LE32 mlen || IV || tag || ciphertext,
 * then for a passphrase LE32 kdf-context length after mlen and the PBKDF2 context (LE32
 * iterations, LE16 salt length, salt) after the tag. The AES key is always
 * soter_kdf(K, "Themis secure cell message key", [LE32(mlen), context]); the context is also
 * the GCM AAD. Header fields are not authenticated by GCM, so every one is checked here. */
#include "lib/crypto/cell.h"

#include <string.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/soter.h"
#include "lib/crypto/sym.h"
#include "lib/secmem.h"

/* Algorithm id fields (§2.2). */
#define ALG_CIPHER_MASK 0xF0000000u
#define ALG_KDF_MASK 0x0F000000u
#define ALG_PAD_MASK 0x000F0000u
#define ALG_KEYBITS_MASK 0x00000FFFu
#define ALG_RESERVED_MASK (~(ALG_CIPHER_MASK | ALG_KDF_MASK | ALG_PAD_MASK | ALG_KEYBITS_MASK))
#define ALG_AES_GCM 0x40000000u
#define ALG_KDF_SOTER 0x00000000u
#define ALG_KDF_PBKDF2 0x01000000u
#define ALG_PAD_PKCS7 0x00010000u /* Themis sets it for GCM too */
#define ALG_SEAL_KEY (ALG_AES_GCM | ALG_KDF_SOTER | ALG_PAD_PKCS7 | 256u)
#define ALG_SEAL_PASS (ALG_AES_GCM | ALG_KDF_PBKDF2 | ALG_PAD_PKCS7 | 256u)

#define HDR_LEN 16      /* alg, ivlen, taglen, mlen */
#define PASS_HDR_LEN 20 /* plus the kdf context length */
#define PBKDF2_ITER 314110u
#define PBKDF2_SALT_LEN 16
#define PBKDF2_CTX_LEN (4 + 2 + PBKDF2_SALT_LEN)
#define PASS_OVERHEAD (PASS_HDR_LEN + SYM_GCM_IV_LEN + SYM_GCM_TAG_LEN + PBKDF2_CTX_LEN)

static const char key_label[] = "Themis secure cell message key";
static const char iv_label[] = "Themis secure cell message iv";

/* DK = soter_kdf(K, key_label, [LE32(mlen), ctx], dk_len) (§2.3 step 2). */
static int message_key(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		       uint32_t mlen, uint8_t *dk, size_t dk_len)
{
	uint8_t len_le[4];
	struct soter_ctx kc[2] = { { len_le, 4 }, { ctx, ctx_len } };

	wr_le32(len_le, mlen);
	return soter_kdf(key, key_len, key_label, kc, ctx != NULL && ctx_len > 0 ? 2 : 1, dk, dk_len);
}

/* A parsed Seal token: pointers into the caller's buffer. */
struct token {
	uint32_t alg, mlen;
	const uint8_t *iv, *tag;
	uint32_t iter;      /* passphrase mode */
	const uint8_t *salt;
	size_t salt_len;
};

/* Parse and check a token whose ciphertext is data_len bytes (§2.3 decryption steps 2-4,
 * §2.6). want_kdf selects key or passphrase mode. */
static int token_parse(const uint8_t *t, size_t t_len, size_t data_len, uint32_t want_kdf,
		       struct token *tk)
{
	size_t hdr = want_kdf == ALG_KDF_PBKDF2 ? PASS_HDR_LEN : HDR_LEN;
	uint64_t ivlen, taglen, need, kdf_len = 0;
	uint32_t keybits;

	if (t == NULL || t_len < hdr)
		return ACRA_EPROTO;
	tk->alg = rd_le32(t);
	ivlen = rd_le32(t + 4);
	taglen = rd_le32(t + 8);
	tk->mlen = rd_le32(t + 12);
	if (want_kdf == ALG_KDF_PBKDF2)
		kdf_len = rd_le32(t + 16);
	/* 64-bit sums: each term is below 2^32 */
	need = (uint64_t)hdr + ivlen + taglen + kdf_len;
	if (need != t_len)
		return ACRA_EPROTO;
	if (tk->mlen != data_len || tk->mlen == 0)
		return ACRA_EPROTO;
	/* the reference takes the first 12 IV and 16 tag bytes of longer fields */
	if (ivlen < SYM_GCM_IV_LEN || taglen < SYM_GCM_TAG_LEN)
		return ACRA_EPROTO;
	if ((tk->alg & ALG_RESERVED_MASK) != 0 || (tk->alg & ALG_CIPHER_MASK) != ALG_AES_GCM ||
	    (tk->alg & ALG_KDF_MASK) != want_kdf || (tk->alg & ALG_PAD_MASK) != ALG_PAD_PKCS7)
		return ACRA_EPROTO;
	keybits = tk->alg & ALG_KEYBITS_MASK;
	if (want_kdf == ALG_KDF_PBKDF2 ? keybits != 256
				       : keybits != 128 && keybits != 192 && keybits != 256)
		return ACRA_EPROTO;
	tk->iv = t + hdr;
	tk->tag = tk->iv + ivlen;
	tk->iter = 0;
	tk->salt = NULL;
	tk->salt_len = 0;
	if (want_kdf == ALG_KDF_PBKDF2) {
		const uint8_t *k = tk->tag + taglen;

		if (kdf_len < 6)
			return ACRA_EPROTO;
		tk->iter = rd_le32(k);
		tk->salt_len = (size_t)k[4] | (size_t)k[5] << 8; /* LE16 */
		tk->salt = k + 6;
		if (tk->iter == 0 || 6 + (uint64_t)tk->salt_len > kdf_len)
			return ACRA_EPROTO;
	}
	return ACRA_OK;
}

/* Encrypt into hdr (token: 16-byte header, IV, tag, already-written extras) and ct.
 * hdr_len is the whole token length; the PBKDF2 part (if any) is filled by the caller. */
static int seal_core(const uint8_t *key, size_t key_len, uint32_t alg, const uint8_t *ctx,
		     size_t ctx_len, const uint8_t *pt, size_t pt_len, uint8_t *tok, size_t hdr,
		     uint8_t *ct)
{
	uint8_t dk[SYM_KEY_LEN], *iv, *tag;
	int rc;

	if (key == NULL || key_len == 0 || pt == NULL || pt_len == 0 || pt_len > UINT32_MAX ||
	    (ctx == NULL && ctx_len > 0))
		return ACRA_EINVAL;
	wr_le32(tok, alg);
	wr_le32(tok + 4, SYM_GCM_IV_LEN);
	wr_le32(tok + 8, SYM_GCM_TAG_LEN);
	wr_le32(tok + 12, (uint32_t)pt_len);
	iv = tok + hdr;
	tag = iv + SYM_GCM_IV_LEN;
	randombytes_buf(iv, SYM_GCM_IV_LEN);
	rc = message_key(key, key_len, ctx, ctx_len, (uint32_t)pt_len, dk, sizeof(dk));
	if (rc == ACRA_OK)
		rc = sym_gcm_seal(dk, iv, ctx, ctx_len, pt, pt_len, ct, tag);
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

/* Decrypt data with a parsed token and master key (passphrase prekey for §2.6). */
static int open_core(const uint8_t *key, size_t key_len, const struct token *tk,
		     const uint8_t *ctx, size_t ctx_len, const uint8_t *data, uint8_t *out)
{
	uint8_t dk[SYM_KEY_LEN];
	size_t dk_len = (tk->alg & ALG_KEYBITS_MASK) / 8;
	struct sym_seg s = { data, out, tk->mlen };
	int rc;

	rc = message_key(key, key_len, ctx, ctx_len, tk->mlen, dk, dk_len);
	if (rc == ACRA_OK)
		rc = sym_gcm_decrypt(dk, dk_len, tk->iv, ctx, ctx_len, &s, 1, tk->tag);
	sodium_memzero(dk, sizeof(dk));
	return rc;
}

int cell_seal_encrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	if (out == NULL)
		return ACRA_EINVAL;
	return seal_core(key, key_len, ALG_SEAL_KEY, ctx, ctx_len, pt, pt_len, out, HDR_LEN,
			 out + CELL_SEAL_OVERHEAD);
}

/* Split a sealed cell into token and data by its message length field (§2.3 step 1). */
static int seal_split(const uint8_t *ct, size_t ct_len, size_t *token_len)
{
	uint32_t mlen;

	if (ct == NULL || ct_len < HDR_LEN)
		return ACRA_EPROTO;
	mlen = rd_le32(ct + 12);
	if (mlen > ct_len)
		return ACRA_EPROTO;
	*token_len = ct_len - mlen;
	return ACRA_OK;
}

int cell_seal_plain_len(const uint8_t *ct, size_t ct_len, size_t *pt_len)
{
	struct token tk;
	size_t t_len;
	int rc;

	*pt_len = 0;
	rc = seal_split(ct, ct_len, &t_len);
	if (rc == ACRA_OK)
		rc = token_parse(ct, t_len, ct_len - t_len, ALG_KDF_SOTER, &tk);
	if (rc == ACRA_OK)
		*pt_len = tk.mlen;
	return rc;
}

int cell_seal_decrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *ct, size_t ct_len, uint8_t *out, size_t *pt_len)
{
	struct token tk;
	size_t t_len;
	int rc;

	*pt_len = 0;
	if (key == NULL || key_len == 0 || out == NULL || (ctx == NULL && ctx_len > 0))
		return ACRA_EINVAL;
	rc = seal_split(ct, ct_len, &t_len);
	if (rc == ACRA_OK)
		rc = token_parse(ct, t_len, ct_len - t_len, ALG_KDF_SOTER, &tk);
	if (rc == ACRA_OK)
		rc = open_core(key, key_len, &tk, ctx, ctx_len, ct + t_len, out);
	if (rc == ACRA_OK)
		*pt_len = tk.mlen;
	return rc;
}

size_t cell_pass_overhead(void)
{
	return PASS_OVERHEAD;
}

int cell_pass_encrypt(const char *pass, size_t pass_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *pt, size_t pt_len, uint8_t *out, size_t *out_len)
{
	uint8_t prekey[SYM_KEY_LEN], *kctx;
	int rc;

	*out_len = 0;
	if (pass == NULL || pass_len == 0 || out == NULL || pt_len > UINT32_MAX - PASS_OVERHEAD)
		return ACRA_EINVAL;
	/* PBKDF2 context after IV and tag: LE32 iterations, LE16 salt length, salt (§2.6) */
	kctx = out + PASS_HDR_LEN + SYM_GCM_IV_LEN + SYM_GCM_TAG_LEN;
	wr_le32(out + 16, PBKDF2_CTX_LEN);
	wr_le32(kctx, PBKDF2_ITER);
	kctx[4] = PBKDF2_SALT_LEN;
	kctx[5] = 0;
	randombytes_buf(kctx + 6, PBKDF2_SALT_LEN);
	rc = sym_pbkdf2_sha256((const uint8_t *)pass, pass_len, kctx + 6, PBKDF2_SALT_LEN,
			       PBKDF2_ITER, prekey, sizeof(prekey));
	if (rc == ACRA_OK)
		rc = seal_core(prekey, sizeof(prekey), ALG_SEAL_PASS, ctx, ctx_len, pt, pt_len, out,
			       PASS_HDR_LEN, out + PASS_OVERHEAD);
	sodium_memzero(prekey, sizeof(prekey));
	if (rc == ACRA_OK)
		*out_len = pt_len + PASS_OVERHEAD;
	return rc;
}

int cell_pass_decrypt(const char *pass, size_t pass_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t *ct, size_t ct_len, uint8_t *out, size_t *pt_len)
{
	uint8_t prekey[SYM_KEY_LEN];
	struct token tk;
	size_t t_len;
	int rc;

	*pt_len = 0;
	if (pass == NULL || pass_len == 0 || out == NULL || (ctx == NULL && ctx_len > 0))
		return ACRA_EINVAL;
	rc = seal_split(ct, ct_len, &t_len);
	if (rc == ACRA_OK)
		rc = token_parse(ct, t_len, ct_len - t_len, ALG_KDF_PBKDF2, &tk);
	if (rc != ACRA_OK)
		return rc;
	rc = sym_pbkdf2_sha256((const uint8_t *)pass, pass_len, tk.salt, tk.salt_len, tk.iter,
			       prekey, sizeof(prekey));
	if (rc == ACRA_OK)
		rc = open_core(prekey, sizeof(prekey), &tk, ctx, ctx_len, ct + t_len, out);
	sodium_memzero(prekey, sizeof(prekey));
	if (rc == ACRA_OK)
		*pt_len = tk.mlen;
	return rc;
}

int cell_token_encrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *pt, size_t pt_len, uint8_t *data,
		       uint8_t token[CELL_TOKEN_LEN])
{
	if (data == NULL || token == NULL)
		return ACRA_EINVAL;
	return seal_core(key, key_len, ALG_SEAL_KEY, ctx, ctx_len, pt, pt_len, token, HDR_LEN, data);
}

int cell_token_decrypt(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		       const uint8_t *data, size_t data_len, const uint8_t *token,
		       size_t token_len, uint8_t *out)
{
	struct token tk;
	int rc;

	if (key == NULL || key_len == 0 || out == NULL || data == NULL ||
	    (ctx == NULL && ctx_len > 0))
		return ACRA_EINVAL;
	rc = token_parse(token, token_len, data_len, ALG_KDF_SOTER, &tk);
	if (rc == ACRA_OK)
		rc = open_core(key, key_len, &tk, ctx, ctx_len, data, out);
	return rc;
}

int cell_imprint(const uint8_t *key, size_t key_len, const uint8_t *ctx, size_t ctx_len,
		 const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t dk[SYM_KEY_LEN], iv[SYM_CTR_IV_LEN];
	struct soter_ctx ic = { ctx, ctx_len };
	int rc;

	if (key == NULL || key_len == 0 || ctx == NULL || ctx_len == 0 || in == NULL || len == 0 ||
	    len > UINT32_MAX || out == NULL)
		return ACRA_EINVAL;
	/* §2.5: the IV comes from the message key, not the master key */
	rc = message_key(key, key_len, NULL, 0, (uint32_t)len, dk, sizeof(dk));
	if (rc == ACRA_OK)
		rc = soter_kdf(dk, sizeof(dk), iv_label, &ic, 1, iv, sizeof(iv));
	if (rc == ACRA_OK)
		rc = sym_aes256_ctr(dk, iv, in, len, out);
	sodium_memzero(dk, sizeof(dk));
	sodium_memzero(iv, sizeof(iv));
	return rc;
}
