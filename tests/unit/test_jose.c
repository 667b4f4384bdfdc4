/* JOSE (common/jose/jose.h): the key MAS would pick for each algorithm, sign → verify for every
 * algorithm (with the key itself and with the public JWKS of /oauth2/keys.json), the published
 * vectors of RFC 7515 Appendix A, tampered signatures and payloads, algorithms that do not fit
 * the key, "none", the parser's refusals, and at_hash / c_hash (OIDC Core's examples). */
#include "base64.h"
#include "check.h"
#include "config_check.h"
#include "jose.h"
#include "jwk.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ENC "  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"

/* RSA, P-256, P-384, secp256k1, then a second RSA key: RS and PS pick the last one. */
static const char config_keys[] = "secrets:\n" ENC "  keys:\n"
                                  "    - key_file: data/secrets/rsa-pkcs8.pem\n"
                                  "    - key_file: data/secrets/ec-p256-pkcs8.pem\n"
                                  "    - {kid: p384, key_file: data/secrets/ec-p384-sec1.pem}\n"
                                  "    - key_file: data/secrets/ec-secp256k1-pkcs8.pem\n"
                                  "    - {kid: last-rsa, key_file: data/secrets/keys/a-rsa.pem}\n";

static const char *const all_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                       "PS512", "ES256", "ES384", "ES256K"};

static int parse_verify_jwks(const char *jws, const json_t *jwks)
{
    struct jose_jws j;
    int r = jose_jws_parse(jws, strlen(jws), &j);
    if (r == 0)
        r = jose_jws_verify_jwks(&j, jws, jwks);
    jose_jws_clear(&j);
    return r;
}

static int parse_verify_key(const char *jws, const struct jose_key *key)
{
    struct jose_jws j;
    int r = jose_jws_parse(jws, strlen(jws), &j);
    if (r == 0)
        r = jose_jws_verify_key(&j, jws, key);
    jose_jws_clear(&j);
    return r;
}

static int parse_verify_hmac(const char *jws, const void *secret, size_t len)
{
    struct jose_jws j;
    int r = jose_jws_parse(jws, strlen(jws), &j);
    if (r == 0)
        r = jose_jws_verify_hmac(&j, jws, secret, len);
    jose_jws_clear(&j);
    return r;
}

static void test_key_selection(const struct config *cfg, const struct jose_keyset *ks)
{
    const char *p256 = cfg->keys[1].thumbprint, *k1 = cfg->keys[3].thumbprint;
    for (size_t i = 0; i < 6; i++) /* RS*, PS* */
        CHECK_STR(jose_key_id(jose_keyset_find(ks, all_algs[i])), "last-rsa");
    CHECK_STR(jose_key_id(jose_keyset_find(ks, "ES256")), p256);
    CHECK_STR(jose_key_id(jose_keyset_find(ks, "ES384")), "p384");
    CHECK_STR(jose_key_id(jose_keyset_find(ks, "ES256K")), k1);
    static const char *const none[] = {"HS256", "none", "ES512", "EdDSA", "", "rs256", "RS256 "};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        CHECK(jose_keyset_find(ks, none[i]) == NULL);
    CHECK(jose_keyset_find(ks, NULL) == NULL);
    CHECK(jose_keyset_find(NULL, "RS256") == NULL);
    /* which family signs what (RFC 7518 §3.1, RFC 8812 §3.2) */
    const struct jose_key *rsa = jose_keyset_find(ks, "RS256"), *ec256 = jose_keyset_find(ks, "ES256"),
                          *ec384 = jose_keyset_find(ks, "ES384"), *k256 = jose_keyset_find(ks, "ES256K");
    for (size_t i = 0; i < sizeof(all_algs) / sizeof(all_algs[0]); i++) {
        CHECK(jose_key_supports(rsa, all_algs[i]) == (all_algs[i][0] != 'E'));
        CHECK(jose_key_supports(ec256, all_algs[i]) == (strcmp(all_algs[i], "ES256") == 0));
        CHECK(jose_key_supports(ec384, all_algs[i]) == (strcmp(all_algs[i], "ES384") == 0));
        CHECK(jose_key_supports(k256, all_algs[i]) == (strcmp(all_algs[i], "ES256K") == 0));
    }
    CHECK(!jose_key_supports(rsa, "HS256") && !jose_key_supports(rsa, "none"));
    /* the kid is the one /oauth2/keys.json publishes */
    CHECK_STR(jose_key_id(jose_keyset_find(ks, "ES256")), config_key_id(&cfg->keys[1]));

    /* a config without keys: nothing found, nothing signed */
    struct config *empty = load("secrets:\n" ENC);
    struct jose_keyset *eks = NULL;
    CHECK_INT(jose_keyset_from_config(empty, &eks), 0);
    CHECK(jose_keyset_find(eks, "RS256") == NULL);
    jose_keyset_free(eks);
    config_free(empty);
}

/* Flips one base64url character in the middle of part `part` (0 header, 1 payload, 2 sig) to
 * another that keeps it valid base64url. */
static char *tamper(const char *jws, int part)
{
    char *t = strdup(jws);
    char *start = t;
    for (int i = 0; i < part; i++)
        start = strchr(start, '.') + 1;
    char *end = strchr(start, '.');
    size_t len = end ? (size_t)(end - start) : strlen(start);
    char *c = start + len / 2;
    *c = *c == 'A' ? 'B' : 'A';
    return t;
}

static void test_round_trip(const struct config *cfg, const struct jose_keyset *ks)
{
    char *jwks_text = keys_public_jwks(cfg);
    json_t *jwks = json_loads(jwks_text, 0, NULL);
    free(jwks_text);
    CHECK(jwks != NULL);
    for (size_t i = 0; i < sizeof(all_algs) / sizeof(all_algs[0]); i++) {
        const char *alg = all_algs[i];
        const struct jose_key *key = jose_keyset_find(ks, alg);
        CHECK(key && jose_key_supports(key, alg));
        json_t *claims = json_pack("{s:s, s:I, s:s}", "sub", "01J00000000000000000000000", "iat",
                                   (json_int_t)1700000000, "text", "caf\xc3\xa9 \"quoted\"");
        char *jws = NULL;
        CHECK_INT(jose_sign(key, alg, claims, &jws), 0);
        CHECK(jws != NULL);
        if (!jws) {
            json_decref(claims);
            continue;
        }
        struct jose_jws j;
        CHECK_INT(jose_jws_parse(jws, strlen(jws), &j), 0);
        CHECK_STR(j.alg, alg);
        CHECK_STR(j.kid, jose_key_id(key));
        CHECK_INT(json_object_size(j.header), 2); /* alg and kid, no typ (as MAS) */
        CHECK(json_equal(j.payload, claims));
        /* ECDSA in JWS's raw r || s form (RFC 7518 §3.4) */
        if (strcmp(alg, "ES384") == 0)
            CHECK_INT(j.sig_len, 96);
        else if (alg[0] == 'E')
            CHECK_INT(j.sig_len, 64);
        CHECK_INT(jose_jws_verify_key(&j, jws, key), 0);
        CHECK_INT(jose_jws_verify_jwks(&j, jws, jwks), 0);
        CHECK_INT(jose_jws_verify_hmac(&j, jws, "secret", 6), -EACCES);
        jose_jws_clear(&j);
        /* a changed signature, payload or header never verifies */
        for (int part = 0; part < 3; part++) {
            char *t = tamper(jws, part);
            int r = parse_verify_jwks(t, jwks);
            CHECK(r == -EACCES || r == -EINVAL);
            r = parse_verify_key(t, key);
            CHECK(r == -EACCES || r == -EINVAL);
            free(t);
        }
        /* every other key of the set refuses it */
        for (size_t k = 0; k < sizeof(all_algs) / sizeof(all_algs[0]); k++) {
            const struct jose_key *other = jose_keyset_find(ks, all_algs[k]);
            if (other != key)
                CHECK_INT(parse_verify_key(jws, other), -EACCES);
        }
        free(jws);
        /* the key refuses algorithms it does not support */
        for (size_t k = 0; k < sizeof(all_algs) / sizeof(all_algs[0]); k++)
            if (!jose_key_supports(key, all_algs[k])) {
                CHECK_INT(jose_sign(key, all_algs[k], claims, &jws), -EINVAL);
                CHECK(jws == NULL);
            }
        CHECK_INT(jose_sign(key, "HS256", claims, &jws), -EINVAL);
        CHECK_INT(jose_sign(key, "none", claims, &jws), -EINVAL);
        json_decref(claims);
    }
    /* claims must be an object */
    json_t *arr = json_array();
    char *jws = NULL;
    CHECK_INT(jose_sign(jose_keyset_find(ks, "RS256"), "RS256", arr, &jws), -EINVAL);
    json_decref(arr);
    json_decref(jwks);
}

/* An alg the key cannot have made: the header claims ES256 while an RSA key signed, and so on. */
static void test_wrong_alg(const struct jose_keyset *ks)
{
    const struct jose_key *rsa = jose_keyset_find(ks, "RS256"), *ec = jose_keyset_find(ks, "ES256");
    json_t *claims = json_pack("{s:s}", "sub", "x");
    char *rs = NULL, *ps = NULL;
    CHECK_INT(jose_sign(rsa, "RS256", claims, &rs), 0);
    CHECK_INT(jose_sign(rsa, "PS256", claims, &ps), 0);
    /* the same RSA key, other padding: the header's alg decides, and it does not match */
    char *swapped = NULL;
    char *h = base64url_encode((const unsigned char *)"{\"alg\":\"PS256\"}", 15);
    CHECK(asprintf(&swapped, "%s%s", h, strchr(rs, '.')) > 0);
    CHECK_INT(parse_verify_key(swapped, rsa), -EACCES);
    free(swapped);
    free(h);
    h = base64url_encode((const unsigned char *)"{\"alg\":\"ES256\"}", 15);
    CHECK(asprintf(&swapped, "%s%s", h, strchr(rs, '.')) > 0);
    CHECK_INT(parse_verify_key(swapped, rsa), -EACCES);
    CHECK_INT(parse_verify_key(swapped, ec), -EACCES);
    free(swapped);
    free(h);
    /* HMAC over an RSA-signed JWS never runs with a public key as the secret */
    CHECK_INT(parse_verify_hmac(rs, "k", 1), -EACCES);
    free(rs);
    free(ps);
    json_decref(claims);
}

/* RFC 7515 Appendix A: the published examples, verified. */
#define RFC7515_PAYLOAD                                                                                      \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

static void test_rfc7515_vectors(void)
{
    /* A.1: HS256 */
    static const char a1[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC7515_PAYLOAD
                             ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    static const char a1_k[] =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    unsigned char k[64];
    size_t klen = 0;
    CHECK_INT(base64url_decode(a1_k, strlen(a1_k), k, &klen), 0);
    CHECK_INT(parse_verify_hmac(a1, k, klen), 0);
    CHECK_INT(parse_verify_hmac(a1, k, klen - 1), -EACCES);
    /* the MAC with a byte more, or a byte less */
    static const char a1_long[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC7515_PAYLOAD
                                  ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXkA";
    static const char a1_short[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC7515_PAYLOAD
                                   ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjQ";
    CHECK_INT(parse_verify_hmac(a1_long, k, klen), -EACCES);
    CHECK_INT(parse_verify_hmac(a1_short, k, klen), -EACCES);
    char *t = tamper(a1, 2);
    CHECK_INT(parse_verify_hmac(t, k, klen), -EACCES);
    free(t);
    struct jose_jws j;
    CHECK_INT(jose_jws_parse(a1, strlen(a1), &j), 0);
    CHECK(json_is_true(json_object_get(j.payload, "http://example.com/is_root")));
    CHECK_INT(json_integer_value(json_object_get(j.payload, "exp")), 1300819380);
    CHECK_INT(jose_jws_verify_jwks(&j, a1, NULL), -EACCES);
    jose_jws_clear(&j);

    /* A.2: RS256 */
    static const char a2[] = "eyJhbGciOiJSUzI1NiJ9." RFC7515_PAYLOAD
                             ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_"
                             "lF5YKt_O8W2Fp5jujGbds9"
                             "uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
                             "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_"
                             "eSN9383LcOLn6_dO--xi12jzDwusC-"
                             "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5A"
                             "XLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
    json_t *a2_jwks = json_pack(
        "{s:[{s:s, s:s, s:s}]}", "keys", "kty", "RSA", "e", "AQAB", "n",
        "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-"
        "yRT-"
        "SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-"
        "KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
        "DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ");
    CHECK_INT(parse_verify_jwks(a2, a2_jwks), 0);
    t = tamper(a2, 2);
    CHECK_INT(parse_verify_jwks(t, a2_jwks), -EACCES);
    free(t);
    t = tamper(a2, 1); /* may no longer be JSON: refused either way */
    int r = parse_verify_jwks(t, a2_jwks);
    CHECK(r == -EACCES || r == -EINVAL);
    free(t);
    /* a key for encryption is never used to verify */
    json_object_set_new(json_array_get(json_object_get(a2_jwks, "keys"), 0), "use", json_string("enc"));
    CHECK_INT(parse_verify_jwks(a2, a2_jwks), -EACCES);
    json_decref(a2_jwks);

    /* A.3: ES256 */
    static const char a3[] =
        "eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD
        ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    json_t *a3_jwks = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC", "crv", "P-256", "x",
                                "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
                                "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
    CHECK_INT(parse_verify_jwks(a3, a3_jwks), 0);
    t = strdup(a3);
    t[strlen(t) - 1] = 'A'; /* the last byte of s changed */
    CHECK_INT(parse_verify_jwks(t, a3_jwks), -EACCES);
    free(t);
    /* the same key named another curve is refused, not read as P-256 */
    json_object_set_new(json_array_get(json_object_get(a3_jwks, "keys"), 0), "crv", json_string("secp256k1"));
    CHECK_INT(parse_verify_jwks(a3, a3_jwks), -EACCES);

    /* A.4: ES512 (P-521), an algorithm MAS and masd do not take: refused, whatever the key */
#define A4_HEADER "eyJhbGciOiJFUzUxMiJ9"                                      /* {"alg":"ES512"} */
    CHECK_INT(jose_jws_parse(A4_HEADER ".UGF5bG9hZA.AQID", 36, &j), -EINVAL); /* payload not JSON */
    CHECK_INT(jose_jws_parse(A4_HEADER ".e30.AQID", 29, &j), 0);
    CHECK_STR(j.alg, "ES512");
    json_object_set_new(json_array_get(json_object_get(a3_jwks, "keys"), 0), "crv", json_string("P-521"));
    CHECK_INT(jose_jws_verify_jwks(&j, A4_HEADER ".e30.AQID", a3_jwks), -EACCES);
    jose_jws_clear(&j);
    json_decref(a3_jwks);
}

/* Signed by another implementation (Python's `cryptography`) with the test keys of
 * data/secrets: ES384, ES256K and HS512, which RFC 7515 has no example of. */
static void test_foreign_vectors(const struct jose_keyset *ks)
{
    json_t *jwks = json_pack(
        "{s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC", "kid", "p384",
        "crv", "P-384", "x", "05nG049wFNSNvwEOeoyMUgU7Z93if9asC9nw2Z7EQZYkinETfIj7rSY7dX7ff4GB", "y",
        "QWMiKpRjjGPrULSjdmWGmwl9XQBRjx0owueUnuebBv1GigZmBhB-iN0AgX5dFaZR", "kty", "EC", "kid", "k1", "crv",
        "secp256k1", "x", "Or9y8honSqo85fKPZcv6h49HayYdzjI5UBrXnFuraxE", "y",
        "wlbCBpZkjvD3FmuOJvYr-o0F-GSHDO_02u5AGnzuOKA");
#define FOREIGN_PAYLOAD "eyJpc3MiOiAiYyIsICJzdWIiOiAiYyIsICJleHAiOiAxNzAwMDAwMDAwfQ"
    static const char es256k[] = "eyJhbGciOiJFUzI1NksiLCJraWQiOiJrMSJ9." FOREIGN_PAYLOAD
                                 ".RKzptqbKYey6ot0eBOoGnfXtY-X4QG0Qi9JuCwAL3t_OOgVdythGrwMfWmA2gZ3t6iPYuQ-"
                                 "WdYVxG7nUH1LbDA";
    static const char es384[] = "eyJhbGciOiJFUzM4NCIsImtpZCI6InAzODQifQ." FOREIGN_PAYLOAD
                                ".CTmTpXnSR9fhfzziZjLPMuhIgS7DciA25ut7h4r1yHbR0T9mE-i_bTB-"
                                "485EQp4pFWCPi3d1_g6UndCKL0yMjLGanNDzSinB_iyFYQ_Yqrl3TcXr9q5BVrt212Mzryry";
    static const char hs512[] =
        "eyJhbGciOiJIUzUxMiJ9." FOREIGN_PAYLOAD
        ".MMUVfwFI8jjEUeYrVLuh9rVdC_tCclfSROv6NzA0Ffw6ZMgTQhliPeQUR7NryCB2xAIJR5PZEZnbkxNrD"
        "lgrAQ";
    CHECK_INT(parse_verify_jwks(es256k, jwks), 0);
    CHECK_INT(parse_verify_jwks(es384, jwks), 0);
    CHECK_INT(parse_verify_hmac(hs512, "a-shared-secret-for-the-fuzzer", 30), 0);
    char *t = tamper(es256k, 2);
    CHECK_INT(parse_verify_jwks(t, jwks), -EACCES);
    free(t);
    t = tamper(es384, 2);
    CHECK_INT(parse_verify_jwks(t, jwks), -EACCES);
    free(t);
    json_decref(jwks);

    /* PS384 (salt = digest size, MGF1 with SHA-384) and RS512 by data/secrets/keys/a-rsa.pem */
    static const char ps384[] =
        "eyJhbGciOiJQUzM4NCJ9." FOREIGN_PAYLOAD
        ".cja0eXNN6U0r0JFeG4G0cRwAEidU071C9HJaX1xDHGGF_ZWsi2WfmF2CpoWJo9-Vsza-3U2rpt3YmKM_ZyJrPFaZray2G0jQ_"
        "XFdrnM3dr0ykYFavtusCOREAqFvl11iRlD_vGjUJaCdRJDAEksVmhMEUvtRPPthHEjjKuJhzMYsuf0YfgLd3uvBaSERWyS35gw-"
        "FkmkUusMHE-v-Aqsvl7x44NPON4cwXLCLnmponOqHxttPwXc5zg3mOs_9Aau3UVj_FSBMZb4kyTjb87YeupxN-"
        "lOWDcGg_y1nphzlHJZoMgVtiJP0X2Rwk9azxkb_IMu9gCUaFgEPFNGaBNxWg";
    static const char rs512[] =
        "eyJhbGciOiJSUzUxMiJ9." FOREIGN_PAYLOAD
        ".RMoT5rrqvX-UQ9rmjtFV953ni_6Eqk8NA6sv1gIeENmXkV8DMvBsMFHAkhC38rWTL-e6Z6lwX_"
        "0ZjSF60uo7d_EHqEPqLMYTAp1gh2Wx3nXkzQ55tlCAMcJhE46lCMYXtZ5e2ymv_0CBoEFxH3Zx_"
        "6roQpqXcs2NTPh7rr4TSL9VXB9EmtXf9RaBfdqS42SgiGnYuOSPIpdO6yD6AsGj3BSRoEuQEK6A1GUDUrazWsnfD0wfnRmzYRpsa"
        "JhR_"
        "XH7ljW0yX6x_9P6mNXGqqd7RQ71PYKCpEonqNIyVr6t0kGCUqs-8kcq1C6R6pvJdRmBiQVJvya86xOZdhbA4ea9mw";
    const struct jose_key *rsa = jose_keyset_find(ks, "PS384");
    CHECK_INT(parse_verify_key(ps384, rsa), 0);
    CHECK_INT(parse_verify_key(rs512, rsa), 0);
    t = tamper(ps384, 2);
    CHECK_INT(parse_verify_key(t, rsa), -EACCES);
    free(t);
}

/* An ECDSA signature must be exactly r || s of the curve's size: a DER signature, or r and s
 * padded with zeros to the next curve's size, are refused. */
static void test_ecdsa_form(const struct jose_keyset *ks)
{
    const struct jose_key *ec = jose_keyset_find(ks, "ES256");
    json_t *claims = json_pack("{s:s}", "sub", "x");
    char *jws = NULL;
    CHECK_INT(jose_sign(ec, "ES256", claims, &jws), 0);
    struct jose_jws j;
    CHECK_INT(jose_jws_parse(jws, strlen(jws), &j), 0);
    unsigned char padded[96] = {0};
    memcpy(padded + 16, j.sig, 32);
    memcpy(padded + 48 + 16, j.sig + 32, 32);
    char *sig = base64url_encode(padded, sizeof(padded));
    char *alt = NULL;
    CHECK(asprintf(&alt, "%.*s.%s", (int)j.signed_len, jws, sig) > 0);
    CHECK_INT(parse_verify_key(alt, ec), -EACCES);
    free(alt);
    free(sig);
    /* the good r || s with bytes after it */
    memcpy(padded, j.sig, 64);
    sig = base64url_encode(padded, sizeof(padded));
    CHECK(asprintf(&alt, "%.*s.%s", (int)j.signed_len, jws, sig) > 0);
    CHECK_INT(parse_verify_key(alt, ec), -EACCES);
    free(alt);
    free(sig);
    sig = base64url_encode(padded, 64); /* and without them, it verifies */
    CHECK(asprintf(&alt, "%.*s.%s", (int)j.signed_len, jws, sig) > 0);
    CHECK_INT(parse_verify_key(alt, ec), 0);
    free(alt);
    free(sig);
    jose_jws_clear(&j);
    free(jws);
    json_decref(claims);
}

static void test_parse(void)
{
    struct jose_jws j;
    static const char *const bad[] = {
        "",
        "a.b",
        "a.b.c.d",
        "e30.e30.",
        "e30.e30.AA",
        "eyJhbGciOjF9.e30.AA",
        "!!.e30.AA",
        /* {"alg":"none"} with an empty signature */
        "eyJhbGciOiJub25lIn0.e30.",
        /* {"alg":"HS256","kid":1} */
        "eyJhbGciOiJIUzI1NiIsImtpZCI6MX0.e30.AA",
        /* {"alg":"HS256","alg":"RS256"}: a duplicate member */
        "eyJhbGciOiJIUzI1NiIsImFsZyI6IlJTMjU2In0.e30.AA",
        /* payload [] */
        "eyJhbGciOiJIUzI1NiJ9.W10.AA",
        /* {"alg":"ES256K+X"}: longer than any alg */
        "eyJhbGciOiJFUzI1NksrWCJ9.e30.AA",
        /* {"alg":"HS256","crit":["x"]} */
        "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsieCJdfQ.e30.AA",
        /* padding, and unused bits set in the last character */
        "eyJhbGciOiJIUzI1NiJ9.e30=.AA",
        "eyJhbGciOiJIUzI1NiJ9.e30.AB",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(jose_jws_parse(bad[i], strlen(bad[i]), &j), -EINVAL);
        CHECK(j.header == NULL && j.payload == NULL && j.sig == NULL && j.kid == NULL);
    }
    CHECK_INT(jose_jws_parse(NULL, 0, &j), -EINVAL);
    CHECK_INT(jose_jws_parse("eyJhbGciOiJIUzI1NiJ9.e30.AA", 27, &j), 0);
    CHECK_STR(j.alg, "HS256");
    CHECK(j.kid == NULL);
    CHECK_INT(j.signed_len, 24);
    CHECK_INT(j.sig_len, 1);
    jose_jws_clear(&j);
    jose_jws_clear(&j); /* twice is harmless */
    /* length: a prefix of the buffer is what is parsed */
    CHECK_INT(jose_jws_parse("eyJhbGciOiJIUzI1NiJ9.e30.AAxx", 27, &j), 0);
    jose_jws_clear(&j);
    /* "none" with a signature parses, and nothing verifies it */
    static const char none[] = "eyJhbGciOiJub25lIn0.e30.AA";
    CHECK_INT(jose_jws_parse(none, strlen(none), &j), 0);
    CHECK_STR(j.alg, "none");
    CHECK_INT(jose_jws_verify_hmac(&j, none, "", 0), -EACCES);
    CHECK_INT(jose_jws_verify_jwks(&j, none, NULL), -EACCES);
    CHECK_INT(jose_jws_verify_key(&j, none, NULL), -EACCES);
    jose_jws_clear(&j);
    /* over JOSE_JWS_MAX */
    size_t big = JOSE_JWS_MAX + 1;
    char *s = malloc(big + 1);
    memset(s, 'A', big);
    memcpy(s, "eyJhbGciOiJIUzI1NiJ9.e30.", 25);
    s[big] = '\0';
    CHECK_INT(jose_jws_parse(s, big, &j), -EINVAL);
    free(s);
}

static void test_token_hash(void)
{
    char out[88];
    /* OIDC Core 1.0 §A.3 (at_hash) and §A.4 (c_hash), RS256 */
    CHECK_INT(jose_token_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", out), 0);
    CHECK_STR(out, "77QmUPtjPfzWtF2AnpK9RQ");
    CHECK_INT(jose_token_hash("RS256", "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk", out), 0);
    CHECK_STR(out, "LDktKdoQak3Pk0cnXxCltA");
    /* the digest follows the alg's size: ES256K is SHA-256 too; values from `openssl dgst` */
    CHECK_INT(jose_token_hash("ES256K", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", out), 0);
    CHECK_STR(out, "77QmUPtjPfzWtF2AnpK9RQ");
    CHECK_INT(jose_token_hash("ES384", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", out), 0);
    CHECK_STR(out, "jtAeDp945y1dDqU3nkIVGNZP1HjH_MFs");
    CHECK_INT(jose_token_hash("PS512", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", out), 0);
    CHECK_STR(out, "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM");
    CHECK_INT(jose_token_hash("HS384", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", out), 0);
    CHECK_STR(out, "jtAeDp945y1dDqU3nkIVGNZP1HjH_MFs");
    CHECK_INT(jose_token_hash("none", "x", out), -EINVAL);
    CHECK_INT(jose_token_hash("ES512", "x", out), -EINVAL);
}

static void test_alg_kinds(void)
{
    CHECK(jose_alg_is_hmac("HS256") && jose_alg_is_hmac("HS384") && jose_alg_is_hmac("HS512"));
    CHECK(!jose_alg_is_hmac("RS256") && !jose_alg_is_hmac("none") && !jose_alg_is_hmac(NULL));
    for (size_t i = 0; i < sizeof(all_algs) / sizeof(all_algs[0]); i++)
        CHECK(jose_alg_is_asymmetric(all_algs[i]) && !jose_alg_is_hmac(all_algs[i]));
    CHECK(!jose_alg_is_asymmetric("HS256") && !jose_alg_is_asymmetric("ES512") &&
          !jose_alg_is_asymmetric("none") && !jose_alg_is_asymmetric("EdDSA"));
}

int main(void)
{
    struct config *cfg = load(config_keys);
    struct jose_keyset *ks = NULL;
    CHECK_INT(jose_keyset_from_config(cfg, &ks), 0);
    test_key_selection(cfg, ks);
    test_round_trip(cfg, ks);
    config_free(cfg); /* the keyset holds its own references */
    test_wrong_alg(ks);
    test_ecdsa_form(ks);
    test_rfc7515_vectors();
    test_foreign_vectors(ks);
    test_parse();
    test_token_hash();
    test_alg_kinds();
    jose_keyset_free(ks);
    return check_report("test_jose");
}
