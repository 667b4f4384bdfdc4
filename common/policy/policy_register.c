/* The register and email policies (MAS: policies/register/register.rego,
 * policies/email/email.rego, policies/schema/{register,email}_input.json), over
 * data.registration.{allowed,banned}_usernames, data.emails.{allowed,banned}_addresses (string
 * constraints), data.allowed_domains and data.banned_domains (globs).
 *
 * Domains are OPA globs with "." as the delimiter (glob.match(pattern, ["."], domain)): `*`
 * matches within one label, `**` across labels, `?` one character of a label, `\` quotes the
 * next character. Character classes and alternatives ([...], {a,b}) are refused at load rather
 * than read differently from OPA. */
#include "policy_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why a domain glob uses syntax masd does not read, or NULL. */
static const char *glob_unsupported(const char *g)
{
    if (strlen(g) > POLICY_GLOB_MAX)
        return "more than 255 characters";
    for (const char *p = g; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '[' || *p == '{')
            return "a character class or alternatives ([...], {a,b})";
    }
    return NULL;
}

static int load_globs(const json_t *data, const char *key, struct policy_strings *out, bool *present,
                      char **error)
{
    char path[64];
    snprintf(path, sizeof(path), "policy.data.%s", key);
    const json_t *v = json_object_get(data, key);
    *present = v && !json_is_null(v) && !json_is_false(v);
    int r = policy_strings_load(data, key, path, out, error);
    for (size_t i = 0; r >= 0 && i < out->n; i++) {
        const char *why = glob_unsupported(out->items[i]);
        if (why)
            r = policy_fail(error, -EINVAL, "%s[%zu]: %s, which masd's domain globs do not support", path, i,
                            why);
    }
    return r;
}

int policy_register_load(struct policy *p, char **error)
{
    const json_t *d = json_is_object(p->data) ? p->data : NULL;
    if (!d)
        return 0;
    const json_t *reg = json_object_get(d, "registration"), *emails = json_object_get(d, "emails");
    if (reg && !json_is_null(reg) && !json_is_object(reg))
        return policy_fail(error, -EINVAL, "policy.data.registration: expected an object");
    if (emails && !json_is_null(emails) && !json_is_object(emails))
        return policy_fail(error, -EINVAL, "policy.data.emails: expected an object");
    int r = 0;
    if (json_is_object(reg) && ((r = policy_constraints_load(json_object_get(reg, "allowed_usernames"),
                                                             "policy.data.registration.allowed_usernames",
                                                             &p->allowed_usernames, error)) < 0 ||
                                (r = policy_constraints_load(json_object_get(reg, "banned_usernames"),
                                                             "policy.data.registration.banned_usernames",
                                                             &p->banned_usernames, error)) < 0))
        return r;
    if (json_is_object(emails) && ((r = policy_constraints_load(json_object_get(emails, "allowed_addresses"),
                                                                "policy.data.emails.allowed_addresses",
                                                                &p->allowed_addresses, error)) < 0 ||
                                   (r = policy_constraints_load(json_object_get(emails, "banned_addresses"),
                                                                "policy.data.emails.banned_addresses",
                                                                &p->banned_addresses, error)) < 0))
        return r;
    bool banned_present;
    if ((r = load_globs(d, "allowed_domains", &p->allowed_domains, &p->has_allowed_domains, error)) < 0)
        return r;
    return load_globs(d, "banned_domains", &p->banned_domains, &banned_present, error);
}

void policy_register_free(struct policy *p)
{
    policy_constraints_free(&p->allowed_usernames);
    policy_constraints_free(&p->banned_usernames);
    policy_constraints_free(&p->allowed_addresses);
    policy_constraints_free(&p->banned_addresses);
    policy_strings_free(&p->allowed_domains);
    policy_strings_free(&p->banned_domains);
}

/* OPA's glob.match(pattern, ["."], s), for the subset glob_unsupported lets through: the
 * pattern as a small automaton run over the domain once, all its states at a time, so no
 * pattern backtracks (O(pattern x domain), both bounded). */
enum glob_op { GLOB_CHAR, GLOB_ONE, GLOB_STAR, GLOB_STARS };

bool policy_domain_glob_match(const char *pattern, const char *s)
{
    struct {
        enum glob_op op;
        char c;
    } t[POLICY_GLOB_MAX];
    size_t n = 0;
    for (const char *g = pattern; *g && n < POLICY_GLOB_MAX; g++) {
        if (*g == '*' && g[1] == '*')
            t[n].op = GLOB_STARS, g++;
        else if (*g == '*')
            t[n].op = GLOB_STAR;
        else if (*g == '?')
            t[n].op = GLOB_ONE;
        else {
            if (*g == '\\' && g[1])
                g++;
            t[n].op = GLOB_CHAR, t[n].c = *g;
        }
        n++;
    }
    bool on[POLICY_GLOB_MAX + 1] = {true}, next[POLICY_GLOB_MAX + 1];
    for (;; s++) {
        for (size_t i = 0; i < n; i++) /* a star may match nothing */
            if (on[i] && (t[i].op == GLOB_STAR || t[i].op == GLOB_STARS))
                on[i + 1] = true;
        if (!*s)
            return on[n];
        memset(next, 0, sizeof(next));
        for (size_t i = 0; i < n; i++) {
            if (!on[i])
                continue;
            switch (t[i].op) {
            case GLOB_CHAR:
                next[i + 1] |= t[i].c == *s;
                break;
            case GLOB_ONE:
                next[i + 1] |= *s != '.';
                break;
            case GLOB_STAR:
                next[i] |= *s != '.';
                break;
            case GLOB_STARS:
                next[i] = true;
                break;
            }
        }
        memcpy(on, next, sizeof(on));
    }
}

static bool domain_in(const struct policy_strings *globs, const char *email)
{
    /* split(email, "@") must give exactly two parts: one '@' */
    const char *at = strchr(email, '@');
    if (!at || strchr(at + 1, '@'))
        return false;
    for (size_t i = 0; i < globs->n; i++)
        if (policy_domain_glob_match(globs->items[i], at + 1))
            return true;
    return false;
}

static int email_violations(const struct policy *p, const char *email, const char *field,
                            struct policy_result *out)
{
    int r = 0;
    if (p->has_allowed_domains && !domain_in(&p->allowed_domains, email))
        r = policy_violation_add_field(out, field, "email-domain-not-allowed", "email domain is not allowed");
    if (r >= 0 && domain_in(&p->banned_domains, email))
        r = policy_violation_add_field(out, field, "email-domain-banned", "email domain is banned");
    if (r >= 0 && p->allowed_addresses.present && !policy_constraints_match(&p->allowed_addresses, email))
        r = policy_violation_add_field(out, field, "email-not-allowed", "email is not allowed");
    if (r >= 0 && policy_constraints_match(&p->banned_addresses, email))
        r = policy_violation_add_field(out, field, "email-banned", "email is not allowed");
    return r;
}

int policy_email(const struct policy *p, const char *email, struct policy_result *out)
{
    policy_result_clear(out);
    int r = email_violations(p, email, NULL, out);
    if (r < 0) {
        policy_result_clear(out);
        return r;
    }
    policy_result_finish(out);
    return 0;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool valid_chars(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(".=_/+-", *s)))
            return false;
    return true;
}

int policy_register(const struct policy *p, const struct policy_register_input *in, struct policy_result *out)
{
    policy_result_clear(out);
    const char *u = in->username;
    const json_t *sn = json_object_get(p->data, "server_name");
    /* "@" + username + ":" + server_name, in characters */
    size_t mxid_len = 2 + utf8_chars(u) + (json_is_string(sn) ? utf8_chars(json_string_value(sn)) : 0);
    int r = 0;
    if (!*u)
        r = policy_violation_add_field(out, "username", "username-too-short", "username too short");
    if (r >= 0 && mxid_len > 255)
        r = policy_violation_add_field(out, "username", "username-too-long", "username too long");
    if (r >= 0 && all_digits(u))
        r = policy_violation_add_field(out, "username", "username-all-numeric",
                                       "username must contain at least one non-numeric character");
    if (r >= 0 && !valid_chars(u))
        r = policy_violation_add_field(out, "username", "username-invalid-chars",
                                       "username contains invalid characters");
    if (r >= 0 && policy_constraints_match(&p->banned_usernames, u))
        r = policy_violation_add_field(out, "username", "username-banned", "username is banned");
    if (r >= 0 && p->allowed_usernames.present && !policy_constraints_match(&p->allowed_usernames, u))
        r = policy_violation_add_field(out, "username", "username-not-allowed", "username is not allowed");
    if (r >= 0)
        r = policy_check_requester(p, &in->requester, out);
    if (r >= 0 && in->email)
        r = email_violations(p, in->email, "email", out);
    if (r < 0) {
        policy_result_clear(out);
        return r;
    }
    policy_result_finish(out);
    return 0;
}
