/* The shared command line (cmdline.h). */
#include "cmdline.h"
#include "log.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 16
#define OPT_BASE    256 /* getopt values of the program's own options */

static void usage(const struct cmdline *c, FILE *f)
{
    fprintf(f, "Usage: %s [OPTIONS]\n%s\n\n", c->program, c->summary);
    fprintf(f, "  -c, --config FILE          the configuration (default %s)\n", CMDLINE_DEFAULT_CONFIG);
    fprintf(f, "      --check                %s\n", c->check_help);
    for (const struct cmdline_option *o = c->options; o && o->name; o++) {
        char left[40];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "      %-21s  ", left);
        for (const char *h = o->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n')
                fprintf(f, "%29s", "");
        }
        fputc('\n', f);
    }
    fprintf(f, "  -v, --verbose              debug logging\n"
               "  -h, --help                 this help\n");
}

static int parse_number(const struct cmdline *c, const struct cmdline_option *o, const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < o->min || v > o->max) {
        fprintf(stderr, "%s: --%s: expected a number from %u to %u, not '%s'\n", c->program, o->name, o->min,
                o->max, s);
        return -EINVAL;
    }
    *o->number = (unsigned)v;
    return 0;
}

int cmdline_parse(struct cmdline *c, int argc, char **argv)
{
    struct option longopts[MAX_OPTIONS + 5] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
    };
    size_t n = 4, own = 0;
    for (const struct cmdline_option *o = c->options; o && o->name && own < MAX_OPTIONS; o++, own++)
        longopts[n++] =
            (struct option){o->name, o->number ? required_argument : no_argument, NULL, OPT_BASE + (int)own};
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    if (!c->config_path)
        c->config_path = CMDLINE_DEFAULT_CONFIG;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            c->config_path = optarg;
            break;
        case 'C':
            c->check = true;
            break;
        case 'v':
            log_set_verbose(1);
            break;
        case 'h':
            usage(c, stdout);
            return 0;
        default:
            if (opt >= OPT_BASE && (size_t)(opt - OPT_BASE) < own) {
                const struct cmdline_option *o = &c->options[opt - OPT_BASE];
                if (o->flag)
                    *o->flag = true;
                else if (parse_number(c, o, optarg) < 0)
                    return 2;
                break;
            }
            usage(c, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", c->program, argv[optind]);
        return 2;
    }
    return CMDLINE_CONTINUE;
}
