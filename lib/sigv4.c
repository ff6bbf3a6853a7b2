/* lib/sigv4.c: AWS Signature Version 4 over OpenSSL's SHA-256 and HMAC. */
#include "lib/sigv4.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/secmem.h"

#define SIGV4_ALGO "AWS4-HMAC-SHA256"
#define SIGV4_MAX_HEADERS 32

/* Growing string; `failed` is sticky so appends are checked once at the end. */
struct sb {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_putc(struct sb *b, char c)
{
	sb_put(b, &c, 1);
}

/* Hands the string to the caller or frees it on failure. */
static int sb_finish(struct sb *b, char **out)
{
	if (b->failed || !b->p) {
		free(b->p);
		*out = NULL;
		return ACRA_ENOMEM;
	}
	*out = b->p;
	return ACRA_OK;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *p, size_t len, char out[65])
{
	uint8_t md[32];
	unsigned int md_len = 0;

	if (EVP_Digest(p, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
		memset(md, 0, sizeof(md));
	hex(md, 32, out);
}

static int hmac(const uint8_t *key, size_t key_len, const void *msg, size_t msg_len,
		uint8_t out[32])
{
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n) || n != 32)
		return ACRA_ECRYPTO;
	return ACRA_OK;
}

static bool is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

static int cmp_lower(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int d = tolower((unsigned char)*a) - tolower((unsigned char)*b);
		if (d)
			return d;
	}
	return tolower((unsigned char)*a) - tolower((unsigned char)*b);
}

/* Canonical value (§ "canonical headers"): leading/trailing spaces dropped, inner runs of
 * whitespace collapsed to one space. */
static void put_trimmed(struct sb *b, const char *v)
{
	bool space = false, any = false;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if (space && any)
			sb_putc(b, ' ');
		space = false;
		any = true;
		sb_putc(b, *v);
	}
}

int sigv4_canonical_request(const struct sigv4_request *r, char **out, char **signed_headers)
{
	size_t order[SIGV4_MAX_HEADERS];
	struct sb b = { 0 }, sh = { 0 };
	char body_hash[65];
	int rc;

	*out = NULL;
	if (signed_headers)
		*signed_headers = NULL;
	if (!is_token(r->method) || !r->uri || r->uri[0] != '/' || r->n_headers == 0 ||
	    r->n_headers > SIGV4_MAX_HEADERS || (r->body_len && !r->body))
		return ACRA_EINVAL;
	/* Insertion sort by lower-cased name; duplicates are refused rather than merged. */
	for (size_t i = 0; i < r->n_headers; i++) {
		size_t j = i;

		if (!is_token(r->headers[i].name) || !r->headers[i].value ||
		    strchr(r->headers[i].name, ':') || strpbrk(r->headers[i].value, "\r\n"))
			return ACRA_EINVAL;
		while (j > 0) {
			int d = cmp_lower(r->headers[order[j - 1]].name, r->headers[i].name);
			if (d == 0)
				return ACRA_EINVAL;
			if (d < 0)
				break;
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	sb_puts(&b, r->method);
	sb_putc(&b, '\n');
	sb_puts(&b, r->uri);
	sb_putc(&b, '\n');
	sb_puts(&b, r->query ? r->query : "");
	sb_putc(&b, '\n');
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct sigv4_header *h = &r->headers[order[i]];

		if (i)
			sb_putc(&sh, ';');
		for (const char *c = h->name; *c; c++) {
			sb_putc(&b, (char)tolower((unsigned char)*c));
			sb_putc(&sh, (char)tolower((unsigned char)*c));
		}
		sb_putc(&b, ':');
		put_trimmed(&b, h->value);
		sb_putc(&b, '\n');
	}
	sb_putc(&b, '\n');
	if (sh.p)
		sb_puts(&b, sh.p);
	sb_putc(&b, '\n');
	sigv4_sha256_hex(r->body ? (const void *)r->body : "", r->body_len, body_hash);
	sb_puts(&b, body_hash);
	rc = sb_finish(&b, out);
	if (rc < 0) {
		free(sh.p);
		return rc;
	}
	if (signed_headers) {
		rc = sb_finish(&sh, signed_headers);
		if (rc < 0) {
			free(*out);
			*out = NULL;
		}
	} else {
		free(sh.p);
	}
	return rc;
}

static bool scope_ok(const struct sigv4_scope *s)
{
	if (!s->amz_date || strlen(s->amz_date) != SIGV4_DATE_LEN || s->amz_date[8] != 'T' ||
	    s->amz_date[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)s->amz_date[i]))
			return false;
	return is_token(s->region) && is_token(s->service) && !strchr(s->region, '/') &&
	       !strchr(s->service, '/');
}

int sigv4_string_to_sign(const char *canonical, const struct sigv4_scope *s, char **out)
{
	struct sb b = { 0 };
	char h[65];

	*out = NULL;
	if (!canonical || !scope_ok(s))
		return ACRA_EINVAL;
	sigv4_sha256_hex(canonical, strlen(canonical), h);
	sb_puts(&b, SIGV4_ALGO "\n");
	sb_puts(&b, s->amz_date);
	sb_putc(&b, '\n');
	sb_put(&b, s->amz_date, 8);
	sb_putc(&b, '/');
	sb_puts(&b, s->region);
	sb_putc(&b, '/');
	sb_puts(&b, s->service);
	sb_puts(&b, "/aws4_request\n");
	sb_puts(&b, h);
	return sb_finish(&b, out);
}

int sigv4_signing_key(const uint8_t *secret, size_t secret_len, const char *date8,
		      const char *region, const char *service, uint8_t out[SIGV4_KEY_LEN])
{
	uint8_t *k0 = NULL;
	uint8_t k1[32], k2[32], k3[32];
	int rc = ACRA_ENOMEM;

	if (!secret || !date8 || strlen(date8) < 8 || !region || !service)
		return ACRA_EINVAL;
	/* "AWS4" + secret is key material: build it in a buffer that is wiped below. */
	k0 = malloc(secret_len + 4);
	if (!k0)
		goto out;
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, secret_len);
	rc = hmac(k0, secret_len + 4, date8, 8, k1);
	if (rc == 0)
		rc = hmac(k1, 32, region, strlen(region), k2);
	if (rc == 0)
		rc = hmac(k2, 32, service, strlen(service), k3);
	if (rc == 0)
		rc = hmac(k3, 32, "aws4_request", 12, out);
out:
	if (k0) {
		secmem_wipe(k0, secret_len + 4);
		free(k0);
	}
	secmem_wipe(k1, sizeof(k1));
	secmem_wipe(k2, sizeof(k2));
	secmem_wipe(k3, sizeof(k3));
	return rc;
}

int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_scope *s,
			const char *access_key_id, const uint8_t *secret, size_t secret_len,
			char **out)
{
	char *canonical = NULL, *signed_headers = NULL, *sts = NULL;
	uint8_t key[SIGV4_KEY_LEN], sig[32];
	char sig_hex[65];
	struct sb b = { 0 };
	int rc;

	*out = NULL;
	if (!is_token(access_key_id) || strchr(access_key_id, '/') || strchr(access_key_id, ','))
		return ACRA_EINVAL;
	rc = sigv4_canonical_request(r, &canonical, &signed_headers);
	if (rc < 0)
		goto out;
	rc = sigv4_string_to_sign(canonical, s, &sts);
	if (rc < 0)
		goto out;
	rc = sigv4_signing_key(secret, secret_len, s->amz_date, s->region, s->service, key);
	if (rc < 0)
		goto out;
	rc = hmac(key, sizeof(key), sts, strlen(sts), sig);
	if (rc < 0)
		goto out;
	hex(sig, sizeof(sig), sig_hex);
	sb_puts(&b, SIGV4_ALGO " Credential=");
	sb_puts(&b, access_key_id);
	sb_putc(&b, '/');
	sb_put(&b, s->amz_date, 8);
	sb_putc(&b, '/');
	sb_puts(&b, s->region);
	sb_putc(&b, '/');
	sb_puts(&b, s->service);
	sb_puts(&b, "/aws4_request, SignedHeaders=");
	sb_puts(&b, signed_headers);
	sb_puts(&b, ", Signature=");
	sb_puts(&b, sig_hex);
	rc = sb_finish(&b, out);
out:
	secmem_wipe(key, sizeof(key));
	secmem_wipe(sig, sizeof(sig));
	free(canonical);
	free(signed_headers);
	free(sts);
	return rc;
}

void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_DATE_LEN)
		memcpy(out, "19700101T000000Z", SIGV4_DATE_LEN + 1);
}
