/* The Cookie request header parser (common/http/cookie_header.c). */
#include "check.h"
#include "cookie_header.h"

static const char *find(const char *header, const char *name)
{
    static char buf[256];
    masd_str v;
    if (!cookie_header_find(masd_str_from(header), name, &v))
        return NULL;
    snprintf(buf, sizeof(buf), "%.*s", (int)v.len, v.ptr);
    return buf;
}

int main(void)
{
    CHECK_STR(find("session=abc", "session"), "abc");
    CHECK_STR(find("a=1; session=abc; csrf=x", "session"), "abc");
    CHECK_STR(find("a=1;session=abc", "session"), "abc");
    CHECK_STR(find("  session = abc  ;", "session"), "abc");
    CHECK_STR(find("csrf=x; session=\"q\"", "session"), "q");
    CHECK_STR(find("session=; a=1", "session"), "");
    /* base64 padding survives: only the first '=' splits */
    CHECK_STR(find("session=YWJj==", "session"), "YWJj==");
    /* the first of two wins (the longest path, RFC 6265 §5.4) */
    CHECK_STR(find("session=first; session=second", "session"), "first");
    /* names are exact and case-sensitive; prefixes and suffixes do not match */
    CHECK(find("Session=abc", "session") == NULL);
    CHECK(find("xsession=abc; sessionx=def", "session") == NULL);
    CHECK(find("", "session") == NULL);
    CHECK(find(";;;", "session") == NULL);
    CHECK(find("session", "session") == NULL); /* no '=' */
    CHECK_STR(find("junk; session=ok", "session"), "ok");
    CHECK_STR(find("=x; session=ok", "session"), "ok");
    /* a lone quote is kept as it is */
    CHECK_STR(find("session=\"", "session"), "\"");
    /* not NUL-terminated input: the length is what counts */
    masd_str v;
    const char raw[] = "session=abcdef";
    CHECK(cookie_header_find((masd_str){raw, 11}, "session", &v) && v.len == 3);
    CHECK(!cookie_header_find((masd_str){raw, 6}, "session", &v));
    return check_report(__FILE__);
}
