/* What the compat handlers other than login read from a request (services/oauth/compat_*.c):
 * the Content-Type and body rules of compat_json_body for every Content-Type and both empty_ok
 * modes, the bodies of /refresh ({"refresh_token": …}, then token_check) and /logout/all
 * ({"io.element.only_compat_is_fine": true}), and the Bearer token of compat_bearer_token.
 * Input: a flags byte (bit 0: empty_ok; bit 1: no Content-Type; bit 2: an empty body is {NULL, 0}
 * rather than a zero-length slice), the Content-Type up to '\n',
 * the Authorization value up to '\n', then the body. Each part is parsed from an exact-size heap
 * copy, so ASan sees any read past it. */
#include "compat/parse.h"
#include "fuzz_input.h"
#include "token.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void check_bearer(masd_str header)
{
    masd_str token = {NULL, 0};
    if (!compat_bearer_token(header, &token))
        return;
    /* a non-empty, trimmed slice of the header, after "Bearer " */
    fuzz_require(token.len > 0 && token.ptr >= header.ptr + 7 &&
                 token.ptr + token.len <= header.ptr + header.len);
    fuzz_require(!is_ows(token.ptr[0]) && !is_ows(token.ptr[token.len - 1]));
    fuzz_require(strncasecmp(masd_str_trim(header).ptr, "bearer ", 7) == 0);
}

/* The body rules and what /refresh and /logout/all then read, as their handlers do. */
static void check_body(masd_str content_type, masd_str body, bool empty_ok)
{
    json_t *doc = (json_t *)1;
    struct compat_error err = {0};
    int r = compat_json_body(content_type, body, empty_ok, &doc, &err);
    if (r < 0) {
        fuzz_require(r == -EINVAL && doc == NULL && err.errcode && err.error);
        fuzz_require(err.status == 400 || (err.status == 413 && body.len > COMPAT_BODY_MAX));
        return;
    }
    fuzz_require(r == 0 && body.len <= COMPAT_BODY_MAX);
    fuzz_require((doc == NULL) == (empty_ok && body.len == 0));

    const json_t *v = json_object_get(doc, "refresh_token");
    enum token_kind kind;
    if (json_is_object(doc) && json_is_string(v) &&
        token_check(json_string_value(v), json_string_length(v), &kind) == 0)
        fuzz_require(kind >= TOKEN_ACCESS && kind <= TOKEN_PERSONAL_ACCESS);
    (void)json_is_true(json_object_get(doc, "io.element.only_compat_is_fine"));
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool empty_ok = data[0] & 1, no_content_type = data[0] & 2, null_body = data[0] & 4;
    masd_str rest = {(const char *)data + 1, size - 1}, ct = {NULL, 0}, auth = {NULL, 0};
    masd_str_next(&rest, '\n', &ct);
    masd_str_next(&rest, '\n', &auth);

    char *ct_copy = fuzz_copy(ct), *auth_copy = fuzz_copy(auth), *body_copy = fuzz_copy(rest);
    masd_str content_type = no_content_type ? (masd_str){NULL, 0} : (masd_str){ct_copy, ct.len};
    check_body(content_type, (masd_str){rest.len || !null_body ? body_copy : NULL, rest.len}, empty_ok);
    check_bearer((masd_str){auth_copy, auth.len});
    free(ct_copy);
    free(auth_copy);
    free(body_copy);
    return 0;
}
