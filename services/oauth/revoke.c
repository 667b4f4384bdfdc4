/* POST /oauth2/revoke: RFC 7009 as MAS (MAS: crates/handlers/src/oauth2/revoke.rs). The client
 * authenticates; a token it does not own is refused; anything unknown, malformed or of the
 * compat API answers 200 with nothing revoked (RFC 7009 §2.2: the client cannot tell), and a
 * success ends the whole OAuth session, with the homeserver's device sync queued in the same
 * transaction. */
#include "client/auth.h"
#include "clock.h"
#include "form.h"
#include "hs_sync.h"
#include "oauth.h"
#include "token.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct revoke {
    struct client_credentials creds;
    char *token;
    bool hint_ok; /* none, access_token or refresh_token */
    int64_t now;
    struct client_auth_result auth;
    int rc;
};

static void revoke_free(struct revoke *rv)
{
    client_credentials_clear(&rv->creds);
    free(rv->token);
    free(rv);
}

/* The OAuth session a token belongs to, with its client and user; -ENOENT when the token is
 * unknown or already dead. */
static int token_session(struct storage_tx *tx, const char *token, struct storage_oauth_session *s,
                         char user_id[STORAGE_ID_SIZE])
{
    enum token_kind kind;
    if (token_check(token, strlen(token), &kind) < 0)
        return -ENOENT;
    int r = -ENOENT;
    if (kind == TOKEN_ACCESS) {
        struct storage_oauth_access_lookup l;
        if ((r = storage_oauth_access_token_lookup(tx, token, &l)) == 0) {
            *s = l.session;
            r = l.token.revoked_at ? -ENOENT : 0;
        }
    } else if (kind == TOKEN_REFRESH) {
        struct storage_oauth_refresh_lookup l;
        if ((r = storage_oauth_refresh_token_lookup(tx, token, &l)) == 0) {
            *s = l.session;
            r = l.token.revoked_at || l.token.consumed_at ? -ENOENT : 0;
        }
    }
    if (r == 0 && s->finished_at)
        r = -ENOENT;
    if (r == 0)
        memcpy(user_id, s->user_id, STORAGE_ID_SIZE);
    return r;
}

static int revoke_tx(struct storage_tx *tx, void *arg)
{
    struct revoke *rv = arg;
    rv->auth = (struct client_auth_result){0};
    struct storage_oauth_client client;
    int r = client_authenticate(tx, &rv->creds, oauth.revoke_url, rv->now, &client, &rv->auth);
    if (r < 0)
        return rv->auth.status >= 500 ? r : 0;
    if (!rv->hint_ok) { /* judged after the client, as MAS */
        storage_oauth_client_clear(&client);
        rv->auth = (struct client_auth_result){.status = 400, .error = "unsupported_token_type"};
        return 0;
    }
    struct storage_oauth_session s;
    char user_id[STORAGE_ID_SIZE];
    r = token_session(tx, rv->token, &s, user_id);
    bool mine = r == 0 && strcmp(s.client_id, client.id) == 0;
    storage_oauth_client_clear(&client);
    if (r == -ENOENT || r == -EINVAL)
        return 0;
    if (r < 0)
        return r;
    if (!mine) {
        rv->auth = (struct client_auth_result){.status = 401, .error = "unauthorized_client"};
        return 0;
    }
    if ((r = storage_session_finish(tx, STORAGE_SESSION_OAUTH, s.id, rv->now)) < 0)
        return r == -ENOENT ? 0 : r;
    if (!user_id[0])
        return 0;
    /* masd-worker tells the homeserver the device is gone */
    return hs_queue_sync_devices(tx, &oauth.cfg->matrix, user_id, rv->now);
}

static void revoke_work(void *arg)
{
    struct revoke *rv = arg;
    client_auth_sync_once();
    rv->rc = storage_tx(oauth.st, STORAGE_TX_WRITE, revoke_tx, rv);
}

static void revoke_done(struct masd_request *r, void *arg)
{
    struct revoke *rv = arg;
    if (r) {
        if (rv->rc < 0)
            oauth_error(r, 500, "server_error", NULL);
        else if (rv->auth.status)
            oauth_error(r, rv->auth.status, rv->auth.error, rv->auth.why);
        else {
            oauth_no_store(r);
            masd_respond(r, 200, NULL, MASD_STR(""));
        }
    }
    revoke_free(rv);
}

/* On the loop: credentials, token and hint. Returns true when the request is answered. */
static bool revoke_front(struct masd_request *r, struct revoke *rv)
{
    if (client_credentials_read(r, &rv->creds))
        return true;
    char *hint = NULL;
    if (form_get(r->body, "token", &rv->token) <= 0 || form_get(r->body, "token_type_hint", &hint) < 0) {
        oauth_error(r, 400, "invalid_request", NULL);
        return true;
    }
    rv->hint_ok = !hint || strcmp(hint, "access_token") == 0 || strcmp(hint, "refresh_token") == 0;
    free(hint);
    rv->now = masd_now();
    return false;
}

void oauth_revoke(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    struct revoke *rv = calloc(1, sizeof(*rv));
    if (!rv) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    if (revoke_front(r, rv)) {
        revoke_free(rv);
        return;
    }
    if (masd_defer(r, revoke_work, revoke_done, rv) != MASD_DEFER_QUEUED) {
        revoke_free(rv);
        oauth_error(r, 503, "temporarily_unavailable", NULL);
    }
}
