/* The client IP of a request (docs/architecture.md §3), as a table: who connected, what they claimed, and
 * which address we believe. Trusted proxies are MAS's defaults unless a row says otherwise. */
#include "client_ip.h"
#include "check.h"

#include <stdlib.h>

static const char *const mas_default_trusted[] = {
    "192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/10", "127.0.0.0/8", "fd00::/8", "::1/128", NULL,
};

struct row {
    const char *what;
    const char *proxy;  /* PROXY header source, or NULL */
    const char *peer;   /* an IP, "unix", or "-" for an unknown peer */
    const char *xff[4]; /* header values in order, NULL-terminated */
    const char *expect; /* the client address, or "-" for none */
};

static const struct row rows[] = {
    /* The socket peer, and spoofing by a client that connects directly. */
    {"direct client, no header", NULL, "203.0.113.7", {NULL}, "203.0.113.7"},
    {"untrusted peer: XFF ignored", NULL, "203.0.113.7", {"198.51.100.1"}, "203.0.113.7"},
    {"untrusted peer claiming to be local", NULL, "203.0.113.7", {"127.0.0.1"}, "203.0.113.7"},
    {"untrusted peer with a whole chain", NULL, "203.0.113.7", {"1.1.1.1, 10.0.0.1"}, "203.0.113.7"},
    {"10.64.0.1 is outside MAS's 10.0.0.0/10", NULL, "10.64.0.1", {"1.1.1.1"}, "10.64.0.1"},
    {"untrusted IPv6 peer", NULL, "2001:db8::1", {"1.1.1.1"}, "2001:db8::1"},

    /* A trusted proxy in front. */
    {"trusted peer, no header: the peer", NULL, "127.0.0.1", {NULL}, "127.0.0.1"},
    {"trusted peer forwards the client", NULL, "127.0.0.1", {"203.0.113.7"}, "203.0.113.7"},
    {"forged left part: rightmost untrusted", NULL, "127.0.0.1", {"6.6.6.6, 203.0.113.7"}, "203.0.113.7"},
    {"forged trusted entry left of it", NULL, "127.0.0.1", {"10.0.0.9, 203.0.113.7"}, "203.0.113.7"},
    {"two proxies of ours", NULL, "127.0.0.1", {"203.0.113.7, 192.168.1.1, 10.0.0.2"}, "203.0.113.7"},
    {"all trusted: the leftmost entry", NULL, "127.0.0.1", {"10.0.0.1, 192.168.0.1"}, "10.0.0.1"},
    {"single trusted entry", NULL, "127.0.0.1", {"127.0.0.9"}, "127.0.0.9"},

    /* Formatting of the header. */
    {"no spaces", NULL, "127.0.0.1", {"203.0.113.7,10.0.0.1"}, "203.0.113.7"},
    {"spaces and tabs trimmed", NULL, "127.0.0.1", {" \t203.0.113.7\t ,\t 10.0.0.1  "}, "203.0.113.7"},
    {"several headers, in order", NULL, "127.0.0.1", {"6.6.6.6", "203.0.113.7", "10.0.0.1"}, "203.0.113.7"},
    {"several headers with lists", NULL, "127.0.0.1", {"1.1.1.1, 2.2.2.2", "10.0.0.1, 10.0.0.2"}, "2.2.2.2"},
    {"last header is the nearest hop", NULL, "127.0.0.1", {"10.0.0.1", "2.2.2.2"}, "2.2.2.2"},
    {"mapped client canonicalised", NULL, "127.0.0.1", {"::ffff:203.0.113.7"}, "203.0.113.7"},
    {"mapped trusted hop is skipped", NULL, "127.0.0.1", {"203.0.113.7, ::ffff:10.0.0.1"}, "203.0.113.7"},
    {"mapped peer is trusted as IPv4", NULL, "::ffff:127.0.0.1", {"203.0.113.7"}, "203.0.113.7"},
    {"upper-case IPv6 entry", NULL, "127.0.0.1", {"2001:DB8::7"}, "2001:db8::7"},

    /* Unparsable entries stop the walk: the last address that parsed wins. */
    {"rightmost unparsable: the peer", NULL, "127.0.0.1", {"203.0.113.7, garbage"}, "127.0.0.1"},
    {"unparsable in the middle: the hop right of it",
     NULL,
     "127.0.0.1",
     {"6.6.6.6, garbage, 10.0.0.1"},
     "10.0.0.1"},
    {"unparsable left of the client is never reached",
     NULL,
     "127.0.0.1",
     {"garbage, 203.0.113.7"},
     "203.0.113.7"},
    {"ip:port is not an address", NULL, "127.0.0.1", {"203.0.113.7:4711"}, "127.0.0.1"},
    {"bracketed IPv6 is not an address", NULL, "127.0.0.1", {"[2001:db8::1]"}, "127.0.0.1"},
    {"zone index is not an address", NULL, "127.0.0.1", {"fe80::1%eth0"}, "127.0.0.1"},
    {"RFC 7239 obfuscated identifier", NULL, "127.0.0.1", {"unknown"}, "127.0.0.1"},
    {"empty entry counts as unparsable", NULL, "127.0.0.1", {"203.0.113.7, , 10.0.0.1"}, "10.0.0.1"},
    {"trailing comma: empty rightmost entry", NULL, "127.0.0.1", {"203.0.113.7,"}, "127.0.0.1"},
    {"empty header value", NULL, "127.0.0.1", {""}, "127.0.0.1"},
    {"blank header value", NULL, "127.0.0.1", {" \t "}, "127.0.0.1"},
    {"empty last header hides the others", NULL, "127.0.0.1", {"203.0.113.7", ""}, "127.0.0.1"},
    {"empty first header is never reached", NULL, "127.0.0.1", {"", "203.0.113.7"}, "203.0.113.7"},
    {"unparsable after trusted hops", NULL, "127.0.0.1", {"x, 10.0.0.1, 10.0.0.2"}, "10.0.0.1"},

    /* UNIX-socket peers: always trusted, but have no address of their own. */
    {"unix peer, no header: no address", NULL, "unix", {NULL}, "-"},
    {"unix peer forwards the client", NULL, "unix", {"203.0.113.7"}, "203.0.113.7"},
    {"unix peer, forged left part", NULL, "unix", {"6.6.6.6, 203.0.113.7"}, "203.0.113.7"},
    {"unix peer, all trusted: leftmost", NULL, "unix", {"127.0.0.1, 10.0.0.1"}, "127.0.0.1"},
    {"unix peer, only garbage", NULL, "unix", {"garbage"}, "-"},
    {"unix peer, rightmost unparsable", NULL, "unix", {"203.0.113.7, garbage"}, "-"},
    {"unix peer, garbage left of a trusted hop", NULL, "unix", {"garbage, 10.0.0.1"}, "10.0.0.1"},
    {"unix peer, empty header", NULL, "unix", {""}, "-"},
    {"unix peer, IPv6 client", NULL, "unix", {"2001:db8::9, ::1"}, "2001:db8::9"},

    /* An unknown peer has no address and is not trusted. */
    {"unknown peer", NULL, "-", {NULL}, "-"},
    {"unknown peer's XFF is not believed", NULL, "-", {"203.0.113.7"}, "-"},

    /* A PROXY header source wins over everything. */
    {"PROXY source beats XFF", "198.51.100.1", "127.0.0.1", {"203.0.113.7"}, "198.51.100.1"},
    {"PROXY source, even a trusted address", "10.0.0.5", "127.0.0.1", {"203.0.113.7"}, "10.0.0.5"},
    {"PROXY source behind a UNIX socket", "198.51.100.1", "unix", {"203.0.113.7"}, "198.51.100.1"},
    {"PROXY source from an untrusted peer", "198.51.100.1", "203.0.113.7", {NULL}, "198.51.100.1"},
    {"PROXY IPv6 source", "2001:db8::42", "127.0.0.1", {NULL}, "2001:db8::42"},

    /* IPv6 all the way. */
    {"::1 peer forwards an IPv6 client", NULL, "::1", {"2001:db8::7"}, "2001:db8::7"},
    {"fd00::/8 hops are skipped", NULL, "fd00::1", {"2001:db8::7, fd12::1"}, "2001:db8::7"},
    {"IPv6 proxy forwards an IPv4 client", NULL, "::1", {"203.0.113.7"}, "203.0.113.7"},
    {"IPv4 proxy forwards an IPv6 client", NULL, "10.0.0.1", {"2001:db8::7"}, "2001:db8::7"},
    {"untrusted IPv6 next to trusted ones",
     NULL,
     "::1",
     {"fd00::5, 2001:db8::bad, fd00::6"},
     "2001:db8::bad"},
};

static size_t parse_cidrs(const char *const *specs, struct masd_cidr *out)
{
    size_t n = 0;
    for (; specs[n]; n++)
        if (cidr_parse(masd_str_from(specs[n]), &out[n]) < 0)
            abort();
    return n;
}

static void to_addr(const char *s, struct masd_addr *a)
{
    if (strcmp(s, "unix") == 0)
        *a = (struct masd_addr){.family = AF_UNIX};
    else if (strcmp(s, "-") == 0)
        *a = (struct masd_addr){.family = AF_UNSPEC};
    else if (addr_parse(masd_str_from(s), a) < 0)
        abort();
}

static const char *resolve(const struct row *r, const struct masd_cidr *trusted, size_t n_trusted,
                           char buf[MASD_ADDR_STRLEN])
{
    struct masd_addr proxy, peer, out;
    masd_str xff[4];
    size_t n_xff = 0;

    if (r->proxy)
        to_addr(r->proxy, &proxy);
    to_addr(r->peer, &peer);
    for (; n_xff < 4 && r->xff[n_xff]; n_xff++)
        xff[n_xff] = masd_str_from(r->xff[n_xff]);

    struct client_ip_input in = {
        .proxy_source = r->proxy ? &proxy : NULL,
        .peer = &peer,
        .xff = n_xff ? xff : NULL,
        .n_xff = n_xff,
        .trusted = trusted,
        .n_trusted = n_trusted,
    };
    int ret = client_ip_resolve(&in, &out);
    /* The return value and the family always agree. */
    CHECK_INT(ret, out.family == AF_INET || out.family == AF_INET6);
    if (ret == 0)
        CHECK_INT(out.family, AF_UNSPEC);
    return addr_format(&out, buf);
}

static void test_table(void)
{
    struct masd_cidr trusted[8];
    size_t n = parse_cidrs(mas_default_trusted, trusted);
    char buf[MASD_ADDR_STRLEN];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = resolve(&rows[i], trusted, n, buf);
        if (strcmp(got, rows[i].expect) != 0)
            fprintf(stderr, "row %zu \"%s\": got %s, want %s\n", i, rows[i].what, got, rows[i].expect);
        CHECK_STR(got, rows[i].expect);
    }
}

/* A chain through two proxies, with a smaller trusted list: 10.0.0.1 is a client there. */
static void test_h2o_notes_example(void)
{
    static const char *const specs[] = {"127.0.0.0/8", "::1", NULL};
    struct masd_cidr trusted[2];
    size_t n = parse_cidrs(specs, trusted);
    char buf[MASD_ADDR_STRLEN];

    struct row r1 = {"", NULL, "127.0.0.1", {"9.9.9.9, 10.0.0.1, 127.0.0.5"}, ""};
    CHECK_STR(resolve(&r1, trusted, n, buf), "10.0.0.1");
    struct row r2 = {"", NULL, "unix", {"203.0.113.7"}, ""};
    CHECK_STR(resolve(&r2, trusted, n, buf), "203.0.113.7");
}

/* With no trusted proxies configured, only UNIX peers' headers are read. */
static void test_no_trusted_proxies(void)
{
    char buf[MASD_ADDR_STRLEN];

    struct row r1 = {"", NULL, "127.0.0.1", {"203.0.113.7"}, ""};
    CHECK_STR(resolve(&r1, NULL, 0, buf), "127.0.0.1");
    struct row r2 = {"", NULL, "unix", {"1.1.1.1, 2.2.2.2"}, ""};
    CHECK_STR(resolve(&r2, NULL, 0, buf), "2.2.2.2");
}

static void test_missing_inputs(void)
{
    struct masd_addr out = {.family = AF_INET};
    struct client_ip_input in = {0};

    /* No peer at all (NULL) is the same as an unknown one. */
    CHECK_INT(client_ip_resolve(&in, &out), 0);
    CHECK_INT(out.family, AF_UNSPEC);

    /* A PROXY "source" without an address (e.g. UNIX) does not count. */
    struct masd_addr unix_src = {.family = AF_UNIX}, peer;
    CHECK_INT(addr_parse(MASD_STR("203.0.113.7"), &peer), 0);
    in.proxy_source = &unix_src;
    in.peer = &peer;
    CHECK_INT(client_ip_resolve(&in, &out), 1);
    CHECK_INT(out.family, AF_INET);
    CHECK(memcmp(out.bytes, peer.bytes, 4) == 0);
}

/* A long chain of trusted hops is walked to its left end. */
static void test_long_chain(void)
{
    static char chain[64 * 16];
    struct masd_cidr trusted[8];
    size_t n = parse_cidrs(mas_default_trusted, trusted);
    char buf[MASD_ADDR_STRLEN];
    size_t off = (size_t)snprintf(chain, sizeof(chain), "203.0.113.7");

    for (int i = 0; i < 60; i++)
        off += (size_t)snprintf(chain + off, sizeof(chain) - off, ", 10.0.0.%d", i);
    struct row r = {"", NULL, "127.0.0.1", {chain}, ""};
    CHECK_STR(resolve(&r, trusted, n, buf), "203.0.113.7");
}

int main(void)
{
    test_table();
    test_h2o_notes_example();
    test_no_trusted_proxies();
    test_missing_inputs();
    test_long_chain();
    return check_report(__FILE__);
}
