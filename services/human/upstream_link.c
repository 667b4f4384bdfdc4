/* GET and POST /upstream/link/{link_id} (MAS: crates/handlers/src/upstream_oauth2/link.rs;
 * docs/upstream-oauth.md "The link page"): where the callback sends the browser once the
 * provider said who the person is. What follows is upstream_link_decide.h's:
 *
 *   signed in as the link's user        the session is authenticated again; on to the action
 *   signed in as someone else           the mismatch page (sign out, then come back here)
 *   signed in, the link has no user     the suggestion to link it (POST action=link)
 *   not signed in, the link has a user  a new browser session for that user; on to the action
 *   neither                             a new account from the claims: the registration page
 *                                       (POST action=register), or none with skip_confirmation;
 *                                       or, for a forced name someone holds, on_conflict
 *
 * The browser must hold the upstream-oauth2-sessions cookie's entry for the link (the flow was
 * started in this browser), the authorization session must be completed for this link, not
 * consumed, and younger than STORAGE_UPSTREAM_SESSION_TTL_MS (MAS only lets the cookie entry age).
 * A sign-in consumes the authorization session in the transaction that creates the browser
 * session and its authentication record (which names the authorization session: back-channel
 * logout finds sessions through it). A registration is a user_registrations row naming the
 * authorization session; /register/steps/{id}/finish (register.c) makes the account, links it,
 * consumes the session and provisions the user on the homeserver before the first device.
 *
 * Work runs on the worker pool (the database, the policy), the outbound pool (whether the
 * homeserver would take the name) and the worker pool again (the registration row). */
#include "claims_template.h"
#include "clock.h"
#include "form.h"
#include "homeserver.h"
#include "human.h"
#include "log.h"
#include "policy.h"
#include "storage_upstream.h"
#include "upstream_link_decide.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum link_out {
    OUT_REGISTER_FORM, /* the registration page */
    OUT_SUGGEST,       /* the page offering to link */
    OUT_MISMATCH,      /* the page naming the link's user */
    OUT_SIGNED_IN,     /* session cookie (new or renewed), cookie entry gone, 303 to the action */
    OUT_REGISTERED,    /* registration cookie, cookie entry gone, 303 to finish */
    OUT_INTERSTITIAL,  /* the link's user is locked or deactivated */
    OUT_ERROR,         /* status, kind, detail */
    OUT_ASK_HOMESERVER,
    OUT_INTERNAL,
};

struct link_job {
    bool post;
    char link_id[STORAGE_ID_SIZE], session_id[STORAGE_ID_SIZE];
    struct action action;
    struct upstream_cookie cookie; /* upstream-oauth2-sessions */
    struct browser browser;
    char ip[MASD_ADDR_STRLEN], user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    /* the POST */
    char form_action[16], username[STORAGE_USERNAME_MAX + 1];
    bool import_email, import_display_name, accept_terms;
    /* what the transaction found */
    enum link_route route;
    struct storage_upstream_link link;
    const struct config_upstream_provider *provider;
    char provider_name[512];
    struct storage_user other; /* the link's user (mismatch, login) or the existing one (conflict) */
    char *display_name, *email;
    char localpart[STORAGE_USERNAME_MAX + 1];
    bool localpart_fixed, display_name_fixed, email_fixed;
    struct localpart_facts lp;
    enum localpart_outcome lpo;
    bool policy_clean;
    json_t *errors, *form_errors;
    /* the outcome */
    enum link_out out;
    int status;
    const char *kind;
    char detail[512];
    char new_session_id[STORAGE_ID_SIZE], registration_id[STORAGE_ID_SIZE];
};

static void job_free(struct link_job *j)
{
    free(j->display_name);
    free(j->email);
    json_decref(j->errors);
    json_decref(j->form_errors);
    free(j);
}

static void fail(struct link_job *j, int status, const char *kind, const char *detail)
{
    j->out = OUT_ERROR, j->status = status, j->kind = kind;
    snprintf(j->detail, sizeof(j->detail), "%s", detail ? detail : "");
}

static void field_error(struct link_job *j, const char *flag)
{
    json_object_set_new(j->errors, flag, json_true());
}

static void provider_label(struct link_job *j)
{
    const struct config_upstream_provider *p = j->provider;
    const char *s = p->human_name;
    if (!s && p->issuer) {
        s = strstr(p->issuer, "://");
        s = s ? s + 3 : p->issuer;
    }
    snprintf(j->provider_name, sizeof(j->provider_name), "%s", s ? s : p->id);
}

/* ---- signing in ---------------------------------------------------------------------------- */

/* The session (a new one for user_id when session_id is NULL) authenticated through the
 * authorization session, which it consumes. */
static int sign_in(struct storage_tx *tx, struct link_job *j, const char *user_id, const char *session_id)
{
    int64_t now = masd_now();
    char auth_id[STORAGE_ID_SIZE];
    struct storage_browser_session s;
    int r = 0;
    if (!session_id) {
        if ((r = storage_browser_session_create(tx, user_id, j->user_agent[0] ? j->user_agent : NULL, now,
                                                &s)) < 0)
            return r;
        session_id = s.id;
    }
    r = storage_upstream_session_consume(tx, j->session_id, session_id, now);
    if (r == -EALREADY) {
        fail(j, 400, "upstream_used", NULL);
        return r; /* rolled back */
    }
    if (r >= 0)
        r = storage_browser_session_authenticate_upstream(tx, session_id, j->session_id, now, auth_id);
    if (r < 0)
        return r;
    snprintf(j->new_session_id, sizeof(j->new_session_id), "%s", session_id);
    j->out = OUT_SIGNED_IN;
    return 0;
}

/* The link's (or the existing) user, unless locked or deactivated: then the interstitial. */
static int sign_in_user(struct storage_tx *tx, struct link_job *j)
{
    if (j->other.locked_at || j->other.deactivated_at) {
        j->out = OUT_INTERSTITIAL;
        return 0;
    }
    return sign_in(tx, j, j->other.id, NULL);
}

/* ---- the claims ---------------------------------------------------------------------------- */

static json_t *parse_or_null(const char *s)
{
    return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

/* Renders display name, e-mail and localpart into the job. 1 when an error page was chosen. */
static int render_claims(struct link_job *j, const struct storage_upstream_session *us)
{
    json_t *id_claims = parse_or_null(us->id_token_claims), *userinfo = parse_or_null(us->userinfo);
    json_t *extra = parse_or_null(us->extra_callback_parameters);
    json_t *vars = claims_template_context(json_is_object(id_claims) ? id_claims : NULL,
                                           json_is_object(userinfo) ? userinfo : NULL,
                                           json_is_object(extra) ? extra : NULL);
    json_decref(id_claims);
    json_decref(userinfo);
    json_decref(extra);
    if (!vars)
        return -ENOMEM;
    const typeof(j->provider->claims) *c = &j->provider->claims;
    char err[256], *lp = NULL;
    /* a GET offers every suggestion; a POST imports those left checked */
    bool dn_ok = !j->post || j->import_display_name, em_ok = !j->post || j->import_email;
    int r = upstream_import_render(&c->displayname, vars, dn_ok, &j->display_name, err, sizeof(err));
    const char *what = "displayname";
    if (r == 0)
        r = upstream_import_render(&c->email, vars, em_ok, &j->email, err, sizeof(err)), what = "email";
    if (r == 0 && (!j->post || upstream_import_fixed(c->localpart.action)))
        r = upstream_import_render(&c->localpart, vars, true, &lp, err, sizeof(err)), what = "localpart";
    json_decref(vars);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        char detail[400];
        snprintf(detail, sizeof(detail), "claims_imports.%s: %s", what, err);
        fail(j, 400, "upstream_claim_required", detail);
        free(lp);
        return 1;
    }
    j->display_name_fixed = upstream_import_fixed(c->displayname.action) && j->display_name;
    j->email_fixed = upstream_import_fixed(c->email.action) && j->email;
    j->lp.action = c->localpart.action;
    j->lp.on_conflict = c->localpart_on_conflict;
    j->lp.homeserver = -1;
    if (lp) {
        if (upstream_localpart_normalise(lp, j->localpart, sizeof(j->localpart)) == 0) {
            j->lp.have_value = true;
        } else if (c->localpart.action == CLAIMS_REQUIRE) {
            char detail[400];
            snprintf(detail, sizeof(detail),
                     "claims_imports.localpart: \"%.200s\" is not a Matrix localpart (a-z, 0-9, . _ = - / +)",
                     lp);
            fail(j, 400, "upstream_claim_required", detail);
            free(lp);
            return 1;
        }
        free(lp);
    }
    j->localpart_fixed = upstream_import_fixed(c->localpart.action) && j->lp.have_value;
    /* the typed name, unless the claims fixed one (a forced template that gave nothing leaves
     * the field to the person, as on the GET) */
    if (j->post && !j->localpart_fixed) {
        snprintf(j->localpart, sizeof(j->localpart), "%s", j->username);
        j->lp.have_value = j->username[0] != '\0';
    }
    return 0;
}

/* The policy over the registration: username violations tell on the name; the rest is kept
 * for the form (and keeps skip_confirmation from skipping). */
static int judge(struct link_job *j, bool *username_denied)
{
    struct policy_register_input in = {
        .method = POLICY_REGISTRATION_UPSTREAM_OAUTH,
        .username = j->localpart,
        .email = j->email,
        .requester = {.ip = j->ip[0] ? j->ip : NULL, .user_agent = j->user_agent[0] ? j->user_agent : NULL},
    };
    struct policy_result res = {0};
    if (policy_register(human.policy, &in, &res) < 0)
        return -ENOMEM;
    *username_denied = false;
    j->policy_clean = res.n == 0;
    for (size_t i = 0; i < res.n; i++) {
        const struct policy_violation *v = &res.violations[i];
        if (v->field && strcmp(v->field, "username") == 0) {
            *username_denied = true;
            json_t *list = json_object_get(j->errors, "username_policy");
            if (!list)
                json_object_set_new(j->errors, "username_policy", list = json_array());
            json_array_append_new(list, json_string(v->msg));
        } else {
            json_t *list = json_object_get(j->form_errors, "policy");
            if (!list)
                json_object_set_new(j->form_errors, "policy", list = json_array());
            json_array_append_new(list, json_string(v->msg));
        }
    }
    policy_result_clear(&res);
    return 0;
}

/* ---- the register route -------------------------------------------------------------------- */

static const char *conflict_detail(struct link_job *j, enum localpart_outcome o)
{
    static char buf[400];
    if (o == LP_FAIL_SET)
        snprintf(buf, sizeof(buf),
                 "the provider gave \"%s\" as the username; that account has a link to this "
                 "provider already",
                 j->localpart);
    else
        snprintf(buf, sizeof(buf), "the provider gave \"%s\" as the username, which an account holds",
                 j->localpart);
    return buf;
}

/* GET (and a POST's checks) on the register route, up to what the homeserver must answer. */
static int register_route(struct storage_tx *tx, struct link_job *j,
                          const struct storage_upstream_session *us)
{
    int r = render_claims(j, us);
    if (r != 0)
        return r < 0 ? r : 0;
    if (j->lp.have_value) {
        struct storage_user u;
        r = storage_user_find(tx, j->localpart, &u);
        if (r < 0 && r != -ENOENT && r != -EINVAL)
            return r;
        j->lp.exists = r == 0;
        j->lp.exists_exact = r == 0 && strcmp(u.username, j->localpart) == 0;
        if (r == 0) {
            j->other = u;
            if ((r = storage_upstream_link_count_for_user(tx, j->link.provider_id, u.id,
                                                          &j->lp.existing_links)) < 0)
                return r;
        }
    }
    bool denied = false;
    if (j->lp.have_value && !j->lp.exists && (r = judge(j, &denied)) < 0)
        return r;
    j->lp.policy_denied = denied;
    if (j->post) {
        /* the form's own checks; the homeserver next when the name is still standing */
        if (!j->localpart[0])
            field_error(j, "username_required");
        else if (j->lp.exists)
            field_error(j, "username_exists");
        if (human.cfg->branding.tos_uri && !j->accept_terms)
            field_error(j, "accept_terms_required");
        j->out = json_object_size(j->errors) || json_object_size(j->form_errors) ? OUT_REGISTER_FORM
                                                                                 : OUT_ASK_HOMESERVER;
        return 0;
    }
    j->lpo = upstream_localpart_decide(&j->lp);
    switch (j->lpo) {
    case LP_FAIL_EXISTS:
    case LP_FAIL_SET:
        fail(j, 409, "upstream_user_exists", conflict_detail(j, j->lpo));
        return 0;
    case LP_FAIL_POLICY:
        fail(j, 403, "upstream_username_denied", NULL);
        return 0;
    case LP_REPLACE_EXISTING:
    case LP_LINK_EXISTING:
        if (j->other.locked_at || j->other.deactivated_at) {
            j->out = OUT_INTERSTITIAL; /* nothing is linked: MAS rolls back too */
            return 0;
        }
        if (j->lpo == LP_REPLACE_EXISTING) {
            int64_t removed = 0;
            if ((r = storage_upstream_link_remove_for_user(tx, j->link.provider_id, j->other.id, masd_now(),
                                                           &removed)) < 0)
                return r;
            if (removed)
                log_warn("upstream link %s: replaced %lld link(s) of user %s to provider %s", j->link.id,
                         (long long)removed, j->other.id, j->link.provider_id);
        }
        log_info("upstream link %s: the forced localpart \"%s\" is user %s's: linked (on_conflict %s)",
                 j->link.id, j->localpart, j->other.id, config_claims_conflict_name(j->lp.on_conflict));
        if ((r = storage_upstream_link_associate(tx, j->link.id, j->other.id)) < 0)
            return r;
        return sign_in_user(tx, j);
    case LP_NONE:
        if (j->lp.have_value && !upstream_import_fixed(j->lp.action))
            j->localpart[0] = '\0'; /* a suggestion that does not stand is not offered */
        j->lp.have_value = j->localpart[0] != '\0';
        j->localpart_fixed = false;
        j->out = OUT_REGISTER_FORM;
        return 0;
    default:
        j->out = OUT_ASK_HOMESERVER;
        return 0;
    }
}

/* After the homeserver answered, on the loop: what a GET shows or does next. */
static void after_homeserver(struct link_job *j)
{
    if (j->post) {
        if (j->lp.homeserver == 0)
            field_error(j, "username_exists");
        j->out =
            json_object_size(j->errors) ? OUT_REGISTER_FORM : OUT_REGISTERED; /* OUT_REGISTERED: create */
        return;
    }
    j->lpo = upstream_localpart_decide(&j->lp);
    if (j->lpo == LP_FAIL_UNAVAILABLE) {
        fail(j, 409, "upstream_username_unavailable", NULL);
        return;
    }
    if (j->lpo == LP_NONE) {
        j->localpart[0] = '\0';
        j->lp.have_value = false;
        j->localpart_fixed = false;
    }
    bool terms = human.cfg->branding.tos_uri != NULL;
    j->out = upstream_skip_confirmation(j->provider->claims.skip_confirmation, j->lpo, j->policy_clean, terms)
                 ? OUT_REGISTERED
                 : OUT_REGISTER_FORM;
}

/* ---- the transactions ---------------------------------------------------------------------- */

/* The link, the authorization session and the browser: what every request checks first. */
static int load(struct storage_tx *tx, struct link_job *j, struct storage_upstream_session *us)
{
    int r = storage_upstream_link_get(tx, j->link_id, &j->link);
    if (r == -ENOENT || r == -EINVAL) {
        fail(j, 404, "upstream_link_not_found", NULL);
        return 1;
    }
    if (r < 0)
        return r;
    r = storage_upstream_session_get(tx, j->session_id, us);
    if (r == -ENOENT || r == -EINVAL || (r == 0 && strcmp(us->link_id, j->link.id) != 0)) {
        fail(j, 404, "upstream_session_not_found", NULL);
        return 1;
    }
    if (r < 0)
        return r;
    if (us->consumed_at) {
        fail(j, 400, "upstream_used", NULL);
        return 1;
    }
    if (masd_now() - us->created_at >= STORAGE_UPSTREAM_SESSION_TTL_MS) {
        fail(j, 410, "upstream_expired", NULL);
        return 1;
    }
    if (!(j->provider =
              config_upstream_provider(human.cfg, j->link.provider_id, strlen(j->link.provider_id))) ||
        !j->provider->enabled) {
        fail(j, 404, "upstream_not_found", NULL);
        return 1;
    }
    provider_label(j);
    if ((r = browser_load(tx, &j->browser)) < 0)
        return r;
    const char *me = j->browser.state == BROWSER_ACTIVE ? j->browser.user.id : NULL;
    j->route = upstream_link_route(me, j->link.user_id);
    return 0;
}

static int main_tx(struct storage_tx *tx, void *arg)
{
    struct link_job *j = arg;
    struct storage_upstream_session us = {0};
    int r = load(tx, j, &us);
    if (r != 0) {
        storage_upstream_session_clear(&us); /* read before a refusal */
        return r < 0 ? r : 0;
    }
    if (j->post && !upstream_link_form_allowed(j->route, j->form_action)) {
        fail(j, 400, "bad_request", "this form's action does not apply to this sign-in any more");
        r = 0;
        goto out;
    }
    switch (j->route) {
    case LINK_RENEW:
        r = sign_in(tx, j, NULL, j->browser.session.id);
        break;
    case LINK_MISMATCH:
    case LINK_LOGIN:
        r = storage_user_get(tx, j->link.user_id, &j->other);
        if (r == 0 && j->route == LINK_MISMATCH)
            j->out = OUT_MISMATCH;
        else if (r == 0)
            r = sign_in_user(tx, j);
        break;
    case LINK_SUGGEST:
        if (!j->post) {
            j->out = OUT_SUGGEST;
            break;
        }
        r = storage_upstream_link_associate(tx, j->link.id, j->browser.user.id);
        if (r == -EALREADY) {
            fail(j, 409, "upstream_link_taken", NULL);
            break;
        }
        if (r == 0)
            r = sign_in(tx, j, NULL, j->browser.session.id);
        break;
    case LINK_REGISTER:
        r = register_route(tx, j, &us);
        break;
    }
out:
    storage_upstream_session_clear(&us);
    return r < 0 ? r : 0;
}

/* The registration row, its e-mail (completed: the provider vouched for it) and display name. */
static int create_tx(struct storage_tx *tx, void *arg)
{
    struct link_job *j = arg;
    struct storage_upstream_session us = {0};
    int r = load(tx, j, &us);
    storage_upstream_session_clear(&us);
    if (r != 0)
        return r < 0 ? r : 0;
    if (j->route != LINK_REGISTER) {
        fail(j, 400, "bad_request", "this sign-in was completed meanwhile");
        return 0;
    }
    struct storage_registration reg = {0};
    int64_t now = masd_now();
    snprintf(reg.username, sizeof(reg.username), "%s", j->localpart);
    snprintf(reg.ip_address, sizeof(reg.ip_address), "%s", j->ip);
    snprintf(reg.user_agent, sizeof(reg.user_agent), "%s", j->user_agent);
    action_query(&j->action, reg.post_auth_action, sizeof(reg.post_auth_action));
    if (human.cfg->branding.tos_uri && j->accept_terms)
        snprintf(reg.terms_url, sizeof(reg.terms_url), "%s", human.cfg->branding.tos_uri);
    if ((r = storage_registration_create(tx, &reg, now, &reg)) < 0)
        return r;
    if (j->email) {
        char auth_id[STORAGE_ID_SIZE];
        if ((r = storage_email_authentication_create_completed(tx, j->email, now, auth_id)) < 0 ||
            (r = storage_registration_set_email_authentication(tx, reg.id, auth_id)) < 0)
            return r;
    }
    if (j->display_name && (r = storage_registration_set_display_name(tx, reg.id, j->display_name)) < 0)
        return r;
    if ((r = storage_registration_set_upstream_session(tx, reg.id, j->session_id)) < 0)
        return r;
    memcpy(j->registration_id, reg.id, sizeof(j->registration_id));
    return 0;
}

/* ---- the threads --------------------------------------------------------------------------- */

static void link_answer(struct masd_request *r, void *arg);

static void main_work(void *arg)
{
    struct link_job *j = arg;
    j->out = OUT_INTERNAL;
    int r = storage_tx(human.st, STORAGE_TX_WRITE, main_tx, j);
    if (r < 0 && j->out != OUT_ERROR) {
        log_error("upstream link: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    } else if (r >= 0 && j->out == OUT_INTERNAL) {
        log_error("upstream link %s: no outcome", j->link_id);
    }
}

static void homeserver_work(void *arg)
{
    struct link_job *j = arg;
    struct homeserver_result res = {0};
    int r = homeserver_is_localpart_available(human.hs, j->localpart, &res);
    if (r < 0) {
        log_error("upstream link: the homeserver cannot say whether '%s' is free: %s", j->localpart,
                  res.message);
        fail(j, 503, "homeserver", NULL);
        return;
    }
    j->lp.homeserver = r;
    after_homeserver(j);
}

static void create_work(void *arg)
{
    struct link_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_WRITE, create_tx, j) < 0) {
        if (j->out == OUT_ERROR)
            return;
        log_error("upstream link: %s", storage_last_error());
        j->out = OUT_INTERNAL;
        return;
    }
    if (j->out == OUT_REGISTERED && !j->registration_id[0])
        j->out = OUT_INTERNAL;
}

/* ---- rendering ----------------------------------------------------------------------------- */

static json_t *base_data(struct masd_request *r, struct link_job *j)
{
    json_t *d = page_data();
    const char *csrf = csrf_issue(r);
    if (!d || !csrf) {
        json_decref(d);
        return NULL;
    }
    json_object_set_new(d, "csrf", json_string(csrf));
    json_object_set_new(d, "provider",
                        json_pack("{s:s, s:s?}", "id", j->provider->id, "name", j->provider_name));
    json_object_set_new(d, "link",
                        json_pack("{s:s, s:s?}", "id", j->link.id, "account_name",
                                  j->link.human_account_name[0] ? j->link.human_account_name : NULL));
    return d;
}

static void render(struct masd_request *r, struct link_job *j, int status)
{
    struct page p = {.data = base_data(r, j)};
    if (!p.data) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    const char *template;
    if (j->out == OUT_SUGGEST || j->out == OUT_MISMATCH) {
        template = j->out == OUT_SUGGEST ? "upstream_suggest.html" : "upstream_mismatch.html";
        json_object_set_new(p.data, "user", human_user_card(&j->browser.user));
        if (j->out == OUT_MISMATCH)
            json_object_set_new(p.data, "owner", browser_current(&j->other));
    } else {
        template = "upstream_register.html";
        json_t *form = json_pack(
            "{s:s, s:b, s:s?, s:b, s:b, s:s?, s:b, s:b, s:b, s:O, s:O}", "username", j->localpart,
            "username_fixed", j->localpart_fixed, "display_name", j->display_name, "display_name_fixed",
            j->display_name_fixed, "import_display_name", !j->post || j->import_display_name, "email",
            j->email, "email_fixed", j->email_fixed, "import_email", !j->post || j->import_email,
            "accept_terms", j->accept_terms, "errors", j->errors, "error", j->form_errors);
        json_object_set_new(p.data, "form", form);
        char q[1024] = "", url[1200];
        struct action back = {.kind = ACTION_LINK_UPSTREAM};
        memcpy(back.id, j->link.id, sizeof(back.id));
        action_query(&back, q, sizeof(q));
        snprintf(url, sizeof(url), "%s/login?%s", human.root, q);
        json_object_set_new(p.data, "login_url", json_string(url));
    }
    page_send(r, status, template, &p);
}

/* The cookie without the link's entry: the authorization session is used. */
static void consume_cookie_entry(struct masd_request *r, struct link_job *j)
{
    upstream_cookie_remove_link(&j->cookie, j->link_id);
    upstream_cookie_prune(&j->cookie, masd_now());
    char *json = j->cookie.n ? upstream_cookie_render(&j->cookie) : NULL;
    if (json)
        human_set_cookie(r, UPSTREAM_COOKIE_NAME, json, false);
    else
        human_clear_cookie(r, UPSTREAM_COOKIE_NAME);
    free(json);
}

static void link_answer(struct masd_request *r, void *arg)
{
    struct link_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    enum masd_defer_status st = MASD_DEFER_QUEUED;
    if (j->out == OUT_ASK_HOMESERVER) {
        j->out = OUT_INTERNAL;
        if ((st = masd_defer_outbound(r, homeserver_work, link_answer, j)) != MASD_DEFER_FULL)
            return;
    } else if (j->out == OUT_REGISTERED && !j->registration_id[0]) {
        if ((st = masd_defer(r, create_work, link_answer, j)) != MASD_DEFER_FULL)
            return;
    }
    if (st == MASD_DEFER_FULL)
        fail(j, 503, "busy", NULL);
    char to[1200];
    switch (j->out) {
    case OUT_SIGNED_IN:
        consume_cookie_entry(r, j);
        browser_set_session(r, j->new_session_id);
        if (action_target(&j->action, human.root, "/", to, sizeof(to)) < 0)
            snprintf(to, sizeof(to), "%s/", human.root);
        page_redirect(r, to);
        break;
    case OUT_REGISTERED:
        consume_cookie_entry(r, j);
        register_cookie_add(r, j->registration_id);
        snprintf(to, sizeof(to), "%s/register/steps/%s/finish", human.root, j->registration_id);
        browser_write_cookie(r, &j->browser);
        page_redirect(r, to);
        break;
    case OUT_INTERSTITIAL: {
        struct browser b = {.state = j->other.locked_at ? BROWSER_LOCKED : BROWSER_DEACTIVATED,
                            .user = j->other};
        browser_interstitial(r, &b, &j->action);
        break;
    }
    case OUT_REGISTER_FORM:
    case OUT_SUGGEST:
    case OUT_MISMATCH:
        browser_write_cookie(r, &j->browser);
        render(r, j, !j->post ? 200 : json_object_get(j->errors, "username_exists") ? 409 : 400);
        break;
    case OUT_ERROR:
        page_error(r, j->status, j->kind, j->detail[0] ? j->detail : NULL);
        break;
    default:
        page_error(r, 500, "internal", "the sign-in could not be completed");
        break;
    }
    job_free(j);
}

/* ---- the handler --------------------------------------------------------------------------- */

static bool read_form(struct masd_request *r, struct link_job *j)
{
    char email[8] = "", dn[8] = "", terms[8] = "";
    if (!human_form_field(r->body, "action", j->form_action, sizeof(j->form_action)) ||
        !human_form_field(r->body, "username", j->username, sizeof(j->username)) ||
        !human_form_field(r->body, "import_email", email, sizeof(email)) ||
        !human_form_field(r->body, "import_display_name", dn, sizeof(dn)) ||
        !human_form_field(r->body, "accept_terms", terms, sizeof(terms)))
        return false;
    masd_str t = masd_str_trim(masd_str_from(j->username));
    memmove(j->username, t.ptr, t.len);
    j->username[t.len] = '\0';
    /* MAS: a checkbox is on when present */
    j->import_email = email[0] != '\0';
    j->import_display_name = dn[0] != '\0';
    j->accept_terms = terms[0] != '\0';
    return true;
}

void human_upstream_link(struct masd_request *r)
{
    static const char prefix[] = "/upstream/link/";
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    masd_str id = {r->path.ptr + strlen(prefix), r->path.len - strlen(prefix)};
    if (id.len != STORAGE_ID_SIZE - 1 || memchr(id.ptr, '/', id.len)) {
        page_error(r, 404, "upstream_link_not_found", NULL);
        return;
    }
    if (post && !csrf_check(r))
        return;
    struct link_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->errors = json_object()) || !(j->form_errors = json_object())) {
        if (j)
            job_free(j);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->post = post;
    memcpy(j->link_id, id.ptr, id.len);
    if (post && !read_form(r, j)) {
        job_free(j);
        page_error(r, 400, "bad_request", "a field was given twice or is too long");
        return;
    }
    /* the flow must have been started in this browser (MAS: "Missing session cookie") */
    char *plain = NULL;
    size_t len = 0;
    const struct upstream_cookie_entry *e = NULL;
    if (human_open_cookie(r, UPSTREAM_COOKIE_NAME, &plain, &len) == 0 &&
        upstream_cookie_parse(plain, len, &j->cookie) == 0)
        e = upstream_cookie_find_link(&j->cookie, j->link_id);
    free(plain);
    if (!e) {
        job_free(j);
        page_error(r, 400, "upstream_no_session", NULL);
        return;
    }
    memcpy(j->session_id, e->session, sizeof(j->session_id));
    j->action = e->action;
    human_client_ip(r, j->ip, sizeof(j->ip));
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));
    browser_read_cookie(r, &j->browser);
    if (masd_defer(r, main_work, link_answer, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}
