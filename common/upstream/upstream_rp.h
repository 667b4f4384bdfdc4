/* The relying-party side of sign-in through an upstream OAuth 2.0 / OpenID Connect provider
 * (config.yaml's upstream_oauth2.providers; docs/upstream-oauth.md): provider metadata by
 * discovery and overrides, the signing keys (JWKS), the authorization code exchange with every
 * client authentication method, and the validation of ID tokens, userinfo answers and
 * back-channel logout tokens.
 *
 * Times (`now`) are in seconds since the Unix epoch, as the tokens' exp and iat: masd_now() / 1000.
 *
 * Every function that may go to the network blocks (libcurl, with the timeouts below): call it on
 * an outbound worker pool, never on an event loop (docs/architecture.md §4). One struct
 * upstream_rp is shared by every thread of a process; its caches are locked inside.
 *
 * Caches (MAS fetches the JWKS on every callback and back-channel POST, an amplification an
 * unauthenticated caller can trigger; we do not):
 *   - metadata per provider, kept UPSTREAM_RP_METADATA_TTL_S; a failed discovery is not kept;
 *   - a JWKS per URI, kept UPSTREAM_RP_JWKS_TTL_S, fetched again before that only when a token
 *     names a kid the cached set lacks, and then at most once per UPSTREAM_RP_JWKS_REFETCH_S. */
#pragma once
#include "config.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct jose_keyset;

#define UPSTREAM_RP_TIMEOUT_MS         60000
#define UPSTREAM_RP_CONNECT_TIMEOUT_MS 30000
#define UPSTREAM_RP_METADATA_TTL_S     (15 * 60)
#define UPSTREAM_RP_JWKS_TTL_S         (15 * 60)
#define UPSTREAM_RP_JWKS_REFETCH_S     30
/* Leeway for exp, iat and nbf, as MAS. */
#define UPSTREAM_RP_LEEWAY_S 300
/* A logout token issued longer ago than this is refused whatever its exp says (MAS has no bound,
 * so a replayed token stays good as long as the IdP made it). */
#define UPSTREAM_RP_LOGOUT_MAX_AGE_S 600

/* What went wrong, and so what the person (or the IdP, for back-channel logout) is told. */
enum upstream_rp_status {
    UPSTREAM_RP_OK = 0,
    UPSTREAM_RP_UNREACHABLE,   /* no answer, a timeout, TLS failure, a 5xx: 502 "could not reach" */
    UPSTREAM_RP_IDP_ERROR,     /* the IdP answered with an OAuth error (e.g. invalid_grant): 502 */
    UPSTREAM_RP_BAD_ANSWER,    /* an answer that is not what the protocol says (not JSON, a field
                                * missing, discovery that fails its checks): 502 */
    UPSTREAM_RP_INVALID,       /* a token that fails validation (signature, iss, aud, nonce…): 4xx */
    UPSTREAM_RP_MISCONFIGURED, /* the provider's configuration cannot work (no token endpoint…) */
    UPSTREAM_RP_NOMEM,
};

/* A status and one line saying what failed, for the log and the error page ("the ID token's iss
 * is \"x\", expected \"y\""). Never holds a secret or a token. */
struct upstream_rp_error {
    enum upstream_rp_status status;
    char message[256];
};

struct upstream_rp;

/* keys: secrets.keys, for private_key_jwt (may be NULL when no provider uses it). The keyset
 * must outlive the upstream_rp. curl_global_init() must have run. */
int upstream_rp_open(const struct jose_keyset *keys, struct upstream_rp **out);
void upstream_rp_close(struct upstream_rp *rp);
/* Overrides the timeouts of every request rp sends (the tests shorten them); 0 keeps a value. */
void upstream_rp_set_timeouts(struct upstream_rp *rp, long timeout_ms, long connect_timeout_ms);

/* A provider's endpoints: each override, else the discovered value. */
struct upstream_rp_metadata {
    char *issuer; /* the configured issuer (NULL when none is configured) */
    char *authorization_endpoint, *token_endpoint, *userinfo_endpoint, *jwks_uri; /* NULL: none */
    bool pkce_s256; /* whether PKCE is used for this provider (pkce_method, and for auto whether
                     * discovery listed S256) */
};
void upstream_rp_metadata_clear(struct upstream_rp_metadata *m);

/* Metadata for p (cached; discovery per p->discovery_mode). Fails MISCONFIGURED when an endpoint
 * the flow needs is missing (authorization, token; userinfo with fetch_userinfo; jwks_uri when an
 * ID token is expected), UNREACHABLE or BAD_ANSWER when discovery fails. */
int upstream_rp_metadata(struct upstream_rp *rp, const struct config_upstream_provider *p, int64_t now,
                         struct upstream_rp_metadata *out, struct upstream_rp_error *err);

/* The authorization code exchange and everything that follows it. */
struct upstream_rp_exchange {
    const char *code;
    const char *redirect_uri; /* exactly as sent to the authorization endpoint */
    const char *verifier;     /* the PKCE verifier, NULL when PKCE was not used */
    const char *nonce;        /* the nonce sent, NULL when none (no openid scope) */
    int64_t now;
};

/* What the exchange proved. */
struct upstream_rp_result {
    char *id_token;          /* the raw ID token; NULL when the scope has no openid */
    json_t *id_token_claims; /* its claims (an object) once valid; NULL when none */
    json_t *userinfo;        /* the userinfo answer (an object) with fetch_userinfo, else NULL */
};
void upstream_rp_result_clear(struct upstream_rp_result *r);

/* Exchanges the code at the token endpoint, authenticated per p->token_endpoint_auth_method
 * (none, client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt,
 * sign_in_with_apple); with the openid scope an id_token is required and validated (signature
 * with p->id_token_signed_response_alg only, iss equal to the configured issuer, aud holding
 * client_id, azp when aud has several values, exp, iat, nonce, at_hash and c_hash when present);
 * with fetch_userinfo the userinfo endpoint is called with the access token (JSON, or a JWT
 * signed with userinfo_signed_response_alg) and its sub must equal the ID token's. */
int upstream_rp_exchange(struct upstream_rp *rp, const struct config_upstream_provider *p,
                         const struct upstream_rp_exchange *in, struct upstream_rp_result *out,
                         struct upstream_rp_error *err);

/* Validates a back-channel logout token (OIDC Back-Channel Logout 1.0 §2.6): signature with
 * id_token_signed_response_alg, iss, aud, iat (not in the future, and at most
 * UPSTREAM_RP_LOGOUT_MAX_AGE_S old whatever exp says), exp, sub and/or sid, events holding the
 * back-channel logout event, no nonce, a jti. *claims: the token's claims (a new reference, for
 * the caller to json_decref) when valid. Replay (the jti) is the caller's to check, against the
 * database, so that it holds across processes. */
int upstream_rp_logout_token(struct upstream_rp *rp, const struct config_upstream_provider *p,
                             const char *token, int64_t now, json_t **claims, struct upstream_rp_error *err);
