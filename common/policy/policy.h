/* MAS's default policy (MAS: policies/, Rego that MAS compiles to WASM and runs in OPA), in C.
 * masd runs no WASM: each of MAS's policies is one function here, reading the same `data` (the
 * operator's policy.data merged into what MAS adds from the config) and answering with the same
 * violations, message for message: authorization_grant, client_registration, compat_login,
 * register and email, each one function over the same struct policy and struct policy_result.
 *
 * `data` is operator config: it is checked once, by policy_new(), and a value MAS's Rego would
 * silently never match (a CIDR that does not parse, a list that is not a list) is an error
 * there. The inputs are what a request brings and are never trusted. */
#pragma once
#include "config.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy;

/* Builds the data MAS builds (MAS: crates/policy/src/lib.rs Data::to_value): {server_name:
 * matrix.homeserver, session_limit: experimental.session_limit or null}, merged with
 * policy.data (objects merged key by key, lists concatenated, scalars replaced), and reads from
 * it what the policies use. Returns 0, -ENOMEM, or -EINVAL with a one-line message in *error
 * (malloc'd; "policy.data.requester.banned_ips[1]: ..."). */
int policy_new(const struct config *cfg, struct policy **out, char **error);
void policy_free(struct policy *p);

/* Who is asking (MAS: crates/policy/src/model.rs Requester). NULL when unknown. */
struct policy_requester {
    const char *ip; /* textual IP address, as the client IP was resolved (docs/architecture.md §3) */
    const char *user_agent;
};

/* One violation (MAS: crates/policy/src/model.rs Violation). */
struct policy_violation {
    char *msg;               /* MAS's text, e.g. "scope 'phone' not allowed" */
    char *redirect_uri;      /* client_registration's "invalid redirect_uri": which one; else NULL */
    const char *code;        /* "too-many-sessions", "username-banned", or NULL */
    const char *field;       /* register: the form field it is about ("username", "email"), or NULL */
    uint64_t need_to_remove; /* too-many-sessions: sessions to remove to make room; else 0 */
};

/* The violations of one evaluation: none means allowed. A set, as in Rego: no two are the same;
 * sorted (those with a code first, then by message) so the order is stable. */
struct policy_result {
    struct policy_violation *violations;
    size_t n;
};
void policy_result_clear(struct policy_result *r);

/* authorization_grant (MAS: policies/authorization_grant/authorization_grant.rego,
 * policies/schema/authorization_grant_input.json). */
enum policy_grant_type {
    POLICY_GRANT_AUTHORIZATION_CODE, /* "authorization_code" */
    POLICY_GRANT_DEVICE_CODE,        /* "urn:ietf:params:oauth:grant-type:device_code" */
    POLICY_GRANT_CLIENT_CREDENTIALS, /* "client_credentials" */
};
/* The grant type named by its OAuth string; -EINVAL for any other. */
int policy_grant_type_parse(const char *s, enum policy_grant_type *out);

struct policy_user {
    const char *username;   /* the localpart */
    bool can_request_admin; /* the user's flag (users.can_request_admin) */
};

struct policy_grant_input {
    enum policy_grant_type grant_type;
    const char *scope; /* space-separated tokens, as the grant would issue them */
    const char *client_id;
    const struct policy_user *user; /* NULL: no user (client_credentials) */
    struct policy_requester requester;
    int64_t session_total; /* the user's active sessions (oauth2 + compat + personal); -1: not counted */
};

/* Evaluates the policy: *out receives the violations (cleared first). Returns 0 or -ENOMEM
 * (then *out is empty). */
int policy_authorization_grant(const struct policy *p, const struct policy_grant_input *in,
                               struct policy_result *out);

/* client_registration (MAS: policies/client_registration/client_registration.rego, which reads
 * input.client_metadata and data.client_registration.{allow_insecure_uris, allow_host_mismatch,
 * allow_missing_client_uri}). client_metadata is the registration's metadata as a JSON object,
 * as MAS hands it to the Rego (its fields under their RFC 7591 names); it is read with Rego's
 * rules, so any JSON is accepted. Returns 0 or -ENOMEM. */
int policy_client_registration(const struct policy *p, const json_t *client_metadata,
                               struct policy_result *out);

/* register (MAS: policies/register/register.rego, policies/schema/register_input.json): the
 * username's rules, data.registration.{allowed,banned}_usernames, the requester, and the email
 * policy's rules for the address when there is one. Violations carry their field. */
enum policy_registration_method {
    POLICY_REGISTRATION_PASSWORD,       /* "password" */
    POLICY_REGISTRATION_UPSTREAM_OAUTH, /* "upstream-oauth2" */
};
struct policy_register_input {
    enum policy_registration_method method;
    const char *username;
    const char *email; /* NULL: none */
    struct policy_requester requester;
};
int policy_register(const struct policy *p, const struct policy_register_input *in,
                    struct policy_result *out);

/* email (MAS: policies/email/email.rego): data.allowed_domains and data.banned_domains (globs),
 * data.emails.{allowed,banned}_addresses. Returns 0 or -ENOMEM. */
int policy_email(const struct policy *p, const char *email, struct policy_result *out);
/* compat_login (MAS: policies/compat_login/compat_login.rego, policies/schema/compat_login_input.json):
 * banned requesters, and the session limit: an interactive login (the compat SSO confirmation
 * page) is held to the soft limit, since the person can end sessions there and then; a password
 * or token login to the hard limit. A login that replaces a device's session adds none and is
 * not limited. */
enum policy_compat_login_type {
    POLICY_COMPAT_LOGIN_PASSWORD, /* "m.login.password" */
    POLICY_COMPAT_LOGIN_TOKEN,    /* "m.login.token": the end of a compat SSO login */
    POLICY_COMPAT_LOGIN_SSO,      /* "m.login.sso": the confirmation page (interactive) */
};

struct policy_compat_login_input {
    enum policy_compat_login_type login;
    bool session_replaced; /* the login ends the session that held its device */
    struct policy_requester requester;
    int64_t session_total; /* the user's active sessions (oauth2 + compat + personal); -1: not counted */
};

/* Evaluates the policy: *out receives the violations (cleared first). Returns 0 or -ENOMEM. */
int policy_compat_login(const struct policy *p, const struct policy_compat_login_input *in,
                        struct policy_result *out);
