/* masctl manage: accounts (register-user, set-password, add-email, promote-admin,
 * demote-admin, list-admin-users) and the helpers every manage command shares. Sessions
 * (lock/unlock, kill-sessions, issue-compatibility-token) are in masctl_sessions.c. */
#include "masctl_manage.h"
#include "mail_address.h"
#include "clock.h"
#include "config.h"
#include "passwords.h"
#include "random.h"
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared ---------------------------------------------------------------------------------- */

static const struct config_matrix *loaded_matrix;

const struct config_matrix *manage_matrix(void)
{
    return loaded_matrix;
}

int manage_open(struct masctl *m, struct manage *g)
{
    *g = (struct manage){0};
    if (masctl_load_config(m, &g->cfg) < 0)
        return -EINVAL;
    loaded_matrix = &g->cfg->matrix;
    int r = masctl_open_storage(m, g->cfg, MASCTL_DB_CHECK_SCHEMA, &g->st);
    if (r < 0) {
        config_free(g->cfg);
        g->cfg = NULL;
    }
    return r;
}

void manage_close(struct manage *g)
{
    if (g->st)
        storage_close(g->st);
    if (g->cfg)
        config_free(g->cfg);
    *g = (struct manage){0};
}

int manage_fail(char *err, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, MANAGE_ERR_MAX, fmt, ap);
    va_end(ap);
    const char *why = storage_last_error();
    if (n >= 0 && (size_t)n < MANAGE_ERR_MAX && why && *why)
        snprintf(err + n, MANAGE_ERR_MAX - (size_t)n, ": %s", why);
    return r;
}

int manage_tx(struct masctl *m, struct manage *g, unsigned flags, storage_tx_fn fn, void *arg, char *err)
{
    if (flags & STORAGE_TX_WRITE)
        flags |= STORAGE_TX_DURABLE; /* an administrator's change survives power loss */
    err[0] = '\0';
    int r = hs_session_tx(g->st, flags, fn, arg); /* storage_tx, waiting out a device sync */
    if (r < 0 && r != -ECANCELED) {
        const char *why = *err ? err : *storage_last_error() ? storage_last_error() : strerror(-r);
        masctl_fail(m, "%s", why);
    }
    return r;
}

int manage_find_user(struct storage_tx *tx, char *err, const char *username, struct storage_user *u)
{
    int r = storage_user_find(tx, username, u);
    if (r == -ENOENT)
        snprintf(err, MANAGE_ERR_MAX, "user '%s' not found", username);
    else if (r < 0)
        manage_fail(err, r, "cannot look up user '%s'", username);
    return r;
}

int manage_queued(char *err, int r, const char *queue)
{
    if (r == -EINVAL)
        snprintf(err, MANAGE_ERR_MAX, "cannot queue the %s job (a value is not UTF-8)", queue);
    else if (r < 0)
        manage_fail(err, r, "cannot queue the %s job", queue);
    return r < 0 ? r : 0;
}

/* Simple long options take values above the range of short ones. */
enum { OPT_IGNORE_COMPLEXITY = 1000 };

int manage_check_password(struct masctl *m, const struct config *cfg, const char *password, bool ignore,
                          const char *ignore_flag)
{
    if (!cfg->passwords.enabled)
        return masctl_fail(m, "passwords are disabled in the configuration (passwords.enabled: false)"),
               -EPERM;
    if (ignore || password_check_complexity(&cfg->passwords, password) == 0)
        return 0;
    masctl_fail(
        m, "the password is too weak (score %d of 4, passwords.minimum_complexity is %u); %s uses it anyway",
        password_complexity(password), cfg->passwords.minimum_complexity, ignore_flag);
    return -EPERM;
}

int manage_hash_password(struct masctl *m, const struct config *cfg, const char *password, char **hash,
                         unsigned *version)
{
    int r = password_hash(&cfg->passwords, password, strlen(password), hash, version);
    if (r == -EILSEQ)
        masctl_fail(m, "the password is not valid UTF-8");
    else if (r < 0)
        masctl_fail(m, "cannot hash the password: %s", strerror(-r));
    return r;
}

/* ---- set-password ---------------------------------------------------------------------------- */

struct set_password {
    char err[MANAGE_ERR_MAX];
    const char *username, *hash;
    unsigned version;
};

static int set_password_tx(struct storage_tx *tx, void *arg)
{
    struct set_password *a = arg;
    struct storage_user u;
    int r = manage_find_user(tx, a->err, a->username, &u);
    if (r < 0)
        return r;
    r = storage_password_add(tx, u.id, a->hash, a->version, NULL, masd_now(), NULL);
    if (r < 0)
        return manage_fail(a->err, r, "cannot store the password of '%s'", a->username);
    return 0;
}

static int cmd_set_password(struct masctl *m, int argc, char **argv)
{
    static const struct option longopts[] = {{"ignore-complexity", no_argument, NULL, OPT_IGNORE_COMPLEXITY},
                                             MASCTL_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    bool ignore = false;
    int c;
    masctl_getopt_reset();
    while ((c = masctl_getopt(m, argc, argv, "", longopts)) != -1) {
        if (c == MASCTL_HELP)
            return MASCTL_OK;
        if (c != OPT_IGNORE_COMPLEXITY)
            return MASCTL_USAGE;
        ignore = true;
    }
    if (!masctl_operands(m, argc, argv, 2, 2))
        return MASCTL_USAGE;
    struct set_password a = {.username = argv[optind]};
    const char *password = argv[optind + 1];
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    char *hash = NULL;
    int r = manage_check_password(m, g.cfg, password, ignore, "--ignore-complexity");
    if (r == 0)
        r = manage_hash_password(m, g.cfg, password, &hash, &a.version);
    if (r == 0) {
        a.hash = hash;
        r = manage_tx(m, &g, STORAGE_TX_WRITE, set_password_tx, &a, a.err);
    }
    if (r == 0)
        printf("set a new password for '%s'\n", a.username);
    free(hash);
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

/* ---- add-email ------------------------------------------------------------------------------- */

/* An address masd could send to: the mail layer's own parser (common/base/mail_address.h). */
bool manage_email_plausible(const char *e)
{
    struct mail_address a;
    return mail_address_parse(masd_str_from(e), &a, NULL) == 0;
}

struct add_email {
    char err[MANAGE_ERR_MAX];
    const char *username, *email;
    bool existed;
};

static int add_email_tx(struct storage_tx *tx, void *arg)
{
    struct add_email *a = arg;
    struct storage_user u;
    struct storage_email e;
    a->existed = false;
    int r = manage_find_user(tx, a->err, a->username, &u);
    if (r < 0)
        return r;
    r = storage_email_find(tx, a->email, &e);
    if (r == 0 && strcmp(e.user_id, u.id) == 0) {
        /* MAS: adding an address the user has already is not an error. */
        a->existed = true;
        return 0;
    }
    if (r == 0) {
        snprintf(a->err, MANAGE_ERR_MAX, "the e-mail address '%s' belongs to another user", a->email);
        return -EEXIST;
    }
    if (r != -ENOENT)
        return manage_fail(a->err, r, "cannot look up '%s'", a->email);
    int64_t now = masd_now();
    r = storage_email_add(tx, u.id, a->email, now, NULL);
    if (r < 0)
        return manage_fail(a->err, r, "cannot add '%s'", a->email);
    /* the homeserver learns the new address (MAS forgot this one: reference §6) */
    return manage_queued(a->err, hs_queue_provision_user(tx, manage_matrix(), u.id, NULL, now),
                         HS_QUEUE_PROVISION_USER);
}

static int cmd_add_email(struct masctl *m, int argc, char **argv)
{
    int status = masctl_parse_plain(m, argc, argv, 2, 2);
    if (status != MASCTL_GO_ON)
        return status;
    struct add_email a = {.username = argv[optind], .email = argv[optind + 1]};
    if (!manage_email_plausible(a.email))
        return masctl_fail(m, "'%s' is not an e-mail address", a.email);
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    int r = manage_tx(m, &g, STORAGE_TX_WRITE, add_email_tx, &a, a.err);
    if (r == 0)
        printf(a.existed ? "'%s' already has the address %s\n" : "added %2$s to '%1$s'\n", a.username,
               a.email);
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

/* ---- promote-admin, demote-admin, list-admin-users ------------------------------------------- */

struct set_admin {
    char err[MANAGE_ERR_MAX];
    const char *username;
    bool admin;
    int changed;
};

static int set_admin_tx(struct storage_tx *tx, void *arg)
{
    struct set_admin *a = arg;
    struct storage_user u;
    int r = manage_find_user(tx, a->err, a->username, &u);
    if (r < 0)
        return r;
    a->changed = storage_user_set_admin(tx, u.id, a->admin);
    if (a->changed < 0)
        return manage_fail(a->err, a->changed, "cannot change '%s'", a->username);
    return 0;
}

static int set_admin(struct masctl *m, int argc, char **argv, bool admin)
{
    struct set_admin a = {.admin = admin};
    int r = masctl_parse_plain(m, argc, argv, 1, 1);
    if (r != MASCTL_GO_ON)
        return r;
    a.username = argv[optind];
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    r = manage_tx(m, &g, STORAGE_TX_WRITE, set_admin_tx, &a, a.err);
    if (r == 0)
        printf("'%s' %s request admin privileges%s\n", a.username, admin ? "can" : "can no longer",
               a.changed ? "" : " (unchanged)");
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

static int cmd_promote_admin(struct masctl *m, int argc, char **argv)
{
    return set_admin(m, argc, argv, true);
}

static int cmd_demote_admin(struct masctl *m, int argc, char **argv)
{
    return set_admin(m, argc, argv, false);
}

struct list_admins {
    char err[MANAGE_ERR_MAX];
    struct storage_user *users;
    size_t n;
};

static int list_admins_tx(struct storage_tx *tx, void *arg)
{
    struct list_admins *a = arg;
    free(a->users);
    a->users = NULL;
    a->n = 0;
    int r = storage_user_list_admins(tx, &a->users, &a->n);
    return r < 0 ? manage_fail(a->err, r, "cannot list the admin users") : 0;
}

/* One username per line on stdout, so scripts can read it; nothing when there is none. */
static int cmd_list_admin_users(struct masctl *m, int argc, char **argv)
{
    int status = masctl_parse_plain(m, argc, argv, 0, 0);
    if (status != MASCTL_GO_ON)
        return status;
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    struct list_admins a = {0};
    int r = manage_tx(m, &g, STORAGE_TX_READ, list_admins_tx, &a, a.err);
    for (size_t i = 0; r == 0 && i < a.n; i++)
        printf("%s\n", a.users[i].username);
    free(a.users);
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

/* ---- issue-user-registration-token ----------------------------------------------------------- */

/* MAS's options (MAS: crates/cli/src/commands/manage.rs IssueUserRegistrationToken): a given or
 * random token (12 letters and digits), used once unless --usage-limit or --unlimited says
 * otherwise, expiring after --expires-in seconds or never. */
enum { OPT_TOKEN = 1100, OPT_USAGE_LIMIT, OPT_UNLIMITED, OPT_EXPIRES_IN };

struct issue_token {
    char err[MANAGE_ERR_MAX];
    const char *token;
    int64_t usage_limit, expires_in; /* seconds, -1: never */
    struct storage_registration_token out;
};

static int issue_token_tx(struct storage_tx *tx, void *arg)
{
    struct issue_token *a = arg;
    int64_t now = masd_now();
    int r = storage_registration_token_create(
        tx, a->token, a->usage_limit, a->expires_in < 0 ? 0 : now + a->expires_in * 1000, now, &a->out);
    if (r == -EEXIST)
        snprintf(a->err, MANAGE_ERR_MAX, "the registration token '%s' exists already", a->token);
    else if (r < 0)
        return manage_fail(a->err, r, "cannot store the registration token");
    return r;
}

/* A decimal number in 0..UINT32_MAX (MAS's u32), nothing else. */
static bool parse_u32(const char *s, int64_t *out)
{
    if (!*s || strlen(s) > 10)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return v <= UINT32_MAX;
}

static int cmd_issue_registration_token(struct masctl *m, int argc, char **argv)
{
    static const struct option longopts[] = {{"token", required_argument, NULL, OPT_TOKEN},
                                             {"usage-limit", required_argument, NULL, OPT_USAGE_LIMIT},
                                             {"unlimited", no_argument, NULL, OPT_UNLIMITED},
                                             {"expires-in", required_argument, NULL, OPT_EXPIRES_IN},
                                             MASCTL_COMMON_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    struct issue_token a = {.usage_limit = 1, .expires_in = -1};
    bool limit_given = false, unlimited = false;
    int c;
    masctl_getopt_reset();
    while ((c = masctl_getopt(m, argc, argv, "", longopts)) != -1) {
        if (c == MASCTL_HELP)
            return MASCTL_OK;
        if (c == OPT_TOKEN)
            a.token = optarg;
        else if (c == OPT_USAGE_LIMIT && parse_u32(optarg, &a.usage_limit))
            limit_given = true;
        else if (c == OPT_USAGE_LIMIT)
            return masctl_fail(m, "--usage-limit: '%s' is not a number from 0 to %u", optarg, UINT32_MAX);
        else if (c == OPT_UNLIMITED)
            unlimited = true;
        else if (c == OPT_EXPIRES_IN && !parse_u32(optarg, &a.expires_in))
            return masctl_fail(m, "--expires-in: '%s' is not a number of seconds from 0 to %u", optarg,
                               UINT32_MAX);
        else if (c != OPT_EXPIRES_IN)
            return MASCTL_USAGE;
    }
    if (!masctl_operands(m, argc, argv, 0, 0))
        return MASCTL_USAGE;
    if (limit_given && unlimited)
        return masctl_fail(m, "--usage-limit and --unlimited cannot be used together");
    if (unlimited)
        a.usage_limit = -1;
    char random_token[13];
    if (!a.token) {
        if (random_alnum(random_token, 12) < 0)
            return masctl_fail(m, "no randomness available");
        a.token = random_token;
    } else if (!*a.token || strlen(a.token) > STORAGE_REGISTRATION_TOKEN_MAX) {
        return masctl_fail(m, "--token: a token is 1 to %d bytes", STORAGE_REGISTRATION_TOKEN_MAX);
    }
    struct manage g;
    if (manage_open(m, &g) < 0)
        return MASCTL_FAILED;
    int r = manage_tx(m, &g, STORAGE_TX_WRITE, issue_token_tx, &a, a.err);
    if (r == 0)
        printf("%s\n", a.out.token);
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

static const struct masctl_command MANAGE_COMMANDS[] = {
    {"register-user", "[OPTIONS] [USERNAME]", "Register a user",
     "  -p, --password PASSWORD           set this password\n"
     "  -e, --email EMAIL                 add this e-mail address (repeatable)\n"
     "  -a, --admin                       the user can request admin privileges\n"
     "  -A, --no-admin                    the user cannot (the default)\n"
     "  -d, --display-name NAME           set this display name on the homeserver\n"
     "  -y, --yes                         ask nothing (USERNAME is then required)\n"
     "      --ignore-password-complexity  accept a password below passwords.minimum_complexity\n",
     manage_register_user},
    {"set-password", "[OPTIONS] USERNAME PASSWORD", "Set a user's password",
     "      --ignore-complexity           accept a password below passwords.minimum_complexity\n",
     cmd_set_password},
    {"add-email", "USERNAME EMAIL", "Add an e-mail address to a user", NULL, cmd_add_email},
    {"promote-admin", "USERNAME", "Let a user request admin privileges", NULL, cmd_promote_admin},
    {"demote-admin", "USERNAME", "Stop a user from requesting admin privileges", NULL, cmd_demote_admin},
    {"list-admin-users", "", "List the users who can request admin privileges, one per line", NULL,
     cmd_list_admin_users},
    {"lock-user", "[OPTIONS] USERNAME", "Lock a user (no new logins, tokens stop working)",
     "      --deactivate                  also deactivate: end its sessions, tell the homeserver\n",
     manage_lock_user},
    {"unlock-user", "[OPTIONS] USERNAME", "Unlock a user",
     "      --reactivate                  also reactivate a deactivated account\n", manage_unlock_user},
    {"kill-sessions", "[OPTIONS] USERNAME", "End every session of a user (compat, OAuth 2.0, browser)",
     "      --dry-run                     count the sessions and change nothing\n", manage_kill_sessions},
    {"issue-compatibility-token", "[OPTIONS] USERNAME [DEVICE_ID]",
     "Issue a compat access token (no expiry) and print it",
     "      --yes-i-want-to-grant-synapse-admin-privileges\n"
     "                                    the session gets Synapse admin rights\n"
     "  DEVICE_ID when not given: 10 random letters and digits\n",
     manage_issue_compat_token},
    {"issue-user-registration-token", "[OPTIONS]", "Create a registration token and print it",
     "      --token TOKEN                 this token (default: 12 random letters and digits)\n"
     "      --usage-limit N               it can be used N times (default: once)\n"
     "      --unlimited                   it can be used any number of times\n"
     "      --expires-in SECONDS          it expires after this long (default: never)\n",
     cmd_issue_registration_token},
    {"provision-all-users", "", "Queue a job per user that (re)creates it on the homeserver", NULL,
     manage_provision_all_users},
};

const struct masctl_group masctl_manage_group = {"manage", "Manage users and their sessions", MANAGE_COMMANDS,
                                                 sizeof(MANAGE_COMMANDS) / sizeof(MANAGE_COMMANDS[0])};
