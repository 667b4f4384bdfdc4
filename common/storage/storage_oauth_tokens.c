/* OAuth 2.0 access and refresh tokens. */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ACCESS_COLS_P(p)                                                                                     \
    p "oauth2_access_token_id, " p "oauth2_session_id, " p "created_at, " p "expires_at, " p                 \
      "revoked_at, " p "first_used_at"
#define REFRESH_COLS_P(p)                                                                                    \
    p "oauth2_refresh_token_id, " p "oauth2_session_id, " p "oauth2_access_token_id, " p "created_at, " p    \
      "consumed_at, " p "revoked_at, " p "next_oauth2_refresh_token_id"
#define SESSION_COLS_S OAUTH_SESSION_COLS_P("s.")
#define SESSION_N_COLS 11

/* Tokens of client_credentials sessions have no user: LEFT JOIN. */
STORAGE_STMT(access_insert, "INSERT INTO oauth2_access_tokens (" ACCESS_COLS_P(
                                "") ", token_hash)"
                                    " VALUES ($1, $2, $3, $4, NULL, NULL, $5)");
STORAGE_STMT(access_lookup, "SELECT " ACCESS_COLS_P("t.") ", " SESSION_COLS_S ", " USER_COLS_P(
                                "u.") " FROM oauth2_access_tokens t"
                                      " JOIN oauth2_sessions s ON s.oauth2_session_id = t.oauth2_session_id"
                                      " LEFT JOIN users u ON u.user_id = s.user_id WHERE t.token_hash = $1");
STORAGE_STMT(access_exists, "SELECT 1 FROM oauth2_access_tokens WHERE oauth2_access_token_id = $1");
STORAGE_STMT(access_revoke, "UPDATE oauth2_access_tokens SET revoked_at = $2"
                            " WHERE oauth2_access_token_id = $1 AND revoked_at IS NULL");
STORAGE_STMT(access_used, "UPDATE oauth2_access_tokens SET first_used_at = $2"
                          " WHERE oauth2_access_token_id = $1 AND first_used_at IS NULL");
STORAGE_STMT(refresh_insert, "INSERT INTO oauth2_refresh_tokens (" REFRESH_COLS_P(
                                 "") ", token_hash)"
                                     " VALUES ($1, $2, $3, $4, NULL, NULL, NULL, $5)");
STORAGE_STMT(refresh_lookup, "SELECT " REFRESH_COLS_P("t.") ", " SESSION_COLS_S ", " USER_COLS_P(
                                 "u.") " FROM oauth2_refresh_tokens t"
                                       " JOIN oauth2_sessions s ON s.oauth2_session_id = t.oauth2_session_id"
                                       " LEFT JOIN users u ON u.user_id = s.user_id WHERE t.token_hash = $1");
STORAGE_STMT(refresh_exists, "SELECT 1 FROM oauth2_refresh_tokens WHERE oauth2_refresh_token_id = $1");
STORAGE_STMT(refresh_consume,
             "UPDATE oauth2_refresh_tokens SET consumed_at = $2, next_oauth2_refresh_token_id = $3"
             " WHERE oauth2_refresh_token_id = $1 AND consumed_at IS NULL");
STORAGE_STMT(refresh_revoke, "UPDATE oauth2_refresh_tokens SET revoked_at = $2"
                             " WHERE oauth2_refresh_token_id = $1 AND revoked_at IS NULL");
STORAGE_STMT(access_by_id,
             "SELECT " ACCESS_COLS_P("") " FROM oauth2_access_tokens WHERE oauth2_access_token_id = $1");
STORAGE_STMT(refresh_by_id,
             "SELECT " REFRESH_COLS_P("") " FROM oauth2_refresh_tokens WHERE oauth2_refresh_token_id = $1");
/* The lost-response rotation: the successor pointer moves from the one read to the new one, once
 * (two concurrent replays of the same token cannot both win). */
STORAGE_STMT(refresh_relink, "UPDATE oauth2_refresh_tokens SET next_oauth2_refresh_token_id = $3"
                             " WHERE oauth2_refresh_token_id = $1 AND next_oauth2_refresh_token_id = $2");

static int read_access_lookup(struct sq *q, void *out)
{
    struct storage_oauth_access_lookup *l = out;
    *l = (struct storage_oauth_access_lookup){0};
    storage_read_access_at(q, 0, &l->token, true);
    storage_read_oauth_session_at(q, 6, &l->session);
    l->has_user = !sq_null(q, 6 + SESSION_N_COLS);
    return l->has_user ? storage_read_user(q, 6 + SESSION_N_COLS, &l->user) : 0;
}

static int read_refresh_lookup(struct sq *q, void *out)
{
    struct storage_oauth_refresh_lookup *l = out;
    *l = (struct storage_oauth_refresh_lookup){0};
    storage_read_refresh_at(q, 0, &l->token);
    storage_read_oauth_session_at(q, 7, &l->session);
    l->has_user = !sq_null(q, 7 + SESSION_N_COLS);
    return l->has_user ? storage_read_user(q, 7 + SESSION_N_COLS, &l->user) : 0;
}

int storage_oauth_access_token_lookup(struct storage_tx *tx, const char *token,
                                      struct storage_oauth_access_lookup *out)
{
    return storage_token_lookup(tx, &access_lookup, token, read_access_lookup, out);
}

int storage_oauth_access_token_mark_used(struct storage_tx *tx, const char *id, int64_t now)
{
    return storage_update_by_id(tx, &access_used, &access_exists, id, now);
}

int storage_oauth_refresh_token_lookup(struct storage_tx *tx, const char *token,
                                       struct storage_oauth_refresh_lookup *out)
{
    return storage_token_lookup(tx, &refresh_lookup, token, read_refresh_lookup, out);
}

int storage_oauth_refresh_token_revoke(struct storage_tx *tx, const char *id, int64_t now)
{
    return storage_update_by_id(tx, &refresh_revoke, &refresh_exists, id, now);
}

static int read_access(struct sq *q, void *out)
{
    *(struct storage_access_token *)out = (struct storage_access_token){0};
    storage_read_access_at(q, 0, out, true);
    return 0;
}

static int read_refresh(struct sq *q, void *out)
{
    *(struct storage_refresh_token *)out = (struct storage_refresh_token){0};
    storage_read_refresh_at(q, 0, out);
    return 0;
}

int storage_oauth_access_token_get(struct storage_tx *tx, const char *id, struct storage_access_token *out)
{
    return sq_one(tx, &access_by_id, SQ_ARGS(P_TEXT(id)), read_access, out);
}

int storage_oauth_refresh_token_get(struct storage_tx *tx, const char *id, struct storage_refresh_token *out)
{
    return sq_one(tx, &refresh_by_id, SQ_ARGS(P_TEXT(id)), read_refresh, out);
}

int storage_oauth_refresh_token_relink(struct storage_tx *tx, const char *id, const char *expected_next_id,
                                       const char *next_id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &refresh_relink, SQ_ARGS(P_TEXT(id), P_TEXT(expected_next_id), P_TEXT(next_id)),
                    &changes);
    if (r < 0)
        return r;
    if (changes)
        return 0;
    r = storage_changed_or_missing(tx, 0, &refresh_exists, id);
    return r < 0 ? r : -EALREADY;
}

/* The statements of OAuth tokens behind storage_access_token_add() and its siblings
 * (storage_tokens.c). */
const struct storage_kind_stmts storage_oauth_token_stmts = {
    .access_insert = &access_insert,
    .access_revoke = &access_revoke,
    .access_exists = &access_exists,
    .refresh_insert = &refresh_insert,
    .refresh_consume = &refresh_consume,
    .refresh_exists = &refresh_exists,
};
