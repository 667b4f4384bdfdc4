/* masd's GraphQL engine (docs/graphql.md): a schema built from SDL text with C resolvers bound
 * to its fields, and requests parsed, validated and executed against it (GraphQL, October 2021
 * edition), bounded in every dimension by gql_limits.
 *
 * Values are jansson JSON throughout: a resolver returns a JSON value for its field; an object
 * value's fields without a resolver of their own are read from it by name (the default
 * resolver); a value of an interface or union type names its object type in a "__typename"
 * member. A built schema is immutable and may be shared by threads; one request runs on one
 * thread, synchronously: resolvers are blocking C functions. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct gql_schema gql_schema;
typedef struct gql_prepared gql_prepared;

/* What a resolver is given. */
typedef struct gql_resolve_info {
    void *context;          /* the caller's pointer, as given to gql_run() */
    const json_t *parent;   /* the object value the field is selected on (an empty object on roots) */
    const json_t *args;     /* coerced arguments: an object; an argument given as null is a JSON null,
                               one not given (and without a default) is absent */
    const char *type_name;  /* the object type, e.g. "User" */
    const char *field_name; /* e.g. "emails" */
    struct gql_exec *exec;  /* for gql_error() and gql_selects() */
    const void *field;      /* the field's selections, for gql_selects() */
} gql_resolve_info;

/* Returns 0 with *result a new reference (NULL or JSON null: the field is null), or -1 after
 * gql_error() (the field is null and the error is reported with its path). */
typedef int (*gql_resolve_fn)(const gql_resolve_info *info, json_t **result);

/* A resolver bound to "Type.field" of an object type. */
typedef struct {
    const char *field; /* "Type.field"; NULL ends a table */
    gql_resolve_fn resolve;
    unsigned cost; /* complexity of the field itself (0: 1); see gql_limits.max_complexity */
} gql_resolver;

/* Coercion of a custom scalar (GraphQL §3.5.6). Each returns 0 with *out a new reference, or -1
 * with *message set to a static explanation. NULL hooks pass any JSON value through. */
typedef struct {
    const char *name;                                                       /* NULL ends a table */
    int (*parse)(const json_t *in, json_t **out, const char **message);     /* input: literal or variable */
    int (*serialize)(const json_t *in, json_t **out, const char **message); /* a resolver's value */
} gql_scalar;

typedef struct {
    const char *sdl; /* the type system in SDL; the built-in scalars and directives need not be in it */
    size_t sdl_len;  /* 0: strlen(sdl) */
    const gql_resolver *resolvers;
    const gql_scalar *scalars;
} gql_schema_def;

/* Builds and validates a schema (GraphQL §3): every type named exists, every resolver's field
 * exists, interfaces are implemented, default values fit their types. On failure returns
 * -EINVAL with *error a malloc'd "line:column: what" message, or -ENOMEM. */
int gql_schema_build(const gql_schema_def *def, gql_schema **out, char **error);
void gql_schema_free(gql_schema *schema);

/* The caps of a request (0 in a field: its default from gql_limits_default()). */
typedef struct {
    size_t max_document_bytes;       /* the query text */
    size_t max_tokens;               /* lexical tokens of the query text */
    unsigned max_nesting;            /* syntactic nesting: selection sets, list and object values, types */
    unsigned max_depth;              /* field depth of an operation, fragments expanded; introspection
                                        fields (under __schema, __type) do not count */
    unsigned long max_complexity;    /* sum of field costs, a field's selections multiplied by its
                                        `first`/`last` argument */
    unsigned max_aliases;            /* aliased fields in an operation, fragments expanded */
    unsigned max_page_size;          /* largest `first`/`last` argument */
    unsigned long max_result_values; /* fields and list items in a response */
    bool no_introspection;           /* refuse __schema and __type (__typename stays) */
} gql_limits;

gql_limits gql_limits_default(void);

/* One request's document, operation and variables. */
typedef struct {
    const char *query;
    size_t query_len;
    const char *operation_name; /* NULL: the only operation */
    const json_t *variables;    /* NULL or an object */
    bool forbid_mutations;      /* the request came by GET: a mutation is refused */
} gql_request;

typedef enum {
    GQL_QUERY,
    GQL_MUTATION,
    GQL_SUBSCRIPTION,
} gql_operation_type;

/* Parses, validates, selects the operation, coerces the variables and applies the caps. Returns
 * 0 with *out ready for gql_run(), or -EINVAL with *errors a new JSON array of GraphQL errors (a
 * request error: the response has no "data"), -EPERM (with *errors) for a mutation when
 * forbid_mutations, or -ENOMEM. Pure: touches no resolver. */
int gql_prepare(const gql_schema *schema, const gql_limits *limits, const gql_request *request,
                gql_prepared **out, json_t **errors);
gql_operation_type gql_prepared_operation(const gql_prepared *prepared);
/* Executes (GraphQL §6): returns the response, {"errors": […]?, "data": …}, a new reference
 * (NULL only when out of memory). Mutation fields run one after the other. */
json_t *gql_run(gql_prepared *prepared, void *context);
void gql_prepared_free(gql_prepared *prepared);

/* The response to a request error: {"errors": errors} (takes the reference). */
json_t *gql_error_response(json_t *errors);

/* gql_prepare() and gql_run() in one. */
json_t *gql_execute(const gql_schema *schema, const gql_limits *limits, const gql_request *request,
                    void *context);

/* Records a field error for the field being resolved; returns -1 for `return gql_error(...)`. */
int gql_error(const gql_resolve_info *info, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with an "extensions" object (the reference is taken). */
int gql_error_ext(const gql_resolve_info *info, json_t *extensions, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether the field being resolved selects `name` directly (through fragments that apply, after
 * @skip/@include), e.g. whether a connection must count its rows for "totalCount". */
bool gql_selects(const gql_resolve_info *info, const char *name);

/* The response path of the field being resolved, as its errors carry it (["setPassword"],
 * ["viewer", "emails", …]): a new reference, NULL when out of memory. */
json_t *gql_path(const gql_resolve_info *info);
