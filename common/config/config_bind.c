/* http.listeners[].binds: MAS's four untagged bind kinds, told apart by their keys, plus our
 * fd_name. A bind mixing the keys of two kinds is an error, not a guess. */
#include "config_internal.h"
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define K(kind) (1u << (kind))

static const struct {
    const char *key;
    unsigned kinds;
} bind_keys[] = {
    {"address", K(BIND_ADDRESS)}, {"host", K(BIND_HOST_PORT)},
    {"port", K(BIND_HOST_PORT)},  {"socket", K(BIND_SOCKET)},
    {"mode", K(BIND_SOCKET)},     {"fd", K(BIND_FD)},
    {"fd_name", K(BIND_FD_NAME)}, {"kind", K(BIND_FD) | K(BIND_FD_NAME)},
};

#define BIND_KINDS "address; host and port; socket and mode; fd and kind; fd_name and kind"
/* listener.c binds "<socket>.<pid>.tmp" first: leave room for ".4194304.tmp" in sun_path. */
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - 12)

static unsigned kinds_of(const struct ynode *key)
{
    for (size_t i = 0; i < sizeof(bind_keys) / sizeof(bind_keys[0]); i++)
        if (strcmp(bind_keys[i].key, key->str) == 0)
            return bind_keys[i].kinds;
    return 0; /* config_keys_check let no other key through */
}

static int bind_kind(struct config_loader *ld, const struct ynode *n, const char *path, enum bind_kind *out)
{
    unsigned set = ~0u;
    if (n->n_pairs == 0)
        return config_error(ld, n, -EINVAL, "%s: empty bind: give one of " BIND_KINDS, path);
    for (size_t i = 0; i < n->n_pairs; i++) {
        const struct ynode *k = n->pairs[i].key;
        unsigned kinds = kinds_of(k);
        if (set & kinds) {
            set &= kinds;
            continue;
        }
        const struct ynode *other = n->pairs[0].key;
        for (size_t j = 0; j < i; j++)
            if (!(kinds_of(n->pairs[j].key) & kinds)) {
                other = n->pairs[j].key;
                break;
            }
        return config_error(ld, k, -EINVAL,
                            "%s: '%s' cannot be combined with '%s' in one bind (a bind is one of: " BIND_KINDS
                            ")",
                            path, k->str, other->str);
    }
    /* `kind` alone is an fd bind with MAS's default fd: 0 */
    *out = (set & K(BIND_FD))          ? BIND_FD
           : (set & K(BIND_FD_NAME))   ? BIND_FD_NAME
           : (set & K(BIND_SOCKET))    ? BIND_SOCKET
           : (set & K(BIND_HOST_PORT)) ? BIND_HOST_PORT
                                       : BIND_ADDRESS;
    return 0;
}

/* "<IPv4>:<port>" or "[<IPv6>]:<port>", literal only, as Rust's SocketAddr parses it. */
static bool valid_address(const char *s)
{
    const char *colon = strrchr(s, ':');
    char host[INET6_ADDRSTRLEN];
    unsigned char buf[sizeof(struct in6_addr)];
    if (!colon || !colon[1] || strlen(colon + 1) > 5 ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || atol(colon + 1) > 65535)
        return false;
    size_t hl = (size_t)(colon - s);
    bool v6 = s[0] == '[';
    if (v6 && (hl < 3 || s[hl - 1] != ']'))
        return false;
    if (v6 ? hl - 2 >= sizeof(host) : hl >= sizeof(host))
        return false;
    memcpy(host, s + v6, v6 ? hl - 2 : hl);
    host[v6 ? hl - 2 : hl] = '\0';
    return inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) == 1;
}

static int parse_port(struct config_loader *ld, const struct ynode *v, const char *path, uint16_t *out)
{
    long long port;
    int r = ynode_int(v, 0, 65535, &port);
    if (r == -ERANGE)
        return config_error(ld, v, -EINVAL, "%s.port: %s is not a port number (0 to 65535)", path, v->str);
    if (r < 0)
        return config_error(ld, v, -EINVAL, "%s.port: expected a port number (0 to 65535)", path);
    *out = (uint16_t)port;
    return 0;
}

/* Octal as chmod and systemd's SocketMode= read it, quoted ("660", "0600") or not (660, 0o660:
 * an unquoted 0660 is decimal in YAML 1.2, octal in 1.1; every reading means 0660 here). */
static int parse_mode(struct config_loader *ld, const struct ynode *v, const char *path, int *out)
{
    *out = -1;
    if (!v || ynode_is_null(v))
        return 0;
    long mode = -1;
    if (v->kind == YNODE_SCALAR && !memchr(v->str, '\0', v->len)) {
        const char *p = strncmp(v->str, "0o", 2) == 0 ? v->str + 2 : v->str;
        size_t n = strlen(p);
        if (n >= 1 && n <= 4 && strspn(p, "01234567") == n)
            mode = strtol(p, NULL, 8);
    }
    if (mode < 0 || mode > 0777)
        return config_error(ld, v, -EINVAL,
                            "%s.mode: expected an octal file mode such as \"660\" or \"0600\" (at most 0777)",
                            path);
    *out = (int)mode;
    return 0;
}

static int parse_socket_kind(struct config_loader *ld, const struct ynode *v, const char *path,
                             enum bind_socket_kind *out)
{
    const char *s;
    if (!v)
        return 0;
    if (ynode_string(v, &s) < 0 || (strcmp(s, "tcp") != 0 && strcmp(s, "unix") != 0))
        return config_error(ld, v, -EINVAL, "%s.kind: expected tcp or unix", path);
    *out = strcmp(s, "tcp") == 0 ? BIND_SOCKET_TCP : BIND_SOCKET_UNIX;
    return 0;
}

/* systemd's rule for FileDescriptorName=: 1 to 255 printable ASCII characters, no ':'. */
static bool valid_fd_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < ' ' || *p > '~' || *p == ':')
            return false;
    return true;
}

static int parse_string_key(struct config_loader *ld, const struct ynode *n, const char *path,
                            const char *key, char **out)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *v = ynode_get(n, key, NULL);
    config_subpath(p, path, key);
    if (!v)
        return config_error(ld, n, -EINVAL, "%s: %s is required", path, key);
    int r = config_get_string(ld, v, p, out);
    if (r >= 0 && !**out)
        return config_error(ld, v, -EINVAL, "%s: must not be empty", p);
    return r;
}

static int parse_address(struct config_loader *ld, const struct ynode *n, const char *path,
                         struct config_bind *b)
{
    int r = parse_string_key(ld, n, path, "address", &b->address);
    if (r < 0)
        return r;
    if (!valid_address(b->address))
        return config_error(
            ld, ynode_get(n, "address", NULL), -EINVAL,
            "%s.address: expected an IP address and port such as \"[::]:8080\" or \"0.0.0.0:8080\" "
            "(no host name; IPv6 in brackets)",
            path);
    return 0;
}

static int parse_host_port(struct config_loader *ld, const struct ynode *n, const char *path,
                           struct config_bind *b)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *host = ynode_get(n, "host", NULL), *port = ynode_get(n, "port", NULL);
    int r = config_get_string_or_null(ld, host, config_subpath(p, path, "host"), &b->host);
    if (r < 0)
        return r;
    if (b->host && !b->host[0])
        return config_error(ld, host, -EINVAL, "%s: must not be empty", p);
    if (!port)
        return config_error(ld, n, -EINVAL, "%s: port is required with host", path);
    return parse_port(ld, port, path, &b->port);
}

static int parse_socket(struct config_loader *ld, const struct ynode *n, const char *path,
                        struct config_bind *b)
{
    int r = parse_string_key(ld, n, path, "socket", &b->socket);
    if (r < 0)
        return r;
    if (strlen(b->socket) > SOCKET_PATH_MAX)
        return config_error(
            ld, ynode_get(n, "socket", NULL), -EINVAL,
            "%s.socket: the path is longer than %zu bytes (the limit of a UNIX socket address)", path,
            SOCKET_PATH_MAX);
    return parse_mode(ld, ynode_get(n, "mode", NULL), path, &b->mode);
}

/* fd: N (MAS, default 0, kind default tcp) or fd_name: X (ours, kind default any). */
static int parse_fd(struct config_loader *ld, const struct ynode *n, const char *path, struct config_bind *b)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *v;
    long long fd = 0;
    int r = 0;
    if (b->kind == BIND_FD) {
        b->socket_kind = BIND_SOCKET_TCP;
        if ((v = ynode_get(n, "fd", NULL)))
            r = config_get_int(ld, v, config_subpath(p, path, "fd"), 0, INT_MAX - 3, &fd);
        b->fd = (unsigned)fd;
    } else {
        b->socket_kind = BIND_SOCKET_ANY;
        if ((r = parse_string_key(ld, n, path, "fd_name", &b->fd_name)) >= 0 && !valid_fd_name(b->fd_name))
            r = config_error(
                ld, ynode_get(n, "fd_name", NULL), -EINVAL,
                "%s.fd_name: expected a FileDescriptorName= (1 to 255 printable ASCII characters, no "
                "':')",
                path);
    }
    return r < 0 ? r : parse_socket_kind(ld, ynode_get(n, "kind", NULL), path, &b->socket_kind);
}

static int parse_bind_values(struct config_loader *ld, const struct ynode *n, const char *path,
                             struct config_bind *b)
{
    switch (b->kind) {
    case BIND_ADDRESS:
        return parse_address(ld, n, path, b);
    case BIND_HOST_PORT:
        return parse_host_port(ld, n, path, b);
    case BIND_SOCKET:
        return parse_socket(ld, n, path, b);
    case BIND_FD:
    case BIND_FD_NAME:
        return parse_fd(ld, n, path, b);
    }
    return -EINVAL;
}

int config_binds_parse(struct config_loader *ld, const struct ynode *n, const char *path,
                       struct config_listener *l)
{
    char p[CONFIG_PATH_MAX];
    config_subpath(p, path, "binds");
    int r = config_expect_sequence(ld, n, p);
    if (r < 0)
        return r;
    if (n->n_items == 0)
        return config_error(ld, n, -EINVAL, "%s: listener does not bind to any address", path);
    if (!(l->binds = calloc(n->n_items, sizeof(*l->binds))))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n->n_items; i++) {
        const struct ynode *item = n->items[i];
        struct config_bind *b = &l->binds[l->n_binds++];
        b->mode = -1;
        b->pos = (struct config_pos){item->line, item->column};
        config_itempath(p, path, "binds", i);
        if ((r = config_expect_mapping(ld, item, p, false)) < 0 ||
            (r = bind_kind(ld, item, p, &b->kind)) < 0 || (r = parse_bind_values(ld, item, p, b)) < 0)
            return r;
    }
    return 0;
}
