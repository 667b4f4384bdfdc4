/* The client IP of a request, per docs/architecture.md §3. */
#pragma once
#include "addr.h"

struct client_ip_input {
    const struct masd_addr *proxy_source; /* from a PROXY header, or NULL */
    const struct masd_addr *peer;         /* socket peer (AF_UNIX for UNIX sockets) */
    /* X-Forwarded-For header values, in order; a caller that bounds how many it passes keeps
     * the last ones (the nearest hops), never the first. */
    const masd_str *xff;
    size_t n_xff;
    const struct masd_cidr *trusted;
    size_t n_trusted;
};

/* The walk examines at most this many X-Forwarded-For entries, then stops as at an unparsable
 * entry. Real chains are a few hops; the walk stops at the first untrusted entry anyway. */
#define CLIENT_IP_MAX_HOPS 64

/* Resolves the client address into *out. Returns 1 when an address was found, 0 when none is
 * known (UNIX-socket peer without a usable X-Forwarded-For); then out->family is AF_UNSPEC. */
int client_ip_resolve(const struct client_ip_input *in, struct masd_addr *out);
