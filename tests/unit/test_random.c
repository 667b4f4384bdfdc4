/* Random bytes and strings: lengths, alphabets, and uniformity (a chi-square test that would
 * catch the bias of `byte % 62`, which makes the first 8 characters 5/4 as likely). */
#include "check.h"
#include "random.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static void test_bytes(void)
{
    /* Large requests exceed what one getrandom call returns (33554431 bytes on
     * /dev/urandom-like sources); the loop must fill everything. */
    size_t n = 40u << 20;
    uint8_t *buf = calloc(1, n);
    CHECK(buf != NULL);
    if (!buf)
        return;
    CHECK_INT(random_bytes(buf, n), 0);
    /* The last megabyte is filled too: all-zero would be a 2^-8388608 event. */
    size_t nonzero = 0;
    for (size_t i = n - (1u << 20); i < n; i++)
        nonzero += buf[i] != 0;
    CHECK(nonzero > (1u << 20) / 2);
    free(buf);
    CHECK_INT(random_bytes(NULL, 0), 0);
}

/* Chi-square statistic of the character counts of `total` characters drawn from alphabet. */
static double chi_square(int (*draw)(char *, size_t), const char *alphabet, size_t k, size_t total)
{
    long counts[256] = {0};
    char buf[1001];
    size_t done = 0;
    int bad = 0;
    while (done < total) {
        if (draw(buf, 1000) != 0 || strlen(buf) != 1000)
            bad++;
        for (size_t i = 0; i < 1000; i++) {
            const char *p = strchr(alphabet, buf[i]);
            if (!p || buf[i] == '\0')
                bad++;
            else
                counts[p - alphabet]++;
        }
        done += 1000;
    }
    CHECK_INT(bad, 0);
    double expected = (double)total / (double)k, chi = 0;
    for (size_t i = 0; i < k; i++)
        chi += (counts[i] - expected) * (counts[i] - expected) / expected;
    return chi;
}

static void test_uniform(void)
{
    /* 2,000,000 characters. For 62 categories (61 degrees of freedom) chi-square exceeds 120
     * with probability ~1e-5; the bias of `% 62` (8 characters at 5/256, 54 at 4/256) gives
     * about 13,000. */
    double chi = chi_square(random_alnum, ALNUM, 62, 2000000);
    fprintf(stderr, "alnum chi-square (61 dof): %.1f\n", chi);
    CHECK(chi < 120);
    /* 36 categories, 35 degrees of freedom: above 80 with probability ~2e-5. */
    chi = chi_square(random_upper_alnum, UPPER, 36, 1000000);
    fprintf(stderr, "upper alnum chi-square (35 dof): %.1f\n", chi);
    CHECK(chi < 80);
}

/* The test itself has the power to see `% 62`: the same statistic over biased draws. */
static int biased_alnum(char *out, size_t n)
{
    uint8_t b[1000];
    if (n > sizeof(b) || random_bytes(b, n) < 0)
        return -EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = ALNUM[b[i] % 62];
    out[n] = '\0';
    return 0;
}

static void test_detects_bias(void)
{
    double chi = chi_square(biased_alnum, ALNUM, 62, 2000000);
    fprintf(stderr, "biased (modulo) chi-square: %.1f\n", chi);
    CHECK(chi > 1000);
}

static void test_strings(void)
{
    char s[80];
    memset(s, 'x', sizeof(s));
    CHECK_INT(random_alnum(s, 10), 0);
    CHECK_INT(strlen(s), 10);
    CHECK_INT(random_upper_alnum(s, 6), 0);
    CHECK_INT(strlen(s), 6);
    CHECK(strspn(s, UPPER) == 6);
    CHECK_INT(random_alnum(s, 0), 0);
    CHECK_STR(s, "");
    CHECK_INT(random_hex(s, 32), 0);
    CHECK_INT(strlen(s), 64);
    CHECK(strspn(s, "0123456789abcdef") == 64);
    CHECK_INT(random_string(s, 5, "ab", 0), -EINVAL);
    CHECK_INT(random_string(s, 5, "ab", 257), -EINVAL);
    /* A one-character alphabet is allowed and is what it is. */
    CHECK_INT(random_string(s, 5, "z", 1), 0);
    CHECK_STR(s, "zzzzz");
    /* Two 32-character strings never collide in practice. */
    char a[33], b[33];
    CHECK_INT(random_alnum(a, 32), 0);
    CHECK_INT(random_alnum(b, 32), 0);
    CHECK(strcmp(a, b) != 0);
}

int main(void)
{
    test_bytes();
    test_strings();
    test_uniform();
    test_detects_bias();
    return check_report(__FILE__);
}
