/* The request's Cookie header (RFC 6265 §4.2, §5.4): "name=value" pairs separated by ";" and
 * optional spaces. HTTP/2 may split it into several header fields (RFC 9113 §8.2.3), so the
 * request-level lookup reads them all. */
#pragma once
#include "str.h"
#include <stdbool.h>

/* The value of the cookie `name` in one Cookie header value, surrounding double quotes removed
 * (RFC 6265 §4.1.1 cookie-value). The first pair of that name wins: browsers send the cookie with
 * the longest path first (RFC 6265 §5.4 step 2). False when absent. Pairs without "=" are
 * skipped; nothing is decoded. */
bool cookie_header_find(masd_str header, const char *name, masd_str *value);

struct masd_request;
/* The same over every Cookie header field of the request. */
bool masd_req_cookie(const struct masd_request *req, const char *name, masd_str *value);
