/* t/unit/test_transport.c: lib/session transports in-process: an "acra connector" proxy
 * (Secure Session client role toward its target) in front of an "acra server" proxy
 * (Secure Session server role) whose database side is attached with db_attach to an echo
 * thread over a socketpair. Checks bytes both ways, the client id the server side learns,
 * and that a connector with a key the server does not know never reaches the database. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/crypto/ec.h"
#include "lib/net.h"
#include "lib/reactor.h"
#include "lib/session.h"
#include "t/unit/suites.h"

struct keys {
	struct session_ss_keys ops;
	struct ec_priv *own;
	uint8_t peer_pub[EC_PUB_LEN];
	char expect_peer[64]; /* server role: the id whose key peer_pub is */
	_Atomic int own_calls;
	char own_id[64];
};

static int own_key(void *arg, const char *client_id, const struct ec_priv **key, void **handle)
{
	struct keys *k = arg;

	snprintf(k->own_id, sizeof(k->own_id), "%s", client_id);
	atomic_fetch_add(&k->own_calls, 1);
	*key = k->own;
	*handle = NULL;
	return ACRA_OK;
}

static int peer_key(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub, size_t *pub_len)
{
	struct keys *k = arg;

	if (k->expect_peer[0] != '\0' &&
	    (id_len != strlen(k->expect_peer) || memcmp(id, k->expect_peer, id_len) != 0))
		return ACRA_ENOKEY;
	memcpy(pub, k->peer_pub, EC_PUB_LEN);
	*pub_len = EC_PUB_LEN;
	return ACRA_OK;
}

struct px {
	struct reactor *r;
	struct session_env env;
	struct session_listener l;
	unsigned port;
	pthread_t thread;
	int result;
	_Atomic int attached;
	char attached_id[64];
};

static void *px_main(void *arg)
{
	struct px *p = arg;

	p->result = reactor_run(p->r, 2);
	return NULL;
}

static unsigned free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void px_start(struct px *p)
{
	struct net_addr a;
	char err[256], s[64];

	p->port = free_port();
	p->env.connect_timeout_s = 2;
	session_listener_publish(&p->l, &p->env);
	ck_assert_int_eq(reactor_new(&p->r, 1), ACRA_OK);
	reactor_on_worker(p->r, session_worker_init, session_worker_fini, p->r);
	snprintf(s, sizeof(s), "tcp://127.0.0.1:%u/", p->port);
	ck_assert_int_eq(net_parse(s, &a, err, sizeof(err)), ACRA_OK);
	ck_assert_msg(reactor_listen(p->r, &a, session_accept, &p->l, err, sizeof(err)) == ACRA_OK,
		      "%s", err);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, px_main, p), 0);
}

static void px_stop(struct px *p)
{
	reactor_shutdown(p->r);
	pthread_join(p->thread, NULL);
	reactor_free(p->r);
}

static void *echo(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w <= 0)
				goto out;
			off += w;
		}
out:
	close(fd);
	return NULL;
}

/* The "database" of the server proxy: an echo thread on a socketpair. */
static int attach_echo(void *arg, struct session *s, int *fd)
{
	struct px *p = arg;
	int sv[2];
	pthread_t t;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return ACRA_EIO;
	snprintf(p->attached_id, sizeof(p->attached_id), "%s",
		 session_client_id(s) != NULL ? session_client_id(s) : "");
	atomic_fetch_add(&p->attached, 1);
	pthread_create(&t, NULL, echo, (void *)(intptr_t)sv[1]);
	pthread_detach(t);
	*fd = sv[0];
	return ACRA_OK;
}

static int dial(unsigned port)
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

static void *writer(void *arg)
{
	int *a = arg;
	uint8_t *buf = malloc((size_t)a[1]);

	for (int i = 0; i < a[1]; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	for (size_t off = 0; off < (size_t)a[1];) {
		ssize_t w = write(a[0], buf + off, (size_t)a[1] - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(buf);
	return NULL;
}

static size_t read_n(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 3000) != 1)
			break;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Connector keys (client role) and server keys (server role) for id "conn_one"; the
 * connector's key may be a stranger's. */
static void setup(struct keys *ck, struct keys *sk, struct ec_priv *conn_priv,
		  struct ec_priv *conn_claimed, struct ec_priv *srv_priv)
{
	memset(ck, 0, sizeof(*ck));
	memset(sk, 0, sizeof(*sk));
	ck->ops = (struct session_ss_keys){ "conn_one", own_key, NULL, peer_key, ck };
	ck->own = conn_priv;
	ck_assert_int_eq(ec_priv_public(srv_priv, ck->peer_pub), ACRA_OK);
	sk->ops = (struct session_ss_keys){ NULL, own_key, NULL, peer_key, sk };
	sk->own = srv_priv;
	snprintf(sk->expect_peer, sizeof(sk->expect_peer), "conn_one");
	ck_assert_int_eq(ec_priv_public(conn_claimed, sk->peer_pub), ACRA_OK);
}

START_TEST(test_secure_session_both_roles)
{
	struct ec_priv *conn, *srv;
	struct keys ck, sk;
	struct px server, connector;
	enum { N = 3 * 1024 * 1024 };
	uint8_t *got = malloc(N);
	int fd, args[2];
	pthread_t w;

	ck_assert_int_eq(ec_priv_generate(&conn), ACRA_OK);
	ck_assert_int_eq(ec_priv_generate(&srv), ACRA_OK);
	setup(&ck, &sk, conn, conn, srv);
	memset(&server, 0, sizeof(server));
	memset(&connector, 0, sizeof(connector));
	server.env.client_tr.kind = SESSION_TRANSPORT_SSESSION;
	server.env.client_tr.ss = &sk.ops;
	server.env.db_attach = attach_echo;
	server.env.db_attach_arg = &server;
	ck_assert_int_eq(session_env_set_db(&server.env, "127.0.0.1", 1), ACRA_OK);
	px_start(&server);
	ck_assert_int_eq(session_env_set_db(&connector.env, "127.0.0.1", server.port), ACRA_OK);
	connector.env.db_tr.kind = SESSION_TRANSPORT_SSESSION;
	connector.env.db_tr.ss = &ck.ops;
	px_start(&connector);

	fd = dial(connector.port);
	args[0] = fd;
	args[1] = N;
	ck_assert_int_eq(pthread_create(&w, NULL, writer, args), 0);
	ck_assert_uint_eq(read_n(fd, got, N), N);
	for (int i = 0; i < N; i++)
		if (got[i] != (uint8_t)(i * 13 + 1))
			ck_abort_msg("byte %d differs", i);
	pthread_join(w, NULL);
	close(fd);
	ck_assert_int_eq(atomic_load(&server.attached), 1);
	ck_assert_str_eq(server.attached_id, "conn_one"); /* the id the connector announced */
	ck_assert_str_eq(sk.own_id, "conn_one");          /* server key chosen by that id */

	px_stop(&connector);
	px_stop(&server);
	ec_priv_free(conn);
	ec_priv_free(srv);
	free(got);
}
END_TEST

START_TEST(test_secure_session_wrong_key_refused)
{
	struct ec_priv *conn, *rogue, *srv;
	struct keys ck, sk;
	struct px server, connector;
	uint8_t b[16];
	int fd;

	ck_assert_int_eq(ec_priv_generate(&conn), ACRA_OK);
	ck_assert_int_eq(ec_priv_generate(&rogue), ACRA_OK);
	ck_assert_int_eq(ec_priv_generate(&srv), ACRA_OK);
	/* the connector signs with rogue; the server knows conn_one's real key */
	setup(&ck, &sk, rogue, conn, srv);
	memset(&server, 0, sizeof(server));
	memset(&connector, 0, sizeof(connector));
	server.env.client_tr.kind = SESSION_TRANSPORT_SSESSION;
	server.env.client_tr.ss = &sk.ops;
	server.env.db_attach = attach_echo;
	server.env.db_attach_arg = &server;
	ck_assert_int_eq(session_env_set_db(&server.env, "127.0.0.1", 1), ACRA_OK);
	px_start(&server);
	ck_assert_int_eq(session_env_set_db(&connector.env, "127.0.0.1", server.port), ACRA_OK);
	connector.env.db_tr.kind = SESSION_TRANSPORT_SSESSION;
	connector.env.db_tr.ss = &ck.ops;
	px_start(&connector);

	fd = dial(connector.port);
	ck_assert_int_eq(write(fd, "hello", 5), 5);
	ck_assert_uint_eq(read_n(fd, b, sizeof(b)), 0); /* closed, nothing echoed */
	close(fd);
	ck_assert_int_eq(atomic_load(&server.attached), 0);

	px_stop(&connector);
	px_stop(&server);
	ec_priv_free(conn);
	ec_priv_free(rogue);
	ec_priv_free(srv);
}
END_TEST

/* The peer closes within a second, sending nothing. */
static bool closed_soon(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;

	return poll(&p, 1, 1000) == 1 && read(fd, &c, 1) == 0;
}

/* A frame length above the Secure Session limit is refused at once, before the proxy
 * buffers that much; a client id frame of garbage is refused too. */
START_TEST(test_secure_session_bad_frames)
{
	static const uint8_t big[8] = { 0x00, 0x00, 0x20, 0x00, 'x', 'x', 'x', 'x' }; /* 2 MiB */
	static const uint8_t nul_id[9] = { 5, 0, 0, 0, 'a', 0, 'b', 'c', 'd' };
	struct ec_priv *srv;
	struct keys sk, ck;
	struct px server;
	uint8_t b[16];
	int fd;

	ck_assert_int_eq(ec_priv_generate(&srv), ACRA_OK);
	setup(&ck, &sk, srv, srv, srv);
	memset(&server, 0, sizeof(server));
	server.env.client_tr.kind = SESSION_TRANSPORT_SSESSION;
	server.env.client_tr.ss = &sk.ops;
	server.env.db_attach = attach_echo;
	server.env.db_attach_arg = &server;
	ck_assert_int_eq(session_env_set_db(&server.env, "127.0.0.1", 1), ACRA_OK);
	px_start(&server);
	fd = dial(server.port);
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	ck_assert(closed_soon(fd));
	close(fd);
	fd = dial(server.port);
	ck_assert_int_eq(write(fd, nul_id, sizeof(nul_id)), (ssize_t)sizeof(nul_id));
	ck_assert(closed_soon(fd));
	close(fd);
	(void)b;
	ck_assert_int_eq(atomic_load(&server.attached), 0);
	ck_assert_int_eq(atomic_load(&sk.own_calls), 0); /* no key asked for a bad id */
	px_stop(&server);
	ec_priv_free(srv);
}
END_TEST

Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_secure_session_both_roles);
	tcase_add_test(tc, test_secure_session_wrong_key_refused);
	tcase_add_test(tc, test_secure_session_bad_frames);
	suite_add_tcase(s, tc);
	return s;
}
