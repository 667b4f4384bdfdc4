/* Matrix JSON responses. Errors must be JSON with Content-Type application/json, or clients such
 * as matrix-js-sdk see an HTTPError without errcode (its MatrixError needs the errcode). */
#include "compat/matrix_error.h"
#include "client/auth.h"
#include "log.h"
#include "oauth.h"
#include <stdlib.h>

static void free_body(void *p)
{
    free(p);
}

/* Every compat answer carries tokens or judges them: none may be stored by a cache
 * (RFC 6749 §5.1 for the tokens of /login and /refresh; RFC 9111 §5.2.2.5). A 401 carries the
 * challenge of the C-S API's scheme, Bearer (RFC 6750 §3; RFC 9110 §15.5.2), with
 * error="invalid_token" when a token was presented and refused; without one when none was
 * (RFC 6750 §3.1) or when the refusal is not about a token (M_USER_LOCKED at /login). */
static void respond(struct masd_request *r, int status, json_t *doc, const char *challenge_error)
{
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    oauth_no_store(r);
    if (!body) { /* out of memory, or a string that is not UTF-8: never send half a document */
        static const char fallback[] = "{\"errcode\":\"M_UNKNOWN\",\"error\":\"Internal server error\"}";
        masd_respond(r, 500, "application/json", MASD_STR(fallback));
        return;
    }
    masd_req_on_dispose(r, free_body, body);
    if (status == 401)
        oauth_challenge(r, "Bearer", challenge_error);
    masd_respond(r, status, "application/json", masd_str_from(body));
}

void matrix_respond_json(struct masd_request *r, int status, json_t *doc)
{
    respond(r, status, doc, NULL);
}

void matrix_error(struct masd_request *r, int status, const char *errcode, const char *error)
{
    matrix_respond_json(r, status, json_pack("{s:s, s:s}", "errcode", errcode, "error", error));
}

void matrix_error_unknown_token(struct masd_request *r, const char *error)
{
    respond(r, 401,
            json_pack("{s:s, s:s, s:b}", "errcode", "M_UNKNOWN_TOKEN", "error", error, "soft_logout", 0),
            "invalid_token");
}

void matrix_error_limited(struct masd_request *r, const char *error, long long retry_after_ms)
{
    char value[24];
    snprintf(value, sizeof(value), "%lld", (retry_after_ms + 999) / 1000);
    masd_add_header(r, "retry-after", masd_str_from(value));
    matrix_respond_json(r, 429,
                        json_pack("{s:s, s:s, s:I}", "errcode", "M_LIMIT_EXCEEDED", "error", error,
                                  "retry_after_ms", (json_int_t)retry_after_ms));
}

void matrix_error_internal(struct masd_request *r)
{
    matrix_error(r, 500, "M_UNKNOWN", "Internal server error");
}
