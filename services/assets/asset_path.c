/* Request path → index key. The request path is decoded exactly once and never resolved against
 * the file system: a key is looked up in an in-memory index built from a walk of the asset tree,
 * so ".." and friends could only ever miss. They are refused anyway, so that no spelling of a
 * path other than the canonical one reaches the lookup (and the logs show why it was a 404). */
#include "asset_path.h"
#include <errno.h>
#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0. Overlong forms matter here: "%c0%ae" is the classic way to
 * spell '.' past a decoder that checks for '.' only. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

bool asset_path_segment_ok(const char *name, size_t len)
{
    const unsigned char *s = (const unsigned char *)name;

    if (len == 0 || len > ASSET_SEGMENT_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        /* '%' in a decoded name means the request was encoded twice (%252e): refuse rather
         * than guess which layer was meant. */
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%')
            return false;
        size_t n = utf8_sequence(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* Checks the segment that ends at out[end] (exclusive) and starts at out[start]. */
static int segment_check(const char *out, size_t start, size_t end, bool last)
{
    if (start == end)
        return last ? -EISDIR : -EINVAL;
    if (end - start > ASSET_SEGMENT_MAX)
        return -ENAMETOOLONG;
    return asset_path_segment_ok(out + start, end - start) ? 0 : -EINVAL;
}

int asset_path_key(masd_str rest, char out[ASSET_KEY_MAX + 1])
{
    size_t o = 0, seg = 0;
    int r;

    for (size_t i = 0; i < rest.len; i++) {
        char c = rest.ptr[i];
        if (c == '/') {
            r = segment_check(out, seg, o, false);
            if (r < 0)
                return r;
            seg = o + 1;
        } else if (c == '%') {
            int hi = i + 2 < rest.len ? masd_hexval(rest.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? masd_hexval(rest.ptr[i + 2]) : -1;
            if (lo < 0)
                return -EINVAL;
            /* A decoded '/' (%2f) or NUL stays inside its segment, where segment_check
             * refuses it: one checked segment never becomes two. */
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o == ASSET_KEY_MAX)
            return -ENAMETOOLONG;
        out[o++] = c;
    }
    r = segment_check(out, seg, o, true);
    if (r < 0)
        return r;
    out[o] = '\0';
    return (int)o;
}
