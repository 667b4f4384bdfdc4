/* GET and POST /complete-compat-sso/{id}: the person confirms a legacy Matrix client's sign-in
 * (MAS: crates/handlers/src/compat/login_sso_complete.rs, templates/pages/sso.html).
 *
 * masd-oauth's GET /login/sso/redirect recorded the login with the client's redirectUrl
 * (compat/sso_redirect.c). Here, in one transaction: the login (unknown 404, used 409, older than
 * 30 min 410 — before any sign-in is asked for, and never MAS's 200), the browser's session (none:
 * the login page, which comes back here; ended, locked, deactivated: the interstitial), MAS's
 * compat_login policy as an interactive login (a violation is a 403 page). GET shows "Continue
 * to <host>?" with the account; POST (CSRF checked on the loop first) draws the 32-character
 * login token, fulfils the login with it by compare-and-set (only its hash is stored) and sends
 * the browser to the redirectUrl with loginToken added to its query (callback_url: its own query
 * and fragment kept). The client then has 30 s to exchange it (POST /login, m.login.token). */
#include "callback.h"
#include "clock.h"
#include "form.h"
#include "human.h"
#include "log.h"
#include "policy.h"
#include "random.h"
#include "ulid.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_TOKEN_LEN 32 /* MAS: 32 alphanumerics */
#define PREFIX          "/complete-compat-sso/"

enum outcome {
    S_PAGE,         /* GET: the confirmation page */
    S_DELIVER,      /* POST: fulfilled, the browser goes to the client with the token */
    S_LOGIN,        /* no session: the login, then back here */
    S_INTERSTITIAL, /* the session ended elsewhere, or its user is locked or deactivated */
    S_NOT_FOUND,
    S_USED,
    S_EXPIRED,
    S_POLICY,
    S_INTERNAL,
};

struct sso_job {
    bool post;
    bool register_wanted; /* ?action=register (MAS: the client asked for a new account) */
    char id[STORAGE_ID_SIZE];
    char ip[STORAGE_IP_SIZE];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    struct browser browser;
    struct storage_compat_sso_login login;
    json_t *denied; /* page_policy_denial(): the policy said no */
    char token[LOGIN_TOKEN_LEN + 1];
    enum outcome outcome;
};

static int run_policy(struct sso_job *j)
{
    struct policy_compat_login_input in = {
        .login = POLICY_COMPAT_LOGIN_SSO,
        .session_replaced = false, /* the device is not known before the client exchanges the token */
        .requester = {.ip = j->ip[0] ? j->ip : NULL, .user_agent = j->user_agent[0] ? j->user_agent : NULL},
        .session_total = -1, /* not counted yet, as for the authorization grant */
    };
    struct policy_result res = {0};
    int r = policy_compat_login(human.policy, &in, &res);
    if (r < 0)
        return r;
    if (res.n && !(j->denied = page_policy_denial(&res)))
        r = -ENOMEM;
    else if (res.n)
        j->outcome = S_POLICY;
    policy_result_clear(&res);
    return r;
}

static int sso_tx(struct storage_tx *tx, void *arg)
{
    struct sso_job *j = arg;
    int64_t now = masd_now();
    j->outcome = S_PAGE;
    json_decref(j->denied); /* the transaction may run again */
    j->denied = NULL;
    int r = storage_compat_sso_login_get(tx, j->id, &j->login);
    if (r == -ENOENT || r == -EINVAL) {
        j->outcome = S_NOT_FOUND;
        return 0;
    }
    if (r < 0)
        return r;
    if (j->login.fulfilled_at || j->login.exchanged_at) {
        j->outcome = S_USED;
        return 0;
    }
    if (now > j->login.created_at + STORAGE_COMPAT_SSO_LOGIN_TTL_MS) {
        j->outcome = S_EXPIRED;
        return 0;
    }
    if ((r = browser_load(tx, &j->browser)) < 0)
        return r;
    if (j->browser.state == BROWSER_ANONYMOUS || j->browser.state == BROWSER_GONE) {
        j->outcome = S_LOGIN;
        return 0;
    }
    if (j->browser.state != BROWSER_ACTIVE) {
        j->outcome = S_INTERSTITIAL;
        return 0;
    }
    if ((r = run_policy(j)) < 0 || j->outcome != S_PAGE || !j->post)
        return r;
    if ((r = random_alnum(j->token, LOGIN_TOKEN_LEN)) < 0)
        return r;
    r = storage_compat_sso_login_fulfill(tx, j->login.id, j->browser.session.id, j->token, now);
    if (r == -EALREADY) {
        j->outcome = S_USED; /* another tab, or a second click, was first */
        return 0;
    }
    if (r >= 0)
        j->outcome = S_DELIVER;
    return r;
}

static void sso_work(void *arg)
{
    struct sso_job *j = arg;
    if (storage_tx(human.st, j->post ? STORAGE_TX_WRITE : STORAGE_TX_READ, sso_tx, j) < 0) {
        log_error("compat SSO login %s: %s", j->id, storage_last_error());
        j->outcome = S_INTERNAL;
    }
}

static void job_free(struct sso_job *j)
{
    json_decref(j->denied);
    OPENSSL_cleanse(j->token, sizeof(j->token));
    free(j);
}

/* The confirmation page, or the policy's 403 page, with the forms' CSRF token. */
static void send_page(struct masd_request *r, struct sso_job *j)
{
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    char host[STORAGE_URI_MAX + 1], source[512];
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    callback_display_name(j->login.redirect_uri, host, sizeof(host));
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_object_set_new(p.data, "current", browser_current(&j->browser.user));
    json_object_set_new(p.data, "user", human_user_card(&j->browser.user));
    json_object_set_new(p.data, "sso", json_pack("{s:s, s:s}", "id", j->login.id, "host", host));
    json_object_set_new(p.data, "action",
                        json_pack("{s:s, s:s}", "kind", action_kind_name(ACTION_CONTINUE_COMPAT_SSO_LOGIN),
                                  "id", j->login.id));
    /* POST answers with a redirect to the client, which the form-action covers */
    if (callback_csp_source(j->login.redirect_uri, source, sizeof(source)))
        p.form_action = source;
    if (j->outcome == S_POLICY) {
        json_object_update(p.data, j->denied);
        page_send(r, 403, "policy_violation.html", &p);
    } else {
        page_send(r, 200, "sso.html", &p);
    }
}

static void sso_done(struct masd_request *r, void *arg)
{
    struct sso_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    struct action action = {.kind = ACTION_CONTINUE_COMPAT_SSO_LOGIN};
    memcpy(action.id, j->id, sizeof(action.id));
    switch (j->outcome) {
    case S_NOT_FOUND:
        page_error(r, 404, "sso_not_found", NULL);
        break;
    case S_USED:
        page_error(r, 409, "sso_used", NULL);
        break;
    case S_EXPIRED:
        page_error(r, 410, "sso_expired", NULL);
        break;
    case S_INTERNAL:
        page_error(r, 500, "internal", "the database did not answer");
        break;
    case S_LOGIN: {
        /* MAS: action=register goes to the registration, when there is one */
        char q[256], to[512];
        bool reg =
            j->register_wanted && human.cfg->password_registration_enabled && human.cfg->passwords.enabled;
        browser_write_cookie(r, &j->browser);
        action_query(&action, q, sizeof(q));
        snprintf(to, sizeof(to), "%s/%s?%s", human.root, reg ? "register" : "login", q);
        page_redirect(r, to);
        break;
    }
    case S_INTERSTITIAL:
        browser_write_cookie(r, &j->browser);
        browser_interstitial(r, &j->browser, &action);
        break;
    case S_DELIVER: {
        browser_write_cookie(r, &j->browser);
        struct callback_param p = {"loginToken", j->token};
        callback_deliver(r, j->login.redirect_uri, AUTHZ_MODE_QUERY, &p, 1);
        break;
    }
    case S_PAGE:
    case S_POLICY:
        browser_write_cookie(r, &j->browser);
        send_page(r, j);
        break;
    }
    job_free(j);
}

void human_compat_sso(struct masd_request *r)
{
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (post && !csrf_check(r))
        return;
    masd_str id = {r->path.ptr + strlen(PREFIX), r->path.len - strlen(PREFIX)};
    if (id.len != ULID_LEN) { /* no login is named by anything else */
        page_error(r, 404, "sso_not_found", NULL);
        return;
    }
    struct sso_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->post = post;
    memcpy(j->id, id.ptr, id.len);
    char *act = NULL;
    j->register_wanted = form_get(r->query, "action", &act) == 1 && strcmp(act, "register") == 0;
    free(act);
    human_client_ip(r, j->ip, sizeof(j->ip));
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));
    browser_read_cookie(r, &j->browser);
    if (masd_defer(r, sso_work, sso_done, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}
