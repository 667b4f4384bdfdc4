/* The GraphQL API's shared model (services/human/gql_model.c): MAS's node IDs and cursors, the
 * relay connection arguments (through a small schema, as resolvers meet them) and pages,
 * DateTime both ways, the UserAgent object. */
#include "check.h"
#include "gql_model.h"
#include <errno.h>
#include <stdlib.h>

#define ULID "01ARZ3NDEKTSV4RRFFQ69G5FAV"

static void id_ok(const char *s, enum gql_node_type want)
{
    enum gql_node_type t = GQL_NODE_COUNT;
    char ulid[ULID_LEN + 1] = "";
    int r = gql_id_parse(s, strlen(s), &t, ulid);
    if (r != 0)
        fprintf(stderr, "refused: \"%s\"\n", s);
    CHECK_INT(r, 0);
    CHECK_INT(t, want);
    CHECK_STR(ulid, strchr(s, ':') + 1);
    char back[GQL_ID_MAX];
    gql_id_format(t, ulid, back);
    CHECK_STR(back, s);
}

static void id_bad(const char *s, size_t len)
{
    enum gql_node_type t;
    char ulid[ULID_LEN + 1];
    int r = gql_id_parse(s, len, &t, ulid);
    if (r != -EINVAL)
        fprintf(stderr, "accepted: \"%.*s\"\n", (int)len, s);
    CHECK_INT(r, -EINVAL);
}

static void test_ids(void)
{
    static const struct {
        const char *id;
        enum gql_node_type t;
    } all[] = {
        {"authentication:" ULID, GQL_NODE_AUTHENTICATION},
        {"browser_session:" ULID, GQL_NODE_BROWSER_SESSION},
        {"compat_session:" ULID, GQL_NODE_COMPAT_SESSION},
        {"compat_sso_login:" ULID, GQL_NODE_COMPAT_SSO_LOGIN},
        {"oauth2_client:" ULID, GQL_NODE_OAUTH2_CLIENT},
        {"oauth2_session:" ULID, GQL_NODE_OAUTH2_SESSION},
        {"upstream_oauth2_provider:" ULID, GQL_NODE_UPSTREAM_OAUTH2_PROVIDER},
        {"upstream_oauth2_link:" ULID, GQL_NODE_UPSTREAM_OAUTH2_LINK},
        {"user:" ULID, GQL_NODE_USER},
        {"user_email:" ULID, GQL_NODE_USER_EMAIL},
        {"user_email_authentication:" ULID, GQL_NODE_USER_EMAIL_AUTHENTICATION},
        {"user_recovery_ticket:" ULID, GQL_NODE_USER_RECOVERY_TICKET},
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        id_ok(all[i].id, all[i].t);
    CHECK_STR(gql_node_variant(GQL_NODE_OAUTH2_SESSION), "OAuth2Session");
    json_t *j = gql_id_json(GQL_NODE_USER, ULID);
    CHECK_STR(json_string_value(j), "user:" ULID);
    json_decref(j);

#define BAD(s) id_bad(s, strlen(s))
    BAD("");
    BAD(":");
    BAD("user");
    BAD("user:");
    BAD(ULID);
    BAD("users:" ULID);                     /* unknown prefix */
    BAD("User:" ULID);                      /* prefixes are lower case */
    BAD("user:" ULID "A");                  /* 27 characters */
    BAD("user:01ARZ3NDEKTSV4RRFFQ69G5FA");  /* 25 */
    BAD("user:01arz3ndektsv4rrffq69g5fav"); /* not canonical: the database compares text */
    BAD("user:81ARZ3NDEKTSV4RRFFQ69G5FAV"); /* over 128 bits */
    BAD("user:01ARZ3NDEKTSV4RRFFQ69G5FAU!");
    BAD("user:01ARZ3NDEKTSV4RRFFQ69G5FAI"); /* I is no Crockford digit in canonical form */
    BAD("user::" ULID);
    BAD(" user:" ULID);
    BAD("anonymous");
    BAD("site_config");
#undef BAD
    id_bad("user:" ULID, 5 + 25);         /* the length counts, not the NUL */
    id_bad("user\0:" ULID, 6 + ULID_LEN); /* a NUL inside */
    id_bad("user:01ARZ3NDEKTSV4RRFFQ69G5F\0V", 5 + ULID_LEN);
}

static void cursor_ok(const char *s, unsigned accepted, enum gql_node_type want)
{
    enum gql_node_type t = GQL_NODE_COUNT;
    char ulid[ULID_LEN + 1] = "";
    CHECK_INT(gql_cursor_parse(s, strlen(s), accepted, &t, ulid), 0);
    CHECK_INT(t, want);
    CHECK_STR(ulid, ULID);
}

static void cursor_bad(const char *s, unsigned accepted)
{
    enum gql_node_type t;
    char ulid[ULID_LEN + 1];
    int r = gql_cursor_parse(s, strlen(s), accepted, &t, ulid);
    if (r != -EINVAL)
        fprintf(stderr, "accepted: \"%s\"\n", s);
    CHECK_INT(r, -EINVAL);
}

static void test_cursors(void)
{
    /* base64url(["UserEmail","<ULID>"]), as async-graphql's OpaqueCursor writes MAS's NodeCursor */
    const char *email = "WyJVc2VyRW1haWwiLCIwMUFSWjNOREVLVFNWNFJSRkZRNjlHNUZBViJd";
    char *c = gql_cursor_format(GQL_NODE_USER_EMAIL, ULID);
    CHECK_STR(c, email);
    free(c);
    c = gql_cursor_format(GQL_NODE_OAUTH2_SESSION, ULID);
    CHECK_STR(c, "WyJPQXV0aDJTZXNzaW9uIiwiMDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVYiXQ");
    free(c);
    unsigned email_only = GQL_NODE_BIT(GQL_NODE_USER_EMAIL);
    unsigned app = GQL_NODE_BIT(GQL_NODE_COMPAT_SESSION) | GQL_NODE_BIT(GQL_NODE_OAUTH2_SESSION);
    cursor_ok(email, email_only, GQL_NODE_USER_EMAIL);
    cursor_ok("WyJPQXV0aDJTZXNzaW9uIiwiMDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVYiXQ", app, GQL_NODE_OAUTH2_SESSION);
    /* JSON spacing is JSON's business */
    cursor_ok("WyAiVXNlckVtYWlsIiAsICIwMUFSWjNOREVLVFNWNFJSRkZRNjlHNUZBViIgXQ", email_only,
              GQL_NODE_USER_EMAIL);

    cursor_bad(email, app); /* a cursor of another list: "invalid cursor" */
    cursor_bad("", email_only);
    cursor_bad("WyJVc2VyRW1haWwiLCIwMUFSWjNOREVLVFNWNFJSRkZRNjlHNUZBViJd=", email_only); /* padded */
    cursor_bad("WyJVc2VyRW1haWwiLCIwMUFSWjNOREVLVFNWNFJSRkZRNjlHNUZBViJd!", email_only);
    cursor_bad("WyJVc2VyRW1haWwiLCIwMUFSWjNOREVLVFNWNFJSRkZRNjlHNUZBViIsMV0", email_only); /* 3 items */
    cursor_bad("WyJVc2VyRW1haWwiLCIwMWFyejNuZGVrdHN2NHJyZmZxNjlnNWZhdiJd", email_only);    /* lower case */
    cursor_bad("WyJVc2VyRW1haWwiXQ", email_only);                                          /* ["UserEmail"] */
    cursor_bad("eyJVc2VyRW1haWwiOjF9", email_only);   /* {"UserEmail":1} */
    cursor_bad("WyJ1c2VyX2VtYWlsIiwxXQ", email_only); /* ["user_email",1] */
    cursor_bad("user_email:" ULID, email_only);       /* an ID is no cursor */
    char long_cursor[400];
    memset(long_cursor, 'A', sizeof(long_cursor) - 1);
    long_cursor[sizeof(long_cursor) - 1] = '\0';
    cursor_bad(long_cursor, email_only);
}

/* ---- the connection arguments, through a field that reports what it got ---------------------- */

static int page_field(const gql_resolve_info *info, json_t **out)
{
    struct gql_page p;
    if (gql_page_args(info, GQL_NODE_BIT(GQL_NODE_USER_EMAIL), &p) < 0)
        return -1;
    *out = json_pack("{s:b, s:i, s:s, s:s}", "backward", p.backward, "limit", (int)p.limit, "after", p.after,
                     "before", p.before);
    return 0;
}

static const char *page_sdl =
    "type Query { page(first: Int, last: Int, after: String, before: String): Page }\n"
    "type Page { backward: Boolean limit: Int after: String before: String }\n";
static const gql_resolver page_resolvers[] = {{"Query.page", page_field, 0}, {NULL, NULL, 0}};

static json_t *run(const gql_schema *s, const char *query)
{
    gql_limits limits = gql_limits_default();
    json_t *r = gql_execute(s, &limits, &(gql_request){query, strlen(query), NULL, NULL, false}, NULL);
    CHECK(r != NULL);
    return r;
}

static void page_ok(const gql_schema *s, const char *query, bool backward, int limit, const char *after,
                    const char *before)
{
    json_t *r = run(s, query), *p = json_object_get(json_object_get(r, "data"), "page");
    if (!p || json_object_get(r, "errors"))
        fprintf(stderr, "%s: %s\n", query, json_dumps(r, 0));
    CHECK(json_is_true(json_object_get(p, "backward")) == backward);
    CHECK_INT(json_integer_value(json_object_get(p, "limit")), limit);
    CHECK_STR(json_string_value(json_object_get(p, "after")), after);
    CHECK_STR(json_string_value(json_object_get(p, "before")), before);
    json_decref(r);
}

static void page_error(const gql_schema *s, const char *query, const char *message)
{
    json_t *r = run(s, query);
    json_t *e = json_array_get(json_object_get(r, "errors"), 0);
    CHECK_STR(json_string_value(json_object_get(e, "message")), message);
    CHECK(json_is_null(json_object_get(json_object_get(r, "data"), "page")));
    json_decref(r);
}

#define EMAIL_CURSOR "WyJVc2VyRW1haWwiLCIwMUFSWjNOREVLVFNWNFJSRkZRNjlHNUZBViJd"

static void test_page_args(void)
{
    gql_schema *s = NULL;
    char *error = NULL;
    CHECK_INT(gql_schema_build(&(gql_schema_def){page_sdl, 0, page_resolvers, NULL}, &s, &error), 0);
    if (!s) {
        fprintf(stderr, "%s\n", error);
        return;
    }
    page_ok(s, "{ page(first: 3) { backward limit after before } }", false, 3, "", "");
    page_ok(s, "{ page(last: 2) { backward limit after before } }", true, 2, "", "");
    page_ok(s, "{ page(first: 3, last: 2) { backward limit after before } }", false, 3, "",
            ""); /* first wins */
    page_ok(s, "{ page(first: 0) { backward limit after before } }", false, 0, "", "");
    page_ok(s, "{ page(first: null, last: 4) { backward limit after before } }", true, 4, "", "");
    page_ok(s, "{ page(first: 1, after: \"" EMAIL_CURSOR "\") { backward limit after before } }", false, 1,
            ULID, "");
    page_ok(s, "{ page(last: 1, before: \"" EMAIL_CURSOR "\") { backward limit after before } }", true, 1, "",
            ULID);
    page_error(s, "{ page { limit } }", "Either 'first' or 'last' must be specified");
    page_error(s, "{ page(after: \"" EMAIL_CURSOR "\") { limit } }",
               "Either 'first' or 'last' must be specified");
    page_error(s, "{ page(first: -1) { limit } }", "The \"first\" parameter must be a non-negative number");
    page_error(s, "{ page(last: -5) { limit } }", "The \"last\" parameter must be a non-negative number");
    page_error(s, "{ page(first: 1, after: \"nope\") { limit } }", "invalid cursor");
    page_error(s,
               "{ page(first: 1, before: \"WyJPQXV0aDJTZXNzaW9uIiwiMDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVYiXQ\") "
               "{ limit } }",
               "invalid cursor");
    gql_schema_free(s);
}

/* ---- pages -------------------------------------------------------------------------------------- */

static const char *const ulids[] = {"01ARZ3NDEKTSV4RRFFQ69G5FA1", "01ARZ3NDEKTSV4RRFFQ69G5FA2",
                                    "01ARZ3NDEKTSV4RRFFQ69G5FA3", "01ARZ3NDEKTSV4RRFFQ69G5FA4"};

/* A page built from rows[from..from+n) in the order given (step ±1), as storage returns them. */
static json_t *build(const struct gql_page *p, int from, int n, int step, long long total)
{
    struct gql_connection c;
    gql_connection_init(&c, p);
    for (int i = 0, k = from; i < n; i++, k += step)
        CHECK_INT(gql_connection_add(&c, GQL_NODE_USER_EMAIL, ulids[k], json_pack("{s:s}", "id", ulids[k])),
                  0);
    return gql_connection_finish(&c, total);
}

static const char *node_id(json_t *conn, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(conn, "nodes"), i), "id"));
}

static bool page_info(json_t *conn, const char *key)
{
    return json_is_true(json_object_get(json_object_get(conn, "pageInfo"), key));
}

static void test_connection(void)
{
    /* forward, first: 2 and three rows came: one more exists */
    struct gql_page fwd = {.limit = 2};
    json_t *c = build(&fwd, 0, 3, 1, -1);
    CHECK_INT(json_array_size(json_object_get(c, "edges")), 2);
    CHECK_STR(node_id(c, 0), ulids[0]);
    CHECK_STR(node_id(c, 1), ulids[1]);
    CHECK(page_info(c, "hasNextPage"));
    CHECK(!page_info(c, "hasPreviousPage"));
    CHECK(json_object_get(c, "totalCount") == NULL); /* not counted: not selected */
    char *start = gql_cursor_format(GQL_NODE_USER_EMAIL, ulids[0]),
         *end = gql_cursor_format(GQL_NODE_USER_EMAIL, ulids[1]);
    CHECK_STR(json_string_value(json_object_get(json_object_get(c, "pageInfo"), "startCursor")), start);
    CHECK_STR(json_string_value(json_object_get(json_object_get(c, "pageInfo"), "endCursor")), end);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(c, "edges"), 1), "cursor")),
              end);
    free(start);
    free(end);
    json_decref(c);

    /* forward, the last page: no more */
    c = build(&fwd, 2, 2, 1, 4);
    CHECK(!page_info(c, "hasNextPage"));
    CHECK(!page_info(c, "hasPreviousPage"));
    CHECK_INT(json_integer_value(json_object_get(c, "totalCount")), 4);
    json_decref(c);

    /* backward, last: 2: storage gave 4, 3, 2 (DESC); the page is 3, 4, with more before */
    struct gql_page back = {.backward = true, .limit = 2};
    c = build(&back, 3, 3, -1, -1);
    CHECK_INT(json_array_size(json_object_get(c, "nodes")), 2);
    CHECK_STR(node_id(c, 0), ulids[2]);
    CHECK_STR(node_id(c, 1), ulids[3]);
    CHECK(page_info(c, "hasPreviousPage"));
    CHECK(!page_info(c, "hasNextPage"));
    json_decref(c);

    /* backward, three rows for last: 3: no more before; odd count reversed right */
    struct gql_page back3 = {.backward = true, .limit = 3};
    c = build(&back3, 2, 3, -1, -1);
    CHECK_STR(node_id(c, 0), ulids[0]);
    CHECK_STR(node_id(c, 1), ulids[1]);
    CHECK_STR(node_id(c, 2), ulids[2]);
    CHECK(!page_info(c, "hasPreviousPage"));
    json_decref(c);

    /* empty, and first: 0 with a row beyond */
    c = build(&fwd, 0, 0, 1, 0);
    CHECK_INT(json_array_size(json_object_get(c, "edges")), 0);
    CHECK(json_is_null(json_object_get(json_object_get(c, "pageInfo"), "startCursor")) ||
          !json_object_get(json_object_get(c, "pageInfo"), "startCursor"));
    CHECK(!page_info(c, "hasNextPage"));
    json_decref(c);
    struct gql_page zero = {.limit = 0};
    c = build(&zero, 0, 1, 1, -1);
    CHECK_INT(json_array_size(json_object_get(c, "edges")), 0);
    CHECK(page_info(c, "hasNextPage"));
    json_decref(c);
}

/* ---- DateTime, UserAgent ------------------------------------------------------------------------ */

static void dt_ok(const char *s, int64_t want)
{
    int64_t ms = -1;
    int r = gql_datetime_parse(s, strlen(s), &ms);
    if (r != 0)
        fprintf(stderr, "refused: %s\n", s);
    CHECK_INT(r, 0);
    CHECK_INT(ms, want);
}

static void dt_bad(const char *s)
{
    int64_t ms;
    int r = gql_datetime_parse(s, strlen(s), &ms);
    if (r != -EINVAL)
        fprintf(stderr, "accepted: %s\n", s);
    CHECK_INT(r, -EINVAL);
}

static void dt_out(int64_t ms, const char *want)
{
    json_t *v = gql_datetime(ms);
    CHECK_STR(json_string_value(v), want);
    json_decref(v);
}

static void test_datetime(void)
{
    json_t *v = gql_datetime(0);
    CHECK(json_is_null(v));
    json_decref(v);
    dt_out(1700000000000, "2023-11-14T22:13:20Z");
    dt_out(1700000000123, "2023-11-14T22:13:20.123Z");
    dt_out(1700000000005, "2023-11-14T22:13:20.005Z");
    dt_out(951782400000, "2000-02-29T00:00:00Z");

    dt_ok("2023-11-14T22:13:20Z", 1700000000000);
    dt_ok("2023-11-14T22:13:20.123Z", 1700000000123);
    dt_ok("2023-11-14T22:13:20.1Z", 1700000000100);
    dt_ok("2023-11-14T22:13:20.123456789Z", 1700000000123); /* cut to the millisecond */
    dt_ok("2023-11-14t22:13:20z", 1700000000000);
    dt_ok("2023-11-15T00:13:20+02:00", 1700000000000);
    dt_ok("2023-11-14T20:43:20-01:30", 1700000000000);
    dt_ok("2000-02-29T00:00:00Z", 951782400000);
    dt_ok("1970-01-01T00:00:00Z", 0);

    dt_bad("");
    dt_bad("2023-11-14");
    dt_bad("2023-11-14T22:13:20");  /* no offset */
    dt_bad("2023-11-14 22:13:20Z"); /* RFC 3339 lets a space stand for T; masd wants the T */
    dt_bad("2023-02-29T00:00:00Z"); /* no leap year */
    dt_bad("1900-02-29T00:00:00Z");
    dt_bad("2023-13-01T00:00:00Z");
    dt_bad("2023-00-01T00:00:00Z");
    dt_bad("2023-04-31T00:00:00Z");
    dt_bad("2023-11-14T24:00:00Z");
    dt_bad("2023-11-14T22:60:00Z");
    dt_bad("2023-11-14T22:13:20.Z");
    dt_bad("2023-11-14T22:13:20.1234567890Z");
    dt_bad("2023-11-14T22:13:20+2:00");
    dt_bad("2023-11-14T22:13:20+24:00");
    dt_bad("2023-11-14T22:13:20Z ");
    dt_bad("+2023-11-14T22:13:20Z");
    dt_bad("2023-11-14T22:13:20ZZ");
}

static void test_user_agent(void)
{
    CHECK(gql_user_agent(NULL) == NULL);
    CHECK(gql_user_agent("") == NULL);
    json_t *ua = gql_user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    CHECK_STR(json_string_value(json_object_get(ua, "name")), "Firefox");
    CHECK_STR(json_string_value(json_object_get(ua, "version")), "128.0");
    CHECK_STR(json_string_value(json_object_get(ua, "os")), "Linux");
    CHECK_STR(json_string_value(json_object_get(ua, "deviceType")), "PC");
    CHECK_STR(json_string_value(json_object_get(ua, "raw")),
              "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    CHECK(json_is_null(json_object_get(ua, "model"))); /* unknown: null */
    json_decref(ua);
    ua = gql_user_agent("Element X/25.01.0 (iPhone15,2; iOS 18.2; Scale/3.00)");
    CHECK_STR(json_string_value(json_object_get(ua, "deviceType")), "MOBILE");
    CHECK_STR(json_string_value(json_object_get(ua, "os")), "iOS");
    json_decref(ua);
    ua = gql_user_agent("curl/8.0");
    CHECK_STR(json_string_value(json_object_get(ua, "deviceType")), "UNKNOWN");
    json_decref(ua);
}

int main(void)
{
    test_ids();
    test_cursors();
    test_page_args();
    test_connection();
    test_datetime();
    test_user_agent();
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures != 0;
}
