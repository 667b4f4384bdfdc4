/* The start and the end of a compat session, each in one function: the homeserver-sync work
 * hooks device provisioning here (a job in the same transaction), so no handler creates or ends
 * a session any other way. */
#pragma once
#include "storage.h"
#include "token.h"
#include <stdbool.h>

struct compat_session_tokens {
    char access_token[TOKEN_LEN + 1];
    char refresh_token[TOKEN_LEN + 1]; /* "" without refresh */
    int64_t expires_at;                /* of the access token; 0: never */
};

/* Inside a write transaction: ends whatever session holds (user, device) (device replacement),
 * creates the compat session with its access token and, with `refresh`, a refresh token (the
 * access token then expires after COMPAT_TOKEN_TTL_MS). display_name and user_agent may be NULL. */
int compat_session_start(struct storage_tx *tx, const struct storage_user *user, const char *device_id,
                         const char *display_name, const char *user_agent, bool refresh, int64_t now,
                         struct storage_compat_session *session, struct compat_session_tokens *tokens);

/* Inside a write transaction: ends the session (all its tokens die with it). 1 ended now, 0
 * already ended, -ENOENT. */
int compat_session_end(struct storage_tx *tx, const char *session_id, int64_t now);

/* Inside a write transaction: rotates the tokens of a refresh (§4.7): new access and refresh
 * tokens, the old refresh token consumed by compare-and-set (-EALREADY when it lost), the old
 * access token expired now. */
int compat_session_refresh(struct storage_tx *tx, const struct storage_refresh_token *old, int64_t now,
                           struct compat_session_tokens *tokens);
