/* Storage: introspection's point read (storage_token_introspect, the introspection_tokens table of
 * migration 4) never goes stale. After every kind of change that can change an introspection
 * answer — token issue, expiry, revocation, refresh rotation, first use, session end (one, a
 * device's, all of a user's), user lock/unlock/deactivate/reactivate, an operator's own SQL, a
 * deleted token — every token's row is compared field by field with the join of the token, session
 * and user tables it copies, inside the same transaction and after commit; a rolled-back change
 * leaves it as it was; a token issued while a lock or a session end is in flight in another
 * transaction comes out locked or ended. A database migrated before migration 4 gets its existing tokens
 * backfilled. Every case runs on SQLite and on PostgreSQL. */
#include "storage_test.h"
#include "token.h"

static const int64_t NOW = 1700000000000;

struct tracked {
    char token[TOKEN_LEN + 1];
    enum storage_token_kind kind;
};

static struct tracked tokens[32];
static size_t n_tokens;

static const char *track(enum storage_token_kind kind)
{
    static const enum token_kind kinds[] = {
        [STORAGE_TOKEN_COMPAT_ACCESS] = TOKEN_COMPAT_ACCESS,
        [STORAGE_TOKEN_COMPAT_REFRESH] = TOKEN_COMPAT_REFRESH,
        [STORAGE_TOKEN_OAUTH_ACCESS] = TOKEN_ACCESS,
        [STORAGE_TOKEN_OAUTH_REFRESH] = TOKEN_REFRESH,
    };
    struct tracked *t = &tokens[n_tokens++];
    token_generate(kinds[kind], t->token);
    t->kind = kind;
    return t->token;
}

/* What the join of the token's own tables says, in the copy's shape; -ENOENT when gone. */
static int joined(struct storage_tx *tx, const struct tracked *t, struct storage_token_introspection *out)
{
    *out = (struct storage_token_introspection){.kind = t->kind};
    int r;
    if (t->kind == STORAGE_TOKEN_COMPAT_ACCESS || t->kind == STORAGE_TOKEN_COMPAT_REFRESH) {
        struct storage_compat_access_lookup a;
        struct storage_compat_refresh_lookup f;
        bool access = t->kind == STORAGE_TOKEN_COMPAT_ACCESS;
        r = access ? storage_compat_access_token_lookup(tx, t->token, &a)
                   : storage_compat_refresh_token_lookup(tx, t->token, &f);
        if (r < 0)
            return r;
        const struct storage_compat_session *s = access ? &a.session : &f.session;
        const struct storage_user *u = access ? &a.user : &f.user;
        memcpy(out->token_id, access ? a.token.id : f.token.id, STORAGE_ID_SIZE);
        memcpy(out->session_id, s->id, STORAGE_ID_SIZE);
        memcpy(out->user_id, u->id, STORAGE_ID_SIZE);
        snprintf(out->username, sizeof(out->username), "%s", u->username);
        snprintf(out->device_id, sizeof(out->device_id), "%s", s->device_id);
        out->is_synapse_admin = s->is_synapse_admin;
        out->created_at = access ? a.token.created_at : f.token.created_at;
        out->expires_at = access ? a.token.expires_at : 0;
        out->revoked_at = access ? a.token.revoked_at : f.token.revoked_at;
        out->consumed_at = access ? 0 : f.token.consumed_at;
        out->session_finished_at = s->finished_at;
        out->user_locked_at = u->locked_at;
        out->user_deactivated_at = u->deactivated_at;
        return 0;
    }
    struct storage_oauth_access_lookup a;
    struct storage_oauth_refresh_lookup f;
    bool access = t->kind == STORAGE_TOKEN_OAUTH_ACCESS;
    r = access ? storage_oauth_access_token_lookup(tx, t->token, &a)
               : storage_oauth_refresh_token_lookup(tx, t->token, &f);
    if (r < 0)
        return r;
    const struct storage_oauth_session *s = access ? &a.session : &f.session;
    bool has_user = access ? a.has_user : f.has_user;
    const struct storage_user *u = access ? &a.user : &f.user;
    memcpy(out->token_id, access ? a.token.id : f.token.id, STORAGE_ID_SIZE);
    memcpy(out->session_id, s->id, STORAGE_ID_SIZE);
    memcpy(out->client_id, s->client_id, STORAGE_ID_SIZE);
    snprintf(out->scope, sizeof(out->scope), "%s", s->scope);
    out->created_at = access ? a.token.created_at : f.token.created_at;
    out->expires_at = access ? a.token.expires_at : 0;
    out->revoked_at = access ? a.token.revoked_at : f.token.revoked_at;
    out->consumed_at = access ? 0 : f.token.consumed_at;
    out->first_used_at = access ? a.token.first_used_at : 0;
    out->session_finished_at = s->finished_at;
    if (has_user) {
        memcpy(out->user_id, u->id, STORAGE_ID_SIZE);
        snprintf(out->username, sizeof(out->username), "%s", u->username);
        out->user_locked_at = u->locked_at;
        out->user_deactivated_at = u->deactivated_at;
    }
    return 0;
}

/* Every tracked token: the copy equals the join (or both are gone). */
static void check_fresh(struct storage_tx *tx, const char *step)
{
    for (size_t i = 0; i < n_tokens; i++) {
        struct storage_token_introspection want, got;
        int rw = joined(tx, &tokens[i], &want);
        memset(&got, 0x55, sizeof(got)); /* a field left unread shows */
        int rg = storage_token_introspect(tx, tokens[i].token, &got);
        CHECK_INT(rg, rw);
        if (rw < 0 || rg < 0)
            continue;
        int bad = 0;
#define SAME_INT(f)                                                                                          \
    bad += want.f != got.f ? (fprintf(stderr, "  %s: token %zu: " #f " %lld, want %lld\n", step, i,          \
                                      (long long)got.f, (long long)want.f),                                  \
                              1)                                                                             \
                           : 0
#define SAME_STR(f)                                                                                          \
    bad += strcmp(want.f, got.f)                                                                             \
               ? (fprintf(stderr, "  %s: token %zu: " #f " '%s', want '%s'\n", step, i, got.f, want.f), 1)   \
               : 0
        SAME_INT(kind);
        SAME_STR(token_id);
        SAME_STR(session_id);
        SAME_STR(user_id);
        SAME_STR(username);
        SAME_STR(device_id);
        SAME_STR(client_id);
        SAME_STR(scope);
        SAME_INT(is_synapse_admin);
        SAME_INT(created_at);
        SAME_INT(expires_at);
        SAME_INT(revoked_at);
        SAME_INT(consumed_at);
        SAME_INT(first_used_at);
        SAME_INT(session_finished_at);
        SAME_INT(user_locked_at);
        SAME_INT(user_deactivated_at);
#undef SAME_INT
#undef SAME_STR
        CHECK_INT(bad, 0);
    }
}

/* The copy of one token, read in tx. */
static struct storage_token_introspection row(struct storage_tx *tx, const char *token)
{
    struct storage_token_introspection t = {0};
    CHECK_INT(storage_token_introspect(tx, token, &t), 0);
    return t;
}

/* Each step in its own write transaction, checked inside it (the same transaction sees its own
 * change) and again after commit by a one-statement read (introspection's own path). */
#define STEP(name, ...)                                                                                      \
    do {                                                                                                     \
        struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);                                         \
        __VA_ARGS__;                                                                                         \
        check_fresh(tx, name);                                                                               \
        CHECK_INT(test_tx_end(tx, true), 0);                                                                 \
        tx = test_tx_begin(st, STORAGE_TX_READ);                                                             \
        check_fresh(tx, name);                                                                               \
        CHECK_INT(test_tx_end(tx, true), 0);                                                                 \
    } while (0)

STORAGE_STMT(operator_lock, "UPDATE users SET locked_at = $2 WHERE user_id = $1");
STORAGE_STMT(operator_unlock, "UPDATE users SET locked_at = NULL WHERE user_id = $1");
STORAGE_STMT(operator_delete, "DELETE FROM compat_access_tokens WHERE compat_access_token_id = $1");
STORAGE_STMT(count_rows, "SELECT COUNT(*) FROM introspection_tokens");

static void test_fresh(struct storage *st)
{
    n_tokens = 0;
    struct storage_user alice, bob;
    struct storage_compat_session cs, cs2, bs;
    struct storage_oauth_client client;
    struct storage_oauth_session os, cc;
    struct storage_access_token ca, ca2, oa, cca, ba;
    struct storage_refresh_token cr, cr2, orf;
    const char *t_ca, *t_cr, *t_oa, *t_or, *t_cc, *t_ca2, *t_cr2, *t_ba;
    struct storage_oauth_client in = {.token_endpoint_auth_method = "client_secret_basic",
                                      .encrypted_secret = "v1.sealed",
                                      .metadata_digest = "introspection"};

    STEP("issue", {
        CHECK_INT(storage_user_create(tx, "alice", false, NOW, &alice), 0);
        CHECK_INT(storage_user_create(tx, "bob", false, NOW, &bob), 0);
        CHECK_INT(storage_compat_session_create(tx, alice.id, "ADEVICE", true, NULL, NULL, NULL, NOW, &cs),
                  0);
        CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_COMPAT, cs.id,
                                           t_ca = track(STORAGE_TOKEN_COMPAT_ACCESS), NOW + 300000, NOW, &ca),
                  0);
        CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_COMPAT, cs.id, ca.id,
                                            t_cr = track(STORAGE_TOKEN_COMPAT_REFRESH), NOW, &cr),
                  0);
        CHECK_INT(storage_compat_session_create(tx, bob.id, "BDEVICE", false, NULL, NULL, NULL, NOW, &bs), 0);
        CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_COMPAT, bs.id,
                                           t_ba = track(STORAGE_TOKEN_COMPAT_ACCESS), 0, NOW, &ba),
                  0);
        CHECK_INT(storage_oauth_client_create(tx, &in, NOW, &client), 0);
        CHECK_INT(storage_oauth_session_create(tx, client.id, alice.id, NULL,
                                               "openid urn:matrix:client:api:*", NULL, NOW, &os),
                  0);
        CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_OAUTH, os.id,
                                           t_oa = track(STORAGE_TOKEN_OAUTH_ACCESS), NOW + 300000, NOW, &oa),
                  0);
        CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, os.id, oa.id,
                                            t_or = track(STORAGE_TOKEN_OAUTH_REFRESH), NOW, &orf),
                  0);
        /* client_credentials: no user */
        CHECK_INT(storage_oauth_session_create(tx, client.id, NULL, NULL, "urn:mas:admin", NULL, NOW, &cc),
                  0);
        CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_OAUTH, cc.id,
                                           t_cc = track(STORAGE_TOKEN_OAUTH_ACCESS), 0, NOW, &cca),
                  0);
        struct storage_token_introspection r = row(tx, t_ca);
        CHECK_INT(r.kind, STORAGE_TOKEN_COMPAT_ACCESS);
        CHECK_STR(r.token_id, ca.id);
        CHECK_STR(r.session_id, cs.id);
        CHECK_STR(r.user_id, alice.id);
        CHECK_STR(r.username, "alice");
        CHECK_STR(r.device_id, "ADEVICE");
        CHECK(r.is_synapse_admin);
        CHECK_INT(r.expires_at, NOW + 300000);
        r = row(tx, t_cr);
        CHECK_INT(r.kind, STORAGE_TOKEN_COMPAT_REFRESH);
        CHECK_STR(r.token_id, cr.id);
        r = row(tx, t_oa);
        CHECK_INT(r.kind, STORAGE_TOKEN_OAUTH_ACCESS);
        CHECK_STR(r.client_id, client.id);
        CHECK_STR(r.scope, "openid urn:matrix:client:api:*");
        CHECK_INT(r.first_used_at, 0);
        r = row(tx, t_cc);
        CHECK_STR(r.user_id, "");
        CHECK_STR(r.username, "");
        struct storage_token_introspection none;
        char unknown[TOKEN_LEN + 1];
        token_generate(TOKEN_COMPAT_ACCESS, unknown);
        CHECK_INT(storage_token_introspect(tx, unknown, &none), -ENOENT);
    });

    STEP("lock", {
        CHECK_INT(storage_user_lock(tx, alice.id, NOW + 10), 1);
        CHECK_INT(row(tx, t_ca).user_locked_at, NOW + 10);
        CHECK_INT(row(tx, t_or).user_locked_at, NOW + 10);
    });
    STEP("unlock", {
        CHECK_INT(storage_user_unlock(tx, alice.id), 1);
        CHECK_INT(row(tx, t_ca).user_locked_at, 0);
    });
    STEP("deactivate", {
        CHECK_INT(storage_user_deactivate(tx, alice.id, NOW + 20), 1);
        CHECK_INT(row(tx, t_oa).user_deactivated_at, NOW + 20);
    });
    STEP("reactivate", {
        CHECK_INT(storage_user_reactivate(tx, alice.id), 1);
        CHECK_INT(row(tx, t_oa).user_deactivated_at, 0);
    });
    STEP("first use", {
        CHECK_INT(storage_oauth_access_token_mark_used(tx, oa.id, NOW + 30), 1);
        CHECK_INT(row(tx, t_oa).first_used_at, NOW + 30);
    });
    STEP("activity (not copied, changes nothing)", {
        CHECK_INT(storage_session_activity_record(tx, STORAGE_SESSION_COMPAT, cs.id, NOW + 35, "192.0.2.1"),
                  0);
        CHECK_INT(storage_session_activity_record(tx, STORAGE_SESSION_OAUTH, os.id, NOW + 35, NULL), 0);
    });
    STEP("refresh rotation", {
        CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_COMPAT, cs.id,
                                           t_ca2 = track(STORAGE_TOKEN_COMPAT_ACCESS), NOW + 400000, NOW + 40,
                                           &ca2),
                  0);
        CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_COMPAT, cs.id, ca2.id,
                                            t_cr2 = track(STORAGE_TOKEN_COMPAT_REFRESH), NOW + 40, &cr2),
                  0);
        CHECK_INT(storage_refresh_token_consume(tx, STORAGE_SESSION_COMPAT, cr.id, cr2.id, NOW + 40), 0);
        CHECK_INT(storage_compat_access_token_expire(tx, ca.id, NOW + 40), 1);
        CHECK_INT(row(tx, t_cr).consumed_at, NOW + 40);
        CHECK_INT(row(tx, t_ca).expires_at, NOW + 40);
        CHECK_INT(row(tx, t_cr2).consumed_at, 0);
    });
    STEP("revoke", {
        CHECK_INT(storage_access_token_revoke(tx, STORAGE_SESSION_COMPAT, ca2.id, NOW + 50), 1);
        CHECK_INT(storage_oauth_refresh_token_revoke(tx, orf.id, NOW + 50), 1);
        CHECK_INT(row(tx, t_ca2).revoked_at, NOW + 50);
        CHECK_INT(row(tx, t_or).revoked_at, NOW + 50);
    });
    STEP("operator's SQL", {
        CHECK_INT(sq_exec(tx, &operator_lock, SQ_ARGS(P_TEXT(alice.id), P_INT(NOW + 60)), NULL), 0);
        CHECK_INT(row(tx, t_cc).user_locked_at, 0); /* no user: untouched */
        CHECK_INT(row(tx, t_cr2).user_locked_at, NOW + 60);
        CHECK_INT(sq_exec(tx, &operator_unlock, SQ_ARGS(P_TEXT(alice.id)), NULL), 0);
    });
    {
        /* a change rolled back leaves the copy as it was */
        struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
        CHECK_INT(storage_user_lock(tx, alice.id, NOW + 65), 1);
        CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_COMPAT, cs.id, NOW + 65), 1);
        CHECK_INT(test_tx_end(tx, false), 0);
        tx = test_tx_begin(st, STORAGE_TX_READ);
        CHECK_INT(row(tx, t_cr2).user_locked_at, 0);
        CHECK_INT(row(tx, t_cr2).session_finished_at, 0);
        check_fresh(tx, "rollback");
        CHECK_INT(test_tx_end(tx, true), 0);
    }
    STEP("session end", {
        CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_COMPAT, cs.id, NOW + 70), 1);
        CHECK_INT(row(tx, t_ca).session_finished_at, NOW + 70);
        CHECK_INT(row(tx, t_cr2).session_finished_at, NOW + 70);
        CHECK_INT(row(tx, t_oa).session_finished_at, 0); /* another session of the same user */
    });
    STEP("device replaced", {
        CHECK_INT(
            storage_compat_session_create(tx, alice.id, "ADEVICE2", false, NULL, NULL, NULL, NOW + 75, &cs2),
            0);
        CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_COMPAT, cs2.id,
                                           track(STORAGE_TOKEN_COMPAT_ACCESS), 0, NOW + 75, NULL),
                  0);
        CHECK_INT(storage_device_finish_sessions(tx, alice.id, "ADEVICE2", NOW + 80), 1);
    });
    STEP("OAuth session end",
         { CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_OAUTH, os.id, NOW + 85), 1); });
    STEP("all of a user's sessions", {
        unsigned n = 0;
        CHECK_INT(storage_user_finish_all_sessions(tx, bob.id, NOW + 90, &n), 0);
        CHECK_INT(n, 1);
    });
    STEP("token deleted", {
        CHECK_INT(sq_exec(tx, &operator_delete, SQ_ARGS(P_TEXT(ba.id)), NULL), 0);
        struct storage_token_introspection none;
        CHECK_INT(storage_token_introspect(tx, t_ba, &none), -ENOENT);
    });
    storage_oauth_client_clear(&client);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct sq q;
    CHECK_INT(sq_run(tx, &count_rows, NULL, 0, &q), 0);
    CHECK_INT(sq_next(&q), 1);
    CHECK_INT(sq_int(&q, 0), (int64_t)n_tokens - 1); /* every token issued, but the deleted one */
    sq_done(&q);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* Two writers at once (PostgreSQL runs them at READ COMMITTED): a token issued while another
 * transaction locks its user or ends its session, not yet committed, must still come out locked
 * or ended once both commit. The token is written by a child process (its own connection)
 * while the parent holds the change open. */
static void race_case(const char *uri, bool end_session)
{
    struct storage *st = test_open(uri);
    struct storage_user u;
    struct storage_compat_session cs;
    char token[TOKEN_LEN + 1];
    token_generate(TOKEN_COMPAT_ACCESS, token);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    char name[32];
    snprintf(name, sizeof(name), "race%d", end_session);
    CHECK_INT(storage_user_create(tx, name, false, NOW, &u), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, NULL, false, NULL, NULL, NULL, NOW, &cs), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(end_session ? storage_session_finish(tx, STORAGE_SESSION_COMPAT, cs.id, NOW + 1)
                          : storage_user_lock(tx, u.id, NOW + 1),
              1);
    pid_t pid = fork();
    if (pid == 0) {
        struct storage *own = NULL;
        if (storage_open_uri(uri, &own) < 0)
            _exit(2);
        struct storage_tx *ctx = test_tx_begin(own, STORAGE_TX_WRITE);
        int r = storage_access_token_add(ctx, STORAGE_SESSION_COMPAT, cs.id, token, 0, NOW + 2, NULL);
        r = r < 0 ? r : test_tx_end(ctx, true);
        _exit(r < 0 ? 1 : 0);
    }
    usleep(300 * 1000); /* the child writes its token meanwhile, or waits for us */
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(test_wait(pid), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_token_introspection t = row(tx, token);
    CHECK_INT(end_session ? t.session_finished_at : t.user_locked_at, NOW + 1);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_close(st);
}

static void test_race(enum storage_backend b)
{
    char uri[512];
    test_db(b, "race", uri, sizeof(uri));
    race_case(uri, false);
    race_case(uri, true);
}

/* A database at version 4 (no table, no triggers) with tokens in every state, migrated: the
 * copy holds them all. */
/* The migrations after 5, undone too, so that 5 is applied again on a database at 4. */
#define UNDO_LATER                                                                                           \
    "DROP INDEX browser_session_authentications_upstream_idx;"                                               \
    "ALTER TABLE browser_session_authentications DROP COLUMN upstream_oauth_authorization_session_id;"       \
    "DROP INDEX user_registrations_upstream_idx;"                                                            \
    "ALTER TABLE user_registrations DROP COLUMN upstream_oauth_authorization_session_id;"                    \
    "DROP TABLE upstream_oauth_authorization_sessions;"                                                      \
    "DROP TABLE upstream_oauth_links;"                                                                       \
    "DROP TABLE upstream_oauth_providers;"                                                                   \
    "DROP TABLE user_recovery_tickets;"                                                                      \
    "DROP TABLE user_recovery_sessions;"                                                                     \
    "ALTER TABLE oauth2_authorization_grants DROP COLUMN redirect_uri_given;"                                \
    "ALTER TABLE oauth2_authorization_grants DROP COLUMN response_type_code;"                                \
    "ALTER TABLE oauth2_device_code_grants DROP COLUMN poll_interval_ms;"                                    \
    "ALTER TABLE oauth2_device_code_grants DROP COLUMN last_polled_at;"                                      \
    "ALTER TABLE oauth2_device_code_grants DROP COLUMN poll_too_fast;"                                       \
    "DROP INDEX compat_sso_logins_created_idx;"                                                              \
    "DROP INDEX compat_sessions_user_id_idx;"                                                                \
    "DROP INDEX oauth2_sessions_user_id_idx;"                                                                \
    "DROP INDEX browser_sessions_user_id_idx;"                                                               \
    "CREATE INDEX compat_sessions_user_idx ON compat_sessions (user_id);"                                    \
    "CREATE INDEX oauth2_sessions_user_idx ON oauth2_sessions (user_id);"                                    \
    "CREATE INDEX browser_sessions_user_idx ON browser_sessions (user_id);"                                  \
    "DROP TABLE user_terms;"                                                                                 \
    "DROP TABLE user_registrations;"                                                                         \
    "DROP TABLE user_registration_tokens;"                                                                   \
    "DROP TABLE user_email_authentication_codes;"                                                            \
    "DROP TABLE user_email_authentications;"
static const char *const undo_sqlite =
    "DROP TABLE introspection_tokens;"
    "DROP TRIGGER compat_access_tokens_introspection_insert;"
    "DROP TRIGGER compat_access_tokens_introspection_update;"
    "DROP TRIGGER compat_access_tokens_introspection_delete;"
    "DROP TRIGGER compat_refresh_tokens_introspection_insert;"
    "DROP TRIGGER compat_refresh_tokens_introspection_update;"
    "DROP TRIGGER compat_refresh_tokens_introspection_delete;"
    "DROP TRIGGER oauth2_access_tokens_introspection_insert;"
    "DROP TRIGGER oauth2_access_tokens_introspection_update;"
    "DROP TRIGGER oauth2_access_tokens_introspection_delete;"
    "DROP TRIGGER oauth2_refresh_tokens_introspection_insert;"
    "DROP TRIGGER oauth2_refresh_tokens_introspection_update;"
    "DROP TRIGGER oauth2_refresh_tokens_introspection_delete;"
    "DROP TRIGGER compat_sessions_introspection_update;"
    "DROP TRIGGER oauth2_sessions_introspection_update;"
    "DROP TRIGGER users_introspection_update;" UNDO_LATER "DELETE FROM schema_migrations WHERE version >= 5";
static const char *const undo_pg =
    "DROP TABLE introspection_tokens;"
    "DROP FUNCTION introspection_compat_access CASCADE;"
    "DROP FUNCTION introspection_compat_refresh CASCADE;"
    "DROP FUNCTION introspection_oauth2_access CASCADE;"
    "DROP FUNCTION introspection_oauth2_refresh CASCADE;"
    "DROP FUNCTION introspection_compat_session CASCADE;"
    "DROP FUNCTION introspection_oauth2_session CASCADE;"
    "DROP FUNCTION introspection_user CASCADE;" UNDO_LATER "DELETE FROM schema_migrations WHERE version >= 5";

static void test_backfill(enum storage_backend b)
{
    char uri[512];
    test_db(b, "backfill", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_DURABLE);
    CHECK_INT(st->ops->script(tx->conn, b == STORAGE_SQLITE ? undo_sqlite : undo_pg), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(storage_check_migrations(st), -ESTALE);

    n_tokens = 0;
    struct storage_user u;
    struct storage_compat_session cs;
    struct storage_oauth_client client;
    struct storage_oauth_session os;
    struct storage_access_token a;
    struct storage_refresh_token r;
    struct storage_oauth_client in = {.token_endpoint_auth_method = "none", .metadata_digest = "backfill"};
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, "carol", false, NOW, &u), 0);
    CHECK_INT(storage_compat_session_create(tx, u.id, "CDEVICE", false, NULL, NULL, NULL, NOW, &cs), 0);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_COMPAT, cs.id, track(STORAGE_TOKEN_COMPAT_ACCESS),
                                       NOW + 1000, NOW, &a),
              0);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_COMPAT, cs.id, a.id,
                                        track(STORAGE_TOKEN_COMPAT_REFRESH), NOW, &r),
              0);
    CHECK_INT(storage_refresh_token_consume(tx, STORAGE_SESSION_COMPAT, r.id, NULL, NOW + 1), 0);
    CHECK_INT(storage_oauth_client_create(tx, &in, NOW, &client), 0);
    CHECK_INT(storage_oauth_session_create(tx, client.id, u.id, NULL, "openid", NULL, NOW, &os), 0);
    CHECK_INT(storage_access_token_add(tx, STORAGE_SESSION_OAUTH, os.id, track(STORAGE_TOKEN_OAUTH_ACCESS), 0,
                                       NOW, &a),
              0);
    CHECK_INT(storage_oauth_access_token_mark_used(tx, a.id, NOW + 2), 1);
    CHECK_INT(storage_refresh_token_add(tx, STORAGE_SESSION_OAUTH, os.id, a.id,
                                        track(STORAGE_TOKEN_OAUTH_REFRESH), NOW, NULL),
              0);
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_OAUTH, os.id, NOW + 3), 1);
    CHECK_INT(storage_user_lock(tx, u.id, NOW + 4), 1);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_oauth_client_clear(&client);

    unsigned applied = 0;
    CHECK_INT(storage_migrate(st, &applied), 0);
    CHECK_INT(applied, storage_schema_count_after(4));
    tx = test_tx_begin(st, STORAGE_TX_READ);
    check_fresh(tx, "backfill");
    CHECK_INT(row(tx, tokens[0].token).user_locked_at, NOW + 4);
    CHECK_INT(row(tx, tokens[1].token).consumed_at, NOW + 1);
    CHECK_INT(row(tx, tokens[2].token).first_used_at, NOW + 2);
    CHECK_INT(row(tx, tokens[3].token).session_finished_at, NOW + 3);
    CHECK_INT(test_tx_end(tx, true), 0);
    storage_close(st);
}

/* Every test of this file, on one backend. */
static void run(enum storage_backend b, const char *uri)
{
    struct storage *st = test_open(uri);
    test_fresh(st);
    storage_close(st);
    test_backfill(b);
    if (b == STORAGE_POSTGRESQL) /* SQLite has one writer at a time */
        test_race(b);
}

int main(void)
{
    test_init();
    test_each_backend("introspection", run);
    return check_report(__FILE__);
}
