/* What masd does with `secrets`: authenticated encryption of small values (cookies, CSRF tokens,
 * stored client secrets) under per-purpose keys derived from secrets.encryption, constant-time
 * comparison (the public side of the signing keys is config/jwk.h). Pure computation: no I/O, nothing global.
 * One struct secrets is built at start-up and shared read-only by every thread. */
#pragma once
#include "config.h"
#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>

/* The format byte that leads every sealed value. A later format (another AEAD, a rotated
 * encryption secret) takes the next value; secrets_open() refuses versions it does not know. */
#define SECRETS_VERSION 1
/* Largest value secrets_seal() accepts: cookies and client secrets are far smaller, and a bound
 * keeps secrets_open() from decoding arbitrarily large input. */
#define SECRETS_PLAIN_MAX (64u * 1024)

struct secrets;

/* Fetches the OpenSSL algorithms once (AES-256-GCM, HMAC-SHA256) and keeps a copy of the
 * encryption secret. Returns 0, -ENOMEM, or -ENOSYS when the OpenSSL providers lack an
 * algorithm. */
int secrets_new(const unsigned char secret[SECRETS_ENCRYPTION_LEN], struct secrets **out);
/* The same from a loaded configuration: -ENOKEY when it has no secrets.encryption (the
 * section is optional for the binaries that never encrypt, such as masd-discovery). */
int secrets_from_config(const struct config *cfg, struct secrets **out);
void secrets_free(struct secrets *s);

/* Encrypts and authenticates `plain` under the key for `purpose` ("cookie", "csrf",
 * "client-secret", ...). *out (malloc'd) is base64url without padding of
 * version(1) || nonce(12) || ciphertext || tag(16). Returns 0, -EINVAL (empty purpose),
 * -EMSGSIZE (len > SECRETS_PLAIN_MAX), -ENOMEM or -EIO. */
int secrets_seal(const struct secrets *s, const char *purpose, const void *plain, size_t len, char **out);

/* Reverses secrets_seal(). *plain is malloc'd with a NUL after the len bytes. Any change to the
 * sealed text, another purpose, another secret or an unknown version gives -EBADMSG (and
 * nothing else about why); -EINVAL for an empty purpose, -ENOMEM. */
int secrets_open(const struct secrets *s, const char *purpose, const char *sealed, void **plain, size_t *len);
/* The same for a length-delimited value such as a cookie inside a header. */
int secrets_open_len(const struct secrets *s, const char *purpose, const char *sealed, size_t sealed_len,
                     void **plain, size_t *len);

/* HKDF-SHA256 (RFC 5869, extract then expand) on the HMAC fetched by secrets_new(): the code
 * path of the per-purpose keys, exposed for its known-answer test. salt may be NULL/0; out_len
 * at most 255 * 32. Returns 0, -EINVAL, -ENOMEM or -EIO. */
int secrets_hkdf(const struct secrets *s, const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                 const void *info, size_t info_len, void *out, size_t out_len);

/* a and b hold the same bytes. Compares SHA-256 digests of both in constant time: the time
 * taken depends on each length alone (hashing), never on the contents or on how the two relate
 * (equal lengths, a common prefix). False if the digest cannot be computed. */
bool secret_equal(const void *a, size_t alen, const void *b, size_t blen);

/* The same in two steps, for a secret compared on every request (matrix.secret): its digest,
 * made once (0 or -EIO), then compared with a presented value. */
struct secret_digest {
    unsigned char sha256[32];
    size_t len;
};
int secret_digest(const void *p, size_t len, struct secret_digest *out);
bool secret_digest_equal(const struct secret_digest *a, const void *b, size_t blen);
