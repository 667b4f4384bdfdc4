/* The account's changes (account.h): one implementation of each, in three stages — prepare
 * (database: the switches, the checks that cost nothing, the password row and the login's
 * limits), verify (password-hashing thread: the current password, the new one's hash), apply
 * (database: the change, with the jobs it needs in the same transaction) — or, for the display
 * name and the cross-signing reset, one call to the homeserver. Nothing slow (verify, the
 * homeserver) ever runs inside a transaction, whether a page or GraphQL drives the op. */
#include "account.h"
#include "clock.h"
#include "hs_sync.h"
#include "log.h"
#include "mail_address.h"
#include "passwords.h"
#include "policy.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STAGE_PREPARE, STAGE_VERIFY, STAGE_APPLY, STAGE_END };

void account_op_init(struct account_op *op, enum account_op_kind kind, const struct config *cfg,
                     struct storage *st, struct homeserver *hs, const struct policy *policy,
                     const struct storage_user *user, const char *browser_session_id,
                     const struct masd_addr *client)
{
    memset(op, 0, sizeof(*op));
    op->kind = kind, op->cfg = cfg, op->st = st, op->hs = hs, op->policy = policy;
    op->user = *user;
    snprintf(op->browser_session_id, sizeof(op->browser_session_id), "%s", browser_session_id);
    if (client)
        op->client = *client;
}

static void wipe(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

int account_op_set_password(struct account_op *op, int which, const char *password)
{
    char **slot = which ? &op->new_password : &op->password;
    wipe(slot);
    return (*slot = strdup(password)) ? 0 : -ENOMEM;
}

void account_op_clear(struct account_op *op)
{
    wipe(&op->password);
    wipe(&op->new_password);
    wipe(&op->new_hash);
    password_login_clear(&op->login);
    json_decref(op->violations);
    op->violations = NULL;
}

bool account_display_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= 256;
}

bool account_code_normalize(const char *in, char out[7])
{
    size_t k = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p < '0' || *p > '9' || k == 6)
            return false;
        out[k++] = *p;
    }
    out[k] = '\0';
    return k == 6;
}

const char *account_status_name(enum account_status s)
{
    static const char *const names[] = {
        [ACCOUNT_SET] = "SET",
        [ACCOUNT_INVALID] = "INVALID",
        [ACCOUNT_STARTED] = "STARTED",
        [ACCOUNT_INVALID_EMAIL_ADDRESS] = "INVALID_EMAIL_ADDRESS",
        [ACCOUNT_DENIED] = "DENIED",
        [ACCOUNT_IN_USE] = "IN_USE",
        [ACCOUNT_INCORRECT_PASSWORD] = "INCORRECT_PASSWORD",
        [ACCOUNT_RATE_LIMITED] = "RATE_LIMITED",
        [ACCOUNT_RESENT] = "RESENT",
        [ACCOUNT_COMPLETED] = "COMPLETED",
        [ACCOUNT_INVALID_CODE] = "INVALID_CODE",
        [ACCOUNT_CODE_EXPIRED] = "CODE_EXPIRED",
        [ACCOUNT_REMOVED] = "REMOVED",
        [ACCOUNT_NOT_FOUND] = "NOT_FOUND",
        [ACCOUNT_ALLOWED] = "ALLOWED",
        [ACCOUNT_INVALID_NEW_PASSWORD] = "INVALID_NEW_PASSWORD",
        [ACCOUNT_PASSWORD_CHANGES_DISABLED] = "PASSWORD_CHANGES_DISABLED",
        [ACCOUNT_NO_CURRENT_PASSWORD] = "NO_CURRENT_PASSWORD",
        [ACCOUNT_WRONG_PASSWORD] = "WRONG_PASSWORD",
        [ACCOUNT_DEACTIVATED] = "DEACTIVATED",
    };
    return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* ---- stages -------------------------------------------------------------------------------- */

static bool needs_cpu(const struct account_op *op)
{
    return op->check_password || op->kind == ACCOUNT_SET_PASSWORD;
}

/* The stage that runs next: verify is skipped when there is nothing to check or hash. */
static int next_stage(const struct account_op *op)
{
    if (op->stage == STAGE_VERIFY && !needs_cpu(op))
        return STAGE_APPLY;
    return op->stage;
}

/* The kinds that are one call to the homeserver, on the outbound pool. */
static bool homeserver_only(const struct account_op *op)
{
    return op->kind == ACCOUNT_SET_DISPLAY_NAME || op->kind == ACCOUNT_ALLOW_CROSS_SIGNING_RESET;
}

bool account_op_next(const struct account_op *op, enum account_pool *pool)
{
    if (op->status != ACCOUNT_PENDING)
        return false;
    if (homeserver_only(op)) {
        *pool = ACCOUNT_POOL_OUTBOUND;
        return true;
    }
    int s = next_stage(op);
    if (s >= STAGE_END)
        return false;
    *pool = s == STAGE_VERIFY ? ACCOUNT_POOL_CPU : ACCOUNT_POOL_DB;
    return true;
}

static bool switch_on(const struct account_op *op)
{
    const struct config *c = op->cfg;
    switch (op->kind) {
    case ACCOUNT_SET_DISPLAY_NAME: /* MAS: an administrator may change anyone's, the switch
                                    * notwithstanding */
        return c->displayname_change_allowed || op->admin;
    case ACCOUNT_START_EMAIL:
    case ACCOUNT_RESEND_EMAIL:
    case ACCOUNT_COMPLETE_EMAIL:
    case ACCOUNT_REMOVE_EMAIL:
        return c->email_change_allowed;
    case ACCOUNT_DEACTIVATE:
        return c->account_deactivation_allowed;
    default:
        return true; /* a password change answers PASSWORD_CHANGES_DISABLED, MAS's status */
    }
}

/* SET_DISPLAY_NAME: the homeserver keeps it (MAS stores none). */
static void set_display_name(struct account_op *op)
{
    if (!switch_on(op)) {
        op->status = ACCOUNT_FORBIDDEN;
        return;
    }
    if (!op->unset && !account_display_name_valid(op->display_name)) {
        op->status = ACCOUNT_INVALID;
        return;
    }
    if (homeserver_read_only(op->hs)) {
        op->status = ACCOUNT_READ_ONLY;
        return;
    }
    struct homeserver_result res = {0};
    int r = op->unset ? homeserver_unset_displayname(op->hs, op->user.username, &res)
                      : homeserver_set_displayname(op->hs, op->user.username, op->display_name, &res);
    if (r < 0) {
        log_error("account: user %s: the display name was not changed: %s", op->user.id, res.message);
        op->status = ACCOUNT_HOMESERVER;
        return;
    }
    op->status = ACCOUNT_SET;
}

/* ALLOW_CROSS_SIGNING_RESET: for a while (the homeserver's: Synapse, 10 minutes) the user's apps
 * may upload new cross-signing keys without user-interactive auth (MAS:
 * crates/handlers/src/graphql/mutations/user.rs, allow_user_cross_signing_reset). */
static void allow_cross_signing_reset(struct account_op *op)
{
    if (homeserver_read_only(op->hs)) {
        op->status = ACCOUNT_READ_ONLY;
        return;
    }
    struct homeserver_result res = {0};
    if (homeserver_allow_cross_signing_reset(op->hs, op->user.username, &res) < 0) {
        log_error("account: user %s: the cross-signing reset was not allowed: %s", op->user.id, res.message);
        op->status = ACCOUNT_HOMESERVER;
        return;
    }
    op->status = ACCOUNT_RESET_ALLOWED;
}

/* The kinds that are one call to the homeserver. */
static void homeserver_step(struct account_op *op)
{
    if (op->kind == ACCOUNT_SET_DISPLAY_NAME)
        set_display_name(op);
    else
        allow_cross_signing_reset(op);
}

/* One rate limit: 1 passes, 0 limited (status set), < 0. */
static int limit(struct storage_tx *tx, struct account_op *op, const char *key,
                 const struct config_rate_limit *l)
{
    int r = storage_rate_limit_check(tx, key, l->burst, l->per_second, masd_now(), &op->retry_after_ms);
    if (r == 0)
        op->status = ACCOUNT_RATE_LIMITED;
    return r;
}

/* The re-check rule, in prepare: whether a password is needed, and the login's limits and row
 * for it. 0 goes on (status may be set), < 0 a storage error. */
static int prepare_password(struct storage_tx *tx, struct account_op *op, bool always)
{
    op->check_password = false;
    if (op->admin || (!op->cfg->passwords.enabled && !always))
        return 0;
    struct storage_password pw;
    int r = storage_password_get_active(tx, op->user.id, &pw);
    if (r == -ENOENT) {
        if (always)
            op->status = ACCOUNT_NO_CURRENT_PASSWORD;
        return 0;
    }
    if (r < 0)
        return r;
    if (!op->password) {
        op->status = ACCOUNT_PASSWORD_REQUIRED;
        return 0;
    }
    password_login_clear(&op->login);
    memset(&op->login, 0, sizeof(op->login));
    if (password_login_init(&op->login, op->cfg, op->user.username, op->password, strlen(op->password),
                            &op->client, 0) < 0)
        return -ENOMEM;
    if ((r = password_login_precheck(tx, &op->login)) < 0)
        return r;
    if (op->login.outcome == PASSWORD_LOGIN_LIMITED) {
        op->status = ACCOUNT_RATE_LIMITED;
        op->retry_after_ms = op->login.retry_after_ms;
        return 0;
    }
    /* the user found by its name must be the requester (a rename cannot happen, but be sure) */
    if (op->login.outcome != PASSWORD_LOGIN_OK || !op->login.found || strcmp(op->login.user.id, op->user.id))
        return -EIO;
    op->check_password = true;
    return 0;
}

/* The requester's address `id`: 0, -ENOENT. */
static int own_email(struct storage_tx *tx, const struct account_op *op, struct storage_email *out)
{
    struct storage_email *list = NULL;
    size_t n = 0;
    int r = storage_email_list(tx, op->user.id, &list, &n);
    if (r < 0)
        return r;
    r = -ENOENT;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].id, op->id) == 0) {
            *out = list[i];
            r = 0;
        }
    free(list);
    return r;
}

static int prepare_start_email(struct storage_tx *tx, struct account_op *op)
{
    int r = prepare_password(tx, op, false);
    if (r < 0 || op->status != ACCOUNT_PENDING)
        return r;
    struct mail_address a;
    const char *why;
    if (!op->email[0] || mail_address_parse(masd_str_from(op->email), &a, &why) < 0) {
        op->status = ACCOUNT_INVALID_EMAIL_ADDRESS;
        return 0;
    }
    struct policy_result res = {0};
    if (policy_email(op->policy, op->email, &res) < 0)
        return -ENOMEM;
    if (res.n) {
        op->violations = json_array();
        for (size_t i = 0; i < res.n; i++)
            json_array_append_new(op->violations, json_pack("{s:s}", "msg", res.violations[i].msg));
        policy_result_clear(&res);
        op->status = ACCOUNT_DENIED;
        return 0;
    }
    /* MAS: IN_USE only when the requester has it already; someone else's is found out at the
     * end, so that the form does not tell whose addresses exist */
    struct storage_email e;
    r = storage_email_find(tx, op->email, &e);
    if (r == 0 && strcmp(e.user_id, op->user.id) == 0)
        op->status = ACCOUNT_IN_USE;
    return r == -ENOENT || r == 0 ? 0 : r;
}

static int prepare_resend(struct storage_tx *tx, struct account_op *op)
{
    struct storage_email_authentication auth;
    int r = storage_email_authentication_get(tx, op->id, &auth);
    if (r == -ENOENT || r == -EINVAL) {
        op->status = ACCOUNT_COMPLETED; /* MAS answers so for an unknown ID */
        return 0;
    }
    if (r < 0)
        return r;
    if (strcmp(auth.browser_session_id, op->browser_session_id) != 0) {
        op->status = ACCOUNT_NOT_YOURS;
        return 0;
    }
    if (auth.completed_at) {
        op->status = ACCOUNT_COMPLETED;
        return 0;
    }
    char key[64];
    snprintf(key, sizeof(key), "email.emails_per_session:%s", auth.id);
    if ((r = limit(tx, op, key, &op->cfg->rate_limiting.email_emails_per_session)) != 1)
        return r < 0 ? r : 0;
    r = storage_email_authentication_resend(tx, auth.id, op->language[0] ? op->language : "en", masd_now());
    if (r == -EALREADY) {
        op->status = ACCOUNT_COMPLETED;
        return 0;
    }
    if (r >= 0)
        op->status = ACCOUNT_RESENT;
    return r < 0 ? r : 0;
}

/* The code typed: guesses are limited per authentication (a million values) before the lookup;
 * the address is added only if nobody has it, and the homeserver is told in the same
 * transaction (MAS forgot: homeserver-sync §6). */
static int complete_email(struct storage_tx *tx, struct account_op *op)
{
    struct storage_email_authentication auth;
    int r = storage_email_authentication_get(tx, op->id, &auth);
    if (r == -ENOENT || r == -EINVAL ||
        (r == 0 && strcmp(auth.browser_session_id, op->browser_session_id) != 0)) {
        op->status = ACCOUNT_INVALID_CODE; /* MAS: unknown or another session's */
        return 0;
    }
    if (r < 0)
        return r;
    if (auth.completed_at) {
        op->status = ACCOUNT_COMPLETED;
        return 0;
    }
    char key[64], code[7];
    snprintf(key, sizeof(key), "email.attempt_per_session:%s", auth.id);
    if ((r = limit(tx, op, key, &op->cfg->rate_limiting.email_attempt_per_session)) != 1)
        return r < 0 ? r : 0;
    struct storage_email_authentication_code c;
    int64_t now = masd_now();
    r = account_code_normalize(op->code, code) ? storage_email_authentication_code_find(tx, auth.id, code, &c)
                                               : -ENOENT;
    if (r == -ENOENT || r == -EINVAL) {
        op->status = ACCOUNT_INVALID_CODE;
        return 0;
    }
    if (r < 0)
        return r;
    if (c.expires_at <= now) {
        op->status = ACCOUNT_CODE_EXPIRED;
        return 0;
    }
    if ((r = storage_email_authentication_complete(tx, auth.id, now)) == -EALREADY) {
        op->status = ACCOUNT_COMPLETED;
        return 0;
    }
    if (r < 0)
        return r;
    /* a failed statement would roll the whole transaction back: look first (a concurrent add of
     * the same address then fails the transaction, and the code stays unused) */
    struct storage_email e;
    if ((r = storage_email_find(tx, auth.email, &e)) == 0) {
        op->status = ACCOUNT_IN_USE; /* the code is used up all the same (MAS) */
        return 0;
    }
    if (r != -ENOENT)
        return r;
    r = storage_email_add(tx, op->user.id, auth.email, now, &e);
    if (r >= 0)
        r = hs_queue_provision_user(tx, &op->cfg->matrix, op->user.id, NULL, now);
    if (r < 0)
        return r;
    memcpy(op->email_id, e.id, sizeof(op->email_id));
    op->status = ACCOUNT_COMPLETED;
    return 0;
}

static int end_other_sessions(struct storage_tx *tx, struct account_op *op)
{
    int64_t now = masd_now();
    int r = storage_user_finish_other_sessions(tx, op->user.id, op->browser_session_id, now, &op->ended);
    if (r >= 0) /* the devices of the ended sessions go from the homeserver */
        r = hs_queue_sync_devices(tx, &op->cfg->matrix, op->user.id, now);
    if (r >= 0)
        op->status = ACCOUNT_ENDED;
    return r < 0 ? r : 0;
}

static int prepare_tx(struct storage_tx *tx, void *arg)
{
    struct account_op *op = arg;
    op->status = ACCOUNT_PENDING;
    json_decref(op->violations);
    op->violations = NULL;
    if (!switch_on(op)) {
        op->status = ACCOUNT_FORBIDDEN;
        return 0;
    }
    switch (op->kind) {
    case ACCOUNT_START_EMAIL:
        return prepare_start_email(tx, op);
    case ACCOUNT_RESEND_EMAIL:
        return prepare_resend(tx, op);
    case ACCOUNT_COMPLETE_EMAIL:
        return complete_email(tx, op);
    case ACCOUNT_REMOVE_EMAIL: {
        int r = prepare_password(tx, op, false);
        struct storage_email e;
        if (r >= 0 && op->status == ACCOUNT_PENDING && (r = own_email(tx, op, &e)) == -ENOENT) {
            op->status = ACCOUNT_NOT_FOUND;
            return 0;
        }
        return r < 0 ? r : 0;
    }
    case ACCOUNT_SET_PASSWORD: {
        const struct config *c = op->cfg;
        if (!c->passwords.enabled || !c->password_change_allowed) {
            op->status = ACCOUNT_PASSWORD_CHANGES_DISABLED;
            return 0;
        }
        if (!op->new_password || !op->new_password[0] ||
            password_check_complexity(&c->passwords, op->new_password) < 0) {
            op->status = ACCOUNT_INVALID_NEW_PASSWORD;
            return 0;
        }
        return prepare_password(tx, op, true);
    }
    case ACCOUNT_END_OTHER_SESSIONS:
        return end_other_sessions(tx, op);
    case ACCOUNT_DEACTIVATE:
        return prepare_password(tx, op, false);
    default:
        return -EINVAL;
    }
}

static void verify(struct account_op *op)
{
    wipe(&op->new_hash);
    if (op->check_password) {
        password_login_verify(&op->login, op->cfg);
        if (op->login.outcome == PASSWORD_LOGIN_FORBIDDEN) {
            op->status =
                op->kind == ACCOUNT_SET_PASSWORD ? ACCOUNT_WRONG_PASSWORD : ACCOUNT_INCORRECT_PASSWORD;
            return;
        }
        if (op->login.outcome != PASSWORD_LOGIN_OK) { /* locked or deactivated meanwhile */
            op->status = ACCOUNT_FORBIDDEN;
            return;
        }
    }
    if (op->kind == ACCOUNT_SET_PASSWORD &&
        password_hash(&op->cfg->passwords, op->new_password, strlen(op->new_password), &op->new_hash,
                      &op->new_version) < 0) {
        log_error("account: user %s: cannot hash the new password", op->user.id);
        op->status = ACCOUNT_INTERNAL;
    }
}

static int apply_tx(struct storage_tx *tx, void *arg)
{
    struct account_op *op = arg;
    const struct config *c = op->cfg;
    int64_t now = masd_now();
    int r = 0;
    op->status = ACCOUNT_PENDING;
    switch (op->kind) {
    case ACCOUNT_START_EMAIL: {
        /* MAS: the code e-mail's limits, per network and per address (ASCII-folded) */
        char net[MASD_NETWORK_STRLEN], key[32 + STORAGE_EMAIL_MAX];
        snprintf(key, sizeof(key), "email.per_ip:%s",
                 addr_network(&op->client, c->rate_limiting.ipv6_prefix_length, net) ? net : "-");
        if ((r = limit(tx, op, key, &c->rate_limiting.email_per_ip)) != 1)
            return r < 0 ? r : 0;
        int n = snprintf(key, sizeof(key), "email.per_address:%s", op->email);
        for (char *p = key + n - strlen(op->email); *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if ((r = limit(tx, op, key, &c->rate_limiting.email_per_address)) != 1)
            return r < 0 ? r : 0;
        struct storage_email_authentication auth;
        r = storage_email_authentication_start(tx, op->email, op->browser_session_id,
                                               op->language[0] ? op->language : "en", now, &auth);
        if (r >= 0) {
            memcpy(op->authentication_id, auth.id, sizeof(auth.id));
            op->status = ACCOUNT_STARTED;
        }
        break;
    }
    case ACCOUNT_REMOVE_EMAIL: {
        struct storage_email e;
        if ((r = own_email(tx, op, &e)) == -ENOENT) {
            op->status = ACCOUNT_NOT_FOUND;
            return 0;
        }
        if (r >= 0)
            r = storage_email_remove(tx, e.id);
        if (r >= 0) /* the homeserver gets the list without it */
            r = hs_queue_provision_user(tx, &c->matrix, op->user.id, NULL, now);
        if (r >= 0)
            op->status = ACCOUNT_REMOVED;
        break;
    }
    case ACCOUNT_SET_PASSWORD: {
        struct storage_password pw;
        r = storage_password_add(tx, op->user.id, op->new_hash, op->new_version, NULL, now, &pw);
        if (r >= 0)
            op->status = ACCOUNT_ALLOWED;
        break;
    }
    case ACCOUNT_DEACTIVATE:
        /* here at once (every session ends, every token stops working), the homeserver by the
         * job, as masctl's lock-user --deactivate */
        r = storage_user_deactivate(tx, op->user.id, now);
        if (r >= 0)
            r = storage_user_finish_all_sessions(tx, op->user.id, now, NULL);
        if (r >= 0)
            r = hs_queue_deactivate_user(tx, &c->matrix, op->user.id, op->erase, now);
        if (r >= 0)
            op->status = ACCOUNT_DEACTIVATED;
        break;
    default:
        return -EINVAL;
    }
    return r < 0 ? r : 0;
}

static bool ends_in_prepare(const struct account_op *op);

static void run_tx(struct account_op *op, unsigned flags, storage_tx_fn fn)
{
    if (storage_tx(op->st, flags, fn, op) < 0) {
        log_error("account: user %s: %s", op->user.id, storage_last_error());
        op->status = ACCOUNT_INTERNAL;
    }
}

void account_op_step(struct account_op *op)
{
    if (homeserver_only(op)) {
        homeserver_step(op);
        return;
    }
    int s = next_stage(op);
    op->stage = s + 1;
    switch (s) {
    case STAGE_PREPARE:
        /* a write: the limits' buckets, and the code's completion */
        run_tx(op, STORAGE_TX_WRITE | (op->kind == ACCOUNT_COMPLETE_EMAIL ? STORAGE_TX_DURABLE : 0),
               prepare_tx);
        if (op->status == ACCOUNT_PENDING && ends_in_prepare(op))
            op->status = ACCOUNT_INTERNAL;
        break;
    case STAGE_VERIFY:
        verify(op);
        break;
    case STAGE_APPLY:
        run_tx(op, STORAGE_TX_WRITE | STORAGE_TX_DURABLE, apply_tx);
        if (op->status == ACCOUNT_PENDING)
            op->status = ACCOUNT_INTERNAL;
        break;
    default:
        op->status = ACCOUNT_INTERNAL;
        break;
    }
}

/* The kinds whose work is all in prepare. */
static bool ends_in_prepare(const struct account_op *op)
{
    return op->kind == ACCOUNT_COMPLETE_EMAIL || op->kind == ACCOUNT_RESEND_EMAIL ||
           op->kind == ACCOUNT_END_OTHER_SESSIONS;
}

/* Whether `done` was verified against what `op` would be: the same password row, or none. */
static bool same_check(const struct account_op *op, const struct account_op *done)
{
    if (op->check_password != done->check_password)
        return false;
    return !op->check_password || (strcmp(op->login.pw.id, done->login.pw.id) == 0 &&
                                   strcmp(op->login.pw.hash, done->login.pw.hash) == 0);
}

int account_op_run_tx(struct account_op *op, struct storage_tx *tx, const struct account_op *done)
{
    op->stage = STAGE_PREPARE;
    op->status = ACCOUNT_PENDING;
    if (homeserver_only(op)) {
        if (!done)
            return 1;
        op->status = done->status;
        return 0;
    }
    int r = prepare_tx(tx, op);
    if (r < 0)
        return r;
    if (op->status == ACCOUNT_PENDING && ends_in_prepare(op))
        op->status = ACCOUNT_INTERNAL;
    if (op->status != ACCOUNT_PENDING)
        return 0;
    if (needs_cpu(op)) {
        if (!done || !same_check(op, done))
            return 1;
        /* the outcome of the check, and a copy of the new hash (this transaction may be run
         * again, and so may this call) */
        if (done->status != ACCOUNT_PENDING) {
            op->status = done->status;
            return 0;
        }
        if (done->new_hash) {
            wipe(&op->new_hash);
            if (!(op->new_hash = strdup(done->new_hash)))
                return -ENOMEM;
            op->new_version = done->new_version;
        }
    }
    if ((r = apply_tx(tx, op)) >= 0 && op->status == ACCOUNT_PENDING)
        op->status = ACCOUNT_INTERNAL;
    return r;
}

void account_op_run_outside(struct account_op *op)
{
    if (homeserver_only(op))
        homeserver_step(op);
    else
        verify(op);
}

void account_op_run(struct account_op *op)
{
    enum account_pool pool;
    while (account_op_next(op, &pool))
        account_op_step(op);
}
