/* POST /oauth2/device: the device authorization endpoint (RFC 8628 §3.1–3.2; MAS:
 * crates/handlers/src/oauth2/device/authorize.rs).
 *
 * MAS's order: the grant enabled (oauth.device_code_grant_enabled, else 400 invalid_request
 * before any client is looked at), the client authenticated exactly as at the token endpoint
 * (client_authenticate_for), a form that did not parse, a client that does not list the grant
 * (401 unauthorized_client). Then, in the same write transaction on the worker pool, a pending
 * grant with the requesting device's IP address and User-Agent: a device code of 32
 * alphanumerics (stored hashed) and a user code of 6 characters from A-Z0-9.
 *
 * The user code's alphabet is MAS's (it upper-cases an alphanumeric draw), drawn uniformly
 * (MAS's draw makes each letter twice as likely as each digit). It does not avoid characters that
 * look alike (0/O, 1/I), because MAS does not: a code MAS issued before masd took over reads the
 * same, and /link does not have to guess which of two characters was meant. A user code taken by
 * another grant is drawn again, in the same transaction. */
#include "client/auth.h"
#include "clock.h"
#include "compat/compat.h"
#include "log.h"
#include "oauth.h"
#include "random.h"
#include "token_request.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DEVICE_GRANT       "urn:ietf:params:oauth:grant-type:device_code"
#define DEVICE_CODE_LEN    32               /* MAS: 32 alphanumerics */
#define USER_CODE_LEN      6                /* MAS: 6 upper-case alphanumerics */
#define DEVICE_LIFETIME_MS (20 * 60 * 1000) /* MAS: 1200 s */
#define DEVICE_INTERVAL_MS (5 * 1000)       /* MAS: 5 s */
#define USER_CODE_ATTEMPTS 8                /* draws of a user code before giving up (500) */

struct device_job {
    /* in, read on the loop */
    struct client_credentials creds;
    int parse_rc;
    const char *parse_why;
    char *scope;
    char ip[STORAGE_IP_SIZE];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    int64_t now;
    /* the answer */
    int rc;
    struct client_auth_result auth; /* status != 0: refused */
    char device_code[DEVICE_CODE_LEN + 1];
    struct storage_device_code_grant grant;
};

static void device_job_free(struct device_job *j)
{
    client_credentials_clear(&j->creds);
    free(j->scope);
    OPENSSL_cleanse(j->device_code, sizeof(j->device_code));
    free(j);
}

static int device_tx(struct storage_tx *tx, void *arg)
{
    struct device_job *j = arg;
    struct storage_oauth_client client = {0};
    int r = client_authenticate_for(tx, &j->creds, oauth.device_url, j->now, j->parse_rc, j->parse_why,
                                    DEVICE_GRANT, &client, &j->auth);
    if (r <= 0)
        return r;
    struct storage_device_code_grant in = {.expires_at = j->now + DEVICE_LIFETIME_MS,
                                           .interval_ms = DEVICE_INTERVAL_MS};
    memcpy(in.client_id, client.id, sizeof(in.client_id));
    snprintf(in.scope, sizeof(in.scope), "%s", j->scope);
    memcpy(in.ip, j->ip, sizeof(in.ip));
    memcpy(in.user_agent, j->user_agent, sizeof(in.user_agent));
    storage_oauth_client_clear(&client);
    r = -EEXIST;
    for (int i = 0; i < USER_CODE_ATTEMPTS && r == -EEXIST; i++) {
        if ((r = random_upper_alnum(in.user_code, USER_CODE_LEN)) < 0 ||
            (r = random_alnum(j->device_code, DEVICE_CODE_LEN)) < 0)
            break;
        r = storage_device_code_grant_create(tx, &in, j->device_code, j->now, &j->grant);
    }
    return r;
}

static void device_work(void *arg)
{
    struct device_job *j = arg;
    client_auth_sync_once();
    j->rc = storage_tx(oauth.st, STORAGE_TX_WRITE, device_tx, j);
    if (j->rc < 0)
        log_error("device authorization: %s", storage_last_error());
}

static void free_string(void *p)
{
    free(p);
}

/* RFC 8628 §3.2, with MAS's verification URIs: public_base + "link", and "?code=" only when
 * auto-fill is enabled (oauth.device_code_user_code_auto_fill_enabled). */
static void device_respond(struct masd_request *r, struct device_job *j)
{
    char *complete = NULL;
    if (oauth.cfg->device_code_user_code_auto_fill_enabled &&
        asprintf(&complete, "%s?code=%s", oauth.link_url, j->grant.user_code) < 0)
        complete = NULL;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:I}", "device_code", j->device_code, "user_code", j->grant.user_code,
                  "verification_uri", oauth.link_url, "expires_in", (json_int_t)(DEVICE_LIFETIME_MS / 1000),
                  "interval", (json_int_t)(DEVICE_INTERVAL_MS / 1000));
    if (o && complete) /* absent, not null, without auto-fill (RFC 8628 §3.2: OPTIONAL) */
        json_object_set_new(o, "verification_uri_complete", json_string(complete));
    free(complete);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    masd_req_on_dispose(r, free_string, body);
    oauth_no_store(r);
    masd_respond(r, 200, "application/json", masd_str_from(body));
}

static void device_done(struct masd_request *r, void *arg)
{
    struct device_job *j = arg;
    if (r) {
        if (j->rc < 0)
            oauth_error(r, 500, "server_error", NULL);
        else if (j->auth.status)
            oauth_error(r, j->auth.status, j->auth.error, j->auth.why);
        else
            device_respond(r, j);
    }
    device_job_free(j);
}

/* On the loop: the credentials and the form. true when the request is answered. */
static bool device_front(struct masd_request *r, struct device_job *j)
{
    if (client_credentials_read(r, &j->creds))
        return true;
    j->parse_rc = device_request_parse(r->body, &j->scope, &j->parse_why);
    if (j->parse_rc == -ENOMEM) {
        oauth_error(r, 500, "server_error", NULL);
        return true;
    }
    const char *ua = compat_request_header(r, "user-agent", STORAGE_SHORT_TEXT_MAX);
    snprintf(j->user_agent, sizeof(j->user_agent), "%s", ua ? ua : "");
    char buf[MASD_ADDR_STRLEN];
    if (r->client.family == AF_INET || r->client.family == AF_INET6)
        snprintf(j->ip, sizeof(j->ip), "%s", addr_format(&r->client, buf));
    j->now = masd_now();
    return false;
}

void oauth_device(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    if (!oauth.cfg->device_code_grant_enabled) {
        oauth_error(r, 400, "invalid_request", "The Device Authorization Grant is disabled on this server");
        return;
    }
    struct device_job *j = calloc(1, sizeof(*j));
    if (!j) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    if (device_front(r, j)) {
        device_job_free(j);
        return;
    }
    if (masd_defer(r, device_work, device_done, j) != MASD_DEFER_QUEUED) {
        device_job_free(j);
        oauth_error(r, 503, "temporarily_unavailable", NULL);
    }
}
