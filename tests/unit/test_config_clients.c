/* The clients section: what each authentication method needs, and every mistake at its line
 * and column; and the digest that decides whether masd-oauth re-syncs at start. */
#include "clients_sync.h"
#include "config_check.h"
#include "secrets.h"
#include "storage_jti.h"
#include "storage_test.h"

#define ID1 "01J00000000000000000000AAA"
#define ID2 "01J00000000000000000000BBB"

static void test_valid(void)
{
    struct config *cfg = load("clients:\n"
                              "  - client_id: " ID1 "\n"
                              "    client_auth_method: client_secret_basic\n"
                              "    client_secret: s3cret\n"
                              "    client_name: Element\n"
                              "    redirect_uris: [https://app.example.com/cb, http://localhost/cb]\n"
                              "  - client_id: " ID2 "\n"
                              "    client_auth_method: private_key_jwt\n"
                              "    jwks:\n"
                              "      keys:\n"
                              "        - {kty: EC, crv: P-256, x: abc, y: def, kid: k1}\n");
    CHECK_INT(cfg->n_clients, 2);
    CHECK_STR(cfg->clients[0].client_id, ID1);
    CHECK_STR(cfg->clients[0].client_auth_method, "client_secret_basic");
    CHECK_STR(cfg->clients[0].client_secret, "s3cret");
    CHECK_STR(cfg->clients[0].client_name, "Element");
    CHECK(cfg->clients[0].client_uri == NULL && cfg->clients[0].jwks == NULL);
    CHECK_INT(cfg->clients[0].n_redirect_uris, 2);
    CHECK_STR(cfg->clients[0].redirect_uris[1], "http://localhost/cb");
    CHECK_STR(cfg->clients[1].jwks,
              "{\"keys\":[{\"crv\":\"P-256\",\"kid\":\"k1\",\"kty\":\"EC\",\"x\":\"abc\",\"y\":\"def\"}]}");
    CHECK(cfg->clients[1].client_secret == NULL);
    CHECK_INT(cfg->n_warnings, 0);

    /* the digest: stable, and moved by any change (the secret included) */
    char d1[STORAGE_HASH_SIZE], d2[STORAGE_HASH_SIZE];
    CHECK_INT(clients_digest(cfg, d1), 0);
    CHECK_INT(clients_digest(cfg, d2), 0);
    CHECK_STR(d1, d2);
    CHECK_INT(strlen(d1), 64);
    free(cfg->clients[0].client_secret);
    cfg->clients[0].client_secret = strdup("other");
    CHECK_INT(clients_digest(cfg, d2), 0);
    CHECK(strcmp(d1, d2) != 0);
    config_free(cfg);

    cfg = load("clients: ~\n");
    CHECK_INT(cfg->n_clients, 0);
    config_free(cfg);
}

static void test_errors(void)
{
    CHECK_ERROR("clients: {a: 1}\n", "config.yaml:1:10: clients: expected a list, found a mapping");
    CHECK_ERROR("clients:\n  - client_id: 01A\n    client_auth_method: none\n",
                "config.yaml:2:16: clients[0].client_id: expected a ULID");
    CHECK_ERROR("clients:\n  - client_auth_method: none\n",
                "config.yaml:2:5: clients[0]: client_id is required");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n",
                "config.yaml:2:5: clients[0]: client_auth_method is required");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: magic\n",
                "config.yaml:3:25: clients[0].client_auth_method: expected none, client_secret_basic, "
                "client_secret_post, client_secret_jwt or private_key_jwt");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: client_secret_post\n",
                "config.yaml:3:25: clients[0]: client_secret_post needs client_secret or client_secret_file");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: none\n    client_secret: x\n",
                "config.yaml:3:25: clients[0]: none takes no client secret");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: private_key_jwt\n",
                "config.yaml:3:25: clients[0]: private_key_jwt needs exactly one of jwks and jwks_uri");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: private_key_jwt\n"
                "    jwks_uri: https://x/\n    jwks: {keys: []}\n",
                "config.yaml:3:25: clients[0]: private_key_jwt needs exactly one of jwks and jwks_uri");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: private_key_jwt\n    jwks: {}\n",
                "config.yaml:4:11: clients[0].jwks: expected a JWKS with a keys list");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: client_secret_basic\n"
                "    client_secret: a\n    client_secret_file: b\n",
                "config.yaml:5:5: clients[0]: set either client_secret or client_secret_file, not both");
    CHECK_ERROR("clients:\n  - client_id: " ID1 "\n    client_auth_method: none\n"
                "  - client_id: " ID1 "\n    client_auth_method: none\n",
                "config.yaml:4:5: clients[1]: client_id " ID1 " is used by clients[0] already");
}

#define SYNC_YAML                                                                                            \
    "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"             \
    "clients:\n  - client_id: " ID1 "\n    client_auth_method: client_secret_basic\n"                        \
    "    client_secret: s3cret\n"

/* The sync on a backend: written, then skipped while unchanged, dry runs change nothing, and
 * --prune deletes what the section lost. */
static void test_sync(enum storage_backend b)
{
    char uri[512];
    test_db(b, "sync", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    struct config *cfg = load(SYNC_YAML "  - client_id: " ID2 "\n    client_auth_method: none\n");
    struct secrets *s = NULL;
    CHECK_INT(secrets_from_config(cfg, &s), 0);
    struct clients_sync sync = {.only_if_changed = true, .dry_run = true};
    CHECK_INT(clients_sync_run(cfg, st, s, &sync), 0);
    CHECK(!sync.unchanged && sync.written == 2);
    sync = (struct clients_sync){.only_if_changed = true};
    CHECK_INT(clients_sync_run(cfg, st, s, &sync), 0); /* the dry run stored no digest */
    CHECK(!sync.unchanged && sync.written == 2);
    sync = (struct clients_sync){.only_if_changed = true};
    CHECK_INT(clients_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.unchanged && sync.written == 0);

    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_oauth_client c;
    CHECK_INT(storage_oauth_client_get(tx, ID1, &c), 0);
    CHECK_STR(c.token_endpoint_auth_method, "client_secret_basic");
    CHECK(c.is_static);
    void *plain = NULL;
    size_t len = 0;
    CHECK_INT(secrets_open(s, "client-secret", c.encrypted_secret, &plain, &len), 0);
    CHECK_STR(plain, "s3cret");
    free(plain);
    storage_oauth_client_clear(&c);
    test_tx_end(tx, false);

    config_free(cfg);
    cfg = load(SYNC_YAML);
    sync = (struct clients_sync){.prune = true, .dry_run = true};
    CHECK_INT(clients_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.written == 1 && sync.pruned == 1);
    sync = (struct clients_sync){.prune = true};
    CHECK_INT(clients_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.written == 1 && sync.pruned == 1);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_oauth_client_get(tx, ID2, &c), -ENOENT);
    test_tx_end(tx, false);
    secrets_free(s);
    config_free(cfg);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_valid();
    test_errors();
    enum storage_backend backends[2];
    int n = test_backends(backends);
    for (int i = 0; i < n; i++)
        test_sync(backends[i]);
    return check_report("test_config_clients");
}
