/* The pure parsers of the Matrix compat API (MAS: crates/handlers/src/compat/): JSON bodies, the
 * login request, Bearer tokens. No request, no storage: unit-tested and fuzzed. The user ID of a
 * login is read by password_login_username() (common/login/), which the HTML login shares. */
#pragma once
#include "storage.h"
#include "str.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define COMPAT_BODY_MAX (64 * 1024) /* larger bodies: 413 M_TOO_LARGE */

/* A rejected input: the HTTP status and the Matrix error it is answered with. */
struct compat_error {
    int status;
    const char *errcode;
    const char *error;
};

/* MAS's MatrixJsonBody rules (§4.1): Content-Type absent or application/json or
 * application/<type>+json (parameters allowed); at most COMPAT_BODY_MAX bytes; a valid JSON document
 * without duplicate keys. empty_ok: an empty body counts as no body (*out = NULL). Returns 0 and
 * *out (a new reference), or -EINVAL with *err filled. */
int compat_json_body(masd_str content_type, masd_str body, bool empty_ok, json_t **out,
                     struct compat_error *err);

enum compat_login_type { COMPAT_LOGIN_PASSWORD, COMPAT_LOGIN_TOKEN };

struct compat_login_request {
    enum compat_login_type type;
    const char *user; /* m.login.password: borrowed from the JSON document */
    const char *password;
    size_t password_len;
    const char *token;        /* m.login.token: the loginToken of a compat SSO login */
    const char *device_id;    /* NULL: draw one */
    const char *display_name; /* initial_device_display_name, or NULL */
    bool refresh_token;
};

/* Reads a POST /login document (MAS: crates/handlers/src/compat/login.rs): m.login.password or
 * m.login.token. Returns 0, or -EINVAL with *err (400 M_BAD_JSON for a
 * wrong shape, 400 M_UNKNOWN for an unsupported login type or identifier, 400 M_INVALID_PARAM
 * for a device ID masd cannot store or that no scope token can carry). The strings point into doc. */
int compat_login_parse(const json_t *doc, struct compat_login_request *out, struct compat_error *err);

/* Whether a device ID can be written in the device scope token
 * (urn:matrix:org.matrix.msc2967.client:device:<id>): non-empty, and only RFC 6749 §3.3
 * scope-token characters (%x21 / %x23-5B / %x5D-7E), the rule introspection applies. */
bool compat_device_id_ok(const char *id);

/* The token of an "Authorization: Bearer <token>" value (scheme case-insensitive). Returns
 * false when the value is not a Bearer credential. */
bool compat_bearer_token(masd_str header, masd_str *token);

/* ---- compat SSO: GET /_matrix/client/{version}/login/sso/redirect (MAS:
 * crates/handlers/src/compat/login_sso_redirect.rs) ------------------------------------------- */

/* MSC3824: what the client means to do; anything else is no action. */
enum compat_sso_action { COMPAT_SSO_ACTION_NONE, COMPAT_SSO_ACTION_LOGIN, COMPAT_SSO_ACTION_REGISTER };

struct compat_sso_redirect_request {
    char redirect_url[STORAGE_URI_MAX + 1]; /* normalised by compat_redirect_url_parse */
    enum compat_sso_action action;
};

/* The query of the redirect: `redirectUrl` (required, compat_redirect_url_parse's rules) and
 * `action`, else `org.matrix.msc3824.action` (an unknown value is no action, as MAS). Returns 0,
 * or -EINVAL with *err: 400 M_MISSING_PARAM without redirectUrl, 400 M_INVALID_PARAM for one
 * that is not acceptable or given twice (which one was meant is unknown). */
int compat_sso_redirect_parse(masd_str query, struct compat_sso_redirect_request *out,
                              struct compat_error *err);

/* The identity provider of /_matrix/client/{version}/login/sso/redirect/{idp}: the path's
 * segment after "/login/sso/redirect/", percent-decoded, into out. 0; -ENOENT when the path has
 * none (".../redirect" or ".../redirect/"); -EINVAL when it is not one masd could know: a bad
 * escape, a decoded control character or '/', or longer than size - 1 bytes. */
int compat_sso_idp_parse(masd_str path, char *out, size_t size);

/* The URL a compat SSO login sends the browser back to with its loginToken: an absolute URL
 * (RFC 3986 §4.3) that MAS's parser (WHATWG URL) would read the same way, without userinfo,
 * with a host when its scheme is http or https, not one of the schemes that are no place for a
 * client to receive a login (javascript, data, vbscript, file, blob, about), and without a
 * loginToken parameter of its own (the one masd adds must be the only one). Written to out in
 * the form it is stored and later extended: scheme and host lower-cased, an empty port dropped,
 * an empty http(s) path as "/", and space, '"', '<', '>', '`', '{', '}', '|', '^' and non-ASCII
 * bytes percent-encoded (as WHATWG does for most; the rest never belong in a Location header).
 * Refused: control characters, '\\' (WHATWG reads it as '/' in http(s) URLs, a known parser
 * split), invalid UTF-8, a malformed percent escape, a port above 65535, a host with other
 * characters than letters, digits, '-', '.', '_', '~' (IDNs come as A-labels) or an IPv6 literal,
 * and anything longer than size - 1 bytes. Returns 0, or -EINVAL with *why, a static sentence ("Invalid
 * redirectUrl: it has a user name or password") that is the Matrix error's text. */
int compat_redirect_url_parse(masd_str in, char *out, size_t size, const char **why);
