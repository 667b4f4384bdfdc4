/* masd-worker's e-mail jobs (email_jobs.h). */
#include "email_jobs.h"
#include "clock.h"
#include "config.h"
#include "emails.h"
#include "log.h"
#include "message.h"
#include "random.h"
#include "ulid.h"
#include <openssl/crypto.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_DRAWS 8 /* a code equal to one the authentication has: draw again, this often */

struct ctx {
    const struct email_jobs *e;
    const struct storage_job *job;
    const char *worker_id;
    char *msg;
    size_t size;
};

static enum hs_job_outcome say(struct ctx *c, enum hs_job_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum hs_job_outcome say(struct ctx *c, enum hs_job_outcome o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->size, fmt, ap);
    va_end(ap);
    return o;
}

/* ---- the authentication, its user, and a new code --------------------------------------------- */

struct auth_read {
    const char *id;
    struct storage_email_authentication auth;
    struct storage_user user; /* the browser session's, when there is one */
    bool has_user;
};

static int auth_read_tx(struct storage_tx *tx, void *arg)
{
    struct auth_read *a = arg;
    a->has_user = false;
    int r = storage_email_authentication_get(tx, a->id, &a->auth);
    struct storage_browser_session bs;
    if (r >= 0 && a->auth.browser_session_id[0] &&
        (r = storage_browser_session_get(tx, a->auth.browser_session_id, &bs)) >= 0 &&
        (r = storage_user_get(tx, bs.user_id, &a->user)) >= 0)
        a->has_user = true;
    return r;
}

struct code_add {
    const char *auth_id;
    struct storage_email_authentication_code code;
};

/* Six digits drawn uniformly (MAS: Uniform::from(0..1_000_000), zero-padded). */
static int code_add_tx(struct storage_tx *tx, void *arg)
{
    struct code_add *c = arg;
    int r = -EEXIST;
    for (int i = 0; i < CODE_DRAWS && r == -EEXIST; i++) {
        char code[7];
        if ((r = random_string(code, 6, "0123456789", 10)) < 0)
            return r;
        r = storage_email_authentication_code_add(tx, c->auth_id, code, masd_now(), &c->code);
    }
    return r;
}

static int code_remove_tx(struct storage_tx *tx, void *arg)
{
    int r = storage_email_authentication_code_remove(tx, arg);
    return r == -ENOENT ? 0 : r;
}

static int complete_tx(struct storage_tx *tx, void *arg)
{
    struct ctx *c = arg;
    return storage_job_complete(tx, c->job->id, c->worker_id, masd_now());
}

/* ---- the job --------------------------------------------------------------------------------- */

/* Renders e-mail `name` with data (freed) in `language`, composes it to `to` (named `to_name`,
 * NULL: no name) and sends it. HS_JOB_DONE when sent; else the outcome, said. */
static enum hs_job_outcome deliver(struct ctx *c, const char *name, const char *language, json_t *data,
                                   const struct mail_address *to_addr, const char *to_name)
{
    const struct config *cfg = c->e->cfg;
    struct email_content content = {0};
    int r = data ? email_render(name, language, data, &content) : -ENOMEM;
    json_decref(data);
    if (r < 0)
        return say(c, r == -ENOMEM ? HS_JOB_RETRY : HS_JOB_FAILED, "cannot render the e-mail: %s",
                   strerror(-r));
    struct mail_mailbox to = {.addr = *to_addr};
    if (to_name)
        snprintf(to.name, sizeof(to.name), "%s", to_name);
    struct mail_message m = {&cfg->email.from, &cfg->email.reply_to, &to,       content.subject,
                             content.text,     content.html,         masd_now()};
    char *msg = NULL;
    size_t len = 0;
    r = mail_compose(&m, &msg, &len);
    email_content_free(&content);
    if (r < 0)
        return say(c, r == -ENOMEM ? HS_JOB_RETRY : HS_JOB_FAILED, "cannot compose the e-mail: %s",
                   strerror(-r));
    char why[512];
    r = mail_send(c->e->mail, &cfg->email.from.addr, to_addr, msg, len, why, sizeof(why));
    free(msg);
    if (r == -EBADMSG)
        return say(c, HS_JOB_FAILED, "refused for good: %s", why);
    if (r < 0)
        return say(c, HS_JOB_RETRY, "%s", why);
    log_info("job %s (%s): %s e-mail sent to %s (%s)", c->job->id, c->job->queue, name, to_addr->text, why);
    return HS_JOB_DONE;
}

/* After the code was added: render, compose, send. */
static enum hs_job_outcome mail_code(struct ctx *c, const struct auth_read *a, const char *language,
                                     const struct storage_email_authentication_code *code,
                                     const struct mail_address *to_addr)
{
    const struct config *cfg = c->e->cfg;
    json_t *data = json_pack("{s:s, s:s, s:s?}", "code", code->code, "server_name", cfg->matrix.homeserver,
                             "username", a->has_user ? a->user.username : NULL);
    return deliver(c, "verification", language, data, to_addr, a->has_user ? a->user.username : NULL);
}

/* The job is done: completed under its lease. */
static enum hs_job_outcome complete(struct ctx *c)
{
    int r = storage_tx(c->e->st, STORAGE_TX_WRITE, complete_tx, c);
    if (r == -ESTALE)
        return say(c, HS_JOB_LOST, "%s", storage_last_error());
    if (r < 0)
        return say(c, HS_JOB_RETRY, "cannot complete the job: %s", storage_last_error());
    return HS_JOB_DONE;
}

static enum hs_job_outcome run_code(struct ctx *c, const char *auth_id, const char *language)
{
    struct auth_read a = {.id = auth_id};
    int r = storage_tx(c->e->st, STORAGE_TX_READ, auth_read_tx, &a);
    if (r == -ENOENT)
        return say(c, HS_JOB_FAILED, "%s", storage_last_error());
    if (r < 0)
        return say(c, HS_JOB_RETRY, "cannot read e-mail authentication %s: %s", auth_id,
                   storage_last_error());
    if (a.auth.completed_at)
        return say(c, HS_JOB_FAILED, "e-mail authentication %s is completed already", auth_id);
    struct mail_address to;
    const char *why = NULL;
    if (mail_address_parse(masd_str_from(a.auth.email), &to, &why) < 0)
        return say(c, HS_JOB_FAILED, "e-mail authentication %s: cannot send to that address: %s", auth_id,
                   why);
    struct code_add add = {.auth_id = auth_id};
    r = storage_tx(c->e->st, STORAGE_TX_WRITE, code_add_tx, &add);
    if (r < 0)
        return say(c, r == -ENOENT ? HS_JOB_FAILED : HS_JOB_RETRY, "cannot add a code: %s",
                   storage_last_error());
    enum hs_job_outcome o = mail_code(c, &a, language, &add.code, &to);
    if (o == HS_JOB_DONE) /* sent, so the code stays: a retry sends another, and both work */
        return complete(c);
    /* not sent: the code goes, so that only codes a person may have read are valid */
    if (storage_tx(c->e->st, STORAGE_TX_WRITE, code_remove_tx, add.code.id) < 0)
        log_warn("job %s: cannot remove the code that was not sent: %s", c->job->id, storage_last_error());
    return o;
}

/* ---- the recovery job (MAS: crates/tasks/src/recovery.rs) ------------------------------------ */

#define TICKET_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

struct recovery_read {
    const char *id;
    struct storage_recovery_session session;
    bool found; /* an account that can be recovered has the address: email, user */
    struct storage_email email;
    struct storage_user user;
};

/* The session, and the account with its address. An address belongs to one account at most
 * (user_emails is unique by the folded address), so MAS's loop over the users with it is one
 * lookup here. A locked or deactivated account gets no link: it could not use it. */
static int recovery_read_tx(struct storage_tx *tx, void *arg)
{
    struct recovery_read *a = arg;
    a->found = false;
    int r = storage_recovery_session_get(tx, a->id, &a->session);
    if (r < 0 || a->session.consumed_at)
        return r;
    if ((r = storage_email_find(tx, a->session.email, &a->email)) == -ENOENT)
        return 0;
    if (r < 0 || (r = storage_user_get(tx, a->email.user_id, &a->user)) < 0)
        return r;
    a->found = !a->user.locked_at && !a->user.deactivated_at;
    return 0;
}

struct ticket_add {
    const struct recovery_read *a;
    char ticket[STORAGE_RECOVERY_TICKET_LEN + 1];
    struct storage_recovery_ticket t;
};

/* 32 letters and digits drawn uniformly (MAS: Alphanumeric), kept by the database only hashed. */
static int ticket_add_tx(struct storage_tx *tx, void *arg)
{
    struct ticket_add *t = arg;
    int r = -EEXIST;
    for (int i = 0; i < CODE_DRAWS && r == -EEXIST; i++) {
        if ((r = random_string(t->ticket, STORAGE_RECOVERY_TICKET_LEN, TICKET_ALPHABET,
                               sizeof(TICKET_ALPHABET) - 1)) < 0)
            return r;
        r = storage_recovery_ticket_add(tx, t->a->session.id, t->a->email.id, t->ticket, masd_now(), &t->t);
    }
    return r;
}

static int ticket_remove_tx(struct storage_tx *tx, void *arg)
{
    int r = storage_recovery_ticket_remove(tx, arg);
    return r == -ENOENT ? 0 : r;
}

static enum hs_job_outcome run_recovery(struct ctx *c, const char *session_id)
{
    const struct config *cfg = c->e->cfg;
    struct recovery_read a = {.id = session_id};
    int r = storage_tx(c->e->st, STORAGE_TX_READ, recovery_read_tx, &a);
    if (r == -ENOENT)
        return say(c, HS_JOB_FAILED, "%s", storage_last_error());
    if (r < 0)
        return say(c, HS_JOB_RETRY, "cannot read recovery session %s: %s", session_id, storage_last_error());
    if (a.session.consumed_at) {
        say(c, HS_JOB_DONE, "recovery session %s is consumed already: nothing sent", session_id);
        return complete(c);
    }
    if (!a.found) { /* nobody to send to: the person at /recover saw the same page regardless */
        log_info("job %s (%s): no account that can be recovered has the address of recovery session %s",
                 c->job->id, c->job->queue, session_id);
        return complete(c);
    }
    struct mail_address to;
    const char *why = NULL;
    if (mail_address_parse(masd_str_from(a.email.email), &to, &why) < 0)
        return say(c, HS_JOB_FAILED, "recovery session %s: cannot send to that address: %s", session_id, why);
    struct ticket_add add = {.a = &a};
    r = storage_tx(c->e->st, STORAGE_TX_WRITE, ticket_add_tx, &add);
    if (r < 0) /* -ENOENT: the address was removed meanwhile */
        return say(c, r == -ENOENT ? HS_JOB_FAILED : HS_JOB_RETRY, "cannot add a recovery ticket: %s",
                   storage_last_error());
    char link[4096], mxid[STORAGE_USERNAME_MAX + 300];
    snprintf(link, sizeof(link), "%saccount/password/recovery?ticket=%s", cfg->public_base, add.ticket);
    snprintf(mxid, sizeof(mxid), "@%s:%s", a.user.username, cfg->matrix.homeserver);
    json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "username", a.user.username, "mxid", mxid,
                             "recovery_link", link, "server_name", cfg->matrix.homeserver);
    OPENSSL_cleanse(link, sizeof(link));
    OPENSSL_cleanse(add.ticket, sizeof(add.ticket));
    enum hs_job_outcome o = deliver(c, "recovery", a.session.locale, data, &to, a.user.username);
    if (o == HS_JOB_DONE) /* sent, so the ticket stays: a retry sends another, and both work */
        return complete(c);
    /* not sent: the ticket goes, so that only links a person may have read work */
    if (storage_tx(c->e->st, STORAGE_TX_WRITE, ticket_remove_tx, add.t.id) < 0)
        log_warn("job %s: cannot remove the ticket that was not sent: %s", c->job->id, storage_last_error());
    return o;
}

/* ---- the queues ------------------------------------------------------------------------------ */

bool email_job_handles(const char *queue)
{
    return strcmp(queue, STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE) == 0 ||
           strcmp(queue, STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL) == 0;
}

enum hs_job_outcome email_job_run(const struct email_jobs *e, const struct storage_job *job,
                                  const char *worker_id, char *msg, size_t size)
{
    struct ctx c = {e, job, worker_id, msg, size};
    msg[0] = '\0';
    json_error_t jerr;
    json_t *p = json_loads(job->payload, JSON_REJECT_DUPLICATES, &jerr);
    uint8_t raw[16];
    enum hs_job_outcome o;
    if (strcmp(job->queue, STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL) == 0) {
        const char *id = json_string_value(json_object_get(p, "user_recovery_session_id"));
        if (!id || ulid_parse(id, raw) < 0)
            o = say(&c, HS_JOB_FAILED, "bad payload for %s: %.200s", job->queue, job->payload);
        else
            o = run_recovery(&c, id);
    } else {
        const char *id = json_string_value(json_object_get(p, "user_email_authentication_id"));
        const char *lang = json_string_value(json_object_get(p, "language"));
        if (!id || ulid_parse(id, raw) < 0 || !lang)
            o = say(&c, HS_JOB_FAILED, "bad payload for %s: %.200s", job->queue, job->payload);
        else
            o = run_code(&c, id, lang);
    }
    json_decref(p);
    return o;
}
