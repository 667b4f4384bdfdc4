/* The secrets section: secrets.encryption (or encryption_file) and the signing keys
 * (secrets.keys_dir, secrets.keys). Private keys (also TLS keys) are decoded with OpenSSL 3 from
 * PEM or DER, PKCS#1, PKCS#8 or SEC1, PKCS#8 encrypted with a password. Each signing key is kept
 * decoded, with its family (discovery lists the signing algorithms) and its RFC 7638 thumbprint
 * (the kid when none is configured, as in MAS). */
#include "config_internal.h"
#include "jwk.h"
#include "str.h"
#include <dirent.h>
#include <errno.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct passphrase {
    const char *password;
    bool asked;
};

static int passphrase_cb(char *buf, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
    struct passphrase *p = arg;
    p->asked = true;
    size_t n = p->password ? strlen(p->password) : 0;
    if (!p->password || n > size)
        return 0;
    memcpy(buf, p->password, n);
    *len = n;
    return 1;
}

int config_decode_private_key(const char *data, size_t len, const char *password, EVP_PKEY **out,
                              const char **why)
{
    EVP_PKEY *pkey = NULL;
    struct passphrase pass = {password, false};
    *out = NULL;
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, NULL, NULL, NULL, OSSL_KEYMGMT_SELECT_PRIVATE_KEY, NULL, NULL);
    if (!dctx) {
        *why = "out of memory";
        return -ENOMEM;
    }
    OSSL_DECODER_CTX_set_passphrase_cb(dctx, passphrase_cb, &pass);
    const unsigned char *p = (const unsigned char *)data;
    size_t left = len;
    int ok = len > 0 && OSSL_DECODER_from_data(dctx, &p, &left) == 1 && pkey;
    OSSL_DECODER_CTX_free(dctx);
    ERR_clear_error();
    if (!ok)
        *why = !pass.asked ? "not a PEM or DER private key (PKCS#1, PKCS#8 or SEC1)"
               : password  ? "wrong password"
                           : "the key is encrypted: set password or password_file";
    else if (password && !pass.asked)
        *why = "a password is set but the key is not encrypted", ok = 0;
    if (!ok) {
        EVP_PKEY_free(pkey);
        return -EINVAL;
    }
    *out = pkey;
    return 0;
}

int config_key_family(EVP_PKEY *pkey, enum key_family *out, char *desc, size_t size)
{
    char group[80] = "";
    size_t glen = 0;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        *out = KEY_RSA;
        return 0;
    }
    if (EVP_PKEY_is_a(pkey, "EC") && EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1) {
        int nid = OBJ_sn2nid(group);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(group);
        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp256k1) {
            *out = nid == NID_X9_62_prime256v1 ? KEY_EC_P256
                   : nid == NID_secp384r1      ? KEY_EC_P384
                                               : KEY_EC_SECP256K1;
            return 0;
        }
    }
    ERR_clear_error();
    const char *type = EVP_PKEY_get0_type_name(pkey);
    snprintf(desc, size, "%s%s%s", type ? type : "unknown", group[0] ? " on curve " : "", group);
    return -EOPNOTSUPP;
}

void key_material_clear(struct key_material *km)
{
    if (km->data)
        OPENSSL_cleanse(km->data, km->len);
    if (km->password)
        OPENSSL_cleanse(km->password, strlen(km->password));
    free(km->data);
    free(km->password);
    EVP_PKEY_free(km->pkey);
    *km = (struct key_material){0};
}

/* Reads `inline_key` or `file_key` of map (exactly one is set: checked by the caller). */
static int read_value_or_file(struct config_loader *ld, const struct ynode *map, const char *path,
                              const char *inline_key, const char *file_key, char **data, size_t *len,
                              const struct ynode **at, bool *from_file)
{
    char p[CONFIG_PATH_MAX], *file = NULL;
    const struct ynode *v = ynode_get(map, inline_key, NULL);
    *from_file = !v || ynode_is_null(v);
    config_subpath(p, path, *from_file ? file_key : inline_key);
    if (*from_file)
        v = ynode_get(map, file_key, NULL);
    *at = v;
    int r = config_get_string(ld, v, p, *from_file ? &file : data);
    if (r < 0 || !*from_file) {
        *len = *data ? strlen(*data) : 0;
        return r;
    }
    r = config_read_file(ld, v, p, file, data, len);
    free(file);
    return r;
}

static int decode_with_password(struct key_material *km, bool password_from_file, const char **why)
{
    int r = config_decode_private_key(km->data, km->len, km->password, &km->pkey, why);
    size_t n = km->password ? strlen(km->password) : 0;
    /* MAS uses a password file's bytes as they are; `echo secret > file` adds a newline that
     * nobody meant as part of the password, so that is tried too. */
    if (r == -EINVAL && password_from_file && n > 0 && km->password[n - 1] == '\n') {
        char saved = km->password[n - 1];
        km->password[--n] = '\0';
        if (n > 0 && km->password[n - 1] == '\r')
            km->password[--n] = '\0';
        const char *why2;
        if (config_decode_private_key(km->data, km->len, km->password, &km->pkey, &why2) == 0)
            return 0;
        km->password[n] = saved; /* report the first failure, on the password as given */
    }
    return r;
}

int config_key_material(struct config_loader *ld, const struct ynode *map, const char *path,
                        struct key_material *km)
{
    const struct ynode *pat;
    bool key_from_file, password_from_file = false;
    size_t plen = 0;
    const char *why;
    int r;
    if ((r = config_one_of(ld, map, path, "key", "key_file", true)) < 0 ||
        (r = config_one_of(ld, map, path, "password", "password_file", false)) < 0)
        return r;
    if ((r = read_value_or_file(ld, map, path, "key", "key_file", &km->data, &km->len, &km->at,
                                &key_from_file)) < 0)
        return r;
    const struct ynode *pv = ynode_get(map, "password", NULL), *pf = ynode_get(map, "password_file", NULL);
    if ((pv && !ynode_is_null(pv)) || (pf && !ynode_is_null(pf))) {
        r = read_value_or_file(ld, map, path, "password", "password_file", &km->password, &plen, &pat,
                               &password_from_file);
        if (r < 0)
            return r;
        if (strlen(km->password) != plen)
            return config_error(ld, pat, -EINVAL, "%s.password_file: the password contains a NUL byte", path);
    }
    char shown[96];
    config_quote_bytes(km->at->str, km->at->len, shown, sizeof(shown));
    if (key_from_file)
        snprintf(km->what, sizeof(km->what), "%s.key_file: '%s'", path, shown);
    else
        snprintf(km->what, sizeof(km->what), "%s.key", path);
    if ((r = decode_with_password(km, password_from_file, &why)) < 0)
        return config_error(ld, km->at, r, "%s: cannot use the private key: %s", km->what, why);
    return 0;
}

/* A JWKS whose kids repeat for different keys leaves a verifier guessing (RFC 7517 §4.5). The
 * same key listed twice is harmless: either entry verifies the same signatures. */
static int check_key_id(struct config_loader *ld, const struct ynode *at, const char *what,
                        const struct config_key *key)
{
    const char *id = config_key_id(key);
    for (size_t i = 0; i < ld->cfg->n_keys; i++) {
        const struct config_key *k = &ld->cfg->keys[i];
        if (strcmp(config_key_id(k), id) == 0 && strcmp(k->thumbprint, key->thumbprint) != 0) {
            char shown[96];
            config_quote_bytes(id, strlen(id), shown, sizeof(shown));
            return config_error(ld, at, -EINVAL, "%s: key ID '%s' is already used by another key", what,
                                shown);
        }
    }
    return 0;
}

/* Appends the key, taking *pkey and *kid. */
static int add_key(struct config_loader *ld, const struct ynode *at, const char *what, EVP_PKEY **pkey,
                   char **kid)
{
    struct config *cfg = ld->cfg;
    struct config_key key = {.kid = *kid, .pkey = *pkey};
    char desc[128];
    if (config_key_family(key.pkey, &key.family, desc, sizeof(desc)) < 0)
        return config_error(ld, at, -EINVAL,
                            "%s: unsupported key type %s (expected RSA, or EC on P-256, P-384 or secp256k1)",
                            what, desc);
    int r = key_thumbprint(key.pkey, key.thumbprint);
    if (r < 0)
        return config_error(ld, at, r, "%s: cannot compute the key's thumbprint: %s", what, strerror(-r));
    if ((r = check_key_id(ld, at, what, &key)) < 0)
        return r;
    struct config_key *keys = realloc(cfg->keys, (cfg->n_keys + 1) * sizeof(*keys));
    if (!keys)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    cfg->keys = keys;
    cfg->keys[cfg->n_keys++] = key;
    *kid = NULL;
    *pkey = NULL;
    return 0;
}

static const struct {
    const char *name;
    enum key_family family;
} key_types[] = {
    {"RSA", KEY_RSA}, {"P-256", KEY_EC_P256}, {"P-384", KEY_EC_P384}, {"secp256k1", KEY_EC_SECP256K1}};

static const char *key_type_name(enum key_family f)
{
    for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
        if (key_types[i].family == f)
            return key_types[i].name;
    return "?";
}

/* Our key `type` (RSA, P-256, P-384, secp256k1: JWK's kty/crv names): the family of a key,
 * written down so that a service that must not read the key (masd-discovery, which lists the
 * signing algorithms) knows it. Whoever reads the key checks that it matches. */
static int parse_key_type(struct config_loader *ld, const struct ynode *v, const char *path,
                          enum key_family *out)
{
    char p[CONFIG_PATH_MAX], *s = NULL, shown[96];
    int r = config_get_string(ld, v, config_subpath(p, path, "type"), &s);
    for (size_t i = 0; r >= 0 && i < sizeof(key_types) / sizeof(key_types[0]); i++)
        if (strcasecmp(s, key_types[i].name) == 0) {
            *out = key_types[i].family;
            free(s);
            return 0;
        }
    free(s);
    if (r < 0)
        return r;
    config_quote(v, shown, sizeof(shown));
    return config_error(ld, v, -EINVAL, "%s: '%s': expected RSA, P-256, P-384 or secp256k1", p, shown);
}

/* CONFIG_NO_SECRETS with a `type`: the key is named, never read. */
static int add_unread_key(struct config_loader *ld, const struct ynode *n, const char *path,
                          enum key_family family, char **kid)
{
    struct config *cfg = ld->cfg;
    int r;
    if ((r = config_one_of(ld, n, path, "key", "key_file", true)) < 0 ||
        (r = config_one_of(ld, n, path, "password", "password_file", false)) < 0)
        return r;
    struct config_key *keys = realloc(cfg->keys, (cfg->n_keys + 1) * sizeof(*keys));
    if (!keys)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    cfg->keys = keys;
    cfg->keys[cfg->n_keys++] = (struct config_key){.kid = *kid, .family = family};
    *kid = NULL;
    return 0;
}

static int parse_key_item(struct config_loader *ld, const struct ynode *n, size_t index)
{
    char path[CONFIG_PATH_MAX], p[CONFIG_PATH_MAX], *kid = NULL, shown[96];
    struct key_material km = {0};
    const struct ynode *kv = ynode_get(n, "kid", NULL);
    snprintf(path, sizeof(path), "secrets.keys[%zu]", index);
    config_subpath(p, path, "kid");
    int r = config_expect_mapping(ld, n, path, false);
    if (r >= 0)
        r = config_get_string_or_null(ld, kv, p, &kid);
    for (size_t i = 0; r >= 0 && kid && i < ld->cfg->n_keys; i++)
        if (ld->cfg->keys[i].kid && strcmp(ld->cfg->keys[i].kid, kid) == 0) {
            config_quote(kv, shown, sizeof(shown));
            r = config_error(ld, kv, -EINVAL, "%s: kid '%s' is already used by another key", p, shown);
        }
    const struct ynode *tv = r >= 0 ? ynode_get(n, "type", NULL) : NULL;
    enum key_family family = KEY_RSA;
    bool typed = tv && !ynode_is_null(tv);
    if (typed && (r = parse_key_type(ld, tv, path, &family)) >= 0 && (ld->flags & CONFIG_NO_SECRETS)) {
        r = add_unread_key(ld, n, path, family, &kid);
        free(kid);
        return r;
    }
    if (r >= 0)
        r = config_key_material(ld, n, path, &km);
    if (r >= 0)
        r = add_key(ld, km.at, km.what, &km.pkey, &kid);
    if (r >= 0 && typed && ld->cfg->keys[ld->cfg->n_keys - 1].family != family)
        r = config_error(ld, tv, -EINVAL, "%s: the key is %s, not %s", config_subpath(p, path, "type"),
                         key_type_name(ld->cfg->keys[ld->cfg->n_keys - 1].family), key_type_name(family));
    key_material_clear(&km);
    free(kid);
    return r;
}

static int load_dir_entry(struct config_loader *ld, const struct ynode *at, const char *dir, const char *name)
{
    char *file = NULL, *data = NULL, what[CONFIG_PATH_MAX + 100], shown[96], *kid = NULL;
    size_t len = 0;
    struct stat st;
    EVP_PKEY *pkey = NULL;
    const char *why;
    int r = asprintf(&file, "%s/%s", dir, name) < 0 ? -ENOMEM : 0;
    if (r < 0)
        return config_error(ld, NULL, r, "out of memory");
    config_quote_bytes(file, strlen(file), shown, sizeof(shown));
    snprintf(what, sizeof(what), "secrets.keys_dir: '%s'", shown);
    if (stat(file, &st) < 0 || !S_ISREG(st.st_mode)) { /* as MAS: regular files only */
        free(file);
        return 0;
    }
    if ((r = read_small_file(file, &data, &len)) < 0)
        r = config_error(ld, at, r, "%s: cannot read: %s", what, strerror(-r));
    else if ((r = config_decode_private_key(data, len, NULL, &pkey, &why)) < 0) {
        if (strncmp(why, "the key is encrypted", 20) == 0) /* keys_dir has no password (as in MAS) */
            why = "the key is encrypted, which keys_dir does not support: list it under secrets.keys "
                  "with password or password_file";
        r = config_error(ld, at, r, "%s: cannot use the private key: %s", what, why);
    } else
        r = add_key(ld, at, what, &pkey, &kid);
    EVP_PKEY_free(pkey);
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    free(file);
    return r;
}

/* Every regular file of keys_dir is a key without password whose kid is derived (RFC 7638
 * thumbprint) by its user. Sorted by name, so kids come out in a stable order. */
static int load_keys_dir(struct config_loader *ld, const struct ynode *v)
{
    char *dir = NULL, shown[96];
    struct dirent **names = NULL;
    int r = config_get_string(ld, v, "secrets.keys_dir", &dir);
    if (r < 0)
        return r;
    char *full = config_file_name(ld, dir);
    free(dir);
    if (!(dir = full))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        r = -errno;
        config_quote(v, shown, sizeof(shown));
        config_error(ld, v, r, "secrets.keys_dir: cannot read directory '%s': %s", shown, strerror(-r));
    }
    for (int i = 0; i < n; i++) {
        if (r >= 0 && strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
            r = load_dir_entry(ld, v, dir, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    free(dir);
    return r;
}

/* 64 hexadecimal digits (either case, as MAS's hex decoding) into 32 bytes. Messages never
 * show the value: it is the secret. */
static int decode_encryption(struct config_loader *ld, const struct ynode *at, const char *what,
                             const char *s, size_t len)
{
    unsigned char *out = ld->cfg->encryption;
    if (len != 2 * SECRETS_ENCRYPTION_LEN)
        return config_error(ld, at, -EINVAL,
                            "%s: expected 64 hexadecimal digits (32 bytes), found %zu characters", what, len);
    for (size_t i = 0; i < len; i += 2) {
        int hi = masd_hexval(s[i]), lo = masd_hexval(s[i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(out, SECRETS_ENCRYPTION_LEN);
            return config_error(ld, at, -EINVAL,
                                "%s: character %zu is not a hexadecimal digit (expected 64 hexadecimal "
                                "digits, 32 bytes)",
                                what, i + (hi < 0 ? 1 : 2));
        }
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    ld->cfg->has_encryption = true;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* secrets.encryption, or secrets.encryption_file whose contents are trimmed of surrounding
 * whitespace (MAS takes the bytes as they are and so rejects the newline `openssl rand -hex 32
 * > file` writes; accepting it is a strict superset). */
static int parse_encryption(struct config_loader *ld, const struct ynode *secrets)
{
    const struct ynode *at;
    char *data = NULL, what[CONFIG_PATH_MAX + 100], shown[96];
    size_t len = 0;
    bool from_file;
    int r = config_one_of(ld, secrets, "secrets", "encryption", "encryption_file", true);
    if (r < 0)
        return r;
    const struct ynode *fv = ynode_get(secrets, "encryption_file", NULL);
    if ((ld->flags & CONFIG_NO_SECRETS) && fv && !ynode_is_null(fv)) { /* named, not read */
        r = config_get_string(ld, fv, "secrets.encryption_file", &data);
        free(data);
        return r;
    }
    r = read_value_or_file(ld, secrets, "secrets", "encryption", "encryption_file", &data, &len, &at,
                           &from_file);
    if (r < 0)
        goto out;
    const char *s = data, *end = data + len;
    snprintf(what, sizeof(what), "secrets.encryption");
    if (from_file) {
        config_quote(at, shown, sizeof(shown));
        snprintf(what, sizeof(what), "secrets.encryption_file: '%s'", shown);
        while (s < end && is_blank(*s))
            s++;
        while (end > s && is_blank(end[-1]))
            end--;
    }
    r = decode_encryption(ld, at, what, s, (size_t)(end - s));
out:
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return r;
}

int config_secrets_parse(struct config_loader *ld, const struct ynode *secrets)
{
    int r = config_expect_mapping(ld, secrets, "secrets", true);
    if (r < 0)
        return r;
    const struct ynode *dir = ynode_get(secrets, "keys_dir", NULL);
    if (dir && !ynode_is_null(dir) && (r = load_keys_dir(ld, dir)) < 0)
        return r;
    const struct ynode *keys = ynode_get(secrets, "keys", NULL);
    if (keys && !ynode_is_null(keys)) {
        if ((r = config_expect_sequence(ld, keys, "secrets.keys")) < 0)
            return r;
        for (size_t i = 0; i < keys->n_items; i++)
            if ((r = parse_key_item(ld, keys->items[i], i)) < 0)
                return r;
    }
    return parse_encryption(ld, secrets);
}

void config_secrets_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_keys; i++) {
        free(cfg->keys[i].kid);
        EVP_PKEY_free(cfg->keys[i].pkey);
    }
    free(cfg->keys);
    cfg->keys = NULL;
    cfg->n_keys = 0;
    OPENSSL_cleanse(cfg->encryption, sizeof(cfg->encryption));
    cfg->has_encryption = false;
}
