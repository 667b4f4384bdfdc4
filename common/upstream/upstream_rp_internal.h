/* The pure parts of the relying party (upstream_rp.h): checks on documents and tokens that go to
 * no network, so that unit tests and fuzz targets reach every refusal. docs/upstream-oauth.md
 * says what each checks and why. */
#pragma once
#include "upstream_rp.h"
#include <stdarg.h>

/* Answers larger than this are refused (a discovery document, a JWKS, a token or userinfo
 * response): none of them is anywhere near it. */
#define UPSTREAM_RP_RESPONSE_MAX (256 * 1024)

/* Sets err (status and a formatted line); returns -1 so that callers can `return rp_fail(...)`. */
int rp_fail(struct upstream_rp_error *err, enum upstream_rp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A discovery document (OpenID Connect Discovery 1.0 §3, §4.3) for p: with discovery_mode oidc
 * every MAS check (issuer equal to p->issuer, https endpoints, no query or fragment in the
 * issuer, no fragment in the endpoints, openid in scopes_supported, no "none" signing alg); with
 * insecure, only that the required members are present. BAD_ANSWER on a failure. */
int rp_check_discovery(const json_t *doc, const struct config_upstream_provider *p,
                       struct upstream_rp_error *err);

/* What a token must match. */
struct rp_expect {
    const char *issuer;    /* required: a token is never accepted without an issuer to match */
    const char *client_id; /* required in aud */
    const char *alg;       /* the header's alg must be exactly this one */
    int64_t now;
    const char *nonce;        /* ID token: the nonce sent (NULL: the token must have none) */
    const char *access_token; /* ID token: for at_hash (NULL: not checked) */
    const char *code;         /* ID token: for c_hash (NULL: not checked) */
};

/* Parses token, refuses an alg other than e->alg (and every HS* and "none" whatever e->alg is),
 * and verifies the signature with jwks. *claims: a new reference to the payload. INVALID on a
 * failure. */
int rp_verify_jws(const char *token, const json_t *jwks, const char *alg, json_t **claims,
                  struct upstream_rp_error *err);

/* The kid of a token's header, malloc'd (NULL when none or unparsable). */
char *rp_jws_kid(const char *token);

/* Whether jwks ({"keys":[…]}) holds a key with this kid. */
bool rp_jwks_has_kid(const json_t *jwks, const char *kid);

/* ID token claims (OIDC Core §3.1.3.7): iss, aud, azp, exp and iat with the leeway, sub, nonce,
 * at_hash and c_hash. INVALID on a failure. */
int rp_check_id_token_claims(const json_t *claims, const struct rp_expect *e, struct upstream_rp_error *err);

/* Logout token claims (OIDC Back-Channel Logout 1.0 §2.4, §2.6): iss, aud, iat, exp, jti, sub
 * and/or sid, the event, no nonce. */
int rp_check_logout_claims(const json_t *claims, const struct rp_expect *e, struct upstream_rp_error *err);

/* Userinfo claims (OIDC Core §5.3.2, §5.3.4): sub equal to id_sub (when there is an ID token);
 * signed: iss and aud as for an ID token. */
int rp_check_userinfo_claims(const json_t *claims, const char *id_sub, bool is_signed,
                             const struct rp_expect *e, struct upstream_rp_error *err);

/* A token endpoint's successful answer (RFC 6749 §5.1): a JSON object with access_token and
 * token_type (Bearer); id_token when openid was asked for. *access_token and *id_token point into
 * doc (id_token NULL when absent and not required). */
int rp_check_token_response(const json_t *doc, bool openid, const char **access_token, const char **id_token,
                            struct upstream_rp_error *err);

/* A token endpoint's error answer (RFC 6749 §5.2), as one line in err (IDP_ERROR when it is an
 * OAuth error, else BAD_ANSWER). */
int rp_token_error(long status, const char *body, size_t len, struct upstream_rp_error *err);

/* Copies s for a message: at most max bytes, control characters and quotes replaced. */
void rp_printable(const char *s, char *out, size_t size);
