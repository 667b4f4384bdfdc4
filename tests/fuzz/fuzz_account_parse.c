/* The account pages' parsers (services/human/account_parse.c) on arbitrary bytes: no crash, no
 * read or write outside the buffers. A decoded path segment is non-empty, control-free and
 * re-encodes to the same bytes; an accepted session reference names a ULID; a deep link stays
 * below the root and within its size; a cut name is a prefix with at most that many characters;
 * scope device IDs are non-empty and within bounds. */
#include "account_parse.h"
#include "fuzz_input.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t out_size = (data[0] & 63) + 1;
    masd_str in = {(const char *)data + 1, size - 1};
    char *copy = fuzz_copy(in);
    char *out = malloc(out_size);
    fuzz_require(out != NULL);
    if (account_path_segment((masd_str){copy, in.len}, out, out_size)) {
        size_t n = strlen(out);
        fuzz_require(n >= 1 && n < out_size);
        for (size_t i = 0; i < n; i++)
            fuzz_require((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
    } else {
        fuzz_require(out[0] == '\0');
    }
    free(out);
    free(copy);

    /* the rest as one NUL-terminated string */
    char *s = malloc(size);
    fuzz_require(s != NULL);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    char id[STORAGE_ID_SIZE];
    enum storage_session_kind kind;
    bool known;
    if (account_session_ref(s, id, &kind, &known))
        fuzz_require(account_is_ulid(id) && strstr(s, id) != NULL);

    struct action a = {.kind = ACTION_MANAGE_ACCOUNT};
    snprintf(a.account_action, sizeof(a.account_action), "%s", s);
    snprintf(a.device_id, sizeof(a.device_id), "%s", s);
    char link[64];
    int r = account_deep_link(&a, "/r", link, (data[0] >> 6) ? sizeof(link) : 20);
    fuzz_require(r == 0 || r == 1 || r == -ENOSPC);
    if (r == 1)
        fuzz_require(!strncmp(link, "/r/account/", 11) && strlen(link) < sizeof(link) &&
                     !strpbrk(link, "?# "));

    size_t len = strlen(s), max = data[0] & 15;
    char *name = malloc(len + 1);
    fuzz_require(name != NULL);
    memcpy(name, s, len + 1);
    account_cut_chars(name, max);
    size_t chars = 0;
    for (const char *p = name; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    fuzz_require(chars <= max && !strncmp(name, s, strlen(name)));
    free(name);

    char ids[4][STORAGE_DEVICE_ID_MAX + 1];
    size_t n = account_scope_devices(s, ids, 4);
    fuzz_require(n <= 4);
    for (size_t i = 0; i < n; i++)
        fuzz_require(ids[i][0] && strlen(ids[i]) <= STORAGE_DEVICE_ID_MAX && strstr(s, ids[i]) != NULL);
    free(s);
    return 0;
}
