/* t/unit/test_session.c: the reactor and proxy sessions over real loopback sockets, with
 * small in-process "databases" (echo, flood, refuse) standing in for the server. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/metrics.h"
#include "lib/net.h"
#include "lib/reactor.h"
#include "lib/session.h"
#include "t/unit/suites.h"

enum db_kind { DB_ECHO, DB_FLOOD };

struct fake_db {
	enum db_kind kind;
	int lfd;
	unsigned port;
	pthread_t thread;
	_Atomic size_t flood_written;
	_Atomic bool stop;
};

static int listen_any(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void *echo_conn(void *arg)
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

/* Writes a byte pattern (i % 251) as fast as the proxy takes it, counting bytes. */
static void flood(struct fake_db *db, int fd)
{
	char buf[16384];
	size_t total = 0;
	int small = 65536;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (!atomic_load(&db->stop)) {
		struct pollfd p = { fd, POLLOUT, 0 };
		ssize_t w;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (char)((total + i) % 251);
		if (poll(&p, 1, 50) <= 0)
			continue;
		w = write(fd, buf, sizeof(buf));
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w <= 0)
			break;
		total += (size_t)w;
		atomic_store(&db->flood_written, total);
	}
	close(fd);
}

static void *db_main(void *arg)
{
	struct fake_db *db = arg;

	while (!atomic_load(&db->stop)) {
		struct pollfd p = { db->lfd, POLLIN, 0 };
		pthread_t t;
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(db->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (db->kind == DB_FLOOD) {
			flood(db, fd);
			continue;
		}
		pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
	return NULL;
}

static void db_start(struct fake_db *db, enum db_kind kind)
{
	memset(db, 0, sizeof(*db));
	db->kind = kind;
	db->lfd = listen_any(&db->port);
	ck_assert_int_eq(pthread_create(&db->thread, NULL, db_main, db), 0);
}

static void db_stop(struct fake_db *db)
{
	atomic_store(&db->stop, true);
	pthread_join(db->thread, NULL);
	close(db->lfd);
}

/* A reactor with one session listener, run on its own thread. */
struct proxy {
	struct reactor *r;
	struct session_env env;
	struct session_listener l;
	struct metrics *m;
	struct session_metrics sm;
	unsigned port;
	long timeout;
	pthread_t thread;
	int result;
};

static void *proxy_main(void *arg)
{
	struct proxy *p = arg;

	p->result = reactor_run(p->r, p->timeout);
	return NULL;
}

static void proxy_start(struct proxy *p, unsigned db_port, const struct session_hooks *hooks,
			unsigned workers, long timeout)
{
	struct net_addr a;
	char err[256], s[64];
	int fd;

	memset(p, 0, sizeof(*p));
	p->timeout = timeout;
	p->m = metrics_new();
	p->sm.connections = metrics_counter(p->m, "conn_total", "c", NULL);
	p->sm.bytes_to_db = metrics_counter(p->m, "bytes_total", "b", (const char *const[]){ "d", "to_db", NULL });
	p->sm.bytes_to_client =
		metrics_counter(p->m, "bytes_total", "b", (const char *const[]){ "d", "to_client", NULL });
	p->sm.db_errors = metrics_counter(p->m, "db_err_total", "e", NULL);
	ck_assert_int_eq(session_env_set_db(&p->env, "127.0.0.1", db_port), ACRA_OK);
	p->env.connect_timeout_s = 2;
	p->env.hooks = hooks;
	p->env.metrics = &p->sm;
	session_listener_publish(&p->l, &p->env);
	ck_assert_int_eq(reactor_new(&p->r, workers), ACRA_OK);
	reactor_on_worker(p->r, session_worker_init, session_worker_fini, p->r);
	/* find a free port, then listen there with one socket per worker */
	fd = listen_any(&p->port);
	close(fd);
	snprintf(s, sizeof(s), "tcp://127.0.0.1:%u/", p->port);
	ck_assert_int_eq(net_parse(s, &a, err, sizeof(err)), ACRA_OK);
	ck_assert_msg(reactor_listen(p->r, &a, session_accept, &p->l, err, sizeof(err)) == ACRA_OK,
		      "%s", err);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, proxy_main, p), 0);
}

static int proxy_stop(struct proxy *p)
{
	reactor_shutdown(p->r);
	pthread_join(p->thread, NULL);
	reactor_free(p->r);
	metrics_free(p->m);
	return p->result;
}

static int connect_to(unsigned port)
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

/* Read exactly n bytes (2 s per read at most); returns bytes read. */
static size_t read_n(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 2000) != 1)
			break;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void *writer(void *arg)
{
	int *a = arg;
	uint8_t *buf = malloc((size_t)a[1]);

	for (int i = 0; i < a[1]; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t off = 0; off < (size_t)a[1];) {
		ssize_t w = write(a[0], buf + off, (size_t)a[1] - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(buf);
	return NULL;
}

START_TEST(test_relay_echo)
{
	struct fake_db db;
	struct proxy p;
	enum { N = 4 * 1024 * 1024 };
	uint8_t *got = malloc(N);
	int fds[3], args[3][2];
	pthread_t w[3];

	db_start(&db, DB_ECHO);
	proxy_start(&p, db.port, NULL, 2, 5);
	/* three clients at once, 4 MiB each way, written while reading */
	for (int c = 0; c < 3; c++) {
		fds[c] = connect_to(p.port);
		args[c][0] = fds[c];
		args[c][1] = N;
		ck_assert_int_eq(pthread_create(&w[c], NULL, writer, args[c]), 0);
	}
	for (int c = 0; c < 3; c++) {
		ck_assert_uint_eq(read_n(fds[c], got, N), N);
		for (int i = 0; i < N; i++)
			if (got[i] != (uint8_t)(i * 7 + 3))
				ck_abort_msg("byte %d differs", i);
		pthread_join(w[c], NULL);
		close(fds[c]);
	}
	ck_assert(metric_value(p.sm.connections) == 3);
	ck_assert(metric_value(p.sm.bytes_to_db) == 3.0 * N);
	ck_assert(metric_value(p.sm.bytes_to_client) == 3.0 * N);
	/* all clients gone: the drain finishes at once and reports success */
	usleep(100000);
	ck_assert_int_eq(proxy_stop(&p), 0);
	db_stop(&db);
	free(got);
}
END_TEST

START_TEST(test_db_refused)
{
	struct proxy p;
	unsigned dead_port;
	int lfd = listen_any(&dead_port), fd;
	uint8_t b[16];
	struct pollfd pfd;

	close(lfd); /* nothing listens there now */
	proxy_start(&p, dead_port, NULL, 1, 5);
	fd = connect_to(p.port);
	(void)write(fd, "hello", 5);
	pfd.fd = fd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 3000), 1);
	ck_assert_int_le(read(fd, b, sizeof(b)), 0); /* closed, nothing sent */
	close(fd);
	usleep(50000);
	ck_assert(metric_value(p.sm.db_errors) == 1);
	ck_assert_int_eq(proxy_stop(&p), 0);
}
END_TEST

START_TEST(test_backpressure_slow_client)
{
	struct fake_db db;
	struct proxy p;
	int fd, small = 65536;
	size_t before, after;
	uint8_t *buf = malloc(1 << 20);
	size_t got = 0;

	db_start(&db, DB_FLOOD);
	proxy_start(&p, db.port, NULL, 1, 1);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	{
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)p.port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	/* the client reads nothing: the database must soon be unable to write more, because
	 * the proxy stops reading once its buffer to the client passes the high water mark */
	after = atomic_load(&db.flood_written);
	for (int i = 0; i < 20; i++) { /* until the flow stops (kernel buffers fill first) */
		before = after;
		usleep(300000);
		after = atomic_load(&db.flood_written);
		if (before == after && after > 0)
			break;
	}
	ck_assert_uint_eq(before, after);
	ck_assert_msg(after < 24u * 1024 * 1024, "database wrote %zu bytes", after);
	ck_assert_uint_gt(after, SESSION_HIGH_WATER);
	/* reading resumes the flow, and the bytes arrive intact */
	while (got < after + (1u << 20)) {
		size_t n = read_n(fd, buf, 1 << 20);

		ck_assert_uint_gt(n, 0);
		for (size_t i = 0; i < n; i++)
			if (buf[i] != (uint8_t)((got + i) % 251))
				ck_abort_msg("byte %zu differs", got + i);
		got += n;
	}
	ck_assert_uint_gt(atomic_load(&db.flood_written), after);
	/* the session is still open: shutdown waits 1 s for it, then cuts it */
	ck_assert_int_eq(proxy_stop(&p), 1);
	close(fd);
	db_stop(&db);
	free(buf);
}
END_TEST

/* A line protocol for the hook test: lines starting with 'x' are upper-cased (REPLACE),
 * "quit" closes the session with a goodbye to the client, other lines pass as they are. */
static void line_hook(void *state, struct session *s, const uint8_t *p, size_t len,
		      struct session_answer *ans)
{
	static uint8_t out[256];
	const uint8_t *nl = memchr(p, '\n', len);
	size_t n;

	(void)state;
	(void)s;
	if (nl == NULL) {
		ans->verdict = SESSION_NEED_MORE;
		ans->n = len + 1;
		return;
	}
	n = (size_t)(nl - p) + 1;
	if (n == 5 && memcmp(p, "quit\n", 5) == 0) {
		ans->verdict = SESSION_CLOSE;
		ans->out = (const uint8_t *)"bye\n";
		ans->out_len = 4;
		ans->reason = "client said quit";
		return;
	}
	if (p[0] == 'x' && n <= sizeof(out)) {
		for (size_t i = 0; i < n; i++)
			out[i] = (uint8_t)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 32 : p[i]);
		ans->verdict = SESSION_REPLACE;
		ans->n = n;
		ans->out = out;
		ans->out_len = n;
		return;
	}
	ans->verdict = SESSION_PASS;
	ans->n = n;
}

static const struct session_hooks line_hooks = { .on_client_bytes = line_hook };

START_TEST(test_hooks)
{
	struct fake_db db;
	struct proxy p;
	int fd;
	uint8_t b[64];
	const char *msg = "plain\nxbig\npart";
	const char *expect = "plain\nXBIG\npartial\n";

	db_start(&db, DB_ECHO);
	proxy_start(&p, db.port, &line_hooks, 1, 5);
	fd = connect_to(p.port);
	/* a line split across writes is held until complete */
	ck_assert_int_eq(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	usleep(50000);
	ck_assert_int_eq(write(fd, "ial\n", 4), 4);
	ck_assert_uint_eq(read_n(fd, b, strlen(expect)), strlen(expect));
	ck_assert_int_eq(memcmp(b, expect, strlen(expect)), 0);
	ck_assert_int_eq(write(fd, "quit\n", 5), 5);
	ck_assert_uint_eq(read_n(fd, b, 4), 4);
	ck_assert_int_eq(memcmp(b, "bye\n", 4), 0);
	ck_assert_int_eq(read(fd, b, 1), 0); /* then closed */
	close(fd);
	usleep(50000);
	ck_assert_int_eq(proxy_stop(&p), 0);
	db_stop(&db);
}
END_TEST

/* A transport handshake before the database: the client must say "hello\n" first; the
 * proxy answers "welcome\n" itself and only then dials the database. */
struct hs_state {
	bool done;
};

static int hs_open(struct session *s, void *arg, void **state)
{
	(void)s;
	(void)arg;
	*state = calloc(1, sizeof(struct hs_state));
	return *state != NULL ? ACRA_OK : ACRA_ENOMEM;
}

static void hs_close(void *state)
{
	free(state);
}

static void hs_client(void *state, struct session *s, const uint8_t *p, size_t len,
		      struct session_answer *ans)
{
	struct hs_state *st = state;

	if (st->done) {
		ans->verdict = SESSION_PASS;
		ans->n = len;
		return;
	}
	if (len < 6) {
		ans->verdict = SESSION_NEED_MORE;
		ans->n = 6;
		return;
	}
	if (memcmp(p, "hello\n", 6) != 0) {
		ans->verdict = SESSION_CLOSE;
		ans->reason = "bad handshake";
		return;
	}
	st->done = true;
	ans->verdict = SESSION_REPLACE;
	ans->n = 6;
	ans->out = (const uint8_t *)"welcome\n";
	ans->out_len = 8;
	ans->to_sender = true;
	session_connect_db(s);
}

static const struct session_hooks hs_hooks = { .connect_db_later = true,
					       .open = hs_open,
					       .on_client_bytes = hs_client,
					       .close = hs_close };

START_TEST(test_connect_db_later)
{
	struct fake_db db;
	struct proxy p;
	int fd;
	uint8_t b[64];
	unsigned dead_port;
	int lfd;

	db_start(&db, DB_ECHO);
	proxy_start(&p, db.port, &hs_hooks, 1, 5);
	/* handshake and data in one write: the data waits for the database, then echoes */
	fd = connect_to(p.port);
	ck_assert_int_eq(write(fd, "hello\nping", 10), 10);
	ck_assert_uint_eq(read_n(fd, b, 12), 12);
	ck_assert_int_eq(memcmp(b, "welcome\nping", 12), 0);
	close(fd);
	/* no handshake, no database: nothing is dialled and the client is dropped */
	fd = connect_to(p.port);
	ck_assert_int_eq(write(fd, "HELLO!", 6), 6);
	ck_assert_int_le(read(fd, b, sizeof(b)), 0);
	close(fd);
	usleep(50000);
	ck_assert(metric_value(p.sm.db_errors) == 0);
	ck_assert_int_eq(proxy_stop(&p), 0);
	db_stop(&db);
	/* the database refuses after the handshake: the client gets its welcome, then EOF */
	lfd = listen_any(&dead_port);
	close(lfd);
	proxy_start(&p, dead_port, &hs_hooks, 1, 5);
	fd = connect_to(p.port);
	ck_assert_int_eq(write(fd, "hello\n", 6), 6);
	ck_assert_uint_eq(read_n(fd, b, 8), 8);
	ck_assert_int_le(read(fd, b, sizeof(b)), 0);
	close(fd);
	usleep(50000);
	ck_assert(metric_value(p.sm.db_errors) == 1);
	ck_assert_int_eq(proxy_stop(&p), 0);
}
END_TEST

/* Database down: a toy protocol answers "S" with "N" and a line with an error line. */
static void refuse_hook(void *arg, const uint8_t *p, size_t len, struct session_answer *ans)
{
	const uint8_t *nl;

	(void)arg;
	if (p[0] == 'S') {
		ans->verdict = SESSION_REPLACE;
		ans->n = 1;
		ans->out = (const uint8_t *)"N";
		ans->out_len = 1;
		ans->to_sender = true;
		return;
	}
	nl = memchr(p, '\n', len);
	if (nl == NULL) {
		ans->verdict = SESSION_NEED_MORE;
		ans->n = len + 1;
		return;
	}
	ans->verdict = SESSION_CLOSE;
	ans->out = (const uint8_t *)"ERR database down\n";
	ans->out_len = 18;
}

static const struct session_hooks refuse_hooks = { .on_db_unreachable = refuse_hook };

START_TEST(test_db_unreachable_reply)
{
	struct proxy p;
	unsigned dead_port;
	int lfd = listen_any(&dead_port), fd;
	uint8_t b[64];

	close(lfd);
	proxy_start(&p, dead_port, &refuse_hooks, 1, 5);
	fd = connect_to(p.port);
	ck_assert_int_eq(write(fd, "S", 1), 1);
	ck_assert_uint_eq(read_n(fd, b, 1), 1);
	ck_assert_int_eq(b[0], 'N');
	/* a message split over two writes is answered once complete */
	ck_assert_int_eq(write(fd, "user=", 5), 5);
	usleep(50000);
	ck_assert_int_eq(write(fd, "me\n", 3), 3);
	ck_assert_uint_eq(read_n(fd, b, 18), 18);
	ck_assert_int_eq(memcmp(b, "ERR database down\n", 18), 0);
	ck_assert_int_eq(read(fd, b, sizeof(b)), 0);
	close(fd);
	/* a client that leaves at once is simply closed */
	fd = connect_to(p.port);
	close(fd);
	usleep(100000);
	ck_assert(metric_value(p.sm.db_errors) == 2);
	ck_assert_int_eq(proxy_stop(&p), 0);
}
END_TEST

START_TEST(test_unix_listener)
{
	struct fake_db db;
	struct reactor *r;
	struct session_env env;
	struct session_listener l;
	struct net_addr a;
	struct sockaddr_un sun;
	char dir[] = "/tmp/acra-sess-XXXXXX", s[128], err[256];
	uint8_t b[8];
	struct proxy p; /* only for its thread plumbing */
	int fd;

	db_start(&db, DB_ECHO);
	memset(&env, 0, sizeof(env));
	ck_assert_int_eq(session_env_set_db(&env, "127.0.0.1", db.port), ACRA_OK);
	session_listener_publish(&l, &env);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(s, sizeof(s), "unix://%s/acra.sock", dir);
	ck_assert_int_eq(net_parse(s, &a, err, sizeof(err)), ACRA_OK);
	ck_assert_int_eq(reactor_new(&r, 2), ACRA_OK);
	reactor_on_worker(r, session_worker_init, session_worker_fini, r);
	ck_assert_int_eq(reactor_listen(r, &a, session_accept, &l, err, sizeof(err)), ACRA_OK);
	memset(&p, 0, sizeof(p));
	p.r = r;
	p.timeout = 5;
	ck_assert_int_eq(pthread_create(&p.thread, NULL, proxy_main, &p), 0);
	for (int i = 0; i < 4; i++) { /* round-robin over both workers */
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, a.path);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		ck_assert_int_eq(write(fd, "ping", 4), 4);
		ck_assert_uint_eq(read_n(fd, b, 4), 4);
		ck_assert_int_eq(memcmp(b, "ping", 4), 0);
		close(fd);
	}
	usleep(50000);
	reactor_shutdown(r);
	pthread_join(p.thread, NULL);
	ck_assert_int_eq(p.result, 0);
	reactor_free(r); /* removes the socket file */
	ck_assert_int_ne(access(a.path, F_OK), 0);
	rmdir(dir);
	db_stop(&db);
}
END_TEST

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_relay_echo);
	tcase_add_test(tc, test_db_refused);
	tcase_add_test(tc, test_backpressure_slow_client);
	tcase_add_test(tc, test_hooks);
	tcase_add_test(tc, test_connect_db_later);
	tcase_add_test(tc, test_db_unreachable_reply);
	tcase_add_test(tc, test_unix_listener);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
