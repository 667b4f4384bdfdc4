/* The renderer on arbitrary render data: the input is read as JSON (jansson checks it is valid
 * UTF-8) and rendered through the test page of tests/data/templates/ into a bounded buffer.
 * No crash, no leak, the ceiling holds, and the output is valid UTF-8. */
#include "fuzz_input.h"
#include "template.h"
#include "test_templates.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc)
        return 0;
    for (const struct template *t = test_templates; t->name; t++) {
        struct html_buf b;
        html_buf_init(&b, 32 * 1024);
        int r = template_render(t, doc, &b);
        fuzz_require(r == 0 || r == -E2BIG || r == -ELOOP);
        fuzz_require(b.len <= 32 * 1024);
        html_buf_free(&b);
    }
    json_decref(doc);
    return 0;
}
