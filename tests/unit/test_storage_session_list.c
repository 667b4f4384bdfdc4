/* Storage: a user's sessions a page at a time (storage_session_list.c), on SQLite and PostgreSQL:
 * app sessions (compat and OAuth merged in ID order) and browser sessions, with `first`/`after`
 * and `last`/`before` at their edges (an empty list, a page of exactly n, n + 1, both bounds,
 * a zero count, a count over the cap), the filters (state, last activity either side, the device
 * of either kind, the browser session) and their count, another user's sessions never among
 * them, one session by ID or by device, and the rename. */
#include "storage_test.h"

static const int64_t NOW = 1700000000000;
#define DAY (24LL * 3600 * 1000)

struct fixture {
    struct storage_user u, other;
    struct storage_browser_session bs[4];
    struct storage_oauth_client c;
    char ids[6][STORAGE_ID_SIZE]; /* the six app sessions of u, sorted */
    char compat[3][STORAGE_ID_SIZE], oauth[3][STORAGE_ID_SIZE];
};

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void setup(struct storage *st, struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    f->c = (struct storage_oauth_client){.token_endpoint_auth_method = "none"};
    CHECK_INT(storage_user_create(tx, "mia", false, NOW, &f->u), 0);
    CHECK_INT(storage_user_create(tx, "noa", false, NOW, &f->other), 0);
    CHECK_INT(storage_oauth_client_create(tx, &f->c, NOW, &f->c), 0);
    storage_oauth_client_clear(&f->c);
    for (int i = 0; i < 4; i++)
        CHECK_INT(storage_browser_session_create(tx, f->u.id, "Firefox", NOW + i, &f->bs[i]), 0);
    static const char *const scopes[] = {
        "openid urn:matrix:client:api:* urn:matrix:client:device:OAUTHDEV",
        "urn:matrix:org.matrix.msc2967.client:device:UNSTABLE openid",
        "openid urn:matrix:client:device:OAUTHDEV2",
    };
    static const char *const devices[] = {"COMPATDEV", "", "OAUTHDE"};
    for (int i = 0; i < 3; i++) {
        struct storage_compat_session cs;
        struct storage_oauth_session os;
        CHECK_INT(storage_compat_session_create(tx, f->u.id, devices[i], false, i == 0 ? f->bs[0].id : NULL,
                                                "Element", "curl/8", NOW + i, &cs),
                  0);
        CHECK_INT(storage_oauth_session_create(tx, f->c.id, f->u.id, i == 2 ? f->bs[0].id : NULL, scopes[i],
                                               NULL, NOW + i, &os),
                  0);
        memcpy(f->compat[i], cs.id, STORAGE_ID_SIZE);
        memcpy(f->oauth[i], os.id, STORAGE_ID_SIZE);
        memcpy(f->ids[2 * i], cs.id, STORAGE_ID_SIZE);
        memcpy(f->ids[2 * i + 1], os.id, STORAGE_ID_SIZE);
    }
    CHECK_INT(storage_oauth_session_add_device(tx, f->oauth[0], "OAUTHDEV"), 0);
    qsort(f->ids, 6, STORAGE_ID_SIZE, cmp_id);
    /* the other user's sessions must never show */
    struct storage_compat_session cs;
    struct storage_browser_session bs;
    CHECK_INT(storage_compat_session_create(tx, f->other.id, "COMPATDEV", false, NULL, NULL, NULL, NOW, &cs),
              0);
    CHECK_INT(storage_browser_session_create(tx, f->other.id, NULL, NOW, &bs), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* Lists a page and checks it holds ids[from..to) of want, and `more`. */
static void check_page(struct storage_tx *tx, const char *user_id, const struct storage_session_filter *f,
                       struct storage_page p, char want[][STORAGE_ID_SIZE], size_t from, size_t to, bool more)
{
    struct storage_app_session *s = NULL;
    size_t n = 99;
    bool m = !more;
    CHECK_INT(storage_app_sessions_list(tx, user_id, f, &p, &s, &n, &m), 0);
    CHECK_INT(n, to - from);
    CHECK_INT(m, more);
    for (size_t i = 0; i < n && i < to - from; i++)
        CHECK_STR(storage_app_session_id(&s[i]), want[from + i]);
    free(s);
}

static void test_pages(struct storage *st, struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_session_filter any = {0};
    int64_t count = -1;
    /* nobody's: empty, either way */
    check_page(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &any, (struct storage_page){.count = 6}, f->ids, 0, 0,
               false);
    check_page(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &any, (struct storage_page){.backward = true, .count = 6},
               f->ids, 0, 0, false);
    CHECK_INT(storage_app_sessions_count(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &any, &count), 0);
    CHECK_INT(count, 0);
    /* first: exactly n, n - 1, n + 1 */
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 6}, f->ids, 0, 6, false);
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 5}, f->ids, 0, 5, true);
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 7}, f->ids, 0, 6, false);
    /* last: the highest, still ascending */
    check_page(tx, f->u.id, &any, (struct storage_page){.backward = true, .count = 6}, f->ids, 0, 6, false);
    check_page(tx, f->u.id, &any, (struct storage_page){.backward = true, .count = 5}, f->ids, 1, 6, true);
    check_page(tx, f->u.id, &any, (struct storage_page){.backward = true, .count = 2}, f->ids, 4, 6, true);
    /* after, before, both */
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 2, .after = f->ids[1]}, f->ids, 2, 4, true);
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 4, .after = f->ids[1]}, f->ids, 2, 6, false);
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 2, .after = f->ids[5]}, f->ids, 0, 0, false);
    check_page(tx, f->u.id, &any, (struct storage_page){.backward = true, .count = 2, .before = f->ids[4]},
               f->ids, 2, 4, true);
    check_page(tx, f->u.id, &any, (struct storage_page){.backward = true, .count = 2, .before = f->ids[2]},
               f->ids, 0, 2, false);
    check_page(tx, f->u.id, &any, (struct storage_page){.backward = true, .count = 2, .before = f->ids[0]},
               f->ids, 0, 0, false);
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 10, .after = f->ids[0], .before = f->ids[3]},
               f->ids, 1, 3, false);
    check_page(tx, f->u.id, &any,
               (struct storage_page){.backward = true, .count = 1, .after = f->ids[0], .before = f->ids[3]},
               f->ids, 2, 3, true);
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 1, .after = "", .before = ""}, f->ids, 0, 1,
               true);
    /* zero rows: only whether there are any */
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 0}, f->ids, 0, 0, true);
    check_page(tx, f->u.id, &any, (struct storage_page){.count = 0, .after = f->ids[5]}, f->ids, 0, 0, false);
    /* the cap */
    struct storage_app_session *s = NULL;
    size_t n;
    bool more;
    CHECK_INT(storage_app_sessions_list(tx, f->u.id, &any,
                                        &(struct storage_page){.count = STORAGE_PAGE_MAX + 1}, &s, &n, &more),
              -EINVAL);
    CHECK(s == NULL);
    CHECK_INT(storage_app_sessions_count(tx, f->u.id, &any, &count), 0);
    CHECK_INT(count, 6);
    /* each row is read as its kind */
    CHECK_INT(storage_app_sessions_list(tx, f->u.id, &any, &(struct storage_page){.count = 6}, &s, &n, &more),
              0);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(storage_app_session_user_id(&s[i]), f->u.id);
        if (s[i].kind == STORAGE_SESSION_COMPAT) {
            CHECK_STR(s[i].compat.human_name, "Element");
            CHECK_STR(s[i].compat.user_agent, "curl/8");
        } else {
            CHECK_INT(s[i].kind, STORAGE_SESSION_OAUTH);
            CHECK_STR(s[i].oauth.client_id, f->c.id);
            CHECK(strstr(s[i].oauth.scope, "device:") != NULL);
        }
    }
    free(s);
    CHECK_INT(test_tx_end(tx, true), 0);
}

/* The IDs a filter lets through, as a sorted list, and its count. */
static size_t filtered(struct storage_tx *tx, const struct fixture *f,
                       const struct storage_session_filter *flt, char out[][STORAGE_ID_SIZE])
{
    struct storage_app_session *s = NULL;
    size_t n = 0;
    bool more;
    int64_t count = -1;
    CHECK_INT(storage_app_sessions_list(tx, f->u.id, flt, &(struct storage_page){.count = 10}, &s, &n, &more),
              0);
    CHECK_INT(storage_app_sessions_count(tx, f->u.id, flt, &count), 0);
    CHECK_INT(count, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        memcpy(out[i], storage_app_session_id(&s[i]), STORAGE_ID_SIZE);
    free(s);
    return n;
}

static bool has(char list[][STORAGE_ID_SIZE], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return true;
    return false;
}

static void test_filters(struct storage *st, struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_COMPAT, f->compat[1], NOW + 10), 1);
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_OAUTH, f->oauth[1], NOW + 10), 1);
    CHECK_INT(
        storage_session_activity_record(tx, STORAGE_SESSION_COMPAT, f->compat[0], NOW - 100 * DAY, NULL), 0);
    CHECK_INT(storage_session_activity_record(tx, STORAGE_SESSION_OAUTH, f->oauth[0], NOW - 10 * DAY, "::1"),
              0);
    CHECK_INT(storage_session_activity_record(tx, STORAGE_SESSION_OAUTH, f->oauth[2], NOW, NULL), 0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    char got[10][STORAGE_ID_SIZE];
    size_t n = filtered(tx, f, &(struct storage_session_filter){.state = STORAGE_STATE_ACTIVE}, got);
    CHECK_INT(n, 4);
    CHECK(!has(got, n, f->compat[1]) && !has(got, n, f->oauth[1]));
    n = filtered(tx, f, &(struct storage_session_filter){.state = STORAGE_STATE_FINISHED}, got);
    CHECK_INT(n, 2);
    CHECK(has(got, n, f->compat[1]) && has(got, n, f->oauth[1]));
    /* 90 days: before is the inactive, after the recent; never active is neither (MAS) */
    int64_t cut = NOW - 90 * DAY;
    n = filtered(tx, f, &(struct storage_session_filter){.last_active_before = cut}, got);
    CHECK_INT(n, 1);
    CHECK(has(got, n, f->compat[0]));
    n = filtered(tx, f, &(struct storage_session_filter){.last_active_after = cut}, got);
    CHECK_INT(n, 2);
    CHECK(has(got, n, f->oauth[0]) && has(got, n, f->oauth[2]));
    n = filtered(tx, f, &(struct storage_session_filter){.last_active_after = cut, .last_active_before = NOW},
                 got);
    CHECK_INT(n, 1);
    CHECK(has(got, n, f->oauth[0]));
    /* devices: compat's column, OAuth's scope under either prefix, whole tokens only */
    n = filtered(tx, f, &(struct storage_session_filter){.device_id = "COMPATDEV"}, got);
    CHECK_INT(n, 1);
    CHECK(has(got, n, f->compat[0]));
    n = filtered(tx, f, &(struct storage_session_filter){.device_id = "OAUTHDEV"}, got);
    CHECK_INT(n, 1);
    CHECK(has(got, n, f->oauth[0]));
    n = filtered(tx, f, &(struct storage_session_filter){.device_id = "UNSTABLE"}, got);
    CHECK_INT(n, 1);
    CHECK(has(got, n, f->oauth[1]));
    n = filtered(tx, f, &(struct storage_session_filter){.device_id = "OAUTHDE"}, got);
    CHECK_INT(n, 1);
    CHECK(has(got, n, f->compat[2])); /* not OAUTHDEV's nor OAUTHDEV2's */
    n = filtered(tx, f, &(struct storage_session_filter){.device_id = "%"}, got);
    CHECK_INT(n, 0);
    n = filtered(tx, f, &(struct storage_session_filter){.device_id = "openid"}, got);
    CHECK_INT(n, 0);
    /* the browser session they came from */
    n = filtered(tx, f, &(struct storage_session_filter){.browser_session_id = f->bs[0].id}, got);
    CHECK_INT(n, 2);
    CHECK(has(got, n, f->compat[0]) && has(got, n, f->oauth[2]));
    n = filtered(tx, f,
                 &(struct storage_session_filter){.browser_session_id = f->bs[0].id,
                                                  .state = STORAGE_STATE_ACTIVE,
                                                  .device_id = "COMPATDEV"},
                 got);
    CHECK_INT(n, 1);
    /* a filtered page goes on from its cursor */
    struct storage_app_session *s = NULL;
    bool more;
    struct storage_session_filter active = {.state = STORAGE_STATE_ACTIVE};
    CHECK_INT(
        storage_app_sessions_list(tx, f->u.id, &active, &(struct storage_page){.count = 3}, &s, &n, &more),
        0);
    CHECK_INT(n, 3);
    CHECK(more);
    char after[STORAGE_ID_SIZE];
    memcpy(after, storage_app_session_id(&s[2]), STORAGE_ID_SIZE);
    free(s);
    CHECK_INT(storage_app_sessions_list(tx, f->u.id, &active,
                                        &(struct storage_page){.count = 3, .after = after}, &s, &n, &more),
              0);
    CHECK_INT(n, 1);
    CHECK(!more);
    free(s);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_browser(struct storage *st, struct fixture *f)
{
    char ids[4][STORAGE_ID_SIZE];
    for (int i = 0; i < 4; i++)
        memcpy(ids[i], f->bs[i].id, STORAGE_ID_SIZE);
    qsort(ids, 4, STORAGE_ID_SIZE, cmp_id);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_browser_session_finish(tx, ids[3], NOW + 5), 1);
    CHECK_INT(
        storage_session_activity_record(tx, STORAGE_SESSION_BROWSER, ids[0], NOW - 100 * DAY, "192.0.2.1"),
        0);
    CHECK_INT(test_tx_end(tx, true), 0);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    struct storage_session_filter any = {0};
    struct storage_browser_session *s = NULL;
    size_t n;
    bool more;
    int64_t count;
    CHECK_INT(
        storage_browser_sessions_list(tx, f->u.id, &any, &(struct storage_page){.count = 4}, &s, &n, &more),
        0);
    CHECK_INT(n, 4);
    CHECK(!more);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(s[i].id, ids[i]);
        CHECK_STR(s[i].user_agent, "Firefox");
    }
    free(s);
    CHECK_INT(storage_browser_sessions_list(
                  tx, f->u.id, &any, &(struct storage_page){.backward = true, .count = 2, .before = ids[3]},
                  &s, &n, &more),
              0);
    CHECK_INT(n, 2);
    CHECK(more);
    CHECK_STR(s[0].id, ids[1]);
    CHECK_STR(s[1].id, ids[2]);
    free(s);
    CHECK_INT(storage_browser_sessions_list(
                  tx, f->u.id, &any, &(struct storage_page){.count = 3, .after = ids[0]}, &s, &n, &more),
              0);
    CHECK_INT(n, 3);
    CHECK(!more);
    free(s);
    struct storage_session_filter active = {.state = STORAGE_STATE_ACTIVE};
    CHECK_INT(storage_browser_sessions_count(tx, f->u.id, &active, &count), 0);
    CHECK_INT(count, 3);
    CHECK_INT(storage_browser_sessions_count(
                  tx, f->u.id, &(struct storage_session_filter){.state = STORAGE_STATE_FINISHED}, &count),
              0);
    CHECK_INT(count, 1);
    CHECK_INT(storage_browser_sessions_list(
                  tx, f->u.id, &(struct storage_session_filter){.last_active_before = NOW - 90 * DAY},
                  &(struct storage_page){.count = 4}, &s, &n, &more),
              0);
    CHECK_INT(n, 1);
    CHECK_STR(s[0].last_active_ip, "192.0.2.1");
    free(s);
    CHECK_INT(storage_browser_sessions_count(tx, f->other.id, &any, &count), 0);
    CHECK_INT(count, 1);
    CHECK_INT(storage_browser_sessions_list(tx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &any,
                                            &(struct storage_page){.count = 4}, &s, &n, &more),
              0);
    CHECK_INT(n, 0);
    CHECK(s == NULL && !more);
    CHECK_INT(test_tx_end(tx, true), 0);
}

static void test_lookups(struct storage *st, struct fixture *f)
{
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    struct storage_app_session s;
    CHECK_INT(storage_app_session_get(tx, f->compat[0], &s), 0);
    CHECK_INT(s.kind, STORAGE_SESSION_COMPAT);
    CHECK_STR(s.compat.device_id, "COMPATDEV");
    CHECK_STR(s.compat.user_id, f->u.id);
    CHECK_INT(storage_app_session_get(tx, f->oauth[1], &s), 0);
    CHECK_INT(s.kind, STORAGE_SESSION_OAUTH);
    CHECK_STR(s.oauth.user_id, f->u.id);
    CHECK_INT(storage_app_session_get(tx, f->bs[0].id, &s), -ENOENT);
    /* by device: whichever active session holds it */
    CHECK_INT(storage_app_session_by_device(tx, f->u.id, "COMPATDEV", &s), 0);
    CHECK_STR(storage_app_session_id(&s), f->compat[0]);
    CHECK_INT(storage_app_session_by_device(tx, f->u.id, "OAUTHDEV", &s), 0);
    CHECK_STR(storage_app_session_id(&s), f->oauth[0]);
    CHECK_INT(storage_app_session_by_device(tx, f->other.id, "OAUTHDEV", &s), -ENOENT);
    CHECK_INT(storage_app_session_by_device(tx, f->u.id, "NOSUCH", &s), -ENOENT);
    CHECK_INT(storage_session_finish(tx, STORAGE_SESSION_COMPAT, f->compat[0], NOW + 20), 1);
    CHECK_INT(storage_app_session_by_device(tx, f->u.id, "COMPATDEV", &s), -ENOENT);
    /* the newest authentication of a browser session; the SSO login of a compat session */
    char auth_id[STORAGE_ID_SIZE], newest[STORAGE_ID_SIZE];
    int64_t at = 0;
    CHECK_INT(storage_browser_session_last_authentication(tx, f->bs[1].id, auth_id, &at), -ENOENT);
    CHECK_INT(storage_browser_session_authenticate(tx, f->bs[1].id, NULL, NOW + 5, auth_id), 0);
    CHECK_INT(storage_browser_session_authenticate(tx, f->bs[1].id, NULL, NOW + 9, newest), 0);
    CHECK_INT(storage_browser_session_authenticate(tx, f->bs[2].id, NULL, NOW + 20, auth_id), 0);
    CHECK_INT(storage_browser_session_last_authentication(tx, f->bs[1].id, auth_id, &at), 0);
    CHECK_STR(auth_id, newest);
    CHECK_INT(at, NOW + 9);
    struct storage_compat_sso_login sso;
    CHECK_INT(storage_compat_sso_login_by_session(tx, f->compat[2], &sso), -ENOENT);
    CHECK_INT(storage_compat_sso_login_create(tx, "https://client.example/cb", NOW, &sso), 0);
    CHECK_INT(storage_compat_sso_login_fulfill(tx, sso.id, f->bs[0].id, "logintoken", NOW + 1), 0);
    CHECK_INT(storage_compat_sso_login_exchange(tx, sso.id, f->compat[2], NOW + 2), 0);
    struct storage_compat_sso_login got;
    CHECK_INT(storage_compat_sso_login_by_session(tx, f->compat[2], &got), 0);
    CHECK_STR(got.id, sso.id);
    CHECK_STR(got.redirect_uri, "https://client.example/cb");
    CHECK_INT(got.exchanged_at, NOW + 2);
    /* rename */
    CHECK_INT(storage_session_set_human_name(tx, STORAGE_SESSION_OAUTH, f->oauth[0], "Work laptop"), 1);
    CHECK_INT(storage_app_session_get(tx, f->oauth[0], &s), 0);
    CHECK_STR(s.oauth.human_name, "Work laptop");
    CHECK_INT(storage_session_set_human_name(tx, STORAGE_SESSION_COMPAT, f->compat[2], ""), 1);
    CHECK_INT(storage_app_session_get(tx, f->compat[2], &s), 0);
    CHECK_STR(s.compat.human_name, "");
    char longname[400];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_INT(storage_session_set_human_name(tx, STORAGE_SESSION_COMPAT, f->compat[2], longname), 1);
    CHECK_INT(storage_app_session_get(tx, f->compat[2], &s), 0);
    CHECK_INT(strlen(s.compat.human_name), STORAGE_SHORT_TEXT_MAX);
    CHECK_INT(storage_session_set_human_name(tx, STORAGE_SESSION_COMPAT, f->oauth[0], "x"), -ENOENT);
    CHECK_INT(storage_session_set_human_name(tx, STORAGE_SESSION_OAUTH, f->oauth[0], "\xff"), -EINVAL);
    CHECK_INT(test_tx_end(tx, false), 0);
}

static void run(enum storage_backend b, const char *uri)
{
    (void)b;
    struct storage *st = test_open(uri);
    struct fixture f;
    setup(st, &f);
    test_pages(st, &f);
    test_lookups(st, &f);
    test_filters(st, &f);
    test_browser(st, &f);
    storage_close(st);
}

int main(void)
{
    test_init();
    test_each_backend("sessions", run);
    return check_report(__FILE__);
}
