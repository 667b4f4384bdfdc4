/* Strict framing checks of an HTTP/1 request head, over the raw bytes (no I/O). */
#pragma once
#include <stddef.h>

enum http1_head_verdict {
    HTTP1_HEAD_OK,
    HTTP1_HEAD_BAD,             /* 400: framing a server or a proxy may read another way */
    HTTP1_HEAD_LENGTH_REQUIRED, /* 411: a Transfer-Encoding; send the body with a Content-Length */
};

/* Checks the request head at the start of buf[0..len): leading empty lines (CRLF) skipped, then
 * the request line and header lines up to the empty line. BAD when a line ends in a bare LF or
 * holds a CR elsewhere, a header line folds (starts with SP or HTAB), a header name is empty or
 * not a token (RFC 9110 §5.1), Content-Length appears more than once or together with
 * Transfer-Encoding, or the head does not end within buf; LENGTH_REQUIRED when Transfer-Encoding
 * appears alone.
 * *head_len (may be NULL) gets the length of what was examined on OK. */
enum http1_head_verdict http1_head_check(const char *buf, size_t len, size_t *head_len);
