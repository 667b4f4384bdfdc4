/* Shared by the storage files (storage*.c); not for services. The domain files speak one small
 * query API (sq_*) over a statement table; each backend implements it. */
#pragma once
#include "storage.h"
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Attempts of one storage_tx before a transient failure is reported (-EAGAIN). */
#define STORAGE_TX_ATTEMPTS 6
/* SQLite maps this much of the database file (SQLite clamps it to its compiled-in maximum). */
#define STORAGE_SQLITE_MMAP_SIZE "2147418112"
/* Each thread's connection keeps its own page cache; reads come through the memory map above, so
 * a small cache (in KiB, SQLite's negative form) is enough and a process with many threads stays
 * small (SQLite's default is 2 MiB per connection). */
#define STORAGE_SQLITE_CACHE_SIZE "-256"
/* SQLite waits this long for the write lock before SQLITE_BUSY. */
#define STORAGE_SQLITE_BUSY_TIMEOUT_MS 5000
/* PostgreSQL: set on every connection. A statement never runs longer than statement_timeout;
 * a lock wait ends after lock_timeout (then retried as transient); an abandoned transaction is
 * ended by the server after idle_in_transaction_session_timeout. */
#define STORAGE_PG_STATEMENT_TIMEOUT_MS 30000
#define STORAGE_PG_LOCK_TIMEOUT_MS      5000
#define STORAGE_PG_IDLE_TX_TIMEOUT_MS   60000
/* Distinct statements the library prepares (slots in each connection's cache). */
#define STORAGE_MAX_STMTS 256

/* One SQL statement. `sql` uses $1, $2, … placeholders (PostgreSQL's); the SQLite backend
 * rewrites them to ?1, ?2, … A backend-specific text (FOR UPDATE SKIP LOCKED, catalogue
 * queries) goes in pg/sqlite instead. The slot indexes each connection's cache of prepared
 * statements; it is assigned on first use. */
struct storage_stmt {
    const char *sql;
    const char *pg;
    const char *sqlite;
    int slot; /* 0: not assigned yet; else slot + 1 */
};

#define STORAGE_STMT(name, text) static struct storage_stmt name = {.sql = (text)}

enum sq_type { SQ_NULL, SQ_TEXT, SQ_INT };

struct sq_param {
    enum sq_type type;
    const char *s;
    int64_t i;
};

static inline struct sq_param sq_param_text(const char *s)
{
    return (struct sq_param){.type = s ? SQ_TEXT : SQ_NULL, .s = s};
}

static inline struct sq_param sq_param_opt(const char *s)
{
    return (struct sq_param){.type = s && s[0] ? SQ_TEXT : SQ_NULL, .s = s};
}

/* Text; NULL pointer → SQL NULL. */
#define P_TEXT(x) sq_param_text(x)
/* An optional ID or text where "" means NULL. */
#define P_OPT(x) sq_param_opt(x)
#define P_INT(x) ((struct sq_param){.type = SQ_INT, .i = (int64_t)(x)})
/* A time where 0 means NULL. */
#define P_TIME(x) ((struct sq_param){.type = (x) ? SQ_INT : SQ_NULL, .i = (int64_t)(x)})
#define P_BOOL(x) ((struct sq_param){.type = SQ_INT, .i = (x) ? 1 : 0})

struct storage_conn;

/* A running statement: rows are read with sq_next() and the column accessors, then sq_done(). */
struct sq {
    struct storage_tx *tx;
    void *handle; /* sqlite3_stmt* or PGresult* */
    int row, n_rows;
    int64_t changes;
    bool done;
};

struct storage_ops {
    const char *name;
    int (*connect)(struct storage *st, struct storage_conn *c);
    void (*disconnect)(struct storage_conn *c);
    /* BEGIN/COMMIT/ROLLBACK for storage_tx; flags as storage_tx. */
    int (*begin)(struct storage_conn *c, unsigned flags);
    int (*commit)(struct storage_conn *c, unsigned flags);
    void (*rollback)(struct storage_conn *c, unsigned flags);
    int (*run)(struct storage_conn *c, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
               struct sq *q);
    int (*next)(struct sq *q);
    const char *(*text)(struct sq *q, int col); /* NULL for SQL NULL */
    void (*done)(struct sq *q);
    /* Several statements at once (migrations), inside the current transaction. */
    int (*script)(struct storage_conn *c, const char *sql);
};

struct storage_conn {
    struct storage *st;
    void *db;                       /* sqlite3* or PGconn* */
    void *stmts[STORAGE_MAX_STMTS]; /* sqlite3_stmt*; PostgreSQL: non-NULL when prepared */
    pid_t pid;                      /* the process that opened it (forked children must not use it) */
    bool broken;                    /* the connection is lost: reconnect before the next transaction */
    bool in_tx;
    bool gated; /* SQLite: this connection's write transaction holds the WAL gate (storage_sqlite.c) */
    int64_t opened_at, last_used_at; /* CLOCK_MONOTONIC ms, for max_lifetime / idle_timeout */
    struct storage_conn *next;       /* in st->conns */
};

struct storage {
    enum storage_backend backend;
    const struct storage_ops *ops;
    char *describe;
    /* SQLite */
    char *path;
    /* PostgreSQL: libpq keywords/values (NULL-terminated); values may hold secrets */
    char **pg_keys, **pg_values;
    int pg_memfds[3];                         /* inline ssl_ca / ssl_certificate / ssl_key, -1 when unused */
    int64_t idle_timeout_ms, max_lifetime_ms; /* 0: none */
    pthread_key_t key;
    pthread_mutex_t lock; /* guards conns */
    struct storage_conn *conns;
};

struct storage_tx {
    struct storage_conn *conn;
    unsigned flags;
    int error;           /* the first failed statement's error: the transaction will roll back */
    unsigned statements; /* run so far (STORAGE_TX_ONE_STATEMENT allows one) */
};

extern const struct storage_ops storage_sqlite_ops;
extern const struct storage_ops storage_pg_ops;

/* Records the thread's last error (storage_last_error()) and returns r. */
int storage_fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void storage_clear_error(void);

/* True for errors that storage_tx retries: -EAGAIN (busy, serialization failure, deadlock,
 * lock timeout) and -ECONNRESET (connection lost: reconnect first). */
static inline bool storage_transient(int r)
{
    return r == -EAGAIN || r == -ECONNRESET;
}

/* DURABLE implies WRITE, whether or not the caller set both. */
static inline bool storage_tx_writes(unsigned flags)
{
    return flags & (STORAGE_TX_WRITE | STORAGE_TX_DURABLE);
}

/* SQLite: the connection's busy timeout, STORAGE_SQLITE_BUSY_TIMEOUT_MS or 0 (storage_tx_nowait). */
void storage_sqlite_busy_timeout(struct storage_conn *c, bool wait);

/* The calling thread's connection (opened on first use, reopened when broken or too old). */
int storage_conn_get(struct storage *st, struct storage_conn **out);

/* Builds st for a URI or the config section (storage_pg.c parses the PostgreSQL side). */
int storage_pg_setup(struct storage *st, const char *uri, const struct config *cfg);
void storage_pg_teardown(struct storage *st);

/* The query API. sq_run() starts a statement (parameters checked: text must be UTF-8 without
 * NUL); on failure the transaction is marked failed (tx->error) and will roll back. */
int sq_run(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
           struct sq *q);
/* 1: a row is ready; 0: no more rows; < 0: error (the transaction is marked failed). */
int sq_next(struct sq *q);
const char *sq_text(struct sq *q, int col); /* NULL for SQL NULL */
int64_t sq_int(struct sq *q, int col);      /* 0 for SQL NULL */
bool sq_null(struct sq *q, int col);
void sq_done(struct sq *q);

/* Runs a statement that returns no rows we need; *changes (may be NULL): rows affected. */
int sq_exec(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
            int64_t *changes);
/* Runs a statement and hands its first row to fn (fn(q, out)); -ENOENT when no row. */
int sq_one(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
           int (*fn)(struct sq *q, void *out), void *out);
/* Every row to fn(q, arg), in order; stops at fn's first error. */
int sq_each(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
            int (*fn)(struct sq *q, void *arg), void *arg);

#define SQ_ARGS(...)                                                                                         \
    ((const struct sq_param[]){__VA_ARGS__}),                                                                \
        (sizeof((struct sq_param[]){__VA_ARGS__}) / sizeof(struct sq_param))

/* Copies a column into a fixed buffer ("" for NULL), cut at a UTF-8 boundary if too long. */
void sq_copy(struct sq *q, int col, char *buf, size_t size);
/* Copies s into buf (size bytes with NUL), cut at a UTF-8 boundary; NULL → "". */
void storage_copy_cut(char *buf, size_t size, const char *s);
/* Whether s is valid UTF-8 (no overlongs, surrogates or NUL) — what PostgreSQL accepts. */
bool storage_utf8_valid(const char *s, size_t len);
/* -EINVAL with a message unless lang is a BCP 47 tag as far as a job's payload needs one: 1 to
 * STORAGE_LANGUAGE_MAX letters, digits and hyphens (e-mail jobs fall back to English). */
int storage_check_language(const char *lang);
/* -EINVAL with a message when s is NULL/empty (unless empty_ok), longer than max bytes or not UTF-8. */
int storage_check_text(const char *what, const char *s, size_t max, bool empty_ok);

/* ASCII A-Z lowered, every other byte kept; cut to size - 1 bytes. */
void storage_ascii_fold(const char *in, char *out, size_t size);
/* The row count of an UPDATE that matched nothing tells apart "already so" from "no such row":
 * returns 1 when changes > 0, else 0 when `exists` finds id, else -ENOENT. */
int storage_changed_or_missing(struct storage_tx *tx, int64_t changes, struct storage_stmt *exists,
                               const char *id);
/* A new ULID. */
void storage_new_id(char id[STORAGE_ID_SIZE]);
/* Appends one element to a malloc'd array (*items, *n), growing it; returns the new slot. */
void *storage_array_push(void **items, size_t *n, size_t *cap, size_t size);

/* Compat and OAuth tokens are stored alike, each family in its own tables: these do the work for
 * both, given the family's statements. The clear token is hashed here and goes no further. */
/* What compat and OAuth sessions and tokens do alike, each kind with its own statements. */
struct storage_kind_stmts {
    struct storage_stmt *session_finish, *session_release, *session_exists;
    struct storage_stmt *session_release_user, *session_finish_user;
    struct storage_stmt *access_insert, *access_revoke, *access_exists;
    struct storage_stmt *refresh_insert, *refresh_consume, *refresh_exists;
};
extern const struct storage_kind_stmts storage_compat_stmts;        /* storage_sessions.c */
extern const struct storage_kind_stmts storage_oauth_session_stmts; /* storage_oauth.c */
extern const struct storage_kind_stmts storage_oauth_token_stmts;   /* storage_oauth_tokens.c */

int storage_access_token_insert(struct storage_tx *tx, struct storage_stmt *insert, const char *session_id,
                                const char *token, int64_t expires_at, int64_t now,
                                struct storage_access_token *out);
int storage_refresh_token_insert(struct storage_tx *tx, struct storage_stmt *insert, const char *session_id,
                                 const char *access_token_id, const char *token, int64_t now,
                                 struct storage_refresh_token *out);
int storage_token_lookup(struct storage_tx *tx, struct storage_stmt *lookup, const char *token,
                         int (*read)(struct sq *q, void *out), void *out);
/* UPDATE … WHERE id = $1 (with $2 = now), then storage_changed_or_missing(). */
int storage_update_by_id(struct storage_tx *tx, struct storage_stmt *update, struct storage_stmt *exists,
                         const char *id, int64_t now);

/* A compare-and-set UPDATE of a single-use row (… WHERE id = $1 AND x IS NULL): 0 when it
 * changed the row, -EALREADY when the row exists but was taken already, -ENOENT otherwise. */
int storage_cas(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
                struct storage_stmt *exists, const char *id);

/* Column lists with a table prefix ("" or "u."), in the order the readers expect. */
#define USER_COLS_P(p)                                                                                       \
    p "user_id, " p "username, " p "created_at, " p "locked_at, " p "deactivated_at, " p "can_request_admin"

#define OAUTH_SESSION_COLS_P(p)                                                                              \
    p "oauth2_session_id, " p "oauth2_client_id, " p "user_id, " p "browser_session_id, " p "scope, " p      \
      "created_at, " p "finished_at, " p "human_name, " p "user_agent, " p "last_active_at, " p              \
      "last_active_ip"
/* Reads the eleven OAuth session columns starting at column c. */
void storage_read_oauth_session_at(struct sq *q, int c, struct storage_oauth_session *s);

/* Reads the six user columns (USER_COLS order in storage_users.c) starting at column c. */
int storage_read_user(struct sq *q, int c, struct storage_user *u);

/* Token rows from column c on: access (5 columns, 6 with first_used), refresh (7). */
void storage_read_access_at(struct sq *q, int c, struct storage_access_token *t, bool first_used);
void storage_read_refresh_at(struct sq *q, int c, struct storage_refresh_token *t);
/* -EEXIST with the message for a (user, device) that an active session holds. */
int storage_device_taken(const char *user_id, const char *device_id);
/* Ends every active OAuth session of the user (storage_oauth.c). */

/* Migrations (storage_schema.c). */
unsigned storage_schema_latest(void);
/* How many migrations come after `version` (numbers are handed out ahead of merges: a gap is
 * possible until every branch is in). */
unsigned storage_schema_count_after(unsigned version);
