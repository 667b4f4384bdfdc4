/* Introspection (GraphQL §4): its types, the built-in scalars and directives as a prelude in
 * SDL that every schema starts from, and their resolvers, bound like a service's.
 *
 * Values: a __Type is {"name": …} for a named type, {"kind": "LIST"|"NON_NULL", "ofType": …} for
 * a wrapper, and its fields are resolved from the schema; __Field, __InputValue, __EnumValue and
 * __Directive values are built whole. Beyond the October 2021 edition, as graphql-js 16 serves
 * them: `includeDeprecated` on args and inputFields, `isDeprecated`/`deprecationReason` on
 * __InputValue. The meta-fields __schema and __type live on __Meta, which is no type of the
 * schema (schema.c). */
#include "internal.h"
#include <stdlib.h>

const char gql_prelude_sdl[] =
    "\"A signed 32-bit integer.\" scalar Int\n"
    "\"A double-precision floating-point number.\" scalar Float\n"
    "\"A UTF-8 character sequence.\" scalar String\n"
    "\"true or false.\" scalar Boolean\n"
    "\"A unique identifier, serialized as a string.\" scalar ID\n"
    "\"Includes this field or fragment only when `if` is true.\"\n"
    "directive @include(\"Included when true.\" if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT\n"
    "\"Skips this field or fragment when `if` is true.\"\n"
    "directive @skip(\"Skipped when true.\" if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT\n"
    "\"Marks an element of the schema as no longer supported.\"\n"
    "directive @deprecated(\"Why, and what to use instead.\" reason: String = \"No longer supported\")\n"
    "  on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE\n"
    "\"Gives the URL of a custom scalar's specification.\"\n"
    "directive @specifiedBy(\"The specification's URL.\" url: String!) on SCALAR\n"
    "type __Meta { __schema: __Schema! __type(name: String!): __Type __typename: String! }\n"
    "\"The types, root types and directives of the service.\"\n"
    "type __Schema {\n"
    "  description: String\n"
    "  types: [__Type!]!\n"
    "  queryType: __Type!\n"
    "  mutationType: __Type\n"
    "  subscriptionType: __Type\n"
    "  directives: [__Directive!]!\n"
    "}\n"
    "\"A type of the schema, or a list or non-null wrapper of one.\"\n"
    "type __Type {\n"
    "  kind: __TypeKind!\n"
    "  name: String\n"
    "  description: String\n"
    "  specifiedByURL: String\n"
    "  fields(includeDeprecated: Boolean = false): [__Field!]\n"
    "  interfaces: [__Type!]\n"
    "  possibleTypes: [__Type!]\n"
    "  enumValues(includeDeprecated: Boolean = false): [__EnumValue!]\n"
    "  inputFields(includeDeprecated: Boolean = false): [__InputValue!]\n"
    "  ofType: __Type\n"
    "}\n"
    "\"What kind of type a __Type is.\"\n"
    "enum __TypeKind { SCALAR OBJECT INTERFACE UNION ENUM INPUT_OBJECT LIST NON_NULL }\n"
    "\"A field of an object or interface type.\"\n"
    "type __Field {\n"
    "  name: String!\n"
    "  description: String\n"
    "  args(includeDeprecated: Boolean = false): [__InputValue!]!\n"
    "  type: __Type!\n"
    "  isDeprecated: Boolean!\n"
    "  deprecationReason: String\n"
    "}\n"
    "\"An argument, or a field of an input object type.\"\n"
    "type __InputValue {\n"
    "  name: String!\n"
    "  description: String\n"
    "  type: __Type!\n"
    "  \"The default value as a GraphQL literal.\"\n"
    "  defaultValue: String\n"
    "  isDeprecated: Boolean!\n"
    "  deprecationReason: String\n"
    "}\n"
    "\"A value of an enum type.\"\n"
    "type __EnumValue {\n"
    "  name: String!\n"
    "  description: String\n"
    "  isDeprecated: Boolean!\n"
    "  deprecationReason: String\n"
    "}\n"
    "\"A directive the service understands.\"\n"
    "type __Directive {\n"
    "  name: String!\n"
    "  description: String\n"
    "  isRepeatable: Boolean!\n"
    "  locations: [__DirectiveLocation!]!\n"
    "  args(includeDeprecated: Boolean = false): [__InputValue!]!\n"
    "}\n"
    "\"Where a directive may be used.\"\n"
    "enum __DirectiveLocation { QUERY MUTATION SUBSCRIPTION FIELD FRAGMENT_DEFINITION FRAGMENT_SPREAD\n"
    "  INLINE_FRAGMENT VARIABLE_DEFINITION SCHEMA SCALAR OBJECT FIELD_DEFINITION ARGUMENT_DEFINITION\n"
    "  INTERFACE UNION ENUM ENUM_VALUE INPUT_OBJECT INPUT_FIELD_DEFINITION }\n";

static json_t *text(masd_str s)
{
    return s.ptr ? json_stringn(s.ptr, s.len) : json_null();
}

static json_t *named(const gql_type *t)
{
    return json_pack("{s:s}", "name", t->cname);
}

static json_t *type_ref(const gql_type_ref *t)
{
    if (t->kind == GQL_TYPE_NAMED)
        return named(t->type);
    return json_pack("{s:s,s:o}", "kind", t->kind == GQL_TYPE_LIST ? "LIST" : "NON_NULL", "ofType",
                     type_ref(t->of));
}

static json_t *deprecated(json_t *o, const char *reason)
{
    if (o) {
        json_object_set_new(o, "isDeprecated", json_boolean(reason != NULL));
        json_object_set_new(o, "deprecationReason", reason ? json_string(reason) : json_null());
    }
    return o;
}

static json_t *input_value(const gql_input_value *v)
{
    json_t *def = json_null();
    if (v->ast->default_value) {
        size_t n = gql_value_print(v->ast->default_value, NULL, 0);
        char *buf = malloc(n + 1);
        if (buf) {
            gql_value_print(v->ast->default_value, buf, n + 1);
            def = json_stringn(buf, n);
            free(buf);
        }
    }
    return deprecated(json_pack("{s:s%,s:o,s:o,s:o}", "name", v->name.ptr, v->name.len, "description",
                                text(v->ast->description), "type", type_ref(v->type), "defaultValue", def),
                      v->deprecation);
}

/* Input values, those deprecated only when the arguments say includeDeprecated. */
static json_t *input_values(const gql_input_value *list, size_t n, bool all)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (all || !list[i].deprecation)
            json_array_append_new(a, input_value(&list[i]));
    return a;
}

static const gql_type *type_of(const gql_resolve_info *info)
{
    const char *name = json_string_value(json_object_get(info->parent, "name"));
    return name ? gql_schema_type(gql_exec_schema(info->exec), masd_str_from(name)) : NULL;
}

static int meta_schema(const gql_resolve_info *info, json_t **out)
{
    *out = json_object();
    return 0;
}

static int meta_type(const gql_resolve_info *info, json_t **out)
{
    const char *name = json_string_value(json_object_get(info->args, "name"));
    const gql_type *t = name ? gql_schema_type(gql_exec_schema(info->exec), masd_str_from(name)) : NULL;
    *out = t && strcmp(t->cname, "__Meta") ? named(t) : NULL;
    return 0;
}

static int schema_description(const gql_resolve_info *info, json_t **out)
{
    *out = text(gql_exec_schema(info->exec)->description);
    return 0;
}

static int schema_types(const gql_resolve_info *info, json_t **out)
{
    const gql_schema *s = gql_exec_schema(info->exec);
    *out = json_array();
    for (size_t i = 0; *out && i < s->ntypes; i++)
        json_array_append_new(*out, named(s->type_list[i]));
    return 0;
}

static int root_type(const gql_resolve_info *info, json_t **out, gql_operation_type op)
{
    const gql_type *t = gql_exec_schema(info->exec)->roots[op];
    *out = t ? named(t) : NULL;
    return 0;
}

static int schema_query(const gql_resolve_info *info, json_t **out)
{
    return root_type(info, out, GQL_QUERY);
}

static int schema_mutation(const gql_resolve_info *info, json_t **out)
{
    return root_type(info, out, GQL_MUTATION);
}

static int schema_subscription(const gql_resolve_info *info, json_t **out)
{
    return root_type(info, out, GQL_SUBSCRIPTION);
}

static int schema_directives(const gql_resolve_info *info, json_t **out)
{
    const gql_schema *s = gql_exec_schema(info->exec);
    *out = json_array();
    for (size_t i = 0; *out && i < s->ndirectives; i++) {
        const gql_directive_def *d = s->directive_list[i];
        json_t *locations = json_array(); /* as the definition lists them */
        for (const gql_name *l = d->ast->names; locations && l; l = l->next)
            json_array_append_new(locations, json_stringn(l->name.ptr, l->name.len));
        json_array_append_new(*out, json_pack("{s:s%,s:o,s:b,s:o,s:o}", "name", d->name.ptr, d->name.len,
                                              "description", text(d->ast->description), "isRepeatable",
                                              d->repeatable, "locations", locations, "args",
                                              input_values(d->args, d->nargs, true)));
    }
    return 0;
}

static int type_kind(const gql_resolve_info *info, json_t **out)
{
    static const char *kinds[] = {"SCALAR", "OBJECT", "INTERFACE", "UNION", "ENUM", "INPUT_OBJECT"};
    const gql_type *t = type_of(info);
    *out = t ? json_string(kinds[t->kind]) : json_incref(json_object_get(info->parent, "kind"));
    return 0;
}

static int type_description(const gql_resolve_info *info, json_t **out)
{
    const gql_type *t = type_of(info);
    *out = t ? text(t->ast->description) : NULL;
    return 0;
}

static int type_specified_by(const gql_resolve_info *info, json_t **out)
{
    const gql_type *t = type_of(info);
    *out = t && t->specified_by ? json_string(t->specified_by) : NULL;
    return 0;
}

static int type_fields(const gql_resolve_info *info, json_t **out)
{
    const gql_type *t = type_of(info);
    *out = NULL;
    if (!t || (t->kind != GQL_KIND_OBJECT && t->kind != GQL_KIND_INTERFACE))
        return 0;
    bool all = json_is_true(json_object_get(info->args, "includeDeprecated"));
    *out = json_array();
    for (size_t i = 0; *out && i < t->nfields; i++) {
        const gql_field_def *f = &t->fields[i];
        if (!all && f->deprecation)
            continue;
        json_array_append_new(
            *out, deprecated(json_pack("{s:s,s:o,s:o,s:o}", "name", f->cname, "description",
                                       text(f->ast->description), "args",
                                       input_values(f->args, f->nargs, true), "type", type_ref(f->type)),
                             f->deprecation));
    }
    return 0;
}

static int type_list_of(json_t **out, gql_type *const *list, size_t n)
{
    *out = json_array();
    for (size_t i = 0; *out && i < n; i++)
        json_array_append_new(*out, named(list[i]));
    return 0;
}

static int type_interfaces(const gql_resolve_info *info, json_t **out)
{
    const gql_type *t = type_of(info);
    *out = NULL;
    if (t && (t->kind == GQL_KIND_OBJECT || t->kind == GQL_KIND_INTERFACE))
        return type_list_of(out, t->interfaces, t->ninterfaces);
    return 0;
}

static int type_possible(const gql_resolve_info *info, json_t **out)
{
    const gql_type *t = type_of(info);
    *out = NULL;
    if (t && gql_is_abstract(t))
        return type_list_of(out, t->possible, t->npossible);
    return 0;
}

static int type_enum_values(const gql_resolve_info *info, json_t **out)
{
    const gql_type *t = type_of(info);
    *out = NULL;
    if (!t || t->kind != GQL_KIND_ENUM)
        return 0;
    bool all = json_is_true(json_object_get(info->args, "includeDeprecated"));
    *out = json_array();
    for (size_t i = 0; *out && i < t->nvalues; i++) {
        const gql_enum_value *v = &t->values[i];
        if (all || !v->deprecation)
            json_array_append_new(*out, deprecated(json_pack("{s:s%,s:o}", "name", v->name.ptr, v->name.len,
                                                             "description", text(v->ast->description)),
                                                   v->deprecation));
    }
    return 0;
}

static int type_input_fields(const gql_resolve_info *info, json_t **out)
{
    const gql_type *t = type_of(info);
    *out = t && t->kind == GQL_KIND_INPUT_OBJECT
               ? input_values(t->input_fields, t->ninput_fields,
                              json_is_true(json_object_get(info->args, "includeDeprecated")))
               : NULL;
    return 0;
}

/* The arguments of a __Field or __Directive value, without the deprecated unless asked. */
static int args_filtered(const gql_resolve_info *info, json_t **out)
{
    json_t *all = json_object_get(info->parent, "args");
    if (json_is_true(json_object_get(info->args, "includeDeprecated"))) {
        *out = json_incref(all);
        return 0;
    }
    size_t i;
    json_t *a;
    *out = json_array();
    json_array_foreach(all, i, a)
    {
        if (*out && !json_is_true(json_object_get(a, "isDeprecated")))
            json_array_append(*out, a);
    }
    return 0;
}

const gql_resolver gql_introspection_resolvers[] = {
    {"__Meta.__schema", meta_schema, 0},
    {"__Meta.__type", meta_type, 0},
    {"__Schema.description", schema_description, 0},
    {"__Schema.types", schema_types, 0},
    {"__Schema.queryType", schema_query, 0},
    {"__Schema.mutationType", schema_mutation, 0},
    {"__Schema.subscriptionType", schema_subscription, 0},
    {"__Schema.directives", schema_directives, 0},
    {"__Type.kind", type_kind, 0},
    {"__Type.description", type_description, 0},
    {"__Type.specifiedByURL", type_specified_by, 0},
    {"__Type.fields", type_fields, 0},
    {"__Type.interfaces", type_interfaces, 0},
    {"__Type.possibleTypes", type_possible, 0},
    {"__Type.enumValues", type_enum_values, 0},
    {"__Type.inputFields", type_input_fields, 0},
    {"__Field.args", args_filtered, 0},
    {"__Directive.args", args_filtered, 0},
    {NULL, NULL, 0},
};
