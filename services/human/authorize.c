/* GET /authorize: the OAuth 2.0 authorization endpoint (RFC 6749 §3.1, §4.1.1; OpenID Connect
 * Core §3.1.2; MAS: crates/handlers/src/oauth2/authorization/mod.rs).
 *
 * The query is read on the loop (authorize_parse.c); the client, the grant and the browser's
 * session in one write transaction on the worker pool. What cannot be answered to the client
 * safely — an unreadable query, an unknown client, a redirect URI that is not registered, a
 * response mode that would put a token in a query — is an HTML 400 page for the person; every
 * other refusal goes to the client's redirect URI with `error`, `error_description` and
 * `state`. A good request becomes a pending grant, and the browser goes on to the consent page,
 * through the login when it has no active session. The code itself is drawn at consent. */
#include "authorize_parse.h"
#include "callback.h"
#include "clock.h"
#include "human.h"
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum outcome {
    AZ_CONSENT,        /* 303 /consent/{grant} */
    AZ_LOGIN,          /* 303 /login?kind=continue_authorization_grant&id={grant} */
    AZ_REGISTER,       /* prompt=create: 303 /register?kind=continue_authorization_grant&id={grant} */
    AZ_CLIENT_ERROR,   /* to the client */
    AZ_UNKNOWN_CLIENT, /* HTML 400 */
    AZ_BAD_REDIRECT,
    AZ_MODE_NOT_ALLOWED,
    AZ_INTERNAL,
};

struct authorize_job {
    struct authorize_request req;
    struct browser browser;
    enum outcome outcome;
    char redirect_uri[STORAGE_URI_MAX + 1];
    const char *error, *description;
    char grant_id[STORAGE_ID_SIZE];
};

/* The client's registered redirect URIs and grant types (JSON arrays of strings). */
static bool has_string(json_t *array, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

static int resolve_client(struct authorize_job *j, const struct storage_oauth_client *c)
{
    json_t *uris = json_loads(c->redirect_uris ? c->redirect_uris : "[]", 0, NULL);
    json_t *grants = json_loads(c->grant_types ? c->grant_types : "[]", 0, NULL);
    const char *list[64];
    size_t n = 0, i;
    json_t *v;
    int r = 0;
    json_array_foreach(uris, i, v) if (json_is_string(v) && n < sizeof(list) / sizeof(list[0])) list[n++] =
        json_string_value(v);
    int idx = authorize_resolve_redirect(j->req.redirect_uri, list, n);
    if (idx < 0) {
        j->outcome = AZ_BAD_REDIRECT;
    } else {
        /* the URI as requested is the one answered to (a loopback port may differ) */
        snprintf(j->redirect_uri, sizeof(j->redirect_uri), "%s",
                 j->req.redirect_uri ? j->req.redirect_uri : list[idx]);
        if (!authorize_response_mode_allowed(&j->req)) {
            j->outcome = AZ_MODE_NOT_ALLOWED;
        } else if ((j->error = authorize_check(&j->req, has_string(grants, "authorization_code"),
                                               has_string(grants, "implicit"), &j->description))) {
            j->outcome = AZ_CLIENT_ERROR;
        } else if (j->req.id_token) {
            /* An ID token must be signed; masd signs them with the token endpoint (ID tokens
             * come from there). Until then, refused in the protocol's own words. */
            j->outcome = AZ_CLIENT_ERROR;
            j->error = "unsupported_response_type";
            j->description = "This server does not return ID tokens from the authorization endpoint.";
        }
    }
    json_decref(uris);
    json_decref(grants);
    return r;
}

static const char *mode_name(enum authorize_response_mode m)
{
    return m == AUTHZ_MODE_FRAGMENT ? "fragment" : m == AUTHZ_MODE_FORM_POST ? "form_post" : "query";
}

static bool fits(const char *s, size_t max)
{
    return !s || strlen(s) <= max;
}

static int authorize_tx(struct storage_tx *tx, void *arg)
{
    struct authorize_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = storage_oauth_client_get(tx, j->req.client_id, &client);
    if (r == -ENOENT || r == -EINVAL) {
        j->outcome = AZ_UNKNOWN_CLIENT;
        return 0;
    }
    if (r < 0)
        return r;
    r = resolve_client(j, &client);
    storage_oauth_client_clear(&client);
    if (r < 0 || j->outcome != AZ_CONSENT)
        return r;
    struct storage_authorization_grant g = {.response_type_code = j->req.code,
                                            .response_type_id_token = j->req.id_token,
                                            .redirect_uri_given = j->req.redirect_uri != NULL};
    if (!fits(j->req.state, STORAGE_SHORT_TEXT_MAX) || !fits(j->req.nonce, STORAGE_SHORT_TEXT_MAX) ||
        !fits(j->req.login_hint, STORAGE_SHORT_TEXT_MAX) || !fits(j->req.scope, STORAGE_SCOPE_MAX) ||
        !fits(j->req.code_challenge, sizeof(g.code_challenge) - 1)) {
        j->outcome = AZ_CLIENT_ERROR;
        j->error = "invalid_request";
        j->description =
            "A parameter is longer than this server keeps (state, nonce and login_hint: 255 bytes).";
        return 0;
    }
    snprintf(g.client_id, sizeof(g.client_id), "%s", j->req.client_id);
    snprintf(g.redirect_uri, sizeof(g.redirect_uri), "%s", j->redirect_uri);
    snprintf(g.scope, sizeof(g.scope), "%s", j->req.scope);
    snprintf(g.state, sizeof(g.state), "%s", j->req.state ? j->req.state : "");
    snprintf(g.nonce, sizeof(g.nonce), "%s", j->req.nonce ? j->req.nonce : "");
    snprintf(g.login_hint, sizeof(g.login_hint), "%s", j->req.login_hint ? j->req.login_hint : "");
    snprintf(g.response_mode, sizeof(g.response_mode), "%s", mode_name(authorize_response_mode(&j->req)));
    if (j->req.pkce == AUTHZ_PKCE_S256 || j->req.pkce == AUTHZ_PKCE_PLAIN) {
        snprintf(g.code_challenge, sizeof(g.code_challenge), "%s", j->req.code_challenge);
        snprintf(g.code_challenge_method, sizeof(g.code_challenge_method), "%s",
                 j->req.pkce == AUTHZ_PKCE_S256 ? "S256" : "plain");
    }
    struct storage_authorization_grant out;
    if ((r = storage_authorization_grant_create(tx, &g, masd_now(), &out)) < 0)
        return r;
    memcpy(j->grant_id, out.id, sizeof(j->grant_id));
    if ((r = browser_load(tx, &j->browser)) < 0)
        return r;
    /* prompt=create asks for the registration (OpenID Connect Prompt Create 1.0), where a browser
     * signed in already goes straight on to the consent; without registration, the login */
    bool create =
        j->req.prompt_create && human.cfg->password_registration_enabled && human.cfg->passwords.enabled;
    j->outcome = create ? AZ_REGISTER : j->browser.state == BROWSER_ACTIVE ? AZ_CONSENT : AZ_LOGIN;
    return 0;
}

static void authorize_work(void *arg)
{
    struct authorize_job *j = arg;
    j->outcome = AZ_CONSENT;
    if (storage_tx(human.st, STORAGE_TX_WRITE, authorize_tx, j) < 0) {
        log_error("authorize: %s", storage_last_error());
        j->outcome = AZ_INTERNAL;
    }
}

static void job_free(struct authorize_job *j)
{
    authorize_request_clear(&j->req);
    free(j);
}

static void authorize_done(struct masd_request *r, void *arg)
{
    struct authorize_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    char to[4096];
    switch (j->outcome) {
    case AZ_UNKNOWN_CLIENT:
        page_error(r, 400, "unknown_client", NULL);
        break;
    case AZ_BAD_REDIRECT:
        page_error(r, 400, "bad_redirect_uri", NULL);
        break;
    case AZ_MODE_NOT_ALLOWED:
        page_error(r, 400, "response_mode_not_allowed", NULL);
        break;
    case AZ_INTERNAL:
        page_error(r, 500, "internal", "the database did not answer");
        break;
    case AZ_CLIENT_ERROR: {
        struct callback_param p[] = {
            {"state", j->req.state}, {"error", j->error}, {"error_description", j->description}};
        callback_deliver(r, j->redirect_uri, authorize_response_mode(&j->req), p, 3);
        break;
    }
    case AZ_CONSENT:
        browser_write_cookie(r, &j->browser);
        snprintf(to, sizeof(to), "%s/consent/%s", human.root, j->grant_id);
        page_redirect(r, to);
        break;
    case AZ_LOGIN: {
        struct action a = {.kind = ACTION_CONTINUE_AUTHORIZATION_GRANT};
        memcpy(a.id, j->grant_id, sizeof(a.id));
        browser_write_cookie(r, &j->browser);
        redirect_to_login(r, &a, j->req.login_hint);
        break;
    case AZ_REGISTER:
        browser_write_cookie(r, &j->browser);
        snprintf(to, sizeof(to), "%s/register?kind=continue_authorization_grant&id=%s", human.root,
                 j->grant_id);
        page_redirect(r, to);
        break;
    }
    }
    job_free(j);
}

void human_authorize(struct masd_request *r)
{
    struct authorize_job *j = calloc(1, sizeof(*j));
    const char *why = NULL;
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    int rc = authorize_parse(r->query, &j->req, &why);
    if (rc < 0) {
        free(j);
        if (rc == -ENOMEM)
            page_error(r, 500, "internal", "out of memory");
        else
            page_error(r, 400, "invalid_authorize_request", why);
        return;
    }
    browser_read_cookie(r, &j->browser);
    if (masd_defer(r, authorize_work, authorize_done, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}
