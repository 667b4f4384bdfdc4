/* Lookups in a built schema and the relations between its types (GraphQL §3): possible types,
 * overlap, sub-typing of type references, printing them. */
#include "internal.h"
#include <stdio.h>

#define NAME(s) (int)(s).len, (s).ptr

gql_type *gql_schema_type(const gql_schema *s, masd_str name)
{
    return gql_map_get(&s->types, name);
}

const gql_field_def *gql_type_field(const gql_type *t, masd_str name)
{
    return gql_map_get(&t->field_index, name);
}

const gql_field_def *gql_field_lookup(const gql_schema *s, const gql_type *t, masd_str name)
{
    if (name.len > 2 && name.ptr[0] == '_' && name.ptr[1] == '_') {
        if (masd_str_eq(name, MASD_STR("__typename")))
            return gql_is_composite(t) ? s->meta_typename : NULL;
        if (t == s->roots[GQL_QUERY] && masd_str_eq(name, MASD_STR("__schema")))
            return s->meta_schema;
        if (t == s->roots[GQL_QUERY] && masd_str_eq(name, MASD_STR("__type")))
            return s->meta_type;
    }
    return t->kind == GQL_KIND_OBJECT || t->kind == GQL_KIND_INTERFACE ? gql_type_field(t, name) : NULL;
}

const gql_directive_def *gql_schema_directive(const gql_schema *s, masd_str name)
{
    return gql_map_get(&s->directives, name);
}

const gql_enum_value *gql_enum_lookup(const gql_type *t, masd_str name)
{
    for (size_t i = 0; i < t->nvalues; i++)
        if (masd_str_eq(t->values[i].name, name))
            return &t->values[i];
    return NULL;
}

const gql_input_value *gql_input_lookup(const gql_input_value *list, size_t n, masd_str name)
{
    for (size_t i = 0; i < n; i++)
        if (masd_str_eq(list[i].name, name))
            return &list[i];
    return NULL;
}

gql_type *gql_named(const gql_type_ref *t)
{
    while (t->kind != GQL_TYPE_NAMED)
        t = t->of;
    return t->type;
}

bool gql_is_leaf(const gql_type *t)
{
    return t->kind == GQL_KIND_SCALAR || t->kind == GQL_KIND_ENUM;
}

bool gql_is_composite(const gql_type *t)
{
    return t->kind == GQL_KIND_OBJECT || t->kind == GQL_KIND_INTERFACE || t->kind == GQL_KIND_UNION;
}

bool gql_is_abstract(const gql_type *t)
{
    return t->kind == GQL_KIND_INTERFACE || t->kind == GQL_KIND_UNION;
}

bool gql_is_input_type(const gql_type_ref *t)
{
    const gql_type *n = gql_named(t);
    return n && (gql_is_leaf(n) || n->kind == GQL_KIND_INPUT_OBJECT);
}

bool gql_is_output_type(const gql_type_ref *t)
{
    const gql_type *n = gql_named(t);
    return n && n->kind != GQL_KIND_INPUT_OBJECT;
}

bool gql_possible(const gql_type *t, const gql_type *o)
{
    if (t == o)
        return true;
    for (size_t i = 0; i < t->npossible; i++)
        if (t->possible[i] == o)
            return true;
    return false;
}

bool gql_types_overlap(const gql_type *a, const gql_type *b)
{
    if (a == b)
        return true;
    if (a->kind == GQL_KIND_OBJECT)
        return gql_possible(b, a);
    if (b->kind == GQL_KIND_OBJECT)
        return gql_possible(a, b);
    for (size_t i = 0; i < a->npossible; i++)
        if (gql_possible(b, a->possible[i]))
            return true;
    return false;
}

/* Whether object or interface t implements interface i. */
bool gql_implements(const gql_type *t, const gql_type *i)
{
    for (size_t k = 0; k < t->ninterfaces; k++)
        if (t->interfaces[k] == i)
            return true;
    return false;
}

bool gql_type_ref_equal(const gql_type_ref *a, const gql_type_ref *b)
{
    while (a->kind == b->kind && a->kind != GQL_TYPE_NAMED)
        a = a->of, b = b->of;
    return a->kind == b->kind && a->type == b->type;
}

/* IsValidImplementationFieldType (§3.6.1); AreTypesCompatible (§5.8.5) when named types must be
 * equal. */
static bool subtype(const gql_type_ref *sub, const gql_type_ref *super, bool covariant)
{
    if (sub->kind == GQL_TYPE_NON_NULL)
        return subtype(sub->of, super->kind == GQL_TYPE_NON_NULL ? super->of : super, covariant);
    if (super->kind == GQL_TYPE_NON_NULL)
        return false;
    if (sub->kind == GQL_TYPE_LIST || super->kind == GQL_TYPE_LIST)
        return sub->kind == super->kind && subtype(sub->of, super->of, covariant);
    if (sub->type == super->type)
        return true;
    return covariant && (sub->type->kind == GQL_KIND_OBJECT || sub->type->kind == GQL_KIND_INTERFACE) &&
           (gql_implements(sub->type, super->type) ||
            (super->type->kind == GQL_KIND_UNION && gql_possible(super->type, sub->type)));
}

bool gql_type_ref_subtype(const gql_type_ref *sub, const gql_type_ref *super)
{
    return subtype(sub, super, false);
}

bool gql_type_ref_covariant(const gql_type_ref *sub, const gql_type_ref *super)
{
    return subtype(sub, super, true);
}

const char *gql_type_ref_print(const gql_type_ref *t, char *buf, size_t size)
{
    if (t->kind == GQL_TYPE_NAMED) {
        snprintf(buf, size, "%.*s", NAME(t->name.len ? t->name : t->type->name));
    } else {
        char inner[128];
        gql_type_ref_print(t->of, inner, sizeof(inner));
        snprintf(buf, size, t->kind == GQL_TYPE_LIST ? "[%s]" : "%s!", inner);
    }
    return buf;
}
