/* Rendering the e-mails (emails.h). */
#include "emails.h"
#include "template.h"
#include "worker_templates.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int render(const char *name, const char *suffix, const char *lang, json_t *data, char **out)
{
    char file[64];
    snprintf(file, sizeof(file), "%s%s", name, suffix);
    const struct template *t = template_find(worker_templates, file, lang);
    if (!t)
        return -ENOENT;
    struct html_buf b;
    html_buf_init(&b, EMAIL_PART_MAX);
    int r = template_render(t, data, &b);
    if (r >= 0 && !(*out = strndup(b.ptr ? b.ptr : "", b.len)))
        r = -ENOMEM;
    html_buf_free(&b);
    return r < 0 ? (r == -ENOMEM ? r : -E2BIG) : 0;
}

/* The subject's template ends with a line end, and a translator may add spaces. */
static void trim(char *s)
{
    size_t n = strlen(s), start = strspn(s, " \t\r\n");
    while (n > start && strchr(" \t\r\n", s[n - 1]))
        n--;
    memmove(s, s + start, n - start);
    s[n - start] = '\0';
}

int email_render(const char *name, const char *lang, json_t *data, struct email_content *out)
{
    *out = (struct email_content){0};
    if (json_object_set_new(data, "lang", json_string(lang ? lang : "en")) < 0)
        return -ENOMEM;
    int r = render(name, ".subject.txt", lang, data, &out->subject);
    if (r >= 0)
        r = render(name, ".txt", lang, data, &out->text);
    if (r >= 0)
        r = render(name, ".html", lang, data, &out->html);
    if (r < 0) {
        email_content_free(out);
        return r;
    }
    trim(out->subject);
    return 0;
}

void email_content_free(struct email_content *c)
{
    free(c->subject);
    free(c->text);
    free(c->html);
    *c = (struct email_content){0};
}
