/* Fuzzes address and CIDR parsing and the client-IP resolution. Input lines ('\n'):
 *   1. the peer: an IP literal, "unix", or anything else for an unknown peer
 *   2. trusted CIDRs separated by spaces
 *   3. the PROXY source (empty: none)
 *   4.. X-Forwarded-For values
 * Also feeds the raw input to addr_from_sockaddr(). Checks round trips and the §3 invariants. */
#include "client_ip.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than assert(): an invariant must hold in every build type. */
static void require(bool ok)
{
    if (!ok)
        abort();
}

#define MAX_TRUSTED 16
#define MAX_XFF     16

static bool is_ip(const struct masd_addr *a)
{
    return a->family == AF_INET || a->family == AF_INET6;
}

static bool same_addr(const struct masd_addr *a, const struct masd_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* A parsed address formats to a literal that parses back to itself. */
static void check_addr_round_trip(const struct masd_addr *a)
{
    char buf[MASD_ADDR_STRLEN];
    struct masd_addr back;

    require(is_ip(a));
    require(addr_parse(masd_str_from(addr_format(a, buf)), &back) == 0 && same_addr(a, &back));
}

static int parse_addr_checked(masd_str s, struct masd_addr *a)
{
    int r = addr_parse(s, a);
    if (r == 0)
        check_addr_round_trip(a);
    return r;
}

static size_t parse_trusted(masd_str line, struct masd_cidr *out)
{
    masd_str part;
    size_t n = 0;

    while (n < MAX_TRUSTED && masd_str_next(&line, ' ', &part)) {
        if (cidr_parse(part, &out[n]) < 0)
            continue;
        struct masd_addr network = {.family = out[n].family};
        memcpy(network.bytes, out[n].bytes, 16);
        require(out[n].prefix <= (out[n].family == AF_INET ? 32u : 128u));
        require(cidr_contains(&out[n], &network));
        n++;
    }
    return n;
}

static void check_sockaddr(const uint8_t *data, size_t size)
{
    struct sockaddr_storage ss;
    struct masd_addr a;
    size_t len = size < sizeof(ss) ? size : sizeof(ss);

    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, data, len);
    if (addr_from_sockaddr((struct sockaddr *)&ss, (socklen_t)len, &a) == 0 && a.family != AF_UNIX)
        check_addr_round_trip(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    masd_str rest = {(const char *)data, size}, line, xff[MAX_XFF];
    struct masd_cidr trusted[MAX_TRUSTED];
    struct masd_addr peer = {.family = AF_UNSPEC}, proxy, out;
    size_t n_trusted = 0, n_xff = 0;
    bool has_proxy = false;

    check_sockaddr(data, size);

    if (masd_str_next(&rest, '\n', &line) && parse_addr_checked(line, &peer) < 0)
        peer.family = masd_str_eq(line, MASD_STR("unix")) ? AF_UNIX : AF_UNSPEC;
    if (masd_str_next(&rest, '\n', &line))
        n_trusted = parse_trusted(line, trusted);
    if (masd_str_next(&rest, '\n', &line))
        has_proxy = parse_addr_checked(line, &proxy) == 0;
    while (n_xff < MAX_XFF && masd_str_next(&rest, '\n', &line))
        xff[n_xff++] = line;

    struct client_ip_input in = {
        .proxy_source = has_proxy ? &proxy : NULL,
        .peer = &peer,
        .xff = xff,
        .n_xff = n_xff,
        .trusted = trusted,
        .n_trusted = n_trusted,
    };
    int r = client_ip_resolve(&in, &out);

    require(r == 0 || r == 1);
    require(r == (is_ip(&out) ? 1 : 0));
    if (r == 0)
        require(out.family == AF_UNSPEC);
    else
        check_addr_round_trip(&out);
    if (has_proxy)
        require(r == 1 && same_addr(&out, &proxy));
    else if (is_ip(&peer) && !cidr_list_contains(trusted, n_trusted, &peer))
        require(r == 1 && same_addr(&out, &peer)); /* an untrusted peer's header is ignored */
    else if (peer.family == AF_UNSPEC)
        require(r == 0);
    else if (n_xff == 0) /* a trusted or UNIX peer without a header: the peer, if it has an address */
        require(is_ip(&peer) ? same_addr(&out, &peer) : r == 0);
    return 0;
}
