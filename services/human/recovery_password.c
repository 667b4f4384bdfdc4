/* The mailed link: /account/password/recovery?ticket=… (MAS serves it from its account SPA,
 * frontend/src/routes/password.recovery.index.tsx, through the GraphQL fields userRecoveryTicket,
 * setPasswordByRecovery and resendRecoveryEmail; masd renders it, with JavaScript off, and the
 * GraphQL fields use the same steps, recovery.h).
 *
 *   GET                  the ticket judged: the form (new password twice) for a valid one, else
 *                        a page that says why not (404 unknown, 410 used or expired, 403 locked
 *                        account, 409 signed in)
 *   POST                 the new password: CSRF, both fields, zxcvbn's score (worker pool), the
 *                        hash (password-hashing thread), then one durable transaction that judges
 *                        the ticket again, consumes its session by compare-and-set (a replay or a
 *                        race loses), adds the password and ends every session of the user; the
 *                        "done" page links to the login
 *   POST action=resend   from the "expired" page: another e-mail for the ticket's session, under
 *                        the recovery limits, then 303 to its progress page
 *
 * The page is anonymous, though /account/… otherwise wants a session: a person who forgot the
 * password has none. A signed-in browser gets a page that asks it to sign out first, as MAS's
 * mutation refuses anyone but an anonymous requester. Ending the user's sessions is masd's
 * addition: an account that was recovered should not stay signed in where someone else may have
 * used the old password (MAS leaves the sessions). */
#include "clock.h"
#include "form.h"
#include "human.h"
#include "log.h"
#include "passwords.h"
#include "recovery.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pw_out {
    OUT_FORM,     /* the form (again, with its errors) */
    OUT_STATUS,   /* the status page: status, kind */
    OUT_REDIRECT, /* 303 to location */
    OUT_CONTINUE, /* the POST goes on to its next thread */
    OUT_INTERNAL, /* logged */
};

struct pw_job {
    bool post, resend;
    struct browser browser;
    struct masd_addr client;
    char ticket[STORAGE_RECOVERY_TICKET_LEN + 1]; /* "" when absent or not a ticket's length */
    char *password;                               /* malloc'd, wiped */
    size_t password_len;
    bool password_required, confirm_required, mismatch, weak;
    struct storage_recovery_lookup l;
    enum recovery_ticket_state state;
    int stage;
    char *hash; /* malloc'd, wiped */
    unsigned version;
    bool rate_limited;
    int64_t retry_ms;
    enum pw_out out;
    int status;
    const char *kind;
    char location[512];
};

static void job_free(struct pw_job *j)
{
    if (j->password) {
        OPENSSL_cleanse(j->password, j->password_len);
        free(j->password);
    }
    if (j->hash) {
        OPENSSL_cleanse(j->hash, strlen(j->hash));
        free(j->hash);
    }
    OPENSSL_cleanse(j->ticket, sizeof(j->ticket));
    free(j);
}

static bool has_errors(const struct pw_job *j)
{
    return j->password_required || j->confirm_required || j->mismatch || j->weak;
}

static void status(struct pw_job *j, int code, const char *kind)
{
    j->out = OUT_STATUS, j->status = code, j->kind = kind;
}

/* The browser and the ticket; a problem with either is the page's answer (0, j->out set). */
static int judge(struct storage_tx *tx, struct pw_job *j)
{
    int r = browser_load(tx, &j->browser);
    if (r < 0)
        return r;
    if (j->browser.state == BROWSER_ACTIVE) {
        status(j, 409, "signed_in");
        return 0;
    }
    if ((r = recovery_ticket_judge(tx, j->ticket, masd_now(), &j->l, &j->state)) < 0)
        return r;
    switch (j->state) {
    case RECOVERY_TICKET_VALID:
        j->out = OUT_FORM;
        break;
    case RECOVERY_TICKET_NOT_FOUND:
        status(j, 404, "not_found");
        break;
    case RECOVERY_TICKET_CONSUMED:
        status(j, 410, "consumed");
        break;
    case RECOVERY_TICKET_EXPIRED:
        status(j, 410, "expired");
        break;
    case RECOVERY_TICKET_LOCKED:
        status(j, 403, "locked");
        break;
    }
    return 0;
}

/* GET, and a POST's checks: the ticket, then the new password's strength. */
static int check_tx(struct storage_tx *tx, void *arg)
{
    struct pw_job *j = arg;
    int r = judge(tx, j);
    if (r < 0 || j->out != OUT_FORM || !j->post)
        return r;
    if (j->password_len && password_check_complexity(&human.cfg->passwords, j->password) == -EPERM)
        j->weak = true;
    if (!has_errors(j))
        j->out = OUT_CONTINUE;
    return 0;
}

/* The ticket again (its state may have changed while the hash was made), then the change. */
static int set_tx(struct storage_tx *tx, void *arg)
{
    struct pw_job *j = arg;
    int r = judge(tx, j);
    if (r < 0 || j->out != OUT_FORM)
        return r;
    r = recovery_set_password(tx, &j->l, j->hash, j->version, masd_now());
    if (r == -EALREADY) { /* another use of the session won the race */
        status(j, 410, "consumed");
        return r;
    }
    if (r < 0)
        return r;
    status(j, 200, "done");
    return 0;
}

/* POST action=resend: another e-mail for the ticket's session (MAS: resend_recovery_email). */
static int resend_tx(struct storage_tx *tx, void *arg)
{
    struct pw_job *j = arg;
    j->rate_limited = false;
    int r = judge(tx, j);
    if (r < 0)
        return r;
    if (j->out == OUT_STATUS && (j->browser.state == BROWSER_ACTIVE || j->state != RECOVERY_TICKET_EXPIRED))
        return 0; /* signed in, unknown, used or locked: that page */
    int64_t now = masd_now();
    if ((r = recovery_rate_limit(tx, &j->client, j->l.session.email, now, &j->retry_ms)) <= 0) {
        j->rate_limited = r == 0;
        status(j, 429, "expired");
        return r;
    }
    r = storage_recovery_session_resend(tx, j->l.session.id, now);
    if (r == -EALREADY) {
        status(j, 410, "consumed");
        return 0;
    }
    if (r < 0)
        return r;
    snprintf(j->location, sizeof(j->location), "%s/recover/progress/%s", human.root, j->l.session.id);
    j->out = OUT_REDIRECT;
    return 0;
}

static void check_work(void *arg)
{
    struct pw_job *j = arg;
    if (storage_tx(human.st, j->resend ? STORAGE_TX_WRITE : STORAGE_TX_READ, j->resend ? resend_tx : check_tx,
                   j) < 0) {
        log_error("recovery: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    }
}

static void hash_work(void *arg)
{
    struct pw_job *j = arg;
    if (password_hash(&human.cfg->passwords, j->password, j->password_len, &j->hash, &j->version) < 0 ||
        strlen(j->hash) > STORAGE_PASSWORD_MAX) {
        log_error("recovery: cannot hash the password");
        j->out = OUT_INTERNAL;
    }
}

static void set_work(void *arg)
{
    struct pw_job *j = arg;
    int r = storage_tx(human.st, STORAGE_TX_DURABLE, set_tx, j);
    if (r < 0 && j->out == OUT_STATUS) /* rolled back on purpose: the page says why */
        return;
    if (r < 0) {
        log_error("recovery: %s", storage_last_error());
        j->out = OUT_INTERNAL;
        return;
    }
    if (j->out == OUT_STATUS && strcmp(j->kind, "done") == 0)
        log_info("recovery: user %s set a new password with a recovery ticket; their sessions ended",
                 j->l.user.id);
}

static void render_form(struct masd_request *r, struct pw_job *j, int code)
{
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_object_set_new(p.data, "recovery",
                        json_pack("{s:s, s:s}", "username", j->l.user.username, "email", j->l.email.email));
    json_object_set_new(p.data, "form",
                        json_pack("{s:{s:b, s:b, s:b, s:b}}", "errors", "password_required",
                                  j->password_required, "password_confirm_required", j->confirm_required,
                                  "password_mismatch", j->mismatch, "password_weak", j->weak));
    page_send(r, code, "recovery_password.html", &p);
}

typedef enum masd_defer_status (*defer_fn)(struct masd_request *, void (*)(void *),
                                           void (*)(struct masd_request *, void *), void *);

/* Each thread's part is done: the next one, or the answer. */
static void answer(struct masd_request *r, void *arg)
{
    struct pw_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    static void (*const stages[])(void *) = {hash_work, set_work};
    static const defer_fn defers[] = {masd_defer_cpu, masd_defer};
    if (j->out == OUT_CONTINUE && j->stage < 2) {
        int k = j->stage++;
        if (defers[k](r, stages[k], answer, j) == MASD_DEFER_QUEUED)
            return;
        job_free(j);
        page_error(r, 503, "busy", NULL);
        return;
    }
    browser_write_cookie(r, &j->browser);
    switch (j->out) {
    case OUT_FORM:
        render_form(r, j, j->post ? 400 : 200);
        break;
    case OUT_STATUS:
        if (j->rate_limited)
            page_retry_after(r, j->retry_ms);
        recovery_status_page(r, j->status, j->rate_limited ? "expired_rate_limited" : j->kind);
        break;
    case OUT_REDIRECT:
        page_redirect(r, j->location);
        break;
    default:
        page_error(r, 500, "internal", "the new password could not be stored");
        break;
    }
    job_free(j);
}

/* A form field into a fixed buffer: "" when absent; false when given twice or too long. */
static bool field(masd_str form, const char *name, char *out, size_t size)
{
    char *v = NULL;
    int rc = form_get(form, name, &v);
    bool ok = rc >= 0 && (!v || strlen(v) < size);
    snprintf(out, size, "%s", ok && v ? v : "");
    if (v)
        OPENSSL_cleanse(v, strlen(v));
    free(v);
    return ok;
}

void human_recovery_password(struct masd_request *r)
{
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (!recovery_enabled()) {
        recovery_status_page(r, 403, "disabled");
        return;
    }
    if (post && !csrf_check(r))
        return;
    struct pw_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->post = post;
    j->client = r->client;
    browser_read_cookie(r, &j->browser);
    /* anything but one ticket of the right length is no ticket: the lookup says "not found" */
    char ticket[STORAGE_RECOVERY_TICKET_LEN + 2];
    if (field(r->query, "ticket", ticket, sizeof(ticket)) && strlen(ticket) == STORAGE_RECOVERY_TICKET_LEN)
        memcpy(j->ticket, ticket, sizeof(j->ticket));
    OPENSSL_cleanse(ticket, sizeof(ticket));
    if (post) {
        char act[16] = "", confirm[1024] = "";
        bool ok = field(r->body, "action", act, sizeof(act)) &&
                  field(r->body, "password_confirm", confirm, sizeof(confirm)) &&
                  form_get(r->body, "password", &j->password) >= 0;
        if (!ok || (j->password && strlen(j->password) >= sizeof(confirm)) ||
            (act[0] && strcmp(act, "resend") != 0 && strcmp(act, "set") != 0)) {
            OPENSSL_cleanse(confirm, sizeof(confirm));
            job_free(j);
            page_error(r, 400, "bad_request",
                       "a field was given twice, is too long, or the action is unknown");
            return;
        }
        j->resend = strcmp(act, "resend") == 0;
        if (!j->password)
            j->password = strdup("");
        j->password_len = j->password ? strlen(j->password) : 0;
        j->password_required = !j->password_len;
        j->confirm_required = !confirm[0];
        j->mismatch = j->password_len && confirm[0] && strcmp(j->password, confirm) != 0;
        OPENSSL_cleanse(confirm, sizeof(confirm));
        if (!j->password) {
            job_free(j);
            page_error(r, 500, "internal", "out of memory");
            return;
        }
    }
    if (masd_defer(r, check_work, answer, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}
