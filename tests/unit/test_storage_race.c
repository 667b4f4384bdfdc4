/* Storage under concurrency, with real processes (fork) and threads, on SQLite and PostgreSQL:
 * concurrent writers lose nothing; a single-use row is consumed by exactly one of several
 * racing processes; a GCRA bucket is shared across processes; every job is claimed once; and a
 * writer killed with SIGKILL in the middle of a burst loses no acknowledged write and leaves a
 * database that passes its integrity check. */
#include "storage_test.h"
#include "token.h"
#include <pthread.h>

static const int64_t NOW = 1700000000000;

/* The child side: its own storage (never the parent's after fork), and _exit so that no
 * atexit handler of the parent runs. */
static struct storage *child_open(const char *uri)
{
    struct storage *st = NULL;
    if (storage_open_uri(uri, &st) < 0) {
        fprintf(stderr, "child: %s\n", storage_last_error());
        _exit(99);
    }
    return st;
}

static int64_t count_rows(struct storage *st, const char *like)
{
    static struct storage_stmt count = {.sql = "SELECT COUNT(*) FROM users WHERE username LIKE $1"};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct sq q;
    int64_t n = -1;
    if (sq_run(tx, &count, SQ_ARGS(P_TEXT(like)), &q) >= 0 && sq_next(&q) > 0)
        n = sq_int(&q, 0);
    sq_done(&q);
    test_tx_end(tx, true);
    return n;
}

struct insert {
    const char *name;
};

static int insert_fn(struct storage_tx *tx, void *arg)
{
    struct insert *in = arg;
    return storage_user_create(tx, in->name, false, NOW, NULL);
}

static int insert_user(struct storage *st, const char *fmt, int a, int b)
{
    char name[64];
    snprintf(name, sizeof(name), fmt, a, b);
    struct insert in = {name};
    return storage_tx(st, STORAGE_TX_WRITE, insert_fn, &in);
}

#define WRITERS 2
#define WRITES  300

static void test_two_writers(const char *uri)
{
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        if ((pids[w] = fork()) == 0) {
            struct storage *st = child_open(uri);
            for (int i = 0; i < WRITES; i++)
                if (insert_user(st, "writer%d_%d", w, i) < 0) {
                    fprintf(stderr, "writer %d: %s\n", w, storage_last_error());
                    _exit(1);
                }
            storage_close(st);
            _exit(0);
        }
    }
    for (int w = 0; w < WRITERS; w++)
        CHECK_INT(test_wait(pids[w]), 0);
    struct storage *st = test_open(uri);
    CHECK_INT(count_rows(st, "writer%"), WRITERS * WRITES);
    storage_close(st);
}

struct thread_arg {
    struct storage *st;
    int id, failures;
};

static void *thread_writer(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 200; i++)
        if (insert_user(a->st, "thread%d_%d", a->id, i) < 0)
            a->failures++;
    return NULL;
}

/* Threads of one process share a struct storage, each with its own connection. */
static void test_threads(const char *uri)
{
    struct storage *st = test_open(uri);
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){st, i, 0};
        pthread_create(&t[i], NULL, thread_writer, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(args[i].failures, 0);
    }
    CHECK_INT(count_rows(st, "thread%"), 800);
    storage_close(st);
}

struct consume {
    const char *id;
};

static int consume_fn(struct storage_tx *tx, void *arg)
{
    struct consume *c = arg;
    return storage_refresh_token_consume(tx, STORAGE_SESSION_COMPAT, c->id, NULL, NOW);
}

#define RACERS 4

/* Every racer waits on the same pipe; closing it releases them at once. Exit status 0: this
 * process consumed the token; 10: someone else did (-EALREADY); anything else: an error. */
static void test_refresh_race(const char *uri)
{
    struct storage *st = test_open(uri);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    struct storage_compat_session s;
    CHECK_INT(storage_user_create(tx, "racer", false, NOW, &u), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, "RACEDEV", false, NULL, NULL, NULL, NOW, &s), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    for (int round = 0; round < 10; round++) {
        char token[TOKEN_LEN + 1];
        struct storage_refresh_token rt;
        token_generate(TOKEN_COMPAT_REFRESH, token);
        tx = test_tx_begin(st, STORAGE_TX_WRITE);
        CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_COMPAT, s.id, NULL, token, NOW, &rt), 0);
        CHECK_INT(test_tx_end(tx, true), 0);
        int gate[2];
        CHECK_INT(pipe(gate), 0);
        pid_t pids[RACERS];
        for (int i = 0; i < RACERS; i++) {
            if ((pids[i] = fork()) == 0) {
                close(gate[1]);
                struct storage *cst = child_open(uri);
                char c;
                while (read(gate[0], &c, 1) < 0 && errno == EINTR)
                    ;
                struct consume arg = {rt.id};
                int r = storage_tx(cst, STORAGE_TX_WRITE, consume_fn, &arg);
                _exit(r == 0 ? 0 : r == -EALREADY ? 10 : 20);
            }
        }
        close(gate[0]);
        usleep(50000); /* let every racer connect and block on the gate */
        close(gate[1]);
        int winners = 0, losers = 0;
        for (int i = 0; i < RACERS; i++) {
            int status = test_wait(pids[i]);
            winners += status == 0;
            losers += status == 10;
        }
        CHECK_INT(winners, 1);
        CHECK_INT(losers, RACERS - 1);
    }
    storage_close(st);
}

struct gcra {
    int64_t retry;
};

static int gcra_fn(struct storage_tx *tx, void *arg)
{
    struct gcra *g = arg;
    return storage_rate_limit_check(tx, "shared-bucket", 20, 0.001, NOW, &g->retry);
}

/* Four processes, 25 checks each, one bucket of 20 that barely refills: exactly 20 pass. */
static void test_gcra_processes(const char *uri)
{
    int out[2];
    CHECK_INT(pipe(out), 0);
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        if ((pids[i] = fork()) == 0) {
            close(out[0]);
            struct storage *st = child_open(uri);
            int allowed = 0, errors = 0;
            for (int k = 0; k < 25; k++) {
                struct gcra g = {0};
                int r = storage_tx(st, STORAGE_TX_WRITE, gcra_fn, &g);
                allowed += r == 1;
                errors += r < 0 || (r == 0 && g.retry != 1000000); /* 1/0.001 s */
            }
            _exit(errors ? 100 : allowed);
        }
    }
    close(out[1]);
    close(out[0]);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        int s = test_wait(pids[i]);
        CHECK(s <= 25);
        total += s;
    }
    CHECK_INT(total, 20);
}

#define JOBS 40

/* Four workers drain one queue: every job is claimed exactly once. */
static void test_job_claims(const char *uri)
{
    struct storage *st = test_open(uri);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    for (int i = 0; i < JOBS; i++)
        CHECK_INT(storage_job_enqueue(tx, "race", "{}", 0, NOW, NULL), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_close(st);
    int out[2];
    CHECK_INT(pipe(out), 0);
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        if ((pids[i] = fork()) == 0) {
            close(out[0]);
            struct storage *cst = child_open(uri);
            char worker[16];
            snprintf(worker, sizeof(worker), "worker%d", i);
            struct storage_job job;
            int r;
            while ((r = storage_job_claim(cst, "race", worker, 60000, NOW, &job)) == 1) {
                char line[STORAGE_ID_SIZE + 1];
                snprintf(line, sizeof(line), "%s\n", job.id);
                if (write(out[1], line, STORAGE_ID_SIZE) != STORAGE_ID_SIZE)
                    _exit(2);
                storage_job_clear(&job);
            }
            _exit(r == 0 ? 0 : 1);
        }
    }
    close(out[1]);
    char ids[JOBS + 8][STORAGE_ID_SIZE];
    int n = 0;
    char buf[STORAGE_ID_SIZE];
    while (n < JOBS + 8 && read(out[0], buf, STORAGE_ID_SIZE) == STORAGE_ID_SIZE) {
        memcpy(ids[n], buf, STORAGE_ID_SIZE);
        ids[n++][STORAGE_ID_SIZE - 1] = '\0';
    }
    close(out[0]);
    for (int i = 0; i < 4; i++)
        CHECK_INT(test_wait(pids[i]), 0);
    CHECK_INT(n, JOBS);
    int dups = 0;
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            dups += strcmp(ids[i], ids[k]) == 0;
    CHECK_INT(dups, 0);
}

/* A writer acknowledges each committed write on a pipe and is killed with SIGKILL in the
 * middle of its burst. Every acknowledged write must be there afterwards. */
static void test_kill_writer(enum storage_backend b, const char *uri)
{
    int ack[2];
    CHECK_INT(pipe(ack), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(ack[0]);
        struct storage *st = child_open(uri);
        for (int i = 0;; i++) {
            if (insert_user(st, "killed%d_%d", 0, i) < 0)
                _exit(1);
            if (write(ack[1], &i, sizeof(i)) != sizeof(i))
                _exit(2);
        }
    }
    close(ack[1]);
    int last = -1, i;
    while (last < 150 && read(ack[0], &i, sizeof(i)) == sizeof(i))
        last = i;
    kill(pid, SIGKILL);
    CHECK_INT(test_wait(pid), 128 + SIGKILL);
    while (read(ack[0], &i, sizeof(i)) == sizeof(i)) /* acknowledged before it died */
        last = i;
    close(ack[0]);
    CHECK(last >= 150);

    struct storage *st = test_open(uri);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    int missing = 0;
    for (int k = 0; k <= last; k++) {
        char name[32];
        struct storage_user u;
        snprintf(name, sizeof(name), "killed0_%d", k);
        missing += storage_user_find(tx, name, &u) != 0;
    }
    CHECK_INT(missing, 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    if (b == STORAGE_SQLITE) {
        static struct storage_stmt check = {.sqlite = "PRAGMA integrity_check", .pg = "SELECT 'ok'"};
        tx = test_tx_begin(st, STORAGE_TX_READ);
        struct sq q;
        CHECK_INT(sq_run(tx, &check, NULL, 0, &q), 0);
        CHECK_INT(sq_next(&q), 1);
        CHECK_STR(sq_text(&q, 0), "ok");
        sq_done(&q);
        CHECK_INT(test_tx_end(tx, true), 0);
    }
    storage_close(st);
}

/* Every test of this file, on one backend. */
static void run(enum storage_backend b, const char *uri)
{
    storage_close(test_open(uri)); /* migrated once, before the children start */
    test_two_writers(uri);
    test_threads(uri);
    test_refresh_race(uri);
    test_gcra_processes(uri);
    test_job_claims(uri);
    test_kill_writer(b, uri);
}

int main(void)
{
    test_init();
    test_each_backend("race", run);
    return check_report(__FILE__);
}
