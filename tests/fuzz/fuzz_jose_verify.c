/* Compact JWS verification (common/jose/jose.c) on arbitrary bytes, against a fixed key set: the
 * RSA and P-256 keys of RFC 7515 Appendix A.2/A.3, a P-384 and a secp256k1 key, and an HMAC
 * secret. Parsing and every verifier must neither crash nor read outside the input; the parsed
 * signing input must end where the signature starts; and nothing with an algorithm outside the
 * verifier's own kind ("none" above all) may verify. */
#include "jose.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
                                "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
                                "{\"kty\":\"EC\",\"kid\":\"p384\",\"crv\":\"P-384\",\"x\":"
                                "\"05nG049wFNSNvwEOeoyMUgU7Z93if9asC9nw2Z7EQZYkinETfIj7rSY7dX7ff4GB\","
                                "\"y\":\"QWMiKpRjjGPrULSjdmWGmwl9XQBRjx0owueUnuebBv1GigZmBhB-iN0AgX5dFaZR\"},"
                                "{\"kty\":\"EC\",\"kid\":\"k1\",\"crv\":\"secp256k1\",\"x\":"
                                "\"Or9y8honSqo85fKPZcv6h49HayYdzjI5UBrXnFuraxE\","
                                "\"y\":\"wlbCBpZkjvD3FmuOJvYr-o0F-GSHDO_02u5AGnzuOKA\"},"
                                "{\"kty\":\"EC\",\"kid\":\"enc\",\"use\":\"enc\",\"crv\":\"P-256\",\"x\":"
                                "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                                "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
                                "]}";

static const char secret[] = "a-shared-secret-for-the-fuzzer";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *jwks;
    if (!jwks && !(jwks = json_loads(jwks_text, 0, NULL)))
        abort();
    /* NUL-terminated private copy: the verifiers read the signing input as a prefix */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct jose_jws j;
    if (jose_jws_parse(s, size, &j) == 0) {
        if (j.signed_len >= size || s[j.signed_len] != '.' || j.sig_len == 0 || !json_is_object(j.header) ||
            !json_is_object(j.payload) || strlen(j.alg) >= JOSE_ALG_MAX)
            abort();
        int h = jose_jws_verify_hmac(&j, s, secret, sizeof(secret) - 1);
        int k = jose_jws_verify_jwks(&j, s, jwks);
        if ((h == 0 && !jose_alg_is_hmac(j.alg)) || (k == 0 && !jose_alg_is_asymmetric(j.alg)) ||
            (h == 0 && k == 0))
            abort();
        if (jose_jws_verify_jwks(&j, s, NULL) == 0 || jose_jws_verify_key(&j, s, NULL) == 0)
            abort();
        jose_jws_clear(&j);
    } else if (j.header || j.payload || j.sig || j.kid) {
        abort(); /* a refused input leaves nothing behind */
    }
    free(s);
    return 0;
}
