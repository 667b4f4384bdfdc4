/* POST /oauth2/registration's body (services/oauth/registration_parse.c): every rule of MAS's
 * ClientMetadata::validate and registration.rs (its tests' cases included), the shapes of the
 * fields, the public-suffix rule (MAS's test_public_suffix_list) and the policy's answer. */
#include "check.h"
#include "config_check.h"
#include "registration_parse.h"
#include <errno.h>

static struct policy *plain, *insecure;
static struct registration reg;
static struct registration_error err;

/* "ok", or the error code; err.description holds the why. */
static const char *parse_with(const char *body, bool device_code, const struct policy *p)
{
    registration_clear(&reg);
    int r = registration_parse(MASD_STR("application/json"), masd_str_from(body), device_code, p, &reg, &err);
    if (r == 0)
        return "ok";
    CHECK_INT(r, -EINVAL);
    CHECK(reg.metadata == NULL);
    return err.error;
}
static const char *parse(const char *body)
{
    return parse_with(body, true, plain);
}
#define OK(body) CHECK_STR(parse(body), "ok")
#define REFUSED(body, code, why)                                                                             \
    do {                                                                                                     \
        CHECK_STR(parse(body), code);                                                                        \
        if (!strstr(err.description, why))                                                                   \
            fprintf(stderr, "  description: %s\n", err.description);                                         \
        CHECK(strstr(err.description, why) != NULL);                                                         \
    } while (0)

#define BASE "\"client_uri\": \"https://example.com/\", \"redirect_uris\": [\"https://example.com/cb\"]"

static void test_body(void)
{
    CHECK_STR(parse("this is not a json"), "invalid_request");
    CHECK_INT(err.status, 400);
    CHECK_STR(parse("{\"client_uri\": \"https://a.com/\", \"client_uri\": \"https://b.com/\"}"),
              "invalid_request");
    CHECK(strstr(err.description, "duplicate") != NULL);
    REFUSED("[]", "invalid_client_metadata", "JSON object");
    REFUSED("\"x\"", "invalid_client_metadata", "JSON object");
    registration_clear(&reg);
    CHECK_INT(registration_parse(MASD_STR("text/plain"), MASD_STR("{}"), true, plain, &reg, &err), -EINVAL);
    CHECK_STR(err.error, "invalid_request");
    CHECK(strstr(err.description, "Content-Type") != NULL);
    char *big = malloc(REGISTRATION_BODY_MAX + 2);
    memset(big, ' ', REGISTRATION_BODY_MAX + 1);
    big[REGISTRATION_BODY_MAX + 1] = '\0';
    CHECK_STR(parse(big), "invalid_request");
    CHECK_INT(err.status, 413);
    free(big);
}

static void test_mas_registration_error_cases(void)
{
    /* MAS: registration.rs test_registration_error */
    REFUSED("{\"client_uri\": \"this is not a uri\"}", "invalid_client_metadata",
            "client_uri must be an absolute URL");
    REFUSED("{\"application_type\": \"web\", \"client_uri\": \"https://example.com/\", "
            "\"redirect_uris\": [\"http://this-is-insecure.com/\"]}",
            "invalid_redirect_uri", "invalid redirect_uri 'http://this-is-insecure.com/'");
    REFUSED("{" BASE ", \"response_types\": [\"id_token\"], \"grant_types\": [\"authorization_code\"]}",
            "invalid_client_metadata", "'id_token' does not go with the grant_types");
    REFUSED("{\"client_uri\": \"https://github.io/\", \"redirect_uris\": [\"https://github.io/\"], "
            "\"token_endpoint_auth_method\": \"client_secret_basic\"}",
            "invalid_client_metadata", "client_uri is not using a valid domain");
    REFUSED("{" BASE ", \"client_uri#fr-FR\": \"https://github.io/\"}", "invalid_client_metadata",
            "client_uri is not using a valid domain");
}

static void test_public_suffix_list(void)
{
    /* MAS: registration.rs test_public_suffix_list */
    CHECK(registration_host_is_public_suffix("https://.com"));
    CHECK(registration_host_is_public_suffix("https://.com."));
    CHECK(registration_host_is_public_suffix("https://co.uk"));
    CHECK(registration_host_is_public_suffix("https://github.io"));
    CHECK(!registration_host_is_public_suffix("https://example.com"));
    CHECK(!registration_host_is_public_suffix("https://example.com."));
    CHECK(!registration_host_is_public_suffix("https://x.com"));
    CHECK(!registration_host_is_public_suffix("https://x.com."));
    CHECK(!registration_host_is_public_suffix("https://matrix-org.github.io"));
    CHECK(!registration_host_is_public_suffix("http://localhost"));
    CHECK(!registration_host_is_public_suffix("org.matrix:/callback"));
    CHECK(!registration_host_is_public_suffix("http://somerandominternaldomain"));
    /* beyond: case, port, user info, IP literals */
    CHECK(registration_host_is_public_suffix("https://COM:443/x"));
    CHECK(registration_host_is_public_suffix("https://user@co.uk/"));
    CHECK(!registration_host_is_public_suffix("https://[::1]:8080/"));
    CHECK(!registration_host_is_public_suffix("https://127.0.0.1/"));
    /* every URI field is checked, redirect URIs answering invalid_redirect_uri */
    REFUSED("{" BASE ", \"logo_uri\": \"https://com/logo.png\"}", "invalid_client_metadata",
            "logo_uri is not");
    REFUSED("{" BASE ", \"policy_uri\": \"https://co.uk/\"}", "invalid_client_metadata", "policy_uri is not");
    REFUSED("{" BASE ", \"tos_uri#de\": \"https://github.io/\", \"tos_uri\": \"https://example.com/tos\"}",
            "invalid_client_metadata", "tos_uri is not");
    REFUSED("{" BASE ", \"initiate_login_uri\": \"https://com/\"}", "invalid_client_metadata",
            "initiate_login_uri is not");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"redirect_uris\": [\"https://com/\"]}",
            "invalid_redirect_uri", "redirect_uri is not using a valid domain");
}

static void test_mas_registration(void)
{
    /* MAS: test_registration: none has no secret, client_secret_basic has one */
    OK("{" BASE ", \"response_types\": [\"code\"], \"grant_types\": [\"authorization_code\"], "
       "\"token_endpoint_auth_method\": \"none\"}");
    CHECK(!reg.needs_secret);
    CHECK_STR(reg.auth_method, "none");
    OK("{" BASE ", \"token_endpoint_auth_method\": \"client_secret_basic\"}");
    CHECK(reg.needs_secret);
    /* RFC 7591 §2: the method defaults to client_secret_basic */
    OK("{" BASE "}");
    CHECK(reg.needs_secret);
    CHECK_STR(reg.auth_method, "client_secret_basic");
    OK("{" BASE ", \"token_endpoint_auth_method\": \"client_secret_post\"}");
    CHECK(reg.needs_secret);
    OK("{" BASE
       ", \"token_endpoint_auth_method\": \"client_secret_jwt\", \"token_endpoint_auth_signing_alg\": "
       "\"HS256\"}");
    CHECK(reg.needs_secret);
    OK("{" BASE ", \"token_endpoint_auth_method\": \"private_key_jwt\", \"token_endpoint_auth_signing_alg\": "
       "\"ES256\", \"jwks_uri\": \"https://example.com/jwks\"}");
    CHECK(!reg.needs_secret);
}

static char digest[65];

static void test_dedup_digest(void)
{
    /* MAS: test_registration_dedupe: the order of the lists and of the keys does not matter */
    OK("{\"client_uri\": \"https://example.com/\", \"client_name\": \"Example\", \"client_name#en\": "
       "\"Example\", "
       "\"client_name#fr\": \"Exemple\", \"client_name#de\": \"Beispiel\", \"redirect_uris\": "
       "[\"https://example.com/\", \"https://example.com/callback\"], \"response_types\": [\"code\"], "
       "\"grant_types\": [\"authorization_code\", \"urn:ietf:params:oauth:grant-type:device_code\"], "
       "\"token_endpoint_auth_method\": \"none\"}");
    memcpy(digest, reg.digest, sizeof(digest));
    /* the localized names are kept */
    CHECK_STR(json_string_value(json_object_get(reg.metadata, "client_name#fr")), "Exemple");
    OK("{\"token_endpoint_auth_method\": \"none\", \"client_name#fr\": \"Exemple\", \"client_name\": "
       "\"Example\", "
       "\"client_name#de\": \"Beispiel\", \"client_name#en\": \"Example\", \"redirect_uris\": "
       "[\"https://example.com/callback\", \"https://example.com/\"], \"response_types\": [\"code\"], "
       "\"grant_types\": [\"urn:ietf:params:oauth:grant-type:device_code\", \"authorization_code\"], "
       "\"client_uri\": \"https://example.com/\", \"unknown_field\": 3}");
    CHECK_STR(reg.digest, digest);
    CHECK(json_object_get(reg.metadata, "unknown_field") == NULL); /* RFC 7591 §2: ignored */
    OK("{\"token_endpoint_auth_method\": \"none\", \"client_name\": \"Example 2\", " BASE "}");
    CHECK(strcmp(reg.digest, digest) != 0);
    /* response types are sets: "id_token code" is "code id_token" */
    OK("{" BASE
       ", \"grant_types\": [\"authorization_code\", \"implicit\"], \"response_types\": [\"id_token code\"]}");
    CHECK_STR(json_string_value(json_array_get(json_object_get(reg.metadata, "response_types"), 0)),
              "code id_token");
}

static void test_device_code(void)
{
    /* MAS: test_registration_device_code_grant_disabled */
    const char *body =
        "{\"client_uri\": \"https://example.com/\", \"token_endpoint_auth_method\": \"none\", "
        "\"grant_types\": [\"urn:ietf:params:oauth:grant-type:device_code\"], \"response_types\": []}";
    CHECK_STR(parse_with(body, false, plain), "ok");
    CHECK_INT(json_array_size(json_object_get(reg.metadata, "grant_types")), 0);
    CHECK_STR(parse_with(body, true, plain), "ok");
    CHECK_INT(json_array_size(json_object_get(reg.metadata, "grant_types")), 1);
}

static void test_validate(void)
{
    /* MAS: ClientMetadata::validate, rule by rule */
    REFUSED("{\"client_uri\": \"https://example.com/\"}", "invalid_redirect_uri", "redirect_uris is missing");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"grant_types\": [\"implicit\"]}",
            "invalid_redirect_uri", "redirect_uris is missing");
    OK("{\"client_uri\": \"https://example.com/\", \"grant_types\": [\"client_credentials\"]}");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"redirect_uris\": [\"https://example.com/#f\"]}",
            "invalid_redirect_uri", "has a fragment");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"redirect_uris\": [\"/relative\"]}",
            "invalid_client_metadata", "is not an absolute URL");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"redirect_uris\": [\"https:///nohost\"]}",
            "invalid_client_metadata", "is not an absolute URL");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"redirect_uris\": [\"https://example.com/a b\"]}",
            "invalid_client_metadata", "is not an absolute URL");
    /* response types and grant types */
    OK("{" BASE ", \"response_types\": [\"code\"]}");
    OK("{" BASE ", \"response_types\": [\"none\"]}");
    REFUSED("{" BASE ", \"response_types\": [\"token\"]}", "invalid_client_metadata", "does not go with");
    REFUSED("{" BASE ", \"response_types\": [\"code id_token\"]}", "invalid_client_metadata",
            "does not go with");
    OK("{" BASE ", \"grant_types\": [\"implicit\"], \"response_types\": [\"id_token\", \"id_token token\"]}");
    REFUSED("{" BASE ", \"grant_types\": [\"implicit\"], \"response_types\": [\"code\"]}",
            "invalid_client_metadata", "does not go with");
    OK("{" BASE
       ", \"grant_types\": [\"authorization_code\", \"implicit\"], \"response_types\": [\"code id_token "
       "token\"]}");
    REFUSED("{" BASE ", \"response_types\": [\"code code\"]}", "invalid_client_metadata",
            "is not a response type");
    REFUSED("{" BASE ", \"response_types\": [\"none code\"]}", "invalid_client_metadata",
            "is not a response type");
    REFUSED("{" BASE ", \"response_types\": [\"code \"]}", "invalid_client_metadata",
            "is not a response type");
    REFUSED("{" BASE ", \"response_types\": [\"\"]}", "invalid_client_metadata", "is not a response type");
    REFUSED("{" BASE ", \"response_types\": [\"device\"]}", "invalid_client_metadata",
            "is not a response type");
    /* keys and methods */
    REFUSED("{" BASE ", \"jwks\": {\"keys\": []}, \"jwks_uri\": \"https://example.com/j\"}",
            "invalid_client_metadata", "mutually exclusive");
    REFUSED("{" BASE
            ", \"token_endpoint_auth_method\": \"private_key_jwt\", \"token_endpoint_auth_signing_alg\": "
            "\"RS256\"}",
            "invalid_client_metadata", "send jwks or jwks_uri");
    REFUSED("{" BASE ", \"token_endpoint_auth_signing_alg\": \"none\"}", "invalid_client_metadata",
            "may not be none");
    REFUSED("{" BASE ", \"token_endpoint_auth_method\": \"client_secret_jwt\"}", "invalid_client_metadata",
            "needs token_endpoint_auth_signing_alg");
    REFUSED("{" BASE
            ", \"token_endpoint_auth_method\": \"client_secret_jwt\", \"token_endpoint_auth_signing_alg\": "
            "\"RS256\"}",
            "invalid_client_metadata", "HS256, HS384 or HS512");
    REFUSED("{" BASE ", \"token_endpoint_auth_method\": \"private_key_jwt\", \"jwks\": {\"keys\": []}, "
            "\"token_endpoint_auth_signing_alg\": \"HS256\"}",
            "invalid_client_metadata", "for private_key_jwt");
    OK("{" BASE
       ", \"token_endpoint_auth_method\": \"private_key_jwt\", \"jwks\": {\"keys\": [{\"kty\": \"EC\"}]}, "
       "\"token_endpoint_auth_signing_alg\": \"ES256K\"}");
    REFUSED("{" BASE ", \"token_endpoint_auth_method\": \"tls_client_auth\"}", "invalid_client_metadata",
            "token_endpoint_auth_method must be one of");
    REFUSED("{" BASE ", \"jwks\": {\"keys\": [1]}}", "invalid_client_metadata", "jwks.keys[0]");
    REFUSED("{" BASE ", \"jwks\": []}", "invalid_client_metadata", "JWK Set");
    /* signing algorithms: what masd signs with */
    OK("{" BASE
       ", \"id_token_signed_response_alg\": \"PS384\", \"userinfo_signed_response_alg\": \"ES384\"}");
    OK("{" BASE ", \"id_token_signed_response_alg\": \"none\"}");
    REFUSED("{" BASE ", \"grant_types\": [\"implicit\"], \"response_types\": [\"id_token\"], "
            "\"id_token_signed_response_alg\": \"none\"}",
            "invalid_client_metadata", "may not be none when response_types include id_token");
    REFUSED("{" BASE ", \"id_token_signed_response_alg\": \"HS256\"}", "invalid_client_metadata",
            "id_token_signed_response_alg must be one of");
    REFUSED("{" BASE ", \"userinfo_signed_response_alg\": \"none\"}", "invalid_client_metadata",
            "userinfo_signed_response_alg must be one of");
    REFUSED("{" BASE ", \"initiate_login_uri\": \"http://example.com/login\"}", "invalid_client_metadata",
            "initiate_login_uri must use https");
}

static void test_shapes(void)
{
    REFUSED("{" BASE ", \"contacts\": \"a@example.com\"}", "invalid_client_metadata",
            "contacts must be an array");
    REFUSED("{" BASE ", \"contacts\": [1]}", "invalid_client_metadata", "contacts[0] must be a string");
    OK("{" BASE ", \"contacts\": [\"b@example.com\", \"a@example.com\"]}");
    CHECK_STR(json_string_value(json_array_get(json_object_get(reg.metadata, "contacts"), 0)),
              "a@example.com");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"redirect_uris\": \"https://example.com/\"}",
            "invalid_client_metadata", "redirect_uris must be an array");
    REFUSED("{" BASE ", \"grant_types\": [null]}", "invalid_client_metadata",
            "grant_types[0] must be a string");
    REFUSED("{" BASE ", \"client_name\": 3}", "invalid_client_metadata", "client_name must be a string");
    CHECK_STR(parse("{" BASE ", \"client_name\": \"a\\u0000b\"}"), "invalid_request"); /* jansson: no NUL */
    REFUSED("{" BASE ", \"logo_uri\": \"logo.png\"}", "invalid_client_metadata",
            "logo_uri must be an absolute URL");
    REFUSED("{" BASE ", \"application_type\": \"desktop\"}", "invalid_client_metadata", "application_type");
    REFUSED("{" BASE ", \"software_id\": []}", "invalid_client_metadata", "software_id must be a string");
    REFUSED("{" BASE ", \"id_token_signed_response_alg\": 1}", "invalid_client_metadata", "JWS algorithm");
    /* localized fields (OpenID Connect Registration §2.1) */
    REFUSED("{" BASE ", \"client_name#fr\": \"Exemple\"}", "invalid_client_metadata",
            "needs the field 'client_name'");
    REFUSED("{" BASE ", \"client_name\": \"x\", \"client_name#\": \"y\"}", "invalid_client_metadata",
            "is not a language tag");
    REFUSED("{" BASE ", \"foo#1x\": \"y\"}", "invalid_client_metadata", "is not a language tag");
    REFUSED("{" BASE ", \"logo_uri\": \"https://example.com/l.png\", \"logo_uri#fr\": \"l.png\"}",
            "invalid_client_metadata", "logo_uri#fr must be an absolute URL");
    OK("{" BASE ", \"client_name\": \"x\", \"client_name#pt-BR\": \"y\", \"foo#de\": 1}");
    CHECK_STR(json_string_value(json_object_get(reg.metadata, "client_name#pt-BR")), "y");
    CHECK(json_object_get(reg.metadata, "foo#de") == NULL);
    /* fields masd does not keep are dropped, whatever their shape */
    OK("{" BASE ", \"default_max_age\": \"x\", \"request_uris\": 3}");
    CHECK(json_object_get(reg.metadata, "default_max_age") == NULL);
}

static void test_policy(void)
{
    /* the policy runs last, its violations joined with "; " */
    REFUSED("{\"grant_types\": [\"client_credentials\"]}", "invalid_client_metadata", "missing client_uri");
    /* without a client_uri no web redirect URI is on its host: a redirect_uri violation wins */
    REFUSED("{\"redirect_uris\": [\"https://example.com/\"]}", "invalid_redirect_uri",
            "invalid redirect_uri 'https://example.com/'; missing client_uri");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"tos_uri\": \"http://example.com/\", "
            "\"logo_uri\": \"https://other.org/l.png\", \"redirect_uris\": [\"https://example.com/\"]}",
            "invalid_client_metadata", "invalid tos_uri; logo_uri not on the same host as the client_uri");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"tos_uri\": \"http://example.com/\", "
            "\"redirect_uris\": [\"https://example.org/\"]}",
            "invalid_redirect_uri", "invalid redirect_uri 'https://example.org/'; invalid tos_uri");
    REFUSED("{\"client_uri\": \"https://example.com/\", \"grant_types\": [\"client_credentials\"], "
            "\"token_endpoint_auth_method\": \"none\"}",
            "invalid_client_metadata",
            "client_credentials grant_type requires some form of client authentication");
    /* a native client: loopback and reverse-DNS schemes */
    OK("{\"application_type\": \"native\", \"client_uri\": \"https://example.com/\", "
       "\"token_endpoint_auth_method\": "
       "\"none\", \"redirect_uris\": [\"http://127.0.0.1/cb\", \"com.example.app:/cb\"]}");
    CHECK_STR(
        parse_with(
            "{\"client_uri\": \"http://localhost:8080/\", \"redirect_uris\": [\"http://localhost:8080/\"]}",
            true, insecure),
        "ok");
}

int main(void)
{
    struct config *cfg = load("");
    char *e = NULL;
    CHECK_INT(policy_new(cfg, &plain, &e), 0);
    config_free(cfg);
    cfg = load("policy:\n  data:\n    client_registration: {allow_insecure_uris: true}\n");
    CHECK_INT(policy_new(cfg, &insecure, &e), 0);
    config_free(cfg);
    test_body();
    test_mas_registration_error_cases();
    test_public_suffix_list();
    test_mas_registration();
    test_dedup_digest();
    test_device_code();
    test_validate();
    test_shapes();
    test_policy();
    registration_clear(&reg);
    policy_free(plain);
    policy_free(insecure);
    return check_report(__FILE__);
}
