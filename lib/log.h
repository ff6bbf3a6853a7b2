/* lib/log.h: one-line log records in Acra's plaintext, json or CEF format.
 * Never pass key bytes, plaintext values or SQL literals to these functions: log ids,
 * lengths and error texts only. Thread-safe: each record is one write(2). */
#ifndef ACRA_LIB_LOG_H
#define ACRA_LIB_LOG_H

#include <stdbool.h>

#include "lib/err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_FATAL = 4 };
enum log_format { LOG_FMT_PLAINTEXT, LOG_FMT_JSON, LOG_FMT_CEF };

/* Acra event codes (field `code`) used by this project. */
enum log_code {
	LOG_CODE_GENERAL = 100,
	LOG_CODE_POISON = 101,
	LOG_CODE_WRONG_PARAM = 501,
	LOG_CODE_CANT_START = 505,
	LOG_CODE_WRONG_CONFIG = 507,
	LOG_CODE_KEYSTORE_INIT = 510,
	LOG_CODE_READ_KEYS = 511,
	LOG_CODE_MASTER_KEY = 512,
	LOG_CODE_LISTEN = 530,
	LOG_CODE_ACCEPT = 533,
	LOG_CODE_CONNECT_DB = 540,
	LOG_CODE_DECRYPT = 581,
	LOG_CODE_PROTOCOL = 600,
	LOG_CODE_TRANSLATOR_REQUEST = 700,
};

/* Connection context printed as fields: any member may be NULL/0. Borrowed. */
struct log_ctx {
	unsigned long long session_id;
	const char *client_id;
	const char *peer;
};

struct log_opts {
	const char *service;    /* "acra-server"; borrowed, must outlive logging */
	enum log_format format;
	bool verbose, debug;    /* -v, -d */
	bool to_console;        /* stderr */
	const char *to_file;    /* append here too, or NULL */
};

/* Configure logging. Until log_startup_done() records at info level are printed even
 * without -v, as Acra does. Returns 0 or ACRA_EIO (file cannot be opened; errno set). */
int log_init(const struct log_opts *o) ACRA_MUSTCHECK;
/* After start-up: without -v/-d only warnings and errors are printed from now on. */
void log_startup_done(void);
/* Parse "plaintext" | "json" | "cef" (case-insensitive). Returns 0 or ACRA_EINVAL. */
int log_parse_format(const char *s, enum log_format *out) ACRA_MUSTCHECK;
bool log_enabled(enum log_level lvl);
/* Close the log file, if any. */
void log_close(void);

void log_emit(enum log_level lvl, int code, const struct log_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_debug(...)                                                                  \
	do {                                                                            \
		if (log_enabled(LOG_DEBUG))                                             \
			log_emit(LOG_DEBUG, 0, NULL, __VA_ARGS__);                      \
	} while (0)
#define log_info(...) log_emit(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARN, 0, NULL, __VA_ARGS__)
#define log_error(...) log_emit(LOG_ERROR, 0, NULL, __VA_ARGS__)
/* With an event code. */
#define log_code(lvl, code, ...) log_emit((lvl), (code), NULL, __VA_ARGS__)
/* With connection context (struct log_ctx *). */
#define clog_debug(ctx, ...)                                                            \
	do {                                                                            \
		if (log_enabled(LOG_DEBUG))                                             \
			log_emit(LOG_DEBUG, 0, (ctx), __VA_ARGS__);                     \
	} while (0)
#define clog_info(ctx, ...) log_emit(LOG_INFO, 0, (ctx), __VA_ARGS__)
#define clog_warn(ctx, ...) log_emit(LOG_WARN, 0, (ctx), __VA_ARGS__)
#define clog_error(ctx, ...) log_emit(LOG_ERROR, 0, (ctx), __VA_ARGS__)

#endif
