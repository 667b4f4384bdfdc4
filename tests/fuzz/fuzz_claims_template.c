/* Claims templates (claims_template.h) on arbitrary bytes: the input is a template, up to a
 * first NUL byte, then the JSON of the variables (ignored when it is not a JSON object; a fixed
 * set of claims then). Compiling must fail cleanly or succeed; rendering must fail cleanly or
 * give UTF-8 text within the output bound, never crash or leak. */
#include "claims_template.h"
#include "fuzz_input.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *src = fuzz_copy((masd_str){(const char *)data, tlen});
    json_t *vars = nul ? json_loadb((const char *)nul + 1, size - tlen - 1, 0, NULL) : NULL;
    if (!json_is_object(vars)) {
        json_decref(vars);
        json_t *id = json_pack("{s:s, s:s, s:n, s:i, s:[s,s]}", "sub", "Cg0wLTM4NS0yODA4OS0wEgRtb2Nr",
                               "preferred_username", "Alice", "nil", "n", 7, "l", "a", "b");
        json_t *extra = json_pack("{s:s}", "user", "{\"name\":{\"firstName\":\"A\"}}");
        vars = claims_template_context(id, NULL, extra);
        json_decref(id);
        json_decref(extra);
    }
    struct claims_template *t = NULL;
    char err[256] = {0};
    int r = claims_template_compile(src, tlen, &t, err, sizeof(err));
    fuzz_require((r == 0) == (t != NULL));
    fuzz_require(r == 0 || err[0] != '\0');
    if (t) {
        char *out = NULL;
        err[0] = '\0';
        r = claims_template_render(t, vars, &out, err, sizeof(err));
        fuzz_require((r == 0) == (out != NULL));
        fuzz_require(r == 0 || err[0] != '\0');
        if (out) {
            size_t n = strlen(out);
            fuzz_require(n <= CLAIMS_TEMPLATE_MAX_OUTPUT);
            json_t *utf8 = json_stringn(out, n);
            fuzz_require(utf8 != NULL);
            json_decref(utf8);
        }
        free(out);
        claims_template_free(t);
    }
    json_decref(vars);
    free(src);
    return 0;
}
