/* Single-use client-assertion IDs: a small table of migration 2 (storage_schema.c). Same
 * conventions as storage.h. */
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
