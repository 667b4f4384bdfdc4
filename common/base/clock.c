/* masd_now(): see clock.h. */
#include "clock.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static int64_t clock_offset_ms;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

/* Read once: the offset must not change under a running process, or two masd_now() calls could
 * go backwards, and getenv() is not safe against a concurrent setenv() on every call. */
static void clock_read_offset(void)
{
    const char *s = getenv("MASD_TEST_CLOCK_OFFSET_MS");
    if (!s || !*s)
        return;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return;
    clock_offset_ms = (int64_t)v;
}

int64_t masd_clock_offset_ms(void)
{
    pthread_once(&clock_once, clock_read_offset);
    return clock_offset_ms;
}

int64_t masd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + masd_clock_offset_ms();
}

int64_t masd_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
