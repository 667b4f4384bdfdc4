/* The authorization code exchange (upstream_rp.h): client authentication by each of the six
 * methods, the token response, the ID token, userinfo. docs/upstream-oauth.md. */
#include "base64.h"
#include "jose.h"
#include "random.h"
#include "upstream_rp.h"
#include "upstream_rp_http.h"
#include "upstream_rp_state.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define ASSERTION_TYPE          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define APPLE_AUDIENCE          "https://appleid.apple.com"
#define ASSERTION_LIFETIME_S    300
#define APPLE_SECRET_LIFETIME_S 60

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* A client assertion (RFC 7523 §3): iss = sub = client_id, aud = the token endpoint, a fresh jti,
 * iat now, exp five minutes later. */
static json_t *assertion_claims(const struct config_upstream_provider *p, const char *token_endpoint,
                                int64_t now)
{
    unsigned char raw[16];
    if (random_bytes(raw, sizeof(raw)) < 0)
        return NULL;
    char *jti = base64url_encode(raw, sizeof(raw));
    json_t *c = jti ? json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", p->client_id, "sub", p->client_id,
                                "aud", token_endpoint, "jti", jti, "iat", (json_int_t)now, "exp",
                                (json_int_t)(now + ASSERTION_LIFETIME_S))
                    : NULL;
    free(jti);
    return c;
}

/* Sign in with Apple's client secret: an ES256 JWT by the team's key (kid = key_id), iss = team_id,
 * sub = client_id, aud = Apple, valid a minute (Apple: "Creating a client secret"). */
static int apple_secret(const struct config_upstream_provider *p, int64_t now, char **out,
                        struct upstream_rp_error *err)
{
    struct jose_key *key = NULL;
    *out = NULL;
    if (!p->siwa_private_key || !p->siwa_team_id || !p->siwa_key_id)
        return rp_fail(err, UPSTREAM_RP_MISCONFIGURED,
                       "sign_in_with_apple has no private key, team_id or key_id");
    if (jose_key_from_pem(p->siwa_private_key, p->siwa_key_id, &key) < 0 ||
        !jose_key_supports(key, "ES256")) {
        jose_key_free(key);
        return rp_fail(err, UPSTREAM_RP_MISCONFIGURED, "sign_in_with_apple's private key is not a P-256 key");
    }
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", p->siwa_team_id, "sub", p->client_id, "aud",
                  APPLE_AUDIENCE, "iat", (json_int_t)now, "exp", (json_int_t)(now + APPLE_SECRET_LIFETIME_S));
    int r = c ? jose_sign(key, "ES256", c, out) : -ENOMEM;
    json_decref(c);
    jose_key_free(key);
    return r < 0 ? rp_fail(err, UPSTREAM_RP_NOMEM, "could not sign the Apple client secret") : 0;
}

/* Basic credentials (RFC 6749 §2.3.1: each part form-encoded first). */
static char *basic_auth(const char *id, const char *secret)
{
    char *i = rp_form_encode(id), *s = rp_form_encode(secret), *joined = NULL, *b64 = NULL, *out = NULL;
    if (i && s && asprintf(&joined, "%s:%s", i, s) >= 0 &&
        (b64 = base64_encode((const unsigned char *)joined, strlen(joined))) &&
        asprintf(&out, "Basic %s", b64) < 0)
        out = NULL;
    free(i);
    wipe_free(s);
    wipe_free(joined);
    wipe_free(b64);
    return out;
}

/* Adds the client authentication of p to the form (and *authorization for Basic). */
static int client_auth(struct upstream_rp *rp, const struct config_upstream_provider *p,
                       const char *token_endpoint, int64_t now, char **form, char **authorization,
                       struct upstream_rp_error *err)
{
    char *jwt = NULL;
    json_t *c = NULL;
    int r = 0;
    const char *alg = p->token_endpoint_auth_signing_alg ? p->token_endpoint_auth_signing_alg : "RS256";
    switch (p->token_endpoint_auth_method) {
    case UPSTREAM_AUTH_NONE:
        return rp_form_add(form, "client_id", p->client_id) < 0
                   ? rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory")
                   : 0;
    case UPSTREAM_AUTH_CLIENT_SECRET_BASIC:
        if (!p->client_secret)
            return rp_fail(err, UPSTREAM_RP_MISCONFIGURED, "client_secret_basic without a client_secret");
        return (*authorization = basic_auth(p->client_id, p->client_secret))
                   ? 0
                   : rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory");
    case UPSTREAM_AUTH_CLIENT_SECRET_POST:
        if (!p->client_secret)
            return rp_fail(err, UPSTREAM_RP_MISCONFIGURED, "client_secret_post without a client_secret");
        r = rp_form_add(form, "client_id", p->client_id) < 0 ||
                    rp_form_add(form, "client_secret", p->client_secret) < 0
                ? -1
                : 0;
        return r < 0 ? rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory") : 0;
    case UPSTREAM_AUTH_CLIENT_SECRET_JWT:
        if (!p->client_secret || !jose_alg_is_hmac(alg))
            return rp_fail(err, UPSTREAM_RP_MISCONFIGURED,
                           "client_secret_jwt needs a client_secret and an HS* alg");
        if (!(c = assertion_claims(p, token_endpoint, now)) ||
            jose_sign_hmac(alg, p->client_secret, strlen(p->client_secret), c, &jwt) < 0)
            r = rp_fail(err, UPSTREAM_RP_NOMEM, "could not sign the client assertion");
        break;
    case UPSTREAM_AUTH_PRIVATE_KEY_JWT: {
        const struct jose_key *key = jose_keyset_find(rp->keys, alg);
        if (!key)
            return rp_fail(err, UPSTREAM_RP_MISCONFIGURED, "private_key_jwt: secrets.keys has no key for %s",
                           alg);
        if (!(c = assertion_claims(p, token_endpoint, now)) || jose_sign(key, alg, c, &jwt) < 0)
            r = rp_fail(err, UPSTREAM_RP_NOMEM, "could not sign the client assertion");
        break;
    }
    case UPSTREAM_AUTH_SIGN_IN_WITH_APPLE:
        if (apple_secret(p, now, &jwt, err) < 0)
            return -1;
        r = rp_form_add(form, "client_id", p->client_id) < 0 || rp_form_add(form, "client_secret", jwt) < 0
                ? -1
                : 0;
        free(jwt);
        return r < 0 ? rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory") : 0;
    }
    json_decref(c);
    if (r == 0 && (rp_form_add(form, "client_assertion_type", ASSERTION_TYPE) < 0 ||
                   rp_form_add(form, "client_assertion", jwt) < 0))
        r = rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory");
    free(jwt);
    return r;
}

/* POSTs the code to the token endpoint; *doc: its JSON answer. */
static int token_request(struct upstream_rp *rp, const struct config_upstream_provider *p,
                         const struct upstream_rp_metadata *m, const struct upstream_rp_exchange *in,
                         json_t **doc, struct upstream_rp_error *err)
{
    char *form = NULL, *authorization = NULL;
    *doc = NULL;
    if (!in->code || !in->redirect_uri)
        return rp_fail(err, UPSTREAM_RP_INVALID, "no code or redirect_uri to exchange");
    int r = rp_form_add(&form, "grant_type", "authorization_code") < 0 ||
                    rp_form_add(&form, "code", in->code) < 0 ||
                    rp_form_add(&form, "redirect_uri", in->redirect_uri) < 0 ||
                    (in->verifier && rp_form_add(&form, "code_verifier", in->verifier) < 0)
                ? rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory")
                : 0;
    if (r == 0)
        r = client_auth(rp, p, m->token_endpoint, in->now, &form, &authorization, err);
    struct rp_response res = {0};
    struct rp_request req = {.what = "the token endpoint",
                             .url = m->token_endpoint,
                             .form = form,
                             .accept = "application/json",
                             .authorization = authorization};
    if (r == 0)
        r = rp_http(rp->timeout_ms, rp->connect_timeout_ms, &req, &res, err);
    wipe_free(form);
    wipe_free(authorization);
    if (r < 0)
        return -1;
    if (res.status != 200)
        r = rp_token_error(res.status, res.body, res.len, err);
    else if (!(*doc = json_loadb(res.body, res.len, JSON_REJECT_DUPLICATES, NULL)))
        r = rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the token endpoint's answer is not JSON");
    OPENSSL_cleanse(res.body, res.len);
    rp_response_clear(&res);
    return r;
}

/* GET userinfo with the access token: JSON, or a JWT signed with userinfo_signed_response_alg. */
static int userinfo(struct upstream_rp *rp, const struct config_upstream_provider *p,
                    const struct upstream_rp_metadata *m, const char *access_token, const char *id_sub,
                    int64_t now, json_t **out, struct upstream_rp_error *err)
{
    bool is_signed = p->userinfo_signed_response_alg != NULL;
    char *bearer = NULL;
    *out = NULL;
    if (asprintf(&bearer, "Bearer %s", access_token) < 0)
        return rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory");
    struct rp_response res;
    struct rp_request req = {.what = "the userinfo endpoint",
                             .url = m->userinfo_endpoint,
                             .accept = is_signed ? "application/jwt" : "application/json",
                             .authorization = bearer};
    int r = rp_http(rp->timeout_ms, rp->connect_timeout_ms, &req, &res, err);
    wipe_free(bearer);
    if (r < 0)
        return -1;
    json_t *claims = NULL;
    if (res.status != 200)
        r = rp_fail(err, res.status >= 500 ? UPSTREAM_RP_UNREACHABLE : UPSTREAM_RP_BAD_ANSWER,
                    "the userinfo endpoint answered %ld", res.status);
    else if (strcmp(res.content_type, req.accept) != 0)
        r = rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the userinfo endpoint answered with %s, expected %s",
                    res.content_type[0] ? res.content_type : "no content type", req.accept);
    else if (is_signed) {
        while (res.len && (res.body[res.len - 1] == '\n' || res.body[res.len - 1] == '\r'))
            res.body[--res.len] = '\0';
        r = rp_verify_token(rp, m->jwks_uri, res.body, p->userinfo_signed_response_alg, now, &claims, err);
    } else if (!(claims = json_loadb(res.body, res.len, JSON_REJECT_DUPLICATES, NULL)))
        r = rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the userinfo answer is not JSON");
    rp_response_clear(&res);
    const struct rp_expect e = {.issuer = m->issuer, .client_id = p->client_id, .now = now};
    if (r == 0)
        r = rp_check_userinfo_claims(claims, id_sub, is_signed, &e, err);
    if (r < 0) {
        json_decref(claims);
        return -1;
    }
    *out = claims;
    return 0;
}

int upstream_rp_exchange(struct upstream_rp *rp, const struct config_upstream_provider *p,
                         const struct upstream_rp_exchange *in, struct upstream_rp_result *out,
                         struct upstream_rp_error *err)
{
    struct upstream_rp_metadata m;
    json_t *doc = NULL;
    const char *access_token = NULL, *id_token = NULL;
    memset(out, 0, sizeof(*out));
    if (upstream_rp_metadata(rp, p, in->now, &m, err) < 0)
        return -1;
    int r = token_request(rp, p, &m, in, &doc, err);
    if (r == 0)
        r = rp_check_token_response(doc, p->scope_openid, &access_token, &id_token, err);
    if (r == 0 && id_token) {
        const struct rp_expect e = {.issuer = m.issuer,
                                    .client_id = p->client_id,
                                    .alg = p->id_token_signed_response_alg,
                                    .now = in->now,
                                    .nonce = in->nonce,
                                    .access_token = access_token,
                                    .code = in->code};
        if (!m.jwks_uri || !m.issuer)
            r = rp_fail(err, UPSTREAM_RP_MISCONFIGURED,
                        "an ID token came but there is no jwks_uri or issuer to check it");
        if (r == 0)
            r = rp_verify_token(rp, m.jwks_uri, id_token, e.alg, in->now, &out->id_token_claims, err);
        if (r == 0)
            r = rp_check_id_token_claims(out->id_token_claims, &e, err);
        if (r == 0 && !(out->id_token = strdup(id_token)))
            r = rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory");
    }
    if (r == 0 && p->fetch_userinfo) {
        const char *sub = json_string_value(json_object_get(out->id_token_claims, "sub"));
        r = userinfo(rp, p, &m, access_token, sub, in->now, &out->userinfo, err);
    }
    if (doc) {
        /* the access token dies with the answer: it is never kept */
        json_t *at = json_object_get(doc, "access_token");
        if (json_is_string(at))
            OPENSSL_cleanse((char *)json_string_value(at), json_string_length(at));
    }
    json_decref(doc);
    upstream_rp_metadata_clear(&m);
    if (r < 0) {
        upstream_rp_result_clear(out);
        return -1;
    }
    err->status = UPSTREAM_RP_OK;
    err->message[0] = '\0';
    return 0;
}
