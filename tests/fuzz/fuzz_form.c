/* Form/query decoding on arbitrary input: no crash, decoded length never exceeds the input. */
#include "form.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    masd_str rest = {(const char *)data, size}, k, v;
    char *out = malloc(size + 1);
    if (!out)
        return 0;
    while (form_next(&rest, &k, &v)) {
        long n = form_decode(v, out);
        if (n > (long)v.len)
            abort();
        n = form_decode(k, out);
        if (n > (long)k.len)
            abort();
    }
    free(out);
    char *value = NULL;
    if (form_get((masd_str){(const char *)data, size}, "resource", &value) == 1)
        free(value);
    return 0;
}
