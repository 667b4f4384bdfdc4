/* Content negotiation for pre-compressed variants (what nginx's gzip_static/brotli_static give). */
#pragma once
#include "str.h"

enum {
    ENCODING_IDENTITY = 1u << 0,
    ENCODING_GZIP = 1u << 1,
    ENCODING_BR = 1u << 2,
};

/* Picks the encoding to send among `available` (a mask that always includes IDENTITY) given all
 * Accept-Encoding header values (n == 0: header absent). Honours q-values (q=0 forbids),
 * `*`, and case-insensitive tokens; prefers br over gzip over identity at equal q. Returns one
 * ENCODING_* bit, or 0 when nothing available is acceptable (identity;q=0 and no variant). */
unsigned accept_encoding_choose(const masd_str *values, size_t n, unsigned available);
