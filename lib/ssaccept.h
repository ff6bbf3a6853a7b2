/* lib/ssaccept.h: Secure Session transport keys from a keystore, for lib/session's
 * transports and for any listener that accepts acra connector's Secure Session
 * (spec/acra-runtime.md §4.3).
 *
 * Server role (acra server, acra translator): after the connector names its client id X,
 * answer with the private key X_server (or X_translator) and check the connector against
 * the public key of the id it presents, <id>.pub. Client role (acra connector): own key X,
 * and the server's public key X_server.pub (or X_translator.pub) whatever id the server
 * presents, as Acra 0.82 does.
 *
 * A struct ssaccept_keys is filled once and read by every worker thread; the keystore is
 * borrowed and must outlive it. */
#ifndef ACRA_LIB_SSACCEPT_H
#define ACRA_LIB_SSACCEPT_H

#include "lib/keystore/keystore.h"
#include "lib/session.h"

struct ssaccept_keys {
	struct session_ss_keys ops; /* pass &ops as session_transport.ss */
	struct keystore *ks;
	enum keystore_kind own_kind;  /* SERVER / TRANSLATOR (server role), CONNECTOR (client) */
	enum keystore_kind peer_kind; /* CONNECTOR (server role), SERVER / TRANSLATOR (client) */
	const char *client_id;        /* client role: own id (borrowed) */
};

/* Server role: own_kind is KEYSTORE_SERVER or KEYSTORE_TRANSLATOR. */
void ssaccept_server_keys(struct ssaccept_keys *k, struct keystore *ks,
			  enum keystore_kind own_kind);
/* Client role (acra connector): peer_kind is KEYSTORE_SERVER or KEYSTORE_TRANSLATOR. */
void ssaccept_client_keys(struct ssaccept_keys *k, struct keystore *ks, const char *client_id,
			  enum keystore_kind peer_kind);

/* Check that the keys a side needs can be loaded now (start-up check of acra connector).
 * Returns 0 or the keystore's error; keystore_last_error() tells which file. */
int ssaccept_check(const struct ssaccept_keys *k) ACRA_MUSTCHECK;

#endif
