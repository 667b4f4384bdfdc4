/* The GraphQL API's parsers of outside input (services/human/gql_model.c) on arbitrary bytes,
 * each on an exact-size heap copy: the first byte picks node ID, cursor or DateTime (and, for a
 * cursor, the types it accepts). No crash, no read outside the input; an accepted ID is written
 * back byte for byte; an accepted cursor's type is one it accepts, and its canonical form
 * parses to the same; an accepted DateTime after 1970 is written and read back to the same ms. */
#include "fuzz_input.h"
#include "gql_model.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned pick = data[0];
    char *in = fuzz_copy((masd_str){(const char *)data + 1, size - 1});
    size_t len = size - 1;
    char ulid[ULID_LEN + 1] = {0};
    enum gql_node_type t = GQL_NODE_COUNT;
    switch (pick % 3) {
    case 0: {
        int r = gql_id_parse(in, len, &t, ulid);
        fuzz_require(r == 0 || r == -EINVAL);
        if (r == 0) {
            char back[GQL_ID_MAX] = {0};
            fuzz_require(t < GQL_NODE_COUNT && strlen(ulid) == ULID_LEN);
            gql_id_format(t, ulid, back);
            fuzz_require(strlen(back) == len && memcmp(back, in, len) == 0);
        }
        break;
    }
    case 1: {
        unsigned accepted = (pick / 3) * 0x1111u & ((1u << GQL_NODE_COUNT) - 1);
        int r = gql_cursor_parse(in, len, accepted, &t, ulid);
        fuzz_require(r == 0 || r == -EINVAL);
        if (r == 0) {
            fuzz_require(t < GQL_NODE_COUNT && (accepted & GQL_NODE_BIT(t)) && strlen(ulid) == ULID_LEN);
            char *c = gql_cursor_format(t, ulid), again[ULID_LEN + 1] = {0};
            enum gql_node_type t2 = GQL_NODE_COUNT;
            fuzz_require(c && gql_cursor_parse(c, strlen(c), accepted, &t2, again) == 0);
            fuzz_require(t2 == t && strcmp(again, ulid) == 0);
            free(c);
        }
        break;
    }
    default: {
        int64_t ms = 0;
        int r = gql_datetime_parse(in, len, &ms);
        fuzz_require(r == 0 || r == -EINVAL);
        if (r == 0 && ms > 0 && ms < 253402300800000) { /* 1970 to 9999 */
            json_t *v = gql_datetime(ms);
            int64_t back = -1;
            fuzz_require(json_is_string(v));
            fuzz_require(gql_datetime_parse(json_string_value(v), json_string_length(v), &back) == 0 &&
                         back == ms);
            json_decref(v);
        }
        break;
    }
    }
    free(in);
    return 0;
}
