/* The HTTP semantics of serving a static file (RFC 9110 §8.8, §13, §14): HTTP-dates, entity-tag
 * lists, byte ranges, and which status a request gets. Pure functions over header values, so they
 * are unit-tested and fuzzed without a server. */
#pragma once
#include "str.h"
#include <stdbool.h>
#include <stdint.h>

/* HTTP-date ------------------------------------------------------------------------------------ */

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Parses an IMF-fixdate, or the obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime
 * ("Sun Nov  6 08:49:37 1994") forms, surrounding whitespace allowed, into seconds since the
 * epoch. RFC 850 two-digit years 70–99 are 19xx, 00–69 are 20xx. Returns 0 or -EINVAL. */
int http_date_parse(masd_str s, int64_t *out);

/* Formats t as an IMF-fixdate; t is clamped to years 1970..9999. */
void http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1]);

/* Entity tags ---------------------------------------------------------------------------------- */

/* Whether `etag` (a strong tag, quotes included: "\"5f3-1a\"") matches one field line of
 * If-None-Match (weak comparison: W/ ignored on both sides) or If-Match (strong comparison: a
 * W/ tag never matches). "*" matches. Returns 1, 0, or -EINVAL for a line that is not
 * "*" or a list of entity-tags. */
int etag_list_match(masd_str line, masd_str etag, bool strong);

/* Byte ranges ---------------------------------------------------------------------------------- */

enum asset_range_kind {
    ASSET_RANGE_NONE,          /* no usable Range: send the whole representation */
    ASSET_RANGE_PARTIAL,       /* one satisfiable range: [*first, *last] */
    ASSET_RANGE_UNSATISFIABLE, /* 416 */
};

/* Parses a Range value ("bytes=0-99", "bytes=500-", "bytes=-10") against a representation of
 * `size` bytes. Malformed values, units other than bytes, and lists of several ranges give
 * ASSET_RANGE_NONE: RFC 9110 §14.2 lets a server ignore Range, and serving several ranges as
 * multipart/byteranges buys nothing for static assets. Positions beyond 2^64-1 saturate. */
enum asset_range_kind asset_range_parse(masd_str value, uint64_t size, uint64_t *first, uint64_t *last);

/* Content types -------------------------------------------------------------------------------- */

/* The Content-Type for a file name, by extension, case-insensitively; text types carry
 * "; charset=utf-8". Unknown extensions get application/octet-stream. */
const char *asset_content_type(const char *name, size_t len);

/* The decision --------------------------------------------------------------------------------- */

#define ASSET_FIELD_LINES 8

/* All field lines of one request header. n counts every line, also those beyond
 * ASSET_FIELD_LINES that were not kept; each use of a field says what it does then. */
struct asset_field {
    masd_str line[ASSET_FIELD_LINES];
    size_t n;
};

struct asset_request {
    bool get;    /* GET; false for HEAD (Range applies to GET only) */
    int64_t now; /* seconds since the epoch: a Last-Modified is a strong validator only when it
                    lies at least a second in the past (RFC 9110 §8.8.2.2) */
    struct asset_field if_match, if_none_match, if_modified_since, if_unmodified_since;
    struct asset_field range, if_range;
};

/* The validators of the variant that would be sent. */
struct asset_validators {
    masd_str etag; /* strong, quoted */
    int64_t mtime;
    uint64_t size;
};

struct asset_outcome {
    int status;           /* 200, 206, 304, 412 or 416 */
    uint64_t first, last; /* 206: the byte range sent */
};

/* RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since (412); If-None-Match, else
 * If-Modified-Since (304); then Range under If-Range (206/416), else 200. */
void asset_decide(const struct asset_request *rq, const struct asset_validators *v,
                  struct asset_outcome *out);
