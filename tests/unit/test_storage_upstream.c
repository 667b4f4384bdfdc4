/* Upstream providers in the database (storage_upstream.c, upstream_sync.c) on SQLite and
 * PostgreSQL: the sync writes every enabled provider with MAS's columns, skips while the section
 * is unchanged, marks removed and `enabled: false` providers disabled (their links stay),
 * re-enables one that comes back, and --prune deletes disabled ones with their links and
 * authorization sessions. */
#include "config_check.h"
#include "secrets.h"
#include "storage_test.h"
#include "storage_upstream.h"
#include "upstream_sync.h"
#include <errno.h>

#define ID1 "01GFWR28C4KNE04WG3HKXB7C9R"
#define ID2 "01GFWR32NCQ12B8Z0J8CPXRRB6"
#define NOW 1700000000000LL

#define HEAD                                                                                                 \
    "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"             \
    "upstream_oauth2:\n  providers:\n"
#define P1                                                                                                   \
    "    - id: " ID1 "\n      issuer: https://idp.example.com\n      human_name: Example\n"                  \
    "      client_id: masd\n      client_secret: s3cret\n"                                                   \
    "      token_endpoint_auth_method: client_secret_basic\n      scope: \"openid email profile\"\n"         \
    "      pkce_method: never\n      response_mode: form_post\n      synapse_idp_id: oidc-example\n"         \
    "      claims_imports:\n        localpart: {action: require, template: \"{{ user.preferred_username "    \
    "}}\","                                                                                                  \
    " on_conflict: add}\n        skip_confirmation: true\n"                                                  \
    "      additional_authorization_parameters: {prompt: login}\n"
#define P2(enabled)                                                                                          \
    "    - id: " ID2 "\n      enabled: " enabled "\n      issuer: https://two.example.com\n"                 \
    "      client_id: two\n      token_endpoint_auth_method: none\n"

static int64_t provider_disabled_at(struct storage *st, const char *id)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_upstream_provider p;
    int r = storage_upstream_provider_get(tx, id, &p);
    test_tx_end(tx, false);
    int64_t d = r < 0 ? -1 : p.disabled_at;
    storage_upstream_provider_clear(&p);
    return d;
}

static void test_sync(enum storage_backend b)
{
    char uri[512];
    test_db(b, "upstream", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    struct config *cfg = load(HEAD P1 P2("true"));
    struct secrets *s = NULL;
    CHECK_INT(secrets_from_config(cfg, &s), 0);
    struct upstream_sync sync = {.only_if_changed = true, .dry_run = true};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(!sync.unchanged && sync.written == 2);
    CHECK_INT(provider_disabled_at(st, ID1), -1); /* the dry run wrote nothing */
    sync = (struct upstream_sync){.only_if_changed = true};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(!sync.unchanged && sync.written == 2);
    sync = (struct upstream_sync){.only_if_changed = true};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.unchanged && sync.written == 0);

    /* the row, as MAS stores it */
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_upstream_provider p;
    CHECK_INT(storage_upstream_provider_get(tx, ID1, &p), 0);
    test_tx_end(tx, false);
    CHECK_STR(p.issuer, "https://idp.example.com");
    CHECK_STR(p.human_name, "Example");
    CHECK(p.brand_name == NULL);
    CHECK_STR(p.synapse_idp_id, "oidc-example");
    CHECK_STR(p.scope, "email openid profile");
    CHECK_STR(p.client_id, "masd");
    CHECK_STR(p.token_endpoint_auth_method, "client_secret_basic");
    CHECK(p.token_endpoint_signing_alg == NULL);
    CHECK_STR(p.id_token_signed_response_alg, "RS256");
    CHECK(!p.fetch_userinfo);
    CHECK_STR(p.discovery_mode, "oidc");
    CHECK_STR(p.pkce_mode, "disabled");
    CHECK_STR(p.response_mode, "form_post");
    CHECK_STR(p.on_backchannel_logout, "do_nothing");
    CHECK_INT(p.ui_order, 0);
    CHECK_INT(p.disabled_at, 0);
    CHECK_STR(p.claims_imports,
              "{\"subject\":{},\"skip_confirmation\":true,\"localpart\":{\"action\":\"require\","
              "\"template\":\"{{ user.preferred_username }}\",\"on_conflict\":\"add\"},"
              "\"displayname\":{},\"email\":{},\"account_name\":{}}");
    CHECK_STR(p.additional_parameters, "[[\"prompt\",\"login\"]]");
    void *plain = NULL;
    size_t len = 0;
    CHECK_INT(secrets_open(s, "upstream-client-secret", p.encrypted_client_secret, &plain, &len), 0);
    CHECK_STR(plain, "s3cret");
    free(plain);
    storage_upstream_provider_clear(&p);

    /* a link and a session of the second provider */
    struct storage_upstream_link link;
    char sid[STORAGE_ID_SIZE], found[STORAGE_ID_SIZE], prov[STORAGE_ID_SIZE];
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_link_create(tx, ID2, "sub-1", "@alice", NOW, &link), 0);
    CHECK_INT(storage_upstream_link_create(tx, ID2, "sub-1", NULL, NOW, &link), -EEXIST);
    CHECK_INT(storage_upstream_session_create(tx, ID2, "state-1", "verifier", NULL, NOW, sid), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* enabled: false: kept, marked; the link stays */
    config_free(cfg);
    cfg = load(HEAD P1 P2("false"));
    sync = (struct upstream_sync){.only_if_changed = true};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.written == 1 && sync.disabled == 1 && sync.pruned == 0);
    CHECK(provider_disabled_at(st, ID2) > 0);
    CHECK_INT(provider_disabled_at(st, ID1), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_upstream_link_find(tx, ID2, "sub-1", &link), 0);
    CHECK_STR(link.human_account_name, "@alice");
    CHECK(link.user_id[0] == '\0');
    test_tx_end(tx, false);
    /* back again: enabled, same row */
    config_free(cfg);
    cfg = load(HEAD P1 P2("true"));
    sync = (struct upstream_sync){0};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.written == 2 && sync.disabled == 0);
    CHECK_INT(provider_disabled_at(st, ID2), 0);

    /* removed: disabled; a dry prune changes nothing; prune deletes it with its link and session */
    config_free(cfg);
    cfg = load(HEAD P1);
    sync = (struct upstream_sync){.prune = true, .dry_run = true};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.written == 1 && sync.disabled == 1 && sync.pruned == 1);
    CHECK_INT(provider_disabled_at(st, ID2), 0);
    sync = (struct upstream_sync){0};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.disabled == 1 && sync.pruned == 0);
    CHECK(provider_disabled_at(st, ID2) > 0);
    sync = (struct upstream_sync){.prune = true};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);
    CHECK(sync.written == 1 && sync.disabled == 0 && sync.pruned == 1);
    CHECK_INT(provider_disabled_at(st, ID2), -1);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_upstream_link_find(tx, ID2, "sub-1", &link), -ENOENT);
    CHECK_INT(storage_upstream_session_find_state(tx, "state-1", found, prov), -ENOENT);
    test_tx_end(tx, false);
    CHECK_INT(provider_disabled_at(st, ID1), 0);

    /* state is unique */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_session_create(tx, ID1, "state-2", "v", "nonce", NOW, sid), 0);
    CHECK_INT(storage_upstream_session_find_state(tx, "state-2", found, prov), 0);
    CHECK_STR(found, sid);
    CHECK_STR(prov, ID1);
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK(storage_upstream_session_create(tx, ID1, "state-2", "v", NULL, NOW, sid) < 0);
    test_tx_end(tx, false);

    /* a secret needs secrets.encryption */
    config_free(cfg);
    secrets_free(s);
    storage_close(st);
    cfg = load("upstream_oauth2:\n  providers:\n" P1);
    test_db(b, "upstream2", uri, sizeof(uri));
    st = test_open(uri);
    sync = (struct upstream_sync){0};
    CHECK_INT(upstream_sync_run(cfg, st, NULL, &sync), -ENOKEY);
    CHECK_STR(sync.error, "provider " ID1 ": a client secret needs secrets.encryption");
    config_free(cfg);
    storage_close(st);
}

/* The authorization session's life: created pending, completed once with the callback's data
 * (a replay is -EALREADY), found by its link (the newest), consumed once. */
static void test_sessions(enum storage_backend b)
{
    char uri[512];
    test_db(b, "upstream_sessions", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    struct config *cfg = load(HEAD P1 P2("true"));
    struct secrets *s = NULL;
    CHECK_INT(secrets_from_config(cfg, &s), 0);
    struct upstream_sync sync = {0};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);

    char sid[STORAGE_ID_SIZE], sid2[STORAGE_ID_SIZE], sid3[STORAGE_ID_SIZE];
    struct storage_upstream_link link;
    struct storage_upstream_session row = {0};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_session_create(tx, ID1, "st-a", "verifier-a", "nonce-a", NOW, sid), 0);
    CHECK_INT(storage_upstream_session_create(tx, ID1, "st-b", NULL, NULL, NOW + 5, sid2), 0);
    CHECK_INT(storage_upstream_session_create(tx, ID1, "st-c", NULL, NULL, NOW + 9, sid3), 0);
    CHECK_INT(storage_upstream_link_create(tx, ID1, "sub-x", NULL, NOW, &link), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_upstream_session_get(tx, sid, &row), 0);
    CHECK_STR(row.id, sid);
    CHECK_STR(row.provider_id, ID1);
    CHECK_STR(row.state, "st-a");
    CHECK_STR(row.verifier, "verifier-a");
    CHECK_STR(row.nonce, "nonce-a");
    CHECK_STR(row.link_id, "");
    CHECK(row.id_token == NULL && row.id_token_claims == NULL && row.userinfo == NULL);
    CHECK(row.created_at == NOW && row.completed_at == 0 && row.consumed_at == 0);
    storage_upstream_session_clear(&row);
    CHECK_INT(storage_upstream_session_get(tx, sid2, &row), 0);
    CHECK_STR(row.verifier, "");
    CHECK_STR(row.nonce, "");
    storage_upstream_session_clear(&row);
    CHECK_INT(storage_upstream_session_get(tx, "01GFWR28C4KNE04WG3HKXB7C9Z", &row), -ENOENT);
    CHECK_INT(storage_upstream_session_find_link(tx, link.id, &row), -ENOENT);
    test_tx_end(tx, false);

    struct storage_upstream_completion c = {
        .link_id = link.id,
        .id_token = "eyJ.x.y",
        .id_token_claims = "{\"sub\":\"sub-x\",\"sid\":\"s1\"}",
        .id_token_sub = "sub-x",
        .id_token_sid = "s1",
        .extra_callback_parameters = "{\"iss\":\"https://idp.example.com\"}",
        .userinfo = NULL,
    };
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_session_complete(tx, sid, &c, NOW + 100), 0);
    CHECK_INT(storage_upstream_session_complete(tx, sid, &c, NOW + 101), -EALREADY); /* replay */
    CHECK_INT(storage_upstream_session_complete(tx, "01GFWR28C4KNE04WG3HKXB7C9Z", &c, NOW), -ENOENT);
    struct storage_upstream_completion c2 = {.link_id = link.id, .userinfo = "{\"sub\":\"sub-x\"}"};
    CHECK_INT(storage_upstream_session_complete(tx, sid2, &c2, NOW + 200), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_upstream_session_get(tx, sid, &row), 0);
    CHECK_STR(row.link_id, link.id);
    CHECK_STR(row.id_token, "eyJ.x.y");
    CHECK_STR(row.id_token_claims, "{\"sub\":\"sub-x\",\"sid\":\"s1\"}");
    CHECK_STR(row.id_token_sub, "sub-x");
    CHECK_STR(row.id_token_sid, "s1");
    CHECK_STR(row.extra_callback_parameters, "{\"iss\":\"https://idp.example.com\"}");
    CHECK(row.userinfo == NULL);
    CHECK_INT(row.completed_at, NOW + 100);
    storage_upstream_session_clear(&row);
    /* the newest of the link's sessions */
    CHECK_INT(storage_upstream_session_find_link(tx, link.id, &row), 0);
    CHECK_STR(row.id, sid2);
    CHECK_STR(row.extra_callback_parameters, "{}");
    CHECK_STR(row.userinfo, "{\"sub\":\"sub-x\"}");
    CHECK(row.id_token == NULL);
    CHECK_STR(row.id_token_sub, "");
    storage_upstream_session_clear(&row);
    test_tx_end(tx, false);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_session_consume(tx, sid, NULL, NOW + 300), 0);
    CHECK_INT(storage_upstream_session_consume(tx, sid, NULL, NOW + 301), -EALREADY);
    CHECK_INT(storage_upstream_session_consume(tx, "01GFWR28C4KNE04WG3HKXB7C9Z", NULL, NOW), -ENOENT);
    CHECK_INT(storage_upstream_session_consume(tx, sid3, NULL, NOW), -EALREADY); /* pending */
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_upstream_session_get(tx, sid, &row), 0);
    CHECK_INT(row.consumed_at, NOW + 300);
    storage_upstream_session_clear(&row);
    test_tx_end(tx, false);

    config_free(cfg);
    secrets_free(s);
    storage_close(st);
}

/* The clean-up: old sessions no browser session came of, old links without a user and their
 * sessions; what signed a browser in, and links with a user, stay. */
static void test_purge(enum storage_backend b)
{
    char uri[512];
    test_db(b, "upstream_purge", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    struct config *cfg = load(HEAD P1 P2("true"));
    struct secrets *s = NULL;
    CHECK_INT(secrets_from_config(cfg, &s), 0);
    struct upstream_sync sync = {0};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);

    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    struct storage_browser_session bs;
    CHECK_INT(storage_user_create(tx, "pat", false, NOW, &u), 0);
    CHECK_INT(storage_browser_session_create(tx, u.id, NULL, NOW, &bs), 0);
    struct storage_upstream_link owned, orphan, young;
    CHECK_INT(storage_upstream_link_create(tx, ID1, "owned", NULL, NOW, &owned), 0);
    CHECK_INT(storage_upstream_link_associate(tx, owned.id, u.id), 0);
    CHECK_INT(storage_upstream_link_create(tx, ID1, "orphan", NULL, NOW, &orphan), 0);
    CHECK_INT(storage_upstream_link_create(tx, ID1, "young", NULL, NOW + 1000, &young), 0);
    char pending[STORAGE_ID_SIZE], used[STORAGE_ID_SIZE], of_orphan[STORAGE_ID_SIZE], later[STORAGE_ID_SIZE];
    CHECK_INT(storage_upstream_session_create(tx, ID1, "p-pending", NULL, NULL, NOW, pending), 0);
    CHECK_INT(storage_upstream_session_create(tx, ID1, "p-used", NULL, NULL, NOW, used), 0);
    CHECK_INT(storage_upstream_session_create(tx, ID1, "p-orphan", NULL, NULL, NOW, of_orphan), 0);
    CHECK_INT(storage_upstream_session_create(tx, ID1, "p-later", NULL, NULL, NOW + 1000, later), 0);
    struct storage_upstream_completion c = {.link_id = owned.id, .extra_callback_parameters = "{}"};
    CHECK_INT(storage_upstream_session_complete(tx, used, &c, NOW), 0);
    CHECK_INT(storage_upstream_session_consume(tx, used, bs.id, NOW), 0);
    c.link_id = orphan.id;
    CHECK_INT(storage_upstream_session_complete(tx, of_orphan, &c, NOW), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    unsigned sessions = 99, links = 99;
    CHECK_INT(storage_upstream_purge(tx, NOW, &sessions, &links), 0); /* nothing is older than NOW */
    CHECK_INT(sessions + links, 0);
    CHECK_INT(storage_upstream_purge(tx, NOW + 1, &sessions, &links), 0);
    CHECK_INT(sessions, 2); /* pending, of_orphan */
    CHECK_INT(links, 1);    /* orphan */
    struct storage_upstream_session row = {0};
    struct storage_upstream_link l;
    CHECK_INT(storage_upstream_session_get(tx, pending, &row), -ENOENT);
    CHECK_INT(storage_upstream_session_get(tx, of_orphan, &row), -ENOENT);
    CHECK_INT(storage_upstream_session_get(tx, used, &row), 0);
    storage_upstream_session_clear(&row);
    CHECK_INT(storage_upstream_session_get(tx, later, &row), 0);
    storage_upstream_session_clear(&row);
    CHECK_INT(storage_upstream_link_get(tx, orphan.id, &l), -ENOENT);
    CHECK_INT(storage_upstream_link_get(tx, owned.id, &l), 0);
    CHECK_INT(storage_upstream_link_get(tx, young.id, &l), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    secrets_free(s);
    config_free(cfg);
    storage_close(st);
}

int main(void)
{
    test_init();
    enum storage_backend backends[2];
    int n = test_backends(backends);
    for (int i = 0; i < n; i++) {
        test_sync(backends[i]);
        test_sessions(backends[i]);
        test_purge(backends[i]);
    }
    return check_report("test_storage_upstream");
}
