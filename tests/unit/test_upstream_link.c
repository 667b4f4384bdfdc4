/* The link page's decisions (services/human/upstream_link_decide.c) as MAS's tables say them
 * (crates/handlers/src/upstream_oauth2/link.rs; docs/upstream-oauth.md "The link page"): the
 * route by who is signed in and whose the link is, the claims imports' actions, the localpart's
 * normalisation and on_conflict (no `Alice` over `alice`), skip_confirmation, the
 * upstream-oauth2-sessions cookie's lookup by link; and the storage the page uses (storage_upstream_link.c),
 * on SQLite and PostgreSQL. */
#include "claims_template.h"
#include "config_check.h"
#include "storage_test.h"
#include "storage_upstream.h"
#include "upstream_link_decide.h"
#include <errno.h>
#include <stdlib.h>

#define A "01GFWR28C4KNE04WG3HKXB7C9R"
#define B "01GFWR32NCQ12B8Z0J8CPXRRB6"

static void test_route(void)
{
    CHECK_INT(upstream_link_route(A, A), LINK_RENEW);
    CHECK_INT(upstream_link_route(A, B), LINK_MISMATCH);
    CHECK_INT(upstream_link_route(A, ""), LINK_SUGGEST);
    CHECK_INT(upstream_link_route(A, NULL), LINK_SUGGEST);
    CHECK_INT(upstream_link_route("", B), LINK_LOGIN);
    CHECK_INT(upstream_link_route(NULL, B), LINK_LOGIN);
    CHECK_INT(upstream_link_route(NULL, NULL), LINK_REGISTER);
    CHECK_INT(upstream_link_route("", ""), LINK_REGISTER);

    /* a form only where it applies (MAS: InvalidFormAction otherwise) */
    CHECK(upstream_link_form_allowed(LINK_SUGGEST, "link"));
    CHECK(!upstream_link_form_allowed(LINK_SUGGEST, "register"));
    CHECK(upstream_link_form_allowed(LINK_REGISTER, "register"));
    CHECK(!upstream_link_form_allowed(LINK_REGISTER, "link")); /* no linking while signed out */
    CHECK(!upstream_link_form_allowed(LINK_RENEW, "link"));
    CHECK(!upstream_link_form_allowed(LINK_MISMATCH, "link")); /* no taking over another's link */
    CHECK(!upstream_link_form_allowed(LINK_LOGIN, "register"));
    CHECK(!upstream_link_form_allowed(LINK_REGISTER, ""));
    CHECK(!upstream_link_form_allowed(LINK_REGISTER, NULL));
    CHECK(!upstream_link_form_allowed(LINK_REGISTER, "Register"));
}

static struct config_claims_import import(enum config_claims_action a, const char *src)
{
    struct config_claims_import i = {.action = a};
    char err[128];
    CHECK_INT(claims_template_compile(src, strlen(src), &i.compiled, err, sizeof(err)), 0);
    return i;
}

/* Renders with the claims {"name": " Alice Example ", "empty": "", "nick": null}. */
static int render(enum config_claims_action a, const char *src, bool accepted, char **out)
{
    struct config_claims_import i = import(a, src);
    json_t *claims = json_pack("{s:s, s:s, s:n}", "name", " Alice Example ", "empty", "", "nick");
    json_t *vars = claims_template_context(claims, NULL, NULL);
    char err[256];
    int r = upstream_import_render(&i, vars, accepted, out, err, sizeof(err));
    json_decref(vars);
    json_decref(claims);
    claims_template_free(i.compiled);
    return r;
}

/* MAS's outcome table of an import: action × (a value, an empty result, a render error). */
static void test_import_actions(void)
{
    static const char value[] = "{{ user.name }}", empty[] = "{{ user.empty }}",
                      broken[] = "{{ user.missing.x }}";
    char *out = (char *)1;
    /* ignore: never rendered, whatever the template */
    CHECK_INT(render(CLAIMS_IGNORE, value, true, &out), 0);
    CHECK(out == NULL);
    CHECK_INT(render(CLAIMS_IGNORE, broken, true, &out), 0);
    CHECK(out == NULL);
    /* suggest: offered (trimmed), unless the person unticked it; failures are no value */
    CHECK_INT(render(CLAIMS_SUGGEST, value, true, &out), 0);
    CHECK_STR(out, "Alice Example");
    free(out);
    CHECK_INT(render(CLAIMS_SUGGEST, value, false, &out), 0);
    CHECK(out == NULL);
    CHECK_INT(render(CLAIMS_SUGGEST, empty, true, &out), 0);
    CHECK(out == NULL);
    CHECK_INT(render(CLAIMS_SUGGEST, broken, true, &out), 0);
    CHECK(out == NULL);
    /* force: always imported, the checkbox does not count; failures are silently no value */
    CHECK_INT(render(CLAIMS_FORCE, value, false, &out), 0);
    CHECK_STR(out, "Alice Example");
    free(out);
    CHECK_INT(render(CLAIMS_FORCE, empty, true, &out), 0);
    CHECK(out == NULL);
    CHECK_INT(render(CLAIMS_FORCE, broken, true, &out), 0);
    CHECK(out == NULL);
    /* require: failures are errors */
    CHECK_INT(render(CLAIMS_REQUIRE, value, false, &out), 0);
    CHECK_STR(out, "Alice Example");
    free(out);
    CHECK_INT(render(CLAIMS_REQUIRE, empty, true, &out), -ENODATA);
    CHECK(out == NULL);
    CHECK_INT(render(CLAIMS_REQUIRE, "{{ '   ' }}", true, &out), -ENODATA); /* only spaces: empty */
    CHECK_INT(render(CLAIMS_REQUIRE, broken, true, &out), -EINVAL);
    CHECK(out == NULL);
    CHECK_INT(render(CLAIMS_REQUIRE, "{{ user.missing }}", true, &out), -ENODATA);
    /* a JSON null claim is no value (MAS would import the text "none") */
    CHECK_INT(render(CLAIMS_REQUIRE, "{{ user.nick }}", true, &out), -ENODATA);

    CHECK(!upstream_import_fixed(CLAIMS_IGNORE));
    CHECK(!upstream_import_fixed(CLAIMS_SUGGEST));
    CHECK(upstream_import_fixed(CLAIMS_FORCE));
    CHECK(upstream_import_fixed(CLAIMS_REQUIRE));
}

static void test_normalise(void)
{
    char out[256];
    CHECK_INT(upstream_localpart_normalise("alice", out, sizeof(out)), 0);
    CHECK_STR(out, "alice");
    CHECK_INT(upstream_localpart_normalise("  bob.smith_1=/+-\t\n", out, sizeof(out)), 0);
    CHECK_STR(out, "bob.smith_1=/+-");
    /* no case folding: `Alice` is refused, never turned into `alice` */
    CHECK_INT(upstream_localpart_normalise("Alice", out, sizeof(out)), -EINVAL);
    CHECK_INT(upstream_localpart_normalise("ALICE", out, sizeof(out)), -EINVAL);
    CHECK_INT(upstream_localpart_normalise("", out, sizeof(out)), -EINVAL);
    CHECK_INT(upstream_localpart_normalise("   ", out, sizeof(out)), -EINVAL);
    CHECK_INT(upstream_localpart_normalise("al ice", out, sizeof(out)), -EINVAL);
    CHECK_INT(upstream_localpart_normalise("alice@example.com", out, sizeof(out)), -EINVAL);
    CHECK_INT(upstream_localpart_normalise("al:ice", out, sizeof(out)), -EINVAL);
    CHECK_INT(upstream_localpart_normalise("\xc3\xa4lice", out, sizeof(out)), -EINVAL); /* non-ASCII */
    CHECK_INT(upstream_localpart_normalise("alice\x01", out, sizeof(out)), -EINVAL);
    char long_name[300];
    memset(long_name, 'a', 256);
    long_name[256] = '\0';
    CHECK_INT(upstream_localpart_normalise(long_name, out, sizeof(out)), -EINVAL);
    long_name[255] = '\0';
    CHECK_INT(upstream_localpart_normalise(long_name, out, sizeof(out)), 0);
    CHECK_INT(upstream_localpart_normalise("alice", out, 5), -EINVAL); /* no room for the NUL */
}

static enum localpart_outcome decide(enum config_claims_action a, enum config_claims_conflict c, bool exists,
                                     bool exact, int64_t links, bool denied, int hs)
{
    struct localpart_facts f = {.action = a,
                                .on_conflict = c,
                                .have_value = true,
                                .exists = exists,
                                .exists_exact = exact,
                                .existing_links = links,
                                .policy_denied = denied,
                                .homeserver = hs};
    return upstream_localpart_decide(&f);
}

/* MAS's localpart table: action × on_conflict × what is known of the name. */
static void test_localpart_table(void)
{
    static const enum config_claims_conflict all[] = {CLAIMS_CONFLICT_FAIL, CLAIMS_CONFLICT_ADD,
                                                      CLAIMS_CONFLICT_REPLACE, CLAIMS_CONFLICT_SET};
    for (size_t i = 0; i < 4; i++) {
        enum config_claims_conflict c = all[i];
        /* ignore, or no value: the person chooses */
        CHECK_INT(decide(CLAIMS_IGNORE, c, true, true, 0, false, 1), LP_NONE);
        struct localpart_facts none = {.action = CLAIMS_REQUIRE, .on_conflict = c, .homeserver = 1};
        CHECK_INT(upstream_localpart_decide(&none), LP_NONE);
        /* a suggestion someone holds, the policy or the homeserver refuses: dropped, never an error */
        CHECK_INT(decide(CLAIMS_SUGGEST, c, true, true, 0, false, -1), LP_NONE);
        CHECK_INT(decide(CLAIMS_SUGGEST, c, false, false, 0, true, -1), LP_NONE);
        CHECK_INT(decide(CLAIMS_SUGGEST, c, false, false, 0, false, 0), LP_NONE);
        /* a free name: the homeserver is asked, then it stands */
        for (int a = CLAIMS_SUGGEST; a <= CLAIMS_REQUIRE; a++) {
            CHECK_INT(decide(a, c, false, false, 0, false, -1), LP_ASK_HOMESERVER);
            CHECK_INT(decide(a, c, false, false, 0, false, 1), LP_USE);
        }
        /* a fixed name the policy or the homeserver refuses: an error page */
        CHECK_INT(decide(CLAIMS_FORCE, c, false, false, 0, true, -1), LP_FAIL_POLICY);
        CHECK_INT(decide(CLAIMS_REQUIRE, c, false, false, 0, true, 1), LP_FAIL_POLICY);
        CHECK_INT(decide(CLAIMS_FORCE, c, false, false, 0, false, 0), LP_FAIL_UNAVAILABLE);
        CHECK_INT(decide(CLAIMS_REQUIRE, c, false, false, 0, false, 0), LP_FAIL_UNAVAILABLE);
        /* a fixed name someone holds under another spelling: never taken over */
        CHECK_INT(decide(CLAIMS_FORCE, c, true, false, 0, false, 1), LP_FAIL_EXISTS);
        CHECK_INT(decide(CLAIMS_REQUIRE, c, true, false, 0, false, 1), LP_FAIL_EXISTS);
    }
    /* a fixed name someone holds: on_conflict */
    for (int a = CLAIMS_FORCE; a <= CLAIMS_REQUIRE; a++) {
        CHECK_INT(decide(a, CLAIMS_CONFLICT_FAIL, true, true, 0, false, -1), LP_FAIL_EXISTS);
        CHECK_INT(decide(a, CLAIMS_CONFLICT_ADD, true, true, 0, false, -1), LP_LINK_EXISTING);
        CHECK_INT(decide(a, CLAIMS_CONFLICT_ADD, true, true, 3, false, -1), LP_LINK_EXISTING);
        CHECK_INT(decide(a, CLAIMS_CONFLICT_REPLACE, true, true, 0, false, -1), LP_REPLACE_EXISTING);
        CHECK_INT(decide(a, CLAIMS_CONFLICT_REPLACE, true, true, 2, false, -1), LP_REPLACE_EXISTING);
        CHECK_INT(decide(a, CLAIMS_CONFLICT_SET, true, true, 0, false, -1), LP_LINK_EXISTING);
        CHECK_INT(decide(a, CLAIMS_CONFLICT_SET, true, true, 1, false, -1), LP_FAIL_SET);
        /* the policy and the homeserver are not asked about an existing account (MAS) */
        CHECK_INT(decide(a, CLAIMS_CONFLICT_ADD, true, true, 0, true, 0), LP_LINK_EXISTING);
    }
}

static void test_skip_confirmation(void)
{
    CHECK(upstream_skip_confirmation(true, LP_USE, true, false));
    CHECK(!upstream_skip_confirmation(false, LP_USE, true, false));
    CHECK(!upstream_skip_confirmation(true, LP_NONE, true, false));
    CHECK(!upstream_skip_confirmation(true, LP_FAIL_POLICY, true, false));
    /* MAS skips despite other violations and records no terms; masd shows the page then */
    CHECK(!upstream_skip_confirmation(true, LP_USE, false, false));
    CHECK(!upstream_skip_confirmation(true, LP_USE, true, true));
}

static void test_cookie(void)
{
    struct upstream_cookie c;
    const char *json = "[{\"session\":\"01H00000000000000000000001\",\"provider\":\"" A "\",\"state\":\"s1\","
                       "\"link\":\"" B "\",\"post_auth_action\":{\"kind\":\"continue_authorization_grant\","
                       "\"id\":\"01H00000000000000000000009\"}},"
                       "{\"session\":\"01H00000000000000000000003\",\"provider\":\"" A "\",\"state\":\"s3\","
                       "\"link\":\"" B "\",\"post_auth_action\":{\"kind\":\"continue_compat_sso_login\","
                       "\"id\":\"01H0000000000000000000000C\"}},"
                       "{\"session\":\"01H00000000000000000000002\",\"provider\":\"" A "\",\"state\":\"s2\","
                       "\"link\":\"" B "\",\"post_auth_action\":null},"
                       "{\"session\":\"01H00000000000000000000004\",\"provider\":\"" A "\",\"state\":\"s4\","
                       "\"link\":null,\"post_auth_action\":null}]";
    CHECK_INT(upstream_cookie_parse(json, strlen(json), &c), 0);
    /* the newest session of the link wins, with its action, wherever it stands in the list */
    const struct upstream_cookie_entry *e = upstream_cookie_find_link(&c, B);
    CHECK(e != NULL);
    if (e) {
        CHECK_STR(e->session, "01H00000000000000000000003");
        CHECK_INT(e->action.kind, ACTION_CONTINUE_COMPAT_SSO_LOGIN);
        CHECK_STR(e->action.id, "01H0000000000000000000000C");
    }
    CHECK(upstream_cookie_find_link(&c, A) == NULL);
    CHECK(upstream_cookie_find_link(&c, "") == NULL); /* a pending entry is no link's */
    /* used: the link's entries go, the others stay */
    upstream_cookie_remove_link(&c, B);
    CHECK_INT(c.n, 1);
    CHECK_STR(c.e[0].session, "01H00000000000000000000004");
    CHECK(upstream_cookie_find_link(&c, B) == NULL);
}

/* ---- storage ------------------------------------------------------------------------------ */

#define NOW 1700000000000LL
#define PROVIDER_YAML                                                                                        \
    "upstream_oauth2:\n  providers:\n    - id: " A "\n      issuer: https://idp.example.com\n"               \
    "      client_id: masd\n      token_endpoint_auth_method: none\n"                                        \
    "    - id: " B "\n      issuer: https://second.example.com\n      human_name: Second\n"                  \
    "      brand_name: github\n      synapse_idp_id: oidc-second\n"                                          \
    "      client_id: masd\n      token_endpoint_auth_method: none\n"

#include "upstream_sync.h"

static void test_storage(enum storage_backend b)
{
    char uri[512];
    test_db(b, "upstream_link", uri, sizeof(uri));
    struct storage *st = test_open(uri);
    struct config *cfg = load(PROVIDER_YAML);
    struct upstream_sync sync = {0};
    CHECK_INT(upstream_sync_run(cfg, st, NULL, &sync), 0);

    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    /* the buttons: by ui_order, labelled */
    struct storage_upstream_button_list l;
    CHECK_INT(storage_upstream_provider_buttons(tx, &l), 0);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.items[0].id, A);
        CHECK_STR(storage_upstream_button_label(&l.items[0]), "idp.example.com");
        CHECK_STR(storage_upstream_button_label(&l.items[1]), "Second");
        CHECK_STR(l.items[1].brand_name, "github");
        CHECK_STR(l.items[1].synapse_idp_id, "oidc-second");
    }
    storage_upstream_button_list_clear(&l);

    struct storage_user alice, bob;
    CHECK_INT(storage_user_create(tx, "alice", false, NOW, &alice), 0);
    CHECK_INT(storage_user_create(tx, "bob", false, NOW, &bob), 0);
    struct storage_upstream_link link, got;
    CHECK_INT(storage_upstream_link_create(tx, A, "sub-1", "@alice", NOW, &link), 0);
    CHECK_INT(storage_upstream_link_get(tx, link.id, &got), 0);
    CHECK_STR(got.subject, "sub-1");
    CHECK_STR(got.user_id, "");
    CHECK_INT(storage_upstream_link_get(tx, B, &got), -ENOENT);

    /* a session completed by the callback, then read and consumed once */
    char sid[STORAGE_ID_SIZE];
    CHECK_INT(storage_upstream_session_create(tx, A, "state-1", "verifier", "nonce", NOW, sid), 0);
    struct storage_upstream_session us;
    struct storage_browser_session bs;
    CHECK_INT(storage_browser_session_create(tx, alice.id, NULL, NOW, &bs), 0);
    struct storage_upstream_completion done = {.link_id = link.id,
                                               .id_token_claims = "{\"sub\":\"sub-1\"}",
                                               .id_token_sub = "sub-1",
                                               .extra_callback_parameters = "{}"};
    CHECK_INT(storage_upstream_session_complete(tx, sid, &done, NOW + 1), 0);
    CHECK_INT(storage_upstream_session_consume(tx, sid, bs.id, NOW + 2), 0);

    /* the authentication names the session */
    char auth[STORAGE_ID_SIZE], named[STORAGE_ID_SIZE];
    CHECK_INT(storage_browser_session_authenticate_upstream(tx, bs.id, sid, NOW + 2, auth), 0);
    CHECK_INT(storage_browser_session_authentication_upstream(tx, auth, named), 0);
    CHECK_STR(named, sid);

    /* the link gets a user once */
    int64_t count = -1;
    CHECK_INT(storage_upstream_link_count_for_user(tx, A, alice.id, &count), 0);
    CHECK_INT(count, 0);
    CHECK_INT(storage_upstream_link_associate(tx, link.id, alice.id), 0);
    CHECK_INT(storage_upstream_link_associate(tx, link.id, bob.id), -EALREADY);
    CHECK_INT(storage_upstream_link_associate(tx, B, bob.id), -ENOENT);
    CHECK_INT(storage_upstream_link_get(tx, link.id, &got), 0);
    CHECK_STR(got.user_id, alice.id);
    CHECK_INT(storage_upstream_link_count_for_user(tx, A, alice.id, &count), 0);
    CHECK_INT(count, 1);
    CHECK_INT(storage_upstream_link_count_for_user(tx, B, alice.id, &count), 0);
    CHECK_INT(count, 0);

    /* replace: the user's links to the provider go, their sessions unlinked */
    int64_t removed = 0;
    CHECK_INT(storage_upstream_link_remove_for_user(tx, A, alice.id, NOW + 5, &removed), 0);
    CHECK_INT(removed, 1);
    CHECK_INT(storage_upstream_link_get(tx, link.id, &got), -ENOENT);
    CHECK_INT(storage_upstream_session_get(tx, sid, &us), 0);
    CHECK_STR(us.link_id, "");
    CHECK(us.unlinked_at == NOW + 5);
    storage_upstream_session_clear(&us);

    /* a registration names its session */
    struct storage_registration reg = {0};
    snprintf(reg.username, sizeof(reg.username), "carol");
    CHECK_INT(storage_registration_create(tx, &reg, NOW, &reg), 0);
    CHECK_INT(storage_registration_upstream_session(tx, reg.id, named), 0);
    CHECK_STR(named, "");
    CHECK_INT(storage_registration_set_upstream_session(tx, reg.id, sid), 0);
    CHECK_INT(storage_registration_upstream_session(tx, reg.id, named), 0);
    CHECK_STR(named, sid);
    CHECK_INT(storage_registration_upstream_session(tx, A, named), -ENOENT);
    CHECK_INT(storage_registration_complete(tx, reg.id, NOW), 0);
    CHECK_INT(storage_registration_set_upstream_session(tx, reg.id, sid), -EALREADY);
    CHECK_INT(storage_registration_set_upstream_session(tx, A, sid), -ENOENT);

    /* an address the provider vouched for: completed, no code, no job */
    char email_auth[STORAGE_ID_SIZE];
    struct storage_email_authentication ea;
    CHECK_INT(storage_email_authentication_create_completed(tx, "carol@example.com", NOW, email_auth), 0);
    CHECK_INT(storage_email_authentication_get(tx, email_auth, &ea), 0);
    CHECK_STR(ea.email, "carol@example.com");
    CHECK_INT(ea.completed_at, NOW);
    CHECK(storage_email_authentication_create_completed(tx, "", NOW, email_auth) < 0);
    test_tx_end(tx, true);

    /* a pruned provider takes its sessions; the authentication and the registration stay */
    tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_upstream_provider_delete(tx, A), 0);
    CHECK_INT(storage_browser_session_authentication_upstream(tx, auth, named), 0);
    CHECK_STR(named, "");
    CHECK_INT(storage_registration_upstream_session(tx, reg.id, named), 0);
    CHECK_STR(named, "");
    test_tx_end(tx, true);
    config_free(cfg);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_route();
    test_import_actions();
    test_normalise();
    test_localpart_table();
    test_skip_confirmation();
    test_cookie();
    enum storage_backend backends[2];
    int n = test_backends(backends);
    for (int i = 0; i < n; i++)
        test_storage(backends[i]);
    return check_report("test_upstream_link");
}
