/* The pure parsers of the Matrix compat API (MAS: crates/handlers/src/compat/): JSON bodies, the
 * login request, Bearer tokens. No request, no storage: unit-tested and fuzzed. The user ID of a
 * login is read by password_login_username() (common/login/), which the HTML login shares. */
#pragma once
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

enum compat_login_type { COMPAT_LOGIN_PASSWORD };

struct compat_login_request {
    enum compat_login_type type;
    const char *user; /* borrowed from the JSON document */
    const char *password;
    size_t password_len;
    const char *device_id;    /* NULL: draw one */
    const char *display_name; /* initial_device_display_name, or NULL */
    bool refresh_token;
};

/* Reads a POST /login document (§4.3). Returns 0, or -EINVAL with *err (400 M_BAD_JSON for a
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
