/* ULIDs: text form, parsing, time, per-thread monotonicity. */
#include "check.h"
#include "clock.h"
#include "ulid.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_format_parse(void)
{
    /* The spec's example: 01ARZ3NDEKTSV4RRFFQ69G5FAV has the timestamp 1469922850259
     * (0x01563E3AB5D3). */
    uint8_t b[16] = {0x01, 0x56, 0x3e, 0x3a, 0xb5, 0xd3};
    char s[ULID_LEN + 1];
    ulid_format(b, s);
    CHECK_STR(s, "01ARZ3NDEK0000000000000000");
    CHECK_INT(ulid_time_ms(s), 1469922850259LL);
    CHECK_INT(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAV"), 1469922850259LL);

    uint8_t all[16];
    memset(all, 0xff, sizeof(all));
    ulid_format(all, s);
    CHECK_STR(s, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    uint8_t back[16];
    CHECK_INT(ulid_parse(s, back), 0);
    CHECK(memcmp(back, all, 16) == 0);

    /* Every byte value in every position survives a round trip. */
    int bad = 0;
    for (int i = 0; i < 16; i++) {
        for (int v = 0; v < 256; v += 7) {
            uint8_t in[16] = {0}, out[16];
            in[i] = (uint8_t)v;
            in[(i + 5) % 16] = (uint8_t)(255 - v);
            ulid_format(in, s);
            if (ulid_parse(s, out) != 0 || memcmp(in, out, 16) != 0)
                bad++;
        }
    }
    CHECK_INT(bad, 0);
}

static void test_parse_rejects(void)
{
    uint8_t b[16];
    CHECK_INT(ulid_parse("01ARZ3NDEKTSV4RRFFQ69G5FAV", b), 0);
    CHECK_INT(ulid_parse("01ARYZ6S41000000000000000", b), -EINVAL);   /* 25 */
    CHECK_INT(ulid_parse("01ARYZ6S4100000000000000000", b), -EINVAL); /* 27 */
    CHECK_INT(ulid_parse("81ARYZ6S410000000000000000", b), -EINVAL);  /* above 2^128 */
    CHECK_INT(ulid_parse("01aryz6s410000000000000000", b), -EINVAL);  /* lower case */
    CHECK_INT(ulid_parse("01ARYZ6S41000000000000000I", b), -EINVAL);  /* I, L, O, U */
    CHECK_INT(ulid_parse("01ARYZ6S41000000000000000L", b), -EINVAL);
    CHECK_INT(ulid_parse("01ARYZ6S41000000000000000O", b), -EINVAL);
    CHECK_INT(ulid_parse("01ARYZ6S41000000000000000U", b), -EINVAL);
    CHECK_INT(ulid_parse("01ARYZ6S41-000000000000000", b), -EINVAL);
    CHECK_INT(ulid_parse("", b), -EINVAL);
    CHECK_INT(ulid_parse(NULL, b), -EINVAL);
    CHECK_INT(ulid_time_ms("not a ulid"), -EINVAL);
}

static void test_generate(void)
{
    int64_t before = masd_now();
    char prev[ULID_LEN + 1] = "";
    int bad = 0, monotonic = 0;
    for (int i = 0; i < 20000; i++) {
        char s[ULID_LEN + 1];
        uint8_t b[16];
        ulid_generate(s);
        if (strlen(s) != ULID_LEN || ulid_parse(s, b) != 0)
            bad++;
        if (strcmp(s, prev) <= 0)
            monotonic++;
        memcpy(prev, s, sizeof(prev));
    }
    int64_t after = masd_now();
    CHECK_INT(bad, 0);
    /* 20000 IDs take a few milliseconds at most: many share a millisecond, and still each
     * sorts after the previous one. */
    CHECK_INT(monotonic, 0);
    int64_t t = ulid_time_ms(prev);
    CHECK(t >= before && t <= after + 1);
}

/* masd_now() + MASD_TEST_CLOCK_OFFSET_MS, in a child process: the offset is read once per
 * process, on the first call. Exit status 0 = as expected. */
static int clock_child(const char *offset, int64_t expect_shift)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (offset)
            setenv("MASD_TEST_CLOCK_OFFSET_MS", offset, 1);
        else
            unsetenv("MASD_TEST_CLOCK_OFFSET_MS");
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t real = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        int64_t d = masd_now() - real - expect_shift;
        /* Read once: changing the variable later has no effect. */
        setenv("MASD_TEST_CLOCK_OFFSET_MS", "999999999", 1);
        int64_t d2 = masd_now() - real - expect_shift;
        _exit(d >= 0 && d < 1000 && d2 >= 0 && d2 < 1000 && masd_clock_offset_ms() == expect_shift ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

/* Runs first: a child forked after this process's first masd_now() would inherit its offset. */
static void test_clock_offset(void)
{
    CHECK_INT(clock_child(NULL, 0), 0);
    CHECK_INT(clock_child("3600000", 3600000), 0);
    CHECK_INT(clock_child("-86400000", -86400000), 0);
    CHECK_INT(clock_child("12abc", 0), 0); /* does not parse: ignored */
    CHECK_INT(clock_child("", 0), 0);
    CHECK(masd_now() > 1700000000000LL);
}

int main(void)
{
    test_clock_offset();
    test_format_parse();
    test_parse_rejects();
    test_generate();
    return check_report(__FILE__);
}
