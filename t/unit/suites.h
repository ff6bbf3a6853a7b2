/* t/unit/suites.h: every Check suite, one per module under test. */
#ifndef ACRA_T_UNIT_SUITES_H
#define ACRA_T_UNIT_SUITES_H

#include <check.h>

Suite *bytes_suite(void);
Suite *conf_suite(void);
Suite *mysql_suite(void);

#endif
