/* Client assertions (services/oauth/client/assertion.c) on arbitrary bytes: parsing, the claim
 * checks and both kinds of signature check must neither crash nor read outside the input, and
 * an input that is not a compact JWS must never verify. */
#include "client/auth.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* NUL-terminated private copy: the verifiers read the signing input as a string prefix */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct client_assertion a;
    if (client_assertion_parse(s, size, &a) == 0) {
        static const char *const aud[] = {"https://auth.example.com/", NULL};
        const char *why;
        client_assertion_check_claims(&a, "client", CLIENT_AUTH_SECRET_JWT, aud, 1700000000000, &why);
        client_assertion_check_claims(&a, "client", CLIENT_AUTH_PRIVATE_KEY_JWT, aud, 1700000000000, &why);
        /* any claim value at any clock: no signed overflow (UBSan), and an accepted assertion's
         * jti is recorded until after now (short of the end of time, where it saturates) */
        static const int64_t nows[] = {INT64_MIN, -1, 0, 1700000000000, INT64_MAX};
        for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
            if (client_assertion_check_claims(&a, a.iss ? a.iss : "", CLIENT_AUTH_SECRET_JWT, aud, nows[i],
                                              &why) == 0 &&
                client_assertion_jti_expiry_ms(&a) <= nows[i] && nows[i] < INT64_MAX / 2)
                abort();
        if (a.jws.signed_len >= size || s[a.jws.signed_len] != '.')
            abort();
        client_assertion_verify(&a, s, CLIENT_AUTH_SECRET_JWT, "secret", 6, NULL);
        json_t *jwks = json_loads("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                                  "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                                  "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
                                  "{\"kty\":\"RSA\",\"n\":\"sXch\",\"e\":\"AQAB\"}]}",
                                  0, NULL);
        client_assertion_verify(&a, s, CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, 0, jwks);
        json_decref(jwks);
        client_assertion_clear(&a);
    }
    free(s);
    return 0;
}
