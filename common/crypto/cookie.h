/* Cookies in MAS's format, so that a browser signed in to MAS stays signed in when masd takes
 * over with the same secrets.encryption (MAS: crates/axum-utils/src/cookies.rs, the cookie
 * crate's "private" jar):
 *
 *   key    = bytes 32..63 of HKDF-SHA256-Expand(PRK = secrets.encryption,
 *            info = "COOKIE;SIGNED:HMAC-SHA256;PRIVATE:AEAD-AES-256-GCM", L = 64)   (RFC 5869 §2.3)
 *   value  = base64 (RFC 4648 §4, padded) of nonce(12, random) || ciphertext || tag(16),
 *            AES-256-GCM under key with the cookie's name as additional data
 *
 * so a value sealed for one cookie name cannot be replayed under another. The plaintext is the
 * cookie's JSON (cookie_session_*, cookie_csrf_*). Pure computation; one struct cookie_jar is
 * built at start-up and shared read-only by every thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_SECRET_LEN 32
/* The largest cookie value cookie_open() reads: browsers keep about 4 KiB per cookie. */
#define COOKIE_VALUE_MAX 4096

struct cookie_jar;

/* Returns 0, -ENOMEM, or -EIO when OpenSSL lacks HMAC-SHA256 or AES-256-GCM. */
int cookie_jar_new(const unsigned char secret[COOKIE_SECRET_LEN], struct cookie_jar **out);
void cookie_jar_free(struct cookie_jar *jar);

/* Seals plain (len bytes) for the cookie `name`: *value is malloc'd base64. Returns 0, -EINVAL
 * (len above COOKIE_VALUE_MAX / 2), -ENOMEM or -EIO. */
int cookie_seal(const struct cookie_jar *jar, const char *name, const void *plain, size_t len, char **value);

/* Opens a value sealed for `name`. *plain is malloc'd with a NUL after its len bytes. Anything
 * that is not a value this jar sealed under this name (tampered, truncated, another secret,
 * another name, not base64, too long) is -EBADMSG, and nothing else says why: a bad cookie is
 * simply no cookie. -ENOMEM. */
int cookie_open(const struct cookie_jar *jar, const char *name, const char *value, size_t value_len,
                char **plain, size_t *len);

/* The `session` cookie: {"current": "<browser session ULID>" | null[, "logged_out_at": "<RFC 3339>"]}. */
struct cookie_session {
    char current[27];      /* a ULID, or "" for none */
    int64_t logged_out_at; /* ms since the epoch, 0 when absent */
};
/* Parses the JSON: 0, or -EINVAL for anything else (a member of the wrong type, a malformed ULID
 * or time). Unknown members are ignored, as MAS's serde does. */
int cookie_session_parse(const char *json, size_t len, struct cookie_session *out);
/* The JSON, malloc'd (NULL when out of memory). */
char *cookie_session_render(const struct cookie_session *s);

/* The `csrf` cookie: {"expiration": <unix seconds>, "token": [32 numbers 0..255]}. */
#define COOKIE_CSRF_TOKEN_LEN 32
struct cookie_csrf {
    int64_t expiration; /* seconds since the epoch */
    unsigned char token[COOKIE_CSRF_TOKEN_LEN];
};
int cookie_csrf_parse(const char *json, size_t len, struct cookie_csrf *out);
char *cookie_csrf_render(const struct cookie_csrf *c);
