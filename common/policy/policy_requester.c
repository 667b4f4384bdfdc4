/* Banned requesters (MAS: policies/common/common.rego requester_banned, format_requester):
 * data.requester.banned_ips (IP addresses and CIDR ranges) and banned_user_agents (string
 * constraints), shared by every policy that has a requester.
 *
 * Regexes: Rego's regex.match is RE2; masd compiles each pattern once, at load, as a POSIX
 * extended regular expression (regcomp, REG_EXTENDED). The common ground (literals, . [] ^ $
 * | () * + ? {n,m}, and GNU's \w \s \b) means the same; RE2-only syntax that POSIX would read
 * differently or not at all -- \d \D \pX \Q..\E \A \z \x, (?flags) and (?:...) groups, lazy
 * quantifiers -- is refused at load rather than silently matching something else. Like
 * regex.match, a pattern matches anywhere in the user agent unless anchored. */
#include "policy_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why `re` uses RE2 syntax POSIX ERE does not share, or NULL. */
static const char *re2_only(const char *re)
{
    for (const char *p = re; *p; p++) {
        if (*p == '\\') {
            if (p[1] && strchr("dDpPQEzAx", p[1]))
                return "an RE2 escape";
            if (p[1])
                p++;
        } else if (*p == '[') { /* a bracket expression: its characters are literal */
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q++;
            if (!*q)
                return NULL; /* regcomp refuses it */
            p = q;
        } else if (*p == '(' && p[1] == '?') {
            return "an RE2 group or flag (?...)";
        } else if (strchr("*+?}", *p) && p[1] == '?') {
            return "a lazy quantifier";
        }
    }
    return NULL;
}

static int load_regexes(const json_t *c, struct policy_string_constraints *out, char **error)
{
    struct policy_strings pats = {0};
    const char *path = "policy.data.requester.banned_user_agents.regexes";
    int r = policy_strings_load(c, "regexes", path, &pats, error);
    if (r >= 0 && pats.n && !(out->regexes = calloc(pats.n, sizeof(*out->regexes))))
        r = -ENOMEM;
    for (size_t i = 0; r >= 0 && i < pats.n; i++) {
        const char *why = re2_only(pats.items[i]);
        if (why) {
            r = policy_fail(error, -EINVAL, "%s[%zu]: %s, which masd's POSIX extended regexes do not support",
                            path, i, why);
            break;
        }
        int e = regcomp(&out->regexes[i], pats.items[i], REG_EXTENDED | REG_NOSUB);
        if (e != 0) {
            char msg[128];
            regerror(e, NULL, msg, sizeof(msg));
            r = policy_fail(error, -EINVAL, "%s[%zu]: %s", path, i, msg);
            break;
        }
        out->n_regexes++;
    }
    policy_strings_free(&pats);
    return r;
}

int policy_requester_rules_load(const json_t *req, struct policy_requester_rules *rules, char **error)
{
    if (!req || json_is_null(req))
        return 0;
    if (!json_is_object(req))
        return policy_fail(error, -EINVAL, "policy.data.requester: expected an object");
    struct policy_strings ips = {0};
    const char *path = "policy.data.requester.banned_ips";
    int r = policy_strings_load(req, "banned_ips", path, &ips, error);
    if (r >= 0 && ips.n && !(rules->banned_ips = calloc(ips.n, sizeof(*rules->banned_ips))))
        r = -ENOMEM;
    /* common.rego normalize_cidr: a bare address is its own /32 or /128, as cidr_parse reads it */
    for (size_t i = 0; r >= 0 && i < ips.n; i++) {
        if (cidr_parse(masd_str_from(ips.items[i]), &rules->banned_ips[i]) < 0)
            r = policy_fail(error, -EINVAL, "%s[%zu]: not an IP address or CIDR range", path, i);
        else
            rules->n_banned_ips++;
    }
    policy_strings_free(&ips);
    if (r < 0)
        return r;
    const json_t *ua = json_object_get(req, "banned_user_agents");
    struct policy_string_constraints *c = &rules->banned_user_agents;
    if (!ua || json_is_null(ua))
        return 0;
    if (!json_is_object(ua))
        return policy_fail(error, -EINVAL, "policy.data.requester.banned_user_agents: expected an object");
    if ((r = load_regexes(ua, c, error)) < 0 ||
        (r = policy_strings_load(ua, "substrings", "policy.data.requester.banned_user_agents.substrings",
                                 &c->substrings, error)) < 0 ||
        (r = policy_strings_load(ua, "literals", "policy.data.requester.banned_user_agents.literals",
                                 &c->literals, error)) < 0 ||
        (r = policy_strings_load(ua, "suffixes", "policy.data.requester.banned_user_agents.suffixes",
                                 &c->suffixes, error)) < 0)
        return r;
    return policy_strings_load(ua, "prefixes", "policy.data.requester.banned_user_agents.prefixes",
                               &c->prefixes, error);
}

void policy_requester_rules_free(struct policy_requester_rules *rules)
{
    struct policy_string_constraints *c = &rules->banned_user_agents;
    for (size_t i = 0; i < c->n_regexes; i++)
        regfree(&c->regexes[i]);
    free(c->regexes);
    policy_strings_free(&c->substrings);
    policy_strings_free(&c->literals);
    policy_strings_free(&c->suffixes);
    policy_strings_free(&c->prefixes);
    free(rules->banned_ips);
    *rules = (struct policy_requester_rules){0};
}

/* MAS: common.rego matches_string_constraints */
static bool matches(const struct policy_string_constraints *c, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < c->n_regexes; i++)
        if (regexec(&c->regexes[i], s, 0, NULL, 0) == 0)
            return true;
    for (size_t i = 0; i < c->substrings.n; i++)
        if (strstr(s, c->substrings.items[i]))
            return true;
    if (policy_strings_contains(&c->literals, s))
        return true;
    for (size_t i = 0; i < c->suffixes.n; i++) {
        size_t n = strlen(c->suffixes.items[i]);
        if (n <= len && memcmp(s + len - n, c->suffixes.items[i], n) == 0)
            return true;
    }
    for (size_t i = 0; i < c->prefixes.n; i++)
        if (strncmp(s, c->prefixes.items[i], strlen(c->prefixes.items[i])) == 0)
            return true;
    return false;
}

bool policy_requester_banned(const struct policy_requester_rules *rules, const struct policy_requester *req)
{
    struct masd_addr a;
    /* an address that does not parse is never in a range (net.cidr_contains is undefined) */
    if (req->ip && addr_parse(masd_str_from(req->ip), &a) == 0 &&
        cidr_list_contains(rules->banned_ips, rules->n_banned_ips, &a))
        return true;
    return req->user_agent && matches(&rules->banned_user_agents, req->user_agent);
}

/* MAS: common.rego format_requester. Where one of the two is unknown MAS hands the policy a
 * null, which its sprintf cannot format (the evaluation fails: MAS: rust-opa-wasm sprintf);
 * masd prints what the Rego's other rules mean: the one that is known. */
int policy_check_requester(const struct policy *p, const struct policy_requester *req,
                           struct policy_result *r)
{
    if (!policy_requester_banned(&p->requester, req))
        return 0;
    const char *fmt = "Requester [%s%s%s] isn't allowed to do this action";
    if (req->ip && req->user_agent)
        return policy_violation_add(r, NULL, 0, fmt, req->ip, " / ", req->user_agent);
    return policy_violation_add(r, NULL, 0, fmt,
                                req->ip           ? req->ip
                                : req->user_agent ? req->user_agent
                                                  : "unknown",
                                "", "");
}
