/* Parsers of the compat API's inputs: every rule MAS applies to a body before it looks at the
 * database lives here, so that the handlers only route and the rules stay testable. */
#include "compat/parse.h"
#include "homeserver.h"
#include "storage.h"
#include <errno.h>
#include <string.h>

static int fail(struct compat_error *err, int status, const char *errcode, const char *error)
{
    *err = (struct compat_error){status, errcode, error};
    return -EINVAL;
}

/* application/json or application/<x>+json, with any parameters (charset=utf-8). */
/* Characters in a string jansson has checked to be UTF-8: the bytes that start one. */
static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

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
    /* masd offers password login only (no SSO yet, hence no login tokens to exchange). */
    if (strcmp(type, "m.login.password") != 0)
        return fail(err, 400, "M_UNKNOWN", "Invalid login type");
    const json_t *rt = json_object_get(doc, "refresh_token"), *pw = json_object_get(doc, "password");
    if ((rt && !json_is_null(rt) && !json_is_boolean(rt)) ||
        optional_string(doc, "device_id", &out->device_id) < 0 ||
        optional_string(doc, "initial_device_display_name", &out->display_name) < 0 || !json_is_string(pw))
        return fail(err, 400, "M_BAD_JSON", "JSON fields are not valid");
    out->refresh_token = json_is_true(rt);
    out->password = json_string_value(pw);
    out->password_len = json_string_length(pw);
    if (out->device_id && !out->device_id[0])
        out->device_id = NULL; /* an empty device ID asks for a new one, as Synapse reads it */
    /* MAS stores any device ID; the database column is bounded, so say so instead of failing. */
    if (out->device_id && strlen(out->device_id) > STORAGE_DEVICE_ID_MAX)
        return fail(err, 400, "M_INVALID_PARAM", "device_id is too long");
    /* The homeserver refuses a longer name (with the same error); refused here, before a session
     * exists, rather than when the device is created. */
    if (out->display_name && utf8_length(out->display_name) > HOMESERVER_DEVICE_NAME_MAX)
        return fail(err, 400, "M_TOO_LARGE", "initial_device_display_name is too long");
    /* MAS stores any device ID, but one that cannot be written in a scope token can never be
     * introspected by a homeserver that does not send X-MAS-Supports-Device-Id: refuse it. */
    if (out->device_id && !compat_device_id_ok(out->device_id))
        return fail(err, 400, "M_INVALID_PARAM",
                    "device_id may only contain printable ASCII characters "
                    "other than space, '\"' and '\\'");
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
