/* base64 (RFC 4648 §4, padded) and base64url (§5, unpadded): one encoder and one strict decoder,
 * told the alphabet and whether padding is written. */
#include "base64.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64u_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *encode(const unsigned char *in, size_t len, const char *alphabet, bool pad)
{
    char *out = malloc(len / 3 * 4 + 4 + 1), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = alphabet[v & 63];
    }
    if (len - i > 0) {
        unsigned v = (unsigned)in[i] << 16 | (len - i > 1 ? (unsigned)in[i + 1] << 8 : 0);
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[v >> 12 & 63];
        if (len - i > 1)
            *o++ = alphabet[v >> 6 & 63];
        else if (pad)
            *o++ = '=';
        if (pad)
            *o++ = '=';
    }
    *o = '\0';
    return out;
}

char *base64url_encode(const unsigned char *in, size_t len)
{
    return encode(in, len, b64u_alphabet, false);
}

char *base64_encode(const unsigned char *in, size_t len)
{
    return encode(in, len, b64_alphabet, true);
}

int base64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

static int base64_value(unsigned char c)
{
    return c == '+' ? 62 : c == '/' ? 63 : c == '-' || c == '_' ? -1 : base64url_value(c);
}

static int decode(const char *in, size_t len, int (*value)(unsigned char), unsigned char *out,
                  size_t *out_len)
{
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    if (len % 4 == 1)
        return -EBADMSG;
    for (size_t i = 0; i < len; i++) {
        int v = value((unsigned char)in[i]);
        if (v < 0)
            return -EBADMSG;
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        return -EBADMSG;
    *out_len = o;
    return 0;
}

int base64url_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
    return decode(in, len, base64url_value, out, out_len);
}

int base64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
    /* The padding is required, and only where it belongs: the length is a multiple of 4 and at
     * most the last two characters are '=' (then the decoder sees the rest unpadded). */
    if (len % 4 != 0)
        return -EBADMSG;
    size_t pad = len >= 1 && in[len - 1] == '=' ? (len >= 2 && in[len - 2] == '=' ? 2 : 1) : 0;
    return decode(in, len - pad, base64_value, out, out_len);
}
