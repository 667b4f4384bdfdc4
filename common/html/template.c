/* Rendering compiled templates (template.h), and the escapes every value goes through. */
#include "template.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

void html_buf_init(struct html_buf *b, size_t max)
{
    *b = (struct html_buf){.max = max};
}

void html_buf_free(struct html_buf *b)
{
    free(b->ptr);
    *b = (struct html_buf){0};
}

static bool reserve(struct html_buf *b, size_t more)
{
    if (b->overflow)
        return false;
    if (more > b->max - b->len) {
        b->overflow = true;
        return false;
    }
    if (b->len + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    char *p = realloc(b->ptr, cap);
    if (!p) {
        b->overflow = true;
        return false;
    }
    b->ptr = p;
    b->cap = cap;
    return true;
}

void html_buf_put(struct html_buf *b, const char *s, size_t len)
{
    if (len && reserve(b, len)) {
        memcpy(b->ptr + b->len, s, len);
        b->len += len;
    }
}

#define PUT_LIT(b, lit) html_buf_put(b, lit, sizeof(lit) - 1)

/* Control characters and invalid UTF-8 as U+FFFD, everything else as it is. */
void text_put_plain(struct html_buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        bool bad = u[i] < 0x20 || u[i] == 0x7f;
        if (u[i] >= 0x80) {
            ucs4_t uc;
            int m = u8_mbtoucr(&uc, u + i, len - i);
            bad = m < 0 || (uc >= 0x80 && uc < 0xa0); /* C1 controls too */
            n = m < 0 ? 1 : (size_t)m;
        }
        if (!bad) {
            run += n;
            i += n;
            continue;
        }
        html_buf_put(b, s + i - run, run);
        run = 0;
        html_buf_put(b, "\xef\xbf\xbd", 3);
        i += n;
    }
    html_buf_put(b, s + len - run, run);
}

void html_put_text(struct html_buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* bytes at u[i - run .. i) that need no escape, written in one go */
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        const char *rep = NULL;
        size_t n = 1;
        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                rep = "\xef\xbf\xbd";
            else if (c >= 0x80) { /* libunistring's strict decoder (RFC 3629) */
                ucs4_t uc;
                int m = u8_mbtoucr(&uc, u + i, len - i);
                if (m < 0)
                    rep = "\xef\xbf\xbd";
                else
                    n = (size_t)m;
            }
        }
        if (!rep) {
            run += n;
            i += n;
            continue;
        }
        html_buf_put(b, s + i - run, run);
        run = 0;
        html_buf_put(b, rep, strlen(rep));
        i += n;
    }
    html_buf_put(b, s + len - run, run);
}

/* A URL a browser will not run: no scheme (relative), or http, https or mailto. A URL with a
 * control character anywhere is refused outright, since browsers drop tabs and newlines and trim
 * spaces before they read the scheme ("java\tscript:" is javascript:). */
static bool url_is_safe(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    size_t i = 0;
    while (i < len && s[i] != ':' && s[i] != '/' && s[i] != '?' && s[i] != '#')
        i++;
    if (i == len || s[i] != ':')
        return true;
    static const char *const allowed[] = {"http", "https", "mailto"};
    for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
        if (strlen(allowed[k]) == i && strncasecmp(s, allowed[k], i) == 0)
            return true;
    return false;
}

void html_put_url(struct html_buf *b, const char *s, size_t len)
{
    if (url_is_safe(s, len))
        html_put_text(b, s, len);
    else
        PUT_LIT(b, "about:invalid#masd");
}

void html_put_url_part(struct html_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~') {
            html_buf_put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            html_buf_put(b, e, 3);
        }
    }
}

const struct template *template_find(const struct template *table, const char *name, const char *lang)
{
    const struct template *fallback = NULL;
    for (const struct template *t = table; t->name; t++) {
        if (strcmp(t->name, name) != 0)
            continue;
        if (lang && strcmp(t->lang, lang) == 0)
            return t;
        if (strcmp(t->lang, "en") == 0)
            fallback = t;
    }
    return fallback;
}

/* ---- rendering ------------------------------------------------------------------------- */

struct loop {
    const char *name;
    json_t *array;
    size_t index;
    size_t for_op;
};

struct render {
    json_t *data;
    struct loop loops[TEMPLATE_MAX_DEPTH];
    size_t depth;
};

/* The value at a dotted path: the first segment names a loop variable (innermost first) or a
 * member of the data; the others are members. NULL when any step is missing. */
static json_t *lookup(const struct render *r, const char *path, size_t len)
{
    const char *dot = memchr(path, '.', len);
    size_t first = dot ? (size_t)(dot - path) : len;
    json_t *v = NULL;
    bool found = false;
    for (size_t i = r->depth; i-- > 0 && !found;)
        if (strlen(r->loops[i].name) == first && memcmp(r->loops[i].name, path, first) == 0) {
            v = json_array_get(r->loops[i].array, r->loops[i].index);
            found = true;
        }
    if (!found)
        v = json_is_object(r->data) ? json_object_getn(r->data, path, first) : NULL;
    while (v && dot) {
        const char *seg = dot + 1;
        dot = memchr(seg, '.', (size_t)(path + len - seg));
        size_t n = dot ? (size_t)(dot - seg) : (size_t)(path + len - seg);
        v = json_is_object(v) ? json_object_getn(v, seg, n) : NULL;
    }
    return v;
}

static bool truthy(json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_TRUE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return true;
    default:
        return false;
    }
}

static void put_value(struct html_buf *b, json_t *v, enum tmpl_ctx ctx)
{
    char num[32];
    const char *s = "";
    size_t len = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_integer(v)) {
        len = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        len = (size_t)snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        s = num;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
        len = strlen(s);
    }
    switch (ctx) {
    case TMPL_CTX_TEXT:
    case TMPL_CTX_ATTR:
        html_put_text(b, s, len);
        break;
    case TMPL_CTX_URL:
        html_put_url(b, s, len);
        break;
    case TMPL_CTX_URL_PART:
        html_put_url_part(b, s, len);
        break;
    case TMPL_CTX_SAFE:
        html_buf_put(b, s, len);
        break;
    case TMPL_CTX_PLAIN:
        text_put_plain(b, s, len);
        break;
    }
}

int template_render(const struct template *t, json_t *data, struct html_buf *b)
{
    struct render r = {.data = data};
    for (size_t pc = 0; pc < t->n_ops && !b->overflow;) {
        const struct tmpl_op *op = &t->ops[pc];
        switch (op->kind) {
        case TMPL_TEXT:
            html_buf_put(b, op->s, op->len);
            pc++;
            break;
        case TMPL_VAR:
            put_value(b, lookup(&r, op->s, op->len), (enum tmpl_ctx)op->arg);
            pc++;
            break;
        case TMPL_IF:
            pc = truthy(lookup(&r, op->s, op->len)) != (op->arg != 0) ? pc + 1 : op->target;
            break;
        case TMPL_JUMP:
            pc = op->target;
            break;
        case TMPL_NOP:
            pc++;
            break;
        case TMPL_FOR: {
            json_t *a = lookup(&r, op->s, op->len);
            if (!json_is_array(a) || json_array_size(a) == 0) {
                pc = op->target + 1;
                break;
            }
            if (r.depth == TEMPLATE_MAX_DEPTH)
                return -ELOOP;
            r.loops[r.depth++] = (struct loop){op->name, a, 0, pc};
            pc++;
            break;
        }
        case TMPL_ENDFOR: {
            struct loop *l = &r.loops[r.depth - 1];
            if (++l->index < json_array_size(l->array)) {
                pc = l->for_op + 1;
            } else {
                r.depth--;
                pc++;
            }
            break;
        }
        default:
            return -EINVAL;
        }
    }
    return b->overflow ? -E2BIG : 0;
}
