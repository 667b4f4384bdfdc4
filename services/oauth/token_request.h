/* The token and device authorization endpoints' pure parts (MAS:
 * crates/oauth2-types/src/requests.rs AccessTokenRequest and DeviceAuthorizationRequest,
 * crates/oauth2-types/src/pkce.rs, crates/data-model/src/oauth2/session.rs devices): the forms
 * as structs, PKCE (RFC 7636) and the devices a scope names. No I/O: the unit tests and the fuzz
 * targets link this file alone. */
#pragma once
#include "str.h"
#include <stdbool.h>
#include <stddef.h>

enum token_grant {
    TOKEN_GRANT_AUTHORIZATION_CODE,
    TOKEN_GRANT_REFRESH_TOKEN,
    TOKEN_GRANT_CLIENT_CREDENTIALS,
    TOKEN_GRANT_DEVICE_CODE, /* urn:ietf:params:oauth:grant-type:device_code */
    TOKEN_GRANT_UNSUPPORTED, /* any other grant_type value (MAS: #[serde(other)]) */
};

#define TOKEN_PARAM_MAX 4096 /* any one parameter, decoded */

struct token_request {
    enum token_grant grant;
    /* Every string malloc'd, NUL-terminated, NULL when absent. */
    char *code, *redirect_uri, *code_verifier; /* authorization_code (code required) */
    char *refresh_token;                       /* refresh_token (required) */
    char *device_code;                         /* device_code (required) */
    char *scope; /* refresh_token, client_credentials: normalised (sorted, deduplicated); "" empty */
};

/* Reads the form (still percent-encoded) after the client's credentials were read from it. 0, or
 * -EINVAL with *why (400 invalid_request): a parameter twice (RFC 6749 §3.1), a bad escape, not
 * UTF-8, a parameter longer than TOKEN_PARAM_MAX, no grant_type, the grant's required parameter
 * missing, a redirect_uri that is not an absolute URI, a malformed scope (RFC 6749 §3.3). An
 * unknown grant_type is not an error here (TOKEN_GRANT_UNSUPPORTED). -ENOMEM. On failure *req
 * is cleared. */
int token_request_parse(masd_str form, struct token_request *req, const char **why);
void token_request_clear(struct token_request *req);

/* POST /oauth2/device's form (RFC 8628 §3.1), read after the client's credentials were read from
 * it: its scope, normalised (oauth_scope.h), "" when absent (MAS: the empty scope); every other
 * parameter is ignored. 0 (*scope malloc'd), -EINVAL with *why (400 invalid_request) as
 * token_request_parse for the form and a malformed scope, -ENOMEM. */
int device_request_parse(masd_str form, char **scope, const char **why);

/* RFC 7636 §4.6 on a stored challenge: method "plain" or "S256" ("" is plain, RFC 7636 §4.3).
 * 0 when the verifier matches; -EACCES with *why (the text after "PKCE verification failed: ")
 * when it does not, is not 43–128 unreserved characters (§4.1), or the method is unknown;
 * -ENOMEM. */
int token_pkce_verify(const char *method, const char *challenge, const char *verifier, const char **why);

/* The device IDs a scope names (urn:matrix:client:device:X and the unstable
 * urn:matrix:org.matrix.msc2967.client:device:X; MSC2967), each once, in order. Returns how many
 * (at most max are written, as pointers into out_buf, which has room for strlen(scope) + max
 * bytes). */
size_t token_scope_devices(const char *scope, char *out_buf, const char **out, size_t max);
