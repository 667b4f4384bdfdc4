/* MAS: policies/authorization_grant/authorization_grant.rego: which scopes a grant may carry,
 * banned requesters, and the session limit. One violation per rule, with MAS's text. */
#include "policy_internal.h"
#include <errno.h>
#include <string.h>
#include <unistr.h>

#define UNSTABLE        "urn:matrix:org.matrix.msc2967.client:"
#define STABLE          "urn:matrix:client:"
#define UNSTABLE_DEVICE UNSTABLE "device:"
#define STABLE_DEVICE   STABLE "device:"
#define UNSTABLE_API    UNSTABLE "api:"
#define STABLE_API      STABLE "api:"

int policy_grant_type_parse(const char *s, enum policy_grant_type *out)
{
    if (strcmp(s, "authorization_code") == 0)
        *out = POLICY_GRANT_AUTHORIZATION_CODE;
    else if (strcmp(s, "urn:ietf:params:oauth:grant-type:device_code") == 0)
        *out = POLICY_GRANT_DEVICE_CODE;
    else if (strcmp(s, "client_credentials") == 0)
        *out = POLICY_GRANT_CLIENT_CREDENTIALS;
    else
        return -EINVAL;
    return 0;
}

struct token {
    const char *s;
    size_t len;
};

static bool starts(struct token t, const char *prefix)
{
    size_t n = strlen(prefix);
    return t.len >= n && memcmp(t.s, prefix, n) == 0;
}

static bool is(struct token t, const char *s)
{
    return t.len == strlen(s) && memcmp(t.s, s, t.len) == 0;
}

/* The device-scope regexes of the Rego, by hand:
 *   ^urn:matrix:org.matrix.msc2967.client:device:[A-Za-z0-9._~!$&'()*+,;=:@/-]{10,}$
 *   ^urn:matrix:client:device:[A-Za-z0-9._~!$&'()*+,;=:@/-]{10,}$
 * The dots of the first are unescaped, so there they match any character but a newline (one
 * UTF-8 character, as RE2 reads it; a byte that is not UTF-8 counts as one); masd matches them
 * the same way. Inside the bracket a dot is literal. */
static bool device_scope(struct token t, const char *pattern)
{
    const uint8_t *p = (const uint8_t *)t.s, *end = p + t.len;
    for (const char *q = pattern; *q; q++) {
        if (p == end)
            return false;
        if (*q == '.') {
            ucs4_t uc;
            if (*p == '\n')
                return false;
            p += u8_mbtouc(&uc, p, (size_t)(end - p));
        } else if (*p++ != (uint8_t)*q) {
            return false;
        }
    }
    if (end - p < 10)
        return false;
    for (; p < end; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              (*p && strchr("._~!$&'()*+,;=:@/-", *p))))
            return false;
    return true;
}

static bool interactive(enum policy_grant_type g)
{
    return g == POLICY_GRANT_AUTHORIZATION_CODE || g == POLICY_GRANT_DEVICE_CODE;
}

/* MAS: authorization_grant.rego can_request_admin */
static bool can_request_admin(const struct policy *p, const struct policy_user *u)
{
    return u && (u->can_request_admin || policy_strings_contains(&p->admin_users, u->username));
}

/* MAS: authorization_grant.rego allowed_scope */
static bool allowed_scope(const struct policy *p, const struct policy_grant_input *in, struct token t)
{
    bool inter = interactive(in->grant_type);
    if (is(t, "") || is(t, "openid") || is(t, "email") || is(t, "urn:mas:graphql:*"))
        return true;
    if (is(t, "urn:synapse:admin:*")) /* Synapse's admin API needs a user */
        return inter && can_request_admin(p, in->user);
    if (is(t, "urn:mas:admin"))
        return (inter && can_request_admin(p, in->user)) ||
               (in->grant_type == POLICY_GRANT_CLIENT_CREDENTIALS &&
                policy_strings_contains(&p->admin_clients, in->client_id));
    if (is(t, STABLE_API "*") || is(t, UNSTABLE_API "*"))
        return inter; /* the C-S API only with a user */
    return inter && (device_scope(t, "urn:matrix:org.matrix.msc2967.client:device:") ||
                     device_scope(t, STABLE_DEVICE));
}

/* What the set comprehensions of the Rego count over the scope's tokens. */
struct scope_facts {
    struct token unstable_device, stable_device;   /* the first of each */
    bool two_unstable_devices, two_stable_devices; /* a second, different one */
    bool uses_unstable, uses_stable, has_cs_api;
};

static void note_device(struct token t, struct token *first, bool *two)
{
    if (!first->s)
        *first = t;
    else if (first->len != t.len || memcmp(first->s, t.s, t.len) != 0)
        *two = true;
}

static int check_scopes(const struct policy *p, const struct policy_grant_input *in, struct policy_result *r)
{
    struct scope_facts f = {0};
    const char *s = in->scope ? in->scope : "";
    int e = 0;
    for (;;) { /* split(input.scope, " "): every space separates, "" is a token too */
        const char *sp = strchr(s, ' ');
        struct token t = {s, sp ? (size_t)(sp - s) : strlen(s)};
        if (!allowed_scope(p, in, t) &&
            (e = policy_violation_add(r, NULL, 0, "scope '%.*s' not allowed", (int)t.len, t.s)) < 0)
            return e;
        if (starts(t, UNSTABLE_DEVICE))
            note_device(t, &f.unstable_device, &f.two_unstable_devices);
        if (starts(t, STABLE_DEVICE))
            note_device(t, &f.stable_device, &f.two_stable_devices);
        f.uses_unstable |= starts(t, UNSTABLE);
        f.uses_stable |= starts(t, STABLE);
        f.has_cs_api |= starts(t, STABLE_API) || starts(t, UNSTABLE_API);
        if (!sp)
            break;
        s = sp + 1;
    }
    if (f.two_unstable_devices || f.two_stable_devices)
        e = policy_violation_add(r, NULL, 0, "only one device scope is allowed at a time");
    if (e >= 0 && (f.unstable_device.s || f.stable_device.s) && !f.has_cs_api)
        e = policy_violation_add(
            r, NULL, 0, "device scopes are only allowed when the client-server API scope is requested");
    if (e >= 0 && f.uses_stable && f.uses_unstable)
        e = policy_violation_add(r, NULL, 0, "request cannot mix unstable and stable scopes");
    return e;
}

/* MAS: authorization_grant.rego: the too-many-sessions violation. Interactive logins compare
 * with the soft limit (the user can remove sessions on the page that follows); accounts above
 * max_session_threshold are not limited. */
static int check_session_limit(const struct policy *p, const struct policy_grant_input *in,
                               struct policy_result *r)
{
    if (!p->session_limit || in->session_total < 0 || !p->has_soft_limit)
        return 0;
    if (p->has_max_threshold && in->session_total > p->max_threshold)
        return 0;
    if (p->soft_limit > in->session_total)
        return 0;
    /* + 1: at 2 sessions with a limit of 2, one must go to make room for the new one */
    uint64_t need = (uint64_t)in->session_total - (uint64_t)p->soft_limit + 1;
    return policy_violation_add(r, "too-many-sessions", need, "user has too many active sessions");
}

int policy_authorization_grant(const struct policy *p, const struct policy_grant_input *in,
                               struct policy_result *out)
{
    policy_result_clear(out);
    int e = check_scopes(p, in, out);
    if (e >= 0)
        e = policy_check_requester(p, &in->requester, out);
    if (e >= 0)
        e = check_session_limit(p, in, out);
    if (e < 0) {
        policy_result_clear(out);
        return e;
    }
    policy_result_finish(out);
    return 0;
}
