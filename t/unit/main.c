/* t/unit/main.c: runs every unit-test suite; `make unit`. Set CK_RUN_SUITE to pick one. */
#include <stdlib.h>

#include <sodium.h>

#include "t/unit/suites.h"

typedef Suite *(*suite_fn)(void);

/* One row per suite, in the order modules depend on each other. */
static const suite_fn suites[] = {
	bytes_suite,
	conf_suite,
	sym_suite,
	soter_suite,
	ec_suite,
	cell_suite,
	smessage_suite,
	acrastruct_suite,
	acrablock_suite,
	zone_suite,
	poison_suite,
	codec_suite,
	keystore_suite,
	keystore_redis_suite,
	ssession_suite,
	httpc_suite,
	sigv4_suite,
	net_suite,
	metrics_suite,
	session_suite,
	tokenize_suite,
	http_suite,
	server_cli_suite,
	pg_suite,
	tls_suite,
	transport_suite,
	mysql_suite,
	pgproxy_suite,
	mysqlproxy_suite,
};

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(NULL);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
