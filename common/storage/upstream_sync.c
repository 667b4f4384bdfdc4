/* The sync of upstream providers (upstream_sync.h; MAS: crates/cli/src/sync.rs). */
#include "upstream_sync.h"
#include "clock.h"
#include "secrets.h"
#include "storage_config_sync.h"
#include "storage_upstream.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION "upstream_oauth2"

static json_t *import_json(const struct config_claims_import *imp, bool action)
{
    json_t *o = json_object();
    if (o && action && imp->action != CLAIMS_IGNORE)
        json_object_set_new(o, "action", json_string(config_claims_action_name(imp->action)));
    if (o && imp->template)
        json_object_set_new(o, "template", json_string(imp->template));
    return o;
}

/* claims_imports as MAS stores it (crates/data-model/src/upstream_oauth2/provider.rs). */
static json_t *claims_json(const struct config_upstream_provider *u)
{
    json_t *lp = import_json(&u->claims.localpart, true);
    if (lp && u->claims.localpart_on_conflict != CLAIMS_CONFLICT_FAIL)
        json_object_set_new(lp, "on_conflict",
                            json_string(config_claims_conflict_name(u->claims.localpart_on_conflict)));
    return json_pack("{s:o?, s:b, s:o?, s:o?, s:o?, s:o?}", "subject", import_json(&u->claims.subject, false),
                     "skip_confirmation", u->claims.skip_confirmation, "localpart", lp, "displayname",
                     import_json(&u->claims.displayname, true), "email", import_json(&u->claims.email, true),
                     "account_name", import_json(&u->claims.account_name, false));
}

static json_t *params_json(const struct config_upstream_provider *u)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < u->n_params; i++)
        json_array_append_new(a, json_pack("[s, s]", u->params[i].name, u->params[i].template));
    return a;
}

/* What is sealed into encrypted_client_secret: the secret, or the Sign in with Apple block. */
static char *secret_text(const struct config_upstream_provider *u)
{
    if (u->client_secret)
        return strdup(u->client_secret);
    if (!u->siwa_private_key)
        return NULL;
    json_t *j = json_pack("{s:s, s:s, s:s}", "private_key", u->siwa_private_key, "team_id", u->siwa_team_id,
                          "key_id", u->siwa_key_id);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return s;
}

static void wipe(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

int upstream_digest(const struct config *cfg, char out[STORAGE_HASH_SIZE])
{
    json_t *all = json_array();
    for (size_t i = 0; all && i < cfg->n_upstream_providers; i++) {
        const struct config_upstream_provider *u = &cfg->upstream_providers[i];
        char *secret = secret_text(u);
        json_t *o = json_pack(
            "{s:s, s:b, s:s?, s:s?, s:s?, s:s?, s:s, s:s?, s:s, s:s?, s:s, s:s?, s:s, s:s, s:s, s:b, s:s?, "
            "s:s?, s:s?, "
            "s:s?, s:s?, s:o?, s:o?, s:b, s:s, s:b}",
            "id", u->id, "enabled", u->enabled, "issuer", u->issuer, "human_name", u->human_name,
            "brand_name", u->brand_name, "synapse_idp_id", u->synapse_idp_id, "client_id", u->client_id,
            "secret", secret, "token_endpoint_auth_method",
            config_upstream_auth_name(u->token_endpoint_auth_method), "token_endpoint_auth_signing_alg",
            u->token_endpoint_auth_signing_alg, "id_token_signed_response_alg",
            u->id_token_signed_response_alg, "userinfo_signed_response_alg", u->userinfo_signed_response_alg,
            "scope", u->scope, "discovery_mode", config_upstream_discovery_name(u->discovery_mode),
            "pkce_mode", config_upstream_pkce_db_name(u->pkce_method), "fetch_userinfo", u->fetch_userinfo,
            "authorization_endpoint", u->authorization_endpoint, "token_endpoint", u->token_endpoint,
            "userinfo_endpoint", u->userinfo_endpoint, "jwks_uri", u->jwks_uri, "response_mode",
            config_upstream_response_mode_name(u->response_mode), "claims_imports", claims_json(u),
            "additional_parameters", params_json(u), "forward_login_hint", u->forward_login_hint,
            "on_backchannel_logout", config_upstream_backchannel_name(u->on_backchannel_logout),
            "registration_token_required", u->registration_token_required);
        wipe(secret);
        if (!o || json_array_append_new(all, o) < 0) {
            json_decref(all);
            return -ENOMEM;
        }
    }
    char *text = all ? json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(all);
    if (!text)
        return -ENOMEM;
    unsigned char mac[32];
    unsigned len = 0;
    bool ok = HMAC(EVP_sha256(), cfg->encryption, sizeof(cfg->encryption), (unsigned char *)text,
                   strlen(text), mac, &len) != NULL;
    wipe(text);
    for (unsigned i = 0; ok && i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return ok ? 0 : -EIO;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The row of one configured provider (heap fields: storage_upstream_provider_clear). */
static int provider_row(const struct config_upstream_provider *u, const struct secrets *s,
                        struct storage_upstream_provider *row)
{
    memset(row, 0, sizeof(*row));
    snprintf(row->id, sizeof(row->id), "%s", u->id);
    char *secret = secret_text(u);
    int r = 0;
    if ((u->client_secret || u->siwa_private_key) && !secret)
        r = -ENOMEM;
    if (r == 0 && secret)
        r = s ? secrets_seal(s, "upstream-client-secret", secret, strlen(secret),
                             &row->encrypted_client_secret)
              : -ENOKEY;
    wipe(secret);
    json_t *ci = claims_json(u), *ap = params_json(u);
    row->claims_imports = ci ? json_dumps(ci, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    row->additional_parameters = ap ? json_dumps(ap, JSON_COMPACT) : NULL;
    json_decref(ci);
    json_decref(ap);
    row->issuer = dup_or_null(u->issuer);
    row->human_name = dup_or_null(u->human_name);
    row->brand_name = dup_or_null(u->brand_name);
    row->synapse_idp_id = dup_or_null(u->synapse_idp_id);
    row->scope = dup_or_null(u->scope);
    row->client_id = dup_or_null(u->client_id);
    row->token_endpoint_auth_method = dup_or_null(config_upstream_auth_name(u->token_endpoint_auth_method));
    row->token_endpoint_signing_alg = dup_or_null(u->token_endpoint_auth_signing_alg);
    row->id_token_signed_response_alg = dup_or_null(u->id_token_signed_response_alg);
    row->userinfo_signed_response_alg = dup_or_null(u->userinfo_signed_response_alg);
    row->fetch_userinfo = u->fetch_userinfo;
    row->authorization_endpoint_override = dup_or_null(u->authorization_endpoint);
    row->token_endpoint_override = dup_or_null(u->token_endpoint);
    row->userinfo_endpoint_override = dup_or_null(u->userinfo_endpoint);
    row->jwks_uri_override = dup_or_null(u->jwks_uri);
    row->discovery_mode = dup_or_null(config_upstream_discovery_name(u->discovery_mode));
    row->pkce_mode = dup_or_null(config_upstream_pkce_db_name(u->pkce_method));
    row->response_mode = dup_or_null(config_upstream_response_mode_name(u->response_mode));
    row->forward_login_hint = u->forward_login_hint;
    row->ui_order = u->ui_order;
    row->on_backchannel_logout = dup_or_null(config_upstream_backchannel_name(u->on_backchannel_logout));
    row->registration_token_required = u->registration_token_required;
    if (r == 0 && (!row->claims_imports || !row->additional_parameters || !row->scope || !row->client_id ||
                   !row->token_endpoint_auth_method || !row->id_token_signed_response_alg ||
                   !row->discovery_mode || !row->pkce_mode || !row->on_backchannel_logout))
        r = -ENOMEM;
    if (r < 0)
        storage_upstream_provider_clear(row);
    return r;
}

struct sync_tx {
    const struct config *cfg;
    const struct secrets *s;
    struct upstream_sync *sync;
    const char *digest;
};

static const struct config_upstream_provider *configured(const struct config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_upstream_providers; i++)
        if (strcmp(cfg->upstream_providers[i].id, id) == 0)
            return &cfg->upstream_providers[i];
    return NULL;
}

static int sync_tx(struct storage_tx *tx, void *arg)
{
    struct sync_tx *a = arg;
    struct upstream_sync *sync = a->sync;
    sync->written = sync->disabled = sync->pruned = 0;
    int r;
    int64_t now = masd_now();
    for (size_t i = 0; i < a->cfg->n_upstream_providers; i++) {
        const struct config_upstream_provider *u = &a->cfg->upstream_providers[i];
        if (!u->enabled)
            continue;
        struct storage_upstream_provider row;
        if ((r = provider_row(u, a->s, &row)) < 0) {
            snprintf(sync->error, sizeof(sync->error), "provider %s: %s", u->id,
                     r == -ENOKEY ? "a client secret needs secrets.encryption" : "cannot prepare the row");
            return r;
        }
        r = storage_upstream_provider_upsert(tx, &row, now);
        storage_upstream_provider_clear(&row);
        if (r < 0)
            return r;
        sync->written++;
    }
    /* removed or disabled: marked (MAS), then with prune deleted with their links */
    char(*ids)[STORAGE_ID_SIZE] = NULL;
    int64_t *disabled = NULL;
    size_t n = 0;
    if ((r = storage_upstream_provider_list(tx, &ids, &disabled, &n)) < 0)
        return r;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        const struct config_upstream_provider *u = configured(a->cfg, ids[i]);
        if (u && u->enabled)
            continue;
        if (!disabled[i]) {
            if ((r = storage_upstream_provider_disable(tx, ids[i], now)) > 0)
                sync->disabled++;
        }
        if (r >= 0 && sync->prune) {
            if ((r = storage_upstream_provider_delete(tx, ids[i])) < 0)
                snprintf(sync->error, sizeof(sync->error), "cannot delete provider %s: %s", ids[i],
                         storage_last_error());
            else
                sync->pruned++;
        }
    }
    free(ids);
    free(disabled);
    return r < 0 ? r : 0;
}

int upstream_sync_run(const struct config *cfg, struct storage *st, const struct secrets *s,
                      struct upstream_sync *sync)
{
    char digest[STORAGE_HASH_SIZE];
    int r = upstream_digest(cfg, digest);
    if (r < 0)
        return r;
    struct sync_tx a = {cfg, s, sync, digest};
    return storage_section_sync(st, &(struct storage_section_sync){
                                        .section = SECTION,
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
