/* Accept-Encoding negotiation: which pre-compressed variant a client gets. The first block is
 * a table of cases, including those where h2o 2.2.5 ignores q-values. */
#include "accept_encoding.h"
#include "check.h"

#define ID  ENCODING_IDENTITY
#define GZ  ENCODING_GZIP
#define BR  ENCODING_BR
#define ALL (ID | GZ | BR)

struct row {
    const char *values[4]; /* header values in order; {NULL}: no header at all */
    unsigned available;
    unsigned expect;
};

static const struct row rows[] = {
    /* Every variant present (data.json, .gz, .br). */
    {{NULL}, ALL, ID},
    {{"identity"}, ALL, ID},
    {{"*"}, ALL, ID}, /* "anything" is not a request for compression */
    {{"gzip"}, ALL, GZ},
    {{"GZIP"}, ALL, GZ},
    {{"br"}, ALL, BR},
    {{"gzip, br"}, ALL, BR},
    {{"deflate, gzip, br, zstd"}, ALL, BR}, /* curl --compressed */
    {{"br;q=0, gzip"}, ALL, GZ},
    {{"gzip;q=1.0"}, ALL, GZ},                   /* h2o: identity */
    {{"gzip; q=0.5"}, ALL, GZ},                  /* h2o: identity */
    {{"br;q=1.0, gzip;q=0.8"}, ALL, BR},         /* h2o: identity */
    {{"deflate, gzip;q=1.0, *;q=0.5"}, ALL, GZ}, /* h2o: identity */
    {{"gzip, deflate, br"}, ALL, BR},            /* browsers */
    {{"gzip, deflate, br, zstd"}, ALL, BR},      /* browsers */

    /* q-values decide; at equal q br, then gzip, then identity. */
    {{"gzip;q=0.8, br;q=0.9"}, ALL, BR},
    {{"gzip;q=0.9, br;q=0.8"}, ALL, GZ},
    {{"br;q=0.5, gzip;q=0.5"}, ALL, BR},
    {{"identity;q=0.5, gzip;q=0.5"}, ALL, GZ},
    {{"identity, gzip;q=0.5"}, ALL, ID},
    {{"gzip;q=0.001"}, GZ | ID, GZ}, /* anything named beats identity's implicit weight */
    {{"gzip;q=0.5, br;q=0.5, identity;q=0.9"}, ALL, ID},

    /* Only what is available can be chosen. */
    {{"br"}, GZ | ID, ID},
    {{"br"}, ID, ID},
    {{"gzip"}, ID, ID},
    {{"gzip, br;q=0.1"}, BR | ID, BR},
    {{"br, gzip;q=0.1"}, GZ | ID, GZ},
    {{NULL}, ID, ID},

    /* q=0 forbids; identity is forbidden only explicitly or by "*;q=0". */
    {{"gzip;q=0"}, ALL, ID},
    {{"gzip;q=0, br;q=0"}, ALL, ID},
    {{"identity;q=0"}, ID, 0},
    {{"identity;q=0"}, GZ | ID, 0}, /* gzip was not named, and there is no `*` */
    {{"identity;q=0, gzip"}, GZ | ID, GZ},
    {{"*;q=0"}, ID, 0},
    {{"*;q=0"}, ALL, 0},
    {{"*;q=0, identity"}, ALL, ID},
    {{"*;q=0, gzip"}, ALL, GZ},
    {{"*;q=0, identity;q=0.5"}, ALL, ID},
    {{"*, identity;q=0"}, GZ | ID, GZ},
    {{"IDENTITY;Q=0"}, ID, 0},

    /* `*` covers whatever is not named, identity included. */
    {{"*, identity;q=0.5"}, ALL, BR},
    {{"*;q=0.5, gzip;q=0.1"}, GZ | ID, ID},
    {{"*;q=0.5, gzip"}, ALL, GZ},
    {{"*;q=0.5, identity;q=0.1"}, GZ | ID, GZ},
    {{"br;q=0, *"}, BR | ID, ID},

    /* RFC 9110 qvalue syntax. */
    {{"gzip;q=1"}, GZ | ID, GZ},
    {{"gzip;q=1."}, GZ | ID, GZ},
    {{"gzip;q=1.000"}, GZ | ID, GZ},
    {{"gzip;q=0."}, GZ | ID, ID},
    {{"gzip;q=0.000"}, GZ | ID, ID},
    {{"gzip;Q=0.5"}, GZ | ID, GZ},

    /* A malformed q makes the coding unacceptable. */
    {{"gzip;q=abc"}, GZ | ID, ID},
    {{"gzip;q=1.5"}, GZ | ID, ID},
    {{"gzip;q=1.001"}, GZ | ID, ID},
    {{"gzip;q=2"}, GZ | ID, ID},
    {{"gzip;q=0.1234"}, GZ | ID, ID},
    {{"gzip;q=.5"}, GZ | ID, ID},
    {{"gzip;q=-1"}, GZ | ID, ID},
    {{"gzip;q=+1"}, GZ | ID, ID},
    {{"gzip;q="}, GZ | ID, ID},
    {{"gzip;q"}, GZ | ID, ID},
    {{"gzip;q = 0.5"}, GZ | ID, ID},
    {{"gzip;q=\"1\""}, GZ | ID, ID},
    {{"gzip;q=0.5;q=zz"}, GZ | ID, ID},
    {{"br;q=abc, gzip"}, ALL, GZ},
    {{"identity;q=x"}, ID, 0},

    /* Other parameters are ignored. */
    {{"gzip;level=9"}, GZ | ID, GZ},
    {{"gzip;foo=bar;q=0"}, GZ | ID, ID},
    {{"gzip;"}, GZ | ID, GZ},

    /* Whitespace, empty elements, several header lines. */
    {{"  gzip  ;  q=0.5  ,  br;q=0.4 "}, ALL, GZ},
    {{"\tbr\t"}, ALL, BR},
    {{", , gzip ,,"}, GZ | ID, GZ},
    {{""}, ALL, ID}, /* an empty value: no coding wanted */
    {{"gzip;q=0.5", "br;q=0.9"}, ALL, BR},
    {{"br;q=0", "gzip"}, ALL, GZ},
    {{"deflate", "", "br"}, ALL, BR},
    {{"identity;q=0", "gzip"}, GZ | ID, GZ},

    /* Duplicates: the lowest q counts. */
    {{"gzip, gzip;q=0"}, GZ | ID, ID},
    {{"gzip;q=0.2, gzip;q=0.9, br;q=0.5"}, ALL, BR},
    {{"gzip", "x-gzip;q=0"}, GZ | ID, ID},

    /* Token spelling. */
    {{"x-gzip"}, GZ | ID, GZ},
    {{"X-GZIP"}, GZ | ID, GZ},
    {{"Br"}, ALL, BR},
    {{"deflate, zstd, compress"}, ALL, ID},
    {{"gz ip"}, GZ | ID, ID},
    {{"gzip/1"}, GZ | ID, ID},
    {{"\"gzip\""}, GZ | ID, ID},
    {{"gzip2"}, GZ | ID, ID},
    {{"brotli"}, BR | ID, ID},
};

static unsigned choose(const struct row *r)
{
    masd_str v[4];
    size_t n = 0;
    for (; n < 4 && r->values[n]; n++)
        v[n] = masd_str_from(r->values[n]);
    return accept_encoding_choose(n ? v : NULL, n, r->available);
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        unsigned got = choose(&rows[i]);
        if (got != rows[i].expect)
            fprintf(stderr, "row %zu (\"%s\"...): got %u, want %u\n", i,
                    rows[i].values[0] ? rows[i].values[0] : "(none)", got, rows[i].expect);
        CHECK_INT(got, rows[i].expect);
    }
}

/* Values are length-delimited, not NUL-terminated. */
static void test_not_nul_terminated(void)
{
    masd_str v = {"gzip;q=0.5garbage", 10};
    CHECK_INT(accept_encoding_choose(&v, 1, GZ | ID), GZ);
    masd_str w = {"br;q=0.51", 8}; /* "br;q=0.5" */
    masd_str x = MASD_STR("gzip;q=0.5");
    masd_str both[2] = {w, x};
    CHECK_INT(accept_encoding_choose(both, 2, ALL), BR);
    masd_str empty = {NULL, 0};
    CHECK_INT(accept_encoding_choose(&empty, 1, ALL), ID);
}

/* Outside the header's contract (identity always available), the answers stay sensible. */
static void test_without_identity(void)
{
    masd_str gzip = MASD_STR("gzip"), empty = MASD_STR("");
    CHECK_INT(accept_encoding_choose(NULL, 0, GZ | BR), BR); /* no header: anything goes */
    CHECK_INT(accept_encoding_choose(&gzip, 1, BR), 0);
    CHECK_INT(accept_encoding_choose(&empty, 1, GZ), 0);
    CHECK_INT(accept_encoding_choose(&gzip, 1, 0), 0);
}

int main(void)
{
    test_table();
    test_not_nul_terminated();
    test_without_identity();
    return check_report(__FILE__);
}
