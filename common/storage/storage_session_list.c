/* A user's sessions a page at a time, for the account pages and GraphQL's connections (storage.h):
 * app sessions (compat and OAuth together) and browser sessions.
 *
 * Every statement is fixed text: an absent filter is a NULL parameter that its condition lets
 * through (cast where it first appears: PostgreSQL types a parameter by its first use), and the cursors are
 * never NULL (no lower bound is "", no upper bound is "Z", above every ULID, whose first character is at most
 * '7'), so that the ID range stays a range the (user_id, id) indexes of migration 12 serve in order. The app
 * sessions' union takes at most n + 1 rows of each kind, in the page's direction, before it merges them: a
 * page costs two short index walks, however many sessions the user has. */
#include "storage_internal.h"
#include <stdlib.h>
#include <string.h>

#define NO_UPPER_BOUND "Z"

/* MAS's OAuth device scopes (both prefixes); a device ID in a scope token has no space, so the
 * token is found as " token " in " scope ". replace() is in both dialects, instr/strpos not. */
#define DEVICE_SCOPE_MATCH                                                                                   \
    "(REPLACE(' ' || scope || ' ', ' urn:matrix:client:device:' || $5 || ' ', '') <> ' ' || scope || ' '"    \
    " OR REPLACE(' ' || scope || ' ', ' urn:matrix:org.matrix.msc2967.client:device:' || $5 || ' ', '')"     \
    " <> ' ' || scope || ' ')"

/* $1 user, $2 state (0 any, 1 active, 2 finished), $3 last active after, $4 before */
#define COMMON_FILTER                                                                                        \
    "user_id = $1 AND (CAST($2 AS INTEGER) = 0 OR ($2 = 1 AND finished_at IS NULL) OR ($2 = 2 AND "          \
    "finished_at IS NOT NULL))"                                                                              \
    " AND (CAST($3 AS BIGINT) IS NULL OR last_active_at > $3) AND (CAST($4 AS BIGINT) IS NULL OR "           \
    "last_active_at < $4)"
/* $5 device, $6 browser session */
#define COMPAT_FILTER                                                                                        \
    COMMON_FILTER " AND (CAST($5 AS TEXT) IS NULL OR device_id = $5) AND (CAST($6 AS TEXT) IS NULL OR "      \
                  "browser_session_id = $6)"
#define OAUTH_FILTER                                                                                         \
    COMMON_FILTER " AND (CAST($5 AS TEXT) IS NULL OR " DEVICE_SCOPE_MATCH                                    \
                  ") AND (CAST($6 AS TEXT) IS NULL OR browser_session_id = $6)"

/* One column list for both kinds: kind, then the compat columns' order, then client and scope. */
#define APP_COMPAT_COLS                                                                                      \
    "0 AS kind, compat_session_id AS id, user_id, device_id, browser_session_id, created_at, finished_at,"   \
    " is_synapse_admin, human_name, user_agent, last_active_at, last_active_ip, NULL AS client_id,"          \
    " NULL AS scope"
#define APP_OAUTH_COLS                                                                                       \
    "1 AS kind, oauth2_session_id AS id, user_id, NULL AS device_id, browser_session_id, created_at,"        \
    " finished_at, 0 AS is_synapse_admin, human_name, user_agent, last_active_at, last_active_ip,"           \
    " oauth2_client_id AS client_id, scope"

/* $7 after, $8 before, $9 limit */
#define APP_LIST(dir)                                                                                        \
    "SELECT * FROM (SELECT " APP_COMPAT_COLS " FROM compat_sessions WHERE " COMPAT_FILTER                    \
    " AND compat_session_id > $7 AND compat_session_id < $8 ORDER BY compat_session_id " dir " LIMIT $9) c"  \
    " UNION ALL SELECT * FROM (SELECT " APP_OAUTH_COLS " FROM oauth2_sessions WHERE " OAUTH_FILTER           \
    " AND oauth2_session_id > $7 AND oauth2_session_id < $8 ORDER BY oauth2_session_id " dir                 \
    " LIMIT $9) o ORDER BY id " dir " LIMIT $9"

STORAGE_STMT(app_list_asc, APP_LIST("ASC"));
STORAGE_STMT(app_list_desc, APP_LIST("DESC"));
STORAGE_STMT(app_count, "SELECT (SELECT COUNT(*) FROM compat_sessions WHERE " COMPAT_FILTER
                        ") + (SELECT COUNT(*) FROM oauth2_sessions WHERE " OAUTH_FILTER ")");
/* By state alone, the common count (GraphQL's totalCount, the pages' numbers): every column it
 * reads is in the (user_id, id, finished_at) indexes, so it reads no table row. */
#define STATE_FILTER                                                                                         \
    "user_id = $1 AND (CAST($2 AS INTEGER) = 0 OR ($2 = 1 AND finished_at IS NULL) OR"                       \
    " ($2 = 2 AND finished_at IS NOT NULL))"
STORAGE_STMT(app_count_state, "SELECT (SELECT COUNT(*) FROM compat_sessions WHERE " STATE_FILTER
                              ") + (SELECT COUNT(*) FROM oauth2_sessions WHERE " STATE_FILTER ")");
STORAGE_STMT(browser_count_state, "SELECT COUNT(*) FROM browser_sessions WHERE " STATE_FILTER);

#define BROWSER_COLS                                                                                         \
    "browser_session_id, user_id, created_at, finished_at, user_agent, last_active_at, last_active_ip"
/* $5 after, $6 before, $7 limit */
#define BROWSER_LIST(dir)                                                                                    \
    "SELECT " BROWSER_COLS " FROM browser_sessions WHERE " COMMON_FILTER                                     \
    " AND browser_session_id > $5 AND browser_session_id < $6 ORDER BY browser_session_id " dir " LIMIT $7"

STORAGE_STMT(browser_list_asc, BROWSER_LIST("ASC"));
STORAGE_STMT(browser_list_desc, BROWSER_LIST("DESC"));
STORAGE_STMT(browser_count, "SELECT COUNT(*) FROM browser_sessions WHERE " COMMON_FILTER);

STORAGE_STMT(app_by_id,
             "SELECT " APP_COMPAT_COLS " FROM compat_sessions WHERE compat_session_id = $1"
             " UNION ALL SELECT " APP_OAUTH_COLS " FROM oauth2_sessions WHERE oauth2_session_id = $1");
STORAGE_STMT(app_by_device,
             "SELECT " APP_COMPAT_COLS " FROM compat_sessions WHERE compat_session_id ="
             " (SELECT compat_session_id FROM session_devices WHERE user_id = $1 AND device_id = $2)"
             " UNION ALL SELECT " APP_OAUTH_COLS " FROM oauth2_sessions WHERE oauth2_session_id ="
             " (SELECT oauth2_session_id FROM session_devices WHERE user_id = $1 AND device_id = $2)"
             " ORDER BY kind");

STORAGE_STMT(last_authentication,
             "SELECT browser_session_authentication_id, created_at FROM browser_session_authentications"
             " WHERE browser_session_id = $1 ORDER BY created_at DESC, browser_session_authentication_id DESC"
             " LIMIT 1");
STORAGE_STMT(sso_by_session,
             "SELECT compat_sso_login_id, redirect_uri, created_at, fulfilled_at, exchanged_at,"
             " browser_session_id, compat_session_id FROM compat_sso_logins"
             " WHERE compat_session_id = $1");
STORAGE_STMT(compat_rename, "UPDATE compat_sessions SET human_name = $2 WHERE compat_session_id = $1");
STORAGE_STMT(compat_exists, "SELECT 1 FROM compat_sessions WHERE compat_session_id = $1");
STORAGE_STMT(oauth_rename, "UPDATE oauth2_sessions SET human_name = $2 WHERE oauth2_session_id = $1");
STORAGE_STMT(oauth_exists, "SELECT 1 FROM oauth2_sessions WHERE oauth2_session_id = $1");

const char *storage_app_session_id(const struct storage_app_session *s)
{
    return s->kind == STORAGE_SESSION_OAUTH ? s->oauth.id : s->compat.id;
}

const char *storage_app_session_user_id(const struct storage_app_session *s)
{
    return s->kind == STORAGE_SESSION_OAUTH ? s->oauth.user_id : s->compat.user_id;
}

static int read_app(struct sq *q, void *out)
{
    struct storage_app_session *s = out;
    memset(s, 0, sizeof(*s));
    if (sq_int(q, 0) == 1) {
        struct storage_oauth_session *o = &s->oauth;
        s->kind = STORAGE_SESSION_OAUTH;
        sq_copy(q, 1, o->id, sizeof(o->id));
        sq_copy(q, 2, o->user_id, sizeof(o->user_id));
        sq_copy(q, 4, o->browser_session_id, sizeof(o->browser_session_id));
        o->created_at = sq_int(q, 5);
        o->finished_at = sq_int(q, 6);
        sq_copy(q, 8, o->human_name, sizeof(o->human_name));
        sq_copy(q, 9, o->user_agent, sizeof(o->user_agent));
        o->last_active_at = sq_int(q, 10);
        sq_copy(q, 11, o->last_active_ip, sizeof(o->last_active_ip));
        sq_copy(q, 12, o->client_id, sizeof(o->client_id));
        sq_copy(q, 13, o->scope, sizeof(o->scope));
        return 0;
    }
    struct storage_compat_session *c = &s->compat;
    s->kind = STORAGE_SESSION_COMPAT;
    sq_copy(q, 1, c->id, sizeof(c->id));
    sq_copy(q, 2, c->user_id, sizeof(c->user_id));
    sq_copy(q, 3, c->device_id, sizeof(c->device_id));
    sq_copy(q, 4, c->browser_session_id, sizeof(c->browser_session_id));
    c->created_at = sq_int(q, 5);
    c->finished_at = sq_int(q, 6);
    c->is_synapse_admin = sq_int(q, 7) != 0;
    sq_copy(q, 8, c->human_name, sizeof(c->human_name));
    sq_copy(q, 9, c->user_agent, sizeof(c->user_agent));
    c->last_active_at = sq_int(q, 10);
    sq_copy(q, 11, c->last_active_ip, sizeof(c->last_active_ip));
    return 0;
}

static int read_browser(struct sq *q, void *out)
{
    struct storage_browser_session *s = out;
    memset(s, 0, sizeof(*s));
    sq_copy(q, 0, s->id, sizeof(s->id));
    sq_copy(q, 1, s->user_id, sizeof(s->user_id));
    s->created_at = sq_int(q, 2);
    s->finished_at = sq_int(q, 3);
    sq_copy(q, 4, s->user_agent, sizeof(s->user_agent));
    s->last_active_at = sq_int(q, 5);
    sq_copy(q, 6, s->last_active_ip, sizeof(s->last_active_ip));
    return 0;
}

/* The rows of a page, collected by sq_each. */
struct collect {
    void *items;
    size_t n, cap, size;
    int (*read)(struct sq *q, void *out);
};

static int collect_row(struct sq *q, void *arg)
{
    struct collect *c = arg;
    void *slot = storage_array_push(&c->items, &c->n, &c->cap, c->size);
    return slot ? c->read(q, slot) : storage_fail(-ENOMEM, "out of memory");
}

static int check_page(const struct storage_page *p)
{
    if (p->count > STORAGE_PAGE_MAX)
        return storage_fail(-EINVAL, "a page holds at most %d rows, not %u", STORAGE_PAGE_MAX, p->count);
    return 0;
}

static const char *lower(const struct storage_page *p)
{
    return p->after && p->after[0] ? p->after : "";
}

static const char *upper(const struct storage_page *p)
{
    return p->before && p->before[0] ? p->before : NO_UPPER_BOUND;
}

/* The page's rows in ascending order, and whether there was one more than asked for. */
static int finish_page(struct collect *c, const struct storage_page *p, void **out, size_t *n, bool *more)
{
    *more = c->n > p->count;
    if (*more)
        c->n = p->count;
    if (p->backward) /* read highest first: turn it round */
        for (size_t i = 0, j = c->n ? c->n - 1 : 0; i < j; i++, j--) {
            char tmp[sizeof(struct storage_app_session)];
            char *a = (char *)c->items + i * c->size, *b = (char *)c->items + j * c->size;
            memcpy(tmp, a, c->size);
            memcpy(a, b, c->size);
            memcpy(b, tmp, c->size);
        }
    if (!c->n) {
        free(c->items);
        c->items = NULL;
    }
    *out = c->items;
    *n = c->n;
    return 0;
}

static struct sq_param time_or_null(int64_t t)
{
    return P_TIME(t);
}

int storage_app_sessions_list(struct storage_tx *tx, const char *user_id,
                              const struct storage_session_filter *f, const struct storage_page *page,
                              struct storage_app_session **out, size_t *n, bool *more)
{
    *out = NULL, *n = 0, *more = false;
    int r = check_page(page);
    if (r < 0)
        return r;
    struct collect c = {.size = sizeof(struct storage_app_session), .read = read_app};
    r = sq_each(tx, page->backward ? &app_list_desc : &app_list_asc,
                SQ_ARGS(P_TEXT(user_id), P_INT(f->state), time_or_null(f->last_active_after),
                        time_or_null(f->last_active_before), P_OPT(f->device_id),
                        P_OPT(f->browser_session_id), P_TEXT(lower(page)), P_TEXT(upper(page)),
                        P_INT(page->count + 1)),
                collect_row, &c);
    if (r < 0) {
        free(c.items);
        return r;
    }
    return finish_page(&c, page, (void **)out, n, more);
}

static int read_count(struct sq *q, void *out)
{
    *(int64_t *)out = sq_int(q, 0);
    return 0;
}

int storage_app_sessions_count(struct storage_tx *tx, const char *user_id,
                               const struct storage_session_filter *f, int64_t *count)
{
    *count = 0;
    if (!f->last_active_after && !f->last_active_before && !(f->device_id && f->device_id[0]) &&
        !(f->browser_session_id && f->browser_session_id[0]))
        return sq_one(tx, &app_count_state, SQ_ARGS(P_TEXT(user_id), P_INT(f->state)), read_count, count);
    return sq_one(tx, &app_count,
                  SQ_ARGS(P_TEXT(user_id), P_INT(f->state), time_or_null(f->last_active_after),
                          time_or_null(f->last_active_before), P_OPT(f->device_id),
                          P_OPT(f->browser_session_id)),
                  read_count, count);
}

int storage_browser_sessions_list(struct storage_tx *tx, const char *user_id,
                                  const struct storage_session_filter *f, const struct storage_page *page,
                                  struct storage_browser_session **out, size_t *n, bool *more)
{
    *out = NULL, *n = 0, *more = false;
    int r = check_page(page);
    if (r < 0)
        return r;
    struct collect c = {.size = sizeof(struct storage_browser_session), .read = read_browser};
    r = sq_each(tx, page->backward ? &browser_list_desc : &browser_list_asc,
                SQ_ARGS(P_TEXT(user_id), P_INT(f->state), time_or_null(f->last_active_after),
                        time_or_null(f->last_active_before), P_TEXT(lower(page)), P_TEXT(upper(page)),
                        P_INT(page->count + 1)),
                collect_row, &c);
    if (r < 0) {
        free(c.items);
        return r;
    }
    return finish_page(&c, page, (void **)out, n, more);
}

int storage_browser_sessions_count(struct storage_tx *tx, const char *user_id,
                                   const struct storage_session_filter *f, int64_t *count)
{
    *count = 0;
    if (!f->last_active_after && !f->last_active_before)
        return sq_one(tx, &browser_count_state, SQ_ARGS(P_TEXT(user_id), P_INT(f->state)), read_count, count);
    return sq_one(tx, &browser_count,
                  SQ_ARGS(P_TEXT(user_id), P_INT(f->state), time_or_null(f->last_active_after),
                          time_or_null(f->last_active_before)),
                  read_count, count);
}

int storage_app_session_get(struct storage_tx *tx, const char *id, struct storage_app_session *out)
{
    return sq_one(tx, &app_by_id, SQ_ARGS(P_TEXT(id)), read_app, out);
}

int storage_app_session_by_device(struct storage_tx *tx, const char *user_id, const char *device_id,
                                  struct storage_app_session *out)
{
    return sq_one(tx, &app_by_device, SQ_ARGS(P_TEXT(user_id), P_TEXT(device_id)), read_app, out);
}

int storage_session_set_human_name(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                   const char *name)
{
    char cut[STORAGE_SHORT_TEXT_MAX + 1];
    int r = storage_check_text("session name", name ? name : "", SIZE_MAX, true);
    if (r < 0)
        return r;
    storage_copy_cut(cut, sizeof(cut), name);
    bool oauth = kind == STORAGE_SESSION_OAUTH;
    int64_t changes = 0;
    r = sq_exec(tx, oauth ? &oauth_rename : &compat_rename, SQ_ARGS(P_TEXT(id), P_OPT(cut)), &changes);
    return r < 0 ? r : storage_changed_or_missing(tx, changes, oauth ? &oauth_exists : &compat_exists, id);
}

struct last_auth {
    char *id;
    int64_t *at;
};

static int read_last_auth(struct sq *q, void *out)
{
    struct last_auth *l = out;
    sq_copy(q, 0, l->id, STORAGE_ID_SIZE);
    *l->at = sq_int(q, 1);
    return 0;
}

int storage_browser_session_last_authentication(struct storage_tx *tx, const char *session_id,
                                                char id[STORAGE_ID_SIZE], int64_t *created_at)
{
    struct last_auth l = {id, created_at};
    return sq_one(tx, &last_authentication, SQ_ARGS(P_TEXT(session_id)), read_last_auth, &l);
}

static int read_sso(struct sq *q, void *out)
{
    struct storage_compat_sso_login *l = out;
    memset(l, 0, sizeof(*l));
    sq_copy(q, 0, l->id, sizeof(l->id));
    sq_copy(q, 1, l->redirect_uri, sizeof(l->redirect_uri));
    l->created_at = sq_int(q, 2);
    l->fulfilled_at = sq_int(q, 3);
    l->exchanged_at = sq_int(q, 4);
    sq_copy(q, 5, l->browser_session_id, sizeof(l->browser_session_id));
    sq_copy(q, 6, l->compat_session_id, sizeof(l->compat_session_id));
    return 0;
}

int storage_compat_sso_login_by_session(struct storage_tx *tx, const char *compat_session_id,
                                        struct storage_compat_sso_login *out)
{
    return sq_one(tx, &sso_by_session, SQ_ARGS(P_TEXT(compat_session_id)), read_sso, out);
}
