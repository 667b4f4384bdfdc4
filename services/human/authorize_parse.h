/* The query of GET /authorize (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636), taken
 * apart without looking anything up, and the rules that need only the request and the client's
 * registration: redirect URI resolution and the errors that go back to the client, in MAS's
 * order (MAS: crates/handlers/src/oauth2/authorization/mod.rs) with its weaknesses fixed.
 *
 * Two kinds of refusal: a query that cannot be read (authorize_parse() fails) or a redirect
 * URI that cannot be resolved is answered to the person with an HTML 400 page, never redirected:
 * a redirect there would send the browser somewhere nobody vouched for. Everything else is
 * answered to the client at its redirect URI (authorize_check()). */
#pragma once
#include "str.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum authorize_response_mode {
    AUTHZ_MODE_DEFAULT,
    AUTHZ_MODE_QUERY,
    AUTHZ_MODE_FRAGMENT,
    AUTHZ_MODE_FORM_POST
};
enum authorize_pkce { AUTHZ_PKCE_NONE, AUTHZ_PKCE_PLAIN, AUTHZ_PKCE_S256, AUTHZ_PKCE_INVALID };

#define AUTHZ_PARAM_MAX 2048 /* any one parameter, decoded */
#define AUTHZ_QUERY_MAX 8192

struct authorize_request {
    /* Every string is malloc'd and NUL-terminated; NULL when absent. */
    char *client_id;
    char *redirect_uri;
    char *scope; /* normalised: tokens sorted and without duplicates, one space apart */
    char *state, *nonce, *login_hint, *code_challenge;
    bool code, id_token, token; /* response_type; "none" sets none of them */
    enum authorize_response_mode response_mode;
    enum authorize_pkce pkce;
    bool prompt_none, prompt_login, prompt_consent, prompt_create, prompt_select_account;
    int64_t max_age; /* seconds; -1 when absent */
    bool has_request, has_request_uri, has_registration;
};

/* Reads the query (still percent-encoded). Returns 0, or -EINVAL with *why (one sentence for the
 * error page): too long, a parameter twice (RFC 6749 §3.1), a bad escape or not UTF-8, missing
 * client_id, response_type or scope, an empty or unknown response_type value, a malformed scope
 * (RFC 6749 §3.3), an unknown response_mode or prompt value, a malformed max_age. -ENOMEM.
 * On failure *req is cleared. */
int authorize_parse(masd_str query, struct authorize_request *req, const char **why);
void authorize_request_clear(struct authorize_request *req);

/* The redirect URI to use, from the registered ones (MAS: Client::resolve_redirect_uri): the
 * request's own, which must equal a registered one, except that on a loopback host (localhost,
 * 127.0.0.1, [::1]) a registered URI without a port matches any port (RFC 8252 §7.3); or, when
 * the request names none, the only registered one. Returns the index into registered, or -1
 * (answered with the HTML page). A URI with a fragment never matches (RFC 6749 §3.1.2). */
int authorize_resolve_redirect(const char *requested, const char *const *registered, size_t n);

/* The first error to send to the client, in MAS's order, or NULL when the request may go on.
 * client_grants_code / client_grants_implicit: the client's registered grant types.
 * *error is an RFC 6749 §4.1.2.1 code, *description a sentence for error_description. */
const char *authorize_check(const struct authorize_request *req, bool client_grants_code,
                            bool client_grants_implicit, const char **description);

/* False when the requested response mode cannot carry what is asked: query with an ID token or
 * a token (they must not appear in a URL's query). Answered with the HTML page, as MAS does. */
bool authorize_response_mode_allowed(const struct authorize_request *req);

/* The response mode the answer uses: the requested one, else query for a code and fragment
 * when a token or ID token is returned (OAuth 2.0 Multiple Response Type Encoding Practices). */
enum authorize_response_mode authorize_response_mode(const struct authorize_request *req);
