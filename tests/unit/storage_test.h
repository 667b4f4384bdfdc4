/* The storage tests run every case once per backend: SQLite in a fresh file of a temporary
 * directory, and PostgreSQL when MASD_TEST_PG_URI is set (tests/run starts a private server
 * with tests/pg.sh) in a fresh database made for this program and dropped at exit.
 *
 * test_tx_begin()/test_tx_end() open a transaction directly, so that a test can read like a
 * specification without a callback per step; code under test still goes through storage_tx
 * wherever retries or processes matter. */
#pragma once
#include "check.h"
#include "clock.h"
#include "storage.h"
#include "storage_internal.h"
#include <errno.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char test_dir[256];
static char test_pg_dbs[32][64];
static int test_n_pg_dbs;
static pid_t test_owner;

static inline const char *test_backend_name(enum storage_backend b)
{
    return b == STORAGE_SQLITE ? "sqlite" : "postgresql";
}

static inline void test_pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("MASD_TEST_PG_URI"));
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "MASD_TEST_PG_URI: %s", PQerrorMessage(c));
        exit(1);
    }
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(res);
    PQfinish(c);
}

static inline void test_cleanup(void)
{
    if (getpid() != test_owner)
        return;
    for (int i = 0; i < test_n_pg_dbs; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %.63s WITH (FORCE)", test_pg_dbs[i]);
        test_pg_admin(sql);
    }
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
    if (test_dir[0] && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", test_dir);
}

static inline void test_init(void)
{
    snprintf(test_dir, sizeof(test_dir), "/tmp/masd-storage-test.XXXXXX");
    if (!mkdtemp(test_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    test_owner = getpid();
    atexit(test_cleanup);
}

/* The URI of the PostgreSQL test server with another database name. */
static inline void test_pg_uri(const char *db, char *uri, size_t size)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(getenv("MASD_TEST_PG_URI"), &err);
    const char *user = "", *host = "", *port = "";
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "user"))
            user = o->val;
        else if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
    }
    snprintf(uri, size, "postgresql://%s@/%s?host=%s&port=%s", user, db, host, port);
    PQconninfoFree(opts);
    PQfreemem(err);
}

/* A fresh, empty database of backend b; tag names it within this program. */
static inline void test_db(enum storage_backend b, const char *tag, char *uri, size_t size)
{
    static int seq;
    if (b == STORAGE_SQLITE) {
        snprintf(uri, size, "sqlite://%s/%s-%d.db", test_dir, tag, ++seq);
        return;
    }
    char name[64];
    snprintf(name, sizeof(name), "t%d_%s_%d", (int)getpid(), tag, ++seq);
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0", name);
    test_pg_admin(sql);
    if (test_n_pg_dbs < 32)
        snprintf(test_pg_dbs[test_n_pg_dbs++], sizeof(test_pg_dbs[0]), "%s", name);
    test_pg_uri(name, uri, size);
}

/* The backends to run: SQLite always, PostgreSQL when the test server is there. */
static inline int test_backends(enum storage_backend out[2])
{
    int n = 0;
    out[n++] = STORAGE_SQLITE;
    const char *pg = getenv("MASD_TEST_PG_URI");
    if (pg && *pg)
        out[n++] = STORAGE_POSTGRESQL;
    else
        fprintf(stderr, "MASD_TEST_PG_URI is not set: PostgreSQL cases skipped (tests/run sets it)\n");
    return n;
}

/* Opens uri and migrates it; aborts the program on failure (nothing else could run). */
/* Runs fn once for each backend under test (SQLite, and PostgreSQL when MASD_TEST_PG_URI is set),
 * on a fresh database named after tag. */
static inline void test_each_backend(const char *tag, void (*fn)(enum storage_backend b, const char *uri))
{
    enum storage_backend backends[2];
    int n = test_backends(backends);
    for (int i = 0; i < n; i++) {
        char uri[512];
        fprintf(stderr, "# backend %s\n", test_backend_name(backends[i]));
        test_db(backends[i], tag, uri, sizeof(uri));
        fn(backends[i], uri);
    }
}

static inline struct storage *test_open(const char *uri)
{
    struct storage *st = NULL;
    int r = storage_open_uri(uri, &st);
    if (r >= 0)
        r = storage_migrate(st, NULL);
    if (r < 0) {
        fprintf(stderr, "%s: %s (%s)\n", uri, storage_last_error(), strerror(-r));
        exit(1);
    }
    return st;
}

static struct storage_tx test_tx_slot;

static inline struct storage_tx *test_tx_begin(struct storage *st, unsigned flags)
{
    struct storage_conn *c;
    if (storage_conn_get(st, &c) < 0 || st->ops->begin(c, flags) < 0) {
        fprintf(stderr, "begin: %s\n", storage_last_error());
        exit(1);
    }
    c->in_tx = true;
    test_tx_slot = (struct storage_tx){.conn = c, .flags = flags};
    return &test_tx_slot;
}

/* Commits (or rolls back when commit is false or a statement failed); returns the outcome. */
static inline int test_tx_end(struct storage_tx *tx, bool commit)
{
    const struct storage_ops *ops = tx->conn->st->ops;
    int r = tx->error;
    if (commit && r >= 0)
        r = ops->commit(tx->conn, tx->flags);
    else
        ops->rollback(tx->conn, tx->flags);
    tx->conn->in_tx = false;
    return r;
}

/* Waits for a child and returns its exit status (or 128 + signal). */
static inline int test_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
