/* lib/metrics.h: counters, gauges and histograms with labels; Prometheus text exposition
 * (format 0.0.4: # HELP / # TYPE lines, histograms as _bucket{le=...}/_sum/_count).
 *
 * Registration takes a mutex and happens at start-up; updates are lock-free relaxed
 * atomics and safe from any thread. A series is a (name, label values) pair; series with
 * the same name form one family that must agree on type and help. */
#ifndef ACRA_LIB_METRICS_H
#define ACRA_LIB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric;

/* Returns an owned registry or NULL on OOM. metrics_free(NULL) is a no-op. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Register (or find) a series. labels: NULL or a NULL-terminated list of name, value
 * pairs ({"connection_type", "db", NULL}); copied. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*.
 * Histogram bounds: n_bounds strictly increasing finite values (copied); +Inf is implicit.
 * Returns a series owned by the registry, or NULL on OOM, a bad name, or a family that
 * was registered with another type, help text or buckets. */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
			       const char *const *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
			     const char *const *labels);
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
				 const char *const *labels, const double *bounds, size_t n_bounds);

/* Updates. All accept NULL (metrics disabled) and do nothing then. */
void metric_add(struct metric *s, uint64_t n);    /* counter */
void metric_set(struct metric *s, double v);      /* gauge */
void metric_gauge_add(struct metric *s, double d); /* gauge */
void metric_observe(struct metric *s, double v);  /* histogram */

/* Current value of a counter or gauge (histograms: the count). For tests and /ready. */
double metric_value(const struct metric *s);

/* Render every family in registration order. *out is owned by the caller (free()).
 * Returns 0 or ACRA_ENOMEM. */
int metrics_render(struct metrics *m, char **out, size_t *out_len) ACRA_MUSTCHECK;

/* Shortest text that reads back as v ("0.1", "1e-06", "+Inf"); buf >= 32 bytes. Pure. */
void metrics_format_double(double v, char *buf, size_t len);

#endif
