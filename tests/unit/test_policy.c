/* MAS's default policy in C: every case of MAS's policies/authorization_grant/
 * authorization_grant_test.rego, compat_login/compat_login_test.rego and policies/common/common_test.rego,
 * each under the name of its Rego test, then what the Rego implies beyond them (messages, sets, data checks).
 */
#include "config_check.h"
#include "policy.h"
#include <errno.h>
#include <stdarg.h>

static struct policy *policy_from(const char *yaml)
{
    struct config *cfg = load(yaml);
    struct policy *p = NULL;
    char *err = NULL;
    int r = policy_new(cfg, &p, &err);
    if (r < 0)
        fprintf(stderr, "unexpected policy error: %s\n", err ? err : "(none)");
    CHECK_INT(r, 0);
    free(err);
    config_free(cfg);
    return p;
}

static void check_policy_error(int line, const char *yaml, const char *expected)
{
    struct config *cfg = load(yaml);
    struct policy *p = NULL;
    char *err = NULL;
    CHECK_INT(policy_new(cfg, &p, &err), -EINVAL);
    CHECK(p == NULL);
    if (!err || strcmp(err, expected) != 0)
        fprintf(stderr, "  (the error case at line %d)\n", line);
    CHECK_STR(err, expected);
    free(err);
    config_free(cfg);
}
#define CHECK_POLICY_ERROR(yaml, expected) check_policy_error(__LINE__, yaml, expected)

static const struct policy_user john = {"john", false};
#define AC POLICY_GRANT_AUTHORIZATION_CODE
#define DC POLICY_GRANT_DEVICE_CODE
#define CC POLICY_GRANT_CLIENT_CREDENTIALS

/* The violations' messages joined with "|", "" when allowed. */
static char last[4096];
static const char *eval(const struct policy *p, enum policy_grant_type g, const struct policy_user *u,
                        const char *scope)
{
    struct policy_grant_input in = {
        .grant_type = g, .scope = scope, .client_id = "client", .user = u, .session_total = -1};
    struct policy_result res = {0};
    CHECK_INT(policy_authorization_grant(p, &in, &res), 0);
    last[0] = '\0';
    for (size_t i = 0; i < res.n; i++)
        snprintf(last + strlen(last), sizeof(last) - strlen(last), "%s%s", i ? "|" : "",
                 res.violations[i].msg);
    policy_result_clear(&res);
    return last;
}

static bool allow(const struct policy *p, enum policy_grant_type g, const struct policy_user *u,
                  const char *scope)
{
    return eval(p, g, u, scope)[0] == '\0';
}

static void test_standard_scopes(void)
{
    struct policy *p = policy_from("");
    /* the Rego leaves grant_type unset: these hold for every grant type */
    for (int g = AC; g <= CC; g++) {
        CHECK(allow(p, g, &john, ""));
        CHECK(allow(p, g, &john, "openid"));
        CHECK(allow(p, g, &john, "email"));
        CHECK(allow(p, g, &john, "openid email"));
        CHECK(!allow(p, g, &john, "phone"));   /* not supported yet */
        CHECK(!allow(p, g, &john, "profile")); /* not supported yet */
    }
    CHECK_STR(eval(p, AC, &john, "phone"), "scope 'phone' not allowed");
    policy_free(p);
}

static void test_matrix_unstable_scopes(void)
{
    struct policy *p = policy_from("");
    CHECK(allow(p, AC, &john, "urn:matrix:org.matrix.msc2967.client:api:*"));
    CHECK(allow(p, DC, &john, "urn:matrix:org.matrix.msc2967.client:api:*"));
    CHECK(!allow(p, CC, &john, "urn:matrix:org.matrix.msc2967.client:api:*"));
    policy_free(p);
}

static void test_matrix_stable_scopes(void)
{
    struct policy *p = policy_from("");
    CHECK(allow(p, AC, &john, "urn:matrix:client:api:*"));
    CHECK(allow(p, DC, &john, "urn:matrix:client:api:*"));
    CHECK(!allow(p, CC, &john, "urn:matrix:client:api:*"));
    CHECK_STR(eval(p, CC, NULL, "urn:matrix:client:api:*"), "scope 'urn:matrix:client:api:*' not allowed");
    policy_free(p);
}

static void device_scopes(const char *api, const char *dev)
{
    struct policy *p = policy_from("");
    char s[512];
#define SCOPE(...) (snprintf(s, sizeof(s), __VA_ARGS__), s)
    CHECK(allow(p, AC, &john, SCOPE("%s %sAAbbCCdd01", api, dev)));
    CHECK(allow(p, AC, &john, SCOPE("%s %sAAbbCCdd01-asdasdsa1-2313", api, dev)));
    /* too short */
    CHECK(!allow(p, AC, &john, SCOPE("%s %sabcd", api, dev)));
    /* multiple device scopes */
    CHECK_STR(eval(p, AC, &john, SCOPE("%s %sAAbbCCdd01 %sAAbbCCdd02", api, dev, dev)),
              "only one device scope is allowed at a time");
    /* allowed with the device code grant */
    CHECK(allow(p, DC, &john, SCOPE("%s %sAAbbCCdd01", api, dev)));
    /* not allowed for the client credentials grant */
    CHECK(!allow(p, CC, NULL, SCOPE("%s %sAAbbCCdd01", api, dev)));
#undef SCOPE
    policy_free(p);
}

static void test_unstable_device_scopes(void)
{
    device_scopes("urn:matrix:org.matrix.msc2967.client:api:*",
                  "urn:matrix:org.matrix.msc2967.client:device:");
}

static void test_stable_device_scopes(void)
{
    device_scopes("urn:matrix:client:api:*", "urn:matrix:client:device:");
}

static void test_device_scope_only_with_cs_api_scope(void)
{
    struct policy *p = policy_from("");
    CHECK_STR(eval(p, AC, &john, "urn:matrix:client:device:AAbbCCdd01"),
              "device scopes are only allowed when the client-server API scope is requested");
    CHECK_STR(eval(p, AC, &john, "urn:matrix:org.matrix.msc2967.client:device:AAbbCCdd01"),
              "device scopes are only allowed when the client-server API scope is requested");
    policy_free(p);
}

static void test_mix_stable_and_unstable_scopes(void)
{
    struct policy *p = policy_from("");
    CHECK_STR(
        eval(p, AC, &john, "urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:client:device:AAbbCCdd01"),
        "request cannot mix unstable and stable scopes");
    CHECK_STR(
        eval(p, AC, &john, "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:device:AAbbCCdd01"),
        "request cannot mix unstable and stable scopes");
    CHECK_STR(eval(p, AC, &john, "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:*"),
              "request cannot mix unstable and stable scopes");
    policy_free(p);
}

static void test_synapse_admin_scopes(void)
{
    struct policy *admins = policy_from("policy:\n  data:\n    admin_users: [john]\n");
    struct policy *none = policy_from("policy:\n  data:\n    admin_users: []\n");
    const struct policy_user flagged = {"john", true};
    for (int g = AC; g <= DC; g++) {
        CHECK(allow(admins, g, &john, "urn:synapse:admin:*"));
        CHECK(!allow(none, g, &john, "urn:synapse:admin:*"));
        CHECK(allow(none, g, &flagged, "urn:synapse:admin:*"));
        CHECK(!allow(none, g, &john, "urn:synapse:admin:*")); /* can_request_admin: false */
    }
    /* only with a user present: never for client_credentials, even for an admin client */
    CHECK(!allow(admins, CC, &john, "urn:synapse:admin:*"));
    CHECK(!allow(none, CC, &flagged, "urn:synapse:admin:*"));
    policy_free(admins);
    policy_free(none);
}

static void test_mas_scopes(void)
{
    struct policy *admins = policy_from("policy:\n  data:\n    admin_users: [john]\n");
    struct policy *none = policy_from("policy:\n  data:\n    admin_users: []\n");
    CHECK(allow(none, AC, &john, "urn:mas:graphql:*"));
    CHECK(allow(admins, AC, &john, "urn:mas:admin"));
    CHECK(!allow(none, AC, &john, "urn:mas:admin"));
    policy_free(admins);
    policy_free(none);
    /* data.admin_clients: urn:mas:admin for client_credentials, by client ID */
    struct policy *p = policy_from("policy:\n  data:\n    admin_clients: [client]\n");
    CHECK(allow(p, CC, NULL, "urn:mas:admin"));
    CHECK(!allow(p, AC, &john, "urn:mas:admin")); /* the client list is for client_credentials only */
    policy_free(p);
    p = policy_from("policy:\n  data:\n    admin_clients: [other]\n");
    CHECK(!allow(p, CC, NULL, "urn:mas:admin"));
    policy_free(p);
}

/* need_to_remove of the too-many-sessions violation, 0 when there is none (the Rego test's
 * need_to_remove_sessions helper); *allowed whether there was no violation at all. */
static uint64_t need_to_remove(const struct policy *p, int64_t total, bool *allowed)
{
    struct policy_grant_input in = {
        .grant_type = AC, .scope = "openid", .client_id = "client", .user = &john, .session_total = total};
    struct policy_result res = {0};
    CHECK_INT(policy_authorization_grant(p, &in, &res), 0);
    uint64_t need = 0;
    for (size_t i = 0; i < res.n; i++)
        if (res.violations[i].code && strcmp(res.violations[i].code, "too-many-sessions") == 0) {
            need = res.violations[i].need_to_remove;
            CHECK_STR(res.violations[i].msg, "user has too many active sessions");
        }
    *allowed = res.n == 0;
    policy_result_clear(&res);
    return need;
}

#define LIMITS "experimental:\n  session_limit: {soft_limit: 32, hard_limit: 64}\n"
#define LIMITS_THRESHOLD                                                                                     \
    "experimental:\n  session_limit: {soft_limit: 32, hard_limit: 64, max_session_threshold: 64}\n"

static void test_session_limiting(void)
{
    struct policy *p = policy_from(LIMITS);
    bool ok;
    CHECK_INT(need_to_remove(p, 1, &ok), 0); /* test_session_limiting_under_limit */
    CHECK(ok);
    CHECK_INT(need_to_remove(p, 31, &ok), 0); /* test_session_limiting_under_soft_limit */
    CHECK(ok);
    CHECK_INT(need_to_remove(p, 32, &ok), 1); /* test_session_limiting_hit_soft_limit */
    CHECK(!ok);
    CHECK_INT(need_to_remove(p, 42, &ok), 11); /* test_session_limiting_over_soft_limit */
    CHECK(!ok);
    CHECK_INT(need_to_remove(p, 65, &ok), 34); /* test_session_limiting_over_hard_limit: soft applies */
    CHECK(!ok);
    CHECK_INT(need_to_remove(p, -1, &ok), 0); /* sessions not counted (no user logging in) */
    CHECK(ok);
    policy_free(p);
    p = policy_from(""); /* test_session_limiting_no_limit */
    CHECK_INT(need_to_remove(p, 1, &ok), 0);
    CHECK(ok);
    CHECK_INT(need_to_remove(p, 1000000, &ok), 0);
    CHECK(ok);
    policy_free(p);
    p = policy_from(LIMITS_THRESHOLD);
    CHECK_INT(need_to_remove(p, 42, &ok), 11); /* test_session_limiting_under_max_session_threshold */
    CHECK(!ok);
    CHECK_INT(need_to_remove(p, 64, &ok), 33); /* at the threshold: still limited (<=) */
    CHECK_INT(need_to_remove(p, 128, &ok), 0); /* test_no_session_limiting_past_max_session_threshold */
    CHECK(ok);
    CHECK_INT(need_to_remove(p, 65, &ok), 0);
    policy_free(p);
    /* policy.data merges into data.session_limit as MAS merges it: null switches it off, a
     * number replaces the configured one, and it may be given there alone */
    p = policy_from(LIMITS "policy:\n  data:\n    session_limit: ~\n");
    CHECK_INT(need_to_remove(p, 100, &ok), 0);
    policy_free(p);
    p = policy_from(LIMITS "policy:\n  data:\n    session_limit: {soft_limit: 5}\n");
    CHECK_INT(need_to_remove(p, 10, &ok), 6);
    policy_free(p);
    p = policy_from("policy:\n  data:\n    session_limit: {soft_limit: 2, max_session_threshold: ~}\n");
    CHECK_INT(need_to_remove(p, 3, &ok), 2);
    policy_free(p);
    p = policy_from("policy:\n  data:\n    session_limit: {hard_limit: 2}\n"); /* no soft limit: no rule */
    CHECK_INT(need_to_remove(p, 3, &ok), 0);
    policy_free(p);
}

/* common_test.rego, through data.requester: test_match_*, test_ip_in_list, test_requester_banned. */
static bool banned(const char *data, const char *ip, const char *ua)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "policy:\n  data:\n    requester: %s\n", data);
    struct policy *p = policy_from(yaml);
    struct policy_grant_input in = {.grant_type = AC,
                                    .scope = "openid",
                                    .client_id = "client",
                                    .user = &john,
                                    .session_total = -1,
                                    .requester = {ip, ua}};
    struct policy_result res = {0};
    CHECK_INT(policy_authorization_grant(p, &in, &res), 0);
    bool b = res.n == 1 && strstr(res.violations[0].msg, "isn't allowed to do this action");
    if (res.n)
        snprintf(last, sizeof(last), "%s", res.violations[0].msg);
    CHECK(res.n <= 1);
    policy_result_clear(&res);
    policy_free(p);
    return b;
}

static void test_common(void)
{
    /* test_match_literals */
    CHECK(banned("{banned_user_agents: {literals: [literal]}}", NULL, "literal"));
    CHECK(!banned("{banned_user_agents: {literals: [lit]}}", NULL, "literal"));
    /* test_match_substring */
    CHECK(banned("{banned_user_agents: {substrings: [str]}}", NULL, "some string"));
    CHECK(!banned("{banned_user_agents: {substrings: [something]}}", NULL, "some string"));
    /* test_match_regex */
    CHECK(banned("{banned_user_agents: {regexes: ['^some']}}", NULL, "some string"));
    CHECK(!banned("{banned_user_agents: {regexes: ['^string']}}", NULL, "some string"));
    CHECK(banned("{banned_user_agents: {regexes: ['str[a-z]+g$']}}", NULL, "some string")); /* unanchored */
    /* test_match_prefix */
    CHECK(banned("{banned_user_agents: {prefixes: [some]}}", NULL, "some string"));
    CHECK(!banned("{banned_user_agents: {prefixes: [string]}}", NULL, "some string"));
    /* test_match_suffix */
    CHECK(banned("{banned_user_agents: {suffixes: [string]}}", NULL, "some string"));
    CHECK(!banned("{banned_user_agents: {suffixes: [some]}}", NULL, "some string"));
    CHECK(!banned("{banned_user_agents: {suffixes: [a long suffix]}}", NULL, "fix"));
    /* test_ip_in_list */
    CHECK(banned("{banned_ips: [192.168.1.1]}", "192.168.1.1", NULL));
    CHECK(banned("{banned_ips: [192.168.1.0/24]}", "192.168.1.1", NULL));
    CHECK(banned("{banned_ips: ['::1']}", "::1", NULL));
    CHECK(banned("{banned_ips: ['::/64']}", "::1", NULL));
    CHECK(!banned("{banned_ips: [192.168.1.2/32]}", "192.168.1.1", NULL));
    CHECK(!banned("{banned_ips: ['::/64']}", "192.168.1.1", NULL));
    CHECK(!banned("{banned_ips: [192.168.1.1]}", "not an address", "x"));
    /* test_requester_banned */
    CHECK(banned("{banned_ips: [192.168.1.1]}", "192.168.1.1", "Mozilla/5.0"));
    CHECK_STR(last, "Requester [192.168.1.1 / Mozilla/5.0] isn't allowed to do this action");
    CHECK(banned("{banned_ips: [192.168.1.1]}", "192.168.1.1", NULL));
    CHECK_STR(last, "Requester [192.168.1.1] isn't allowed to do this action");
    CHECK(banned("{banned_user_agents: {literals: [bot]}}", NULL, "bot"));
    CHECK_STR(last, "Requester [bot] isn't allowed to do this action");
    /* nothing known about the requester: nothing to ban */
    CHECK(!banned("{banned_ips: ['0.0.0.0/0'], banned_user_agents: {prefixes: ['']}}", NULL, NULL));
    CHECK(banned("{banned_ips: ['0.0.0.0/0']}", "203.0.113.9", NULL));
    CHECK(!banned("~", "203.0.113.9", "x"));
}

/* What the Rego says beyond its tests. */
static void test_beyond_the_rego_tests(void)
{
    struct policy *p = policy_from("");
    /* violation is a set: one message per distinct scope, sorted, the device rule once */
    CHECK_STR(eval(p, AC, &john, "phone phone profile"),
              "scope 'phone' not allowed|scope 'profile' not allowed");
    CHECK_STR(eval(p, AC, &john,
                   "urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:api:* "
                   "urn:matrix:client:device:AAbbCCdd01 urn:matrix:client:device:AAbbCCdd02 "
                   "urn:matrix:org.matrix.msc2967.client:device:AAbbCCdd01 "
                   "urn:matrix:org.matrix.msc2967.client:device:AAbbCCdd02"),
              "only one device scope is allowed at a time|request cannot mix unstable and stable scopes");
    /* the same device scope twice counts once (a set comprehension) */
    CHECK(allow(p, AC, &john,
                "urn:matrix:client:api:* urn:matrix:client:device:AAbbCCdd01 "
                "urn:matrix:client:device:AAbbCCdd01"));
    /* every space separates: empty tokens are the allowed "" */
    CHECK(allow(p, AC, &john, " openid  email "));
    /* the device-ID alphabet, exactly 10 characters, and characters outside it */
    CHECK(allow(p, AC, &john, "urn:matrix:client:api:* urn:matrix:client:device:._~!$&'()*"));
    CHECK(allow(p, AC, &john, "urn:matrix:client:api:* urn:matrix:client:device:+,;=:@/-aZ"));
    CHECK_STR(eval(p, AC, &john, "urn:matrix:client:api:* urn:matrix:client:device:AAbbCCdd0%"),
              "scope 'urn:matrix:client:device:AAbbCCdd0%' not allowed");
    CHECK(!allow(p, AC, &john, "urn:matrix:client:api:* urn:matrix:client:device:AAbbCCdd0"));
    CHECK(!allow(p, AC, &john, "urn:matrix:client:api:* urn:matrix:client:device:AAbbCCdd01\xc3\xa9"));
    /* the unescaped dots of the unstable regex match any one character (one UTF-8 sequence) */
    CHECK(allow(p, AC, &john, "urn:matrix:orgXmatrixXmsc2967Xclient:device:AAbbCCdd01"));
    CHECK(allow(p, AC, &john, "urn:matrix:org\xc3\xa9matrix.msc2967.client:device:AAbbCCdd01"));
    CHECK(!allow(p, AC, &john, "urn:matrix:org\nmatrix.msc2967.client:device:AAbbCCdd01"));
    CHECK(!allow(p, AC, &john, "urn:matrix:orgmatrix.msc2967.client:device:AAbbCCdd01"));
    CHECK(!allow(p, CC, NULL, "urn:matrix:orgXmatrixXmsc2967Xclient:device:AAbbCCdd01"));
    /* the api prefix counts as the C-S API scope for the device rule, though the scope itself is refused */
    CHECK_STR(eval(p, AC, &john, "urn:matrix:client:api:x urn:matrix:client:device:AAbbCCdd01"),
              "scope 'urn:matrix:client:api:x' not allowed");
    /* client_credentials with a device scope: both the scope and the device rule */
    CHECK_STR(eval(p, CC, NULL, "urn:matrix:client:device:AAbbCCdd01"),
              "device scopes are only allowed when the client-server API scope is requested|"
              "scope 'urn:matrix:client:device:AAbbCCdd01' not allowed");
    /* admin scope without a user (client_credentials) and without admin lists */
    CHECK(!allow(p, CC, NULL, "urn:mas:admin"));
    CHECK(allow(p, CC, NULL, "openid urn:mas:graphql:*"));
    policy_free(p);

    /* the session-limit violation sorts first (it has a code) */
    p = policy_from(LIMITS);
    struct policy_grant_input in = {
        .grant_type = AC, .scope = "phone", .client_id = "client", .user = &john, .session_total = 40};
    struct policy_result res = {0};
    CHECK_INT(policy_authorization_grant(p, &in, &res), 0);
    CHECK_INT(res.n, 2);
    CHECK_STR(res.violations[0].code, "too-many-sessions");
    CHECK_INT(res.violations[0].need_to_remove, 9);
    CHECK(res.violations[1].code == NULL);
    CHECK_INT(res.violations[1].need_to_remove, 0);
    CHECK_STR(res.violations[1].msg, "scope 'phone' not allowed");
    /* the result is cleared before use */
    in.scope = "openid", in.session_total = 0;
    CHECK_INT(policy_authorization_grant(p, &in, &res), 0);
    CHECK_INT(res.n, 0);
    policy_result_clear(&res);
    policy_free(p);

    enum policy_grant_type g;
    CHECK_INT(policy_grant_type_parse("authorization_code", &g), 0);
    CHECK_INT(g, AC);
    CHECK_INT(policy_grant_type_parse("urn:ietf:params:oauth:grant-type:device_code", &g), 0);
    CHECK_INT(g, DC);
    CHECK_INT(policy_grant_type_parse("client_credentials", &g), 0);
    CHECK_INT(g, CC);
    CHECK_INT(policy_grant_type_parse("refresh_token", &g), -EINVAL);
}

/* Operator data that MAS's Rego would silently never match is refused at load. */
static void test_data_errors(void)
{
    CHECK_POLICY_ERROR("policy:\n  data:\n    admin_users: john\n",
                       "policy.data.admin_users: expected a list of strings, found a string");
    CHECK_POLICY_ERROR("policy:\n  data:\n    admin_clients: [1]\n",
                       "policy.data.admin_clients[0]: expected a string, found a number");
    CHECK_POLICY_ERROR("policy:\n  data:\n    requester: [a]\n", "policy.data.requester: expected an object");
    CHECK_POLICY_ERROR("policy:\n  data:\n    requester: {banned_ips: [10.0.0.0/8, 10.0.0.256]}\n",
                       "policy.data.requester.banned_ips[1]: not an IP address or CIDR range");
    CHECK_POLICY_ERROR("policy:\n  data:\n    requester: {banned_user_agents: [curl]}\n",
                       "policy.data.requester.banned_user_agents: expected an object");
    CHECK_POLICY_ERROR("policy:\n  data:\n    requester: {banned_user_agents: {regexes: ['a(']}}\n",
                       "policy.data.requester.banned_user_agents.regexes[0]: Unmatched ( or \\(");
    CHECK_POLICY_ERROR(
        "policy:\n  data:\n    requester: {banned_user_agents: {regexes: [x, '^\\d+$']}}\n",
        "policy.data.requester.banned_user_agents.regexes[1]: an RE2 escape, which masd's POSIX "
        "extended regexes do not support");
    CHECK_POLICY_ERROR(
        "policy:\n  data:\n    requester: {banned_user_agents: {regexes: ['(?i)curl']}}\n",
        "policy.data.requester.banned_user_agents.regexes[0]: an RE2 group or flag (?...), which "
        "masd's POSIX extended regexes do not support");
    CHECK_POLICY_ERROR("policy:\n  data:\n    requester: {banned_user_agents: {regexes: ['^a+?$']}}\n",
                       "policy.data.requester.banned_user_agents.regexes[0]: a lazy quantifier, which masd's "
                       "POSIX extended regexes do not support");
    CHECK_POLICY_ERROR("policy:\n  data:\n    session_limit: 3\n",
                       "policy.data.session_limit: expected an object, found a number");
    CHECK_POLICY_ERROR(LIMITS "policy:\n  data:\n    session_limit: 3\n",
                       "policy.data: cannot merge a number into a object");
    CHECK_POLICY_ERROR("policy:\n  data:\n    session_limit: {soft_limit: '3'}\n",
                       "policy.data.session_limit.soft_limit: expected an integer, found a string");
    CHECK_POLICY_ERROR("policy:\n  data:\n    server_name: [a]\n",
                       "policy.data: cannot merge a array into a string");
    /* literal characters in a bracket are not RE2 syntax */
    struct policy *p =
        policy_from("policy:\n  data:\n    requester: {banned_user_agents: {regexes: ['[*?(]?x']}}\n");
    policy_free(p);
    /* lists concatenate: policy.data's admin_users extend, never replace */
    p = policy_from("policy:\n  data:\n    admin_users: [a, john]\n");
    CHECK(allow(p, AC, &john, "urn:mas:admin"));
    policy_free(p);
}

/* compat_login_test.rego: need_to_remove of the too-many-sessions violation for a login of this
 * type (0 when none), its message in `last`, and *allowed. */
static uint64_t compat_need(const struct policy *p, enum policy_compat_login_type type, int64_t total,
                            bool replaced, bool *allowed)
{
    struct policy_compat_login_input in = {
        .login = type, .session_replaced = replaced, .session_total = total};
    struct policy_result res = {0};
    CHECK_INT(policy_compat_login(p, &in, &res), 0);
    uint64_t need = 0;
    last[0] = '\0';
    for (size_t i = 0; i < res.n; i++) {
        snprintf(last, sizeof(last), "%s", res.violations[i].msg);
        if (res.violations[i].code && strcmp(res.violations[i].code, "too-many-sessions") == 0)
            need = res.violations[i].need_to_remove;
    }
    *allowed = res.n == 0;
    policy_result_clear(&res);
    return need;
}

static void test_compat_login(void)
{
    const enum policy_compat_login_type SSO = POLICY_COMPAT_LOGIN_SSO, PW = POLICY_COMPAT_LOGIN_PASSWORD,
                                        TOK = POLICY_COMPAT_LOGIN_TOKEN;
    bool ok;
    struct policy *p = policy_from(""); /* test_no_session_limiting_undefined, _null */
    CHECK_INT(compat_need(p, SSO, 1, false, &ok), 0);
    CHECK(ok);
    CHECK_INT(compat_need(p, PW, 1000000, false, &ok), 0);
    CHECK(ok);
    policy_free(p);
    p = policy_from(LIMITS);
    CHECK_INT(compat_need(p, SSO, 1, false, &ok), 0); /* test_session_limiting_sso_under_limit */
    CHECK(ok);
    CHECK_INT(compat_need(p, SSO, 31, false, &ok), 0); /* ..._sso_barely_under_soft_limit */
    CHECK(ok);
    CHECK_INT(compat_need(p, SSO, 32, false, &ok), 1); /* ..._sso_hit_soft_limit */
    CHECK(!ok);
    CHECK_STR(last, "user has too many active sessions (soft limit)");
    CHECK_INT(compat_need(p, SSO, 42, false, &ok), 11); /* ..._sso_over_soft_limit */
    CHECK_INT(compat_need(p, SSO, 65, false, &ok), 34); /* ..._sso_over_hard_limit: the soft one applies */
    CHECK_INT(compat_need(p, PW, 1, false, &ok), 0);    /* ..._password_under_limit */
    CHECK(ok);
    CHECK_INT(compat_need(p, PW, 63, false, &ok), 0); /* ..._password_under_hard_limit */
    CHECK(ok);
    CHECK_INT(compat_need(p, PW, 64, false, &ok), 1); /* ..._password_hit_hard_limit */
    CHECK(!ok);
    CHECK_STR(last, "user has too many active sessions (hard limit)");
    CHECK_INT(compat_need(p, PW, 70, false, &ok), 7);
    CHECK_INT(compat_need(p, TOK, 64, false, &ok), 1); /* a token login is not interactive either */
    CHECK_INT(compat_need(p, PW, 100, true, &ok), 0);  /* a replaced session: no new one */
    CHECK(ok);
    CHECK_INT(compat_need(p, SSO, 100, true, &ok), 0);
    CHECK_INT(compat_need(p, PW, -1, false, &ok), 0); /* not counted */
    CHECK(ok);
    policy_free(p);
    p = policy_from(LIMITS_THRESHOLD); /* past max_session_threshold: not limited */
    CHECK_INT(compat_need(p, PW, 64, false, &ok), 1);
    CHECK_INT(compat_need(p, PW, 65, false, &ok), 0);
    CHECK(ok);
    policy_free(p);
    /* a banned requester, whatever the login */
    p = policy_from("policy:\n  data:\n    requester: {banned_ips: [192.0.2.0/24]}\n");
    struct policy_compat_login_input in = {
        .login = TOK, .session_total = -1, .requester = {"192.0.2.9", "UA"}};
    struct policy_result res = {0};
    CHECK_INT(policy_compat_login(p, &in, &res), 0);
    CHECK_INT(res.n, 1);
    CHECK(res.n == 1 && strstr(res.violations[0].msg, "isn't allowed to do this action"));
    policy_result_clear(&res);
    in.requester.ip = "198.51.100.1";
    CHECK_INT(policy_compat_login(p, &in, &res), 0);
    CHECK_INT(res.n, 0);
    policy_free(p);
}

int main(void)
{
    test_standard_scopes();
    test_matrix_unstable_scopes();
    test_matrix_stable_scopes();
    test_unstable_device_scopes();
    test_stable_device_scopes();
    test_device_scope_only_with_cs_api_scope();
    test_mix_stable_and_unstable_scopes();
    test_synapse_admin_scopes();
    test_mas_scopes();
    test_session_limiting();
    test_compat_login();
    test_common();
    test_beyond_the_rego_tests();
    test_data_errors();
    return check_report(__FILE__);
}
