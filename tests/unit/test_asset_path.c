/* Request paths below /assets/ → index keys: what is served, and every way of spelling a path
 * outside the tree (or a non-canonical path inside it) that must come out as "not found". */
#include "asset_path.h"
#include "check.h"
#include <errno.h>

static char key[ASSET_KEY_MAX + 1];

static int decode(const char *rest)
{
    key[0] = '\0';
    return asset_path_key(masd_str_from(rest), key);
}

#define CHECK_KEY(rest, expected)                                                                            \
    do {                                                                                                     \
        CHECK_INT(decode(rest), (int)strlen(expected));                                                      \
        CHECK_STR(key, expected);                                                                            \
    } while (0)

static void test_plain(void)
{
    CHECK_KEY("app.js", "app.js");
    CHECK_KEY("fonts/inter/Inter-Bold.woff2", "fonts/inter/Inter-Bold.woff2");
    CHECK_KEY("index-Bx3kP9qZ.js.map", "index-Bx3kP9qZ.js.map");
    CHECK_KEY("a..b", "a..b");           /* dots inside a name are just dots */
    CHECK_KEY("app.js.gz", "app.js.gz"); /* variants are fetchable as themselves */
    CHECK_KEY("x~y_z-1+2=3,4;5@6!'()*", "x~y_z-1+2=3,4;5@6!'()*");
}

static void test_percent_decoding(void)
{
    CHECK_KEY("%61pp.js", "app.js");
    CHECK_KEY("a%20b.css", "a b.css");
    CHECK_KEY("%C3%A9t%c3%a9.svg", "\xc3\xa9t\xc3\xa9.svg"); /* "été", either hex case */
    CHECK_KEY("%E2%82%AC.txt", "\xe2\x82\xac.txt");
    CHECK_KEY("%F0%9F%98%80.png", "\xf0\x9f\x98\x80.png");
    /* Malformed escapes are refused, not passed through. */
    CHECK_INT(decode("%"), -EINVAL);
    CHECK_INT(decode("a%"), -EINVAL);
    CHECK_INT(decode("a%4"), -EINVAL);
    CHECK_INT(decode("a%zz"), -EINVAL);
    CHECK_INT(decode("a%4g"), -EINVAL);
    CHECK_INT(decode("a%%41"), -EINVAL);
}

static void test_traversal(void)
{
    CHECK_INT(decode(".."), -EINVAL);
    CHECK_INT(decode("../etc/passwd"), -EINVAL);
    CHECK_INT(decode("a/../../etc/passwd"), -EINVAL);
    CHECK_INT(decode("a/.."), -EINVAL);
    CHECK_INT(decode("a/./b.js"), -EINVAL);
    CHECK_INT(decode("./a.js"), -EINVAL);
    CHECK_INT(decode("%2e%2e/etc/passwd"), -EINVAL);
    CHECK_INT(decode("%2E%2E/etc/passwd"), -EINVAL);
    CHECK_INT(decode(".%2e/x"), -EINVAL);
    CHECK_INT(decode("%2e./x"), -EINVAL);
    CHECK_INT(decode("a/%2e%2e"), -EINVAL);
    CHECK_INT(decode("%2e"), -EINVAL);
    /* An encoded slash would make one checked segment two. */
    CHECK_INT(decode("..%2fetc%2fpasswd"), -EINVAL);
    CHECK_INT(decode("a%2Fb.js"), -EINVAL);
    CHECK_INT(decode("a%2fb.js"), -EINVAL);
    /* Backslashes, raw or encoded: a path separator somewhere, so never a name. */
    CHECK_INT(decode("..\\..\\etc\\passwd"), -EINVAL);
    CHECK_INT(decode("a\\b.js"), -EINVAL);
    CHECK_INT(decode("%5c..%5cx"), -EINVAL);
    CHECK_INT(decode("a%5Cb"), -EINVAL);
    /* NUL would truncate the name in any C string API. */
    CHECK_INT(decode("app.js%00.png"), -EINVAL);
    CHECK_INT(decode("%00"), -EINVAL);
    /* Double encoding: one decode gives '%', which no served name contains. */
    CHECK_INT(decode("%252e%252e/etc/passwd"), -EINVAL);
    CHECK_INT(decode("%25"), -EINVAL);
    CHECK_INT(decode("a%252fb"), -EINVAL);
    /* Overlong UTF-8 for '.' and '/' (the classic decoder bypass). */
    CHECK_INT(decode("%c0%ae%c0%ae/x"), -EINVAL);
    CHECK_INT(decode("%c0%af"), -EINVAL);
    CHECK_INT(decode("%e0%80%ae"), -EINVAL);
    CHECK_INT(decode("%f0%80%80%ae"), -EINVAL);
}

static void test_not_canonical(void)
{
    CHECK_INT(decode("a//b.js"), -EINVAL);
    CHECK_INT(decode("/app.js"), -EINVAL); /* "/assets//app.js" */
    CHECK_INT(decode("//etc/passwd"), -EINVAL);
    CHECK_INT(decode(".git/config"), -EINVAL);
    CHECK_INT(decode(".env"), -EINVAL);
    CHECK_INT(decode("a/.hidden"), -EINVAL);
    CHECK_INT(decode("%2egit/config"), -EINVAL);
    CHECK_INT(decode("a\tb"), -EINVAL);
    CHECK_INT(decode("a%0ab"), -EINVAL);
    CHECK_INT(decode("a%0db"), -EINVAL);
    CHECK_INT(decode("a%7fb"), -EINVAL);
    CHECK_INT(decode("a%1bb"), -EINVAL);
    /* Not UTF-8: stray continuation, truncated sequence, surrogate, above U+10FFFF. */
    CHECK_INT(decode("%80.js"), -EINVAL);
    CHECK_INT(decode("%c3.js"), -EINVAL);
    CHECK_INT(decode("%c3"), -EINVAL);
    CHECK_INT(decode("%ed%a0%80"), -EINVAL);
    CHECK_INT(decode("%f4%90%80%80"), -EINVAL);
    CHECK_INT(decode("%ff"), -EINVAL);
}

static void test_directories(void)
{
    CHECK_INT(decode(""), -EISDIR); /* "/assets/" itself: no listing */
    CHECK_INT(decode("fonts/"), -EISDIR);
    CHECK_INT(decode("fonts/inter/"), -EISDIR);
    CHECK_INT(decode("fonts%2f"), -EINVAL);
    CHECK_INT(decode("../"), -EINVAL);
}

static void test_lengths(void)
{
    char buf[ASSET_KEY_MAX + 64];

    memset(buf, 'a', ASSET_SEGMENT_MAX);
    buf[ASSET_SEGMENT_MAX] = '\0';
    CHECK_INT(decode(buf), ASSET_SEGMENT_MAX);
    memset(buf, 'a', ASSET_SEGMENT_MAX + 1);
    buf[ASSET_SEGMENT_MAX + 1] = '\0';
    CHECK_INT(decode(buf), -ENAMETOOLONG);

    /* Segments of 200 bytes and slashes up to exactly ASSET_KEY_MAX, then one byte more. */
    size_t n = 0;
    while (n < ASSET_KEY_MAX) {
        buf[n] = (n + 1) % 201 == 0 ? '/' : 'b';
        n++;
    }
    buf[n] = '\0';
    CHECK_INT(decode(buf), ASSET_KEY_MAX);
    buf[n] = 'c';
    buf[n + 1] = '\0';
    CHECK_INT(decode(buf), -ENAMETOOLONG);
    /* Escapes count by their decoded length. */
    for (n = 0; n < ASSET_SEGMENT_MAX; n++)
        memcpy(buf + 3 * n, "%41", 3);
    buf[3 * n] = '\0';
    CHECK_INT(decode(buf), ASSET_SEGMENT_MAX);
}

static void test_segment_ok(void)
{
    CHECK(asset_path_segment_ok("app.js", 6));
    CHECK(asset_path_segment_ok("a b", 3));
    CHECK(asset_path_segment_ok("\xc3\xa9", 2));
    CHECK(!asset_path_segment_ok("", 0));
    CHECK(!asset_path_segment_ok(".", 1));
    CHECK(!asset_path_segment_ok("..", 2));
    CHECK(!asset_path_segment_ok(".htaccess", 9));
    CHECK(!asset_path_segment_ok("a%20b", 5));
    CHECK(!asset_path_segment_ok("a\\b", 3));
    CHECK(!asset_path_segment_ok("a/b", 3));
    CHECK(!asset_path_segment_ok("a\nb", 3));
    CHECK(!asset_path_segment_ok("\xc3", 1));
    CHECK(!asset_path_segment_ok("\xc0\xae", 2));
    CHECK(!asset_path_segment_ok("a\0b", 3));
}

int main(void)
{
    test_plain();
    test_percent_decoding();
    test_traversal();
    test_not_canonical();
    test_directories();
    test_lengths();
    test_segment_ok();
    return check_report(__FILE__);
}
