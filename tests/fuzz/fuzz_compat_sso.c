/* The compat SSO redirectUrl from arbitrary bytes: its parser (compat_redirect_url_parse), the
 * redirect's query (compat_sso_redirect_parse), and what masd-human does with a stored URL
 * (callback_url adding loginToken, callback_display_name, callback_csp_source). No crash, and:
 * what the parser accepts is clean (no control character, space, backslash or non-ASCII byte; no
 * userinfo; a host for http(s)) and parses again to itself; loginToken lands in the query,
 * before the URL's own fragment, which is kept as it was. The same bytes as a redirect/{idp}
 * path: the segment is decoded without '/' or control characters (compat_sso_idp_parse). */
#include "callback.h"
#include "compat/parse.h"
#include "fuzz_input.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const char *url)
{
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        fuzz_require(*p > 0x20 && *p < 0x7f && *p != '\\');
    const char *colon = strchr(url, ':');
    fuzz_require(colon != NULL);
    if (strncmp(colon, "://", 3) == 0) {
        size_t n = strcspn(colon + 3, "/?#");
        fuzz_require(memchr(colon + 3, '@', n) == NULL);
        if ((colon - url == 4 && strncmp(url, "http", 4) == 0) ||
            (colon - url == 5 && strncmp(url, "https", 5) == 0))
            fuzz_require(n > 0);
    }
    /* idempotent: what is stored is read back the same */
    char again[STORAGE_URI_MAX + 1];
    const char *why;
    fuzz_require(compat_redirect_url_parse(masd_str_from(url), again, sizeof(again), &why) == 0);
    fuzz_require(strcmp(again, url) == 0);

    /* loginToken: base, separator, the parameter, then the URL's own fragment (or an empty one) */
    struct callback_param p = {"loginToken", "AbCdEfGhIjKlMnOpQrStUvWxYz012345"};
    char *with = callback_url(url, AUTHZ_MODE_QUERY, &p, 1);
    fuzz_require(with != NULL);
    size_t base = strcspn(url, "#");
    fuzz_require(strncmp(with, url, base) == 0);
    const char *rest = with + base;
    if (*rest == '?' || *rest == '&')
        rest++;
    else
        fuzz_require(base > 0 && (url[base - 1] == '?' || url[base - 1] == '&') && memchr(url, '?', base));
    fuzz_require(strncmp(rest, "loginToken=AbCdEfGhIjKlMnOpQrStUvWxYz012345", 43) == 0);
    rest += 43;
    fuzz_require(strcmp(rest, url[base] ? url + base : "#") == 0);
    free(with);

    char name[64], src[512];
    size_t n = callback_display_name(url, name, sizeof(name));
    fuzz_require(n <= strlen(url) && strlen(name) < sizeof(name));
    if (callback_csp_source(url, src, sizeof(src)))
        fuzz_require(strchr(src, ' ') == NULL && strchr(src, ';') == NULL && strchr(src, ',') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    masd_str in = {(const char *)data, size};
    char *copy = fuzz_copy(in);
    char out[STORAGE_URI_MAX + 1];
    const char *why = NULL;
    if (compat_redirect_url_parse((masd_str){copy, size}, out, sizeof(out), &why) == 0)
        check_accepted(out);
    else
        fuzz_require(why != NULL && strncmp(why, "Invalid redirectUrl: ", 21) == 0);

    /* the same bytes as the redirect's query */
    struct compat_sso_redirect_request rq;
    struct compat_error err;
    if (compat_sso_redirect_parse((masd_str){copy, size}, &rq, &err) == 0)
        check_accepted(rq.redirect_url);
    else
        fuzz_require(err.status == 400 || err.status == 500);

    /* the same bytes as the path of redirect/{idp}: a clean segment or a refusal */
    char idp[256];
    int r = compat_sso_idp_parse((masd_str){copy, size}, idp, sizeof(idp));
    fuzz_require(r == 0 || r == -ENOENT || r == -EINVAL);
    if (r == 0) {
        fuzz_require(idp[0] != '\0' && strchr(idp, '/') == NULL);
        for (const unsigned char *p = (const unsigned char *)idp; *p; p++)
            fuzz_require(*p >= 0x20 && *p != 0x7f);
    }
    free(copy);
    return 0;
}
