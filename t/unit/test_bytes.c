/* t/unit/test_bytes.c: write buffer and endian helpers. */
#include <string.h>

#include "lib/bytes.h"
#include "t/unit/suites.h"

START_TEST(test_wbuf_overflow_is_sticky)
{
	uint8_t mem[6];
	struct wbuf w;

	wbuf_init(&w, mem, sizeof(mem));
	wbuf_put_be32(&w, 0x01020304);
	ck_assert(!w.failed);
	wbuf_put_be32(&w, 0x05060708); /* does not fit */
	ck_assert(w.failed);
	wbuf_put_u8(&w, 9);            /* would fit, but the buffer already failed */
	ck_assert_uint_eq(w.len, 4);
	ck_assert_int_eq(memcmp(mem, "\x01\x02\x03\x04", 4), 0);
}
END_TEST

START_TEST(test_endian_round_trip)
{
	uint8_t b[8];

	wr_le64(b, 0x1122334455667788ULL);
	ck_assert_uint_eq(b[0], 0x88);
	ck_assert(rd_le64(b) == 0x1122334455667788ULL);
	wr_be32(b, 0xdeadbeef);
	ck_assert_uint_eq(b[0], 0xde);
	ck_assert_uint_eq(rd_be32(b), 0xdeadbeef);
	wr_be16(b, 0xabcd);
	ck_assert_uint_eq(rd_be16(b), 0xabcd);
	ck_assert_uint_eq(rd_le32((const uint8_t *)"\x01\x00\x00\x80"), 0x80000001u);
}
END_TEST

START_TEST(test_wbuf_alloc)
{
	struct wbuf w;

	ck_assert_int_eq(wbuf_init_alloc(&w, 3), 0);
	wbuf_put(&w, "abc", 3);
	ck_assert(!w.failed);
	ck_assert_int_eq(memcmp(w.p, "abc", 3), 0);
	wbuf_clear(&w);
	wbuf_clear(&w); /* second clear is a no-op */
	ck_assert_ptr_null(w.p);
}
END_TEST

Suite *bytes_suite(void)
{
	Suite *s = suite_create("bytes");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_wbuf_overflow_is_sticky);
	tcase_add_test(tc, test_endian_round_trip);
	tcase_add_test(tc, test_wbuf_alloc);
	suite_add_tcase(s, tc);
	return s;
}
