/* Form/query decoding on arbitrary input: no crash, decoded length never exceeds the input. */
#include "form.h"
#include <errno.h>
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
    int got = form_get((masd_str){(const char *)data, size}, "resource", &value);
    if (got == 1)
        free(value);
    /* a name form_get() finds twice is a duplicate for form_check_unique() too */
    int unique = form_check_unique((masd_str){(const char *)data, size});
    if (got == -EEXIST && unique != -EEXIST && unique != -EINVAL && unique != -ENOMEM)
        abort();
    return 0;
}
