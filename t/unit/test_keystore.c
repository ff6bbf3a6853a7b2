/* t/unit/test_keystore.c: keystore v1 layout and contexts, permissions, master key parsing,
 * rotation history, the key cache (LRU eviction, reference counts, threads). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/cell.h"
#include "lib/crypto/ec.h"
#include "lib/keystore/keystore.h"
#include "t/unit/suites.h"
#include "t/unit/vectors/keystore_acra082.h"

static char tmpdir[64];
static char keydir[128];
static struct secret *master;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/acra-ks-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(keydir, sizeof(keydir), "%s/keys", tmpdir);
	ck_assert_int_eq(secret_new_random(&master, 32), ACRA_OK);
}

static void teardown(void)
{
	secret_free(master);
	master = NULL;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct keystore *open_ks(long cache, const struct secret *mk)
{
	struct keystore_opts o = { .dir = keydir, .cache_size = cache, .master_key = mk };
	struct keystore *ks = NULL;

	ck_assert_int_eq(keystore_open(&ks, &o), ACRA_OK);
	return ks;
}

static const uint8_t *U(const char *s)
{
	return (const uint8_t *)s;
}

static mode_t file_mode(const char *dir, const char *name, off_t *size)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_msg(stat(p, &st) == 0, "%s missing", p);
	if (size != NULL)
		*size = st.st_size;
	return st.st_mode & 07777;
}

static size_t read_file(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
	char p[512];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "rb");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

START_TEST(test_id_rules)
{
	static const struct {
		const char *id;
		bool ok;
	} cases[] = {
		{ "client", true },     { "abcde", true },   { "abcd", false },
		{ "with space_-9", true }, { "dot.name", false }, { "sla/sh", false },
		{ "DDDDDDDDqMvNkZtHsPQwLaXc", true }, { "ünï", false }, { "", false },
	};
	char long_id[258];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(keystore_id_is_valid(U(cases[i].id), strlen(cases[i].id)) ==
				      cases[i].ok,
			      "id \"%s\"", cases[i].id);
	memset(long_id, 'a', sizeof(long_id));
	ck_assert(keystore_id_is_valid(U(long_id), 256));
	ck_assert(!keystore_id_is_valid(U(long_id), 257));
}
END_TEST

START_TEST(test_file_names)
{
	static const struct {
		enum keystore_kind kind;
		enum keystore_part part;
		const char *name;
	} cases[] = {
		{ KEYSTORE_STORAGE, KEYSTORE_PRIVATE, "client_storage" },
		{ KEYSTORE_STORAGE, KEYSTORE_PUBLIC, "client_storage.pub" },
		{ KEYSTORE_STORAGE_SYM, KEYSTORE_PRIVATE, "client_storage_sym" },
		{ KEYSTORE_HMAC, KEYSTORE_PRIVATE, "client_hmac" },
		{ KEYSTORE_ZONE, KEYSTORE_PUBLIC, "client_zone.pub" },
		{ KEYSTORE_ZONE_SYM, KEYSTORE_PRIVATE, "client_zone_sym" },
		{ KEYSTORE_CONNECTOR, KEYSTORE_PRIVATE, "client" },
		{ KEYSTORE_CONNECTOR, KEYSTORE_PUBLIC, "client.pub" },
		{ KEYSTORE_SERVER, KEYSTORE_PRIVATE, "client_server" },
		{ KEYSTORE_TRANSLATOR, KEYSTORE_PUBLIC, "client_translator.pub" },
		{ KEYSTORE_POISON, KEYSTORE_PRIVATE, ".poison_key/poison_key" },
		{ KEYSTORE_POISON, KEYSTORE_PUBLIC, ".poison_key/poison_key.pub" },
		{ KEYSTORE_POISON_SYM, KEYSTORE_PRIVATE, ".poison_key/poison_key_sym" },
		{ KEYSTORE_LOG, KEYSTORE_PRIVATE, "secure_log_key" },
	};
	char buf[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(keystore_file_name(cases[i].kind, cases[i].part, U("client"), 6,
						    buf, sizeof(buf)),
				 ACRA_OK);
		ck_assert_str_eq(buf, cases[i].name);
	}
	ck_assert_int_eq(keystore_file_name(KEYSTORE_STORAGE_SYM, KEYSTORE_PUBLIC, U("client"), 6,
					    buf, sizeof(buf)),
			 ACRA_EINVAL);
	ck_assert_int_eq(keystore_file_name(KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("../etc"), 6,
					    buf, sizeof(buf)),
			 ACRA_EINVAL);
}
END_TEST

START_TEST(test_master_key_parse)
{
	struct secret *k = NULL;
	uint8_t raw[64];
	char b64[200];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, 32, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_eq(keystore_master_key_parse(b64, &k), ACRA_OK);
	ck_assert_uint_eq(k->len, 32);
	ck_assert_mem_eq(k->p, raw, 32);
	secret_free(k);

	/* longer keys are accepted, as Acra only checks a minimum */
	sodium_bin2base64(b64, sizeof(b64), raw, 64, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_eq(keystore_master_key_parse(b64, &k), ACRA_OK);
	ck_assert_uint_eq(k->len, 64);
	secret_free(k);

	sodium_bin2base64(b64, sizeof(b64), raw, 31, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_eq(keystore_master_key_parse(b64, &k), ACRA_ERANGE);
	ck_assert_ptr_null(k);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "32"));
	ck_assert_ptr_null(strstr(keystore_last_error(), b64));

	ck_assert_int_eq(keystore_master_key_parse("not base64 at all!!", &k), ACRA_EINVAL);
	ck_assert_int_eq(keystore_master_key_parse("", &k), ACRA_EINVAL);
	/* URL-safe alphabet and missing padding are not Go's StdEncoding */
	sodium_bin2base64(b64, sizeof(b64), raw, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ck_assert_int_eq(keystore_master_key_parse(b64, &k), ACRA_EINVAL);
	ck_assert_ptr_null(k);
}
END_TEST

START_TEST(test_master_key_env)
{
	struct secret *k = NULL;
	uint8_t raw[32];
	char b64[64];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, 32, sodium_base64_VARIANT_ORIGINAL);
	setenv("ACRA_MASTER_KEY", b64, 1);
	ck_assert_int_eq(keystore_master_key_load(NULL, &k), ACRA_OK);
	ck_assert_mem_eq(k->p, raw, 32);
	ck_assert_ptr_null(getenv("ACRA_MASTER_KEY"));
	secret_free(k);

	ck_assert_int_eq(keystore_master_key_load(NULL, &k), ACRA_EINVAL);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "ACRA_MASTER_KEY"));

	setenv("ACRA_MASTER_KEY", "c2hvcnQ=", 1);
	ck_assert_int_eq(keystore_master_key_load(&keystore_master_env, &k), ACRA_ERANGE);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "ACRA_MASTER_KEY"));
	ck_assert_ptr_null(strstr(keystore_last_error(), "c2hvcnQ="));
	ck_assert_ptr_null(getenv("ACRA_MASTER_KEY"));
	ck_assert_ptr_nonnull(keystore_master_loader_find("env_master_key"));
	ck_assert_ptr_null(keystore_master_loader_find("vault_master_key"));
}
END_TEST

START_TEST(test_master_key_generate)
{
	char p[200];
	off_t size = 0;

	snprintf(p, sizeof(p), "%s/master.key", tmpdir);
	ck_assert_int_eq(keystore_master_key_generate(p), ACRA_OK);
	ck_assert_int_eq(file_mode(tmpdir, "master.key", &size), 0600);
	ck_assert_int_eq(size, 32);
}
END_TEST

/* Files, sizes, modes and the Secure Cell context, checked without the keystore's reader. */
START_TEST(test_layout_and_contexts)
{
	struct keystore *ks = open_ks(0, master);
	uint8_t pub[EC_PUB_LEN], file[200], plain[200], pub2[EC_PUB_LEN];
	struct ec_priv *priv = NULL;
	size_t n, pt_len = 0;
	off_t size = 0;
	struct stat st;

	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U("client1"), 7, pub), ACRA_OK);
	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE_SYM, U("client1"), 7, NULL),
			 ACRA_OK);
	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_POISON, NULL, 0, NULL), ACRA_OK);
	ck_assert_int_eq(stat(keydir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);

	ck_assert_int_eq(file_mode(keydir, "client1_storage", &size), 0600);
	ck_assert_int_eq(size, 89);
	ck_assert_int_eq(file_mode(keydir, "client1_storage.pub", &size), 0644);
	ck_assert_int_eq(size, 45);
	ck_assert_int_eq(file_mode(keydir, "client1_storage_sym", &size), 0600);
	ck_assert_int_eq(size, 76);
	ck_assert_int_eq(file_mode(keydir, ".poison_key/poison_key", &size), 0600);
	ck_assert_int_eq(file_mode(keydir, ".poison_key/poison_key.pub", &size), 0644);

	n = read_file(keydir, "client1_storage.pub", file, sizeof(file));
	ck_assert_uint_eq(n, 45);
	ck_assert_mem_eq(file, pub, 45);
	ck_assert_mem_eq(file, "UEC2", 4);

	/* private key file = Secure Cell Seal(master, REC2, context = client id) */
	n = read_file(keydir, "client1_storage", file, sizeof(file));
	ck_assert_int_eq(cell_seal_decrypt(master->p, master->len, U("client1"), 7, file, n, plain,
					   &pt_len),
			 ACRA_OK);
	ck_assert_uint_eq(pt_len, 45);
	ck_assert_mem_eq(plain, "REC2", 4);
	ck_assert_int_eq(ec_priv_load(&priv, plain, pt_len), ACRA_OK);
	ck_assert_int_eq(ec_priv_public(priv, pub2), ACRA_OK);
	ck_assert_mem_eq(pub2, pub, 45);
	ec_priv_free(priv);
	ck_assert_int_eq(cell_seal_decrypt(master->p, master->len, U("client2"), 7, file, n, plain,
					   &pt_len),
			 ACRA_ECRYPTO);

	n = read_file(keydir, ".poison_key/poison_key", file, sizeof(file));
	ck_assert_int_eq(cell_seal_decrypt(master->p, master->len, U(".poison_key/poison_key"), 22,
					   file, n, plain, &pt_len),
			 ACRA_OK);
	n = read_file(keydir, "client1_storage_sym", file, sizeof(file));
	ck_assert_int_eq(cell_seal_decrypt(master->p, master->len, U("client1"), 7, file, n, plain,
					   &pt_len),
			 ACRA_OK);
	ck_assert_uint_eq(pt_len, 32);
	sodium_memzero(plain, sizeof(plain));
	keystore_free(ks);
}
END_TEST

/* Keys round-trip through the keystore's reader: encrypt to the public key, decrypt with
 * what keystore_get hands out. */
START_TEST(test_get_roundtrip)
{
	struct keystore *ks = open_ks(0, master);
	struct keystore_keys pubk, privk, symk;
	uint8_t as[300], blk[300], out[100];
	size_t as_len = 0, blk_len = 0, pt_len = 0;

	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U("client1"), 7, NULL), ACRA_OK);
	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE_SYM, U("client1"), 7, NULL),
			 ACRA_OK);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PUBLIC, U("client1"), 7, &pubk),
			 ACRA_OK);
	ck_assert_int_eq(acrastruct_encrypt(pubk.pub, NULL, 0, U("hello"), 5, as, sizeof(as),
					    &as_len),
			 ACRA_OK);
	keystore_put(ks, &pubk);
	ck_assert_ptr_null(pubk.entry);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client1"), 7,
				      &privk),
			 ACRA_OK);
	ck_assert_uint_eq(privk.n, 1);
	ck_assert_int_eq(acrastruct_decrypt(privk.priv[0], NULL, 0, as, as_len, out, sizeof(out),
					    &pt_len),
			 ACRA_OK);
	ck_assert_mem_eq(out, "hello", 5);
	keystore_put(ks, &privk);

	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE_SYM, KEYSTORE_PRIVATE, U("client1"), 7,
				      &symk),
			 ACRA_OK);
	ck_assert_uint_eq(symk.sym[0]->len, 32);
	ck_assert_int_eq(acrablock_encrypt(symk.sym[0]->p, 32, NULL, 0, U("data"), 4, blk,
					   sizeof(blk), &blk_len),
			 ACRA_OK);
	ck_assert_int_eq(acrablock_decrypt(symk.sym[0]->p, 32, NULL, 0, blk, blk_len, out,
					   sizeof(out), &pt_len),
			 ACRA_OK);
	keystore_put(ks, &symk);

	ck_assert(keystore_has(ks, KEYSTORE_STORAGE, U("client1"), 7));
	ck_assert(!keystore_has(ks, KEYSTORE_STORAGE, U("client2"), 7));
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client2"), 7,
				      &privk),
			 ACRA_ENOKEY);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("bad/id"), 6,
				      &privk),
			 ACRA_EINVAL);
	keystore_free(ks);
}
END_TEST

START_TEST(test_wrong_master_key)
{
	struct keystore *ks = open_ks(0, master), *ks2;
	struct secret *other = NULL;
	struct keystore_keys k;

	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U("client1"), 7, NULL), ACRA_OK);
	keystore_free(ks);
	ck_assert_int_eq(secret_new_random(&other, 32), ACRA_OK);
	ks2 = open_ks(0, other);
	ck_assert_int_eq(keystore_get(ks2, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client1"), 7, &k),
			 ACRA_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "client1_storage"));
	/* public keys need no master key */
	ck_assert_int_eq(keystore_get(ks2, KEYSTORE_STORAGE, KEYSTORE_PUBLIC, U("client1"), 7, &k),
			 ACRA_OK);
	keystore_put(ks2, &k);
	keystore_free(ks2);
	ks2 = open_ks(0, NULL);
	ck_assert_int_eq(keystore_get(ks2, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client1"), 7, &k),
			 ACRA_EINVAL);
	keystore_free(ks2);
	secret_free(other);
}
END_TEST

START_TEST(test_permissions_refused)
{
	struct keystore *ks = open_ks(0, master);
	struct keystore_opts o = { .dir = keydir, .master_key = master };
	struct keystore_keys k;
	char p[300];

	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U("client1"), 7, NULL), ACRA_OK);
	snprintf(p, sizeof(p), "%s/client1_storage", keydir);
	ck_assert_int_eq(chmod(p, 0640), 0);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client1"), 7, &k),
			 ACRA_EPERM);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "chmod 600"));
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), p));
	ck_assert_int_eq(chmod(p, 0400), 0);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client1"), 7, &k),
			 ACRA_OK);
	keystore_put(ks, &k);
	keystore_free(ks);

	ck_assert_int_eq(chmod(keydir, 0755), 0);
	ks = NULL;
	ck_assert_int_eq(keystore_open(&ks, &o), ACRA_EPERM);
	ck_assert_ptr_null(ks);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "chmod 700"));
	ck_assert_int_eq(chmod(keydir, 0700), 0);
}
END_TEST

START_TEST(test_v2_refused)
{
	struct keystore_opts o = { .dir = keydir, .master_key = master };
	struct keystore *ks = NULL;
	char p[300];
	FILE *f;

	ck_assert_int_eq(mkdir(keydir, 0700), 0);
	snprintf(p, sizeof(p), "%s/version", keydir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("Acra Keystore v2", f);
	fclose(f);
	ck_assert_int_eq(keystore_open(&ks, &o), ACRA_EINVAL);
	ck_assert_ptr_nonnull(strstr(keystore_last_error(), "v2"));
}
END_TEST

/* A regenerated key keeps the old one in <name>.old/<time>; readers get both, newest first. */
START_TEST(test_history)
{
	struct keystore *ks = open_ks(0, master);
	uint8_t pub1[EC_PUB_LEN], pub2[EC_PUB_LEN], got[EC_PUB_LEN];
	struct keystore_keys k;
	char p[300];
	char **names = NULL;
	size_t n = 0;
	struct keystore_storage st;

	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U("client1"), 7, pub1), ACRA_OK);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client1"), 7, &k),
			 ACRA_OK);
	ck_assert_uint_eq(k.n, 1);
	keystore_put(ks, &k);
	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U("client1"), 7, pub2), ACRA_OK);

	keystore_fs_storage(&st);
	snprintf(p, sizeof(p), "%s/client1_storage.old", keydir);
	ck_assert_int_eq(st.ops->list(st.ctx, p, &names, &n), ACRA_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(strncmp(names[0], "20", 2), 0);
	ck_assert_int_eq(names[0][10], 'T');
	keystore_names_free(names, n);

	/* the new key is read, not a stale cached one */
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("client1"), 7, &k),
			 ACRA_OK);
	ck_assert_uint_eq(k.n, 2);
	ck_assert_int_eq(ec_priv_public(k.priv[0], got), ACRA_OK);
	ck_assert_mem_eq(got, pub2, EC_PUB_LEN);
	ck_assert_int_eq(ec_priv_public(k.priv[1], got), ACRA_OK);
	ck_assert_mem_eq(got, pub1, EC_PUB_LEN);
	keystore_put(ks, &k);
	/* transport keys have no readers of history */
	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_SERVER, U("client1"), 7, NULL), ACRA_OK);
	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_SERVER, U("client1"), 7, NULL), ACRA_OK);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_SERVER, KEYSTORE_PRIVATE, U("client1"), 7, &k),
			 ACRA_OK);
	ck_assert_uint_eq(k.n, 1);
	keystore_put(ks, &k);
	keystore_free(ks);
}
END_TEST

static void make_clients(struct keystore *ks, int n)
{
	char id[32];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "client%d", i);
		ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U(id), strlen(id), NULL),
				 ACRA_OK);
	}
}

static int get_client(struct keystore *ks, int i, struct keystore_keys *k)
{
	char id[32];

	snprintf(id, sizeof(id), "client%d", i);
	return keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U(id), strlen(id), k);
}

START_TEST(test_cache_lru)
{
	struct keystore *ks = open_ks(2, master);
	struct keystore_keys k;
	struct keystore_stats st;

	make_clients(ks, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(get_client(ks, i, &k), ACRA_OK);
		keystore_put(ks, &k);
	}
	keystore_stats(ks, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.misses, 3);
	ck_assert_uint_eq(st.evictions, 1);
	/* 1 and 2 are cached; touching 1 makes 2 the least recently used */
	ck_assert_int_eq(get_client(ks, 1, &k), ACRA_OK);
	keystore_put(ks, &k);
	ck_assert_int_eq(get_client(ks, 0, &k), ACRA_OK); /* evicts 2 */
	keystore_put(ks, &k);
	ck_assert_int_eq(get_client(ks, 1, &k), ACRA_OK);
	keystore_put(ks, &k);
	keystore_stats(ks, &st);
	ck_assert_uint_eq(st.hits, 2);
	ck_assert_uint_eq(st.misses, 4);
	ck_assert_uint_eq(st.evictions, 2);
	ck_assert_int_eq(get_client(ks, 2, &k), ACRA_OK); /* was evicted: a miss */
	keystore_put(ks, &k);
	keystore_stats(ks, &st);
	ck_assert_uint_eq(st.misses, 5);
	keystore_reset(ks);
	keystore_stats(ks, &st);
	ck_assert_uint_eq(st.entries, 0);
	keystore_free(ks);
}
END_TEST

START_TEST(test_cache_off_and_unlimited)
{
	struct keystore *ks = open_ks(KEYSTORE_CACHE_OFF, master);
	struct keystore_keys a, b;
	struct keystore_stats st;

	make_clients(ks, 20);
	ck_assert_int_eq(get_client(ks, 0, &a), ACRA_OK);
	ck_assert_int_eq(get_client(ks, 0, &b), ACRA_OK);
	ck_assert_ptr_ne(a.entry, b.entry); /* nothing shared: each get loads */
	keystore_put(ks, &a);
	keystore_put(ks, &b);
	keystore_stats(ks, &st);
	ck_assert_uint_eq(st.entries, 0);
	ck_assert_uint_eq(st.misses, 2);
	keystore_free(ks);

	ks = open_ks(KEYSTORE_CACHE_UNLIMITED, master);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 20; i++) {
			ck_assert_int_eq(get_client(ks, i, &a), ACRA_OK);
			keystore_put(ks, &a);
		}
	keystore_stats(ks, &st);
	ck_assert_uint_eq(st.entries, 20);
	ck_assert_uint_eq(st.misses, 20);
	ck_assert_uint_eq(st.hits, 20);
	ck_assert_uint_eq(st.evictions, 0);
	keystore_free(ks);
}
END_TEST

/* A key in use survives eviction and reset; it is freed at the last put (ASan checks). */
START_TEST(test_cache_refcount)
{
	struct keystore *ks = open_ks(1, master);
	struct keystore_keys held, other;
	uint8_t pub[EC_PUB_LEN], pub_after[EC_PUB_LEN];

	make_clients(ks, 3);
	ck_assert_int_eq(get_client(ks, 0, &held), ACRA_OK);
	ck_assert_int_eq(ec_priv_public(held.priv[0], pub), ACRA_OK);
	ck_assert_int_eq(get_client(ks, 1, &other), ACRA_OK); /* evicts 0 from the map */
	keystore_put(ks, &other);
	keystore_reset(ks);
	ck_assert_int_eq(get_client(ks, 2, &other), ACRA_OK);
	ck_assert_int_eq(ec_priv_public(held.priv[0], pub_after), ACRA_OK);
	ck_assert_mem_eq(pub, pub_after, EC_PUB_LEN);
	keystore_put(ks, &held);
	keystore_put(ks, &other);
	keystore_put(ks, &other); /* zeroed: a no-op */
	keystore_free(ks);
}
END_TEST

struct worker_arg {
	struct keystore *ks;
	int seed;
	int failures;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct keystore_keys k;
	uint8_t pub[EC_PUB_LEN];

	for (int i = 0; i < 300; i++) {
		if (get_client(a->ks, (i + a->seed) % 5, &k) != ACRA_OK ||
		    ec_priv_public(k.priv[0], pub) != ACRA_OK)
			a->failures++;
		if (i % 50 == 0)
			keystore_reset(a->ks);
		keystore_put(a->ks, &k);
	}
	return NULL;
}

START_TEST(test_cache_threads)
{
	struct keystore *ks = open_ks(2, master);
	pthread_t t[4];
	struct worker_arg args[4];

	make_clients(ks, 5);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){ ks, i, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	keystore_free(ks);
}
END_TEST

START_TEST(test_codec_provider_and_zones)
{
	struct keystore *ks = open_ks(0, master);
	struct codec_keys prov;
	struct codec_keyset set;
	struct codec_key_owner who = { { U("client1"), 7 }, { NULL, 0 } };
	char zid[ZONE_ID_LEN + 1];
	uint8_t zpub[EC_PUB_LEN];
	off_t size = 0;
	char name[64];

	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE, U("client1"), 7, NULL), ACRA_OK);
	keystore_codec_keys(ks, &prov);
	ck_assert_int_eq(prov.get(prov.ctx, CODEC_KEY_STRUCT_PRIV, &who, &set), ACRA_OK);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_ptr_nonnull(set.priv[0]);
	prov.release(prov.ctx, &set);
	ck_assert_int_eq(prov.get(prov.ctx, CODEC_KEY_STRUCT_PUB, &who, &set), ACRA_OK);
	ck_assert_ptr_nonnull(set.pub);
	prov.release(prov.ctx, &set);
	ck_assert_int_eq(prov.get(prov.ctx, CODEC_KEY_BLOCK_SYM, &who, &set), ACRA_ENOKEY);
	who.client_id = (struct bytes){ U("x"), 1 }; /* not a valid id: simply no key */
	ck_assert_int_eq(prov.get(prov.ctx, CODEC_KEY_STRUCT_PRIV, &who, &set), ACRA_ENOKEY);

	ck_assert_int_eq(keystore_generate_zone(ks, zid, zpub), ACRA_OK);
	ck_assert(zone_id_is_valid(U(zid), ZONE_ID_LEN));
	ck_assert(keystore_zone_exists(ks, U(zid)));
	snprintf(name, sizeof(name), "%s_zone", zid);
	ck_assert_int_eq(file_mode(keydir, name, &size), 0600);
	ck_assert_int_eq(size, 89);
	snprintf(name, sizeof(name), "%s_zone_sym", zid);
	ck_assert_int_eq(file_mode(keydir, name, &size), 0600);
	who.zone_id = (struct bytes){ U(zid), ZONE_ID_LEN };
	ck_assert_int_eq(prov.get(prov.ctx, CODEC_KEY_STRUCT_PRIV, &who, &set), ACRA_OK);
	prov.release(prov.ctx, &set);
	ck_assert(!keystore_zone_exists(ks, U("DDDDDDDDaaaaaaaaaaaaaaaa")));
	keystore_free(ks);
}
END_TEST

/* A keystore made by real Acra 0.82 loads: every private key unseals with Acra's context
 * and matches its .pub file, and the poison record acra-poisonrecordmaker made (a real
 * AcraStruct) decrypts with the poison key. */
START_TEST(test_acra082_keystore)
{
	static const struct {
		enum keystore_kind kind;
		const char *id;
	} pairs[] = {
		{ KEYSTORE_CONNECTOR, "test-client" }, { KEYSTORE_SERVER, "test-client" },
		{ KEYSTORE_TRANSLATOR, "test-client" }, { KEYSTORE_STORAGE, "test-client" },
		{ KEYSTORE_ZONE, acra082_zone },       { KEYSTORE_POISON, NULL },
	};
	struct secret *mk = NULL;
	struct keystore *ks;
	struct keystore_keys priv, pub;
	uint8_t buf[512], rec[512], got[EC_PUB_LEN], out[128];
	size_t n = 0, rec_len = 0, pt_len = 0;
	char p[300];

	ck_assert_int_eq(mkdir(keydir, 0700), 0);
	snprintf(p, sizeof(p), "%s/.poison_key", keydir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	for (size_t i = 0; i < sizeof(acra082_files) / sizeof(acra082_files[0]); i++) {
		const char *name = acra082_files[i].name;
		bool is_pub = strstr(name, ".pub") != NULL;
		FILE *f;

		ck_assert_int_eq(sodium_base642bin(buf, sizeof(buf), acra082_files[i].b64,
						   strlen(acra082_files[i].b64), NULL, &n, NULL,
						   sodium_base64_VARIANT_ORIGINAL),
				 0);
		ck_assert_uint_eq(n, is_pub ? 45 : 89);
		snprintf(p, sizeof(p), "%s/%s", keydir, name);
		f = fopen(p, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
		fclose(f);
		ck_assert_int_eq(chmod(p, is_pub ? 0644 : 0600), 0);
	}
	ck_assert_int_eq(keystore_master_key_parse(acra082_master_b64, &mk), ACRA_OK);
	ks = open_ks(0, mk);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const uint8_t *id = U(pairs[i].id != NULL ? pairs[i].id : "");
		size_t id_len = pairs[i].id != NULL ? strlen(pairs[i].id) : 0;

		ck_assert_msg(keystore_get(ks, pairs[i].kind, KEYSTORE_PRIVATE, id, id_len, &priv) ==
				      ACRA_OK,
			      "%s: %s", keystore_kind_name(pairs[i].kind), keystore_last_error());
		ck_assert_int_eq(keystore_get(ks, pairs[i].kind, KEYSTORE_PUBLIC, id, id_len, &pub),
				 ACRA_OK);
		ck_assert_int_eq(ec_priv_public(priv.priv[0], got), ACRA_OK);
		ck_assert_mem_eq(got, pub.pub_raw, EC_PUB_LEN);
		keystore_put(ks, &pub);
		if (pairs[i].kind == KEYSTORE_POISON) {
			ck_assert_int_eq(sodium_base642bin(rec, sizeof(rec), acra082_poison_record_b64,
							   strlen(acra082_poison_record_b64), "\n",
							   &rec_len, NULL,
							   sodium_base64_VARIANT_ORIGINAL),
					 0);
			ck_assert_int_eq(acrastruct_decrypt(priv.priv[0], NULL, 0, rec, rec_len, out,
							    sizeof(out), &pt_len),
					 ACRA_OK);
			ck_assert_uint_eq(pt_len, rec_len - ACRASTRUCT_OVERHEAD);
		}
		keystore_put(ks, &priv);
	}
	/* the context binds each file to its name: another id cannot open it */
	snprintf(p, sizeof(p), "%s/other-client_storage", keydir);
	ck_assert_int_eq(link(strcat(strcpy((char *)buf, keydir), "/test-client_storage"), p), 0);
	ck_assert_int_eq(keystore_get(ks, KEYSTORE_STORAGE, KEYSTORE_PRIVATE, U("other-client"), 12,
				      &priv),
			 ACRA_ECRYPTO);
	keystore_free(ks);
	secret_free(mk);
}
END_TEST

/* Writes go through a temporary file and rename: a symlink planted at a key's name is
 * replaced, never written through, and no temporary file is left behind. */
START_TEST(test_write_replaces_symlink)
{
	struct keystore *ks = open_ks(0, master);
	char target[300], link_path[300];
	struct keystore_storage st;
	char **names = NULL;
	size_t n = 0;
	struct stat sb;
	FILE *f;

	ck_assert_int_eq(mkdir(keydir, 0700), 0);
	snprintf(target, sizeof(target), "%s/target", tmpdir);
	f = fopen(target, "w");
	ck_assert_ptr_nonnull(f);
	fputs("untouched", f);
	fclose(f);
	snprintf(link_path, sizeof(link_path), "%s/client1_storage_sym", keydir);
	ck_assert_int_eq(symlink(target, link_path), 0);
	ck_assert_int_eq(keystore_generate(ks, KEYSTORE_STORAGE_SYM, U("client1"), 7, NULL),
			 ACRA_OK);
	ck_assert_int_eq(lstat(link_path, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(stat(target, &sb), 0);
	ck_assert_int_eq(sb.st_size, 9);
	keystore_fs_storage(&st);
	ck_assert_int_eq(st.ops->list(st.ctx, keydir, &names, &n), ACRA_OK);
	ck_assert_uint_eq(n, 1); /* client1_storage_sym only: no temporary file */
	ck_assert_str_eq(names[0], "client1_storage_sym");
	keystore_names_free(names, n);
	keystore_free(ks);
}
END_TEST

Suite *keystore_suite(void)
{
	Suite *s = suite_create("keystore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_id_rules);
	tcase_add_test(tc, test_file_names);
	tcase_add_test(tc, test_master_key_parse);
	tcase_add_test(tc, test_master_key_env);
	tcase_add_test(tc, test_master_key_generate);
	tcase_add_test(tc, test_layout_and_contexts);
	tcase_add_test(tc, test_get_roundtrip);
	tcase_add_test(tc, test_wrong_master_key);
	tcase_add_test(tc, test_permissions_refused);
	tcase_add_test(tc, test_v2_refused);
	tcase_add_test(tc, test_history);
	tcase_add_test(tc, test_cache_lru);
	tcase_add_test(tc, test_cache_off_and_unlimited);
	tcase_add_test(tc, test_cache_refcount);
	tcase_add_test(tc, test_cache_threads);
	tcase_add_test(tc, test_codec_provider_and_zones);
	tcase_add_test(tc, test_acra082_keystore);
	tcase_add_test(tc, test_write_replaces_symlink);
	suite_add_tcase(s, tc);
	return s;
}
