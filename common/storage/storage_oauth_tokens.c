/* OAuth 2.0 access and refresh tokens, and device-code grants. */
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

/* ---------------------------------------------------------------------------------------------
 * Device-code grants (RFC 8628) */

#define DEVICE_COLS                                                                                          \
    "oauth2_device_code_grant_id, oauth2_client_id, scope, user_code, created_at, expires_at, fulfilled_at," \
    " rejected_at, exchanged_at, browser_session_id, oauth2_session_id, ip_address, user_agent"

STORAGE_STMT(device_insert,
             "INSERT INTO oauth2_device_code_grants (" DEVICE_COLS ", device_code_hash) VALUES ($1,"
             " $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, NULL, $7, $8, $9)");
STORAGE_STMT(device_by_code,
             "SELECT " DEVICE_COLS " FROM oauth2_device_code_grants WHERE device_code_hash = $1");
STORAGE_STMT(device_by_user_code,
             "SELECT " DEVICE_COLS " FROM oauth2_device_code_grants WHERE user_code = $1");
STORAGE_STMT(device_exists, "SELECT 1 FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = $1");
STORAGE_STMT(device_fulfill,
             "UPDATE oauth2_device_code_grants SET fulfilled_at = $2, browser_session_id = $3"
             " WHERE oauth2_device_code_grant_id = $1 AND fulfilled_at IS NULL AND rejected_at IS NULL");
STORAGE_STMT(device_reject,
             "UPDATE oauth2_device_code_grants SET rejected_at = $2, browser_session_id = $3"
             " WHERE oauth2_device_code_grant_id = $1 AND fulfilled_at IS NULL AND rejected_at IS NULL");
STORAGE_STMT(device_exchange, "UPDATE oauth2_device_code_grants SET exchanged_at = $2, oauth2_session_id = $3"
                              " WHERE oauth2_device_code_grant_id = $1 AND exchanged_at IS NULL"
                              " AND fulfilled_at IS NOT NULL");

static int read_device(struct sq *q, void *out)
{
    struct storage_device_code_grant *g = out;
    sq_copy(q, 0, g->id, sizeof(g->id));
    sq_copy(q, 1, g->client_id, sizeof(g->client_id));
    sq_copy(q, 2, g->scope, sizeof(g->scope));
    sq_copy(q, 3, g->user_code, sizeof(g->user_code));
    g->created_at = sq_int(q, 4);
    g->expires_at = sq_int(q, 5);
    g->fulfilled_at = sq_int(q, 6);
    g->rejected_at = sq_int(q, 7);
    g->exchanged_at = sq_int(q, 8);
    sq_copy(q, 9, g->browser_session_id, sizeof(g->browser_session_id));
    sq_copy(q, 10, g->session_id, sizeof(g->session_id));
    sq_copy(q, 11, g->ip, sizeof(g->ip));
    sq_copy(q, 12, g->user_agent, sizeof(g->user_agent));
    return 0;
}

int storage_device_code_grant_create(struct storage_tx *tx, const char *client_id, const char *scope,
                                     const char *device_code, const char *user_code, int64_t expires_at,
                                     const char *ip, const char *user_agent, int64_t now,
                                     struct storage_device_code_grant *out)
{
    int r = storage_check_text("scope", scope, STORAGE_SCOPE_MAX, true);
    if (r >= 0)
        r = storage_check_text("user code", user_code, sizeof(out->user_code) - 1, false);
    if (r < 0)
        return r;
    struct storage_device_code_grant g = {.created_at = now, .expires_at = expires_at};
    char hash[STORAGE_HASH_SIZE];
    storage_new_id(g.id);
    snprintf(g.client_id, sizeof(g.client_id), "%s", client_id);
    snprintf(g.scope, sizeof(g.scope), "%s", scope);
    snprintf(g.user_code, sizeof(g.user_code), "%s", user_code);
    storage_copy_cut(g.ip, sizeof(g.ip), ip);
    storage_copy_cut(g.user_agent, sizeof(g.user_agent), user_agent);
    storage_token_hash(device_code, hash);
    r = sq_exec(tx, &device_insert,
                SQ_ARGS(P_TEXT(g.id), P_TEXT(client_id), P_TEXT(scope), P_TEXT(user_code), P_INT(now),
                        P_INT(expires_at), P_OPT(g.ip), P_OPT(g.user_agent), P_TEXT(hash)),
                NULL);
    if (r == -EEXIST)
        return storage_fail(-EEXIST, "the user code is in use: draw another");
    if (r >= 0 && out)
        *out = g;
    return r;
}

int storage_device_code_grant_lookup_device_code(struct storage_tx *tx, const char *device_code,
                                                 struct storage_device_code_grant *out)
{
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(device_code, hash);
    return sq_one(tx, &device_by_code, SQ_ARGS(P_TEXT(hash)), read_device, out);
}

int storage_device_code_grant_lookup_user_code(struct storage_tx *tx, const char *user_code,
                                               struct storage_device_code_grant *out)
{
    return sq_one(tx, &device_by_user_code, SQ_ARGS(P_TEXT(user_code)), read_device, out);
}

int storage_device_code_grant_fulfill(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                      int64_t now)
{
    return storage_cas(tx, &device_fulfill, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(browser_session_id)),
                       &device_exists, id);
}

int storage_device_code_grant_reject(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                     int64_t now)
{
    return storage_cas(tx, &device_reject, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(browser_session_id)),
                       &device_exists, id);
}

int storage_device_code_grant_exchange(struct storage_tx *tx, const char *id, const char *session_id,
                                       int64_t now)
{
    return storage_cas(tx, &device_exchange, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(session_id)),
                       &device_exists, id);
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
