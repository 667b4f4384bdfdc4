/* POST /oauth2/introspect (RFC 7662; MAS: crates/handlers/src/oauth2/introspection.rs): the
 * homeserver's question "is this token good, and whose is it?" on every request that misses its
 * cache. The hot path: the format is checked on the loop (a malformed token is inactive with no
 * lookup); with the shared secret the lookup is one SELECT (STORAGE_TX_ONE_STATEMENT), a point read
 * of the token's hash in a table that carries the whole answer (storage_token_introspect), run on the
 * loop itself on SQLite (docs/architecture.md §4: busy_timeout 0; when SQLite is busy it goes to the worker
 * pool) and on the worker pool on PostgreSQL; activity goes to the in-memory map (activity.c),
 * never a write per call. Client credentials (a client may claim a jti: a write) always go to
 * the pool. */
#include "activity.h"
#include "client/auth.h"
#include "clock.h"
#include "form.h"
#include "json_writer.h"
#include "oauth.h"
#include "secrets.h"
#include "token.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define API_SCOPE           "urn:matrix:client:api:*"
#define API_SCOPE_UNSTABLE  "urn:matrix:org.matrix.msc2967.client:api:*"
#define DEVICE_PREFIX       "urn:matrix:client:device:"
#define DEVICE_PREFIX_UNST  "urn:matrix:org.matrix.msc2967.client:device:"
#define SYNAPSE_ADMIN_SCOPE "urn:synapse:admin:*"
#define INACTIVE            "{\"active\":false}"

enum hint { HINT_NONE, HINT_ACCESS, HINT_REFRESH };

struct introspect {
    struct client_credentials creds;
    char *token;
    enum token_kind kind;
    enum hint hint;
    bool device_header; /* X-MAS-Supports-Device-Id: 1 */
    int64_t now;
    /* results */
    struct client_auth_result auth;
    int rc;
    char *body;                      /* the active answer; NULL: inactive */
    char mark_used[STORAGE_ID_SIZE]; /* an OAuth access token introspected for the first time */
};

static void introspect_free(struct introspect *in)
{
    client_credentials_clear(&in->creds);
    free(in->token);
    free(in->body);
    free(in);
}

/* RFC 6749 §3.3 scope-token characters: a device ID outside them cannot be put in a scope. */
static bool scope_token_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == 0x22 || *s == 0x5c || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted (MAS sorts lexicographically), without duplicates, space-separated. */
static char *join_sorted(char **items, size_t n)
{
    qsort(items, n, sizeof(*items), cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 1;
    char *out = malloc(len), *p = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(items[i], items[i - 1]) == 0)
            continue;
        if (p != out)
            *p++ = ' ';
        size_t k = strlen(items[i]);
        memcpy(p, items[i], k); /* not sprintf: its formatting was a tenth of an introspection */
        p += k;
    }
    *p = '\0';
    return out;
}

/* The stable and unstable twin of an API or device scope token (MAS adds both), or NULL. */
static char *scope_twin(const char *t)
{
    char *out = NULL;
    if (strcmp(t, API_SCOPE) == 0)
        return strdup(API_SCOPE_UNSTABLE);
    if (strcmp(t, API_SCOPE_UNSTABLE) == 0)
        return strdup(API_SCOPE);
    if (strncmp(t, DEVICE_PREFIX, strlen(DEVICE_PREFIX)) == 0)
        return asprintf(&out, "%s%s", DEVICE_PREFIX_UNST, t + strlen(DEVICE_PREFIX)) < 0 ? NULL : out;
    if (strncmp(t, DEVICE_PREFIX_UNST, strlen(DEVICE_PREFIX_UNST)) == 0)
        return asprintf(&out, "%s%s", DEVICE_PREFIX, t + strlen(DEVICE_PREFIX_UNST)) < 0 ? NULL : out;
    return NULL;
}

static char *oauth_scope(const char *scope)
{
    size_t n = 0, cap = 2 * (strlen(scope) / 2 + 2);
    char **items = calloc(cap, sizeof(*items));
    char *copy = strdup(scope), *save = NULL, *out = NULL;
    if (!items || !copy)
        goto out;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        items[n++] = strdup(t);
        char *twin = scope_twin(t);
        if (twin)
            items[n++] = twin;
    }
    out = join_sorted(items, n);
out:
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
    free(copy);
    return out;
}

static char *compat_scope(const struct storage_token_introspection *t, bool device_header)
{
    char *items[5], *dev = NULL, *dev_unst = NULL;
    size_t n = 0;
    items[n++] = API_SCOPE;
    items[n++] = API_SCOPE_UNSTABLE;
    if (t->device_id[0] && !device_header) {
        if (asprintf(&dev, "%s%s", DEVICE_PREFIX, t->device_id) < 0 ||
            asprintf(&dev_unst, "%s%s", DEVICE_PREFIX_UNST, t->device_id) < 0) {
            free(dev);
            return NULL;
        }
        items[n++] = dev;
        items[n++] = dev_unst;
    }
    if (t->is_synapse_admin)
        items[n++] = SYNAPSE_ADMIN_SCOPE;
    char *out = join_sorted(items, n);
    free(dev);
    free(dev_unst);
    return out;
}

/* A token without a user (client_credentials) has none to lock. */
static bool user_ok(const struct storage_token_introspection *t)
{
    return t->user_locked_at == 0 && t->user_deactivated_at == 0;
}

/* The answer, written as text (json_writer.h: the same bytes as jansson's, without building and
 * walking an object, which cost as much as the lookup): the fields every active answer has, the
 * user's, exp/expires_in only for an expiring access token, then device_id (compat) or jti
 * (OAuth). NULL when memory ran out. */
static char *answer(const char *scope, const char *client_id, const struct storage_token_introspection *t,
                    const char *token_type, int64_t expires_at, int64_t now, const char *last_key,
                    const char *last)
{
    struct json_writer w;
    json_writer_begin(&w);
    json_writer_bool(&w, "active", true);
    json_writer_string(&w, "scope", scope);
    json_writer_string(&w, "client_id", client_id);
    json_writer_string(&w, "token_type", token_type);
    json_writer_int(&w, "iat", t->created_at / 1000);
    json_writer_int(&w, "nbf", t->created_at / 1000);
    if (t->user_id[0]) {
        json_writer_string(&w, "username", t->username);
        json_writer_string(&w, "sub", t->user_id);
    }
    if (expires_at) {
        json_writer_int(&w, "exp", expires_at / 1000);
        json_writer_int(&w, "expires_in", (expires_at - now) / 1000);
    }
    if (last[0])
        json_writer_string(&w, last_key, last);
    return json_writer_end(&w);
}

/* The token's row (one point read by its hash: storage_token_introspect). 1 found, 0 unknown or
 * of another kind, < 0 error. */
static int lookup(struct storage_tx *tx, struct introspect *in, enum storage_token_kind kind,
                  struct storage_token_introspection *t)
{
    int r = storage_token_introspect(tx, in->token, t);
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    return t->kind == kind;
}

static int compat_token(struct storage_tx *tx, struct introspect *in, bool access)
{
    struct storage_token_introspection t;
    int r = lookup(tx, in, access ? STORAGE_TOKEN_COMPAT_ACCESS : STORAGE_TOKEN_COMPAT_REFRESH, &t);
    if (r <= 0)
        return r;
    bool valid =
        access ? !t.revoked_at && (!t.expires_at || t.expires_at > in->now) : !t.consumed_at && !t.revoked_at;
    if (!valid || t.session_finished_at || !user_ok(&t))
        return 0;
    if (t.device_id[0] && !in->device_header && !scope_token_ok(t.device_id))
        return 0;
    char *scope = compat_scope(&t, in->device_header);
    in->body = scope ? answer(scope, "legacy", &t, access ? "access_token" : "refresh_token",
                              access ? t.expires_at : 0, in->now, "device_id", t.device_id)
                     : NULL;
    free(scope);
    if (!in->body)
        return -ENOMEM;
    /* no address: the homeserver asks, not the session's client (MAS passes none either) */
    activity_note(STORAGE_SESSION_COMPAT, t.session_id, in->now, NULL);
    return 0;
}

static int compat_access(struct storage_tx *tx, struct introspect *in)
{
    return compat_token(tx, in, true);
}

static int compat_refresh(struct storage_tx *tx, struct introspect *in)
{
    return compat_token(tx, in, false);
}

/* OAuth tokens: the session's scope with twins, jti the token's ID. */
static int oauth_token_row(struct storage_tx *tx, struct introspect *in, bool access)
{
    struct storage_token_introspection t;
    int r = lookup(tx, in, access ? STORAGE_TOKEN_OAUTH_ACCESS : STORAGE_TOKEN_OAUTH_REFRESH, &t);
    if (r <= 0)
        return r;
    bool valid =
        access ? !t.revoked_at && (!t.expires_at || t.expires_at > in->now) : !t.consumed_at && !t.revoked_at;
    if (!valid || t.session_finished_at || !user_ok(&t))
        return 0;
    char *scope = oauth_scope(t.scope);
    in->body = scope ? answer(scope, t.client_id, &t, access ? "access_token" : "refresh_token",
                              access ? t.expires_at : 0, in->now, "jti", t.token_id)
                     : NULL;
    free(scope);
    if (!in->body)
        return -ENOMEM;
    if (access && !t.first_used_at)
        memcpy(in->mark_used, t.token_id, STORAGE_ID_SIZE);
    activity_note(STORAGE_SESSION_OAUTH, t.session_id, in->now, NULL);
    return 0;
}

static int introspect_tx(struct storage_tx *tx, void *arg)
{
    struct introspect *in = arg;
    free(in->body);
    in->body = NULL;
    in->mark_used[0] = '\0';
    in->auth = (struct client_auth_result){0};
    if (!in->creds.bearer) {
        struct storage_oauth_client client;
        int r = client_authenticate(tx, &in->creds, oauth.introspect_url, in->now, &client, &in->auth);
        if (r < 0)
            return in->auth.status >= 500 ? r : 0; /* a refusal still commits a claimed jti */
        bool public = in->auth.method == CLIENT_AUTH_NONE;
        storage_oauth_client_clear(&client);
        if (public) {
            in->auth = (struct client_auth_result){.status = 401, .error = "access_denied"};
            return 0;
        }
    }
    switch (in->kind) {
    case TOKEN_COMPAT_ACCESS:
        return in->hint == HINT_REFRESH ? 0 : compat_access(tx, in);
    case TOKEN_COMPAT_REFRESH:
        return in->hint == HINT_ACCESS ? 0 : compat_refresh(tx, in);
    case TOKEN_ACCESS:
        return in->hint == HINT_REFRESH ? 0 : oauth_token_row(tx, in, true);
    case TOKEN_REFRESH:
        return in->hint == HINT_ACCESS ? 0 : oauth_token_row(tx, in, false);
    default: /* personal access tokens: not issued by masd */
        return 0;
    }
}

static int mark_used_tx(struct storage_tx *tx, void *arg)
{
    struct introspect *in = arg;
    int r = storage_oauth_access_token_mark_used(tx, in->mark_used, in->now);
    return r == -ENOENT ? 0 : r;
}

static void introspect_work(void *arg)
{
    struct introspect *in = arg;
    if (!in->creds.bearer)
        client_auth_sync_once();
    /* a client assertion claims its jti: that is a write; with the shared secret, one lookup */
    unsigned flags = in->creds.jwt      ? STORAGE_TX_WRITE
                     : in->creds.bearer ? STORAGE_TX_READ | STORAGE_TX_ONE_STATEMENT
                                        : STORAGE_TX_READ;
    in->rc = storage_tx(oauth.st, flags, introspect_tx, in);
    /* once per OAuth access token (MAS marks first use for refresh-replay detection) */
    if (in->rc >= 0 && in->mark_used[0])
        storage_tx(oauth.st, STORAGE_TX_WRITE, mark_used_tx, in);
}

static void respond_inactive(struct masd_request *r)
{
    oauth_no_store(r);
    masd_respond(r, 200, "application/json", MASD_STR(INACTIVE));
}

static void free_string(void *p)
{
    free(p);
}

static void introspect_done(struct masd_request *r, void *arg)
{
    struct introspect *in = arg;
    if (!r) {
        introspect_free(in);
        return;
    }
    if (in->rc < 0) {
        oauth_error(r, 500, "server_error", NULL);
    } else if (in->auth.status) {
        oauth_error(r, in->auth.status, in->auth.error, in->auth.why);
    } else if (in->body) {
        masd_req_on_dispose(r, free_string, in->body);
        oauth_no_store(r);
        masd_respond(r, 200, "application/json", masd_str_from(in->body));
        in->body = NULL;
    } else {
        respond_inactive(r);
    }
    introspect_free(in);
}

/* Everything that needs no database, on the loop: caller authentication by the shared secret,
 * the form, the token's format. Returns true when the request is answered. */
static bool introspect_front(struct masd_request *r, struct introspect *in)
{
    const char *error, *why;
    int rc = client_credentials_parse(r, r->body, &in->creds, &error, &why);
    if (rc < 0) {
        oauth_error(r, 400, rc == -ENOMEM ? "server_error" : error, why);
        return true;
    }
    if (in->creds.bearer) {
        const char *t = in->creds.bearer_token;
        if (!oauth.has_matrix_secret || !secret_digest_equal(&oauth.matrix_secret, t, strlen(t))) {
            /* the homeserver's shared secret is a Bearer token: RFC 6750 §3.1 */
            oauth_error_challenge(r, 401, "access_denied", NULL, "Bearer", "invalid_token");
            return true;
        }
    }
    char *hint = NULL;
    if (form_get(r->body, "token", &in->token) <= 0 || form_get(r->body, "token_type_hint", &hint) < 0) {
        oauth_error(r, 400, "invalid_request", NULL);
        return true;
    }
    in->hint = !hint                                ? HINT_NONE
               : strcmp(hint, "access_token") == 0  ? HINT_ACCESS
               : strcmp(hint, "refresh_token") == 0 ? HINT_REFRESH
                                                    : -1;
    free(hint);
    if ((int)in->hint < 0) {
        oauth_error(r, 400, "invalid_request", "Unknown token_type_hint");
        return true;
    }
    int cursor = -1;
    in->device_header = masd_str_eq(masd_req_header(r, "x-mas-supports-device-id", &cursor), MASD_STR("1"));
    in->now = masd_now();
    /* with the shared secret, a malformed token needs nothing more; client credentials must
     * still be checked first, so that the answer never depends on the token for a stranger */
    if (in->creds.bearer && token_check(in->token, strlen(in->token), &in->kind) < 0) {
        respond_inactive(r);
        return true;
    }
    return false;
}

/* With the shared secret on SQLite, the lookup right here on the loop (storage_tx_nowait: no lock
 * wait, no retry). Returns false when the pool must do it: SQLite busy, PostgreSQL, any error
 * (the pool retries and reports it), or an OAuth token's first use to write down. */
static bool introspect_on_loop(struct masd_request *r, struct introspect *in)
{
    if (!in->creds.bearer)
        return false;
    int rc = storage_tx_nowait(oauth.st, STORAGE_TX_READ | STORAGE_TX_ONE_STATEMENT, introspect_tx, in);
    if (rc < 0 || in->mark_used[0])
        return false;
    in->rc = rc;
    introspect_done(r, in);
    return true;
}

void oauth_introspect(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    struct introspect *in = calloc(1, sizeof(*in));
    if (!in) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    if (introspect_front(r, in)) {
        introspect_free(in);
        return;
    }
    if (!in->creds.bearer && token_check(in->token, strlen(in->token), &in->kind) < 0)
        in->kind = (enum token_kind) - 1; /* authenticate the client, then answer inactive */
    if (introspect_on_loop(r, in))
        return;
    if (masd_defer(r, introspect_work, introspect_done, in) != MASD_DEFER_QUEUED) {
        introspect_free(in);
        oauth_error(r, 503, "temporarily_unavailable", NULL);
    }
}
