/* The discovery document depends on the configuration alone: it is rendered once at start-up
 * and served from memory. */
#include "discovery.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rsa_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", NULL};
static const char *const p256_algs[] = {"ES256", NULL};
static const char *const p384_algs[] = {"ES384", NULL};
static const char *const k256_algs[] = {"ES256K", NULL};

const char *const *key_family_algorithms(enum key_family family)
{
    switch (family) {
    case KEY_RSA:
        return rsa_algs;
    case KEY_EC_P256:
        return p256_algs;
    case KEY_EC_P384:
        return p384_algs;
    case KEY_EC_SECP256K1:
        return k256_algs;
    }
    return rsa_algs + 6;
}

static json_t *strings(const char *const *list)
{
    json_t *a = json_array();
    for (; *list; list++)
        json_array_append_new(a, json_string(*list));
    return a;
}

static json_t *url(const struct config *cfg, const char *path)
{
    size_t n = strlen(cfg->public_base) + strlen(path) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    snprintf(s, n, "%s%s", cfg->public_base, path);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *signing_algorithms(const struct config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < cfg->n_keys; i++)
        for (const char *const *alg = key_family_algorithms(cfg->keys[i].family); *alg; alg++) {
            bool seen = false;
            for (size_t j = 0; j < json_array_size(a); j++)
                seen |= strcmp(json_string_value(json_array_get(a, j)), *alg) == 0;
            if (!seen)
                json_array_append_new(a, json_string(*alg));
        }
    return a;
}

char *discovery_document_render(const struct config *cfg)
{
    static const char *const auth_methods[] = {
        "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none", NULL};
    static const char *const auth_algs[] = {"HS256", "HS384", "HS512", "RS256", "RS384",  "RS512", "PS256",
                                            "PS384", "PS512", "ES256", "ES384", "ES256K", NULL};
    static const char *const actions[] = {
        "org.matrix.profile",       "org.matrix.devices_list",        "org.matrix.device_view",
        "org.matrix.device_delete", "org.matrix.cross_signing_reset", "org.matrix.sessions_list",
        "org.matrix.session_view",  "org.matrix.session_end",         NULL};
    json_t *d = json_object();
    json_object_set_new(d, "issuer", json_string(cfg->issuer));
    json_object_set_new(d, "authorization_endpoint", url(cfg, "authorize"));
    json_object_set_new(d, "token_endpoint", url(cfg, "oauth2/token"));
    json_object_set_new(d, "jwks_uri", url(cfg, "oauth2/keys.json"));
    json_object_set_new(d, "registration_endpoint", url(cfg, "oauth2/registration"));
    json_object_set_new(d, "scopes_supported", strings((const char *const[]){"openid", "email", NULL}));
    json_object_set_new(d, "response_types_supported",
                        strings((const char *const[]){"code", "id_token", "code id_token", NULL}));
    json_object_set_new(d, "response_modes_supported",
                        strings((const char *const[]){"form_post", "query", "fragment", NULL}));
    json_t *grants =
        strings((const char *const[]){"authorization_code", "refresh_token", "client_credentials", NULL});
    if (cfg->device_code_grant_enabled)
        json_array_append_new(grants, json_string("urn:ietf:params:oauth:grant-type:device_code"));
    json_object_set_new(d, "grant_types_supported", grants);
    json_object_set_new(d, "token_endpoint_auth_methods_supported", strings(auth_methods));
    json_object_set_new(d, "token_endpoint_auth_signing_alg_values_supported", strings(auth_algs));
    json_object_set_new(d, "revocation_endpoint", url(cfg, "oauth2/revoke"));
    json_object_set_new(d, "revocation_endpoint_auth_methods_supported", strings(auth_methods));
    json_object_set_new(d, "revocation_endpoint_auth_signing_alg_values_supported", strings(auth_algs));
    json_object_set_new(d, "introspection_endpoint", url(cfg, "oauth2/introspect"));
    json_object_set_new(d, "introspection_endpoint_auth_methods_supported", strings(auth_methods));
    json_object_set_new(d, "introspection_endpoint_auth_signing_alg_values_supported", strings(auth_algs));
    json_object_set_new(d, "code_challenge_methods_supported",
                        strings((const char *const[]){"plain", "S256", NULL}));
    json_object_set_new(d, "userinfo_endpoint", url(cfg, "oauth2/userinfo"));
    json_object_set_new(d, "subject_types_supported", strings((const char *const[]){"public", NULL}));
    json_object_set_new(d, "id_token_signing_alg_values_supported", signing_algorithms(cfg));
    json_object_set_new(d, "userinfo_signing_alg_values_supported", signing_algorithms(cfg));
    json_object_set_new(d, "display_values_supported", strings((const char *const[]){"page", NULL}));
    json_object_set_new(d, "claim_types_supported", strings((const char *const[]){"normal", NULL}));
    json_object_set_new(d, "claims_supported",
                        strings((const char *const[]){"iss", "sub", "aud", "iat", "exp", "nonce", "auth_time",
                                                      "at_hash", "c_hash", NULL}));
    json_object_set_new(d, "claims_parameter_supported", json_false());
    json_object_set_new(d, "request_parameter_supported", json_false());
    json_object_set_new(d, "request_uri_parameter_supported", json_false());
    json_t *prompts = strings((const char *const[]){"login", NULL});
    if (cfg->password_registration_enabled)
        json_array_append_new(prompts, json_string("create"));
    json_object_set_new(d, "prompt_values_supported", prompts);
    if (cfg->device_code_grant_enabled)
        json_object_set_new(d, "device_authorization_endpoint", url(cfg, "oauth2/device"));
    json_object_set_new(d, "org.matrix.matrix-authentication-service.graphql_endpoint", url(cfg, "graphql"));
    json_object_set_new(d, "account_management_uri", url(cfg, "account/"));
    json_object_set_new(d, "account_management_actions_supported", strings(actions));
    char *out = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return out;
}
