/* The core of the GraphQL API (gql.h): who asks (Query.viewer, Query.viewerSession), the site's
 * configuration (Query.siteConfig), OAuth clients (Query.oauth2Client, Oauth2Session.client),
 * Query.node's dispatch to every domain's loaders, and the User with its e-mail addresses.
 * MAS: crates/handlers/src/graphql/query/{mod,viewer}.rs, model/{users,site_config,oauth}.rs. */
#include "gql.h"
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gql_owner_or_admin(const struct gql_ctx *c, const char *user_id)
{
    return c->admin || (c->user && user_id && strcmp(c->user->id, user_id) == 0);
}

int gql_storage_error(const gql_resolve_info *info, int r)
{
    log_error("graphql: %s.%s: %s", info->type_name, info->field_name,
              r == -ENOMEM ? "out of memory" : storage_last_error());
    return gql_error(info, "Internal error");
}

/* ---- slow work outside the transaction (gql.h) ------------------------------------------------- */

void gql_works_free(struct gql_work *list)
{
    while (list) {
        struct gql_work *next = list->next;
        json_decref(list->path);
        free(list->key);
        if (list->free)
            list->free(list);
        else
            free(list);
        list = next;
    }
}

/* Puts w at the end of *list, with the field's path: 0, or -1 after an error (w freed). */
static int work_add(const gql_resolve_info *info, struct gql_work **list, struct gql_work *w)
{
    struct gql_ctx *c = gql_ctx(info);
    w->next = NULL;
    if (!c->mutation || !c->works) {
        gql_works_free(w);
        log_error("graphql: %s.%s: work outside a transaction asked outside a mutation", info->type_name,
                  info->field_name);
        return gql_error(info, "Internal error");
    }
    if (c->works->n >= GQL_WORK_MAX) {
        gql_works_free(w);
        return gql_error(info, "Too many changes in one request");
    }
    if (!(w->path = gql_path(info)) || !(w->key = json_dumps(w->path, JSON_COMPACT))) {
        gql_works_free(w);
        return gql_storage_error(info, -ENOMEM);
    }
    c->works->n++;
    while (*list)
        list = &(*list)->next;
    *list = w;
    return 0;
}

int gql_work_before(const gql_resolve_info *info, struct gql_work *w)
{
    struct gql_ctx *c = gql_ctx(info);
    if (work_add(info, &c->works->before, w) < 0)
        return -1;
    c->works->rerun = true;
    return 0;
}

int gql_work_after(const gql_resolve_info *info, struct gql_work *w)
{
    return work_add(info, &gql_ctx(info)->works->after, w);
}

struct gql_work *gql_work_done(const gql_resolve_info *info)
{
    struct gql_ctx *c = gql_ctx(info);
    if (!c->works || !c->works->before)
        return NULL;
    json_t *path = gql_path(info);
    char *key = path ? json_dumps(path, JSON_COMPACT) : NULL;
    json_decref(path);
    struct gql_work *found = NULL;
    /* the newest of the field's: an earlier one may be stale (it asked again) */
    for (struct gql_work *w = c->works->before; key && w; w = w->next)
        if (w->done && strcmp(w->key, key) == 0)
            found = w;
    free(key);
    return found;
}

/* ---- User ------------------------------------------------------------------------------------ */

json_t *gql_user_object(const struct storage_user *u)
{
    json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:b}", "__typename", "User", "id",
                          gql_id_json(GQL_NODE_USER, u->id), "username", u->username, "createdAt",
                          gql_datetime(u->created_at), "lockedAt", gql_datetime(u->locked_at),
                          "canRequestAdmin", u->can_request_admin);
    return o;
}

int gql_user_load(struct gql_ctx *c, const char *user_id, json_t **out)
{
    *out = NULL;
    if (!gql_owner_or_admin(c, user_id))
        return 0;
    if (c->user && strcmp(c->user->id, user_id) == 0)
        return (*out = gql_user_object(c->user)) ? 0 : -ENOMEM;
    struct storage_user u;
    int r = storage_user_get(c->tx, user_id, &u);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    return (*out = gql_user_object(&u)) ? 0 : -ENOMEM;
}

static int user_has_password(const gql_resolve_info *info, json_t **out)
{
    char id[ULID_LEN + 1];
    gql_parent_ulid(info, GQL_NODE_USER, id);
    struct storage_password p;
    int r = storage_password_get_active(gql_ctx(info)->tx, id, &p);
    if (r < 0 && r != -ENOENT)
        return gql_storage_error(info, r);
    *out = json_boolean(r == 0);
    return 0;
}

static json_t *email_object(const struct storage_email *e)
{
    return json_pack("{s:s, s:o, s:s, s:o}", "__typename", "UserEmail", "id",
                     gql_id_json(GQL_NODE_USER_EMAIL, e->id), "email", e->email, "createdAt",
                     gql_datetime(e->created_at));
}

/* User.emails: a keyset page over the user's addresses by ID (MAS: model/users.rs emails). */
static int user_emails(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct gql_page page;
    if (gql_page_args(info, GQL_NODE_BIT(GQL_NODE_USER_EMAIL), &page) < 0)
        return -1;
    char id[ULID_LEN + 1];
    gql_parent_ulid(info, GQL_NODE_USER, id);
    struct storage_email *rows = NULL;
    size_t n = 0;
    int64_t total = -1;
    int r = storage_email_page(c->tx, id, page.after, page.before, page.limit + 1, page.backward, &rows, &n);
    if (r >= 0 && gql_selects(info, "totalCount"))
        r = storage_email_count(c->tx, id, &total);
    struct gql_connection conn;
    gql_connection_init(&conn, &page);
    for (size_t i = 0; r >= 0 && i < n; i++)
        r = gql_connection_add(&conn, GQL_NODE_USER_EMAIL, rows[i].id, email_object(&rows[i]));
    free(rows);
    if (r < 0) {
        gql_connection_clear(&conn);
        return gql_storage_error(info, r);
    }
    if (!(*out = gql_connection_finish(&conn, total)))
        return gql_storage_error(info, -ENOMEM);
    return 0;
}

static int load_user(const gql_resolve_info *info, const char *ulid, json_t **out)
{
    int r = gql_user_load(gql_ctx(info), ulid, out);
    return r < 0 ? gql_storage_error(info, r) : 0;
}

static int load_user_email(const gql_resolve_info *info, const char *ulid, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    struct storage_email e;
    *out = NULL;
    int r = storage_email_get(c->tx, ulid, &e);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    if (gql_owner_or_admin(c, e.user_id) && !(*out = email_object(&e)))
        return gql_storage_error(info, -ENOMEM);
    return 0;
}

/* ---- OAuth clients --------------------------------------------------------------------------- */

static const char *meta_string(const json_t *meta, const char *key)
{
    return json_string_value(json_object_get(meta, key));
}

/* The Oauth2Client object (MAS: model/oauth.rs OAuth2Client). */
static json_t *client_object(const struct storage_oauth_client *cl)
{
    json_t *meta = cl->metadata ? json_loads(cl->metadata, 0, NULL) : NULL;
    json_t *uris = cl->redirect_uris ? json_loads(cl->redirect_uris, 0, NULL) : NULL;
    const char *type = meta_string(meta, "application_type");
    const char *app = type && strcmp(type, "web") == 0      ? "WEB"
                      : type && strcmp(type, "native") == 0 ? "NATIVE"
                                                            : NULL;
    json_t *o =
        json_pack("{s:s, s:o, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:s?}", "__typename", "Oauth2Client",
                  "id", gql_id_json(GQL_NODE_OAUTH2_CLIENT, cl->id), "clientId", cl->id, "clientName",
                  meta_string(meta, "client_name"), "clientUri", meta_string(meta, "client_uri"), "logoUri",
                  meta_string(meta, "logo_uri"), "tosUri", meta_string(meta, "tos_uri"), "policyUri",
                  meta_string(meta, "policy_uri"), "redirectUris",
                  json_is_array(uris) ? json_incref(uris) : json_array(), "applicationType", app);
    json_decref(meta);
    json_decref(uris);
    return o;
}

/* 0 with *out the client's object (NULL: no such client), or a field error. */
static int client_load(const gql_resolve_info *info, const char *id, json_t **out)
{
    struct storage_oauth_client cl;
    *out = NULL;
    int r = storage_oauth_client_get(gql_ctx(info)->tx, id, &cl);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return gql_storage_error(info, r);
    *out = client_object(&cl);
    storage_oauth_client_clear(&cl);
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* Query.oauth2Client: any client, whoever asks (MAS: its metadata is public). */
static int query_oauth2_client(const gql_resolve_info *info, json_t **out)
{
    char id[ULID_LEN + 1];
    if (gql_arg_id(info, "id", GQL_NODE_OAUTH2_CLIENT, id) < 0)
        return -1;
    return client_load(info, id, out);
}

static int session_client(const gql_resolve_info *info, json_t **out)
{
    const char *id = json_string_value(json_object_get(info->parent, "_clientId"));
    return client_load(info, id ? id : "", out);
}

/* ---- sessions as the requester sees them ------------------------------------------------------- */

static json_t *browser_session_object(const struct storage_browser_session *s)
{
    return json_pack("{s:s, s:o, s:s, s:o, s:o, s:s, s:o*, s:s?, s:o}", "__typename", "BrowserSession", "id",
                     gql_id_json(GQL_NODE_BROWSER_SESSION, s->id), "_userId", s->user_id, "createdAt",
                     gql_datetime(s->created_at), "finishedAt", gql_datetime(s->finished_at), "state",
                     s->finished_at ? "FINISHED" : "ACTIVE", "userAgent", gql_user_agent(s->user_agent),
                     "lastActiveIp", s->last_active_ip[0] ? s->last_active_ip : NULL, "lastActiveAt",
                     gql_datetime(s->last_active_at));
}

static json_t *oauth2_session_object(const struct storage_oauth_session *s)
{
    return json_pack("{s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:s, s:o*, s:s?, s:o, s:s?}", "__typename",
                     "Oauth2Session", "id", gql_id_json(GQL_NODE_OAUTH2_SESSION, s->id), "_clientId",
                     s->client_id, "_userId", s->user_id, "scope", s->scope, "createdAt",
                     gql_datetime(s->created_at), "finishedAt", gql_datetime(s->finished_at), "state",
                     s->finished_at ? "FINISHED" : "ACTIVE", "userAgent", gql_user_agent(s->user_agent),
                     "lastActiveIp", s->last_active_ip[0] ? s->last_active_ip : NULL, "lastActiveAt",
                     gql_datetime(s->last_active_at), "humanName", s->human_name[0] ? s->human_name : NULL);
}

/* BrowserSession.user and Oauth2Session.user: the owner, from the object's "_userId". */
static int session_user(const gql_resolve_info *info, json_t **out)
{
    const char *id = json_string_value(json_object_get(info->parent, "_userId"));
    *out = NULL;
    if (!id || !id[0])
        return 0;
    int r = gql_user_load(gql_ctx(info), id, out);
    return r < 0 ? gql_storage_error(info, r) : 0;
}

static json_t *anonymous(void)
{
    return json_pack("{s:s, s:s}", "__typename", "Anonymous", "id", "anonymous");
}

/* Query.viewer: the requester's user, else Anonymous (MAS: query/viewer.rs). */
static int query_viewer(const gql_resolve_info *info, json_t **out)
{
    const struct gql_ctx *c = gql_ctx(info);
    *out = c->user ? gql_user_object(c->user) : anonymous();
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* Query.viewerSession: the browser session or the OAuth session the request came with. */
static int query_viewer_session(const gql_resolve_info *info, json_t **out)
{
    const struct gql_ctx *c = gql_ctx(info);
    *out = c->kind == GQL_REQUESTER_BROWSER ? browser_session_object(&c->browser)
           : c->kind == GQL_REQUESTER_OAUTH ? oauth2_session_object(&c->oauth)
                                            : anonymous();
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* ---- siteConfig (MAS: model/site_config.rs, cli/src/util.rs site_config_from_config) ----------- */

static int query_site_config(const gql_resolve_info *info, json_t **out)
{
    const struct config *cfg = gql_ctx(info)->cfg;
    const struct config_session_limit *sl = cfg->session_limit;
    json_t *limit = sl ? json_pack("{s:I, s:I, s:b}", "softLimit", (json_int_t)sl->soft_limit, "hardLimit",
                                   (json_int_t)sl->hard_limit, "dangerousHardLimitEviction",
                                   sl->dangerous_hard_limit_eviction)
                       : json_null();
    json_t *captcha = cfg->captcha.service ? json_pack("{s:s, s:s, s:s}", "id", "captcha_config", "service",
                                                       cfg->captcha.service, "siteKey", cfg->captcha.site_key)
                                           : json_null();
    bool passwords = cfg->passwords.enabled;
    *out = json_pack("{s:s, s:s, s:o, s:s?, s:s?, s:s?, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:b, s:s?, s:o}",
                     "id", "site_config", "serverName", cfg->matrix.homeserver, "captchaConfig", captcha,
                     "policyUri", cfg->branding.policy_uri, "tosUri", cfg->branding.tos_uri, "imprint",
                     cfg->branding.imprint, "emailChangeAllowed", cfg->email_change_allowed,
                     "displayNameChangeAllowed", cfg->displayname_change_allowed, "passwordLoginEnabled",
                     passwords, "passwordChangeAllowed", passwords && cfg->password_change_allowed,
                     "passwordRegistrationEnabled", passwords && cfg->password_registration_enabled,
                     "accountDeactivationAllowed", cfg->account_deactivation_allowed,
                     "minimumPasswordComplexity", (int)cfg->passwords.minimum_complexity,
                     "loginWithEmailAllowed", cfg->login_with_email_allowed, "planManagementIframeUri",
                     cfg->plan_management_iframe_uri, "sessionLimit", limit);
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

/* ---- Query.node -------------------------------------------------------------------------------- */

static const struct gql_domain *const *node_domains;
static size_t n_node_domains;

void gql_node_domains(const struct gql_domain *const *domains, size_t n)
{
    node_domains = domains;
    n_node_domains = n;
}

/* Query.node: the ID's prefix picks the loader a domain registered; a type no domain loads
 * (authentication, compat_sso_login, user_recovery_ticket, as in MAS) is null. */
static int query_node(const gql_resolve_info *info, json_t **out)
{
    const json_t *v = json_object_get(info->args, "id");
    enum gql_node_type type;
    char ulid[ULID_LEN + 1];
    *out = NULL;
    if (!json_is_string(v) || gql_id_parse(json_string_value(v), json_string_length(v), &type, ulid) < 0)
        return gql_error(info, "invalid id");
    for (size_t d = 0; d < n_node_domains; d++)
        for (size_t i = 0; i < sizeof(node_domains[d]->nodes) / sizeof(node_domains[d]->nodes[0]) &&
                           node_domains[d]->nodes[i].load;
             i++)
            if (node_domains[d]->nodes[i].type == type)
                return node_domains[d]->nodes[i].load(info, ulid, out);
    return 0;
}

static int load_client(const gql_resolve_info *info, const char *ulid, json_t **out)
{
    return client_load(info, ulid, out);
}

static const gql_resolver resolvers[] = {
    {"Query.viewer", query_viewer, 0},
    {"Query.viewerSession", query_viewer_session, 0},
    {"Query.siteConfig", query_site_config, 0},
    {"Query.oauth2Client", query_oauth2_client, 0},
    {"Query.node", query_node, 0},
    {"User.hasPassword", user_has_password, 0},
    {"User.emails", user_emails, 2},
    {"BrowserSession.user", session_user, 0},
    {"Oauth2Session.user", session_user, 0},
    {"Oauth2Session.client", session_client, 0},
    {NULL, NULL, 0},
};

const struct gql_domain gql_core_domain = {
    .name = "core",
    .resolvers = resolvers,
    .nodes =
        {
            {GQL_NODE_USER, load_user},
            {GQL_NODE_USER_EMAIL, load_user_email},
            {GQL_NODE_OAUTH2_CLIENT, load_client},
        },
};

json_t *gql_browser_session_object(const struct storage_browser_session *s)
{
    return browser_session_object(s);
}

json_t *gql_oauth2_session_object(const struct storage_oauth_session *s)
{
    return oauth2_session_object(s);
}
