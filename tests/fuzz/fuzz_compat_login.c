/* The compat login body on arbitrary input: the JSON body rules, the login parser and the
 * username rule never crash, and a parsed login always names a user and a password
 * (m.login.password) or a token (m.login.token). */
#include "compat/parse.h"
#include "password_login.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL;
    struct compat_error err;
    struct compat_login_request in;
    char name[256];
    struct config cfg = {.matrix.homeserver = (char *)"example.com"};
    if (compat_json_body(MASD_STR("application/json"), (masd_str){(const char *)data, size}, false, &doc,
                         &err) < 0)
        return 0;
    int rc = compat_login_parse(doc, &in, &err);
    if (rc == 0 && in.type == COMPAT_LOGIN_TOKEN) {
        if (!in.token || in.user || in.password)
            abort();
    } else if (rc == 0) {
        if (!in.user || !in.password || in.token)
            abort();
        long n = password_login_username(&cfg, in.user, name, sizeof(name));
        if (n >= (long)sizeof(name))
            abort();
    } else if (err.status != 400 || !err.errcode) {
        abort();
    }
    json_decref(doc);
    return 0;
}
