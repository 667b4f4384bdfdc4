/* The passwords section (MAS: crates/config/src/sections/passwords.rs): enabled,
 * minimum_complexity and the hashing schemes, with MAS's defaults (one scheme, version 1,
 * argon2id). A scheme's secret_file is read here, once, as MAS reads it at start-up. */
#include "config_internal.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* MAS validates schemes (none, or secret and secret_file together) and reads secret files only
 * when passwords are enabled; a disabled section is only type-checked, as serde does. */
struct scheme_ctx {
    struct config_loader *ld;
    const struct ynode *item;
    char path[CONFIG_PATH_MAX];
    bool enabled;
};

static int parse_algorithm(struct scheme_ctx *c, struct config_password_scheme *s)
{
    char p[CONFIG_PATH_MAX], shown[96];
    const struct ynode *v = ynode_get(c->item, "algorithm", NULL);
    const char *name;
    if (!v)
        return config_error(c->ld, c->item, -EINVAL, "%s: algorithm is required (argon2id, bcrypt or pbkdf2)",
                            c->path);
    config_subpath(p, c->path, "algorithm");
    if (ynode_string(v, &name) < 0)
        return config_error(c->ld, v, -EINVAL, "%s: expected argon2id, bcrypt or pbkdf2", p);
    if (strcmp(name, "argon2id") == 0)
        s->algorithm = PASSWORD_ARGON2ID;
    else if (strcmp(name, "bcrypt") == 0)
        s->algorithm = PASSWORD_BCRYPT;
    else if (strcmp(name, "pbkdf2") == 0)
        s->algorithm = PASSWORD_PBKDF2;
    else {
        config_quote(v, shown, sizeof(shown));
        return config_error(c->ld, v, -EINVAL,
                            "%s: unknown algorithm '%s' (expected argon2id, bcrypt or pbkdf2)", p, shown);
    }
    return 0;
}

/* bcrypt: the cost, as in MAS. pbkdf2: the iteration count; MAS ignores cost there and always
 * uses the pbkdf2 crate's 600000, so below that we warn. argon2id: MAS ignores cost (its
 * parameters are fixed), so we accept it with a warning rather than refuse a MAS config. */
static int parse_cost(struct scheme_ctx *c, struct config_password_scheme *s)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *key, *v = ynode_get(c->item, "cost", &key);
    long long cost;
    int r;
    config_subpath(p, c->path, "cost");
    s->cost = s->algorithm == PASSWORD_BCRYPT   ? PASSWORD_BCRYPT_COST_DEFAULT
              : s->algorithm == PASSWORD_PBKDF2 ? PASSWORD_PBKDF2_ROUNDS_DEFAULT
                                                : 0;
    if (!v || ynode_is_null(v))
        return 0;
    if (s->algorithm == PASSWORD_ARGON2ID) {
        if ((r = config_get_int(c->ld, v, p, 0, UINT32_MAX, &cost)) < 0)
            return r;
        return config_warning(c->ld, key, "%s has no effect with argon2id and is ignored (as in MAS)", p);
    }
    if (s->algorithm == PASSWORD_BCRYPT)
        r = config_get_int(c->ld, v, p, PASSWORD_BCRYPT_COST_MIN, PASSWORD_BCRYPT_COST_MAX, &cost);
    else
        r = config_get_int(c->ld, v, p, PASSWORD_PBKDF2_ROUNDS_MIN, PASSWORD_PBKDF2_ROUNDS_MAX, &cost);
    if (r < 0)
        return r;
    s->cost = (unsigned)cost;
    if (s->algorithm == PASSWORD_PBKDF2 && s->cost < PASSWORD_PBKDF2_ROUNDS_DEFAULT)
        return config_warning(c->ld, key, "%s: %u pbkdf2 iterations is fewer than the %u that MAS uses", p,
                              s->cost, PASSWORD_PBKDF2_ROUNDS_DEFAULT);
    return 0;
}

/* The pepper: secret as UTF-8 bytes, or secret_file's bytes exactly as they are (a trailing
 * newline included), because MAS hashed with exactly those bytes. */
static int parse_secret(struct scheme_ctx *c, struct config_password_scheme *s)
{
    char p[CONFIG_PATH_MAX], *data;
    size_t len;
    const struct ynode *where;
    int r = config_get_secret(c->ld, c->item, c->path, "secret", c->enabled, &data, &len, &where);
    if (r >= 0 && data && s->algorithm == PASSWORD_BCRYPT && memchr(data, '\0', len))
        r = config_error(c->ld, where, -EINVAL, "%s: bcrypt cannot use a secret that contains a NUL byte",
                         config_subpath(p, c->path, "secret_file"));
    if (r >= 0 && data) {
        s->secret = (unsigned char *)data, s->secret_len = len;
        return r;
    }
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return r;
}

static int parse_scheme(struct config_loader *ld, const struct ynode *item, size_t index, bool enabled,
                        struct config_password_scheme *s)
{
    struct scheme_ctx c = {.ld = ld, .item = item, .enabled = enabled};
    char p[CONFIG_PATH_MAX];
    const struct ynode *v;
    long long version;
    int r;
    config_itempath(c.path, "passwords", "schemes", index);
    if ((r = config_expect_mapping(ld, item, c.path, false)) < 0)
        return r;
    s->pos = (struct config_pos){item->line, item->column};
    if (!(v = ynode_get(item, "version", NULL)))
        return config_error(ld, item, -EINVAL, "%s: version is required", c.path);
    if ((r = config_get_int(ld, v, config_subpath(p, c.path, "version"), 0, UINT16_MAX, &version)) < 0)
        return r;
    s->version = (unsigned)version;
    if ((r = parse_algorithm(&c, s)) < 0 || (r = parse_cost(&c, s)) < 0)
        return r;
    if ((v = ynode_get(item, "unicode_normalization", NULL)) && !ynode_is_null(v) &&
        (r = config_get_bool(ld, v, config_subpath(p, c.path, "unicode_normalization"),
                             &s->unicode_normalization)) < 0)
        return r;
    return parse_secret(&c, s);
}

static int by_version_desc(const void *a, const void *b)
{
    const struct config_password_scheme *x = a, *y = b;
    return x->version < y->version ? 1 : x->version > y->version ? -1 : 0;
}

/* Versions are unique (MAS refuses duplicates when it loads the schemes). */
static int check_unique_versions(struct config_loader *ld, const struct ynode *list)
{
    const struct config_passwords *pw = &ld->cfg->passwords;
    for (size_t i = 1; i < pw->n_schemes; i++)
        for (size_t j = 0; j < i; j++)
            if (pw->schemes[i].version == pw->schemes[j].version)
                return config_error(ld, ynode_get(list->items[i], "version", NULL), -EINVAL,
                                    "passwords.schemes[%zu].version: %u is already the version of "
                                    "passwords.schemes[%zu]",
                                    i, pw->schemes[i].version, j);
    return 0;
}

static int parse_schemes(struct config_loader *ld, const struct ynode *list)
{
    struct config_passwords *pw = &ld->cfg->passwords;
    int r = config_expect_sequence(ld, list, "passwords.schemes");
    if (r < 0)
        return r;
    if (list->n_items == 0 && pw->enabled)
        return config_error(
            ld, list, -EINVAL,
            "passwords.schemes: at least one hashing scheme is required while passwords are enabled");
    pw->schemes = calloc(list->n_items ? list->n_items : 1, sizeof(*pw->schemes));
    if (!pw->schemes)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n_items; i++) {
        r = parse_scheme(ld, list->items[i], i, pw->enabled, &pw->schemes[i]);
        pw->n_schemes++; /* freed by config_free even when half parsed */
        if (r < 0)
            return r;
    }
    if (pw->enabled && (r = check_unique_versions(ld, list)) < 0)
        return r;
    qsort(pw->schemes, pw->n_schemes, sizeof(*pw->schemes), by_version_desc);
    return 0;
}

static int parse_section(struct config_loader *ld, const struct ynode *section)
{
    struct config_passwords *pw = &ld->cfg->passwords;
    const struct ynode *v;
    long long n;
    int r = config_expect_mapping(ld, section, "passwords", true);
    if (r < 0)
        return r;
    if ((v = ynode_get(section, "enabled", NULL)) && !ynode_is_null(v) &&
        (r = config_get_bool(ld, v, "passwords.enabled", &pw->enabled)) < 0)
        return r;
    if ((v = ynode_get(section, "minimum_complexity", NULL)) && !ynode_is_null(v)) {
        if ((r = config_get_int(ld, v, "passwords.minimum_complexity", 0, 4, &n)) < 0)
            return r;
        pw->minimum_complexity = (unsigned)n;
    }
    if ((v = ynode_get(section, "schemes", NULL)) && !ynode_is_null(v))
        return parse_schemes(ld, v);
    return 1; /* no schemes given: the default one */
}

int config_passwords_parse(struct config_loader *ld, const struct ynode *section)
{
    struct config_passwords *pw = &ld->cfg->passwords;
    *pw = (struct config_passwords){.enabled = true, .minimum_complexity = 3};
    int r = section && !ynode_is_null(section) ? parse_section(ld, section) : 1;
    if (r < 0)
        return r;
    if (r > 0) { /* MAS's default_schemes(): version 1, argon2id, no pepper */
        if (!(pw->schemes = calloc(1, sizeof(*pw->schemes))))
            return config_error(ld, NULL, -ENOMEM, "out of memory");
        pw->schemes[0] = (struct config_password_scheme){.version = 1, .algorithm = PASSWORD_ARGON2ID};
        pw->n_schemes = 1;
    }
    if (!pw->enabled) /* nothing may hash or verify; the schemes were only checked */
        config_passwords_free(pw);
    return 0;
}

void config_passwords_free(struct config_passwords *pw)
{
    for (size_t i = 0; i < pw->n_schemes; i++) {
        if (pw->schemes[i].secret)
            OPENSSL_cleanse(pw->schemes[i].secret, pw->schemes[i].secret_len);
        free(pw->schemes[i].secret);
    }
    free(pw->schemes);
    pw->schemes = NULL;
    pw->n_schemes = 0;
}
