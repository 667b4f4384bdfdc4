/* The account's changes (services/human/account.c), run to the end on SQLite and PostgreSQL as
 * the pages and the GraphQL mutations run them: MAS's statuses for each outcome, the password
 * re-check rule, the account.* switches, the e-mail code's limits and ownership, the jobs each
 * change queues with it (the homeserver gets an added address too), and the rules that need no
 * database. */
#include "account.h"
#include "config.h"
#include "hs_sync.h"
#include "passwords.h"
#include "policy.h"
#include "storage_test.h"
#include <jansson.h>

#define PW    "correct horse battery staple"
#define NEWPW "violet tangerine microscope 77"

#define CONFIG_YAML                                                                                          \
    "matrix:\n  homeserver: example.com\n"                                                                   \
    "passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, cost: 4}\n"                               \
    "policy:\n  data:\n    emails:\n      banned_addresses:\n        literals: [banned@example.org]\n"       \
    "rate_limiting:\n  login:\n"                                                                             \
    "    per_ip: {burst: 100, per_second: 0.0001}\n"                                                         \
    "    per_account: {burst: 100, per_second: 0.0001}\n"                                                    \
    "  email_authentication:\n"                                                                              \
    "    attempt_per_session: {burst: 4, per_second: 0.0001}\n"                                              \
    "    emails_per_session: {burst: 1, per_second: 0.0001}\n"

static struct config *cfg;
static struct policy *policy;
static struct storage *st;
static struct storage_user alice, bob;
static struct storage_browser_session bs, bs2, bob_bs;

static struct config *load(const char *yaml)
{
    struct config *c = NULL;
    char *error = NULL;
    if (config_load_buffer("test.yaml", yaml, strlen(yaml), &c, &error) < 0) {
        fprintf(stderr, "config: %s\n", error);
        exit(1);
    }
    return c;
}

static void make_user(const char *name, const char *password, struct storage_user *u,
                      struct storage_browser_session *s)
{
    struct storage_password p;
    char *hash = NULL;
    unsigned version;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, name, false, masd_now(), u), 0);
    if (password) {
        CHECK_INT(password_hash(&cfg->passwords, password, strlen(password), &hash, &version), 0);
        CHECK_INT(storage_password_add(tx, u->id, hash, version, NULL, masd_now(), &p), 0);
        free(hash);
    }
    CHECK_INT(storage_browser_session_create(tx, u->id, "test", masd_now(), s), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* Runs an op of alice's browser session bs (or `session`), with the given passwords. */
static enum account_status run(struct account_op *op, enum account_op_kind kind, const struct storage_user *u,
                               const char *session, const char *password, const char *new_password,
                               void (*fill)(struct account_op *, const void *), const void *arg)
{
    struct masd_addr client = {0};
    account_op_init(op, kind, cfg, st, NULL, policy, u, session, &client);
    if (password)
        CHECK_INT(account_op_set_password(op, 0, password), 0);
    if (new_password)
        CHECK_INT(account_op_set_password(op, 1, new_password), 0);
    if (fill)
        fill(op, arg);
    account_op_run(op);
    return op->status;
}

static void fill_email(struct account_op *op, const void *arg)
{
    snprintf(op->email, sizeof(op->email), "%s", (const char *)arg);
}

static void fill_id(struct account_op *op, const void *arg)
{
    snprintf(op->id, sizeof(op->id), "%s", (const char *)arg);
}

struct id_code {
    const char *id, *code;
};

static void fill_code(struct account_op *op, const void *arg)
{
    const struct id_code *c = arg;
    snprintf(op->id, sizeof(op->id), "%s", c->id);
    snprintf(op->code, sizeof(op->code), "%s", c->code);
}

static void fill_erase(struct account_op *op, const void *arg)
{
    (void)arg;
    op->erase = true;
}

/* The number of jobs of `queue` (claimed and completed, so the next count starts afresh); the
 * last one's payload into payload (may be NULL). */
static int jobs(const char *queue, char *payload, size_t size)
{
    int n = 0;
    struct storage_job job = {0};
    while (storage_job_claim(st, queue, "test", 60000, masd_now(), &job) == 1) {
        n++;
        if (payload)
            snprintf(payload, size, "%s", job.payload);
        struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
        CHECK_INT(storage_job_complete(tx, job.id, "test", masd_now()), 0);
        CHECK_INT(test_tx_end(tx, true), 0);
        storage_job_clear(&job);
    }
    return n;
}

/* The worker's part: a code for the authentication. */
static void add_code(const char *auth_id, const char *code, int64_t at)
{
    struct storage_email_authentication_code c;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_code_add(tx, auth_id, code, at, &c), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static size_t emails_of(const struct storage_user *u, struct storage_email *first)
{
    struct storage_email *list = NULL;
    size_t n = 0;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_email_list(tx, u->id, &list, &n), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    if (n && first)
        *first = list[0];
    free(list);
    return n;
}

static void test_emails(void)
{
    struct account_op op;
    /* the re-check rule: alice has a password */
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &alice, bs.id, NULL, NULL, fill_email, "alice@example.org"),
              ACCOUNT_PASSWORD_REQUIRED);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &alice, bs.id, "wrong", NULL, fill_email, "alice@example.org"),
              ACCOUNT_INCORRECT_PASSWORD);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &alice, bs.id, PW, NULL, fill_email, "not an address"),
              ACCOUNT_INVALID_EMAIL_ADDRESS);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &alice, bs.id, PW, NULL, fill_email, "banned@example.org"),
              ACCOUNT_DENIED);
    CHECK_INT(json_array_size(op.violations), 1);
    account_op_clear(&op);
    CHECK_INT(jobs(STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, NULL, 0), 0);
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &alice, bs.id, PW, NULL, fill_email, "Alice@Example.org"),
              ACCOUNT_STARTED);
    char auth[STORAGE_ID_SIZE];
    memcpy(auth, op.authentication_id, sizeof(auth));
    CHECK_INT(strlen(auth), 26);
    account_op_clear(&op);
    CHECK_INT(jobs(STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, NULL, 0), 1);

    /* resend: another browser session's is refused, an unknown one "completed" (MAS) */
    CHECK_INT(run(&op, ACCOUNT_RESEND_EMAIL, &alice, bs2.id, NULL, NULL, fill_id, auth), ACCOUNT_NOT_YOURS);
    CHECK_INT(
        run(&op, ACCOUNT_RESEND_EMAIL, &alice, bs.id, NULL, NULL, fill_id, "01HQ8Z4ZQ0ABCDEFGHJKMNPQRS"),
        ACCOUNT_COMPLETED);
    CHECK_INT(run(&op, ACCOUNT_RESEND_EMAIL, &alice, bs.id, NULL, NULL, fill_id, auth), ACCOUNT_RESENT);
    CHECK_INT(run(&op, ACCOUNT_RESEND_EMAIL, &alice, bs.id, NULL, NULL, fill_id, auth), ACCOUNT_RATE_LIMITED);
    CHECK(op.retry_after_ms > 0);
    CHECK_INT(jobs(STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, NULL, 0), 1);

    /* the code: only from the browser session that started it; wrong, expired, then right */
    add_code(auth, "123456", masd_now());
    add_code(auth, "654321", masd_now() - STORAGE_EMAIL_CODE_TTL_MS - 1);
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &alice, bs2.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "123456"}),
              ACCOUNT_INVALID_CODE);
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "123456"}),
              ACCOUNT_INVALID_CODE);
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &alice, bs.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "111111"}),
              ACCOUNT_INVALID_CODE);
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &alice, bs.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "654 321"}),
              ACCOUNT_CODE_EXPIRED);
    CHECK_INT(jobs(HS_QUEUE_PROVISION_USER, NULL, 0), 0);
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &alice, bs.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "123 456"}),
              ACCOUNT_COMPLETED);
    CHECK_INT(strlen(op.email_id), 26);
    struct storage_email e;
    CHECK_INT(emails_of(&alice, &e), 1);
    CHECK_STR(e.email, "Alice@Example.org");
    CHECK_STR(e.id, op.email_id);
    /* the homeserver is told of the new address (MAS forgot) */
    char payload[512] = "";
    CHECK_INT(jobs(HS_QUEUE_PROVISION_USER, payload, sizeof(payload)), 1);
    CHECK(strstr(payload, alice.id) != NULL);
    /* once: again is "completed", adding nothing */
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &alice, bs.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "123456"}),
              ACCOUNT_COMPLETED);
    CHECK_STR(op.email_id, "");
    CHECK_INT(emails_of(&alice, NULL), 1);
    /* the same address again: IN_USE for its owner, at the start */
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &alice, bs.id, PW, NULL, fill_email, "alice@example.org"),
              ACCOUNT_IN_USE);
    account_op_clear(&op);

    /* bob (no password: the re-check is skipped) proves alice's address: IN_USE at the end */
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_email, "ALICE@example.org"),
              ACCOUNT_STARTED);
    memcpy(auth, op.authentication_id, sizeof(auth));
    account_op_clear(&op);
    add_code(auth, "222222", masd_now());
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "222222"}),
              ACCOUNT_IN_USE);
    CHECK_INT(emails_of(&bob, NULL), 0);
    /* guessing is limited per authentication (attempt_per_session: 4 here) */
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_email, "bob@example.org"),
              ACCOUNT_STARTED);
    memcpy(auth, op.authentication_id, sizeof(auth));
    account_op_clear(&op);
    add_code(auth, "333333", masd_now());
    for (int i = 0; i < 4; i++)
        CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_code,
                      &(struct id_code){auth, "000000"}),
                  ACCOUNT_INVALID_CODE);
    CHECK_INT(run(&op, ACCOUNT_COMPLETE_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_code,
                  &(struct id_code){auth, "333333"}),
              ACCOUNT_RATE_LIMITED);
    CHECK_INT(emails_of(&bob, NULL), 0);
    jobs(STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, NULL, 0);

    /* remove: the password again; another user's address is not found */
    struct storage_email alices;
    emails_of(&alice, &alices);
    CHECK_INT(run(&op, ACCOUNT_REMOVE_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_id, alices.id),
              ACCOUNT_NOT_FOUND);
    CHECK_INT(run(&op, ACCOUNT_REMOVE_EMAIL, &alice, bs.id, NULL, NULL, fill_id, alices.id),
              ACCOUNT_PASSWORD_REQUIRED);
    CHECK_INT(run(&op, ACCOUNT_REMOVE_EMAIL, &alice, bs.id, "nope", NULL, fill_id, alices.id),
              ACCOUNT_INCORRECT_PASSWORD);
    account_op_clear(&op);
    CHECK_INT(emails_of(&alice, NULL), 1);
    CHECK_INT(jobs(HS_QUEUE_PROVISION_USER, NULL, 0), 0);
    CHECK_INT(run(&op, ACCOUNT_REMOVE_EMAIL, &alice, bs.id, PW, NULL, fill_id, alices.id), ACCOUNT_REMOVED);
    account_op_clear(&op);
    CHECK_INT(emails_of(&alice, NULL), 0);
    CHECK_INT(jobs(HS_QUEUE_PROVISION_USER, NULL, 0), 1);
    CHECK_INT(run(&op, ACCOUNT_REMOVE_EMAIL, &alice, bs.id, PW, NULL, fill_id, alices.id), ACCOUNT_NOT_FOUND);
    account_op_clear(&op);
}

static bool password_is(const struct storage_user *u, const char *password)
{
    struct storage_password p;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_password_get_active(tx, u->id, &p), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    bool upgrade;
    return password_verify(&cfg->passwords, p.version, p.hash, password, strlen(password), &upgrade) == 0;
}

static void test_password(void)
{
    struct account_op op;
    CHECK_INT(run(&op, ACCOUNT_SET_PASSWORD, &alice, bs.id, PW, "abc", NULL, NULL),
              ACCOUNT_INVALID_NEW_PASSWORD);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_SET_PASSWORD, &alice, bs.id, PW, NULL, NULL, NULL),
              ACCOUNT_INVALID_NEW_PASSWORD);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_SET_PASSWORD, &alice, bs.id, NULL, NEWPW, NULL, NULL),
              ACCOUNT_PASSWORD_REQUIRED);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_SET_PASSWORD, &alice, bs.id, "wrong", NEWPW, NULL, NULL),
              ACCOUNT_WRONG_PASSWORD);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_SET_PASSWORD, &bob, bob_bs.id, "x", NEWPW, NULL, NULL),
              ACCOUNT_NO_CURRENT_PASSWORD);
    account_op_clear(&op);
    CHECK(password_is(&alice, PW));
    CHECK_INT(run(&op, ACCOUNT_SET_PASSWORD, &alice, bs.id, PW, NEWPW, NULL, NULL), ACCOUNT_ALLOWED);
    account_op_clear(&op);
    CHECK(password_is(&alice, NEWPW));
    CHECK(!password_is(&alice, PW));

    /* then the other sessions: every one but this browser's, and the homeserver's devices */
    struct storage_compat_session cs;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(
        storage_compat_session_create(tx, alice.id, "DEVICEA", false, NULL, NULL, NULL, masd_now(), &cs), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(run(&op, ACCOUNT_END_OTHER_SESSIONS, &alice, bs.id, NULL, NULL, NULL, NULL), ACCOUNT_ENDED);
    CHECK_INT(op.ended, 2); /* bs2 and the compat session */
    struct storage_browser_session got;
    struct storage_compat_session gotc;
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_browser_session_get(tx, bs.id, &got), 0);
    CHECK_INT(got.finished_at, 0);
    CHECK_INT(storage_browser_session_get(tx, bs2.id, &got), 0);
    CHECK(got.finished_at > 0);
    CHECK_INT(storage_compat_session_get(tx, cs.id, &gotc), 0);
    CHECK(gotc.finished_at > 0);
    CHECK_INT(storage_browser_session_get(tx, bob_bs.id, &got), 0);
    CHECK_INT(got.finished_at, 0); /* bob's are his */
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(jobs(HS_QUEUE_SYNC_DEVICES, NULL, 0), 1);
}

static void test_deactivate(void)
{
    struct account_op op;
    CHECK_INT(run(&op, ACCOUNT_DEACTIVATE, &alice, bs.id, NULL, NULL, NULL, NULL), ACCOUNT_PASSWORD_REQUIRED);
    CHECK_INT(run(&op, ACCOUNT_DEACTIVATE, &alice, bs.id, PW, NULL, fill_erase, NULL),
              ACCOUNT_INCORRECT_PASSWORD);
    account_op_clear(&op);
    CHECK_INT(jobs(HS_QUEUE_DEACTIVATE_USER, NULL, 0), 0);
    CHECK_INT(run(&op, ACCOUNT_DEACTIVATE, &alice, bs.id, NEWPW, NULL, fill_erase, NULL),
              ACCOUNT_DEACTIVATED);
    account_op_clear(&op);
    char payload[256] = "";
    CHECK_INT(jobs(HS_QUEUE_DEACTIVATE_USER, payload, sizeof(payload)), 1);
    json_t *p = json_loads(payload, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(p, "user_id")), alice.id);
    CHECK(json_is_true(json_object_get(p, "hs_erase")));
    json_decref(p);
    struct storage_user u;
    struct storage_browser_session got;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_user_get(tx, alice.id, &u), 0);
    CHECK(u.deactivated_at > 0);
    CHECK_INT(storage_browser_session_get(tx, bs.id, &got), 0);
    CHECK(got.finished_at > 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* A password change's op for alice, with the current password (NULL: none, admin: an
 * administrator's) and the new one. */
static void password_op(struct account_op *op, const char *current, const char *next, bool admin)
{
    struct masd_addr client = {0};
    account_op_init(op, ACCOUNT_SET_PASSWORD, cfg, st, NULL, policy, &alice, admin ? "" : bs.id, &client);
    op->admin = admin;
    if (current)
        CHECK_INT(account_op_set_password(op, 0, current), 0);
    CHECK_INT(account_op_set_password(op, 1, next), 0);
}

/* One run of a fresh op in a transaction, as GraphQL's endpoint runs a mutation's document:
 * account_op_run_tx()'s answer, with *status. The transaction commits when `commit`. */
static int run_once(const char *current, const char *next, bool admin, const struct account_op *done,
                    bool commit, enum account_status *status)
{
    struct account_op op;
    password_op(&op, current, next, admin);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    int r = account_op_run_tx(&op, tx, done);
    CHECK_INT(test_tx_end(tx, commit), 0);
    *status = op.status;
    account_op_clear(&op);
    return r;
}

/* Inside a caller's transaction (a GraphQL mutation's): the same outcomes, committed with it or
 * rolled back with it; the password's check and hash never inside it (account_op_run_tx answers
 * 1, the caller runs the slow stage outside and runs again with it as `done`). */
static void test_in_tx(void)
{
    struct account_op op, done;
    enum account_status status;
    struct masd_addr client = {0};
    account_op_init(&op, ACCOUNT_START_EMAIL, cfg, st, NULL, policy, &bob, bob_bs.id, &client);
    snprintf(op.email, sizeof(op.email), "bob.tx@example.org");
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(account_op_run_tx(&op, tx, NULL), 0); /* nothing slow: done at once */
    CHECK_INT(op.status, ACCOUNT_STARTED);
    CHECK_INT(test_tx_end(tx, false), 0); /* rolled back: no job */
    CHECK_INT(jobs(STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, NULL, 0), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(account_op_run_tx(&op, tx, NULL), 0);
    CHECK_INT(op.status, ACCOUNT_STARTED);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(jobs(STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, NULL, 0), 1);
    account_op_clear(&op);

    /* a wrong current password: asked outside, decided on the next run */
    password_op(&done, "wrong", NEWPW, false);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(account_op_run_tx(&done, tx, NULL), 1);
    CHECK_INT(done.status, ACCOUNT_PENDING);
    CHECK_INT(test_tx_end(tx, false), 0);
    account_op_run_outside(&done);
    CHECK_INT(done.status, ACCOUNT_WRONG_PASSWORD);
    CHECK_INT(run_once("wrong", NEWPW, false, &done, true, &status), 0);
    CHECK_INT(status, ACCOUNT_WRONG_PASSWORD);
    account_op_clear(&done);

    /* the right one, the second run twice (a retried transaction): the hash is copied */
    password_op(&done, NEWPW, NEWPW "?", false);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(account_op_run_tx(&done, tx, NULL), 1);
    CHECK_INT(test_tx_end(tx, false), 0);
    CHECK(done.new_hash == NULL); /* nothing hashed inside the transaction */
    account_op_run_outside(&done);
    CHECK(done.new_hash != NULL);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(run_once(NEWPW, NEWPW "?", false, &done, i == 1, &status), 0);
        CHECK_INT(status, ACCOUNT_ALLOWED);
    }
    CHECK(password_is(&alice, NEWPW "?"));
    /* `done` was checked against the row that is gone now: asked again, nothing changed */
    CHECK_INT(run_once(NEWPW, NEWPW "?", false, &done, true, &status), 1);
    CHECK(password_is(&alice, NEWPW "?"));
    account_op_clear(&done);

    /* an administrator (GraphQL, urn:mas:admin) skips the re-check; the hash is still outside */
    password_op(&done, NULL, NEWPW "!", true);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(account_op_run_tx(&done, tx, NULL), 1);
    CHECK_INT(test_tx_end(tx, false), 0);
    account_op_run_outside(&done);
    CHECK_INT(run_once(NULL, NEWPW "!", true, &done, true, &status), 0);
    CHECK_INT(status, ACCOUNT_ALLOWED);
    account_op_clear(&done);
    CHECK(password_is(&alice, NEWPW "!"));

    /* the homeserver's kinds: nothing in the transaction, the outcome taken from `done` */
    account_op_init(&op, ACCOUNT_SET_DISPLAY_NAME, cfg, st, NULL, policy, &alice, bs.id, &client);
    snprintf(op.display_name, sizeof(op.display_name), "Alice");
    account_op_init(&done, ACCOUNT_SET_DISPLAY_NAME, cfg, st, NULL, policy, &alice, bs.id, &client);
    done.status = ACCOUNT_HOMESERVER;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(account_op_run_tx(&op, tx, NULL), 1);
    CHECK_INT(account_op_run_tx(&op, tx, &done), 0);
    CHECK_INT(op.status, ACCOUNT_HOMESERVER);
    CHECK_INT(test_tx_end(tx, false), 0);
    account_op_clear(&op);

    /* and back, for the tests that follow */
    password_op(&op, NULL, NEWPW, true);
    account_op_run(&op);
    CHECK_INT(op.status, ACCOUNT_ALLOWED);
    account_op_clear(&op);
}

/* The account.* switches: each change refused when its switch is off. */
static void test_switches(void)
{
    struct config *saved = cfg;
    struct config *off = load(CONFIG_YAML "account:\n  email_change_allowed: false\n"
                                          "  displayname_change_allowed: false\n"
                                          "  password_change_allowed: false\n"
                                          "  account_deactivation_allowed: false\n");
    cfg = off;
    struct account_op op;
    CHECK_INT(run(&op, ACCOUNT_START_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_email, "b@example.org"),
              ACCOUNT_FORBIDDEN);
    CHECK_INT(
        run(&op, ACCOUNT_RESEND_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_id, "01HQ8Z4ZQ0ABCDEFGHJKMNPQRS"),
        ACCOUNT_FORBIDDEN);
    CHECK_INT(
        run(&op, ACCOUNT_REMOVE_EMAIL, &bob, bob_bs.id, NULL, NULL, fill_id, "01HQ8Z4ZQ0ABCDEFGHJKMNPQRS"),
        ACCOUNT_FORBIDDEN);
    CHECK_INT(run(&op, ACCOUNT_SET_PASSWORD, &bob, bob_bs.id, "x", NEWPW, NULL, NULL),
              ACCOUNT_PASSWORD_CHANGES_DISABLED);
    account_op_clear(&op);
    CHECK_INT(run(&op, ACCOUNT_DEACTIVATE, &bob, bob_bs.id, NULL, NULL, NULL, NULL), ACCOUNT_FORBIDDEN);
    CHECK_INT(run(&op, ACCOUNT_SET_DISPLAY_NAME, &bob, bob_bs.id, NULL, NULL, NULL, NULL), ACCOUNT_FORBIDDEN);
    cfg = saved;
    config_free(off);
}

static void backend(enum storage_backend b, const char *uri)
{
    (void)b;
    st = test_open(uri);
    make_user("alice", PW, &alice, &bs);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_browser_session_create(tx, alice.id, "other", masd_now(), &bs2), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    make_user("bob", NULL, &bob, &bob_bs);
    test_emails();
    test_password();
    test_switches();
    test_in_tx();
    test_deactivate();
    storage_close(st);
}

static void test_rules(void)
{
    char code[7];
    CHECK(account_code_normalize("123456", code));
    CHECK_STR(code, "123456");
    CHECK(account_code_normalize(" 123 456 ", code));
    CHECK_STR(code, "123456");
    CHECK(!account_code_normalize("12345", code));
    CHECK(!account_code_normalize("1234567", code));
    CHECK(!account_code_normalize("12345a", code));
    CHECK(!account_code_normalize("", code));
    CHECK(!account_code_normalize("１２３４５６", code)); /* full-width digits are not digits here */
    CHECK(!account_display_name_valid(""));
    CHECK(account_display_name_valid("A"));
    char name[300];
    memset(name, 'x', 256);
    name[256] = '\0';
    CHECK(account_display_name_valid(name));
    name[256] = 'x', name[257] = '\0';
    CHECK(!account_display_name_valid(name));
    CHECK_STR(account_status_name(ACCOUNT_STARTED), "STARTED");
    CHECK_STR(account_status_name(ACCOUNT_PASSWORD_CHANGES_DISABLED), "PASSWORD_CHANGES_DISABLED");
    CHECK(account_status_name(ACCOUNT_FORBIDDEN) == NULL);
    CHECK(account_status_name(ACCOUNT_PENDING) == NULL);
}

int main(void)
{
    test_rules();
    test_init();
    cfg = load(CONFIG_YAML);
    char *error = NULL;
    if (policy_new(cfg, &policy, &error) < 0) {
        fprintf(stderr, "policy: %s\n", error);
        return 1;
    }
    test_each_backend("account", backend);
    policy_free(policy);
    config_free(cfg);
    return check_report(__FILE__);
}
