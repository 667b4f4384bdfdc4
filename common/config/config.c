/* Loading config.yaml: YAML into a tree, every key checked against the table of MAS keys, then
 * each implemented section parsed into struct config. */
#include "config.h"
#include "config_internal.h"
#include "config_keys.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config file bigger than this is a mistake (MAS's full generated config is ~10 KiB). */
#define CONFIG_YAML_MAX (16u << 20)

static char *vformat_at(const struct config_loader *ld, const struct ynode *at, const char *fmt, va_list ap)
{
    char *msg = NULL, *full = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        return NULL;
    int n = at ? asprintf(&full, "%s:%u:%u: %s", ld->name, at->line, at->column, msg)
               : asprintf(&full, "%s: %s", ld->name, msg);
    free(msg);
    return n < 0 ? NULL : full;
}

void config_quote_bytes(const char *s, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o >= 64) {
            while (o > 0 && ((unsigned char)buf[o - 1] & 0xC0) == 0x80)
                o--; /* do not cut a UTF-8 sequence */
            if (o > 0 && ((unsigned char)buf[o - 1] & 0x80))
                o--;
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
}

void config_quote(const struct ynode *n, char *buf, size_t size)
{
    config_quote_bytes(n->kind == YNODE_SCALAR ? n->str : "", n->kind == YNODE_SCALAR ? n->len : 0, buf,
                       size);
}

char *config_subpath(char *buf, const char *path, const char *key)
{
    snprintf(buf, CONFIG_PATH_MAX, "%s.%s", path, key);
    return buf;
}

char *config_itempath(char *buf, const char *path, const char *key, size_t index)
{
    snprintf(buf, CONFIG_PATH_MAX, "%s.%s[%zu]", path, key, index);
    return buf;
}

int config_error(struct config_loader *ld, const struct ynode *at, int r, const char *fmt, ...)
{
    if (ld->error)
        return r;
    va_list ap;
    va_start(ap, fmt);
    ld->error = vformat_at(ld, at, fmt, ap);
    va_end(ap);
    return r;
}

int config_warning(struct config_loader *ld, const struct ynode *at, const char *fmt, ...)
{
    struct config *cfg = ld->cfg;
    char **w = realloc(cfg->warnings, (cfg->n_warnings + 1) * sizeof(*w));
    if (!w)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    cfg->warnings = w;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat_at(ld, at, fmt, ap);
    va_end(ap);
    if (!msg)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    cfg->warnings[cfg->n_warnings++] = msg;
    return 0;
}

int config_get_bool(struct config_loader *ld, const struct ynode *n, const char *path, bool *out)
{
    if (ynode_bool(n, out) < 0)
        return config_error(ld, n, -EINVAL, "%s: expected a boolean", path);
    return 0;
}

int config_get_string(struct config_loader *ld, const struct ynode *n, const char *path, char **out)
{
    const char *s;
    *out = NULL;
    if (ynode_string(n, &s) < 0)
        return config_error(ld, n, -EINVAL, "%s: expected a string", path);
    *out = strdup(s);
    return *out ? 0 : config_error(ld, n, -ENOMEM, "out of memory");
}

int config_get_string_or_null(struct config_loader *ld, const struct ynode *n, const char *path, char **out)
{
    *out = NULL;
    if (!n || ynode_is_null(n))
        return 0;
    return config_get_string(ld, n, path, out);
}

int config_get_int(struct config_loader *ld, const struct ynode *n, const char *path, long long min,
                   long long max, long long *out)
{
    int r = ynode_int(n, min, max, out);
    if (r == -ERANGE)
        return config_error(ld, n, -EINVAL, "%s: %s is out of range (%lld to %lld)", path, n->str, min, max);
    if (r < 0)
        return config_error(ld, n, -EINVAL, "%s: expected an integer", path);
    return 0;
}

/* YAML 1.2 core schema float, finite forms only: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
 * (.inf and .nan have no JSON form and stay strings). */
static bool yaml_float(const struct ynode *n, double *out)
{
    const char *p = n->str, *end = n->str + n->len;
    if (p < end && (*p == '-' || *p == '+'))
        p++;
    size_t digits = 0;
    while (p < end && *p >= '0' && *p <= '9')
        p++, digits++;
    if (p < end && *p == '.') {
        p++;
        size_t frac = 0;
        while (p < end && *p >= '0' && *p <= '9')
            p++, frac++;
        if (digits == 0 && frac == 0)
            return false;
    } else if (digits == 0) {
        return false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '-' || *p == '+'))
            p++;
        size_t exp = 0;
        while (p < end && *p >= '0' && *p <= '9')
            p++, exp++;
        if (exp == 0)
            return false;
    }
    if (p != end)
        return false;
    char *stop;
    *out = strtod(n->str, &stop);
    return stop == end && isfinite(*out);
}

static json_t *scalar_to_json(const struct ynode *n, bool typed)
{
    bool b;
    long long i;
    double d;
    if (typed && n->plain) {
        if (ynode_is_null(n))
            return json_null();
        if (ynode_bool(n, &b) == 0)
            return json_boolean(b);
        if (ynode_int(n, LLONG_MIN, LLONG_MAX, &i) == 0)
            return json_integer(i);
        if (yaml_float(n, &d))
            return json_real(d);
    }
    return json_stringn(n->str, n->len); /* NULL for invalid UTF-8; NUL bytes are refused below */
}

json_t *config_yaml_to_json(const struct ynode *n, bool typed, const struct ynode **bad)
{
    json_t *j = NULL;
    *bad = n;
    if (n->kind == YNODE_SCALAR)
        return memchr(n->str, '\0', n->len) ? NULL : scalar_to_json(n, typed);
    if (n->kind == YNODE_SEQUENCE) {
        if (!(j = json_array()))
            return *bad = NULL, NULL;
        for (size_t i = 0; i < n->n_items; i++) {
            json_t *v = config_yaml_to_json(n->items[i], typed, bad);
            if (!v || json_array_append_new(j, v) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    }
    if (!(j = json_object()))
        return *bad = NULL, NULL;
    for (size_t i = 0; i < n->n_pairs; i++) {
        const struct ynode *k = n->pairs[i].key;
        json_t *v = NULL;
        if (k->kind != YNODE_SCALAR || memchr(k->str, '\0', k->len))
            *bad = k;
        else if ((v = config_yaml_to_json(n->pairs[i].value, typed, bad)) &&
                 json_object_setn_new(j, k->str, k->len, v) < 0) /* a key that is not UTF-8 */
            *bad = k, v = NULL;
        if (!v) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

static const char *kind_name(const struct ynode *n)
{
    if (n->kind == YNODE_MAPPING)
        return "a mapping";
    if (n->kind == YNODE_SEQUENCE)
        return "a list";
    return "a scalar";
}

int config_expect_mapping(struct config_loader *ld, const struct ynode *n, const char *path, bool null_ok)
{
    if (n->kind == YNODE_MAPPING || (null_ok && ynode_is_null(n)))
        return 0;
    return config_error(ld, n, -EINVAL, "%s: expected a mapping, found %s", path, kind_name(n));
}

int config_expect_sequence(struct config_loader *ld, const struct ynode *n, const char *path)
{
    if (n->kind == YNODE_SEQUENCE)
        return 0;
    return config_error(ld, n, -EINVAL, "%s: expected a list, found %s", path, kind_name(n));
}

/* O_NONBLOCK and the regular-file check keep a FIFO or a device from blocking the loader. */
int read_small_file(const char *file, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (S_ISDIR(st.st_mode))
        r = -EISDIR;
    else if (!S_ISREG(st.st_mode))
        r = -EBADFD;
    char *buf = r < 0 ? NULL : malloc(CONFIG_FILE_MAX + 1);
    size_t n = 0;
    if (r >= 0 && !buf)
        r = -ENOMEM;
    while (r >= 0 && n <= CONFIG_FILE_MAX) {
        ssize_t k = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r = -errno;
        else if (k == 0)
            break;
        else
            n += (size_t)k;
    }
    close(fd);
    if (r >= 0 && n > CONFIG_FILE_MAX)
        r = -EFBIG;
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

static const char *file_error(int r)
{
    if (r == -EBADFD)
        return "not a regular file";
    if (r == -EFBIG)
        return "file is larger than 1 MiB";
    return strerror(-r);
}

char *config_file_name(const struct config_loader *ld, const char *file)
{
    char *full = NULL;
    if (file[0] == '/' || !ld->dir)
        return strdup(file);
    return asprintf(&full, "%s/%s", ld->dir, file) < 0 ? NULL : full;
}

int config_read_file(struct config_loader *ld, const struct ynode *at, const char *path, const char *file,
                     char **data, size_t *len)
{
    char *name = config_file_name(ld, file);
    int r = name ? read_small_file(name, data, len) : -ENOMEM;
    if (r < 0 && name && strcmp(name, file) != 0)
        config_error(ld, at, r, "%s: cannot read '%s' (%s): %s", path, file, name, file_error(r));
    else if (r < 0)
        config_error(ld, at, r, "%s: cannot read '%s': %s", path, file, file_error(r));
    free(name);
    return r;
}

int config_get_secret(struct config_loader *ld, const struct ynode *map, const char *path, const char *key,
                      bool read, char **data, size_t *len, const struct ynode **where)
{
    char p[CONFIG_PATH_MAX], fkey[64], *text = NULL, *file = NULL;
    snprintf(fkey, sizeof(fkey), "%s_file", key);
    const struct ynode *tv = ynode_get(map, key, NULL), *fv = ynode_get(map, fkey, NULL);
    *data = NULL, *len = 0;
    if (where)
        *where = fv ? fv : tv;
    int r = config_get_string_or_null(ld, tv, config_subpath(p, path, key), &text);
    if (r >= 0)
        r = config_get_string_or_null(ld, fv, config_subpath(p, path, fkey), &file);
    if (r >= 0 && read)
        r = config_one_of(ld, map, path, key, fkey, false);
    if (r >= 0 && read && file && !(ld->flags & CONFIG_NO_SECRETS)) /* else named, not read */
        r = config_read_file(ld, fv, p, file, data, len);
    else if (r >= 0 && read && text)
        *data = text, *len = strlen(text), text = NULL;
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    free(file);
    return r;
}

int config_one_of(struct config_loader *ld, const struct ynode *map, const char *path, const char *a,
                  const char *b, bool required)
{
    const struct ynode *ka, *kb;
    const struct ynode *va = ynode_get(map, a, &ka), *vb = ynode_get(map, b, &kb);
    bool has_a = va && !ynode_is_null(va), has_b = vb && !ynode_is_null(vb);
    if (has_a && has_b) {
        const struct ynode *second =
            ka->line > kb->line || (ka->line == kb->line && ka->column > kb->column) ? ka : kb;
        return config_error(ld, second, -EINVAL, "%s: set either %s or %s, not both", path, a, b);
    }
    if (required && !has_a && !has_b)
        return config_error(ld, map, -EINVAL, "%s: %s or %s is required", path, a, b);
    return 0;
}

static int parse_account_and_oauth(struct config_loader *ld, const struct ynode *root)
{
    const struct ynode *account = ynode_get(root, "account", NULL);
    const struct ynode *oauth = ynode_get(root, "oauth", NULL);
    const struct ynode *v;
    int r;
    if (account) {
        if ((r = config_expect_mapping(ld, account, "account", true)) < 0)
            return r;
        struct config *c = ld->cfg;
        bool legacy_token = false, token = false;
        const struct {
            const char *key;
            bool *value;
        } flags[] = {
            {"password_registration_enabled", &c->password_registration_enabled},
            {"login_with_email_allowed", &c->login_with_email_allowed},
            {"password_registration_email_required", &c->password_registration_email_required},
            {"password_registration_token_required", &token},
            {"registration_token_required", &legacy_token},
            {"password_recovery_enabled", &c->password_recovery_enabled},
            {"password_change_allowed", &c->password_change_allowed},
            {"email_change_allowed", &c->email_change_allowed},
            {"displayname_change_allowed", &c->displayname_change_allowed},
            {"account_deactivation_allowed", &c->account_deactivation_allowed},
        };
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
            char path[64];
            snprintf(path, sizeof(path), "account.%s", flags[i].key);
            if ((v = ynode_get(account, flags[i].key, NULL)) &&
                (r = config_get_bool(ld, v, path, flags[i].value)) < 0)
                return r;
        }
        /* MAS: either key requires a token for password registrations */
        c->registration_token_required = token || legacy_token;
    }
    if (oauth) {
        if ((r = config_expect_mapping(ld, oauth, "oauth", true)) < 0)
            return r;
        if ((v = ynode_get(oauth, "device_code_grant_enabled", NULL)) &&
            (r = config_get_bool(ld, v, "oauth.device_code_grant_enabled",
                                 &ld->cfg->device_code_grant_enabled)) < 0)
            return r;
        if ((v = ynode_get(oauth, "device_code_user_code_auto_fill_enabled", NULL)) &&
            (r = config_get_bool(ld, v, "oauth.device_code_user_code_auto_fill_enabled",
                                 &ld->cfg->device_code_user_code_auto_fill_enabled)) < 0)
            return r;
    }
    return 0;
}

/* branding: four optional strings, shown by masd-human (MAS: crates/config/src/sections/branding.rs). */
static int parse_branding(struct config_loader *ld, const struct ynode *branding)
{
    struct config_branding *b = &ld->cfg->branding;
    struct {
        const char *key;
        char **out;
    } fields[] = {{"service_name", &b->service_name},
                  {"policy_uri", &b->policy_uri},
                  {"tos_uri", &b->tos_uri},
                  {"imprint", &b->imprint}};
    char p[CONFIG_PATH_MAX];
    int r;
    if (!branding || ynode_is_null(branding))
        return 0;
    if ((r = config_expect_mapping(ld, branding, "branding", true)) < 0)
        return r;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if ((r = config_get_string_or_null(ld, ynode_get(branding, fields[i].key, NULL),
                                           config_subpath(p, "branding", fields[i].key), fields[i].out)) < 0)
            return r;
    return 0;
}

/* captcha (MAS: crates/config/src/sections/captcha.rs): which service the registration form
 * would show, and its site key; masd shows it in GraphQL's siteConfig.captchaConfig. */
static int parse_captcha(struct config_loader *ld, const struct ynode *captcha)
{
    static const char *const services[][2] = {
        {"recaptcha_v2", "RECAPTCHA_V2"},
        {"cloudflare_turnstile", "CLOUDFLARE_TURNSTILE"},
        {"hcaptcha", "H_CAPTCHA"},
    };
    struct config_captcha *c = &ld->cfg->captcha;
    const struct ynode *v;
    char *service = NULL;
    int r;
    if (!captcha || ynode_is_null(captcha))
        return 0;
    if ((r = config_expect_mapping(ld, captcha, "captcha", true)) < 0)
        return r;
    if ((r = config_get_string_or_null(ld, v = ynode_get(captcha, "service", NULL), "captcha.service",
                                       &service)) < 0 ||
        !service)
        return r;
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
        if (strcmp(service, services[i][0]) == 0)
            c->service = services[i][1];
    free(service);
    if (!c->service)
        return config_error(ld, v, -EINVAL,
                            "captcha.service: expected one of recaptcha_v2, cloudflare_turnstile, hcaptcha");
    if (!(v = ynode_get(captcha, "site_key", NULL)))
        return config_error(ld, captcha, -EINVAL, "captcha.site_key is required with captcha.service");
    return config_get_string(ld, v, "captcha.site_key", &c->site_key);
}

static int parse_document(struct config_loader *ld, const struct ynode *root)
{
    static const struct ynode empty = {.kind = YNODE_MAPPING};
    if (!root || ynode_is_null(root))
        root = &empty; /* an empty file: every default */
    if (root->kind != YNODE_MAPPING)
        return config_error(ld, root, -EINVAL,
                            "expected a mapping of sections (http, database, ...) at the top level");
    int r = config_keys_check(ld, root);
    if (r < 0)
        return r;
    const struct ynode *key, *http = ynode_get(root, "http", &key);
    r = http ? config_http_parse(ld, key, http) : config_http_defaults(ld);
    if (r < 0)
        return r;
    const struct ynode *secrets = ynode_get(root, "secrets", NULL);
    if (secrets && (r = config_secrets_parse(ld, secrets)) < 0)
        return r;
    if ((r = config_passwords_parse(ld, ynode_get(root, "passwords", NULL))) < 0)
        return r;
    if ((r = config_database_parse(ld, ynode_get(root, "database", NULL))) < 0)
        return r;
    if ((r = config_matrix_parse(ld, ynode_get(root, "matrix", NULL))) < 0 ||
        (r = config_rate_limiting_parse(ld, ynode_get(root, "rate_limiting", NULL))) < 0)
        return r;
    if ((r = config_clients_parse(ld, ynode_get(root, "clients", NULL))) < 0)
        return r;
    if ((r = config_email_parse(ld, ynode_get(root, "email", NULL))) < 0)
        return r;
    if ((r = config_policy_parse(ld, ynode_get(root, "policy", NULL),
                                 ynode_get(root, "experimental", NULL))) < 0)
        return r;
    if ((r = parse_branding(ld, ynode_get(root, "branding", NULL))) < 0 ||
        (r = parse_captcha(ld, ynode_get(root, "captcha", NULL))) < 0)
        return r;
    return parse_account_and_oauth(ld, root);
}

int config_load_buffer(const char *name, const char *data, size_t len, struct config **out, char **error)
{
    return config_load_buffer_flags(name, 0, data, len, out, error);
}

int config_load_buffer_flags(const char *name, unsigned flags, const char *data, size_t len,
                             struct config **out, char **error)
{
    struct config_loader ld = {.name = name, .flags = flags};
    char *dir = strdup(name), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        slash[slash == dir] = '\0'; /* "/x.yaml" -> "/" */
    ld.dir = slash ? dir : NULL;
    struct ynode *root = NULL;
    char *yaml_error = NULL;
    *out = NULL;
    if (error)
        *error = NULL;
    int r = yaml_tree_load(name, data, len, &root, &yaml_error);
    if (r < 0) {
        ld.error = yaml_error;
        goto fail;
    }
    ld.cfg = calloc(1, sizeof(*ld.cfg));
    ld.warned = calloc(n_config_keys, sizeof(*ld.warned));
    if (!ld.cfg || !ld.warned || !(ld.cfg->path = strdup(name))) {
        r = -ENOMEM;
        goto fail;
    }
    ld.cfg->device_code_grant_enabled = true;
    ld.cfg->password_registration_email_required = true;
    ld.cfg->password_change_allowed = true;
    ld.cfg->email_change_allowed = true;
    ld.cfg->displayname_change_allowed = true;
    ld.cfg->account_deactivation_allowed = true;
    r = parse_document(&ld, root);
    if (r < 0)
        goto fail;
    for (size_t i = 0; i < ld.cfg->n_warnings; i++)
        log_warn("%s", ld.cfg->warnings[i]);
    *out = ld.cfg;
    ld.cfg = NULL;
fail:
    yaml_tree_free(root);
    free(ld.warned);
    free(dir);
    config_free(ld.cfg);
    if (r < 0 && !ld.error)
        config_error(&ld, NULL, r, "%s", strerror(-r));
    if (error)
        *error = ld.error;
    else
        free(ld.error);
    return r < 0 ? r : 0;
}

int config_load(const char *path, struct config **out, char **error)
{
    return config_load_flags(path, 0, out, error);
}

int config_load_flags(const char *path, unsigned flags, struct config **out, char **error)
{
    *out = NULL;
    if (error)
        *error = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int r = -errno;
        if (error && r == -ENOENT &&
            asprintf(error,
                     "%s: no such file. `masctl config generate -o %s` writes a new configuration "
                     "there (then set http.public_base and the matrix section)",
                     path, path) < 0)
            *error = NULL;
        else if (error && r != -ENOENT && asprintf(error, "%s: cannot open: %s", path, strerror(-r)) < 0)
            *error = NULL;
        return r;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int r = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16384;
            char *nb = cap <= CONFIG_YAML_MAX ? realloc(buf, cap + 1) : NULL;
            if (!nb) {
                r = cap <= CONFIG_YAML_MAX ? -ENOMEM : -EFBIG;
                break;
            }
            buf = nb;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (r >= 0)
        r = config_load_buffer_flags(path, flags, buf, len, out, error);
    else if (error && asprintf(error, "%s: cannot read: %s", path,
                               r == -EFBIG ? "file is larger than 16 MiB" : strerror(-r)) < 0)
        *error = NULL;
    free(buf);
    return r;
}

static void free_listener(struct config_listener *l)
{
    free(l->name);
    for (size_t i = 0; i < l->n_resources; i++) {
        free(l->resources[i].name);
        free(l->resources[i].path);
    }
    free(l->resources);
    free(l->prefix);
    for (size_t i = 0; i < l->n_binds; i++) {
        free(l->binds[i].address);
        free(l->binds[i].host);
        free(l->binds[i].socket);
        free(l->binds[i].fd_name);
    }
    free(l->binds);
    config_tls_free(l->tls);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->public_base);
    free(cfg->issuer);
    free(cfg->trusted_proxies);
    for (size_t i = 0; i < cfg->n_listeners; i++)
        free_listener(&cfg->listeners[i]);
    free(cfg->listeners);
    config_secrets_free(cfg);
    config_passwords_free(&cfg->passwords);
    config_database_free(&cfg->database);
    config_matrix_free(&cfg->matrix);
    config_email_free(&cfg->email);
    config_clients_free(cfg);
    config_policy_free(cfg);
    free(cfg->branding.service_name);
    free(cfg->branding.policy_uri);
    free(cfg->branding.tos_uri);
    free(cfg->branding.imprint);
    free(cfg->captcha.site_key);
    free(cfg->plan_management_iframe_uri);
    for (size_t i = 0; i < cfg->n_warnings; i++)
        free(cfg->warnings[i]);
    free(cfg->warnings);
    free(cfg);
}

const struct config_resource *config_listener_resource(const struct config_listener *l, const char *name)
{
    for (size_t i = 0; l && i < l->n_resources; i++)
        if (strcmp(l->resources[i].name, name) == 0)
            return &l->resources[i];
    return NULL;
}
