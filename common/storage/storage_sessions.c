/* Compat (Matrix C-S API) sessions, their tokens and SSO logins; the device table shared with
 * OAuth sessions; session activity. */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define COMPAT_COLS_P(p)                                                                                     \
    p "compat_session_id, " p "user_id, " p "device_id, " p "browser_session_id, " p "created_at, " p        \
      "finished_at, " p "is_synapse_admin, " p "human_name, " p "user_agent, " p "last_active_at, " p        \
      "last_active_ip"
#define COMPAT_N_COLS 11

static void read_compat_at(struct sq *q, int c, struct storage_compat_session *s)
{
    sq_copy(q, c, s->id, sizeof(s->id));
    sq_copy(q, c + 1, s->user_id, sizeof(s->user_id));
    sq_copy(q, c + 2, s->device_id, sizeof(s->device_id));
    sq_copy(q, c + 3, s->browser_session_id, sizeof(s->browser_session_id));
    s->created_at = sq_int(q, c + 4);
    s->finished_at = sq_int(q, c + 5);
    s->is_synapse_admin = sq_int(q, c + 6) != 0;
    sq_copy(q, c + 7, s->human_name, sizeof(s->human_name));
    sq_copy(q, c + 8, s->user_agent, sizeof(s->user_agent));
    s->last_active_at = sq_int(q, c + 9);
    sq_copy(q, c + 10, s->last_active_ip, sizeof(s->last_active_ip));
}

static int read_compat(struct sq *q, void *out)
{
    read_compat_at(q, 0, out);
    return 0;
}

STORAGE_STMT(compat_insert, "INSERT INTO compat_sessions (" COMPAT_COLS_P(
                                "") ")"
                                    " VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, NULL, NULL)");
STORAGE_STMT(compat_by_id, "SELECT " COMPAT_COLS_P("") " FROM compat_sessions WHERE compat_session_id = $1");
STORAGE_STMT(compat_exists, "SELECT 1 FROM compat_sessions WHERE compat_session_id = $1");
STORAGE_STMT(
    compat_finish,
    "UPDATE compat_sessions SET finished_at = $2 WHERE compat_session_id = $1 AND finished_at IS NULL");
STORAGE_STMT(compat_release, "DELETE FROM session_devices WHERE compat_session_id = $1");
STORAGE_STMT(compat_release_user,
             "DELETE FROM session_devices WHERE compat_session_id IN (SELECT compat_session_id"
             " FROM compat_sessions WHERE user_id = $1 AND finished_at IS NULL)");
STORAGE_STMT(compat_finish_user,
             "UPDATE compat_sessions SET finished_at = $2 WHERE user_id = $1 AND finished_at IS NULL");
STORAGE_STMT(device_claim_compat, "INSERT INTO session_devices (user_id, device_id, compat_session_id,"
                                  " oauth2_session_id, created_at) VALUES ($1, $2, $3, NULL, $4)");
STORAGE_STMT(device_holder, "SELECT compat_session_id, oauth2_session_id FROM session_devices"
                            " WHERE user_id = $1 AND device_id = $2");

int storage_device_taken(const char *user_id, const char *device_id)
{
    return storage_fail(-EEXIST, "device '%s' of user %s is in use by an active session", device_id, user_id);
}

int storage_compat_session_create(struct storage_tx *tx, const char *user_id, const char *device_id,
                                  bool is_synapse_admin, const char *browser_session_id,
                                  const char *human_name, const char *user_agent, int64_t now,
                                  struct storage_compat_session *out)
{
    if (!device_id)
        device_id = "";
    int r = storage_check_text("device ID", device_id, STORAGE_DEVICE_ID_MAX, true);
    if (r < 0)
        return r;
    struct storage_compat_session s = {.created_at = now, .is_synapse_admin = is_synapse_admin};
    storage_new_id(s.id);
    snprintf(s.user_id, sizeof(s.user_id), "%s", user_id);
    snprintf(s.device_id, sizeof(s.device_id), "%s", device_id);
    snprintf(s.browser_session_id, sizeof(s.browser_session_id), "%s",
             browser_session_id ? browser_session_id : "");
    storage_copy_cut(s.human_name, sizeof(s.human_name), human_name);
    storage_copy_cut(s.user_agent, sizeof(s.user_agent), user_agent);
    r = sq_exec(tx, &compat_insert,
                SQ_ARGS(P_TEXT(s.id), P_TEXT(user_id), P_OPT(device_id), P_OPT(browser_session_id),
                        P_INT(now), P_BOOL(is_synapse_admin), P_OPT(s.human_name), P_OPT(s.user_agent)),
                NULL);
    if (r >= 0 && *device_id)
        r = sq_exec(tx, &device_claim_compat,
                    SQ_ARGS(P_TEXT(user_id), P_TEXT(device_id), P_TEXT(s.id), P_INT(now)), NULL);
    if (r == -EEXIST)
        return storage_device_taken(user_id, device_id);
    if (r < 0)
        return r;
    if (out)
        *out = s;
    return 0;
}

int storage_compat_session_get(struct storage_tx *tx, const char *id, struct storage_compat_session *out)
{
    return sq_one(tx, &compat_by_id, SQ_ARGS(P_TEXT(id)), read_compat, out);
}

int storage_device_finish_sessions(struct storage_tx *tx, const char *user_id, const char *device_id,
                                   int64_t now)
{
    struct sq q;
    char compat[STORAGE_ID_SIZE], oauth[STORAGE_ID_SIZE];
    int r = sq_run(tx, &device_holder, SQ_ARGS(P_TEXT(user_id), P_TEXT(device_id)), &q);
    if (r >= 0 && (r = sq_next(&q)) > 0) {
        sq_copy(&q, 0, compat, sizeof(compat));
        sq_copy(&q, 1, oauth, sizeof(oauth));
    }
    sq_done(&q);
    if (r <= 0)
        return r;
    r = compat[0] ? storage_session_finish(tx, STORAGE_SESSION_COMPAT, compat, now)
                  : storage_session_finish(tx, STORAGE_SESSION_OAUTH, oauth, now);
    return r < 0 ? r : 1;
}

/* ---------------------------------------------------------------------------------------------
 * Compat access and refresh tokens */

#define ACCESS_COLS_P(p)                                                                                     \
    p "compat_access_token_id, " p "compat_session_id, " p "created_at, " p "expires_at, " p "revoked_at"
#define REFRESH_COLS_P(p)                                                                                    \
    p "compat_refresh_token_id, " p "compat_session_id, " p "compat_access_token_id, " p "created_at, " p    \
      "consumed_at, " p "revoked_at, " p "next_compat_refresh_token_id"

STORAGE_STMT(access_insert,
             "INSERT INTO compat_access_tokens (" ACCESS_COLS_P("") ", token_hash)"
                                                                    " VALUES ($1, $2, $3, $4, NULL, $5)");
STORAGE_STMT(access_lookup, "SELECT " ACCESS_COLS_P("t.") ", " COMPAT_COLS_P("s.") ", " USER_COLS_P(
                                "u.") " FROM compat_access_tokens t"
                                      " JOIN compat_sessions s ON s.compat_session_id = t.compat_session_id"
                                      " JOIN users u ON u.user_id = s.user_id WHERE t.token_hash = $1");
STORAGE_STMT(access_exists, "SELECT 1 FROM compat_access_tokens WHERE compat_access_token_id = $1");
STORAGE_STMT(access_revoke, "UPDATE compat_access_tokens SET revoked_at = $2"
                            " WHERE compat_access_token_id = $1 AND revoked_at IS NULL");
STORAGE_STMT(access_expire, "UPDATE compat_access_tokens SET expires_at = $2"
                            " WHERE compat_access_token_id = $1 AND (expires_at IS NULL OR expires_at > $2)");
STORAGE_STMT(refresh_insert, "INSERT INTO compat_refresh_tokens (" REFRESH_COLS_P(
                                 "") ", token_hash)"
                                     " VALUES ($1, $2, $3, $4, NULL, NULL, NULL, $5)");
STORAGE_STMT(refresh_lookup, "SELECT " REFRESH_COLS_P("t.") ", " COMPAT_COLS_P("s.") ", " USER_COLS_P(
                                 "u.") " FROM compat_refresh_tokens t"
                                       " JOIN compat_sessions s ON s.compat_session_id = t.compat_session_id"
                                       " JOIN users u ON u.user_id = s.user_id WHERE t.token_hash = $1");
STORAGE_STMT(refresh_exists, "SELECT 1 FROM compat_refresh_tokens WHERE compat_refresh_token_id = $1");
STORAGE_STMT(refresh_consume,
             "UPDATE compat_refresh_tokens SET consumed_at = $2, next_compat_refresh_token_id = $3"
             " WHERE compat_refresh_token_id = $1 AND consumed_at IS NULL");

void storage_read_access_at(struct sq *q, int c, struct storage_access_token *t, bool first_used)
{
    sq_copy(q, c, t->id, sizeof(t->id));
    sq_copy(q, c + 1, t->session_id, sizeof(t->session_id));
    t->created_at = sq_int(q, c + 2);
    t->expires_at = sq_int(q, c + 3);
    t->revoked_at = sq_int(q, c + 4);
    t->first_used_at = first_used ? sq_int(q, c + 5) : 0;
}

void storage_read_refresh_at(struct sq *q, int c, struct storage_refresh_token *t)
{
    sq_copy(q, c, t->id, sizeof(t->id));
    sq_copy(q, c + 1, t->session_id, sizeof(t->session_id));
    sq_copy(q, c + 2, t->access_token_id, sizeof(t->access_token_id));
    t->created_at = sq_int(q, c + 3);
    t->consumed_at = sq_int(q, c + 4);
    t->revoked_at = sq_int(q, c + 5);
    sq_copy(q, c + 6, t->next_id, sizeof(t->next_id));
}

static int read_access_lookup(struct sq *q, void *out)
{
    struct storage_compat_access_lookup *l = out;
    storage_read_access_at(q, 0, &l->token, false);
    read_compat_at(q, 5, &l->session);
    return storage_read_user(q, 5 + COMPAT_N_COLS, &l->user);
}

static int read_refresh_lookup(struct sq *q, void *out)
{
    struct storage_compat_refresh_lookup *l = out;
    storage_read_refresh_at(q, 0, &l->token);
    read_compat_at(q, 7, &l->session);
    return storage_read_user(q, 7 + COMPAT_N_COLS, &l->user);
}

int storage_compat_access_token_lookup(struct storage_tx *tx, const char *token,
                                       struct storage_compat_access_lookup *out)
{
    return storage_token_lookup(tx, &access_lookup, token, read_access_lookup, out);
}

int storage_compat_access_token_expire(struct storage_tx *tx, const char *id, int64_t now)
{
    return storage_update_by_id(tx, &access_expire, &access_exists, id, now);
}

int storage_compat_refresh_token_lookup(struct storage_tx *tx, const char *token,
                                        struct storage_compat_refresh_lookup *out)
{
    return storage_token_lookup(tx, &refresh_lookup, token, read_refresh_lookup, out);
}

/* ---------------------------------------------------------------------------------------------
 * Compat SSO logins */

#define SSO_COLS                                                                                             \
    "compat_sso_login_id, redirect_uri, created_at, fulfilled_at, exchanged_at, browser_session_id,"         \
    " compat_session_id"

STORAGE_STMT(sso_insert, "INSERT INTO compat_sso_logins (" SSO_COLS ", login_token_hash)"
                         " VALUES ($1, $2, $3, NULL, NULL, NULL, NULL, $4)");
STORAGE_STMT(sso_by_id, "SELECT " SSO_COLS " FROM compat_sso_logins WHERE compat_sso_login_id = $1");
STORAGE_STMT(sso_by_token, "SELECT " SSO_COLS " FROM compat_sso_logins WHERE login_token_hash = $1");
STORAGE_STMT(sso_exists, "SELECT 1 FROM compat_sso_logins WHERE compat_sso_login_id = $1");
STORAGE_STMT(sso_fulfill, "UPDATE compat_sso_logins SET fulfilled_at = $2, browser_session_id = $3,"
                          " login_token_hash = $4 WHERE compat_sso_login_id = $1 AND fulfilled_at IS NULL"
                          " AND exchanged_at IS NULL AND created_at >= $5");
/* a pending login's fulfilled_at is NULL, which is never >= $4 */
STORAGE_STMT(sso_exchange, "UPDATE compat_sso_logins SET exchanged_at = $2, compat_session_id = $3"
                           " WHERE compat_sso_login_id = $1 AND exchanged_at IS NULL AND fulfilled_at >= $4");

static int read_sso(struct sq *q, void *out)
{
    struct storage_compat_sso_login *l = out;
    sq_copy(q, 0, l->id, sizeof(l->id));
    sq_copy(q, 1, l->redirect_uri, sizeof(l->redirect_uri));
    l->created_at = sq_int(q, 2);
    l->fulfilled_at = sq_int(q, 3);
    l->exchanged_at = sq_int(q, 4);
    sq_copy(q, 5, l->browser_session_id, sizeof(l->browser_session_id));
    sq_copy(q, 6, l->compat_session_id, sizeof(l->compat_session_id));
    return 0;
}

int storage_compat_sso_login_create(struct storage_tx *tx, const char *redirect_uri, int64_t now,
                                    struct storage_compat_sso_login *out)
{
    int r = storage_check_text("redirect URI", redirect_uri, STORAGE_URI_MAX, false);
    if (r < 0)
        return r;
    struct storage_compat_sso_login l = {.created_at = now};
    char placeholder[sizeof("pending:") + STORAGE_ID_SIZE];
    storage_new_id(l.id);
    snprintf(l.redirect_uri, sizeof(l.redirect_uri), "%s", redirect_uri);
    snprintf(placeholder, sizeof(placeholder), "pending:%s", l.id);
    r = sq_exec(tx, &sso_insert, SQ_ARGS(P_TEXT(l.id), P_TEXT(redirect_uri), P_INT(now), P_TEXT(placeholder)),
                NULL);
    if (r >= 0 && out)
        *out = l;
    return r;
}

int storage_compat_sso_login_get(struct storage_tx *tx, const char *id, struct storage_compat_sso_login *out)
{
    return sq_one(tx, &sso_by_id, SQ_ARGS(P_TEXT(id)), read_sso, out);
}

int storage_compat_sso_login_lookup(struct storage_tx *tx, const char *login_token,
                                    struct storage_compat_sso_login *out)
{
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(login_token, hash);
    return sq_one(tx, &sso_by_token, SQ_ARGS(P_TEXT(hash)), read_sso, out);
}

int storage_compat_sso_login_fulfill(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                     const char *login_token, int64_t now)
{
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(login_token, hash);
    return storage_cas(tx, &sso_fulfill,
                       SQ_ARGS(P_TEXT(id), P_INT(now), P_TEXT(browser_session_id), P_TEXT(hash),
                               P_INT(now - STORAGE_COMPAT_SSO_LOGIN_TTL_MS)),
                       &sso_exists, id);
}

int storage_compat_sso_login_exchange(struct storage_tx *tx, const char *id, const char *compat_session_id,
                                      int64_t now)
{
    return storage_cas(tx, &sso_exchange,
                       SQ_ARGS(P_TEXT(id), P_INT(now), P_TEXT(compat_session_id),
                               P_INT(now - STORAGE_COMPAT_SSO_TOKEN_TTL_MS)),
                       &sso_exists, id);
}

STORAGE_STMT(sso_purge, "DELETE FROM compat_sso_logins WHERE exchanged_at IS NULL AND created_at < $1");

int storage_compat_sso_login_purge(struct storage_tx *tx, int64_t before, unsigned *n)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &sso_purge, SQ_ARGS(P_INT(before)), &changes);
    if (n)
        *n = r < 0 ? 0 : (unsigned)changes;
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Session activity, and ending everything of a user */

STORAGE_STMT(activity_compat, "UPDATE compat_sessions SET last_active_at = $2,"
                              " last_active_ip = COALESCE($3, last_active_ip) WHERE compat_session_id = $1"
                              " AND (last_active_at IS NULL OR last_active_at < $2)");
STORAGE_STMT(activity_oauth, "UPDATE oauth2_sessions SET last_active_at = $2,"
                             " last_active_ip = COALESCE($3, last_active_ip) WHERE oauth2_session_id = $1"
                             " AND (last_active_at IS NULL OR last_active_at < $2)");
STORAGE_STMT(activity_browser, "UPDATE browser_sessions SET last_active_at = $2,"
                               " last_active_ip = COALESCE($3, last_active_ip) WHERE browser_session_id = $1"
                               " AND (last_active_at IS NULL OR last_active_at < $2)");
STORAGE_STMT(browser_finish_user,
             "UPDATE browser_sessions SET finished_at = $2 WHERE user_id = $1 AND finished_at IS NULL");
STORAGE_STMT(browser_finish_user_but, "UPDATE browser_sessions SET finished_at = $2 WHERE user_id = $1"
                                      " AND finished_at IS NULL AND browser_session_id <> $3");

int storage_session_activity_record(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                    int64_t at, const char *ip)
{
    struct storage_stmt *stmt = kind == STORAGE_SESSION_COMPAT  ? &activity_compat
                                : kind == STORAGE_SESSION_OAUTH ? &activity_oauth
                                                                : &activity_browser;
    char cut[STORAGE_IP_SIZE];
    storage_copy_cut(cut, sizeof(cut), ip);
    return sq_exec(tx, stmt, SQ_ARGS(P_TEXT(id), P_INT(at), P_OPT(cut)), NULL);
}

/* Every active session of the user, but the browser session keep (NULL: none kept). */
static int finish_user(struct storage_tx *tx, const char *user_id, const char *keep, int64_t now, unsigned *n)
{
    unsigned compat = 0, oauth = 0;
    int64_t browser = 0;
    int r = storage_sessions_finish_user(tx, STORAGE_SESSION_COMPAT, user_id, now, &compat);
    if (r >= 0)
        r = storage_sessions_finish_user(tx, STORAGE_SESSION_OAUTH, user_id, now, &oauth);
    if (r >= 0 && keep)
        r = sq_exec(tx, &browser_finish_user_but, SQ_ARGS(P_TEXT(user_id), P_INT(now), P_TEXT(keep)),
                    &browser);
    else if (r >= 0)
        r = sq_exec(tx, &browser_finish_user, SQ_ARGS(P_TEXT(user_id), P_INT(now)), &browser);
    if (n)
        *n = r < 0 ? 0 : compat + oauth + (unsigned)browser;
    return r;
}

int storage_user_finish_all_sessions(struct storage_tx *tx, const char *user_id, int64_t now, unsigned *n)
{
    return finish_user(tx, user_id, NULL, now, n);
}

int storage_user_finish_other_sessions(struct storage_tx *tx, const char *user_id,
                                       const char *keep_browser_session_id, int64_t now, unsigned *n)
{
    return finish_user(tx, user_id, keep_browser_session_id, now, n);
}

/* The statements of compat sessions and tokens behind storage_session_finish() and its kind's
 * siblings (storage_tokens.c). */
const struct storage_kind_stmts storage_compat_stmts = {
    .session_finish = &compat_finish,
    .session_release = &compat_release,
    .session_exists = &compat_exists,
    .session_release_user = &compat_release_user,
    .session_finish_user = &compat_finish_user,
    .access_insert = &access_insert,
    .access_revoke = &access_revoke,
    .access_exists = &access_exists,
    .refresh_insert = &refresh_insert,
    .refresh_consume = &refresh_consume,
    .refresh_exists = &refresh_exists,
};
