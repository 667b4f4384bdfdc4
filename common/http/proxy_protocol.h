/* A strict, bounded PROXY protocol v1 + v2 parser (no I/O). */
#pragma once
#include "addr.h"
#include <stdint.h>
#include <sys/types.h>

#define PROXY_V1_MAX      107u
#define PROXY_V2_MAX      (16u + 65535u)
#define PROXY_DEADLINE_MS 5000

struct proxy_header {
    int version;             /* 1 or 2 */
    bool has_source;         /* false: LOCAL, UNKNOWN, UNSPEC, UNIX: keep the socket peer */
    struct masd_addr source; /* valid iff has_source */
    uint16_t source_port;
};

/* Parses the PROXY header at the start of buf[0..len).
 * Returns the header length (> 0) when complete, 0 when more bytes are needed (len is below the
 * bound of the version seen so far), or -EBADMSG when the input cannot be a valid header. */
ssize_t proxy_protocol_parse(const uint8_t *buf, size_t len, struct proxy_header *out);
