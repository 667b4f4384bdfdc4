/* Cookies in MAS's format (common/crypto/cookie.h) and the base64 they are written in.
 *
 *   test_cookie        round trips, every way a value can be bad, the session and CSRF JSON
 *   test_cookie node   the same format built independently: values sealed by
 *                      tests/node/mas_cookie.mjs (Node's crypto, from MAS's description) are
 *                      opened here, and values sealed here are opened by it (77 without node) */
#include "base64.h"
#include "check.h"
#include "cookie.h"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

static const unsigned char secret[COOKIE_SECRET_LEN] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                        11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                        22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
#define SECRET_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void test_base64(void)
{
    static const struct {
        const char *plain, *std, *url;
    } v[] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"\xfb\xff", "+/8=", "-_8"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = strlen(v[i].plain), m = 99;
        char *s = base64_encode((const unsigned char *)v[i].plain, n);
        CHECK_STR(s, v[i].std);
        free(s);
        s = base64url_encode((const unsigned char *)v[i].plain, n);
        CHECK_STR(s, v[i].url);
        free(s);
        unsigned char out[16];
        CHECK_INT(base64_decode(v[i].std, strlen(v[i].std), out, &m), 0);
        CHECK(m == n && memcmp(out, v[i].plain, n) == 0);
    }
    unsigned char out[16];
    size_t m;
    static const char *const bad[] = {"Zg",   "Zg=",  "Zg===", "Z===",  "Zh==",   "Zm9=",        "Zm8-",
                                      "Zm_v", "Zg=a", "=Zg=",  " Zg==", "Zg==\n", "Zm9vYg==Zg=="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = base64_decode(bad[i], strlen(bad[i]), out, &m);
        if (r != -EBADMSG)
            fprintf(stderr, "accepted: '%s'\n", bad[i]);
        CHECK_INT(r, -EBADMSG);
    }
}

static void test_seal_open(void)
{
    struct cookie_jar *jar, *other;
    unsigned char secret2[COOKIE_SECRET_LEN] = {1};
    CHECK_INT(cookie_jar_new(secret, &jar), 0);
    CHECK_INT(cookie_jar_new(secret2, &other), 0);
    char *v, *w, *plain = NULL;
    size_t len;
    CHECK_INT(cookie_seal(jar, "session", "{\"current\":null}", 16, &v), 0);
    CHECK_INT(cookie_seal(jar, "session", "{\"current\":null}", 16, &w), 0);
    CHECK(strcmp(v, w) != 0); /* a fresh nonce each time */
    free(w);
    CHECK_INT(strlen(v), (12 + 16 + 16 + 2) / 3 * 4);
    CHECK_INT(cookie_open(jar, "session", v, strlen(v), &plain, &len), 0);
    CHECK(len == 16 && plain && strcmp(plain, "{\"current\":null}") == 0);
    free(plain);

    /* Bad values are all the same -EBADMSG: another name (the AAD), another secret, any bit
     * flipped, cut short, not base64, empty, too long. */
    CHECK_INT(cookie_open(jar, "csrf", v, strlen(v), &plain, &len), -EBADMSG);
    CHECK_INT(cookie_open(other, "session", v, strlen(v), &plain, &len), -EBADMSG);
    for (size_t i = 0; i < strlen(v); i++) {
        char *t = strdup(v);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        if (t[i] != v[i] && strchr("=", v[i]) == NULL)
            CHECK_INT(cookie_open(jar, "session", t, strlen(t), &plain, &len), -EBADMSG);
        free(t);
    }
    CHECK_INT(cookie_open(jar, "session", v, strlen(v) - 4, &plain, &len), -EBADMSG);
    CHECK_INT(cookie_open(jar, "session", "", 0, &plain, &len), -EBADMSG);
    CHECK_INT(cookie_open(jar, "session", "AAAA", 4, &plain, &len), -EBADMSG);
    CHECK_INT(cookie_open(jar, "session", "not base64!", 11, &plain, &len), -EBADMSG);
    char *huge = malloc(COOKIE_VALUE_MAX + 8);
    memset(huge, 'A', COOKIE_VALUE_MAX + 4);
    CHECK_INT(cookie_open(jar, "session", huge, COOKIE_VALUE_MAX + 4, &plain, &len), -EBADMSG);
    free(huge);
    CHECK_INT(cookie_seal(jar, "session", "", 0, &w), 0); /* empty plaintext: nonce and tag only */
    CHECK_INT(cookie_open(jar, "session", w, strlen(w), &plain, &len), 0);
    CHECK_INT(len, 0);
    free(plain);
    free(w);
    free(v);
    cookie_jar_free(jar);
    cookie_jar_free(other);
}

static void test_session_json(void)
{
    struct cookie_session s;
    const char *j = "{\"current\":\"01HZ8Y3V8XK3G2T6QF7R1E0M9A\"}";
    CHECK_INT(cookie_session_parse(j, strlen(j), &s), 0);
    CHECK_STR(s.current, "01HZ8Y3V8XK3G2T6QF7R1E0M9A");
    CHECK_INT(s.logged_out_at, 0);
    j = "{\"current\":null,\"logged_out_at\":\"2024-05-01T12:34:56.123456789Z\"}";
    CHECK_INT(cookie_session_parse(j, strlen(j), &s), 0);
    CHECK_STR(s.current, "");
    CHECK_INT(s.logged_out_at, 1714566896123LL);
    j = "{\"current\":null,\"logged_out_at\":\"2024-05-01T14:34:56+02:00\"}";
    CHECK_INT(cookie_session_parse(j, strlen(j), &s), 0);
    CHECK_INT(s.logged_out_at, 1714566896000LL);
    j = "{\"current\":null,\"logged_out_at\":\"2024-02-29T00:00:00Z\",\"future\":1}"; /* unknown member */
    CHECK_INT(cookie_session_parse(j, strlen(j), &s), 0);
    CHECK_INT(s.logged_out_at, 1709164800000LL);
    char *r = cookie_session_render(&(struct cookie_session){"01HZ8Y3V8XK3G2T6QF7R1E0M9A", 1714566896123LL});
    CHECK_STR(r,
              "{\"current\":\"01HZ8Y3V8XK3G2T6QF7R1E0M9A\",\"logged_out_at\":\"2024-05-01T12:34:56.123Z\"}");
    free(r);
    r = cookie_session_render(&(struct cookie_session){"", 0});
    CHECK_STR(r, "{\"current\":null}");
    free(r);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"current\":1}",
        "{\"current\":\"not-a-ulid\"}",
        "{\"current\":\"01HZ8Y3V8XK3G2T6QF7R1E0M9\"}",
        "{\"current\":null,\"logged_out_at\":\"2023-02-29T00:00:00Z\"}",
        "{\"current\":null,\"logged_out_at\":\"2024-05-01 12:34:56Z\"}",
        "{\"current\":null,\"logged_out_at\":\"2024-05-01T12:34:56\"}",
        "{\"current\":null,\"logged_out_at\":\"2024-13-01T12:34:56Z\"}",
        "{\"current\":null,\"logged_out_at\":\"2024-05-01T12:34:56.Z\"}",
        "{\"current\":null,\"logged_out_at\":\"2024-05-01T12:34:56.1234567890Z\"}",
        "{\"current\":null,\"logged_out_at\":5}",
        "{\"current\":null,\"logged_out_at\":\"1011-05-01T12:34:56Z\"}",
        "{\"current\":null,\"current\":null}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(cookie_session_parse(bad[i], strlen(bad[i]), &s), -EINVAL);
}

static void test_csrf_json(void)
{
    struct cookie_csrf c = {.expiration = 1714566896};
    for (int i = 0; i < COOKIE_CSRF_TOKEN_LEN; i++)
        c.token[i] = (unsigned char)(i * 8);
    char *j = cookie_csrf_render(&c);
    CHECK(j && strncmp(j, "{\"expiration\":1714566896,\"token\":[0,8,16,", 41) == 0);
    /* byte for byte what jansson's compact writer makes of the same value */
    json_t *token = json_array();
    for (int i = 0; i < COOKIE_CSRF_TOKEN_LEN; i++)
        json_array_append_new(token, json_integer(c.token[i]));
    json_t *doc = json_pack("{s:I, s:o}", "expiration", (json_int_t)c.expiration, "token", token);
    char *ref = json_dumps(doc, JSON_COMPACT);
    CHECK_STR(j, ref);
    free(ref);
    json_decref(doc);
    struct cookie_csrf back;
    CHECK_INT(cookie_csrf_parse(j, strlen(j), &back), 0);
    CHECK(memcmp(&back, &c, sizeof(c)) == 0);
    free(j);
    static const char *const bad[] = {
        "{}",
        "{\"expiration\":1,\"token\":[1,2,3]}",
        "{\"expiration\":\"1\",\"token\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}",
        "{\"expiration\":1,\"token\":[256,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}",
        "{\"expiration\":1,\"token\":[-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(cookie_csrf_parse(bad[i], strlen(bad[i]), &back), -EINVAL);
}

/* Runs node on tests/node/mas_cookie.mjs; its output (up to size - 1 bytes) into out. */
static int node(const char *mode, const char *name, const char *arg, char *out, size_t size)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "node ../node/mas_cookie.mjs %s %s %s '%s'", mode, SECRET_HEX, name, arg);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    return pclose(p);
}

static int test_node(void)
{
    if (system("node --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "node is not installed: skipped\n");
        return 77;
    }
    struct cookie_jar *jar;
    CHECK_INT(cookie_jar_new(secret, &jar), 0);
    const char *session = "{\"current\":\"01HZ8Y3V8XK3G2T6QF7R1E0M9A\"}";
    char value[4096], *plain = NULL;
    size_t len;
    /* Sealed by Node, opened by masd, read as MAS's session cookie. */
    CHECK_INT(node("seal", "session", session, value, sizeof(value)), 0);
    CHECK_INT(cookie_open(jar, "session", value, strlen(value), &plain, &len), 0);
    CHECK_STR(plain, session);
    struct cookie_session s;
    CHECK_INT(cookie_session_parse(plain, len, &s), 0);
    CHECK_STR(s.current, "01HZ8Y3V8XK3G2T6QF7R1E0M9A");
    free(plain);
    /* Under another name it is no cookie. */
    CHECK_INT(cookie_open(jar, "csrf", value, strlen(value), &plain, &len), -EBADMSG);
    /* Sealed by masd, opened by Node. */
    char *v;
    CHECK_INT(cookie_seal(jar, "csrf", "{\"expiration\":1,\"token\":[]}", 27, &v), 0);
    CHECK_INT(node("open", "csrf", v, value, sizeof(value)), 0);
    CHECK_STR(value, "{\"expiration\":1,\"token\":[]}");
    CHECK(node("open", "session", v, value, sizeof(value)) != 0);
    free(v);
    cookie_jar_free(jar);
    return check_report(__FILE__);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "node") == 0)
        return test_node();
    test_base64();
    test_seal_open();
    test_session_json();
    test_csrf_json();
    return check_report(__FILE__);
}
