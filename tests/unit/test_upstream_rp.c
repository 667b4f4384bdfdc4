/* The relying party's checks (common/upstream/upstream_rp_internal.h) on crafted tokens signed by
 * test keys: every refusal of an ID token (iss, aud, azp, nonce, alg, HS256, exp, iat, at_hash,
 * c_hash), the token response without an id_token, userinfo whose sub differs, the logout token's
 * rules (sub/sid, nonce, events, jti, iat), discovery documents under oidc and insecure, metadata
 * from overrides alone, and the accepted cases beside each refusal. */
#include "check.h"
#include "config_check.h"
#include "jose.h"
#include "jwk.h"
#include "upstream_rp_http.h"
#include "upstream_rp_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW       1800000000
#define ISS       "https://idp.example.com"
#define CLIENT_ID "masd"
#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

static const char config_keys[] =
    "secrets:\n"
    "  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"
    "  keys:\n"
    "    - {kid: rsa1, key_file: data/secrets/rsa-pkcs8.pem}\n"
    "    - {kid: ec1, key_file: data/secrets/ec-p256-pkcs8.pem}\n";

static struct jose_keyset *ks;
static json_t *jwks;

static char *sign(const char *alg, json_t *claims)
{
    char *jws = NULL;
    if (jose_alg_is_hmac(alg))
        CHECK_INT(jose_sign_hmac(alg, "secret", 6, claims, &jws), 0);
    else
        CHECK_INT(jose_sign(jose_keyset_find(ks, alg), alg, claims, &jws), 0);
    json_decref(claims);
    return jws;
}

static json_t *id_claims(void)
{
    char at_hash[88];
    jose_token_hash("RS256", "the-access-token", at_hash);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", ISS, "sub", "alice", "aud", CLIENT_ID,
                     "exp", (json_int_t)NOW + 3600, "iat", (json_int_t)NOW, "nonce", "n0nce", "at_hash",
                     at_hash);
}

static const struct rp_expect expect = {.issuer = ISS,
                                        .client_id = CLIENT_ID,
                                        .alg = "RS256",
                                        .now = NOW,
                                        .nonce = "n0nce",
                                        .access_token = "the-access-token",
                                        .code = "the-code"};

/* Verifies and checks an ID token as the exchange does; returns the status. */
static int id_token_status(const char *token, const struct rp_expect *e, char *msg, size_t size)
{
    struct upstream_rp_error err = {0};
    json_t *claims = NULL;
    int r = rp_verify_jws(token, jwks, e->alg, &claims, &err);
    if (r == 0)
        r = rp_check_id_token_claims(claims, e, &err);
    json_decref(claims);
    snprintf(msg, size, "%s", err.message);
    return r == 0 ? UPSTREAM_RP_OK : (int)err.status;
}

/* An ID token with one change: key set to value (NULL: removed). */
#define CHECK_ID(mutate, want, text)                                                                         \
    do {                                                                                                     \
        json_t *c = id_claims();                                                                             \
        mutate;                                                                                              \
        char *t = sign("RS256", c), m[256];                                                                  \
        CHECK_INT(id_token_status(t, &expect, m, sizeof(m)), want);                                          \
        if ((text)[0] && !strstr(m, text))                                                                   \
            fprintf(stderr, "  message: %s\n", m);                                                           \
        CHECK((text)[0] == '\0' || strstr(m, text) != NULL);                                                 \
        free(t);                                                                                             \
    } while (0)

static void test_id_token(void)
{
    char m[256];
    CHECK_ID((void)0, UPSTREAM_RP_OK, "");
    CHECK_ID(json_object_set_new(c, "iss", json_string("https://evil.example.com")), UPSTREAM_RP_INVALID,
             "iss is \"https://evil.example.com\", expected \"https://idp.example.com\"");
    CHECK_ID(json_object_set_new(c, "iss", json_string(ISS "/")), UPSTREAM_RP_INVALID, "iss is");
    CHECK_ID(json_object_del(c, "iss"), UPSTREAM_RP_INVALID, "has no iss");
    CHECK_ID(json_object_set_new(c, "aud", json_string("other")), UPSTREAM_RP_INVALID, "aud does not hold");
    CHECK_ID(json_object_del(c, "aud"), UPSTREAM_RP_INVALID, "has no aud");
    CHECK_ID(json_object_set_new(c, "aud", json_pack("[s]", CLIENT_ID)), UPSTREAM_RP_OK, "");
    CHECK_ID(json_object_set_new(c, "aud", json_pack("[s,i]", CLIENT_ID, 1)), UPSTREAM_RP_INVALID,
             "not a string");
    CHECK_ID(json_object_set_new(c, "aud", json_pack("[s,s]", CLIENT_ID, "other")), UPSTREAM_RP_INVALID,
             "no azp");
    CHECK_ID((json_object_set_new(c, "aud", json_pack("[s,s]", CLIENT_ID, "other")),
              json_object_set_new(c, "azp", json_string(CLIENT_ID))),
             UPSTREAM_RP_OK, "");
    CHECK_ID(json_object_set_new(c, "azp", json_string("other")), UPSTREAM_RP_INVALID,
             "azp is not our client_id");
    CHECK_ID(json_object_set_new(c, "nonce", json_string("other")), UPSTREAM_RP_INVALID,
             "nonce is not the one");
    CHECK_ID(json_object_del(c, "nonce"), UPSTREAM_RP_INVALID, "has no nonce");
    CHECK_ID(json_object_set_new(c, "exp", json_integer(NOW - UPSTREAM_RP_LEEWAY_S - 1)), UPSTREAM_RP_INVALID,
             "expired 301 s ago");
    CHECK_ID(json_object_set_new(c, "exp", json_integer(NOW - UPSTREAM_RP_LEEWAY_S)), UPSTREAM_RP_OK, "");
    CHECK_ID(json_object_set_new(c, "exp", json_string("tomorrow")), UPSTREAM_RP_INVALID, "has no exp");
    CHECK_ID(json_object_del(c, "exp"), UPSTREAM_RP_INVALID, "has no exp");
    CHECK_ID(json_object_set_new(c, "iat", json_integer(NOW + UPSTREAM_RP_LEEWAY_S + 1)), UPSTREAM_RP_INVALID,
             "in the future");
    CHECK_ID(json_object_set_new(c, "iat", json_integer(NOW + UPSTREAM_RP_LEEWAY_S)), UPSTREAM_RP_OK, "");
    CHECK_ID(json_object_del(c, "iat"), UPSTREAM_RP_INVALID, "has no iat");
    CHECK_ID(json_object_set_new(c, "nbf", json_integer(NOW + UPSTREAM_RP_LEEWAY_S + 1)), UPSTREAM_RP_INVALID,
             "not valid before");
    CHECK_ID(json_object_del(c, "sub"), UPSTREAM_RP_INVALID, "no valid sub");
    CHECK_ID(json_object_set_new(c, "sub", json_string("")), UPSTREAM_RP_INVALID, "no valid sub");
    CHECK_ID(json_object_set_new(c, "at_hash", json_string("AAAAAAAAAAAAAAAAAAAAAA")), UPSTREAM_RP_INVALID,
             "at_hash does not match");
    CHECK_ID(json_object_set_new(c, "c_hash", json_string("AAAAAAAAAAAAAAAAAAAAAA")), UPSTREAM_RP_INVALID,
             "c_hash does not match");
    char c_hash[88];
    jose_token_hash("RS256", "the-code", c_hash);
    CHECK_ID(json_object_set_new(c, "c_hash", json_string(c_hash)), UPSTREAM_RP_OK, "");

    /* the algorithm: exactly the configured one; HS* and none never */
    char *es = sign("ES256", id_claims());
    CHECK_INT(id_token_status(es, &expect, m, sizeof(m)), UPSTREAM_RP_INVALID);
    CHECK_STR(m, "the token is signed with ES256, expected RS256");
    struct rp_expect e_es = expect;
    e_es.alg = "ES256";
    e_es.access_token = NULL;
    CHECK_INT(id_token_status(es, &e_es, m, sizeof(m)), UPSTREAM_RP_OK);
    free(es);
    char *hs = sign("HS256", id_claims());
    struct rp_expect e_hs = expect;
    e_hs.alg = "HS256";
    CHECK_INT(id_token_status(hs, &e_hs, m, sizeof(m)), UPSTREAM_RP_INVALID);
    CHECK_STR(m, "the token is signed with \"HS256\", which is never accepted");
    CHECK_INT(id_token_status(hs, &expect, m, sizeof(m)), UPSTREAM_RP_INVALID);
    free(hs);
    /* alg none: a header {"alg":"none"} and an empty signature fails parsing; with a signature too */
    CHECK_INT(id_token_status("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", &expect, m, sizeof(m)),
              UPSTREAM_RP_INVALID);
    CHECK_INT(id_token_status("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.AAAA", &expect, m, sizeof(m)),
              UPSTREAM_RP_INVALID);
    CHECK_STR(m, "the token is signed with \"none\", which is never accepted");
    /* a tampered payload, and a kid the JWKS lacks */
    char *t = sign("RS256", id_claims());
    char *dot = strchr(t, '.');
    dot[2] = dot[2] == 'A' ? 'B' : 'A';
    CHECK_INT(id_token_status(t, &expect, m, sizeof(m)), UPSTREAM_RP_INVALID);
    free(t);
    json_t *other =
        json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "kty", "RSA", "kid", "rsa1", "n", "AQAB", "e", "AQAB");
    t = sign("RS256", id_claims());
    struct upstream_rp_error err;
    json_t *claims = NULL;
    CHECK(rp_verify_jws(t, other, "RS256", &claims, &err) < 0);
    CHECK_STR(err.message, "the token's signature does not verify with the provider's keys");
    CHECK(claims == NULL);
    free(t);
    json_decref(other);
    /* a key published for RS256 only does not verify PS256 */
    json_t *restricted = json_deep_copy(jwks);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(restricted, "keys"), i, k)
        json_object_set_new(k, "alg", json_string("RS256"));
    t = sign("PS256", id_claims());
    CHECK(rp_verify_jws(t, jwks, "PS256", &claims, &err) == 0);
    json_decref(claims);
    CHECK(rp_verify_jws(t, restricted, "PS256", &claims, &err) < 0);
    CHECK_STR(err.message, "the token's key is published for another algorithm than PS256");
    free(t);
    t = sign("RS256", id_claims());
    CHECK(rp_verify_jws(t, restricted, "RS256", &claims, &err) == 0);
    json_decref(claims);
    free(t);
    json_decref(restricted);
    CHECK(rp_verify_jws("garbage", jwks, "RS256", &claims, &err) < 0);
    CHECK_STR(err.message, "the token is not a signed JWT (compact JWS)");
    /* no issuer configured: never accepted (MAS then skips the check) */
    struct rp_expect e_noiss = expect;
    e_noiss.issuer = NULL;
    t = sign("RS256", id_claims());
    CHECK_INT(id_token_status(t, &e_noiss, m, sizeof(m)), UPSTREAM_RP_MISCONFIGURED);
    /* no nonce sent: a nonce in the token is not compared */
    struct rp_expect e_nononce = expect;
    e_nononce.nonce = NULL;
    CHECK_INT(id_token_status(t, &e_nononce, m, sizeof(m)), UPSTREAM_RP_OK);
    free(t);
}

static json_t *logout_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:{s:{}}}", "iss", ISS, "aud", CLIENT_ID, "sub",
                     "alice", "sid", "s1", "iat", (json_int_t)NOW, "exp", (json_int_t)NOW + 120, "jti", "j1",
                     "events", BCL_EVENT);
}

#define CHECK_LOGOUT(mutate, want, text)                                                                     \
    do {                                                                                                     \
        json_t *c = logout_claims();                                                                         \
        mutate;                                                                                              \
        char *t = sign("RS256", c);                                                                          \
        struct upstream_rp_error err = {0};                                                                  \
        json_t *cl = NULL;                                                                                   \
        int r = rp_verify_jws(t, jwks, "RS256", &cl, &err);                                                  \
        if (r == 0)                                                                                          \
            r = rp_check_logout_claims(cl, &expect, &err);                                                   \
        CHECK_INT(r == 0 ? UPSTREAM_RP_OK : (int)err.status, want);                                          \
        if ((text)[0] && !strstr(err.message, text))                                                         \
            fprintf(stderr, "  message: %s\n", err.message);                                                 \
        CHECK((text)[0] == '\0' || strstr(err.message, text) != NULL);                                       \
        json_decref(cl);                                                                                     \
        free(t);                                                                                             \
    } while (0)

static void test_logout_token(void)
{
    CHECK_LOGOUT((void)0, UPSTREAM_RP_OK, "");
    CHECK_LOGOUT(json_object_del(c, "sid"), UPSTREAM_RP_OK, "");
    CHECK_LOGOUT(json_object_del(c, "sub"), UPSTREAM_RP_OK, "");
    CHECK_LOGOUT((json_object_del(c, "sub"), json_object_del(c, "sid")), UPSTREAM_RP_INVALID,
                 "neither sub nor sid");
    CHECK_LOGOUT(json_object_set_new(c, "sid", json_integer(3)), UPSTREAM_RP_INVALID, "not a valid string");
    CHECK_LOGOUT(json_object_set_new(c, "nonce", json_string("n")), UPSTREAM_RP_INVALID, "has a nonce");
    CHECK_LOGOUT(json_object_set_new(c, "events", json_pack("{s:{}}", "http://example.com/other")),
                 UPSTREAM_RP_INVALID, "events lack");
    CHECK_LOGOUT(json_object_set_new(c, "events", json_pack("{s:s}", BCL_EVENT, "x")), UPSTREAM_RP_INVALID,
                 "events lack");
    CHECK_LOGOUT(json_object_del(c, "events"), UPSTREAM_RP_INVALID, "events lack");
    CHECK_LOGOUT(json_object_del(c, "jti"), UPSTREAM_RP_INVALID, "no valid jti");
    CHECK_LOGOUT(json_object_set_new(c, "jti", json_string("")), UPSTREAM_RP_INVALID, "no valid jti");
    CHECK_LOGOUT(json_object_set_new(c, "iss", json_string("https://evil")), UPSTREAM_RP_INVALID, "iss is");
    CHECK_LOGOUT(json_object_set_new(c, "aud", json_string("other")), UPSTREAM_RP_INVALID,
                 "aud does not hold");
    CHECK_LOGOUT(json_object_set_new(c, "exp", json_integer(NOW - UPSTREAM_RP_LEEWAY_S - 1)),
                 UPSTREAM_RP_INVALID, "expired");
    CHECK_LOGOUT(json_object_del(c, "exp"), UPSTREAM_RP_INVALID, "has no exp");
    CHECK_LOGOUT(json_object_set_new(c, "iat", json_integer(NOW + UPSTREAM_RP_LEEWAY_S + 1)),
                 UPSTREAM_RP_INVALID, "in the future");
    /* a long-lived token replayed long after it was made */
    CHECK_LOGOUT((json_object_set_new(c, "iat", json_integer(NOW - UPSTREAM_RP_LOGOUT_MAX_AGE_S - 1)),
                  json_object_set_new(c, "exp", json_integer(NOW + 86400))),
                 UPSTREAM_RP_INVALID, "more than 600 s");
    /* signed with another alg than the configured one */
    json_t *c = logout_claims();
    char *t = sign("ES256", c);
    struct upstream_rp_error err;
    json_t *cl = NULL;
    CHECK(rp_verify_jws(t, jwks, "RS256", &cl, &err) < 0);
    CHECK_STR(err.message, "the token is signed with ES256, expected RS256");
    free(t);
}

static void test_userinfo(void)
{
    struct upstream_rp_error err;
    json_t *u = json_pack("{s:s, s:s}", "sub", "alice", "name", "Alice");
    CHECK_INT(rp_check_userinfo_claims(u, "alice", false, &expect, &err), 0);
    CHECK_INT(rp_check_userinfo_claims(u, NULL, false, &expect, &err), 0);
    CHECK(rp_check_userinfo_claims(u, "bob", false, &expect, &err) < 0);
    CHECK_INT(err.status, UPSTREAM_RP_INVALID);
    CHECK_STR(err.message, "the userinfo sub is not the ID token's sub");
    /* signed: iss and aud are required */
    CHECK(rp_check_userinfo_claims(u, "alice", true, &expect, &err) < 0);
    CHECK_STR(err.message, "the signed userinfo has no iss");
    json_object_set_new(u, "iss", json_string(ISS));
    CHECK(rp_check_userinfo_claims(u, "alice", true, &expect, &err) < 0);
    CHECK_STR(err.message, "the signed userinfo has no aud");
    json_object_set_new(u, "aud", json_string(CLIENT_ID));
    CHECK_INT(rp_check_userinfo_claims(u, "alice", true, &expect, &err), 0);
    json_object_del(u, "sub");
    CHECK(rp_check_userinfo_claims(u, NULL, false, &expect, &err) < 0);
    CHECK_STR(err.message, "the userinfo answer has no valid sub");
    json_decref(u);
    json_t *arr = json_array();
    CHECK(rp_check_userinfo_claims(arr, NULL, false, &expect, &err) < 0);
    CHECK_INT(err.status, UPSTREAM_RP_BAD_ANSWER);
    json_decref(arr);
}

static void test_token_response(void)
{
    struct upstream_rp_error err;
    const char *at, *it;
    json_t *d = json_pack("{s:s, s:s}", "access_token", "a", "token_type", "Bearer");
    CHECK_INT(rp_check_token_response(d, false, &at, &it, &err), 0);
    CHECK_STR(at, "a");
    CHECK(it == NULL);
    CHECK(rp_check_token_response(d, true, &at, &it, &err) < 0);
    CHECK_INT(err.status, UPSTREAM_RP_INVALID);
    CHECK_STR(err.message, "the token response has no id_token, although openid was asked for");
    json_object_set_new(d, "id_token", json_string("x.y.z"));
    CHECK_INT(rp_check_token_response(d, true, &at, &it, &err), 0);
    CHECK_STR(it, "x.y.z");
    json_object_set_new(d, "id_token", json_integer(1));
    CHECK(rp_check_token_response(d, false, &at, &it, &err) < 0);
    json_object_del(d, "id_token");
    json_object_del(d, "token_type");
    CHECK(rp_check_token_response(d, false, &at, &it, &err) < 0);
    CHECK_STR(err.message, "the token response has no token_type");
    json_object_del(d, "access_token");
    CHECK(rp_check_token_response(d, false, &at, &it, &err) < 0);
    CHECK_STR(err.message, "the token response has no access_token");
    json_decref(d);

    const char e1[] = "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}";
    rp_token_error(400, e1, strlen(e1), &err);
    CHECK_INT(err.status, UPSTREAM_RP_IDP_ERROR);
    CHECK_STR(err.message, "the token endpoint answered 400 invalid_grant: grant request is invalid");
    rp_token_error(502, "<html>", 6, &err);
    CHECK_INT(err.status, UPSTREAM_RP_UNREACHABLE);
    rp_token_error(404, "nope", 4, &err);
    CHECK_INT(err.status, UPSTREAM_RP_BAD_ANSWER);
    /* a description with control characters and quotes is made printable */
    const char e2[] = "{\"error\":\"x\\n\\\"y\",\"error_description\":\"a\\u0001b\"}";
    rp_token_error(400, e2, strlen(e2), &err);
    CHECK_STR(err.message, "the token endpoint answered 400 x??y: a?b");
}

static json_t *discovery_doc(const char *base)
{
    char a[256], t[256], j[256], u[256];
    snprintf(a, sizeof(a), "%s/auth", base);
    snprintf(t, sizeof(t), "%s/token", base);
    snprintf(j, sizeof(j), "%s/jwks", base);
    snprintf(u, sizeof(u), "%s/me", base);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s], s:[s,s], s:[s]}", "issuer", base,
                     "authorization_endpoint", a, "token_endpoint", t, "jwks_uri", j, "userinfo_endpoint", u,
                     "response_types_supported", "code", "subject_types_supported", "public",
                     "id_token_signing_alg_values_supported", "RS256", "scopes_supported", "openid",
                     "profile", "code_challenge_methods_supported", "S256");
}

#define CHECK_DISC(mode, iss_, mutate, ok, text)                                                             \
    do {                                                                                                     \
        struct config_upstream_provider p = {.issuer = (char *)(iss_), .discovery_mode = (mode)};            \
        json_t *d = discovery_doc(iss_);                                                                     \
        mutate;                                                                                              \
        struct upstream_rp_error err = {0};                                                                  \
        int r = rp_check_discovery(d, &p, &err);                                                             \
        CHECK_INT(r == 0, ok);                                                                               \
        if (!(ok))                                                                                           \
            CHECK_INT(err.status, UPSTREAM_RP_BAD_ANSWER);                                                   \
        if ((text)[0] && strcmp(err.message, text) != 0)                                                     \
            fprintf(stderr, "  message: %s\n", err.message);                                                 \
        CHECK((text)[0] == '\0' || strcmp(err.message, text) == 0);                                          \
        json_decref(d);                                                                                      \
    } while (0)

static void test_discovery(void)
{
    const int O = UPSTREAM_DISCOVERY_OIDC, I = UPSTREAM_DISCOVERY_INSECURE;
    CHECK_DISC(O, ISS, (void)0, 1, "");
    CHECK_DISC(I, "http://127.0.0.1:9", (void)0, 1, "");
    CHECK_DISC(O, "http://127.0.0.1:9", (void)0, 0,
               "the discovery document's issuer \"http://127.0.0.1:9\" is not an https URL");
    CHECK_DISC(O, ISS, json_object_set_new(d, "issuer", json_string(ISS "/")), 0,
               "the discovery document's issuer is \"https://idp.example.com/\", expected "
               "\"https://idp.example.com\"");
    CHECK_DISC(I, ISS, json_object_set_new(d, "issuer", json_string("https://other")), 0,
               "the discovery document's issuer is \"https://other\", expected \"https://idp.example.com\"");
    CHECK_DISC(
        O, ISS, json_object_set_new(d, "token_endpoint", json_string("http://idp.example.com/token")), 0,
        "the discovery document's token_endpoint \"http://idp.example.com/token\" is not an https URL");
    CHECK_DISC(I, ISS, json_object_set_new(d, "token_endpoint", json_string("file:///etc/passwd")), 0,
               "the discovery document's token_endpoint \"file:///etc/passwd\" is not an http(s) URL");
    CHECK_DISC(O, ISS, json_object_set_new(d, "end_session_endpoint", json_string("http://x/")), 0, "");
    CHECK_DISC(O, ISS, json_object_set_new(d, "token_endpoint", json_string(ISS "/token#f")), 0,
               "the discovery document's token_endpoint has a fragment");
    CHECK_DISC(O, ISS "?a=b", (void)0, 0, "the discovery document's issuer has a query");
    CHECK_DISC(O, ISS, json_object_set_new(d, "scopes_supported", json_pack("[s]", "profile")), 0,
               "the discovery document's scopes_supported lacks openid");
    CHECK_DISC(I, ISS, json_object_set_new(d, "scopes_supported", json_pack("[s]", "profile")), 1, "");
    CHECK_DISC(O, ISS,
               json_object_set_new(d, "token_endpoint_auth_signing_alg_values_supported",
                                   json_pack("[s,s]", "RS256", "none")),
               0, "the discovery document's token_endpoint_auth_signing_alg_values_supported lists \"none\"");
    CHECK_DISC(O, ISS, json_object_del(d, "jwks_uri"), 0, "the discovery document has no jwks_uri");
    CHECK_DISC(I, ISS, json_object_del(d, "jwks_uri"), 0, "the discovery document has no jwks_uri");
    CHECK_DISC(I, ISS, json_object_del(d, "subject_types_supported"), 0,
               "the discovery document has no subject_types_supported");
    CHECK_DISC(I, ISS, json_object_set_new(d, "issuer", json_integer(1)), 0,
               "the discovery document has no issuer");
    CHECK_DISC(O, ISS, (json_decref(d), d = json_array()), 0, "the discovery document is not a JSON object");
}

/* Metadata with discovery disabled: overrides only, no network. */
static void test_metadata_disabled(void)
{
    struct upstream_rp *rp = NULL;
    CHECK_INT(upstream_rp_open(ks, &rp), 0);
    struct config_upstream_provider p = {.issuer = ISS,
                                         .client_id = CLIENT_ID,
                                         .discovery_mode = UPSTREAM_DISCOVERY_DISABLED,
                                         .scope_openid = true,
                                         .pkce_method = UPSTREAM_PKCE_AUTO,
                                         .authorization_endpoint = ISS "/auth",
                                         .token_endpoint = ISS "/token"};
    struct upstream_rp_metadata m;
    struct upstream_rp_error err;
    CHECK(upstream_rp_metadata(rp, &p, NOW, &m, &err) < 0);
    CHECK_INT(err.status, UPSTREAM_RP_MISCONFIGURED);
    CHECK_STR(err.message,
              "the provider has no jwks_uri (tokens are to be verified): configure it or enable discovery");
    p.jwks_uri = ISS "/jwks";
    CHECK_INT(upstream_rp_metadata(rp, &p, NOW, &m, &err), 0);
    CHECK_STR(m.token_endpoint, ISS "/token");
    CHECK(!m.pkce_s256); /* auto without discovery: no PKCE, as MAS */
    upstream_rp_metadata_clear(&m);
    p.pkce_method = UPSTREAM_PKCE_ALWAYS;
    CHECK_INT(upstream_rp_metadata(rp, &p, NOW, &m, &err), 0);
    CHECK(m.pkce_s256);
    upstream_rp_metadata_clear(&m);
    p.fetch_userinfo = true;
    CHECK(upstream_rp_metadata(rp, &p, NOW, &m, &err) < 0);
    CHECK_STR(
        err.message,
        "the provider has no userinfo_endpoint (fetch_userinfo is on): configure it or enable discovery");
    p.fetch_userinfo = false;
    p.issuer = NULL;
    CHECK(upstream_rp_metadata(rp, &p, NOW, &m, &err) < 0);
    CHECK_STR(err.message,
              "the provider has no issuer (tokens are to be verified): configure it or enable discovery");
    p.token_endpoint = NULL;
    p.scope_openid = false;
    CHECK(upstream_rp_metadata(rp, &p, NOW, &m, &err) < 0);
    CHECK_STR(err.message, "the provider has no token_endpoint: configure it or enable discovery");
    /* a logout token for a provider without an issuer: refused before any fetch */
    json_t *claims = NULL;
    p.token_endpoint = ISS "/token";
    CHECK(upstream_rp_logout_token(rp, &p, "a.b.c", NOW, &claims, &err) < 0);
    CHECK_INT(err.status, UPSTREAM_RP_MISCONFIGURED);
    CHECK(upstream_rp_logout_token(rp, &p, "", NOW, &claims, &err) < 0);
    CHECK_STR(err.message, "no logout_token");
    upstream_rp_close(rp);
}

/* Sign in with Apple's key and client_secret_jwt's HMAC, and the form encoding. */
static void test_signing_helpers(void)
{
    FILE *f = fopen("data/secrets/ec-p256-pkcs8.pem", "r");
    char pem[4096];
    size_t n = f ? fread(pem, 1, sizeof(pem) - 1, f) : 0;
    pem[n] = '\0';
    if (f)
        fclose(f);
    struct jose_key *k = NULL;
    CHECK_INT(jose_key_from_pem(pem, "KEYID", &k), 0);
    CHECK(jose_key_supports(k, "ES256"));
    CHECK(!jose_key_supports(k, "RS256"));
    CHECK_STR(jose_key_id(k), "KEYID");
    char *jws = NULL;
    json_t *c = json_pack("{s:s}", "iss", "TEAM");
    CHECK_INT(jose_sign(k, "ES256", c, &jws), 0);
    struct jose_jws parsed;
    CHECK_INT(jose_jws_parse(jws, strlen(jws), &parsed), 0);
    CHECK_STR(parsed.kid, "KEYID");
    CHECK_INT(jose_jws_verify_jwks(&parsed, jws, jwks), -EACCES); /* not ec1's kid */
    jose_jws_clear(&parsed);
    free(jws);
    jose_key_free(k);
    CHECK_INT(jose_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "k", &k),
              -EINVAL);
    CHECK(k == NULL);

    CHECK_INT(jose_sign_hmac("RS256", "s", 1, c, &jws), -EINVAL);
    CHECK_INT(jose_sign_hmac("HS256", "s", 1, c, &jws), 0);
    CHECK_INT(jose_jws_parse(jws, strlen(jws), &parsed), 0);
    CHECK_INT(jose_jws_verify_hmac(&parsed, jws, "s", 1), 0);
    CHECK_INT(jose_jws_verify_hmac(&parsed, jws, "t", 1), -EACCES);
    jose_jws_clear(&parsed);
    free(jws);
    json_decref(c);

    char *form = NULL;
    CHECK_INT(rp_form_add(&form, "a", "x y&z=é"), 0);
    CHECK_INT(rp_form_add(&form, "b", "-._*~"), 0);
    CHECK_STR(form, "a=x+y%26z%3D%C3%A9&b=-._*%7E");
    free(form);

    json_t *j = json_pack("{s:[{s:s},{s:i}]}", "keys", "kid", "a", "kid", 1);
    CHECK(rp_jwks_has_kid(j, "a"));
    CHECK(!rp_jwks_has_kid(j, "b"));
    CHECK(!rp_jwks_has_kid(j, NULL));
    json_decref(j);
    CHECK(rp_jws_kid("garbage") == NULL);
}

int main(void)
{
    struct config *cfg = load(config_keys);
    CHECK_INT(jose_keyset_from_config(cfg, &ks), 0);
    char *pub = keys_public_jwks(cfg);
    jwks = json_loads(pub, 0, NULL);
    free(pub);
    test_id_token();
    test_logout_token();
    test_userinfo();
    test_token_response();
    test_discovery();
    test_metadata_disabled();
    test_signing_helpers();
    json_decref(jwks);
    jose_keyset_free(ks);
    config_free(cfg);
    return check_report("test_upstream_rp");
}
