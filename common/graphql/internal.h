/* What the stages of the GraphQL engine share: the arena, the name map, the syntax tree the
 * parser builds and the schema's types. Not for services: they see graphql.h only. */
#pragma once
#include "graphql.h"
#include "str.h"
#include <stdarg.h>
#include <stdint.h>

/* ---- arena: every node of a document or schema, freed at once ---- */

typedef struct gql_chunk gql_chunk;
typedef struct {
    gql_chunk *chunks;
    size_t used, limit; /* bytes handed out so far; the most it may hand out (0: no cap) */
    bool full;          /* an allocation was refused for the limit */
} gql_arena;

/* Zeroed memory for n bytes, or NULL when out of memory or past the arena's limit. */
void *gql_alloc(gql_arena *a, size_t n);
/* A NUL-terminated copy in the arena. */
char *gql_strdup(gql_arena *a, masd_str s);
void gql_arena_free(gql_arena *a);

/* ---- map: names to pointers (open addressing, in the arena) ---- */

typedef struct {
    masd_str *keys;
    void **values;
    size_t cap, count;
} gql_map;

/* Adds key → value unless the key is there: returns 1 added, 0 already there (*existing, when
 * not NULL, gets its value), -ENOMEM. The key's bytes must outlive the map. */
int gql_map_put(gql_arena *a, gql_map *m, masd_str key, void *value, void **existing);
void *gql_map_get(const gql_map *m, masd_str key);

/* ---- syntax tree (GraphQL §2, §3) ---- */

typedef struct {
    uint32_t line, column;
} gql_loc;

typedef enum {
    GQL_VALUE_VARIABLE,
    GQL_VALUE_INT,
    GQL_VALUE_FLOAT,
    GQL_VALUE_STRING,
    GQL_VALUE_BOOLEAN,
    GQL_VALUE_NULL,
    GQL_VALUE_ENUM,
    GQL_VALUE_LIST,
    GQL_VALUE_OBJECT,
} gql_value_kind;

/* A value literal. An object's fields are its items, each with field_name set. */
typedef struct gql_value {
    gql_value_kind kind;
    gql_loc loc;
    masd_str text; /* variable or enum name, number as written, decoded string (valid UTF-8) */
    bool boolean;
    struct gql_value *items; /* list items, object fields */
    masd_str field_name;     /* when an object's field */
    struct gql_value *next;
} gql_value;

typedef struct gql_type gql_type;

typedef enum {
    GQL_TYPE_NAMED,
    GQL_TYPE_LIST,
    GQL_TYPE_NON_NULL,
} gql_type_ref_kind;

typedef struct gql_type_ref {
    gql_type_ref_kind kind;
    gql_loc loc;
    masd_str name;           /* named */
    struct gql_type_ref *of; /* list, non-null */
    gql_type *type;          /* named: the schema's type, once resolved */
} gql_type_ref;

typedef struct gql_argument {
    masd_str name;
    gql_loc loc;
    gql_value *value;
    struct gql_argument *next;
} gql_argument;

typedef struct gql_directive {
    masd_str name;
    gql_loc loc;
    gql_argument *args;
    struct gql_directive *next;
} gql_directive;

typedef enum {
    GQL_SEL_FIELD,
    GQL_SEL_SPREAD,
    GQL_SEL_INLINE,
} gql_selection_kind;

struct gql_field_def;
struct gql_definition;

typedef struct gql_selection {
    gql_selection_kind kind;
    gql_loc loc;
    masd_str alias;     /* field: empty when none */
    masd_str name;      /* field name, or the spread fragment's name */
    masd_str type_cond; /* inline fragment: empty when none */
    gql_argument *args;
    gql_directive *directives;
    struct gql_selection *selections; /* field, inline fragment: NULL when none */
    struct gql_selection *next;
    /* filled in by validation */
    const struct gql_field_def *def;       /* field: its definition on the static parent type */
    gql_type *cond;                        /* inline fragment: its type condition, or NULL */
    const struct gql_definition *fragment; /* spread: the fragment */
} gql_selection;

/* A field or argument definition, an input value, an enum value (SDL). */
typedef struct gql_member {
    masd_str description; /* decoded; ptr NULL when none */
    masd_str name;
    gql_loc loc;
    struct gql_member *args; /* field definitions */
    gql_type_ref *type;      /* NULL for enum values */
    gql_value *default_value;
    gql_directive *directives;
    struct gql_member *next;
} gql_member;

/* A name in a list: implemented interfaces, union members, directive locations, root types. */
typedef struct gql_name {
    masd_str name;
    gql_loc loc;
    gql_operation_type operation; /* root operation types */
    struct gql_name *next;
} gql_name;

typedef struct gql_var_def {
    masd_str name;
    gql_loc loc;
    gql_type_ref *type;
    gql_value *default_value;
    gql_directive *directives;
    struct gql_var_def *next;
} gql_var_def;

typedef enum {
    GQL_DEF_OPERATION,
    GQL_DEF_FRAGMENT,
    GQL_DEF_SCHEMA,
    GQL_DEF_SCALAR,
    GQL_DEF_OBJECT,
    GQL_DEF_INTERFACE,
    GQL_DEF_UNION,
    GQL_DEF_ENUM,
    GQL_DEF_INPUT_OBJECT,
    GQL_DEF_DIRECTIVE,
} gql_definition_kind;

typedef struct gql_definition {
    gql_definition_kind kind;
    bool extension; /* "extend …" */
    gql_loc loc;
    masd_str description;
    masd_str name; /* empty for an anonymous operation and a schema definition */
    gql_operation_type operation;
    gql_var_def *variables;
    masd_str type_cond; /* fragment */
    gql_directive *directives;
    gql_selection *selections;
    gql_name *names;     /* implemented interfaces, union members, directive locations, root types */
    gql_member *members; /* fields, input fields, enum values, directive arguments */
    bool repeatable;     /* directive definition */
    struct gql_definition *next;
    void *scratch; /* validation's per-definition state */
} gql_definition;

typedef struct {
    gql_definition *definitions;
} gql_document;

/* ---- errors: GraphQL error objects, collected in a JSON array ---- */

/* Replaces each byte of s that is not part of valid UTF-8 with '?'. */
void gql_utf8_sanitize(char *s);
/* Appends {"message", "locations": [loc]} (loc.line 0: none) to errors, unless they number
 * GQL_MAX_ERRORS already; -ENOMEM. */
int gql_error_add(json_t *errors, gql_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int gql_error_addv(json_t *errors, gql_loc loc, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* ---- lexer and parser (GraphQL §2) ---- */

typedef enum {
    GQL_TOK_EOF,
    GQL_TOK_BANG,
    GQL_TOK_DOLLAR,
    GQL_TOK_AMP,
    GQL_TOK_LPAREN,
    GQL_TOK_RPAREN,
    GQL_TOK_SPREAD,
    GQL_TOK_COLON,
    GQL_TOK_EQUALS,
    GQL_TOK_AT,
    GQL_TOK_LBRACKET,
    GQL_TOK_RBRACKET,
    GQL_TOK_LBRACE,
    GQL_TOK_PIPE,
    GQL_TOK_RBRACE,
    GQL_TOK_NAME,
    GQL_TOK_INT,
    GQL_TOK_FLOAT,
    GQL_TOK_STRING,
    GQL_TOK_BLOCK_STRING,
} gql_token_kind;

typedef struct {
    gql_token_kind kind;
    gql_loc loc;
    masd_str text; /* name, number as written, decoded string */
} gql_token;

typedef struct {
    const char *pos, *end;
    uint32_t line;
    const char *line_start;
    const char *col_pos; /* column cache: col is the column of col_pos on the current line */
    uint32_t col;
    size_t tokens, max_tokens;
    gql_arena *arena; /* for decoded strings */
    char error[160];  /* set when gql_lex() fails */
    gql_loc error_loc;
} gql_lexer;

void gql_lexer_init(gql_lexer *lx, gql_arena *arena, const char *src, size_t len, size_t max_tokens);
/* The next token; -1 with lx->error set on a lexical error or past max_tokens. */
int gql_lex(gql_lexer *lx, gql_token *tok);
const char *gql_token_describe(const gql_token *tok, char *buf, size_t size);

/* Parses a document (executable definitions and SDL alike). Returns 0, or -EINVAL with a syntax
 * error appended to errors (a limit exceeded is one too), or -ENOMEM. */
int gql_parse(gql_arena *arena, const char *src, size_t len, size_t max_tokens, unsigned max_nesting,
              gql_document *out, json_t *errors);

/* ---- schema (GraphQL §3) ---- */

typedef enum {
    GQL_KIND_SCALAR,
    GQL_KIND_OBJECT,
    GQL_KIND_INTERFACE,
    GQL_KIND_UNION,
    GQL_KIND_ENUM,
    GQL_KIND_INPUT_OBJECT,
} gql_kind;

typedef struct gql_input_value {
    const gql_member *ast;
    masd_str name;
    gql_type_ref *type;
    json_t *default_json;    /* coerced default value, or NULL when none */
    int default_state;       /* while building: 1 being coerced, 2 done */
    const char *deprecation; /* NULL when not deprecated */
} gql_input_value;

typedef struct gql_field_def {
    const gql_member *ast;
    masd_str name;
    gql_type_ref *type;
    gql_input_value *args;
    size_t nargs;
    const char *deprecation;
    gql_resolve_fn resolve;
    unsigned cost;
    const gql_type *owner;
    const char *cname; /* NUL-terminated name, for gql_resolve_info */
} gql_field_def;

typedef struct {
    masd_str name;
    const gql_member *ast;
    const char *deprecation;
} gql_enum_value;

typedef enum {
    GQL_CUSTOM_SCALAR,
    GQL_INT,
    GQL_FLOAT,
    GQL_STRING,
    GQL_BOOLEAN,
    GQL_ID,
} gql_builtin_scalar;

struct gql_type {
    gql_kind kind;
    masd_str name;
    const char *cname;
    const gql_definition *ast;
    gql_field_def *fields; /* object, interface */
    size_t nfields;
    gql_input_value *input_fields; /* input object */
    size_t ninput_fields;
    gql_enum_value *values; /* enum */
    size_t nvalues;
    gql_type **interfaces; /* object, interface */
    size_t ninterfaces;
    gql_type **possible; /* union: members; interface: the objects implementing it */
    size_t npossible;
    const gql_scalar *scalar; /* custom scalar hooks, or NULL */
    const char *specified_by;
    gql_map field_index;
    bool builtin;          /* built-in scalar or introspection type */
    gql_builtin_scalar is; /* which built-in scalar */
};

typedef struct {
    const gql_definition *ast;
    masd_str name;
    gql_input_value *args;
    size_t nargs;
    unsigned locations; /* bit per gql_location */
    bool repeatable;
    bool builtin;
} gql_directive_def;

/* Directive locations (GraphQL §3.13), in the spec's order. */
typedef enum {
    GQL_LOC_QUERY,
    GQL_LOC_MUTATION,
    GQL_LOC_SUBSCRIPTION,
    GQL_LOC_FIELD,
    GQL_LOC_FRAGMENT_DEFINITION,
    GQL_LOC_FRAGMENT_SPREAD,
    GQL_LOC_INLINE_FRAGMENT,
    GQL_LOC_VARIABLE_DEFINITION,
    GQL_LOC_SCHEMA,
    GQL_LOC_SCALAR,
    GQL_LOC_OBJECT,
    GQL_LOC_FIELD_DEFINITION,
    GQL_LOC_ARGUMENT_DEFINITION,
    GQL_LOC_INTERFACE,
    GQL_LOC_UNION,
    GQL_LOC_ENUM,
    GQL_LOC_ENUM_VALUE,
    GQL_LOC_INPUT_OBJECT,
    GQL_LOC_INPUT_FIELD_DEFINITION,
    GQL_LOC_COUNT,
} gql_location;

extern const char *const gql_location_names[GQL_LOC_COUNT];

struct gql_schema {
    gql_arena arena;
    gql_map types;
    gql_type **type_list; /* in definition order */
    size_t ntypes;
    gql_map directives;
    gql_directive_def **directive_list;
    size_t ndirectives;
    gql_type *roots[3]; /* query, mutation, subscription (NULL when none) */
    masd_str description;
    const gql_field_def *meta_schema, *meta_type, *meta_typename; /* __schema, __type, __typename */
};

gql_type *gql_schema_type(const gql_schema *s, masd_str name);
const gql_field_def *gql_type_field(const gql_type *t, masd_str name);
/* The field `name` selected on t, the meta-fields included (__typename everywhere, __schema and
 * __type on the query root). */
const gql_field_def *gql_field_lookup(const gql_schema *s, const gql_type *t, masd_str name);
const gql_directive_def *gql_schema_directive(const gql_schema *s, masd_str name);
const gql_enum_value *gql_enum_lookup(const gql_type *t, masd_str name);
const gql_input_value *gql_input_lookup(const gql_input_value *list, size_t n, masd_str name);

/* The named type under the wrappers. */
gql_type *gql_named(const gql_type_ref *t);
bool gql_is_input_type(const gql_type_ref *t);
bool gql_is_output_type(const gql_type_ref *t);
bool gql_is_leaf(const gql_type *t);
bool gql_is_composite(const gql_type *t);
bool gql_is_abstract(const gql_type *t);
/* Whether object type o is a possible type of t (t itself when t is an object). */
bool gql_possible(const gql_type *t, const gql_type *o);
/* Whether some object type is possible for both (GraphQL §5.5.2.3). */
bool gql_types_overlap(const gql_type *a, const gql_type *b);
/* Whether object or interface t declares that it implements interface i. */
bool gql_implements(const gql_type *t, const gql_type *i);
/* Type refs: the same structure and named types; a variable's type allowed where super goes
 * (§5.8.5 AreTypesCompatible); a field's type valid for the interface's (§3.6.1
 * IsValidImplementationFieldType). */
bool gql_type_ref_equal(const gql_type_ref *a, const gql_type_ref *b);
bool gql_type_ref_subtype(const gql_type_ref *sub, const gql_type_ref *super);
bool gql_type_ref_covariant(const gql_type_ref *sub, const gql_type_ref *super);
/* "[Int!]" into buf. */
const char *gql_type_ref_print(const gql_type_ref *t, char *buf, size_t size);

/* ---- requests (prepare.c, execute.c) ---- */

struct gql_prepared {
    gql_arena arena;
    const gql_schema *schema;
    gql_limits limits;
    gql_document doc;
    const gql_definition *operation;
    json_t *variables; /* coerced */
};

/* The schema a request runs against (for introspection's resolvers). */
const gql_schema *gql_exec_schema(const struct gql_exec *e);

/* A schema being built (schema.c, schema_check.c). */
typedef struct {
    gql_schema *s;
    json_t *errors;
    bool nomem;
    bool prelude; /* building the prelude: "__" names allowed */
} gql_builder;

/* Records an error of the schema; returns -1. */
int gql_build_error(gql_builder *b, gql_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Coerces the default values, then checks the type system's rules (schema_check.c). */
void gql_schema_check(gql_builder *b);

/* Introspection's types and the built-in scalars and directives, in SDL (introspect.c). */
extern const char gql_prelude_sdl[];
/* Binds the introspection resolvers (introspect.c). */
extern const gql_resolver gql_introspection_resolvers[];

/* ---- values (GraphQL §3.5, §3.10, §6.1.2, §6.4.1) ---- */

/* Coerces a literal to an input type: variables from `variables` (an object of coerced values;
 * NULL during validation: any variable is accepted). Returns 0 with *out (a new reference, NULL
 * meaning "absent": an unset variable), or -1 with message set. */
int gql_coerce_literal(const gql_value *v, const gql_type_ref *type, const json_t *variables, json_t **out,
                       char *message, size_t size);
/* Coerces an input JSON value (a variable's). Returns 0 with *out, -1 with message set. */
int gql_coerce_json(const json_t *in, const gql_type_ref *type, json_t **out, char *message, size_t size);
/* Coerces the arguments of a field or directive into an object. */
int gql_coerce_arguments(const gql_input_value *defs, size_t n, const gql_argument *args,
                         const json_t *variables, json_t **out, char *message, size_t size, gql_loc *where);
/* Checks directives used at a location: defined, allowed there, not repeated unless repeatable,
 * arguments known and of the right type (§5.7). Errors appended; -1 when any. */
int gql_check_directives(const gql_schema *s, const gql_directive *list, gql_location where, json_t *errors);
/* The literal as GraphQL text into buf; returns the length it needs (cut when >= size). */
size_t gql_value_print(const gql_value *v, char *buf, size_t size);
/* Two literals are the same value (variables by name; object fields in any order). */
bool gql_value_equal(const gql_value *a, const gql_value *b);

/* ---- validation (GraphQL §5) ---- */

/* Runs every rule of §5 over the document; errors appended. Returns 0 when valid, -EINVAL,
 * -ENOMEM. */
int gql_validate(const gql_schema *schema, const gql_limits *limits, gql_arena *arena, gql_document *doc,
                 json_t *errors);
/* Fields in the operation's selection sets can merge (§5.3.2), fragments expanded
 * (validate_merge.c); each field looked at counts in *work, refused past
 * GQL_MAX_VALIDATION_WORK. Returns 0, -EINVAL with an error appended, -ENOMEM. */
int gql_validate_merge(const gql_schema *schema, const gql_definition *operation, json_t *errors,
                       size_t *work);
/* Depth, complexity, alias and page-size caps of the operation, with its coerced variables. */
int gql_check_caps(const gql_schema *schema, const gql_limits *limits, const gql_definition *operation,
                   const json_t *variables, json_t *errors);
/* Whether @skip/@include keep a selection (with coerced variables). */
bool gql_included(const gql_directive *d, const json_t *variables);

/* Internal hard bound of recursion through fragments and selections, whatever the limits say. */
#define GQL_MAX_RECURSION 256
/* At most this many expanded fields are looked at by the validation walks of one operation. */
#define GQL_MAX_EXPANDED_FIELDS 100000
/* The work validation does for one document beyond one walk of it (fragments reached, variables'
 * uses, fields compared for merging), whatever the number of operations. */
#define GQL_MAX_VALIDATION_WORK 1000000
/* Validation stops after this many errors. */
#define GQL_MAX_ERRORS 100
