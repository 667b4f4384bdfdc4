/* masctl config dump: the configuration as masd understood it, back to YAML. Everything comes
 * from the loaded structures (not the file), so defaults appear and files named by *_file are
 * inlined: the output is what the services will run with. Keys masd does not implement yet are
 * not in those structures; they are listed as comments at the top. */
#include "masctl.h"
#include "config.h"
#include "storage.h"
#include <errno.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct dump {
    yaml_emitter_t emitter;
    char *buf;
    size_t len, cap;
    int err;
};

static int dump_write(void *data, unsigned char *bytes, size_t size)
{
    struct dump *d = data;
    if (d->len + size + 1 > d->cap) {
        size_t cap = (d->len + size + 1) * 2;
        char *b = realloc(d->buf, cap);
        if (!b)
            return 0;
        d->buf = b;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, bytes, size);
    d->len += size;
    d->buf[d->len] = '\0';
    return 1;
}

static void emit(struct dump *d, yaml_event_t *ev, int ok)
{
    if (!ok || d->err) {
        if (ok)
            yaml_event_delete(ev);
        d->err = d->err ? d->err : -ENOMEM;
        return;
    }
    if (!yaml_emitter_emit(&d->emitter, ev))
        d->err = -EINVAL; /* the emitter refused, e.g. text that is not UTF-8 */
}

static void map_begin(struct dump *d)
{
    yaml_event_t ev;
    emit(d, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(struct dump *d)
{
    yaml_event_t ev;
    emit(d, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void seq_begin(struct dump *d)
{
    yaml_event_t ev;
    emit(d, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
}

static void seq_end(struct dump *d)
{
    yaml_event_t ev;
    emit(d, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* Whether a plain scalar would read back as this same string: not empty, no leading or trailing
 * space, and nothing a YAML 1.1 or 1.2 reader would turn into null, a boolean or a number. */
static bool plain_safe(const char *s)
{
    static const char *const special[] = {"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"};
    if (!*s || s[0] == ' ' || s[strlen(s) - 1] == ' ')
        return false;
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        if (strcasecmp(s, special[i]) == 0)
            return false;
    if (strchr("0123456789+-.", s[0]))
        return false;
    return true;
}

static void scalar(struct dump *d, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (style == YAML_ANY_SCALAR_STYLE && strchr(s, '\n'))
        style = YAML_LITERAL_SCALAR_STYLE; /* PEM blocks */
    if (style == YAML_ANY_SCALAR_STYLE && !plain_safe(s))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    emit(d, &ev,
         yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style));
}

/* A value the reader takes as a number or a boolean: emitted plain. */
static void token(struct dump *d, const char *s)
{
    yaml_event_t ev;
    emit(d, &ev,
         yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                      YAML_PLAIN_SCALAR_STYLE));
}

static void kv_str(struct dump *d, const char *key, const char *value)
{
    if (!value)
        return;
    scalar(d, key, YAML_ANY_SCALAR_STYLE);
    scalar(d, value, YAML_ANY_SCALAR_STYLE);
}

static void kv_uint(struct dump *d, const char *key, unsigned long long v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", v);
    scalar(d, key, YAML_ANY_SCALAR_STYLE);
    token(d, buf);
}

static void kv_bool(struct dump *d, const char *key, bool v)
{
    scalar(d, key, YAML_ANY_SCALAR_STYLE);
    token(d, v ? "true" : "false");
}

static void dump_bind(struct dump *d, const struct config_bind *b)
{
    static const char *const kinds[] = {[BIND_SOCKET_TCP] = "tcp", [BIND_SOCKET_UNIX] = "unix"};
    char mode[16];
    map_begin(d);
    switch (b->kind) {
    case BIND_ADDRESS:
        kv_str(d, "address", b->address);
        break;
    case BIND_HOST_PORT:
        kv_str(d, "host", b->host);
        kv_uint(d, "port", b->port);
        break;
    case BIND_SOCKET:
        kv_str(d, "socket", b->socket);
        if (b->mode >= 0) {
            snprintf(mode, sizeof(mode), "%o", (unsigned)b->mode);
            scalar(d, "mode", YAML_ANY_SCALAR_STYLE);
            scalar(d, mode, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        }
        break;
    case BIND_FD:
        kv_uint(d, "fd", b->fd);
        break;
    case BIND_FD_NAME:
        kv_str(d, "fd_name", b->fd_name);
        break;
    }
    if ((b->kind == BIND_FD || b->kind == BIND_FD_NAME) && b->socket_kind != BIND_SOCKET_ANY)
        kv_str(d, "kind", kinds[b->socket_kind]);
    map_end(d);
}

static void dump_resource(struct dump *d, const struct config_resource *res)
{
    map_begin(d);
    kv_str(d, "name", res->name);
    if (strcmp(res->name, "assets") == 0)
        kv_str(d, "path", res->path);
    if (strcmp(res->name, "graphql") == 0) {
        kv_bool(d, "playground", res->playground);
        kv_bool(d, "undocumented_oauth2_access", res->undocumented_oauth2_access);
    }
    map_end(d);
}

static void dump_listener(struct dump *d, const struct config_listener *l)
{
    map_begin(d);
    kv_str(d, "name", l->name);
    scalar(d, "resources", YAML_ANY_SCALAR_STYLE);
    seq_begin(d);
    for (size_t i = 0; i < l->n_resources; i++)
        dump_resource(d, &l->resources[i]);
    seq_end(d);
    kv_str(d, "prefix", l->prefix);
    scalar(d, "binds", YAML_ANY_SCALAR_STYLE);
    seq_begin(d);
    for (size_t i = 0; i < l->n_binds; i++)
        dump_bind(d, &l->binds[i]);
    seq_end(d);
    kv_bool(d, "proxy_protocol", l->proxy_protocol);
    kv_bool(d, "http2", l->http2);
    if (l->tls) {
        scalar(d, "tls", YAML_ANY_SCALAR_STYLE);
        map_begin(d);
        kv_str(d, "certificate", l->tls->certificate);
        /* A DER key has no text form in MAS's format; d->err reports it. */
        if (l->tls->key && memchr(l->tls->key, '\0', l->tls->key_len))
            d->err = d->err ? d->err : -EMEDIUMTYPE;
        kv_str(d, "key", l->tls->key);
        kv_str(d, "password", l->tls->password);
        map_end(d);
    }
    map_end(d);
}

static void dump_http(struct dump *d, const struct config *cfg)
{
    char buf[MASD_ADDR_STRLEN + 8];
    scalar(d, "http", YAML_ANY_SCALAR_STYLE);
    map_begin(d);
    kv_str(d, "public_base", cfg->public_base);
    kv_str(d, "issuer", cfg->issuer);
    scalar(d, "trusted_proxies", YAML_ANY_SCALAR_STYLE);
    seq_begin(d);
    for (size_t i = 0; i < cfg->n_trusted_proxies; i++) {
        const struct masd_cidr *c = &cfg->trusted_proxies[i];
        struct masd_addr a = {.family = c->family};
        memcpy(a.bytes, c->bytes, sizeof(a.bytes));
        addr_format(&a, buf);
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", c->prefix);
        scalar(d, buf, YAML_ANY_SCALAR_STYLE);
    }
    seq_end(d);
    scalar(d, "listeners", YAML_ANY_SCALAR_STYLE);
    seq_begin(d);
    for (size_t i = 0; i < cfg->n_listeners; i++)
        dump_listener(d, &cfg->listeners[i]);
    seq_end(d);
    map_end(d);
}

static void dump_database(struct dump *d, const struct config_database *db)
{
    scalar(d, "database", YAML_ANY_SCALAR_STYLE);
    map_begin(d);
    bool fields = db->host || db->socket || db->database || db->username;
    kv_str(d, "uri", db->uri ? db->uri : fields ? NULL : STORAGE_DEFAULT_URI);
    kv_str(d, "host", db->host);
    if (db->port)
        kv_uint(d, "port", db->port);
    kv_str(d, "socket", db->socket);
    kv_str(d, "username", db->username);
    kv_str(d, "password", db->password);
    kv_str(d, "database", db->database);
    kv_str(d, "ssl_mode", db->ssl_mode);
    kv_str(d, "ssl_ca", db->ssl_ca);
    kv_str(d, "ssl_ca_file", db->ssl_ca_file);
    kv_str(d, "ssl_certificate", db->ssl_certificate);
    kv_str(d, "ssl_certificate_file", db->ssl_certificate_file);
    kv_str(d, "ssl_key", db->ssl_key);
    kv_str(d, "ssl_key_file", db->ssl_key_file);
    kv_uint(d, "max_connections", db->max_connections);
    kv_uint(d, "min_connections", db->min_connections);
    kv_uint(d, "connect_timeout", db->connect_timeout);
    kv_uint(d, "idle_timeout", db->idle_timeout);
    kv_uint(d, "max_lifetime", db->max_lifetime);
    map_end(d);
}

/* The key as unencrypted PKCS#8 PEM (malloc'd), whatever form and password it was loaded from. */
static char *key_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL, *pem;
    if (bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
        long len = BIO_get_mem_data(bio, &pem);
        out = strndup(pem, (size_t)len);
        OPENSSL_cleanse(pem, (size_t)len);
    }
    BIO_free(bio);
    return out;
}

static void dump_secrets(struct dump *d, const struct config *cfg)
{
    if (!cfg->has_encryption && cfg->n_keys == 0)
        return;
    char hex[65];
    scalar(d, "secrets", YAML_ANY_SCALAR_STYLE);
    map_begin(d);
    if (cfg->has_encryption) {
        for (size_t i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", cfg->encryption[i]);
        /* Quoted: 64 hex digits can read as a number when they are all decimal. */
        scalar(d, "encryption", YAML_ANY_SCALAR_STYLE);
        scalar(d, hex, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        OPENSSL_cleanse(hex, sizeof(hex));
    }
    scalar(d, "keys", YAML_ANY_SCALAR_STYLE);
    seq_begin(d);
    for (size_t i = 0; i < cfg->n_keys; i++) {
        char *pem = key_pem(cfg->keys[i].pkey);
        if (!pem) {
            d->err = d->err ? d->err : -EIO;
            break;
        }
        map_begin(d);
        kv_str(d, "kid", config_key_id(&cfg->keys[i]));
        scalar(d, "key", YAML_ANY_SCALAR_STYLE);
        scalar(d, pem, YAML_LITERAL_SCALAR_STYLE);
        map_end(d);
        OPENSSL_cleanse(pem, strlen(pem));
        free(pem);
    }
    seq_end(d);
    map_end(d);
}

static void dump_passwords(struct dump *d, const struct config_passwords *p)
{
    static const char *const algorithms[] = {
        [PASSWORD_ARGON2ID] = "argon2id", [PASSWORD_BCRYPT] = "bcrypt", [PASSWORD_PBKDF2] = "pbkdf2"};
    scalar(d, "passwords", YAML_ANY_SCALAR_STYLE);
    map_begin(d);
    kv_bool(d, "enabled", p->enabled);
    kv_uint(d, "minimum_complexity", p->minimum_complexity);
    scalar(d, "schemes", YAML_ANY_SCALAR_STYLE);
    seq_begin(d);
    for (size_t i = 0; i < p->n_schemes; i++) {
        const struct config_password_scheme *s = &p->schemes[i];
        map_begin(d);
        kv_uint(d, "version", s->version);
        kv_str(d, "algorithm", algorithms[s->algorithm]);
        if (s->algorithm != PASSWORD_ARGON2ID)
            kv_uint(d, "cost", s->cost);
        if (s->secret) {
            /* The pepper as the bytes it is; one that is not text makes the emitter fail. */
            char *secret = strndup((const char *)s->secret, s->secret_len);
            if (!secret || strlen(secret) != s->secret_len)
                d->err = d->err ? d->err : -EMEDIUMTYPE;
            else
                kv_str(d, "secret", secret);
            free(secret);
        }
        kv_bool(d, "unicode_normalization", s->unicode_normalization);
        map_end(d);
    }
    seq_end(d);
    map_end(d);
}

/* A mailbox as config.yaml takes it back: "Name" <address>, the name's quotes and backslashes
 * escaped. */
static void kv_mailbox(struct dump *d, const char *key, const struct mail_mailbox *m)
{
    char out[2 * MAIL_NAME_MAX + MAIL_ADDRESS_MAX + 8];
    size_t o = 0;
    if (m->name[0]) {
        out[o++] = '"';
        for (const char *p = m->name; *p; p++) {
            if (*p == '"' || *p == '\\')
                out[o++] = '\\';
            out[o++] = *p;
        }
        o += (size_t)snprintf(out + o, sizeof(out) - o, "\" <%s>", m->addr.text);
    } else {
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", m->addr.text);
    }
    kv_str(d, key, out);
}

static void dump_email(struct dump *d, const struct config_email *e)
{
    static const char *const transports[] = {[CONFIG_EMAIL_BLACKHOLE] = "blackhole",
                                             [CONFIG_EMAIL_SMTP] = "smtp",
                                             [CONFIG_EMAIL_SENDMAIL] = "sendmail"};
    static const char *const modes[] = {
        [CONFIG_EMAIL_PLAIN] = "plain", [CONFIG_EMAIL_STARTTLS] = "starttls", [CONFIG_EMAIL_TLS] = "tls"};
    scalar(d, "email", YAML_ANY_SCALAR_STYLE);
    map_begin(d);
    kv_mailbox(d, "from", &e->from);
    kv_mailbox(d, "reply_to", &e->reply_to);
    kv_str(d, "transport", transports[e->transport]);
    if (e->transport == CONFIG_EMAIL_SMTP) {
        kv_str(d, "mode", modes[e->mode]);
        kv_str(d, "hostname", e->hostname);
        kv_uint(d, "port", e->port);
        kv_str(d, "username", e->username);
        kv_str(d, "password", e->password);
    }
    kv_str(d, "command", e->command);
    map_end(d);
}

static int dump_config(const struct config *cfg, struct dump *d)
{
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&d->emitter))
        return -ENOMEM;
    yaml_emitter_set_output(&d->emitter, dump_write, d);
    yaml_emitter_set_unicode(&d->emitter, 1);
    yaml_emitter_set_width(&d->emitter, -1);
    emit(d, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    emit(d, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    map_begin(d);
    dump_http(d, cfg);
    dump_database(d, &cfg->database);
    dump_secrets(d, cfg);
    dump_passwords(d, &cfg->passwords);
    dump_email(d, &cfg->email);
    scalar(d, "account", YAML_ANY_SCALAR_STYLE);
    map_begin(d);
    kv_bool(d, "password_registration_enabled", cfg->password_registration_enabled);
    map_end(d);
    scalar(d, "oauth", YAML_ANY_SCALAR_STYLE);
    map_begin(d);
    kv_bool(d, "device_code_grant_enabled", cfg->device_code_grant_enabled);
    kv_bool(d, "device_code_user_code_auto_fill_enabled", cfg->device_code_user_code_auto_fill_enabled);
    map_end(d);
    map_end(d);
    emit(d, &ev, yaml_document_end_event_initialize(&ev, 1));
    emit(d, &ev, yaml_stream_end_event_initialize(&ev));
    yaml_emitter_delete(&d->emitter);
    return d->err;
}

/* The header: where it came from, and what was left out. */
static void dump_header(const struct config *cfg, struct dump *d)
{
    char line[1024];
    int n =
        snprintf(line, sizeof(line), "# The effective configuration of %s, as masd reads it.\n", cfg->path);
    dump_write(d, (unsigned char *)line, (size_t)n);
    for (size_t i = 0; i < cfg->n_warnings; i++) {
        /* One line per warning; a newline inside one would end the comment. */
        n = snprintf(line, sizeof(line), "# left out: %s", cfg->warnings[i]);
        for (char *p = line; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        dump_write(d, (unsigned char *)line, strnlen(line, sizeof(line) - 1));
        dump_write(d, (unsigned char *)"\n", 1);
    }
}

int masctl_config_dump(struct masctl *m, int argc, char **argv)
{
    const char *output;
    int status = masctl_parse_output(m, argc, argv, &output);
    if (status != MASCTL_GO_ON)
        return status;
    struct config *cfg;
    if (masctl_load_config(m, &cfg) < 0)
        return MASCTL_FAILED;
    struct dump d = {0};
    dump_header(cfg, &d);
    int r = dump_config(cfg, &d);
    config_free(cfg);
    if (r == 0)
        r = masctl_write_output(m, output, d.buf, d.len) < 0 ? -EIO : 0;
    else
        masctl_fail(m, "cannot write the configuration as YAML: %s",
                    r == -EMEDIUMTYPE ? "a key or secret is binary (DER) and has no text form"
                                      : strerror(-r));
    if (d.buf)
        OPENSSL_cleanse(d.buf, d.len);
    free(d.buf);
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}
