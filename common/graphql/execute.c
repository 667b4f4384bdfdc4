/* Execution (GraphQL §6.3, §6.4) of a prepared request (prepare.c): the synchronous walk of the
 * operation: field collection with @skip/@include and fragments, argument coercion, resolvers,
 * value completion with abstract types resolved by "__typename", errors with their path, and
 * null propagation. */
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- field collection (§6.3.2) ---- */

typedef struct path {
    const struct path *prev;
    masd_str key; /* ptr NULL: a list index */
    size_t index;
} path;

typedef struct {
    masd_str name;              /* response name */
    const gql_selection *one;   /* the field node while there is one (the common case) */
    const gql_selection **more; /* all of them when there are more */
    size_t n, cap;
} field_group;

/* The fields of one object, grouped by response name; no allocation for up to 16 names. */
typedef struct {
    field_group *groups;
    size_t n, cap;
    field_group first[16];
} collected;

static const gql_selection *const *group_nodes(const field_group *g)
{
    return g->n == 1 ? &g->one : g->more;
}

struct gql_exec {
    gql_prepared *p;
    void *context;
    json_t *errors;
    unsigned long values;
    bool nomem, too_large;
    json_t *no_args;           /* the arguments of fields that take none */
    const path *path;          /* of the field being resolved */
    const gql_selection *node; /* its first field node */
};

const gql_schema *gql_exec_schema(const struct gql_exec *e)
{
    return e->p->schema;
}

bool gql_included(const gql_directive *d, const json_t *variables)
{
    for (; d; d = d->next) {
        bool skip = masd_str_eq(d->name, MASD_STR("skip"));
        if (!skip && !masd_str_eq(d->name, MASD_STR("include")))
            continue;
        const gql_value *v = d->args ? d->args->value : NULL; /* `if`, the only argument (validated) */
        bool on = false;
        if (v && v->kind == GQL_VALUE_BOOLEAN)
            on = v->boolean;
        else if (v && v->kind == GQL_VALUE_VARIABLE)
            on = json_is_true(json_object_getn(variables, v->text.ptr, v->text.len));
        if (skip == on)
            return false;
    }
    return true;
}

/* DoesFragmentTypeApply (§6.3.2). */
static bool applies(const gql_type *object, const gql_type *cond)
{
    return !cond || gql_possible(cond, object);
}

static int add_field(collected *c, const gql_selection *s)
{
    masd_str name = s->alias.len ? s->alias : s->name;
    field_group *g = NULL;
    for (size_t i = 0; i < c->n && !g; i++)
        if (masd_str_eq(c->groups[i].name, name))
            g = &c->groups[i];
    if (!g) {
        if (c->n == c->cap) {
            size_t cap = c->cap * 2;
            field_group *groups = c->groups == c->first ? malloc(cap * sizeof(*groups))
                                                        : realloc(c->groups, cap * sizeof(*groups));
            if (!groups)
                return -ENOMEM;
            if (c->groups == c->first)
                memcpy(groups, c->first, sizeof(c->first));
            c->groups = groups;
            c->cap = cap;
        }
        g = &c->groups[c->n++];
        *g = (field_group){.name = name, .one = s, .n = 1};
        return 0;
    }
    if (g->n == 1 || g->n == g->cap) {
        size_t cap = g->n == 1 ? 4 : g->cap * 2;
        const gql_selection **more = realloc(g->more, cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        if (g->n == 1)
            more[0] = g->one;
        g->more = more;
        g->cap = cap;
    }
    g->more[g->n++] = s;
    return 0;
}

static int collect(struct gql_exec *e, const gql_type *object, const gql_selection *s, collected *c,
                   const gql_definition **visited, size_t *nvisited)
{
    for (; s; s = s->next) {
        if (!gql_included(s->directives, e->p->variables))
            continue;
        if (s->kind == GQL_SEL_FIELD) {
            if (add_field(c, s) < 0)
                return -ENOMEM;
            continue;
        }
        const gql_type *cond = s->cond;
        const gql_selection *sub = s->selections;
        if (s->kind == GQL_SEL_SPREAD) {
            size_t i = 0;
            while (i < *nvisited && visited[i] != s->fragment)
                i++;
            if (i < *nvisited)
                continue;
            if (*nvisited < GQL_MAX_RECURSION)
                visited[(*nvisited)++] = s->fragment;
            cond = gql_schema_type(e->p->schema, s->fragment->type_cond);
            sub = s->fragment->selections;
        }
        if (applies(object, cond) && collect(e, object, sub, c, visited, nvisited) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The fields of the selection sets of `nodes` (one field's nodes, merged) on object. */
static int collect_fields(struct gql_exec *e, const gql_type *object, const gql_selection *const *nodes,
                          size_t n, collected *c)
{
    const gql_definition *visited[GQL_MAX_RECURSION];
    size_t nvisited = 0;
    c->groups = c->first;
    c->n = 0;
    c->cap = sizeof(c->first) / sizeof(c->first[0]);
    for (size_t i = 0; i < n; i++)
        if (collect(e, object, nodes[i]->selections, c, visited, &nvisited) < 0)
            return -ENOMEM;
    return 0;
}

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->groups[i].more);
    if (c->groups != c->first)
        free(c->groups);
}

/* ---- errors ---- */

static json_t *path_json(const path *p)
{
    json_t *a = p ? path_json(p->prev) : json_array();
    if (a && p)
        json_array_append_new(a, p->key.ptr ? json_stringn(p->key.ptr, p->key.len)
                                            : json_integer((json_int_t)p->index));
    return a;
}

static void field_error(struct gql_exec *e, const gql_selection *node, const path *p, json_t *extensions,
                        const char *message)
{
    if (json_array_size(e->errors) >= 1000) { /* one error per field; enough to say what went wrong */
        json_decref(extensions);
        return;
    }
    json_t *err =
        json_pack("{s:s,s:[{s:i,s:i}],s:o}", "message", message, "locations", "line",
                  (json_int_t)node->loc.line, "column", (json_int_t)node->loc.column, "path", path_json(p));
    if (err && extensions)
        json_object_set_new(err, "extensions", extensions);
    else
        json_decref(extensions);
    if (!err || json_array_append_new(e->errors, err) < 0)
        e->nomem = true;
}

__attribute__((format(printf, 4, 5))) static void field_errorf(struct gql_exec *e, const gql_selection *node,
                                                               const path *p, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    field_error(e, node, p, NULL, msg);
}

json_t *gql_path(const gql_resolve_info *info)
{
    return path_json(info->exec->path);
}

static int resolver_error(const gql_resolve_info *info, json_t *extensions, const char *fmt, va_list ap)
{
    char msg[400];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    gql_utf8_sanitize(msg); /* jansson takes valid UTF-8 only */
    field_error(info->exec, info->exec->node, info->exec->path, extensions, msg);
    return -1;
}

int gql_error(const gql_resolve_info *info, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    resolver_error(info, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int gql_error_ext(const gql_resolve_info *info, json_t *extensions, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    resolver_error(info, extensions, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- execution (§6.3, §6.4) ---- */

typedef struct {
    const gql_type *parent;
    const gql_field_def *def;
    const gql_selection *const *nodes;
    size_t n;
} field_ctx;

static json_t *execute_selections(struct gql_exec *e, const gql_type *object, const json_t *value,
                                  const gql_selection *const *nodes, size_t n, const path *p);

/* Whether the field being resolved selects `name` directly. */
bool gql_selects(const gql_resolve_info *info, const char *name)
{
    const field_ctx *f = info->field;
    const gql_type *t = gql_named(f->def->type);
    const gql_type *objects[1] = {t};
    const gql_type *const *candidates =
        t->kind == GQL_KIND_OBJECT ? objects : (const gql_type *const *)t->possible;
    size_t ncandidates = t->kind == GQL_KIND_OBJECT ? 1 : t->npossible;
    for (size_t i = 0; i < ncandidates; i++) {
        collected c;
        if (collect_fields(info->exec, candidates[i], f->nodes, f->n, &c) < 0)
            return true; /* out of memory: the safe answer */
        bool found = false;
        for (size_t k = 0; k < c.n && !found; k++)
            found = masd_str_eq(group_nodes(&c.groups[k])[0]->name, masd_str_from(name));
        collected_free(&c);
        if (found)
            return true;
    }
    return false;
}

static bool count_value(struct gql_exec *e, const gql_selection *node, const path *p)
{
    if (++e->values <= e->p->limits.max_result_values)
        return true;
    if (!e->too_large) {
        e->too_large = true;
        field_errorf(e, node, p, "The response exceeds the limit of %lu values.",
                     e->p->limits.max_result_values);
    }
    return false;
}

/* A resolver's value for a leaf type, serialized (§3.5, §3.9). */
static int serialize(struct gql_exec *e, const field_ctx *f, const gql_type *t, json_t *v, json_t **out,
                     const path *p)
{
    const char *why = NULL;
    if (t->kind == GQL_KIND_ENUM) {
        if (json_is_string(v) && gql_enum_lookup(t, masd_str_from(json_string_value(v))))
            return *out = json_incref(v), 0;
        why = "not one of the enum's values";
    } else if (t->scalar && t->scalar->serialize) {
        if (t->scalar->serialize(v, out, &why) == 0 && *out)
            return 0;
    } else if (!t->builtin) {
        return *out = json_incref(v), 0;
    } else if (t->is == GQL_INT) {
        double d = json_is_real(v) ? json_real_value(v) : 0;
        if (json_is_integer(v) && json_integer_value(v) >= INT32_MIN && json_integer_value(v) <= INT32_MAX)
            return *out = json_incref(v), 0;
        if (json_is_real(v) && d == floor(d) && d >= INT32_MIN && d <= INT32_MAX)
            return *out = json_integer((json_int_t)d), 0;
        why = "not a 32-bit integer";
    } else if (t->is == GQL_FLOAT) {
        if (json_is_number(v))
            return *out = json_real(json_number_value(v)), 0;
        why = "not a number";
    } else if (t->is == GQL_BOOLEAN) {
        if (json_is_boolean(v))
            return *out = json_incref(v), 0;
        why = "not a boolean";
    } else if (json_is_string(v)) { /* String, ID */
        return *out = json_incref(v), 0;
    } else if (t->is == GQL_ID && json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return *out = json_string(buf), 0;
    } else {
        why = "not a string";
    }
    field_errorf(e, f->nodes[0], p, "%s cannot represent the value of \"%s.%s\": %s.", t->cname,
                 f->parent->cname, f->def->cname, why ? why : "invalid");
    return -1;
}

/* The object type of an abstract type's value: its "__typename" (§6.4.3 ResolveAbstractType). */
static const gql_type *runtime_type(struct gql_exec *e, const field_ctx *f, const gql_type *t,
                                    const json_t *v, const path *p)
{
    const char *name = json_string_value(json_object_get(v, "__typename"));
    const gql_type *o = name ? gql_schema_type(e->p->schema, masd_str_from(name)) : NULL;
    if (o && o->kind == GQL_KIND_OBJECT && gql_possible(t, o))
        return o;
    field_errorf(e, f->nodes[0], p,
                 "Abstract type \"%s\" must resolve to an object type at runtime for field \"%s.%s\".",
                 t->cname, f->parent->cname, f->def->cname);
    return NULL;
}

/* CompleteValue (§6.4.3): 0 with *out, or -1 when the value is null because of an error
 * (reported), which its parent propagates when it may not be null. */
static int complete(struct gql_exec *e, const field_ctx *f, const gql_type_ref *type, json_t *v, json_t **out,
                    const path *p)
{
    *out = NULL;
    if (type->kind == GQL_TYPE_NON_NULL) {
        if (complete(e, f, type->of, v, out, p) < 0)
            return -1;
        if (json_is_null(*out)) {
            json_decref(*out);
            *out = NULL;
            field_errorf(e, f->nodes[0], p, "Cannot return null for non-nullable field \"%s.%s\".",
                         f->parent->cname, f->def->cname);
            return -1;
        }
        return 0;
    }
    if (!v || json_is_null(v))
        return *out = json_null(), 0;
    if (type->kind == GQL_TYPE_LIST) {
        if (!json_is_array(v)) {
            field_errorf(e, f->nodes[0], p, "Expected a list for field \"%s.%s\".", f->parent->cname,
                         f->def->cname);
            return -1;
        }
        json_t *list = json_array();
        for (size_t i = 0; list && i < json_array_size(v); i++) {
            path item = {p, {NULL, 0}, i};
            json_t *c;
            if (!count_value(e, f->nodes[0], &item) ||
                complete(e, f, type->of, json_array_get(v, i), &c, &item) < 0) {
                if (type->of->kind == GQL_TYPE_NON_NULL || e->too_large)
                    return json_decref(list), -1;
                c = json_null();
            }
            if (json_array_append_new(list, c) < 0)
                json_decref(list), list = NULL;
        }
        if (!list)
            e->nomem = true;
        return list ? (*out = list, 0) : -1;
    }
    const gql_type *t = type->type;
    if (gql_is_leaf(t))
        return serialize(e, f, t, v, out, p);
    if (gql_is_abstract(t) && !(t = runtime_type(e, f, t, v, p)))
        return -1;
    if (!json_is_object(v)) {
        field_errorf(e, f->nodes[0], p, "Expected an object for field \"%s.%s\".", f->parent->cname,
                     f->def->cname);
        return -1;
    }
    *out = execute_selections(e, t, v, f->nodes, f->n, p);
    return *out ? 0 : -1;
}

/* __typename, __schema, __type, or a field of the object: resolved and completed. */
static int execute_field(struct gql_exec *e, const gql_type *object, const json_t *value,
                         const field_group *g, const path *p, json_t **out)
{
    const gql_selection *const *nodes = group_nodes(g), *node = nodes[0];
    if (masd_str_eq(node->name, MASD_STR("__typename")))
        return *out = json_string(object->cname), 0;
    field_ctx f = {object, gql_field_lookup(e->p->schema, object, node->name), nodes, g->n};
    if (!f.def)
        return *out = json_null(), 0; /* validated: cannot happen */
    json_t *args = NULL, *resolved = NULL;
    char message[400];
    gql_loc where = node->loc;
    int r = f.def->nargs ? gql_coerce_arguments(f.def->args, f.def->nargs, node->args, e->p->variables, &args,
                                                message, sizeof(message), &where)
                         : (args = json_incref(e->no_args), 0);
    if (r < 0) {
        field_error(e, node, p, NULL, message);
    } else if (f.def->resolve) {
        gql_resolve_info info = {e->context, value, args, object->cname, f.def->cname, e, &f};
        size_t before = json_array_size(e->errors);
        e->path = p;
        e->node = node;
        r = f.def->resolve(&info, &resolved);
        if (r < 0 && json_array_size(e->errors) == before)
            field_errorf(e, node, p, "Internal error resolving \"%s.%s\".", object->cname, f.def->cname);
        if (r < 0)
            json_decref(resolved), resolved = NULL;
    } else {
        resolved = json_incref(json_object_getn(value, f.def->name.ptr, f.def->name.len));
    }
    json_decref(args);
    if (r == 0)
        r = complete(e, &f, f.def->type, resolved, out, p);
    json_decref(resolved);
    if (r < 0 && f.def->type->kind != GQL_TYPE_NON_NULL)
        return *out = json_null(), 0;
    return r;
}

/* ExecuteSelectionSet (§6.3): the object's response, or NULL when a non-null field failed. */
static json_t *execute_selections(struct gql_exec *e, const gql_type *object, const json_t *value,
                                  const gql_selection *const *nodes, size_t n, const path *p)
{
    collected c;
    json_t *result = json_object();
    if (!result || collect_fields(e, object, nodes, n, &c) < 0) {
        e->nomem = true;
        json_decref(result);
        return NULL;
    }
    for (size_t i = 0; i < c.n && result; i++) {
        path sub = {p, c.groups[i].name, 0};
        json_t *v = NULL;
        if (!count_value(e, group_nodes(&c.groups[i])[0], &sub) ||
            execute_field(e, object, value, &c.groups[i], &sub, &v) < 0) {
            json_decref(result);
            result = NULL;
        } else if (json_object_setn_new(result, c.groups[i].name.ptr, c.groups[i].name.len, v) < 0) {
            e->nomem = true;
            json_decref(result);
            result = NULL;
        }
    }
    collected_free(&c);
    return result;
}

json_t *gql_run(gql_prepared *p, void *context)
{
    struct gql_exec e = {.p = p, .context = context, .errors = json_array(), .no_args = json_object()};
    if (!e.errors || !e.no_args) {
        json_decref(e.errors);
        json_decref(e.no_args);
        return NULL;
    }
    const gql_type *root = p->schema->roots[p->operation->operation];
    gql_selection holder = {.kind = GQL_SEL_FIELD, .selections = p->operation->selections};
    const gql_selection *nodes[1] = {&holder};
    json_t *root_value = json_object();
    json_t *data = root_value ? execute_selections(&e, root, root_value, nodes, 1, NULL) : NULL;
    if (!root_value)
        e.nomem = true;
    json_decref(root_value);
    json_decref(e.no_args);
    if (e.nomem) {
        json_decref(data);
        json_decref(e.errors);
        return NULL;
    }
    json_t *response = json_object();
    if (response && json_array_size(e.errors))
        json_object_set(response, "errors", e.errors);
    if (response)
        json_object_set_new(response, "data", data ? data : json_null());
    else
        json_decref(data);
    json_decref(e.errors);
    return response;
}
