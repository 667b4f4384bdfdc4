/* The type system's rules (GraphQL §3) over a schema being built (schema.c): default values
 * coerced once, nested input objects' defaults first; fields, arguments, interfaces, unions,
 * enums, input objects and the directives used in the SDL checked. */
#include "internal.h"
#include <stdio.h>

#define NAME(s) (int)(s).len, (s).ptr

/* ---- default values: coerced once, nested input objects' defaults first ---- */

static void coerce_default(gql_builder *b, gql_input_value *iv);

/* Coerces the defaults a literal of type t will use when it leaves fields out. */
static void prepare_literal(gql_builder *b, const gql_value *v, const gql_type_ref *t)
{
    gql_type *n = gql_named(t);
    if (!n || v->kind == GQL_VALUE_NULL)
        return;
    while (t->kind == GQL_TYPE_NON_NULL)
        t = t->of;
    if (t->kind == GQL_TYPE_LIST) {
        for (const gql_value *i = v->kind == GQL_VALUE_LIST ? v->items : NULL; i; i = i->next)
            prepare_literal(b, i, t->of);
        if (v->kind != GQL_VALUE_LIST)
            prepare_literal(b, v, t->of);
        return;
    }
    if (n->kind != GQL_KIND_INPUT_OBJECT || v->kind != GQL_VALUE_OBJECT)
        return;
    for (size_t i = 0; i < n->ninput_fields; i++) {
        gql_input_value *f = &n->input_fields[i];
        const gql_value *given = v->items;
        while (given && !masd_str_eq(given->field_name, f->name))
            given = given->next;
        if (given)
            prepare_literal(b, given, f->type);
        else
            coerce_default(b, f);
    }
}

static void coerce_default(gql_builder *b, gql_input_value *iv)
{
    const gql_value *v = iv->ast ? iv->ast->default_value : NULL;
    if (!v || iv->default_state == 2 || !gql_named(iv->type))
        return;
    if (iv->default_state == 1) {
        gql_build_error(b, v->loc, "The default value of \"%.*s\" refers to itself.", NAME(iv->name));
        return;
    }
    iv->default_state = 1;
    prepare_literal(b, v, iv->type);
    char message[256];
    if (gql_coerce_literal(v, iv->type, NULL, &iv->default_json, message, sizeof(message)) < 0)
        gql_build_error(b, v->loc, "Invalid default value for \"%.*s\": %s.", NAME(iv->name), message);
    iv->default_state = 2;
}

static void coerce_defaults(gql_builder *b, gql_input_value *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        coerce_default(b, &list[i]);
}

/* ---- validation of the type system (§3) ---- */

static void check_arguments(gql_builder *b, const gql_input_value *args, size_t n, gql_location where)
{
    char tb[128];
    for (size_t i = 0; i < n; i++) {
        const gql_input_value *a = &args[i];
        if (!gql_named(a->type))
            continue;
        if (!gql_is_input_type(a->type))
            gql_build_error(b, a->ast->loc, "The type of \"%.*s\" must be an input type but got: %s.",
                            NAME(a->name), gql_type_ref_print(a->type, tb, sizeof(tb)));
        if (a->deprecation && a->type->kind == GQL_TYPE_NON_NULL && !a->ast->default_value)
            gql_build_error(b, a->ast->loc, "Required \"%.*s\" cannot be deprecated.", NAME(a->name));
        if (gql_check_directives(b->s, a->ast->directives, where, b->errors) < 0)
            b->nomem |= json_array_size(b->errors) == 0;
    }
}

/* IsValidImplementation (§3.6.1): t provides every field of interface i, compatibly. */
static void check_implementation(gql_builder *b, const gql_type *t, const gql_type *i)
{
    char t1[128], t2[128];
    if (i == t) {
        gql_build_error(b, t->ast->loc, "Type \"%s\" cannot implement itself.", t->cname);
        return;
    }
    for (size_t k = 0; k < i->ninterfaces; k++)
        if (!gql_implements(t, i->interfaces[k]))
            gql_build_error(b, t->ast->loc,
                            "Type \"%s\" must implement \"%s\" because it is implemented by \"%s\".",
                            t->cname, i->interfaces[k]->cname, i->cname);
    for (size_t k = 0; k < i->nfields; k++) {
        const gql_field_def *want = &i->fields[k], *f = gql_type_field(t, want->name);
        if (!f) {
            gql_build_error(b, t->ast->loc,
                            "Interface field \"%s.%.*s\" expected but \"%s\" does not provide it.", i->cname,
                            NAME(want->name), t->cname);
            continue;
        }
        if (!gql_named(f->type) || !gql_named(want->type))
            continue;
        if (!gql_type_ref_covariant(f->type, want->type))
            gql_build_error(b, f->ast->loc,
                            "Interface field \"%s.%.*s\" expects type \"%s\" but \"%s.%.*s\" is type \"%s\".",
                            i->cname, NAME(want->name), gql_type_ref_print(want->type, t1, sizeof(t1)),
                            t->cname, NAME(f->name), gql_type_ref_print(f->type, t2, sizeof(t2)));
        for (size_t a = 0; a < want->nargs; a++) {
            const gql_input_value *arg = gql_input_lookup(f->args, f->nargs, want->args[a].name);
            if (!arg)
                gql_build_error(
                    b, f->ast->loc,
                    "Interface field argument \"%s.%.*s(%.*s:)\" expected but \"%s.%.*s\" does not provide "
                    "it.",
                    i->cname, NAME(want->name), NAME(want->args[a].name), t->cname, NAME(f->name));
            else if (gql_named(arg->type) && gql_named(want->args[a].type) &&
                     !gql_type_ref_equal(arg->type, want->args[a].type))
                gql_build_error(b, arg->ast->loc,
                                "Argument \"%s.%.*s(%.*s:)\" must have the type of the interface's.",
                                t->cname, NAME(f->name), NAME(arg->name));
        }
        for (size_t a = 0; a < f->nargs; a++)
            if (f->args[a].type->kind == GQL_TYPE_NON_NULL && !f->args[a].ast->default_value &&
                !gql_input_lookup(want->args, want->nargs, f->args[a].name))
                gql_build_error(
                    b, f->args[a].ast->loc,
                    "Argument \"%s.%.*s(%.*s:)\" must not be required: \"%s.%.*s\" has no such argument.",
                    t->cname, NAME(f->name), NAME(f->args[a].name), i->cname, NAME(want->name));
    }
}

/* An input object may not reach itself through non-null fields only (§3.10). */
static bool non_null_cycle(const gql_type *t, const gql_type *start, unsigned depth)
{
    if (depth > GQL_MAX_RECURSION)
        return true;
    for (size_t i = 0; i < t->ninput_fields; i++) {
        const gql_type_ref *f = t->input_fields[i].type;
        if (f->kind != GQL_TYPE_NON_NULL || f->of->kind != GQL_TYPE_NAMED || !f->of->type ||
            f->of->type->kind != GQL_KIND_INPUT_OBJECT)
            continue;
        if (f->of->type == start || non_null_cycle(f->of->type, start, depth + 1))
            return true;
    }
    return false;
}

static void check_type(gql_builder *b, gql_type *t)
{
    static const gql_location where[] = {
        [GQL_KIND_SCALAR] = GQL_LOC_SCALAR,       [GQL_KIND_OBJECT] = GQL_LOC_OBJECT,
        [GQL_KIND_INTERFACE] = GQL_LOC_INTERFACE, [GQL_KIND_UNION] = GQL_LOC_UNION,
        [GQL_KIND_ENUM] = GQL_LOC_ENUM,           [GQL_KIND_INPUT_OBJECT] = GQL_LOC_INPUT_OBJECT};
    char tb[128];
    gql_check_directives(b->s, t->ast->directives, where[t->kind], b->errors);
    switch (t->kind) {
    case GQL_KIND_OBJECT:
    case GQL_KIND_INTERFACE:
        if (t->nfields == 0)
            gql_build_error(b, t->ast->loc, "Type \"%s\" must define one or more fields.", t->cname);
        for (size_t i = 0; i < t->nfields; i++) {
            const gql_field_def *f = &t->fields[i];
            if (gql_named(f->type) && !gql_is_output_type(f->type))
                gql_build_error(b, f->ast->loc, "The type of \"%s.%.*s\" must be an output type but got: %s.",
                                t->cname, NAME(f->name), gql_type_ref_print(f->type, tb, sizeof(tb)));
            gql_check_directives(b->s, f->ast->directives, GQL_LOC_FIELD_DEFINITION, b->errors);
            check_arguments(b, f->args, f->nargs, GQL_LOC_ARGUMENT_DEFINITION);
        }
        for (size_t i = 0; i < t->ninterfaces; i++)
            if (t->interfaces[i] && t->interfaces[i]->kind == GQL_KIND_INTERFACE)
                check_implementation(b, t, t->interfaces[i]);
        break;
    case GQL_KIND_UNION:
        if (t->npossible == 0)
            gql_build_error(b, t->ast->loc, "Union type \"%s\" must define one or more member types.",
                            t->cname);
        break;
    case GQL_KIND_ENUM:
        if (t->nvalues == 0)
            gql_build_error(b, t->ast->loc, "Enum type \"%s\" must define one or more values.", t->cname);
        for (size_t i = 0; i < t->nvalues; i++)
            gql_check_directives(b->s, t->values[i].ast->directives, GQL_LOC_ENUM_VALUE, b->errors);
        break;
    case GQL_KIND_INPUT_OBJECT:
        if (t->ninput_fields == 0)
            gql_build_error(b, t->ast->loc, "Input object type \"%s\" must define one or more fields.",
                            t->cname);
        check_arguments(b, t->input_fields, t->ninput_fields, GQL_LOC_INPUT_FIELD_DEFINITION);
        if (non_null_cycle(t, t, 0))
            gql_build_error(b, t->ast->loc,
                            "Input object \"%s\" refers to itself through non-null fields only.", t->cname);
        break;
    default:
        break;
    }
}

void gql_schema_check(gql_builder *b)
{
    gql_schema *s = b->s;
    for (size_t i = 0; i < s->ntypes; i++) {
        gql_type *t = s->type_list[i];
        for (size_t k = 0; k < t->nfields; k++)
            coerce_defaults(b, t->fields[k].args, t->fields[k].nargs);
        coerce_defaults(b, t->input_fields, t->ninput_fields);
    }
    for (size_t i = 0; i < s->ndirectives; i++)
        coerce_defaults(b, s->directive_list[i]->args, s->directive_list[i]->nargs);
    if (json_array_size(b->errors))
        return;
    for (size_t i = 0; i < s->ntypes; i++)
        check_type(b, s->type_list[i]);
    for (size_t i = 0; i < s->ndirectives; i++)
        check_arguments(b, s->directive_list[i]->args, s->directive_list[i]->nargs,
                        GQL_LOC_ARGUMENT_DEFINITION);
}
