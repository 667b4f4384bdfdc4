/* The token and device authorization endpoints' pure parts (services/oauth/token_request.c): the
 * forms as MAS's AccessTokenRequest and DeviceAuthorizationRequest read them, RFC 7636 PKCE (Appendix B's
 * example), scope normalisation and the device IDs a scope names. */
#include "check.h"
#include "oauth_scope.h"
#include "token_request.h"
#include <errno.h>
#include <stdlib.h>

static int parse(const char *form, struct token_request *req, const char **why)
{
    return token_request_parse((masd_str){form, strlen(form)}, req, why);
}

static void test_parse(void)
{
    struct token_request req;
    const char *why = NULL;
    CHECK_INT(parse("grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"
                    "&code_verifier=v&client_id=ignored",
                    &req, &why),
              0);
    CHECK_INT(req.grant, TOKEN_GRANT_AUTHORIZATION_CODE);
    CHECK_STR(req.code, "abc");
    CHECK_STR(req.redirect_uri, "https://app.example.com/cb");
    CHECK_STR(req.code_verifier, "v");
    CHECK(req.scope == NULL);
    token_request_clear(&req);

    CHECK_INT(parse("grant_type=refresh_token&refresh_token=mar_x&scope=b+a+b", &req, &why), 0);
    CHECK_INT(req.grant, TOKEN_GRANT_REFRESH_TOKEN);
    CHECK_STR(req.refresh_token, "mar_x");
    CHECK_STR(req.scope, "a b");
    token_request_clear(&req);

    CHECK_INT(parse("grant_type=client_credentials", &req, &why), 0);
    CHECK_INT(req.grant, TOKEN_GRANT_CLIENT_CREDENTIALS);
    CHECK(req.scope == NULL);
    token_request_clear(&req);
    CHECK_INT(parse("grant_type=client_credentials&scope=", &req, &why), 0);
    CHECK_STR(req.scope, "");
    token_request_clear(&req);

    CHECK_INT(
        parse("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d", &req, &why),
        0);
    CHECK_INT(req.grant, TOKEN_GRANT_DEVICE_CODE);
    token_request_clear(&req);
    /* an unknown grant is not a parse error (MAS: Unsupported), whatever else is there */
    CHECK_INT(parse("grant_type=password&username=a&password=b", &req, &why), 0);
    CHECK_INT(req.grant, TOKEN_GRANT_UNSUPPORTED);
    token_request_clear(&req);
    CHECK_INT(parse("grant_type=implicit", &req, &why), 0);
    CHECK_INT(req.grant, TOKEN_GRANT_UNSUPPORTED);
    token_request_clear(&req);

    static const char *const bad[] = {
        "",
        "code=abc",                                    /* no grant_type */
        "grant_type=authorization_code",               /* no code */
        "grant_type=authorization_code&code=a&code=b", /* twice (RFC 6749 §3.1) */
        "grant_type=refresh_token&grant_type=refresh_token&refresh_token=x",
        "grant_type=refresh_token", /* no refresh_token */
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        "grant_type=authorization_code&code=a&redirect_uri=%2Fcb", /* relative */
        "grant_type=authorization_code&code=a&redirect_uri=https%3A%2F%2Fa%20b",
        "grant_type=authorization_code&code=a&redirect_uri=",
        "grant_type=client_credentials&scope=a%20%20b", /* empty token */
        "grant_type=client_credentials&scope=%20a",
        "grant_type=client_credentials&scope=a%22b", /* not NQCHAR */
        "grant_type=refresh_token&refresh_token=x&scope=a%5Cb",
        "grant_type=authorization_code&code=%zz", /* bad escape */
        "grant_type=authorization_code&code=%00", /* NUL */
        "grant_type=authorization_code&code=%FF", /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        int r = parse(bad[i], &req, &why);
        if (r != -EINVAL || !why)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_INT(r, -EINVAL);
        CHECK(why != NULL);
        CHECK(req.code == NULL && req.scope == NULL); /* cleared */
    }
    /* a parameter longer than TOKEN_PARAM_MAX */
    char *big = malloc(TOKEN_PARAM_MAX + 64);
    int n = snprintf(big, TOKEN_PARAM_MAX + 64, "grant_type=authorization_code&code=");
    memset(big + n, 'a', TOKEN_PARAM_MAX + 1);
    big[n + TOKEN_PARAM_MAX + 1] = '\0';
    CHECK_INT(parse(big, &req, &why), -EINVAL);
    big[n + TOKEN_PARAM_MAX] = '\0';
    CHECK_INT(parse(big, &req, &why), 0);
    token_request_clear(&req);
    free(big);
}

/* POST /oauth2/device's form (RFC 8628 §3.1): its scope, normalised; the rest ignored. */
static void test_device_parse(void)
{
    char *scope = (char *)"unset";
    const char *why = NULL;
#define DPARSE(f) device_request_parse((masd_str){(f), strlen(f)}, &scope, &why)
    CHECK_INT(DPARSE("client_id=abc&scope=urn%3Amatrix%3Aclient%3Aapi%3A*+openid+openid"), 0);
    CHECK_STR(scope, "openid urn:matrix:client:api:*");
    free(scope);
    CHECK_INT(DPARSE("client_id=abc"), 0); /* no scope: the empty one (MAS) */
    CHECK_STR(scope, "");
    free(scope);
    CHECK_INT(DPARSE(""), 0);
    CHECK_STR(scope, "");
    free(scope);
    CHECK_INT(DPARSE("scope=&grant_type=whatever&device_code=x"), 0);
    CHECK_STR(scope, "");
    free(scope);
    static const char *const bad[] = {
        "scope=openid&scope=openid", /* twice (RFC 6749 §3.1) */
        "scope=a%20%20b",            /* an empty token */
        "scope=%20openid",
        "scope=a%22b", /* not NQCHAR */
        "scope=%zz",   /* bad escape */
        "scope=%00",
        "scope=%FF", /* not UTF-8 */
        "client_id=a&client_id=b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        scope = (char *)"unset";
        int r = DPARSE(bad[i]);
        if (r != -EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_INT(r, -EINVAL);
        CHECK(why != NULL);
        CHECK(scope == NULL);
    }
    char *big = malloc(TOKEN_PARAM_MAX + 64);
    int n = snprintf(big, TOKEN_PARAM_MAX + 64, "scope=");
    memset(big + n, 'a', TOKEN_PARAM_MAX + 1);
    big[n + TOKEN_PARAM_MAX + 1] = '\0';
    CHECK_INT(DPARSE(big), -EINVAL);
    big[n + TOKEN_PARAM_MAX] = '\0';
    CHECK_INT(DPARSE(big), 0);
    CHECK_INT(strlen(scope), TOKEN_PARAM_MAX);
    free(scope);
    free(big);
#undef DPARSE
}

static void test_pkce(void)
{
    /* RFC 7636 Appendix B */
    const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const char *why = NULL;
    CHECK_INT(token_pkce_verify("S256", challenge, verifier, &why), 0);
    CHECK_INT(token_pkce_verify("S256", verifier, verifier, &why), -EACCES);
    CHECK_STR(why, "the code_verifier does not match the code_challenge");
    CHECK_INT(token_pkce_verify("plain", verifier, verifier, &why), 0);
    CHECK_INT(token_pkce_verify("", verifier, verifier, &why), 0); /* RFC 7636 §4.3: plain */
    CHECK_INT(token_pkce_verify("plain", challenge, verifier, &why), -EACCES);
    CHECK_INT(token_pkce_verify("S512", challenge, verifier, &why), -EACCES);
    /* §4.1: 43 to 128 unreserved characters */
    char v[130];
    memset(v, 'a', sizeof(v));
    v[42] = '\0';
    CHECK_INT(token_pkce_verify("plain", v, v, &why), -EACCES);
    v[42] = 'a', v[43] = '\0';
    CHECK_INT(token_pkce_verify("plain", v, v, &why), 0);
    v[43] = 'a', v[128] = '\0';
    CHECK_INT(token_pkce_verify("plain", v, v, &why), 0);
    v[128] = 'a', v[129] = '\0';
    CHECK_INT(token_pkce_verify("plain", v, v, &why), -EACCES);
    CHECK_STR(why, "the code_verifier is not 43 to 128 unreserved characters (RFC 7636 section 4.1)");
    char odd[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa+";
    CHECK_INT(token_pkce_verify("plain", odd, odd, &why), -EACCES);
    char ok[] = "-._~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaZZ09";
    CHECK_INT(token_pkce_verify("plain", ok, ok, &why), 0);
}

static void test_scope(void)
{
    char s1[] = "urn:matrix:client:api:* openid openid";
    CHECK_INT(oauth_scope_normalise(s1), 0);
    CHECK_STR(s1, "openid urn:matrix:client:api:*");
    char s2[] = "";
    CHECK_INT(oauth_scope_normalise(s2), 0);
    char s3[] = "a ";
    CHECK_INT(oauth_scope_normalise(s3), -EINVAL);

    const char *scope = "openid urn:matrix:client:device:AAAAAAAAAA "
                        "urn:matrix:org.matrix.msc2967.client:device:AAAAAAAAAA "
                        "urn:matrix:org.matrix.msc2967.client:device:BBBBBBBBBB urn:matrix:client:device:";
    char buf[512];
    const char *dev[4];
    CHECK_INT(token_scope_devices(scope, buf, dev, 4), 2);
    CHECK_STR(dev[0], "AAAAAAAAAA");
    CHECK_STR(dev[1], "BBBBBBBBBB");
    CHECK_INT(token_scope_devices(scope, buf, dev, 1), 1);
    CHECK_INT(token_scope_devices("openid urn:matrix:client:api:*", buf, dev, 4), 0);
    CHECK_INT(token_scope_devices("", buf, dev, 4), 0);
}

int main(void)
{
    test_parse();
    test_device_parse();
    test_pkce();
    test_scope();
    return check_report(__FILE__);
}
