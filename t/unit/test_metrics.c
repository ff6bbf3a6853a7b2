/* t/unit/test_metrics.c: metric registry and Prometheus text exposition. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"
#include "t/unit/suites.h"

START_TEST(test_counter_gauge_exposition)
{
	static const char *const db[] = { "connection_type", "db", NULL };
	static const char *const api[] = { "connection_type", "api", NULL };
	struct metrics *m = metrics_new();
	struct metric *c_db, *c_api, *g;
	char *text;
	size_t len;

	c_db = metrics_counter(m, "acraserver_connections_total",
			       "number of connections to database", db);
	c_api = metrics_counter(m, "acraserver_connections_total",
				"number of connections to database", api);
	g = metrics_gauge(m, "acraserver_version_major", "Major number of AcraServer version",
			  NULL);
	ck_assert_ptr_nonnull(c_db);
	ck_assert_ptr_nonnull(c_api);
	/* same name and labels: the same series */
	ck_assert_ptr_eq(metrics_counter(m, "acraserver_connections_total",
					 "number of connections to database", db),
			 c_db);
	metric_add(c_db, 3);
	metric_add(c_api, 1);
	metric_set(g, 0);
	metric_gauge_add(g, 1.5);
	ck_assert(metric_value(c_db) == 3);
	ck_assert(metric_value(g) == 1.5);
	ck_assert_int_eq(metrics_render(m, &text, &len), ACRA_OK);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_str_eq(text,
			 "# HELP acraserver_connections_total number of connections to database\n"
			 "# TYPE acraserver_connections_total counter\n"
			 "acraserver_connections_total{connection_type=\"db\"} 3\n"
			 "acraserver_connections_total{connection_type=\"api\"} 1\n"
			 "# HELP acraserver_version_major Major number of AcraServer version\n"
			 "# TYPE acraserver_version_major gauge\n"
			 "acraserver_version_major 1.5\n");
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_histogram_exposition)
{
	static const double b[] = { 0.1, 0.2, 0.5, 1, 10, 60, 3600, 86400 };
	static const char *const db[] = { "connection_type", "db", NULL };
	struct metrics *m = metrics_new();
	struct metric *h = metrics_histogram(m, "acraserver_connections_processing_seconds",
					     "Time of connection processing", db, b, 8);
	char *text;
	size_t len;

	ck_assert_ptr_nonnull(h);
	metric_observe(h, 0.05);
	metric_observe(h, 0.1); /* le is inclusive */
	metric_observe(h, 0.7);
	metric_observe(h, 100000);
	ck_assert(metric_value(h) == 4);
	ck_assert_int_eq(metrics_render(m, &text, &len), ACRA_OK);
	ck_assert_str_eq(
		text,
		"# HELP acraserver_connections_processing_seconds Time of connection processing\n"
		"# TYPE acraserver_connections_processing_seconds histogram\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"0.1\"} 2\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"0.2\"} 2\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"0.5\"} 2\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"1\"} 3\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"10\"} 3\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"60\"} 3\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"3600\"} 3\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"86400\"} 3\n"
		"acraserver_connections_processing_seconds_bucket{connection_type=\"db\",le=\"+Inf\"} 4\n"
		"acraserver_connections_processing_seconds_sum{connection_type=\"db\"} 100000.85\n"
		"acraserver_connections_processing_seconds_count{connection_type=\"db\"} 4\n");
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_escaping_and_no_labels_histogram)
{
	static const char *const lab[] = { "path", "a\"b\\c\nd", NULL };
	static const double b[] = { 1e-06, 1 };
	struct metrics *m = metrics_new();
	struct metric *c = metrics_counter(m, "x_total", "help with \\ and\nnewline", lab);
	struct metric *h = metrics_histogram(m, "lat_seconds", "latency", NULL, b, 2);
	char *text;
	size_t len;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(h);
	metric_observe(h, 2e-6);
	ck_assert_int_eq(metrics_render(m, &text, &len), ACRA_OK);
	ck_assert_str_eq(text, "# HELP x_total help with \\\\ and\\nnewline\n"
			       "# TYPE x_total counter\n"
			       "x_total{path=\"a\\\"b\\\\c\\nd\"} 0\n"
			       "# HELP lat_seconds latency\n"
			       "# TYPE lat_seconds histogram\n"
			       "lat_seconds_bucket{le=\"1e-06\"} 0\n"
			       "lat_seconds_bucket{le=\"1\"} 1\n"
			       "lat_seconds_bucket{le=\"+Inf\"} 1\n"
			       "lat_seconds_sum 2e-06\n"
			       "lat_seconds_count 1\n");
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(test_bad_registrations)
{
	static const double unsorted[] = { 1, 0.5 };
	static const double inf[] = { 1, INFINITY };
	static const char *const badlab[] = { "1abc", "x", NULL };
	static const char *const oddlab[] = { "abc", NULL };
	struct metrics *m = metrics_new();

	ck_assert_ptr_null(metrics_counter(m, "", "h", NULL));
	ck_assert_ptr_null(metrics_counter(m, "9lives", "h", NULL));
	ck_assert_ptr_null(metrics_counter(m, "has space", "h", NULL));
	ck_assert_ptr_null(metrics_counter(m, "ok_total", "h", badlab));
	ck_assert_ptr_null(metrics_counter(m, "ok_total", "h", oddlab));
	ck_assert_ptr_null(metrics_histogram(m, "h1", "h", NULL, unsorted, 2));
	ck_assert_ptr_null(metrics_histogram(m, "h2", "h", NULL, inf, 2));
	ck_assert_ptr_nonnull(metrics_counter(m, "ok_total", "h", NULL));
	/* same family, other type or help: refused */
	ck_assert_ptr_null(metrics_gauge(m, "ok_total", "h", NULL));
	ck_assert_ptr_null(metrics_counter(m, "ok_total", "other help", NULL));
	/* updates on NULL series are no-ops */
	metric_add(NULL, 1);
	metric_observe(NULL, 1);
	metric_set(NULL, 1);
	metrics_free(m);
	metrics_free(NULL);
}
END_TEST

START_TEST(test_format_double)
{
	char b[48];

	metrics_format_double(0.1, b, sizeof(b));
	ck_assert_str_eq(b, "0.1");
	metrics_format_double(86400, b, sizeof(b));
	ck_assert_str_eq(b, "86400");
	metrics_format_double(1234567, b, sizeof(b));
	ck_assert_str_eq(b, "1.234567e+06");
	metrics_format_double(1e21, b, sizeof(b));
	ck_assert_str_eq(b, "1e+21");
	metrics_format_double(0.0001, b, sizeof(b));
	ck_assert_str_eq(b, "0.0001");
	metrics_format_double(0.00001, b, sizeof(b));
	ck_assert_str_eq(b, "1e-05");
	metrics_format_double(0, b, sizeof(b));
	ck_assert_str_eq(b, "0");
	metrics_format_double(-2.5, b, sizeof(b));
	ck_assert_str_eq(b, "-2.5");
	metrics_format_double(1.0 / 3, b, sizeof(b));
	ck_assert(strtod(b, NULL) == 1.0 / 3);
	metrics_format_double(-INFINITY, b, sizeof(b));
	ck_assert_str_eq(b, "-Inf");
	metrics_format_double(NAN, b, sizeof(b));
	ck_assert_str_eq(b, "NaN");
}
END_TEST

struct adder {
	struct metric *c, *h;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;

	for (int i = 0; i < 100000; i++) {
		metric_add(a->c, 1);
		metric_observe(a->h, 1);
	}
	return NULL;
}

START_TEST(test_concurrent_updates)
{
	static const double b[] = { 0.5 };
	struct metrics *m = metrics_new();
	struct adder a = { metrics_counter(m, "n_total", "n", NULL),
			   metrics_histogram(m, "h", "h", NULL, b, 1) };
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, add_many, &a), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert(metric_value(a.c) == 400000);
	ck_assert(metric_value(a.h) == 400000);
	metrics_free(m);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_counter_gauge_exposition);
	tcase_add_test(tc, test_histogram_exposition);
	tcase_add_test(tc, test_escaping_and_no_labels_histogram);
	tcase_add_test(tc, test_bad_registrations);
	tcase_add_test(tc, test_format_double);
	tcase_add_test(tc, test_concurrent_updates);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
