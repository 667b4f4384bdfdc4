#include "form.h"
#include <errno.h>
#include <stdlib.h>

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
    masd_str key, val, want = masd_str_from(name);
    char keybuf[64];
    while (form_next(&form, &key, &val)) {
        if (key.len > sizeof(keybuf))
            continue;
        long kl = form_decode(key, keybuf);
        if (kl < 0 || !masd_str_eq((masd_str){keybuf, (size_t)kl}, want))
            continue;
        char *v = malloc(val.len + 1);
        if (!v)
            return -ENOMEM;
        long vl = form_decode(val, v);
        if (vl < 0) {
            free(v);
            return -EINVAL;
        }
        v[vl] = '\0';
        *value = v;
        return 1;
    }
    return 0;
}
