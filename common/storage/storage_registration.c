/* Registration tokens and registrations in progress (storage.h, "Registration"). */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Registration tokens */

#define TOKEN_COLS                                                                                           \
    "user_registration_token_id, token, usage_limit, times_used, created_at, last_used_at, expires_at,"      \
    " revoked_at"

STORAGE_STMT(token_insert, "INSERT INTO user_registration_tokens (" TOKEN_COLS
                           ") VALUES ($1, $2, $3, 0, $4, NULL, $5, NULL)");
STORAGE_STMT(token_by_text, "SELECT " TOKEN_COLS " FROM user_registration_tokens WHERE token = $1");
STORAGE_STMT(token_exists, "SELECT 1 FROM user_registration_tokens WHERE user_registration_token_id = $1");
/* The checks of storage_registration_token_valid, in the same statement as the count. */
STORAGE_STMT(token_use, "UPDATE user_registration_tokens SET times_used = times_used + 1, last_used_at = $2"
                        " WHERE user_registration_token_id = $1 AND revoked_at IS NULL"
                        " AND (expires_at IS NULL OR expires_at > $2)"
                        " AND (usage_limit IS NULL OR times_used < usage_limit)");

static int read_token(struct sq *q, void *out)
{
    struct storage_registration_token *t = out;
    sq_copy(q, 0, t->id, sizeof(t->id));
    sq_copy(q, 1, t->token, sizeof(t->token));
    t->usage_limit = sq_null(q, 2) ? -1 : sq_int(q, 2);
    t->times_used = sq_int(q, 3);
    t->created_at = sq_int(q, 4);
    t->last_used_at = sq_int(q, 5);
    t->expires_at = sq_int(q, 6);
    t->revoked_at = sq_int(q, 7);
    return 0;
}

int storage_registration_token_create(struct storage_tx *tx, const char *token, int64_t usage_limit,
                                      int64_t expires_at, int64_t now, struct storage_registration_token *out)
{
    int r = storage_check_text("registration token", token, STORAGE_REGISTRATION_TOKEN_MAX, false);
    if (r < 0)
        return r;
    struct storage_registration_token t = {
        .usage_limit = usage_limit < 0 ? -1 : usage_limit, .created_at = now, .expires_at = expires_at};
    storage_new_id(t.id);
    snprintf(t.token, sizeof(t.token), "%s", token);
    r = sq_exec(tx, &token_insert,
                SQ_ARGS(P_TEXT(t.id), P_TEXT(t.token),
                        t.usage_limit < 0 ? (struct sq_param){.type = SQ_NULL} : P_INT(t.usage_limit),
                        P_INT(now), P_TIME(expires_at)),
                NULL);
    if (r == -EEXIST)
        return storage_fail(-EEXIST, "a registration token with this text exists already");
    if (r >= 0 && out)
        *out = t;
    return r < 0 ? r : 0;
}

int storage_registration_token_find(struct storage_tx *tx, const char *token,
                                    struct storage_registration_token *out)
{
    *out = (struct storage_registration_token){0};
    return sq_one(tx, &token_by_text, SQ_ARGS(P_TEXT(token)), read_token, out);
}

bool storage_registration_token_valid(const struct storage_registration_token *t, int64_t now)
{
    return !t->revoked_at && (!t->expires_at || t->expires_at > now) &&
           (t->usage_limit < 0 || t->times_used < t->usage_limit);
}

int storage_registration_token_use(struct storage_tx *tx, const char *id, int64_t now)
{
    return storage_cas(tx, &token_use, SQ_ARGS(P_TEXT(id), P_INT(now)), &token_exists, id);
}

/* ---------------------------------------------------------------------------------------------
 * Registrations */

#define REG_COLS                                                                                             \
    "user_registration_id, ip_address, user_agent, post_auth_action, username, display_name, terms_url,"     \
    " email_authentication_id, hashed_password, hashed_password_version, created_at, completed_at,"          \
    " user_registration_token_id"

STORAGE_STMT(reg_insert, "INSERT INTO user_registrations (" REG_COLS ") VALUES ($1, $2, $3, $4, $5, NULL, $6,"
                         " NULL, $7, $8, $9, NULL, NULL)");
STORAGE_STMT(reg_by_id, "SELECT " REG_COLS " FROM user_registrations WHERE user_registration_id = $1");
STORAGE_STMT(reg_exists, "SELECT 1 FROM user_registrations WHERE user_registration_id = $1");
STORAGE_STMT(reg_set_token, "UPDATE user_registrations SET user_registration_token_id = $2"
                            " WHERE user_registration_id = $1 AND completed_at IS NULL");
STORAGE_STMT(reg_set_display_name, "UPDATE user_registrations SET display_name = $2"
                                   " WHERE user_registration_id = $1 AND completed_at IS NULL");
STORAGE_STMT(reg_set_email_auth, "UPDATE user_registrations SET email_authentication_id = $2"
                                 " WHERE user_registration_id = $1 AND completed_at IS NULL");
STORAGE_STMT(reg_complete, "UPDATE user_registrations SET completed_at = $2"
                           " WHERE user_registration_id = $1 AND completed_at IS NULL");

static int read_registration(struct sq *q, void *out)
{
    struct storage_registration *g = out;
    sq_copy(q, 0, g->id, sizeof(g->id));
    sq_copy(q, 1, g->ip_address, sizeof(g->ip_address));
    sq_copy(q, 2, g->user_agent, sizeof(g->user_agent));
    sq_copy(q, 3, g->post_auth_action, sizeof(g->post_auth_action));
    sq_copy(q, 4, g->username, sizeof(g->username));
    sq_copy(q, 5, g->display_name, sizeof(g->display_name));
    sq_copy(q, 6, g->terms_url, sizeof(g->terms_url));
    sq_copy(q, 7, g->email_authentication_id, sizeof(g->email_authentication_id));
    sq_copy(q, 8, g->hashed_password, sizeof(g->hashed_password));
    g->hashed_password_version = (unsigned)sq_int(q, 9);
    g->created_at = sq_int(q, 10);
    g->completed_at = sq_int(q, 11);
    sq_copy(q, 12, g->token_id, sizeof(g->token_id));
    return 0;
}

int storage_registration_create(struct storage_tx *tx, const struct storage_registration *in, int64_t now,
                                struct storage_registration *out)
{
    int r;
    if ((r = storage_check_text("username", in->username, STORAGE_USERNAME_MAX, false)) < 0 ||
        (r = storage_check_text("post-auth action", in->post_auth_action, sizeof(in->post_auth_action) - 1,
                                true)) < 0 ||
        (r = storage_check_text("terms URL", in->terms_url, STORAGE_URL_MAX, true)) < 0)
        return r;
    struct storage_registration g = *in;
    storage_new_id(g.id);
    storage_copy_cut(g.user_agent, sizeof(g.user_agent), in->user_agent);
    g.display_name[0] = g.email_authentication_id[0] = g.token_id[0] = '\0';
    g.created_at = now;
    g.completed_at = 0;
    r = sq_exec(
        tx, &reg_insert,
        SQ_ARGS(P_TEXT(g.id), P_OPT(g.ip_address), P_OPT(g.user_agent), P_OPT(g.post_auth_action),
                P_TEXT(g.username), P_OPT(g.terms_url), P_OPT(g.hashed_password),
                g.hashed_password[0] ? P_INT(g.hashed_password_version) : (struct sq_param){.type = SQ_NULL},
                P_INT(now)),
        NULL);
    if (r >= 0)
        *out = g;
    return r < 0 ? r : 0;
}

int storage_registration_get(struct storage_tx *tx, const char *id, struct storage_registration *out)
{
    *out = (struct storage_registration){0};
    return sq_one(tx, &reg_by_id, SQ_ARGS(P_TEXT(id)), read_registration, out);
}

int storage_registration_set_token(struct storage_tx *tx, const char *id, const char *token_id)
{
    return storage_cas(tx, &reg_set_token, SQ_ARGS(P_TEXT(id), P_OPT(token_id)), &reg_exists, id);
}

int storage_registration_set_display_name(struct storage_tx *tx, const char *id, const char *name)
{
    int r = storage_check_text("display name", name, STORAGE_DISPLAY_NAME_MAX, false);
    if (r < 0)
        return r;
    return storage_cas(tx, &reg_set_display_name, SQ_ARGS(P_TEXT(id), P_TEXT(name)), &reg_exists, id);
}

int storage_registration_set_email_authentication(struct storage_tx *tx, const char *id, const char *auth_id)
{
    return storage_cas(tx, &reg_set_email_auth, SQ_ARGS(P_TEXT(id), P_TEXT(auth_id)), &reg_exists, id);
}

int storage_registration_complete(struct storage_tx *tx, const char *id, int64_t now)
{
    return storage_cas(tx, &reg_complete, SQ_ARGS(P_TEXT(id), P_INT(now)), &reg_exists, id);
}

/* ---------------------------------------------------------------------------------------------
 * Terms accepted */

STORAGE_STMT(terms_insert, "INSERT INTO user_terms (user_terms_id, user_id, terms_url, created_at)"
                           " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, terms_url) DO NOTHING");

int storage_user_accept_terms(struct storage_tx *tx, const char *user_id, const char *terms_url, int64_t now)
{
    int r = storage_check_text("terms URL", terms_url, STORAGE_URL_MAX, false);
    if (r < 0)
        return r;
    char id[STORAGE_ID_SIZE];
    storage_new_id(id);
    return sq_exec(tx, &terms_insert, SQ_ARGS(P_TEXT(id), P_TEXT(user_id), P_TEXT(terms_url), P_INT(now)),
                   NULL);
}
