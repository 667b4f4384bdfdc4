/* The upstream_oauth2 section (MAS: crates/config/src/sections/upstream_oauth2.rs): the
 * identity providers people sign in with. Every key with MAS's meaning and default, and MAS's
 * validate() checks (issuer unless discovery is disabled; a client secret exactly for the
 * client_secret_* methods; a signing algorithm exactly for client_secret_jwt and
 * private_key_jwt; sign_in_with_apple exactly with that method; skip_confirmation and
 * on_conflict against the localpart action).
 *
 * Where masd is stricter than MAS, so that a provider that could never work is refused at load
 * and not at the first sign-in: unknown keys are errors (config_keys.c; MAS ignores them, so a
 * typo such as claim_imports silently disables an import); every claims template and additional
 * parameter is compiled now (docs/claims-templates.md); the ids and synapse_idp_ids are unique
 * (MAS: the last upsert wins); the scope is parsed here (MAS: at sync, aborting the start-up);
 * discovery_mode oidc needs an https issuer (MAS's discovery refuses anything else); with
 * discovery disabled the endpoints the flow needs must be given (MAS only logs at sync), and
 * the issuer too whenever an ID token is expected (MAS then never checks `iss`), and
 * fetch_userinfo needs a userinfo endpoint (MAS panics); ID tokens and userinfo must be signed
 * with an algorithm MAS's verifier can check (RS*, PS*, ES*, not HS* nor EdDSA); the client
 * assertion algorithm must fit the method (HS* for client_secret_jwt, asymmetric for
 * private_key_jwt); additional parameters may not replace a protocol parameter (state, nonce,
 * redirect_uri, ...); a client_secret_file is trimmed as MAS's sync trims it; the Sign in with
 * Apple key must be a P-256 private key. */
#include "claims_template.h"
#include "config_internal.h"
#include "ulid.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const auth_names[] = {"none",
                                         "client_secret_basic",
                                         "client_secret_post",
                                         "client_secret_jwt",
                                         "private_key_jwt",
                                         "sign_in_with_apple"};
static const char *const discovery_names[] = {"oidc", "insecure", "disabled"};
static const char *const pkce_names[] = {"auto", "always", "never"};
static const char *const pkce_db_names[] = {"auto", "s256", "disabled"};
static const char *const response_mode_names[] = {"query", "form_post"};
static const char *const bcl_names[] = {"do_nothing", "logout_browser_only", "logout_all"};
static const char *const action_names[] = {"ignore", "suggest", "force", "require"};
static const char *const conflict_names[] = {"fail", "add", "replace", "set"};
/* JWS algorithms (RFC 7518, RFC 8037, RFC 8812), as MAS's JsonWebSignatureAlg */
static const char *const jws_algs[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256",
                                       "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA", "ES256K"};
/* What the authorization request carries itself (MAS: crates/oidc-client/src/requests/
 * authorization_code.rs): an additional parameter may not replace one of these. */
static const char *const reserved_params[] = {"response_type", "client_id",      "redirect_uri",
                                              "scope",         "state",          "nonce",
                                              "response_mode", "code_challenge", "code_challenge_method"};

const char *config_upstream_auth_name(enum config_upstream_auth m)
{
    return auth_names[m];
}
const char *config_upstream_discovery_name(enum config_upstream_discovery m)
{
    return discovery_names[m];
}
const char *config_upstream_pkce_db_name(enum config_upstream_pkce m)
{
    return pkce_db_names[m];
}
const char *config_upstream_response_mode_name(enum config_upstream_response_mode m)
{
    return m == UPSTREAM_RESPONSE_MODE_UNSET ? NULL : response_mode_names[m - 1];
}
const char *config_upstream_backchannel_name(enum config_upstream_backchannel m)
{
    return bcl_names[m];
}
const struct config_upstream_provider *config_upstream_provider(const struct config *cfg, const char *id,
                                                                size_t len)
{
    for (size_t i = 0; i < cfg->n_upstream_providers; i++) {
        const struct config_upstream_provider *p = &cfg->upstream_providers[i];
        if (strlen(p->id) == len && memcmp(p->id, id, len) == 0)
            return p;
    }
    return NULL;
}
const char *config_claims_action_name(enum config_claims_action a)
{
    return action_names[a];
}
const char *config_claims_conflict_name(enum config_claims_conflict c)
{
    return conflict_names[c];
}

/* One of names (the value of key in m), or def when the key is absent or null. */
static int get_choice(struct config_loader *ld, const struct ynode *m, const char *path, const char *key,
                      const char *const *names, size_t n, int def, int *out)
{
    char p[CONFIG_PATH_MAX], *s = NULL;
    const struct ynode *v = ynode_get(m, key, NULL);
    *out = def;
    int r = config_get_string_or_null(ld, v, config_subpath(p, path, key), &s);
    if (r < 0 || !s)
        return r;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            free(s);
            return 0;
        }
    char shown[96], list[256] = "";
    config_quote_bytes(s, strlen(s), shown, sizeof(shown));
    free(s);
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                 i ? (i + 1 == n ? " or " : ", ") : "", names[i]);
    return config_error(ld, v, -EINVAL, "%s: '%s': expected %s", p, shown, list);
}

static int get_str(struct config_loader *ld, const struct ynode *m, const char *path, const char *key,
                   char **out)
{
    char p[CONFIG_PATH_MAX];
    return config_get_string_or_null(ld, ynode_get(m, key, NULL), config_subpath(p, path, key), out);
}

static int get_bool(struct config_loader *ld, const struct ynode *m, const char *path, const char *key,
                    bool *out)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *v = ynode_get(m, key, NULL);
    if (!v || ynode_is_null(v))
        return 0;
    return config_get_bool(ld, v, config_subpath(p, path, key), out);
}

/* An absolute http(s) URL with a host and nothing a URL may not hold. */
static int get_url(struct config_loader *ld, const struct ynode *m, const char *path, const char *key,
                   char **out)
{
    char p[CONFIG_PATH_MAX];
    int r = get_str(ld, m, path, key, out);
    if (r < 0 || !*out)
        return r;
    const char *s = *out, *host = strncmp(s, "https://", 8) == 0  ? s + 8
                                  : strncmp(s, "http://", 7) == 0 ? s + 7
                                                                  : NULL;
    bool ok = host && *host && !strchr("/?#:", *host);
    for (const char *c = s; ok && *c; c++)
        ok = (unsigned char)*c > 0x20 && *c != 0x7f;
    if (ok && strchr(s, '#'))
        ok = false;
    if (ok)
        return 0;
    char shown[96];
    config_quote_bytes(s, strlen(s), shown, sizeof(shown));
    return config_error(ld, ynode_get(m, key, NULL), -EINVAL,
                        "%s: '%s': expected an absolute http:// or https:// URL without a fragment",
                        config_subpath(p, path, key), shown);
}

/* A JWS algorithm name; `verify`: one masd can check a signature of (not HS*, not EdDSA: MAS's
 * verifier has no key for them either, so such tokens never validate). */
static int get_alg(struct config_loader *ld, const struct ynode *m, const char *path, const char *key,
                   bool verify, char **out)
{
    char p[CONFIG_PATH_MAX];
    int r = get_str(ld, m, path, key, out);
    if (r < 0 || !*out)
        return r;
    bool known = false;
    for (size_t i = 0; i < N(jws_algs); i++)
        known |= strcmp(*out, jws_algs[i]) == 0;
    const struct ynode *v = ynode_get(m, key, NULL);
    char shown[96];
    config_quote_bytes(*out, strlen(*out), shown, sizeof(shown));
    if (!known)
        return config_error(
            ld, v, -EINVAL,
            "%s: '%s': expected a JWS algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, "
            "ES384, ES512, ES256K, HS256, HS384, HS512, EdDSA)",
            config_subpath(p, path, key), shown);
    if (verify && ((*out)[0] == 'H' || strcmp(*out, "EdDSA") == 0))
        return config_error(ld, v, -EINVAL,
                            "%s: '%s': tokens signed so cannot be verified (use RS*, PS* or ES*, as the "
                            "provider's JWKS publishes)",
                            config_subpath(p, path, key), shown);
    return 0;
}

static const char *const ws = " \t\r\n\v\f";

/* client_secret or client_secret_file (trimmed, as MAS's sync reads it). */
static int parse_secret(struct config_loader *ld, const struct ynode *m, const char *path,
                        struct config_upstream_provider *u)
{
    char p[CONFIG_PATH_MAX], *data = NULL;
    size_t len = 0;
    const struct ynode *where = NULL;
    int r = config_get_secret(ld, m, path, "client_secret", true, &data, &len, &where);
    bool from_file = where && where == ynode_get(m, "client_secret_file", NULL);
    if (r >= 0 && data && from_file) {
        size_t a = 0, whole = len;
        while (a < len && data[a] && strchr(ws, data[a]))
            a++;
        while (len > a && data[len - 1] && strchr(ws, data[len - 1]))
            len--;
        memmove(data, data + a, len - a);
        len -= a;
        memset(data + len, 0, whole - len);
    }
    if (r >= 0 && data && (len == 0 || memchr(data, '\0', len)))
        r = config_error(ld, where, -EINVAL, "%s: the secret is empty or holds a NUL byte",
                         config_subpath(p, path, from_file ? "client_secret_file" : "client_secret"));
    if (r >= 0) {
        u->client_secret = data;
        return 0;
    }
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return r;
}

static int parse_siwa(struct config_loader *ld, const struct ynode *m, const char *path,
                      struct config_upstream_provider *u)
{
    char p[CONFIG_PATH_MAX], kp[CONFIG_PATH_MAX];
    const struct ynode *key;
    const struct ynode *s = ynode_get(m, "sign_in_with_apple", &key);
    bool has = s && !ynode_is_null(s),
         siwa = u->token_endpoint_auth_method == UPSTREAM_AUTH_SIGN_IN_WITH_APPLE;
    config_subpath(p, path, "sign_in_with_apple");
    if (siwa && !has)
        return config_error(ld, ynode_get(m, "token_endpoint_auth_method", NULL), -EINVAL,
                            "%s: sign_in_with_apple needs the sign_in_with_apple section", path);
    if (!siwa && has)
        return config_error(ld, key, -EINVAL, "%s: only with token_endpoint_auth_method sign_in_with_apple",
                            p);
    if (!has)
        return 0;
    int r = config_expect_mapping(ld, s, p, false);
    if (r >= 0 && !ynode_get(s, "team_id", NULL))
        r = config_error(ld, s, -EINVAL, "%s.team_id is required", p);
    if (r >= 0 && !ynode_get(s, "key_id", NULL))
        r = config_error(ld, s, -EINVAL, "%s.key_id is required", p);
    if (r >= 0)
        r = config_get_string(ld, ynode_get(s, "team_id", NULL), config_subpath(kp, p, "team_id"),
                              &u->siwa_team_id);
    if (r >= 0)
        r = config_get_string(ld, ynode_get(s, "key_id", NULL), config_subpath(kp, p, "key_id"),
                              &u->siwa_key_id);
    if (r >= 0)
        r = config_one_of(ld, s, p, "private_key", "private_key_file", true);
    char *data = NULL;
    size_t len = 0;
    const struct ynode *where = NULL;
    if (r >= 0)
        r = config_get_secret(ld, s, p, "private_key", true, &data, &len, &where);
    if (r >= 0 && data) {
        EVP_PKEY *pkey = NULL;
        const char *why = "not a private key";
        enum key_family fam;
        char desc[64];
        if (config_decode_private_key(data, len, NULL, &pkey, &why) < 0 ||
            config_key_family(pkey, &fam, desc, sizeof(desc)) < 0 || fam != KEY_EC_P256)
            r = config_error(ld, where, -EINVAL, "%s: expected Apple's P-256 private key (PKCS#8 PEM): %s",
                             config_subpath(kp, p,
                                            where == ynode_get(s, "private_key", NULL) ? "private_key"
                                                                                       : "private_key_file"),
                             pkey ? "not a P-256 key" : why);
        EVP_PKEY_free(pkey);
    }
    if (r >= 0) {
        u->siwa_private_key = data;
        return 0;
    }
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scope tokens (RFC 6749 §3.3: NQCHAR, single spaces), stored as MAS stores its parsed Scope:
 * de-duplicated and sorted. */
static int parse_scope(struct config_loader *ld, const struct ynode *m, const char *path,
                       struct config_upstream_provider *u)
{
    char p[CONFIG_PATH_MAX], *s = NULL;
    const struct ynode *v = ynode_get(m, "scope", NULL);
    int r = get_str(ld, m, path, "scope", &s);
    if (r < 0)
        return r;
    if (!s && !(s = strdup("openid")))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    size_t n = 0, len = strlen(s);
    char **tok = calloc(len / 2 + 2, sizeof(*tok));
    bool ok = tok != NULL && len > 0;
    for (char *t = s; ok;) {
        char *sp = strchr(t, ' ');
        if (sp)
            *sp = '\0';
        ok = *t != '\0';
        for (const char *c = t; ok && *c; c++)
            ok = *c == 0x21 || (*c >= 0x23 && *c <= 0x5B) || (*c >= 0x5D && *c <= 0x7E);
        if (ok)
            tok[n++] = t;
        if (!sp)
            break;
        t = sp + 1;
    }
    if (!ok) {
        free(tok);
        free(s);
        return config_error(ld, v, -EINVAL,
                            "%s: expected scope tokens separated by single spaces (RFC 6749 §3.3)",
                            config_subpath(p, path, "scope"));
    }
    qsort(tok, n, sizeof(*tok), cmp_str);
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; out && i < n; i++) {
        if (i && strcmp(tok[i], tok[i - 1]) == 0)
            continue;
        o += (size_t)sprintf(out + o, "%s%s", o ? " " : "", tok[i]);
        u->scope_openid |= strcmp(tok[i], "openid") == 0;
    }
    free(tok);
    free(s);
    if (!out)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    u->scope = out;
    return 0;
}

/* Compiles a template; an error names the key and the place in the template. */
static int compile(struct config_loader *ld, const struct ynode *at, const char *path, const char *src,
                   struct claims_template **out)
{
    char err[256];
    int r = claims_template_compile(src, strlen(src), out, err, sizeof(err));
    if (r == -ENOMEM)
        return config_error(ld, at, r, "out of memory");
    if (r < 0)
        return config_error(ld, at, r, "%s: the template does not parse: %s", path, err);
    return 0;
}

/* claims_imports.<key>: {action, template[, on_conflict]} */
static int parse_import(struct config_loader *ld, const struct ynode *ci, const char *path, const char *key,
                        bool has_action, const char *def, struct config_claims_import *imp,
                        enum config_claims_conflict *conflict)
{
    char p[CONFIG_PATH_MAX], tp[CONFIG_PATH_MAX];
    const struct ynode *m = ynode_get(ci, key, NULL);
    static const struct ynode empty = {.kind = YNODE_MAPPING};
    config_subpath(p, path, key);
    if (!m || ynode_is_null(m))
        m = &empty;
    int r = config_expect_mapping(ld, m, p, true), v = 0;
    if (r >= 0 && has_action &&
        (r = get_choice(ld, m, p, "action", action_names, N(action_names), CLAIMS_IGNORE, &v)) >= 0)
        imp->action = (enum config_claims_action)v;
    if (r >= 0 && conflict &&
        (r = get_choice(ld, m, p, "on_conflict", conflict_names, N(conflict_names), CLAIMS_CONFLICT_FAIL,
                        &v)) >= 0)
        *conflict = (enum config_claims_conflict)v;
    if (r >= 0)
        r = get_str(ld, m, p, "template", &imp->template);
    const char *src = imp->template ? imp->template : def;
    if (r >= 0 && src)
        r = compile(ld, imp->template ? ynode_get(m, "template", NULL) : m, config_subpath(tp, p, "template"),
                    src, &imp->compiled);
    return r;
}

static int parse_claims(struct config_loader *ld, const struct ynode *m, const char *path,
                        struct config_upstream_provider *u)
{
    char p[CONFIG_PATH_MAX];
    static const struct ynode empty = {.kind = YNODE_MAPPING};
    const struct ynode *ci = ynode_get(m, "claims_imports", NULL);
    config_subpath(p, path, "claims_imports");
    if (!ci || ynode_is_null(ci))
        ci = &empty;
    int r = config_expect_mapping(ld, ci, p, true);
    if (r >= 0)
        r = parse_import(ld, ci, p, "subject", false, "{{ user.sub }}", &u->claims.subject, NULL);
    if (r >= 0)
        r = get_bool(ld, ci, p, "skip_confirmation", &u->claims.skip_confirmation);
    if (r >= 0)
        r = parse_import(ld, ci, p, "localpart", true, "{{ user.preferred_username }}", &u->claims.localpart,
                         &u->claims.localpart_on_conflict);
    if (r >= 0)
        r = parse_import(ld, ci, p, "displayname", true, "{{ user.name }}", &u->claims.displayname, NULL);
    if (r >= 0)
        r = parse_import(ld, ci, p, "email", true, "{{ user.email }}", &u->claims.email, NULL);
    if (r >= 0)
        r = parse_import(ld, ci, p, "account_name", false, NULL, &u->claims.account_name, NULL);
    if (r < 0)
        return r;
    /* MAS's validate() */
    char at[CONFIG_PATH_MAX];
    if (u->claims.skip_confirmation) {
        const struct ynode *k;
        ynode_get(ci, "skip_confirmation", &k);
        if (u->claims.localpart.action != CLAIMS_REQUIRE)
            return config_error(ld, k, -EINVAL, "%s: skip_confirmation needs %s.action require", p,
                                config_subpath(at, p, "localpart"));
        if (u->claims.email.action == CLAIMS_SUGGEST || u->claims.displayname.action == CLAIMS_SUGGEST)
            return config_error(
                ld, k, -EINVAL, "%s: with skip_confirmation, %s.action may not be suggest", p,
                config_subpath(at, p, u->claims.email.action == CLAIMS_SUGGEST ? "email" : "displayname"));
    }
    if (u->claims.localpart_on_conflict != CLAIMS_CONFLICT_FAIL &&
        u->claims.localpart.action != CLAIMS_FORCE && u->claims.localpart.action != CLAIMS_REQUIRE)
        return config_error(ld, ynode_get(ynode_get(ci, "localpart", NULL), "on_conflict", NULL), -EINVAL,
                            "%s.localpart.on_conflict: %s needs localpart.action force or require", p,
                            conflict_names[u->claims.localpart_on_conflict]);
    return 0;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const struct config_upstream_param *)a)->name,
                  ((const struct config_upstream_param *)b)->name);
}

static int parse_params(struct config_loader *ld, const struct ynode *m, const char *path,
                        struct config_upstream_provider *u)
{
    char p[CONFIG_PATH_MAX], kp[CONFIG_PATH_MAX];
    const struct ynode *ap = ynode_get(m, "additional_authorization_parameters", NULL);
    config_subpath(p, path, "additional_authorization_parameters");
    int r = get_bool(ld, m, path, "forward_login_hint", &u->forward_login_hint);
    bool has = ap && !ynode_is_null(ap);
    if (r < 0 || (has && (r = config_expect_mapping(ld, ap, p, true)) < 0))
        return r;
    size_t n = has ? ap->n_pairs : 0;
    if (!(u->params = calloc(n + 1, sizeof(*u->params))))
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    bool login_hint = false;
    for (size_t i = 0; i < n; i++) {
        const struct ynode *k = ap->pairs[i].key, *v = ap->pairs[i].value;
        struct config_upstream_param *prm = &u->params[u->n_params];
        const char *name;
        if (ynode_string(k, &name) < 0 || !*name)
            return config_error(ld, k, -EINVAL, "%s: expected a parameter name", p);
        for (size_t j = 0; j < N(reserved_params); j++)
            if (strcmp(name, reserved_params[j]) == 0)
                return config_error(ld, k, -EINVAL, "%s: %s is set by masd itself and may not be replaced", p,
                                    name);
        if (!(prm->name = strdup(name)))
            return config_error(ld, NULL, -ENOMEM, "out of memory");
        u->n_params++;
        config_subpath(kp, p, name);
        if ((r = config_get_string(ld, v, kp, &prm->template)) < 0 ||
            (r = compile(ld, v, kp, prm->template, &prm->compiled)) < 0)
            return r;
        login_hint |= strcmp(name, "login_hint") == 0;
    }
    /* MAS's sync: the deprecated flag stands for this template unless one is given */
    if (u->forward_login_hint && !login_hint) {
        struct config_upstream_param *prm = &u->params[u->n_params];
        if (!(prm->name = strdup("login_hint")) || !(prm->template = strdup("{{ params.login_hint }}")))
            return config_error(ld, NULL, -ENOMEM, "out of memory");
        u->n_params++;
        if ((r = compile(ld, ap, p, prm->template, &prm->compiled)) < 0)
            return r;
    }
    qsort(u->params, u->n_params, sizeof(*u->params), cmp_param);
    return 0;
}

/* MAS's rules between the method and what comes with it. */
static int check_method(struct config_loader *ld, const struct ynode *m, const char *path,
                        struct config_upstream_provider *u)
{
    const struct ynode *at = ynode_get(m, "token_endpoint_auth_method", NULL), *k;
    enum config_upstream_auth a = u->token_endpoint_auth_method;
    bool secret = a == UPSTREAM_AUTH_CLIENT_SECRET_BASIC || a == UPSTREAM_AUTH_CLIENT_SECRET_POST ||
                  a == UPSTREAM_AUTH_CLIENT_SECRET_JWT;
    bool jwt = a == UPSTREAM_AUTH_CLIENT_SECRET_JWT || a == UPSTREAM_AUTH_PRIVATE_KEY_JWT;
    const char *sk = ynode_get(m, "client_secret", &k) && !ynode_is_null(ynode_get(m, "client_secret", NULL))
                         ? "client_secret"
                         : "client_secret_file";
    const struct ynode *sv = ynode_get(m, sk, &k);
    bool has_secret = sv && !ynode_is_null(sv);
    if (secret && !has_secret)
        return config_error(ld, at, -EINVAL, "%s: %s needs client_secret or client_secret_file", path,
                            auth_names[a]);
    if (!secret && has_secret)
        return config_error(ld, k, -EINVAL, "%s.%s: %s takes no client secret", path, sk, auth_names[a]);
    const struct ynode *av = ynode_get(m, "token_endpoint_auth_signing_alg", &k);
    if (jwt && !u->token_endpoint_auth_signing_alg)
        return config_error(ld, at, -EINVAL, "%s: %s needs token_endpoint_auth_signing_alg", path,
                            auth_names[a]);
    if (!jwt && u->token_endpoint_auth_signing_alg)
        return config_error(ld, k, -EINVAL,
                            "%s.token_endpoint_auth_signing_alg: only for client_secret_jwt and "
                            "private_key_jwt",
                            path);
    if (jwt && (u->token_endpoint_auth_signing_alg[0] == 'H') != (a == UPSTREAM_AUTH_CLIENT_SECRET_JWT))
        return config_error(ld, av, -EINVAL, "%s.token_endpoint_auth_signing_alg: %s signs with %s", path,
                            auth_names[a],
                            a == UPSTREAM_AUTH_CLIENT_SECRET_JWT ? "HS256, HS384 or HS512 (the client secret)"
                                                                 : "a private key (RS*, PS*, ES*, EdDSA)");
    return 0;
}

/* The endpoints and issuer the flow will need, by discovery mode. */
static int check_endpoints(struct config_loader *ld, const struct ynode *m, const char *path,
                           struct config_upstream_provider *u)
{
    const struct ynode *dm = ynode_get(m, "discovery_mode", NULL), *at = dm ? dm : m;
    if (u->discovery_mode != UPSTREAM_DISCOVERY_DISABLED) {
        if (!u->issuer)
            return config_error(ld, at, -EINVAL, "%s: issuer is required unless discovery_mode is disabled",
                                path);
        if (u->discovery_mode == UPSTREAM_DISCOVERY_OIDC && strncmp(u->issuer, "https://", 8) != 0)
            return config_error(
                ld, ynode_get(m, "issuer", NULL), -EINVAL,
                "%s.issuer: discovery_mode oidc needs an https:// issuer (insecure allows http://)", path);
        return 0;
    }
    if (!u->authorization_endpoint || !u->token_endpoint)
        return config_error(
            ld, at, -EINVAL,
            "%s: with discovery_mode disabled, authorization_endpoint and token_endpoint are required", path);
    if (u->scope_openid && !u->jwks_uri)
        return config_error(
            ld, at, -EINVAL,
            "%s: with discovery_mode disabled and the openid scope, jwks_uri is required (to check ID "
            "tokens)",
            path);
    if (u->scope_openid && !u->issuer)
        return config_error(
            ld, at, -EINVAL,
            "%s: with the openid scope, issuer is required (every ID token's iss is checked against it)",
            path);
    if ((u->fetch_userinfo || u->userinfo_signed_response_alg) && !u->userinfo_endpoint)
        return config_error(ld, at, -EINVAL,
                            "%s: with discovery_mode disabled, fetch_userinfo needs userinfo_endpoint", path);
    return 0;
}

static int parse_provider(struct config_loader *ld, const struct ynode *m, size_t index,
                          struct config_upstream_provider *u)
{
    char path[CONFIG_PATH_MAX], p[CONFIG_PATH_MAX];
    snprintf(path, sizeof(path), "upstream_oauth2.providers[%zu]", index);
    u->pos = (struct config_pos){m->line, m->column};
    u->enabled = true;
    u->ui_order = (unsigned)index;
    int r = config_expect_mapping(ld, m, path, false), v = 0;
    static const char *const required[] = {"id", "client_id", "token_endpoint_auth_method"};
    for (size_t i = 0; r >= 0 && i < N(required); i++)
        if (!ynode_get(m, required[i], NULL))
            r = config_error(ld, m, -EINVAL, "%s: %s is required", path, required[i]);
    char *id = NULL;
    const struct ynode *idv = ynode_get(m, "id", NULL);
    uint8_t raw[16];
    if (r >= 0)
        r = config_get_string(ld, idv, config_subpath(p, path, "id"), &id);
    for (char *c = id; r >= 0 && *c; c++) /* MAS's ULID parser takes lower case too */
        *c = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
    if (r >= 0 && (strlen(id) != ULID_LEN || ulid_parse(id, raw) < 0))
        r = config_error(ld, idv, -EINVAL, "%s: expected a ULID", p);
    if (r >= 0)
        ulid_format(raw, u->id); /* canonical upper case */
    free(id);
    if (r >= 0)
        r = get_bool(ld, m, path, "enabled", &u->enabled);
    if (r >= 0)
        r = get_str(ld, m, path, "synapse_idp_id", &u->synapse_idp_id);
    if (r >= 0)
        r = get_str(ld, m, path, "issuer", &u->issuer);
    if (r >= 0)
        r = get_str(ld, m, path, "human_name", &u->human_name);
    if (r >= 0)
        r = get_str(ld, m, path, "brand_name", &u->brand_name);
    if (r >= 0)
        r = config_get_string(ld, ynode_get(m, "client_id", NULL), config_subpath(p, path, "client_id"),
                              &u->client_id);
    if (r >= 0 &&
        (r = get_choice(ld, m, path, "token_endpoint_auth_method", auth_names, N(auth_names), 0, &v)) >= 0)
        u->token_endpoint_auth_method = (enum config_upstream_auth)v;
    if (r >= 0)
        r = get_alg(ld, m, path, "token_endpoint_auth_signing_alg", false,
                    &u->token_endpoint_auth_signing_alg);
    if (r >= 0)
        r = get_alg(ld, m, path, "id_token_signed_response_alg", true, &u->id_token_signed_response_alg);
    if (r >= 0 && !u->id_token_signed_response_alg && !(u->id_token_signed_response_alg = strdup("RS256")))
        r = config_error(ld, NULL, -ENOMEM, "out of memory");
    if (r >= 0)
        r = get_alg(ld, m, path, "userinfo_signed_response_alg", true, &u->userinfo_signed_response_alg);
    if (r >= 0)
        r = parse_scope(ld, m, path, u);
    if (r >= 0 &&
        (r = get_choice(ld, m, path, "discovery_mode", discovery_names, N(discovery_names), 0, &v)) >= 0)
        u->discovery_mode = (enum config_upstream_discovery)v;
    if (r >= 0 && (r = get_choice(ld, m, path, "pkce_method", pkce_names, N(pkce_names), 0, &v)) >= 0)
        u->pkce_method = (enum config_upstream_pkce)v;
    if (r >= 0)
        r = get_bool(ld, m, path, "fetch_userinfo", &u->fetch_userinfo);
    if (r >= 0)
        r = get_url(ld, m, path, "authorization_endpoint", &u->authorization_endpoint);
    if (r >= 0)
        r = get_url(ld, m, path, "token_endpoint", &u->token_endpoint);
    if (r >= 0)
        r = get_url(ld, m, path, "userinfo_endpoint", &u->userinfo_endpoint);
    if (r >= 0)
        r = get_url(ld, m, path, "jwks_uri", &u->jwks_uri);
    if (r >= 0 && (r = get_choice(ld, m, path, "response_mode", response_mode_names, N(response_mode_names),
                                  -1, &v)) >= 0)
        u->response_mode = (enum config_upstream_response_mode)(v + 1);
    if (r >= 0 && (r = get_choice(ld, m, path, "on_backchannel_logout", bcl_names, N(bcl_names), 0, &v)) >= 0)
        u->on_backchannel_logout = (enum config_upstream_backchannel)v;
    if (r >= 0)
        r = get_bool(ld, m, path, "registration_token_required", &u->registration_token_required);
    if (r >= 0)
        r = check_method(ld, m, path, u);
    if (r >= 0)
        r = parse_secret(ld, m, path, u);
    if (r >= 0)
        r = parse_siwa(ld, m, path, u);
    if (r >= 0)
        r = check_endpoints(ld, m, path, u);
    if (r >= 0)
        r = parse_claims(ld, m, path, u);
    if (r >= 0)
        r = parse_params(ld, m, path, u);
    return r;
}

int config_upstream_parse(struct config_loader *ld, const struct ynode *section)
{
    if (!section || ynode_is_null(section))
        return 0;
    int r = config_expect_mapping(ld, section, "upstream_oauth2", true);
    const struct ynode *list = r >= 0 ? ynode_get(section, "providers", NULL) : NULL;
    if (r < 0 || !list || ynode_is_null(list))
        return r;
    if ((r = config_expect_sequence(ld, list, "upstream_oauth2.providers")) < 0)
        return r;
    struct config *cfg = ld->cfg;
    cfg->upstream_providers = calloc(list->n_items ? list->n_items : 1, sizeof(*cfg->upstream_providers));
    if (!cfg->upstream_providers)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    for (size_t i = 0; i < list->n_items; i++) {
        struct config_upstream_provider *u = &cfg->upstream_providers[i];
        cfg->n_upstream_providers++;
        if ((r = parse_provider(ld, list->items[i], i, u)) < 0)
            return r;
        for (size_t j = 0; j < i; j++) {
            const struct config_upstream_provider *o = &cfg->upstream_providers[j];
            if (strcmp(o->id, u->id) == 0)
                return config_error(
                    ld, ynode_get(list->items[i], "id", NULL), -EINVAL,
                    "upstream_oauth2.providers[%zu].id: %s is the id of providers[%zu] already", i, u->id, j);
            if (u->synapse_idp_id && o->synapse_idp_id && strcmp(o->synapse_idp_id, u->synapse_idp_id) == 0)
                return config_error(
                    ld, ynode_get(list->items[i], "synapse_idp_id", NULL), -EINVAL,
                    "upstream_oauth2.providers[%zu].synapse_idp_id: used by providers[%zu] already", i, j);
        }
    }
    return 0;
}

static void free_import(struct config_claims_import *imp)
{
    free(imp->template);
    claims_template_free(imp->compiled);
}

static void wipe(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void config_upstream_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_upstream_providers; i++) {
        struct config_upstream_provider *u = &cfg->upstream_providers[i];
        free(u->synapse_idp_id);
        free(u->issuer);
        free(u->human_name);
        free(u->brand_name);
        free(u->client_id);
        wipe(u->client_secret);
        wipe(u->siwa_private_key);
        free(u->siwa_team_id);
        free(u->siwa_key_id);
        free(u->token_endpoint_auth_signing_alg);
        free(u->id_token_signed_response_alg);
        free(u->scope);
        free(u->userinfo_signed_response_alg);
        free(u->authorization_endpoint);
        free(u->token_endpoint);
        free(u->userinfo_endpoint);
        free(u->jwks_uri);
        free_import(&u->claims.subject);
        free_import(&u->claims.localpart);
        free_import(&u->claims.displayname);
        free_import(&u->claims.email);
        free_import(&u->claims.account_name);
        for (size_t j = 0; j < u->n_params; j++) {
            free(u->params[j].name);
            free(u->params[j].template);
            claims_template_free(u->params[j].compiled);
        }
        free(u->params);
    }
    free(cfg->upstream_providers);
    cfg->upstream_providers = NULL;
    cfg->n_upstream_providers = 0;
}
