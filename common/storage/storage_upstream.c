/* Upstream providers, links and authorization sessions (storage_upstream.h). */
#include "storage_upstream.h"
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROVIDER_COLS                                                                                        \
    "upstream_oauth_provider_id, issuer, human_name, brand_name, synapse_idp_id, scope, client_id,"          \
    " encrypted_client_secret, token_endpoint_auth_method, token_endpoint_signing_alg,"                      \
    " id_token_signed_response_alg, userinfo_signed_response_alg, fetch_userinfo, claims_imports,"           \
    " authorization_endpoint_override, token_endpoint_override, userinfo_endpoint_override,"                 \
    " jwks_uri_override, discovery_mode, pkce_mode, response_mode, additional_parameters,"                   \
    " forward_login_hint, ui_order, on_backchannel_logout, registration_token_required, created_at,"         \
    " disabled_at"

STORAGE_STMT(
    provider_upsert,
    "INSERT INTO upstream_oauth_providers (" PROVIDER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
    " $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, NULL)"
    " ON CONFLICT (upstream_oauth_provider_id) DO UPDATE SET issuer = $2, human_name = $3,"
    " brand_name = $4, synapse_idp_id = $5, scope = $6, client_id = $7, encrypted_client_secret = $8,"
    " token_endpoint_auth_method = $9, token_endpoint_signing_alg = $10,"
    " id_token_signed_response_alg = $11, userinfo_signed_response_alg = $12, fetch_userinfo = $13,"
    " claims_imports = $14, authorization_endpoint_override = $15, token_endpoint_override = $16,"
    " userinfo_endpoint_override = $17, jwks_uri_override = $18, discovery_mode = $19,"
    " pkce_mode = $20, response_mode = $21, additional_parameters = $22, forward_login_hint = $23,"
    " ui_order = $24, on_backchannel_logout = $25, registration_token_required = $26,"
    " disabled_at = NULL");
STORAGE_STMT(provider_get,
             "SELECT " PROVIDER_COLS " FROM upstream_oauth_providers WHERE upstream_oauth_provider_id = $1");
STORAGE_STMT(provider_list, "SELECT upstream_oauth_provider_id, disabled_at FROM upstream_oauth_providers"
                            " ORDER BY upstream_oauth_provider_id");
STORAGE_STMT(provider_disable, "UPDATE upstream_oauth_providers SET disabled_at = $2"
                               " WHERE upstream_oauth_provider_id = $1 AND disabled_at IS NULL");
STORAGE_STMT(provider_exists, "SELECT 1 FROM upstream_oauth_providers WHERE upstream_oauth_provider_id = $1");
STORAGE_STMT(provider_delete_sessions,
             "DELETE FROM upstream_oauth_authorization_sessions WHERE upstream_oauth_provider_id = $1");
STORAGE_STMT(provider_delete_links, "DELETE FROM upstream_oauth_links WHERE upstream_oauth_provider_id = $1");
STORAGE_STMT(provider_delete, "DELETE FROM upstream_oauth_providers WHERE upstream_oauth_provider_id = $1");

void storage_upstream_provider_clear(struct storage_upstream_provider *p)
{
    char **fields[] = {&p->issuer,
                       &p->human_name,
                       &p->brand_name,
                       &p->synapse_idp_id,
                       &p->scope,
                       &p->client_id,
                       &p->encrypted_client_secret,
                       &p->token_endpoint_auth_method,
                       &p->token_endpoint_signing_alg,
                       &p->id_token_signed_response_alg,
                       &p->userinfo_signed_response_alg,
                       &p->claims_imports,
                       &p->authorization_endpoint_override,
                       &p->token_endpoint_override,
                       &p->userinfo_endpoint_override,
                       &p->jwks_uri_override,
                       &p->discovery_mode,
                       &p->pkce_mode,
                       &p->response_mode,
                       &p->on_backchannel_logout,
                       &p->additional_parameters};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        free(*fields[i]);
    memset(p, 0, sizeof(*p));
}

int storage_upstream_provider_upsert(struct storage_tx *tx, const struct storage_upstream_provider *in,
                                     int64_t now)
{
    int r = storage_check_text("client_id", in->client_id, 1024, false);
    if (r < 0)
        return r;
    return sq_exec(tx, &provider_upsert,
                   SQ_ARGS(P_TEXT(in->id), P_TEXT(in->issuer), P_TEXT(in->human_name), P_TEXT(in->brand_name),
                           P_TEXT(in->synapse_idp_id), P_TEXT(in->scope), P_TEXT(in->client_id),
                           P_TEXT(in->encrypted_client_secret), P_TEXT(in->token_endpoint_auth_method),
                           P_TEXT(in->token_endpoint_signing_alg), P_TEXT(in->id_token_signed_response_alg),
                           P_TEXT(in->userinfo_signed_response_alg), P_BOOL(in->fetch_userinfo),
                           P_TEXT(in->claims_imports ? in->claims_imports : "{}"),
                           P_TEXT(in->authorization_endpoint_override), P_TEXT(in->token_endpoint_override),
                           P_TEXT(in->userinfo_endpoint_override), P_TEXT(in->jwks_uri_override),
                           P_TEXT(in->discovery_mode), P_TEXT(in->pkce_mode), P_TEXT(in->response_mode),
                           P_TEXT(in->additional_parameters ? in->additional_parameters : "[]"),
                           P_BOOL(in->forward_login_hint), P_INT(in->ui_order),
                           P_TEXT(in->on_backchannel_logout), P_BOOL(in->registration_token_required),
                           P_INT(now)),
                   NULL);
}

static int read_provider(struct sq *q, void *arg)
{
    struct storage_upstream_provider *p = arg;
    sq_copy(q, 0, p->id, sizeof(p->id));
    char **text[] = {&p->issuer,
                     &p->human_name,
                     &p->brand_name,
                     &p->synapse_idp_id,
                     &p->scope,
                     &p->client_id,
                     &p->encrypted_client_secret,
                     &p->token_endpoint_auth_method,
                     &p->token_endpoint_signing_alg,
                     &p->id_token_signed_response_alg,
                     &p->userinfo_signed_response_alg};
    for (int i = 0; i < 11; i++)
        if (sq_text(q, i + 1) && !(*text[i] = strdup(sq_text(q, i + 1))))
            return storage_fail(-ENOMEM, "out of memory");
    p->fetch_userinfo = sq_int(q, 12) != 0;
    char **more[] = {&p->claims_imports,
                     &p->authorization_endpoint_override,
                     &p->token_endpoint_override,
                     &p->userinfo_endpoint_override,
                     &p->jwks_uri_override,
                     &p->discovery_mode,
                     &p->pkce_mode,
                     &p->response_mode,
                     &p->additional_parameters};
    for (int i = 0; i < 9; i++)
        if (sq_text(q, i + 13) && !(*more[i] = strdup(sq_text(q, i + 13))))
            return storage_fail(-ENOMEM, "out of memory");
    p->forward_login_hint = sq_int(q, 22) != 0;
    p->ui_order = sq_int(q, 23);
    if (sq_text(q, 24) && !(p->on_backchannel_logout = strdup(sq_text(q, 24))))
        return storage_fail(-ENOMEM, "out of memory");
    p->registration_token_required = sq_int(q, 25) != 0;
    p->created_at = sq_int(q, 26);
    p->disabled_at = sq_int(q, 27);
    return 0;
}

int storage_upstream_provider_get(struct storage_tx *tx, const char *id,
                                  struct storage_upstream_provider *out)
{
    memset(out, 0, sizeof(*out));
    int r = sq_one(tx, &provider_get, SQ_ARGS(P_TEXT(id)), read_provider, out);
    if (r < 0)
        storage_upstream_provider_clear(out);
    return r;
}

struct list {
    char (*ids)[STORAGE_ID_SIZE];
    int64_t *disabled;
    size_t n, cap, cap2, n2;
};

static int push(struct sq *q, void *arg)
{
    struct list *l = arg;
    char(*slot)[STORAGE_ID_SIZE] = storage_array_push((void **)&l->ids, &l->n, &l->cap, sizeof(*l->ids));
    int64_t *d =
        slot ? storage_array_push((void **)&l->disabled, &l->n2, &l->cap2, sizeof(*l->disabled)) : NULL;
    if (!d)
        return storage_fail(-ENOMEM, "out of memory");
    sq_copy(q, 0, *slot, STORAGE_ID_SIZE);
    *d = sq_int(q, 1);
    return 0;
}

int storage_upstream_provider_list(struct storage_tx *tx, char (**ids)[STORAGE_ID_SIZE], int64_t **disabled,
                                   size_t *n)
{
    struct list l = {0};
    int r = sq_each(tx, &provider_list, NULL, 0, push, &l);
    if (r < 0) {
        free(l.ids);
        free(l.disabled);
        return r;
    }
    *ids = l.ids, *disabled = l.disabled, *n = l.n;
    return 0;
}

int storage_upstream_provider_disable(struct storage_tx *tx, const char *id, int64_t now)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &provider_disable, SQ_ARGS(P_TEXT(id), P_INT(now)), &changes);
    return r < 0 ? r : storage_changed_or_missing(tx, changes, &provider_exists, id);
}

int storage_upstream_provider_delete(struct storage_tx *tx, const char *id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &provider_delete_sessions, SQ_ARGS(P_TEXT(id)), NULL);
    if (r >= 0)
        r = sq_exec(tx, &provider_delete_links, SQ_ARGS(P_TEXT(id)), NULL);
    if (r >= 0)
        r = sq_exec(tx, &provider_delete, SQ_ARGS(P_TEXT(id)), &changes);
    return r < 0 ? r : changes ? 0 : -ENOENT;
}

STORAGE_STMT(link_insert,
             "INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id,"
             " user_id, subject, human_account_name, created_at) VALUES ($1, $2, NULL, $3, $4, $5)");
STORAGE_STMT(link_find, "SELECT upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject,"
                        " human_account_name, created_at FROM upstream_oauth_links"
                        " WHERE upstream_oauth_provider_id = $1 AND subject = $2");

static int read_link(struct sq *q, void *arg)
{
    struct storage_upstream_link *l = arg;
    sq_copy(q, 0, l->id, sizeof(l->id));
    sq_copy(q, 1, l->provider_id, sizeof(l->provider_id));
    sq_copy(q, 2, l->user_id, sizeof(l->user_id));
    sq_copy(q, 3, l->subject, sizeof(l->subject));
    sq_copy(q, 4, l->human_account_name, sizeof(l->human_account_name));
    l->created_at = sq_int(q, 5);
    return 0;
}

int storage_upstream_link_find(struct storage_tx *tx, const char *provider_id, const char *subject,
                               struct storage_upstream_link *out)
{
    memset(out, 0, sizeof(*out));
    return sq_one(tx, &link_find, SQ_ARGS(P_TEXT(provider_id), P_TEXT(subject)), read_link, out);
}

int storage_upstream_link_create(struct storage_tx *tx, const char *provider_id, const char *subject,
                                 const char *human_account_name, int64_t now,
                                 struct storage_upstream_link *out)
{
    int r = storage_check_text("subject", subject, sizeof(out->subject) - 1, false);
    if (r >= 0 && human_account_name)
        r = storage_check_text("human_account_name", human_account_name, sizeof(out->human_account_name) - 1,
                               true);
    if (r < 0)
        return r;
    struct storage_upstream_link found;
    if ((r = storage_upstream_link_find(tx, provider_id, subject, &found)) != -ENOENT)
        return r < 0 ? r : -EEXIST;
    memset(out, 0, sizeof(*out));
    storage_new_id(out->id);
    r = sq_exec(tx, &link_insert,
                SQ_ARGS(P_TEXT(out->id), P_TEXT(provider_id), P_TEXT(subject), P_TEXT(human_account_name),
                        P_INT(now)),
                NULL);
    if (r < 0)
        return r;
    snprintf(out->provider_id, sizeof(out->provider_id), "%s", provider_id);
    snprintf(out->subject, sizeof(out->subject), "%s", subject);
    storage_copy_cut(out->human_account_name, sizeof(out->human_account_name), human_account_name);
    out->created_at = now;
    return 0;
}

STORAGE_STMT(session_insert,
             "INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id,"
             " upstream_oauth_provider_id, state, code_challenge_verifier, nonce, created_at)"
             " VALUES ($1, $2, $3, $4, $5, $6)");
STORAGE_STMT(session_by_state, "SELECT upstream_oauth_authorization_session_id, upstream_oauth_provider_id"
                               " FROM upstream_oauth_authorization_sessions WHERE state = $1");

int storage_upstream_session_create(struct storage_tx *tx, const char *provider_id, const char *state,
                                    const char *verifier, const char *nonce, int64_t now,
                                    char id[STORAGE_ID_SIZE])
{
    int r = storage_check_text("state", state, 255, false);
    if (r < 0)
        return r;
    storage_new_id(id);
    return sq_exec(
        tx, &session_insert,
        SQ_ARGS(P_TEXT(id), P_TEXT(provider_id), P_TEXT(state), P_TEXT(verifier), P_TEXT(nonce), P_INT(now)),
        NULL);
}

struct two_ids {
    char *a, *b;
};

static int read_two(struct sq *q, void *arg)
{
    struct two_ids *t = arg;
    sq_copy(q, 0, t->a, STORAGE_ID_SIZE);
    sq_copy(q, 1, t->b, STORAGE_ID_SIZE);
    return 0;
}

int storage_upstream_session_find_state(struct storage_tx *tx, const char *state, char id[STORAGE_ID_SIZE],
                                        char provider_id[STORAGE_ID_SIZE])
{
    struct two_ids t = {id, provider_id};
    return sq_one(tx, &session_by_state, SQ_ARGS(P_TEXT(state)), read_two, &t);
}

#define SESSION_COLS                                                                                         \
    "upstream_oauth_authorization_session_id, upstream_oauth_provider_id, upstream_oauth_link_id, state,"    \
    " code_challenge_verifier, nonce, id_token, id_token_claims, id_token_sub, id_token_sid,"                \
    " extra_callback_parameters, userinfo, browser_session_id, created_at, completed_at, consumed_at,"       \
    " unlinked_at"

STORAGE_STMT(session_get, "SELECT " SESSION_COLS " FROM upstream_oauth_authorization_sessions"
                          " WHERE upstream_oauth_authorization_session_id = $1");
STORAGE_STMT(session_by_link,
             "SELECT " SESSION_COLS " FROM upstream_oauth_authorization_sessions"
             " WHERE upstream_oauth_link_id = $1"
             " ORDER BY created_at DESC, upstream_oauth_authorization_session_id DESC LIMIT 1");
STORAGE_STMT(session_complete,
             "UPDATE upstream_oauth_authorization_sessions SET upstream_oauth_link_id = $2, id_token = $3,"
             " id_token_claims = $4, id_token_sub = $5, id_token_sid = $6, extra_callback_parameters = $7,"
             " userinfo = $8, completed_at = $9"
             " WHERE upstream_oauth_authorization_session_id = $1 AND completed_at IS NULL");
STORAGE_STMT(session_consume,
             "UPDATE upstream_oauth_authorization_sessions SET consumed_at = $3, browser_session_id = $2"
             " WHERE upstream_oauth_authorization_session_id = $1 AND completed_at IS NOT NULL"
             " AND consumed_at IS NULL");
STORAGE_STMT(session_exists, "SELECT 1 FROM upstream_oauth_authorization_sessions"
                             " WHERE upstream_oauth_authorization_session_id = $1");

void storage_upstream_session_clear(struct storage_upstream_session *s)
{
    free(s->id_token);
    free(s->id_token_claims);
    free(s->extra_callback_parameters);
    free(s->userinfo);
    memset(s, 0, sizeof(*s));
}

static char *dup_col(struct sq *q, int col)
{
    const char *t = sq_text(q, col);
    return t ? strdup(t) : NULL;
}

static int read_session(struct sq *q, void *arg)
{
    struct storage_upstream_session *s = arg;
    storage_upstream_session_clear(s);
    sq_copy(q, 0, s->id, sizeof(s->id));
    sq_copy(q, 1, s->provider_id, sizeof(s->provider_id));
    sq_copy(q, 2, s->link_id, sizeof(s->link_id));
    sq_copy(q, 3, s->state, sizeof(s->state));
    sq_copy(q, 4, s->verifier, sizeof(s->verifier));
    sq_copy(q, 5, s->nonce, sizeof(s->nonce));
    sq_copy(q, 8, s->id_token_sub, sizeof(s->id_token_sub));
    sq_copy(q, 9, s->id_token_sid, sizeof(s->id_token_sid));
    sq_copy(q, 12, s->browser_session_id, sizeof(s->browser_session_id));
    s->created_at = sq_int(q, 13);
    s->completed_at = sq_int(q, 14);
    s->consumed_at = sq_int(q, 15);
    s->unlinked_at = sq_int(q, 16);
    int cols[] = {6, 7, 10, 11};
    char **dst[] = {&s->id_token, &s->id_token_claims, &s->extra_callback_parameters, &s->userinfo};
    for (size_t i = 0; i < 4; i++)
        if (!sq_null(q, cols[i]) && !(*dst[i] = dup_col(q, cols[i]))) {
            storage_upstream_session_clear(s);
            return -ENOMEM;
        }
    return 0;
}

int storage_upstream_session_get(struct storage_tx *tx, const char *id, struct storage_upstream_session *out)
{
    memset(out, 0, sizeof(*out));
    return sq_one(tx, &session_get, SQ_ARGS(P_TEXT(id)), read_session, out);
}

int storage_upstream_session_find_link(struct storage_tx *tx, const char *link_id,
                                       struct storage_upstream_session *out)
{
    memset(out, 0, sizeof(*out));
    return sq_one(tx, &session_by_link, SQ_ARGS(P_TEXT(link_id)), read_session, out);
}

static int nothing(struct sq *q, void *arg)
{
    (void)q;
    (void)arg;
    return 0;
}

/* 0 when a compare-and-set changed the row, else -EALREADY or -ENOENT as the row exists. */
static int cas_result(struct storage_tx *tx, const char *id, int r, int64_t changes)
{
    if (r < 0 || changes)
        return r < 0 ? r : 0;
    r = sq_one(tx, &session_exists, SQ_ARGS(P_TEXT(id)), nothing, NULL);
    return r == 0 ? -EALREADY : r;
}

int storage_upstream_session_complete(struct storage_tx *tx, const char *id,
                                      const struct storage_upstream_completion *c, int64_t now)
{
    int r = storage_check_text("link_id", c->link_id, STORAGE_ID_SIZE - 1, false);
    if (r < 0)
        return r;
    int64_t changes = 0;
    r = sq_exec(tx, &session_complete,
                SQ_ARGS(P_TEXT(id), P_TEXT(c->link_id), P_TEXT(c->id_token), P_TEXT(c->id_token_claims),
                        P_OPT(c->id_token_sub), P_OPT(c->id_token_sid),
                        P_TEXT(c->extra_callback_parameters ? c->extra_callback_parameters : "{}"),
                        P_TEXT(c->userinfo), P_INT(now)),
                &changes);
    return cas_result(tx, id, r, changes);
}

int storage_upstream_session_consume(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                     int64_t now)
{
    int64_t changes = 0;
    int r =
        sq_exec(tx, &session_consume, SQ_ARGS(P_TEXT(id), P_TEXT(browser_session_id), P_INT(now)), &changes);
    return cas_result(tx, id, r, changes);
}

STORAGE_STMT(purge_sessions, "DELETE FROM upstream_oauth_authorization_sessions"
                             " WHERE browser_session_id IS NULL AND created_at < $1");
STORAGE_STMT(
    purge_link_sessions,
    "DELETE FROM upstream_oauth_authorization_sessions WHERE upstream_oauth_link_id IN"
    " (SELECT upstream_oauth_link_id FROM upstream_oauth_links WHERE user_id IS NULL AND created_at < $1)");
STORAGE_STMT(purge_links, "DELETE FROM upstream_oauth_links WHERE user_id IS NULL AND created_at < $1");

int storage_upstream_purge(struct storage_tx *tx, int64_t before, unsigned *sessions, unsigned *links)
{
    int64_t a = 0, b = 0, c = 0;
    int r = sq_exec(tx, &purge_sessions, SQ_ARGS(P_INT(before)), &a);
    if (r >= 0)
        r = sq_exec(tx, &purge_link_sessions, SQ_ARGS(P_INT(before)), &b);
    if (r >= 0)
        r = sq_exec(tx, &purge_links, SQ_ARGS(P_INT(before)), &c);
    if (r < 0)
        return r;
    if (sessions)
        *sessions = (unsigned)(a + b);
    if (links)
        *links = (unsigned)c;
    return 0;
}
