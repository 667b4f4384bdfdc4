/* masd-oauth: the Matrix compat API (login, the SSO redirect, logout, refresh) and the OAuth 2.0
 * endpoints the homeserver and clients call (introspection, revocation, keys). It owns the resources `oauth`
 * and `compat`, keeps its state in the shared database, and tells the homeserver about new
 * devices (hs_sync.h): synchronously at login, through masd-worker's jobs otherwise. */
#include "activity.h"
#include "homeserver.h"
#include "log.h"
#include "compat/matrix_error.h"
#include "compat/compat.h"
#include "oauth.h"
#include "server.h"
#include "storage.h"
#include <errno.h>
#include <string.h>

/* Session activity kept in memory between flushes: sessions, at most. */
#define ACTIVITY_CAPACITY 65536

/* The database must be reachable and its schema current: a service that started on an old
 * schema would fail request by request instead of once, here. */
static int setup(const struct config *cfg)
{
    int r = oauth_service_init(cfg);
    if (r < 0)
        return r;
    if ((r = storage_open(cfg, &oauth.st)) < 0)
        return log_errno(r, "cannot open the database: %s", storage_last_error());
    if ((r = storage_check_migrations(oauth.st)) < 0)
        return log_errno(r, "%s", storage_last_error());
    if ((r = homeserver_global_init()) < 0 || (r = homeserver_open(&cfg->matrix, &oauth.hs)) < 0)
        return log_errno(r, "matrix: cannot set up the homeserver connection: %s", strerror(-r));
    if ((r = compat_login_setup(cfg)) < 0)
        return r;
    if ((r = activity_start(oauth.st, ACTIVITY_CAPACITY)) < 0)
        return log_errno(r, "session activity: cannot start the flusher: %m");
    return 0;
}

/* --check: what setup checks without the database, the homeserver connection or the activity
 * flusher (no file created, no thread started). */
static int check(const struct config *cfg)
{
    int r = oauth_service_init(cfg);
    return r < 0 ? r : compat_login_setup(cfg);
}

/* After the loops and pools stopped: the activity map's last flush, then the connections. */
static void shutdown_service(void)
{
    activity_stop();
    homeserver_close(oauth.hs);
    oauth.hs = NULL;
}

/* The health route: one round trip to the database (on the worker pool). */
static int health(void)
{
    unsigned current, latest;
    return storage_schema_version(oauth.st, &current, &latest);
}

/* A method the route does not take, in the route's own error format: Matrix JSON for the compat
 * API (as the Matrix spec asks of unknown endpoints), OAuth JSON for the OAuth endpoints. */
static void method_not_allowed(struct masd_request *r)
{
    if (r->resource && strcmp(r->resource->name, "compat") == 0)
        matrix_error(r, 405, "M_UNRECOGNIZED", "Unrecognized request");
    else
        oauth_error(r, 405, "invalid_request", "This endpoint does not take that method");
}

static const char *const resources[] = {"oauth", "compat", NULL};

/* The route table: resource, path, methods, handler. */
static const struct masd_route routes[] = {
    {"oauth", "/oauth2/keys.json", ROUTE_EXACT, "GET, HEAD, OPTIONS", oauth_keys},
    {"oauth", "/oauth2/introspect", ROUTE_EXACT, "POST, OPTIONS", oauth_introspect},
    {"oauth", "/oauth2/revoke", ROUTE_EXACT, "POST, OPTIONS", oauth_revoke},
    {"oauth", "/oauth2/token", ROUTE_EXACT, "POST, OPTIONS", oauth_token},
    {"oauth", "/oauth2/device", ROUTE_EXACT, "POST, OPTIONS", oauth_device},
    {"oauth", "/oauth2/registration", ROUTE_EXACT, "POST, OPTIONS", oauth_registration},
    {"oauth", "/oauth2/userinfo", ROUTE_EXACT, "GET, HEAD, POST, OPTIONS", oauth_userinfo},
    {"compat", "/_matrix/client/{version}/login", ROUTE_EXACT, "GET, HEAD, POST, OPTIONS", compat_login},
    /* compat SSO: the browser step of m.login.sso; {idp} names an upstream provider */
    {"compat", "/_matrix/client/{version}/login/sso/redirect", ROUTE_EXACT, "GET, HEAD", compat_sso_redirect},
    {"compat", "/_matrix/client/{version}/login/sso/redirect/", ROUTE_EXACT, "GET, HEAD",
     compat_sso_redirect},
    {"compat", "/_matrix/client/{version}/login/sso/redirect/{idp}", ROUTE_EXACT, "GET, HEAD",
     compat_sso_redirect},
    {"compat", "/_matrix/client/{version}/logout", ROUTE_EXACT, "POST, OPTIONS", compat_logout},
    {"compat", "/_matrix/client/{version}/logout/all", ROUTE_EXACT, "POST, OPTIONS", compat_logout_all},
    {"compat", "/_matrix/client/{version}/refresh", ROUTE_EXACT, "POST, OPTIONS", compat_refresh},
    {0},
};

static const struct masd_service service = {
    .name = "masd-oauth",
    .summary = "Serves the Matrix compat API (login, logout, refresh) and the OAuth 2.0 endpoints of masd.",
    .resources = resources,
    .routes = routes,
    .setup = setup,
    .check = check,
    .shutdown = shutdown_service,
    .health = health,
    .method_not_allowed = method_not_allowed,
    .outbound = true, /* a login creates its device on the homeserver before it answers */
    /* Nothing it serves takes more than a few KiB (compat's own limit is COMPAT_BODY_MAX): h2o
     * holds a body whole before a handler runs, so this bounds a flood of half-sent bodies
     * (bench/memory.sh). Above it h2o answers its plain-text 413 before any route is chosen. */
    .max_request_body = 64 * 1024,
};

int main(int argc, char **argv)
{
    return masd_main(argc, argv, &service);
}
