/* A YAML document as a plain tree: every node knows where it started (1-based line:column), so
 * the config loader can point at the exact spot of a mistake. Aliases are expanded (within a
 * budget), so the tree has no shared nodes and no cycles. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum ynode_kind { YNODE_SCALAR, YNODE_SEQUENCE, YNODE_MAPPING };

struct ynode_pair {
    struct ynode *key, *value;
};

struct ynode {
    enum ynode_kind kind;
    unsigned line, column;
    /* YNODE_SCALAR: the bytes (NUL-terminated, may contain NUL when escaped) */
    char *str;
    size_t len;
    bool plain; /* unquoted, not a block scalar: only plain scalars resolve to null, bool, int */
    /* YNODE_SEQUENCE */
    struct ynode **items;
    size_t n_items;
    /* YNODE_MAPPING, in document order */
    struct ynode_pair *pairs;
    size_t n_pairs;
};

/* Nesting deeper than this is refused (it also stops recursive aliases). */
#define YAML_TREE_MAX_DEPTH 64
/* Nodes in the tree after alias expansion ("billion laughs" stops here). */
#define YAML_TREE_MAX_NODES 200000
/* Scalar bytes in the tree after alias expansion. */
#define YAML_TREE_MAX_BYTES (16u << 20)

/* Parses the first and only document of data. *root is NULL for an empty stream. On failure
 * returns -EINVAL (or -ENOMEM) and sets *error to "name:line:column: problem" (malloc'd). */
int yaml_tree_load(const char *name, const char *data, size_t len, struct ynode **root, char **error);

void yaml_tree_free(struct ynode *n);

/* The value of `key` in a mapping, or NULL (also when map is not a mapping). Sets *key_node to
 * the key when key_node is not NULL. */
const struct ynode *ynode_get(const struct ynode *map, const char *key, const struct ynode **key_node);

/* Index of the first pair whose key repeats an earlier key (by bytes), or -1. Non-scalar keys
 * never compare equal. */
long ynode_find_duplicate(const struct ynode *map);

/* Plain "", "~", "null", "Null", "NULL". */
bool ynode_is_null(const struct ynode *n);

/* Plain true/True/TRUE/false/False/FALSE (the booleans YAML 1.1 and 1.2 core agree on). Returns
 * 0 or -EINVAL. */
int ynode_bool(const struct ynode *n, bool *out);

/* Plain YAML 1.2 core integer: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+. Returns 0, -EINVAL when
 * n is not an integer, or -ERANGE when it is outside [min, max]. */
int ynode_int(const struct ynode *n, long long min, long long max, long long *out);

/* Any scalar that is not null and has no NUL byte, as a string (a plain 8080 is "8080", as in
 * MAS). Returns 0 or -EINVAL. */
int ynode_string(const struct ynode *n, const char **out);
