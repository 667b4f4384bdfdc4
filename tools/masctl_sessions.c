/* masctl manage: lock-user, unlock-user, kill-sessions, issue-compatibility-token. Each writes
 * its changes and the homeserver-sync job they need (MAS's queue names and payloads) in one
 * transaction; masd-worker tells the homeserver afterwards. */
#include "masctl_manage.h"
#include "clock.h"
#include "config.h"
#include "random.h"
#include "token.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_FLAG = 1000 };

/* `<command> [--FLAG] USERNAME [EXTRA]`: the shape of all four commands. */
static int parse_flag_user(struct masctl *m, int argc, char **argv, const char *flag, bool *set,
                           const char **username, const char **extra)
{
    const struct option longopts[] = {
        {flag, no_argument, NULL, OPT_FLAG}, MASCTL_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    int c;
    masctl_getopt_reset();
    while ((c = masctl_getopt(m, argc, argv, "", longopts)) != -1) {
        if (c == MASCTL_HELP)
            return MASCTL_HELP;
        if (c != OPT_FLAG)
            return MASCTL_USAGE;
        *set = true;
    }
    if (!masctl_operands(m, argc, argv, 1, extra ? 2 : 1))
        return MASCTL_USAGE;
    *username = argv[optind];
    if (extra)
        *extra = optind + 1 < argc ? argv[optind + 1] : NULL;
    return 0;
}

/* MAS's ProvisionUserJob without a display name: the homeserver learns the lock state. */
static int queue_provision(struct storage_tx *tx, char *err, const char *user_id, int64_t now)
{
    return manage_queued(err, hs_queue_provision_user(tx, manage_matrix(), user_id, NULL, now),
                         HS_QUEUE_PROVISION_USER);
}

static int queue_sync(struct storage_tx *tx, char *err, const char *user_id, int64_t now)
{
    return manage_queued(err, hs_queue_sync_devices(tx, manage_matrix(), user_id, now),
                         HS_QUEUE_SYNC_DEVICES);
}

/* ---- lock-user, unlock-user ------------------------------------------------------------------ */

struct lock {
    char err[MANAGE_ERR_MAX];
    const char *username;
    bool flag; /* --deactivate / --reactivate */
    int locked, flagged;
    unsigned ended;
};

/* MAS locks at once and leaves deactivation to a job. masd deactivates at once too and ends the
 * user's sessions in the same transaction, so the account is closed even before masd-worker
 * runs; the deactivate-user job then tells the homeserver. */
static int lock_tx(struct storage_tx *tx, void *arg)
{
    struct lock *a = arg;
    struct storage_user u;
    int64_t now = masd_now();
    a->flagged = 0;
    a->ended = 0;
    int r = manage_find_user(tx, a->err, a->username, &u);
    if (r < 0)
        return r;
    if ((a->locked = storage_user_lock(tx, u.id, now)) < 0)
        return manage_fail(a->err, a->locked, "cannot lock '%s'", a->username);
    if ((r = queue_provision(tx, a->err, u.id, now)) < 0)
        return r;
    if (!a->flag)
        return 0;
    if ((a->flagged = storage_user_deactivate(tx, u.id, now)) < 0)
        return manage_fail(a->err, a->flagged, "cannot deactivate '%s'", a->username);
    if ((r = storage_user_finish_all_sessions(tx, u.id, now, &a->ended)) < 0)
        return manage_fail(a->err, r, "cannot end the sessions of '%s'", a->username);
    return manage_queued(a->err, hs_queue_deactivate_user(tx, manage_matrix(), u.id, false, now),
                         HS_QUEUE_DEACTIVATE_USER);
}

static int unlock_tx(struct storage_tx *tx, void *arg)
{
    struct lock *a = arg;
    struct storage_user u;
    int64_t now = masd_now();
    a->flagged = 0;
    int r = manage_find_user(tx, a->err, a->username, &u);
    if (r < 0)
        return r;
    if ((a->locked = storage_user_unlock(tx, u.id)) < 0)
        return manage_fail(a->err, a->locked, "cannot unlock '%s'", a->username);
    if (a->flag) {
        if ((a->flagged = storage_user_reactivate(tx, u.id)) < 0)
            return manage_fail(a->err, a->flagged, "cannot reactivate '%s'", a->username);
        r = manage_queued(a->err, hs_queue_reactivate_user(tx, manage_matrix(), u.id, now),
                          HS_QUEUE_REACTIVATE_USER);
        if (r < 0)
            return r;
    }
    return queue_provision(tx, a->err, u.id, now);
}

static int lock_or_unlock(struct masctl *m, int argc, char **argv, bool lock)
{
    struct lock a = {0};
    int r = parse_flag_user(m, argc, argv, lock ? "deactivate" : "reactivate", &a.flag, &a.username, NULL);
    if (r)
        return r == MASCTL_HELP ? MASCTL_OK : r;
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    r = manage_tx(m, &g, STORAGE_TX_WRITE, lock ? lock_tx : unlock_tx, &a, a.err);
    if (r == 0 && lock)
        printf("'%s' is locked%s", a.username, a.locked ? "" : " (it was already)");
    if (r == 0 && !lock)
        printf("'%s' is unlocked%s", a.username, a.locked ? "" : " (it was not locked)");
    if (r == 0 && a.flag && lock)
        printf("; deactivated%s, %u session%s ended", a.flagged ? "" : " (it was already)", a.ended,
               a.ended == 1 ? "" : "s");
    if (r == 0 && a.flag && !lock)
        printf("; reactivated%s", a.flagged ? "" : " (it was active)");
    if (r == 0)
        printf("\n");
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

int manage_lock_user(struct masctl *m, int argc, char **argv)
{
    return lock_or_unlock(m, argc, argv, true);
}

int manage_unlock_user(struct masctl *m, int argc, char **argv)
{
    return lock_or_unlock(m, argc, argv, false);
}

/* ---- kill-sessions --------------------------------------------------------------------------- */

struct kill {
    char err[MANAGE_ERR_MAX];
    const char *username;
    bool dry_run;
    unsigned ended;
};

/* A dry run does the same work and then rolls it back (-ECANCELED), so its count is exactly
 * what a real run would end at that moment, as MAS's dry run counts with the same filters. */
static int kill_tx(struct storage_tx *tx, void *arg)
{
    struct kill *a = arg;
    struct storage_user u;
    int64_t now = masd_now();
    a->ended = 0;
    int r = manage_find_user(tx, a->err, a->username, &u);
    if (r < 0)
        return r;
    if ((r = storage_user_finish_all_sessions(tx, u.id, now, &a->ended)) < 0)
        return manage_fail(a->err, r, "cannot end the sessions of '%s'", a->username);
    if ((r = queue_sync(tx, a->err, u.id, now)) < 0)
        return r;
    return a->dry_run ? -ECANCELED : 0;
}

int manage_kill_sessions(struct masctl *m, int argc, char **argv)
{
    struct kill a = {0};
    int r = parse_flag_user(m, argc, argv, "dry-run", &a.dry_run, &a.username, NULL);
    if (r)
        return r == MASCTL_HELP ? MASCTL_OK : r;
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    r = manage_tx(m, &g, STORAGE_TX_WRITE, kill_tx, &a, a.err);
    if (r == -ECANCELED && a.dry_run) {
        printf("would end %u session%s of '%s' (dry run: nothing was changed)\n", a.ended,
               a.ended == 1 ? "" : "s", a.username);
        r = 0;
    } else if (r == 0) {
        printf("ended %u session%s of '%s'\n", a.ended, a.ended == 1 ? "" : "s", a.username);
    }
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

/* ---- issue-compatibility-token --------------------------------------------------------------- */

struct issue {
    char err[MANAGE_ERR_MAX];
    const char *username, *device_id;
    bool admin;
    /* out */
    char token[TOKEN_LEN + 1];
    struct storage_user user;
    struct storage_compat_session session;
};

static int issue_tx(struct storage_tx *tx, void *arg)
{
    struct issue *a = arg;
    struct storage_user *u = &a->user;
    int64_t now = masd_now();
    a->token[0] = '\0';
    int r = manage_find_user(tx, a->err, a->username, u);
    if (r < 0)
        return r;
    /* MAS issues to any user; a token for a locked or deactivated one would be refused on its
     * first use, so say so now instead. */
    if (u->locked_at || u->deactivated_at) {
        snprintf(a->err, MANAGE_ERR_MAX, "'%s' is %s", a->username,
                 u->deactivated_at ? "deactivated" : "locked");
        return -EPERM;
    }
    if ((r = hs_session_may_start(tx, u->id, now)) < 0)
        return r; /* -EBUSY: manage_tx waits for the device sync and runs this again */
    r = storage_compat_session_create(tx, u->id, a->device_id, a->admin, NULL, NULL, NULL, now, &a->session);
    if (r == -EEXIST) {
        snprintf(a->err, MANAGE_ERR_MAX,
                 "device '%s' of '%s' has an active session already (kill-sessions ends it, or pick another "
                 "DEVICE_ID)",
                 a->device_id, a->username);
        return r;
    }
    if (r < 0)
        return manage_fail(a->err, r, "cannot create the session");
    if ((r = token_generate(TOKEN_COMPAT_ACCESS, a->token)) < 0) {
        snprintf(a->err, MANAGE_ERR_MAX, "cannot generate the token: %s", strerror(-r));
        return r;
    }
    /* No expiry and no refresh token: what MAS's command issues. */
    if ((r = storage_access_token_add(tx, STORAGE_SESSION_COMPAT, a->session.id, a->token, 0, now, NULL)) < 0)
        return manage_fail(a->err, r, "cannot store the token");
    return 0;
}

/* As a login: the device exists on the homeserver before anyone sees the token; on failure the
 * session is ended again and the token never printed. */
static int issue_device(struct masctl *m, struct manage *g, struct issue *a)
{
    struct homeserver *hs = NULL;
    struct homeserver_result res = {0};
    int r = homeserver_global_init();
    if (r >= 0)
        r = homeserver_open(&g->cfg->matrix, &hs);
    if (r < 0)
        return masctl_fail(m, "matrix: cannot set up the homeserver connection: %s", strerror(-r)), r;
    r = hs_device_create(g->st, hs, &g->cfg->matrix, &a->user, a->device_id, NULL, STORAGE_SESSION_COMPAT,
                         a->session.id, &res);
    if (r < 0)
        masctl_fail(m, "cannot create device %s on the homeserver, the session is ended again: %s",
                    a->device_id, res.message);
    homeserver_close(hs);
    return r;
}

int manage_issue_compat_token(struct masctl *m, int argc, char **argv)
{
    struct issue a = {0};
    char device[11];
    int r = parse_flag_user(m, argc, argv, "yes-i-want-to-grant-synapse-admin-privileges", &a.admin,
                            &a.username, &a.device_id);
    if (r)
        return r == MASCTL_HELP ? MASCTL_OK : r;
    if (a.device_id && (!*a.device_id || strlen(a.device_id) > STORAGE_DEVICE_ID_MAX))
        return masctl_usage(m, "DEVICE_ID must have 1 to %d bytes", STORAGE_DEVICE_ID_MAX);
    if (!a.device_id) {
        /* MAS's Device::generate: 10 alphanumerics. */
        if ((r = random_alnum(device, 10)) < 0)
            return masctl_fail(m, "cannot generate a device ID: %s", strerror(-r));
        a.device_id = device;
    }
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    if (hs_config_read_only(&g.cfg->matrix)) {
        masctl_fail(m, "cannot issue a compatibility token: masd cannot create its device on the homeserver "
                       "(matrix.kind is synapse_read_only)");
        manage_close(&g);
        return MASCTL_FAILED;
    }
    r = manage_tx(m, &g, STORAGE_TX_WRITE, issue_tx, &a, a.err);
    if (r == 0)
        r = issue_device(m, &g, &a);
    if (r == 0) {
        printf("%s\n", a.token);
        fprintf(stderr, "masctl: issued a compatibility token for '%s' on device %s%s\n", a.username,
                a.device_id, a.admin ? " with Synapse admin privileges" : "");
    }
    explicit_bzero(a.token, sizeof(a.token));
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

/* ---- provision-all-users --------------------------------------------------------------------- */

#define PROVISION_PAGE 1000

struct provision_all {
    char err[MANAGE_ERR_MAX];
    char after[STORAGE_ID_SIZE]; /* in: the page starts after this user ("" from the first) */
    char last[STORAGE_ID_SIZE];  /* out: the page's last user */
    size_t queued;               /* out: users in this page */
};

/* One page of users per transaction, so a million users never make one huge transaction. */
static int provision_page_tx(struct storage_tx *tx, void *arg)
{
    struct provision_all *a = arg;
    char **ids = NULL;
    size_t n = 0;
    int64_t now = masd_now();
    a->queued = 0;
    int r = storage_user_ids(tx, a->after[0] ? a->after : NULL, PROVISION_PAGE, &ids, &n);
    if (r < 0)
        return manage_fail(a->err, r, "cannot list the users");
    for (size_t i = 0; i < n && r >= 0; i++)
        r = queue_provision(tx, a->err, ids[i], now);
    if (r >= 0 && n) {
        a->queued = n;
        snprintf(a->last, sizeof(a->last), "%s", ids[n - 1]);
    }
    storage_strings_free(ids, n);
    return r;
}

int manage_provision_all_users(struct masctl *m, int argc, char **argv)
{
    int r = masctl_parse_plain(m, argc, argv, 0, 0);
    if (r != MASCTL_GO_ON)
        return r;
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    if (hs_config_read_only(&g.cfg->matrix)) {
        masctl_fail(
            m, "nothing to do: masd does not write to the homeserver (matrix.kind is synapse_read_only)");
        manage_close(&g);
        return MASCTL_FAILED;
    }
    struct provision_all a = {0};
    size_t total = 0;
    do {
        r = manage_tx(m, &g, STORAGE_TX_WRITE, provision_page_tx, &a, a.err);
        total += r < 0 ? 0 : a.queued;
        memcpy(a.after, a.last, sizeof(a.after)); /* IDs only grow: the next page starts after it */
    } while (r >= 0 && a.queued == PROVISION_PAGE);
    if (r >= 0)
        printf("queued %zu provision-user job%s; masd-worker runs them\n", total, total == 1 ? "" : "s");
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}
