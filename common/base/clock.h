/* The one clock of masd: every stored time, expiry and ULID timestamp comes from masd_now(), so
 * that a single test-only offset moves all of them together. */
#pragma once
#include <stdint.h>

/* Milliseconds since the Unix epoch, UTC (CLOCK_REALTIME), plus the test offset below.
 *
 * TEST ONLY: the environment variable MASD_TEST_CLOCK_OFFSET_MS (a signed decimal number of
 * milliseconds) is read once, on the first call, and added to every result. It lets tests make
 * tokens, codes and sessions expire without sleeping. Production deployments must not set it;
 * a value that does not parse is ignored (offset 0). */
int64_t masd_now(void);

/* The offset in effect (0 unless MASD_TEST_CLOCK_OFFSET_MS is set); for diagnostics. */
int64_t masd_clock_offset_ms(void);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations, never stored. */
int64_t masd_monotonic_ms(void);
