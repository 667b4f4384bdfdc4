/* The query of GET /authorize (services/human/authorize_parse.h): what is read, what is refused
 * with the HTML page, redirect URI resolution, and the errors sent to the client in MAS's order. */
#include "authorize_parse.h"
#include "check.h"
#include <errno.h>

#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" /* RFC 7636 Appendix B */

static int parse(const char *q, struct authorize_request *req, const char **why)
{
    return authorize_parse(masd_str_from(q), req, why);
}

static void test_read(void)
{
    struct authorize_request req;
    const char *why;
    CHECK_INT(parse("response_type=code&client_id=01ABC&redirect_uri=http%3A%2F%2F127.0.0.1%3A8910%2Fcb"
                    "&scope=urn%3Amatrix%3Aorg.matrix.msc2967.client%3Aapi%3A*+openid+openid&state=xyz"
                    "&nonce=n-0S6&code_challenge=" CHALLENGE "&code_challenge_method=S256&login_hint=alice",
                    &req, &why),
              0);
    CHECK_STR(req.client_id, "01ABC");
    CHECK_STR(req.redirect_uri, "http://127.0.0.1:8910/cb");
    CHECK_STR(req.scope, "openid urn:matrix:org.matrix.msc2967.client:api:*"); /* sorted, no duplicate */
    CHECK_STR(req.state, "xyz");
    CHECK_STR(req.nonce, "n-0S6");
    CHECK_STR(req.login_hint, "alice");
    CHECK(req.code && !req.id_token && !req.token);
    CHECK_INT(req.pkce, AUTHZ_PKCE_S256);
    CHECK_INT(req.response_mode, AUTHZ_MODE_DEFAULT);
    CHECK_INT(authorize_response_mode(&req), AUTHZ_MODE_QUERY);
    CHECK_INT(req.max_age, -1);
    authorize_request_clear(&req);

    /* A challenge without a method is plain (RFC 7636 §4.3); prompt and max_age are read. */
    CHECK_INT(parse("response_type=code&client_id=c&scope=openid&code_challenge=" CHALLENGE
                    "&prompt=login+consent&max_age=3600&response_mode=form_post",
                    &req, &why),
              0);
    CHECK_INT(req.pkce, AUTHZ_PKCE_PLAIN);
    CHECK(req.prompt_login && req.prompt_consent && !req.prompt_none);
    CHECK_INT(req.max_age, 3600);
    CHECK_INT(authorize_response_mode(&req), AUTHZ_MODE_FORM_POST);
    authorize_request_clear(&req);

    /* An unknown method, a malformed challenge, a method alone: the client hears about it. */
    static const char *const bad_pkce[] = {
        "code_challenge=" CHALLENGE "&code_challenge_method=S512",
        "code_challenge=" CHALLENGE "&code_challenge_method=s256",
        "code_challenge=short&code_challenge_method=S256",
        "code_challenge=" CHALLENGE "%2B&code_challenge_method=plain",
        "code_challenge_method=S256",
    };
    for (size_t i = 0; i < sizeof(bad_pkce) / sizeof(bad_pkce[0]); i++) {
        char q[512];
        snprintf(q, sizeof(q), "response_type=code&client_id=c&scope=openid&%s", bad_pkce[i]);
        CHECK_INT(parse(q, &req, &why), 0);
        CHECK_INT(req.pkce, AUTHZ_PKCE_INVALID);
        const char *desc, *e = authorize_check(&req, true, false, &desc);
        CHECK_STR(e, "invalid_request");
        authorize_request_clear(&req);
    }
}

static void test_refused(void)
{
    static const char *const bad[] = {
        "",
        "client_id=c&scope=openid",                                /* no response_type */
        "response_type=code&scope=openid",                         /* no client_id */
        "response_type=code&client_id=c",                          /* no scope */
        "response_type=code&client_id=c&client_id=d&scope=openid", /* twice */
        "response_type=code&client_id=c&scope=openid&state=a&state=b",
        "response_type=code&client_id=c&scope=openid&state=a&st%61te=b", /* twice, once encoded */
        "response_type=code&client_id=c&scope=openid++profile",          /* empty token */
        "response_type=code&client_id=c&scope=+openid",
        "response_type=code&client_id=c&scope=openid+",
        "response_type=code&client_id=c&scope=open%22id", /* not NQCHAR */
        "response_type=code&client_id=c&scope=open%5Cid",
        "response_type=code&client_id=c&scope=caf%C3%A9",
        "response_type=cod&client_id=c&scope=openid",
        "response_type=code+none&client_id=c&scope=openid",
        "response_type=&client_id=c&scope=openid",
        "response_type=code&client_id=c&scope=openid&response_mode=web_message",
        "response_type=code&client_id=c&scope=openid&response_mode=query+fragment",
        "response_type=code&client_id=c&scope=openid&prompt=sometimes",
        "response_type=code&client_id=c&scope=openid&max_age=-1",
        "response_type=code&client_id=c&scope=openid&max_age=1h",
        "response_type=code&client_id=c&scope=openid&max_age=",
        "response_type=code&client_id=c%ff&scope=openid", /* not UTF-8 */
        "response_type=code&client_id=c%zz&scope=openid", /* bad escape */
        "response_type=code&client_id=c%00&scope=openid", /* NUL */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct authorize_request req;
        const char *why = NULL;
        int r = parse(bad[i], &req, &why);
        if (r != -EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_INT(r, -EINVAL);
        CHECK(why != NULL);
        CHECK(req.client_id == NULL && req.scope == NULL); /* cleared */
    }
    /* Too long, as a whole and in one parameter. */
    static char q[AUTHZ_QUERY_MAX + 64];
    snprintf(q, sizeof(q), "response_type=code&client_id=c&scope=openid&state=");
    size_t n = strlen(q);
    memset(q + n, 'a', AUTHZ_PARAM_MAX + 1);
    q[n + AUTHZ_PARAM_MAX + 1] = '\0';
    struct authorize_request req;
    const char *why;
    CHECK_INT(parse(q, &req, &why), -EINVAL);
    memset(q + n, 'a', sizeof(q) - n - 1);
    q[sizeof(q) - 1] = '\0';
    CHECK_INT(parse(q, &req, &why), -EINVAL);
}

static void test_redirect(void)
{
    const char *const one[] = {"https://app.example.com/cb"};
    const char *const several[] = {"https://app.example.com/cb", "http://127.0.0.1/callback",
                                   "http://localhost/cb", "http://[::1]/cb", "com.example.app:/cb"};
    CHECK_INT(authorize_resolve_redirect(NULL, one, 1), 0);
    CHECK_INT(authorize_resolve_redirect(NULL, several, 5), -1);
    CHECK_INT(authorize_resolve_redirect("https://app.example.com/cb", several, 5), 0);
    CHECK_INT(authorize_resolve_redirect("com.example.app:/cb", several, 5), 4);
    /* Loopback: any port against a registration without one (RFC 8252 §7.3). */
    CHECK_INT(authorize_resolve_redirect("http://127.0.0.1:51004/callback", several, 5), 1);
    CHECK_INT(authorize_resolve_redirect("http://localhost:8080/cb", several, 5), 2);
    CHECK_INT(authorize_resolve_redirect("http://LOCALHOST:8080/cb", several, 5), 2);
    CHECK_INT(authorize_resolve_redirect("http://[::1]:9/cb", several, 5), 3);
    /* Nothing else is lenient. */
    CHECK_INT(authorize_resolve_redirect("https://app.example.com/cb/", several, 5), -1);
    CHECK_INT(authorize_resolve_redirect("https://app.example.com:444/cb", several, 5), -1);
    CHECK_INT(authorize_resolve_redirect("https://app.example.com/cb#x", several, 5), -1);
    CHECK_INT(authorize_resolve_redirect("https://127.0.0.1:8/callback", several, 5), -1); /* scheme */
    CHECK_INT(authorize_resolve_redirect("http://127.0.0.1:8/callback2", several, 5), -1); /* path */
    CHECK_INT(authorize_resolve_redirect("http://127.0.0.1:8x/callback", several, 5), -1);
    CHECK_INT(authorize_resolve_redirect("http://evil@127.0.0.1:8/callback", several, 5), -1);
    CHECK_INT(authorize_resolve_redirect("http://127.0.0.2:8/callback", several, 5), -1);
    CHECK_INT(authorize_resolve_redirect("http://127.0.0.1.evil.com:8/callback", several, 5), -1);
    const char *const with_port[] = {"http://127.0.0.1:8080/cb"};
    CHECK_INT(authorize_resolve_redirect("http://127.0.0.1:9090/cb", with_port, 1), -1);
    CHECK_INT(authorize_resolve_redirect("http://127.0.0.1:8080/cb", with_port, 1), 0);
}

static const char *check_of(const char *q, bool code_grant, bool implicit)
{
    static char out[64];
    struct authorize_request req;
    const char *why, *desc = NULL;
    if (parse(q, &req, &why) < 0)
        return "(unreadable)";
    const char *e = authorize_check(&req, code_grant, implicit, &desc);
    snprintf(out, sizeof(out), "%s", e ? e : "ok");
    if (e && !desc)
        snprintf(out, sizeof(out), "no description");
    authorize_request_clear(&req);
    return out;
}

static void test_check_order(void)
{
#define Q "client_id=c&scope=openid&"
    CHECK_STR(check_of(Q "response_type=code", true, false), "ok");
    CHECK_STR(check_of(Q "response_type=code&request=x&request_uri=y", true, false), "request_not_supported");
    CHECK_STR(check_of(Q "response_type=code&request_uri=y&registration=z", true, false),
              "request_uri_not_supported");
    CHECK_STR(check_of(Q "response_type=code+token&registration=z", true, true), "unsupported_response_type");
    CHECK_STR(check_of(Q "response_type=id_token&prompt=none", true, false), "unauthorized_client");
    CHECK_STR(check_of(Q "response_type=code&registration=z&prompt=none", true, false),
              "registration_not_supported");
    CHECK_STR(check_of(Q "response_type=code&prompt=none", false, false), "login_required");
    CHECK_STR(check_of(Q "response_type=code", false, false), "unauthorized_client");
    CHECK_STR(check_of(Q "response_type=id_token&code_challenge=" CHALLENGE, true, true), "invalid_request");
    CHECK_STR(check_of(Q "response_type=code+id_token", true, true), "ok");
    CHECK_STR(check_of(Q "response_type=none", true, true), "unsupported_response_type");
    /* query cannot carry an ID token: the HTML page, not a redirect */
    struct authorize_request req;
    const char *why;
    CHECK_INT(parse(Q "response_type=code+id_token&response_mode=query", &req, &why), 0);
    CHECK(!authorize_response_mode_allowed(&req));
    CHECK_INT(authorize_response_mode(&req), AUTHZ_MODE_QUERY);
    authorize_request_clear(&req);
    CHECK_INT(parse(Q "response_type=code+id_token", &req, &why), 0);
    CHECK(authorize_response_mode_allowed(&req));
    CHECK_INT(authorize_response_mode(&req), AUTHZ_MODE_FRAGMENT);
    authorize_request_clear(&req);
#undef Q
}

int main(void)
{
    test_read();
    test_refused();
    test_redirect();
    test_check_order();
    return check_report(__FILE__);
}
