/* POST /oauth2/token (RFC 6749 §3.2; MAS: crates/handlers/src/oauth2/token.rs): the client
 * authenticates (client/auth.h, every method), then its grant is judged in MAS's order.
 *
 *  - authorization_code: the whole exchange runs on the outbound pool, as the compat login's
 *    last step (compat/login.c): one write transaction (which waits, sleeping, while a device
 *    sync of the user holds its lock: hs_session_tx) judges the code, creates the OAuth session
 *    with its device(s) and tokens and marks the grant exchanged by compare-and-set; then the
 *    devices are created on the homeserver (hs_device_create) before the answer, and a failure
 *    there ends the session (500 server_error). MAS's weaknesses fixed: a redirect_uri given at
 *    /authorize must be given again, identical (RFC 6749 §4.1.3).
 *  - refresh_token: rotation with MAS's lost-response rule, on the worker pool in one write
 *    transaction; a locked or deactivated user's refresh ends the session (RFC 9700 §4.14;
 *    MAS does not check).
 *  - client_credentials: MAS's policy decides the scope; an access token only.
 *
 * Nothing on the event loop waits: the loop reads the credentials and the form, the rest is
 * deferred (docs/architecture.md §2). */
#include "client/auth.h"
#include "compat/compat.h"
#include "clock.h"
#include "hs_sync.h"
#include "log.h"
#include "oauth.h"
#include "policy.h"
#include "id_token.h"
#include "token.h"
#include "token_request.h"
#include "user_agent.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MAS: crates/handlers/src/oauth2/token.rs. */
#define CODE_MAX_AGE_MS     (10 * 60 * 1000) /* a code is redeemed within 10 min of consent */
#define CODE_REUSE_GRACE_MS (20 * 1000)      /* a reuse later than this ends the session */
#define MAX_DEVICES         4
#define CLIENT_NAME_MAX     256

struct token_job {
    /* in, read on the loop */
    struct client_credentials creds;
    struct token_request req;
    int parse_rc; /* token_request_parse's, answered after the client authenticated (as MAS) */
    const char *parse_why;
    char *user_agent;
    char ip[STORAGE_IP_SIZE];
    /* the answer: an error (status != 0) or the tokens */
    int rc; /* < 0: 500 */
    int status;
    const char *error;
    const char *why;
    char *why_owned; /* a policy's violations, joined */
    struct client_auth_result auth;
    char access_token[TOKEN_LEN + 1], refresh_token[TOKEN_LEN + 1];
    int64_t now, expires_at;
    char scope[STORAGE_SCOPE_MAX + 1];
    char *id_token;
    /* authorization_code: what the homeserver is told after the commit */
    struct storage_user user;
    char session_id[STORAGE_ID_SIZE];
    char device_buf[STORAGE_SCOPE_MAX + MAX_DEVICES + 1];
    const char *devices[MAX_DEVICES];
    size_t n_devices;
    char device_name[HOMESERVER_DEVICE_NAME_MAX + 1]; /* bytes: never more characters than that */
};

static void token_job_free(struct token_job *j)
{
    client_credentials_clear(&j->creds);
    token_request_clear(&j->req);
    free(j->user_agent);
    free(j->why_owned);
    free(j->id_token);
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

static int fail(struct token_job *j, int status, const char *error, const char *why)
{
    j->status = status;
    j->error = error;
    j->why = why;
    return 0;
}

static void reset_outcome(struct token_job *j)
{
    j->status = 0;
    j->error = j->why = NULL;
    free(j->why_owned);
    j->why_owned = NULL;
    free(j->id_token);
    j->id_token = NULL;
    j->access_token[0] = j->refresh_token[0] = '\0';
    j->expires_at = 0;
    j->scope[0] = '\0';
    j->session_id[0] = '\0';
    j->auth = (struct client_auth_result){0};
}

/* The client's registered grant types (a JSON array) list this one. */
static bool client_has_grant(const struct storage_oauth_client *c, const char *grant)
{
    json_t *a = json_loads(c->grant_types ? c->grant_types : "[]", 0, NULL);
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) found |= json_is_string(v) && strcmp(json_string_value(v), grant) == 0;
    json_decref(a);
    return found;
}

/* A string of the client's metadata, copied into out ("" when absent). */
static void client_meta(const struct storage_oauth_client *c, const char *key, char *out, size_t size)
{
    json_t *m = json_loads(c->metadata ? c->metadata : "{}", 0, NULL);
    const char *v = json_string_value(json_object_get(m, key));
    snprintf(out, size, "%s", v ? v : "");
    json_decref(m);
}

/* Authenticates the client, then answers a form that did not parse (MAS: the client first,
 * then `form.ok_or(BadRequest)`), then a client that does not list `grant` (NULL: any) with
 * 401 unauthorized_client. 1 authenticated (*client to be cleared), 0 answered, < 0 error. */
static int authenticate(struct storage_tx *tx, struct token_job *j, struct storage_oauth_client *client,
                        const char *grant)
{
    reset_outcome(j);
    int r = client_authenticate(tx, &j->creds, oauth.token_url, j->now, client, &j->auth);
    if (r < 0) {
        j->status = j->auth.status, j->error = j->auth.error, j->why = j->auth.why;
        return j->auth.status >= 500 ? r : 0; /* a refusal still commits a claimed jti */
    }
    if (j->parse_rc < 0) {
        storage_oauth_client_clear(client);
        fail(j, 400, "invalid_request", j->parse_why);
        return 0;
    }
    if (grant && !client_has_grant(client, grant)) {
        storage_oauth_client_clear(client);
        fail(j, 401, "unauthorized_client", NULL);
        return 0;
    }
    return 1;
}

static int issue_pair(struct storage_tx *tx, struct token_job *j, const char *session_id, bool refresh,
                      struct storage_access_token *at, struct storage_refresh_token *rt)
{
    j->expires_at = j->now + OAUTH_ACCESS_TOKEN_TTL_MS;
    int r = token_generate(TOKEN_ACCESS, j->access_token);
    if (r >= 0)
        r = storage_access_token_add(tx, STORAGE_SESSION_OAUTH, session_id, j->access_token, j->expires_at,
                                     j->now, at);
    if (r >= 0 && refresh)
        r = token_generate(TOKEN_REFRESH, j->refresh_token);
    if (r >= 0 && refresh)
        r = storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, session_id, at->id, j->refresh_token, j->now,
                                      rt);
    return r < 0 ? r : 0;
}

/* Ends an OAuth session and, when it had a user, queues the device sync that tells the
 * homeserver (in the caller's transaction). */
static int end_session(struct storage_tx *tx, const char *session_id, const char *user_id, int64_t now)
{
    int r = storage_session_finish(tx, STORAGE_SESSION_OAUTH, session_id, now);
    if (r == -ENOENT)
        return 0;
    if (r > 0 && user_id[0])
        r = hs_queue_sync_devices(tx, &oauth.cfg->matrix, user_id, now);
    return r < 0 ? r : 0;
}

/* ---- authorization_code ---------------------------------------------------------------------- */

static bool has_scope_token(const char *scope, const char *token)
{
    size_t n = strlen(token);
    for (const char *s = scope; *s;) {
        size_t len = strcspn(s, " ");
        if (len == n && memcmp(s, token, n) == 0)
            return true;
        s += len;
        while (*s == ' ')
            s++;
    }
    return false;
}

static int id_token(struct storage_tx *tx, struct token_job *j, const struct storage_oauth_client *client,
                    const struct storage_authorization_grant *g)
{
    char alg[16];
    int64_t auth_time = 0;
    client_meta(client, "id_token_signed_response_alg", alg, sizeof(alg));
    int r = storage_browser_session_last_auth(tx, g->browser_session_id, &auth_time);
    if (r < 0 && r != -ENOENT)
        return r;
    struct oauth_id_token_in in = {
        .client_id = client->id,
        .alg = alg,
        .sub = j->user.id,
        .nonce = g->nonce[0] ? g->nonce : NULL,
        .auth_time_ms = r < 0 ? 0 : auth_time,
        .access_token = j->access_token,
        .code = j->req.code,
        .now_ms = j->now,
    };
    r = oauth_id_token(&in, &j->id_token);
    if (r < 0)
        log_error("token: cannot sign the ID token for client %s: %s", client->id, strerror(-r));
    return r;
}

/* MAS's stage checks, then the client, the redirect URI, PKCE and the approving browser
 * session. 1 when the code may be exchanged, 0 answered (j->status), < 0 error. */
static int judge_code(struct storage_tx *tx, struct token_job *j, const struct storage_oauth_client *client,
                      struct storage_authorization_grant *g)
{
    int r = storage_authorization_grant_lookup_code(tx, j->req.code, g);
    if (r == -ENOENT || r == -EINVAL)
        return fail(j, 400, "invalid_grant", "The authorization code is unknown.");
    if (r < 0)
        return r;
    if (g->cancelled_at)
        return fail(j, 400, "invalid_grant", "The authorization grant was cancelled.");
    if (g->exchanged_at) {
        /* RFC 6749 §4.1.2: a code used twice may have been stolen; after the grace period (a
         * client's retry) the session it made is ended (MAS's rule) */
        if (j->now - g->exchanged_at > CODE_REUSE_GRACE_MS && g->session_id[0]) {
            struct storage_oauth_session s;
            if ((r = storage_oauth_session_get(tx, g->session_id, &s)) < 0 && r != -ENOENT)
                return r;
            if (r == 0 && !s.finished_at && (r = end_session(tx, s.id, s.user_id, j->now)) < 0)
                return r;
            log_info("token: authorization code of grant %s used again, session %s ended", g->id,
                     g->session_id);
        }
        return fail(j, 400, "invalid_grant", "The authorization code was already used.");
    }
    if (!g->fulfilled_at)
        return fail(j, 400, "invalid_grant", "The authorization grant is not approved.");
    if (j->now - g->fulfilled_at > CODE_MAX_AGE_MS)
        return fail(j, 400, "invalid_grant", "The authorization code has expired.");
    if (strcmp(g->client_id, client->id) != 0)
        return fail(j, 401, "unauthorized_client", "The authorization code was issued to another client.");
    /* RFC 6749 §4.1.3 (MAS does not compare) */
    if (g->redirect_uri_given && (!j->req.redirect_uri || strcmp(j->req.redirect_uri, g->redirect_uri) != 0))
        return fail(j, 400, "invalid_grant", "The redirect_uri is not the one of the authorization request.");
    bool challenge = g->code_challenge[0] != '\0', verifier = j->req.code_verifier != NULL;
    if (challenge != verifier)
        return fail(j, 400, "invalid_request",
                    challenge ? "The code_verifier is missing (PKCE)."
                              : "A code_verifier was sent without PKCE.");
    if (challenge) {
        const char *why;
        if ((r = token_pkce_verify(g->code_challenge_method, g->code_challenge, j->req.code_verifier,
                                   &why)) == -ENOMEM)
            return r;
        if (r < 0) {
            if (asprintf(&j->why_owned, "PKCE verification failed: %s", why) < 0)
                return -ENOMEM;
            return fail(j, 400, "invalid_grant", j->why_owned);
        }
    }
    struct storage_browser_session bs;
    if ((r = storage_browser_session_get(tx, g->browser_session_id, &bs)) < 0 && r != -ENOENT)
        return r;
    if (r == -ENOENT || bs.finished_at)
        return fail(j, 400, "invalid_grant", "The browser session that approved the code has ended.");
    if ((r = storage_user_get(tx, bs.user_id, &j->user)) < 0)
        return r;
    if (j->user.locked_at || j->user.deactivated_at)
        return fail(j, 400, "invalid_grant", "The account is locked or deactivated.");
    return 1;
}

static int exchange_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = authenticate(tx, j, &client, "authorization_code");
    if (r <= 0)
        return r;
    struct storage_authorization_grant g;
    r = judge_code(tx, j, &client, &g);
    if (r <= 0)
        goto out;
    j->n_devices = token_scope_devices(g.scope, j->device_buf, j->devices, MAX_DEVICES);
    /* one active session per (user, device), compat and OAuth alike: a device named again is
     * taken over, as the compat login replaces a device (compat/session.c) */
    if (j->n_devices && (r = hs_session_may_start(tx, j->user.id, j->now)) < 0)
        goto out;
    for (size_t i = 0; i < j->n_devices && r >= 0; i++)
        r = storage_device_finish_sessions(tx, j->user.id, j->devices[i], j->now);
    struct storage_oauth_session s;
    if (r >= 0)
        r = storage_oauth_session_create(tx, client.id, j->user.id, g.browser_session_id, g.scope,
                                         j->user_agent, j->now, &s);
    for (size_t i = 0; i < j->n_devices && r >= 0; i++)
        r = storage_oauth_session_add_device(tx, s.id, j->devices[i]);
    struct storage_access_token at;
    struct storage_refresh_token rt;
    if (r >= 0)
        r = issue_pair(tx, j, s.id, true, &at, &rt);
    if (r >= 0 && has_scope_token(g.scope, "openid"))
        r = id_token(tx, j, &client, &g);
    if (r >= 0)
        r = storage_authorization_grant_exchange(tx, g.id, s.id, j->now);
    if (r == -EALREADY) { /* a concurrent exchange of the same code won: roll back ours */
        fail(j, 400, "invalid_grant", "The authorization code was already used.");
        goto out;
    }
    if (r >= 0) {
        snprintf(j->scope, sizeof(j->scope), "%s", g.scope);
        memcpy(j->session_id, s.id, sizeof(j->session_id));
        char name[CLIENT_NAME_MAX];
        client_meta(&client, "client_name", name, sizeof(name));
        /* "<client> on <device>" from the token request's User-Agent, as MAS names it */
        struct user_agent ua;
        user_agent_parse(masd_str_from(j->user_agent), &ua);
        user_agent_device_name(&ua, name[0] ? name : client.id, j->device_name, sizeof(j->device_name));
    }
out:
    storage_oauth_client_clear(&client);
    return r < 0 ? r : 0;
}

/* On the outbound pool: the transaction, then the devices on the homeserver. */
static void exchange_work(void *arg)
{
    struct token_job *j = arg;
    client_auth_sync_once();
    j->rc = hs_session_tx(oauth.st, STORAGE_TX_WRITE, exchange_tx, j);
    if (j->rc == -EALREADY && j->status) {
        j->rc = 0;
        return;
    }
    if (j->rc < 0) {
        log_error("token: %s",
                  j->rc == -EBUSY ? "a device sync of the user did not end" : storage_last_error());
        return;
    }
    if (j->status)
        return;
    for (size_t i = 0; i < j->n_devices; i++) {
        struct homeserver_result res = {0};
        int r = hs_device_create(oauth.st, oauth.hs, &oauth.cfg->matrix, &j->user, j->devices[i],
                                 j->device_name, STORAGE_SESSION_OAUTH, j->session_id, &res);
        if (r < 0) {
            log_error("token: user %s: cannot create device %s on the homeserver, session %s ended: %s",
                      j->user.id, j->devices[i], j->session_id, res.message);
            j->rc = r;
            return;
        }
    }
}

/* ---- refresh_token ---------------------------------------------------------------------------- */

/* MAS's lost-response rule for a consumed token: its successor N is still unused (N neither
 * consumed nor revoked, N's access token never used, or deleted) → N's pair is revoked and 1
 * returned (rotate again from the old token); otherwise 0 (invalid_grant). */
static int revoke_unused_successor(struct storage_tx *tx, const struct storage_refresh_token *old,
                                   int64_t now)
{
    struct storage_refresh_token next;
    if (!old->next_id[0])
        return 0;
    int r = storage_oauth_refresh_token_get(tx, old->next_id, &next);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (next.consumed_at || next.revoked_at)
        return 0;
    struct storage_access_token a;
    r = next.access_token_id[0] ? storage_oauth_access_token_get(tx, next.access_token_id, &a) : -ENOENT;
    if (r < 0 && r != -ENOENT)
        return r;
    if (r == 0 && a.first_used_at)
        return 0;
    if (r == 0 && (r = storage_access_token_revoke(tx, STORAGE_SESSION_OAUTH, a.id, now)) < 0)
        return r;
    r = storage_oauth_refresh_token_revoke(tx, next.id, now);
    return r < 0 ? r : 1;
}

static int refresh_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = authenticate(tx, j, &client, "refresh_token");
    if (r <= 0)
        return r;
    struct storage_oauth_refresh_lookup l;
    r = storage_oauth_refresh_token_lookup(tx, j->req.refresh_token, &l);
    if (r == -ENOENT || r == -EINVAL) {
        r = fail(j, 400, "invalid_grant", "The refresh token is unknown.");
        goto out;
    }
    if (r < 0)
        goto out;
    if (l.session.finished_at || l.token.revoked_at || strcmp(l.session.client_id, client.id) != 0) {
        r = fail(j, 400, "invalid_grant", NULL);
        goto out;
    }
    /* RFC 9700 §4.14: the account's state is checked at refresh too (MAS does not); the
     * session ends, and the homeserver learns the device is gone */
    if (l.has_user && (l.user.locked_at || l.user.deactivated_at)) {
        r = end_session(tx, l.session.id, l.session.user_id, j->now);
        if (r >= 0)
            r = fail(j, 400, "invalid_grant", "The account is locked or deactivated.");
        goto out;
    }
    bool replay = l.token.consumed_at != 0;
    if (replay) {
        if ((r = revoke_unused_successor(tx, &l.token, j->now)) <= 0) {
            if (r == 0)
                r = fail(j, 400, "invalid_grant", "The refresh token was already used.");
            goto out;
        }
    }
    struct storage_access_token at;
    struct storage_refresh_token rt;
    r = issue_pair(tx, j, l.session.id, true, &at, &rt);
    if (r >= 0)
        r = replay ? storage_oauth_refresh_token_relink(tx, l.token.id, l.token.next_id, rt.id)
                   : storage_refresh_token_consume(tx, STORAGE_SESSION_OAUTH, l.token.id, rt.id, j->now);
    if (r == -EALREADY) { /* a concurrent refresh of the same token won: roll back ours */
        fail(j, 400, "invalid_grant", "The refresh token was already used.");
        goto out;
    }
    if (r >= 0 && l.token.access_token_id[0]) {
        r = storage_access_token_revoke(tx, STORAGE_SESSION_OAUTH, l.token.access_token_id, j->now);
        if (r == -ENOENT) /* deleted by cleanup */
            r = 0;
    }
    if (r >= 0)
        snprintf(j->scope, sizeof(j->scope), "%s", l.session.scope);
out:
    storage_oauth_client_clear(&client);
    return r < 0 ? r : 0;
}

/* ---- client_credentials ----------------------------------------------------------------------- */

static int join_violations(struct token_job *j, const struct policy_result *res)
{
    size_t len = 1;
    for (size_t i = 0; i < res->n; i++)
        len += strlen(res->violations[i].msg) + 2;
    char *s = malloc(len), *p = s;
    if (!s)
        return -ENOMEM;
    *p = '\0';
    for (size_t i = 0; i < res->n; i++)
        p += sprintf(p, "%s%s", i ? ", " : "", res->violations[i].msg);
    free(j->why_owned);
    j->why_owned = s;
    return 0;
}

static int client_credentials_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = authenticate(tx, j, &client, "client_credentials");
    if (r <= 0)
        return r;
    const char *scope = j->req.scope ? j->req.scope : "";
    struct policy_grant_input in = {
        .grant_type = POLICY_GRANT_CLIENT_CREDENTIALS,
        .scope = scope,
        .client_id = client.id,
        .user = NULL,
        .requester = {.ip = j->ip[0] ? j->ip : NULL, .user_agent = j->user_agent},
        .session_total = -1,
    };
    struct policy_result res = {0};
    if ((r = policy_authorization_grant(oauth.policy, &in, &res)) < 0)
        goto out;
    if (res.n) {
        r = join_violations(j, &res);
        policy_result_clear(&res);
        if (r >= 0)
            r = fail(j, 403, "invalid_scope", j->why_owned);
        goto out;
    }
    policy_result_clear(&res);
    struct storage_oauth_session s;
    struct storage_access_token at;
    r = storage_oauth_session_create(tx, client.id, NULL, NULL, scope, j->user_agent, j->now, &s);
    if (r >= 0)
        r = issue_pair(tx, j, s.id, false, &at, NULL);
    if (r >= 0)
        snprintf(j->scope, sizeof(j->scope), "%s", scope);
out:
    storage_oauth_client_clear(&client);
    return r < 0 ? r : 0;
}

/* Grants masd does not serve (yet): the client still authenticates first (MAS). */
static int unsupported_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = authenticate(tx, j, &client, NULL);
    if (r <= 0)
        return r;
    storage_oauth_client_clear(&client);
    return fail(j, 400, "unsupported_grant_type", NULL);
}

static void token_work(void *arg)
{
    struct token_job *j = arg;
    client_auth_sync_once();
    storage_tx_fn fn = j->parse_rc < 0                                  ? unsupported_tx
                       : j->req.grant == TOKEN_GRANT_REFRESH_TOKEN      ? refresh_tx
                       : j->req.grant == TOKEN_GRANT_CLIENT_CREDENTIALS ? client_credentials_tx
                                                                        : unsupported_tx;
    j->rc = storage_tx(oauth.st, STORAGE_TX_WRITE, fn, j);
    if (j->rc == -EALREADY && j->status)
        j->rc = 0;
    else if (j->rc < 0)
        log_error("token: %s", storage_last_error());
}

/* ---- the answer -------------------------------------------------------------------------------- */

static void free_string(void *p)
{
    free(p);
}

static void token_respond(struct masd_request *r, struct token_job *j)
{
    json_t *o = json_pack("{s:s, s:s, s:I}", "access_token", j->access_token, "token_type", "Bearer",
                          "expires_in", (json_int_t)((j->expires_at - j->now) / 1000));
    if (o && j->refresh_token[0])
        json_object_set_new(o, "refresh_token", json_string(j->refresh_token));
    if (o && j->scope[0]) /* MAS: an empty scope is left out */
        json_object_set_new(o, "scope", json_string(j->scope));
    if (o && j->id_token)
        json_object_set_new(o, "id_token", json_string(j->id_token));
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    masd_req_on_dispose(r, free_string, body);
    oauth_no_store(r);
    masd_respond(r, 200, "application/json", masd_str_from(body));
}

static void token_done(struct masd_request *r, void *arg)
{
    struct token_job *j = arg;
    if (r) {
        if (j->rc < 0)
            oauth_error(r, 500, "server_error", NULL);
        else if (j->status)
            oauth_error(r, j->status, j->error, j->why);
        else
            token_respond(r, j);
    }
    token_job_free(j);
}

/* On the loop: the credentials and the form. true when the request is answered. */
static bool token_front(struct masd_request *r, struct token_job *j)
{
    const char *error, *why;
    int rc = client_credentials_parse(r, r->body, &j->creds, &error, &why);
    if (rc < 0) {
        oauth_error(r, 400, rc == -ENOMEM ? "server_error" : error, why);
        return true;
    }
    if (j->creds.bearer) { /* the homeserver's shared secret is for introspection only */
        oauth_error(r, 401, "invalid_client", NULL);
        return true;
    }
    j->parse_rc = token_request_parse(r->body, &j->req, &j->parse_why);
    if (j->parse_rc == -ENOMEM) {
        oauth_error(r, 500, "server_error", NULL);
        return true;
    }
    const char *ua = compat_request_header(r, "user-agent", STORAGE_SHORT_TEXT_MAX);
    if (ua && !(j->user_agent = strdup(ua))) {
        oauth_error(r, 500, "server_error", NULL);
        return true;
    }
    char buf[MASD_ADDR_STRLEN];
    snprintf(j->ip, sizeof(j->ip), "%s", addr_format(&r->client, buf));
    j->now = masd_now();
    return false;
}

void oauth_token(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    struct token_job *j = calloc(1, sizeof(*j));
    if (!j) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    if (token_front(r, j)) {
        token_job_free(j);
        return;
    }
    enum masd_defer_status st = j->parse_rc == 0 && j->req.grant == TOKEN_GRANT_AUTHORIZATION_CODE
                                    ? masd_defer_outbound(r, exchange_work, token_done, j)
                                    : masd_defer(r, token_work, token_done, j);
    if (st != MASD_DEFER_QUEUED) {
        token_job_free(j);
        oauth_error(r, 503, "temporarily_unavailable", NULL);
    }
}
