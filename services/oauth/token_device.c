/* The device authorization grant at the token endpoint (RFC 8628 §3.4–3.5; MAS:
 * crates/handlers/src/oauth2/token.rs device_code_grant), in two steps:
 *
 *  - the poll, on the worker pool, what a waiting device costs: the client's authentication (a
 *    public client's, MAS's usual `none`, is one lookup), then one UPDATE … RETURNING through
 *    the device code's unique index that records the poll (storage_device_code_grant_poll).
 *    A device that polls sooner than its interval (less POLL_GRACE_MS) gets slow_down, and its
 *    interval grows by 5 s for good (§3.5; MAS never sends slow_down);
 *  - once the grant is approved, its exchange, as an authorization code's (token_session.c):
 *    on the outbound pool, the OAuth session created the same way, the grant marked exchanged
 *    by compare-and-set, the devices on the homeserver before the answer. A refresh token only
 *    when the client lists the refresh_token grant (MAS).
 *
 * The answers are MAS's: authorization_pending, slow_down, expired_token and access_denied with
 * 403, a device code used already or another client's 400 invalid_grant. */
#include "oauth.h"
#include "token_job.h"
#include <errno.h>
#include <string.h>

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

/* A poll may arrive this much sooner than the interval and still count as in time: a client that
 * waits the interval between its requests (§3.5) sees its requests arrive early by the network's
 * jitter, and must not be slowed down for it. */
#define POLL_GRACE_MS 1000

/* MAS's order once the grant is found: the client, the expiry, the stage. 1 approved (to be
 * exchanged), 0 answered. */
static int judge(struct token_job *j, const struct storage_device_code_grant *g, const char *client_id,
                 bool slow_down)
{
    if (strcmp(g->client_id, client_id) != 0)
        return token_fail(j, 400, "invalid_grant", "The device code was issued to another client.");
    if (g->expires_at <= j->now)
        return token_fail(j, 403, "expired_token", NULL);
    if (g->rejected_at)
        return token_fail(j, 403, "access_denied", NULL);
    if (g->exchanged_at)
        return token_fail(j, 400, "invalid_grant", "The device code was already used.");
    if (!g->fulfilled_at)
        return token_fail(j, 403, slow_down ? "slow_down" : "authorization_pending", NULL);
    return 1;
}

int token_device_poll_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = token_authenticate(tx, j, &client, DEVICE_GRANT);
    if (r <= 0)
        return r;
    struct storage_device_code_grant g;
    r = storage_device_code_grant_poll(tx, j->req.device_code, client.id, j->now, POLL_GRACE_MS, &g);
    if (r == -ENOENT) {
        r = token_fail(j, 400, "invalid_grant", "The device code is unknown.");
    } else if (r >= 0 && (r = judge(j, &g, client.id, r == 1)) > 0) {
        j->exchange_due = true;
        memcpy(j->client_id, client.id, sizeof(j->client_id));
        memcpy(j->device_grant_id, g.id, sizeof(j->device_grant_id));
        r = 0;
    }
    storage_oauth_client_clear(&client);
    return r < 0 ? r : 0;
}

int token_device_exchange_tx(struct storage_tx *tx, void *arg)
{
    struct token_job *j = arg;
    struct storage_oauth_client client = {0};
    struct storage_device_code_grant g;
    token_reset(j);
    int r = storage_oauth_client_get(tx, j->client_id, &client);
    if (r == -ENOENT) /* deleted since the poll, a moment ago */
        return token_fail(j, 401, "invalid_client", NULL);
    if (r < 0)
        return r;
    r = storage_device_code_grant_get(tx, j->device_grant_id, &g);
    if (r == -ENOENT)
        r = token_fail(j, 400, "invalid_grant", "The device code is unknown.");
    else if (r >= 0 && (r = judge(j, &g, client.id, false)) > 0 &&
             (r = token_approver(tx, j, g.browser_session_id)) > 0)
        r = token_start_session(tx, j, &client, g.browser_session_id, g.scope, NULL, NULL,
                                client_lists_grant(&client, "refresh_token"));
    if (r >= 0 && !j->status)
        r = storage_device_code_grant_exchange(tx, g.id, j->session_id, j->now);
    if (r == -EALREADY) /* a concurrent poll exchanged it first: roll back ours */
        token_fail(j, 400, "invalid_grant", "The device code was already used.");
    storage_oauth_client_clear(&client);
    return r < 0 ? r : 0;
}
