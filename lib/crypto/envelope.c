/* lib/crypto/envelope.c: the %%% serialized container (spec/acra-formats.md §3.3). */
#include "lib/crypto/envelope.h"

#include <stdint.h>
#include <string.h>

#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"

size_t envelope_size(size_t inner_len)
{
	if (inner_len > SIZE_MAX - ENVELOPE_HDR_LEN)
		return 0;
	return inner_len + ENVELOPE_HDR_LEN;
}

bool envelope_has_tag(const uint8_t *buf, size_t len)
{
	return len >= ENVELOPE_TAG_LEN && buf[0] == ENVELOPE_TAG_BYTE &&
	       buf[1] == ENVELOPE_TAG_BYTE && buf[2] == ENVELOPE_TAG_BYTE;
}

void envelope_put_header(uint8_t hdr[ENVELOPE_HDR_LEN], enum envelope_id id, size_t inner_len)
{
	memset(hdr, ENVELOPE_TAG_BYTE, ENVELOPE_TAG_LEN);
	wr_le64(hdr + ENVELOPE_TAG_LEN, (uint64_t)inner_len + ENVELOPE_HDR_LEN);
	hdr[ENVELOPE_HDR_LEN - 1] = (uint8_t)id;
}

static bool id_known(unsigned id)
{
	return id == ENVELOPE_ACRABLOCK || id == ENVELOPE_ACRASTRUCT;
}

int envelope_wrap(enum envelope_id id, const uint8_t *inner, size_t inner_len, struct wbuf *out)
{
	uint8_t hdr[ENVELOPE_HDR_LEN];

	if (inner == NULL || inner_len == 0 || !id_known(id))
		return ACRA_EINVAL;
	if (envelope_size(inner_len) == 0)
		return ACRA_ERANGE;
	envelope_put_header(hdr, id, inner_len);
	wbuf_put(out, hdr, sizeof(hdr));
	wbuf_put(out, inner, inner_len);
	return out->failed ? ACRA_ERANGE : ACRA_OK;
}

int envelope_measure(const uint8_t *buf, size_t len, enum envelope_id *id, struct bytes *inner,
		     size_t *total_len)
{
	uint64_t total;
	size_t n, blk;

	*total_len = 0;
	inner->p = NULL;
	inner->len = 0;
	if (buf == NULL || len <= ENVELOPE_HDR_LEN || !envelope_has_tag(buf, len))
		return ACRA_EPROTO;
	if (!id_known(buf[ENVELOPE_HDR_LEN - 1]))
		return ACRA_EPROTO;
	total = rd_le64(buf + ENVELOPE_TAG_LEN);
	/* empty inner data is refused; total <= len without overflow */
	if (total <= ENVELOPE_HDR_LEN || total > (uint64_t)len)
		return ACRA_EPROTO;
	n = (size_t)total - ENVELOPE_HDR_LEN;
	if (buf[ENVELOPE_HDR_LEN - 1] == ENVELOPE_ACRASTRUCT) {
		if (acrastruct_check(buf + ENVELOPE_HDR_LEN, n) < 0)
			return ACRA_EPROTO;
		*id = ENVELOPE_ACRASTRUCT;
	} else {
		if (acrablock_measure(buf + ENVELOPE_HDR_LEN, n, &blk) < 0)
			return ACRA_EPROTO;
		n = blk;
		*id = ENVELOPE_ACRABLOCK;
	}
	inner->p = buf + ENVELOPE_HDR_LEN;
	inner->len = n;
	*total_len = (size_t)total;
	return ACRA_OK;
}
