/* See json_writer.h. */
#include "json_writer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct json_writer *w, const char *s, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (w->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(w->buf, cap);
        if (!p) {
            w->failed = true;
            return;
        }
        w->buf = p;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_string(struct json_writer *w, const char *s)
{
    put(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, run, (size_t)(s - run));
        run = s + 1;
        char seq[8];
        const char *e = c == '"'    ? "\\\""
                        : c == '\\' ? "\\\\"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                                    : NULL;
        if (!e) {
            snprintf(seq, sizeof(seq), "\\u%04X", c);
            e = seq;
        }
        put(w, e, strlen(e));
    }
    put(w, run, (size_t)(s - run));
    put(w, "\"", 1);
}

static void put_key(struct json_writer *w, const char *key)
{
    if (w->len > 1)
        put(w, ",", 1);
    put_string(w, key);
    put(w, ":", 1);
}

void json_writer_begin(struct json_writer *w)
{
    *w = (struct json_writer){0};
    put(w, "{", 1);
}

void json_writer_string(struct json_writer *w, const char *key, const char *value)
{
    put_key(w, key);
    put_string(w, value);
}

/* Decimal digits by hand: snprintf's format machinery cost more than the rest of the answer. */
void json_writer_int(struct json_writer *w, const char *key, int64_t value)
{
    char n[24], *p = n + sizeof(n);
    uint64_t v = value < 0 ? -(uint64_t)value : (uint64_t)value;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    if (value < 0)
        *--p = '-';
    put_key(w, key);
    put(w, p, (size_t)(n + sizeof(n) - p));
}

void json_writer_bool(struct json_writer *w, const char *key, bool value)
{
    put_key(w, key);
    put(w, value ? "true" : "false", value ? 4 : 5);
}

char *json_writer_end(struct json_writer *w)
{
    put(w, "}", 1);
    if (w->failed) {
        free(w->buf);
        *w = (struct json_writer){0};
        return NULL;
    }
    w->buf[w->len] = '\0';
    return w->buf;
}
