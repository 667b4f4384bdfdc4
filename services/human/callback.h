/* The authorization response, delivered to the client's redirect URI in the response mode
 * (RFC 6749 §4.1.2, OAuth 2.0 Multiple Response Type Encoding Practices, OAuth 2.0 Form Post
 * Response Mode; MAS: crates/handlers/src/oauth2/authorization/callback.rs). */
#pragma once
#include "authorize_parse.h"
#include "server.h"
#include <stddef.h>

struct callback_param {
    const char *name, *value; /* value NULL: the parameter is left out */
};

/* The redirect URI with the parameters: query mode appends them to its query (its own
 * parameters first; "?" or a trailing "&" is not doubled), before the URI's own fragment if it
 * has one, else adds an empty fragment, so that a fragment of the page before is not carried
 * over the redirect (MAS does the same for OAuth); fragment mode puts them in the fragment. malloc'd; NULL
 * when out of memory. Not for form_post. */
char *callback_url(const char *redirect_uri, enum authorize_response_mode mode,
                   const struct callback_param *p, size_t n);

/* What the CSP's form-action must allow for a form that posts, or is redirected, to the redirect
 * URI: its origin ("https://app.example.com:8443") or, for a private-use scheme (RFC 8252
 * §7.1), the scheme ("com.example.app:"). Returns false when the URI has characters a CSP
 * source cannot hold (then only 'self' is allowed and the browser may refuse the redirect). */
bool callback_csp_source(const char *redirect_uri, char *out, size_t size);

/* The place a redirect URI leads to, as a person is shown it (MAS: templates' simplify_url): the
 * host of an https URL with a domain name; otherwise the URI without its query and fragment
 * (http, addresses and a native app's scheme are shown whole, as a warning sign). Written to out
 * (cut to size); returns the full length. */
size_t callback_display_name(const char *uri, char *out, size_t size);

/* Answers the request with the response: a 303 to callback_url() for query and fragment, the
 * auto-submitting form page for form_post. */
void callback_deliver(struct masd_request *r, const char *redirect_uri, enum authorize_response_mode mode,
                      const struct callback_param *p, size_t n);

/* The response mode a grant stored ("query", "fragment", "form_post"). */
enum authorize_response_mode callback_mode(const char *stored);
