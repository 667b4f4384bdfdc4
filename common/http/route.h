/* A route: one row of a service's route table (resource, path, methods, handler). Each service
 * keeps its own table, the single source for the handlers it binds, its --check output and the
 * nginx locations it prints; this module only matches requests against a table. */
#pragma once
#include "str.h"
#include <stdbool.h>
#include <stddef.h>

enum route_match {
    ROUTE_EXACT,  /* the path as written */
    ROUTE_PREFIX, /* the path, which ends with '/', and anything below it */
};

struct masd_request;
typedef void (*masd_handler_fn)(struct masd_request *req);

struct masd_route {
    const char *resource; /* resource name in config; one of the service's own */
    const char *path;     /* below the listener prefix; "{name}" matches any one non-empty segment */
    enum route_match match;
    const char *methods; /* the Allow header value, e.g. "GET, HEAD, OPTIONS" */
    masd_handler_fn handler;
};

/* The binary that serves a resource ("masd-discovery", ...), "" for health and prometheus
 * (served by every binary on listeners it takes for its own resources), NULL for a resource no
 * binary implements yet. */
const char *resource_binary(const char *resource);
/* True for every resource name MAS accepts. */
bool resource_known(const char *resource);

/* True when `path` (below the listener prefix, without query) is served by route r. */
bool route_matches(const struct masd_route *r, masd_str path);
/* True when the method is in r->methods. */
bool route_allows(const struct masd_route *r, masd_str method);
/* Writes the nginx location that selects route r: "= /path", "/prefix/" or a "~ ^regex$". */
void route_nginx_location(const struct masd_route *r, const char *listener_prefix, char *buf, size_t size);
