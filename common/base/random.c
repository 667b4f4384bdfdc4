/* random_*(): see random.h. */
#include "random.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

int random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        /* getrandom may return fewer bytes than asked (above 256 bytes, or when a signal
         * arrives), so loop until every byte is filled. */
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Rejection sampling: a byte b is used only when it is below the largest multiple of k that
 * fits in 256 (limit); then b % k is exactly uniform over the k characters, because every
 * residue occurs limit / k times among the accepted bytes. Rejected bytes are discarded. At
 * worst (k = 129) about half the bytes are used, so bytes are fetched in batches. */
int random_string(char *out, size_t n, const char *alphabet, size_t k)
{
    if (k == 0 || k > 256)
        return -EINVAL;
    const unsigned limit = 256 - (256 % (unsigned)k);
    uint8_t pool[128];
    size_t have = 0, used = 0, i = 0;
    while (i < n) {
        if (used == have) {
            size_t want = (n - i) * 2 < sizeof(pool) ? (n - i) * 2 : sizeof(pool);
            int r = random_bytes(pool, want);
            if (r < 0) {
                explicit_bzero(pool, sizeof(pool));
                return r;
            }
            have = want;
            used = 0;
        }
        uint8_t b = pool[used++];
        if (b < limit)
            out[i++] = alphabet[b % k];
    }
    out[n] = '\0';
    /* The pool held the secret's raw material. */
    explicit_bzero(pool, sizeof(pool));
    return 0;
}

static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char UPPER_ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

int random_alnum(char *out, size_t n)
{
    return random_string(out, n, ALNUM, sizeof(ALNUM) - 1);
}

int random_upper_alnum(char *out, size_t n)
{
    return random_string(out, n, UPPER_ALNUM, sizeof(UPPER_ALNUM) - 1);
}

int random_hex(char *out, size_t n)
{
    static const char HEX[] = "0123456789abcdef";
    uint8_t buf[64];
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < sizeof(buf) ? n - done : sizeof(buf);
        int r = random_bytes(buf, chunk);
        if (r < 0)
            return r;
        for (size_t j = 0; j < chunk; j++) {
            out[2 * (done + j)] = HEX[buf[j] >> 4];
            out[2 * (done + j) + 1] = HEX[buf[j] & 15];
        }
        done += chunk;
    }
    out[2 * n] = '\0';
    explicit_bzero(buf, sizeof(buf));
    return 0;
}
