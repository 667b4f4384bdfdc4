/* The database section: MAS's uri-or-fields rule, ssl_*, the pool settings, masd's SQLite
 * default, every error at its line and column; and storage_open() from the parsed section,
 * separate fields included, against the PostgreSQL test server when there is one. */
#include "config_check.h"
#include "config.h"
#include "storage.h"
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_defaults(void)
{
    struct config *cfg = load("");
    CHECK_STR(cfg->database.uri, STORAGE_DEFAULT_URI);
    CHECK_STR(cfg->database.uri, "sqlite:///var/lib/masd/masd.db");
    CHECK_INT(cfg->database.max_connections, 10);
    CHECK_INT(cfg->database.min_connections, 0);
    CHECK_INT(cfg->database.connect_timeout, 30);
    CHECK_INT(cfg->database.idle_timeout, 600);
    CHECK_INT(cfg->database.max_lifetime, 1800);
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    cfg = load("database: {}\n");
    CHECK_STR(cfg->database.uri, STORAGE_DEFAULT_URI);
    config_free(cfg);
    cfg = load("database:\n  uri: sqlite://data/masd.db\n  connect_timeout: 5\n  idle_timeout: ~\n");
    CHECK_STR(cfg->database.uri, "sqlite://data/masd.db");
    CHECK_INT(cfg->database.connect_timeout, 5);
    CHECK_INT(cfg->database.idle_timeout, 0);
    config_free(cfg);
}

static void test_postgres(void)
{
    struct config *cfg =
        load("database:\n  uri: postgresql://mas:secret@db.example.com:5433/mas?sslmode=require\n"
             "  ssl_ca_file: /etc/ssl/db-ca.pem\n");
    CHECK_STR(cfg->database.uri, "postgresql://mas:secret@db.example.com:5433/mas?sslmode=require");
    CHECK_STR(cfg->database.ssl_ca_file, "/etc/ssl/db-ca.pem");
    config_free(cfg);

    char path[] = "/tmp/masd-test-dbpw-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, "s3cret\n", 7), 7);
    close(fd);
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "database:\n  host: db.example.com\n  port: 5433\n  username: mas\n  password_file: %s\n"
             "  database: mas\n  ssl_mode: verify-full\n  max_connections: 50\n",
             path);
    cfg = load(yaml);
    unlink(path);
    CHECK(cfg->database.uri == NULL);
    CHECK_STR(cfg->database.host, "db.example.com");
    CHECK_INT(cfg->database.port, 5433);
    CHECK_STR(cfg->database.username, "mas");
    CHECK_STR(cfg->database.password, "s3cret"); /* the final newline is not part of it */
    CHECK_STR(cfg->database.database, "mas");
    CHECK_STR(cfg->database.ssl_mode, "verify-full");
    CHECK_INT(cfg->database.max_connections, 50);
    CHECK_INT(cfg->n_warnings, 1);
    CHECK_STR(cfg->warnings[0],
              "config.yaml:8:3: database.max_connections is not applied: masd has no connection "
              "pool, it keeps one connection per thread that uses the database");
    config_free(cfg);

    cfg = load("database:\n  ssl_mode: require\n"); /* MAS: libpq's defaults, over TLS */
    CHECK(cfg->database.uri == NULL);
    config_free(cfg);
}

static void test_errors(void)
{
    CHECK_ERROR("database: [1]\n", "config.yaml:1:11: database: expected a mapping, found a list");
    CHECK_ERROR(
        "database:\n  uri: mysql://x/y\n",
        "config.yaml:2:8: database.uri: 'mysql://x/y': expected sqlite://, postgresql:// or postgres://");
    CHECK_ERROR("database:\n  uri: sqlite://\n",
                "config.yaml:2:8: database.uri: 'sqlite://': expected sqlite:///absolute/path.db or "
                "sqlite://relative/path.db");
    CHECK_ERROR(
        "database:\n  uri: sqlite:///x.db?mode=ro\n",
        "config.yaml:2:8: database.uri: 'sqlite:///x.db?mode=ro': a SQLite path may not contain '?' or '#'");
    CHECK_ERROR("database:\n  uri: \"postgresql://h/d?bogus=1\"\n",
                "config.yaml:2:8: database.uri: invalid URI query parameter: \"bogus\"");
    CHECK_ERROR(
        "database:\n  uri: postgresql://h/d\n  host: other\n",
        "config.yaml:3:3: database.host: set either database.uri or the separate fields (host, port, socket, "
        "username, password, database), not both");
    CHECK_ERROR("database:\n  password: a\n  password_file: /x\n",
                "config.yaml:3:3: database: set either password or password_file, not both");
    CHECK_ERROR(
        "database:\n  password_file: /nonexistent/pw\n",
        "config.yaml:2:18: database.password_file: cannot read '/nonexistent/pw': No such file or directory");
    CHECK_ERROR("database:\n  port: 70000\n",
                "config.yaml:2:9: database.port: 70000 is out of range (1 to 65535)");
    CHECK_ERROR("database:\n  host: [a]\n", "config.yaml:2:9: database.host: expected a string");
    CHECK_ERROR("database:\n  ssl_mode: sometimes\n",
                "config.yaml:2:13: database.ssl_mode: expected disable, allow, prefer, require, verify-ca or "
                "verify-full");
    CHECK_ERROR("database:\n  uri: sqlite:///x.db\n  ssl_mode: require\n",
                "config.yaml:3:3: database.ssl_mode: applies to PostgreSQL only, and database.uri is SQLite");
    CHECK_ERROR("database:\n  ssl_ca: x\n  ssl_ca_file: y\n",
                "config.yaml:3:3: database: set either ssl_ca or ssl_ca_file, not both");
    CHECK_ERROR("database:\n  ssl_certificate_file: /c.pem\n",
                "config.yaml:2:3: database: a client certificate needs both ssl_certificate(_file) and "
                "ssl_key(_file)");
    CHECK_ERROR("database:\n  max_connections: 0\n",
                "config.yaml:2:20: database.max_connections: 0 is out of range (1 to 4294967295)");
    CHECK_ERROR("database:\n  bogus: 1\n", "config.yaml:2:3: unknown key 'database.bogus'");
}

/* storage_open() from the separate fields: the same server as MASD_TEST_PG_URI. */
static void test_open_from_fields(void)
{
    const char *uri = getenv("MASD_TEST_PG_URI");
    struct storage *st = NULL;
    struct config *cfg = load("database:\n  uri: sqlite:///nonexistent-dir/masd.db\n");
    CHECK(storage_open(cfg, &st) < 0);
    CHECK(strstr(storage_last_error(), "/nonexistent-dir/masd.db") != NULL);
    config_free(cfg);
    if (!uri || !*uri)
        return;
    char *err = NULL, yaml[512];
    PQconninfoOption *opts = PQconninfoParse(uri, &err);
    const char *host = "", *port = "", *user = "", *db = "";
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        const char *v = o->val ? o->val : "";
        if (!strcmp(o->keyword, "host"))
            host = v;
        else if (!strcmp(o->keyword, "port"))
            port = v;
        else if (!strcmp(o->keyword, "user"))
            user = v;
        else if (!strcmp(o->keyword, "dbname"))
            db = v;
    }
    snprintf(yaml, sizeof(yaml), "database:\n  socket: %s\n  port: %s\n  username: %s\n  database: %s\n",
             host, port, user, db);
    cfg = load(yaml);
    CHECK_INT(storage_open(cfg, &st), 0);
    if (st) {
        CHECK_INT(storage_backend(st), STORAGE_POSTGRESQL);
        CHECK(strstr(storage_describe(st), "postgresql://") == storage_describe(st));
        storage_close(st);
    }
    config_free(cfg);
    snprintf(yaml, sizeof(yaml),
             "database:\n  socket: %s\n  port: %s\n  username: nobody_here\n  database: x\n", host, port);
    cfg = load(yaml);
    CHECK(storage_open(cfg, &st) < 0);
    CHECK(strstr(storage_last_error(), "cannot connect") != NULL);
    config_free(cfg);
    PQconninfoFree(opts);
}

int main(void)
{
    test_defaults();
    test_postgres();
    test_errors();
    test_open_from_fields();
    return check_report(__FILE__);
}
