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

const struct upstream_cookie_entry *upstream_cookie_find_link(const struct upstream_cookie *c,
                                                              const char *link_id)
{
    const struct upstream_cookie_entry *best = NULL;
    if (!link_id[0]) /* a pending entry has no link: it names none */
        return NULL;
    for (size_t i = 0; i < c->n; i++) {
        const struct upstream_cookie_entry *e = &c->e[i];
        if (strcmp(e->link, link_id) == 0 &&
            (!best || strcmp(e->session, best->session) > 0)) /* ULIDs sort by time */
            best = e;
    }
    return best;
}

void upstream_cookie_remove_link(struct upstream_cookie *c, const char *link_id)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].link, link_id) != 0)
            c->e[k++] = c->e[i];
    c->n = k;
}
