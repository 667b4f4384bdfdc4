/* Account recovery sessions and tickets (common/storage/storage_recovery.c) on SQLite and
 * PostgreSQL: the job queued with the session, in the same transaction or not at all; tickets
 * stored only hashed, found with their session, address and user; the session consumed once
 * (a replay loses), the address's other tickets spent with it; tickets gone with their address;
 * the resend and the clean-up. */
#include "storage_test.h"
#include <jansson.h>

static const int64_t NOW = 1700000000000;
static const char T1[] = "abcdefghijklmnopqrstuvwxyzABCDEF";
static const char T2[] = "0123456789abcdefghijklmnopqrstuv";
static const char T3[] = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654";

static int claim(struct storage *st, struct storage_job *job)
{
    return storage_job_claim(st, STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL, "test-worker", 60000, NOW + 1000, job);
}

static int count(struct storage *st, const char *sql, const char *arg)
{
    struct storage_stmt q = {.sql = sql};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct sq s;
    int n = -1;
    if (sq_run(tx, &q, SQ_ARGS(P_TEXT(arg)), &s) >= 0 && sq_next(&s) > 0)
        n = (int)sq_int(&s, 0);
    sq_done(&s);
    test_tx_end(tx, true);
    return n;
}

static void run(enum storage_backend b, const char *uri)
{
    (void)b;
    struct storage *st = test_open(uri);
    struct storage_user u, v;
    struct storage_email e, f;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, "alice", false, NOW, &u), 0);
    CHECK_INT(storage_user_create(tx, "bob", false, NOW, &v), 0);
    CHECK_INT(storage_email_add(tx, u.id, "Alice@Example.org", NOW, &e), 0);
    CHECK_INT(storage_email_add(tx, v.id, "bob@example.org", NOW, &f), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* a session, whatever the address, and MAS's job with it */
    struct storage_recovery_session s, got;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(
        storage_recovery_session_start(tx, "alice@example.ORG", "Mozilla/5.0", "192.0.2.7", "en", NOW, &s),
        0);
    CHECK_INT(strlen(s.id), 26);
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_recovery_session_get(tx, s.id, &got), 0);
    CHECK_STR(got.email, "alice@example.ORG");
    CHECK_STR(got.user_agent, "Mozilla/5.0");
    CHECK_STR(got.ip_address, "192.0.2.7");
    CHECK_STR(got.locale, "en");
    CHECK_INT(got.created_at, NOW);
    CHECK_INT(got.consumed_at, 0);
    CHECK_INT(storage_recovery_session_get(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &got), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
    struct storage_job job = {0};
    CHECK_INT(claim(st, &job), 1);
    CHECK_STR(job.queue, "send-account-recovery-email");
    json_t *p = json_loads(job.payload, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(p, "user_recovery_session_id")), s.id);
    CHECK_INT(json_object_size(p), 1);
    json_decref(p);
    storage_job_clear(&job);
    CHECK_INT(claim(st, &job), 0);

    /* rolled back: neither session nor job; bad input */
    struct storage_recovery_session s2;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_start(tx, "x@example.org", "", NULL, "en", NOW, &s2), 0);
    CHECK_INT(test_tx_end(tx, false), 0);
    CHECK_INT(claim(st, &job), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_start(tx, "", "ua", NULL, "en", NOW, NULL), -EINVAL);
    CHECK_INT(test_tx_end(tx, false), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_start(tx, "x@example.org", "ua", NULL, "en;DROP", NOW, NULL), -EINVAL);
    CHECK_INT(test_tx_end(tx, false), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_start(tx, "x\xff@example.org", "ua", NULL, "en", NOW, NULL), -EINVAL);
    CHECK_INT(test_tx_end(tx, false), 0);

    /* tickets: the shape, stored hashed, unique */
    struct storage_recovery_ticket t, t2;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_ticket_add(tx, s.id, e.id, "short", NOW, &t), -EINVAL);
    CHECK_INT(storage_recovery_ticket_add(tx, s.id, e.id, "abcdefghijklmnopqrstuvwxyzABCDE!", NOW, &t),
              -EINVAL);
    CHECK_INT(storage_recovery_ticket_add(tx, s.id, e.id, T1, NOW, &t), 0);
    CHECK_INT(t.expires_at, NOW + 10 * 60 * 1000);
    CHECK_STR(t.session_id, s.id);
    CHECK_STR(t.user_email_id, e.id);
    CHECK_INT(storage_recovery_ticket_add(tx, s.id, e.id, T1, NOW, &t2), -EEXIST);
    CHECK_INT(storage_recovery_ticket_add(tx, s.id, e.id, T2, NOW + 1, &t2), 0); /* the transaction goes on */
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_ticket_add(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", e.id, T3, NOW, NULL), -ENOENT);
    test_tx_end(tx, false); /* the failed statement is the transaction's error */
    CHECK_INT(count(st, "SELECT COUNT(*) FROM user_recovery_tickets WHERE ticket_hash = $1", T1), 0);
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(T1, hash);
    CHECK_INT(count(st, "SELECT COUNT(*) FROM user_recovery_tickets WHERE ticket_hash = $1", hash), 1);

    /* found with its session, address and user */
    struct storage_recovery_lookup l;
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_recovery_ticket_find(tx, T1, &l), 0);
    CHECK_STR(l.ticket.id, t.id);
    CHECK_STR(l.session.id, s.id);
    CHECK_STR(l.session.email, "alice@example.ORG");
    CHECK_STR(l.email.id, e.id);
    CHECK_STR(l.email.email, "Alice@Example.org");
    CHECK_STR(l.user.id, u.id);
    CHECK_STR(l.user.username, "alice");
    CHECK_INT(l.ticket.expires_at, NOW + 10 * 60 * 1000);
    CHECK_INT(storage_recovery_ticket_find(tx, T3, &l), -ENOENT);
    CHECK_INT(storage_recovery_ticket_find(tx, "abcdefghijklmnopqrstuvwxyzABCDEf", &l), -ENOENT);
    CHECK_INT(storage_recovery_ticket_find(tx, "", &l), -ENOENT);
    CHECK_INT(storage_recovery_ticket_find(tx, "x' OR '1'='1", &l), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* another session's ticket for the same address, and bob's */
    struct storage_recovery_session s3, s4;
    struct storage_recovery_ticket t3, tb;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_start(tx, "alice@example.org", "ua", NULL, "en", NOW, &s3), 0);
    CHECK_INT(storage_recovery_ticket_add(tx, s3.id, e.id, T3, NOW + 2, &t3), 0);
    CHECK_INT(storage_recovery_session_start(tx, "bob@example.org", "ua", NULL, "en", NOW, &s4), 0);
    CHECK_INT(storage_recovery_ticket_add(tx, s4.id, f.id, "bobbobbobbobbobbobbobbobbobbobbo", NOW, &tb), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* consumed once: a replay loses; the address's other tickets are spent, bob's are not */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_consume(tx, s.id, e.id, NOW + 5000), 0);
    CHECK_INT(storage_recovery_session_consume(tx, s.id, e.id, NOW + 6000), -EALREADY);
    CHECK_INT(storage_recovery_session_consume(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", e.id, NOW), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_recovery_ticket_find(tx, T2, &l), 0);
    CHECK_INT(l.session.consumed_at, NOW + 5000);
    CHECK_INT(storage_recovery_ticket_find(tx, T3, &l), 0);
    CHECK_INT(l.session.consumed_at, 0);
    CHECK_INT(l.ticket.expires_at, NOW + 5000);
    CHECK_INT(storage_recovery_ticket_find(tx, "bobbobbobbobbobbobbobbobbobbobbo", &l), 0);
    CHECK_INT(l.ticket.expires_at, NOW + 10 * 60 * 1000);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* resend: another job; none for a consumed or unknown session */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_resend(tx, s.id, NOW), -EALREADY);
    CHECK_INT(test_tx_end(tx, false), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_resend(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NOW), -ENOENT);
    CHECK_INT(test_tx_end(tx, false), 0);
    /* the jobs of s3 and s4 are still queued */
    CHECK_INT(claim(st, &job), 1);
    storage_job_clear(&job);
    CHECK_INT(claim(st, &job), 1);
    storage_job_clear(&job);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_resend(tx, s3.id, NOW), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(claim(st, &job), 1);
    CHECK(strstr(job.payload, s3.id) != NULL);
    storage_job_clear(&job);

    /* a ticket that could not be mailed goes; so do an address's tickets with the address */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_ticket_remove(tx, t2.id), 0);
    CHECK_INT(storage_recovery_ticket_remove(tx, t2.id), -ENOENT);
    CHECK_INT(storage_email_remove(tx, f.id), 0);
    CHECK_INT(storage_recovery_ticket_find(tx, T2, &l), -ENOENT);
    CHECK_INT(storage_recovery_ticket_find(tx, "bobbobbobbobbobbobbobbobbobbobbo", &l), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* the clean-up: sessions created before, with their tickets */
    unsigned n = 0;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_purge(tx, NOW, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(storage_recovery_purge(tx, NOW + 1, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(storage_recovery_ticket_find(tx, T1, &l), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(count(st, "SELECT COUNT(*) FROM user_recovery_tickets WHERE ticket_hash <> $1", ""), 0);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("recovery", run);
    return check_report("test_storage_recovery");
}
