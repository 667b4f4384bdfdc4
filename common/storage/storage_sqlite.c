/* The SQLite backend: one sqlite3 connection per thread (opened without SQLite's own mutexes,
 * since no two threads share one), statements prepared once per connection and reused.
 *
 * Durability (docs/architecture.md §5). The database runs in WAL mode with synchronous=NORMAL: a commit
 * appends to the WAL and returns without fsync. The WAL is in the OS page cache the moment
 * COMMIT returns, so a crash of the process — kill -9 included — loses nothing that was
 * acknowledged, and the database is always consistent; only a power loss or kernel crash can
 * lose the last commits (never corrupt the file). That is the level promised for tokens,
 * sessions, grants, rate-limit state and jobs, and it is what makes a write cost microseconds
 * rather than an fsync.
 *
 * Account and password changes (STORAGE_TX_DURABLE) run with synchronous=FULL for that one
 * transaction: the WAL is fsynced before COMMIT returns, so an acknowledged account change
 * survives power loss. The fsync covers the whole WAL, so every commit before it becomes
 * durable too. PRAGMA synchronous cannot change inside a transaction, so it is set just
 * before BEGIN and put back after COMMIT/ROLLBACK.
 *
 * Reads: the database file is memory-mapped (mmap_size, up to SQLite's compiled-in limit), so a
 * page that is not in the connection's own cache is read from the kernel's page cache without a
 * pread() and a copy: point lookups over a database larger than the per-connection cache (2 MB)
 * cost no system call per page, and every connection and process shares the one copy (RssFile,
 * not RssAnon). Pages still in the WAL are read from the WAL as before.
 *
 * Checkpoints: wal_autocheckpoint=0, so a request does not pay for copying the WAL into the
 * database; masd-worker calls storage_checkpoint() every second (PASSIVE: it never blocks
 * writers). Under a steady stream of writes a passive checkpoint never catches up with the last
 * frame, and the WAL is only reset when one does, so it would grow without bound (a flood of
 * logins from new addresses writes a rate-limit row each). Hence the bounds in storage.h:
 * past STORAGE_SQLITE_WAL_SOFT_BYTES the worker runs a TRUNCATE checkpoint (it waits for the
 * write lock and for readers to leave the WAL, then empties it); past
 * STORAGE_SQLITE_WAL_HARD_BYTES a service runs one itself behind its write transactions (the
 * WAL gate below), the safety net when the worker cannot keep up or is not running; journal_size_limit
 * caps what a reset WAL keeps on disk. In WAL mode with synchronous=NORMAL the database file
 * itself is fsynced at each checkpoint. */
#include "clock.h"
#include "log.h"
#include "storage_internal.h"
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sqlite_error(struct storage_conn *c, int rc, const char *what)
{
    sqlite3 *db = c->db;
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    int r;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        r = -EAGAIN;
        break;
    case SQLITE_CONSTRAINT:
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            r = -EEXIST;
        else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            r = -ENOENT; /* a referenced row does not exist, as PostgreSQL's 23503 */
        else
            r = -EINVAL;
        break;
    case SQLITE_FULL:
        r = -ENOSPC;
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        r = -EACCES;
        break;
    case SQLITE_NOMEM:
        r = -ENOMEM;
        break;
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        r = -EINVAL;
        break;
    default:
        r = -EIO;
    }
    return storage_fail(r, "%s: %s: %s", c->st->describe, what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int exec(struct storage_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_error(c, rc, sql);
}

static int journal_mode_cb(void *arg, int n, char **values, char **names)
{
    if (n >= 1 && values[0])
        snprintf(arg, 16, "%s", values[0]);
    return 0;
}

static int page_size_cb(void *arg, int n, char **values, char **names)
{
    (void)names;
    if (n >= 1 && values[0])
        *(long *)arg = strtol(values[0], NULL, 10);
    return 0;
}

/* The database's page size (a WAL frame holds one page), 4096 if it cannot be read. */
static long page_size(sqlite3 *db)
{
    long size = 0;
    sqlite3_exec(db, "PRAGMA page_size", page_size_cb, &size, NULL);
    return size > 0 ? size : 4096;
}

/* The hard bound. A checkpoint that truncates the WAL must take SQLite's write lock, which it
 * polls for: against a steady stream of short write transactions it can lose for as long as the
 * stream lasts, and the WAL grows all that time. So each process puts its write transactions
 * behind a gate (a writer-preferring read-write lock: every write transaction holds it shared).
 * When a commit finds the WAL past the hard bound (SQLite's wal hook), the committing thread,
 * once its own transaction is over, takes the gate exclusively: no write transaction of this
 * process can start, those in flight finish, and the checkpoint gets the write lock at once and
 * waits (busy_timeout) only for readers to leave the WAL. The WAL then restarts empty. Writers of
 * other processes are held by their own gates. */
static pthread_rwlock_t wal_gate;
static pthread_once_t wal_gate_once = PTHREAD_ONCE_INIT;
static atomic_bool wal_over;

static void wal_gate_init(void)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&wal_gate, &attr);
    pthread_rwlockattr_destroy(&attr);
}

/* After every commit in WAL mode (arg: the hard bound in frames): only notes that the bound was
 * passed; the truncation runs after the transaction, in wal_truncate(). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db, (void)name;
    if (frames >= (intptr_t)arg)
        atomic_store(&wal_over, true);
    return SQLITE_OK;
}

static void wal_truncate(struct storage_conn *c)
{
    static _Atomic int64_t last_warned = INT64_MIN / 2;
    if (!atomic_exchange(&wal_over, false))
        return;
    pthread_rwlock_wrlock(&wal_gate);
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    pthread_rwlock_unlock(&wal_gate);
    int64_t now = masd_monotonic_ms(), prev = atomic_load(&last_warned);
    if (now - prev >= 60000 && atomic_compare_exchange_strong(&last_warned, &prev, now))
        log_warn("the SQLite WAL passed its hard bound (%lld MiB): truncated by a request (%s); "
                 "is masd-worker running and keeping up?",
                 STORAGE_SQLITE_WAL_HARD_BYTES >> 20, rc == SQLITE_OK ? "done" : sqlite3_errstr(rc));
}

static void gate_release(struct storage_conn *c)
{
    if (!c->gated)
        return;
    c->gated = false;
    pthread_rwlock_unlock(&wal_gate);
    wal_truncate(c);
}

/* The file is created 0600 before SQLite opens it: it holds password hashes, and SQLite gives
 * the -wal and -shm files the main file's mode. */
static int create_file(struct storage_conn *c)
{
    int fd = open(c->st->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    int r = -errno;
    return storage_fail(r, "%s: cannot create the database file: %s", c->st->describe, strerror(-r));
}

static void sqlite_disconnect(struct storage_conn *c)
{
    for (size_t i = 0; i < STORAGE_MAX_STMTS; i++)
        if (c->stmts[i]) {
            sqlite3_finalize(c->stmts[i]);
            c->stmts[i] = NULL;
        }
    sqlite3_close(c->db);
    c->db = NULL;
}

static int sqlite_connect(struct storage *st, struct storage_conn *c)
{
    int r = create_file(c);
    if (r < 0)
        return r;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    c->db = db;
    if (rc != SQLITE_OK) {
        r = sqlite_error(c, rc, "open");
        sqlite_disconnect(c);
        return r;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, STORAGE_SQLITE_BUSY_TIMEOUT_MS);
    char mode[16] = "";
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", journal_mode_cb, mode, NULL);
    if (rc != SQLITE_OK)
        r = sqlite_error(c, rc, "PRAGMA journal_mode=WAL");
    else if (strcmp(mode, "wal") != 0)
        r = storage_fail(-EIO, "%s: cannot switch to WAL mode (journal_mode is '%s')", st->describe, mode);
    char limit[64];
    snprintf(limit, sizeof(limit), "PRAGMA journal_size_limit=%lld", STORAGE_SQLITE_WAL_SOFT_BYTES);
    if (r >= 0)
        r = exec(c, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0;"
                    " PRAGMA trusted_schema=OFF; PRAGMA mmap_size=" STORAGE_SQLITE_MMAP_SIZE
                    "; PRAGMA cache_size=" STORAGE_SQLITE_CACHE_SIZE);
    if (r >= 0)
        r = exec(c, limit);
    if (r >= 0)
        sqlite3_wal_hook(db, wal_hook, (void *)(intptr_t)(STORAGE_SQLITE_WAL_HARD_BYTES / page_size(db)));
    if (r < 0)
        sqlite_disconnect(c);
    return r;
}

static int sqlite_begin(struct storage_conn *c, unsigned flags)
{
    int r;
    if ((flags & STORAGE_TX_DURABLE) && (r = exec(c, "PRAGMA synchronous=FULL")) < 0)
        return r;
    if (storage_tx_writes(flags)) {
        pthread_once(&wal_gate_once, wal_gate_init);
        pthread_rwlock_rdlock(&wal_gate);
        c->gated = true;
    }
    /* IMMEDIATE takes the write lock now (waiting up to busy_timeout), so a write transaction
     * never fails half-way with SQLITE_BUSY when it upgrades from reading to writing. */
    r = exec(c, storage_tx_writes(flags) ? "BEGIN IMMEDIATE" : "BEGIN");
    if (r < 0) {
        if (flags & STORAGE_TX_DURABLE)
            sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
        gate_release(c);
    }
    return r;
}

static void sqlite_rollback(struct storage_conn *c, unsigned flags)
{
    /* SQLite rolls back by itself after some errors (SQLITE_FULL, IOERR, …). */
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    if (flags & STORAGE_TX_DURABLE)
        sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    gate_release(c);
}

static int sqlite_commit(struct storage_conn *c, unsigned flags)
{
    int r = exec(c, "COMMIT");
    if (r < 0) {
        sqlite_rollback(c, flags);
        return r;
    }
    if (flags & STORAGE_TX_DURABLE)
        sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    gate_release(c);
    return 0;
}

/* $1, $2, … (PostgreSQL's placeholders, which the statement texts use) become ?1, ?2, …: for
 * SQLite "$1" would be a *named* parameter numbered by first appearance. */
static char *rewrite_placeholders(const char *sql)
{
    char *out = strdup(sql);
    if (!out)
        return NULL;
    for (char *p = out; *p; p++)
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    return out;
}

static int prepare(struct storage_conn *c, struct storage_stmt *stmt, sqlite3_stmt **out)
{
    int slot = stmt->slot - 1;
    if (c->stmts[slot]) {
        *out = c->stmts[slot];
        return 0;
    }
    char *sql = rewrite_placeholders(stmt->sqlite ? stmt->sqlite : stmt->sql);
    if (!sql)
        return storage_fail(-ENOMEM, "out of memory");
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    int r = rc == SQLITE_OK ? 0 : sqlite_error(c, rc, sql);
    free(sql);
    if (r < 0)
        return r;
    c->stmts[slot] = s;
    *out = s;
    return 0;
}

static int step(struct sq *q)
{
    struct storage_conn *c = q->tx->conn;
    int rc = sqlite3_step(q->handle);
    if (rc == SQLITE_ROW)
        return 1;
    q->done = true;
    if (rc == SQLITE_DONE) {
        q->changes = sqlite3_changes64(c->db);
        return 0;
    }
    return sqlite_error(c, rc, sqlite3_sql(q->handle));
}

static int sqlite_run(struct storage_conn *c, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
                      struct sq *q)
{
    sqlite3_stmt *s = NULL;
    int r = prepare(c, stmt, &s);
    if (r < 0)
        return r;
    /* PostgreSQL refuses writes in a READ ONLY transaction; SQLite would quietly upgrade the
     * lock, so it is held to the same rule here. */
    if (!storage_tx_writes(q->tx->flags) && !sqlite3_stmt_readonly(s))
        return storage_fail(-EIO, "%s: cannot write in a read-only transaction: %s", c->st->describe,
                            sqlite3_sql(s));
    q->handle = s;
    for (size_t i = 0; i < n && r >= 0; i++) {
        int rc = p[i].type == SQ_TEXT  ? sqlite3_bind_text(s, (int)i + 1, p[i].s, -1, SQLITE_TRANSIENT)
                 : p[i].type == SQ_INT ? sqlite3_bind_int64(s, (int)i + 1, p[i].i)
                                       : sqlite3_bind_null(s, (int)i + 1);
        if (rc != SQLITE_OK)
            r = sqlite_error(c, rc, "bind");
    }
    /* The first step runs the statement (an INSERT … RETURNING applies all of its changes
     * here), so constraint errors surface now; a row found is kept for sq_next(). */
    if (r >= 0)
        r = step(q);
    if (r < 0) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        q->handle = NULL;
        return r;
    }
    q->row = r == 1 ? -1 : 0; /* -1: the first row is waiting */
    return 0;
}

static int sqlite_next(struct sq *q)
{
    if (q->row == -1) {
        q->row = 1;
        return 1;
    }
    if (q->done)
        return 0;
    return step(q);
}

static const char *sqlite_text(struct sq *q, int col)
{
    if (sqlite3_column_type(q->handle, col) == SQLITE_NULL)
        return NULL;
    return (const char *)sqlite3_column_text(q->handle, col);
}

static void sqlite_done(struct sq *q)
{
    sqlite3_reset(q->handle);
    sqlite3_clear_bindings(q->handle);
}

static int sqlite_script(struct storage_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_error(c, rc, "migration");
}

const struct storage_ops storage_sqlite_ops = {
    .name = "sqlite",
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .run = sqlite_run,
    .next = sqlite_next,
    .text = sqlite_text,
    .done = sqlite_done,
    .script = sqlite_script,
};

void storage_sqlite_busy_timeout(struct storage_conn *c, bool wait)
{
    sqlite3_busy_timeout(c->db, wait ? STORAGE_SQLITE_BUSY_TIMEOUT_MS : 0);
}

int storage_checkpoint(struct storage *st)
{
    if (st->backend != STORAGE_SQLITE)
        return 0;
    struct storage_conn *c;
    int r = storage_conn_get(st, &c);
    if (r < 0)
        return r;
    int log_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, NULL);
    if ((rc & 0xff) == SQLITE_BUSY)
        return 0; /* another connection is checkpointing (a service past the hard bound) */
    if (rc != SQLITE_OK)
        return sqlite_error(c, rc, "checkpoint");
    if ((int64_t)log_frames * page_size(c->db) <= STORAGE_SQLITE_WAL_SOFT_BYTES)
        return 0;
    rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_error(c, rc, "truncating checkpoint");
}
