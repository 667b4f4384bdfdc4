/* What the configuration sync writes (clients_sync.c): the static clients of config.yaml's
 * `clients` section, and the digest of the section as last written, so that a process whose
 * configuration did not change writes nothing. */
#include "storage_config_sync.h"
#include "clock.h"
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

STORAGE_STMT(digest_get, "SELECT digest FROM config_digests WHERE name = $1");
STORAGE_STMT(digest_set, "INSERT INTO config_digests (name, digest, updated_at) VALUES ($1, $2, $3)"
                         " ON CONFLICT (name) DO UPDATE SET digest = $2, updated_at = $3");

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

struct section_read {
    const struct storage_section_sync *s;
    char stored[STORAGE_HASH_SIZE];
};

static int section_read_tx(struct storage_tx *tx, void *arg)
{
    struct section_read *a = arg;
    return storage_config_digest_get(tx, a->s->section, a->stored);
}

static int section_write_tx(struct storage_tx *tx, void *arg)
{
    const struct storage_section_sync *s = arg;
    *s->unchanged = false;
    s->error[0] = '\0';
    char stored[STORAGE_HASH_SIZE];
    int r = storage_config_digest_get(tx, s->section, stored);
    if (r < 0)
        return r;
    if (s->only_if_changed && strcmp(stored, s->digest) == 0) {
        *s->unchanged = true;
        return 0;
    }
    if ((r = s->write(tx, s->arg)) < 0 ||
        (r = storage_config_digest_set(tx, s->section, s->digest, masd_now())) < 0)
        return r;
    return s->dry_run ? -ECANCELED : 0;
}

int storage_section_sync(struct storage *st, const struct storage_section_sync *s)
{
    /* the common case at start: nothing changed, and a read transaction says so */
    if (s->only_if_changed) {
        struct section_read a = {s, ""};
        if (storage_tx(st, STORAGE_TX_READ, section_read_tx, &a) >= 0 && strcmp(a.stored, s->digest) == 0) {
            *s->unchanged = true;
            return 0;
        }
    }
    int r = storage_tx(st, STORAGE_TX_WRITE, section_write_tx, (void *)s);
    if (r == -ECANCELED && s->dry_run)
        r = 0;
    if (r < 0 && !s->error[0])
        snprintf(s->error, s->error_size, "%s", storage_last_error());
    return r;
}
