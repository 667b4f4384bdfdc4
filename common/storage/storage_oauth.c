/* OAuth 2.0: clients, authorization grants, sessions with their access and refresh tokens, and
 * device-code grants. */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Clients */

#define CLIENT_COLS                                                                                          \
    "oauth2_client_id, encrypted_client_secret, token_endpoint_auth_method, redirect_uris, grant_types,"     \
    " metadata, metadata_digest, is_static, created_at"

STORAGE_STMT(client_insert,
             "INSERT INTO oauth2_clients (" CLIENT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
STORAGE_STMT(client_by_id, "SELECT " CLIENT_COLS " FROM oauth2_clients WHERE oauth2_client_id = $1");
STORAGE_STMT(client_by_digest, "SELECT " CLIENT_COLS " FROM oauth2_clients WHERE metadata_digest = $1");

void storage_oauth_client_clear(struct storage_oauth_client *c)
{
    free(c->encrypted_secret);
    free(c->redirect_uris);
    free(c->grant_types);
    free(c->metadata);
    c->encrypted_secret = c->redirect_uris = c->grant_types = c->metadata = NULL;
}

static int dup_text(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : storage_fail(-ENOMEM, "out of memory");
}

static int read_client(struct sq *q, void *out)
{
    struct storage_oauth_client *c = out;
    *c = (struct storage_oauth_client){0};
    sq_copy(q, 0, c->id, sizeof(c->id));
    sq_copy(q, 2, c->token_endpoint_auth_method, sizeof(c->token_endpoint_auth_method));
    sq_copy(q, 6, c->metadata_digest, sizeof(c->metadata_digest));
    c->is_static = sq_int(q, 7) != 0;
    c->created_at = sq_int(q, 8);
    int r = dup_text(sq_text(q, 1), &c->encrypted_secret);
    if (r >= 0)
        r = dup_text(sq_text(q, 3), &c->redirect_uris);
    if (r >= 0)
        r = dup_text(sq_text(q, 4), &c->grant_types);
    if (r >= 0)
        r = dup_text(sq_text(q, 5), &c->metadata);
    if (r < 0)
        storage_oauth_client_clear(c);
    return r;
}

int storage_oauth_client_create(struct storage_tx *tx, const struct storage_oauth_client *in, int64_t now,
                                struct storage_oauth_client *out)
{
    char id[STORAGE_ID_SIZE];
    if (in->id[0])
        snprintf(id, sizeof(id), "%s", in->id);
    else
        storage_new_id(id);
    const char *redirect_uris = in->redirect_uris ? in->redirect_uris : "[]";
    const char *grant_types = in->grant_types ? in->grant_types : "[]";
    const char *metadata = in->metadata ? in->metadata : "{}";
    int r = storage_check_text("token_endpoint_auth_method", in->token_endpoint_auth_method, 31, false);
    if (r < 0)
        return r;
    r = sq_exec(tx, &client_insert,
                SQ_ARGS(P_TEXT(id), P_TEXT(in->encrypted_secret), P_TEXT(in->token_endpoint_auth_method),
                        P_TEXT(redirect_uris), P_TEXT(grant_types), P_TEXT(metadata),
                        P_OPT(in->metadata_digest), P_BOOL(in->is_static), P_INT(now)),
                NULL);
    if (r == -EEXIST)
        return storage_fail(-EEXIST, "an OAuth client with this ID or metadata exists already");
    if (r < 0 || !out)
        return r;
    if (out != in) {
        struct storage_oauth_client c = *in;
        c.encrypted_secret = c.redirect_uris = c.grant_types = c.metadata = NULL;
        if ((r = dup_text(in->encrypted_secret, &c.encrypted_secret)) < 0 ||
            (r = dup_text(redirect_uris, &c.redirect_uris)) < 0 ||
            (r = dup_text(grant_types, &c.grant_types)) < 0 || (r = dup_text(metadata, &c.metadata)) < 0) {
            storage_oauth_client_clear(&c);
            return r;
        }
        *out = c;
    }
    memcpy(out->id, id, sizeof(id));
    out->created_at = now;
    return 0;
}

int storage_oauth_client_get(struct storage_tx *tx, const char *id, struct storage_oauth_client *out)
{
    return sq_one(tx, &client_by_id, SQ_ARGS(P_TEXT(id)), read_client, out);
}

int storage_oauth_client_find_by_digest(struct storage_tx *tx, const char *digest,
                                        struct storage_oauth_client *out)
{
    return sq_one(tx, &client_by_digest, SQ_ARGS(P_TEXT(digest)), read_client, out);
}

/* ---------------------------------------------------------------------------------------------
 * Authorization grants */

#define GRANT_COLS                                                                                           \
    "oauth2_authorization_grant_id, oauth2_client_id, redirect_uri, scope, state, nonce, response_mode,"     \
    " response_type_id_token, code_challenge, code_challenge_method, login_hint, created_at, fulfilled_at,"  \
    " cancelled_at, exchanged_at, browser_session_id, oauth2_session_id, redirect_uri_given, "               \
    "response_type_code"
#define GRANT_SELECT "SELECT " GRANT_COLS " FROM oauth2_authorization_grants"

STORAGE_STMT(grant_insert, "INSERT INTO oauth2_authorization_grants (" GRANT_COLS ") VALUES ($1, $2, $3,"
                           " $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, NULL, NULL, NULL, $13, $14)");
STORAGE_STMT(grant_by_id, GRANT_SELECT " WHERE oauth2_authorization_grant_id = $1");
STORAGE_STMT(grant_by_code, GRANT_SELECT " WHERE code_hash = $1");
STORAGE_STMT(grant_exists,
             "SELECT 1 FROM oauth2_authorization_grants WHERE oauth2_authorization_grant_id = $1");
STORAGE_STMT(
    grant_fulfill,
    "UPDATE oauth2_authorization_grants SET fulfilled_at = $2, browser_session_id = $3, code_hash = $4"
    " WHERE oauth2_authorization_grant_id = $1 AND fulfilled_at IS NULL"
    " AND cancelled_at IS NULL");
STORAGE_STMT(grant_exchange,
             "UPDATE oauth2_authorization_grants SET exchanged_at = $2, oauth2_session_id = $3"
             " WHERE oauth2_authorization_grant_id = $1 AND exchanged_at IS NULL");

static int read_grant(struct sq *q, void *out)
{
    struct storage_authorization_grant *g = out;
    sq_copy(q, 0, g->id, sizeof(g->id));
    sq_copy(q, 1, g->client_id, sizeof(g->client_id));
    sq_copy(q, 2, g->redirect_uri, sizeof(g->redirect_uri));
    sq_copy(q, 3, g->scope, sizeof(g->scope));
    sq_copy(q, 4, g->state, sizeof(g->state));
    sq_copy(q, 5, g->nonce, sizeof(g->nonce));
    sq_copy(q, 6, g->response_mode, sizeof(g->response_mode));
    g->response_type_id_token = sq_int(q, 7) != 0;
    sq_copy(q, 8, g->code_challenge, sizeof(g->code_challenge));
    sq_copy(q, 9, g->code_challenge_method, sizeof(g->code_challenge_method));
    sq_copy(q, 10, g->login_hint, sizeof(g->login_hint));
    g->created_at = sq_int(q, 11);
    g->fulfilled_at = sq_int(q, 12);
    g->cancelled_at = sq_int(q, 13);
    g->exchanged_at = sq_int(q, 14);
    sq_copy(q, 15, g->browser_session_id, sizeof(g->browser_session_id));
    sq_copy(q, 16, g->session_id, sizeof(g->session_id));
    g->redirect_uri_given = sq_int(q, 17) != 0;
    g->response_type_code = sq_int(q, 18) != 0;
    return 0;
}

/* Values that must come back exactly as given are refused when too long, never cut. */
static int check_grant(const struct storage_authorization_grant *g)
{
    int r = storage_check_text("redirect_uri", g->redirect_uri, STORAGE_URI_MAX, false);
    if (r >= 0)
        r = storage_check_text("scope", g->scope, STORAGE_SCOPE_MAX, true);
    if (r >= 0)
        r = storage_check_text("state", g->state, STORAGE_SHORT_TEXT_MAX, true);
    if (r >= 0)
        r = storage_check_text("nonce", g->nonce, STORAGE_SHORT_TEXT_MAX, true);
    if (r >= 0)
        r = storage_check_text("response_mode", g->response_mode, sizeof(g->response_mode) - 1, false);
    if (r >= 0)
        r = storage_check_text("code_challenge", g->code_challenge, sizeof(g->code_challenge) - 1, true);
    if (r >= 0)
        r = storage_check_text("login_hint", g->login_hint, STORAGE_SHORT_TEXT_MAX, true);
    return r;
}

int storage_authorization_grant_create(struct storage_tx *tx, const struct storage_authorization_grant *in,
                                       int64_t now, struct storage_authorization_grant *out)
{
    int r = check_grant(in);
    if (r < 0)
        return r;
    struct storage_authorization_grant g = *in;
    storage_new_id(g.id);
    g.created_at = now;
    g.fulfilled_at = g.cancelled_at = g.exchanged_at = 0;
    g.browser_session_id[0] = g.session_id[0] = '\0';
    r = sq_exec(tx, &grant_insert,
                SQ_ARGS(P_TEXT(g.id), P_TEXT(g.client_id), P_TEXT(g.redirect_uri), P_TEXT(g.scope),
                        P_OPT(g.state), P_OPT(g.nonce), P_TEXT(g.response_mode),
                        P_BOOL(g.response_type_id_token), P_OPT(g.code_challenge),
                        P_OPT(g.code_challenge_method), P_OPT(g.login_hint), P_INT(now),
                        P_BOOL(g.redirect_uri_given), P_BOOL(g.response_type_code)),
                NULL);
    if (r >= 0 && out)
        *out = g;
    return r;
}

int storage_authorization_grant_get(struct storage_tx *tx, const char *id,
                                    struct storage_authorization_grant *out)
{
    return sq_one(tx, &grant_by_id, SQ_ARGS(P_TEXT(id)), read_grant, out);
}

int storage_authorization_grant_lookup_code(struct storage_tx *tx, const char *code,
                                            struct storage_authorization_grant *out)
{
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(code, hash);
    return sq_one(tx, &grant_by_code, SQ_ARGS(P_TEXT(hash)), read_grant, out);
}

int storage_authorization_grant_fulfill(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                        const char *code, int64_t now)
{
    char hash[STORAGE_HASH_SIZE];
    if (code)
        storage_token_hash(code, hash);
    return storage_cas(tx, &grant_fulfill,
                       SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(browser_session_id), P_TEXT(code ? hash : NULL)),
                       &grant_exists, id);
}

int storage_authorization_grant_exchange(struct storage_tx *tx, const char *id, const char *session_id,
                                         int64_t now)
{
    return storage_cas(tx, &grant_exchange, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(session_id)), &grant_exists,
                       id);
}

/* ---------------------------------------------------------------------------------------------
 * Sessions */

#define SESSION_COLS_P(p) OAUTH_SESSION_COLS_P(p)
#define SESSION_N_COLS    11

STORAGE_STMT(session_insert, "INSERT INTO oauth2_sessions (" SESSION_COLS_P(
                                 "") ")"
                                     " VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, NULL, NULL)");
STORAGE_STMT(session_by_id,
             "SELECT " SESSION_COLS_P("") " FROM oauth2_sessions WHERE oauth2_session_id = $1");
STORAGE_STMT(session_exists, "SELECT 1 FROM oauth2_sessions WHERE oauth2_session_id = $1");
STORAGE_STMT(
    session_finish,
    "UPDATE oauth2_sessions SET finished_at = $2 WHERE oauth2_session_id = $1 AND finished_at IS NULL");
STORAGE_STMT(session_release, "DELETE FROM session_devices WHERE oauth2_session_id = $1");
STORAGE_STMT(session_release_user,
             "DELETE FROM session_devices WHERE oauth2_session_id IN (SELECT oauth2_session_id"
             " FROM oauth2_sessions WHERE user_id = $1 AND finished_at IS NULL)");
STORAGE_STMT(session_finish_user,
             "UPDATE oauth2_sessions SET finished_at = $2 WHERE user_id = $1 AND finished_at IS NULL");
/* The session's own user: a device can only be claimed for a user session that is active. */
STORAGE_STMT(device_claim_oauth,
             "INSERT INTO session_devices (user_id, device_id, compat_session_id,"
             " oauth2_session_id, created_at) SELECT user_id, CAST($2 AS TEXT), NULL, oauth2_session_id,"
             " created_at FROM oauth2_sessions WHERE oauth2_session_id = $1"
             " AND user_id IS NOT NULL AND finished_at IS NULL");

void storage_read_oauth_session_at(struct sq *q, int c, struct storage_oauth_session *s)
{
    sq_copy(q, c, s->id, sizeof(s->id));
    sq_copy(q, c + 1, s->client_id, sizeof(s->client_id));
    sq_copy(q, c + 2, s->user_id, sizeof(s->user_id));
    sq_copy(q, c + 3, s->browser_session_id, sizeof(s->browser_session_id));
    sq_copy(q, c + 4, s->scope, sizeof(s->scope));
    s->created_at = sq_int(q, c + 5);
    s->finished_at = sq_int(q, c + 6);
    sq_copy(q, c + 7, s->human_name, sizeof(s->human_name));
    sq_copy(q, c + 8, s->user_agent, sizeof(s->user_agent));
    s->last_active_at = sq_int(q, c + 9);
    sq_copy(q, c + 10, s->last_active_ip, sizeof(s->last_active_ip));
}

static int read_session(struct sq *q, void *out)
{
    storage_read_oauth_session_at(q, 0, out);
    return 0;
}

int storage_oauth_session_create(struct storage_tx *tx, const char *client_id, const char *user_id,
                                 const char *browser_session_id, const char *scope, const char *user_agent,
                                 int64_t now, struct storage_oauth_session *out)
{
    int r = storage_check_text("scope", scope, STORAGE_SCOPE_MAX, true);
    if (r < 0)
        return r;
    struct storage_oauth_session s = {.created_at = now};
    storage_new_id(s.id);
    snprintf(s.client_id, sizeof(s.client_id), "%s", client_id);
    snprintf(s.user_id, sizeof(s.user_id), "%s", user_id ? user_id : "");
    snprintf(s.browser_session_id, sizeof(s.browser_session_id), "%s",
             browser_session_id ? browser_session_id : "");
    snprintf(s.scope, sizeof(s.scope), "%s", scope);
    storage_copy_cut(s.user_agent, sizeof(s.user_agent), user_agent);
    r = sq_exec(tx, &session_insert,
                SQ_ARGS(P_TEXT(s.id), P_TEXT(client_id), P_OPT(user_id), P_OPT(browser_session_id),
                        P_TEXT(scope), P_INT(now), P_OPT(s.user_agent)),
                NULL);
    if (r >= 0 && out)
        *out = s;
    return r;
}

int storage_oauth_session_add_device(struct storage_tx *tx, const char *session_id, const char *device_id)
{
    int r = storage_check_text("device ID", device_id, STORAGE_DEVICE_ID_MAX, false);
    if (r < 0)
        return r;
    int64_t changes = 0;
    r = sq_exec(tx, &device_claim_oauth, SQ_ARGS(P_TEXT(session_id), P_TEXT(device_id)), &changes);
    /* The transaction has failed already (PostgreSQL accepts nothing more), so the message
     * names the session rather than looking its user up. */
    if (r == -EEXIST)
        return storage_fail(-EEXIST, "device '%s' of the user of session %s is in use by an active session",
                            device_id, session_id);
    if (r < 0)
        return r;
    return changes ? 0 : storage_fail(-ENOENT, "no active user session %s", session_id);
}

int storage_oauth_session_get(struct storage_tx *tx, const char *id, struct storage_oauth_session *out)
{
    return sq_one(tx, &session_by_id, SQ_ARGS(P_TEXT(id)), read_session, out);
}

/* The statements of OAuth sessions behind storage_session_finish() (storage_tokens.c); their
 * tokens' are in storage_oauth_tokens.c. */
const struct storage_kind_stmts storage_oauth_session_stmts = {
    .session_finish = &session_finish,
    .session_release = &session_release,
    .session_exists = &session_exists,
    .session_release_user = &session_release_user,
    .session_finish_user = &session_finish_user,
};
