#include "form.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool form_next(masd_str *rest, masd_str *key, masd_str *value)
{
    masd_str pair;
    while (masd_str_next(rest, '&', &pair)) {
        if (pair.len == 0)
            continue;
        *key = pair;
        *value = (masd_str){"", 0};
        const char *eq = memchr(pair.ptr, '=', pair.len);
        if (eq) {
            key->len = (size_t)(eq - pair.ptr);
            *value = (masd_str){eq + 1, pair.len - key->len - 1};
        }
        return true;
    }
    return false;
}

long form_decode(masd_str in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < in.len ? masd_hexval(in.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? masd_hexval(in.ptr[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        out[n++] = c;
    }
    return (long)n;
}

int form_get(masd_str form, const char *name, char **value)
{
    masd_str key, val, want = masd_str_from(name), found = {NULL, 0};
    char keybuf[64];
    while (form_next(&form, &key, &val)) {
        if (key.len > sizeof(keybuf))
            continue;
        long kl = form_decode(key, keybuf);
        if (kl < 0 || !masd_str_eq((masd_str){keybuf, (size_t)kl}, want))
            continue;
        if (found.ptr) /* RFC 6749 §3.1: never "the first one wins" */
            return -EEXIST;
        found = val;
    }
    if (!found.ptr)
        return 0;
    char *v = malloc(found.len + 1);
    if (!v)
        return -ENOMEM;
    long vl = form_decode(found, v);
    if (vl < 0) {
        free(v);
        return -EINVAL;
    }
    v[vl] = '\0';
    *value = v;
    return 1;
}

static int cmp_key(const void *a, const void *b)
{
    const masd_str *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->len ? memcmp(x->ptr, y->ptr, x->len) : 0;
}

int form_check_unique(masd_str form)
{
    size_t n = 0;
    masd_str rest = form, key, val;
    while (form_next(&rest, &key, &val))
        n++;
    if (n < 2)
        return 0;
    /* every key decoded (never longer than encoded) into one buffer, then sorted: O(n log n),
     * so that a body of many short pairs costs no more than its parsing; a small form (the
     * homeserver's introspection: two pairs) on the stack */
    masd_str small_keys[16];
    char small_buf[512];
    bool small = n <= sizeof(small_keys) / sizeof(small_keys[0]) && form.len <= sizeof(small_buf);
    masd_str *keys = small ? small_keys : malloc(n * sizeof(*keys));
    char *buf = small ? small_buf : malloc(form.len);
    int r = keys && buf ? 0 : -ENOMEM;
    size_t used = 0, i = 0;
    rest = form;
    while (r == 0 && form_next(&rest, &key, &val)) {
        long kl = form_decode(key, buf + used);
        if (kl < 0)
            r = -EINVAL;
        else
            keys[i++] = (masd_str){buf + used, (size_t)kl}, used += (size_t)kl;
    }
    if (r == 0) {
        qsort(keys, n, sizeof(*keys), cmp_key);
        for (i = 1; i < n && r == 0; i++)
            if (cmp_key(&keys[i - 1], &keys[i]) == 0)
                r = -EEXIST;
    }
    if (!small) {
        free(keys);
        free(buf);
    }
    return r;
}
