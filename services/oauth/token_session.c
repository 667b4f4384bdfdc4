/* The token endpoint's grants that a person approved in a browser (token_job.h): the OAuth
 * session they create, one way for both (MAS: crates/handlers/src/oauth2/token.rs,
 * authorization_code_grant and device_code_grant), its devices on the homeserver before the
 * answer, and the authorization_code grant itself. */
#include "clock.h"
#include "hs_sync.h"
#include "id_token.h"
#include "log.h"
#include "oauth.h"
#include "token_job.h"
#include "user_agent.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MAS: crates/handlers/src/oauth2/token.rs. */
#define CODE_MAX_AGE_MS     (10 * 60 * 1000) /* a code is redeemed within 10 min of consent */
#define CODE_REUSE_GRACE_MS (20 * 1000)      /* a reuse later than this ends the session */

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
                    const char *browser_session_id, const char *nonce, const char *code)
{
    char alg[16];
    int64_t auth_time = 0;
    token_client_meta(client, "id_token_signed_response_alg", alg, sizeof(alg));
    int r = storage_browser_session_last_auth(tx, browser_session_id, &auth_time);
    if (r < 0 && r != -ENOENT)
        return r;
    struct oauth_id_token_in in = {
        .client_id = client->id,
        .alg = alg,
        .sub = j->user.id,
        .nonce = nonce && nonce[0] ? nonce : NULL,
        .auth_time_ms = r < 0 ? 0 : auth_time,
        .access_token = j->access_token,
        .code = code,
        .now_ms = j->now,
    };
    r = oauth_id_token(&in, &j->id_token);
    if (r < 0)
        log_error("token: cannot sign the ID token for client %s: %s", client->id, strerror(-r));
    return r;
}

int token_approver(struct storage_tx *tx, struct token_job *j, const char *browser_session_id)
{
    struct storage_browser_session bs;
    int r = storage_browser_session_get(tx, browser_session_id, &bs);
    if (r < 0 && r != -ENOENT)
        return r;
    if (r == -ENOENT || bs.finished_at)
        return token_fail(j, 400, "invalid_grant", "The browser session that approved the grant has ended.");
    if ((r = storage_user_get(tx, bs.user_id, &j->user)) < 0)
        return r;
    if (j->user.locked_at || j->user.deactivated_at)
        return token_fail(j, 400, "invalid_grant", "The account is locked or deactivated.");
    return 1;
}

int token_start_session(struct storage_tx *tx, struct token_job *j, const struct storage_oauth_client *client,
                        const char *browser_session_id, const char *scope, const char *nonce,
                        const char *code, bool refresh)
{
    int r = 0;
    j->n_devices = token_scope_devices(scope, j->device_buf, j->devices, TOKEN_MAX_DEVICES);
    /* one active session per (user, device), compat and OAuth alike: a device named again is
     * taken over, as the compat login replaces a device (compat/session.c) */
    if (j->n_devices && (r = hs_session_may_start(tx, j->user.id, j->now)) < 0)
        return r;
    for (size_t i = 0; i < j->n_devices && r >= 0; i++)
        r = storage_device_finish_sessions(tx, j->user.id, j->devices[i], j->now);
    struct storage_oauth_session s;
    if (r >= 0)
        r = storage_oauth_session_create(tx, client->id, j->user.id, browser_session_id, scope, j->user_agent,
                                         j->now, &s);
    for (size_t i = 0; i < j->n_devices && r >= 0; i++)
        r = storage_oauth_session_add_device(tx, s.id, j->devices[i]);
    struct storage_access_token at;
    struct storage_refresh_token rt;
    if (r >= 0)
        r = token_issue_pair(tx, j, s.id, refresh, &at, &rt);
    if (r >= 0 && has_scope_token(scope, "openid"))
        r = id_token(tx, j, client, browser_session_id, nonce, code);
    if (r < 0)
        return r;
    snprintf(j->scope, sizeof(j->scope), "%s", scope);
    memcpy(j->session_id, s.id, sizeof(j->session_id));
    char name[TOKEN_CLIENT_NAME_MAX];
    token_client_meta(client, "client_name", name, sizeof(name));
    /* "<client> on <device>" from the token request's User-Agent, as MAS names it */
    struct user_agent ua;
    user_agent_parse(masd_str_from(j->user_agent), &ua);
    user_agent_device_name(&ua, name[0] ? name : client->id, j->device_name, sizeof(j->device_name));
    return 0;
}

/* ---- authorization_code ---------------------------------------------------------------------- */

/* MAS's stage checks, then the client, the redirect URI, PKCE and the approving browser
 * session. 1 when the code may be exchanged, 0 answered (j->status), < 0 error. */
static int judge_code(struct storage_tx *tx, struct token_job *j, const struct storage_oauth_client *client,
                      struct storage_authorization_grant *g)
{
    int r = storage_authorization_grant_lookup_code(tx, j->req.code, g);
    if (r == -ENOENT || r == -EINVAL)
        return token_fail(j, 400, "invalid_grant", "The authorization code is unknown.");
    if (r < 0)
        return r;
    if (g->cancelled_at)
        return token_fail(j, 400, "invalid_grant", "The authorization grant was cancelled.");
    if (g->exchanged_at) {
        /* RFC 6749 §4.1.2: a code used twice may have been stolen; after the grace period (a
         * client's retry) the session it made is ended (MAS's rule) */
        if (j->now - g->exchanged_at > CODE_REUSE_GRACE_MS && g->session_id[0]) {
            struct storage_oauth_session s;
            if ((r = storage_oauth_session_get(tx, g->session_id, &s)) < 0 && r != -ENOENT)
                return r;
            if (r == 0 && !s.finished_at && (r = token_end_session(tx, s.id, s.user_id, j->now)) < 0)
                return r;
            log_info("token: authorization code of grant %s used again, session %s ended", g->id,
                     g->session_id);
        }
        return token_fail(j, 400, "invalid_grant", "The authorization code was already used.");
    }
    if (!g->fulfilled_at)
        return token_fail(j, 400, "invalid_grant", "The authorization grant is not approved.");
    if (j->now - g->fulfilled_at > CODE_MAX_AGE_MS)
        return token_fail(j, 400, "invalid_grant", "The authorization code has expired.");
    if (strcmp(g->client_id, client->id) != 0)
        return token_fail(j, 401, "unauthorized_client",
                          "The authorization code was issued to another client.");
    /* RFC 6749 §4.1.3 (MAS does not compare) */
    if (g->redirect_uri_given && (!j->req.redirect_uri || strcmp(j->req.redirect_uri, g->redirect_uri) != 0))
        return token_fail(j, 400, "invalid_grant",
                          "The redirect_uri is not the one of the authorization request.");
    bool challenge = g->code_challenge[0] != '\0', verifier = j->req.code_verifier != NULL;
    if (challenge != verifier)
        return token_fail(j, 400, "invalid_request",
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
            return token_fail(j, 400, "invalid_grant", j->why_owned);
        }
    }
    return token_approver(tx, j, g->browser_session_id);
}

static int code_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = token_authenticate(tx, j, &client, "authorization_code");
    if (r <= 0)
        return r;
    struct storage_authorization_grant g;
    r = judge_code(tx, j, &client, &g);
    if (r > 0)
        r = token_start_session(tx, j, &client, g.browser_session_id, g.scope, g.nonce, j->req.code, true);
    if (r >= 0 && !j->status)
        r = storage_authorization_grant_exchange(tx, g.id, j->session_id, j->now);
    if (r == -EALREADY) /* a concurrent exchange of the same code won: roll back ours */
        token_fail(j, 400, "invalid_grant", "The authorization code was already used.");
    storage_oauth_client_clear(&client);
    return r < 0 ? r : 0;
}

/* ---- both: the transaction, then the devices on the homeserver --------------------------------- */

void token_exchange_work(void *arg)
{
    struct token_job *j = arg;
    client_auth_sync_once();
    storage_tx_fn fn = j->req.grant == TOKEN_GRANT_DEVICE_CODE ? token_device_exchange_tx : code_tx;
    j->rc = hs_session_tx(oauth.st, STORAGE_TX_WRITE, fn, j);
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
