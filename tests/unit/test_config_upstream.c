/* The upstream_oauth2 section (common/config/config_upstream.c): every key and its default, MAS's
 * own config test, MAS's validate() rules, masd's stricter checks, secrets from files, and every
 * error at its line and column. */
#include "claims_template.h"
#include "config_check.h"
#include "config.h"
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P   "upstream_oauth2:\n  providers:\n"
#define ID1 "01GFWR28C4KNE04WG3HKXB7C9R"
#define ID2 "01GFWR32NCQ12B8Z0J8CPXRRB6"
/* a provider of lines 3-6, to which a test appends keys at line 7 */
#define BASE                                                                                                 \
    P "    - id: " ID1 "\n      issuer: https://idp.example.com\n      client_id: masd\n"                    \
      "      token_endpoint_auth_method: none\n"

static char *render(const struct claims_template *t, const char *vars_json)
{
    json_t *vars = json_loads(vars_json, 0, NULL);
    char *out = NULL, err[200];
    if (claims_template_render(t, vars, &out, err, sizeof(err)) < 0)
        out = strdup(err);
    json_decref(vars);
    return out;
}

static void test_defaults(void)
{
    struct config *cfg = load("");
    CHECK_INT(cfg->n_upstream_providers, 0);
    config_free(cfg);
    cfg = load("upstream_oauth2: {}\n");
    CHECK_INT(cfg->n_upstream_providers, 0);
    config_free(cfg);
    cfg = load(BASE);
    CHECK_INT(cfg->n_upstream_providers, 1);
    const struct config_upstream_provider *u = &cfg->upstream_providers[0];
    CHECK_STR(u->id, ID1);
    CHECK(u->enabled);
    CHECK_INT(u->ui_order, 0);
    CHECK_STR(u->issuer, "https://idp.example.com");
    CHECK_STR(u->client_id, "masd");
    CHECK(u->client_secret == NULL);
    CHECK_INT(u->token_endpoint_auth_method, UPSTREAM_AUTH_NONE);
    CHECK_STR(u->id_token_signed_response_alg, "RS256");
    CHECK_STR(u->scope, "openid");
    CHECK(u->scope_openid);
    CHECK_INT(u->discovery_mode, UPSTREAM_DISCOVERY_OIDC);
    CHECK_INT(u->pkce_method, UPSTREAM_PKCE_AUTO);
    CHECK_STR(config_upstream_pkce_db_name(u->pkce_method), "auto");
    CHECK(!u->fetch_userinfo);
    CHECK_INT(u->response_mode, UPSTREAM_RESPONSE_MODE_UNSET);
    CHECK(config_upstream_response_mode_name(u->response_mode) == NULL);
    CHECK_INT(u->on_backchannel_logout, UPSTREAM_BCL_DO_NOTHING);
    CHECK(!u->registration_token_required);
    CHECK(!u->forward_login_hint);
    CHECK_INT(u->n_params, 0);
    CHECK(!u->claims.skip_confirmation);
    CHECK_INT(u->claims.localpart.action, CLAIMS_IGNORE);
    CHECK_INT(u->claims.localpart_on_conflict, CLAIMS_CONFLICT_FAIL);
    CHECK_INT(u->claims.displayname.action, CLAIMS_IGNORE);
    CHECK_INT(u->claims.email.action, CLAIMS_IGNORE);
    /* MAS's default templates, compiled */
    CHECK(u->claims.subject.template == NULL && u->claims.subject.compiled != NULL);
    CHECK(u->claims.account_name.compiled == NULL);
    const char *claims = "{\"user\": {\"sub\": \"s1\", \"preferred_username\": \"al\", \"name\": \"Al\", "
                         "\"email\": \"al@example.com\"}}";
    char *s = render(u->claims.subject.compiled, claims);
    CHECK_STR(s, "s1");
    free(s);
    s = render(u->claims.localpart.compiled, claims);
    CHECK_STR(s, "al");
    free(s);
    s = render(u->claims.displayname.compiled, claims);
    CHECK_STR(s, "Al");
    free(s);
    s = render(u->claims.email.compiled, claims);
    CHECK_STR(s, "al@example.com");
    free(s);
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
}

static char *p256_pem(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *indented = calloc(1, (size_t)n * 3 + 1);
    size_t o = 0;
    for (long i = 0; i < n; i++) { /* a YAML block scalar, indented by 10 */
        if (i == 0 || data[i - 1] == '\n')
            o += (size_t)sprintf(indented + o, "          ");
        indented[o++] = data[i];
    }
    BIO_free(b);
    EVP_PKEY_free(k);
    return indented;
}

static void test_every_key(void)
{
    char *pem = p256_pem();
    char *yaml = NULL;
    CHECK(asprintf(&yaml,
                   P
                   "    - id: " ID2 "\n      enabled: false\n      issuer: https://old.example\n"
                   "      client_id: old\n      token_endpoint_auth_method: none\n"
                   "    - id: 01gfwr3whr93y5hk389h28vhz9\n" /* lower case: read, stored canonical */
                   "      synapse_idp_id: oidc-keycloak\n"
                   "      issuer: http://127.0.0.1:9000\n"
                   "      human_name: Keycloak\n      brand_name: keycloak\n"
                   "      client_id: masd\n      client_secret: s3cr3t\n"
                   "      token_endpoint_auth_method: client_secret_jwt\n"
                   "      token_endpoint_auth_signing_alg: HS512\n"
                   "      id_token_signed_response_alg: ES256\n"
                   "      scope: \"profile openid email openid\"\n"
                   "      discovery_mode: insecure\n      pkce_method: always\n"
                   "      fetch_userinfo: true\n      userinfo_signed_response_alg: PS256\n"
                   "      authorization_endpoint: http://127.0.0.1:9000/auth?x=1\n"
                   "      token_endpoint: http://127.0.0.1:9000/token\n"
                   "      userinfo_endpoint: http://127.0.0.1:9000/me\n"
                   "      jwks_uri: http://127.0.0.1:9000/jwks\n"
                   "      response_mode: form_post\n"
                   "      claims_imports:\n"
                   "        subject: {template: \"{{ user.oid }}\"}\n"
                   "        skip_confirmation: true\n"
                   "        localpart: {action: require, template: \"{{ user.preferred_username | lower }}\","
                   " on_conflict: set}\n"
                   "        displayname: {action: force}\n"
                   "        email: {action: ignore, template: \"{{ user.mail }}\"}\n"
                   "        account_name: {template: \"@{{ user.preferred_username }}\"}\n"
                   "      additional_authorization_parameters:\n"
                   "        prompt: \"{%% if logged_out %%}login{%% endif %%}\"\n"
                   "        kc_idp_hint: saml\n"
                   "      forward_login_hint: true\n"
                   "      on_backchannel_logout: logout_all\n"
                   "      registration_token_required: true\n"
                   "    - id: " ID1 "\n      client_id: apple\n"
                   "      issuer: https://appleid.apple.com\n"
                   "      token_endpoint_auth_method: sign_in_with_apple\n"
                   "      sign_in_with_apple:\n        team_id: T1\n        key_id: K1\n"
                   "        private_key: |\n%s",
                   pem) > 0);
    struct config *cfg = load(yaml);
    free(yaml);
    CHECK_INT(cfg ? cfg->n_upstream_providers : 0, 3);
    if (!cfg || cfg->n_upstream_providers != 3) {
        config_free(cfg);
        free(pem);
        return;
    }
    const struct config_upstream_provider *d = &cfg->upstream_providers[0], *u = &cfg->upstream_providers[1],
                                          *a = &cfg->upstream_providers[2];
    CHECK(!d->enabled); /* a disabled provider is still checked in full */
    CHECK_STR(u->id, "01GFWR3WHR93Y5HK389H28VHZ9");
    CHECK(u->enabled);
    CHECK_INT(u->ui_order, 1);
    CHECK_STR(u->synapse_idp_id, "oidc-keycloak");
    CHECK_STR(u->issuer, "http://127.0.0.1:9000");
    CHECK_STR(u->human_name, "Keycloak");
    CHECK_STR(u->brand_name, "keycloak");
    CHECK_STR(u->client_secret, "s3cr3t");
    CHECK_STR(config_upstream_auth_name(u->token_endpoint_auth_method), "client_secret_jwt");
    CHECK_STR(u->token_endpoint_auth_signing_alg, "HS512");
    CHECK_STR(u->id_token_signed_response_alg, "ES256");
    CHECK_STR(u->scope, "email openid profile");
    CHECK(u->scope_openid);
    CHECK_STR(config_upstream_discovery_name(u->discovery_mode), "insecure");
    CHECK_STR(config_upstream_pkce_db_name(u->pkce_method), "s256");
    CHECK(u->fetch_userinfo);
    CHECK_STR(u->userinfo_signed_response_alg, "PS256");
    CHECK_STR(u->authorization_endpoint, "http://127.0.0.1:9000/auth?x=1");
    CHECK_STR(u->token_endpoint, "http://127.0.0.1:9000/token");
    CHECK_STR(u->userinfo_endpoint, "http://127.0.0.1:9000/me");
    CHECK_STR(u->jwks_uri, "http://127.0.0.1:9000/jwks");
    CHECK_STR(config_upstream_response_mode_name(u->response_mode), "form_post");
    CHECK(u->claims.skip_confirmation);
    CHECK_STR(config_claims_action_name(u->claims.localpart.action), "require");
    CHECK_STR(config_claims_conflict_name(u->claims.localpart_on_conflict), "set");
    CHECK_INT(u->claims.displayname.action, CLAIMS_FORCE);
    CHECK(u->claims.displayname.template == NULL);
    CHECK_STR(u->claims.email.template, "{{ user.mail }}");
    char *s = render(u->claims.localpart.compiled, "{\"user\": {\"preferred_username\": \"Alice\"}}");
    CHECK_STR(s, "alice");
    free(s);
    s = render(u->claims.account_name.compiled, "{\"user\": {\"preferred_username\": \"Alice\"}}");
    CHECK_STR(s, "@Alice");
    free(s);
    s = render(u->claims.subject.compiled, "{\"user\": {\"oid\": \"o-1\"}}");
    CHECK_STR(s, "o-1");
    free(s);
    /* sorted by name, login_hint added for forward_login_hint */
    CHECK_INT(u->n_params, 3);
    CHECK_STR(u->params[0].name, "kc_idp_hint");
    CHECK_STR(u->params[1].name, "login_hint");
    CHECK_STR(u->params[1].template, "{{ params.login_hint }}");
    CHECK_STR(u->params[2].name, "prompt");
    s = render(u->params[2].compiled, "{\"params\": {}, \"logged_out\": true}");
    CHECK_STR(s, "login");
    free(s);
    s = render(u->params[1].compiled, "{\"params\": {\"login_hint\": \"a@b\"}, \"logged_out\": false}");
    CHECK_STR(s, "a@b");
    free(s);
    CHECK(u->forward_login_hint);
    CHECK_STR(config_upstream_backchannel_name(u->on_backchannel_logout), "logout_all");
    CHECK(u->registration_token_required);
    CHECK_STR(a->siwa_team_id, "T1");
    CHECK_STR(a->siwa_key_id, "K1");
    CHECK(a->siwa_private_key && strstr(a->siwa_private_key, "BEGIN PRIVATE KEY"));
    CHECK(a->client_secret == NULL);
    config_free(cfg);
    free(pem);

    /* an explicit login_hint wins over forward_login_hint */
    cfg = load(BASE "      forward_login_hint: true\n"
                    "      additional_authorization_parameters: {login_hint: \"{{ params.x }}\"}\n");
    CHECK_INT(cfg->upstream_providers[0].n_params, 1);
    CHECK_STR(cfg->upstream_providers[0].params[0].template, "{{ params.x }}");
    config_free(cfg);
}

/* MAS's own test (crates/config/src/sections/upstream_oauth2.rs load_config): five providers,
 * secrets inline and in a file; its fifth carries a stray `jwks` key, which MAS ignores and masd
 * refuses. */
static void test_mas_example(void)
{
    char dir[] = "/tmp/test_config_upstream.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char secret[300], conf[300];
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    snprintf(conf, sizeof(conf), "%s/config.yaml", dir);
    FILE *f = fopen(secret, "w");
    fputs("c1!3n753c237\n", f); /* echo's newline: trimmed, as MAS's sync trims it */
    fclose(f);
    static const char *const yaml =
        P "    - id: 01GFWR28C4KNE04WG3HKXB7C9R\n      issuer: https://a.example\n"
          "      client_id: upstream-oauth2\n      token_endpoint_auth_method: none\n"
          "    - id: 01GFWR32NCQ12B8Z0J8CPXRRB6\n      issuer: https://a.example\n"
          "      client_id: upstream-oauth2\n      client_secret_file: secret\n"
          "      token_endpoint_auth_method: client_secret_basic\n"
          "    - id: 01GFWR3WHR93Y5HK389H28VHZ9\n      issuer: https://a.example\n"
          "      client_id: upstream-oauth2\n      client_secret: c1!3n753c237\n"
          "      token_endpoint_auth_method: client_secret_post\n"
          "    - id: 01GFWR43R2ZZ8HX9CVBNW9TJWG\n      issuer: https://a.example\n"
          "      client_id: upstream-oauth2\n      client_secret_file: secret\n"
          "      token_endpoint_auth_method: client_secret_jwt\n"
          "      token_endpoint_auth_signing_alg: HS256\n"
          "    - id: 01GFWR4BNFDCC4QDG6AMSP1VRR\n      issuer: https://a.example\n"
          "      client_id: upstream-oauth2\n      token_endpoint_auth_method: private_key_jwt\n"
          "      token_endpoint_auth_signing_alg: RS256\n";
    f = fopen(conf, "w");
    fputs(yaml, f);
    fclose(f);
    struct config *cfg = NULL;
    char *err = NULL;
    CHECK_INT(config_load(conf, &cfg, &err), 0);
    CHECK(err == NULL);
    CHECK_INT(cfg ? cfg->n_upstream_providers : 0, 5);
    if (cfg && cfg->n_upstream_providers == 5) {
        CHECK_STR(cfg->upstream_providers[1].id, "01GFWR32NCQ12B8Z0J8CPXRRB6");
        CHECK(cfg->upstream_providers[0].client_secret == NULL);
        CHECK_STR(cfg->upstream_providers[1].client_secret, "c1!3n753c237");
        CHECK_STR(cfg->upstream_providers[2].client_secret, "c1!3n753c237");
        CHECK_STR(cfg->upstream_providers[3].client_secret, "c1!3n753c237");
        CHECK(cfg->upstream_providers[4].client_secret == NULL);
    }
    config_free(cfg);
    /* the stateless services name the file but do not read it */
    CHECK_INT(config_load_flags(conf, CONFIG_NO_SECRETS, &cfg, &err), 0);
    CHECK(cfg && cfg->upstream_providers[1].client_secret == NULL);
    config_free(cfg);
    /* the stray key of MAS's test */
    f = fopen(conf, "a");
    fputs("      jwks:\n        keys: []\n", f);
    fclose(f);
    CHECK(config_load(conf, &cfg, &err) < 0);
    char want[400];
    snprintf(want, sizeof(want), "%s:28:7: unknown key 'upstream_oauth2.providers[4].jwks'", conf);
    CHECK_STR(err, want);
    free(err);
    /* an empty secret file */
    f = fopen(secret, "w");
    fputs(" \n", f);
    fclose(f);
    f = fopen(conf, "w");
    fputs(yaml, f);
    fclose(f);
    CHECK(config_load(conf, &cfg, &err) < 0);
    snprintf(want, sizeof(want),
             "%s:10:27: upstream_oauth2.providers[1].client_secret_file: the secret is empty or "
             "holds a NUL byte",
             conf);
    CHECK_STR(err, want);
    free(err);
    unlink(secret);
    unlink(conf);
    rmdir(dir);
}

static void test_errors(void)
{
    /* MAS's validate() */
    CHECK_ERROR(P "    - id: " ID1 "\n      client_id: x\n      token_endpoint_auth_method: none\n",
                "config.yaml:3:7: upstream_oauth2.providers[0]: issuer is required unless discovery_mode is "
                "disabled");
    CHECK_ERROR(P "    - client_id: x\n      token_endpoint_auth_method: none\n",
                "config.yaml:3:7: upstream_oauth2.providers[0]: id is required");
    CHECK_ERROR(P "    - id: " ID1 "\n      client_id: x\n",
                "config.yaml:3:7: upstream_oauth2.providers[0]: token_endpoint_auth_method is required");
    CHECK_ERROR(
        P "    - id: 01GFWR28C4KNE04WG3HKXB7C9\n      client_id: x\n      token_endpoint_auth_method: none\n",
        "config.yaml:3:11: upstream_oauth2.providers[0].id: expected a ULID");
    CHECK_ERROR(BASE "      client_secret: s\n",
                "config.yaml:7:7: upstream_oauth2.providers[0].client_secret: none takes no client secret");
    CHECK_ERROR(P "    - id: " ID1 "\n      issuer: https://i\n      client_id: x\n"
                  "      token_endpoint_auth_method: client_secret_post\n",
                "config.yaml:6:35: upstream_oauth2.providers[0]: client_secret_post needs client_secret or "
                "client_secret_file");
    CHECK_ERROR(P "    - id: " ID1 "\n      issuer: https://i\n      client_id: x\n"
                  "      token_endpoint_auth_method: private_key_jwt\n",
                "config.yaml:6:35: upstream_oauth2.providers[0]: private_key_jwt needs "
                "token_endpoint_auth_signing_alg");
    CHECK_ERROR(BASE "      token_endpoint_auth_signing_alg: RS256\n",
                "config.yaml:7:7: upstream_oauth2.providers[0].token_endpoint_auth_signing_alg: only for "
                "client_secret_jwt and private_key_jwt");
    CHECK_ERROR(BASE "      sign_in_with_apple: {team_id: t, key_id: k, private_key: x}\n",
                "config.yaml:7:7: upstream_oauth2.providers[0].sign_in_with_apple: only with "
                "token_endpoint_auth_method sign_in_with_apple");
    CHECK_ERROR(
        P "    - id: " ID1 "\n      issuer: https://i\n      client_id: x\n"
          "      token_endpoint_auth_method: sign_in_with_apple\n",
        "config.yaml:6:35: upstream_oauth2.providers[0]: sign_in_with_apple needs the sign_in_with_apple "
        "section");
    CHECK_ERROR(
        P "    - id: " ID1 "\n      issuer: https://i\n      client_id: x\n"
          "      token_endpoint_auth_method: sign_in_with_apple\n"
          "      sign_in_with_apple: {team_id: t, key_id: k, private_key: nope}\n",
        "config.yaml:7:64: upstream_oauth2.providers[0].sign_in_with_apple.private_key: expected Apple's "
        "P-256 private key (PKCS#8 PEM): not a PEM or DER private key (PKCS#1, PKCS#8 or SEC1)");
    CHECK_ERROR(P "    - id: " ID1 "\n      issuer: https://i\n      client_id: x\n"
                  "      token_endpoint_auth_method: sign_in_with_apple\n"
                  "      sign_in_with_apple: {team_id: t, key_id: k}\n",
                "config.yaml:7:27: upstream_oauth2.providers[0].sign_in_with_apple: private_key or "
                "private_key_file is required");
    CHECK_ERROR(BASE "      claims_imports:\n        skip_confirmation: true\n",
                "config.yaml:8:9: upstream_oauth2.providers[0].claims_imports: skip_confirmation needs "
                "upstream_oauth2.providers[0].claims_imports.localpart.action require");
    CHECK_ERROR(BASE "      claims_imports:\n        skip_confirmation: true\n"
                     "        localpart: {action: require}\n        email: {action: suggest}\n",
                "config.yaml:8:9: upstream_oauth2.providers[0].claims_imports: with skip_confirmation, "
                "upstream_oauth2.providers[0].claims_imports.email.action may not be suggest");
    CHECK_ERROR(
        BASE "      claims_imports:\n        localpart: {action: suggest, on_conflict: add}\n",
        "config.yaml:8:51: upstream_oauth2.providers[0].claims_imports.localpart.on_conflict: add needs "
        "localpart.action force or require");
    /* unknown keys and values */
    CHECK_ERROR(BASE "      claim_imports:\n        localpart: {action: require}\n",
                "config.yaml:7:7: unknown key 'upstream_oauth2.providers[0].claim_imports'");
    CHECK_ERROR(
        BASE "      claims_imports:\n        localpart: {action: require, templat: x}\n",
        "config.yaml:8:38: unknown key 'upstream_oauth2.providers[0].claims_imports.localpart.templat'");
    CHECK_ERROR(
        BASE "      claims_imports:\n        localpart: {action: always}\n",
        "config.yaml:8:29: upstream_oauth2.providers[0].claims_imports.localpart.action: 'always': expected "
        "ignore, suggest, force or require");
    CHECK_ERROR(
        BASE "      pkce_method: s256\n",
        "config.yaml:7:20: upstream_oauth2.providers[0].pkce_method: 's256': expected auto, always or never");
    CHECK_ERROR(BASE "      response_mode: fragment\n",
                "config.yaml:7:22: upstream_oauth2.providers[0].response_mode: 'fragment': expected query or "
                "form_post");
    CHECK_ERROR(
        BASE "      on_backchannel_logout: all\n",
        "config.yaml:7:30: upstream_oauth2.providers[0].on_backchannel_logout: 'all': expected do_nothing, "
        "logout_browser_only or logout_all");
    CHECK_ERROR(BASE "      fetch_userinfo: yes\n",
                "config.yaml:7:23: upstream_oauth2.providers[0].fetch_userinfo: expected a boolean");
    /* templates */
    CHECK_ERROR(
        BASE "      claims_imports:\n        localpart:\n          action: require\n"
             "          template: \"{{ user.preferred_username | lowercase }}\"\n",
        "config.yaml:10:21: upstream_oauth2.providers[0].claims_imports.localpart.template: the template "
        "does not parse: line 1, column 30: unknown filter 'lowercase'");
    CHECK_ERROR(
        BASE
        "      claims_imports:\n        subject:\n          template: \"{% for c in user %}{% endfor %}\"\n",
        "config.yaml:9:21: upstream_oauth2.providers[0].claims_imports.subject.template: the template does "
        "not parse: line 1, column 4: 'for' is not supported in claims templates (only if and set)");
    CHECK_ERROR(
        BASE "      additional_authorization_parameters:\n        prompt: \"{{ logged_out \"\n",
        "config.yaml:8:17: upstream_oauth2.providers[0].additional_authorization_parameters.prompt: the "
        "template does not parse: line 1, column 15: expected '}}'");
    CHECK_ERROR(
        BASE "      additional_authorization_parameters:\n        state: x\n",
        "config.yaml:8:9: upstream_oauth2.providers[0].additional_authorization_parameters: state is set "
        "by masd itself and may not be replaced");
    CHECK_ERROR(
        BASE "      additional_authorization_parameters:\n        redirect_uri: x\n",
        "config.yaml:8:9: upstream_oauth2.providers[0].additional_authorization_parameters: redirect_uri "
        "is set by masd itself and may not be replaced");
    /* masd's stricter checks */
    CHECK_ERROR(BASE "    - id: " ID1 "\n      issuer: https://i\n      client_id: y\n"
                     "      token_endpoint_auth_method: none\n",
                "config.yaml:7:11: upstream_oauth2.providers[1].id: " ID1
                " is the id of providers[0] already");
    CHECK_ERROR(
        BASE "      synapse_idp_id: oidc\n    - id: " ID2 "\n      issuer: https://i\n      client_id: y\n"
             "      token_endpoint_auth_method: none\n      synapse_idp_id: oidc\n",
        "config.yaml:12:23: upstream_oauth2.providers[1].synapse_idp_id: used by providers[0] already");
    CHECK_ERROR(
        P "    - id: " ID1 "\n      issuer: http://idp.example.com\n      client_id: x\n"
          "      token_endpoint_auth_method: none\n",
        "config.yaml:4:15: upstream_oauth2.providers[0].issuer: discovery_mode oidc needs an https:// "
        "issuer (insecure allows http://)");
    CHECK_ERROR(
        BASE "      scope: \"openid  email\"\n",
        "config.yaml:7:14: upstream_oauth2.providers[0].scope: expected scope tokens separated by single "
        "spaces (RFC 6749 §3.3)");
    CHECK_ERROR(
        BASE "      scope: \"openid \\\"x\"\n",
        "config.yaml:7:14: upstream_oauth2.providers[0].scope: expected scope tokens separated by single "
        "spaces (RFC 6749 §3.3)");
    CHECK_ERROR(
        BASE "      id_token_signed_response_alg: HS256\n",
        "config.yaml:7:37: upstream_oauth2.providers[0].id_token_signed_response_alg: 'HS256': tokens "
        "signed so cannot be verified (use RS*, PS* or ES*, as the provider's JWKS publishes)");
    CHECK_ERROR(
        BASE "      id_token_signed_response_alg: RS257\n",
        "config.yaml:7:37: upstream_oauth2.providers[0].id_token_signed_response_alg: 'RS257': expected a "
        "JWS algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, ES256K, HS256, HS384, "
        "HS512, EdDSA)");
    CHECK_ERROR(
        P
        "    - id: " ID1 "\n      issuer: https://i\n      client_id: x\n      client_secret: s\n"
        "      token_endpoint_auth_method: client_secret_jwt\n      token_endpoint_auth_signing_alg: RS256\n",
        "config.yaml:8:40: upstream_oauth2.providers[0].token_endpoint_auth_signing_alg: client_secret_jwt "
        "signs with HS256, HS384 or HS512 (the client secret)");
    CHECK_ERROR(
        BASE "      token_endpoint: ftp://x/\n",
        "config.yaml:7:23: upstream_oauth2.providers[0].token_endpoint: 'ftp://x/': expected an absolute "
        "http:// or https:// URL without a fragment");
    static const char *const disabled =
        P "    - id: " ID1 "\n      client_id: x\n"
          "      token_endpoint_auth_method: none\n      discovery_mode: disabled\n";
    CHECK_ERROR(disabled, "config.yaml:6:23: upstream_oauth2.providers[0]: with discovery_mode disabled, "
                          "authorization_endpoint and token_endpoint are required");
    char yaml[1000];
    snprintf(yaml, sizeof(yaml),
             "%s      authorization_endpoint: https://i/a\n      token_endpoint: https://i/t\n", disabled);
    CHECK_ERROR(yaml,
                "config.yaml:6:23: upstream_oauth2.providers[0]: with discovery_mode disabled and the openid "
                "scope, jwks_uri is required (to check ID tokens)");
    snprintf(yaml, sizeof(yaml),
             "%s      authorization_endpoint: https://i/a\n      token_endpoint: https://i/t\n"
             "      jwks_uri: https://i/j\n",
             disabled);
    CHECK_ERROR(yaml,
                "config.yaml:6:23: upstream_oauth2.providers[0]: with the openid scope, issuer is required "
                "(every ID token's iss is checked against it)");
    snprintf(yaml, sizeof(yaml),
             "%s      authorization_endpoint: https://i/a\n      token_endpoint: https://i/t\n"
             "      scope: read:user\n      fetch_userinfo: true\n",
             disabled);
    CHECK_ERROR(
        yaml, "config.yaml:6:23: upstream_oauth2.providers[0]: with discovery_mode disabled, fetch_userinfo "
              "needs userinfo_endpoint");
    /* GitHub (MAS: docs/setup/sso.md): OAuth 2.0 only, no discovery, no ID token */
    snprintf(yaml, sizeof(yaml),
             "%s      authorization_endpoint: https://github.com/login/oauth/authorize\n"
             "      token_endpoint: https://github.com/login/oauth/access_token\n"
             "      userinfo_endpoint: https://api.github.com/user\n"
             "      scope: read:user\n      fetch_userinfo: true\n"
             "      claims_imports:\n        subject: {template: \"{{ userinfo_claims.id }}\"}\n",
             disabled);
    struct config *cfg = load(yaml);
    CHECK(cfg && !cfg->upstream_providers[0].scope_openid && cfg->upstream_providers[0].issuer == NULL);
    config_free(cfg);
    CHECK_ERROR("upstream_oauth2:\n  providers: {}\n",
                "config.yaml:2:14: upstream_oauth2.providers: expected a list, "
                "found a mapping");
}

int main(void)
{
    test_defaults();
    test_every_key();
    test_mas_example();
    test_errors();
    return check_report("test_config_upstream");
}
