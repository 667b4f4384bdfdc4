/* MAS: policies/client_registration/client_registration.rego, rule for rule. The Rego reads
 * JSON, so this does too: a field that is absent makes the rules that mention it undefined (no
 * violation), a value of the wrong type fails the checks that need a string, and Rego's truth
 * (anything defined but `false`) decides the `not input.…` tests. parse_uri is MAS's regex,
 * matched by hand with the regex's own leftmost-first choices (RE2, as OPA runs it). */
#include "policy_internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A data.client_registration flag: absent false; anything but a boolean is an error (Rego would
 * take null or a string as true). */
static int flag(const json_t *cr, const char *key, bool *out, char **error)
{
    const json_t *v = json_object_get(cr, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return policy_fail(error, -EINVAL,
                           "policy.data.client_registration.%s: expected a boolean, found a %s", key,
                           policy_json_kind(v));
    *out = json_is_true(v);
    return 0;
}

/* Rego's truth: defined and not false. */
static bool truthy(const json_t *v)
{
    return v && !json_is_false(v);
}

int policy_client_registration_load(struct policy *p, char **error)
{
    const json_t *cr = json_object_get(p->data, "client_registration");
    const json_t *cm = json_object_get(p->data, "client_metadata");
    p->data_client_uri = json_is_object(cm) && truthy(json_object_get(cm, "client_uri"));
    if (!cr || json_is_null(cr))
        return 0;
    if (!json_is_object(cr))
        return policy_fail(error, -EINVAL, "policy.data.client_registration: expected an object, found a %s",
                           policy_json_kind(cr));
    int r;
    if ((r = flag(cr, "allow_insecure_uris", &p->allow_insecure_uris, error)) < 0 ||
        (r = flag(cr, "allow_host_mismatch", &p->allow_host_mismatch, error)) < 0)
        return r;
    return flag(cr, "allow_missing_client_uri", &p->allow_missing_client_uri, error);
}

#define span policy_span
#define uri  policy_uri

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static bool digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool path_char(char c) /* [A-Za-z0-9/._~-] */
{
    return lower_alnum(c) || (c >= 'A' && c <= 'Z') || (c && strchr("/._~-", c));
}
static bool query_char(char c) /* [-a-zA-Z0-9()@:%_+.~#?&/=] */
{
    return lower_alnum(c) || (c >= 'A' && c <= 'Z') || (c && strchr("-()@:%_+.~#?&/=", c));
}

/* (?P<path>/[A-Za-z0-9/._~-]*)?(?P<query>\?[-a-zA-Z0-9()@:%_+.~#?&/=]*)?$ from s. */
static bool match_tail(const char *s, struct uri *u)
{
    if (*s == '/') {
        const char *e = s + 1;
        while (path_char(*e))
            e++;
        u->path = (struct span){s, (size_t)(e - s)};
        s = e;
    }
    if (*s == '?') {
        const char *e = s + 1;
        while (query_char(*e))
            e++;
        u->query = (struct span){s, (size_t)(e - s)};
        s = e;
    }
    return *s == '\0';
}

/* (?:(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]) at s:
 * its length, or 0. What may follow a host (':', '/', '?', end) is never a label character,
 * so only the longest run of label characters and dots can be the match. */
static size_t dotted_labels(const char *s)
{
    size_t n = 0;
    while (lower_alnum(s[n]) || s[n] == '-' || s[n] == '.')
        n++;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        /* a label: s[start, i) */
        if (i == start || !lower_alnum(s[start]) || !lower_alnum(s[i - 1]))
            return 0;
        start = i + 1;
    }
    return n;
}

/* The regex's literal `127.0.0.1` and `0.0.0.0`, whose dots match any character. */
static size_t dotted_literal(const char *s, const char *pattern)
{
    size_t i = 0;
    for (; pattern[i]; i++)
        if (!s[i] || (pattern[i] != '.' && s[i] != pattern[i]) || s[i] == '\n')
            return 0;
    return i;
}

/* After the host (its end at s): (?::(?P<port>[0-9]+))? then the tail. */
static bool match_after_host(const char *s, struct uri *u)
{
    if (s[0] == ':' && digit(s[1])) {
        const char *e = s + 1;
        while (digit(*e))
            e++;
        struct uri save = *u;
        u->port = (struct span){s + 1, (size_t)(e - s - 1)};
        if (match_tail(e, u)) {
            u->authority.len = (size_t)(e - u->authority.s);
            return true;
        }
        *u = save;
    }
    if (match_tail(s, u)) {
        u->authority.len = (size_t)(s - u->authority.s);
        return true;
    }
    return false;
}

bool policy_parse_uri(const char *s, struct uri *u)
{
    /* an absent part is an empty span that still points somewhere: memcmp and memchr may be
     * given it with length 0 (C leaves them undefined on a null pointer) */
    static const struct span none = {"", 0};
    *u = (struct uri){none, none, none, none, none, none};
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    size_t n = 1;
    while (lower_alnum(s[n]) || (s[n] && strchr("+.-", s[n])))
        n++;
    if (s[n] != ':')
        return false;
    u->scheme = (struct span){s, n};
    const char *rest = s + n + 1;
    if (rest[0] == '/' && rest[1] == '/') {
        const char *h = rest + 2;
        size_t alts[4] = {dotted_labels(h), dotted_literal(h, "127.0.0.1"), dotted_literal(h, "0.0.0.0"),
                          strncmp(h, "[::1]", 5) == 0 ? 5 : 0};
        for (size_t i = 0; i < 4; i++) {
            if (!alts[i])
                continue;
            struct uri save = *u;
            u->host = (struct span){h, alts[i]};
            u->authority = (struct span){h, 0};
            if (match_after_host(h + alts[i], u))
                return true;
            *u = save;
        }
    }
    return match_tail(rest, u);
}

static bool parse_uri(const json_t *v, struct uri *u)
{
    *u = (struct uri){0};
    /* a NUL inside is in none of the regex's classes */
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
           policy_parse_uri(json_string_value(v), u);
}

static bool span_is(struct span s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.s, lit, s.len) == 0;
}

/* split(x, ".") as a list of spans. */
static size_t split_dots(struct span x, struct span *out, size_t max)
{
    size_t n = 0;
    const char *p = x.s, *end = x.s + x.len;
    for (;;) {
        const char *d = memchr(p, '.', (size_t)(end - p));
        if (n == max)
            return max + 1;
        out[n++] = (struct span){p, d ? (size_t)(d - p) : (size_t)(end - p)};
        if (!d)
            return n;
        p = d + 1;
    }
}

static bool span_eq(struct span a, struct span b)
{
    return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

#define MAX_PARTS 128

/* MAS: is_subdomain(host, subdomain) and reverse_dns_match(host, reverse_dns): the reversed
 * labels of host are a prefix of subdomain's labels (reversed too unless `reversed`). Rego's
 * array.slice clamps, so a shorter subdomain never matches. */
bool policy_labels_prefix(struct span host, struct span other, bool other_reversed)
{
    struct span h[MAX_PARTS + 1], o[MAX_PARTS + 1];
    size_t nh = split_dots(host, h, MAX_PARTS), no = split_dots(other, o, MAX_PARTS);
    if (nh > MAX_PARTS || no > MAX_PARTS || no < nh)
        return false; /* labels past MAX_PARTS cannot come from an URI of a sane length anyway */
    for (size_t i = 0; i < nh; i++)
        if (!span_eq(h[nh - 1 - i], other_reversed ? o[i] : o[no - 1 - i]))
            return false;
    return true;
}

struct ctx {
    const struct policy *p;
    const json_t *md;
};

static const json_t *field(const struct ctx *c, const char *key)
{
    return json_object_get(c->md, key);
}

/* MAS: secure_url */
static bool secure_url(const struct ctx *c, const json_t *x)
{
    if (c->p->allow_insecure_uris)
        return true;
    struct uri u;
    return parse_uri(x, &u) && span_is(u.scheme, "https") && !span_is(u.host, "localhost") &&
           !span_is(u.host, "127.0.0.1") && !span_is(u.host, "0.0.0.0") && !span_is(u.host, "[::1]");
}

/* MAS: host_matches_client_uri */
static bool host_matches_client_uri(const struct ctx *c, const json_t *x)
{
    if (c->p->allow_host_mismatch)
        return true;
    if (c->p->allow_missing_client_uri && !c->p->data_client_uri)
        return true;
    struct uri client, u;
    return parse_uri(field(c, "client_uri"), &client) && parse_uri(x, &u) &&
           policy_labels_prefix(client.host, u.host, false);
}

/* MAS: uses_grant_type (a string in an array, or a value of an object: Rego's `some … in`). */
static bool uses_grant_type(const struct ctx *c, const char *grant)
{
    const json_t *g = field(c, "grant_types");
    if (!truthy(g))
        return strcmp(grant, "authorization_code") == 0;
    const json_t *v;
    if (json_is_array(g)) {
        size_t i;
        json_array_foreach(g, i,
                           v) if (json_is_string(v) && strcmp(json_string_value(v), grant) == 0) return true;
    } else if (json_is_object(g)) {
        const char *k;
        json_object_foreach((json_t *)g, k,
                            v) if (json_is_string(v) && strcmp(json_string_value(v), grant) == 0) return true;
    }
    return false;
}

static bool field_is(const struct ctx *c, const char *key, const char *value)
{
    const json_t *v = field(c, key);
    return json_is_string(v) && strcmp(json_string_value(v), value) == 0;
}

static bool is_localhost(struct span host)
{
    return span_is(host, "localhost") || span_is(host, "127.0.0.1") || span_is(host, "[::1]");
}

/* MAS: valid_native_redirector */
static bool valid_native_redirector(const struct ctx *c, const json_t *x)
{
    struct uri u, client;
    if (!parse_uri(x, &u))
        return false;
    if (is_localhost(u.host) && span_is(u.scheme, "http"))
        return true;
    return !span_is(u.scheme, "http") && !span_is(u.scheme, "https") && u.authority.len == 0 &&
           parse_uri(field(c, "client_uri"), &client) && policy_labels_prefix(client.host, u.scheme, true);
}

/* MAS: valid_redirect_uri */
static bool valid_redirect_uri(const struct ctx *c, const json_t *x)
{
    if (field_is(c, "application_type", "native") && valid_native_redirector(c, x))
        return true;
    return secure_url(c, x) && host_matches_client_uri(c, x);
}

/* `not secure_url(input.client_metadata.<key>)` and the host rule for one of the URIs. */
static int check_uri(const struct ctx *c, const char *key, bool host_rule, struct policy_result *out)
{
    const json_t *v = field(c, key);
    int r = 0;
    if (!v) /* an undefined argument: the rules are undefined, no violation */
        return 0;
    if (!secure_url(c, v))
        r = policy_violation_add(out, NULL, 0, "invalid %s", key);
    if (r == 0 && host_rule && !host_matches_client_uri(c, v))
        r = policy_violation_add(out, NULL, 0, "%s not on the same host as the client_uri", key);
    return r;
}

static int invalid_redirect_uri(struct policy_result *out, const json_t *v)
{
    int r = policy_violation_add(out, NULL, 0, "invalid redirect_uri");
    if (r < 0)
        return r;
    /* the violation carries the value; a non-string one is shown as JSON */
    char *s =
        json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    out->violations[out->n - 1].redirect_uri = s;
    return 0;
}

int policy_client_registration(const struct policy *p, const json_t *client_metadata,
                               struct policy_result *out)
{
    policy_result_clear(out);
    struct ctx c = {p, client_metadata};
    int r = 0;
    if (!p->allow_missing_client_uri && !truthy(field(&c, "client_uri")))
        r = policy_violation_add(out, NULL, 0, "missing client_uri");
    if (r == 0)
        r = check_uri(&c, "client_uri", false, out);
    if (r == 0)
        r = check_uri(&c, "tos_uri", true, out);
    if (r == 0)
        r = check_uri(&c, "policy_uri", true, out);
    if (r == 0)
        r = check_uri(&c, "logo_uri", true, out);
    if (r == 0 && uses_grant_type(&c, "client_credentials") &&
        field_is(&c, "token_endpoint_auth_method", "none"))
        r = policy_violation_add(out, NULL, 0,
                                 "client_credentials grant_type requires some form of client authentication");
    bool requires = uses_grant_type(&c, "authorization_code") || uses_grant_type(&c, "implicit");
    const json_t *uris = field(&c, "redirect_uris");
    if (r == 0 && requires && !truthy(uris))
        r = policy_violation_add(out, NULL, 0, "missing redirect_uris");
    if (r == 0 && uris && !json_is_array(uris))
        r = policy_violation_add(out, NULL, 0, "invalid redirect_uris: it must be an array");
    /* count(): the items of an array or object, the characters of a string */
    bool empty = json_is_array(uris)    ? json_array_size(uris) == 0
                 : json_is_object(uris) ? json_object_size(uris) == 0
                 : json_is_string(uris) ? json_string_length(uris) == 0
                                        : false;
    if (r == 0 && requires && empty)
        r = policy_violation_add(out, NULL, 0,
                                 "invalid redirect_uris: it must have at least one redirect_uri");
    const json_t *v;
    if (json_is_array(uris)) {
        size_t i;
        json_array_foreach(uris, i, v) if (r == 0 && !valid_redirect_uri(&c, v)) r =
            invalid_redirect_uri(out, v);
    } else if (json_is_object(uris)) {
        const char *k;
        json_object_foreach((json_t *)uris, k, v) if (r == 0 && !valid_redirect_uri(&c, v)) r =
            invalid_redirect_uri(out, v);
    }
    if (r < 0) {
        policy_result_clear(out);
        return r;
    }
    policy_result_finish(out);
    return 0;
}
