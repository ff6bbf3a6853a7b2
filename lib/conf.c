/* lib/conf.c: option tables, Go-style command line, flat YAML/INI config files (inih). */
#include "lib/conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>


#include "lib/log.h"
#include "lib/version.h"

static const char *const log_formats[] = { "plaintext", "json", "cef", NULL };

/* Options of struct conf_base, shared by every mode (spec/acra-runtime.md §1). */
static const struct conf_opt common_opts[] = {
	CONF_STR("config_file", struct conf_base, config_file, NULL,
		 "path to config file (default configs/<service>.yaml if it exists)"),
	CONF_BOOL("dump_config", struct conf_base, dump_config, "false",
		  "print the effective configuration as a config file and exit"),
	CONF_BOOL("generate_markdown_args_table", struct conf_base, markdown, "false",
		  "print a Markdown table of all flags and exit"),
	CONF_BOOL("v", struct conf_base, verbose, "false", "log to stderr all INFO, WARNING and ERROR logs"),
	CONF_BOOL("d", struct conf_base, debug, "false", "log everything to stderr"),
	CONF_ENUM("logging_format", struct conf_base, logging_format, "plaintext", log_formats,
		  "logging format: plaintext, json or CEF"),
	CONF_BOOL("log_to_console", struct conf_base, log_to_console, "true", "log to stderr"),
	CONF_STR("log_to_file", struct conf_base, log_to_file, NULL,
		 "also append logs to this file"),
	CONF_END
};

#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]) - 1)

enum { SRC_DEFAULT = 0, SRC_FILE = 1, SRC_ARGV = 2 };

/* Options are numbered common first, then the mode's. */
static const struct conf_opt *opt_at(const struct conf_spec *spec, size_t i)
{
	if (i < N_COMMON)
		return &common_opts[i];
	i -= N_COMMON;
	return spec->opts[i].name != NULL ? &spec->opts[i] : NULL;
}

static long opt_find(const struct conf_spec *spec, const char *name, size_t name_len)
{
	const struct conf_opt *o;

	for (size_t i = 0; (o = opt_at(spec, i)) != NULL; i++)
		if (strlen(o->name) == name_len && strncmp(o->name, name, name_len) == 0)
			return (long)i;
	return -1;
}

int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "true", "yes", "y", "on", NULL };
	static const char *const no[] = { "0", "f", "false", "no", "n", "off", NULL };

	for (size_t i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return ACRA_OK;
		}
	for (size_t i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return ACRA_OK;
		}
	return ACRA_EINVAL;
}

static const char *type_name(enum conf_type t)
{
	switch (t) {
	case CONF_T_BOOL:
		return "boolean";
	case CONF_T_INT:
		return "integer";
	case CONF_T_ENUM:
		return "one of a list";
	default:
		return "string";
	}
}

/* Set option o in cfg from text v. `where` names the source for messages. */
static int opt_set(const struct conf_opt *o, void *cfg, const char *v, const char *where)
{
	char *field = o->off == CONF_NOFIELD ? NULL : (char *)cfg + o->off;
	size_t vlen = strlen(v);

	if (vlen > CONF_VALUE_MAX) {
		fprintf(stderr, "%s: value of %s is too long (%zu bytes, at most %d)\n", where,
			o->name, vlen, CONF_VALUE_MAX);
		return ACRA_EINVAL;
	}
	switch (o->type) {
	case CONF_T_STR:
		if (field != NULL) {
			char *copy = strdup(v);

			if (copy == NULL)
				return ACRA_ENOMEM;
			free(*(char **)field);
			*(char **)field = copy;
		}
		return ACRA_OK;
	case CONF_T_BOOL: {
		bool b;

		if (conf_parse_bool(v, &b) != ACRA_OK) {
			fprintf(stderr, "%s: invalid boolean value \"%.64s\" for %s\n", where, v,
				o->name);
			return ACRA_EINVAL;
		}
		if (field != NULL)
			*(bool *)field = b;
		return ACRA_OK;
	}
	case CONF_T_INT: {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno == ERANGE) {
			fprintf(stderr, "%s: invalid integer value \"%.64s\" for %s\n", where, v,
				o->name);
			return ACRA_EINVAL;
		}
		if (n < o->min || n > o->max) {
			fprintf(stderr, "%s: value %ld for %s is out of range [%ld, %ld]\n", where,
				n, o->name, o->min, o->max);
			return ACRA_EINVAL;
		}
		if (field != NULL)
			*(long *)field = n;
		return ACRA_OK;
	}
	case CONF_T_ENUM:
		for (int i = 0; o->choices[i] != NULL; i++)
			if (strcasecmp(v, o->choices[i]) == 0) {
				*(int *)field = i;
				return ACRA_OK;
			}
		fprintf(stderr, "%s: invalid value \"%.64s\" for %s; accepted:", where, v, o->name);
		for (int i = 0; o->choices[i] != NULL; i++)
			fprintf(stderr, " %s", o->choices[i]);
		fputc('\n', stderr);
		return ACRA_EINVAL;
	case CONF_T_END:
		break;
	}
	return ACRA_EINVAL;
}

static int apply_defaults(const struct conf_spec *spec, void *cfg)
{
	const struct conf_opt *o;
	int rc;

	for (size_t i = 0; (o = opt_at(spec, i)) != NULL; i++) {
		const char *d = o->def;

		if (d == NULL)
			d = o->type == CONF_T_BOOL ? "false" : o->type == CONF_T_INT ? "0" : NULL;
		if (d == NULL && o->type == CONF_T_ENUM)
			d = o->choices[0];
		if (d == NULL)
			continue; /* strings default to NULL: not set */
		rc = opt_set(o, cfg, d, "default");
		if (rc != ACRA_OK)
			return rc;
	}
	return ACRA_OK;
}

struct file_ctx {
	const struct conf_spec *spec;
	void *cfg;
	const char *path;
	int rc;
	FILE *f;
	int lineno; /* line being parsed */
};

/* YAML scalars: strip a trailing " # comment" from plain values, unquote quoted ones. */
static void unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		char q = v[0];
		size_t j = 0;

		for (size_t i = 1; i < n - 1; i++) {
			if (q == '"' && v[i] == '\\' && i + 1 < n - 1) {
				i++;
				v[j++] = v[i] == 'n' ? '\n' : v[i] == 't' ? '\t' : v[i];
			} else if (q == '\'' && v[i] == '\'' && v[i + 1] == '\'') {
				v[j++] = '\'';
				i++;
			} else {
				v[j++] = v[i];
			}
		}
		v[j] = '\0';
		return;
	}
	for (char *c = v; *c; c++)
		if (*c == '#' && c > v && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	if (strcmp(v, "~") == 0 || strcmp(v, "null") == 0)
		v[0] = '\0'; /* YAML null: same as an empty value */
}

static int file_handler(void *user, const char *section, const char *name, const char *value)
{
	struct file_ctx *fc = user;
	struct conf_base *base = fc->cfg;
	char where[512], *v;
	long i;
	int was_quoted;

	if (fc->rc != ACRA_OK)
		return 0;
	snprintf(where, sizeof(where), "%s:%d", fc->path, fc->lineno);
	if (section != NULL && *section != '\0') {
		fprintf(stderr, "%s: sections are not supported ([%s])\n", where, section);
		fc->rc = ACRA_EINVAL;
		return 0;
	}
	if (strcmp(name, "version") == 0)
		return 1; /* Acra 0.85+ files carry the version they were written for */
	i = opt_find(fc->spec, name, strlen(name));
	if (i < 0) {
		fprintf(stderr, "%s: unknown key \"%.64s\" for %s\n", where, name,
			fc->spec->service);
		fc->rc = ACRA_EINVAL;
		return 0;
	}
	if (base->src[i] == SRC_ARGV)
		return 1;
	v = strdup(value);
	if (v == NULL) {
		fc->rc = ACRA_ENOMEM;
		return 0;
	}
	was_quoted = v[0] == '"' || v[0] == '\'';
	unquote(v);
	/* Acra: an empty (null) value leaves the option at its default */
	if (*v != '\0' || was_quoted) {
		if (*v == '\0' && opt_at(fc->spec, (size_t)i)->type != CONF_T_STR) {
			free(v);
			return 1;
		}
		fc->rc = opt_set(opt_at(fc->spec, (size_t)i), fc->cfg, v, where);
		if (fc->rc == ACRA_OK)
			base->src[i] = SRC_FILE;
	}
	free(v);
	return fc->rc == ACRA_OK;
}

/* Longest physical line read from a config file. Comments may be long (Acra's generated
 * configs have lines of several hundred bytes); values are limited by CONF_VALUE_MAX. */
#define CONF_LINE_MAX (1L << 24)

/* Splits each line of fc->f into key and value at the first ':' or '=' and hands them to
 * file_handler. Blank lines and lines starting with '#' or ';' are skipped. */
static int read_lines(struct file_ctx *fc)
{
	char *line = NULL, *k, *v, *end;
	size_t cap = 0;
	ssize_t n;
	int rc = ACRA_OK;

	while ((n = getline(&line, &cap, fc->f)) >= 0) {
		fc->lineno++;
		if (n > CONF_LINE_MAX) {
			fprintf(stderr, "%s:%d: line is too long (%zd bytes)\n", fc->path, fc->lineno,
				n);
			rc = ACRA_EINVAL;
			break;
		}
		k = line;
		if (fc->lineno == 1 && memcmp(k, "\xef\xbb\xbf", 3) == 0)
			k += 3; /* UTF-8 byte order mark */
		while (*k == ' ' || *k == '\t')
			k++;
		end = k + strlen(k);
		while (end > k && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' ||
				   end[-1] == '\t'))
			*--end = '\0';
		if (*k == '\0' || *k == '#' || *k == ';')
			continue;
		if (*k == '[') {
			fprintf(stderr, "%s:%d: sections are not supported\n", fc->path, fc->lineno);
			rc = ACRA_EINVAL;
			break;
		}
		v = k + strcspn(k, ":=");
		if (*v == '\0' || v == k) {
			fprintf(stderr, "%s:%d: cannot parse line (expected key: value)\n", fc->path,
				fc->lineno);
			rc = ACRA_EINVAL;
			break;
		}
		end = v;
		*v++ = '\0';
		while (end > k && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (!file_handler(fc, "", k, v)) {
			rc = fc->rc != ACRA_OK ? fc->rc : ACRA_EINVAL;
			break;
		}
	}
	if (rc == ACRA_OK && ferror(fc->f)) {
		fprintf(stderr, "%s: read error\n", fc->path);
		rc = ACRA_EIO;
	}
	free(line);
	return rc;
}

static int load_file(const struct conf_spec *spec, void *cfg)
{
	struct conf_base *base = cfg;
	struct file_ctx fc = { spec, cfg, NULL, ACRA_OK, NULL, 0 };
	char defpath[256];
	struct stat st;
	bool explicit = base->config_file != NULL && *base->config_file != '\0';
	int r;

	if (explicit) {
		fc.path = base->config_file;
	} else {
		snprintf(defpath, sizeof(defpath), "configs/%s.yaml", spec->service);
		fc.path = defpath;
	}
	if (stat(fc.path, &st) != 0) {
		if (!explicit)
			return ACRA_OK; /* the default file is optional */
		fprintf(stderr, "%s: cannot read config file \"%s\": %s\n", spec->service, fc.path,
			strerror(errno));
		return ACRA_EINVAL;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: config file \"%s\" is not a regular file\n", spec->service,
			fc.path);
		return ACRA_EINVAL;
	}
	fc.f = fopen(fc.path, "r");
	if (fc.f == NULL) {
		fprintf(stderr, "%s: cannot open config file \"%s\": %s\n", spec->service, fc.path,
			strerror(errno));
		return ACRA_EINVAL;
	}
	r = read_lines(&fc);
	fclose(fc.f);
	return r;
}

/* Text of the current value of option o, for dumps. buf is for numbers. */
static const char *value_text(const struct conf_opt *o, const void *cfg, char *buf, size_t n)
{
	const char *field = (const char *)cfg + o->off;

	if (o->off == CONF_NOFIELD)
		return o->def != NULL ? o->def : "";
	switch (o->type) {
	case CONF_T_STR:
		return *(char *const *)field != NULL ? *(char *const *)field : "";
	case CONF_T_BOOL:
		return *(const bool *)field ? "true" : "false";
	case CONF_T_INT:
		snprintf(buf, n, "%ld", *(const long *)field);
		return buf;
	case CONF_T_ENUM:
		return o->choices[*(const int *)field];
	case CONF_T_END:
		break;
	}
	return "";
}

static bool yaml_plain_ok(const char *s)
{
	if (*s == '\0' || strchr("-?:,[]{}#&*!|>'\"%@` ", *s) != NULL)
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '#' || (*c == ':' && (c[1] == ' ' || !c[1])))
			return false;
	return s[strlen(s) - 1] != ' ';
}

static int cmp_opt_name(const void *a, const void *b)
{
	const struct conf_opt *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static size_t sorted_opts(const struct conf_spec *spec, const struct conf_opt **out)
{
	const struct conf_opt *o;
	size_t n = 0;

	for (size_t i = 0; (o = opt_at(spec, i)) != NULL && n < CONF_MAX_OPTS; i++)
		out[n++] = o;
	qsort(out, n, sizeof(out[0]), cmp_opt_name);
	return n;
}

static void dump_config(const struct conf_spec *spec, const void *cfg)
{
	const struct conf_opt *opts[CONF_MAX_OPTS];
	size_t n = sorted_opts(spec, opts);
	char num[32];

	printf("version: %s\n", ACRA_COMPAT_VERSION);
	for (size_t i = 0; i < n; i++) {
		const struct conf_opt *o = opts[i];
		const char *v;

		if (strcmp(o->name, "dump_config") == 0 ||
		    strcmp(o->name, "generate_markdown_args_table") == 0)
			continue;
		v = value_text(o, cfg, num, sizeof(num));
		printf("\n# %s\n%s: ", o->help, o->name);
		if (o->type != CONF_T_STR || yaml_plain_ok(v)) {
			printf("%s\n", v);
			continue;
		}
		putchar('"');
		for (const char *c = v; *c; c++) {
			if (*c == '"' || *c == '\\')
				putchar('\\');
			putchar(*c);
		}
		printf("\"\n");
	}
}

static void print_markdown(const struct conf_spec *spec, const void *cfg)
{
	const struct conf_opt *opts[CONF_MAX_OPTS];
	size_t n = sorted_opts(spec, opts);
	char num[32];

	printf("| %s flag | type | default | description |\n|---|---|---|---|\n",
	       spec->service);
	for (size_t i = 0; i < n; i++) {
		const char *d = opts[i]->def != NULL ? opts[i]->def : "";

		(void)cfg;
		(void)num;
		printf("| `--%s` | %s | %s%s%s | ", opts[i]->name, type_name(opts[i]->type),
		       *d ? "`" : "", d, *d ? "`" : "");
		for (const char *c = opts[i]->help; *c; c++) {
			if (*c == '|')
				putchar('\\');
			putchar(*c);
		}
		printf("%s |\n", opts[i]->flags & CONF_F_IGNORED ? " (accepted, no effect)" : "");
	}
}

void conf_print_help(const struct conf_spec *spec, FILE *f)
{
	const struct conf_opt *opts[CONF_MAX_OPTS];
	size_t n = sorted_opts(spec, opts);

	fprintf(f, "%s: %s\nUsage of %s:\n", spec->service, spec->summary, spec->service);
	for (size_t i = 0; i < n; i++) {
		const struct conf_opt *o = opts[i];
		const char *d = o->def;

		fprintf(f, "  %s%s\n    \t%s", strlen(o->name) > 2 ? "--" : "-", o->name, o->help);
		if (o->flags & CONF_F_IGNORED)
			fputs(" (accepted for compatibility, no effect)", f);
		if (d != NULL && *d != '\0' && strcmp(d, "false") != 0 &&
		    !(o->type == CONF_T_INT && strcmp(d, "0") == 0))
			fprintf(f, o->type == CONF_T_STR || o->type == CONF_T_ENUM ?
					   " (default \"%s\")" :
					   " (default %s)",
				d);
		fputc('\n', f);
	}
}

static int parse_argv(const struct conf_spec *spec, void *cfg, int argc, char **argv)
{
	struct conf_base *base = cfg;
	int rc;

	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a], *name, *eq, *val;
		size_t name_len;
		const struct conf_opt *o;
		long i;

		if (strcmp(arg, "--") == 0) {
			if (a + 1 < argc) {
				fprintf(stderr, "%s: unexpected argument \"%.64s\"\n", spec->service,
					argv[a + 1]);
				return ACRA_EINVAL;
			}
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			fprintf(stderr, "%s: unexpected argument \"%.64s\" (flags start with -)\n",
				spec->service, arg);
			return ACRA_EINVAL;
		}
		name = arg + 1 + (arg[1] == '-');
		eq = strchr(name, '=');
		name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		if ((name_len == 1 && name[0] == 'h') ||
		    (name_len == 4 && strncmp(name, "help", 4) == 0)) {
			conf_print_help(spec, stdout);
			return CONF_DONE;
		}
		i = opt_find(spec, name, name_len);
		if (i < 0) {
			fprintf(stderr, "%s: flag provided but not defined: -%.*s\n", spec->service,
				(int)(name_len > 64 ? 64 : name_len), name);
			fprintf(stderr, "Run '%s --help' for the list of flags.\n", spec->service);
			return ACRA_EINVAL;
		}
		o = opt_at(spec, (size_t)i);
		if (eq != NULL) {
			val = eq + 1;
		} else if (o->type == CONF_T_BOOL) {
			val = "true";
		} else if (a + 1 < argc) {
			val = argv[++a];
		} else {
			fprintf(stderr, "%s: flag needs an argument: -%s\n", spec->service, o->name);
			return ACRA_EINVAL;
		}
		rc = opt_set(o, cfg, val, "command line");
		if (rc != ACRA_OK)
			return rc;
		base->src[i] = SRC_ARGV;
	}
	return ACRA_OK;
}

static void warn_ignored(const struct conf_spec *spec, const void *cfg)
{
	const struct conf_base *base = cfg;
	const struct conf_opt *o;

	for (size_t i = 0; (o = opt_at(spec, i)) != NULL; i++)
		if ((o->flags & CONF_F_IGNORED) && base->src[i] != SRC_DEFAULT)
			log_warn("option %s is accepted for compatibility and has no effect",
				 o->name);
}

int conf_parse(const struct conf_spec *spec, void *cfg, int argc, char **argv)
{
	struct conf_base *base = cfg;
	struct log_opts lo;
	int rc;

	base->spec = spec;
	rc = apply_defaults(spec, cfg);
	if (rc == ACRA_OK)
		rc = parse_argv(spec, cfg, argc, argv);
	if (rc == ACRA_OK)
		rc = load_file(spec, cfg);
	if (rc != ACRA_OK)
		return rc;
	if (base->dump_config) {
		dump_config(spec, cfg);
		return CONF_DONE;
	}
	if (base->markdown) {
		print_markdown(spec, cfg);
		return CONF_DONE;
	}
	lo.service = spec->service;
	lo.format = (enum log_format)base->logging_format;
	lo.verbose = base->verbose;
	lo.debug = base->debug;
	lo.to_console = base->log_to_console;
	lo.to_file = base->log_to_file;
	if (log_init(&lo) != ACRA_OK) {
		fprintf(stderr, "%s: cannot open log file \"%s\": %s\n", spec->service,
			base->log_to_file, strerror(errno));
		return ACRA_EINVAL;
	}
	warn_ignored(spec, cfg);
	return ACRA_OK;
}

int conf_exit_code(int rc)
{
	return rc == CONF_DONE || rc == ACRA_OK ? 0 : 2;
}

void conf_free(void *cfg)
{
	struct conf_base *base = cfg;
	const struct conf_opt *o;

	if (base->spec == NULL)
		return;
	for (size_t i = 0; (o = opt_at(base->spec, i)) != NULL; i++)
		if (o->type == CONF_T_STR && o->off != CONF_NOFIELD) {
			char **p = (char **)((char *)cfg + o->off);

			free(*p);
			*p = NULL;
		}
}

bool conf_given(const void *cfg, const char *name)
{
	const struct conf_base *base = cfg;
	long i = opt_find(base->spec, name, strlen(name));

	return i >= 0 && base->src[i] != SRC_DEFAULT;
}
