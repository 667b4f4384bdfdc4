/* Log escaping: what a client sends cannot forge a log line or hide in one. The escaping table,
 * then what reaches stderr from an access entry and from a message. */
#include "check.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct row {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *want;
};

static const struct row rows[] = {
    {"plain /path?x=1", 0, "plain /path?x=1"},
    {"", 0, ""},
    {"a\nb", 0, "a\\x0ab"},
    {"\r\t\x01\x1f\x7f", 0, "\\x0d\\x09\\x01\\x1f\\x7f"},
    {"say \"hi\"", 0, "say \\x22hi\\x22"},
    {"back\\slash", 0, "back\\x5cslash"},
    {"nul\0byte", 8, "nul\\x00byte"},
    /* valid UTF-8 passes */
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
    {"\xee\x80\x80", 0, "\xee\x80\x80"},         /* U+E000, right after the surrogates */
    /* invalid UTF-8: each bad byte, what follows read afresh */
    {"\xff", 0, "\\xff"},
    {"\xc3", 0, "\\xc3"},                            /* cut short at the end */
    {"\xc3(", 0, "\\xc3("},                          /* bad continuation */
    {"\xc0\xaf", 0, "\\xc0\\xaf"},                   /* overlong '/' */
    {"\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf"},          /* overlong, 3 bytes */
    {"\xed\xa0\x80", 0, "\\xed\\xa0\\x80"},          /* a surrogate, U+D800 */
    {"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
    {"\xf5\x80", 0, "\\xf5\\x80"},
    {"\x80"
     "a",
     0, "\\x80a"}, /* a lone continuation byte */
    {"\xe2\x82"
     "a\xc3\xa9",
     0, "\\xe2\\x82a\xc3\xa9"},
    /* valid but escaped: C1 controls, bidi controls, line separators */
    {"\xc2\x85", 0, "\\xc2\\x85"},              /* U+0085 NEL */
    {"x\xe2\x80\xaey", 0, "x\\xe2\\x80\\xaey"}, /* U+202E RIGHT-TO-LEFT OVERRIDE */
    {"\xe2\x80\xa8\xe2\x80\xa9", 0, "\\xe2\\x80\\xa8\\xe2\\x80\\xa9"},
    {"\xe2\x81\xa6\xe2\x81\xa9", 0, "\\xe2\\x81\\xa6\\xe2\\x81\\xa9"}, /* U+2066, U+2069 */
    {"\xe2\x80\x8f\xd8\x9c", 0, "\\xe2\\x80\\x8f\\xd8\\x9c"},          /* U+200F, U+061C */
    {"\xe2\x80\x8b", 0, "\xe2\x80\x8b"},                               /* U+200B passes */
    {"\xc2\xa0", 0, "\xc2\xa0"},                                       /* U+00A0 passes */
};

static void test_table(void)
{
    char out[256];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t len = rows[i].len ? rows[i].len : strlen(rows[i].in);
        size_t n = log_escape(out, sizeof(out), rows[i].in, len);
        if (strcmp(out, rows[i].want) != 0)
            fprintf(stderr, "row %zu: got \"%s\", want \"%s\"\n", i, out, rows[i].want);
        CHECK_STR(out, rows[i].want);
        CHECK_INT(n, strlen(rows[i].want));
    }
}

/* A short buffer: never a cut escape or character, always terminated. */
static void test_truncation(void)
{
    char out[8];
    CHECK_INT(log_escape(out, sizeof(out), "abcdefghij", 10), 7);
    CHECK_STR(out, "abcdefg");
    CHECK_INT(log_escape(out, sizeof(out), "ab\ncd", 5), 7);
    CHECK_STR(out, "ab\\x0ac");
    CHECK_INT(log_escape(out, sizeof(out), "abcd\n", 5), 4); /* the escape does not fit whole */
    CHECK_STR(out, "abcd");
    CHECK_INT(log_escape(out, sizeof(out), "abcde\xe2\x82\xac", 8), 5);
    CHECK_STR(out, "abcde");
    CHECK_INT(log_escape(out, 1, "abc", 3), 0);
    CHECK_STR(out, "");
    char big[16];
    CHECK_INT(log_escape(big, sizeof(big), "\xe2\x80\xae", 3), 12); /* 3 escapes: 12 + NUL */
    CHECK_STR(big, "\\xe2\\x80\\xae");
    CHECK_INT(log_escape(big, 12, "\xe2\x80\xae", 3), 0); /* escaped together or not at all */
}

/* stderr goes to a temporary file between capture_begin() and capture_end(), which returns what
 * was written there (a static buffer). */
static char capture_path[] = "/tmp/test_log.XXXXXX";
static int capture_saved = -1;

static void capture_begin(void)
{
    strcpy(capture_path, "/tmp/test_log.XXXXXX");
    int fd = mkstemp(capture_path);
    CHECK(fd >= 0);
    fflush(stderr);
    capture_saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static const char *capture_end(void)
{
    static char buf[8192];
    fflush(stderr);
    dup2(capture_saved, STDERR_FILENO);
    close(capture_saved);
    FILE *f = fopen(capture_path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    unlink(capture_path);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* What reaches stderr: one line per entry and per message, whatever the values hold. */
static void test_stderr_lines(void)
{
    capture_begin();
    unsetenv("JOURNAL_STREAM");
    log_init("masd-test");

    /* A method and path as a client could send them over HTTP/2 or in raw bytes. */
    static const char method[] = "GE\"T";
    static const char raw_path[] = "/a\" 200 0.1ms\nforged: access: x \xe2\x80\xae\xff\\";
    struct access_entry e = {.status = 404, .duration_us = 1500};
    memcpy(e.method, method, sizeof(method) - 1);
    e.method_len = sizeof(method) - 1;
    memcpy(e.path, raw_path, sizeof(raw_path) - 1);
    e.path_len = sizeof(raw_path) - 1;
    e.listener = "web";
    strcpy(e.client, "203.0.113.7");
    access_log_push(&e); /* no logger thread: written at once */
    /* An error message that carries a client's device ID. */
    log_error("login: cannot create device %s on the homeserver", "DEV\nmasd-test: access: forged");
    const char *got = capture_end();
    CHECK_INT(count_lines(got), 2);
    CHECK_STR(got, "masd-test: access: web 203.0.113.7 \"GE\\x22T /a\\x22 200 0.1ms\\x0aforged: access: x "
                   "\\xe2\\x80\\xae\\xff\\x5c\" 404 1.500ms\n"
                   "masd-test: error: login: cannot create device DEV\\x0amasd-test: access: forged on the "
                   "homeserver\n");
}

/* The access line itself: the fields cut to their arrays, never a broken escape or line. */
static void test_access_line_bounds(void)
{
    capture_begin();
    log_init("masd-test");
    struct access_entry e = {.status = 200, .duration_us = 7};
    e.listener = "a-listener-label-longer-than-forty-eight-bytes-0123456789";
    strcpy(e.client, "2001:db8::1");
    memset(e.method, '\n', sizeof(e.method));
    e.method_len = 200; /* more than the array: cut to it */
    memset(e.path, 'p', sizeof(e.path));
    e.path_len = 60000;
    access_log_push(&e);
    const char *got = capture_end();
    CHECK_INT(count_lines(got), 1);
    char want[2048];
    char method[16 * 4 + 1] = "", p256[257];
    for (int i = 0; i < 16; i++)
        strcat(method, "\\x0a");
    memset(p256, 'p', 256);
    p256[256] = '\0';
    snprintf(want, sizeof(want),
             "masd-test: access: a-listener-label-longer-than-forty-eight-bytes-0 2001:db8::1 \"%s %s\" 200 "
             "0.007ms\n",
             method, p256);
    CHECK_STR(got, want);
}

int main(void)
{
    test_table();
    test_truncation();
    test_stderr_lines();
    test_access_line_bounds();
    return check_report("test_log");
}
