/* t/unit/test_server_cli.c: `acra server` start-up decisions seen from outside: the legacy
 * host/port flags rebuilding the listener strings (spec/acra-runtime.md §1.4), exit
 * statuses for usage errors, ports in use and SIGTERM. Runs the built binary ($ACRA_BIN). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/unit/suites.h"

static const char *acra_bin(void)
{
	const char *b = getenv("ACRA_BIN");

	return b != NULL ? b : "../../build/acra";
}

static unsigned free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned p;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	p = ntohs(sin.sin_port);
	close(fd);
	return p;
}

struct child {
	pid_t pid;
	int err_fd; /* read end of its stderr */
	char out[16384];
	size_t len;
};

static void spawn(struct child *c, const char *const *args)
{
	int p[2];
	char *argv[32];
	int n = 0;

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(pipe(p), 0);
	argv[n++] = (char *)acra_bin();
	argv[n++] = (char *)"server";
	while (*args != NULL && n < 31)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		dup2(p[1], 2);
		dup2(p[1], 1);
		close(p[0]);
		/* the server needs a master key; tests that check its absence unset it */
		setenv("ACRA_MASTER_KEY", "dGVzdC1tYXN0ZXIta2V5LW9mLXRoaXJ0eS10d28tYnl0ZXM=", 0);
		if (getenv("ACRA_TEST_NO_MASTER_KEY") != NULL)
			unsetenv("ACRA_MASTER_KEY");
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	c->err_fd = p[0];
}

/* Read the child's output until it contains want (or ms pass / EOF). */
static bool wait_for(struct child *c, const char *want, int ms)
{
	while (ms > 0 && strstr(c->out, want) == NULL) {
		struct pollfd pfd = { c->err_fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 50) == 1) {
			n = read(c->err_fd, c->out + c->len, sizeof(c->out) - 1 - c->len);
			if (n <= 0)
				break;
			c->len += (size_t)n;
			c->out[c->len] = '\0';
		}
		ms -= 50;
	}
	return strstr(c->out, want) != NULL;
}

static int finish(struct child *c)
{
	int st;

	wait_for(c, "\x01never", 300);
	ck_assert_int_eq(waitpid(c->pid, &st, 0), c->pid);
	close(c->err_fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_legacy_host_port_flags)
{
	struct child c;
	char port[16], api_port[16], want[128];
	unsigned p = free_port(), ap = free_port();
	const char *args[] = { "--db_host=127.0.0.1", "-v", "--client_id=cli_test_client",
			       "--incoming_connection_host=127.0.0.1",
			       "--incoming_connection_port", port, "--http_api_enable",
			       "--incoming_connection_api_port", api_port, NULL };

	snprintf(port, sizeof(port), "%u", p);
	snprintf(api_port, sizeof(api_port), "%u", ap);
	spawn(&c, args);
	/* data listener rebuilt from host and port; API listener from host and API port */
	snprintf(want, sizeof(want), "Start listening to connections on tcp://127.0.0.1:%u/", p);
	ck_assert_msg(wait_for(&c, want, 5000), "%s", c.out);
	snprintf(want, sizeof(want), "Start listening to HTTP API on tcp://127.0.0.1:%u/", ap);
	ck_assert_msg(wait_for(&c, want, 5000), "%s", c.out);
	kill(c.pid, SIGTERM);
	ck_assert_int_eq(finish(&c), 0);
	ck_assert_ptr_nonnull(strstr(c.out, "Server graceful shutdown completed, bye PID: "));
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
	static const char *const cases[][4] = {
		{ NULL },
		{ "--db_host=x", "--mysql_enable", "--postgresql_enable", NULL },
		{ "--db_host=x", "--incoming_connection_string=tcp://127.0.0.1", NULL },
		{ "--db_host=x", "--incoming_connection_api_string=udp://1.2.3.4:5", NULL },
		{ "--db_host=x", "--client_id=abc", NULL },
		{ "--db_host=x", "--http_api_tls_transport_enable", NULL },
	};
	static const char *const says[] = { "db_host", "mutually exclusive",
					    "incoming_connection_string",
					    "incoming_connection_api_string", "client_id",
					    "http_api_enable" };
	struct child c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spawn(&c, cases[i]);
		ck_assert_int_eq(finish(&c), 2);
		ck_assert_msg(strstr(c.out, says[i]) != NULL, "case %zu: %s", i, c.out);
	}
}
END_TEST

START_TEST(test_port_in_use_exits_1)
{
	struct child c;
	struct sockaddr_in sin;
	char s[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t len = sizeof(sin);
	const char *args[] = { "--db_host=127.0.0.1", "--client_id=cli_test_client", s, NULL };

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(s, sizeof(s), "--incoming_connection_string=tcp://127.0.0.1:%u/",
		 ntohs(sin.sin_port));
	spawn(&c, args);
	ck_assert_int_eq(finish(&c), 1);
	ck_assert_msg(strstr(c.out, "Address already in use") != NULL, "%s", c.out);
	close(fd);
}
END_TEST

/* No or a bad ACRA_MASTER_KEY: exit 1 with event code 512, naming the variable and never
 * echoing its value. */
START_TEST(test_master_key_required)
{
	struct child c;
	char s[64];
	const char *args[] = { "--db_host=127.0.0.1", s, NULL };

	snprintf(s, sizeof(s), "--incoming_connection_string=tcp://127.0.0.1:%u/", free_port());
	setenv("ACRA_TEST_NO_MASTER_KEY", "1", 1);
	spawn(&c, args);
	unsetenv("ACRA_TEST_NO_MASTER_KEY");
	ck_assert_int_eq(finish(&c), 1);
	ck_assert_msg(strstr(c.out, "ACRA_MASTER_KEY") != NULL, "%s", c.out);
	ck_assert_msg(strstr(c.out, "512") != NULL, "%s", c.out);

	setenv("ACRA_MASTER_KEY", "c2hvcnQta2V5", 1);
	spawn(&c, args);
	unsetenv("ACRA_MASTER_KEY");
	ck_assert_int_eq(finish(&c), 1);
	ck_assert_msg(strstr(c.out, "512") != NULL, "%s", c.out);
	ck_assert_msg(strstr(c.out, "c2hvcnQta2V5") == NULL, "%s", c.out);
}
END_TEST

Suite *server_cli_suite(void)
{
	Suite *s = suite_create("server_cli");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_legacy_host_port_flags);
	tcase_add_test(tc, test_usage_errors_exit_2);
	tcase_add_test(tc, test_port_in_use_exits_1);
	tcase_add_test(tc, test_master_key_required);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
