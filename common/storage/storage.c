/* The storage core: opening a database by URI or config, one connection per thread, and
 * storage_tx — the transaction runner that retries transient failures and never half-commits.
 * The backends (storage_sqlite.c, storage_pg.c) sit behind struct storage_ops. */
#include "clock.h"
#include "config.h"
#include "storage_internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static __thread char last_error[1024];

const char *storage_last_error(void)
{
    return last_error;
}

void storage_clear_error(void)
{
    last_error[0] = '\0';
}

int storage_fail(int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Connections: one per thread, created on first use and dropped when the thread exits. */

static void conn_free(struct storage_conn *c)
{
    /* A connection inherited across fork() belongs to the parent: closing it here would end the
     * parent's PostgreSQL session (libpq sends Terminate) or break SQLite's locks. */
    if (c->db && c->pid == getpid())
        c->st->ops->disconnect(c);
    free(c);
}

static void conn_unlink(struct storage *st, struct storage_conn *c)
{
    pthread_mutex_lock(&st->lock);
    for (struct storage_conn **p = &st->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    pthread_mutex_unlock(&st->lock);
}

/* pthread key destructor: the thread exits, its connection goes with it. */
static void conn_thread_exit(void *p)
{
    struct storage_conn *c = p;
    conn_unlink(c->st, c);
    conn_free(c);
}

int storage_conn_get(struct storage *st, struct storage_conn **out)
{
    struct storage_conn *c = pthread_getspecific(st->key);
    if (c && c->pid != getpid())
        return storage_fail(-EBADF,
                            "a storage opened before fork() was used in the child: open it again there");
    int64_t now = masd_monotonic_ms();
    /* database.max_lifetime / idle_timeout, applied when the connection is next used. */
    if (c && c->db && !c->in_tx &&
        ((st->max_lifetime_ms && now - c->opened_at >= st->max_lifetime_ms) ||
         (st->idle_timeout_ms && now - c->last_used_at >= st->idle_timeout_ms)))
        c->broken = true;
    if (c && c->broken && c->db) {
        st->ops->disconnect(c); /* also forgets every prepared statement */
        c->db = NULL;
    }
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return storage_fail(-ENOMEM, "out of memory");
        c->st = st;
        c->pid = getpid();
        int r = pthread_setspecific(st->key, c);
        if (r != 0) {
            free(c);
            return storage_fail(-r, "pthread_setspecific: %s", strerror(r));
        }
        pthread_mutex_lock(&st->lock);
        c->next = st->conns;
        st->conns = c;
        pthread_mutex_unlock(&st->lock);
    }
    if (!c->db) {
        c->broken = false;
        memset(c->stmts, 0, sizeof(c->stmts));
        int r = st->ops->connect(st, c);
        if (r < 0)
            return r;
        c->opened_at = now;
    }
    c->last_used_at = now;
    *out = c;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Opening */

static int parse_sqlite_uri(struct storage *st, const char *uri)
{
    const char *path = uri + strlen("sqlite://");
    if (strncmp(uri, "sqlite://", 9) != 0 || !*path)
        return storage_fail(
            -EINVAL, "database.uri '%s': expected sqlite:///absolute/path.db or sqlite://relative/path.db",
            uri);
    /* No query string or fragment: SQLite's own URI parameters would change how the file is
     * opened behind our back (mode=ro, immutable=1, …). */
    if (strpbrk(path, "?#"))
        return storage_fail(-EINVAL, "database.uri '%s': a SQLite path may not contain '?' or '#'", uri);
    st->path = strdup(path);
    if (!st->path || asprintf(&st->describe, "sqlite:%s", path) < 0)
        return storage_fail(-ENOMEM, "out of memory");
    st->backend = STORAGE_SQLITE;
    st->ops = &storage_sqlite_ops;
    return 0;
}

static bool is_pg_uri(const char *uri)
{
    return strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0;
}

static int open_common(const char *uri, const struct config *cfg, struct storage **out)
{
    *out = NULL;
    storage_clear_error();
    struct storage *st = calloc(1, sizeof(*st));
    if (!st)
        return storage_fail(-ENOMEM, "out of memory");
    for (size_t i = 0; i < 3; i++)
        st->pg_memfds[i] = -1;
    int r = pthread_key_create(&st->key, conn_thread_exit);
    if (r != 0) {
        free(st);
        return storage_fail(-r, "pthread_key_create: %s", strerror(r));
    }
    pthread_mutex_init(&st->lock, NULL);
    if (uri && strncmp(uri, "sqlite:", 7) == 0)
        r = parse_sqlite_uri(st, uri);
    else if (!uri || is_pg_uri(uri))
        r = storage_pg_setup(st, uri, cfg);
    else
        r = storage_fail(-EINVAL, "database.uri '%s': expected sqlite://, postgresql:// or postgres://", uri);
    struct storage_conn *c;
    if (r >= 0)
        r = storage_conn_get(st, &c); /* fail now, with a message, rather than on the first request */
    if (r < 0) {
        char saved[sizeof(last_error)];
        memcpy(saved, last_error, sizeof(saved));
        storage_close(st);
        memcpy(last_error, saved, sizeof(saved));
        return r;
    }
    *out = st;
    return 0;
}

int storage_open_uri(const char *uri, struct storage **out)
{
    if (!uri)
        return storage_fail(-EINVAL, "no database URI");
    return open_common(uri, NULL, out);
}

int storage_open(const struct config *cfg, struct storage **out)
{
    const char *uri = cfg->database.uri;
    const struct config_database *d = &cfg->database;
    /* The config loader fills uri with the SQLite default when nothing names a server; a
     * struct config built otherwise gets the same rule here. */
    bool pg = d->host || d->socket || d->port || d->username || d->password || d->database || d->ssl_mode ||
              d->ssl_ca || d->ssl_ca_file || d->ssl_certificate || d->ssl_certificate_file || d->ssl_key ||
              d->ssl_key_file;
    if (!uri && !pg)
        uri = STORAGE_DEFAULT_URI;
    return open_common(uri, cfg, out);
}

void storage_close(struct storage *st)
{
    if (!st)
        return;
    /* No destructor may run for this key any more; then every connection goes. */
    pthread_key_delete(st->key);
    struct storage_conn *c = st->conns;
    while (c) {
        struct storage_conn *next = c->next;
        conn_free(c);
        c = next;
    }
    pthread_mutex_destroy(&st->lock);
    storage_pg_teardown(st);
    free(st->path);
    free(st->describe);
    free(st);
}

enum storage_backend storage_backend(const struct storage *st)
{
    return st->backend;
}

const char *storage_describe(const struct storage *st)
{
    return st->describe;
}

/* ---------------------------------------------------------------------------------------------
 * Transactions */

static int tx_attempt(struct storage_conn *c, unsigned flags, storage_tx_fn fn, void *arg)
{
    const struct storage_ops *ops = c->st->ops;
    /* One statement runs in the database's autocommit mode: its own snapshot, nothing to end. */
    bool explicit = !(flags & STORAGE_TX_ONE_STATEMENT);
    if (c->in_tx)
        return storage_fail(-EDEADLK, "storage_tx called inside a transaction of the same thread");
    int r = explicit ? ops->begin(c, flags) : 0;
    if (r < 0)
        return r;
    c->in_tx = true;
    struct storage_tx tx = {.conn = c, .flags = flags};
    r = fn(&tx, arg);
    /* A statement failed: the transaction cannot commit, whatever fn made of the error. A
     * transient failure wins over fn's own translation so that it is retried. */
    if (tx.error < 0 && (r >= 0 || storage_transient(tx.error)))
        r = tx.error;
    if (r >= 0 && explicit) {
        int k = ops->commit(c, flags);
        if (k < 0)
            r = k;
    } else if (explicit)
        ops->rollback(c, flags);
    c->in_tx = false;
    return r;
}

static int check_flags(unsigned flags)
{
    if ((flags & STORAGE_TX_ONE_STATEMENT) && storage_tx_writes(flags))
        return storage_fail(-EINVAL, "a one-statement transaction is read-only");
    if ((flags & STORAGE_TX_LAZY) && (!(flags & STORAGE_TX_WRITE) || (flags & STORAGE_TX_DURABLE)))
        return storage_fail(-EINVAL, "a lazy transaction writes, and is not durable");
    return 0;
}

/* Exponential backoff with jitter so that two processes that collided do not collide again. */
static void backoff(unsigned attempt)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long us = (1L << attempt) * 1000 + (now.tv_nsec / 1000) % (1000L * attempt);
    struct timespec d = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&d, NULL);
}

int storage_tx(struct storage *st, unsigned flags, storage_tx_fn fn, void *arg)
{
    if (flags & STORAGE_TX_DURABLE)
        flags |= STORAGE_TX_WRITE;
    int r = check_flags(flags);
    if (r < 0)
        return r;
    for (unsigned attempt = 1;; attempt++) {
        storage_clear_error();
        struct storage_conn *c;
        r = storage_conn_get(st, &c);
        if (r >= 0)
            r = tx_attempt(c, flags, fn, arg);
        if (!storage_transient(r) || attempt >= STORAGE_TX_ATTEMPTS)
            break;
        backoff(attempt);
    }
    if (storage_transient(r)) {
        char why[sizeof(last_error)];
        snprintf(why, sizeof(why), "%s", last_error);
        r = storage_fail(-EAGAIN, "%s: gave up after %d attempts: %s", st->describe, STORAGE_TX_ATTEMPTS,
                         why);
    }
    return r;
}

int storage_tx_nowait(struct storage *st, unsigned flags, storage_tx_fn fn, void *arg)
{
    storage_clear_error();
    if (storage_tx_writes(flags))
        return storage_fail(-EINVAL, "storage_tx_nowait runs reads only");
    if (st->backend != STORAGE_SQLITE)
        return storage_fail(-EWOULDBLOCK, "%s: a round trip to the server would wait", st->describe);
    struct storage_conn *c;
    int r = storage_conn_get(st, &c);
    if (r < 0)
        return r;
    storage_sqlite_busy_timeout(c, false);
    r = tx_attempt(c, flags, fn, arg);
    storage_sqlite_busy_timeout(c, true);
    return storage_transient(r) ? -EWOULDBLOCK : r;
}

/* ---------------------------------------------------------------------------------------------
 * The query API over the backend */

static int next_slot;

static int stmt_slot(struct storage_stmt *stmt)
{
    int s = __atomic_load_n(&stmt->slot, __ATOMIC_ACQUIRE);
    if (s)
        return s - 1;
    int mine = __atomic_add_fetch(&next_slot, 1, __ATOMIC_RELAXED);
    int expected = 0;
    if (!__atomic_compare_exchange_n(&stmt->slot, &expected, mine, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        mine = expected; /* another thread assigned it first; our number is simply unused */
    return mine - 1;
}

int sq_run(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n, struct sq *q)
{
    *q = (struct sq){.tx = tx, .done = true};
    /* After a failed statement PostgreSQL refuses everything until ROLLBACK; SQLite is held to
     * the same rule so that both backends behave alike. */
    if (tx->error < 0)
        return tx->error;
    for (size_t i = 0; i < n; i++)
        if (p[i].type == SQ_TEXT && !storage_utf8_valid(p[i].s, strlen(p[i].s)))
            return storage_fail(-EINVAL, "parameter %zu is not valid UTF-8", i + 1);
    if (tx->flags & STORAGE_TX_ONE_STATEMENT) {
        const struct storage *st = tx->conn->st;
        const char *text = st->backend == STORAGE_POSTGRESQL ? stmt->pg : stmt->sqlite;
        if (!text)
            text = stmt->sql;
        if (tx->statements > 0 || strncasecmp(text, "SELECT ", 7) != 0)
            return tx->error = storage_fail(-EINVAL, "a one-statement transaction runs one SELECT: %s", text);
    }
    tx->statements++;
    int slot = stmt_slot(stmt);
    if (slot >= STORAGE_MAX_STMTS)
        return tx->error = storage_fail(-E2BIG, "more than %d statements: raise STORAGE_MAX_STMTS",
                                        STORAGE_MAX_STMTS);
    q->done = false;
    int r = tx->conn->st->ops->run(tx->conn, stmt, p, n, q);
    if (r < 0) {
        q->done = true;
        tx->error = r;
    }
    return r;
}

int sq_next(struct sq *q)
{
    if (q->done)
        return 0;
    int r = q->tx->conn->st->ops->next(q);
    if (r < 0 && q->tx->error == 0)
        q->tx->error = r;
    return r;
}

const char *sq_text(struct sq *q, int col)
{
    return q->tx->conn->st->ops->text(q, col);
}

int64_t sq_int(struct sq *q, int col)
{
    const char *s = sq_text(q, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

bool sq_null(struct sq *q, int col)
{
    return sq_text(q, col) == NULL;
}

void sq_done(struct sq *q)
{
    if (q->handle)
        q->tx->conn->st->ops->done(q);
    q->handle = NULL;
}

int sq_exec(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
            int64_t *changes)
{
    struct sq q;
    int r = sq_run(tx, stmt, p, n, &q);
    while (r >= 0 && (r = sq_next(&q)) > 0)
        ;
    if (r >= 0 && changes)
        *changes = q.changes;
    sq_done(&q);
    return r < 0 ? r : 0;
}

int sq_one(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
           int (*fn)(struct sq *q, void *out), void *out)
{
    struct sq q;
    int r = sq_run(tx, stmt, p, n, &q);
    if (r >= 0)
        r = sq_next(&q);
    if (r == 0)
        r = -ENOENT;
    else if (r > 0)
        r = fn ? fn(&q, out) : 0;
    sq_done(&q);
    return r;
}

int sq_each(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
            int (*fn)(struct sq *q, void *arg), void *arg)
{
    struct sq q;
    int r = sq_run(tx, stmt, p, n, &q);
    while (r >= 0 && (r = sq_next(&q)) > 0)
        if ((r = fn(&q, arg)) < 0)
            break;
    sq_done(&q);
    return r < 0 ? r : 0;
}
