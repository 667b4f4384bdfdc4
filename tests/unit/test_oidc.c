/* OpenID Connect in masd-oauth: ID tokens (services/oauth/id_token.c): the claims and their
 * hashes, the key picked for the client's alg, verified against the public JWKS. */
#include "base64.h"
#include "check.h"
#include "config_check.h"
#include "id_token.h"
#include "jose.h"
#include "jwk.h"
#include "oauth.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://auth.example.com/"
#define CLIENT "01J0000000000000000000CL1T"
#define SUB    "01J00000000000000000000USR"
#define ENC    "  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"

static json_t *public_jwks;

/* Verifies jws against the public JWKS of the config and returns its payload (a reference), or
 * NULL; *alg and *kid receive the header's. */
static json_t *verified_payload(const char *jws, char alg[JOSE_ALG_MAX], char kid[64])
{
    struct jose_jws j;
    if (jose_jws_parse(jws, strlen(jws), &j) < 0)
        return NULL;
    json_t *p = NULL;
    if (jose_jws_verify_jwks(&j, jws, public_jwks) == 0)
        p = json_incref(j.payload);
    snprintf(alg, JOSE_ALG_MAX, "%s", j.alg);
    snprintf(kid, 64, "%s", j.kid ? j.kid : "");
    CHECK_INT(json_object_size(j.header), 2);
    jose_jws_clear(&j);
    return p;
}

static void test_id_token(void)
{
    const int64_t now = 1700000000123;
    struct oauth_id_token_in in = {.client_id = CLIENT,
                                   .sub = SUB,
                                   .nonce = "n-0S6_WzA2Mj",
                                   .auth_time_ms = 1699999990999,
                                   .access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                                   .code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk",
                                   .now_ms = now};
    char *jws = NULL, alg[JOSE_ALG_MAX], kid[64];
    CHECK_INT(oauth_id_token(&in, &jws), 0); /* no alg: RS256 */
    json_t *p = jws ? verified_payload(jws, alg, kid) : NULL;
    CHECK(p != NULL);
    CHECK_STR(alg, "RS256");
    CHECK_STR(kid, "rsa-last"); /* the last RSA key of the config */
    CHECK_STR(json_string_value(json_object_get(p, "iss")), ISSUER);
    CHECK_STR(json_string_value(json_object_get(p, "sub")), SUB);
    CHECK_STR(json_string_value(json_object_get(p, "aud")), CLIENT); /* a single string */
    CHECK_INT(json_integer_value(json_object_get(p, "iat")), 1700000000);
    CHECK_INT(json_integer_value(json_object_get(p, "exp")), 1700000000 + 3600);
    CHECK_STR(json_string_value(json_object_get(p, "nonce")), "n-0S6_WzA2Mj");
    CHECK_INT(json_integer_value(json_object_get(p, "auth_time")), 1699999990);
    /* OIDC Core §A.3 and §A.4's values */
    CHECK_STR(json_string_value(json_object_get(p, "at_hash")), "77QmUPtjPfzWtF2AnpK9RQ");
    CHECK_STR(json_string_value(json_object_get(p, "c_hash")), "LDktKdoQak3Pk0cnXxCltA");
    CHECK_INT(json_object_size(p), 9);
    json_decref(p);
    free(jws);

    /* the hashes follow the alg; without the optional inputs, no optional claims */
    in = (struct oauth_id_token_in){.client_id = CLIENT, .alg = "ES384", .sub = SUB, .now_ms = now};
    in.access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    CHECK_INT(oauth_id_token(&in, &jws), 0);
    p = jws ? verified_payload(jws, alg, kid) : NULL;
    CHECK(p != NULL);
    CHECK_STR(alg, "ES384");
    CHECK_STR(json_string_value(json_object_get(p, "at_hash")), "jtAeDp945y1dDqU3nkIVGNZP1HjH_MFs");
    CHECK(!json_object_get(p, "nonce") && !json_object_get(p, "auth_time") && !json_object_get(p, "c_hash"));
    CHECK_INT(json_object_size(p), 6);
    json_decref(p);
    free(jws);

    /* every alg a key of the config supports; "" is RS256 */
    static const char *const algs[] = {"", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES256K"};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        in = (struct oauth_id_token_in){.client_id = CLIENT, .alg = algs[i], .sub = SUB, .now_ms = now};
        CHECK_INT(oauth_id_token(&in, &jws), 0);
        p = jws ? verified_payload(jws, alg, kid) : NULL;
        CHECK(p != NULL);
        CHECK_STR(alg, algs[i][0] ? algs[i] : "RS256");
        json_decref(p);
        free(jws);
    }
    /* no key for the alg, or an alg no key can have: -ENOKEY, nothing written */
    static const char *const nokey[] = {"HS256", "none", "ES512", "EdDSA", "rs256"};
    for (size_t i = 0; i < sizeof(nokey) / sizeof(nokey[0]); i++) {
        in = (struct oauth_id_token_in){.client_id = CLIENT, .alg = nokey[i], .sub = SUB, .now_ms = now};
        jws = (char *)"untouched";
        CHECK_INT(oauth_id_token(&in, &jws), -ENOKEY);
        CHECK(jws == NULL);
    }
}

int main(void)
{
    struct config *cfg = load("http:\n  public_base: " ISSUER "\n"
                              "secrets:\n" ENC "  keys:\n"
                              "    - key_file: data/secrets/rsa-pkcs8.pem\n"
                              "    - key_file: data/secrets/ec-p256-pkcs8.pem\n"
                              "    - {kid: rsa-last, key_file: data/secrets/keys/a-rsa.pem}\n"
                              "    - key_file: data/secrets/ec-p384-sec1.pem\n"
                              "    - key_file: data/secrets/ec-secp256k1-pkcs8.pem\n");
    CHECK_INT(oauth_service_init(cfg), 0);
    char *jwks = keys_public_jwks(cfg);
    public_jwks = json_loads(jwks, 0, NULL);
    free(jwks);
    test_id_token();
    json_decref(public_jwks);
    return check_report("test_oidc");
}
