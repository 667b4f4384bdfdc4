/* Length-delimited strings: header values and request data are never assumed NUL-terminated. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *ptr;
    size_t len;
} masd_str;

#define MASD_STR(lit) ((masd_str){(lit), sizeof(lit) - 1})

static inline masd_str masd_str_from(const char *s)
{
    return (masd_str){s, s ? strlen(s) : 0};
}

static inline bool masd_str_eq(masd_str a, masd_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool masd_str_caseeq(masd_str a, masd_str b)
{
    return a.len == b.len && (a.len == 0 || strncasecmp(a.ptr, b.ptr, a.len) == 0);
}

/* The value of a hexadecimal digit, or -1. */
static inline int masd_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strips leading and trailing spaces and tabs (HTTP optional whitespace). */
static inline masd_str masd_str_trim(masd_str s)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t'))
        s.ptr++, s.len--;
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* Whether a Content-Type value names the media type `type` (case-insensitive), whatever its
 * parameters (";charset=UTF-8"). */
static inline bool masd_media_type_is(masd_str content_type, masd_str type)
{
    const char *semi = content_type.len ? memchr(content_type.ptr, ';', content_type.len) : NULL;
    masd_str t = {content_type.ptr, semi ? (size_t)(semi - content_type.ptr) : content_type.len};
    return masd_str_caseeq(masd_str_trim(t), type);
}

/* Splits *rest at the first `sep`: returns the part before it and advances *rest past it.
 * Returns false when *rest was already consumed. */
static inline bool masd_str_next(masd_str *rest, char sep, masd_str *part)
{
    if (rest->ptr == NULL)
        return false;
    const char *p = rest->len ? memchr(rest->ptr, sep, rest->len) : NULL;
    if (p == NULL) {
        *part = *rest;
        *rest = (masd_str){NULL, 0};
    } else {
        *part = (masd_str){rest->ptr, (size_t)(p - rest->ptr)};
        rest->len -= (size_t)(p - rest->ptr) + 1;
        rest->ptr = p + 1;
    }
    return true;
}

/* Whether the space-separated list (an OAuth scope) holds `word` as one of its items. */
static inline bool masd_words_contain(const char *list, const char *word)
{
    masd_str rest = masd_str_from(list), item, w = masd_str_from(word);
    while (masd_str_next(&rest, ' ', &item))
        if (masd_str_eq(item, w))
            return true;
    return false;
}
