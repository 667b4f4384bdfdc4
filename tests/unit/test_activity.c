/* The session activity map (services/oauth/activity.c): bounded and lossy when full, written at
 * most once a minute per session, everything on the exit flush, stale sessions forgotten, and
 * the batch writes reaching the database on both backends. */
#include "activity.h"
#include "storage_test.h"

#define ID_A "01HZZZZZZZZZZZZZZZZZZZZZZA"
#define ID_B "01HZZZZZZZZZZZZZZZZZZZZZZB"
#define ID_C "01HZZZZZZZZZZZZZZZZZZZZZZC"
#define ID_D "01HZZZZZZZZZZZZZZZZZZZZZZD"

static void test_bounded(void)
{
    struct activity_map *m;
    CHECK_INT(activity_map_new(0, &m), -EINVAL);
    CHECK_INT(activity_map_new(2, &m), 0);
    int64_t t = 1000000;
    CHECK_INT(activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t, NULL), 0);
    CHECK_INT(activity_record(m, STORAGE_SESSION_COMPAT, ID_B, t, NULL), 0);
    /* full: a new session is lost and counted, a known one still updates */
    CHECK_INT(activity_record(m, STORAGE_SESSION_COMPAT, ID_C, t, NULL), -ENOSPC);
    CHECK_INT(activity_record(m, STORAGE_SESSION_OAUTH, ID_A, t, NULL),
              -ENOSPC); /* kind is part of the key */
    CHECK_INT(activity_dropped(m), 2);
    CHECK_INT(activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t + 5, NULL), 0);
    CHECK_INT(activity_map_size(m), 2);
    CHECK_INT(activity_record(m, STORAGE_SESSION_COMPAT, "short", t, NULL), -EINVAL);
    activity_map_free(m);
}

/* The table grows with use (from 1,024 slots) up to the capacity, losing nothing on the way. */
static void test_grows(void)
{
    struct activity_map *m;
    enum { N = 20000 };
    CHECK_INT(activity_map_new(N, &m), 0);
    char id[STORAGE_ID_SIZE];
    int failed = 0;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "01J%023d", i);
        failed += activity_record(m, STORAGE_SESSION_COMPAT, id, 1000 + i, NULL) != 0;
    }
    CHECK_INT(failed, 0);
    CHECK_INT(activity_map_size(m), N);
    CHECK_INT(activity_dropped(m), 0);
    CHECK_INT(activity_record(m, STORAGE_SESSION_OAUTH, "01HZZZZZZZZZZZZZZZZZZZZZZA", 1, NULL), -ENOSPC);
    static struct activity_entry out[N + 1];
    CHECK_INT(activity_take_due(m, 100000000, false, out, N + 1), N);
    int64_t sum = 0;
    for (int i = 0; i < N; i++)
        sum += out[i].at;
    CHECK(sum == (int64_t)N * 1000 + (int64_t)N * (N - 1) / 2); /* every session, with its own time */
    activity_map_free(m);
}

static void test_once_a_minute(void)
{
    struct activity_map *m;
    struct activity_entry e[8];
    CHECK_INT(activity_map_new(8, &m), 0);
    int64_t t = masd_now();
    activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t, NULL);
    activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t + 10, NULL); /* the latest wins */
    activity_record(m, STORAGE_SESSION_OAUTH, ID_B, t + 3, NULL);
    CHECK_INT(activity_take_due(m, t + 20, false, e, 8), 2); /* first sight: due at once */
    for (int i = 0; i < 2; i++)
        if (e[i].kind == STORAGE_SESSION_COMPAT) {
            CHECK_STR(e[i].id, ID_A);
            CHECK_INT(e[i].at, t + 10);
        } else {
            CHECK_STR(e[i].id, ID_B);
            CHECK_INT(e[i].at, t + 3);
        }
    CHECK_INT(activity_take_due(m, t + 21, false, e, 8), 0); /* nothing new */
    activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t + 30000, NULL);
    CHECK_INT(activity_take_due(m, t + 30001, false, e, 8), 0); /* written < 1 min ago: waits */
    CHECK_INT(activity_take_due(m, t + 20 + ACTIVITY_INTERVAL_MS - 1, false, e, 8), 0);
    CHECK_INT(activity_take_due(m, t + 20 + ACTIVITY_INTERVAL_MS, false, e, 8), 1);
    CHECK_INT(e[0].at, t + 30000);
    /* the exit flush takes what waits, whatever the interval */
    activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t + 70000, NULL);
    CHECK_INT(activity_take_due(m, t + 70001, false, e, 8), 0);
    CHECK_INT(activity_take_due(m, t + 70001, true, e, 8), 1);
    CHECK_INT(activity_take_due(m, t + 70002, true, e, 8), 0);
    activity_map_free(m);
}

/* The address of the latest note is the one taken; a note without one keeps it. */
static void test_addresses(void)
{
    struct activity_map *m;
    struct activity_entry e[4];
    CHECK_INT(activity_map_new(4, &m), 0);
    int64_t t = 9000000;
    activity_record(m, STORAGE_SESSION_BROWSER, ID_A, t, "192.0.2.1");
    activity_record(m, STORAGE_SESSION_BROWSER, ID_A, t + 5, "2001:db8::5");
    activity_record(m, STORAGE_SESSION_BROWSER, ID_A, t + 2, "192.0.2.99"); /* older: not taken */
    activity_record(m, STORAGE_SESSION_BROWSER, ID_A, t + 6, NULL);         /* none: kept */
    activity_record(m, STORAGE_SESSION_BROWSER, ID_A, t + 6, "");
    activity_record(m, STORAGE_SESSION_OAUTH, ID_B, t, NULL);
    CHECK_INT(activity_take_due(m, t + 10, false, e, 4), 2);
    for (int i = 0; i < 2; i++)
        if (e[i].kind == STORAGE_SESSION_BROWSER) {
            CHECK_INT(e[i].at, t + 6);
            CHECK_STR(e[i].ip, "2001:db8::5");
        } else {
            CHECK_STR(e[i].ip, "");
        }
    /* a long "address" is cut to what the column holds, never overflows */
    activity_record(m, STORAGE_SESSION_BROWSER, ID_C, t,
                    "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000");
    CHECK_INT(activity_take_due(m, t + 10, false, e, 4), 1);
    CHECK_INT(strlen(e[0].ip), STORAGE_IP_SIZE - 1);
    activity_map_free(m);
}

/* A session with nothing new for an interval is forgotten, which makes room again. */
static void test_forget_and_batches(void)
{
    struct activity_map *m;
    struct activity_entry e[8];
    CHECK_INT(activity_map_new(3, &m), 0);
    int64_t t = 5000000;
    activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t, NULL);
    activity_record(m, STORAGE_SESSION_COMPAT, ID_B, t, NULL);
    activity_record(m, STORAGE_SESSION_COMPAT, ID_C, t, NULL);
    CHECK_INT(activity_record(m, STORAGE_SESSION_COMPAT, ID_D, t, NULL), -ENOSPC);
    CHECK_INT(activity_take_due(m, t, false, e, 2), 2); /* batches of at most max */
    CHECK_INT(activity_take_due(m, t, false, e, 2), 1);
    CHECK_INT(activity_map_size(m), 3);
    activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t + 100, NULL);
    CHECK_INT(activity_take_due(m, t + ACTIVITY_INTERVAL_MS, false, e, 8), 1); /* A; B, C forgotten */
    CHECK_INT(activity_map_size(m), 1);
    CHECK_INT(activity_record(m, STORAGE_SESSION_COMPAT, ID_D, t + ACTIVITY_INTERVAL_MS, NULL), 0);
    CHECK_INT(activity_map_size(m), 2);
    activity_map_free(m);
}

static void test_flush(enum storage_backend b)
{
    char uri[512];
    test_db(b, "activity", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    int64_t t = masd_now();
    struct storage_user u;
    struct storage_compat_session s[3];
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, "alice", false, t, &u), 0);
    for (int i = 0; i < 3; i++) {
        char dev[8];
        snprintf(dev, sizeof(dev), "DEV%d", i);
        CHECK_INT(storage_compat_session_create(tx, u.id, dev, false, NULL, NULL, NULL, t, &s[i]), 0);
    }
    CHECK_INT(test_tx_end(tx, true), 0);

    struct activity_map *m;
    CHECK_INT(activity_map_new(ACTIVITY_BATCH * 2, &m), 0);
    for (int i = 0; i < 3; i++)
        activity_record(m, STORAGE_SESSION_COMPAT, s[i].id, t + 1000 + i, NULL);
    /* a session unknown to the database does not lose the batch */
    activity_record(m, STORAGE_SESSION_COMPAT, ID_A, t + 1000, NULL);
    CHECK_INT(activity_flush(m, st, t + 2000, false), 4);
    CHECK_INT(activity_flush(m, st, t + 2001, false), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    for (int i = 0; i < 3; i++) {
        struct storage_compat_session got;
        CHECK_INT(storage_compat_session_get(tx, s[i].id, &got), 0);
        CHECK_INT(got.last_active_at, t + 1000 + i);
    }
    test_tx_end(tx, false);

    /* browser sessions (masd-human) with the client's address; a note without one keeps the
     * stored address */
    struct storage_browser_session bs[2], got;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    for (int i = 0; i < 2; i++)
        CHECK_INT(storage_browser_session_create(tx, u.id, "Mozilla/5.0", t, &bs[i]), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    activity_record(m, STORAGE_SESSION_BROWSER, bs[0].id, t + 3000, "203.0.113.7");
    activity_record(m, STORAGE_SESSION_BROWSER, bs[1].id, t + 3000, "2001:db8::1");
    activity_record(m, STORAGE_SESSION_COMPAT, s[0].id, t + 3000, "198.51.100.2");
    CHECK_INT(activity_flush(m, st, t + 3000 + ACTIVITY_INTERVAL_MS, false), 3);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_browser_session_get(tx, bs[0].id, &got), 0);
    CHECK_INT(got.last_active_at, t + 3000);
    CHECK_STR(got.last_active_ip, "203.0.113.7");
    CHECK_INT(storage_browser_session_get(tx, bs[1].id, &got), 0);
    CHECK_STR(got.last_active_ip, "2001:db8::1");
    struct storage_compat_session cs;
    CHECK_INT(storage_compat_session_get(tx, s[0].id, &cs), 0);
    CHECK_STR(cs.last_active_ip, "198.51.100.2");
    test_tx_end(tx, false);
    int64_t later = t + 4000 + ACTIVITY_INTERVAL_MS;
    activity_record(m, STORAGE_SESSION_BROWSER, bs[0].id, later, NULL);
    CHECK_INT(activity_flush(m, st, later + ACTIVITY_INTERVAL_MS, false), 1);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_browser_session_get(tx, bs[0].id, &got), 0);
    CHECK_INT(got.last_active_at, later);
    CHECK_STR(got.last_active_ip, "203.0.113.7");
    test_tx_end(tx, false);
    activity_map_free(m);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_bounded();
    test_grows();
    test_once_a_minute();
    test_forget_and_batches();
    test_addresses();
    enum storage_backend backends[2];
    int n = test_backends(backends);
    for (int i = 0; i < n; i++)
        test_flush(backends[i]);
    return check_report("test_activity");
}
