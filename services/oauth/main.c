/* masd-oauth: the Matrix compat API (login, logout, refresh) and the OAuth 2.0 endpoints the
 * homeserver and clients call (introspection, revocation, keys). It owns the resources `oauth`
 * and `compat`, keeps its state in the shared database, and tells the homeserver about new
 * devices (hs_sync.h): synchronously at login, through masd-worker's jobs otherwise. */
#include "client_auth.h"
#include "homeserver.h"
#include "log.h"
#include "matrix_error.h"
#include "oauth.h"
#include "oauth_handlers.h"
#include "server.h"
#include "storage.h"
#include <errno.h>
#include <string.h>

const struct config *oauth_config;
struct storage *oauth_storage;
struct homeserver *oauth_homeserver;

/* The database must be reachable and its schema current: a service that started on an old
 * schema would fail request by request instead of once, here. */
static int setup(const struct config *cfg)
{
    oauth_config = cfg;
    int r = storage_open(cfg, &oauth_storage);
    if (r < 0)
        return log_errno(r, "cannot open the database: %s", storage_last_error());
    r = storage_check_migrations(oauth_storage);
    if (r < 0)
        return log_errno(r, "%s", storage_last_error());
    if ((r = homeserver_global_init()) < 0 || (r = homeserver_open(&cfg->matrix, &oauth_homeserver)) < 0)
        return log_errno(r, "matrix: cannot set up the homeserver connection: %s", strerror(-r));
    r = compat_login_setup(cfg);
    if (r >= 0)
        r = oauth_handlers_setup(cfg, oauth_storage);
    return r;
}

/* After the loops and pools stopped: the activity map's last flush, then the connections. */
static void shutdown_service(void)
{
    oauth_handlers_shutdown();
    homeserver_close(oauth_homeserver);
    oauth_homeserver = NULL;
}

/* The health route: one round trip to the database (on the worker pool). */
static int health(void)
{
    unsigned current, latest;
    return storage_schema_version(oauth_storage, &current, &latest);
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

static const struct masd_handler handlers[] = {
    {"/oauth2/keys.json", oauth_keys},
    {"/oauth2/introspect", oauth_introspect},
    {"/oauth2/revoke", oauth_revoke},
    {"/_matrix/client/{version}/login", compat_login},
    {"/_matrix/client/{version}/logout", compat_logout},
    {"/_matrix/client/{version}/logout/all", compat_logout_all},
    {"/_matrix/client/{version}/refresh", compat_refresh},
    {NULL, NULL},
};

static const struct masd_service service = {
    .name = "masd-oauth",
    .summary = "Serves the Matrix compat API (login, logout, refresh) and the OAuth 2.0 endpoints of masd.",
    .resources = resources,
    .handlers = handlers,
    .setup = setup,
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
