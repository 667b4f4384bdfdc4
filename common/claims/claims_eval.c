/* Claims templates, the evaluator (claims_template.h): a compiled template over JSON variables,
 * with MiniJinja's lenient undefined (a missing key is undefined and prints nothing; looking
 * inside an undefined value is an error) and the filters of MAS's claims environment (MAS:
 * crates/handlers/src/upstream_oauth2/template.rs; docs/claims-templates.md lists them).
 *
 * Where masd differs from MAS: JSON null prints as the empty string, not "none", so a `require`
 * import of a null claim fails instead of importing the word; `default` replaces null as it
 * replaces undefined (MAS: crates/handlers/src/upstream_oauth2/template.rs renders null as
 * "none", a weakness of MAS's). Every value a template makes is bounded
 * (CLAIMS_TEMPLATE_MAX_VALUE) and so is the output. */
#include "base64.h"
#include "claims_internal.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

enum cv_kind { CV_UNDEF, CV_JSON, CV_BYTES, CV_TLV };

/* A value: JSON (owned reference), raw bytes (b64decode's result) or a TLV map (tlvdecode's:
 * an object from decimal tag to a string of raw bytes), or undefined. */
struct cv {
    enum cv_kind kind;
    json_t *j;
    unsigned char *b;
    size_t n;
};

struct buf {
    char *p;
    size_t len, cap, max;
};

struct ev {
    const struct claims_template *t;
    const json_t *vars;
    struct {
        const char *name;
        struct cv v;
    } sets[CLAIMS_TEMPLATE_MAX_SETS];
    size_t n_sets;
    char *err;
    size_t err_size;
    bool failed;
};

static int ev_fail(struct ev *e, int r, const struct cnode *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ev_fail(struct ev *e, int r, const struct cnode *at, const char *fmt, ...)
{
    if (e->failed)
        return r;
    e->failed = true;
    unsigned line = 1, col = 1;
    for (size_t i = 0; at && i < at->at && i < e->t->len; i++) {
        if (e->t->src[i] == '\n')
            line++, col = 1;
        else if (((unsigned char)e->t->src[i] & 0xC0) != 0x80)
            col++;
    }
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (e->err_size)
        snprintf(e->err, e->err_size, "line %u, column %u: %s", line, col, msg);
    return r;
}

static void cv_clear(struct cv *v)
{
    json_decref(v->j);
    free(v->b);
    memset(v, 0, sizeof(*v));
}

static struct cv cv_json(json_t *j) /* takes the reference */
{
    return (struct cv){.kind = CV_JSON, .j = j};
}

static int cv_copy(const struct cv *in, struct cv *out)
{
    *out = (struct cv){.kind = in->kind, .j = json_incref(in->j), .n = in->n};
    if (in->kind == CV_BYTES) {
        out->b = malloc(in->n ? in->n : 1);
        if (!out->b)
            return -ENOMEM;
        if (in->n)
            memcpy(out->b, in->b, in->n);
    }
    return 0;
}

static bool is_none(const struct cv *v)
{
    return v->kind == CV_JSON && json_is_null(v->j);
}

static bool truthy(const struct cv *v)
{
    switch (v->kind) {
    case CV_UNDEF:
        return false;
    case CV_BYTES:
        return v->n > 0;
    case CV_TLV:
        return json_object_size(v->j) > 0;
    case CV_JSON:
        break;
    }
    switch (json_typeof(v->j)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_TRUE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(v->j) != 0;
    case JSON_REAL:
        return json_real_value(v->j) != 0;
    case JSON_STRING:
        return json_string_length(v->j) > 0;
    case JSON_ARRAY:
        return json_array_size(v->j) > 0;
    case JSON_OBJECT:
        return json_object_size(v->j) > 0;
    }
    return false;
}

static int buf_add(struct buf *b, const char *s, size_t n)
{
    if (n > b->max - b->len)
        return -E2BIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p, b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* Bytes as text, each byte of an invalid sequence replaced by U+FFFD (Rust's lossy form). */
static int add_lossy(struct buf *b, const unsigned char *s, size_t n)
{
    int r = 0;
    while (n && r >= 0) {
        const uint8_t *bad = u8_check(s, n);
        size_t ok = bad ? (size_t)(bad - s) : n;
        r = buf_add(b, (const char *)s, ok);
        if (!bad || r < 0)
            break;
        r = buf_add(b, "\xEF\xBF\xBD", 3);
        s += ok + 1, n -= ok + 1;
    }
    return r;
}

static int add_real(struct buf *b, double d)
{
    char s[40];
    if (isnan(d))
        return buf_add(b, "NaN", 3);
    if (isinf(d))
        return buf_add(b, d < 0 ? "-inf" : "inf", d < 0 ? 4 : 3);
    for (int prec = 1; prec <= 17; prec++) { /* the shortest form that reads back the same */
        snprintf(s, sizeof(s), "%.*g", prec, d);
        if (strtod(s, NULL) == d)
            break;
    }
    if (!strpbrk(s, ".e"))
        strcat(s, ".0");
    return buf_add(b, s, strlen(s));
}

/* The text form of a value (what {{ }}, ~ and `string` produce). */
static int text(const struct cv *v, struct buf *b)
{
    char s[32];
    switch (v->kind) {
    case CV_UNDEF:
        return 0;
    case CV_BYTES:
        return add_lossy(b, v->b, v->n);
    case CV_TLV:
    case CV_JSON:
        break;
    }
    switch (json_typeof(v->j)) {
    case JSON_NULL:
        return 0; /* masd: null is empty (MAS prints "none") */
    case JSON_TRUE:
        return buf_add(b, "true", 4);
    case JSON_FALSE:
        return buf_add(b, "false", 5);
    case JSON_INTEGER:
        snprintf(s, sizeof(s), "%" JSON_INTEGER_FORMAT, json_integer_value(v->j));
        return buf_add(b, s, strlen(s));
    case JSON_REAL:
        return add_real(b, json_real_value(v->j));
    case JSON_STRING:
        return buf_add(b, json_string_value(v->j), json_string_length(v->j));
    case JSON_ARRAY:
    case JSON_OBJECT: {
        if (v->kind == CV_TLV) { /* raw bytes are not JSON: tags only */
            int r = buf_add(b, "{", 1);
            const char *k;
            json_t *x;
            bool first = true;
            json_object_foreach((json_t *)v->j, k, x)
            {
                if (r >= 0 && !first)
                    r = buf_add(b, ", ", 2);
                if (r >= 0)
                    r = buf_add(b, k, strlen(k));
                if (r >= 0)
                    r = buf_add(b, ": <bytes>", 9);
                first = false;
            }
            return r >= 0 ? buf_add(b, "}", 1) : r;
        }
        char *d = json_dumps(v->j, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (!d)
            return -ENOMEM;
        int r = buf_add(b, d, strlen(d));
        free(d);
        return r;
    }
    }
    return 0;
}

/* The text form as a new string value (bounded). */
static int to_text(struct ev *e, const struct cnode *at, const struct cv *v, struct buf *b)
{
    *b = (struct buf){.max = CLAIMS_TEMPLATE_MAX_VALUE};
    int r = text(v, b);
    if (r == -E2BIG)
        return ev_fail(e, r, at, "a value longer than %d bytes", CLAIMS_TEMPLATE_MAX_VALUE);
    if (r < 0)
        return ev_fail(e, r, at, "out of memory");
    if (!b->p && buf_add(b, "", 0) < 0)
        return ev_fail(e, -ENOMEM, at, "out of memory");
    return 0;
}

/* A string argument: the text form of anything but a list or a mapping. */
static int string_arg(struct ev *e, const struct cnode *at, const struct cv *v, const char *what,
                      struct buf *b)
{
    if (v->kind == CV_TLV || (v->kind == CV_JSON && (json_is_array(v->j) || json_is_object(v->j))))
        return ev_fail(e, -EINVAL, at, "%s expects a string", what);
    return to_text(e, at, v, b);
}

static int make_string(struct ev *e, const struct cnode *at, const char *s, size_t n, struct cv *out)
{
    json_t *j = json_stringn_nocheck(s, n); /* every producer here keeps text UTF-8 */
    if (!j)
        return ev_fail(e, -ENOMEM, at, "out of memory");
    *out = cv_json(j);
    return 0;
}

static int take_string(struct ev *e, const struct cnode *at, struct buf *b, struct cv *out)
{
    int r = make_string(e, at, b->p ? b->p : "", b->len, out);
    free(b->p);
    b->p = NULL;
    return r;
}

static bool is_number(const struct cv *v)
{
    return v->kind == CV_JSON && json_is_number(v->j);
}

/* The raw bytes of a bytes or string value. */
static bool bytes_of(const struct cv *v, const unsigned char **p, size_t *n)
{
    if (v->kind == CV_BYTES) {
        *p = v->b, *n = v->n;
        return true;
    }
    if (v->kind == CV_JSON && json_is_string(v->j)) {
        *p = (const unsigned char *)json_string_value(v->j), *n = json_string_length(v->j);
        return true;
    }
    return false;
}

static bool equal(const struct cv *a, const struct cv *b)
{
    const unsigned char *pa, *pb;
    size_t na, nb;
    if (a->kind == CV_UNDEF || b->kind == CV_UNDEF)
        return a->kind == b->kind;
    if (is_number(a) && is_number(b)) {
        if (json_is_integer(a->j) && json_is_integer(b->j))
            return json_integer_value(a->j) == json_integer_value(b->j);
        return json_number_value(a->j) == json_number_value(b->j);
    }
    if ((a->kind == CV_BYTES || b->kind == CV_BYTES) && bytes_of(a, &pa, &na) && bytes_of(b, &pb, &nb))
        return na == nb && (na == 0 || memcmp(pa, pb, na) == 0);
    if (a->kind != b->kind)
        return false;
    return json_equal(a->j, b->j);
}

/* container[key] */
static int lookup(struct ev *e, const struct cnode *at, const struct cv *c, const struct cv *key,
                  struct cv *out)
{
    *out = (struct cv){0};
    if (c->kind == CV_UNDEF || is_none(c)) {
        struct buf kb;
        if (to_text(e, at, key, &kb) < 0)
            return -EINVAL;
        ev_fail(e, -EINVAL, at, "cannot look up '%.40s' in %s", kb.p,
                c->kind == CV_UNDEF ? "an undefined value" : "none");
        free(kb.p);
        return -EINVAL;
    }
    bool int_key = key->kind == CV_JSON && json_is_integer(key->j);
    if (c->kind == CV_TLV && int_key) {
        char k[32];
        snprintf(k, sizeof(k), "%" JSON_INTEGER_FORMAT, json_integer_value(key->j));
        json_t *x = json_object_get(c->j, k);
        if (x) {
            out->kind = CV_BYTES;
            out->n = json_string_length(x);
            if (!(out->b = malloc(out->n ? out->n : 1)))
                return ev_fail(e, -ENOMEM, at, "out of memory");
            memcpy(out->b, json_string_value(x), out->n);
        }
        return 0;
    }
    if (c->kind != CV_JSON)
        return 0;
    if (json_is_object(c->j) && key->kind == CV_JSON && json_is_string(key->j)) {
        json_t *x = json_object_getn(c->j, json_string_value(key->j), json_string_length(key->j));
        if (x)
            *out = cv_json(json_incref(x));
    } else if (json_is_array(c->j) && int_key) {
        long long i = json_integer_value(key->j), n = (long long)json_array_size(c->j);
        if (i < 0)
            i += n;
        if (i >= 0 && i < n)
            *out = cv_json(json_incref(json_array_get(c->j, (size_t)i)));
    }
    return 0;
}

/* ---- filters ---- */

typedef int (*filter_fn)(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out);

static int f_case(struct ev *e, const struct cnode *at, struct cv *args, int which, struct cv *out)
{
    struct buf b;
    if (string_arg(e, at, &args[0], "this filter", &b) < 0)
        return -EINVAL;
    size_t n = 0;
    uint8_t *r = NULL;
    const uint8_t *s = (const uint8_t *)b.p;
    if (which == 0)
        r = u8_tolower(s, b.len, NULL, NULL, NULL, &n);
    else if (which == 1)
        r = u8_toupper(s, b.len, NULL, NULL, NULL, &n);
    else if (which == 2)
        r = u8_totitle(s, b.len, NULL, NULL, NULL, &n);
    else { /* capitalize: the first character upper-cased, the rest lower-cased */
        ucs4_t c;
        int k = b.len ? u8_mbtouc(&c, s, b.len) : 0;
        size_t n1 = 0, n2 = 0;
        uint8_t *r1 = u8_toupper(s, (size_t)k, NULL, NULL, NULL, &n1);
        uint8_t *r2 = r1 ? u8_tolower(s + k, b.len - (size_t)k, NULL, NULL, NULL, &n2) : NULL;
        if (r1 && r2 && (r = malloc(n1 + n2 + 1))) {
            memcpy(r, r1, n1);
            memcpy(r + n1, r2, n2);
            n = n1 + n2;
        }
        free(r1);
        free(r2);
    }
    free(b.p);
    if (!r && (b.len || which == 3))
        return ev_fail(e, -ENOMEM, at, "out of memory");
    if (n > CLAIMS_TEMPLATE_MAX_VALUE) {
        free(r);
        return ev_fail(e, -E2BIG, at, "a value longer than %d bytes", CLAIMS_TEMPLATE_MAX_VALUE);
    }
    int rr = make_string(e, at, r ? (const char *)r : "", n, out);
    free(r);
    return rr;
}

static int f_lower(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    return f_case(e, at, args, 0, out);
}
static int f_upper(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    return f_case(e, at, args, 1, out);
}
static int f_title(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    return f_case(e, at, args, 2, out);
}
static int f_capitalize(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    return f_case(e, at, args, 3, out);
}

static bool in_set(const char *set, size_t set_len, const char *s, size_t len)
{
    for (size_t i = 0; i + len <= set_len; i++)
        if (memcmp(set + i, s, len) == 0)
            return true;
    return false;
}

/* trim(chars): whitespace, or any of chars, from both ends */
static int f_trim(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    struct buf b, chars = {0};
    if (string_arg(e, at, &args[0], "trim", &b) < 0)
        return -EINVAL;
    if (n > 1 && !(args[1].kind == CV_UNDEF || is_none(&args[1])) &&
        string_arg(e, at, &args[1], "trim's argument", &chars) < 0) {
        free(b.p);
        return -EINVAL;
    }
    const char *set = chars.p ? chars.p : " \t\n\r\f\v";
    size_t set_len = chars.p ? chars.len : 6;
    size_t a = 0, z = b.len;
    while (a < z) { /* one whole character at a time */
        size_t k = 1;
        while (a + k < z && ((unsigned char)b.p[a + k] & 0xC0) == 0x80)
            k++;
        if (!in_set(set, set_len, b.p + a, k))
            break;
        a += k;
    }
    while (z > a) {
        size_t k = 1;
        while (z - k > a && ((unsigned char)b.p[z - k] & 0xC0) == 0x80)
            k++;
        if (!in_set(set, set_len, b.p + z - k, k))
            break;
        z -= k;
    }
    int r = make_string(e, at, b.p + a, z - a, out);
    free(b.p);
    free(chars.p);
    return r;
}

/* replace(old, new[, count]) */
static int f_replace(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    struct buf s, from, to, res = {.max = CLAIMS_TEMPLATE_MAX_VALUE};
    long long count = -1;
    if (n < 3)
        return ev_fail(e, -EINVAL, at, "replace expects two arguments");
    if (n > 3) {
        if (!(args[3].kind == CV_JSON && json_is_integer(args[3].j)))
            return ev_fail(e, -EINVAL, at, "replace's count must be an integer");
        count = json_integer_value(args[3].j);
    }
    if (string_arg(e, at, &args[0], "replace", &s) < 0)
        return -EINVAL;
    if (string_arg(e, at, &args[1], "replace", &from) < 0) {
        free(s.p);
        return -EINVAL;
    }
    if (string_arg(e, at, &args[2], "replace", &to) < 0) {
        free(s.p), free(from.p);
        return -EINVAL;
    }
    int r = 0;
    size_t i = 0;
    while (r >= 0 && i <= s.len) {
        const char *hit = NULL;
        if (count != 0) {
            if (from.len == 0) /* Python: between every character */
                hit = s.p + i;
            else
                hit = memmem(s.p + i, s.len - i, from.p, from.len);
        }
        if (!hit) {
            r = buf_add(&res, s.p + i, s.len - i);
            break;
        }
        size_t k = (size_t)(hit - s.p);
        r = buf_add(&res, s.p + i, k - i);
        if (r >= 0)
            r = buf_add(&res, to.p, to.len);
        if (count > 0)
            count--;
        if (from.len == 0) {
            size_t c = 1;
            while (k + c < s.len && ((unsigned char)s.p[k + c] & 0xC0) == 0x80)
                c++;
            if (r >= 0 && k < s.len)
                r = buf_add(&res, s.p + k, c);
            i = k + c;
            if (k >= s.len)
                break;
        } else {
            i = k + from.len;
        }
    }
    free(s.p), free(from.p), free(to.p);
    if (r < 0) {
        free(res.p);
        return ev_fail(e, r, at, r == -E2BIG ? "a value longer than the limit" : "out of memory");
    }
    return take_string(e, at, &res, out);
}

/* split(sep[, maxsplit]): without sep (or none), on runs of whitespace, as Python */
static int f_split(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    struct buf s, sep = {0};
    long long max = -1;
    if (string_arg(e, at, &args[0], "split", &s) < 0)
        return -EINVAL;
    if (n > 1 && !(args[1].kind == CV_UNDEF || is_none(&args[1])) &&
        string_arg(e, at, &args[1], "split's separator", &sep) < 0) {
        free(s.p);
        return -EINVAL;
    }
    if (n > 2 && args[2].kind == CV_JSON && json_is_integer(args[2].j))
        max = json_integer_value(args[2].j);
    json_t *list = json_array();
    int r = list ? 0 : -ENOMEM;
    if (sep.p && sep.len == 0)
        r = ev_fail(e, -EINVAL, at, "split: empty separator");
    size_t i = 0;
    while (r >= 0) {
        if (!sep.p)
            while (i < s.len && strchr(" \t\n\r\f\v", s.p[i]))
                i++;
        if (!sep.p && i >= s.len)
            break;
        const char *hit = NULL;
        size_t hit_len = 0;
        if (max != 0) {
            if (sep.p) {
                hit = memmem(s.p + i, s.len - i, sep.p, sep.len);
                hit_len = sep.len;
            } else {
                for (size_t k = i; k < s.len && !hit; k++)
                    if (strchr(" \t\n\r\f\v", s.p[k]))
                        hit = s.p + k;
                hit_len = 1;
            }
        }
        size_t end = hit ? (size_t)(hit - s.p) : s.len;
        if (!sep.p && !hit) /* the rest, trailing whitespace dropped */
            while (end > i && strchr(" \t\n\r\f\v", s.p[end - 1]))
                end--;
        json_t *item = json_stringn_nocheck(s.p + i, end - i);
        if (!item || json_array_append_new(list, item) < 0)
            r = -ENOMEM;
        if (!hit)
            break;
        if (max > 0)
            max--;
        i = end + hit_len;
        if (json_array_size(list) > CLAIMS_TEMPLATE_MAX_VALUE / 16)
            r = ev_fail(e, -E2BIG, at, "split: too many parts");
    }
    free(s.p), free(sep.p);
    if (r < 0) {
        json_decref(list);
        return ev_fail(e, r, at, "out of memory");
    }
    *out = cv_json(list);
    return 0;
}

/* join(sep=""): the items' text forms */
static int f_join(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    struct buf sep = {0}, res = {.max = CLAIMS_TEMPLATE_MAX_VALUE};
    if (args[0].kind == CV_JSON && json_is_string(args[0].j)) /* a string is a list of characters */
        return cv_copy(&args[0], out) < 0 ? ev_fail(e, -ENOMEM, at, "out of memory") : 0;
    if (!(args[0].kind == CV_JSON && json_is_array(args[0].j)))
        return ev_fail(e, -EINVAL, at, "join expects a list");
    if (n > 1 && string_arg(e, at, &args[1], "join's separator", &sep) < 0)
        return -EINVAL;
    int r = 0;
    size_t i;
    json_t *x;
    json_array_foreach(args[0].j, i, x)
    {
        struct cv item = {.kind = CV_JSON, .j = x};
        if (r >= 0 && i > 0 && sep.p)
            r = buf_add(&res, sep.p, sep.len);
        if (r >= 0)
            r = text(&item, &res);
    }
    free(sep.p);
    if (r < 0) {
        free(res.p);
        return ev_fail(e, r, at, r == -E2BIG ? "join: the result is too long" : "out of memory");
    }
    return take_string(e, at, &res, out);
}

static int f_first_last(struct ev *e, const struct cnode *at, struct cv *v, bool last, struct cv *out)
{
    *out = (struct cv){0};
    if (v->kind == CV_UNDEF)
        return 0;
    if (v->kind == CV_JSON && json_is_array(v->j)) {
        size_t n = json_array_size(v->j);
        if (n)
            *out = cv_json(json_incref(json_array_get(v->j, last ? n - 1 : 0)));
        return 0;
    }
    if (v->kind == CV_JSON && json_is_string(v->j)) {
        const char *s = json_string_value(v->j);
        size_t len = json_string_length(v->j), a = 0, k = 0;
        if (!len)
            return 0;
        if (last) {
            a = len - 1;
            while (a > 0 && ((unsigned char)s[a] & 0xC0) == 0x80)
                a--;
            k = len - a;
        } else {
            k = 1;
            while (k < len && ((unsigned char)s[k] & 0xC0) == 0x80)
                k++;
        }
        return make_string(e, at, s + a, k, out);
    }
    return ev_fail(e, -EINVAL, at, "%s expects a list or a string", last ? "last" : "first");
}

static int f_first(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    return f_first_last(e, at, &args[0], false, out);
}
static int f_last(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    return f_first_last(e, at, &args[0], true, out);
}

static int f_length(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    struct cv *v = &args[0];
    size_t len;
    if (v->kind == CV_BYTES)
        len = v->n;
    else if (v->kind == CV_UNDEF)
        len = 0;
    else if (json_is_string(v->j))
        len = u8_mbsnlen((const uint8_t *)json_string_value(v->j), json_string_length(v->j));
    else if (json_is_array(v->j))
        len = json_array_size(v->j);
    else if (json_is_object(v->j))
        len = json_object_size(v->j);
    else
        return ev_fail(e, -EINVAL, at, "length expects a string, a list or a mapping");
    json_t *j = json_integer((json_int_t)len);
    if (!j)
        return ev_fail(e, -ENOMEM, at, "out of memory");
    *out = cv_json(j);
    return 0;
}

/* default(value="", boolean=false): for undefined (and null, in masd), or anything false with
 * boolean true */
static int f_default(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    bool use =
        args[0].kind == CV_UNDEF || is_none(&args[0]) || (n > 2 && truthy(&args[2]) && !truthy(&args[0]));
    if (!use)
        return cv_copy(&args[0], out) < 0 ? ev_fail(e, -ENOMEM, at, "out of memory") : 0;
    if (n > 1)
        return cv_copy(&args[1], out) < 0 ? ev_fail(e, -ENOMEM, at, "out of memory") : 0;
    return make_string(e, at, "", 0, out);
}

static int f_string(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    struct buf b;
    if (to_text(e, at, &args[0], &b) < 0)
        return -EINVAL;
    return take_string(e, at, &b, out);
}

static int f_safe(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    return cv_copy(&args[0], out) < 0 ? ev_fail(e, -ENOMEM, at, "out of memory") : 0;
}

/* b64decode: standard padded, URL-safe padded, standard unpadded, URL-safe unpadded, in that
 * order (MAS), into bytes */
static int f_b64decode(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    struct buf s;
    if (string_arg(e, at, &args[0], "b64decode", &s) < 0)
        return -EINVAL;
    unsigned char *raw = malloc(s.len * 3 / 4 + 3);
    char *alt = malloc(s.len + 1);
    size_t len = 0;
    int r = raw && alt ? -EBADMSG : -ENOMEM;
    if (raw && alt) {
        for (int variant = 0; variant < 4 && r == -EBADMSG; variant++) {
            bool url = variant & 1, padded = variant < 2;
            memcpy(alt, s.p, s.len + 1);
            bool wrong = false;
            for (size_t i = 0; i < s.len; i++) { /* map onto the alphabet the decoder knows */
                char c = alt[i];
                if ((url && (c == '+' || c == '/')) || (!url && (c == '-' || c == '_')))
                    wrong = true;
                if (padded && !url && (c == '-' || c == '_'))
                    wrong = true;
                if (!padded && c == '=')
                    wrong = true;
                if (padded && url)
                    alt[i] = c == '-' ? '+' : c == '_' ? '/' : c;
                if (!padded && !url)
                    alt[i] = c == '+' ? '-' : c == '/' ? '_' : c;
            }
            if (wrong)
                continue;
            r = padded ? base64_decode(alt, s.len, raw, &len) : base64url_decode(alt, s.len, raw, &len);
        }
    }
    free(alt);
    free(s.p);
    if (r < 0) {
        free(raw);
        return ev_fail(e, r == -ENOMEM ? r : -EINVAL, at,
                       r == -ENOMEM ? "out of memory" : "b64decode: not base64");
    }
    *out = (struct cv){.kind = CV_BYTES, .b = raw, .n = len};
    return 0;
}

static int f_b64encode(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    const unsigned char *p;
    size_t len;
    if (!bytes_of(&args[0], &p, &len))
        return ev_fail(e, -EINVAL, at, "b64encode expects bytes or a string");
    if (len > CLAIMS_TEMPLATE_MAX_VALUE / 4 * 3)
        return ev_fail(e, -E2BIG, at, "b64encode: the value is too long");
    char *s = base64_encode(p, len);
    if (!s)
        return ev_fail(e, -ENOMEM, at, "out of memory");
    int r = make_string(e, at, s, strlen(s), out);
    free(s);
    return r;
}

/* tlvdecode: one-byte tag, one-byte length, that many bytes, repeated (MAS; Dex's subject) */
static int f_tlvdecode(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    const unsigned char *p;
    size_t len;
    if (!bytes_of(&args[0], &p, &len))
        return ev_fail(e, -EINVAL, at, "tlvdecode expects bytes");
    json_t *map = json_object();
    if (!map)
        return ev_fail(e, -ENOMEM, at, "out of memory");
    for (size_t i = 0; i < len;) {
        if (i + 2 > len || i + 2 + p[i + 1] > len) {
            json_decref(map);
            return ev_fail(e, -EINVAL, at, "tlvdecode: truncated input");
        }
        char tag[8];
        snprintf(tag, sizeof(tag), "%u", p[i]);
        json_t *v = json_stringn_nocheck((const char *)p + i + 2, p[i + 1]); /* raw bytes */
        if (!v || json_object_set_new(map, tag, v) < 0) {
            json_decref(map);
            return ev_fail(e, -ENOMEM, at, "out of memory");
        }
        i += 2 + p[i + 1];
    }
    *out = (struct cv){.kind = CV_TLV, .j = map};
    return 0;
}

static int f_from_json(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    struct buf s;
    if (string_arg(e, at, &args[0], "from_json", &s) < 0)
        return -EINVAL;
    json_error_t jerr;
    json_t *j = json_loadb(s.p, s.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    free(s.p);
    if (!j)
        return ev_fail(e, -EINVAL, at, "from_json: not JSON (%.80s)", jerr.text);
    *out = cv_json(j);
    return 0;
}

static int f_tojson(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    if (args[0].kind != CV_JSON)
        return ev_fail(e, -EINVAL, at, "tojson expects a JSON value");
    char *s = json_dumps(args[0].j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return ev_fail(e, -ENOMEM, at, "out of memory");
    size_t len = strlen(s);
    int r = len > CLAIMS_TEMPLATE_MAX_VALUE ? ev_fail(e, -E2BIG, at, "tojson: too long")
                                            : make_string(e, at, s, len, out);
    free(s);
    return r;
}

static int f_int(struct ev *e, const struct cnode *at, struct cv *args, size_t n, struct cv *out)
{
    (void)n;
    struct cv *v = &args[0];
    json_int_t i = 0;
    if (v->kind == CV_JSON && json_is_integer(v->j))
        i = json_integer_value(v->j);
    else if (v->kind == CV_JSON && json_is_real(v->j) && fabs(json_real_value(v->j)) < 9.2e18)
        i = (json_int_t)json_real_value(v->j);
    else if (v->kind == CV_JSON && json_is_boolean(v->j))
        i = json_is_true(v->j);
    else if (v->kind == CV_JSON && json_is_string(v->j)) {
        const char *s = json_string_value(v->j);
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno || end == s || *end) {
            double d = strtod(s, &end);
            if (end == s || *end || !(fabs(d) < 9.2e18))
                return ev_fail(e, -EINVAL, at, "int: not a number");
            x = (long long)d;
        }
        i = x;
    } else
        return ev_fail(e, -EINVAL, at, "int: not a number");
    json_t *j = json_integer(i);
    if (!j)
        return ev_fail(e, -ENOMEM, at, "out of memory");
    *out = cv_json(j);
    return 0;
}

static const struct {
    const char *name;
    filter_fn fn;
    size_t min_args, max_args; /* besides the value */
} filters[] = {
    {"lower", f_lower, 0, 0},         {"upper", f_upper, 0, 0},
    {"title", f_title, 0, 0},         {"capitalize", f_capitalize, 0, 0},
    {"trim", f_trim, 0, 1},           {"replace", f_replace, 2, 3},
    {"split", f_split, 0, 2},         {"join", f_join, 0, 1},
    {"first", f_first, 0, 0},         {"last", f_last, 0, 0},
    {"length", f_length, 0, 0},       {"count", f_length, 0, 0},
    {"default", f_default, 0, 2},     {"d", f_default, 0, 2},
    {"string", f_string, 0, 0},       {"safe", f_safe, 0, 0},
    {"b64decode", f_b64decode, 0, 0}, {"b64encode", f_b64encode, 0, 0},
    {"tlvdecode", f_tlvdecode, 0, 0}, {"from_json", f_from_json, 0, 0},
    {"tojson", f_tojson, 0, 0},       {"int", f_int, 0, 0},
};

int claims_filter_find(const char *name)
{
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        if (strcmp(filters[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- tests ---- */

enum test_id {
    TEST_DEFINED,
    TEST_UNDEFINED,
    TEST_NONE,
    TEST_TRUE,
    TEST_FALSE,
    TEST_BOOLEAN,
    TEST_STRING,
    TEST_NUMBER,
    TEST_INTEGER,
    TEST_FLOAT,
    TEST_MAPPING,
    TEST_SEQUENCE,
    TEST_STARTINGWITH,
    TEST_ENDINGWITH,
};
static const char *const tests[] = {"defined", "undefined", "none",         "true",      "false",
                                    "boolean", "string",    "number",       "integer",   "float",
                                    "mapping", "sequence",  "startingwith", "endingwith"};

int claims_test_find(const char *name)
{
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (strcmp(tests[i], name) == 0)
            return (int)i;
    return -1;
}

static int run_test(struct ev *e, const struct cnode *at, int id, struct cv *args, size_t n, bool *res)
{
    const struct cv *v = &args[0];
    bool j = v->kind == CV_JSON;
    *res = false;
    switch ((enum test_id)id) {
    case TEST_DEFINED:
        *res = v->kind != CV_UNDEF;
        break;
    case TEST_UNDEFINED:
        *res = v->kind == CV_UNDEF;
        break;
    case TEST_NONE:
        *res = is_none(v);
        break;
    case TEST_TRUE:
        *res = j && json_is_true(v->j);
        break;
    case TEST_FALSE:
        *res = j && json_is_false(v->j);
        break;
    case TEST_BOOLEAN:
        *res = j && json_is_boolean(v->j);
        break;
    case TEST_STRING:
        *res = j && json_is_string(v->j);
        break;
    case TEST_NUMBER:
        *res = j && json_is_number(v->j);
        break;
    case TEST_INTEGER:
        *res = j && json_is_integer(v->j);
        break;
    case TEST_FLOAT:
        *res = j && json_is_real(v->j);
        break;
    case TEST_MAPPING:
        *res = v->kind == CV_TLV || (j && json_is_object(v->j));
        break;
    case TEST_SEQUENCE:
        *res = j && (json_is_array(v->j) || json_is_string(v->j));
        break;
    case TEST_STARTINGWITH:
    case TEST_ENDINGWITH: {
        if (n != 2)
            return ev_fail(e, -EINVAL, at, "%s expects one argument", tests[id]);
        struct buf a, b;
        if (string_arg(e, at, &args[0], tests[id], &a) < 0)
            return -EINVAL;
        if (string_arg(e, at, &args[1], tests[id], &b) < 0) {
            free(a.p);
            return -EINVAL;
        }
        *res = b.len <= a.len && memcmp(id == TEST_STARTINGWITH ? a.p : a.p + a.len - b.len, b.p, b.len) == 0;
        free(a.p), free(b.p);
        return 0;
    }
    }
    if (n != 1)
        return ev_fail(e, -EINVAL, at, "%s takes no argument", tests[id]);
    return 0;
}

/* ---- expressions ---- */

static int eval(struct ev *e, const struct cnode *n, struct cv *out);

static int eval_args(struct ev *e, const struct cnode *n, struct cv *args)
{
    for (size_t i = 0; i < n->n_args; i++)
        if (eval(e, n->args[i], &args[i]) < 0) {
            for (size_t k = 0; k < i; k++)
                cv_clear(&args[k]);
            return -EINVAL;
        }
    return 0;
}

static int compare(struct ev *e, const struct cnode *n, struct cv *a, struct cv *b, bool *res)
{
    const char *op = n->opname;
    if (!strcmp(op, "==") || !strcmp(op, "!=")) {
        *res = equal(a, b) == (op[0] == '=');
        return 0;
    }
    if (!strcmp(op, "in") || !strcmp(op, "notin")) {
        bool found = false;
        const unsigned char *pa, *pb;
        size_t na, nb;
        if (b->kind == CV_UNDEF || is_none(b))
            found = false;
        else if (b->kind == CV_JSON && json_is_array(b->j)) {
            size_t i;
            json_t *x;
            json_array_foreach(b->j, i, x)
            {
                struct cv item = {.kind = CV_JSON, .j = x};
                found |= equal(a, &item);
            }
        } else if (b->kind == CV_JSON && json_is_object(b->j)) {
            found = a->kind == CV_JSON && json_is_string(a->j) &&
                    json_object_getn(b->j, json_string_value(a->j), json_string_length(a->j));
        } else if (b->kind == CV_TLV) {
            struct cv x;
            if (a->kind == CV_JSON && json_is_integer(a->j) && lookup(e, n, b, a, &x) == 0) {
                found = x.kind != CV_UNDEF;
                cv_clear(&x);
            }
        } else if (bytes_of(b, &pb, &nb) && bytes_of(a, &pa, &na)) {
            found = na == 0 || memmem(pb, nb, pa, na) != NULL;
        } else {
            return ev_fail(e, -EINVAL, n, "'in' needs a string, a list or a mapping on its right");
        }
        *res = found == (op[0] == 'i');
        return 0;
    }
    int c;
    if (is_number(a) && is_number(b)) {
        double x = json_number_value(a->j), y = json_number_value(b->j);
        if (json_is_integer(a->j) && json_is_integer(b->j))
            c = json_integer_value(a->j) < json_integer_value(b->j)   ? -1
                : json_integer_value(a->j) > json_integer_value(b->j) ? 1
                                                                      : 0;
        else
            c = x < y ? -1 : x > y ? 1 : 0;
    } else if (a->kind == CV_JSON && b->kind == CV_JSON && json_is_string(a->j) && json_is_string(b->j)) {
        size_t la = json_string_length(a->j), lb = json_string_length(b->j);
        c = memcmp(json_string_value(a->j), json_string_value(b->j), la < lb ? la : lb);
        if (c == 0)
            c = la < lb ? -1 : la > lb;
    } else {
        return ev_fail(e, -EINVAL, n, "cannot compare these values with '%s'", op);
    }
    if (!strcmp(op, "<"))
        *res = c < 0;
    else if (!strcmp(op, "<="))
        *res = c <= 0;
    else if (!strcmp(op, ">"))
        *res = c > 0;
    else
        *res = c >= 0;
    return 0;
}

static int math(struct ev *e, const struct cnode *n, struct cv *a, struct cv *b, struct cv *out)
{
    const char *op = n->opname;
    if (op[0] == '+' && a->kind == CV_JSON && b->kind == CV_JSON && json_is_string(a->j) &&
        json_is_string(b->j)) {
        struct buf r = {.max = CLAIMS_TEMPLATE_MAX_VALUE};
        int rr = text(a, &r);
        if (rr >= 0)
            rr = text(b, &r);
        if (rr < 0) {
            free(r.p);
            return ev_fail(e, rr, n, "a value longer than %d bytes", CLAIMS_TEMPLATE_MAX_VALUE);
        }
        return take_string(e, n, &r, out);
    }
    if (op[0] == '+' && a->kind == CV_JSON && b->kind == CV_JSON && json_is_array(a->j) &&
        json_is_array(b->j)) {
        if (json_array_size(a->j) + json_array_size(b->j) > CLAIMS_TEMPLATE_MAX_VALUE / 16)
            return ev_fail(e, -E2BIG, n, "a list that is too long");
        json_t *l = json_copy(a->j);
        if (!l || json_array_extend(l, b->j) < 0) {
            json_decref(l);
            return ev_fail(e, -ENOMEM, n, "out of memory");
        }
        *out = cv_json(l);
        return 0;
    }
    if (!is_number(a) || !is_number(b))
        return ev_fail(e, -EINVAL, n, "'%s' needs two numbers", op);
    json_t *j = NULL;
    bool ints = json_is_integer(a->j) && json_is_integer(b->j);
    json_int_t x = json_integer_value(a->j), y = json_integer_value(b->j), z;
    double dx = json_number_value(a->j), dy = json_number_value(b->j);
    if (op[0] == '/' && op[1] == '\0') {
        if (dy == 0)
            return ev_fail(e, -EINVAL, n, "division by zero");
        j = json_real(dx / dy);
    } else if ((op[0] == '/' || op[0] == '%') && (ints ? y == 0 : dy == 0)) {
        return ev_fail(e, -EINVAL, n, "division by zero");
    } else if (ints) {
        bool over = false;
        if (op[0] == '+')
            over = __builtin_add_overflow(x, y, &z);
        else if (op[0] == '-')
            over = __builtin_sub_overflow(x, y, &z);
        else if (op[0] == '*')
            over = __builtin_mul_overflow(x, y, &z);
        else if (x == INT64_MIN && y == -1)
            over = true;
        else if (op[0] == '/') { /* // floors */
            z = x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0)))
                z--;
        } else {
            z = x % y;
            if (z != 0 && ((z < 0) != (y < 0)))
                z += y;
        }
        if (over)
            return ev_fail(e, -EINVAL, n, "integer overflow");
        j = json_integer(z);
    } else {
        double r = op[0] == '+'   ? dx + dy
                   : op[0] == '-' ? dx - dy
                   : op[0] == '*' ? dx * dy
                   : op[0] == '/' ? floor(dx / dy)
                                  : dx - dy * floor(dx / dy);
        j = json_real(r);
    }
    if (!j)
        return ev_fail(e, -EINVAL, n, "not a finite number");
    *out = cv_json(j);
    return 0;
}

static int variable(struct ev *e, const struct cnode *n, struct cv *out)
{
    *out = (struct cv){0};
    for (size_t i = e->n_sets; i-- > 0;)
        if (strcmp(e->sets[i].name, n->name) == 0)
            return cv_copy(&e->sets[i].v, out) < 0 ? ev_fail(e, -ENOMEM, n, "out of memory") : 0;
    json_t *j = json_object_get(e->vars, n->name);
    if (j)
        *out = cv_json(json_incref(j));
    return 0;
}

/* A filter or a test (its own frame: the arguments stay off eval's recursion). */
static int eval_call(struct ev *e, const struct cnode *n, struct cv *out)
{
    struct cv args[CNODE_MAX_ARGS] = {0};
    int r = 0;
    bool res = false;
    if (eval_args(e, n, args) < 0)
        return -EINVAL;
    if (n->kind == E_FILTER) {
        size_t extra = n->n_args - 1;
        if (extra < filters[n->fn].min_args || extra > filters[n->fn].max_args)
            r = ev_fail(e, -EINVAL, n, "%s takes %zu to %zu arguments", filters[n->fn].name,
                        filters[n->fn].min_args, filters[n->fn].max_args);
        else
            r = filters[n->fn].fn(e, n, args, n->n_args, out);
    } else if ((r = run_test(e, n, n->fn, args, n->n_args, &res)) >= 0) {
        *out = cv_json(json_boolean(res != n->negate));
    }
    for (size_t i = 0; i < n->n_args; i++)
        cv_clear(&args[i]);
    return r;
}

static int eval(struct ev *e, const struct cnode *n, struct cv *out)
{
    struct cv a = {0}, b = {0};
    int r = 0;
    bool res = false;
    *out = (struct cv){0};
    switch (n->kind) {
    case E_LIT:
        *out = cv_json(json_incref(n->lit));
        return 0;
    case E_NAME:
        return variable(e, n, out);
    case E_ATTR:
        if (eval(e, n->a, &a) < 0)
            return -EINVAL;
        b = (struct cv){.kind = CV_JSON, .j = n->lit};
        r = lookup(e, n, &a, &b, out);
        cv_clear(&a);
        return r;
    case E_INDEX:
        if (eval(e, n->a, &a) < 0)
            return -EINVAL;
        if (eval(e, n->b, &b) < 0) {
            cv_clear(&a);
            return -EINVAL;
        }
        r = lookup(e, n, &a, &b, out);
        cv_clear(&a), cv_clear(&b);
        return r;
    case E_FILTER:
    case E_TEST:
        return eval_call(e, n, out);
    case E_NEG:
        if (eval(e, n->a, &a) < 0)
            return -EINVAL;
        if (!is_number(&a))
            r = ev_fail(e, -EINVAL, n, "'%c' needs a number", n->op);
        else if (n->op == '+')
            *out = cv_json(json_incref(a.j));
        else if (json_is_integer(a.j) && json_integer_value(a.j) != INT64_MIN)
            *out = cv_json(json_integer(-json_integer_value(a.j)));
        else if (json_is_real(a.j))
            *out = cv_json(json_real(-json_real_value(a.j)));
        else
            r = ev_fail(e, -EINVAL, n, "integer overflow");
        cv_clear(&a);
        return r;
    case E_NOT:
        if (eval(e, n->a, &a) < 0)
            return -EINVAL;
        *out = cv_json(json_boolean(!truthy(&a)));
        cv_clear(&a);
        return 0;
    case E_AND:
    case E_OR: /* the deciding operand itself, as Jinja */
        if (eval(e, n->a, &a) < 0)
            return -EINVAL;
        if (truthy(&a) == (n->kind == E_OR)) {
            *out = a;
            return 0;
        }
        cv_clear(&a);
        return eval(e, n->b, out);
    case E_COND:
        if (eval(e, n->a, &a) < 0)
            return -EINVAL;
        res = truthy(&a);
        cv_clear(&a);
        if (res)
            return eval(e, n->b, out);
        return n->c ? eval(e, n->c, out) : 0;
    case E_COMPARE:
    case E_MATH:
    case E_CONCAT:
        if (eval(e, n->a, &a) < 0)
            return -EINVAL;
        if (eval(e, n->b, &b) < 0) {
            cv_clear(&a);
            return -EINVAL;
        }
        if (n->kind == E_COMPARE) {
            if ((r = compare(e, n, &a, &b, &res)) >= 0)
                *out = cv_json(json_boolean(res));
        } else if (n->kind == E_MATH) {
            r = math(e, n, &a, &b, out);
        } else {
            struct buf s = {.max = CLAIMS_TEMPLATE_MAX_VALUE};
            r = text(&a, &s);
            if (r >= 0)
                r = text(&b, &s);
            if (r < 0) {
                free(s.p);
                r = ev_fail(e, r, n, r == -E2BIG ? "a value longer than the limit" : "out of memory");
            } else {
                r = take_string(e, n, &s, out);
            }
        }
        cv_clear(&a), cv_clear(&b);
        return r;
    case E_LIST:
    case E_MAP: {
        json_t *c = n->kind == E_LIST ? json_array() : json_object();
        if (!c)
            return ev_fail(e, -ENOMEM, n, "out of memory");
        for (size_t i = 0; i < n->n_args && r >= 0; i++) {
            if ((r = eval(e, n->args[i], &a)) < 0)
                break;
            if (a.kind != CV_JSON) { /* undefined, bytes: not JSON */
                struct buf s;
                r = to_text(e, n, &a, &s);
                cv_clear(&a);
                if (r >= 0)
                    r = take_string(e, n, &s, &a);
            }
            if (r >= 0 && n->kind == E_LIST)
                r = json_array_append(c, a.j) < 0 ? -ENOMEM : 0;
            else if (r >= 0 && i % 2 == 0)
                b = a, a = (struct cv){0};
            else if (r >= 0) {
                struct buf k;
                if ((r = to_text(e, n, &b, &k)) >= 0) {
                    r = json_object_set(c, k.p, a.j) < 0 ? -ENOMEM : 0;
                    free(k.p);
                }
                cv_clear(&b);
            }
            cv_clear(&a);
        }
        cv_clear(&b);
        if (r < 0) {
            json_decref(c);
            return ev_fail(e, r, n, "out of memory");
        }
        *out = cv_json(c);
        return 0;
    }
    case S_TEXT:
    case S_OUTPUT:
    case S_IF:
    case S_SET:
        break;
    }
    return ev_fail(e, -EINVAL, n, "not an expression");
}

static int run(struct ev *e, const struct cnode *n, struct buf *out)
{
    for (; n; n = n->next) {
        struct cv v;
        int r = 0;
        switch (n->kind) {
        case S_TEXT:
            r = buf_add(out, e->t->src + n->text_at, n->text_len);
            break;
        case S_OUTPUT:
            if (eval(e, n->a, &v) < 0)
                return -EINVAL;
            r = text(&v, out);
            cv_clear(&v);
            break;
        case S_IF:
            if (eval(e, n->a, &v) < 0)
                return -EINVAL;
            r = run(e, truthy(&v) ? n->b : n->c, out);
            cv_clear(&v);
            if (r < 0)
                return r;
            break;
        case S_SET: {
            if (eval(e, n->a, &v) < 0)
                return -EINVAL;
            size_t i = 0;
            while (i < e->n_sets && strcmp(e->sets[i].name, n->name) != 0)
                i++;
            if (i == CLAIMS_TEMPLATE_MAX_SETS) {
                cv_clear(&v);
                return ev_fail(e, -E2BIG, n, "more than %d variables", CLAIMS_TEMPLATE_MAX_SETS);
            }
            if (i == e->n_sets)
                e->sets[e->n_sets++].name = n->name;
            else
                cv_clear(&e->sets[i].v);
            e->sets[i].v = v;
            break;
        }
        default:
            return ev_fail(e, -EINVAL, n, "not a statement");
        }
        if (r == -E2BIG)
            return ev_fail(e, r, n, "the output is longer than %d bytes", CLAIMS_TEMPLATE_MAX_OUTPUT);
        if (r < 0)
            return ev_fail(e, r, n, "out of memory");
    }
    return 0;
}

int claims_template_render(const struct claims_template *t, const json_t *vars, char **out, char *err,
                           size_t err_size)
{
    struct ev e = {.t = t, .vars = vars, .err = err, .err_size = err_size};
    struct buf b = {.max = CLAIMS_TEMPLATE_MAX_OUTPUT};
    *out = NULL;
    if (err_size)
        err[0] = '\0';
    int r = run(&e, t->body, &b);
    for (size_t i = 0; i < e.n_sets; i++)
        cv_clear(&e.sets[i].v);
    if (r >= 0 && !b.p && buf_add(&b, "", 0) < 0)
        r = -ENOMEM;
    if (r < 0) {
        free(b.p);
        if (err_size && !err[0])
            snprintf(err, err_size, "out of memory");
        return r == -E2BIG || r == -ENOMEM ? r : -EINVAL;
    }
    *out = b.p;
    return 0;
}

json_t *claims_template_context(const json_t *id_token_claims, const json_t *userinfo_claims,
                                const json_t *extra_callback_parameters)
{
    json_t *ctx = json_object();
    if (!ctx)
        return NULL;
    bool ok = true;
    if (id_token_claims || userinfo_claims) {
        json_t *user = json_object();
        ok = user != NULL;
        if (ok && json_is_object(userinfo_claims))
            ok = json_object_update(user, (json_t *)userinfo_claims) == 0;
        if (ok && json_is_object(id_token_claims)) /* the ID token wins */
            ok = json_object_update(user, (json_t *)id_token_claims) == 0;
        ok = ok && json_object_set_new(ctx, "user", user) == 0;
    }
    if (ok && id_token_claims)
        ok = json_object_set(ctx, "id_token_claims", (json_t *)id_token_claims) == 0;
    if (ok && userinfo_claims)
        ok = json_object_set(ctx, "userinfo_claims", (json_t *)userinfo_claims) == 0;
    if (ok && extra_callback_parameters)
        ok = json_object_set(ctx, "extra_callback_parameters", (json_t *)extra_callback_parameters) == 0;
    if (!ok) {
        json_decref(ctx);
        return NULL;
    }
    return ctx;
}
