/* Banned requesters (MAS: policies/common/common.rego requester_banned, format_requester):
 * data.requester.banned_ips (IP addresses and CIDR ranges) and banned_user_agents (string
 * constraints: policy_constraints.c), shared by every policy that has a requester. */
#include "policy_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    return policy_constraints_load(json_object_get(req, "banned_user_agents"),
                                   "policy.data.requester.banned_user_agents", &rules->banned_user_agents,
                                   error);
}

void policy_requester_rules_free(struct policy_requester_rules *rules)
{
    policy_constraints_free(&rules->banned_user_agents);
    free(rules->banned_ips);
    *rules = (struct policy_requester_rules){0};
}

bool policy_requester_banned(const struct policy_requester_rules *rules, const struct policy_requester *req)
{
    struct masd_addr a;
    /* an address that does not parse is never in a range (net.cidr_contains is undefined) */
    if (req->ip && addr_parse(masd_str_from(req->ip), &a) == 0 &&
        cidr_list_contains(rules->banned_ips, rules->n_banned_ips, &a))
        return true;
    return req->user_agent && policy_constraints_match(&rules->banned_user_agents, req->user_agent);
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
