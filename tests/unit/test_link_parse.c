/* The user code a person types at /link (services/human/link_parse.c): what /link looks up. */
#include "check.h"
#include "link_parse.h"
#include <errno.h>

static void ok(const char *in, const char *want)
{
    char out[16] = "garbage";
    int r = link_user_code_normalise(in, out, sizeof(out));
    if (r != 0)
        fprintf(stderr, "refused: \"%s\"\n", in);
    CHECK_INT(r, 0);
    CHECK_STR(out, want);
}

static void bad(const char *in)
{
    char out[16] = "garbage";
    int r = link_user_code_normalise(in, out, sizeof(out));
    if (r != -EINVAL)
        fprintf(stderr, "accepted: \"%s\"\n", in);
    CHECK_INT(r, -EINVAL);
    CHECK_STR(out, ""); /* nothing half-written is left to look up */
}

int main(void)
{
    ok("ABC123", "ABC123");
    ok("abc123", "ABC123"); /* case-insensitive (MAS upper-cases) */
    ok("aBc-123", "ABC123");
    ok(" ABC 123 ", "ABC123");
    ok("a b c - 1 2 3", "ABC123");
    ok("\tABC\r\n123\n", "ABC123");
    ok("--abc--123--", "ABC123");
    ok("Z", "Z");                             /* the length is the lookup's business */
    ok("0O1IL", "0O1IL");                     /* no look-alike is mapped: MAS's alphabet has both */
    ok("ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO"); /* 15 characters: STORAGE_USER_CODE_MAX */

    bad("");
    bad("   ");
    bad("- -");
    bad("ABC_123");
    bad("ABC.123");
    bad("ABC+123");
    bad("ÄBC123"); /* not ASCII */
    bad("ABC\x01"
        "123");
    bad("ABCDEFGHIJKLMNOP"); /* 16 characters: longer than any code */
    bad("abc123%20");

    /* the output buffer's size bounds it */
    char small[4];
    CHECK_INT(link_user_code_normalise("abc", small, sizeof(small)), 0);
    CHECK_STR(small, "ABC");
    CHECK_INT(link_user_code_normalise("abcd", small, sizeof(small)), -EINVAL);
    CHECK_STR(small, "");
    CHECK_INT(link_user_code_normalise("abc", small, 0), -EINVAL);
    return check_report(__FILE__);
}
