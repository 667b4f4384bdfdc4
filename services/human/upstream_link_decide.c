/* The link page's decisions (upstream_link_decide.h). */
#include "upstream_link_decide.h"
#include "claims_template.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum link_route upstream_link_route(const char *browser_user_id, const char *link_user_id)
{
    bool signed_in = browser_user_id && *browser_user_id, linked = link_user_id && *link_user_id;
    if (signed_in && linked)
        return strcmp(browser_user_id, link_user_id) == 0 ? LINK_RENEW : LINK_MISMATCH;
    if (signed_in)
        return LINK_SUGGEST;
    return linked ? LINK_LOGIN : LINK_REGISTER;
}

bool upstream_link_form_allowed(enum link_route route, const char *action)
{
    if (!action)
        return false;
    if (route == LINK_SUGGEST)
        return strcmp(action, "link") == 0;
    if (route == LINK_REGISTER)
        return strcmp(action, "register") == 0;
    return false;
}

bool upstream_import_fixed(enum config_claims_action a)
{
    return a == CLAIMS_FORCE || a == CLAIMS_REQUIRE;
}

static bool ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims s in place. */
static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (a < n && ascii_space(s[a]))
        a++;
    while (n > a && ascii_space(s[n - 1]))
        n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

int upstream_import_render(const struct config_claims_import *imp, const json_t *vars, bool accepted,
                           char **out, char *err, size_t err_size)
{
    *out = NULL;
    if (err_size)
        err[0] = '\0';
    if (imp->action == CLAIMS_IGNORE || (imp->action == CLAIMS_SUGGEST && !accepted) || !imp->compiled)
        return 0;
    char *v = NULL;
    int r = claims_template_render(imp->compiled, vars, &v, err, err_size);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return imp->action == CLAIMS_REQUIRE ? -EINVAL : 0;
    trim(v);
    if (!*v) {
        free(v);
        if (imp->action == CLAIMS_REQUIRE) {
            snprintf(err, err_size, "the template rendered to nothing");
            return -ENODATA;
        }
        return 0;
    }
    *out = v;
    return 0;
}

int upstream_localpart_normalise(const char *in, char *out, size_t size)
{
    size_t n = strlen(in), a = 0;
    while (a < n && ascii_space(in[a]))
        a++;
    while (n > a && ascii_space(in[n - 1]))
        n--;
    if (n == a || n - a > 255 || n - a >= size)
        return -EINVAL;
    for (size_t i = a; i < n; i++) {
        char c = in[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '=' ||
                  c == '-' || c == '/' || c == '+';
        if (!ok)
            return -EINVAL;
    }
    memcpy(out, in + a, n - a);
    out[n - a] = '\0';
    return 0;
}

enum localpart_outcome upstream_localpart_decide(const struct localpart_facts *f)
{
    bool fixed = upstream_import_fixed(f->action);
    if (f->action == CLAIMS_IGNORE || !f->have_value)
        return LP_NONE;
    if (f->exists) {
        if (!fixed)
            return LP_NONE; /* a suggestion someone holds: dropped */
        /* The name is found case-insensitively; only the exact spelling may be taken over (the
         * normalisation admits no upper case, so this is the second lock on the same door). */
        if (f->on_conflict == CLAIMS_CONFLICT_FAIL || !f->exists_exact)
            return LP_FAIL_EXISTS;
        if (f->on_conflict == CLAIMS_CONFLICT_ADD)
            return LP_LINK_EXISTING;
        if (f->on_conflict == CLAIMS_CONFLICT_REPLACE)
            return LP_REPLACE_EXISTING;
        return f->existing_links > 0 ? LP_FAIL_SET : LP_LINK_EXISTING;
    }
    if (f->policy_denied)
        return fixed ? LP_FAIL_POLICY : LP_NONE;
    if (f->homeserver < 0)
        return LP_ASK_HOMESERVER;
    if (f->homeserver == 0)
        return fixed ? LP_FAIL_UNAVAILABLE : LP_NONE;
    return LP_USE;
}

bool upstream_skip_confirmation(bool skip_confirmation, enum localpart_outcome lp, bool policy_clean,
                                bool terms_required)
{
    return skip_confirmation && lp == LP_USE && policy_clean && !terms_required;
}

/* ---- the cookie ---------------------------------------------------------------------------- */

/* Percent-encodes s onto buf at *n (size bytes); false when it does not fit. */
static bool put_encoded(char *buf, size_t size, size_t *n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                     *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (*n + 4 >= size)
            return false;
        if (plain) {
            buf[(*n)++] = (char)*p;
        } else {
            buf[(*n)++] = '%';
            buf[(*n)++] = hex[*p >> 4];
            buf[(*n)++] = hex[*p & 15];
        }
    }
    buf[*n] = '\0';
    return true;
}

/* The cookie's post_auth_action object ({"kind", "id", ...}) as action.h reads a query. */
static void action_from_json(const json_t *o, struct action *a)
{
    static const char *const keys[] = {"kind", "id", "action", "device_id"};
    char q[1200];
    size_t n = 0;
    *a = (struct action){.kind = ACTION_NONE};
    if (!json_is_object(o))
        return;
    q[0] = '\0';
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = json_string_value(json_object_get(o, keys[i]));
        if (!v)
            continue;
        int w = snprintf(q + n, sizeof(q) - n, "%s%s=", n ? "&" : "", keys[i]);
        if (w < 0 || (size_t)w >= sizeof(q) - n)
            return;
        n += (size_t)w;
        if (!put_encoded(q, sizeof(q), &n, v))
            return;
    }
    action_parse(masd_str_from(q), a);
}

int upstream_cookie_find_link(const char *json, size_t len, const char *link_id, char session_id[27],
                              struct action *a)
{
    json_t *list = json_loadb(json, len, 0, NULL), *e;
    size_t i;
    const json_t *best = NULL;
    const char *best_session = NULL;
    *a = (struct action){.kind = ACTION_NONE};
    session_id[0] = '\0';
    json_array_foreach(list, i, e)
    {
        const char *link = json_string_value(json_object_get(e, "link"));
        const char *session = json_string_value(json_object_get(e, "session"));
        if (!link || !session || strcmp(link, link_id) != 0 || strlen(session) != 26)
            continue;
        if (!best_session || strcmp(session, best_session) > 0) /* ULIDs sort by time */
            best = e, best_session = session;
    }
    int r = -ENOENT;
    if (best) {
        memcpy(session_id, best_session, 27);
        action_from_json(json_object_get(best, "post_auth_action"), a);
        r = 0;
    }
    json_decref(list);
    return r;
}

char *upstream_cookie_remove_link(const char *json, size_t len, const char *link_id)
{
    json_t *list = json_loadb(json, len, 0, NULL), *kept = json_array(), *e;
    size_t i;
    char *out = NULL;
    if (json_is_array(list) && kept) {
        json_array_foreach(list, i, e)
        {
            const char *link = json_string_value(json_object_get(e, "link"));
            if (!link || strcmp(link, link_id) != 0)
                json_array_append(kept, e);
        }
        out = json_dumps(kept, JSON_COMPACT);
    }
    json_decref(list);
    json_decref(kept);
    return out;
}
