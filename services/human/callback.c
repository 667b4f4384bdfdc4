/* The authorization response (callback.h). */
#include "callback.h"
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum authorize_response_mode callback_mode(const char *stored)
{
    return strcmp(stored, "fragment") == 0    ? AUTHZ_MODE_FRAGMENT
           : strcmp(stored, "form_post") == 0 ? AUTHZ_MODE_FORM_POST
                                              : AUTHZ_MODE_QUERY;
}

/* application/x-www-form-urlencoded (RFC 3986 unreserved characters kept, the rest escaped). */
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

char *callback_url(const char *redirect_uri, enum authorize_response_mode mode,
                   const struct callback_param *p, size_t n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    /* query mode: the parameters go before the URI's own fragment (a compat SSO redirectUrl may
     * have one; an OAuth redirect URI never does) */
    size_t base = mode == AUTHZ_MODE_FRAGMENT ? strlen(redirect_uri) : strcspn(redirect_uri, "#");
    fwrite(redirect_uri, 1, base, f);
    char sep;
    if (mode == AUTHZ_MODE_FRAGMENT) {
        sep = '#';
    } else {
        const char *q = memchr(redirect_uri, '?', base);
        sep = !q ? '?' : (redirect_uri[base - 1] == '?' || redirect_uri[base - 1] == '&') ? 0 : '&';
    }
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
    if (mode != AUTHZ_MODE_FRAGMENT)
        fputs(redirect_uri[base] ? redirect_uri + base : "#", f);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

bool callback_csp_source(const char *uri, char *out, size_t size)
{
    const char *colon = strchr(uri, ':');
    if (!colon || colon == uri)
        return false;
    for (const char *c = uri; c < colon; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '+' ||
              *c == '-' || *c == '.'))
            return false;
    size_t scheme = (size_t)(colon - uri);
    bool web = (scheme == 4 && strncasecmp(uri, "http", 4) == 0) ||
               (scheme == 5 && strncasecmp(uri, "https", 5) == 0);
    size_t end = scheme + 1;
    if (web) {
        if (strncmp(colon, "://", 3) != 0)
            return false;
        end = scheme + 3 + strcspn(colon + 3, "/?#");
        for (size_t i = scheme + 3; i < end; i++) {
            char c = uri[i];
            /* host, port, IPv6 brackets: nothing that could end or add a CSP source (no
             * userinfo either: RFC 6749 redirect URIs have none worth allowing) */
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-' || c == ':' || c == '[' || c == ']'))
                return false;
        }
        if (end == scheme + 3)
            return false;
    }
    if (end + 1 > size)
        return false;
    memcpy(out, uri, end);
    out[end] = '\0';
    return true;
}

size_t callback_display_name(const char *uri, char *out, size_t size)
{
    const char *colon = strchr(uri, ':');
    size_t end = strcspn(uri, "?#");
    if (colon && colon - uri == 5 && strncmp(uri, "https", 5) == 0 && strncmp(colon, "://", 3) == 0) {
        const char *host = colon + 3;
        size_t n = strcspn(host, ":/?#");
        /* a domain name: not an IPv6 literal, not an IPv4 address (RFC 3986 §3.2.2) */
        if (n > 0 && host[0] != '[' && strspn(host, "0123456789.") != n) {
            uri = host;
            end = n;
        }
    }
    if (!size)
        return end;
    snprintf(out, size, "%.*s", (int)(end < size ? end : size - 1), uri);
    return end;
}
