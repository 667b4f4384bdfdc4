/* The PostgreSQL backend (libpq): one connection per thread, each statement prepared once per
 * connection (named "m<slot>") and executed with text parameters. statement_timeout, lock_timeout
 * and idle_in_transaction_session_timeout are set on every connection. A dropped connection is
 * noticed on the failing call (CONNECTION_BAD), reported as transient, and storage_tx then
 * reconnects and prepares again. Transaction-mode poolers (pgbouncer pool_mode=transaction)
 * are unsupported, as in MAS: prepared statements live in the server session.
 *
 * Commits are as durable as the server makes them (synchronous_commit, default on). */
#include "config.h"
#include "storage_internal.h"
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG_MAX_PARAMS 32
#define PG_MAX_KEYS   20

/* ---------------------------------------------------------------------------------------------
 * Setup: libpq keywords from the URI or the separate fields */

struct kv {
    char *keys[PG_MAX_KEYS + 1], *values[PG_MAX_KEYS + 1];
    size_t n;
};

/* database.uri is checked by libpq's own parser when the config is read (config.h): registered
 * here, in the layer that links libpq, for every program that can open the database. */
static int uri_check(const char *uri, char *why, size_t size)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &err);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    snprintf(why, size, "%s", err ? err : "cannot parse");
    why[strcspn(why, "\n")] = '\0';
    PQfreemem(err);
    return -EINVAL;
}

__attribute__((constructor)) static void register_uri_check(void)
{
    config_set_database_uri_check(uri_check);
}

static int kv_add(struct kv *kv, const char *k, const char *v)
{
    if (!v)
        return 0;
    if (kv->n >= PG_MAX_KEYS)
        return storage_fail(-E2BIG, "too many connection parameters");
    kv->keys[kv->n] = strdup(k);
    kv->values[kv->n] = strdup(v);
    kv->n++;
    if (!kv->keys[kv->n - 1] || !kv->values[kv->n - 1])
        return storage_fail(-ENOMEM, "out of memory");
    return 0;
}

/* Inline PEM (ssl_ca, ssl_certificate, ssl_key) reaches libpq, which only reads files, as a
 * memfd named by /proc/self/fd/N: nothing is written to disk, and the 0600 mode satisfies
 * libpq's check on private key permissions. */
static int memfd_path(struct storage *st, size_t slot, const char *what, const char *pem, char *path,
                      size_t size)
{
    int fd = memfd_create(what, MFD_CLOEXEC);
    if (fd < 0)
        return storage_fail(-errno, "database.%s: memfd_create: %s", what, strerror(errno));
    st->pg_memfds[slot] = fd;
    size_t len = strlen(pem), off = 0;
    while (off < len) {
        ssize_t k = write(fd, pem + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return storage_fail(-errno, "database.%s: write: %s", what, strerror(errno));
        off += (size_t)k;
    }
    if (fchmod(fd, 0600) < 0)
        return storage_fail(-errno, "database.%s: fchmod: %s", what, strerror(errno));
    snprintf(path, size, "/proc/self/fd/%d", fd);
    return 0;
}

static int add_ssl(struct storage *st, struct kv *kv, const struct config_database *d)
{
    static const char *const names[3] = {"ssl_ca", "ssl_certificate", "ssl_key"};
    static const char *const keys[3] = {"sslrootcert", "sslcert", "sslkey"};
    const char *inline_pem[3] = {d->ssl_ca, d->ssl_certificate, d->ssl_key};
    const char *files[3] = {d->ssl_ca_file, d->ssl_certificate_file, d->ssl_key_file};
    int r = kv_add(kv, "sslmode", d->ssl_mode);
    for (size_t i = 0; i < 3 && r >= 0; i++) {
        char path[64];
        if (inline_pem[i]) {
            if ((r = memfd_path(st, i, names[i], inline_pem[i], path, sizeof(path))) >= 0)
                r = kv_add(kv, keys[i], path);
        } else
            r = kv_add(kv, keys[i], files[i]);
    }
    return r;
}

static int add_fields(struct kv *kv, const struct config_database *d)
{
    char port[16];
    snprintf(port, sizeof(port), "%u", d->port);
    int r = kv_add(kv, "host", d->socket ? d->socket : d->host);
    if (r >= 0 && d->port)
        r = kv_add(kv, "port", port);
    if (r >= 0)
        r = kv_add(kv, "user", d->username);
    if (r >= 0)
        r = kv_add(kv, "password", d->password);
    if (r >= 0)
        r = kv_add(kv, "dbname", d->database);
    return r;
}

/* "postgresql://user@host:port/db" for messages: never the password. */
static int describe(struct storage *st, const struct kv *kv, bool from_uri)
{
    const char *user = "", *host = "", *port = "", *db = "";
    PQconninfoOption *opts = NULL;
    char *err = NULL;
    if (from_uri) {
        opts = PQconninfoParse(kv->values[0], &err);
        if (!opts) {
            int r = storage_fail(-EINVAL, "database.uri: %s", err ? err : "cannot parse");
            PQfreemem(err);
            return r;
        }
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            const char *v = o->val ? o->val : "";
            if (!strcmp(o->keyword, "user"))
                user = v;
            else if (!strcmp(o->keyword, "host"))
                host = v;
            else if (!strcmp(o->keyword, "port"))
                port = v;
            else if (!strcmp(o->keyword, "dbname"))
                db = v;
        }
    }
    for (size_t i = 0; i < kv->n; i++) {
        if (!strcmp(kv->keys[i], "user"))
            user = kv->values[i];
        else if (!strcmp(kv->keys[i], "host"))
            host = kv->values[i];
        else if (!strcmp(kv->keys[i], "port"))
            port = kv->values[i];
        else if (!strcmp(kv->keys[i], "dbname") && !from_uri)
            db = kv->values[i];
    }
    int n = asprintf(&st->describe, "postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "", host,
                     *port ? ":" : "", port, db);
    PQconninfoFree(opts);
    return n < 0 ? storage_fail(-ENOMEM, "out of memory") : 0;
}

int storage_pg_setup(struct storage *st, const char *uri, const struct config *cfg)
{
    struct kv kv = {0};
    const struct config_database *d = cfg ? &cfg->database : NULL;
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%u", d && d->connect_timeout ? d->connect_timeout : 30);
    int r = uri ? kv_add(&kv, "dbname", uri) : add_fields(&kv, d);
    /* Later keywords override what the URI says: we need UTF-8 whatever the locale. */
    if (r >= 0)
        r = kv_add(&kv, "client_encoding", "UTF8");
    if (r >= 0)
        r = kv_add(&kv, "fallback_application_name", "masd");
    if (r >= 0)
        r = kv_add(&kv, "connect_timeout", timeout);
    if (r >= 0 && d)
        r = add_ssl(st, &kv, d);
    if (r >= 0)
        r = describe(st, &kv, uri != NULL);
    st->pg_keys = calloc(kv.n + 1, sizeof(char *));
    st->pg_values = calloc(kv.n + 1, sizeof(char *));
    if (r >= 0 && (!st->pg_keys || !st->pg_values))
        r = storage_fail(-ENOMEM, "out of memory");
    for (size_t i = 0; i < kv.n; i++) {
        if (st->pg_keys && st->pg_values) {
            st->pg_keys[i] = kv.keys[i];
            st->pg_values[i] = kv.values[i];
        } else {
            free(kv.keys[i]);
            free(kv.values[i]);
        }
    }
    if (d) {
        st->idle_timeout_ms = (int64_t)d->idle_timeout * 1000;
        st->max_lifetime_ms = (int64_t)d->max_lifetime * 1000;
    }
    st->backend = STORAGE_POSTGRESQL;
    st->ops = &storage_pg_ops;
    return r;
}

void storage_pg_teardown(struct storage *st)
{
    for (size_t i = 0; st->pg_keys && st->pg_keys[i]; i++) {
        free(st->pg_keys[i]);
        explicit_bzero(st->pg_values[i], strlen(st->pg_values[i])); /* may be the password */
        free(st->pg_values[i]);
    }
    free(st->pg_keys);
    free(st->pg_values);
    for (size_t i = 0; i < 3; i++)
        if (st->pg_memfds[i] >= 0)
            close(st->pg_memfds[i]);
}

/* ---------------------------------------------------------------------------------------------
 * Errors */

/* SQLSTATE → errno. Class 08 and server shutdowns mean the connection is gone; 40001/40P01
 * (serialization failure, deadlock) and 55P03 (lock_timeout) are retried by storage_tx. */
static int pg_errno(const char *state)
{
    if (!state)
        return -EIO;
    if (!strcmp(state, "23505"))
        return -EEXIST;
    if (!strcmp(state, "23503"))
        return -ENOENT;
    if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2))
        return -EINVAL;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        return -EAGAIN;
    if (!strcmp(state, "57014"))
        return -ETIMEDOUT;
    if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
        !strcmp(state, "57P03"))
        return -ECONNRESET;
    if (!strcmp(state, "53100"))
        return -ENOSPC;
    return -EIO;
}

static int pg_error(struct storage_conn *c, PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int r = pg_errno(state);
    if (PQstatus(c->db) == CONNECTION_BAD) {
        c->broken = true;
        r = -ECONNRESET;
    }
    if (!msg)
        msg = PQerrorMessage(c->db);
    char line[512];
    snprintf(line, sizeof(line), "%s", msg ? msg : "");
    line[strcspn(line, "\n")] = '\0';
    return storage_fail(r, "%s: %s: %s%s%s", c->st->describe, what, line, state ? " SQLSTATE " : "",
                        state ? state : "");
}

/* Runs a command that returns no rows (BEGIN, SET, …). */
static int command(struct storage_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->db, sql);
    ExecStatusType s = PQresultStatus(res);
    int r = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : pg_error(c, res, sql);
    PQclear(res);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Connections and transactions */

static void pg_disconnect(struct storage_conn *c)
{
    PQfinish(c->db);
    c->db = NULL;
    memset(c->stmts, 0, sizeof(c->stmts));
}

/* libpq prints server notices (CREATE TABLE IF NOT EXISTS … skipping) to stderr by default. */
static void pg_notice(void *arg, const char *message)
{
}

static int pg_connect(struct storage *st, struct storage_conn *c)
{
    PGconn *pg = PQconnectdbParams((const char *const *)st->pg_keys, (const char *const *)st->pg_values, 1);
    if (!pg)
        return storage_fail(-ENOMEM, "%s: out of memory", st->describe);
    c->db = pg;
    if (PQstatus(pg) != CONNECTION_OK) {
        char line[512];
        snprintf(line, sizeof(line), "%s", PQerrorMessage(pg));
        for (char *p = line; *p; p++)
            if (*p == '\n')
                *p = ' ';
        pg_disconnect(c);
        return storage_fail(-ECONNREFUSED, "%s: cannot connect: %s", st->describe, line);
    }
    PQsetNoticeProcessor(pg, pg_notice, NULL);
    char sql[256];
    snprintf(
        sql, sizeof(sql),
        "SET statement_timeout = %d; SET lock_timeout = %d; SET idle_in_transaction_session_timeout = %d",
        STORAGE_PG_STATEMENT_TIMEOUT_MS, STORAGE_PG_LOCK_TIMEOUT_MS, STORAGE_PG_IDLE_TX_TIMEOUT_MS);
    int r = command(c, sql);
    if (r < 0)
        pg_disconnect(c);
    return r;
}

static int pg_begin(struct storage_conn *c, unsigned flags)
{
    /* Reads get one snapshot for the whole transaction, as SQLite's read transactions do;
     * writes run at READ COMMITTED and rely on unique indexes and compare-and-set updates. A
     * lazy one does not wait for its WAL flush (both statements in one round trip). */
    return command(c, !storage_tx_writes(flags)   ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                      : (flags & STORAGE_TX_LAZY) ? "BEGIN; SET LOCAL synchronous_commit TO OFF"
                                                  : "BEGIN");
}

static void pg_rollback(struct storage_conn *c, unsigned flags)
{
    if (!c->broken)
        command(c, "ROLLBACK");
}

static int pg_commit(struct storage_conn *c, unsigned flags)
{
    PGresult *res = PQexec(c->db, "COMMIT");
    int r = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        r = pg_error(c, res, "COMMIT");
        /* The COMMIT may or may not have reached the server: running the transaction again
         * could apply it twice, so this is not retried. */
        if (r == -ECONNRESET)
            r = storage_fail(-EIO,
                             "%s: the connection was lost during COMMIT: the transaction may or may not "
                             "have been applied",
                             c->st->describe);
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        r = storage_fail(-EIO, "%s: COMMIT answered %s", c->st->describe, PQcmdStatus(res));
    PQclear(res);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Statements */

static int pg_prepare(struct storage_conn *c, struct storage_stmt *stmt, const char *name)
{
    int slot = stmt->slot - 1;
    if (c->stmts[slot])
        return 0;
    const char *sql = stmt->pg ? stmt->pg : stmt->sql;
    PGresult *res = PQprepare(c->db, name, sql, 0, NULL);
    int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : pg_error(c, res, sql);
    PQclear(res);
    if (r >= 0)
        c->stmts[slot] = (void *)1;
    return r;
}

static int pg_run(struct storage_conn *c, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
                  struct sq *q)
{
    if (n > PG_MAX_PARAMS)
        return storage_fail(-E2BIG, "too many parameters");
    char name[16];
    snprintf(name, sizeof(name), "m%d", stmt->slot - 1);
    int r = pg_prepare(c, stmt, name);
    if (r < 0)
        return r;
    char ints[PG_MAX_PARAMS][24];
    const char *values[PG_MAX_PARAMS];
    for (size_t i = 0; i < n; i++) {
        if (p[i].type == SQ_INT) {
            snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)p[i].i);
            values[i] = ints[i];
        } else
            values[i] = p[i].type == SQ_TEXT ? p[i].s : NULL;
    }
    PGresult *res = PQexecPrepared(c->db, name, (int)n, values, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
        r = pg_error(c, res, stmt->pg ? stmt->pg : stmt->sql);
        PQclear(res);
        return r;
    }
    q->handle = res;
    q->n_rows = PQntuples(res);
    q->row = -1;
    q->changes = strtoll(PQcmdTuples(res), NULL, 10);
    return 0;
}

static int pg_next(struct sq *q)
{
    if (q->row + 1 >= q->n_rows) {
        q->done = true;
        return 0;
    }
    q->row++;
    return 1;
}

static const char *pg_text(struct sq *q, int col)
{
    if (PQgetisnull(q->handle, q->row, col))
        return NULL;
    return PQgetvalue(q->handle, q->row, col);
}

static void pg_done(struct sq *q)
{
    PQclear(q->handle);
}

static int pg_script(struct storage_conn *c, const char *sql)
{
    return command(c, sql);
}

const struct storage_ops storage_pg_ops = {
    .name = "postgresql",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .run = pg_run,
    .next = pg_next,
    .text = pg_text,
    .done = pg_done,
    .script = pg_script,
};
