/* The relying party's checks on what an upstream provider sends (upstream_rp_internal.h):
 * discovery documents, token responses, ID tokens, userinfo and logout tokens. Nothing here goes
 * to the network. docs/upstream-oauth.md §"The relying party" lists the rules. */
#include "jose.h"
#include "upstream_rp_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

int rp_fail(struct upstream_rp_error *err, enum upstream_rp_status status, const char *fmt, ...)
{
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

void rp_printable(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; s && *s && n + 1 < size && n < 64; s++)
        out[n++] = (unsigned char)*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\' ? '?' : *s;
    out[n] = '\0';
    if (s && *s && size > 4 && n + 4 < size)
        strcpy(out + n, "...");
}

/* ---- discovery ------------------------------------------------------------------------------ */

static bool is_https_url(const char *s)
{
    return strncasecmp(s, "https://", 8) == 0 && s[8] && s[8] != '/' && !strpbrk(s, " \t\r\n");
}

static bool is_http_url(const char *s)
{
    return is_https_url(s) ||
           (strncasecmp(s, "http://", 7) == 0 && s[7] && s[7] != '/' && !strpbrk(s, " \t\r\n"));
}

static const char *const required_members[] = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
};
static const char *const required_arrays[] = {
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
};
/* Every URL a provider may advertise: each must be https under discovery_mode oidc. */
static const char *const url_members[] = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "registration_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "end_session_endpoint",
    "device_authorization_endpoint",
    "pushed_authorization_request_endpoint",
    "check_session_iframe",
};
static const char *const no_fragment[] = {"issuer", "authorization_endpoint", "token_endpoint",
                                          "revocation_endpoint"};
static const char *const signing_alg_lists[] = {
    "token_endpoint_auth_signing_alg_values_supported",
    "revocation_endpoint_auth_signing_alg_values_supported",
    "introspection_endpoint_auth_signing_alg_values_supported",
};

static bool array_has(const json_t *a, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

int rp_check_discovery(const json_t *doc, const struct config_upstream_provider *p,
                       struct upstream_rp_error *err)
{
    char a[80], b[80];
    if (!json_is_object(doc))
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document is not a JSON object");
    for (size_t i = 0; i < sizeof(required_members) / sizeof(required_members[0]); i++)
        if (!json_is_string(json_object_get(doc, required_members[i])))
            return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document has no %s",
                           required_members[i]);
    for (size_t i = 0; i < sizeof(required_arrays) / sizeof(required_arrays[0]); i++)
        if (!json_is_array(json_object_get(doc, required_arrays[i])))
            return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document has no %s",
                           required_arrays[i]);
    bool strict = p->discovery_mode == UPSTREAM_DISCOVERY_OIDC;
    for (size_t i = 0; i < sizeof(url_members) / sizeof(url_members[0]); i++) {
        const json_t *v = json_object_get(doc, url_members[i]);
        if (!v)
            continue;
        const char *s = json_string_value(v);
        if (!s || !(strict ? is_https_url(s) : is_http_url(s))) {
            rp_printable(s, a, sizeof(a));
            return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document's %s \"%s\" is not an %s URL",
                           url_members[i], a, strict ? "https" : "http(s)");
        }
    }
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    if (!p->issuer || strcmp(iss, p->issuer) != 0) {
        rp_printable(iss, a, sizeof(a));
        rp_printable(p->issuer, b, sizeof(b));
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER,
                       "the discovery document's issuer is \"%s\", expected \"%s\"", a, b);
    }
    if (!strict)
        return 0;
    if (strchr(iss, '?'))
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document's issuer has a query");
    for (size_t i = 0; i < sizeof(no_fragment) / sizeof(no_fragment[0]); i++) {
        const char *s = json_string_value(json_object_get(doc, no_fragment[i]));
        if (s && strchr(s, '#'))
            return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document's %s has a fragment",
                           no_fragment[i]);
    }
    const json_t *scopes = json_object_get(doc, "scopes_supported");
    if (scopes && (!json_is_array(scopes) || !array_has(scopes, "openid")))
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document's scopes_supported lacks openid");
    for (size_t i = 0; i < sizeof(signing_alg_lists) / sizeof(signing_alg_lists[0]); i++) {
        const json_t *l = json_object_get(doc, signing_alg_lists[i]);
        if (l && (!json_is_array(l) || array_has(l, "none")))
            return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the discovery document's %s lists \"none\"",
                           signing_alg_lists[i]);
    }
    return 0;
}

/* ---- JWS ------------------------------------------------------------------------------------ */

/* A JWK's own alg, when it has one, restricts the key to that algorithm (RFC 7517 §4.4). */
static bool key_alg_fits(const json_t *jwks, const char *kid, const char *alg)
{
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        const char *s = json_string_value(json_object_get(k, "kid"));
        const char *ka = json_string_value(json_object_get(k, "alg"));
        if (kid && s && strcmp(s, kid) == 0 && ka && strcmp(ka, alg) != 0)
            return false;
    }
    return true;
}

int rp_verify_jws(const char *token, const json_t *jwks, const char *alg, json_t **claims,
                  struct upstream_rp_error *err)
{
    struct jose_jws jws;
    char a[JOSE_ALG_MAX + 8];
    *claims = NULL;
    if (!token || jose_jws_parse(token, strlen(token), &jws) < 0)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the token is not a signed JWT (compact JWS)");
    rp_printable(jws.alg, a, sizeof(a));
    int r = 0;
    if (!jose_alg_is_asymmetric(jws.alg))
        r = rp_fail(err, UPSTREAM_RP_INVALID, "the token is signed with \"%s\", which is never accepted", a);
    else if (!alg || strcmp(jws.alg, alg) != 0)
        r = rp_fail(err, UPSTREAM_RP_INVALID, "the token is signed with %s, expected %s", a,
                    alg ? alg : "(none)");
    else if (!key_alg_fits(jwks, jws.kid, jws.alg))
        r = rp_fail(err, UPSTREAM_RP_INVALID, "the token's key is published for another algorithm than %s",
                    a);
    else if (jose_jws_verify_jwks(&jws, token, jwks) < 0)
        r = rp_fail(err, UPSTREAM_RP_INVALID,
                    "the token's signature does not verify with the provider's keys");
    if (r == 0)
        *claims = json_incref(jws.payload);
    jose_jws_clear(&jws);
    return r;
}

char *rp_jws_kid(const char *token)
{
    struct jose_jws jws;
    if (!token || jose_jws_parse(token, strlen(token), &jws) < 0)
        return NULL;
    char *kid = jws.kid;
    jws.kid = NULL;
    jose_jws_clear(&jws);
    return kid;
}

bool rp_jwks_has_kid(const json_t *jwks, const char *kid)
{
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        const char *s = json_string_value(json_object_get(k, "kid"));
        if (s && kid && strcmp(s, kid) == 0)
            return true;
    }
    return false;
}

/* ---- claims --------------------------------------------------------------------------------- */

static int check_iss(const json_t *claims, const struct rp_expect *e, const char *what,
                     struct upstream_rp_error *err)
{
    char a[80], b[80];
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (!e->issuer)
        return rp_fail(err, UPSTREAM_RP_MISCONFIGURED,
                       "no issuer is configured to check the %s's iss against", what);
    if (!iss)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s has no iss", what);
    if (strcmp(iss, e->issuer) != 0) {
        rp_printable(iss, a, sizeof(a));
        rp_printable(e->issuer, b, sizeof(b));
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s's iss is \"%s\", expected \"%s\"", what, a, b);
    }
    return 0;
}

/* aud holds client_id (a string, or an array of strings); *n: how many audiences. */
static int check_aud(const json_t *claims, const struct rp_expect *e, const char *what, size_t *n,
                     struct upstream_rp_error *err)
{
    const json_t *aud = json_object_get(claims, "aud"), *v;
    bool found = false;
    size_t i;
    *n = 0;
    if (json_is_string(aud)) {
        *n = 1;
        found = strcmp(json_string_value(aud), e->client_id) == 0;
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v))
                return rp_fail(err, UPSTREAM_RP_INVALID, "the %s's aud holds a value that is not a string",
                               what);
            found |= strcmp(json_string_value(v), e->client_id) == 0;
            (*n)++;
        }
    } else {
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s has no aud", what);
    }
    if (!found)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s's aud does not hold our client_id", what);
    return 0;
}

/* A NumericDate claim (RFC 7519 §2): a JSON number, kept to whole seconds. */
static bool numeric_date(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) > -1e15 && json_real_value(v) < 1e15) {
        *out = (int64_t)json_real_value(v);
        return true;
    }
    return false;
}

static int check_times(const json_t *claims, const struct rp_expect *e, const char *what,
                       struct upstream_rp_error *err)
{
    int64_t exp = 0, iat = 0, nbf = 0;
    if (!numeric_date(claims, "exp", &exp))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s has no exp", what);
    if (exp < e->now - UPSTREAM_RP_LEEWAY_S)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s expired %lld s ago", what,
                       (long long)(e->now - exp));
    if (!numeric_date(claims, "iat", &iat))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s has no iat", what);
    if (iat > e->now + UPSTREAM_RP_LEEWAY_S)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s was issued %lld s in the future", what,
                       (long long)(iat - e->now));
    if (!json_object_get(claims, "nbf"))
        return 0;
    if (!numeric_date(claims, "nbf", &nbf))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s's nbf is not a number", what);
    if (nbf > e->now + UPSTREAM_RP_LEEWAY_S)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the %s is not valid before %lld", what, (long long)nbf);
    return 0;
}

/* sub (OIDC Core §2): a non-empty string of at most 255 characters. */
static bool sub_valid(const json_t *sub)
{
    return json_is_string(sub) && json_string_length(sub) > 0 && json_string_length(sub) <= 255 &&
           strlen(json_string_value(sub)) == json_string_length(sub);
}

static int check_hash(const json_t *claims, const char *name, const char *alg, const char *value,
                      struct upstream_rp_error *err)
{
    const json_t *v = json_object_get(claims, name);
    char want[88];
    if (!v || !value)
        return 0;
    if (!json_is_string(v) || jose_token_hash(alg, value, want) < 0 ||
        strcmp(json_string_value(v), want) != 0)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the ID token's %s does not match the %s", name,
                       strcmp(name, "at_hash") == 0 ? "access token" : "code");
    return 0;
}

int rp_check_id_token_claims(const json_t *claims, const struct rp_expect *e, struct upstream_rp_error *err)
{
    size_t n_aud;
    if (!json_is_object(claims))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the ID token's payload is not a JSON object");
    if (check_iss(claims, e, "ID token", err) < 0 || check_aud(claims, e, "ID token", &n_aud, err) < 0)
        return -1;
    const json_t *azp = json_object_get(claims, "azp");
    if (azp && (!json_is_string(azp) || strcmp(json_string_value(azp), e->client_id) != 0))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the ID token's azp is not our client_id");
    if (!azp && n_aud > 1)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the ID token has several audiences and no azp");
    if (check_times(claims, e, "ID token", err) < 0)
        return -1;
    if (!sub_valid(json_object_get(claims, "sub")))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the ID token has no valid sub");
    if (e->nonce) {
        const json_t *nonce = json_object_get(claims, "nonce");
        if (!json_is_string(nonce))
            return rp_fail(err, UPSTREAM_RP_INVALID, "the ID token has no nonce");
        if (strcmp(json_string_value(nonce), e->nonce) != 0)
            return rp_fail(err, UPSTREAM_RP_INVALID, "the ID token's nonce is not the one sent");
    }
    if (check_hash(claims, "at_hash", e->alg, e->access_token, err) < 0 ||
        check_hash(claims, "c_hash", e->alg, e->code, err) < 0)
        return -1;
    return 0;
}

int rp_check_logout_claims(const json_t *claims, const struct rp_expect *e, struct upstream_rp_error *err)
{
    size_t n_aud;
    int64_t iat = 0;
    if (!json_is_object(claims))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the logout token's payload is not a JSON object");
    if (check_iss(claims, e, "logout token", err) < 0 ||
        check_aud(claims, e, "logout token", &n_aud, err) < 0 ||
        check_times(claims, e, "logout token", err) < 0)
        return -1;
    numeric_date(claims, "iat", &iat);
    if (iat < e->now - UPSTREAM_RP_LOGOUT_MAX_AGE_S)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the logout token was issued %lld s ago, more than %d s",
                       (long long)(e->now - iat), UPSTREAM_RP_LOGOUT_MAX_AGE_S);
    const json_t *jti = json_object_get(claims, "jti");
    if (!json_is_string(jti) || json_string_length(jti) == 0 || json_string_length(jti) > 255)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the logout token has no valid jti");
    const json_t *sub = json_object_get(claims, "sub"), *sid = json_object_get(claims, "sid");
    if ((sub && !sub_valid(sub)) || (sid && !sub_valid(sid)))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the logout token's sub or sid is not a valid string");
    if (!sub && !sid)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the logout token has neither sub nor sid");
    const json_t *events = json_object_get(claims, "events");
    if (!json_is_object(events) || !json_is_object(json_object_get(events, BCL_EVENT)))
        return rp_fail(err, UPSTREAM_RP_INVALID,
                       "the logout token's events lack the back-channel logout event");
    if (json_object_get(claims, "nonce"))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the logout token has a nonce");
    return 0;
}

int rp_check_userinfo_claims(const json_t *claims, const char *id_sub, bool is_signed,
                             const struct rp_expect *e, struct upstream_rp_error *err)
{
    size_t n_aud;
    if (!json_is_object(claims))
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the userinfo answer is not a JSON object");
    if (is_signed && (check_iss(claims, e, "signed userinfo", err) < 0 ||
                      check_aud(claims, e, "signed userinfo", &n_aud, err) < 0))
        return -1;
    const json_t *sub = json_object_get(claims, "sub");
    if (!sub_valid(sub))
        return rp_fail(err, UPSTREAM_RP_INVALID, "the userinfo answer has no valid sub");
    if (id_sub && strcmp(json_string_value(sub), id_sub) != 0)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the userinfo sub is not the ID token's sub");
    return 0;
}

/* ---- token endpoint ------------------------------------------------------------------------- */

int rp_check_token_response(const json_t *doc, bool openid, const char **access_token, const char **id_token,
                            struct upstream_rp_error *err)
{
    *access_token = *id_token = NULL;
    if (!json_is_object(doc))
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the token response is not a JSON object");
    const json_t *at = json_object_get(doc, "access_token"), *tt = json_object_get(doc, "token_type");
    const json_t *it = json_object_get(doc, "id_token");
    if (!json_is_string(at) || json_string_length(at) == 0)
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the token response has no access_token");
    if (!json_is_string(tt))
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the token response has no token_type");
    if (it && !json_is_string(it))
        return rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the token response's id_token is not a string");
    if (openid && !it)
        return rp_fail(err, UPSTREAM_RP_INVALID,
                       "the token response has no id_token, although openid was asked for");
    *access_token = json_string_value(at);
    *id_token = json_string_value(it);
    return 0;
}

int rp_token_error(long status, const char *body, size_t len, struct upstream_rp_error *err)
{
    json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(doc, "error"));
    const char *d = json_string_value(json_object_get(doc, "error_description"));
    char a[80], b[80];
    int r;
    if (e) {
        rp_printable(e, a, sizeof(a));
        rp_printable(d, b, sizeof(b));
        r = rp_fail(err, UPSTREAM_RP_IDP_ERROR, "the token endpoint answered %ld %s%s%s", status, a,
                    d ? ": " : "", b);
    } else {
        r = rp_fail(err, status >= 500 ? UPSTREAM_RP_UNREACHABLE : UPSTREAM_RP_BAD_ANSWER,
                    "the token endpoint answered %ld without an OAuth error", status);
    }
    json_decref(doc);
    return r;
}
