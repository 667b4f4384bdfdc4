/* MAS's client_registration policy in C: every case of MAS's policies/client_registration/
 * client_registration_test.rego, each under the name of its Rego test, then what the Rego
 * implies beyond them (its regex's corners, Rego's truth, the data checks). */
#include "config_check.h"
#include "policy.h"
#include "policy_internal.h"
#include <errno.h>

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

#define DATA(flags) "policy:\n  data:\n    client_registration: {" flags "}\n"
static struct policy *plain, *insecure, *mismatch, *missing;

/* The violations' messages joined with "|" (an invalid redirect_uri with the URI in
 * parentheses), "" when allowed. */
static char last[4096];
static const char *eval(const struct policy *p, const char *metadata)
{
    json_error_t e;
    json_t *md = json_loads(metadata, JSON_REJECT_DUPLICATES, &e);
    if (!md)
        fprintf(stderr, "bad test JSON: %s: %s\n", metadata, e.text);
    CHECK(md != NULL);
    struct policy_result res = {0};
    CHECK_INT(policy_client_registration(p, md, &res), 0);
    json_decref(md);
    last[0] = '\0';
    for (size_t i = 0; i < res.n; i++) {
        snprintf(last + strlen(last), sizeof(last) - strlen(last), "%s%s", i ? "|" : "",
                 res.violations[i].msg);
        if (res.violations[i].redirect_uri)
            snprintf(last + strlen(last), sizeof(last) - strlen(last), " (%s)",
                     res.violations[i].redirect_uri);
    }
    policy_result_clear(&res);
    return last;
}
#define ALLOW(p, md)       CHECK_STR(eval(p, md), "")
#define DENY(p, md)        CHECK(eval(p, md)[0] != '\0')
#define DENIES(p, md, why) CHECK_STR(eval(p, md), why)

static void test_valid(void)
{
    ALLOW(plain, "{\"grant_types\": [\"authorization_code\"], \"client_uri\": \"https://example.com/\","
                 " \"redirect_uris\": [\"https://example.com/callback\"]}");
}

static void test_missing_client_uri(void)
{
    DENIES(plain, "{\"grant_types\": []}", "missing client_uri");
    ALLOW(missing, "{\"grant_types\": []}");
}

static void test_insecure_client_uri(void)
{
    DENIES(plain, "{\"grant_types\": [], \"client_uri\": \"http://example.com/\"}", "invalid client_uri");
}

#define CU "\"grant_types\": [], \"client_uri\": \"https://example.com/\", "

static void test_tos_uri(void)
{
    ALLOW(plain, "{" CU "\"tos_uri\": \"https://example.com/tos\"}");
}

static void test_tos_uri_insecure(void)
{
    DENIES(plain, "{" CU "\"tos_uri\": \"http://example.com/tos\"}", "invalid tos_uri");
    ALLOW(insecure, "{" CU "\"tos_uri\": \"http://example.com/tos\"}");
}

static void test_tos_uri_host_mismatch(void)
{
    DENIES(plain, "{" CU "\"tos_uri\": \"https://example.org/tos\"}",
           "tos_uri not on the same host as the client_uri");
    ALLOW(plain, "{" CU "\"tos_uri\": \"https://tos.example.com/\"}");
    ALLOW(mismatch, "{" CU "\"tos_uri\": \"https://example.org/tos\"}");
}

static void test_logo_uri(void)
{
    ALLOW(plain, "{" CU "\"logo_uri\": \"https://example.com/logo.png\"}");
}

static void test_logo_uri_insecure(void)
{
    DENIES(plain, "{" CU "\"logo_uri\": \"http://example.com/logo.png\"}", "invalid logo_uri");
    ALLOW(insecure, "{" CU "\"logo_uri\": \"http://example.com/logo.png\"}");
}

static void test_logo_uri_host_mismatch(void)
{
    DENIES(plain, "{" CU "\"logo_uri\": \"https://example.org/logo.png\"}",
           "logo_uri not on the same host as the client_uri");
    ALLOW(plain, "{" CU "\"logo_uri\": \"https://static.example.com/logo.png\"}");
    ALLOW(mismatch, "{" CU "\"logo_uri\": \"https://example.org/logo.png\"}");
}

static void test_policy_uri(void)
{
    ALLOW(plain, "{" CU "\"policy_uri\": \"https://example.com/policy\"}");
}

static void test_policy_uri_insecure(void)
{
    DENIES(plain, "{" CU "\"policy_uri\": \"http://example.com/policy\"}", "invalid policy_uri");
    ALLOW(insecure, "{" CU "\"policy_uri\": \"http://example.com/policy\"}");
}

static void test_policy_uri_host_mismatch(void)
{
    DENIES(plain, "{" CU "\"policy_uri\": \"https://example.org/policy\"}",
           "policy_uri not on the same host as the client_uri");
    ALLOW(plain, "{" CU "\"policy_uri\": \"https://policy.example.com/\"}");
    ALLOW(mismatch, "{" CU "\"policy_uri\": \"https://example.org/policy\"}");
}

#define C "\"client_uri\": \"https://example.com/\""

static void test_redirect_uris(void)
{
    DENIES(plain, "{" C "}", "missing redirect_uris");
    DENIES(plain, "{" C ", \"redirect_uris\": \"https://example.com/callback\"}",
           "invalid redirect_uris: it must be an array");
    DENIES(plain, "{" C ", \"redirect_uris\": []}",
           "invalid redirect_uris: it must have at least one redirect_uri");
    ALLOW(plain, "{\"grant_types\": [\"client_credentials\"], " C "}");
    DENIES(plain,
           "{\"grant_types\": [\"client_credentials\", \"refresh_token\", \"authorization_code\"], " C "}",
           "missing redirect_uris");
    DENIES(plain, "{\"grant_types\": [\"client_credentials\", \"implicit\"], " C "}",
           "missing redirect_uris");
}

#define WEB    "\"application_type\": \"web\", "
#define NATIVE "\"application_type\": \"native\", "

static void test_web_redirect_uri(void)
{
    ALLOW(plain, "{" WEB C ", \"redirect_uris\": [\"https://example.com/second/callback\", "
                 "\"https://example.com/callback\", \"https://example.com/callback?query=value\", "
                 "\"https://example.com/callback~path_with_extra_chars\"]}");
    ALLOW(insecure, "{" WEB "\"client_uri\": \"http://localhost:8080\", "
                    "\"redirect_uris\": [\"http://localhost:8080/?no_universal_links=true\"]}");
    ALLOW(plain, "{" WEB C ", \"redirect_uris\": [\"https://example.com:8443/callback\"]}");
}

static void test_web_redirect_uri_insecure(void)
{
    const char *md =
        "{" WEB C ", \"redirect_uris\": [\"http://example.com/callback\", \"https://example.com/callback\"]}";
    DENIES(plain, md, "invalid redirect_uri (http://example.com/callback)");
    ALLOW(insecure, md);
}

static void test_web_redirect_uri_host_mismatch(void)
{
    const char *md =
        "{" WEB C
        ", \"redirect_uris\": [\"https://example.com/second/callback\", \"https://example.org/callback\"]}";
    DENIES(plain, md, "invalid redirect_uri (https://example.org/callback)");
    ALLOW(mismatch, md);
    ALLOW(plain, "{" WEB C ", \"redirect_uris\": [\"https://app.example.com/callback\"]}");
}

static void test_web_redirect_uri_no_custom_scheme(void)
{
    DENIES(plain, "{" WEB C ", \"redirect_uris\": [\"com.example.app:/callback\"]}",
           "invalid redirect_uri (com.example.app:/callback)");
}

static void test_web_redirect_uri_localhost_not_allowed(void)
{
    DENY(plain, "{" WEB C ", \"redirect_uris\": [\"http://locahost:1234/callback\"]}");
    DENY(plain, "{" WEB C ", \"redirect_uris\": [\"http://127.0.0.1:1234/callback\"]}");
    DENY(plain, "{" WEB C ", \"redirect_uris\": [\"http://[::1]:1234/callback\"]}");
}

static void test_web_redirect_uri_with_query(void)
{
    ALLOW(plain, "{" WEB C ", \"redirect_uris\": [\"https://example.com/callback?query=value\", "
                 "\"https://example.com?query=value\"]}");
}

static void test_native_redirect_uri_allowed(void)
{
    ALLOW(plain,
          "{" NATIVE C ", \"redirect_uris\": [\"com.example.app:/callback\", \"http://localhost/callback\", "
          "\"http://localhost:1234/callback\", \"http://127.0.0.1/callback\", "
          "\"http://127.0.0.1:1234/callback\", \"http://[::1]/callback\", \"http://[::1]:1234/callback\", "
          "\"https://example.com/callback\"]}");
}

static void test_native_redirect_uri_denied_domain(void)
{
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"http://example.com/\"]}");
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"http://bad.com/\"]}");
}

static void test_native_redirect_uri_denied_on_localhost(void)
{
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"https://localhost:1234/\"]}");
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"http://localhost.com/\"]}");
}

static void test_native_redirect_uri_custom_scheme(void)
{
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"org.example.app:/callback\"]}");
}

static struct policy_span sp(const char *s)
{
    return (struct policy_span){s, strlen(s)};
}

static void test_reverse_dns_match_parse(void)
{
    struct policy_uri c, r;
    CHECK(policy_parse_uri("https://element.io/", &c));
    CHECK(policy_parse_uri("io.element.app:/callback", &r));
    CHECK(policy_labels_prefix(c.host, r.scheme, true));
}

static void test_client_credentials_grant(void)
{
    ALLOW(plain, "{\"grant_types\": [\"client_credentials\"], \"token_endpoint_auth_method\": "
                 "\"client_secret_basic\", " C "}");
    ALLOW(plain, "{\"grant_types\": [\"client_credentials\"], " C "}");
    DENIES(plain,
           "{\"grant_types\": [\"client_credentials\"], \"token_endpoint_auth_method\": \"none\", " C "}",
           "client_credentials grant_type requires some form of client authentication");
}

static void test_is_subdomain(void)
{
    CHECK(policy_labels_prefix(sp("example.com"), sp("example.com"), false));
    CHECK(policy_labels_prefix(sp("example.com"), sp("app.example.com"), false));
    CHECK(!policy_labels_prefix(sp("example.com"), sp("example.org"), false));
    CHECK(!policy_labels_prefix(sp("test.com"), sp("example.com"), false));
}

static void test_reverse_dns_match(void)
{
    CHECK(policy_labels_prefix(sp("example.com"), sp("com.example"), true));
    CHECK(policy_labels_prefix(sp("example.com"), sp("com.example.app"), true));
    CHECK(!policy_labels_prefix(sp("example.com"), sp("org.example"), true));
    CHECK(!policy_labels_prefix(sp("test.com"), sp("com.example"), true));
}

static bool span_eq(struct policy_span s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.s, lit, s.len) == 0;
}

static void test_parse_uri(void)
{
    struct policy_uri u;
    CHECK(policy_parse_uri("https://example.com:8080/users?query=test", &u));
    CHECK(span_eq(u.authority, "example.com:8080"));
    CHECK(span_eq(u.host, "example.com"));
    CHECK(span_eq(u.path, "/users"));
    CHECK(span_eq(u.scheme, "https"));
    CHECK(span_eq(u.port, "8080"));
    CHECK(span_eq(u.query, "?query=test"));
}

/* Beyond MAS's tests: what the Rego's regex and Rego's rules imply. */
static void test_beyond_the_rego_tests(void)
{
    struct policy_uri u;
    /* upper case is in none of the host's classes: the authority is skipped and "//…" is read
     * as a path, so the host is "" */
    CHECK(policy_parse_uri("https://Example.com/", &u));
    CHECK(span_eq(u.host, "") && span_eq(u.authority, "") && span_eq(u.path, "//Example.com/"));
    /* a label may not end with '-', nor a host with '.' */
    CHECK(policy_parse_uri("https://a-.com/", &u) && u.host.len == 0);
    CHECK(policy_parse_uri("https://example.com./", &u) && u.host.len == 0);
    /* the literal 127.0.0.1's dots match any character, tried when the labels do not fit */
    CHECK(policy_parse_uri("http://127:0:0:1/", &u) && span_eq(u.host, "127:0:0:1") && u.port.len == 0);
    CHECK(policy_parse_uri("http://127.0.0.1:80/", &u) && span_eq(u.host, "127.0.0.1") &&
          span_eq(u.port, "80"));
    CHECK(policy_parse_uri("http://[::1]/", &u) && span_eq(u.host, "[::1]"));
    CHECK(!policy_parse_uri("http://[::2]/", &u));
    CHECK(!policy_parse_uri("HTTPS://example.com/", &u));
    CHECK(!policy_parse_uri("https://example.com/a b", &u));
    CHECK(!policy_parse_uri("https://example.com/#frag", &u)); /* '#' is only in the query's class */
    CHECK(policy_parse_uri("https://example.com/?a#b", &u) && span_eq(u.query, "?a#b"));
    CHECK(policy_parse_uri("com.example.app:/cb", &u) && span_eq(u.scheme, "com.example.app") &&
          u.authority.len == 0 && span_eq(u.path, "/cb"));
    CHECK(policy_parse_uri("x:", &u) && u.path.len == 0);
    CHECK(policy_parse_uri("https://", &u) && u.host.len == 0 && span_eq(u.path, "//"));
    CHECK(!policy_parse_uri("", &u));
    /* the violations of one request all come at once, sorted, each bad redirect_uri named */
    DENIES(
        plain,
        "{\"client_uri\": \"http://example.com/\", \"tos_uri\": 3, \"redirect_uris\": [\"https://a.org/\", "
        "\"https://b.org/\", \"https://a.org/\"]}",
        "invalid client_uri|invalid redirect_uri (https://a.org/)|invalid redirect_uri (https://b.org/)|"
        "invalid tos_uri|tos_uri not on the same host as the client_uri");
    /* Rego's truth: only false and absent are "not"; null is true */
    DENIES(plain, "{\"client_uri\": false, \"grant_types\": []}", "invalid client_uri|missing client_uri");
    DENIES(plain, "{" C ", \"redirect_uris\": null}", "invalid redirect_uris: it must be an array");
    DENIES(plain, "{" C ", \"grant_types\": false}", "missing redirect_uris");
    /* grant_types and redirect_uris as objects: Rego iterates their values */
    DENIES(plain,
           "{" C
           ", \"grant_types\": {\"a\": \"client_credentials\"}, \"token_endpoint_auth_method\": \"none\"}",
           "client_credentials grant_type requires some form of client authentication");
    DENIES(plain, "{" C ", \"redirect_uris\": {\"a\": \"http://x.org/\"}}",
           "invalid redirect_uri (http://x.org/)|invalid redirect_uris: it must be an array");
    DENIES(plain, "{" C ", \"redirect_uris\": \"\"}",
           "invalid redirect_uris: it must be an array|invalid redirect_uris: it must have at least one "
           "redirect_uri");
    /* native: the reversed client_uri host must be a prefix of the scheme's labels */
    ALLOW(plain, "{" NATIVE C ", \"redirect_uris\": [\"com.example:/cb\", \"com.example.app.x:/\"]}");
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"com:/cb\"]}");
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"com.example://host/cb\"]}"); /* an authority */
    DENY(plain, "{" NATIVE "\"redirect_uris\": [\"com.example:/cb\"]}");           /* no client_uri */
    DENY(plain, "{" NATIVE C ", \"redirect_uris\": [\"https://127.0.0.1/\"]}");
    /* allow_missing_client_uri also waives the host rule (MAS reads data.client_metadata, which
     * is undefined) unless the data does define it */
    ALLOW(missing, "{\"grant_types\": [], \"tos_uri\": \"https://example.org/\", " C "}");
    struct policy *odd =
        policy_from("policy:\n  data:\n    client_registration: {allow_missing_client_uri: true}\n"
                    "    client_metadata: {client_uri: x}\n");
    DENIES(odd, "{\"grant_types\": [], \"tos_uri\": \"https://example.org/\", " C "}",
           "tos_uri not on the same host as the client_uri");
    policy_free(odd);
    /* insecure allows anything as a URI, even a non-string */
    ALLOW(insecure, "{\"grant_types\": [], \"client_uri\": 3}");
}

static void check_policy_error(const char *yaml, const char *expected)
{
    struct config *cfg = load(yaml);
    struct policy *p = NULL;
    char *err = NULL;
    CHECK_INT(policy_new(cfg, &p, &err), -EINVAL);
    CHECK_STR(err, expected);
    free(err);
    config_free(cfg);
}

static void test_data_errors(void)
{
    check_policy_error("policy:\n  data:\n    client_registration: [a]\n",
                       "policy.data.client_registration: expected an object, found a array");
    check_policy_error(
        DATA("allow_insecure_uris: 'yes'"),
        "policy.data.client_registration.allow_insecure_uris: expected a boolean, found a string");
    check_policy_error(
        DATA("allow_host_mismatch: null"),
        "policy.data.client_registration.allow_host_mismatch: expected a boolean, found a null");
    check_policy_error(
        DATA("allow_missing_client_uri: 1"),
        "policy.data.client_registration.allow_missing_client_uri: expected a boolean, found a number");
}

int main(void)
{
    plain = policy_from("");
    insecure = policy_from(DATA("allow_insecure_uris: true"));
    mismatch = policy_from(DATA("allow_host_mismatch: true"));
    missing = policy_from(DATA("allow_missing_client_uri: true, allow_host_mismatch: false"));
    test_valid();
    test_missing_client_uri();
    test_insecure_client_uri();
    test_tos_uri();
    test_tos_uri_insecure();
    test_tos_uri_host_mismatch();
    test_logo_uri();
    test_logo_uri_insecure();
    test_logo_uri_host_mismatch();
    test_policy_uri();
    test_policy_uri_insecure();
    test_policy_uri_host_mismatch();
    test_redirect_uris();
    test_web_redirect_uri();
    test_web_redirect_uri_insecure();
    test_web_redirect_uri_host_mismatch();
    test_web_redirect_uri_no_custom_scheme();
    test_web_redirect_uri_localhost_not_allowed();
    test_web_redirect_uri_with_query();
    test_native_redirect_uri_allowed();
    test_native_redirect_uri_denied_domain();
    test_native_redirect_uri_denied_on_localhost();
    test_native_redirect_uri_custom_scheme();
    test_reverse_dns_match_parse();
    test_client_credentials_grant();
    test_is_subdomain();
    test_reverse_dns_match();
    test_parse_uri();
    test_beyond_the_rego_tests();
    test_data_errors();
    policy_free(plain);
    policy_free(insecure);
    policy_free(mismatch);
    policy_free(missing);
    return check_report(__FILE__);
}
