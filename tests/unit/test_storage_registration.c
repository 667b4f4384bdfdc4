/* Storage: registration tokens (each use counted by compare-and-set, only while the token is
 * valid) and registrations in progress. Every case runs on SQLite and on PostgreSQL. */
#include "storage_test.h"

static const int64_t NOW = 1700000000000;

static void test_tokens(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_registration_token once, unlimited, expiring, found;
    CHECK_INT(storage_registration_token_create(tx, "once", 1, 0, NOW, &once), 0);
    CHECK_INT(storage_registration_token_create(tx, "many", -1, 0, NOW, &unlimited), 0);
    CHECK_INT(storage_registration_token_create(tx, "soon", 5, NOW + 1000, NOW, &expiring), 0);
    CHECK_INT(storage_registration_token_create(tx, "", 1, 0, NOW, NULL), -EINVAL);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE); /* the text is unique */
    CHECK_INT(storage_registration_token_create(tx, "once", 3, 0, NOW, NULL), -EEXIST);
    test_tx_end(tx, false);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_registration_token_find(tx, "once", &found), 0);
    CHECK_STR(found.id, once.id);
    CHECK_INT(found.usage_limit, 1);
    CHECK_INT(found.times_used, 0);
    CHECK(storage_registration_token_valid(&found, NOW));
    CHECK_INT(storage_registration_token_find(tx, "ONCE", &found), -ENOENT); /* exact text */
    CHECK_INT(storage_registration_token_find(tx, "many", &found), 0);
    CHECK_INT(found.usage_limit, -1);
    /* one use of a single-use token; the second is refused */
    CHECK_INT(storage_registration_token_use(tx, once.id, NOW + 1), 0);
    CHECK_INT(storage_registration_token_use(tx, once.id, NOW + 2), -EALREADY);
    CHECK_INT(storage_registration_token_find(tx, "once", &found), 0);
    CHECK_INT(found.times_used, 1);
    CHECK_INT(found.last_used_at, NOW + 1);
    CHECK(!storage_registration_token_valid(&found, NOW + 2));
    /* unlimited */
    for (int i = 0; i < 5; i++)
        CHECK_INT(storage_registration_token_use(tx, unlimited.id, NOW + i), 0);
    CHECK_INT(storage_registration_token_find(tx, "many", &found), 0);
    CHECK_INT(found.times_used, 5);
    CHECK(storage_registration_token_valid(&found, NOW + 10));
    /* expiry: valid before, refused at and after */
    CHECK_INT(storage_registration_token_use(tx, expiring.id, NOW + 999), 0);
    CHECK_INT(storage_registration_token_use(tx, expiring.id, NOW + 1000), -EALREADY);
    CHECK_INT(storage_registration_token_find(tx, "soon", &found), 0);
    CHECK(storage_registration_token_valid(&found, NOW + 999));
    CHECK(!storage_registration_token_valid(&found, NOW + 1000));
    CHECK_INT(storage_registration_token_use(tx, "01H00000000000000000000000", NOW), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_registrations(struct storage *st)
{
    struct storage_registration in = {0}, g, got;
    snprintf(in.username, sizeof(in.username), "alice");
    snprintf(in.ip_address, sizeof(in.ip_address), "192.0.2.1");
    snprintf(in.user_agent, sizeof(in.user_agent), "Mozilla/5.0");
    snprintf(in.post_auth_action, sizeof(in.post_auth_action), "kind=continue_authorization_grant&id=X");
    snprintf(in.terms_url, sizeof(in.terms_url), "https://example.com/tos");
    snprintf(in.hashed_password, sizeof(in.hashed_password), "$argon2id$v=19$m=19456,t=2,p=1$x$y");
    in.hashed_password_version = 2;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_registration_create(tx, &in, NOW, &g), 0);
    CHECK_INT(strlen(g.id), 26);
    struct storage_registration_token t;
    CHECK_INT(storage_registration_token_create(tx, "reg", 1, 0, NOW, &t), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_registration_get(tx, g.id, &got), 0);
    CHECK_STR(got.username, "alice");
    CHECK_STR(got.ip_address, "192.0.2.1");
    CHECK_STR(got.user_agent, "Mozilla/5.0");
    CHECK_STR(got.post_auth_action, "kind=continue_authorization_grant&id=X");
    CHECK_STR(got.terms_url, "https://example.com/tos");
    CHECK_STR(got.hashed_password, in.hashed_password);
    CHECK_INT(got.hashed_password_version, 2);
    CHECK_STR(got.display_name, "");
    CHECK_STR(got.token_id, "");
    CHECK_STR(got.email_authentication_id, "");
    CHECK_INT(got.created_at, NOW);
    CHECK_INT(got.completed_at, 0);
    CHECK_INT(storage_registration_set_token(tx, g.id, t.id), 0);
    CHECK_INT(storage_registration_set_display_name(tx, g.id, "Alice \xc3\x89"), 0);
    CHECK_INT(storage_registration_set_display_name(tx, g.id, ""), -EINVAL);
    CHECK_INT(storage_registration_get(tx, g.id, &got), 0);
    CHECK_STR(got.token_id, t.id);
    CHECK_STR(got.display_name, "Alice \xc3\x89");
    /* completed once; afterwards nothing changes it */
    CHECK_INT(storage_registration_complete(tx, g.id, NOW + 5), 0);
    CHECK_INT(storage_registration_complete(tx, g.id, NOW + 6), -EALREADY);
    CHECK_INT(storage_registration_set_display_name(tx, g.id, "Mallory"), -EALREADY);
    CHECK_INT(storage_registration_get(tx, g.id, &got), 0);
    CHECK_INT(got.completed_at, NOW + 5);
    CHECK_STR(got.display_name, "Alice \xc3\x89");
    CHECK_INT(storage_registration_get(tx, "01H00000000000000000000000", &got), -ENOENT);
    CHECK_INT(storage_registration_complete(tx, "01H00000000000000000000000", NOW), -ENOENT);
    /* an optional field left empty is NULL, and reads back empty */
    struct storage_registration bare = {0}, bare_got;
    snprintf(bare.username, sizeof(bare.username), "bob");
    CHECK_INT(storage_registration_create(tx, &bare, NOW, &bare), 0);
    CHECK_INT(storage_registration_get(tx, bare.id, &bare_got), 0);
    CHECK_STR(bare_got.hashed_password, "");
    CHECK_STR(bare_got.terms_url, "");
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void run(enum storage_backend b, const char *uri)
{
    (void)b;
    struct storage *st = test_open(uri);
    test_tokens(st);
    test_registrations(st);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("registration", run);
    return check_report(__FILE__);
}
