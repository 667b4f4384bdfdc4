/* The compat API's input rules (MAS: crates/handlers/src/compat/login.rs) and the matrix and
 * rate_limiting config sections. */
#include "check.h"
#include "compat/parse.h"
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct compat_error err;

/* Parses a login body as the handler does; returns the errcode, or "ok". */
static const char *login(const char *body, struct compat_login_request *out, json_t **doc)
{
    *doc = NULL;
    if (compat_json_body(MASD_STR("application/json"), masd_str_from(body), false, doc, &err) < 0)
        return err.errcode;
    return compat_login_parse(*doc, out, &err) < 0 ? err.errcode : "ok";
}

static void check_login_error(const char *body, int status, const char *errcode)
{
    struct compat_login_request in;
    json_t *doc;
    CHECK_STR(login(body, &in, &doc), errcode);
    CHECK_INT(err.status, status);
    json_decref(doc);
}

static void test_body_rules(void)
{
    json_t *doc;
    masd_str body = MASD_STR("{}");
    CHECK_INT(compat_json_body((masd_str){NULL, 0}, body, false, &doc, &err), 0); /* no Content-Type */
    json_decref(doc);
    CHECK_INT(compat_json_body(MASD_STR("application/json; charset=utf-8"), body, false, &doc, &err), 0);
    json_decref(doc);
    CHECK_INT(compat_json_body(MASD_STR("Application/Vnd.Matrix+JSON"), body, false, &doc, &err), 0);
    json_decref(doc);
    CHECK_INT(compat_json_body(MASD_STR("text/plain"), body, false, &doc, &err), -EINVAL);
    CHECK_STR(err.errcode, "M_NOT_JSON");
    CHECK_INT(compat_json_body(MASD_STR("application/+json"), body, false, &doc, &err), -EINVAL);
    CHECK_INT(compat_json_body(MASD_STR("application/json"), MASD_STR(""), false, &doc, &err), -EINVAL);
    CHECK_STR(err.errcode, "M_NOT_JSON");
    CHECK_INT(compat_json_body(MASD_STR("application/json"), MASD_STR(""), true, &doc, &err), 0);
    CHECK(doc == NULL);
    CHECK_INT(
        compat_json_body(MASD_STR("application/json"), MASD_STR("{\"a\":1,\"a\":2}"), false, &doc, &err),
        -EINVAL);
    CHECK_STR(err.errcode, "M_NOT_JSON");
    char *big = malloc(COMPAT_BODY_MAX + 2);
    memset(big, ' ', COMPAT_BODY_MAX + 1);
    big[0] = '{', big[COMPAT_BODY_MAX] = '}', big[COMPAT_BODY_MAX + 1] = '\0';
    CHECK_INT(compat_json_body(MASD_STR("application/json"), masd_str_from(big), false, &doc, &err), -EINVAL);
    CHECK_INT(err.status, 413);
    CHECK_STR(err.errcode, "M_TOO_LARGE");
    big[COMPAT_BODY_MAX - 1] = '}', big[COMPAT_BODY_MAX] = '\0'; /* exactly the limit: accepted */
    CHECK_INT(compat_json_body(MASD_STR("application/json"), masd_str_from(big), false, &doc, &err), 0);
    json_decref(doc);
    free(big);
}

static void test_login_parse(void)
{
    struct compat_login_request in;
    json_t *doc;
    CHECK_STR(
        login("{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"alice\"},"
              "\"password\":\"pw\",\"refresh_token\":true,\"device_id\":\"DEV\","
              "\"initial_device_display_name\":\"My client\"}",
              &in, &doc),
        "ok");
    CHECK_STR(in.user, "alice");
    CHECK_STR(in.password, "pw");
    CHECK_STR(in.device_id, "DEV");
    CHECK_STR(in.display_name, "My client");
    CHECK(in.refresh_token);
    json_decref(doc);
    /* legacy top-level user wins over the identifier */
    CHECK_STR(
        login("{\"type\":\"m.login.password\",\"user\":\"bob\",\"identifier\":{\"type\":\"m.id.thirdparty\","
              "\"medium\":\"email\",\"address\":\"a@b\"},\"password\":\"x\"}",
              &in, &doc),
        "ok");
    CHECK_STR(in.user, "bob");
    CHECK(!in.refresh_token && !in.device_id && !in.display_name);
    json_decref(doc);
    CHECK_STR(login("{\"type\":\"m.login.password\",\"user\":\"bob\",\"password\":\"x\",\"device_id\":\"\"}",
                    &in, &doc),
              "ok");
    CHECK(in.device_id == NULL);
    json_decref(doc);

    check_login_error("{\"type\":\"m.login.password\",\"password\":\"x\"}", 400, "M_BAD_JSON");
    check_login_error(
        "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.phone\",\"country\":\"GB\","
        "\"phone\":\"1\"},\"password\":\"x\"}",
        400, "M_UNKNOWN");
    check_login_error("{\"type\":\"m.login.sso\"}", 400, "M_UNKNOWN");
    check_login_error("{\"type\":\"m.login.token\"}", 400, "M_BAD_JSON");
    check_login_error("{\"type\":\"m.login.token\",\"token\":7}", 400, "M_BAD_JSON");
    check_login_error("{\"type\":\"m.login.token\",\"token\":\"t\",\"device_id\":\"a b\"}", 400,
                      "M_INVALID_PARAM");
    check_login_error("{\"type\":\"m.login.token\",\"token\":\"t\",\"refresh_token\":1}", 400, "M_BAD_JSON");
    check_login_error("{\"password\":\"x\",\"user\":\"a\"}", 400, "M_BAD_JSON");
    check_login_error("[]", 400, "M_BAD_JSON");
    check_login_error("\"m.login.password\"", 400, "M_BAD_JSON");
    check_login_error("{\"type\":\"m.login.password\",\"user\":\"a\"}", 400, "M_BAD_JSON");
    check_login_error("{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":1}", 400, "M_BAD_JSON");
    check_login_error("{\"type\":\"m.login.password\",\"user\":7,\"password\":\"x\"}", 400, "M_BAD_JSON");
    check_login_error(
        "{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":\"x\",\"refresh_token\":\"yes\"}", 400,
        "M_BAD_JSON");
    check_login_error(
        "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\"},\"password\":\"x\"}", 400,
        "M_BAD_JSON");
    check_login_error("{\"type\":\"m.login.password\",\"identifier\":\"alice\",\"password\":\"x\"}", 400,
                      "M_BAD_JSON");
    check_login_error("{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":\"x\\u0000y\"}", 400,
                      "M_NOT_JSON"); /* jansson refuses NUL in strings */
    char body[600];
    snprintf(body, sizeof(body),
             "{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":\"x\",\"device_id\":\"%0300d\"}", 0);
    check_login_error(body, 400, "M_INVALID_PARAM");
    /* the homeserver's limit on device names, in characters: 100 two-byte ones pass, 101 do not */
    char name[1000] = "", login_body[1200];
    for (int i = 0; i < 100; i++)
        strcat(name, "\xc3\xa9");
    snprintf(login_body, sizeof(login_body),
             "{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":\"x\","
             "\"initial_device_display_name\":\"%s\"}",
             name);
    struct compat_login_request req;
    CHECK_STR(login(login_body, &req, &doc), "ok");
    json_decref(doc);
    strcat(name, "x");
    snprintf(login_body, sizeof(login_body),
             "{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":\"x\","
             "\"initial_device_display_name\":\"%s\"}",
             name);
    check_login_error(login_body, 400, "M_TOO_LARGE");
}

/* m.login.token: the token, and the fields every login shares; no user. */
static void test_token_login(void)
{
    struct compat_login_request in;
    json_t *doc;
    CHECK_STR(login("{\"type\":\"m.login.token\",\"token\":\"AbC123\",\"device_id\":\"DEV\","
                    "\"initial_device_display_name\":\"Phone\",\"refresh_token\":true,\"user\":\"ignored\"}",
                    &in, &doc),
              "ok");
    CHECK_INT(in.type, COMPAT_LOGIN_TOKEN);
    CHECK_STR(in.token, "AbC123");
    CHECK_STR(in.device_id, "DEV");
    CHECK_STR(in.display_name, "Phone");
    CHECK(in.refresh_token && in.password == NULL);
    json_decref(doc);
    CHECK_STR(login("{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":\"x\"}", &in, &doc), "ok");
    CHECK_INT(in.type, COMPAT_LOGIN_PASSWORD);
    CHECK(in.token == NULL);
    json_decref(doc);
}

/* compat_redirect_url_parse: what is stored, or why not. */
static const char *url(const char *in)
{
    static char out[STORAGE_URI_MAX + 1];
    const char *why;
    if (compat_redirect_url_parse(masd_str_from(in), out, sizeof(out), &why) < 0) {
        CHECK(strncmp(why, "Invalid redirectUrl: ", 21) == 0);
        return why + 21;
    }
    return out;
}

static void test_redirect_url(void)
{
    /* kept as given */
    CHECK_STR(url("https://app.example.com/cb?a=b&c=d#frag"), "https://app.example.com/cb?a=b&c=d#frag");
    CHECK_STR(url("http://127.0.0.1:8080/callback"), "http://127.0.0.1:8080/callback");
    CHECK_STR(url("http://[::1]:8080/x"), "http://[::1]:8080/x");
    CHECK_STR(url("io.element.app:/callback"), "io.element.app:/callback");
    CHECK_STR(url("element://connect?x=1"), "element://connect?x=1");
    CHECK_STR(url("myapp:"), "myapp:");
    CHECK_STR(url("myapp://"), "myapp://"); /* an empty host: fine off the web */
    CHECK_STR(url("https://a.example/?"), "https://a.example/?");
    CHECK_STR(url("https://a.example/#"), "https://a.example/#");
    CHECK_STR(url("https://a.example/p%20q?x=%2F"), "https://a.example/p%20q?x=%2F");
    CHECK_STR(url("https://a.example/?logintoken=x&xloginToken=y"),
              "https://a.example/?logintoken=x&xloginToken=y");
    /* normalised as WHATWG would (MAS stores the parsed URL) */
    CHECK_STR(url("HTTPS://App.Example.COM"), "https://app.example.com/");
    CHECK_STR(url("https://a.example:/x"), "https://a.example/x");
    CHECK_STR(url("https://a.example?q=1"), "https://a.example/?q=1");
    CHECK_STR(url("https://a.example#f"), "https://a.example/#f");
    CHECK_STR(url("https://a.example/a b?c d#e f"), "https://a.example/a%20b?c%20d#e%20f");
    CHECK_STR(url("https://a.example/\"<>`{}|^"), "https://a.example/%22%3C%3E%60%7B%7D%7C%5E");
    CHECK_STR(url("https://a.example/caf\xc3\xa9"), "https://a.example/caf%C3%A9"); /* é */
    CHECK_STR(url("Com.Example.App:/cb"), "com.example.app:/cb");
    /* refused */
    CHECK_STR(url(""), "it is not an absolute URL");
    CHECK_STR(url("/relative/path"), "it is not an absolute URL");
    CHECK_STR(url("app.example.com/cb"), "it is not an absolute URL");
    CHECK_STR(url("1http://a.example/"), "it is not an absolute URL");
    CHECK_STR(url("://a.example/"), "it is not an absolute URL");
    CHECK_STR(url("https://user:pw@a.example/"), "it has a user name or password");
    CHECK_STR(url("https://user@a.example/"), "it has a user name or password");
    CHECK_STR(url("myapp://u@host/"), "it has a user name or password");
    CHECK_STR(url("https:///path"), "no host");
    CHECK_STR(url("https:a.example/path"), "no host");
    CHECK_STR(url("http:"), "no host");
    CHECK_STR(url("https://:443/"), "no host");
    CHECK_STR(url("https://a.example\\@evil.example/"), "it contains a control character or a backslash");
    CHECK_STR(url("https://a.example/\x01"), "it contains a control character or a backslash");
    CHECK_STR(url("https://a.example/\n"), "it contains a control character or a backslash");
    CHECK_STR(url("https://a.example/\x7f"), "it contains a control character or a backslash");
    CHECK_STR(url("https://a.example/\xff"), "it is not UTF-8");
    CHECK_STR(url("https://a.example/%zz"), "a malformed percent escape");
    CHECK_STR(url("https://a.example/%4"), "a malformed percent escape");
    CHECK_STR(url("https://a.example:99999/"), "a port above 65535");
    CHECK_STR(url("https://a.example:8o/"), "a port that is not a number");
    CHECK_STR(url("https://a%2eexample/"),
              "a host with characters other than letters, digits, '-', '.', '_' and '~'");
    CHECK_STR(url("https://b\xc3\xbc"
                  "cher.example/"),
              "a host with characters other than letters, digits, '-', '.', '_' and '~'");
    CHECK_STR(url("https://[::1/"), "a host that is not a valid IPv6 literal");
    CHECK_STR(url("https://[]/"), "a host that is not a valid IPv6 literal");
    CHECK_STR(url("https://[::1]x/"), "a host that is not a valid IPv6 literal");
    CHECK_STR(url("javascript:alert(1)"), "its scheme is not one a client can receive a login at");
    CHECK_STR(url("JavaScript://%0aalert(1)"), "its scheme is not one a client can receive a login at");
    CHECK_STR(url("data:text/html,x"), "its scheme is not one a client can receive a login at");
    CHECK_STR(url("file:///etc/passwd"), "its scheme is not one a client can receive a login at");
    CHECK_STR(url("https://a.example/?loginToken=planted"), "it has a loginToken parameter already");
    CHECK_STR(url("https://a.example/?a=1&login%54oken=planted#x"), "it has a loginToken parameter already");
    CHECK_STR(url("https://a.example/#?loginToken=in-the-fragment"),
              "https://a.example/#?loginToken=in-the-fragment");
    char longer[STORAGE_URI_MAX + 2];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    memcpy(longer, "https://a.example/", 18);
    CHECK_STR(url(longer), "it is too long");
    longer[STORAGE_URI_MAX] = '\0'; /* the limit exactly */
    CHECK_STR(url(longer), longer);
    longer[STORAGE_URI_MAX - 1] = ' '; /* the limit, but an escape makes it longer */
    CHECK_STR(url(longer), "it is too long");
}

/* The query of GET /login/sso/redirect. */
static void test_sso_redirect_request(void)
{
    struct compat_sso_redirect_request rq;
    CHECK_INT(
        compat_sso_redirect_parse(MASD_STR("redirectUrl=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1"), &rq, &err),
        0);
    CHECK_STR(rq.redirect_url, "https://app.example/cb?x=1");
    CHECK_INT(rq.action, COMPAT_SSO_ACTION_NONE);
    CHECK_INT(compat_sso_redirect_parse(MASD_STR("redirectUrl=x:&action=register"), &rq, &err), 0);
    CHECK_INT(rq.action, COMPAT_SSO_ACTION_REGISTER);
    CHECK_INT(
        compat_sso_redirect_parse(MASD_STR("redirectUrl=x:&org.matrix.msc3824.action=login"), &rq, &err), 0);
    CHECK_INT(rq.action, COMPAT_SSO_ACTION_LOGIN);
    /* the stable name first; an unknown value falls back to the unstable one, then to none */
    CHECK_INT(compat_sso_redirect_parse(
                  MASD_STR("redirectUrl=x:&action=bogus&org.matrix.msc3824.action=register"), &rq, &err),
              0);
    CHECK_INT(rq.action, COMPAT_SSO_ACTION_REGISTER);
    CHECK_INT(compat_sso_redirect_parse(
                  MASD_STR("redirectUrl=x:&action=login&org.matrix.msc3824.action=register"), &rq, &err),
              0);
    CHECK_INT(rq.action, COMPAT_SSO_ACTION_LOGIN);
    CHECK_INT(compat_sso_redirect_parse(MASD_STR("redirectUrl=x:&action=undefinedaction"), &rq, &err), 0);
    CHECK_INT(rq.action, COMPAT_SSO_ACTION_NONE);
    CHECK_INT(compat_sso_redirect_parse(MASD_STR(""), &rq, &err), -EINVAL);
    CHECK_INT(err.status, 400);
    CHECK_STR(err.errcode, "M_MISSING_PARAM");
    CHECK_STR(err.error, "Missing redirectUrl");
    CHECK_INT(compat_sso_redirect_parse(MASD_STR("redirecturl=https://a.example/"), &rq, &err), -EINVAL);
    CHECK_STR(err.errcode, "M_MISSING_PARAM");
    CHECK_INT(compat_sso_redirect_parse(MASD_STR("redirectUrl=x:&redirectUrl=y:"), &rq, &err), -EINVAL);
    CHECK_STR(err.errcode, "M_INVALID_PARAM");
    CHECK_STR(err.error, "Invalid redirectUrl: it is given twice");
    CHECK_INT(compat_sso_redirect_parse(MASD_STR("redirectUrl=%zz"), &rq, &err), -EINVAL);
    CHECK_STR(err.error, "Invalid redirectUrl: it does not decode");
    CHECK_INT(compat_sso_redirect_parse(MASD_STR("redirectUrl=https%3A%2F%2Fu%40a.example%2F"), &rq, &err),
              -EINVAL);
    CHECK_STR(err.error, "Invalid redirectUrl: it has a user name or password");
    CHECK_INT(compat_sso_redirect_parse(MASD_STR("redirectUrl="), &rq, &err), -EINVAL);
    CHECK_STR(err.error, "Invalid redirectUrl: it is not an absolute URL");
}

/* Device IDs that no scope token can carry are refused at login (400 M_INVALID_PARAM). */
static void test_device_ids(void)
{
    static const char *const bad[] = {
        "\"has space\"",  "\"quote\\\"d\"", "\"back\\\\slash\"", "\"new\\nline\"",  "\"tab\\there\"",
        "\"caf\\u00e9\"", "\"\\u202eRTL\"", "\"del\\u007f\"",    "\"nul\\u0000x\"",
    };
    char body[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"type\":\"m.login.password\",\"user\":\"a\",\"password\":\"x\",\"device_id\":%s}",
                 bad[i]);
        struct compat_login_request in;
        json_t *doc;
        const char *code = login(body, &in, &doc);
        json_decref(doc);
        /* jansson refuses \u0000 itself (M_NOT_JSON); everything else is the parser's 400 */
        CHECK(strcmp(code, "M_INVALID_PARAM") == 0 || (i == 8 && strcmp(code, "M_NOT_JSON") == 0));
        if (strcmp(code, "M_INVALID_PARAM") != 0 && i != 8)
            fprintf(stderr, "accepted device_id %s: %s\n", bad[i], code);
        CHECK_INT(err.status, 400);
    }
    static const char *const good[] = {"ABCDEFGHIJ", "a", "dev-1.2_3~!$&'()*+,;=:@/", "#%<>?[]^`{|}"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK(compat_device_id_ok(good[i]));
    CHECK(!compat_device_id_ok(""));
    CHECK(!compat_device_id_ok("a b"));
    CHECK(!compat_device_id_ok("\xc3\xa9"));
}

static void test_bearer(void)
{
    masd_str t;
    CHECK(compat_bearer_token(MASD_STR("Bearer mct_abc"), &t) && masd_str_eq(t, MASD_STR("mct_abc")));
    CHECK(compat_bearer_token(MASD_STR("bearer  mct_abc "), &t) && masd_str_eq(t, MASD_STR("mct_abc")));
    CHECK(!compat_bearer_token(MASD_STR("Basic YTpi"), &t));
    CHECK(!compat_bearer_token(MASD_STR("Bearer "), &t));
    CHECK(!compat_bearer_token(MASD_STR("Bearer"), &t));
}

static struct config *load(const char *yaml, char **error)
{
    struct config *cfg = NULL;
    *error = NULL;
    config_load_buffer("test.yaml", yaml, strlen(yaml), &cfg, error);
    return cfg;
}

static void test_config_sections(void)
{
    char *error;
    struct config *cfg = load("", &error);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_STR(cfg->matrix.homeserver, "localhost:8008");
        CHECK_STR(cfg->matrix.endpoint, "http://localhost:8008/");
        CHECK(cfg->matrix.secret == NULL);
        CHECK_INT(cfg->rate_limiting.login_per_ip.burst, 3);
        CHECK(cfg->rate_limiting.login_per_ip.per_second == 0.05);
        CHECK_INT(cfg->rate_limiting.login_per_account.burst, 1800);
        CHECK(cfg->rate_limiting.login_per_account.per_second == 0.5);
        CHECK_INT(cfg->rate_limiting.email_attempt_per_session.burst, 10);
        CHECK_INT(cfg->rate_limiting.ipv6_prefix_length, 64);
        CHECK_INT(cfg->n_warnings, 0);
    }
    config_free(cfg);
    cfg = load("matrix:\n  homeserver: example.com\n  secret: abc\n  kind: synapse_modern\n"
               "rate_limiting:\n  ipv6_prefix_length: 48\n  login:\n    per_ip:\n      burst: 5\n"
               "    per_account: {per_second: 2.5}\n",
               &error);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_STR(cfg->matrix.homeserver, "example.com");
        CHECK_INT(cfg->matrix.secret_len, 3);
        CHECK_STR(cfg->matrix.kind, "synapse_modern");
        CHECK_INT(cfg->rate_limiting.login_per_ip.burst, 5);
        CHECK(cfg->rate_limiting.login_per_ip.per_second == 0.05);
        CHECK(cfg->rate_limiting.login_per_account.per_second == 2.5);
        CHECK_INT(cfg->rate_limiting.ipv6_prefix_length, 48);
        CHECK_INT(cfg->n_warnings, 0);
    }
    config_free(cfg);
    static const char *const bad[] = {
        "matrix:\n  secret: a\n  secret_file: /x\n",
        "matrix:\n  kind: dendrite\n",
        "matrix:\n  endpoint: ftp://x/\n",
        "rate_limiting:\n  login:\n    per_ip:\n      per_second: 0\n",
        "rate_limiting:\n  login:\n    per_ip:\n      per_second: fast\n",
        "rate_limiting:\n  login:\n    per_ip:\n      burst: 0\n",
        "rate_limiting:\n  login:\n    per_ip:\n      rate: 1\n",
        "rate_limiting:\n  ipv6_prefix_length: 31\n",
        "rate_limiting:\n  ipv6_prefix_length: 129\n",
        "rate_limiting:\n  ipv6_prefix_length: /64\n",
        "rate_limiting:\n  ipv6_prefix_length: 64.5\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg = load(bad[i], &error);
        CHECK(cfg == NULL && error != NULL);
        if (!error || cfg)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        config_free(cfg);
        free(error);
    }
}

/* The {idp} segment of GET /login/sso/redirect/{idp}. */
static void test_sso_idp(void)
{
    char idp[16];
    CHECK_INT(
        compat_sso_idp_parse(MASD_STR("/_matrix/client/v3/login/sso/redirect/oidc-github"), idp, sizeof(idp)),
        0);
    CHECK_STR(idp, "oidc-github");
    CHECK_INT(compat_sso_idp_parse(MASD_STR("/_matrix/client/r0/login/sso/redirect/oidc%2Dx%20y"), idp,
                                   sizeof(idp)),
              0);
    CHECK_STR(idp, "oidc-x y");
    /* none: the two routes without the segment */
    CHECK_INT(compat_sso_idp_parse(MASD_STR("/_matrix/client/v3/login/sso/redirect"), idp, sizeof(idp)),
              -ENOENT);
    CHECK_INT(compat_sso_idp_parse(MASD_STR("/_matrix/client/v3/login/sso/redirect/"), idp, sizeof(idp)),
              -ENOENT);
    CHECK_INT(compat_sso_idp_parse(MASD_STR("/elsewhere"), idp, sizeof(idp)), -ENOENT);
    /* not a provider masd could have: refused before any lookup */
    static const char *const bad[] = {
        "/_matrix/client/v3/login/sso/redirect/a%2Fb",
        "/_matrix/client/v3/login/sso/redirect/a%00",
        "/_matrix/client/v3/login/sso/redirect/a%0a",
        "/_matrix/client/v3/login/sso/redirect/a%",
        "/_matrix/client/v3/login/sso/redirect/a%4",
        "/_matrix/client/v3/login/sso/redirect/a%zz",
        "/_matrix/client/v3/login/sso/redirect//",
        "/_matrix/client/v3/login/sso/redirect/0123456789abcdef",
        "/_matrix/client/v3/login/sso/redirectx",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(compat_sso_idp_parse(masd_str_from(bad[i]), idp, sizeof(idp)), -EINVAL);
    CHECK_INT(compat_sso_idp_parse(MASD_STR("/_matrix/client/v3/login/sso/redirect/0123456789abcde"), idp,
                                   sizeof(idp)),
              0); /* 15 bytes and the NUL fit */
}

int main(void)
{
    test_sso_idp();
    test_body_rules();
    test_login_parse();
    test_token_login();
    test_redirect_url();
    test_sso_redirect_request();
    test_device_ids();
    test_bearer();
    test_config_sections();
    return check_report(__FILE__);
}
