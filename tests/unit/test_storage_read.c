/* The hot-path reads (storage.h): STORAGE_TX_ONE_STATEMENT (one SELECT, no BEGIN/COMMIT) and
 * storage_tx_nowait (what an event loop may call: SQLite with busy_timeout 0, never retried,
 * -EWOULDBLOCK on PostgreSQL and when SQLite is busy). Both backends. */
#include "storage_test.h"
#include "token.h"
#include <time.h>

#define NOW 1700000000000LL

struct lookup {
    const char *token;
    int calls;
    int extra; /* 1: a second SELECT after the lookup; 2: a write instead */
    struct storage_compat_access_lookup l;
};

STORAGE_STMT(count_users, "SELECT COUNT(*) FROM users");
STORAGE_STMT(touch_user, "UPDATE users SET locked_at = NULL WHERE user_id = ''");

static int lookup_fn(struct storage_tx *tx, void *arg)
{
    struct lookup *k = arg;
    k->calls++;
    if (k->extra == 2)
        return sq_exec(tx, &touch_user, NULL, 0, NULL);
    int r = storage_compat_access_token_lookup(tx, k->token, &k->l);
    if (r >= 0 && k->extra == 1)
        r = sq_one(tx, &count_users, NULL, 0, NULL, NULL);
    return r;
}

/* A user, a compat session and its access token, committed; the clear token in `token`. */
static void seed(struct storage *st, const char *name, char token[TOKEN_LEN + 1],
                 struct storage_compat_session *s)
{
    CHECK_INT(token_generate(TOKEN_COMPAT_ACCESS, token), 0);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    CHECK_INT(storage_user_create(tx, name, false, NOW, &u), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, "READDEV", false, NULL, NULL, NULL, NOW, s), 0);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_COMPAT, s->id, token, 0, NOW, NULL), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static int revoke_fn(struct storage_tx *tx, void *arg)
{
    struct storage_compat_access_lookup *l = arg;
    return storage_access_token_revoke(tx, STORAGE_SESSION_COMPAT, l->token.id, NOW + 1);
}

static void test_one_statement(struct storage *st)
{
    char token[TOKEN_LEN + 1];
    struct storage_compat_session s;
    seed(st, "reader", token, &s);
    unsigned one = STORAGE_TX_READ | STORAGE_TX_ONE_STATEMENT;

    struct lookup k = {.token = token};
    CHECK_INT(storage_tx(st, one, lookup_fn, &k), 0);
    CHECK_INT(k.calls, 1);
    CHECK_STR(k.l.session.id, s.id);
    CHECK_STR(k.l.session.device_id, "READDEV");
    CHECK_STR(k.l.user.username, "reader");
    CHECK_INT(k.l.token.revoked_at, 0);

    /* Each call is a fresh snapshot: a change committed since is seen. */
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, revoke_fn, &k.l), 1);
    CHECK_INT(storage_tx(st, one, lookup_fn, &k), 0);
    CHECK_INT(k.l.token.revoked_at, NOW + 1);

    /* Unknown token: -ENOENT, as in a transaction. */
    struct lookup none = {.token = "mct_000000000000000000000000000000_000000"};
    CHECK_INT(storage_tx(st, one, lookup_fn, &none), -ENOENT);

    /* At most one statement, and only a SELECT; never with a write flag. */
    struct lookup two = {.token = token, .extra = 1};
    CHECK_INT(storage_tx(st, one, lookup_fn, &two), -EINVAL);
    CHECK(strstr(storage_last_error(), "one SELECT") != NULL);
    CHECK_INT(two.calls, 1); /* not transient: not retried */
    struct lookup write = {.token = token, .extra = 2};
    CHECK_INT(storage_tx(st, one, lookup_fn, &write), -EINVAL);
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE | STORAGE_TX_ONE_STATEMENT, lookup_fn, &k), -EINVAL);
    CHECK_INT(storage_tx(st, STORAGE_TX_DURABLE | STORAGE_TX_ONE_STATEMENT, lookup_fn, &k), -EINVAL);

    /* The connection is usable for ordinary transactions afterwards (nothing left open). */
    struct lookup again = {.token = token, .extra = 1};
    CHECK_INT(storage_tx(st, STORAGE_TX_READ, lookup_fn, &again), 0);
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, revoke_fn, &k.l), 0);
}

static int64_t read_busy_timeout(struct storage_tx *tx)
{
    static struct storage_stmt pragma = {.sqlite = "PRAGMA busy_timeout", .pg = "SELECT -1"};
    struct sq q;
    int64_t v = -2;
    if (sq_run(tx, &pragma, NULL, 0, &q) >= 0 && sq_next(&q) > 0)
        v = sq_int(&q, 0);
    sq_done(&q);
    return v;
}

static int busy_probe_fn(struct storage_tx *tx, void *arg)
{
    *(int64_t *)arg = read_busy_timeout(tx);
    return 0;
}

static int busy_fn(struct storage_tx *tx, void *arg)
{
    (void)tx;
    ++*(int *)arg;
    return storage_fail(-EAGAIN, "database is locked"); /* what SQLITE_BUSY maps to */
}

static double elapsed_ms(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1e3 + (b.tv_nsec - a->tv_nsec) / 1e6;
}

static void test_nowait(struct storage *st, const char *uri)
{
    char token[TOKEN_LEN + 1];
    struct storage_compat_session s;
    seed(st, "looper", token, &s);
    unsigned one = STORAGE_TX_READ | STORAGE_TX_ONE_STATEMENT;
    struct lookup k = {.token = token};

    CHECK_INT(storage_tx_nowait(st, STORAGE_TX_WRITE, lookup_fn, &k), -EINVAL);
    CHECK_INT(storage_tx_nowait(st, STORAGE_TX_DURABLE, lookup_fn, &k), -EINVAL);
    CHECK_INT(k.calls, 0);

    if (storage_backend(st) == STORAGE_POSTGRESQL) {
        /* a round trip would wait: nothing runs, the caller goes to the pool */
        CHECK_INT(storage_tx_nowait(st, one, lookup_fn, &k), -EWOULDBLOCK);
        CHECK_INT(k.calls, 0);
        return;
    }

    CHECK_INT(storage_tx_nowait(st, one, lookup_fn, &k), 0);
    CHECK_INT(k.calls, 1);
    CHECK_STR(k.l.session.id, s.id);
    CHECK_STR(k.l.user.username, "looper");
    struct lookup none = {.token = "mct_000000000000000000000000000000_000000"};
    CHECK_INT(storage_tx_nowait(st, one, lookup_fn, &none), -ENOENT);
    struct lookup two = {.token = token, .extra = 1};
    CHECK_INT(storage_tx_nowait(st, one, lookup_fn, &two), -EINVAL);

    /* busy_timeout is 0 inside, and back to STORAGE_SQLITE_BUSY_TIMEOUT_MS after. */
    int64_t inside = -1, after = -1;
    CHECK_INT(storage_tx_nowait(st, STORAGE_TX_READ, busy_probe_fn, &inside), 0);
    CHECK_INT(inside, 0);
    CHECK_INT(storage_tx(st, STORAGE_TX_READ, busy_probe_fn, &after), 0);
    CHECK_INT(after, STORAGE_SQLITE_BUSY_TIMEOUT_MS);

    /* SQLITE_BUSY (a transient failure: storage_tx would back off and run fn again) is
     * -EWOULDBLOCK at once, fn run once: the caller hands the work to the pool. */
    int calls = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(storage_tx_nowait(st, one, busy_fn, &calls), -EWOULDBLOCK);
    CHECK_INT(calls, 1);
    CHECK(elapsed_ms(&t0) < 100);
    calls = 0;
    CHECK_INT(storage_tx(st, one, busy_fn, &calls), -EAGAIN);
    CHECK_INT(calls, STORAGE_TX_ATTEMPTS);
    /* and the connection still reads afterwards, with its busy timeout back */
    k.calls = 0;
    CHECK_INT(storage_tx_nowait(st, one, lookup_fn, &k), 0);
    CHECK_INT(k.calls, 1);
    CHECK_INT(storage_tx(st, STORAGE_TX_READ, busy_probe_fn, &after), 0);
    CHECK_INT(after, STORAGE_SQLITE_BUSY_TIMEOUT_MS);
}

/* Every test of this file, on one backend. */
static void run(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    test_one_statement(st);
    test_nowait(st, uri);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("read", run);
    return check_report(__FILE__);
}
