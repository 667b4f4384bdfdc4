/* Small pieces every storage file uses: token hashing, username folding, UTF-8 checks. */
#include "storage_internal.h"
#include "ulid.h"
#include <errno.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Fetched once (docs/architecture.md §6): an implicit fetch on every digest costs a lock and a lookup. */
static void sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void storage_token_hash(const char *token, char out[STORAGE_HASH_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int len = 0;
    pthread_once(&sha256_once, sha256_fetch);
    /* Without SHA-256 nothing can be stored or found safely; this cannot happen with a working
     * libcrypto, and continuing with a zero hash would make every token match. */
    if (!sha256 || !EVP_Digest(token, strlen(token), md, &len, sha256, NULL) || len != sizeof(md))
        abort();
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void storage_ascii_fold(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        char c = in[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[i] = '\0';
}

void storage_username_fold(const char *username, char *out)
{
    storage_ascii_fold(username, out, STORAGE_USERNAME_MAX + 1);
}

/* RFC 3629: shortest form only, no surrogates, nothing above U+10FFFF, and no NUL (PostgreSQL
 * text cannot hold it). */
bool storage_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else
            return false;
        if (i + n >= len) /* truncated sequence */
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += n + 1;
    }
    return true;
}

/* Cuts at most size - 1 bytes, never inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

void storage_copy_cut(char *buf, size_t size, const char *s)
{
    if (!s) {
        buf[0] = '\0';
        return;
    }
    size_t n = utf8_cut(s, strlen(s), size - 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
}

void sq_copy(struct sq *q, int col, char *buf, size_t size)
{
    storage_copy_cut(buf, size, sq_text(q, col));
}

int storage_check_language(const char *lang)
{
    size_t n = lang ? strlen(lang) : 0;
    if (n == 0 || n > STORAGE_LANGUAGE_MAX ||
        strspn(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n)
        return storage_fail(-EINVAL, "not a language tag: '%.40s'", lang ? lang : "");
    return 0;
}

int storage_check_text(const char *what, const char *s, size_t max, bool empty_ok)
{
    if (!s || (!*s && !empty_ok))
        return storage_fail(-EINVAL, "%s: must not be empty", what);
    size_t len = strlen(s);
    if (len > max)
        return storage_fail(-EINVAL, "%s: longer than %zu bytes", what, max);
    if (!storage_utf8_valid(s, len))
        return storage_fail(-EINVAL, "%s: not valid UTF-8", what);
    return 0;
}

int storage_changed_or_missing(struct storage_tx *tx, int64_t changes, struct storage_stmt *exists,
                               const char *id)
{
    if (changes > 0)
        return 1;
    int r = sq_one(tx, exists, SQ_ARGS(P_TEXT(id)), NULL, NULL);
    return r == -ENOENT ? storage_fail(-ENOENT, "no such row: %s", id) : r < 0 ? r : 0;
}

void storage_new_id(char id[STORAGE_ID_SIZE])
{
    ulid_generate(id);
}

void *storage_array_push(void **items, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void *p = realloc(*items, ncap * size);
        if (!p)
            return NULL;
        *items = p;
        *cap = ncap;
    }
    void *slot = (char *)*items + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

int storage_cas(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p, size_t n,
                struct storage_stmt *exists, const char *id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, stmt, p, n, &changes);
    if (r < 0)
        return r;
    if (changes > 0)
        return 0;
    r = sq_one(tx, exists, SQ_ARGS(P_TEXT(id)), NULL, NULL);
    if (r == -ENOENT)
        return storage_fail(-ENOENT, "no such row: %s", id);
    return r < 0 ? r : storage_fail(-EALREADY, "%s was used already", id);
}
