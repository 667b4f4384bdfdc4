/* POST /oauth2/device's form parser (services/oauth/token_request.c device_request_parse) on
 * arbitrary bytes: no crash, no read outside the input, no leak; a parsed form yields a scope
 * that is normalised (normalising it again changes nothing) and no longer than a parameter may
 * be; a refused one says why and leaves nothing behind. */
#include "fuzz_input.h"
#include "oauth_scope.h"
#include "token_request.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = fuzz_copy((masd_str){(const char *)data, size});
    char *scope = NULL;
    const char *why = NULL;
    int r = device_request_parse((masd_str){copy, size}, &scope, &why);
    fuzz_require(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == -EINVAL)
        fuzz_require(why != NULL && scope == NULL);
    if (r == 0) {
        fuzz_require(scope != NULL && strlen(scope) <= TOKEN_PARAM_MAX);
        char *again = strdup(scope);
        fuzz_require(again && oauth_scope_normalise(again) == 0 && strcmp(again, scope) == 0);
        free(again);
        free(scope);
    }
    free(copy);
    return 0;
}
