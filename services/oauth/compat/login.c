/* GET and POST /_matrix/client/{version}/login (MAS: crates/handlers/src/compat/login.rs).
 *
 * A password login runs in three steps, each handed back to the event loop before the next:
 * on the worker pool the per-IP limit, the lookup and the per-account limit; on the
 * password-hashing thread the check; on the outbound pool the session, in one write transaction,
 * and then its device on the homeserver (hs_device_create), so the client never holds a token
 * the homeserver would refuse. No worker thread ever waits for a hash or for the homeserver, so
 * neither a login storm nor a slow homeserver can take the pool from introspection.
 *
 * The rule every password login follows (this one, and the HTML login to come): nothing in the
 * answer or its timing may tell whether an account exists, or is locked, to someone who does not
 * know its password (docs/architecture.md). So:
 *  1. the per-IP limit comes before the lookup (a 429 then says nothing about the account);
 *  2. an account that does not exist, is deactivated or has no password goes on as if it had a
 *     password: the per-account limit is keyed by the folded username, not the user ID, and the
 *     hashing thread runs password_verify_dummy(), a verification of the current scheme's cost;
 *  3. the lock is checked only after a right password: a locked account with a wrong password
 *     gets the same 403 M_FORBIDDEN as any wrong password (MAS answers M_USER_LOCKED first).
 * The per-account limit stops guessing spread over many addresses; a client on a network that
 * logged in to the account successfully in the last 30 days (storage_login_network_known) is
 * exempt from it, so that such guessing cannot lock the owner out.
 *
 * With matrix.kind synapse_read_only masd cannot create devices: password login is not offered
 * and is refused with a clear error before any work. */
#include "hs_sync.h"
#include "log.h"
#include "compat/matrix_error.h"
#include "compat/compat.h"
#include "oauth.h"
#include "passwords.h"
#include "random.h"
#include "compat/session.h"
#include "clock.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_ID_LEN 10 /* MAS: 10 alphanumeric characters */

enum login_outcome { LOGIN_OK, LOGIN_FORBIDDEN, LOGIN_LOCKED, LOGIN_LIMITED, LOGIN_BUSY, LOGIN_INTERNAL };

struct login_job {
    /* in: copies, since the request may be gone while the job runs */
    char username[STORAGE_USERNAME_MAX + 1];
    bool username_too_long;
    char *password;
    size_t password_len;
    char device_id[STORAGE_DEVICE_ID_MAX + 1]; /* "" until drawn */
    char *display_name, *user_agent;
    bool refresh;
    char network[MASD_NETWORK_STRLEN]; /* addr_network() of the client, "" without an address */
    char ip_key[32 + MASD_NETWORK_STRLEN];
    /* the job's own state */
    struct storage_user user;
    struct storage_password pw;
    bool has_password, dummy, upgrade;
    char *new_hash;
    unsigned new_version;
    int verify;
    struct storage_compat_session session;
    /* out */
    enum login_outcome outcome;
    int64_t retry_after_ms;
    struct compat_session_tokens tokens;
};

static json_t *flows;

static void login_job_free(struct login_job *j)
{
    if (j->password)
        OPENSSL_cleanse(j->password, j->password_len);
    free(j->password);
    free(j->new_hash);
    free(j->display_name);
    free(j->user_agent);
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

/* Per IP, the lookup, per account (unless the client's network is known), the password row. */
static int login_precheck(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    const struct config_rate_limiting *rl = &oauth.cfg->rate_limiting;
    int64_t now = masd_now();
    char key[64 + STORAGE_USERNAME_MAX], folded[STORAGE_USERNAME_MAX + 1];
    j->outcome = LOGIN_OK, j->has_password = false, j->dummy = true;
    int r = storage_rate_limit_check(tx, j->ip_key, rl->login_per_ip.burst, rl->login_per_ip.per_second, now,
                                     &j->retry_after_ms);
    if (r <= 0) {
        j->outcome = LOGIN_LIMITED;
        return r;
    }
    r = j->username_too_long ? -ENOENT : storage_user_find(tx, j->username, &j->user);
    if (r < 0 && r != -ENOENT)
        return r;
    bool usable = r >= 0 && !j->user.deactivated_at, exempt = false;
    if (usable && j->network[0]) {
        r = storage_login_network_known(tx, j->user.id, j->network, now - STORAGE_LOGIN_NETWORK_TTL_MS);
        if (r < 0)
            return r;
        exempt = r == 1;
    }
    if (!exempt && !j->username_too_long) { /* a too-long name cannot name an account */
        storage_username_fold(j->username, folded);
        snprintf(key, sizeof(key), "login.per_account:%s", folded);
        r = storage_rate_limit_check(tx, key, rl->login_per_account.burst, rl->login_per_account.per_second,
                                     now, &j->retry_after_ms);
        if (r <= 0) {
            j->outcome = LOGIN_LIMITED;
            return r;
        }
    }
    if (!usable)
        return 0;
    r = storage_password_get_active(tx, j->user.id, &j->pw);
    if (r == -ENOENT)
        return 0; /* no password set: as a wrong one, at the same cost */
    j->has_password = r >= 0, j->dummy = r < 0;
    return r;
}

/* On the hashing thread: the check, and the re-hash with the newest scheme when it is due. */
static void login_verify(void *arg)
{
    struct login_job *j = arg;
    const struct config_passwords *cfg = &oauth.cfg->passwords;
    if (j->dummy) {
        j->verify = password_verify_dummy(cfg, j->password, j->password_len);
        return;
    }
    j->verify = password_verify(cfg, j->pw.version, j->pw.hash, j->password, j->password_len, &j->upgrade);
    if (j->user.locked_at)
        j->upgrade = false; /* the login ends here (M_USER_LOCKED): nothing is written */
    if (j->verify == 0 && j->upgrade &&
        password_hash(cfg, j->password, j->password_len, &j->new_hash, &j->new_version) < 0) {
        log_warn("cannot re-hash the password of user %s with the newest scheme", j->user.id);
        j->upgrade = false; /* the login still succeeds; the upgrade waits for the next one */
    }
}

static int login_commit(struct storage_tx *tx, void *arg)
{
    struct login_job *j = arg;
    int64_t now = masd_now();
    struct storage_password upgraded;
    int r = 0;
    if (j->upgrade)
        r = storage_password_add(tx, j->user.id, j->new_hash, j->new_version, j->pw.id, now, &upgraded);
    if (r >= 0 && j->network[0])
        r = storage_login_network_record(tx, j->user.id, j->network, now);
    if (r >= 0)
        r = compat_session_start(tx, &j->user, j->device_id, j->display_name, j->user_agent, j->refresh, now,
                                 &j->session, &j->tokens);
    return r;
}

/* Step 1, on the worker pool. */
static void login_lookup(void *arg)
{
    struct login_job *j = arg;
    if (storage_tx(oauth.st, STORAGE_TX_WRITE, login_precheck, j) < 0) {
        log_error("login: %s", storage_last_error());
        j->outcome = LOGIN_INTERNAL;
    }
}

/* Step 3, on the outbound pool: the session (waiting while a device sync of the user runs), then
 * its device on the homeserver; a failure there ends the session again (MAS: 500 M_UNKNOWN). */
static void login_finish(void *arg)
{
    struct login_job *j = arg;
    if (!j->device_id[0] && random_alnum(j->device_id, DEVICE_ID_LEN) < 0) {
        j->outcome = LOGIN_INTERNAL;
        return;
    }
    int r =
        hs_session_tx(oauth.st, STORAGE_TX_WRITE | (j->upgrade ? STORAGE_TX_DURABLE : 0), login_commit, j);
    if (r < 0) {
        log_error("login: %s", r == -EBUSY ? "a device sync of the user did not end" : storage_last_error());
        j->outcome = LOGIN_INTERNAL;
        return;
    }
    struct homeserver_result res = {0};
    r = hs_device_create(oauth.st, oauth.hs, &oauth.cfg->matrix, &j->user, j->device_id, j->display_name,
                         j->session.id, &res);
    if (r < 0) {
        log_error("login of user %s: cannot create device %s on the homeserver, session ended: %s",
                  j->user.id, j->device_id, res.message);
        j->outcome = LOGIN_INTERNAL;
    }
}

static void login_respond_ok(struct masd_request *r, struct login_job *j)
{
    char user_id[STORAGE_USERNAME_MAX + 300];
    snprintf(user_id, sizeof(user_id), "@%s:%s", j->user.username, oauth.cfg->matrix.homeserver);
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
        switch (j->outcome) {
        case LOGIN_OK:
            login_respond_ok(r, j);
            break;
        case LOGIN_FORBIDDEN:
            matrix_error(r, 403, "M_FORBIDDEN", "Invalid username/password");
            break;
        case LOGIN_LOCKED:
            matrix_error(r, 401, "M_USER_LOCKED", "User account has been locked");
            break;
        case LOGIN_LIMITED:
            matrix_error_limited(r, "Too many login attempts", j->retry_after_ms);
            break;
        case LOGIN_BUSY:
            matrix_error_limited(r, "Too many logins in progress", j->retry_after_ms);
            break;
        case LOGIN_INTERNAL:
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
    if (j->outcome == LOGIN_OK && !j->dummy && !j->has_password)
        j->outcome = LOGIN_INTERNAL; /* cannot happen: the lookup either finds one or fails */
    if (r && j->outcome == LOGIN_OK) {
        if (masd_defer_cpu(r, login_verify, login_checked, j) == MASD_DEFER_QUEUED)
            return;
        j->outcome = LOGIN_BUSY;
        j->retry_after_ms = MASD_CPU_RETRY_AFTER_MS;
    }
    login_done(r, j);
}

/* After step 2, on the loop: a wrong password is answered, and only then a locked account; a
 * right password of a usable account goes on to step 3. */
static void login_checked(struct masd_request *r, void *arg)
{
    struct login_job *j = arg;
    if (r && j->verify < 0) {
        if (!j->dummy && j->verify != -EPERM)
            log_warn("login: the stored password of user %s cannot be used: %s", j->user.id,
                     strerror(-j->verify));
        j->outcome = LOGIN_FORBIDDEN;
    } else if (r && j->user.locked_at) {
        j->outcome = LOGIN_LOCKED;
    } else if (r && masd_defer_outbound(r, login_finish, login_done, j) == MASD_DEFER_QUEUED) {
        return;
    } else if (r) {
        j->outcome = LOGIN_BUSY;
        j->retry_after_ms = 1000;
    }
    login_done(r, j);
}

/* The client's network (an IPv4 address, or an IPv6 prefix of rate_limiting.ipv6_prefix_length
 * bits: one host usually has a whole /64 to pick addresses from) and its per-IP bucket. Without
 * a client address (a UNIX-socket peer that sent no usable X-Forwarded-For) every such request
 * shares one bucket (docs/architecture.md §3): warn the operator, at most once a minute, to fix the proxy. */
static void login_ip_key(const struct masd_request *r, struct login_job *j)
{
    static _Atomic int64_t last_warned;
    if (addr_network(&r->client, oauth.cfg->rate_limiting.ipv6_prefix_length, j->network)) {
        snprintf(j->ip_key, sizeof(j->ip_key), "login.per_ip:%s", j->network);
        return;
    }
    j->network[0] = '\0';
    snprintf(j->ip_key, sizeof(j->ip_key), "login.per_ip:-");
    int64_t now = masd_now(), prev = atomic_load(&last_warned);
    if (now - prev >= 60000 && atomic_compare_exchange_strong(&last_warned, &prev, now))
        log_warn("login: a request without a client address: every such request shares one rate-limit "
                 "bucket; let the proxy send X-Forwarded-For or the PROXY protocol");
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
    j->username_too_long =
        compat_login_username(in->user, oauth.cfg->matrix.homeserver, j->username, sizeof(j->username)) < 0;
    if (in->device_id)
        snprintf(j->device_id, sizeof(j->device_id), "%s", in->device_id);
    j->refresh = in->refresh_token;
    j->password_len = in->password_len;
    j->password = malloc(in->password_len + 1);
    j->display_name = dup_or_null(in->display_name);
    j->user_agent = dup_or_null(compat_request_header(r, "user-agent", STORAGE_SHORT_TEXT_MAX));
    login_ip_key(r, j);
    if (!j->password || (in->display_name && !j->display_name)) {
        login_job_free(j);
        return NULL;
    }
    memcpy(j->password, in->password, in->password_len + 1);
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
