/* The http section: public_base, issuer, trusted_proxies and the listeners, with MAS's defaults
 * (MAS: crates/config/src/sections/http.rs). */
#include "config_internal.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_BASE "http://[::]:8080/"

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

const char *config_check_path(const char *path)
{
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '?')
            return "must not have a query ('?')";
        if (c == '#')
            return "must not have a fragment ('#')";
        if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c))
            return "has a character that must be percent-encoded";
        if (c == '%' && !(is_hex(p[1]) && is_hex(p[2])))
            return "has a '%' that does not start a percent-encoded byte";
    }
    for (const char *seg = path; *seg;) {
        size_t n = strcspn(seg, "/");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return "must not contain '.' or '..' path segments";
        seg += n;
        if (*seg == '/')
            seg++;
    }
    return NULL;
}

static const char *parse_ipv6_host(const char *auth, size_t alen, char *host, size_t size, const char **hend)
{
    const char *close = memchr(auth, ']', alen);
    char tmp[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    size_t n = close ? (size_t)(close - auth - 1) : 0;
    if (!close || n == 0 || n >= sizeof(tmp))
        return "has an invalid IPv6 host";
    memcpy(tmp, auth + 1, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, &a6) != 1 || !inet_ntop(AF_INET6, &a6, tmp, sizeof(tmp)))
        return "has an invalid IPv6 host";
    snprintf(host, size, "[%s]", tmp);
    *hend = close + 1;
    return NULL;
}

/* host[:port] of an http(s) URL, as the url crate would normalise it: host lower-case, IPv6 in
 * canonical form, the scheme's default port dropped. *port is -1 when absent. */
static const char *parse_authority(const char *auth, size_t alen, bool https, char *host, size_t size,
                                   long *port)
{
    const char *hend, *aend = auth + alen;
    *port = -1;
    if (alen == 0)
        return "has no host";
    if (memchr(auth, '@', alen))
        return "must not contain a user name or password";
    if (auth[0] == '[') {
        const char *why = parse_ipv6_host(auth, alen, host, size, &hend);
        if (why)
            return why;
    } else {
        hend = memchr(auth, ':', alen);
        hend = hend ? hend : aend;
        size_t n = (size_t)(hend - auth);
        if (n == 0 || n >= size)
            return n ? "has a host name that is too long" : "has no host";
        for (size_t i = 0; i < n; i++) {
            if (!is_host_char(auth[i]))
                return "has a host name with a character other than letters, digits, '-', '.', '_', '~'";
            host[i] = (auth[i] >= 'A' && auth[i] <= 'Z') ? (char)(auth[i] + 32) : auth[i];
        }
        host[n] = '\0';
    }
    if (hend == aend)
        return NULL;
    if (*hend != ':' || hend + 1 == aend)
        return *hend != ':' ? "has unexpected characters after the host" : "has no port number after ':'";
    long v = 0;
    for (const char *p = hend + 1; p < aend; p++) {
        if (*p < '0' || *p > '9')
            return "has a port that is not a number";
        v = v * 10 + (*p - '0');
        if (v > 65535)
            return "has a port above 65535";
    }
    *port = (https && v == 443) || (!https && v == 80) ? -1 : v;
    return NULL;
}

/* Why s is not an acceptable absolute http(s) URL, or NULL with *out set to its normal form (path
 * "/" when empty, and ending with '/' when dir). MAS asserts no query, fragment or userinfo. */
static const char *normalise_url(const char *s, bool dir, char **out)
{
    *out = NULL;
    const char *sep = strstr(s, "://");
    size_t sl = sep ? (size_t)(sep - s) : 0;
    bool https = sl == 5 && strncasecmp(s, "https", 5) == 0;
    if (!sep || !(https || (sl == 4 && strncasecmp(s, "http", 4) == 0)))
        return "is not an absolute http:// or https:// URL";
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    char host[256], port[24] = "";
    long p;
    const char *why = parse_authority(auth, alen, https, host, sizeof(host), &p);
    if (!why)
        why = config_check_path(auth + alen);
    if (why)
        return why;
    if (p >= 0)
        snprintf(port, sizeof(port), ":%ld", p);
    const char *path = auth[alen] ? auth + alen : "/";
    bool slash = dir && path[strlen(path) - 1] != '/';
    if (asprintf(out, "%s://%s%s%s%s", https ? "https" : "http", host, port, path, slash ? "/" : "") < 0) {
        *out = NULL;
        return "cannot be stored: out of memory";
    }
    return NULL;
}

static int parse_url(struct config_loader *ld, const struct ynode *n, const char *path, bool dir, char **out)
{
    const char *s;
    if (ynode_string(n, &s) < 0)
        return config_error(ld, n, -EINVAL, "%s: expected a URL", path);
    const char *why = normalise_url(s, dir, out);
    if (why)
        return config_error(ld, n, -EINVAL, "%s: the URL %s", path, why);
    return 0;
}

/* MAS's code values (its docs say 10.0.0.0/8; the code says /10). */
static const char *const default_trusted_proxies[] = {
    "192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/10", "127.0.0.0/8", "fd00::/8", "::1/128",
};

static int set_default_proxies(struct config_loader *ld)
{
    size_t n = sizeof(default_trusted_proxies) / sizeof(default_trusted_proxies[0]);
    struct config *cfg = ld->cfg;
    cfg->trusted_proxies = calloc(n, sizeof(*cfg->trusted_proxies));
    if (!cfg->trusted_proxies)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (cidr_parse(masd_str_from(default_trusted_proxies[i]), &cfg->trusted_proxies[i]) < 0)
            return config_error(ld, NULL, -EINVAL, "internal error: bad default trusted proxy %s",
                                default_trusted_proxies[i]);
    cfg->n_trusted_proxies = n;
    return 0;
}

static int parse_trusted_proxies(struct config_loader *ld, const struct ynode *n)
{
    struct config *cfg = ld->cfg;
    int r = config_expect_sequence(ld, n, "http.trusted_proxies");
    if (r < 0)
        return r;
    cfg->trusted_proxies = calloc(n->n_items ? n->n_items : 1, sizeof(*cfg->trusted_proxies));
    if (!cfg->trusted_proxies)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n->n_items; i++) {
        const struct ynode *item = n->items[i];
        const char *s;
        char shown[96];
        if (ynode_string(item, &s) < 0)
            return config_error(ld, item, -EINVAL,
                                "http.trusted_proxies[%zu]: expected an IP range such as 10.0.0.0/8", i);
        if (cidr_parse(masd_str_from(s), &cfg->trusted_proxies[i]) < 0) {
            config_quote(item, shown, sizeof(shown));
            return config_error(ld, item, -EINVAL,
                                "http.trusted_proxies[%zu]: '%s' is not an IP range "
                                "(address/prefix-length, e.g. 10.0.0.0/8)",
                                i, shown);
        }
        cfg->n_trusted_proxies++;
    }
    return 0;
}

/* A TCP bind as the kernel sees it: port, and the address or a wildcard. host: NULL in a
 * host/port bind listens on every address, as does [::] (dual-stack: IPv4 too) or 0.0.0.0 (every
 * IPv4 address). A host name is compared as written: no name is resolved while loading. */
struct tcp_bind {
    uint16_t port;
    bool any_v4, any; /* 0.0.0.0; every address */
    struct masd_addr addr;
    const char *name; /* a host name that is not a literal */
};

static bool tcp_bind_of(const struct config_bind *b, struct tcp_bind *t)
{
    *t = (struct tcp_bind){0};
    const char *host;
    size_t hl;
    if (b->kind == BIND_ADDRESS) {
        const char *colon = strrchr(b->address, ':');
        t->port = (uint16_t)atoi(colon + 1);
        host = b->address[0] == '[' ? b->address + 1 : b->address;
        hl = (size_t)(colon - host) - (b->address[0] == '[');
    } else if (b->kind == BIND_HOST_PORT) {
        t->port = b->port;
        host = b->host;
        hl = host ? strlen(host) : 0;
        if (!host) {
            t->any = true;
            return true;
        }
    } else {
        return false;
    }
    if (addr_parse((masd_str){host, hl}, &t->addr) < 0) {
        t->name = host;
        return true;
    }
    static const uint8_t zero[16];
    if (memcmp(t->addr.bytes, zero, t->addr.family == AF_INET ? 4 : 16) == 0) {
        t->any = t->addr.family == AF_INET6;
        t->any_v4 = t->addr.family == AF_INET;
    }
    return true;
}

/* Whether two binds would take the same socket: the second bind() would fail with EADDRINUSE. */
static bool binds_clash(const struct config_bind *a, const struct config_bind *b)
{
    if (a->kind == BIND_SOCKET && b->kind == BIND_SOCKET)
        return strcmp(a->socket, b->socket) == 0;
    struct tcp_bind x, y;
    if (!tcp_bind_of(a, &x) || !tcp_bind_of(b, &y) || x.port != y.port || x.port == 0)
        return false;
    if (x.any || y.any)
        return true;
    if (x.name || y.name)
        return x.name && y.name && strcasecmp(x.name, y.name) == 0;
    if (x.addr.family != y.addr.family)
        return false;
    return x.any_v4 || y.any_v4 || memcmp(x.addr.bytes, y.addr.bytes, 16) == 0;
}

/* Two binds on the same address (in one listener or two, of one binary or two) cannot both
 * listen: refused here with both positions, rather than by bind() in whichever binary starts
 * second. Binds to sockets systemd passes (fd, fd_name) are not compared: each process has its own. */
static void describe(const struct config_bind *b, char *buf, size_t size)
{
    if (b->kind == BIND_SOCKET)
        snprintf(buf, size, "socket %s", b->socket);
    else if (b->kind == BIND_ADDRESS)
        snprintf(buf, size, "address %s", b->address);
    else
        snprintf(buf, size, "host %s port %u", b->host ? b->host : "(every address)", b->port);
}

static int check_bind_clashes(struct config_loader *ld)
{
    const struct config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        for (size_t j = 0; j < cfg->listeners[i].n_binds; j++) {
            const struct config_bind *b = &cfg->listeners[i].binds[j];
            for (size_t k = 0; k <= i; k++)
                for (size_t m = 0; m < (k == i ? j : cfg->listeners[k].n_binds); m++) {
                    const struct config_bind *o = &cfg->listeners[k].binds[m];
                    if (!binds_clash(b, o))
                        continue;
                    char d[128], od[128];
                    describe(b, d, sizeof(d));
                    describe(o, od, sizeof(od));
                    const char *name = cfg->listeners[k].name;
                    struct ynode at = {.line = b->pos.line, .column = b->pos.column};
                    return config_error(ld, &at, -EINVAL,
                                        "http.listeners[%zu].binds[%zu]: %s takes the address of %s of "
                                        "listener %s%s%s (%s:%u:%u): two binds cannot listen on one address",
                                        i, j, d, od, name ? "'" : "", name ? name : "(unnamed)",
                                        name ? "'" : "", ld->name, o->pos.line, o->pos.column);
                }
        }
    return 0;
}

static int parse_listeners(struct config_loader *ld, const struct ynode *n)
{
    struct config *cfg = ld->cfg;
    int r = config_expect_sequence(ld, n, "http.listeners");
    if (r < 0 || n->n_items == 0)
        return r;
    cfg->listeners = calloc(n->n_items, sizeof(*cfg->listeners));
    if (!cfg->listeners)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n->n_items; i++) {
        r = config_listener_parse(ld, n->items[i], i, &cfg->listeners[cfg->n_listeners++]);
        if (r < 0)
            return r;
    }
    return check_bind_clashes(ld);
}

/* A public_base on an unspecified address ([::], 0.0.0.0) is the placeholder `masctl config
 * generate` writes: a listener may bind there, but no client can reach it. (Without an http
 * section the same default goes with MAS's stock listener, which every binary refuses.) */
static int warn_placeholder_base(struct config_loader *ld, const struct ynode *at)
{
    const char *base = ld->cfg->public_base, *host = strstr(base, "://");
    if (!host)
        return 0;
    host += 3;
    bool v6 = host[0] == '[';
    size_t hl = v6 ? strcspn(host, "]") - 1 : strcspn(host, ":/");
    struct masd_addr a;
    static const uint8_t zero[16];
    if (addr_parse((masd_str){host + v6, hl}, &a) < 0 || memcmp(a.bytes, zero, a.family == AF_INET ? 4 : 16))
        return 0;
    return config_warning(ld, at,
                          "http.public_base: %s is a placeholder: no client can reach an unspecified "
                          "address. Set the URL clients and the homeserver use to reach masd (for "
                          "example https://auth.example.com/)",
                          base);
}

int config_http_parse(struct config_loader *ld, const struct ynode *key, const struct ynode *http)
{
    struct config *cfg = ld->cfg;
    int r = config_expect_mapping(ld, http, "http", true);
    if (r < 0)
        return r;
    const struct ynode *v = ynode_get(http, "public_base", NULL);
    if (!v)
        return config_error(ld, key, -EINVAL,
                            "http.public_base is required when the http section is present");
    if ((r = parse_url(ld, v, "http.public_base", true, &cfg->public_base)) < 0 ||
        (r = warn_placeholder_base(ld, v)) < 0)
        return r;
    v = ynode_get(http, "issuer", NULL);
    if (v && !ynode_is_null(v))
        r = parse_url(ld, v, "http.issuer", false, &cfg->issuer);
    else if (!(cfg->issuer = strdup(cfg->public_base)))
        r = config_error(ld, NULL, -ENOMEM, "out of memory");
    if (r < 0)
        return r;
    v = ynode_get(http, "trusted_proxies", NULL);
    if ((r = v ? parse_trusted_proxies(ld, v) : set_default_proxies(ld)) < 0)
        return r;
    v = ynode_get(http, "listeners", NULL);
    return v ? parse_listeners(ld, v) : 0;
}

/* Without an http section MAS serves `web` (every browser- and client-facing resource) on
 * [::]:8080 and `internal` (health) on localhost:8081. */
int config_http_defaults(struct config_loader *ld)
{
    static const char *const web[] = {"discovery", "human", "oauth", "compat", "graphql", "assets"};
    struct config *cfg = ld->cfg;
    struct config_listener *l = cfg->listeners = calloc(2, sizeof(*cfg->listeners));
    if (!l || !(cfg->public_base = strdup(DEFAULT_BASE)) || !(cfg->issuer = strdup(DEFAULT_BASE)))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    cfg->n_listeners = 2;
    l[0].name = strdup("web");
    l[0].resources = calloc(6, sizeof(*l[0].resources));
    l[0].binds = calloc(1, sizeof(*l[0].binds));
    l[1].name = strdup("internal");
    l[1].resources = calloc(1, sizeof(*l[1].resources));
    l[1].binds = calloc(1, sizeof(*l[1].binds));
    if (!l[0].name || !l[0].resources || !l[0].binds || !l[1].name || !l[1].resources || !l[1].binds)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < 6; i++, l[0].n_resources++)
        if (!(l[0].resources[i].name = strdup(web[i])))
            return config_error(ld, NULL, -ENOMEM, "out of memory");
    if (!(l[0].resources[5].path = strdup(CONFIG_ASSETS_DEFAULT_PATH)))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    l[0].n_binds = 1;
    l[0].binds[0] = (struct config_bind){.kind = BIND_ADDRESS, .address = strdup("[::]:8080"), .mode = -1};
    l[1].n_resources = 1;
    l[1].resources[0].name = strdup("health");
    l[1].n_binds = 1;
    l[1].binds[0] =
        (struct config_bind){.kind = BIND_HOST_PORT, .host = strdup("localhost"), .port = 8081, .mode = -1};
    if (!l[0].binds[0].address || !l[1].resources[0].name || !l[1].binds[0].host)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    return set_default_proxies(ld);
}
