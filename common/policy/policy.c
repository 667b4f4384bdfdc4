/* The policy's data (MAS: crates/policy/src/lib.rs Data, merge_data) and the violation list
 * every policy fills. */
#include "policy_internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int policy_fail(char **error, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(error, fmt, ap) < 0)
        *error = NULL;
    va_end(ap);
    return r;
}

const char *policy_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* MAS: crates/policy/src/lib.rs merge_data_rec. Objects merge key by key, arrays concatenate,
 * a number/boolean/string replaces one of its kind, null is replaced by anything and replaces
 * anything; any other pair is an error. Steals right; *left may be replaced. */
static int merge(json_t **left, json_t *right, char **error)
{
    json_t *l = *left;
    int r = 0;
    if (json_is_object(l) && json_is_object(right)) {
        const char *key;
        json_t *v;
        json_object_foreach(right, key, v)
        {
            json_t *lv = json_object_get(l, key);
            if (!lv) {
                if (json_object_set(l, key, v) < 0) {
                    r = -ENOMEM;
                    break;
                }
                continue;
            }
            json_t *merged = json_incref(lv);
            if ((r = merge(&merged, json_incref(v), error)) < 0)
                json_decref(merged);
            else if (json_object_set_new(l, key, merged) < 0) /* steals merged */
                r = -ENOMEM;
            if (r < 0)
                break;
        }
        json_decref(right);
        return r;
    }
    if (json_is_array(l) && json_is_array(right)) {
        r = json_array_extend(l, right) < 0 ? -ENOMEM : 0;
        json_decref(right);
        return r;
    }
    bool same =
        strcmp(policy_json_kind(l), policy_json_kind(right)) == 0 && !json_is_object(l) && !json_is_array(l);
    if (same || json_is_null(l) || json_is_null(right)) {
        json_decref(l);
        *left = right;
        return 0;
    }
    r = policy_fail(error, -EINVAL, "policy.data: cannot merge a %s into a %s", policy_json_kind(right),
                    policy_json_kind(l));
    json_decref(right);
    return r;
}

/* MAS: crates/cli/src/util.rs policy_factory_from_config, BaseData */
static json_t *base_data(const struct config *cfg)
{
    const struct config_session_limit *sl = cfg->session_limit;
    json_t *limit =
        sl ? json_pack("{s:I, s:I, s:o, s:b}", "soft_limit", (json_int_t)sl->soft_limit, "hard_limit",
                       (json_int_t)sl->hard_limit, "max_session_threshold",
                       sl->max_session_threshold ? json_integer((json_int_t)sl->max_session_threshold)
                                                 : json_null(),
                       "dangerous_hard_limit_eviction", sl->dangerous_hard_limit_eviction)
           : json_null();
    return json_pack("{s:s, s:o}", "server_name", cfg->matrix.homeserver ? cfg->matrix.homeserver : "",
                     "session_limit", limit);
}

int policy_strings_load(const json_t *parent, const char *key, const char *path, struct policy_strings *out,
                        char **error)
{
    const json_t *v = json_is_object(parent) ? json_object_get(parent, key) : NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return policy_fail(error, -EINVAL, "%s: expected a list of strings, found a %s", path,
                           policy_json_kind(v));
    if (!(out->items = calloc(json_array_size(v) + 1, sizeof(*out->items))))
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s))
            return policy_fail(error, -EINVAL, "%s[%zu]: expected a string, found a %s", path, i,
                               policy_json_kind(s));
        if (!(out->items[out->n++] = strdup(json_string_value(s))))
            return -ENOMEM;
    }
    return 0;
}

void policy_strings_free(struct policy_strings *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    *l = (struct policy_strings){0};
}

bool policy_strings_contains(const struct policy_strings *l, const char *s)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

/* An integer setting of data.session_limit: absent or null leaves *has false. */
static int limit_value(const json_t *sl, const char *key, bool *has, int64_t *out, char **error)
{
    const json_t *v = json_object_get(sl, key);
    *has = v && !json_is_null(v);
    if (!*has)
        return 0;
    if (!json_is_integer(v))
        return policy_fail(error, -EINVAL, "policy.data.session_limit.%s: expected an integer, found a %s",
                           key, policy_json_kind(v));
    *out = json_integer_value(v);
    return 0;
}

static int read_data(struct policy *p, char **error)
{
    int r;
    if ((r = policy_strings_load(p->data, "admin_users", "policy.data.admin_users", &p->admin_users, error)) <
            0 ||
        (r = policy_strings_load(p->data, "admin_clients", "policy.data.admin_clients", &p->admin_clients,
                                 error)) < 0)
        return r;
    const json_t *req = json_is_object(p->data) ? json_object_get(p->data, "requester") : NULL;
    if ((r = policy_requester_rules_load(req, &p->requester, error)) < 0 ||
        (r = policy_client_registration_load(p, error)) < 0 || (r = policy_register_load(p, error)) < 0)
        return r;
    const json_t *sl = json_is_object(p->data) ? json_object_get(p->data, "session_limit") : NULL;
    if (!sl || json_is_null(sl))
        return 0;
    if (!json_is_object(sl))
        return policy_fail(error, -EINVAL, "policy.data.session_limit: expected an object, found a %s",
                           policy_json_kind(sl));
    p->session_limit = true;
    if ((r = limit_value(sl, "soft_limit", &p->has_soft_limit, &p->soft_limit, error)) < 0 ||
        (r = limit_value(sl, "hard_limit", &p->has_hard_limit, &p->hard_limit, error)) < 0)
        return r;
    return limit_value(sl, "max_session_threshold", &p->has_max_threshold, &p->max_threshold, error);
}

int policy_new(const struct config *cfg, struct policy **out, char **error)
{
    *out = NULL;
    *error = NULL;
    struct policy *p = calloc(1, sizeof(*p));
    json_error_t jerr;
    json_t *rest = json_loads(cfg->policy_data ? cfg->policy_data : "{}", JSON_DECODE_ANY, &jerr);
    int r = -ENOMEM;
    if (p && rest && (p->data = base_data(cfg)))
        r = merge(&p->data, rest, error), rest = NULL;
    json_decref(rest);
    if (r >= 0)
        r = read_data(p, error);
    if (r < 0) {
        if (r == -ENOMEM && !*error)
            *error = strdup("out of memory");
        policy_free(p);
        return r;
    }
    *out = p;
    return 0;
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    json_decref(p->data);
    policy_strings_free(&p->admin_users);
    policy_strings_free(&p->admin_clients);
    policy_requester_rules_free(&p->requester);
    policy_register_free(p);
    free(p);
}

int policy_violation_add(struct policy_result *r, const char *code, uint64_t need_to_remove, const char *fmt,
                         ...)
{
    struct policy_violation *v = realloc(r->violations, (r->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    r->violations = v;
    va_list ap;
    va_start(ap, fmt);
    char *msg;
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    v[r->n++] = (struct policy_violation){.msg = msg, .code = code, .need_to_remove = need_to_remove};
    return 0;
}

int policy_violation_add_field(struct policy_result *r, const char *field, const char *code, const char *msg)
{
    int e = policy_violation_add(r, code, 0, "%s", msg);
    if (e >= 0)
        r->violations[r->n - 1].field = field;
    return e;
}

static int compare(const void *a, const void *b)
{
    const struct policy_violation *x = a, *y = b;
    if (!x->code != !y->code)
        return x->code ? -1 : 1;
    int c = x->code ? strcmp(x->code, y->code) : 0;
    if (!c)
        c = strcmp(x->msg, y->msg);
    if (!c)
        c = x->need_to_remove < y->need_to_remove ? -1 : x->need_to_remove > y->need_to_remove;
    if (!c && !x->field != !y->field)
        c = x->field ? 1 : -1;
    if (!c && x->field)
        c = strcmp(x->field, y->field);
    if (!c && !x->redirect_uri != !y->redirect_uri)
        c = x->redirect_uri ? 1 : -1;
    if (!c && x->redirect_uri)
        c = strcmp(x->redirect_uri, y->redirect_uri);
    return c;
}

void policy_result_finish(struct policy_result *r)
{
    if (r->n < 2)
        return;
    qsort(r->violations, r->n, sizeof(*r->violations), compare);
    size_t kept = 1;
    for (size_t i = 1; i < r->n; i++) {
        if (compare(&r->violations[kept - 1], &r->violations[i]) == 0) {
            free(r->violations[i].msg);
            free(r->violations[i].redirect_uri);
        } else
            r->violations[kept++] = r->violations[i];
    }
    r->n = kept;
}

void policy_result_clear(struct policy_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->violations[i].msg);
        free(r->violations[i].redirect_uri);
    }
    free(r->violations);
    *r = (struct policy_result){0};
}
