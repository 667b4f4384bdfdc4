/* The upstream sign-in's cookie, callback parameters and authorization URL (upstream_parse.h). */
#include "upstream_parse.h"
#include "form.h"
#include "ulid.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool copy_ulid(json_t *v, char out[STORAGE_ID_SIZE])
{
    uint8_t raw[16];
    const char *s = json_string_value(v);
    if (!s || ulid_parse(s, raw) < 0)
        return false;
    memcpy(out, s, ULID_LEN + 1);
    return true;
}

/* The post-auth action's JSON, as MAS tags it by kind. */
static bool parse_action(json_t *o, struct action *a)
{
    *a = (struct action){.kind = ACTION_NONE};
    if (!o || json_is_null(o))
        return true;
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (!json_is_object(o) || !kind)
        return false;
    for (enum action_kind k = ACTION_CONTINUE_AUTHORIZATION_GRANT; k <= ACTION_MANAGE_ACCOUNT; k++) {
        if (strcmp(kind, action_kind_name(k)) != 0)
            continue;
        a->kind = k;
        if (k == ACTION_CHANGE_PASSWORD)
            return true;
        if (k == ACTION_MANAGE_ACCOUNT) {
            const char *act = json_string_value(json_object_get(o, "action"));
            const char *dev = json_string_value(json_object_get(o, "device_id"));
            if ((act && strlen(act) >= sizeof(a->account_action)) ||
                (dev && strlen(dev) >= sizeof(a->device_id)))
                return false;
            snprintf(a->account_action, sizeof(a->account_action), "%s", act ? act : "");
            snprintf(a->device_id, sizeof(a->device_id), "%s", dev ? dev : "");
            return true;
        }
        return copy_ulid(json_object_get(o, "id"), a->id);
    }
    return false;
}

static bool parse_entry(json_t *o, struct upstream_cookie_entry *e)
{
    *e = (struct upstream_cookie_entry){0};
    json_t *link = json_object_get(o, "link");
    const char *state = json_string_value(json_object_get(o, "state"));
    return json_is_object(o) && copy_ulid(json_object_get(o, "session"), e->session) &&
           copy_ulid(json_object_get(o, "provider"), e->provider) && state && *state &&
           strlen(state) <= UPSTREAM_STATE_MAX && memcpy(e->state, state, strlen(state) + 1) &&
           (!link || json_is_null(link) || copy_ulid(link, e->link)) &&
           parse_action(json_object_get(o, "post_auth_action"), &e->action);
}

int upstream_cookie_parse(const char *json, size_t len, struct upstream_cookie *out)
{
    out->n = 0;
    json_t *a = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return -EINVAL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (out->n == UPSTREAM_COOKIE_MAX_ENTRIES)
            break;
        if (parse_entry(v, &out->e[out->n]))
            out->n++;
    }
    json_decref(a);
    return 0;
}

static json_t *render_action(const struct action *a)
{
    if (a->kind == ACTION_NONE)
        return json_null();
    json_t *o = json_pack("{s:s}", "kind", action_kind_name(a->kind));
    if (!o)
        return NULL;
    if (a->kind == ACTION_MANAGE_ACCOUNT) {
        if (a->account_action[0])
            json_object_set_new(o, "action", json_string(a->account_action));
        if (a->device_id[0])
            json_object_set_new(o, "device_id", json_string(a->device_id));
    } else if (a->kind != ACTION_CHANGE_PASSWORD) {
        json_object_set_new(o, "id", json_string(a->id));
    }
    return o;
}

char *upstream_cookie_render(const struct upstream_cookie *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->n; i++) {
        const struct upstream_cookie_entry *e = &c->e[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "session", e->session, "provider", e->provider,
                              "state", e->state, "link", e->link[0] ? json_string(e->link) : json_null(),
                              "post_auth_action", render_action(&e->action));
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

char *upstream_cookie_render_fit(struct upstream_cookie *c, size_t max)
{
    for (;;) {
        char *s = upstream_cookie_render(c);
        if (!s || strlen(s) <= max)
            return s;
        free(s);
        if (c->n <= 1)
            return NULL;
        memmove(&c->e[0], &c->e[1], (c->n - 1) * sizeof(c->e[0]));
        c->n--;
    }
}

void upstream_cookie_prune(struct upstream_cookie *c, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        int64_t t = ulid_time_ms(c->e[i].session);
        if (t >= 0 && now - t <= UPSTREAM_COOKIE_TTL_MS)
            c->e[k++] = c->e[i];
    }
    c->n = k;
}

void upstream_cookie_add(struct upstream_cookie *c, const struct upstream_cookie_entry *e)
{
    if (c->n == UPSTREAM_COOKIE_MAX_ENTRIES) {
        memmove(&c->e[0], &c->e[1], (c->n - 1) * sizeof(c->e[0]));
        c->n--;
    }
    c->e[c->n++] = *e;
}

struct upstream_cookie_entry *upstream_cookie_find(struct upstream_cookie *c, const char *provider,
                                                   const char *state)
{
    for (size_t i = c->n; i-- > 0;)
        if (!c->e[i].link[0] && strcmp(c->e[i].provider, provider) == 0 && strcmp(c->e[i].state, state) == 0)
            return &c->e[i];
    return NULL;
}

void upstream_callback_clear(struct upstream_callback *c)
{
    free(c->state);
    free(c->code);
    free(c->error);
    free(c->error_description);
    free(c->error_uri);
    json_decref(c->extra);
    json_decref(c->params);
    memset(c, 0, sizeof(*c));
}

static int decode(masd_str in, char **out)
{
    char *s = malloc(in.len + 1);
    if (!s)
        return -ENOMEM;
    long n = form_decode(in, s);
    if (n < 0 || memchr(s, '\0', (size_t)n)) { /* a raw NUL would cut the text short */
        free(s);
        return -EINVAL;
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

int upstream_callback_parse(masd_str form, struct upstream_callback *out)
{
    *out = (struct upstream_callback){.extra = json_object(), .params = json_array()};
    if (!out->extra || !out->params) {
        upstream_callback_clear(out);
        return -ENOMEM;
    }
    int r = form_check_unique(form);
    masd_str rest = form, k, v;
    size_t n = 0;
    while (r >= 0 && form_next(&rest, &k, &v)) {
        char *name = NULL, *value = NULL;
        if (++n > UPSTREAM_CALLBACK_MAX_PARAMS) {
            r = -E2BIG;
            break;
        }
        if ((r = decode(k, &name)) < 0 || (r = decode(v, &value)) < 0) {
            free(name);
            break;
        }
        /* JSON (and the database) take UTF-8 only */
        json_t *js = json_string(value), *jn = json_string(name);
        bool utf8 = js && jn;
        json_decref(jn);
        if (!utf8) {
            json_decref(js);
            free(name);
            free(value);
            r = -EINVAL;
            break;
        }
        char **known = strcmp(name, "state") == 0               ? &out->state
                       : strcmp(name, "code") == 0              ? &out->code
                       : strcmp(name, "error") == 0             ? &out->error
                       : strcmp(name, "error_description") == 0 ? &out->error_description
                       : strcmp(name, "error_uri") == 0         ? &out->error_uri
                                                                : NULL;
        if (strcmp(name, "did_mas_repost_to_itself") == 0) {
            out->reposted = true;
            json_decref(js);
            free(name);
            free(value);
            continue;
        }
        if (json_array_append_new(out->params,
                                  json_pack("{s:s, s:o}", "name", name, "value", json_incref(js))) < 0)
            r = -ENOMEM;
        if (known) {
            *known = value;
            value = NULL;
        } else if (r >= 0 && json_object_set(out->extra, name, js) < 0) {
            r = -ENOMEM;
        }
        json_decref(js);
        free(name);
        free(value);
    }
    if (r < 0)
        upstream_callback_clear(out);
    return r < 0 ? r : 0;
}

bool upstream_callback_any(const struct upstream_callback *c)
{
    return c->state || c->code || c->error || c->error_description || c->error_uri;
}

static void put_encoded(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~')
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

char *upstream_authorize_url(const char *endpoint, const struct upstream_param *p, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    size_t base = strcspn(endpoint, "#");
    fwrite(endpoint, 1, base, f);
    const char *q = memchr(endpoint, '?', base);
    char sep = !q ? '?' : (q == endpoint + base - 1 || endpoint[base - 1] == '&') ? '\0' : '&';
    for (size_t i = 0; i < n; i++) {
        if (!p[i].value)
            continue;
        if (sep)
            fputc(sep, f);
        sep = '&';
        put_encoded(f, p[i].name);
        fputc('=', f);
        put_encoded(f, p[i].value);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
