/* A stand-in for a request's headers, for the programs linked with -Wl,--wrap=masd_req_header
 * (test_client_auth, fuzz_client_credentials): the header lookups of the code under test land in
 * __wrap_masd_req_header below, which answers the one Authorization value set here. Include it
 * in one file of the program. */
#pragma once
#include "server.h"
#include <string.h>

static masd_str request_authorization; /* {NULL, 0}: the request has no Authorization header */
/* the request's Content-Type ({NULL, 0}: none); a form unless a test says otherwise */
static masd_str request_content_type = {"application/x-www-form-urlencoded", 33};

masd_str __wrap_masd_req_header(const struct masd_request *req, const char *name, int *cursor);
masd_str __wrap_masd_req_header(const struct masd_request *req, const char *name, int *cursor)
{
    (void)req;
    if (*cursor == -1 && request_authorization.ptr && strcmp(name, "authorization") == 0) {
        *cursor = 0;
        return request_authorization;
    }
    if (*cursor == -1 && request_content_type.ptr && strcmp(name, "content-type") == 0) {
        *cursor = 0;
        return request_content_type;
    }
    *cursor = -1;
    return (masd_str){NULL, 0};
}
