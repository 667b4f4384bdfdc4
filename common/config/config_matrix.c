/* The matrix section (MAS: crates/config/src/sections/matrix.rs): the homeserver's server name
 * (the domain of every user ID masd hands out), its base URL, its kind, and the shared secret
 * both sides present: masd to the homeserver's /_synapse/mas API, the homeserver to the
 * introspection endpoint. Without the section masd uses MAS's
 * defaults and has no secret (introspection then needs client authentication). */
#include "config_internal.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = {"synapse", "synapse_modern", "synapse_read_only"};

static int get_string_default(struct config_loader *ld, const struct ynode *m, const char *key,
                              const char *dflt, char **out)
{
    char p[CONFIG_PATH_MAX];
    int r = config_get_string_or_null(ld, ynode_get(m, key, NULL), config_subpath(p, "matrix", key), out);
    if (r >= 0 && !*out && !(*out = strdup(dflt)))
        r = -ENOMEM;
    return r;
}

/* secret as UTF-8 bytes, or secret_file's bytes with surrounding whitespace trimmed (MAS trims
 * them, to match Synapse, which strip()s its secret_path). */
static int parse_secret(struct config_loader *ld, const struct ynode *m, struct config_matrix *out)
{
    char *data;
    size_t len;
    const struct ynode *where;
    int r = config_get_secret(ld, m, "matrix", "secret", true, &data, &len, &where);
    if (r >= 0 && data && where != ynode_get(m, "secret", NULL)) {
        size_t start = 0;
        while (start < len && strchr(" \t\r\n\v\f", data[start]) && data[start])
            start++;
        while (len > start && strchr(" \t\r\n\v\f", data[len - 1]) && data[len - 1])
            len--;
        size_t whole = strlen(data);
        memmove(data, data + start, len - start);
        len -= start;
        memset(data + len, 0, whole - len); /* no copy of the secret's tail left behind */
    }
    if (r >= 0 && data && len == 0)
        r = config_error(ld, where, -EINVAL, "matrix: the secret is empty");
    if (r >= 0 && data) {
        out->secret = (unsigned char *)data, out->secret_len = len;
        return r;
    }
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return r;
}

/* synapse and synapse_modern are Synapse's /_synapse/mas API; synapse_read_only the same without
 * writes. synapse_legacy (the admin API) only works with Synapse's MSC3861 mode, which Synapse
 * 1.157 removed: refused, with the way out. */
static int check_kind(struct config_loader *ld, const struct ynode *m, const char *kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return 0;
    const struct ynode *at = ynode_get(m, "kind", NULL);
    if (strcmp(kind, "synapse_legacy") == 0)
        return config_error(ld, at, -EINVAL,
                            "matrix.kind: synapse_legacy (Synapse's admin API) is not supported by masd: it "
                            "needs Synapse's MSC3861 mode, removed in Synapse 1.157; use synapse (Synapse "
                            ">= 1.136 with matrix_authentication_service enabled)");
    char shown[96];
    config_quote_bytes(kind, strlen(kind), shown, sizeof(shown));
    return config_error(ld, at, -EINVAL,
                        "matrix.kind: '%s': expected synapse, synapse_modern or synapse_read_only", shown);
}

int config_matrix_parse(struct config_loader *ld, const struct ynode *m)
{
    struct config_matrix *out = &ld->cfg->matrix;
    static const struct ynode empty = {.kind = YNODE_MAPPING};
    if (!m || ynode_is_null(m))
        m = &empty;
    int r = config_expect_mapping(ld, m, "matrix", true);
    if (r >= 0)
        r = get_string_default(ld, m, "homeserver", "localhost:8008", &out->homeserver);
    if (r >= 0 && !out->homeserver[0])
        r = config_error(ld, ynode_get(m, "homeserver", NULL), -EINVAL,
                         "matrix.homeserver: may not be empty");
    if (r >= 0)
        r = get_string_default(ld, m, "endpoint", "http://localhost:8008/", &out->endpoint);
    if (r >= 0 && strncmp(out->endpoint, "http://", 7) != 0 && strncmp(out->endpoint, "https://", 8) != 0)
        r = config_error(ld, ynode_get(m, "endpoint", NULL), -EINVAL,
                         "matrix.endpoint: expected an http:// or https:// URL");
    if (r >= 0)
        r = get_string_default(ld, m, "kind", "synapse", &out->kind);
    if (r >= 0)
        r = check_kind(ld, m, out->kind);
    if (r >= 0)
        r = parse_secret(ld, m, out);
    return r;
}

void config_matrix_free(struct config_matrix *m)
{
    free(m->homeserver);
    free(m->endpoint);
    free(m->kind);
    if (m->secret)
        OPENSSL_cleanse(m->secret, m->secret_len);
    free(m->secret);
    memset(m, 0, sizeof(*m));
}
