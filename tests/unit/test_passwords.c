/* Password hashing as MAS stores it: MAS's own test vectors (crates/handlers/src/snapshots,
 * password "hunter2", pepper "a-secret-pepper"), a bcrypt hash made by Synapse's bcrypt library
 * the way Synapse makes it, peppers, NFKC, upgrades, garbage hashes, zxcvbn scores, and argon2's
 * 19 MiB going back to the system. With the argument `argon2-cli`, only the cross-check against
 * the argon2 command-line tool, both ways: skipped (77) when the tool is not installed. */
#include "check.h"
#include "passwords.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAS_PEPPER "a-secret-pepper"

static struct config_password_scheme scheme(unsigned version, enum password_algorithm alg, unsigned cost,
                                            const char *pepper, bool nfkc)
{
    return (struct config_password_scheme){.version = version,
                                           .algorithm = alg,
                                           .cost = cost,
                                           .secret = (unsigned char *)pepper,
                                           .secret_len = pepper ? strlen(pepper) : 0,
                                           .unicode_normalization = nfkc};
}

/* Schemes must be given highest version first, as the config loader sorts them. */
static struct config_passwords passwords(struct config_password_scheme *schemes, size_t n)
{
    return (struct config_passwords){
        .enabled = true, .minimum_complexity = 3, .schemes = schemes, .n_schemes = n};
}

static int verify(const struct config_passwords *cfg, unsigned version, const char *hash, const char *pw,
                  bool *upgrade)
{
    return password_verify(cfg, version, hash, pw, strlen(pw), upgrade);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_argon2id_format(void)
{
    struct config_password_scheme s[] = {scheme(1, PASSWORD_ARGON2ID, 0, NULL, false)};
    struct config_passwords cfg = passwords(s, 1);
    char *h1 = NULL, *h2 = NULL;
    unsigned version = 0;
    bool upgrade = true;
    double t0 = now_ms();
    CHECK_INT(password_hash(&cfg, "hunter2", 7, &h1, &version), 0);
    double t1 = now_ms();
    CHECK_INT(version, 1);
    CHECK(h1 && strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    /* 16 bytes of salt and 32 of hash, base64 without padding: 22 and 43 characters */
    CHECK(h1 && strlen(h1) == 31 + 22 + 1 + 43 && h1[31 + 22] == '$');
    CHECK_INT(verify(&cfg, 1, h1, "hunter2", &upgrade), 0);
    CHECK(!upgrade);
    CHECK_INT(verify(&cfg, 1, h1, "hunter3", &upgrade), -EPERM);
    CHECK_INT(verify(&cfg, 1, h1, "", &upgrade), -EPERM);
    CHECK_INT(password_hash(&cfg, "hunter2", 7, &h2, &version), 0);
    CHECK(h1 && h2 && strcmp(h1, h2) != 0); /* a fresh salt each time */
    fprintf(stderr, "argon2id hash: %.1f ms\n", t1 - t0);
    free(h1);
    free(h2);
}

/* The dummy verification of a login for an unknown account costs what a wrong password costs
 * for an account with a hash of the current scheme: each scheme, best of 3 (the machine may be
 * busy), at least half the real verification's time. */
static void test_dummy_verify(void)
{
    struct config_password_scheme all[] = {
        scheme(3, PASSWORD_ARGON2ID, 0, MAS_PEPPER, true),
        scheme(2, PASSWORD_BCRYPT, 8, NULL, false),
        scheme(1, PASSWORD_PBKDF2, 50000, NULL, false),
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        struct config_passwords cfg = passwords(&all[i], 1);
        char *h = NULL;
        unsigned version;
        bool upgrade;
        CHECK_INT(password_hash(&cfg, "right", 5, &h, &version), 0);
        double real = 1e9, dummy = 1e9;
        for (int k = 0; k < 3; k++) {
            double t0 = now_ms();
            CHECK_INT(password_verify(&cfg, version, h, "wrong", 5, &upgrade), -EPERM);
            double t1 = now_ms();
            CHECK_INT(password_verify_dummy(&cfg, "wrong", 5), -EPERM);
            double t2 = now_ms();
            real = t1 - t0 < real ? t1 - t0 : real;
            dummy = t2 - t1 < dummy ? t2 - t1 : dummy;
        }
        fprintf(stderr, "scheme %zu: verify %.1f ms, dummy %.1f ms\n", i, real, dummy);
        CHECK(dummy >= real / 2);
        CHECK_INT(password_verify_dummy(&cfg, "right", 5), -EPERM); /* never a match */
        free(h);
    }
    struct config_passwords off = passwords(all, 1);
    off.enabled = false;
    CHECK_INT(password_verify_dummy(&off, "x", 1), -EOPNOTSUPP);
}

/* Hashes of "hunter2" from MAS's own snapshot tests (argon2 0.4 defaults then: m=4096, t=3). */
static void test_mas_vectors(void)
{
    struct config_password_scheme a[] = {scheme(1, PASSWORD_ARGON2ID, 0, MAS_PEPPER, false)};
    struct config_password_scheme an[] = {scheme(1, PASSWORD_ARGON2ID, 0, NULL, false)};
    struct config_password_scheme p[] = {scheme(1, PASSWORD_PBKDF2, 600000, MAS_PEPPER, false)};
    struct config_password_scheme pn[] = {scheme(1, PASSWORD_PBKDF2, 600000, NULL, false)};
    struct config_password_scheme b[] = {scheme(1, PASSWORD_BCRYPT, 10, MAS_PEPPER, false)};
    struct config_password_scheme bn[] = {scheme(1, PASSWORD_BCRYPT, 10, NULL, false)};
    struct config_passwords ca = passwords(a, 1), can = passwords(an, 1), cp = passwords(p, 1),
                            cpn = passwords(pn, 1), cb = passwords(b, 1), cbn = passwords(bn, 1);
    static const char argon_pepper[] =
        "$argon2id$v=19$m=4096,t=3,p=1$eEi11xG8mIOZYxej+ckCaQ$pHZ/JwntSCS5qx6+MPK8XJUQSmSZ5rdXtxUew+rnXQI";
    static const char argon[] =
        "$argon2id$v=19$m=4096,t=3,p=1$1WdxAF1UChkYSTnJ6NDbKg$5Gxr/7C+gWUwqDLQmLJ2JiAzg/VxVb5Z+A65bqVoFkU";
    static const char pbkdf2_pepper[] =
        "$pbkdf2-sha256$i=10000,l=32$eEi11xG8mIOZYxej+ckCaQ$aDuBA/KhwMgMTrjrBqVHaZ8Zsyzs9IN8aq0iPgWoebc";
    static const char pbkdf2[] =
        "$pbkdf2-sha256$i=10000,l=32$1WdxAF1UChkYSTnJ6NDbKg$zxGEM53FY8GA0fV4augAeFIaoPbdia6Tni7yr77kdhg";
    static const char bcrypt_pepper[] = "$2b$10$c/EX8bTbEMfTn4oCvcQyBOR1zPyLmGzZ2pMXoElLASqv2qpq5X15i";
    static const char bcrypt[] = "$2b$10$mqjtwG6w3GawhuQQdwBCqOt0TQ0V4vGhB.tMuCZO8WL.ycBHkOLca";
    bool up;
    CHECK_INT(verify(&ca, 1, argon_pepper, "hunter2", &up), 0);
    CHECK_INT(verify(&can, 1, argon_pepper, "hunter2", &up), -EPERM); /* the pepper is required */
    CHECK_INT(verify(&can, 1, argon, "hunter2", &up), 0);
    CHECK_INT(verify(&ca, 1, argon, "hunter2", &up), -EPERM);
    CHECK_INT(verify(&can, 1, argon, "wrong-password", &up), -EPERM);
    CHECK_INT(verify(&cp, 1, pbkdf2_pepper, "hunter2", &up), 0);
    CHECK_INT(verify(&cpn, 1, pbkdf2_pepper, "hunter2", &up), -EPERM);
    CHECK_INT(verify(&cpn, 1, pbkdf2, "hunter2", &up), 0);
    CHECK_INT(verify(&cpn, 1, pbkdf2, "wrong-password", &up), -EPERM);
    CHECK_INT(verify(&cb, 1, bcrypt_pepper, "hunter2", &up), 0);
    CHECK_INT(verify(&cbn, 1, bcrypt_pepper, "hunter2", &up), -EPERM);
    CHECK_INT(verify(&cbn, 1, bcrypt, "hunter2", &up), 0);
    CHECK_INT(verify(&cbn, 1, bcrypt, "wrong-password", &up), -EPERM);
}

/* Made with pyca/bcrypt 3.2.2, the library Synapse uses, the way Synapse's auth handler does:
 * bcrypt.hashpw(NFKC(password).encode() + pepper.encode(), bcrypt.gensalt(12)). The password
 * has a ligature and a numero sign that NFKC turns into "fish & chips No1". */
static void test_synapse_bcrypt_upgrade(void)
{
    static const char synapse_hash[] = "$2b$12$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk6";
    static const char pw[] = "\xef\xac\x81sh & chips \xe2\x84\x96"
                             "1";
    struct config_password_scheme s[] = {scheme(2, PASSWORD_ARGON2ID, 0, NULL, false),
                                         scheme(1, PASSWORD_BCRYPT, 12, "synapse-pepper", true)};
    struct config_passwords cfg = passwords(s, 2);
    bool upgrade = false;
    unsigned version = 0;
    char *rehashed = NULL;
    CHECK_INT(verify(&cfg, 1, synapse_hash, pw, &upgrade), 0);
    CHECK(upgrade); /* version 1 is not the current scheme: re-hash on this login */
    CHECK_INT(verify(&cfg, 1, synapse_hash, "fish & chips No1", &upgrade), 0); /* NFKC */
    CHECK_INT(verify(&cfg, 1, synapse_hash, "fish & chips No2", &upgrade), -EPERM);
    CHECK(!upgrade);
    CHECK_INT(password_hash(&cfg, pw, strlen(pw), &rehashed, &version), 0);
    CHECK_INT(version, 2);
    CHECK(rehashed && strncmp(rehashed, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    CHECK_INT(verify(&cfg, 2, rehashed, pw, &upgrade), 0);
    CHECK(!upgrade);
    CHECK_INT(verify(&cfg, 1, rehashed, pw, &upgrade), -EINVAL); /* scheme 1 is bcrypt */
    CHECK_INT(verify(&cfg, 3, rehashed, pw, &upgrade), -ENOENT);
    /* without the pepper or without NFKC, Synapse's hash does not verify */
    s[1] = scheme(1, PASSWORD_BCRYPT, 12, NULL, true);
    CHECK_INT(verify(&cfg, 1, synapse_hash, pw, &upgrade), -EPERM);
    s[1] = scheme(1, PASSWORD_BCRYPT, 12, "synapse-pepper", false);
    CHECK_INT(verify(&cfg, 1, synapse_hash, pw, &upgrade), -EPERM);
    CHECK_INT(verify(&cfg, 1, synapse_hash, "fish & chips No1", &upgrade), 0);
    free(rehashed);
    /* older Synapses wrote $2a$ (pyca/bcrypt, prefix=b"2a"); PHP and htpasswd write $2y$: the
     * same algorithm, which MAS's bcrypt crate verifies too */
    s[1] = scheme(1, PASSWORD_BCRYPT, 12, NULL, false);
    CHECK_INT(
        verify(&cfg, 1, "$2a$05$83GtJ8vlxA.9hjoOgn7g4.z8LwOf3GEh9HAJVHxIBaeQdvun1hXHW", "hunter2", &upgrade),
        0);
    CHECK_INT(
        verify(&cfg, 1, "$2y$05$83GtJ8vlxA.9hjoOgn7g4.z8LwOf3GEh9HAJVHxIBaeQdvun1hXHW", "hunter2", &upgrade),
        0);
    CHECK_INT(
        verify(&cfg, 1, "$2y$05$83GtJ8vlxA.9hjoOgn7g4.z8LwOf3GEh9HAJVHxIBaeQdvun1hXHW", "hunter3", &upgrade),
        -EPERM);
}

static void test_bcrypt_round_trip(void)
{
    struct config_password_scheme s[] = {scheme(1, PASSWORD_BCRYPT, 4, "pepper", false)};
    struct config_passwords cfg = passwords(s, 1);
    char *h = NULL, long_pw[101];
    unsigned version;
    bool up;
    CHECK_INT(password_hash(&cfg, "hunter2", 7, &h, &version), 0);
    CHECK(h && strncmp(h, "$2b$04$", 7) == 0 && strlen(h) == 60);
    CHECK_INT(verify(&cfg, 1, h, "hunter2", &up), 0);
    CHECK_INT(verify(&cfg, 1, h, "hunter", &up), -EPERM);
    free(h);
    /* a NUL byte would cut crypt's C string short: refused, and never a match */
    CHECK_INT(password_hash(&cfg, "a\0b", 3, &h, &version), -EINVAL);
    CHECK(h == NULL);
    /* bcrypt reads 72 bytes (password + pepper), like every bcrypt */
    memset(long_pw, 'x', 100);
    long_pw[100] = '\0';
    CHECK_INT(password_hash(&cfg, long_pw, 100, &h, &version), 0);
    long_pw[90] = 'y';
    CHECK_INT(verify(&cfg, 1, h, long_pw, &up), 0);
    long_pw[71] = 'y';
    CHECK_INT(verify(&cfg, 1, h, long_pw, &up), -EPERM);
    free(h);
}

static void test_pbkdf2(void)
{
    struct config_password_scheme s[] = {scheme(1, PASSWORD_PBKDF2, 600000, NULL, false)};
    struct config_passwords cfg = passwords(s, 1);
    char *h = NULL;
    unsigned version;
    bool up;
    double t0 = now_ms();
    CHECK_INT(password_hash(&cfg, "hunter2", 7, &h, &version), 0);
    fprintf(stderr, "pbkdf2-sha256 600000 rounds: %.1f ms\n", now_ms() - t0);
    CHECK(h && strncmp(h, "$pbkdf2-sha256$i=600000,l=32$", 29) == 0 && strlen(h) == 29 + 22 + 1 + 43);
    CHECK_INT(verify(&cfg, 1, h, "hunter2", &up), 0);
    free(h);
    /* Python's hashlib.pbkdf2_hmac("sha512" and "sha256", "pässword".encode(), b"masd-salt", 1000, 32) */
    static const char sha512[] =
        "$pbkdf2-sha512$i=1000,l=32$bWFzZC1zYWx0$rSHfsL7NixxhULL7t9MCJC5XDWi+AMvwWJAU391snAw";
    CHECK_INT(verify(&cfg, 1, sha512, "p\xc3\xa4ssword", &up), 0);
    CHECK_INT(verify(&cfg, 1, sha512, "passwort", &up), -EPERM);
    CHECK_INT(verify(&cfg, 1,
                     "$pbkdf2-sha256$i=1000,l=32$bWFzZC1zYWx0$H7iQkKpPCK4t5DcTwIwR6IHcAAVOdZn4mFFbolXk4f4",
                     "p\xc3\xa4ssword", &up),
              0);
}

/* The same salt with and without a pepper gives different hashes, for every algorithm. */
static void test_pepper(void)
{
    static const unsigned char salt[16] = "0123456789abcdef";
    enum password_algorithm algs[] = {PASSWORD_ARGON2ID, PASSWORD_BCRYPT, PASSWORD_PBKDF2};
    unsigned costs[] = {0, 4, 1000};
    for (size_t i = 0; i < 3; i++) {
        struct config_password_scheme with[] = {scheme(1, algs[i], costs[i], "pepper", false)};
        struct config_password_scheme without[] = {scheme(1, algs[i], costs[i], NULL, false)};
        struct config_passwords cw = passwords(with, 1), co = passwords(without, 1);
        char *hw = NULL, *ho = NULL;
        unsigned v;
        bool up;
        CHECK_INT(password_hash_with_salt(&cw, "hunter2", 7, salt, 16, &hw, &v), 0);
        CHECK_INT(password_hash_with_salt(&co, "hunter2", 7, salt, 16, &ho, &v), 0);
        CHECK(hw && ho && strcmp(hw, ho) != 0);
        CHECK_INT(verify(&cw, 1, hw, "hunter2", &up), 0);
        CHECK_INT(verify(&co, 1, hw, "hunter2", &up), -EPERM);
        CHECK_INT(verify(&co, 1, ho, "hunter2", &up), 0);
        CHECK_INT(verify(&cw, 1, ho, "hunter2", &up), -EPERM);
        /* the pepper is appended for bcrypt and pbkdf2 (MAS), so it is not just more password */
        if (algs[i] != PASSWORD_ARGON2ID)
            CHECK_INT(verify(&co, 1, hw, "hunter2pepper", &up), 0);
        else
            CHECK_INT(verify(&co, 1, hw, "hunter2pepper", &up), -EPERM);
        free(hw);
        free(ho);
    }
}

static void test_unicode_normalization(void)
{
    static const unsigned char salt[16] = "0123456789abcdef";
    struct config_password_scheme on[] = {scheme(1, PASSWORD_ARGON2ID, 0, NULL, true)};
    struct config_password_scheme off[] = {scheme(1, PASSWORD_ARGON2ID, 0, NULL, false)};
    struct config_passwords con = passwords(on, 1), coff = passwords(off, 1);
    char *h_lig = NULL, *h_fi = NULL, *h_off = NULL;
    unsigned v;
    bool up;
    /* U+FB01 LATIN SMALL LIGATURE FI: NFKC makes it "fi" */
    CHECK_INT(password_hash_with_salt(&con, "\xef\xac\x81x", 4, salt, 16, &h_lig, &v), 0);
    CHECK_INT(password_hash_with_salt(&con, "fix", 3, salt, 16, &h_fi, &v), 0);
    CHECK_STR(h_lig, h_fi);
    CHECK_INT(verify(&con, 1, h_lig, "fix", &up), 0);
    CHECK_INT(verify(&con, 1, h_fi, "\xef\xac\x81x", &up), 0);
    CHECK_INT(password_hash_with_salt(&coff, "\xef\xac\x81x", 4, salt, 16, &h_off, &v), 0);
    CHECK(h_off && h_fi && strcmp(h_off, h_fi) != 0);
    CHECK_INT(verify(&coff, 1, h_off, "fix", &up), -EPERM);
    CHECK_INT(verify(&coff, 1, h_off, "\xef\xac\x81x", &up), 0);
    free(h_lig);
    free(h_fi);
    free(h_off);
    /* decomposed and precomposed e-acute are the same password under NFKC only */
    char *h = NULL;
    CHECK_INT(password_hash_with_salt(&con, "caf\xc3\xa9", 5, salt, 16, &h, &v), 0);
    CHECK_INT(verify(&con, 1, h, "cafe\xcc\x81", &up), 0);
    CHECK_INT(verify(&coff, 1, h, "cafe\xcc\x81", &up), -EPERM);
    free(h);
    /* not UTF-8: refused when hashing, never a match when verifying */
    CHECK_INT(password_hash_with_salt(&con, "\xff", 1, salt, 16, &h, &v), -EILSEQ);
    CHECK_INT(password_hash_with_salt(&coff, "a\xc3", 2, salt, 16, &h, &v), -EILSEQ);
    CHECK(h == NULL);
}

/* Runs the argon2 tool with MAS's parameters; the password goes through a file on stdin. */
static char *argon2_cli(const char *password, const char *salt)
{
    char in[] = "/tmp/masd-argon2-XXXXXX", cmd[256], line[512] = "";
    int fd = mkstemp(in);
    if (fd < 0)
        return NULL;
    ssize_t n = write(fd, password, strlen(password));
    close(fd);
    snprintf(cmd, sizeof(cmd), "argon2 '%s' -id -t 2 -k 19456 -p 1 -l 32 -e < %s", salt, in);
    FILE *p = n == (ssize_t)strlen(password) ? popen(cmd, "r") : NULL;
    if (p && !fgets(line, sizeof(line), p))
        line[0] = '\0';
    if (p)
        pclose(p);
    unlink(in);
    line[strcspn(line, "\n")] = '\0';
    return line[0] ? strdup(line) : NULL;
}

static void test_argon2_cli(void)
{
    struct config_password_scheme s[] = {scheme(1, PASSWORD_ARGON2ID, 0, NULL, false)};
    struct config_passwords cfg = passwords(s, 1);
    const char *pws[] = {"hunter2", "correct horse battery staple", "p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93"};
    const char *salts[] = {"somesalt", "0123456789abcdef", "a-much-longer-salt-of-32-bytes!!"};
    for (size_t i = 0; i < 3; i++) {
        char *ours = NULL, *theirs = argon2_cli(pws[i], salts[i]);
        unsigned v;
        bool up;
        CHECK(theirs != NULL); /* main() made sure the tool is there */
        CHECK_INT(password_hash_with_salt(&cfg, pws[i], strlen(pws[i]), (const unsigned char *)salts[i],
                                          strlen(salts[i]), &ours, &v),
                  0);
        CHECK_STR(ours, theirs); /* byte for byte the same PHC string */
        if (theirs) {
            CHECK_INT(verify(&cfg, 1, theirs, pws[i], &up), 0);
            CHECK_INT(verify(&cfg, 1, theirs, "not it", &up), -EPERM);
        }
        free(ours);
        free(theirs);
    }
}

static void test_upgrade_chain(void)
{
    struct config_password_scheme s[] = {scheme(3, PASSWORD_ARGON2ID, 0, MAS_PEPPER, false),
                                         scheme(2, PASSWORD_PBKDF2, 1000, NULL, false),
                                         scheme(1, PASSWORD_BCRYPT, 4, NULL, false)};
    struct config_passwords old = passwords(s + 2, 1), mid = passwords(s + 1, 2), cur = passwords(s, 3);
    char *h1 = NULL, *h2 = NULL, *h3 = NULL;
    unsigned v1 = 0, v2 = 0, v3 = 0;
    bool up;
    CHECK_INT(password_hash(&old, "hunter2", 7, &h1, &v1), 0);
    CHECK_INT(v1, 1);
    CHECK_INT(verify(&old, v1, h1, "hunter2", &up), 0);
    CHECK(!up);
    CHECK_INT(verify(&mid, v1, h1, "hunter2", &up), 0);
    CHECK(up);
    CHECK_INT(password_hash(&mid, "hunter2", 7, &h2, &v2), 0);
    CHECK_INT(v2, 2);
    CHECK_INT(verify(&cur, v1, h1, "hunter2", &up), 0);
    CHECK(up);
    CHECK_INT(verify(&cur, v2, h2, "hunter2", &up), 0);
    CHECK(up);
    CHECK_INT(verify(&cur, v2, h2, "hunter3", &up), -EPERM);
    CHECK(!up);
    CHECK_INT(password_hash(&cur, "hunter2", 7, &h3, &v3), 0);
    CHECK_INT(v3, 3);
    CHECK_INT(verify(&cur, v3, h3, "hunter2", &up), 0);
    CHECK(!up);
    free(h1);
    free(h2);
    free(h3);
}

static void test_garbage(void)
{
    struct config_password_scheme s[] = {scheme(3, PASSWORD_ARGON2ID, 0, NULL, false),
                                         scheme(2, PASSWORD_PBKDF2, 1000, NULL, false),
                                         scheme(1, PASSWORD_BCRYPT, 4, NULL, false)};
    struct config_passwords cfg = passwords(s, 3);
    static const char *garbage[] = {
        "",
        "$",
        "$$$$",
        "hunter2",
        "$argon2id",
        "$argon2id$",
        "$argon2id$v=19",
        "$argon2id$v=19$m=19456,t=2,p=1",
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$",
        "$argon2id$v=19$m=19456,t=2,p=1$$aGFzaGhhc2hoYXNo",
        "$argon2id$v=18$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=0,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=7,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=2,p=0$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=019456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,m=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=2,p=1,$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=2,x=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=2,p=1,keyid=AAAA$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=99999999999,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ=$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=2,p=1$c29t$aGFzaGhhc2hoYXNo",
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFz",
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHR$aGFzaGhhc2hoYXNo", /* non-canonical */
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo$",
        "$argon2x$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$pbkdf2-sha256$i=0,l=32$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$pbkdf2-sha256$i=1000,l=32$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", /* l does not match */
        "$pbkdf2-sha256$v=1$i=1000$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$pbkdf2-sha1$i=1000,l=10$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$pbkdf2-sha256$i=1000000000,l=10$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "$2b$12$",
        "$2b$12$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk",
        "$2b$12$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk6x",
        "$2b$03$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk6",
        "$2b$32$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk6",
        "$2x$04$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk6",
        "$2b$4a$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk6",
        "$2b$04$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOp!6",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(*garbage); i++)
        for (unsigned v = 1; v <= 3; v++) {
            bool up = true;
            int r = verify(&cfg, v, garbage[i], "hunter2", &up);
            if (r == 0 || r == -EPERM)
                fprintf(stderr, "  garbage hash %zu accepted: %s\n", i, garbage[i]);
            CHECK(r < 0 && r != -EPERM);
            CHECK(!up);
        }
    bool up;
    struct config_passwords off = cfg;
    off.enabled = false;
    char *h = NULL;
    unsigned v;
    CHECK_INT(password_hash(&off, "hunter2", 7, &h, &v), -EOPNOTSUPP);
    CHECK_INT(verify(&off, 3, "$2b$04$x", "hunter2", &up), -EOPNOTSUPP);
    CHECK_INT(password_check_complexity(&off, "correct horse battery staple"), -EOPNOTSUPP);
}

static void test_parse(void)
{
    struct password_hash_info info;
    CHECK_INT(password_hash_parse("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", &info), 0);
    CHECK_INT(info.algorithm, PASSWORD_ARGON2ID);
    CHECK_INT(info.m_cost, 19456);
    CHECK_INT(info.t_cost, 2);
    CHECK_INT(info.lanes, 1);
    CHECK_INT(info.argon2_version, 0x13);
    CHECK_INT(info.salt_len, 8);
    CHECK(memcmp(info.salt, "somesalt", 8) == 0);
    CHECK_INT(info.hash_len, 12);
    /* parameters left out take argon2's defaults, in any order, as the Rust crate reads them */
    CHECK_INT(password_hash_parse("$argon2i$p=2,m=64$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", &info), 0);
    CHECK_INT(info.m_cost, 64);
    CHECK_INT(info.t_cost, 2);
    CHECK_INT(info.lanes, 2);
    CHECK_INT(info.argon2_version, 0x13);
    CHECK_INT(password_hash_parse("$argon2d$v=16$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", &info), 0);
    CHECK_INT(info.argon2_version, 0x10);
    CHECK_INT(password_hash_parse("$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", &info),
              -ERANGE);
    CHECK_INT(password_hash_parse("$argon2id$v=19$m=1048576,t=9,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", &info),
              -ERANGE);
    CHECK_INT(password_hash_parse("$pbkdf2-sha256$i=600000,l=12$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", &info), 0);
    CHECK_INT(info.algorithm, PASSWORD_PBKDF2);
    CHECK_INT(info.prf, PASSWORD_PRF_SHA256);
    CHECK_INT(info.rounds, 600000);
    CHECK_INT(password_hash_parse("$pbkdf2-sha256$i=200000000,l=12$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", &info),
              -ERANGE);
    CHECK_INT(password_hash_parse("$2y$05$GBAmMKcZAA4.UpwlLADrtuZsSUSWAAE1L96WR6y2XCGm5qj5nOpk6", &info), 0);
    CHECK_INT(info.algorithm, PASSWORD_BCRYPT);
    CHECK_INT(info.rounds, 5);
}

static void test_complexity(void)
{
    struct config_password_scheme s[] = {scheme(1, PASSWORD_ARGON2ID, 0, NULL, false)};
    struct config_passwords cfg = passwords(s, 1);
    CHECK_INT(password_complexity(""), 0);
    CHECK_INT(password_complexity("password"), 0);
    CHECK_INT(password_complexity("123456"), 0);
    CHECK(password_complexity("qwertyuiop") <= 1); /* a keyboard row */
    CHECK(password_complexity("Tr0ub4dour&3") >= 2);
    CHECK_INT(password_complexity("correct horse battery staple"), 4);
    CHECK_INT(password_complexity("kV8#pz!Qe2@wL9"), 4);
    CHECK_INT(password_check_complexity(&cfg, "password"), -EPERM);
    CHECK_INT(password_check_complexity(&cfg, "correct horse battery staple"), 0);
    cfg.minimum_complexity = 0;
    CHECK_INT(password_check_complexity(&cfg, "password"), 0);
    /* a long password is scored in bounded time */
    char *big = malloc(1 << 20);
    memset(big, 'a', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    double t0 = now_ms();
    int score = password_complexity(big);
    fprintf(stderr, "zxcvbn on 1 MiB: score %d in %.1f ms\n", score, now_ms() - t0);
    CHECK(now_ms() - t0 < 5000);
    free(big);
}

static long rss_anon_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* argon2's 19 MiB are mapped for each hash and unmapped afterwards: the resident anonymous
 * memory after a hash is back where it was. */
static void test_memory_returned(void)
{
    struct config_password_scheme s[] = {scheme(1, PASSWORD_ARGON2ID, 0, NULL, false)};
    struct config_passwords cfg = passwords(s, 1);
    char *h = NULL;
    unsigned v;
    bool up;
    CHECK_INT(password_hash(&cfg, "warm-up", 7, &h, &v), 0);
    free(h);
    long before = rss_anon_kib();
    for (int i = 0; i < 3; i++) {
        CHECK_INT(password_hash(&cfg, "hunter2", 7, &h, &v), 0);
        CHECK_INT(verify(&cfg, 1, h, "hunter2", &up), 0);
        free(h);
    }
    long after = rss_anon_kib();
    fprintf(stderr, "RssAnon before %ld kB, after 3 hashes + 3 verifications %ld kB\n", before, after);
    CHECK(before > 0 && after > 0);
    CHECK(after - before < 2048); /* 19 MiB would stay if the memory came from malloc */
}

static void *hash_in_thread(void *arg)
{
    const struct config_passwords *cfg = arg;
    char *h = NULL;
    unsigned v;
    bool up = true;
    int r = password_hash(cfg, "hunter2", 7, &h, &v);
    if (r == 0)
        r = verify(cfg, v, h, "hunter2", &up);
    free(h);
    return (void *)(intptr_t)(r == 0 && !up);
}

static void test_threads(void)
{
    struct config_password_scheme s[] = {scheme(1, PASSWORD_ARGON2ID, 0, "pepper", true)};
    struct config_passwords cfg = passwords(s, 1);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, hash_in_thread, &cfg), 0);
    for (int i = 0; i < 4; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        CHECK(ok != NULL);
    }
}

/* The argon2 tool on PATH, as the shell would find it. */
static bool have_argon2_tool(void)
{
    const char *path = getenv("PATH");
    char dir[4096];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof(dir) - 8) {
            snprintf(dir, sizeof(dir), "%.*s/argon2", (int)n, path);
            if (access(dir, X_OK) == 0)
                return true;
        }
        path += n + (path[n] == ':');
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "argon2-cli") == 0) {
        if (!have_argon2_tool()) {
            fprintf(stderr, "the argon2 command-line tool is not installed (apt-get install argon2): "
                            "skipping the cross-check\n");
            return 77;
        }
        test_argon2_cli();
        return check_report(__FILE__);
    }
    test_argon2id_format();
    test_dummy_verify();
    test_mas_vectors();
    test_synapse_bcrypt_upgrade();
    test_bcrypt_round_trip();
    test_pbkdf2();
    test_pepper();
    test_unicode_normalization();
    test_upgrade_chain();
    test_garbage();
    test_parse();
    test_complexity();
    test_memory_returned();
    test_threads();
    return check_report(__FILE__);
}
