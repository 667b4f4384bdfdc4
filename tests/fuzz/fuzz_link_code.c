/* The user code typed at /link (services/human/link_parse.c) on arbitrary bytes: no crash, no
 * read or write outside the buffers; an accepted code is 1..size-1 characters of A-Z0-9, is what
 * the input holds once separators are dropped and letters upper-cased, and is a fixed point
 * (normalising it again gives it back); a refused one leaves an empty string. */
#include "fuzz_input.h"
#include "link_parse.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* the first byte picks the output size (1..32), the rest is the typed text */
    size_t out_size = (data[0] & 31) + 1;
    char *in = malloc(size);
    fuzz_require(in != NULL);
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0';
    char *out = malloc(out_size), again[40];
    fuzz_require(out != NULL);
    int r = link_user_code_normalise(in, out, out_size);
    fuzz_require(r == 0 || r == -EINVAL);
    if (r < 0) {
        fuzz_require(out[0] == '\0');
    } else {
        size_t n = strlen(out), k = 0;
        fuzz_require(n >= 1 && n < out_size);
        for (size_t i = 0; i < n; i++)
            fuzz_require((out[i] >= 'A' && out[i] <= 'Z') || (out[i] >= '0' && out[i] <= '9'));
        for (const char *p = in; *p; p++) {
            if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '-')
                continue;
            char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
            fuzz_require(k < n && out[k++] == c);
        }
        fuzz_require(k == n);
        fuzz_require(link_user_code_normalise(out, again, sizeof(again)) == 0 && strcmp(again, out) == 0);
    }
    free(out);
    free(in);
    return 0;
}
