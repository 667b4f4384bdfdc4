/* The clients section (MAS: crates/config/src/sections/clients.rs): static OAuth clients. Each
 * has a ULID client_id and an authentication method, with what that method needs and nothing
 * it cannot use: a secret for client_secret_*, exactly one of jwks and jwks_uri for
 * private_key_jwt, neither for none. Checked here so that `masctl config check` catches a
 * client that could never authenticate. */
#include "config_internal.h"
#include "ulid.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static const char *const methods[] = {"none", "client_secret_basic", "client_secret_post",
                                      "client_secret_jwt", "private_key_jwt"};

static int parse_jwks(struct config_loader *ld, const struct ynode *n, const char *path,
                      struct config_client *c)
{
    if (!n || ynode_is_null(n))
        return 0;
    int r = config_expect_mapping(ld, n, path, false);
    const struct ynode *keys = r >= 0 ? ynode_get(n, "keys", NULL) : NULL;
    char p[CONFIG_PATH_MAX];
    if (r >= 0 && !keys)
        return config_error(ld, n, -EINVAL, "%s: expected a JWKS with a keys list", path);
    if (r >= 0)
        r = config_expect_sequence(ld, keys, config_subpath(p, path, "keys"));
    if (r < 0)
        return r;
    /* every JWK member masd reads is a string: scalars stay strings */
    const struct ynode *bad = NULL;
    json_t *j = config_yaml_to_json(n, false, &bad);
    c->jwks = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return c->jwks ? 0 : config_error(ld, n, -EINVAL, "%s: not valid UTF-8", path);
}

static int parse_secret(struct config_loader *ld, const struct ynode *m, const char *path,
                        struct config_client *c)
{
    char p[CONFIG_PATH_MAX];
    size_t len;
    const struct ynode *where;
    int r = config_get_secret(ld, m, path, "client_secret", true, &c->client_secret, &len, &where);
    if (r >= 0 && c->client_secret && strlen(c->client_secret) != len) /* as MAS: the bytes as they are */
        r = config_error(ld, where, -EINVAL, "%s: the secret holds a NUL byte",
                         config_subpath(p, path, "client_secret_file"));
    return r;
}

static int parse_redirect_uris(struct config_loader *ld, const struct ynode *n, const char *path,
                               struct config_client *c)
{
    if (!n || ynode_is_null(n))
        return 0;
    int r = config_expect_sequence(ld, n, path);
    if (r < 0)
        return r;
    c->redirect_uris = calloc(n->n_items ? n->n_items : 1, sizeof(char *));
    if (!c->redirect_uris)
        return -ENOMEM;
    for (size_t i = 0; i < n->n_items && r >= 0; i++) {
        char p[CONFIG_PATH_MAX];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        r = config_get_string(ld, n->items[i], p, &c->redirect_uris[i]);
        if (r >= 0)
            c->n_redirect_uris++;
    }
    return r;
}

/* What the method needs, and nothing it cannot use. */
static int check_method(struct config_loader *ld, const struct ynode *m, const char *path,
                        const struct config_client *c)
{
    const char *meth = c->client_auth_method;
    bool secret = strncmp(meth, "client_secret_", 14) == 0, keys = strcmp(meth, "private_key_jwt") == 0;
    const struct ynode *at = ynode_get(m, "client_auth_method", NULL);
    if (secret && !c->client_secret && !(ld->flags & CONFIG_NO_SECRETS)) /* else maybe in a file not read */
        return config_error(ld, at, -EINVAL, "%s: %s needs client_secret or client_secret_file", path, meth);
    if (!secret && c->client_secret)
        return config_error(ld, at, -EINVAL, "%s: %s takes no client secret", path, meth);
    if (keys && !c->jwks == !c->jwks_uri)
        return config_error(ld, at, -EINVAL, "%s: private_key_jwt needs exactly one of jwks and jwks_uri",
                            path);
    if (!keys && (c->jwks || c->jwks_uri))
        return config_error(ld, at, -EINVAL, "%s: %s takes no jwks or jwks_uri", path, meth);
    return 0;
}

static int parse_client(struct config_loader *ld, const struct ynode *m, size_t index,
                        struct config_client *c)
{
    char path[CONFIG_PATH_MAX], p[CONFIG_PATH_MAX];
    snprintf(path, sizeof(path), "clients[%zu]", index);
    c->pos = (struct config_pos){m->line, m->column};
    int r = config_expect_mapping(ld, m, path, false);
    if (r >= 0 && !ynode_get(m, "client_id", NULL))
        r = config_error(ld, m, -EINVAL, "%s: client_id is required", path);
    if (r >= 0 && !ynode_get(m, "client_auth_method", NULL))
        r = config_error(ld, m, -EINVAL, "%s: client_auth_method is required", path);
    if (r >= 0)
        r = config_get_string(ld, ynode_get(m, "client_id", NULL), config_subpath(p, path, "client_id"),
                              &c->client_id);
    uint8_t raw[16];
    if (r >= 0 && (strlen(c->client_id) != ULID_LEN || ulid_parse(c->client_id, raw) < 0))
        r = config_error(ld, ynode_get(m, "client_id", NULL), -EINVAL, "%s: expected a ULID", p);
    if (r >= 0)
        r = config_get_string(ld, ynode_get(m, "client_auth_method", NULL),
                              config_subpath(p, path, "client_auth_method"), &c->client_auth_method);
    bool known = false;
    for (size_t i = 0; r >= 0 && i < sizeof(methods) / sizeof(methods[0]); i++)
        known |= strcmp(c->client_auth_method, methods[i]) == 0;
    if (r >= 0 && !known)
        r = config_error(ld, ynode_get(m, "client_auth_method", NULL), -EINVAL,
                         "%s: expected none, client_secret_basic, client_secret_post, client_secret_jwt or "
                         "private_key_jwt",
                         p);
    if (r >= 0)
        r = config_get_string_or_null(ld, ynode_get(m, "client_name", NULL),
                                      config_subpath(p, path, "client_name"), &c->client_name);
    if (r >= 0)
        r = config_get_string_or_null(ld, ynode_get(m, "client_uri", NULL),
                                      config_subpath(p, path, "client_uri"), &c->client_uri);
    if (r >= 0)
        r = config_get_string_or_null(ld, ynode_get(m, "jwks_uri", NULL), config_subpath(p, path, "jwks_uri"),
                                      &c->jwks_uri);
    if (r >= 0)
        r = parse_secret(ld, m, path, c);
    if (r >= 0)
        r = parse_jwks(ld, ynode_get(m, "jwks", NULL), config_subpath(p, path, "jwks"), c);
    if (r >= 0)
        r = parse_redirect_uris(ld, ynode_get(m, "redirect_uris", NULL),
                                config_subpath(p, path, "redirect_uris"), c);
    if (r >= 0)
        r = check_method(ld, m, path, c);
    return r;
}

int config_clients_parse(struct config_loader *ld, const struct ynode *section)
{
    if (!section || ynode_is_null(section))
        return 0;
    int r = config_expect_sequence(ld, section, "clients");
    if (r < 0)
        return r;
    struct config *cfg = ld->cfg;
    cfg->clients = calloc(section->n_items ? section->n_items : 1, sizeof(*cfg->clients));
    if (!cfg->clients)
        return -ENOMEM;
    for (size_t i = 0; i < section->n_items; i++) {
        cfg->n_clients++;
        if ((r = parse_client(ld, section->items[i], i, &cfg->clients[i])) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->clients[j].client_id, cfg->clients[i].client_id) == 0)
                return config_error(ld, section->items[i], -EINVAL,
                                    "clients[%zu]: client_id %s is used by clients[%zu] already", i,
                                    cfg->clients[i].client_id, j);
    }
    return 0;
}

void config_clients_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_clients; i++) {
        struct config_client *c = &cfg->clients[i];
        free(c->client_id);
        free(c->client_auth_method);
        free(c->client_name);
        free(c->client_uri);
        if (c->client_secret)
            OPENSSL_cleanse(c->client_secret, strlen(c->client_secret));
        free(c->client_secret);
        free(c->jwks);
        free(c->jwks_uri);
        for (size_t j = 0; j < c->n_redirect_uris; j++)
            free(c->redirect_uris[j]);
        free(c->redirect_uris);
    }
    free(cfg->clients);
    cfg->clients = NULL;
    cfg->n_clients = 0;
}
