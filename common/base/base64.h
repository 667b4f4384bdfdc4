/* base64 (RFC 4648 §4, with padding) and base64url (§5, without), the one implementation. */
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

/* Standard base64 with padding (cookies in MAS's format): encoding into a new malloc'd string
 * (NULL when out of memory); strict decoding of exactly one padded encoding (no whitespace,
 * padding only at the end, unused bits zero). out has room for len * 3 / 4 bytes. Returns 0 or
 * -EBADMSG. */
char *base64_encode(const unsigned char *in, size_t len);
int base64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len);
