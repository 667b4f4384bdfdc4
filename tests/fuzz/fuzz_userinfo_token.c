/* Where /oauth2/userinfo finds the access token (services/oauth/userinfo.c userinfo_token): the
 * Authorization header (Bearer b64token, RFC 6750 §2.1) and the access_token parameter of the
 * query (GET) or of a form body (POST).
 * Input: a flags byte (bit 0: no Authorization header; bit 1: GET, the rest is the query, else
 * POST and the rest is the body; bit 2: no Content-Type, else a form), the Authorization value
 * up to '\n', then the query or body; each from an exact-size heap copy, so ASan sees any read
 * past it. The request is a stand-in (tests/unit/request_headers.h): the target is linked with
 * -Wl,--wrap=masd_req_header. */
#include "../unit/request_headers.h"
#include "fuzz_input.h"
#include "userinfo.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool no_header = data[0] & 1, get = data[0] & 2, no_type = data[0] & 4;
    masd_str rest = {(const char *)data + 1, size - 1}, auth = {NULL, 0};
    masd_str_next(&rest, '\n', &auth);
    char *auth_copy = fuzz_copy(auth), *rest_copy = fuzz_copy(rest);
    request_authorization = no_header ? (masd_str){NULL, 0} : (masd_str){auth_copy, auth.len};
    request_content_type = no_type ? (masd_str){NULL, 0} : MASD_STR("application/x-www-form-urlencoded");
    masd_str part = {rest_copy, rest.len};
    struct masd_request req = {.method = get ? MASD_STR("GET") : MASD_STR("POST"),
                               .query = get ? part : (masd_str){NULL, 0},
                               .body = get ? (masd_str){NULL, 0} : part};
    char *token = (char *)"untouched";
    const char *why = NULL;
    int r = userinfo_token(&req, &token, &why);
    fuzz_require(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == 0) {
        fuzz_require(token != NULL && why == NULL);
        /* a header token is a b64token: never a space, a quote or a control character */
        if (!no_header)
            for (const char *p = token; *p; p++)
                fuzz_require(*p > ' ' && *p != '"' && *p != '\\' && *p < 0x7f);
        free(token);
    } else {
        fuzz_require(token == NULL && (r == -ENOMEM || why != NULL));
    }
    free(auth_copy);
    free(rest_copy);
    return 0;
}
