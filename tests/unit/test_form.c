/* Form and query decoding. */
#include "check.h"
#include "form.h"
#include <errno.h>
#include <stdio.h>
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
    /* a name twice (here once percent-encoded) is refused, never "the first one wins"
     * (RFC 6749 §3.1), with the same value twice too, and even when one is malformed */
    value = NULL;
    CHECK_INT(form_get(MASD_STR("x=1&re%73ource=two&resource=three"), "resource", &value), -EEXIST);
    CHECK(value == NULL);
    CHECK_INT(form_get(MASD_STR("resource=a&resource=a"), "resource", &value), -EEXIST);
    CHECK_INT(form_get(MASD_STR("resource=a&resource"), "resource", &value), -EEXIST);
    CHECK_INT(form_get(MASD_STR("resource=%zz&resource=a"), "resource", &value), -EEXIST);
    CHECK_INT(form_get(MASD_STR("resource=a&x=1&x=2"), "resource", &value), 1); /* other names: not its job */
    CHECK_STR(value, "a");
    free(value);
    CHECK_INT(form_get(MASD_STR("resourcex=1"), "resource", &value), 0);
    CHECK_INT(form_get(MASD_STR("resource=%zz"), "resource", &value), -EINVAL);

    /* form_check_unique: any name, compared decoded */
    CHECK_INT(form_check_unique(MASD_STR("")), 0);
    CHECK_INT(form_check_unique(MASD_STR("a=1")), 0);
    CHECK_INT(form_check_unique(MASD_STR("a=1&b=2&ab=3&ba=4&A=5&&")), 0);
    CHECK_INT(form_check_unique(MASD_STR("client_id=A&client_id=B")), -EEXIST);
    CHECK_INT(form_check_unique(MASD_STR("client_id=A&token=t&client%5Fid=A")), -EEXIST);
    CHECK_INT(form_check_unique(MASD_STR("a&a")), -EEXIST);
    CHECK_INT(form_check_unique(MASD_STR("=1&=2")), -EEXIST);
    CHECK_INT(form_check_unique(MASD_STR("a+b=1&a%20b=2")), -EEXIST);
    CHECK_INT(form_check_unique(MASD_STR("x=1&%zz=2")), -EINVAL);
    /* many pairs: sorted, not compared pairwise; the duplicate far apart */
    size_t n = 20000;
    char *big = malloc(n * 8 + 16), *p = big;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%zx=", i ? "&" : "", i);
    CHECK_INT(form_check_unique(masd_str_from(big)), 0);
    sprintf(p, "&0=");
    CHECK_INT(form_check_unique(masd_str_from(big)), -EEXIST);
    free(big);
    return check_report(__FILE__);
}
