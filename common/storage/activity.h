/* Session activity (docs/architecture.md §5): introspection, and masd-human for browser sessions,
 * notes "this session was used now" into a bounded per-process map, and a flusher writes the map to the
 * database in batches, at most once a minute per session and once more on exit. The hot path never writes. */
#pragma once
#include "storage.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A session is written at most once per interval. */
#define ACTIVITY_INTERVAL_MS 60000
/* How often the flusher looks for due entries. */
#define ACTIVITY_TICK_MS 5000
/* Entries per write transaction. */
#define ACTIVITY_BATCH 256

struct activity_map;

struct activity_entry {
    enum storage_session_kind kind;
    char id[STORAGE_ID_SIZE];
    int64_t at;               /* the latest activity seen */
    char ip[STORAGE_IP_SIZE]; /* the client address it came from; "" unknown (the stored one stays) */
};

/* A map with room for `capacity` sessions (rounded up to a power of two; the table itself is
 * larger so that probing stays short). -ENOMEM, -EINVAL for 0. */
int activity_map_new(size_t capacity, struct activity_map **out);
void activity_map_free(struct activity_map *m);

/* Notes activity of a session at `at` from the client address `ip` (text; NULL or "" when not
 * known: the address noted before stays, as MAS's tracker keeps the last known one). The
 * address of the latest note is the one written. Never blocks for long (one mutex, no I/O).
 * Returns 0, or -ENOSPC when the map is full and the session is not in it yet: the note is lost
 * and counted (the next note after a flush gets through). -EINVAL for an id that is not 26
 * characters. */
int activity_record(struct activity_map *m, enum storage_session_kind kind, const char *id, int64_t at,
                    const char *ip);

/* Takes up to `max` entries that are due at `now`: noted since their last write, and not written
 * within ACTIVITY_INTERVAL_MS (all noted entries when `all`, for the flush on exit). They count
 * as written at `now`. Entries written over an interval ago with nothing new are forgotten, so
 * the map holds only recently active sessions. Returns how many were taken. */
size_t activity_take_due(struct activity_map *m, int64_t now, bool all, struct activity_entry *out,
                         size_t max);

/* Sessions in the map, and notes lost because it was full. */
size_t activity_map_size(struct activity_map *m);
unsigned long activity_dropped(struct activity_map *m);

/* Writes the due entries (or all, see activity_take_due) in batches of ACTIVITY_BATCH, each in
 * one write transaction. A failed batch is logged and lost: activity is advisory. Returns how
 * many entries were written, or a negative errno of the last failure. */
long activity_flush(struct activity_map *m, struct storage *st, int64_t now, bool all);

/* The process's map and its flusher thread (every ACTIVITY_TICK_MS). activity_note() is a no-op
 * before activity_start() and after activity_stop(); activity_stop() flushes everything. */
int activity_start(struct storage *st, size_t capacity);
void activity_note(enum storage_session_kind kind, const char *id, int64_t at, const char *ip);
void activity_stop(void);
