/* The public side of the configured signing keys (see jwk.h): their RFC 7517 public JWK, the
 * RFC 7638 thumbprint that is a key's kid when none is configured, and the JWKS document. */
#include "jwk.h"
#include "base64.h"
#include "config_internal.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- JWK public members --- */

/* The public members of a key as RFC 7518 §6 spells them: RSA n and e as unsigned big-endian
 * integers without leading zeros; EC x and y padded to the full coordinate size. */
struct public_jwk {
    const char *kty, *crv; /* crv: NULL for RSA */
    char *m1, *m2;         /* RSA: n, e; EC: x, y (base64url) */
};

static void public_jwk_clear(struct public_jwk *j)
{
    free(j->m1);
    free(j->m2);
    *j = (struct public_jwk){0};
}

/* BIGNUM parameter `name` of pkey as base64url; pad = 0 for the minimal length. */
static int bn_param_b64u(EVP_PKEY *pkey, const char *name, size_t pad, char **out)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
        ERR_clear_error();
        return -EIO;
    }
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char *bytes = malloc(n ? n : 1);
    int r = bytes ? 0 : -ENOMEM;
    if (r >= 0 && (size_t)BN_num_bytes(bn) > n)
        r = -EIO;
    if (r >= 0 && BN_bn2binpad(bn, bytes, (int)n) != (int)n)
        r = -EIO;
    if (r >= 0 && !(*out = base64url_encode(bytes, n)))
        r = -ENOMEM;
    free(bytes);
    BN_free(bn);
    return r;
}

static int public_jwk_get(EVP_PKEY *pkey, struct public_jwk *j)
{
    enum key_family family;
    char desc[128];
    int r;
    *j = (struct public_jwk){0};
    if (config_key_family(pkey, &family, desc, sizeof(desc)) < 0)
        return -EOPNOTSUPP;
    if (family == KEY_RSA) {
        j->kty = "RSA";
        if ((r = bn_param_b64u(pkey, OSSL_PKEY_PARAM_RSA_N, 0, &j->m1)) < 0 ||
            (r = bn_param_b64u(pkey, OSSL_PKEY_PARAM_RSA_E, 0, &j->m2)) < 0)
            goto fail;
        return 0;
    }
    /* Names from the IANA "JSON Web Key Elliptic Curve" registry (RFC 7518, RFC 8812). */
    j->kty = "EC";
    j->crv = family == KEY_EC_P256 ? "P-256" : family == KEY_EC_P384 ? "P-384" : "secp256k1";
    size_t size = family == KEY_EC_P384 ? 48 : 32;
    if ((r = bn_param_b64u(pkey, OSSL_PKEY_PARAM_EC_PUB_X, size, &j->m1)) < 0 ||
        (r = bn_param_b64u(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size, &j->m2)) < 0)
        goto fail;
    return 0;
fail:
    public_jwk_clear(j);
    return r;
}

int key_thumbprint(EVP_PKEY *pkey, char out[KEY_THUMBPRINT_SIZE])
{
    struct public_jwk j;
    char *json = NULL;
    unsigned char digest[32];
    unsigned int dlen = 0;
    out[0] = '\0';
    int r = public_jwk_get(pkey, &j);
    if (r < 0)
        return r;
    /* RFC 7638 §3.2: required members only, sorted by name, no whitespace. The values are
     * base64url and fixed names, so no JSON escaping can arise. */
    int n = j.crv ? asprintf(&json, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", j.crv, j.m1,
                             j.m2)
                  : asprintf(&json, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", j.m2, j.m1);
    public_jwk_clear(&j);
    if (n < 0)
        return -ENOMEM;
    if (EVP_Digest(json, (size_t)n, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != sizeof(digest))
        r = -EIO;
    free(json);
    char *b = r >= 0 ? base64url_encode(digest, sizeof(digest)) : NULL;
    if (r >= 0 && !b)
        r = -ENOMEM;
    if (r >= 0)
        memcpy(out, b, KEY_THUMBPRINT_SIZE); /* 43 characters and the NUL */
    free(b);
    ERR_clear_error();
    return r;
}

/* --- JWKS --- */

static json_t *public_jwk_json(const struct config_key *k)
{
    struct public_jwk j;
    if (public_jwk_get(k->pkey, &j) < 0)
        return NULL;
    json_t *o = json_object();
    /* MAS's member order: kty and the key's own members, then use and kid. */
    bool ok = o && json_object_set_new(o, "kty", json_string(j.kty)) == 0;
    if (j.crv)
        ok = ok && json_object_set_new(o, "crv", json_string(j.crv)) == 0 &&
             json_object_set_new(o, "x", json_string(j.m1)) == 0 &&
             json_object_set_new(o, "y", json_string(j.m2)) == 0;
    else
        ok = ok && json_object_set_new(o, "n", json_string(j.m1)) == 0 &&
             json_object_set_new(o, "e", json_string(j.m2)) == 0;
    ok = ok && json_object_set_new(o, "use", json_string("sig")) == 0 &&
         json_object_set_new(o, "kid", json_string(config_key_id(k))) == 0;
    public_jwk_clear(&j);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *keys_public_jwks(const struct config *cfg)
{
    json_t *doc = json_object(), *keys = json_array();
    bool ok = doc && keys;
    for (size_t i = 0; ok && i < cfg->n_keys; i++)
        ok = json_array_append_new(keys, public_jwk_json(&cfg->keys[i])) == 0;
    ok = ok && json_object_set(doc, "keys", keys) == 0;
    char *out = ok ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(keys);
    json_decref(doc);
    return out;
}
