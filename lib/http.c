/* lib/http.c: evhttp servers bound to our own sockets, routing, replies. */
#include "lib/http.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/log.h"
#include "lib/metrics.h"

struct http_server {
	struct evhttp *http;
	const struct http_route *routes;
	void *arg;
	struct net_addr addr;
	struct metric *requests;
};

static const struct {
	int code;
	const char *text;
} reasons[] = {
	{ 200, "OK" },
	{ 204, "No Content" },
	{ 400, "Bad Request" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 413, "Payload Too Large" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

const char *http_reason(int code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].text;
	return "Unknown";
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

void http_reply(struct evhttp_request *req, int code, const char *content_type, const void *body,
		size_t len)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", content_type);
	if (b != NULL && len > 0)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, http_reason(code), b);
	if (b != NULL)
		evbuffer_free(b);
}

void http_reply_text(struct evhttp_request *req, int code, const char *body)
{
	http_reply(req, code, "text/plain; charset=utf-8", body, strlen(body));
}

void http_reply_json(struct evhttp_request *req, int code, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s == NULL) {
		json_decref(j);
		http_reply_text(req, 500, "");
		return;
	}
	http_reply(req, code, "application/json", s, strlen(s));
	free(s);
	json_decref(j);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	struct http_server *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	const char *method = method_name(evhttp_request_get_command(req));
	struct evhttp_uri *u = evhttp_uri_parse(uri);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	char allow[64] = "";
	bool path_known = false;

	metric_add(s->requests, 1);
	if (path == NULL || *path == '\0')
		path = "/";
	for (const struct http_route *r = s->routes; r->path != NULL; r++) {
		if (strcmp(r->path, path) != 0)
			continue;
		path_known = true;
		if (strcmp(r->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			evhttp_uri_free(u);
			r->fn(req, s->arg);
			return;
		}
		if (strlen(allow) + strlen(r->method) + 3 < sizeof(allow)) {
			if (*allow)
				strcat(allow, ", ");
			strcat(allow, r->method);
		}
	}
	if (u != NULL)
		evhttp_uri_free(u);
	if (path_known) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		http_reply_text(req, 405, "method not allowed");
		return;
	}
	/* Acra's body for unknown routes */
	http_reply_text(req, 404, "incorrect request");
}

int http_server_new(struct http_server **out, struct event_base *base, const struct net_addr *a,
		    const struct http_route *routes, void *arg, size_t body_max, char *err,
		    size_t err_len)
{
	struct http_server *s;
	int fd = -1, rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ACRA_ENOMEM;
	s->routes = routes;
	s->arg = arg;
	s->addr = *a;
	rc = net_listen(a, false, 128, &fd, err, err_len);
	if (rc != ACRA_OK) {
		free(s);
		return rc;
	}
	s->http = evhttp_new(base);
	if (s->http == NULL || evhttp_accept_socket(s->http, fd) != 0) {
		if (s->http != NULL)
			evhttp_free(s->http);
		close(fd);
		if (a->scheme == NET_UNIX)
			unlink(a->path);
		free(s);
		return ACRA_ENOMEM;
	}
	evhttp_set_max_body_size(s->http, (ev_ssize_t)body_max);
	evhttp_set_max_headers_size(s->http, 16 * 1024);
	evhttp_set_timeout(s->http, 30);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(s->http, dispatch, s);
	*out = s;
	return ACRA_OK;
}

void http_server_count_requests(struct http_server *s, struct metric *counter)
{
	s->requests = counter;
}

void http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	evhttp_free(s->http); /* closes the bound socket too */
	if (s->addr.scheme == NET_UNIX)
		unlink(s->addr.path);
	free(s);
}

static void metrics_get(struct evhttp_request *req, void *arg)
{
	char *text;
	size_t len;

	if (metrics_render(arg, &text, &len) != ACRA_OK) {
		http_reply_text(req, 500, "");
		return;
	}
	http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static const struct http_route metrics_routes[] = {
	{ "GET", "/metrics", metrics_get },
	HTTP_ROUTE_END
};

int http_metrics_server_new(struct http_server **out, struct event_base *base,
			    const struct net_addr *a, struct metrics *m)
{
	char err[512], addr[300];
	int rc;

	rc = http_server_new(out, base, a, metrics_routes, m, 4096, err, sizeof(err));
	if (rc != ACRA_OK) {
		log_code(LOG_ERROR, LOG_CODE_LISTEN, "Prometheus metrics: %s", err);
		return rc;
	}
	net_format(a, addr, sizeof(addr));
	log_info("Start listening to Prometheus metrics on %smetrics", addr);
	return ACRA_OK;
}
