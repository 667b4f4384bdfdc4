/* The post-auth action from arbitrary query text: no crash, and the path it leads to always stays
 * on our origin (starts with "/" and never with "//"), whatever the input. */
#include "action.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct action a;
    char out[2048], q[2048];
    action_parse((masd_str){(const char *)data, size}, &a);
    if (action_target(&a, "", "/", out, sizeof(out)) >= 0 && (out[0] != '/' || out[1] == '/'))
        abort();
    if (action_query(&a, q, sizeof(q)) >= 0) {
        struct action b;
        action_parse(masd_str_from(q), &b); /* what we write, we read back the same */
        if (b.kind != a.kind || strcmp(b.id, a.id) != 0 || strcmp(b.account_action, a.account_action) != 0 ||
            strcmp(b.device_id, a.device_id) != 0)
            abort();
    }
    return 0;
}
