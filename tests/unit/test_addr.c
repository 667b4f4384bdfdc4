/* IP literals and CIDR ranges: what addr_parse() and cidr_parse() accept, and how matching works. */
#include "addr.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>

static const char *parse_fmt(const char *s, char buf[MASD_ADDR_STRLEN])
{
    struct masd_addr a;
    if (addr_parse(masd_str_from(s), &a) < 0)
        return "ERR";
    return addr_format(&a, buf);
}

static int parse_family(const char *s)
{
    struct masd_addr a;
    return addr_parse(masd_str_from(s), &a) < 0 ? -1 : a.family;
}

static void test_addr_parse_accepts_bare_literals(void)
{
    char buf[MASD_ADDR_STRLEN];

    CHECK_STR(parse_fmt("1.2.3.4", buf), "1.2.3.4");
    CHECK_STR(parse_fmt("0.0.0.0", buf), "0.0.0.0");
    CHECK_STR(parse_fmt("255.255.255.255", buf), "255.255.255.255");
    CHECK_STR(parse_fmt("::1", buf), "::1");
    CHECK_STR(parse_fmt("::", buf), "::");
    CHECK_STR(parse_fmt("2001:DB8::A", buf), "2001:db8::a");
    CHECK_STR(parse_fmt("2001:0db8:0000:0000:0000:0000:0000:0001", buf), "2001:db8::1");
    CHECK_STR(parse_fmt("64:ff9b::1.2.3.4", buf), "64:ff9b::102:304"); /* NAT64, not mapped */
    CHECK_INT(parse_family("1.2.3.4"), AF_INET);
    CHECK_INT(parse_family("fe80::1"), AF_INET6);
}

static void test_addr_parse_canonicalises_v4_mapped(void)
{
    char buf[MASD_ADDR_STRLEN];
    struct masd_addr a;

    CHECK_INT(addr_parse(MASD_STR("::ffff:1.2.3.4"), &a), 0);
    CHECK_INT(a.family, AF_INET);
    CHECK_STR(addr_format(&a, buf), "1.2.3.4");
    CHECK_STR(parse_fmt("::FFFF:10.0.0.1", buf), "10.0.0.1");
    CHECK_STR(parse_fmt("::ffff:a00:1", buf), "10.0.0.1"); /* hex spelling, same address */
    CHECK_STR(parse_fmt("0:0:0:0:0:ffff:7f00:1", buf), "127.0.0.1");
    /* Only the ::ffff:0:0/96 range is mapped; IPv4-compatible and others stay IPv6. */
    CHECK_INT(parse_family("::1.2.3.4"), AF_INET6);
    CHECK_INT(parse_family("::fffe:1.2.3.4"), AF_INET6);
    CHECK_INT(parse_family("1::ffff:1.2.3.4"), AF_INET6);
}

static void test_addr_parse_rejects_anything_else(void)
{
    static const char *const bad[] = {"",
                                      " 1.2.3.4",
                                      "1.2.3.4 ",
                                      "1.2.3.4\t",
                                      "1.2.3.4:80",
                                      "[::1]",
                                      "[::1]:443",
                                      "fe80::1%eth0",
                                      "1.2.3",
                                      "1.2.3.4.5",
                                      "1.2.3.999",
                                      "256.0.0.1",
                                      "01.2.3.4",
                                      "1.2.3.04",
                                      "0x1.2.3.4",
                                      "1.2.3.-4",
                                      "+1.2.3.4",
                                      "localhost",
                                      "unix",
                                      "-",
                                      ":::",
                                      "1:2:3:4:5:6:7:8:9",
                                      "::g",
                                      "1.2.3.4/32",
                                      "2001:db8::1/64",
                                      "unknown",
                                      "_hidden",
                                      "1.2.3.4,5.6.7.8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct masd_addr a;
        int r = addr_parse(masd_str_from(bad[i]), &a);
        if (r != -EINVAL)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK_INT(r, -EINVAL);
    }

    struct masd_addr a;
    /* Length-delimited: the bytes after len are not part of the literal... */
    CHECK_INT(addr_parse((masd_str){"1.2.3.4xyz", 7}, &a), 0);
    /* ...embedded NULs are not terminators, and overlong input is refused up front. */
    CHECK_INT(addr_parse((masd_str){"1.2.3.4\0", 8}, &a), -EINVAL);
    CHECK_INT(addr_parse(MASD_STR("0000:0000:0000:0000:0000:0000:0000:0000:0000"), &a), -EINVAL);
    CHECK_INT(addr_parse((masd_str){NULL, 0}, &a), -EINVAL);
}

static void test_addr_from_sockaddr(void)
{
    char buf[MASD_ADDR_STRLEN];
    struct masd_addr a;

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
    CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin), &a), 0);
    CHECK_STR(addr_format(&a, buf), "192.0.2.7");
    CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin) - 1, &a), -EINVAL);

    /* A dual-stack [::] listener reports IPv4 clients as mapped addresses. */
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.0.2.8", &sin6.sin6_addr);
    CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &a), 0);
    CHECK_INT(a.family, AF_INET);
    CHECK_STR(addr_format(&a, buf), "192.0.2.8");
    inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
    CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &a), 0);
    CHECK_STR(addr_format(&a, buf), "2001:db8::5");

    /* UNIX peers are usually unnamed: accept() gives just the family. */
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    CHECK_INT(addr_from_sockaddr((struct sockaddr *)&sun, sizeof(sa_family_t), &a), 0);
    CHECK_INT(a.family, AF_UNIX);
    CHECK_STR(addr_format(&a, buf), "unix");

    struct sockaddr sa = {.sa_family = AF_PACKET};
    CHECK_INT(addr_from_sockaddr(&sa, sizeof(sa), &a), -EAFNOSUPPORT);
    CHECK_INT(addr_from_sockaddr(&sa, 0, &a), -EINVAL);
    CHECK_INT(addr_from_sockaddr(NULL, 0, &a), -EINVAL);
}

static void test_addr_format_non_ip(void)
{
    char buf[MASD_ADDR_STRLEN];
    struct masd_addr unspec = {.family = AF_UNSPEC}, unix_peer = {.family = AF_UNIX};

    CHECK_STR(addr_format(&unspec, buf), "-");
    CHECK_STR(addr_format(&unix_peer, buf), "unix");
    CHECK_STR(parse_fmt("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", buf),
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static const char *cidr_fmt(const char *s, char out[64])
{
    struct masd_cidr c;
    char buf[MASD_ADDR_STRLEN];
    if (cidr_parse(masd_str_from(s), &c) < 0)
        return "ERR";
    struct masd_addr a = {.family = c.family};
    memcpy(a.bytes, c.bytes, sizeof(a.bytes));
    snprintf(out, 64, "%s/%u", addr_format(&a, buf), c.prefix);
    return out;
}

static void test_cidr_parse(void)
{
    char out[64];

    CHECK_STR(cidr_fmt("10.0.0.0/8", out), "10.0.0.0/8");
    CHECK_STR(cidr_fmt("192.168.0.0/16", out), "192.168.0.0/16");
    CHECK_STR(cidr_fmt("172.16.0.0/12", out), "172.16.0.0/12");
    CHECK_STR(cidr_fmt("0.0.0.0/0", out), "0.0.0.0/0");
    CHECK_STR(cidr_fmt("1.2.3.4/32", out), "1.2.3.4/32");
    CHECK_STR(cidr_fmt("1.2.3.4", out), "1.2.3.4/32"); /* bare address: one host */
    CHECK_STR(cidr_fmt("::1", out), "::1/128");
    CHECK_STR(cidr_fmt("::1/128", out), "::1/128");
    CHECK_STR(cidr_fmt("fd00::/8", out), "fd00::/8");
    CHECK_STR(cidr_fmt("::/0", out), "::/0");
    CHECK_STR(cidr_fmt("10.0.0.0/08", out), "10.0.0.0/8"); /* leading zeros: still decimal */
    /* IPv4-mapped ranges denote the IPv4 range, as addresses are canonicalised. */
    CHECK_STR(cidr_fmt("::ffff:10.0.0.0/104", out), "10.0.0.0/8");
    CHECK_STR(cidr_fmt("::ffff:1.2.3.4", out), "1.2.3.4/32");
    CHECK_STR(cidr_fmt("::ffff:0:0/96", out), "0.0.0.0/0");
    /* Host bits are cleared, as MAS reads "127.0.0.1/8". */
    CHECK_STR(cidr_fmt("127.0.0.1/8", out), "127.0.0.0/8");
    CHECK_STR(cidr_fmt("1.2.3.5/31", out), "1.2.3.4/31");
    CHECK_STR(cidr_fmt("fd00::1/8", out), "fd00::/8");
}

static void test_cidr_parse_rejects(void)
{
    static const char *const bad[] = {
        "::ffff:10.0.0.0/95",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "/8",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/8 ",
        " 10.0.0.0/8",
        "10.0.0.0 /8",
        "10.0.0.0/ 8",
        "10.0.0.0/8/8",
        "10.0.0.0/1000",
        "10.0.0.0/0x8",
        "10.0.0/8",
        "",
        "*",
        "localhost/8",
        "[::1]/128",
        "10.0.0.0/8,",
        "10.0.0.0/4294967304",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct masd_cidr c;
        int r = cidr_parse(masd_str_from(bad[i]), &c);
        if (r != -EINVAL)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK_INT(r, -EINVAL);
    }
}

static bool in(const char *cidr, const char *addr)
{
    struct masd_cidr c;
    struct masd_addr a;
    if (cidr_parse(masd_str_from(cidr), &c) < 0 || addr_parse(masd_str_from(addr), &a) < 0)
        return false;
    return cidr_contains(&c, &a);
}

static void test_cidr_contains(void)
{
    CHECK(in("10.0.0.0/8", "10.0.0.1"));
    CHECK(in("10.0.0.0/8", "10.255.255.255"));
    CHECK(!in("10.0.0.0/8", "11.0.0.0"));
    CHECK(!in("10.0.0.0/8", "9.255.255.255"));
    CHECK(in("172.16.0.0/12", "172.31.1.1"));
    CHECK(!in("172.16.0.0/12", "172.32.0.0"));
    CHECK(in("192.168.1.128/25", "192.168.1.200"));
    CHECK(!in("192.168.1.128/25", "192.168.1.127"));
    CHECK(in("0.0.0.0/0", "203.0.113.9"));
    CHECK(in("1.2.3.4", "1.2.3.4"));
    CHECK(!in("1.2.3.4", "1.2.3.5"));
    CHECK(in("::1", "::1"));
    CHECK(in("fd00::/8", "fdab::1"));
    CHECK(!in("fd00::/8", "fe80::1"));
    CHECK(in("2001:db8::/33", "2001:db8:7fff::1"));
    CHECK(!in("2001:db8::/33", "2001:db8:8000::1"));
    /* Families never mix; a mapped address is an IPv4 address. */
    CHECK(!in("::/0", "1.2.3.4"));
    CHECK(!in("0.0.0.0/0", "::1"));
    CHECK(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    CHECK(in("::ffff:10.0.0.0/104", "10.1.2.3"));
    CHECK(!in("::ffff:10.0.0.0/104", "11.1.2.3"));

    struct masd_cidr c;
    struct masd_addr unix_peer = {.family = AF_UNIX}, unspec = {.family = AF_UNSPEC};
    CHECK_INT(cidr_parse(MASD_STR("0.0.0.0/0"), &c), 0);
    CHECK(!cidr_contains(&c, &unix_peer));
    CHECK(!cidr_contains(&c, &unspec));
}

static void test_cidr_list_contains(void)
{
    struct masd_cidr list[3];
    struct masd_addr a;

    CHECK_INT(cidr_parse(MASD_STR("127.0.0.0/8"), &list[0]), 0);
    CHECK_INT(cidr_parse(MASD_STR("::1"), &list[1]), 0);
    CHECK_INT(cidr_parse(MASD_STR("192.168.0.0/16"), &list[2]), 0);

    CHECK_INT(addr_parse(MASD_STR("192.168.4.4"), &a), 0);
    CHECK(cidr_list_contains(list, 3, &a));
    CHECK(!cidr_list_contains(list, 2, &a));
    CHECK(!cidr_list_contains(list, 0, &a));
    CHECK(!cidr_list_contains(NULL, 0, &a));
    CHECK_INT(addr_parse(MASD_STR("::1"), &a), 0);
    CHECK(cidr_list_contains(list, 3, &a));
    CHECK_INT(addr_parse(MASD_STR("::2"), &a), 0);
    CHECK(!cidr_list_contains(list, 3, &a));
}

/* The network a client counts as in per-IP limits: IPv4 as it is, IPv6 by its prefix. */
static const char *network(const char *s, unsigned prefix)
{
    static char buf[MASD_NETWORK_STRLEN];
    struct masd_addr a;
    if (addr_parse(masd_str_from(s), &a) < 0)
        return "(bad)";
    const char *n = addr_network(&a, prefix, buf);
    return n ? n : "(none)";
}

static void test_addr_network(void)
{
    CHECK_STR(network("192.0.2.7", 64), "192.0.2.7");
    CHECK_STR(network("::ffff:192.0.2.7", 64), "192.0.2.7");
    CHECK_STR(network("2001:db8:1:2:3:4:5:6", 64), "2001:db8:1:2::/64");
    CHECK_STR(network("2001:db8:1:2:ffff:ffff:ffff:ffff", 64), "2001:db8:1:2::/64");
    CHECK_STR(network("2001:db8:1:2:3:4:5:6", 48), "2001:db8:1::/48");
    CHECK_STR(network("2001:db8:1:2:3:4:5:6", 56), "2001:db8:1::/56");
    CHECK_STR(network("2001:db8:1:2ff:3:4:5:6", 56), "2001:db8:1:200::/56");
    CHECK_STR(network("2001:db8:1:2:3:4:5:6", 60), "2001:db8:1::/60");
    CHECK_STR(network("2001:db8:1:2:3:4:5:6", 128), "2001:db8:1:2:3:4:5:6");
    CHECK_STR(network("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 127),
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
    char buf[MASD_NETWORK_STRLEN];
    struct masd_addr u = {.family = AF_UNIX}, none = {.family = AF_UNSPEC};
    CHECK(addr_network(&u, 64, buf) == NULL);
    CHECK(addr_network(&none, 64, buf) == NULL);
}

int main(void)
{
    test_addr_network();
    test_addr_parse_accepts_bare_literals();
    test_addr_parse_canonicalises_v4_mapped();
    test_addr_parse_rejects_anything_else();
    test_addr_from_sockaddr();
    test_addr_format_non_ip();
    test_cidr_parse();
    test_cidr_parse_rejects();
    test_cidr_contains();
    test_cidr_list_contains();
    return check_report(__FILE__);
}
