/* The account pages' parsers (account_parse.h). */
#include "account_parse.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DEVICE_PREFIX      "urn:matrix:client:device:"
#define DEVICE_PREFIX_UNST "urn:matrix:org.matrix.msc2967.client:device:"

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

bool account_path_segment(masd_str in, char *out, size_t size)
{
    size_t n = 0;
    const char *p = in.ptr, *end = in.ptr + in.len;
    if (!size)
        return false;
    out[0] = '\0';
    while (p < end) {
        int c = (unsigned char)*p++;
        if (c == '%') {
            int hi = p < end ? hex_digit(p[0]) : -1, lo = p + 1 < end ? hex_digit(p[1]) : -1;
            if (hi < 0 || lo < 0) {
                out[0] = '\0';
                return false;
            }
            c = hi * 16 + lo;
            p += 2;
        }
        if (c < 0x20 || c == 0x7f || n + 1 >= size) {
            out[0] = '\0';
            return false;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n > 0;
}

bool account_is_ulid(const char *s)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (strlen(s) != STORAGE_ID_SIZE - 1 || s[0] > '7')
        return false;
    for (const char *p = s; *p; p++)
        if (!strchr(alphabet, *p))
            return false;
    return true;
}

bool account_session_ref(const char *in, char id[STORAGE_ID_SIZE], enum storage_session_kind *kind,
                         bool *kind_known)
{
    static const struct {
        const char *prefix;
        enum storage_session_kind kind;
    } prefixes[] = {
        {"compat_session:", STORAGE_SESSION_COMPAT},
        {"oauth2_session:", STORAGE_SESSION_OAUTH},
        {"browser_session:", STORAGE_SESSION_BROWSER},
    };
    const char *ulid = in;
    *kind_known = false;
    *kind = STORAGE_SESSION_COMPAT;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strncmp(in, prefixes[i].prefix, strlen(prefixes[i].prefix))) {
            ulid = in + strlen(prefixes[i].prefix);
            *kind = prefixes[i].kind;
            *kind_known = true;
        }
    if (!account_is_ulid(ulid)) {
        *kind_known = false;
        return false;
    }
    memcpy(id, ulid, STORAGE_ID_SIZE);
    return true;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

int account_deep_link(const struct action *a, const char *root, char *out, size_t size)
{
    static const char *const lists[] = {"org.matrix.sessions_list", "org.matrix.devices_list",
                                        "sessions_list", "devices_list"};
    static const char *const views[] = {"org.matrix.session_view",
                                        "org.matrix.device_view",
                                        "org.matrix.session_end",
                                        "org.matrix.device_delete",
                                        "session_view",
                                        "device_view",
                                        "session_end",
                                        "device_delete"};
    if (!strcmp(a->account_action, "org.matrix.cross_signing_reset")) { /* no unprefixed name (MAS) */
        int w = snprintf(out, size, "%s/account/reset-cross-signing", root);
        return w < 0 || (size_t)w >= size ? -ENOSPC : 1;
    }
    bool list = in_list(a->account_action, lists, sizeof(lists) / sizeof(lists[0]));
    bool view = in_list(a->account_action, views, sizeof(views) / sizeof(views[0]));
    if (!list && !view)
        return 0;
    int w = snprintf(out, size, "%s/account/%s", root, view && a->device_id[0] ? "devices/" : "sessions");
    if (w < 0 || (size_t)w >= size)
        return -ENOSPC;
    if (!view || !a->device_id[0])
        return 1;
    static const char hex[] = "0123456789ABCDEF";
    size_t n = (size_t)w;
    for (const unsigned char *p = (const unsigned char *)a->device_id; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                     *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (n + (plain ? 1 : 3) >= size)
            return -ENOSPC;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return 1;
}

void account_cut_chars(char *name, size_t max)
{
    size_t chars = 0;
    for (char *p = name; *p; p++) {
        if (((unsigned char)*p & 0xC0) == 0x80)
            continue; /* a continuation byte: part of the character before */
        if (chars++ == max) {
            *p = '\0';
            return;
        }
    }
}

size_t account_scope_devices(const char *scope, char ids[][STORAGE_DEVICE_ID_MAX + 1], size_t max)
{
    static const char *const prefixes[] = {DEVICE_PREFIX, DEVICE_PREFIX_UNST};
    size_t n = 0;
    for (const char *p = scope; *p && n < max;) {
        size_t len = strcspn(p, " ");
        for (size_t k = 0; k < 2; k++) {
            size_t plen = strlen(prefixes[k]);
            if (len > plen && !strncmp(p, prefixes[k], plen) && len - plen <= STORAGE_DEVICE_ID_MAX) {
                memcpy(ids[n], p + plen, len - plen);
                ids[n++][len - plen] = '\0';
                break;
            }
        }
        p += len;
        p += strspn(p, " ");
    }
    return n;
}
