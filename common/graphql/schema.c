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

int gql_build_error(gql_builder *b, gql_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (gql_error_addv(b->errors, loc, fmt, ap) < 0)
        b->nomem = true;
    va_end(ap);
    return -1;
}

static void *alloc(gql_builder *b, size_t n)
{
    void *p = gql_alloc(&b->s->arena, n);
    if (!p)
        b->nomem = true;
    return p;
}

/* ---- building ---- */

static bool reserved(gql_builder *b, masd_str name, gql_loc loc)
{
    if (b->prelude || name.len < 2 || name.ptr[0] != '_' || name.ptr[1] != '_')
        return false;
    gql_build_error(b, loc,
                    "Name \"%.*s\" must not begin with \"__\", which is reserved by GraphQL introspection.",
                    NAME(name));
    return true;
}

static void resolve_ref(gql_builder *b, gql_type_ref *t)
{
    while (t->kind != GQL_TYPE_NAMED)
        t = t->of;
    t->type = gql_schema_type(b->s, t->name);
    if (!t->type)
        gql_build_error(b, t->loc, "Unknown type \"%.*s\".", NAME(t->name));
}

static int declare_type(gql_builder *b, const gql_definition *d)
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
        return gql_build_error(b, d->loc, "There can be only one type named \"%.*s\".", NAME(d->name));
    if (masd_str_eq(d->name, MASD_STR("__Meta"))) /* the meta-fields' holder is no type of the schema */
        return 0;
    b->s->type_list[b->s->ntypes++] = t; /* room for every definition was made */
    return 0;
}

/* The reason of @deprecated among directives, or NULL. */
static const char *deprecation(gql_builder *b, const gql_directive *d)
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

static gql_input_value *input_values(gql_builder *b, const gql_member *list, size_t *n, const char *what)
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
                gql_build_error(b, m->loc, "There can be only one %s named \"%.*s\".", what, NAME(m->name));
        v[i] = (gql_input_value){
            .ast = m, .name = m->name, .type = m->type, .deprecation = deprecation(b, m->directives)};
        resolve_ref(b, m->type);
    }
    return v;
}

static void fill_fields(gql_builder *b, gql_type *t)
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
            gql_build_error(b, m->loc, "Field \"%s.%.*s\" can only be defined once.", t->cname,
                            NAME(m->name));
    }
}

/* Interfaces of an object or interface, members of a union. */
static gql_type **type_list(gql_builder *b, const gql_definition *d, size_t *n, gql_kind want,
                            const char *what)
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
            gql_build_error(b, x->loc, "\"%.*s\" is not %s.", NAME(x->name), what);
        for (size_t k = 0; k < i; k++)
            if (list[k] == list[i])
                gql_build_error(b, x->loc, "\"%.*s\" is listed twice.", NAME(x->name));
    }
    return list;
}

static void fill_type(gql_builder *b, gql_type *t)
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
                    gql_build_error(b, m->loc, "Enum value \"%s.%.*s\" can only be defined once.", t->cname,
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

static void declare_directive(gql_builder *b, const gql_definition *d)
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
        gql_build_error(b, d->loc, "There can be only one directive named \"@%.*s\".", NAME(d->name));
    } else {
        b->s->directive_list[b->s->ndirectives++] = x;
    }
}

/* Interfaces learn the objects that implement them (their possible types). */
static void link_possible(gql_builder *b)
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

static void set_roots(gql_builder *b, const gql_definition *schema_def)
{
    static const char *defaults[] = {"Query", "Mutation", "Subscription"};
    gql_schema *s = b->s;
    if (schema_def) {
        s->description = schema_def->description;
        gql_check_directives(s, schema_def->directives, GQL_LOC_SCHEMA, b->errors);
        for (const gql_name *n = schema_def->names; n; n = n->next) {
            gql_type *t = gql_schema_type(s, n->name);
            if (s->roots[n->operation])
                gql_build_error(b, n->loc, "There can be only one %s type in schema.",
                                defaults[n->operation]);
            else if (!t || t->kind != GQL_KIND_OBJECT)
                gql_build_error(b, n->loc, "Root type \"%.*s\" must be a defined object type.",
                                NAME(n->name));
            s->roots[n->operation] = t;
        }
    } else {
        for (int op = 0; op < 3; op++) {
            gql_type *t = gql_schema_type(s, masd_str_from(defaults[op]));
            if (t && t->kind != GQL_KIND_OBJECT)
                gql_build_error(b, t->ast->loc, "Root type \"%s\" must be an object type.", t->cname);
            s->roots[op] = t;
        }
    }
    if (!s->roots[GQL_QUERY])
        gql_build_error(b, (gql_loc){0}, "Query root type must be provided.");
}

static void bind_resolvers(gql_builder *b, const gql_resolver *list)
{
    for (; list && list->field; list++) {
        const char *dot = strchr(list->field, '.');
        gql_type *t =
            dot ? gql_schema_type(b->s, (masd_str){list->field, (size_t)(dot - list->field)}) : NULL;
        gql_field_def *f = t && t->kind == GQL_KIND_OBJECT
                               ? (gql_field_def *)gql_type_field(t, masd_str_from(dot + 1))
                               : NULL;
        if (!f)
            gql_build_error(b, (gql_loc){0}, "Resolver for \"%s\": no such field of an object type.",
                            list->field);
        else if (f->resolve)
            gql_build_error(b, (gql_loc){0}, "Resolver for \"%s\": bound twice.", list->field);
        else
            f->resolve = list->resolve, f->cost = list->cost ? list->cost : 1;
    }
}

static void bind_scalars(gql_builder *b, const gql_scalar *list)
{
    for (; list && list->name; list++) {
        gql_type *t = gql_schema_type(b->s, masd_str_from(list->name));
        if (!t || t->kind != GQL_KIND_SCALAR || t->builtin)
            gql_build_error(b, (gql_loc){0}, "Scalar hooks for \"%s\": no such custom scalar.", list->name);
        else
            t->scalar = list;
    }
}

/* ---- the whole build ---- */

static void declare_all(gql_builder *b, const gql_document *doc, const gql_definition **schema_def)
{
    for (const gql_definition *d = doc->definitions; d; d = d->next) {
        if (d->kind == GQL_DEF_OPERATION || d->kind == GQL_DEF_FRAGMENT)
            gql_build_error(b, d->loc, "A schema holds type system definitions only.");
        else if (d->extension)
            gql_build_error(b, d->loc, "Type extensions are not supported: define \"%.*s\" in one place.",
                            NAME(d->name));
        else if (d->kind == GQL_DEF_SCHEMA && *schema_def)
            gql_build_error(b, d->loc, "Must provide only one schema definition.");
        else if (d->kind == GQL_DEF_SCHEMA)
            *schema_def = d;
        else if (d->kind != GQL_DEF_DIRECTIVE)
            declare_type(b, d);
    }
}

/* The types and directives each definition of doc declared. */
static void fill_all(gql_builder *b, const gql_document *doc)
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
    gql_builder b = {.s = s, .errors = errors};
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
        gql_schema_check(&b);
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
