/* GET and POST /login, POST /logout (MAS: crates/handlers/src/views/login.rs, logout.rs).
 *
 * The login form posts back to its own URL, so the post-auth action (action.h) stays in the
 * query. A password login follows common/login/password_login.h, the rules the compat login
 * follows too: per-IP limit before the lookup, the same cost and answer for an unknown account
 * as for a wrong password, the account's lock or deactivation told only after a right password.
 * Its three steps run on the worker pool, the password-hashing thread and the worker pool
 * again; the last one creates the browser session and its authentication record in the same
 * transaction as the password's re-hash. Then the session cookie, and 303 to the action. */
#include "callback.h"
#include "clock.h"
#include "form.h"
#include "human.h"
#include "log.h"
#include "password_login.h"
#include "upstream_buttons.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum login_step { STEP_SHOW, STEP_ACTIVE, STEP_INTERSTITIAL, STEP_SIGNED_IN, STEP_FAILED, STEP_INTERNAL };

struct login_job {
    bool post;
    struct action action;
    char query[1024]; /* the action and login_hint again, for the form's own URL */
    char login_hint[STORAGE_SHORT_TEXT_MAX + 1];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    char username[PASSWORD_LOGIN_NAME_MAX + 1]; /* as typed, for the form again */
    bool username_missing, password_missing;
    struct browser browser;
    json_t *client; /* the client the login continues to, when the action is a grant */
    struct password_login pl;
    struct storage_browser_session session; /* created */
    struct storage_upstream_button_list providers;
    enum login_step step;
};

static void job_free(struct login_job *j)
{
    json_decref(j->client);
    password_login_clear(&j->pl);
    storage_upstream_button_list_clear(&j->providers);
    free(j);
}

/* The client of the grant the login continues, for the page's "Continue to …". */
static int load_context(struct storage_tx *tx, struct login_job *j)
{
    if (j->action.kind != ACTION_CONTINUE_AUTHORIZATION_GRANT)
        return 0;
    struct storage_authorization_grant g;
    struct storage_oauth_client c = {0};
    int r = storage_authorization_grant_get(tx, j->action.id, &g);
    if (r == -ENOENT || r == -EINVAL) {
        j->action = (struct action){.kind = ACTION_NONE}; /* MAS: a missing grant is no action */
        return 0;
    }
    if (r < 0 || (r = storage_oauth_client_get(tx, g.client_id, &c)) < 0)
        return r == -ENOENT ? 0 : r;
    json_t *meta = json_loads(c.metadata ? c.metadata : "{}", 0, NULL);
    const char *name = json_string_value(json_object_get(meta, "client_name"));
    const char *logo = json_string_value(json_object_get(meta, "logo_uri"));
    j->client = json_pack("{s:s, s:s?}", "name", name && *name ? name : c.id, "logo_uri", logo);
    json_decref(meta);
    storage_oauth_client_clear(&c);
    return 0;
}

/* ---- rendering ----------------------------------------------------------------------------- */

/* The username to show in the form: what was typed before, else the login_hint when it names
 * one of our users ("mxid:@alice:example.com" → "alice") or, when e-mail login is allowed, an
 * e-mail address (MAS: views/login.rs). */
static const char *prefill(const struct login_job *j, char *buf, size_t size)
{
    if (j->username[0])
        return j->username;
    const char *h = j->login_hint;
    if (strncmp(h, "mxid:", 5) == 0) {
        const char *colon = strchr(h + 5, ':');
        if (h[5] == '@' && colon && strcmp(colon + 1, human.cfg->matrix.homeserver) == 0 && colon > h + 6) {
            snprintf(buf, size, "%.*s", (int)(colon - h - 6), h + 6);
            return buf;
        }
        return "";
    }
    if (human.cfg->login_with_email_allowed && strchr(h, '@'))
        return h;
    return "";
}

static void render_form(struct masd_request *r, struct login_job *j, int status, const char *form_error)
{
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    char buf[STORAGE_USERNAME_MAX + 1];
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_t *errors = json_object(), *form = json_object();
    if (j->username_missing)
        json_object_set_new(errors, "username_required", json_true());
    if (j->password_missing)
        json_object_set_new(errors, "password_required", json_true());
    json_object_set_new(form, "username", json_string(prefill(j, buf, sizeof(buf))));
    json_object_set_new(form, "errors", errors);
    if (form_error)
        json_object_set_new(form, "error", json_pack("{s:b}", form_error, 1));
    json_object_set_new(p.data, "form", form);
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_object_set_new(p.data, "password_login", json_boolean(human.cfg->passwords.enabled));
    json_object_set_new(p.data, "providers", upstream_buttons_json(&j->providers, &j->action));
    /* "Create account" leads to the password form or the providers (MAS: not while linking an
     * upstream account to an existing one) */
    bool can_register = human.cfg->password_registration_enabled && human.cfg->passwords.enabled;
    json_object_set_new(
        p.data, "registration",
        json_boolean((can_register || j->providers.n) && j->action.kind != ACTION_LINK_UPSTREAM));
    json_object_set_new(p.data, "login_with_email", json_boolean(human.cfg->login_with_email_allowed));
    /* MAS: "Forgot password?" while account recovery is on (recover.c) */
    json_object_set_new(p.data, "recovery",
                        json_boolean(human.cfg->passwords.enabled && human.cfg->password_recovery_enabled));
    char q[1024] = "", url[1200];
    action_query(&j->action, q, sizeof(q));
    snprintf(url, sizeof(url), "%s/register%s%s", human.root, q[0] ? "?" : "", q);
    json_object_set_new(p.data, "register_url", json_string(url));
    if (j->client)
        json_object_set(p.data, "client", j->client);
    page_send(r, status, "login.html", &p);
}

static void redirect_to_action(struct masd_request *r, const struct action *a, const char *fallback)
{
    char to[1024];
    if (action_target(a, human.root, fallback, to, sizeof(to)) < 0)
        snprintf(to, sizeof(to), "%s%s", human.root, fallback);
    page_redirect(r, to);
}

/* ---- the steps ----------------------------------------------------------------------------- */

static void login_answer(struct masd_request *r, void *arg);

/* GET, and the first step of a POST: the browser's session; a POST then prechecks. */
static int first_tx(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    int r = browser_load(tx, &j->browser);
    if (r < 0)
        return r;
    if (j->browser.state == BROWSER_ACTIVE) {
        j->step = STEP_ACTIVE;
        return 0;
    }
    if (j->browser.state == BROWSER_FINISHED || j->browser.state == BROWSER_LOCKED ||
        j->browser.state == BROWSER_DEACTIVATED) {
        /* MAS: the fallback shows the interstitial on GET; a POST signs in afresh */
        if (!j->post) {
            j->step = STEP_INTERSTITIAL;
            return 0;
        }
    }
    if ((r = load_context(tx, j)) < 0 || (r = upstream_buttons_load(tx, &j->providers)) < 0)
        return r;
    j->step = STEP_SHOW;
    if (j->post && !j->username_missing && !j->password_missing)
        return password_login_precheck(tx, &j->pl);
    return 0;
}

static void first_work(void *arg)
{
    struct login_job *j = arg;
    if (storage_tx(human.st, j->post ? STORAGE_TX_WRITE : STORAGE_TX_READ, first_tx, j) < 0) {
        log_error("login: %s", storage_last_error());
        j->step = STEP_INTERNAL;
    }
}

static void verify_work(void *arg)
{
    struct login_job *j = arg;
    password_login_verify(&j->pl, human.cfg);
}

static int signin_tx(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    char auth_id[STORAGE_ID_SIZE];
    int64_t now = masd_now();
    int r = password_login_record(tx, &j->pl, now);
    if (r >= 0)
        r = storage_browser_session_create(tx, j->pl.user.id, j->user_agent[0] ? j->user_agent : NULL, now,
                                           &j->session);
    if (r >= 0)
        r = storage_browser_session_authenticate(tx, j->session.id, password_login_password_id(&j->pl), now,
                                                 auth_id);
    return r;
}

static void signin_work(void *arg)
{
    struct login_job *j = arg;
    j->step = STEP_SIGNED_IN;
    if (storage_tx(human.st, STORAGE_TX_WRITE | (j->pl.upgrade ? STORAGE_TX_DURABLE : 0), signin_tx, j) < 0) {
        log_error("login: %s", storage_last_error());
        j->step = STEP_INTERNAL;
    }
}

static void verified(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    if (j->pl.outcome == PASSWORD_LOGIN_OK) {
        if (masd_defer(r, signin_work, login_answer, j) == MASD_DEFER_FULL) {
            j->pl.outcome = PASSWORD_LOGIN_BUSY, j->pl.retry_after_ms = 1000;
            login_answer(r, j);
        }
        return;
    }
    j->step = STEP_FAILED;
    login_answer(r, j);
}

static void login_answer(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    if (j->post && j->step == STEP_SHOW && !j->username_missing && !j->password_missing &&
        j->pl.outcome == PASSWORD_LOGIN_OK) {
        /* the precheck passed: the password on the hashing thread */
        if (masd_defer_cpu(r, verify_work, verified, j) != MASD_DEFER_FULL)
            return;
        j->pl.outcome = PASSWORD_LOGIN_BUSY, j->pl.retry_after_ms = MASD_CPU_RETRY_AFTER_MS;
        j->step = STEP_FAILED;
    }
    if (j->post && j->step == STEP_SHOW && !j->username_missing && !j->password_missing)
        j->step = STEP_FAILED; /* the precheck's own outcome: limited or internal */
    switch (j->step) {
    case STEP_INTERNAL:
        page_error(r, 500, "internal", "the database did not answer");
        break;
    case STEP_ACTIVE:
        browser_write_cookie(r, &j->browser);
        redirect_to_action(r, &j->action, "/");
        break;
    case STEP_INTERSTITIAL:
        browser_write_cookie(r, &j->browser);
        browser_interstitial(r, &j->browser, &j->action);
        break;
    case STEP_SIGNED_IN:
        /* a new session under a new ID: nothing of a session planted before survives */
        browser_set_session(r, j->session.id);
        redirect_to_action(r, &j->action, "/");
        break;
    case STEP_SHOW: {
        char to[1400];
        browser_write_cookie(r, &j->browser);
        /* MAS: no password login and one provider: straight to it, unless the browser just
         * signed out (the provider would sign it straight back in) */
        if (!j->post && !human.cfg->passwords.enabled &&
            upstream_buttons_single(&j->providers, &j->action, to, sizeof(to)) &&
            !upstream_recently_logged_out(&j->browser, masd_now())) {
            page_redirect(r, to);
            break;
        }
        render_form(r, j, j->post ? 400 : 200, NULL);
        break;
    }
    case STEP_FAILED:
        browser_write_cookie(r, &j->browser);
        switch (j->pl.outcome) {
        case PASSWORD_LOGIN_LOCKED:
        case PASSWORD_LOGIN_DEACTIVATED: {
            struct browser b = {.state = j->pl.outcome == PASSWORD_LOGIN_LOCKED ? BROWSER_LOCKED
                                                                                : BROWSER_DEACTIVATED,
                                .user = j->pl.user};
            browser_interstitial(r, &b, &j->action);
            break;
        }
        case PASSWORD_LOGIN_LIMITED:
            page_retry_after(r, j->pl.retry_after_ms);
            render_form(r, j, 429, "rate_limited");
            break;
        case PASSWORD_LOGIN_BUSY:
            page_retry_after(r, j->pl.retry_after_ms);
            render_form(r, j, 503, "busy");
            break;
        case PASSWORD_LOGIN_INTERNAL:
            page_error(r, 500, "internal", "the login could not be checked");
            break;
        default:
            render_form(r, j, 403, "invalid_credentials");
            break;
        }
        break;
    }
    job_free(j);
}

/* The form's fields: absent or empty is "required"; a field twice is refused as a whole. */
static int read_fields(struct masd_request *r, struct login_job *j, char **username, char **password)
{
    int a = form_get(r->body, "username", username), b = form_get(r->body, "password", password);
    if (a < 0 || b < 0)
        return a == -ENOMEM || b == -ENOMEM ? -ENOMEM : -EINVAL;
    j->username_missing = a == 0 || !**username;
    j->password_missing = b == 0 || !**password;
    if (*username)
        snprintf(j->username, sizeof(j->username), "%s", *username);
    return 0;
}

void human_login(struct masd_request *r)
{
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (post && !human.cfg->passwords.enabled) {
        page_error(r, 405, "method_not_allowed", NULL); /* the form says why */
        return;
    }
    if (post && !csrf_check(r))
        return;
    struct login_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->post = post;
    action_parse(r->query, &j->action);
    char *hint = NULL;
    if (form_get(r->query, "login_hint", &hint) == 1)
        snprintf(j->login_hint, sizeof(j->login_hint), "%s", hint);
    free(hint);
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));
    browser_read_cookie(r, &j->browser);
    if (post) {
        char *username = NULL, *password = NULL;
        int rc = read_fields(r, j, &username, &password);
        if (rc == 0 && !j->username_missing && !j->password_missing)
            rc = password_login_init(&j->pl, human.cfg, username, password, strlen(password), &r->client,
                                     PASSWORD_LOGIN_EMAIL);
        free(username);
        if (password)
            OPENSSL_cleanse(password, strlen(password));
        free(password);
        if (rc < 0) {
            job_free(j);
            if (rc == -ENOMEM)
                page_error(r, 500, "internal", "out of memory");
            else
                page_error(r, 400, "bad_request", NULL);
            return;
        }
    }
    /* A browser with no session asking for the bare form needs nothing from the database. */
    if (!post && !j->browser.cookie.current[0] && j->action.kind == ACTION_NONE &&
        !human.cfg->n_upstream_providers) {
        j->step = STEP_SHOW;
        login_answer(r, j);
        return;
    }
    if (masd_defer(r, first_work, login_answer, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}

/* ---- POST /logout ------------------------------------------------------------------------- */

struct logout_job {
    struct browser browser;
    struct action action;
    bool failed;
};

static int logout_tx(struct storage_tx *tx, void *arg)
{
    struct logout_job *j = arg;
    int r = browser_load(tx, &j->browser);
    if (r >= 0 && j->browser.cookie.current[0] && j->browser.state != BROWSER_GONE)
        r = storage_browser_session_finish(tx, j->browser.session.id, masd_now());
    return r < 0 ? r : 0;
}

static void logout_work(void *arg)
{
    struct logout_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_WRITE, logout_tx, j) < 0) {
        log_error("logout: %s", storage_last_error());
        j->failed = true;
    }
}

static void logout_done(struct masd_request *r, void *arg)
{
    struct logout_job *j = arg;
    if (r) {
        if (j->failed) {
            page_error(r, 500, "internal", "the database did not answer");
        } else {
            browser_set_session(r, NULL);
            redirect_to_action(r, &j->action, "/login");
        }
    }
    free(j);
}

void human_logout(struct masd_request *r)
{
    if (!csrf_check(r))
        return;
    struct logout_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    action_parse(r->body, &j->action);
    browser_read_cookie(r, &j->browser);
    if (masd_defer(r, logout_work, logout_done, j) == MASD_DEFER_FULL) {
        free(j);
        page_error(r, 503, "busy", NULL);
    }
}
