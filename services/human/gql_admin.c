/* The admin domain of the GraphQL API (gql.h; MAS: crates/handlers/src/graphql/mutations/
 * oauth2_session.rs, create_oauth2_session): Mutation.createOauth2Session, by which an admin's
 * OAuth client gets an OAuth 2.0 session, and its tokens, for any user.
 *
 * Inside the request's transaction: the session with its devices (the token endpoint's rules:
 * one active session per (user, device)), an access token valid OAUTH_ADMIN_TOKEN_TTL_MS (no
 * expiry when permanent) and a refresh token (none when permanent). Once that committed, every
 * device of the scope is created on the homeserver before the answer (a gql_work after the commit:
 * hs_device_create, as the token endpoint, docs/architecture.md); a device the homeserver refuses
 * ends the session again and the answer is an error. Unlike MAS, a locked or deactivated user is
 * refused. */
#include "account_parse.h"
#include "gql.h"
#include "hs_sync.h"
#include "log.h"
#include "oauth_scope.h"
#include "token.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OAUTH_ADMIN_TOKEN_TTL_MS (5 * 60 * 1000) /* MAS: 5 minutes */

/* The session's devices on the homeserver, after the commit (gql_work_after; the token endpoint's
 * order: the device exists there before its token is handed out). hs_device_create ends the
 * session when the homeserver refuses a device. */
struct new_devices {
    struct gql_work w;
    struct storage_user user;
    char session_id[STORAGE_ID_SIZE];
    char ids[GQL_MAX_NEW_DEVICES][STORAGE_DEVICE_ID_MAX + 1];
    size_t n;
};

static void provision_devices(struct gql_work *w)
{
    struct new_devices *d = (struct new_devices *)w;
    for (size_t i = 0; i < d->n; i++) {
        struct homeserver_result res = {0};
        if (hs_device_create(human.st, human.hs, &human.cfg->matrix, &d->user, d->ids[i], NULL,
                             STORAGE_SESSION_OAUTH, d->session_id, &res) >= 0)
            continue;
        log_error("graphql: user %s: cannot create device %s on the homeserver, session %s ended: %s",
                  d->user.id, d->ids[i], d->session_id, res.message);
        snprintf(w->error, sizeof(w->error), "Failed to provision device");
        return;
    }
}

struct created {
    char access[TOKEN_LEN + 1];
    char refresh[TOKEN_LEN + 1];
    struct storage_oauth_session session;
};

/* The session, its devices and its tokens in the transaction: 0, or a storage error. */
static int create(struct gql_ctx *c, const struct storage_user *u, const char *scope,
                  char devices[][STORAGE_DEVICE_ID_MAX + 1], size_t n, bool permanent, struct created *out)
{
    int r = 0;
    if (n && (r = hs_session_may_start(c->tx, u->id, c->now)) < 0)
        return r;
    for (size_t i = 0; i < n && r >= 0; i++)
        r = storage_device_finish_sessions(c->tx, u->id, devices[i], c->now);
    if (r >= 0)
        r = storage_oauth_session_create(c->tx, c->oauth.client_id, u->id, NULL, scope, "", c->now,
                                         &out->session);
    for (size_t i = 0; i < n && r >= 0; i++)
        r = storage_oauth_session_add_device(c->tx, out->session.id, devices[i]);
    struct storage_access_token at;
    if (r >= 0)
        r = token_generate(TOKEN_ACCESS, out->access);
    if (r >= 0)
        r = storage_access_token_add(c->tx, STORAGE_SESSION_OAUTH, out->session.id, out->access,
                                     permanent ? 0 : c->now + OAUTH_ADMIN_TOKEN_TTL_MS, c->now, &at);
    struct storage_refresh_token rt;
    if (r >= 0 && !permanent)
        r = token_generate(TOKEN_REFRESH, out->refresh);
    if (r >= 0 && !permanent)
        r = storage_refresh_token_add(c->tx, STORAGE_SESSION_OAUTH, out->session.id, at.id, out->refresh,
                                      c->now, &rt);
    return r < 0 ? r : 0;
}

static int mutation_create_oauth2_session(const gql_resolve_info *info, json_t **out)
{
    struct gql_ctx *c = gql_ctx(info);
    /* an admin is always an OAuth session (gql.h): its client gets the new session */
    if (!c->admin || c->kind != GQL_REQUESTER_OAUTH)
        return gql_error(info, "Unauthorized");
    const json_t *in = json_object_get(info->args, "input");
    const char *id = json_string_value(json_object_get(in, "userId"));
    const char *scope_in = json_string_value(json_object_get(in, "scope"));
    bool permanent = json_is_true(json_object_get(in, "permanent"));
    enum gql_node_type type;
    char ulid[ULID_LEN + 1];
    if (!id || gql_id_parse(id, strlen(id), &type, ulid) < 0 || type != GQL_NODE_USER)
        return gql_error(info, "invalid id");
    char *scope = strdup(scope_in ? scope_in : "");
    if (!scope)
        return gql_storage_error(info, -ENOMEM);
    int r = oauth_scope_normalise(scope);
    if (r < 0) {
        free(scope);
        return r == -ENOMEM ? gql_storage_error(info, r) : gql_error(info, "Invalid scope");
    }
    struct storage_user u;
    if ((r = storage_user_get(c->tx, ulid, &u)) < 0) {
        free(scope);
        return r == -ENOENT ? gql_error(info, "User not found") : gql_storage_error(info, r);
    }
    if (u.locked_at || u.deactivated_at) {
        free(scope);
        return gql_error(info, "The user is locked or deactivated");
    }
    char devices[GQL_MAX_NEW_DEVICES + 1][STORAGE_DEVICE_ID_MAX + 1];
    size_t n = account_scope_devices(scope, devices, GQL_MAX_NEW_DEVICES + 1);
    if (n > GQL_MAX_NEW_DEVICES) {
        free(scope);
        return gql_error(info, "Too many devices in the scope");
    }
    struct created made = {0};
    r = create(c, &u, scope, devices, n, permanent, &made);
    free(scope);
    if (r == -EBUSY)
        return gql_error(info, "The user's devices are being synced, try again");
    if (r == -EEXIST)
        return gql_error(info, "A device of the scope is taken");
    if (r < 0)
        return gql_storage_error(info, r);
    if (n) {
        struct new_devices *d = calloc(1, sizeof(*d));
        if (!d)
            return gql_storage_error(info, -ENOMEM);
        d->w.run = provision_devices;
        d->user = u;
        memcpy(d->session_id, made.session.id, sizeof(d->session_id));
        memcpy(d->ids, devices, n * sizeof(devices[0]));
        d->n = n;
        if (gql_work_after(info, &d->w) < 0)
            return -1;
    }
    *out =
        json_pack("{s:s, s:s?, s:o}", "accessToken", made.access, "refreshToken",
                  permanent ? NULL : made.refresh, "oauth2Session", gql_oauth2_session_object(&made.session));
    return *out ? 0 : gql_storage_error(info, -ENOMEM);
}

static const gql_resolver resolvers[] = {
    {"Mutation.createOauth2Session", mutation_create_oauth2_session, 1},
    {NULL, NULL, 0},
};

const struct gql_domain gql_admin_domain = {
    .name = "admin",
    .resolvers = resolvers,
};
