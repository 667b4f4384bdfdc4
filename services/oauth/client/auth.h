/* OAuth 2.0 client authentication: which credentials a request presented (credentials.c), their
 * check against the registered client (authenticate.c), and RFC 7523 client assertions
 * (assertion.c). MAS: crates/axum-utils/src/client_authorization.rs; docs/architecture.md §6. */
#pragma once
#include "jose.h"
#include "server.h"
#include "storage.h"
#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

enum client_auth_method {
    CLIENT_AUTH_NONE,
    CLIENT_AUTH_SECRET_BASIC,
    CLIENT_AUTH_SECRET_POST,
    CLIENT_AUTH_SECRET_JWT,
    CLIENT_AUTH_PRIVATE_KEY_JWT,
};

/* "none", "client_secret_basic", …; and back (-EINVAL for an unknown name). */
const char *client_auth_method_name(enum client_auth_method m);
int client_auth_method_parse(const char *name, enum client_auth_method *out);

/* What the caller presented, read on the loop from the Authorization header and the form. */
struct client_credentials {
    bool bearer;        /* Authorization: Bearer …; only introspection accepts it */
    char *bearer_token; /* malloc'd */
    bool jwt;           /* client_assertion: client_secret_jwt or private_key_jwt, the client decides */
    enum client_auth_method method; /* when !jwt */
    char *client_id;                /* malloc'd */
    char *client_secret;            /* malloc'd, or NULL */
    char *assertion;                /* malloc'd, or NULL */
};

/* Reads the credentials; first checks that the form has no parameter twice (RFC 6749 §3.1),
 * for the endpoint's own parameters too. Returns 0; -ENODATA when none were presented; -EINVAL
 * when they or the form are malformed (*why says how; 400 invalid_request, or invalid_grant for
 * a Basic/form client_id mismatch, as MAS). */
int client_credentials_parse(struct masd_request *r, masd_str form, struct client_credentials *c,
                             const char **error, const char **why);
void client_credentials_clear(struct client_credentials *c);
/* What the token, device authorization and revocation endpoints read first, on the loop: the credentials
 * (client_credentials_parse), and a Bearer refused (the homeserver's shared secret is for
 * introspection only). true when the request was answered with the OAuth error. */
bool client_credentials_read(struct masd_request *r, struct client_credentials *c);

/* On the worker pool, outside any transaction, before the first client_authenticate(): writes
 * the configuration's static clients when the section changed since the last sync (once per
 * process; a failure is logged and the clients in the database are used as they are). Not at
 * setup, so that `--check` never writes. */
void client_auth_sync_once(void);

/* The result of client_authenticate(): 0 authenticated; otherwise the OAuth error to answer. */
struct client_auth_result {
    int status;        /* 401, 500 */
    const char *error; /* invalid_client, server_error */
    const char *why;
    /* on success, the client's registered method as parsed: every "is this client public"
     * decision reads this (CLIENT_AUTH_NONE), never the stored text */
    enum client_auth_method method;
};

/* On the worker pool: loads the client and checks the presented credentials against its
 * registered method and secret or keys; a registered method masd does not know is refused
 * (401 invalid_client), whatever was presented. `audience` is the URL of the endpoint called (the
 * issuer and the token endpoint are accepted too, as MAS). *client is filled on success
 * (storage_oauth_client_clear). Returns 0, or -EACCES / -EIO with *res set. */
int client_authenticate(struct storage_tx *tx, const struct client_credentials *c, const char *audience,
                        int64_t now, struct storage_oauth_client *client, struct client_auth_result *res);

/* The registered grant types of the client (a JSON array) list `grant`. */
bool client_lists_grant(const struct storage_oauth_client *client, const char *grant);

/* What the token and device authorization endpoints check first, in MAS's order (MAS:
 * crates/handlers/src/oauth2/token.rs, device/authorize.rs): client_authenticate(); then a form
 * the endpoint could not parse (parse_rc < 0: 400 invalid_request, parse_why); then a client that
 * does not list `grant` (NULL: any grant): 401 unauthorized_client. Returns 1 authenticated
 * (*client to be cleared), 0 refused (*res is the answer; a claimed assertion jti must still be
 * committed), < 0 error (*res is a 500). */
int client_authenticate_for(struct storage_tx *tx, const struct client_credentials *c, const char *audience,
                            int64_t now, int parse_rc, const char *parse_why, const char *grant,
                            struct storage_oauth_client *client, struct client_auth_result *res);

/* ---- client assertions (RFC 7523), exposed for the tests and the fuzz target -------------- */

struct client_assertion {
    char alg[JOSE_ALG_MAX];
    char *iss, *sub, *jti;
    json_t *aud;           /* string or array (a reference) */
    int64_t exp, nbf, iat; /* seconds; 0 when absent */
    struct jose_jws jws;   /* the JWS itself: header, signature, signing input */
};

/* Parses a compact JWS (header.payload.signature, jose_jws_parse) of at most 16 KiB without
 * checking it, and reads its claims. -EINVAL on any defect. */
int client_assertion_parse(const char *jwt, size_t len, struct client_assertion *a);
void client_assertion_clear(struct client_assertion *a);

/* The claims of RFC 7523 §3: iss = sub = client_id, aud contains one of `audiences`
 * (NULL-terminated), exp in the future (CLIENT_ASSERTION_LEEWAY_S) but at most
 * CLIENT_ASSERTION_MAX_LIFETIME_S ahead, nbf not in the future, and a jti present. The alg must
 * be one the method allows. Any claim value, up to INT64_MAX, is judged without overflow.
 * Returns 0 or -EACCES (*why). */
#define CLIENT_ASSERTION_LEEWAY_S       30
#define CLIENT_ASSERTION_MAX_LIFETIME_S 3600
int client_assertion_check_claims(const struct client_assertion *a, const char *client_id,
                                  enum client_auth_method method, const char *const *audiences,
                                  int64_t now_ms, const char **why);
/* Until when (ms) the jti of an assertion must stay recorded: its exp plus the leeway, after
 * which the assertion is refused by exp alone. Saturates at INT64_MAX (never wraps negative, so
 * a recorded jti can never read as already expired); 0 without an exp. */
int64_t client_assertion_jti_expiry_ms(const struct client_assertion *a);
/* Checks the signature: HMAC with `secret` (client_secret_jwt) or a key of the JWKS `jwks`
 * (private_key_jwt; by kid when given), the algorithm pinned to the method (jose.h verifies).
 * Returns 0 or -EACCES. */
int client_assertion_verify(const struct client_assertion *a, const char *jwt, enum client_auth_method method,
                            const char *secret, size_t secret_len, const json_t *jwks);
