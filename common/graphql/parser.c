/* GraphQL's syntactic grammar (GraphQL §2 and the type system's SDL, §3, October 2021) by
 * recursive descent into an arena-allocated syntax tree with source locations. Bounded: the
 * lexer counts tokens, and every recursive production counts its nesting. */
#include "internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

typedef struct {
    gql_lexer lx;
    gql_arena *arena;
    gql_token tok; /* the current token */
    unsigned depth, max_depth;
    json_t *errors;
    bool nomem;
} parser;

__attribute__((format(printf, 3, 4))) static int syntax_error(parser *p, gql_loc loc, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (gql_error_add(p->errors, loc, "Syntax Error: %s", msg) < 0)
        p->nomem = true;
    return -1;
}

static void *alloc(parser *p, size_t n)
{
    void *r = gql_alloc(p->arena, n);
    if (!r && !p->nomem) {
        p->nomem = true;
        syntax_error(p, p->tok.loc, "out of memory");
    }
    return r;
}

#define NEW(p, T) ((T *)alloc((p), sizeof(T)))
#define TRY(x)                                                                                               \
    do {                                                                                                     \
        if ((x) < 0)                                                                                         \
            return -1;                                                                                       \
    } while (0)

static int advance(parser *p)
{
    if (gql_lex(&p->lx, &p->tok) < 0) {
        if (strstr(p->lx.error, "Out of memory"))
            p->nomem = true;
        return syntax_error(p, p->lx.error_loc, "%s", p->lx.error);
    }
    return 0;
}

static bool peek(const parser *p, gql_token_kind kind)
{
    return p->tok.kind == kind;
}

static bool peek_keyword(const parser *p, const char *word)
{
    return p->tok.kind == GQL_TOK_NAME && masd_str_eq(p->tok.text, masd_str_from(word));
}

static int unexpected(parser *p, const char *expected)
{
    char buf[64];
    return syntax_error(p, p->tok.loc, "Expected %s, found %s.", expected,
                        gql_token_describe(&p->tok, buf, sizeof(buf)));
}

static int expect(parser *p, gql_token_kind kind)
{
    static const char *names[] = {"<EOF>", "\"!\"", "\"$\"", "\"&\"", "\"(\"", "\")\"", "\"...\"", "\":\"",
                                  "\"=\"", "\"@\"", "\"[\"", "\"]\"", "\"{\"", "\"|\"", "\"}\"",   "Name"};
    if (!peek(p, kind))
        return unexpected(p, kind <= GQL_TOK_NAME ? names[kind] : "value");
    return advance(p);
}

/* 1 and past it when the current token is `kind`, 0 when not, -1 on a lexical error. */
static int skip(parser *p, gql_token_kind kind)
{
    if (!peek(p, kind))
        return 0;
    TRY(advance(p));
    return 1;
}

static int expect_keyword(parser *p, const char *word)
{
    if (!peek_keyword(p, word)) {
        char what[32];
        snprintf(what, sizeof(what), "\"%s\"", word);
        return unexpected(p, what);
    }
    return advance(p);
}

static int parse_name(parser *p, masd_str *name, gql_loc *loc)
{
    if (!peek(p, GQL_TOK_NAME))
        return unexpected(p, "Name");
    *name = p->tok.text;
    if (loc)
        *loc = p->tok.loc;
    return advance(p);
}

static int enter(parser *p)
{
    if (++p->depth > p->max_depth)
        return syntax_error(p, p->tok.loc, "Document exceeds the nesting limit of %u.", p->max_depth);
    return 0;
}

/* ---- values and types (§2.9, §2.11) ---- */

static int parse_value(parser *p, bool is_const, gql_value **out);

static int parse_list_or_object(parser *p, bool is_const, gql_value *v)
{
    bool list = v->kind == GQL_VALUE_LIST;
    gql_token_kind close = list ? GQL_TOK_RBRACKET : GQL_TOK_RBRACE;
    gql_value **tail = &v->items;
    TRY(enter(p));
    TRY(advance(p));
    while (!peek(p, close)) {
        gql_value *item;
        if (list) {
            TRY(parse_value(p, is_const, &item));
        } else {
            masd_str name;
            gql_loc loc;
            TRY(parse_name(p, &name, &loc));
            TRY(expect(p, GQL_TOK_COLON));
            TRY(parse_value(p, is_const, &item));
            item->field_name = name;
            item->loc = loc;
        }
        *tail = item;
        tail = &item->next;
    }
    p->depth--;
    return advance(p);
}

static int parse_value(parser *p, bool is_const, gql_value **out)
{
    gql_value *v = NEW(p, gql_value);
    if (!v)
        return -1;
    v->loc = p->tok.loc;
    v->text = p->tok.text;
    *out = v;
    switch (p->tok.kind) {
    case GQL_TOK_LBRACKET:
        v->kind = GQL_VALUE_LIST;
        return parse_list_or_object(p, is_const, v);
    case GQL_TOK_LBRACE:
        v->kind = GQL_VALUE_OBJECT;
        return parse_list_or_object(p, is_const, v);
    case GQL_TOK_INT:
        v->kind = GQL_VALUE_INT;
        return advance(p);
    case GQL_TOK_FLOAT:
        v->kind = GQL_VALUE_FLOAT;
        return advance(p);
    case GQL_TOK_STRING:
    case GQL_TOK_BLOCK_STRING:
        v->kind = GQL_VALUE_STRING;
        return advance(p);
    case GQL_TOK_NAME:
        if (peek_keyword(p, "true") || peek_keyword(p, "false")) {
            v->kind = GQL_VALUE_BOOLEAN;
            v->boolean = peek_keyword(p, "true");
        } else {
            v->kind = peek_keyword(p, "null") ? GQL_VALUE_NULL : GQL_VALUE_ENUM;
        }
        return advance(p);
    case GQL_TOK_DOLLAR:
        if (is_const)
            return syntax_error(p, p->tok.loc, "Unexpected variable in a constant value.");
        v->kind = GQL_VALUE_VARIABLE;
        TRY(advance(p));
        return parse_name(p, &v->text, NULL);
    default:
        return unexpected(p, "value");
    }
}

static int parse_type(parser *p, gql_type_ref **out)
{
    gql_type_ref *t = NEW(p, gql_type_ref);
    if (!t)
        return -1;
    t->loc = p->tok.loc;
    if (peek(p, GQL_TOK_LBRACKET)) {
        t->kind = GQL_TYPE_LIST;
        TRY(enter(p));
        TRY(advance(p));
        TRY(parse_type(p, &t->of));
        TRY(expect(p, GQL_TOK_RBRACKET));
        p->depth--;
    } else {
        t->kind = GQL_TYPE_NAMED;
        TRY(parse_name(p, &t->name, NULL));
    }
    int bang = skip(p, GQL_TOK_BANG);
    TRY(bang);
    if (bang) {
        gql_type_ref *nn = NEW(p, gql_type_ref);
        if (!nn)
            return -1;
        *nn = (gql_type_ref){.kind = GQL_TYPE_NON_NULL, .loc = t->loc, .of = t};
        t = nn;
    }
    *out = t;
    return 0;
}

/* ---- arguments, directives, selections (§2.4-2.8, §2.12) ---- */

static int parse_arguments(parser *p, bool is_const, gql_argument **out)
{
    int open = skip(p, GQL_TOK_LPAREN);
    TRY(open);
    if (!open)
        return 0;
    gql_argument **tail = out;
    do {
        gql_argument *a = NEW(p, gql_argument);
        if (!a)
            return -1;
        TRY(parse_name(p, &a->name, &a->loc));
        TRY(expect(p, GQL_TOK_COLON));
        TRY(parse_value(p, is_const, &a->value));
        *tail = a;
        tail = &a->next;
    } while (!peek(p, GQL_TOK_RPAREN));
    return advance(p);
}

static int parse_directives(parser *p, bool is_const, gql_directive **out)
{
    gql_directive **tail = out;
    while (peek(p, GQL_TOK_AT)) {
        gql_directive *d = NEW(p, gql_directive);
        if (!d)
            return -1;
        d->loc = p->tok.loc;
        TRY(advance(p));
        TRY(parse_name(p, &d->name, NULL));
        TRY(parse_arguments(p, is_const, &d->args));
        *tail = d;
        tail = &d->next;
    }
    return 0;
}

static int parse_selection_set(parser *p, gql_selection **out);

static int parse_fragment_selection(parser *p, gql_selection *s)
{
    TRY(advance(p)); /* "..." */
    if (peek(p, GQL_TOK_NAME) && !peek_keyword(p, "on")) {
        s->kind = GQL_SEL_SPREAD;
        TRY(parse_name(p, &s->name, NULL));
        return parse_directives(p, false, &s->directives);
    }
    s->kind = GQL_SEL_INLINE;
    if (peek_keyword(p, "on")) {
        TRY(advance(p));
        TRY(parse_name(p, &s->type_cond, NULL));
    }
    TRY(parse_directives(p, false, &s->directives));
    return parse_selection_set(p, &s->selections);
}

static int parse_selection_set(parser *p, gql_selection **out)
{
    if (!peek(p, GQL_TOK_LBRACE))
        return unexpected(p, "\"{\"");
    TRY(enter(p));
    TRY(advance(p));
    gql_selection **tail = out;
    do {
        gql_selection *s = NEW(p, gql_selection);
        if (!s)
            return -1;
        s->loc = p->tok.loc;
        if (peek(p, GQL_TOK_SPREAD)) {
            TRY(parse_fragment_selection(p, s));
        } else {
            s->kind = GQL_SEL_FIELD;
            TRY(parse_name(p, &s->name, NULL));
            int aliased = skip(p, GQL_TOK_COLON);
            TRY(aliased);
            if (aliased) {
                s->alias = s->name;
                TRY(parse_name(p, &s->name, NULL));
            }
            TRY(parse_arguments(p, false, &s->args));
            TRY(parse_directives(p, false, &s->directives));
            if (peek(p, GQL_TOK_LBRACE))
                TRY(parse_selection_set(p, &s->selections));
        }
        *tail = s;
        tail = &s->next;
    } while (!peek(p, GQL_TOK_RBRACE));
    p->depth--;
    return advance(p);
}

/* ---- executable definitions (§2.3, §2.8) ---- */

static int parse_variable_definitions(parser *p, gql_var_def **out)
{
    int open = skip(p, GQL_TOK_LPAREN);
    TRY(open);
    if (!open)
        return 0;
    gql_var_def **tail = out;
    do {
        gql_var_def *v = NEW(p, gql_var_def);
        if (!v)
            return -1;
        v->loc = p->tok.loc;
        TRY(expect(p, GQL_TOK_DOLLAR));
        TRY(parse_name(p, &v->name, NULL));
        TRY(expect(p, GQL_TOK_COLON));
        TRY(parse_type(p, &v->type));
        int eq = skip(p, GQL_TOK_EQUALS);
        TRY(eq);
        if (eq)
            TRY(parse_value(p, true, &v->default_value));
        TRY(parse_directives(p, true, &v->directives));
        *tail = v;
        tail = &v->next;
    } while (!peek(p, GQL_TOK_RPAREN));
    return advance(p);
}

static int parse_operation_type(parser *p, gql_operation_type *op)
{
    static const char *names[] = {"query", "mutation", "subscription"};
    for (int i = 0; i < 3; i++)
        if (peek_keyword(p, names[i])) {
            *op = (gql_operation_type)i;
            return advance(p);
        }
    return unexpected(p, "\"query\", \"mutation\" or \"subscription\"");
}

static int parse_operation(parser *p, gql_definition *d)
{
    d->kind = GQL_DEF_OPERATION;
    if (peek(p, GQL_TOK_LBRACE)) /* the query shorthand */
        return parse_selection_set(p, &d->selections);
    TRY(parse_operation_type(p, &d->operation));
    if (peek(p, GQL_TOK_NAME))
        TRY(parse_name(p, &d->name, NULL));
    TRY(parse_variable_definitions(p, &d->variables));
    TRY(parse_directives(p, false, &d->directives));
    return parse_selection_set(p, &d->selections);
}

static int parse_fragment(parser *p, gql_definition *d)
{
    d->kind = GQL_DEF_FRAGMENT;
    TRY(advance(p)); /* "fragment" */
    if (peek_keyword(p, "on"))
        return unexpected(p, "a fragment name");
    TRY(parse_name(p, &d->name, NULL));
    TRY(expect_keyword(p, "on"));
    TRY(parse_name(p, &d->type_cond, NULL));
    TRY(parse_directives(p, false, &d->directives));
    return parse_selection_set(p, &d->selections);
}

/* ---- type system definitions and extensions (§3) ---- */

static int parse_description(parser *p, masd_str *out)
{
    if (peek(p, GQL_TOK_STRING) || peek(p, GQL_TOK_BLOCK_STRING)) {
        *out = p->tok.text;
        return advance(p);
    }
    return 0;
}

/* InputValueDefinition+ between open and close; FieldDefinition+ when fields; EnumValueDefinition+
 * when neither. */
static int parse_members(parser *p, gql_token_kind open, gql_token_kind close, bool fields, bool values,
                         gql_member **out)
{
    int present = skip(p, open);
    TRY(present);
    if (!present)
        return 0;
    gql_member **tail = out;
    do {
        gql_member *m = NEW(p, gql_member);
        if (!m)
            return -1;
        TRY(parse_description(p, &m->description));
        TRY(parse_name(p, &m->name, &m->loc));
        if (values) {
            if (masd_str_eq(m->name, MASD_STR("true")) || masd_str_eq(m->name, MASD_STR("false")) ||
                masd_str_eq(m->name, MASD_STR("null")))
                return syntax_error(p, m->loc, "%.*s is reserved and cannot be used for an enum value.",
                                    (int)m->name.len, m->name.ptr);
        } else {
            if (fields)
                TRY(parse_members(p, GQL_TOK_LPAREN, GQL_TOK_RPAREN, false, false, &m->args));
            TRY(expect(p, GQL_TOK_COLON));
            TRY(parse_type(p, &m->type));
            int eq = fields ? 0 : skip(p, GQL_TOK_EQUALS);
            TRY(eq);
            if (eq)
                TRY(parse_value(p, true, &m->default_value));
        }
        TRY(parse_directives(p, true, &m->directives));
        *tail = m;
        tail = &m->next;
    } while (!peek(p, close));
    return advance(p);
}

/* NamedType list after `implements` (sep &) or `=` (sep |) or a directive's `on` (sep |). */
static int parse_names(parser *p, gql_token_kind sep, gql_name **out)
{
    gql_name **tail = out;
    TRY(skip(p, sep));
    for (;;) {
        gql_name *n = NEW(p, gql_name);
        if (!n)
            return -1;
        TRY(parse_name(p, &n->name, &n->loc));
        *tail = n;
        tail = &n->next;
        int more = skip(p, sep);
        TRY(more);
        if (!more)
            return 0;
    }
}

static int parse_root_types(parser *p, gql_name **out)
{
    TRY(expect(p, GQL_TOK_LBRACE));
    gql_name **tail = out;
    do {
        gql_name *n = NEW(p, gql_name);
        if (!n)
            return -1;
        n->loc = p->tok.loc;
        TRY(parse_operation_type(p, &n->operation));
        TRY(expect(p, GQL_TOK_COLON));
        TRY(parse_name(p, &n->name, NULL));
        *tail = n;
        tail = &n->next;
    } while (!peek(p, GQL_TOK_RBRACE));
    return advance(p);
}

static int parse_type_system(parser *p, gql_definition *d)
{
    static const struct {
        const char *word;
        gql_definition_kind kind;
    } words[] = {{"schema", GQL_DEF_SCHEMA},       {"scalar", GQL_DEF_SCALAR},      {"type", GQL_DEF_OBJECT},
                 {"interface", GQL_DEF_INTERFACE}, {"union", GQL_DEF_UNION},        {"enum", GQL_DEF_ENUM},
                 {"input", GQL_DEF_INPUT_OBJECT},  {"directive", GQL_DEF_DIRECTIVE}};
    size_t i = 0;
    while (i < sizeof(words) / sizeof(words[0]) && !peek_keyword(p, words[i].word))
        i++;
    if (i == sizeof(words) / sizeof(words[0]) || (d->extension && words[i].kind == GQL_DEF_DIRECTIVE))
        return unexpected(p, "a definition");
    d->kind = words[i].kind;
    TRY(advance(p));
    gql_token at = p->tok;
    switch (d->kind) {
    case GQL_DEF_SCHEMA:
        TRY(parse_directives(p, true, &d->directives));
        if (!d->extension || peek(p, GQL_TOK_LBRACE))
            TRY(parse_root_types(p, &d->names));
        break;
    case GQL_DEF_DIRECTIVE:
        TRY(expect(p, GQL_TOK_AT));
        TRY(parse_name(p, &d->name, NULL));
        TRY(parse_members(p, GQL_TOK_LPAREN, GQL_TOK_RPAREN, false, false, &d->members));
        if (peek_keyword(p, "repeatable")) {
            d->repeatable = true;
            TRY(advance(p));
        }
        TRY(expect_keyword(p, "on"));
        TRY(parse_names(p, GQL_TOK_PIPE, &d->names));
        for (gql_name *n = d->names; n; n = n->next) {
            int l = 0;
            while (l < GQL_LOC_COUNT && !masd_str_eq(n->name, masd_str_from(gql_location_names[l])))
                l++;
            if (l == GQL_LOC_COUNT)
                return syntax_error(p, n->loc, "Unexpected Name \"%.*s\": not a directive location.",
                                    (int)n->name.len, n->name.ptr);
        }
        return 0;
    default:
        TRY(parse_name(p, &d->name, NULL));
        at = p->tok;
        if ((d->kind == GQL_DEF_OBJECT || d->kind == GQL_DEF_INTERFACE) && peek_keyword(p, "implements")) {
            TRY(advance(p));
            TRY(parse_names(p, GQL_TOK_AMP, &d->names));
        }
        TRY(parse_directives(p, true, &d->directives));
        if (d->kind == GQL_DEF_UNION && peek(p, GQL_TOK_EQUALS)) {
            TRY(advance(p));
            TRY(parse_names(p, GQL_TOK_PIPE, &d->names));
        } else if (d->kind == GQL_DEF_OBJECT || d->kind == GQL_DEF_INTERFACE) {
            TRY(parse_members(p, GQL_TOK_LBRACE, GQL_TOK_RBRACE, true, false, &d->members));
        } else if (d->kind == GQL_DEF_INPUT_OBJECT) {
            TRY(parse_members(p, GQL_TOK_LBRACE, GQL_TOK_RBRACE, false, false, &d->members));
        } else if (d->kind == GQL_DEF_ENUM) {
            TRY(parse_members(p, GQL_TOK_LBRACE, GQL_TOK_RBRACE, false, true, &d->members));
        }
    }
    /* an extension extends something (§3.2.2, §3.4.3, …) */
    if (d->extension && !d->directives && !d->names && !d->members) {
        p->tok = at;
        return unexpected(p, "an extension's directives or members");
    }
    return 0;
}

static int parse_definition(parser *p, gql_definition *d)
{
    d->loc = p->tok.loc;
    if (peek(p, GQL_TOK_LBRACE))
        return parse_operation(p, d);
    bool described = peek(p, GQL_TOK_STRING) || peek(p, GQL_TOK_BLOCK_STRING);
    TRY(parse_description(p, &d->description));
    if (!described) {
        if (peek_keyword(p, "query") || peek_keyword(p, "mutation") || peek_keyword(p, "subscription"))
            return parse_operation(p, d);
        if (peek_keyword(p, "fragment"))
            return parse_fragment(p, d);
        if (peek_keyword(p, "extend")) {
            d->extension = true;
            TRY(advance(p));
        }
    }
    return parse_type_system(p, d);
}

int gql_parse(gql_arena *arena, const char *src, size_t len, size_t max_tokens, unsigned max_nesting,
              gql_document *out, json_t *errors)
{
    parser p = {.arena = arena, .max_depth = max_nesting, .errors = errors};
    gql_lexer_init(&p.lx, arena, src, len, max_tokens);
    *out = (gql_document){0};
    gql_definition **tail = &out->definitions;
    int r = advance(&p);
    if (r == 0 && peek(&p, GQL_TOK_EOF))
        r = unexpected(&p, "a definition");
    while (r == 0 && !peek(&p, GQL_TOK_EOF)) {
        gql_definition *d = NEW(&p, gql_definition);
        if (!d || parse_definition(&p, d) < 0)
            r = -1;
        else
            *tail = d, tail = &d->next;
    }
    if (r < 0)
        return p.nomem ? -ENOMEM : -EINVAL;
    return 0;
}
