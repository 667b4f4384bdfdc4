/* Single-row token inserts per second: each insert is one write transaction (storage_tx) that
 * stores one compat access token (its SHA-256), as a login or a refresh does.
 *
 *   build/bench/storage_inserts URI [SECONDS [THREADS [durable]]]
 *
 * URI: sqlite:///path.db or postgresql://…. "durable" runs every transaction with
 * STORAGE_TX_DURABLE (SQLite: synchronous=FULL), as account and password changes do. Run by
 * hand; results go in bench/RESULTS.md (bench/storage.sh runs both backends). */
#include "clock.h"
#include "storage.h"
#include "token.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
    struct storage *st;
    const char *session_id;
    unsigned flags;
    double seconds;
    long inserts, failures;
};

struct one {
    const char *session_id;
    char token[TOKEN_LEN + 1];
};

static int insert_fn(struct storage_tx *tx, void *arg)
{
    struct one *o = arg;
    return storage_access_token_add(tx, STORAGE_SESSION_COMPAT, o->session_id, o->token, 0, masd_now(), NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *p)
{
    struct worker *w = p;
    double end = now_s() + w->seconds;
    struct one o = {.session_id = w->session_id};
    while (now_s() < end) {
        if (token_generate(TOKEN_COMPAT_ACCESS, o.token) < 0 ||
            storage_tx(w->st, w->flags, insert_fn, &o) < 0)
            w->failures++;
        else
            w->inserts++;
    }
    return NULL;
}

struct setup {
    struct storage_compat_session session;
};

static int setup_fn(struct storage_tx *tx, void *arg)
{
    struct setup *s = arg;
    struct storage_user u;
    char name[64];
    snprintf(name, sizeof(name), "bench-%lld", (long long)masd_now());
    int r = storage_user_create(tx, name, false, masd_now(), &u);
    return r < 0 ? r
                 : storage_compat_session_create(tx, u.id, NULL, false, NULL, NULL, NULL, masd_now(),
                                                 &s->session);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URI [SECONDS [THREADS [durable]]]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 3;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    unsigned flags = argc > 4 && !strcmp(argv[4], "durable") ? STORAGE_TX_DURABLE : STORAGE_TX_WRITE;
    struct storage *st;
    struct setup s;
    if (storage_open_uri(argv[1], &st) < 0 || storage_migrate(st, NULL) < 0 ||
        storage_tx(st, STORAGE_TX_WRITE, setup_fn, &s) < 0) {
        fprintf(stderr, "%s\n", storage_last_error());
        return 1;
    }
    if (threads < 1 || threads > 64)
        threads = 1;
    pthread_t t[64];
    struct worker w[64];
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){st, s.session.id, flags, seconds, 0, 0};
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    long total = 0, failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].inserts;
        failures += w[i].failures;
    }
    printf("%s: %d thread%s, %s: %.0f inserts/s (%ld in %.1f s, %ld failed)\n", storage_describe(st), threads,
           threads == 1 ? "" : "s", flags == STORAGE_TX_DURABLE ? "durable" : "write", total / seconds, total,
           seconds, failures);
    storage_close(st);
    return failures ? 1 : 0;
}
