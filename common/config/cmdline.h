/* The command line every masd program shares: --config, --check, --verbose, --help, and the
 * program's own options (numbers with a range, switches), declared as a table. One parser, so
 * every binary answers a wrong option, a bad number and --help the same way. */
#pragma once
#include <stdbool.h>

#define CMDLINE_DEFAULT_CONFIG "/etc/masd/config.yaml"

/* A program's own option: a number (`number` set: --name N within [min, max]) or a switch
 * (`flag` set: --name). */
struct cmdline_option {
    const char *name; /* without the dashes */
    const char *arg;  /* how the help names the value: "SECS", "N"; NULL for a switch */
    const char *help; /* one line; "\n" continues it on the next */
    unsigned *number;
    unsigned min, max;
    bool *flag;
};

struct cmdline {
    const char *program;                  /* "masd-worker" */
    const char *summary;                  /* what it does, for --help */
    const char *check_help;               /* what --check does */
    const struct cmdline_option *options; /* terminated by {0}; may be NULL */
    /* Results, with their defaults set by the caller before cmdline_parse(). */
    const char *config_path; /* CMDLINE_DEFAULT_CONFIG when NULL */
    bool check;
};

/* Parses argv. Returns CMDLINE_CONTINUE to go on; otherwise the process's exit status: 0 after
 * --help was printed, 2 after a usage error was reported on stderr. --verbose turns on debug
 * logging. */
#define CMDLINE_CONTINUE (-1)
int cmdline_parse(struct cmdline *c, int argc, char **argv);
