/* What the OAuth endpoints of masd-oauth (introspect, revoke) read before any database work:
 * client_credentials_parse (services/oauth/client/authenticate.c) over an Authorization header (Bearer,
 * or Basic: base64 of percent-encoded id and secret) and a form body (client_id, client_secret,
 * client_assertion_type, client_assertion), then the body's token and token_type_hint.
 * Input: a flags byte (bit 0: no Authorization header; bit 1: a Content-Type line follows, else
 * the request is a form; bit 2: no Content-Type), the Authorization value up to '\n', the
 * Content-Type up to '\n' when bit 1 says so, then the form body; each from an exact-size heap
 * copy, so ASan sees any read past it.
 * The request is a stand-in (tests/unit/request_headers.h): the target is linked with
 * -Wl,--wrap=masd_req_header. */
#include "../unit/request_headers.h"
#include "client/auth.h"
#include "form.h"
#include "fuzz_input.h"
#include "token.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool cleared(const struct client_credentials *c)
{
    return !c->bearer && !c->bearer_token && !c->jwt && !c->client_id && !c->client_secret && !c->assertion;
}

static void check_credentials(masd_str form)
{
    struct masd_request req = {.body = form};
    struct client_credentials c;
    const char *error = NULL, *why = NULL;
    int r = client_credentials_parse(&req, form, &c, &error, &why);
    fuzz_require(r == 0 || r == -EINVAL || r == -ENODATA || r == -ENOMEM);
    if (!masd_media_type_is(request_content_type, MASD_STR("application/x-www-form-urlencoded")))
        fuzz_require(r == -EINVAL && why != NULL); /* never read as an empty form */
    if (r < 0) {
        fuzz_require(cleared(&c));
        fuzz_require(error && (strcmp(error, "invalid_request") == 0 || strcmp(error, "invalid_grant") == 0));
        fuzz_require(r != -ENODATA || why);
        return;
    }
    /* A client_assertion next to a Bearer or Basic header is read but never used. */
    if (c.bearer) {
        fuzz_require(request_authorization.ptr && c.bearer_token && !c.client_id && !c.client_secret);
    } else if (c.jwt) {
        fuzz_require(c.assertion && !c.client_secret);
    } else {
        fuzz_require(c.client_id != NULL);
        if (c.method == CLIENT_AUTH_SECRET_BASIC)
            fuzz_require(request_authorization.ptr && c.client_id[0] && c.client_secret);
        else
            fuzz_require(c.method == (c.client_secret ? CLIENT_AUTH_SECRET_POST : CLIENT_AUTH_NONE));
    }
    client_credentials_clear(&c);
    fuzz_require(cleared(&c));
}

/* The rest of the body, as introspect.c and revoke.c read it. */
static void check_token(masd_str form)
{
    char *token = NULL, *hint = NULL;
    enum token_kind kind;
    if (form_get(form, "token", &token) == 1) {
        fuzz_require(token != NULL);
        (void)token_check(token, strlen(token), &kind);
        free(token);
    }
    if (form_get(form, "token_type_hint", &hint) == 1)
        free(hint);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool no_header = data[0] & 1, has_type = data[0] & 2, no_type = data[0] & 4;
    masd_str rest = {(const char *)data + 1, size - 1}, auth = {NULL, 0};
    masd_str type = MASD_STR("application/x-www-form-urlencoded");
    masd_str_next(&rest, '\n', &auth);
    if (has_type)
        masd_str_next(&rest, '\n', &type);
    char *auth_copy = fuzz_copy(auth), *type_copy = fuzz_copy(type), *form_copy = fuzz_copy(rest);
    request_authorization = no_header ? (masd_str){NULL, 0} : (masd_str){auth_copy, auth.len};
    request_content_type = no_type ? (masd_str){NULL, 0} : (masd_str){type_copy, type.len};
    masd_str form = {form_copy, rest.len};
    check_credentials(form);
    check_token(form);
    free(auth_copy);
    free(type_copy);
    free(form_copy);
    return 0;
}
