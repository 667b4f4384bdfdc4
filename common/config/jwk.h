/* The public side of the signing keys of `secrets.keys`. Reading a key belongs to reading the
 * configuration: a key's kid defaults to its thumbprint, and two keys with one kid are a config
 * error with file:line:column. */
#pragma once
#include "config.h"
#include <openssl/types.h>

/* An RFC 7638 SHA-256 thumbprint in base64url: 43 characters and a NUL. */
#define KEY_THUMBPRINT_SIZE 44

/* The RFC 7638 thumbprint of a key's public part: base64url SHA-256 of the canonical JSON of
 * the required members (RSA: e, kty, n; EC: crv, kty, x, y with crv P-256, P-384 or secp256k1).
 * The same key in any encoding gives the same thumbprint. Returns 0, -EOPNOTSUPP for other key
 * types, -ENOMEM or -EIO. */
int key_thumbprint(EVP_PKEY *pkey, char out[KEY_THUMBPRINT_SIZE]);

/* The public JWKS of cfg->keys as MAS serves it at /oauth2/keys.json, in configuration order:
 * {"keys":[{"kty":"RSA","n":…,"e":…,"use":"sig","kid":…}, {"kty":"EC","crv":…,"x":…,"y":…,
 * "use":"sig","kid":…}]}; no "alg" (a key may sign with several) and never a private member.
 * Returns malloc'd compact JSON, or NULL when out of memory. */
char *keys_public_jwks(const struct config *cfg);
