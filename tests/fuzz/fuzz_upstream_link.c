/* What the link page does with a provider's claims (services/human/upstream_link_decide.c) from
 * arbitrary bytes: the localpart's normalisation (no crash; what it accepts is 1 to 255 bytes of
 * a-z 0-9 . _ = - / +, never an upper-case letter, and normalises to itself), and the bytes as a
 * claim rendered by each import action (a value is trimmed and not empty; only `require` fails).
 * The first byte picks the action. */
#include "claims_template.h"
#include "fuzz_input.h"
#include "upstream_link_decide.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct claims_template *tmpl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the functions take C strings: the bytes up to the first NUL, on the heap so that ASan sees
     * a read past the end */
    char *copy = malloc(size + 1);
    fuzz_require(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    char out[256], again[256];
    if (upstream_localpart_normalise(copy, out, sizeof(out)) == 0) {
        size_t n = strlen(out);
        fuzz_require(n >= 1 && n <= 255);
        for (size_t i = 0; i < n; i++)
            fuzz_require(strchr("abcdefghijklmnopqrstuvwxyz0123456789._=-/+", out[i]) != NULL);
        fuzz_require(upstream_localpart_normalise(out, again, sizeof(again)) == 0 && strcmp(out, again) == 0);
    }
    if (!tmpl) {
        char err[128];
        fuzz_require(claims_template_compile("{{ user.claim }}", 16, &tmpl, err, sizeof(err)) == 0);
    }
    json_t *claim = size ? json_string(copy + 1) : NULL;
    if (claim) {
        json_t *claims = json_pack("{s:O}", "claim", claim);
        json_t *vars = claims_template_context(claims, NULL, NULL);
        struct config_claims_import imp = {.action = (enum config_claims_action)(data[0] % 4),
                                           .compiled = tmpl};
        char *value = NULL, err[256];
        int r = upstream_import_render(&imp, vars, data[0] & 4, &value, err, sizeof(err));
        fuzz_require(r == 0 || r == -ENOMEM || r == -E2BIG ||
                     (imp.action == CLAIMS_REQUIRE && (r == -EINVAL || r == -ENODATA)));
        if (value) {
            size_t n = strlen(value);
            fuzz_require(n > 0 && value[0] != ' ' && value[n - 1] != ' ');
        }
        free(value);
        json_decref(vars);
        json_decref(claims);
        json_decref(claim);
    }
    free(copy);
    return 0;
}
