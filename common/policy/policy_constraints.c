/* MAS's string constraints (MAS: policies/common/common.rego matches_string_constraints): an
 * object of lists -- regexes, substrings, literals, suffixes, prefixes -- that a string matches
 * when any item of any list does. The requester's banned user agents, the registration's
 * allowed and banned usernames and the e-mail policy's addresses are such constraints.
 *
 * Regexes: Rego's regex.match is RE2; masd compiles each pattern once, at load, as a POSIX
 * extended regular expression (regcomp, REG_EXTENDED). The common ground (literals, . [] ^ $
 * | () * + ? {n,m}, and GNU's \w \s \b) means the same; RE2-only syntax that POSIX would read
 * differently or not at all -- \d \D \pX \Q..\E \A \z \x, (?flags) and (?:...) groups, lazy
 * quantifiers -- is refused at load rather than silently matching something else. Like
 * regex.match, a pattern matches anywhere in the string unless anchored. */
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

static int load_regexes(const json_t *c, const char *object_path, struct policy_string_constraints *out,
                        char **error)
{
    struct policy_strings pats = {0};
    char path[160];
    snprintf(path, sizeof(path), "%s.regexes", object_path);
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

int policy_constraints_load(const json_t *c, const char *path, struct policy_string_constraints *out,
                            char **error)
{
    static const struct {
        const char *key;
        size_t offset;
    } lists[] = {
        {"substrings", offsetof(struct policy_string_constraints, substrings)},
        {"literals", offsetof(struct policy_string_constraints, literals)},
        {"suffixes", offsetof(struct policy_string_constraints, suffixes)},
        {"prefixes", offsetof(struct policy_string_constraints, prefixes)},
    };
    *out = (struct policy_string_constraints){0};
    if (!c || json_is_null(c))
        return 0;
    if (!json_is_object(c))
        return policy_fail(error, -EINVAL, "%s: expected an object", path);
    out->present = true;
    int r = load_regexes(c, path, out, error);
    for (size_t i = 0; r >= 0 && i < sizeof(lists) / sizeof(lists[0]); i++) {
        char list_path[160];
        snprintf(list_path, sizeof(list_path), "%s.%s", path, lists[i].key);
        r = policy_strings_load(c, lists[i].key, list_path,
                                (struct policy_strings *)((char *)out + lists[i].offset), error);
    }
    return r;
}

void policy_constraints_free(struct policy_string_constraints *c)
{
    for (size_t i = 0; i < c->n_regexes; i++)
        regfree(&c->regexes[i]);
    free(c->regexes);
    policy_strings_free(&c->substrings);
    policy_strings_free(&c->literals);
    policy_strings_free(&c->suffixes);
    policy_strings_free(&c->prefixes);
    *c = (struct policy_string_constraints){0};
}

/* MAS: common.rego matches_string_constraints */
bool policy_constraints_match(const struct policy_string_constraints *c, const char *s)
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
