/* t/unit/test_net.c: connection strings, listening and connecting sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/net.h"
#include "t/unit/suites.h"

static const struct {
	const char *in;
	enum net_scheme scheme;
	const char *host;
	unsigned port;
	const char *path;
	const char *formatted;
} good[] = {
	{ "tcp://0.0.0.0:9393/", NET_TCP, "0.0.0.0", 9393, "", "tcp://0.0.0.0:9393/" },
	{ "tcp://127.0.0.1:9393", NET_TCP, "127.0.0.1", 9393, "", "tcp://127.0.0.1:9393/" },
	{ "tcp://acra-server:1/", NET_TCP, "acra-server", 1, "", "tcp://acra-server:1/" },
	{ "tcp://db_host.local:65535", NET_TCP, "db_host.local", 65535, "",
	  "tcp://db_host.local:65535/" },
	{ "tcp://[::1]:9393/", NET_TCP, "::1", 9393, "", "tcp://[::1]:9393/" },
	{ "tcp://[fe80::1:2]:80", NET_TCP, "fe80::1:2", 80, "", "tcp://[fe80::1:2]:80/" },
	{ "unix:///tmp/acra.sock", NET_UNIX, "", 0, "/tmp/acra.sock", "unix:///tmp/acra.sock" },
	{ "http://127.0.0.1:9595", NET_HTTP, "127.0.0.1", 9595, "", "http://127.0.0.1:9595/" },
	{ "grpc://0.0.0.0:9696/", NET_GRPC, "0.0.0.0", 9696, "", "grpc://0.0.0.0:9696/" },
};

START_TEST(test_parse_good)
{
	struct net_addr a;
	char err[256], buf[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(net_parse(good[i].in, &a, err, sizeof(err)) == ACRA_OK, "%s: %s",
			      good[i].in, err);
		ck_assert_int_eq(a.scheme, good[i].scheme);
		ck_assert_str_eq(a.host, good[i].host);
		ck_assert_uint_eq(a.port, good[i].port);
		ck_assert_str_eq(a.path, good[i].path);
		ck_assert_int_eq(net_is_tcp(&a), good[i].scheme != NET_UNIX);
		net_format(&a, buf, sizeof(buf));
		ck_assert_str_eq(buf, good[i].formatted);
	}
}
END_TEST

static const struct {
	const char *in;
	const char *msg_part; /* the error names the problem */
} bad[] = {
	{ "", "empty" },
	{ "0.0.0.0:9393", "scheme" },
	{ "udp://0.0.0.0:53", "scheme" },
	{ "TCP://0.0.0.0:9393", "scheme" },
	{ "tcp://0.0.0.0", "host:port" },
	{ "tcp://0.0.0.0:", "port" },
	{ "tcp://0.0.0.0:0", "port" },
	{ "tcp://0.0.0.0:65536", "port" },
	{ "tcp://0.0.0.0:99999999999", "port" },
	{ "tcp://0.0.0.0:12a", "port" },
	{ "tcp://0.0.0.0:-1", "port" },
	{ "tcp://:9393", "host" },
	{ "tcp://::1:9393", "host" },
	{ "tcp://[::1]", "[ipv6]:port" },
	{ "tcp://[::1:9393", "[ipv6]:port" },
	{ "tcp://[zz::1]:9393", "IPv6" },
	{ "tcp://[]:9393", "IPv6" },
	{ "tcp://a b:9393", "host" },
	{ "tcp://host:9393/extra", "port" },
	{ "unix://relative/path", "absolute" },
	{ "unix://", "absolute" },
	{ "unix:///", "absolute" },
};

START_TEST(test_parse_bad)
{
	struct net_addr a;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(net_parse(bad[i].in, &a, err, sizeof(err)) == ACRA_EINVAL,
			      "accepted \"%s\"", bad[i].in);
		ck_assert_msg(strstr(err, bad[i].msg_part) != NULL, "\"%s\": message \"%s\"",
			      bad[i].in, err);
	}
	ck_assert_int_eq(net_parse(NULL, &a, NULL, 0), ACRA_EINVAL);
}
END_TEST

START_TEST(test_parse_long_unix_path)
{
	struct net_addr a;
	char s[300], err[256];

	memset(s, 'a', sizeof(s));
	memcpy(s, "unix:///", 8);
	s[sizeof(s) - 1] = '\0';
	ck_assert_int_eq(net_parse(s, &a, err, sizeof(err)), ACRA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer"));
}
END_TEST

START_TEST(test_numeric_host)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	ck_assert(net_numeric_host("127.0.0.1", 5432, &ss, &len));
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5432);
	ck_assert(net_numeric_host("::1", 1, &ss, &len));
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert(!net_numeric_host("localhost", 1, &ss, &len));
	ck_assert(!net_numeric_host("1.2.3", 1, NULL, NULL));
}
END_TEST

/* Port the kernel gave a listening socket. */
static unsigned bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A free port: bind port 0 with reuseport off, read it back, close. */
static unsigned free_port(void)
{
	struct net_addr a;
	char err[256];
	int fd;
	unsigned p;

	ck_assert_int_eq(net_parse("tcp://127.0.0.1:1/", &a, err, sizeof(err)), ACRA_OK);
	a.port = 0;
	ck_assert_int_eq(net_listen(&a, false, 1, &fd, err, sizeof(err)), ACRA_OK);
	p = bound_port(fd);
	close(fd);
	return p;
}

START_TEST(test_listen_connect_tcp)
{
	struct net_addr a;
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256], peer[64];
	int l1, l2, l3, c, s;
	struct pollfd pfd;
	unsigned port = free_port();

	snprintf(err, sizeof(err), "tcp://127.0.0.1:%u/", port);
	ck_assert_int_eq(net_parse(err, &a, err, sizeof(err)), ACRA_OK);
	ck_assert_int_eq(net_check_free(&a, err, sizeof(err)), ACRA_OK);
	/* two SO_REUSEPORT listeners share the port (one per worker) */
	ck_assert_int_eq(net_listen(&a, true, 8, &l1, err, sizeof(err)), ACRA_OK);
	ck_assert_int_eq(net_listen(&a, true, 8, &l2, err, sizeof(err)), ACRA_OK);
	/* without SO_REUSEPORT the port is in use, and the message says so */
	ck_assert_int_eq(net_listen(&a, false, 8, &l3, err, sizeof(err)), ACRA_EIO);
	ck_assert_int_eq(l3, -1);
	/* and the check before binding a group sees the port taken */
	ck_assert_int_eq(net_check_free(&a, err, sizeof(err)), ACRA_EIO);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	ck_assert_msg(strstr(err, "in use") != NULL && strstr(err, "tcp://127.0.0.1:") != NULL,
		      "%s", err);
	ck_assert_int_eq(net_resolve(&a, &ss, &len, err, sizeof(err)), ACRA_OK);
	ck_assert_int_eq(net_connect_start((struct sockaddr *)&ss, len, &c), ACRA_OK);
	pfd.fd = c;
	pfd.events = POLLOUT;
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	{
		int e = -1;
		socklen_t el = sizeof(e);

		ck_assert_int_eq(getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el), 0);
		ck_assert_int_eq(e, 0);
	}
	/* one of the two listeners has it */
	pfd.fd = l1;
	pfd.events = POLLIN;
	s = poll(&pfd, 1, 100) == 1 ? accept(l1, NULL, NULL) : accept(l2, NULL, NULL);
	if (s < 0) {
		pfd.fd = l2;
		ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
		s = accept(l2, NULL, NULL);
	}
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(write(c, "ping", 4), 4);
	{
		char b[8];

		ck_assert_int_eq(read(s, b, sizeof(b)), 4);
		ck_assert_int_eq(memcmp(b, "ping", 4), 0);
	}
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(c, (struct sockaddr *)&ss, &len), 0);
	net_peer_text((struct sockaddr *)&ss, len, peer, sizeof(peer));
	ck_assert_msg(strncmp(peer, "127.0.0.1:", 10) == 0, "%s", peer);
	close(s);
	close(c);
	close(l1);
	close(l2);
}
END_TEST

START_TEST(test_connect_refused)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct pollfd pfd;
	int c, e = 0;
	socklen_t el = sizeof(e);

	ck_assert(net_numeric_host("127.0.0.1", free_port(), &ss, &len));
	ck_assert_int_eq(net_connect_start((struct sockaddr *)&ss, len, &c), ACRA_OK);
	pfd.fd = c;
	pfd.events = POLLOUT;
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	ck_assert_int_eq(getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el), 0);
	ck_assert_int_eq(e, ECONNREFUSED);
	close(c);
}
END_TEST

START_TEST(test_listen_unix)
{
	struct net_addr a;
	char dir[] = "/tmp/acra-net-XXXXXX", s[200], err[256];
	int l, l2, fd;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(s, sizeof(s), "unix://%s/acra.sock", dir);
	ck_assert_int_eq(net_parse(s, &a, err, sizeof(err)), ACRA_OK);
	ck_assert_int_eq(net_listen(&a, false, 8, &l, err, sizeof(err)), ACRA_OK);
	/* a live socket is not taken over */
	ck_assert_int_eq(net_listen(&a, false, 8, &l2, err, sizeof(err)), ACRA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "another process"));
	/* a stale one (nobody listening) is replaced */
	close(l);
	ck_assert_int_eq(stat(a.path, &st), 0);
	ck_assert_int_eq(net_listen(&a, false, 8, &l, err, sizeof(err)), ACRA_OK);
	close(l);
	unlink(a.path);
	/* a regular file is never removed */
	fd = open(a.path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(net_listen(&a, false, 8, &l, err, sizeof(err)), ACRA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a socket"));
	ck_assert_int_eq(stat(a.path, &st), 0);
	unlink(a.path);
	rmdir(dir);
}
END_TEST

START_TEST(test_resolve_name)
{
	struct net_addr a;
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];

	ck_assert_int_eq(net_parse("tcp://localhost:5432/", &a, err, sizeof(err)), ACRA_OK);
	ck_assert_int_eq(net_resolve(&a, &ss, &len, err, sizeof(err)), ACRA_OK);
	ck_assert(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	ck_assert_int_eq(net_parse("tcp://no-such-host.invalid:5432/", &a, err, sizeof(err)),
			 ACRA_OK);
	ck_assert_int_eq(net_resolve(&a, &ss, &len, err, sizeof(err)), ACRA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no-such-host.invalid"));
}
END_TEST

Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_parse_long_unix_path);
	tcase_add_test(tc, test_numeric_host);
	tcase_add_test(tc, test_listen_connect_tcp);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_listen_unix);
	tcase_add_test(tc, test_resolve_name);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
