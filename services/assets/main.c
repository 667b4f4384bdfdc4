/* masd-assets: the web front end's static files. Serves the `assets` resource under /assets/
 * from each listener's `path` (as MAS serves its front end); README.md lists the decisions.
 *
 *   asset_path.c   request path → index key; anything that could escape `path` is a 404
 *   asset_index.c  the files under each `path`: walked once, mapped read-only, swapped on reload
 *   asset_http.c   HTTP semantics: dates, ETags, ranges, content types, 200/206/304/412/416
 *   asset_serve.c  the handler that puts them together */
#include "asset_serve.h"
#include "server.h"

static const char *const resources[] = {"assets", NULL};

static const struct masd_route routes[] = {
    {"assets", ASSETS_ROUTE, ROUTE_PREFIX, "GET, HEAD", asset_serve},
    {0},
};

/* At start-up, and for --check (it only reads): index every assets `path`, so a request costs
 * no system call. */
static int setup(const struct config *cfg)
{
    return asset_serve_load(cfg);
}

/* systemctl reload (SIGHUP) after a deploy: index again and swap. */
static int reload(const struct config *cfg)
{
    return asset_serve_load(cfg);
}

static const struct masd_service service = {
    .name = "masd-assets",
    .summary = "serves the web front end's static files (resource: assets)",
    .resources = resources,
    .routes = routes,
    .setup = setup,
    .check = setup, /* indexes the files, read-only */
    .reload = reload,
    .max_request_body = 1024, /* its routes take no body */
    .no_secrets = true,
};

int main(int argc, char **argv)
{
    return masd_main(argc, argv, &service);
}
