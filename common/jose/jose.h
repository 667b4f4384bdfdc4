/* JOSE: compact JWS (RFC 7515) signed with the keys of secrets.keys (ID tokens, signed userinfo)
 * and verified with a client's secret or JWKS (RFC 7523 client assertions; upstream IdPs later).
 *
 * Why not Debian's libjose (latchset, libjose-dev 11): it has no ES256K (secp256k1 is not among
 * its curves; its algorithm table is RS/PS/ES256-512 and HS only), which MAS signs with
 * (MAS: crates/jose/src/jwa/mod.rs), and its API works on JWKs as jansson objects holding the
 * private members, so every signing key would be copied out of its EVP_PKEY into a json_t that we
 * would then have to wipe. Our own is small over OpenSSL 3's EVP.
 *
 * Algorithms (RFC 7518 §3, RFC 8812 §3.2): an RSA key signs RS256/384/512 and PS256/384/512, an
 * EC P-256 key ES256, P-384 ES384, secp256k1 ES256K. HS256/384/512 are verified only (with a
 * client's secret). "none" is never accepted.
 *
 * Every function is safe to call from several threads at once on the same keyset. */
#pragma once
#include "config.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Room for the longest algorithm name we know ("ES256K") and its NUL. */
#define JOSE_ALG_MAX 8

/* One private signing key of secrets.keys, with its kid and family. */
struct jose_key;
/* The signing keys of secrets.keys, in configuration order (keys_dir, then keys). */
struct jose_keyset;

/* Takes a reference to every key of cfg->keys that was read (a key known by its `type` only,
 * under CONFIG_NO_SECRETS, is skipped); the keyset outlives cfg. Returns 0 or -ENOMEM. */
int jose_keyset_from_config(const struct config *cfg, struct jose_keyset **out);
void jose_keyset_free(struct jose_keyset *ks);
/* The key MAS would pick for alg: the last in config order that supports it (MAS:
 * crates/jose/src/jwk/mod.rs signing_key_for_algorithm); NULL if none or alg is unknown. */
const struct jose_key *jose_keyset_find(const struct jose_keyset *ks, const char *alg);
/* The key's kid: the configured one, else its RFC 7638 thumbprint (config_key_id). */
const char *jose_key_id(const struct jose_key *key);
/* Whether key can sign with alg (see the table above). */
bool jose_key_supports(const struct jose_key *key, const char *alg);

/* Compact JWS of the claims (a JSON object, serialised compactly in its own member order) with the
 * protected header {"alg":alg,"kid":kid}: *out malloc'd. Returns 0, -EINVAL (claims not an
 * object, or alg not one the key supports), -ENOMEM or -EIO (OpenSSL failed). */
int jose_sign(const struct jose_key *key, const char *alg, json_t *claims, char **out);

/* at_hash / c_hash (OIDC Core §3.1.3.6, §3.3.2.11): base64url of the left half of the SHA-256,
 * -384 or -512 digest of token, the size the alg's name ends in (ES256K: SHA-256). out receives
 * at most 43 characters and a NUL. Returns 0 or -EINVAL for an unknown alg. */
int jose_token_hash(const char *alg, const char *token, char out[88]);

/* Whether alg is one of HS256/384/512; one of the asymmetric algorithms of the table above. */
bool jose_alg_is_hmac(const char *alg);
bool jose_alg_is_asymmetric(const char *alg);

/* ---- verification ------------------------------------------------------------------------ */

/* Compact JWS longer than this are refused by jose_jws_parse. */
#define JOSE_JWS_MAX (64 * 1024)

/* A compact JWS, parsed but not verified. */
struct jose_jws {
    char alg[JOSE_ALG_MAX]; /* the header's alg, whatever it names ("none" too) */
    char *kid;              /* malloc'd; NULL when the header has none */
    json_t *header;         /* the protected header: an object (a reference) */
    json_t *payload;        /* the payload: an object (a reference) */
    unsigned char *sig;     /* the decoded signature, never empty */
    size_t sig_len;
    size_t signed_len; /* bytes of "header.payload" at the start of the input */
};

/* Parses header.payload.signature (RFC 7515 §7.1): three strict base64url parts, a header and a
 * payload that are JSON objects without duplicate members, an alg string shorter than
 * JOSE_ALG_MAX, a kid (when present) that is a string, no `crit` (no extension is understood,
 * RFC 7515 §4.1.11), and a non-empty signature. Nothing is verified. Returns 0, or -EINVAL on
 * any defect (*out is then cleared). */
int jose_jws_parse(const char *jws, size_t len, struct jose_jws *out);
void jose_jws_clear(struct jose_jws *jws);

/* Each verifier takes the input that was parsed (its first signed_len bytes are the signing
 * input) and returns 0 when the signature is good, else -EACCES: for an algorithm the verifier
 * does not take ("none" always), a key that cannot have made it, or a bad signature. */

/* HS256/384/512 with the shared secret (compared in constant time). */
int jose_jws_verify_hmac(const struct jose_jws *jws, const char *input, const void *secret,
                         size_t secret_len);
/* An asymmetric algorithm with a public key of jwks ({"keys":[…]}, RFC 7517 §5): the key named
 * by the header's kid, or without a kid the only key of the alg's kty; a key with a `use` other
 * than "sig" is never picked. The EC curve must be the alg's. */
int jose_jws_verify_jwks(const struct jose_jws *jws, const char *input, const json_t *jwks);
/* An asymmetric algorithm with one of our own keys (which must support it). */
int jose_jws_verify_key(const struct jose_jws *jws, const char *input, const struct jose_key *key);

/* ---- keys and secrets outside secrets.keys (upstream providers) ------------------------------ */

/* A private key from PEM (PKCS#8, or the traditional RSA/EC forms), with kid as its key ID: an
 * RSA, P-256, P-384 or secp256k1 key. Sign in with Apple's client secret is signed with one
 * (docs/upstream-oauth.md). Returns 0, -EINVAL (not a key of those kinds) or -ENOMEM. */
int jose_key_from_pem(const char *pem, const char *kid, struct jose_key **out);
void jose_key_free(struct jose_key *key);

/* Compact JWS of claims with HS256/384/512 keyed with secret, header {"alg":alg,"typ":"JWT"}
 * (client_secret_jwt, RFC 7523 §2.2). Returns 0, -EINVAL (alg not HMAC, claims not an object),
 * -ENOMEM or -EIO. */
int jose_sign_hmac(const char *alg, const void *secret, size_t secret_len, json_t *claims, char **out);
