/* Replay protection for client assertions (RFC 7523 §3 item 7, DESIGN.md §6) and the record of
 * the last `clients` sync. A jti row is claimed by one INSERT … ON CONFLICT: the database's
 * uniqueness decides, so two processes presenting the same assertion cannot both win. A row
 * whose expiry has passed may be claimed again (the assertion itself is refused by then), which
 * keeps the table from needing a clean-up to stay correct. */
#include "storage_jti.h"
#include "storage_internal.h"
#include <errno.h>
#include <stdlib.h>

#define JTI_MAX 255

STORAGE_STMT(jti_claim, "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)"
                        " ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = $3"
                        " WHERE client_assertion_jtis.expires_at <= $4");
STORAGE_STMT(digest_get, "SELECT digest FROM config_digests WHERE name = $1");
STORAGE_STMT(digest_set, "INSERT INTO config_digests (name, digest, updated_at) VALUES ($1, $2, $3)"
                         " ON CONFLICT (name) DO UPDATE SET digest = $2, updated_at = $3");

int storage_jti_use(struct storage_tx *tx, const char *client_id, const char *jti, int64_t expires_at,
                    int64_t now)
{
    int r = storage_check_text("client id", client_id, STORAGE_SHORT_TEXT_MAX, false);
    if (r == 0)
        r = storage_check_text("assertion jti", jti, JTI_MAX, false);
    if (r < 0)
        return r;
    if (expires_at <= now) /* a row that reads as expired at once would let the jti be used again */
        return -EINVAL;
    int64_t changes = 0;
    r = sq_exec(tx, &jti_claim, SQ_ARGS(P_TEXT(client_id), P_TEXT(jti), P_INT(expires_at), P_INT(now)),
                &changes);
    if (r < 0)
        return r;
    return changes > 0 ? 0 : -EALREADY;
}

static int read_digest(struct sq *q, void *out)
{
    sq_copy(q, 0, out, STORAGE_HASH_SIZE);
    return 0;
}

int storage_config_digest_get(struct storage_tx *tx, const char *name, char digest[STORAGE_HASH_SIZE])
{
    digest[0] = '\0';
    int r = sq_one(tx, &digest_get, SQ_ARGS(P_TEXT(name)), read_digest, digest);
    return r == -ENOENT ? 0 : r;
}

int storage_config_digest_set(struct storage_tx *tx, const char *name, const char *digest, int64_t now)
{
    int r = storage_check_text("digest", digest, STORAGE_HASH_SIZE - 1, false);
    if (r < 0)
        return r;
    return sq_exec(tx, &digest_set, SQ_ARGS(P_TEXT(name), P_TEXT(digest), P_INT(now)), NULL);
}

STORAGE_STMT(
    static_upsert,
    "INSERT INTO oauth2_clients (oauth2_client_id, encrypted_client_secret, token_endpoint_auth_method,"
    " redirect_uris, grant_types, metadata, metadata_digest, is_static, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, NULL, 1, $7)"
    " ON CONFLICT (oauth2_client_id) DO UPDATE SET encrypted_client_secret = $2,"
    " token_endpoint_auth_method = $3, redirect_uris = $4, grant_types = $5, metadata = $6,"
    " metadata_digest = NULL, is_static = 1");
STORAGE_STMT(static_list,
             "SELECT oauth2_client_id FROM oauth2_clients WHERE is_static = 1 ORDER BY oauth2_client_id");
STORAGE_STMT(static_delete, "DELETE FROM oauth2_clients WHERE oauth2_client_id = $1 AND is_static = 1");

int storage_oauth_client_upsert_static(struct storage_tx *tx, const struct storage_oauth_client *in,
                                       int64_t now)
{
    int r = storage_check_text("token_endpoint_auth_method", in->token_endpoint_auth_method, 31, false);
    if (r < 0)
        return r;
    return sq_exec(tx, &static_upsert,
                   SQ_ARGS(P_TEXT(in->id), P_OPT(in->encrypted_secret),
                           P_TEXT(in->token_endpoint_auth_method),
                           P_TEXT(in->redirect_uris ? in->redirect_uris : "[]"),
                           P_TEXT(in->grant_types ? in->grant_types : "[]"),
                           P_TEXT(in->metadata ? in->metadata : "{}"), P_INT(now)),
                   NULL);
}

struct id_list {
    char (*ids)[STORAGE_ID_SIZE];
    size_t n, cap;
};

static int push_id(struct sq *q, void *arg)
{
    struct id_list *l = arg;
    char(*slot)[STORAGE_ID_SIZE] = storage_array_push((void **)&l->ids, &l->n, &l->cap, sizeof(*l->ids));
    if (!slot)
        return storage_fail(-ENOMEM, "out of memory");
    sq_copy(q, 0, *slot, STORAGE_ID_SIZE);
    return 0;
}

int storage_oauth_client_list_static(struct storage_tx *tx, char (**ids)[STORAGE_ID_SIZE], size_t *n)
{
    struct id_list l = {0};
    int r = sq_each(tx, &static_list, NULL, 0, push_id, &l);
    if (r < 0) {
        free(l.ids);
        return r;
    }
    *ids = l.ids;
    *n = l.n;
    return 0;
}

int storage_oauth_client_delete_static(struct storage_tx *tx, const char *id)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &static_delete, SQ_ARGS(P_TEXT(id)), &changes);
    if (r < 0)
        return r;
    return changes ? 0 : -ENOENT;
}
