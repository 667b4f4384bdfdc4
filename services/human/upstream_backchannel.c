/* POST /upstream/backchannel-logout/{provider}: an upstream provider says that a person signed
 * out there (OpenID Connect Back-Channel Logout 1.0; docs/upstream-oauth.md "Back-channel
 * logout"). The body is a form with a logout_token, a JWT the provider signed. The answers are
 * JSON, for the provider's server, not a browser: 200 with an empty body when done, 400
 * invalid_request when the token is missing, invalid or used already (§2.8), 404 for a provider
 * masd does not know or has disabled, 503 when the provider's keys cannot be fetched (it may
 * retry).
 *
 * What the token ends follows the provider's on_backchannel_logout: nothing (do_nothing, the
 * token is still checked), the browser sessions its sign-ins opened (logout_browser_only), or
 * those and the OAuth 2.0 and compat sessions started from them, the homeserver told through a
 * sync-devices job per user (logout_all). Stricter than MAS: a token is accepted once (its jti is
 * kept until it expires, in the database, so every process and host sees it), and it does not
 * end a sign-in made after it was issued. */
#include "human.h"
#include "clock.h"
#include "form.h"
#include "hs_sync.h"
#include "log.h"
#include "storage_jti.h"
#include "storage_upstream.h"
#include "upstream_rp.h"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/upstream/backchannel-logout/"

/* The jti namespace of a provider's logout tokens in the single-use table (storage_jti.h): apart
 * from client assertions, whose namespace is a client ID. */
#define JTI_NAMESPACE "upstream-logout:"

struct bcl_job {
    const struct config_upstream_provider *provider;
    char *token;
    int status; /* the answer: 200, 400, 503, 500 */
    char error[32];
    char description[256];
    struct storage_upstream_logout ended;
};

static void respond_json(struct masd_request *r, int status, const char *error, const char *description)
{
    masd_add_header(r, "cache-control", MASD_STR("no-store"));
    if (status == 200) {
        masd_respond(r, 200, NULL, MASD_STR(""));
        return;
    }
    json_t *o = json_pack("{ss ss}", "error", error, "error_description", description);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body) {
        masd_respond_text(r, 500, "out of memory");
        return;
    }
    masd_respond(r, status, "application/json", masd_str_from(body));
    free(body);
}

static void fail(struct bcl_job *j, int status, const char *error, const char *description)
{
    j->status = status;
    snprintf(j->error, sizeof(j->error), "%s", error);
    snprintf(j->description, sizeof(j->description), "%s", description);
}

struct bcl_tx {
    struct bcl_job *j;
    const char *sub, *sid, *jti;
    int64_t iat_ms, exp_ms, now;
};

static int bcl_tx(struct storage_tx *tx, void *arg)
{
    struct bcl_tx *t = arg;
    struct bcl_job *j = t->j;
    storage_upstream_logout_clear(&j->ended);
    char ns[sizeof(JTI_NAMESPACE) + 26];
    snprintf(ns, sizeof(ns), JTI_NAMESPACE "%s", j->provider->id);
    int r = storage_jti_use(tx, ns, t->jti, t->exp_ms, t->now);
    if (r < 0)
        return r;
    if (j->provider->on_backchannel_logout == UPSTREAM_BCL_DO_NOTHING)
        return 0;
    bool all = j->provider->on_backchannel_logout == UPSTREAM_BCL_LOGOUT_ALL;
    r = storage_upstream_backchannel_logout(tx, j->provider->id, t->sub, t->sid, t->iat_ms, all, t->now,
                                            &j->ended);
    for (size_t i = 0; r >= 0 && i < j->ended.n_users; i++)
        r = hs_queue_sync_devices(tx, &human.cfg->matrix, j->ended.users[i], t->now);
    return r;
}

static const char *claim_string(json_t *claims, const char *name)
{
    const char *s = json_string_value(json_object_get(claims, name));
    return s && *s ? s : NULL;
}

static void bcl_work(void *arg)
{
    struct bcl_job *j = arg;
    int64_t now = masd_now();
    json_t *claims = NULL;
    struct upstream_rp_error err = {0};
    int r = upstream_rp_logout_token(human.rp, j->provider, j->token, now / 1000, &claims, &err);
    if (r < 0 || err.status != UPSTREAM_RP_OK) {
        switch (err.status) {
        case UPSTREAM_RP_INVALID:
            fail(j, 400, "invalid_request", err.message);
            break;
        case UPSTREAM_RP_UNREACHABLE:
        case UPSTREAM_RP_BAD_ANSWER:
        case UPSTREAM_RP_IDP_ERROR:
            log_warn("upstream %s: back-channel logout: cannot check the token: %s", j->provider->id,
                     err.message);
            fail(j, 503, "temporarily_unavailable", "the provider's signing keys cannot be fetched now");
            break;
        default:
            log_error("upstream %s: back-channel logout: %s", j->provider->id,
                      err.message[0] ? err.message : strerror(-r));
            fail(j, 500, "server_error", "the logout could not be checked");
        }
        json_decref(claims);
        return;
    }
    /* upstream_rp_logout_token checked iat and exp and that jti is there. */
    struct bcl_tx t = {
        .j = j,
        .sub = claim_string(claims, "sub"),
        .sid = claim_string(claims, "sid"),
        .jti = claim_string(claims, "jti"),
        .iat_ms = ((int64_t)json_integer_value(json_object_get(claims, "iat")) + UPSTREAM_RP_LEEWAY_S) * 1000,
        .exp_ms = ((int64_t)json_integer_value(json_object_get(claims, "exp")) + UPSTREAM_RP_LEEWAY_S) * 1000,
        .now = now,
    };
    if (!t.jti) {
        fail(j, 400, "invalid_request", "the logout token has no jti");
    } else if ((r = storage_tx(human.st, STORAGE_TX_WRITE, bcl_tx, &t)) == -EALREADY) {
        fail(j, 400, "invalid_request", "the logout token was used already");
    } else if (r < 0) {
        log_error("upstream %s: back-channel logout: %s", j->provider->id, storage_last_error());
        fail(j, 500, "server_error", "the logout could not be recorded");
    } else {
        j->status = 200;
        log_info(
            "upstream %s: back-channel logout (%s): ended %u browser, %u OAuth 2.0, %u compat session(s)",
            j->provider->id, config_upstream_backchannel_name(j->provider->on_backchannel_logout),
            j->ended.browser_sessions, j->ended.oauth_sessions, j->ended.compat_sessions);
    }
    json_decref(claims);
}

static void bcl_free(struct bcl_job *j)
{
    storage_upstream_logout_clear(&j->ended);
    free(j->token);
    free(j);
}

static void bcl_done(struct masd_request *r, void *arg)
{
    struct bcl_job *j = arg;
    if (r)
        respond_json(r, j->status, j->error, j->description);
    bcl_free(j);
}

void human_upstream_backchannel_logout(struct masd_request *r)
{
    int cursor = 0;
    if (!masd_media_type_is(masd_req_header(r, "content-type", &cursor),
                            MASD_STR("application/x-www-form-urlencoded"))) {
        respond_json(r, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
        return;
    }
    char *token = NULL;
    int rc = form_get(r->body, "logout_token", &token);
    if (rc != 1 || !*token) {
        free(token);
        respond_json(r, 400, "invalid_request",
                     rc == -EEXIST ? "logout_token is given more than once"
                     : rc < 0      ? "the body is not a valid form"
                                   : "the logout_token parameter is missing");
        return;
    }
    masd_str id = {r->path.ptr + strlen(PREFIX), r->path.len - strlen(PREFIX)};
    const struct config_upstream_provider *p = config_upstream_provider(human.cfg, id.ptr, id.len);
    if (!p || !p->enabled || !human.rp) {
        free(token);
        respond_json(r, 404, "invalid_request", "no such upstream provider");
        return;
    }
    struct bcl_job *j = calloc(1, sizeof(*j));
    if (!j) {
        free(token);
        respond_json(r, 500, "server_error", "out of memory");
        return;
    }
    j->provider = p;
    j->token = token;
    if (masd_defer_outbound(r, bcl_work, bcl_done, j) == MASD_DEFER_FULL) {
        bcl_free(j);
        masd_add_header(r, "retry-after", MASD_STR("5"));
        respond_json(r, 503, "temporarily_unavailable", "too many requests are waiting");
    }
}
