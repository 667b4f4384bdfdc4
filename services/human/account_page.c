/* The account pages (MAS serves these from its React frontend, frontend/src/routes/; masd renders
 * them on the server, with forms, docs/architecture.md §8):
 *
 *   GET, POST /account/                     profile: the display name (live from the homeserver)
 *                                           to change or clear; the e-mail addresses, to add
 *                                           (→ the code) or remove; links to the password, the
 *                                           sessions and deactivation
 *   GET, POST /account/emails/{id}/verify   the six-digit code of an address being added, or
 *                                           another one; only for the browser that started it
 *   GET, POST /account/password/change      current password, new one twice; then the offer to
 *                                           end every other session (OWASP ASVS V3.3.3)
 *   GET, POST /account/deactivate           password, erase or not, confirmation; then signed out
 *   GET, POST /account/reset-cross-signing  what resetting the identity costs; then the homeserver
 *                                           lets the apps replace the cross-signing keys for a
 *                                           while (MSC4191 org.matrix.cross_signing_reset)
 *   GET /.well-known/change-password        303 to the password page (W3C change-password URL)
 *
 * Each change is an account_op (account.h), the same the GraphQL mutations run. A page loads the
 * browser's session and what it shows on the worker pool, asks the homeserver for the display
 * name on the outbound pool, and hands a POST's op to the pools its stages name. Signed out, a
 * page goes through the login and back (post-auth action manage_account, or change_password). */
#include "account.h"
#include "form.h"
#include "homeserver.h"
#include "human.h"
#include "log.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum acct_page { PAGE_PROFILE, PAGE_VERIFY, PAGE_PASSWORD, PAGE_DEACTIVATE, PAGE_RESET_CROSS_SIGNING };

struct acct_job {
    enum acct_page page;
    bool post;
    struct browser browser;
    struct masd_addr client;
    char id[STORAGE_ID_SIZE]; /* the verify page's authentication */
    char done[32];            /* ?done=… after a change (PRG): the notice to show */
    /* what the page shows */
    struct storage_email *emails;
    size_t n_emails;
    struct storage_email_authentication auth;
    bool has_password;
    bool hs_loaded;
    struct homeserver_user hs_user;
    bool hs_failed;
    /* a POST */
    bool has_op;
    struct account_op op;
    json_t *errors; /* field errors: {"code_invalid": true, …} */
    char form_email[STORAGE_EMAIL_MAX + 1];
    char form_display_name[4 * 256 + 1];
    bool erase;
    int form_pending; /* the form again with this status, once the homeserver answered */
    /* outcome of the load */
    bool failed;
    int load_status; /* 0, or an error page's status with load_kind */
    const char *load_kind;
};

static void job_free(struct acct_job *j)
{
    account_op_clear(&j->op);
    free(j->emails);
    json_decref(j->errors);
    free(j);
}

static void field_error(struct acct_job *j, const char *flag)
{
    json_object_set_new(j->errors, flag, json_true());
}

static const char *const templates[] = {
    [PAGE_PROFILE] = "account.html",
    [PAGE_VERIFY] = "account_verify_email.html",
    [PAGE_PASSWORD] = "account_password.html",
    [PAGE_DEACTIVATE] = "account_deactivate.html",
    [PAGE_RESET_CROSS_SIGNING] = "account_reset_cross_signing.html",
};

static bool password_change_on(void)
{
    return human.cfg->passwords.enabled && human.cfg->password_change_allowed;
}

/* ---- rendering ----------------------------------------------------------------------------- */

static void render(struct masd_request *r, struct acct_job *j, int status)
{
    const struct config *cfg = human.cfg;
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_t *d = p.data;
    json_object_set_new(d, "csrf", json_string(csrf));
    json_object_set_new(d, "current", browser_current(&j->browser.user));
    json_object_set_new(d, "errors", json_incref(j->errors));
    json_object_set_new(d, "allowed",
                        json_pack("{s:b, s:b, s:b, s:b}", "email", cfg->email_change_allowed, "display_name",
                                  cfg->displayname_change_allowed, "password", password_change_on(),
                                  "deactivation", cfg->account_deactivation_allowed));
    /* the re-check rule: a password field where the password is asked for */
    json_object_set_new(d, "ask_password", json_boolean(cfg->passwords.enabled && j->has_password));
    json_object_set_new(d, "has_password", json_boolean(j->has_password));
    if (j->done[0]) {
        json_t *done = json_object();
        json_object_set_new(done, j->done, json_true());
        json_object_set_new(d, "done", done);
    }
    if (j->page == PAGE_PROFILE) {
        json_t *list = json_array();
        for (size_t i = 0; i < j->n_emails; i++)
            json_array_append_new(
                list, json_pack("{s:s, s:s}", "id", j->emails[i].id, "email", j->emails[i].email));
        json_object_set_new(d, "emails", list);
        if (j->hs_user.has_displayname)
            json_object_set_new(d, "display_name", json_string(j->hs_user.displayname));
        json_object_set_new(d, "homeserver_failed", json_boolean(j->hs_failed));
        json_object_set_new(
            d, "form", json_pack("{s:s, s:s}", "email", j->form_email, "display_name", j->form_display_name));
        if (j->has_op && j->op.violations)
            json_object_set_new(d, "violations", json_incref(j->op.violations));
    } else if (j->page == PAGE_VERIFY) {
        json_object_set_new(d, "authentication",
                            json_pack("{s:s, s:s}", "id", j->auth.id, "email", j->auth.email));
    } else if (j->page == PAGE_DEACTIVATE) {
        json_object_set_new(d, "form", json_pack("{s:b}", "erase", j->erase));
    }
    page_send(r, status, templates[j->page], &p);
}

/* 303 to a page below the root, with a notice for it. */
static void redirect_done(struct masd_request *r, const char *path, const char *done)
{
    char to[512];
    snprintf(to, sizeof(to), "%s%s%s%s", human.root, path, done ? "?done=" : "", done ? done : "");
    page_redirect(r, to);
}

/* ---- the load ------------------------------------------------------------------------------ */

static int load_tx(struct storage_tx *tx, void *arg)
{
    struct acct_job *j = arg;
    free(j->emails);
    j->emails = NULL, j->n_emails = 0, j->load_status = 0, j->has_password = false;
    int r = browser_load(tx, &j->browser);
    if (r < 0 || j->browser.state != BROWSER_ACTIVE)
        return r < 0 ? r : 0;
    const char *user_id = j->browser.user.id;
    struct storage_password pw;
    if ((r = storage_password_get_active(tx, user_id, &pw)) < 0 && r != -ENOENT)
        return r;
    j->has_password = r == 0;
    if (j->page == PAGE_PROFILE)
        return storage_email_list(tx, user_id, &j->emails, &j->n_emails);
    if (j->page == PAGE_VERIFY) {
        r = storage_email_authentication_get(tx, j->id, &j->auth);
        /* another browser session's authentication is as unknown as a made-up one */
        if (r == -ENOENT || r == -EINVAL ||
            (r == 0 && strcmp(j->auth.browser_session_id, j->browser.session.id) != 0)) {
            j->load_status = 404, j->load_kind = "email_authentication_not_found";
            return 0;
        }
        return r < 0 ? r : 0;
    }
    return 0;
}

static void load_work(void *arg)
{
    struct acct_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_READ, load_tx, j) < 0) {
        log_error("account: %s", storage_last_error());
        j->failed = true;
    }
}

/* The profile's display name, live from the homeserver (MAS: User.matrix, query_user). */
static void homeserver_work(void *arg)
{
    struct acct_job *j = arg;
    struct homeserver_result res = {0};
    j->hs_loaded = true;
    if (homeserver_query_user(human.hs, j->browser.user.username, &j->hs_user, &res) < 0) {
        log_warn("account: user %s: the homeserver did not say its display name: %s", j->browser.user.id,
                 res.message);
        j->hs_failed = true;
    }
}

/* ---- the answer ---------------------------------------------------------------------------- */

static void answer(struct masd_request *r, void *arg);

static void op_work(void *arg)
{
    account_op_step(&((struct acct_job *)arg)->op);
}

/* Hands the next stage of the op to its pool: true when queued. */
static bool drive(struct masd_request *r, struct acct_job *j)
{
    enum account_pool pool;
    if (!account_op_next(&j->op, &pool))
        return false;
    enum masd_defer_status st = pool == ACCOUNT_POOL_CPU        ? masd_defer_cpu(r, op_work, answer, j)
                                : pool == ACCOUNT_POOL_OUTBOUND ? masd_defer_outbound(r, op_work, answer, j)
                                                                : masd_defer(r, op_work, answer, j);
    if (st == MASD_DEFER_QUEUED)
        return true;
    j->op.status = ACCOUNT_BUSY;
    return false;
}

/* The status of a form shown again after an op. */
static int form_status(enum account_status s)
{
    switch (s) {
    case ACCOUNT_RATE_LIMITED:
        return 429;
    case ACCOUNT_IN_USE:
        return 409;
    case ACCOUNT_BUSY:
    case ACCOUNT_HOMESERVER:
        return 503;
    default:
        return 400;
    }
}

/* The form again with its errors: the profile first asks the homeserver for the display name
 * (true: answered later, by answer()). */
static bool show_form(struct masd_request *r, struct acct_job *j, int status)
{
    if (j->page == PAGE_PROFILE && !j->hs_loaded) {
        j->form_pending = status;
        if (masd_defer_outbound(r, homeserver_work, answer, j) == MASD_DEFER_QUEUED)
            return true;
    }
    render(r, j, status);
    return false;
}

/* An op is done: the next page, or this one again with what went wrong. true: answered later. */
static bool op_done(struct masd_request *r, struct acct_job *j)
{
    struct account_op *op = &j->op;
    switch (op->status) {
    case ACCOUNT_SET:
        redirect_done(r, "/account/", op->unset ? "display_name_removed" : "display_name_set");
        return false;
    case ACCOUNT_STARTED: {
        char to[128];
        snprintf(to, sizeof(to), "/account/emails/%s/verify", op->authentication_id);
        redirect_done(r, to, NULL);
        return false;
    }
    case ACCOUNT_COMPLETED:
        redirect_done(r, "/account/", op->email_id[0] ? "email_added" : NULL);
        return false;
    case ACCOUNT_REMOVED:
        redirect_done(r, "/account/", "email_removed");
        return false;
    case ACCOUNT_ALLOWED:
        redirect_done(r, "/account/password/change", "password_changed");
        return false;
    case ACCOUNT_ENDED:
        redirect_done(r, "/account/password/change", "sessions_ended");
        return false;
    case ACCOUNT_DEACTIVATED: {
        /* every session ended with the account: this browser is signed out now */
        browser_set_session(r, NULL);
        struct page p = {.data = page_data()};
        page_send(r, 200, "account_deactivated.html", &p);
        return false;
    }
    case ACCOUNT_RESET_ALLOWED: /* no redirect: reloading asks again, which is harmless */
        snprintf(j->done, sizeof(j->done), "reset_allowed");
        render(r, j, 200);
        return false;
    case ACCOUNT_HOMESERVER:
        if (op->kind == ACCOUNT_ALLOW_CROSS_SIGNING_RESET) { /* no form field to point at */
            page_error(r, 502, "homeserver", NULL);
            return false;
        }
        break;
    case ACCOUNT_RESENT:
        snprintf(j->done, sizeof(j->done), "code_sent");
        render(r, j, 200);
        return false;
    case ACCOUNT_FORBIDDEN:
        page_error(r, 403, "account_change_disabled", NULL);
        return false;
    case ACCOUNT_NOT_YOURS:
    case ACCOUNT_NOT_FOUND:
        page_error(r, 404, "not_found", NULL);
        return false;
    case ACCOUNT_INTERNAL:
        page_error(r, 500, "internal", "the change could not be stored");
        return false;
    case ACCOUNT_READ_ONLY:
        page_error(r, 503, "homeserver_read_only", NULL);
        return false;
    default:
        break;
    }
    static const struct {
        enum account_status s;
        const char *flag;
    } flags[] = {
        {ACCOUNT_INVALID, "display_name_invalid"},
        {ACCOUNT_INVALID_EMAIL_ADDRESS, "email_invalid"},
        {ACCOUNT_DENIED, "email_denied"},
        {ACCOUNT_IN_USE, "email_in_use"},
        {ACCOUNT_INCORRECT_PASSWORD, "password_wrong"},
        {ACCOUNT_WRONG_PASSWORD, "password_wrong"},
        {ACCOUNT_PASSWORD_REQUIRED, "password_required"},
        {ACCOUNT_RATE_LIMITED, "rate_limited"},
        {ACCOUNT_INVALID_CODE, "code_invalid"},
        {ACCOUNT_CODE_EXPIRED, "code_expired"},
        {ACCOUNT_INVALID_NEW_PASSWORD, "new_password_weak"},
        {ACCOUNT_NO_CURRENT_PASSWORD, "no_current_password"},
        {ACCOUNT_PASSWORD_CHANGES_DISABLED, "password_changes_disabled"},
        {ACCOUNT_HOMESERVER, "homeserver"},
        {ACCOUNT_BUSY, "busy"},
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (flags[i].s == op->status)
            field_error(j, flags[i].flag);
    if (op->status == ACCOUNT_RATE_LIMITED)
        page_retry_after(r, op->retry_after_ms);
    return show_form(r, j, form_status(op->status));
}

enum start { START_GO, START_ANSWERED, START_LATER };
/* Builds the POST's op from the form: START_GO, or the form answered (now or later). */
static enum start start_op(struct masd_request *r, struct acct_job *j);

static void answer(struct masd_request *r, void *arg)
{
    struct acct_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    if (j->failed) {
        page_error(r, 500, "internal", "the database did not answer");
        job_free(j);
        return;
    }
    if (j->form_pending) { /* the form again, after the homeserver's answer */
        render(r, j, j->form_pending);
        job_free(j);
        return;
    }
    if (j->has_op) {
        if (drive(r, j) || op_done(r, j))
            return;
        job_free(j);
        return;
    }
    /* the load is done */
    browser_write_cookie(r, &j->browser);
    if (j->browser.state != BROWSER_ACTIVE && j->browser.state != BROWSER_ANONYMOUS &&
        j->browser.state != BROWSER_GONE) {
        struct action none = {0};
        browser_interstitial(r, &j->browser, &none);
        job_free(j);
        return;
    }
    if (j->browser.state != BROWSER_ACTIVE) {
        struct action a = {.kind = j->page == PAGE_PASSWORD ? ACTION_CHANGE_PASSWORD : ACTION_MANAGE_ACCOUNT};
        redirect_to_login(r, &a, NULL);
        job_free(j);
        return;
    }
    if (j->load_status) {
        page_error(r, j->load_status, j->load_kind, NULL);
        job_free(j);
        return;
    }
    if (j->page == PAGE_VERIFY && j->auth.completed_at && !j->post) {
        redirect_done(r, "/account/", NULL);
        job_free(j);
        return;
    }
    if (j->post) {
        enum start st = start_op(r, j);
        if (st == START_LATER)
            return;
        if (st == START_GO) {
            j->has_op = true;
            if (drive(r, j) || op_done(r, j))
                return;
        }
        job_free(j);
        return;
    }
    if (j->page == PAGE_PROFILE && !j->hs_loaded &&
        masd_defer_outbound(r, homeserver_work, answer, j) == MASD_DEFER_QUEUED)
        return;
    render(r, j, 200);
    job_free(j);
}

/* ---- the forms ----------------------------------------------------------------------------- */

/* A password field: NULL when absent or empty; false when given twice or too long. */
static bool password_field(masd_str form, const char *name, char **out)
{
    char buf[1024];
    bool ok = human_form_field(form, name, buf, sizeof(buf));
    *out = ok && buf[0] ? strdup(buf) : NULL;
    OPENSSL_cleanse(buf, sizeof(buf));
    return ok && (!buf[0] || *out);
}

static enum start start_op(struct masd_request *r, struct acct_job *j)
{
    masd_str body = r->body;
    char act[32] = "", *password = NULL, *new_password = NULL, confirm[1024] = "";
    bool ok =
        human_form_field(body, "action", act, sizeof(act)) && password_field(body, "password", &password);
    enum account_op_kind kind = ACCOUNT_SET_DISPLAY_NAME;
    struct account_op *op = &j->op;
    if (ok && j->page == PAGE_PROFILE) {
        if (strcmp(act, "set_display_name") == 0 || strcmp(act, "unset_display_name") == 0) {
            kind = ACCOUNT_SET_DISPLAY_NAME;
            ok = human_form_field(body, "display_name", j->form_display_name, sizeof(j->form_display_name));
        } else if (strcmp(act, "add_email") == 0) {
            kind = ACCOUNT_START_EMAIL;
            ok = human_form_field(body, "email", j->form_email, sizeof(j->form_email));
        } else if (strcmp(act, "remove_email") == 0) {
            kind = ACCOUNT_REMOVE_EMAIL;
        } else {
            ok = false;
        }
    } else if (ok && j->page == PAGE_VERIFY) {
        kind = strcmp(act, "resend") == 0 ? ACCOUNT_RESEND_EMAIL : ACCOUNT_COMPLETE_EMAIL;
        ok = strcmp(act, "resend") == 0 || strcmp(act, "verify") == 0;
    } else if (ok && j->page == PAGE_PASSWORD) {
        if (strcmp(act, "end_sessions") == 0) {
            kind = ACCOUNT_END_OTHER_SESSIONS;
        } else if (strcmp(act, "change") == 0) {
            kind = ACCOUNT_SET_PASSWORD;
            ok = password_field(body, "new_password", &new_password) &&
                 human_form_field(body, "new_password_confirm", confirm, sizeof(confirm));
        } else {
            ok = false;
        }
    } else if (ok && j->page == PAGE_DEACTIVATE) {
        kind = ACCOUNT_DEACTIVATE;
        char erase[8] = "", sure[8] = "";
        ok = human_form_field(body, "erase", erase, sizeof(erase)) &&
             human_form_field(body, "confirm", sure, sizeof(sure));
        j->erase = strcmp(erase, "on") == 0;
        if (ok && strcmp(sure, "on") != 0)
            field_error(j, "confirm_required");
    } else if (ok && j->page == PAGE_RESET_CROSS_SIGNING) {
        kind = ACCOUNT_ALLOW_CROSS_SIGNING_RESET; /* the button alone: no password (MAS asks none) */
    }
    if (!ok) {
        if (password)
            OPENSSL_cleanse(password, strlen(password));
        if (new_password)
            OPENSSL_cleanse(new_password, strlen(new_password));
        free(password);
        free(new_password);
        OPENSSL_cleanse(confirm, sizeof(confirm));
        page_error(r, 400, "bad_request", "a field was given twice, is too long, or the action is unknown");
        return START_ANSWERED;
    }
    account_op_init(op, kind, human.cfg, human.st, human.hs, human.policy, &j->browser.user,
                    j->browser.session.id, &j->client);
    op->password = password, op->new_password = new_password;
    op->erase = j->erase;
    if (kind == ACCOUNT_SET_PASSWORD) {
        if (!new_password)
            field_error(j, "new_password_required");
        else if (strcmp(new_password, confirm) != 0)
            field_error(j, "new_password_mismatch");
        if (!password)
            field_error(j, "password_required");
    }
    OPENSSL_cleanse(confirm, sizeof(confirm));
    if (kind == ACCOUNT_SET_DISPLAY_NAME) {
        op->unset = strcmp(act, "unset_display_name") == 0;
        masd_str t = masd_str_trim(masd_str_from(j->form_display_name));
        snprintf(op->display_name, sizeof(op->display_name), "%.*s", (int)t.len, t.ptr);
    } else if (kind == ACCOUNT_START_EMAIL) {
        masd_str t = masd_str_trim(masd_str_from(j->form_email));
        snprintf(op->email, sizeof(op->email), "%.*s", (int)t.len, t.ptr);
    } else if (kind == ACCOUNT_REMOVE_EMAIL) {
        ok = human_form_field(body, "id", op->id, sizeof(op->id));
    } else if (kind == ACCOUNT_COMPLETE_EMAIL || kind == ACCOUNT_RESEND_EMAIL) {
        memcpy(op->id, j->id, sizeof(op->id));
        ok = human_form_field(body, "code", op->code, sizeof(op->code));
        if (ok && kind == ACCOUNT_COMPLETE_EMAIL && !op->code[0])
            field_error(j, "code_required");
    }
    if (!ok) {
        page_error(r, 400, "bad_request", "a field was given twice or is too long");
        return START_ANSWERED;
    }
    if (json_object_size(j->errors)) /* the form alone says what is wrong */
        return show_form(r, j, 400) ? START_LATER : START_ANSWERED;
    return START_GO;
}

/* ---- the handlers -------------------------------------------------------------------------- */

static void start(struct masd_request *r, enum acct_page page, masd_str id)
{
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    const struct config *cfg = human.cfg;
    if ((page == PAGE_PASSWORD && !password_change_on()) ||
        (page == PAGE_DEACTIVATE && !cfg->account_deactivation_allowed) ||
        (page == PAGE_VERIFY && !cfg->email_change_allowed)) {
        page_error(r, 403, "account_change_disabled", NULL);
        return;
    }
    if (post && !csrf_check(r))
        return;
    struct acct_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->errors = json_object())) {
        free(j);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->page = page, j->post = post, j->client = r->client;
    if (id.len)
        memcpy(j->id, id.ptr, id.len);
    if (!post) {
        static const char *const notices[] = {"display_name_set", "display_name_removed", "email_added",
                                              "email_removed",    "password_changed",     "sessions_ended"};
        char done[32] = "";
        human_form_field(r->query, "done", done, sizeof(done));
        for (size_t i = 0; i < sizeof(notices) / sizeof(notices[0]); i++)
            if (strcmp(done, notices[i]) == 0)
                snprintf(j->done, sizeof(j->done), "%s", notices[i]);
    }
    browser_read_cookie(r, &j->browser);
    if (masd_defer(r, load_work, answer, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}

void human_account_profile(struct masd_request *r)
{
    start(r, PAGE_PROFILE, (masd_str){0});
}

/* /account/emails/{id}/verify */
void human_account_verify_email(struct masd_request *r)
{
    size_t prefix = strlen("/account/emails/"), suffix = strlen("/verify");
    size_t len = r->path.len > prefix + suffix ? r->path.len - prefix - suffix : 0;
    if (len != STORAGE_ID_SIZE - 1) {
        page_error(r, 404, "email_authentication_not_found", NULL);
        return;
    }
    start(r, PAGE_VERIFY, (masd_str){r->path.ptr + prefix, len});
}

void human_account_password(struct masd_request *r)
{
    start(r, PAGE_PASSWORD, (masd_str){0});
}

void human_account_deactivate(struct masd_request *r)
{
    start(r, PAGE_DEACTIVATE, (masd_str){0});
}

/* /account/reset-cross-signing (MAS: frontend/src/routes/reset-cross-signing.tsx) */
void human_account_reset_cross_signing(struct masd_request *r)
{
    start(r, PAGE_RESET_CROSS_SIGNING, (masd_str){0});
}

/* W3C "A Well-Known URL for Changing Passwords": 303 to the page that does it. */
void human_change_password_well_known(struct masd_request *r)
{
    redirect_done(r, "/account/password/change", NULL);
}
