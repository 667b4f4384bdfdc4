/* YAML through libyaml's document API, copied into a tree of struct ynode with positions. */
#include "yaml_tree.h"
#include "str.h"
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct tree_builder {
    yaml_document_t *doc;
    const char *name;
    char **error;
    size_t nodes, bytes;
};

static int set_error(char **error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_error(char **error, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(error, fmt, ap) < 0)
        *error = NULL;
    va_end(ap);
    return r;
}

void yaml_tree_free(struct ynode *n)
{
    if (!n)
        return;
    free(n->str);
    for (size_t i = 0; i < n->n_items; i++)
        yaml_tree_free(n->items[i]);
    free(n->items);
    for (size_t i = 0; i < n->n_pairs; i++) {
        yaml_tree_free(n->pairs[i].key);
        yaml_tree_free(n->pairs[i].value);
    }
    free(n->pairs);
    free(n);
}

static int copy_node(struct tree_builder *b, int index, unsigned depth, struct ynode **out);

static int copy_scalar(struct tree_builder *b, const yaml_node_t *src, struct ynode *n)
{
    size_t len = src->data.scalar.length;
    b->bytes += len;
    if (b->bytes > YAML_TREE_MAX_BYTES)
        return set_error(b->error, -EINVAL,
                         "%s:%u:%u: document is too large (over %u bytes of text after expanding aliases)",
                         b->name, n->line, n->column, YAML_TREE_MAX_BYTES);
    n->str = malloc(len + 1);
    if (!n->str)
        return -ENOMEM;
    if (len)
        memcpy(n->str, src->data.scalar.value, len);
    n->str[len] = '\0';
    n->len = len;
    n->plain = src->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    return 0;
}

static int copy_sequence(struct tree_builder *b, const yaml_node_t *src, struct ynode *n, unsigned depth)
{
    size_t count = (size_t)(src->data.sequence.items.top - src->data.sequence.items.start);
    if (count == 0)
        return 0;
    n->items = calloc(count, sizeof(*n->items));
    if (!n->items)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        int r = copy_node(b, src->data.sequence.items.start[i], depth + 1, &n->items[n->n_items]);
        if (n->items[n->n_items])
            n->n_items++;
        if (r < 0)
            return r;
    }
    return 0;
}

static int copy_mapping(struct tree_builder *b, const yaml_node_t *src, struct ynode *n, unsigned depth)
{
    size_t count = (size_t)(src->data.mapping.pairs.top - src->data.mapping.pairs.start);
    if (count == 0)
        return 0;
    n->pairs = calloc(count, sizeof(*n->pairs));
    if (!n->pairs)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        struct ynode_pair *p = &n->pairs[n->n_pairs];
        int r = copy_node(b, src->data.mapping.pairs.start[i].key, depth + 1, &p->key);
        if (r >= 0)
            r = copy_node(b, src->data.mapping.pairs.start[i].value, depth + 1, &p->value);
        if (p->key || p->value)
            n->n_pairs++;
        if (r < 0)
            return r;
    }
    return 0;
}

/* Copies node `index` of the document. Aliases point at shared (possibly enclosing) nodes, so
 * depth and the node/byte budgets are what keep this finite. On failure *out may hold a
 * partial node, which the caller frees with the rest of the tree. */
static int copy_node(struct tree_builder *b, int index, unsigned depth, struct ynode **out)
{
    *out = NULL;
    const yaml_node_t *src = yaml_document_get_node(b->doc, index);
    if (!src)
        return set_error(b->error, -EINVAL, "%s: malformed YAML document", b->name);
    unsigned line = (unsigned)src->start_mark.line + 1, column = (unsigned)src->start_mark.column + 1;
    if (depth > YAML_TREE_MAX_DEPTH)
        return set_error(b->error, -EINVAL,
                         "%s:%u:%u: nesting is deeper than %d levels (or an alias refers to its own parent)",
                         b->name, line, column, YAML_TREE_MAX_DEPTH);
    if (++b->nodes > YAML_TREE_MAX_NODES)
        return set_error(b->error, -EINVAL,
                         "%s:%u:%u: document has more than %d nodes after expanding aliases", b->name, line,
                         column, YAML_TREE_MAX_NODES);
    struct ynode *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    *out = n;
    n->line = line;
    n->column = column;
    switch (src->type) {
    case YAML_SCALAR_NODE:
        n->kind = YNODE_SCALAR;
        return copy_scalar(b, src, n);
    case YAML_SEQUENCE_NODE:
        n->kind = YNODE_SEQUENCE;
        return copy_sequence(b, src, n, depth);
    case YAML_MAPPING_NODE:
        n->kind = YNODE_MAPPING;
        return copy_mapping(b, src, n, depth);
    default:
        return set_error(b->error, -EINVAL, "%s:%u:%u: malformed YAML node", b->name, line, column);
    }
}

/* libyaml's reader errors carry a byte offset instead of a mark. */
static void offset_to_position(const char *data, size_t len, size_t offset, unsigned *line, unsigned *column)
{
    *line = 1;
    *column = 1;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        if (data[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)data[i] & 0xC0) != 0x80) {
            (*column)++;
        }
    }
}

static int parser_error(const char *name, const yaml_parser_t *p, const char *data, size_t len, char **error)
{
    if (p->error == YAML_MEMORY_ERROR)
        return set_error(error, -ENOMEM, "%s: out of memory while parsing YAML", name);
    const char *problem = p->problem ? p->problem : "invalid YAML";
    unsigned line, column;
    if (p->error == YAML_READER_ERROR) {
        offset_to_position(data, len, p->problem_offset, &line, &column);
        if (p->problem_value >= 0)
            return set_error(error, -EINVAL, "%s:%u:%u: %s (#%X)", name, line, column, problem,
                             (unsigned)p->problem_value);
        return set_error(error, -EINVAL, "%s:%u:%u: %s", name, line, column, problem);
    }
    line = (unsigned)p->problem_mark.line + 1;
    column = (unsigned)p->problem_mark.column + 1;
    if (p->context)
        return set_error(error, -EINVAL, "%s:%u:%u: %s (%s at %u:%u)", name, line, column, problem,
                         p->context, (unsigned)p->context_mark.line + 1,
                         (unsigned)p->context_mark.column + 1);
    return set_error(error, -EINVAL, "%s:%u:%u: %s", name, line, column, problem);
}

/* MAS (serde_yaml) refuses a stream of several documents; so do we. */
static int check_single_document(const char *name, yaml_parser_t *parser, const char *data, size_t len,
                                 char **error)
{
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next))
        return parser_error(name, parser, data, len, error);
    const yaml_node_t *root = yaml_document_get_root_node(&next);
    int r = 0;
    if (root)
        r = set_error(error, -EINVAL, "%s:%u:%u: a second YAML document is not supported (one document only)",
                      name, (unsigned)next.start_mark.line + 1, (unsigned)next.start_mark.column + 1);
    yaml_document_delete(&next);
    return r;
}

/* libyaml's scanner does work proportional to the flow nesting depth for every token, and its
 * loader builds the whole document first: a file of nested '[' takes minutes. A first pass over
 * the events stops at the depth we refuse anyway, before the cost grows. */
static int check_depth(const char *name, const char *data, size_t len, char **error)
{
    yaml_parser_t parser;
    yaml_event_t event;
    int depth = 0, r = 0;
    if (!yaml_parser_initialize(&parser))
        return set_error(error, -ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    for (bool done = false; !done && r == 0;) {
        if (!yaml_parser_parse(&parser, &event)) {
            r = parser_error(name, &parser, data, len, error);
            break;
        }
        if (event.type == YAML_SEQUENCE_START_EVENT || event.type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (event.type == YAML_SEQUENCE_END_EVENT || event.type == YAML_MAPPING_END_EVENT)
            depth--;
        if (depth > YAML_TREE_MAX_DEPTH)
            r = set_error(error, -EINVAL, "%s:%u:%u: nesting is deeper than %d levels", name,
                          (unsigned)event.start_mark.line + 1, (unsigned)event.start_mark.column + 1,
                          YAML_TREE_MAX_DEPTH);
        done = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    return r;
}

int yaml_tree_load(const char *name, const char *data, size_t len, struct ynode **root, char **error)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    *root = NULL;
    *error = NULL;
    if (!data) /* libyaml asserts a non-NULL input */
        data = "", len = 0;
    int r = check_depth(name, data, len, error);
    if (r < 0)
        return r;
    if (!yaml_parser_initialize(&parser))
        return set_error(error, -ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        r = parser_error(name, &parser, data, len, error);
        yaml_parser_delete(&parser);
        return r;
    }
    if (yaml_document_get_root_node(&doc)) {
        struct tree_builder b = {.doc = &doc, .name = name, .error = error};
        r = copy_node(&b, 1, 0, root);
        if (r >= 0)
            r = check_single_document(name, &parser, data, len, error);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (r < 0) {
        yaml_tree_free(*root);
        *root = NULL;
        if (!*error)
            set_error(error, r, "%s: %s", name, strerror(-r));
    }
    return r;
}

const struct ynode *ynode_get(const struct ynode *map, const char *key, const struct ynode **key_node)
{
    if (key_node)
        *key_node = NULL;
    if (!map || map->kind != YNODE_MAPPING)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < map->n_pairs; i++) {
        const struct ynode *k = map->pairs[i].key;
        if (k->kind == YNODE_SCALAR && k->len == klen && memcmp(k->str, key, klen) == 0) {
            if (key_node)
                *key_node = k;
            return map->pairs[i].value;
        }
    }
    return NULL;
}

struct key_ref {
    const struct ynode *key;
    size_t index;
};

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    size_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
    int c = n ? memcmp(x->key->str, y->key->str, n) : 0;
    if (c)
        return c;
    if (x->key->len != y->key->len)
        return x->key->len < y->key->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorting keeps this O(n log n): a fuzzer (or a generated file) can write huge mappings. */
long ynode_find_duplicate(const struct ynode *map)
{
    if (!map || map->kind != YNODE_MAPPING || map->n_pairs < 2)
        return -1;
    struct key_ref *refs = calloc(map->n_pairs, sizeof(*refs));
    if (!refs)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < map->n_pairs; i++)
        if (map->pairs[i].key->kind == YNODE_SCALAR)
            refs[n++] = (struct key_ref){map->pairs[i].key, i};
    qsort(refs, n, sizeof(*refs), key_ref_cmp);
    long first = -1;
    for (size_t i = 1; i < n; i++) {
        const struct ynode *a = refs[i - 1].key, *b = refs[i].key;
        if (a->len == b->len && memcmp(a->str, b->str, a->len) == 0 &&
            (first < 0 || refs[i].index < (size_t)first))
            first = (long)refs[i].index;
    }
    free(refs);
    return first;
}

bool ynode_is_null(const struct ynode *n)
{
    if (!n || n->kind != YNODE_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

int ynode_bool(const struct ynode *n, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
    if (!n || n->kind != YNODE_SCALAR || !n->plain)
        return -EINVAL;
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(n->str, yes[i]) == 0 && n->len == strlen(yes[i])) {
            *out = true;
            return 0;
        }
        if (strcmp(n->str, no[i]) == 0 && n->len == strlen(no[i])) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int ynode_int(const struct ynode *n, long long min, long long max, long long *out)
{
    if (!n || n->kind != YNODE_SCALAR || !n->plain || n->len == 0)
        return -EINVAL;
    const char *p = n->str, *end = n->str + n->len;
    bool negative = false;
    unsigned base = 10;
    if (end - p > 2 && p[0] == '0' && (p[1] == 'o' || p[1] == 'x')) {
        base = p[1] == 'o' ? 8 : 16;
        p += 2;
    } else if (*p == '-' || *p == '+') {
        negative = *p == '-';
        p++;
    }
    if (p == end)
        return -EINVAL;
    unsigned long long v = 0;
    bool overflow = false;
    for (; p < end; p++) {
        unsigned d = (unsigned)masd_hexval(*p); /* -1 wraps above any base */
        if (d >= base)
            return -EINVAL;
        if (v > (~0ULL - d) / base)
            overflow = true;
        else
            v = v * base + d;
    }
    const unsigned long long limit = (unsigned long long)LLONG_MAX + (negative ? 1u : 0u);
    if (overflow || v > limit)
        return -ERANGE;
    long long s = !negative ? (long long)v : v == 0 ? 0 : -(long long)(v - 1) - 1;
    if (s < min || s > max)
        return -ERANGE;
    *out = s;
    return 0;
}

int ynode_string(const struct ynode *n, const char **out)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n) || memchr(n->str, '\0', n->len))
        return -EINVAL;
    *out = n->str;
    return 0;
}
