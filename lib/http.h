/* lib/http.h: small HTTP servers on libevent's evhttp: a listener string, a route table,
 * a body size limit (413 above it), JSON and text replies.
 *
 * Unknown paths answer 404 with Acra's body "incorrect request"; a known path with another
 * method answers 405 with an Allow header. Replies are valid HTTP/1.1 with Content-Type and
 * Content-Length (DESIGN.md "Decisions"). */
#ifndef ACRA_LIB_HTTP_H
#define ACRA_LIB_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/net.h"

struct event_base;
struct evhttp_request;
struct http_server;
struct metric;
struct metrics;

typedef void (*http_handler_fn)(struct evhttp_request *req, void *arg);

/* One route: exact path match. method is "GET", "POST", ... */
struct http_route {
	const char *method;
	const char *path;
	http_handler_fn fn;
};

#define HTTP_ROUTE_END { NULL, NULL, NULL }
#define HTTP_BODY_MAX_DEFAULT (1024 * 1024)

/* Start serving routes (borrowed; a table terminated by HTTP_ROUTE_END that must outlive the
 * server) on listener a, on base. Handlers get arg. Bodies above body_max bytes are refused
 * with 413. Returns an owned server in *out, or ACRA_EIO/ACRA_EINVAL with a message in err
 * ("cannot listen on tcp://...: Address already in use"). */
int http_server_new(struct http_server **out, struct event_base *base, const struct net_addr *a,
		    const struct http_route *routes, void *arg, size_t body_max, char *err,
		    size_t err_len) ACRA_MUSTCHECK;
/* Count every request the server answers in counter (a metric series; NULL: none). */
void http_server_count_requests(struct http_server *s, struct metric *counter);
/* Serve GET /metrics (Prometheus text exposition of m, borrowed; must outlive the server) on
 * a, on base, and log where. On failure logs one line (event code 530) and returns
 * ACRA_EIO/ACRA_EINVAL. Free the owned *out with http_server_free(). */
int http_metrics_server_new(struct http_server **out, struct event_base *base,
			    const struct net_addr *a, struct metrics *m) ACRA_MUSTCHECK;
/* Stop listening and free; open connections are closed. NULL is a no-op. */
void http_server_free(struct http_server *s);

/* Send status code with the JSON value as body (Content-Type: application/json). Takes a
 * reference to j (decrefs it). */
void http_reply_json(struct evhttp_request *req, int code, json_t *j);
/* Send status code with a text body (Content-Type: text/plain; charset=utf-8). */
void http_reply_text(struct evhttp_request *req, int code, const char *body);
/* Send status code with body bytes of the given content type. */
void http_reply(struct evhttp_request *req, int code, const char *content_type, const void *body,
		size_t len);

/* Reason phrase for a status code ("OK", "Not Found"...). */
const char *http_reason(int code);

#endif
