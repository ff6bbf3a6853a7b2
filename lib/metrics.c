/* lib/metrics.c: metric registry and Prometheus text exposition (format 0.0.4). */
#include "lib/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family;

struct metric {
	struct metric *next; /* in family */
	struct family *fam;
	char *labels;        /* rendered `a="x",b="y"` without braces; "" if none */
	_Atomic uint64_t value; /* counter: count; gauge: double bits */
	_Atomic uint64_t *buckets; /* histogram: per-bucket counts (not cumulative), n_bounds + 1 */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_bits;  /* histogram: double bits */
};

struct family {
	struct family *next;
	char *name, *help;
	enum metric_type type;
	double *bounds;
	size_t n_bounds;
	struct metric *series, **tail;
};

struct metrics {
	pthread_mutex_t mu;
	struct family *fams, **tail;
};

static uint64_t d2u(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double u2d(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->tail = &m->fams;
	return m;
}

void metrics_free(struct metrics *m)
{
	struct family *f, *fn;
	struct metric *s, *sn;

	if (m == NULL)
		return;
	for (f = m->fams; f != NULL; f = fn) {
		fn = f->next;
		for (s = f->series; s != NULL; s = sn) {
			sn = s->next;
			free(s->labels);
			free((void *)s->buckets);
			free(s);
		}
		free(f->name);
		free(f->help);
		free(f->bounds);
		free(f);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static bool name_ok(const char *n)
{
	if (n == NULL || *n == '\0' || (*n >= '0' && *n <= '9'))
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '_' || *n == ':'))
			return false;
	return true;
}

/* Growable string for rendering. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Label values escape \, " and newline; HELP text escapes \ and newline. */
static void sb_escaped(struct sbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_puts(b, "\\\\");
		else if (*s == '\n')
			sb_puts(b, "\\n");
		else if (*s == '"' && quote)
			sb_puts(b, "\\\"");
		else
			sb_put(b, s, 1);
	}
}

static char *render_labels(const char *const *labels)
{
	struct sbuf b = { 0 };

	sb_puts(&b, "");
	for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		if (labels[i + 1] == NULL || !name_ok(labels[i])) {
			free(b.p);
			return NULL;
		}
		if (i > 0)
			sb_puts(&b, ",");
		sb_puts(&b, labels[i]);
		sb_puts(&b, "=\"");
		sb_escaped(&b, labels[i + 1], true);
		sb_puts(&b, "\"");
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static struct metric *reg(struct metrics *m, enum metric_type type, const char *name,
			  const char *help, const char *const *labels, const double *bounds,
			  size_t n_bounds)
{
	struct family *f;
	struct metric *s = NULL;
	char *lab;

	if (m == NULL || !name_ok(name) || help == NULL)
		return NULL;
	for (size_t i = 0; i < n_bounds; i++)
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			return NULL;
	lab = render_labels(labels);
	if (lab == NULL)
		return NULL;
	pthread_mutex_lock(&m->mu);
	for (f = m->fams; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			break;
	if (f != NULL) {
		if (f->type != type || strcmp(f->help, help) != 0 || f->n_bounds != n_bounds ||
		    (n_bounds > 0 && memcmp(f->bounds, bounds, n_bounds * sizeof(double)) != 0))
			goto out;
		for (s = f->series; s != NULL; s = s->next)
			if (strcmp(s->labels, lab) == 0)
				goto out;
	} else {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			goto out;
		f->name = strdup(name);
		f->help = strdup(help);
		f->type = type;
		f->n_bounds = n_bounds;
		f->bounds = n_bounds > 0 ? malloc(n_bounds * sizeof(double)) : NULL;
		if (f->name == NULL || f->help == NULL || (n_bounds > 0 && f->bounds == NULL)) {
			free(f->name);
			free(f->help);
			free(f->bounds);
			free(f);
			goto out;
		}
		if (n_bounds > 0)
			memcpy(f->bounds, bounds, n_bounds * sizeof(double));
		f->tail = &f->series;
		*m->tail = f;
		m->tail = &f->next;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	if (type == METRIC_HISTOGRAM) {
		s->buckets = calloc(n_bounds + 1, sizeof(s->buckets[0]));
		if (s->buckets == NULL) {
			free(s);
			s = NULL;
			goto out;
		}
	}
	s->fam = f;
	s->labels = lab;
	lab = NULL;
	*f->tail = s;
	f->tail = &s->next;
out:
	pthread_mutex_unlock(&m->mu);
	free(lab);
	return s;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
			       const char *const *labels)
{
	return reg(m, METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
			     const char *const *labels)
{
	return reg(m, METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
				 const char *const *labels, const double *bounds, size_t n_bounds)
{
	return reg(m, METRIC_HISTOGRAM, name, help, labels, bounds, n_bounds);
}

void metric_add(struct metric *s, uint64_t n)
{
	if (s != NULL)
		atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void metric_set(struct metric *s, double v)
{
	if (s != NULL)
		atomic_store_explicit(&s->value, d2u(v), memory_order_relaxed);
}

static void add_double(_Atomic uint64_t *a, double d)
{
	uint64_t old = atomic_load_explicit(a, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(a, &old, d2u(u2d(old) + d),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

void metric_gauge_add(struct metric *s, double d)
{
	if (s != NULL)
		add_double(&s->value, d);
}

void metric_observe(struct metric *s, double v)
{
	size_t i, n;

	if (s == NULL || s->buckets == NULL || isnan(v))
		return;
	n = s->fam->n_bounds;
	for (i = 0; i < n && v > s->fam->bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	add_double(&s->sum_bits, v);
}

double metric_value(const struct metric *s)
{
	struct metric *w = (struct metric *)s;

	if (s == NULL)
		return 0;
	switch (s->fam->type) {
	case METRIC_COUNTER:
		return (double)atomic_load(&w->value);
	case METRIC_GAUGE:
		return u2d(atomic_load(&w->value));
	case METRIC_HISTOGRAM:
		return (double)atomic_load(&w->count);
	}
	return 0;
}

void metrics_format_double(double v, char *buf, size_t len)
{
	char e[48];
	int digits = 17, exp;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus clients use: the
	 * shortest digits that read back as v; exponent form below 1e-4 and from 1e6 up. */
	for (int p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v) {
			digits = p;
			break;
		}
	}
	snprintf(e, sizeof(e), "%.*e", digits - 1, v);
	exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6) {
		snprintf(buf, len, "%s", e);
		return;
	}
	snprintf(buf, len, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
}

static void series_line(struct sbuf *b, const char *name, const char *suffix, const char *labels,
			const char *extra, const char *value)
{
	sb_puts(b, name);
	sb_puts(b, suffix);
	if (*labels != '\0' || extra != NULL) {
		sb_puts(b, "{");
		sb_puts(b, labels);
		if (extra != NULL) {
			if (*labels != '\0')
				sb_puts(b, ",");
			sb_puts(b, extra);
		}
		sb_puts(b, "}");
	}
	sb_puts(b, " ");
	sb_puts(b, value);
	sb_puts(b, "\n");
}

static const char *type_text(enum metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

int metrics_render(struct metrics *m, char **out, size_t *out_len)
{
	struct sbuf b = { 0 };
	char num[48], le[64];

	*out = NULL;
	*out_len = 0;
	sb_puts(&b, "");
	pthread_mutex_lock(&m->mu);
	for (struct family *f = m->fams; f != NULL; f = f->next) {
		sb_puts(&b, "# HELP ");
		sb_puts(&b, f->name);
		sb_puts(&b, " ");
		sb_escaped(&b, f->help, false);
		sb_puts(&b, "\n# TYPE ");
		sb_puts(&b, f->name);
		sb_puts(&b, " ");
		sb_puts(&b, type_text(f->type));
		sb_puts(&b, "\n");
		for (struct metric *s = f->series; s != NULL; s = s->next) {
			uint64_t cum = 0;

			if (f->type == METRIC_COUNTER) {
				snprintf(num, sizeof(num), "%llu",
					 (unsigned long long)atomic_load(&s->value));
				series_line(&b, f->name, "", s->labels, NULL, num);
				continue;
			}
			if (f->type == METRIC_GAUGE) {
				metrics_format_double(u2d(atomic_load(&s->value)), num, sizeof(num));
				series_line(&b, f->name, "", s->labels, NULL, num);
				continue;
			}
			/* Buckets, _sum and _count from one pass; the count is the +Inf bucket
			 * so the three agree even while observations continue. */
			for (size_t i = 0; i <= f->n_bounds; i++) {
				char bound[32];

				cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
				metrics_format_double(i < f->n_bounds ? f->bounds[i] : INFINITY,
						      bound, sizeof(bound));
				snprintf(le, sizeof(le), "le=\"%s\"", bound);
				snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
				series_line(&b, f->name, "_bucket", s->labels, le, num);
			}
			metrics_format_double(u2d(atomic_load(&s->sum_bits)), num, sizeof(num));
			series_line(&b, f->name, "_sum", s->labels, NULL, num);
			snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
			series_line(&b, f->name, "_count", s->labels, NULL, num);
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (b.failed) {
		free(b.p);
		return ACRA_ENOMEM;
	}
	*out = b.p;
	*out_len = b.len;
	return ACRA_OK;
}
