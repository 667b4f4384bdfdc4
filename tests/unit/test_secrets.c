/* The crypto of secrets.h, as a specification: HKDF against RFC 5869, sealed values against an
 * independent implementation (Python's `cryptography`), every kind of tampering refused, RFC 7638
 * thumbprints against the RFC and against values computed with the openssl CLI, and a JWKS that
 * carries nothing private. Runs in tests/unit (data/secrets/). */
#include "check.h"
#include "config.h"
#include "config_internal.h"
#include "jwk.h"
#include "secrets.h"
#include "str.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* MAS's documented example secret, also what the golden vectors below were sealed with. */
static const char example_hex[] = "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff";

static void unhex(const char *hex, unsigned char *out)
{
    for (size_t i = 0; hex[2 * i]; i++)
        out[i] = (unsigned char)(masd_hexval(hex[2 * i]) << 4 | masd_hexval(hex[2 * i + 1]));
}

static struct secrets *make_secrets(const char *hex)
{
    unsigned char key[SECRETS_ENCRYPTION_LEN];
    struct secrets *s = NULL;
    unhex(hex, key);
    CHECK_INT(secrets_new(key, &s), 0);
    return s;
}

/* A test-side base64url decoder (lenient about trailing bits), independent of the one under test. */
static size_t b64u_decode(const char *in, unsigned char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (; *in; in++) {
        acc = acc << 6 | (unsigned)(strchr(a, *in) - a);
        if ((bits += 6) >= 8)
            out[o++] = (unsigned char)(acc >> (bits -= 8));
    }
    return o;
}

static char *b64u_encode(const unsigned char *in, size_t len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len * 2 + 4), *o = out;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = acc << 8 | in[i];
        for (bits += 8; bits >= 6;)
            *o++ = a[acc >> (bits -= 6) & 63];
    }
    if (bits)
        *o++ = a[acc << (6 - bits) & 63];
    *o = '\0';
    return out;
}

static void test_hkdf_rfc5869(void)
{
    struct secrets *s = make_secrets(example_hex);
    unsigned char ikm[22], salt[13], info[10], okm[42], want[42];
    memset(ikm, 0x0b, sizeof(ikm));
    for (size_t i = 0; i < sizeof(salt); i++)
        salt[i] = (unsigned char)i;
    for (size_t i = 0; i < sizeof(info); i++)
        info[i] = (unsigned char)(0xf0 + i);
    /* RFC 5869 A.1 (test case 1) */
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", want);
    CHECK_INT(secrets_hkdf(s, ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info), okm, sizeof(okm)), 0);
    CHECK(memcmp(okm, want, sizeof(want)) == 0);
    /* RFC 5869 A.3 (test case 3): no salt, no info, the shape of the per-purpose derivation */
    unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8", want);
    CHECK_INT(secrets_hkdf(s, ikm, sizeof(ikm), NULL, 0, "", 0, okm, sizeof(okm)), 0);
    CHECK(memcmp(okm, want, sizeof(want)) == 0);
    /* the "client-secret" key under the example secret, as Python's HKDF computes it */
    unsigned char secret[32], key[32], want_key[32];
    unhex(example_hex, secret);
    unhex("fe376ce14aeb1734a4759c9c5d24b03de14ee5993d427e3fc812657d24e66e23", want_key);
    CHECK_INT(secrets_hkdf(s, secret, 32, NULL, 0, "client-secret", 13, key, 32), 0);
    CHECK(memcmp(key, want_key, 32) == 0);
    secrets_free(s);
}

/* Sealed by Python's `cryptography` (HKDF-SHA256 + AESGCM) with fixed nonces: the format is
 * stable across builds and matches the description in secrets.c. */
static void test_golden_vectors(void)
{
    struct secrets *s = make_secrets(example_hex);
    void *plain = NULL;
    size_t len = 0;
    CHECK_INT(secrets_open(s, "client-secret",
                           "AQABAgMEBQYHCAkKCynSB1rZKtEDX806KUe5VldTzIxXZ85alrxK1iS1WUeC0M0", &plain, &len),
              0);
    CHECK_INT(len, 18);
    CHECK_STR(plain, "masd golden vector");
    free(plain);
    CHECK_INT(secrets_open(s, "cookie", "AWRlZmdoaWprbG1ub1NbiKi5NuG6hyk50z3-mxo", &plain, &len), 0);
    CHECK_INT(len, 0);
    CHECK_STR(plain, "");
    free(plain);
    CHECK_INT(secrets_open(s, "csrf", "AWRlZmdoaWprbG1ub1NbiKi5NuG6hyk50z3-mxo", &plain, &len), -EBADMSG);
    CHECK(plain == NULL && len == 0);
    secrets_free(s);
}

static void test_round_trip(void)
{
    struct secrets *s = make_secrets(example_hex);
    static const size_t sizes[] = {0, 1, 2, 3, 4, 15, 16, 17, 31, 32, 33, 100, 4096, SECRETS_PLAIN_MAX};
    unsigned char *data = malloc(SECRETS_PLAIN_MAX + 1);
    for (size_t i = 0; i <= SECRETS_PLAIN_MAX; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *sealed = NULL;
        void *plain = NULL;
        size_t len = 0;
        CHECK_INT(secrets_seal(s, "cookie", data, sizes[i], &sealed), 0);
        CHECK_INT(strlen(sealed), ((1 + 12 + sizes[i] + 16) * 8 + 5) / 6);
        CHECK(strspn(sealed, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              strlen(sealed));
        CHECK_INT(secrets_open(s, "cookie", sealed, &plain, &len), 0);
        CHECK_INT(len, sizes[i]);
        CHECK(plain && memcmp(plain, data, sizes[i]) == 0 && ((char *)plain)[len] == '\0');
        free(plain);
        free(sealed);
    }
    char *sealed = (char *)"untouched";
    CHECK_INT(secrets_seal(s, "cookie", data, SECRETS_PLAIN_MAX + 1, &sealed), -EMSGSIZE);
    CHECK(sealed == NULL);
    CHECK_INT(secrets_seal(s, "", "x", 1, &sealed), -EINVAL);
    CHECK_INT(secrets_seal(s, NULL, "x", 1, &sealed), -EINVAL);
    void *plain = NULL;
    size_t len = 0;
    CHECK_INT(secrets_open(s, "", "AAAA", &plain, &len), -EINVAL);
    free(data);
    secrets_free(s);
}

static void check_refused(const struct secrets *s, const char *purpose, const char *sealed, int line)
{
    void *plain = (void *)1;
    size_t len = 99;
    int r = secrets_open(s, purpose, sealed, &plain, &len);
    if (r != -EBADMSG)
        fprintf(stderr, "  (accepted or wrong error for '%s' at line %d)\n", sealed, line);
    CHECK_INT(r, -EBADMSG);
    CHECK(plain == NULL && len == 0);
}
#define CHECK_REFUSED(s, purpose, sealed) check_refused(s, purpose, sealed, __LINE__)

static void test_tampering(void)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct secrets *s = make_secrets(example_hex), *other = make_secrets(example_hex + 2);
    char *sealed = NULL, *copy;
    CHECK_INT(secrets_seal(s, "client-secret", "s3cr3t value", 12, &sealed), 0);
    size_t n = strlen(sealed);
    copy = malloc(n + 2);
    /* every other character at every position, including the unused low bits of the last one */
    for (size_t i = 0; i < n; i++)
        for (const char *c = alphabet; *c; c++) {
            if (*c == sealed[i])
                continue;
            memcpy(copy, sealed, n + 1);
            copy[i] = *c;
            CHECK_REFUSED(s, "client-secret", copy);
        }
    /* every bit of the decoded bytes, the version byte included */
    unsigned char bytes[64];
    size_t blen = b64u_decode(sealed, bytes);
    CHECK_INT(blen, 1 + 12 + 12 + 16);
    for (size_t i = 0; i < blen * 8; i++) {
        bytes[i / 8] ^= (unsigned char)(1u << (i % 8));
        char *e = b64u_encode(bytes, blen);
        CHECK_REFUSED(s, "client-secret", e);
        free(e);
        bytes[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    /* shorter, longer, padded, another purpose, another secret */
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, sealed, i);
        copy[i] = '\0';
        CHECK_REFUSED(s, "client-secret", copy);
    }
    snprintf(copy, n + 2, "%sA", sealed);
    CHECK_REFUSED(s, "client-secret", copy);
    char padded[256];
    snprintf(padded, sizeof(padded), "%s==", sealed);
    CHECK_REFUSED(s, "client-secret", padded);
    snprintf(padded, sizeof(padded), " %s", sealed);
    CHECK_REFUSED(s, "client-secret", padded);
    CHECK_REFUSED(s, "client-secre", sealed);
    CHECK_REFUSED(s, "client-secret ", sealed);
    CHECK_REFUSED(s, "cookie", sealed);
    CHECK_REFUSED(other, "client-secret", sealed);
    /* the same bytes under version 2: refused even before the tag is checked */
    bytes[0] = 2;
    char *v2 = b64u_encode(bytes, blen);
    CHECK_REFUSED(s, "client-secret", v2);
    free(v2);
    /* a NUL inside a length-delimited value */
    void *plain = NULL;
    size_t len = 0;
    memcpy(padded, sealed, n + 1);
    padded[n / 2] = '\0';
    CHECK_INT(secrets_open_len(s, "client-secret", padded, n, &plain, &len), -EBADMSG);
    CHECK_INT(secrets_open_len(s, "client-secret", sealed, n, &plain, &len), 0);
    CHECK_INT(len, 12);
    free(plain);
    CHECK_REFUSED(s, "client-secret", "");
    CHECK_REFUSED(s, "client-secret", "A");
    free(copy);
    free(sealed);
    secrets_free(other);
    secrets_free(s);
}

static int cmp_nonce(const void *a, const void *b)
{
    return memcmp(a, b, 12);
}

static void test_nonce_uniqueness(void)
{
    enum { N = 100000 };
    struct secrets *s = make_secrets(example_hex);
    unsigned char(*nonces)[12] = malloc(N * 12);
    unsigned char bytes[64];
    size_t bad = 0, repeats = 0;
    for (size_t i = 0; i < N; i++) {
        char *sealed = NULL;
        bad += secrets_seal(s, "csrf", "same", 4, &sealed) != 0 ||
               b64u_decode(sealed, bytes) != 1 + 12 + 4 + 16 || bytes[0] != SECRETS_VERSION;
        memcpy(nonces[i], bytes + 1, 12);
        free(sealed);
    }
    CHECK_INT(bad, 0);
    qsort(nonces, N, 12, cmp_nonce);
    for (size_t i = 1; i < N; i++)
        repeats += memcmp(nonces[i - 1], nonces[i], 12) == 0;
    CHECK_INT(repeats, 0);
    free(nonces);
    secrets_free(s);
}

/* One struct secrets shared by several threads, as the event loops and the worker pool share it. */
static void *seal_open_loop(void *arg)
{
    const struct secrets *s = arg;
    intptr_t failures = 0;
    for (int i = 0; i < 2000; i++) {
        char *sealed = NULL, msg[32];
        void *plain = NULL;
        size_t len = 0;
        int n = snprintf(msg, sizeof(msg), "message %d", i);
        failures += secrets_seal(s, i % 2 ? "cookie" : "csrf", msg, (size_t)n, &sealed) != 0 ||
                    secrets_open(s, i % 2 ? "cookie" : "csrf", sealed, &plain, &len) != 0 ||
                    len != (size_t)n || memcmp(plain, msg, len) != 0;
        free(plain);
        free(sealed);
    }
    return (void *)failures;
}

static void test_threads(void)
{
    struct secrets *s = make_secrets(example_hex);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, seal_open_loop, s), 0);
    for (int i = 0; i < 4; i++) {
        void *failures = NULL;
        pthread_join(t[i], &failures);
        CHECK_INT((intptr_t)failures, 0);
    }
    secrets_free(s);
}

/* test_secrets is linked with -Wl,--wrap=CRYPTO_memcmp: every constant-time comparison of
 * libmasd lands here first, so a test can see what secret_equal() compared. */
int __real_CRYPTO_memcmp(const void *a, const void *b, size_t len);
int __wrap_CRYPTO_memcmp(const void *a, const void *b, size_t len);
static size_t memcmp_calls, memcmp_last_len;
int __wrap_CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
    memcmp_calls++;
    memcmp_last_len = len;
    return __real_CRYPTO_memcmp(a, b, len);
}

/* secret_equal(), and how: the same 32-byte comparison whatever the lengths. It returned at
 * once on a length mismatch, telling a guesser the length of matrix.secret or a client secret
 * by the time it took. */
static void test_secret_equal_shape(void)
{
    static const struct {
        const char *a, *b;
    } pairs[] = {{"abc", "abc"}, {"abc", "abcd"}, {"", "a"}, {"a-long-shared-secret", "a"}, {"x", "y"}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        size_t before = memcmp_calls;
        memcmp_last_len = 0;
        bool eq = secret_equal(pairs[i].a, strlen(pairs[i].a), pairs[i].b, strlen(pairs[i].b));
        CHECK(eq == (strcmp(pairs[i].a, pairs[i].b) == 0));
        CHECK_INT((long)(memcmp_calls - before), 1);
        CHECK_INT((long)memcmp_last_len, 32);
    }
}

static void test_secret_equal(void)
{
    test_secret_equal_shape();
    /* prefixes either way, lengths around the 64-byte SHA-256 block, every single-byte change */
    char x[200], y[200];
    for (size_t i = 0; i < sizeof(x); i++)
        x[i] = y[i] = (char)('a' + i % 26);
    for (size_t n = 0; n <= 130; n++) {
        CHECK(secret_equal(x, n, y, n));
        CHECK(!secret_equal(x, n, y, n + 1));
        CHECK(!secret_equal(x, n + 1, y, n));
        if (n > 0) {
            y[n - 1] ^= 1;
            CHECK(!secret_equal(x, n, y, n));
            y[n - 1] ^= 1;
        }
    }
    CHECK(!secret_equal("abc", 3, "ab", 2));
    CHECK(!secret_equal("abc", 3, "", 0));
    CHECK(!secret_equal("abc", 3, NULL, 0));
    CHECK(secret_equal("abc", 3, "abc", 3));
    /* in two steps, as introspection compares matrix.secret */
    struct secret_digest d;
    CHECK_INT(secret_digest("shared-secret", 13, &d), 0);
    size_t before = memcmp_calls;
    CHECK(secret_digest_equal(&d, "shared-secret", 13));
    CHECK(!secret_digest_equal(&d, "shared-secre", 12));
    CHECK(!secret_digest_equal(&d, "shared-secret!", 14));
    CHECK(!secret_digest_equal(&d, "", 0));
    CHECK(!secret_digest_equal(&d, "Shared-secret", 13));
    CHECK_INT((long)(memcmp_calls - before), 5);
    CHECK_INT((long)memcmp_last_len, 32);
    CHECK_INT(secret_digest(NULL, 0, &d), 0);
    CHECK(secret_digest_equal(&d, NULL, 0) && secret_digest_equal(&d, "", 0) &&
          !secret_digest_equal(&d, "a", 1));
    CHECK(!secret_equal("abc", 3, "abd", 3));
    CHECK(!secret_equal("abc", 3, "abcd", 4));
    CHECK(!secret_equal("", 0, "a", 1));
    CHECK(secret_equal(NULL, 0, NULL, 0));
    CHECK(secret_equal("a\0b", 3, "a\0b", 3));
    CHECK(!secret_equal("a\0b", 3, "a\0c", 3));
}

static void test_from_config(void)
{
    struct config *cfg = NULL;
    struct secrets *s = (struct secrets *)1;
    CHECK_INT(config_load_buffer("config.yaml", "", 0, &cfg, NULL), 0);
    CHECK(!cfg->has_encryption);
    CHECK_INT(secrets_from_config(cfg, &s), -ENOKEY);
    CHECK(s == NULL);
    config_free(cfg);
    const char *yaml =
        "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n";
    CHECK_INT(config_load_buffer("config.yaml", yaml, strlen(yaml), &cfg, NULL), 0);
    CHECK_INT(secrets_from_config(cfg, &s), 0);
    void *plain = NULL;
    size_t len = 0;
    CHECK_INT(secrets_open(s, "client-secret",
                           "AQABAgMEBQYHCAkKCynSB1rZKtEDX806KUe5VldTzIxXZ85alrxK1iS1WUeC0M0", &plain, &len),
              0);
    free(plain);
    secrets_free(s);
    config_free(cfg);
}

static EVP_PKEY *rsa_public_from_jwk(const char *n_b64u, const char *e_b64u)
{
    unsigned char n[512], e[8];
    size_t nl = b64u_decode(n_b64u, n), el = b64u_decode(e_b64u, e);
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static void test_thumbprint_rfc7638(void)
{
    /* RFC 7638 §3.1 */
    EVP_PKEY *pkey = rsa_public_from_jwk("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1"
                                         "RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n"
                                         "3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
                                         "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0"
                                         "zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
                                         "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-"
                                         "csFCur-kEgU8awapJzKnqDKgw",
                                         "AQAB");
    char t[KEY_THUMBPRINT_SIZE];
    CHECK(pkey != NULL);
    CHECK_INT(key_thumbprint(pkey, t), 0);
    CHECK_STR(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    EVP_PKEY_free(pkey);
}

static EVP_PKEY *load_key(const char *file, const char *password)
{
    char *data = NULL;
    size_t len = 0;
    EVP_PKEY *pkey = NULL;
    const char *why = NULL;
    CHECK_INT(read_small_file(file, &data, &len), 0);
    CHECK_INT(config_decode_private_key(data, len, password, &pkey, &why), 0);
    free(data);
    return pkey;
}

/* Expected values computed with the openssl CLI alone (modulus / public point, hand-built
 * canonical JSON, `openssl dgst -sha256`): an implementation independent of secrets.c. */
static void test_thumbprint_keys(void)
{
    static const struct {
        const char *file, *thumbprint;
    } keys[] = {
        {"data/secrets/rsa-pkcs1.pem", "3E8P4-xQq7YpcfWEZxfrTznJ8WsCHAOYRfDcMF_WsHE"},
        {"data/secrets/rsa-pkcs8.der", "3E8P4-xQq7YpcfWEZxfrTznJ8WsCHAOYRfDcMF_WsHE"},
        {"data/secrets/ec-p256-sec1.pem", "zgm00l8acxdMDJJEYt7zZozK4u2vBAY0L5djdc4gGkI"},
        /* the public point stored compressed: the thumbprint uses both coordinates anyway */
        {"data/secrets/ec-p256-compressed.pem", "zgm00l8acxdMDJJEYt7zZozK4u2vBAY0L5djdc4gGkI"},
        {"data/secrets/ec-p384-sec1.pem", "SxldqPedhnS1Vo6N9tEWvQOshbJiAHCSJNK7gBCoDDQ"},
        {"data/secrets/ec-secp256k1-sec1.pem", "FcFLWRnwnOc_5MN-lcWvQuYy8S70M66kI8N3PwxLcEg"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        EVP_PKEY *pkey = load_key(keys[i].file, NULL);
        char t[KEY_THUMBPRINT_SIZE] = "";
        CHECK_INT(key_thumbprint(pkey, t), 0);
        if (strcmp(t, keys[i].thumbprint) != 0)
            fprintf(stderr, "  (%s)\n", keys[i].file);
        CHECK_STR(t, keys[i].thumbprint);
        EVP_PKEY_free(pkey);
    }
    EVP_PKEY *ed = load_key("data/secrets/ed25519.pem", NULL);
    char t[KEY_THUMBPRINT_SIZE] = "x";
    CHECK_INT(key_thumbprint(ed, t), -EOPNOTSUPP);
    CHECK_STR(t, "");
    EVP_PKEY_free(ed);
}

static void test_jwks(void)
{
    const char *yaml =
        "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"
        "  keys:\n    - {kid: rsa-1, key_file: data/secrets/rsa-pkcs1.pem}\n"
        "    - key_file: data/secrets/ec-p256-compressed.pem\n"
        "    - key_file: data/secrets/ec-p384-sec1.pem\n"
        "    - {kid: k, key_file: data/secrets/ec-secp256k1-pkcs8.pem}\n";
    struct config *cfg = NULL;
    char *err = NULL;
    CHECK_INT(config_load_buffer("config.yaml", yaml, strlen(yaml), &cfg, &err), 0);
    if (!cfg) {
        fprintf(stderr, "  %s\n", err);
        free(err);
        return;
    }
    char *out = keys_public_jwks(cfg);
    json_error_t jerr;
    json_t *doc = json_loads(out, JSON_REJECT_DUPLICATES, &jerr), *keys = json_object_get(doc, "keys");
    CHECK(json_is_object(doc) && json_object_size(doc) == 1);
    CHECK_INT(json_array_size(keys), 4);
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        for (size_t j = 0; j < sizeof(private_members) / sizeof(private_members[0]); j++)
            CHECK(json_object_get(k, private_members[j]) == NULL);
        CHECK_STR(json_string_value(json_object_get(k, "use")), "sig");
        CHECK(json_object_get(k, "alg") == NULL);
    }
    json_t *rsa = json_array_get(keys, 0), *p256 = json_array_get(keys, 1);
    CHECK_INT(json_object_size(rsa), 5);
    CHECK_STR(json_string_value(json_object_get(rsa, "kty")), "RSA");
    CHECK_STR(json_string_value(json_object_get(rsa, "kid")), "rsa-1");
    CHECK_STR(json_string_value(json_object_get(rsa, "e")), "AQAB");
    CHECK_INT(strlen(json_string_value(json_object_get(rsa, "n"))), 342); /* 256 bytes */
    CHECK_INT(json_object_size(p256), 6);
    CHECK_STR(json_string_value(json_object_get(p256, "kty")), "EC");
    CHECK_STR(json_string_value(json_object_get(p256, "crv")), "P-256");
    CHECK_STR(json_string_value(json_object_get(p256, "kid")), "zgm00l8acxdMDJJEYt7zZozK4u2vBAY0L5djdc4gGkI");
    CHECK_INT(strlen(json_string_value(json_object_get(p256, "x"))), 43); /* 32 bytes, padded */
    CHECK_INT(strlen(json_string_value(json_object_get(p256, "y"))), 43);
    json_t *p384 = json_array_get(keys, 2), *k256 = json_array_get(keys, 3);
    CHECK_STR(json_string_value(json_object_get(p384, "crv")), "P-384");
    CHECK_STR(json_string_value(json_object_get(p384, "kid")), "SxldqPedhnS1Vo6N9tEWvQOshbJiAHCSJNK7gBCoDDQ");
    CHECK_INT(strlen(json_string_value(json_object_get(p384, "x"))), 64); /* 48 bytes */
    CHECK_STR(json_string_value(json_object_get(k256, "crv")), "secp256k1");
    CHECK_STR(json_string_value(json_object_get(k256, "kid")), "k");
    /* MAS's member order, compact */
    CHECK(strncmp(out, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"", 27) == 0);
    CHECK(strstr(out, "\"e\":\"AQAB\",\"use\":\"sig\",\"kid\":\"rsa-1\"}") != NULL);
    CHECK(strstr(out, "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"") != NULL);
    json_decref(doc);
    free(out);
    config_free(cfg);

    CHECK_INT(config_load_buffer("config.yaml", "", 0, &cfg, NULL), 0);
    out = keys_public_jwks(cfg);
    CHECK_STR(out, "{\"keys\":[]}");
    free(out);
    config_free(cfg);
}

int main(void)
{
    test_hkdf_rfc5869();
    test_golden_vectors();
    test_round_trip();
    test_tampering();
    test_nonce_uniqueness();
    test_threads();
    test_secret_equal();
    test_from_config();
    test_thumbprint_rfc7638();
    test_thumbprint_keys();
    test_jwks();
    return check_report(__FILE__);
}
