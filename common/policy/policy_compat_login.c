/* MAS: policies/compat_login/compat_login.rego: banned requesters and the session limits of a
 * Matrix compat login, with MAS's texts. */
#include "policy_internal.h"

/* MAS: compat_login.rego's two too-many-sessions violations. The + 1: at 2 sessions with a limit
 * of 2, one must go to make room for the new one. */
static int check_session_limit(const struct policy *p, const struct policy_compat_login_input *in,
                               struct policy_result *r)
{
    bool interactive = in->login == POLICY_COMPAT_LOGIN_SSO;
    bool has = interactive ? p->has_soft_limit : p->has_hard_limit;
    int64_t limit = interactive ? p->soft_limit : p->hard_limit;
    if (!p->session_limit || !has || in->session_total < 0 || in->session_replaced)
        return 0;
    if (p->has_max_threshold && in->session_total > p->max_threshold)
        return 0; /* passes_session_threshold */
    if (limit > in->session_total)
        return 0;
    return policy_violation_add(r, "too-many-sessions", (uint64_t)(in->session_total - limit) + 1,
                                "user has too many active sessions (%s limit)",
                                interactive ? "soft" : "hard");
}

int policy_compat_login(const struct policy *p, const struct policy_compat_login_input *in,
                        struct policy_result *out)
{
    policy_result_clear(out);
    int e = policy_check_requester(p, &in->requester, out);
    if (e >= 0)
        e = check_session_limit(p, in, out);
    if (e < 0) {
        policy_result_clear(out);
        return e;
    }
    policy_result_finish(out);
    return 0;
}
