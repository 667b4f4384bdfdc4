/* Shared state of the OAuth endpoints, MAS's OAuth error bodies and CORS, and client
 * authentication (MAS: crates/axum-utils/src/client_authorization.rs): which method the caller presented, read on
 * the loop, and the check against the registered client, on the worker pool. */
#include "client/auth.h"
#include "activity.h"
#include "clients_sync.h"
#include "config.h"
#include "form.h"
#include "log.h"
#include "oauth_handlers.h"
#include "secrets.h"
#include "storage_jti.h"
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oauth_state oauth;

#define ACTIVITY_CAPACITY 65536
#define ASSERTION_TYPE    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* RFC 6749/7009's descriptions, which MAS uses when it has nothing more specific. */
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
    /* the realm: the issuer, one protection space for everything masd-oauth serves */
    const char *realm = oauth.cfg && oauth.cfg->issuer ? oauth.cfg->issuer : "masd";
    size_t cap = strlen(scheme) + 2 * strlen(realm) + (error ? strlen(error) : 0) + 32;
    char *v = masd_req_alloc(r, cap), *p = v;
    if (!v)
        return;
    p += sprintf(p, "%s realm=\"", scheme);
    for (const char *s = realm; *s; s++) { /* an RFC 9110 quoted-string */
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            continue;
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    if (error)
        p += sprintf(p, ", error=\"%s\"", error);
    masd_add_header(r, "www-authenticate", (masd_str){v, (size_t)(p - v)});
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

static char *endpoint_url(const struct config *cfg, const char *path)
{
    char *s = NULL;
    return asprintf(&s, "%s%s", cfg->public_base, path) < 0 ? NULL : s;
}

int oauth_handlers_setup(const struct config *cfg, struct storage *st)
{
    oauth.cfg = cfg;
    oauth.st = st;
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
    if (!oauth.introspect_url || !oauth.revoke_url || !oauth.token_url)
        return log_errno(-ENOMEM, "oauth: out of memory");
    if ((r = oauth_keys_render(cfg)) < 0)
        return r;
    /* --check passes no storage: nothing will be served, so no flusher */
    if (st && (r = activity_start(st, ACTIVITY_CAPACITY)) < 0)
        return log_errno(r, "session activity: cannot start the flusher: %m");
    return 0;
}

void oauth_handlers_shutdown(void)
{
    activity_stop();
}

/* ---- which credentials were presented ------------------------------------------------------- */

static const char *const method_names[] = {
    [CLIENT_AUTH_NONE] = "none",
    [CLIENT_AUTH_SECRET_BASIC] = "client_secret_basic",
    [CLIENT_AUTH_SECRET_POST] = "client_secret_post",
    [CLIENT_AUTH_SECRET_JWT] = "client_secret_jwt",
    [CLIENT_AUTH_PRIVATE_KEY_JWT] = "private_key_jwt",
};

const char *client_auth_method_name(enum client_auth_method m)
{
    return (unsigned)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "?";
}

int client_auth_method_parse(const char *name, enum client_auth_method *out)
{
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (name && strcmp(name, method_names[i]) == 0) {
            *out = (enum client_auth_method)i;
            return 0;
        }
    return -EINVAL;
}

/* A percent-encoded part of Basic credentials (RFC 6749 §2.3.1) into a new string. */
static char *decode_part(const char *p, size_t len)
{
    char *out = malloc(len + 1);
    long n = out ? form_decode((masd_str){p, len}, out) : -1;
    if (n < 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

/* "Basic base64(id:secret)". */
static int parse_basic(masd_str v, struct client_credentials *c)
{
    if (v.len == 0 || v.len > 4096 || v.len % 4 != 0)
        return -EINVAL;
    unsigned char *raw = malloc(v.len / 4 * 3 + 1);
    if (!raw)
        return -ENOMEM;
    /* Exactly v.len bytes, straight from the header: a NUL inside the value is then a byte that
     * is not base64, not the end of a shorter copy for EVP_DecodeBlock to read past. */
    int n = EVP_DecodeBlock(raw, (const unsigned char *)v.ptr, (int)v.len);
    if (n >= 0) /* EVP_DecodeBlock counts the padding as zero bytes */
        for (size_t i = v.len; i > 0 && v.ptr[i - 1] == '='; i--)
            n--;
    const char *colon = n > 0 ? memchr(raw, ':', (size_t)n) : NULL;
    int r = -EINVAL;
    if (colon) {
        size_t id_len = (size_t)(colon - (const char *)raw);
        c->client_id = decode_part((const char *)raw, id_len);
        c->client_secret = decode_part(colon + 1, (size_t)n - id_len - 1);
        if (c->client_id && c->client_secret && c->client_id[0]) {
            c->method = CLIENT_AUTH_SECRET_BASIC;
            r = 0;
        }
    }
    free(raw);
    return r;
}

static int parse_authorization(struct masd_request *r, struct client_credentials *c, const char **why)
{
    int cursor = -1;
    masd_str v = masd_req_header(r, "authorization", &cursor);
    if (!v.ptr)
        return -ENODATA;
    masd_str scheme;
    masd_str rest = masd_str_trim(v);
    masd_str_next(&rest, ' ', &scheme);
    rest = masd_str_trim(rest);
    if (masd_str_caseeq(scheme, MASD_STR("Bearer")) && rest.len > 0) {
        c->bearer = true;
        c->bearer_token = strndup(rest.ptr, rest.len);
        return c->bearer_token ? 0 : -ENOMEM;
    }
    if (masd_str_caseeq(scheme, MASD_STR("Basic")) && parse_basic(rest, c) == 0)
        return 0;
    *why = "Invalid Authorization header";
    return -EINVAL;
}

/* form_get, with "malformed" turned into -EINVAL and "absent" into NULL. */
static int form_opt(masd_str form, const char *name, char **out)
{
    int r = form_get(form, name, out);
    if (r == 0)
        *out = NULL;
    return r < 0 ? r : 0;
}

int client_credentials_parse(struct masd_request *r, masd_str form, struct client_credentials *c,
                             const char **error, const char **why)
{
    memset(c, 0, sizeof(*c));
    *error = "invalid_request";
    *why = NULL;
    char *form_id = NULL, *form_secret = NULL, *type = NULL;
    int cursor = -1;
    /* the OAuth endpoints take forms only (RFC 6749 §2.3.1, 7662 §2.1, 7009 §2.1): anything else
     * is a client's mistake, never read as an empty form */
    if (!masd_media_type_is(masd_req_header(r, "content-type", &cursor),
                            MASD_STR("application/x-www-form-urlencoded"))) {
        *why = "Content-Type must be application/x-www-form-urlencoded";
        return -EINVAL;
    }
    /* RFC 6749 §3.1: no parameter more than once, whichever (client_id=A&client_id=B would
     * otherwise be read as A here and maybe as B by the next reader) */
    int rc = form_check_unique(form);
    if (rc < 0) {
        *why = rc == -EEXIST ? "A parameter is included more than once" : "The form is malformed";
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    rc = parse_authorization(r, c, why);
    if (rc == -ENODATA)
        rc = 0;
    if (rc == 0)
        rc = form_opt(form, "client_id", &form_id);
    if (rc == 0)
        rc = form_opt(form, "client_secret", &form_secret);
    if (rc == 0)
        rc = form_opt(form, "client_assertion_type", &type);
    if (rc == 0)
        rc = form_opt(form, "client_assertion", &c->assertion);
    if (rc < 0)
        goto out;
    if (c->bearer) {
        /* caller authentication by the homeserver's shared secret; nothing else to read */
    } else if (c->client_id) { /* Basic */
        if (form_id && strcmp(form_id, c->client_id) != 0) {
            *error = "invalid_grant";
            *why = "client_id in the form does not match the Authorization header";
            rc = -EINVAL;
        }
    } else if (type || c->assertion) {
        if (!type || !c->assertion || strcmp(type, ASSERTION_TYPE) != 0) {
            *why = "Invalid client_assertion_type";
            rc = -EINVAL;
        } else {
            c->jwt = true; /* the client id is the assertion's sub, checked on the pool */
            c->client_id = form_id, form_id = NULL;
        }
    } else if (form_id) {
        c->method = form_secret ? CLIENT_AUTH_SECRET_POST : CLIENT_AUTH_NONE;
        c->client_id = form_id, form_id = NULL;
        c->client_secret = form_secret, form_secret = NULL;
    } else {
        *why = "No credentials were presented";
        rc = -ENODATA;
    }
out:
    free(form_id);
    free(form_secret);
    free(type);
    if (rc < 0)
        client_credentials_clear(c);
    return rc;
}

void client_credentials_clear(struct client_credentials *c)
{
    free(c->bearer_token);
    free(c->client_id);
    if (c->client_secret)
        OPENSSL_cleanse(c->client_secret, strlen(c->client_secret));
    free(c->client_secret);
    free(c->assertion);
    memset(c, 0, sizeof(*c));
}

static pthread_once_t sync_once = PTHREAD_ONCE_INIT;

static void sync_clients(void)
{
    struct clients_sync sync = {.only_if_changed = true};
    int r = clients_sync_run(oauth.cfg, oauth.st, oauth.secrets, &sync);
    if (r < 0)
        log_errno(r, "clients: cannot write the configured clients to the database: %s", sync.error);
    else if (!sync.unchanged)
        log_info("clients: the section changed since the last sync: %u static client(s) written",
                 sync.written);
}

void client_auth_sync_once(void)
{
    if (oauth.st)
        pthread_once(&sync_once, sync_clients);
}

/* ---- checking them against the client -------------------------------------------------------- */

static int deny(struct client_auth_result *res, int status, const char *error, const char *why)
{
    res->status = status;
    res->error = error;
    res->why = why;
    return status >= 500 ? -EIO : -EACCES;
}

/* The client's stored secret, opened (malloc'd). */
static int client_secret(const struct storage_oauth_client *client, char **secret, size_t *len)
{
    if (!client->encrypted_secret || !oauth.secrets)
        return -ENOKEY;
    void *plain = NULL;
    int r = secrets_open(oauth.secrets, "client-secret", client->encrypted_secret, &plain, len);
    *secret = plain;
    return r;
}

static int check_secret(const struct storage_oauth_client *client, const char *presented,
                        struct client_auth_result *res)
{
    char *secret = NULL;
    size_t len = 0;
    int r = client_secret(client, &secret, &len);
    if (r < 0)
        return deny(res, 401, "invalid_client", "The client has no usable secret");
    bool ok = presented && secret_equal(secret, len, presented, strlen(presented));
    OPENSSL_cleanse(secret, len);
    free(secret);
    return ok ? 0 : deny(res, 401, "invalid_client", NULL);
}

/* The jwks of the client's metadata (private_key_jwt); a reference into *doc. */
static json_t *client_jwks(const struct storage_oauth_client *client, json_t **doc)
{
    *doc = client->metadata ? json_loads(client->metadata, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *jwks = json_object_get(*doc, "jwks");
    return json_is_object(jwks) ? jwks : NULL;
}

static int check_assertion(struct storage_tx *tx, const struct client_credentials *c,
                           const struct storage_oauth_client *client, enum client_auth_method method,
                           const char *audience, int64_t now, struct client_auth_result *res)
{
    struct client_assertion a;
    if (client_assertion_parse(c->assertion, strlen(c->assertion), &a) < 0)
        return deny(res, 401, "invalid_client", "Invalid client_assertion");
    const char *audiences[] = {audience, oauth.token_url, oauth.cfg->issuer, NULL};
    const char *why = NULL;
    int r = client_assertion_check_claims(&a, client->id, method, audiences, now, &why);
    if (r == 0) {
        char *secret = NULL;
        size_t len = 0;
        json_t *doc = NULL, *jwks = NULL;
        if (method == CLIENT_AUTH_SECRET_JWT)
            r = client_secret(client, &secret, &len);
        else
            r = (jwks = client_jwks(client, &doc)) ? 0 : -ENOKEY;
        if (r == 0)
            r = client_assertion_verify(&a, c->assertion, method, secret, len, jwks);
        if (secret)
            OPENSSL_cleanse(secret, len);
        free(secret);
        json_decref(doc);
        why = r < 0 ? "The client_assertion signature does not verify" : NULL;
    }
    if (r == 0) {
        /* last, so that a forged assertion cannot burn the jti of a genuine one */
        r = storage_jti_use(tx, client->id, a.jti, client_assertion_jti_expiry_ms(&a), now);
        why = r == -EALREADY ? "The client_assertion was used already" : why;
        if (r < 0 && r != -EALREADY && r != -EINVAL) {
            client_assertion_clear(&a);
            return deny(res, 500, "server_error", NULL);
        }
    }
    client_assertion_clear(&a);
    return r < 0 ? deny(res, 401, "invalid_client", why) : 0;
}

/* The client_id of an assertion is its sub (MAS), unless the form named it too. */
static int assertion_client_id(const struct client_credentials *c, char *out, size_t size)
{
    struct client_assertion a;
    if (client_assertion_parse(c->assertion, strlen(c->assertion), &a) < 0)
        return -EINVAL;
    int r = a.sub && strlen(a.sub) < size ? 0 : -EINVAL;
    if (r == 0)
        snprintf(out, size, "%s", a.sub);
    client_assertion_clear(&a);
    return r;
}

int client_authenticate(struct storage_tx *tx, const struct client_credentials *c, const char *audience,
                        int64_t now, struct storage_oauth_client *client, struct client_auth_result *res)
{
    memset(client, 0, sizeof(*client));
    char id[STORAGE_SHORT_TEXT_MAX + 1];
    if (c->jwt && !c->client_id && assertion_client_id(c, id, sizeof(id)) < 0)
        return deny(res, 401, "invalid_client", "Invalid client_assertion");
    const char *client_id = c->client_id ? c->client_id : id;
    if (strlen(client_id) >= STORAGE_ID_SIZE)
        return deny(res, 401, "invalid_client", NULL);
    int r = storage_oauth_client_get(tx, client_id, client);
    if (r == -ENOENT || r == -EINVAL)
        return deny(res, 401, "invalid_client", NULL);
    if (r < 0)
        return deny(res, 500, "server_error", NULL);
    enum client_auth_method registered;
    if (client_auth_method_parse(client->token_endpoint_auth_method, &registered) < 0) {
        /* a method masd does not implement (tls_client_auth, a typo in a row written by hand):
         * nothing can be checked, so nothing is accepted; never read as `none` */
        storage_oauth_client_clear(client);
        return deny(res, 401, "invalid_client",
                    "The client's registered authentication method is not supported");
    }
    bool jwt_method = registered == CLIENT_AUTH_SECRET_JWT || registered == CLIENT_AUTH_PRIVATE_KEY_JWT;
    if (c->jwt ? !jwt_method : c->method != registered)
        r = deny(res, 401, "invalid_client",
                 "The client authentication method does not match the registered one");
    else if (c->jwt)
        r = check_assertion(tx, c, client, registered, audience, now, res);
    else if (registered == CLIENT_AUTH_SECRET_BASIC || registered == CLIENT_AUTH_SECRET_POST)
        r = check_secret(client, c->client_secret, res);
    if (r < 0)
        storage_oauth_client_clear(client);
    else
        res->method = registered;
    return r;
}
