/* lib/crypto/envelope.h: the serialized container ("crypto envelope", 0.90+) that wraps an
 * AcraStruct or AcraBlock (spec/acra-formats.md §3.3):
 *
 *   0   3  tag "%%%"
 *   3   8  LE64 total container length = 12 + inner length
 *   11  1  envelope id: 0xF0 AcraBlock, 0xF1 AcraStruct
 *   12  n  the AcraBlock or AcraStruct
 *
 * Pure: no keys here at all. */
#ifndef ACRA_LIB_CRYPTO_ENVELOPE_H
#define ACRA_LIB_CRYPTO_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

#define ENVELOPE_TAG_BYTE 0x25 /* '%' */
#define ENVELOPE_TAG_LEN 3
#define ENVELOPE_HDR_LEN 12

enum envelope_id {
	ENVELOPE_ACRABLOCK = 0xF0,
	ENVELOPE_ACRASTRUCT = 0xF1,
};

/* Size of a container around an inner_len-byte envelope, or 0 on overflow. */
size_t envelope_size(size_t inner_len);

/* True if buf starts with "%%%" (len >= 3). */
bool envelope_has_tag(const uint8_t *buf, size_t len);

/* Write the 12-byte header for an inner envelope of inner_len bytes (>= 1) into hdr. */
void envelope_put_header(uint8_t hdr[ENVELOPE_HDR_LEN], enum envelope_id id, size_t inner_len);

/* Wrap inner (borrowed, inner_len >= 1) into out (caller's buffer; sets out->failed if it
 * does not fit). Returns 0, ACRA_EINVAL (empty inner or unknown id) or ACRA_ERANGE. */
int envelope_wrap(enum envelope_id id, const uint8_t *inner, size_t inner_len,
		  struct wbuf *out) ACRA_MUSTCHECK;

/* Recognise a container at the start of buf (validateSerializedContainer): len > 12, tag,
 * known id, 12 < total length <= len (overflow-safe), and the inner bytes are a valid
 * envelope of that type: exactly one AcraStruct (acrastruct_check) or an AcraBlock
 * (acrablock_measure; the block is the measured prefix of the inner bytes).
 * On success *id, *inner (a view into buf: the AcraStruct/AcraBlock itself) and *total_len
 * (container bytes used from buf). Returns 0 or ACRA_EPROTO. */
int envelope_measure(const uint8_t *buf, size_t len, enum envelope_id *id, struct bytes *inner,
		     size_t *total_len) ACRA_MUSTCHECK;

#endif
