/* The sync of static clients (clients_sync.h). Every static client is rewritten in full on each
 * sync, so an edit of any field (a new secret, another method) takes effect; the stored digest
 * then records what the database holds. */
#include "clients_sync.h"
#include "clock.h"
#include "secrets.h"
#include "storage_config_sync.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Static clients may use every grant masd knows, as MAS's static clients. */
#define STATIC_GRANT_TYPES                                                                                   \
    "[\"authorization_code\",\"refresh_token\",\"client_credentials\","                                      \
    "\"urn:ietf:params:oauth:grant-type:device_code\"]"

static json_t *client_json(const struct config_client *c, bool with_secret)
{
    json_t *uris = json_array();
    for (size_t i = 0; uris && i < c->n_redirect_uris; i++)
        json_array_append_new(uris, json_string(c->redirect_uris[i]));
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:o?}", "client_id", c->client_id,
                          "client_auth_method", c->client_auth_method, "client_name", c->client_name,
                          "client_uri", c->client_uri, "jwks_uri", c->jwks_uri, "redirect_uris", uris);
    if (o && c->jwks)
        json_object_set_new(o, "jwks", json_loads(c->jwks, 0, NULL));
    if (o && with_secret && c->client_secret)
        json_object_set_new(o, "client_secret", json_string(c->client_secret));
    return o;
}

int clients_digest(const struct config *cfg, char out[STORAGE_HASH_SIZE])
{
    json_t *all = json_array();
    for (size_t i = 0; all && i < cfg->n_clients; i++)
        json_array_append_new(all, client_json(&cfg->clients[i], true));
    char *text = all ? json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(all);
    if (!text)
        return -ENOMEM;
    unsigned char mac[32];
    unsigned len = 0;
    bool ok = HMAC(EVP_sha256(), cfg->encryption, sizeof(cfg->encryption), (unsigned char *)text,
                   strlen(text), mac, &len) != NULL;
    free(text);
    for (unsigned i = 0; ok && i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return ok ? 0 : -EIO;
}

/* The row of one configured client (heap fields: storage_oauth_client_clear). */
static int client_row(const struct config_client *c, const struct secrets *s,
                      struct storage_oauth_client *row)
{
    memset(row, 0, sizeof(*row));
    snprintf(row->id, sizeof(row->id), "%s", c->client_id);
    snprintf(row->token_endpoint_auth_method, sizeof(row->token_endpoint_auth_method), "%s",
             c->client_auth_method);
    row->is_static = true;
    int r = 0;
    if (c->client_secret)
        r = s ? secrets_seal(s, "client-secret", c->client_secret, strlen(c->client_secret),
                             &row->encrypted_secret)
              : -ENOKEY;
    json_t *meta = r == 0 ? client_json(c, false) : NULL;
    json_t *uris = meta ? json_incref(json_object_get(meta, "redirect_uris")) : NULL;
    if (meta) {
        json_object_del(meta, "client_id");
        json_object_del(meta, "client_auth_method");
        json_object_del(meta, "redirect_uris");
        row->metadata = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
        row->redirect_uris = json_dumps(uris, JSON_COMPACT);
        row->grant_types = strdup(STATIC_GRANT_TYPES);
    }
    json_decref(meta);
    json_decref(uris);
    if (r == 0 && (!row->metadata || !row->redirect_uris || !row->grant_types))
        r = -ENOMEM;
    if (r < 0)
        storage_oauth_client_clear(row);
    return r;
}

struct sync_tx {
    const struct config *cfg;
    const struct secrets *s;
    struct clients_sync *sync;
    const char *digest;
};

static bool configured(const struct config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_clients; i++)
        if (strcmp(cfg->clients[i].client_id, id) == 0)
            return true;
    return false;
}

static int prune(struct storage_tx *tx, struct sync_tx *a)
{
    char(*ids)[STORAGE_ID_SIZE] = NULL;
    size_t n = 0;
    int r = storage_oauth_client_list_static(tx, &ids, &n);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        if (configured(a->cfg, ids[i]))
            continue;
        if ((r = storage_oauth_client_delete_static(tx, ids[i])) < 0)
            snprintf(a->sync->error, sizeof(a->sync->error), "cannot delete client %s: %s", ids[i],
                     storage_last_error());
        else
            a->sync->pruned++;
    }
    free(ids);
    return r;
}

static int sync_tx(struct storage_tx *tx, void *arg)
{
    struct sync_tx *a = arg;
    struct clients_sync *sync = a->sync;
    sync->written = sync->pruned = 0;
    int r = 0;
    for (size_t i = 0; i < a->cfg->n_clients; i++) {
        struct storage_oauth_client row;
        if ((r = client_row(&a->cfg->clients[i], a->s, &row)) < 0) {
            snprintf(sync->error, sizeof(sync->error), "client %s: %s", a->cfg->clients[i].client_id,
                     r == -ENOKEY ? "a client secret needs secrets.encryption" : "cannot prepare the row");
            return r;
        }
        r = storage_oauth_client_upsert_static(tx, &row, masd_now());
        storage_oauth_client_clear(&row);
        if (r < 0)
            return r;
        sync->written++;
    }
    return sync->prune ? prune(tx, a) : 0;
}

int clients_sync_run(const struct config *cfg, struct storage *st, const struct secrets *s,
                     struct clients_sync *sync)
{
    char digest[STORAGE_HASH_SIZE];
    int r = clients_digest(cfg, digest);
    if (r < 0)
        return r;
    struct sync_tx a = {cfg, s, sync, digest};
    return storage_section_sync(st, &(struct storage_section_sync){
                                        .section = "clients",
                                        .digest = digest,
                                        .only_if_changed = sync->only_if_changed,
                                        .dry_run = sync->dry_run,
                                        .write = sync_tx,
                                        .arg = &a,
                                        .unchanged = &sync->unchanged,
                                        .error = sync->error,
                                        .error_size = sizeof(sync->error),
                                    });
}
