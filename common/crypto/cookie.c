/* Cookies in MAS's format (cookie.h). */
#include "cookie.h"
#include "base64.h"
#include "ulid.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONCE_LEN 12
#define TAG_LEN   16
#define KEY_INFO  "COOKIE;SIGNED:HMAC-SHA256;PRIVATE:AEAD-AES-256-GCM"

struct cookie_jar {
    EVP_CIPHER *aead;
    unsigned char key[32];
};

/* The cookie crate's Key::derive_from: HKDF-Expand only (the master secret is the PRK), 64
 * bytes, of which the first half signs and the second half encrypts. */
static int derive_key(const unsigned char secret[COOKIE_SECRET_LEN], unsigned char key[32])
{
    unsigned char okm[64];
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, COOKIE_SECRET_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, KEY_INFO, sizeof(KEY_INFO) - 1),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx && EVP_KDF_derive(ctx, okm, sizeof(okm), params) == 1;
    if (ok)
        memcpy(key, okm + 32, 32);
    OPENSSL_cleanse(okm, sizeof(okm));
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -EIO;
}

int cookie_jar_new(const unsigned char secret[COOKIE_SECRET_LEN], struct cookie_jar **out)
{
    struct cookie_jar *jar = calloc(1, sizeof(*jar));
    if (!jar)
        return -ENOMEM;
    jar->aead = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (!jar->aead || derive_key(secret, jar->key) < 0) {
        cookie_jar_free(jar);
        return -EIO;
    }
    *out = jar;
    return 0;
}

void cookie_jar_free(struct cookie_jar *jar)
{
    if (!jar)
        return;
    EVP_CIPHER_free(jar->aead);
    OPENSSL_cleanse(jar->key, sizeof(jar->key));
    free(jar);
}

/* AES-256-GCM over buf in place (len bytes), AAD = name; tag written (encrypt) or checked. */
static int gcm(const struct cookie_jar *jar, bool encrypt, const unsigned char *nonce, const char *name,
               unsigned char *buf, size_t len, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx && EVP_CipherInit_ex2(ctx, jar->aead, jar->key, nonce, encrypt ? 1 : 0, NULL) == 1;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)name, (int)strlen(name)) == 1;
    ok = ok && (len == 0 || EVP_CipherUpdate(ctx, buf, &n, buf, (int)len) == 1);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, buf + len, &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -EBADMSG;
}

int cookie_seal(const struct cookie_jar *jar, const char *name, const void *plain, size_t len, char **value)
{
    if (len > COOKIE_VALUE_MAX / 2)
        return -EINVAL;
    size_t total = NONCE_LEN + len + TAG_LEN;
    unsigned char *raw = malloc(total);
    if (!raw)
        return -ENOMEM;
    int r = RAND_bytes(raw, NONCE_LEN) == 1 ? 0 : -EIO;
    if (r == 0) {
        if (len)
            memcpy(raw + NONCE_LEN, plain, len);
        r = gcm(jar, true, raw, name, raw + NONCE_LEN, len, raw + NONCE_LEN + len) < 0 ? -EIO : 0;
    }
    if (r == 0 && !(*value = base64_encode(raw, total)))
        r = -ENOMEM;
    OPENSSL_cleanse(raw, total);
    free(raw);
    return r;
}

int cookie_open(const struct cookie_jar *jar, const char *name, const char *value, size_t value_len,
                char **plain, size_t *len)
{
    if (value_len > COOKIE_VALUE_MAX || value_len < 4)
        return -EBADMSG;
    unsigned char *raw = malloc(value_len / 4 * 3 + 1);
    if (!raw)
        return -ENOMEM;
    size_t n = 0;
    int r = base64_decode(value, value_len, raw, &n);
    if (r == 0 && n < NONCE_LEN + TAG_LEN)
        r = -EBADMSG;
    size_t plen = r == 0 ? n - NONCE_LEN - TAG_LEN : 0;
    if (r == 0)
        r = gcm(jar, false, raw, name, raw + NONCE_LEN, plen, raw + NONCE_LEN + plen);
    if (r == 0 && !(*plain = malloc(plen + 1)))
        r = -ENOMEM;
    if (r == 0) {
        memcpy(*plain, raw + NONCE_LEN, plen);
        (*plain)[plen] = '\0';
        *len = plen;
    }
    OPENSSL_cleanse(raw, n);
    free(raw);
    return r;
}

/* ---- the session cookie ----------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) /* H. Hinnant's algorithm */
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* RFC 3339 date-time (as chrono writes it: a fraction of any length, Z or an offset) to ms since
 * the epoch, from 1970 on (a sign-out before it is no time of ours). 0 or -EINVAL. */
static int rfc3339_parse(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    unsigned y, mo, d, h, mi, sec, frac_ms = 0;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return -EINVAL;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 3)
                frac_ms = frac_ms * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (i == start || i - start > 9)
            return -EINVAL;
        for (size_t k = i - start; k < 3; k++)
            frac_ms *= 10;
    }
    int64_t offset_min = 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        /* UTC */
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':') {
        unsigned oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        offset_min = (s[i] == '-' ? -1 : 1) * (int64_t)(oh * 60 + om);
    } else {
        return -EINVAL;
    }
    int64_t secs =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (sec == 60 ? 59 : sec) - offset_min * 60;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

int cookie_session_parse(const char *json, size_t len, struct cookie_session *out)
{
    *out = (struct cookie_session){0};
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return -EINVAL;
    }
    int r = 0;
    json_t *cur = json_object_get(doc, "current"), *out_at = json_object_get(doc, "logged_out_at");
    uint8_t id[16];
    if (!cur || json_is_null(cur))
        ; /* no session */
    else if (!json_is_string(cur) || json_string_length(cur) != 26 ||
             ulid_parse(json_string_value(cur), id) < 0)
        r = -EINVAL;
    else
        memcpy(out->current, json_string_value(cur), 27);
    if (r == 0 && out_at && !json_is_null(out_at))
        r = json_is_string(out_at) ? rfc3339_parse(json_string_value(out_at), &out->logged_out_at) : -EINVAL;
    json_decref(doc);
    return r;
}

char *cookie_session_render(const struct cookie_session *s)
{
    json_t *doc = json_object();
    bool ok = doc &&
              json_object_set_new(doc, "current", s->current[0] ? json_string(s->current) : json_null()) == 0;
    if (ok && s->logged_out_at) {
        time_t t = (time_t)(s->logged_out_at / 1000);
        struct tm tm;
        char when[40];
        ok = gmtime_r(&t, &tm) != NULL;
        if (ok) {
            size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(s->logged_out_at % 1000));
            ok = json_object_set_new(doc, "logged_out_at", json_string(when)) == 0;
        }
    }
    char *out = ok ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return out;
}

/* ---- the CSRF cookie -------------------------------------------------------------------- */

int cookie_csrf_parse(const char *json, size_t len, struct cookie_csrf *out)
{
    *out = (struct cookie_csrf){0};
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *exp = json_object_get(doc, "expiration"), *token = json_object_get(doc, "token");
    int r = json_is_integer(exp) && json_is_array(token) && json_array_size(token) == COOKIE_CSRF_TOKEN_LEN
                ? 0
                : -EINVAL;
    for (size_t i = 0; r == 0 && i < COOKIE_CSRF_TOKEN_LEN; i++) {
        json_t *b = json_array_get(token, i);
        if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255)
            r = -EINVAL;
        else
            out->token[i] = (unsigned char)json_integer_value(b);
    }
    if (r == 0)
        out->expiration = (int64_t)json_integer_value(exp);
    json_decref(doc);
    return r;
}

/* Written by hand, not through jansson: every page with a form renders it, and the generic
 * writer (an object, 32 integers, snprintf for each) cost more than the rest of the page. The
 * bytes are what jansson's compact form writes (tests/unit/test_cookie.c compares them). */
char *cookie_csrf_render(const struct cookie_csrf *c)
{
    char *out = malloc(64 + COOKIE_CSRF_TOKEN_LEN * 4), *p = out;
    if (!out)
        return NULL;
    p += sprintf(p, "{\"expiration\":%lld,\"token\":[", (long long)c->expiration);
    for (size_t i = 0; i < COOKIE_CSRF_TOKEN_LEN; i++) {
        unsigned v = c->token[i];
        if (i)
            *p++ = ',';
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
    }
    memcpy(p, "]}", 3);
    return out;
}
