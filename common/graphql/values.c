/* Input coercion (GraphQL §3.5 scalars, §3.9 enums, §3.10 input objects, §3.11 lists, §3.12
 * non-null) of literals in a document and of JSON variable values, into JSON; argument coercion
 * (§6.4.1); the printing of literals (introspection's defaultValue, messages). */
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((format(printf, 3, 4))) static int fail(char *message, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, size, fmt, ap);
    va_end(ap);
    return -1;
}

#define NAME(s) (int)(s).len, (s).ptr

/* ---- printing ---- */

typedef struct {
    char *buf;
    size_t size, len; /* len may pass size: the text was cut */
} printer;

__attribute__((format(printf, 2, 3))) static void put(printer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->len < p->size ? p->buf + p->len : NULL, p->len < p->size ? p->size - p->len : 0, fmt,
                      ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n;
}

static void put_string(printer *p, masd_str s)
{
    put(p, "\"");
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\')
            put(p, "\\%c", c);
        else if (c == '\n')
            put(p, "\\n");
        else if (c < 0x20 || c == 0x7F)
            put(p, "\\u%04X", c);
        else
            put(p, "%c", c);
    }
    put(p, "\"");
}

static void print_value(printer *p, const gql_value *v)
{
    switch (v->kind) {
    case GQL_VALUE_VARIABLE:
        put(p, "$%.*s", NAME(v->text));
        break;
    case GQL_VALUE_STRING:
        put_string(p, v->text);
        break;
    case GQL_VALUE_BOOLEAN:
        put(p, v->boolean ? "true" : "false");
        break;
    case GQL_VALUE_NULL:
        put(p, "null");
        break;
    case GQL_VALUE_LIST:
    case GQL_VALUE_OBJECT:
        put(p, v->kind == GQL_VALUE_LIST ? "[" : "{");
        for (const gql_value *i = v->items; i; i = i->next) {
            if (v->kind == GQL_VALUE_OBJECT)
                put(p, "%.*s: ", NAME(i->field_name));
            print_value(p, i);
            if (i->next)
                put(p, ", ");
        }
        put(p, v->kind == GQL_VALUE_LIST ? "]" : "}");
        break;
    default:
        put(p, "%.*s", NAME(v->text));
    }
}

/* The literal as GraphQL text; returns the length it needs (a cut text when >= size). */
size_t gql_value_print(const gql_value *v, char *buf, size_t size)
{
    printer p = {buf, size, 0};
    print_value(&p, v);
    if (size && p.len >= size) { /* never leave half a UTF-8 sequence */
        size_t n = size - 1;
        while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0 && (unsigned char)buf[n - 1] >= 0xC0)
            n--;
        buf[n] = '\0';
    }
    return p.len;
}

static const char *short_value(const gql_value *v, char *buf, size_t size)
{
    if (gql_value_print(v, buf, size) >= size && size > 4)
        strcpy(buf + strlen(buf) - (strlen(buf) > 3 ? 3 : 0), "...");
    return buf;
}

/* ---- scalars ---- */

static bool is_builtin(const gql_type *t, gql_builtin_scalar which)
{
    return t->is == which;
}

/* The integer a literal or JSON number denotes, when it is one within 32 bits. */
static bool int32_of_text(masd_str text, json_int_t *out)
{
    char buf[32];
    if (text.len == 0 || text.len >= sizeof(buf))
        return false;
    memcpy(buf, text.ptr, text.len);
    buf[text.len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = v;
    return true;
}

static bool int32_of_json(const json_t *in, json_int_t *out)
{
    if (json_is_integer(in)) {
        *out = json_integer_value(in);
        return *out >= INT32_MIN && *out <= INT32_MAX;
    }
    double d = json_is_real(in) ? json_real_value(in) : NAN;
    if (!(d >= INT32_MIN && d <= INT32_MAX) || d != floor(d))
        return false;
    *out = (json_int_t)d;
    return true;
}

/* A built-in scalar from JSON (a variable's value, or a literal already turned into JSON). */
static int builtin_scalar(const gql_type *t, const json_t *in, json_t **out, char *message, size_t size)
{
    json_int_t i;
    if (is_builtin(t, GQL_INT)) {
        if (!int32_of_json(in, &i))
            return fail(message, size, "Int cannot represent a non 32-bit signed integer value");
        *out = json_integer(i);
    } else if (is_builtin(t, GQL_FLOAT)) {
        if (!json_is_number(in))
            return fail(message, size, "Float cannot represent a non numeric value");
        *out = json_real(json_number_value(in));
    } else if (is_builtin(t, GQL_STRING)) {
        if (!json_is_string(in))
            return fail(message, size, "String cannot represent a non string value");
        *out = json_copy((json_t *)in);
    } else if (is_builtin(t, GQL_BOOLEAN)) {
        if (!json_is_boolean(in))
            return fail(message, size, "Boolean cannot represent a non boolean value");
        *out = json_copy((json_t *)in);
    } else { /* ID */
        if (json_is_integer(in)) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(in));
            *out = json_string(buf);
        } else if (json_is_string(in)) {
            *out = json_copy((json_t *)in);
        } else {
            return fail(message, size, "ID cannot represent a non-string and non-integer value");
        }
    }
    return *out ? 0 : fail(message, size, "out of memory");
}

static int custom_scalar(const gql_type *t, json_t *in, json_t **out, char *message, size_t size)
{
    if (!t->scalar || !t->scalar->parse) {
        *out = json_incref(in);
        return 0;
    }
    const char *why = NULL;
    if (t->scalar->parse(in, out, &why) < 0 || !*out)
        return fail(message, size, "%s cannot represent this value: %s", t->cname, why ? why : "invalid");
    return 0;
}

/* ---- from JSON (variables, §6.1.2) ---- */

static int coerce_json(const json_t *in, const gql_type_ref *type, json_t **out, char *message, size_t size,
                       unsigned depth);

static int coerce_object_json(const json_t *in, const gql_type *t, json_t **out, char *message, size_t size,
                              unsigned depth)
{
    if (!json_is_object(in))
        return fail(message, size, "Expected type \"%s\" to be an object", t->cname);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)in, key, value)
    {
        if (!gql_input_lookup(t->input_fields, t->ninput_fields, masd_str_from(key)))
            return fail(message, size, "Field \"%s\" is not defined by type \"%s\"", key, t->cname);
    }
    json_t *o = json_object();
    if (!o)
        return fail(message, size, "out of memory");
    for (size_t i = 0; i < t->ninput_fields; i++) {
        const gql_input_value *f = &t->input_fields[i];
        json_t *v = json_object_getn(in, f->name.ptr, f->name.len);
        json_t *c = NULL;
        if (!v && f->default_json) {
            c = json_incref(f->default_json);
        } else if (!v && f->type->kind == GQL_TYPE_NON_NULL) {
            json_decref(o);
            char tb[128];
            return fail(message, size, "Field \"%.*s\" of required type \"%s\" was not provided",
                        NAME(f->name), gql_type_ref_print(f->type, tb, sizeof(tb)));
        } else if (v && coerce_json(v, f->type, &c, message, size, depth + 1) < 0) {
            json_decref(o);
            return -1;
        }
        if (c && json_object_setn_new(o, f->name.ptr, f->name.len, c) < 0) {
            json_decref(o);
            return fail(message, size, "out of memory");
        }
    }
    *out = o;
    return 0;
}

static int coerce_json(const json_t *in, const gql_type_ref *type, json_t **out, char *message, size_t size,
                       unsigned depth)
{
    *out = NULL;
    if (depth > GQL_MAX_RECURSION)
        return fail(message, size, "The value nests too deeply");
    if (type->kind == GQL_TYPE_NON_NULL) {
        if (json_is_null(in)) {
            char tb[128];
            return fail(message, size, "Expected non-nullable type \"%s\" not to be null",
                        gql_type_ref_print(type, tb, sizeof(tb)));
        }
        return coerce_json(in, type->of, out, message, size, depth);
    }
    if (json_is_null(in)) {
        *out = json_null();
        return 0;
    }
    if (type->kind == GQL_TYPE_LIST) {
        json_t *list = json_array();
        if (!list)
            return fail(message, size, "out of memory");
        size_t i;
        json_t *item;
        if (!json_is_array(in)) { /* a single value is a list of one (§3.11) */
            if (coerce_json(in, type->of, &item, message, size, depth + 1) < 0 ||
                json_array_append_new(list, item) < 0)
                goto bad;
        } else {
            json_array_foreach(in, i, item)
            {
                json_t *c;
                if (coerce_json(item, type->of, &c, message, size, depth + 1) < 0 ||
                    json_array_append_new(list, c) < 0)
                    goto bad;
            }
        }
        *out = list;
        return 0;
    bad:
        json_decref(list);
        return -1;
    }
    const gql_type *t = type->type;
    switch (t->kind) {
    case GQL_KIND_SCALAR:
        return t->builtin ? builtin_scalar(t, in, out, message, size)
                          : custom_scalar(t, (json_t *)in, out, message, size);
    case GQL_KIND_ENUM:
        if (!json_is_string(in) || !gql_enum_lookup(t, masd_str_from(json_string_value(in))))
            return fail(message, size, "Value does not exist in \"%s\" enum", t->cname);
        *out = json_copy((json_t *)in);
        return 0;
    case GQL_KIND_INPUT_OBJECT:
        return coerce_object_json(in, t, out, message, size, depth);
    default:
        return fail(message, size, "\"%s\" is not an input type", t->cname);
    }
}

int gql_coerce_json(const json_t *in, const gql_type_ref *type, json_t **out, char *message, size_t size)
{
    return coerce_json(in, type, out, message, size, 0);
}

/* ---- from literals (§2.9, §6.4.1) ---- */

/* A literal as plain JSON, for a custom scalar's parse hook. */
static json_t *literal_json(const gql_value *v, const json_t *variables)
{
    switch (v->kind) {
    case GQL_VALUE_VARIABLE: {
        json_t *x = variables ? json_object_getn(variables, v->text.ptr, v->text.len) : NULL;
        return x ? json_incref(x) : json_null();
    }
    case GQL_VALUE_INT:
    case GQL_VALUE_FLOAT: { /* a large integer is a number all the same */
        json_int_t i;
        if (v->kind == GQL_VALUE_INT && int32_of_text(v->text, &i))
            return json_integer(i);
        char buf[400];
        snprintf(buf, sizeof(buf), "%.*s", NAME(v->text));
        double d = strtod(buf, NULL);
        return json_real(isfinite(d) ? d : 0);
    }
    case GQL_VALUE_STRING:
    case GQL_VALUE_ENUM:
        return json_stringn(v->text.ptr, v->text.len);
    case GQL_VALUE_BOOLEAN:
        return json_boolean(v->boolean);
    case GQL_VALUE_NULL:
        return json_null();
    case GQL_VALUE_LIST:
    case GQL_VALUE_OBJECT: {
        json_t *r = v->kind == GQL_VALUE_LIST ? json_array() : json_object();
        for (const gql_value *i = v->items; r && i; i = i->next) {
            json_t *c = literal_json(i, variables);
            if (!c || (v->kind == GQL_VALUE_LIST
                           ? json_array_append_new(r, c)
                           : json_object_setn_new(r, i->field_name.ptr, i->field_name.len, c)) < 0) {
                json_decref(r);
                return NULL;
            }
        }
        return r;
    }
    }
    return NULL;
}

static int literal_scalar(const gql_value *v, const gql_type *t, const json_t *variables, json_t **out,
                          char *message, size_t size)
{
    char vb[64];
    if (!t->builtin) {
        json_t *j = literal_json(v, variables);
        if (!j)
            return fail(message, size, "out of memory");
        int r = custom_scalar(t, j, out, message, size);
        json_decref(j);
        return r;
    }
    json_int_t i;
    bool ok;
    if (is_builtin(t, GQL_INT))
        ok = v->kind == GQL_VALUE_INT && int32_of_text(v->text, &i) && (*out = json_integer(i));
    else if (is_builtin(t, GQL_FLOAT)) {
        char buf[400];
        double d = 0;
        ok = (v->kind == GQL_VALUE_INT || v->kind == GQL_VALUE_FLOAT) && v->text.len < sizeof(buf);
        if (ok) {
            snprintf(buf, sizeof(buf), "%.*s", NAME(v->text));
            d = strtod(buf, NULL);
        }
        ok = ok && isfinite(d) && (*out = json_real(d));
    } else if (is_builtin(t, GQL_STRING))
        ok = v->kind == GQL_VALUE_STRING && (*out = json_stringn(v->text.ptr, v->text.len));
    else if (is_builtin(t, GQL_BOOLEAN))
        ok = v->kind == GQL_VALUE_BOOLEAN && (*out = json_boolean(v->boolean));
    else /* ID */
        ok = (v->kind == GQL_VALUE_STRING || v->kind == GQL_VALUE_INT) &&
             (*out = json_stringn(v->text.ptr, v->text.len));
    if (!ok)
        return fail(message, size, "%s cannot represent %s", t->cname, short_value(v, vb, sizeof(vb)));
    return 0;
}

static int literal_object(const gql_value *v, const gql_type *t, const json_t *variables, json_t **out,
                          char *message, size_t size)
{
    char vb[64], tb[128];
    if (v->kind != GQL_VALUE_OBJECT)
        return fail(message, size, "Expected value of type \"%s\", found %s", t->cname,
                    short_value(v, vb, sizeof(vb)));
    for (const gql_value *f = v->items; f; f = f->next)
        if (!gql_input_lookup(t->input_fields, t->ninput_fields, f->field_name))
            return fail(message, size, "Field \"%.*s\" is not defined by type \"%s\"", NAME(f->field_name),
                        t->cname);
    json_t *o = json_object();
    if (!o)
        return fail(message, size, "out of memory");
    for (size_t i = 0; i < t->ninput_fields; i++) {
        const gql_input_value *d = &t->input_fields[i];
        const gql_value *f = NULL;
        for (const gql_value *g = v->items; g; g = g->next) {
            if (!masd_str_eq(g->field_name, d->name))
                continue;
            if (f)
                return json_decref(o),
                       fail(message, size, "There can be only one input field named \"%.*s\"", NAME(d->name));
            f = g;
        }
        json_t *c = NULL;
        if (f && gql_coerce_literal(f, d->type, variables, &c, message, size) < 0) {
            json_decref(o);
            return -1;
        }
        if (!c && d->default_json) {
            c = json_incref(d->default_json);
        } else if (!c && d->type->kind == GQL_TYPE_NON_NULL && (!f || variables)) {
            json_decref(o);
            return fail(message, size, "Field \"%s.%.*s\" of required type \"%s\" was not provided", t->cname,
                        NAME(d->name), gql_type_ref_print(d->type, tb, sizeof(tb)));
        }
        if (c && json_object_setn_new(o, d->name.ptr, d->name.len, c) < 0) {
            json_decref(o);
            return fail(message, size, "out of memory");
        }
    }
    *out = o;
    return 0;
}

int gql_coerce_literal(const gql_value *v, const gql_type_ref *type, const json_t *variables, json_t **out,
                       char *message, size_t size)
{
    char vb[64], tb[128];
    *out = NULL;
    if (v->kind == GQL_VALUE_VARIABLE) { /* already coerced to its own, compatible type (§5.8.5) */
        json_t *x = variables ? json_object_getn(variables, v->text.ptr, v->text.len) : NULL;
        if (x && json_is_null(x) && type->kind == GQL_TYPE_NON_NULL)
            return fail(message, size, "Expected value of non-null type \"%s\" not to be null",
                        gql_type_ref_print(type, tb, sizeof(tb)));
        *out = x ? json_incref(x) : NULL;
        return 0;
    }
    if (type->kind == GQL_TYPE_NON_NULL) {
        if (v->kind == GQL_VALUE_NULL)
            return fail(message, size, "Expected value of non-null type \"%s\" not to be null",
                        gql_type_ref_print(type, tb, sizeof(tb)));
        return gql_coerce_literal(v, type->of, variables, out, message, size);
    }
    if (v->kind == GQL_VALUE_NULL) {
        *out = json_null();
        return 0;
    }
    if (type->kind == GQL_TYPE_LIST) {
        json_t *list = json_array(), *c = NULL;
        if (!list)
            return fail(message, size, "out of memory");
        if (v->kind != GQL_VALUE_LIST) { /* a single value is a list of one (§3.11) */
            if (gql_coerce_literal(v, type->of, variables, &c, message, size) < 0)
                goto bad;
            if (json_array_append_new(list, c ? c : json_null()) < 0)
                goto bad;
        }
        for (const gql_value *i = v->kind == GQL_VALUE_LIST ? v->items : NULL; i; i = i->next) {
            if (gql_coerce_literal(i, type->of, variables, &c, message, size) < 0)
                goto bad;
            if (!c && type->of->kind == GQL_TYPE_NON_NULL && variables) {
                fail(message, size, "Expected value of non-null type \"%s\" not to be null",
                     gql_type_ref_print(type->of, tb, sizeof(tb)));
                goto bad;
            }
            if (json_array_append_new(list, c ? c : json_null()) < 0)
                goto bad;
        }
        *out = list;
        return 0;
    bad:
        json_decref(list);
        return -1;
    }
    const gql_type *t = type->type;
    switch (t->kind) {
    case GQL_KIND_SCALAR:
        return literal_scalar(v, t, variables, out, message, size);
    case GQL_KIND_ENUM:
        if (v->kind != GQL_VALUE_ENUM || !gql_enum_lookup(t, v->text))
            return fail(message, size, "Value %s does not exist in \"%s\" enum",
                        short_value(v, vb, sizeof(vb)), t->cname);
        *out = json_stringn(v->text.ptr, v->text.len);
        return *out ? 0 : fail(message, size, "out of memory");
    case GQL_KIND_INPUT_OBJECT:
        return literal_object(v, t, variables, out, message, size);
    default:
        return fail(message, size, "\"%s\" is not an input type", t->cname);
    }
}

int gql_coerce_arguments(const gql_input_value *defs, size_t n, const gql_argument *args,
                         const json_t *variables, json_t **out, char *message, size_t size, gql_loc *where)
{
    json_t *o = json_object();
    if (!o)
        return fail(message, size, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const gql_input_value *d = &defs[i];
        const gql_argument *a = args;
        while (a && !masd_str_eq(a->name, d->name))
            a = a->next;
        json_t *c = NULL;
        if (a) {
            *where = a->loc;
            char sub[200];
            if (gql_coerce_literal(a->value, d->type, variables, &c, sub, sizeof(sub)) < 0) {
                json_decref(o);
                return fail(message, size, "Argument \"%.*s\" has an invalid value: %s", NAME(d->name), sub);
            }
        }
        if (!c && d->default_json) {
            c = json_incref(d->default_json);
        } else if (!c && d->type->kind == GQL_TYPE_NON_NULL &&
                   (!a || variables)) { /* validation: any variable will do */
            char tb[128];
            json_decref(o);
            return fail(message, size, "Argument \"%.*s\" of required type \"%s\" was not provided",
                        NAME(d->name), gql_type_ref_print(d->type, tb, sizeof(tb)));
        }
        if (c && json_object_setn_new(o, d->name.ptr, d->name.len, c) < 0) {
            json_decref(o);
            return fail(message, size, "out of memory");
        }
    }
    *out = o;
    return 0;
}

bool gql_value_equal(const gql_value *a, const gql_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case GQL_VALUE_BOOLEAN:
        return a->boolean == b->boolean;
    case GQL_VALUE_NULL:
        return true;
    case GQL_VALUE_LIST:
        for (a = a->items, b = b->items; a && b; a = a->next, b = b->next)
            if (!gql_value_equal(a, b))
                return false;
        return !a && !b;
    case GQL_VALUE_OBJECT: {
        size_t na = 0, nb = 0;
        for (const gql_value *i = a->items; i; i = i->next, na++) {
            const gql_value *j = b->items;
            while (j && !masd_str_eq(i->field_name, j->field_name))
                j = j->next;
            if (!j || !gql_value_equal(i, j))
                return false;
        }
        for (const gql_value *j = b->items; j; j = j->next)
            nb++;
        return na == nb;
    }
    default:
        return masd_str_eq(a->text, b->text);
    }
}
