/* The tables the configuration sync writes (clients_sync.h): static clients and the digest of
 * each synchronised section, of migration 2 (storage_schema.c). Same conventions as storage.h. */
#pragma once
#include "storage.h"

/* The stored digest of a synchronised configuration part ("clients"); "" and 0 when never. */
int storage_config_digest_get(struct storage_tx *tx, const char *name, char digest[STORAGE_HASH_SIZE]);
int storage_config_digest_set(struct storage_tx *tx, const char *name, const char *digest, int64_t now);

/* The sync of one configuration section by its digest (clients_sync.h, upstream_sync.h). With
 * only_if_changed, a read transaction comes first, and nothing more when the stored digest is
 * `digest` (*unchanged). Otherwise one write transaction checks the digest again, runs
 * write(tx, arg), which must reset what it counts (a transaction may be run again), stores the
 * digest, and with dry_run is rolled back. On failure `error` holds write's message, else the
 * storage error. */
struct storage_section_sync {
    const char *section; /* "clients", "upstream_oauth2" */
    const char *digest;
    bool only_if_changed, dry_run;
    int (*write)(struct storage_tx *tx, void *arg);
    void *arg;
    bool *unchanged;
    char *error; /* its first byte is "" on success */
    size_t error_size;
};
int storage_section_sync(struct storage *st, const struct storage_section_sync *s);

/* Static clients (config.yaml `clients`), for the sync: insert or overwrite by ID (is_static
 * set, no metadata digest); the IDs of every static client (*ids malloc'd); delete one static
 * client (-ENOENT when there is none by that ID; -EIO naming the rows when sessions or grants
 * still refer to it). */
int storage_oauth_client_upsert_static(struct storage_tx *tx, const struct storage_oauth_client *in,
                                       int64_t now);
int storage_oauth_client_list_static(struct storage_tx *tx, char (**ids)[STORAGE_ID_SIZE], size_t *n);
int storage_oauth_client_delete_static(struct storage_tx *tx, const char *id);
