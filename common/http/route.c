/* Matching requests against a service's route table, and which binary owns a resource. */
#include "route.h"
#include <stdio.h>
#include <string.h>

static const struct {
    const char *resource;
    const char *binary;
} owners[] = {
    {"health", ""},
    {"prometheus", ""},
    {"discovery", "masd-discovery"},
    {"oauth", "masd-oauth"},
    {"compat", "masd-oauth"},
    {"human", "masd-human"},
    {"graphql", "masd-human"},
    {"assets", "masd-assets"},
    {"adminapi", NULL},
    {"connection-info", NULL},
};

static int owner_index(const char *resource)
{
    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++)
        if (strcmp(owners[i].resource, resource) == 0)
            return (int)i;
    return -1;
}

const char *resource_binary(const char *resource)
{
    int i = owner_index(resource);
    return i < 0 ? NULL : owners[i].binary;
}

bool resource_known(const char *resource)
{
    return owner_index(resource) >= 0;
}

bool route_matches(const struct masd_route *r, masd_str path)
{
    const char *p = r->path;
    size_t i = 0;
    while (*p) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t start = i;
            while (i < path.len && path.ptr[i] != '/')
                i++;
            if (i == start)
                return false;
            p = close + 1;
            continue;
        }
        if (i >= path.len || path.ptr[i] != *p)
            return false;
        i++, p++;
    }
    return r->match == ROUTE_PREFIX ? true : i == path.len;
}

bool route_allows(const struct masd_route *r, masd_str method)
{
    masd_str rest = masd_str_from(r->methods), m;
    while (masd_str_next(&rest, ',', &m))
        if (masd_str_eq(masd_str_trim(m), method))
            return true;
    return false;
}

void route_nginx_location(const struct masd_route *r, const char *prefix, char *buf, size_t size)
{
    if (!prefix)
        prefix = "";
    if (!strchr(r->path, '{')) {
        snprintf(buf, size, "%s%s%s", r->match == ROUTE_EXACT ? "= " : "", prefix, r->path);
        return;
    }
    size_t n = (size_t)snprintf(buf, size, "~ ^%s", prefix);
    for (const char *p = r->path; *p && n + 8 < size; p++) {
        if (*p == '{') {
            n += (size_t)snprintf(buf + n, size - n, "[^/]+");
            p = strchr(p, '}');
        } else if (*p == '.') {
            n += (size_t)snprintf(buf + n, size - n, "\\.");
        } else {
            buf[n++] = *p;
        }
    }
    snprintf(buf + n, size - n, "%s", r->match == ROUTE_EXACT ? "$" : "");
}
