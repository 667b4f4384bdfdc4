/* The start and the end of a compat session, each in one function, so no handler creates or ends
 * a session without telling the homeserver (hs_sync.h). */
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
 * access token then expires after COMPAT_TOKEN_TTL_MS). display_name and user_agent may be NULL.
 * -EBUSY while a device sync of the user runs: run it through hs_session_tx(), which waits. The
 * caller then creates the device on the homeserver (hs_device_create) before answering. */
int compat_session_start(struct storage_tx *tx, const struct storage_user *user, const char *device_id,
                         const char *display_name, const char *user_agent, bool refresh, int64_t now,
                         struct storage_compat_session *session, struct compat_session_tokens *tokens);

/* Inside a write transaction: ends the session (all its tokens die with it) and, when it had a
 * device, queues the sync that removes the device from the homeserver. 1 ended now, 0 already
 * ended, -ENOENT. */
int compat_session_end(struct storage_tx *tx, const struct storage_compat_session *s, int64_t now);

/* Inside a write transaction: rotates the tokens of a refresh (§4.7): new access and refresh
 * tokens, the old refresh token consumed by compare-and-set (-EALREADY when it lost), the old
 * access token expired now. */
int compat_session_refresh(struct storage_tx *tx, const struct storage_refresh_token *old, int64_t now,
                           struct compat_session_tokens *tokens);
