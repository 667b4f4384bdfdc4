/* Compact JWS over OpenSSL 3's EVP (jose.h): signing with secrets.keys, verification with a
 * shared secret or a JWKS. RFC 7515 (JWS), RFC 7518 §3 (the algorithms), RFC 8812 §3.2 (ES256K). */
#include "jose.h"
#include "base64.h"
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

struct jose_key {
    char *kid;
    enum key_family family;
    EVP_PKEY *pkey; /* a reference of our own */
};

struct jose_keyset {
    size_t n;
    struct jose_key keys[];
};

/* ---- algorithms ---------------------------------------------------------------------------- */

enum alg_kind { ALG_HMAC, ALG_RSA, ALG_PSS, ALG_ECDSA };

struct alg {
    const char *name;
    enum alg_kind kind;
    const char *digest;  /* OpenSSL's name */
    enum key_family crv; /* ECDSA: the key's curve */
    size_t half;         /* ECDSA: the size of r and of s in the signature (RFC 7518 §3.4) */
};

static const struct alg algs[] = {
    {"HS256", ALG_HMAC, "SHA256", 0, 0},
    {"HS384", ALG_HMAC, "SHA384", 0, 0},
    {"HS512", ALG_HMAC, "SHA512", 0, 0},
    {"RS256", ALG_RSA, "SHA256", 0, 0},
    {"RS384", ALG_RSA, "SHA384", 0, 0},
    {"RS512", ALG_RSA, "SHA512", 0, 0},
    {"PS256", ALG_PSS, "SHA256", 0, 0},
    {"PS384", ALG_PSS, "SHA384", 0, 0},
    {"PS512", ALG_PSS, "SHA512", 0, 0},
    {"ES256", ALG_ECDSA, "SHA256", KEY_EC_P256, 32},
    {"ES384", ALG_ECDSA, "SHA384", KEY_EC_P384, 48},
    {"ES256K", ALG_ECDSA, "SHA256", KEY_EC_SECP256K1, 32},
};

static const struct alg *alg_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strcmp(name, algs[i].name) == 0)
            return &algs[i];
    return NULL;
}

bool jose_alg_is_hmac(const char *alg)
{
    const struct alg *a = alg_find(alg);
    return a && a->kind == ALG_HMAC;
}

bool jose_alg_is_asymmetric(const char *alg)
{
    const struct alg *a = alg_find(alg);
    return a && a->kind != ALG_HMAC;
}

static bool family_supports(enum key_family family, const struct alg *a)
{
    if (!a || a->kind == ALG_HMAC)
        return false;
    if (a->kind == ALG_ECDSA)
        return family == a->crv;
    return family == KEY_RSA;
}

/* ---- keys ---------------------------------------------------------------------------------- */

int jose_keyset_from_config(const struct config *cfg, struct jose_keyset **out)
{
    struct jose_keyset *ks = calloc(1, sizeof(*ks) + cfg->n_keys * sizeof(ks->keys[0]));
    if (!ks)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const struct config_key *ck = &cfg->keys[i];
        if (!ck->pkey)
            continue;
        struct jose_key *k = &ks->keys[ks->n];
        if (!(k->kid = strdup(config_key_id(ck)))) {
            jose_keyset_free(ks);
            return -ENOMEM;
        }
        EVP_PKEY_up_ref(ck->pkey);
        k->pkey = ck->pkey;
        k->family = ck->family;
        ks->n++;
    }
    *out = ks;
    return 0;
}

void jose_keyset_free(struct jose_keyset *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        free(ks->keys[i].kid);
        EVP_PKEY_free(ks->keys[i].pkey);
    }
    free(ks);
}

const struct jose_key *jose_keyset_find(const struct jose_keyset *ks, const char *alg)
{
    const struct alg *a = alg_find(alg);
    for (size_t i = ks ? ks->n : 0; i > 0; i--)
        if (family_supports(ks->keys[i - 1].family, a))
            return &ks->keys[i - 1];
    return NULL;
}

const char *jose_key_id(const struct jose_key *key)
{
    return key->kid;
}

bool jose_key_supports(const struct jose_key *key, const char *alg)
{
    return family_supports(key->family, alg_find(alg));
}

/* ---- signing ------------------------------------------------------------------------------- */

/* The padding of an RSA algorithm: PKCS #1 v1.5 (RS*) or PSS with MGF1 over the same digest and
 * a salt as long as the digest (PS*, RFC 7518 §3.5). */
static bool set_padding(EVP_PKEY_CTX *pctx, const struct alg *a)
{
    if (a->kind == ALG_PSS)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
               EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    if (a->kind == ALG_RSA)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    return true;
}

/* OpenSSL's DER ECDSA signature as JWS's r || s, each left-padded to `half` bytes. */
static int ecdsa_raw(const unsigned char *der, size_t der_len, size_t half, unsigned char *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    int r = sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, (int)half) == (int)half &&
                    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + half, (int)half) == (int)half
                ? 0
                : -EIO;
    ECDSA_SIG_free(sig);
    return r;
}

static char *b64_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    char *b = s ? base64url_encode((const unsigned char *)s, strlen(s)) : NULL;
    free(s);
    return b;
}

/* The signature of input by key with a, in JWS's form; *sig malloc'd. */
static int sign_input(const struct jose_key *key, const struct alg *a, const char *input, unsigned char **sig,
                      size_t *sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = strlen(input);
    int r = -EIO;
    *sig = NULL;
    if (ctx && EVP_DigestSignInit_ex(ctx, &pctx, a->digest, NULL, NULL, key->pkey, NULL) == 1 &&
        set_padding(pctx, a) && EVP_DigestSign(ctx, NULL, sig_len, (const unsigned char *)input, len) == 1)
        r = (*sig = malloc(*sig_len)) ? 0 : -ENOMEM;
    if (r == 0 && EVP_DigestSign(ctx, *sig, sig_len, (const unsigned char *)input, len) != 1)
        r = -EIO;
    EVP_MD_CTX_free(ctx);
    unsigned char raw[2 * 48];
    if (r == 0 && a->kind == ALG_ECDSA && (r = ecdsa_raw(*sig, *sig_len, a->half, raw)) == 0) {
        memcpy(*sig, raw, 2 * a->half); /* DER is longer than r || s: it fits */
        *sig_len = 2 * a->half;
    }
    if (r < 0) {
        free(*sig);
        *sig = NULL;
    }
    ERR_clear_error();
    return r;
}

int jose_sign(const struct jose_key *key, const char *alg, json_t *claims, char **out)
{
    const struct alg *a = alg_find(alg);
    *out = NULL;
    if (!json_is_object(claims) || !family_supports(key->family, a))
        return -EINVAL;
    json_t *header = json_pack("{s:s, s:s}", "alg", a->name, "kid", key->kid);
    char *h = header ? b64_json(header) : NULL;
    char *p = h ? b64_json(claims) : NULL;
    json_decref(header);
    char *input = NULL, *s = NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    int r = p && asprintf(&input, "%s.%s", h, p) >= 0 ? 0 : -ENOMEM;
    if (r < 0)
        input = NULL;
    if (r == 0)
        r = sign_input(key, a, input, &sig, &sig_len);
    if (r == 0 && (!(s = base64url_encode(sig, sig_len)) || asprintf(out, "%s.%s", input, s) < 0)) {
        *out = NULL;
        r = -ENOMEM;
    }
    free(s);
    free(sig);
    free(input);
    free(h);
    free(p);
    return r;
}

int jose_token_hash(const char *alg, const char *token, char out[88])
{
    const struct alg *a = alg_find(alg);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    out[0] = '\0';
    if (!a)
        return -EINVAL;
    if (EVP_Digest(token, strlen(token), md, &md_len, EVP_get_digestbyname(a->digest), NULL) != 1) {
        ERR_clear_error();
        return -EIO;
    }
    char *b = base64url_encode(md, md_len / 2);
    if (!b)
        return -ENOMEM;
    memcpy(out, b, strlen(b) + 1); /* at most 43 characters: 32 bytes of SHA-512 */
    free(b);
    return 0;
}

/* ---- parsing ------------------------------------------------------------------------------- */

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

static json_t *decode_object(const char *p, size_t len)
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

static int parse_header(struct jose_jws *out)
{
    const json_t *alg = json_object_get(out->header, "alg");
    const json_t *kid = json_object_get(out->header, "kid");
    if (!json_is_string(alg) || json_string_length(alg) >= sizeof(out->alg) ||
        strlen(json_string_value(alg)) != json_string_length(alg))
        return -EINVAL;
    strcpy(out->alg, json_string_value(alg));
    if (kid && (!json_is_string(kid) || !(out->kid = strdup(json_string_value(kid)))))
        return -EINVAL;
    if (json_object_get(out->header, "crit")) /* RFC 7515 §4.1.11 */
        return -EINVAL;
    return 0;
}

int jose_jws_parse(const char *jws, size_t len, struct jose_jws *out)
{
    memset(out, 0, sizeof(*out));
    if (!jws || len == 0 || len > JOSE_JWS_MAX)
        return -EINVAL;
    const char *d1 = memchr(jws, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)))
        return -EINVAL;
    int r = -EINVAL;
    if ((out->header = decode_object(jws, (size_t)(d1 - jws))) &&
        (out->payload = decode_object(d1 + 1, (size_t)(d2 - d1 - 1))))
        r = parse_header(out);
    if (r == 0) {
        out->sig = decode(d2 + 1, len - (size_t)(d2 + 1 - jws), &out->sig_len);
        out->signed_len = (size_t)(d2 - jws);
        r = out->sig && out->sig_len > 0 ? 0 : -EINVAL;
    }
    if (r < 0)
        jose_jws_clear(out);
    return r;
}

void jose_jws_clear(struct jose_jws *jws)
{
    free(jws->kid);
    json_decref(jws->header);
    json_decref(jws->payload);
    free(jws->sig);
    memset(jws, 0, sizeof(*jws));
}

/* ---- verification -------------------------------------------------------------------------- */

int jose_jws_verify_hmac(const struct jose_jws *jws, const char *input, const void *secret, size_t secret_len)
{
    const struct alg *a = alg_find(jws->alg);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (!a || a->kind != ALG_HMAC || !secret)
        return -EACCES;
    const EVP_MD *md = EVP_get_digestbyname(a->digest);
    if (!md ||
        !HMAC(md, secret, (int)secret_len, (const unsigned char *)input, jws->signed_len, mac, &mac_len)) {
        ERR_clear_error();
        return -EACCES;
    }
    bool ok = mac_len == jws->sig_len && CRYPTO_memcmp(mac, jws->sig, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok ? 0 : -EACCES;
}

/* JWS's r || s as the DER OpenSSL verifies; NULL unless exactly 2 * half bytes (RFC 7518 §3.4). */
static unsigned char *ecdsa_der(const struct jose_jws *jws, size_t half, size_t *der_len)
{
    if (jws->sig_len != 2 * half)
        return NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(jws->sig, (int)half, NULL), *s = BN_bin2bn(jws->sig + half, (int)half, NULL);
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

/* The signature of jws by pkey, whose family the caller matched to the alg. */
static int verify_pkey(const struct jose_jws *jws, const struct alg *a, const char *input, EVP_PKEY *pkey)
{
    const unsigned char *sig = jws->sig;
    size_t sig_len = jws->sig_len;
    unsigned char *der = NULL;
    if (a->kind == ALG_ECDSA && !(sig = der = ecdsa_der(jws, a->half, &sig_len)))
        return -EACCES;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = ctx && EVP_DigestVerifyInit_ex(ctx, &pctx, a->digest, NULL, NULL, pkey, NULL) == 1 &&
              set_padding(pctx, a) &&
              EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, jws->signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok ? 0 : -EACCES;
}

int jose_jws_verify_key(const struct jose_jws *jws, const char *input, const struct jose_key *key)
{
    const struct alg *a = alg_find(jws->alg);
    if (!key || !family_supports(key->family, a))
        return -EACCES;
    return verify_pkey(jws, a, input, key->pkey);
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

static EVP_PKEY *from_params(const char *type, const OSSL_PARAM *params)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* RFC 7518 §6.3.1: n and e. */
static EVP_PKEY *jwk_rsa(const json_t *jwk)
{
    BIGNUM *n = jwk_bn(jwk, "n"), *e = jwk_bn(jwk, "e");
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    if (n && e && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) && (params = OSSL_PARAM_BLD_to_param(b)))
        pkey = from_params("RSA", params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* RFC 7518 §6.2.1: crv, and x and y of exactly the curve's size. */
static EVP_PKEY *jwk_ec(const json_t *jwk, const struct alg *a)
{
    static const char *const jwk_crv[] = {
        [KEY_EC_P256] = "P-256", [KEY_EC_P384] = "P-384", [KEY_EC_SECP256K1] = "secp256k1"};
    static const char *const group[] = {
        [KEY_EC_P256] = "prime256v1", [KEY_EC_P384] = "secp384r1", [KEY_EC_SECP256K1] = "secp256k1"};
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (!crv || strcmp(crv, jwk_crv[a->crv]) != 0)
        return NULL;
    const json_t *x = json_object_get(jwk, "x"), *y = json_object_get(jwk, "y");
    unsigned char point[1 + 2 * 48];
    size_t xn = 0, yn = 0, size = a->half;
    unsigned char *xr = json_is_string(x) ? decode(json_string_value(x), json_string_length(x), &xn) : NULL;
    unsigned char *yr = json_is_string(y) ? decode(json_string_value(y), json_string_length(y), &yn) : NULL;
    EVP_PKEY *pkey = NULL;
    if (xr && yr && xn == size && yn == size) {
        point[0] = 0x04; /* uncompressed (SEC 1 §2.3.3) */
        memcpy(point + 1, xr, size);
        memcpy(point + 1 + size, yr, size);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group[a->crv], 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size),
            OSSL_PARAM_construct_end(),
        };
        pkey = from_params("EC", params);
    }
    free(xr);
    free(yr);
    return pkey;
}

/* The key of the JWKS the JWS names (by kid; without one, the only key of the alg's kty). */
static EVP_PKEY *select_key(const struct jose_jws *jws, const struct alg *a, const json_t *jwks)
{
    const json_t *keys = json_object_get(jwks, "keys"), *jwk, *found = NULL;
    const char *want_kty = a->kind == ALG_ECDSA ? "EC" : "RSA";
    size_t i, n = 0;
    json_array_foreach(keys, i, jwk)
    {
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        if (!kty || strcmp(kty, want_kty) != 0 || (use && strcmp(use, "sig") != 0))
            continue;
        if (jws->kid ? kid && strcmp(kid, jws->kid) == 0 : true)
            found = jwk, n++;
    }
    if (n != 1)
        return NULL;
    EVP_PKEY *pkey = a->kind == ALG_ECDSA ? jwk_ec(found, a) : jwk_rsa(found);
    ERR_clear_error();
    return pkey;
}

int jose_jws_verify_jwks(const struct jose_jws *jws, const char *input, const json_t *jwks)
{
    const struct alg *a = alg_find(jws->alg);
    EVP_PKEY *pkey = a && a->kind != ALG_HMAC && jwks ? select_key(jws, a, jwks) : NULL;
    if (!pkey)
        return -EACCES;
    int r = verify_pkey(jws, a, input, pkey);
    EVP_PKEY_free(pkey);
    return r;
}

/* ---- keys and secrets outside secrets.keys --------------------------------------------------- */

static bool pkey_family(EVP_PKEY *pkey, enum key_family *family)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        *family = KEY_RSA;
        return true;
    }
    char group[64] = "";
    size_t len = 0;
    if (!EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1)
        return false;
    if (strcmp(group, "prime256v1") == 0)
        *family = KEY_EC_P256;
    else if (strcmp(group, "secp384r1") == 0)
        *family = KEY_EC_P384;
    else if (strcmp(group, "secp256k1") == 0)
        *family = KEY_EC_SECP256K1;
    else
        return false;
    return true;
}

int jose_key_from_pem(const char *pem, const char *kid, struct jose_key **out)
{
    *out = NULL;
    if (!pem || !kid)
        return -EINVAL;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    struct jose_key *k = NULL;
    enum key_family family;
    int r = -EINVAL;
    if (pkey && pkey_family(pkey, &family)) {
        r = -ENOMEM;
        if ((k = calloc(1, sizeof(*k))) && (k->kid = strdup(kid))) {
            k->family = family;
            k->pkey = pkey;
            pkey = NULL;
            *out = k;
            k = NULL;
            r = 0;
        }
    }
    free(k);
    EVP_PKEY_free(pkey);
    return r;
}

void jose_key_free(struct jose_key *key)
{
    if (!key)
        return;
    free(key->kid);
    EVP_PKEY_free(key->pkey);
    free(key);
}

int jose_sign_hmac(const char *alg, const void *secret, size_t secret_len, json_t *claims, char **out)
{
    const struct alg *a = alg_find(alg);
    *out = NULL;
    if (!json_is_object(claims) || !a || a->kind != ALG_HMAC || !secret)
        return -EINVAL;
    json_t *header = json_pack("{s:s, s:s}", "alg", a->name, "typ", "JWT");
    char *h = header ? b64_json(header) : NULL;
    char *p = h ? b64_json(claims) : NULL;
    json_decref(header);
    char *input = NULL, *s = NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    int r = p && asprintf(&input, "%s.%s", h, p) >= 0 ? 0 : -ENOMEM;
    if (r < 0)
        input = NULL;
    if (r == 0 && !HMAC(EVP_get_digestbyname(a->digest), secret, (int)secret_len,
                        (const unsigned char *)input, strlen(input), mac, &mac_len))
        r = -EIO;
    if (r == 0 && (!(s = base64url_encode(mac, mac_len)) || asprintf(out, "%s.%s", input, s) < 0)) {
        *out = NULL;
        r = -ENOMEM;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    ERR_clear_error();
    free(s);
    free(input);
    free(h);
    free(p);
    return r;
}
