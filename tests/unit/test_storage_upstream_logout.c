/* Back-channel logout in the database (storage_upstream_logout.c), on SQLite and PostgreSQL:
 * which browser sessions a logout token's sub and sid name (the provider's own sign-ins only,
 * consumed at or before the token was issued), what logout_browser_only and logout_all end (the
 * OAuth 2.0 and compat sessions started from those browser sessions, not others), the users to
 * sync, and that a second token ends nothing more. */
#include "config_check.h"
#include "secrets.h"
#include "storage_test.h"
#include "storage_upstream.h"
#include "upstream_sync.h"
#include <errno.h>

#define P1  "01GFWR28C4KNE04WG3HKXB7C9R"
#define P2  "01GFWR32NCQ12B8Z0J8CPXRRB6"
#define NOW 1700000000000LL

#define CONFIG                                                                                               \
    "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"             \
    "upstream_oauth2:\n  providers:\n"                                                                       \
    "    - id: " P1 "\n      issuer: https://idp.example.com\n      client_id: masd\n"                       \
    "      token_endpoint_auth_method: none\n"                                                               \
    "    - id: " P2 "\n      issuer: https://two.example.com\n      client_id: masd\n"                       \
    "      token_endpoint_auth_method: none\n"

struct fixture {
    struct storage_user alice, bob;
    char client_id[STORAGE_ID_SIZE];
};

/* A sign-in of user through provider with this sub and sid, consumed at `at` for a new browser
 * session (bs), which then starts an OAuth 2.0 and a compat session. */
struct signin {
    struct storage_browser_session bs;
    struct storage_oauth_session oauth;
    struct storage_compat_session compat;
};

static void sign_in(struct storage_tx *tx, const struct fixture *f, const char *provider, const char *user_id,
                    const char *sub, const char *sid, const char *device, int64_t at, struct signin *out)
{
    static unsigned n;
    char state[32], subject[64];
    snprintf(state, sizeof(state), "state-%u", ++n);
    snprintf(subject, sizeof(subject), "%s-%u", sub, n);
    struct storage_upstream_link link;
    CHECK_INT(storage_upstream_link_create(tx, provider, subject, NULL, at, &link), 0);
    char session_id[STORAGE_ID_SIZE];
    CHECK_INT(storage_upstream_session_create(tx, provider, state, NULL, "nonce", at, session_id), 0);
    struct storage_upstream_completion c = {
        .link_id = link.id, .id_token_sub = sub, .id_token_sid = sid, .extra_callback_parameters = "{}"};
    CHECK_INT(storage_upstream_session_complete(tx, session_id, &c, at), 0);
    CHECK_INT(storage_browser_session_create(tx, user_id, "test", at, &out->bs), 0);
    CHECK_INT(storage_upstream_session_consume(tx, session_id, out->bs.id, at), 0);
    CHECK_INT(
        storage_oauth_session_create(tx, f->client_id, user_id, out->bs.id, "openid", NULL, at, &out->oauth),
        0);
    CHECK_INT(
        storage_compat_session_create(tx, user_id, device, false, out->bs.id, NULL, NULL, at, &out->compat),
        0);
}

static bool finished(struct storage_tx *tx, enum storage_session_kind kind, const char *id)
{
    if (kind == STORAGE_SESSION_BROWSER) {
        struct storage_browser_session s;
        CHECK_INT(storage_browser_session_get(tx, id, &s), 0);
        return s.finished_at != 0;
    }
    if (kind == STORAGE_SESSION_COMPAT) {
        struct storage_compat_session s;
        CHECK_INT(storage_compat_session_get(tx, id, &s), 0);
        return s.finished_at != 0;
    }
    struct storage_oauth_session s;
    CHECK_INT(storage_oauth_session_get(tx, id, &s), 0);
    return s.finished_at != 0;
}

static bool all_finished(struct storage_tx *tx, const struct signin *s)
{
    return finished(tx, STORAGE_SESSION_BROWSER, s->bs.id) &&
           finished(tx, STORAGE_SESSION_OAUTH, s->oauth.id) &&
           finished(tx, STORAGE_SESSION_COMPAT, s->compat.id);
}

static bool none_finished(struct storage_tx *tx, const struct signin *s)
{
    return !finished(tx, STORAGE_SESSION_BROWSER, s->bs.id) &&
           !finished(tx, STORAGE_SESSION_OAUTH, s->oauth.id) &&
           !finished(tx, STORAGE_SESSION_COMPAT, s->compat.id);
}

static void run(enum storage_backend b, const char *uri)
{
    (void)b;
    struct storage *st = test_open(uri);
    struct config *cfg = load(CONFIG);
    struct secrets *s = NULL;
    struct upstream_sync sync = {0};
    CHECK_INT(upstream_sync_run(cfg, st, s, &sync), 0);

    struct fixture f;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, "alice", false, NOW, &f.alice), 0);
    CHECK_INT(storage_user_create(tx, "bob", false, NOW, &f.bob), 0);
    struct storage_oauth_client c = {.token_endpoint_auth_method = "none"};
    CHECK_INT(storage_oauth_client_create(tx, &c, NOW, &c), 0);
    snprintf(f.client_id, sizeof(f.client_id), "%s", c.id);
    storage_oauth_client_clear(&c);

    /* alice: two sign-ins at P1 in IdP session sid-a1, one in sid-a2, one at P2 with the same sub;
     * bob at P1. */
    struct signin a1, a1b, a2, a_other, bob, late;
    sign_in(tx, &f, P1, f.alice.id, "sub-alice", "sid-a1", "DEVA1", NOW, &a1);
    sign_in(tx, &f, P1, f.alice.id, "sub-alice", "sid-a1", "DEVA1B", NOW + 1, &a1b);
    sign_in(tx, &f, P1, f.alice.id, "sub-alice", "sid-a2", "DEVA2", NOW + 2, &a2);
    sign_in(tx, &f, P2, f.alice.id, "sub-alice", "sid-a1", "DEVAO", NOW + 3, &a_other);
    sign_in(tx, &f, P1, f.bob.id, "sub-bob", "sid-b", "DEVB", NOW + 4, &bob);
    /* a sign-in after the token below was issued */
    sign_in(tx, &f, P1, f.alice.id, "sub-alice", "sid-a1", "DEVLATE", NOW + 60000, &late);
    CHECK_INT(test_tx_end(tx, true), 0);

    struct storage_upstream_logout out;
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_backchannel_logout(tx, P1, NULL, NULL, NOW + 10, true, NOW + 10, &out),
              -EINVAL);
    CHECK_INT(storage_upstream_backchannel_logout(tx, P1, "", "", NOW + 10, true, NOW + 10, &out), -EINVAL);
    test_tx_end(tx, false);

    /* logout_browser_only, sid only: the two browser sessions of sid-a1 before the token, nothing
     * they started, nothing of P2 or of the later sign-in. */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_backchannel_logout(tx, P1, NULL, "sid-a1", NOW + 10, false, NOW + 20, &out),
              0);
    CHECK_INT(out.browser_sessions, 2);
    CHECK_INT(out.oauth_sessions + out.compat_sessions, 0);
    CHECK_INT(out.n_users, 0);
    storage_upstream_logout_clear(&out);
    CHECK(finished(tx, STORAGE_SESSION_BROWSER, a1.bs.id) &&
          finished(tx, STORAGE_SESSION_BROWSER, a1b.bs.id));
    CHECK(!finished(tx, STORAGE_SESSION_OAUTH, a1.oauth.id) &&
          !finished(tx, STORAGE_SESSION_COMPAT, a1.compat.id));
    CHECK(none_finished(tx, &a2) && none_finished(tx, &a_other) && none_finished(tx, &bob) &&
          none_finished(tx, &late));
    CHECK_INT(test_tx_end(tx, true), 0);

    /* logout_all, sub only: every sign-in of alice at P1 before the token (a1's browser session
     * is finished already; what it started ends now), once alice to sync. */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_backchannel_logout(tx, P1, "sub-alice", NULL, NOW + 10, true, NOW + 30, &out),
              0);
    CHECK_INT(out.browser_sessions, 1); /* a2's */
    CHECK_INT(out.oauth_sessions, 3);
    CHECK_INT(out.compat_sessions, 3);
    CHECK_INT(out.n_users, 1);
    CHECK_STR(out.users[0], f.alice.id);
    storage_upstream_logout_clear(&out);
    CHECK(all_finished(tx, &a1) && all_finished(tx, &a1b) && all_finished(tx, &a2));
    CHECK(none_finished(tx, &a_other) && none_finished(tx, &bob) && none_finished(tx, &late));
    CHECK_INT(test_tx_end(tx, true), 0);

    /* again: nothing more to end; sub and sid must both match */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_backchannel_logout(tx, P1, "sub-alice", NULL, NOW + 10, true, NOW + 40, &out),
              0);
    CHECK_INT(out.browser_sessions + out.oauth_sessions + out.compat_sessions, 0);
    CHECK_INT(out.n_users, 0);
    storage_upstream_logout_clear(&out);
    CHECK_INT(
        storage_upstream_backchannel_logout(tx, P1, "sub-bob", "sid-a1", NOW + 100000, true, NOW + 40, &out),
        0);
    CHECK_INT(out.browser_sessions + out.oauth_sessions + out.compat_sessions, 0);
    storage_upstream_logout_clear(&out);
    CHECK(none_finished(tx, &bob) && none_finished(tx, &late));
    /* both given and matching: bob's, and the later one is reached by a later token */
    CHECK_INT(storage_upstream_backchannel_logout(tx, P1, "sub-bob", "sid-b", NOW + 10, true, NOW + 40, &out),
              0);
    CHECK_INT(out.browser_sessions, 1);
    CHECK_INT(out.n_users, 1);
    CHECK_STR(out.users[0], f.bob.id);
    storage_upstream_logout_clear(&out);
    CHECK(all_finished(tx, &bob));
    CHECK_INT(storage_upstream_backchannel_logout(tx, P1, "sub-alice", "sid-a1", NOW + 60000, true,
                                                  NOW + 60001, &out),
              0);
    CHECK_INT(out.browser_sessions, 1);
    storage_upstream_logout_clear(&out);
    CHECK(all_finished(tx, &late) && none_finished(tx, &a_other));
    CHECK_INT(test_tx_end(tx, true), 0);

    config_free(cfg);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("upstream_logout", run);
    return check_report(__FILE__);
}
