/* One entry of http.listeners: name, resources (with their options), prefix, binds, PROXY
 * protocol, HTTP/2 and TLS. */
#include "config_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MAS's resource names (MAS: crates/config/src/sections/http.rs) and the options each one takes.
 * graphql's introspection is masd's switch (docs/graphql.md): true (the default) or false; any
 * other value (a newer MAS's) is warned about and leaves introspection on. */
static const struct resource_kind {
    const char *name;
    const char *options[3];
} resource_kinds[] = {
    {"health", {NULL}},
    {"prometheus", {NULL}},
    {"discovery", {NULL}},
    {"human", {NULL}},
    {"graphql", {"playground", "undocumented_oauth2_access", "introspection"}},
    {"oauth", {NULL}},
    {"compat", {NULL}},
    {"assets", {"path", NULL}},
    {"adminapi", {NULL}},
    {"connection-info", {NULL}},
};

#define RESOURCE_NAMES                                                                                       \
    "health, prometheus, discovery, human, graphql, oauth, compat, assets, adminapi, connection-info"

static const struct resource_kind *find_resource_kind(const char *name)
{
    for (size_t i = 0; i < sizeof(resource_kinds) / sizeof(resource_kinds[0]); i++)
        if (strcmp(resource_kinds[i].name, name) == 0)
            return &resource_kinds[i];
    return NULL;
}

static int check_resource_options(struct config_loader *ld, const struct ynode *n, const char *path,
                                  const struct resource_kind *kind)
{
    for (size_t i = 0; i < n->n_pairs; i++) {
        const struct ynode *k = n->pairs[i].key;
        bool ok = strcmp(k->str, "name") == 0;
        for (size_t j = 0; !ok && j < 3 && kind->options[j]; j++)
            ok = strcmp(k->str, kind->options[j]) == 0;
        if (!ok) {
            char shown[96];
            config_quote(k, shown, sizeof(shown));
            return config_error(ld, k, -EINVAL, "%s: the %s resource has no option '%s'", path, kind->name,
                                shown);
        }
    }
    return 0;
}

static int parse_resource_options(struct config_loader *ld, const struct ynode *n, const char *path,
                                  struct config_resource *res)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *v;
    int r = 0;
    if ((v = ynode_get(n, "playground", NULL))) {
        config_subpath(p, path, "playground");
        r = config_get_bool(ld, v, p, &res->playground);
    }
    if (r >= 0 && (v = ynode_get(n, "undocumented_oauth2_access", NULL))) {
        config_subpath(p, path, "undocumented_oauth2_access");
        r = config_get_bool(ld, v, p, &res->undocumented_oauth2_access);
    }
    if (r >= 0 && strcmp(res->name, "graphql") == 0) {
        res->introspection = true;
        if ((v = ynode_get(n, "introspection", NULL))) {
            config_subpath(p, path, "introspection");
            if (v->kind == YNODE_SCALAR && (strcmp(v->str, "true") == 0 || strcmp(v->str, "false") == 0))
                r = config_get_bool(ld, v, p, &res->introspection);
            else
                r = config_warning(ld, v, "%s: only true or false is understood; introspection stays on", p);
        }
    }
    if (r >= 0 && strcmp(res->name, "assets") == 0) {
        config_subpath(p, path, "path");
        v = ynode_get(n, "path", NULL);
        if (v)
            r = config_get_string(ld, v, p, &res->path);
        else if (!(res->path = strdup(CONFIG_ASSETS_DEFAULT_PATH)))
            r = config_error(ld, NULL, -ENOMEM, "out of memory");
    }
    return r;
}

/* A resource is {name: X, <options of X>}; each name at most once per listener (two would
 * mount the same routes twice). */
static int parse_resource(struct config_loader *ld, const struct ynode *n, const char *path,
                          struct config_listener *l)
{
    const struct ynode *v;
    char shown[96];
    const char *name;
    int r = config_expect_mapping(ld, n, path, false);
    if (r < 0)
        return r;
    if (!(v = ynode_get(n, "name", NULL)))
        return config_error(ld, n, -EINVAL, "%s: name is required (one of " RESOURCE_NAMES ")", path);
    if (ynode_string(v, &name) < 0)
        return config_error(ld, v, -EINVAL, "%s.name: expected a resource name (one of " RESOURCE_NAMES ")",
                            path);
    const struct resource_kind *kind = find_resource_kind(name);
    config_quote(v, shown, sizeof(shown));
    if (!kind)
        return config_error(ld, v, -EINVAL,
                            "%s.name: unknown resource '%s' (expected one of " RESOURCE_NAMES ")", path,
                            shown);
    if (config_listener_resource(l, name))
        return config_error(ld, v, -EINVAL, "%s.name: resource '%s' is already listed in this listener", path,
                            shown);
    if ((r = check_resource_options(ld, n, path, kind)) < 0)
        return r;
    struct config_resource *res = &l->resources[l->n_resources++];
    res->pos = (struct config_pos){n->line, n->column};
    if (!(res->name = strdup(name)))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    return parse_resource_options(ld, n, path, res);
}

static int parse_resources(struct config_loader *ld, const struct ynode *listener, const char *path,
                           struct config_listener *l)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *n = ynode_get(listener, "resources", NULL);
    if (!n)
        return config_error(ld, listener, -EINVAL, "%s: resources is required", path);
    config_subpath(p, path, "resources");
    int r = config_expect_sequence(ld, n, p);
    if (r < 0)
        return r;
    if (n->n_items == 0)
        return config_error(ld, n, -EINVAL, "%s: listener has no resources", path);
    if (!(l->resources = calloc(n->n_items, sizeof(*l->resources))))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n->n_items && r >= 0; i++) {
        config_itempath(p, path, "resources", i);
        r = parse_resource(ld, n->items[i], p, l);
    }
    return r;
}

/* MAS trims trailing '/' and appends one; "/" means no nesting. We store NULL for that, else
 * "/x" without the trailing '/'. A prefix not starting with '/' makes MAS's router panic: here
 * it is an error. */
static int parse_prefix(struct config_loader *ld, const struct ynode *v, const char *path, char **out)
{
    const char *s;
    *out = NULL;
    if (!v || ynode_is_null(v))
        return 0;
    if (ynode_string(v, &s) < 0)
        return config_error(ld, v, -EINVAL, "%s: expected a path such as /auth", path);
    if (s[0] == '\0')
        return 0;
    if (s[0] != '/')
        return config_error(ld, v, -EINVAL, "%s: expected a path starting with '/'", path);
    const char *why = config_check_path(s);
    if (why)
        return config_error(ld, v, -EINVAL, "%s: the prefix %s", path, why);
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '/')
        len--;
    if (len == 0)
        return 0;
    if (!(*out = strndup(s, len)))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    if (strstr(*out, "//"))
        return config_error(ld, v, -EINVAL, "%s: the prefix must not contain an empty segment ('//')", path);
    return 0;
}

static int parse_flags(struct config_loader *ld, const struct ynode *n, const char *path,
                       struct config_listener *l)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *v;
    int r = 0;
    if ((v = ynode_get(n, "proxy_protocol", NULL))) {
        config_subpath(p, path, "proxy_protocol");
        r = config_get_bool(ld, v, p, &l->proxy_protocol);
    }
    if (r >= 0 && (v = ynode_get(n, "http2", NULL))) {
        config_subpath(p, path, "http2");
        r = config_get_bool(ld, v, p, &l->http2);
    }
    return r;
}

int config_listener_parse(struct config_loader *ld, const struct ynode *n, size_t index,
                          struct config_listener *l)
{
    char path[CONFIG_PATH_MAX], p[CONFIG_PATH_MAX];
    snprintf(path, sizeof(path), "http.listeners[%zu]", index);
    l->pos = (struct config_pos){n->line, n->column};
    int r = config_expect_mapping(ld, n, path, false);
    if (r < 0)
        return r;
    config_subpath(p, path, "name");
    if ((r = config_get_string_or_null(ld, ynode_get(n, "name", NULL), p, &l->name)) < 0)
        return r;
    if ((r = parse_resources(ld, n, path, l)) < 0)
        return r;
    config_subpath(p, path, "prefix");
    if ((r = parse_prefix(ld, ynode_get(n, "prefix", NULL), p, &l->prefix)) < 0)
        return r;
    const struct ynode *binds = ynode_get(n, "binds", NULL);
    if (!binds)
        return config_error(ld, n, -EINVAL, "%s: binds is required", path);
    if ((r = config_binds_parse(ld, binds, path, l)) < 0)
        return r;
    if ((r = parse_flags(ld, n, path, l)) < 0)
        return r;
    const struct ynode *tls = ynode_get(n, "tls", NULL);
    config_subpath(p, path, "tls");
    if (tls && !ynode_is_null(tls))
        r = config_tls_parse(ld, tls, p, &l->tls);
    return r;
}
