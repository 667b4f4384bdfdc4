/* Compat sessions: where they begin, rotate and end. */
#include "compat/session.h"
#include "hs_sync.h"
#include "compat/compat.h"
#include "oauth.h"
#include <errno.h>

/* A fresh access token (and refresh token) for session_id, written to the database. */
static int issue_tokens(struct storage_tx *tx, const char *session_id, bool refresh, int64_t now,
                        struct compat_session_tokens *t, struct storage_refresh_token *rt_out)
{
    struct storage_access_token at;
    int r = token_generate(TOKEN_COMPAT_ACCESS, t->access_token);
    t->refresh_token[0] = '\0';
    t->expires_at = refresh ? now + COMPAT_TOKEN_TTL_MS : 0;
    if (r >= 0)
        r = storage_access_token_add(tx, STORAGE_SESSION_COMPAT, session_id, t->access_token, t->expires_at,
                                     now, &at);
    if (r >= 0 && refresh)
        r = token_generate(TOKEN_COMPAT_REFRESH, t->refresh_token);
    if (r >= 0 && refresh)
        r = storage_refresh_token_add(tx, STORAGE_SESSION_COMPAT, session_id, at.id, t->refresh_token, now,
                                      rt_out);
    return r < 0 ? r : 0;
}

int compat_session_start(struct storage_tx *tx, const struct compat_session_start *in, int64_t now,
                         struct storage_compat_session *session, struct compat_session_tokens *tokens,
                         struct policy_result *denied)
{
    struct storage_refresh_token rt;
    policy_result_clear(denied); /* the transaction may run again */
    int r = hs_session_may_start(tx, in->user->id, now), replaced = 0;
    if (r >= 0)
        r = replaced = storage_device_finish_sessions(tx, in->user->id, in->device_id, now);
    if (r >= 0) {
        /* the sessions are not counted yet (as for the authorization grant): the limits wait */
        struct policy_compat_login_input pin = {.login = in->login,
                                                .session_replaced = replaced > 0,
                                                .requester = {in->ip, in->user_agent},
                                                .session_total = -1};
        r = policy_compat_login(oauth.policy, &pin, denied);
        if (r >= 0 && denied->n)
            return -EPERM;
    }
    if (r >= 0)
        r = storage_compat_session_create(tx, in->user->id, in->device_id, false, in->browser_session_id,
                                          in->display_name, in->user_agent, now, session);
    if (r >= 0)
        r = issue_tokens(tx, session->id, in->refresh, now, tokens, &rt);
    return r < 0 ? r : 0;
}

int compat_session_end(struct storage_tx *tx, const struct storage_compat_session *s, int64_t now)
{
    /* a session without a device leaves nothing on the homeserver to sync */
    if (!s->device_id[0])
        return storage_session_finish(tx, STORAGE_SESSION_COMPAT, s->id, now);
    return hs_session_end(tx, &oauth.cfg->matrix, STORAGE_SESSION_COMPAT, s->id, s->user_id, now);
}

int compat_session_refresh(struct storage_tx *tx, const struct storage_refresh_token *old, int64_t now,
                           struct compat_session_tokens *tokens)
{
    struct storage_refresh_token next;
    int r = issue_tokens(tx, old->session_id, true, now, tokens, &next);
    if (r >= 0)
        r = storage_refresh_token_consume(tx, STORAGE_SESSION_COMPAT, old->id, next.id, now);
    if (r >= 0 && old->access_token_id[0])
        r = storage_compat_access_token_expire(tx, old->access_token_id, now);
    return r < 0 ? r : 0;
}
