/* GET and POST /_matrix/client/{version}/login (MAS: crates/handlers/src/compat/login.rs).
 *
 * Both logins end in the same step: on the outbound pool, one write transaction that starts the
 * compat session (compat_session_start: device replacement, MAS's compat_login policy, the
 * session and its tokens), then its device on the homeserver (hs_device_create), so the client
 * never holds a token the homeserver would refuse. No worker thread ever waits for a hash or for
 * the homeserver, so neither a login storm nor a slow homeserver can take the pool from
 * introspection.
 *
 * m.login.password runs two steps before it, each handed back to the event loop before the
 * next: on the worker pool the per-IP limit, the lookup and the per-account limit; on the
 * password-hashing thread the check. These and the writes of the last step are
 * password_login.h's, shared with the HTML login, with its rules against telling whether an
 * account exists. What this API adds: names only (no e-mail address, as MAS), and a deactivated
 * account is answered as an unknown one (MAS: user_password_login filters it out as "user not
 * found"), a locked one with 401 M_USER_LOCKED after a right password.
 *
 * m.login.token exchanges the loginToken of a compat SSO login (compat/sso_redirect.c, then
 * masd-human's confirmation page) in that transaction: the login must be fulfilled, not
 * exchanged, at most 30 s ago (else 403 "Login token expired"), its browser session not ended
 * and its user not deactivated (else 403 "Invalid login token"; locked: 401 M_USER_LOCKED). The
 * exchange is a compare-and-set in the same transaction as the session, so a token is good for
 * one session only, whichever process sees it. The session records the browser session.
 *
 * With matrix.kind synapse_read_only masd cannot create devices: neither login is offered, and
 * both are refused with a clear error before any work. */
#include "hs_sync.h"
#include "log.h"
#include "compat/matrix_error.h"
#include "compat/compat.h"
#include "oauth.h"
#include "password_login.h"
#include "storage_upstream.h"
#include "random.h"
#include "compat/session.h"
#include "clock.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_ID_LEN 10 /* MAS: 10 alphanumeric characters */

/* How a login ends: the answer it gets. */
enum outcome {
    L_OK,
    L_FORBIDDEN,     /* 403 Invalid username/password */
    L_LOCKED,        /* 401 M_USER_LOCKED */
    L_LIMITED,       /* 429, retry_after_ms */
    L_BUSY,          /* 429: a queue was full, retry_after_ms */
    L_TOKEN_INVALID, /* 403 Invalid login token */
    L_TOKEN_EXPIRED, /* 403 Login token expired */
    L_POLICY,        /* 403: MAS's compat_login policy said no */
    L_INTERNAL,      /* 500, logged */
};

struct login_job {
    enum compat_login_type type;
    struct password_login pl; /* m.login.password: the name, the password, the network; the check */
    char *token;              /* m.login.token */
    /* in: copies, since the request may be gone while the job runs */
    char device_id[STORAGE_DEVICE_ID_MAX + 1]; /* "" until drawn */
    char *display_name, *user_agent;
    char ip[MASD_ADDR_STRLEN]; /* the client's address for the policy, "" when none */
    bool refresh;
    /* the job's own state */
    struct storage_user user; /* who logs in: the password's account, the SSO login's browser's */
    struct storage_compat_session session;
    struct policy_result denied;
    bool hard_limit; /* denied by the session limit alone */
    /* out */
    struct compat_session_tokens tokens;
    enum outcome outcome;
    int64_t retry_after_ms;
};

static json_t *flows;

static void login_job_free(struct login_job *j)
{
    password_login_clear(&j->pl);
    if (j->token)
        OPENSSL_cleanse(j->token, strlen(j->token));
    free(j->token);
    free(j->display_name);
    free(j->user_agent);
    policy_result_clear(&j->denied);
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

/* The session, as both logins start it (compat/session.h). */
static int start_session(struct storage_tx *tx, struct login_job *j, const char *browser_session_id,
                         int64_t now)
{
    struct compat_session_start in = {
        .user = &j->user,
        .device_id = j->device_id,
        .display_name = j->display_name,
        .user_agent = j->user_agent,
        .ip = j->ip[0] ? j->ip : NULL,
        .browser_session_id = browser_session_id,
        .login = j->type == COMPAT_LOGIN_TOKEN ? POLICY_COMPAT_LOGIN_TOKEN : POLICY_COMPAT_LOGIN_PASSWORD,
        .refresh = j->refresh,
    };
    return compat_session_start(tx, &in, now, &j->session, &j->tokens, &j->denied);
}

/* ---- m.login.password -------------------------------------------------------------------------- */

static int password_precheck(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    return password_login_precheck(tx, &j->pl);
}

/* Step 1, on the worker pool. */
static void password_lookup(void *arg)
{
    struct login_job *j = arg;
    if (storage_tx(oauth.st, STORAGE_TX_WRITE, password_precheck, j) < 0) {
        log_error("login: %s", storage_last_error());
        j->pl.outcome = PASSWORD_LOGIN_INTERNAL;
    }
}

/* Step 2, on the hashing thread. */
static void password_verify(void *arg)
{
    struct login_job *j = arg;
    password_login_verify(&j->pl, oauth.cfg);
}

static int password_commit(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    int64_t now = masd_now();
    int r = password_login_record(tx, &j->pl, now);
    return r < 0 ? r : start_session(tx, j, NULL, now);
}

/* The answer of a password check that did not succeed. */
static enum outcome password_outcome(const struct password_login *pl)
{
    switch (pl->outcome) {
    case PASSWORD_LOGIN_OK:
        return L_OK;
    case PASSWORD_LOGIN_FORBIDDEN:
    case PASSWORD_LOGIN_DEACTIVATED: /* MAS: a deactivated user is not found */
        return L_FORBIDDEN;
    case PASSWORD_LOGIN_LOCKED:
        return L_LOCKED;
    case PASSWORD_LOGIN_LIMITED:
        return L_LIMITED;
    case PASSWORD_LOGIN_BUSY:
        return L_BUSY;
    case PASSWORD_LOGIN_INTERNAL:
        break;
    }
    return L_INTERNAL;
}

/* ---- m.login.token ------------------------------------------------------------------------------ */

/* The exchange of a compat SSO login's token (MAS: login.rs token_login): every refusal leaves
 * the database as it was (the transaction returns 0 with the outcome, or rolls back). */
static int token_commit(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    int64_t now = masd_now();
    struct storage_compat_sso_login l;
    struct storage_browser_session bs;
    j->outcome = L_OK;
    int r = storage_compat_sso_login_lookup(tx, j->token, &l);
    if (r == -ENOENT || (r >= 0 && (!l.fulfilled_at || l.exchanged_at))) {
        if (r >= 0 && l.exchanged_at)
            log_info("compat SSO login %s: its token was presented again after the exchange", l.id);
        j->outcome = L_TOKEN_INVALID; /* never issued, not confirmed yet, or used */
        return 0;
    }
    if (r < 0)
        return r;
    if (now > l.fulfilled_at + STORAGE_COMPAT_SSO_TOKEN_TTL_MS) {
        j->outcome = L_TOKEN_EXPIRED;
        return 0;
    }
    if ((r = storage_browser_session_get(tx, l.browser_session_id, &bs)) < 0 ||
        (r = storage_user_get(tx, bs.user_id, &j->user)) < 0)
        return r;
    if (bs.finished_at || j->user.deactivated_at) {
        j->outcome = L_TOKEN_INVALID;
        return 0;
    }
    if (j->user.locked_at) {
        j->outcome = L_LOCKED;
        return 0;
    }
    if ((r = start_session(tx, j, bs.id, now)) < 0)
        return r;
    return storage_compat_sso_login_exchange(tx, l.id, j->session.id, now);
}

/* ---- the last step, shared ---------------------------------------------------------------------- */

/* Whether the only violation is the session limit (MAS answers that one in its own words). */
static bool only_session_limit(const struct policy_result *res)
{
    return res->n == 1 && res->violations[0].code &&
           strcmp(res->violations[0].code, "too-many-sessions") == 0;
}

/* On the outbound pool: the session (waiting while a device sync of the user runs), then its
 * device on the homeserver; a failure there ends the session again (MAS: 500 M_UNKNOWN). */
static void login_finish(void *arg)
{
    struct login_job *j = arg;
    bool password = j->type == COMPAT_LOGIN_PASSWORD;
    if (!j->device_id[0] && random_alnum(j->device_id, DEVICE_ID_LEN) < 0) {
        j->outcome = L_INTERNAL;
        return;
    }
    if (password)
        j->user = j->pl.user;
    unsigned flags = STORAGE_TX_WRITE | (password && j->pl.upgrade ? STORAGE_TX_DURABLE : 0);
    int r = hs_session_tx(oauth.st, flags, password ? password_commit : token_commit, j);
    if (r == -EPERM) {
        j->outcome = L_POLICY;
        j->hard_limit = only_session_limit(&j->denied);
        log_info("login of user %s: refused by the policy (%s)", j->user.id,
                 j->denied.n ? j->denied.violations[0].msg : "?");
        return;
    }
    if (r == -EALREADY) { /* the same token's other exchange won */
        j->outcome = L_TOKEN_INVALID;
        return;
    }
    if (r < 0) {
        log_error("login: %s", r == -EBUSY ? "a device sync of the user did not end" : storage_last_error());
        j->outcome = L_INTERNAL;
        return;
    }
    if (j->outcome != L_OK)
        return;
    struct homeserver_result res = {0};
    r = hs_device_create(oauth.st, oauth.hs, &oauth.cfg->matrix, &j->user, j->device_id, j->display_name,
                         STORAGE_SESSION_COMPAT, j->session.id, &res);
    if (r < 0) {
        log_error("login of user %s: cannot create device %s on the homeserver, session ended: %s",
                  j->user.id, j->device_id, res.message);
        j->outcome = L_INTERNAL;
    }
}

static void login_respond_ok(struct masd_request *r, struct login_job *j)
{
    char user_id[STORAGE_USERNAME_MAX + 300];
    snprintf(user_id, sizeof(user_id), "@%s:%s", j->user.username, oauth.cfg->matrix.homeserver);
    json_t *doc = json_pack("{s:s, s:s, s:s}", "access_token", j->tokens.access_token, "device_id",
                            j->device_id, "user_id", user_id);
    if (doc && j->refresh) {
        json_object_set_new(doc, "refresh_token", json_string(j->tokens.refresh_token));
        json_object_set_new(doc, "expires_in_ms", json_integer(COMPAT_TOKEN_TTL_MS));
    }
    matrix_respond_json(r, 200, doc);
}

static void login_done(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (r) {
        switch (j->outcome) {
        case L_OK:
            login_respond_ok(r, j);
            break;
        case L_FORBIDDEN:
            matrix_error(r, 403, "M_FORBIDDEN", "Invalid username/password");
            break;
        case L_LOCKED:
            matrix_error(r, 401, "M_USER_LOCKED", "User account has been locked");
            break;
        case L_LIMITED:
            matrix_error_limited(r, "Too many login attempts", j->retry_after_ms);
            break;
        case L_BUSY:
            matrix_error_limited(r, "Too many logins in progress", j->retry_after_ms);
            break;
        case L_TOKEN_INVALID:
            matrix_error(r, 403, "M_FORBIDDEN", "Invalid login token");
            break;
        case L_TOKEN_EXPIRED:
            matrix_error(r, 403, "M_FORBIDDEN", "Login token expired");
            break;
        case L_POLICY:
            matrix_error(r, 403, "M_FORBIDDEN",
                         j->hard_limit
                             ? "You have reached your hard device limit. Please visit your account page "
                               "to sign some out."
                             : "Login denied by the policy enforced by this service");
            break;
        case L_INTERNAL:
            matrix_error_internal(r);
            break;
        }
    }
    login_job_free(j);
}

/* Goes on to the last step, or answers when the outbound queue is full. */
static void login_go_finish(struct masd_request *r, struct login_job *j)
{
    if (masd_defer_outbound(r, login_finish, login_done, j) == MASD_DEFER_QUEUED)
        return;
    j->outcome = L_BUSY;
    j->retry_after_ms = 1000;
    login_done(r, j);
}

/* After the password check, on the loop: a right password of a usable account goes on to the
 * session; anything else is answered. */
static void password_checked(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    j->outcome = password_outcome(&j->pl);
    j->retry_after_ms = j->pl.retry_after_ms;
    if (r && j->outcome == L_OK) {
        login_go_finish(r, j);
        return;
    }
    login_done(r, j);
}

/* After the lookup, on the loop: go on to the password check, or answer. */
static void password_looked_up(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (r && j->pl.outcome == PASSWORD_LOGIN_OK) {
        if (masd_defer_cpu(r, password_verify, password_checked, j) == MASD_DEFER_QUEUED)
            return;
        j->pl.outcome = PASSWORD_LOGIN_BUSY;
        j->pl.retry_after_ms = MASD_CPU_RETRY_AFTER_MS;
    }
    password_checked(r, j);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The job for a parsed request, or NULL (out of memory). */
static struct login_job *login_job_new(struct masd_request *r, const struct compat_login_request *in)
{
    struct login_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->type = in->type;
    int rc = 0;
    if (in->type == COMPAT_LOGIN_PASSWORD)
        rc = password_login_init(&j->pl, oauth.cfg, in->user, in->password, in->password_len, &r->client, 0);
    else if (!(j->token = strdup(in->token)))
        rc = -ENOMEM;
    if (in->device_id)
        snprintf(j->device_id, sizeof(j->device_id), "%s", in->device_id);
    j->refresh = in->refresh_token;
    j->display_name = dup_or_null(in->display_name);
    j->user_agent = dup_or_null(compat_request_header(r, "user-agent", STORAGE_SHORT_TEXT_MAX));
    if (r->client.family == AF_INET || r->client.family == AF_INET6)
        addr_format(&r->client, j->ip);
    if (rc < 0 || (in->display_name && !j->display_name)) {
        login_job_free(j);
        return NULL;
    }
    return j;
}

static void login_post(struct masd_request *r)
{
    json_t *doc;
    struct compat_login_request in;
    struct compat_error err;
    if (compat_request_json(r, false, &doc) < 0)
        return;
    if (compat_login_parse(doc, &in, &err) < 0) {
        json_decref(doc);
        matrix_error(r, err.status, err.errcode, err.error);
        return;
    }
    if (in.type == COMPAT_LOGIN_PASSWORD && !oauth.cfg->passwords.enabled) {
        json_decref(doc);
        matrix_error(r, 400, "M_UNKNOWN", "Invalid login type");
        return;
    }
    if (hs_config_read_only(&oauth.cfg->matrix)) {
        json_decref(doc);
        matrix_error(r, 400, "M_UNKNOWN",
                     "Login is not possible: masd cannot create devices on the homeserver "
                     "(matrix.kind is synapse_read_only)");
        return;
    }
    struct login_job *j = login_job_new(r, &in);
    json_decref(doc);
    if (!j) {
        matrix_error_internal(r);
        return;
    }
    if (j->type == COMPAT_LOGIN_TOKEN) {
        login_go_finish(r, j);
        return;
    }
    if (masd_defer(r, password_lookup, password_looked_up, j) != MASD_DEFER_QUEUED) {
        login_job_free(j);
        matrix_error_limited(r, "The server is busy", 1000);
    }
}

/* ---- GET: the flows, with the upstream providers ------------------------------------------- */

/* The m.login.sso flow lists the enabled upstream providers as the client-server API's
 * identity_providers (Matrix spec, GET /login: id, name, brand), read from the database on each
 * GET (masd-human's start-up sync writes them). The id a client sends back to
 * login/sso/redirect/{idp} is the provider's synapse_idp_id when it has one (what Synapse's
 * clients stored), else its ULID. */
struct flows_job {
    struct storage_upstream_button_list providers;
    int r;
};

static int providers_tx(struct storage_tx *tx, void *arg)
{
    struct flows_job *j = arg;
    return storage_upstream_provider_buttons(tx, &j->providers);
}

static void providers_work(void *arg)
{
    struct flows_job *j = arg;
    if ((j->r = storage_tx(oauth.st, STORAGE_TX_READ, providers_tx, j)) < 0)
        log_error("compat login: the upstream providers: %s", storage_last_error());
}

static json_t *flows_with(const struct storage_upstream_button_list *l)
{
    json_t *out = json_deep_copy(flows), *list = json_object_get(out, "flows"), *flow;
    size_t i;
    json_array_foreach(list, i, flow)
    {
        const char *type = json_string_value(json_object_get(flow, "type"));
        if (!type || strcmp(type, "m.login.sso") != 0 || !l->n)
            continue;
        json_t *idps = json_array();
        for (size_t k = 0; k < l->n; k++) {
            const struct storage_upstream_button *b = &l->items[k];
            json_array_append_new(idps, json_pack("{s:s, s:s, s:s*}", "id",
                                                  b->synapse_idp_id[0] ? b->synapse_idp_id : b->id, "name",
                                                  storage_upstream_button_label(b), "brand",
                                                  b->brand_name[0] ? b->brand_name : NULL));
        }
        json_object_set_new(flow, "identity_providers", idps);
    }
    return out;
}

static void providers_done(struct masd_request *r, void *arg)
{
    struct flows_job *j = arg;
    if (r && j->r < 0)
        matrix_error_internal(r);
    else if (r)
        matrix_respond_json(r, 200, flows_with(&j->providers));
    storage_upstream_button_list_clear(&j->providers);
    free(j);
}

void compat_login(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    if (masd_str_eq(r->method, MASD_STR("POST"))) {
        login_post(r);
        return;
    }
    struct flows_job *j = oauth.cfg->n_upstream_providers ? calloc(1, sizeof(*j)) : NULL;
    if (!j) { /* no providers configured (or no memory): the flows as they are */
        matrix_respond_json(r, 200, json_incref(flows));
        return;
    }
    if (masd_defer(r, providers_work, providers_done, j) != MASD_DEFER_QUEUED) {
        free(j);
        matrix_error_limited(r, "The server is busy", 1000);
    }
}

/* The flows masd offers (MAS: login.rs get): password login when passwords are enabled, then
 * SSO with MAS's flags and login tokens; none of them when masd cannot create devices on the
 * homeserver. */
int compat_login_setup(const struct config *cfg)
{
    json_t *list = json_array();
    bool devices = !hs_config_read_only(&cfg->matrix);
    if (cfg->passwords.enabled && devices)
        json_array_append_new(list, json_pack("{s:s}", "type", "m.login.password"));
    if (devices) {
        json_array_append_new(list,
                              json_pack("{s:s, s:b, s:b}", "type", "m.login.sso", "oauth_aware_preferred", 1,
                                        "org.matrix.msc3824.delegated_oidc_compatibility", 1));
        json_array_append_new(list, json_pack("{s:s}", "type", "m.login.token"));
    }
    json_decref(flows);
    flows = json_pack("{s:o}", "flows", list);
    return flows ? 0 : -ENOMEM;
}
