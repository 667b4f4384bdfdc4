/* OpenID Connect in masd-oauth: ID tokens (services/oauth/id_token.c) and the pure steps of
 * /oauth2/userinfo (services/oauth/userinfo.c): the claims and their hashes, the key picked for
 * the client's alg, verified against the public JWKS; where the access token is read from and
 * when that is a 400; which tokens may read userinfo; the plain and the signed answer. */
#include "base64.h"
#include "check.h"
#include "config_check.h"
#include "id_token.h"
#include "jose.h"
#include "jwk.h"
#include "oauth.h"
#include "request_headers.h"
#include "userinfo.h"
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

/* userinfo_token() on a request with this method, Authorization (NULL: none), Content-Type
 * (NULL: none), query and body. */
static int token_of(const char *method, const char *authorization, const char *content_type,
                    const char *query, const char *body, char **token)
{
    struct masd_request req = {
        .method = masd_str_from(method), .query = masd_str_from(query), .body = masd_str_from(body)};
    request_authorization = authorization ? masd_str_from(authorization) : (masd_str){NULL, 0};
    request_content_type = content_type ? masd_str_from(content_type) : (masd_str){NULL, 0};
    const char *why = NULL;
    int r = userinfo_token(&req, token, &why);
    CHECK(r == 0 ? *token != NULL && why == NULL : *token == NULL && why != NULL);
    return r;
}

static void test_token(void)
{
    const char *form = "application/x-www-form-urlencoded";
    char *t = NULL;
    CHECK_INT(token_of("GET", "Bearer mat_abc", NULL, "", "", &t), 0);
    CHECK_STR(t, "mat_abc");
    free(t);
    CHECK_INT(token_of("POST", "bearer   mat_abc  ", form, "", "", &t), 0);
    CHECK_STR(t, "mat_abc");
    free(t);
    CHECK_INT(token_of("POST", NULL, form, "", "access_token=mat_%61bc&x=1", &t), 0);
    CHECK_STR(t, "mat_abc");
    free(t);
    CHECK_INT(
        token_of("POST", NULL, "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "", "access_token=a", &t),
        0);
    CHECK_STR(t, "a");
    free(t);
    CHECK_INT(token_of("GET", NULL, NULL, "access_token=mat_q", "", &t), 0); /* RFC 6750 §2.3 */
    CHECK_STR(t, "mat_q");
    free(t);
    /* a body that is not said to be a form is not read */
    CHECK_INT(token_of("POST", NULL, "application/json", "", "access_token=a", &t), -EINVAL);
    CHECK_INT(token_of("POST", NULL, NULL, "", "access_token=a", &t), -EINVAL);
    /* a POST's query is not read */
    CHECK_INT(token_of("POST", NULL, form, "access_token=a", "", &t), -EINVAL);
    /* both, neither, twice, malformed */
    CHECK_INT(token_of("POST", "Bearer a", form, "", "access_token=b", &t), -EINVAL);
    CHECK_INT(token_of("GET", "Bearer a", NULL, "access_token=a", "", &t), -EINVAL);
    CHECK_INT(token_of("GET", NULL, NULL, "", "", &t), -EINVAL);
    CHECK_INT(token_of("POST", NULL, form, "", "access_token=a&access_token=a", &t), -EINVAL);
    CHECK_INT(token_of("POST", NULL, form, "", "access_token=%zz", &t), -EINVAL);
    static const char *const bad_headers[] = {"Basic YTpi", "Bearer",     "Bearer ",
                                              "Bearer a b", "Bearer a=b", "Bearer\ta",
                                              "Bearer a\"", "Token a",    "Bearer @"};
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++)
        CHECK_INT(token_of("GET", bad_headers[i], NULL, "", "", &t), -EINVAL);
    CHECK_INT(token_of("GET", "Bearer a+/_~.-9Z==", NULL, "", "", &t), 0);
    CHECK_STR(t, "a+/_~.-9Z==");
    free(t);
    request_content_type = (masd_str){"application/x-www-form-urlencoded", 33};
    request_authorization = (masd_str){NULL, 0};
}

static void test_judge(void)
{
    const int64_t now = 1700000000000;
    const char *why;
    struct storage_token_introspection ok = {.kind = STORAGE_TOKEN_OAUTH_ACCESS,
                                             .user_id = SUB,
                                             .username = "alice",
                                             .client_id = CLIENT,
                                             .scope = "urn:matrix:client:api:* openid",
                                             .expires_at = now + 1};
    CHECK_INT(userinfo_judge(&ok, now, &why), 0);
    struct storage_token_introspection t = ok;
    t.expires_at = 0; /* never expires */
    CHECK_INT(userinfo_judge(&t, now, &why), 0);
    t = ok, t.expires_at = now;
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    t = ok, t.kind = STORAGE_TOKEN_OAUTH_REFRESH;
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    t = ok, t.kind = STORAGE_TOKEN_COMPAT_ACCESS;
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    t = ok, t.revoked_at = now - 1;
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    t = ok, t.session_finished_at = now - 1;
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    t = ok, t.user_id[0] = '\0';
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    t = ok, t.user_locked_at = 1;
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    t = ok, t.user_deactivated_at = 1;
    CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    static const char *const scopes[] = {
        "", "openid2", "xopenid", "urn:matrix:client:api:*", "open id", "openid-connect email"};
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        t = ok;
        snprintf(t.scope, sizeof(t.scope), "%s", scopes[i]);
        CHECK_INT(userinfo_judge(&t, now, &why), -EACCES);
    }
    static const char *const with[] = {"openid", "openid email", "a openid b", "a openid"};
    for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++) {
        t = ok;
        snprintf(t.scope, sizeof(t.scope), "%s", with[i]);
        CHECK_INT(userinfo_judge(&t, now, &why), 0);
    }
}

static void test_answer(void)
{
    char *body = NULL, alg[JOSE_ALG_MAX], kid[64];
    const char *ct = NULL;
    CHECK_INT(userinfo_answer(SUB, "alice", CLIENT, NULL, &body, &ct), 0);
    CHECK_STR(body, "{\"sub\":\"" SUB "\",\"username\":\"alice\"}");
    CHECK_STR(ct, "application/json");
    free(body);
    CHECK_INT(userinfo_answer(SUB, "alice", CLIENT, "ES256K", &body, &ct), 0);
    CHECK_STR(ct, "application/jwt");
    json_t *p = body ? verified_payload(body, alg, kid) : NULL;
    CHECK(p != NULL);
    CHECK_STR(alg, "ES256K");
    json_t *want =
        json_pack("{s:s, s:s, s:s, s:s}", "iss", ISSUER, "aud", CLIENT, "sub", SUB, "username", "alice");
    CHECK(json_equal(p, want));
    json_decref(want);
    json_decref(p);
    free(body);
    CHECK_INT(userinfo_answer(SUB, "alice", CLIENT, "HS256", &body, &ct), -ENOKEY);
    CHECK(body == NULL);
    CHECK_INT(userinfo_answer(SUB, "alice", CLIENT, "?", &body, &ct), -ENOKEY);
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
    test_token();
    test_judge();
    test_answer();
    json_decref(public_jwks);
    return check_report("test_oidc");
}
