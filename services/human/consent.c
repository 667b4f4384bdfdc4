/* The consent page (MAS: templates/pages/consent.html, device_consent.html), one page for both
 * kinds of grant a person approves in the browser: its client, MAS's default authorization policy
 * (policy.h) and what the page shows (consent_judge, consent_send; the device-code grant's page,
 * device.c, adds the device); and GET and POST /consent/{grant_id}, the authorization grant's
 * (MAS: crates/handlers/src/oauth2/authorization/consent.rs).
 *
 * /consent reads the browser's session, the grant and its client in one transaction. GET shows
 * the page; POST checks the CSRF token on the loop first, then fulfils the grant by
 * compare-and-set with a freshly drawn code (only its hash is stored) and delivers the code to
 * the client. Consent is asked on every authorization, as MAS does. A grant that is unknown is a
 * 404 page, one that was used already a 409. */
#include "callback.h"
#include "clock.h"
#include "human.h"
#include "log.h"
#include "policy.h"
#include "random.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_LEN 32 /* MAS: 32 alphanumerics */

/* ---- the consent page, for both kinds of grant ------------------------------------------------ */

/* The host of a client_uri, shown to the person ("app.example.com"); NULL when there is none. */
static json_t *uri_host(const char *uri)
{
    const char *p = uri ? strstr(uri, "://") : NULL;
    if (!p)
        return NULL;
    p += 3;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at)
        n -= (size_t)(at + 1 - p), p = at + 1;
    return n ? json_stringn(p, n) : NULL;
}

int consent_load_client(struct storage_tx *tx, struct consent *c, const char *client_id)
{
    struct storage_oauth_client oc = {0};
    int r = storage_oauth_client_get(tx, client_id, &oc);
    if (r < 0)
        return r;
    json_t *meta = json_loads(oc.metadata ? oc.metadata : "{}", 0, NULL);
    const char *name = json_string_value(json_object_get(meta, "client_name"));
    const char *uri = json_string_value(json_object_get(meta, "client_uri"));
    const char *logo = json_string_value(json_object_get(meta, "logo_uri"));
    json_decref(c->client);
    c->client =
        json_pack("{s:s, s:s, s:s?, s:o?, s:s?}", "client_id", oc.id, "name", name && *name ? name : oc.id,
                  "uri", uri, "uri_host", uri_host(uri), "logo_uri", logo);
    json_decref(meta);
    storage_oauth_client_clear(&oc);
    return c->client ? 0 : -ENOMEM;
}

int consent_judge(struct storage_tx *tx, struct consent *c, enum policy_grant_type type,
                  const char *client_id, const char *scope, const struct browser *b, const char *ip,
                  const char *user_agent)
{
    json_decref(c->violations);
    c->violations = NULL;
    int r = consent_load_client(tx, c, client_id);
    if (r < 0)
        return r;
    struct policy_user user = {.username = b->user.username, .can_request_admin = b->user.can_request_admin};
    struct policy_grant_input in = {
        .grant_type = type,
        .scope = scope,
        .client_id = client_id,
        .user = &user,
        .requester = {.ip = ip[0] ? ip : NULL, .user_agent = user_agent[0] ? user_agent : NULL},
        .session_total = -1,
    };
    struct policy_result res = {0};
    if ((r = policy_authorization_grant(human.policy, &in, &res)) < 0)
        return r;
    if (res.n && !(c->violations = page_policy_denial(&res)))
        r = -ENOMEM;
    policy_result_clear(&res);
    return r;
}

void consent_clear(struct consent *c)
{
    json_decref(c->client);
    json_decref(c->violations);
    *c = (struct consent){0};
}

/* The user card: initial and one of six colours, stable per user (MAS: id_color_hash). */
static json_t *user_card(const struct storage_user *u)
{
    json_t *o = browser_current(u);
    unsigned hash = 0;
    for (const char *c = u->username; *c; c++)
        hash = hash * 31 + (unsigned char)*c;
    char initial[2] = {
        u->username[0] >= 'a' && u->username[0] <= 'z' ? (char)(u->username[0] - 32) : u->username[0], 0};
    json_object_set_new(o, "initial", json_string(initial[0] & 0x80 ? "?" : initial));
    json_object_set_new(o, "color", json_integer(hash % 6 + 1));
    return o;
}

/* The scopes a person must know about: not the Matrix client API, its device, or openid
 * (MAS: templates/components/scope.html). */
static json_t *unsafe_scopes(const char *scope)
{
    static const char *const safe[] = {
        "openid", "urn:matrix:client:api:", "urn:matrix:org.matrix.msc2967.client:api:",
        "urn:matrix:client:device:", "urn:matrix:org.matrix.msc2967.client:device:"};
    json_t *list = json_array();
    const char *p = scope;
    while (list && *p) {
        size_t n = strcspn(p, " ");
        bool shown = n > 0;
        for (size_t i = 0; shown && i < sizeof(safe) / sizeof(safe[0]); i++)
            if (strncmp(p, safe[i], strlen(safe[i])) == 0)
                shown = false;
        if (shown) {
            char tok[STORAGE_SCOPE_MAX + 1];
            snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
            json_t *item = strcmp(tok, "urn:mas:graphql:*") == 0     ? json_pack("{s:b}", "graphql", 1)
                           : strcmp(tok, "urn:synapse:admin:*") == 0 ? json_pack("{s:b}", "synapse_admin", 1)
                           : strcmp(tok, "urn:mas:admin") == 0       ? json_pack("{s:b}", "mas_admin", 1)
                                                                     : json_pack("{s:s}", "raw", tok);
            json_array_append_new(list, item);
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    return list;
}

void consent_send(struct masd_request *r, int status, const struct consent *c, const struct browser *b,
                  const struct action *a, const char *scope, json_t *extra, const char *form_action)
{
    struct page p = {.data = page_data(), .form_action = form_action};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf) {
        json_decref(p.data);
        json_decref(extra);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_object_set_new(p.data, "current", browser_current(&b->user));
    json_object_set_new(p.data, "user", user_card(&b->user));
    json_object_set(p.data, "client", c->client);
    json_object_set_new(p.data, "action",
                        json_pack("{s:s, s:s}", "kind", action_kind_name(a->kind), "id", a->id));
    if (extra)
        json_object_update(p.data, extra);
    json_decref(extra);
    if (c->violations) {
        json_object_update(p.data, c->violations);
        page_send(r, 403, "policy_violation.html", &p);
        return;
    }
    json_object_set_new(p.data, "scopes", unsafe_scopes(scope));
    page_send(r, status, "consent.html", &p);
}

/* ---- /consent/{grant_id}: the authorization grant --------------------------------------------- */

enum outcome {
    C_PAGE,         /* GET: the consent page (or the policy's) */
    C_DELIVER,      /* POST: fulfilled, the code goes to the client */
    C_LOGIN,        /* no session: the login, then back here */
    C_INTERSTITIAL, /* the session ended elsewhere, or its user is locked or deactivated */
    C_NOT_FOUND,
    C_USED,
    C_INTERNAL,
};

struct consent_job {
    bool post;
    char grant_id[STORAGE_ID_SIZE];
    char ip[STORAGE_IP_SIZE];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    struct browser browser;
    struct storage_authorization_grant grant;
    struct consent consent;
    char code[CODE_LEN + 1];
    enum outcome outcome;
};

static int consent_tx(struct storage_tx *tx, void *arg)
{
    struct consent_job *j = arg;
    int r = browser_load(tx, &j->browser);
    if (r < 0)
        return r;
    r = storage_authorization_grant_get(tx, j->grant_id, &j->grant);
    if (r == -ENOENT || r == -EINVAL) {
        j->outcome = C_NOT_FOUND;
        return 0;
    }
    if (r < 0)
        return r;
    if (j->grant.fulfilled_at || j->grant.exchanged_at || j->grant.cancelled_at) {
        j->outcome = C_USED;
        return 0;
    }
    if (j->browser.state == BROWSER_ANONYMOUS || j->browser.state == BROWSER_GONE) {
        j->outcome = C_LOGIN;
        return 0;
    }
    if (j->browser.state != BROWSER_ACTIVE) {
        j->outcome = C_INTERSTITIAL;
        return 0;
    }
    if ((r = consent_judge(tx, &j->consent, POLICY_GRANT_AUTHORIZATION_CODE, j->grant.client_id,
                           j->grant.scope, &j->browser, j->ip, j->user_agent)) < 0 ||
        j->consent.violations || !j->post)
        return r;
    if (j->grant.response_type_code && (r = random_alnum(j->code, CODE_LEN)) < 0)
        return r;
    r = storage_authorization_grant_fulfill(tx, j->grant.id, j->browser.session.id,
                                            j->grant.response_type_code ? j->code : NULL, masd_now());
    if (r == -EALREADY) {
        j->outcome = C_USED; /* another tab, or a second click, was first */
        return 0;
    }
    if (r >= 0)
        j->outcome = C_DELIVER;
    return r;
}

static void consent_work(void *arg)
{
    struct consent_job *j = arg;
    j->outcome = C_PAGE;
    if (storage_tx(human.st, j->post ? STORAGE_TX_WRITE : STORAGE_TX_READ, consent_tx, j) < 0) {
        log_error("consent: %s", storage_last_error());
        j->outcome = C_INTERNAL;
    }
}

static void job_free(struct consent_job *j)
{
    consent_clear(&j->consent);
    OPENSSL_cleanse(j->code, sizeof(j->code));
    free(j);
}

/* "Cancel": access_denied to the client, in the grant's response mode (the grant stays pending,
 * as in MAS). */
static json_t *cancel_data(const struct storage_authorization_grant *g)
{
    struct callback_param p[] = {
        {"state", g->state[0] ? g->state : NULL},
        {"error", "access_denied"},
        {"error_description", "The resource owner or authorization server denied the request."}};
    enum authorize_response_mode mode = callback_mode(g->response_mode);
    if (mode != AUTHZ_MODE_FORM_POST) {
        char *url = callback_url(g->redirect_uri, mode, p, 3);
        json_t *o = url ? json_pack("{s:s}", "href", url) : NULL;
        free(url);
        return o;
    }
    json_t *params = json_array();
    for (size_t i = 0; i < 3; i++)
        if (p[i].value)
            json_array_append_new(params, json_pack("{s:s, s:s}", "name", p[i].name, "value", p[i].value));
    return json_pack("{s:{s:s, s:o}}", "form_post", "action", g->redirect_uri, "params", params);
}

static void consent_done(struct masd_request *r, void *arg)
{
    struct consent_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    struct action action = {.kind = ACTION_CONTINUE_AUTHORIZATION_GRANT};
    memcpy(action.id, j->grant_id, sizeof(action.id));
    char source[512];
    switch (j->outcome) {
    case C_NOT_FOUND:
        page_error(r, 404, "grant_not_found", NULL);
        break;
    case C_USED:
        browser_write_cookie(r, &j->browser);
        page_error(r, 409, "grant_used", NULL);
        break;
    case C_INTERNAL:
        page_error(r, 500, "internal", "the database did not answer");
        break;
    case C_LOGIN:
        browser_write_cookie(r, &j->browser);
        redirect_to_login(r, &action, j->grant.login_hint);
        break;
    case C_INTERSTITIAL:
        browser_write_cookie(r, &j->browser);
        browser_interstitial(r, &j->browser, &action);
        break;
    case C_DELIVER: {
        browser_write_cookie(r, &j->browser);
        struct callback_param p[] = {{"state", j->grant.state[0] ? j->grant.state : NULL},
                                     {"code", j->grant.response_type_code ? j->code : NULL}};
        callback_deliver(r, j->grant.redirect_uri, callback_mode(j->grant.response_mode), p, 2);
        break;
    }
    case C_PAGE: {
        browser_write_cookie(r, &j->browser);
        /* POST /consent answers with a redirect to the client, which the form-action covers */
        bool has_source = callback_csp_source(j->grant.redirect_uri, source, sizeof(source));
        consent_send(r, 200, &j->consent, &j->browser, &action, j->grant.scope,
                     json_pack("{s:o?}", "cancel", cancel_data(&j->grant)), has_source ? source : NULL);
        break;
    }
    }
    job_free(j);
}

void human_consent(struct masd_request *r)
{
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (post && !csrf_check(r))
        return;
    struct consent_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->post = post;
    /* the route is /consent/{grant_id}: the last segment */
    masd_str id = {r->path.ptr + strlen("/consent/"), r->path.len - strlen("/consent/")};
    snprintf(j->grant_id, sizeof(j->grant_id), "%.*s", (int)(id.len < STORAGE_ID_SIZE ? id.len : 0), id.ptr);
    human_client_ip(r, j->ip, sizeof(j->ip));
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));
    browser_read_cookie(r, &j->browser);
    if (masd_defer(r, consent_work, consent_done, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}
