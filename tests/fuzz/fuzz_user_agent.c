/* The User-Agent parser on arbitrary input: no crash, no read outside the input, every field
 * NUL-terminated printable ASCII, and a device name that is valid UTF-8 when the client's is. */
#include "user_agent.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *f)
{
    size_t n = strnlen(f, UA_FIELD_MAX);
    if (n == UA_FIELD_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (f[i] < 0x20 || f[i] > 0x7e)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct user_agent ua;
    user_agent_parse((masd_str){(const char *)data, size}, &ua);
    check_field(ua.name);
    check_field(ua.version);
    check_field(ua.os);
    check_field(ua.os_version);
    check_field(ua.model);
    char out[24];
    size_t n = user_agent_device_name(&ua, "Client \xc3\xa9\xe2\x82\xac", out, sizeof(out));
    if (n != strlen(out) || n >= sizeof(out))
        abort();
    /* the cut never leaves half a sequence: every lead byte has its continuation bytes */
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)out[i];
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (i + len > n)
            abort();
        i += len;
    }
    return 0;
}
