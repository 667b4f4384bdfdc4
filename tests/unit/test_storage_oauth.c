/* Storage: OAuth clients, grants, sessions and tokens, compat SSO logins (device-code grants:
 * test_storage_device.c), rate limits, the job queue within one process, migrations, and reconnection after
 * PostgreSQL drops the connection. Every case runs on SQLite and on PostgreSQL. */
#include "storage_jti.h"
#include "storage_test.h"
#include "token.h"

static const int64_t NOW = 1700000000000;

static void test_oauth(struct storage *st)
{
    char code[] = "0123456789abcdefghijklmnopqrstuv", at[TOKEN_LEN + 1], rt[TOKEN_LEN + 1], cc[TOKEN_LEN + 1];
    token_generate(TOKEN_ACCESS, at);
    token_generate(TOKEN_REFRESH, rt);
    token_generate(TOKEN_ACCESS, cc);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    struct storage_oauth_client in = {.token_endpoint_auth_method = "client_secret_basic",
                                      .encrypted_secret = "v1.sealed",
                                      .redirect_uris = "[\"https://app.example.com/cb\"]",
                                      .grant_types = "[\"authorization_code\",\"refresh_token\"]",
                                      .metadata = "{\"client_name\":\"App\"}",
                                      .metadata_digest = "d1"};
    struct storage_oauth_client client, got;
    CHECK_INT(storage_user_create(tx, "lena", false, NOW, &u), 0);
    CHECK_INT(storage_oauth_client_create(tx, &in, NOW, &client), 0);
    CHECK_INT(strlen(client.id), 26);
    CHECK_INT(storage_oauth_client_get(tx, client.id, &got), 0);
    CHECK_STR(got.encrypted_secret, "v1.sealed");
    CHECK_STR(got.redirect_uris, "[\"https://app.example.com/cb\"]");
    CHECK_STR(got.metadata_digest, "d1");
    CHECK(!got.is_static);
    storage_oauth_client_clear(&got);
    CHECK_INT(storage_oauth_client_find_by_digest(tx, "d1", &got), 0);
    CHECK_STR(got.id, client.id);
    storage_oauth_client_clear(&got);

    struct storage_authorization_grant g = {.redirect_uri = "https://app.example.com/cb",
                                            .scope = "openid urn:matrix:client:api:*",
                                            .state = "xyz",
                                            .response_mode = "query",
                                            .code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                            .code_challenge_method = "S256",
                                            .redirect_uri_given = true,
                                            .response_type_code = true};
    memcpy(g.client_id, client.id, sizeof(g.client_id));
    struct storage_authorization_grant grant, gg;
    CHECK_INT(storage_authorization_grant_create(tx, &g, NOW, &grant), 0);
    CHECK_INT(storage_authorization_grant_lookup_code(tx, code, &gg), -ENOENT); /* no code before consent */
    CHECK_INT(storage_authorization_grant_get(tx, grant.id, &gg), 0);
    CHECK_STR(gg.id, grant.id);
    CHECK_STR(gg.state, "xyz");
    CHECK_STR(gg.nonce, "");
    CHECK_STR(gg.code_challenge_method, "S256");
    CHECK(gg.redirect_uri_given && gg.response_type_code);
    /* without a code, and with the redirect URI left to the registration */
    struct storage_authorization_grant g2 = g, g3;
    g2.redirect_uri_given = false, g2.response_type_code = false;
    CHECK_INT(storage_authorization_grant_create(tx, &g2, NOW, &g3), 0);
    CHECK_INT(storage_authorization_grant_get(tx, g3.id, &gg), 0);
    CHECK(!gg.redirect_uri_given && !gg.response_type_code);
    struct storage_browser_session bs;
    CHECK_INT(storage_browser_session_create(tx, u.id, NULL, NOW, &bs), 0);
    CHECK_INT(storage_authorization_grant_fulfill(tx, grant.id, bs.id, code, NOW + 1), 0);
    CHECK_INT(storage_authorization_grant_fulfill(tx, grant.id, bs.id, "another", NOW + 2), -EALREADY);
    CHECK_INT(storage_authorization_grant_lookup_code(tx, code, &gg), 0);
    CHECK_STR(gg.id, grant.id);
    CHECK_STR(gg.browser_session_id, bs.id);
    CHECK_INT(gg.fulfilled_at, NOW + 1);
    CHECK_INT(storage_authorization_grant_lookup_code(tx, "another", &gg), -ENOENT);

    struct storage_oauth_session s;
    struct storage_access_token a;
    struct storage_refresh_token r;
    CHECK_INT(storage_oauth_session_create(tx, client.id, u.id, bs.id, g.scope, "curl/8", NOW + 3, &s), 0);
    CHECK_INT(storage_authorization_grant_exchange(tx, grant.id, s.id, NOW + 3), 0);
    CHECK_INT(storage_authorization_grant_exchange(tx, grant.id, s.id, NOW + 4), -EALREADY);
    CHECK_INT(storage_authorization_grant_get(tx, grant.id, &gg), 0);
    CHECK_STR(gg.session_id, s.id);
    CHECK_STR(gg.browser_session_id, bs.id);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_OAUTH, s.id, at, NOW + 300000, NOW + 3, &a), 0);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, s.id, a.id, rt, NOW + 3, &r), 0);
    storage_oauth_client_clear(&client);

    /* A client_credentials session has no user. */
    struct storage_oauth_session cs;
    struct storage_access_token ca;
    CHECK_INT(storage_oauth_session_create(tx, got.id, NULL, NULL, "urn:mas:admin", NULL, NOW, &cs), 0);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_OAUTH, cs.id, cc, 0, NOW, &ca), 0);
    CHECK_INT(storage_oauth_session_add_device(tx, cs.id, "DEV"), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_oauth_access_lookup al;
    CHECK_INT(storage_oauth_access_token_lookup(tx, at, &al), 0);
    CHECK(al.has_user);
    CHECK_STR(al.user.username, "lena");
    CHECK_STR(al.session.scope, "openid urn:matrix:client:api:*");
    CHECK_STR(al.session.user_agent, "curl/8");
    CHECK_INT(al.token.expires_at, NOW + 300000);
    CHECK_INT(al.token.first_used_at, 0);
    CHECK_INT(storage_oauth_access_token_mark_used(tx, a.id, NOW + 5), 1);
    CHECK_INT(storage_oauth_access_token_mark_used(tx, a.id, NOW + 6), 0);
    CHECK_INT(storage_oauth_access_token_lookup(tx, cc, &al), 0);
    CHECK(!al.has_user);
    CHECK_STR(al.session.user_id, "");
    struct storage_oauth_refresh_lookup rl;
    CHECK_INT(storage_oauth_refresh_token_lookup(tx, rt, &rl), 0);
    CHECK_STR(rl.token.access_token_id, a.id);
    CHECK_INT(storage_refresh_token_consume(tx, STORAGE_SESSION_OAUTH, r.id, NULL, NOW + 7), 0);
    CHECK_INT(storage_refresh_token_consume(tx, STORAGE_SESSION_OAUTH, r.id, NULL, NOW + 8), -EALREADY);
    CHECK_INT(storage_oauth_refresh_token_revoke(tx, r.id, NOW + 9), 1);
    CHECK_INT(storage_access_token_revoke(tx, STORAGE_SESSION_OAUTH, a.id, NOW + 9), 1);
    CHECK_INT(storage_session_activity_record(tx, STORAGE_SESSION_OAUTH, s.id, NOW + 10, "2001:db8::1"), 0);
    CHECK_INT(storage_oauth_session_get(tx, s.id, &s), 0);
    CHECK_INT(s.last_active_at, NOW + 10);
    CHECK_STR(s.last_active_ip, "2001:db8::1");
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_OAUTH, s.id, NOW + 11), 1);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The rows behind the refresh successor rule: a token by its ID, and the successor pointer
 * moved by compare-and-set. */
static void test_refresh_successor(struct storage *st)
{
    char at1[TOKEN_LEN + 1], rt1[TOKEN_LEN + 1], at2[TOKEN_LEN + 1], rt2[TOKEN_LEN + 1], rt3[TOKEN_LEN + 1];
    token_generate(TOKEN_ACCESS, at1);
    token_generate(TOKEN_REFRESH, rt1);
    token_generate(TOKEN_ACCESS, at2);
    token_generate(TOKEN_REFRESH, rt2);
    token_generate(TOKEN_REFRESH, rt3);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    struct storage_oauth_client in = {.token_endpoint_auth_method = "none"}, client;
    struct storage_oauth_session s;
    struct storage_access_token a1, a2, ag;
    struct storage_refresh_token r1, r2, r3, rg;
    CHECK_INT(storage_user_create(tx, "succ", false, NOW, &u), 0);
    CHECK_INT(storage_oauth_client_create(tx, &in, NOW, &client), 0);
    CHECK_INT(storage_oauth_session_create(tx, client.id, u.id, NULL, "openid", NULL, NOW, &s), 0);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_OAUTH, s.id, at1, NOW + 300000, NOW, &a1), 0);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, s.id, a1.id, rt1, NOW, &r1), 0);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_OAUTH, s.id, at2, NOW + 300001, NOW + 1, &a2), 0);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, s.id, a2.id, rt2, NOW + 1, &r2), 0);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, s.id, NULL, rt3, NOW + 2, &r3), 0);
    CHECK_INT(storage_refresh_token_consume(tx, STORAGE_SESSION_OAUTH, r1.id, r2.id, NOW + 1), 0);

    CHECK_INT(storage_oauth_refresh_token_get(tx, r1.id, &rg), 0);
    CHECK_STR(rg.next_id, r2.id);
    CHECK_STR(rg.access_token_id, a1.id);
    CHECK_INT(rg.consumed_at, NOW + 1);
    CHECK_INT(storage_oauth_refresh_token_get(tx, r3.id, &rg), 0);
    CHECK_STR(rg.access_token_id, "");
    CHECK_INT(storage_oauth_refresh_token_get(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &rg), -ENOENT);
    CHECK_INT(storage_oauth_access_token_get(tx, a2.id, &ag), 0);
    CHECK_INT(ag.expires_at, NOW + 300001);
    CHECK_INT(ag.first_used_at, 0);
    CHECK_INT(storage_oauth_access_token_mark_used(tx, a2.id, NOW + 5), 1);
    CHECK_INT(storage_oauth_access_token_get(tx, a2.id, &ag), 0);
    CHECK_INT(ag.first_used_at, NOW + 5);
    CHECK_INT(storage_oauth_access_token_get(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &ag), -ENOENT);

    /* the successor moves once: a second replay that read r2 loses */
    CHECK_INT(storage_oauth_refresh_token_relink(tx, r1.id, r2.id, r3.id), 0);
    CHECK_INT(storage_oauth_refresh_token_relink(tx, r1.id, r2.id, r3.id), -EALREADY);
    CHECK_INT(storage_oauth_refresh_token_relink(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", r2.id, r3.id), -ENOENT);
    CHECK_INT(storage_oauth_refresh_token_get(tx, r1.id, &rg), 0);
    CHECK_STR(rg.next_id, r3.id);
    /* the introspection copy follows the rows it is made from */
    struct storage_token_introspection ti;
    CHECK_INT(storage_token_introspect(tx, at2, &ti), 0);
    CHECK_INT(ti.first_used_at, NOW + 5);
    storage_oauth_client_clear(&client);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* Compat SSO logins: pending until the person confirms (no token before), fulfilled once within
 * 30 min of creation, exchanged once within 30 s of fulfilment; every step a compare-and-set. */
static void test_compat_sso(struct storage *st)
{
    const int64_t LOGIN_TTL = STORAGE_COMPAT_SSO_LOGIN_TTL_MS, TOKEN_TTL = STORAGE_COMPAT_SSO_TOKEN_TTL_MS;
    const char *tok = "AbCdEfGhIjKlMnOpQrStUvWxYz012345", *unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u;
    struct storage_browser_session bs;
    struct storage_compat_sso_login l, old, lg;
    struct storage_compat_session s;
    char placeholder[64];
    CHECK_INT(storage_user_create(tx, "nils", false, NOW, &u), 0);
    CHECK_INT(storage_browser_session_create(tx, u.id, NULL, NOW, &bs), 0);
    CHECK_INT(storage_compat_sso_login_create(tx, "https://client.example/?a=b#f", NOW, &l), 0);
    CHECK_INT(storage_compat_sso_login_create(tx, "io.element.app:/callback", NOW - LOGIN_TTL - 1, &old), 0);
    CHECK_INT(storage_compat_sso_login_get(tx, l.id, &lg), 0);
    CHECK_STR(lg.redirect_uri, "https://client.example/?a=b#f");
    CHECK_INT(lg.created_at, NOW);
    CHECK_INT(lg.fulfilled_at, 0);
    CHECK_STR(lg.browser_session_id, "");
    /* no token finds a pending login, not even its placeholder */
    snprintf(placeholder, sizeof(placeholder), "pending:%s", l.id);
    CHECK_INT(storage_compat_sso_login_lookup(tx, placeholder, &lg), -ENOENT);
    CHECK_INT(storage_compat_sso_login_lookup(tx, tok, &lg), -ENOENT);
    CHECK_INT(storage_compat_sso_login_create(tx, "", NOW, &lg), -EINVAL);
    /* not exchanged before it is fulfilled */
    CHECK_INT(storage_compat_sso_login_exchange(tx, l.id, bs.id, NOW), -EALREADY);
    /* fulfilled only while at most 30 min old: the old one no longer */
    CHECK_INT(storage_compat_sso_login_fulfill(tx, old.id, bs.id, "ZZZZEfGhIjKlMnOpQrStUvWxYz012345", NOW),
              -EALREADY);
    CHECK_INT(storage_compat_sso_login_fulfill(tx, unknown, bs.id, tok, NOW), -ENOENT);
    CHECK_INT(storage_compat_sso_login_fulfill(tx, l.id, bs.id, tok, NOW + LOGIN_TTL), 0);
    CHECK_INT(storage_compat_sso_login_fulfill(tx, l.id, bs.id, "YYYYEfGhIjKlMnOpQrStUvWxYz012345",
                                               NOW + LOGIN_TTL),
              -EALREADY);
    CHECK_INT(storage_compat_sso_login_lookup(tx, tok, &lg), 0);
    CHECK_STR(lg.id, l.id);
    CHECK_STR(lg.browser_session_id, bs.id);
    CHECK_INT(lg.fulfilled_at, NOW + LOGIN_TTL);
    CHECK_INT(storage_compat_sso_login_get(tx, old.id, &lg), 0);
    CHECK_INT(lg.fulfilled_at, 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    int64_t fulfilled = NOW + LOGIN_TTL;
    tx = test_tx_begin(st, STORAGE_TX_WRITE); /* 30 s and one millisecond after fulfilment: too late */
    CHECK_INT(storage_compat_session_create(tx, u.id, "SSODEV", false, bs.id, NULL, NULL, fulfilled, &s), 0);
    CHECK_INT(storage_compat_sso_login_exchange(tx, l.id, s.id, fulfilled + TOKEN_TTL + 1), -EALREADY);
    CHECK_INT(test_tx_end(tx, false), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE); /* 30 s after: in time, once */
    CHECK_INT(storage_compat_session_create(tx, u.id, "SSODEV", false, bs.id, NULL, NULL, fulfilled, &s), 0);
    CHECK_INT(storage_compat_sso_login_exchange(tx, unknown, s.id, fulfilled), -ENOENT);
    CHECK_INT(storage_compat_sso_login_exchange(tx, l.id, s.id, fulfilled + TOKEN_TTL), 0);
    CHECK_INT(storage_compat_sso_login_exchange(tx, l.id, s.id, fulfilled + TOKEN_TTL), -EALREADY);
    CHECK_INT(storage_compat_sso_login_get(tx, l.id, &lg), 0);
    CHECK_INT(lg.exchanged_at, fulfilled + TOKEN_TTL);
    CHECK_STR(lg.compat_session_id, s.id);
    CHECK_INT(storage_compat_session_get(tx, s.id, &s), 0);
    CHECK_STR(s.browser_session_id, bs.id);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* the clean-up: never-exchanged logins created before the bound go, the exchanged one stays */
    unsigned n = 99;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_compat_sso_login_purge(tx, NOW - LOGIN_TTL - 1, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(storage_compat_sso_login_purge(tx, NOW + 1, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(storage_compat_sso_login_get(tx, old.id, &lg), -ENOENT);
    CHECK_INT(storage_compat_sso_login_get(tx, l.id, &lg), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* GCRA: the burst passes at once, then one request per 1/per_second; retry_after says when. */
static void test_rate_limit(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    int64_t retry = -1;
    for (int i = 0; i < 3; i++)
        CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.1", 3, 0.05, NOW, &retry), 1);
    CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.1", 3, 0.05, NOW, &retry), 0);
    CHECK_INT(retry, 20000); /* one request per 20 s */
    CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.1", 3, 0.05, NOW + 19999, &retry), 0);
    CHECK_INT(retry, 1);
    CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.1", 3, 0.05, NOW + 20000, &retry), 1);
    CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.1", 3, 0.05, NOW + 20000, &retry), 0);
    CHECK_INT(retry, 20000);
    /* Another key has its own bucket; after a long pause the whole burst is back. */
    CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.2", 3, 0.05, NOW, &retry), 1);
    for (int i = 0; i < 3; i++)
        CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.1", 3, 0.05, NOW + 200000, &retry), 1);
    CHECK_INT(storage_rate_limit_check(tx, "login.per_ip:192.0.2.1", 3, 0.05, NOW + 200000, &retry), 0);
    /* Fast rates keep their precision (microseconds). */
    for (int i = 0; i < 5; i++)
        CHECK_INT(storage_rate_limit_check(tx, "fast", 5, 4000, NOW, &retry), 1);
    CHECK_INT(storage_rate_limit_check(tx, "fast", 5, 4000, NOW, &retry), 0);
    CHECK_INT(retry, 1);
    CHECK_INT(storage_rate_limit_check(tx, "bad", 0, 1, NOW, &retry), -EINVAL);
    unsigned purged = 0;
    CHECK_INT(storage_rate_limit_purge(tx, NOW + 10000000, &purged), 0);
    CHECK_INT(purged, 3);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The job queue in one process: rollback, lease expiry, backoff, the failed state. */
static void test_jobs(struct storage *st)
{
    char id[STORAGE_ID_SIZE], kept[STORAGE_ID_SIZE];
    struct storage_job job = {0};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_job_enqueue(tx, "sync-devices", "{\"user\":1}", 0, NOW, id), 0);
    CHECK_INT(test_tx_end(tx, false), 0); /* rolled back with the change that needed it */
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_job_get(tx, id, &job), -ENOENT);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(storage_job_claim(st, NULL, "w1", 60000, NOW + 100000, &job), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_job_enqueue(tx, "sync-devices", "{\"user\":2}", 0, NOW, kept), 0);
    CHECK_INT(storage_job_enqueue(tx, "email", "{}", NOW + 5000, NOW, id), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    CHECK_INT(storage_job_claim(st, "other", "w1", 60000, NOW, &job), 0);
    CHECK_INT(storage_job_claim(st, "sync-devices", "w1", 60000, NOW, &job), 1);
    CHECK_STR(job.id, kept);
    CHECK_STR(job.payload, "{\"user\":2}");
    CHECK_INT(job.attempts, 1);
    CHECK_INT(job.lease_expires_at, NOW + 60000);
    storage_job_clear(&job);
    CHECK_INT(storage_job_claim(st, "sync-devices", "w2", 60000, NOW + 59999, &job), 0); /* leased */
    /* w1 died: once the lease expires, w2 gets the job. */
    CHECK_INT(storage_job_claim(st, "sync-devices", "w2", 60000, NOW + 60000, &job), 1);
    CHECK_STR(job.id, kept);
    CHECK_INT(job.attempts, 2);
    CHECK_STR(job.worker_id, "w2");
    storage_job_clear(&job);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_job_complete(tx, kept, "w1", NOW + 60001), -ESTALE); /* w1 lost its lease */
    CHECK_INT(storage_job_fail(tx, kept, "w2", "homeserver said 502", true, NOW + 61000), 1);
    CHECK_INT(storage_job_get(tx, kept, &job), 0);
    CHECK_INT(job.status, STORAGE_JOB_AVAILABLE);
    CHECK_INT(job.scheduled_at, NOW + 61000 + 10000); /* attempt 2 failed: 5 s × 2^1 */
    CHECK_STR(job.last_error, "homeserver said 502");
    storage_job_clear(&job);
    CHECK_INT(test_tx_end(tx, true), 0);

    /* Back off 5 s × 2^(n−1) after the n-th attempt, failed for good after the 10th. */
    int64_t t = NOW + 71000;
    for (unsigned attempt = 3; attempt <= STORAGE_JOB_MAX_ATTEMPTS; attempt++) {
        CHECK_INT(storage_job_claim(st, "sync-devices", "w3", 60000, t - 1, &job), 0);
        CHECK_INT(storage_job_claim(st, "sync-devices", "w3", 60000, t, &job), 1);
        CHECK_INT(job.attempts, attempt);
        storage_job_clear(&job);
        tx = test_tx_begin(st, STORAGE_TX_WRITE);
        CHECK_INT(storage_job_fail(tx, kept, "w3", "still down", true, t),
                  attempt < STORAGE_JOB_MAX_ATTEMPTS ? 1 : 0);
        CHECK_INT(test_tx_end(tx, true), 0);
        t += (int64_t)STORAGE_JOB_BACKOFF_MS << (attempt - 1);
    }
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_job_get(tx, kept, &job), 0);
    CHECK_INT(job.status, STORAGE_JOB_FAILED);
    CHECK_INT(job.attempts, STORAGE_JOB_MAX_ATTEMPTS);
    storage_job_clear(&job);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(storage_job_claim(st, "sync-devices", "w3", 60000, t + 100000000, &job), 0);

    CHECK_INT(storage_job_claim(st, NULL, "w4", 1000, NOW + 5000, &job), 1);
    CHECK_STR(job.id, id);
    storage_job_clear(&job);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_job_complete(tx, id, "w4", NOW + 5001), 0);
    CHECK_INT(storage_job_complete(tx, id, "w4", NOW + 5002), -ESTALE);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(storage_job_claim(st, NULL, "w4", 1000, NOW + 100000000, &job), 0); /* completed: never again */
}

/* The homeserver sync's storage: device sets, the device-sync lock, walking users, purges. */
static void test_hs_sync(struct storage *st)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_user u, v;
    struct storage_compat_session s1, s2;
    struct storage_oauth_session os;
    struct storage_oauth_client in = {.token_endpoint_auth_method = "none",
                                      .redirect_uris = "[]",
                                      .grant_types = "[]",
                                      .metadata = "{}",
                                      .metadata_digest = "hs"},
                                client;
    char **list = NULL;
    size_t n = 99;
    CHECK_INT(storage_user_create(tx, "syncer", false, NOW, &u), 0);
    CHECK_INT(storage_user_create(tx, "other", false, NOW, &v), 0);
    CHECK_INT(storage_user_devices(tx, u.id, &list, &n), 0);
    CHECK_INT(n, 0);
    storage_strings_free(list, n);
    CHECK_INT(storage_compat_session_create(tx, u.id, "ZDEV", false, NULL, NULL, NULL, NOW, &s1), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, "ADEV", false, NULL, NULL, NULL, NOW, &s2), 0);
    CHECK_INT(storage_compat_session_create(tx, v.id, "VDEV", false, NULL, NULL, NULL, NOW, &s2), 0);
    CHECK_INT(storage_oauth_client_create(tx, &in, NOW, &client), 0);
    CHECK_INT(storage_oauth_session_create(tx, client.id, u.id, NULL, "openid", NULL, NOW, &os), 0);
    CHECK_INT(storage_oauth_session_add_device(tx, os.id, "MDEV"), 0);
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_COMPAT, s1.id, NOW + 1), 1);
    /* compat and OAuth devices of active sessions only, sorted */
    CHECK_INT(storage_user_devices(tx, u.id, &list, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(list[0], "ADEV");
        CHECK_STR(list[1], "MDEV");
    }
    storage_strings_free(list, n);

    /* the lock: one holder at a time, renewable by it, free once expired or released */
    CHECK_INT(storage_user_device_sync_busy(tx, u.id, NOW), 0);
    CHECK_INT(storage_user_device_sync_begin(tx, u.id, "job1", NOW + 1000, NOW), 1);
    CHECK_INT(storage_user_device_sync_busy(tx, u.id, NOW + 999), 1);
    CHECK_INT(storage_user_device_sync_busy(tx, v.id, NOW), 0);
    CHECK_INT(storage_user_device_sync_begin(tx, u.id, "job2", NOW + 2000, NOW + 500), 0);
    CHECK_INT(storage_user_device_sync_begin(tx, u.id, "job1", NOW + 2000, NOW + 500), 1);
    CHECK_INT(storage_user_device_sync_begin(tx, u.id, "job2", NOW + 3000, NOW + 2000), 1); /* expired */
    CHECK_INT(storage_user_device_sync_end(tx, u.id, "job1"), 0);                           /* not its own */
    CHECK_INT(storage_user_device_sync_busy(tx, u.id, NOW + 2500), 1);
    CHECK_INT(storage_user_device_sync_end(tx, u.id, "job2"), 0);
    CHECK_INT(storage_user_device_sync_busy(tx, u.id, NOW + 2500), 0);
    CHECK_INT(storage_user_device_sync_begin(tx, "01HZZZZZZZZZZZZZZZZZZZZZZZ", "j", NOW + 1, NOW), -ENOENT);

    /* every user, in pages */
    char after[STORAGE_ID_SIZE] = "";
    size_t seen = 0, pages = 0;
    do {
        CHECK_INT(storage_user_ids(tx, after[0] ? after : NULL, 1, &list, &n), 0);
        if (n) {
            CHECK(strcmp(list[0], after) > 0);
            snprintf(after, sizeof(after), "%s", list[0]);
        }
        seen += n, pages++;
        storage_strings_free(list, n);
    } while (n && pages < 100);
    CHECK(seen >= 2);

    /* purges: finished jobs older than the cut, expired jtis */
    char keep[STORAGE_ID_SIZE], old[STORAGE_ID_SIZE];
    struct storage_job job = {0};
    CHECK_INT(storage_job_enqueue(tx, "purge-old", "{}", 0, NOW, old), 0);
    CHECK_INT(storage_job_enqueue(tx, "purge-keep", "{}", 0, NOW, keep), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(storage_job_claim(st, "purge-old", "w", 1000, NOW, &job), 1);
    storage_job_clear(&job);
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_job_fail(tx, old, "w", "never", false, NOW), 0); /* no retry: failed at once */
    CHECK_INT(storage_job_get(tx, old, &job), 0);
    CHECK_INT(job.status, STORAGE_JOB_FAILED);
    storage_job_clear(&job);
    unsigned purged = 99;
    CHECK_INT(storage_job_purge(tx, NOW, &purged), 0);
    CHECK_INT(purged, 0);
    CHECK_INT(storage_job_purge(tx, NOW + 1, &purged), 0);
    CHECK_INT(purged, 1);
    CHECK_INT(storage_job_get(tx, old, &job), -ENOENT);
    CHECK_INT(storage_job_get(tx, keep, &job), 0); /* still waiting to run */
    storage_job_clear(&job);
    CHECK_INT(storage_jti_use(tx, "c", "j1", NOW + 10, NOW), 0);
    CHECK_INT(storage_jti_purge(tx, NOW + 9, &purged), 0);
    CHECK_INT(purged, 0);
    CHECK_INT(storage_jti_purge(tx, NOW + 10, &purged), 0);
    CHECK_INT(purged, 1);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_oauth_client_clear(&client);
}

/* A service refuses a database with pending migrations and names the command to run. */
static void test_migrations(enum storage_backend b)
{
    char uri[512];
    unsigned current = 99, latest = 0, applied = 99;
    struct storage *st = NULL;
    test_db(b, "mig", uri, sizeof(uri));
    CHECK_INT(storage_open_uri(uri, &st), 0);
    if (!st)
        return;
    CHECK_INT(storage_schema_version(st, &current, &latest), 0);
    CHECK_INT(current, 0);
    CHECK(latest >= 1);
    CHECK_INT(storage_check_migrations(st), -ESTALE);
    CHECK(strstr(storage_last_error(), "masctl database migrate") != NULL);
    CHECK_INT(storage_migrate(st, &applied), 0);
    CHECK_INT(applied, storage_schema_count_after(0));
    CHECK_INT(storage_check_migrations(st), 0);
    CHECK_INT(storage_migrate(st, &applied), 0);
    CHECK_INT(applied, 0);

    static struct storage_stmt future = {
        .sql = "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(sq_exec(tx, &future, NULL, 0, NULL), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(storage_check_migrations(st), -EPROTO);
    CHECK(strstr(storage_last_error(), "upgrade masd") != NULL);
    CHECK_INT(storage_migrate(st, &applied), -EPROTO);
    storage_close(st);
}

static void test_open_errors(void)
{
    struct storage *st = NULL;
    CHECK_INT(storage_open_uri("mysql://x", &st), -EINVAL);
    CHECK(strstr(storage_last_error(), "expected sqlite://") != NULL);
    CHECK_INT(storage_open_uri("sqlite://", &st), -EINVAL);
    CHECK_INT(storage_open_uri("sqlite:///tmp/x.db?mode=ro", &st), -EINVAL);
    CHECK(storage_open_uri("sqlite:///nonexistent-dir/masd.db", &st) < 0);
    CHECK(strstr(storage_last_error(), "nonexistent-dir") != NULL);
    CHECK(st == NULL);
}

struct counter {
    int calls;
};

static int count_fn(struct storage_tx *tx, void *arg)
{
    struct counter *c = arg;
    struct storage_user u;
    c->calls++;
    return storage_user_find(tx, "lena", &u);
}

/* PostgreSQL: the server ends our session; the next transaction reconnects, prepares its
 * statements again and succeeds. */
static void test_reconnect(struct storage *st)
{
    static struct storage_stmt pid = {.sql = "SELECT pg_backend_pid()"};
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct sq q;
    CHECK_INT(sq_run(tx, &pid, NULL, 0, &q), 0);
    CHECK_INT(sq_next(&q), 1);
    char sql[96], old[32];
    snprintf(old, sizeof(old), "%s", sq_text(&q, 0));
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", old);
    sq_done(&q);
    CHECK_INT(test_tx_end(tx, true), 0);
    PGconn *admin = PQconnectdb(getenv("MASD_TEST_PG_URI"));
    PQclear(PQexec(admin, sql));
    PQfinish(admin);
    usleep(100000);
    struct counter c = {0};
    CHECK_INT(storage_tx(st, STORAGE_TX_READ, count_fn, &c), 0);
    CHECK_INT(c.calls, 1); /* BEGIN met the dead connection; the retry ran on a new one */
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(sq_run(tx, &pid, NULL, 0, &q), 0); /* prepared again on the new connection */
    CHECK_INT(sq_next(&q), 1);
    CHECK(strcmp(old, sq_text(&q, 0)) != 0);
    sq_done(&q);
    /* The timeouts are set on every connection, the new one included. */
    static struct storage_stmt timeouts = {.sql = "SELECT current_setting('statement_timeout'),"
                                                  " current_setting('lock_timeout')"};
    CHECK_INT(sq_run(tx, &timeouts, NULL, 0, &q), 0);
    CHECK_INT(sq_next(&q), 1);
    CHECK_STR(sq_text(&q, 0), "30s");
    CHECK_STR(sq_text(&q, 1), "5s");
    sq_done(&q);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* Every test of this file, on one backend. */
static void run(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    test_oauth(st);
    test_refresh_successor(st);
    test_rate_limit(st);
    test_jobs(st);
    test_hs_sync(st);
    test_compat_sso(st);
    if (b == STORAGE_POSTGRESQL)
        test_reconnect(st);
    storage_close(st);
    test_migrations(b);
}

int main(void)
{
    test_init();
    test_open_errors();
    test_each_backend("oauth", run);
    return check_report(__FILE__);
}
