/* Client authentication of the OAuth endpoints (services/oauth/client/authenticate.c,
 * client/assertion.c): the credentials presented, the registered method enforced, and client
 * assertions per RFC 7523 — each claim rule failing on its own, the algorithm pinned to the
 * method, signatures by HMAC, RSA and ECDSA, and the jti replay check on both backends. */
#include "base64.h"
#include "client/auth.h"
#include "config.h"
#include "request_headers.h"
#include "secrets.h"
#include "storage_jti.h"
#include "storage_test.h"
#include "oauth.h"
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define CLIENT "01J0000000000000000000CL1T"
#define AUD    "https://auth.example.com/oauth2/introspect"
#define SECRET "a-client-secret-of-some-length"

static const char *const audiences[] = {AUD, "https://auth.example.com/", NULL};

/* header.payload of a JWS, base64url (malloc'd). */
static char *signing_input(const char *header, json_t *claims)
{
    char *c = json_dumps(claims, JSON_COMPACT);
    char *h64 = base64url_encode((const unsigned char *)header, strlen(header));
    char *c64 = base64url_encode((const unsigned char *)c, strlen(c));
    char *out = NULL;
    if (asprintf(&out, "%s.%s", h64, c64) < 0)
        out = NULL;
    free(c);
    free(h64);
    free(c64);
    json_decref(claims);
    return out;
}

static char *append_sig(char *input, const unsigned char *sig, size_t len)
{
    char *s64 = base64url_encode(sig, len), *out = NULL;
    if (asprintf(&out, "%s.%s", input, s64) < 0)
        out = NULL;
    free(input);
    free(s64);
    return out;
}

static char *hs256(const char *header, json_t *claims, const char *secret)
{
    char *in = signing_input(header, claims);
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)in, strlen(in), mac, &len);
    return append_sig(in, mac, len);
}

/* ES256: DER from OpenSSL turned into JWS r || s. */
static char *sign_key(const char *header, json_t *claims, EVP_PKEY *key, bool ec)
{
    char *in = signing_input(header, claims);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 0;
    unsigned char sig[512];
    EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL);
    len = sizeof(sig);
    EVP_DigestSign(ctx, sig, &len, (unsigned char *)in, strlen(in));
    EVP_MD_CTX_free(ctx);
    if (!ec)
        return append_sig(in, sig, len);
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    return append_sig(in, raw, 64);
}

static json_t *claims(int64_t now_s)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", CLIENT, "sub", CLIENT, "aud", AUD, "exp",
                     (json_int_t)(now_s + 60), "iat", (json_int_t)now_s, "jti", "jti-1");
}

/* One claim changed (value NULL: removed), then checked. */
static int check_with(const char *key, json_t *value, enum client_auth_method method, const char *alg)
{
    int64_t now = masd_now();
    json_t *c = claims(now / 1000);
    if (value)
        json_object_set_new(c, key, value);
    else if (key)
        json_object_del(c, key);
    char header[64];
    snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", alg);
    char *jwt = hs256(header, c, SECRET);
    struct client_assertion a;
    int r = client_assertion_parse(jwt, strlen(jwt), &a);
    const char *why = NULL;
    if (r == 0)
        r = client_assertion_check_claims(&a, CLIENT, method, audiences, now, &why);
    client_assertion_clear(&a);
    free(jwt);
    return r;
}

static void test_claims(void)
{
    int64_t now_s = masd_now() / 1000;
    CHECK_INT(check_with(NULL, NULL, CLIENT_AUTH_SECRET_JWT, "HS256"), 0);
    CHECK_INT(check_with("aud", json_pack("[s,s]", "x", "https://auth.example.com/"), CLIENT_AUTH_SECRET_JWT,
                         "HS256"),
              0);
    CHECK_INT(check_with("iss", json_string("other"), CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with("iss", NULL, CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with("sub", json_string("other"), CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with("aud", json_string("https://evil.example.com/"), CLIENT_AUTH_SECRET_JWT, "HS256"),
              -EACCES);
    CHECK_INT(check_with("aud", NULL, CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with("exp", json_integer(now_s - CLIENT_ASSERTION_LEEWAY_S - 1), CLIENT_AUTH_SECRET_JWT,
                         "HS256"),
              -EACCES);
    CHECK_INT(check_with("exp", json_integer(now_s - 5), CLIENT_AUTH_SECRET_JWT, "HS256"), 0); /* leeway */
    CHECK_INT(check_with("exp", NULL, CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with("nbf", json_integer(now_s + 3600), CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with("jti", NULL, CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with("exp", json_string("soon"), CLIENT_AUTH_SECRET_JWT, "HS256"), -EINVAL);
    /* at most an hour ahead (RFC 7523 §3 lets the server refuse "unreasonably far" exp) */
    CHECK_INT(check_with("exp", json_integer(now_s + CLIENT_ASSERTION_MAX_LIFETIME_S - 5),
                         CLIENT_AUTH_SECRET_JWT, "HS256"),
              0);
    CHECK_INT(check_with("exp", json_integer(now_s + CLIENT_ASSERTION_MAX_LIFETIME_S + 5),
                         CLIENT_AUTH_SECRET_JWT, "HS256"),
              -EACCES);
    /* extreme values: refused, and judged without signed overflow (UBSan runs this test) */
    static const json_int_t extreme[] = {INT64_MAX, INT64_MAX - 29, INT64_MAX / 1000 + 1, INT64_MAX / 1000};
    for (size_t i = 0; i < sizeof(extreme) / sizeof(extreme[0]); i++) {
        CHECK_INT(check_with("exp", json_integer(extreme[i]), CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
        CHECK_INT(check_with("nbf", json_integer(extreme[i]), CLIENT_AUTH_SECRET_JWT, "HS256"), -EACCES);
        CHECK_INT(check_with("iat", json_integer(extreme[i]), CLIENT_AUTH_SECRET_JWT, "HS256"), 0);
    }
    CHECK_INT(check_with("exp", json_integer(INT64_MIN), CLIENT_AUTH_SECRET_JWT, "HS256"), -EINVAL);
    CHECK_INT(check_with("exp", json_real(1e300), CLIENT_AUTH_SECRET_JWT, "HS256"), -EINVAL);
    CHECK_INT(check_with("exp", json_real(9.2e15), CLIENT_AUTH_SECRET_JWT, "HS256"), -EINVAL);
    CHECK_INT(check_with("exp", json_real((double)(now_s + 60)), CLIENT_AUTH_SECRET_JWT, "HS256"), 0);
    /* the algorithm is pinned to the method */
    CHECK_INT(check_with(NULL, NULL, CLIENT_AUTH_PRIVATE_KEY_JWT, "HS256"), -EACCES);
    CHECK_INT(check_with(NULL, NULL, CLIENT_AUTH_SECRET_JWT, "RS256"), -EACCES);
    CHECK_INT(check_with(NULL, NULL, CLIENT_AUTH_SECRET_JWT, "none"), -EACCES);
    CHECK_INT(check_with(NULL, NULL, CLIENT_AUTH_SECRET_BASIC, "HS256"), -EACCES);
}

/* The claims judged at any clock, and the jti's recorded expiry for any exp. */
static void test_extreme_times(void)
{
    struct client_assertion a = {.alg = "HS256", .iss = CLIENT, .sub = CLIENT, .jti = "j"};
    a.aud = json_string(AUD);
    static const int64_t nows[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    static const int64_t claims[] = {0,        1, 30, INT64_MAX / 1000, INT64_MAX / 1000 + 1, INT64_MAX - 30,
                                     INT64_MAX};
    const char *why;
    for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
        for (size_t j = 0; j < sizeof(claims) / sizeof(claims[0]); j++) {
            a.exp = a.nbf = a.iat = claims[j];
            int r =
                client_assertion_check_claims(&a, CLIENT, CLIENT_AUTH_SECRET_JWT, audiences, nows[i], &why);
            /* exp = nbf: accepted only within the leeway around now */
            int64_t now_s = nows[i] / 1000;
            bool in_window = claims[j] > 0 && claims[j] > now_s - CLIENT_ASSERTION_LEEWAY_S &&
                             claims[j] <= now_s + CLIENT_ASSERTION_LEEWAY_S;
            CHECK_INT(r, in_window ? 0 : -EACCES);
        }
    a.exp = 1700000000;
    CHECK(client_assertion_jti_expiry_ms(&a) == 1700000000000 + CLIENT_ASSERTION_LEEWAY_S * 1000);
    a.exp = INT64_MAX / 1000; /* exp * 1000 fits, + the leeway does not */
    CHECK(client_assertion_jti_expiry_ms(&a) == INT64_MAX);
    a.exp = INT64_MAX / 1000 + 1; /* exp * 1000 wrapped negative: the jti read as expired at once */
    CHECK(client_assertion_jti_expiry_ms(&a) == INT64_MAX);
    a.exp = INT64_MAX;
    CHECK(client_assertion_jti_expiry_ms(&a) == INT64_MAX);
    a.exp = 0;
    CHECK(client_assertion_jti_expiry_ms(&a) == 0);
    json_decref(a.aud);
}

static void test_parse(void)
{
    struct client_assertion a;
    const char *bad[] = {"", "a.b", "a.b.c.d", "e30.e30.", "e30.e30.AA", "eyJhbGciOjF9.e30.AA", "!!.e30.AA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(client_assertion_parse(bad[i], strlen(bad[i]), &a), -EINVAL);
    /* eyJhbGciOiJIUzI1NiJ9 = {"alg":"HS256"}; e30 = {} */
    CHECK_INT(client_assertion_parse("eyJhbGciOiJIUzI1NiJ9.e30.AA", 27, &a), 0);
    CHECK_STR(a.alg, "HS256");
    CHECK(a.iss == NULL && a.exp == 0);
    client_assertion_clear(&a);
    /* crit is refused: no extension is understood */
    char *jwt = hs256("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", claims(1), SECRET);
    CHECK_INT(client_assertion_parse(jwt, strlen(jwt), &a), -EINVAL);
    free(jwt);
}

/* client_credentials_parse with this header (NULL: none) and form; *c is cleared by the caller. */
static int credentials(masd_str header, const char *form, struct client_credentials *c, const char **error)
{
    struct masd_request req = {.body = masd_str_from(form)};
    const char *why;
    request_authorization = header; /* request_headers.h */
    return client_credentials_parse(&req, req.body, c, error, &why);
}

static void test_credentials(void)
{
    struct client_credentials c;
    const char *error;
    /* forms only: JSON, no Content-Type, or a type that merely starts like a form are refused */
    static const masd_str not_forms[] = {MASD_STR("application/json"),
                                         {NULL, 0},
                                         MASD_STR("application/x-www-form-urlencodedx"),
                                         MASD_STR("text/plain")};
    for (size_t i = 0; i < sizeof(not_forms) / sizeof(not_forms[0]); i++) {
        request_content_type = not_forms[i];
        CHECK_INT(credentials(MASD_STR("Bearer shared"), "token=t", &c, &error), -EINVAL);
        CHECK_STR(error, "invalid_request");
    }
    request_content_type = MASD_STR("Application/X-WWW-Form-Urlencoded ; charset=UTF-8");
    CHECK_INT(credentials(MASD_STR("Bearer shared"), "token=t", &c, &error), 0);
    client_credentials_clear(&c);
    request_content_type = MASD_STR("application/x-www-form-urlencoded");
    /* Basic: base64 of the percent-encoded id and secret (RFC 6749 §2.3.1) */
    CHECK_INT(credentials(MASD_STR("Basic Y2xpZW50JTNBb25lOnMlMjBjciUyQmV0"), "token=t", &c, &error), 0);
    CHECK_INT(c.method, CLIENT_AUTH_SECRET_BASIC);
    CHECK_STR(c.client_id, "client:one");
    CHECK_STR(c.client_secret, "s cr+et");
    client_credentials_clear(&c);
    /* YTpi = "a:b"; a different client_id in the form is invalid_grant, as MAS */
    CHECK_INT(credentials(MASD_STR("basic YTpi"), "client_id=c", &c, &error), -EINVAL);
    CHECK_STR(error, "invalid_grant");
    CHECK_INT(credentials(MASD_STR("Bearer  shared "), "", &c, &error), 0);
    CHECK(c.bearer && c.client_id == NULL);
    CHECK_STR(c.bearer_token, "shared");
    client_credentials_clear(&c);
    CHECK_INT(credentials((masd_str){NULL, 0}, "client_id=x&client_secret=y", &c, &error), 0);
    CHECK_INT(c.method, CLIENT_AUTH_SECRET_POST);
    client_credentials_clear(&c);
    CHECK_INT(credentials((masd_str){NULL, 0}, "client_id=x", &c, &error), 0);
    CHECK_INT(c.method, CLIENT_AUTH_NONE);
    client_credentials_clear(&c);
    CHECK_INT(credentials((masd_str){NULL, 0}, "client_assertion=a.b.c&client_assertion_type=x", &c, &error),
              -EINVAL);
    CHECK_INT(credentials((masd_str){NULL, 0}, "token=t", &c, &error), -ENODATA);
    /* any parameter twice: 400 invalid_request (RFC 6749 §3.1); "first one wins" read
     * client_id=A&client_id=B as A */
    static const char *const twice[] = {
        "client_id=A&client_id=B",
        "client_id=x&client_secret=y&client_secret=z",
        "client_id=x&token=a&token=b",
        "client_id=x&token_type_hint=access_token&token_type_hint=refresh_token",
        "client_id=x&client%5Fid=x",
        "client_id=x&unknown=1&unknown=1",
    };
    for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
        error = NULL;
        CHECK_INT(credentials((masd_str){NULL, 0}, twice[i], &c, &error), -EINVAL);
        CHECK_STR(error, "invalid_request");
        CHECK(c.client_id == NULL);
    }
    CHECK_INT(credentials(MASD_STR("Bearer shared"), "token=a&token=a", &c, &error), -EINVAL);
    CHECK_INT(credentials(MASD_STR("Basic YTpi"), "client_id=a&client_id=a", &c, &error), -EINVAL);
    CHECK_STR(error, "invalid_request");
    CHECK_INT(credentials(MASD_STR("Basic YTpi="), "", &c, &error), -EINVAL);
    /* Found by fuzz_client_credentials: a NUL inside a Basic value. parse_basic decoded a
     * strndup() copy, cut at the NUL, for the value's full length, and so read past the copy
     * (inside libcrypto, where ASan does not look; the fuzzer hit a SEGV). The value is now
     * decoded where it lies, and a NUL is simply not base64. */
    static const char crash[] = "basic OnNlrR\0\0 `\0\0Y3JldA==";
    CHECK_INT(credentials((masd_str){crash, sizeof(crash) - 1}, "token=x", &c, &error), -EINVAL);
    static const char nul_long[] = "Basic YTpi\0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    CHECK_INT(credentials((masd_str){nul_long, sizeof(nul_long) - 1}, "", &c, &error), -EINVAL);
}

static int verify(const char *jwt, enum client_auth_method m, const char *secret, const json_t *jwks)
{
    struct client_assertion a;
    int r = client_assertion_parse(jwt, strlen(jwt), &a);
    if (r == 0)
        r = client_assertion_verify(&a, jwt, m, secret, secret ? strlen(secret) : 0, jwks);
    client_assertion_clear(&a);
    return r;
}

static json_t *b64_member(const unsigned char *p, size_t n)
{
    char *s = base64url_encode(p, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *jwk_of(EVP_PKEY *k, const char *kid, bool ec)
{
    if (ec) {
        unsigned char pub[65];
        size_t n = 0;
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n);
        return json_pack("{s:s, s:s, s:s, s:o, s:o}", "kty", "EC", "crv", "P-256", "kid", kid, "x",
                         b64_member(pub + 1, 32), "y", b64_member(pub + 33, 32));
    }
    BIGNUM *n = NULL, *e = NULL;
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
    unsigned char nb[512], eb[8];
    int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
    BN_free(n);
    BN_free(e);
    return json_pack("{s:s, s:s, s:o, s:o}", "kty", "RSA", "kid", kid, "n", b64_member(nb, (size_t)nl), "e",
                     b64_member(eb, (size_t)el));
}

static void test_signatures(void)
{
    int64_t now_s = masd_now() / 1000;
    char *jwt = hs256("{\"alg\":\"HS256\"}", claims(now_s), SECRET);
    CHECK_INT(verify(jwt, CLIENT_AUTH_SECRET_JWT, SECRET, NULL), 0);
    CHECK_INT(verify(jwt, CLIENT_AUTH_SECRET_JWT, "another secret", NULL), -EACCES);
    CHECK_INT(verify(jwt, CLIENT_AUTH_PRIVATE_KEY_JWT, SECRET, NULL), -EACCES);
    /* a changed signature, still base64url (flipping a bit could make it a parse error instead) */
    size_t k = strlen(jwt) - 2;
    jwt[k] = jwt[k] == 'A' ? 'B' : 'A';
    CHECK_INT(verify(jwt, CLIENT_AUTH_SECRET_JWT, SECRET, NULL), -EACCES);
    free(jwt);

    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    json_t *jwks = json_pack("{s:[o,o]}", "keys", jwk_of(ec, "e1", true), jwk_of(rsa, "r1", false));
    json_t *other = json_pack("{s:[o]}", "keys", jwk_of(ec2, "e1", true));
    char *es = sign_key("{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims(now_s), ec, true);
    char *rs = sign_key("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims(now_s), rsa, false);
    char *rs_nokid = sign_key("{\"alg\":\"RS256\"}", claims(now_s), rsa, false);
    char *wrong_kid = sign_key("{\"alg\":\"RS256\",\"kid\":\"e1\"}", claims(now_s), rsa, false);
    CHECK_INT(verify(es, CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, jwks), 0);
    CHECK_INT(verify(rs, CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, jwks), 0);
    CHECK_INT(verify(rs_nokid, CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, jwks), 0); /* the only RSA key */
    CHECK_INT(verify(wrong_kid, CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, jwks), -EACCES);
    CHECK_INT(verify(es, CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, other), -EACCES); /* another key */
    CHECK_INT(verify(es, CLIENT_AUTH_SECRET_JWT, SECRET, jwks), -EACCES);
    free(es);
    free(rs);
    free(rs_nokid);
    free(wrong_kid);
    json_decref(jwks);
    json_decref(other);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec2);
    EVP_PKEY_free(rsa);
}

static void add_client(struct storage *st, const char *id, const char *method, const char *secret,
                       const char *metadata)
{
    struct storage_oauth_client c = {0};
    snprintf(c.id, sizeof(c.id), "%s", id);
    snprintf(c.token_endpoint_auth_method, sizeof(c.token_endpoint_auth_method), "%s", method);
    if (secret)
        CHECK_INT(secrets_seal(oauth.secrets, "client-secret", secret, strlen(secret), &c.encrypted_secret),
                  0);
    c.redirect_uris = "[]";
    c.grant_types = "[]";
    c.metadata = (char *)metadata;
    c.is_static = true;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_oauth_client_create(tx, &c, masd_now(), NULL), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    free(c.encrypted_secret);
}

/* 0 or -status; *method (may be NULL): the registered method on success. */
static int authenticate_as(struct storage *st, struct client_credentials *c, enum client_auth_method *method)
{
    struct storage_oauth_client client;
    struct client_auth_result res = {0};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    int r = client_authenticate(tx, c, AUD, masd_now(), &client, &res);
    test_tx_end(tx, true);
    if (r == 0)
        storage_oauth_client_clear(&client);
    if (r == 0 && method)
        *method = res.method;
    return r < 0 ? -res.status : 0;
}

static int authenticate(struct storage *st, struct client_credentials *c)
{
    return authenticate_as(st, c, NULL);
}

static void test_authenticate(enum storage_backend b)
{
    char uri[512];
    test_db(b, "clientauth", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    add_client(st, CLIENT, "client_secret_basic", SECRET, NULL);
    add_client(st, "01J0000000000000000000CL2T", "client_secret_jwt", SECRET, NULL);
    add_client(st, "01J0000000000000000000CL3T", "none", NULL, NULL);
    struct client_credentials c = {
        .method = CLIENT_AUTH_SECRET_BASIC, .client_id = CLIENT, .client_secret = SECRET};
    CHECK_INT(authenticate(st, &c), 0);
    c.client_secret = "wrong";
    CHECK_INT(authenticate(st, &c), -401);
    c.method = CLIENT_AUTH_SECRET_POST, c.client_secret = SECRET; /* not the registered method */
    CHECK_INT(authenticate(st, &c), -401);
    c.client_id = "01J0000000000000000000NONE";
    CHECK_INT(authenticate(st, &c), -401);
    c = (struct client_credentials){.method = CLIENT_AUTH_NONE, .client_id = "01J0000000000000000000CL3T"};
    enum client_auth_method m = CLIENT_AUTH_PRIVATE_KEY_JWT;
    CHECK_INT(authenticate_as(st, &c, &m), 0);
    CHECK_INT(m, CLIENT_AUTH_NONE); /* what introspection reads to refuse a public client */
    c = (struct client_credentials){
        .method = CLIENT_AUTH_SECRET_BASIC, .client_id = CLIENT, .client_secret = SECRET};
    CHECK_INT(authenticate_as(st, &c, &m), 0);
    CHECK_INT(m, CLIENT_AUTH_SECRET_BASIC);

    /* A stored method masd does not implement fails closed: it was read as `none`, so that a
     * tls_client_auth client authenticated with its client_id alone (and, not being "none" by
     * name, could introspect). Whatever is presented, 401 invalid_client. */
    add_client(st, "01J0000000000000000000TLS1", "tls_client_auth", NULL, NULL);
    add_client(st, "01J0000000000000000000TLS2", "tls_client_auth", SECRET, NULL);
    add_client(st, "01J0000000000000000000ODD1", "None", NULL, NULL);
    static const char *const unknown[] = {"01J0000000000000000000TLS1", "01J0000000000000000000TLS2",
                                          "01J0000000000000000000ODD1"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        c = (struct client_credentials){.method = CLIENT_AUTH_NONE, .client_id = (char *)unknown[i]};
        CHECK_INT(authenticate(st, &c), -401);
        c.method = CLIENT_AUTH_SECRET_POST, c.client_secret = SECRET;
        CHECK_INT(authenticate(st, &c), -401);
        c.method = CLIENT_AUTH_SECRET_BASIC;
        CHECK_INT(authenticate(st, &c), -401);
    }

    /* client_secret_jwt, its client named by sub; a replayed jti is refused (on this backend,
     * across connections: the database decides) */
    int64_t now_s = masd_now() / 1000;
    json_t *cl = claims(now_s);
    json_object_set_new(cl, "iss", json_string("01J0000000000000000000CL2T"));
    json_object_set_new(cl, "sub", json_string("01J0000000000000000000CL2T"));
    c = (struct client_credentials){.jwt = true};
    c.assertion = hs256("{\"alg\":\"HS256\"}", cl, SECRET);
    CHECK_INT(authenticate(st, &c), 0);
    CHECK_INT(authenticate(st, &c), -401);
    free(c.assertion);
    /* an exp whose milliseconds wrap int64: the recorded jti expiry went negative, so the same
     * assertion was accepted again and again; now refused (too far ahead) every time */
    const json_int_t far[] = {INT64_MAX / 1000 + 1, now_s + 2 * CLIENT_ASSERTION_MAX_LIFETIME_S};
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
        cl = claims(now_s);
        json_object_set_new(cl, "iss", json_string("01J0000000000000000000CL2T"));
        json_object_set_new(cl, "sub", json_string("01J0000000000000000000CL2T"));
        json_object_set_new(cl, "jti", json_string(i == 0 ? "jti-far-0" : "jti-far-1"));
        json_object_set_new(cl, "exp", json_integer(far[i]));
        c.assertion = hs256("{\"alg\":\"HS256\"}", cl, SECRET);
        CHECK_INT(authenticate(st, &c), -401);
        CHECK_INT(authenticate(st, &c), -401);
        free(c.assertion);
    }

    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    int64_t now = masd_now();
    CHECK_INT(storage_jti_use(tx, CLIENT, "j", now + 1000, now), 0);
    CHECK_INT(storage_jti_use(tx, CLIENT, "j", now + 1000, now), -EALREADY);
    CHECK_INT(storage_jti_use(tx, "other", "j", now + 1000, now), 0);       /* per client */
    CHECK_INT(storage_jti_use(tx, CLIENT, "j", now + 5000, now + 1000), 0); /* expired row: reusable */
    CHECK_INT(storage_jti_use(tx, CLIENT, "", now, now), -EINVAL);
    /* an expiry not after now would let the jti be claimed again at once */
    CHECK_INT(storage_jti_use(tx, CLIENT, "k", now, now), -EINVAL);
    CHECK_INT(storage_jti_use(tx, CLIENT, "k", -1000, now), -EINVAL);
    CHECK_INT(storage_jti_use(tx, CLIENT, "k", INT64_MIN, now), -EINVAL);
    CHECK_INT(storage_jti_use(tx, CLIENT, "k", INT64_MAX, now), 0);
    CHECK_INT(storage_jti_use(tx, CLIENT, "k", INT64_MAX, INT64_MAX - 1), -EALREADY);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_close(st);
}

int main(void)
{
    test_init();
    static const unsigned char enc[32] = {1, 2, 3};
    static struct config cfg = {.issuer = "https://auth.example.com/"};
    oauth.cfg = &cfg;
    oauth.token_url = "https://auth.example.com/oauth2/token";
    if (secrets_new(enc, &oauth.secrets) < 0)
        return 1;
    test_parse();
    test_credentials();
    test_claims();
    test_extreme_times();
    test_signatures();
    enum storage_backend backends[2];
    int n = test_backends(backends);
    for (int i = 0; i < n; i++)
        test_authenticate(backends[i]);
    secrets_free(oauth.secrets);
    return check_report("test_client_auth");
}
