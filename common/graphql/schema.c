/* The schema (GraphQL §3): built from the service's SDL and the prelude (built-in scalars and
 * directives, introspection types), checked as §3 requires, with C resolvers and scalar hooks
 * bound by name. Type extensions are not supported: a service writes its schema in one file. */
#include "internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define NAME(s) (int)(s).len, (s).ptr

const char *const gql_location_names[GQL_LOC_COUNT] = {
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
    "SCHEMA",
    "SCALAR",
    "OBJECT",
    "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION",
    "INTERFACE",
    "UNION",
    "ENUM",
    "ENUM_VALUE",
    "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION",
};

typedef struct {
    gql_schema *s;
    json_t *errors;
    bool nomem;
    bool prelude; /* building the prelude: "__" names allowed */
} builder;

__attribute__((format(printf, 3, 4))) static int error(builder *b, gql_loc loc, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (json_array_size(b->errors) < GQL_MAX_ERRORS && gql_error_add(b->errors, loc, "%s", msg) < 0)
        b->nomem = true;
    return -1;
}

static void *alloc(builder *b, size_t n)
{
    void *p = gql_alloc(&b->s->arena, n);
    if (!p)
        b->nomem = true;
    return p;
}

/* ---- lookups and type relations ---- */

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
static bool implements(const gql_type *t, const gql_type *i)
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
           (implements(sub->type, super->type) ||
            (super->type->kind == GQL_KIND_UNION && gql_possible(super->type, sub->type)));
}

bool gql_type_ref_subtype(const gql_type_ref *sub, const gql_type_ref *super)
{
    return subtype(sub, super, false);
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

/* ---- building ---- */

static bool reserved(builder *b, masd_str name, gql_loc loc)
{
    if (b->prelude || name.len < 2 || name.ptr[0] != '_' || name.ptr[1] != '_')
        return false;
    error(b, loc, "Name \"%.*s\" must not begin with \"__\", which is reserved by GraphQL introspection.",
          NAME(name));
    return true;
}

static void resolve_ref(builder *b, gql_type_ref *t)
{
    while (t->kind != GQL_TYPE_NAMED)
        t = t->of;
    t->type = gql_schema_type(b->s, t->name);
    if (!t->type)
        error(b, t->loc, "Unknown type \"%.*s\".", NAME(t->name));
}

static int declare_type(builder *b, const gql_definition *d)
{
    static const gql_kind kinds[] = {
        [GQL_DEF_SCALAR] = GQL_KIND_SCALAR,       [GQL_DEF_OBJECT] = GQL_KIND_OBJECT,
        [GQL_DEF_INTERFACE] = GQL_KIND_INTERFACE, [GQL_DEF_UNION] = GQL_KIND_UNION,
        [GQL_DEF_ENUM] = GQL_KIND_ENUM,           [GQL_DEF_INPUT_OBJECT] = GQL_KIND_INPUT_OBJECT};
    gql_type *existing = gql_schema_type(b->s, d->name);
    if (existing && existing->builtin && existing->kind == GQL_KIND_SCALAR && d->kind == GQL_DEF_SCALAR &&
        !d->directives)
        return 0; /* "scalar String" restates a built-in scalar */
    if (reserved(b, d->name, d->loc))
        return -1;
    gql_type *t = alloc(b, sizeof(*t));
    if (!t)
        return -1;
    *t = (gql_type){.kind = kinds[d->kind], .name = d->name, .ast = d, .builtin = b->prelude};
    t->cname = gql_strdup(&b->s->arena, d->name);
    static const char *builtins[] = {"", "Int", "Float", "String", "Boolean", "ID"};
    for (int i = 1; b->prelude && t->kind == GQL_KIND_SCALAR && i < 6; i++)
        if (masd_str_eq(d->name, masd_str_from(builtins[i])))
            t->is = (gql_builtin_scalar)i;
    int r = gql_map_put(&b->s->arena, &b->s->types, d->name, t, NULL);
    if (r < 0)
        return b->nomem = true, -1;
    if (r == 0)
        return error(b, d->loc, "There can be only one type named \"%.*s\".", NAME(d->name));
    if (masd_str_eq(d->name, MASD_STR("__Meta"))) /* the meta-fields' holder is no type of the schema */
        return 0;
    b->s->type_list[b->s->ntypes++] = t; /* room for every definition was made */
    return 0;
}

/* The reason of @deprecated among directives, or NULL. */
static const char *deprecation(builder *b, const gql_directive *d)
{
    for (; d; d = d->next) {
        if (!masd_str_eq(d->name, MASD_STR("deprecated")))
            continue;
        for (const gql_argument *a = d->args; a; a = a->next)
            if (masd_str_eq(a->name, MASD_STR("reason")) && a->value->kind == GQL_VALUE_STRING)
                return gql_strdup(&b->s->arena, a->value->text);
        return "No longer supported";
    }
    return NULL;
}

static size_t count_members(const gql_member *m)
{
    size_t n = 0;
    for (; m; m = m->next)
        n++;
    return n;
}

static gql_input_value *input_values(builder *b, const gql_member *list, size_t *n, const char *what)
{
    *n = count_members(list);
    gql_input_value *v = alloc(b, (*n ? *n : 1) * sizeof(*v));
    if (!v)
        return NULL;
    size_t i = 0;
    for (const gql_member *m = list; m; m = m->next, i++) {
        reserved(b, m->name, m->loc);
        for (size_t k = 0; k < i; k++)
            if (masd_str_eq(v[k].name, m->name))
                error(b, m->loc, "There can be only one %s named \"%.*s\".", what, NAME(m->name));
        v[i] = (gql_input_value){
            .ast = m, .name = m->name, .type = m->type, .deprecation = deprecation(b, m->directives)};
        resolve_ref(b, m->type);
    }
    return v;
}

static void fill_fields(builder *b, gql_type *t)
{
    const gql_definition *d = t->ast;
    t->nfields = count_members(d->members);
    t->fields = alloc(b, (t->nfields ? t->nfields : 1) * sizeof(*t->fields));
    if (!t->fields)
        return;
    size_t i = 0;
    for (const gql_member *m = d->members; m; m = m->next, i++) {
        gql_field_def *f = &t->fields[i];
        *f = (gql_field_def){.ast = m, .name = m->name, .type = m->type, .owner = t, .cost = 1};
        f->cname = gql_strdup(&b->s->arena, m->name);
        f->deprecation = deprecation(b, m->directives);
        reserved(b, m->name, m->loc);
        resolve_ref(b, m->type);
        f->args = input_values(b, m->args, &f->nargs, "argument");
        int r = gql_map_put(&b->s->arena, &t->field_index, m->name, f, NULL);
        if (r < 0)
            b->nomem = true;
        else if (r == 0)
            error(b, m->loc, "Field \"%s.%.*s\" can only be defined once.", t->cname, NAME(m->name));
    }
}

/* Interfaces of an object or interface, members of a union. */
static gql_type **type_list(builder *b, const gql_definition *d, size_t *n, gql_kind want, const char *what)
{
    *n = 0;
    for (const gql_name *x = d->names; x; x = x->next)
        (*n)++;
    gql_type **list = alloc(b, (*n ? *n : 1) * sizeof(*list));
    if (!list)
        return NULL;
    size_t i = 0;
    for (const gql_name *x = d->names; x; x = x->next, i++) {
        list[i] = gql_schema_type(b->s, x->name);
        if (!list[i] || list[i]->kind != want)
            error(b, x->loc, "\"%.*s\" is not %s.", NAME(x->name), what);
        for (size_t k = 0; k < i; k++)
            if (list[k] == list[i])
                error(b, x->loc, "\"%.*s\" is listed twice.", NAME(x->name));
    }
    return list;
}

static void fill_type(builder *b, gql_type *t)
{
    const gql_definition *d = t->ast;
    switch (t->kind) {
    case GQL_KIND_SCALAR:
        for (const gql_directive *x = d->directives; x; x = x->next)
            for (const gql_argument *a = x->args; masd_str_eq(x->name, MASD_STR("specifiedBy")) && a;
                 a = a->next)
                if (masd_str_eq(a->name, MASD_STR("url")) && a->value->kind == GQL_VALUE_STRING)
                    t->specified_by = gql_strdup(&b->s->arena, a->value->text);
        break;
    case GQL_KIND_OBJECT:
    case GQL_KIND_INTERFACE:
        fill_fields(b, t);
        t->interfaces = type_list(b, d, &t->ninterfaces, GQL_KIND_INTERFACE, "an interface type");
        break;
    case GQL_KIND_UNION:
        t->possible = type_list(b, d, &t->npossible, GQL_KIND_OBJECT, "an object type a union can hold");
        break;
    case GQL_KIND_ENUM:
        t->nvalues = count_members(d->members);
        t->values = alloc(b, (t->nvalues ? t->nvalues : 1) * sizeof(*t->values));
        size_t i = 0;
        for (const gql_member *m = d->members; t->values && m; m = m->next, i++) {
            for (size_t k = 0; k < i; k++)
                if (masd_str_eq(t->values[k].name, m->name))
                    error(b, m->loc, "Enum value \"%s.%.*s\" can only be defined once.", t->cname,
                          NAME(m->name));
            t->values[i] =
                (gql_enum_value){.name = m->name, .ast = m, .deprecation = deprecation(b, m->directives)};
        }
        break;
    case GQL_KIND_INPUT_OBJECT:
        t->input_fields = input_values(b, d->members, &t->ninput_fields, "input field");
        break;
    }
}

static unsigned location_bits(const gql_name *names)
{
    unsigned bits = 0;
    for (; names; names = names->next)
        for (int l = 0; l < GQL_LOC_COUNT; l++)
            if (masd_str_eq(names->name, masd_str_from(gql_location_names[l])))
                bits |= 1u << l;
    return bits;
}

static bool same_directive(const gql_directive_def *a, const gql_directive_def *b)
{
    if (a->nargs != b->nargs || a->locations != b->locations || a->repeatable != b->repeatable)
        return false;
    for (size_t i = 0; i < a->nargs; i++)
        if (!masd_str_eq(a->args[i].name, b->args[i].name) ||
            !gql_type_ref_equal(a->args[i].type, b->args[i].type))
            return false;
    return true;
}

static void declare_directive(builder *b, const gql_definition *d)
{
    gql_directive_def *x = alloc(b, sizeof(*x));
    if (!x)
        return;
    *x = (gql_directive_def){.ast = d,
                             .name = d->name,
                             .locations = location_bits(d->names),
                             .repeatable = d->repeatable,
                             .builtin = b->prelude};
    reserved(b, d->name, d->loc);
    x->args = input_values(b, d->members, &x->nargs, "argument");
    void *old = NULL;
    int r = gql_map_put(&b->s->arena, &b->s->directives, d->name, x, &old);
    if (r < 0) {
        b->nomem = true;
    } else if (r == 0) {
        const gql_directive_def *o = old;
        if (o->builtin && !x->builtin && same_directive(o, x))
            return; /* a built-in directive restated as it is (MAS's printed schema does) */
        error(b, d->loc, "There can be only one directive named \"@%.*s\".", NAME(d->name));
    } else {
        b->s->directive_list[b->s->ndirectives++] = x;
    }
}

/* ---- default values: coerced once, nested input objects' defaults first ---- */

static void coerce_default(builder *b, gql_input_value *iv);

/* Coerces the defaults a literal of type t will use when it leaves fields out. */
static void prepare_literal(builder *b, const gql_value *v, const gql_type_ref *t)
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

static void coerce_default(builder *b, gql_input_value *iv)
{
    const gql_value *v = iv->ast ? iv->ast->default_value : NULL;
    if (!v || iv->default_state == 2 || !gql_named(iv->type))
        return;
    if (iv->default_state == 1) {
        error(b, v->loc, "The default value of \"%.*s\" refers to itself.", NAME(iv->name));
        return;
    }
    iv->default_state = 1;
    prepare_literal(b, v, iv->type);
    char message[256];
    if (gql_coerce_literal(v, iv->type, NULL, &iv->default_json, message, sizeof(message)) < 0)
        error(b, v->loc, "Invalid default value for \"%.*s\": %s.", NAME(iv->name), message);
    iv->default_state = 2;
}

static void coerce_defaults(builder *b, gql_input_value *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        coerce_default(b, &list[i]);
}

/* ---- validation of the type system (§3) ---- */

static void check_arguments(builder *b, const gql_input_value *args, size_t n, gql_location where)
{
    char tb[128];
    for (size_t i = 0; i < n; i++) {
        const gql_input_value *a = &args[i];
        if (!gql_named(a->type))
            continue;
        if (!gql_is_input_type(a->type))
            error(b, a->ast->loc, "The type of \"%.*s\" must be an input type but got: %s.", NAME(a->name),
                  gql_type_ref_print(a->type, tb, sizeof(tb)));
        if (a->deprecation && a->type->kind == GQL_TYPE_NON_NULL && !a->ast->default_value)
            error(b, a->ast->loc, "Required \"%.*s\" cannot be deprecated.", NAME(a->name));
        if (gql_check_directives(b->s, a->ast->directives, where, b->errors) < 0)
            b->nomem |= json_array_size(b->errors) == 0;
    }
}

/* IsValidImplementation (§3.6.1): t provides every field of interface i, compatibly. */
static void check_implementation(builder *b, const gql_type *t, const gql_type *i)
{
    char t1[128], t2[128];
    if (i == t) {
        error(b, t->ast->loc, "Type \"%s\" cannot implement itself.", t->cname);
        return;
    }
    for (size_t k = 0; k < i->ninterfaces; k++)
        if (!implements(t, i->interfaces[k]))
            error(b, t->ast->loc, "Type \"%s\" must implement \"%s\" because it is implemented by \"%s\".",
                  t->cname, i->interfaces[k]->cname, i->cname);
    for (size_t k = 0; k < i->nfields; k++) {
        const gql_field_def *want = &i->fields[k], *f = gql_type_field(t, want->name);
        if (!f) {
            error(b, t->ast->loc, "Interface field \"%s.%.*s\" expected but \"%s\" does not provide it.",
                  i->cname, NAME(want->name), t->cname);
            continue;
        }
        if (!gql_named(f->type) || !gql_named(want->type))
            continue;
        if (!subtype(f->type, want->type, true))
            error(b, f->ast->loc,
                  "Interface field \"%s.%.*s\" expects type \"%s\" but \"%s.%.*s\" is type \"%s\".", i->cname,
                  NAME(want->name), gql_type_ref_print(want->type, t1, sizeof(t1)), t->cname, NAME(f->name),
                  gql_type_ref_print(f->type, t2, sizeof(t2)));
        for (size_t a = 0; a < want->nargs; a++) {
            const gql_input_value *arg = gql_input_lookup(f->args, f->nargs, want->args[a].name);
            if (!arg)
                error(b, f->ast->loc,
                      "Interface field argument \"%s.%.*s(%.*s:)\" expected but \"%s.%.*s\" does not provide "
                      "it.",
                      i->cname, NAME(want->name), NAME(want->args[a].name), t->cname, NAME(f->name));
            else if (gql_named(arg->type) && gql_named(want->args[a].type) &&
                     !gql_type_ref_equal(arg->type, want->args[a].type))
                error(b, arg->ast->loc, "Argument \"%s.%.*s(%.*s:)\" must have the type of the interface's.",
                      t->cname, NAME(f->name), NAME(arg->name));
        }
        for (size_t a = 0; a < f->nargs; a++)
            if (f->args[a].type->kind == GQL_TYPE_NON_NULL && !f->args[a].ast->default_value &&
                !gql_input_lookup(want->args, want->nargs, f->args[a].name))
                error(b, f->args[a].ast->loc,
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

static void check_type(builder *b, gql_type *t)
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
            error(b, t->ast->loc, "Type \"%s\" must define one or more fields.", t->cname);
        for (size_t i = 0; i < t->nfields; i++) {
            const gql_field_def *f = &t->fields[i];
            if (gql_named(f->type) && !gql_is_output_type(f->type))
                error(b, f->ast->loc, "The type of \"%s.%.*s\" must be an output type but got: %s.", t->cname,
                      NAME(f->name), gql_type_ref_print(f->type, tb, sizeof(tb)));
            gql_check_directives(b->s, f->ast->directives, GQL_LOC_FIELD_DEFINITION, b->errors);
            check_arguments(b, f->args, f->nargs, GQL_LOC_ARGUMENT_DEFINITION);
        }
        for (size_t i = 0; i < t->ninterfaces; i++)
            if (t->interfaces[i] && t->interfaces[i]->kind == GQL_KIND_INTERFACE)
                check_implementation(b, t, t->interfaces[i]);
        break;
    case GQL_KIND_UNION:
        if (t->npossible == 0)
            error(b, t->ast->loc, "Union type \"%s\" must define one or more member types.", t->cname);
        break;
    case GQL_KIND_ENUM:
        if (t->nvalues == 0)
            error(b, t->ast->loc, "Enum type \"%s\" must define one or more values.", t->cname);
        for (size_t i = 0; i < t->nvalues; i++)
            gql_check_directives(b->s, t->values[i].ast->directives, GQL_LOC_ENUM_VALUE, b->errors);
        break;
    case GQL_KIND_INPUT_OBJECT:
        if (t->ninput_fields == 0)
            error(b, t->ast->loc, "Input object type \"%s\" must define one or more fields.", t->cname);
        check_arguments(b, t->input_fields, t->ninput_fields, GQL_LOC_INPUT_FIELD_DEFINITION);
        if (non_null_cycle(t, t, 0))
            error(b, t->ast->loc, "Input object \"%s\" refers to itself through non-null fields only.",
                  t->cname);
        break;
    default:
        break;
    }
}

/* Interfaces learn the objects that implement them (their possible types). */
static void link_possible(builder *b)
{
    gql_schema *s = b->s;
    for (int pass = 0; pass < 2; pass++) { /* count, then fill */
        for (size_t i = 0; i < s->ntypes; i++) {
            gql_type *in = s->type_list[i];
            if (in->kind != GQL_KIND_INTERFACE)
                continue;
            if (pass == 1 &&
                !(in->possible = alloc(b, (in->npossible ? in->npossible : 1) * sizeof(gql_type *))))
                return;
            in->npossible = 0;
        }
        for (size_t i = 0; i < s->ntypes; i++) {
            gql_type *o = s->type_list[i];
            for (size_t k = 0; o->kind == GQL_KIND_OBJECT && k < o->ninterfaces; k++) {
                gql_type *in = o->interfaces[k];
                if (in && in->kind == GQL_KIND_INTERFACE) {
                    if (pass == 1)
                        in->possible[in->npossible] = o;
                    in->npossible++;
                }
            }
        }
    }
}

static void set_roots(builder *b, const gql_definition *schema_def)
{
    static const char *defaults[] = {"Query", "Mutation", "Subscription"};
    gql_schema *s = b->s;
    if (schema_def) {
        s->description = schema_def->description;
        gql_check_directives(s, schema_def->directives, GQL_LOC_SCHEMA, b->errors);
        for (const gql_name *n = schema_def->names; n; n = n->next) {
            gql_type *t = gql_schema_type(s, n->name);
            if (s->roots[n->operation])
                error(b, n->loc, "There can be only one %s type in schema.", defaults[n->operation]);
            else if (!t || t->kind != GQL_KIND_OBJECT)
                error(b, n->loc, "Root type \"%.*s\" must be a defined object type.", NAME(n->name));
            s->roots[n->operation] = t;
        }
    } else {
        for (int op = 0; op < 3; op++) {
            gql_type *t = gql_schema_type(s, masd_str_from(defaults[op]));
            if (t && t->kind != GQL_KIND_OBJECT)
                error(b, t->ast->loc, "Root type \"%s\" must be an object type.", t->cname);
            s->roots[op] = t;
        }
    }
    if (!s->roots[GQL_QUERY])
        error(b, (gql_loc){0}, "Query root type must be provided.");
}

static void bind_resolvers(builder *b, const gql_resolver *list)
{
    for (; list && list->field; list++) {
        const char *dot = strchr(list->field, '.');
        gql_type *t =
            dot ? gql_schema_type(b->s, (masd_str){list->field, (size_t)(dot - list->field)}) : NULL;
        gql_field_def *f = t && t->kind == GQL_KIND_OBJECT
                               ? (gql_field_def *)gql_type_field(t, masd_str_from(dot + 1))
                               : NULL;
        if (!f)
            error(b, (gql_loc){0}, "Resolver for \"%s\": no such field of an object type.", list->field);
        else if (f->resolve)
            error(b, (gql_loc){0}, "Resolver for \"%s\": bound twice.", list->field);
        else
            f->resolve = list->resolve, f->cost = list->cost ? list->cost : 1;
    }
}

static void bind_scalars(builder *b, const gql_scalar *list)
{
    for (; list && list->name; list++) {
        gql_type *t = gql_schema_type(b->s, masd_str_from(list->name));
        if (!t || t->kind != GQL_KIND_SCALAR || t->builtin)
            error(b, (gql_loc){0}, "Scalar hooks for \"%s\": no such custom scalar.", list->name);
        else
            t->scalar = list;
    }
}

/* ---- the whole build ---- */

static void declare_all(builder *b, const gql_document *doc, const gql_definition **schema_def)
{
    for (const gql_definition *d = doc->definitions; d; d = d->next) {
        if (d->kind == GQL_DEF_OPERATION || d->kind == GQL_DEF_FRAGMENT)
            error(b, d->loc, "A schema holds type system definitions only.");
        else if (d->extension)
            error(b, d->loc, "Type extensions are not supported: define \"%.*s\" in one place.",
                  NAME(d->name));
        else if (d->kind == GQL_DEF_SCHEMA && *schema_def)
            error(b, d->loc, "Must provide only one schema definition.");
        else if (d->kind == GQL_DEF_SCHEMA)
            *schema_def = d;
        else if (d->kind != GQL_DEF_DIRECTIVE)
            declare_type(b, d);
    }
}

/* The types and directives each definition of doc declared. */
static void fill_all(builder *b, const gql_document *doc)
{
    for (const gql_definition *d = doc->definitions; d; d = d->next) {
        if (d->extension || d->kind == GQL_DEF_OPERATION || d->kind == GQL_DEF_FRAGMENT ||
            d->kind == GQL_DEF_SCHEMA)
            continue;
        if (d->kind == GQL_DEF_DIRECTIVE) {
            declare_directive(b, d);
            continue;
        }
        gql_type *t = gql_schema_type(b->s, d->name);
        if (t && t->ast == d)
            fill_type(b, t);
    }
}

static void check_all(builder *b)
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

static char *format_errors(json_t *errors)
{
    size_t size = 1;
    char *text = NULL;
    for (size_t i = 0; i < json_array_size(errors) && i < 20; i++) {
        json_t *e = json_array_get(errors, i), *l = json_array_get(json_object_get(e, "locations"), 0);
        char line[600];
        int n = snprintf(line, sizeof(line), "%s%d:%d: %s", i ? "\n" : "",
                         (int)json_integer_value(json_object_get(l, "line")),
                         (int)json_integer_value(json_object_get(l, "column")),
                         json_string_value(json_object_get(e, "message")));
        char *t = realloc(text, size + (size_t)n);
        if (!t)
            break;
        memcpy(t + size - 1, line, (size_t)n + 1);
        text = t;
        size += (size_t)n;
    }
    return text;
}

int gql_schema_build(const gql_schema_def *def, gql_schema **out, char **error_text)
{
    *out = NULL;
    if (error_text)
        *error_text = NULL;
    gql_schema *s = calloc(1, sizeof(*s));
    json_t *errors = json_array();
    if (!s || !errors) {
        free(s);
        json_decref(errors);
        return -ENOMEM;
    }
    builder b = {.s = s, .errors = errors};
    size_t len = def->sdl_len ? def->sdl_len : strlen(def->sdl);
    char *sdl = gql_strdup(&s->arena, (masd_str){def->sdl, len});
    gql_document prelude, doc;
    const gql_definition *schema_def = NULL;
    int r =
        sdl ? gql_parse(&s->arena, gql_prelude_sdl, strlen(gql_prelude_sdl), SIZE_MAX, 64, &prelude, errors)
            : -ENOMEM;
    if (r == 0)
        r = gql_parse(&s->arena, sdl, len, SIZE_MAX, 64, &doc, errors);
    size_t ndefs = 0;
    for (const gql_definition *d = r == 0 ? prelude.definitions : NULL; d; d = d->next)
        ndefs++;
    for (const gql_definition *d = r == 0 ? doc.definitions : NULL; d; d = d->next)
        ndefs++;
    if (r == 0 && (!(s->type_list = gql_alloc(&s->arena, ndefs * sizeof(gql_type *))) ||
                   !(s->directive_list = gql_alloc(&s->arena, ndefs * sizeof(gql_directive_def *)))))
        r = -ENOMEM;
    if (r == 0) {
        b.prelude = true;
        declare_all(&b, &prelude, &schema_def);
        fill_all(&b, &prelude);
        b.prelude = false;
        declare_all(&b, &doc, &schema_def);
        fill_all(&b, &doc);
    }
    if (r == 0 && !json_array_size(errors)) {
        link_possible(&b);
        set_roots(&b, schema_def);
        check_all(&b);
        bind_scalars(&b, def->scalars);
        bind_resolvers(&b, def->resolvers);
        bind_resolvers(&b, gql_introspection_resolvers);
        gql_type *meta = gql_schema_type(s, MASD_STR("__Meta"));
        s->meta_schema = gql_type_field(meta, MASD_STR("__schema"));
        s->meta_type = gql_type_field(meta, MASD_STR("__type"));
        s->meta_typename = gql_type_field(meta, MASD_STR("__typename"));
    }
    if (r == -ENOMEM || b.nomem || json_array_size(errors)) {
        if (r != -ENOMEM && !b.nomem && error_text)
            *error_text = format_errors(errors);
        r = r == -ENOMEM || b.nomem ? -ENOMEM : -EINVAL;
        json_decref(errors);
        gql_schema_free(s);
        return r;
    }
    json_decref(errors);
    *out = s;
    return 0;
}

void gql_schema_free(gql_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntypes; i++) {
        gql_type *t = s->type_list[i];
        for (size_t k = 0; k < t->nfields; k++)
            for (size_t a = 0; a < t->fields[k].nargs; a++)
                json_decref(t->fields[k].args[a].default_json);
        for (size_t k = 0; k < t->ninput_fields; k++)
            json_decref(t->input_fields[k].default_json);
    }
    for (size_t i = 0; i < s->ndirectives; i++)
        for (size_t a = 0; a < s->directive_list[i]->nargs; a++)
            json_decref(s->directive_list[i]->args[a].default_json);
    gql_type *meta = gql_schema_type(s, MASD_STR("__Meta"));
    for (size_t k = 0; meta && k < meta->nfields; k++)
        for (size_t a = 0; a < meta->fields[k].nargs; a++)
            json_decref(meta->fields[k].args[a].default_json);
    gql_arena_free(&s->arena);
    free(s);
}
