/* Shared by the claims template parser and evaluator (claims_*.c); not for services. */
#pragma once
#include "claims_template.h"
#include <stdbool.h>

#define CNODE_MAX_ARGS 16

enum cnode_kind {
    S_TEXT,   /* text_at, text_len */
    S_OUTPUT, /* {{ a }} */
    S_IF,     /* if a: b else c (body lists) */
    S_SET,    /* name = a */
    E_LIT,    /* lit */
    E_NAME,   /* name */
    E_ATTR,   /* a.lit (a name as a string, or an integer) */
    E_INDEX,  /* a[b] */
    E_FILTER, /* args[0] | name(args[1..]) */
    E_TEST,   /* args[0] is [not] name(args[1..]) */
    E_NEG,    /* op a ('-' or '+') */
    E_NOT,    /* not a */
    E_AND,    /* a and b */
    E_OR,     /* a or b */
    E_COMPARE,
    E_MATH,   /* + - * / // % */
    E_CONCAT, /* a ~ b */
    E_COND,   /* b if a else c */
    E_LIST,   /* [args] */
    E_MAP,    /* {args[0]: args[1], ...} */
};

struct cnode {
    enum cnode_kind kind;
    size_t at; /* source offset, for messages */
    struct cnode *a, *b, *c, *next;
    struct cnode *args[CNODE_MAX_ARGS];
    size_t n_args;
    char *name;
    json_t *lit;
    char op;
    char opname[6];
    bool negate;
    int fn; /* the filter or test */
    size_t text_at, text_len;
    unsigned height;        /* of the expression tree below (evaluation recurses that deep) */
    struct cnode *all_next; /* every node, for freeing */
};

struct claims_template {
    char *src;
    size_t len;
    struct cnode *body;
    struct cnode *all;
    size_t n_nodes;
};

/* Index of a filter or a test by name, or -1. */
int claims_filter_find(const char *name);
int claims_test_find(const char *name);
