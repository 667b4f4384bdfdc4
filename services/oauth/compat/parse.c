/* Parsers of the compat API's inputs: every rule MAS applies to a body before it looks at the
 * database lives here, so that the handlers only route and the rules stay testable. */
#include "compat/parse.h"
#include "form.h"
#include "homeserver.h"
#include "storage.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

static int fail(struct compat_error *err, int status, const char *errcode, const char *error)
{
    *err = (struct compat_error){status, errcode, error};
    return -EINVAL;
}

/* application/json or application/<x>+json, with any parameters (charset=utf-8). */
static bool json_media_type(masd_str ct)
{
    if (masd_media_type_is(ct, MASD_STR("application/json")))
        return true;
    const char *semi = ct.len ? memchr(ct.ptr, ';', ct.len) : NULL;
    masd_str type = masd_str_trim((masd_str){ct.ptr, semi ? (size_t)(semi - ct.ptr) : ct.len});
    masd_str prefix = MASD_STR("application/"), suffix = MASD_STR("+json");
    return type.len > prefix.len + suffix.len && strncasecmp(type.ptr, prefix.ptr, prefix.len) == 0 &&
           strncasecmp(type.ptr + type.len - suffix.len, suffix.ptr, suffix.len) == 0;
}

int compat_json_body(masd_str content_type, masd_str body, bool empty_ok, json_t **out,
                     struct compat_error *err)
{
    *out = NULL;
    if (content_type.ptr && !json_media_type(content_type))
        return fail(err, 400, "M_NOT_JSON", "Invalid Content-Type header: expected application/json");
    if (body.len > COMPAT_BODY_MAX)
        return fail(err, 413, "M_TOO_LARGE", "Request body too large");
    if (body.len == 0 && empty_ok)
        return 0;
    json_error_t jerr;
    *out = json_loadb(body.ptr ? body.ptr : "", body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!*out)
        return fail(err, 400, "M_NOT_JSON", "Body is not a valid JSON document");
    return 0;
}

/* An optional string member: absent or null → *out NULL; anything but a string → -EINVAL. */
static int optional_string(const json_t *doc, const char *key, const char **out)
{
    const json_t *v = json_object_get(doc, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EINVAL;
    *out = json_string_value(v);
    return 0;
}

/* The user: top-level `user` wins (Synapse-compatible), else identifier.user of m.id.user. */
static int parse_user(const json_t *doc, struct compat_login_request *out, struct compat_error *err)
{
    const json_t *id = json_object_get(doc, "identifier");
    const char *id_type = NULL, *id_user = NULL;
    if (optional_string(doc, "user", &out->user) < 0)
        return fail(err, 400, "M_BAD_JSON", "JSON fields are not valid");
    if (id && !json_is_null(id)) {
        if (!json_is_object(id) || optional_string(id, "type", &id_type) < 0 || !id_type ||
            optional_string(id, "user", &id_user) < 0)
            return fail(err, 400, "M_BAD_JSON", "JSON fields are not valid");
        if (strcmp(id_type, "m.id.user") == 0 && !id_user)
            return fail(err, 400, "M_BAD_JSON", "JSON fields are not valid");
    }
    if (out->user)
        return 0;
    if (!id_type)
        return fail(err, 400, "M_BAD_JSON", "Missing property 'identifier'");
    if (strcmp(id_type, "m.id.user") != 0)
        return fail(err, 400, "M_UNKNOWN", "Unsupported login identifier");
    out->user = id_user;
    return 0;
}

int compat_login_parse(const json_t *doc, struct compat_login_request *out, struct compat_error *err)
{
    const char *type = NULL;
    *out = (struct compat_login_request){0};
    if (!json_is_object(doc) || optional_string(doc, "type", &type) < 0 || !type)
        return fail(err, 400, "M_BAD_JSON", "JSON fields are not valid");
    if (strcmp(type, "m.login.password") == 0)
        out->type = COMPAT_LOGIN_PASSWORD;
    else if (strcmp(type, "m.login.token") == 0)
        out->type = COMPAT_LOGIN_TOKEN;
    else
        return fail(err, 400, "M_UNKNOWN", "Invalid login type");
    const json_t *rt = json_object_get(doc, "refresh_token");
    const json_t *secret = json_object_get(doc, out->type == COMPAT_LOGIN_TOKEN ? "token" : "password");
    if ((rt && !json_is_null(rt) && !json_is_boolean(rt)) ||
        optional_string(doc, "device_id", &out->device_id) < 0 ||
        optional_string(doc, "initial_device_display_name", &out->display_name) < 0 ||
        !json_is_string(secret))
        return fail(err, 400, "M_BAD_JSON", "JSON fields are not valid");
    out->refresh_token = json_is_true(rt);
    if (out->device_id && !out->device_id[0])
        out->device_id = NULL; /* an empty device ID asks for a new one, as Synapse reads it */
    /* MAS stores any device ID; the database column is bounded, so say so instead of failing. */
    if (out->device_id && strlen(out->device_id) > STORAGE_DEVICE_ID_MAX)
        return fail(err, 400, "M_INVALID_PARAM", "device_id is too long");
    /* The homeserver refuses a longer name (with the same error); refused here, before a session
     * exists, rather than when the device is created. */
    if (out->display_name && u8_mbsnlen((const uint8_t *)out->display_name, strlen(out->display_name)) >
                                 HOMESERVER_DEVICE_NAME_MAX)
        return fail(err, 400, "M_TOO_LARGE", "initial_device_display_name is too long");
    /* MAS stores any device ID, but one that cannot be written in a scope token can never be
     * introspected by a homeserver that does not send X-MAS-Supports-Device-Id: refuse it. */
    if (out->device_id && !compat_device_id_ok(out->device_id))
        return fail(err, 400, "M_INVALID_PARAM",
                    "device_id may only contain printable ASCII characters "
                    "other than space, '\"' and '\\'");
    if (out->type == COMPAT_LOGIN_TOKEN) {
        out->token = json_string_value(secret);
        return 0;
    }
    out->password = json_string_value(secret);
    out->password_len = json_string_length(secret);
    return parse_user(doc, out, err);
}

bool compat_device_id_ok(const char *id)
{
    if (!*id)
        return false;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')
            return false;
    return true;
}

bool compat_bearer_token(masd_str header, masd_str *token)
{
    masd_str h = masd_str_trim(header), scheme = MASD_STR("Bearer ");
    if (h.len <= scheme.len || strncasecmp(h.ptr, scheme.ptr, scheme.len) != 0)
        return false;
    *token = masd_str_trim((masd_str){h.ptr + scheme.len, h.len - scheme.len});
    return token->len > 0;
}

/* ---- compat SSO ------------------------------------------------------------------------------ */

/* Every refusal of a redirectUrl is one of these sentences, answered as the error as it is. */
#define BAD(why) "Invalid redirectUrl: " why

/* The URL being written: out, its size, how much is used; a failure sticks. */
struct url_out {
    char *p;
    size_t size, len;
    bool full;
};

static void put(struct url_out *o, const char *s, size_t n)
{
    if (o->full || o->len + n >= o->size) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static bool alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Path, query and fragment: what is kept, what is percent-encoded, what refuses the URL. */
static const char *put_rest(struct url_out *o, masd_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '%' && (i + 2 >= s.len || masd_hexval(s.ptr[i + 1]) < 0 || masd_hexval(s.ptr[i + 2]) < 0))
            return BAD("a malformed percent escape");
        if (c >= 0x80 || strchr(" \"<>`{}|^", c)) {
            char esc[4];
            snprintf(esc, sizeof(esc), "%%%02X", c);
            put(o, esc, 3);
        } else {
            put(o, (const char *)&c, 1);
        }
    }
    return NULL;
}

/* host [ ":" port ] of an authority without userinfo. web: http or https (a host is required). */
static const char *put_authority(struct url_out *o, masd_str a, bool web)
{
    size_t i = 0;
    if (a.len && a.ptr[0] == '[') { /* an IPv6 literal (RFC 3986 §3.2.2; no zone, no IPvFuture) */
        for (i = 1; i < a.len && a.ptr[i] != ']'; i++)
            if (!(digit((unsigned char)a.ptr[i]) || strchr("abcdefABCDEF:.", a.ptr[i])))
                return BAD("a host that is not a valid IPv6 literal");
        if (i == a.len || i == 1)
            return BAD("a host that is not a valid IPv6 literal");
        i++;
    } else {
        for (; i < a.len && a.ptr[i] != ':'; i++) {
            unsigned char c = (unsigned char)a.ptr[i];
            if (!(alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' || c == '~'))
                return BAD("a host with characters other than letters, digits, '-', '.', '_' and '~'");
        }
    }
    if (web && i == 0)
        return BAD("no host");
    for (size_t k = 0; k < i; k++) {
        char c = (char)lower((unsigned char)a.ptr[k]);
        put(o, &c, 1);
    }
    if (i == a.len)
        return NULL;
    if (a.ptr[i] != ':')
        return BAD("a host that is not a valid IPv6 literal");
    masd_str port = {a.ptr + i + 1, a.len - i - 1};
    unsigned long value = 0;
    for (size_t k = 0; k < port.len; k++) {
        if (!digit((unsigned char)port.ptr[k]))
            return BAD("a port that is not a number");
        value = value * 10 + (unsigned long)(port.ptr[k] - '0');
        if (value > 65535)
            return BAD("a port above 65535");
    }
    if (port.len) { /* an empty port is no port (RFC 3986 §3.2.3) */
        put(o, ":", 1);
        put(o, port.ptr, port.len);
    }
    return NULL;
}

int compat_redirect_url_parse(masd_str in, char *out, size_t size, const char **why)
{
    static const char *const refused_schemes[] = {"javascript", "data", "vbscript", "file", "blob", "about"};
    struct url_out o = {out, size, 0, size == 0};
    if (size)
        out[0] = '\0';
    *why = NULL;
    if (in.len >= size)
        return *why = BAD("it is too long"), -EINVAL;
    if (u8_check((const uint8_t *)in.ptr, in.len))
        return *why = BAD("it is not UTF-8"), -EINVAL;
    for (size_t i = 0; i < in.len; i++)
        if ((unsigned char)in.ptr[i] < 0x20 || in.ptr[i] == 0x7f || in.ptr[i] == '\\')
            return *why = BAD("it contains a control character or a backslash"), -EINVAL;
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (RFC 3986 §3.1) */
    size_t n = 0;
    while (n < in.len && (alpha((unsigned char)in.ptr[n]) ||
                          (n && (digit((unsigned char)in.ptr[n]) || strchr("+-.", in.ptr[n])))))
        n++;
    if (n == 0 || n == in.len || in.ptr[n] != ':')
        return *why = BAD("it is not an absolute URL"), -EINVAL;
    char scheme[32];
    if (n >= sizeof(scheme))
        return *why = BAD("its scheme is too long"), -EINVAL;
    for (size_t i = 0; i < n; i++)
        scheme[i] = (char)lower((unsigned char)in.ptr[i]);
    scheme[n] = '\0';
    for (size_t i = 0; i < sizeof(refused_schemes) / sizeof(refused_schemes[0]); i++)
        if (strcmp(scheme, refused_schemes[i]) == 0)
            return *why = BAD("its scheme is not one a client can receive a login at"), -EINVAL;
    bool web = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
    put(&o, scheme, n);
    put(&o, ":", 1);
    masd_str rest = {in.ptr + n + 1, in.len - n - 1};
    if (rest.len >= 2 && rest.ptr[0] == '/' && rest.ptr[1] == '/') {
        size_t a = 2;
        while (a < rest.len && !strchr("/?#", rest.ptr[a]))
            a++;
        masd_str authority = {rest.ptr + 2, a - 2};
        if (memchr(authority.ptr, '@', authority.len))
            return *why = BAD("it has a user name or password"), -EINVAL;
        put(&o, "//", 2);
        if ((*why = put_authority(&o, authority, web)))
            return -EINVAL;
        rest = (masd_str){rest.ptr + a, rest.len - a};
    } else if (web) {
        return *why = BAD("no host"), -EINVAL;
    }
    if (web && (rest.len == 0 || rest.ptr[0] != '/'))
        put(&o, "/", 1); /* "https://app.example" is "https://app.example/" (RFC 3986 §6.2.3) */
    if ((*why = put_rest(&o, rest)))
        return -EINVAL;
    if (o.full)
        return *why = BAD("it is too long"), -EINVAL;
    /* the query, up to the fragment: no loginToken of its own */
    size_t before_fragment = strcspn(out, "#");
    const char *q = memchr(out, '?', before_fragment);
    if (q) {
        masd_str query = {q + 1, strcspn(q + 1, "#")}, key, value;
        char name[3 * sizeof("loginToken")]; /* room for the name with every byte escaped */
        while (form_next(&query, &key, &value))
            if (key.len < sizeof(name) && form_decode(key, name) == strlen("loginToken") &&
                memcmp(name, "loginToken", strlen("loginToken")) == 0)
                return *why = BAD("it has a loginToken parameter already"), -EINVAL;
    }
    return 0;
}

static enum compat_sso_action sso_action(masd_str query, const char *name)
{
    char *v = NULL;
    enum compat_sso_action a = COMPAT_SSO_ACTION_NONE;
    if (form_get(query, name, &v) == 1)
        a = strcmp(v, "login") == 0      ? COMPAT_SSO_ACTION_LOGIN
            : strcmp(v, "register") == 0 ? COMPAT_SSO_ACTION_REGISTER
                                         : COMPAT_SSO_ACTION_NONE;
    free(v);
    return a;
}

int compat_sso_redirect_parse(masd_str query, struct compat_sso_redirect_request *out,
                              struct compat_error *err)
{
    char *url = NULL;
    const char *why;
    *out = (struct compat_sso_redirect_request){0};
    int r = form_get(query, "redirectUrl", &url);
    if (r == 0)
        return fail(err, 400, "M_MISSING_PARAM", "Missing redirectUrl");
    if (r == -ENOMEM)
        return fail(err, 500, "M_UNKNOWN", "Internal server error");
    if (r < 0)
        return fail(err, 400, "M_INVALID_PARAM",
                    r == -EEXIST ? BAD("it is given twice") : BAD("it does not decode"));
    r = compat_redirect_url_parse(masd_str_from(url), out->redirect_url, sizeof(out->redirect_url), &why);
    free(url);
    if (r < 0)
        return fail(err, 400, "M_INVALID_PARAM", why);
    out->action = sso_action(query, "action");
    if (out->action == COMPAT_SSO_ACTION_NONE)
        out->action = sso_action(query, "org.matrix.msc3824.action");
    return 0;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int compat_sso_idp_parse(masd_str path, char *out, size_t size)
{
    static const char marker[] = "/login/sso/redirect";
    const char *end = path.ptr + path.len, *at = NULL;
    if (!size)
        return -EINVAL;
    out[0] = '\0';
    for (const char *p = path.ptr; p && p + sizeof(marker) - 1 <= end;) {
        const char *hit = memmem(p, (size_t)(end - p), marker, sizeof(marker) - 1);
        if (!hit)
            break;
        at = hit + sizeof(marker) - 1, p = hit + 1;
    }
    if (!at || at == end || (*at == '/' && at + 1 == end))
        return -ENOENT;
    if (*at != '/')
        return -EINVAL;
    size_t n = 0;
    for (const char *p = at + 1; p < end; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = p + 2 < end ? hex_value(p[1]) : -1, lo = p + 2 < end ? hex_value(p[2]) : -1;
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = hi * 16 + lo, p += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '/' || n + 1 >= size)
            return -EINVAL;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}
