/* lib/acrawriter.c: the application-side C API over the envelope code. */
#include "lib/acrawriter.h"

#include <sodium.h>

#include "lib/crypto/acrablock.h"
#include "lib/crypto/acrastruct.h"
#include "lib/crypto/ec.h"
#include "lib/crypto/envelope.h"
#include "lib/crypto/zone.h"
#include "lib/err.h"

_Static_assert(ACRAWRITER_ACRASTRUCT_OVERHEAD == ACRASTRUCT_OVERHEAD, "overhead");
_Static_assert(ACRAWRITER_ACRABLOCK_OVERHEAD == ACRABLOCK_OVERHEAD, "overhead");
_Static_assert(ACRAWRITER_CONTAINER_OVERHEAD == ENVELOPE_HDR_LEN, "overhead");
_Static_assert(ACRAWRITER_ZONE_ID_LEN == ZONE_ID_LEN, "zone id");

int acrawriter_init(void)
{
	return sodium_init() < 0 ? ACRA_ENOMEM : ACRA_OK;
}

static size_t with_container(size_t inner, int serialize)
{
	if (inner == 0)
		return 0;
	return serialize ? envelope_size(inner) : inner;
}

size_t acrawriter_acrastruct_size(size_t data_len, int serialize)
{
	return with_container(acrastruct_size(data_len), serialize);
}

size_t acrawriter_acrablock_size(size_t data_len, int serialize)
{
	return with_container(acrablock_size(data_len), serialize);
}

int acrawriter_create_acrastruct(const uint8_t *public_key, size_t public_key_len,
				 const uint8_t *zone_id, size_t zone_id_len, const uint8_t *data,
				 size_t data_len, int serialize, uint8_t *out, size_t out_cap,
				 size_t *out_len)
{
	struct ec_pub *pub = NULL;
	size_t hdr = serialize ? ENVELOPE_HDR_LEN : 0, need, got = 0;
	int rc;

	if (out_len == NULL)
		return ACRA_EINVAL;
	*out_len = 0;
	if (public_key == NULL || data == NULL || data_len == 0 || out == NULL)
		return ACRA_EINVAL;
	if (zone_id_len > 0 && (zone_id == NULL || !zone_id_is_valid(zone_id, zone_id_len)))
		return ACRA_EINVAL;
	need = acrawriter_acrastruct_size(data_len, serialize);
	if (need == 0 || out_cap < need)
		return ACRA_ERANGE;
	rc = ec_pub_load(&pub, public_key, public_key_len);
	if (rc < 0)
		return rc == ACRA_ENOMEM ? rc : ACRA_EINVAL;
	rc = acrastruct_encrypt(pub, zone_id_len ? zone_id : NULL, zone_id_len, data, data_len,
				out + hdr, out_cap - hdr, &got);
	ec_pub_free(pub);
	if (rc < 0)
		return rc;
	if (serialize)
		envelope_put_header(out, ENVELOPE_ACRASTRUCT, got);
	*out_len = got + hdr;
	return ACRA_OK;
}

int acrawriter_create_acrablock(const uint8_t *sym_key, size_t sym_key_len,
				const uint8_t *context, size_t context_len, const uint8_t *data,
				size_t data_len, int serialize, uint8_t *out, size_t out_cap,
				size_t *out_len)
{
	size_t hdr = serialize ? ENVELOPE_HDR_LEN : 0, need, got = 0;
	int rc;

	if (out_len == NULL)
		return ACRA_EINVAL;
	*out_len = 0;
	if (sym_key == NULL || sym_key_len != ACRAWRITER_SYM_KEY_LEN || data == NULL ||
	    data_len == 0 || out == NULL || (context_len > 0 && context == NULL))
		return ACRA_EINVAL;
	need = acrawriter_acrablock_size(data_len, serialize);
	if (need == 0 || out_cap < need)
		return ACRA_ERANGE;
	rc = acrablock_encrypt(sym_key, sym_key_len, context_len ? context : NULL, context_len,
			       data, data_len, out + hdr, out_cap - hdr, &got);
	if (rc < 0)
		return rc;
	if (serialize)
		envelope_put_header(out, ENVELOPE_ACRABLOCK, got);
	*out_len = got + hdr;
	return ACRA_OK;
}

const char *acrawriter_strerror(int rc)
{
	return acra_strerror(rc);
}
