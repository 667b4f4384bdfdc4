/* The escapes of the template renderer on arbitrary bytes. Text and attribute output holds no
 * markup character and is valid UTF-8; a URL part holds only unreserved characters and %HH; a
 * whole URL is either refused or free of control characters and of any scheme but http, https
 * and mailto; plain text (e-mail text parts) is valid UTF-8 without a control character. */
#include "fuzz_input.h"
#include "template.h"
#include <stdint.h>
#include <strings.h>
#include <unistr.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy((masd_str){(const char *)data, size});
    struct html_buf b;

    html_buf_init(&b, 16 * size + 64);
    html_put_text(&b, in, size);
    fuzz_require(!b.overflow);
    for (size_t i = 0; i < b.len; i++)
        fuzz_require(b.ptr[i] != '<' && b.ptr[i] != '>' && b.ptr[i] != '"' && b.ptr[i] != '\'');
    fuzz_require(u8_check((const uint8_t *)b.ptr, b.len) == NULL);
    html_buf_free(&b);

    html_buf_init(&b, 16 * size + 64);
    html_put_url_part(&b, in, size);
    for (size_t i = 0; i < b.len; i++) {
        char c = b.ptr[i];
        fuzz_require((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '~' || c == '%');
    }
    html_buf_free(&b);

    html_buf_init(&b, 16 * size + 64);
    html_put_url(&b, in, size);
    if (!(b.len == 18 && memcmp(b.ptr, "about:invalid#masd", 18) == 0)) {
        for (size_t i = 0; i < size; i++)
            fuzz_require((unsigned char)in[i] > 0x20 && in[i] != 0x7f);
        size_t n = 0; /* the scheme's length, when there is one */
        while (n < size && in[n] != ':' && in[n] != '/' && in[n] != '?' && in[n] != '#')
            n++;
        if (n < size && in[n] == ':') {
            fuzz_require((n == 4 && strncasecmp(in, "http", 4) == 0) ||
                         (n == 5 && strncasecmp(in, "https", 5) == 0) ||
                         (n == 6 && strncasecmp(in, "mailto", 6) == 0));
        }
        for (size_t i = 0; i < b.len; i++)
            fuzz_require(b.ptr[i] != '<' && b.ptr[i] != '"' && b.ptr[i] != '\'');
    }
    html_buf_free(&b);

    html_buf_init(&b, 16 * size + 64);
    text_put_plain(&b, in, size);
    fuzz_require(!b.overflow);
    fuzz_require(u8_check((const uint8_t *)b.ptr, b.len) == NULL);
    for (size_t i = 0; i < b.len; i++)
        fuzz_require((unsigned char)b.ptr[i] >= 0x20 && b.ptr[i] != 0x7f);
    for (size_t i = 0; i + 1 < b.len; i++)
        fuzz_require(!((unsigned char)b.ptr[i] == 0xc2 && (unsigned char)b.ptr[i + 1] < 0xa0));
    html_buf_free(&b);
    free(in);
    return 0;
}
