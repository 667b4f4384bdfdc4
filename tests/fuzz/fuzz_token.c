/* token_check on arbitrary bytes: no crash, no read outside the input, and its answer agrees
 * with a second look: a token it accepts in MAS's own format re-checks with the same kind
 * and carries the CRC that token_crc computes. */
#include "token.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly `size` bytes, so ASan flags any read past the end. */
    char *s = malloc(size ? size : 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    enum token_kind kind;
    int r = token_check(s, size, &kind);
    if (r == 0 && size == TOKEN_LEN && memcmp(s, "syt_", 4) != 0 && memcmp(s, "syr_", 4) != 0 &&
        !token_is_synapse_macaroon(s, size)) {
        char crc[7];
        token_crc(s, 34, crc);
        if (memcmp(crc, s + 35, 6) != 0 || memcmp(s, token_kind_prefix(kind), 3) != 0)
            abort();
    }
    (void)token_is_synapse_macaroon(s, size);
    free(s);
    return 0;
}
