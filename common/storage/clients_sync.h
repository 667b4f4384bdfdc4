/* Writing config.yaml's `clients` to the OAuth clients table: `masctl config sync` always,
 * masd-oauth at start only when the section changed since the last sync (compared by a digest
 * kept in the database), so a socket-activated cold start costs one read. */
#pragma once
#include "config.h"
#include "storage.h"
#include <stdbool.h>

struct secrets;

/* HMAC-SHA256, keyed with secrets.encryption, of the section as canonical JSON (a digest must
 * not let anyone test guesses of a client secret), as lowercase hex. */
int clients_digest(const struct config *cfg, char out[STORAGE_HASH_SIZE]);

struct clients_sync {
    bool prune;           /* delete static clients the section no longer has */
    bool dry_run;         /* count, change nothing */
    bool only_if_changed; /* skip when the stored digest matches */
    /* results */
    bool unchanged; /* skipped: the digest matched */
    unsigned written, pruned;
    char error[256];
};

/* One write transaction. Client secrets are sealed with secrets_seal(purpose "client-secret");
 * s may be NULL when no client has a secret. Returns 0 or a negative errno (error says what). */
int clients_sync_run(const struct config *cfg, struct storage *st, const struct secrets *s,
                     struct clients_sync *sync);
