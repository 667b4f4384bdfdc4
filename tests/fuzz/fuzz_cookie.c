/* Cookies in MAS's format on arbitrary bytes: a cookie value opened (never accepted unless this
 * jar sealed it: a random input cannot carry a valid tag), and the session and CSRF JSON parsed;
 * whatever parses renders and parses back to the same. */
#include "cookie.h"
#include "fuzz_input.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cookie_jar *jar;
    static const unsigned char secret[COOKIE_SECRET_LEN] = {42};
    if (!jar)
        fuzz_require(cookie_jar_new(secret, &jar) == 0);
    char *in = fuzz_copy((masd_str){(const char *)data, size}), *plain = NULL;
    size_t len;
    fuzz_require(cookie_open(jar, "session", in, size, &plain, &len) == -EBADMSG);

    struct cookie_session s, s2;
    if (cookie_session_parse(in, size, &s) == 0) {
        char *j = cookie_session_render(&s);
        fuzz_require(j && cookie_session_parse(j, strlen(j), &s2) == 0);
        fuzz_require(strcmp(s.current, s2.current) == 0 && s.logged_out_at == s2.logged_out_at);
        free(j);
    }
    struct cookie_csrf c, c2;
    if (cookie_csrf_parse(in, size, &c) == 0) {
        char *j = cookie_csrf_render(&c);
        fuzz_require(j && cookie_csrf_parse(j, strlen(j), &c2) == 0 && memcmp(&c, &c2, sizeof(c)) == 0);
        free(j);
    }
    free(in);
    return 0;
}
