/* lib/conf.h: flags as data. Each mode declares a table of options; conf_parse() fills the
 * mode's config struct from defaults, the config file and the command line.
 *
 * Precedence: command line > config file (--config_file, else configs/<service>.yaml in
 * the current directory if it exists) > default. Flag syntax follows Go's flag package,
 * as Acra's scripts use it: -name, --name, =value or a separate value; a boolean takes
 * no separate value (--flag, --flag=false). The file holds flat `key: value` lines (Acra's
 * YAML configs) or `key = value` (INI); keys are the flag names. Unknown flags and keys,
 * bad values and out-of-range numbers are usage errors naming the culprit. */
#ifndef ACRA_LIB_CONF_H
#define ACRA_LIB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>

#include "lib/err.h"

enum conf_type { CONF_T_END = 0, CONF_T_STR, CONF_T_BOOL, CONF_T_INT, CONF_T_ENUM };

#define CONF_F_IGNORED 1u /* accepted for compatibility with Acra; no effect; warns when set */
#define CONF_NOFIELD ((size_t)-1)
#define CONF_MAX_OPTS 256
#define CONF_VALUE_MAX 4096 /* longest accepted value of any option, in bytes */

/* One option. Storage by type: STR char * (owned by the cfg, freed by conf_free), BOOL bool,
 * INT long, ENUM int (index into choices, matched case-insensitively). */
struct conf_opt {
	const char *name;
	enum conf_type type;
	size_t off;
	const char *def; /* default as text (parsed like user input); NULL = "", false, 0 */
	const char *help;
	long min, max;               /* INT range */
	const char *const *choices;  /* ENUM: NULL-terminated */
	unsigned flags;
};

#define CONF_STR(n, T, f, d, h) { (n), CONF_T_STR, offsetof(T, f), (d), (h), 0, 0, NULL, 0 }
#define CONF_BOOL(n, T, f, d, h) { (n), CONF_T_BOOL, offsetof(T, f), (d), (h), 0, 0, NULL, 0 }
#define CONF_INT(n, T, f, d, lo, hi, h)                                                 \
	{ (n), CONF_T_INT, offsetof(T, f), (d), (h), (lo), (hi), NULL, 0 }
#define CONF_ENUM(n, T, f, d, ch, h) { (n), CONF_T_ENUM, offsetof(T, f), (d), (h), 0, 0, (ch), 0 }
/* Accepted and ignored: typ is CONF_T_STR, CONF_T_BOOL or CONF_T_INT (for value checks). */
#define CONF_IGNORED(n, typ, d, h)                                                      \
	{ (n), (typ), CONF_NOFIELD, (d), (h), LONG_MIN, LONG_MAX, NULL, CONF_F_IGNORED }
#define CONF_END { NULL, CONF_T_END, 0, NULL, NULL, 0, 0, NULL, 0 }

/* Options every mode has. Must be the first member of each mode's config struct. */
struct conf_base {
	char *config_file;
	bool dump_config;
	bool markdown;       /* --generate_markdown_args_table */
	bool verbose, debug; /* -v, -d */
	int logging_format;  /* enum log_format */
	bool log_to_console;
	char *log_to_file;
	/* private: where each option's value came from (0 default, 1 file, 2 command line) */
	uint8_t src[CONF_MAX_OPTS];
	const struct conf_spec *spec;
};

struct conf_spec {
	const char *mode;    /* "server" */
	const char *service; /* "acra-server": log product, default config file name */
	const char *summary; /* one line for help */
	const struct conf_opt *opts; /* the mode's own options, CONF_END-terminated */
};

/* conf_parse() result besides ACRA_OK and ACRA_EINVAL: help or a dump was printed. */
#define CONF_DONE 1

/* Fill cfg (zeroed by the caller, starting with struct conf_base) from defaults, config file
 * and argv. Prints help (--help/-h), --dump_config or --generate_markdown_args_table to
 * stdout and returns CONF_DONE; on a usage error prints a message naming the flag or key to
 * stderr and returns ACRA_EINVAL. On ACRA_OK logging is initialised from the options.
 * Free with conf_free() in every case. */
int conf_parse(const struct conf_spec *spec, void *cfg, int argc, char **argv) ACRA_MUSTCHECK;
/* Exit status for a conf_parse() result: 0 for CONF_DONE, 2 for usage errors. */
int conf_exit_code(int rc);
/* Frees the strings in cfg; safe to call twice. */
void conf_free(void *cfg);
/* Whether option `name` was set by the command line or the config file. */
bool conf_given(const void *cfg, const char *name);
/* Print `Usage of <service>:` and every option to f (Go's flag layout). */
void conf_print_help(const struct conf_spec *spec, FILE *f);
/* Parse a Go-style boolean ("1","t","true","0","f","false", any case; files also yes/no/on/off). */
int conf_parse_bool(const char *s, bool *out) ACRA_MUSTCHECK;

#endif
