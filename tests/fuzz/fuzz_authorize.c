/* The query of GET /authorize on arbitrary bytes: no crash or leak; what parses is consistent
 * (the scope is normalised: sorted, no duplicate, no empty token; every string is UTF-8), and
 * the redirect URI resolution and the client checks run on it. */
#include "authorize_parse.h"
#include "fuzz_input.h"
#include <stdint.h>
#include <unistr.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy((masd_str){(const char *)data, size});
    struct authorize_request req;
    const char *why;
    if (authorize_parse((masd_str){in, size}, &req, &why) == 0) {
        fuzz_require(req.client_id && req.scope && why == NULL);
        const char *prev = NULL, *p = req.scope;
        size_t plen = 0;
        while (*p) { /* tokens strictly increasing */
            const char *sp = strchr(p, ' ');
            size_t len = sp ? (size_t)(sp - p) : strlen(p);
            fuzz_require(len > 0);
            if (prev) {
                int c = memcmp(prev, p, plen < len ? plen : len);
                fuzz_require(c < 0 || (c == 0 && plen < len));
            }
            prev = p, plen = len;
            p += len + (sp ? 1 : 0);
        }
        fuzz_require(u8_check((const uint8_t *)req.client_id, strlen(req.client_id)) == NULL);
        const char *const registered[] = {"https://app.example.com/cb", "http://127.0.0.1/cb"};
        authorize_resolve_redirect(req.redirect_uri, registered, 2);
        const char *desc;
        const char *e = authorize_check(&req, true, true, &desc);
        fuzz_require(!e || desc);
        authorize_response_mode(&req);
        authorize_request_clear(&req);
    } else {
        fuzz_require(why != NULL);
    }
    free(in);
    return 0;
}
