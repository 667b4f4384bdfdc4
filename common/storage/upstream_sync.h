/* Writing config.yaml's upstream_oauth2.providers to the database (MAS: crates/cli/src/sync.rs):
 * `masctl config sync` always, the services at start only when the section changed since the last
 * sync (a digest in the database, as clients_sync.h). Each enabled provider is written in full
 * (ui_order = its index in the list); a provider the section no longer has, or has with
 * `enabled: false`, is kept but marked disabled (people cannot sign in with it; its links stay);
 * with prune, every disabled provider is deleted with its links and authorization sessions. */
#pragma once
#include "config.h"
#include "storage.h"
#include <stdbool.h>

struct secrets;

/* HMAC-SHA256 keyed with secrets.encryption of the section (secrets included) as canonical
 * JSON, lowercase hex. */
int upstream_digest(const struct config *cfg, char out[STORAGE_HASH_SIZE]);

struct upstream_sync {
    bool prune, dry_run, only_if_changed;
    /* results */
    bool unchanged;
    unsigned written, disabled, pruned;
    char error[256];
};

/* One write transaction. Client secrets and Sign in with Apple keys are sealed with
 * secrets_seal (purpose "upstream-client-secret"); s may be NULL when no provider has one. */
int upstream_sync_run(const struct config *cfg, struct storage *st, const struct secrets *s,
                      struct upstream_sync *sync);
