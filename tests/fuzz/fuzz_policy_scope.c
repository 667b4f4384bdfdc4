/* The authorization_grant policy (common/policy/policy.h) on arbitrary scope strings, for each
 * grant type, with and without a user, against one fixed policy.data: no crash or leak, and the
 * result is a set bounded by the input: each "scope '...' not allowed" names one token of the
 * scope, at most one violation per distinct token plus one per other rule, no repeats. */
#include "config.h"
#include "fuzz_input.h"
#include "policy.h"
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] = "matrix:\n  homeserver: example.com\n"
                           "experimental:\n  session_limit: {soft_limit: 2, hard_limit: 4}\n"
                           "policy:\n  data:\n"
                           "    admin_users: [alice]\n"
                           "    admin_clients: [01J0000000000000000000ADMN]\n"
                           "    requester:\n"
                           "      banned_ips: [203.0.113.0/24, '2001:db8::/32']\n"
                           "      banned_user_agents: {regexes: ['^curl/[0-9]+'], substrings: [bot]}\n";

static struct policy *the_policy(void)
{
    static struct policy *p;
    if (!p) {
        struct config *cfg = NULL;
        char *err = NULL;
        fuzz_require(config_load_buffer("fuzz.yaml", yaml, sizeof(yaml) - 1, &cfg, &err) == 0);
        fuzz_require(policy_new(cfg, &p, &err) == 0);
        config_free(cfg);
    }
    return p;
}

/* Whether tok (of len bytes) is one of the space-separated tokens of scope. */
static bool is_token(const char *scope, const char *tok, size_t len)
{
    for (const char *s = scope;;) {
        const char *sp = strchr(s, ' ');
        size_t n = sp ? (size_t)(sp - s) : strlen(s);
        if (n == len && memcmp(s, tok, len) == 0)
            return true;
        if (!sp)
            return false;
        s = sp + 1;
    }
}

static void check(const char *scope, enum policy_grant_type g, const struct policy_user *u, int64_t total)
{
    struct policy_grant_input in = {.grant_type = g,
                                    .scope = scope,
                                    .client_id = "01J0000000000000000000ADMN",
                                    .user = u,
                                    .requester = {"203.0.113.7", "curl/8.0"},
                                    .session_total = total};
    struct policy_result r = {0};
    fuzz_require(policy_authorization_grant(the_policy(), &in, &r) == 0);
    size_t tokens = 1;
    for (const char *s = scope; *s; s++)
        tokens += *s == ' ';
    /* the scope rules, the device/API/mix rules, the requester, the session limit */
    fuzz_require(r.n <= tokens + 5);
    for (size_t i = 0; i < r.n; i++) {
        const struct policy_violation *v = &r.violations[i];
        fuzz_require(v->msg != NULL);
        if (i > 0)
            fuzz_require(strcmp(r.violations[i - 1].msg, v->msg) != 0 || r.violations[i - 1].code != v->code);
        if (v->code) {
            fuzz_require(strcmp(v->code, "too-many-sessions") == 0 && total >= 2 &&
                         v->need_to_remove == (uint64_t)total - 1);
            continue;
        }
        fuzz_require(v->need_to_remove == 0);
        size_t len = strlen(v->msg);
        if (strncmp(v->msg, "scope '", 7) == 0 && len >= 20 &&
            strcmp(v->msg + len - 13, "' not allowed") == 0)
            fuzz_require(is_token(scope, v->msg + 7, len - 20));
    }
    bool banned = false; /* the requester is banned by its IP: always reported */
    for (size_t i = 0; i < r.n; i++)
        banned |= strcmp(r.violations[i].msg,
                         "Requester [203.0.113.7 / curl/8.0] isn't allowed to do this action") == 0;
    fuzz_require(banned);
    policy_result_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *scope = fuzz_copy((masd_str){(const char *)data, size});
    scope = realloc(scope, size + 1);
    fuzz_require(scope != NULL);
    scope[size] = '\0'; /* a C string: it ends at the first NUL */
    static const struct policy_user alice = {"alice", false}, bob = {"bob", true}, carol = {"carol", false};
    for (int g = POLICY_GRANT_AUTHORIZATION_CODE; g <= POLICY_GRANT_CLIENT_CREDENTIALS; g++) {
        check(scope, g, NULL, -1);
        check(scope, g, &alice, 1);
        check(scope, g, &bob, 2);
        check(scope, g, &carol, (int64_t)size);
    }
    free(scope);
    return 0;
}
