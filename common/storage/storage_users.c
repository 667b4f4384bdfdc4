/* Users, their passwords and e-mail addresses, and browser sessions. */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_COLS USER_COLS_P("")

int storage_read_user(struct sq *q, int c, struct storage_user *u)
{
    sq_copy(q, c, u->id, sizeof(u->id));
    sq_copy(q, c + 1, u->username, sizeof(u->username));
    u->created_at = sq_int(q, c + 2);
    u->locked_at = sq_int(q, c + 3);
    u->deactivated_at = sq_int(q, c + 4);
    u->can_request_admin = sq_int(q, c + 5) != 0;
    return 0;
}

static int read_user(struct sq *q, void *out)
{
    return storage_read_user(q, 0, out);
}

STORAGE_STMT(user_insert,
             "INSERT INTO users (" USER_COLS ", username_folded) VALUES ($1, $2, $3, NULL, NULL, $4, $5)");
STORAGE_STMT(user_by_id, "SELECT " USER_COLS " FROM users WHERE user_id = $1");
STORAGE_STMT(user_by_folded, "SELECT " USER_COLS " FROM users WHERE username_folded = $1");
STORAGE_STMT(user_exists, "SELECT 1 FROM users WHERE user_id = $1");
STORAGE_STMT(user_lock, "UPDATE users SET locked_at = $2 WHERE user_id = $1 AND locked_at IS NULL");
STORAGE_STMT(user_unlock, "UPDATE users SET locked_at = NULL WHERE user_id = $1 AND locked_at IS NOT NULL");
STORAGE_STMT(user_deactivate,
             "UPDATE users SET deactivated_at = $2 WHERE user_id = $1 AND deactivated_at IS NULL");
STORAGE_STMT(user_reactivate,
             "UPDATE users SET deactivated_at = NULL WHERE user_id = $1 AND deactivated_at IS NOT NULL");
STORAGE_STMT(user_set_admin,
             "UPDATE users SET can_request_admin = $2 WHERE user_id = $1 AND can_request_admin <> $2");
STORAGE_STMT(user_admins,
             "SELECT " USER_COLS " FROM users WHERE can_request_admin = 1 ORDER BY username_folded");

int storage_user_create(struct storage_tx *tx, const char *username, bool can_request_admin, int64_t now,
                        struct storage_user *out)
{
    int r = storage_check_text("username", username, STORAGE_USERNAME_MAX, false);
    if (r < 0)
        return r;
    struct storage_user u = {.created_at = now, .can_request_admin = can_request_admin};
    storage_new_id(u.id);
    snprintf(u.username, sizeof(u.username), "%s", username);
    char folded[STORAGE_USERNAME_MAX + 1];
    storage_username_fold(username, folded);
    r = sq_exec(
        tx, &user_insert,
        SQ_ARGS(P_TEXT(u.id), P_TEXT(username), P_INT(now), P_BOOL(can_request_admin), P_TEXT(folded)), NULL);
    if (r == -EEXIST)
        return storage_fail(-EEXIST, "the username '%s' is taken", username);
    if (r < 0)
        return r;
    if (out)
        *out = u;
    return 0;
}

int storage_user_get(struct storage_tx *tx, const char *user_id, struct storage_user *out)
{
    return sq_one(tx, &user_by_id, SQ_ARGS(P_TEXT(user_id)), read_user, out);
}

int storage_user_find(struct storage_tx *tx, const char *username, struct storage_user *out)
{
    char folded[STORAGE_USERNAME_MAX + 1];
    if (strlen(username) > STORAGE_USERNAME_MAX)
        return -ENOENT;
    storage_username_fold(username, folded);
    return sq_one(tx, &user_by_folded, SQ_ARGS(P_TEXT(folded)), read_user, out);
}

/* p2: the second parameter, or NULL when the statement takes only the user ID. */
static int user_update(struct storage_tx *tx, struct storage_stmt *stmt, const char *user_id,
                       const struct sq_param *p2)
{
    int64_t changes = 0;
    const struct sq_param p[2] = {P_TEXT(user_id), p2 ? *p2 : P_TEXT(NULL)};
    int r = sq_exec(tx, stmt, p, p2 ? 2 : 1, &changes);
    return r < 0 ? r : storage_changed_or_missing(tx, changes, &user_exists, user_id);
}

int storage_user_lock(struct storage_tx *tx, const char *user_id, int64_t now)
{
    return user_update(tx, &user_lock, user_id, &P_INT(now));
}

int storage_user_unlock(struct storage_tx *tx, const char *user_id)
{
    return user_update(tx, &user_unlock, user_id, NULL);
}

int storage_user_deactivate(struct storage_tx *tx, const char *user_id, int64_t now)
{
    return user_update(tx, &user_deactivate, user_id, &P_INT(now));
}

int storage_user_reactivate(struct storage_tx *tx, const char *user_id)
{
    return user_update(tx, &user_reactivate, user_id, NULL);
}

int storage_user_set_admin(struct storage_tx *tx, const char *user_id, bool can_request_admin)
{
    return user_update(tx, &user_set_admin, user_id, &P_BOOL(can_request_admin));
}

struct user_list {
    struct storage_user *items;
    size_t n, cap;
};

static int collect_user(struct sq *q, void *arg)
{
    struct user_list *l = arg;
    struct storage_user *u = storage_array_push((void **)&l->items, &l->n, &l->cap, sizeof(*u));
    if (!u)
        return storage_fail(-ENOMEM, "out of memory");
    return storage_read_user(q, 0, u);
}

int storage_user_list_admins(struct storage_tx *tx, struct storage_user **out, size_t *n)
{
    struct user_list l = {0};
    int r = sq_each(tx, &user_admins, NULL, 0, collect_user, &l);
    if (r < 0) {
        free(l.items);
        l = (struct user_list){0};
    }
    *out = l.items;
    *n = l.n;
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Passwords */

#define PASSWORD_COLS "user_password_id, user_id, hashed_password, version, upgraded_from_id, created_at"

STORAGE_STMT(password_insert,
             "INSERT INTO user_passwords (" PASSWORD_COLS ") VALUES ($1, $2, $3, $4, $5, $6)");
/* The newest row is the active one, as in MAS; the ID breaks ties within a millisecond. */
STORAGE_STMT(password_active, "SELECT " PASSWORD_COLS " FROM user_passwords WHERE user_id = $1"
                              " ORDER BY created_at DESC, user_password_id DESC LIMIT 1");

static int read_password(struct sq *q, void *out)
{
    struct storage_password *p = out;
    sq_copy(q, 0, p->id, sizeof(p->id));
    sq_copy(q, 1, p->user_id, sizeof(p->user_id));
    sq_copy(q, 2, p->hash, sizeof(p->hash));
    p->version = (unsigned)sq_int(q, 3);
    sq_copy(q, 4, p->upgraded_from, sizeof(p->upgraded_from));
    p->created_at = sq_int(q, 5);
    return 0;
}

int storage_password_add(struct storage_tx *tx, const char *user_id, const char *hash, unsigned version,
                         const char *upgraded_from, int64_t now, struct storage_password *out)
{
    int r = storage_check_text("password hash", hash, STORAGE_PASSWORD_MAX, false);
    if (r < 0)
        return r;
    struct storage_password p = {.version = version, .created_at = now};
    storage_new_id(p.id);
    snprintf(p.user_id, sizeof(p.user_id), "%s", user_id);
    snprintf(p.hash, sizeof(p.hash), "%s", hash);
    snprintf(p.upgraded_from, sizeof(p.upgraded_from), "%s", upgraded_from ? upgraded_from : "");
    r = sq_exec(tx, &password_insert,
                SQ_ARGS(P_TEXT(p.id), P_TEXT(user_id), P_TEXT(hash), P_INT(version), P_OPT(upgraded_from),
                        P_INT(now)),
                NULL);
    if (r < 0)
        return r;
    if (out)
        *out = p;
    return 0;
}

int storage_password_get_active(struct storage_tx *tx, const char *user_id, struct storage_password *out)
{
    return sq_one(tx, &password_active, SQ_ARGS(P_TEXT(user_id)), read_password, out);
}

/* ---------------------------------------------------------------------------------------------
 * E-mail addresses */

#define EMAIL_COLS "user_email_id, user_id, email, created_at"

STORAGE_STMT(email_insert,
             "INSERT INTO user_emails (" EMAIL_COLS ", email_folded) VALUES ($1, $2, $3, $4, $5)");
STORAGE_STMT(email_by_user, "SELECT " EMAIL_COLS " FROM user_emails WHERE user_id = $1"
                            " ORDER BY created_at, user_email_id");
STORAGE_STMT(email_by_folded, "SELECT " EMAIL_COLS " FROM user_emails WHERE email_folded = $1");
STORAGE_STMT(email_by_id, "SELECT " EMAIL_COLS " FROM user_emails WHERE user_email_id = $1");
STORAGE_STMT(email_delete, "DELETE FROM user_emails WHERE user_email_id = $1");
/* A keyset page by ID (ULIDs sort by creation): after/before '' for none. */
STORAGE_STMT(email_page_asc,
             "SELECT " EMAIL_COLS " FROM user_emails WHERE user_id = $1 AND user_email_id > $2"
             " AND ($3 = '' OR user_email_id < $3) ORDER BY user_email_id LIMIT $4");
STORAGE_STMT(email_page_desc,
             "SELECT " EMAIL_COLS " FROM user_emails WHERE user_id = $1 AND user_email_id > $2"
             " AND ($3 = '' OR user_email_id < $3) ORDER BY user_email_id DESC LIMIT $4");
STORAGE_STMT(email_count, "SELECT COUNT(*) FROM user_emails WHERE user_id = $1");

static int read_email(struct sq *q, void *out)
{
    struct storage_email *e = out;
    sq_copy(q, 0, e->id, sizeof(e->id));
    sq_copy(q, 1, e->user_id, sizeof(e->user_id));
    sq_copy(q, 2, e->email, sizeof(e->email));
    e->created_at = sq_int(q, 3);
    return 0;
}

int storage_email_add(struct storage_tx *tx, const char *user_id, const char *email, int64_t now,
                      struct storage_email *out)
{
    int r = storage_check_text("e-mail address", email, STORAGE_EMAIL_MAX, false);
    if (r < 0)
        return r;
    struct storage_email e = {.created_at = now};
    storage_new_id(e.id);
    snprintf(e.user_id, sizeof(e.user_id), "%s", user_id);
    snprintf(e.email, sizeof(e.email), "%s", email);
    char folded[STORAGE_EMAIL_MAX + 1];
    storage_ascii_fold(email, folded, sizeof(folded));
    r = sq_exec(tx, &email_insert,
                SQ_ARGS(P_TEXT(e.id), P_TEXT(user_id), P_TEXT(email), P_INT(now), P_TEXT(folded)), NULL);
    if (r == -EEXIST)
        return storage_fail(-EEXIST, "the e-mail address '%s' is already in use", email);
    if (r < 0)
        return r;
    if (out)
        *out = e;
    return 0;
}

struct email_list {
    struct storage_email *items;
    size_t n, cap;
};

static int collect_email(struct sq *q, void *arg)
{
    struct email_list *l = arg;
    struct storage_email *e = storage_array_push((void **)&l->items, &l->n, &l->cap, sizeof(*e));
    return e ? read_email(q, e) : storage_fail(-ENOMEM, "out of memory");
}

int storage_email_list(struct storage_tx *tx, const char *user_id, struct storage_email **out, size_t *n)
{
    struct email_list l = {0};
    int r = sq_each(tx, &email_by_user, SQ_ARGS(P_TEXT(user_id)), collect_email, &l);
    if (r < 0) {
        free(l.items);
        l = (struct email_list){0};
    }
    *out = l.items;
    *n = l.n;
    return r;
}

int storage_email_get(struct storage_tx *tx, const char *email_id, struct storage_email *out)
{
    return sq_one(tx, &email_by_id, SQ_ARGS(P_TEXT(email_id)), read_email, out);
}

int storage_email_page(struct storage_tx *tx, const char *user_id, const char *after, const char *before,
                       unsigned limit, bool backward, struct storage_email **out, size_t *n)
{
    struct email_list l = {0};
    int r = sq_each(tx, backward ? &email_page_desc : &email_page_asc,
                    SQ_ARGS(P_TEXT(user_id), P_TEXT(after), P_TEXT(before), P_INT(limit)), collect_email, &l);
    if (r < 0) {
        free(l.items);
        l = (struct email_list){0};
    }
    *out = l.items;
    *n = l.n;
    return r;
}

static int read_count(struct sq *q, void *out)
{
    *(int64_t *)out = sq_int(q, 0);
    return 0;
}

int storage_email_count(struct storage_tx *tx, const char *user_id, int64_t *n)
{
    return sq_one(tx, &email_count, SQ_ARGS(P_TEXT(user_id)), read_count, n);
}

int storage_email_find(struct storage_tx *tx, const char *email, struct storage_email *out)
{
    char folded[STORAGE_EMAIL_MAX + 1];
    if (strlen(email) > STORAGE_EMAIL_MAX)
        return -ENOENT;
    storage_ascii_fold(email, folded, sizeof(folded));
    return sq_one(tx, &email_by_folded, SQ_ARGS(P_TEXT(folded)), read_email, out);
}

int storage_email_remove(struct storage_tx *tx, const char *email_id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &email_delete, SQ_ARGS(P_TEXT(email_id)), &changes);
    if (r < 0)
        return r;
    return changes ? 0 : storage_fail(-ENOENT, "no e-mail address with ID %s", email_id);
}

/* ---------------------------------------------------------------------------------------------
 * Browser sessions */

#define BROWSER_COLS                                                                                         \
    "browser_session_id, user_id, created_at, finished_at, user_agent, last_active_at, last_active_ip"

STORAGE_STMT(browser_insert,
             "INSERT INTO browser_sessions (" BROWSER_COLS ") VALUES ($1, $2, $3, NULL, $4, NULL, NULL)");
STORAGE_STMT(browser_by_id, "SELECT " BROWSER_COLS " FROM browser_sessions WHERE browser_session_id = $1");
STORAGE_STMT(browser_exists, "SELECT 1 FROM browser_sessions WHERE browser_session_id = $1");
STORAGE_STMT(
    browser_finish,
    "UPDATE browser_sessions SET finished_at = $2 WHERE browser_session_id = $1 AND finished_at IS NULL");
STORAGE_STMT(browser_auth_insert,
             "INSERT INTO browser_session_authentications (browser_session_authentication_id,"
             " browser_session_id, user_password_id, created_at) VALUES ($1, $2, $3, $4)");
STORAGE_STMT(browser_auth_last, "SELECT MAX(created_at) FROM browser_session_authentications"
                                " WHERE browser_session_id = $1");

static int read_browser(struct sq *q, void *out)
{
    struct storage_browser_session *s = out;
    sq_copy(q, 0, s->id, sizeof(s->id));
    sq_copy(q, 1, s->user_id, sizeof(s->user_id));
    s->created_at = sq_int(q, 2);
    s->finished_at = sq_int(q, 3);
    sq_copy(q, 4, s->user_agent, sizeof(s->user_agent));
    s->last_active_at = sq_int(q, 5);
    sq_copy(q, 6, s->last_active_ip, sizeof(s->last_active_ip));
    return 0;
}

int storage_browser_session_create(struct storage_tx *tx, const char *user_id, const char *user_agent,
                                   int64_t now, struct storage_browser_session *out)
{
    struct storage_browser_session s = {.created_at = now};
    storage_new_id(s.id);
    snprintf(s.user_id, sizeof(s.user_id), "%s", user_id);
    storage_copy_cut(s.user_agent, sizeof(s.user_agent), user_agent);
    int r = sq_exec(tx, &browser_insert,
                    SQ_ARGS(P_TEXT(s.id), P_TEXT(user_id), P_INT(now), P_OPT(s.user_agent)), NULL);
    if (r < 0)
        return r;
    if (out)
        *out = s;
    return 0;
}

int storage_browser_session_get(struct storage_tx *tx, const char *id, struct storage_browser_session *out)
{
    return sq_one(tx, &browser_by_id, SQ_ARGS(P_TEXT(id)), read_browser, out);
}

int storage_browser_session_finish(struct storage_tx *tx, const char *id, int64_t now)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &browser_finish, SQ_ARGS(P_TEXT(id), P_INT(now)), &changes);
    return r < 0 ? r : storage_changed_or_missing(tx, changes, &browser_exists, id);
}

int storage_browser_session_authenticate(struct storage_tx *tx, const char *session_id,
                                         const char *password_id, int64_t now, char auth_id[STORAGE_ID_SIZE])
{
    char id[STORAGE_ID_SIZE];
    storage_new_id(id);
    int r = sq_exec(tx, &browser_auth_insert,
                    SQ_ARGS(P_TEXT(id), P_TEXT(session_id), P_OPT(password_id), P_INT(now)), NULL);
    if (r >= 0 && auth_id)
        memcpy(auth_id, id, STORAGE_ID_SIZE);
    return r;
}

int storage_browser_session_last_auth(struct storage_tx *tx, const char *session_id, int64_t *at)
{
    struct sq q;
    int r = sq_run(tx, &browser_auth_last, SQ_ARGS(P_TEXT(session_id)), &q);
    if (r >= 0 && (r = sq_next(&q)) > 0) {
        r = sq_null(&q, 0) ? -ENOENT : 0;
        *at = sq_int(&q, 0);
    } else if (r == 0)
        r = -ENOENT;
    sq_done(&q);
    return r;
}
