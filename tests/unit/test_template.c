/* The template renderer and its escapes (common/html/template.h), on tests/data/templates/
 * compiled by tmplc.py in English and French. Each escaping context is tested on its own:
 * escaping per context is where C web code fails. */
#include "check.h"
#include "template.h"
#include "test_templates.h"
#include <errno.h>
#include <stdlib.h>

static char *escaped(void (*put)(struct html_buf *, const char *, size_t), const char *s, size_t len)
{
    static char out[4096];
    struct html_buf b;
    html_buf_init(&b, sizeof(out) - 1);
    put(&b, s, len);
    snprintf(out, sizeof(out), "%.*s", (int)b.len, b.ptr ? b.ptr : "");
    html_buf_free(&b);
    return out;
}

#define TEXT(lit)  escaped(html_put_text, lit, sizeof(lit) - 1)
#define URL(lit)   escaped(html_put_url, lit, sizeof(lit) - 1)
#define PART(lit)  escaped(html_put_url_part, lit, sizeof(lit) - 1)
#define PLAIN(lit) escaped(text_put_plain, lit, sizeof(lit) - 1)

static void test_text_and_attr(void)
{
    CHECK_STR(TEXT("plain"), "plain");
    CHECK_STR(TEXT("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK_STR(TEXT("a & b"), "a &amp; b");
    CHECK_STR(TEXT("&amp;"), "&amp;amp;"); /* never double-decoded: escaped again */
    CHECK_STR(TEXT("\" onmouseover=\"x"), "&quot; onmouseover=&quot;x");
    CHECK_STR(TEXT("' autofocus '"), "&#39; autofocus &#39;");
    CHECK_STR(TEXT("caf\xc3\xa9 \xf0\x9f\x94\x91"), "caf\xc3\xa9 \xf0\x9f\x94\x91"); /* valid UTF-8 kept */
    CHECK_STR(TEXT("line\nnext\ttab"), "line\nnext\ttab");
    /* Invalid UTF-8 and control characters: U+FFFD, one per bad byte. */
    CHECK_STR(TEXT("a\xff"), "a\xef\xbf\xbd");
    CHECK_STR(TEXT("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                 /* overlong '/' */
    CHECK_STR(TEXT("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
    CHECK_STR(TEXT("\xf4\x90\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
    CHECK_STR(TEXT("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");                                 /* cut short */
    CHECK_STR(TEXT("x\x01y\x7f"), "x\xef\xbf\xbdy\xef\xbf\xbd");
    CHECK_STR(escaped(html_put_text, "a\0b", 3), "a\xef\xbf\xbd"
                                                 "b");
}

static void test_url(void)
{
    CHECK_STR(URL("https://example.com/a?b=1&c=2"), "https://example.com/a?b=1&amp;c=2");
    CHECK_STR(URL("HTTP://EXAMPLE.COM/"), "HTTP://EXAMPLE.COM/");
    CHECK_STR(URL("mailto:a@example.com"), "mailto:a@example.com");
    CHECK_STR(URL("/consent/01H?x=\"y\""), "/consent/01H?x=&quot;y&quot;");
    CHECK_STR(URL("relative/path:with-colon"), "relative/path:with-colon");
    CHECK_STR(URL("?q=1"), "?q=1");
    CHECK_STR(URL("//other.example/"), "//other.example/");
    CHECK_STR(URL(""), "");
    /* What a browser would run or load as a document is never written. */
    CHECK_STR(URL("javascript:alert(1)"), "about:invalid#masd");
    CHECK_STR(URL("JaVaScRiPt:alert(1)"), "about:invalid#masd");
    CHECK_STR(URL(" javascript:alert(1)"), "about:invalid#masd");
    CHECK_STR(URL("java\tscript:alert(1)"), "about:invalid#masd");
    CHECK_STR(URL("java\nscript:alert(1)"), "about:invalid#masd");
    CHECK_STR(URL("\x01javascript:alert(1)"), "about:invalid#masd");
    CHECK_STR(URL("data:text/html,<script>alert(1)</script>"), "about:invalid#masd");
    CHECK_STR(URL("vbscript:x"), "about:invalid#masd");
    CHECK_STR(URL("https://example.com/a b"), "about:invalid#masd");
}

static void test_url_part(void)
{
    CHECK_STR(PART("01HX-abc_~."), "01HX-abc_~.");
    CHECK_STR(PART("a/b?c#d e&f=g"), "a%2Fb%3Fc%23d%20e%26f%3Dg");
    CHECK_STR(PART("../../logout"), "..%2F..%2Flogout");
    CHECK_STR(PART("\"><script>"), "%22%3E%3Cscript%3E");
    CHECK_STR(PART("caf\xc3\xa9"), "caf%C3%A9");
}

static char *render(const char *lang, const char *json, int *rc)
{
    json_error_t e;
    json_t *data = json ? json_loads(json, 0, &e) : NULL;
    if (json && !data) {
        fprintf(stderr, "bad test JSON: %s\n", e.text);
        *rc = -EINVAL;
        return strdup("");
    }
    const struct template *t = template_find(test_templates, "page.html", lang);
    struct html_buf b;
    html_buf_init(&b, 64 * 1024);
    *rc = t ? template_render(t, data, &b) : -ENOENT;
    json_decref(data);
    char *out = strndup(b.ptr ? b.ptr : "", b.len);
    html_buf_free(&b);
    return out;
}

#define CHECK_HAS(hay, needle)                                                                               \
    do {                                                                                                     \
        check_count++;                                                                                       \
        if (!strstr(hay, needle)) {                                                                          \
            check_failures++;                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: output lacks %s\n", __FILE__, __LINE__, needle);           \
        }                                                                                                    \
    } while (0)
#define CHECK_LACKS(hay, needle)                                                                             \
    do {                                                                                                     \
        check_count++;                                                                                       \
        if (strstr(hay, needle)) {                                                                           \
            check_failures++;                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: output has %s\n", __FILE__, __LINE__, needle);             \
        }                                                                                                    \
    } while (0)

static void test_page(void)
{
    int rc;
    char *out = render("en",
                       "{\"title\": \"<T>\", \"user\": {\"name\": \"<b>Bob</b>\"},"
                       " \"link\": \"javascript:evil()\", \"grant_id\": \"01H/../x?y\","
                       " \"username\": \"a\\\"b\", \"logo\": \"https://img.example/l.png\","
                       " \"client\": {\"name\": \"O'Client\"}, \"error\": \"Wrong <password>\","
                       " \"remember\": true, \"fragment\": \"<em>kept</em>\","
                       " \"note\": \"</textarea><script>\", \"nonce\": \"n0nce\","
                       " \"sessions\": [{\"id\": 1, \"name\": \"phone\", \"tags\": [\"a\", \"<b>\"]},"
                       "                {\"id\": \"x\\\"y\", \"name\": \"laptop\", \"tags\": []}]}",
                       &rc);
    CHECK_INT(rc, 0);
    CHECK_HAS(out, "<!DOCTYPE html>\n<html lang=\"en\">");
    CHECK_HAS(out, "<title>&lt;T&gt;</title>");
    CHECK_HAS(out, "<h1>Sign in &amp; continue</h1>");             /* catalogue text escaped */
    CHECK_HAS(out, "Hello, &lt;b&gt;Bob&lt;/b&gt;!");              /* a value in a string */
    CHECK_HAS(out, "<a href=\"about:invalid#masd\">Continue</a>"); /* URL */
    CHECK_HAS(out, "<a href=\"/consent/01H%2F..%2Fx%3Fy?x=1\">");  /* URL_PART */
    CHECK_HAS(out, "value=\"a&quot;b\"");                          /* ATTR */
    CHECK_HAS(out, "placeholder=\"Your &quot;username&quot;\"");   /* catalogue in ATTR */
    CHECK_HAS(out, "<img src='https://img.example/l.png' alt='O&#39;Client'>");
    CHECK_HAS(out, "<p role=\"alert\">Wrong &lt;password&gt;</p>"); /* if taken */
    CHECK_LACKS(out, "<p>-</p>");                                   /* else not */
    CHECK_HAS(out, "name=\"remember\">");                           /* if not: skipped */
    CHECK_HAS(out, "<li data-id=\"1\">phone [a] [&lt;b&gt;]</li>"); /* nested loops */
    CHECK_HAS(out, "<li data-id=\"x&quot;y\">laptop</li>");         /* empty inner loop */
    CHECK_HAS(out, "<div><em>kept</em></div>");                     /* | safe */
    CHECK_HAS(out, "<textarea>&lt;/textarea&gt;&lt;script&gt;</textarea>");
    CHECK_HAS(out, "<script nonce=\"n0nce\">");
    CHECK_LACKS(out, "not rendered"); /* comments */
    free(out);

    /* elif, else, missing values, numbers and booleans. */
    out = render("en", "{\"notice\": 42, \"remember\": false, \"user\": {}}", &rc);
    CHECK_INT(rc, 0);
    CHECK_HAS(out, "<p>42</p>");
    CHECK_HAS(out, "name=\"remember\" disabled>");
    CHECK_HAS(out, "Hello, !");
    CHECK_HAS(out, "<ul></ul>");
    free(out);
    out = render("en", "{\"error\": \"\", \"notice\": [], \"title\": true}", &rc);
    CHECK_INT(rc, 0);
    CHECK_HAS(out, "<p>-</p>");
    CHECK_HAS(out, "<title>true</title>");
    free(out);
    out = render("en", NULL, &rc); /* no data at all */
    CHECK_INT(rc, 0);
    CHECK_HAS(out, "<p>-</p>");
    free(out);
}

static void test_languages(void)
{
    int rc;
    char *out = render("fr", "{\"user\": {\"name\": \"Zo\\u00e9\"}}", &rc);
    CHECK_INT(rc, 0);
    CHECK_HAS(out, "<html lang=\"fr\">");
    CHECK_HAS(out, "Bonjour, Zo\xc3\xa9 !");
    free(out);
    CHECK(template_find(test_templates, "page.html", "de") ==
          template_find(test_templates, "page.html", "en"));
    CHECK(template_find(test_templates, "page.html", NULL) != NULL);
    CHECK(template_find(test_templates, "nope.html", "en") == NULL);
}

static void test_limits(void)
{
    const struct template *t = template_find(test_templates, "page.html", "en");
    struct html_buf b;
    html_buf_init(&b, 100);
    CHECK_INT(template_render(t, NULL, &b), -E2BIG);
    CHECK(b.overflow);
    CHECK(b.len <= 100);
    html_buf_free(&b);

    /* A value that alone passes the ceiling. */
    char *big = malloc(70000);
    memset(big, '<', 69999);
    big[69999] = '\0';
    json_t *data = json_pack("{s:s}", "title", big);
    html_buf_init(&b, 64 * 1024);
    CHECK_INT(template_render(t, data, &b), -E2BIG);
    CHECK(b.len <= 64 * 1024);
    html_buf_free(&b);
    json_decref(data);
    free(big);
}

/* Plain text (an e-mail's text part): markup as it is, but no value may begin a line. */
static void test_plain(void)
{
    CHECK_STR(PLAIN("<b>&amp;</b> \"q\" 'a'"), "<b>&amp;</b> \"q\" 'a'");
    CHECK_STR(PLAIN("caf\xc3\xa9 \xf0\x9f\x94\x91"), "caf\xc3\xa9 \xf0\x9f\x94\x91");
    CHECK_STR(PLAIN("a\r\nSubject: x"), "a\xef\xbf\xbd\xef\xbf\xbdSubject: x");
    CHECK_STR(PLAIN("a\nb\tc\x7f"), "a\xef\xbf\xbd"
                                    "b\xef\xbf\xbd"
                                    "c\xef\xbf\xbd");
    CHECK_STR(PLAIN("nel\xc2\x85"), "nel\xef\xbf\xbd"); /* U+0085, a C1 line break */
    CHECK_STR(PLAIN("bad\xff\xc0\xaf"), "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_STR(escaped(text_put_plain, "a\0b", 3), "a\xef\xbf\xbd"
                                                  "b");

    const struct template *t = template_find(test_templates, "mail.txt", "en");
    CHECK(t != NULL);
    json_t *data = json_pack("{s:s, s:{s:s}, s:s}", "code", "123456", "user", "name", "Eve\nBcc: x@y", "link",
                             "https://example.com/?a=1&b=2");
    struct html_buf b;
    html_buf_init(&b, 4096);
    CHECK_INT(template_render(t, data, &b), 0);
    char *out = strndup(b.ptr ? b.ptr : "", b.len);
    CHECK_STR(out, "Hello <Eve\xef\xbf\xbd"
                   "Bcc: x@y> & \"friends\"\nYour code: 123456\nOpen https://example.com/?a=1&b=2\n-- \n"
                   "Eve\xef\xbf\xbd"
                   "Bcc: x@y <&>\n");
    free(out);
    html_buf_free(&b);
    json_decref(data);
    t = template_find(test_templates, "mail.txt", "fr");
    html_buf_init(&b, 4096);
    CHECK_INT(template_render(t, NULL, &b), 0);
    out = strndup(b.ptr ? b.ptr : "", b.len);
    CHECK_STR(out, "Bonjour <> & \xc2\xab amis \xc2\xbb\nYour code: \n-- \n <&>\n");
    free(out);
    html_buf_free(&b);
}

int main(void)
{
    test_text_and_attr();
    test_url();
    test_url_part();
    test_page();
    test_languages();
    test_limits();
    test_plain();
    return check_report(__FILE__);
}
