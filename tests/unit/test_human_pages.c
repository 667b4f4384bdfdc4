/* masd-human's pages (services/human/templates/, English catalogue strings/en.json) rendered with
 * the sample data of tests/data/human/: one file per template, each a list of cases (data merged
 * over _common.json, the data every page gets, docs/architecture.md §2), with the strings each
 * rendered page must and must not hold. Hostile values (markup, quotes, javascript: URLs) are
 * among them. Every page must besides pass the checks of check_page(), whatever its data: no
 * script but form_post's nonce one, no style attribute (the CSP forbids both), a CSRF token in
 * every form posted to masd, labels and aria-describedby pointing at ids that exist.
 *
 *   test_human_pages [DATA_DIR] [--out DIR [--css HREF]]
 *
 * --out also writes each rendered page to DIR/<case>.html (tests/tools/human_pages_tidy.sh
 * validates them; --css points their stylesheet at HREF, for looking at them in a browser). */
#include "check.h"
#include "human_templates.h"
#include "template.h"
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static int cases_run;

static void fail(const char *name, const char *what, const char *s)
{
    check_failures++;
    fprintf(stderr, "%s: %s: %s\n", name, what, s);
}

static void expect(bool ok, const char *name, const char *what, const char *s)
{
    check_count++;
    if (!ok)
        fail(name, what, s);
}

static int occurrences(const char *html, const char *s)
{
    int n = 0;
    for (const char *p = strstr(html, s); p; p = strstr(p + 1, s))
        n++;
    return n;
}

/* The value of attribute `attr` in the tag starting at tag (up to its '>'), or "" when absent.
 * Only for masd's own templates, whose attributes are always double-quoted. */
static const char *attr_value(const char *tag, const char *attr, char *out, size_t size)
{
    const char *end = strchr(tag, '>');
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=\"", attr);
    const char *p = strstr(tag, pat);
    out[0] = '\0';
    if (!p || !end || p > end)
        return out;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    if (q && (size_t)(q - p) < size)
        snprintf(out, size, "%.*s", (int)(q - p), p);
    return out;
}

static bool tag_has(const char *tag, const char *s)
{
    const char *end = strchr(tag, '>');
    const char *p = strstr(tag, s);
    return p && end && p < end;
}

/* What every page must be, whatever its data. */
static void check_page(const char *name, const char *tmpl, const char *html)
{
    char v[512], pat[600];
    expect(strncmp(html, "<!DOCTYPE html>\n<html lang=\"", 28) == 0, name, "starts with", "<!DOCTYPE html>");
    size_t n = strlen(html);
    while (n > 0 && html[n - 1] == '\n')
        n--;
    expect(n > 7 && strncmp(html + n - 7, "</html>", 7) == 0, name, "ends with", "</html>");
    expect(occurrences(html, "<title>") == 1 && !strstr(html, "<title></title>"), name, "one title", "");
    expect(occurrences(html, "<h1>") == 1, name, "one", "<h1>");
    expect(occurrences(html, "<main>") == 1 && occurrences(html, "</main>") == 1, name, "one", "<main>");
    static const char *const never[] = {"{{", "{%", "{#", " style=", "<style", "javascript:", "data:"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        expect(strcasestr(html, never[i]) == NULL, name, "holds", never[i]);

    /* Scripts: none but form_post's, which holds no value (the CSP nonce is an attribute). */
    bool form_post = strcmp(tmpl, "form_post.html") == 0;
    expect(occurrences(html, "<script") == (form_post ? 1 : 0), name, "scripts", form_post ? "one" : "none");
    expect(occurrences(html, "</script>") == (form_post ? 1 : 0), name, "scripts", "</script>");
    if (form_post) {
        const char *s = strstr(html, "<script");
        const char *e = s ? strchr(s, '>') : NULL;
        static const char body[] = ">document.forms[0].submit();</script>";
        expect(e && strncmp(e, body, sizeof(body) - 1) == 0, name, "script body", e ? e : "");
        expect(s && strstr(html, "<form") < s, name, "the form", "comes before the script");
    }

    /* Ids are unique; every aria-describedby and label names one of them. */
    for (const char *p = strstr(html, " id=\""); p; p = strstr(p + 1, " id=\"")) {
        attr_value(p - 1, "id", v, sizeof(v));
        snprintf(pat, sizeof(pat), " id=\"%s\"", v);
        expect(occurrences(html, pat) == 1, name, "a unique id", v);
    }
    static const char *const refs[] = {"aria-describedby", "for"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(pat, sizeof(pat), " %s=\"", refs[i]);
        for (const char *p = strstr(html, pat); p; p = strstr(p + 1, pat)) {
            attr_value(p - 1, refs[i], v, sizeof(v));
            char id[600];
            snprintf(id, sizeof(id), " id=\"%s\"", v);
            expect(v[0] && strstr(html, id), name, "no element with the id", v);
        }
    }
    /* Every visible input has a label. */
    for (const char *p = strstr(html, "<input "); p; p = strstr(p + 1, "<input ")) {
        if (tag_has(p, "type=\"hidden\""))
            continue;
        attr_value(p, "id", v, sizeof(v));
        snprintf(pat, sizeof(pat), "<label for=\"%s\">", v);
        expect(v[0] && strstr(html, pat), name, "an input without a label", v);
    }
    /* Forms: all POST; the ones masd receives (no action: the page's own URL, or …/logout)
     * carry the CSRF token, the ones going to the client (form_post, cancel) never do. */
    for (const char *p = strstr(html, "<form"); p; p = strstr(p + 1, "<form")) {
        expect(tag_has(p, " method=\"post\""), name, "a form not POST", "");
        const char *end = strstr(p, "</form>");
        attr_value(p, "action", v, sizeof(v));
        size_t vl = strlen(v);
        bool ours = !tag_has(p, " action=") || (vl >= 7 && strcmp(v + vl - 7, "/logout") == 0);
        const char *csrf = strstr(p, "<input type=\"hidden\" name=\"csrf\" value=\"");
        bool has_csrf = csrf && end && csrf < end;
        expect(end != NULL, name, "a form never closed", "");
        expect(has_csrf == ours, name, ours ? "a form to masd without csrf" : "csrf sent elsewhere", v);
    }
    /* Links leaving masd send no Referer: every absolute http(s) link in the footer. */
    const char *footer = strstr(html, "<footer");
    for (const char *p = footer ? strstr(footer, "<a ") : NULL; p; p = strstr(p + 1, "<a "))
        expect(tag_has(p, "rel=\"noreferrer\"") && tag_has(p, "referrerpolicy=\"no-referrer\""), name,
               "a footer link with a referrer", "");
}

static void strings_in(json_t *kase, const char *key, const char *name, const char *html, bool present)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(kase, key), i, s)
    {
        const char *want = json_string_value(s);
        expect(want && (strstr(html, want) != NULL) == present, name, present ? "missing" : "unwanted",
               want ? want : "(not a string)");
    }
}

static void write_page(const char *out_dir, const char *name, const char *html, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.html", out_dir, name);
    FILE *f = fopen(path, "w");
    expect(f && fwrite(html, 1, len, f) == len, name, "cannot write", path);
    if (f)
        fclose(f);
}

static void run_file(const char *dir, const char *file, json_t *common, const char *out_dir, const char *css,
                     bool *covered)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    json_error_t e;
    json_t *spec = json_load_file(path, 0, &e);
    expect(spec != NULL, file, "not JSON", e.text);
    if (!spec)
        return;
    const char *tmpl = json_string_value(json_object_get(spec, "template"));
    const struct template *t = tmpl ? template_find(human_templates, tmpl, "en") : NULL;
    expect(t != NULL, file, "no such template", tmpl ? tmpl : "(none)");
    size_t i;
    json_t *kase;
    json_array_foreach(json_object_get(spec, "cases"), i, kase)
    {
        if (!t)
            break;
        covered[t - human_templates] = true;
        const char *name = json_string_value(json_object_get(kase, "name"));
        json_t *data = json_deep_copy(common);
        json_object_update(data, json_object_get(kase, "data"));
        if (css)
            json_object_set_new(data, "css", json_string(css));
        struct html_buf b;
        html_buf_init(&b, 256 * 1024);
        int rc = template_render(t, data, &b);
        expect(rc == 0, name ? name : file, "render failed", strerror(-rc));
        html_buf_put(&b, "", 1);
        if (rc == 0 && b.ptr) {
            check_page(name, tmpl, b.ptr);
            strings_in(kase, "expect", name, b.ptr, true);
            strings_in(kase, "absent", name, b.ptr, false);
            if (out_dir)
                write_page(out_dir, name, b.ptr, b.len - 1);
        }
        cases_run++;
        html_buf_free(&b);
        json_decref(data);
    }
    json_decref(spec);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int json_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '_' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

int main(int argc, char **argv)
{
    const char *dir = "../data/human", *out_dir = NULL, *css = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_dir = argv[++i];
        else if (strcmp(argv[i], "--css") == 0 && i + 1 < argc)
            css = argv[++i];
        else
            dir = argv[i];
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/_common.json", dir);
    json_error_t e;
    json_t *common = json_load_file(path, 0, &e);
    if (!common) {
        fprintf(stderr, "%s: %s\n", path, e.text);
        return 1;
    }
    size_t n_templates = 0;
    while (human_templates[n_templates].name)
        n_templates++;
    bool *covered = calloc(n_templates, sizeof(bool));
    struct dirent **files;
    int n = scandir(dir, &files, json_file, by_name);
    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
        run_file(dir, files[i]->d_name, common, out_dir, css, covered);
        free(files[i]);
    }
    free(n > 0 ? files : NULL);
    /* Every page of the binary has sample data. */
    for (size_t i = 0; i < n_templates; i++)
        expect(covered[i], human_templates[i].name, "no sample data", human_templates[i].lang);
    CHECK(n_templates == 31);
    CHECK(cases_run >= 40);
    free(covered);
    json_decref(common);
    return check_report("test_human_pages");
}
