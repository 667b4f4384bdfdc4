/* IDs, cursors, pages, scalars and user agents of the GraphQL API (gql_model.h). */
#include "gql_model.h"
#include "base64.h"
#include "user_agent.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *prefix, *variant;
} node_types[GQL_NODE_COUNT] = {
    [GQL_NODE_AUTHENTICATION] = {"authentication", "Authentication"},
    [GQL_NODE_BROWSER_SESSION] = {"browser_session", "BrowserSession"},
    [GQL_NODE_COMPAT_SESSION] = {"compat_session", "CompatSession"},
    [GQL_NODE_COMPAT_SSO_LOGIN] = {"compat_sso_login", "CompatSsoLogin"},
    [GQL_NODE_OAUTH2_CLIENT] = {"oauth2_client", "OAuth2Client"},
    [GQL_NODE_OAUTH2_SESSION] = {"oauth2_session", "OAuth2Session"},
    [GQL_NODE_UPSTREAM_OAUTH2_PROVIDER] = {"upstream_oauth2_provider", "UpstreamOAuth2Provider"},
    [GQL_NODE_UPSTREAM_OAUTH2_LINK] = {"upstream_oauth2_link", "UpstreamOAuth2Link"},
    [GQL_NODE_USER] = {"user", "User"},
    [GQL_NODE_USER_EMAIL] = {"user_email", "UserEmail"},
    [GQL_NODE_USER_EMAIL_AUTHENTICATION] = {"user_email_authentication", "UserEmailAuthentication"},
    [GQL_NODE_USER_RECOVERY_TICKET] = {"user_recovery_ticket", "UserRecoveryTicket"},
};

const char *gql_node_prefix(enum gql_node_type t)
{
    return t < GQL_NODE_COUNT ? node_types[t].prefix : "";
}

const char *gql_node_variant(enum gql_node_type t)
{
    return t < GQL_NODE_COUNT ? node_types[t].variant : "";
}

/* ---- IDs ---------------------------------------------------------------------------------- */

void gql_id_format(enum gql_node_type t, const char *ulid, char out[GQL_ID_MAX])
{
    snprintf(out, GQL_ID_MAX, "%s:%s", gql_node_prefix(t), ulid);
}

json_t *gql_id_json(enum gql_node_type t, const char *ulid)
{
    char id[GQL_ID_MAX];
    gql_id_format(t, ulid, id);
    return json_string(id);
}

static int ulid_copy(const char *s, size_t len, char ulid[ULID_LEN + 1])
{
    uint8_t bytes[16];
    if (len != ULID_LEN)
        return -EINVAL;
    memcpy(ulid, s, ULID_LEN);
    ulid[ULID_LEN] = '\0';
    return ulid_parse(ulid, bytes) < 0 ? -EINVAL : 0;
}

int gql_id_parse(const char *s, size_t len, enum gql_node_type *type, char ulid[ULID_LEN + 1])
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return -EINVAL;
    size_t plen = (size_t)(colon - s);
    for (unsigned t = 0; t < GQL_NODE_COUNT; t++) {
        const char *p = node_types[t].prefix;
        if (strlen(p) == plen && memcmp(p, s, plen) == 0) {
            if (ulid_copy(colon + 1, len - plen - 1, ulid) < 0)
                return -EINVAL;
            *type = t;
            return 0;
        }
    }
    return -EINVAL;
}

int gql_arg_id(const gql_resolve_info *info, const char *name, enum gql_node_type t, char ulid[ULID_LEN + 1])
{
    const json_t *v = json_object_get(info->args, name);
    enum gql_node_type got;
    if (!json_is_string(v) || gql_id_parse(json_string_value(v), json_string_length(v), &got, ulid) < 0 ||
        got != t)
        return gql_error(info, "invalid id");
    return 0;
}

void gql_parent_ulid(const gql_resolve_info *info, enum gql_node_type t, char ulid[ULID_LEN + 1])
{
    const json_t *v = json_object_get(info->parent, "id");
    enum gql_node_type got;
    if (!json_is_string(v) || gql_id_parse(json_string_value(v), json_string_length(v), &got, ulid) < 0 ||
        got != t)
        ulid[0] = '\0';
}

/* ---- cursors ------------------------------------------------------------------------------ */

char *gql_cursor_format(enum gql_node_type t, const char *ulid)
{
    char json[96];
    int n = snprintf(json, sizeof(json), "[\"%s\",\"%s\"]", gql_node_variant(t), ulid);
    if (n < 0 || (size_t)n >= sizeof(json))
        return NULL;
    return base64url_encode((const unsigned char *)json, (size_t)n);
}

/* The longest cursor: ["UserEmailAuthentication","<26>"] is 56 bytes, 75 in base64url. */
#define CURSOR_MAX 128

int gql_cursor_parse(const char *s, size_t len, unsigned accepted, enum gql_node_type *type,
                     char ulid[ULID_LEN + 1])
{
    unsigned char raw[CURSOR_MAX];
    size_t n = 0;
    if (len > CURSOR_MAX || base64url_decode(s, len, raw, &n) < 0)
        return -EINVAL;
    json_error_t e;
    json_t *v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, &e);
    int r = -EINVAL;
    const json_t *variant = json_array_get(v, 0), *id = json_array_get(v, 1);
    if (json_is_array(v) && json_array_size(v) == 2 && json_is_string(variant) && json_is_string(id)) {
        for (unsigned t = 0; t < GQL_NODE_COUNT; t++)
            if (strcmp(node_types[t].variant, json_string_value(variant)) == 0 &&
                json_string_length(variant) == strlen(node_types[t].variant) &&
                (accepted & GQL_NODE_BIT(t)) &&
                ulid_copy(json_string_value(id), json_string_length(id), ulid) == 0) {
                *type = t;
                r = 0;
            }
    }
    json_decref(v);
    return r;
}

/* ---- relay connections -------------------------------------------------------------------- */

/* An Int argument: 1 given (*out set), 0 absent or null, -1 negative (a field error). */
static int count_arg(const gql_resolve_info *info, const char *name, unsigned *out)
{
    const json_t *v = json_object_get(info->args, name);
    if (!json_is_integer(v))
        return 0;
    if (json_integer_value(v) < 0)
        return gql_error(info, "The \"%s\" parameter must be a non-negative number", name);
    *out = (unsigned)json_integer_value(v);
    return 1;
}

static int cursor_arg(const gql_resolve_info *info, const char *name, unsigned accepted,
                      enum gql_node_type *type, char ulid[ULID_LEN + 1])
{
    const json_t *v = json_object_get(info->args, name);
    ulid[0] = '\0';
    if (!json_is_string(v))
        return 0;
    if (gql_cursor_parse(json_string_value(v), json_string_length(v), accepted, type, ulid) < 0)
        return gql_error(info, "invalid cursor");
    return 0;
}

int gql_page_args(const gql_resolve_info *info, unsigned accepted, struct gql_page *p)
{
    *p = (struct gql_page){0};
    unsigned first = 0, last = 0;
    int f = count_arg(info, "first", &first), l = f < 0 ? 0 : count_arg(info, "last", &last);
    if (f < 0 || l < 0)
        return -1;
    if (!f && !l)
        return gql_error(info, "Either 'first' or 'last' must be specified");
    p->backward = !f;
    p->limit = f ? first : last;
    if (cursor_arg(info, "after", accepted, &p->after_type, p->after) < 0 ||
        cursor_arg(info, "before", accepted, &p->before_type, p->before) < 0)
        return -1;
    return 0;
}

void gql_connection_init(struct gql_connection *c, const struct gql_page *page)
{
    *c = (struct gql_connection){.page = page, .edges = json_array()};
}

int gql_connection_add(struct gql_connection *c, enum gql_node_type t, const char *ulid, json_t *node)
{
    char *cursor = gql_cursor_format(t, ulid);
    json_t *edge = cursor && node ? json_pack("{s:s, s:o}", "cursor", cursor, "node", node) : NULL;
    free(cursor);
    if (!edge) {
        json_decref(node);
        return -ENOMEM;
    }
    if (!c->edges || json_array_append_new(c->edges, edge) < 0)
        return -ENOMEM;
    c->n++;
    return 0;
}

void gql_connection_clear(struct gql_connection *c)
{
    json_decref(c->edges);
    c->edges = NULL;
    c->n = 0;
}

json_t *gql_connection_finish(struct gql_connection *c, long long total)
{
    const struct gql_page *p = c->page;
    json_t *edges = c->edges, *nodes = json_array(), *out = NULL;
    c->edges = NULL;
    if (!edges || !nodes)
        goto done;
    bool more = c->n > p->limit;
    while (json_array_size(edges) > p->limit)
        json_array_remove(edges, json_array_size(edges) - 1);
    if (p->backward) { /* DESC from storage: back to ascending */
        size_t n = json_array_size(edges);
        for (size_t i = 0; i < n / 2; i++) {
            json_t *a = json_incref(json_array_get(edges, i)),
                   *b = json_incref(json_array_get(edges, n - 1 - i));
            json_array_set_new(edges, i, b);
            json_array_set_new(edges, n - 1 - i, a);
        }
    }
    size_t i, n = json_array_size(edges);
    json_t *e;
    json_array_foreach(edges, i, e) json_array_append(nodes, json_object_get(e, "node"));
    const char *start = n ? json_string_value(json_object_get(json_array_get(edges, 0), "cursor")) : NULL;
    const char *end = n ? json_string_value(json_object_get(json_array_get(edges, n - 1), "cursor")) : NULL;
    json_t *info = json_pack("{s:b, s:b, s:s?, s:s?}", "hasPreviousPage", p->backward && more, "hasNextPage",
                             !p->backward && more, "startCursor", start, "endCursor", end);
    out = info ? json_pack("{s:O, s:O, s:o}", "edges", edges, "nodes", nodes, "pageInfo", info) : NULL;
    if (out && total >= 0)
        json_object_set_new(out, "totalCount", json_integer(total));
done:
    json_decref(edges);
    json_decref(nodes);
    c->n = 0;
    return out;
}

/* ---- scalars ------------------------------------------------------------------------------ */

json_t *gql_datetime(int64_t ms)
{
    if (!ms)
        return json_null();
    time_t t = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        t--;
        frac += 1000;
    }
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&t, &tm))
        return json_null();
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, frac ? ".%03dZ" : "Z", frac);
    return json_string(buf);
}

static int digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
    int v = 0;
    if (at + n > len)
        return -EINVAL;
    for (size_t i = at; i < at + n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int gql_datetime_parse(const char *s, size_t len, int64_t *ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, oh = 0, om = 0, frac = 0;
    if (digits(s, len, 0, 4, &y) < 0 || len < 20 || s[4] != '-' || digits(s, len, 5, 2, &mo) < 0 ||
        s[7] != '-' || digits(s, len, 8, 2, &d) < 0 || (s[10] != 'T' && s[10] != 't') ||
        digits(s, len, 11, 2, &h) < 0 || s[13] != ':' || digits(s, len, 14, 2, &mi) < 0 || s[16] != ':' ||
        digits(s, len, 17, 2, &sec) < 0)
        return -EINVAL;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
        mi > 59 || sec > 60)
        return -EINVAL;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (i - start < 3)
                frac = frac * 10 + (s[i] - '0');
        if (i == start || i - start > 9)
            return -EINVAL;
        for (size_t k = i - start; k < 3; k++)
            frac *= 10;
    }
    int sign = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z'))
        sign = 0;
    else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && digits(s, len, i + 1, 2, &oh) == 0 &&
             s[i + 3] == ':' && digits(s, len, i + 4, 2, &om) == 0 && oh <= 23 && om <= 59)
        sign = s[i] == '+' ? 1 : -1;
    else
        return -EINVAL;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (sec == 60 ? 59 : sec);
    t -= sign * (oh * 3600 + om * 60);
    *ms = t * 1000 + frac;
    return 0;
}

static int datetime_in(const json_t *in, json_t **out, const char **message)
{
    int64_t ms;
    if (!json_is_string(in) || gql_datetime_parse(json_string_value(in), json_string_length(in), &ms) < 0) {
        *message = "expected an RFC 3339 date-time, such as \"2026-01-31T12:00:00Z\"";
        return -1;
    }
    *out = json_integer(ms);
    return 0;
}

static int string_out(const json_t *in, json_t **out, const char **message)
{
    if (!json_is_string(in)) {
        *message = "expected a string";
        return -1;
    }
    *out = json_incref((json_t *)in);
    return 0;
}

static int string_in(const json_t *in, json_t **out, const char **message)
{
    if (!json_is_string(in)) {
        *message = "expected a URL as a string";
        return -1;
    }
    *out = json_incref((json_t *)in);
    return 0;
}

const gql_scalar gql_scalars[] = {
    {"DateTime", datetime_in, string_out},
    {"Url", string_in, string_out},
    {NULL, NULL, NULL},
};

json_t *gql_user_agent(const char *raw)
{
    if (!raw || !raw[0])
        return NULL;
    struct user_agent ua;
    user_agent_parse(masd_str_from(raw), &ua);
    static const char *const device[] = {
        [UA_DEVICE_UNKNOWN] = "UNKNOWN",
        [UA_DEVICE_PC] = "PC",
        [UA_DEVICE_MOBILE] = "MOBILE",
        [UA_DEVICE_TABLET] = "TABLET",
    };
#define OR_NULL(s) ((s)[0] ? (s) : NULL)
    return json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s}", "raw", raw, "name", OR_NULL(ua.name),
                     "version", OR_NULL(ua.version), "os", OR_NULL(ua.os), "osVersion",
                     OR_NULL(ua.os_version), "model", OR_NULL(ua.model), "deviceType",
                     ua.device_type <= UA_DEVICE_TABLET ? device[ua.device_type] : "UNKNOWN");
#undef OR_NULL
}
