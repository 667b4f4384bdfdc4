/* E-mail authentications and their codes (common/storage/storage_email_auth.c) on SQLite and
 * PostgreSQL: the job queued with the authentication, in the same transaction or not at all;
 * codes, their expiry and uniqueness; completion once; the clean-up. And the pages of a user's
 * addresses that GraphQL's User.emails reads (storage_email_page, _count, _get). */
#include "storage_test.h"
#include <jansson.h>

static const int64_t NOW = 1700000000000;

static void setup(struct storage *st, struct storage_user *u, struct storage_browser_session *bs)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, "alice", false, NOW, u), 0);
    CHECK_INT(storage_browser_session_create(tx, u->id, "test", NOW, bs), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The one job of the queue, claimed. */
static int claim(struct storage *st, struct storage_job *job)
{
    return storage_job_claim(st, STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, "test-worker", 60000, NOW + 1000,
                             job);
}

static void test_start(struct storage *st)
{
    struct storage_user u;
    struct storage_browser_session bs;
    setup(st, &u, &bs);
    struct storage_email_authentication a, got;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_start(tx, "alice@bücher.example", bs.id, "en", NOW, &a), 0);
    CHECK_INT(strlen(a.id), 26);
    CHECK_STR(a.browser_session_id, bs.id);
    CHECK_STR(a.email, "alice@bücher.example");
    CHECK_INT(a.created_at, NOW);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_email_authentication_get(tx, a.id, &got), 0);
    CHECK_STR(got.id, a.id);
    CHECK_STR(got.browser_session_id, bs.id);
    CHECK_STR(got.email, "alice@bücher.example");
    CHECK_INT(got.created_at, NOW);
    CHECK_INT(got.completed_at, 0);
    CHECK_INT(storage_email_authentication_get(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &got), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* MAS's job and payload, queued with it */
    struct storage_job job = {0};
    CHECK_INT(claim(st, &job), 1);
    CHECK_STR(job.queue, "send-email-authentication-code");
    json_t *p = json_loads(job.payload, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(p, "user_email_authentication_id")), a.id);
    CHECK_STR(json_string_value(json_object_get(p, "language")), "en");
    CHECK_INT(json_object_size(p), 2);
    json_decref(p);
    storage_job_clear(&job);
    CHECK_INT(claim(st, &job), 0);

    /* no browser session: fine (a registration's, later); a rolled-back start leaves no job */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_start(tx, "bob@example.com", NULL, "fr-CA", NOW, &got), 0);
    CHECK_STR(got.browser_session_id, "");
    CHECK_INT(test_tx_end(tx, false), 0);
    CHECK_INT(claim(st, &job), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_email_authentication_get(tx, got.id, &got), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* refused before the database: addresses masd could not send to, bad languages */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_start(tx, "alice@example.com\r\nBcc: eve@evil.example", bs.id,
                                                 "en", NOW, &got),
              -EINVAL);
    CHECK(strstr(storage_last_error(), "not an e-mail address") != NULL);
    CHECK_INT(storage_email_authentication_start(tx, "alice", bs.id, "en", NOW, &got), -EINVAL);
    CHECK_INT(storage_email_authentication_start(tx, "", bs.id, "en", NOW, &got), -EINVAL);
    CHECK_INT(storage_email_authentication_start(tx, "a@b.c", bs.id, "", NOW, &got), -EINVAL);
    CHECK_INT(storage_email_authentication_start(tx, "a@b.c", bs.id, "en\",\"x", NOW, &got), -EINVAL);
    CHECK_INT(storage_email_authentication_start(tx, "a@b.c", bs.id, "abcdefghijklmnopqrstuvwxyz0123456789",
                                                 NOW, &got),
              -EINVAL);
    CHECK_INT(test_tx_end(tx, true), 0); /* nothing reached the database: still good */
    /* an unknown browser session */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_start(tx, "a@b.c", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "en", NOW, &got),
              -ENOENT);
    test_tx_end(tx, false);
    CHECK_INT(claim(st, &job), 0);

    /* sent again: another job; not once completed */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_resend(tx, a.id, "de", NOW + 10), 0);
    CHECK_INT(storage_email_authentication_resend(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "de", NOW), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(claim(st, &job), 1);
    CHECK(strstr(job.payload, "\"language\":\"de\"") != NULL);
    storage_job_clear(&job);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_complete(tx, a.id, NOW + 20), 0);
    CHECK_INT(storage_email_authentication_complete(tx, a.id, NOW + 30), -EALREADY);
    CHECK_INT(storage_email_authentication_complete(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NOW), -ENOENT);
    CHECK_INT(storage_email_authentication_resend(tx, a.id, "en", NOW + 40), -EALREADY);
    CHECK_INT(storage_email_authentication_get(tx, a.id, &got), 0);
    CHECK_INT(got.completed_at, NOW + 20);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(claim(st, &job), 0);
}

static void test_codes(struct storage *st)
{
    struct storage_user u;
    struct storage_browser_session bs;
    setup(st, &u, &bs);
    struct storage_email_authentication a, b;
    struct storage_email_authentication_code c1, c2, found;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_start(tx, "alice@example.com", bs.id, "en", NOW, &a), 0);
    CHECK_INT(storage_email_authentication_start(tx, "alice@example.org", bs.id, "en", NOW, &b), 0);
    CHECK_INT(storage_email_authentication_code_add(tx, a.id, "012345", NOW + 100, &c1), 0);
    CHECK_STR(c1.code, "012345");
    CHECK_STR(c1.authentication_id, a.id);
    CHECK_INT(c1.created_at, NOW + 100);
    CHECK_INT(c1.expires_at, NOW + 100 + 5 * 60 * 1000); /* MAS: five minutes */
    /* the same code twice on one authentication: draw another, the transaction goes on */
    CHECK_INT(storage_email_authentication_code_add(tx, a.id, "012345", NOW + 200, &c2), -EEXIST);
    CHECK_INT(storage_email_authentication_code_add(tx, b.id, "012345", NOW + 200, &c2), 0); /* another's */
    CHECK_INT(storage_email_authentication_code_add(tx, a.id, "999999", NOW + 300, &c2), 0);
    CHECK_INT(storage_email_authentication_code_add(tx, a.id, "12345", NOW, &c2), -EINVAL);
    CHECK_INT(storage_email_authentication_code_add(tx, a.id, "12345a", NOW, &c2), -EINVAL);
    CHECK_INT(storage_email_authentication_code_add(tx, a.id, "1234567", NOW, &c2), -EINVAL);
    CHECK_INT(storage_email_authentication_code_add(tx, a.id, "+12345", NOW, &c2), -EINVAL);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_code_add(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "111111", NOW, &c2),
              -ENOENT);
    test_tx_end(tx, false);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_code_find(tx, a.id, "012345", &found), 0);
    CHECK_STR(found.id, c1.id);
    CHECK_INT(found.expires_at, c1.expires_at);
    CHECK_INT(storage_email_authentication_code_find(tx, a.id, "999999", &found), 0); /* both valid */
    CHECK_INT(storage_email_authentication_code_find(tx, a.id, "111111", &found), -ENOENT);
    CHECK_INT(storage_email_authentication_code_find(tx, b.id, "999999", &found), -ENOENT);
    CHECK_INT(storage_email_authentication_code_find(tx, a.id, "' OR 1=1 --", &found), -ENOENT);
    /* a code that could not be sent is removed */
    CHECK_INT(storage_email_authentication_code_remove(tx, c1.id), 0);
    CHECK_INT(storage_email_authentication_code_remove(tx, c1.id), -ENOENT);
    CHECK_INT(storage_email_authentication_code_find(tx, a.id, "012345", &found), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* clean-up: a week after creation, with the codes */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_email_authentication later;
    CHECK_INT(storage_email_authentication_start(tx, "later@example.com", NULL, "en", NOW + 1000, &later), 0);
    unsigned n = 99;
    CHECK_INT(storage_email_authentication_purge(tx, NOW + 1, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(storage_email_authentication_get(tx, a.id, &b), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_email_authentication_code_find(tx, a.id, "999999", &found), -ENOENT);
    CHECK_INT(storage_email_authentication_get(tx, later.id, &b), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The page's addresses as their indexes in `all`, in the order storage gave them. */
static void page_is(struct storage_tx *tx, const char *user_id, const char *after, const char *before,
                    unsigned limit, bool backward, struct storage_email *all, const char *want)
{
    struct storage_email *rows = NULL;
    size_t n = 0;
    char got[64] = "";
    CHECK_INT(storage_email_page(tx, user_id, after, before, limit, backward, &rows, &n), 0);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 5; k++)
            if (strcmp(rows[i].id, all[k].id) == 0)
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%d", i ? " " : "", k);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "page after '%s' before '%s' limit %u%s: got \"%s\", want \"%s\"\n", after, before,
                limit, backward ? " backward" : "", got, want);
    CHECK_STR(got, want);
    free(rows);
}

static void test_pages(struct storage *st)
{
    struct storage_user u, other;
    struct storage_email e[5], o, got;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, "paula", false, NOW, &u), 0);
    CHECK_INT(storage_user_create(tx, "otto", false, NOW, &other), 0);
    for (int i = 0; i < 5; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "p%d@example.com", i);
        CHECK_INT(storage_email_add(tx, u.id, addr, NOW + i, &e[i]), 0);
    }
    CHECK_INT(storage_email_add(tx, other.id, "otto@example.com", NOW, &o), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    int64_t count = -1;
    CHECK_INT(storage_email_count(tx, u.id, &count), 0);
    CHECK_INT(count, 5);
    CHECK_INT(storage_email_count(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &count), 0);
    CHECK_INT(count, 0);
    CHECK_INT(storage_email_get(tx, e[2].id, &got), 0);
    CHECK_STR(got.email, "p2@example.com");
    CHECK_STR(got.user_id, u.id);
    CHECK_INT(storage_email_get(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &got), -ENOENT);
    /* IDs are ULIDs made one after the other: ascending by creation */
    page_is(tx, u.id, "", "", 3, false, e, "0 1 2");
    page_is(tx, u.id, e[2].id, "", 3, false, e, "3 4");
    page_is(tx, u.id, "", "", 2, true, e, "4 3");
    page_is(tx, u.id, "", e[3].id, 2, true, e, "2 1");
    page_is(tx, u.id, e[0].id, e[4].id, 10, false, e, "1 2 3");
    page_is(tx, u.id, e[0].id, e[4].id, 10, true, e, "3 2 1");
    page_is(tx, u.id, e[4].id, "", 10, false, e, "");
    page_is(tx, u.id, "", "", 0, false, e, "");
    page_is(tx, other.id, "", "", 10, false, e, ""); /* only the user's own */
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void run_pages(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    test_pages(st);
    storage_close(st);
}

static void run_start(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    test_start(st);
    storage_close(st);
}

static void run_codes(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    test_codes(st);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("email_start", run_start);
    test_each_backend("email_codes", run_codes);
    test_each_backend("email_pages", run_pages);
    return check_report("test_storage_email");
}
