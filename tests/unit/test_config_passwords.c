/* The passwords section as MAS reads it (crates/config/src/sections/passwords.rs): its defaults,
 * every key of a scheme, secrets inline and from files, and every error with its exact line and
 * column. Runs in tests/unit (data/). */
#include "config_check.h"
#include "config.h"
#include "passwords.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A temporary file holding len bytes; the caller unlinks and frees the name. */
static char *temp_file(const char *data, size_t len)
{
    char *name = strdup("/tmp/masd-pepper-XXXXXX");
    int fd = name ? mkstemp(name) : -1;
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_INT(write(fd, data, len), (long long)len);
        close(fd);
    }
    return name;
}

static void check_default_scheme(const struct config_passwords *pw)
{
    CHECK(pw->enabled);
    CHECK_INT(pw->minimum_complexity, 3);
    CHECK_INT(pw->n_schemes, 1);
    if (pw->n_schemes != 1)
        return;
    CHECK_INT(pw->schemes[0].version, 1);
    CHECK_INT(pw->schemes[0].algorithm, PASSWORD_ARGON2ID);
    CHECK_INT(pw->schemes[0].cost, 0);
    CHECK(pw->schemes[0].secret == NULL);
    CHECK(!pw->schemes[0].unicode_normalization);
}

static void test_defaults(void)
{
    const char *docs[] = {"", "passwords:\n", "passwords: {}\n", "passwords:\n  enabled: true\n",
                          "passwords:\n  schemes: ~\n  minimum_complexity: ~\n"};
    for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
        struct config *cfg = load(docs[i]);
        if (!cfg)
            continue;
        check_default_scheme(&cfg->passwords);
        CHECK_INT(cfg->n_warnings, 0); /* passwords keys are implemented: no warning */
        config_free(cfg);
    }
}

static void test_schemes(void)
{
    struct config *cfg = load("passwords:\n"
                              "  enabled: true\n"
                              "  minimum_complexity: 0\n"
                              "  schemes:\n"
                              "    - version: 1\n"
                              "      algorithm: bcrypt\n"
                              "      unicode_normalization: true\n"
                              "      secret: synapse-pepper\n"
                              "    - version: 3\n"
                              "      algorithm: argon2id\n"
                              "      secret_file: data/password.txt\n"
                              "    - {version: 2, algorithm: pbkdf2, cost: 700000}\n"
                              "    - {version: 0, algorithm: bcrypt, cost: 4}\n");
    if (!cfg)
        return;
    const struct config_passwords *pw = &cfg->passwords;
    CHECK(pw->enabled);
    CHECK_INT(pw->minimum_complexity, 0);
    CHECK_INT(pw->n_schemes, 4);
    CHECK_INT(cfg->n_warnings, 0);
    if (pw->n_schemes == 4) {
        const struct config_password_scheme *s = pw->schemes; /* highest version first */
        CHECK_INT(s[0].version, 3);
        CHECK_INT(s[0].algorithm, PASSWORD_ARGON2ID);
        CHECK_INT(s[0].cost, 0);
        /* a secret file's bytes exactly, newline included, as MAS hashed with them */
        CHECK_INT(s[0].secret_len, 19);
        CHECK(s[0].secret && memcmp(s[0].secret, "masd-test-password\n", 19) == 0);
        CHECK(!s[0].unicode_normalization);
        CHECK_INT(s[0].pos.line, 9);
        CHECK_INT(s[0].pos.column, 7);
        CHECK_INT(s[1].version, 2);
        CHECK_INT(s[1].algorithm, PASSWORD_PBKDF2);
        CHECK_INT(s[1].cost, 700000);
        CHECK(s[1].secret == NULL);
        CHECK_INT(s[2].version, 1);
        CHECK_INT(s[2].algorithm, PASSWORD_BCRYPT);
        CHECK_INT(s[2].cost, 12); /* MAS's default bcrypt cost */
        CHECK_INT(s[2].secret_len, 14);
        CHECK(s[2].secret && memcmp(s[2].secret, "synapse-pepper", 14) == 0);
        CHECK(s[2].unicode_normalization);
        CHECK_INT(s[3].version, 0);
        CHECK_INT(s[3].cost, 4);
    }
    config_free(cfg);

    cfg = load("passwords:\n  schemes:\n    - version: 65535\n      algorithm: pbkdf2\n"
               "      cost: ~\n      secret: ~\n      secret_file: ~\n      unicode_normalization: ~\n");
    if (cfg && cfg->passwords.n_schemes == 1) {
        CHECK_INT(cfg->passwords.schemes[0].version, 65535);
        CHECK_INT(cfg->passwords.schemes[0].cost, PASSWORD_PBKDF2_ROUNDS_DEFAULT);
        CHECK(cfg->passwords.schemes[0].secret == NULL);
    }
    config_free(cfg);
}

/* What loads in MAS loads here, with a warning where MAS silently ignores a value. */
static void test_warnings(void)
{
    struct config *cfg = load("passwords:\n  schemes:\n    - version: 1\n      algorithm: argon2id\n"
                              "      cost: 12\n");
    if (cfg) {
        CHECK_INT(cfg->n_warnings, 1);
        if (cfg->n_warnings == 1)
            CHECK_STR(cfg->warnings[0], "config.yaml:5:7: passwords.schemes[0].cost has no effect with "
                                        "argon2id and is ignored (as in MAS)");
        CHECK_INT(cfg->passwords.schemes[0].cost, 0);
    }
    config_free(cfg);
    cfg = load("passwords:\n  schemes:\n    - {version: 1, algorithm: pbkdf2, cost: 100000}\n");
    if (cfg) {
        CHECK_INT(cfg->n_warnings, 1);
        if (cfg->n_warnings == 1)
            CHECK_STR(cfg->warnings[0],
                      "config.yaml:3:39: passwords.schemes[0].cost: 100000 pbkdf2 iterations "
                      "is fewer than the 600000 that MAS uses");
        CHECK_INT(cfg->passwords.schemes[0].cost, 100000);
    }
    config_free(cfg);
}

/* Disabled: MAS only deserialises the schemes (types), without its checks or reading files. */
static void test_disabled(void)
{
    const char *docs[] = {
        "passwords:\n  enabled: false\n",
        "passwords:\n  enabled: false\n  schemes: []\n",
        ("passwords:\n  enabled: false\n  schemes:\n    - {version: 1, algorithm: bcrypt}\n"
         "    - {version: 1, algorithm: argon2id, secret: a, secret_file: data/missing}\n"),
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
        struct config *cfg = load(docs[i]);
        if (!cfg)
            continue;
        CHECK(!cfg->passwords.enabled);
        CHECK_INT(cfg->passwords.n_schemes, 0);
        config_free(cfg);
    }
    CHECK_ERROR("passwords:\n  enabled: false\n  schemes:\n    - {version: 1, algorithm: md5}\n",
                "config.yaml:4:31: passwords.schemes[0].algorithm: unknown algorithm 'md5' (expected "
                "argon2id, bcrypt or pbkdf2)");
}

static void test_errors(void)
{
    CHECK_ERROR("passwords: [1]\n", "config.yaml:1:12: passwords: expected a mapping, found a list");
    CHECK_ERROR("passwords:\n  enabled: maybe\n", "config.yaml:2:12: passwords.enabled: expected a boolean");
    CHECK_ERROR("passwords:\n  minimum_complexity: 5\n",
                "config.yaml:2:23: passwords.minimum_complexity: 5 is out of range (0 to 4)");
    CHECK_ERROR("passwords:\n  minimum_complexity: high\n",
                "config.yaml:2:23: passwords.minimum_complexity: expected an integer");
    CHECK_ERROR("passwords:\n  schemes: {version: 1}\n",
                "config.yaml:2:12: passwords.schemes: expected a list, found a mapping");
    CHECK_ERROR("passwords:\n  schemes: []\n", "config.yaml:2:12: passwords.schemes: at least one hashing "
                                               "scheme is required while passwords are enabled");
    CHECK_ERROR("passwords:\n  schemes: [argon2id]\n",
                "config.yaml:2:13: passwords.schemes[0]: expected a mapping, found a scalar");
    CHECK_ERROR("passwords:\n  schemes:\n    - algorithm: argon2id\n",
                "config.yaml:3:7: passwords.schemes[0]: version is required");
    CHECK_ERROR("passwords:\n  schemes:\n    - version: 1\n",
                "config.yaml:3:7: passwords.schemes[0]: algorithm is required (argon2id, bcrypt or pbkdf2)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 65536, algorithm: bcrypt}\n",
                "config.yaml:3:17: passwords.schemes[0].version: 65536 is out of range (0 to 65535)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: -1, algorithm: bcrypt}\n",
                "config.yaml:3:17: passwords.schemes[0].version: -1 is out of range (0 to 65535)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: Argon2id}\n",
                "config.yaml:3:31: passwords.schemes[0].algorithm: unknown algorithm 'Argon2id' (expected "
                "argon2id, bcrypt or pbkdf2)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: [bcrypt]}\n",
                "config.yaml:3:31: passwords.schemes[0].algorithm: expected argon2id, bcrypt or pbkdf2");
    CHECK_ERROR(
        "passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt}\n    - {version: 2, algorithm: "
        "argon2id}\n    - {version: 1, algorithm: pbkdf2}\n",
        "config.yaml:5:17: passwords.schemes[2].version: 1 is already the version of "
        "passwords.schemes[0]");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, cost: 3}\n",
                "config.yaml:3:45: passwords.schemes[0].cost: 3 is out of range (4 to 31)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, cost: 32}\n",
                "config.yaml:3:45: passwords.schemes[0].cost: 32 is out of range (4 to 31)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: pbkdf2, cost: 12}\n",
                "config.yaml:3:45: passwords.schemes[0].cost: 12 is out of range (1000 to 100000000)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: argon2id, cost: -1}\n",
                "config.yaml:3:47: passwords.schemes[0].cost: -1 is out of range (0 to 4294967295)");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, unicode_normalization: 1}\n",
                "config.yaml:3:62: passwords.schemes[0].unicode_normalization: expected a boolean");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, secret: [a]}\n",
                "config.yaml:3:47: passwords.schemes[0].secret: expected a string");
    CHECK_ERROR("passwords:\n  schemes:\n    - version: 1\n      algorithm: bcrypt\n      secret: a\n"
                "      secret_file: data/password.txt\n",
                "config.yaml:6:7: passwords.schemes[0]: set either secret or secret_file, not both");
    CHECK_ERROR(
        "passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, secret_file: data/missing}\n",
        "config.yaml:3:52: passwords.schemes[0].secret_file: cannot read 'data/missing': No such file "
        "or directory");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, secret_file: data}\n",
                "config.yaml:3:52: passwords.schemes[0].secret_file: cannot read 'data': Is a directory");
    CHECK_ERROR("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, rounds: 12}\n",
                "config.yaml:3:39: unknown key 'passwords.schemes[0].rounds'");
    CHECK_ERROR("passwords:\n  pepper: x\n", "config.yaml:2:3: unknown key 'passwords.pepper'");
}

/* A binary pepper is fine for argon2id and pbkdf2; bcrypt reads C strings and cannot use it. */
static void test_binary_secret_file(void)
{
    char *file = temp_file("pe\0per", 6), yaml[512], expected[512];
    snprintf(yaml, sizeof(yaml),
             "passwords:\n  schemes:\n    - {version: 1, algorithm: pbkdf2, secret_file: %s}\n", file);
    struct config *cfg = load(yaml);
    if (cfg && cfg->passwords.n_schemes == 1) {
        CHECK_INT(cfg->passwords.schemes[0].secret_len, 6);
        CHECK(memcmp(cfg->passwords.schemes[0].secret, "pe\0per", 6) == 0);
    }
    config_free(cfg);
    snprintf(yaml, sizeof(yaml),
             "passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, secret_file: %s}\n", file);
    snprintf(expected, sizeof(expected),
             "config.yaml:3:52: passwords.schemes[0].secret_file: bcrypt cannot use a secret that contains a "
             "NUL byte");
    CHECK_ERROR(yaml, expected);
    unlink(file);
    free(file);
}

/* The loaded schemes drive hashing: the current one is the highest version. */
static void test_hash_with_loaded_config(void)
{
    struct config *cfg = load("passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, cost: 4}\n"
                              "    - {version: 2, algorithm: argon2id, secret: pepper}\n");
    if (!cfg)
        return;
    char *hash = NULL;
    unsigned version = 0;
    bool upgrade = true;
    CHECK_INT(password_hash(&cfg->passwords, "hunter2", 7, &hash, &version), 0);
    CHECK_INT(version, 2);
    CHECK(hash && strncmp(hash, "$argon2id$", 10) == 0);
    CHECK_INT(password_verify(&cfg->passwords, 2, hash, "hunter2", 7, &upgrade), 0);
    CHECK(!upgrade);
    free(hash);
    config_free(cfg);
}

int main(void)
{
    test_defaults();
    test_schemes();
    test_warnings();
    test_disabled();
    test_errors();
    test_binary_secret_file();
    test_hash_with_loaded_config();
    return check_report(__FILE__);
}
