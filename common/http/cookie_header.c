/* The Cookie request header (cookie_header.h). */
#include "cookie_header.h"
#include "server.h"
#include <string.h>

bool cookie_header_find(masd_str header, const char *name, masd_str *value)
{
    size_t nlen = strlen(name);
    const char *p = header.ptr, *end = header.ptr + header.len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *pair_end = semi ? semi : end;
        masd_str pair = masd_str_trim((masd_str){p, (size_t)(pair_end - p)});
        const char *eq = pair.len ? memchr(pair.ptr, '=', pair.len) : NULL;
        if (eq) {
            masd_str k = masd_str_trim((masd_str){pair.ptr, (size_t)(eq - pair.ptr)});
            masd_str v = masd_str_trim((masd_str){eq + 1, (size_t)(pair.ptr + pair.len - eq - 1)});
            if (k.len == nlen && memcmp(k.ptr, name, nlen) == 0) {
                if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
                    v.ptr++, v.len -= 2;
                *value = v;
                return true;
            }
        }
        p = semi ? semi + 1 : end;
    }
    return false;
}

bool masd_req_cookie(const struct masd_request *req, const char *name, masd_str *value)
{
    int cursor = -1;
    for (masd_str h; (h = masd_req_header(req, "cookie", &cursor)).ptr;)
        if (cookie_header_find(h, name, value))
            return true;
    return false;
}
