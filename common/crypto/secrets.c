/* Sealed values and constant-time comparison (see secrets.h).
 *
 * AEAD: AES-256-GCM. Both candidates (it and ChaCha20-Poly1305) give 96-bit random nonces and 128-bit tags;
 * AES-GCM wins here because it is in OpenSSL's FIPS provider (ChaCha20-Poly1305 is not, so a
 * host running OpenSSL in FIPS mode could not even fetch it) and runs in constant time in
 * hardware (AES-NI + CLMUL, ARMv8 crypto extensions) on the servers masd targets. Random nonces
 * are safe for 2^32 seals per key (NIST SP 800-38D); each purpose has its own key, and the
 * version byte lets a later format move on before that matters.
 *
 * Key per purpose: HKDF-SHA256(ikm = secrets.encryption, no salt, info = purpose), so a value
 * sealed for one purpose (a cookie) can never be replayed as another (a stored client secret).
 * The version byte is the additional authenticated data, so it cannot be changed either. */
#include "secrets.h"
#include "base64.h"
#include "config.h"
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN  12
#define TAG_LEN    16
#define HEADER_LEN (1 + NONCE_LEN)
#define KEY_LEN    32

struct secrets {
    EVP_CIPHER *aead;
    EVP_MAC *mac;
    /* HMAC-SHA256 with its digest already set, copied for every MAC computed. HKDF is built on
     * it rather than on EVP_KDF because OpenSSL 3.0 cannot copy an HKDF context, and naming the
     * digest on a fresh one would fetch it again on every call. */
    EVP_MAC_CTX *hmac;
    unsigned char secret[SECRETS_ENCRYPTION_LEN];
};

/* --- set-up --- */

int secrets_new(const unsigned char secret[SECRETS_ENCRYPTION_LEN], struct secrets **out)
{
    *out = NULL;
    struct secrets *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->aead = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    s->hmac = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!s->aead || !s->hmac || EVP_MAC_CTX_set_params(s->hmac, params) != 1) {
        ERR_clear_error();
        secrets_free(s);
        return -ENOSYS;
    }
    memcpy(s->secret, secret, SECRETS_ENCRYPTION_LEN);
    *out = s;
    return 0;
}

int secrets_from_config(const struct config *cfg, struct secrets **out)
{
    *out = NULL;
    if (!cfg->has_encryption)
        return -ENOKEY;
    return secrets_new(cfg->encryption, out);
}

void secrets_free(struct secrets *s)
{
    if (!s)
        return;
    EVP_CIPHER_free(s->aead);
    EVP_MAC_CTX_free(s->hmac);
    EVP_MAC_free(s->mac);
    OPENSSL_cleanse(s->secret, sizeof(s->secret));
    free(s);
}

/* --- HKDF and AEAD --- */

struct part {
    const void *p;
    size_t n;
};

/* HMAC-SHA256(key, parts[0] || parts[1] || ...) on a copy of the prepared context. */
static int hmac_sha256(const struct secrets *s, const void *key, size_t key_len, const struct part *parts,
                       size_t n_parts, unsigned char out[32])
{
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(s->hmac);
    size_t len = 0;
    if (!c)
        return -ENOMEM;
    int ok = EVP_MAC_init(c, key, key_len, NULL) == 1;
    for (size_t i = 0; ok && i < n_parts; i++)
        ok = parts[i].n == 0 || EVP_MAC_update(c, parts[i].p, parts[i].n) == 1;
    ok = ok && EVP_MAC_final(c, out, &len, 32) == 1 && len == 32;
    EVP_MAC_CTX_free(c);
    if (!ok) {
        ERR_clear_error();
        return -EIO;
    }
    return 0;
}

int secrets_hkdf(const struct secrets *s, const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                 const void *info, size_t info_len, void *out, size_t out_len)
{
    static const unsigned char zeros[32];
    unsigned char prk[32], t[32], *o = out;
    if (out_len > 255 * sizeof(t))
        return -EINVAL;
    /* Extract (RFC 5869 §2.2): no salt means HashLen zero bytes. */
    struct part extract[] = {{ikm, ikm_len}};
    int r = hmac_sha256(s, salt_len ? salt : zeros, salt_len ? salt_len : sizeof(zeros), extract, 1, prk);
    /* Expand (§2.3): T(i) = HMAC(PRK, T(i-1) || info || i). */
    for (unsigned i = 1; r >= 0 && out_len > 0; i++) {
        unsigned char counter = (unsigned char)i;
        struct part expand[] = {{t, i > 1 ? sizeof(t) : 0}, {info, info_len}, {&counter, 1}};
        r = hmac_sha256(s, prk, sizeof(prk), expand, 3, t);
        size_t n = out_len < sizeof(t) ? out_len : sizeof(t);
        if (r >= 0)
            memcpy(o, t, n);
        o += n;
        out_len -= n;
    }
    OPENSSL_cleanse(prk, sizeof(prk));
    OPENSSL_cleanse(t, sizeof(t));
    return r;
}

static int purpose_key(const struct secrets *s, const char *purpose, unsigned char key[KEY_LEN])
{
    return secrets_hkdf(s, s->secret, sizeof(s->secret), NULL, 0, purpose, strlen(purpose), key, KEY_LEN);
}

/* One AES-256-GCM pass over buf = header || data || tag (header = version || nonce, the version
 * being the AAD). Encrypting fills data and tag in place; decrypting checks the tag. */
static int gcm(const struct secrets *s, bool encrypt, const unsigned char key[KEY_LEN], unsigned char *buf,
               size_t data_len, unsigned char *data_out)
{
    unsigned char *nonce = buf + 1, *data = buf + HEADER_LEN, *tag = data + data_len;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    if (!c)
        return -ENOMEM;
    int ok = EVP_CipherInit_ex2(c, s->aead, key, nonce, encrypt, NULL) == 1 &&
             EVP_CipherUpdate(c, NULL, &n, buf, 1) == 1 &&
             (data_len == 0 || EVP_CipherUpdate(c, data_out, &n, data, (int)data_len) == 1) &&
             (encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1) &&
             EVP_CipherFinal_ex(c, data_out + (data_len ? n : 0), &m) == 1 &&
             (!encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1);
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        ERR_clear_error();
        return encrypt ? -EIO : -EBADMSG;
    }
    return 0;
}

int secrets_seal(const struct secrets *s, const char *purpose, const void *plain, size_t len, char **out)
{
    unsigned char key[KEY_LEN];
    *out = NULL;
    if (!purpose || !*purpose)
        return -EINVAL;
    if (len > SECRETS_PLAIN_MAX)
        return -EMSGSIZE;
    size_t total = HEADER_LEN + len + TAG_LEN;
    unsigned char *buf = malloc(total);
    if (!buf)
        return -ENOMEM;
    buf[0] = SECRETS_VERSION;
    if (len > 0)
        memcpy(buf + HEADER_LEN, plain, len);
    /* OpenSSL's DRBG: per thread, reseeded from the OS, and fork-safe since OpenSSL 1.1.1. */
    int r = RAND_bytes(buf + 1, NONCE_LEN) == 1 ? 0 : -EIO;
    if (r >= 0)
        r = purpose_key(s, purpose, key);
    if (r >= 0)
        r = gcm(s, true, key, buf, len, buf + HEADER_LEN);
    OPENSSL_cleanse(key, sizeof(key));
    if (r >= 0 && !(*out = base64url_encode(buf, total)))
        r = -ENOMEM;
    OPENSSL_cleanse(buf, total);
    free(buf);
    return r;
}

int secrets_open_len(const struct secrets *s, const char *purpose, const char *sealed, size_t sealed_len,
                     void **plain, size_t *len)
{
    unsigned char key[KEY_LEN];
    size_t total = 0;
    *plain = NULL;
    *len = 0;
    if (!purpose || !*purpose)
        return -EINVAL;
    /* Longer than anything secrets_seal() writes: refused before decoding. */
    if (sealed_len > (HEADER_LEN + SECRETS_PLAIN_MAX + TAG_LEN) / 3 * 4 + 4)
        return -EBADMSG;
    unsigned char *buf = malloc(sealed_len / 4 * 3 + 3);
    if (!buf)
        return -ENOMEM;
    int r = base64url_decode(sealed, sealed_len, buf, &total);
    if (r >= 0 && (total < HEADER_LEN + TAG_LEN || buf[0] != SECRETS_VERSION))
        r = -EBADMSG;
    size_t data_len = r >= 0 ? total - HEADER_LEN - TAG_LEN : 0;
    unsigned char *out = r >= 0 ? malloc(data_len + 1) : NULL;
    if (r >= 0 && !out)
        r = -ENOMEM;
    if (r >= 0)
        r = purpose_key(s, purpose, key);
    if (r >= 0)
        r = gcm(s, false, key, buf, data_len, out);
    OPENSSL_cleanse(key, sizeof(key));
    free(buf);
    if (r < 0) {
        if (out)
            OPENSSL_cleanse(out, data_len);
        free(out);
        return r;
    }
    out[data_len] = '\0';
    *plain = out;
    *len = data_len;
    return 0;
}

int secrets_open(const struct secrets *s, const char *purpose, const char *sealed, void **plain, size_t *len)
{
    return secrets_open_len(s, purpose, sealed, strlen(sealed), plain, len);
}

/* secret_equal() compares SHA-256 digests of both sides, 32 bytes whatever the lengths, in
 * constant time. Comparing the values themselves returned at once on a length mismatch, which
 * told a caller guessing matrix.secret or a client secret its length; and no prefix of a digest
 * says anything about a prefix of the value. (No key: the comparison itself leaks nothing, and
 * a key would cost a second SHA-256 block for secrets of 24 to 55 bytes.) */
static EVP_MD *equal_md;
static pthread_once_t equal_once = PTHREAD_ONCE_INIT;

static void equal_init(void)
{
    equal_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int secret_digest(const void *p, size_t len, struct secret_digest *out)
{
    unsigned n = 0;
    pthread_once(&equal_once, equal_init);
    out->len = len;
    if (!equal_md || EVP_Digest(len ? p : "", len, out->sha256, &n, equal_md, NULL) != 1 ||
        n != sizeof(out->sha256))
        return -EIO;
    return 0;
}

bool secret_digest_equal(const struct secret_digest *a, const void *b, size_t blen)
{
    struct secret_digest db;
    if (secret_digest(b, blen, &db) < 0)
        return false;
    /* equal digests, and (a collision aside, which cannot be found) then equal lengths too:
     * `&`, not `&&`, so that no branch depends on the digests */
    return (CRYPTO_memcmp(a->sha256, db.sha256, sizeof(db.sha256)) == 0) & (a->len == blen);
}

bool secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    struct secret_digest da;
    return secret_digest(a, alen, &da) == 0 && secret_digest_equal(&da, b, blen);
}
