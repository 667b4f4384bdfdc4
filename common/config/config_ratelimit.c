/* The rate_limiting section (MAS: crates/config/src/sections/rate_limiting.rs): every bucket is
 * {burst, per_second}; a bucket left out keeps MAS's default, as do its left-out fields.
 * ipv6_prefix_length is masd's own: an IPv6 client is one /64 by default (a single host is
 * usually given a whole /64, so its full address is free for it to choose). */
#include "config_internal.h"
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* MAS's defaults (MAS: crates/config/src/sections/rate_limiting.rs). */
static const struct config_rate_limiting defaults = {
    .login_per_ip = {3, 3.0 / 60},
    .login_per_account = {1800, 1800.0 / 3600},
    .registration = {3, 3.0 / 3600},
    .account_recovery_per_ip = {3, 3.0 / 3600},
    .account_recovery_per_address = {3, 1.0 / 3600},
    .email_per_ip = {5, 1.0 / 60},
    .email_per_address = {3, 1.0 / 3600},
    .email_emails_per_session = {2, 1.0 / 300},
    .email_attempt_per_session = {10, 1.0 / 60},
    .ipv6_prefix_length = 64,
};

/* Shorter than /32 would put whole providers in one bucket. */
#define IPV6_PREFIX_MIN 32

/* per_second: a YAML number, > 0 and <= 1e9 as MAS requires. */
static int get_rate(struct config_loader *ld, const struct ynode *n, const char *path, double *out)
{
    const char *s;
    char *end;
    if (ynode_string(n, &s) < 0 || !n->plain)
        return config_error(ld, n, -EINVAL, "%s: expected a number", path);
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return config_error(ld, n, -EINVAL, "%s: expected a number", path);
    if (!(v > 0) || v > 1e9)
        return config_error(ld, n, -EINVAL, "%s: must be greater than 0 and at most 1000000000", path);
    *out = v;
    return 0;
}

static int parse_bucket(struct config_loader *ld, const struct ynode *parent, const char *path,
                        const char *key, struct config_rate_limit *out)
{
    char p[CONFIG_PATH_MAX], q[CONFIG_PATH_MAX];
    const struct ynode *b = ynode_get(parent, key, NULL);
    config_subpath(p, path, key);
    if (!b || ynode_is_null(b))
        return 0;
    int r = config_expect_mapping(ld, b, p, true);
    const struct ynode *burst = ynode_get(b, "burst", NULL), *rate = ynode_get(b, "per_second", NULL);
    long long v;
    if (r >= 0 && burst &&
        (r = config_get_int(ld, burst, config_subpath(q, p, "burst"), 1, UINT32_MAX, &v)) >= 0)
        out->burst = (unsigned)v;
    if (r >= 0 && rate)
        r = get_rate(ld, rate, config_subpath(q, p, "per_second"), &out->per_second);
    return r;
}

static int parse_group(struct config_loader *ld, const struct ynode *rl, const char *name)
{
    const struct ynode *g = ynode_get(rl, name, NULL);
    char p[CONFIG_PATH_MAX];
    config_subpath(p, "rate_limiting", name);
    if (!g || ynode_is_null(g))
        return 0;
    return config_expect_mapping(ld, g, p, true);
}

int config_rate_limiting_parse(struct config_loader *ld, const struct ynode *rl)
{
    struct config_rate_limiting *out = &ld->cfg->rate_limiting;
    *out = defaults;
    if (!rl || ynode_is_null(rl))
        return 0;
    int r = config_expect_mapping(ld, rl, "rate_limiting", true);
    const struct ynode *login = ynode_get(rl, "login", NULL), *rec = ynode_get(rl, "account_recovery", NULL),
                       *mail = ynode_get(rl, "email_authentication", NULL);
    const char *L = "rate_limiting.login", *R = "rate_limiting.account_recovery",
               *E = "rate_limiting.email_authentication";
    if (r >= 0)
        r = parse_group(ld, rl, "login");
    if (r >= 0)
        r = parse_group(ld, rl, "account_recovery");
    if (r >= 0)
        r = parse_group(ld, rl, "email_authentication");
    if (r >= 0)
        r = parse_bucket(ld, login, L, "per_ip", &out->login_per_ip);
    if (r >= 0)
        r = parse_bucket(ld, login, L, "per_account", &out->login_per_account);
    if (r >= 0)
        r = parse_bucket(ld, rl, "rate_limiting", "registration", &out->registration);
    if (r >= 0)
        r = parse_bucket(ld, rec, R, "per_ip", &out->account_recovery_per_ip);
    if (r >= 0)
        r = parse_bucket(ld, rec, R, "per_address", &out->account_recovery_per_address);
    if (r >= 0)
        r = parse_bucket(ld, mail, E, "per_ip", &out->email_per_ip);
    if (r >= 0)
        r = parse_bucket(ld, mail, E, "per_address", &out->email_per_address);
    if (r >= 0)
        r = parse_bucket(ld, mail, E, "emails_per_session", &out->email_emails_per_session);
    if (r >= 0)
        r = parse_bucket(ld, mail, E, "attempt_per_session", &out->email_attempt_per_session);
    const struct ynode *v6 = ynode_get(rl, "ipv6_prefix_length", NULL);
    long long v;
    if (r >= 0 && v6 && !ynode_is_null(v6) &&
        (r = config_get_int(ld, v6, "rate_limiting.ipv6_prefix_length", IPV6_PREFIX_MIN, 128, &v)) >= 0)
        out->ipv6_prefix_length = (unsigned)v;
    return r;
}
