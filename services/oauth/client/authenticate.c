/* Client authentication (client/auth.h): the credentials presented, checked against the
 * registered client's method and its secret or keys, on the worker pool (MAS:
 * crates/axum-utils/src/client_authorization.rs; assertions per RFC 7523, docs/architecture.md §6). */
#include "client/auth.h"
#include "clients_sync.h"
#include "config.h"
#include "log.h"
#include "oauth.h"
#include "secrets.h"
#include "storage_jti.h"
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool client_lists_grant(const struct storage_oauth_client *client, const char *grant)
{
    json_t *a = json_loads(client->grant_types ? client->grant_types : "[]", 0, NULL);
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) found |= json_is_string(v) && strcmp(json_string_value(v), grant) == 0;
    json_decref(a);
    return found;
}

int client_authenticate_for(struct storage_tx *tx, const struct client_credentials *c, const char *audience,
                            int64_t now, int parse_rc, const char *parse_why, const char *grant,
                            struct storage_oauth_client *client, struct client_auth_result *res)
{
    *res = (struct client_auth_result){0};
    int r = client_authenticate(tx, c, audience, now, client, res);
    if (r < 0)
        return res->status >= 500 ? r : 0;
    if (parse_rc < 0) {
        storage_oauth_client_clear(client);
        deny(res, 400, "invalid_request", parse_why);
        return 0;
    }
    if (grant && !client_lists_grant(client, grant)) {
        storage_oauth_client_clear(client);
        deny(res, 401, "unauthorized_client", NULL);
        return 0;
    }
    return 1;
}
