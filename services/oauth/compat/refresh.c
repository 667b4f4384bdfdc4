/* POST /_matrix/client/{version}/refresh (MAS: crates/handlers/src/compat/refresh.rs): a refresh token is
 * single-use (compare-and-set, so two processes can never both win); the old access token dies
 * with it. Errors are Matrix JSON here too (MAS answers plain text; docs/architecture.md §7).
 *
 * A locked user's refresh is refused (401 M_USER_LOCKED) and changes nothing: the refresh token
 * is not consumed, so the client can go on once the account is unlocked. A deactivated user's
 * token is answered as unknown, as every token of a deactivated account is. */
#include "clock.h"
#include "log.h"
#include "compat/matrix_error.h"
#include "compat/compat.h"
#include "oauth.h"
#include "compat/session.h"
#include "token.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum refresh_outcome { REFRESH_OK, REFRESH_UNKNOWN_TOKEN, REFRESH_LOCKED, REFRESH_INTERNAL };

struct refresh_job {
    char *token;
    enum refresh_outcome outcome;
    struct compat_session_tokens tokens;
};

static int refresh_tx(struct storage_tx *tx, void *arg)
{
    struct refresh_job *j = arg;
    struct storage_compat_refresh_lookup l;
    int64_t now = masd_now();
    j->outcome = REFRESH_OK;
    int r = storage_compat_refresh_token_lookup(tx, j->token, &l);
    if (r >= 0 &&
        (l.token.consumed_at || l.token.revoked_at || l.session.finished_at || l.user.deactivated_at))
        r = -ENOENT;
    if (r >= 0 && l.user.locked_at) {
        j->outcome = REFRESH_LOCKED;
        return 0; /* nothing written: the token stays as it was */
    }
    if (r >= 0)
        r = compat_session_refresh(tx, &l.token, now, &j->tokens);
    if (r == -ENOENT || r == -EALREADY) { /* unknown, spent, or spent by a concurrent refresh */
        j->outcome = REFRESH_UNKNOWN_TOKEN;
        return r == -EALREADY ? -EALREADY : 0; /* roll back the tokens issued for the loser */
    }
    return r;
}

static void refresh_work(void *arg)
{
    struct refresh_job *j = arg;
    int r = storage_tx(oauth.st, STORAGE_TX_WRITE, refresh_tx, j);
    if (r < 0 && j->outcome != REFRESH_UNKNOWN_TOKEN) {
        log_error("refresh: %s", storage_last_error());
        j->outcome = REFRESH_INTERNAL;
    }
}

static void refresh_done(struct masd_request *r, void *arg)
{
    struct refresh_job *j = arg;
    if (r) {
        if (j->outcome == REFRESH_OK)
            matrix_respond_json(r, 200,
                                json_pack("{s:s, s:s, s:i}", "access_token", j->tokens.access_token,
                                          "refresh_token", j->tokens.refresh_token, "expires_in_ms",
                                          COMPAT_TOKEN_TTL_MS));
        else if (j->outcome == REFRESH_UNKNOWN_TOKEN)
            matrix_error_unknown_token(r, "Invalid refresh token");
        else if (j->outcome == REFRESH_LOCKED)
            matrix_error(r, 401, "M_USER_LOCKED", "User account has been locked");
        else
            matrix_error_internal(r);
    }
    free(j->token);
    free(j);
}

void compat_refresh(struct masd_request *r)
{
    json_t *doc;
    enum token_kind kind;
    if (oauth_cors(r) || compat_request_json(r, false, &doc) < 0)
        return;
    const json_t *v = json_object_get(doc, "refresh_token");
    if (!json_is_object(doc) || !json_is_string(v)) {
        json_decref(doc);
        matrix_error(r, 400, "M_BAD_JSON", "JSON fields are not valid");
        return;
    }
    const char *token = json_string_value(v);
    if (token_check(token, json_string_length(v), &kind) < 0 || kind != TOKEN_COMPAT_REFRESH) {
        json_decref(doc);
        matrix_error_unknown_token(r, "Invalid refresh token");
        return;
    }
    struct refresh_job *j = calloc(1, sizeof(*j));
    if (j && !(j->token = strdup(token)))
        free(j), j = NULL;
    json_decref(doc);
    if (!j) {
        matrix_error_internal(r);
        return;
    }
    if (masd_defer(r, refresh_work, refresh_done, j) != MASD_DEFER_QUEUED) {
        free(j->token);
        free(j);
        matrix_error_limited(r, "The server is busy", 1000);
    }
}
