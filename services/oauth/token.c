/* POST /oauth2/token (RFC 6749 §3.2; MAS: crates/handlers/src/oauth2/token.rs): the client
 * authenticates (client/auth.h, every method), then its grant is judged in MAS's order.
 *
 *  - authorization_code (token_session.c): the whole exchange runs on the outbound pool, as the
 *    compat login's last step (compat/login.c): one write transaction (which waits, sleeping,
 *    while a device sync of the user holds its lock: hs_session_tx) judges the code, creates the
 *    OAuth session with its device(s) and tokens and marks the grant exchanged by
 *    compare-and-set; then the devices are created on the homeserver (hs_device_create) before
 *    the answer, and a failure there ends the session (500 server_error). MAS's weaknesses
 *    fixed: a redirect_uri given at /authorize must be given again, identical (RFC 6749 §4.1.3).
 *  - urn:ietf:params:oauth:grant-type:device_code (token_device.c, RFC 8628): a poll is one
 *    write transaction on the worker pool (the client, then one statement for a pending grant);
 *    an approved grant is exchanged as an authorization code is, on the outbound pool.
 *  - refresh_token: rotation with MAS's lost-response rule, on the worker pool in one write
 *    transaction; a locked or deactivated user's refresh ends the session (RFC 9700 §4.14;
 *    MAS does not check).
 *  - client_credentials: MAS's policy decides the scope; an access token only.
 *
 * Nothing on the event loop waits: the loop reads the credentials and the form, the rest is
 * deferred (docs/architecture.md §2). */
#include "compat/compat.h"
#include "clock.h"
#include "hs_sync.h"
#include "log.h"
#include "oauth.h"
#include "policy.h"
#include "token_job.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int token_fail(struct token_job *j, int status, const char *error, const char *why)
{
    j->status = status;
    j->error = error;
    j->why = why;
    return 0;
}

void token_reset(struct token_job *j)
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
    j->n_devices = 0;
    j->exchange_due = false;
    j->auth = (struct client_auth_result){0};
}

void token_client_meta(const struct storage_oauth_client *c, const char *key, char *out, size_t size)
{
    json_t *m = json_loads(c->metadata ? c->metadata : "{}", 0, NULL);
    const char *v = json_string_value(json_object_get(m, key));
    snprintf(out, size, "%s", v ? v : "");
    json_decref(m);
}

int token_authenticate(struct storage_tx *tx, struct token_job *j, struct storage_oauth_client *client,
                       const char *grant)
{
    token_reset(j);
    int r = client_authenticate_for(tx, &j->creds, oauth.token_url, j->now, j->parse_rc, j->parse_why, grant,
                                    client, &j->auth);
    if (r <= 0)
        j->status = j->auth.status, j->error = j->auth.error, j->why = j->auth.why;
    return r;
}

int token_issue_pair(struct storage_tx *tx, struct token_job *j, const char *session_id, bool refresh,
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

int token_end_session(struct storage_tx *tx, const char *session_id, const char *user_id, int64_t now)
{
    int r = storage_session_finish(tx, STORAGE_SESSION_OAUTH, session_id, now);
    if (r == -ENOENT)
        return 0;
    if (r > 0 && user_id[0])
        r = hs_queue_sync_devices(tx, &oauth.cfg->matrix, user_id, now);
    return r < 0 ? r : 0;
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
    int r = token_authenticate(tx, j, &client, "refresh_token");
    if (r <= 0)
        return r;
    struct storage_oauth_refresh_lookup l;
    r = storage_oauth_refresh_token_lookup(tx, j->req.refresh_token, &l);
    if (r == -ENOENT || r == -EINVAL) {
        r = token_fail(j, 400, "invalid_grant", "The refresh token is unknown.");
        goto out;
    }
    if (r < 0)
        goto out;
    if (l.session.finished_at || l.token.revoked_at || strcmp(l.session.client_id, client.id) != 0) {
        r = token_fail(j, 400, "invalid_grant", NULL);
        goto out;
    }
    /* RFC 9700 §4.14: the account's state is checked at refresh too (MAS does not); the
     * session ends, and the homeserver learns the device is gone */
    if (l.has_user && (l.user.locked_at || l.user.deactivated_at)) {
        r = token_end_session(tx, l.session.id, l.session.user_id, j->now);
        if (r >= 0)
            r = token_fail(j, 400, "invalid_grant", "The account is locked or deactivated.");
        goto out;
    }
    bool replay = l.token.consumed_at != 0;
    if (replay) {
        if ((r = revoke_unused_successor(tx, &l.token, j->now)) <= 0) {
            if (r == 0)
                r = token_fail(j, 400, "invalid_grant", "The refresh token was already used.");
            goto out;
        }
    }
    struct storage_access_token at;
    struct storage_refresh_token rt;
    r = token_issue_pair(tx, j, l.session.id, true, &at, &rt);
    if (r >= 0)
        r = replay ? storage_oauth_refresh_token_relink(tx, l.token.id, l.token.next_id, rt.id)
                   : storage_refresh_token_consume(tx, STORAGE_SESSION_OAUTH, l.token.id, rt.id, j->now);
    if (r == -EALREADY) { /* a concurrent refresh of the same token won: roll back ours */
        token_fail(j, 400, "invalid_grant", "The refresh token was already used.");
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
    int r = token_authenticate(tx, j, &client, "client_credentials");
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
            r = token_fail(j, 403, "invalid_scope", j->why_owned);
        goto out;
    }
    policy_result_clear(&res);
    struct storage_oauth_session s;
    struct storage_access_token at;
    r = storage_oauth_session_create(tx, client.id, NULL, NULL, scope, j->user_agent, j->now, &s);
    if (r >= 0)
        r = token_issue_pair(tx, j, s.id, false, &at, NULL);
    if (r >= 0)
        snprintf(j->scope, sizeof(j->scope), "%s", scope);
out:
    storage_oauth_client_clear(&client);
    return r < 0 ? r : 0;
}

/* Grants masd does not serve, and the device grant while it is disabled (MAS: before the
 * client's grant types are looked at): the client still authenticates first (MAS). */
static int unsupported_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = token_authenticate(tx, j, &client, NULL);
    if (r <= 0)
        return r;
    storage_oauth_client_clear(&client);
    return token_fail(j, 400, "unsupported_grant_type", NULL);
}

static void token_work(void *arg)
{
    struct token_job *j = arg;
    client_auth_sync_once();
    storage_tx_fn fn = j->parse_rc < 0                                  ? unsupported_tx
                       : j->req.grant == TOKEN_GRANT_REFRESH_TOKEN      ? refresh_tx
                       : j->req.grant == TOKEN_GRANT_CLIENT_CREDENTIALS ? client_credentials_tx
                       : j->req.grant == TOKEN_GRANT_DEVICE_CODE && oauth.cfg->device_code_grant_enabled
                           ? token_device_poll_tx
                           : unsupported_tx;
    /* A device's poll writes only the time of the poll, which nobody misses after a crash of
     * the database server: no wait for its WAL flush (an fsync per poll on PostgreSQL). Not
     * when a client assertion's jti is claimed in it: that must not be forgotten. */
    unsigned flags = STORAGE_TX_WRITE | (fn == token_device_poll_tx && !j->creds.jwt ? STORAGE_TX_LAZY : 0);
    j->rc = storage_tx(oauth.st, flags, fn, j);
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
    if (r && j->rc >= 0 && !j->status && j->exchange_due) {
        /* a device grant found approved: its exchange, as a code's, on the outbound pool */
        j->exchange_due = false;
        if (masd_defer_outbound(r, token_exchange_work, token_done, j) == MASD_DEFER_QUEUED)
            return;
        token_fail(j, 503, "temporarily_unavailable", NULL);
    }
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
    if (client_credentials_read(r, &j->creds))
        return true;
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
                                    ? masd_defer_outbound(r, token_exchange_work, token_done, j)
                                    : masd_defer(r, token_work, token_done, j);
    if (st != MASD_DEFER_QUEUED) {
        token_job_free(j);
        oauth_error(r, 503, "temporarily_unavailable", NULL);
    }
}
