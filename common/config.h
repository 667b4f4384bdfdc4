/* MAS's config.yaml, as masd understands it. Loading is separate from serving: services read
 * these plain structures and never see YAML. */
#pragma once
#include "addr.h"
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

struct config_key {
    char *kid; /* NULL when not configured */
    enum key_family family;
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
    /* secrets.keys (families only, for discovery) */
    struct config_key *keys;
    size_t n_keys;
    /* account, oauth: read by discovery */
    bool password_registration_enabled; /* account.password_registration_enabled, default false */
    bool device_code_grant_enabled;     /* oauth.device_code_grant_enabled, default true */
    /* "file:line:column: x.y is not implemented yet and is ignored", one per key path; also
     * logged by config_load*, kept here for `--check` output and tests */
    char **warnings;
    size_t n_warnings;
};

/* Loads and validates path. On failure returns a negative errno and, in *error (malloc'd), a
 * one-line message "file:line:column: what is wrong". Warnings for known but unimplemented
 * keys go to the log, one per key. */
int config_load(const char *path, struct config **out, char **error);

/* Same, from memory (tests, fuzzing). `name` is used in messages. */
int config_load_buffer(const char *name, const char *data, size_t len, struct config **out, char **error);

void config_free(struct config *cfg);

const struct config_resource *config_listener_resource(const struct config_listener *l, const char *name);
