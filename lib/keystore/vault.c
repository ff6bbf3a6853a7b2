/* lib/keystore/vault.c: master key from HashiCorp Vault's KV engine (v1 or v2), following
 * Acra 0.96 keystore/keyloader/hashicorp/vault_loader.go. Every failure is reported once,
 * by vault_load_master_key(), as one log line. */
#include "lib/keystore/vault.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "lib/httpc.h"
#include "lib/log.h"

#define MOUNTS_PATH "/v1/sys/internal/ui/mounts"
#define VAULT_MAX_REDIRECTS 3

struct vault_ctx {
	struct httpc_url url;
	struct httpc_tls tls;
	int timeout_ms;
	struct secret *token; /* NUL-terminated token text */
	char msg[512];        /* the one error line */
};

static int fail(struct vault_ctx *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct vault_ctx *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return rc;
}

/* Decode standard padded base64 as Go's base64.StdEncoding does (CR and LF ignored) into
 * a new secret of exactly the decoded length. */
static int b64_decode_secret(const char *b64, size_t len, struct secret **out)
{
	struct secret *tmp = NULL;
	const char *end = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	rc = secret_new(&tmp, len / 4 * 3 + 3);
	if (rc < 0)
		return rc;
	if (sodium_base642bin(tmp->p, tmp->len, b64, len, "\r\n", &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + len) {
		secret_free(tmp);
		return ACRA_EINVAL;
	}
	rc = secret_from(out, tmp->p, n);
	secret_free(tmp);
	return rc;
}

static int load_token(struct vault_ctx *c, const char *b64)
{
	struct secret *raw = NULL;
	size_t start = 0, end;
	int rc;

	if (!b64 || !*b64)
		return fail(c, ACRA_EINVAL, "vault: %s is not set", VAULT_TOKEN_ENV);
	rc = b64_decode_secret(b64, strlen(b64), &raw);
	if (rc == ACRA_EINVAL)
		return fail(c, rc, "vault: %s is not valid base64", VAULT_TOKEN_ENV);
	if (rc < 0)
		return fail(c, rc, "vault: out of memory");
	/* Acra trims newlines at both ends (strings.Trim(token, "\n")). */
	end = raw->len;
	while (start < end && raw->p[start] == '\n')
		start++;
	while (end > start && raw->p[end - 1] == '\n')
		end--;
	if (end == start) {
		secret_free(raw);
		return fail(c, ACRA_EINVAL, "vault: %s holds an empty token", VAULT_TOKEN_ENV);
	}
	for (size_t i = start; i < end; i++) {
		if (raw->p[i] < 0x20 || raw->p[i] == 0x7f) {
			secret_free(raw);
			return fail(c, ACRA_EINVAL,
				    "vault: %s holds a token with control characters",
				    VAULT_TOKEN_ENV);
		}
	}
	rc = secret_new(&c->token, end - start + 1);
	if (rc == 0)
		memcpy(c->token->p, raw->p + start, end - start);
	secret_free(raw);
	if (rc < 0)
		return fail(c, rc, "vault: out of memory");
	return ACRA_OK;
}

/* First string in Vault's {"errors": [...]} reply, or "". */
static const char *vault_error_text(json_t *j)
{
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);

	return json_is_string(e) ? json_string_value(e) : "";
}

static bool is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* GET path, following redirects as Vault's Go client does (a standby node answers 307
 * with the active node's address when it does not forward requests). The token goes
 * along, so a redirect from https to plain http is refused. On 200 *out is the parsed
 * reply (owned: json_decref). */
static int vault_get(struct vault_ctx *c, const char *path, json_t **out)
{
	struct httpc_header h[1] = { { "X-Vault-Token", (const char *)c->token->p } };
	struct httpc_request req = { "GET", path, h, 1, NULL, 0 };
	struct httpc_response resp = { 0 };
	struct httpc_url url = c->url;
	char err[300], next_path[512];
	json_error_t jerr;
	json_t *j = NULL;
	int rc;

	*out = NULL;
	for (int hop = 0;; hop++) {
		rc = httpc_do(&url, &c->tls, c->timeout_ms, &req, &resp, err, sizeof(err));
		if (rc < 0)
			return fail(c, rc == ACRA_ENOMEM ? rc : ACRA_EIO, "vault: GET %s: %s", path,
				    err);
		if (!is_redirect(resp.status) || !resp.location)
			break;
		if (hop == VAULT_MAX_REDIRECTS) {
			httpc_response_clear(&resp);
			return fail(c, ACRA_EPROTO, "vault: GET %s: more than %d redirects", path,
				    VAULT_MAX_REDIRECTS);
		}
		if (resp.location[0] == '/') {
			snprintf(next_path, sizeof(next_path), "%s", resp.location);
		} else {
			struct httpc_url next;

			if (httpc_url_parse(resp.location, &next) < 0) {
				rc = fail(c, ACRA_EPROTO, "vault: GET %s: bad redirect to \"%.200s\"",
					  path, resp.location);
				httpc_response_clear(&resp);
				return rc;
			}
			if (url.https && !next.https) {
				rc = fail(c, ACRA_EPERM,
					  "vault: GET %s: refusing redirect from https to \"%.200s\"",
					  path, resp.location);
				httpc_response_clear(&resp);
				return rc;
			}
			/* The redirect names the whole path: no prefix from our own URL. */
			snprintf(next_path, sizeof(next_path), "%s", next.prefix[0] ? next.prefix : "/");
			next.prefix[0] = '\0';
			url = next;
		}
		log_code(LOG_INFO, LOG_CODE_MASTER_KEY, "vault: GET %s redirected to %s%s", path,
			 url.hostport, next_path);
		req.path = next_path;
		httpc_response_clear(&resp);
	}
	j = json_loadb((const char *)resp.body, resp.body_len, 0, &jerr);
	if (resp.status == 404) {
		rc = fail(c, ACRA_ENOKEY, "vault: GET %s: %s (HTTP 404)", path,
			  strcmp(path, MOUNTS_PATH) == 0 ? "not found" : "secret not found");
	} else if (resp.status == 401 || resp.status == 403) {
		const char *t = vault_error_text(j);
		rc = fail(c, ACRA_EPERM, "vault: GET %s: token refused (HTTP %d)%s%.120s", path,
			  resp.status, *t ? ": " : "", t);
	} else if (resp.status != 200) {
		const char *t = vault_error_text(j);
		rc = fail(c, ACRA_EPROTO, "vault: GET %s: HTTP %d%s%.120s", path, resp.status,
			  *t ? ": " : "", t);
	} else if (!json_is_object(j)) {
		rc = fail(c, ACRA_EPROTO, "vault: GET %s: reply is not a JSON object", path);
	} else {
		*out = j;
		j = NULL;
		rc = ACRA_OK;
	}
	json_decref(j);
	httpc_response_clear(&resp);
	return rc;
}

/* Length of the first component of a path ("secret/acra" -> 6). */
static size_t first_component(const char *p)
{
	return strcspn(p, "/");
}

static int find_engine(struct vault_ctx *c, const char *secrets_path, char *mount,
		       size_t mount_len, bool *v2)
{
	json_t *j = NULL, *secrets, *info, *type, *opts, *ver;
	const char *name;
	size_t want = first_component(secrets_path);
	int rc;

	rc = vault_get(c, MOUNTS_PATH, &j);
	if (rc < 0)
		return rc;
	secrets = json_object_get(json_object_get(j, "data"), "secret");
	if (!secrets) {
		rc = fail(c, ACRA_ENOKEY, "vault: %s lists no secret engines", MOUNTS_PATH);
		goto out;
	}
	if (!json_is_object(secrets)) {
		rc = fail(c, ACRA_EPROTO, "vault: %s: data.secret is not an object", MOUNTS_PATH);
		goto out;
	}
	json_object_foreach(secrets, name, info) {
		size_t b = 0, e = strlen(name);

		/* Mount names carry slashes ("secret/"); Acra compares them trimmed. */
		while (b < e && name[b] == '/')
			b++;
		while (e > b && name[e - 1] == '/')
			e--;
		if (e - b != want || strncmp(name + b, secrets_path, want) != 0)
			continue;
		if (!json_is_object(info)) {
			rc = fail(c, ACRA_EPROTO, "vault: mount \"%s\": engine info is not an object",
				  name);
			goto out;
		}
		type = json_object_get(info, "type");
		if (!json_is_string(type)) {
			rc = fail(c, ACRA_EPROTO, "vault: mount \"%s\": engine type missing", name);
			goto out;
		}
		if (strcmp(json_string_value(type), "kv") != 0) {
			rc = fail(c, ACRA_ENOKEY,
				  "vault: mount \"%s\" is a \"%.40s\" engine, need kv", name,
				  json_string_value(type));
			goto out;
		}
		opts = json_object_get(info, "options");
		if (!opts) {
			rc = fail(c, ACRA_EPROTO, "vault: mount \"%s\": engine options missing",
				  name);
			goto out;
		}
		*v2 = false;
		/* Options that are not an object (null on KV v1) mean version 1, as in Acra. */
		if (json_is_object(opts)) {
			ver = json_object_get(opts, "version");
			if (!json_is_string(ver)) {
				rc = fail(c, ACRA_EPROTO,
					  "vault: mount \"%s\": engine version missing", name);
				goto out;
			}
			*v2 = strcmp(json_string_value(ver), "2") == 0;
		}
		snprintf(mount, mount_len, "%.*s", (int)(e - b), name + b);
		rc = ACRA_OK;
		goto out;
	}
	rc = fail(c, ACRA_ENOKEY, "vault: no secret engine mounted at \"%.*s/\"", (int)want,
		  secrets_path);
out:
	json_decref(j);
	return rc;
}

/* Characters allowed in vault_secrets_path: the URL path needs no escaping then. */
static bool path_ok(const char *p)
{
	if (!*p)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/-_.~@+=:,", *p)))
			return false;
	return true;
}

int vault_load_master_key(const struct vault_opts *o, struct secret **out)
{
	struct vault_ctx c;
	const char *spath = o->secrets_path && *o->secrets_path ? o->secrets_path
								   : VAULT_DEFAULT_SECRETS_PATH;
	char mount[256], read_path[1100];
	json_t *j = NULL, *fields, *val;
	struct secret *key = NULL;
	bool v2 = false;
	int rc;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.timeout_ms = o->timeout_ms;
	c.tls.enable = o->tls_enable;
	c.tls.ca_file = o->tls_ca;
	c.tls.cert_file = o->tls_cert;
	c.tls.key_file = o->tls_key;
	c.tls.sni = o->tls_sni;
	if (!o->connection_api_string || !*o->connection_api_string) {
		rc = fail(&c, ACRA_EINVAL, "vault: vault_connection_api_string is empty");
		goto out;
	}
	if (httpc_url_parse(o->connection_api_string, &c.url) < 0) {
		rc = fail(&c, ACRA_EINVAL,
			  "vault: vault_connection_api_string \"%.200s\" is not an http:// or "
			  "https:// URL",
			  o->connection_api_string);
		goto out;
	}
	if (!path_ok(spath) || strlen(spath) > 512) {
		rc = fail(&c, ACRA_EINVAL, "vault: vault_secrets_path \"%.200s\" is not a valid path",
			  spath);
		goto out;
	}
	rc = load_token(&c, o->token_b64 ? o->token_b64 : getenv(VAULT_TOKEN_ENV));
	if (rc < 0)
		goto out;
	rc = find_engine(&c, spath, mount, sizeof(mount), &v2);
	if (rc < 0)
		goto out;
	if (v2) {
		/* <mount>/data/<components after the first>, empty components dropped
		 * (Acra: filepath.Join). A path without '/' is refused as in Acra. */
		const char *rest = strchr(spath, '/');
		size_t n;

		if (!rest) {
			rc = fail(&c, ACRA_EINVAL,
				  "vault: vault_secrets_path \"%s\" has no secret name after the mount",
				  spath);
			goto out;
		}
		n = (size_t)snprintf(read_path, sizeof(read_path), "/v1/%s/data", mount);
		while (*rest) {
			size_t k;

			while (*rest == '/')
				rest++;
			k = strcspn(rest, "/");
			if (k)
				n += (size_t)snprintf(read_path + n, sizeof(read_path) - n, "/%.*s",
						      (int)k, rest);
			rest += k;
		}
	} else {
		snprintf(read_path, sizeof(read_path), "/v1/%s", spath);
	}
	rc = vault_get(&c, read_path, &j);
	if (rc < 0)
		goto out;
	fields = json_object_get(j, "data");
	if (v2)
		fields = json_object_get(fields, "data");
	if (!json_is_object(fields)) {
		rc = fail(&c, ACRA_EPROTO, "vault: GET %s: reply has no %s object", read_path,
			  v2 ? "data.data" : "data");
		goto out;
	}
	val = json_object_get(fields, VAULT_MASTER_KEY_FIELD);
	if (!val) {
		rc = fail(&c, ACRA_ENOKEY, "vault: secret %s has no field %s", read_path,
			  VAULT_MASTER_KEY_FIELD);
		goto out;
	}
	if (!json_is_string(val)) {
		rc = fail(&c, ACRA_EPROTO, "vault: field %s of secret %s is not a string",
			  VAULT_MASTER_KEY_FIELD, read_path);
		goto out;
	}
	rc = b64_decode_secret(json_string_value(val), json_string_length(val), &key);
	/* jansson keeps its own copy of the value: wipe it before it is freed. */
	sodium_memzero((char *)json_string_value(val), json_string_length(val));
	if (rc == ACRA_EINVAL) {
		rc = fail(&c, rc, "vault: field %s of secret %s is not valid base64",
			  VAULT_MASTER_KEY_FIELD, read_path);
		goto out;
	}
	if (rc < 0) {
		rc = fail(&c, rc, "vault: out of memory");
		goto out;
	}
	if (key->len < VAULT_MASTER_KEY_MIN_LEN) {
		rc = fail(&c, ACRA_ERANGE, "vault: master key from %s is %zu bytes, need at least %d",
			  read_path, key->len, VAULT_MASTER_KEY_MIN_LEN);
		goto out;
	}
	*out = key;
	key = NULL;
	log_code(LOG_INFO, LOG_CODE_MASTER_KEY, "vault: master key loaded from %s (KV v%d)",
		 read_path, v2 ? 2 : 1);
	rc = ACRA_OK;
out:
	if (rc < 0)
		log_code(LOG_ERROR, LOG_CODE_MASTER_KEY, "%s", c.msg);
	json_decref(j);
	secret_free(key);
	secret_free(c.token);
	return rc;
}
