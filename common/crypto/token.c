/* MAS tokens: see token.h. */
#include "token.h"
#include "base64.h"
#include "random.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>

static const struct {
    const char *prefix;
    const char *name;
} TOKEN_KINDS[] = {
    [TOKEN_ACCESS] = {"mat", "access token"},
    [TOKEN_REFRESH] = {"mar", "refresh token"},
    [TOKEN_COMPAT_ACCESS] = {"mct", "compat access token"},
    [TOKEN_COMPAT_REFRESH] = {"mcr", "compat refresh token"},
    [TOKEN_PERSONAL_ACCESS] = {"mpt", "personal access token"},
};
#define N_TOKEN_KINDS (sizeof(TOKEN_KINDS) / sizeof(TOKEN_KINDS[0]))

const char *token_kind_prefix(enum token_kind kind)
{
    return (unsigned)kind < N_TOKEN_KINDS ? TOKEN_KINDS[kind].prefix : NULL;
}

const char *token_kind_name(enum token_kind kind)
{
    return (unsigned)kind < N_TOKEN_KINDS ? TOKEN_KINDS[kind].name : "unknown token";
}

/* CRC-32/ISO-HDLC, bit by bit: the input is at most 34 bytes, so a table buys nothing, and
 * this keeps zlib out of the dependencies. */
static uint32_t crc32_iso_hdlc(const char *s, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint8_t)s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return crc ^ 0xffffffffu;
}

void token_crc(const char *s, size_t len, char out[7])
{
    static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint32_t n = crc32_iso_hdlc(s, len);
    char digits[6];
    size_t nd = 0;
    /* MAS's base62_encode: least significant digit first (its output is reversed), at most 6
     * digits since 62^6 > 2^32. */
    while (n > 0) {
        digits[nd++] = B62[n % 62];
        n /= 62;
    }
    /* Then format!("{:0>6}"): '0' padding on the left of that reversed string. */
    size_t pad = 6 - nd;
    memset(out, '0', pad);
    memcpy(out + pad, digits, nd);
    out[6] = '\0';
}

int token_generate(enum token_kind kind, char out[TOKEN_LEN + 1])
{
    const char *prefix = token_kind_prefix(kind);
    if (!prefix)
        return -EINVAL;
    memcpy(out, prefix, 3);
    out[3] = '_';
    int r = random_alnum(out + 4, 30);
    if (r < 0)
        return r;
    out[34] = '_';
    token_crc(out, 34, out + 35);
    return 0;
}

/* MAS decodes with base64ct's Base64Url, which is the PADDED url-safe alphabet and strict:
 * length a multiple of 4, '=' only as the last one or two characters, unused trailing bits
 * zero. Anything else is not a macaroon, however its bytes read. */
bool token_is_synapse_macaroon(const char *s, size_t len)
{
    if (len == 0 || len % 4 != 0)
        return false;
    size_t pad = 0;
    if (s[len - 1] == '=')
        pad = s[len - 2] == '=' ? 2 : 1;
    else if (s[len - 2] == '=')
        return false;
    size_t body = len - pad, out_len = len / 4 * 3 - pad;
    if (out_len < 13)
        return false;
    uint8_t head[15];
    size_t nh = 0;
    uint32_t acc = 0;
    unsigned nbits = 0;
    int v = 0;
    for (size_t i = 0; i < body; i++) {
        v = base64url_value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            if (nh < sizeof(head))
                head[nh++] = (uint8_t)(acc >> nbits);
            acc &= (1u << nbits) - 1;
        }
    }
    /* The bits left after the last whole byte are padding and must be zero. */
    if (acc != 0)
        return false;
    return memcmp(head + 4, "location ", 9) == 0;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

int token_check(const char *s, size_t len, enum token_kind *kind)
{
    enum token_kind k;
    if (!s)
        return -EINVAL;
    if (has_prefix(s, len, "syt_") || token_is_synapse_macaroon(s, len)) {
        k = TOKEN_COMPAT_ACCESS;
    } else if (has_prefix(s, len, "syr_")) {
        k = TOKEN_COMPAT_REFRESH;
    } else {
        /* Exactly three parts of 3, 30 and 6 bytes: '_' at 3 and 34 and nowhere else. */
        if (len != TOKEN_LEN || s[3] != '_' || s[34] != '_' || memchr(s, '_', 3) || memchr(s + 4, '_', 30) ||
            memchr(s + 35, '_', 6))
            return -EINVAL;
        size_t i;
        for (i = 0; i < N_TOKEN_KINDS; i++)
            if (memcmp(s, TOKEN_KINDS[i].prefix, 3) == 0)
                break;
        if (i == N_TOKEN_KINDS)
            return -EINVAL;
        char crc[7];
        token_crc(s, 34, crc);
        if (memcmp(crc, s + 35, 6) != 0)
            return -EINVAL;
        k = (enum token_kind)i;
    }
    if (kind)
        *kind = k;
    return 0;
}
