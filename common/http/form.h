/* application/x-www-form-urlencoded bodies and URL query strings: the one decoder. */
#pragma once
#include "str.h"

/* Takes the next "key=value" pair from *rest (pairs separated by '&'; empty pairs skipped).
 * key and value are still encoded. Returns false when no pair is left. */
bool form_next(masd_str *rest, masd_str *key, masd_str *value);

/* Percent-decodes `in` ('+' is a space) into out, which has room for in.len bytes. Returns the
 * decoded length, or -EINVAL for a malformed escape or a decoded NUL byte. */
long form_decode(masd_str in, char *out);

/* Finds the first value of `name` in an encoded form or query and decodes it into a new
 * malloc'd NUL-terminated string. Returns 1 when found, 0 when absent, -EINVAL if malformed. */
int form_get(masd_str form, const char *name, char **value);
