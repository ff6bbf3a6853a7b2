/* lib/keystore/kms.c: AWS KMS client for the master key (Acra 0.96 keystore/kms/aws and
 * keystore/keyloader/kms): JSON 1.1 protocol, SigV4-signed, over lib/httpc. Every failure
 * is reported once, by the exported function, as one log line. */
#include "lib/keystore/kms.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "lib/httpc.h"
#include "lib/log.h"
#include "lib/sigv4.h"

#define KMS_SERVICE "kms"
#define KMS_CONTENT_TYPE "application/x-amz-json-1.1"
#define KMS_CREDENTIALS_MAX (64 * 1024)
#define KMS_ALIAS_CHECKS 10     /* Acra: createAliasCheckAttempts */
#define KMS_ALIAS_CHECK_MS 100  /* Acra sleeps 100 ms between checks */
#define KMS_MAX_ALIAS_PAGES 1000
#define KMS_KEY_DESCRIPTION "Acra master key encryption key"

struct kms_ctx {
	const struct kms_opts *o;
	struct httpc_url url;
	struct httpc_tls tls;
	char msg[512];
};

static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return rc;
}

#define FAIL(c, rc, ...) fail((c)->msg, sizeof((c)->msg), (rc), __VA_ARGS__)

int kms_check_type(const char *kms_type)
{
	if (kms_type && strcmp(kms_type, KMS_TYPE_AWS) == 0)
		return ACRA_OK;
	log_code(LOG_ERROR, LOG_CODE_WRONG_PARAM, "kms: unsupported kms_type \"%.64s\" (supported: %s)",
		 kms_type ? kms_type : "", KMS_TYPE_AWS);
	return ACRA_EINVAL;
}

void kms_opts_clear(struct kms_opts *o)
{
	free(o->access_key_id);
	secret_free(o->secret_access_key);
	free(o->region);
	free(o->endpoint);
	o->access_key_id = NULL;
	o->secret_access_key = NULL;
	o->region = NULL;
	o->endpoint = NULL;
}

static bool region_ok(const char *r)
{
	if (!*r || strlen(r) > 64)
		return false;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return false;
	return true;
}

static int read_file(const char *path, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = ACRA_OK;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ACRA_EIO;
	buf = malloc(KMS_CREDENTIALS_MAX + 1);
	if (!buf) {
		close(fd);
		return ACRA_ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, KMS_CREDENTIALS_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ACRA_EIO;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > KMS_CREDENTIALS_MAX) {
			errno = EFBIG;
			rc = ACRA_EIO;
			break;
		}
	}
	close(fd);
	if (rc < 0) {
		int e = errno;
		secmem_wipe(buf, len);
		free(buf);
		errno = e;
		return rc;
	}
	*out = buf;
	*out_len = len;
	return ACRA_OK;
}

static int dup_field(json_t *j, const char *name, bool required, char **out, char *msg,
		     size_t msg_len, const char *path)
{
	json_t *v = json_object_get(j, name);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return ACRA_OK;
		return fail(msg, msg_len, ACRA_EINVAL,
			    "kms: credentials file \"%s\": field \"%s\" is missing", path, name);
	}
	if (!json_is_string(v) || (required && json_string_length(v) == 0))
		return fail(msg, msg_len, ACRA_EINVAL,
			    "kms: credentials file \"%s\": field \"%s\" is not a non-empty string",
			    path, name);
	if (json_string_length(v) == 0)
		return ACRA_OK; /* empty optional endpoint = default endpoint */
	*out = strdup(json_string_value(v));
	return *out ? ACRA_OK : fail(msg, msg_len, ACRA_ENOMEM, "kms: out of memory");
}

int kms_load_credentials(const char *path, struct kms_opts *out)
{
	char msg[512], *buf = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *j = NULL, *sk;
	struct httpc_url u;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!path || !*path) {
		rc = fail(msg, sizeof(msg), ACRA_EINVAL, "kms: kms_credentials_path is empty");
		goto out;
	}
	rc = read_file(path, &buf, &len);
	if (rc < 0) {
		rc = fail(msg, sizeof(msg), rc, "kms: cannot read credentials file \"%s\": %s", path,
			  rc == ACRA_ENOMEM ? "out of memory" : strerror(errno));
		goto out;
	}
	j = json_loadb(buf, len, 0, &jerr);
	if (!json_is_object(j)) {
		rc = fail(msg, sizeof(msg), ACRA_EPROTO,
			  "kms: credentials file \"%s\" is not a JSON object (line %d)", path,
			  j ? 1 : jerr.line);
		goto out;
	}
	rc = dup_field(j, "access_key_id", true, &out->access_key_id, msg, sizeof(msg), path);
	if (rc == 0)
		rc = dup_field(j, "region", true, &out->region, msg, sizeof(msg), path);
	if (rc == 0)
		rc = dup_field(j, "endpoint", false, &out->endpoint, msg, sizeof(msg), path);
	if (rc < 0)
		goto out;
	sk = json_object_get(j, "secret_access_key");
	if (!json_is_string(sk) || json_string_length(sk) == 0) {
		rc = fail(msg, sizeof(msg), ACRA_EINVAL,
			  "kms: credentials file \"%s\": field \"secret_access_key\" is missing or "
			  "not a non-empty string",
			  path);
		goto out;
	}
	rc = secret_new(&out->secret_access_key, json_string_length(sk) + 1);
	if (rc < 0) {
		rc = fail(msg, sizeof(msg), rc, "kms: out of memory");
		goto out;
	}
	memcpy(out->secret_access_key->p, json_string_value(sk), json_string_length(sk));
	out->secret_access_key->len = json_string_length(sk); /* NUL kept after len */
	sodium_memzero((char *)json_string_value(sk), json_string_length(sk));
	if (!region_ok(out->region)) {
		rc = fail(msg, sizeof(msg), ACRA_EINVAL,
			  "kms: credentials file \"%s\": region \"%.64s\" is not a region name", path,
			  out->region);
		goto out;
	}
	if (out->endpoint && httpc_url_parse(out->endpoint, &u) < 0) {
		rc = fail(msg, sizeof(msg), ACRA_EINVAL,
			  "kms: credentials file \"%s\": endpoint \"%.200s\" is not an http:// or "
			  "https:// URL",
			  path, out->endpoint);
		goto out;
	}
	rc = ACRA_OK;
out:
	if (rc < 0) {
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "%s", msg);
		kms_opts_clear(out);
	}
	json_decref(j);
	if (buf) {
		secmem_wipe(buf, len);
		free(buf);
	}
	return rc;
}

static int ctx_init(struct kms_ctx *c, const struct kms_opts *o)
{
	char url[300];

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->tls.ca_file = o->ca_file;
	if (!o->access_key_id || !o->secret_access_key || !o->region)
		return FAIL(c, ACRA_EINVAL, "kms: credentials are not loaded");
	if (o->endpoint)
		snprintf(url, sizeof(url), "%s", o->endpoint);
	else
		snprintf(url, sizeof(url), "https://kms.%s.amazonaws.com", o->region);
	if (httpc_url_parse(url, &c->url) < 0)
		return FAIL(c, ACRA_EINVAL, "kms: endpoint \"%.200s\" is not a valid URL", url);
	return ACRA_OK;
}

/* Map an AWS error type to a code: refusals of the caller vs. crypto vs. the rest. */
static int aws_error_code(const char *type)
{
	static const char *const denied[] = {
		"InvalidSignatureException", "UnrecognizedClientException",
		"AccessDeniedException", "IncompleteSignatureException",
		"ExpiredTokenException", "InvalidClientTokenId", "MissingAuthenticationToken",
		"KMSInvalidStateException", "DisabledException", NULL,
	};
	static const char *const crypto[] = {
		"InvalidCiphertextException", "IncorrectKeyException", "InvalidKeyUsageException",
		NULL,
	};

	for (int i = 0; denied[i]; i++)
		if (strcmp(type, denied[i]) == 0)
			return ACRA_EPERM;
	for (int i = 0; crypto[i]; i++)
		if (strcmp(type, crypto[i]) == 0)
			return ACRA_ECRYPTO;
	if (strcmp(type, "NotFoundException") == 0)
		return ACRA_ENOKEY;
	if (strcmp(type, "AlreadyExistsException") == 0)
		return ACRA_EEXIST;
	return ACRA_EPROTO;
}

/* POST one action. body is borrowed (it may hold a secret: httpc wipes its copies).
 * On success *reply is the parsed JSON object, or NULL when the reply body is empty and
 * allow_empty is set. */
static int kms_call(struct kms_ctx *c, const char *action, const char *body, bool allow_empty,
		    json_t **reply)
{
	char amz_date[SIGV4_DATE_LEN + 1], target[64], uri[300], err[300];
	char *auth = NULL;
	struct sigv4_header sh[4];
	struct httpc_header hh[4];
	struct httpc_response resp = { 0 };
	json_error_t jerr;
	json_t *j = NULL;
	int rc;

	*reply = NULL;
	sigv4_amz_date(time(NULL), amz_date);
	snprintf(target, sizeof(target), "TrentService.%s", action);
	snprintf(uri, sizeof(uri), "%s/", c->url.prefix);
	sh[0] = (struct sigv4_header){ "Content-Type", KMS_CONTENT_TYPE };
	sh[1] = (struct sigv4_header){ "Host", c->url.hostport };
	sh[2] = (struct sigv4_header){ "X-Amz-Date", amz_date };
	sh[3] = (struct sigv4_header){ "X-Amz-Target", target };
	{
		struct sigv4_request sr = { "POST", uri, "", sh, 4, (const uint8_t *)body,
					    strlen(body) };
		struct sigv4_scope sc = { amz_date, c->o->region, KMS_SERVICE };

		rc = sigv4_authorization(&sr, &sc, c->o->access_key_id,
					 c->o->secret_access_key->p, c->o->secret_access_key->len,
					 &auth);
		if (rc < 0)
			return FAIL(c, rc, "kms: %s: cannot sign request: %s", action,
				    acra_strerror(rc));
	}
	hh[0] = (struct httpc_header){ "Content-Type", KMS_CONTENT_TYPE };
	hh[1] = (struct httpc_header){ "X-Amz-Date", amz_date };
	hh[2] = (struct httpc_header){ "X-Amz-Target", target };
	hh[3] = (struct httpc_header){ "Authorization", auth };
	{
		struct httpc_request req = { "POST", "/", hh, 4, (const uint8_t *)body,
					     strlen(body) };

		rc = httpc_do(&c->url, &c->tls, c->o->timeout_ms, &req, &resp, err, sizeof(err));
	}
	free(auth);
	if (rc < 0)
		return FAIL(c, rc == ACRA_ENOMEM ? rc : ACRA_EIO, "kms: %s: %s", action, err);
	if (resp.body_len)
		j = json_loadb((const char *)resp.body, resp.body_len, 0, &jerr);
	if (resp.status != 200) {
		json_t *t = json_object_get(j, "__type");
		json_t *m = json_object_get(j, "message");
		const char *type, *hash;

		if (!m)
			m = json_object_get(j, "Message");
		if (json_is_string(t)) {
			/* "__type" may be qualified: "com.amazonaws.kms#NotFoundException". */
			type = json_string_value(t);
			hash = strrchr(type, '#');
			if (hash)
				type = hash + 1;
			rc = FAIL(c, aws_error_code(type), "kms: %s: %.80s%s%.200s", action, type,
				  json_is_string(m) ? ": " : "",
				  json_is_string(m) ? json_string_value(m) : "");
		} else {
			rc = FAIL(c, ACRA_EPROTO, "kms: %s: HTTP %d", action, resp.status);
		}
	} else if (resp.body_len == 0 && allow_empty) {
		rc = ACRA_OK;
	} else if (!json_is_object(j)) {
		rc = FAIL(c, ACRA_EPROTO, "kms: %s: reply is not a JSON object", action);
	} else {
		*reply = j;
		j = NULL;
		rc = ACRA_OK;
	}
	json_decref(j);
	httpc_response_clear(&resp);
	return rc;
}

/* base64 (standard, padded) of p into a new secret holding a NUL-terminated string
 * embedded in `pre` ... `post`: the request body for Encrypt/Decrypt. */
static int body_with_b64(const char *pre, const uint8_t *p, size_t n, const char *post,
			 struct secret **out)
{
	size_t b64 = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	size_t pl = strlen(pre), ql = strlen(post);
	int rc;

	rc = secret_new(out, pl + b64 + ql + 1);
	if (rc < 0)
		return rc;
	memcpy((*out)->p, pre, pl);
	sodium_bin2base64((char *)(*out)->p + pl, b64, p, n, sodium_base64_VARIANT_ORIGINAL);
	memcpy((*out)->p + pl + b64 - 1, post, ql + 1);
	return ACRA_OK;
}

static int b64_field_to_secret(struct kms_ctx *c, json_t *j, const char *action,
			       const char *field, struct secret **out)
{
	json_t *v = json_object_get(j, field);
	struct secret *tmp = NULL;
	const char *end = NULL;
	size_t n = 0, len;
	int rc;

	*out = NULL;
	if (!json_is_string(v))
		return FAIL(c, ACRA_EPROTO, "kms: %s: reply has no %s", action, field);
	len = json_string_length(v);
	rc = secret_new(&tmp, len / 4 * 3 + 3);
	if (rc < 0)
		return FAIL(c, rc, "kms: out of memory");
	if (sodium_base642bin(tmp->p, tmp->len, json_string_value(v), len, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != json_string_value(v) + len) {
		rc = FAIL(c, ACRA_EPROTO, "kms: %s: %s in the reply is not valid base64", action,
			  field);
	} else {
		rc = secret_from(out, tmp->p, n);
		if (rc < 0)
			FAIL(c, rc, "kms: out of memory");
	}
	sodium_memzero((char *)json_string_value(v), len);
	secret_free(tmp);
	return rc;
}

int kms_decrypt_master_key(const struct kms_opts *o, const uint8_t *blob, size_t len,
			   struct secret **out)
{
	struct kms_ctx c;
	struct secret *body = NULL, *key = NULL;
	json_t *j = NULL;
	int rc;

	*out = NULL;
	rc = ctx_init(&c, o);
	if (rc < 0)
		goto out;
	if (!blob || len < KMS_MASTER_KEY_MIN_LEN) {
		rc = FAIL(&c, ACRA_EINVAL,
			  "kms: encrypted master key is %zu bytes, need at least %d", blob ? len : 0,
			  KMS_MASTER_KEY_MIN_LEN);
		goto out;
	}
	rc = body_with_b64("{\"CiphertextBlob\":\"", blob, len,
			   "\",\"KeyId\":\"" KMS_MASTER_KEY_ALIAS "\"}", &body);
	if (rc < 0) {
		rc = FAIL(&c, rc, "kms: out of memory");
		goto out;
	}
	rc = kms_call(&c, "Decrypt", (const char *)body->p, false, &j);
	if (rc < 0)
		goto out;
	rc = b64_field_to_secret(&c, j, "Decrypt", "Plaintext", &key);
	if (rc < 0)
		goto out;
	if (key->len < KMS_MASTER_KEY_MIN_LEN) {
		rc = FAIL(&c, ACRA_ERANGE, "kms: decrypted master key is %zu bytes, need at least %d",
			  key->len, KMS_MASTER_KEY_MIN_LEN);
		goto out;
	}
	*out = key;
	key = NULL;
	log_code(LOG_INFO, LOG_CODE_MASTER_KEY, "kms: master key decrypted with %s",
		 KMS_MASTER_KEY_ALIAS);
out:
	if (rc < 0)
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "%s", c.msg);
	json_decref(j);
	secret_free(key);
	secret_free(body);
	return rc;
}

/* Whether alias/acra_master_key exists in our region (Acra KeyManager.IsKeyExist: the
 * region is taken from the alias ARN, arn:aws:kms:<region>:<account>:alias/<name>). */
static int alias_exists(struct kms_ctx *c, bool *exists)
{
	char *marker = NULL;
	int rc = ACRA_OK;

	*exists = false;
	for (int page = 0; page < KMS_MAX_ALIAS_PAGES; page++) {
		json_t *req = json_object(), *j = NULL, *aliases, *a, *next;
		char *body;
		size_t i;

		if (!req || (marker && json_object_set_new(req, "Marker", json_string(marker)))) {
			json_decref(req);
			rc = FAIL(c, ACRA_ENOMEM, "kms: out of memory");
			break;
		}
		body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		if (!body) {
			rc = FAIL(c, ACRA_ENOMEM, "kms: out of memory");
			break;
		}
		rc = kms_call(c, "ListAliases", body, false, &j);
		free(body);
		if (rc < 0)
			break;
		aliases = json_object_get(j, "Aliases");
		if (aliases && !json_is_array(aliases)) {
			json_decref(j);
			rc = FAIL(c, ACRA_EPROTO, "kms: ListAliases: Aliases is not a list");
			break;
		}
		json_array_foreach(aliases, i, a) {
			json_t *name = json_object_get(a, "AliasName");
			json_t *arn = json_object_get(a, "AliasArn");
			const char *p;
			char region[80];
			size_t k;
			int colons = 0;

			if (!json_is_string(name) || !json_is_string(arn)) {
				rc = FAIL(c, ACRA_EPROTO,
					  "kms: ListAliases: entry without AliasName or AliasArn");
				break;
			}
			for (p = json_string_value(arn); *p; p++)
				colons += *p == ':';
			if (colons < 5) {
				rc = FAIL(c, ACRA_EPROTO, "kms: ListAliases: invalid ARN \"%.100s\"",
					  json_string_value(arn));
				break;
			}
			p = json_string_value(arn);
			for (int f = 0; f < 3; f++)
				p = strchr(p, ':') + 1;
			k = strcspn(p, ":");
			snprintf(region, sizeof(region), "%.*s", (int)(k < 79 ? k : 79), p);
			if (strcmp(json_string_value(name), KMS_MASTER_KEY_ALIAS) == 0 &&
			    strcmp(region, c->o->region) == 0)
				*exists = true;
		}
		next = json_object_get(j, "NextMarker");
		free(marker);
		marker = NULL;
		if (rc == 0 && !*exists && json_is_string(next)) {
			marker = strdup(json_string_value(next));
			if (!marker)
				rc = FAIL(c, ACRA_ENOMEM, "kms: out of memory");
		}
		json_decref(j);
		if (rc < 0 || !marker)
			break;
	}
	if (rc == 0 && marker)
		rc = FAIL(c, ACRA_EPROTO, "kms: ListAliases: more than %d pages",
			  KMS_MAX_ALIAS_PAGES);
	free(marker);
	return rc;
}

int kms_create_master_key(const struct kms_opts *o, struct secret **key_out, uint8_t **blob,
			  size_t *blob_len)
{
	struct kms_ctx c;
	struct secret *key = NULL, *body = NULL, *ct = NULL;
	json_t *j = NULL, *req = NULL;
	char *arn = NULL, *s = NULL;
	bool exists = false;
	int rc;

	if (key_out)
		*key_out = NULL;
	*blob = NULL;
	*blob_len = 0;
	rc = ctx_init(&c, o);
	if (rc < 0)
		goto out;
	rc = alias_exists(&c, &exists);
	if (rc < 0)
		goto out;
	if (exists) {
		rc = FAIL(&c, ACRA_EEXIST, "kms: %s already exists in region %s",
			  KMS_MASTER_KEY_ALIAS, o->region);
		goto out;
	}
	rc = kms_call(&c, "CreateKey", "{\"Description\":\"" KMS_KEY_DESCRIPTION "\"}", false, &j);
	if (rc < 0)
		goto out;
	{
		json_t *a = json_object_get(json_object_get(j, "KeyMetadata"), "Arn");
		if (!json_is_string(a)) {
			rc = FAIL(&c, ACRA_EPROTO, "kms: CreateKey: reply has no KeyMetadata.Arn");
			goto out;
		}
		arn = strdup(json_string_value(a));
	}
	json_decref(j);
	j = NULL;
	req = json_pack("{s:s, s:s}", "AliasName", KMS_MASTER_KEY_ALIAS, "TargetKeyId",
			arn ? arn : "");
	s = req && arn ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!s) {
		rc = FAIL(&c, ACRA_ENOMEM, "kms: out of memory");
		goto out;
	}
	rc = kms_call(&c, "CreateAlias", s, true, &j);
	if (rc < 0)
		goto out;
	json_decref(j);
	j = NULL;
	/* The alias may take a moment to become visible; Acra checks 10 times. */
	for (int i = 0; i < KMS_ALIAS_CHECKS; i++) {
		struct timespec ts = { 0, KMS_ALIAS_CHECK_MS * 1000000L };

		rc = alias_exists(&c, &exists);
		if (rc < 0 || exists)
			break;
		nanosleep(&ts, NULL);
	}
	if (rc < 0)
		goto out;
	if (!exists) {
		rc = FAIL(&c, ACRA_EPROTO, "kms: %s did not appear after %d checks",
			  KMS_MASTER_KEY_ALIAS, KMS_ALIAS_CHECKS);
		goto out;
	}
	rc = secret_new_random(&key, KMS_MASTER_KEY_LEN);
	if (rc == 0)
		rc = body_with_b64("{\"KeyId\":\"" KMS_MASTER_KEY_ALIAS "\",\"Plaintext\":\"",
				   key->p, key->len, "\"}", &body);
	if (rc < 0) {
		rc = FAIL(&c, rc, "kms: out of memory");
		goto out;
	}
	rc = kms_call(&c, "Encrypt", (const char *)body->p, false, &j);
	if (rc < 0)
		goto out;
	rc = b64_field_to_secret(&c, j, "Encrypt", "CiphertextBlob", &ct);
	if (rc < 0)
		goto out;
	*blob = malloc(ct->len ? ct->len : 1);
	if (!*blob) {
		rc = FAIL(&c, ACRA_ENOMEM, "kms: out of memory");
		goto out;
	}
	memcpy(*blob, ct->p, ct->len);
	*blob_len = ct->len;
	if (key_out) {
		*key_out = key;
		key = NULL;
	}
	log_code(LOG_INFO, LOG_CODE_MASTER_KEY, "kms: created %s in %s and encrypted a new master key",
		 KMS_MASTER_KEY_ALIAS, o->region);
out:
	if (rc < 0)
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "%s", c.msg);
	json_decref(j);
	json_decref(req);
	free(s);
	free(arn);
	secret_free(key);
	secret_free(body);
	secret_free(ct);
	return rc;
}

int kms_write_blob_file(const char *path, const uint8_t *blob, size_t len)
{
	char *tmp = NULL;
	int fd = -1, rc = ACRA_EIO;
	size_t off = 0;

	if (!path || !*path || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto out;
	}
	fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
	if (fd < 0)
		goto out;
	if (fchmod(fd, 0600) < 0)
		goto out;
	while (off < len) {
		ssize_t n = write(fd, blob + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out;
	rc = ACRA_OK;
out:
	if (rc < 0) {
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "kms: cannot write \"%s\": %s",
			 path ? path : "", strerror(errno));
		if (fd >= 0)
			close(fd);
		if (tmp)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}
