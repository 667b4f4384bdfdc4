/* The relying party's state (upstream_rp.h): provider metadata by discovery and overrides, the
 * JWKS cache, and back-channel logout tokens. The code exchange is in upstream_rp_exchange.c.
 *
 * The caches are small arrays under one mutex: a process has a handful of providers. The lock is
 * never held across the network: a fetch is decided under it, done without it, stored under it. */
#include "upstream_rp.h"
#include "jose.h"
#include "upstream_rp_http.h"
#include "upstream_rp_state.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int upstream_rp_open(const struct jose_keyset *keys, struct upstream_rp **out)
{
    struct upstream_rp *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return -ENOMEM;
    if (pthread_mutex_init(&rp->lock, NULL) != 0) {
        free(rp);
        return -ENOMEM;
    }
    rp->keys = keys;
    rp->timeout_ms = UPSTREAM_RP_TIMEOUT_MS;
    rp->connect_timeout_ms = UPSTREAM_RP_CONNECT_TIMEOUT_MS;
    *out = rp;
    return 0;
}

void upstream_rp_close(struct upstream_rp *rp)
{
    if (!rp)
        return;
    for (size_t i = 0; i < rp->n_meta; i++) {
        free(rp->meta[i].url);
        json_decref(rp->meta[i].doc);
    }
    for (size_t i = 0; i < rp->n_jwks; i++) {
        free(rp->jwks[i].uri);
        json_decref(rp->jwks[i].jwks);
    }
    free(rp->meta);
    free(rp->jwks);
    pthread_mutex_destroy(&rp->lock);
    free(rp);
}

void upstream_rp_set_timeouts(struct upstream_rp *rp, long timeout_ms, long connect_timeout_ms)
{
    if (timeout_ms > 0)
        rp->timeout_ms = timeout_ms;
    if (connect_timeout_ms > 0)
        rp->connect_timeout_ms = connect_timeout_ms;
}

void upstream_rp_metadata_clear(struct upstream_rp_metadata *m)
{
    free(m->issuer);
    free(m->authorization_endpoint);
    free(m->token_endpoint);
    free(m->userinfo_endpoint);
    free(m->jwks_uri);
    memset(m, 0, sizeof(*m));
}

void upstream_rp_result_clear(struct upstream_rp_result *r)
{
    free(r->id_token);
    json_decref(r->id_token_claims);
    json_decref(r->userinfo);
    memset(r, 0, sizeof(*r));
}

/* GET url and parse the answer as a JSON object. */
int rp_get_json(struct upstream_rp *rp, const char *what, const char *url, json_t **out,
                struct upstream_rp_error *err)
{
    struct rp_response res;
    struct rp_request req = {.what = what, .url = url, .accept = "application/json"};
    char u[96];
    *out = NULL;
    if (rp_http(rp->timeout_ms, rp->connect_timeout_ms, &req, &res, err) < 0)
        return -1;
    rp_printable(url, u, sizeof(u));
    int r = 0;
    if (res.status >= 500)
        r = rp_fail(err, UPSTREAM_RP_UNREACHABLE, "%s (%s) answered %ld", what, u, res.status);
    else if (res.status != 200)
        r = rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "%s (%s) answered %ld", what, u, res.status);
    else if (!(*out = json_loadb(res.body, res.len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(*out))
        r = rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "%s (%s) did not answer with a JSON object", what, u);
    if (r < 0) {
        json_decref(*out);
        *out = NULL;
    }
    rp_response_clear(&res);
    return r;
}

/* ---- discovery ------------------------------------------------------------------------------ */

/* The issuer with a '/' if it has none, then .well-known/openid-configuration (OpenID Connect
 * Discovery 1.0 §4.1). */
static char *discovery_url(const char *issuer)
{
    char *url = NULL;
    size_t n = strlen(issuer);
    if (asprintf(&url, "%s%s.well-known/openid-configuration", issuer, n && issuer[n - 1] == '/' ? "" : "/") <
        0)
        return NULL;
    return url;
}

/* The provider's discovery document (a new reference), from the cache when fresh. */
static int discovery_get(struct upstream_rp *rp, const struct config_upstream_provider *p, int64_t now,
                         json_t **out, struct upstream_rp_error *err)
{
    bool strict = p->discovery_mode == UPSTREAM_DISCOVERY_OIDC;
    *out = NULL;
    if (!p->issuer)
        return rp_fail(err, UPSTREAM_RP_MISCONFIGURED, "discovery needs an issuer");
    char *url = discovery_url(p->issuer);
    if (!url)
        return rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory");
    pthread_mutex_lock(&rp->lock);
    for (size_t i = 0; i < rp->n_meta; i++)
        if (rp->meta[i].strict == strict && strcmp(rp->meta[i].url, url) == 0 &&
            now - rp->meta[i].fetched < UPSTREAM_RP_METADATA_TTL_S && now >= rp->meta[i].fetched)
            *out = json_incref(rp->meta[i].doc);
    pthread_mutex_unlock(&rp->lock);
    if (*out) {
        free(url);
        return 0;
    }
    json_t *doc = NULL;
    if (rp_get_json(rp, "the discovery document", url, &doc, err) < 0 ||
        rp_check_discovery(doc, p, err) < 0) {
        json_decref(doc);
        free(url);
        return -1;
    }
    pthread_mutex_lock(&rp->lock);
    size_t i = 0;
    while (i < rp->n_meta && !(rp->meta[i].strict == strict && strcmp(rp->meta[i].url, url) == 0))
        i++;
    if (i == rp->n_meta) {
        struct rp_meta_entry *m = realloc(rp->meta, (rp->n_meta + 1) * sizeof(*m));
        if (m) {
            rp->meta = m;
            m[i] = (struct rp_meta_entry){.url = url, .strict = strict};
            url = NULL;
            rp->n_meta++;
        }
    }
    if (i < rp->n_meta) {
        json_decref(rp->meta[i].doc);
        rp->meta[i].doc = json_incref(doc);
        rp->meta[i].fetched = now;
    }
    pthread_mutex_unlock(&rp->lock);
    free(url);
    *out = doc;
    return 0;
}

static const char *doc_string(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

static int endpoint(const char *override, const json_t *doc, const char *key, char **out)
{
    const char *v = override ? override : doc_string(doc, key);
    *out = NULL;
    return v && !(*out = strdup(v)) ? -ENOMEM : 0;
}

static bool s256_listed(const json_t *doc)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(doc, "code_challenge_methods_supported"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "S256") == 0)
            return true;
    }
    return false;
}

/* Whether the tokens of p are validated (an ID token, signed userinfo): then an issuer and a
 * jwks_uri are needed. */
static bool validates_tokens(const struct config_upstream_provider *p)
{
    return p->scope_openid || p->userinfo_signed_response_alg;
}

int upstream_rp_metadata(struct upstream_rp *rp, const struct config_upstream_provider *p, int64_t now,
                         struct upstream_rp_metadata *out, struct upstream_rp_error *err)
{
    json_t *doc = NULL;
    memset(out, 0, sizeof(*out));
    err->status = UPSTREAM_RP_OK;
    err->message[0] = '\0';
    if (p->discovery_mode != UPSTREAM_DISCOVERY_DISABLED && discovery_get(rp, p, now, &doc, err) < 0)
        return -1;
    int r = 0;
    if ((p->issuer && !(out->issuer = strdup(p->issuer))) ||
        endpoint(p->authorization_endpoint, doc, "authorization_endpoint", &out->authorization_endpoint) <
            0 ||
        endpoint(p->token_endpoint, doc, "token_endpoint", &out->token_endpoint) < 0 ||
        endpoint(p->userinfo_endpoint, doc, "userinfo_endpoint", &out->userinfo_endpoint) < 0 ||
        endpoint(p->jwks_uri, doc, "jwks_uri", &out->jwks_uri) < 0)
        r = rp_fail(err, UPSTREAM_RP_NOMEM, "out of memory");
    out->pkce_s256 =
        p->pkce_method == UPSTREAM_PKCE_ALWAYS || (p->pkce_method == UPSTREAM_PKCE_AUTO && s256_listed(doc));
    json_decref(doc);
    const char *missing = NULL;
    if (r == 0 && !out->authorization_endpoint)
        missing = "authorization_endpoint";
    else if (r == 0 && !out->token_endpoint)
        missing = "token_endpoint";
    else if (r == 0 && p->fetch_userinfo && !out->userinfo_endpoint)
        missing = "userinfo_endpoint (fetch_userinfo is on)";
    else if (r == 0 && validates_tokens(p) && !out->jwks_uri)
        missing = "jwks_uri (tokens are to be verified)";
    else if (r == 0 && validates_tokens(p) && !out->issuer)
        missing = "issuer (tokens are to be verified)";
    if (missing)
        r = rp_fail(err, UPSTREAM_RP_MISCONFIGURED,
                    "the provider has no %s: configure it or enable discovery", missing);
    if (r < 0)
        upstream_rp_metadata_clear(out);
    return r;
}

/* ---- JWKS ----------------------------------------------------------------------------------- */

/* The cache entry of uri, made when missing (NULL when out of memory). Under rp->lock. */
static struct rp_jwks_entry *jwks_entry(struct upstream_rp *rp, const char *uri)
{
    for (size_t i = 0; i < rp->n_jwks; i++)
        if (strcmp(rp->jwks[i].uri, uri) == 0)
            return &rp->jwks[i];
    struct rp_jwks_entry *n = realloc(rp->jwks, (rp->n_jwks + 1) * sizeof(*n));
    if (!n)
        return NULL;
    rp->jwks = n;
    char *u = strdup(uri);
    if (!u)
        return NULL;
    n[rp->n_jwks] = (struct rp_jwks_entry){.uri = u};
    return &n[rp->n_jwks++];
}

static bool recent(int64_t now, int64_t then, int64_t span)
{
    return now >= then && now - then < span;
}

/* After a fetch: the new set (fetched now), or the failure (the next try waits). */
static void jwks_store(struct upstream_rp *rp, const char *uri, json_t *jwks, int64_t now)
{
    pthread_mutex_lock(&rp->lock);
    struct rp_jwks_entry *e = jwks_entry(rp, uri);
    if (e) {
        e->last_try = now;
        e->failed = jwks == NULL;
        if (jwks) {
            json_decref(e->jwks);
            e->jwks = json_incref(jwks);
            e->fetched = now;
            rp->jwks_fetches++;
        }
    }
    pthread_mutex_unlock(&rp->lock);
}

int rp_jwks_get(struct upstream_rp *rp, const char *uri, int64_t now, const char *kid, json_t **out,
                struct upstream_rp_error *err)
{
    *out = NULL;
    bool failed_recently = false;
    int64_t ago = 0;
    pthread_mutex_lock(&rp->lock);
    struct rp_jwks_entry *e = NULL;
    for (size_t i = 0; i < rp->n_jwks && !e; i++)
        if (strcmp(rp->jwks[i].uri, uri) == 0)
            e = &rp->jwks[i];
    bool tried_recently = e && recent(now, e->last_try, UPSTREAM_RP_JWKS_REFETCH_S);
    if (e && e->jwks && recent(now, e->fetched, UPSTREAM_RP_JWKS_TTL_S) &&
        (!kid || rp_jwks_has_kid(e->jwks, kid) || tried_recently))
        *out = json_incref(e->jwks);
    else if (e && e->failed && tried_recently)
        failed_recently = true, ago = now - e->last_try;
    else if (e)
        e->last_try = now; /* others wait out UPSTREAM_RP_JWKS_REFETCH_S for an unknown kid */
    pthread_mutex_unlock(&rp->lock);
    if (*out)
        return 0;
    /* A provider whose JWKS cannot be had is asked again only every UPSTREAM_RP_JWKS_REFETCH_S,
     * so that unauthenticated requests (back-channel logout) cannot queue fetches against it. */
    if (failed_recently)
        return rp_fail(err, UPSTREAM_RP_UNREACHABLE,
                       "the provider's JWKS could not be fetched %lld s ago; next try in %lld s",
                       (long long)ago, (long long)(UPSTREAM_RP_JWKS_REFETCH_S - ago));
    json_t *jwks = NULL;
    if (rp_get_json(rp, "the provider's JWKS", uri, &jwks, err) == 0 &&
        !json_is_array(json_object_get(jwks, "keys"))) {
        json_decref(jwks);
        jwks = NULL;
        rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "the provider's JWKS has no keys array");
    }
    jwks_store(rp, uri, jwks, now);
    if (!jwks)
        return -1;
    *out = jwks;
    return 0;
}

int rp_verify_token(struct upstream_rp *rp, const char *jwks_uri, const char *token, const char *alg,
                    int64_t now, json_t **claims, struct upstream_rp_error *err)
{
    json_t *jwks = NULL;
    char *kid = rp_jws_kid(token);
    int r = rp_jwks_get(rp, jwks_uri, now, kid, &jwks, err);
    free(kid);
    if (r == 0)
        r = rp_verify_jws(token, jwks, alg, claims, err);
    json_decref(jwks);
    return r;
}

/* ---- back-channel logout -------------------------------------------------------------------- */

int upstream_rp_logout_token(struct upstream_rp *rp, const struct config_upstream_provider *p,
                             const char *token, int64_t now, json_t **claims, struct upstream_rp_error *err)
{
    struct upstream_rp_metadata m;
    *claims = NULL;
    if (!token || !*token)
        return rp_fail(err, UPSTREAM_RP_INVALID, "no logout_token");
    if (strlen(token) > JOSE_JWS_MAX)
        return rp_fail(err, UPSTREAM_RP_INVALID, "the logout token is too long");
    if (upstream_rp_metadata(rp, p, now, &m, err) < 0)
        return -1;
    if (!m.jwks_uri || !m.issuer) {
        upstream_rp_metadata_clear(&m);
        return rp_fail(err, UPSTREAM_RP_MISCONFIGURED,
                       "the provider has no jwks_uri or issuer to check logout tokens");
    }
    const struct rp_expect e = {
        .issuer = m.issuer, .client_id = p->client_id, .alg = p->id_token_signed_response_alg, .now = now};
    json_t *c = NULL;
    int r = rp_verify_token(rp, m.jwks_uri, token, e.alg, now, &c, err);
    if (r == 0)
        r = rp_check_logout_claims(c, &e, err);
    upstream_rp_metadata_clear(&m);
    if (r < 0) {
        json_decref(c);
        return -1;
    }
    *claims = c;
    err->status = UPSTREAM_RP_OK;
    err->message[0] = '\0';
    return 0;
}
