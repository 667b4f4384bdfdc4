/* MAS's register and email policies in C (common/policy/policy_register.c): every case of MAS's
 * policies/register/register_test.rego and policies/email/email_test.rego under the name of its
 * Rego test, then the domain globs, the violations' fields and codes, and the data checks. */
#include "config_check.h"
#include "policy_internal.h"
#include <errno.h>

static struct policy *policy_from(const char *data, const char *server_name)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml), "matrix:\n  homeserver: %s\n  secret: x\npolicy:\n  data: %s\n",
             server_name ? server_name : "example.com", data);
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

/* The violations as "field:code" joined with "|" ("-" for no field), "" when allowed. */
static char last[2048];
static const char *joined(struct policy_result *res)
{
    last[0] = '\0';
    for (size_t i = 0; i < res->n; i++)
        snprintf(last + strlen(last), sizeof(last) - strlen(last), "%s%s:%s", i ? "|" : "",
                 res->violations[i].field ? res->violations[i].field : "-",
                 res->violations[i].code ? res->violations[i].code : res->violations[i].msg);
    policy_result_clear(res);
    return last;
}

static const char *reg_full(const char *data, const char *server_name, enum policy_registration_method m,
                            const char *username, const char *email, const char *ip, const char *ua)
{
    struct policy *p = policy_from(data, server_name);
    if (!p)
        return "(no policy)";
    struct policy_register_input in = {m, username, email, {ip, ua}};
    struct policy_result res = {0};
    CHECK_INT(policy_register(p, &in, &res), 0);
    policy_free(p);
    return joined(&res);
}
#define PW                         POLICY_REGISTRATION_PASSWORD
#define UP                         POLICY_REGISTRATION_UPSTREAM_OAUTH
#define reg(data, username, email) reg_full(data, NULL, PW, username, email, NULL, NULL)

static const char *email(const char *data, const char *address)
{
    struct policy *p = policy_from(data, NULL);
    if (!p)
        return "(no policy)";
    struct policy_result res = {0};
    CHECK_INT(policy_email(p, address, &res), 0);
    policy_free(p);
    return joined(&res);
}

static void test_register_rego(void)
{
    const char *mock = "hello@staging.element.io";
    /* test_allow_all_domains, test_allowed_domain, test_not_allowed_domain, test_banned_domain,
     * test_banned_subdomain */
    CHECK_STR(reg("{}", "hello", mock), "");
    CHECK_STR(reg("{allowed_domains: ['*.element.io']}", "hello", mock), "");
    CHECK_STR(reg("{allowed_domains: [example.com]}", "hello", mock), "email:email-domain-not-allowed");
    CHECK_STR(reg("{banned_domains: ['*.element.io']}", "hello", mock), "email:email-domain-banned");
    CHECK_STR(reg("{allowed_domains: ['*.element.io'], banned_domains: [staging.element.io]}", "hello", mock),
              "email:email-domain-banned");
    /* test_no_email */
    CHECK_STR(reg_full("{}", NULL, PW, "hello", NULL, NULL, NULL), "");
    CHECK_STR(reg_full("{}", NULL, UP, "hello", NULL, NULL, NULL), "");
    /* test_empty_username: too short, and no valid character */
    CHECK_STR(reg_full("{}", NULL, UP, "", NULL, NULL, NULL),
              "username:username-invalid-chars|username:username-too-short");
    /* test_long_username: the MXID "@" + 249 + ":" + "a.io" is exactly 255 characters */
    char a249[260], a250[260];
    memset(a249, 'a', 249), a249[249] = '\0';
    memset(a250, 'a', 250), a250[250] = '\0';
    CHECK_STR(reg_full("{}", "matrix.org", UP, a249, NULL, NULL, NULL), "username:username-too-long");
    CHECK_STR(reg_full("{}", "a.io", UP, a249, NULL, NULL, NULL), "");
    CHECK_STR(reg_full("{}", "a.io", UP, a250, NULL, NULL, NULL), "username:username-too-long");
    /* test_invalid_username, test_numeric_username */
    CHECK_STR(reg("{}", "hello world", NULL), "username:username-invalid-chars");
    CHECK_STR(reg("{}", "1234", NULL), "username:username-all-numeric");
    /* test_allowed_username, test_banned_username */
    CHECK_STR(reg("{registration: {allowed_usernames: {literals: [hello]}}}", "hello", NULL), "");
    CHECK_STR(reg("{registration: {allowed_usernames: {literals: [world]}}}", "hello", NULL),
              "username:username-not-allowed");
    CHECK_STR(reg("{registration: {banned_usernames: {literals: [hello]}}}", "hello", NULL),
              "username:username-banned");
    CHECK_STR(reg("{registration: {banned_usernames: {literals: [world]}}}", "hello", NULL), "");
    /* test_ip_ban */
    CHECK_STR(reg_full("{requester: {banned_ips: [1.1.1.1]}}", NULL, UP, "hello", NULL, "1.1.1.1", NULL),
              "-:Requester [1.1.1.1] isn't allowed to do this action");
    CHECK_STR(reg_full("{requester: {banned_ips: [1.0.0.0/8]}}", NULL, UP, "hello", NULL, "1.1.1.1", NULL),
              "-:Requester [1.1.1.1] isn't allowed to do this action");
    CHECK_STR(reg_full("{requester: {banned_user_agents: {substrings: [Evil]}}}", NULL, UP, "hello", NULL,
                       NULL, "Evil Client"),
              "-:Requester [Evil Client] isn't allowed to do this action");
    CHECK_STR(reg_full("{requester: {banned_ips: [1.1.1.1]}}", NULL, UP, "hello", NULL, "1.1.1.2", "ok"), "");
}

static void test_register_beyond(void)
{
    /* the character set: lower-case letters, digits and .=_/+- only */
    CHECK_STR(reg("{}", "a.b=c_d/e+f-g", NULL), "");
    CHECK_STR(reg("{}", "Alice", NULL), "username:username-invalid-chars");
    CHECK_STR(reg("{}",
                  "al\xc3\xaf"
                  "ce",
                  NULL),
              "username:username-invalid-chars");
    CHECK_STR(reg("{}", "0x", NULL), "");
    /* the MXID's length is in characters: 2-byte characters in the server name count once */
    /* an allow list that is present but empty allows nothing (Rego: `not data.x` is false) */
    CHECK_STR(reg("{registration: {allowed_usernames: {}}}", "hello", NULL), "username:username-not-allowed");
    /* every rule at once, each once */
    CHECK_STR(reg("{registration: {banned_usernames: {prefixes: ['1']}}}", "12 3", NULL),
              "username:username-banned|username:username-invalid-chars");
    /* the e-mail's violations are about the email field */
    CHECK_STR(reg("{emails: {banned_addresses: {suffixes: ['@evil.example']}}}", "bob", "bob@evil.example"),
              "email:email-banned");
}

static void test_email_rego(void)
{
    const char *e = "hello@staging.element.io";
    /* test_allow_all_domains … test_banned_subdomain */
    CHECK_STR(email("{}", e), "");
    CHECK_STR(email("{allowed_domains: ['*.element.io']}", e), "");
    CHECK_STR(email("{allowed_domains: [example.com]}", e), "-:email-domain-not-allowed");
    CHECK_STR(email("{banned_domains: ['*.element.io']}", e), "-:email-domain-banned");
    CHECK_STR(email("{allowed_domains: ['*.element.io'], banned_domains: [staging.element.io]}", e),
              "-:email-domain-banned");
    /* test_regex_banned, test_literal_banned */
    CHECK_STR(email("{emails: {banned_addresses: {regexes: ['hello@.*']}}}", e), "-:email-banned");
    CHECK_STR(email("{emails: {banned_addresses: {literals: [hello@staging.element.io]}}}", e),
              "-:email-banned");
    /* test_regex_allowed, test_literal_allowed */
    CHECK_STR(email("{emails: {allowed_addresses: {regexes: ['hello@.*']}}}", e), "");
    CHECK_STR(email("{emails: {allowed_addresses: {regexes: ['hola@.*']}}}", e), "-:email-not-allowed");
    CHECK_STR(email("{emails: {allowed_addresses: {literals: [hello@staging.element.io]}}}", e), "");
    CHECK_STR(email("{emails: {allowed_addresses: {literals: [hola@staging.element.io]}}}", e),
              "-:email-not-allowed");
    /* split(email, "@") must give two parts: with two '@' no domain is allowed, none banned */
    CHECK_STR(email("{allowed_domains: ['**']}", "a@b@c"), "-:email-domain-not-allowed");
    CHECK_STR(email("{banned_domains: ['**']}", "a@b@c"), "");
    /* an empty allow list allows no domain */
    CHECK_STR(email("{allowed_domains: []}", e), "-:email-domain-not-allowed");
}

static void test_globs(void)
{
    CHECK(policy_domain_glob_match("*.element.io", "staging.element.io"));
    CHECK(!policy_domain_glob_match("*.element.io", "a.staging.element.io")); /* * stays in a label */
    CHECK(policy_domain_glob_match("**.element.io", "a.staging.element.io"));
    CHECK(!policy_domain_glob_match("*.element.io", "element.io"));
    CHECK(policy_domain_glob_match("element.io", "element.io"));
    CHECK(!policy_domain_glob_match("element.io", "elementxio"));
    CHECK(policy_domain_glob_match("e?ement.io", "element.io"));
    CHECK(!policy_domain_glob_match("element?io", "element.io")); /* ? is not the delimiter */
    CHECK(policy_domain_glob_match("*", "localhost"));
    CHECK(!policy_domain_glob_match("*", "a.b"));
    CHECK(policy_domain_glob_match("**", "a.b"));
    CHECK(policy_domain_glob_match("**", ""));
    CHECK(policy_domain_glob_match("**a*", "ab.ac")); /* an earlier ** takes the dot */
    CHECK(!policy_domain_glob_match("*a*", "ab.ac"));
    CHECK(policy_domain_glob_match("a\\*", "a*"));
    CHECK(!policy_domain_glob_match("a\\*", "ab"));
    CHECK(policy_domain_glob_match("*.*.*", "a.b.c"));
    CHECK(!policy_domain_glob_match("*.*.*", "a.b"));
    /* no backtracking blow-up: this returns at once */
    char dom[254], pat[128];
    memset(dom, 'a', 253), dom[253] = '\0';
    for (int i = 0; i < 63; i++)
        pat[2 * i] = '*', pat[2 * i + 1] = 'a';
    pat[126] = 'b', pat[127] = '\0';
    CHECK(!policy_domain_glob_match(pat, dom));
}

static void check_policy_error(int line, const char *data, const char *expected)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "policy:\n  data: %s\n", data);
    struct config *cfg = load(yaml);
    struct policy *p = NULL;
    char *err = NULL;
    CHECK_INT(policy_new(cfg, &p, &err), -EINVAL);
    if (!err || strcmp(err, expected) != 0)
        fprintf(stderr, "  (the error case at line %d)\n", line);
    CHECK_STR(err, expected);
    free(err);
    policy_free(p);
    config_free(cfg);
}

static void test_data_checks(void)
{
    check_policy_error(__LINE__, "{registration: []}", "policy.data.registration: expected an object");
    check_policy_error(__LINE__, "{emails: 1}", "policy.data.emails: expected an object");
    check_policy_error(__LINE__, "{registration: {banned_usernames: [x]}}",
                       "policy.data.registration.banned_usernames: expected an object");
    check_policy_error(
        __LINE__, "{registration: {allowed_usernames: {regexes: ['\\d+']}}}",
        "policy.data.registration.allowed_usernames.regexes[0]: an RE2 escape, which masd's POSIX "
        "extended regexes do not support");
    check_policy_error(
        __LINE__, "{emails: {banned_addresses: {literals: x}}}",
        "policy.data.emails.banned_addresses.literals: expected a list of strings, found a string");
    check_policy_error(
        __LINE__, "{allowed_domains: ['{a,b}.io']}",
        "policy.data.allowed_domains[0]: a character class or alternatives ([...], {a,b}), which "
        "masd's domain globs do not support");
    check_policy_error(
        __LINE__, "{banned_domains: ['[ab].io']}",
        "policy.data.banned_domains[0]: a character class or alternatives ([...], {a,b}), which "
        "masd's domain globs do not support");
}

int main(void)
{
    test_register_rego();
    test_register_beyond();
    test_email_rego();
    test_globs();
    test_data_checks();
    return check_report(__FILE__);
}
