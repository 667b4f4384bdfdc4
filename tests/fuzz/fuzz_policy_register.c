/* The register and email policies (common/policy/policy_register.c) on arbitrary usernames and
 * addresses, against one fixed policy.data with constraints and domain globs: no crash or leak;
 * every violation is one of the policies' own, about the field it names, each at most once; and
 * the domain glob matcher, with a pattern and a domain from the input, always returns. The input
 * is "username\0email" (no '\0': no e-mail). */
#include "config.h"
#include "fuzz_input.h"
#include "policy_internal.h"
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] = "matrix:\n  homeserver: example.com\n"
                           "policy:\n  data:\n"
                           "    registration:\n"
                           "      banned_usernames: {prefixes: [admin], regexes: ['^x+y$']}\n"
                           "      allowed_usernames: {substrings: [a, b, c, '1']}\n"
                           "    emails: {banned_addresses: {suffixes: ['@evil.example']}}\n"
                           "    allowed_domains: ['**.example', '*.test', 'e?.org']\n"
                           "    banned_domains: ['bad.*.example']\n"
                           "    requester: {banned_ips: [203.0.113.0/24]}\n";

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

static void check(const struct policy_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct policy_violation *v = &r->violations[i];
        fuzz_require(v->msg != NULL);
        fuzz_require(!v->field || strcmp(v->field, "username") == 0 || strcmp(v->field, "email") == 0);
        fuzz_require(!v->field || v->code != NULL);
        for (size_t j = 0; j < i; j++)
            fuzz_require(!(v->code && r->violations[j].code && strcmp(v->code, r->violations[j].code) == 0));
    }
    fuzz_require(r->n <= 11);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *zero = memchr(data, '\0', size);
    size_t ulen = zero ? (size_t)(zero - (const char *)data) : size;
    char *username = fuzz_copy((masd_str){(const char *)data, ulen});
    username = realloc(username, ulen + 1);
    fuzz_require(username != NULL);
    username[ulen] = '\0';
    char *email = NULL;
    if (zero) {
        size_t elen = size - ulen - 1;
        email = malloc(elen + 1);
        fuzz_require(email != NULL);
        memcpy(email, zero + 1, elen);
        email[elen] = '\0';
    }
    struct policy_register_input in = {POLICY_REGISTRATION_PASSWORD, username, email, {"203.0.113.9", NULL}};
    struct policy_result res = {0};
    fuzz_require(policy_register(the_policy(), &in, &res) == 0);
    check(&res);
    policy_result_clear(&res);
    if (email) {
        fuzz_require(policy_email(the_policy(), email, &res) == 0);
        check(&res);
        policy_result_clear(&res);
        if (strlen(username) <= POLICY_GLOB_MAX)
            (void)policy_domain_glob_match(username, email);
    }
    free(username);
    free(email);
    return 0;
}
