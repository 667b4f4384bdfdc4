/* The tables the configuration sync writes (clients_sync.h): static clients and the digest of
 * each synchronised section, of migration 2 (storage_schema.c). Same conventions as storage.h. */
#pragma once
#include "storage.h"

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
