/* The URL helpers of the homeserver client (homeserver.h): RFC 3986 resolution of an API path
 * against matrix.endpoint, as MAS's Url::join, and MAS's query-string encoding. */
#include "homeserver.h"
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* A byte that may appear in a URI as written (RFC 3986 §2; the WHATWG parser would
 * percent-encode the others, we refuse them: the endpoint comes from the configuration). */
static bool url_byte_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}", c);
}

/* The length of "http://" or "https://" (any case) at the start of s, else 0. */
static size_t url_scheme_len(const char *s)
{
    if (strncasecmp(s, "http://", 7) == 0)
        return 7;
    if (strncasecmp(s, "https://", 8) == 0)
        return 8;
    return 0;
}

/* [userinfo@]host[:port], host a non-empty reg-name or a bracketed IP literal. */
static bool authority_valid(const char *a, size_t len)
{
    const char *at = memrchr(a, '@', len);
    if (at)
        len -= (size_t)(at + 1 - a), a = at + 1;
    size_t i = 0;
    if (len > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (!close || close == a + 1)
            return false;
        for (const char *p = a + 1; p < close; p++)
            if (!is_alnum((unsigned char)*p) && *p != ':' && *p != '.' && *p != '%')
                return false;
        i = (size_t)(close + 1 - a);
    } else {
        for (; i < len && a[i] != ':'; i++)
            if (a[i] == '[' || a[i] == ']')
                return false;
        if (i == 0)
            return false;
    }
    if (i == len)
        return true;
    if (a[i] != ':')
        return false;
    unsigned long port = 0;
    for (i++; i < len; i++) {
        if (!is_digit((unsigned char)a[i]) || (port = port * 10 + (unsigned)(a[i] - '0')) > 65535)
            return false;
    }
    return true;
}

/* RFC 3986 §5.2.4 on a path that starts and ends with '/', in place; returns the new length. */
static size_t remove_dot_segments(char *p, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        size_t end = in + 1;
        while (end < len && p[end] != '/')
            end++;
        size_t seg = end - in - 1;
        if (seg == 1 && p[in + 1] == '.') {
            /* "." : dropped */
        } else if (seg == 2 && p[in + 1] == '.' && p[in + 2] == '.') {
            if (out > 0)
                do
                    out--;
                while (p[out] != '/');
        } else {
            memmove(p + out, p + in, end - in);
            out += end - in;
        }
        in = end;
    }
    if (out == 0 || p[out - 1] != '/')
        p[out++] = '/';
    return out;
}

int homeserver_url_join(const char *endpoint, const char *rel, char *out, size_t size)
{
    size_t sl = url_scheme_len(endpoint);
    if (sl == 0 || rel[0] == '/')
        return -EINVAL;
    for (const char *p = endpoint; *p; p++)
        if (!url_byte_ok((unsigned char)*p))
            return -EINVAL;
    const char *auth = endpoint + sl;
    size_t alen = strcspn(auth, "/?#");
    if (!authority_valid(auth, alen))
        return -EINVAL;
    /* The base's directory: its path up to the last '/', or "/" for an empty path. */
    const char *path = auth + alen;
    size_t plen = strcspn(path, "?#"), dir = plen;
    while (dir > 0 && path[dir - 1] != '/')
        dir--;
    size_t rlen = strlen(rel), need = sl + alen + (dir ? dir : 1) + rlen + 1;
    if (need > size)
        return -ENOSPC;
    size_t n = 0;
    for (size_t i = 0; i < sl; i++)
        out[n++] = (char)(endpoint[i] >= 'A' && endpoint[i] <= 'Z' ? endpoint[i] + 32 : endpoint[i]);
    memcpy(out + n, auth, alen);
    n += alen;
    if (dir) {
        memcpy(out + n, path, dir);
        n += remove_dot_segments(out + n, dir);
    } else {
        out[n++] = '/';
    }
    memcpy(out + n, rel, rlen + 1);
    return (int)(n + rlen);
}

int homeserver_url_encode(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool keep = is_alnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (n + (keep ? 1 : 3) >= size)
            return -ENOSPC;
        if (keep) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (n >= size)
        return -ENOSPC;
    out[n] = '\0';
    return (int)n;
}
