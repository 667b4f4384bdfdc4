#include "base64.h"
#include <errno.h>
#include <stdlib.h>

static const char b64u_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *base64url_encode(const unsigned char *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 4 + 1), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = b64u_alphabet[v >> 18];
        *o++ = b64u_alphabet[v >> 12 & 63];
        *o++ = b64u_alphabet[v >> 6 & 63];
        *o++ = b64u_alphabet[v & 63];
    }
    if (len - i > 0) {
        unsigned v = (unsigned)in[i] << 16 | (len - i > 1 ? (unsigned)in[i + 1] << 8 : 0);
        *o++ = b64u_alphabet[v >> 18];
        *o++ = b64u_alphabet[v >> 12 & 63];
        if (len - i > 1)
            *o++ = b64u_alphabet[v >> 6 & 63];
    }
    *o = '\0';
    return out;
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

int base64url_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    if (len % 4 == 1)
        return -EBADMSG;
    for (size_t i = 0; i < len; i++) {
        int v = base64url_value((unsigned char)in[i]);
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
