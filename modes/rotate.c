/* modes/rotate.c: acra rotate (Acra's acra-rotate): rotate the keys of the zones or clients
 * whose AcraStructs (and, beyond Acra, AcraBlocks) a query selects, and re-encrypt those
 * values with the new keys through an update query.
 *
 *   acra rotate --keys_dir=DIR --db_connection_string=DSN [--mysql_enable]
 *               --sql_select="SELECT ..., id, data FROM t" --sql_update="UPDATE t SET data=$1
 *               WHERE ...=$2" [--zonemode_enable=false] [--dry-run]
 *
 * The last two columns of each selected row are the zone id (or client id) and the value;
 * the update gets the re-encrypted value as its first parameter and the other columns after
 * it, in order ($1, $2 ... for PostgreSQL, ? for MySQL), as in Acra.
 *
 * Nothing is lost if the process dies at any point (docs/rotate.md): a key is rotated
 * (keystore_generate keeps the replaced key as history, so old values stay readable) before
 * any value under it is rewritten; every row is updated by its own statement; a value that
 * already opens with the current key is left alone; and a state file next to the keys
 * records which keys this run rotated, so running the same command again finishes the job
 * without rotating anything twice. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <sodium.h>

#include "lib/cli.h"
#include "lib/conf.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/ec.h"
#include "lib/fdio.h"
#include "lib/keystore/keystore.h"
#include "lib/keystore/master_flags.h"
#include "lib/keystore/redis.h"
#include "lib/log.h"
#include "modes/modes.h"

#define STATE_NAME ".acra-rotate.state"
#define MAX_IDS 100000

struct rotate_cfg {
	struct conf_base base;
	char *keys_dir, *file_map_config, *sql_select, *sql_update, *db_connection_string;
	char *state_file;
	bool mysql_enable, postgresql_enable, zonemode, dry_run;
	struct keystore_redis_opts redis;
	struct keystore_master_flags master;
};

#define R struct rotate_cfg
static const struct conf_opt rotate_opts[] = {
	CONF_STR("keys_dir", R, keys_dir, KEYSTORE_DEFAULT_DIR,
		 "Folder from which the keys will be loaded"),
	CONF_STR("file_map_config", R, file_map_config, "",
		 "Rotation of AcraStructs in files (not supported by this build)"),
	CONF_STR("sql_select", R, sql_select, "",
		 "Select query whose last two columns are ClientId/ZoneId and AcraStruct; the "
		 "other columns are passed to the update query"),
	CONF_STR("sql_update", R, sql_update, "",
		 "Insert/update query: the first placeholder gets the rotated value, the next "
		 "ones the other selected columns"),
	CONF_STR("db_connection_string", R, db_connection_string, "", "Connection string to db"),
	CONF_BOOL("mysql_enable", R, mysql_enable, "false", "Handle MySQL connections"),
	CONF_BOOL("postgresql_enable", R, postgresql_enable, "false",
		  "Handle Postgresql connections"),
	CONF_BOOL("zonemode_enable", R, zonemode, "true",
		  "The id column holds zone ids (false: client ids)"),
	CONF_BOOL("dry-run", R, dry_run, "false",
		  "perform rotation without saving rotated AcraStructs and keys"),
	CONF_STR("state_file", R, state_file, "",
		 "file recording the keys this run rotated (default <keys_dir>/" STATE_NAME ")"),
	KEYSTORE_REDIS_CONF(R, redis, "0"),
	KEYSTORE_MASTER_CONF(R, master),
	CONF_END
};
#undef R

static const struct conf_spec rotate_spec = {
	"rotate", "acra-rotate",
	"rotate keys and re-encrypt the AcraStructs/AcraBlocks a query selects", rotate_opts
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

#define fail(...) cli_fail("acra-rotate", __VA_ARGS__)
#define given cli_given

/* ---- the database ---------------------------------------------------------------------- */

struct val {
	char *p;
	size_t len;
	bool is_null;
};

struct db {
	bool mysql;
	PGconn *pg;
	PGresult *pres;
	MYSQL *my, *my_upd;
	MYSQL_RES *mres;
	MYSQL_STMT *stmt;
	size_t n_rows, n_cols, next;
	struct val *row; /* current row, n_cols values (owned copies) */
};

/* Go MySQL DSN: [user[:password]@][tcp(host:port)|unix(path)]/dbname[?params] */
static int my_connect(MYSQL **out, const char *dsn)
{
	char *s = strdup(dsn), *at, *slash, *q, *user = NULL, *pw = NULL, *host = NULL,
	     *sock = NULL, *db;
	unsigned port = 3306;
	MYSQL *m;
	int rc = ACRA_EINVAL;

	*out = NULL;
	if (s == NULL)
		return ACRA_ENOMEM;
	at = strrchr(s, '@');
	db = s;
	if (at != NULL) {
		*at = '\0';
		user = s;
		pw = strchr(s, ':');
		if (pw != NULL)
			*pw++ = '\0';
		db = at + 1;
	}
	slash = strchr(db, '/');
	if (slash == NULL)
		goto out;
	*slash = '\0';
	if (strncmp(db, "tcp(", 4) == 0 && db[strlen(db) - 1] == ')') {
		char *colon;

		host = db + 4;
		db[strlen(db) - 1] = '\0';
		colon = strrchr(host, ':');
		if (colon != NULL) {
			*colon = '\0';
			port = (unsigned)strtoul(colon + 1, NULL, 10);
		}
	} else if (strncmp(db, "unix(", 5) == 0 && db[strlen(db) - 1] == ')') {
		sock = db + 5;
		db[strlen(db) - 1] = '\0';
	} else if (db[0] != '\0') {
		goto out;
	}
	db = slash + 1;
	q = strchr(db, '?');
	if (q != NULL)
		*q = '\0';
	m = mysql_init(NULL);
	if (m == NULL) {
		rc = ACRA_ENOMEM;
		goto out;
	}
	if (mysql_real_connect(m, host != NULL ? host : "127.0.0.1", user, pw, db, port, sock,
			       0) == NULL) {
		fail("cannot connect to MySQL: %s", mysql_error(m));
		mysql_close(m);
		rc = ACRA_EIO;
		goto out;
	}
	*out = m;
	rc = ACRA_OK;
out:
	if (rc == ACRA_EINVAL)
		fail("--db_connection_string is not a MySQL DSN "
		     "(user:password@tcp(host:port)/dbname)");
	sodium_memzero(s, strlen(dsn));
	free(s);
	return rc;
}

static int db_open(struct db *d, const struct rotate_cfg *c)
{
	memset(d, 0, sizeof(*d));
	d->mysql = c->mysql_enable;
	if (d->mysql) {
		int rc = my_connect(&d->my, c->db_connection_string);

		if (rc == ACRA_OK)
			rc = my_connect(&d->my_upd, c->db_connection_string);
		return rc;
	}
	d->pg = PQconnectdb(c->db_connection_string);
	if (d->pg == NULL || PQstatus(d->pg) != CONNECTION_OK) {
		fail("cannot connect to PostgreSQL: %s",
		     d->pg != NULL ? PQerrorMessage(d->pg) : "out of memory");
		return ACRA_EIO;
	}
	return ACRA_OK;
}

/* Run the select; rows are then read with db_next. */
static int db_select(struct db *d, const char *sql)
{
	if (d->mysql) {
		if (mysql_query(d->my, sql) != 0 || (d->mres = mysql_store_result(d->my)) == NULL) {
			fail("sql_select failed: %s", mysql_error(d->my));
			return ACRA_EIO;
		}
		d->n_rows = mysql_num_rows(d->mres);
		d->n_cols = mysql_num_fields(d->mres);
	} else {
		d->pres = PQexecParams(d->pg, sql, 0, NULL, NULL, NULL, NULL, 1);
		if (PQresultStatus(d->pres) != PGRES_TUPLES_OK) {
			fail("sql_select failed: %s", PQresultErrorMessage(d->pres));
			return ACRA_EIO;
		}
		d->n_rows = (size_t)PQntuples(d->pres);
		d->n_cols = (size_t)PQnfields(d->pres);
	}
	if (d->n_cols < 2) {
		fail("sql_select returns %zu columns: the last two must be the id and the value",
		     d->n_cols);
		return ACRA_EINVAL;
	}
	d->row = calloc(d->n_cols, sizeof(*d->row));
	return d->row != NULL ? ACRA_OK : ACRA_ENOMEM;
}

/* The next row's values (views valid until the next call). 1: a row, 0: no more. */
static int db_next(struct db *d)
{
	if (d->next >= d->n_rows)
		return 0;
	if (d->mysql) {
		MYSQL_ROW r = mysql_fetch_row(d->mres);
		unsigned long *lens = mysql_fetch_lengths(d->mres);

		if (r == NULL || lens == NULL)
			return 0;
		for (size_t i = 0; i < d->n_cols; i++)
			d->row[i] = (struct val){ r[i], r[i] != NULL ? lens[i] : 0, r[i] == NULL };
	} else {
		int rw = (int)d->next;

		for (size_t i = 0; i < d->n_cols; i++)
			d->row[i] = (struct val){ PQgetvalue(d->pres, rw, (int)i),
						  (size_t)PQgetlength(d->pres, rw, (int)i),
						  PQgetisnull(d->pres, rw, (int)i) != 0 };
	}
	d->next++;
	return 1;
}

/* Execute the update with the rotated value first, then the other selected columns. */
static int db_update(struct db *d, const char *sql, const uint8_t *val, size_t len)
{
	size_t n = d->n_cols - 1; /* the value + the columns before the id */
	int rc = ACRA_OK;

	if (d->mysql) {
		MYSQL_BIND *b = calloc(n, sizeof(*b));
		unsigned long *lens = calloc(n, sizeof(*lens));

		if (b == NULL || lens == NULL) {
			free(b);
			free(lens);
			return ACRA_ENOMEM;
		}
		if (d->stmt == NULL) {
			d->stmt = mysql_stmt_init(d->my_upd);
			if (d->stmt == NULL ||
			    mysql_stmt_prepare(d->stmt, sql, strlen(sql)) != 0) {
				fail("sql_update cannot be prepared: %s",
				     d->stmt != NULL ? mysql_stmt_error(d->stmt) : "out of memory");
				free(b);
				free(lens);
				return ACRA_EIO;
			}
		}
		for (size_t i = 0; i < n; i++) {
			const struct val *v = i == 0 ? NULL : &d->row[i - 1];

			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)(i == 0 ? (const char *)val : v->p);
			lens[i] = i == 0 ? len : v->len;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			if (i > 0 && v->is_null)
				b[i].buffer_type = MYSQL_TYPE_NULL;
		}
		if (mysql_stmt_bind_param(d->stmt, b) != 0 || mysql_stmt_execute(d->stmt) != 0) {
			fail("sql_update failed: %s", mysql_stmt_error(d->stmt));
			rc = ACRA_EIO;
		}
		free(b);
		free(lens);
		return rc;
	}
	{
		const char **vals = calloc(n, sizeof(*vals));
		int *lens = calloc(n, sizeof(*lens)), *fmts = calloc(n, sizeof(*fmts));
		Oid *types = calloc(n, sizeof(*types));
		PGresult *res;

		if (vals == NULL || lens == NULL || fmts == NULL || types == NULL) {
			rc = ACRA_ENOMEM;
			goto pg_out;
		}
		/* everything in binary: the rotated bytes, and the other columns exactly as the
		 * select returned them, with their types */
		vals[0] = (const char *)val;
		lens[0] = (int)len;
		fmts[0] = 1;
		for (size_t i = 1; i < n; i++) {
			vals[i] = d->row[i - 1].is_null ? NULL : d->row[i - 1].p;
			lens[i] = (int)d->row[i - 1].len;
			fmts[i] = 1;
			types[i] = PQftype(d->pres, (int)i - 1);
		}
		res = PQexecParams(d->pg, sql, (int)n, types, vals, lens, fmts, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
			fail("sql_update failed: %s", PQresultErrorMessage(res));
			rc = ACRA_EIO;
		}
		PQclear(res);
pg_out:
		free(types);
		free(vals);
		free(lens);
		free(fmts);
		return rc;
	}
}

static void db_close(struct db *d)
{
	free(d->row);
	if (d->pres != NULL)
		PQclear(d->pres);
	if (d->pg != NULL)
		PQfinish(d->pg);
	if (d->mres != NULL)
		mysql_free_result(d->mres);
	if (d->stmt != NULL)
		mysql_stmt_close(d->stmt);
	if (d->my != NULL)
		mysql_close(d->my);
	if (d->my_upd != NULL)
		mysql_close(d->my_upd);
}

/* ---- keys and the run state --------------------------------------------------------------- */

struct rotated {
	enum keystore_kind kind;
	char id[KEYSTORE_ID_MAX + 1];
	size_t hist_before; /* rotated versions before this run rotated it */
	bool done;          /* rotated (in this run or an interrupted earlier one) */
};

struct run {
	const struct rotate_cfg *c;
	struct keystore *ks;
	char state_path[4200];
	struct rotated *r;
	size_t n_r, cap_r;
	unsigned long rows, rotated_rows, already, skipped, failed;
};

static size_t history_count(struct run *rn, enum keystore_kind kind, const char *id)
{
	char **names = NULL;
	size_t n = 0;

	if (keystore_history(rn->ks, kind, KEYSTORE_PRIVATE, (const uint8_t *)id, strlen(id),
			     &names, &n) != ACRA_OK)
		return 0;
	keystore_names_free(names, n);
	return n;
}

static struct rotated *find_rot(struct run *rn, enum keystore_kind kind, const char *id)
{
	for (size_t i = 0; i < rn->n_r; i++)
		if (rn->r[i].kind == kind && strcmp(rn->r[i].id, id) == 0)
			return &rn->r[i];
	return NULL;
}

static struct rotated *add_rot(struct run *rn, enum keystore_kind kind, const char *id,
			       size_t hist_before)
{
	if (rn->n_r == rn->cap_r) {
		size_t nc = rn->cap_r ? rn->cap_r * 2 : 16;
		struct rotated *nr;

		if (nc > MAX_IDS || (nr = realloc(rn->r, nc * sizeof(*nr))) == NULL)
			return NULL;
		rn->r = nr;
		rn->cap_r = nc;
	}
	memset(&rn->r[rn->n_r], 0, sizeof(rn->r[0]));
	rn->r[rn->n_r].kind = kind;
	snprintf(rn->r[rn->n_r].id, sizeof(rn->r[0].id), "%s", id);
	rn->r[rn->n_r].hist_before = hist_before;
	return &rn->r[rn->n_r++];
}

/* State file lines: "<kind number> <rotated versions before> <id>". */
static int load_state(struct run *rn)
{
	FILE *f = fopen(rn->state_path, "r");
	char line[KEYSTORE_ID_MAX + 64];

	if (f == NULL)
		return errno == ENOENT ? ACRA_OK : ACRA_EIO;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned kind;
		size_t before;
		int off = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%u %zu %n", &kind, &before, &off) != 2 || off == 0 ||
		    kind >= KEYSTORE_N_KINDS || !keystore_id_is_valid((uint8_t *)line + off,
									strlen(line + off)))
			continue; /* a torn last line from a crash */
		if (find_rot(rn, (enum keystore_kind)kind, line + off) == NULL &&
		    add_rot(rn, (enum keystore_kind)kind, line + off, before) == NULL) {
			fclose(f);
			return ACRA_ENOMEM;
		}
	}
	fclose(f);
	if (rn->n_r > 0)
		fprintf(stderr, "acra-rotate: resuming an interrupted run: %zu keys recorded in %s\n",
			rn->n_r, rn->state_path);
	return ACRA_OK;
}

static int append_state(struct run *rn, const struct rotated *r)
{
	char line[KEYSTORE_ID_MAX + 64];
	int fd = open(rn->state_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int n, rc;

	if (fd < 0) {
		fail("cannot write %s: %s", rn->state_path, strerror(errno));
		return ACRA_EIO;
	}
	n = snprintf(line, sizeof(line), "%u %zu %s\n", (unsigned)r->kind, r->hist_before, r->id);
	rc = fd_write_all(fd, line, (size_t)n);
	if (rc == ACRA_OK && fsync(fd) != 0)
		rc = ACRA_EIO;
	close(fd);
	return rc;
}

/* Make sure (kind, id) has its new key of this run (rotating it once). */
static int ensure_rotated(struct run *rn, enum keystore_kind kind, const char *id)
{
	struct rotated *r = find_rot(rn, kind, id);
	int rc;

	if (r != NULL && r->done)
		return ACRA_OK;
	if (r == NULL) {
		/* the current key must open with this master key before anything replaces it:
		 * a wrong master key must not leave a new key sealed with itself */
		struct keystore_keys k;

		rc = keystore_get(rn->ks, kind, KEYSTORE_PRIVATE, (const uint8_t *)id, strlen(id),
				  &k);
		if (rc != ACRA_OK) {
			fail("cannot load the %s of %s: %s; nothing rotated", keystore_kind_name(kind),
			     id, keystore_last_error());
			return rc;
		}
		keystore_put(rn->ks, &k);
		r = add_rot(rn, kind, id, history_count(rn, kind, id));
		if (r == NULL)
			return ACRA_ENOMEM;
		if (!rn->c->dry_run && append_state(rn, r) != ACRA_OK)
			return ACRA_EIO;
	} else if (history_count(rn, kind, id) > r->hist_before) {
		r->done = true; /* an interrupted run rotated it already */
		return ACRA_OK;
	}
	if (!rn->c->dry_run) {
		rc = keystore_generate(rn->ks, kind, (const uint8_t *)id, strlen(id), NULL);
		if (rc != ACRA_OK) {
			fail("cannot rotate the %s of %s: %s", keystore_kind_name(kind), id,
			     keystore_last_error());
			return rc;
		}
	}
	r->done = true;
	return ACRA_OK;
}

/* ---- one value ------------------------------------------------------------------------- */

enum outcome { ROT_DONE, ROT_ALREADY, ROT_NOT_ENVELOPE, ROT_FAILED, ROT_ABORT };

static enum outcome rotate_value(struct run *rn, const char *id, const uint8_t *v, size_t len,
				 uint8_t **out, size_t *out_len)
{
	bool zone = rn->c->zonemode, block = acrablock_check(v, len) == ACRA_OK;
	enum keystore_kind kind;
	struct keystore_keys priv = { 0 }, pub = { 0 };
	struct secret *pt = NULL;
	size_t pt_len = 0, cap, which = 0;
	const uint8_t *ctx = zone ? (const uint8_t *)id : NULL;
	size_t ctx_len = zone ? strlen(id) : 0;
	enum outcome res = ROT_FAILED;
	int rc;

	*out = NULL;
	if (!block && acrastruct_check(v, len) != ACRA_OK)
		return ROT_NOT_ENVELOPE;
	if (block)
		kind = zone ? KEYSTORE_ZONE_SYM : KEYSTORE_STORAGE_SYM;
	else
		kind = zone ? KEYSTORE_ZONE : KEYSTORE_STORAGE;
	if (ensure_rotated(rn, kind, id) != ACRA_OK)
		return ROT_ABORT; /* no key to rotate to: stop the run */
	rc = keystore_get(rn->ks, kind, KEYSTORE_PRIVATE, (const uint8_t *)id, strlen(id), &priv);
	if (rc != ACRA_OK)
		return ROT_FAILED;
	if (block) {
		rc = acrablock_plain_len(v, len, &cap) == ACRA_OK ? secret_new(&pt, cap + 1) :
								  ACRA_EPROTO;
		for (size_t i = 0; rc == ACRA_OK && i <= priv.n; i++) {
			if (i == priv.n) {
				rc = ACRA_ECRYPTO;
				break;
			}
			/* AcraBlocks of clients carry the client id as context, or none */
			if (acrablock_decrypt(priv.sym[i]->p, priv.sym[i]->len, ctx, ctx_len, v,
					      len, pt->p, pt->len, &pt_len) == ACRA_OK ||
			    (!zone && acrablock_decrypt(priv.sym[i]->p, priv.sym[i]->len,
							(const uint8_t *)id, strlen(id), v, len,
							pt->p, pt->len, &pt_len) == ACRA_OK)) {
				which = i;
				break;
			}
		}
	} else {
		cap = len;
		rc = secret_new(&pt, cap);
		if (rc == ACRA_OK)
			rc = acrastruct_decrypt_any(priv.priv, priv.n, ctx, ctx_len, v, len, pt->p,
						    pt->len, &pt_len, &which);
	}
	if (rc != ACRA_OK)
		goto out;
	if (which == 0 && !rn->c->dry_run) {
		res = ROT_ALREADY; /* opens with the current key: rotated before */
		goto out;
	}
	cap = block ? acrablock_size(pt_len) : acrastruct_size(pt_len);
	*out = malloc(cap);
	if (*out == NULL)
		goto out;
	if (block) {
		rc = acrablock_encrypt(priv.sym[0]->p, priv.sym[0]->len, ctx, ctx_len, pt->p, pt_len,
				       *out, cap, out_len);
	} else {
		rc = keystore_get(rn->ks, kind, KEYSTORE_PUBLIC, (const uint8_t *)id, strlen(id),
				  &pub);
		if (rc == ACRA_OK)
			rc = acrastruct_encrypt(pub.pub, ctx, ctx_len, pt->p, pt_len, *out, cap,
						out_len);
	}
	if (rc == ACRA_OK)
		res = ROT_DONE;
out:
	if (res != ROT_DONE) {
		free(*out);
		*out = NULL;
	}
	keystore_put(rn->ks, &pub);
	keystore_put(rn->ks, &priv);
	secret_free(pt);
	return res;
}

/* ---- progress ---------------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(struct run *rn, size_t total, double t0, bool last)
{
	static double shown;
	double t = now_s(), rate = rn->rows / (t - t0 > 1e-6 ? t - t0 : 1e-6);
	bool tty = isatty(STDERR_FILENO) == 1;

	if (!last && t - shown < (tty ? 0.2 : 2.0))
		return;
	shown = t;
	if (tty) {
		int width = 30, fill = total ? (int)(width * rn->rows / total) : width;

		fprintf(stderr, "\r[%.*s%*s] %lu/%zu rows, %.0f rows/s", fill,
			"##############################", width - fill, "", rn->rows, total, rate);
		if (last)
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "acra-rotate: %lu/%zu rows (%lu re-encrypted, %lu already rotated), "
			"%.0f rows/s\n", rn->rows, total, rn->rotated_rows, rn->already, rate);
	}
}

/* ---- main ---------------------------------------------------------------------------------- */

static int print_result(struct run *rn)
{
	json_t *o = json_object();

	for (size_t i = 0; i < rn->n_r; i++) {
		struct keystore_keys k = { 0 };
		json_t *e = json_object_get(o, rn->r[i].id);

		if (e == NULL) {
			e = json_object();
			json_object_set_new(o, rn->r[i].id, e);
		}
		if (keystore_kind_is_pair(rn->r[i].kind) &&
		    keystore_get(rn->ks, rn->r[i].kind, KEYSTORE_PUBLIC, (uint8_t *)rn->r[i].id,
				 strlen(rn->r[i].id), &k) == ACRA_OK) {
			char b[80];

			sodium_bin2base64(b, sizeof(b), k.pub_raw, EC_PUB_LEN,
					  sodium_base64_VARIANT_ORIGINAL);
			json_object_set_new(e, "new_public_key", json_string(b));
			keystore_put(rn->ks, &k);
		} else if (!keystore_kind_is_pair(rn->r[i].kind)) {
			json_object_set_new(e, "new_symmetric_key", json_true());
		}
	}
	json_dumpf(o, stdout, JSON_INDENT(4) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(o);
	return ACRA_OK;
}

static int rotate_run(const struct rotate_cfg *c)
{
	struct keystore_opts o = { 0 };
	struct secret *master = NULL;
	struct run rn = { .c = c };
	struct db d;
	double t0;
	int rc;

	rc = keystore_master_key_from_flags(&c->master, &master);
	if (rc != ACRA_OK) {
		fail("can't load master key: %s", keystore_last_error());
		return rc;
	}
	o.dir = c->keys_dir;
	o.cache_size = KEYSTORE_CACHE_OFF; /* see each rotation at once */
	o.master_key = master;
	rc = keystore_redis_opts_from_flags(&c->redis, false, &o);
	if (rc == ACRA_OK)
		rc = keystore_open(&rn.ks, &o);
	secret_free(master);
	if (rc != ACRA_OK) {
		fail("cannot open keystore: %s", keystore_last_error());
		return rc;
	}
	snprintf(rn.state_path, sizeof(rn.state_path), "%s", given(c->state_file) ? c->state_file :
								  c->keys_dir);
	if (!given(c->state_file))
		snprintf(rn.state_path + strlen(rn.state_path),
			 sizeof(rn.state_path) - strlen(rn.state_path), "/%s", STATE_NAME);
	rc = c->dry_run ? ACRA_OK : load_state(&rn);
	if (rc != ACRA_OK) {
		fail("cannot read %s", rn.state_path);
		keystore_free(rn.ks);
		return rc;
	}
	rc = db_open(&d, c);
	if (rc == ACRA_OK)
		rc = db_select(&d, c->sql_select);
	if (c->dry_run && rc == ACRA_OK)
		fprintf(stderr, "acra-rotate: dry run: nothing is written\n");
	t0 = now_s();
	while (rc == ACRA_OK && !stop_requested && db_next(&d) == 1) {
		const struct val *idv = &d.row[d.n_cols - 2], *vv = &d.row[d.n_cols - 1];
		char id[KEYSTORE_ID_MAX + 1];
		uint8_t *nv = NULL;
		size_t nv_len = 0;
		enum outcome res;

		rn.rows++;
		if (idv->is_null || vv->is_null || idv->len > KEYSTORE_ID_MAX ||
		    !keystore_id_is_valid((const uint8_t *)idv->p, idv->len)) {
			rn.skipped++;
			continue;
		}
		memcpy(id, idv->p, idv->len);
		id[idv->len] = '\0';
		res = rotate_value(&rn, id, (const uint8_t *)vv->p, vv->len, &nv, &nv_len);
		switch (res) {
		case ROT_DONE:
			if (!c->dry_run)
				rc = db_update(&d, c->sql_update, nv, nv_len);
			rn.rotated_rows += rc == ACRA_OK;
			break;
		case ROT_ALREADY:
			rn.already++;
			break;
		case ROT_NOT_ENVELOPE:
			rn.skipped++;
			break;
		case ROT_ABORT:
			rn.failed++;
			rc = ACRA_ECRYPTO;
			break;
		default:
			rn.failed++;
			break;
		}
		free(nv);
		progress(&rn, d.n_rows, t0, false);
	}
	if (rn.rows > 0)
		progress(&rn, d.n_rows, t0, true);
	db_close(&d);
	if (rc == ACRA_OK && stop_requested) {
		fail("interrupted after %lu of %zu rows; run the same command again to finish "
		     "(keys already rotated are not rotated again)", rn.rows, d.n_rows);
		rc = ACRA_EIO;
	}
	if (rc == ACRA_OK) {
		fprintf(stderr, "acra-rotate: %lu rows: %lu re-encrypted, %lu already under the new "
			"key, %lu not an AcraStruct/AcraBlock (left unchanged), %lu could not be "
			"decrypted (left unchanged)%s\n", rn.rows, rn.rotated_rows, rn.already,
			rn.skipped, rn.failed, c->dry_run ? "; dry run: nothing written" : "");
		print_result(&rn);
		if (!c->dry_run)
			unlink(rn.state_path); /* the run is complete */
		if (rn.failed > 0)
			rc = ACRA_ECRYPTO;
	}
	free(rn.r);
	keystore_free(rn.ks);
	return rc;
}

int rotate_main(int argc, char **argv)
{
	struct rotate_cfg cfg;
	struct sigaction sa;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = conf_parse(&rotate_spec, &cfg, argc, argv);
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return conf_exit_code(rc);
	}
	proc_harden();
	if (given(cfg.file_map_config)) {
		fail("--file_map_config (rotation of files) is not supported; rotate data in a "
		     "database with --sql_select and --sql_update");
		rc = ACRA_EINVAL;
	} else if (!given(cfg.sql_select) || !given(cfg.sql_update)) {
		fail("sql_select and sql_update must be set both");
		rc = ACRA_EINVAL;
	} else if (!given(cfg.db_connection_string)) {
		fail("--db_connection_string is required");
		rc = ACRA_EINVAL;
	} else if (cfg.mysql_enable && cfg.postgresql_enable) {
		fail("--mysql_enable and --postgresql_enable are mutually exclusive");
		rc = ACRA_EINVAL;
	}
	if (rc != ACRA_OK) {
		conf_free(&cfg);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = rotate_run(&cfg);
	conf_free(&cfg);
	return rc == ACRA_OK ? 0 : 1;
}
