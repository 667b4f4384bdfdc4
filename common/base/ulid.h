/* ULIDs (https://github.com/ulid/spec): 128-bit identifiers, a 48-bit millisecond timestamp
 * then 80 random bits, written as 26 Crockford base32 characters. Every row ID in masd is a
 * ULID stored as that text, as MAS does; IDs sort by creation time. */
#pragma once
#include <stdint.h>

#define ULID_LEN 26

/* Writes a new ULID (26 characters + NUL). The time part is masd_now(). Within one
 * millisecond, IDs made by the same thread are strictly increasing: the random part of the
 * previous ID is incremented instead of drawn again (the spec's monotonic mode), and that also
 * holds if the clock steps back. Aborts if the kernel's random source fails, since no valid ID
 * can be produced then (getrandom does not fail once the system has booted). */
void ulid_generate(char out[ULID_LEN + 1]);

/* Builds the text of the ULID with these 16 bytes (big-endian: time then randomness). */
void ulid_format(const uint8_t in[16], char out[ULID_LEN + 1]);

/* Parses a ULID in canonical form: exactly 26 characters of the upper-case Crockford
 * alphabet, the first one 0-7 (128 bits). Lower case and the I/L/O aliases are refused, so a
 * text that parses is the one text of its ID and compares equal in the database. Returns 0,
 * or -EINVAL. */
int ulid_parse(const char *s, uint8_t out[16]);

/* The timestamp (ms since the epoch) of a canonical ULID, or -EINVAL. */
int64_t ulid_time_ms(const char *s);
