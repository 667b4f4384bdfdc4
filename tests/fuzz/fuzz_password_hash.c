/* Stored password hashes are input too (a database imported from MAS or Synapse): arbitrary
 * bytes as a hash, optionally followed by a newline and the password to try, go through
 * password_hash_parse and password_verify. Never a crash; a hash that does not parse never
 * verifies. Hashes whose parameters would take long (up to the 2 GiB/bcrypt-31 bounds) are only
 * parsed, so the fuzzer keeps its pace. */
#include "passwords.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool cheap(const struct password_hash_info *info)
{
    switch (info->algorithm) {
    case PASSWORD_ARGON2ID:
        return info->m_cost <= 256 && info->t_cost <= 2 && info->lanes <= 4;
    case PASSWORD_PBKDF2:
        return info->rounds <= 2000;
    case PASSWORD_BCRYPT:
        return info->rounds <= 5;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config_password_scheme schemes[] = {
        {.version = 3, .algorithm = PASSWORD_ARGON2ID, .unicode_normalization = true},
        {.version = 2, .algorithm = PASSWORD_PBKDF2, .cost = 1000},
        {.version = 1, .algorithm = PASSWORD_BCRYPT, .cost = 4, .unicode_normalization = true},
    };
    struct config_passwords cfg = {.enabled = true, .schemes = schemes, .n_schemes = 3};
    char *hash = malloc(size + 1);
    if (!hash)
        return 0;
    memcpy(hash, data, size);
    hash[size] = '\0';
    char *nl = memchr(hash, '\n', size);
    const char *password = nl ? nl + 1 : "hunter2";
    size_t len = nl ? size - (size_t)(nl + 1 - hash) : 7;
    if (nl)
        *nl = '\0';
    struct password_hash_info info;
    int parsed = password_hash_parse(hash, &info);
    if (parsed != 0 && parsed != -EINVAL && parsed != -ERANGE)
        abort();
    for (unsigned version = 0; version <= 4 && (parsed < 0 || cheap(&info)); version++) {
        bool upgrade = true;
        int r = password_verify(&cfg, version, hash, password, len, &upgrade);
        if (upgrade != (r == 0 && version != 3))
            abort(); /* upgrade only on a match with an older scheme */
        if (parsed < 0 && (r == 0 || r == -EPERM))
            abort();
        if (version == 0 || version == 4 ? r != -ENOENT : r > 0)
            abort();
    }
    free(hash);
    return 0;
}
