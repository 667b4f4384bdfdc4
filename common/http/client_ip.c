/* The client IP of a request (docs/architecture.md §3).
 *
 * Exact semantics, in order:
 *
 *  1. A PROXY header source (AF_INET/AF_INET6) is the client, full stop: the load balancer saw
 *     the TCP connection, and X-Forwarded-For is not consulted.
 *  2. Otherwise start from the socket peer. Unless the peer is a trusted proxy (inside a
 *     `trusted` CIDR, or any AF_UNIX peer: only local processes reach a UNIX socket), the peer
 *     is the client and X-Forwarded-For is ignored: anyone can write that header, so it is
 *     believed only from a proxy we trust (unlike MAS, which reads it from anyone).
 *  3. From a trusted peer, walk X-Forwarded-For from the right. The header values are joined
 *     in order as one comma list (RFC 9110 §5.3), split on ',', and each entry is trimmed of
 *     spaces and tabs. Each entry must be a bare IP literal (addr_parse(): no port, no
 *     brackets, no zone); ::ffff:a.b.c.d counts as a.b.c.d.
 *       - The first entry, from the right, that is not trusted is the client ("rightmost
 *         untrusted"): whatever a client prepends to the header ("evil, real-client") sits to
 *         the left of what our proxies appended, so it is never reached.
 *       - A trusted entry is a hop of our own proxies: keep walking.
 *       - An unparsable entry (garbage, "1.2.3.4:80", "[::1]", an empty entry from ", ," or an
 *         empty header value) stops the walk: everything to its left was written by someone
 *         we cannot identify. The result is then the last address examined that parsed (a
 *         trusted proxy), i.e. the right neighbour of the bad entry; if the bad entry is the
 *         rightmost one, that is the peer for an IP peer and nothing for a UNIX peer.
 *  4. When every entry is trusted the walk ends at the left end and the result is the leftmost
 *     entry; with no X-Forwarded-For at all it is the peer.
 *     The work is bounded, not the correctness: the walk starts at the last header value (a
 *     caller that bounds how many values it passes keeps the last ones, the nearest hops) and
 *     examines at most CLIENT_IP_MAX_HOPS entries. Reaching either bound ends the walk as the
 *     left end does: the result is the last trusted hop examined, never an entry further left
 *     that no trusted proxy vouched for.
 *  5. No address at all (a UNIX peer, or an unknown AF_UNSPEC peer, without a usable entry):
 *     return 0 with out->family = AF_UNSPEC; the caller rate-limits such requests in one
 *     shared bucket and warns.
 */
#include "client_ip.h"

#include <string.h>

static bool is_ip(const struct masd_addr *a)
{
    return a->family == AF_INET || a->family == AF_INET6;
}

/* Walks the entries of all X-Forwarded-For values, from the last entry of the last value to the
 * first entry of the first value, as if the values had been joined with commas. */
struct xff_walk {
    const masd_str *values;
    size_t next;   /* values[next - 1] is the value to enter once `rest` is exhausted */
    masd_str rest; /* the not yet visited left part of the current value */
    bool in_value; /* rest still holds at least one (possibly empty) entry */
};

static bool xff_prev(struct xff_walk *w, masd_str *entry)
{
    if (!w->in_value) {
        if (w->next == 0)
            return false;
        w->rest = w->values[--w->next];
        w->in_value = true;
    }

    const char *comma = w->rest.len ? memrchr(w->rest.ptr, ',', w->rest.len) : NULL;
    if (comma) {
        size_t left = (size_t)(comma - w->rest.ptr);
        *entry = (masd_str){comma + 1, w->rest.len - left - 1};
        w->rest.len = left;
    } else {
        *entry = w->rest;
        w->in_value = false;
    }
    *entry = masd_str_trim(*entry);
    return true;
}

int client_ip_resolve(const struct client_ip_input *in, struct masd_addr *out)
{
    struct masd_addr result = {.family = AF_UNSPEC};

    if (in->proxy_source && is_ip(in->proxy_source)) {
        *out = *in->proxy_source;
        return 1;
    }

    bool peer_trusted = false;
    if (in->peer && is_ip(in->peer)) {
        result = *in->peer;
        /* Without a header there is nothing to believe or not: the peer (most requests). */
        peer_trusted = in->n_xff > 0 && cidr_list_contains(in->trusted, in->n_trusted, in->peer);
    } else if (in->peer && in->peer->family == AF_UNIX) {
        peer_trusted = true;
    }

    if (peer_trusted) {
        struct xff_walk w = {.values = in->xff, .next = in->xff ? in->n_xff : 0};
        masd_str entry;
        struct masd_addr a;

        for (size_t hops = 0; hops < CLIENT_IP_MAX_HOPS && xff_prev(&w, &entry); hops++) {
            if (addr_parse(entry, &a) < 0)
                break;
            result = a;
            if (!cidr_list_contains(in->trusted, in->n_trusted, &a))
                break;
        }
    }

    *out = result;
    return is_ip(&result) ? 1 : 0;
}
