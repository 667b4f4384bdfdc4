/* Client assertions (RFC 7523 §2.2, §3): a compact JWS whose claims name the client and the
 * endpoint. The algorithm is pinned to the client's registered method (docs/architecture.md §6): HMAC for
 * client_secret_jwt, RSA/RSA-PSS/ECDSA for private_key_jwt, never "none", so an assertion can
 * never be verified with a key of the wrong kind. */
#include "client/auth.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ASSERTION_MAX 16384

static char *dup_string(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* NumericDate: an integer (or a real, truncated) number of seconds; -1 when not a number. */
static int64_t numeric_date(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? json_integer_value(v) : -1;
    if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 1e15)
        return (int64_t)json_real_value(v);
    return -1;
}

static int parse_claims(json_t *payload, struct client_assertion *a)
{
    a->iss = dup_string(payload, "iss");
    a->sub = dup_string(payload, "sub");
    a->jti = dup_string(payload, "jti");
    json_t *aud = json_object_get(payload, "aud");
    if (aud && (json_is_string(aud) || json_is_array(aud)))
        a->aud = json_incref(aud);
    a->exp = numeric_date(payload, "exp");
    a->nbf = numeric_date(payload, "nbf");
    a->iat = numeric_date(payload, "iat");
    return a->exp < 0 || a->nbf < 0 || a->iat < 0 ? -EINVAL : 0;
}

int client_assertion_parse(const char *jwt, size_t len, struct client_assertion *a)
{
    memset(a, 0, sizeof(*a));
    if (!jwt || len == 0 || len > ASSERTION_MAX || jose_jws_parse(jwt, len, &a->jws) < 0)
        return -EINVAL;
    strcpy(a->alg, a->jws.alg);
    int r = parse_claims(a->jws.payload, a);
    if (r < 0)
        client_assertion_clear(a);
    return r;
}

void client_assertion_clear(struct client_assertion *a)
{
    jose_jws_clear(&a->jws);
    free(a->iss);
    free(a->sub);
    free(a->jti);
    json_decref(a->aud);
    memset(a, 0, sizeof(*a));
}

static bool audience_matches(const json_t *aud, const char *const *audiences)
{
    for (const char *const *want = audiences; *want; want++) {
        if (json_is_string(aud) && strcmp(json_string_value(aud), *want) == 0)
            return true;
        size_t i;
        const json_t *v;
        json_array_foreach(aud, i,
                           v) if (json_is_string(v) && strcmp(json_string_value(v), *want) == 0) return true;
    }
    return false;
}

int client_assertion_check_claims(const struct client_assertion *a, const char *client_id,
                                  enum client_auth_method method, const char *const *audiences,
                                  int64_t now_ms, const char **why)
{
    int64_t now = now_ms / 1000;
    bool alg_ok = method == CLIENT_AUTH_SECRET_JWT        ? jose_alg_is_hmac(a->alg)
                  : method == CLIENT_AUTH_PRIVATE_KEY_JWT ? jose_alg_is_asymmetric(a->alg)
                                                          : false;
    if (!alg_ok)
        *why = "The client_assertion algorithm is not allowed for the client's authentication method";
    else if (!a->iss || strcmp(a->iss, client_id) != 0)
        *why = "The client_assertion iss is not the client";
    else if (!a->sub || strcmp(a->sub, client_id) != 0)
        *why = "The client_assertion sub is not the client";
    else if (!a->aud || !audience_matches(a->aud, audiences))
        *why = "The client_assertion aud does not name this server";
    /* exp, nbf and iat may be anything up to INT64_MAX: only `now` (ms / 1000, far from either
     * end of int64) is ever added to, never a claim */
    else if (a->exp == 0 || a->exp <= now - CLIENT_ASSERTION_LEEWAY_S)
        *why = "The client_assertion has expired";
    else if (a->exp > now + CLIENT_ASSERTION_MAX_LIFETIME_S) /* RFC 7523 §3 item 4 */
        *why = "The client_assertion expires too far in the future";
    else if (a->nbf > now + CLIENT_ASSERTION_LEEWAY_S)
        *why = "The client_assertion is not valid yet";
    else if (!a->jti || !a->jti[0])
        *why = "The client_assertion has no jti";
    else
        return 0;
    return -EACCES;
}

int64_t client_assertion_jti_expiry_ms(const struct client_assertion *a)
{
    int64_t ms;
    if (a->exp <= 0)
        return 0;
    if (__builtin_mul_overflow(a->exp, (int64_t)1000, &ms) ||
        __builtin_add_overflow(ms, (int64_t)CLIENT_ASSERTION_LEEWAY_S * 1000, &ms))
        return INT64_MAX;
    return ms;
}

int client_assertion_verify(const struct client_assertion *a, const char *jwt, enum client_auth_method method,
                            const char *secret, size_t secret_len, const json_t *jwks)
{
    if (method == CLIENT_AUTH_SECRET_JWT && jose_alg_is_hmac(a->alg))
        return jose_jws_verify_hmac(&a->jws, jwt, secret, secret_len);
    if (method == CLIENT_AUTH_PRIVATE_KEY_JWT && jose_alg_is_asymmetric(a->alg))
        return jose_jws_verify_jwks(&a->jws, jwt, jwks);
    return -EACCES;
}
