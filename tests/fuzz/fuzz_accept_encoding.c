/* Fuzzes Accept-Encoding negotiation. Input: one byte of available encodings, then header
 * values separated by '\n'. Checks that the answer is one available encoding (or none), and
 * that it is consistent across subsets of the available encodings. */
#include "accept_encoding.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() rather than assert(): an invariant must hold in every build type. */
static void require(bool ok)
{
    if (!ok)
        abort();
}

#define ALL        (ENCODING_IDENTITY | ENCODING_GZIP | ENCODING_BR)
#define MAX_VALUES 16

static bool one_of(unsigned r, unsigned available)
{
    return r == 0 || ((r & (r - 1)) == 0 && (r & available) == r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    masd_str values[MAX_VALUES];
    size_t n = 0;

    if (size == 0) {
        require(accept_encoding_choose(NULL, 0, ALL) == ENCODING_IDENTITY);
        return 0;
    }
    unsigned available = data[0] & ALL;
    masd_str rest = {(const char *)data + 1, size - 1}, part;
    while (n < MAX_VALUES && masd_str_next(&rest, '\n', &part))
        values[n++] = part;

    unsigned r = accept_encoding_choose(values, n, available);
    unsigned r_all = accept_encoding_choose(values, n, ALL);
    require(one_of(r, available));
    require(one_of(r_all, ALL));
    /* Offering more never makes a request unanswerable, and when the overall favourite is on
     * offer it is also the choice among fewer encodings. */
    require(r == 0 || r_all != 0);
    if (r_all & available)
        require(r == r_all);
    return 0;
}
