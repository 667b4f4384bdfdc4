/* Storage: device-code grants (RFC 8628), on SQLite and PostgreSQL: creation (the device code
 * hashed, a taken user code refused without spoiling the transaction, so the caller can draw
 * again in it), the lookups (/link finds only pending, unexpired grants), the token endpoint's
 * poll (recorded, slow_down and its growing interval, nothing recorded for another client or a
 * grant that is no longer pending) and the lazy transaction it runs in, approval, rejection and
 * exchange by compare-and-set, and racing processes: one exchange wins, concurrent polls are
 * never both "in time". */
#include "storage_test.h"

static const int64_t NOW = 1700000000000;
#define LIFE   (20 * 60 * 1000)
#define GRACE  500
#define DEVICE "abcdefghijklmnopqrstuvwxyz012345"

struct fixture {
    struct storage_user u;
    struct storage_browser_session bs;
    struct storage_oauth_client c, other;
};

static void setup(struct storage *st, struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    f->c = (struct storage_oauth_client){.token_endpoint_auth_method = "none"};
    f->other = (struct storage_oauth_client){.token_endpoint_auth_method = "none"};
    CHECK_INT(storage_user_create(tx, "mia", false, NOW, &f->u), 0);
    CHECK_INT(storage_browser_session_create(tx, f->u.id, NULL, NOW, &f->bs), 0);
    CHECK_INT(storage_oauth_client_create(tx, &f->c, NOW, &f->c), 0);
    CHECK_INT(storage_oauth_client_create(tx, &f->other, NOW, &f->other), 0);
    storage_oauth_client_clear(&f->c);
    storage_oauth_client_clear(&f->other);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static int create(struct storage_tx *tx, const struct fixture *f, const char *device_code,
                  const char *user_code, int64_t now, struct storage_device_code_grant *out)
{
    struct storage_device_code_grant in = {.expires_at = now + LIFE, .interval_ms = 5000};
    snprintf(in.client_id, sizeof(in.client_id), "%s", f->c.id);
    snprintf(in.scope, sizeof(in.scope), "openid urn:matrix:client:api:*");
    snprintf(in.user_code, sizeof(in.user_code), "%s", user_code);
    snprintf(in.ip, sizeof(in.ip), "192.0.2.7");
    snprintf(in.user_agent, sizeof(in.user_agent), "TV/1.0");
    return storage_device_code_grant_create(tx, &in, device_code, now, out);
}

static void test_create_and_find(struct storage *st, const struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_device_code_grant g, got;
    CHECK_INT(create(tx, f, DEVICE, "ABC123", NOW, &g), 0);
    CHECK_INT(strlen(g.id), 26);
    CHECK_INT(storage_device_code_grant_get(tx, g.id, &got), 0);
    CHECK_STR(got.client_id, f->c.id);
    CHECK_STR(got.scope, "openid urn:matrix:client:api:*");
    CHECK_STR(got.user_code, "ABC123");
    CHECK_STR(got.ip, "192.0.2.7");
    CHECK_STR(got.user_agent, "TV/1.0");
    CHECK_INT(got.created_at, NOW);
    CHECK_INT(got.expires_at, NOW + LIFE);
    CHECK_INT(got.interval_ms, 5000);
    CHECK_INT(got.last_polled_at, 0);
    CHECK_INT(got.fulfilled_at + got.rejected_at + got.exchanged_at, 0);
    CHECK_INT(storage_device_code_grant_lookup_device_code(tx, DEVICE, &got), 0);
    CHECK_STR(got.id, g.id);
    CHECK_INT(storage_device_code_grant_lookup_device_code(tx, "abcdefghijklmnopqrstuvwxyz012346", &got),
              -ENOENT);
    CHECK_INT(storage_device_code_grant_get(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &got), -ENOENT);

    /* only the hash of the device code is stored */
    static struct storage_stmt stored = {.sql = "SELECT device_code_hash FROM oauth2_device_code_grants"
                                                " WHERE oauth2_device_code_grant_id = $1"};
    char expected[STORAGE_HASH_SIZE];
    storage_token_hash(DEVICE, expected);
    struct sq q;
    CHECK_INT(sq_run(tx, &stored, SQ_ARGS(P_TEXT(g.id)), &q), 0);
    CHECK_INT(sq_next(&q), 1);
    CHECK_STR(sq_text(&q, 0), expected);
    sq_done(&q);

    /* /link: pending and unexpired only; the user code as stored (upper case) */
    CHECK_INT(storage_device_code_grant_find_pending(tx, "ABC123", NOW + LIFE - 1, &got), 0);
    CHECK_STR(got.id, g.id);
    CHECK_INT(storage_device_code_grant_find_pending(tx, "ABC123", NOW + LIFE, &got), -ENOENT);
    CHECK_INT(storage_device_code_grant_find_pending(tx, "abc123", NOW, &got), -ENOENT);
    CHECK_INT(storage_device_code_grant_find_pending(tx, "ZZZ999", NOW, &got), -ENOENT);

    /* A user code that is taken (by a live grant or a dead one) is -EEXIST, and the transaction
     * goes on: the caller draws another code in it. */
    CHECK_INT(create(tx, f, "another-device-code-0000000000000", "ABC123", NOW, &got), -EEXIST);
    CHECK_INT(create(tx, f, "another-device-code-0000000000000", "ABD124", NOW, &got), 0);
    CHECK_INT(create(tx, f, "third-device-code-000000000000000", "ABC123", NOW + 2 * LIFE, &got), -EEXIST);
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_device_code_grant_lookup_device_code(tx, "another-device-code-0000000000000", &got), 0);
    CHECK_STR(got.user_code, "ABD124");
    CHECK_INT(test_tx_end(tx, true), 0);

    /* what is refused before the database is asked */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(create(tx, f, DEVICE "x", "", NOW, &got), -EINVAL);
    CHECK_INT(create(tx, f, "", "XYZ789", NOW, &got), -EINVAL);
    struct storage_device_code_grant bad = {.expires_at = NOW, .interval_ms = 5000};
    snprintf(bad.client_id, sizeof(bad.client_id), "%s", f->c.id);
    snprintf(bad.user_code, sizeof(bad.user_code), "XYZ789");
    CHECK_INT(storage_device_code_grant_create(tx, &bad, "dc-bad", NOW, &got), -EINVAL); /* already expired */
    bad.expires_at = NOW + 1, bad.interval_ms = 0;
    CHECK_INT(storage_device_code_grant_create(tx, &bad, "dc-bad", NOW, &got), -EINVAL);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_poll(struct storage *st, const struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_device_code_grant g, got;
    const char *dc = "poll-device-code-0000000000000000";
    CHECK_INT(create(tx, f, dc, "POLL01", NOW, &g), 0);
    /* the first poll is in time, whenever it comes */
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->c.id, NOW, GRACE, &got), 0);
    CHECK_STR(got.id, g.id);
    CHECK_INT(got.last_polled_at, NOW);
    CHECK_INT(got.interval_ms, 5000);
    /* exactly the interval less the grace later: in time */
    int64_t t = NOW + 5000 - GRACE;
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->c.id, t, GRACE, &got), 0);
    CHECK_INT(got.last_polled_at, t);
    /* one millisecond sooner: slow_down, and the interval is 10 s from now on */
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->c.id, t + 5000 - GRACE - 1, GRACE, &got), 1);
    t += 5000 - GRACE - 1;
    CHECK_INT(got.interval_ms, 10000);
    CHECK_INT(got.last_polled_at, t);
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->c.id, t + 6000, GRACE, &got), 1); /* 6 s < 10 s */
    t += 6000;
    CHECK_INT(got.interval_ms, 15000);
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->c.id, t + 15000, GRACE, &got), 0);
    t += 15000;
    CHECK_INT(got.interval_ms, 15000);
    /* another client's poll of this device code: the grant is read, nothing is recorded */
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->other.id, t + 1, GRACE, &got), 0);
    CHECK_INT(got.last_polled_at, t);
    CHECK_STR(got.client_id, f->c.id);
    CHECK_INT(storage_device_code_grant_poll(tx, "no-such-device-code", f->c.id, t, GRACE, &got), -ENOENT);
    /* expired: read as it is, never recorded */
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->c.id, NOW + LIFE, GRACE, &got), 0);
    CHECK_INT(got.last_polled_at, t);
    /* approved: read as it is, nothing recorded, however fast */
    CHECK_INT(storage_device_code_grant_fulfill(tx, g.id, f->bs.id, t + 2), 0);
    CHECK_INT(storage_device_code_grant_poll(tx, dc, f->c.id, t + 3, GRACE, &got), 0);
    CHECK_INT(got.fulfilled_at, t + 2);
    CHECK_STR(got.browser_session_id, f->bs.id);
    CHECK_INT(got.last_polled_at, t);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_stages(struct storage *st, const struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_device_code_grant a, b, c, got;
    struct storage_oauth_session s;
    CHECK_INT(create(tx, f, "stage-a-0000000000000000000000000", "STAGEA", NOW, &a), 0);
    CHECK_INT(create(tx, f, "stage-b-0000000000000000000000000", "STAGEB", NOW, &b), 0);
    CHECK_INT(create(tx, f, "stage-c-0000000000000000000000000", "STAGEC", NOW, &c), 0);
    CHECK_INT(storage_oauth_session_create(tx, f->c.id, f->u.id, f->bs.id, "openid", NULL, NOW, &s), 0);

    /* approved once; then neither approved nor rejected again, and no longer found by /link */
    CHECK_INT(storage_device_code_grant_exchange(tx, a.id, s.id, NOW), -EALREADY); /* not approved */
    CHECK_INT(storage_device_code_grant_fulfill(tx, a.id, f->bs.id, NOW + 1), 0);
    CHECK_INT(storage_device_code_grant_fulfill(tx, a.id, f->bs.id, NOW + 2), -EALREADY);
    CHECK_INT(storage_device_code_grant_reject(tx, a.id, f->bs.id, NOW + 2), -EALREADY);
    CHECK_INT(storage_device_code_grant_find_pending(tx, "STAGEA", NOW + 2, &got), -ENOENT);
    /* exchanged once */
    CHECK_INT(storage_device_code_grant_exchange(tx, a.id, s.id, NOW + 3), 0);
    CHECK_INT(storage_device_code_grant_exchange(tx, a.id, s.id, NOW + 4), -EALREADY);
    CHECK_INT(storage_device_code_grant_get(tx, a.id, &got), 0);
    CHECK_INT(got.fulfilled_at, NOW + 1);
    CHECK_INT(got.exchanged_at, NOW + 3);
    CHECK_STR(got.session_id, s.id);
    CHECK_INT(storage_device_code_grant_fulfill(tx, a.id, f->bs.id, NOW + 5), -EALREADY);

    /* rejected once: never approved or exchanged after */
    CHECK_INT(storage_device_code_grant_reject(tx, b.id, f->bs.id, NOW + 1), 0);
    CHECK_INT(storage_device_code_grant_reject(tx, b.id, f->bs.id, NOW + 2), -EALREADY);
    CHECK_INT(storage_device_code_grant_fulfill(tx, b.id, f->bs.id, NOW + 2), -EALREADY);
    CHECK_INT(storage_device_code_grant_exchange(tx, b.id, s.id, NOW + 3), -EALREADY);
    CHECK_INT(storage_device_code_grant_get(tx, b.id, &got), 0);
    CHECK_INT(got.rejected_at, NOW + 1);
    CHECK_INT(got.fulfilled_at, 0);

    /* expired: neither approved nor rejected */
    CHECK_INT(storage_device_code_grant_fulfill(tx, c.id, f->bs.id, NOW + LIFE), -EALREADY);
    CHECK_INT(storage_device_code_grant_reject(tx, c.id, f->bs.id, NOW + LIFE), -EALREADY);
    CHECK_INT(storage_device_code_grant_fulfill(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", f->bs.id, NOW), -ENOENT);
    CHECK_INT(storage_device_code_grant_exchange(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", s.id, NOW), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* ---- the lazy transaction a poll runs in (STORAGE_TX_LAZY) ----------------------------------- */

struct lazy {
    enum storage_backend b;
    char setting[16];
    const char *device_code, *client_id;
    int polled;
};

static int read_setting(struct sq *q, void *out)
{
    snprintf(out, 16, "%s", sq_text(q, 0));
    return 0;
}

static int lazy_fn(struct storage_tx *tx, void *arg)
{
    static struct storage_stmt show = {.sql = "SHOW synchronous_commit"};
    struct lazy *l = arg;
    struct storage_device_code_grant g;
    l->setting[0] = '\0';
    int r = l->b == STORAGE_POSTGRESQL ? sq_one(tx, &show, NULL, 0, read_setting, l->setting) : 0;
    if (r >= 0 && l->device_code)
        r = l->polled =
            storage_device_code_grant_poll(tx, l->device_code, l->client_id, NOW + 100000, GRACE, &g);
    return r < 0 ? r : 0;
}

static void test_lazy(struct storage *st, enum storage_backend b, const struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_device_code_grant g;
    CHECK_INT(create(tx, f, "lazy-0000000000000000000000000000", "LAZY01", NOW, &g), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    struct lazy l = {.b = b, .device_code = "lazy-0000000000000000000000000000", .client_id = f->c.id};
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE | STORAGE_TX_LAZY, lazy_fn, &l), 0);
    CHECK_INT(l.polled, 0);
    if (b == STORAGE_POSTGRESQL)
        CHECK_STR(l.setting, "off"); /* no wait for the WAL flush, in this transaction only */
    /* committed: the poll is there */
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_device_code_grant_get(tx, g.id, &g), 0);
    CHECK_INT(g.last_polled_at, NOW + 100000);
    CHECK_INT(test_tx_end(tx, true), 0);
    /* the next transaction on the same connection is an ordinary one again */
    l.device_code = NULL;
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, lazy_fn, &l), 0);
    if (b == STORAGE_POSTGRESQL)
        CHECK_STR(l.setting, "on");
    CHECK_INT(storage_tx(st, STORAGE_TX_READ | STORAGE_TX_LAZY, lazy_fn, &l), -EINVAL);
    CHECK_INT(storage_tx(st, STORAGE_TX_DURABLE | STORAGE_TX_LAZY, lazy_fn, &l), -EINVAL);
}

/* ---- racing processes ---------------------------------------------------------------------- */

static struct storage *child_open(const char *uri)
{
    struct storage *st = NULL;
    if (storage_open_uri(uri, &st) < 0)
        _exit(99);
    return st;
}

struct race {
    const char *id, *session_id, *device_code, *client_id;
};

static int exchange_fn(struct storage_tx *tx, void *arg)
{
    struct race *r = arg;
    return storage_device_code_grant_exchange(tx, r->id, r->session_id, NOW + 10);
}

static int poll_fn(struct storage_tx *tx, void *arg)
{
    struct race *r = arg;
    struct storage_device_code_grant g;
    return storage_device_code_grant_poll(tx, r->device_code, r->client_id, NOW + 10, GRACE, &g);
}

#define RACERS 4

/* RACERS processes released at once through a pipe; each exits with fn's outcome: 0, 1, or 10
 * for -EALREADY. Returns the counts of each. */
static void race(const char *uri, storage_tx_fn fn, struct race *arg, int counts[3])
{
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
            int r = storage_tx(cst, STORAGE_TX_WRITE, fn, arg);
            _exit(r == 0 ? 0 : r == 1 ? 1 : r == -EALREADY ? 10 : 20);
        }
    }
    close(gate[0]);
    usleep(50000);
    close(gate[1]);
    counts[0] = counts[1] = counts[2] = 0;
    for (int i = 0; i < RACERS; i++) {
        int status = test_wait(pids[i]);
        CHECK(status == 0 || status == 1 || status == 10);
        counts[0] += status == 0;
        counts[1] += status == 1;
        counts[2] += status == 10;
    }
}

static void test_races(struct storage *st, const char *uri, const struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_device_code_grant g, p;
    struct storage_oauth_session s;
    CHECK_INT(create(tx, f, "race-x-0000000000000000000000000", "RACEX1", NOW, &g), 0);
    CHECK_INT(create(tx, f, "race-p-0000000000000000000000000", "RACEP1", NOW, &p), 0);
    CHECK_INT(storage_device_code_grant_fulfill(tx, g.id, f->bs.id, NOW + 1), 0);
    CHECK_INT(storage_oauth_session_create(tx, f->c.id, f->u.id, f->bs.id, "openid", NULL, NOW, &s), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    int counts[3];
    struct race x = {.id = g.id, .session_id = s.id};
    race(uri, exchange_fn, &x, counts);
    CHECK_INT(counts[0], 1); /* one exchange */
    CHECK_INT(counts[2], RACERS - 1);
    /* concurrent polls at the same instant: the first is in time, every other one too fast */
    struct race y = {.device_code = "race-p-0000000000000000000000000", .client_id = f->c.id};
    race(uri, poll_fn, &y, counts);
    CHECK_INT(counts[0], 1);
    CHECK_INT(counts[1], RACERS - 1);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_device_code_grant_get(tx, p.id, &p), 0);
    CHECK_INT(p.interval_ms, 5000 + (RACERS - 1) * STORAGE_DEVICE_SLOW_DOWN_MS);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The clean-up deletes what expired before its bound, in any state, and frees the user code. */
static void test_purge(struct storage *st, const struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_device_code_grant late, got;
    CHECK_INT(create(tx, f, "purge-device-code-late-0000000000", "PRG002", NOW + LIFE, &late), 0);
    unsigned n = 99;
    /* the grants of the other tests expire at NOW + LIFE or NOW + 2 LIFE at the latest */
    CHECK_INT(storage_device_code_grant_purge(tx, NOW + LIFE, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(storage_device_code_grant_purge(tx, NOW + LIFE + 1, &n), 0);
    CHECK(n > 0);
    CHECK_INT(storage_device_code_grant_lookup_device_code(tx, DEVICE, &got), -ENOENT);
    CHECK_INT(storage_device_code_grant_get(tx, late.id, &got), 0); /* expires at NOW + 2 LIFE */
    CHECK_INT(storage_device_code_grant_purge(tx, NOW + 2 * LIFE + 1, &n), 0);
    CHECK_INT(storage_device_code_grant_get(tx, late.id, &got), -ENOENT);
    CHECK_INT(create(tx, f, "purge-device-code-again-000000000", "ABC123", NOW, &got), 0); /* free again */
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void run(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    struct fixture f;
    setup(st, &f);
    test_create_and_find(st, &f);
    test_poll(st, &f);
    test_stages(st, &f);
    test_lazy(st, b, &f);
    test_races(st, uri, &f);
    test_purge(st, &f);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("device", run);
    return check_report(__FILE__);
}
