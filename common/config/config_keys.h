/* Every key path of MAS's config.yaml (MAS: crates/config/src/sections/, plus the variants of
 * resources and binds, and our own keys), and whether masd implements it. A key in no entry
 * is an error; a KNOWN key is accepted with one warning per key path. */
#pragma once
#include <stddef.h>

enum config_key_status {
    CONFIG_KEY_IMPLEMENTED, /* validated and used */
    CONFIG_KEY_KNOWN,       /* MAS has it, masd does not implement it yet: warned about, ignored */
};

struct config_key_entry {
    const char *path; /* list items as "[]": "http.listeners[].binds[].port" */
    enum config_key_status status;
};

extern const struct config_key_entry config_keys[];
extern const size_t n_config_keys;

/* The entry for a key path (list items written "[]"), or NULL. */
const struct config_key_entry *config_key_find(const char *path);
