/* The policy section (MAS: crates/config/src/sections/policy.rs) and experimental.session_limit
 * (MAS: crates/config/src/sections/experimental.rs): what MAS's policy reads as `data`.
 *
 * MAS evaluates its policies in OPA (Rego compiled to WASM); masd has no WASM runtime and
 * applies MAS's default policy, written in C (common/policy/). So policy.data, the operator's
 * settings of that policy, is read here; policy.wasm_module and the *_entrypoint keys are
 * accepted only with MAS's default values: a custom module is a policy masd would not apply, and
 * silently serving without it could let through what its operator meant to refuse. */
#include "config_internal.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* MAS's default_policy_path() in its three builds (plain, docker, dist). */
static const char *const default_modules[] = {"./policies/policy.wasm",
                                              "/usr/local/share/mas-cli/policy.wasm", "./share/policy.wasm"};

static const struct {
    const char *key, *value;
} default_entrypoints[] = {
    {"client_registration_entrypoint", "client_registration/violation"},
    {"register_entrypoint", "register/violation"},
    {"authorization_grant_entrypoint", "authorization_grant/violation"},
    {"compat_login_entrypoint", "compat_login/violation"},
    {"password_entrypoint", "password/violation"},
    {"email_entrypoint", "email/violation"},
};

/* A key that would select another policy than MAS's default: a string equal to the default
 * passes, anything else is an error. */
static int check_default(struct config_loader *ld, const struct ynode *policy, const char *key,
                         const char *const *defaults, size_t n)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *v = ynode_get(policy, key, NULL);
    const char *s;
    if (!v)
        return 0;
    config_subpath(p, "policy", key);
    if (ynode_string(v, &s) < 0)
        return config_error(ld, v, -EINVAL, "%s: expected a string", p);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, defaults[i]) == 0)
            return 0;
    return config_error(ld, v, -EINVAL,
                        "%s: masd cannot run OPA policies; it applies only MAS's default policy, which "
                        "policy.data configures (remove this key)",
                        p);
}

static int parse_data(struct config_loader *ld, const struct ynode *policy)
{
    const struct ynode *data = policy ? ynode_get(policy, "data", NULL) : NULL;
    json_t *j = NULL;
    if (data && !ynode_is_null(data)) {
        /* MAS merges it into an object (MAS: crates/policy/src/lib.rs merge_data): anything but a
         * mapping fails to load there too */
        int r = config_expect_mapping(ld, data, "policy.data", true);
        if (r < 0)
            return r;
        const struct ynode *bad;
        if (!(j = config_yaml_to_json(data, true, &bad)) && !bad)
            return config_error(ld, NULL, -ENOMEM, "out of memory");
        if (!j && bad->kind != YNODE_SCALAR)
            return config_error(ld, bad, -EINVAL, "policy.data: expected a key name, not a %s",
                                bad->kind == YNODE_MAPPING ? "mapping" : "list");
        if (!j)
            return config_error(ld, bad, -EINVAL, "policy.data: not valid UTF-8 (or a NUL byte)");
    }
    ld->cfg->policy_data = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    json_decref(j);
    return ld->cfg->policy_data ? 0 : config_error(ld, NULL, -ENOMEM, "out of memory");
}

static int get_limit(struct config_loader *ld, const struct ynode *m, const char *key, bool required,
                     uint64_t *out)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *v = ynode_get(m, key, NULL);
    long long n;
    config_subpath(p, "experimental.session_limit", key);
    if (!v || (!required && ynode_is_null(v))) {
        if (required)
            return config_error(ld, m, -EINVAL, "experimental.session_limit: %s is required", key);
        return 0;
    }
    int r = config_get_int(ld, v, p, 1, LLONG_MAX, &n); /* NonZeroU64 */
    if (r >= 0)
        *out = (uint64_t)n;
    return r;
}

static int parse_session_limit(struct config_loader *ld, const struct ynode *experimental)
{
    const struct ynode *m = experimental ? ynode_get(experimental, "session_limit", NULL) : NULL;
    if (!m || ynode_is_null(m))
        return 0;
    int r = config_expect_mapping(ld, m, "experimental.session_limit", false);
    if (r < 0)
        return r;
    struct config_session_limit *sl = calloc(1, sizeof(*sl));
    if (!sl)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    ld->cfg->session_limit = sl;
    const struct ynode *v = ynode_get(m, "dangerous_hard_limit_eviction", NULL);
    if ((r = get_limit(ld, m, "soft_limit", true, &sl->soft_limit)) < 0 ||
        (r = get_limit(ld, m, "hard_limit", true, &sl->hard_limit)) < 0 ||
        (r = get_limit(ld, m, "max_session_threshold", false, &sl->max_session_threshold)) < 0 ||
        (v && (r = config_get_bool(ld, v, "experimental.session_limit.dangerous_hard_limit_eviction",
                                   &sl->dangerous_hard_limit_eviction)) < 0))
        return r;
    /* MAS: SessionLimitConfig::validate */
    const struct ynode *hard = ynode_get(m, "hard_limit", NULL);
    if (sl->hard_limit < sl->soft_limit)
        return config_error(
            ld, hard, -EINVAL,
            "experimental.session_limit.hard_limit: must be greater than or equal to soft_limit");
    if (sl->dangerous_hard_limit_eviction && sl->hard_limit < 2)
        return config_error(ld, hard, -EINVAL,
                            "experimental.session_limit.hard_limit: must be at least 2 when "
                            "dangerous_hard_limit_eviction is set");
    return 0;
}

int config_policy_parse(struct config_loader *ld, const struct ynode *policy,
                        const struct ynode *experimental)
{
    int r;
    if (policy && (r = config_expect_mapping(ld, policy, "policy", true)) < 0)
        return r;
    if (policy && !ynode_is_null(policy)) {
        if ((r = check_default(ld, policy, "wasm_module", default_modules,
                               sizeof(default_modules) / sizeof(default_modules[0]))) < 0)
            return r;
        for (size_t i = 0; i < sizeof(default_entrypoints) / sizeof(default_entrypoints[0]); i++)
            if ((r = check_default(ld, policy, default_entrypoints[i].key, &default_entrypoints[i].value,
                                   1)) < 0)
                return r;
    }
    if ((r = parse_data(ld, policy)) < 0)
        return r;
    if (experimental && (r = config_expect_mapping(ld, experimental, "experimental", true)) < 0)
        return r;
    const struct ynode *v = experimental ? ynode_get(experimental, "plan_management_iframe_uri", NULL) : NULL;
    if ((r = config_get_string_or_null(ld, v, "experimental.plan_management_iframe_uri",
                                       &ld->cfg->plan_management_iframe_uri)) < 0)
        return r;
    return parse_session_limit(ld, experimental);
}

void config_policy_free(struct config *cfg)
{
    free(cfg->policy_data);
    free(cfg->session_limit);
}
