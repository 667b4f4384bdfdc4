/* The upstream sign-in's parsers (services/human/upstream_parse.c): the upstream-oauth2-sessions
 * cookie in MAS's shape (read, written back the same, pruned after 10 minutes, bounded), the
 * callback's parameters (the known ones, the rest as extra_callback_parameters, the re-post
 * flag, duplicates and malformed input refused) and the authorization URL. */
#include "check.h"
#include "ulid.h"
#include "upstream_parse.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ULIDs whose time is T0 and T0 + 11 minutes */
static char old_id[ULID_LEN + 1], new_id[ULID_LEN + 1];
#define P1 "01GFWR28C4KNE04WG3HKXB7C9R"
#define L1 "01GFWR32NCQ12B8Z0J8CPXRRB6"

static void make_ids(int64_t t0)
{
    uint8_t raw[16] = {0};
    for (int k = 0; k < 2; k++) {
        int64_t t = t0 + k * 11 * 60 * 1000;
        for (int i = 0; i < 6; i++)
            raw[i] = (uint8_t)(t >> (40 - 8 * i));
        raw[15] = (uint8_t)k;
        ulid_format(raw, k ? new_id : old_id);
    }
}

static void test_cookie(void)
{
    const int64_t t0 = 1700000000000LL;
    make_ids(t0);
    struct upstream_cookie c;
    char json[2048];
    snprintf(json, sizeof(json),
             "[{\"session\":\"%s\",\"provider\":\"" P1 "\",\"state\":\"abcDEF0123456789\",\"link\":null,"
             "\"post_auth_action\":{\"kind\":\"continue_authorization_grant\",\"id\":\"" L1 "\"}},"
             "{\"session\":\"%s\",\"provider\":\"" P1 "\",\"state\":\"s2\",\"link\":\"" L1 "\","
             "\"post_auth_action\":null},"
             "{\"session\":\"bad\",\"provider\":\"" P1 "\",\"state\":\"s3\"},"
             "{\"session\":\"%s\",\"provider\":\"" P1 "\",\"state\":\"s4\",\"post_auth_action\":"
             "{\"kind\":\"manage_account\",\"action\":\"org.matrix.profile\"}},"
             "{\"session\":\"%s\",\"provider\":\"" P1 "\",\"state\":\"s5\",\"post_auth_action\":"
             "{\"kind\":\"no_such_kind\"}},"
             "{\"session\":\"%s\",\"provider\":\"" P1 "\",\"state\":\"\"}]",
             old_id, new_id, new_id, new_id, new_id);
    CHECK_INT(upstream_cookie_parse(json, strlen(json), &c), 0);
    CHECK_INT(c.n, 3); /* a bad ULID, an unknown kind and an empty state are skipped */
    CHECK_STR(c.e[0].session, old_id);
    CHECK_STR(c.e[0].state, "abcDEF0123456789");
    CHECK_STR(c.e[0].link, "");
    CHECK_INT(c.e[0].action.kind, ACTION_CONTINUE_AUTHORIZATION_GRANT);
    CHECK_STR(c.e[0].action.id, L1);
    CHECK_STR(c.e[1].link, L1);
    CHECK_INT(c.e[1].action.kind, ACTION_NONE);
    CHECK_INT(c.e[2].action.kind, ACTION_MANAGE_ACCOUNT);
    CHECK_STR(c.e[2].action.account_action, "org.matrix.profile");

    /* find: by provider and state, only without a link */
    CHECK(upstream_cookie_find(&c, P1, "abcDEF0123456789") == &c.e[0]);
    CHECK(upstream_cookie_find(&c, P1, "s2") == NULL);
    CHECK(upstream_cookie_find(&c, L1, "abcDEF0123456789") == NULL);
    CHECK(upstream_cookie_find(&c, P1, "abcdef0123456789") == NULL);

    /* written back and read again: the same */
    char *out = upstream_cookie_render(&c);
    CHECK(out != NULL);
    struct upstream_cookie d;
    CHECK_INT(upstream_cookie_parse(out, strlen(out), &d), 0);
    CHECK_INT(d.n, 3);
    CHECK(memcmp(&c.e, &d.e, c.n * sizeof(c.e[0])) == 0);
    CHECK(strstr(out, "\"link\":null") != NULL);
    CHECK(strstr(out, "\"post_auth_action\":{\"kind\":\"continue_authorization_grant\",\"id\":\"" L1 "\"}") !=
          NULL);
    free(out);

    /* pruned by the session's age: the old one goes at 10 minutes and 1 ms */
    d = c;
    upstream_cookie_prune(&d, t0 + 10 * 60 * 1000);
    CHECK_INT(d.n, 3);
    upstream_cookie_prune(&d, t0 + 10 * 60 * 1000 + 1);
    CHECK_INT(d.n, 2);
    CHECK_STR(d.e[0].state, "s2");

    /* bounded: the oldest goes */
    struct upstream_cookie e = {0};
    for (int i = 0; i < UPSTREAM_COOKIE_MAX_ENTRIES + 3; i++) {
        struct upstream_cookie_entry x = {0};
        memcpy(x.session, new_id, sizeof(x.session));
        memcpy(x.provider, P1, sizeof(x.provider));
        snprintf(x.state, sizeof(x.state), "st%d", i);
        upstream_cookie_add(&e, &x);
    }
    CHECK_INT(e.n, UPSTREAM_COOKIE_MAX_ENTRIES);
    CHECK_STR(e.e[0].state, "st3");
    CHECK(upstream_cookie_find(&e, P1, "st2") == NULL);
    CHECK(upstream_cookie_find(&e, P1, "st10") != NULL);

    /* within what a sealed cookie holds: the oldest go first, the newest stays */
    struct upstream_cookie big_c = {0};
    for (int i = 0; i < UPSTREAM_COOKIE_MAX_ENTRIES; i++) {
        struct upstream_cookie_entry x = {.action = {.kind = ACTION_MANAGE_ACCOUNT}};
        memcpy(x.session, new_id, sizeof(x.session));
        memcpy(x.provider, P1, sizeof(x.provider));
        snprintf(x.state, sizeof(x.state), "st%d", i);
        memset(x.action.account_action, 'a', ACTION_PARAM_MAX);
        memset(x.action.device_id, 'd', ACTION_PARAM_MAX);
        upstream_cookie_add(&big_c, &x);
    }
    char *fit = upstream_cookie_render_fit(&big_c, 2048);
    CHECK(fit != NULL && strlen(fit) <= 2048);
    CHECK(big_c.n >= 2 && big_c.n < UPSTREAM_COOKIE_MAX_ENTRIES);
    CHECK_STR(big_c.e[big_c.n - 1].state, "st7");
    free(fit);
    CHECK(upstream_cookie_render_fit(&big_c, 100) == NULL);

    /* not an array: -EINVAL (no cookie) */
    CHECK_INT(upstream_cookie_parse("{}", 2, &c), -EINVAL);
    CHECK_INT(upstream_cookie_parse("[", 1, &c), -EINVAL);
    CHECK_INT(c.n, 0);
    CHECK_INT(upstream_cookie_parse("[]", 2, &c), 0);
    CHECK_INT(c.n, 0);
    /* a state longer than ours could be: skipped */
    char big[512];
    snprintf(big, sizeof(big), "[{\"session\":\"%s\",\"provider\":\"" P1 "\",\"state\":\"%065d\"}]", new_id,
             0);
    CHECK_INT(upstream_cookie_parse(big, strlen(big), &c), 0);
    CHECK_INT(c.n, 0);
}

static int parse(const char *form, struct upstream_callback *c)
{
    return upstream_callback_parse(masd_str_from(form), c);
}

static void test_callback(void)
{
    struct upstream_callback c;
    CHECK_INT(parse("code=abc&state=xyz&iss=http%3A%2F%2Fidp&session_state=a+b", &c), 0);
    CHECK_STR(c.code, "abc");
    CHECK_STR(c.state, "xyz");
    CHECK(c.error == NULL && !c.reposted);
    CHECK(upstream_callback_any(&c));
    char *extra = json_dumps(c.extra, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(extra, "{\"iss\":\"http://idp\",\"session_state\":\"a b\"}");
    free(extra);
    CHECK_INT(json_array_size(c.params), 4);
    CHECK_STR(json_string_value(json_object_get(json_array_get(c.params, 2), "name")), "iss");
    upstream_callback_clear(&c);

    CHECK_INT(parse("error=access_denied&error_description=no%21&state=s&did_mas_repost_to_itself=true", &c),
              0);
    CHECK_STR(c.error, "access_denied");
    CHECK_STR(c.error_description, "no!");
    CHECK(c.reposted);
    CHECK_INT(json_array_size(c.params), 3); /* the flag is not posted again */
    CHECK_INT(json_object_size(c.extra), 0);
    upstream_callback_clear(&c);

    CHECK_INT(parse("", &c), 0);
    CHECK(!upstream_callback_any(&c));
    upstream_callback_clear(&c);
    CHECK_INT(parse("iss=x", &c), 0);
    CHECK(!upstream_callback_any(&c));
    upstream_callback_clear(&c);

    CHECK_INT(parse("state=a&state=b", &c), -EEXIST);
    CHECK(c.state == NULL && c.extra == NULL);
    CHECK_INT(parse("state=%zz", &c), -EINVAL);
    CHECK_INT(parse("state=%00", &c), -EINVAL);
    CHECK_INT(parse("x=%FF%FE", &c), -EINVAL); /* not UTF-8 */
    CHECK_INT(parse("%C3%28=1", &c), -EINVAL);
    /* a raw NUL in a name or value (found by fuzz_upstream_parse): "st\0x" must not become "st" */
    CHECK_INT(upstream_callback_parse((masd_str){"st\0x=1&st=2", 11}, &c), -EINVAL);
    CHECK_INT(upstream_callback_parse((masd_str){"state=a\0b", 9}, &c), -EINVAL);
    char many[2048] = "";
    for (int i = 0; i <= UPSTREAM_CALLBACK_MAX_PARAMS; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "p%d=1&", i);
    CHECK_INT(parse(many, &c), -E2BIG);
}

static void test_url(void)
{
    struct upstream_param p[] = {{"response_type", "code"},
                                 {"client_id", "masd"},
                                 {"redirect_uri", "https://auth.example.com/upstream/callback/X"},
                                 {"scope", "openid email"},
                                 {"nonce", NULL},
                                 {"login_hint", "a&b=c é"}};
    char *u = upstream_authorize_url("https://idp.example.com/auth", p, 6);
    CHECK_STR(
        u, "https://idp.example.com/auth?response_type=code&client_id=masd&redirect_uri=https%3A%2F%2F"
           "auth.example.com%2Fupstream%2Fcallback%2FX&scope=openid%20email&login_hint=a%26b%3Dc%20%C3%A9");
    free(u);
    u = upstream_authorize_url("https://idp.example.com/auth?tenant=x#frag", p, 1);
    CHECK_STR(u, "https://idp.example.com/auth?tenant=x&response_type=code");
    free(u);
    u = upstream_authorize_url("https://idp.example.com/auth?", p, 1);
    CHECK_STR(u, "https://idp.example.com/auth?response_type=code");
    free(u);
    u = upstream_authorize_url("https://idp.example.com/auth?a=1&", p, 1);
    CHECK_STR(u, "https://idp.example.com/auth?a=1&response_type=code");
    free(u);
}

int main(void)
{
    test_cookie();
    test_callback();
    test_url();
    return check_report("test_upstream_parse");
}
