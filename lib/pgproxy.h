/* lib/pgproxy.h: the PostgreSQL session hooks of `acra server` (lib/session.h over proto/pg
 * and lib/codec.h): every message passes unchanged except DataRows (and text-format COPY TO
 * rows) holding AcraStructs or AcraBlocks, which are rebuilt with the values decrypted for
 * the session's client id (or the zone named in a preceding column in zone mode).
 *
 * The client side: SSLRequest and GSSENCRequest are answered 'N' by the proxy itself (the
 * client goes on in clear text, and the database leg stays in clear text too);
 * CancelRequest is forwarded (the client saw the database's own BackendKeyData). A message
 * that breaks the protocol, from either side, ends that session with an ErrorResponse to
 * the client where the protocol allows one.
 *
 * One struct pgproxy_config is shared read-only by every session (hooks_arg). */
#ifndef ACRA_LIB_PGPROXY_H
#define ACRA_LIB_PGPROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/codec.h"
#include "lib/crypto/zone.h"
#include "lib/session.h"

struct metric;

/* Metric series updated by the sessions; any may be NULL. Index [0] AcraStruct,
 * [1] AcraBlock. */
struct pgproxy_metrics {
	struct metric *dec_ok[2], *dec_fail[2];  /* acra_decryptions_total{status,type} */
	struct metric *struct_ok, *struct_fail;  /* acra_acrastruct_decryptions_total{status} */
	struct metric *poison;                   /* acraserver_poison_records_total */
	struct metric *response_time;            /* acraserver_response_processing_seconds */
};

/* Called on a worker thread when a poison record was found in a result (after it was
 * logged and counted), with the session's configured script (NULL if none) and whether
 * the server is to shut down. */
typedef void (*pgproxy_poison_fn)(void *arg, const char *script, bool shutdown);

struct pgproxy_config {
	enum codec_scan scan;          /* whole cell or inline */
	enum codec_encoding text_enc;  /* text-format columns: PG_TEXT (detect), PG_HEX or
					* PG_ESCAPE */
	bool zonemode;                 /* the zone id in a preceding column selects the keys */
	bool detect_poison;
	bool poison_shutdown;          /* a poison hit also ends the session with an error */
	const char *poison_script;     /* run on a poison hit; NULL: none */
	struct codec_keys keys;        /* the keystore's provider */
	const struct pgproxy_metrics *metrics;
	pgproxy_poison_fn on_poison;
	void *poison_arg;
};

/* The hooks; hooks_arg is a const struct pgproxy_config * that outlives every session. */
extern const struct session_hooks pgproxy_hooks;

/* Smallest value (in any text or binary form) that can hold an AcraStruct or AcraBlock:
 * shorter DataRow columns are passed without looking further. */
#define PGPROXY_MIN_ENVELOPE 139

#endif
