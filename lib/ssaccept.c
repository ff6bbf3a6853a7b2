/* lib/ssaccept.c: Secure Session transport keys from a keystore. */
#include "lib/ssaccept.h"

#include <stdlib.h>
#include <string.h>

#include "proto/ssession.h"

static int own_key(void *arg, const char *client_id, const struct ec_priv **key, void **handle)
{
	struct ssaccept_keys *k = arg;
	struct keystore_keys *kk = calloc(1, sizeof(*kk));
	int rc;

	*key = NULL;
	*handle = NULL;
	if (kk == NULL)
		return ACRA_ENOMEM;
	rc = keystore_get(k->ks, k->own_kind, KEYSTORE_PRIVATE, (const uint8_t *)client_id,
			  strlen(client_id), kk);
	if (rc != ACRA_OK || kk->n == 0) {
		free(kk);
		return rc != ACRA_OK ? rc : ACRA_ENOKEY;
	}
	*key = kk->priv[0];
	*handle = kk;
	return ACRA_OK;
}

static void release(void *arg, void *handle)
{
	struct ssaccept_keys *k = arg;
	struct keystore_keys *kk = handle;

	keystore_put(k->ks, kk);
	free(kk);
}

static int peer_key(void *arg, const uint8_t *id, size_t id_len, uint8_t *pub, size_t *pub_len)
{
	struct ssaccept_keys *k = arg;
	struct keystore_keys kk;
	int rc;

	if (k->peer_kind != KEYSTORE_CONNECTOR) {
		/* client role: the server's key for our own id, whatever id it presents */
		id = (const uint8_t *)k->client_id;
		id_len = strlen(k->client_id);
	}
	if (!keystore_id_is_valid(id, id_len))
		return ACRA_ENOKEY;
	rc = keystore_get(k->ks, k->peer_kind, KEYSTORE_PUBLIC, id, id_len, &kk);
	if (rc != ACRA_OK)
		return rc == ACRA_EINVAL ? ACRA_ENOKEY : rc;
	if (kk.pub_raw == NULL || EC_PUB_LEN > SSESSION_PUB_MAX) {
		keystore_put(k->ks, &kk);
		return ACRA_ENOKEY;
	}
	memcpy(pub, kk.pub_raw, EC_PUB_LEN);
	*pub_len = EC_PUB_LEN;
	keystore_put(k->ks, &kk);
	return ACRA_OK;
}

static void fill(struct ssaccept_keys *k, struct keystore *ks)
{
	k->ks = ks;
	k->ops.own_key = own_key;
	k->ops.release = release;
	k->ops.peer_key = peer_key;
	k->ops.arg = k;
}

void ssaccept_server_keys(struct ssaccept_keys *k, struct keystore *ks,
			  enum keystore_kind own_kind)
{
	memset(k, 0, sizeof(*k));
	fill(k, ks);
	k->own_kind = own_kind;
	k->peer_kind = KEYSTORE_CONNECTOR;
}

void ssaccept_client_keys(struct ssaccept_keys *k, struct keystore *ks, const char *client_id,
			  enum keystore_kind peer_kind)
{
	memset(k, 0, sizeof(*k));
	fill(k, ks);
	k->own_kind = KEYSTORE_CONNECTOR;
	k->peer_kind = peer_kind;
	k->client_id = client_id;
	k->ops.id = client_id;
}

int ssaccept_check(const struct ssaccept_keys *k)
{
	struct keystore_keys kk;
	const uint8_t *id = (const uint8_t *)k->client_id;
	size_t n = k->client_id != NULL ? strlen(k->client_id) : 0;
	int rc;

	rc = keystore_get(k->ks, k->own_kind, KEYSTORE_PRIVATE, id, n, &kk);
	if (rc != ACRA_OK)
		return rc;
	keystore_put(k->ks, &kk);
	rc = keystore_get(k->ks, k->peer_kind, KEYSTORE_PUBLIC, id, n, &kk);
	if (rc != ACRA_OK)
		return rc;
	keystore_put(k->ks, &kk);
	return ACRA_OK;
}
