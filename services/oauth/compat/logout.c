/* POST /_matrix/client/{version}/logout and /logout/all (MAS:
 * crates/handlers/src/compat/logout.rs, logout_all.rs): a live compat access token ends its own session, or
 * (/logout/all, only with io.element.only_compat_is_fine) every compat session of its user. */
#include "clock.h"
#include "hs_sync.h"
#include "log.h"
#include "compat/matrix_error.h"
#include "compat/compat.h"
#include "oauth.h"
#include "compat/session.h"
#include "token.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum logout_outcome { LOGOUT_OK, LOGOUT_UNKNOWN_TOKEN, LOGOUT_INTERNAL };

struct logout_job {
    char *token;
    bool all;
    enum logout_outcome outcome;
};

/* Whether a looked-up access token is still usable at `now`. */
static bool access_live(const struct storage_compat_access_lookup *l, int64_t now, bool check_user)
{
    if (l->token.revoked_at || (l->token.expires_at && l->token.expires_at <= now) || l->session.finished_at)
        return false;
    return !check_user || (!l->user.locked_at && !l->user.deactivated_at);
}

static int logout_tx(struct storage_tx *tx, void *arg)
{
    struct logout_job *j = arg;
    struct storage_compat_access_lookup l;
    int64_t now = masd_now();
    j->outcome = LOGOUT_OK;
    int r = storage_compat_access_token_lookup(tx, j->token, &l);
    if (r == -ENOENT || (r >= 0 && !access_live(&l, now, j->all))) {
        j->outcome = LOGOUT_UNKNOWN_TOKEN;
        return 0;
    }
    if (r < 0)
        return r;
    if (!j->all)
        return compat_session_end(tx, &l.session, now);
    r = storage_sessions_finish_user(tx, STORAGE_SESSION_COMPAT, l.user.id, now, NULL);
    if (r >= 0)
        r = hs_queue_sync_devices(tx, &oauth.cfg->matrix, l.user.id, now);
    return r;
}

static void logout_work(void *arg)
{
    struct logout_job *j = arg;
    if (storage_tx(oauth.st, STORAGE_TX_WRITE, logout_tx, j) < 0) {
        log_error("logout: %s", storage_last_error());
        j->outcome = LOGOUT_INTERNAL;
    }
}

static void logout_done(struct masd_request *r, void *arg)
{
    struct logout_job *j = arg;
    if (r) {
        if (j->outcome == LOGOUT_OK)
            matrix_respond_json(r, 200, json_object());
        else if (j->outcome == LOGOUT_UNKNOWN_TOKEN)
            matrix_error_unknown_token(r, "Invalid access token");
        else
            matrix_error_internal(r);
    }
    free(j->token);
    free(j);
}

static void logout_start(struct masd_request *r, const char *token, bool all)
{
    enum token_kind kind;
    /* a malformed token, or an OAuth one, is refused before any database work */
    if (token_check(token, strlen(token), &kind) < 0 || kind != TOKEN_COMPAT_ACCESS) {
        matrix_error_unknown_token(r, "Invalid access token");
        return;
    }
    struct logout_job *j = calloc(1, sizeof(*j));
    if (j && !(j->token = strdup(token))) {
        free(j);
        j = NULL;
    }
    if (!j) {
        matrix_error_internal(r);
        return;
    }
    j->all = all;
    if (masd_defer(r, logout_work, logout_done, j) != MASD_DEFER_QUEUED) {
        free(j->token);
        free(j);
        matrix_error_limited(r, "The server is busy", 1000);
    }
}

void compat_logout(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    char *token = compat_request_bearer(r); /* the body is ignored, as in MAS */
    if (token)
        logout_start(r, token, false);
}

void compat_logout_all(struct masd_request *r)
{
    json_t *doc;
    if (oauth_cors(r))
        return;
    char *token = compat_request_bearer(r);
    if (!token || compat_request_json(r, true, &doc) < 0)
        return;
    bool fine = json_is_true(json_object_get(doc, "io.element.only_compat_is_fine"));
    json_decref(doc);
    if (!fine) {
        matrix_error(r, 404, "M_UNRECOGNIZED",
                     "The /logout/all endpoint is not supported by this deployment");
        return;
    }
    logout_start(r, token, true);
}
