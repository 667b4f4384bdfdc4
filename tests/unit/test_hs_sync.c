/* The homeserver sync's decisions (common/matrix/hs_sync.c) on both backends: which change queues which
 * job with MAS's payload, read-only mode queueing nothing, and a session with a device waiting
 * while a device sync of its user holds the lock (and only then). */
#include "config.h"
#include "hs_sync.h"
#include "storage_test.h"
#include <jansson.h>
#include <pthread.h>
#include <time.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct queue_case {
    const struct config_matrix *m;
    const char *user_id;
};

static int queue_all_tx(struct storage_tx *tx, void *arg)
{
    const struct queue_case *q = arg;
    int64_t now = masd_now();
    int r = hs_queue_provision_user(tx, q->m, q->user_id, "Alice", now);
    if (r >= 0)
        r = hs_queue_provision_user(tx, q->m, q->user_id, NULL, now);
    if (r >= 0)
        r = hs_queue_sync_devices(tx, q->m, q->user_id, now);
    if (r >= 0)
        r = hs_queue_deactivate_user(tx, q->m, q->user_id, true, now);
    if (r >= 0)
        r = hs_queue_reactivate_user(tx, q->m, q->user_id, now);
    return r;
}

static void test_queue(struct storage *st, const char *user_id)
{
    struct config_matrix ro = {.kind = "synapse_read_only"}, rw = {.kind = "synapse"};
    struct queue_case q = {&ro, user_id};
    struct storage_job job;
    CHECK(hs_config_read_only(&ro) && !hs_config_read_only(&rw));
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, queue_all_tx, &q), 0);
    CHECK_INT(storage_job_claim(st, NULL, "w", 1000, masd_now(), &job), 0); /* read-only: nothing */
    q.m = &rw;
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, queue_all_tx, &q), 0);
    char expected[5][160];
    snprintf(expected[0], sizeof(expected[0]),
             "provision-user {\"user_id\": \"%s\", \"set_display_name\": \"Alice\"}", user_id);
    snprintf(expected[1], sizeof(expected[1]),
             "provision-user {\"user_id\": \"%s\", \"set_display_name\": null}", user_id);
    snprintf(expected[2], sizeof(expected[2]), "sync-devices {\"user_id\": \"%s\"}", user_id);
    snprintf(expected[3], sizeof(expected[3]), "deactivate-user {\"user_id\": \"%s\", \"hs_erase\": true}",
             user_id);
    snprintf(expected[4], sizeof(expected[4]), "reactivate-user {\"user_id\": \"%s\"}", user_id);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(storage_job_claim(st, NULL, "w", 1000, masd_now() + 1, &job), 1);
        json_t *p = json_loads(job.payload ? job.payload : "", 0, NULL);
        char *shown = p ? json_dumps(p, 0) : NULL;
        char got[200];
        snprintf(got, sizeof(got), "%s %s", job.queue, shown ? shown : "(not JSON)");
        CHECK_STR(got, expected[i]);
        free(shown);
        json_decref(p);
        storage_job_clear(&job);
    }
}

struct session_try {
    const char *user_id;
    int runs;
};

static int session_tx(struct storage_tx *tx, void *arg)
{
    struct session_try *s = arg;
    s->runs++;
    return hs_session_may_start(tx, s->user_id, masd_now());
}

struct release {
    struct storage *st;
    const char *user_id;
    int delay_ms;
};

static int end_tx(struct storage_tx *tx, void *arg)
{
    return storage_user_device_sync_end(tx, ((struct release *)arg)->user_id, "sync-job");
}

static void *release_later(void *arg)
{
    struct release *rl = arg;
    struct timespec ts = {0, rl->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    storage_tx(rl->st, STORAGE_TX_WRITE, end_tx, rl);
    return NULL;
}

static int begin_tx(struct storage_tx *tx, void *arg)
{
    int64_t now = masd_now();
    return storage_user_device_sync_begin(tx, ((struct release *)arg)->user_id, "sync-job", now + 60000, now);
}

static void test_session_waits(struct storage *st, const char *user_id)
{
    struct session_try s = {user_id, 0};
    int64_t t0 = mono_ms();
    CHECK_INT(hs_session_tx(st, STORAGE_TX_WRITE, session_tx, &s), 0);
    CHECK_INT(s.runs, 1); /* no sync running: at once */
    CHECK(mono_ms() - t0 < 100);

    struct release rl = {st, user_id, 400};
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, begin_tx, &rl), 1);
    pthread_t tid;
    CHECK_INT(pthread_create(&tid, NULL, release_later, &rl), 0);
    s.runs = 0;
    t0 = mono_ms();
    CHECK_INT(hs_session_tx(st, STORAGE_TX_WRITE, session_tx, &s), 0);
    int64_t waited = mono_ms() - t0;
    pthread_join(tid, NULL);
    CHECK(waited >= 350); /* it waited for the sync to end */
    CHECK(s.runs >= 2);
}

static int user_tx(struct storage_tx *tx, void *arg)
{
    return storage_user_create(tx, "syncuser", false, masd_now(), arg);
}

/* Every test of this file, on one backend. */
static void run(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    struct storage_user u;
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, user_tx, &u), 0);
    test_queue(st, u.id);
    test_session_waits(st, u.id);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("hs_sync", run);
    return check_report(__FILE__);
}
