/* The table of every config key, and the walk that checks a document against it. */
#include "config_keys.h"
#include "config_internal.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define IMPLEMENTED CONFIG_KEY_IMPLEMENTED
#define KNOWN       CONFIG_KEY_KNOWN

/* Keys whose value is a variant or free-form object (database.host, email.transport,
 * policy.data, ...) have no entries below them: whatever they hold is accepted. */
const struct config_key_entry config_keys[] = {
    {"clients", IMPLEMENTED},
    {"clients[].client_id", IMPLEMENTED},
    {"clients[].client_auth_method", IMPLEMENTED},
    {"clients[].client_name", IMPLEMENTED},
    {"clients[].client_uri", IMPLEMENTED},
    {"clients[].client_secret_file", IMPLEMENTED},
    {"clients[].client_secret", IMPLEMENTED},
    {"clients[].jwks", IMPLEMENTED},
    {"clients[].jwks.keys", IMPLEMENTED},
    {"clients[].jwks_uri", IMPLEMENTED},
    {"clients[].redirect_uris", IMPLEMENTED},

    {"http", IMPLEMENTED},
    {"http.listeners", IMPLEMENTED},
    {"http.listeners[].name", IMPLEMENTED},
    {"http.listeners[].resources", IMPLEMENTED},
    {"http.listeners[].resources[].name", IMPLEMENTED},
    {"http.listeners[].resources[].playground", IMPLEMENTED},
    {"http.listeners[].resources[].undocumented_oauth2_access", IMPLEMENTED},
    {"http.listeners[].resources[].path", IMPLEMENTED},
    {"http.listeners[].resources[].introspection", IMPLEMENTED}, /* true or false (docs/graphql.md) */
    {"http.listeners[].prefix", IMPLEMENTED},
    {"http.listeners[].binds", IMPLEMENTED},
    {"http.listeners[].binds[].address", IMPLEMENTED},
    {"http.listeners[].binds[].host", IMPLEMENTED},
    {"http.listeners[].binds[].port", IMPLEMENTED},
    {"http.listeners[].binds[].socket", IMPLEMENTED},
    {"http.listeners[].binds[].mode", IMPLEMENTED},
    {"http.listeners[].binds[].fd", IMPLEMENTED},
    {"http.listeners[].binds[].kind", IMPLEMENTED},
    {"http.listeners[].binds[].fd_name", IMPLEMENTED}, /* ours: FileDescriptorName= */
    {"http.listeners[].proxy_protocol", IMPLEMENTED},
    {"http.listeners[].http2", IMPLEMENTED}, /* ours */
    {"http.listeners[].tls", IMPLEMENTED},
    {"http.listeners[].tls.certificate", IMPLEMENTED},
    {"http.listeners[].tls.certificate_file", IMPLEMENTED},
    {"http.listeners[].tls.key", IMPLEMENTED},
    {"http.listeners[].tls.key_file", IMPLEMENTED},
    {"http.listeners[].tls.password", IMPLEMENTED},
    {"http.listeners[].tls.password_file", IMPLEMENTED},
    {"http.trusted_proxies", IMPLEMENTED},
    {"http.public_base", IMPLEMENTED},
    {"http.issuer", IMPLEMENTED},

    {"database", IMPLEMENTED},
    {"database.uri", IMPLEMENTED},
    {"database.host", IMPLEMENTED},
    {"database.port", IMPLEMENTED},
    {"database.socket", IMPLEMENTED},
    {"database.username", IMPLEMENTED},
    {"database.password", IMPLEMENTED},
    {"database.password_file", IMPLEMENTED},
    {"database.database", IMPLEMENTED},
    {"database.ssl_mode", IMPLEMENTED},
    {"database.ssl_ca", IMPLEMENTED},
    {"database.ssl_ca_file", IMPLEMENTED},
    {"database.ssl_certificate", IMPLEMENTED},
    {"database.ssl_certificate_file", IMPLEMENTED},
    {"database.ssl_key", IMPLEMENTED},
    {"database.ssl_key_file", IMPLEMENTED},
    {"database.max_connections", IMPLEMENTED},
    {"database.min_connections", IMPLEMENTED},
    {"database.connect_timeout", IMPLEMENTED},
    {"database.idle_timeout", IMPLEMENTED},
    {"database.max_lifetime", IMPLEMENTED},

    {"telemetry", KNOWN},
    {"telemetry.tracing", KNOWN},
    {"telemetry.tracing.exporter", KNOWN},
    {"telemetry.tracing.endpoint", KNOWN},
    {"telemetry.tracing.propagators", KNOWN},
    {"telemetry.tracing.sample_rate", KNOWN},
    {"telemetry.metrics", KNOWN},
    {"telemetry.metrics.exporter", KNOWN},
    {"telemetry.metrics.endpoint", KNOWN},
    {"telemetry.sentry", KNOWN},
    {"telemetry.sentry.dsn", KNOWN},
    {"telemetry.sentry.environment", KNOWN},
    {"telemetry.sentry.sample_rate", KNOWN},
    {"telemetry.sentry.traces_sample_rate", KNOWN},

    {"templates", KNOWN},
    {"templates.path", KNOWN},
    {"templates.assets_manifest", KNOWN},
    {"templates.translations_path", KNOWN},

    {"email", IMPLEMENTED},
    {"email.from", IMPLEMENTED},
    {"email.reply_to", IMPLEMENTED},
    {"email.transport", IMPLEMENTED},
    {"email.mode", IMPLEMENTED},
    {"email.hostname", IMPLEMENTED},
    {"email.port", IMPLEMENTED},
    {"email.username", IMPLEMENTED},
    {"email.password", IMPLEMENTED},
    {"email.password_file", IMPLEMENTED},
    {"email.command", IMPLEMENTED},

    {"secrets", IMPLEMENTED},
    {"secrets.encryption_file", IMPLEMENTED},
    {"secrets.encryption", IMPLEMENTED},
    {"secrets.keys", IMPLEMENTED},
    {"secrets.keys[].kid", IMPLEMENTED}, /* MAS secrets.rs KeyConfig */
    {"secrets.keys[].key", IMPLEMENTED},
    {"secrets.keys[].key_file", IMPLEMENTED},
    {"secrets.keys[].password", IMPLEMENTED},
    {"secrets.keys[].password_file", IMPLEMENTED},
    {"secrets.keys[].type", IMPLEMENTED}, /* ours: RSA, P-256, P-384, secp256k1 */
    {"secrets.keys_dir", IMPLEMENTED},

    {"passwords", IMPLEMENTED},
    {"passwords.enabled", IMPLEMENTED},
    {"passwords.schemes", IMPLEMENTED},
    {"passwords.schemes[].version", IMPLEMENTED},
    {"passwords.schemes[].algorithm", IMPLEMENTED},
    {"passwords.schemes[].unicode_normalization", IMPLEMENTED},
    {"passwords.schemes[].cost", IMPLEMENTED},
    {"passwords.schemes[].secret", IMPLEMENTED},
    {"passwords.schemes[].secret_file", IMPLEMENTED},
    {"passwords.minimum_complexity", IMPLEMENTED},

    {"matrix", IMPLEMENTED},
    {"matrix.kind", IMPLEMENTED},
    {"matrix.homeserver", IMPLEMENTED},
    {"matrix.secret_file", IMPLEMENTED},
    {"matrix.secret", IMPLEMENTED},
    {"matrix.endpoint", IMPLEMENTED},

    {"policy", IMPLEMENTED},
    {"policy.wasm_module", IMPLEMENTED},
    {"policy.client_registration_entrypoint", IMPLEMENTED},
    {"policy.register_entrypoint", IMPLEMENTED},
    {"policy.authorization_grant_entrypoint", IMPLEMENTED},
    {"policy.compat_login_entrypoint", IMPLEMENTED},
    {"policy.password_entrypoint", IMPLEMENTED},
    {"policy.email_entrypoint", IMPLEMENTED},
    {"policy.data", IMPLEMENTED},

    {"rate_limiting", IMPLEMENTED},
    {"rate_limiting.account_recovery", IMPLEMENTED},
    {"rate_limiting.account_recovery.per_ip", IMPLEMENTED},
    {"rate_limiting.account_recovery.per_ip.burst", IMPLEMENTED},
    {"rate_limiting.account_recovery.per_ip.per_second", IMPLEMENTED},
    {"rate_limiting.account_recovery.per_address", IMPLEMENTED},
    {"rate_limiting.account_recovery.per_address.burst", IMPLEMENTED},
    {"rate_limiting.account_recovery.per_address.per_second", IMPLEMENTED},
    {"rate_limiting.login", IMPLEMENTED},
    {"rate_limiting.login.per_ip", IMPLEMENTED},
    {"rate_limiting.login.per_ip.burst", IMPLEMENTED},
    {"rate_limiting.login.per_ip.per_second", IMPLEMENTED},
    {"rate_limiting.login.per_account", IMPLEMENTED},
    {"rate_limiting.login.per_account.burst", IMPLEMENTED},
    {"rate_limiting.login.per_account.per_second", IMPLEMENTED},
    {"rate_limiting.ipv6_prefix_length", IMPLEMENTED}, /* masd only */
    {"rate_limiting.registration", IMPLEMENTED},
    {"rate_limiting.registration.burst", IMPLEMENTED},
    {"rate_limiting.registration.per_second", IMPLEMENTED},
    {"rate_limiting.email_authentication", IMPLEMENTED},
    {"rate_limiting.email_authentication.per_ip", IMPLEMENTED},
    {"rate_limiting.email_authentication.per_ip.burst", IMPLEMENTED},
    {"rate_limiting.email_authentication.per_ip.per_second", IMPLEMENTED},
    {"rate_limiting.email_authentication.per_address", IMPLEMENTED},
    {"rate_limiting.email_authentication.per_address.burst", IMPLEMENTED},
    {"rate_limiting.email_authentication.per_address.per_second", IMPLEMENTED},
    {"rate_limiting.email_authentication.emails_per_session", IMPLEMENTED},
    {"rate_limiting.email_authentication.emails_per_session.burst", IMPLEMENTED},
    {"rate_limiting.email_authentication.emails_per_session.per_second", IMPLEMENTED},
    {"rate_limiting.email_authentication.attempt_per_session", IMPLEMENTED},
    {"rate_limiting.email_authentication.attempt_per_session.burst", IMPLEMENTED},
    {"rate_limiting.email_authentication.attempt_per_session.per_second", IMPLEMENTED},

    {"upstream_oauth2", IMPLEMENTED},
    {"upstream_oauth2.providers", IMPLEMENTED},
    {"upstream_oauth2.providers[].enabled", IMPLEMENTED},
    {"upstream_oauth2.providers[].id", IMPLEMENTED},
    {"upstream_oauth2.providers[].synapse_idp_id", IMPLEMENTED},
    {"upstream_oauth2.providers[].issuer", IMPLEMENTED},
    {"upstream_oauth2.providers[].human_name", IMPLEMENTED},
    {"upstream_oauth2.providers[].brand_name", IMPLEMENTED},
    {"upstream_oauth2.providers[].client_id", IMPLEMENTED},
    {"upstream_oauth2.providers[].client_secret_file", IMPLEMENTED},
    {"upstream_oauth2.providers[].client_secret", IMPLEMENTED},
    {"upstream_oauth2.providers[].token_endpoint_auth_method", IMPLEMENTED},
    {"upstream_oauth2.providers[].sign_in_with_apple", IMPLEMENTED},
    {"upstream_oauth2.providers[].sign_in_with_apple.private_key_file", IMPLEMENTED},
    {"upstream_oauth2.providers[].sign_in_with_apple.private_key", IMPLEMENTED},
    {"upstream_oauth2.providers[].sign_in_with_apple.team_id", IMPLEMENTED},
    {"upstream_oauth2.providers[].sign_in_with_apple.key_id", IMPLEMENTED},
    {"upstream_oauth2.providers[].token_endpoint_auth_signing_alg", IMPLEMENTED},
    {"upstream_oauth2.providers[].id_token_signed_response_alg", IMPLEMENTED},
    {"upstream_oauth2.providers[].scope", IMPLEMENTED},
    {"upstream_oauth2.providers[].discovery_mode", IMPLEMENTED},
    {"upstream_oauth2.providers[].pkce_method", IMPLEMENTED},
    {"upstream_oauth2.providers[].fetch_userinfo", IMPLEMENTED},
    {"upstream_oauth2.providers[].userinfo_signed_response_alg", IMPLEMENTED},
    {"upstream_oauth2.providers[].authorization_endpoint", IMPLEMENTED},
    {"upstream_oauth2.providers[].userinfo_endpoint", IMPLEMENTED},
    {"upstream_oauth2.providers[].token_endpoint", IMPLEMENTED},
    {"upstream_oauth2.providers[].jwks_uri", IMPLEMENTED},
    {"upstream_oauth2.providers[].response_mode", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.subject", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.skip_confirmation", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.localpart", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.displayname", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.email", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.account_name", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.subject.template", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.localpart.action", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.localpart.template", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.localpart.on_conflict", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.displayname.action", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.displayname.template", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.email.action", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.email.template", IMPLEMENTED},
    {"upstream_oauth2.providers[].claims_imports.account_name.template", IMPLEMENTED},
    {"upstream_oauth2.providers[].additional_authorization_parameters", IMPLEMENTED},
    {"upstream_oauth2.providers[].forward_login_hint", IMPLEMENTED},
    {"upstream_oauth2.providers[].on_backchannel_logout", IMPLEMENTED},
    {"upstream_oauth2.providers[].registration_token_required", IMPLEMENTED},

    {"branding", IMPLEMENTED},
    {"branding.service_name", IMPLEMENTED},
    {"branding.policy_uri", IMPLEMENTED},
    {"branding.tos_uri", IMPLEMENTED},
    {"branding.imprint", IMPLEMENTED},

    {"captcha", IMPLEMENTED},
    {"captcha.service", IMPLEMENTED},
    {"captcha.site_key", IMPLEMENTED},
    {"captcha.secret_key", KNOWN},

    {"account", IMPLEMENTED},
    {"account.email_change_allowed", IMPLEMENTED},
    {"account.displayname_change_allowed", IMPLEMENTED},
    {"account.password_registration_enabled", IMPLEMENTED},
    {"account.password_registration_email_required", IMPLEMENTED},
    {"account.password_change_allowed", IMPLEMENTED},
    {"account.password_recovery_enabled", IMPLEMENTED},
    {"account.password_registration_token_required", IMPLEMENTED},
    {"account.account_deactivation_allowed", IMPLEMENTED},
    {"account.login_with_email_allowed", IMPLEMENTED},
    {"account.registration_token_required", IMPLEMENTED},

    {"oauth", IMPLEMENTED},
    {"oauth.device_code_grant_enabled", IMPLEMENTED},
    {"oauth.device_code_user_code_auto_fill_enabled", IMPLEMENTED},

    {"experimental", KNOWN},
    {"experimental.access_token_ttl", KNOWN},
    {"experimental.compat_token_ttl", KNOWN},
    {"experimental.inactive_session_expiration", KNOWN},
    {"experimental.inactive_session_expiration.ttl", KNOWN},
    {"experimental.inactive_session_expiration.expire_compat_sessions", KNOWN},
    {"experimental.inactive_session_expiration.expire_oauth_sessions", KNOWN},
    {"experimental.inactive_session_expiration.expire_user_sessions", KNOWN},
    {"experimental.plan_management_iframe_uri", IMPLEMENTED},
    {"experimental.session_limit", IMPLEMENTED},
    {"experimental.session_limit.soft_limit", IMPLEMENTED},
    {"experimental.session_limit.hard_limit", IMPLEMENTED},
    {"experimental.session_limit.max_session_threshold", IMPLEMENTED},
    {"experimental.session_limit.dangerous_hard_limit_eviction", IMPLEMENTED},
};
const size_t n_config_keys = sizeof(config_keys) / sizeof(config_keys[0]);

const struct config_key_entry *config_key_find(const char *path)
{
    for (size_t i = 0; i < n_config_keys; i++)
        if (strcmp(config_keys[i].path, path) == 0)
            return &config_keys[i];
    return NULL;
}

/* True when some entry lies below `path` followed by `sep` ("." for a mapping, "[]." for the
 * items of a list). */
static bool has_children(const char *path, const char *sep)
{
    size_t n = strlen(path), m = strlen(sep);
    for (size_t i = 0; i < n_config_keys; i++)
        if (strncmp(config_keys[i].path, path, n) == 0 && strncmp(config_keys[i].path + n, sep, m) == 0)
            return true;
    return false;
}

struct walk {
    struct config_loader *ld;
    char generic[CONFIG_PATH_MAX]; /* table form: clients[].client_id */
    char display[CONFIG_PATH_MAX]; /* message form: clients[2].client_id */
};

static int walk_mapping(struct walk *w, const struct ynode *map);

static int warn_known(struct walk *w, const struct config_key_entry *e, const struct ynode *key)
{
    size_t i = (size_t)(e - config_keys);
    if (w->ld->warned[i])
        return 0;
    w->ld->warned[i] = true;
    return config_warning(w->ld, key, "%s is not implemented yet and is ignored", e->path);
}

/* Below a free-form value only duplicate keys are checked (serde_yaml refuses them too). */
static int scan_duplicates(struct walk *w, const struct ynode *n)
{
    if (n->kind == YNODE_SEQUENCE) {
        for (size_t i = 0; i < n->n_items; i++) {
            int r = scan_duplicates(w, n->items[i]);
            if (r < 0)
                return r;
        }
    } else if (n->kind == YNODE_MAPPING) {
        long d = ynode_find_duplicate(n);
        if (d >= 0) {
            char key[96];
            config_quote(n->pairs[d].key, key, sizeof(key));
            return config_error(w->ld, n->pairs[d].key, -EINVAL, "duplicate key '%s' under '%s'", key,
                                w->display);
        }
        for (size_t i = 0; i < n->n_pairs; i++) {
            int r = scan_duplicates(w, n->pairs[i].key);
            if (r >= 0)
                r = scan_duplicates(w, n->pairs[i].value);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int walk_items(struct walk *w, const struct config_key_entry *e, const struct ynode *key,
                      const struct ynode *list)
{
    size_t glen = strlen(w->generic), dlen = strlen(w->display);
    int r = 0;
    if (glen + 3 >= sizeof(w->generic))
        return config_error(w->ld, key, -EINVAL, "key path is too long");
    strcat(w->generic, "[]");
    for (size_t i = 0; i < list->n_items && r >= 0; i++) {
        const struct ynode *item = list->items[i];
        snprintf(w->display + dlen, sizeof(w->display) - dlen, "[%zu]", i);
        if (item->kind == YNODE_MAPPING)
            r = walk_mapping(w, item);
        else if (e->status == CONFIG_KEY_KNOWN && (r = scan_duplicates(w, item)) >= 0)
            r = warn_known(w, e, key);
        /* a non-mapping item of an implemented list is the section parser's type error */
    }
    w->generic[glen] = '\0';
    w->display[dlen] = '\0';
    return r;
}

/* The value of a key found in the table: descend where the table lists keys below it, else it
 * is a leaf (or a free-form object) that its section parser reads, or that we warn about. */
static int walk_value(struct walk *w, const struct config_key_entry *e, const struct ynode *key,
                      const struct ynode *value)
{
    if (value->kind == YNODE_MAPPING && has_children(w->generic, "."))
        return walk_mapping(w, value);
    if (value->kind == YNODE_SEQUENCE && has_children(w->generic, "[]."))
        return walk_items(w, e, key, value);
    int r = scan_duplicates(w, value);
    if (r >= 0 && e->status == CONFIG_KEY_KNOWN)
        r = warn_known(w, e, key);
    return r;
}

static int walk_pair(struct walk *w, const struct ynode *key, const struct ynode *value)
{
    size_t glen = strlen(w->generic), dlen = strlen(w->display);
    char shown[96];
    const char *dot = glen ? "." : "";
    if (key->kind != YNODE_SCALAR)
        return config_error(w->ld, key, -EINVAL, "%s%sexpected a key name, not a %s", w->display,
                            glen ? ": " : "", key->kind == YNODE_MAPPING ? "mapping" : "list");
    config_quote(key, shown, sizeof(shown));
    /* '.' and '[' would let "http.public_base" at the top level pass for the nested key */
    bool plain_name = key->len > 0 && !memchr(key->str, '\0', key->len) && !strpbrk(key->str, ".[]");
    const struct config_key_entry *e = NULL;
    if (plain_name && glen + 1 + key->len < sizeof(w->generic)) {
        snprintf(w->generic + glen, sizeof(w->generic) - glen, "%s%s", dot, key->str);
        e = config_key_find(w->generic);
    }
    if (!e) {
        w->generic[glen] = '\0';
        return config_error(w->ld, key, -EINVAL, "unknown key '%s%s%s'", w->display, dot, shown);
    }
    snprintf(w->display + dlen, sizeof(w->display) - dlen, "%s%s", dot, key->str);
    int r = walk_value(w, e, key, value);
    w->generic[glen] = '\0';
    w->display[dlen] = '\0';
    return r;
}

static int walk_mapping(struct walk *w, const struct ynode *map)
{
    long d = ynode_find_duplicate(map);
    if (d >= 0) {
        char key[96];
        config_quote(map->pairs[d].key, key, sizeof(key));
        return config_error(w->ld, map->pairs[d].key, -EINVAL, "duplicate key '%s%s%s'", w->display,
                            w->display[0] ? "." : "", key);
    }
    for (size_t i = 0; i < map->n_pairs; i++) {
        int r = walk_pair(w, map->pairs[i].key, map->pairs[i].value);
        if (r < 0)
            return r;
    }
    return 0;
}

int config_keys_check(struct config_loader *ld, const struct ynode *root)
{
    struct walk w = {.ld = ld};
    return walk_mapping(&w, root);
}
