/* POST /oauth2/registration's body (RFC 7591 §2, OpenID Connect Dynamic Client Registration 1.0
 * §2, MSC2966), read and judged as MAS does (MAS: crates/handlers/src/oauth2/registration.rs,
 * crates/oauth2-types/src/registration/mod.rs ClientMetadata::validate,
 * policies/client_registration/). No request, no storage: unit-tested and fuzzed. */
#pragma once
#include "policy.h"
#include "str.h"
#include <jansson.h>
#include <stdbool.h>

#define REGISTRATION_BODY_MAX (64 * 1024)

/* A refusal: 400 (413 for a body over REGISTRATION_BODY_MAX) with an RFC 7591 §3.2.2 error
 * code and a description that tells the developer what to change. */
struct registration_error {
    int status;
    const char *error; /* invalid_request, invalid_client_metadata, invalid_redirect_uri */
    char description[768];
};

struct registration {
    /* The validated metadata, every field masd keeps under its RFC 7591 name (localized
     * variants "client_name#fr" included), lists sorted, grant_types without the device code
     * when it is disabled. Defaults are not filled in: it is what the client asked for. */
    json_t *metadata;
    const char *auth_method; /* token_endpoint_auth_method, client_secret_basic by default (RFC 7591 §2) */
    bool needs_secret;       /* client_secret_basic, client_secret_post, client_secret_jwt */
    char digest[65];         /* SHA-256 (hex) of the metadata serialised with sorted keys */
};

/* Reads and judges one registration: the JSON body (Content-Type application/json if any, size,
 * no duplicate key), each field's shape, MAS's coherence rules, the public-suffix rule and the
 * client_registration policy p. Returns 0, -EINVAL with *err filled, or -ENOMEM. */
int registration_parse(masd_str content_type, masd_str body, bool device_code_enabled, const struct policy *p,
                       struct registration *out, struct registration_error *err);
void registration_clear(struct registration *r);

/* MAS: registration.rs host_is_public_suffix: the URI's host, less one leading and one
 * trailing dot, is a suffix of the Public Suffix List (private section included; the implicit
 * "*" rule for unknown TLDs does not count). */
bool registration_host_is_public_suffix(const char *uri);
