/* masctl config: generate | check | dump (dump is in masctl_config_dump.c). */
#include "masctl.h"
#include "config.h"
#include "random.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- generate -------------------------------------------------------------------------------- */

/* A growing text buffer; the generated file is a few kilobytes. */
struct text {
    char *buf;
    size_t len, cap;
    bool oom;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->oom)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->oom = true;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* Appends `indent`key: | and the PEM (PKCS#8) of a fresh key, each line indented below it. */
static int append_new_key(struct text *t, EVP_PKEY *pkey, const char *indent)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(bio);
        return -EIO;
    }
    char *pem;
    long len = BIO_get_mem_data(bio, &pem);
    if (!indent) /* the PEM as it is, for a file of its own */
        text_printf(t, "%.*s", (int)len, pem);
    else
        text_printf(t, "%skey: |\n", indent);
    for (long i = 0; indent && i < len;) {
        long j = i;
        while (j < len && pem[j] != '\n')
            j++;
        text_printf(t, "%s  %.*s\n", indent, (int)(j - i), pem + i);
        i = j + 1;
    }
    /* The PEM held a private key. */
    OPENSSL_cleanse(pem, (size_t)len);
    BIO_free(bio);
    return 0;
}

/* The secret files `generate -o FILE` writes beside FILE, named by the config with names
 * relative to its directory. The DB-backed units load them by these names (LoadCredential=
 * in units/masd-oauth.service.in, masd-worker.service.in); the stateless ones do not. */
#define SECRET_ENCRYPTION "encryption"
#define SECRET_MATRIX     "matrix-secret"
static const char *const KEY_FILES[2] = {"key-rsa.pem", "key-p256.pem"};
#define N_SECRET_FILES 4

struct secret_file {
    const char *name;
    struct text text;
};

/* A key's PEM: into the config (files == NULL) or into its own file. */
static int append_keys(struct text *t, struct secret_file *files)
{
    /* MAS generates an RSA key (RS256, what every client supports) and EC keys; an RSA and a
     * P-256 key cover the algorithms clients ask for. The kid is MAS's: 10 random alphanumerics.
     * The type lets masd-discovery list the algorithms without reading the keys. */
    static const char *const types[2] = {"RSA", "P-256"};
    EVP_PKEY *keys[2] = {
        EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
        EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
    };
    int r = keys[0] && keys[1] ? 0 : -EIO;
    text_printf(t, "  keys:\n");
    for (size_t i = 0; i < 2 && r == 0; i++) {
        char kid[11];
        r = random_alnum(kid, 10);
        if (r < 0)
            break;
        /* Quoted: a random kid can read as a number ("12e45678"), as can the secret below. */
        text_printf(t, "    - kid: \"%s\"\n      type: %s\n", kid, types[i]);
        if (files) {
            text_printf(t, "      key_file: %s\n", KEY_FILES[i]);
            files[2 + i].name = KEY_FILES[i];
            r = append_new_key(&files[2 + i].text, keys[i], NULL);
        } else {
            r = append_new_key(t, keys[i], "      ");
        }
    }
    EVP_PKEY_free(keys[0]);
    EVP_PKEY_free(keys[1]);
    return r;
}

/* The listeners of the shipped socket units (units/masd-*.socket: FileDescriptorName=), one per
 * binary, since a socket is passed to one service only. */
static const char GENERATED_HTTP[] =
    "http:\n"
    "  # The URL clients and the homeserver use to reach masd (through nginx, units/nginx/).\n"
    "  public_base: http://[::]:8080/\n"
    "  # One listener per masd service, each bound to the socket its systemd unit passes in\n"
    "  # (fd_name = FileDescriptorName= of units/masd-<name>.socket).\n"
    "  listeners:\n"
    "    - name: discovery\n"
    "      resources:\n"
    "        - name: discovery\n"
    "        - name: health\n"
    "      binds:\n"
    "        - fd_name: discovery\n"
    "    - name: assets\n"
    "      resources:\n"
    "        - name: assets\n"
    "          path: /usr/share/masd/assets/\n"
    "        - name: health\n"
    "      binds:\n"
    "        - fd_name: assets\n"
    "    - name: oauth\n"
    "      resources:\n"
    "        - name: oauth\n"
    "        - name: compat\n"
    "        - name: health\n"
    "      binds:\n"
    "        - fd_name: oauth\n"
    "    - name: human\n"
    "      resources:\n"
    "        - name: human\n"
    "        - name: graphql\n"
    "        - name: health\n"
    "      binds:\n"
    "        - fd_name: human\n"
    "\n"
    "database:\n"
    "  # The embedded default; PostgreSQL: postgresql://user:password@host/database\n"
    "  uri: sqlite:///var/lib/masd/masd.db\n"
    "\n"
    "passwords:\n"
    "  enabled: true\n"
    "  minimum_complexity: 3\n"
    "  schemes:\n"
    "    - version: 1\n"
    "      algorithm: argon2id\n"
    "\n";

/* files == NULL: MAS's shape, every secret inline. Else the secrets go to files[] (written
 * beside the config) and the config names them with *_file keys. */
static int generate_config(struct text *t, struct secret_file *files)
{
    char now[32], hex[65], hs_secret[33];
    time_t tt = time(NULL);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
    int r = random_hex(hex, 32);
    if (r == 0)
        r = random_alnum(hs_secret, 32);
    if (r < 0)
        return r;
    if (!files) {
        text_printf(t,
                    "# masd configuration (MAS's config.yaml format), generated by `masctl config generate`\n"
                    "# on %s. It holds secrets: keep it private (mode 0600).\n"
                    "\n%s"
                    "secrets:\n"
                    "  encryption: \"%s\"\n",
                    now, GENERATED_HTTP, hex);
    } else {
        text_printf(t,
                    "# masd configuration (MAS's config.yaml format), generated by `masctl config generate`\n"
                    "# on %s. The secrets are in files beside it (relative names are taken from this\n"
                    "# file's directory): the stateless services get this file alone, the DB-backed\n"
                    "# ones the secret files too (LoadCredential= in their units).\n"
                    "\n%s"
                    "# PostgreSQL instead: host, username, database and password_file: database-password\n"
                    "# (a file beside this one, added to the DB-backed units' LoadCredential=).\n"
                    "\n"
                    "secrets:\n"
                    "  encryption_file: " SECRET_ENCRYPTION "\n",
                    now, GENERATED_HTTP);
        files[0].name = SECRET_ENCRYPTION;
        text_printf(&files[0].text, "%s\n", hex);
        files[1].name = SECRET_MATRIX;
        text_printf(&files[1].text, "%s\n", hs_secret);
    }
    r = append_keys(t, files);
    if (r < 0)
        return r;
    text_printf(t, "\nmatrix:\n  homeserver: localhost:8008\n");
    if (files)
        text_printf(t, "  secret_file: " SECRET_MATRIX "\n");
    else
        text_printf(t, "  secret: %s\n", hs_secret);
    text_printf(t, "  endpoint: http://localhost:8008/\n");
    OPENSSL_cleanse(hex, sizeof(hex));
    OPENSSL_cleanse(hs_secret, sizeof(hs_secret));
    for (size_t i = 0; files && i < N_SECRET_FILES; i++)
        if (files[i].text.oom)
            return -ENOMEM;
    return t->oom ? -ENOMEM : 0;
}

static void text_wipe(struct text *t)
{
    if (t->buf)
        OPENSSL_cleanse(t->buf, t->len);
    free(t->buf);
    *t = (struct text){0};
}

/* dir/name for each secret file; an existing one is never replaced: it may hold the key that
 * decrypts what the database holds. */
static int secret_paths(struct masctl *m, const char *output, char *paths[N_SECRET_FILES],
                        const struct secret_file *files)
{
    const char *slash = strrchr(output, '/');
    int dirlen = slash ? (int)(slash - output) + 1 : 0;
    for (size_t i = 0; i < N_SECRET_FILES; i++) {
        if (asprintf(&paths[i], "%.*s%s", dirlen, output, files[i].name) < 0) {
            paths[i] = NULL;
            return masctl_fail(m, "out of memory"), -ENOMEM;
        }
        if (access(paths[i], F_OK) == 0)
            return masctl_fail(m,
                               "%s exists: not replacing a secret (it may decrypt what the database holds); "
                               "move it away or write elsewhere",
                               paths[i]),
                   -EEXIST;
    }
    return 0;
}

static int cmd_generate(struct masctl *m, int argc, char **argv)
{
    const char *output;
    int status = masctl_parse_output(m, argc, argv, &output);
    if (status != MASCTL_GO_ON)
        return status;
    struct text t = {0};
    struct secret_file files[N_SECRET_FILES] = {0};
    char *paths[N_SECRET_FILES] = {0};
    int r = generate_config(&t, output ? files : NULL);
    if (r < 0)
        masctl_fail(m, "cannot generate the secrets: %s", strerror(-r));
    if (r >= 0 && output)
        r = secret_paths(m, output, paths, files);
    /* The secret files first: the config never names a file that is not there. */
    for (size_t i = 0; r >= 0 && output && i < N_SECRET_FILES; i++)
        r = masctl_write_output(m, paths[i], files[i].text.buf, files[i].text.len);
    if (r >= 0)
        r = masctl_write_output(m, output, t.buf, t.len);
    if (r >= 0 && !output && isatty(STDERR_FILENO))
        fprintf(stderr, "masctl: the secrets are inline: every service that loads this file gets them; "
                        "`masctl config generate -o FILE` keeps them in files beside FILE\n");
    text_wipe(&t);
    for (size_t i = 0; i < N_SECRET_FILES; i++) {
        text_wipe(&files[i].text);
        free(paths[i]);
    }
    return r < 0 ? MASCTL_FAILED : MASCTL_OK;
}

/* ---- check ----------------------------------------------------------------------------------- */

static int cmd_check(struct masctl *m, int argc, char **argv)
{
    int status = masctl_parse_plain(m, argc, argv, 0, 0);
    if (status != MASCTL_GO_ON)
        return status;
    struct config *cfg;
    if (masctl_load_config(m, &cfg) < 0)
        return MASCTL_FAILED;
    /* MAS requires the secrets section of every deployment; masd-discovery and masd-assets can
     * do without it, so the loader accepts its absence and this check, for the whole
     * deployment, does not. */
    if (!cfg->has_encryption) {
        config_free(cfg);
        return masctl_fail(m,
                           "%s: the secrets section is missing (MAS requires it; `masctl config "
                           "generate` makes one)",
                           m->config_path);
    }
    printf("%s: the configuration is valid", m->config_path);
    if (cfg->n_warnings)
        printf(" (%zu warning%s above)", cfg->n_warnings, cfg->n_warnings == 1 ? "" : "s");
    printf("\n");
    config_free(cfg);
    return MASCTL_OK;
}

int masctl_config_dump(struct masctl *m, int argc, char **argv);
int masctl_config_sync(struct masctl *m, int argc, char **argv);

static const struct masctl_command CONFIG_COMMANDS[] = {
    {"generate", "[-o FILE]",
     "Write a new configuration: fresh secrets and keys, SQLite, the shipped sockets",
     "  -o, --output FILE                 write to FILE (mode 0600, replaced atomically) instead of standard "
     "output,\n"
     "                                    with the secrets in files beside it (" SECRET_ENCRYPTION
     ", " SECRET_MATRIX ",\n"
     "                                    key-rsa.pem, key-p256.pem; never replaced); on standard output\n"
     "                                    the secrets are inline\n",
     cmd_generate},
    {"check", "", "Load and validate the configuration, as the services do at start-up", NULL, cmd_check},
    {"dump", "[-o FILE]", "Print the effective configuration (defaults filled in) as YAML",
     "  -o, --output FILE                 write to FILE (mode 0600, replaced atomically) instead of standard "
     "output\n",
     masctl_config_dump},
    {"sync", "[--prune] [--dry-run]", "Write the clients section to the database",
     "      --prune                       delete static clients no longer configured\n"
     "      --dry-run                     change nothing; say what would change\n",
     masctl_config_sync},
};

const struct masctl_group masctl_config_group = {"config", "Generate, check and print the configuration",
                                                 CONFIG_COMMANDS,
                                                 sizeof(CONFIG_COMMANDS) / sizeof(CONFIG_COMMANDS[0])};
