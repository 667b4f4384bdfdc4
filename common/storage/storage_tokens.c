/* What compat and OAuth tokens have in common (see storage_internal.h). */
#include "storage_internal.h"
#include <stdio.h>

int storage_access_token_insert(struct storage_tx *tx, struct storage_stmt *insert, const char *session_id,
                                const char *token, int64_t expires_at, int64_t now,
                                struct storage_access_token *out)
{
    struct storage_access_token t = {.created_at = now, .expires_at = expires_at};
    char hash[STORAGE_HASH_SIZE];
    storage_new_id(t.id);
    snprintf(t.session_id, sizeof(t.session_id), "%s", session_id);
    storage_token_hash(token, hash);
    int r = sq_exec(tx, insert,
                    SQ_ARGS(P_TEXT(t.id), P_TEXT(session_id), P_INT(now), P_TIME(expires_at), P_TEXT(hash)),
                    NULL);
    if (r >= 0 && out)
        *out = t;
    return r;
}

int storage_refresh_token_insert(struct storage_tx *tx, struct storage_stmt *insert, const char *session_id,
                                 const char *access_token_id, const char *token, int64_t now,
                                 struct storage_refresh_token *out)
{
    struct storage_refresh_token t = {.created_at = now};
    char hash[STORAGE_HASH_SIZE];
    storage_new_id(t.id);
    snprintf(t.session_id, sizeof(t.session_id), "%s", session_id);
    snprintf(t.access_token_id, sizeof(t.access_token_id), "%s", access_token_id ? access_token_id : "");
    storage_token_hash(token, hash);
    int r = sq_exec(
        tx, insert,
        SQ_ARGS(P_TEXT(t.id), P_TEXT(session_id), P_OPT(access_token_id), P_INT(now), P_TEXT(hash)), NULL);
    if (r >= 0 && out)
        *out = t;
    return r;
}

int storage_token_lookup(struct storage_tx *tx, struct storage_stmt *lookup, const char *token,
                         int (*read)(struct sq *q, void *out), void *out)
{
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(token, hash);
    return sq_one(tx, lookup, SQ_ARGS(P_TEXT(hash)), read, out);
}

int storage_update_by_id(struct storage_tx *tx, struct storage_stmt *update, struct storage_stmt *exists,
                         const char *id, int64_t now)
{
    int64_t changes = 0;
    int r = sq_exec(tx, update, SQ_ARGS(P_TEXT(id), P_INT(now)), &changes);
    return r < 0 ? r : storage_changed_or_missing(tx, changes, exists, id);
}
