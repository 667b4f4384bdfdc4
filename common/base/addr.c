/* IP addresses and CIDR ranges: parsing, formatting and matching, with one canonical form
 * (IPv4-mapped IPv6 is IPv4) so that a trusted range written either way matches either way. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void addr_from_bytes(int family, const uint8_t *bytes, struct masd_addr *out)
{
    *out = (struct masd_addr){.family = family};
    if (family == AF_INET6 && memcmp(bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
        out->family = AF_INET;
        memcpy(out->bytes, bytes + 12, 4);
    } else if (family == AF_INET6) {
        memcpy(out->bytes, bytes, 16);
    } else if (family == AF_INET) {
        memcpy(out->bytes, bytes, 4);
    }
}

/* Parses a literal with inet_pton(), which is already strict: no whitespace, no zone, no
 * brackets, no port, and for IPv4 exactly four decimal parts without leading zeros (glibc).
 * The family is chosen by the presence of ':' so "::ffff:1.2.3.4" goes to the IPv6 parser.
 * *raw_family receives the family as written, before canonicalisation (cidr_parse needs it
 * to interpret the prefix length). */
static int parse_literal(masd_str s, struct masd_addr *out, int *raw_family)
{
    char buf[INET6_ADDRSTRLEN];
    uint8_t bytes[16];

    if (s.ptr == NULL || s.len == 0 || s.len >= sizeof(buf) || memchr(s.ptr, '\0', s.len))
        return -EINVAL;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';

    int family = memchr(buf, ':', s.len) ? AF_INET6 : AF_INET;
    if (inet_pton(family, buf, bytes) != 1)
        return -EINVAL;
    addr_from_bytes(family, bytes, out);
    if (raw_family)
        *raw_family = family;
    return 0;
}

int addr_parse(masd_str s, struct masd_addr *out)
{
    struct masd_addr a;
    int r = parse_literal(s, &a, NULL);
    if (r < 0)
        return r;
    *out = a;
    return 0;
}

int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct masd_addr *out)
{
    if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
        return -EINVAL;

    switch (sa->sa_family) {
    case AF_INET: {
        struct sockaddr_in sin;
        if (len < (socklen_t)sizeof(sin))
            return -EINVAL;
        memcpy(&sin, sa, sizeof(sin)); /* the caller's storage may not be aligned for it */
        addr_from_bytes(AF_INET, (const uint8_t *)&sin.sin_addr, out);
        return 0;
    }
    case AF_INET6: {
        /* A dual-stack socket bound to [::] reports IPv4 clients as ::ffff:a.b.c.d. */
        struct sockaddr_in6 sin6;
        if (len < (socklen_t)sizeof(sin6))
            return -EINVAL;
        memcpy(&sin6, sa, sizeof(sin6));
        addr_from_bytes(AF_INET6, (const uint8_t *)&sin6.sin6_addr, out);
        return 0;
    }
    case AF_UNIX:
        /* Clients of a UNIX socket are usually unnamed: only the family is meaningful. */
        *out = (struct masd_addr){.family = AF_UNIX};
        return 0;
    default:
        return -EAFNOSUPPORT;
    }
}

const char *addr_format(const struct masd_addr *a, char buf[MASD_ADDR_STRLEN])
{
    switch (a->family) {
    case AF_INET: { /* every request logs one: without inet_ntop's sprintf */
        char *p = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = a->bytes[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            *p++ = '.';
        }
        p[-1] = '\0';
        return buf;
    }
    case AF_INET6:
        if (inet_ntop(a->family, a->bytes, buf, MASD_ADDR_STRLEN))
            return buf;
        break;
    case AF_UNIX:
        snprintf(buf, MASD_ADDR_STRLEN, "unix");
        return buf;
    default:
        break;
    }
    snprintf(buf, MASD_ADDR_STRLEN, "-");
    return buf;
}

const char *addr_network(const struct masd_addr *a, unsigned v6_prefix, char buf[MASD_NETWORK_STRLEN])
{
    if (a->family == AF_INET)
        return addr_format(a, buf);
    if (a->family != AF_INET6)
        return NULL;
    struct masd_addr net = {AF_INET6, {0}};
    unsigned bits = v6_prefix > 128 ? 128 : v6_prefix;
    memcpy(net.bytes, a->bytes, bits / 8);
    if (bits % 8)
        net.bytes[bits / 8] = a->bytes[bits / 8] & (uint8_t)(0xff00 >> (bits % 8));
    addr_format(&net, buf);
    if (bits < 128) {
        size_t n = strlen(buf);
        snprintf(buf + n, MASD_NETWORK_STRLEN - n, "/%u", bits);
    }
    return buf;
}

/* Prefix lengths are plain decimal: digits only (no sign, no spaces), at most three of them;
 * leading zeros are harmless here (no octal reading is possible) and are accepted. */
static int parse_prefix(masd_str s, unsigned *out)
{
    unsigned v = 0;

    if (s.len == 0 || s.len > 3)
        return -EINVAL;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s.ptr[i] - '0');
    }
    *out = v;
    return 0;
}

static unsigned family_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

/* An IPv4-mapped network written in IPv6 form ("::ffff:10.0.0.0/104") is stored as the IPv4
 * network it denotes (10.0.0.0/8), since addresses are canonicalised the same way. A mapped
 * network with a prefix shorter than 96 would span more than IPv4 and is rejected. */
int cidr_parse(masd_str s, struct masd_cidr *out)
{
    masd_str addr_part = s, prefix_part = {NULL, 0};
    const char *slash = s.len ? memchr(s.ptr, '/', s.len) : NULL;
    struct masd_addr a;
    unsigned prefix;
    int raw_family, r;

    if (slash) {
        addr_part.len = (size_t)(slash - s.ptr);
        prefix_part = (masd_str){slash + 1, s.len - addr_part.len - 1};
    }
    r = parse_literal(addr_part, &a, &raw_family);
    if (r < 0)
        return r;

    if (slash) {
        r = parse_prefix(prefix_part, &prefix);
        if (r < 0)
            return r;
        if (prefix > family_bits(raw_family))
            return -EINVAL;
        if (raw_family == AF_INET6 && a.family == AF_INET) {
            if (prefix < 96)
                return -EINVAL;
            prefix -= 96;
        }
    } else {
        prefix = family_bits(a.family);
    }

    /* "127.0.0.1/8" means 127.0.0.0/8, as in MAS (ipnetwork compares under the mask): configs
     * written for MAS must load unchanged. */
    for (unsigned i = prefix; i < family_bits(a.family); i++)
        a.bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));

    *out = (struct masd_cidr){.family = a.family, .prefix = prefix};
    memcpy(out->bytes, a.bytes, sizeof(out->bytes));
    return 0;
}

bool cidr_contains(const struct masd_cidr *c, const struct masd_addr *a)
{
    if (a->family != c->family || (a->family != AF_INET && a->family != AF_INET6))
        return false;
    if (c->prefix > family_bits(c->family))
        return false; /* not from cidr_parse(); never read past bytes[] */

    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->bytes, a->bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (c->bytes[full] & mask) == (a->bytes[full] & mask);
}

bool cidr_list_contains(const struct masd_cidr *list, size_t n, const struct masd_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_contains(&list[i], a))
            return true;
    return false;
}
