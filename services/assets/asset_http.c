/* Static-file HTTP semantics, done where h2o's file handler falls short (h2o 2.2.5, lib/handler/file.c):
 * If-None-Match lists, "*" and weak comparison, If-Range, a status-aware decision. */
#include "asset_http.h"
#include <errno.h>

/* HTTP-date ------------------------------------------------------------------------------------ */

static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};

/* Exactly n decimal digits (a leading space stands for a zero, for asctime's " 6"). */
static int digits(const char *p, size_t n, bool lead_space, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && lead_space && p[i] == ' ')
            continue;
        if (p[i] < '0' || p[i] > '9')
            return -EINVAL;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int month_parse(const char *p)
{
    for (int m = 0; m < 12; m++)
        if (strncasecmp(p, month_names[m], 3) == 0)
            return m + 1;
    return -EINVAL;
}

/* A day name, three letters when !full, else the whole name; only its spelling is checked. */
static bool day_name_ok(const char *p, size_t n, bool full)
{
    for (int d = 0; d < 7; d++) {
        size_t len = full ? strlen(day_names[d]) : 3;
        if (n == len && strncasecmp(p, day_names[d], len) == 0)
            return true;
    }
    return false;
}

static int hms_parse(const char *p, int *h, int *m, int *s)
{
    if (p[2] != ':' || p[5] != ':' || digits(p, 2, false, h) < 0 || digits(p + 3, 2, false, m) < 0 ||
        digits(p + 6, 2, false, s) < 0)
        return -EINVAL;
    /* 60: a leap second, which POSIX time folds into the next minute. */
    return *h <= 23 && *m <= 59 && *s <= 60 ? 0 : -EINVAL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int date_make(int y, int mon, int d, int h, int mi, int s, int64_t *out)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mon < 1 || d < 1 || d > mdays[mon - 1] || (mon == 2 && d == 29 && !leap))
        return -EINVAL;
    *out = days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

int http_date_parse(masd_str str, int64_t *out)
{
    str = masd_str_trim(str);
    const char *p = str.ptr;
    int y, mon, d, h, mi, s;

    if (str.len == 29 && p[3] == ',') { /* Sun, 06 Nov 1994 08:49:37 GMT */
        if (!day_name_ok(p, 3, false) || p[4] != ' ' || digits(p + 5, 2, false, &d) < 0 || p[7] != ' ' ||
            (mon = month_parse(p + 8)) < 0 || p[11] != ' ' || digits(p + 12, 4, false, &y) < 0 ||
            p[16] != ' ' || hms_parse(p + 17, &h, &mi, &s) < 0 || memcmp(p + 25, " GMT", 4) != 0)
            return -EINVAL;
    } else if (str.len == 24 && p[3] == ' ') { /* Sun Nov  6 08:49:37 1994 */
        if (!day_name_ok(p, 3, false) || (mon = month_parse(p + 4)) < 0 || p[7] != ' ' ||
            digits(p + 8, 2, true, &d) < 0 || p[10] != ' ' || hms_parse(p + 11, &h, &mi, &s) < 0 ||
            p[19] != ' ' || digits(p + 20, 4, false, &y) < 0)
            return -EINVAL;
    } else { /* Sunday, 06-Nov-94 08:49:37 GMT */
        const char *comma = str.len ? memchr(p, ',', str.len) : NULL;
        if (!comma || !day_name_ok(p, (size_t)(comma - p), true) || str.len - (size_t)(comma - p) != 24)
            return -EINVAL;
        const char *q = comma + 2;
        if (comma[1] != ' ' || digits(q, 2, false, &d) < 0 || q[2] != '-' || (mon = month_parse(q + 3)) < 0 ||
            q[6] != '-' || digits(q + 7, 2, false, &y) < 0 || q[9] != ' ' ||
            hms_parse(q + 10, &h, &mi, &s) < 0 || memcmp(q + 18, " GMT", 4) != 0)
            return -EINVAL;
        y += y < 70 ? 2000 : 1900;
    }
    return date_make(y, mon, d, h, mi, s, out);
}

static void put_digits(char *p, int n, int v)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
}

void http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1])
{
    static const char wday[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* from 1970-01-01 */
    const int64_t max = 253402300799; /* 9999-12-31T23:59:59Z */
    t = t < 0 ? 0 : t > max ? max : t;
    int64_t days = t / 86400, secs = t % 86400;

    /* H. Hinnant's civil_from_days, for days >= 0. */
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));

    /* By hand: every field's width is fixed, which snprintf's checker cannot see. */
    memcpy(out, wday[days % 7], 3);
    memcpy(out + 3, ", ", 2);
    put_digits(out + 5, 2, d);
    out[7] = ' ';
    memcpy(out + 8, month_names[m - 1], 3);
    out[11] = ' ';
    put_digits(out + 12, 4, y);
    out[16] = ' ';
    put_digits(out + 17, 2, (int)(secs / 3600));
    out[19] = ':';
    put_digits(out + 20, 2, (int)(secs / 60 % 60));
    out[22] = ':';
    put_digits(out + 23, 2, (int)(secs % 60));
    memcpy(out + 25, " GMT", 5);
}

/* Entity tags ---------------------------------------------------------------------------------- */

/* Takes one entity-tag ([W/] DQUOTE *etagc DQUOTE) off the front of *s. */
static int etag_take(masd_str *s, masd_str *tag, bool *weak)
{
    size_t i = 0;
    *weak = s->len >= 2 && s->ptr[0] == 'W' && s->ptr[1] == '/';
    if (*weak)
        i = 2;
    if (i >= s->len || s->ptr[i] != '"')
        return -EINVAL;
    size_t start = i++;
    for (; i < s->len && s->ptr[i] != '"'; i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        if (c < 0x21 || c == 0x7f)
            return -EINVAL;
    }
    if (i >= s->len)
        return -EINVAL;
    *tag = (masd_str){s->ptr + start, i + 1 - start};
    s->ptr += i + 1;
    s->len -= i + 1;
    return 0;
}

int etag_list_match(masd_str line, masd_str etag, bool strong)
{
    masd_str s = masd_str_trim(line), tag;
    bool weak, any = false, match = false;

    if (s.len == 1 && s.ptr[0] == '*')
        return 1;
    for (;;) {
        /* A list may hold empty elements (RFC 9110 §5.6.1.2): skip commas and whitespace. */
        while (s.len > 0 && (s.ptr[0] == ',' || s.ptr[0] == ' ' || s.ptr[0] == '\t'))
            s.ptr++, s.len--;
        if (s.len == 0)
            break;
        if (etag_take(&s, &tag, &weak) < 0)
            return -EINVAL;
        /* What follows a tag must be a separator. */
        if (s.len > 0 && s.ptr[0] != ',' && s.ptr[0] != ' ' && s.ptr[0] != '\t')
            return -EINVAL;
        any = true;
        if (masd_str_eq(tag, etag) && !(strong && weak))
            match = true;
    }
    if (!any)
        return -EINVAL;
    return match;
}

/* Byte ranges ---------------------------------------------------------------------------------- */

static bool u64_parse(masd_str s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        unsigned dgt = (unsigned)(s.ptr[i] - '0');
        v = v > (UINT64_MAX - dgt) / 10 ? UINT64_MAX : v * 10 + dgt;
    }
    *out = v;
    return true;
}

enum asset_range_kind asset_range_parse(masd_str value, uint64_t size, uint64_t *first, uint64_t *last)
{
    masd_str v = masd_str_trim(value), set, part, spec = {NULL, 0};
    const char *eq = v.len ? memchr(v.ptr, '=', v.len) : NULL;
    size_t n = 0;

    if (!eq || !masd_str_caseeq((masd_str){v.ptr, (size_t)(eq - v.ptr)}, MASD_STR("bytes")))
        return ASSET_RANGE_NONE;
    set = (masd_str){eq + 1, v.len - (size_t)(eq + 1 - v.ptr)};
    while (masd_str_next(&set, ',', &part)) {
        part = masd_str_trim(part);
        if (part.len == 0)
            continue;
        if (++n > 1)
            return ASSET_RANGE_NONE; /* several ranges: the whole file, see the header */
        spec = part;
    }
    const char *dash = n ? memchr(spec.ptr, '-', spec.len) : NULL;
    if (!dash)
        return ASSET_RANGE_NONE;
    masd_str a = {spec.ptr, (size_t)(dash - spec.ptr)};
    masd_str b = {dash + 1, spec.len - a.len - 1};
    uint64_t x, y;

    if (a.len == 0) { /* suffix: the last y bytes */
        if (!u64_parse(b, &y))
            return ASSET_RANGE_NONE;
        if (y == 0 || size == 0)
            return ASSET_RANGE_UNSATISFIABLE;
        *first = y >= size ? 0 : size - y;
        *last = size - 1;
        return ASSET_RANGE_PARTIAL;
    }
    if (!u64_parse(a, &x) || (b.len > 0 && !u64_parse(b, &y)) || (b.len > 0 && y < x))
        return ASSET_RANGE_NONE;
    if (x >= size)
        return ASSET_RANGE_UNSATISFIABLE;
    *first = x;
    *last = b.len == 0 || y >= size ? size - 1 : y;
    return ASSET_RANGE_PARTIAL;
}

/* Content types -------------------------------------------------------------------------------- */

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {"js", "text/javascript; charset=utf-8"}, /* RFC 9239 */
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"json", "application/json"}, /* RFC 8259: JSON is UTF-8 and has no charset parameter */
    {"map", "application/json"},  /* source maps */
    {"webmanifest", "application/manifest+json"},
    {"xml", "application/xml"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"gz", "application/gzip"},
    {"br", "application/octet-stream"}, /* brotli has no registered media type */
};

const char *asset_content_type(const char *name, size_t len)
{
    size_t i = len;
    while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
        i--;
    if (i > 0 && name[i - 1] == '.') {
        masd_str ext = {name + i, len - i};
        for (size_t t = 0; t < sizeof(content_types) / sizeof(content_types[0]); t++)
            if (masd_str_caseeq(ext, masd_str_from(content_types[t].ext)))
                return content_types[t].type;
    }
    return "application/octet-stream";
}

/* The decision --------------------------------------------------------------------------------- */

/* 1 when some line of an entity-tag list field matches, 0 when none does, -EINVAL when the field
 * cannot be evaluated (a malformed line, or more lines than were kept). */
static int field_match(const struct asset_field *f, masd_str etag, bool strong)
{
    int match = 0;
    if (f->n > ASSET_FIELD_LINES)
        return -EINVAL;
    for (size_t i = 0; i < f->n; i++) {
        int r = etag_list_match(f->line[i], etag, strong);
        if (r < 0)
            return r;
        match |= r;
    }
    return match;
}

/* A date field counts only as a single valid HTTP-date; otherwise it is ignored (RFC 9110
 * §13.1.3, §13.1.4). */
static bool field_date(const struct asset_field *f, int64_t *t)
{
    return f->n == 1 && http_date_parse(f->line[0], t) == 0;
}

/* If-Range (RFC 9110 §13.1.5): the range applies only if the client's copy is this exact
 * representation, by strong comparison. A weak tag, a list, several lines, or a date that is not
 * exactly a strong Last-Modified all mean "send the whole thing": resuming a changed file with
 * the wrong bytes is the failure this header exists to prevent. */
static bool if_range_holds(const struct asset_field *f, const struct asset_validators *v, int64_t now)
{
    if (f->n != 1)
        return false;
    masd_str s = masd_str_trim(f->line[0]), tag;
    bool weak;
    int64_t t;

    /* Not just 'W': "Wed, 09 Nov 1994 ..." is a date. */
    if (s.len > 0 && (s.ptr[0] == '"' || (s.len > 1 && s.ptr[0] == 'W' && s.ptr[1] == '/')))
        return etag_take(&s, &tag, &weak) == 0 && s.len == 0 && !weak && masd_str_eq(tag, v->etag);
    return http_date_parse(s, &t) == 0 && t == v->mtime && v->mtime < now;
}

/* RFC 9110 §13.2.2 steps 1-4: 412, 304, or 0 to go on. */
static int conditional_status(const struct asset_request *rq, const struct asset_validators *v)
{
    int64_t t;

    if (rq->if_match.n > 0) {
        if (field_match(&rq->if_match, v->etag, true) != 1)
            return 412;
    } else if (field_date(&rq->if_unmodified_since, &t) && v->mtime > t)
        return 412;

    /* If-Modified-Since only without If-None-Match: a list of tags is the better validator. */
    if (rq->if_none_match.n > 0) {
        if (field_match(&rq->if_none_match, v->etag, false) == 1)
            return 304;
    } else if (field_date(&rq->if_modified_since, &t) && v->mtime <= t)
        return 304;
    return 0;
}

void asset_decide(const struct asset_request *rq, const struct asset_validators *v, struct asset_outcome *out)
{
    out->status = conditional_status(rq, v);
    out->first = 0;
    out->last = v->size ? v->size - 1 : 0;
    if (out->status != 0)
        return;
    out->status = 200;

    /* Range is defined for GET only; one Range line only (several cannot be combined). */
    if (!rq->get || rq->range.n != 1)
        return;
    if (rq->if_range.n > 0 && !if_range_holds(&rq->if_range, v, rq->now))
        return;
    switch (asset_range_parse(rq->range.line[0], v->size, &out->first, &out->last)) {
    case ASSET_RANGE_NONE:
        break;
    case ASSET_RANGE_PARTIAL:
        out->status = 206;
        break;
    case ASSET_RANGE_UNSATISFIABLE:
        out->status = 416;
        break;
    }
}
