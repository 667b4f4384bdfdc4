/* Single-use client-assertion IDs and the digest of the last `clients` sync: two small tables
 * of migration 2 (storage_schema.c). Same conventions as storage.h. */
#pragma once
#include "storage.h"

/* Records that the assertion `jti` of client_id was used; it stays used until expires_at (the
 * assertion's own expiry: afterwards the assertion is refused anyway, so the row may go).
 * 0 first use; -EALREADY when it was used already (in any process or host); -EINVAL for an
 * empty jti or an expires_at not after now. */
int storage_jti_use(struct storage_tx *tx, const char *client_id, const char *jti, int64_t expires_at,
                    int64_t now);
/* Deletes the jtis whose assertion expired (replay is refused by `exp` from then on): masd-worker's
 * clean-up. *n (may be NULL): how many. */
int storage_jti_purge(struct storage_tx *tx, int64_t now, unsigned *n);

/* The stored digest of a synchronised configuration part ("clients"); "" and 0 when never. */
int storage_config_digest_get(struct storage_tx *tx, const char *name, char digest[STORAGE_HASH_SIZE]);
int storage_config_digest_set(struct storage_tx *tx, const char *name, const char *digest, int64_t now);

/* Static clients (config.yaml `clients`), for the sync: insert or overwrite by ID (is_static
 * set, no metadata digest); the IDs of every static client (*ids malloc'd); delete one static
 * client (-ENOENT when there is none by that ID; -EIO naming the rows when sessions or grants
 * still refer to it). */
int storage_oauth_client_upsert_static(struct storage_tx *tx, const struct storage_oauth_client *in,
                                       int64_t now);
int storage_oauth_client_list_static(struct storage_tx *tx, char (**ids)[STORAGE_ID_SIZE], size_t *n);
int storage_oauth_client_delete_static(struct storage_tx *tx, const char *id);
