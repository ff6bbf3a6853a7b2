/* lib/bytes.c: bounded write buffer. */
#include "lib/bytes.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

int wbuf_init_alloc(struct wbuf *w, size_t cap)
{
	wbuf_init(w, NULL, 0);
	w->p = malloc(cap ? cap : 1);
	if (w->p == NULL) {
		w->failed = true;
		return ACRA_ENOMEM;
	}
	w->cap = cap;
	w->owned = true;
	return ACRA_OK;
}

void wbuf_clear(struct wbuf *w)
{
	if (w->owned && w->p != NULL) {
		/* volatile-free wipe: owned buffers may hold plaintext */
		explicit_bzero(w->p, w->cap);
		free(w->p);
	}
	w->p = NULL;
	w->len = w->cap = 0;
	w->owned = false;
}

uint8_t *wbuf_reserve(struct wbuf *w, size_t n)
{
	uint8_t *at;

	if (w->failed || n > w->cap - w->len) {
		w->failed = true;
		return NULL;
	}
	at = w->p + w->len;
	w->len += n;
	return at;
}

void wbuf_put(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *at = wbuf_reserve(w, n);

	if (at != NULL && n > 0)
		memcpy(at, src, n);
}

void wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	wbuf_put(w, &v, 1);
}

void wbuf_put_be16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2];

	wr_be16(b, v);
	wbuf_put(w, b, 2);
}

void wbuf_put_be32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];

	wr_be32(b, v);
	wbuf_put(w, b, 4);
}

void wbuf_put_le32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];

	wr_le32(b, v);
	wbuf_put(w, b, 4);
}

void wbuf_put_le64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];

	wr_le64(b, v);
	wbuf_put(w, b, 8);
}
