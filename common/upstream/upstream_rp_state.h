/* The state of a relying party (upstream_rp.h) and the network steps its files share. */
#pragma once
#include "upstream_rp_internal.h"
#include <pthread.h>

struct rp_meta_entry {
    char *url;   /* the discovery URL */
    bool strict; /* discovery_mode oidc (insecure documents are kept apart) */
    json_t *doc;
    int64_t fetched;
};

struct rp_jwks_entry {
    char *uri;
    json_t *jwks;     /* NULL until a fetch succeeded */
    int64_t fetched;  /* when jwks was fetched */
    int64_t last_try; /* the last fetch begun (an unknown kid waits UPSTREAM_RP_JWKS_REFETCH_S) */
    bool failed;      /* the last fetch failed (the next waits UPSTREAM_RP_JWKS_REFETCH_S too) */
};

struct upstream_rp {
    const struct jose_keyset *keys;
    long timeout_ms, connect_timeout_ms;
    pthread_mutex_t lock; /* the caches below */
    struct rp_meta_entry *meta;
    size_t n_meta;
    struct rp_jwks_entry *jwks;
    size_t n_jwks;
    unsigned long jwks_fetches; /* for the tests */
};

/* GET url, expecting a JSON object (*out, a new reference). */
int rp_get_json(struct upstream_rp *rp, const char *what, const char *url, json_t **out,
                struct upstream_rp_error *err);

/* The JWKS at uri (a new reference): cached for UPSTREAM_RP_JWKS_TTL_S, fetched again sooner
 * when kid is not in it, at most once per UPSTREAM_RP_JWKS_REFETCH_S; after a failed fetch, the
 * next is not tried before UPSTREAM_RP_JWKS_REFETCH_S either (UNREACHABLE at once). */
int rp_jwks_get(struct upstream_rp *rp, const char *uri, int64_t now, const char *kid, json_t **out,
                struct upstream_rp_error *err);

/* rp_verify_jws with the JWKS at jwks_uri (refreshed for an unknown kid). */
int rp_verify_token(struct upstream_rp *rp, const char *jwks_uri, const char *token, const char *alg,
                    int64_t now, json_t **claims, struct upstream_rp_error *err);
