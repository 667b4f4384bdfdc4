/* masd-human: the pages a person uses in a browser (resource `human`): the index, the login and
 * logout, the OAuth 2.0 authorization endpoint and its consent page, the confirmation of a compat
 * SSO login, the device authorization grant's code entry and consent, the registration
 * (docs/architecture.md §8); and MAS's GraphQL API at /graphql (resource `graphql`, graphql.c).
 * It keeps its state in the shared database; the browser's session lives in MAS's encrypted
 * cookies (session.c). */
#include "activity.h"
#include "gql.h"
#include "homeserver.h"
#include "human.h"
#include "human_assets.h"
#include "jose.h"
#include "log.h"
#include "policy.h"
#include "secrets.h"
#include "storage.h"
#include "upstream_rp.h"
#include "upstream_sync.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Browser sessions whose activity is held in memory between flushes, at most. */
#define ACTIVITY_CAPACITY 65536

/* What follows from the configuration alone: no file, no connection, no thread (--check runs
 * it too). */
static int init(const struct config *cfg)
{
    human.cfg = cfg;
    if (!cfg->has_encryption)
        return log_errno(-EINVAL, "secrets.encryption is required: it seals the browser's cookies");
    int r = cookie_jar_new(cfg->encryption, &human.jar);
    if (r < 0)
        return log_errno(r, "cookies: cannot set up their encryption");
    char *error = NULL;
    if ((r = policy_new(cfg, &human.policy, &error)) < 0) {
        log_error("%s", error ? error : "policy: out of memory");
        free(error);
        return r;
    }
    /* public_base "https://auth.example.com/sub/": origin, path "/sub/", root "/sub" */
    const char *base = cfg->public_base, *sep = strstr(base, "://");
    const char *path = sep ? strchr(sep + 3, '/') : NULL;
    if (!path)
        return log_errno(-EINVAL, "http.public_base has no path");
    human.secure = strncmp(base, "https:", 6) == 0;
    human.origin = strndup(base, (size_t)(path - base));
    human.cookie_path = strdup(path);
    human.root = strndup(path, strlen(path) - 1);
    if (asprintf(&human.css, "%s/assets/%s", human.root, HUMAN_CSS_NAME) < 0)
        human.css = NULL;
    if ((r = human_graphql_init()) < 0)
        return r;
    human.branding = json_pack("{s:s, s:s?, s:s?, s:s?}", "server_name", cfg->matrix.homeserver, "policy_uri",
                               cfg->branding.policy_uri, "tos_uri", cfg->branding.tos_uri, "imprint",
                               cfg->branding.imprint);
    if (!human.origin || !human.cookie_path || !human.root || !human.css || !human.branding)
        return log_errno(-ENOMEM, "out of memory");
    return 0;
}

/* upstream_oauth2.providers into the database when the section changed since the last sync
 * (one read when it did not), as masd-oauth does for `clients`. A failure is logged: people
 * cannot sign in through the providers then, everything else works. */
static void sync_upstream_providers(const struct config *cfg)
{
    struct upstream_sync sync = {.only_if_changed = true};
    struct secrets *s = NULL;
    int r = secrets_from_config(cfg, &s);
    if (r < 0 && r != -ENOKEY) {
        log_errno(r, "upstream_oauth2: cannot set up encryption");
        return;
    }
    if ((r = upstream_sync_run(cfg, human.st, s, &sync)) < 0)
        log_errno(r, "upstream_oauth2: cannot write the providers to the database: %s", sync.error);
    else if (!sync.unchanged)
        log_info(
            "upstream_oauth2: the section changed since the last sync: %u provider(s) written, %u disabled",
            sync.written, sync.disabled);
    secrets_free(s);
}

static int setup(const struct config *cfg)
{
    int r = init(cfg);
    if (r < 0)
        return r;
    if ((r = storage_open(cfg, &human.st)) < 0)
        return log_errno(r, "cannot open the database: %s", storage_last_error());
    if ((r = storage_check_migrations(human.st)) < 0)
        return log_errno(r, "%s", storage_last_error());
    sync_upstream_providers(cfg);
    if ((r = homeserver_global_init()) < 0 || (r = homeserver_open(&cfg->matrix, &human.hs)) < 0)
        return log_errno(r, "matrix: cannot set up the homeserver connection: %s", strerror(-r));
    /* the upstream providers' relying party (curl is set up by homeserver_global_init) */
    bool keys = false;
    for (size_t i = 0; i < cfg->n_upstream_providers; i++)
        keys |= cfg->upstream_providers[i].token_endpoint_auth_method == UPSTREAM_AUTH_PRIVATE_KEY_JWT;
    if (keys && (r = jose_keyset_from_config(cfg, &human.keys)) < 0)
        return log_errno(r, "secrets.keys: cannot load them for private_key_jwt");
    if ((r = upstream_rp_open(human.keys, &human.rp)) < 0)
        return log_errno(r, "upstream_oauth2: cannot set up the relying party");
    if ((r = activity_start(human.st, ACTIVITY_CAPACITY)) < 0)
        return log_errno(r, "session activity: cannot start the flusher: %m");
    return 0;
}

static void shutdown_service(void)
{
    activity_stop();
    homeserver_close(human.hs);
    human.hs = NULL;
    upstream_rp_close(human.rp);
    human.rp = NULL;
    jose_keyset_free(human.keys);
    human.keys = NULL;
}

static int health(void)
{
    unsigned current, latest;
    return storage_schema_version(human.st, &current, &latest);
}

static const char *const resources[] = {"human", "graphql", NULL};

/* The route table: resource, path, methods, handler. Everything else under the listener is the
 * HTML "not found" page (nginx sends masd-human whatever the other services do not take). */
static const struct masd_route routes[] = {
    {"human", "/", ROUTE_EXACT, "GET, HEAD", human_index},
    {"human", "/login", ROUTE_EXACT, "GET, HEAD, POST", human_login},
    {"human", "/logout", ROUTE_EXACT, "POST", human_logout},
    {"human", "/authorize", ROUTE_EXACT, "GET, HEAD", human_authorize},
    {"human", "/consent/{grant_id}", ROUTE_EXACT, "GET, HEAD, POST", human_consent},
    {"human", "/register", ROUTE_EXACT, "GET, HEAD", human_register},
    {"human", "/register/password", ROUTE_EXACT, "GET, HEAD, POST", human_register_password},
    {"human", "/register/steps/{id}/finish", ROUTE_EXACT, "GET, HEAD", human_register_step},
    {"human", "/register/steps/{id}/token", ROUTE_EXACT, "GET, HEAD, POST", human_register_step},
    {"human", "/register/steps/{id}/display-name", ROUTE_EXACT, "GET, HEAD, POST", human_register_step},
    {"human", "/register/steps/{id}/verify-email", ROUTE_EXACT, "GET, HEAD, POST", human_register_step},
    /* compat SSO: a legacy Matrix client's sign-in, confirmed (issue #13) */
    {"human", "/complete-compat-sso/{id}", ROUTE_EXACT, "GET, HEAD, POST", human_compat_sso},
    /* the device authorization grant (RFC 8628): the user code, then the device's consent */
    {"human", "/link", ROUTE_EXACT, "GET, HEAD, POST", human_link},
    {"human", "/device/{grant_id}", ROUTE_EXACT, "GET, HEAD, POST", human_device},
    /* account recovery: the e-mail, then the mailed link (anonymous, unlike the rest of /account/:
     * it stays above any /account/ prefix route, since the first route that matches serves) */
    {"human", "/recover", ROUTE_EXACT, "GET, HEAD, POST", human_recover},
    {"human", "/recover/progress/{id}", ROUTE_EXACT, "GET, HEAD, POST", human_recover_progress},
    {"human", "/account/password/recovery", ROUTE_EXACT, "GET, HEAD, POST", human_recovery_password},
    {"human", "/account", ROUTE_EXACT, "GET, HEAD", human_account},
    {"human", "/account/", ROUTE_EXACT, "GET, HEAD, POST", human_account},
    /* the account pages (account_page.c) */
    {"human", "/account/emails/{id}/verify", ROUTE_EXACT, "GET, HEAD, POST", human_account_verify_email},
    {"human", "/account/password/change", ROUTE_EXACT, "GET, HEAD, POST", human_account_password},
    {"human", "/account/deactivate", ROUTE_EXACT, "GET, HEAD, POST", human_account_deactivate},
    {"human", "/account/reset-cross-signing", ROUTE_EXACT, "GET, HEAD, POST",
     human_account_reset_cross_signing},
    {"human", "/.well-known/change-password", ROUTE_EXACT, "GET, HEAD", human_change_password_well_known},
    /* the account's sessions (issue #14) */
    {"human", "/account/sessions", ROUTE_EXACT, "GET, HEAD", human_account_sessions},
    {"human", "/account/sessions/browsers", ROUTE_EXACT, "GET, HEAD", human_account_browsers},
    {"human", "/account/sessions/{id}", ROUTE_EXACT, "GET, HEAD, POST", human_account_session},
    {"human", "/account/devices/{device_id}", ROUTE_EXACT, "GET, HEAD", human_account_device},
    /* sign-in at an upstream OAuth 2.0 / OpenID Connect provider (docs/upstream-oauth.md) */
    {"human", "/upstream/authorize/{provider}", ROUTE_EXACT, "GET, HEAD", human_upstream_authorize},
    {"human", "/upstream/callback/{provider}", ROUTE_EXACT, "GET, HEAD, POST", human_upstream_callback},
    /* upstream identity providers: after the callback, log in, register or link */
    {"human", "/upstream/link/{link_id}", ROUTE_EXACT, "GET, HEAD, POST", human_upstream_link},
    {"human", "/upstream/backchannel-logout/{provider}", ROUTE_EXACT, "POST",
     human_upstream_backchannel_logout},
    /* MAS's GraphQL API (resource `graphql`; docs/graphql.md "The endpoint") */
    {"graphql", "/graphql", ROUTE_EXACT, "GET, POST, OPTIONS", human_graphql},
    {0},
};

static const struct masd_service service = {
    .name = "masd-human",
    .summary =
        "Serves the pages of masd a person uses in a browser: login, logout, authorization and consent.",
    .resources = resources,
    .routes = routes,
    .setup = setup,
    .check = init,
    .shutdown = shutdown_service,
    .health = health,
    .method_not_allowed = human_method_not_allowed,
    .not_found = human_not_found,
    /* Its forms are a few hundred bytes; a GraphQL request may hold a 64 KiB document (the
     * engine's max_document_bytes) in JSON. */
    .max_request_body = 80 * 1024,
    /* a registration asks the homeserver whether the name is free, and provisions the user */
    .outbound = true,
};

int main(int argc, char **argv)
{
    return masd_main(argc, argv, &service);
}
