/* Schema building on arbitrary SDL, then introspection of what was built: every type, field,
 * argument and directive read back through __schema, bounded like any other request.
 * Input: the SDL. */
#include "fuzz_input.h"
#include "graphql.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char introspection[] =
    "{ __schema { description queryType { name } mutationType { name } subscriptionType { name }\n"
    "  types { ...T } directives { name description isRepeatable locations args(includeDeprecated: true) { "
    "...V } } } }\n"
    "fragment T on __Type { kind name description specifiedByURL\n"
    "  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...V } type { ...R "
    "}\n"
    "    isDeprecated deprecationReason }\n"
    "  inputFields(includeDeprecated: true) { ...V } interfaces { ...R }\n"
    "  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }\n"
    "  possibleTypes { ...R } }\n"
    "fragment V on __InputValue { name description type { ...R } defaultValue isDeprecated deprecationReason "
    "}\n"
    "fragment R on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { name "
    "} } } } }\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sdl = fuzz_copy((masd_str){(const char *)data, size});
    gql_schema *s = NULL;
    char *error = NULL;
    int r = size ? gql_schema_build(&(gql_schema_def){sdl, size, NULL, NULL}, &s, &error) : -EINVAL;
    fuzz_require(r == 0 || r == -EINVAL || r == -ENOMEM);
    fuzz_require((r == 0) == (s != NULL));
    fuzz_require(r != -EINVAL || !size || error != NULL);
    free(error);
    if (s) {
        gql_limits limits = gql_limits_default();
        gql_request req = {introspection, sizeof(introspection) - 1, NULL, NULL, false};
        json_t *response = gql_execute(s, &limits, &req, NULL);
        fuzz_require(response == NULL || json_object_get(response, "data") ||
                     json_object_get(response, "errors"));
        json_decref(response);
        gql_schema_free(s);
    }
    free(sdl);
    return 0;
}
