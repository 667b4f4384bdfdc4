/* GraphQL over HTTP (common/graphql/http.c) on arbitrary requests, then the operation it
 * prepares, run over the account schema. Input: the method, query string, Content-Type and
 * Accept, each up to '\n' (an empty Content-Type or Accept: absent), then the body; each part
 * is read from an exact-size heap copy. */
#include "fuzz_input.h"
#include "graphql_account.h"
#include "graphql_http.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gql_schema *schema;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema)
        schema = account_schema();
    masd_str rest = {(const char *)data, size}, part[4] = {{NULL, 0}};
    for (int i = 0; i < 4; i++)
        if (!masd_str_next(&rest, '\n', &part[i]))
            part[i] = (masd_str){"", 0};
    if (!rest.ptr)
        rest = (masd_str){"", 0};
    char *copy[5];
    for (int i = 0; i < 4; i++)
        copy[i] = fuzz_copy(part[i]);
    copy[4] = fuzz_copy(rest);
    masd_str accept = {copy[3], part[3].len};
    gql_http_in in = {{copy[0], part[0].len}, {copy[1], part[1].len}, {copy[2], part[2].len}, &accept,
                      part[3].len ? 1 : 0,    {copy[4], rest.len}};
    gql_http_answer a;
    int r = gql_http_handle(schema, NULL, &in, &a);
    fuzz_require(r == 0 || r == -ENOMEM);
    if (r == 0) {
        int s = a.status;
        fuzz_require(s == 200 || s == 400 || s == 405 || s == 406 || s == 415);
        fuzz_require((a.body == NULL) != (a.prepared == NULL));
        fuzz_require(!a.prepared || s == 200);
        fuzz_require((s == 405) == (a.allow != NULL));
        fuzz_require(s != 200 || a.prepared || a.media == GQL_MEDIA_JSON);
        fuzz_require(!a.body || json_array_size(json_object_get(a.body, "errors")) > 0);
        fuzz_require(!a.body || !json_object_get(a.body, "data"));
        fuzz_require(!a.prepared || !masd_str_eq(in.method, MASD_STR("GET")) || a.operation == GQL_QUERY);
        if (a.prepared) {
            account_data d = {.emails = 2, .app_sessions = 7};
            json_decref(gql_run(a.prepared, &d));
        }
        gql_http_answer_free(&a);
    }
    for (int i = 0; i < 5; i++)
        free(copy[i]);
    return 0;
}
