/* t/interop/ssession_tool.c: drives proto/ssession over a blocking TCP socket on 127.0.0.1,
 * with Acra 0.82 framing, for the interoperability test against wasm-themis
 * (t/interop/30-ssession.sh).
 *
 *   ssession_tool server KEYDIR CLIENT_ID            listen, print "port N", echo data back
 *   ssession_tool client KEYDIR CLIENT_ID PORT [OWNKEY]  send messages, check the echoes
 *
 * KEYDIR holds Themis key containers: client.priv client.pub server.priv server.pub (and
 * others). Both sides use CLIENT_ID as their Secure Session id, as Acra 0.82 does. A client
 * signs with KEYDIR/OWNKEY.priv (default "client"). Exit 0 on success, 3 when the session
 * is refused (reason on stdout), 1 on other errors, 2 on usage errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/ec.h"
#include "proto/ssession.h"

#define IN_CAP (2u << 20)

struct keys {
	const char *dir;
	const char *client_id;
};

static int read_file(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	*len = fread(buf, 1, cap, f);
	fclose(f);
	return 0;
}

/* Peer key callback: the client always trusts server.pub (Acra's connector); the server
 * maps the presented id to client.pub when it is the expected client id. */
static int client_lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub,
			 size_t *pub_len)
{
	struct keys *k = arg;

	(void)id, (void)id_len;
	return read_file(k->dir, "server.pub", pub, SSESSION_PUB_MAX, pub_len) == 0 ? 0
										  : ACRA_ENOKEY;
}

static int server_lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub,
			 size_t *pub_len)
{
	struct keys *k = arg;

	if (id_len != strlen(k->client_id) || memcmp(id, k->client_id, id_len) != 0)
		return ACRA_ENOKEY;
	return read_file(k->dir, "client.pub", pub, SSESSION_PUB_MAX, pub_len) == 0 ? 0
										  : ACRA_ENOKEY;
}

static int load_priv(const char *dir, const char *name, struct ec_priv **out)
{
	uint8_t buf[128];
	size_t len = 0;
	int rc;

	if (read_file(dir, name, buf, sizeof(buf), &len) != 0)
		return -1;
	rc = ec_priv_load(out, buf, len);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The connection as the glue runs it: read into `in`, feed whole frames, act on events. */
struct conn {
	int fd;
	struct ssession *s;
	uint8_t *in;
	size_t in_len;
	struct keys *k;
	struct ec_priv *server_key; /* server: set on HELLO */
	uint8_t *data;              /* received plaintext since the last take */
	size_t data_len;
	bool echo;                  /* server: wrap every DATA back */
	int n_data;                 /* data messages received */
};

/* Process every complete frame in the input. Returns 0, or -1 after printing the reason. */
static int pump(struct conn *c)
{
	for (;;) {
		struct ssession_event ev;
		size_t used = 0;
		int rc = ssession_feed(c->s, c->in, c->in_len, &used, &ev);

		if (rc < 0) {
			printf("refused: %s (%s)\n", ssession_reason(c->s), acra_strerror(rc));
			return -1;
		}
		if (ev.send.len > 0 && write_all(c->fd, ev.send.p, ev.send.len) != 0)
			return -1;
		if (rc == SSESSION_EV_NEED_MORE)
			return 0;
		if (rc == SSESSION_EV_HELLO &&
		    ssession_set_identity(c->s, ev.peer_id.p, ev.peer_id.len, c->server_key) != 0)
			return -1;
		if (rc == SSESSION_EV_ESTABLISHED)
			printf("established peer=%.*s\n", (int)ev.peer_id.len,
			       (const char *)ev.peer_id.p);
		if (rc == SSESSION_EV_DATA) {
			if (c->echo) {
				struct wbuf w;
				uint8_t *out = malloc(ssession_wrap_len(ev.data.len));

				if (out == NULL)
					return -1;
				wbuf_init(&w, out, ssession_wrap_len(ev.data.len));
				if (ssession_wrap(c->s, ev.data.p, ev.data.len, &w) != 0 ||
				    write_all(c->fd, w.p, w.len) != 0) {
					free(out);
					return -1;
				}
				free(out);
			}
			c->n_data++;
			memcpy(c->data + c->data_len, ev.data.p, ev.data.len);
			c->data_len += ev.data.len;
		}
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
}

/* Read once and pump. Returns 1 on EOF, 0 on progress, -1 on error. */
static int read_some(struct conn *c)
{
	ssize_t n;

	if (c->in_len == IN_CAP)
		return -1;
	n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (n == 0)
		return 1;
	c->in_len += (size_t)n;
	return pump(c);
}

static int run_server(struct keys *k)
{
	struct ssession_cfg cfg = { 0 };
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	struct conn c = { 0 };
	int ls, rc = 1;

	c.k = k;
	c.echo = true;
	c.in = malloc(IN_CAP);
	c.data = malloc(IN_CAP);
	if (c.in == NULL || c.data == NULL || load_priv(k->dir, "server.priv", &c.server_key) != 0)
		return 1;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
		return 1;
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	c.fd = accept(ls, NULL, NULL);
	close(ls);
	if (c.fd < 0)
		return 1;
	cfg.role = SSESSION_SERVER;
	cfg.acra_hello = true;
	cfg.peer_key = server_lookup;
	cfg.peer_key_arg = k;
	if (ssession_new(&c.s, &cfg) != 0)
		return 1;
	for (;;) {
		int r = read_some(&c);

		c.data_len = 0;
		if (r < 0) {
			rc = ssession_is_established(c.s) ? 1 : 3;
			break;
		}
		if (r == 1) {
			if (ssession_is_established(c.s)) {
				printf("echoed %d\n", c.n_data);
				rc = 0;
			} else {
				printf("refused: connection closed during the handshake\n");
				rc = 3;
			}
			break;
		}
	}
	close(c.fd);
	ssession_free(c.s);
	ec_priv_free(c.server_key);
	free(c.in);
	free(c.data);
	return rc;
}

static int run_client(struct keys *k, int port, const char *own)
{
	static const size_t sizes[] = { 1, 13, 1000, 8191, 70000, 5 };
	struct ssession_cfg cfg = { 0 };
	struct sockaddr_in sa = { 0 };
	struct ssession_event ev;
	struct ec_priv *key = NULL;
	struct conn c = { 0 };
	char keyname[256];
	uint8_t *msg, *frame;
	int rc = 1;

	c.k = k;
	c.in = malloc(IN_CAP);
	c.data = malloc(IN_CAP);
	msg = malloc(70000);
	frame = malloc(ssession_wrap_len(70000));
	snprintf(keyname, sizeof(keyname), "%s.priv", own);
	if (c.in == NULL || c.data == NULL || msg == NULL || frame == NULL ||
	    load_priv(k->dir, keyname, &key) != 0)
		return 1;
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 1;
	cfg.role = SSESSION_CLIENT;
	cfg.acra_hello = true;
	cfg.id = (const uint8_t *)k->client_id;
	cfg.id_len = strlen(k->client_id);
	cfg.key = key;
	cfg.peer_key = client_lookup;
	cfg.peer_key_arg = k;
	if (ssession_new(&c.s, &cfg) != 0 || ssession_start(c.s, &ev) != SSESSION_EV_HANDSHAKE ||
	    write_all(c.fd, ev.send.p, ev.send.len) != 0)
		goto out;
	while (!ssession_is_established(c.s)) {
		int r = read_some(&c);

		if (r == 1)
			printf("refused: connection closed during the handshake\n");
		if (r != 0) {
			rc = 3;
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct wbuf w;

		for (size_t j = 0; j < sizes[i]; j++)
			msg[j] = (uint8_t)('a' + (i * 7 + j) % 26);
		wbuf_init(&w, frame, ssession_wrap_len(sizes[i]));
		if (ssession_wrap(c.s, msg, sizes[i], &w) != 0 || write_all(c.fd, w.p, w.len) != 0)
			goto out;
		while (c.data_len < sizes[i]) {
			if (read_some(&c) != 0) {
				printf("echo %zu lost\n", i);
				goto out;
			}
		}
		if (c.data_len != sizes[i] || memcmp(c.data, msg, sizes[i]) != 0) {
			printf("echo %zu differs\n", i);
			goto out;
		}
		c.data_len = 0;
	}
	printf("ok %zu\n", sizeof(sizes) / sizeof(sizes[0]));
	rc = 0;
out:
	close(c.fd);
	ssession_free(c.s);
	ec_priv_free(key);
	free(c.in);
	free(c.data);
	free(msg);
	free(frame);
	return rc;
}

int main(int argc, char **argv)
{
	struct keys k;

	if (sodium_init() < 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && strcmp(argv[1], "server") == 0) {
		k.dir = argv[2], k.client_id = argv[3];
		return run_server(&k);
	}
	if (argc >= 5 && strcmp(argv[1], "client") == 0) {
		k.dir = argv[2], k.client_id = argv[3];
		return run_client(&k, atoi(argv[4]), argc >= 6 ? argv[5] : "client");
	}
	fprintf(stderr, "usage: %s server KEYDIR CLIENT_ID | client KEYDIR CLIENT_ID PORT [OWNKEY]\n",
		argv[0]);
	return 2;
}
