/* Validation (GraphQL §5): the rules over the document alone first (definitions, names,
 * fragments and their cycles), then a walk of every operation and fragment with the schema's
 * types (fields, arguments, values, directives, leaf selections, fragment spreads, variables),
 * then the fields' merging (validate_merge.c). Validation stops after GQL_MAX_ERRORS errors, and
 * a later stage runs only when the earlier ones found nothing, so each may rely on them. */
#include "internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#define NAME(s) (int)(s).len, (s).ptr

/* A variable used where a value of `type` goes (§5.8.5). */
typedef struct usage {
    masd_str name;
    gql_loc loc;
    const gql_type_ref *type;
    bool has_default; /* the location has a default value */
    struct usage *next;
} usage;

typedef struct spread {
    const gql_definition *fragment;
    struct spread *next;
} spread;

/* What validation keeps per operation and fragment (gql_definition.scratch). */
typedef struct scope {
    usage *usages;
    spread *spreads;            /* fragments spread directly in it */
    unsigned stamp;             /* the last operation that reached it */
    struct scope *next_reached; /* the fragments that operation reaches, linked from its scope */
    int color;                  /* cycle search: 0 unseen, 1 on the path, 2 done */
    bool used;
} scope;

typedef struct {
    const gql_schema *schema;
    const gql_limits *limits;
    gql_arena *arena;
    json_t *errors;
    gql_map fragments;
    bool nomem;
    scope *current; /* the definition being walked */
    unsigned stamp;
    size_t work; /* fragments reached and variables' uses checked, merging's fields: capped */
} validation;

__attribute__((format(printf, 3, 4))) static void report(validation *v, gql_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (gql_error_addv(v->errors, loc, fmt, ap) < 0)
        v->nomem = true;
    va_end(ap);
}

static bool stop(const validation *v)
{
    return v->nomem || json_array_size(v->errors) >= GQL_MAX_ERRORS;
}

static void *alloc(validation *v, size_t n)
{
    void *p = gql_alloc(v->arena, n);
    if (!p)
        v->nomem = true;
    return p;
}

static scope *scope_of(const gql_definition *d)
{
    return d->scratch;
}

/* ---- directives (§5.7), shared with the schema's build ---- */

int gql_check_directives(const gql_schema *s, const gql_directive *list, gql_location where, json_t *errors)
{
    size_t before = json_array_size(errors);
    for (const gql_directive *d = list; d; d = d->next) {
        const gql_directive_def *def = gql_schema_directive(s, d->name);
        if (!def) {
            gql_error_add(errors, d->loc, "Unknown directive \"@%.*s\".", NAME(d->name));
            continue;
        }
        if (!(def->locations & (1u << where)))
            gql_error_add(errors, d->loc, "Directive \"@%.*s\" may not be used on %s.", NAME(d->name),
                          gql_location_names[where]);
        for (const gql_directive *e = d->next; !def->repeatable && e; e = e->next)
            if (masd_str_eq(e->name, d->name)) {
                gql_error_add(errors, e->loc,
                              "The directive \"@%.*s\" can only be used once at this location.",
                              NAME(d->name));
                break;
            }
        bool known = true;
        for (const gql_argument *a = d->args; a; a = a->next) {
            if (!gql_input_lookup(def->args, def->nargs, a->name)) {
                gql_error_add(errors, a->loc, "Unknown argument \"%.*s\" on directive \"@%.*s\".",
                              NAME(a->name), NAME(d->name));
                known = false;
            }
            for (const gql_argument *b = a->next; b; b = b->next)
                if (masd_str_eq(a->name, b->name)) {
                    gql_error_add(errors, b->loc, "There can be only one argument named \"%.*s\".",
                                  NAME(a->name));
                    known = false;
                }
        }
        json_t *args = NULL;
        char message[300];
        gql_loc at = d->loc;
        if (known && gql_coerce_arguments(def->args, def->nargs, d->args, NULL, &args, message,
                                          sizeof(message), &at) < 0)
            gql_error_add(errors, at, "%s (directive \"@%.*s\").", message, NAME(d->name));
        json_decref(args);
    }
    return json_array_size(errors) > before ? -1 : 0;
}

/* ---- the document alone (§5.1, §5.2, §5.5) ---- */

static void collect_spreads(validation *v, scope *sc, const gql_selection *s, unsigned depth)
{
    for (; s && !stop(v); s = s->next) {
        if (s->kind != GQL_SEL_SPREAD) {
            collect_spreads(v, sc, s->selections, depth + 1);
            continue;
        }
        const gql_definition *f = gql_map_get(&v->fragments, s->name);
        if (!f) {
            report(v, s->loc, "Unknown fragment \"%.*s\".", NAME(s->name));
            continue;
        }
        ((gql_selection *)s)->fragment = f;
        spread *sp = alloc(v, sizeof(*sp));
        if (!sp)
            return;
        *sp = (spread){f, sc->spreads};
        sc->spreads = sp;
    }
}

static void find_cycles(validation *v, const gql_definition *f, unsigned depth)
{
    scope *sc = scope_of(f);
    if (sc->color == 2 || stop(v))
        return;
    if (depth > GQL_MAX_RECURSION) {
        report(v, f->loc, "Fragments are nested too deeply.");
        return;
    }
    sc->color = 1;
    for (const spread *s = sc->spreads; s; s = s->next) {
        if (scope_of(s->fragment)->color == 1) {
            report(v, s->fragment->loc, "Cannot spread fragment \"%.*s\" within itself.",
                   NAME(s->fragment->name));
            continue;
        }
        find_cycles(v, s->fragment, depth + 1);
    }
    sc->color = 2;
}

/* Too much work for one document, however valid: refused rather than followed. */
static bool too_much(validation *v, gql_loc loc)
{
    if (++v->work <= GQL_MAX_VALIDATION_WORK)
        return false;
    if (v->work == GQL_MAX_VALIDATION_WORK + 1)
        report(v, loc, "The document is too complex to validate.");
    return true;
}

/* Marks and links from op's scope what an operation reaches, once each; acyclic by now. */
static void reach(validation *v, const gql_definition *d, scope *op, unsigned stamp)
{
    for (const spread *s = scope_of(d)->spreads; s && !stop(v); s = s->next) {
        scope *f = scope_of(s->fragment);
        if (f->stamp == stamp || too_much(v, s->fragment->loc))
            continue;
        f->stamp = stamp;
        f->used = true;
        f->next_reached = op->next_reached;
        op->next_reached = f;
        reach(v, s->fragment, op, stamp);
    }
}

static void check_document(validation *v, gql_document *doc)
{
    static const char *kinds[] = {"operation", "fragment", "schema", "scalar", "type",
                                  "interface", "union",    "enum",   "input",  "directive"};
    gql_map operations = {0};
    size_t nops = 0, anonymous = 0;
    for (gql_definition *d = doc->definitions; d && !stop(v); d = d->next) {
        if (d->kind != GQL_DEF_OPERATION && d->kind != GQL_DEF_FRAGMENT) {
            report(v, d->loc, "The \"%s\" definition is not executable.", kinds[d->kind]);
            continue;
        }
        if (!(d->scratch = alloc(v, sizeof(scope))))
            return;
        int r = 1;
        if (d->kind == GQL_DEF_FRAGMENT) {
            r = gql_map_put(v->arena, &v->fragments, d->name, d, NULL);
            if (r == 0)
                report(v, d->loc, "There can be only one fragment named \"%.*s\".", NAME(d->name));
            continue;
        }
        nops++;
        if (!d->name.len)
            anonymous++;
        else if ((r = gql_map_put(v->arena, &operations, d->name, d, NULL)) == 0)
            report(v, d->loc, "There can be only one operation named \"%.*s\".", NAME(d->name));
        if (r < 0)
            v->nomem = true;
    }
    for (gql_definition *d = doc->definitions; d && !stop(v); d = d->next) {
        if (d->kind == GQL_DEF_OPERATION && !d->name.len && nops > 1)
            report(v, d->loc, "This anonymous operation must be the only defined operation.");
        if (d->scratch)
            collect_spreads(v, d->scratch, d->selections, 0);
    }
    for (gql_definition *d = doc->definitions; d && !stop(v); d = d->next)
        if (d->kind == GQL_DEF_FRAGMENT && d->scratch)
            find_cycles(v, d, 0);
    if (json_array_size(v->errors) || v->nomem)
        return;
    for (gql_definition *d = doc->definitions; d && !stop(v); d = d->next)
        if (d->kind == GQL_DEF_OPERATION)
            reach(v, d, scope_of(d), ++v->stamp);
    if (stop(v))
        return;
    for (gql_definition *d = doc->definitions; d && !stop(v); d = d->next)
        if (d->kind == GQL_DEF_FRAGMENT && !scope_of(d)->used)
            report(v, d->loc, "Fragment \"%.*s\" is never used.", NAME(d->name));
}

/* ---- values and variables' uses (§5.6, §5.8) ---- */

static void add_usage(validation *v, const gql_value *var, const gql_type_ref *type, bool has_default)
{
    usage *u = alloc(v, sizeof(*u));
    if (!u)
        return;
    *u = (usage){var->text, var->loc, type, has_default, v->current->usages};
    v->current->usages = u;
}

/* Records the variables a literal uses, each with the type expected where it stands. */
static void find_usages(validation *v, const gql_value *val, const gql_type_ref *type, bool has_default)
{
    if (val->kind == GQL_VALUE_VARIABLE) {
        add_usage(v, val, type, has_default);
        return;
    }
    const gql_type_ref *t = type->kind == GQL_TYPE_NON_NULL ? type->of : type;
    if (t->kind == GQL_TYPE_LIST) {
        if (val->kind != GQL_VALUE_LIST) /* a single value stands for a list of one */
            find_usages(v, val, t->of, false);
        for (const gql_value *i = val->kind == GQL_VALUE_LIST ? val->items : NULL; i; i = i->next)
            find_usages(v, i, t->of, false);
        return;
    }
    if (val->kind != GQL_VALUE_OBJECT || t->type->kind != GQL_KIND_INPUT_OBJECT)
        return;
    for (const gql_value *f = val->items; f; f = f->next) {
        const gql_input_value *d =
            gql_input_lookup(t->type->input_fields, t->type->ninput_fields, f->field_name);
        if (d)
            find_usages(v, f, d->type, d->default_json != NULL);
    }
}

/* Arguments of a field (§5.4) and their values (§5.6.1). */
static void check_arguments(validation *v, const gql_selection *s, const gql_field_def *def)
{
    char tb[128];
    for (const gql_argument *a = s->args; a; a = a->next) {
        const gql_input_value *d = gql_input_lookup(def->args, def->nargs, a->name);
        if (!d) {
            report(v, a->loc, "Unknown argument \"%.*s\" on field \"%s.%.*s\".", NAME(a->name),
                   def->owner->cname, NAME(def->name));
            continue;
        }
        const gql_argument *dup = a->next;
        while (dup && !masd_str_eq(dup->name, a->name))
            dup = dup->next;
        if (dup) {
            report(v, dup->loc, "There can be only one argument named \"%.*s\".", NAME(a->name));
            continue;
        }
        json_t *c = NULL;
        char message[300];
        if (gql_coerce_literal(a->value, d->type, NULL, &c, message, sizeof(message)) < 0)
            report(v, a->value->loc, "Argument \"%.*s\" has an invalid value: %s.", NAME(a->name), message);
        json_decref(c);
        find_usages(v, a->value, d->type, d->default_json != NULL);
    }
    for (size_t i = 0; i < def->nargs; i++) {
        const gql_input_value *d = &def->args[i];
        if (d->type->kind != GQL_TYPE_NON_NULL || d->default_json)
            continue;
        const gql_argument *a = s->args;
        while (a && !masd_str_eq(a->name, d->name))
            a = a->next;
        if (!a)
            report(v, s->loc,
                   "Field \"%.*s\" argument \"%.*s\" of type \"%s\" is required, but it was not provided.",
                   NAME(s->name), NAME(d->name), gql_type_ref_print(d->type, tb, sizeof(tb)));
    }
}

static void check_directives(validation *v, const gql_directive *list, gql_location where)
{
    if (!list)
        return;
    size_t before = json_array_size(v->errors);
    gql_check_directives(v->schema, list, where, v->errors);
    if (json_array_size(v->errors) > before)
        return;
    for (const gql_directive *d = list; d; d = d->next) {
        const gql_directive_def *def = gql_schema_directive(v->schema, d->name);
        for (const gql_argument *a = d->args; def && a; a = a->next) {
            const gql_input_value *iv = gql_input_lookup(def->args, def->nargs, a->name);
            if (iv)
                find_usages(v, a->value, iv->type, iv->default_json != NULL);
        }
    }
}

/* ---- the typed walk (§5.3, §5.5.2.3) ---- */

static bool introspection(masd_str name)
{
    return masd_str_eq(name, MASD_STR("__schema")) || masd_str_eq(name, MASD_STR("__type"));
}

static gql_type *condition(validation *v, masd_str name, gql_loc loc)
{
    gql_type *t = gql_schema_type(v->schema, name);
    if (!t)
        report(v, loc, "Unknown type \"%.*s\".", NAME(name));
    else if (!gql_is_composite(t))
        report(v, loc, "Fragment cannot condition on non composite type \"%.*s\".", NAME(name));
    return t && gql_is_composite(t) ? t : NULL;
}

static void walk(validation *v, gql_selection *s, const gql_type *parent);

static void walk_field(validation *v, gql_selection *s, const gql_type *parent)
{
    char tb[128];
    if (v->limits->no_introspection && introspection(s->name)) {
        report(v, s->loc, "GraphQL introspection is not allowed, but the query contained %.*s.",
               NAME(s->name));
        return;
    }
    const gql_field_def *def = gql_field_lookup(v->schema, parent, s->name);
    if (!def) {
        report(v, s->loc, "Cannot query field \"%.*s\" on type \"%s\".", NAME(s->name), parent->cname);
        return;
    }
    s->def = def;
    check_arguments(v, s, def);
    check_directives(v, s->directives, GQL_LOC_FIELD);
    const gql_type *t = gql_named(def->type);
    if (gql_is_leaf(t) && s->selections)
        report(v, s->loc, "Field \"%.*s\" must not have a selection since type \"%s\" has no subfields.",
               NAME(s->name), gql_type_ref_print(def->type, tb, sizeof(tb)));
    else if (!gql_is_leaf(t) && !s->selections)
        report(v, s->loc, "Field \"%.*s\" of type \"%s\" must have a selection of subfields.", NAME(s->name),
               gql_type_ref_print(def->type, tb, sizeof(tb)));
    else if (s->selections)
        walk(v, s->selections, t);
}

static void walk(validation *v, gql_selection *s, const gql_type *parent)
{
    for (; s && !stop(v); s = s->next) {
        if (s->kind == GQL_SEL_FIELD) {
            walk_field(v, s, parent);
            continue;
        }
        const gql_type *cond = parent;
        masd_str cond_name = s->type_cond;
        if (s->kind == GQL_SEL_SPREAD) {
            cond = gql_schema_type(v->schema, s->fragment->type_cond);
            cond_name = s->fragment->type_cond;
            check_directives(v, s->directives, GQL_LOC_FRAGMENT_SPREAD);
        } else {
            if (cond_name.len && !(s->cond = condition(v, cond_name, s->loc)))
                continue;
            cond = s->cond ? s->cond : parent;
            check_directives(v, s->directives, GQL_LOC_INLINE_FRAGMENT);
        }
        if (!cond || !gql_is_composite(cond))
            continue; /* reported with the fragment's definition */
        if (!gql_types_overlap(parent, cond)) {
            if (s->kind == GQL_SEL_SPREAD)
                report(v, s->loc,
                       "Fragment \"%.*s\" cannot be spread here as objects of type \"%s\" can never be of "
                       "type \"%s\".",
                       NAME(s->name), parent->cname, cond->cname);
            else
                report(
                    v, s->loc,
                    "Fragment cannot be spread here as objects of type \"%s\" can never be of type \"%s\".",
                    parent->cname, cond->cname);
        }
        if (s->kind == GQL_SEL_INLINE)
            walk(v, s->selections, cond);
    }
}

/* Variables of an operation (§5.8): unique, of input types, with valid defaults; each use
 * defined and allowed, each definition used, through every fragment the operation reaches. */
typedef struct {
    gql_var_def *def;
    bool used;
} variable;

static void check_variable_definitions(validation *v, gql_definition *op, gql_map *vars)
{
    char tb[128];
    for (gql_var_def *d = op->variables; d && !stop(v); d = d->next) {
        variable *var = alloc(v, sizeof(*var));
        if (!var)
            return;
        var->def = d;
        int r = gql_map_put(v->arena, vars, d->name, var, NULL);
        if (r < 0)
            v->nomem = true;
        else if (r == 0)
            report(v, d->loc, "There can be only one variable named \"$%.*s\".", NAME(d->name));
        gql_type_ref *named = d->type;
        while (named->kind != GQL_TYPE_NAMED)
            named = named->of;
        if (!(named->type = gql_schema_type(v->schema, named->name))) {
            report(v, named->loc, "Unknown type \"%.*s\".", NAME(named->name));
            continue;
        }
        if (!gql_is_input_type(d->type)) {
            report(v, d->loc, "Variable \"$%.*s\" cannot be non-input type \"%s\".", NAME(d->name),
                   gql_type_ref_print(d->type, tb, sizeof(tb)));
            continue;
        }
        json_t *c = NULL;
        char message[300];
        if (d->default_value &&
            gql_coerce_literal(d->default_value, d->type, NULL, &c, message, sizeof(message)) < 0)
            report(v, d->default_value->loc, "Variable \"$%.*s\" has an invalid default value: %s.",
                   NAME(d->name), message);
        json_decref(c);
        check_directives(v, d->directives, GQL_LOC_VARIABLE_DEFINITION);
    }
}

static void check_usages(validation *v, const gql_definition *op, const scope *sc, gql_map *vars)
{
    char t1[128], t2[128];
    for (const usage *u = sc->usages; u && !stop(v) && !too_much(v, u->loc); u = u->next) {
        variable *var = gql_map_get(vars, u->name);
        if (!var) {
            if (op->name.len)
                report(v, u->loc, "Variable \"$%.*s\" is not defined by operation \"%.*s\".", NAME(u->name),
                       NAME(op->name));
            else
                report(v, u->loc, "Variable \"$%.*s\" is not defined.", NAME(u->name));
            continue;
        }
        var->used = true;
        const gql_var_def *d = var->def;
        if (!gql_named(d->type) || !gql_is_input_type(d->type))
            continue;
        const gql_type_ref *want = u->type;
        if (want->kind == GQL_TYPE_NON_NULL && d->type->kind != GQL_TYPE_NON_NULL &&
            ((d->default_value && d->default_value->kind != GQL_VALUE_NULL) || u->has_default))
            want = want->of; /* a default stands in for null (§5.8.5 IsVariableUsageAllowed) */
        if (!gql_type_ref_subtype(d->type, want))
            report(v, u->loc, "Variable \"$%.*s\" of type \"%s\" used in position expecting type \"%s\".",
                   NAME(u->name), gql_type_ref_print(d->type, t1, sizeof(t1)),
                   gql_type_ref_print(u->type, t2, sizeof(t2)));
    }
}

static void check_variables(validation *v, gql_definition *op)
{
    gql_map vars = {0};
    check_variable_definitions(v, op, &vars);
    if (stop(v))
        return;
    scope *sc = scope_of(op);
    sc->next_reached = NULL;
    reach(v, op, sc, ++v->stamp);
    for (const scope *f = sc; f && !stop(v); f = f->next_reached)
        check_usages(v, op, f, &vars);
    for (const gql_var_def *d = op->variables; d && !stop(v); d = d->next) {
        const variable *var = gql_map_get(&vars, d->name);
        if (var && var->def == d && !var->used) {
            if (op->name.len)
                report(v, d->loc, "Variable \"$%.*s\" is never used in operation \"%.*s\".", NAME(d->name),
                       NAME(op->name));
            else
                report(v, d->loc, "Variable \"$%.*s\" is never used.", NAME(d->name));
        }
    }
}

static void check_operation(validation *v, gql_definition *op)
{
    static const char *names[] = {"query", "mutation", "subscription"};
    static const gql_location where[] = {GQL_LOC_QUERY, GQL_LOC_MUTATION, GQL_LOC_SUBSCRIPTION};
    const gql_type *root = v->schema->roots[op->operation];
    v->current = scope_of(op);
    check_directives(v, op->directives, where[op->operation]);
    if (op->operation == GQL_SUBSCRIPTION)
        report(v, op->loc, "Subscriptions are not supported.");
    else if (!root)
        report(v, op->loc, "Schema is not configured to execute %s operation.", names[op->operation]);
    else
        walk(v, op->selections, root);
}

static void check_fragment(validation *v, gql_definition *f)
{
    v->current = scope_of(f);
    check_directives(v, f->directives, GQL_LOC_FRAGMENT_DEFINITION);
    const gql_type *t = condition(v, f->type_cond, f->loc);
    if (t)
        walk(v, f->selections, t);
}

int gql_validate(const gql_schema *schema, const gql_limits *limits, gql_arena *arena, gql_document *doc,
                 json_t *errors)
{
    validation v = {.schema = schema, .limits = limits, .arena = arena, .errors = errors};
    check_document(&v, doc);
    if (!json_array_size(errors) && !v.nomem) {
        for (gql_definition *d = doc->definitions; d && !stop(&v); d = d->next) {
            if (d->kind == GQL_DEF_OPERATION)
                check_operation(&v, d);
            else
                check_fragment(&v, d);
        }
        for (gql_definition *d = doc->definitions; d && !stop(&v); d = d->next)
            if (d->kind == GQL_DEF_OPERATION)
                check_variables(&v, d);
    }
    for (gql_definition *d = doc->definitions; d && !json_array_size(errors) && !v.nomem; d = d->next)
        if (d->kind == GQL_DEF_OPERATION && d->operation != GQL_SUBSCRIPTION &&
            gql_validate_merge(schema, d, errors, &v.work) < 0)
            break;
    if (v.nomem)
        return -ENOMEM;
    return json_array_size(errors) ? -EINVAL : 0;
}
