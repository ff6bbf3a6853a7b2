/* t/unit/test_conf.c: flag tables, Go-style command lines, config files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/conf.h"
#include "t/unit/suites.h"

struct tcfg {
	struct conf_base base;
	char *db_host;
	long db_port;
	bool poison;
	int mode;
	char *name;
};

static const char *const tmodes[] = { "AcraServer", "AcraTranslator", NULL };

static const struct conf_opt topts[] = {
	CONF_STR("db_host", struct tcfg, db_host, NULL, "database host"),
	CONF_INT("db_port", struct tcfg, db_port, "5432", 1, 65535, "database port"),
	CONF_BOOL("poison_detect_enable", struct tcfg, poison, "true", "detect poison records"),
	CONF_ENUM("mode", struct tcfg, mode, "AcraServer", tmodes, "peer type"),
	CONF_STR("name", struct tcfg, name, "it's", "a name"),
	CONF_IGNORED("ds", CONF_T_BOOL, "false", "pprof server"),
	CONF_END
};

static const struct conf_spec tspec = { "test", "acra-test", "unit test", topts };

/* Parses a NULL-terminated argument list; argv[0] is added. */
static int parse(struct tcfg *c, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	memset(c, 0, sizeof(*c));
	argv[argc++] = (char *)"acra-test";
	while (*args != NULL)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return conf_parse(&tspec, c, argc, argv);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/acra-conf-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_defaults)
{
	struct tcfg c;
	const char *args[] = { NULL };

	ck_assert_int_eq(parse(&c, args), ACRA_OK);
	ck_assert_ptr_null(c.db_host);
	ck_assert_int_eq(c.db_port, 5432);
	ck_assert(c.poison);
	ck_assert_int_eq(c.mode, 0);
	ck_assert_str_eq(c.name, "it's");
	ck_assert(c.base.log_to_console);
	ck_assert(!conf_given(&c, "db_port"));
	conf_free(&c);
}
END_TEST

START_TEST(test_go_flag_syntax)
{
	struct tcfg c;
	const char *args[] = { "--db_host=db.local", "-db_port", "6432", "--poison_detect_enable=false",
			       "-mode=acratranslator", "-v", "--name", "x y", NULL };

	ck_assert_int_eq(parse(&c, args), ACRA_OK);
	ck_assert_str_eq(c.db_host, "db.local");
	ck_assert_int_eq(c.db_port, 6432);
	ck_assert(!c.poison);
	ck_assert_int_eq(c.mode, 1);
	ck_assert(c.base.verbose);
	ck_assert_str_eq(c.name, "x y");
	ck_assert(conf_given(&c, "db_port"));
	conf_free(&c);
}
END_TEST

START_TEST(test_bad_flags)
{
	static const char *const bad[][3] = {
		{ "--no_such_flag", NULL },
		{ "--db_port=70000", NULL },
		{ "--db_port=12x", NULL },
		{ "--db_port", NULL },
		{ "--poison_detect_enable=maybe", NULL },
		{ "--mode=other", NULL },
		{ "positional", NULL },
	};
	struct tcfg c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(&c, bad[i]), ACRA_EINVAL);
		conf_free(&c);
	}
}
END_TEST

START_TEST(test_huge_value_rejected)
{
	struct tcfg c;
	char *big = malloc(1 << 20);
	const char *args[] = { big, NULL };

	memset(big, 'a', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	memcpy(big, "--db_host=", 10);
	ck_assert_int_eq(parse(&c, args), ACRA_EINVAL);
	conf_free(&c);
	free(big);
}
END_TEST

START_TEST(test_config_file_yaml)
{
	struct tcfg c;
	char *path = write_tmp("version: 0.96.0\n# comment\ndb_host: \"db.example\"\n"
			       "db_port: 7000 # inline comment\nname:\nmode = AcraTranslator\n"
			       "ds: true\n");
	char opt[128];
	const char *args[] = { opt, "--db_port=7001", NULL };

	snprintf(opt, sizeof(opt), "--config_file=%s", path);
	ck_assert_int_eq(parse(&c, args), ACRA_OK);
	ck_assert_str_eq(c.db_host, "db.example");
	ck_assert_int_eq(c.db_port, 7001); /* command line wins over the file */
	ck_assert_str_eq(c.name, "it's");  /* empty value keeps the default */
	ck_assert_int_eq(c.mode, 1);
	ck_assert(conf_given(&c, "db_host"));
	conf_free(&c);
	unlink(path);
}
END_TEST

/* Acra's generated configs have comment lines of several hundred bytes. */
START_TEST(test_config_file_long_lines)
{
	struct tcfg c;
	char text[8192], opt[128], host[301];
	const char *args[] = { opt, NULL };
	char *path;
	int n;

	memset(host, 'h', 300);
	host[300] = '\0';
	n = snprintf(text, sizeof(text), "# ");
	memset(text + n, 'c', 1000);
	snprintf(text + n + 1000, sizeof(text) - n - 1000, "\r\ndb_host: %s\r\ndb_port=7\n", host);
	path = write_tmp(text);
	snprintf(opt, sizeof(opt), "--config_file=%s", path);
	ck_assert_int_eq(parse(&c, args), ACRA_OK);
	ck_assert_str_eq(c.db_host, host);
	ck_assert_int_eq(c.db_port, 7);
	conf_free(&c);
	unlink(path);

	/* A value above CONF_VALUE_MAX is refused. */
	n = snprintf(text, sizeof(text), "db_host: ");
	memset(text + n, 'v', CONF_VALUE_MAX + 1);
	text[n + CONF_VALUE_MAX + 1] = '\0';
	path = write_tmp(text);
	snprintf(opt, sizeof(opt), "--config_file=%s", path);
	ck_assert_int_eq(parse(&c, args), ACRA_EINVAL);
	conf_free(&c);
	unlink(path);
}
END_TEST

START_TEST(test_config_file_errors)
{
	static const char *const texts[] = {
		"db_host: a\nunknown_key: 1\n",
		"db_port: abc\n",
		"[section]\ndb_host: a\n",
		"this line has no delimiter\n",
	};
	struct tcfg c;
	char opt[128];
	const char *args[] = { opt, NULL };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *path = write_tmp(texts[i]);

		snprintf(opt, sizeof(opt), "--config_file=%s", path);
		ck_assert_msg(parse(&c, args) == ACRA_EINVAL, "accepted: %s", texts[i]);
		conf_free(&c);
		unlink(path);
	}
	snprintf(opt, sizeof(opt), "--config_file=/tmp");
	ck_assert_int_eq(parse(&c, args), ACRA_EINVAL); /* a directory */
	conf_free(&c);
	snprintf(opt, sizeof(opt), "--config_file=/nonexistent/acra.yaml");
	ck_assert_int_eq(parse(&c, args), ACRA_EINVAL);
	conf_free(&c);
}
END_TEST

START_TEST(test_dump_config_round_trip)
{
	struct tcfg c, d;
	char out[] = "/tmp/acra-dump-XXXXXX", opt[128];
	const char *args[] = { "--db_host=a b:c", "--db_port=9", "--dump_config", NULL };
	const char *args2[] = { opt, NULL };
	int fd = mkstemp(out), saved = dup(STDOUT_FILENO);

	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	ck_assert_int_eq(parse(&c, args), CONF_DONE);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(fd);
	conf_free(&c);
	snprintf(opt, sizeof(opt), "--config_file=%s", out);
	ck_assert_int_eq(parse(&d, args2), ACRA_OK);
	ck_assert_str_eq(d.db_host, "a b:c");
	ck_assert_int_eq(d.db_port, 9);
	ck_assert_str_eq(d.name, "it's");
	conf_free(&d);
	unlink(out);
}
END_TEST

START_TEST(test_help_is_done)
{
	struct tcfg c;
	const char *args[] = { "--help", NULL };

	ck_assert_int_eq(parse(&c, args), CONF_DONE);
	ck_assert_int_eq(conf_exit_code(CONF_DONE), 0);
	ck_assert_int_eq(conf_exit_code(ACRA_EINVAL), 2);
	conf_free(&c);
}
END_TEST

Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_go_flag_syntax);
	tcase_add_test(tc, test_bad_flags);
	tcase_add_test(tc, test_huge_value_rejected);
	tcase_add_test(tc, test_config_file_yaml);
	tcase_add_test(tc, test_config_file_long_lines);
	tcase_add_test(tc, test_config_file_errors);
	tcase_add_test(tc, test_dump_config_round_trip);
	tcase_add_test(tc, test_help_is_done);
	suite_add_tcase(s, tc);
	return s;
}
