/* What every handler of masd-oauth shares: the service's state (set up once, at start-up, then
 * read-only) and how the OAuth endpoints answer (oauth.c); and the OAuth endpoints the route
 * table in main.c binds (the compat API's are in compat/compat.h). */
#pragma once
#include "config.h"
#include "policy.h"
#include "jose.h"
#include "secrets.h"
#include "server.h"
#include "storage.h"
#include <stdbool.h>

/* OAuth access tokens expire after this (MAS's default experimental.access_token_ttl; the
 * experimental section is not implemented yet). */
#define OAUTH_ACCESS_TOKEN_TTL_MS (300 * 1000)

struct policy;

struct oauth_service {
    const struct config *cfg;
    struct storage *st;      /* NULL under --check */
    struct homeserver *hs;   /* NULL under --check */
    struct secrets *secrets; /* NULL without secrets.encryption: no client secret can be opened */
    /* the digest of matrix.secret (has_matrix_secret), compared with the homeserver's Bearer */
    bool has_matrix_secret;
    struct secret_digest matrix_secret;
    char *introspect_url; /* public_base + oauth2/introspect: an assertion's accepted `aud` */
    char *revoke_url;
    char *token_url;
    char *device_url;         /* public_base + oauth2/device: the device authorization endpoint */
    char *link_url;           /* public_base + link: where a person enters a device's user code */
    char *realm;              /* the issuer as a quoted-string, for WWW-Authenticate (oauth_challenge) */
    struct policy *policy;    /* MAS's default policy over policy.data (common/policy/) */
    struct jose_keyset *keys; /* the signing keys of secrets.keys (ID tokens, signed userinfo) */
};
extern struct oauth_service oauth;

/* Sets oauth.cfg and what follows from the configuration alone (secrets, endpoint URLs, the
 * JWKS, the signing keyset): no file, no connection, no thread, so --check runs it too. */
int oauth_service_init(const struct config *cfg);

/* {"error": error, "error_description": description (MAS's canned text when NULL)}, never
 * cached; a 401 carries the challenge `Basic realm="<issuer>"` (RFC 6749 §5.2). */
void oauth_error(struct masd_request *r, int status, const char *error, const char *description);
/* The same with the given challenge (scheme NULL: none), `error` its RFC 6750 §3 error code. */
void oauth_error_challenge(struct masd_request *r, int status, const char *error, const char *description,
                           const char *scheme, const char *scheme_error);
/* WWW-Authenticate: <scheme> realm="<issuer>"[, error="<error>"] (RFC 9110 §11.6.1). */
void oauth_challenge(struct masd_request *r, const char *scheme, const char *error);
/* Cache-Control: no-store and Pragma: no-cache, for every answer that carries or judges a token
 * (RFC 6749 §5.1). */
void oauth_no_store(struct masd_request *r);
/* CORS as MAS's oauth resource (the compat API's too); true when the request was a preflight
 * and is answered. */
bool oauth_cors(struct masd_request *r);

/* The OAuth endpoints, each in the file named after its URL. */
void oauth_keys(struct masd_request *r);         /* keys.c: GET /oauth2/keys.json */
void oauth_introspect(struct masd_request *r);   /* introspect.c: POST /oauth2/introspect */
void oauth_revoke(struct masd_request *r);       /* revoke.c: POST /oauth2/revoke */
void oauth_token(struct masd_request *r);        /* token.c: POST /oauth2/token */
void oauth_device(struct masd_request *r);       /* device.c: POST /oauth2/device */
void oauth_registration(struct masd_request *r); /* registration.c: POST /oauth2/registration */
void oauth_userinfo(struct masd_request *r);     /* userinfo.c: GET, POST /oauth2/userinfo */
/* keys.c: renders the public JWKS once (oauth_service_init). */
int oauth_keys_render(const struct config *cfg);
