#pragma once
#include "config.h"

/* Renders the OpenID Connect discovery document of cfg (MAS: crates/handlers/src/oauth2/discovery.rs) into a
 * new malloc'd compact JSON string. Returns NULL when out of memory. */
char *discovery_document_render(const struct config *cfg);

/* The algorithms a key family signs with, NULL-terminated. */
const char *const *key_family_algorithms(enum key_family family);
