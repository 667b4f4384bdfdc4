/* Fuzzes the PROXY protocol parser and checks the invariants the connection code relies on:
 * a verdict never depends on bytes past the header, a complete header is never shorter than what
 * was returned, "need more" only below the bound, and a prefix of a valid header never fails. */
#include "proxy_protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than assert(): an invariant must hold in every build type. */
static void require(bool ok)
{
    if (!ok)
        abort();
}

/* Parses an exact-size heap copy of data[0..len), so ASan sees any read past len. */
static ssize_t parse_copy(const uint8_t *data, size_t len, struct proxy_header *h)
{
    uint8_t *copy = malloc(len ? len : 1);
    require(copy);
    if (len)
        memcpy(copy, data, len);
    ssize_t r = proxy_protocol_parse(copy, len, h);
    free(copy);
    return r;
}

static bool same_header(const struct proxy_header *a, const struct proxy_header *b)
{
    return a->version == b->version && a->has_source == b->has_source && a->source_port == b->source_port &&
           a->source.family == b->source.family && memcmp(a->source.bytes, b->source.bytes, 16) == 0;
}

static void check_prefix_needs_more(const uint8_t *data, size_t len)
{
    struct proxy_header h;
    require(parse_copy(data, len, &h) == 0);
    require(!h.has_source);
}

static void check_success(const uint8_t *data, size_t size, size_t r, const struct proxy_header *h)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct proxy_header again;

    require(r <= size);
    require(h->version == 1 || h->version == 2);
    if (h->version == 1)
        require(r <= PROXY_V1_MAX && r >= 15 && data[r - 2] == '\r' && data[r - 1] == '\n');
    else
        require(r <= PROXY_V2_MAX && r >= 16);
    if (h->has_source) {
        require(h->source.family == AF_INET || h->source.family == AF_INET6);
        require(h->source.family == AF_INET || memcmp(h->source.bytes, mapped, 12) != 0);
    }

    /* The header alone gives the same answer: trailing bytes play no part. */
    require(parse_copy(data, r, &again) == (ssize_t)r && same_header(h, &again));

    /* Every strict prefix asks for more. All of them for short headers; for long v2 headers the
     * fixed part, the edges and a few points in between. */
    if (r <= 512) {
        for (size_t i = 0; i < r; i++)
            check_prefix_needs_more(data, i);
    } else {
        for (size_t i = 0; i < 32; i++)
            check_prefix_needs_more(data, i);
        for (size_t i = r - 32; i < r; i++)
            check_prefix_needs_more(data, i);
        for (size_t i = 1; i < 8; i++)
            check_prefix_needs_more(data, r * i / 8);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxy_header h;
    ssize_t r = proxy_protocol_parse(data, size, &h);

    if (r < 0) {
        require(r == -EBADMSG);
        require(!h.has_source);
    } else if (r == 0) {
        /* Waiting is allowed only below the bound of the version seen so far. */
        require(!h.has_source);
        require(size == 0 || size < (data[0] == 'P' ? PROXY_V1_MAX : PROXY_V2_MAX));
    } else {
        check_success(data, size, (size_t)r, &h);
    }
    return 0;
}
