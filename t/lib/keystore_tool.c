/* t/lib/keystore_tool.c: test and benchmark driver for the keystore over the filesystem or
 * Redis (build/keystore-tool). Opens one keystore (ACRA_MASTER_KEY) and keeps it open, as a
 * server does, then:
 *
 *   keystore-tool loop  [common] --iterations=N --pause_ms=MS
 *       reads the storage private key of --client_id N times, MS apart; prints one line per
 *       iteration: "<i> ok <ms>" or "<i> error <ms> <message>" (ms = time the read took)
 *   keystore-tool bench [common] --iterations=N [--threads=T]
 *       makes one AcraStruct for --client_id, then decrypts it N times in each of T threads
 *       sharing the keystore, getting the private key from the keystore each time; prints
 *       "<decrypts per second, all threads> <keystore misses>"
 *
 * common: --keys_dir=DIR --client_id=ID --cache_size=N (-1 off, 0 unlimited)
 *         [--redis_host_port=H:P --redis_password=PW --redis_db_keys=N --timeout_ms=MS]
 * Exit 0 ok, 1 failure, 2 usage. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/crypto/acrastruct.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/redis.h"
#include "lib/secmem.h"

struct args {
	const char *cmd, *dir, *client_id;
	struct keystore_redis_opts redis;
	long cache_size, iterations, pause_ms, threads;
};

static const char *flag_value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0 || arg[2 + n] != '=')
		return NULL;
	return arg + 3 + n;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	*out = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' ? 0 : -1;
}

static int parse(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->dir = KEYSTORE_DEFAULT_DIR;
	a->client_id = "client";
	a->iterations = 1;
	a->threads = 1;
	a->redis.db_keys = 0;
	a->redis.host_port = "";
	if (argc < 2)
		return -1;
	a->cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *v;
		int bad = 0;

		if ((v = flag_value(argv[i], "keys_dir")) != NULL)
			a->dir = v;
		else if ((v = flag_value(argv[i], "client_id")) != NULL)
			a->client_id = v;
		else if ((v = flag_value(argv[i], "redis_host_port")) != NULL)
			a->redis.host_port = (char *)v;
		else if ((v = flag_value(argv[i], "redis_password")) != NULL)
			a->redis.password = (char *)v;
		else if ((v = flag_value(argv[i], "redis_db_keys")) != NULL)
			bad = parse_long(v, &a->redis.db_keys);
		else if ((v = flag_value(argv[i], "timeout_ms")) != NULL)
			bad = parse_long(v, &a->redis.timeout_ms);
		else if ((v = flag_value(argv[i], "cache_size")) != NULL)
			bad = parse_long(v, &a->cache_size);
		else if ((v = flag_value(argv[i], "iterations")) != NULL)
			bad = parse_long(v, &a->iterations);
		else if ((v = flag_value(argv[i], "pause_ms")) != NULL)
			bad = parse_long(v, &a->pause_ms);
		else if ((v = flag_value(argv[i], "threads")) != NULL)
			bad = parse_long(v, &a->threads) || a->threads < 1 || a->threads > 64;
		else
			bad = -1;
		if (bad) {
			fprintf(stderr, "keystore-tool: bad argument %s\n", argv[i]);
			return -1;
		}
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int loop(struct keystore *ks, const struct args *a)
{
	const uint8_t *id = (const uint8_t *)a->client_id;
	size_t id_len = strlen(a->client_id);

	for (long i = 0; i < a->iterations; i++) {
		struct keystore_keys keys;
		double t0 = now_ms();
		int rc = keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, id, id_len, &keys);
		double dt = now_ms() - t0;

		if (rc == ACRA_OK)
			printf("%ld ok %.0f\n", i, dt);
		else
			printf("%ld error %.0f %s: %s\n", i, dt, acra_strerror(rc),
			       keystore_last_error());
		fflush(stdout);
		keystore_put(ks, &keys);
		if (a->pause_ms > 0 && i + 1 < a->iterations)
			sleep_ms(a->pause_ms);
	}
	return 0;
}

struct bench_job {
	struct keystore *ks;
	const struct args *a;
	const uint8_t *as;
	size_t as_len;
	int rc;
};

static const uint8_t bench_pt[64] = "a 64-byte plaintext as a database cell might hold......";

static void *bench_thread(void *arg)
{
	struct bench_job *j = arg;
	const uint8_t *id = (const uint8_t *)j->a->client_id;
	size_t id_len = strlen(j->a->client_id), pt_len = 0;
	uint8_t out[256];

	for (long i = 0; i < j->a->iterations; i++) {
		struct keystore_keys keys;
		int rc = keystore_get(j->ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, id, id_len, &keys);

		if (rc == ACRA_OK)
			rc = acrastruct_decrypt_any(keys.priv, keys.n, NULL, 0, j->as, j->as_len, out,
						    sizeof(out), &pt_len, NULL);
		keystore_put(j->ks, &keys);
		if (rc != ACRA_OK || pt_len != sizeof(bench_pt) ||
		    memcmp(out, bench_pt, pt_len) != 0) {
			fprintf(stderr, "keystore-tool: decrypt %ld failed: %s %s\n", i,
				acra_strerror(rc), keystore_last_error());
			j->rc = 1;
			break;
		}
	}
	return NULL;
}

static int bench(struct keystore *ks, const struct args *a)
{
	const uint8_t *id = (const uint8_t *)a->client_id;
	size_t id_len = strlen(a->client_id), as_len = 0;
	uint8_t as[sizeof(bench_pt) + ACRASTRUCT_OVERHEAD];
	struct bench_job jobs[64];
	pthread_t tids[64];
	struct keystore_keys keys;
	struct keystore_stats st;
	long started = 0;
	double t0, dt;
	int rc;

	rc = keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PUBLIC, id, id_len, &keys);
	if (rc != ACRA_OK) {
		fprintf(stderr, "keystore-tool: no public key: %s\n", keystore_last_error());
		return 1;
	}
	rc = acrastruct_encrypt(keys.pub, NULL, 0, bench_pt, sizeof(bench_pt), as, sizeof(as),
				&as_len);
	keystore_put(ks, &keys);
	if (rc != ACRA_OK)
		return 1;
	t0 = now_ms();
	for (long t = 0; t < a->threads; t++) {
		jobs[t] = (struct bench_job){ ks, a, as, as_len, 0 };
		if (pthread_create(&tids[t], NULL, bench_thread, &jobs[t]) != 0)
			break;
		started++;
	}
	rc = started == a->threads ? 0 : 1;
	for (long t = 0; t < started; t++) {
		pthread_join(tids[t], NULL);
		rc |= jobs[t].rc;
	}
	dt = now_ms() - t0;
	if (rc != 0)
		return 1;
	keystore_stats(ks, &st);
	printf("%.0f %lu\n", (double)(a->iterations * a->threads) * 1000.0 / dt, st.misses);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	struct keystore_opts o = { 0 };
	struct keystore *ks = NULL;
	struct secret *master = NULL;
	int rc;

	if (parse(argc, argv, &a) != 0 ||
	    (strcmp(a.cmd, "loop") != 0 && strcmp(a.cmd, "bench") != 0)) {
		fprintf(stderr, "usage: keystore-tool loop|bench [--keys_dir=DIR] [--client_id=ID] "
				"[--cache_size=N] [--redis_host_port=H:P] [--redis_password=PW] "
				"[--redis_db_keys=N] [--timeout_ms=MS] [--iterations=N] "
				"[--pause_ms=MS] [--threads=T]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (keystore_master_key_load(NULL, &master) != ACRA_OK) {
		fprintf(stderr, "keystore-tool: %s\n", keystore_last_error());
		return 1;
	}
	o.dir = a.dir;
	o.cache_size = a.cache_size;
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&a.redis, false, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&ks, &o);
	if (rc != ACRA_OK) {
		fprintf(stderr, "keystore-tool: cannot open keystore: %s\n", keystore_last_error());
		secret_free(master);
		return 1;
	}
	rc = strcmp(a.cmd, "loop") == 0 ? loop(ks, &a) : bench(ks, &a);
	keystore_free(ks);
	secret_free(master);
	return rc;
}
