/* The user code typed at /link (link_parse.h). */
#include "link_parse.h"
#include <errno.h>
#include <stdbool.h>

static bool separator(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-';
}

int link_user_code_normalise(const char *in, char *out, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return -EINVAL;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (separator(c))
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) || n + 1 >= size) {
            out[0] = '\0';
            return -EINVAL;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return n ? 0 : -EINVAL;
}
