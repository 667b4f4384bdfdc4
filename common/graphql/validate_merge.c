/* Field selection merging (GraphQL §5.3.2, FieldsInSetCanMerge and SameResponseShape), over an
 * operation with its fragments expanded, in bounded work.
 *
 * The spec compares fields pairwise, which is quadratic and, through fragments, can be
 * exponential. Here the fields of a selection set that share a response name form a group:
 *  - SameResponseShape holds for every pair when every field has the shape of the first (shape
 *    equality is an equivalence), level by level over the union of their selections;
 *  - fields whose parent types are not two different object types must be the same field with
 *    the same arguments, and their selections, merged, must merge in turn. Such fields are one
 *    component: all of the group when any parent is abstract (names and arguments must then
 *    all agree, by transitivity), else one per parent object type. The selections of a
 *    component are checked as one set: a superset of the pairs the spec checks, so at worst
 *    a valid document is refused, never an invalid one accepted.
 * The work (fields visited) counts with the rest of the document's validation, capped; past the
 * cap the document is refused. */
#include "internal.h"
#include <errno.h>
#include <stdlib.h>

#define NAME(s) (int)(s).len, (s).ptr

typedef struct {
    const gql_selection *sel;
    const gql_type *parent;
    size_t order; /* position in the document walk, to keep sorting stable */
} field;

typedef struct {
    field *items;
    size_t n, cap;
} field_list;

typedef struct {
    const gql_schema *schema;
    json_t *errors;
    size_t *work; /* shared by every operation of the document */
    int r;        /* 0, -EINVAL or -ENOMEM */
} merger;

static void fail(merger *m, int r)
{
    if (m->r == 0)
        m->r = r;
}

static void conflict(merger *m, const field *a, const field *b, const char *why)
{
    masd_str name = a->sel->alias.len ? a->sel->alias : a->sel->name;
    if (gql_error_add(
            m->errors, a->sel->loc,
            "Fields \"%.*s\" conflict because %s. Use different aliases on the fields to fetch both if this "
            "was intentional.",
            NAME(name), why) < 0)
        return fail(m, -ENOMEM);
    json_t *e = json_array_get(m->errors, json_array_size(m->errors) - 1);
    json_array_append_new(json_object_get(e, "locations"),
                          json_pack("{s:i,s:i}", "line", (json_int_t)b->sel->loc.line, "column",
                                    (json_int_t)b->sel->loc.column));
    fail(m, -EINVAL);
}

static void push(merger *m, field_list *l, const gql_selection *s, const gql_type *parent)
{
    if (++*m->work > GQL_MAX_VALIDATION_WORK) {
        if (m->r == 0 && gql_error_add(m->errors, s->loc, "The document is too complex to validate.") < 0)
            return fail(m, -ENOMEM);
        return fail(m, -EINVAL);
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        field *items = realloc(l->items, cap * sizeof(*items));
        if (!items)
            return fail(m, -ENOMEM);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n] = (field){s, parent, l->n};
    l->n++;
}

/* The fields of a selection set, fragments expanded (acyclic and shallow: validated before). */
static void collect(merger *m, field_list *l, const gql_selection *s, const gql_type *parent, unsigned depth)
{
    if (depth > GQL_MAX_RECURSION) {
        if (m->r == 0 && gql_error_add(m->errors, s->loc, "The document nests too deeply.") < 0)
            return fail(m, -ENOMEM);
        return fail(m, -EINVAL);
    }
    for (; s && m->r == 0; s = s->next) {
        if (s->kind == GQL_SEL_FIELD)
            push(m, l, s, parent);
        else if (s->kind == GQL_SEL_INLINE)
            collect(m, l, s->selections, s->cond ? s->cond : parent, depth + 1);
        else
            collect(m, l, s->fragment->selections, gql_schema_type(m->schema, s->fragment->type_cond),
                    depth + 1);
    }
}

/* The selections of fields [from, to) of l, merged. */
static void children(merger *m, const field_list *l, size_t from, size_t to, field_list *out, unsigned depth)
{
    for (size_t i = from; i < to && m->r == 0; i++) {
        const gql_selection *s = l->items[i].sel;
        if (s->selections)
            collect(m, out, s->selections, gql_named(s->def->type), depth);
    }
}

static masd_str response_name(const field *f)
{
    return f->sel->alias.len ? f->sel->alias : f->sel->name;
}

static int by_name(const void *x, const void *y)
{
    const field *a = x, *b = y;
    masd_str na = response_name(a), nb = response_name(b);
    size_t n = na.len < nb.len ? na.len : nb.len;
    int c = memcmp(na.ptr, nb.ptr, n);
    if (c == 0 && na.len != nb.len)
        c = na.len < nb.len ? -1 : 1;
    return c ? c : (a->order < b->order ? -1 : 1);
}

static int by_parent(const void *x, const void *y)
{
    const field *a = x, *b = y;
    if (a->parent != b->parent)
        return (uintptr_t)a->parent < (uintptr_t)b->parent ? -1 : 1;
    return a->order < b->order ? -1 : 1;
}

/* SameResponseShape at one level: the same list and non-null wrappers, the same leaf type. */
static bool same_shape(const gql_type_ref *a, const gql_type_ref *b)
{
    for (;;) {
        if ((a->kind == GQL_TYPE_NON_NULL) != (b->kind == GQL_TYPE_NON_NULL))
            return false;
        if (a->kind == GQL_TYPE_NON_NULL) {
            a = a->of, b = b->of;
            continue;
        }
        if ((a->kind == GQL_TYPE_LIST) != (b->kind == GQL_TYPE_LIST))
            return false;
        if (a->kind == GQL_TYPE_LIST) {
            a = a->of, b = b->of;
            continue;
        }
        if (gql_is_leaf(a->type) || gql_is_leaf(b->type))
            return a->type == b->type;
        return true;
    }
}

static bool same_arguments(const gql_argument *a, const gql_argument *b)
{
    size_t na = 0, nb = 0;
    for (const gql_argument *x = a; x; x = x->next, na++) {
        const gql_argument *y = b;
        while (y && !masd_str_eq(x->name, y->name))
            y = y->next;
        if (!y || !gql_value_equal(x->value, y->value))
            return false;
    }
    for (; b; b = b->next)
        nb++;
    return na == nb;
}

static void check_shapes(merger *m, field_list *l, unsigned depth);
static void check_set(merger *m, field_list *l, unsigned depth);
static void check_children(merger *m, const field_list *l, size_t i, size_t j, unsigned depth,
                           bool shape_only);

/* SameResponseShape of group [i, j) at this level: every field has the first one's shape. */
static void check_group_shapes(merger *m, const field_list *l, size_t i, size_t j)
{
    char t1[128], t2[128], why[300];
    const field *first = &l->items[i];
    for (size_t k = i + 1; k < j && m->r == 0; k++) {
        const field *f = &l->items[k];
        if (!same_shape(first->sel->def->type, f->sel->def->type)) {
            snprintf(why, sizeof(why), "they return conflicting types \"%s\" and \"%s\"",
                     gql_type_ref_print(first->sel->def->type, t1, sizeof(t1)),
                     gql_type_ref_print(f->sel->def->type, t2, sizeof(t2)));
            conflict(m, first, f, why);
        }
    }
}

/* SameResponseShape over whole subtrees, for fields that need not merge otherwise. */
static void check_shapes(merger *m, field_list *l, unsigned depth)
{
    qsort(l->items, l->n, sizeof(field), by_name);
    for (size_t i = 0, j; i < l->n && m->r == 0; i = j) {
        for (j = i + 1; j < l->n && masd_str_eq(response_name(&l->items[i]), response_name(&l->items[j]));
             j++)
            ;
        check_group_shapes(m, l, i, j);
        if (m->r == 0)
            check_children(m, l, i, j, depth, true);
    }
}

/* One component: the same field with the same arguments. */
static void check_same_field(merger *m, const field_list *l, size_t i, size_t j)
{
    char why[300];
    const field *first = &l->items[i];
    for (size_t k = i + 1; k < j && m->r == 0; k++) {
        const field *f = &l->items[k];
        if (!masd_str_eq(first->sel->name, f->sel->name)) {
            snprintf(why, sizeof(why), "\"%.*s\" and \"%.*s\" are different fields", NAME(first->sel->name),
                     NAME(f->sel->name));
            conflict(m, first, f, why);
        } else if (!same_arguments(first->sel->args, f->sel->args)) {
            conflict(m, first, f, "they have differing arguments");
        }
    }
}

/* The merged selections of fields [i, j) of l must merge in turn, or only have the same shape. */
static void check_children(merger *m, const field_list *l, size_t i, size_t j, unsigned depth,
                           bool shape_only)
{
    field_list sub = {0};
    children(m, l, i, j, &sub, depth + 1);
    if (m->r == 0 && sub.n > (shape_only ? 1u : 0u)) {
        if (shape_only)
            check_shapes(m, &sub, depth + 1);
        else
            check_set(m, &sub, depth + 1);
    }
    free(sub.items);
}

/* Components of group [i, j): all of it when a parent is abstract, else one per object type. */
static size_t components(field_list *l, size_t i, size_t j, size_t *ends)
{
    bool abstract = false;
    for (size_t k = i; k < j; k++)
        abstract |= l->items[k].parent->kind != GQL_KIND_OBJECT;
    if (abstract || j - i == 1) {
        ends[0] = j;
        return 1;
    }
    qsort(l->items + i, j - i, sizeof(field), by_parent);
    size_t n = 0;
    for (size_t a = i, b; a < j; a = b) {
        for (b = a + 1; b < j && l->items[b].parent == l->items[a].parent; b++)
            ;
        ends[n++] = b;
    }
    return n;
}

static void check_set(merger *m, field_list *l, unsigned depth)
{
    qsort(l->items, l->n, sizeof(field), by_name);
    for (size_t i = 0, j; i < l->n && m->r == 0; i = j) {
        for (j = i + 1; j < l->n && masd_str_eq(response_name(&l->items[i]), response_name(&l->items[j]));
             j++)
            ;
        size_t *ends = malloc((j - i) * sizeof(*ends));
        if (!ends)
            return fail(m, -ENOMEM);
        size_t n = components(l, i, j, ends);
        for (size_t c = 0, a = i; c < n && m->r == 0; a = ends[c++])
            check_same_field(m, l, a, ends[c]);
        if (m->r == 0)
            check_group_shapes(m, l, i, j);
        for (size_t c = 0, a = i; c < n && m->r == 0; a = ends[c++])
            check_children(m, l, a, ends[c], depth, false);
        if (n > 1 && m->r == 0) /* different object types: only their shapes must agree */
            check_children(m, l, i, j, depth, true);
        free(ends);
    }
}

int gql_validate_merge(const gql_schema *schema, const gql_definition *operation, json_t *errors,
                       size_t *work)
{
    merger m = {.schema = schema, .errors = errors, .work = work};
    field_list l = {0};
    collect(&m, &l, operation->selections, schema->roots[operation->operation], 0);
    if (m.r == 0)
        check_set(&m, &l, 0);
    free(l.items);
    return m.r;
}
