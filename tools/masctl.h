/* masctl: command-line administration of masd, with MAS's command names and flags
 * (`mas-cli config|database|manage …`). Shared by the files of tools/: one per command group. */
#pragma once
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config;
struct storage;

/* Without -c: ./config.yaml when it exists (MAS's default, so `masctl config generate >
 * config.yaml && masctl database migrate` works where the file was written), else the file the
 * services read. */
#define MASCTL_LOCAL_CONFIG   "config.yaml"
#define MASCTL_DEFAULT_CONFIG "/etc/masd/config.yaml"
#define MASCTL_CONFIG_HELP    "./config.yaml if it exists, else " MASCTL_DEFAULT_CONFIG

/* Exit statuses: what a script can tell apart. */
enum {
    MASCTL_OK = 0,
    MASCTL_FAILED = 1, /* the command ran and failed; nothing was changed */
    MASCTL_USAGE = 2,  /* bad command line (as clap, MAS's parser, exits) */
};

struct masctl;

struct masctl_command {
    const char *name;     /* "register-user" */
    const char *synopsis; /* "[OPTIONS] [USERNAME]" */
    const char *summary;  /* one line */
    const char *options;  /* help lines for the command's own options, or NULL */
    int (*run)(struct masctl *m, int argc, char **argv);
};

struct masctl_group {
    const char *name;
    const char *summary;
    const struct masctl_command *commands;
    size_t n_commands;
};

struct masctl {
    const char *config_path; /* -c/--config, before or after the command */
    bool config_default;     /* no -c: config_path is the first of the default paths that exists */
    const struct masctl_group *group;
    const struct masctl_command *cmd;
};

extern const struct masctl_group masctl_config_group;
extern const struct masctl_group masctl_database_group;
extern const struct masctl_group masctl_manage_group;

/* ---- errors: one line on stderr, "masctl <group> <command>: <what>" ---------------------- */

/* Prints the message and returns MASCTL_FAILED. */
int masctl_fail(const struct masctl *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the message with a pointer to --help and returns MASCTL_USAGE. */
int masctl_usage(const struct masctl *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- option parsing ------------------------------------------------------------------------ */

/* Every command accepts these besides its own: put MASCTL_COMMON_OPTIONS in its option table
 * and nothing for them in its short-option string. */
#define MASCTL_COMMON_OPTIONS                                                                                \
    {"config", required_argument, NULL, 'c'},                                                                \
    {                                                                                                        \
        "help", no_argument, NULL, 'h'                                                                       \
    }
#define MASCTL_HELP (-2) /* masctl_getopt: --help was printed; exit 0 */

/* getopt_long for a command, options and operands in any order (as clap allows). Handles -c
 * and -h itself. Returns the next option of the command's own, -1 at the end (operands are
 * then argv[optind..argc)), MASCTL_HELP, or '?' after printing a usage error. Call
 * masctl_getopt_reset() before the first call. */
void masctl_getopt_reset(void);
int masctl_getopt(struct masctl *m, int argc, char **argv, const char *shortopts,
                  const struct option *longopts);

/* What the two parsers below return when the command should go on. */
#define MASCTL_GO_ON (-1)

/* A command without options of its own (-c and --help only) and min..max operands, left at
 * argv[optind..]. Returns MASCTL_GO_ON, or the exit status to return now (after --help, or a
 * usage error). */
int masctl_parse_plain(struct masctl *m, int argc, char **argv, int min, int max);
/* The same for `[-o|--output FILE]` and no operands; *output is NULL for standard output. */
int masctl_parse_output(struct masctl *m, int argc, char **argv, const char **output);

/* Checks that the operands number between min and max; prints a usage error otherwise. */
bool masctl_operands(const struct masctl *m, int argc, char **argv, int min, int max);

void masctl_print_command_help(const struct masctl *m, FILE *out);

/* ---- configuration, database, output ------------------------------------------------------- */

/* Loads m->config_path; on failure prints the loader's file:line:column message. */
int masctl_load_config(const struct masctl *m, struct config **cfg);

/* Opens the configured database. For SQLite as root, first becomes the owner of the database
 * directory (the masd user of the shipped tmpfiles.d snippet), so that the database and its
 * -wal/-shm files never end up owned by root where the services cannot write them. */
enum {
    MASCTL_DB_CHECK_SCHEMA = 1u << 0, /* refuse pending migrations, as the services do */
    MASCTL_DB_CREATE_DIR = 1u << 1,   /* SQLite: create a missing database directory (migrate) */
};
int masctl_open_storage(const struct masctl *m, const struct config *cfg, unsigned flags,
                        struct storage **st);

/* Writes data to path atomically (a temporary file in the same directory, fsync, rename), with
 * mode 0600 since configs hold secrets; or to stdout when path is NULL. */
int masctl_write_output(const struct masctl *m, const char *path, const char *data, size_t len);

/* ---- the terminal --------------------------------------------------------------------------- */

/* Whether stdin and stderr are a terminal, i.e. someone can answer a question. */
bool masctl_interactive(void);
/* Reads one line from the terminal after printing prompt on stderr; echo off when secret.
 * Returns a malloc'd string without the newline, or NULL at end of input. */
char *masctl_prompt(const char *prompt, bool secret);
