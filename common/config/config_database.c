/* The database section (MAS: crates/config/src/sections/database.rs): either `uri` or the
 * separate PostgreSQL fields (host, port, socket, username, password/password_file, database),
 * never both; ssl_* on top of either (PostgreSQL only); MAS's pool settings.
 *
 * Where masd differs from MAS: without uri and without any connection field, masd uses its
 * embedded SQLite database (STORAGE_DEFAULT_URI) where MAS would connect to PostgreSQL with
 * libpq's defaults; and sqlite:// URIs are accepted. */
#include "config_internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const pg_fields[] = {"host",     "port",          "socket",  "username",
                                        "password", "password_file", "database"};
static const char *const ssl_keys[] = {
    "ssl_mode", "ssl_ca",      "ssl_ca_file", "ssl_certificate", "ssl_certificate_file",
    "ssl_key",  "ssl_key_file"};
static const char *const ssl_modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The key node of the first of names that is set (not null) in map, or NULL. */
static const struct ynode *first_set(const struct ynode *map, const char *const *names, size_t n,
                                     const char **name)
{
    for (size_t i = 0; i < n; i++) {
        const struct ynode *key, *v = ynode_get(map, names[i], &key);
        if (v && !ynode_is_null(v)) {
            *name = names[i];
            return key;
        }
    }
    return NULL;
}

static int get_string(struct config_loader *ld, const struct ynode *db, const char *key, char **out)
{
    char p[CONFIG_PATH_MAX];
    return config_get_string_or_null(ld, ynode_get(db, key, NULL), config_subpath(p, "database", key), out);
}

static int get_uint(struct config_loader *ld, const struct ynode *db, const char *key, long long min,
                    long long max, unsigned *out)
{
    char p[CONFIG_PATH_MAX];
    long long v;
    const struct ynode *n = ynode_get(db, key, NULL);
    if (!n)
        return 0;
    if (ynode_is_null(n)) { /* idle_timeout: null = never */
        *out = 0;
        return 0;
    }
    int r = config_get_int(ld, n, config_subpath(p, "database", key), min, max, &v);
    if (r >= 0)
        *out = (unsigned)v;
    return r;
}

/* libpq's own URI parser, registered by the storage layer (storage_pg.c) in the programs that
 * link it: the config layer does not link libpq, so masd-discovery and masd-assets never load
 * it. Without it (those two never open the database) only the scheme is checked. */
static config_uri_check_fn uri_check;

void config_set_database_uri_check(config_uri_check_fn fn)
{
    uri_check = fn;
}

static int check_uri(struct config_loader *ld, const struct ynode *db, const char *uri)
{
    const struct ynode *at = ynode_get(db, "uri", NULL);
    char shown[96];
    config_quote_bytes(uri, strlen(uri), shown, sizeof(shown));
    if (strncmp(uri, "sqlite:", 7) == 0) {
        const char *path = uri + 9;
        if (strncmp(uri, "sqlite://", 9) != 0 || !*path)
            return config_error(
                ld, at, -EINVAL,
                "database.uri: '%s': expected sqlite:///absolute/path.db or sqlite://relative/path.db",
                shown);
        if (strpbrk(path, "?#"))
            return config_error(ld, at, -EINVAL,
                                "database.uri: '%s': a SQLite path may not contain '?' or '#'", shown);
        const char *name;
        const struct ynode *key = first_set(db, ssl_keys, N(ssl_keys), &name);
        if (key)
            return config_error(ld, key, -EINVAL,
                                "database.%s: applies to PostgreSQL only, and database.uri is SQLite", name);
        return 0;
    }
    if (strncmp(uri, "postgresql://", 13) != 0 && strncmp(uri, "postgres://", 11) != 0)
        return config_error(ld, at, -EINVAL,
                            "database.uri: '%s': expected sqlite://, postgresql:// or postgres://", shown);
    char why[256];
    if (uri_check && uri_check(uri, why, sizeof(why)) < 0)
        return config_error(ld, at, -EINVAL, "database.uri: %s", why);
    return 0;
}

static int parse_ssl(struct config_loader *ld, const struct ynode *db, struct config_database *d)
{
    static const char *const pairs[3][2] = {
        {"ssl_ca", "ssl_ca_file"}, {"ssl_certificate", "ssl_certificate_file"}, {"ssl_key", "ssl_key_file"}};
    char **fields[3][2] = {{&d->ssl_ca, &d->ssl_ca_file},
                           {&d->ssl_certificate, &d->ssl_certificate_file},
                           {&d->ssl_key, &d->ssl_key_file}};
    int r = get_string(ld, db, "ssl_mode", &d->ssl_mode);
    for (size_t i = 0; i < 3 && r >= 0; i++) {
        r = config_one_of(ld, db, "database", pairs[i][0], pairs[i][1], false);
        for (size_t k = 0; k < 2 && r >= 0; k++)
            r = get_string(ld, db, pairs[i][k], fields[i][k]);
    }
    if (r < 0)
        return r;
    if (d->ssl_mode) {
        bool ok = false;
        for (size_t i = 0; i < N(ssl_modes); i++)
            ok |= strcmp(d->ssl_mode, ssl_modes[i]) == 0;
        if (!ok)
            return config_error(
                ld, ynode_get(db, "ssl_mode", NULL), -EINVAL,
                "database.ssl_mode: expected disable, allow, prefer, require, verify-ca or verify-full");
    }
    bool cert = d->ssl_certificate || d->ssl_certificate_file, key = d->ssl_key || d->ssl_key_file;
    if (cert != key)
        return config_error(
            ld, db, -EINVAL,
            "database: a client certificate needs both ssl_certificate(_file) and ssl_key(_file)");
    return 0;
}

/* password_file is read now, as MAS reads it at start-up; a final newline is not part of the
 * password (files written by `echo` or an editor end with one). */
static int parse_password(struct config_loader *ld, const struct ynode *db, struct config_database *d)
{
    char *file = NULL;
    int r = config_one_of(ld, db, "database", "password", "password_file", false);
    if (r >= 0)
        r = get_string(ld, db, "password", &d->password);
    if (r >= 0)
        r = get_string(ld, db, "password_file", &file);
    if (r >= 0 && file && !(ld->flags & CONFIG_NO_SECRETS)) {
        size_t len;
        r = config_read_file(ld, ynode_get(db, "password_file", NULL), "database.password_file", file,
                             &d->password, &len);
        while (r >= 0 && len > 0 && (d->password[len - 1] == '\n' || d->password[len - 1] == '\r'))
            d->password[--len] = '\0';
        if (r >= 0 && strlen(d->password) != len)
            r = config_error(ld, ynode_get(db, "password_file", NULL), -EINVAL,
                             "database.password_file: '%s' contains a NUL byte", file);
    }
    free(file);
    return r;
}

static int parse_fields(struct config_loader *ld, const struct ynode *db, struct config_database *d)
{
    int r = get_string(ld, db, "uri", &d->uri);
    if (r >= 0)
        r = get_string(ld, db, "host", &d->host);
    if (r >= 0)
        r = get_uint(ld, db, "port", 1, 65535, &d->port);
    if (r >= 0)
        r = get_string(ld, db, "socket", &d->socket);
    if (r >= 0)
        r = get_string(ld, db, "username", &d->username);
    if (r >= 0)
        r = get_string(ld, db, "database", &d->database);
    if (r >= 0)
        r = parse_password(ld, db, d);
    return r < 0 ? r : parse_ssl(ld, db, d);
}

/* MAS's pool settings. connect_timeout, idle_timeout and max_lifetime are applied (storage.c);
 * masd has no pool to size, so max/min_connections are accepted with a warning. */
static int parse_pool(struct config_loader *ld, const struct ynode *db, struct config_database *d)
{
    static const char *const unused[] = {"max_connections", "min_connections"};
    int r = get_uint(ld, db, "max_connections", 1, UINT32_MAX, &d->max_connections);
    if (r >= 0)
        r = get_uint(ld, db, "min_connections", 0, UINT32_MAX, &d->min_connections);
    if (r >= 0)
        r = get_uint(ld, db, "connect_timeout", 0, UINT32_MAX, &d->connect_timeout);
    if (r >= 0)
        r = get_uint(ld, db, "idle_timeout", 0, UINT32_MAX, &d->idle_timeout);
    if (r >= 0)
        r = get_uint(ld, db, "max_lifetime", 0, UINT32_MAX, &d->max_lifetime);
    for (size_t i = 0; i < N(unused) && r >= 0; i++) {
        const struct ynode *key;
        if (ynode_get(db, unused[i], &key))
            r = config_warning(
                ld, key,
                "database.%s is not applied: masd has no connection pool, it keeps one connection "
                "per thread that uses the database",
                unused[i]);
    }
    return r;
}

int config_database_parse(struct config_loader *ld, const struct ynode *db)
{
    static const struct ynode empty = {.kind = YNODE_MAPPING};
    struct config_database *d = &ld->cfg->database;
    *d = (struct config_database){
        .max_connections = 10, .connect_timeout = 30, .idle_timeout = 600, .max_lifetime = 1800};
    int r;
    if (db && (r = config_expect_mapping(ld, db, "database", true)) < 0)
        return r;
    if (!db || ynode_is_null(db))
        db = &empty;
    if ((r = parse_fields(ld, db, d)) < 0 || (r = parse_pool(ld, db, d)) < 0)
        return r;
    const char *name;
    const struct ynode *field = first_set(db, pg_fields, N(pg_fields), &name);
    if (d->uri && field)
        return config_error(
            ld, field, -EINVAL,
            "database.%s: set either database.uri or the separate fields (host, port, socket, "
            "username, password, database), not both",
            name);
    if (d->uri)
        return check_uri(ld, db, d->uri);
    const struct ynode *ssl = first_set(db, ssl_keys, N(ssl_keys), &name);
    if (!field && !ssl && !(d->uri = strdup(STORAGE_DEFAULT_URI)))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    return 0;
}

void config_database_free(struct config_database *d)
{
    free(d->uri);
    free(d->host);
    free(d->socket);
    free(d->username);
    if (d->password)
        explicit_bzero(d->password, strlen(d->password));
    free(d->password);
    free(d->database);
    free(d->ssl_mode);
    free(d->ssl_ca);
    free(d->ssl_ca_file);
    free(d->ssl_certificate);
    free(d->ssl_certificate_file);
    free(d->ssl_key);
    free(d->ssl_key_file);
}
