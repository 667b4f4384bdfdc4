/* The Cookie header parser on arbitrary input: no crash, no read outside the input, and a value
 * found always lies inside it. */
#include "cookie_header.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"session", "csrf", "a", ""};
    masd_str h = {(const char *)data, size}, v;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (cookie_header_find(h, names[i], &v) && (v.ptr < h.ptr || v.ptr + v.len > h.ptr + h.len))
            abort();
    return 0;
}
