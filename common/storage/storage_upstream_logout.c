/* Back-channel logout: what an upstream provider's logout token ends (storage_upstream.h). */
#include "storage_internal.h"
#include "storage_upstream.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The browser sessions to end: opened by a completed sign-in of the provider (consumed_at: the
 * time the sign-in became this browser session's authentication) with a matching ID token. */
STORAGE_STMT(logout_targets,
             "SELECT DISTINCT b.browser_session_id, b.user_id, b.finished_at"
             " FROM upstream_oauth_authorization_sessions s"
             " JOIN browser_sessions b ON b.browser_session_id = s.browser_session_id"
             " WHERE s.upstream_oauth_provider_id = $1 AND s.consumed_at IS NOT NULL AND s.consumed_at <= $4"
             " AND ($2 = '' OR s.id_token_sub = $2) AND ($3 = '' OR s.id_token_sid = $3)"
             " ORDER BY b.browser_session_id");
STORAGE_STMT(oauth_children,
             "SELECT oauth2_session_id FROM oauth2_sessions"
             " WHERE browser_session_id = $1 AND finished_at IS NULL ORDER BY oauth2_session_id");
STORAGE_STMT(compat_children,
             "SELECT compat_session_id FROM compat_sessions"
             " WHERE browser_session_id = $1 AND finished_at IS NULL ORDER BY compat_session_id");

void storage_upstream_logout_clear(struct storage_upstream_logout *out)
{
    free(out->users);
    memset(out, 0, sizeof(*out));
}

struct target {
    char id[STORAGE_ID_SIZE];
    char user_id[STORAGE_ID_SIZE];
    bool active;
};

struct targets {
    struct target *v;
    size_t n, cap;
};

static int read_target(struct sq *q, void *arg)
{
    struct targets *t = arg;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        struct target *v = realloc(t->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    struct target *x = &t->v[t->n++];
    sq_copy(q, 0, x->id, sizeof(x->id));
    sq_copy(q, 1, x->user_id, sizeof(x->user_id));
    x->active = sq_null(q, 2);
    return 0;
}

struct ids {
    char (*v)[STORAGE_ID_SIZE];
    size_t n, cap;
};

static int read_id(struct sq *q, void *arg)
{
    struct ids *ids = arg;
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? 2 * ids->cap : 8;
        char(*v)[STORAGE_ID_SIZE] = realloc(ids->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    sq_copy(q, 0, ids->v[ids->n++], STORAGE_ID_SIZE);
    return 0;
}

/* Ends the active sessions of kind started from browser session id; adds how many to *count. */
static int end_children(struct storage_tx *tx, struct storage_stmt *stmt, enum storage_session_kind kind,
                        const char *id, int64_t now, unsigned *count)
{
    struct ids ids = {0};
    int r = sq_each(tx, stmt, SQ_ARGS(P_TEXT(id)), read_id, &ids);
    for (size_t i = 0; r >= 0 && i < ids.n; i++) {
        r = storage_session_finish(tx, kind, ids.v[i], now);
        if (r > 0)
            (*count)++;
    }
    free(ids.v);
    return r < 0 ? r : 0;
}

static int add_user(struct storage_upstream_logout *out, const char *user_id)
{
    for (size_t i = 0; i < out->n_users; i++)
        if (strcmp(out->users[i], user_id) == 0)
            return 0;
    char(*v)[STORAGE_ID_SIZE] = realloc(out->users, (out->n_users + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    out->users = v;
    memcpy(out->users[out->n_users++], user_id, STORAGE_ID_SIZE);
    return 0;
}

int storage_upstream_backchannel_logout(struct storage_tx *tx, const char *provider_id, const char *sub,
                                        const char *sid, int64_t issued_at, bool all_sessions, int64_t now,
                                        struct storage_upstream_logout *out)
{
    memset(out, 0, sizeof(*out));
    if ((!sub || !*sub) && (!sid || !*sid))
        return storage_fail(-EINVAL, "a back-channel logout needs a sub or a sid");
    struct targets t = {0};
    int r = sq_each(
        tx, &logout_targets,
        SQ_ARGS(P_TEXT(provider_id), P_TEXT(sub ? sub : ""), P_TEXT(sid ? sid : ""), P_INT(issued_at)),
        read_target, &t);
    for (size_t i = 0; r >= 0 && i < t.n; i++) {
        /* A finished browser session's children may still be active (MAS ends them too). */
        if (t.v[i].active) {
            r = storage_browser_session_finish(tx, t.v[i].id, now);
            if (r > 0)
                out->browser_sessions++;
        }
        if (r >= 0 && all_sessions) {
            unsigned before = out->oauth_sessions + out->compat_sessions;
            r = end_children(tx, &oauth_children, STORAGE_SESSION_OAUTH, t.v[i].id, now,
                             &out->oauth_sessions);
            if (r >= 0)
                r = end_children(tx, &compat_children, STORAGE_SESSION_COMPAT, t.v[i].id, now,
                                 &out->compat_sessions);
            if (r >= 0 && out->oauth_sessions + out->compat_sessions > before)
                r = add_user(out, t.v[i].user_id);
        }
    }
    free(t.v);
    if (r < 0)
        storage_upstream_logout_clear(out);
    return r < 0 ? r : 0;
}
