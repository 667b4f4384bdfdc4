/* OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6), as MAS issues them (MAS:
 * crates/handlers/src/oauth2/mod.rs generate_id_token): signed with the key of secrets.keys MAS
 * would pick for the client's id_token_signed_response_alg (jose.h). */
#pragma once
#include <stdint.h>

/* ID tokens expire an hour after they are issued, as MAS's. */
#define OAUTH_ID_TOKEN_LIFETIME_S 3600

struct oauth_id_token_in {
    const char *client_id;    /* aud, a single string */
    const char *alg;          /* the client's id_token_signed_response_alg; NULL or "" → RS256 */
    const char *sub;          /* the user's ULID */
    const char *nonce;        /* the authorization request's, or NULL */
    int64_t auth_time_ms;     /* the last authentication's time; 0: no auth_time claim */
    const char *access_token; /* issued alongside (at_hash), or NULL */
    const char *code;         /* the authorization code (c_hash), or NULL */
    int64_t now_ms;           /* iat; exp = iat + OAUTH_ID_TOKEN_LIFETIME_S */
};

/* The compact JWS with claims iss (the configured issuer), sub, aud, iat, exp, then nonce,
 * auth_time (seconds), at_hash and c_hash when given; header {"alg","kid"}. *out is malloc'd.
 * Uses oauth.keys (oauth_service_init). Returns 0; -ENOKEY when no key supports the alg (the
 * caller answers server_error, as MAS) or the alg is unknown; -ENOMEM or -EIO. */
int oauth_id_token(const struct oauth_id_token_in *in, char **out);
