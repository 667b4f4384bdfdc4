/* POST /oauth2/registration: dynamic client registration (RFC 7591, MSC2966) as MAS does it
 * (MAS: crates/handlers/src/oauth2/registration.rs). The body is judged on the loop
 * (registration_parse.c: shapes, coherence, public suffixes, the client_registration policy); a
 * client with a secret-based method gets a fresh 20-character secret, stored sealed
 * (secrets.h, as config clients are); a client without one is deduplicated by the digest of
 * its metadata, so the same request always gets the same client_id. 201 with the client's
 * registered metadata (RFC 7591 §3.2.1). */
#include "clock.h"
#include "log.h"
#include "oauth.h"
#include "random.h"
#include "registration_parse.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_LEN 20 /* MAS: Alphanumeric.sample_string(rng, 20) */

struct registration_job {
    struct registration reg;
    struct storage_oauth_client row; /* in: what to create; out: the client answered with */
    char secret[SECRET_LEN + 1];     /* "" when none */
    bool reused;
    int64_t now;
    int rc;
};

static void job_free(struct registration_job *j)
{
    registration_clear(&j->reg);
    storage_oauth_client_clear(&j->row);
    OPENSSL_cleanse(j->secret, sizeof(j->secret));
    free(j);
}

/* The row from the validated metadata: redirect URIs, grant types (authorization_code by
 * default, RFC 7591 §2) and the method in their columns, every other field in `metadata`: the
 * shape masd-human reads (client_name, client_uri, logo_uri) and config clients have. */
static int build_row(struct registration_job *j)
{
    json_t *md = json_deep_copy(j->reg.metadata);
    if (!md)
        return -ENOMEM;
    json_t *uris = json_incref(json_object_get(md, "redirect_uris"));
    json_t *grants = json_incref(json_object_get(md, "grant_types"));
    json_object_del(md, "redirect_uris");
    json_object_del(md, "grant_types");
    json_object_del(md, "token_endpoint_auth_method");
    if (!uris)
        uris = json_array();
    if (!grants)
        grants = json_pack("[s]", "authorization_code");
    struct storage_oauth_client *c = &j->row;
    c->redirect_uris = uris ? json_dumps(uris, JSON_COMPACT) : NULL;
    c->grant_types = grants ? json_dumps(grants, JSON_COMPACT) : NULL;
    c->metadata = json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(uris);
    json_decref(grants);
    json_decref(md);
    snprintf(c->token_endpoint_auth_method, sizeof(c->token_endpoint_auth_method), "%s", j->reg.auth_method);
    if (!j->reg.needs_secret)
        memcpy(c->metadata_digest, j->reg.digest, sizeof(c->metadata_digest));
    return c->redirect_uris && c->grant_types && c->metadata ? 0 : -ENOMEM;
}

static int registration_tx(struct storage_tx *tx, void *arg)
{
    struct registration_job *j = arg;
    struct storage_oauth_client found = {0};
    int r;
    if (!j->reg.needs_secret) {
        r = storage_oauth_client_find_by_digest(tx, j->reg.digest, &found);
        if (r == 0) {
            storage_oauth_client_clear(&j->row);
            j->row = found;
            j->reused = true;
            return 0;
        }
        if (r != -ENOENT)
            return r;
    }
    return storage_oauth_client_create(tx, &j->row, j->now, &j->row);
}

static void registration_work(void *arg)
{
    struct registration_job *j = arg;
    j->rc = storage_tx(oauth.st, STORAGE_TX_WRITE, registration_tx, j);
    /* two identical registrations at once: the other one created it first */
    if (j->rc == -EEXIST && !j->reg.needs_secret)
        j->rc = storage_tx(oauth.st, STORAGE_TX_WRITE, registration_tx, j);
}

/* Adds the JSON document `text` (an array or object) under key, or its members when key is NULL. */
static int add_json(json_t *o, const char *key, const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (!v)
        return -EINVAL;
    int r = key ? json_object_set_new(o, key, v) : json_object_update(o, v);
    if (!key)
        json_decref(v);
    return r < 0 ? -ENOMEM : 0;
}

/* MAS: registration.rs RouteResponse: ClientRegistrationResponse flattened with the metadata. */
static char *response_body(const struct registration_job *j)
{
    const struct storage_oauth_client *c = &j->row;
    json_t *o = json_object();
    if (!o)
        return NULL;
    int r = add_json(o, NULL, c->metadata);
    if (r == 0)
        r = add_json(o, "redirect_uris", c->redirect_uris);
    if (r == 0)
        r = add_json(o, "grant_types", c->grant_types);
    if (r == 0 && (json_object_set_new(o, "token_endpoint_auth_method",
                                       json_string(c->token_endpoint_auth_method)) < 0 ||
                   json_object_set_new(o, "client_id", json_string(c->id)) < 0 ||
                   json_object_set_new(o, "client_id_issued_at", json_integer(c->created_at / 1000)) < 0))
        r = -ENOMEM;
    /* RFC 7591 §3.2.1: client_secret_expires_at is required with a secret; 0: it never expires */
    if (r == 0 && j->secret[0] &&
        (json_object_set_new(o, "client_secret", json_string(j->secret)) < 0 ||
         json_object_set_new(o, "client_secret_expires_at", json_integer(0)) < 0))
        r = -ENOMEM;
    char *text = r == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static void registration_done(struct masd_request *r, void *arg)
{
    struct registration_job *j = arg;
    if (r) {
        char *body = j->rc < 0 ? NULL : response_body(j);
        if (!body) {
            if (j->rc < 0)
                log_error("registration: cannot store the client: %s", strerror(-j->rc));
            oauth_error(r, 500, "server_error", NULL);
        } else {
            log_info("registration: %s client %s", j->reused ? "reused" : "registered", j->row.id);
            oauth_no_store(r);
            masd_respond(r, 201, "application/json", masd_str_from(body));
            OPENSSL_cleanse(body, strlen(body));
            free(body);
        }
    }
    job_free(j);
}

void oauth_registration(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    struct registration_job *j = calloc(1, sizeof(*j));
    if (!j) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    int cursor = -1;
    masd_str ct = masd_req_header(r, "content-type", &cursor);
    struct registration_error err;
    int rc =
        registration_parse(ct, r->body, oauth.cfg->device_code_grant_enabled, oauth.policy, &j->reg, &err);
    if (rc == -EINVAL) {
        job_free(j);
        oauth_error(r, err.status, err.error, err.description);
        return;
    }
    if (rc == 0 && j->reg.needs_secret) {
        /* MAS: a secret for client_secret_basic, client_secret_post and client_secret_jwt */
        if (!oauth.secrets)
            rc = -ENOKEY;
        else if ((rc = random_alnum(j->secret, SECRET_LEN)) == 0)
            rc =
                secrets_seal(oauth.secrets, "client-secret", j->secret, SECRET_LEN, &j->row.encrypted_secret);
    }
    if (rc == 0)
        rc = build_row(j);
    if (rc < 0) {
        log_error("registration: %s", strerror(-rc));
        job_free(j);
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    j->now = masd_now();
    if (masd_defer(r, registration_work, registration_done, j) != MASD_DEFER_QUEUED) {
        job_free(j);
        oauth_error(r, 503, "temporarily_unavailable", NULL);
    }
}
