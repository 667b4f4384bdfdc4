/* The strict PROXY protocol parser: what a load balancer may send, and everything it may not. */
#include "proxy_protocol.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>

static struct proxy_header hdr;

static ssize_t parse_n(const void *buf, size_t len)
{
    /* An exact-size heap copy, so that ASan catches any read past len. */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    ssize_t r = proxy_protocol_parse(copy, len, &hdr);
    free(copy);
    return r;
}

static ssize_t parse(const char *s)
{
    return parse_n(s, strlen(s));
}

static const char *source(void)
{
    static char buf[64];
    char a[MASD_ADDR_STRLEN];
    if (!hdr.has_source)
        return "peer";
    snprintf(buf, sizeof(buf), "%s port %u", addr_format(&hdr.source, a), hdr.source_port);
    return buf;
}

/* Every strict prefix of a valid header asks for more bytes, never rejects. */
static void check_prefixes_need_more(const uint8_t *buf, size_t len)
{
    size_t bad = 0;
    for (size_t i = 0; i < len; i++)
        if (parse_n(buf, i) != 0)
            bad++;
    CHECK_INT(bad, 0);
}

/* ---- v1 ---------------------------------------------------------------------------------- */

static void test_v1_valid(void)
{
    CHECK_INT(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n"), 38);
    CHECK_INT(hdr.version, 1);
    CHECK_STR(source(), "1.2.3.4 port 1111");

    CHECK_INT(parse("PROXY TCP6 2001:db8::1 2001:db8::2 4444 80\r\n"), 44);
    CHECK_INT(hdr.source.family, AF_INET6);
    CHECK_STR(source(), "2001:db8::1 port 4444");

    /* A v4-mapped TCP6 source is the IPv4 client. */
    CHECK_INT(parse("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n"), 37);
    CHECK_INT(hdr.source.family, AF_INET);
    CHECK_STR(source(), "192.0.2.1 port 1");

    /* Port 0 and 65535 are in range; "0" is not a leading zero. */
    CHECK(parse("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n") > 0);
    CHECK_STR(source(), "1.2.3.4 port 0");
    CHECK(parse("PROXY TCP4 1.2.3.4 5.6.7.8 65535 0\r\n") > 0);
    CHECK_STR(source(), "1.2.3.4 port 65535");
}

static void test_v1_unknown_keeps_peer(void)
{
    CHECK_INT(parse("PROXY UNKNOWN\r\n"), 15);
    CHECK_INT(hdr.version, 1);
    CHECK(!hdr.has_source);
    CHECK_STR(source(), "peer");

    /* The long form: whatever follows UNKNOWN is ignored. */
    const char *long_form = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
    CHECK_INT(parse(long_form), (ssize_t)strlen(long_form));
    CHECK(!hdr.has_source);
    CHECK(parse("PROXY UNKNOWN 1.2.3.4 x\r\n") > 0);

    CHECK_INT(parse("PROXY UNKNOWNX\r\n"), -EBADMSG);
    CHECK_INT(parse("PROXY unknown\r\n"), -EBADMSG);
}

static void test_v1_followed_by_request(void)
{
    const char *in = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_INT(parse(in), 38);
    CHECK_STR(source(), "1.2.3.4 port 1111");

    /* The HTTP/2 connection preface after the header is not ours either. */
    const char *h2 = "PROXY UNKNOWN\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    CHECK_INT(parse(h2), 15);

    /* Nor is a second PROXY line. */
    CHECK_INT(parse("PROXY UNKNOWN\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), 15);
}

static void test_v1_split_input(void)
{
    static const char *const valid[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
        "PROXY TCP6 2001:db8::1 2001:db8::2 4444 80\r\n",
        "PROXY UNKNOWN\r\n",
        ("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
         "65535 65535\r\n"),
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        size_t len = strlen(valid[i]);
        CHECK_INT(parse(valid[i]), (ssize_t)len);
        check_prefixes_need_more((const uint8_t *)valid[i], len);
    }
}

static void test_v1_length_bound(void)
{
    char line[200];

    /* The longest well-formed TCP6 line is 104 bytes. */
    const char *max6 =
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "65535 65535\r\n";
    CHECK_INT(strlen(max6), 104);
    CHECK_INT(parse(max6), 104);

    /* An UNKNOWN line may use the whole 107 bytes, CRLF included, and not one more. */
    memset(line, 'x', sizeof(line));
    memcpy(line, "PROXY UNKNOWN ", 14);
    memcpy(line + 105, "\r\n", 2);
    CHECK_INT(parse_n(line, 107), 107);
    memset(line + 105, 'x', 2);
    memcpy(line + 106, "\r\n", 2);
    CHECK_INT(parse_n(line, 106), 0);        /* "...\r": the LF would be byte 107 */
    CHECK_INT(parse_n(line, 107), -EBADMSG); /* the CR is byte 107: no room for the LF */
    CHECK_INT(parse_n(line, 108), -EBADMSG);

    /* No CRLF within 107 bytes: rejected at once, however much more is buffered. */
    memset(line, 'x', sizeof(line));
    memcpy(line, "PROXY ", 6);
    CHECK_INT(parse_n(line, 106), 0);
    CHECK_INT(parse_n(line, 107), -EBADMSG);
    CHECK_INT(parse_n(line, sizeof(line)), -EBADMSG);

    /* A flood: "PROXY " then 64 KiB without a line end. */
    size_t big = 64 * 1024;
    char *flood = malloc(big);
    memset(flood, 'A', big);
    memcpy(flood, "PROXY ", 6);
    CHECK_INT(parse_n(flood, big), -EBADMSG);
    free(flood);
}

static void test_v1_rejects(void)
{
    static const char *const bad[] = {
        "PROXY TCP4 1.2.3.999 5.6.7.8 1111 2222\r\n",    /* bad IPv4 */
        "PROXY TCP4 1.2.3.4 5.6.7.256 1111 2222\r\n",    /* bad destination */
        "PROXY TCP4 01.2.3.4 5.6.7.8 1111 2222\r\n",     /* leading zero in an octet */
        "PROXY TCP4 1.2.3 5.6.7.8 1111 2222\r\n",        /* three octets */
        "PROXY TCP4 1.2.3.4 5.6.7.8 99999 2222\r\n",     /* port out of range (h2o wraps it) */
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2222\r\n",     /* one above the range */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1111 100000\r\n",    /* six digits */
        "PROXY TCP4 1.2.3.4 5.6.7.8 080 2222\r\n",       /* leading zero: octal confusion */
        "PROXY TCP4 1.2.3.4 5.6.7.8 00 2222\r\n",        /* leading zero */
        "PROXY TCP4 1.2.3.4 5.6.7.8 +80 2222\r\n",       /* sign */
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2222\r\n",        /* sign */
        "PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2222\r\n",      /* hex */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 3333\r\n", /* extra field */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 \r\n",     /* trailing space */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n",           /* missing field */
        "PROXY TCP4 1.2.3.4\r\n",                        /* missing fields */
        "PROXY TCP4\r\n",                                /* no fields */
        "PROXY TCP4  1.2.3.4 5.6.7.8 1111 2222\r\n",     /* double space */
        "PROXY TCP4 1.2.3.4  5.6.7.8 1111 2222\r\n",     /* double space */
        "PROXY  TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",     /* double space */
        "PROXY TCP4\t1.2.3.4 5.6.7.8 1111 2222\r\n",     /* tab */
        "PROXY tcp4 1.2.3.4 5.6.7.8 1111 2222\r\n",      /* lowercase protocol */
        "PROXY TCP5 1.2.3.4 5.6.7.8 1111 2222\r\n",      /* no such protocol */
        "PROXY UDP4 1.2.3.4 5.6.7.8 1111 2222\r\n",      /* not in v1 */
        "PROXY TCP4 ::1 ::1 1111 2222\r\n",              /* family mismatch */
        "PROXY TCP6 1.2.3.4 5.6.7.8 1111 2222\r\n",      /* family mismatch */
        "PROXY TCP6 ::1 5.6.7.8 1111 2222\r\n",          /* mixed families */
        "PROXY TCP6 fe80::1%eth0 ::1 1111 2222\r\n",     /* zone index */
        "PROXY TCP6 [::1] ::1 1111 2222\r\n",            /* brackets */
        "PROXY TCP4 1.2.3.4:80 5.6.7.8 1111 2222\r\n",   /* port in the address */
        "PROXY \r\n",                                    /* nothing */
        "PROXY\r\n",                                     /* no space */
        "PROXY UNKNOWN\n",                               /* bare LF */
        "PROXY UNKNOWN\rX\r\n",                          /* bare CR */
        "PROXY UNKNOWN\r\r\n",                           /* CR CR LF */
        "PROXY UNKNOWN \x01\r\n",                        /* control byte */
        "PROXY UNKNOWN \xff\r\n",                        /* not ASCII */
        "proxy TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n",      /* lowercase magic */
        "GET / HTTP/1.1\r\n\r\n",                        /* no header at all */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ssize_t r = parse(bad[i]);
        if (r != -EBADMSG)
            fprintf(stderr, "not rejected (%zd): %s\n", r, bad[i]);
        CHECK_INT(r, -EBADMSG);
        CHECK(!hdr.has_source);
    }

    /* A NUL inside the line. */
    CHECK_INT(parse_n("PROXY UNKNOWN\0\r\n", 16), -EBADMSG);
}

/* A byte that can no longer lead to a valid header is rejected as soon as it arrives. */
static void test_early_rejection(void)
{
    CHECK_INT(parse_n("", 0), 0);
    CHECK_INT(parse("P"), 0);
    CHECK_INT(parse("PROX"), 0);
    CHECK_INT(parse("PROXY"), 0);
    CHECK_INT(parse("PROXY "), 0);
    CHECK_INT(parse("PROXY TCP4 1.2"), 0);
    CHECK_INT(parse("G"), -EBADMSG);
    CHECK_INT(parse("PUT"), -EBADMSG);
    CHECK_INT(parse("PROXX"), -EBADMSG);
    CHECK_INT(parse("PROXY\r"), -EBADMSG);
    CHECK_INT(parse("PROXY TCP4\n"), -EBADMSG);
    CHECK_INT(parse_n("\x16\x03\x01\x02\x00", 5), -EBADMSG); /* a TLS ClientHello */
    CHECK_INT(parse_n("\0", 1), -EBADMSG);
    CHECK_INT(parse("\r"), 0);
    CHECK_INT(parse("\r\n\r\n"), 0);
    CHECK_INT(parse_n("\r\n\r\n\0\r\nQUI", 10), 0);
    CHECK_INT(parse_n("\r\n\r\n\0\r\nQUIX", 11), -EBADMSG);
    CHECK_INT(parse("\r\n\r\nGET"), -EBADMSG); /* the NUL is missing */
    CHECK_INT(parse("\r\nGET"), -EBADMSG);
}

/* ---- v2 ---------------------------------------------------------------------------------- */

static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* Writes a v2 header with the given block into buf; returns its total length. */
static size_t v2(uint8_t *buf, uint8_t ver_cmd, uint8_t fam, const void *block, size_t block_len)
{
    memcpy(buf, sig, 12);
    buf[12] = ver_cmd;
    buf[13] = fam;
    buf[14] = (uint8_t)(block_len >> 8);
    buf[15] = (uint8_t)block_len;
    if (block_len)
        memcpy(buf + 16, block, block_len);
    return 16 + block_len;
}

/* Builds a v2 header and parses exactly it. */
static ssize_t parse_v2(uint8_t ver_cmd, uint8_t fam, const void *block, size_t block_len)
{
    uint8_t *buf = malloc(16 + block_len);
    ssize_t r = parse_n(buf, v2(buf, ver_cmd, fam, block, block_len));
    free(buf);
    return r;
}

/* 192.0.2.1:51234 -> 198.51.100.2:443 */
static const uint8_t inet_block[12] = {192, 0, 2, 1, 198, 51, 100, 2, 0xc8, 0x22, 0x01, 0xbb};

static void test_v2_tcp4_with_tlvs(void)
{
    uint8_t buf[256], block[64];
    size_t n = 0;

    memcpy(block, inet_block, 12);
    n = 12;
    /* PP2_TYPE_ALPN "h2", PP2_TYPE_AUTHORITY "example.org", PP2_TYPE_NOOP of length 0 */
    static const uint8_t tlvs[] = {0x01, 0x00, 0x02, 'h', '2', 0x02, 0x00, 0x0b, 'e',  'x',  'a',
                                   'm',  'p',  'l',  'e', '.', 'o',  'r',  'g',  0x04, 0x00, 0x00};
    memcpy(block + n, tlvs, sizeof(tlvs));
    n += sizeof(tlvs);
    size_t len = v2(buf, 0x21, 0x11, block, n);

    CHECK_INT(parse_n(buf, len), (ssize_t)len);
    CHECK_INT(hdr.version, 2);
    CHECK_STR(source(), "192.0.2.1 port 51234");
    check_prefixes_need_more(buf, len);

    /* The HTTP request after the header is left alone. */
    memcpy(buf + len, "GET / HTTP/1.1\r\n\r\n", 18);
    CHECK_INT(parse_n(buf, len + 18), (ssize_t)len);
    CHECK_STR(source(), "192.0.2.1 port 51234");

    /* Without TLVs, as haproxy's send-proxy-v2 writes it. */
    len = v2(buf, 0x21, 0x11, inet_block, 12);
    CHECK_INT(len, 28);
    CHECK_INT(parse_n(buf, len), 28);
    CHECK_STR(source(), "192.0.2.1 port 51234");
}

static void test_v2_tcp6(void)
{
    /* 2001:db8::7 port 4444 -> 2001:db8::1 port 80 */
    static const uint8_t block[36] = {
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, /* source */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* destination */
        0x11, 0x5c, 0x00, 0x50,                                        /* ports */
    };
    uint8_t buf[128];
    size_t len = v2(buf, 0x21, 0x21, block, 36);

    CHECK_INT(parse_n(buf, len), 52);
    CHECK_INT(hdr.source.family, AF_INET6);
    CHECK_STR(source(), "2001:db8::7 port 4444");
    check_prefixes_need_more(buf, len);

    /* A v4-mapped source is the IPv4 client. */
    uint8_t mapped[36] = {[10] = 0xff, [11] = 0xff, [12] = 203, [13] = 0, [14] = 113, [15] = 9, [33] = 80};
    len = v2(buf, 0x21, 0x21, mapped, 36);
    CHECK_INT(parse_n(buf, len), 52);
    CHECK_INT(hdr.source.family, AF_INET);
    CHECK_STR(source(), "203.0.113.9 port 80");

    /* UDP over IPv6 still names the client. */
    len = v2(buf, 0x21, 0x22, block, 36);
    CHECK_INT(parse_n(buf, len), 52);
    CHECK_STR(source(), "2001:db8::7 port 4444");

    /* UDP over IPv4 too. */
    len = v2(buf, 0x21, 0x12, inet_block, 12);
    CHECK_INT(parse_n(buf, len), 28);
    CHECK_STR(source(), "192.0.2.1 port 51234");
}

static void test_v2_without_source(void)
{
    uint8_t buf[512], unix_block[220] = "/run/lb.sock";

    /* LOCAL (haproxy's health checks): the real peer, whatever the block holds. */
    CHECK_INT(parse_v2(0x20, 0x00, NULL, 0), 16);
    CHECK_INT(hdr.version, 2);
    CHECK_STR(source(), "peer");
    CHECK_INT(parse_v2(0x20, 0x11, inet_block, 12), 28);
    CHECK_STR(source(), "peer");
    /* With LOCAL the family byte is to be ignored, unknown values included. */
    CHECK_INT(parse_v2(0x20, 0xff, "\x01\x02\x03", 3), 19);
    CHECK_STR(source(), "peer");

    /* PROXY with UNSPEC: the real peer; the block has no defined layout and is skipped. */
    CHECK_INT(parse_v2(0x21, 0x00, NULL, 0), 16);
    CHECK_STR(source(), "peer");
    CHECK_INT(parse_v2(0x21, 0x00, "\xff\xff\xff\xff\xff", 5), 21);
    CHECK_STR(source(), "peer");

    /* PROXY with UNIX (stream or datagram): two 108-byte paths, then TLVs. */
    CHECK_INT(parse_v2(0x21, 0x31, unix_block, 216), 232);
    CHECK_STR(source(), "peer");
    check_prefixes_need_more(buf, v2(buf, 0x21, 0x31, unix_block, 216));
    memcpy(unix_block + 216, "\x04\x00\x01x", 4);
    CHECK_INT(parse_v2(0x21, 0x32, unix_block, 220), 236);
    CHECK_STR(source(), "peer");
    CHECK_INT(parse_v2(0x21, 0x31, unix_block, 215), -EBADMSG); /* paths truncated */
}

static void test_v2_rejects(void)
{
    static const uint8_t zeros[64];
    uint8_t block[64];

    /* Version nibble other than 2. */
    CHECK_INT(parse_v2(0x11, 0x11, inet_block, 12), -EBADMSG);
    CHECK_INT(parse_v2(0x31, 0x11, inet_block, 12), -EBADMSG);
    CHECK_INT(parse_v2(0x01, 0x11, inet_block, 12), -EBADMSG);

    /* Commands other than LOCAL and PROXY. */
    CHECK_INT(parse_v2(0x22, 0x11, inet_block, 12), -EBADMSG);
    CHECK_INT(parse_v2(0x2f, 0x11, inet_block, 12), -EBADMSG);

    /* Family and transport values the specification does not define. */
    static const uint8_t bad_fam[] = {0x41, 0x51, 0xf1, 0x13, 0x1f, 0x10, 0x20, 0x30, 0x01, 0x02, 0x33, 0xff};
    for (size_t i = 0; i < sizeof(bad_fam); i++)
        CHECK_INT(parse_v2(0x21, bad_fam[i], zeros, 36), -EBADMSG);

    /* Address blocks too short for their family. */
    CHECK_INT(parse_v2(0x21, 0x11, inet_block, 11), -EBADMSG);
    CHECK_INT(parse_v2(0x21, 0x11, NULL, 0), -EBADMSG);
    CHECK_INT(parse_v2(0x21, 0x21, zeros, 35), -EBADMSG);
    CHECK_INT(parse_v2(0x21, 0x21, zeros, 12), -EBADMSG); /* an IPv4-sized block under AF_INET6 */

    /* TLVs that do not fit the block. */
    memcpy(block, inet_block, 12);
    memcpy(block + 12, "\x02\x00\x0ahello", 8); /* says 10 bytes, has 5 */
    CHECK_INT(parse_v2(0x21, 0x11, block, 20), -EBADMSG);
    CHECK(!hdr.has_source);            /* nothing half-filled is left behind */
    memcpy(block + 12, "\x04\x00", 2); /* a TLV header cut short */
    CHECK_INT(parse_v2(0x21, 0x11, block, 14), -EBADMSG);
    memcpy(block + 12, "\x04\x00\x00\x04", 4); /* a good TLV, then one stray byte */
    CHECK_INT(parse_v2(0x21, 0x11, block, 16), -EBADMSG);
    memcpy(block + 12, "\x04\xff\xff", 3); /* 65535 announced, none present */
    CHECK_INT(parse_v2(0x21, 0x11, block, 15), -EBADMSG);
}

/* Bad fixed fields are rejected before the rest of the header arrives. */
static void test_v2_early_rejection(void)
{
    uint8_t buf[64];
    v2(buf, 0x11, 0x11, inet_block, 12);
    CHECK_INT(parse_n(buf, 13), -EBADMSG); /* version */
    v2(buf, 0x23, 0x11, inet_block, 12);
    CHECK_INT(parse_n(buf, 13), -EBADMSG); /* command */
    v2(buf, 0x21, 0x41, inet_block, 12);
    CHECK_INT(parse_n(buf, 13), 0);
    CHECK_INT(parse_n(buf, 14), -EBADMSG); /* family */
    v2(buf, 0x21, 0x11, inet_block, 12);
    CHECK_INT(parse_n(buf, 14), 0);
    CHECK_INT(parse_n(buf, 16), 0);
    CHECK_INT(parse_n(buf, 27), 0);
}

/* The largest header the length field allows is awaited and accepted when complete. */
static void test_v2_maximum_length(void)
{
    size_t total = PROXY_V2_MAX;
    uint8_t *buf = malloc(total + 10);
    uint8_t *block = calloc(1, 65535);

    CHECK_INT(total, 16 + 65535);

    /* TCP4, then one TLV that fills the rest: 12 + 3 + 65520 = 65535. */
    memcpy(block, inet_block, 12);
    block[12] = 0x04;
    block[13] = (uint8_t)(65520 >> 8);
    block[14] = (uint8_t)(65520 & 0xff);
    CHECK_INT(v2(buf, 0x21, 0x11, block, 65535), total);
    CHECK_INT(parse_n(buf, total), (ssize_t)total);
    CHECK_STR(source(), "192.0.2.1 port 51234");
    CHECK_INT(parse_n(buf, total - 1), 0);
    CHECK_INT(parse_n(buf, 16), 0);
    memcpy(buf + total, "GET / HTTP", 10);
    CHECK_INT(parse_n(buf, total + 10), (ssize_t)total);

    /* Same length, but a TLV that overruns by one byte. */
    block[14] = (uint8_t)(65521 & 0xff);
    v2(buf, 0x21, 0x11, block, 65535);
    CHECK_INT(parse_n(buf, total), -EBADMSG);

    /* LOCAL with 65535 opaque bytes. */
    memset(block, 0xee, 65535);
    v2(buf, 0x20, 0x00, block, 65535);
    CHECK_INT(parse_n(buf, total), (ssize_t)total);
    CHECK_STR(source(), "peer");

    free(block);
    free(buf);
}

static void test_out_is_cleared(void)
{
    hdr = (struct proxy_header){.version = 7, .has_source = true, .source_port = 9};
    CHECK_INT(parse("PROXY TCP4 1.2."), 0);
    CHECK_INT(hdr.version, 0);
    CHECK(!hdr.has_source);
    CHECK_INT(hdr.source_port, 0);
    CHECK_INT(hdr.source.family, AF_UNSPEC);
}

int main(void)
{
    test_v1_valid();
    test_v1_unknown_keeps_peer();
    test_v1_followed_by_request();
    test_v1_split_input();
    test_v1_length_bound();
    test_v1_rejects();
    test_early_rejection();
    test_v2_tcp4_with_tlvs();
    test_v2_tcp6();
    test_v2_without_source();
    test_v2_rejects();
    test_v2_early_rejection();
    test_v2_maximum_length();
    test_out_is_cleared();
    return check_report(__FILE__);
}
