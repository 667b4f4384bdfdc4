/* ULIDs: see ulid.h. */
#include "ulid.h"
#include "clock.h"
#include "random.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The previous ID of this thread, for monotonic generation within a millisecond. */
static _Thread_local int64_t ulid_last_ms = -1;
static _Thread_local uint8_t ulid_last[16];

void ulid_format(const uint8_t in[16], char out[ULID_LEN + 1])
{
    /* 26 digits of 5 bits = 130 bits: the first digit carries only the top 3 bits. Walk the
     * 128 bits from the least significant end, 5 at a time. */
    unsigned acc = 0, nbits = 0;
    int byte = 15;
    for (int i = ULID_LEN - 1; i >= 0; i--) {
        while (nbits < 5 && byte >= 0) {
            acc |= (unsigned)in[byte--] << nbits;
            nbits += 8;
        }
        out[i] = CROCKFORD[acc & 31];
        acc >>= 5;
        nbits = nbits >= 5 ? nbits - 5 : 0;
    }
    out[ULID_LEN] = '\0';
}

static int crockford_value(char c)
{
    const char *p = c ? strchr(CROCKFORD, c) : NULL;
    return p ? (int)(p - CROCKFORD) : -1;
}

int ulid_parse(const char *s, uint8_t out[16])
{
    if (!s || strnlen(s, ULID_LEN + 1) != ULID_LEN || s[0] > '7')
        return -EINVAL;
    uint8_t tmp[16] = {0};
    unsigned acc = 0, nbits = 0;
    int byte = 15;
    for (int i = ULID_LEN - 1; i >= 0; i--) {
        int v = crockford_value(s[i]);
        if (v < 0)
            return -EINVAL;
        acc |= (unsigned)v << nbits;
        nbits += 5;
        while (nbits >= 8 && byte >= 0) {
            tmp[byte--] = acc & 0xff;
            acc >>= 8;
            nbits -= 8;
        }
    }
    /* Left over: the top 2 bits of the first digit, which must be 0 (checked by s[0] <= '7'),
     * and the byte loop has filled all 16 bytes. */
    memcpy(out, tmp, 16);
    return 0;
}

int64_t ulid_time_ms(const char *s)
{
    uint8_t b[16];
    if (ulid_parse(s, b) < 0)
        return -EINVAL;
    int64_t t = 0;
    for (int i = 0; i < 6; i++)
        t = (t << 8) | b[i];
    return t;
}

/* Adds one to the 80-bit random part; returns 1 on overflow (all ones before). */
static int ulid_increment(uint8_t b[16])
{
    for (int i = 15; i >= 6; i--)
        if (++b[i] != 0)
            return 0;
    return 1;
}

void ulid_generate(char out[ULID_LEN + 1])
{
    int64_t now = masd_now();
    uint8_t *b = ulid_last;
    if (now < 0)
        now = 0;
    if (now <= ulid_last_ms) {
        /* Same millisecond, or the clock stepped back: keep the previous time and count up,
         * so this thread's IDs never go backwards. The 80-bit counter overflowing would take
         * 2^80 IDs in a millisecond; move to the next millisecond if it ever does. */
        now = ulid_last_ms;
        if (ulid_increment(b))
            now++;
    } else if (random_bytes(b + 6, 10) < 0) {
        abort();
    }
    ulid_last_ms = now;
    for (int i = 5; i >= 0; i--) {
        b[i] = (uint8_t)(now & 0xff);
        now >>= 8;
    }
    ulid_format(b, out);
}
