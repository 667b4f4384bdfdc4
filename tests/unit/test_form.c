/* Form and query decoding. */
#include "check.h"
#include "form.h"
#include <errno.h>
#include <stdlib.h>

static const char *decode(const char *in)
{
    static char out[256];
    long n = form_decode(masd_str_from(in), out);
    if (n < 0)
        return "(invalid)";
    out[n] = '\0';
    return out;
}

int main(void)
{
    CHECK_STR(decode("a+b"), "a b");
    CHECK_STR(decode("%41%62%2f"), "Ab/");
    CHECK_STR(decode("%e2%82%ac"), "\xe2\x82\xac");
    CHECK_STR(decode(""), "");
    CHECK_STR(decode("%"), "(invalid)");
    CHECK_STR(decode("%4"), "(invalid)");
    CHECK_STR(decode("%zz"), "(invalid)");
    CHECK_STR(decode("%00"), "(invalid)");
    CHECK_STR(decode("100%"), "(invalid)");

    masd_str rest = MASD_STR("a=1&&b=&c&=d"), k, v;
    CHECK(form_next(&rest, &k, &v) && masd_str_eq(k, MASD_STR("a")) && masd_str_eq(v, MASD_STR("1")));
    CHECK(form_next(&rest, &k, &v) && masd_str_eq(k, MASD_STR("b")) && v.len == 0);
    CHECK(form_next(&rest, &k, &v) && masd_str_eq(k, MASD_STR("c")) && v.len == 0);
    CHECK(form_next(&rest, &k, &v) && k.len == 0 && masd_str_eq(v, MASD_STR("d")));
    CHECK(!form_next(&rest, &k, &v));

    char *value = NULL;
    CHECK_INT(form_get(MASD_STR("resource=acct%3Aalice%40example.com&rel=x"), "resource", &value), 1);
    CHECK_STR(value, "acct:alice@example.com");
    free(value);
    CHECK_INT(form_get(MASD_STR("x=1&re%73ource=two&resource=three"), "resource", &value), 1);
    CHECK_STR(value, "two");
    free(value);
    CHECK_INT(form_get(MASD_STR("resourcex=1"), "resource", &value), 0);
    CHECK_INT(form_get(MASD_STR("resource=%zz"), "resource", &value), -EINVAL);
    return check_report(__FILE__);
}
