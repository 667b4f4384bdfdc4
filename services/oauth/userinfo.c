/* GET and POST /oauth2/userinfo (userinfo.h). The token's format is checked on the loop; the
 * lookup (one read of the token's row, storage_token_introspect, and the client's for its
 * userinfo_signed_response_alg) runs on the worker pool, then, the first time only, the write
 * that marks the token used (MAS marks it on every call that finds it unused; introspect.c does the
 * same), so a repeated call writes nothing. Activity goes to the in-memory map (activity.c).
 *
 * Where masd differs from MAS: an invalid token is 401 with `WWW-Authenticate: Bearer
 * error="invalid_token"` (RFC 6750 §3.1), where MAS answers 400 with that challenge, or a bare
 * 401 for a session without openid or a user; and a locked or deactivated user's token is
 * refused, as introspection refuses it. */
#include "userinfo.h"
#include "activity.h"
#include "clock.h"
#include "form.h"
#include "jose.h"
#include "oauth.h"
#include "token.h"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool b64token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~+/", c) != NULL);
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool b64token(masd_str s)
{
    size_t i = 0;
    while (i < s.len && b64token_char(s.ptr[i]))
        i++;
    if (i == 0)
        return false;
    while (i < s.len && s.ptr[i] == '=')
        i++;
    return i == s.len;
}

/* The Bearer token of the Authorization header: 1 found, 0 no header, -EINVAL. */
static int header_token(struct masd_request *r, char **token)
{
    int cursor = -1;
    masd_str v = masd_req_header(r, "authorization", &cursor);
    if (!v.ptr)
        return 0;
    if (masd_req_header(r, "authorization", &cursor).ptr) /* which one was meant is unknown */
        return -EINVAL;
    masd_str scheme, rest = masd_str_trim(v);
    masd_str_next(&rest, ' ', &scheme);
    rest = masd_str_trim(rest);
    if (!masd_str_caseeq(scheme, MASD_STR("Bearer")) || !rest.ptr || !b64token(rest))
        return -EINVAL;
    return (*token = strndup(rest.ptr, rest.len)) ? 1 : -ENOMEM;
}

int userinfo_token(struct masd_request *r, char **token, const char **why)
{
    char *from_header = NULL, *from_form = NULL;
    *token = NULL;
    int h = header_token(r, &from_header);
    if (h == -EINVAL)
        *why = "Invalid Authorization header";
    if (h < 0)
        return h;
    /* the form: the query of a GET, the body of a POST that says it is a form */
    masd_str form = {NULL, 0};
    int cursor = -1;
    if (masd_str_eq(r->method, MASD_STR("GET")) || masd_str_eq(r->method, MASD_STR("HEAD")))
        form = r->query;
    else if (masd_media_type_is(masd_req_header(r, "content-type", &cursor),
                                MASD_STR("application/x-www-form-urlencoded")))
        form = r->body;
    int f = form.len ? form_get(form, "access_token", &from_form) : 0;
    int rc = 0;
    if (f == -ENOMEM)
        rc = -ENOMEM;
    else if (f < 0)
        rc = -EINVAL, *why = f == -EEXIST ? "access_token is given more than once" : "Invalid form";
    else if (h && f)
        rc = -EINVAL, *why = "The access token is both in the Authorization header and in the form";
    else if (!h && !f)
        rc = -EINVAL, *why = "No access token";
    if (rc == 0) {
        *token = h ? from_header : from_form;
        return 0;
    }
    free(from_header);
    free(from_form);
    return rc;
}

int userinfo_judge(const struct storage_token_introspection *t, int64_t now, const char **why)
{
    if (t->kind != STORAGE_TOKEN_OAUTH_ACCESS)
        *why = "Not an access token";
    else if (t->revoked_at || (t->expires_at && t->expires_at <= now))
        *why = "The access token expired or was revoked";
    else if (t->session_finished_at)
        *why = "The session has ended";
    else if (!t->user_id[0])
        *why = "The session has no user";
    else if (t->user_locked_at || t->user_deactivated_at)
        *why = "The user is locked or deactivated";
    else if (!masd_words_contain(t->scope, "openid"))
        *why = "The session's scope lacks openid";
    else
        return 0;
    return -EACCES;
}

int userinfo_answer(const char *sub, const char *username, const char *client_id, const char *alg,
                    char **body, const char **content_type)
{
    *body = NULL;
    const struct jose_key *key = NULL;
    if (alg && !(key = jose_keyset_find(oauth.keys, alg)))
        return -ENOKEY;
    json_t *claims = alg ? json_pack("{s:s, s:s, s:s, s:s}", "iss", oauth.cfg->issuer, "aud", client_id,
                                     "sub", sub, "username", username)
                         : json_pack("{s:s, s:s}", "sub", sub, "username", username);
    if (!claims)
        return -ENOMEM;
    int r = 0;
    if (alg) {
        r = jose_sign(key, alg, claims, body);
        *content_type = "application/jwt";
    } else {
        r = (*body = json_dumps(claims, JSON_COMPACT)) ? 0 : -ENOMEM;
        *content_type = "application/json";
    }
    json_decref(claims);
    return r;
}

struct userinfo {
    char *token;
    int64_t now;
    char ip[MASD_ADDR_STRLEN]; /* the client's address, for the session's activity; "" unknown */
    /* results */
    int rc;          /* < 0: 500 */
    const char *why; /* set: 401 invalid_token */
    char *body;      /* the answer */
    const char *content_type;
    char mark_used[STORAGE_ID_SIZE]; /* the token's first use, to write down */
    struct storage_token_introspection t;
    char alg[JOSE_ALG_MAX + 1]; /* the client's userinfo_signed_response_alg; "" none */
};

static void userinfo_free(struct userinfo *u)
{
    free(u->token);
    free(u->body);
    free(u);
}

/* The client's userinfo_signed_response_alg (OpenID Connect Dynamic Client Registration §2),
 * from its metadata. An alg too long to be one we know is kept as "?" (no key: 500). */
static void signed_alg(const struct storage_oauth_client *c, char alg[JOSE_ALG_MAX + 1])
{
    alg[0] = '\0';
    json_t *m = c->metadata ? json_loads(c->metadata, 0, NULL) : NULL;
    const json_t *v = json_object_get(m, "userinfo_signed_response_alg");
    if (json_is_string(v))
        snprintf(alg, JOSE_ALG_MAX + 1, "%s",
                 json_string_length(v) < JOSE_ALG_MAX ? json_string_value(v) : "?");
    json_decref(m);
}

static int userinfo_tx(struct storage_tx *tx, void *arg)
{
    struct userinfo *u = arg;
    u->why = NULL;
    int r = storage_token_introspect(tx, u->token, &u->t);
    if (r == -ENOENT) {
        u->why = "Unknown access token";
        return 0;
    }
    if (r < 0 || userinfo_judge(&u->t, u->now, &u->why) < 0)
        return r < 0 ? r : 0;
    struct storage_oauth_client client;
    if ((r = storage_oauth_client_get(tx, u->t.client_id, &client)) < 0)
        return r; /* the session's client is gone: 500, as MAS */
    signed_alg(&client, u->alg);
    storage_oauth_client_clear(&client);
    return 0;
}

static int mark_used_tx(struct storage_tx *tx, void *arg)
{
    struct userinfo *u = arg;
    int r = storage_oauth_access_token_mark_used(tx, u->mark_used, u->now);
    return r == -ENOENT ? 0 : r;
}

static void userinfo_work(void *arg)
{
    struct userinfo *u = arg;
    u->rc = storage_tx(oauth.st, STORAGE_TX_READ, userinfo_tx, u);
    if (u->rc < 0 || u->why)
        return;
    /* once per access token (MAS marks first use for refresh-replay detection) */
    if (!u->t.first_used_at) {
        memcpy(u->mark_used, u->t.token_id, STORAGE_ID_SIZE);
        if ((u->rc = storage_tx(oauth.st, STORAGE_TX_WRITE, mark_used_tx, u)) < 0)
            return;
    }
    activity_note(STORAGE_SESSION_OAUTH, u->t.session_id, u->now, u->ip); /* the app itself asks (MAS) */
    u->rc = userinfo_answer(u->t.user_id, u->t.username, u->t.client_id, u->alg[0] ? u->alg : NULL, &u->body,
                            &u->content_type);
}

static void free_string(void *p)
{
    free(p);
}

static void invalid_token(struct masd_request *r, const char *why)
{
    oauth_error_challenge(r, 401, "invalid_token", why, "Bearer", "invalid_token");
}

static void userinfo_done(struct masd_request *r, void *arg)
{
    struct userinfo *u = arg;
    if (!r) {
        userinfo_free(u);
        return;
    }
    if (u->rc < 0) {
        oauth_error(r, 500, "server_error",
                    u->rc == -ENOKEY ? "No key can sign the client's userinfo_signed_response_alg" : NULL);
    } else if (u->why) {
        invalid_token(r, u->why);
    } else {
        masd_req_on_dispose(r, free_string, u->body);
        oauth_no_store(r);
        masd_respond(r, 200, u->content_type, masd_str_from(u->body));
        u->body = NULL;
    }
    userinfo_free(u);
}

void oauth_userinfo(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    struct userinfo *u = calloc(1, sizeof(*u));
    if (!u) {
        oauth_error(r, 500, "server_error", NULL);
        return;
    }
    const char *why = NULL;
    int rc = userinfo_token(r, &u->token, &why);
    enum token_kind kind;
    if (rc < 0) {
        if (rc == -ENOMEM)
            oauth_error(r, 500, "server_error", NULL);
        else
            oauth_error_challenge(r, 400, "invalid_request", why, "Bearer", "invalid_request");
    } else if (token_check(u->token, strlen(u->token), &kind) < 0 || kind != TOKEN_ACCESS) {
        invalid_token(r, "Not an access token"); /* no lookup for what cannot exist */
    } else {
        u->now = masd_now();
        if (r->client.family == AF_INET || r->client.family == AF_INET6)
            addr_format(&r->client, u->ip);
        if (masd_defer(r, userinfo_work, userinfo_done, u) == MASD_DEFER_QUEUED)
            return;
        oauth_error(r, 503, "temporarily_unavailable", NULL);
    }
    userinfo_free(u);
}
