/* GET and POST /_matrix/client/{version}/login (MAS: crates/handlers/src/compat/login.rs).
 *
 * A password login runs in three steps, each handed back to the event loop before the next:
 * on the worker pool the per-IP limit, the lookup and the per-account limit; on the
 * password-hashing thread the check; on the outbound pool the session, in one write transaction,
 * and then its device on the homeserver (hs_device_create), so the client never holds a token
 * the homeserver would refuse. No worker thread ever waits for a hash or for the homeserver, so
 * neither a login storm nor a slow homeserver can take the pool from introspection.
 *
 * The first two steps and the writes of the third are password_login.h's, shared with the HTML
 * login, with its rules against telling whether an account exists. What this API adds: names
 * only (no e-mail address, as MAS), and a deactivated account is answered as an unknown one
 * (MAS: user_password_login filters it out as "user not found"), a locked one with
 * 401 M_USER_LOCKED after a right password.
 *
 * With matrix.kind synapse_read_only masd cannot create devices: password login is not offered
 * and is refused with a clear error before any work. */
#include "hs_sync.h"
#include "log.h"
#include "compat/matrix_error.h"
#include "compat/compat.h"
#include "oauth.h"
#include "password_login.h"
#include "random.h"
#include "compat/session.h"
#include "clock.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_ID_LEN 10 /* MAS: 10 alphanumeric characters */

struct login_job {
    struct password_login pl; /* the name, the password, the client's network; the check */
    /* in: copies, since the request may be gone while the job runs */
    char device_id[STORAGE_DEVICE_ID_MAX + 1]; /* "" until drawn */
    char *display_name, *user_agent;
    bool refresh;
    /* the job's own state */
    struct storage_compat_session session;
    /* out */
    struct compat_session_tokens tokens;
};

static json_t *flows;

static void login_job_free(struct login_job *j)
{
    password_login_clear(&j->pl);
    free(j->display_name);
    free(j->user_agent);
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

static int login_precheck(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    return password_login_precheck(tx, &j->pl);
}

/* Step 2, on the hashing thread. */
static void login_verify(void *arg)
{
    struct login_job *j = arg;
    password_login_verify(&j->pl, oauth.cfg);
}

static int login_commit(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    int64_t now = masd_now();
    int r = password_login_record(tx, &j->pl, now);
    if (r >= 0)
        r = compat_session_start(tx, &j->pl.user, j->device_id, j->display_name, j->user_agent, j->refresh,
                                 now, &j->session, &j->tokens);
    return r;
}

/* Step 1, on the worker pool. */
static void login_lookup(void *arg)
{
    struct login_job *j = arg;
    if (storage_tx(oauth.st, STORAGE_TX_WRITE, login_precheck, j) < 0) {
        log_error("login: %s", storage_last_error());
        j->pl.outcome = PASSWORD_LOGIN_INTERNAL;
    }
}

/* Step 3, on the outbound pool: the session (waiting while a device sync of the user runs), then
 * its device on the homeserver; a failure there ends the session again (MAS: 500 M_UNKNOWN). */
static void login_finish(void *arg)
{
    struct login_job *j = arg;
    if (!j->device_id[0] && random_alnum(j->device_id, DEVICE_ID_LEN) < 0) {
        j->pl.outcome = PASSWORD_LOGIN_INTERNAL;
        return;
    }
    int r =
        hs_session_tx(oauth.st, STORAGE_TX_WRITE | (j->pl.upgrade ? STORAGE_TX_DURABLE : 0), login_commit, j);
    if (r < 0) {
        log_error("login: %s", r == -EBUSY ? "a device sync of the user did not end" : storage_last_error());
        j->pl.outcome = PASSWORD_LOGIN_INTERNAL;
        return;
    }
    struct homeserver_result res = {0};
    r = hs_device_create(oauth.st, oauth.hs, &oauth.cfg->matrix, &j->pl.user, j->device_id, j->display_name,
                         STORAGE_SESSION_COMPAT, j->session.id, &res);
    if (r < 0) {
        log_error("login of user %s: cannot create device %s on the homeserver, session ended: %s",
                  j->pl.user.id, j->device_id, res.message);
        j->pl.outcome = PASSWORD_LOGIN_INTERNAL;
    }
}

static void login_respond_ok(struct masd_request *r, struct login_job *j)
{
    char user_id[STORAGE_USERNAME_MAX + 300];
    snprintf(user_id, sizeof(user_id), "@%s:%s", j->pl.user.username, oauth.cfg->matrix.homeserver);
    json_t *doc = json_pack("{s:s, s:s, s:s}", "access_token", j->tokens.access_token, "device_id",
                            j->device_id, "user_id", user_id);
    if (doc && j->refresh) {
        json_object_set_new(doc, "refresh_token", json_string(j->tokens.refresh_token));
        json_object_set_new(doc, "expires_in_ms", json_integer(COMPAT_TOKEN_TTL_MS));
    }
    matrix_respond_json(r, 200, doc);
}

static void login_done(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (r) {
        switch (j->pl.outcome) {
        case PASSWORD_LOGIN_OK:
            login_respond_ok(r, j);
            break;
        case PASSWORD_LOGIN_FORBIDDEN:
        case PASSWORD_LOGIN_DEACTIVATED: /* MAS: a deactivated user is not found */
            matrix_error(r, 403, "M_FORBIDDEN", "Invalid username/password");
            break;
        case PASSWORD_LOGIN_LOCKED:
            matrix_error(r, 401, "M_USER_LOCKED", "User account has been locked");
            break;
        case PASSWORD_LOGIN_LIMITED:
            matrix_error_limited(r, "Too many login attempts", j->pl.retry_after_ms);
            break;
        case PASSWORD_LOGIN_BUSY:
            matrix_error_limited(r, "Too many logins in progress", j->pl.retry_after_ms);
            break;
        case PASSWORD_LOGIN_INTERNAL:
            matrix_error_internal(r);
            break;
        }
    }
    login_job_free(j);
}

static void login_checked(struct masd_request *r, void *arg);

/* After step 1, on the loop: go on to the password check, or answer. */
static void login_looked_up(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (r && j->pl.outcome == PASSWORD_LOGIN_OK) {
        if (masd_defer_cpu(r, login_verify, login_checked, j) == MASD_DEFER_QUEUED)
            return;
        j->pl.outcome = PASSWORD_LOGIN_BUSY;
        j->pl.retry_after_ms = MASD_CPU_RETRY_AFTER_MS;
    }
    login_done(r, j);
}

/* After step 2, on the loop: a right password of a usable account goes on to step 3; anything
 * else is answered. */
static void login_checked(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (r && j->pl.outcome == PASSWORD_LOGIN_OK) {
        if (masd_defer_outbound(r, login_finish, login_done, j) == MASD_DEFER_QUEUED)
            return;
        j->pl.outcome = PASSWORD_LOGIN_BUSY;
        j->pl.retry_after_ms = 1000;
    }
    login_done(r, j);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The job for a parsed request, or NULL (out of memory). */
static struct login_job *login_job_new(struct masd_request *r, const struct compat_login_request *in)
{
    struct login_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    int rc = password_login_init(&j->pl, oauth.cfg, in->user, in->password, in->password_len, &r->client, 0);
    if (in->device_id)
        snprintf(j->device_id, sizeof(j->device_id), "%s", in->device_id);
    j->refresh = in->refresh_token;
    j->display_name = dup_or_null(in->display_name);
    j->user_agent = dup_or_null(compat_request_header(r, "user-agent", STORAGE_SHORT_TEXT_MAX));
    if (rc < 0 || (in->display_name && !j->display_name)) {
        login_job_free(j);
        return NULL;
    }
    return j;
}

static void login_post(struct masd_request *r)
{
    json_t *doc;
    struct compat_login_request in;
    struct compat_error err;
    if (compat_request_json(r, false, &doc) < 0)
        return;
    if (compat_login_parse(doc, &in, &err) < 0) {
        json_decref(doc);
        matrix_error(r, err.status, err.errcode, err.error);
        return;
    }
    if (!oauth.cfg->passwords.enabled) {
        json_decref(doc);
        matrix_error(r, 400, "M_UNKNOWN", "Invalid login type");
        return;
    }
    if (hs_config_read_only(&oauth.cfg->matrix)) {
        json_decref(doc);
        matrix_error(r, 400, "M_UNKNOWN",
                     "Password login is not possible: masd cannot create devices on the homeserver "
                     "(matrix.kind is synapse_read_only)");
        return;
    }
    struct login_job *j = login_job_new(r, &in);
    json_decref(doc);
    if (!j) {
        matrix_error_internal(r);
        return;
    }
    if (masd_defer(r, login_lookup, login_looked_up, j) != MASD_DEFER_QUEUED) {
        login_job_free(j);
        matrix_error_limited(r, "The server is busy", 1000);
    }
}

void compat_login(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    if (masd_str_eq(r->method, MASD_STR("POST"))) {
        login_post(r);
        return;
    }
    matrix_respond_json(r, 200, json_incref(flows));
}

/* The flows masd offers: password login when passwords are enabled and devices can be created
 * on the homeserver; no SSO or login tokens yet. */
int compat_login_setup(const struct config *cfg)
{
    json_t *list = json_array();
    if (cfg->passwords.enabled && !hs_config_read_only(&cfg->matrix))
        json_array_append_new(list, json_pack("{s:s}", "type", "m.login.password"));
    json_decref(flows);
    flows = json_pack("{s:o}", "flows", list);
    return flows ? 0 : -ENOMEM;
}
