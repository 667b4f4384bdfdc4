/* secrets_open on arbitrary bytes (a cookie or a stored value is attacker-controlled): it must
 * refuse cleanly, never crash, leak or over-read; and whatever it accepts must seal and open
 * again to the same bytes. With a fixed key a forgery is not expected; the seeds are values
 * really sealed under that key, so the fuzzer mutates well-formed input too. */
#include "secrets.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct secrets *fuzz_secrets(void)
{
    static struct secrets *s;
    if (!s) {
        /* MAS's documented example secret: the seeds were sealed with it (purpose "fuzz"). */
        static const unsigned char key[SECRETS_ENCRYPTION_LEN] = {
            0x00, 0x00, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66, 0x77, 0x77,
            0x88, 0x88, 0x99, 0x99, 0xaa, 0xaa, 0xbb, 0xbb, 0xcc, 0xcc, 0xdd, 0xdd, 0xee, 0xee, 0xff, 0xff};
        if (secrets_new(key, &s) < 0)
            abort();
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct secrets *s = fuzz_secrets();
    void *plain = NULL;
    size_t len = 0;
    /* length-delimited, as a cookie inside a header: no NUL after the input */
    int r = secrets_open_len(s, "fuzz", (const char *)data, size, &plain, &len);
    if (r != 0 && r != -EBADMSG && r != -ENOMEM)
        abort();
    if (r != 0) {
        if (plain || len)
            abort();
        return 0;
    }
    char *sealed = NULL;
    void *again = NULL;
    size_t len2 = 0;
    if (secrets_seal(s, "fuzz", plain, len, &sealed) != 0 ||
        secrets_open(s, "fuzz", sealed, &again, &len2) != 0 || len2 != len || memcmp(again, plain, len) != 0)
        abort();
    free(again);
    free(sealed);
    free(plain);
    return 0;
}
