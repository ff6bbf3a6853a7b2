/* t/unit/suites.h: every Check suite, one per module under test. */
#ifndef ACRA_T_UNIT_SUITES_H
#define ACRA_T_UNIT_SUITES_H

#include <check.h>

Suite *bytes_suite(void);
Suite *conf_suite(void);
Suite *http_suite(void);
Suite *metrics_suite(void);
Suite *net_suite(void);
Suite *session_suite(void);
Suite *server_cli_suite(void);

#endif
