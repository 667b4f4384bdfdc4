/* application/x-www-form-urlencoded bodies and URL query strings: the one decoder. */
#pragma once
#include "str.h"

/* Takes the next "key=value" pair from *rest (pairs separated by '&'; empty pairs skipped).
 * key and value are still encoded. Returns false when no pair is left. */
bool form_next(masd_str *rest, masd_str *key, masd_str *value);

/* Percent-decodes `in` ('+' is a space) into out, which has room for in.len bytes. Returns the
 * decoded length, or -EINVAL for a malformed escape or a decoded NUL byte. */
long form_decode(masd_str in, char *out);

/* Finds the value of `name` in an encoded form or query and decodes it into a new malloc'd
 * NUL-terminated string. Returns 1 when found, 0 when absent, -EINVAL if malformed, -EEXIST
 * when the name is there more than once (RFC 6749 §3.1: which one was meant is unknown, so
 * none is taken), -ENOMEM. */
int form_get(masd_str form, const char *name, char **value);

/* 0 when no key (percent-decoded) appears twice in the form; -EEXIST when one does (RFC 6749
 * §3.1: no parameter may be included more than once, whatever its name), -EINVAL for a key that
 * does not decode, -ENOMEM. Time O(n log n) in the number of pairs. */
int form_check_unique(masd_str form);
