/* GET /upstream/authorize/{provider} and GET, POST /upstream/callback/{provider}: the sign-in at
 * an upstream OAuth 2.0 / OpenID Connect provider, up to the link page (docs/upstream-oauth.md,
 * "The sign-in flow"; MAS: crates/handlers/src/upstream_oauth2/authorize.rs and callback.rs).
 *
 * Authorize: the provider's metadata (common/upstream/upstream_rp.h, on the outbound pool), then
 * in one transaction the pending authorization session (state, PKCE verifier, nonce) and, for an
 * OAuth authorization that goes on afterwards, the grant's parameters for the templates; the
 * browser gets an entry in the `upstream-oauth2-sessions` cookie and a 307 to the provider.
 *
 * Callback, checked in MAS's order, first failure wins: the provider (404), some parameter at
 * all (400), the method against response_mode (400; a cross-site form_post without our
 * SameSite=Lax cookie is re-posted to ourselves first), the provider's error= (400), state and the
 * cookie's entry (400), then on the database the session (404), its provider and state (400),
 * pending (400: a replay), younger than STORAGE_UPSTREAM_SESSION_TTL_MS (400: MAS checks this only
 * in the cookie), a code (400); the code exchange and token checks on the outbound pool (the
 * provider unreachable or answering nonsense: 502; a token that fails its checks: 400); the
 * subject template (empty: 502); the link found or made, the session completed (compare-and-set:
 * a replay racing us is a 400) in one transaction; the cookie's entry gets the link; 303 to
 * /upstream/link/{link}. Every refusal after the cookie's entry was found offers a way back, and
 * where an OAuth authorization was waiting, to return the error to its client. */
#include "callback.h"
#include "claims_template.h"
#include "clock.h"
#include "human.h"
#include "log.h"
#include "random.h"
#include "base64.h"
#include "storage_upstream.h"
#include "ulid.h"
#include "upstream_parse.h"
#include "upstream_rp.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHORIZE_PREFIX "/upstream/authorize/"
#define CALLBACK_PREFIX  "/upstream/callback/"
/* MAS: `logged_out` is true for 5 minutes after a sign-out (crates/axum-utils/src/session.rs) */
#define LOGGED_OUT_WINDOW_MS (5 * 60 * 1000LL)

typedef enum masd_defer_status (*defer_fn)(struct masd_request *, void (*)(void *),
                                           void (*)(struct masd_request *, void *), void *);

/* The enabled provider named by the path after prefix; NULL. */
static const struct config_upstream_provider *find_provider(struct masd_request *r, const char *prefix)
{
    size_t n = strlen(prefix);
    masd_str id = {r->path.ptr + n, r->path.len - n};
    const struct config_upstream_provider *p = config_upstream_provider(human.cfg, id.ptr, id.len);
    return p && p->enabled ? p : NULL;
}

/* The provider's row is there and enabled (the sync may have failed, or run elsewhere). */
static int provider_usable(struct storage_tx *tx, const char *id)
{
    struct storage_upstream_provider row;
    int r = storage_upstream_provider_get(tx, id, &row);
    bool ok = r == 0 && !row.disabled_at;
    storage_upstream_provider_clear(&row);
    return r < 0 && r != -ENOENT ? r : ok;
}

static void callback_uri(const struct config_upstream_provider *p, char *out, size_t size)
{
    snprintf(out, size, "%supstream/callback/%s", human.cfg->public_base, p->id);
}

/* The cookie's entries (none when absent or unreadable: MAS). */
static void read_cookie(struct masd_request *r, struct upstream_cookie *c)
{
    char *plain = NULL;
    size_t len = 0;
    c->n = 0;
    if (human_open_cookie(r, UPSTREAM_COOKIE_NAME, &plain, &len) == 0 &&
        upstream_cookie_parse(plain, len, c) < 0)
        log_info("%s cookie: sealed by us but not its entries: ignored", UPSTREAM_COOKIE_NAME);
    free(plain);
}

static void write_cookie(struct masd_request *r, struct upstream_cookie *c)
{
    upstream_cookie_prune(c, masd_now());
    char *json = upstream_cookie_render_fit(c, COOKIE_VALUE_MAX / 2);
    human_set_cookie(r, UPSTREAM_COOKIE_NAME, json, false);
    free(json);
}

/* ---- refusals ---------------------------------------------------------------------------- */

/* What a refusal offers: "try again" (the login, with the action), and, when an OAuth
 * authorization is waiting for this sign-in, returning `error` to its client (in the grant's
 * response mode; the grant stays pending, as after the consent page's cancel). */
struct way_back {
    struct action action;
    struct storage_authorization_grant grant;
    bool grant_pending;
};

static int load_way_back(struct storage_tx *tx, struct way_back *w)
{
    if (w->action.kind != ACTION_CONTINUE_AUTHORIZATION_GRANT)
        return 0;
    int r = storage_authorization_grant_get(tx, w->action.id, &w->grant);
    if (r == -ENOENT || r == -EINVAL)
        return 0;
    w->grant_pending = r == 0 && !w->grant.fulfilled_at && !w->grant.exchanged_at && !w->grant.cancelled_at;
    return r;
}

static void refuse(struct masd_request *r, int status, const char *kind, const char *detail,
                   const struct way_back *w, const char *oauth_error)
{
    char q[1024], back[1200], source[512];
    json_t *extra = json_object();
    const char *form_action = NULL;
    action_query(w ? &w->action : &(struct action){0}, q, sizeof(q));
    snprintf(back, sizeof(back), "%s/login%s%s", human.root, q[0] ? "?" : "", q);
    json_object_set_new(extra, "back", json_string(back));
    json_object_set_new(extra, "retry", json_true());
    if (w && w->grant_pending && oauth_error) {
        const struct storage_authorization_grant *g = &w->grant;
        const char *why = strcmp(oauth_error, "access_denied") == 0
                              ? "The sign-in at the upstream identity provider was refused."
                              : "The upstream identity provider could not be used.";
        struct callback_param p[] = {
            {"state", g->state[0] ? g->state : NULL}, {"error", oauth_error}, {"error_description", why}};
        enum authorize_response_mode mode = callback_mode(g->response_mode);
        char host[STORAGE_URI_MAX + 1];
        callback_display_name(g->redirect_uri, host, sizeof(host));
        json_t *ret = json_pack("{s:s}", "host", host);
        if (mode != AUTHZ_MODE_FORM_POST) {
            char *url = callback_url(g->redirect_uri, mode, p, 3);
            if (url)
                json_object_set_new(ret, "href", json_string(url));
            free(url);
        } else {
            json_t *params = json_array();
            for (size_t i = 0; i < 3; i++)
                if (p[i].value)
                    json_array_append_new(params,
                                          json_pack("{s:s, s:s}", "name", p[i].name, "value", p[i].value));
            json_object_set_new(ret, "form_post",
                                json_pack("{s:s, s:o}", "action", g->redirect_uri, "params", params));
            if (callback_csp_source(g->redirect_uri, source, sizeof(source)))
                form_action = source;
        }
        json_object_set_new(extra, "client_return", ret);
    }
    page_error_with(r, status, kind, detail, extra, form_action);
}

/* The page of a failed call to the provider (upstream_rp_error): 502 when the provider could not
 * be reached or answered what the protocol does not allow, 400 when its token failed a check, 500
 * when the provider's configuration cannot work (docs/upstream-oauth.md, "Errors"). */
static void refuse_rp(struct masd_request *r, const struct upstream_rp_error *err, const struct way_back *w)
{
    switch (err->status) {
    case UPSTREAM_RP_UNREACHABLE:
        refuse(r, 502, "upstream_unreachable", err->message, w, "temporarily_unavailable");
        break;
    case UPSTREAM_RP_INVALID:
        refuse(r, 400, "upstream_invalid", err->message, w, "access_denied");
        break;
    case UPSTREAM_RP_NOMEM:
        refuse(r, 500, "internal", "out of memory", w, NULL);
        break;
    case UPSTREAM_RP_MISCONFIGURED: /* ours to fix, not the provider's: the log line says what */
        refuse(r, 500, "internal", err->message, w, "temporarily_unavailable");
        break;
    default: /* IDP_ERROR, BAD_ANSWER */
        refuse(r, 502, "upstream_bad_answer", err->message, w, "temporarily_unavailable");
        break;
    }
}

/* ---- GET /upstream/authorize/{provider} ----------------------------------------------------- */

enum a_outcome { A_CONTINUE, A_REDIRECT, A_NOT_FOUND, A_RP_FAIL, A_INTERNAL };

struct authz_job {
    const struct config_upstream_provider *p;
    struct way_back way;
    bool way_loaded; /* after a failure: wayback_work ran */
    bool logged_out;
    int stage;
    enum a_outcome outcome;
    struct upstream_rp_metadata md;
    struct upstream_rp_error err;
    char session_id[STORAGE_ID_SIZE];
    char state[UPSTREAM_STATE_LEN + 1], nonce[UPSTREAM_STATE_LEN + 1], verifier[64];
    char *url;
};

static void authz_free(struct authz_job *j)
{
    upstream_rp_metadata_clear(&j->md);
    OPENSSL_cleanse(j->verifier, sizeof(j->verifier));
    free(j->url);
    free(j);
}

static void metadata_work(void *arg)
{
    struct authz_job *j = arg;
    if (upstream_rp_metadata(human.rp, j->p, masd_now() / 1000, &j->md, &j->err) < 0)
        j->outcome = A_RP_FAIL;
}

/* The template variable `params`: the parameters of the OAuth authorization that waits for this
 * sign-in, as masd keeps them (MAS hands its templates the raw query), else {}. */
static json_t *grant_params(const struct way_back *w)
{
    json_t *o = json_object();
    if (!o || !w->grant_pending)
        return o;
    const struct storage_authorization_grant *g = &w->grant;
    const char *rt = g->response_type_code && g->response_type_id_token ? "code id_token"
                     : g->response_type_id_token                        ? "id_token"
                                                                        : "code";
    const char *fields[][2] = {{"client_id", g->client_id},
                               {"redirect_uri", g->redirect_uri_given ? g->redirect_uri : ""},
                               {"response_type", rt},
                               {"response_mode", g->response_mode},
                               {"scope", g->scope},
                               {"state", g->state},
                               {"nonce", g->nonce},
                               {"code_challenge", g->code_challenge},
                               {"code_challenge_method", g->code_challenge_method},
                               {"login_hint", g->login_hint}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i][1][0])
            json_object_set_new(o, fields[i][0], json_string(fields[i][1]));
    return o;
}

/* The authorization URL: the protocol's parameters, then each additional parameter rendered
 * (trimmed; left out when empty or when its template fails, as MAS). Their names cannot be the
 * protocol's: the configuration refuses those (common/config/config_upstream.c). */
static int build_url(struct authz_job *j)
{
    const struct config_upstream_provider *p = j->p;
    char redirect_uri[1024], challenge[64] = "";
    callback_uri(p, redirect_uri, sizeof(redirect_uri));
    if (j->verifier[0]) {
        unsigned char h[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)j->verifier, strlen(j->verifier), h);
        char *c = base64url_encode(h, sizeof(h));
        if (!c)
            return -ENOMEM;
        snprintf(challenge, sizeof(challenge), "%s", c);
        free(c);
    }
    size_t n_max = 10 + p->n_params, n = 0;
    struct upstream_param *prm = calloc(n_max, sizeof(*prm));
    char **rendered = calloc(p->n_params + 1, sizeof(*rendered));
    json_t *vars = json_pack("{s:o, s:b}", "params", grant_params(&j->way), "logged_out", j->logged_out);
    int r = prm && rendered && vars ? 0 : -ENOMEM;
    if (r == 0) {
        prm[n++] = (struct upstream_param){"response_type", "code"};
        prm[n++] = (struct upstream_param){"client_id", p->client_id};
        prm[n++] = (struct upstream_param){"redirect_uri", redirect_uri};
        prm[n++] = (struct upstream_param){"scope", p->scope};
        prm[n++] = (struct upstream_param){"state", j->state};
        prm[n++] =
            (struct upstream_param){"response_mode", config_upstream_response_mode_name(p->response_mode)};
        prm[n++] = (struct upstream_param){"nonce", j->nonce[0] ? j->nonce : NULL};
        prm[n++] = (struct upstream_param){"code_challenge_method", challenge[0] ? "S256" : NULL};
        prm[n++] = (struct upstream_param){"code_challenge", challenge[0] ? challenge : NULL};
        for (size_t i = 0; i < p->n_params; i++) {
            char err[256], *out = NULL;
            int rr = claims_template_render(p->params[i].compiled, vars, &out, err, sizeof(err));
            if (rr == -ENOMEM) {
                r = rr;
                break;
            }
            if (rr < 0) {
                log_info("upstream provider %s: additional parameter %s left out: %s", p->id,
                         p->params[i].name, err);
                continue;
            }
            /* trimmed (MAS) */
            char *s = out, *e = out + strlen(out);
            while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
                e--;
            *e = '\0';
            rendered[i] = out;
            if (*s)
                prm[n++] = (struct upstream_param){p->params[i].name, s};
        }
    }
    if (r == 0 && !(j->url = upstream_authorize_url(j->md.authorization_endpoint, prm, n)))
        r = -ENOMEM;
    for (size_t i = 0; rendered && i < p->n_params; i++)
        free(rendered[i]);
    free(rendered);
    free(prm);
    json_decref(vars);
    return r;
}

static int authz_tx(struct storage_tx *tx, void *arg)
{
    struct authz_job *j = arg;
    int r = provider_usable(tx, j->p->id);
    if (r <= 0) {
        j->outcome = r < 0 ? A_INTERNAL : A_NOT_FOUND;
        return r;
    }
    if ((r = load_way_back(tx, &j->way)) < 0)
        return r;
    return storage_upstream_session_create(tx, j->p->id, j->state, j->verifier[0] ? j->verifier : NULL,
                                           j->nonce[0] ? j->nonce : NULL, masd_now(), j->session_id);
}

static void session_work(void *arg)
{
    struct authz_job *j = arg;
    unsigned char raw[32];
    if (random_alnum(j->state, UPSTREAM_STATE_LEN) < 0 ||
        (j->p->scope_openid && random_alnum(j->nonce, UPSTREAM_STATE_LEN) < 0) ||
        random_bytes(raw, sizeof(raw)) < 0) {
        j->outcome = A_INTERNAL;
        return;
    }
    if (j->md.pkce_s256) { /* RFC 7636 §4.1: 43 characters of base64url from 32 random bytes */
        char *v = base64url_encode(raw, sizeof(raw));
        if (!v) {
            j->outcome = A_INTERNAL;
            return;
        }
        snprintf(j->verifier, sizeof(j->verifier), "%s", v);
        OPENSSL_cleanse(v, strlen(v));
        free(v);
    }
    OPENSSL_cleanse(raw, sizeof(raw));
    if (storage_tx(human.st, STORAGE_TX_WRITE, authz_tx, j) < 0) {
        if (j->outcome == A_CONTINUE)
            j->outcome = A_INTERNAL;
        log_error("upstream authorize %s: %s", j->p->id, storage_last_error());
        return;
    }
    if (j->outcome != A_CONTINUE)
        return;
    j->outcome = build_url(j) < 0 ? A_INTERNAL : A_REDIRECT;
}

/* After a failed metadata fetch: the waiting OAuth authorization, for the way back. */
static int wayback_tx(struct storage_tx *tx, void *arg)
{
    return load_way_back(tx, arg);
}

static void wayback_work(void *arg)
{
    struct authz_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_READ, wayback_tx, &j->way) < 0)
        log_error("upstream authorize %s: %s", j->p->id, storage_last_error()); /* no way back then */
    j->way_loaded = true;
}

static void authz_answer(struct masd_request *r, void *arg)
{
    struct authz_job *j = arg;
    if (!r) {
        authz_free(j);
        return;
    }
    if (j->outcome == A_RP_FAIL && !j->way_loaded &&
        j->way.action.kind == ACTION_CONTINUE_AUTHORIZATION_GRANT &&
        masd_defer(r, wayback_work, authz_answer, j) == MASD_DEFER_QUEUED)
        return;
    static void (*const stages[])(void *) = {metadata_work, session_work};
    static const defer_fn defers[] = {masd_defer_outbound, masd_defer};
    if (j->outcome == A_CONTINUE && j->stage < 2) {
        int k = j->stage++;
        if (defers[k](r, stages[k], authz_answer, j) == MASD_DEFER_QUEUED)
            return;
        page_error(r, 503, "busy", NULL);
        authz_free(j);
        return;
    }
    switch (j->outcome) {
    case A_REDIRECT: {
        struct upstream_cookie c;
        struct upstream_cookie_entry e = {.action = j->way.action};
        memcpy(e.session, j->session_id, sizeof(e.session));
        memcpy(e.provider, j->p->id, sizeof(e.provider));
        snprintf(e.state, sizeof(e.state), "%s", j->state);
        read_cookie(r, &c);
        upstream_cookie_prune(&c, masd_now());
        upstream_cookie_add(&c, &e);
        write_cookie(r, &c);
        page_redirect_status(r, 307, j->url);
        break;
    }
    case A_NOT_FOUND:
        page_error(r, 404, "upstream_not_found", NULL);
        break;
    case A_RP_FAIL:
        refuse_rp(r, &j->err, &j->way);
        break;
    default:
        page_error(r, 500, "internal", "the upstream sign-in could not be started");
        break;
    }
    authz_free(j);
}

void human_upstream_authorize(struct masd_request *r)
{
    const struct config_upstream_provider *p = find_provider(r, AUTHORIZE_PREFIX);
    if (!p) {
        page_error(r, 404, "upstream_not_found", NULL);
        return;
    }
    struct authz_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->p = p;
    action_parse(r->query, &j->way.action);
    struct browser b;
    browser_read_cookie(r, &b);
    j->logged_out = b.cookie.logged_out_at && masd_now() - b.cookie.logged_out_at < LOGGED_OUT_WINDOW_MS;
    authz_answer(r, j);
}

/* ---- GET, POST /upstream/callback/{provider} ------------------------------------------------ */

enum c_outcome {
    C_CONTINUE,
    C_LINK,
    C_IDP_ERROR,  /* the provider's error=: the way back was loaded */
    C_NO_SESSION, /* 404 */
    C_MISMATCH,   /* 400: another provider's session, or another state */
    C_USED,       /* 400: completed already */
    C_EXPIRED,    /* 400 */
    C_NO_CODE,    /* 400 */
    C_RP_FAIL,    /* the exchange failed: err */
    C_NO_SUBJECT, /* 502 */
    C_NOT_FOUND,  /* the provider's row is gone or disabled */
    C_INTERNAL,
};

struct cb_job {
    const struct config_upstream_provider *p;
    struct upstream_callback cb;
    struct upstream_cookie cookie;
    struct upstream_cookie_entry *entry; /* in cookie */
    struct way_back way;
    int stage;
    enum c_outcome outcome;
    struct storage_upstream_session session;
    struct upstream_rp_result res;
    struct upstream_rp_error err;
    char *subject, *account_name;
    char link_id[STORAGE_ID_SIZE];
};

static void cb_free(struct cb_job *j)
{
    upstream_callback_clear(&j->cb);
    storage_upstream_session_clear(&j->session);
    upstream_rp_result_clear(&j->res);
    free(j->subject);
    free(j->account_name);
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

/* Stage 1, a read: the session against the cookie's entry (and the way back). */
static int check_tx(struct storage_tx *tx, void *arg)
{
    struct cb_job *j = arg;
    int r = load_way_back(tx, &j->way);
    if (r < 0 || j->outcome == C_IDP_ERROR)
        return r;
    storage_upstream_session_clear(&j->session);
    r = storage_upstream_session_get(tx, j->entry->session, &j->session);
    if (r == -ENOENT) {
        j->outcome = C_NO_SESSION;
        return 0;
    }
    if (r < 0)
        return r;
    if (strcmp(j->session.provider_id, j->p->id) != 0 || strcmp(j->session.state, j->cb.state) != 0)
        j->outcome = C_MISMATCH;
    else if (j->session.completed_at)
        j->outcome = C_USED;
    else if (masd_now() - j->session.created_at > STORAGE_UPSTREAM_SESSION_TTL_MS)
        j->outcome = C_EXPIRED;
    else if (!j->cb.code || !j->cb.code[0])
        j->outcome = C_NO_CODE;
    return 0;
}

static void check_work(void *arg)
{
    struct cb_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_READ, check_tx, j) < 0) {
        log_error("upstream callback %s: %s", j->p->id, storage_last_error());
        j->outcome = C_INTERNAL;
    }
}

/* The claims the templates see: the ID token's but for the checks' own (MAS drops at_hash, c_hash
 * and nonce at the callback). */
static json_t *template_claims(const json_t *claims)
{
    if (!claims)
        return NULL;
    json_t *c = json_copy((json_t *)claims);
    if (c) {
        json_object_del(c, "at_hash");
        json_object_del(c, "c_hash");
        json_object_del(c, "nonce");
    }
    return c;
}

/* Stage 2, outbound: the code exchange and its checks; the subject and account name. */
static void exchange_work(void *arg)
{
    struct cb_job *j = arg;
    char redirect_uri[1024], err[256];
    callback_uri(j->p, redirect_uri, sizeof(redirect_uri));
    struct upstream_rp_exchange in = {
        .code = j->cb.code,
        .redirect_uri = redirect_uri,
        .verifier = j->session.verifier[0] ? j->session.verifier : NULL,
        .nonce = j->session.nonce[0] ? j->session.nonce : NULL,
        .now = masd_now() / 1000, /* seconds, as the relying party counts */
    };
    if (upstream_rp_exchange(human.rp, j->p, &in, &j->res, &j->err) < 0) {
        j->outcome = C_RP_FAIL;
        return;
    }
    json_t *claims = template_claims(j->res.id_token_claims);
    json_t *ctx = claims_template_context(claims, j->res.userinfo, j->cb.extra);
    json_decref(claims);
    if (!ctx) {
        j->outcome = C_INTERNAL;
        return;
    }
    int r = claims_template_render(j->p->claims.subject.compiled, ctx, &j->subject, err, sizeof(err));
    if (r < 0 || !j->subject[0]) {
        log_info("upstream provider %s: the subject template %s", j->p->id,
                 r < 0 ? err : "rendered to an empty string");
        snprintf(j->err.message, sizeof(j->err.message), "%s",
                 r < 0 ? "the subject template could not be rendered" : "the subject is empty");
        j->outcome = r == -ENOMEM ? C_INTERNAL : C_NO_SUBJECT;
    } else if (j->p->claims.account_name.compiled &&
               claims_template_render(j->p->claims.account_name.compiled, ctx, &j->account_name, err,
                                      sizeof(err)) < 0) {
        log_info("upstream provider %s: the account_name template: %s", j->p->id, err);
        j->account_name = NULL;
    }
    json_decref(ctx);
}

static char *dump_or_null(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT) : NULL;
}

/* Stage 3, a write: the link found or made, the session completed. */
static int complete_tx(struct storage_tx *tx, void *arg)
{
    struct cb_job *j = arg;
    int64_t now = masd_now();
    int r = provider_usable(tx, j->p->id);
    if (r <= 0) {
        j->outcome = r < 0 ? C_INTERNAL : C_NOT_FOUND;
        return r;
    }
    struct storage_upstream_link link;
    r = storage_upstream_link_find(tx, j->p->id, j->subject, &link);
    if (r == -ENOENT) {
        const char *an = j->account_name;
        if (an && strlen(an) >= sizeof(link.human_account_name)) /* cut, not refused */
            j->account_name[sizeof(link.human_account_name) - 1] = '\0';
        r = storage_upstream_link_create(tx, j->p->id, j->subject, j->account_name, now, &link);
    }
    if (r < 0)
        return r;
    const json_t *claims = j->res.id_token_claims;
    char *claims_s = dump_or_null(claims), *extra_s = dump_or_null(j->cb.extra),
         *userinfo_s = dump_or_null(j->res.userinfo);
    struct storage_upstream_completion c = {
        .link_id = link.id,
        .id_token = j->res.id_token,
        .id_token_claims = claims_s,
        .id_token_sub = json_string_value(json_object_get(claims, "sub")),
        .id_token_sid = json_string_value(json_object_get(claims, "sid")),
        .extra_callback_parameters = extra_s,
        .userinfo = userinfo_s,
    };
    if ((claims && !claims_s) || !extra_s || (j->res.userinfo && !userinfo_s))
        r = -ENOMEM;
    else
        r = storage_upstream_session_complete(tx, j->session.id, &c, now);
    free(claims_s);
    free(extra_s);
    free(userinfo_s);
    if (r == -EALREADY) {
        j->outcome = C_USED;
        return 0;
    }
    if (r == 0) {
        memcpy(j->link_id, link.id, sizeof(j->link_id));
        j->outcome = C_LINK;
    }
    return r;
}

static void complete_work(void *arg)
{
    struct cb_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_WRITE, complete_tx, j) < 0) {
        log_error("upstream callback %s: %s", j->p->id, storage_last_error());
        if (j->outcome == C_CONTINUE || j->outcome == C_LINK)
            j->outcome = C_INTERNAL;
    }
}

static void cb_answer(struct masd_request *r, void *arg)
{
    struct cb_job *j = arg;
    if (!r) {
        cb_free(j);
        return;
    }
    static void (*const stages[])(void *) = {check_work, exchange_work, complete_work};
    static const defer_fn defers[] = {masd_defer, masd_defer_outbound, masd_defer};
    if (j->outcome == C_CONTINUE && j->stage < 3) {
        int k = j->stage++;
        if (defers[k](r, stages[k], cb_answer, j) == MASD_DEFER_QUEUED)
            return;
        page_error(r, 503, "busy", NULL);
        cb_free(j);
        return;
    }
    const struct way_back *w = &j->way;
    switch (j->outcome) {
    case C_LINK: {
        char to[256];
        memcpy(j->entry->link, j->link_id, sizeof(j->entry->link));
        write_cookie(r, &j->cookie);
        snprintf(to, sizeof(to), "%s/upstream/link/%s", human.root, j->link_id);
        page_redirect(r, to);
        break;
    }
    case C_IDP_ERROR: {
        char detail[512];
        snprintf(detail, sizeof(detail), "%s%s%s", j->cb.error, j->cb.error_description ? ": " : "",
                 j->cb.error_description ? j->cb.error_description : "");
        refuse(r, 400, "upstream_error", detail, w,
               strcmp(j->cb.error, "temporarily_unavailable") == 0 ? "temporarily_unavailable"
                                                                   : "access_denied");
        break;
    }
    case C_NO_SESSION:
        refuse(r, 404, "upstream_session_not_found", NULL, w, NULL);
        break;
    case C_MISMATCH:
        refuse(r, 400, "upstream_no_session", "the state does not match this browser's sign-in", w, NULL);
        break;
    case C_USED:
        refuse(r, 400, "upstream_used", NULL, w, NULL);
        break;
    case C_EXPIRED:
        refuse(r, 400, "upstream_expired", NULL, w, "access_denied");
        break;
    case C_NO_CODE:
        refuse(r, 400, "upstream_missing_params", "the provider sent no code", w, NULL);
        break;
    case C_RP_FAIL:
        refuse_rp(r, &j->err, w);
        break;
    case C_NO_SUBJECT:
        refuse(r, 502, "upstream_no_subject", j->err.message, w, "temporarily_unavailable");
        break;
    case C_NOT_FOUND:
        page_error(r, 404, "upstream_not_found", NULL);
        break;
    default:
        refuse(r, 500, "internal", "the upstream sign-in could not be completed", w, NULL);
        break;
    }
    cb_free(j);
}

/* MAS's same-site re-post: a provider's form_post is a cross-site POST, which does not carry our
 * SameSite=Lax cookie; the page posts the same parameters again from our own origin, which does. */
static void repost(struct masd_request *r, const struct config_upstream_provider *p,
                   struct upstream_callback *cb)
{
    char uri[1024];
    callback_uri(p, uri, sizeof(uri));
    struct page page = {.data = page_data(), .script = true};
    json_t *params = json_copy(cb->params);
    if (!page.data || !params ||
        json_array_append_new(
            params, json_pack("{s:s, s:s}", "name", "did_mas_repost_to_itself", "value", "true")) < 0) {
        json_decref(params);
        json_decref(page.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_set_new(page.data, "redirect_uri", json_string(uri));
    json_object_set_new(page.data, "params", params);
    json_object_set_new(page.data, "repost", json_true());
    page_send(r, 200, "form_post.html", &page);
}

void human_upstream_callback(struct masd_request *r)
{
    const struct config_upstream_provider *p = find_provider(r, CALLBACK_PREFIX);
    if (!p) {
        page_error(r, 404, "upstream_not_found", NULL);
        return;
    }
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    struct cb_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->p = p;
    int rc = upstream_callback_parse(post ? r->body : r->query, &j->cb);
    if (rc < 0) {
        page_error(r, 400, "upstream_missing_params",
                   rc == -EEXIST  ? "a parameter is given more than once"
                   : rc == -E2BIG ? "too many parameters"
                                  : "the parameters are malformed");
        cb_free(j);
        return;
    }
    if (!upstream_callback_any(&j->cb)) {
        page_error(r, 400, "upstream_missing_params", NULL);
        cb_free(j);
        return;
    }
    if ((post && p->response_mode == UPSTREAM_RESPONSE_MODE_QUERY) ||
        (!post && p->response_mode == UPSTREAM_RESPONSE_MODE_FORM_POST)) {
        page_error(r, 400, "upstream_response_mode", NULL);
        cb_free(j);
        return;
    }
    read_cookie(r, &j->cookie);
    if (post && j->cookie.n == 0 && !j->cb.reposted) {
        repost(r, p, &j->cb);
        cb_free(j);
        return;
    }
    j->entry = j->cb.state ? upstream_cookie_find(&j->cookie, p->id, j->cb.state) : NULL;
    if (j->entry)
        j->way.action = j->entry->action;
    if (j->cb.error) {
        j->outcome = C_IDP_ERROR;
        if (j->way.action.kind == ACTION_CONTINUE_AUTHORIZATION_GRANT) { /* the way back is in the database */
            if (masd_defer(r, check_work, cb_answer, j) == MASD_DEFER_FULL) {
                page_error(r, 503, "busy", NULL);
                cb_free(j);
            }
            return;
        }
        cb_answer(r, j);
        return;
    }
    if (!j->cb.state || !j->entry) {
        refuse(r, 400, "upstream_no_session",
               j->cb.state ? "this browser started no sign-in with that state" : "the provider sent no state",
               NULL, NULL);
        cb_free(j);
        return;
    }
    cb_answer(r, j);
}
