/* Strict framing of HTTP/1 request heads (RFC 9112), on top of h2o 2.2.5's lenient parser.
 *
 * h2o's parser (picohttpparser) takes a bare LF as a line end, uses the first of several
 * Content-Length headers, lets Transfer-Encoding win over Content-Length, and its chunk decoder
 * reads a chunk size like "0x1" as 0 followed by an extension. A proxy in front that frames the
 * same bytes another way could then smuggle a request past its own rules (RFC 9112 §11.2). The
 * request front end (server_request.c) runs this check on every HTTP/1 request before a handler
 * sees it, while the head is still the first bytes of the connection's buffer and nothing after
 * it has been read as a request; a refused request is answered and its connection closed, so the
 * bytes a lenient reading left over are never parsed. See docs/architecture.md.
 *
 * Transfer-Encoding is refused outright (411, RFC 9112 §6.3 lets a server insist on a
 * Content-Length): h2o decodes chunked bodies in place, so their chunk lines cannot be checked
 * afterwards, and no client of masd needs them (HTTP/2 has no chunking, nginx sends
 * Content-Length to its upstreams). */
#include "http1_head.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* tchar of RFC 9110 §5.6.2, as a bitmap of the ASCII range */
static const unsigned long long tchar_lo = /* 0x00-0x3f: ! # $ % & ' * + - . 0-9 */
    (1ULL << '!') | (1ULL << '#') | (1ULL << '$') | (1ULL << '%') | (1ULL << '&') | (1ULL << '\'') |
    (1ULL << '*') | (1ULL << '+') | (1ULL << '-') | (1ULL << '.') | (0x3ffULL << '0');
static const unsigned long long tchar_hi = /* 0x40-0x7f: A-Z ^ _ ` a-z | ~ */
    (0x3ffffffULL << ('A' - 64)) | (1ULL << ('^' - 64)) | (1ULL << ('_' - 64)) | (1ULL << ('`' - 64)) |
    (0x3ffffffULL << ('a' - 64)) | (1ULL << ('|' - 64)) | (1ULL << ('~' - 64));

static bool is_tchar(unsigned char c)
{
    return c < 64 ? (tchar_lo >> c) & 1 : c < 128 && ((tchar_hi >> (c - 64)) & 1);
}

static bool name_is(const char *name, size_t n, const char *want, size_t wn)
{
    return n == wn && strncasecmp(name, want, n) == 0;
}

enum http1_head_verdict http1_head_check(const char *buf, size_t len, size_t *head_len)
{
    size_t pos = 0, n_length = 0;
    bool chunked = false, first = true;

    while (len - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2;
    for (;;) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        if (!lf)
            return HTTP1_HEAD_BAD; /* no end of the head within what was read */
        size_t end = (size_t)(lf - buf);
        if (end == pos || buf[end - 1] != '\r')
            return HTTP1_HEAD_BAD; /* a bare LF */
        const char *line = buf + pos;
        size_t line_len = end - 1 - pos;
        pos = end + 1;
        if (memchr(line, '\r', line_len))
            return HTTP1_HEAD_BAD; /* a CR inside a line */
        if (line_len == 0) {
            if (first)
                return HTTP1_HEAD_BAD;
            break;
        }
        if (first) {
            first = false; /* the request line: h2o has parsed it */
            continue;
        }
        /* The name: tokens up to the colon. This also refuses obs-fold (a line that starts with
         * SP or HTAB, RFC 9112 §5.2) and "Content-Length :" (§5.1). */
        size_t name_len = 0;
        while (name_len < line_len && is_tchar((unsigned char)line[name_len]))
            name_len++;
        if (name_len == 0 || name_len == line_len || line[name_len] != ':')
            return HTTP1_HEAD_BAD;
        if (name_is(line, name_len, "content-length", 14))
            n_length++;
        else if (name_is(line, name_len, "transfer-encoding", 17))
            chunked = true;
    }
    if (n_length > 1 || (n_length == 1 && chunked))
        return HTTP1_HEAD_BAD; /* RFC 9112 §6.1, §6.3: either may be what a proxy read */
    if (chunked)
        return HTTP1_HEAD_LENGTH_REQUIRED;
    if (head_len)
        *head_len = pos;
    return HTTP1_HEAD_OK;
}
