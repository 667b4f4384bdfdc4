/* Outbound HTTP of the relying party (upstream_rp_http.c): one libcurl handle per thread, the
 * timeouts of the upstream_rp, bodies bounded by UPSTREAM_RP_RESPONSE_MAX, no redirects. */
#pragma once
#include "upstream_rp_internal.h"

struct rp_request {
    const char *what;          /* for messages: "the token endpoint", "discovery"… */
    const char *url;           /* http or https only */
    const char *form;          /* a POST body (application/x-www-form-urlencoded); NULL: GET */
    const char *accept;        /* the Accept header's value */
    const char *authorization; /* a whole Authorization header value, or NULL */
};

struct rp_response {
    long status;
    char *body; /* malloc'd, NUL-terminated */
    size_t len;
    char content_type[64]; /* the media type's essence, lower case ("" when none) */
};
void rp_response_clear(struct rp_response *res);

/* Sends req and reads the whole answer. 0 when an answer came (whatever its status); -1 with err
 * UNREACHABLE (no answer, a timeout) or BAD_ANSWER (too large, not HTTP). */
int rp_http(long timeout_ms, long connect_timeout_ms, const struct rp_request *req, struct rp_response *res,
            struct upstream_rp_error *err);

/* application/x-www-form-urlencoded encoding of s appended to *buf (malloc'd, grown); name=value
 * pairs are joined with '&'. Return 0 or -ENOMEM. */
int rp_form_add(char **buf, const char *name, const char *value);
char *rp_form_encode(const char *s);
