/* t/unit/test_http.c: HTTP helpers: routing, status codes, JSON replies, body limit. Raw
 * HTTP/1.1 requests over loopback against a server on its own event-loop thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "lib/http.h"
#include "lib/metrics.h"
#include "t/unit/suites.h"

static void h_status(struct evhttp_request *req, void *arg)
{
	(void)arg;
	http_reply_json(req, 200, json_pack("{s:s,s:i}", "status", "ok", "n", 7));
}

static void h_echo_len(struct evhttp_request *req, void *arg)
{
	char buf[64];

	(void)arg;
	snprintf(buf, sizeof(buf), "%zu",
		 evbuffer_get_length(evhttp_request_get_input_buffer(req)));
	http_reply_text(req, 200, buf);
}

static const struct http_route routes[] = {
	{ "GET", "/status", h_status },
	{ "POST", "/len", h_echo_len },
	HTTP_ROUTE_END
};

struct srv {
	struct event_base *base;
	struct http_server *http;
	struct metrics *m;
	struct metric *count;
	unsigned port;
	pthread_t thread;
};

static void *loop(void *arg)
{
	struct srv *s = arg;

	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void srv_start(struct srv *s)
{
	struct net_addr a;
	char err[256];
	int probe = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	evthread_use_pthreads();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(probe, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(probe, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	close(probe);
	snprintf(err, sizeof(err), "tcp://127.0.0.1:%u/", s->port);
	ck_assert_int_eq(net_parse(err, &a, err, sizeof(err)), ACRA_OK);
	s->base = event_base_new();
	s->m = metrics_new();
	s->count = metrics_counter(s->m, "requests_total", "r", NULL);
	ck_assert_msg(http_server_new(&s->http, s->base, &a, routes, s, 1024, err, sizeof(err)) ==
			      ACRA_OK,
		      "%s", err);
	http_server_count_requests(s->http, s->count);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, loop, s), 0);
}

static void srv_stop(struct srv *s)
{
	event_base_loopexit(s->base, NULL); /* unlike loopbreak, not lost if the loop starts later */
	pthread_join(s->thread, NULL);
	http_server_free(s->http);
	event_base_free(s->base);
	metrics_free(s->m);
}

/* Send raw request text, return the whole response (connection: close). */
static char *request(unsigned port, const char *head, size_t body_len)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *resp = calloc(1, 65536);
	size_t got = 0;
	char *body = calloc(1, body_len + 1);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	memset(body, 'b', body_len);
	if (body_len > 0)
		(void)!write(fd, body, body_len);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 3000) != 1)
			break;
		n = read(fd, resp + got, 65535 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	free(body);
	return resp;
}

START_TEST(test_routes_and_replies)
{
	struct srv s;
	char *r;

	srv_start(&s);
	r = request(s.port, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0);
	ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
	ck_assert_ptr_nonnull(strstr(r, "Content-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Content-Length: 21\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\n{\"status\":\"ok\",\"n\":7}"));
	free(r);
	/* query strings do not change the route */
	r = request(s.port, "GET /status?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0);
	ck_assert_msg(strncmp(r, "HTTP/1.1 200 ", 13) == 0, "%s", r);
	free(r);
	r = request(s.port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0);
	ck_assert_msg(strncmp(r, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "%s", r);
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\nincorrect request"));
	free(r);
	r = request(s.port, "POST /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			    "Content-Length: 0\r\n\r\n",
		    0);
	ck_assert_msg(strncmp(r, "HTTP/1.1 405 ", 13) == 0, "%s", r);
	ck_assert_ptr_nonnull(strstr(r, "Allow: GET\r\n"));
	free(r);
	r = request(s.port, "POST /len HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			    "Content-Length: 1000\r\n\r\n",
		    1000);
	ck_assert_msg(strncmp(r, "HTTP/1.1 200 ", 13) == 0, "%s", r);
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\n1000"));
	free(r);
	/* above the 1024-byte limit: refused before the handler runs */
	r = request(s.port, "POST /len HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			    "Content-Length: 5000\r\n\r\n",
		    5000);
	ck_assert_msg(strncmp(r, "HTTP/1.1 413 ", 13) == 0, "%s", r);
	free(r);
	/* garbage is answered 400, and the server goes on */
	r = request(s.port, "\x01\x02 nonsense\r\n\r\n", 0);
	ck_assert_msg(r[0] == '\0' || strncmp(r, "HTTP/1.1 400 ", 13) == 0, "%s", r);
	free(r);
	r = request(s.port, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0);
	ck_assert_msg(strncmp(r, "HTTP/1.1 200 ", 13) == 0, "%s", r);
	free(r);
	/* every request that reached routing was counted */
	ck_assert(metric_value(s.count) == 6);
	srv_stop(&s);
}
END_TEST

START_TEST(test_port_in_use)
{
	struct srv s;
	struct http_server *h2 = NULL;
	struct net_addr a;
	char err[256];

	srv_start(&s);
	snprintf(err, sizeof(err), "tcp://127.0.0.1:%u/", s.port);
	ck_assert_int_eq(net_parse(err, &a, err, sizeof(err)), ACRA_OK);
	ck_assert_int_ne(http_server_new(&h2, s.base, &a, routes, NULL, 1024, err, sizeof(err)),
			 ACRA_OK);
	ck_assert_ptr_null(h2);
	ck_assert_msg(strstr(err, "in use") != NULL, "%s", err);
	srv_stop(&s);
}
END_TEST

START_TEST(test_reasons)
{
	ck_assert_str_eq(http_reason(200), "OK");
	ck_assert_str_eq(http_reason(503), "Service Unavailable");
	ck_assert_str_eq(http_reason(299), "Unknown");
}
END_TEST

Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_routes_and_replies);
	tcase_add_test(tc, test_port_in_use);
	tcase_add_test(tc, test_reasons);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
