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
    check_login_error("{\"type\":\"m.login.token\",\"token\":\"abc\"}", 400, "M_UNKNOWN");
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

int main(void)
{
    test_body_rules();
    test_login_parse();
    test_device_ids();
    test_bearer();
    test_config_sections();
    return check_report(__FILE__);
}
