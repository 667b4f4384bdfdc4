/* Password hashing for the passwords section, in MAS's formats so that a MAS database can be
 * imported as it is (MAS: crates/handlers/src/passwords.rs, argon2 0.5, bcrypt, pbkdf2 0.12):
 *
 *   argon2id  $argon2id$v=19$m=19456,t=2,p=1$<16-byte salt>$<32-byte hash>   PHC, pepper = argon2 secret
 *   bcrypt    $2b$12$<salt><hash>                        pepper appended to the password (Synapse too)
 *   pbkdf2    $pbkdf2-sha256$i=600000,l=32$<16-byte salt>$<32-byte hash>     PHC, pepper appended
 *
 * With unicode_normalization the password is NFKC-normalised first, as Synapse and MAS do.
 *
 * These functions are slow on purpose (argon2id ~30 ms and 19 MiB, bcrypt cost 12 and pbkdf2
 * 600000 rounds a few hundred ms): they are plain synchronous, thread-safe functions meant to
 * run on the worker pool (workpool.h, docs/architecture.md §4), never on an event loop. */
#pragma once
#include "config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* argon2 0.5 Params::default(), which MAS uses for every new hash */
#define PASSWORD_ARGON2_M_COST 19456
#define PASSWORD_ARGON2_T_COST 2
#define PASSWORD_ARGON2_P_COST 1
/* Stored argon2 hashes are verified with their own parameters (as MAS does) up to these bounds,
 * so that a corrupt row cannot take a worker's memory or minutes of CPU: 2 GiB is RFC 9106's
 * first recommended option; memory x passes at most 8 GiB. */
#define PASSWORD_ARGON2_MAX_M_COST (1u << 21)
#define PASSWORD_ARGON2_MAX_WORK   (1ull << 23)
#define PASSWORD_ARGON2_MAX_LANES  16

enum password_prf { PASSWORD_PRF_SHA256, PASSWORD_PRF_SHA512 };

/* A stored hash taken apart (password_hash_parse). */
struct password_hash_info {
    enum password_algorithm algorithm;
    unsigned argon2_type;             /* libargon2's Argon2_d/i/id: MAS verifies all three */
    unsigned argon2_version;          /* 0x10 or 0x13 */
    uint32_t m_cost, t_cost, lanes;   /* argon2 */
    enum password_prf prf;            /* pbkdf2 */
    uint32_t rounds;                  /* pbkdf2: iterations; bcrypt: the cost (log2 of rounds) */
    unsigned char salt[48], hash[64]; /* PHC formats only (bcrypt is left to libcrypt) */
    size_t salt_len, hash_len;
};

/* Parses a stored hash in one of the formats above (also $argon2i$/$argon2d$, v=16,
 * $pbkdf2-sha512$, $2a$/$2y$, which MAS verifies too). Returns 0, -EINVAL when malformed or not
 * supported, -ERANGE when its parameters are outside the bounds above. */
int password_hash_parse(const char *hash, struct password_hash_info *out);

/* Hashes password (len bytes, UTF-8) with the current (highest-version) scheme: *hash is
 * malloc'd, *version is the scheme's. Returns 0, -EOPNOTSUPP when passwords are disabled,
 * -EILSEQ when password is not UTF-8, -EINVAL when bcrypt is asked to hash a NUL byte. */
int password_hash(const struct config_passwords *cfg, const char *password, size_t len, char **hash,
                  unsigned *version);

/* The same with a given salt, for test vectors; everything else uses password_hash(), which
 * draws a fresh 16-byte salt from getrandom(). */
int password_hash_with_salt(const struct config_passwords *cfg, const char *password, size_t len,
                            const unsigned char *salt, size_t salt_len, char **hash, unsigned *version);

/* Checks password against hash, stored under scheme `version`, in constant time. Returns 0 on a
 * match (*upgrade then says whether to re-hash with password_hash(), because version is not the
 * current scheme's), -EPERM on a mismatch (also for a password that is not UTF-8, or has a NUL
 * byte under bcrypt: it cannot match), -ENOENT for a version that no scheme has, -EINVAL or
 * -ERANGE for a hash that cannot be used (see password_hash_parse), -EOPNOTSUPP when passwords
 * are disabled. */
int password_verify(const struct config_passwords *cfg, unsigned version, const char *hash,
                    const char *password, size_t len, bool *upgrade);

/* The cost of password_verify() without a stored hash: hashes password with the current scheme
 * (the parameters a hash of that scheme is verified with: argon2id's m, t and p, bcrypt's cost,
 * pbkdf2's rounds) and a fixed salt, and throws the result away. A login for an account that
 * does not exist, is deactivated or has no password calls it in place of password_verify(), so
 * that it takes as long as a wrong password for an account that does (docs/architecture.md).
 * Always returns -EPERM (no match), or -EOPNOTSUPP when passwords are disabled. */
int password_verify_dummy(const struct config_passwords *cfg, const char *password, size_t len);

/* zxcvbn's score, 0 (guessable in under 10^3 guesses) to 4 (over 10^10). */
int password_complexity(const char *password);

/* 0 when password scores at least passwords.minimum_complexity, -EPERM when it is too weak,
 * -EOPNOTSUPP when passwords are disabled. */
int password_check_complexity(const struct config_passwords *cfg, const char *password);
