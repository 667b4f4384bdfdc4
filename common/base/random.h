/* Randomness for secrets: tokens, codes, device IDs, keys. Everything comes from the kernel's
 * CSPRNG (getrandom), and strings are drawn by rejection sampling so that every character of
 * the alphabet is exactly equally likely (never `byte % 62`, which favours the first 8). */
#pragma once
#include <stddef.h>

/* Fills buf with n random bytes. Returns 0, or a negative errno (getrandom failed for a reason
 * other than EINTR; in practice only ENOSYS on an ancient kernel). */
int random_bytes(void *buf, size_t n);

/* Writes n characters drawn uniformly from the k-character alphabet (1 <= k <= 256) to out,
 * then a NUL: out must hold n + 1 bytes. Returns 0 or a negative errno. */
int random_string(char *out, size_t n, const char *alphabet, size_t k);

/* n characters from [A-Za-z0-9] (MAS's `Alphanumeric`: tokens, device IDs, codes) + NUL. */
int random_alnum(char *out, size_t n);

/* n characters from [A-Z0-9] (device-code user codes) + NUL. */
int random_upper_alnum(char *out, size_t n);

/* n random bytes as 2n lowercase hex digits + NUL: out must hold 2n + 1 bytes. */
int random_hex(char *out, size_t n);
