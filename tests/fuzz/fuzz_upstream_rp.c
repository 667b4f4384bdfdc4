/* The relying party's checks (common/upstream/upstream_rp_check.c) on arbitrary input. The first
 * byte picks the check: 'd' a discovery document (oidc and insecure), 't' a token endpoint
 * answer (success and error), 'c' token claims (ID token, logout token, userinfo), 'j' a compact
 * JWS verified against a fixed JWKS. Nothing may crash or read outside the input; every message
 * is one printable line; and what is accepted must satisfy the rule it was checked against (the
 * issuer, our client_id in aud, no HS* or "none" signature, the back-channel event). */
#include "jose.h"
#include "upstream_rp_internal.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISS "https://idp.example.com"

/* RFC 7515 Appendix A.2 (RSA) and A.3 (P-256) public keys. */
static const char jwks_text[] = "{\"keys\":["
                                "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":"
                                "\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPd"
                                "dxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_"
                                "YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
                                "bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-"
                                "UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGh"
                                "yxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"},"
                                "{\"kty\":\"EC\",\"kid\":\"p256\",\"crv\":\"P-256\",\"x\":"
                                "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                                "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
                                "]}";

static void require(bool ok)
{
    if (!ok)
        abort();
}

static void check_message(const struct upstream_rp_error *err)
{
    size_t n = strnlen(err->message, sizeof(err->message));
    require(n < sizeof(err->message));
    for (size_t i = 0; i < n; i++)
        require((unsigned char)err->message[i] >= 0x20 && err->message[i] != 0x7f);
}

static bool aud_holds(const json_t *c, const char *id)
{
    const json_t *aud = json_object_get(c, "aud"), *v;
    size_t i;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), id) == 0;
    json_array_foreach(aud, i, v) if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) return true;
    return false;
}

static void fuzz_discovery(const char *s, size_t n)
{
    json_t *doc = json_loadb(s, n, 0, NULL);
    struct config_upstream_provider p = {.issuer = ISS, .discovery_mode = UPSTREAM_DISCOVERY_OIDC};
    struct upstream_rp_error err = {0};
    if (rp_check_discovery(doc, &p, &err) == 0) {
        require(strcmp(json_string_value(json_object_get(doc, "issuer")), ISS) == 0);
        require(strncasecmp(json_string_value(json_object_get(doc, "token_endpoint")), "https://", 8) == 0);
    } else {
        check_message(&err);
    }
    p.discovery_mode = UPSTREAM_DISCOVERY_INSECURE;
    if (rp_check_discovery(doc, &p, &err) < 0)
        check_message(&err);
    json_decref(doc);
}

static void fuzz_token(const char *s, size_t n)
{
    json_t *doc = json_loadb(s, n, 0, NULL);
    struct upstream_rp_error err = {0};
    const char *at, *it;
    if (rp_check_token_response(doc, true, &at, &it, &err) == 0)
        require(at && it);
    else
        check_message(&err);
    rp_token_error(400, s, n, &err);
    check_message(&err);
    require(err.status == UPSTREAM_RP_IDP_ERROR || err.status == UPSTREAM_RP_BAD_ANSWER);
    json_decref(doc);
}

static void fuzz_claims(const char *s, size_t n)
{
    json_t *c = json_loadb(s, n, 0, NULL);
    const struct rp_expect e = {.issuer = ISS,
                                .client_id = "masd",
                                .alg = "RS256",
                                .now = 1800000000,
                                .nonce = "n0nce",
                                .access_token = "at",
                                .code = "code"};
    struct upstream_rp_error err = {0};
    if (rp_check_id_token_claims(c, &e, &err) == 0) {
        require(strcmp(json_string_value(json_object_get(c, "iss")), ISS) == 0 && aud_holds(c, "masd"));
        require(strcmp(json_string_value(json_object_get(c, "nonce")), "n0nce") == 0);
    } else {
        check_message(&err);
    }
    if (rp_check_logout_claims(c, &e, &err) == 0) {
        require(aud_holds(c, "masd") && json_is_string(json_object_get(c, "jti")) &&
                !json_object_get(c, "nonce"));
        require(json_object_get(c, "sub") || json_object_get(c, "sid"));
    } else {
        check_message(&err);
    }
    if (rp_check_userinfo_claims(c, "alice", true, &e, &err) == 0)
        require(strcmp(json_string_value(json_object_get(c, "sub")), "alice") == 0);
    else
        check_message(&err);
    json_decref(c);
}

static void fuzz_jws(const char *s)
{
    static json_t *jwks;
    if (!jwks && !(jwks = json_loads(jwks_text, 0, NULL)))
        abort();
    static const char *const algs[] = {"RS256", "ES256", "HS256", "none"};
    struct upstream_rp_error err = {0};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        json_t *claims = NULL;
        if (rp_verify_jws(s, jwks, algs[i], &claims, &err) == 0)
            require(jose_alg_is_asymmetric(algs[i]) && json_is_object(claims));
        else
            check_message(&err), require(claims == NULL);
        json_decref(claims);
    }
    free(rp_jws_kid(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* a private NUL-terminated copy of the rest */
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0]) {
    case 'd':
        fuzz_discovery(s, size - 1);
        break;
    case 't':
        fuzz_token(s, size - 1);
        break;
    case 'c':
        fuzz_claims(s, size - 1);
        break;
    case 'j':
        if (strlen(s) == size - 1)
            fuzz_jws(s);
        break;
    }
    free(s);
    return 0;
}
