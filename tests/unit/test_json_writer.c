/* json_writer: the same bytes as jansson's json_dumps(JSON_COMPACT) for the same object — every
 * control character, quotes, backslashes, slashes, DEL, multi-byte UTF-8, empty strings, integer
 * extremes, booleans — and many random strings; NULL when memory cannot be had is not tested. */
#include "check.h"
#include "json_writer.h"
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

static void same(const char *value, int64_t n)
{
    struct json_writer w;
    json_writer_begin(&w);
    json_writer_bool(&w, "active", true);
    json_writer_string(&w, "s", value);
    json_writer_int(&w, "n", n);
    json_writer_bool(&w, "f", false);
    char *got = json_writer_end(&w);
    json_t *o = json_pack("{s:b, s:s, s:I, s:b}", "active", 1, "s", value, "n", (json_int_t)n, "f", 0);
    char *want = o ? json_dumps(o, JSON_COMPACT) : NULL;
    CHECK(want != NULL);
    CHECK_STR(got, want);
    free(got);
    free(want);
    json_decref(o);
}

int main(void)
{
    struct json_writer w;
    json_writer_begin(&w);
    char *empty = json_writer_end(&w);
    CHECK_STR(empty, "{}");
    free(empty);

    same("", 0);
    same("alice", INT64_MAX);
    same("a\"b\\c/d", INT64_MIN);
    same("\x7f\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80", -1);
    char all[32];
    for (int c = 1; c < 32; c++)
        all[c - 1] = (char)c;
    all[31] = '\0';
    same(all, 1796627363);
    srand(7);
    for (int i = 0; i < 2000; i++) {
        char s[64];
        size_t len = (size_t)(rand() % 63);
        for (size_t k = 0; k < len; k++)
            s[k] = (char)(1 + rand() % 127); /* ASCII: always valid UTF-8 */
        s[len] = '\0';
        same(s, rand());
    }
    return check_report(__FILE__);
}
