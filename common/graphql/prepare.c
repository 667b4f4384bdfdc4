/* A request's preparation (GraphQL §6.1): the limits, parse, validation, GetOperation,
 * CoerceVariableValues and the caps; nothing that runs a resolver. */
#include "internal.h"
#include <errno.h>
#include <stdlib.h>

#define NAME(s)     (int)(s).len, (s).ptr
#define ARENA_LIMIT (16u << 20)

gql_limits gql_limits_default(void)
{
    return (gql_limits){
        .max_document_bytes = 64 * 1024,
        .max_tokens = 10000,
        .max_nesting = 40,
        .max_depth = 12,
        .max_complexity = 5000,
        .max_aliases = 30,
        .max_page_size = 100,
        .max_result_values = 100000,
    };
}

static gql_limits limits_or_default(const gql_limits *in)
{
    gql_limits d = gql_limits_default(), l = in ? *in : d;
#define DEFAULT(f)                                                                                           \
    if (!l.f)                                                                                                \
    l.f = d.f
    DEFAULT(max_document_bytes);
    DEFAULT(max_tokens);
    DEFAULT(max_nesting);
    DEFAULT(max_depth);
    DEFAULT(max_complexity);
    DEFAULT(max_aliases);
    DEFAULT(max_page_size);
    DEFAULT(max_result_values);
#undef DEFAULT
    return l;
}

/* ---- preparation (§6.1) ---- */

static const gql_definition *get_operation(const gql_document *doc, const char *name, json_t *errors)
{
    const gql_definition *found = NULL;
    size_t count = 0;
    for (const gql_definition *d = doc->definitions; d; d = d->next) {
        if (d->kind != GQL_DEF_OPERATION)
            continue;
        count++;
        if (name ? masd_str_eq(d->name, masd_str_from(name)) : !found)
            found = d;
    }
    if (name && !found)
        gql_error_add(errors, (gql_loc){0}, "Unknown operation named \"%s\".", name);
    else if (!found)
        gql_error_add(errors, (gql_loc){0}, "The document holds no operation.");
    else if (!name && count > 1)
        return gql_error_add(errors, (gql_loc){0},
                             "Must provide operation name if query contains multiple operations."),
               NULL;
    return found;
}

/* CoerceVariableValues (§6.1.2). */
static json_t *coerce_variables(const gql_definition *op, const json_t *given, json_t *errors)
{
    json_t *out = json_object();
    char tb[128], message[300];
    for (const gql_var_def *d = op->variables; out && d; d = d->next) {
        const json_t *v = given ? json_object_getn(given, d->name.ptr, d->name.len) : NULL;
        json_t *c = NULL;
        int r = 0;
        if (!v && d->default_value)
            r = gql_coerce_literal(d->default_value, d->type, NULL, &c, message, sizeof(message));
        else if (!v && d->type->kind == GQL_TYPE_NON_NULL)
            r = gql_error_add(errors, d->loc, "Variable \"$%.*s\" of required type \"%s\" was not provided.",
                              NAME(d->name), gql_type_ref_print(d->type, tb, sizeof(tb))),
            r = -2;
        else if (v)
            r = gql_coerce_json(v, d->type, &c, message, sizeof(message));
        if (r == -1)
            gql_error_add(errors, d->loc, "Variable \"$%.*s\" got an invalid value: %s.", NAME(d->name),
                          message);
        if (c && json_object_setn_new(out, d->name.ptr, d->name.len, c) < 0)
            json_decref(out), out = NULL;
    }
    return out;
}

json_t *gql_error_response(json_t *errors)
{
    return json_pack("{s:o}", "errors", errors);
}

int gql_prepare(const gql_schema *schema, const gql_limits *limits_in, const gql_request *request,
                gql_prepared **out, json_t **errors_out)
{
    *out = NULL;
    *errors_out = NULL;
    gql_limits limits = limits_or_default(limits_in);
    json_t *errors = json_array();
    gql_prepared *p = calloc(1, sizeof(*p));
    if (!errors || !p) {
        json_decref(errors);
        free(p);
        return -ENOMEM;
    }
    *p = (gql_prepared){.arena = {.limit = ARENA_LIMIT}, .schema = schema, .limits = limits};
    int r = -EINVAL;
    if (!request->query)
        gql_error_add(errors, (gql_loc){0}, "No query was given.");
    else if (request->query_len > limits.max_document_bytes)
        gql_error_add(errors, (gql_loc){0}, "The document exceeds %zu bytes.", limits.max_document_bytes);
    else if (request->variables && !json_is_object(request->variables))
        gql_error_add(errors, (gql_loc){0}, "Variables must be an object.");
    else
        r = 0;
    char *text = r == 0 ? gql_strdup(&p->arena, (masd_str){request->query, request->query_len}) : NULL;
    if (r == 0 && !text)
        r = -ENOMEM;
    if (r == 0)
        r = gql_parse(&p->arena, text, request->query_len, limits.max_tokens, limits.max_nesting, &p->doc,
                      errors);
    /* a mutation over GET is refused before validation, whatever it holds */
    if (r == 0 && request->forbid_mutations) {
        json_t *ignored = json_array();
        const gql_definition *op = ignored ? get_operation(&p->doc, request->operation_name, ignored) : NULL;
        json_decref(ignored);
        if (op && op->operation == GQL_MUTATION) {
            gql_error_add(errors, op->loc, "Mutations are not allowed over GET.");
            r = -EPERM;
        }
    }
    if (r == 0)
        r = gql_validate(schema, &limits, &p->arena, &p->doc, errors);
    if (r == 0 && !(p->operation = get_operation(&p->doc, request->operation_name, errors)))
        r = -EINVAL;
    if (r == 0 && !(p->variables = coerce_variables(p->operation, request->variables, errors)))
        r = -ENOMEM;
    if (r == 0 && json_array_size(errors))
        r = -EINVAL;
    if (r == 0)
        r = gql_check_caps(schema, &limits, p->operation, p->variables, errors);
    if (r == 0 && json_array_size(errors))
        r = -EINVAL;
    if (r == -ENOMEM && p->arena.full) { /* the request's share of memory, not the machine's */
        json_array_clear(errors);
        r = gql_error_add(errors, (gql_loc){0}, "The document is too large.") < 0 ? -ENOMEM : -EINVAL;
    }
    if (r < 0) {
        gql_prepared_free(p);
        if ((r == -EINVAL || r == -EPERM) && json_array_size(errors)) {
            *errors_out = errors;
            return r;
        }
        json_decref(errors);
        return -ENOMEM;
    }
    json_decref(errors);
    *out = p;
    return 0;
}

gql_operation_type gql_prepared_operation(const gql_prepared *p)
{
    return p->operation->operation;
}

void gql_prepared_free(gql_prepared *p)
{
    if (!p)
        return;
    json_decref(p->variables);
    gql_arena_free(&p->arena);
    free(p);
}

json_t *gql_execute(const gql_schema *schema, const gql_limits *limits, const gql_request *request,
                    void *context)
{
    gql_prepared *p;
    json_t *errors;
    int r = gql_prepare(schema, limits, request, &p, &errors);
    if (r == -EINVAL || r == -EPERM)
        return gql_error_response(errors);
    if (r < 0)
        return NULL;
    json_t *response = gql_run(p, context);
    gql_prepared_free(p);
    return response;
}
