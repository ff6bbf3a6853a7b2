/* lib/mysqlproxy.h: the MySQL/MariaDB session hooks of `acra server --mysql_enable`
 * (lib/session.h over proto/mysql and lib/rowdec.h): every packet passes unchanged except
 * text and binary result rows holding AcraStructs or AcraBlocks, which are rebuilt with the
 * values decrypted for the session's client id (or the zone named in a preceding column in
 * zone mode), and the capability fields of the handshake, from which the features the
 * proxy does not follow are removed (compression, optional metadata, MariaDB bulk and
 * progress; CLIENT_SSL unless the session has a MySQL TLS transport on both sides, then a
 * client's SSLRequest goes on to the database and both legs switch to TLS).
 *
 * Length-encoded values, the binary NULL bitmap, packet lengths and sequence ids are
 * recomputed when a value changes size, also when a row crosses the 16 MiB packet limit.
 * A packet that breaks the protocol, from either side, ends that session with an ERR
 * packet to the client. When the database cannot be reached the client gets an ERR packet
 * in place of the greeting.
 *
 * hooks_arg is a const struct pgproxy_config * (the same settings as PostgreSQL sessions;
 * text_enc is not used: MySQL values are raw bytes) that outlives every session. */
#ifndef ACRA_LIB_MYSQLPROXY_H
#define ACRA_LIB_MYSQLPROXY_H

#include "lib/pgproxy.h"
#include "lib/session.h"

extern const struct session_hooks mysqlproxy_hooks;

#endif
