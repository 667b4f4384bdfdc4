/* Storage: users, passwords, e-mails, browser sessions, compat sessions and their tokens, the
 * one-active-session-per-device rule, transactions that never half-commit. Every case runs on
 * SQLite and on PostgreSQL. */
#include "storage_test.h"
#include <sys/stat.h>
#include "token.h"

static const int64_t NOW = 1700000000000;

static void test_users(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_DURABLE);
    struct storage_user alice, found, bob;
    CHECK_INT(storage_user_create(tx, "alice", false, NOW, &alice), 0);
    CHECK_INT(strlen(alice.id), 26);
    CHECK_INT(storage_user_create(tx, "Bob.Smith", true, NOW + 1, &bob), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_user_find(tx, "ALICE", &found), 0); /* folded: case-insensitive */
    CHECK_STR(found.id, alice.id);
    CHECK_STR(found.username, "alice");
    CHECK_INT(found.created_at, NOW);
    CHECK_INT(found.locked_at, 0);
    CHECK_INT(found.deactivated_at, 0);
    CHECK(!found.can_request_admin);
    CHECK_INT(storage_user_find(tx, "bob.smith", &found), 0);
    CHECK_STR(found.username, "Bob.Smith"); /* stored as given */
    CHECK(found.can_request_admin);
    CHECK_INT(storage_user_get(tx, alice.id, &found), 0);
    CHECK_STR(found.username, "alice");
    CHECK_INT(storage_user_find(tx, "carol", &found), -ENOENT);
    CHECK_INT(storage_user_get(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &found), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_DURABLE);
    CHECK_INT(storage_user_lock(tx, alice.id, NOW + 10), 1);
    CHECK_INT(storage_user_lock(tx, alice.id, NOW + 20), 0); /* keeps the first locked_at */
    CHECK_INT(storage_user_get(tx, alice.id, &found), 0);
    CHECK_INT(found.locked_at, NOW + 10);
    CHECK_INT(storage_user_unlock(tx, alice.id), 1);
    CHECK_INT(storage_user_unlock(tx, alice.id), 0);
    CHECK_INT(storage_user_deactivate(tx, alice.id, NOW + 30), 1);
    CHECK_INT(storage_user_deactivate(tx, alice.id, NOW + 40), 0);
    CHECK_INT(storage_user_get(tx, alice.id, &found), 0);
    CHECK_INT(found.deactivated_at, NOW + 30);
    CHECK_INT(storage_user_reactivate(tx, alice.id), 1);
    CHECK_INT(storage_user_set_admin(tx, alice.id, true), 1);
    CHECK_INT(storage_user_set_admin(tx, alice.id, true), 0);
    CHECK_INT(storage_user_lock(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NOW), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_user *admins = NULL;
    size_t n = 0;
    CHECK_INT(storage_user_list_admins(tx, &admins, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(admins[0].username, "alice");
        CHECK_STR(admins[1].username, "Bob.Smith");
    }
    free(admins);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* A duplicate, a bad value, and what a failed statement does to its transaction. */
static void test_user_errors(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    CHECK_INT(storage_user_create(tx, "", false, NOW, &u), -EINVAL);
    CHECK_INT(storage_user_create(tx, "bad\xff", false, NOW, &u), -EINVAL);
    char long_name[300];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    CHECK_INT(storage_user_create(tx, long_name, false, NOW, &u), -EINVAL);
    /* Refused before reaching the database: the transaction is still good. */
    CHECK_INT(storage_user_create(tx, "dave", false, NOW, &u), 0);
    CHECK_INT(storage_user_create(tx, "ALICE", false, NOW, &u), -EEXIST);
    CHECK(strstr(storage_last_error(), "taken") != NULL);
    /* After a failed statement nothing else runs, and nothing commits: dave is gone too. */
    CHECK(storage_user_create(tx, "erin", false, NOW, &u) < 0);
    CHECK_INT(test_tx_end(tx, true), -EEXIST);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_user_find(tx, "dave", &u), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
    /* A read transaction refuses writes on both backends. */
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_user_create(tx, "dave", false, NOW, &u), -EIO);
    CHECK(strstr(storage_last_error(), "read-only transaction") != NULL);
    CHECK_INT(test_tx_end(tx, true), -EIO);
}

struct half {
    int calls;
};

static int half_fn(struct storage_tx *tx, void *arg)
{
    struct half *h = arg;
    struct storage_user u;
    h->calls++;
    storage_user_create(tx, "frank", false, NOW, &u);
    storage_user_create(tx, "alice", false, NOW, &u); /* fails; the error is ignored on purpose */
    return 0;
}

static void test_no_half_commit(struct storage *st)
{
    struct half h = {0};
    CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, half_fn, &h), -EEXIST);
    CHECK_INT(h.calls, 1); /* not transient: not retried */
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_user u;
    CHECK_INT(storage_user_find(tx, "frank", &u), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_passwords_and_emails(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_DURABLE);
    struct storage_user u;
    struct storage_password p1, p2, active;
    CHECK_INT(storage_user_create(tx, "gina", false, NOW, &u), 0);
    CHECK_INT(storage_password_get_active(tx, u.id, &active), -ENOENT);
    CHECK_INT(storage_password_add(tx, u.id, "$2b$12$abcdefghijklmnopqrstuv", 1, NULL, NOW, &p1), 0);
    CHECK_INT(storage_password_add(tx, u.id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", 2, p1.id,
                                   NOW + 5, &p2),
              0);
    CHECK_INT(storage_password_get_active(tx, u.id, &active), 0);
    CHECK_STR(active.id, p2.id);
    CHECK_INT(active.version, 2);
    CHECK_STR(active.upgraded_from, p1.id);
    CHECK_STR(active.hash, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
    CHECK_INT(storage_password_add(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "x", 1, NULL, NOW, &p1),
              -ENOENT); /* FK */
    CHECK_INT(test_tx_end(tx, true), -ENOENT);

    tx = test_tx_begin(st, STORAGE_TX_DURABLE);
    CHECK_INT(storage_user_find(tx, "gina", &u), -ENOENT); /* the whole transaction rolled back */
    CHECK_INT(storage_user_create(tx, "gina", false, NOW, &u), 0);
    struct storage_email e1, e2, found;
    CHECK_INT(storage_email_add(tx, u.id, "gina@example.com", NOW, &e1), 0);
    CHECK_INT(storage_email_add(tx, u.id, "g@example.org", NOW + 1, &e2), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_add(tx, u.id, "Gina@Example.COM", NOW, &found), -EEXIST);
    CHECK_INT(test_tx_end(tx, true), -EEXIST);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_email *list = NULL;
    size_t n = 0;
    CHECK_INT(storage_email_list(tx, u.id, &list, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(list[0].email, "gina@example.com");
        CHECK_STR(list[1].email, "g@example.org");
    }
    free(list);
    CHECK_INT(storage_email_find(tx, "GINA@example.com", &found), 0);
    CHECK_STR(found.id, e1.id);
    CHECK_INT(storage_email_remove(tx, e1.id), 0);
    CHECK_INT(storage_email_remove(tx, e1.id), -ENOENT);
    CHECK_INT(storage_email_list(tx, u.id, &list, &n), 0);
    CHECK_INT(n, 1);
    free(list);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_browser_sessions(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    struct storage_browser_session s, got;
    char auth[STORAGE_ID_SIZE];
    int64_t at = 0;
    CHECK_INT(storage_user_create(tx, "hank", false, NOW, &u), 0);
    CHECK_INT(storage_browser_session_create(tx, u.id, "Mozilla/5.0", NOW, &s), 0);
    CHECK_INT(storage_browser_session_last_auth(tx, s.id, &at), -ENOENT);
    CHECK_INT(storage_browser_session_authenticate(tx, s.id, NULL, NOW + 1, auth), 0);
    CHECK_INT(storage_browser_session_authenticate(tx, s.id, NULL, NOW + 7, auth), 0);
    CHECK_INT(storage_browser_session_last_auth(tx, s.id, &at), 0);
    CHECK_INT(at, NOW + 7);
    CHECK_INT(storage_session_activity_record(tx, STORAGE_SESSION_BROWSER, s.id, NOW + 100, "192.0.2.1"), 0);
    CHECK_INT(storage_session_activity_record(tx, STORAGE_SESSION_BROWSER, s.id, NOW + 50, "192.0.2.9"), 0);
    CHECK_INT(storage_browser_session_get(tx, s.id, &got), 0);
    CHECK_INT(got.last_active_at, NOW + 100); /* only moves forward */
    CHECK_STR(got.last_active_ip, "192.0.2.1");
    CHECK_STR(got.user_agent, "Mozilla/5.0");
    CHECK_INT(storage_browser_session_finish(tx, s.id, NOW + 200), 1);
    CHECK_INT(storage_browser_session_finish(tx, s.id, NOW + 300), 0);
    CHECK_INT(storage_browser_session_get(tx, s.id, &got), 0);
    CHECK_INT(got.finished_at, NOW + 200);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* At most one active session per (user, device), across compat and OAuth sessions. */
static void test_devices(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u, v;
    struct storage_compat_session c1, c2;
    struct storage_oauth_session o1;
    struct storage_oauth_client client = {.token_endpoint_auth_method = "none"};
    CHECK_INT(storage_user_create(tx, "ivan", false, NOW, &u), 0);
    CHECK_INT(storage_user_create(tx, "judy", false, NOW, &v), 0);
    CHECK_INT(storage_oauth_client_create(tx, &client, NOW, &client), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, "DEVICE1", false, NULL, "Phone", "UA", NOW, &c1), 0);
    CHECK_INT(storage_compat_session_create(tx, v.id, "DEVICE1", false, NULL, NULL, NULL, NOW, &c2), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, NULL, false, NULL, NULL, NULL, NOW, &c2),
              0); /* no device */
    CHECK_INT(storage_oauth_session_create(tx, client.id, u.id, NULL, "openid", NULL, NOW, &o1), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_oauth_client_clear(&client);

    tx = test_tx_begin(st, STORAGE_TX_WRITE); /* compat then compat */
    CHECK_INT(storage_compat_session_create(tx, u.id, "DEVICE1", false, NULL, NULL, NULL, NOW, &c2), -EEXIST);
    CHECK_INT(test_tx_end(tx, true), -EEXIST);
    tx = test_tx_begin(st, STORAGE_TX_WRITE); /* compat then OAuth */
    CHECK_INT(storage_oauth_session_add_device(tx, o1.id, "DEVICE1"), -EEXIST);
    CHECK_INT(test_tx_end(tx, true), -EEXIST);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_COMPAT, c1.id, NOW + 1), 1);
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_COMPAT, c1.id, NOW + 2), 0);
    CHECK_INT(storage_oauth_session_add_device(tx, o1.id, "DEVICE1"), 0); /* freed by the finish */
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE); /* OAuth then compat */
    CHECK_INT(storage_compat_session_create(tx, u.id, "DEVICE1", false, NULL, NULL, NULL, NOW, &c2), -EEXIST);
    CHECK_INT(test_tx_end(tx, true), -EEXIST);

    /* Device replacement at login: end the holder, then create. */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_device_finish_sessions(tx, u.id, "DEVICE1", NOW + 3), 1);
    CHECK_INT(storage_device_finish_sessions(tx, u.id, "DEVICE1", NOW + 3), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, "DEVICE1", true, NULL, NULL, NULL, NOW + 3, &c2), 0);
    CHECK_INT(storage_oauth_session_get(tx, o1.id, &o1), 0);
    CHECK_INT(o1.finished_at, NOW + 3);
    unsigned n = 0;
    CHECK_INT(storage_sessions_finish_user(tx, STORAGE_SESSION_COMPAT, u.id, NOW + 4, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(storage_compat_session_create(tx, u.id, "DEVICE1", false, NULL, NULL, NULL, NOW + 5, &c2), 0);
    CHECK_INT(storage_user_finish_all_sessions(tx, v.id, NOW + 6, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_compat_tokens(struct storage *st)
{
    char at[TOKEN_LEN + 1], rt[TOKEN_LEN + 1], rt2[TOKEN_LEN + 1];
    CHECK_INT(token_generate(TOKEN_COMPAT_ACCESS, at), 0);
    CHECK_INT(token_generate(TOKEN_COMPAT_REFRESH, rt), 0);
    CHECK_INT(token_generate(TOKEN_COMPAT_REFRESH, rt2), 0);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    struct storage_compat_session s;
    struct storage_access_token a;
    struct storage_refresh_token r1, r2;
    CHECK_INT(storage_user_create(tx, "kim", false, NOW, &u), 0);
    CHECK_INT(
        storage_compat_session_create(tx, u.id, "KIMDEV", true, NULL, "Kim's phone", "Element", NOW, &s), 0);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_COMPAT, s.id, at, 0, NOW, &a), 0);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_COMPAT, s.id, a.id, rt, NOW, &r1), 0);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_COMPAT, s.id, NULL, rt2, NOW, &r2), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_compat_access_lookup al;
    CHECK_INT(storage_compat_access_token_lookup(tx, at, &al), 0);
    CHECK_STR(al.token.id, a.id);
    CHECK_INT(al.token.expires_at, 0);
    CHECK_STR(al.session.id, s.id);
    CHECK_STR(al.session.device_id, "KIMDEV");
    CHECK_STR(al.session.human_name, "Kim's phone");
    CHECK(al.session.is_synapse_admin);
    CHECK_STR(al.user.username, "kim");
    CHECK_INT(storage_compat_access_token_lookup(tx, rt, &al), -ENOENT);
    CHECK_INT(storage_access_token_revoke(tx, STORAGE_SESSION_COMPAT, a.id, NOW + 1), 1);
    CHECK_INT(storage_access_token_revoke(tx, STORAGE_SESSION_COMPAT, a.id, NOW + 2), 0);
    CHECK_INT(storage_compat_access_token_expire(tx, a.id, NOW + 3), 1);
    CHECK_INT(storage_compat_access_token_lookup(tx, at, &al), 0);
    CHECK_INT(al.token.revoked_at, NOW + 1);
    CHECK_INT(al.token.expires_at, NOW + 3);

    struct storage_compat_refresh_lookup rl;
    CHECK_INT(storage_compat_refresh_token_lookup(tx, rt, &rl), 0);
    CHECK_STR(rl.token.id, r1.id);
    CHECK_STR(rl.token.access_token_id, a.id);
    CHECK_STR(rl.user.id, u.id);
    CHECK_INT(storage_refresh_token_consume(tx, STORAGE_SESSION_COMPAT, r1.id, r2.id, NOW + 4), 0);
    CHECK_INT(storage_refresh_token_consume(tx, STORAGE_SESSION_COMPAT, r1.id, NULL, NOW + 5), -EALREADY);
    CHECK_INT(
        storage_refresh_token_consume(tx, STORAGE_SESSION_COMPAT, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL, NOW),
        -ENOENT);
    CHECK_INT(storage_compat_refresh_token_lookup(tx, rt, &rl), 0);
    CHECK_INT(rl.token.consumed_at, NOW + 4);
    CHECK_STR(rl.token.next_id, r2.id);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* Only hashes are stored: the clear token appears nowhere, its SHA-256 does. */
    static struct storage_stmt find_clear = {
        .sql = "SELECT COUNT(*) FROM compat_access_tokens WHERE token_hash = $1"};
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(at, hash);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    struct sq q;
    CHECK_INT(sq_run(tx, &find_clear, SQ_ARGS(P_TEXT(at)), &q), 0);
    CHECK_INT(sq_next(&q), 1);
    CHECK_INT(sq_int(&q, 0), 0);
    sq_done(&q);
    CHECK_INT(sq_run(tx, &find_clear, SQ_ARGS(P_TEXT(hash)), &q), 0);
    CHECK_INT(sq_next(&q), 1);
    CHECK_INT(sq_int(&q, 0), 1);
    sq_done(&q);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static int64_t synchronous_setting(struct storage *st, unsigned flags)
{
    static struct storage_stmt sync = {.sqlite = "PRAGMA synchronous", .pg = "SELECT 0"};
    struct storage_tx *tx = test_tx_begin(st, flags);
    struct sq q;
    int64_t v = -1;
    if (sq_run(tx, &sync, NULL, 0, &q) >= 0 && sq_next(&q) > 0)
        v = sq_int(&q, 0);
    sq_done(&q);
    CHECK_INT(test_tx_end(tx, true), 0);
    return v;
}

/* SQLite: NORMAL (1) for ordinary writes, FULL (2) inside a durable transaction, and back. */
static void test_durability_settings(struct storage *st)
{
    if (storage_backend(st) != STORAGE_SQLITE)
        return;
    CHECK_INT(synchronous_setting(st, STORAGE_TX_WRITE), 1);
    CHECK_INT(synchronous_setting(st, STORAGE_TX_DURABLE), 2);
    CHECK_INT(synchronous_setting(st, STORAGE_TX_WRITE | STORAGE_TX_DURABLE), 2);
    CHECK_INT(synchronous_setting(st, STORAGE_TX_WRITE), 1);
    CHECK_INT(synchronous_setting(st, STORAGE_TX_READ), 1);
    static struct storage_stmt autockpt = {.sqlite = "PRAGMA wal_autocheckpoint"};
    static struct storage_stmt mode = {.sqlite = "PRAGMA journal_mode"};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct sq q;
    CHECK_INT(sq_run(tx, &autockpt, NULL, 0, &q), 0);
    CHECK_INT(sq_next(&q), 1);
    CHECK_INT(sq_int(&q, 0), 0); /* no checkpoint in request paths */
    sq_done(&q);
    CHECK_INT(sq_run(tx, &mode, NULL, 0, &q), 0);
    CHECK_INT(sq_next(&q), 1);
    CHECK_STR(sq_text(&q, 0), "wal");
    sq_done(&q);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_hash_and_fold(void)
{
    char h[STORAGE_HASH_SIZE], f[STORAGE_USERNAME_MAX + 1];
    storage_token_hash("abc", h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    storage_username_fold("Alice.Ünïcode-XYZ", f);
    CHECK_STR(f, "alice.Ünïcode-xyz"); /* ASCII only: both backends agree, whatever their locale */
    CHECK(storage_utf8_valid("h\xc3\xa9", 3));
    CHECK(!storage_utf8_valid("\xc0\x80", 2));         /* overlong NUL */
    CHECK(!storage_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!storage_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!storage_utf8_valid("\xe2\x82", 2));         /* truncated */
    char cut[4];
    storage_copy_cut(cut, sizeof(cut), "ab\xc3\xa9");
    CHECK_STR(cut, "ab"); /* never half a character */
}

/* Known login networks: recorded on a successful login, known within the window, purged. */
static void test_login_networks(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_DURABLE);
    struct storage_user u;
    CHECK_INT(storage_user_create(tx, "netuser", false, NOW, &u), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_login_network_known(tx, u.id, "2001:db8:1:2::/64", 0), 0);
    CHECK_INT(storage_login_network_record(tx, u.id, "2001:db8:1:2::/64", NOW), 0);
    CHECK_INT(storage_login_network_record(tx, u.id, "192.0.2.7", NOW + 100), 0);
    CHECK_INT(storage_login_network_record(tx, u.id, "192.0.2.7", NOW + 50), 0); /* never moves back */
    CHECK_INT(storage_login_network_known(tx, u.id, "2001:db8:1:2::/64", NOW - 1), 1);
    CHECK_INT(storage_login_network_known(tx, u.id, "2001:db8:1:2::/64", NOW), 0); /* after `since` only */
    CHECK_INT(storage_login_network_known(tx, u.id, "192.0.2.7", NOW + 99), 1);
    CHECK_INT(storage_login_network_known(tx, u.id, "192.0.2.8", 0), 0);
    CHECK_INT(storage_login_network_known(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "192.0.2.7", 0), 0);
    CHECK_INT(storage_login_network_record(tx, u.id, "2001:db8:1:2::/64", NOW + 200), 0);
    CHECK_INT(storage_login_network_known(tx, u.id, "2001:db8:1:2::/64", NOW + 199), 1);
    unsigned n = 9;
    CHECK_INT(storage_login_network_purge(tx, NOW + 150, &n), 0);
    CHECK_INT(n, 1); /* 192.0.2.7 at NOW + 100 */
    CHECK_INT(storage_login_network_known(tx, u.id, "192.0.2.7", 0), 0);
    CHECK_INT(storage_login_network_known(tx, u.id, "2001:db8:1:2::/64", 0), 1);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The SQLite WAL stays bounded without masd-worker: writes past STORAGE_SQLITE_WAL_HARD_BYTES
 * make the committing connection truncate it; storage_checkpoint() truncates it past the soft
 * bound (a passive checkpoint alone never empties it). ~100 MiB of writes, 1 MiB a commit. */
struct wal_fill {
    int round;
};

static int wal_fill_fn(struct storage_tx *tx, void *arg)
{
    struct wal_fill *f = arg;
    char key[420];
    int64_t retry;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "wal-test:%d:%d:%0400d", f->round, i, 0);
        int r = storage_rate_limit_check(tx, key, 1, 1, NOW, &retry);
        if (r < 0)
            return r;
    }
    return 0;
}

static long long wal_size(const char *uri)
{
    char path[600];
    struct stat sb;
    snprintf(path, sizeof(path), "%s-wal", uri + strlen("sqlite://"));
    return stat(path, &sb) < 0 ? 0 : (long long)sb.st_size;
}

static void test_wal_bounded(void)
{
    char uri[512];
    test_db(STORAGE_SQLITE, "wal", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    long long peak = 0, written = 0;
    struct wal_fill f = {0};
    for (f.round = 0; f.round < 100; f.round++) {
        long long before = wal_size(uri);
        CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, wal_fill_fn, &f), 0);
        long long after = wal_size(uri);
        written += after > before ? after - before : 0;
        peak = after > peak ? after : peak;
    }
    fprintf(stderr, "WAL: peak %lld MiB after %lld MiB of growth\n", peak >> 20, written >> 20);
    CHECK(written > STORAGE_SQLITE_WAL_HARD_BYTES);             /* the bound was reached */
    CHECK(peak <= STORAGE_SQLITE_WAL_HARD_BYTES + (4LL << 20)); /* and held: one commit over */
    for (f.round = 100; wal_size(uri) <= STORAGE_SQLITE_WAL_SOFT_BYTES && f.round < 200; f.round++)
        CHECK_INT(storage_tx(st, STORAGE_TX_WRITE, wal_fill_fn, &f), 0);
    CHECK(wal_size(uri) > STORAGE_SQLITE_WAL_SOFT_BYTES);
    CHECK_INT(storage_checkpoint(st), 0);
    CHECK_INT(wal_size(uri), 0);
    storage_close(st);
}

/* Every test of this file, on one backend. */
static void run(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    CHECK_INT(storage_backend(st), b);
    test_users(st);
    test_user_errors(st);
    test_no_half_commit(st);
    test_passwords_and_emails(st);
    test_browser_sessions(st);
    test_devices(st);
    test_compat_tokens(st);
    test_login_networks(st);
    test_durability_settings(st);
    CHECK_INT(storage_checkpoint(st), 0); /* what masd-worker runs */
    storage_close(st);
}

int main(void)
{
    test_init();
    test_hash_and_fold();
    test_wal_bounded();
    test_each_backend("crud", run);
    return check_report(__FILE__);
}
