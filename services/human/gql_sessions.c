/* The sessions domain of the GraphQL API (gql.h; MAS: crates/handlers/src/graphql/model/
 * {browser_sessions,compat_sessions,oauth,users}.rs, query/session.rs, mutations/
 * {browser_session,compat_session,oauth2_session}.rs): User.browserSessions and User.appSessions
 * (keyset pages of storage_session_list.c), the session objects' fields that need a lookup,
 * Query.session, the node loaders of the three session types, and the five mutations, which go
 * through the same actions as the account pages (account_sessions.h).
 *
 * Ownership: a session is seen and changed by its owner or an admin; anyone else gets null (a
 * read) or NOT_FOUND (a mutation), never an error that would tell it exists. */
#include "account_parse.h"
#include "account_sessions.h"
#include "gql.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- objects --------------------------------------------------------------------------------- */

static json_t *browser_object(const struct storage_browser_session *s)
{
    return gql_browser_session_object(s);
}

static json_t *compat_object(const struct storage_compat_session *s)
{
    return json_pack("{s:s, s:o, s:s, s:s?, s:s?, s:o, s:o, s:s, s:o*, s:s?, s:o, s:s?}", "__typename",
                     "CompatSession", "id", gql_id_json(GQL_NODE_COMPAT_SESSION, s->id), "_userId",
                     s->user_id, "_browserSessionId", s->browser_session_id[0] ? s->browser_session_id : NULL,
                     "deviceId", s->device_id[0] ? s->device_id : NULL, "createdAt",
                     gql_datetime(s->created_at), "finishedAt", gql_datetime(s->finished_at), "state",
                     s->finished_at ? "FINISHED" : "ACTIVE", "userAgent", gql_user_agent(s->user_agent),
                     "lastActiveIp", s->last_active_ip[0] ? s->last_active_ip : NULL, "lastActiveAt",
                     gql_datetime(s->last_active_at), "humanName", s->human_name[0] ? s->human_name : NULL);
}

static json_t *oauth_object(const struct storage_oauth_session *s)
{
    json_t *o = gql_oauth2_session_object(s);
    if (o && s->browser_session_id[0])
        json_object_set_new(o, "_browserSessionId", json_string(s->browser_session_id));
    return o;
}

static json_t *app_object(const struct storage_app_session *s)
{
    return s->kind == STORAGE_SESSION_COMPAT ? compat_object(&s->compat) : oauth_object(&s->oauth);
}

/* ---- the connections ------------------------------------------------------------------------- */

/* The filter arguments both connections share: state, lastActive (DateTime as ms). */
static void common_filter(const gql_resolve_info *info, struct storage_session_filter *f)
{
    const char *state = json_string_value(json_object_get(info->args, "state"));
    f->state = !state                     ? STORAGE_STATE_ANY
               : !strcmp(state, "ACTIVE") ? STORAGE_STATE_ACTIVE
                                          : STORAGE_STATE_FINISHED;
    json_t *la = json_object_get(info->args, "lastActive");
    f->last_active_after = json_integer_value(json_object_get(la, "after"));
    f->last_active_before = json_integer_value(json_object_get(la, "before"));
}

/* Adds a storage page (ascending, `more` beyond it) to a connection in the order it expects:
 * storage's own order for the page's direction, then one row more when there is more. */
#define ADD_PAGE(conn, rows, n, more, type_of, id_of, object_of)                                             \
    do {                                                                                                     \
        for (size_t k_ = 0; r >= 0 && k_ < (n); k_++) {                                                      \
            size_t i_ = (conn).page->backward ? (n)-1 - k_ : k_;                                             \
            json_t *o_ = object_of(&(rows)[i_]);                                                             \
            r = o_ ? gql_connection_add(&(conn), type_of(&(rows)[i_]), id_of(&(rows)[i_]), o_) : -ENOMEM;    \
        }                                                                                                    \
        if (r >= 0 && (more))                                                                                \
            r = gql_connection_add(&(conn), GQL_NODE_USER, "", json_null());                                 \
    } while (0)

static enum gql_node_type app_type(const struct storage_app_session *s)
{
    return s->kind == STORAGE_SESSION_COMPAT ? GQL_NODE_COMPAT_SESSION : GQL_NODE_OAUTH2_SESSION;
}

static enum gql_node_type browser_type(const struct storage_browser_session *s)
{
    (void)s;
    return GQL_NODE_BROWSER_SESSION;
}

static const char *browser_id(const struct storage_browser_session *s)
{
    return s->id;
}

/* The parent User's ID, if the requester may see its sessions. */
static bool parent_user(const gql_resolve_info *info, char id[ULID_LEN + 1])
{
    gql_parent_ulid(info, GQL_NODE_USER, id);
    return id[0] && gql_owner_or_admin(gql_ctx(info), id);
}

/* User.browserSessions (MAS: model/users.rs browser_sessions). */
static int user_browser_sessions(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct gql_page page;
    if (gql_page_args(info, GQL_NODE_BIT(GQL_NODE_BROWSER_SESSION), &page) < 0)
        return -1;
    char user[ULID_LEN + 1];
    struct storage_session_filter f = {0};
    common_filter(info, &f);
    struct storage_browser_session *rows = NULL;
    size_t n = 0;
    bool more = false;
    int64_t total = -1;
    int r = 0;
    if (parent_user(info, user)) {
        struct storage_page p = {
            .backward = page.backward, .count = page.limit, .after = page.after, .before = page.before};
        r = storage_browser_sessions_list(c->tx, user, &f, &p, &rows, &n, &more);
        if (r >= 0 && gql_selects(info, "totalCount"))
            r = storage_browser_sessions_count(c->tx, user, &f, &total);
    } else if (gql_selects(info, "totalCount")) {
        total = 0;
    }
    struct gql_connection conn;
    gql_connection_init(&conn, &page);
    ADD_PAGE(conn, rows, n, more, browser_type, browser_id, browser_object);
    free(rows);
    if (r < 0) {
        gql_connection_clear(&conn);
        return gql_storage_error(info, r);
    }
    return (*out = gql_connection_finish(&conn, total)) ? 0 : gql_storage_error(info, -ENOMEM);
}

/* User.appSessions: compat and OAuth sessions in one list by ID; cursors of either kind (MAS:
 * model/users.rs app_sessions). */
static int user_app_sessions(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct gql_page page;
    if (gql_page_args(info, GQL_NODE_BIT(GQL_NODE_COMPAT_SESSION) | GQL_NODE_BIT(GQL_NODE_OAUTH2_SESSION),
                      &page) < 0)
        return -1;
    char user[ULID_LEN + 1], browser[ULID_LEN + 1] = "";
    struct storage_session_filter f = {0};
    common_filter(info, &f);
    f.device_id = json_string_value(json_object_get(info->args, "device"));
    if (json_object_get(info->args, "browserSession") &&
        gql_arg_id(info, "browserSession", GQL_NODE_BROWSER_SESSION, browser) < 0)
        return -1;
    f.browser_session_id = browser;
    struct storage_app_session *rows = NULL;
    size_t n = 0;
    bool more = false;
    int64_t total = -1;
    int r = 0;
    if (parent_user(info, user)) {
        struct storage_page p = {
            .backward = page.backward, .count = page.limit, .after = page.after, .before = page.before};
        r = storage_app_sessions_list(c->tx, user, &f, &p, &rows, &n, &more);
        if (r >= 0 && gql_selects(info, "totalCount"))
            r = storage_app_sessions_count(c->tx, user, &f, &total);
    } else if (gql_selects(info, "totalCount")) {
        total = 0;
    }
    struct gql_connection conn;
    gql_connection_init(&conn, &page);
    ADD_PAGE(conn, rows, n, more, app_type, storage_app_session_id, app_object);
    free(rows);
    if (r < 0) {
        gql_connection_clear(&conn);
        return gql_storage_error(info, r);
    }
    return (*out = gql_connection_finish(&conn, total)) ? 0 : gql_storage_error(info, -ENOMEM);
}

/* ---- fields that need a lookup ------------------------------------------------------------------ */

/* CompatSession.user: the owner, from "_userId". */
static int compat_user(const gql_resolve_info *info, json_t **out)
{
    const char *id = json_string_value(json_object_get(info->parent, "_userId"));
    *out = NULL;
    int r = id ? gql_user_load(gql_ctx(info), id, out) : 0;
    return r < 0 ? gql_storage_error(info, r) : 0;
}

/* CompatSession.browserSession, Oauth2Session.browserSession: the browser session it came from. */
static int session_browser_session(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    const char *id = json_string_value(json_object_get(info->parent, "_browserSessionId"));
    struct storage_browser_session b;
    *out = NULL;
    if (!id)
        return 0;
    int r = storage_browser_session_get(c->tx, id, &b);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    if (gql_owner_or_admin(c, b.user_id) && !(*out = browser_object(&b)))
        return gql_storage_error(info, -ENOMEM);
    return 0;
}

/* BrowserSession.lastAuthentication: the newest (MAS: storage-pg user/session.rs). */
static int browser_last_authentication(const gql_resolve_info *info, json_t **out)
{
    char session[ULID_LEN + 1], id[STORAGE_ID_SIZE];
    int64_t at = 0;
    *out = NULL;
    gql_parent_ulid(info, GQL_NODE_BROWSER_SESSION, session);
    int r = storage_browser_session_last_authentication(gql_ctx(info)->tx, session, id, &at);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    *out = json_pack("{s:s, s:o, s:o}", "__typename", "Authentication", "id",
                     gql_id_json(GQL_NODE_AUTHENTICATION, id), "createdAt", gql_datetime(at));
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* CompatSession.ssoLogin: the SSO login it was exchanged for. */
static int compat_sso_login(const gql_resolve_info *info, json_t **out)
{
    char session[ULID_LEN + 1];
    struct storage_compat_sso_login l;
    *out = NULL;
    gql_parent_ulid(info, GQL_NODE_COMPAT_SESSION, session);
    int r = storage_compat_sso_login_by_session(gql_ctx(info)->tx, session, &l);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    *out = json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:s}", "__typename", "CompatSsoLogin", "id",
                     gql_id_json(GQL_NODE_COMPAT_SSO_LOGIN, l.id), "createdAt", gql_datetime(l.created_at),
                     "redirectUri", l.redirect_uri, "fulfilledAt", gql_datetime(l.fulfilled_at),
                     "exchangedAt", gql_datetime(l.exchanged_at), "_sessionId", l.compat_session_id);
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* One app session by kind and ID, if the requester may see it: 0 (*out NULL when not), or a
 * field error. */
static int app_load(const gql_resolve_info *info, enum storage_session_kind kind, const char *ulid,
                    struct storage_app_session *s, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    *out = NULL;
    int r = storage_app_session_get(c->tx, ulid, s);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    if (s->kind != kind || !gql_owner_or_admin(c, storage_app_session_user_id(s)))
        return 0;
    return (*out = app_object(s)) ? 0 : gql_storage_error(info, -ENOMEM);
}

/* CompatSsoLogin.session */
static int sso_login_session(const gql_resolve_info *info, json_t **out)
{
    const char *id = json_string_value(json_object_get(info->parent, "_sessionId"));
    struct storage_app_session s;
    *out = NULL;
    return id && id[0] ? app_load(info, STORAGE_SESSION_COMPAT, id, &s, out) : 0;
}

/* Query.session(userId, deviceId): the active session holding the device (MAS: query/session.rs). */
static int query_session(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    char user[ULID_LEN + 1];
    *out = NULL;
    if (gql_arg_id(info, "userId", GQL_NODE_USER, user) < 0)
        return -1;
    const char *device = json_string_value(json_object_get(info->args, "deviceId"));
    if (!gql_owner_or_admin(c, user) || !device)
        return 0;
    struct storage_app_session s;
    int r = storage_app_session_by_device(c->tx, user, device, &s);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    return (*out = app_object(&s)) ? 0 : gql_storage_error(info, -ENOMEM);
}

/* ---- Query.node's loaders ---------------------------------------------------------------------- */

static int load_browser_session(const gql_resolve_info *info, const char *ulid, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct storage_browser_session b;
    *out = NULL;
    int r = storage_browser_session_get(c->tx, ulid, &b);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    if (gql_owner_or_admin(c, b.user_id) && !(*out = browser_object(&b)))
        return gql_storage_error(info, -ENOMEM);
    return 0;
}

static int load_compat_session(const gql_resolve_info *info, const char *ulid, json_t **out)
{
    struct storage_app_session s;
    return app_load(info, STORAGE_SESSION_COMPAT, ulid, &s, out);
}

static int load_oauth2_session(const gql_resolve_info *info, const char *ulid, json_t **out)
{
    struct storage_app_session s;
    return app_load(info, STORAGE_SESSION_OAUTH, ulid, &s, out);
}

/* ---- mutations ---------------------------------------------------------------------------------- */

/* The input object's ID `name` of type t: 0, or -1 after "invalid id". */
static int input_id(const gql_resolve_info *info, const char *name, enum gql_node_type t,
                    char ulid[ULID_LEN + 1])
{
    const json_t *v = json_object_get(json_object_get(info->args, "input"), name);
    enum gql_node_type type;
    if (!json_is_string(v) || gql_id_parse(json_string_value(v), json_string_length(v), &type, ulid) < 0 ||
        type != t)
        return gql_error(info, "invalid id");
    return 0;
}

static json_t *payload(const char *status, const char *field, json_t *session)
{
    return json_pack("{s:s, s:o}", "status", status, field, session ? session : json_null());
}

/* endCompatSession, endOauth2Session: ENDED with the session, or NOT_FOUND (MAS: the sync-devices
 * job and the end, in the mutation's transaction). */
static int end_app_session(const gql_resolve_info *info, json_t **out, enum storage_session_kind kind,
                           const char *id_field, const char *payload_field)
{
    struct gql_ctx *c = gql_ctx(info);
    enum gql_node_type t = kind == STORAGE_SESSION_COMPAT ? GQL_NODE_COMPAT_SESSION : GQL_NODE_OAUTH2_SESSION;
    char ulid[ULID_LEN + 1];
    if (input_id(info, id_field, t, ulid) < 0)
        return -1;
    struct storage_app_session s;
    json_t *o = NULL;
    if (app_load(info, kind, ulid, &s, &o) < 0)
        return -1;
    if (!o) {
        *out = payload("NOT_FOUND", payload_field, NULL);
        return *out ? 0 : gql_storage_error(info, -ENOMEM);
    }
    json_decref(o);
    int r = account_session_end(c->tx, storage_app_session_user_id(&s), kind, ulid, c->now);
    if (r >= 0)
        r = storage_app_session_get(c->tx, ulid, &s);
    if (r < 0)
        return gql_storage_error(info, r);
    *out = payload("ENDED", payload_field, app_object(&s));
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

static int mutation_end_compat_session(const gql_resolve_info *info, json_t **out)
{
    return end_app_session(info, out, STORAGE_SESSION_COMPAT, "compatSessionId", "compatSession");
}

static int mutation_end_oauth2_session(const gql_resolve_info *info, json_t **out)
{
    return end_app_session(info, out, STORAGE_SESSION_OAUTH, "oauth2SessionId", "oauth2Session");
}

/* endBrowserSession: ending the requester's own current session signs the browser out (the
 * endpoint rewrites the session cookie once the transaction committed). */
static int mutation_end_browser_session(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    char ulid[ULID_LEN + 1];
    if (input_id(info, "browserSessionId", GQL_NODE_BROWSER_SESSION, ulid) < 0)
        return -1;
    struct storage_browser_session b;
    int r = storage_browser_session_get(c->tx, ulid, &b);
    if (r < 0 && r != -ENOENT)
        return gql_storage_error(info, r);
    if (r == -ENOENT || !gql_owner_or_admin(c, b.user_id)) {
        *out = payload("NOT_FOUND", "browserSession", NULL);
        return *out ? 0 : gql_storage_error(info, -ENOMEM);
    }
    if ((r = account_session_end(c->tx, b.user_id, STORAGE_SESSION_BROWSER, ulid, c->now)) < 0 ||
        (r = storage_browser_session_get(c->tx, ulid, &b)) < 0)
        return gql_storage_error(info, r);
    if (c->kind == GQL_REQUESTER_BROWSER && !strcmp(c->browser.id, ulid))
        c->sign_out = true;
    *out = payload("ENDED", "browserSession", browser_object(&b));
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* A rename's push to the homeserver, before the transaction (gql.h). */
struct push_work {
    struct gql_work w;
    struct homeserver *hs;
    struct account_rename rn;
    int r; /* account_rename_push's */
};

static void push_run(struct gql_work *w)
{
    struct push_work *p = (struct push_work *)w;
    struct homeserver_result res;
    p->r = account_rename_push(p->hs, &p->rn, &res);
}

/* setCompatSessionName, setOauth2SessionName, as the account page does it (account_sessions.h):
 * the rename prepared, the devices' display name pushed to the homeserver outside the
 * transaction (gql_work_before), then, on the document's next run, prepared again and stored
 * if it still pushes what was pushed (else pushed again). A homeserver failure is an error, and
 * the name stays as it was (MAS). */
static int set_session_name(const gql_resolve_info *info, json_t **out, enum storage_session_kind kind,
                            const char *id_field, const char *payload_field)
{
    struct gql_ctx *c = gql_ctx(info);
    enum gql_node_type t = kind == STORAGE_SESSION_COMPAT ? GQL_NODE_COMPAT_SESSION : GQL_NODE_OAUTH2_SESSION;
    char ulid[ULID_LEN + 1];
    if (input_id(info, id_field, t, ulid) < 0)
        return -1;
    const char *name = json_string_value(json_object_get(json_object_get(info->args, "input"), "humanName"));
    struct storage_app_session s;
    json_t *o = NULL;
    if (app_load(info, kind, ulid, &s, &o) < 0)
        return -1;
    json_decref(o);
    struct account_rename rn;
    int r =
        o ? account_rename_prepare(c->tx, storage_app_session_user_id(&s), kind, ulid, name ? name : "", &rn)
          : 0;
    if (r < 0)
        return gql_storage_error(info, r);
    if (r == 0) {
        *out = payload("NOT_FOUND", payload_field, NULL);
        return *out ? 0 : gql_storage_error(info, -ENOMEM);
    }
    const struct push_work *done = (const struct push_work *)gql_work_done(info);
    bool push = rn.n_devices && !homeserver_read_only(c->hs);
    if (push && (!done || !account_rename_same(&done->rn, &rn))) {
        struct push_work *p = calloc(1, sizeof(*p));
        if (!p)
            return gql_storage_error(info, -ENOMEM);
        p->w.run = push_run;
        p->hs = c->hs;
        p->rn = rn;
        return gql_work_before(info, &p->w);
    }
    if (push && done->r < 0)
        return gql_error(info, "Failed to update the device name on the homeserver");
    if ((r = account_rename_store(c->tx, &rn)) < 0)
        return gql_storage_error(info, r);
    *out = payload("UPDATED", payload_field, app_object(&rn.session));
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

static int mutation_set_compat_session_name(const gql_resolve_info *info, json_t **out)
{
    /* MAS names the payload's session field oauth2Session here too */
    return set_session_name(info, out, STORAGE_SESSION_COMPAT, "compatSessionId", "oauth2Session");
}

static int mutation_set_oauth2_session_name(const gql_resolve_info *info, json_t **out)
{
    return set_session_name(info, out, STORAGE_SESSION_OAUTH, "oauth2SessionId", "oauth2Session");
}

static const gql_resolver resolvers[] = {
    {"User.browserSessions", user_browser_sessions, 5},
    {"User.appSessions", user_app_sessions, 5},
    {"Query.session", query_session, 1},
    {"BrowserSession.lastAuthentication", browser_last_authentication, 1},
    {"CompatSession.user", compat_user, 0},
    {"CompatSession.ssoLogin", compat_sso_login, 1},
    {"CompatSession.browserSession", session_browser_session, 1},
    {"Oauth2Session.browserSession", session_browser_session, 1},
    {"CompatSsoLogin.session", sso_login_session, 1},
    {"Mutation.endBrowserSession", mutation_end_browser_session, 1},
    {"Mutation.endCompatSession", mutation_end_compat_session, 1},
    {"Mutation.endOauth2Session", mutation_end_oauth2_session, 1},
    {"Mutation.setCompatSessionName", mutation_set_compat_session_name, 1},
    {"Mutation.setOauth2SessionName", mutation_set_oauth2_session_name, 1},
    {NULL, NULL, 0},
};

const struct gql_domain gql_sessions_domain = {
    .name = "sessions",
    .resolvers = resolvers,
    .nodes =
        {
            {GQL_NODE_BROWSER_SESSION, load_browser_session},
            {GQL_NODE_COMPAT_SESSION, load_compat_session},
            {GQL_NODE_OAUTH2_SESSION, load_oauth2_session},
        },
};
