/* lib/sigv4.h: AWS Signature Version 4 (HMAC-SHA256) for requests to AWS services.
 * Pure computation: no I/O, no clock except sigv4_amz_date(). Follows the AWS General
 * Reference "Signature Version 4 signing process": canonical request, string to sign,
 * signing key derivation, Authorization header. */
#ifndef ACRA_LIB_SIGV4_H
#define ACRA_LIB_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"

#define SIGV4_DATE_LEN 16 /* "YYYYMMDDTHHMMSSZ" */
#define SIGV4_KEY_LEN 32

/* One header to sign. Names may be in any case (they are lower-cased); values are trimmed
 * and inner runs of spaces collapsed. Names must be unique. Borrowed. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* The request as it goes on the wire. All pointers borrowed. */
struct sigv4_request {
	const char *method; /* "POST" */
	const char *uri;    /* canonical URI, already URI-encoded: "/" */
	const char *query;  /* canonical query string (sorted, encoded); "" or NULL if none */
	const struct sigv4_header *headers; /* every signed header, host and x-amz-date included */
	size_t n_headers;
	const uint8_t *body;
	size_t body_len;
};

/* The credential scope. amz_date is the X-Amz-Date value; its first 8 chars are the date. */
struct sigv4_scope {
	const char *amz_date;
	const char *region;
	const char *service;
};

/* Canonical request text. *out and *signed_headers (may be NULL if not wanted) are returned
 * owned: free(). Returns 0, ACRA_EINVAL (bad or duplicate header, bad method/uri) or
 * ACRA_ENOMEM. */
int sigv4_canonical_request(const struct sigv4_request *r, char **out, char **signed_headers)
	ACRA_MUSTCHECK;
/* "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256(canonical)>". *out returned owned. */
int sigv4_string_to_sign(const char *canonical, const struct sigv4_scope *s, char **out)
	ACRA_MUSTCHECK;
/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date8), region), service), "aws4_request").
 * out is a derived secret: the caller wipes it. */
int sigv4_signing_key(const uint8_t *secret, size_t secret_len, const char *date8,
		      const char *region, const char *service, uint8_t out[SIGV4_KEY_LEN])
	ACRA_MUSTCHECK;
/* The Authorization header value ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=...") for r. secret is the secret access key (borrowed; derived keys are wiped
 * here). *out returned owned: free(). */
int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_scope *s,
			const char *access_key_id, const uint8_t *secret, size_t secret_len,
			char **out) ACRA_MUSTCHECK;
/* Format t (UTC) as X-Amz-Date into out[SIGV4_DATE_LEN + 1]. */
void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN + 1]);
/* Lower-case hex of SHA-256(p[0..len)) into out[65]. */
void sigv4_sha256_hex(const void *p, size_t len, char out[65]);

#endif
