/* Fuzzes what masd-assets reads from a request: the path below /assets/, Range, entity-tag lists,
 * HTTP-dates, and the whole status decision. Besides crashes, it checks the promises the handler
 * relies on: a key never steps outside the tree, a range never leaves the file. */
#include "asset_http.h"
#include "asset_path.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                                        \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            abort();                                                                                         \
    } while (0)

static void path_key(masd_str in)
{
    char key[ASSET_KEY_MAX + 1];
    int r = asset_path_key(in, key);
    REQUIRE(r == -EINVAL || r == -EISDIR || r == -ENAMETOOLONG || (r >= 0 && r <= ASSET_KEY_MAX));
    if (r < 0)
        return;
    REQUIRE(strlen(key) == (size_t)r); /* no NUL inside */
    for (char *seg = key, *end;; seg = end + 1) {
        end = strchrnul(seg, '/');
        REQUIRE(asset_path_segment_ok(seg, (size_t)(end - seg))); /* no "", ".", "..", dotfile */
        if (*end == '\0')
            break;
    }
}

static void ranges(masd_str in)
{
    static const uint64_t sizes[] = {0, 1, 2, 100, 1188, UINT64_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t first = 7, last = 7;
        enum asset_range_kind k = asset_range_parse(in, sizes[i], &first, &last);
        if (k == ASSET_RANGE_PARTIAL)
            REQUIRE(first <= last && last < sizes[i]);
    }
}

static void etags(masd_str in)
{
    static const masd_str tag = {"\"6b09687a-4a4\"", 14};
    int weak = etag_list_match(in, tag, false), strong = etag_list_match(in, tag, true);
    REQUIRE(weak >= -EINVAL && weak <= 1 && (weak == -EINVAL) == (strong == -EINVAL));
    REQUIRE(strong != 1 || weak == 1); /* a strong match is also a weak one */
}

static void dates(masd_str in)
{
    int64_t t, back;
    char buf[HTTP_DATE_LEN + 1];
    if (http_date_parse(in, &t) < 0 || t < 0 || t > 253402300799)
        return;
    http_date_format(t, buf);
    REQUIRE(strlen(buf) == HTTP_DATE_LEN);
    REQUIRE(http_date_parse(masd_str_from(buf), &back) == 0 && back == t);
}

/* Lines of the input become If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since,
 * Range and If-Range, in turn; an empty line leaves a field out. */
static void decision(masd_str in)
{
    struct asset_request rq = {.get = in.len % 2 == 0, .now = 1700000000};
    struct asset_field *fields[] = {
        &rq.if_match, &rq.if_none_match, &rq.if_modified_since, &rq.if_unmodified_since,
        &rq.range,    &rq.if_range};
    masd_str rest = in, line;
    for (size_t i = 0; masd_str_next(&rest, '\n', &line); i++) {
        struct asset_field *f = fields[i % 6];
        if (line.len > 0 && f->n < ASSET_FIELD_LINES)
            f->line[f->n++] = line;
    }
    static const struct asset_validators v = {{"\"6b09687a-4a4\"", 14}, 0x6b09687a, 1188};
    struct asset_outcome o;
    asset_decide(&rq, &v, &o);
    REQUIRE(o.status == 200 || o.status == 206 || o.status == 304 || o.status == 412 || o.status == 416);
    REQUIRE(o.first <= o.last && o.last < v.size);
    REQUIRE(o.status != 206 || rq.get);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    masd_str in = {(const char *)data, size};
    path_key(in);
    ranges(in);
    etags(in);
    dates(in);
    decision(in);
    (void)asset_content_type(in.ptr, in.len);
    return 0;
}
