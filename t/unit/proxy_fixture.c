/* t/unit/proxy_fixture.c: see proxy_fixture.h. */
#include "t/unit/proxy_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/net.h"
#include "t/unit/suites.h"

bool fx_read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, 3000) != 1)
			return false;
		r = read(fd, p + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

int fx_listen(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

int fx_connect(unsigned port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void *proxy_main(void *arg)
{
	struct fx_proxy *p = arg;

	p->result = reactor_run(p->r, 2);
	return NULL;
}

void fx_proxy_start(struct fx_proxy *p, unsigned db_port, const struct session_hooks *hooks,
		    void *hooks_arg, const char *client_id)
{
	struct net_addr a;
	char err[256], s[64];
	int fd;

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(session_env_set_db(&p->env, "127.0.0.1", db_port), ACRA_OK);
	p->env.connect_timeout_s = 2;
	p->env.client_id = client_id;
	p->env.hooks = hooks;
	p->env.hooks_arg = hooks_arg;
	session_listener_publish(&p->l, &p->env);
	ck_assert_int_eq(reactor_new(&p->r, 1), ACRA_OK);
	reactor_on_worker(p->r, session_worker_init, session_worker_fini, p->r);
	fd = fx_listen(&p->port); /* a free port for the reactor's own listener */
	close(fd);
	snprintf(s, sizeof(s), "tcp://127.0.0.1:%u/", p->port);
	ck_assert_int_eq(net_parse(s, &a, err, sizeof(err)), ACRA_OK);
	ck_assert_msg(reactor_listen(p->r, &a, session_accept, &p->l, err, sizeof(err)) == ACRA_OK,
		      "%s", err);
	ck_assert_int_eq(pthread_create(&p->th, NULL, proxy_main, p), 0);
}

void fx_proxy_stop(struct fx_proxy *p)
{
	reactor_shutdown(p->r);
	pthread_join(p->th, NULL);
	reactor_free(p->r);
}
