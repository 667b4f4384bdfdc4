/* masctl: the table of contents. MAS's command groups, each in its own file:
 *
 *   config    generate | check | dump           masctl_config.c, masctl_config_dump.c
 *   database  migrate                           masctl_database.c
 *   manage    register-user, set-password, add-email, promote-admin, demote-admin,
 *             list-admin-users                  masctl_manage.c
 *             lock-user, unlock-user, kill-sessions,
 *             issue-compatibility-token         masctl_sessions.c
 *
 * The shared plumbing (options, errors, config, database, output) is in masctl_util.c. */
#include "masctl.h"
#include "log.h"
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

static const struct masctl_group *const GROUPS[] = {
    &masctl_config_group,
    &masctl_database_group,
    &masctl_manage_group,
};
#define N_GROUPS (sizeof(GROUPS) / sizeof(GROUPS[0]))

static void print_main_help(FILE *out)
{
    fprintf(out, "Usage: masctl [-c FILE] COMMAND SUBCOMMAND [OPTIONS] [ARGS]\n\n"
                 "Administration of masd (the Matrix Authentication Service rebuilt in C).\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < N_GROUPS; i++) {
        fprintf(out, "  %-10s %s\n", GROUPS[i]->name, GROUPS[i]->summary);
        for (size_t j = 0; j < GROUPS[i]->n_commands; j++)
            fprintf(out, "    %-29s %s\n", GROUPS[i]->commands[j].name, GROUPS[i]->commands[j].summary);
    }
    fprintf(out, "\nOptions:\n"
                 "  -c, --config FILE                 the configuration (default " MASCTL_CONFIG_HELP ")\n"
                 "  -h, --help                        this help; `masctl COMMAND [SUBCOMMAND] --help` for "
                 "one command\n"
                 "\nExit status: 0 success, 1 failure (nothing was changed), 2 bad command line.\n");
}

static void print_group_help(const struct masctl_group *g, FILE *out)
{
    fprintf(out, "Usage: masctl [-c FILE] %s SUBCOMMAND [OPTIONS] [ARGS]\n\n%s\n\nSubcommands:\n", g->name,
            g->summary);
    for (size_t j = 0; j < g->n_commands; j++)
        fprintf(out, "  %-27s %s\n", g->commands[j].name, g->commands[j].summary);
    fprintf(out, "\n`masctl %s SUBCOMMAND --help` describes one.\n", g->name);
}

static const struct masctl_group *find_group(const char *name)
{
    for (size_t i = 0; i < N_GROUPS; i++)
        if (strcmp(GROUPS[i]->name, name) == 0)
            return GROUPS[i];
    return NULL;
}

static const struct masctl_command *find_command(const struct masctl_group *g, const char *name)
{
    for (size_t j = 0; j < g->n_commands; j++)
        if (strcmp(g->commands[j].name, name) == 0)
            return &g->commands[j];
    return NULL;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* Global options come before the command ("+": stop at the first operand); the command's own
 * parser accepts -c too, so `masctl manage list-admin-users -c FILE` works as in MAS. */
static int parse_global(struct masctl *m, int argc, char **argv)
{
    static const struct option longopts[] = {MASCTL_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            m->config_path = optarg;
            break;
        case 'h':
            print_main_help(stdout);
            return MASCTL_HELP;
        case ':':
            fprintf(stderr, "masctl: option '%s' needs a value\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, "masctl: unknown option '%s' (see masctl --help)\n", argv[optind - 1]);
            return -1;
        }
    }
    return optind;
}

int main(int argc, char **argv)
{
    struct masctl m = {.config_path = NULL};
    log_init("masctl");

    int first = parse_global(&m, argc, argv);
    if (!m.config_path) {
        m.config_path = access(MASCTL_LOCAL_CONFIG, F_OK) == 0 ? MASCTL_LOCAL_CONFIG : MASCTL_DEFAULT_CONFIG;
        m.config_default = true;
    }
    if (first == MASCTL_HELP)
        return MASCTL_OK;
    if (first < 0)
        return MASCTL_USAGE;
    if (first >= argc) {
        print_main_help(stderr);
        return MASCTL_USAGE;
    }
    if (is_help(argv[first])) {
        print_main_help(stdout);
        return MASCTL_OK;
    }
    m.group = find_group(argv[first]);
    if (!m.group) {
        fprintf(stderr, "masctl: unknown command '%s' (see masctl --help)\n", argv[first]);
        return MASCTL_USAGE;
    }
    if (first + 1 >= argc) {
        print_group_help(m.group, stderr);
        return MASCTL_USAGE;
    }
    if (is_help(argv[first + 1])) {
        print_group_help(m.group, stdout);
        return MASCTL_OK;
    }
    m.cmd = find_command(m.group, argv[first + 1]);
    if (!m.cmd) {
        fprintf(stderr, "masctl %s: unknown subcommand '%s' (see masctl %s --help)\n", m.group->name,
                argv[first + 1], m.group->name);
        return MASCTL_USAGE;
    }
    /* The command sees argv[0] = its own name, then its options and operands. */
    return m.cmd->run(&m, argc - first - 1, argv + first + 1);
}
