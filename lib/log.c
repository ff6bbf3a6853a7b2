/* lib/log.c: Acra-compatible log records (spec/acra-runtime.md §2.11). */
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/version.h"

/* Mutable process-wide state: the only globals outside acra.c (STYLE.md §9). */
static struct {
	const char *service;
	enum log_format format;
	enum log_level level, final_level;
	bool to_console;
	int file_fd;
} g_log = { "acra", LOG_FMT_PLAINTEXT, LOG_INFO, LOG_WARN, true, -1 };

#define LOG_LINE_MAX 8192

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len; /* keep one byte for '\n' */

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct line *l, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* logrus text formatter: quote when the value has anything outside a safe set. */
static void put_text_value(struct line *l, const char *v)
{
	bool quote = *v == '\0';

	for (const char *c = v; *c && !quote; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("-._/@^+", *c)))
			quote = true;
	if (!quote) {
		puts_(l, v);
		return;
	}
	put(l, "\"", 1);
	for (const char *c = v; *c; c++) {
		if (*c == '"' || *c == '\\') {
			put(l, "\\", 1);
			put(l, c, 1);
		} else if (*c == '\n') {
			put(l, "\\n", 2);
		} else if ((unsigned char)*c < 0x20) {
			putf(l, "\\x%02x", (unsigned char)*c);
		} else {
			put(l, c, 1);
		}
	}
	put(l, "\"", 1);
}

static void put_json_string(struct line *l, const char *v)
{
	put(l, "\"", 1);
	for (const char *c = v; *c; c++) {
		unsigned char u = (unsigned char)*c;

		if (u == '"' || u == '\\') {
			put(l, "\\", 1);
			put(l, c, 1);
		} else if (u == '\n') {
			put(l, "\\n", 2);
		} else if (u == '\t') {
			put(l, "\\t", 2);
		} else if (u < 0x20) {
			putf(l, "\\u%04x", u);
		} else {
			put(l, c, 1);
		}
	}
	put(l, "\"", 1);
}

/* CEF escaping (header and extension values): \ | = escaped, newlines to spaces. */
static void put_cef(struct line *l, const char *v, bool header)
{
	if (*v == '\0') {
		put(l, " ", 1);
		return;
	}
	for (const char *c = v; *c; c++) {
		if (*c == '\\' || *c == '=' || (header && *c == '|')) {
			put(l, "\\", 1);
			put(l, c, 1);
		} else if (*c == '\n' || *c == '\r' || *c == '\t') {
			put(l, " ", 1);
		} else {
			put(l, c, 1);
		}
	}
}

static const char *level_name(enum log_level lvl)
{
	static const char *const names[] = { "debug", "info", "warning", "error", "fatal" };

	return names[lvl];
}

static int cef_severity(enum log_level lvl)
{
	static const int sev[] = { 0, 1, 3, 6, 8 };

	return sev[lvl];
}

struct field {
	const char *key;
	char val[264]; /* client ids are up to 256 bytes */
};

/* Context fields in key order (json and CEF sort keys, as logrus does). */
static size_t ctx_fields(const struct log_ctx *ctx, int code, struct field *f)
{
	size_t n = 0;

	if (ctx != NULL && ctx->client_id != NULL) {
		f[n].key = "client_id";
		snprintf(f[n++].val, sizeof(f[0].val), "%s", ctx->client_id);
	}
	f[n].key = "code";
	snprintf(f[n++].val, sizeof(f[0].val), "%d", code);
	if (ctx != NULL && ctx->peer != NULL) {
		f[n].key = "peer";
		snprintf(f[n++].val, sizeof(f[0].val), "%s", ctx->peer);
	}
	if (ctx != NULL && ctx->session_id != 0) {
		f[n].key = "session_id";
		snprintf(f[n++].val, sizeof(f[0].val), "%llu", ctx->session_id);
	}
	return n;
}

static void emit_line(struct line *l)
{
	l->buf[l->len++] = '\n';
	if (g_log.to_console) {
		ssize_t w = write(STDERR_FILENO, l->buf, l->len);
		(void)w;
	}
	if (g_log.file_fd >= 0) {
		ssize_t w = write(g_log.file_fd, l->buf, l->len);
		(void)w;
	}
}

void log_emit(enum log_level lvl, int code, const struct log_ctx *ctx, const char *fmt, ...)
{
	char msg[4096], ts[40], unix_time[32];
	struct field f[4];
	struct line l;
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t nf;
	int saved_errno = errno;

	if (lvl < g_log.level)
		return;
	if (code == 0)
		code = LOG_CODE_GENERAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(unix_time, sizeof(unix_time), "%lld.%03ld", (long long)tv.tv_sec,
		 (long)(tv.tv_usec / 1000));
	nf = ctx_fields(ctx, code, f);
	l.len = 0;

	switch (g_log.format) {
	case LOG_FMT_PLAINTEXT:
		putf(&l, "time=\"%s\" level=%s msg=", ts, level_name(lvl));
		put_text_value(&l, msg);
		for (size_t i = 0; i < nf; i++) {
			putf(&l, " %s=", f[i].key);
			put_text_value(&l, f[i].val);
		}
		break;
	case LOG_FMT_JSON: {
		/* keys sorted: client_id code level msg peer product session_id timestamp
		 * unixTime version */
		bool first = true;
		struct field all[12];
		size_t n = 0;

		for (size_t i = 0; i < nf; i++)
			all[n++] = f[i];
		all[n].key = "level";
		snprintf(all[n++].val, sizeof(all[0].val), "%s", level_name(lvl));
		all[n].key = "product";
		snprintf(all[n++].val, sizeof(all[0].val), "%s", g_log.service);
		all[n].key = "timestamp";
		snprintf(all[n++].val, sizeof(all[0].val), "%s", ts);
		all[n].key = "unixTime";
		snprintf(all[n++].val, sizeof(all[0].val), "%s", unix_time);
		all[n].key = "version";
		snprintf(all[n++].val, sizeof(all[0].val), "%s", ACRA_VERSION);
		put(&l, "{", 1);
		/* insert msg at its sorted place while printing */
		bool msg_done = false;
		for (size_t i = 0; i <= n; i++) {
			if (!msg_done && (i == n || strcmp(all[i].key, "msg") > 0)) {
				if (!first)
					put(&l, ",", 1);
				put(&l, "\"msg\":", 6);
				put_json_string(&l, msg);
				first = false;
				msg_done = true;
			}
			if (i == n)
				break;
			if (!first)
				put(&l, ",", 1);
			put_json_string(&l, all[i].key);
			put(&l, ":", 1);
			put_json_string(&l, all[i].val);
			first = false;
		}
		/* a truncated record must still be one valid JSON object */
		if (l.len >= sizeof(l.buf) - 2)
			l.len = sizeof(l.buf) - 3;
		put(&l, "}", 1);
		break;
	}
	case LOG_FMT_CEF:
		put(&l, "CEF:0|cossacklabs|", 18);
		put_cef(&l, g_log.service, true);
		put(&l, "|", 1);
		put_cef(&l, ACRA_VERSION, true);
		putf(&l, "|%d|", code);
		put_cef(&l, msg, true);
		putf(&l, "|%d|", cef_severity(lvl));
		for (size_t i = 0; i < nf; i++) {
			if (strcmp(f[i].key, "code") == 0)
				continue;
			putf(&l, "%s=", f[i].key);
			put_cef(&l, f[i].val, false);
			put(&l, " ", 1);
		}
		putf(&l, "unixTime=%s ", unix_time);
		break;
	}
	emit_line(&l);
	errno = saved_errno;
}

int log_parse_format(const char *s, enum log_format *out)
{
	if (strcasecmp(s, "plaintext") == 0)
		*out = LOG_FMT_PLAINTEXT;
	else if (strcasecmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else if (strcasecmp(s, "cef") == 0)
		*out = LOG_FMT_CEF;
	else
		return ACRA_EINVAL;
	return ACRA_OK;
}

int log_init(const struct log_opts *o)
{
	g_log.service = o->service;
	g_log.format = o->format;
	g_log.to_console = o->to_console;
	g_log.final_level = o->debug ? LOG_DEBUG : o->verbose ? LOG_INFO : LOG_WARN;
	g_log.level = o->debug ? LOG_DEBUG : LOG_INFO;
	if (o->to_file != NULL && *o->to_file != '\0') {
		int fd = open(o->to_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0)
			return ACRA_EIO;
		/* Re-initialising (SIGHUP) while other threads log: swap the file in place
		 * with dup2 so a record is never written to a closed or reused descriptor. */
		if (g_log.file_fd >= 0 && dup3(fd, g_log.file_fd, O_CLOEXEC) >= 0) {
			close(fd);
			return ACRA_OK;
		}
		log_close();
		g_log.file_fd = fd;
		return ACRA_OK;
	}
	log_close();
	return ACRA_OK;
}

void log_startup_done(void)
{
	if (g_log.final_level > LOG_INFO)
		log_info("Disabling future logs... Set -v -d to see logs");
	g_log.level = g_log.final_level;
}

bool log_enabled(enum log_level lvl)
{
	return lvl >= g_log.level;
}

void log_close(void)
{
	if (g_log.file_fd >= 0)
		close(g_log.file_fd);
	g_log.file_fd = -1;
}
