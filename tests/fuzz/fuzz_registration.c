/* POST /oauth2/registration's body validator (services/oauth/registration_parse.c): the JSON
 * body, each field's shape, the coherence rules, the public-suffix rule and the
 * client_registration policy, under the default policy data and with every allow_* flag.
 * Input: a flags byte (bit 0: device code enabled; bit 1: the permissive policy), then the
 * body, parsed from an exact-size heap copy so ASan sees any read past it. */
#include "config.h"
#include "fuzz_input.h"
#include "registration_parse.h"
#include <errno.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy *policies[2];

static struct policy *make(const char *yaml)
{
    struct config *cfg = NULL;
    char *error = NULL;
    fuzz_require(config_load_buffer("config.yaml", yaml, strlen(yaml), &cfg, &error) == 0);
    struct policy *p = NULL;
    fuzz_require(policy_new(cfg, &p, &error) == 0);
    config_free(cfg);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!policies[0]) {
        policies[0] = make("");
        policies[1] = make("policy:\n  data:\n    client_registration: {allow_insecure_uris: true, "
                           "allow_host_mismatch: true, allow_missing_client_uri: true}\n");
    }
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    masd_str body = {fuzz_copy((masd_str){(const char *)data + 1, size - 1}), size - 1};
    struct registration reg;
    struct registration_error err;
    int r = registration_parse(MASD_STR("application/json"), body, flags & 1, policies[(flags >> 1) & 1],
                               &reg, &err);
    fuzz_require(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == 0) {
        fuzz_require(json_is_object(reg.metadata) && strlen(reg.digest) == 64);
        fuzz_require(reg.needs_secret == (strncmp(reg.auth_method, "client_secret_", 14) == 0));
        /* the device code never survives when disabled */
        const json_t *g = json_object_get(reg.metadata, "grant_types");
        for (size_t i = 0; !(flags & 1) && i < json_array_size(g); i++)
            fuzz_require(strcmp(json_string_value(json_array_get(g, i)),
                                "urn:ietf:params:oauth:grant-type:device_code") != 0);
        registration_clear(&reg);
    } else if (r == -EINVAL) {
        fuzz_require(err.error && (err.status == 400 || err.status == 413));
        fuzz_require(strlen(err.description) > 0 && strlen(err.description) < sizeof(err.description));
    }
    free((void *)body.ptr);
    return 0;
}
