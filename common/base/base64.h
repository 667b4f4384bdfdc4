/* base64url (RFC 4648 §5), the one implementation. */
#pragma once
#include <stddef.h>

/* The value of a base64url character, or -1. */
int base64url_value(unsigned char c);

/* Encodes without padding into a new malloc'd NUL-terminated string (NULL when out of memory). */
char *base64url_encode(const unsigned char *in, size_t len);

/* Strict unpadded decoding: only the alphabet, and the unused low bits of the last character
 * must be zero, so every byte string has exactly one encoding. out has room for len * 3 / 4
 * bytes. Returns 0 or -EBADMSG. */
int base64url_decode(const char *in, size_t len, unsigned char *out, size_t *out_len);
