/* masd-worker's e-mails (services/worker/emails.c) and its e-mail job (email_jobs.c), on SQLite
 * and PostgreSQL, with a script standing in for sendmail: the code drawn, stored and mailed; the
 * code removed again when the e-mail could not be sent; what fails for good and what retries; the
 * recovery job: a ticket for the account with the address and its link mailed, nothing for an
 * address nobody has, a locked account or a consumed session. */
#include "config.h"
#include "email_jobs.h"
#include "emails.h"
#include "storage_test.h"
#include <sys/stat.h>

static const int64_t NOW = 1700000000000;
static char dir[256];

static void test_render(void)
{
    struct email_content c;
    json_t *data =
        json_pack("{s:s, s:s, s:s}", "code", "042917", "server_name", "example.com", "username", "alice");
    CHECK_INT(email_render("verification", "en", data, &c), 0);
    CHECK_STR(c.subject, "042917 is your code for example.com");
    CHECK(
        strncmp(
            c.text,
            "Hello alice,\n\nEnter this code to confirm your e-mail address on example.com:\n\n    042917\n",
            89) == 0);
    CHECK(strstr(c.text, "\n-- \nexample.com\n") != NULL);
    CHECK(strstr(c.html, "<html lang=\"en\">") != NULL);
    CHECK(strstr(c.html, ">042917</p>") != NULL);
    CHECK(strstr(c.html, "<p>Hello alice,</p>") != NULL);
    email_content_free(&c);
    json_decref(data);

    /* no user (a registration's, later): no name; another language: English; values escaped */
    data = json_pack("{s:s, s:s}", "code", "000001", "server_name", "<b>x</b>.example");
    CHECK_INT(email_render("verification", "de-AT", data, &c), 0);
    CHECK(strncmp(c.text, "Hello,\n\n", 8) == 0);
    CHECK(strstr(c.html, "&lt;b&gt;x&lt;/b&gt;.example") != NULL);
    CHECK(strstr(c.html, "<html lang=\"de-AT\">") != NULL);
    CHECK_STR(c.subject, "000001 is your code for <b>x</b>.example");
    email_content_free(&c);
    json_decref(data);

    /* the recovery e-mail, ready for account recovery */
    data = json_pack("{s:s, s:s, s:s, s:s}", "username", "alice", "mxid", "@alice:example.com", "server_name",
                     "example.com", "recovery_link",
                     "https://auth.example.com/account/password/recovery?ticket=abc");
    CHECK_INT(email_render("recovery", "en", data, &c), 0);
    CHECK_STR(c.subject, "Choose a new password for @alice:example.com");
    CHECK(strstr(c.text, "\n    https://auth.example.com/account/password/recovery?ticket=abc\n") != NULL);
    CHECK(strstr(c.html, "href=\"https://auth.example.com/account/password/recovery?ticket=abc\"") != NULL);
    email_content_free(&c);
    json_decref(data);
    data = json_object();
    CHECK_INT(email_render("nope", "en", data, &c), -ENOENT);
    json_decref(data);
}

static void script(const char *name, const char *body)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    chmod(path, 0755);
}

static char *slurp(const char *name)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    char *buf = calloc(1, 1 << 16);
    if (fread(buf, 1, (1 << 16) - 1, f) == 0)
        buf[0] = '\0';
    fclose(f);
    unlink(path);
    return buf;
}

struct env {
    struct storage *st;
    struct config *cfg;
    struct email_jobs jobs;
    char command[128];
};

/* Claims the next job and runs it. */
static enum hs_job_outcome run_next(struct env *e, char *msg, struct storage_job *job)
{
    int r = storage_job_claim(e->st, NULL, "w", 60000, masd_now(), job);
    CHECK_INT(r, 1);
    if (r != 1)
        return HS_JOB_LOST;
    return email_job_run(&e->jobs, job, "w", msg, 512);
}

struct count {
    const char *auth_id;
    int n;
};

static int codes_tx(struct storage_tx *tx, void *arg)
{
    static struct storage_stmt q = {.sql = "SELECT COUNT(*) FROM user_email_authentication_codes"
                                           " WHERE user_email_authentication_id = $1"};
    struct count *c = arg;
    struct sq s;
    int r = sq_run(tx, &q, SQ_ARGS(P_TEXT(c->auth_id)), &s);
    if (r >= 0 && sq_next(&s) > 0)
        c->n = (int)sq_int(&s, 0);
    sq_done(&s);
    return r;
}

static int codes(struct env *e, const char *auth_id)
{
    struct count c = {auth_id, -1};
    CHECK_INT(storage_tx(e->st, STORAGE_TX_READ, codes_tx, &c), 0);
    return c.n;
}

static void start(struct env *e, const char *email, const char *session,
                  struct storage_email_authentication *a)
{
    struct storage_tx *tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_start(tx, email, session, "en", masd_now(), a), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The recovery job: a ticket for the account with the address, its link mailed. */
static int tickets_tx(struct storage_tx *tx, void *arg)
{
    static struct storage_stmt q = {.sql = "SELECT COUNT(*) FROM user_recovery_tickets"};
    struct sq s;
    int r = sq_run(tx, &q, NULL, 0, &s);
    if (r >= 0 && sq_next(&s) > 0)
        *(int *)arg = (int)sq_int(&s, 0);
    sq_done(&s);
    return r;
}

static int tickets(struct env *e)
{
    int n = -1;
    CHECK_INT(storage_tx(e->st, STORAGE_TX_READ, tickets_tx, &n), 0);
    return n;
}

/* The message's quoted-printable undone, as far as a link needs: soft line breaks, "=3D". */
static void unquote(char *m)
{
    char *w = m;
    for (const char *r = m; *r;) {
        if (strncmp(r, "=\r\n", 3) == 0)
            r += 3;
        else if (strncmp(r, "=3D", 3) == 0)
            *w++ = '=', r += 3;
        else
            *w++ = *r++;
    }
    *w = '\0';
}

static void recover(struct env *e, const char *email, struct storage_recovery_session *s)
{
    struct storage_tx *tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_start(tx, email, "ua", "192.0.2.1", "en", masd_now(), s), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void run_recovery_jobs(struct env *e, const struct storage_user *u)
{
    char msg[512];
    struct storage_job job = {0};
    struct storage_recovery_session s;
    struct storage_tx *tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_add(tx, u->id, "Alice@Example.org", NOW, NULL), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* the address as typed in another case: the account's own address gets the link */
    recover(e, "alice@example.ORG", &s);
    CHECK_INT(run_next(e, msg, &job), HS_JOB_DONE);
    storage_job_clear(&job);
    char *argv = slurp("argv"), *mail = slurp("mail");
    CHECK_STR(argv, "-i -f auth@example.com -- Alice@Example.org\n");
    CHECK(strstr(mail, "\r\nTo: alice <Alice@Example.org>\r\n") != NULL);
    CHECK(strstr(mail, "\r\nSubject: Choose a new password for @alice:example.com\r\n") != NULL);
    unquote(mail);
    const char *link = strstr(mail, "https://auth.example.com/account/password/recovery?ticket=");
    char ticket[64] = "";
    CHECK(link && sscanf(link, "https://auth.example.com/account/password/recovery?ticket=%63[A-Za-z0-9]",
                         ticket) == 1);
    CHECK_INT(strlen(ticket), 32);
    struct storage_recovery_lookup l;
    tx = test_tx_begin(e->st, STORAGE_TX_READ);
    CHECK_INT(storage_recovery_ticket_find(tx, ticket, &l), 0);
    CHECK_STR(l.session.id, s.id);
    CHECK_STR(l.user.id, u->id);
    CHECK(l.ticket.expires_at > masd_now() + 9 * 60 * 1000);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(tickets(e), 1);
    free(argv), free(mail);

    /* nobody has the address: nothing sent, the job done all the same */
    recover(e, "nobody@example.org", &s);
    CHECK_INT(run_next(e, msg, &job), HS_JOB_DONE);
    storage_job_clear(&job);
    mail = slurp("mail");
    CHECK_STR(mail, "");
    free(mail);
    CHECK_INT(tickets(e), 1);

    /* sendmail failing: retried, and the ticket that was not sent is gone */
    recover(e, "alice@example.org", &s);
    setenv("EXIT", "75", 1);
    CHECK_INT(run_next(e, msg, &job), HS_JOB_RETRY);
    storage_job_clear(&job);
    unsetenv("EXIT");
    CHECK_INT(tickets(e), 1);
    free(slurp("mail"));
    free(slurp("argv"));

    /* a consumed session: nothing sent (MAS) */
    tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_consume(tx, s.id, l.email.id, masd_now()), 0);
    CHECK_INT(storage_recovery_session_resend(tx, s.id, masd_now()), -EALREADY);
    CHECK_INT(test_tx_end(tx, false), 0);
    tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_recovery_session_consume(tx, s.id, l.email.id, masd_now()), 0);
    CHECK_INT(storage_job_enqueue(tx, STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL,
                                  "{\"user_recovery_session_id\": \"x\"}", 0, masd_now(), NULL),
              0);
    CHECK_INT(test_tx_end(tx, true), 0);
    /* the retried job of this session (due later) is not claimable yet; the bad payload is */
    CHECK_INT(run_next(e, msg, &job), HS_JOB_FAILED);
    CHECK(strstr(msg, "bad payload") != NULL);
    storage_job_clear(&job);

    /* a locked account gets no link */
    struct storage_recovery_session s2;
    recover(e, "alice@example.org", &s2);
    tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_lock(tx, u->id, masd_now()), 1);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(run_next(e, msg, &job), HS_JOB_DONE);
    storage_job_clear(&job);
    mail = slurp("mail");
    CHECK_STR(mail, "");
    free(mail);
    CHECK_INT(tickets(e), 1);
    tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_unlock(tx, u->id), 1);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* a session that is gone fails for good */
    tx = test_tx_begin(e->st, STORAGE_TX_WRITE);
    CHECK_INT(storage_job_enqueue(tx, STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL,
                                  "{\"user_recovery_session_id\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\"}", 0,
                                  masd_now(), NULL),
              0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(run_next(e, msg, &job), HS_JOB_FAILED);
    CHECK(strstr(msg, "no such recovery session") != NULL);
    storage_job_clear(&job);
    CHECK(email_job_handles("send-account-recovery-email"));
}

static void run_jobs(enum storage_backend b, const char *uri)
{
    struct env e = {.st = test_open(uri)};
    char yaml[512], *err = NULL;
    snprintf(yaml, sizeof(yaml),
             "email:\n  transport: sendmail\n  command: %s/sendmail\n  from: Auth <auth@example.com>\n"
             "matrix:\n  homeserver: example.com\nhttp:\n  public_base: https://auth.example.com/\n",
             dir);
    CHECK_INT(config_load_buffer("config.yaml", yaml, strlen(yaml), &e.cfg, &err), 0);
    e.jobs = (struct email_jobs){e.st, e.cfg, NULL};
    CHECK_INT(mail_transport_open(&e.cfg->email, &e.jobs.mail), 0);
    script("sendmail", "d=$(dirname \"$0\"); echo \"$@\" >\"$d/argv\"; cat >\"$d/mail\"; exit ${EXIT:-0}\n");

    struct storage_user u;
    struct storage_browser_session bs;
    struct storage_tx *tx = test_tx_begin(e.st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, "alice", false, NOW, &u), 0);
    CHECK_INT(storage_browser_session_create(tx, u.id, "ua", NOW, &bs), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* sent: the code in the database is the one in the e-mail, to the session's user */
    struct storage_email_authentication a;
    start(&e, "alice@example.org", bs.id, &a);
    char msg[512];
    struct storage_job job = {0};
    CHECK_INT(run_next(&e, msg, &job), HS_JOB_DONE);
    struct storage_job done = {0};
    tx = test_tx_begin(e.st, STORAGE_TX_READ);
    CHECK_INT(storage_job_get(tx, job.id, &done), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(done.status, STORAGE_JOB_COMPLETED);
    storage_job_clear(&done);
    storage_job_clear(&job);
    char *argv = slurp("argv"), *mail = slurp("mail");
    CHECK_STR(argv, "-i -f auth@example.com -- alice@example.org\n");
    CHECK(strstr(mail, "\r\nTo: alice <alice@example.org>\r\n") != NULL);
    CHECK(strstr(mail, "\r\nFrom: Auth <auth@example.com>\r\n") != NULL);
    const char *subject = strstr(mail, "\r\nSubject: ");
    char code[7] = "";
    CHECK(subject && sscanf(subject, "\r\nSubject: %6[0-9] is your code for example.com\r\n", code) == 1);
    CHECK_INT(strlen(code), 6);
    struct storage_email_authentication_code found;
    tx = test_tx_begin(e.st, STORAGE_TX_READ);
    CHECK_INT(storage_email_authentication_code_find(tx, a.id, code, &found), 0);
    CHECK(found.expires_at > masd_now() + 4 * 60 * 1000);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(codes(&e, a.id), 1);
    free(argv), free(mail);

    /* sendmail failing for now: retried, and the code that was not sent is gone */
    tx = test_tx_begin(e.st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_resend(tx, a.id, "en", masd_now()), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    setenv("EXIT", "75", 1);
    CHECK_INT(run_next(&e, msg, &job), HS_JOB_RETRY);
    CHECK(strstr(msg, "exited with status 75") != NULL);
    CHECK_INT(codes(&e, a.id), 1);
    storage_job_clear(&job);
    /* refused for good (no such user): failed, and the code gone too */
    setenv("EXIT", "67", 1);
    struct storage_email_authentication a2;
    start(&e, "nobody@example.org", NULL, &a2);
    CHECK_INT(run_next(&e, msg, &job), HS_JOB_FAILED);
    CHECK(strstr(msg, "refused for good") != NULL);
    CHECK_INT(codes(&e, a2.id), 0);
    storage_job_clear(&job);
    unsetenv("EXIT");
    free(slurp("mail"));
    free(slurp("argv"));

    /* completed: MAS fails the job; nothing is sent */
    start(&e, "alice@example.org", bs.id, &a2);
    tx = test_tx_begin(e.st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_authentication_complete(tx, a2.id, masd_now()), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(run_next(&e, msg, &job), HS_JOB_FAILED);
    CHECK(strstr(msg, "completed already") != NULL);
    storage_job_clear(&job);
    mail = slurp("mail");
    CHECK_STR(mail, "");
    free(mail);

    /* payloads that cannot run */
    static const char *const bad[] = {"{}", "[1]", "not json",
                                      ("{\"user_email_authentication_id\": \"x\", "
                                       "\"language\": \"en\"}"),
                                      "{\"user_email_authentication_id\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tx = test_tx_begin(e.st, STORAGE_TX_WRITE);
        CHECK_INT(
            storage_job_enqueue(tx, STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, bad[i], 0, masd_now(), NULL), 0);
        CHECK_INT(test_tx_end(tx, true), 0);
        CHECK_INT(run_next(&e, msg, &job), HS_JOB_FAILED);
        CHECK(strstr(msg, "bad payload") != NULL);
        storage_job_clear(&job);
    }
    /* an authentication that is gone */
    tx = test_tx_begin(e.st, STORAGE_TX_WRITE);
    CHECK_INT(storage_job_enqueue(
                  tx, STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE,
                  "{\"user_email_authentication_id\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\", \"language\": "
                  "\"en\"}",
                  0, masd_now(), NULL),
              0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(run_next(&e, msg, &job), HS_JOB_FAILED);
    CHECK(strstr(msg, "no such e-mail authentication") != NULL);
    storage_job_clear(&job);
    CHECK(email_job_handles("send-email-authentication-code"));
    CHECK(!email_job_handles("provision-user"));
    run_recovery_jobs(&e, &u);

    mail_transport_close(e.jobs.mail);
    config_free(e.cfg);
    storage_close(e.st);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as masd-worker */
    test_init();
    snprintf(dir, sizeof(dir), "%s", test_dir);
    test_render();
    test_each_backend("email_jobs", run_jobs);
    return check_report("test_email_jobs");
}
