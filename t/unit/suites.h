/* t/unit/suites.h: every Check suite, one per module under test. */
#ifndef ACRA_T_UNIT_SUITES_H
#define ACRA_T_UNIT_SUITES_H

#include <check.h>

Suite *bytes_suite(void);
Suite *conf_suite(void);
Suite *sym_suite(void);
Suite *soter_suite(void);
Suite *ec_suite(void);
Suite *cell_suite(void);
Suite *smessage_suite(void);
Suite *acrastruct_suite(void);
Suite *acrablock_suite(void);
Suite *zone_suite(void);
Suite *poison_suite(void);
Suite *codec_suite(void);
Suite *keystore_suite(void);
Suite *keystore_redis_suite(void);
Suite *ssession_suite(void);
Suite *httpc_suite(void);
Suite *sigv4_suite(void);
Suite *http_suite(void);
Suite *metrics_suite(void);
Suite *net_suite(void);
Suite *session_suite(void);
Suite *server_cli_suite(void);
Suite *pg_suite(void);
Suite *tls_suite(void);
Suite *transport_suite(void);
Suite *mysql_suite(void);
Suite *pgproxy_suite(void);
Suite *mysqlproxy_suite(void);
Suite *tokenize_suite(void);

#endif
