/* t/unit/test_acrablock.c: AcraBlock (spec/acra-formats.md §3.1, §3.2) and the %%%
 * serialized container (§3.3). */
#include <string.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/envelope.h"
#include "t/unit/envelope_helpers.h"
#include "t/unit/suites.h"

static uint8_t kek[32], kek2[32];

static void setup(void)
{
	randombytes_buf(kek, sizeof(kek));
	randombytes_buf(kek2, sizeof(kek2));
}

static uint8_t *round_trip(const uint8_t *key, const uint8_t *pt, size_t n, const uint8_t *ctx,
			   size_t ctx_len, size_t *blk_len)
{
	size_t cap = acrablock_size(n), got = 0, pt_len = 0;
	uint8_t *blk = malloc(cap), *back = malloc(n);

	ck_assert_int_eq(acrablock_encrypt(key, 32, ctx, ctx_len, pt, n, blk, cap, &got), 0);
	ck_assert_uint_eq(got, n + 138);
	ck_assert_int_eq(acrablock_check(blk, got), 0);
	ck_assert_int_eq(acrablock_plain_len(blk, got, &pt_len), 0);
	ck_assert_uint_eq(pt_len, n);
	ck_assert_int_eq(acrablock_decrypt(key, 32, ctx, ctx_len, blk, got, back, n, &pt_len), 0);
	ck_assert_uint_eq(pt_len, n);
	ck_assert_int_eq(memcmp(back, pt, n), 0);
	free(back);
	*blk_len = got;
	return blk;
}

START_TEST(test_layout_known_bytes)
{
	const uint8_t pt[10] = "0123456789";
	/* spec §3.1 example header for a 10-byte plaintext, key id aside */
	static const uint8_t head[12] = { 0x22, 0x22, 0x22, 0x22, 0x90, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t ctx[] = "client-1";
	uint8_t h[SHA256_DIGEST_LENGTH], cat[40];
	size_t n;
	uint8_t *blk = round_trip(kek, pt, sizeof(pt), NULL, 0, &n);

	ck_assert_uint_eq(n, 148);
	ck_assert_int_eq(memcmp(blk, head, sizeof(head)), 0);
	ck_assert_uint_eq(blk[12], 0x00);
	SHA256(kek, 32, h);
	ck_assert_uint_eq(blk[13], h[0]);
	ck_assert_uint_eq(blk[14], h[1]);
	ck_assert_uint_eq(blk[15], 0x00);
	ck_assert_uint_eq(blk[16], 0x4c);
	ck_assert_uint_eq(blk[17], 0x00);
	ck_assert_uint_eq(rd_le32(blk + 18), 0x40010100); /* Secure Cell of the DEK */
	ck_assert_uint_eq(rd_le32(blk + 18 + 12), 32);
	ck_assert_uint_eq(rd_le32(blk + 94), 0x40010100); /* Secure Cell of the data */
	ck_assert_uint_eq(rd_le32(blk + 94 + 12), 10);
	free(blk);
	/* with a context the key id hashes key || context */
	blk = round_trip(kek, pt, sizeof(pt), ctx, 8, &n);
	memcpy(cat, kek, 32);
	memcpy(cat + 32, ctx, 8);
	SHA256(cat, 40, h);
	ck_assert_uint_eq(blk[13], h[0]);
	ck_assert_uint_eq(blk[14], h[1]);
	free(blk);
	ck_assert_uint_eq(acrablock_size(SIZE_MAX), 0);
}
END_TEST

START_TEST(test_round_trip_sizes)
{
	static const size_t sizes[] = { 1, 1024, 1 << 20 };
	static const uint8_t zone[] = "DDDDDDDDqMvNkZtHsPQwLaXc";

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *pt = test_random(sizes[i]);
		size_t n;

		free(round_trip(kek, pt, sizes[i], NULL, 0, &n));
		free(round_trip(kek, pt, sizes[i], zone, 24, &n));
		free(pt);
	}
	for (int i = 0; i < 30; i++) {
		size_t len = 1 + randombytes_uniform(5000);
		uint8_t *pt = test_random(len);
		size_t n;

		free(round_trip(kek, pt, len, NULL, 0, &n));
		free(pt);
	}
}
END_TEST

START_TEST(test_reject)
{
	const uint8_t pt[] = "symmetric data";
	static const uint8_t ctx[] = "ctx";
	uint8_t back[64], out[200];
	size_t n, m = 9;
	uint8_t *blk = round_trip(kek, pt, sizeof(pt), ctx, 3, &n);
	uint8_t *big = malloc(n + 5);

	ck_assert_int_eq(acrablock_encrypt(kek, 32, NULL, 0, pt, 0, out, sizeof(out), &m),
			 ACRA_EINVAL);
	ck_assert_int_eq(acrablock_encrypt(kek, 32, NULL, 0, pt, 10, out, 147, &m), ACRA_ERANGE);
	/* wrong key, wrong context, no context */
	ck_assert_int_eq(acrablock_decrypt(kek2, 32, ctx, 3, blk, n, back, sizeof(back), &m),
			 ACRA_ECRYPTO);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(acrablock_decrypt(kek, 32, (const uint8_t *)"cty", 3, blk, n, back,
					   sizeof(back), &m),
			 ACRA_ECRYPTO);
	ck_assert_int_eq(acrablock_decrypt(kek, 32, NULL, 0, blk, n, back, sizeof(back), &m),
			 ACRA_ECRYPTO);
	/* short, wrong tag, unknown backend types */
	ck_assert_int_eq(acrablock_measure(blk, 17, &m), ACRA_EPROTO);
	for (int i = 0; i < 4; i++) {
		blk[i] ^= 1;
		ck_assert_int_eq(acrablock_measure(blk, n, &m), ACRA_EPROTO);
		blk[i] ^= 1;
	}
	blk[12] = 1;
	ck_assert_int_eq(acrablock_measure(blk, n, &m), ACRA_EPROTO);
	blk[12] = 0;
	blk[15] = 2;
	ck_assert_int_eq(acrablock_measure(blk, n, &m), ACRA_EPROTO);
	blk[15] = 0;
	/* truncated: rest length larger than the buffer */
	ck_assert_int_eq(acrablock_measure(blk, n - 1, &m), ACRA_EPROTO);
	ck_assert_int_eq(acrablock_decrypt(kek, 32, ctx, 3, blk, n - 1, back, sizeof(back), &m),
			 ACRA_EPROTO);
	/* trailing bytes: a prefix for measure, not a whole block */
	memcpy(big, blk, n);
	memset(big + n, '"', 5);
	ck_assert_int_eq(acrablock_measure(big, n + 5, &m), 0);
	ck_assert_uint_eq(m, n);
	ck_assert_int_eq(acrablock_check(big, n + 5), ACRA_EPROTO);
	/* length field smaller than the block */
	wr_le64(big + 4, rd_le64(blk + 4) - 1);
	ck_assert_int_eq(acrablock_check(big, n), ACRA_EPROTO);
	ck_assert_int_eq(acrablock_measure(big, n, &m), 0);
	ck_assert_int_eq(acrablock_decrypt(kek, 32, ctx, 3, big, m, back, sizeof(back), &m),
			 ACRA_EPROTO);
	/* absurd lengths do not wrap */
	wr_le64(big + 4, UINT64_MAX);
	ck_assert_int_eq(acrablock_measure(big, n + 5, &m), ACRA_EPROTO);
	wr_le64(big + 4, UINT64_MAX - 3);
	ck_assert_int_eq(acrablock_measure(big, n + 5, &m), ACRA_EPROTO);
	/* encrypted-DEK length beyond the block */
	memcpy(big, blk, n);
	wr_le32(big + 16, 0xffff);
	big[18] = big[19] = 0;
	ck_assert_int_eq(acrablock_measure(big, n, &m), ACRA_EPROTO);
	/* an AcraStruct is never taken for an AcraBlock (§3.2) */
	memset(big, 0x22, 8);
	memcpy(big + 8, "UEC2", 4);
	ck_assert_int_eq(acrablock_measure(big, n, &m), ACRA_EPROTO);
	free(big);
	free(blk);
}
END_TEST

START_TEST(test_every_bit_flip)
{
	const uint8_t pt[] = "bit flips";
	uint8_t back[64];
	size_t n, m;
	uint8_t *blk = round_trip(kek, pt, sizeof(pt), NULL, 0, &n);

	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b++) {
			blk[i] ^= (uint8_t)(1u << b);
			ck_assert_int_ne(acrablock_decrypt(kek, 32, NULL, 0, blk, n, back,
							   sizeof(back), &m),
					 0);
			blk[i] ^= (uint8_t)(1u << b);
		}
	}
	free(blk);
}
END_TEST

START_TEST(test_container)
{
	const uint8_t pt[] = "wrapped";
	uint8_t mem[400];
	struct wbuf w;
	struct bytes inner;
	enum envelope_id id;
	size_t n, total;
	uint8_t *blk = round_trip(kek, pt, sizeof(pt), NULL, 0, &n);

	ck_assert_uint_eq(envelope_size(10), 22);
	wbuf_init(&w, mem, sizeof(mem));
	ck_assert_int_eq(envelope_wrap(ENVELOPE_ACRABLOCK, blk, n, &w), 0);
	ck_assert_uint_eq(w.len, n + 12);
	ck_assert_int_eq(memcmp(mem, "%%%", 3), 0);
	ck_assert(rd_le64(mem + 3) == n + 12);
	ck_assert_uint_eq(mem[11], 0xF0);
	ck_assert_int_eq(envelope_measure(mem, w.len, &id, &inner, &total), 0);
	ck_assert_int_eq(id, ENVELOPE_ACRABLOCK);
	ck_assert_ptr_eq(inner.p, mem + 12);
	ck_assert_uint_eq(inner.len, n);
	ck_assert_uint_eq(total, n + 12);
	/* trailing bytes after the container are not part of it */
	mem[w.len] = 'x';
	ck_assert_int_eq(envelope_measure(mem, w.len + 1, &id, &inner, &total), 0);
	ck_assert_uint_eq(total, n + 12);
	/* rejections: short, tag, unknown id, wrong id for the inner bytes, lengths */
	ck_assert_int_eq(envelope_measure(mem, 12, &id, &inner, &total), ACRA_EPROTO);
	mem[1] = '&';
	ck_assert_int_eq(envelope_measure(mem, w.len, &id, &inner, &total), ACRA_EPROTO);
	mem[1] = '%';
	mem[11] = 0xF2;
	ck_assert_int_eq(envelope_measure(mem, w.len, &id, &inner, &total), ACRA_EPROTO);
	mem[11] = 0xF1; /* says AcraStruct, holds an AcraBlock */
	ck_assert_int_eq(envelope_measure(mem, w.len, &id, &inner, &total), ACRA_EPROTO);
	mem[11] = 0xF0;
	ck_assert_int_eq(envelope_measure(mem, w.len - 1, &id, &inner, &total), ACRA_EPROTO);
	wr_le64(mem + 3, 12);
	ck_assert_int_eq(envelope_measure(mem, w.len, &id, &inner, &total), ACRA_EPROTO);
	wr_le64(mem + 3, UINT64_MAX);
	ck_assert_int_eq(envelope_measure(mem, w.len, &id, &inner, &total), ACRA_EPROTO);
	wbuf_init(&w, mem, sizeof(mem));
	ck_assert_int_eq(envelope_wrap(ENVELOPE_ACRABLOCK, blk, 0, &w), ACRA_EINVAL);
	wbuf_init(&w, mem, 20);
	ck_assert_int_eq(envelope_wrap(ENVELOPE_ACRABLOCK, blk, n, &w), ACRA_ERANGE);
	free(blk);
}
END_TEST

START_TEST(test_container_acrastruct)
{
	struct test_pair kp;
	const uint8_t pt[] = "struct in a container";
	uint8_t mem[400];
	size_t n, total;
	struct bytes inner;
	enum envelope_id id;

	test_pair_new(&kp);
	envelope_put_header(mem, ENVELOPE_ACRASTRUCT, acrastruct_size(sizeof(pt)));
	ck_assert_int_eq(acrastruct_encrypt(kp.pub, NULL, 0, pt, sizeof(pt), mem + 12,
					    sizeof(mem) - 12, &n),
			 0);
	ck_assert_uint_eq(mem[11], 0xF1);
	ck_assert_int_eq(envelope_measure(mem, n + 12, &id, &inner, &total), 0);
	ck_assert_int_eq(id, ENVELOPE_ACRASTRUCT);
	ck_assert_uint_eq(inner.len, n);
	ck_assert_uint_eq(total, n + 12 + 0);
	ck_assert_uint_eq(total - sizeof(pt), 201); /* spec §3.3: 201 bytes over the plaintext */
	/* an AcraStruct inside must be exact: one byte more in the container is refused */
	wr_le64(mem + 3, n + 13);
	mem[n + 12] = 0;
	ck_assert_int_eq(envelope_measure(mem, n + 13, &id, &inner, &total), ACRA_EPROTO);
	test_pair_free(&kp);
}
END_TEST

Suite *acrablock_suite(void)
{
	Suite *s = suite_create("acrablock");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_layout_known_bytes);
	tcase_add_test(tc, test_round_trip_sizes);
	tcase_add_test(tc, test_reject);
	tcase_add_test(tc, test_every_bit_flip);
	tcase_add_test(tc, test_container);
	tcase_add_test(tc, test_container_acrastruct);
	suite_add_tcase(s, tc);
	return s;
}
