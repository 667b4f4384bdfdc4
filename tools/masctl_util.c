/* The plumbing every masctl command shares: errors, options, the configuration, the database,
 * atomic output files and terminal prompts. */
#include "masctl.h"
#include "config.h"
#include "storage.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static void vreport(const struct masctl *m, const char *fmt, va_list ap)
{
    fprintf(stderr, "masctl");
    if (m && m->group)
        fprintf(stderr, " %s", m->group->name);
    if (m && m->cmd)
        fprintf(stderr, " %s", m->cmd->name);
    fprintf(stderr, ": ");
    vfprintf(stderr, fmt, ap);
}

int masctl_fail(const struct masctl *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(m, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return MASCTL_FAILED;
}

int masctl_usage(const struct masctl *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(m, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see --help)\n");
    return MASCTL_USAGE;
}

void masctl_print_command_help(const struct masctl *m, FILE *out)
{
    const struct masctl_command *c = m->cmd;
    fprintf(out, "Usage: masctl [-c FILE] %s %s %s\n\n%s\n\nOptions:\n", m->group->name, c->name, c->synopsis,
            c->summary);
    if (c->options)
        fputs(c->options, out);
    fprintf(out, "  -c, --config FILE                 the configuration (default " MASCTL_CONFIG_HELP ")\n"
                 "  -h, --help                        this help\n");
}

void masctl_getopt_reset(void)
{
    /* 0, not 1: glibc then also forgets the permutation state of a previous parse. */
    optind = 0;
    opterr = 0;
}

int masctl_getopt(struct masctl *m, int argc, char **argv, const char *shortopts,
                  const struct option *longopts)
{
    /* Leading ':' reports a missing value as ':' instead of printing glibc's message; c: and h
     * are everybody's. */
    char opts[64];
    snprintf(opts, sizeof(opts), ":c:h%s", shortopts);
    for (;;) {
        int c = getopt_long(argc, argv, opts, longopts, NULL);
        switch (c) {
        case 'c':
            m->config_path = optarg;
            m->config_default = false;
            continue;
        case 'h':
            masctl_print_command_help(m, stdout);
            return MASCTL_HELP;
        case ':':
            masctl_usage(m, "option '%s' needs a value", argv[optind - 1]);
            return '?';
        case '?':
            /* optopt names a bad short option; for a long one (unknown, or given a value it
             * does not take) the argument itself is the clearest thing to show. */
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                masctl_usage(m, "unknown option '-%c'", optopt);
            else
                masctl_usage(m, "unknown option '%s'", argv[optind - 1]);
            return '?';
        default:
            return c;
        }
    }
}

bool masctl_operands(const struct masctl *m, int argc, char **argv, int min, int max)
{
    int n = argc - optind;
    if (n < min) {
        masctl_usage(m, "missing operand (usage: %s)", m->cmd->synopsis);
        return false;
    }
    if (n > max) {
        masctl_usage(m, "unexpected operand '%s'", argv[optind + max]);
        return false;
    }
    return true;
}

int masctl_parse_plain(struct masctl *m, int argc, char **argv, int min, int max)
{
    static const struct option longopts[] = {MASCTL_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    masctl_getopt_reset();
    int c = masctl_getopt(m, argc, argv, "", longopts);
    if (c != -1)
        return c == MASCTL_HELP ? MASCTL_OK : MASCTL_USAGE;
    return masctl_operands(m, argc, argv, min, max) ? MASCTL_GO_ON : MASCTL_USAGE;
}

int masctl_parse_output(struct masctl *m, int argc, char **argv, const char **output)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, MASCTL_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    int c;
    *output = NULL;
    masctl_getopt_reset();
    while ((c = masctl_getopt(m, argc, argv, "o:", longopts)) == 'o')
        *output = optarg;
    if (c != -1)
        return c == MASCTL_HELP ? MASCTL_OK : MASCTL_USAGE;
    return masctl_operands(m, argc, argv, 0, 0) ? MASCTL_GO_ON : MASCTL_USAGE;
}

int masctl_load_config(const struct masctl *m, struct config **cfg)
{
    char *error = NULL;
    int r = config_load(m->config_path, cfg, &error);
    if (r == -ENOENT && m->config_default) { /* name both places looked at */
        masctl_fail(m, "no configuration: tried ./" MASCTL_LOCAL_CONFIG " and " MASCTL_DEFAULT_CONFIG
                       ". `masctl config generate -o " MASCTL_DEFAULT_CONFIG "` writes a new one (or give "
                       "-c FILE)");
        free(error);
        return r;
    }
    if (r < 0) {
        masctl_fail(m, "%s", error ? error : strerror(-r));
        free(error);
        return r;
    }
    return 0;
}

/* The file name inside a sqlite:// URI (storage.h's forms), or NULL for PostgreSQL. */
static const char *sqlite_path(const struct config *cfg)
{
    const char *uri = cfg->database.uri;
    if (!uri && !cfg->database.host && !cfg->database.socket && !cfg->database.database)
        uri = STORAGE_DEFAULT_URI;
    if (!uri || strncmp(uri, "sqlite://", 9) != 0)
        return NULL;
    return uri + 9;
}

/* The database directory as the shipped tmpfiles.d snippet makes it: 0750, owned by masd when
 * that user exists. Only `database migrate` creates it, for a machine where masd is not
 * installed as a package (the README's first steps). */
static int create_db_dir(const struct masctl *m, const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0 || errno != ENOENT)
        return 0;
    char *parent = strdup(dir);
    if (!parent)
        return -ENOMEM;
    int r = create_db_dir(m, dirname(parent));
    free(parent);
    if (r < 0)
        return r;
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        r = -errno;
        masctl_fail(m, "cannot create the database directory %s: %s", dir, strerror(errno));
        return r;
    }
    struct passwd *pw = geteuid() == 0 ? getpwnam("masd") : NULL;
    if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0) {
        r = -errno;
        masctl_fail(m, "cannot give %s to the masd user: %s", dir, strerror(errno));
        return r;
    }
    return 0;
}

/* As root, becomes the owner of the SQLite database's directory when that is not root, so the
 * files SQLite creates (the database, -wal, -shm) belong to the user the services run as. */
static int become_db_owner(const struct masctl *m, const char *dir)
{
    struct stat sb;
    if (geteuid() != 0 || stat(dir, &sb) < 0 || sb.st_uid == 0)
        return 0;
    struct passwd *pw = getpwuid(sb.st_uid);
    gid_t gid = pw ? pw->pw_gid : sb.st_gid;
    int r = pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL);
    if (r == 0)
        r = setgid(gid);
    if (r == 0)
        r = setuid(sb.st_uid);
    if (r < 0) {
        r = -errno;
        masctl_fail(m, "cannot become the owner (uid %u) of %s: %s", (unsigned)sb.st_uid, dir,
                    strerror(errno));
        return r;
    }
    return 0;
}

int masctl_open_storage(const struct masctl *m, const struct config *cfg, unsigned flags, struct storage **st)
{
    const char *path = sqlite_path(cfg);
    if (path) {
        char *copy = strdup(path);
        if (!copy)
            return masctl_fail(m, "out of memory"), -ENOMEM;
        const char *dir = dirname(copy);
        int r = flags & MASCTL_DB_CREATE_DIR ? create_db_dir(m, dir) : 0;
        if (r == 0)
            r = become_db_owner(m, dir);
        free(copy);
        if (r < 0)
            return r;
    }
    int r = storage_open(cfg, st);
    if (r < 0) {
        masctl_fail(m, "%s", *storage_last_error() ? storage_last_error() : strerror(-r));
        return r;
    }
    if (flags & MASCTL_DB_CHECK_SCHEMA) {
        r = storage_check_migrations(*st);
        if (r < 0) {
            masctl_fail(m, "%s", *storage_last_error() ? storage_last_error() : strerror(-r));
            storage_close(*st);
            *st = NULL;
            return r;
        }
    }
    return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int masctl_write_output(const struct masctl *m, const char *path, const char *data, size_t len)
{
    if (!path) {
        int r = write_all(STDOUT_FILENO, data, len);
        if (r < 0)
            return masctl_fail(m, "cannot write to standard output: %s", strerror(-r)), r;
        return 0;
    }
    /* A reader of path sees the old file or the whole new one, never a part. */
    size_t tlen = strlen(path) + 16;
    char *tmp = malloc(tlen);
    if (!tmp)
        return masctl_fail(m, "out of memory"), -ENOMEM;
    snprintf(tmp, tlen, "%s.tmp.XXXXXX", path);
    int r = 0, fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        r = -errno;
    if (r == 0)
        r = write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (fd >= 0 && close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        if (fd >= 0)
            unlink(tmp);
        masctl_fail(m, "cannot write %s: %s", path, strerror(-r));
    }
    free(tmp);
    return r;
}

bool masctl_interactive(void)
{
    return isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

char *masctl_prompt(const char *prompt, bool secret)
{
    struct termios old, quiet;
    bool restore = false;
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        /* TCSANOW, not TCSAFLUSH: keep what was typed (or piped) ahead of the prompt. */
        restore = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (restore) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    return line;
}
