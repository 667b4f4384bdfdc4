/* Fuzzes log_escape(): whatever the input, the output is one line of printable text in which
 * every backslash starts a \xHH escape, no '"' or control appears, the characters left as they
 * are form valid UTF-8, and undoing the escapes gives back the input (all of it when the buffer
 * is large enough, a prefix that ends on a character boundary otherwise). The first input byte
 * picks the size of the small buffer. */
#include "fuzz_input.h"
#include "log.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Checks out[0..n) and undoes its escapes into raw; returns the raw length. */
static size_t check_and_unescape(const char *out, size_t n, char *raw)
{
    size_t r = 0;
    fuzz_require(out[n] == '\0' && strlen(out) == n);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)out[i];
        if (c == '\\') {
            fuzz_require(i + 3 < n + 1 && out[i + 1] == 'x' && hexval(out[i + 2]) >= 0 &&
                         hexval(out[i + 3]) >= 0);
            raw[r++] = (char)(hexval(out[i + 2]) << 4 | hexval(out[i + 3]));
            i += 4;
            continue;
        }
        fuzz_require(c >= 0x20 && c != 0x7f && c != '"');
        /* A byte left as it is: ASCII, or a whole valid character that escaping it again keeps. */
        size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        fuzz_require(i + len <= n);
        char again[4 * 4 + 1];
        fuzz_require(log_escape(again, sizeof(again), out + i, len) == len &&
                     memcmp(again, out + i, len) == 0);
        memcpy(raw + r, out + i, len);
        r += len;
        i += len;
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy((masd_str){(const char *)data, size});
    size_t big = 4 * size + 1;
    char *out = malloc(big), *raw = malloc(size + 1);
    fuzz_require(out && raw);

    size_t n = log_escape(out, big, in, size);
    fuzz_require(n < big);
    fuzz_require(check_and_unescape(out, n, raw) == size && memcmp(raw, in, size) == 0);

    size_t small = size ? (size_t)data[0] % 64 + 1 : 1;
    char *cut = malloc(small);
    fuzz_require(cut != NULL);
    size_t m = log_escape(cut, small, in, size);
    fuzz_require(m < small);
    size_t r = check_and_unescape(cut, m, raw);
    fuzz_require(r <= size && memcmp(raw, in, r) == 0);
    fuzz_require(m <= n && memcmp(cut, out, m) == 0); /* the cut output is a prefix of the whole */

    free(cut);
    free(raw);
    free(out);
    free(in);
    return 0;
}
