/* t/unit/proxy_fixture.h: what the protocol-hook tests share: a real session listener on
 * loopback running a reactor on its own thread, a scripted server thread's listening socket,
 * and blocking reads with a deadline. */
#ifndef ACRA_T_UNIT_PROXY_FIXTURE_H
#define ACRA_T_UNIT_PROXY_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/reactor.h"
#include "lib/session.h"

/* A proxy: hooks (with their arg) between clients on port and a database on db_port. */
struct fx_proxy {
	struct reactor *r;
	struct session_env env;
	struct session_listener l;
	unsigned port;
	pthread_t th;
	int result;
};

void fx_proxy_start(struct fx_proxy *p, unsigned db_port, const struct session_hooks *hooks,
		    void *hooks_arg, const char *client_id);
void fx_proxy_stop(struct fx_proxy *p);

/* A loopback listening socket on a free port (*port). */
int fx_listen(unsigned *port);
/* A blocking client connection to loopback:port. */
int fx_connect(unsigned port);
/* Read exactly n bytes (3 s deadline per read). false on EOF, error or timeout. */
bool fx_read_full(int fd, uint8_t *p, size_t n);

#endif
