/* Shared by the config loader's files (config*.c); not for services. */
#pragma once
#include "config.h"
#include "yaml_tree.h"
#include <jansson.h>
#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>

/* Config paths in messages: "http.listeners[0].binds[1].port". */
#define CONFIG_PATH_MAX 256
/* Files named by the config (certificates, keys, passwords) are small; this bounds a mistake
 * such as key_file: /dev/zero. */
#define CONFIG_FILE_MAX (1u << 20)
/* MAS's default for the assets resource's path (non-docker, non-dist build). */
#define CONFIG_ASSETS_DEFAULT_PATH "./frontend/dist/"

struct config_loader {
    const char *name; /* file name in messages */
    const char *dir;  /* relative file names are taken from here: the config file's directory */
    unsigned flags;   /* CONFIG_NO_SECRETS */
    char *error;      /* the first error, "name:line:column: message" */
    struct config *cfg;
    bool *warned; /* per config_keys entry: warned once already */
};

/* Writes path + "." + key into buf (CONFIG_PATH_MAX bytes) and returns buf. */
char *config_subpath(char *buf, const char *path, const char *key);
/* Writes path + "." + key + "[index]" into buf (CONFIG_PATH_MAX bytes) and returns buf. */
char *config_itempath(char *buf, const char *path, const char *key, size_t index);

/* Records "name:line:column: message" (position of `at`, or none when NULL) as the error unless
 * one is already recorded, and returns r (a negative errno). */
int config_error(struct config_loader *ld, const struct ynode *at, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A scalar as it may appear in a message: control characters escaped, cut after ~64 bytes.
 * size should be at least 80. */
void config_quote(const struct ynode *n, char *buf, size_t size);
void config_quote_bytes(const char *s, size_t len, char *buf, size_t size);

/* Records a warning "name:line:column: message" in cfg->warnings (logged after loading). */
int config_warning(struct config_loader *ld, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Typed reads of a value at `path`. On a mismatch they record "path: expected ..." at the value
 * and return -EINVAL. */
int config_get_bool(struct config_loader *ld, const struct ynode *n, const char *path, bool *out);
/* Any non-null scalar; *out is malloc'd. */
int config_get_string(struct config_loader *ld, const struct ynode *n, const char *path, char **out);
/* Same, but null (or a missing value, n == NULL) gives *out = NULL. */
int config_get_string_or_null(struct config_loader *ld, const struct ynode *n, const char *path, char **out);
int config_get_int(struct config_loader *ld, const struct ynode *n, const char *path, long long min,
                   long long max, long long *out);
/* Checks that n is a mapping (null counts as an empty mapping when null_ok). */
int config_expect_mapping(struct config_loader *ld, const struct ynode *n, const char *path, bool null_ok);
int config_expect_sequence(struct config_loader *ld, const struct ynode *n, const char *path);

/* Reads a regular file of at most CONFIG_FILE_MAX bytes named by the value at `path` (a
 * relative name is taken from the config file's directory, config_file_name()). *data is
 * NUL-terminated. Errors name the key and the file. */
int config_read_file(struct config_loader *ld, const struct ynode *at, const char *path, const char *file,
                     char **data, size_t *len);
/* A secret given inline (`key`) or in a file (`key`_file), at most one of them as in MAS: with
 * `read`, *data is the inline text's bytes or the file's bytes exactly as they are
 * (NUL-terminated, malloc'd; NULL when neither is set), else both are only type-checked. With
 * CONFIG_NO_SECRETS a file is not read: *data stays NULL.
 * *where (may be NULL) is the node the value came from, for the caller's own checks. The caller
 * wipes and frees *data. */
int config_get_secret(struct config_loader *ld, const struct ynode *map, const char *path, const char *key,
                      bool read, char **data, size_t *len, const struct ynode **where);
/* The same without a config position, for files found in a directory. */
int read_small_file(const char *file, char **data, size_t *len);
/* The file name to open for `file` as written in the config: relative names are taken from the
 * config file's directory (MAS takes them from the working directory; a config and the secret
 * files beside it then work from anywhere, under systemd from the credentials directory).
 * malloc'd, NULL when out of memory. */
char *config_file_name(const struct config_loader *ld, const char *file);

/* Both members of a mutually exclusive pair, e.g. key and key_file: an error at the second
 * one when both are set (null counts as not set). Returns 0 or -EINVAL. */
int config_one_of(struct config_loader *ld, const struct ynode *map, const char *path, const char *a,
                  const char *b, bool required);

/* Walks every key of the document against config_keys: unknown keys and duplicate keys are
 * errors, known but unimplemented keys are warnings (once per key path). */
int config_keys_check(struct config_loader *ld, const struct ynode *root);

/* Why a URL path (or a listener prefix) is unacceptable, or NULL: no query or fragment, no
 * character that needs percent-encoding, no '.' or '..' segment. */
const char *config_check_path(const char *path);

int config_http_parse(struct config_loader *ld, const struct ynode *key, const struct ynode *http);
int config_http_defaults(struct config_loader *ld);
int config_listener_parse(struct config_loader *ld, const struct ynode *n, size_t index,
                          struct config_listener *l);
int config_binds_parse(struct config_loader *ld, const struct ynode *n, const char *path,
                       struct config_listener *l);
int config_tls_parse(struct config_loader *ld, const struct ynode *n, const char *path,
                     struct config_tls **out);
void config_tls_free(struct config_tls *tls);
int config_secrets_parse(struct config_loader *ld, const struct ynode *secrets);
/* The passwords section (section may be NULL: MAS's defaults); config_passwords_free() wipes the
 * peppers (part of config_free). */
int config_passwords_parse(struct config_loader *ld, const struct ynode *section);
void config_passwords_free(struct config_passwords *pw);
/* Frees the keys and wipes the encryption secret (part of config_free). */
void config_secrets_free(struct config *cfg);
/* The database section (db may be NULL: the embedded SQLite default); config_database_free()
 * wipes the password (part of config_free). */
int config_database_parse(struct config_loader *ld, const struct ynode *db);
void config_database_free(struct config_database *d);

/* A private key in PEM or DER (PKCS#1, PKCS#8, SEC1; PKCS#8 encrypted with `password`). Returns
 * 0 and the decoded key, or -EINVAL with a reason ("wrong password", ...) in *why. */
int config_decode_private_key(const char *data, size_t len, const char *password, EVP_PKEY **out,
                              const char **why);
/* The family of a decoded key, or -EOPNOTSUPP with the key's type written to desc. */
int config_key_family(EVP_PKEY *pkey, enum key_family *out, char *desc, size_t size);

/* A private key given as key/key_file with an optional password/password_file (TLS and
 * secrets.keys items): read, decoded and checked. */
struct key_material {
    char *data; /* the key bytes as given (PEM, or PEM/DER from a file), NUL-terminated */
    size_t len;
    char *password; /* NULL when none */
    EVP_PKEY *pkey;
    const struct ynode *at;           /* the key or key_file value, for later messages */
    char what[CONFIG_PATH_MAX + 100]; /* "x.key_file: 'file'" for later messages */
};
int config_key_material(struct config_loader *ld, const struct ynode *map, const char *path,
                        struct key_material *km);
void key_material_clear(struct key_material *km);
/* The matrix section (may be NULL: MAS's defaults, no secret); config_matrix_free() wipes the
 * secret (part of config_free). */
int config_matrix_parse(struct config_loader *ld, const struct ynode *section);
void config_matrix_free(struct config_matrix *m);
/* The email section (may be NULL: MAS's defaults); config_email_free() wipes the password (part
 * of config_free). */
int config_email_parse(struct config_loader *ld, const struct ynode *section);
void config_email_free(struct config_email *e);
/* The rate_limiting section (may be NULL: MAS's defaults). */
int config_rate_limiting_parse(struct config_loader *ld, const struct ynode *section);
/* The clients section (may be NULL: none); config_clients_free() wipes the secrets. */
int config_clients_parse(struct config_loader *ld, const struct ynode *section);
void config_clients_free(struct config *cfg);

/* A YAML subtree as JSON. typed: plain scalars resolve as YAML 1.2's core schema does (null,
 * true/false, integers, finite floats), everything else is a string, as serde reads a free-form
 * value (MAS: policy.data is a serde_json::Value); untyped: every scalar is a string. Returns
 * NULL when a string is not UTF-8 or holds NUL, a key is not a scalar, or memory runs out; *bad
 * is then the node at fault (NULL: out of memory). */
json_t *config_yaml_to_json(const struct ynode *n, bool typed, const struct ynode **bad);

/* The policy section (may be NULL: MAS's defaults) and experimental.session_limit (the policy
 * data MAS builds from them, MAS: crates/cli/src/util.rs policy_factory_from_config). */
int config_policy_parse(struct config_loader *ld, const struct ynode *policy,
                        const struct ynode *experimental);
void config_policy_free(struct config *cfg);
/* upstream_oauth2 (may be NULL: no provider); config_upstream_free() wipes the secrets and frees
 * the compiled templates (part of config_free). */
int config_upstream_parse(struct config_loader *ld, const struct ynode *section);
void config_upstream_free(struct config *cfg);
