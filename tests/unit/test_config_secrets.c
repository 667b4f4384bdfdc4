/* The secrets section as config.yaml gives it: the encryption secret inline or from a file, the
 * signing keys in every encoding MAS accepts (one key, one thumbprint, whatever the encoding),
 * and every mistake reported at its line and column without ever showing the secret. Runs in
 * tests/unit (data/secrets/). */
#include "config_check.h"
#include "config.h"
#include "config_internal.h"
#include "secrets.h"
#include "str.h"
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define ENC_HEX  "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff"
#define ENC      "  encryption: " ENC_HEX "\n"
#define RSA_TP   "3E8P4-xQq7YpcfWEZxfrTznJ8WsCHAOYRfDcMF_WsHE"
#define P256_TP  "zgm00l8acxdMDJJEYt7zZozK4u2vBAY0L5djdc4gGkI"
#define P384_TP  "SxldqPedhnS1Vo6N9tEWvQOshbJiAHCSJNK7gBCoDDQ"
#define K256_TP  "FcFLWRnwnOc_5MN-lcWvQuYy8S70M66kI8N3PwxLcEg"
#define PASSWORD "masd-secrets-test"

static void check_encryption(const struct config *cfg, const char *hex)
{
    unsigned char want[32];
    for (size_t i = 0; i < 32; i++)
        want[i] = (unsigned char)(masd_hexval(hex[2 * i]) << 4 | masd_hexval(hex[2 * i + 1]));
    CHECK(cfg->has_encryption);
    CHECK(memcmp(cfg->encryption, want, 32) == 0);
}

static void test_encryption(void)
{
    struct config *cfg = load("secrets:\n" ENC);
    check_encryption(cfg, "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff");
    CHECK_INT(cfg->n_warnings, 0); /* implemented: no "not implemented" warning */
    CHECK_INT(cfg->n_keys, 0);
    config_free(cfg);
    cfg = load("secrets:\n  encryption: 0000111122223333444455556666777788889999AAAABBBBCCCCDDDDEEEEFFFF\n");
    check_encryption(cfg, "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff");
    config_free(cfg);
    /* the file as `openssl rand -hex 32 > file` writes it (trailing newline), and padded */
    cfg = load("secrets:\n  encryption_file: data/secrets/encryption.hex\n");
    check_encryption(cfg, "e119d5e3fdcd5b72eb718fa9e87c4a4b30978489ff2aad3940081d229840628f");
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    cfg = load("secrets:\n  encryption_file: data/secrets/encryption-padded.hex\n  encryption: ~\n");
    check_encryption(cfg, "e119d5e3fdcd5b72eb718fa9e87c4a4b30978489ff2aad3940081d229840628f");
    config_free(cfg);
    /* no secrets section: loads (masd-discovery needs none); the encrypting binaries refuse */
    cfg = load("");
    CHECK(!cfg->has_encryption);
    config_free(cfg);
}

static void test_encryption_errors(void)
{
    CHECK_ERROR("secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeefff\n",
                "config.yaml:2:15: secrets.encryption: expected 64 hexadecimal digits (32 bytes), found 63 "
                "characters");
    CHECK_ERROR(
        "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff00\n",
        "config.yaml:2:15: secrets.encryption: expected 64 hexadecimal digits (32 bytes), found 66 "
        "characters");
    CHECK_ERROR("secrets:\n  encryption: 00001111222233334444555566667777888899g9aaaabbbbccccddddeeeeffff\n",
                "config.yaml:2:15: secrets.encryption: character 39 is not a hexadecimal digit (expected 64 "
                "hexadecimal digits, 32 bytes)");
    CHECK_ERROR(
        "secrets:\n  encryption: \"0x00111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\"\n",
        "config.yaml:2:15: secrets.encryption: character 2 is not a hexadecimal digit (expected 64 "
        "hexadecimal digits, 32 bytes)");
    CHECK_ERROR("secrets:\n  encryption: [1]\n", "config.yaml:2:15: secrets.encryption: expected a string");
    CHECK_ERROR("secrets:\n" ENC "  encryption_file: data/secrets/encryption.hex\n",
                "config.yaml:3:3: secrets: set either encryption or encryption_file, not both");
    CHECK_ERROR("secrets:\n  encryption_file: data/secrets/encryption.hex\n" ENC,
                "config.yaml:3:3: secrets: set either encryption or encryption_file, not both");
    CHECK_ERROR("secrets:\n  keys: []\n",
                "config.yaml:2:3: secrets: encryption or encryption_file is required");
    CHECK_ERROR("secrets: {}\n", "config.yaml:1:10: secrets: encryption or encryption_file is required");
    CHECK_ERROR("secrets:\n  encryption: ~\n  encryption_file: ~\n",
                "config.yaml:2:3: secrets: encryption or encryption_file is required");
    CHECK_ERROR("secrets:\n  encryption_file: data/secrets/encryption-short.hex\n",
                "config.yaml:2:20: secrets.encryption_file: 'data/secrets/encryption-short.hex': expected 64 "
                "hexadecimal digits (32 bytes), found 62 characters");
    CHECK_ERROR(
        "secrets:\n  encryption_file: data/secrets/encryption-not-hex.hex\n",
        "config.yaml:2:20: secrets.encryption_file: 'data/secrets/encryption-not-hex.hex': character 64 "
        "is not a hexadecimal digit (expected 64 hexadecimal digits, 32 bytes)");
    CHECK_ERROR(
        "secrets:\n  encryption_file: data/secrets/missing.hex\n",
        "config.yaml:2:20: secrets.encryption_file: cannot read 'data/secrets/missing.hex': No such file "
        "or directory");
    CHECK_ERROR("secrets:\n  encryption_file: data/secrets\n",
                "config.yaml:2:20: secrets.encryption_file: cannot read 'data/secrets': Is a directory");
    /* a key error comes first, in document order of the checks: keys, then the secret */
    CHECK_ERROR("secrets:\n  keys: [{key_file: data/secrets/not-a-key.txt}]\n",
                "config.yaml:2:21: secrets.keys[0].key_file: 'data/secrets/not-a-key.txt': cannot use the "
                "private key: not a PEM or DER private key (PKCS#1, PKCS#8 or SEC1)");
}

/* Every message about a wrong secret leaves the secret out. */
static void test_errors_hide_the_secret(void)
{
    static const char *const yaml[] = {
        "secrets:\n  encryption: 9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1\n",
        "secrets:\n  encryption: 9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0zz\n",
        "secrets:\n  encryption: 9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2bxyz\n",
    };
    for (size_t i = 0; i < sizeof(yaml) / sizeof(yaml[0]); i++) {
        struct config *cfg = NULL;
        char *err = NULL;
        CHECK(config_load_buffer("config.yaml", yaml[i], strlen(yaml[i]), &cfg, &err) < 0);
        CHECK(err && !strstr(err, "9f8e7d6c") && !strstr(err, "c2b1"));
        free(err);
    }
}

/* One key in each encoding MAS accepts: one thumbprint, and it is the kid when none is set. */
static void test_same_key_any_encoding(void)
{
    struct config *cfg =
        load("secrets:\n" ENC "  keys:\n"
             "    - key_file: data/secrets/rsa-pkcs1.pem\n"
             "    - key_file: data/secrets/rsa-pkcs8.pem\n"
             "    - key_file: data/secrets/rsa-pkcs1.der\n"
             "    - key_file: data/secrets/rsa-pkcs8.der\n"
             "    - {key_file: data/secrets/rsa-pkcs8-encrypted.pem, password: " PASSWORD "}\n"
             "    - key_file: data/secrets/rsa-pkcs8-encrypted.der\n"
             "      password_file: data/secrets/password.txt\n"
             "    - {kid: mine, key_file: data/secrets/rsa-pkcs1.pem}\n"
             "    - key_file: data/secrets/ec-p256-sec1.pem\n"
             "    - key_file: data/secrets/ec-p256-pkcs8.pem\n"
             "    - key_file: data/secrets/ec-p256-sec1.der\n"
             "    - key_file: data/secrets/ec-p256-compressed.pem\n"
             "    - {key_file: data/secrets/ec-p256-pkcs8-encrypted.pem, password: " PASSWORD "}\n");
    if (!cfg)
        return;
    CHECK_INT(cfg->n_keys, 12);
    for (size_t i = 0; i < cfg->n_keys; i++) {
        const struct config_key *k = &cfg->keys[i];
        bool rsa = i < 7;
        CHECK_INT(k->family, rsa ? KEY_RSA : KEY_EC_P256);
        CHECK_STR(k->thumbprint, rsa ? RSA_TP : P256_TP);
        CHECK(k->pkey != NULL);
        if (i == 6) {
            CHECK_STR(k->kid, "mine");
            CHECK_STR(config_key_id(k), "mine");
        } else {
            CHECK(k->kid == NULL);
            CHECK_STR(config_key_id(k), k->thumbprint);
        }
    }
    config_free(cfg);
}

/* The decoded private key is kept and usable: it signs, and its signature verifies. */
static void test_keys_are_kept(void)
{
    struct config *cfg =
        load("secrets:\n" ENC "  keys:\n    - key_file: data/secrets/ec-secp256k1-pkcs8.pem\n");
    if (!cfg)
        return;
    EVP_PKEY *pkey = cfg->keys[0].pkey;
    unsigned char sig[128];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    CHECK(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1);
    CHECK(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)"payload", 7) == 1);
    CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1);
    CHECK(EVP_DigestVerify(md, sig, siglen, (const unsigned char *)"payload", 7) == 1);
    EVP_MD_CTX_free(md);
    config_free(cfg);
}

static void test_families(void)
{
    struct config *cfg = load("secrets:\n" ENC "  keys_dir: data/secrets/keys\n  keys:\n"
                              "    - key_file: data/secrets/ec-p384-pkcs8.der\n"
                              "    - key_file: data/secrets/ec-secp256k1-sec1.pem\n"
                              "    - {kid: k1, key_file: data/secrets/ec-secp256k1-pkcs8.pem}\n");
    if (!cfg)
        return;
    static const enum key_family fam[] = {KEY_RSA, KEY_EC_P384, KEY_EC_P384, KEY_EC_SECP256K1,
                                          KEY_EC_SECP256K1};
    static const char *const tp[] = {RSA_TP, P384_TP, P384_TP, K256_TP, K256_TP};
    CHECK_INT(cfg->n_keys, 5); /* keys_dir first (a-rsa.pem, b-p384.pem; subdir skipped), then keys */
    for (size_t i = 0; i < cfg->n_keys && i < 5; i++) {
        CHECK_INT(cfg->keys[i].family, fam[i]);
        CHECK_STR(cfg->keys[i].thumbprint, tp[i]);
    }
    CHECK_STR(config_key_id(&cfg->keys[4]), "k1");
    config_free(cfg);
}

static void test_key_errors(void)
{
    CHECK_ERROR(
        "secrets:\n" ENC "  keys:\n    - {key_file: data/secrets/rsa-pkcs8-encrypted.pem, password: nope}\n",
        "config.yaml:4:18: secrets.keys[0].key_file: 'data/secrets/rsa-pkcs8-encrypted.pem': cannot use "
        "the private key: wrong password");
    CHECK_ERROR(
        "secrets:\n" ENC "  keys:\n    - key_file: data/secrets/rsa-pkcs8-encrypted.der\n"
        "      password_file: data/secrets/encryption.hex\n",
        "config.yaml:4:17: secrets.keys[0].key_file: 'data/secrets/rsa-pkcs8-encrypted.der': cannot use "
        "the private key: wrong password");
    CHECK_ERROR(
        "secrets:\n" ENC "  keys:\n    - key_file: data/secrets/ec-p256-pkcs8-encrypted.pem\n",
        "config.yaml:4:17: secrets.keys[0].key_file: 'data/secrets/ec-p256-pkcs8-encrypted.pem': cannot "
        "use the private key: the key is encrypted: set password or password_file");
    CHECK_ERROR("secrets:\n" ENC
                "  keys:\n    - {key_file: data/secrets/ec-p256-sec1.pem, password: " PASSWORD "}\n",
                "config.yaml:4:18: secrets.keys[0].key_file: 'data/secrets/ec-p256-sec1.pem': cannot use the "
                "private key: a password is set but the key is not encrypted");
    CHECK_ERROR(
        "secrets:\n" ENC "  keys:\n    - key_file: data/secrets/not-a-key.txt\n",
        "config.yaml:4:17: secrets.keys[0].key_file: 'data/secrets/not-a-key.txt': cannot use the private "
        "key: not a PEM or DER private key (PKCS#1, PKCS#8 or SEC1)");
    CHECK_ERROR(
        "secrets:\n" ENC "  keys:\n    - key_file: data/secrets/rsa-public.pem\n",
        "config.yaml:4:17: secrets.keys[0].key_file: 'data/secrets/rsa-public.pem': cannot use the private "
        "key: not a PEM or DER private key (PKCS#1, PKCS#8 or SEC1)");
    CHECK_ERROR(
        "secrets:\n" ENC
        "  keys:\n    - key: \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"\n",
        "config.yaml:4:12: secrets.keys[0].key: cannot use the private key: not a PEM or DER private key "
        "(PKCS#1, PKCS#8 or SEC1)");
    CHECK_ERROR(
        "secrets:\n" ENC "  keys:\n    - key_file: data/secrets/ed25519.pem\n",
        "config.yaml:4:17: secrets.keys[0].key_file: 'data/secrets/ed25519.pem': unsupported key type "
        "ED25519 (expected RSA, or EC on P-256, P-384 or secp256k1)");
    CHECK_ERROR(
        "secrets:\n" ENC "  keys_dir: data/secrets/keys-encrypted\n",
        "config.yaml:3:13: secrets.keys_dir: 'data/secrets/keys-encrypted/rsa-pkcs8-encrypted.pem': cannot "
        "use the private key: the key is encrypted, which keys_dir does not support: list it under "
        "secrets.keys with password or password_file");
    /* a configured kid that is another key's thumbprint would make the JWKS ambiguous */
    CHECK_ERROR(
        "secrets:\n" ENC "  keys:\n    - {kid: " P256_TP ", key_file: data/secrets/rsa-pkcs1.pem}\n"
        "    - key_file: data/secrets/ec-p256-sec1.pem\n",
        "config.yaml:5:17: secrets.keys[1].key_file: 'data/secrets/ec-p256-sec1.pem': key ID '" P256_TP
        "' is already used by another key");
    CHECK_ERROR("secrets:\n" ENC "  keys:\n    - {kid: a, key_file: data/secrets/rsa-pkcs1.pem}\n"
                "    - {kid: a, key_file: data/secrets/rsa-pkcs8.pem}\n",
                "config.yaml:5:13: secrets.keys[1].kid: kid 'a' is already used by another key");
    /* the same key twice is harmless: one public key, one ID */
    struct config *cfg = load("secrets:\n" ENC "  keys:\n    - key_file: data/secrets/rsa-pkcs1.pem\n"
                              "    - key_file: data/secrets/rsa-pkcs8.der\n");
    CHECK_INT(cfg ? cfg->n_keys : 0, 2);
    config_free(cfg);
}

/* matrix: the shared secret inline (verbatim) or from a file (trimmed, as MAS and Synapse); the
 * kinds masd speaks; synapse_legacy refused with the way out. */
static void test_matrix(void)
{
    struct config *cfg = load("matrix:\n  secret: ' inline '\n");
    if (cfg) {
        CHECK_INT(cfg->matrix.secret_len, 8);
        CHECK(memcmp(cfg->matrix.secret, " inline ", 8) == 0);
        CHECK_STR(cfg->matrix.kind, "synapse");
        CHECK_STR(cfg->matrix.endpoint, "http://localhost:8008/");
    }
    config_free(cfg);
    cfg = load("matrix:\n  kind: synapse_read_only\n  secret_file: data/matrix/secret-padded.txt\n");
    if (cfg) {
        CHECK_INT(cfg->matrix.secret_len, 16);
        CHECK(memcmp(cfg->matrix.secret, "s3cret-from-file", 16) == 0);
        CHECK_STR(cfg->matrix.kind, "synapse_read_only");
    }
    config_free(cfg);
    CHECK_ERROR(
        "matrix:\n  kind: synapse_legacy\n",
        "config.yaml:2:9: matrix.kind: synapse_legacy (Synapse's admin API) is not supported by masd: "
        "it needs Synapse's MSC3861 mode, removed in Synapse 1.157; use synapse (Synapse >= 1.136 with "
        "matrix_authentication_service enabled)");
    CHECK_ERROR(
        "matrix:\n  kind: dendrite\n",
        "config.yaml:2:9: matrix.kind: 'dendrite': expected synapse, synapse_modern or synapse_read_only");
    CHECK_ERROR("matrix:\n  secret: a\n  secret_file: data/matrix/secret-padded.txt\n",
                "config.yaml:3:3: matrix: set either secret or secret_file, not both");
    CHECK_ERROR("matrix:\n  endpoint: ftp://hs/\n",
                "config.yaml:2:13: matrix.endpoint: expected an http:// or https:// URL");
}

static struct config *load_flags(const char *name, unsigned flags, const char *yaml)
{
    struct config *cfg = NULL;
    char *err = NULL;
    int r = config_load_buffer_flags(name, flags, yaml, strlen(yaml), &cfg, &err);
    if (r < 0)
        fprintf(stderr, "unexpected error: %s\n", err);
    CHECK_INT(r, 0);
    free(err);
    return cfg;
}

/* Every secret in a file nobody can read (it does not exist): the stateless services load it
 * with CONFIG_NO_SECRETS, open none of the files, and still know the keys' families; a loader
 * that reads the secrets refuses it. */
static const char UNREADABLE[] =
    "secrets:\n  encryption_file: /nonexistent/encryption\n  keys:\n"
    "    - {kid: a, type: RSA, key_file: /nonexistent/a.pem}\n"
    "    - {kid: b, type: p-256, key_file: /nonexistent/b.pem, password_file: /nonexistent/pw}\n"
    "    - {kid: c, type: secp256k1, key: not even a key}\n"
    "matrix:\n  secret_file: /nonexistent/matrix\n"
    "database:\n  host: db\n  password_file: /nonexistent/db\n"
    "passwords:\n  schemes:\n    - {version: 1, algorithm: argon2id, secret_file: /nonexistent/pepper}\n"
    "clients:\n  - client_id: 01H8PKNWKKRPCBW4YGH1RWV279\n    client_auth_method: client_secret_basic\n"
    "    client_secret_file: /nonexistent/client\n";

static void test_no_secrets(void)
{
    struct config *cfg = load_flags("config.yaml", CONFIG_NO_SECRETS, UNREADABLE);
    CHECK(!cfg->has_encryption);
    CHECK_INT(cfg->n_keys, 3);
    CHECK(cfg->n_keys == 3 && cfg->keys[0].family == KEY_RSA && cfg->keys[1].family == KEY_EC_P256 &&
          cfg->keys[2].family == KEY_EC_SECP256K1);
    CHECK(cfg->n_keys == 3 && !cfg->keys[0].pkey && !cfg->keys[1].pkey && !cfg->keys[2].pkey);
    CHECK_STR(cfg->n_keys ? config_key_id(&cfg->keys[0]) : NULL, "a");
    CHECK(cfg->matrix.secret == NULL);
    CHECK(cfg->database.password == NULL);
    CHECK(cfg->passwords.n_schemes == 1 && cfg->passwords.schemes[0].secret == NULL);
    CHECK(cfg->n_clients == 1 && cfg->clients[0].client_secret == NULL);
    config_free(cfg);
    CHECK_ERROR(UNREADABLE,
                "config.yaml:4:37: secrets.keys[0].key_file: cannot read '/nonexistent/a.pem': No such file "
                "or directory");
    /* A key without type is still read, to learn its family. */
    cfg = load_flags("config.yaml", CONFIG_NO_SECRETS,
                     "secrets:\n  encryption_file: /nonexistent/e\n  keys:\n"
                     "    - {key_file: data/secrets/ec-p384-sec1.pem}\n");
    CHECK(cfg->n_keys == 1 && cfg->keys[0].family == KEY_EC_P384 && cfg->keys[0].pkey);
    config_free(cfg);
    /* Still checked without reading: the pairs, the type's spelling. */
    struct config *bad = NULL;
    char *err = NULL;
    static const char both[] = "secrets:\n  encryption: " ENC_HEX "\n  keys:\n"
                               "    - {type: RSA, key: a, key_file: b}\n";
    CHECK(config_load_buffer_flags("config.yaml", CONFIG_NO_SECRETS, both, strlen(both), &bad, &err) < 0);
    CHECK_STR(err, "config.yaml:4:27: secrets.keys[0]: set either key or key_file, not both");
    free(err);
    static const char badtype[] = "secrets:\n  encryption: " ENC_HEX "\n  keys:\n"
                                  "    - {type: Ed25519, key_file: b}\n";
    CHECK(config_load_buffer_flags("config.yaml", CONFIG_NO_SECRETS, badtype, strlen(badtype), &bad, &err) <
          0);
    CHECK_STR(err,
              "config.yaml:4:14: secrets.keys[0].type: 'Ed25519': expected RSA, P-256, P-384 or secp256k1");
    free(err);
}

/* A loader that reads the key checks its type. */
static void test_key_type_checked(void)
{
    struct config *cfg =
        load("secrets:\n" ENC "  keys:\n    - {type: P-384, key_file: data/secrets/ec-p384-sec1.pem}\n");
    CHECK(cfg->n_keys == 1 && cfg->keys[0].family == KEY_EC_P384 && cfg->keys[0].pkey);
    config_free(cfg);
    CHECK_ERROR("secrets:\n" ENC "  keys:\n    - {type: RSA, key_file: data/secrets/ec-p384-sec1.pem}\n",
                "config.yaml:4:14: secrets.keys[0].type: the key is P-384, not RSA");
}

/* Relative file names are taken from the config file's directory, not the working directory. */
static void test_relative_to_config(void)
{
    struct config *cfg = load_flags("data/secrets/config.yaml", 0,
                                    "secrets:\n  encryption_file: encryption.hex\n  keys:\n"
                                    "    - {key_file: ec-p384-sec1.pem}\n  keys_dir: keys\n");
    check_encryption(cfg, "e119d5e3fdcd5b72eb718fa9e87c4a4b30978489ff2aad3940081d229840628f");
    CHECK(cfg->n_keys >= 1 && cfg->keys[cfg->n_keys - 1].family == KEY_EC_P384);
    config_free(cfg);
    struct config *bad = NULL;
    char *err = NULL;
    static const char missing[] = "secrets:\n  encryption_file: missing.hex\n";
    CHECK(config_load_buffer_flags("data/secrets/config.yaml", 0, missing, strlen(missing), &bad, &err) < 0);
    CHECK_STR(err, "data/secrets/config.yaml:2:20: secrets.encryption_file: cannot read 'missing.hex' "
                   "(data/secrets/missing.hex): No such file or directory");
    free(err);
}

int main(void)
{
    test_matrix();
    test_encryption();
    test_encryption_errors();
    test_errors_hide_the_secret();
    test_same_key_any_encoding();
    test_keys_are_kept();
    test_families();
    test_key_errors();
    test_no_secrets();
    test_key_type_checked();
    test_relative_to_config();
    return check_report(__FILE__);
}
