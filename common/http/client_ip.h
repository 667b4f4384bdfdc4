/* The client IP of a request, per docs/architecture.md §3. */
#pragma once
#include "addr.h"

struct client_ip_input {
    const struct masd_addr *proxy_source; /* from a PROXY header, or NULL */
    const struct masd_addr *peer;         /* socket peer (AF_UNIX for UNIX sockets) */
    const masd_str *xff;                  /* X-Forwarded-For header values, in order */
    size_t n_xff;
    const struct masd_cidr *trusted;
    size_t n_trusted;
};

/* Resolves the client address into *out. Returns 1 when an address was found, 0 when none is
 * known (UNIX-socket peer without a usable X-Forwarded-For); then out->family is AF_UNSPEC. */
int client_ip_resolve(const struct client_ip_input *in, struct masd_addr *out);
