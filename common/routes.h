/* Every HTTP route of every masd binary, in one table: the single source for the handlers a
 * service binds, its --check output, and the nginx locations printed for split listeners. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum route_match {
    ROUTE_EXACT,  /* the path as written */
    ROUTE_PREFIX, /* the path, which ends with '/', and anything below it */
};

struct route {
    const char *resource; /* resource name in config */
    const char *path;
    enum route_match match;
    const char *methods; /* the Allow header value, e.g. "GET, HEAD, OPTIONS" */
};

extern const struct route routes[];
extern const size_t n_routes;

/* The binary that serves a resource ("masd-discovery", ...), "" for health and prometheus
 * (served by every binary on listeners it takes for its own resources), NULL for a resource no
 * binary implements yet. */
const char *resource_binary(const char *resource);
/* True for every resource name MAS accepts. */
bool resource_known(const char *resource);

#include "str.h"

/* True when `path` (below the listener prefix, without query) is served by route r. A path
 * segment written "{name}" matches any one non-empty segment. */
bool route_matches(const struct route *r, masd_str path);
/* True when the method is in r->methods. */
bool route_allows(const struct route *r, masd_str method);
/* Writes the nginx location that selects route r: "= /path", "/prefix/" or a "~ ^regex$". */
void route_nginx_location(const struct route *r, const char *listener_prefix, char *buf, size_t size);
