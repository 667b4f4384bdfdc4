/* MAS's config.yaml, as masd understands it. Loading is separate from serving: services read
 * these plain structures and never see YAML. */
#pragma once
#include "addr.h"
#include "mail_address.h"
#include <openssl/types.h>
#include <stdbool.h>
#include <stdint.h>

/* Where a value came from, for messages of the form file:line:column. 1-based; 0:0 for what
 * MAS's defaults supply (the listeners used when the http section is absent). */
struct config_pos {
    unsigned line, column;
};

enum bind_kind {
    BIND_ADDRESS,   /* address: "[::]:8080" */
    BIND_HOST_PORT, /* host: localhost (optional), port: 8080 */
    BIND_SOCKET,    /* socket: /run/masd/x.sock, mode: "660" (optional) */
    BIND_FD,        /* fd: 0 (index into LISTEN_FDS), kind: tcp|unix */
    BIND_FD_NAME,   /* fd_name: masd-discovery (FileDescriptorName=), kind: tcp|unix (optional) */
};

enum bind_socket_kind { BIND_SOCKET_ANY, BIND_SOCKET_TCP, BIND_SOCKET_UNIX };

struct config_bind {
    enum bind_kind kind;
    char *address;                     /* BIND_ADDRESS */
    char *host;                        /* BIND_HOST_PORT; NULL = all addresses */
    uint16_t port;                     /* BIND_HOST_PORT */
    char *socket;                      /* BIND_SOCKET */
    int mode;                          /* BIND_SOCKET: permission bits, -1 = leave to umask */
    unsigned fd;                       /* BIND_FD */
    char *fd_name;                     /* BIND_FD_NAME */
    enum bind_socket_kind socket_kind; /* BIND_FD (default TCP), BIND_FD_NAME (default ANY) */
    struct config_pos pos;
};

struct config_resource {
    char *name;                      /* health, prometheus, discovery, human, graphql, oauth, compat, assets,
                                        adminapi, connection-info */
    bool playground;                 /* graphql */
    bool undocumented_oauth2_access; /* graphql */
    bool introspection;              /* graphql: masd's switch, default true (docs/graphql.md) */
    char *path;                      /* assets; default "./frontend/dist/" */
    struct config_pos pos;
};

struct config_tls {
    char *certificate; /* PEM chain, loaded from certificate_file when given as a file */
    char *key;         /* PEM or DER key bytes, loaded from key_file when given as a file */
    size_t key_len;
    char *password; /* loaded from password_file when given as a file; may be NULL */
};

struct config_listener {
    char *name; /* may be NULL */
    struct config_resource *resources;
    size_t n_resources;
    char *prefix; /* normalised: NULL when it would be "/", else "/x" without trailing / */
    struct config_bind *binds;
    size_t n_binds;
    bool proxy_protocol;
    bool http2;             /* our key: offer h2 by ALPN (TLS) / accept h2 prior knowledge */
    struct config_tls *tls; /* NULL = plain */
    struct config_pos pos;
};

enum key_family { KEY_RSA, KEY_EC_P256, KEY_EC_P384, KEY_EC_SECP256K1 };

/* secrets.encryption: 32 bytes, written as 64 hex digits. */
#define SECRETS_ENCRYPTION_LEN 32

struct config_key {
    char *kid; /* NULL when not configured */
    enum key_family family;
    EVP_PKEY *pkey;      /* the private key, decoded (owned by the config); NULL when loaded with
                          * CONFIG_NO_SECRETS and the family came from `type` (thumbprint empty) */
    char thumbprint[44]; /* RFC 7638 SHA-256 thumbprint, base64url: the kid when none is configured */
};

/* The key ID published in the JWKS and in JWT headers: the configured kid, else the
 * thumbprint, so every host derives the same one from the same key (as MAS does). */
static inline const char *config_key_id(const struct config_key *k)
{
    return k->kid ? k->kid : k->thumbprint;
}

enum password_algorithm { PASSWORD_ARGON2ID, PASSWORD_BCRYPT, PASSWORD_PBKDF2 };
/* The cost a scheme may configure (passwords.schemes[].cost). */
#define PASSWORD_BCRYPT_COST_DEFAULT   12 /* MAS default_bcrypt_cost() */
#define PASSWORD_BCRYPT_COST_MIN       4  /* the bcrypt crate's range */
#define PASSWORD_BCRYPT_COST_MAX       31
#define PASSWORD_PBKDF2_ROUNDS_DEFAULT 600000 /* pbkdf2 0.12 Params::RECOMMENDED_ROUNDS (OWASP) */
#define PASSWORD_PBKDF2_ROUNDS_MIN     1000   /* pbkdf2 Params::MIN_ROUNDS */
#define PASSWORD_PBKDF2_ROUNDS_MAX     100000000

/* One item of passwords.schemes. */
struct config_password_scheme {
    unsigned version; /* unique; the highest hashes new passwords */
    enum password_algorithm algorithm;
    unsigned cost;         /* bcrypt: cost (default 12); pbkdf2: iterations (default 600000); argon2id: 0 */
    unsigned char *secret; /* the pepper, from secret or secret_file (bytes as they are); NULL = none */
    size_t secret_len;
    bool unicode_normalization; /* NFKC before hashing (what Synapse does) */
    struct config_pos pos;
};

/* The passwords section; always filled in (MAS's defaults when absent). */
struct config_passwords {
    bool enabled;                           /* default true */
    unsigned minimum_complexity;            /* zxcvbn score 0..4, default 3 */
    struct config_password_scheme *schemes; /* sorted by version, highest (the current one) first */
    size_t n_schemes;
};

/* The database section (MAS: crates/config/src/sections/database.rs). Always filled in: without
 * the section (or with none of uri and the connection fields) masd uses its embedded SQLite
 * database, STORAGE_DEFAULT_URI. */
#define STORAGE_DEFAULT_URI "sqlite:///var/lib/masd/masd.db"
/* Checks a postgresql:// URI: 0, or -EINVAL with one line in why. */
typedef int (*config_uri_check_fn)(const char *uri, char *why, size_t size);
void config_set_database_uri_check(config_uri_check_fn fn);
struct config_database {
    char *uri; /* sqlite:…, postgresql://… or postgres://…; NULL when the separate fields are used */
    /* The separate PostgreSQL fields (NULL / 0 when unset), mutually exclusive with uri. */
    char *host;
    unsigned port;
    char *socket; /* directory of the server's UNIX socket */
    char *username;
    char *password; /* from password or password_file (trailing newline not part of it) */
    char *database;
    /* TLS for PostgreSQL, with uri or the fields. Inline PEM (ssl_ca, ssl_certificate, ssl_key)
     * or file names (*_file); at most one of each pair. */
    char *ssl_mode; /* disable, allow, prefer, require, verify-ca, verify-full; NULL: libpq's */
    char *ssl_ca, *ssl_ca_file;
    char *ssl_certificate, *ssl_certificate_file;
    char *ssl_key, *ssl_key_file;
    /* Pool settings: MAS's defaults. connect_timeout and max_lifetime/idle_timeout (checked
     * when a connection is next used) apply; max/min_connections do not (one connection per
     * thread that uses the database) and draw a warning when set. */
    unsigned max_connections; /* 10 */
    unsigned min_connections; /* 0 */
    unsigned connect_timeout; /* seconds, 30 */
    unsigned idle_timeout;    /* seconds, 600; 0 = none */
    unsigned max_lifetime;    /* seconds, 1800; 0 = none */
};

/* The matrix section (MAS: crates/config/src/sections/matrix.rs). Always filled in. */
struct config_matrix {
    char *homeserver;      /* the server name of user IDs, default "localhost:8008" */
    char *endpoint;        /* the homeserver's base URL, default "http://localhost:8008/" */
    char *kind;            /* synapse (default), synapse_legacy, synapse_modern, synapse_read_only */
    unsigned char *secret; /* shared secret (secret, or secret_file's bytes); NULL when unset */
    size_t secret_len;
};

/* One GCRA bucket of the rate_limiting section: burst requests at once, then per_second. */
struct config_rate_limit {
    unsigned burst;
    double per_second;
};

/* The rate_limiting section, MAS's defaults when absent (MAS: crates/config/src/sections/rate_limiting.rs).
 */
struct config_rate_limiting {
    struct config_rate_limit login_per_ip, login_per_account, registration;
    struct config_rate_limit account_recovery_per_ip, account_recovery_per_address;
    struct config_rate_limit email_per_ip, email_per_address, email_emails_per_session,
        email_attempt_per_session;
    /* masd only (not in MAS): the prefix length that keys an IPv6 client in per-IP limits and in
     * the known login networks, 32..128, default 64 (one /64 is one client) */
    unsigned ipv6_prefix_length;
};

/* The email section (MAS: crates/config/src/sections/email.rs): how masd-worker sends e-mail
 * (common/mail/). Always filled in: without the section, MAS's defaults (blackhole: nothing is
 * sent). */
enum config_email_transport { CONFIG_EMAIL_BLACKHOLE, CONFIG_EMAIL_SMTP, CONFIG_EMAIL_SENDMAIL };
enum config_email_mode { CONFIG_EMAIL_PLAIN, CONFIG_EMAIL_STARTTLS, CONFIG_EMAIL_TLS };
#define CONFIG_EMAIL_DEFAULT_FROM    "\"Authentication Service\" <root@localhost>" /* MAS default_email() */
#define CONFIG_EMAIL_DEFAULT_COMMAND "sendmail" /* MAS's schema default, found on PATH */
struct config_email {
    enum config_email_transport transport; /* default blackhole */
    struct mail_mailbox from, reply_to;    /* default CONFIG_EMAIL_DEFAULT_FROM */
    /* smtp */
    enum config_email_mode mode; /* plain (no TLS), starttls, tls (TLS from the first byte) */
    char *hostname;              /* a host name or an IP address; NULL unless smtp */
    unsigned port;               /* default per mode, as lettre's: 25 plain, 587 starttls, 465 tls */
    char *username, *password;   /* both or neither; password from password or password_file
                                  * (trimmed, as MAS); NULL with CONFIG_NO_SECRETS */
    /* sendmail */
    char *command; /* the program, run without a shell; NULL unless sendmail */
};

/* One item of the clients section (MAS: crates/config/src/sections/clients.rs): a static
 * OAuth client, written to the database by `masctl config sync` (and by masd-oauth at start
 * when the section changed since the last sync). */
struct config_client {
    char *client_id;                /* a ULID */
    char *client_auth_method;       /* none, client_secret_basic, client_secret_post, client_secret_jwt,
                                     * private_key_jwt */
    char *client_name, *client_uri; /* NULL when unset */
    char *client_secret;            /* from client_secret or client_secret_file; NULL when none */
    char *jwks;                     /* the inline JWKS as compact JSON; NULL when none */
    char *jwks_uri;                 /* NULL when none */
    char **redirect_uris;
    size_t n_redirect_uris;
    struct config_pos pos;
};

/* upstream_oauth2.providers[] (MAS: crates/config/src/sections/upstream_oauth2.rs): an upstream
 * OAuth 2.0 / OpenID Connect identity provider people sign in with. Enumerations keep MAS's
 * spelling (config_upstream_* give the names). The claims templates are compiled at load
 * (docs/claims-templates.md). */
struct claims_template;
enum config_upstream_auth {
    UPSTREAM_AUTH_NONE,
    UPSTREAM_AUTH_CLIENT_SECRET_BASIC,
    UPSTREAM_AUTH_CLIENT_SECRET_POST,
    UPSTREAM_AUTH_CLIENT_SECRET_JWT,
    UPSTREAM_AUTH_PRIVATE_KEY_JWT,
    UPSTREAM_AUTH_SIGN_IN_WITH_APPLE,
};
enum config_upstream_discovery {
    UPSTREAM_DISCOVERY_OIDC,
    UPSTREAM_DISCOVERY_INSECURE,
    UPSTREAM_DISCOVERY_DISABLED
};
enum config_upstream_pkce { UPSTREAM_PKCE_AUTO, UPSTREAM_PKCE_ALWAYS, UPSTREAM_PKCE_NEVER };
enum config_upstream_response_mode {
    UPSTREAM_RESPONSE_MODE_UNSET,
    UPSTREAM_RESPONSE_MODE_QUERY,
    UPSTREAM_RESPONSE_MODE_FORM_POST
};
enum config_upstream_backchannel {
    UPSTREAM_BCL_DO_NOTHING,
    UPSTREAM_BCL_LOGOUT_BROWSER_ONLY,
    UPSTREAM_BCL_LOGOUT_ALL
};
enum config_claims_action { CLAIMS_IGNORE, CLAIMS_SUGGEST, CLAIMS_FORCE, CLAIMS_REQUIRE };
enum config_claims_conflict {
    CLAIMS_CONFLICT_FAIL,
    CLAIMS_CONFLICT_ADD,
    CLAIMS_CONFLICT_REPLACE,
    CLAIMS_CONFLICT_SET
};

/* One claims import: its action, its template as written (NULL: MAS's default for this claim,
 * which `compiled` then holds) and compiled (NULL only for account_name without a template). */
struct config_claims_import {
    enum config_claims_action action;
    char *template;
    struct claims_template *compiled;
};

/* One additional authorization parameter: a name and a template over params and logged_out. */
struct config_upstream_param {
    char *name;
    char *template;
    struct claims_template *compiled;
};

struct config_upstream_provider {
    char id[27];          /* a ULID, unique among the providers */
    bool enabled;         /* default true; false: kept in the database, marked disabled */
    unsigned ui_order;    /* the index in the list, as MAS */
    char *synapse_idp_id; /* NULL when unset; unique among the providers */
    char *issuer;         /* NULL only with discovery disabled and no openid scope */
    char *human_name, *brand_name;
    char *client_id;
    char *client_secret; /* inline, or client_secret_file's content trimmed; NULL when none (or
                          * with CONFIG_NO_SECRETS) */
    enum config_upstream_auth token_endpoint_auth_method;
    /* sign_in_with_apple: the PKCS#8 PEM P-256 key (inline or from its file; NULL with
     * CONFIG_NO_SECRETS), the team and key IDs; all NULL unless that method */
    char *siwa_private_key, *siwa_team_id, *siwa_key_id;
    char *token_endpoint_auth_signing_alg; /* NULL unless client_secret_jwt or private_key_jwt */
    char *id_token_signed_response_alg;    /* default RS256 */
    char *scope;                           /* as MAS stores it: de-duplicated, sorted; default "openid" */
    bool scope_openid;                     /* the scope holds openid: an ID token is expected */
    enum config_upstream_discovery discovery_mode;
    enum config_upstream_pkce pkce_method;
    bool fetch_userinfo;
    char *userinfo_signed_response_alg; /* NULL: userinfo is plain JSON */
    char *authorization_endpoint, *token_endpoint, *userinfo_endpoint, *jwks_uri; /* overrides */
    enum config_upstream_response_mode response_mode;
    struct {
        struct config_claims_import subject; /* action unused */
        bool skip_confirmation;
        struct config_claims_import localpart;
        enum config_claims_conflict localpart_on_conflict;
        struct config_claims_import displayname, email;
        struct config_claims_import account_name; /* action unused */
    } claims;
    /* additional_authorization_parameters, sorted by name (MAS: a BTreeMap); with
     * forward_login_hint and no login_hint entry, login_hint: "{{ params.login_hint }}" is
     * added as MAS's sync adds it */
    struct config_upstream_param *params;
    size_t n_params;
    bool forward_login_hint;
    enum config_upstream_backchannel on_backchannel_logout;
    bool registration_token_required;
    struct config_pos pos;
};

/* MAS's names of the enumerations above (as stored in the database). */
const char *config_upstream_auth_name(enum config_upstream_auth m);
const char *config_upstream_discovery_name(enum config_upstream_discovery m);
const char *config_upstream_pkce_db_name(enum config_upstream_pkce m); /* auto, s256, disabled */
const char *config_upstream_response_mode_name(enum config_upstream_response_mode m); /* NULL when unset */
const char *config_upstream_backchannel_name(enum config_upstream_backchannel m);
const char *config_claims_action_name(enum config_claims_action a);
const char *config_claims_conflict_name(enum config_claims_conflict c);

/* experimental.session_limit (MAS: crates/config/src/sections/experimental.rs SessionLimitConfig):
 * the number of sessions a user may have; handed to the policy as data.session_limit. */
struct config_session_limit {
    uint64_t soft_limit;            /* >= 1: interactive logins ask to remove sessions */
    uint64_t hard_limit;            /* >= soft_limit: enforced everywhere */
    uint64_t max_session_threshold; /* 0 = none: accounts above it are not limited */
    bool dangerous_hard_limit_eviction;
};

struct config {
    char *path;
    /* http */
    char *public_base; /* always ends with '/' */
    char *issuer;      /* defaults to public_base */
    struct masd_cidr *trusted_proxies;
    size_t n_trusted_proxies;
    struct config_listener *listeners;
    size_t n_listeners;
    /* secrets.keys_dir, then secrets.keys */
    struct config_key *keys;
    size_t n_keys;
    /* secrets.encryption or the trimmed contents of secrets.encryption_file; has_encryption is
     * false only when the secrets section is absent (MAS requires one of the two in it) */
    bool has_encryption;
    unsigned char encryption[SECRETS_ENCRYPTION_LEN];
    /* account, oauth: read by discovery */
    bool password_registration_enabled; /* account.password_registration_enabled, default false */
    bool device_code_grant_enabled;     /* oauth.device_code_grant_enabled, default true */
    /* oauth.device_code_user_code_auto_fill_enabled, default false (MAS: crates/config/src/sections/
     * oauth.rs): verification_uri_complete, and /link?code= honoured */
    bool device_code_user_code_auto_fill_enabled;
    bool login_with_email_allowed; /* account.login_with_email_allowed, default false */
    /* the rest of the account section (MAS: crates/config/src/sections/account.rs) */
    bool password_registration_email_required; /* default true */
    bool registration_token_required;          /* password_registration_token_required or the
                                                * older registration_token_required, default false */
    bool password_recovery_enabled;            /* default false */
    bool password_change_allowed;              /* default true */
    bool email_change_allowed;                 /* default true */
    bool displayname_change_allowed;           /* default true */
    bool account_deactivation_allowed;         /* default true */
    /* branding (MAS: crates/config/src/sections/branding.rs): NULL when unset */
    struct config_branding {
        char *service_name; /* the service's human-readable name (MAS: the server's address) */
        char *policy_uri;   /* privacy policy, in the footer of web pages */
        char *tos_uri;      /* terms of service, in the footer of web pages */
        char *imprint;      /* legal imprint, in the footer of web pages */
    } branding;
    struct config_passwords passwords;
    struct config_database database;
    struct config_matrix matrix;
    struct config_rate_limiting rate_limiting;
    struct config_email email;
    /* clients */
    struct config_client *clients;
    size_t n_clients;
    /* upstream_oauth2.providers */
    struct config_upstream_provider *upstream_providers;
    size_t n_upstream_providers;
    /* policy.data as compact JSON, "{}" when absent: the operator's part of the data MAS's default
     * policy reads (common/policy/policy.h merges it with the rest) */
    char *policy_data;
    struct config_session_limit *session_limit; /* NULL when experimental.session_limit is unset */
    char *plan_management_iframe_uri;           /* experimental.*; NULL when unset (siteConfig) */
    /* captcha (MAS: crates/config/src/sections/captcha.rs): shown in GraphQL's siteConfig */
    struct config_captcha {
        const char *service; /* RECAPTCHA_V2, CLOUDFLARE_TURNSTILE, H_CAPTCHA (GraphQL's names); NULL: none */
        char *site_key;
    } captcha;
    /* "file:line:column: x.y is not implemented yet and is ignored", one per key path; also
     * logged by config_load*, kept here for `--check` output and tests */
    char **warnings;
    size_t n_warnings;
};

/* The provider of upstream_oauth2.providers with this ID (id[0..len), enabled or not); NULL. */
const struct config_upstream_provider *config_upstream_provider(const struct config *cfg, const char *id,
                                                                size_t len);

/* Loads and validates path. On failure returns a negative errno and, in *error (malloc'd), a
 * one-line message "file:line:column: what is wrong". Warnings for known but unimplemented
 * keys go to the log, one per key. A relative file name in the config (`*_file`, keys_dir) is
 * taken from the config file's directory, so the secret files `masctl config generate -o` writes
 * beside it are found both in /etc/masd and in a unit's credentials directory. */
int config_load(const char *path, struct config **out, char **error);

/* CONFIG_NO_SECRETS: for the stateless services (masd-discovery, masd-assets), which use no
 * secret: the files of secrets.encryption_file, matrix.secret_file, database.password_file,
 * clients[].client_secret_file, passwords.schemes[].secret_file, email.password_file and
 * upstream_oauth2.providers[].client_secret_file / sign_in_with_apple.private_key_file are named
 * but never opened
 * (the values stay unset), and a signing key whose `type` is given is not read either (its
 * family is all discovery needs). A key without `type` is still read, to learn its family.
 * TLS keys are read: the listener serves with them. */
#define CONFIG_NO_SECRETS 1u
int config_load_flags(const char *path, unsigned flags, struct config **out, char **error);
int config_load_buffer_flags(const char *name, unsigned flags, const char *data, size_t len,
                             struct config **out, char **error);

/* Same, from memory (tests, fuzzing). `name` is used in messages. */
int config_load_buffer(const char *name, const char *data, size_t len, struct config **out, char **error);

void config_free(struct config *cfg);

const struct config_resource *config_listener_resource(const struct config_listener *l, const char *name);
