/* A strict, bounded PROXY protocol parser (haproxy's proxy-protocol.txt, v1 and v2).
 *
 * Strict because the header decides the client address: anything that is not exactly the
 * protocol is rejected, and the caller closes the connection without a response. Bounded
 * because the caller buffers until we answer: we ask for more bytes only while what we have is
 * still a prefix of some valid header shorter than the version's maximum (v1 107 bytes, v2
 * 16 + 65535), so a peer can never make us wait for, or buffer, more than that.
 *
 * Choices where the specification leaves room:
 *  - v1: the protocol token is case-sensitive ("tcp4" is rejected) and only TCP4, TCP6 and
 *    UNKNOWN exist (the v1 text defines no UDP). TCP4 needs dotted-quad addresses (glibc
 *    inet_pton: four decimal parts, no leading zeros), TCP6 needs IPv6 literals (which may be
 *    v4-mapped; the source is then canonicalised to AF_INET). Ports are 1 to 5 decimal digits,
 *    at most 65535, and, as the specification requires ("heading zeroes are not permitted ...
 *    to avoid any possible confusion with octal numbers"), without leading zeros: "0" is a
 *    valid port, "080" is not. Exactly one space between the six fields.
 *  - v1 UNKNOWN: "PROXY UNKNOWN\r\n" or "PROXY UNKNOWN <anything>\r\n"; the rest is ignored
 *    as the specification says, but the whole line must still be printable ASCII, as must any
 *    v1 line (a control byte or a bare CR/LF cannot be part of a valid header, so it is
 *    rejected as soon as it is seen).
 *  - v2: the address family/transport byte must be one of the seven values the specification
 *    defines (0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32); "other values ... must be rejected
 *    as invalid by receivers". It is checked for the PROXY command only: with LOCAL the
 *    specification has the receiver discard the whole block, family included.
 *  - v2 with a known address layout (INET 12 bytes, INET6 36, UNIX 216): the block must hold
 *    the addresses, and the rest must be a well-formed TLV sequence (type, 16-bit length,
 *    value), whose content is skipped. With LOCAL or UNSPEC the block is opaque and skipped
 *    without being examined, since no layout is defined for it.
 *  - v2 UDP (0x12, 0x22) gives a source like TCP; UNIX and UNSPEC keep the socket peer.
 */
#include "proxy_protocol.h"

#include <errno.h>
#include <string.h>

#define V1_MAGIC     "PROXY "
#define V1_MAGIC_LEN (sizeof(V1_MAGIC) - 1)

static const uint8_t v2_signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};

enum {
    V2_HEADER_LEN = 16,
    V2_CMD_LOCAL = 0x0,
    V2_CMD_PROXY = 0x1,
    V2_ADDR_INET_LEN = 12,  /* src, dst, sport, dport */
    V2_ADDR_INET6_LEN = 36, /* likewise */
    V2_ADDR_UNIX_LEN = 216, /* two sun_path[108] */
    V2_TLV_HEADER_LEN = 3,  /* type, 16-bit length */
};

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* ---- v1 ---------------------------------------------------------------------------------- */

static int v1_parse_port(masd_str f, uint16_t *out)
{
    unsigned v = 0;

    if (f.len == 0 || f.len > 5 || (f.len > 1 && f.ptr[0] == '0'))
        return -EBADMSG;
    for (size_t i = 0; i < f.len; i++) {
        if (f.ptr[i] < '0' || f.ptr[i] > '9')
            return -EBADMSG;
        v = v * 10 + (unsigned)(f.ptr[i] - '0');
    }
    if (v > 65535)
        return -EBADMSG;
    *out = (uint16_t)v;
    return 0;
}

/* The address must be a literal of the family the protocol token announced. addr_parse()
 * picks its parser by the presence of ':', so checking for ':' enforces the family. */
static int v1_parse_addr(masd_str f, bool v6, struct masd_addr *out)
{
    bool has_colon = f.len > 0 && memchr(f.ptr, ':', f.len) != NULL;

    if (has_colon != v6 || addr_parse(f, out) < 0)
        return -EBADMSG;
    return 0;
}

/* Parses the line between "PROXY " and the CRLF. */
static int v1_parse_line(masd_str line, struct proxy_header *out)
{
    masd_str rest = line, f[5];
    size_t n;
    struct masd_addr dst;
    uint16_t dport;
    bool v6;

    masd_str_next(&rest, ' ', &f[0]);
    if (masd_str_eq(f[0], MASD_STR("UNKNOWN"))) {
        out->has_source = false;
        return 0;
    }
    if (masd_str_eq(f[0], MASD_STR("TCP4")))
        v6 = false;
    else if (masd_str_eq(f[0], MASD_STR("TCP6")))
        v6 = true;
    else
        return -EBADMSG;

    for (n = 1; n < 5 && masd_str_next(&rest, ' ', &f[n]); n++)
        ;
    if (n != 5 || rest.ptr != NULL)
        return -EBADMSG; /* too few fields, or a sixth one (even an empty one) */

    if (v1_parse_addr(f[1], v6, &out->source) < 0 || v1_parse_addr(f[2], v6, &dst) < 0 ||
        v1_parse_port(f[3], &out->source_port) < 0 || v1_parse_port(f[4], &dport) < 0)
        return -EBADMSG;
    out->has_source = true;
    return 0;
}

static ssize_t v1_parse(const uint8_t *buf, size_t len, struct proxy_header *out)
{
    size_t scan = min_size(len, PROXY_V1_MAX);

    if (memcmp(buf, V1_MAGIC, min_size(len, V1_MAGIC_LEN)) != 0)
        return -EBADMSG;

    for (size_t i = V1_MAGIC_LEN; i < scan; i++) {
        if (buf[i] == '\r') {
            if (i + 1 >= PROXY_V1_MAX)
                return -EBADMSG; /* the LF would be byte 108 */
            if (i + 1 == len)
                return 0;
            if (buf[i + 1] != '\n')
                return -EBADMSG;
            masd_str line = {(const char *)buf + V1_MAGIC_LEN, i - V1_MAGIC_LEN};
            if (v1_parse_line(line, out) < 0)
                return -EBADMSG;
            out->version = 1;
            return (ssize_t)(i + 2);
        }
        if (buf[i] < 0x20 || buf[i] > 0x7e)
            return -EBADMSG;
    }
    return len >= PROXY_V1_MAX ? -EBADMSG : 0;
}

/* ---- v2 ---------------------------------------------------------------------------------- */

static bool v2_family_valid(uint8_t fam)
{
    switch (fam) {
    case 0x00:
    case 0x11:
    case 0x12:
    case 0x21:
    case 0x22:
    case 0x31:
    case 0x32:
        return true;
    default:
        return false;
    }
}

/* Checks the version/command and family bytes as soon as they arrive, so a bad header is
 * rejected without waiting for the rest of it. */
static int v2_check_fixed(const uint8_t *buf, size_t len)
{
    if (len > 12 && ((buf[12] >> 4) != 2 || (buf[12] & 0x0f) > V2_CMD_PROXY))
        return -EBADMSG;
    if (len > 13 && (buf[12] & 0x0f) == V2_CMD_PROXY && !v2_family_valid(buf[13]))
        return -EBADMSG;
    return 0;
}

/* TLVs are skipped, but each must lie wholly inside the block: a sender that gets the
 * structure wrong is not one whose addresses we should believe. */
static int v2_check_tlvs(const uint8_t *p, size_t len)
{
    size_t off = 0;

    while (off < len) {
        if (len - off < V2_TLV_HEADER_LEN)
            return -EBADMSG;
        size_t vlen = be16(p + off + 1);
        if (vlen > len - off - V2_TLV_HEADER_LEN)
            return -EBADMSG;
        off += V2_TLV_HEADER_LEN + vlen;
    }
    return 0;
}

/* Interprets the block after the 16-byte header for the PROXY command (the family byte has
 * been validated by v2_check_fixed()). Both addresses come first, then for INET and INET6 both
 * ports, then TLVs. */
static int v2_parse_block(uint8_t fam, const uint8_t *p, size_t len, struct proxy_header *out)
{
    size_t addr_len;
    int family = AF_UNSPEC;

    switch (fam >> 4) {
    case 0x1:
        addr_len = V2_ADDR_INET_LEN;
        family = AF_INET;
        break;
    case 0x2:
        addr_len = V2_ADDR_INET6_LEN;
        family = AF_INET6;
        break;
    case 0x3:
        addr_len = V2_ADDR_UNIX_LEN;
        break;
    default:
        return 0; /* UNSPEC: no layout defined, opaque */
    }
    if (len < addr_len)
        return -EBADMSG;
    if (family != AF_UNSPEC) {
        addr_from_bytes(family, p, &out->source);
        out->source_port = (uint16_t)be16(p + addr_len - 4);
        out->has_source = true;
    }
    return v2_check_tlvs(p + addr_len, len - addr_len);
}

static ssize_t v2_parse(const uint8_t *buf, size_t len, struct proxy_header *out)
{
    if (memcmp(buf, v2_signature, min_size(len, sizeof(v2_signature))) != 0)
        return -EBADMSG;
    if (v2_check_fixed(buf, len) < 0)
        return -EBADMSG;
    if (len < V2_HEADER_LEN)
        return 0;

    size_t block = be16(buf + 14), total = V2_HEADER_LEN + block;
    if (len < total)
        return 0;

    if ((buf[12] & 0x0f) == V2_CMD_PROXY && v2_parse_block(buf[13], buf + V2_HEADER_LEN, block, out) < 0) {
        *out = (struct proxy_header){0};
        return -EBADMSG;
    }
    out->version = 2;
    return (ssize_t)total;
}

ssize_t proxy_protocol_parse(const uint8_t *buf, size_t len, struct proxy_header *out)
{
    ssize_t r;

    *out = (struct proxy_header){0};
    if (len == 0)
        return 0;

    /* The first byte tells the versions apart: 'P' for v1, '\r' for v2. */
    if (buf[0] == 'P')
        r = v1_parse(buf, len, out);
    else if (buf[0] == '\r')
        r = v2_parse(buf, len, out);
    else
        r = -EBADMSG;

    if (r <= 0)
        *out = (struct proxy_header){0};
    return r;
}
