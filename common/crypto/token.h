/* MAS's opaque tokens: `<prefix>_<random30>_<crc6>` (crates/data-model/src/tokens.rs).
 *
 * random30 is 30 characters of [A-Za-z0-9]; crc6 is the CRC-32/ISO-HDLC (zlib's crc32) of
 * "<prefix>_<random30>" in base62 (alphabet 0-9A-Za-z). MAS emits the base62 digits least
 * significant first and then pads on the LEFT with '0' to 6 characters; masd reproduces that
 * exactly so tokens move between MAS and masd in both directions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define TOKEN_LEN 41 /* 3 + 1 + 30 + 1 + 6; buffers hold TOKEN_LEN + 1 for the NUL */

enum token_kind {
    TOKEN_ACCESS,          /* mat_: OAuth 2.0 access token */
    TOKEN_REFRESH,         /* mar_: OAuth 2.0 refresh token */
    TOKEN_COMPAT_ACCESS,   /* mct_ (and Synapse's syt_ / macaroons): Matrix C-S access token */
    TOKEN_COMPAT_REFRESH,  /* mcr_ (and Synapse's syr_): Matrix C-S refresh token */
    TOKEN_PERSONAL_ACCESS, /* mpt_: personal access token */
};

/* "mat", "mar", "mct", "mcr", "mpt"; NULL for an unknown kind. */
const char *token_kind_prefix(enum token_kind kind);

/* "access token", "refresh token", …: for messages. */
const char *token_kind_name(enum token_kind kind);

/* Writes a new token of this kind (41 characters + NUL). Returns 0 or a negative errno
 * (-EINVAL for an unknown kind, or the random source's error). */
int token_generate(enum token_kind kind, char out[TOKEN_LEN + 1]);

/* The 6 CRC characters for the 34-character "<prefix>_<random30>" (s, len bytes) + NUL. */
void token_crc(const char *s, size_t len, char out[7]);

/* Checks the format of a presented token (s, len bytes; need not be NUL-terminated) as MAS's
 * TokenType::check does:
 *  - starting with "syt_", or a Synapse macaroon (padded base64url whose decoded bytes 4..12
 *    are "location "): a compat access token, migrated from Synapse, with no further check;
 *  - starting with "syr_": a compat refresh token, likewise;
 *  - otherwise exactly three '_'-separated parts of 3, 30 and 6 bytes, a known prefix and the
 *    matching CRC.
 * Returns 0 and sets *kind (when kind is not NULL), or -EINVAL. It says nothing about whether
 * the token exists: callers still look it up (by its SHA-256). */
int token_check(const char *s, size_t len, enum token_kind *kind);

/* Whether s looks like a Synapse macaroon (see token_check). */
bool token_is_synapse_macaroon(const char *s, size_t len);
