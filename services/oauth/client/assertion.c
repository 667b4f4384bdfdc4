/* Client assertions (RFC 7523 §2.2, §3): a compact JWS whose claims name the client and the
 * endpoint. The algorithm is pinned to the client's registered method (docs/architecture.md §6): HMAC for
 * client_secret_jwt, RSA/RSA-PSS/ECDSA for private_key_jwt, never "none", so an assertion can
 * never be verified with a key of the wrong kind. */
#include "base64.h"
#include "client/auth.h"
#include "secrets.h"
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define ASSERTION_MAX 16384

/* One part of the JWS, base64url-decoded into a new buffer (NUL-terminated). */
static unsigned char *decode(const char *p, size_t len, size_t *out_len)
{
    unsigned char *out = malloc(len / 4 * 3 + 3);
    if (out && base64url_decode(p, len, out, out_len) < 0) {
        free(out);
        return NULL;
    }
    if (out)
        out[*out_len] = '\0';
    return out;
}

static json_t *decode_json(const char *p, size_t len)
{
    size_t n = 0;
    unsigned char *raw = decode(p, len, &n);
    json_t *j = raw ? json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

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

static int parse_claims(const json_t *header, json_t *payload, struct client_assertion *a)
{
    const json_t *alg = json_object_get(header, "alg");
    if (!json_is_string(alg) || json_string_length(alg) >= sizeof(a->alg))
        return -EINVAL;
    strcpy(a->alg, json_string_value(alg));
    if (json_object_get(header, "kid") && !(a->kid = dup_string(header, "kid")))
        return -EINVAL;
    if (json_object_get(header, "crit")) /* no extension is understood (RFC 7515 §4.1.11) */
        return -EINVAL;
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
    if (!jwt || len == 0 || len > ASSERTION_MAX)
        return -EINVAL;
    const char *d1 = memchr(jwt, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)))
        return -EINVAL;
    json_t *header = decode_json(jwt, (size_t)(d1 - jwt));
    json_t *payload = header ? decode_json(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
    int r = payload ? parse_claims(header, payload, a) : -EINVAL;
    if (r == 0) {
        a->sig = decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), &a->sig_len);
        a->signed_len = (size_t)(d2 - jwt);
        r = a->sig && a->sig_len > 0 ? 0 : -EINVAL;
    }
    json_decref(header);
    json_decref(payload);
    if (r < 0)
        client_assertion_clear(a);
    return r;
}

void client_assertion_clear(struct client_assertion *a)
{
    free(a->kid);
    free(a->iss);
    free(a->sub);
    free(a->jti);
    json_decref(a->aud);
    free(a->sig);
    memset(a, 0, sizeof(*a));
}

static bool is_hmac_alg(const char *alg)
{
    return strcmp(alg, "HS256") == 0 || strcmp(alg, "HS384") == 0 || strcmp(alg, "HS512") == 0;
}

static bool is_key_alg(const char *alg)
{
    static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                       "PS512", "ES256", "ES384", "ES256K"};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strcmp(alg, algs[i]) == 0)
            return true;
    return false;
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
    bool alg_ok = method == CLIENT_AUTH_SECRET_JWT        ? is_hmac_alg(a->alg)
                  : method == CLIENT_AUTH_PRIVATE_KEY_JWT ? is_key_alg(a->alg)
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

static const char *digest_of(const char *alg)
{
    const char *bits = alg + strlen(alg) - 3;
    if (strcmp(alg, "ES256K") == 0)
        return "SHA256";
    return strcmp(bits, "256") == 0 ? "SHA256" : strcmp(bits, "384") == 0 ? "SHA384" : "SHA512";
}

static int verify_hmac(const struct client_assertion *a, const char *jwt, const char *secret,
                       size_t secret_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    const EVP_MD *md = EVP_get_digestbyname(digest_of(a->alg));
    if (!secret || !md ||
        !HMAC(md, secret, (int)secret_len, (const unsigned char *)jwt, a->signed_len, mac, &mac_len))
        return -EACCES;
    return secret_equal(mac, mac_len, a->sig, a->sig_len) ? 0 : -EACCES;
}

/* A big-endian base64url member of a JWK. */
static BIGNUM *jwk_bn(const json_t *jwk, const char *key)
{
    const json_t *v = json_object_get(jwk, key);
    size_t n = 0;
    unsigned char *raw = json_is_string(v) ? decode(json_string_value(v), json_string_length(v), &n) : NULL;
    BIGNUM *bn = raw && n ? BN_bin2bn(raw, (int)n, NULL) : NULL;
    free(raw);
    return bn;
}

static EVP_PKEY *jwk_rsa(const json_t *jwk)
{
    BIGNUM *n = jwk_bn(jwk, "n"), *e = jwk_bn(jwk, "e");
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (n && e && b && ctx && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) && (params = OSSL_PARAM_BLD_to_param(b)) &&
        EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(e);
    return pkey;
}

static EVP_PKEY *jwk_ec(const json_t *jwk, const char *alg)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const char *group = NULL;
    size_t size = 0;
    if (crv && strcmp(crv, "P-256") == 0 && strcmp(alg, "ES256") == 0)
        group = "prime256v1", size = 32;
    else if (crv && strcmp(crv, "P-384") == 0 && strcmp(alg, "ES384") == 0)
        group = "secp384r1", size = 48;
    else if (crv && strcmp(crv, "secp256k1") == 0 && strcmp(alg, "ES256K") == 0)
        group = "secp256k1", size = 32;
    if (!group)
        return NULL;
    const json_t *x = json_object_get(jwk, "x"), *y = json_object_get(jwk, "y");
    unsigned char point[1 + 2 * 48 + 3];
    size_t xn = 0, yn = 0;
    unsigned char *xr = json_is_string(x) ? decode(json_string_value(x), json_string_length(x), &xn) : NULL;
    unsigned char *yr = json_is_string(y) ? decode(json_string_value(y), json_string_length(y), &yn) : NULL;
    EVP_PKEY *pkey = NULL;
    if (xr && yr && xn == size && yn == size) {
        point[0] = 0x04;
        memcpy(point + 1, xr, size);
        memcpy(point + 1 + size, yr, size);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size),
            OSSL_PARAM_construct_end(),
        };
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (ctx && EVP_PKEY_fromdata_init(ctx) > 0)
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
        EVP_PKEY_CTX_free(ctx);
    }
    free(xr);
    free(yr);
    return pkey;
}

/* The key of the JWKS the assertion names (by kid; without one, the only key of the right type). */
static EVP_PKEY *select_key(const struct client_assertion *a, const json_t *jwks)
{
    const json_t *keys = json_object_get(jwks, "keys"), *jwk, *found = NULL;
    const char *want_kty = a->alg[0] == 'E' ? "EC" : "RSA";
    size_t i, n = 0;
    json_array_foreach(keys, i, jwk)
    {
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        if (!kty || strcmp(kty, want_kty) != 0 || (use && strcmp(use, "sig") != 0))
            continue;
        if (a->kid ? kid && strcmp(kid, a->kid) == 0 : true)
            found = jwk, n++;
    }
    if (n != 1)
        return NULL;
    return a->alg[0] == 'E' ? jwk_ec(found, a->alg) : jwk_rsa(found);
}

/* JWS ECDSA signatures are r || s; OpenSSL verifies DER. */
static unsigned char *ecdsa_der(const struct client_assertion *a, size_t *der_len)
{
    size_t half = a->sig_len / 2;
    if (a->sig_len != 64 && a->sig_len != 96)
        return NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(a->sig, (int)half, NULL), *s = BN_bin2bn(a->sig + half, (int)half, NULL);
    unsigned char *der = NULL;
    if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL;
        int n = i2d_ECDSA_SIG(sig, &der);
        *der_len = n > 0 ? (size_t)n : 0;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return der;
}

static int verify_key(const struct client_assertion *a, const char *jwt, const json_t *jwks)
{
    EVP_PKEY *pkey = jwks ? select_key(a, jwks) : NULL;
    if (!pkey)
        return -EACCES;
    const unsigned char *sig = a->sig;
    size_t sig_len = a->sig_len;
    unsigned char *der = NULL;
    if (a->alg[0] == 'E' && !(sig = der = ecdsa_der(a, &sig_len))) {
        EVP_PKEY_free(pkey);
        return -EACCES;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = ctx && EVP_DigestVerifyInit_ex(ctx, &pctx, digest_of(a->alg), NULL, NULL, pkey, NULL) == 1;
    if (ok && a->alg[0] == 'P')
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    else if (ok && a->alg[0] == 'R')
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    ok = ok && EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)jwt, a->signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
    return ok ? 0 : -EACCES;
}

int client_assertion_verify(const struct client_assertion *a, const char *jwt, enum client_auth_method method,
                            const char *secret, size_t secret_len, const json_t *jwks)
{
    if (method == CLIENT_AUTH_SECRET_JWT && is_hmac_alg(a->alg))
        return verify_hmac(a, jwt, secret, secret_len);
    if (method == CLIENT_AUTH_PRIVATE_KEY_JWT && is_key_alg(a->alg))
        return verify_key(a, jwt, jwks);
    return -EACCES;
}
