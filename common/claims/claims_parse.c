/* Claims templates, the parser (claims_template.h): template text into a tree of nodes, with
 * MiniJinja's grammar for the part MAS's claims imports use: text, {{ expression }},
 * {% if %}/{% elif %}/{% else %}/{% endif %}, {% set name = expression %}, {# comments #},
 * whitespace control with '-', and expressions with literals, variables, .attr and [index],
 * filters, tests, 'x if c else y', and/or/not, comparisons, 'in', ~, + - * / // %. Loops,
 * macros, calls and everything else are refused here, so an unsupported template is a config
 * error and not a surprise at the first login. */
#include "claims_internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    struct claims_template *t;
    const char *src;
    size_t len, pos;
    unsigned depth;
    char *err;
    size_t err_size;
    bool failed;
    struct cnode *last_text; /* trimmed by a following "{%-" */
    bool trim_next;          /* the last tag ended with "-%}": trim the next text's start */
};

/* Token kinds inside a tag. */
enum tok {
    T_EOF,
    T_END, /* "}}" or "%}" (tag_end says which, trim says whether "-" came first) */
    T_NAME,
    T_STRING,
    T_INT,
    T_FLOAT,
    T_OP, /* op[] */
};

struct token {
    enum tok kind;
    size_t start, len;
    char op[3];
    bool trim;
    char end; /* '}' or '%' for T_END */
};

static int fail(struct parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return -EINVAL;
    p->failed = true;
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        if (p->src[i] == '\n')
            line++, col = 1;
        else if (((unsigned char)p->src[i] & 0xC0) != 0x80)
            col++;
    }
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->err_size)
        snprintf(p->err, p->err_size, "line %u, column %u: %s", line, col, msg);
    return -EINVAL;
}

static struct cnode *new_node(struct parser *p, enum cnode_kind kind, size_t at)
{
    if (p->t->n_nodes >= CLAIMS_TEMPLATE_MAX_NODES) {
        fail(p, at, "the template is too complex (more than %d parts)", CLAIMS_TEMPLATE_MAX_NODES);
        return NULL;
    }
    struct cnode *n = calloc(1, sizeof(*n));
    if (!n) {
        fail(p, at, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->at = at;
    n->all_next = p->t->all;
    p->t->all = n;
    p->t->n_nodes++;
    return n;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The next token inside a tag. */
static int lex(struct parser *p, struct token *tk)
{
    while (p->pos < p->len && is_space(p->src[p->pos]))
        p->pos++;
    memset(tk, 0, sizeof(*tk));
    tk->start = p->pos;
    if (p->pos >= p->len) {
        tk->kind = T_EOF;
        return 0;
    }
    const char *s = p->src + p->pos;
    size_t left = p->len - p->pos;
    if (left >= 3 && s[0] == '-' && (s[1] == '}' || s[1] == '%') && s[2] == '}') {
        tk->kind = T_END, tk->trim = true, tk->end = s[1];
        p->pos += 3;
        return 0;
    }
    if (left >= 2 && (s[0] == '}' || s[0] == '%') && s[1] == '}') {
        tk->kind = T_END, tk->end = s[0];
        p->pos += 2;
        return 0;
    }
    if (is_name_start(s[0])) {
        size_t n = 1;
        while (n < left && (is_name_start(s[n]) || is_digit(s[n])))
            n++;
        tk->kind = T_NAME, tk->len = n;
        p->pos += n;
        return 0;
    }
    if (is_digit(s[0])) {
        size_t n = 0;
        while (n < left && (is_digit(s[n]) || s[n] == '_'))
            n++;
        tk->kind = T_INT;
        if (n + 1 < left && s[n] == '.' && is_digit(s[n + 1])) {
            tk->kind = T_FLOAT;
            n++;
            while (n < left && (is_digit(s[n]) || s[n] == '_'))
                n++;
        }
        if (n < left && (s[n] == 'e' || s[n] == 'E')) {
            size_t m = n + 1;
            if (m < left && (s[m] == '+' || s[m] == '-'))
                m++;
            if (m < left && is_digit(s[m])) {
                tk->kind = T_FLOAT;
                n = m;
                while (n < left && is_digit(s[n]))
                    n++;
            }
        }
        tk->len = n;
        p->pos += n;
        return 0;
    }
    if (s[0] == '"' || s[0] == '\'') {
        size_t n = 1;
        while (n < left && s[n] != s[0]) {
            if (s[n] == '\\')
                n++;
            n++;
        }
        if (n >= left)
            return fail(p, p->pos, "a string that is not closed");
        tk->kind = T_STRING, tk->len = n + 1;
        p->pos += n + 1;
        return 0;
    }
    static const char *const ops2[] = {"==", "!=", "<=", ">=", "//", "**"};
    for (size_t i = 0; i < sizeof(ops2) / sizeof(ops2[0]); i++)
        if (left >= 2 && s[0] == ops2[i][0] && s[1] == ops2[i][1]) {
            tk->kind = T_OP, tk->len = 2;
            memcpy(tk->op, s, 2);
            p->pos += 2;
            return 0;
        }
    if (strchr(".[](),|~+-*/%<>={}:", s[0])) {
        tk->kind = T_OP, tk->len = 1, tk->op[0] = s[0];
        p->pos++;
        return 0;
    }
    return fail(p, p->pos, "unexpected character '%c'", s[0] >= 0x20 && s[0] < 0x7f ? s[0] : '?');
}

static int peek(struct parser *p, struct token *tk)
{
    size_t save = p->pos;
    int r = lex(p, tk);
    p->pos = save;
    return r;
}

static bool tok_is(const struct parser *p, const struct token *tk, enum tok kind, const char *text)
{
    if (tk->kind != kind)
        return false;
    if (kind == T_OP)
        return strcmp(tk->op, text) == 0;
    return tk->len == strlen(text) && memcmp(p->src + tk->start, text, tk->len) == 0;
}

/* Consumes the next token when it is `text` (an operator or a name). */
static bool accept(struct parser *p, enum tok kind, const char *text)
{
    struct token tk;
    if (peek(p, &tk) < 0 || !tok_is(p, &tk, kind, text))
        return false;
    lex(p, &tk);
    return true;
}

static int expect_op(struct parser *p, const char *op)
{
    struct token tk;
    int r = peek(p, &tk);
    if (r < 0)
        return r;
    if (!tok_is(p, &tk, T_OP, op))
        return fail(p, tk.start, "expected '%s'", op);
    return lex(p, &tk);
}

static char *name_dup(struct parser *p, const struct token *tk)
{
    char *s = strndup(p->src + tk->start, tk->len);
    if (!s)
        fail(p, tk->start, "out of memory");
    return s;
}

/* A string literal's value, escapes resolved as in MiniJinja (\n \t \r \\ \' \" \/ \uXXXX). */
static json_t *string_literal(struct parser *p, const struct token *tk)
{
    const char *s = p->src + tk->start + 1;
    size_t n = tk->len - 2;
    char *buf = malloc(n + 1);
    size_t o = 0;
    if (!buf) {
        fail(p, tk->start, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            buf[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'n':
            buf[o++] = '\n';
            break;
        case 't':
            buf[o++] = '\t';
            break;
        case 'r':
            buf[o++] = '\r';
            break;
        case 'b':
            buf[o++] = '\b';
            break;
        case 'f':
            buf[o++] = '\f';
            break;
        case '\\':
        case '\'':
        case '"':
        case '/':
            buf[o++] = c;
            break;
        case 'u': {
            unsigned v = 0;
            size_t k = 0;
            for (; k < 4 && i + 1 + k < n; k++) {
                char h = s[i + 1 + k];
                int d = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (d < 0)
                    break;
                v = v * 16 + (unsigned)d;
            }
            if (k != 4 || (v >= 0xD800 && v <= 0xDFFF) || v == 0) {
                free(buf);
                fail(p, tk->start, "a \\u escape needs four hex digits of a character other than NUL");
                return NULL;
            }
            i += 4;
            if (v < 0x80) {
                buf[o++] = (char)v;
            } else if (v < 0x800) {
                buf[o++] = (char)(0xC0 | (v >> 6));
                buf[o++] = (char)(0x80 | (v & 0x3F));
            } else { /* at most 3 bytes: room, as "\uXXXX" is 6 */
                buf[o++] = (char)(0xE0 | (v >> 12));
                buf[o++] = (char)(0x80 | ((v >> 6) & 0x3F));
                buf[o++] = (char)(0x80 | (v & 0x3F));
            }
            break;
        }
        default:
            free(buf);
            fail(p, tk->start + 1 + i, "unknown escape '\\%c'", c >= 0x20 && c < 0x7f ? c : '?');
            return NULL;
        }
    }
    json_t *j = memchr(buf, '\0', o) ? NULL : json_stringn(buf, o);
    free(buf);
    if (!j)
        fail(p, tk->start, "a string that is not UTF-8 text");
    return j;
}

static json_t *number_literal(struct parser *p, const struct token *tk)
{
    char buf[64];
    size_t o = 0;
    for (size_t i = 0; i < tk->len && o + 1 < sizeof(buf); i++)
        if (p->src[tk->start + i] != '_')
            buf[o++] = p->src[tk->start + i];
    buf[o] = '\0';
    if (o + 1 >= sizeof(buf)) {
        fail(p, tk->start, "a number that is too long");
        return NULL;
    }
    errno = 0;
    char *end;
    json_t *j = NULL;
    if (tk->kind == T_INT) {
        long long v = strtoll(buf, &end, 10);
        if (errno == 0 && *end == '\0')
            j = json_integer(v);
    } else {
        double d = strtod(buf, &end);
        if (errno == 0 && *end == '\0')
            j = json_real(d);
    }
    if (!j)
        fail(p, tk->start, "a number out of range");
    return j;
}

/* Records the height of an expression node and refuses a tree too tall to evaluate with a
 * bounded stack (a chain of operators or filters builds one without nesting brackets). */
static struct cnode *seal(struct parser *p, struct cnode *n)
{
    if (!n)
        return NULL;
    unsigned h = 0;
    const struct cnode *kids[3] = {n->a, n->b, n->c};
    for (size_t i = 0; i < 3; i++)
        if (kids[i] && kids[i]->height > h)
            h = kids[i]->height;
    for (size_t i = 0; i < n->n_args; i++)
        if (n->args[i] && n->args[i]->height > h)
            h = n->args[i]->height;
    n->height = h + 1;
    if (n->height > CLAIMS_TEMPLATE_MAX_HEIGHT) {
        fail(p, n->at, "the expression is too long (a chain of more than %d operators or filters)",
             CLAIMS_TEMPLATE_MAX_HEIGHT);
        return NULL;
    }
    return n;
}

static struct cnode *parse_expr(struct parser *p);

static int enter(struct parser *p, size_t at)
{
    if (++p->depth > CLAIMS_TEMPLATE_MAX_DEPTH)
        return fail(p, at, "nested too deeply (more than %d levels)", CLAIMS_TEMPLATE_MAX_DEPTH);
    return 0;
}

/* Comma-separated expressions up to `close` (the opening bracket is consumed). */
static int parse_list(struct parser *p, const char *close, struct cnode *n)
{
    struct token tk;
    for (;;) {
        if (peek(p, &tk) < 0)
            return -EINVAL;
        if (tok_is(p, &tk, T_OP, close))
            break;
        if (n->n_args >= CNODE_MAX_ARGS)
            return fail(p, tk.start, "too many items (at most %d)", CNODE_MAX_ARGS);
        if (!(n->args[n->n_args++] = parse_expr(p)))
            return -EINVAL;
        if (!accept(p, T_OP, ","))
            break;
    }
    return expect_op(p, close);
}

static struct cnode *parse_primary(struct parser *p)
{
    struct token tk;
    if (lex(p, &tk) < 0)
        return NULL;
    struct cnode *n = NULL;
    if (tk.kind == T_STRING || tk.kind == T_INT || tk.kind == T_FLOAT) {
        if ((n = new_node(p, E_LIT, tk.start)))
            n->lit = tk.kind == T_STRING ? string_literal(p, &tk) : number_literal(p, &tk);
        return n && n->lit ? n : NULL;
    }
    if (tk.kind == T_NAME) {
        static const struct {
            const char *name;
            int v; /* 0 false, 1 true, 2 none */
        } consts[] = {{"true", 1}, {"True", 1}, {"false", 0}, {"False", 0}, {"none", 2}, {"None", 2}};
        for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++)
            if (tok_is(p, &tk, T_NAME, consts[i].name)) {
                if ((n = new_node(p, E_LIT, tk.start)))
                    n->lit = consts[i].v == 2 ? json_null() : json_boolean(consts[i].v);
                return n;
            }
        if ((n = new_node(p, E_NAME, tk.start)) && !(n->name = name_dup(p, &tk)))
            return NULL;
        return n;
    }
    if (tk.kind == T_OP && (tk.op[0] == '(' || tk.op[0] == '[' || tk.op[0] == '{') && !tk.op[1]) {
        if (enter(p, tk.start) < 0)
            return NULL;
        if (tk.op[0] == '(') {
            n = parse_expr(p);
            if (n && expect_op(p, ")") < 0)
                n = NULL;
        } else if (tk.op[0] == '[') {
            if ((n = new_node(p, E_LIST, tk.start)) && parse_list(p, "]", n) < 0)
                n = NULL;
        } else if ((n = new_node(p, E_MAP, tk.start))) {
            /* {key: value, ...}: args alternate key, value */
            struct token t2;
            for (;;) {
                if (peek(p, &t2) < 0 || tok_is(p, &t2, T_OP, "}"))
                    break;
                if (n->n_args + 2 > CNODE_MAX_ARGS) {
                    fail(p, t2.start, "too many items (at most %d)", CNODE_MAX_ARGS / 2);
                    return NULL;
                }
                if (!(n->args[n->n_args++] = parse_expr(p)) || expect_op(p, ":") < 0 ||
                    !(n->args[n->n_args++] = parse_expr(p)))
                    return NULL;
                if (!accept(p, T_OP, ","))
                    break;
            }
            if (p->failed || expect_op(p, "}") < 0)
                n = NULL;
        }
        p->depth--;
        return seal(p, n);
    }
    if (tk.kind == T_END || tk.kind == T_EOF)
        fail(p, tk.start, "an expression is missing");
    else
        fail(p, tk.start, "unexpected '%.*s'", (int)(tk.len < 20 ? tk.len : 20), p->src + tk.start);
    return NULL;
}

/* Filter or test arguments: "(a, b)"; keyword arguments are not supported. */
static int parse_call_args(struct parser *p, struct cnode *n)
{
    if (!accept(p, T_OP, "("))
        return 0;
    struct token tk, t2;
    size_t save = p->pos;
    if (lex(p, &tk) == 0 && tk.kind == T_NAME && lex(p, &t2) == 0 && tok_is(p, &t2, T_OP, "="))
        return fail(p, tk.start, "keyword arguments are not supported in claims templates");
    p->pos = save;
    return parse_list(p, ")", n);
}

static struct cnode *parse_postfix(struct parser *p, struct cnode *n)
{
    struct token tk;
    while (n) {
        if (peek(p, &tk) < 0)
            return NULL;
        if (tok_is(p, &tk, T_OP, ".")) {
            lex(p, &tk);
            struct token name;
            if (lex(p, &name) < 0)
                return NULL;
            struct cnode *a = new_node(p, E_ATTR, tk.start);
            if (!a)
                return NULL;
            a->a = n;
            if (name.kind == T_NAME)
                a->name = name_dup(p, &name), a->lit = a->name ? json_string(a->name) : NULL;
            else if (name.kind == T_INT)
                a->lit = number_literal(p, &name);
            else {
                fail(p, name.start, "expected an attribute name after '.'");
                return NULL;
            }
            if (!a->lit) {
                fail(p, name.start, "expected an attribute name after '.'");
                return NULL;
            }
            if (!(n = seal(p, a)))
                return NULL;
        } else if (tok_is(p, &tk, T_OP, "[")) {
            lex(p, &tk);
            struct cnode *a = new_node(p, E_INDEX, tk.start);
            if (!a || enter(p, tk.start) < 0)
                return NULL;
            a->a = n;
            struct token t2;
            if (peek(p, &t2) < 0)
                return NULL;
            if (tok_is(p, &t2, T_OP, ":")) {
                fail(p, t2.start, "slices are not supported in claims templates");
                return NULL;
            }
            if (!(a->b = parse_expr(p)))
                return NULL;
            if (peek(p, &t2) == 0 && tok_is(p, &t2, T_OP, ":")) {
                fail(p, t2.start, "slices are not supported in claims templates");
                return NULL;
            }
            if (expect_op(p, "]") < 0)
                return NULL;
            p->depth--;
            if (!(n = seal(p, a)))
                return NULL;
        } else if (tok_is(p, &tk, T_OP, "(")) {
            fail(p, tk.start, "calls are not supported in claims templates (use a filter: x | lower)");
            return NULL;
        } else {
            break;
        }
    }
    return n;
}

/* primary, postfix, then "| filter(args)" and "is [not] test(args)" */
static struct cnode *parse_unary(struct parser *p)
{
    struct token tk;
    if (peek(p, &tk) < 0)
        return NULL;
    if (tok_is(p, &tk, T_OP, "-") || tok_is(p, &tk, T_OP, "+")) {
        lex(p, &tk);
        if (enter(p, tk.start) < 0)
            return NULL;
        struct cnode *n = new_node(p, E_NEG, tk.start);
        if (n) {
            n->op = tk.op[0];
            n->a = parse_unary(p);
        }
        p->depth--;
        return n && n->a ? seal(p, n) : NULL;
    }
    struct cnode *n = parse_postfix(p, parse_primary(p));
    while (n) {
        if (peek(p, &tk) < 0)
            return NULL;
        bool filter = tok_is(p, &tk, T_OP, "|"), test = tok_is(p, &tk, T_NAME, "is");
        if (!filter && !test)
            break;
        lex(p, &tk);
        struct cnode *f = new_node(p, filter ? E_FILTER : E_TEST, tk.start);
        if (!f)
            return NULL;
        if (test && accept(p, T_NAME, "not"))
            f->negate = true;
        struct token name;
        if (lex(p, &name) < 0)
            return NULL;
        if (name.kind != T_NAME) {
            fail(p, name.start, "expected a %s name", filter ? "filter" : "test");
            return NULL;
        }
        if (!(f->name = name_dup(p, &name)))
            return NULL;
        f->args[f->n_args++] = n;
        int fn = filter ? claims_filter_find(f->name) : claims_test_find(f->name);
        if (fn < 0) {
            fail(p, name.start, "unknown %s '%s'", filter ? "filter" : "test", f->name);
            return NULL;
        }
        f->fn = fn;
        if (parse_call_args(p, f) < 0)
            return NULL;
        /* none (or true/false) as a test name is a name token but a literal to the lexer's eyes */
        if (!seal(p, f))
            return NULL;
        n = parse_postfix(p, f);
    }
    return n;
}

static struct cnode *binary(struct parser *p, enum cnode_kind kind, const char *op, size_t at,
                            struct cnode *a, struct cnode *b)
{
    if (!a || !b)
        return NULL;
    struct cnode *n = new_node(p, kind, at);
    if (n) {
        n->a = a, n->b = b;
        snprintf(n->opname, sizeof(n->opname), "%s", op);
    }
    return seal(p, n);
}

static struct cnode *parse_math2(struct parser *p)
{
    struct cnode *n = parse_unary(p);
    struct token tk;
    while (n && peek(p, &tk) == 0 && tk.kind == T_OP &&
           (!strcmp(tk.op, "*") || !strcmp(tk.op, "/") || !strcmp(tk.op, "//") || !strcmp(tk.op, "%"))) {
        lex(p, &tk);
        n = binary(p, E_MATH, tk.op, tk.start, n, parse_unary(p));
    }
    if (n && tok_is(p, &tk, T_OP, "**"))
        return fail(p, tk.start, "'**' is not supported in claims templates"), NULL;
    return n;
}

static struct cnode *parse_concat(struct parser *p)
{
    struct cnode *n = parse_math2(p);
    struct token tk;
    while (n && peek(p, &tk) == 0 && tok_is(p, &tk, T_OP, "~")) {
        lex(p, &tk);
        n = binary(p, E_CONCAT, "~", tk.start, n, parse_math2(p));
    }
    return n;
}

static struct cnode *parse_math1(struct parser *p)
{
    struct cnode *n = parse_concat(p);
    struct token tk;
    while (n && peek(p, &tk) == 0 && (tok_is(p, &tk, T_OP, "+") || tok_is(p, &tk, T_OP, "-"))) {
        lex(p, &tk);
        n = binary(p, E_MATH, tk.op, tk.start, n, parse_concat(p));
    }
    return n;
}

static struct cnode *parse_compare(struct parser *p)
{
    struct cnode *n = parse_math1(p);
    struct token tk;
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    while (n && peek(p, &tk) == 0) {
        const char *op = NULL;
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            if (tok_is(p, &tk, T_OP, ops[i]))
                op = ops[i];
        if (tok_is(p, &tk, T_NAME, "in"))
            op = "in";
        if (tok_is(p, &tk, T_NAME, "not")) {
            size_t save = p->pos;
            struct token t2;
            lex(p, &tk);
            if (peek(p, &t2) == 0 && tok_is(p, &t2, T_NAME, "in")) {
                lex(p, &t2);
                n = binary(p, E_COMPARE, "notin", tk.start, n, parse_math1(p));
                continue;
            }
            p->pos = save;
            break;
        }
        if (!op)
            break;
        lex(p, &tk);
        n = binary(p, E_COMPARE, op, tk.start, n, parse_math1(p));
    }
    return n;
}

static struct cnode *parse_not(struct parser *p)
{
    struct token tk;
    if (peek(p, &tk) == 0 && tok_is(p, &tk, T_NAME, "not")) {
        lex(p, &tk);
        if (enter(p, tk.start) < 0)
            return NULL;
        struct cnode *n = new_node(p, E_NOT, tk.start);
        if (n && !(n->a = parse_not(p)))
            n = NULL;
        p->depth--;
        return seal(p, n);
    }
    return parse_compare(p);
}

static struct cnode *parse_and(struct parser *p)
{
    struct cnode *n = parse_not(p);
    struct token tk;
    while (n && peek(p, &tk) == 0 && tok_is(p, &tk, T_NAME, "and")) {
        lex(p, &tk);
        n = binary(p, E_AND, "and", tk.start, n, parse_not(p));
    }
    return n;
}

static struct cnode *parse_or(struct parser *p)
{
    struct cnode *n = parse_and(p);
    struct token tk;
    while (n && peek(p, &tk) == 0 && tok_is(p, &tk, T_NAME, "or")) {
        lex(p, &tk);
        n = binary(p, E_OR, "or", tk.start, n, parse_and(p));
    }
    return n;
}

/* x if cond [else y] */
static struct cnode *parse_expr(struct parser *p)
{
    struct token tk;
    if (peek(p, &tk) < 0 || enter(p, tk.start) < 0)
        return NULL;
    struct cnode *n = parse_or(p);
    if (n && peek(p, &tk) == 0 && tok_is(p, &tk, T_NAME, "if")) {
        lex(p, &tk);
        struct cnode *c = new_node(p, E_COND, tk.start);
        if (c) {
            c->b = n;
            if (!(c->a = parse_or(p)))
                c = NULL;
            else if (accept(p, T_NAME, "else") && !(c->c = parse_expr(p)))
                c = NULL;
        }
        n = seal(p, c);
    }
    p->depth--;
    return p->failed ? NULL : n;
}

static int expect_end(struct parser *p, char which)
{
    struct token tk;
    if (lex(p, &tk) < 0)
        return -EINVAL;
    if (tk.kind != T_END || tk.end != which)
        return fail(p, tk.start, "expected '%s'", which == '}' ? "}}" : "%}");
    p->trim_next = tk.trim;
    return 0;
}

/* Text from a to b, trimmed by the whitespace control around it. */
static int add_text(struct parser *p, struct cnode ***tail, size_t a, size_t b)
{
    if (p->trim_next)
        while (a < b && is_space(p->src[a]))
            a++;
    p->trim_next = false;
    p->last_text = NULL;
    if (a >= b)
        return 0;
    struct cnode *n = new_node(p, S_TEXT, a);
    if (!n)
        return -EINVAL;
    n->text_at = a, n->text_len = b - a;
    **tail = n;
    *tail = &n->next;
    p->last_text = n;
    return 0;
}

/* After "{%" or "{{" or "{#": a '-' trims the text before. */
static void open_tag(struct parser *p)
{
    if (p->pos < p->len && p->src[p->pos] == '-') {
        p->pos++;
        while (p->last_text && p->last_text->text_len &&
               is_space(p->src[p->last_text->text_at + p->last_text->text_len - 1]))
            p->last_text->text_len--;
    }
    p->last_text = NULL;
}

enum body_end { END_EOF, END_ELIF, END_ELSE, END_ENDIF };

/* Statements and text up to EOF or one of {% elif %}, {% else %}, {% endif %} (when in_if). */
static int parse_body(struct parser *p, struct cnode **head, bool in_if, enum body_end *end, size_t *end_at);

static int parse_if(struct parser *p, struct cnode *n)
{
    if (!(n->a = parse_expr(p)) || expect_end(p, '%') < 0)
        return -EINVAL;
    enum body_end end;
    size_t at;
    if (enter(p, n->at) < 0 || parse_body(p, &n->b, true, &end, &at) < 0)
        return -EINVAL;
    if (end == END_ELIF) {
        struct cnode *e = new_node(p, S_IF, at);
        if (!e)
            return -EINVAL;
        n->c = e;
        return parse_if(p, e) < 0 ? -EINVAL : (p->depth--, 0);
    }
    if (end == END_ELSE) {
        if (expect_end(p, '%') < 0 || parse_body(p, &n->c, true, &end, &at) < 0)
            return -EINVAL;
        if (end != END_ENDIF)
            return fail(p, at, "expected {%% endif %%}");
    }
    p->depth--;
    return expect_end(p, '%');
}

static int parse_statement(struct parser *p, struct cnode ***tail, bool in_if, enum body_end *end,
                           size_t *end_at, bool *done)
{
    struct token tk;
    if (lex(p, &tk) < 0)
        return -EINVAL;
    *end_at = tk.start;
    if (tk.kind != T_NAME)
        return fail(p, tk.start, "expected a statement (if, set)");
    if (tok_is(p, &tk, T_NAME, "if")) {
        struct cnode *n = new_node(p, S_IF, tk.start);
        if (!n || parse_if(p, n) < 0)
            return -EINVAL;
        **tail = n;
        *tail = &n->next;
        return 0;
    }
    if (tok_is(p, &tk, T_NAME, "set")) {
        struct token name;
        struct cnode *n = new_node(p, S_SET, tk.start);
        if (!n || lex(p, &name) < 0)
            return -EINVAL;
        if (name.kind != T_NAME)
            return fail(p, name.start, "expected a variable name after set");
        if (!(n->name = name_dup(p, &name)) || expect_op(p, "=") < 0 || !(n->a = parse_expr(p)) ||
            expect_end(p, '%') < 0)
            return -EINVAL;
        **tail = n;
        *tail = &n->next;
        return 0;
    }
    if (in_if && (tok_is(p, &tk, T_NAME, "elif") || tok_is(p, &tk, T_NAME, "else") ||
                  tok_is(p, &tk, T_NAME, "endif"))) {
        *end = tok_is(p, &tk, T_NAME, "elif")   ? END_ELIF
               : tok_is(p, &tk, T_NAME, "else") ? END_ELSE
                                                : END_ENDIF;
        *done = true;
        return 0;
    }
    return fail(p, tk.start, "'%.*s' is not supported in claims templates (only if and set)",
                (int)(tk.len < 20 ? tk.len : 20), p->src + tk.start);
}

static int parse_body(struct parser *p, struct cnode **head, bool in_if, enum body_end *end, size_t *end_at)
{
    struct cnode **tail = head;
    *end = END_EOF;
    while (p->pos < p->len) {
        const char *s = p->src + p->pos;
        const char *open = NULL;
        for (const char *q = s; (q = memchr(q, '{', (size_t)(p->src + p->len - q))); q++)
            if (q + 1 < p->src + p->len && (q[1] == '{' || q[1] == '%' || q[1] == '#')) {
                open = q;
                break;
            }
        size_t at = open ? (size_t)(open - p->src) : p->len;
        if (add_text(p, &tail, p->pos, at) < 0)
            return -EINVAL;
        if (!open) {
            p->pos = p->len;
            break;
        }
        char kind = open[1];
        p->pos = at + 2;
        open_tag(p);
        if (kind == '#') {
            const char *close = NULL;
            for (size_t i = p->pos; i + 1 < p->len; i++)
                if (p->src[i] == '#' && p->src[i + 1] == '}') {
                    close = p->src + i;
                    break;
                }
            if (!close)
                return fail(p, at, "a comment that is not closed");
            p->trim_next = close > p->src + p->pos && close[-1] == '-';
            p->pos = (size_t)(close - p->src) + 2;
        } else if (kind == '{') {
            struct cnode *n = new_node(p, S_OUTPUT, at);
            if (!n || !(n->a = parse_expr(p)) || expect_end(p, '}') < 0)
                return -EINVAL;
            *tail = n;
            tail = &n->next;
        } else {
            bool done = false;
            if (parse_statement(p, &tail, in_if, end, end_at, &done) < 0)
                return -EINVAL;
            if (done)
                return 0;
        }
    }
    if (in_if)
        return fail(p, p->len, "{%% if %%} without {%% endif %%}");
    return 0;
}

int claims_template_compile(const char *src, size_t len, struct claims_template **out, char *err,
                            size_t err_size)
{
    *out = NULL;
    if (err_size)
        err[0] = '\0';
    if (len > CLAIMS_TEMPLATE_MAX_SOURCE) {
        if (err_size)
            snprintf(err, err_size, "the template is longer than %d bytes", CLAIMS_TEMPLATE_MAX_SOURCE);
        return -EINVAL;
    }
    json_t *utf8 = memchr(src, '\0', len) ? NULL : json_stringn(src, len); /* the UTF-8 check at hand */
    if (!utf8) {
        if (err_size)
            snprintf(err, err_size, "the template is not UTF-8 text (or holds a NUL byte)");
        return -EINVAL;
    }
    json_decref(utf8);
    struct claims_template *t = calloc(1, sizeof(*t));
    if (!t || !(t->src = malloc(len + 1))) {
        free(t);
        return -ENOMEM;
    }
    memcpy(t->src, src, len);
    t->src[len] = '\0';
    /* MiniJinja drops one trailing newline (keep_trailing_newline is off) */
    if (len && t->src[len - 1] == '\n')
        len--;
    if (len && t->src[len - 1] == '\r' && len < strlen(t->src))
        len--;
    t->len = len;
    struct parser p = {.t = t, .src = t->src, .len = len, .err = err, .err_size = err_size};
    enum body_end end;
    size_t at;
    int r = parse_body(&p, &t->body, false, &end, &at);
    if (r < 0) {
        claims_template_free(t);
        return strstr(err_size ? err : "", "out of memory") ? -ENOMEM : -EINVAL;
    }
    *out = t;
    return 0;
}

void claims_template_free(struct claims_template *t)
{
    if (!t)
        return;
    for (struct cnode *n = t->all, *next; n; n = next) {
        next = n->all_next;
        json_decref(n->lit);
        free(n->name);
        free(n);
    }
    free(t->src);
    free(t);
}
