/* The GraphQL engine on arbitrary documents and variables: the parser over an exact-size copy
 * (so ASan sees any read past it), then parse, validation, operation, variables, caps and
 * execution over the account schema (tests/unit/graphql_account.h).
 * Input: a flags byte (bit 0: the request came by GET; bit 1: introspection off; bit 2: tight
 * caps), the variables as JSON up to '\n' (empty: none), then the document. */
#include "fuzz_input.h"
#include "graphql_account.h"
#include "internal.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gql_schema *schema;

/* Every error is a GraphQL error: a message, and locations of line and column from 1. */
static void check_errors(const json_t *errors)
{
    size_t i;
    json_t *e;
    fuzz_require(json_is_array(errors) && json_array_size(errors) > 0);
    json_array_foreach(errors, i, e)
    {
        fuzz_require(json_is_string(json_object_get(e, "message")));
        json_t *l = json_array_get(json_object_get(e, "locations"), 0);
        fuzz_require(!l || (json_integer_value(json_object_get(l, "line")) >= 1 &&
                            json_integer_value(json_object_get(l, "column")) >= 1));
    }
}

static void check_parser(masd_str text)
{
    char *copy = fuzz_copy(text);
    gql_arena arena = {.limit = 1 << 24};
    gql_document doc;
    json_t *errors = json_array();
    int r = gql_parse(&arena, copy, text.len, 5000, 32, &doc, errors);
    fuzz_require(r == 0 || r == -EINVAL || r == -ENOMEM);
    fuzz_require((r == -EINVAL) == (json_array_size(errors) == 1));
    json_decref(errors);
    gql_arena_free(&arena);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (!schema)
        schema = account_schema();
    unsigned flags = data[0];
    masd_str rest = {(const char *)data + 1, size - 1}, vars_text;
    masd_str_next(&rest, '\n', &vars_text);
    if (!rest.ptr)
        rest = (masd_str){"", 0};
    check_parser(rest);

    json_t *variables = vars_text.len ? json_loadb(vars_text.ptr, vars_text.len, 0, NULL) : NULL;
    gql_limits limits = gql_limits_default();
    limits.no_introspection = flags & 2;
    if (flags & 4) {
        limits.max_depth = 4;
        limits.max_complexity = 50;
        limits.max_aliases = 3;
        limits.max_page_size = 5;
        limits.max_result_values = 100;
    }
    char *query = fuzz_copy(rest);
    gql_request req = {query, rest.len, NULL, variables, flags & 1};
    gql_prepared *p = NULL;
    json_t *errors = NULL;
    int r = gql_prepare(schema, &limits, &req, &p, &errors);
    fuzz_require(r == 0 || r == -EINVAL || r == -EPERM || r == -ENOMEM);
    fuzz_require(r != -EPERM || (flags & 1));
    if (r == -EINVAL || r == -EPERM)
        check_errors(errors);
    json_decref(errors);
    if (r == 0) {
        fuzz_require(!(flags & 1) || gql_prepared_operation(p) == GQL_QUERY);
        account_data d = {.emails = 3, .browser_sessions = 2, .app_sessions = 12};
        json_t *response = gql_run(p, &d);
        if (response) {
            fuzz_require(json_object_get(response, "data") != NULL);
            if (json_object_get(response, "errors"))
                check_errors(json_object_get(response, "errors"));
            char *text = json_dumps(response, JSON_COMPACT);
            fuzz_require(text != NULL);
            free(text);
            json_decref(response);
        }
        gql_prepared_free(p);
    }
    free(query);
    json_decref(variables);
    return 0;
}
