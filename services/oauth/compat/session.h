/* The start and the end of a compat session, each in one function, so no handler creates or ends
 * a session without telling the homeserver (hs_sync.h). */
#pragma once
#include "policy.h"
#include "storage.h"
#include "token.h"
#include <stdbool.h>

struct compat_session_tokens {
    char access_token[TOKEN_LEN + 1];
    char refresh_token[TOKEN_LEN + 1]; /* "" without refresh */
    int64_t expires_at;                /* of the access token; 0: never */
};

/* What a compat session starts from: who, on which device, how they logged in, from where. */
struct compat_session_start {
    const struct storage_user *user;
    const char *device_id;
    const char *display_name, *user_agent, *ip; /* may be NULL */
    const char *browser_session_id;             /* the SSO login's browser session, or NULL */
    enum policy_compat_login_type login;        /* password or token (the policy's login.type) */
    bool refresh;                               /* a refresh token too; the access token then expires */
};

/* Inside a write transaction, the one way a compat session begins (a password login, a token
 * login; MAS: crates/handlers/src/compat/login.rs): ends whatever session holds (user, device)
 * (device replacement), runs MAS's compat_login policy (common/policy/), creates the compat
 * session with its access token and, with `refresh`, a refresh token (the access token then
 * expires after COMPAT_TOKEN_TTL_MS). -EPERM when the policy refuses: *denied holds the
 * violations (the caller clears it; the transaction must roll back). -EBUSY while a device sync
 * of the user runs: run it through hs_session_tx(), which waits. The caller then creates the
 * device on the homeserver (hs_device_create) before answering. */
int compat_session_start(struct storage_tx *tx, const struct compat_session_start *in, int64_t now,
                         struct storage_compat_session *session, struct compat_session_tokens *tokens,
                         struct policy_result *denied);

/* Inside a write transaction: ends the session (all its tokens die with it) and, when it had a
 * device, queues the sync that removes the device from the homeserver. 1 ended now, 0 already
 * ended, -ENOENT. */
int compat_session_end(struct storage_tx *tx, const struct storage_compat_session *s, int64_t now);

/* Inside a write transaction: rotates the tokens of a refresh (§4.7): new access and refresh
 * tokens, the old refresh token consumed by compare-and-set (-EALREADY when it lost), the old
 * access token expired now. */
int compat_session_refresh(struct storage_tx *tx, const struct storage_refresh_token *old, int64_t now,
                           struct compat_session_tokens *tokens);
