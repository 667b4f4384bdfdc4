/* Password hashing and verification in MAS's formats (see passwords.h). argon2 through
 * libargon2 with its memory from mmap, bcrypt through libcrypt, pbkdf2 through OpenSSL, NFKC
 * through libunistring, complexity through zxcvbn-c. */
#include "passwords.h"
#include <argon2.h>
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <uninorm.h>
#include <unistr.h>
#include <zxcvbn.h>

#define SALT_LEN       16 /* password-hash SaltString::generate() and bcrypt: 16 random bytes */
#define OUTPUT_LEN     32 /* argon2 and pbkdf2 output length (PHC Output default) */
#define PHC_SALT_MAX   48 /* password-hash Salt: at most 64 base64 characters */
#define PHC_OUTPUT_MIN 10 /* password-hash Output: 10..64 bytes */
#define PHC_OUTPUT_MAX 64
#define BCRYPT_KEY_MAX 72 /* bcrypt uses at most 72 bytes of the password */
#define BCRYPT_LEN     60 /* "$2b$12$" + 22 characters of salt + 31 of hash */

/* PHC strings use standard base64 without padding ("B64"). */
static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        for (size_t k = 0; k < chars; k++)
            out[o++] = b64_alphabet[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
}

/* Decodes the n characters at s into at most cap bytes. Only the canonical encoding is accepted
 * (unused trailing bits zero), as MAS's base64ct does. Returns the byte count or -EINVAL. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        const char *c = s[i] ? strchr(b64_alphabet, s[i]) : NULL;
        if (!c)
            return -EINVAL;
        acc = acc << 6 | (uint32_t)(c - b64_alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return acc == 0 ? (long)o : -EINVAL;
}

/* Moves *p (at a '$') past the next field, which it returns as f, n. */
static bool next_field(const char **p, const char **f, size_t *n)
{
    if (**p != '$')
        return false;
    *f = *p + 1;
    *n = strcspn(*f, "$");
    *p = *f + *n;
    return true;
}

/* A PHC decimal: digits without a leading zero, at most UINT32_MAX. */
static bool parse_decimal(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* "a=1,b=2": each name of `names` at most once, no other name; values into vals. */
static int parse_params(const char *s, size_t n, const char *names, uint32_t *vals, bool *seen)
{
    const char *end = s + n;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s)), *item_end = comma ? comma : end;
        const char *eq = memchr(s, '=', (size_t)(item_end - s));
        const char *hit = eq && eq - s == 1 ? memchr(names, *s, strlen(names)) : NULL;
        if (!hit || seen[hit - names] ||
            !parse_decimal(eq + 1, (size_t)(item_end - eq - 1), &vals[hit - names]))
            return -EINVAL;
        seen[hit - names] = true;
        s = comma ? comma + 1 : end;
        if (comma && s == end)
            return -EINVAL;
    }
    return 0;
}

/* The "[$params]$salt$hash" tail of a PHC string, p at the '$' after the algorithm (and
 * version). Parameters left out keep the values already in vals, as in the Rust crates. */
static int parse_phc_tail(const char *p, const char *names, uint32_t *vals, struct password_hash_info *info)
{
    const char *f;
    size_t n;
    bool seen[4] = {false};
    long k;
    if (!next_field(&p, &f, &n))
        return -EINVAL;
    if (memchr(f, '=', n)) {
        if (parse_params(f, n, names, vals, seen) < 0 || !next_field(&p, &f, &n))
            return -EINVAL;
    }
    if (n < 4 || n > 64 || (k = b64_decode(f, n, info->salt, sizeof(info->salt))) < 0)
        return -EINVAL;
    info->salt_len = (size_t)k;
    if (!next_field(&p, &f, &n) || *p != '\0' || (k = b64_decode(f, n, info->hash, sizeof(info->hash))) < 0 ||
        k < PHC_OUTPUT_MIN)
        return -EINVAL;
    info->hash_len = (size_t)k;
    return 0;
}

static int parse_argon2(const char *h, struct password_hash_info *info)
{
    const char *p = h, *f = h;
    size_t n = 0;
    uint32_t vals[3] = {PASSWORD_ARGON2_M_COST, PASSWORD_ARGON2_T_COST, PASSWORD_ARGON2_P_COST}, v;
    next_field(&p, &f, &n);
    if (n == 8 && memcmp(f, "argon2id", 8) == 0)
        info->argon2_type = Argon2_id;
    else if (n == 7 && (memcmp(f, "argon2i", 7) == 0 || memcmp(f, "argon2d", 7) == 0))
        info->argon2_type = f[6] == 'i' ? Argon2_i : Argon2_d;
    else
        return -EINVAL;
    info->argon2_version = ARGON2_VERSION_13;
    if (strncmp(p, "$v=", 3) == 0) {
        const char *q = p;
        next_field(&q, &f, &n);
        if (!parse_decimal(f + 2, n - 2, &v) || (v != ARGON2_VERSION_10 && v != ARGON2_VERSION_13))
            return -EINVAL;
        info->argon2_version = v;
        p = q;
    }
    /* keyid and data (argon2's associated data) never appear in MAS's hashes: refused */
    if (parse_phc_tail(p, "mtp", vals, info) < 0 || info->salt_len < ARGON2_MIN_SALT_LENGTH)
        return -EINVAL;
    info->m_cost = vals[0], info->t_cost = vals[1], info->lanes = vals[2];
    if (info->t_cost < 1 || info->lanes < 1 || info->m_cost < 8 * info->lanes)
        return -EINVAL;
    if (info->m_cost > PASSWORD_ARGON2_MAX_M_COST || info->lanes > PASSWORD_ARGON2_MAX_LANES ||
        (uint64_t)info->m_cost * info->t_cost > PASSWORD_ARGON2_MAX_WORK)
        return -ERANGE;
    return 0;
}

static int parse_pbkdf2(const char *h, struct password_hash_info *info)
{
    const char *p = h, *f = h;
    size_t n = 0;
    uint32_t vals[2] = {PASSWORD_PBKDF2_ROUNDS_DEFAULT, OUTPUT_LEN};
    next_field(&p, &f, &n);
    if (n == 13 && memcmp(f, "pbkdf2-sha256", 13) == 0)
        info->prf = PASSWORD_PRF_SHA256;
    else if (n == 13 && memcmp(f, "pbkdf2-sha512", 13) == 0)
        info->prf = PASSWORD_PRF_SHA512;
    else
        return -EINVAL; /* the pbkdf2 crate takes no version; SHA-1 is not built into MAS */
    if (parse_phc_tail(p, "il", vals, info) < 0 || vals[0] < 1 || vals[1] != info->hash_len)
        return -EINVAL;
    info->rounds = vals[0];
    return info->rounds > PASSWORD_PBKDF2_ROUNDS_MAX ? -ERANGE : 0;
}

/* $2a$, $2b$ and $2y$ are the same algorithm for passwords under 255 bytes (bcrypt reads 72);
 * $2x$ reproduces an old bug that the bcrypt crate does not, so it is refused. */
static int parse_bcrypt(const char *h, struct password_hash_info *info)
{
    static const char alphabet[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (strlen(h) != BCRYPT_LEN || !strchr("aby", h[2]) || h[3] != '$' || h[6] != '$' ||
        strspn(h + 7, alphabet) != BCRYPT_LEN - 7)
        return -EINVAL;
    uint32_t cost;
    if (!parse_decimal(h + 4, 2, &cost) && !(h[4] == '0' && parse_decimal(h + 5, 1, &cost)))
        return -EINVAL;
    if (cost < PASSWORD_BCRYPT_COST_MIN || cost > PASSWORD_BCRYPT_COST_MAX)
        return -EINVAL;
    info->rounds = cost;
    return 0;
}

int password_hash_parse(const char *hash, struct password_hash_info *out)
{
    *out = (struct password_hash_info){0};
    if (strncmp(hash, "$argon2", 7) == 0) {
        out->algorithm = PASSWORD_ARGON2ID;
        return parse_argon2(hash, out);
    }
    if (strncmp(hash, "$pbkdf2", 7) == 0) {
        out->algorithm = PASSWORD_PBKDF2;
        return parse_pbkdf2(hash, out);
    }
    if (strncmp(hash, "$2", 2) == 0) {
        out->algorithm = PASSWORD_BCRYPT;
        return parse_bcrypt(hash, out);
    }
    return -EINVAL;
}

/* The bytes that get hashed: the password, NFKC-normalised when the scheme says so (MAS after
 * Synapse), then the pepper for bcrypt and pbkdf2, which MAS appends (argon2 takes it as its
 * secret input instead). NUL-terminated for crypt. Wiped and freed by input_free(). */
struct input {
    unsigned char *buf;
    size_t len;
};

static void input_free(struct input *in)
{
    if (in->buf)
        OPENSSL_cleanse(in->buf, in->len);
    free(in->buf);
    in->buf = NULL;
}

static int input_prepare(const struct config_password_scheme *s, const char *password, size_t len,
                         struct input *in)
{
    const uint8_t *src = (const uint8_t *)password;
    uint8_t *norm = NULL;
    size_t n = len, pepper = s->algorithm == PASSWORD_ARGON2ID ? 0 : s->secret_len;
    if (u8_check(src, len))
        return -EILSEQ; /* MAS's passwords are Rust Strings: always UTF-8 */
    if (s->unicode_normalization && len > 0) {
        if (!(norm = u8_normalize(UNINORM_NFKC, src, len, NULL, &n)))
            return errno == ENOMEM ? -ENOMEM : -EILSEQ;
        src = norm;
    }
    in->len = n + pepper;
    in->buf = malloc(in->len + 1);
    if (in->buf) {
        memcpy(in->buf, src, n);
        if (pepper)
            memcpy(in->buf + n, s->secret, pepper);
        in->buf[in->len] = '\0';
    }
    if (norm)
        OPENSSL_cleanse(norm, n);
    free(norm);
    return in->buf ? 0 : -ENOMEM;
}

/* argon2's 19 MiB come from mmap and go back with munmap: from malloc, glibc would keep them in
 * the heap (its mmap threshold grows to the size of the last freed block) for good. The blocks
 * are derived from the password, so they stay out of core dumps too. */
static int map_memory(uint8_t **memory, size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        (void)madvise(p, bytes, MADV_DONTDUMP);
    *memory = p == MAP_FAILED ? NULL : p; /* libargon2 checks *memory, not the return value */
    return *memory ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

static void unmap_memory(uint8_t *memory, size_t bytes)
{
    if (memory)
        munmap(memory, bytes);
}

static int argon2_compute(const struct password_hash_info *info, const struct input *in,
                          const struct config_password_scheme *s, unsigned char *out)
{
    if (in->len > UINT32_MAX || s->secret_len > UINT32_MAX)
        return -E2BIG;
    argon2_context ctx = {
        .out = out,
        .outlen = (uint32_t)info->hash_len,
        .pwd = in->buf,
        .pwdlen = (uint32_t)in->len,
        .salt = (uint8_t *)info->salt,
        .saltlen = (uint32_t)info->salt_len,
        .secret = s->secret, /* not wiped by libargon2: no ARGON2_FLAG_CLEAR_SECRET */
        .secretlen = (uint32_t)s->secret_len,
        .t_cost = info->t_cost,
        .m_cost = info->m_cost,
        .lanes = info->lanes,
        .threads = info->lanes,
        .version = info->argon2_version,
        .allocate_cbk = map_memory,
        .free_cbk = unmap_memory,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    int rc = argon2_ctx(&ctx, (argon2_type)info->argon2_type);
    return rc == ARGON2_OK ? 0 : rc == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EINVAL;
}

static int pbkdf2_compute(const struct password_hash_info *info, const struct input *in, unsigned char *out)
{
    if (in->len > INT32_MAX)
        return -E2BIG;
    const EVP_MD *md = info->prf == PASSWORD_PRF_SHA512 ? EVP_sha512() : EVP_sha256();
    return PKCS5_PBKDF2_HMAC((const char *)in->buf, (int)in->len, info->salt, (int)info->salt_len,
                             (int)info->rounds, md, (int)info->hash_len, out) == 1
               ? 0
               : -ENOMEM;
}

/* crypt_rn with setting ("$2b$12$salt" or a whole stored hash); output into out. crypt reads a
 * C string, so a NUL inside the input would cut it short: callers refuse that first. */
static int bcrypt_compute(const char *setting, struct input *in, char *out, size_t size)
{
    struct crypt_data *data = calloc(1, sizeof(*data));
    if (!data)
        return -ENOMEM;
    if (in->len > BCRYPT_KEY_MAX)
        in->buf[BCRYPT_KEY_MAX] = '\0'; /* what bcrypt reads anyway; crypt refuses over 512 */
    const char *r = crypt_rn((const char *)in->buf, setting, data, sizeof(*data));
    int ret = r && r[0] != '*' && strlen(r) < size ? 0 : -EINVAL;
    if (ret == 0)
        strcpy(out, r);
    OPENSSL_cleanse(data, sizeof(*data));
    free(data);
    return ret;
}

static const struct config_password_scheme *find_scheme(const struct config_passwords *cfg, unsigned version)
{
    for (size_t i = 0; i < cfg->n_schemes; i++)
        if (cfg->schemes[i].version == version)
            return &cfg->schemes[i];
    return NULL;
}

static int encode_phc(const struct config_password_scheme *s, const struct password_hash_info *info,
                      char **out)
{
    char salt[PHC_SALT_MAX * 4 / 3 + 4], hash[PHC_OUTPUT_MAX * 4 / 3 + 4];
    b64_encode(info->salt, info->salt_len, salt);
    b64_encode(info->hash, info->hash_len, hash);
    int n = s->algorithm == PASSWORD_ARGON2ID
                ? asprintf(out, "$argon2id$v=%u$m=%u,t=%u,p=%u$%s$%s", info->argon2_version, info->m_cost,
                           info->t_cost, info->lanes, salt, hash)
                : asprintf(out, "$pbkdf2-sha256$i=%u,l=%zu$%s$%s", info->rounds, info->hash_len, salt, hash);
    return n < 0 ? (*out = NULL, -ENOMEM) : 0;
}

static int hash_phc(const struct config_password_scheme *s, struct input *in, const unsigned char *salt,
                    size_t salt_len, char **out)
{
    struct password_hash_info info = {
        .algorithm = s->algorithm,
        .argon2_type = Argon2_id,
        .argon2_version = ARGON2_VERSION_13,
        .m_cost = PASSWORD_ARGON2_M_COST,
        .t_cost = PASSWORD_ARGON2_T_COST,
        .lanes = PASSWORD_ARGON2_P_COST,
        .prf = PASSWORD_PRF_SHA256,
        .rounds = s->cost,
        .salt_len = salt_len,
        .hash_len = OUTPUT_LEN,
    };
    size_t min_salt = s->algorithm == PASSWORD_ARGON2ID ? ARGON2_MIN_SALT_LENGTH : 3;
    if (salt_len < min_salt || salt_len > PHC_SALT_MAX || (s->algorithm == PASSWORD_PBKDF2 && s->cost < 1))
        return -EINVAL;
    memcpy(info.salt, salt, salt_len);
    int r = s->algorithm == PASSWORD_ARGON2ID ? argon2_compute(&info, in, s, info.hash)
                                              : pbkdf2_compute(&info, in, info.hash);
    if (r >= 0)
        r = encode_phc(s, &info, out);
    OPENSSL_cleanse(info.hash, sizeof(info.hash));
    return r;
}

static int hash_bcrypt(const struct config_password_scheme *s, struct input *in, const unsigned char *salt,
                       size_t salt_len, char **out)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE], result[CRYPT_OUTPUT_SIZE];
    if (salt_len != SALT_LEN || memchr(in->buf, '\0', in->len))
        return -EINVAL;
    if (!crypt_gensalt_rn("$2b$", s->cost, (const char *)salt, (int)salt_len, setting, sizeof(setting)))
        return -EINVAL;
    int r = bcrypt_compute(setting, in, result, sizeof(result));
    if (r >= 0 && !(*out = strdup(result)))
        r = -ENOMEM;
    return r;
}

int password_hash_with_salt(const struct config_passwords *cfg, const char *password, size_t len,
                            const unsigned char *salt, size_t salt_len, char **hash, unsigned *version)
{
    struct input in = {0};
    *hash = NULL;
    if (!cfg->enabled)
        return -EOPNOTSUPP;
    if (cfg->n_schemes == 0)
        return -EINVAL;
    const struct config_password_scheme *s = &cfg->schemes[0];
    int r = input_prepare(s, password, len, &in);
    if (r < 0)
        return r;
    r = s->algorithm == PASSWORD_BCRYPT ? hash_bcrypt(s, &in, salt, salt_len, hash)
                                        : hash_phc(s, &in, salt, salt_len, hash);
    input_free(&in);
    if (r >= 0)
        *version = s->version;
    return r;
}

int password_hash(const struct config_passwords *cfg, const char *password, size_t len, char **hash,
                  unsigned *version)
{
    unsigned char salt[SALT_LEN];
    for (size_t got = 0; got < sizeof(salt);) {
        ssize_t n = getrandom(salt + got, sizeof(salt) - got, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        got += n > 0 ? (size_t)n : 0;
    }
    return password_hash_with_salt(cfg, password, len, salt, sizeof(salt), hash, version);
}

/* Compares the 31 characters of hash (after cost and salt): the bcrypt crate compares the
 * decoded hash part only, and libcrypt writes the salt back in its canonical form. */
static int verify_bcrypt(const char *hash, struct input *in)
{
    char result[CRYPT_OUTPUT_SIZE];
    if (memchr(in->buf, '\0', in->len))
        return -EPERM; /* cannot be hashed the way MAS would; never a match */
    int r = bcrypt_compute(hash, in, result, sizeof(result));
    if (r < 0)
        return r;
    if (strlen(result) != BCRYPT_LEN)
        return -EINVAL;
    r = CRYPTO_memcmp(result + 29, hash + 29, BCRYPT_LEN - 29) == 0 ? 0 : -EPERM;
    OPENSSL_cleanse(result, sizeof(result));
    return r;
}

static int verify_phc(const struct config_password_scheme *s, const struct password_hash_info *info,
                      struct input *in)
{
    unsigned char out[PHC_OUTPUT_MAX];
    int r =
        s->algorithm == PASSWORD_ARGON2ID ? argon2_compute(info, in, s, out) : pbkdf2_compute(info, in, out);
    if (r >= 0)
        r = CRYPTO_memcmp(out, info->hash, info->hash_len) == 0 ? 0 : -EPERM;
    OPENSSL_cleanse(out, sizeof(out));
    return r;
}

int password_verify(const struct config_passwords *cfg, unsigned version, const char *hash,
                    const char *password, size_t len, bool *upgrade)
{
    struct password_hash_info info;
    struct input in = {0};
    *upgrade = false;
    if (!cfg->enabled)
        return -EOPNOTSUPP;
    const struct config_password_scheme *s = find_scheme(cfg, version);
    if (!s)
        return -ENOENT;
    int r = password_hash_parse(hash, &info);
    if (r < 0)
        return r;
    if (info.algorithm != s->algorithm)
        return -EINVAL; /* as MAS: the scheme's algorithm cannot read this hash */
    if ((r = input_prepare(s, password, len, &in)) < 0)
        return r == -EILSEQ ? -EPERM : r;
    r = s->algorithm == PASSWORD_BCRYPT ? verify_bcrypt(hash, &in) : verify_phc(s, &info, &in);
    input_free(&in);
    if (r == 0)
        *upgrade = s != &cfg->schemes[0];
    return r;
}

int password_verify_dummy(const struct config_passwords *cfg, const char *password, size_t len)
{
    static const unsigned char salt[SALT_LEN] = {0};
    char *hash = NULL;
    unsigned version;
    if (!cfg->enabled)
        return -EOPNOTSUPP;
    /* A bcrypt password with a NUL byte fails here as quickly as verify_bcrypt() refuses it. */
    if (password_hash_with_salt(cfg, password, len, salt, sizeof(salt), &hash, &version) >= 0) {
        OPENSSL_cleanse(hash, strlen(hash));
        free(hash);
    }
    return -EPERM;
}

/* zxcvbn-c returns entropy in bits, so guesses = 2^bits; zxcvbn's score thresholds are 10^3,
 * 10^6, 10^8 and 10^10 guesses plus its DELTA of 5, here as log2(10^k + 5). */
int password_complexity(const char *password)
{
    static const double thresholds[] = {9.972979786066292, 19.931575782781344, 26.57542483123365,
                                        33.21928094959497};
    double bits = ZxcvbnMatch(password, NULL, NULL);
    int score = 0;
    while (score < 4 && bits >= thresholds[score])
        score++;
    return score;
}

int password_check_complexity(const struct config_passwords *cfg, const char *password)
{
    if (!cfg->enabled)
        return -EOPNOTSUPP;
    return password_complexity(password) >= (int)cfg->minimum_complexity ? 0 : -EPERM;
}
