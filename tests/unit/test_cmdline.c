/* The shared command line (common/config/cmdline.h): defaults, every option kind, and each way a
 * command line can be wrong. */
#include "check.h"
#include "cmdline.h"
#include <stdio.h>

static unsigned threads;
static bool once;

static int parse(struct cmdline *c, const char *const *args)
{
    static const struct cmdline_option options[] = {
        {"threads", "N", "threads", &threads, 1, 64, NULL},
        {"once", NULL, "once", NULL, 0, 0, &once},
        {0},
    };
    char *argv[16] = {"prog"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    *c = (struct cmdline){.program = "prog", .summary = "s", .check_help = "c", .options = options};
    threads = 4;
    once = false;
    return cmdline_parse(c, argc, argv);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

int main(void)
{
    struct cmdline c;
    CHECK_INT(parse(&c, (const char *const[]){NULL}), CMDLINE_CONTINUE);
    CHECK_STR(c.config_path, CMDLINE_DEFAULT_CONFIG);
    CHECK(!c.check);
    CHECK_INT(threads, 4);

    CHECK_INT(parse(&c, ARGS("-c", "/x.yaml", "--check", "--threads", "7", "--once")), CMDLINE_CONTINUE);
    CHECK_STR(c.config_path, "/x.yaml");
    CHECK(c.check);
    CHECK_INT(threads, 7);
    CHECK(once);
    CHECK_INT(parse(&c, ARGS("--config=/y.yaml", "--threads=64")), CMDLINE_CONTINUE);
    CHECK_STR(c.config_path, "/y.yaml");
    CHECK_INT(threads, 64);

    /* Wrong: out of range, not a number, signs, trailing bytes, unknown options, arguments. */
    CHECK_INT(parse(&c, ARGS("--threads", "0")), 2);
    CHECK_INT(parse(&c, ARGS("--threads", "65")), 2);
    CHECK_INT(parse(&c, ARGS("--threads", "x")), 2);
    CHECK_INT(parse(&c, ARGS("--threads", "")), 2);
    CHECK_INT(parse(&c, ARGS("--threads", "-1")), 2);
    CHECK_INT(parse(&c, ARGS("--threads", "+5")), 2);
    CHECK_INT(parse(&c, ARGS("--threads", "5x")), 2);
    CHECK_INT(parse(&c, ARGS("--threads", "99999999999999999999")), 2);
    CHECK_INT(parse(&c, ARGS("--threads")), 2);
    CHECK_INT(parse(&c, ARGS("--bogus")), 2);
    CHECK_INT(parse(&c, ARGS("extra")), 2);
    CHECK_INT(threads, 4); /* a refused value leaves the default */

    CHECK(freopen("/dev/null", "w", stdout) != NULL); /* --help writes there */
    CHECK_INT(parse(&c, ARGS("--help")), 0);
    CHECK_INT(parse(&c, ARGS("-h", "--bogus")), 0);
    return check_report(__FILE__);
}
