/* masd-human's post-auth action (services/human/action.c) and authorization response URLs
 * (services/human/callback.c). */
#include "action.h"
#include "callback.h"
#include "check.h"
#include <errno.h>
#include <stdlib.h>

#define GRANT "01J0000000000000000000000A"

static struct action parse(const char *q)
{
    struct action a;
    action_parse(masd_str_from(q), &a);
    return a;
}

static const char *target(const char *q, const char *root)
{
    static char out[1024];
    struct action a = parse(q);
    CHECK(action_target(&a, root, "/", out, sizeof(out)) >= 0);
    return out;
}

static void test_action(void)
{
    struct action a = parse("kind=continue_authorization_grant&id=" GRANT);
    CHECK_INT(a.kind, ACTION_CONTINUE_AUTHORIZATION_GRANT);
    CHECK_STR(a.id, GRANT);
    CHECK_STR(target("kind=continue_authorization_grant&id=" GRANT, ""), "/consent/" GRANT);
    CHECK_STR(target("kind=continue_authorization_grant&id=" GRANT, "/auth"), "/auth/consent/" GRANT);
    CHECK_STR(target("kind=continue_device_code_grant&id=" GRANT, ""), "/device/" GRANT);
    CHECK_STR(target("kind=continue_compat_sso_login&id=" GRANT, ""), "/complete-compat-sso/" GRANT);
    CHECK_STR(target("kind=link_upstream&id=" GRANT, ""), "/upstream/link/" GRANT);
    CHECK_STR(target("kind=change_password", ""), "/account/password/change");
    CHECK_STR(target("kind=manage_account", ""), "/account/");
    CHECK_STR(target("kind=manage_account&action=org.matrix.device_view&device_id=AB%20C", ""),
              "/account/?action=org.matrix.device_view&device_id=AB%20C");
    /* lenient: anything not understood is no action, and the fallback */
    CHECK_INT(parse("").kind, ACTION_NONE);
    CHECK_INT(parse("kind=nope&id=" GRANT).kind, ACTION_NONE);
    CHECK_INT(parse("kind=continue_authorization_grant").kind, ACTION_NONE);
    CHECK_INT(parse("kind=continue_authorization_grant&id=../../evil").kind, ACTION_NONE);
    CHECK_INT(parse("kind=continue_authorization_grant&id=" GRANT "x").kind, ACTION_NONE);
    CHECK_INT(parse("kind=continue_authorization_grant&id=" GRANT "&id=" GRANT).kind, ACTION_NONE);
    CHECK_INT(parse("kind=continue_authorization_grant&kind=change_password&id=" GRANT).kind, ACTION_NONE);
    CHECK_INT(parse("kind=%zz").kind, ACTION_NONE);
    CHECK_STR(target("kind=nope", ""), "/");
    /* a target never leaves the origin: an id is a ULID, the rest is encoded into the query */
    CHECK_STR(target("kind=manage_account&action=%2F%2Fevil.example&device_id=x%23y", ""),
              "/account/?action=%2F%2Fevil.example&device_id=x%23y");
    CHECK_INT(parse("kind=manage_account&action=a%0Ab").account_action[0], 0); /* control characters */

    char q[256];
    a = parse("kind=continue_authorization_grant&id=" GRANT);
    CHECK_INT(action_query(&a, q, sizeof(q)), (int)strlen("kind=continue_authorization_grant&id=" GRANT));
    CHECK_STR(q, "kind=continue_authorization_grant&id=" GRANT);
    a = (struct action){.kind = ACTION_NONE};
    CHECK_INT(action_query(&a, q, sizeof(q)), 0);
    CHECK_STR(q, "");
    a = parse("kind=continue_authorization_grant&id=" GRANT);
    CHECK_INT(action_query(&a, q, 10), -ENOSPC);
}

static const char *url(const char *redirect, enum authorize_response_mode mode, const char *state,
                       const char *code)
{
    static char out[1024];
    struct callback_param p[] = {{"state", state}, {"code", code}};
    char *u = callback_url(redirect, mode, p, 2);
    snprintf(out, sizeof(out), "%s", u ? u : "(null)");
    free(u);
    return out;
}

static void test_callback(void)
{
    CHECK_STR(url("https://app.example/cb", AUTHZ_MODE_QUERY, "s1", "c"),
              "https://app.example/cb?state=s1&code=c#");
    CHECK_STR(url("https://app.example/cb?x=1", AUTHZ_MODE_QUERY, "s", "c"),
              "https://app.example/cb?x=1&state=s&code=c#");
    CHECK_STR(url("https://app.example/cb?", AUTHZ_MODE_QUERY, NULL, "c"), "https://app.example/cb?code=c#");
    CHECK_STR(url("https://app.example/cb", AUTHZ_MODE_FRAGMENT, "a b&c=d#", "c"),
              "https://app.example/cb#state=a%20b%26c%3Dd%23&code=c");
    CHECK_STR(url("http://127.0.0.1:4242/cb", AUTHZ_MODE_QUERY, "é", "c"),
              "http://127.0.0.1:4242/cb?state=%C3%A9&code=c#");

    char src[256];
    CHECK(callback_csp_source("https://app.example:8443/cb?x#y", src, sizeof(src)));
    CHECK_STR(src, "https://app.example:8443");
    CHECK(callback_csp_source("http://[::1]:9000/cb", src, sizeof(src)));
    CHECK_STR(src, "http://[::1]:9000");
    CHECK(callback_csp_source("com.example.app:/callback", src, sizeof(src)));
    CHECK_STR(src, "com.example.app:");
    /* nothing that could end the source or add a directive */
    CHECK(!callback_csp_source("https://a.example;script-src *", src, sizeof(src)));
    CHECK(!callback_csp_source("https://user@a.example/", src, sizeof(src)));
    CHECK(!callback_csp_source("https://a.example, 'unsafe-inline'/", src, sizeof(src)));
    CHECK(!callback_csp_source("ja vascript:x", src, sizeof(src)));
    CHECK(!callback_csp_source("https:///x", src, sizeof(src)));
    CHECK(!callback_csp_source("nocolon", src, sizeof(src)));
    CHECK(!callback_csp_source("https://a.example/", src, 8));

    CHECK_INT(callback_mode("query"), AUTHZ_MODE_QUERY);
    CHECK_INT(callback_mode("fragment"), AUTHZ_MODE_FRAGMENT);
    CHECK_INT(callback_mode("form_post"), AUTHZ_MODE_FORM_POST);
}

/* The loginToken of a compat SSO login added to the stored redirectUrl: into the query, before
 * the fragment, the URL's own parameters and fragment kept. */
static const char *sso(const char *redirect)
{
    static char out[1024];
    struct callback_param p = {"loginToken", "AbC123xyz"};
    char *u = callback_url(redirect, AUTHZ_MODE_QUERY, &p, 1);
    snprintf(out, sizeof(out), "%s", u ? u : "(null)");
    free(u);
    return out;
}

static void test_sso_redirect(void)
{
    CHECK_STR(sso("https://app.example/"), "https://app.example/?loginToken=AbC123xyz#");
    CHECK_STR(sso("https://app.example/cb?a=b"), "https://app.example/cb?a=b&loginToken=AbC123xyz#");
    CHECK_STR(sso("https://app.example/cb?a=b#/room/!x:y"),
              "https://app.example/cb?a=b&loginToken=AbC123xyz#/room/!x:y");
    CHECK_STR(sso("https://app.example/#frag"), "https://app.example/?loginToken=AbC123xyz#frag");
    CHECK_STR(sso("https://app.example/#"), "https://app.example/?loginToken=AbC123xyz#");
    CHECK_STR(sso("https://app.example/?"), "https://app.example/?loginToken=AbC123xyz#");
    CHECK_STR(sso("https://app.example/?a=1&"), "https://app.example/?a=1&loginToken=AbC123xyz#");
    CHECK_STR(sso("https://app.example/?#x"), "https://app.example/?loginToken=AbC123xyz#x");
    CHECK_STR(sso("https://app.example/#?q=in-fragment"),
              "https://app.example/?loginToken=AbC123xyz#?q=in-fragment");
    CHECK_STR(sso("https://app.example/p#a#b"), "https://app.example/p?loginToken=AbC123xyz#a#b");
    CHECK_STR(sso("io.element.app:/callback"), "io.element.app:/callback?loginToken=AbC123xyz#");
    CHECK_STR(sso("myapp:"), "myapp:?loginToken=AbC123xyz#");
    CHECK_STR(sso("myapp://?x=%20y#z"), "myapp://?x=%20y&loginToken=AbC123xyz#z");

    char name[64];
    CHECK_INT(callback_display_name("https://app.example.com:8443/cb?x=1#y", name, sizeof(name)), 15);
    CHECK_STR(name, "app.example.com");
    callback_display_name("https://app.example.com", name, sizeof(name));
    CHECK_STR(name, "app.example.com");
    callback_display_name("http://app.example.com/cb?x=1", name, sizeof(name));
    CHECK_STR(name, "http://app.example.com/cb"); /* http: shown whole */
    callback_display_name("https://192.0.2.1:8443/cb#f", name, sizeof(name));
    CHECK_STR(name, "https://192.0.2.1:8443/cb");
    callback_display_name("https://[::1]/cb", name, sizeof(name));
    CHECK_STR(name, "https://[::1]/cb");
    callback_display_name("io.element.app:/callback?loginToken=x", name, sizeof(name));
    CHECK_STR(name, "io.element.app:/callback");
    CHECK_INT(callback_display_name("https://a-very-long-host-name.example.com/", name, 8), 33);
    CHECK_STR(name, "a-very-");
}

int main(void)
{
    test_action();
    test_callback();
    test_sso_redirect();
    return check_report(__FILE__);
}
