/* One low-priority thread for password hashing (DESIGN.md §4): argon2 takes ~30 ms of CPU and
 * 19 MiB per call, so a login storm must queue here, behind a small bound, instead of taking
 * every core from the event loops and the storage work. */
#pragma once

#define HASHPOOL_CAPACITY 4 /* calls waiting or running; more are refused at once */

/* Starts the thread (idempotent). Its priority is lowered with setpriority() on its TID (nice
 * 10) so the event loops win the CPU. Returns 0 or a negative errno. */
int hashpool_start(void);

/* Runs fn(arg) on the hash thread and waits for it. Called from a worker-pool thread, never
 * from an event loop. Returns 0 when fn ran, -EAGAIN when HASHPOOL_CAPACITY calls are already
 * queued (answer 429), -ESHUTDOWN when the pool is not running. *retry_after_ms (may be NULL)
 * is set on -EAGAIN: an estimate of when a slot frees up. */
int hashpool_run(void (*fn)(void *arg), void *arg, long *retry_after_ms);
