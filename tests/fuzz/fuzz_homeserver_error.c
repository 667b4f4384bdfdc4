/* The homeserver client's parsers on arbitrary bytes: an error body (homeserver_parse_error) keeps
 * only a short visible-ASCII errcode, and never reads past the input; the same bytes as an
 * endpoint URL (homeserver_url_join) give an http(s) URL that re-joins to itself, and as a
 * localpart (homeserver_url_encode) give only unreserved bytes and percent escapes; a query_user
 * answer (homeserver_parse_user) is taken whole, within its limits, or refused leaving nothing. */
#include "homeserver.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const char *body, size_t size)
{
    struct homeserver_result res;
    memset(&res, 0xAA, sizeof(res));
    homeserver_parse_error(body, size, &res);
    size_t n = strnlen(res.errcode, sizeof(res.errcode));
    if (n > HOMESERVER_ERRCODE_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)res.errcode[i] <= 0x20 || (unsigned char)res.errcode[i] >= 0x7f)
            abort();
}

static void check_user(const char *body, size_t size)
{
    struct homeserver_user u;
    memset(&u, 0xAA, sizeof(u));
    if (homeserver_parse_user(body, size, &u) < 0) {
        if (u.user_id[0] || u.displayname[0] || u.has_displayname || u.deactivated)
            abort(); /* a refusal leaves nothing behind */
        return;
    }
    if (strnlen(u.user_id, sizeof(u.user_id)) == sizeof(u.user_id) ||
        strnlen(u.displayname, sizeof(u.displayname)) == sizeof(u.displayname) ||
        strnlen(u.avatar_url, sizeof(u.avatar_url)) == sizeof(u.avatar_url) ||
        (!u.has_displayname && u.displayname[0]))
        abort();
}

static void check_join(const char *base)
{
    char out[512], again[512];
    int r = homeserver_url_join(base, "x", out, sizeof(out));
    if (r < 0)
        return;
    if ((size_t)r != strlen(out) || (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0) ||
        out[r - 1] != 'x' || out[r - 2] != '/')
        abort();
    /* the last segment ("x") is replaced by the same: a fixed point */
    if (homeserver_url_join(out, "x", again, sizeof(again)) != r || strcmp(out, again) != 0)
        abort();
}

static void check_encode(const char *in, size_t len)
{
    size_t size = 3 * len + 1;
    char *out = malloc(size);
    if (!out)
        return;
    int r = homeserver_url_encode(in, out, size);
    if (r < 0 || (size_t)r != strlen(out) || (size_t)r > 3 * strlen(in))
        abort();
    for (int i = 0; i < r; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%", out[i]) || !out[i])
            abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly `size` bytes, so ASan flags any read past the end. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    check_error(body, size);
    check_user(body, size);
    free(body);

    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_join(s);
    check_encode(s, size);
    free(s);
    return 0;
}
