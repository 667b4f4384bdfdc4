/* What every handler of masd-oauth shares (oauth.h): the service's state, and how the OAuth
 * endpoints answer: MAS's error bodies, the WWW-Authenticate challenge, no-store, CORS. */
#include "oauth.h"
#include "log.h"
#include "policy.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oauth_service oauth;

static char *endpoint_url(const struct config *cfg, const char *path)
{
    char *s = NULL;
    return asprintf(&s, "%s%s", cfg->public_base, path) < 0 ? NULL : s;
}

/* The realm of every challenge: the issuer, one protection space for everything masd-oauth
 * serves, as an RFC 9110 quoted-string (made once: it is the same on every 401). */
static char *quoted_realm(const char *issuer)
{
    char *q = malloc(2 * strlen(issuer) + 3), *p = q;
    if (!q)
        return NULL;
    *p++ = '"';
    for (const char *s = issuer; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            continue;
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return q;
}

int oauth_service_init(const struct config *cfg)
{
    oauth.cfg = cfg;
    if (cfg->issuer && !(oauth.realm = quoted_realm(cfg->issuer)))
        return log_errno(-ENOMEM, "oauth: out of memory");
    int r = secrets_from_config(cfg, &oauth.secrets);
    if (r < 0 && r != -ENOKEY)
        return log_errno(r, "secrets: cannot set up encryption");
    if (cfg->matrix.secret) {
        if (secret_digest(cfg->matrix.secret, cfg->matrix.secret_len, &oauth.matrix_secret) < 0)
            return log_errno(-EIO, "matrix.secret: cannot digest it");
        oauth.has_matrix_secret = true;
    }
    oauth.introspect_url = endpoint_url(cfg, "oauth2/introspect");
    oauth.revoke_url = endpoint_url(cfg, "oauth2/revoke");
    oauth.token_url = endpoint_url(cfg, "oauth2/token");
    oauth.device_url = endpoint_url(cfg, "oauth2/device");
    oauth.link_url = endpoint_url(cfg, "link");
    if (!oauth.introspect_url || !oauth.revoke_url || !oauth.token_url || !oauth.device_url ||
        !oauth.link_url)
        return log_errno(-ENOMEM, "oauth: out of memory");
    char *error = NULL;
    if ((r = policy_new(cfg, &oauth.policy, &error)) < 0) {
        log_error("policy: %s", error ? error : strerror(-r));
        free(error);
        return r;
    }
    jose_keyset_free(oauth.keys);
    oauth.keys = NULL;
    if ((r = jose_keyset_from_config(cfg, &oauth.keys)) < 0)
        return log_errno(r, "secrets.keys: cannot set up the signing keys");
    return oauth_keys_render(cfg);
}

/* RFC 6749/7009/8628's descriptions, which MAS uses when it has nothing more specific. */
static const char *canned(const char *error)
{
    static const struct {
        const char *error, *text;
    } texts[] = {
        {"invalid_request",
         "The request is missing a required parameter, includes an invalid parameter value, "
         "includes a parameter more than once, or is otherwise malformed."},
        {"invalid_client", "Client authentication failed."},
        {"invalid_grant", "The provided access grant is invalid, expired, or revoked."},
        {"unauthorized_client", "The client is not authorized to request an access token using this method."},
        {"access_denied", "The resource owner or authorization server denied the request."},
        /* RFC 8628 §3.5 */
        {"authorization_pending", "The authorization request is still pending"},
        {"slow_down", "The interval must be increased by 5 seconds for this and all subsequent requests"},
        {"expired_token",
         "The \"device_code\" has expired, and the device authorization session has concluded"},
        {"unsupported_token_type",
         "The authorization server does not support the revocation of the presented token type."},
        {"server_error",
         "The authorization server encountered an unexpected condition that prevented it from "
         "fulfilling the request."},
        {"temporarily_unavailable",
         "The authorization server is currently unable to handle the request due to "
         "a temporary overloading or maintenance of the server."},
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (strcmp(texts[i].error, error) == 0)
            return texts[i].text;
    return NULL;
}

static void free_string(void *p)
{
    free(p);
}

void oauth_no_store(struct masd_request *r)
{
    masd_add_header(r, "cache-control", MASD_STR("no-store"));
    masd_add_header(r, "pragma", MASD_STR("no-cache"));
}

void oauth_challenge(struct masd_request *r, const char *scheme, const char *error)
{
    const char *realm = oauth.realm ? oauth.realm : "\"masd\"";
    size_t cap = strlen(scheme) + strlen(realm) + (error ? strlen(error) : 0) + 32;
    char *v = masd_req_alloc(r, cap);
    if (!v)
        return;
    int n = snprintf(v, cap, "%s realm=%s%s%s%s", scheme, realm, error ? ", error=\"" : "",
                     error ? error : "", error ? "\"" : "");
    masd_add_header(r, "www-authenticate", (masd_str){v, (size_t)n});
}

void oauth_error(struct masd_request *r, int status, const char *error, const char *description)
{
    /* RFC 6749 §5.2: client authentication failed: the challenge of the client authentication
     * scheme, HTTP Basic (RFC 9110 §15.5.2: every 401 carries a challenge) */
    if (status == 401)
        oauth_error_challenge(r, status, error, description, "Basic", NULL);
    else
        oauth_error_challenge(r, status, error, description, NULL, NULL);
}

void oauth_error_challenge(struct masd_request *r, int status, const char *error, const char *description,
                           const char *scheme, const char *scheme_error)
{
    json_t *o = json_pack("{s:s, s:s?}", "error", error, "error_description",
                          description ? description : canned(error));
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body) {
        masd_respond_text(r, 500, "out of memory");
        return;
    }
    masd_req_on_dispose(r, free_string, body);
    oauth_no_store(r);
    if (scheme)
        oauth_challenge(r, scheme, scheme_error);
    masd_respond(r, status, "application/json", masd_str_from(body));
}

bool oauth_cors(struct masd_request *r)
{
    return masd_cors(r, "authorization, accept, accept-language, content-language, content-type, "
                        "x-requested-with, traceparent, tracestate, baggage");
}
