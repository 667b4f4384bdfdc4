/* The caps a service puts on an operation, beyond GraphQL's own rules: field depth, complexity,
 * aliases, page size (`first`/`last`), and introspection's nesting (as graphql-js's
 * MaxIntrospectionDepthRule: `fields`, `interfaces`, `possibleTypes`, `inputFields` nested three
 * times in __schema or __type is refused, which cuts the type → fields → type cycle).
 *
 * Checked after the variables are coerced, so that `first: $count` counts as its value. Every
 * field of the operation counts, fragments expanded, whatever @skip and @include will decide:
 * the caps hold for every value of the variables that would select more. */
#include "internal.h"
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define NAME(s) (int)(s).len, (s).ptr

typedef struct {
    const gql_schema *schema;
    const gql_limits *limits;
    const json_t *variables;
    json_t *errors;
    unsigned long visits;
    unsigned aliases;
    int r;
} caps;

__attribute__((format(printf, 3, 4))) static void refuse(caps *c, gql_loc loc, const char *fmt, ...)
{
    if (c->r)
        return;
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->r = gql_error_add(c->errors, loc, "%s", msg) < 0 ? -ENOMEM : -EINVAL;
}

/* The value of a `first` or `last` argument: -1 when absent or not an integer. */
static long long page_argument(const caps *c, const gql_argument *a)
{
    if (a->value->kind == GQL_VALUE_INT) {
        char buf[24];
        if (a->value->text.len >= sizeof(buf))
            return LLONG_MAX;
        snprintf(buf, sizeof(buf), "%.*s", NAME(a->value->text));
        return strtoll(buf, NULL, 10);
    }
    if (a->value->kind == GQL_VALUE_VARIABLE) {
        const json_t *v = json_object_getn(c->variables, a->value->text.ptr, a->value->text.len);
        return json_is_integer(v) ? json_integer_value(v) : -1;
    }
    return -1;
}

static bool introspection_list(masd_str name)
{
    return masd_str_eq(name, MASD_STR("fields")) || masd_str_eq(name, MASD_STR("interfaces")) ||
           masd_str_eq(name, MASD_STR("possibleTypes")) || masd_str_eq(name, MASD_STR("inputFields"));
}

static unsigned long saturating_add(unsigned long a, unsigned long b)
{
    return a > ULONG_MAX - b ? ULONG_MAX : a + b;
}

static unsigned long saturating_mul(unsigned long a, unsigned long b)
{
    return b && a > ULONG_MAX / b ? ULONG_MAX : a * b;
}

/* The cost of a selection set; `depth` counts fields (introspection's aside), `nesting` counts
 * every field and fragment level, `lists` introspection's nested lists (-1 outside it). */
static unsigned long walk(caps *c, const gql_selection *s, unsigned depth, unsigned nesting, int lists)
{
    unsigned long total = 0;
    if (nesting > GQL_MAX_RECURSION) {
        refuse(c, s->loc, "The operation nests too deeply.");
        return 0;
    }
    for (; s && c->r == 0; s = s->next) {
        if (s->kind == GQL_SEL_INLINE) {
            total = saturating_add(total, walk(c, s->selections, depth, nesting + 1, lists));
            continue;
        }
        if (s->kind == GQL_SEL_SPREAD) {
            total = saturating_add(total, walk(c, s->fragment->selections, depth, nesting + 1, lists));
            continue;
        }
        if (++c->visits > GQL_MAX_EXPANDED_FIELDS)
            return refuse(c, s->loc, "The operation selects too many fields."), 0;
        if (s->alias.len && ++c->aliases > c->limits->max_aliases)
            return refuse(c, s->loc, "The operation uses more than %u aliases.", c->limits->max_aliases), 0;
        int sub_lists = lists;
        unsigned sub_depth = depth;
        if (lists < 0 &&
            (masd_str_eq(s->name, MASD_STR("__schema")) || masd_str_eq(s->name, MASD_STR("__type")))) {
            sub_lists = 0;
            sub_depth = depth + 1;
        } else if (lists >= 0) {
            if (introspection_list(s->name) && ++sub_lists >= 3)
                return refuse(c, s->loc, "Maximum introspection depth exceeded."), 0;
        } else {
            sub_depth = depth + 1;
        }
        if (sub_depth > c->limits->max_depth)
            return refuse(c, s->loc, "The operation exceeds the maximum depth of %u.", c->limits->max_depth),
                   0;
        unsigned long multiplier = 1;
        for (const gql_argument *a = s->args; a; a = a->next) {
            if (!masd_str_eq(a->name, MASD_STR("first")) && !masd_str_eq(a->name, MASD_STR("last")))
                continue;
            long long n = page_argument(c, a);
            if (n > (long long)c->limits->max_page_size)
                return refuse(c, a->loc, "\"%.*s\" may be at most %u.", NAME(a->name),
                              c->limits->max_page_size),
                       0;
            if (n > (long long)multiplier)
                multiplier = (unsigned long)n;
        }
        unsigned long cost = s->def ? s->def->cost : 1;
        if (s->selections)
            cost = saturating_add(
                cost, saturating_mul(multiplier, walk(c, s->selections, sub_depth, nesting + 1, sub_lists)));
        total = saturating_add(total, cost);
        if (total > c->limits->max_complexity)
            return refuse(c, s->loc, "The operation exceeds the maximum complexity of %lu.",
                          c->limits->max_complexity),
                   0;
    }
    return total;
}

int gql_check_caps(const gql_schema *schema, const gql_limits *limits, const gql_definition *operation,
                   const json_t *variables, json_t *errors)
{
    caps c = {.schema = schema, .limits = limits, .variables = variables, .errors = errors};
    walk(&c, operation->selections, 0, 0, -1);
    return c.r;
}
