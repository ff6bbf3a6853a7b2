/* lib/bytes.h: byte views, a bounded write buffer and explicit-endian integer helpers.
 * No I/O and no allocation except in wbuf_init_alloc; usable from proto/. */
#ifndef ACRA_LIB_BYTES_H
#define ACRA_LIB_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed view: never outlives the buffer it points into. */
struct bytes {
	const uint8_t *p;
	size_t len;
};

/* A write buffer over caller memory (or owned memory from wbuf_init_alloc).
 * Appends past cap set the sticky `failed` flag instead of writing. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
	bool owned; /* private: p came from malloc */
};

static inline void wbuf_init(struct wbuf *w, uint8_t *mem, size_t cap)
{
	w->p = mem;
	w->len = 0;
	w->cap = cap;
	w->failed = false;
	w->owned = false;
}

/* Owned buffer of cap bytes; returns 0 or ACRA_ENOMEM. Release with wbuf_clear(). */
int wbuf_init_alloc(struct wbuf *w, size_t cap);
/* Frees an owned buffer (wiping it first); a second call is a no-op. */
void wbuf_clear(struct wbuf *w);

void wbuf_put(struct wbuf *w, const void *src, size_t n);
void wbuf_put_u8(struct wbuf *w, uint8_t v);
void wbuf_put_be16(struct wbuf *w, uint16_t v);
void wbuf_put_be32(struct wbuf *w, uint32_t v);
void wbuf_put_le32(struct wbuf *w, uint32_t v);
void wbuf_put_le64(struct wbuf *w, uint64_t v);
/* Reserve n bytes and return a pointer to them, or NULL (and failed) if they do not fit. */
uint8_t *wbuf_reserve(struct wbuf *w, size_t n);

static inline uint16_t rd_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t rd_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t rd_le64(const uint8_t *p)
{
	return (uint64_t)rd_le32(p + 4) << 32 | rd_le32(p);
}

static inline void wr_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void wr_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void wr_le64(uint8_t *p, uint64_t v)
{
	wr_le32(p, (uint32_t)v);
	wr_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
