/* The HTTP semantics of static assets, as a specification: HTTP-dates, entity-tag lists, byte
 * ranges, content types, and the status a request gets (RFC 9110 §8.8, §13, §14). */
#include "asset_http.h"
#include "check.h"
#include <errno.h>

#define S(lit) MASD_STR(lit)

/* HTTP-date ------------------------------------------------------------------------------------ */

static int64_t date(const char *s)
{
    int64_t t = -1;
    return http_date_parse(masd_str_from(s), &t) == 0 ? t : -1;
}

static void test_date_parse(void)
{
    /* RFC 9110 §5.6.7's example in its three forms. */
    CHECK_INT(date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    CHECK_INT(date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    CHECK_INT(date("Sun Nov  6 08:49:37 1994"), 784111777);
    CHECK_INT(date("Sun Nov 06 08:49:37 1994"), 784111777);
    CHECK_INT(date("  Sun, 06 Nov 1994 08:49:37 GMT\t"), 784111777);
    CHECK_INT(date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    CHECK_INT(date("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799);
    CHECK_INT(date("Tue, 29 Feb 2000 12:00:00 GMT"), 951825600);
    CHECK_INT(date("Wed, 09 Jun 2021 10:18:14 GMT"), 1623233894);
    CHECK_INT(date("Wednesday, 09-Jun-21 10:18:14 GMT"), 1623233894);
    CHECK_INT(date("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
    CHECK_INT(date("sun, 06 nov 1994 08:49:37 GMT"), 784111777);
    CHECK_INT(date("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800); /* leap second */
}

static void test_date_reject(void)
{
    CHECK_INT(date(""), -1);
    CHECK_INT(date("yesterday"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 08:49:37 UTC"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 08:49:37"), -1);
    CHECK_INT(date("Sun, 6 Nov 1994 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 06 Nov 94 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
    CHECK_INT(date("Xyz, 06 Nov 1994 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 31 Nov 1994 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 29 Feb 1900 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 00 Nov 1994 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 24:00:00 GMT"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 08:60:00 GMT"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 08:49:61 GMT"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 08-49-37 GMT"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 +8:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 06 Nov 1994 08:49:37 GMT x"), -1);
    CHECK_INT(date("Sunday, 06-Nov-1994 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun, 06-Nov-94 08:49:37 GMT"), -1); /* RFC 850 wants the full day name */
    CHECK_INT(date("Sundae, 06-Nov-94 08:49:37 GMT"), -1);
    CHECK_INT(date("Sun Nov  6 08:49:37 94"), -1);
    CHECK_INT(date("Sun Nov 6 08:49:37 1994"), -1);
    CHECK_INT(date(","), -1);
    CHECK_INT(date("Monday,"), -1);
}

static void test_date_format(void)
{
    char buf[HTTP_DATE_LEN + 1];
    http_date_format(784111777, buf);
    CHECK_STR(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    http_date_format(0, buf);
    CHECK_STR(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    http_date_format(951825600, buf);
    CHECK_STR(buf, "Tue, 29 Feb 2000 12:00:00 GMT");
    http_date_format(-5, buf); /* clamped, never garbage */
    CHECK_STR(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    http_date_format(INT64_MAX, buf);
    CHECK_STR(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
    /* Round trip over many dates, weekdays included (a wrong weekday would still parse). */
    int64_t bad = -1;
    for (int64_t t = 0; t < 253402300799 && bad < 0; t += 86400 * 37 + 3607) {
        http_date_format(t, buf);
        int64_t back = -1;
        if (strlen(buf) != HTTP_DATE_LEN || http_date_parse(masd_str_from(buf), &back) != 0 || back != t)
            bad = t;
    }
    CHECK_INT(bad, -1);
    http_date_format(1700000000, buf);
    CHECK_STR(buf, "Tue, 14 Nov 2023 22:13:20 GMT");
}

/* Entity tags ---------------------------------------------------------------------------------- */

static const masd_str tag = {"\"6b09687a-4a4\"", 14};

static int inm(const char *line)
{
    return etag_list_match(masd_str_from(line), tag, false);
}

static int im(const char *line)
{
    return etag_list_match(masd_str_from(line), tag, true);
}

static void test_etag_lists(void)
{
    CHECK_INT(inm("\"6b09687a-4a4\""), 1);
    CHECK_INT(inm("\"x\", \"6b09687a-4a4\""), 1); /* h2o compares one string only */
    CHECK_INT(inm("\"x\",\"6b09687a-4a4\",\"y\""), 1);
    CHECK_INT(inm("W/\"6b09687a-4a4\""), 1); /* weak comparison */
    CHECK_INT(inm("\"x\", W/\"6b09687a-4a4\""), 1);
    CHECK_INT(inm("*"), 1);
    CHECK_INT(inm("  *  "), 1);
    CHECK_INT(inm(" , ,\"6b09687a-4a4\" , "), 1); /* empty list elements are allowed */
    CHECK_INT(inm("\"6b09687a-4a5\""), 0);
    CHECK_INT(inm("\"6B09687A-4A4\""), 0); /* opaque: case matters */
    CHECK_INT(inm("\"x\", \"y\""), 0);
    CHECK_INT(inm("\"*\""), 0);
    CHECK_INT(inm("w/\"6b09687a-4a4\""), -EINVAL);
    CHECK_INT(inm("6b09687a-4a4"), -EINVAL);
    CHECK_INT(inm("\"6b09687a-4a4"), -EINVAL);
    CHECK_INT(inm("\"6b09687a-4a4\"\"x\""), -EINVAL);
    CHECK_INT(inm("\"a b\""), -EINVAL);
    CHECK_INT(inm("*, \"6b09687a-4a4\""), -EINVAL);
    CHECK_INT(inm(""), -EINVAL);
    CHECK_INT(inm(" , "), -EINVAL);
    CHECK_INT(inm("W/"), -EINVAL);
    /* If-Match compares strongly: a weak tag never matches. */
    CHECK_INT(im("\"6b09687a-4a4\""), 1);
    CHECK_INT(im("W/\"6b09687a-4a4\""), 0);
    CHECK_INT(im("W/\"6b09687a-4a4\", \"6b09687a-4a4\""), 1);
    CHECK_INT(im("*"), 1);
}

/* Byte ranges ---------------------------------------------------------------------------------- */

static uint64_t rf, rl;

static int range(const char *v, uint64_t size)
{
    rf = rl = 12345;
    return asset_range_parse(masd_str_from(v), size, &rf, &rl);
}

#define CHECK_RANGE(v, size, f, l)                                                                           \
    do {                                                                                                     \
        CHECK_INT(range(v, size), ASSET_RANGE_PARTIAL);                                                      \
        CHECK_INT(rf, f);                                                                                    \
        CHECK_INT(rl, l);                                                                                    \
    } while (0)

static void test_ranges(void)
{
    CHECK_RANGE("bytes=0-99", 1000, 0, 99);
    CHECK_RANGE("bytes=0-0", 1000, 0, 0);
    CHECK_RANGE("bytes=999-999", 1000, 999, 999);
    CHECK_RANGE("bytes=100-", 1000, 100, 999);
    CHECK_RANGE("bytes=0-", 1000, 0, 999);
    CHECK_RANGE("bytes=-10", 1000, 990, 999);
    CHECK_RANGE("bytes=-1000", 1000, 0, 999);
    CHECK_RANGE("bytes=-5000", 1000, 0, 999);
    CHECK_RANGE("bytes=500-5000", 1000, 500, 999); /* last clamped */
    CHECK_RANGE("BYTES=1-2", 1000, 1, 2);          /* unit is case-insensitive */
    CHECK_RANGE(" bytes=1-2 ", 1000, 1, 2);
    CHECK_RANGE("bytes= 1-2 ,", 1000, 1, 2);
    CHECK_RANGE("bytes=0-99999999999999999999999", 1000, 0, 999); /* saturates */
    CHECK_RANGE("bytes=-99999999999999999999999", 1000, 0, 999);
    CHECK_RANGE("bytes=0-18446744073709551615", 1000, 0, 999);

    CHECK_INT(range("bytes=1000-", 1000), ASSET_RANGE_UNSATISFIABLE);
    CHECK_INT(range("bytes=99999-", 1000), ASSET_RANGE_UNSATISFIABLE);
    CHECK_INT(range("bytes=1000-2000", 1000), ASSET_RANGE_UNSATISFIABLE);
    CHECK_INT(range("bytes=99999999999999999999999-", 1000), ASSET_RANGE_UNSATISFIABLE);
    CHECK_INT(range("bytes=-0", 1000), ASSET_RANGE_UNSATISFIABLE);
    CHECK_INT(range("bytes=0-", 0), ASSET_RANGE_UNSATISFIABLE);
    CHECK_INT(range("bytes=-1", 0), ASSET_RANGE_UNSATISFIABLE);

    /* Ignored: the whole file is sent. */
    CHECK_INT(range("bytes=0-9,20-29", 1000), ASSET_RANGE_NONE); /* several ranges */
    CHECK_INT(range("bytes=0-9, -1", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=5-4", 1000), ASSET_RANGE_NONE); /* last < first: invalid */
    CHECK_INT(range("bytes=", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=,", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=-", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=a-b", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=1-2-3", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=+1-2", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=1 -2", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=10", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("items=0-9", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes 0-9", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("0-9", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("", 1000), ASSET_RANGE_NONE);
    CHECK_INT(range("bytes=5-4", 0), ASSET_RANGE_NONE);
}

/* Content types -------------------------------------------------------------------------------- */

static const char *ctype(const char *name)
{
    return asset_content_type(name, strlen(name));
}

static void test_content_types(void)
{
    CHECK_STR(ctype("app-Bx3k.js"), "text/javascript; charset=utf-8");
    CHECK_STR(ctype("worker.mjs"), "text/javascript; charset=utf-8");
    CHECK_STR(ctype("app.css"), "text/css; charset=utf-8");
    CHECK_STR(ctype("manifest.json"), "application/json");
    CHECK_STR(ctype("app.js.map"), "application/json");
    CHECK_STR(ctype("index.html"), "text/html; charset=utf-8");
    CHECK_STR(ctype("logo.svg"), "image/svg+xml");
    CHECK_STR(ctype("a.png"), "image/png");
    CHECK_STR(ctype("a.jpg"), "image/jpeg");
    CHECK_STR(ctype("a.JPEG"), "image/jpeg");
    CHECK_STR(ctype("a.webp"), "image/webp");
    CHECK_STR(ctype("f.woff"), "font/woff");
    CHECK_STR(ctype("fonts/f.woff2"), "font/woff2");
    CHECK_STR(ctype("f.ttf"), "font/ttf");
    CHECK_STR(ctype("favicon.ico"), "image/x-icon");
    CHECK_STR(ctype("robots.txt"), "text/plain; charset=utf-8");
    CHECK_STR(ctype("m.wasm"), "application/wasm");
    CHECK_STR(ctype("app.js.gz"), "application/gzip");
    CHECK_STR(ctype("app.js.br"), "application/octet-stream");
    CHECK_STR(ctype("README"), "application/octet-stream");
    CHECK_STR(ctype("dir.js/README"), "application/octet-stream");
    CHECK_STR(ctype("a.unknown"), "application/octet-stream");
    CHECK_STR(ctype("trailingdot."), "application/octet-stream");
    CHECK_STR(ctype(""), "application/octet-stream");
}

/* The decision --------------------------------------------------------------------------------- */

#define ETAG    "\"6b09687a-4a4\""
#define LASTMOD "Fri, 27 Nov 2026 11:24:42 GMT" /* 0x6b09687a */
#define EARLIER "Fri, 27 Nov 2026 11:24:41 GMT"
#define LATER   "Fri, 27 Nov 2026 11:24:43 GMT"
#define NOW     0x6b09687a + 3600

static const struct asset_validators validators = {{ETAG, sizeof(ETAG) - 1}, 0x6b09687a, 1188};

static void set(struct asset_field *f, const char *v)
{
    f->line[f->n++] = masd_str_from(v);
}

static struct asset_outcome decide(const struct asset_request *rq)
{
    struct asset_outcome o;
    asset_decide(rq, &validators, &o);
    return o;
}

static int status(const char *name1, const char *v1, const char *name2, const char *v2)
{
    struct asset_request rq = {.get = true, .now = NOW};
    const char *names[2] = {name1, name2}, *values[2] = {v1, v2};
    for (int i = 0; i < 2 && names[i]; i++) {
        struct asset_field *f = strcmp(names[i], "if-match") == 0              ? &rq.if_match
                                : strcmp(names[i], "if-none-match") == 0       ? &rq.if_none_match
                                : strcmp(names[i], "if-modified-since") == 0   ? &rq.if_modified_since
                                : strcmp(names[i], "if-unmodified-since") == 0 ? &rq.if_unmodified_since
                                : strcmp(names[i], "range") == 0               ? &rq.range
                                                                               : &rq.if_range;
        set(f, values[i]);
    }
    return decide(&rq).status;
}

static void test_decide_conditional(void)
{
    CHECK_INT(status(NULL, NULL, NULL, NULL), 200);
    CHECK_INT(status("if-none-match", ETAG, NULL, NULL), 304);
    CHECK_INT(status("if-none-match", "\"old\", " ETAG, NULL, NULL), 304);
    CHECK_INT(status("if-none-match", "W/" ETAG, NULL, NULL), 304);
    CHECK_INT(status("if-none-match", "*", NULL, NULL), 304);
    CHECK_INT(status("if-none-match", "\"old\"", NULL, NULL), 200);
    CHECK_INT(status("if-none-match", "garbage", NULL, NULL), 200);
    CHECK_INT(status("if-modified-since", LASTMOD, NULL, NULL), 304);
    CHECK_INT(status("if-modified-since", LATER, NULL, NULL), 304);
    CHECK_INT(status("if-modified-since", EARLIER, NULL, NULL), 200);
    CHECK_INT(status("if-modified-since", "garbage", NULL, NULL), 200);
    /* If-Modified-Since counts only without If-None-Match. */
    CHECK_INT(status("if-none-match", "\"old\"", "if-modified-since", LASTMOD), 200);
    CHECK_INT(status("if-none-match", ETAG, "if-modified-since", EARLIER), 304);
    /* If-Match and If-Unmodified-Since: 412, ahead of everything else. */
    CHECK_INT(status("if-match", ETAG, NULL, NULL), 200);
    CHECK_INT(status("if-match", "*", NULL, NULL), 200);
    CHECK_INT(status("if-match", "\"old\"", NULL, NULL), 412);
    CHECK_INT(status("if-match", "W/" ETAG, NULL, NULL), 412);
    CHECK_INT(status("if-match", "garbage", NULL, NULL), 412);
    CHECK_INT(status("if-match", "\"old\"", "if-none-match", ETAG), 412);
    CHECK_INT(status("if-unmodified-since", LASTMOD, NULL, NULL), 200);
    CHECK_INT(status("if-unmodified-since", EARLIER, NULL, NULL), 412);
    CHECK_INT(status("if-unmodified-since", "garbage", NULL, NULL), 200);
    CHECK_INT(status("if-match", ETAG, "if-unmodified-since", EARLIER), 200); /* If-Match wins */
    CHECK_INT(status("if-none-match", ETAG, "range", "bytes=0-9"), 304);
}

static void test_decide_multiple_lines(void)
{
    struct asset_request rq = {.get = true, .now = NOW};
    set(&rq.if_none_match, "\"a\"");
    set(&rq.if_none_match, "\"b\", " ETAG);
    CHECK_INT(decide(&rq).status, 304); /* lines of a list field form one list */

    rq = (struct asset_request){.get = true, .now = NOW};
    set(&rq.if_modified_since, LASTMOD);
    set(&rq.if_modified_since, LASTMOD);
    CHECK_INT(decide(&rq).status, 200); /* a date given twice is ignored */

    rq = (struct asset_request){.get = true, .now = NOW};
    set(&rq.range, "bytes=0-1");
    set(&rq.range, "bytes=2-3");
    CHECK_INT(decide(&rq).status, 200);

    /* More lines than are kept: If-None-Match cannot match, If-Match cannot pass. */
    rq = (struct asset_request){.get = true, .now = NOW};
    for (int i = 0; i < ASSET_FIELD_LINES; i++)
        set(&rq.if_none_match, ETAG);
    rq.if_none_match.n++;
    CHECK_INT(decide(&rq).status, 200);
    rq = (struct asset_request){.get = true, .now = NOW};
    for (int i = 0; i < ASSET_FIELD_LINES; i++)
        set(&rq.if_match, ETAG);
    rq.if_match.n++;
    CHECK_INT(decide(&rq).status, 412);
}

static void test_decide_ranges(void)
{
    struct asset_request rq = {.get = true, .now = NOW};
    set(&rq.range, "bytes=0-99");
    struct asset_outcome o = decide(&rq);
    CHECK_INT(o.status, 206);
    CHECK_INT(o.first, 0);
    CHECK_INT(o.last, 99);

    rq.get = false; /* HEAD: Range is for GET only */
    o = decide(&rq);
    CHECK_INT(o.status, 200);
    CHECK_INT(o.first, 0);
    CHECK_INT(o.last, 1187);

    CHECK_INT(status("range", "bytes=-10", NULL, NULL), 206);
    CHECK_INT(status("range", "bytes=1188-", NULL, NULL), 416);
    CHECK_INT(status("range", "bytes=0-9,20-29", NULL, NULL), 200);
    CHECK_INT(status("range", "pages=1", NULL, NULL), 200);
    /* If-Range: the range only for this very representation. */
    CHECK_INT(status("range", "bytes=0-9", "if-range", ETAG), 206);
    CHECK_INT(status("range", "bytes=0-9", "if-range", "\"stale\""), 200); /* h2o: 206 */
    CHECK_INT(status("range", "bytes=0-9", "if-range", "W/" ETAG), 200);   /* weak: never */
    CHECK_INT(status("range", "bytes=0-9", "if-range", ETAG ", " ETAG), 200);
    CHECK_INT(status("range", "bytes=0-9", "if-range", LASTMOD), 206);
    CHECK_INT(status("range", "bytes=0-9", "if-range", LATER), 200); /* exact date only */
    CHECK_INT(status("range", "bytes=0-9", "if-range", EARLIER), 200);
    CHECK_INT(status("range", "bytes=0-9", "if-range", "garbage"), 200);
    CHECK_INT(status("range", "bytes=0-9", "if-range", ""), 200);
    CHECK_INT(status("range", "bytes=99999-", "if-range", "\"stale\""), 200);
    CHECK_INT(status("if-range", ETAG, NULL, NULL), 200); /* If-Range alone: nothing */

    /* A Last-Modified within the last second is weak (RFC 9110 §8.8.2.2). */
    rq = (struct asset_request){.get = true, .now = 0x6b09687a};
    set(&rq.range, "bytes=0-9");
    set(&rq.if_range, LASTMOD);
    CHECK_INT(decide(&rq).status, 200);
    rq.now++;
    CHECK_INT(decide(&rq).status, 206);
    rq.if_range.n = 2;
    rq.if_range.line[1] = S(LASTMOD);
    CHECK_INT(decide(&rq).status, 200);
}

static void test_decide_empty_file(void)
{
    static const struct asset_validators empty = {{ETAG, sizeof(ETAG) - 1}, 0x6b09687a, 0};
    struct asset_request rq = {.get = true, .now = NOW};
    struct asset_outcome o;
    asset_decide(&rq, &empty, &o);
    CHECK_INT(o.status, 200);
    set(&rq.range, "bytes=0-");
    asset_decide(&rq, &empty, &o);
    CHECK_INT(o.status, 416);
}

int main(void)
{
    test_date_parse();
    test_date_reject();
    test_date_format();
    test_etag_lists();
    test_ranges();
    test_content_types();
    test_decide_conditional();
    test_decide_multiple_lines();
    test_decide_ranges();
    test_decide_empty_file();
    return check_report(__FILE__);
}
