/* The post-authentication action (action.h). */
#include "action.h"
#include "form.h"
#include "ulid.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    enum action_kind kind;
    const char *name;
    bool takes_id;
} kinds[] = {
    {ACTION_CONTINUE_AUTHORIZATION_GRANT, "continue_authorization_grant", true},
    {ACTION_CONTINUE_DEVICE_CODE_GRANT, "continue_device_code_grant", true},
    {ACTION_CONTINUE_COMPAT_SSO_LOGIN, "continue_compat_sso_login", true},
    {ACTION_CHANGE_PASSWORD, "change_password", false},
    {ACTION_LINK_UPSTREAM, "link_upstream", true},
    {ACTION_MANAGE_ACCOUNT, "manage_account", false},
};

const char *action_kind_name(enum action_kind kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].kind == kind)
            return kinds[i].name;
    return NULL;
}

/* A parameter into out (NUL-terminated): 1 found, 0 absent or unusable (too long, malformed,
 * twice, or holding a control character). */
static int get_param(masd_str form, const char *name, char *out, size_t size)
{
    char *v = NULL;
    int r = form_get(form, name, &v);
    if (r != 1)
        return 0;
    size_t n = strlen(v);
    bool ok = n < size;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
    if (ok)
        memcpy(out, v, n + 1);
    free(v);
    return ok;
}

void action_parse(masd_str form, struct action *a)
{
    char kind[64];
    uint8_t raw[16];
    *a = (struct action){.kind = ACTION_NONE};
    if (!get_param(form, "kind", kind, sizeof(kind)))
        return;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kind, kinds[i].name) != 0)
            continue;
        if (kinds[i].takes_id &&
            (!get_param(form, "id", a->id, sizeof(a->id)) || ulid_parse(a->id, raw) < 0)) {
            a->id[0] = '\0';
            return;
        }
        a->kind = kinds[i].kind;
        if (a->kind == ACTION_MANAGE_ACCOUNT) {
            get_param(form, "action", a->account_action, sizeof(a->account_action));
            get_param(form, "device_id", a->device_id, sizeof(a->device_id));
        }
        return;
    }
}

/* Percent-encodes s (RFC 3986 unreserved characters kept) at out; returns the length or -1. */
static int encode(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                     *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (n + (plain ? 1 : 3) >= size)
            return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* Appends "sep name=encoded(value)" to out at *n. */
static int append(char *out, size_t size, size_t *n, const char *sep, const char *name, const char *value)
{
    int w = snprintf(out + *n, size - *n, "%s%s=", sep, name);
    if (w < 0 || (size_t)w >= size - *n)
        return -ENOSPC;
    *n += (size_t)w;
    int e = encode(value, out + *n, size - *n);
    if (e < 0)
        return -ENOSPC;
    *n += (size_t)e;
    return 0;
}

int action_query(const struct action *a, char *out, size_t size)
{
    size_t n = 0;
    const char *name = action_kind_name(a->kind);
    if (size == 0)
        return -ENOSPC;
    out[0] = '\0';
    if (!name)
        return 0;
    int r = append(out, size, &n, "", "kind", name);
    if (r == 0 && a->id[0])
        r = append(out, size, &n, "&", "id", a->id);
    if (r == 0 && a->kind == ACTION_MANAGE_ACCOUNT && a->account_action[0])
        r = append(out, size, &n, "&", "action", a->account_action);
    if (r == 0 && a->kind == ACTION_MANAGE_ACCOUNT && a->device_id[0])
        r = append(out, size, &n, "&", "device_id", a->device_id);
    return r < 0 ? r : (int)n;
}

int action_target(const struct action *a, const char *root, const char *fallback, char *out, size_t size)
{
    int w;
    switch (a->kind) {
    case ACTION_CONTINUE_AUTHORIZATION_GRANT:
        w = snprintf(out, size, "%s/consent/%s", root, a->id);
        break;
    case ACTION_CONTINUE_DEVICE_CODE_GRANT:
        w = snprintf(out, size, "%s/device/%s", root, a->id);
        break;
    case ACTION_CONTINUE_COMPAT_SSO_LOGIN:
        w = snprintf(out, size, "%s/complete-compat-sso/%s", root, a->id);
        break;
    case ACTION_CHANGE_PASSWORD:
        w = snprintf(out, size, "%s/account/password/change", root);
        break;
    case ACTION_LINK_UPSTREAM:
        w = snprintf(out, size, "%s/upstream/link/%s", root, a->id);
        break;
    case ACTION_MANAGE_ACCOUNT: {
        size_t n;
        w = snprintf(out, size, "%s/account/", root);
        if (w < 0 || (size_t)w >= size)
            return -ENOSPC;
        n = (size_t)w;
        const char *sep = "?";
        if (a->account_action[0]) {
            if (append(out, size, &n, sep, "action", a->account_action) < 0)
                return -ENOSPC;
            sep = "&";
        }
        if (a->device_id[0] && append(out, size, &n, sep, "device_id", a->device_id) < 0)
            return -ENOSPC;
        return (int)n;
    }
    default:
        w = snprintf(out, size, "%s%s", root, fallback);
        break;
    }
    return w < 0 || (size_t)w >= size ? -ENOSPC : w;
}
