/* Route matching, methods, and the nginx locations a service prints, on a table shaped like the
 * services' own (route.h). */
#include "check.h"
#include "route.h"

static const struct masd_route routes[] = {
    {"discovery", "/.well-known/openid-configuration", ROUTE_EXACT, "GET, HEAD, OPTIONS", NULL},
    {"assets", "/assets/", ROUTE_PREFIX, "GET, HEAD", NULL},
    {"compat", "/_matrix/client/{version}/login", ROUTE_EXACT, "GET, HEAD, POST, OPTIONS", NULL},
    {"compat", "/_matrix/client/{version}/refresh", ROUTE_EXACT, "POST, OPTIONS", NULL},
    {0},
};

static const struct masd_route *find(const char *path)
{
    for (const struct masd_route *r = routes; r->path; r++)
        if (strcmp(r->path, path) == 0)
            return r;
    return NULL;
}

static void test_matching(void)
{
    const struct masd_route *oidc = find("/.well-known/openid-configuration");
    const struct masd_route *assets = find("/assets/");
    const struct masd_route *login = find("/_matrix/client/{version}/login");
    const struct masd_route *refresh = find("/_matrix/client/{version}/refresh");
    CHECK(oidc && assets && login && refresh);
    CHECK(route_matches(oidc, MASD_STR("/.well-known/openid-configuration")));
    CHECK(!route_matches(oidc, MASD_STR("/.well-known/openid-configuration/")));
    CHECK(!route_matches(oidc, MASD_STR("/.well-known/openid-configurationx")));
    CHECK(!route_matches(oidc, MASD_STR("/.well-known/openid")));
    CHECK(route_matches(assets, MASD_STR("/assets/app.js")));
    CHECK(route_matches(assets, MASD_STR("/assets/")));
    CHECK(!route_matches(assets, MASD_STR("/assets")));
    CHECK(!route_matches(assets, MASD_STR("/asset/x")));
    CHECK(route_matches(refresh, MASD_STR("/_matrix/client/v3/refresh")));
    CHECK(route_matches(refresh, MASD_STR("/_matrix/client/r0/refresh")));
    CHECK(!route_matches(refresh, MASD_STR("/_matrix/client//refresh")));
    CHECK(!route_matches(refresh, MASD_STR("/_matrix/client/v3/x/refresh")));
    CHECK(!route_matches(refresh, MASD_STR("/_matrix/client/v3/refresh/x")));
    CHECK(!route_matches(login, MASD_STR("/_matrix/client/v3/login/sso/redirect")));
    CHECK(route_matches(login, MASD_STR("/_matrix/client/v3/login")));
}

static void test_methods(void)
{
    const struct masd_route *oidc = find("/.well-known/openid-configuration");
    CHECK(route_allows(oidc, MASD_STR("GET")));
    CHECK(route_allows(oidc, MASD_STR("HEAD")));
    CHECK(route_allows(oidc, MASD_STR("OPTIONS")));
    CHECK(!route_allows(oidc, MASD_STR("POST")));
    CHECK(!route_allows(oidc, MASD_STR("get")));
    CHECK(!route_allows(oidc, MASD_STR("GE")));
    CHECK(!route_allows(oidc, MASD_STR("")));
}

static void test_nginx_locations(void)
{
    char buf[256];
    route_nginx_location(find("/.well-known/openid-configuration"), NULL, buf, sizeof(buf));
    CHECK_STR(buf, "= /.well-known/openid-configuration");
    route_nginx_location(find("/assets/"), "/auth", buf, sizeof(buf));
    CHECK_STR(buf, "/auth/assets/");
    route_nginx_location(find("/_matrix/client/{version}/refresh"), NULL, buf, sizeof(buf));
    CHECK_STR(buf, "~ ^/_matrix/client/[^/]+/refresh$");
}

static void test_owners(void)
{
    CHECK_STR(resource_binary("discovery"), "masd-discovery");
    CHECK_STR(resource_binary("assets"), "masd-assets");
    CHECK_STR(resource_binary("compat"), "masd-oauth");
    CHECK_STR(resource_binary("graphql"), "masd-human");
    CHECK_STR(resource_binary("health"), "");
    CHECK(resource_binary("adminapi") == NULL);
    CHECK(resource_known("connection-info"));
    CHECK(!resource_known("spa"));
    CHECK(!resource_known("Discovery"));
}

int main(void)
{
    test_matching();
    test_methods();
    test_nginx_locations();
    test_owners();
    return check_report(__FILE__);
}
