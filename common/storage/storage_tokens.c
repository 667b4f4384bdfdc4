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

/* ---------------------------------------------------------------------------------------------
 * Introspection's point read (storage_schema.c, migration 4) */

STORAGE_STMT(
    introspect_lookup,
    "SELECT kind, token_id, session_id, user_id, username, device_id, client_id, scope, is_synapse_admin,"
    " created_at, expires_at, revoked_at, consumed_at, first_used_at, session_finished_at,"
    " user_locked_at, user_deactivated_at FROM introspection_tokens WHERE token_hash = $1");

static int read_introspection(struct sq *q, void *out)
{
    struct storage_token_introspection *t = out;
    t->kind = (enum storage_token_kind)sq_int(q, 0);
    sq_copy(q, 1, t->token_id, sizeof(t->token_id));
    sq_copy(q, 2, t->session_id, sizeof(t->session_id));
    sq_copy(q, 3, t->user_id, sizeof(t->user_id));
    sq_copy(q, 4, t->username, sizeof(t->username));
    sq_copy(q, 5, t->device_id, sizeof(t->device_id));
    sq_copy(q, 6, t->client_id, sizeof(t->client_id));
    sq_copy(q, 7, t->scope, sizeof(t->scope));
    t->is_synapse_admin = sq_int(q, 8) != 0;
    t->created_at = sq_int(q, 9);
    t->expires_at = sq_int(q, 10);
    t->revoked_at = sq_int(q, 11);
    t->consumed_at = sq_int(q, 12);
    t->first_used_at = sq_int(q, 13);
    t->session_finished_at = sq_int(q, 14);
    t->user_locked_at = sq_int(q, 15);
    t->user_deactivated_at = sq_int(q, 16);
    return 0;
}

int storage_token_introspect(struct storage_tx *tx, const char *token,
                             struct storage_token_introspection *out)
{
    return storage_token_lookup(tx, &introspect_lookup, token, read_introspection, out);
}

/* ---- compat and OAuth alike (storage.h) ---- */

static const struct storage_kind_stmts *sessions_of(enum storage_session_kind kind)
{
    return kind == STORAGE_SESSION_OAUTH ? &storage_oauth_session_stmts : &storage_compat_stmts;
}

static const struct storage_kind_stmts *tokens_of(enum storage_session_kind kind)
{
    return kind == STORAGE_SESSION_OAUTH ? &storage_oauth_token_stmts : &storage_compat_stmts;
}

int storage_session_finish(struct storage_tx *tx, enum storage_session_kind kind, const char *id, int64_t now)
{
    const struct storage_kind_stmts *k = sessions_of(kind);
    int64_t changes = 0;
    int r = sq_exec(tx, k->session_finish, SQ_ARGS(P_TEXT(id), P_INT(now)), &changes);
    if (r >= 0 && changes)
        r = sq_exec(tx, k->session_release, SQ_ARGS(P_TEXT(id)), NULL);
    return r < 0 ? r : storage_changed_or_missing(tx, changes, k->session_exists, id);
}

int storage_sessions_finish_user(struct storage_tx *tx, enum storage_session_kind kind, const char *user_id,
                                 int64_t now, unsigned *n)
{
    const struct storage_kind_stmts *k = sessions_of(kind);
    int64_t changes = 0;
    int r = sq_exec(tx, k->session_release_user, SQ_ARGS(P_TEXT(user_id)), NULL);
    if (r >= 0)
        r = sq_exec(tx, k->session_finish_user, SQ_ARGS(P_TEXT(user_id), P_INT(now)), &changes);
    if (n)
        *n = r < 0 ? 0 : (unsigned)changes;
    return r;
}

int storage_access_token_add(struct storage_tx *tx, enum storage_session_kind kind, const char *session_id,
                             const char *token, int64_t expires_at, int64_t now,
                             struct storage_access_token *out)
{
    return storage_access_token_insert(tx, tokens_of(kind)->access_insert, session_id, token, expires_at, now,
                                       out);
}

int storage_access_token_revoke(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                int64_t now)
{
    return storage_update_by_id(tx, tokens_of(kind)->access_revoke, tokens_of(kind)->access_exists, id, now);
}

int storage_refresh_token_add(struct storage_tx *tx, enum storage_session_kind kind, const char *session_id,
                              const char *access_token_id, const char *token, int64_t now,
                              struct storage_refresh_token *out)
{
    return storage_refresh_token_insert(tx, tokens_of(kind)->refresh_insert, session_id, access_token_id,
                                        token, now, out);
}

int storage_refresh_token_consume(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                  const char *next_id, int64_t now)
{
    const struct storage_kind_stmts *k = tokens_of(kind);
    return storage_cas(tx, k->refresh_consume, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(next_id)),
                       k->refresh_exists, id);
}
