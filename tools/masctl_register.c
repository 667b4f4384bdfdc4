/* masctl manage register-user: MAS's command, minus the interactive menu. Without -y on a
 * terminal it asks for what is missing (username, password) and for confirmation; otherwise
 * (scripts, -y) it asks nothing. The user, the password, the e-mail addresses and the
 * provisioning job for the homeserver are written in one transaction. */
#include "masctl_manage.h"
#include "clock.h"
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_IGNORE_PASSWORD_COMPLEXITY = 1000 };

struct registration {
    char err[MANAGE_ERR_MAX];
    char username[STORAGE_USERNAME_MAX + 1];
    const char *password; /* NULL: the user gets no password (MAS allows it) */
    const char **emails;
    size_t n_emails;
    int admin; /* -1: not said (no), 0: --no-admin, 1: --admin */
    bool yes, ignore_complexity;
    const char *display_name;
    char *hash; /* of password */
    unsigned version;
    char user_id[STORAGE_ID_SIZE]; /* out */
};

static int parse_registration(struct masctl *m, int argc, char **argv, struct registration *a,
                              const char **name)
{
    static const struct option longopts[] = {
        {"password", required_argument, NULL, 'p'},
        {"email", required_argument, NULL, 'e'},
        {"admin", no_argument, NULL, 'a'},
        {"no-admin", no_argument, NULL, 'A'},
        {"yes", no_argument, NULL, 'y'},
        {"display-name", required_argument, NULL, 'd'},
        {"ignore-password-complexity", no_argument, NULL, OPT_IGNORE_PASSWORD_COMPLEXITY},
        MASCTL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c;
    masctl_getopt_reset();
    while ((c = masctl_getopt(m, argc, argv, "p:e:aAyd:", longopts)) != -1) {
        switch (c) {
        case MASCTL_HELP:
            return MASCTL_HELP;
        case 'p':
            a->password = optarg;
            break;
        case 'e': {
            const char **e = realloc(a->emails, (a->n_emails + 1) * sizeof(*e));
            if (!e)
                return masctl_fail(m, "out of memory");
            a->emails = e;
            a->emails[a->n_emails++] = optarg;
            break;
        }
        case 'a':
        case 'A':
            /* MAS puts the two in one clap group: giving both is a usage error. */
            if (a->admin != -1 && a->admin != (c == 'a'))
                return masctl_usage(m, "--admin and --no-admin exclude each other");
            a->admin = c == 'a';
            break;
        case 'y':
            a->yes = true;
            break;
        case 'd':
            a->display_name = optarg;
            break;
        case OPT_IGNORE_PASSWORD_COMPLEXITY:
            a->ignore_complexity = true;
            break;
        default:
            return MASCTL_USAGE;
        }
    }
    if (!masctl_operands(m, argc, argv, 0, 1))
        return MASCTL_USAGE;
    *name = optind < argc ? argv[optind] : NULL;
    return 0;
}

/* MAS's check_and_normalize_username: "@alice:example.com" and "alice" both mean alice. Then
 * the Matrix grammar of a new user ID's localpart (a-z 0-9 . _ = - / +), which MAS leaves to
 * the homeserver's username_available check. */
static int normalize_username(struct masctl *m, const char *in, char out[STORAGE_USERNAME_MAX + 1])
{
    while (*in == '@')
        in++;
    size_t len = strcspn(in, ":");
    if (len == 0)
        return masctl_fail(m, "the username is empty"), -EINVAL;
    if (len > STORAGE_USERNAME_MAX)
        return masctl_fail(m, "the username is longer than %d bytes", STORAGE_USERNAME_MAX), -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || strchr("._=-/+", ch)))
            return masctl_fail(m,
                               "'%.*s' is not a valid Matrix username: use lower-case letters, digits and "
                               "._=-/+ only",
                               (int)len, in),
                   -EINVAL;
    }
    memcpy(out, in, len);
    out[len] = '\0';
    return 0;
}

/* On a terminal without -y: the password when none was given (empty = none), then a summary
 * and a yes/no question. Returns 0 to go on, or prints why not. */
static int ask(struct masctl *m, const struct config *cfg, struct registration *a, char **typed)
{
    if (!a->password && cfg->passwords.enabled) {
        char *p1 = masctl_prompt("Password (empty for none): ", true);
        char *p2 = p1 && *p1 ? masctl_prompt("Confirm password: ", true) : NULL;
        if (p1 && *p1 && (!p2 || strcmp(p1, p2) != 0)) {
            free(p1);
            free(p2);
            return masctl_fail(m, "the passwords do not match"), -EINVAL;
        }
        free(p2);
        if (p1 && *p1)
            a->password = *typed = p1;
        else
            free(p1);
    }
    fprintf(stderr, "Username:          %s\n", a->username);
    if (a->display_name)
        fprintf(stderr, "Display name:      %s\n", a->display_name);
    fprintf(stderr, "Password:          %s\n",
            a->password ? "********" : "(none: cannot log in with a password)");
    for (size_t i = 0; i < a->n_emails; i++)
        fprintf(stderr, "Email:             %s\n", a->emails[i]);
    fprintf(stderr, "Can request admin: %s\n", a->admin == 1 ? "yes" : "no");
    char *answer = masctl_prompt("Create this user? [y/N] ", false);
    bool yes = answer && (strcmp(answer, "y") == 0 || strcmp(answer, "Y") == 0 || strcmp(answer, "yes") == 0);
    free(answer);
    if (!yes)
        return masctl_fail(m, "aborted: nothing was changed"), -ECANCELED;
    return 0;
}

static int register_tx(struct storage_tx *tx, void *arg)
{
    struct registration *a = arg;
    struct storage_user u;
    int64_t now = masd_now();
    a->user_id[0] = '\0';
    int r = storage_user_create(tx, a->username, a->admin == 1, now, &u);
    if (r == -EEXIST) {
        snprintf(a->err, MANAGE_ERR_MAX, "user '%s' already exists", a->username);
        return r;
    }
    if (r < 0)
        return manage_fail(a->err, r, "cannot create user '%s'", a->username);
    if (a->hash && (r = storage_password_add(tx, u.id, a->hash, a->version, NULL, now, NULL)) < 0)
        return manage_fail(a->err, r, "cannot store the password");
    for (size_t i = 0; i < a->n_emails; i++) {
        r = storage_email_add(tx, u.id, a->emails[i], now, NULL);
        if (r == -EEXIST) {
            snprintf(a->err, MANAGE_ERR_MAX, "the e-mail address '%s' belongs to another user", a->emails[i]);
            return r;
        }
        if (r < 0)
            return manage_fail(a->err, r, "cannot add '%s'", a->emails[i]);
    }
    /* As MAS: masd-worker creates the user on the homeserver (and sets the display name). */
    r = manage_queued(a->err, hs_queue_provision_user(tx, manage_matrix(), u.id, a->display_name, now),
                      HS_QUEUE_PROVISION_USER);
    if (r < 0)
        return r;
    memcpy(a->user_id, u.id, sizeof(a->user_id));
    return 0;
}

/* Everything that needs no database: the username, the addresses, the password's strength. */
static int prepare(struct masctl *m, const struct config *cfg, struct registration *a, const char *name,
                   char **typed)
{
    char *prompted = NULL;
    if (!name) {
        name = prompted = masctl_prompt("Username: ", false);
        if (!name)
            return masctl_fail(m, "aborted: nothing was changed"), -ECANCELED;
    }
    int r = normalize_username(m, name, a->username);
    free(prompted);
    if (r < 0)
        return r;
    for (size_t i = 0; i < a->n_emails; i++)
        if (!manage_email_plausible(a->emails[i]))
            return masctl_fail(m, "'%s' is not an e-mail address", a->emails[i]), -EINVAL;
    if (!a->yes && masctl_interactive() && (r = ask(m, cfg, a, typed)) < 0)
        return r;
    if (a->password)
        return manage_check_password(m, cfg, a->password, a->ignore_complexity,
                                     "--ignore-password-complexity");
    return 0;
}

int manage_register_user(struct masctl *m, int argc, char **argv)
{
    struct registration a = {.admin = -1};
    const char *name = NULL;
    char *typed = NULL;
    int r = parse_registration(m, argc, argv, &a, &name);
    if (r == 0 && !name && (a.yes || !masctl_interactive()))
        r = masctl_usage(m, "USERNAME is required%s", a.yes ? " with --yes" : " when not on a terminal");
    if (r) {
        free(a.emails);
        return r == MASCTL_HELP ? MASCTL_OK : r;
    }
    struct manage g;
    if (manage_open(m, &g) < 0) {
        free(a.emails);
        return MASCTL_FAILED;
    }
    r = prepare(m, g.cfg, &a, name, &typed);
    if (r == 0 && a.password)
        r = manage_hash_password(m, g.cfg, a.password, &a.hash, &a.version);
    if (r == 0)
        r = manage_tx(m, &g, STORAGE_TX_WRITE, register_tx, &a, a.err);
    if (r == 0) {
        printf("registered '%s' (user ID %s)\n", a.username, a.user_id);
        if (!a.password)
            fprintf(stderr, "masctl: note: '%s' has no password and cannot log in with one\n", a.username);
    }
    if (typed) {
        explicit_bzero(typed, strlen(typed));
        free(typed);
    }
    free(a.hash);
    free(a.emails);
    manage_close(&g);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}
