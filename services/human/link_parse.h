/* What a person types at /link: a device's user code (RFC 8628 §3.3, §6.1). */
#pragma once
#include <stddef.h>

/* The user code as typed, as it is stored (services/oauth/device.c draws it from A-Z0-9): upper
 * case, and the characters that only separate groups — spaces, tabs, line breaks, dashes —
 * dropped, so that "abc-123", " ABC 123 " and "Abc123" are the same code (RFC 8628 §6.1; MAS
 * upper-cases only). Writes it, NUL-terminated, to out (size bytes). 0, or -EINVAL when nothing
 * is left, more than size - 1 characters are, or any other character is there (a code can never
 * hold one: no lookup is needed to refuse it). */
int link_user_code_normalise(const char *in, char *out, size_t size);
