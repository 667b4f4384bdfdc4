/* IP addresses and CIDR ranges, as used for trusted proxies and the client IP. */
#pragma once
#include "str.h"
#include <stdint.h>
#include <sys/socket.h>

/* family: AF_INET (bytes[0..3]), AF_INET6 (bytes[0..15]), AF_UNIX (a UNIX-socket peer, no
 * address), or AF_UNSPEC (no address known). IPv4-mapped IPv6 is always stored as AF_INET. */
struct masd_addr {
    int family;
    uint8_t bytes[16];
};

struct masd_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
    unsigned prefix; /* 0..32 or 0..128 */
};

#define MASD_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

/* Parses a bare IPv4 or IPv6 literal (no port, no brackets, no surrounding whitespace) and
 * canonicalises ::ffff:a.b.c.d to IPv4. Returns 0 or -EINVAL. */
int addr_parse(masd_str s, struct masd_addr *out);

/* Fills *out from raw network-order bytes (4 for AF_INET, 16 for AF_INET6), canonicalising
 * ::ffff:a.b.c.d to AF_INET: the one place that rule lives (the parsers and the PROXY v2 reader
 * all go through it). */
void addr_from_bytes(int family, const uint8_t *bytes, struct masd_addr *out);

/* Converts a socket address (AF_INET, AF_INET6, AF_UNIX) to a masd_addr. Returns 0,
 * -EAFNOSUPPORT for another family, or -EINVAL when len is too short for the family. */
int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct masd_addr *out);

/* Writes the textual form ("unix" for AF_UNIX, "-" for AF_UNSPEC) into buf. Returns buf. */
const char *addr_format(const struct masd_addr *a, char buf[MASD_ADDR_STRLEN]);

#define MASD_NETWORK_STRLEN (MASD_ADDR_STRLEN + 4)

/* The network a client is counted as in rate limits: an IPv4 address as it is, an IPv6 address
 * as its first v6_prefix bits ("2001:db8:1:2::/64"; the bare address when v6_prefix is 128).
 * Returns buf, or NULL when a has no IP address (AF_UNIX, AF_UNSPEC). */
const char *addr_network(const struct masd_addr *a, unsigned v6_prefix, char buf[MASD_NETWORK_STRLEN]);

/* Parses "a.b.c.d/n", "x::/n" or a bare address (full-length prefix). Host bits below the
 * prefix are cleared ("127.0.0.1/8" is 127.0.0.0/8), as MAS reads them. Returns 0 or -EINVAL. */
int cidr_parse(masd_str s, struct masd_cidr *out);

/* True iff a is an IP address inside c (an IPv4 address never matches an IPv6 range). */
bool cidr_contains(const struct masd_cidr *c, const struct masd_addr *a);

bool cidr_list_contains(const struct masd_cidr *list, size_t n, const struct masd_addr *a);
