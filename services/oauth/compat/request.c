/* Request plumbing shared by the compat handlers. Everything copied out of the request here is
 * request memory: a deferred job gets its own copies, never pointers into h2o's buffers. */
#include "compat/matrix_error.h"
#include "compat/compat.h"
#include "oauth.h"
#include <string.h>
#include <unistr.h>

int compat_request_json(struct masd_request *r, bool empty_ok, json_t **doc)
{
    int cursor = -1;
    struct compat_error err;
    masd_str ct = masd_req_header(r, "content-type", &cursor);
    int rc = compat_json_body(ct, r->body, empty_ok, doc, &err);
    if (rc < 0)
        matrix_error(r, err.status, err.errcode, err.error);
    return rc;
}

static char *copy(struct masd_request *r, masd_str s)
{
    char *out = masd_req_alloc(r, s.len + 1);
    if (out) {
        memcpy(out, s.ptr, s.len);
        out[s.len] = '\0';
    }
    return out;
}

char *compat_request_bearer(struct masd_request *r)
{
    int cursor = -1;
    masd_str h = masd_req_header(r, "authorization", &cursor), token;
    if (!h.ptr || !compat_bearer_token(h, &token)) {
        matrix_error(r, 401, "M_MISSING_TOKEN", "Missing access token");
        return NULL;
    }
    char *out = copy(r, token);
    if (!out)
        matrix_error_internal(r);
    return out;
}

char *compat_request_header(struct masd_request *r, const char *name, size_t max)
{
    int cursor = -1;
    masd_str h = masd_req_header(r, name, &cursor);
    if (!h.ptr)
        return NULL;
    if (h.len > max) {
        h.len = max;
        while (h.len > 0 && ((unsigned char)h.ptr[h.len] & 0xC0) == 0x80)
            h.len--; /* do not cut a UTF-8 sequence in two */
    }
    char *out = copy(r, h);
    /* storage refuses NUL and invalid UTF-8; a header with either is dropped, not fatal */
    if (out && (strlen(out) != h.len || u8_check((const uint8_t *)out, h.len)))
        return NULL;
    return out;
}
