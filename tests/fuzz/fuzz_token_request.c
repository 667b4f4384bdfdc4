/* The token endpoint's form parser, PKCE check and device-scope reader
 * (services/oauth/token_request.c) on arbitrary bytes: no crash, no read outside the input, no
 * leak; a parsed request honours its own contract (required parameters present, the scope
 * normalised, i.e. normalising it again changes nothing) and every device ID found is a
 * non-empty part of the scope. */
#include "fuzz_input.h"
#include "oauth_scope.h"
#include "token_request.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = fuzz_copy((masd_str){(const char *)data, size});
    struct token_request req;
    const char *why = NULL;
    int r = token_request_parse((masd_str){copy, size}, &req, &why);
    fuzz_require(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == -EINVAL)
        fuzz_require(why != NULL);
    if (r == 0) {
        if (req.grant == TOKEN_GRANT_AUTHORIZATION_CODE)
            fuzz_require(req.code != NULL);
        if (req.grant == TOKEN_GRANT_REFRESH_TOKEN)
            fuzz_require(req.refresh_token != NULL);
        if (req.scope &&
            (req.grant == TOKEN_GRANT_REFRESH_TOKEN || req.grant == TOKEN_GRANT_CLIENT_CREDENTIALS)) {
            char *again = strdup(req.scope);
            fuzz_require(again && oauth_scope_normalise(again) == 0 && strcmp(again, req.scope) == 0);
            free(again);
            char buf[TOKEN_PARAM_MAX + 8];
            const char *dev[4];
            size_t n = token_scope_devices(req.scope, buf, dev, 4);
            for (size_t i = 0; i < n; i++)
                fuzz_require(dev[i][0] && strstr(req.scope, dev[i]));
        }
        if (req.code_verifier) {
            const char *w;
            token_pkce_verify("S256", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", req.code_verifier, &w);
            fuzz_require(token_pkce_verify("plain", req.code_verifier, req.code_verifier, &w) == 0 ||
                         strlen(req.code_verifier) < 43 || strlen(req.code_verifier) > 128 ||
                         strspn(req.code_verifier,
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") !=
                             strlen(req.code_verifier));
        }
        token_request_clear(&req);
    }
    free(copy);
    return 0;
}
