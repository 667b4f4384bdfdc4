/* The upstream sign-in's parsers from arbitrary input (services/human/upstream_parse.c): the
 * callback's parameters (no crash; what was parsed is UTF-8 and every parameter is accounted
 * for) and the cookie's JSON (what is read is written back and read again the same). */
#include "upstream_parse.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct upstream_callback cb;
    if (upstream_callback_parse((masd_str){(const char *)data, size}, &cb) == 0) {
        size_t known = !!cb.state + !!cb.code + !!cb.error + !!cb.error_description + !!cb.error_uri;
        if (json_array_size(cb.params) != known + json_object_size(cb.extra))
            abort();
        upstream_callback_clear(&cb);
    }
    struct upstream_cookie c, d;
    if (upstream_cookie_parse((const char *)data, size, &c) == 0) {
        if (c.n > UPSTREAM_COOKIE_MAX_ENTRIES)
            abort();
        char *json = upstream_cookie_render(&c);
        if (json) {
            if (upstream_cookie_parse(json, strlen(json), &d) != 0 || d.n != c.n ||
                memcmp(&c.e, &d.e, c.n * sizeof(c.e[0])) != 0)
                abort();
            free(json);
        }
        upstream_cookie_prune(&c, 0);
    }
    return 0;
}
