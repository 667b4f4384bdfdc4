/* The arena every syntax tree and schema lives in, the name map, the error list. */
#include "internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct gql_chunk {
    gql_chunk *next;
    size_t size, used;
    _Alignas(max_align_t) unsigned char data[];
};

#define CHUNK_SIZE (16 * 1024)

void *gql_alloc(gql_arena *a, size_t n)
{
    n = (n + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
    if (n == 0)
        n = _Alignof(max_align_t);
    if (a->limit && (n > a->limit || a->used > a->limit - n)) {
        a->full = true;
        return NULL;
    }
    gql_chunk *c = a->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        if (size == n && a->chunks) { /* a large block: keep filling the current chunk after it */
            c->next = a->chunks->next;
            a->chunks->next = c;
        } else {
            c->next = a->chunks;
            a->chunks = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

char *gql_strdup(gql_arena *a, masd_str s)
{
    char *p = gql_alloc(a, s.len + 1);
    if (p && s.len)
        memcpy(p, s.ptr, s.len);
    return p;
}

void gql_arena_free(gql_arena *a)
{
    gql_chunk *c = a->chunks;
    while (c) {
        gql_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->used = 0;
}

static size_t hash(masd_str s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ (unsigned char)s.ptr[i]) * 1099511628211u;
    return (size_t)h;
}

static size_t slot(const gql_map *m, masd_str key)
{
    size_t i = hash(key) & (m->cap - 1);
    while (m->keys[i].ptr && !masd_str_eq(m->keys[i], key))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int grow(gql_arena *a, gql_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    gql_map n = {gql_alloc(a, cap * sizeof(masd_str)), gql_alloc(a, cap * sizeof(void *)), cap, 0};
    if (!n.keys || !n.values)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i].ptr)
            continue;
        size_t j = slot(&n, m->keys[i]);
        n.keys[j] = m->keys[i];
        n.values[j] = m->values[i];
        n.count++;
    }
    *m = n;
    return 0;
}

int gql_map_put(gql_arena *a, gql_map *m, masd_str key, void *value, void **existing)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(a, m) < 0)
        return -ENOMEM;
    if (!key.ptr)
        key.ptr = "";
    size_t i = slot(m, key);
    if (m->keys[i].ptr) {
        if (existing)
            *existing = m->values[i];
        return 0;
    }
    m->keys[i] = key;
    m->values[i] = value;
    m->count++;
    return 1;
}

void *gql_map_get(const gql_map *m, masd_str key)
{
    if (m->cap == 0)
        return NULL;
    if (!key.ptr)
        key.ptr = "";
    size_t i = slot(m, key);
    return m->keys[i].ptr ? m->values[i] : NULL;
}

void gql_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 1
                : (*p & 0xE0) == 0xC0 ? 2
                : (*p & 0xF0) == 0xE0 ? 3
                : (*p & 0xF8) == 0xF0 ? 4
                                      : 0;
        bool ok = n > 0;
        for (int i = 1; ok && i < n; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && n > 1) { /* overlong forms, surrogates, past U+10FFFF */
            unsigned cp = p[0] & (0x7F >> n);
            for (int i = 1; i < n; i++)
                cp = cp << 6 | (p[i] & 0x3F);
            ok = cp >= (n == 2   ? 0x80u
                        : n == 3 ? 0x800u
                                 : 0x10000u) &&
                 cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
        }
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

int gql_error_addv(json_t *errors, gql_loc loc, const char *fmt, va_list ap)
{
    if (json_array_size(errors) >= GQL_MAX_ERRORS)
        return 0;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    gql_utf8_sanitize(msg); /* a cut message may end inside a character */
    json_t *e = json_pack("{s:s}", "message", msg);
    if (e && loc.line)
        json_object_set_new(
            e, "locations",
            json_pack("[{s:i,s:i}]", "line", (json_int_t)loc.line, "column", (json_int_t)loc.column));
    if (!e || json_array_append_new(errors, e) < 0)
        return -ENOMEM;
    return 0;
}

int gql_error_add(json_t *errors, gql_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = gql_error_addv(errors, loc, fmt, ap);
    va_end(ap);
    return r;
}
