/* Asking for a recovery link (MAS: crates/handlers/src/views/recovery/start.rs, progress.rs):
 *
 *   GET  /recover                 the form: an e-mail address
 *   POST /recover                 checks, the limits, then a recovery session and its job in one
 *                                 transaction, and 303 to its progress page
 *   GET  /recover/progress/{id}   "if an account has this address, a link is on its way", with a
 *                                 "Resend" form and a link to try another address
 *   POST /recover/progress/{id}   the job again, under the same limits (429 with a banner)
 *
 * All of it only while account recovery is on (passwords.enabled and
 * account.password_recovery_enabled; otherwise the "not available" page), and only for a browser
 * that is not signed in (303 to the index, as MAS). MAS requires a User-Agent on the POST (400
 * without one). The answer to a well-formed address is the same whether or not an account has
 * it, and so is the work done before the answer: the session and its job are made either way;
 * only masd-worker, later, finds out (recovery.h). */
#include "clock.h"
#include "form.h"
#include "human.h"
#include "log.h"
#include "mail_address.h"
#include "recovery.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rec_out {
    OUT_FORM,     /* the page (again, with its errors or banner) */
    OUT_REDIRECT, /* 303 to location */
    OUT_STATUS,   /* the status page: status, kind */
    OUT_INTERNAL, /* logged */
};

struct rec_job {
    bool post, progress; /* progress: /recover/progress/{id} */
    struct browser browser;
    struct masd_addr client;
    char ip[MASD_ADDR_STRLEN];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    char email[STORAGE_EMAIL_MAX + 1];
    char id[STORAGE_ID_SIZE];
    struct storage_recovery_session session;
    bool email_required, email_invalid, rate_limited, sent;
    int64_t retry_ms;
    enum rec_out out;
    int status;
    const char *kind;
    char location[512];
};

bool recovery_enabled(void)
{
    return human.cfg->passwords.enabled && human.cfg->password_recovery_enabled;
}

void recovery_status_page(struct masd_request *r, int status, const char *kind)
{
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_set_new(p.data, "state", json_pack("{s:b}", kind, true));
    json_object_set_new(p.data, "status", json_integer(status));
    json_object_set_new(p.data, "csrf", json_string(csrf));
    page_send(r, status, "recovery_status.html", &p);
}

static void render(struct masd_request *r, struct rec_job *j, int status)
{
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_t *form =
        json_pack("{s:s, s:{s:b, s:b}, s:{s:b, s:b}}", "email", j->progress ? j->session.email : j->email,
                  "errors", "email_required", j->email_required, "email_invalid", j->email_invalid, "error",
                  "rate_limited", j->rate_limited, "sent", j->sent);
    json_object_set_new(p.data, "form", form);
    if (j->progress)
        json_object_set_new(p.data, "session",
                            json_pack("{s:s, s:s}", "id", j->session.id, "email", j->session.email));
    if (j->rate_limited)
        page_retry_after(r, j->retry_ms);
    page_send(r, status, j->progress ? "recovery_progress.html" : "recovery_start.html", &p);
}

/* ---- the work, on the worker pool ----------------------------------------------------------- */

static void to_index(struct rec_job *j)
{
    snprintf(j->location, sizeof(j->location), "%s/", human.root);
    j->out = OUT_REDIRECT;
}

static int start_tx(struct storage_tx *tx, void *arg)
{
    struct rec_job *j = arg;
    j->out = OUT_FORM;
    j->rate_limited = false;
    int r = browser_load(tx, &j->browser);
    if (r < 0)
        return r;
    if (j->browser.state == BROWSER_ACTIVE) {
        to_index(j);
        return 0;
    }
    if (!j->post || j->email_required || j->email_invalid)
        return 0;
    int64_t now = masd_now();
    if ((r = recovery_rate_limit(tx, &j->client, j->email, now, &j->retry_ms)) <= 0) {
        j->rate_limited = r == 0;
        return r;
    }
    /* the same for every address: whether an account has it is masd-worker's to find out */
    if ((r = storage_recovery_session_start(tx, j->email, j->user_agent, j->ip, "en", now, &j->session)) < 0)
        return r;
    snprintf(j->location, sizeof(j->location), "%s/recover/progress/%s", human.root, j->session.id);
    j->out = OUT_REDIRECT;
    return 0;
}

static int progress_tx(struct storage_tx *tx, void *arg)
{
    struct rec_job *j = arg;
    j->out = OUT_FORM;
    j->rate_limited = j->sent = false;
    int r = browser_load(tx, &j->browser);
    if (r < 0)
        return r;
    if (j->browser.state == BROWSER_ACTIVE) {
        to_index(j);
        return 0;
    }
    r = storage_recovery_session_get(tx, j->id, &j->session);
    if (r == -ENOENT || r == -EINVAL) { /* MAS: back to the start */
        snprintf(j->location, sizeof(j->location), "%s/recover", human.root);
        j->out = OUT_REDIRECT;
        return 0;
    }
    if (r < 0)
        return r;
    if (j->session.consumed_at) {
        j->out = OUT_STATUS, j->status = 410, j->kind = "consumed";
        return 0;
    }
    if (!j->post)
        return 0;
    int64_t now = masd_now();
    if ((r = recovery_rate_limit(tx, &j->client, j->session.email, now, &j->retry_ms)) <= 0) {
        j->rate_limited = r == 0;
        return r;
    }
    if ((r = storage_recovery_session_resend(tx, j->id, now)) < 0)
        return r;
    j->sent = true;
    return 0;
}

static void work(void *arg)
{
    struct rec_job *j = arg;
    if (storage_tx(human.st, j->post ? STORAGE_TX_WRITE : STORAGE_TX_READ,
                   j->progress ? progress_tx : start_tx, j) < 0) {
        log_error("recover: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    }
}

static void answer(struct masd_request *r, void *arg)
{
    struct rec_job *j = arg;
    if (!r) {
        free(j);
        return;
    }
    browser_write_cookie(r, &j->browser);
    switch (j->out) {
    case OUT_FORM:
        render(r, j, j->rate_limited ? 429 : j->post && (j->email_required || j->email_invalid) ? 400 : 200);
        break;
    case OUT_REDIRECT:
        page_redirect(r, j->location);
        break;
    case OUT_STATUS:
        recovery_status_page(r, j->status, j->kind);
        break;
    default:
        page_error(r, 500, "internal", "the recovery could not be stored");
        break;
    }
    free(j);
}

/* ---- the handlers --------------------------------------------------------------------------- */

/* What both pages check on the loop. NULL when the request is answered already. */
static struct rec_job *begin(struct masd_request *r, bool progress)
{
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (!recovery_enabled()) {
        recovery_status_page(r, 403, "disabled");
        return NULL;
    }
    struct rec_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    j->post = post;
    j->progress = progress;
    j->client = r->client;
    human_client_ip(r, j->ip, sizeof(j->ip));
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));
    if (post && !progress && !j->user_agent[0]) { /* MAS: a required header of the start */
        free(j);
        page_error(r, 400, "bad_request", "a User-Agent header is required");
        return NULL;
    }
    if (post && !csrf_check(r)) {
        free(j);
        return NULL;
    }
    browser_read_cookie(r, &j->browser);
    return j;
}

static void defer(struct masd_request *r, struct rec_job *j)
{
    if (masd_defer(r, work, answer, j) == MASD_DEFER_FULL) {
        free(j);
        page_error(r, 503, "busy", NULL);
    }
}

void human_recover(struct masd_request *r)
{
    struct rec_job *j = begin(r, false);
    if (!j)
        return;
    if (j->post) {
        char *v = NULL;
        int rc = form_get(r->body, "email", &v);
        if (rc < 0 || (v && strlen(v) > STORAGE_EMAIL_MAX)) {
            free(v);
            free(j);
            page_error(r, 400, "bad_request", "the e-mail address was given twice or is too long");
            return;
        }
        masd_str t = masd_str_trim(masd_str_from(v ? v : ""));
        snprintf(j->email, sizeof(j->email), "%.*s", (int)t.len, t.ptr);
        free(v);
        struct mail_address a;
        const char *why;
        j->email_required = !j->email[0];
        j->email_invalid = !j->email_required && mail_address_parse(masd_str_from(j->email), &a, &why) < 0;
    }
    defer(r, j);
}

void human_recover_progress(struct masd_request *r)
{
    static const char prefix[] = "/recover/progress/";
    /* The form's checks first (a POST without its CSRF token is a 400 whatever the ID), then the
     * ID: a malformed one is no session either (MAS: back to the start). */
    struct rec_job *j = begin(r, true);
    if (!j)
        return;
    size_t n = r->path.len - (sizeof(prefix) - 1);
    if (n != STORAGE_ID_SIZE - 1) {
        free(j);
        char to[512];
        snprintf(to, sizeof(to), "%s/recover", human.root);
        page_redirect(r, to);
        return;
    }
    memcpy(j->id, r->path.ptr + sizeof(prefix) - 1, n);
    defer(r, j);
}
